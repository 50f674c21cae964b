//! The JSON that carries a batch of [`SessionOutput`]s across the wasm boundary.
//!
//! Every call into a `Session` from JavaScript returns the outputs it produced as **one** JSON
//! array string, so a burst of frames costs one crossing and one `JSON.parse` per call rather
//! than one per output. Each element is an object tagged by `op`:
//!
//! | `op` | fields | for |
//! |---|---|---|
//! | `openSocket` | `conn`, `url`, `headers` (`[[name, value], ...]`) | the host |
//! | `sendText` | `conn`, `text` | the host |
//! | `sendBinary` | `conn`, `bytes` (array of numbers) | the host |
//! | `closeSocket` | `conn` | the host |
//! | `http` | `id`, `method`, `url`, `headers`, `body` (string) or `bodyBytes`, `streaming`, `timeoutMs`? | the host |
//! | `cancelHttp` | `id` | the host |
//! | `fetchToken` | — | the host (call the token provider once) |
//! | `event` | `envelope`: the event model JSON of `sdk-core/EVENTS.md` | the app |
//! | `status` | `clientId`, `status` (`{kind, ...}`), `terminal` | the app's receipt |
//! | `state` | `from`, `to` (`{kind, ...}`) | the app |
//! | `closed` | — | last output of the session |
//!
//! Guarantees: outputs keep the session's order; nothing is dropped (an output kind this build
//! does not know is impossible: the match is exhaustive over the core's non-exhaustive enums
//! through a fallback that reports `{"op":"unknown"}` rather than skipping it silently).

use chatwire::session::{SessionOutput, Transport};
use serde_json::{Map, Value, json};

/// Appends the JSON object of `output` to `batch`.
///
/// ```
/// use chatwire::session::SessionOutput;
/// let mut batch = Vec::new();
/// chatwire_wasm::outputs::push(&mut batch, SessionOutput::FetchToken);
/// assert_eq!(serde_json::Value::Array(batch).to_string(), r#"[{"op":"fetchToken"}]"#);
/// ```
pub fn push(batch: &mut Vec<Value>, output: SessionOutput) {
    let value = match output {
        SessionOutput::Transport(op) => transport(op),
        SessionOutput::FetchToken => json!({"op": "fetchToken"}),
        SessionOutput::Event(envelope) => {
            json!({"op": "event", "envelope": serde_json::to_value(&*envelope).unwrap_or(Value::Null)})
        }
        SessionOutput::Status {
            client_id,
            status,
            terminal,
        } => json!({
            "op": "status",
            "clientId": client_id.to_string(),
            "status": serde_json::to_value(&status).unwrap_or(Value::Null),
            "terminal": terminal,
        }),
        SessionOutput::State { from, to } => json!({
            "op": "state",
            "from": serde_json::to_value(from).unwrap_or(Value::Null),
            "to": serde_json::to_value(to).unwrap_or(Value::Null),
        }),
        SessionOutput::Closed => json!({"op": "closed"}),
        _ => json!({"op": "unknown"}),
    };
    batch.push(value);
}

/// The JSON object of one transport operation.
fn transport(op: Transport) -> Value {
    match op {
        Transport::OpenSocket { conn, url, headers } => json!({
            "op": "openSocket", "conn": conn.0, "url": url, "headers": headers,
        }),
        Transport::SendText { conn, text } => {
            json!({"op": "sendText", "conn": conn.0, "text": text})
        }
        Transport::SendBinary { conn, bytes } => {
            json!({"op": "sendBinary", "conn": conn.0, "bytes": bytes})
        }
        Transport::CloseSocket { conn } => json!({"op": "closeSocket", "conn": conn.0}),
        Transport::Http(request) => {
            let mut object = Map::new();
            object.insert("op".into(), "http".into());
            object.insert("id".into(), request.id.0.into());
            object.insert("method".into(), request.method.as_str().into());
            object.insert("url".into(), request.url.into());
            object.insert("headers".into(), json!(request.headers));
            match String::from_utf8(request.body) {
                Ok(text) => object.insert("body".into(), text.into()),
                Err(raw) => object.insert("bodyBytes".into(), json!(raw.into_bytes())),
            };
            object.insert("streaming".into(), request.streaming.into());
            if let Some(ms) = request.timeout_ms {
                object.insert("timeoutMs".into(), ms.into());
            }
            Value::Object(object)
        }
        Transport::CancelHttp { id } => json!({"op": "cancelHttp", "id": id.0}),
        _ => json!({"op": "unknown"}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chatwire::ConnectionState;
    use chatwire::ids::ConnId;

    #[test]
    fn transport_ops_carry_handles_and_headers() {
        let mut batch = Vec::new();
        push(
            &mut batch,
            SessionOutput::Transport(Transport::OpenSocket {
                conn: ConnId(3),
                url: "ws://127.0.0.1:1/x".into(),
                headers: vec![("Authorization".into(), "Bearer t".into())],
            }),
        );
        push(
            &mut batch,
            SessionOutput::State {
                from: ConnectionState::Disconnected,
                to: ConnectionState::Connecting,
            },
        );
        push(&mut batch, SessionOutput::Closed);
        assert_eq!(
            Value::Array(batch).to_string(),
            concat!(
                r#"[{"conn":3,"headers":[["Authorization","Bearer t"]],"op":"openSocket","url":"ws://127.0.0.1:1/x"},"#,
                r#"{"from":{"kind":"disconnected"},"op":"state","to":{"kind":"connecting"}},"#,
                r#"{"op":"closed"}]"#
            )
        );
    }
}

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
//! | `http` | `id`, `method`, `url`, `headers`, `body` (string) or `bodyBytes`, `streaming` (deadlines are the session's: it cancels a late request itself) | the host |
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

use chatwire::event::DeliveryStatus;
use chatwire::session::{SessionOutput, Transport};
use chatwire::{ConnectionState, Envelope};
use serde::Serialize;

/// Appends the JSON object of `output` to `batch`, a JSON array being written (the caller writes
/// the brackets; a comma goes before every object but the first). Written straight from the
/// outputs, with no `serde_json::Value` tree in between: `op` comes first, then the fields in the
/// order of the table above.
///
/// ```
/// use chatwire::session::SessionOutput;
/// let mut batch = String::from("[");
/// chatwire_wasm::outputs::write(&mut batch, SessionOutput::FetchToken);
/// chatwire_wasm::outputs::write(&mut batch, SessionOutput::Closed);
/// batch.push(']');
/// assert_eq!(batch, r#"[{"op":"fetchToken"},{"op":"closed"}]"#);
/// ```
pub fn write(batch: &mut String, output: SessionOutput) {
    let client_id;
    let op = match &output {
        SessionOutput::Transport(op) => transport(op),
        SessionOutput::FetchToken => Op::FetchToken,
        SessionOutput::Event(envelope) => Op::Event { envelope },
        SessionOutput::Status {
            client_id: id,
            status,
            terminal,
        } => {
            client_id = id.to_string();
            Op::Status {
                client_id: &client_id,
                status,
                terminal: *terminal,
            }
        }
        SessionOutput::State { from, to } => Op::State { from, to },
        SessionOutput::Closed => Op::Closed,
        _ => Op::Unknown,
    };
    if !batch.ends_with('[') {
        batch.push(',');
    }
    // Serialising these types cannot fail (string keys only, no custom errors); were it to,
    // the object would still be reported rather than dropped.
    match serde_json::to_string(&op) {
        Ok(json) => batch.push_str(&json),
        Err(_) => batch.push_str(r#"{"op":"unknown"}"#),
    }
}

/// One element of the batch (see the table in the module docs).
#[derive(Serialize)]
#[serde(tag = "op", rename_all = "camelCase", rename_all_fields = "camelCase")]
enum Op<'a> {
    OpenSocket {
        conn: u64,
        url: &'a str,
        headers: &'a [(String, String)],
    },
    SendText {
        conn: u64,
        text: &'a str,
    },
    SendBinary {
        conn: u64,
        bytes: &'a [u8],
    },
    CloseSocket {
        conn: u64,
    },
    Http {
        id: u64,
        method: &'static str,
        url: &'a str,
        headers: &'a [(String, String)],
        #[serde(skip_serializing_if = "Option::is_none")]
        body: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        body_bytes: Option<&'a [u8]>,
        streaming: bool,
    },
    CancelHttp {
        id: u64,
    },
    FetchToken,
    Event {
        envelope: &'a Envelope,
    },
    Status {
        client_id: &'a str,
        status: &'a DeliveryStatus,
        terminal: bool,
    },
    State {
        from: &'a ConnectionState,
        to: &'a ConnectionState,
    },
    Closed,
    Unknown,
}

/// The object of one transport operation.
fn transport(op: &Transport) -> Op<'_> {
    match op {
        Transport::OpenSocket { conn, url, headers } => Op::OpenSocket {
            conn: conn.0,
            url,
            headers,
        },
        Transport::SendText { conn, text } => Op::SendText { conn: conn.0, text },
        Transport::SendBinary { conn, bytes } => Op::SendBinary {
            conn: conn.0,
            bytes,
        },
        Transport::CloseSocket { conn } => Op::CloseSocket { conn: conn.0 },
        Transport::Http(request) => {
            // A UTF-8 body goes as a string, any other as its bytes.
            let text = std::str::from_utf8(&request.body).ok();
            Op::Http {
                id: request.id.0,
                method: request.method.as_str(),
                url: &request.url,
                headers: &request.headers,
                body: text,
                body_bytes: if text.is_some() {
                    None
                } else {
                    Some(&request.body)
                },
                streaming: request.streaming,
            }
        }
        Transport::CancelHttp { id } => Op::CancelHttp { id: id.0 },
        _ => Op::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chatwire::ids::ConnId;

    #[test]
    fn transport_ops_carry_handles_and_headers() {
        let mut batch = String::from("[");
        write(
            &mut batch,
            SessionOutput::Transport(Transport::OpenSocket {
                conn: ConnId(3),
                url: "ws://127.0.0.1:1/x".into(),
                headers: vec![("Authorization".into(), "Bearer t".into())],
            }),
        );
        write(
            &mut batch,
            SessionOutput::State {
                from: ConnectionState::Disconnected,
                to: ConnectionState::Connecting,
            },
        );
        write(&mut batch, SessionOutput::Closed);
        batch.push(']');
        assert_eq!(
            batch,
            concat!(
                r#"[{"op":"openSocket","conn":3,"url":"ws://127.0.0.1:1/x","headers":[["Authorization","Bearer t"]]},"#,
                r#"{"op":"state","from":{"kind":"disconnected"},"to":{"kind":"connecting"}},"#,
                r#"{"op":"closed"}]"#
            )
        );
    }
}

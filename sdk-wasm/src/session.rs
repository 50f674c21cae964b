//! The runtime-free [`chatwire::session::Session`] exported to JavaScript, for the IO host in
//! `bindings/js/src/`.
//!
//! The host owns the sockets, `fetch` and the one timer; this object owns every rule (retry,
//! dedup, auth refresh, receipt terminality). Each method takes the host's monotonic clock
//! (`nowMs`, e.g. `performance.now()`), feeds one input and returns **every output it caused as
//! one JSON array string** (see [`crate::outputs`]), so the boundary is crossed once per input
//! however many events a frame carries. Refusals throw a `ChatwireError` whose `code` comes from
//! the core's `ErrorCode` table.
//!
//! ```js
//! import { Session } from './pkg/chatwire_wasm.js';
//! const s = new Session('{"dialect":"native","baseUrl":"http://127.0.0.1:8080"}', 7, Date.now());
//! const id = s.send(performance.now(), 'hello');   // the client id
//! const outputs = JSON.parse(s.drain());          // [{op:'status',...}, {op:'openSocket',...}, ...]
//! ```

use std::time::Duration;

use chatwire::session::{Lifecycle, Session as CoreSession, SessionInput};
use chatwire::{ClientId, ClientOptions, CloseReason, Command, ConnId, Frame, Input, Instant};
use chatwire::{ErrorCode, RequestId};
use serde_json::json;
use wasm_bindgen::prelude::*;

use crate::{Error, outputs};

/// A chatwire session driven by a JavaScript host (see the module docs).
#[wasm_bindgen(js_name = Session)]
pub struct WasmSession {
    inner: CoreSession,
}

#[wasm_bindgen(js_class = Session)]
impl WasmSession {
    /// A session from the `ClientOptions` JSON; `seed` is used when the options set none (draw
    /// it with `crypto.getRandomValues`), `unixMs` anchors the envelopes' timestamps.
    #[wasm_bindgen(constructor)]
    pub fn new(options_json: &str, seed: f64, unix_ms: f64) -> Result<WasmSession, Error> {
        let options = ClientOptions::from_json(options_json).map_err(Error::from_code)?;
        let seed = whole(seed)
            .ok_or_else(|| Error::InvalidInput("seed must be an integer >= 0".into()))?;
        let unix_ms = whole(unix_ms)
            .ok_or_else(|| Error::InvalidInput("unixMs must be an integer >= 0".into()))?;
        let inner = CoreSession::from_options(&options, seed, unix_ms).map_err(Error::from_code)?;
        Ok(WasmSession { inner })
    }

    /// Every output not yet taken, as one JSON array string.
    pub fn drain(&mut self) -> String {
        let mut batch = String::from("[");
        while let Some(output) = self.inner.poll() {
            outputs::write(&mut batch, output);
        }
        batch.push(']');
        batch
    }

    /// Queues a text message and returns its client id; outputs follow with [`drain`](Self::drain).
    pub fn send(&mut self, now_ms: f64, text: String) -> Result<String, Error> {
        let now = instant(now_ms)?;
        let id = self.inner.send(now, text).map_err(Error::from_code)?;
        Ok(id.to_string())
    }

    /// Queues audio (`format`, base64 `data`) on dialects with the `audio` capability.
    #[wasm_bindgen(js_name = sendAudio)]
    pub fn send_audio(
        &mut self,
        now_ms: f64,
        format: String,
        data: String,
    ) -> Result<String, Error> {
        let now = instant(now_ms)?;
        let id = self
            .inner
            .send_audio(now, format, data)
            .map_err(Error::from_code)?;
        Ok(id.to_string())
    }

    /// Takes back a still-queued message (`ALREADY_SENT`, `NOT_FOUND` otherwise).
    pub fn discard(&mut self, now_ms: f64, client_id: &str) -> Result<String, Error> {
        let now = instant(now_ms)?;
        let id: ClientId = client_id
            .parse()
            .map_err(|_| Error::InvalidInput("clientId must be a UUID".into()))?;
        self.inner.discard(now, id).map_err(Error::from_code)?;
        Ok(self.drain())
    }

    /// A command: `"connect"`, `"typing"`, `"idle"`, `"cancelTurn"`, `"reconnectNow"` or `"close"`;
    /// or a lifecycle change the host observed: `"offline"`, `"online"`, `"hidden"`, `"visible"`.
    pub fn command(&mut self, now_ms: f64, name: &str) -> Result<String, Error> {
        let change = match name {
            "offline" => Some(Lifecycle::Offline),
            "online" => Some(Lifecycle::Online),
            "hidden" => Some(Lifecycle::Hidden),
            "visible" => Some(Lifecycle::Visible),
            _ => None,
        };
        if let Some(change) = change {
            return self.input(now_ms, SessionInput::Lifecycle(change));
        }
        let command = match name {
            "connect" => Command::Connect,
            "typing" => Command::Typing { active: true },
            "idle" => Command::Typing { active: false },
            "cancelTurn" => Command::CancelTurn,
            "reconnectNow" => Command::ReconnectNow,
            "close" => Command::Close,
            _ => return Err(Error::InvalidInput(format!("unknown command {name:?}"))),
        };
        self.input(now_ms, command.into())
    }

    /// The timer armed from [`poll_timeout`](Self::poll_timeout) fired.
    pub fn timeout(&mut self, now_ms: f64) -> Result<String, Error> {
        self.input(now_ms, SessionInput::Timeout)
    }

    /// When to call [`timeout`](Self::timeout), on the host's clock; `-1`: no timer.
    #[wasm_bindgen(js_name = pollTimeout)]
    pub fn poll_timeout(&self) -> f64 {
        match self.inner.poll_timeout() {
            Some(at) => at.elapsed_since_epoch().as_secs_f64() * 1000.0,
            None => -1.0,
        }
    }

    /// The token provider answered: `ok` with the token, or not with why.
    pub fn token(&mut self, now_ms: f64, ok: bool, value: String) -> Result<String, Error> {
        let answer = if ok { Ok(value) } else { Err(value) };
        self.input(now_ms, SessionInput::Token(answer))
    }

    /// WebSocket `conn` opened.
    #[wasm_bindgen(js_name = socketOpened)]
    pub fn socket_opened(&mut self, now_ms: f64, conn: f64) -> Result<String, Error> {
        let conn = ConnId(handle(conn)?);
        self.input(now_ms, Input::SocketOpened { conn }.into())
    }

    /// A text message arrived on `conn`.
    #[wasm_bindgen(js_name = socketText)]
    pub fn socket_text(&mut self, now_ms: f64, conn: f64, text: String) -> Result<String, Error> {
        let conn = ConnId(handle(conn)?);
        let frame = Frame::Text(text);
        self.input(now_ms, Input::SocketFrame { conn, frame }.into())
    }

    /// A binary message arrived on `conn`.
    #[wasm_bindgen(js_name = socketBinary)]
    pub fn socket_binary(
        &mut self,
        now_ms: f64,
        conn: f64,
        bytes: Vec<u8>,
    ) -> Result<String, Error> {
        let conn = ConnId(handle(conn)?);
        let frame = Frame::Binary(bytes);
        self.input(now_ms, Input::SocketFrame { conn, frame }.into())
    }

    /// `conn` closed or never opened. `code` and `httpStatus`: `-1` when unknown.
    #[wasm_bindgen(js_name = socketClosed)]
    pub fn socket_closed(
        &mut self,
        now_ms: f64,
        conn: f64,
        code: f64,
        reason: String,
        failed_to_open: bool,
        http_status: f64,
    ) -> Result<String, Error> {
        let conn = ConnId(handle(conn)?);
        let mut close = if failed_to_open {
            CloseReason::refused(status(http_status), reason)
        } else {
            CloseReason::closed(status(code), reason)
        };
        close.failed_to_open = failed_to_open;
        self.input(
            now_ms,
            Input::SocketClosed {
                conn,
                reason: close,
            }
            .into(),
        )
    }

    /// The head of HTTP response `id`; `headersJson` is `[[name, value], ...]`; `body` is the
    /// whole body of a plain request (or of a streaming one answered outside 2xx), else empty.
    #[wasm_bindgen(js_name = httpResponse)]
    pub fn http_response(
        &mut self,
        now_ms: f64,
        id: f64,
        status_code: f64,
        headers_json: &str,
        body: Vec<u8>,
    ) -> Result<String, Error> {
        let id = RequestId(handle(id)?);
        let status = status(status_code)
            .ok_or_else(|| Error::InvalidInput("status must be an HTTP status code".into()))?;
        let headers: Vec<(String, String)> = serde_json::from_str(headers_json)
            .map_err(|_| Error::InvalidInput("headers must be [[name, value], ...]".into()))?;
        let input = Input::HttpResponse {
            id,
            status,
            headers,
            body,
        };
        self.input(now_ms, input.into())
    }

    /// A piece of the streamed body of `id`.
    #[wasm_bindgen(js_name = httpChunk)]
    pub fn http_chunk(&mut self, now_ms: f64, id: f64, bytes: Vec<u8>) -> Result<String, Error> {
        let id = RequestId(handle(id)?);
        self.input(now_ms, Input::HttpChunk { id, bytes }.into())
    }

    /// The streamed body of `id` ended normally.
    #[wasm_bindgen(js_name = httpEnd)]
    pub fn http_end(&mut self, now_ms: f64, id: f64) -> Result<String, Error> {
        let id = RequestId(handle(id)?);
        self.input(now_ms, Input::HttpEnd { id }.into())
    }

    /// Request `id` failed (network, abort by timeout).
    #[wasm_bindgen(js_name = httpFailed)]
    pub fn http_failed(&mut self, now_ms: f64, id: f64, error: String) -> Result<String, Error> {
        let id = RequestId(handle(id)?);
        self.input(now_ms, Input::HttpFailed { id, error }.into())
    }

    /// Test hook: aborts the module on purpose (a wasm `unreachable` trap) in the middle of a
    /// session call, so tests can check that the host fails what is pending and that a new
    /// client works afterwards. Never call it otherwise.
    #[doc(hidden)]
    #[wasm_bindgen(js_name = __forceTrap)]
    pub fn force_trap(&mut self) -> String {
        #[cfg(target_arch = "wasm32")]
        core::arch::wasm32::unreachable();
        #[cfg(not(target_arch = "wasm32"))]
        String::new()
    }

    /// The connection state as JSON (`{"kind":"ready"}`, ...).
    pub fn state(&self) -> String {
        serde_json::to_string(&self.inner.state()).unwrap_or_default()
    }

    /// The counters as JSON (`sent`, `acked`, `failed`, `events`, `reconnects`, `queued`,
    /// `duplicatesDropped`).
    pub fn stats(&self) -> String {
        let s = self.inner.stats();
        json!({
            "sent": s.sent, "acked": s.acked, "failed": s.failed, "events": s.events,
            "reconnects": s.reconnects, "queued": s.queued, "duplicatesDropped": s.duplicates_dropped,
        })
        .to_string()
    }

    /// What the backend supports, as JSON (`acks`, `resume`, `typing`, `audio`, `tools`,
    /// `cancel`, `orderedSends`).
    pub fn capabilities(&self) -> String {
        let c = self.inner.capabilities();
        json!({
            "acks": c.acks, "resume": c.resume, "typing": c.typing, "audio": c.audio,
            "tools": c.tools, "cancel": c.cancel, "orderedSends": c.ordered_sends,
        })
        .to_string()
    }
}

impl WasmSession {
    fn input(&mut self, now_ms: f64, input: SessionInput) -> Result<String, Error> {
        let now = instant(now_ms)?;
        self.inner.handle(now, input).map_err(Error::from_code)?;
        Ok(self.drain())
    }
}

/// Every code of the core's `ErrorCode` table, in declaration order (the JS side checks that it
/// knows each one).
#[wasm_bindgen(js_name = errorCodes)]
pub fn error_codes() -> Vec<String> {
    ErrorCode::ALL
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect()
}

/// A host clock reading (milliseconds, finite, `>= 0`) as an [`Instant`].
fn instant(now_ms: f64) -> Result<Instant, Error> {
    if !(now_ms.is_finite() && now_ms >= 0.0) {
        return Err(Error::InvalidInput(
            "nowMs must be a finite number >= 0".into(),
        ));
    }
    Duration::try_from_secs_f64(now_ms / 1000.0)
        .map(Instant::from_elapsed)
        .map_err(|_| Error::InvalidInput("nowMs is out of range".into()))
}

/// A whole, non-negative JS number as `u64`.
fn whole(n: f64) -> Option<u64> {
    // In range by the guard (2^64 excluded), so the cast is exact.
    (n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n < 18_446_744_073_709_551_616.0)
        .then_some(n as u64)
}

/// A transport handle handed out by the session.
fn handle(n: f64) -> Result<u64, Error> {
    whole(n).ok_or_else(|| {
        Error::InvalidInput("a connection or request id must be an integer >= 0".into())
    })
}

/// A close code or HTTP status; `None` for `-1` or anything not in `0..=65535`.
fn status(n: f64) -> Option<u16> {
    whole(n).and_then(|n| u16::try_from(n).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn a_session_from_options_drains_json_batches() {
        let json = r#"{"dialect":"native","baseUrl":"http://127.0.0.1:9","seed":3}"#;
        let mut s = WasmSession::new(json, 1.0, 1_763_800_000_000.0).unwrap();
        let id = s.send(0.0, "hello".into()).unwrap();
        let batch: Vec<Value> = serde_json::from_str(&s.drain()).unwrap();
        let ops: Vec<&str> = batch.iter().filter_map(|o| o["op"].as_str()).collect();
        assert!(ops.contains(&"openSocket"), "{ops:?}");
        let status = batch.iter().find(|o| o["op"] == "status").unwrap();
        assert_eq!(status["clientId"], id.as_str());
        assert_eq!(status["status"]["kind"], "queued");
        assert_eq!(status["terminal"], false);
        assert_eq!(s.state(), r#"{"kind":"connecting"}"#);
        assert!(s.poll_timeout() > 0.0);
        let closed: Vec<Value> = serde_json::from_str(&s.command(1.0, "close").unwrap()).unwrap();
        assert_eq!(closed.last().unwrap()["op"], "closed");
        let failed = closed.iter().find(|o| o["op"] == "status").unwrap();
        assert_eq!(failed["terminal"], true);
    }

    #[test]
    fn refusals_carry_core_codes() {
        let bad = WasmSession::new(r#"{"dialect":"nope","baseUrl":"x"}"#, 1.0, 0.0)
            .err()
            .unwrap();
        assert_eq!(bad.code(), "INVALID_CONFIG");
        let json = r#"{"dialect":"native","baseUrl":"http://127.0.0.1:9"}"#;
        let mut s = WasmSession::new(json, 1.0, 0.0).unwrap();
        assert_eq!(
            s.send(-1.0, "x".into()).err().unwrap().code(),
            "INVALID_INPUT"
        );
        assert_eq!(
            s.command(0.0, "dance").err().unwrap().code(),
            "INVALID_INPUT"
        );
        s.command(0.0, "close").unwrap();
        assert_eq!(s.send(1.0, "x".into()).err().unwrap().code(), "CLOSED");
        assert_eq!(error_codes().len(), ErrorCode::ALL.len());
    }
}

//! Helpers shared by the integration tests: a fast mock server, a plain WebSocket client that
//! reads JSON frames, and an SSE reader over reqwest's byte stream.
#![allow(dead_code)]

use std::time::Duration;

use chatwire_mock::{MockConfig, MockServer};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const WAIT: Duration = Duration::from_secs(10);

/// A server with 1 ms tokens and a 10 ms init delay.
pub async fn server() -> MockServer {
    server_with(MockConfig::default()).await
}

pub async fn server_with(config: MockConfig) -> MockServer {
    let config = config
        .token_delay(Duration::from_millis(1))
        .init_delay(Duration::from_millis(10));
    chatwire_mock::spawn(config).await.unwrap()
}

pub struct Ws(pub WebSocketStream<MaybeTlsStream<TcpStream>>);

impl Ws {
    pub async fn connect(url: &str) -> Ws {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        Ws(ws)
    }

    pub async fn send(&mut self, v: Value) {
        self.0
            .send(Message::Text(v.to_string().into()))
            .await
            .unwrap();
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.0
            .send(Message::Text(text.to_owned().into()))
            .await
            .unwrap();
    }

    /// The next JSON text frame; `None` on close, error or timeout.
    pub async fn next(&mut self) -> Option<Value> {
        self.next_within(WAIT).await
    }

    pub async fn next_within(&mut self, wait: Duration) -> Option<Value> {
        loop {
            match tokio::time::timeout(wait, self.0.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => return serde_json::from_str(t.as_str()).ok(),
                Ok(Some(Ok(Message::Close(_)))) | Ok(Some(Err(_))) | Ok(None) | Err(_) => {
                    return None;
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// Frames until one satisfies `stop` (included); panics if the socket ends first.
    pub async fn until(&mut self, stop: impl Fn(&Value) -> bool) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let v = self
                .next()
                .await
                .unwrap_or_else(|| panic!("socket ended after {out:?}"));
            let done = stop(&v);
            out.push(v);
            if done {
                return out;
            }
        }
    }

    /// Frames until the socket ends (close, drop or `wait` of silence).
    pub async fn drain(&mut self, wait: Duration) -> Vec<Value> {
        let mut out = Vec::new();
        while let Some(v) = self.next_within(wait).await {
            out.push(v);
        }
        out
    }
}

/// One parsed SSE event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
    pub comment: bool,
}

impl SseEvent {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or(Value::Null)
    }
}

/// Reads SSE events from a streaming reqwest response.
pub struct Sse {
    body: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buf: String,
}

impl Sse {
    pub fn new(resp: reqwest::Response) -> Sse {
        Sse {
            body: Box::pin(resp.bytes_stream()),
            buf: String::new(),
        }
    }

    /// The next event (comments included, flagged); `None` at end of stream or timeout.
    pub async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(pos) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..pos + 2).collect();
                let mut ev = SseEvent::default();
                let mut data = Vec::new();
                for line in block.lines() {
                    if let Some(rest) = line.strip_prefix(':') {
                        ev.comment = true;
                        let _ = rest;
                    } else if let Some((k, v)) = line.split_once(':') {
                        let v = v.strip_prefix(' ').unwrap_or(v);
                        match k {
                            "id" => ev.id = Some(v.to_owned()),
                            "event" => ev.event = Some(v.to_owned()),
                            "data" => data.push(v.to_owned()),
                            _ => {}
                        }
                    }
                }
                ev.data = data.join("\n");
                return Some(ev);
            }
            match tokio::time::timeout(WAIT, self.body.next()).await {
                Ok(Some(Ok(chunk))) => self.buf.push_str(&String::from_utf8_lossy(&chunk)),
                _ => return None,
            }
        }
    }

    /// Non-comment events until `stop` matches (included).
    pub async fn until(&mut self, stop: impl Fn(&SseEvent) -> bool) -> Vec<SseEvent> {
        let mut out = Vec::new();
        loop {
            let ev = self
                .next()
                .await
                .unwrap_or_else(|| panic!("stream ended after {out:?}"));
            if ev.comment && ev.data.is_empty() && ev.event.is_none() {
                continue;
            }
            let done = stop(&ev);
            out.push(ev);
            if done {
                return out;
            }
        }
    }

    /// Every remaining non-comment event until the stream ends.
    pub async fn rest(&mut self) -> Vec<SseEvent> {
        let mut out = Vec::new();
        while let Some(ev) = self.next().await {
            if !(ev.comment && ev.data.is_empty() && ev.event.is_none()) {
                out.push(ev);
            }
        }
        out
    }
}

/// A plain HTTP client. The ring provider is installed first because workspace builds unify
/// reqwest with `rustls-no-provider`, which has no process-wide default.
pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().unwrap()
}

//! A hostile server: it behaves the same bad way on every connection, and counts connections
//! and requests with their arrival times, so tests can assert that a client facing it reports
//! a typed error and gives up (or waits as told) after a bounded number of attempts.
//!
//! - [`Hostile::NativeAfterWelcome`]: a native WebSocket server that answers `hello` with
//!   `welcome` (the connection is usable) and then sends the given frames and/or closes;
//! - [`Hostile::Http`]: every HTTP request gets the same response (an HTML 500, a 302 to
//!   itself, a 503 with a `Retry-After`), for the first `times` requests; later ones get a
//!   well-formed OpenAI completion answering `You said: <last user message>`;
//! - [`Hostile::PlainTcp`]: answers whatever arrives (a TLS `ClientHello` included) with a plain
//!   HTTP 400, as a plain server does when a client speaks TLS to it.

use crate::raw_http::read_request;
use crate::raw_server::RawServer;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

/// How the server misbehaves.
#[derive(Debug, Clone)]
pub enum Hostile {
    /// Native: `welcome` for `hello`, then these text frames (raw bytes, valid UTF-8 or not),
    /// then a close if `close` (else the socket stays open and `ping`s are answered).
    NativeAfterWelcome {
        /// Raw text frame payloads sent right after `welcome`.
        frames: Vec<Vec<u8>>,
        /// Whether to close the connection after them.
        close: bool,
    },
    /// HTTP: the first `times` requests get `head` (status line and headers, without the blank
    /// line; `{self}` is replaced by the server's own base URL) and `body`.
    Http {
        /// E.g. `"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html"`.
        head: String,
        /// The body (its length is added as `Content-Length`).
        body: Vec<u8>,
        /// How many requests get it.
        times: usize,
    },
    /// A plain TCP server: whatever arrives gets `HTTP/1.1 400 Bad Request` and a close.
    PlainTcp,
}

/// What the server saw.
#[derive(Debug, Clone, Default)]
pub struct Visits {
    /// When each TCP connection was accepted.
    pub connections: Vec<Instant>,
    /// When each HTTP request (or WebSocket `hello`) arrived.
    pub requests: Vec<Instant>,
}

/// A running hostile server. Dropping it stops accepting.
pub struct HostileServer {
    server: RawServer,
    visits: Arc<Mutex<Visits>>,
}

impl HostileServer {
    /// Starts a server that behaves as `how` on every connection.
    pub async fn start(how: Hostile) -> HostileServer {
        let visits = Arc::new(Mutex::new(Visits::default()));
        let base = Arc::new(Mutex::new(String::new()));
        let (v, b) = (visits.clone(), base.clone());
        let server = RawServer::start(move |tcp| {
            v.lock().unwrap().connections.push(Instant::now());
            serve(tcp, how.clone(), v.clone(), b.clone())
        })
        .await;
        *base.lock().unwrap() = server.base_url();
        HostileServer { server, visits }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// What the server saw so far.
    pub fn visits(&self) -> Visits {
        self.visits.lock().unwrap().clone()
    }
}

async fn serve(tcp: TcpStream, how: Hostile, visits: Arc<Mutex<Visits>>, base: Arc<Mutex<String>>) {
    match how {
        Hostile::NativeAfterWelcome { frames, close } => native(tcp, frames, close, visits).await,
        Hostile::Http { head, body, times } => http(tcp, &head, body, times, visits, base).await,
        Hostile::PlainTcp => {
            let mut tcp = tcp;
            let mut buf = [0u8; 1024];
            if matches!(tcp.read(&mut buf).await, Ok(n) if n > 0) {
                visits.lock().unwrap().requests.push(Instant::now());
                let answer =
                    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                let _ = tcp.write_all(answer.as_bytes()).await;
            }
            let _ = tcp.shutdown().await;
        }
    }
}

async fn native(tcp: TcpStream, frames: Vec<Vec<u8>>, close: bool, visits: Arc<Mutex<Visits>>) {
    // The server accepts anything, so the client's own limits are what is tested.
    let config = WebSocketConfig::default()
        .max_message_size(None)
        .max_frame_size(None);
    let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(tcp, Some(config)).await else {
        return;
    };
    while let Some(Ok(Message::Text(text))) = ws.next().await {
        let frame: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
        match frame["type"].as_str() {
            Some("hello") => {
                visits.lock().unwrap().requests.push(Instant::now());
                let welcome = json!({"type": "welcome", "conversation_id": frame["conversation_id"],
                    "last_seq": 0, "resumed": false, "heartbeat_ms": 30000});
                if ws.send(Message::text(welcome.to_string())).await.is_err() {
                    return;
                }
                for bytes in &frames {
                    let bad = Frame::message(bytes.clone(), OpCode::Data(Data::Text), true);
                    if ws.send(Message::Frame(bad)).await.is_err() {
                        return;
                    }
                }
                if close {
                    let _ = ws.close(None).await;
                    return;
                }
            }
            Some("ping") => {
                let pong = json!({"type": "pong", "nonce": frame["nonce"]});
                if ws.send(Message::text(pong.to_string())).await.is_err() {
                    return;
                }
            }
            _ => {}
        }
    }
}

async fn http(
    mut tcp: TcpStream,
    head: &str,
    body: Vec<u8>,
    times: usize,
    visits: Arc<Mutex<Visits>>,
    base: Arc<Mutex<String>>,
) {
    let Some((_, request)) = read_request(&mut tcp).await else {
        return;
    };
    let n = {
        let mut v = visits.lock().unwrap();
        v.requests.push(Instant::now());
        v.requests.len()
    };
    let bytes = if n <= times {
        let head = head.replace("{self}", &base.lock().unwrap());
        let mut out = format!(
            "{head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        out.extend(body);
        out
    } else {
        completion(&request)
    };
    let _ = tcp.write_all(&bytes).await;
    let _ = tcp.shutdown().await;
}

/// A well-formed streamed completion answering the request's last user message.
fn completion(request: &[u8]) -> Vec<u8> {
    let request: Value = serde_json::from_slice(request).unwrap_or(Value::Null);
    let user = request["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_string();
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-hostile", "object": "chat.completion.chunk", "created": 0,
            "model": "raw", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let mut out =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n".to_vec();
    for data in [
        chunk(
            json!({"role": "assistant", "content": format!("You said: {user}")}),
            Value::Null,
        )
        .to_string(),
        chunk(json!({}), json!("stop")).to_string(),
        "[DONE]".to_string(),
    ] {
        out.extend_from_slice(format!("data: {data}\n\n").as_bytes());
    }
    out
}

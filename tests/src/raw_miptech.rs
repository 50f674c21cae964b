//! A tiny MIPTech server (REST and WebSocket on one port) that can put arbitrary frames on the
//! wire in the middle of a turn: malformed JSON, binary frames, unknown frame types.
//!
//! It speaks just enough of the MIPTech protocol (`sdk-core/src/dialect/miptech/`) for a real
//! client: `GET /healthz` -> `200`, `POST /api/v1/chat` -> `201 {id}`; a WebSocket upgrade gets
//! `connection_established` and `connection_ready`; `join_chat` -> `chat_joined`; `ping` ->
//! `pong`; `chat_message` -> `message_received` (echoing `clientId`), then the turn
//! (`response_start`, one indexed `response_chunk`, `response_complete` with the full text
//! `You said: <message>`). The first time a message with a scripted text arrives, its [`Frame`]s
//! go out right after `message_received`.

use crate::raw_chat_v2::{Frame, Seen};
use crate::raw_server::{RawServer, script_map};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

const CHAT: &str = "chat-raw";

#[derive(Default)]
struct State {
    script: BTreeMap<String, Vec<Frame>>,
    seen: Seen,
}

/// A running raw MIPTech server. Dropping it stops accepting.
pub struct RawMiptech {
    server: RawServer,
    state: Arc<Mutex<State>>,
}

impl RawMiptech {
    /// Starts the server; `script` maps a message text to the frames injected before its reply
    /// (once).
    pub async fn start(script: Vec<(&str, Vec<Frame>)>) -> RawMiptech {
        let state = Arc::new(Mutex::new(State {
            script: script_map(script),
            seen: Seen::default(),
        }));
        let shared = state.clone();
        let server = RawServer::start(move |tcp| serve(tcp, shared.clone())).await;
        RawMiptech { server, state }
    }

    /// `http://127.0.0.1:PORT`, the client's base URL.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// What the server saw so far (`connections` counts WebSocket upgrades only).
    pub fn seen(&self) -> Seen {
        self.state.lock().unwrap().seen.clone()
    }
}

/// Answers the REST calls with `Connection: close`; hands WebSocket upgrades to [`socket`].
async fn serve(mut tcp: TcpStream, state: Arc<Mutex<State>>) {
    let Some(head) = peek_head(&tcp).await else {
        return;
    };
    if head.to_ascii_lowercase().contains("upgrade: websocket") {
        return socket(tcp, state).await;
    }
    // Consume the request (its body, if any, is ignored: the answers do not depend on it).
    let Some((head, _body)) = crate::raw_http::read_request(&mut tcp).await else {
        return;
    };
    let (status, body) = if head.starts_with("GET /healthz") {
        ("200 OK", json!({"status": "healthy"}))
    } else if head.starts_with("POST /api/v1/chat ") {
        (
            "201 Created",
            json!({"id": CHAT, "chat_id": CHAT, "status": "active"}),
        )
    } else {
        (
            "404 Not Found",
            json!({"detail": "not found", "code": "NOT_FOUND"}),
        )
    };
    let body = body.to_string();
    let out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tcp.write_all(out.as_bytes()).await;
    let _ = tcp.shutdown().await;
}

/// The request head, read without consuming it.
async fn peek_head(tcp: &TcpStream) -> Option<String> {
    let mut buf = vec![0u8; 8192];
    loop {
        let n = tcp.peek(&mut buf).await.ok().filter(|n| *n > 0)?;
        if let Some(i) = buf[..n].windows(4).position(|w| w == b"\r\n\r\n") {
            return Some(String::from_utf8_lossy(&buf[..i]).into_owned());
        }
        if n == buf.len() {
            return None;
        }
        tokio::task::yield_now().await;
    }
}

async fn socket(tcp: TcpStream, state: Arc<Mutex<State>>) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    state.lock().unwrap().seen.connections += 1;
    let greeting = [
        frame(
            "connection_established",
            json!({"client_id": "c-raw", "tenant_id": "demo-tenant",
            "chat_id": CHAT, "connection_id": "conn-raw"}),
        ),
        frame(
            "connection_ready",
            json!({"client_id": "c-raw", "chat_id": CHAT,
            "platform_status": "ready"}),
        ),
    ];
    for message in greeting {
        if ws.send(message).await.is_err() {
            return;
        }
    }
    while let Some(Ok(message)) = ws.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let Ok(request) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        for message in respond(&request, &state) {
            if ws.send(message).await.is_err() {
                return;
            }
        }
    }
}

/// A server frame: `{type, data, timestamp, eventTs}`.
fn frame(kind: &str, data: Value) -> Message {
    let ts = 1_700_000_000_000u64;
    Message::text(json!({"type": kind, "data": data, "timestamp": ts, "eventTs": ts}).to_string())
}

/// The frames answering one client frame.
fn respond(request: &Value, state: &Mutex<State>) -> Vec<Message> {
    let mut st = state.lock().unwrap();
    match request["type"].as_str().unwrap_or_default() {
        "join_chat" => vec![frame("chat_joined", json!({"chat_id": CHAT}))],
        "ping" => vec![frame("pong", json!({"timestamp": 0}))],
        "chat_message" => {
            let client_id = request["clientId"].as_str().unwrap_or_default().to_string();
            let text = request["data"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            st.seen.messages.push((client_id.clone(), text.clone()));
            let n = st.seen.messages.len();
            let (user, reply) = (format!("u-{n}"), format!("a-{n}"));
            let mut out = vec![frame(
                "message_received",
                json!({"message_id": user,
                "client_id": client_id, "chat_id": CHAT, "content": text, "duplicate": false}),
            )];
            for inject in st.script.remove(&text).unwrap_or_default() {
                out.push(match inject {
                    Frame::Text(t) => Message::text(t),
                    Frame::Binary(b) => Message::binary(b),
                });
            }
            let said = format!("You said: {text}");
            out.push(frame(
                "response_start",
                json!({"message_id": reply, "chat_id": CHAT,
                "reply_to": user}),
            ));
            out.push(frame(
                "response_chunk",
                json!({"message_id": reply, "chat_id": CHAT,
                "content": said, "chunk_index": 0, "offset": 0}),
            ));
            out.push(frame(
                "response_complete",
                json!({"message": {"id": reply,
                "content": said, "role": "assistant"}, "chat_id": CHAT, "reply_to": user}),
            ));
            out
        }
        _ => Vec::new(),
    }
}

//! A tiny chat-v2 WebSocket server that can put arbitrary frames on the wire: malformed JSON,
//! binary frames and unknown frame types, in the middle of a turn.
//!
//! It speaks just enough of the chat-v2 protocol (`sdk-core/src/dialect/chat_v2/`) for a real
//! client: `connected` on open; `text` -> `ack {id, message_id}` then the turn (one indexed
//! `token` and the final `message` with the full text `You said: <content>`); `ping` -> `pong`.
//! The first time a message with a scripted content arrives, its [`Frame`]s go out right after
//! the ack, before the reply's token.

use crate::raw_server::{RawServer, script_map};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

/// A frame the server sends as is.
#[derive(Debug, Clone)]
pub enum Frame {
    /// A text frame with this content.
    Text(String),
    /// A binary frame.
    Binary(Vec<u8>),
}

/// What the server saw, for server-side assertions.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// `(id, content)` of every `text` frame received, in arrival order.
    pub messages: Vec<(String, String)>,
    /// WebSocket connections accepted.
    pub connections: u32,
}

#[derive(Default)]
struct State {
    script: BTreeMap<String, Vec<Frame>>,
    seen: Seen,
}

/// A running raw chat-v2 server. Dropping it stops accepting.
pub struct RawChatV2 {
    server: RawServer,
    state: Arc<Mutex<State>>,
}

impl RawChatV2 {
    /// Starts the server; `script` maps a message content to the frames injected before its
    /// reply (once).
    pub async fn start(script: Vec<(&str, Vec<Frame>)>) -> RawChatV2 {
        let state = Arc::new(Mutex::new(State {
            script: script_map(script),
            seen: Seen::default(),
        }));
        let shared = state.clone();
        let server = RawServer::start(move |tcp| serve(tcp, shared.clone())).await;
        RawChatV2 { server, state }
    }

    /// `http://127.0.0.1:PORT`, the client's base URL.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// What the server saw so far.
    pub fn seen(&self) -> Seen {
        self.state.lock().unwrap().seen.clone()
    }
}

async fn serve(tcp: TcpStream, state: Arc<Mutex<State>>) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    state.lock().unwrap().seen.connections += 1;
    let hello = json!({"type": "connected", "session_id": "raw"});
    if ws.send(Message::text(hello.to_string())).await.is_err() {
        return;
    }
    while let Some(Ok(message)) = ws.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        for message in respond(&frame, &state) {
            if ws.send(message).await.is_err() {
                return;
            }
        }
    }
}

/// The frames answering one client frame.
fn respond(frame: &Value, state: &Mutex<State>) -> Vec<Message> {
    let mut st = state.lock().unwrap();
    let text = |v: Value| Message::text(v.to_string());
    match frame["type"].as_str().unwrap_or_default() {
        "ping" => vec![text(
            json!({"type": "pong", "timestamp": 0, "session_id": "raw"}),
        )],
        "text" => {
            let id = frame["id"].as_str().unwrap_or_default().to_string();
            let content = frame["content"].as_str().unwrap_or_default().to_string();
            st.seen.messages.push((id.clone(), content.clone()));
            let n = st.seen.messages.len();
            let (user, reply) = (format!("u-{n}"), format!("a-{n}"));
            let mut out = vec![text(json!({"type": "ack", "id": id, "message_id": user,
                "duplicate": false, "session_id": "raw"}))];
            for inject in st.script.remove(&content).unwrap_or_default() {
                out.push(match inject {
                    Frame::Text(t) => Message::text(t),
                    Frame::Binary(b) => Message::binary(b),
                });
            }
            let said = format!("You said: {content}");
            out.push(text(
                json!({"type": "token", "content": said, "is_final": false,
                "message_id": reply, "index": 0, "session_id": "raw"}),
            ));
            out.push(text(
                json!({"type": "message", "role": "assistant", "content": said,
                "is_final": true, "message_id": reply, "session_id": "raw"}),
            ));
            out
        }
        _ => Vec::new(),
    }
}

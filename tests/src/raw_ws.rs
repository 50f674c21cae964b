//! A tiny native-dialect WebSocket server that can put arbitrary frames on the wire: malformed
//! JSON, binary frames, text frames that are not UTF-8, oversized frames, unknown event types.
//!
//! It speaks just enough of the native protocol (`sdk-core/src/dialect/native.rs`) for a real
//! client: `hello` -> `welcome` plus a replay of the conversation's events after `since_seq`,
//! `send` -> `ack` (a repeat of a known client id is acked as a duplicate and starts nothing),
//! `ping` -> `pong`. The first time a message with a scripted text arrives, its [`Inject`]
//! frames go out right after the ack; then the reply turn (`You said: <text>`) is appended to the
//! conversation log and sent, so a client that lost the socket to the bad frame gets the turn by
//! resuming.

use crate::raw_server::{RawServer, script_map};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

/// A frame the server sends as is.
#[derive(Debug, Clone)]
pub enum Inject {
    /// A text frame with this content.
    Text(String),
    /// A binary frame.
    Binary(Vec<u8>),
    /// A text frame whose payload is these bytes, valid UTF-8 or not.
    RawText(Vec<u8>),
    /// The next conversation event (it gets the next `seq`) with these extra fields, e.g.
    /// `{"kind":"mystery"}`.
    Event(Value),
}

/// What the server saw, for server-side assertions.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// `(client_id, text, times)` of every distinct message, in arrival order.
    pub messages: Vec<(String, String, u32)>,
    /// WebSocket connections accepted.
    pub connections: u32,
}

#[derive(Default)]
struct State {
    /// Conversation events (full frames), `log[i]` has seq `i + 1`.
    log: Vec<Value>,
    acked: BTreeMap<String, String>,
    injected: BTreeSet<String>,
    seen: Seen,
}

/// A running raw native server. Dropping it stops accepting.
pub struct RawNative {
    server: RawServer,
    state: Arc<Mutex<State>>,
}

impl RawNative {
    /// Starts the server; `script` maps a message text to the frames injected before its reply.
    pub async fn start(script: Vec<(&str, Vec<Inject>)>) -> RawNative {
        let state = Arc::new(Mutex::new(State::default()));
        let script: Arc<BTreeMap<String, Vec<Inject>>> = Arc::new(script_map(script));
        let shared = state.clone();
        let server = RawServer::start(move |tcp| serve(tcp, shared.clone(), script.clone())).await;
        RawNative { server, state }
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

async fn serve(
    tcp: TcpStream,
    state: Arc<Mutex<State>>,
    script: Arc<BTreeMap<String, Vec<Inject>>>,
) {
    // The server itself accepts anything, so the client's own limits are what is tested.
    let config = WebSocketConfig::default()
        .max_message_size(None)
        .max_frame_size(None);
    let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(tcp, Some(config)).await else {
        return;
    };
    state.lock().unwrap().seen.connections += 1;
    while let Some(Ok(message)) = ws.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        let out = respond(&frame, &state, &script);
        for message in out {
            if ws.send(message).await.is_err() {
                return;
            }
        }
    }
}

/// The frames answering one client frame (conversation events are logged first).
fn respond(
    frame: &Value,
    state: &Mutex<State>,
    script: &BTreeMap<String, Vec<Inject>>,
) -> Vec<Message> {
    let mut st = state.lock().unwrap();
    let text = |v: Value| Message::text(v.to_string());
    match frame["type"].as_str().unwrap_or_default() {
        "hello" => {
            let since = frame["since_seq"].as_u64().unwrap_or(0) as usize;
            let mut out = vec![text(json!({"type": "welcome",
                "conversation_id": frame["conversation_id"], "last_seq": st.log.len(),
                "resumed": true, "heartbeat_ms": 30000}))];
            out.extend(st.log.iter().skip(since).cloned().map(text));
            out
        }
        "ping" => vec![text(json!({"type": "pong", "nonce": frame["nonce"]}))],
        "send" => {
            let client_id = frame["client_id"].as_str().unwrap_or_default().to_string();
            let body = frame["text"].as_str().unwrap_or_default().to_string();
            if let Some(message_id) = st.acked.get(&client_id).cloned() {
                if let Some(m) = st.seen.messages.iter_mut().find(|m| m.0 == client_id) {
                    m.2 += 1;
                }
                return vec![text(json!({"type": "ack", "client_id": client_id,
                    "message_id": message_id, "duplicate": true}))];
            }
            let n = st.acked.len() + 1;
            let message_id = format!("u-{n}");
            st.acked.insert(client_id.clone(), message_id.clone());
            st.seen.messages.push((client_id.clone(), body.clone(), 1));
            let mut out = vec![text(json!({"type": "ack", "client_id": client_id,
                "message_id": message_id, "duplicate": false}))];
            if st.injected.insert(body.clone()) {
                for inject in script.get(&body).cloned().unwrap_or_default() {
                    out.push(match inject {
                        Inject::Text(t) => Message::text(t),
                        Inject::Binary(b) => Message::binary(b),
                        Inject::RawText(bytes) => {
                            Message::Frame(Frame::message(bytes, OpCode::Data(Data::Text), true))
                        }
                        Inject::Event(extra) => text(st.push(extra)),
                    });
                }
            }
            let (turn, reply) = (format!("t-{n}"), format!("a-{n}"));
            let said = format!("You said: {body}");
            let events = [
                json!({"kind": "turn_started", "reply_to": client_id}),
                json!({"kind": "message_started", "message_id": reply, "role": "assistant"}),
                json!({"kind": "text_delta", "message_id": reply, "offset": 0, "text": said}),
                json!({"kind": "message_completed", "message_id": reply, "text": said}),
                json!({"kind": "turn_completed", "finish_reason": "stop"}),
            ];
            for mut event in events {
                event["turn_id"] = json!(turn);
                out.push(text(st.push(event)));
            }
            out
        }
        _ => Vec::new(),
    }
}

impl State {
    /// Appends a conversation event (assigning its seq) and returns the full frame.
    fn push(&mut self, extra: Value) -> Value {
        let mut event =
            json!({"type": "event", "seq": self.log.len() + 1, "ts": 1_700_000_000_000u64});
        if let (Some(e), Value::Object(x)) = (event.as_object_mut(), extra) {
            e.extend(x);
        }
        self.log.push(event.clone());
        event
    }
}

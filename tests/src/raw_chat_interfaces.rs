//! A tiny chat-interfaces responder (REST + one SSE stream) that can put arbitrary events on
//! the stream in the middle of an execution: `data:` lines that are not JSON, unknown event
//! names.
//!
//! It speaks just enough of the protocol (`sdk-core/src/dialect/chat_interfaces/`) for a real
//! client, under any slug: `POST .../sessions` -> `201 {sessionToken, sessionId, threadId}`;
//! `GET .../stream` -> an event stream that starts with `connected` and then carries every event
//! of the session logged after its start (or after `Last-Event-ID`); `POST .../messages` ->
//! `200 {executionId, threadId, status}`, after which the execution's events are logged: the
//! scripted [`SseEvent`]s of the message text (the first time only), then `token`, `message`
//! and `execution:completed` answering `You said: <message>`; `GET .../sessions/{t}/messages`
//! -> an empty history. Every event gets the next SSE `id`.

use crate::raw_http::read_request;
use crate::raw_server::{RawServer, script_map};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::watch;

/// An event the server puts on the stream as is (it only adds the `id:` line).
#[derive(Debug, Clone)]
pub struct SseEvent {
    /// The `event:` name.
    pub event: String,
    /// The `data:` payload, JSON or not (one line).
    pub data: String,
}

/// What the server saw, for server-side assertions.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// `(clientMessageId, message)` of every message POST, in arrival order.
    pub messages: Vec<(String, String)>,
    /// Event streams opened.
    pub streams: u32,
}

#[derive(Default)]
struct State {
    script: BTreeMap<String, Vec<SseEvent>>,
    /// The session's events, ready to write; `log[i]` has id `i + 1`.
    log: Vec<String>,
    seen: Seen,
}

/// A running raw chat-interfaces responder. Dropping it stops accepting.
pub struct RawChatInterfaces {
    server: RawServer,
    state: Arc<Mutex<State>>,
}

impl RawChatInterfaces {
    /// Starts the responder; `script` maps a message text to the events logged before its reply
    /// (once).
    pub async fn start(script: Vec<(&str, Vec<SseEvent>)>) -> RawChatInterfaces {
        let state = Arc::new(Mutex::new(State {
            script: script_map(script),
            ..State::default()
        }));
        let (grown, _) = watch::channel(0usize);
        let shared = state.clone();
        let server = RawServer::start(move |tcp| serve(tcp, shared.clone(), grown.clone())).await;
        RawChatInterfaces { server, state }
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

async fn serve(mut tcp: TcpStream, state: Arc<Mutex<State>>, grown: watch::Sender<usize>) {
    let Some((head, body)) = read_request(&mut tcp).await else {
        return;
    };
    let line = head.lines().next().unwrap_or_default().to_string();
    let path = line.split(' ').nth(1).unwrap_or_default().to_string();
    let route = path.split('?').next().unwrap_or_default();
    if line.starts_with("GET ") && route.ends_with("/stream") {
        return stream(tcp, &head, state, grown.subscribe()).await;
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (status, answer, events) = if route.ends_with("/sessions") {
        let session = json!({"sessionToken": "tok-raw", "sessionId": "s-raw",
            "threadId": "th-raw", "executionStatus": "idle"});
        ("201 Created", session, Vec::new())
    } else if route.ends_with("/messages") && line.starts_with("POST ") {
        let text = request["message"].as_str().unwrap_or_default().to_string();
        let client = request["clientMessageId"].as_str().unwrap_or_default();
        let mut st = state.lock().unwrap();
        st.seen.messages.push((client.to_string(), text.clone()));
        let execution = format!("ex-{}", st.seen.messages.len());
        let mut events = st.script.remove(&text).unwrap_or_default();
        events.extend(reply(&execution, &text));
        let answer = json!({"executionId": execution, "threadId": "th-raw",
            "status": "running"});
        ("200 OK", answer, events)
    } else if route.ends_with("/messages") {
        ("200 OK", json!({"messages": []}), Vec::new())
    } else {
        let missing = json!({"success": false, "error": "not found", "code": "NOT_FOUND"});
        ("404 Not Found", missing, Vec::new())
    };
    let answer = answer.to_string();
    let out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{answer}",
        answer.len()
    );
    let _ = tcp.write_all(out.as_bytes()).await;
    let _ = tcp.shutdown().await;
    if !events.is_empty() {
        let mut st = state.lock().unwrap();
        for e in events {
            let id = st.log.len() + 1;
            st.log.push(format!(
                "id: {id}\nevent: {}\ndata: {}\n\n",
                e.event, e.data
            ));
        }
        grown.send_replace(st.log.len());
    }
}

/// The events answering a message: one token, the complete message, the end of the execution.
fn reply(execution: &str, text: &str) -> Vec<SseEvent> {
    let said = format!("You said: {text}");
    let reply = format!("{execution}-reply");
    let event = |event: &str, data: Value| SseEvent {
        event: event.into(),
        data: data.to_string(),
    };
    vec![
        event(
            "token",
            json!({"token": said, "executionId": execution,
            "threadId": "th-raw", "messageId": reply}),
        ),
        event(
            "message",
            json!({"message": {"id": reply, "role": "assistant",
            "content": said, "timestamp": "2026-01-01T00:00:00Z"},
            "executionId": execution, "threadId": "th-raw"}),
        ),
        event(
            "execution:completed",
            json!({"executionId": execution,
            "threadId": "th-raw", "status": "completed"}),
        ),
    ]
}

/// Streams the session's events after the start position until the client goes away.
async fn stream(
    mut tcp: TcpStream,
    head: &str,
    state: Arc<Mutex<State>>,
    mut grown: watch::Receiver<usize>,
) {
    let after = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("last-event-id")
            .then(|| value.trim().parse::<usize>().ok())?
    });
    let mut sent = {
        let mut st = state.lock().unwrap();
        st.seen.streams += 1;
        after.unwrap_or(st.log.len()).min(st.log.len())
    };
    let connected = json!({"sessionToken": "tok-raw", "threadId": "th-raw"});
    let start = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\
         Connection: close\r\n\r\nid: {sent}\nevent: connected\ndata: {connected}\n\n"
    );
    if tcp.write_all(start.as_bytes()).await.is_err() {
        return;
    }
    loop {
        grown.borrow_and_update();
        let out: String = {
            let st = state.lock().unwrap();
            let out = st.log[sent..].concat();
            sent = st.log.len();
            out
        };
        if tcp.write_all(out.as_bytes()).await.is_err() {
            return;
        }
        if grown.changed().await.is_err() {
            return;
        }
    }
}

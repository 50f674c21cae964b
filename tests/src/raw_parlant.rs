//! A tiny Parlant responder (sessions and long-polled events) that can put bad input in the
//! event lists: entries that are not event objects, unknown kinds, and one poll answered with
//! a body that is not JSON.
//!
//! It speaks just enough of the Parlant REST API (`sdk-core/src/dialect/parlant/`) for a real
//! client: `POST /sessions` -> `201 {id}`; `POST /sessions/{id}/events` (a customer message) ->
//! `201` the stored customer event (a repeat of a known `Idempotency-Key` gets `200` the same
//! event and starts nothing), after which the turn is logged: `status acknowledged`, the
//! scripted [`Entry`]s of the message text (the first time only), the agent `message` `You said:
//! <message>` and `status ready`; `GET /sessions/{id}/events?min_offset=N&wait_for_data=S`
//! answers the logged entries at or after `N` as soon as there is one, else `504` after `S`
//! seconds. Offsets start at 0 and have no gaps.

use crate::raw_http::read_request;
use crate::raw_server::{RawServer, script_map};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::watch;

/// A scripted piece of bad input, placed in the turn before the agent's message.
#[derive(Debug, Clone)]
pub enum Entry {
    /// A list entry put as is, without taking an offset (e.g. not an object, no `offset`).
    Raw(Value),
    /// An event of this kind and data, with the next offset.
    Event {
        /// The event's `kind`.
        kind: String,
        /// The event's `data`.
        data: Value,
    },
    /// The next poll answering any of the turn's events gets this response instead: status line
    /// and headers (without the blank line) and the body.
    PollAnswer {
        /// E.g. `"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html"`.
        head: String,
        /// The body (its length is added as `Content-Length`).
        body: String,
    },
}

/// What the server saw, for server-side assertions.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// `(Idempotency-Key, message, times posted)` of every distinct message, in arrival order.
    pub messages: Vec<(String, String, u32)>,
    /// Polls answered with the scripted [`Entry::PollAnswer`].
    pub bad_polls: u32,
}

#[derive(Default)]
struct State {
    script: BTreeMap<String, Vec<Entry>>,
    /// `(position, entry)`: an entry is served to polls with `min_offset <= position`.
    log: Vec<(u64, Value)>,
    next_offset: u64,
    poll_answer: Option<(String, String)>,
    /// The customer event stored for each idempotency key.
    posted: BTreeMap<String, Value>,
    seen: Seen,
}

/// A running raw Parlant responder. Dropping it stops accepting.
pub struct RawParlant {
    server: RawServer,
    state: Arc<Mutex<State>>,
}

impl RawParlant {
    /// Starts the responder; `script` maps a message text to the entries of its turn (once).
    pub async fn start(script: Vec<(&str, Vec<Entry>)>) -> RawParlant {
        let state = Arc::new(Mutex::new(State {
            script: script_map(script),
            ..State::default()
        }));
        let (grown, _) = watch::channel(0usize);
        let shared = state.clone();
        let server = RawServer::start(move |tcp| serve(tcp, shared.clone(), grown.clone())).await;
        RawParlant { server, state }
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
    let target = line.split(' ').nth(1).unwrap_or_default().to_string();
    let (route, query) = target.split_once('?').unwrap_or((&target, ""));
    let (reply, turn) = if line.starts_with("GET ") && route.ends_with("/events") {
        (poll(query, &state, grown.subscribe()).await, None)
    } else if route.ends_with("/events") {
        post(&state, &head, &body)
    } else if route.ends_with("/sessions") {
        let session = json!({"id": "s-raw", "agent_id": "demo-agent", "customer_id": "guest"});
        (json_answer("201 Created", &session), None)
    } else {
        (
            json_answer("404 Not Found", &json!({"detail": "Not Found"})),
            None,
        )
    };
    answer(tcp, reply).await;
    if let Some((text, customer)) = turn {
        let mut st = state.lock().unwrap();
        st.turn(&text, &customer);
        grown.send_replace(st.log.len());
    }
}

/// Answers a customer message: stores it and returns its turn to log, or answers a repeat.
fn post(state: &Mutex<State>, head: &str, body: &[u8]) -> (String, Option<(String, Value)>) {
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let text = request["message"].as_str().unwrap_or_default().to_string();
    let key = header(head, "idempotency-key").unwrap_or_default();
    let mut st = state.lock().unwrap();
    if let Some(customer) = st.posted.get(&key).cloned() {
        if let Some(m) = st.seen.messages.iter_mut().find(|m| m.0 == key) {
            m.2 += 1;
        }
        return (json_answer("200 OK", &customer), None);
    }
    st.seen.messages.push((key.clone(), text.clone(), 1));
    let participant = json!({"display_name": "guest"});
    let customer = st.event(
        "message",
        "customer",
        json!({"message": text, "participant": participant}),
    );
    st.posted.insert(key, customer.clone());
    (
        json_answer("201 Created", &customer),
        Some((text, customer)),
    )
}

/// Answers one long-poll: the entries at or after `min_offset`, as soon as there is one.
async fn poll(query: &str, state: &Mutex<State>, mut grown: watch::Receiver<usize>) -> String {
    let param = |name: &str| {
        query.split('&').find_map(|kv| {
            kv.strip_prefix(name)?
                .strip_prefix('=')?
                .parse::<u64>()
                .ok()
        })
    };
    let min = param("min_offset").unwrap_or(0);
    let wait = Duration::from_secs(param("wait_for_data").unwrap_or(0));
    loop {
        grown.borrow_and_update();
        {
            let mut st = state.lock().unwrap();
            let entries: Vec<Value> = st
                .log
                .iter()
                .filter(|(at, _)| *at >= min)
                .map(|(_, e)| e.clone())
                .collect();
            if !entries.is_empty() {
                if let Some((head, body)) = st.poll_answer.take() {
                    st.seen.bad_polls += 1;
                    return format!(
                        "{head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                }
                return json_answer("200 OK", &Value::Array(entries));
            }
        }
        match tokio::time::timeout(wait, grown.changed()).await {
            Ok(Ok(())) => {}
            _ => {
                return json_answer(
                    "504 Gateway Timeout",
                    &json!({"detail": "Request timed out"}),
                );
            }
        }
    }
}

impl State {
    /// Logs an event with the next offset and returns it.
    fn event(&mut self, kind: &str, source: &str, data: Value) -> Value {
        let offset = self.next_offset;
        self.next_offset += 1;
        let event = json!({"id": format!("ev-{offset}"), "source": source, "kind": kind,
            "offset": offset, "creation_utc": "2026-01-01T00:00:00Z",
            "correlation_id": "corr-raw", "data": data, "deleted": false});
        self.log.push((offset, event.clone()));
        event
    }

    /// Logs the turn answering `customer` (whose message is `text`).
    fn turn(&mut self, text: &str, customer: &Value) {
        let agent = "ai_agent";
        self.event(
            "status",
            agent,
            json!({"status": "acknowledged",
            "acknowledged_offset": customer["offset"], "data": {}}),
        );
        for entry in self.script.remove(text).unwrap_or_default() {
            match entry {
                Entry::Raw(v) => self.log.push((self.next_offset, v)),
                Entry::Event { kind, data } => {
                    self.event(&kind, agent, data);
                }
                Entry::PollAnswer { head, body } => self.poll_answer = Some((head, body)),
            }
        }
        self.event(
            "message",
            agent,
            json!({"message": format!("You said: {text}"),
            "participant": {"display_name": "agent"}}),
        );
        self.event("status", agent, json!({"status": "ready", "data": {}}));
    }
}

async fn answer(mut tcp: TcpStream, response: String) {
    let _ = tcp.write_all(response.as_bytes()).await;
    let _ = tcp.shutdown().await;
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (n, value) = l.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_string())
    })
}

fn json_answer(status: &str, body: &Value) -> String {
    let body = body.to_string();
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
}

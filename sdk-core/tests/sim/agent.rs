//! What every simulated backend shares: the scripted agent that writes replies, the server-side
//! records the checker compares the app's view with, and the [`Model`] trait a dialect's server
//! model implements for the multi-dialect world (`world.rs`).
//!
//! The agent numbers replies `msg-N` from a seeded start just below a power of ten, so every run
//! crosses a digit boundary (`msg-9999` -> `msg-10000`): string-sorted structures in a codec
//! then misbehave where insertion-ordered ones do not (issue 8, finding 2). The records count,
//! per client id, how often the backend received a message and how often it stored it as new,
//! and which messages the client had already seen acknowledged when a copy arrived.

use super::SimRng;
use chatwire::dialect::Dialect;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// Something the server model wants the world to do.
#[derive(Debug)]
pub enum Out {
    /// A WebSocket text frame to the client; `acks` names the client id this frame acknowledges.
    Frame {
        conn: u64,
        text: String,
        acks: Option<String>,
    },
    /// The server closes the socket (the client sees it closed).
    Close(u64),
    /// The status line, headers and (for one-shot requests) the whole body of a response.
    Respond {
        req: u64,
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
        acks: Option<String>,
    },
    /// A piece of a streamed body.
    Chunk { req: u64, text: String },
    /// The streamed body ends normally.
    End(u64),
    /// Call [`Model::step`] with `token` after `delay` ms. `background` timers (heartbeats,
    /// poll deadlines) do not keep a run from settling.
    Timer {
        delay: u64,
        token: u64,
        background: bool,
    },
    /// The backend received a chat message with this client id (`new`: stored as new).
    Received { client_id: String, new: bool },
    /// The backend finished the turn answering `client_id` (for the end-of-run checks); `turn`
    /// is the backend's id of that turn where the dialect documents it as the app's turn id.
    TurnDone {
        client_id: String,
        turn: Option<String>,
    },
}

/// An HTTP request as the server sees it.
#[derive(Debug, Clone)]
pub struct Req {
    pub id: u64,
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub streaming: bool,
}

impl Req {
    /// Path without the query.
    pub fn path(&self) -> &str {
        let rest = self.url.split_once("://").map_or(&*self.url, |(_, r)| r);
        let path = rest.find('/').map_or("/", |i| &rest[i..]);
        path.split('?').next().unwrap_or(path)
    }
    /// A query parameter (not percent-decoded: the models use plain ids).
    pub fn query(&self, name: &str) -> Option<String> {
        query(&self.url, name)
    }
    /// A header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// The body as JSON (`Null` when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// A query parameter of `url`.
pub fn query(url: &str, name: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then(|| v.to_string())
    })
}

/// A dialect's simulated backend. All methods are called by the world at virtual time; the
/// model keeps its own state (logs, sessions, the running turn) and answers with [`Out`]s.
pub trait Model {
    /// Dialect name as printed in `simulation[<name>]`.
    fn name(&self) -> &'static str;
    /// The codec under test, configured for this model's routes.
    fn codec(&self) -> Box<dyn Dialect>;
    /// The dialect is documented to re-send a message whose turn was cut (openai).
    fn resends_cut_turns(&self) -> bool {
        false
    }
    /// A socket was accepted (`url` as the client asked for it).
    fn open(&mut self, _conn: u64, _url: &str, _rng: &mut SimRng) -> Vec<Out> {
        Vec::new()
    }
    /// A text frame from the client.
    fn frame(&mut self, _conn: u64, _text: &str, _rng: &mut SimRng) -> Vec<Out> {
        Vec::new()
    }
    /// The socket is gone (either side closed it).
    fn closed(&mut self, _conn: u64) {}
    /// An HTTP request arrived.
    fn request(&mut self, _req: &Req, _rng: &mut SimRng) -> Vec<Out> {
        Vec::new()
    }
    /// The client abandoned request `req` or its stream broke.
    fn request_gone(&mut self, _req: u64) {}
    /// A timer of the model fired.
    fn step(&mut self, token: u64, rng: &mut SimRng) -> Vec<Out>;
    /// The process restarts: every connection and stream is gone (the world closes them), the
    /// running turn is aborted; stored data survives.
    fn restart(&mut self) -> Vec<Out>;
    /// The process is back.
    fn up(&mut self, rng: &mut SimRng) -> Vec<Out>;
    /// From now on, fail every connection right after it became usable, and answer no message
    /// (or stop doing so; the world then calls [`Model::up`] to resume the turns).
    fn set_flapping(&mut self, on: bool);
    /// No turn running or waiting.
    fn idle(&self) -> bool;
    /// The server's unique id of the wire event in `raw` (an envelope's raw payload), when the
    /// protocol gives it one: the app must never get the same one twice.
    fn event_key(&self, raw: &Value) -> Option<String>;
}

/// One scripted reply.
pub struct Reply {
    /// `msg-N`.
    pub id: String,
    pub words: Vec<&'static str>,
    /// A tool call first: (call id, fails).
    pub tool: Option<(String, bool)>,
    /// The turn fails after streaming (a model error).
    pub fails: bool,
}

const WORDS: &[&str] = &[
    "hello ", "wörld ", "🌍 ", "chat ", "wire ", "naïve ", "ok ", "über ", "hello ",
];

/// The scripted agent: reply ids from a seeded start just below a digit boundary.
pub struct Agent {
    next: u64,
}

impl Agent {
    pub fn new(rng: &mut SimRng) -> Agent {
        let boundary = [10_000u64, 100_000, 1_000][rng.range(0, 3) as usize];
        Agent {
            next: boundary - rng.range(1, 40),
        }
    }

    /// Starts the numbering at `next` (long runs start far enough below a boundary to fill
    /// every capped set first).
    pub fn starting_at(next: u64) -> Agent {
        Agent { next }
    }

    /// A fresh server id (`msg-N`) for anything the backend stores.
    pub fn id(&mut self) -> (u64, String) {
        let n = self.next;
        self.next += 1;
        (n, format!("msg-{n}"))
    }

    pub fn reply(&mut self, rng: &mut SimRng) -> Reply {
        let (n, id) = self.id();
        let mut words = Vec::new();
        for _ in 0..rng.range(1, 7) {
            words.push(WORDS[rng.range(0, WORDS.len() as u64) as usize]);
        }
        let tool = rng
            .chance(0.3)
            .then(|| (format!("call-{n}"), rng.chance(0.2)));
        Reply {
            id,
            words,
            tool,
            fails: rng.chance(0.05),
        }
    }
}

/// Server-side truth, kept by the world from the models' [`Out::Received`] and from what it
/// delivered to the client.
#[derive(Default)]
pub struct Records {
    /// Client id -> copies received.
    pub received: HashMap<String, u32>,
    /// Client id -> times stored as new (must stay <= 1: the backend dedups by idempotency key).
    pub stored: HashMap<String, u32>,
    /// Client ids whose acknowledgement reached the client.
    pub ack_seen: HashSet<String>,
    /// Client ids (and backend turn ids) whose turn the backend finished.
    pub done: Vec<(String, Option<String>)>,
}

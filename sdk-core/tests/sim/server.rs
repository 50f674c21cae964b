//! A simulated native-dialect server, written from the wire-format docs in
//! `src/dialect/native.rs`: conversation log with per-conversation `seq`, bounded retention,
//! resume from `since_seq`, acks by client id with idempotent re-sends, a scripted agent that
//! streams replies (text deltas by offset, tool calls) one turn at a time, cancel, ping/pong and
//! restarts that abort the running turn.

use super::SimRng;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// Something the server wants the world to do.
pub enum ServerOut {
    Send(u64, String),
    Close(u64),
    /// Fire turn step `token` after `delay_ms`.
    Timer(u64, u64),
}

struct Turn {
    id: String,
    reply_to: String,
    /// Its first event is in the log.
    started: bool,
    token: u64,
    steps: VecDeque<Value>,
    open_tool: Option<String>,
}

#[derive(Default)]
struct SConn {
    helloed: bool,
}

pub struct Server {
    retention: usize,
    log: VecDeque<(u64, Value)>,
    pub last_seq: u64,
    /// seq -> turn id of every event ever appended (for the checker).
    pub turn_of_seq: HashMap<u64, String>,
    stored: HashMap<String, String>,
    /// How many times each client id was stored as a new message (must stay <= 1).
    pub store_count: HashMap<String, u32>,
    pending: VecDeque<String>,
    turn: Option<Turn>,
    conns: BTreeMap<u64, SConn>,
    pub down: bool,
    pub hello_rate_limit: f64,
    counter: u64,
    now: u64,
}

const WORDS: &[&str] = &[
    "hello ", "wörld ", "🌍 ", "chat ", "wire ", "naïve ", "ok ", "über ",
];

impl Server {
    pub fn new(retention: usize) -> Server {
        Server {
            retention,
            log: VecDeque::new(),
            last_seq: 0,
            turn_of_seq: HashMap::new(),
            stored: HashMap::new(),
            store_count: HashMap::new(),
            pending: VecDeque::new(),
            turn: None,
            conns: BTreeMap::new(),
            down: false,
            hello_rate_limit: 0.0,
            counter: 0,
            now: 0,
        }
    }

    pub fn idle(&self) -> bool {
        self.turn.is_none() && self.pending.is_empty()
    }

    pub fn open(&mut self, conn: u64) {
        self.conns.insert(conn, SConn::default());
    }

    pub fn close(&mut self, conn: u64) {
        self.conns.remove(&conn);
    }

    pub fn frame(&mut self, now: u64, conn: u64, text: &str, rng: &mut SimRng) -> Vec<ServerOut> {
        self.now = now;
        let mut out = Vec::new();
        if self.down || !self.conns.contains_key(&conn) {
            return out;
        }
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            out.push(ServerOut::Send(conn, error("bad_request", "invalid JSON")));
            return out;
        };
        let helloed = self.conns.get(&conn).is_some_and(|c| c.helloed);
        match v["type"].as_str().unwrap_or("") {
            "hello" if !helloed => {
                if rng.chance(self.hello_rate_limit) {
                    out.push(ServerOut::Send(conn, error("rate_limited", "slow down")));
                    out.push(ServerOut::Close(conn));
                    self.conns.remove(&conn);
                    return out;
                }
                let since = v["since_seq"].as_u64().unwrap_or(0);
                let oldest = self.log.front().map_or(self.last_seq + 1, |(s, _)| *s);
                let resumed = since >= self.last_seq || since + 1 >= oldest;
                let welcome = json!({"type":"welcome","conversation_id":"sim","last_seq":self.last_seq,
                    "resumed":resumed,"heartbeat_ms":30000});
                out.push(ServerOut::Send(conn, welcome.to_string()));
                for (seq, ev) in &self.log {
                    if *seq > since {
                        out.push(ServerOut::Send(conn, ev.to_string()));
                    }
                }
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.helloed = true;
                }
            }
            "hello" => {}
            _ if !helloed => {
                out.push(ServerOut::Send(conn, error("bad_request", "hello first")));
            }
            "send" => {
                let cid = v["client_id"].as_str().unwrap_or("").to_string();
                if let Some(mid) = self.stored.get(&cid) {
                    let ack =
                        json!({"type":"ack","client_id":cid,"message_id":mid,"duplicate":true});
                    out.push(ServerOut::Send(conn, ack.to_string()));
                } else {
                    self.counter += 1;
                    let mid = format!("m-{}", self.counter);
                    self.stored.insert(cid.clone(), mid.clone());
                    *self.store_count.entry(cid.clone()).or_default() += 1;
                    let ack =
                        json!({"type":"ack","client_id":cid,"message_id":mid,"duplicate":false});
                    out.push(ServerOut::Send(conn, ack.to_string()));
                    self.pending.push_back(cid);
                    self.maybe_start(rng, &mut out);
                }
            }
            "cancel" => {
                self.cancel(&mut out);
                self.maybe_start(rng, &mut out);
            }
            "ping" => {
                let pong = json!({"type":"pong","nonce":v["nonce"]});
                out.push(ServerOut::Send(conn, pong.to_string()));
            }
            _ => {}
        }
        out
    }

    /// A scheduled turn step fires.
    pub fn step(&mut self, now: u64, token: u64, rng: &mut SimRng) -> Vec<ServerOut> {
        self.now = now;
        let mut out = Vec::new();
        let current = self.turn.as_ref().is_some_and(|t| t.token == token);
        if !current || self.down {
            return out;
        }
        let Some(turn) = self.turn.as_mut() else {
            return out;
        };
        let Some(ev) = turn.steps.pop_front() else {
            return out;
        };
        let kind = ev["kind"].as_str().unwrap_or("").to_string();
        match kind.as_str() {
            "tool_started" => turn.open_tool = ev["tool_id"].as_str().map(str::to_string),
            "tool_completed" | "tool_failed" => turn.open_tool = None,
            _ => {}
        }
        turn.started = true;
        let more = !turn.steps.is_empty();
        self.append(ev, &mut out);
        if more {
            out.push(ServerOut::Timer(rng.range(5, 300), token));
        } else {
            self.turn = None;
            self.maybe_start(rng, &mut out);
        }
        out
    }

    /// Restart: every connection drops, the running turn is aborted (and ends in the log).
    pub fn restart(&mut self, goodbye: Option<u64>) -> Vec<ServerOut> {
        let mut out = Vec::new();
        for (&conn, c) in &self.conns {
            if let (Some(ms), true) = (goodbye, c.helloed) {
                let bye = json!({"type":"goodbye","reason":"restart","retry_after_ms":ms});
                out.push(ServerOut::Send(conn, bye.to_string()));
            }
            out.push(ServerOut::Close(conn));
        }
        self.conns.clear();
        if let Some(turn) = self.turn.take() {
            self.end_turn(turn, "turn_failed", &mut out);
        }
        self.down = true;
        out
    }

    pub fn up(&mut self, now: u64, rng: &mut SimRng) -> Vec<ServerOut> {
        self.now = now;
        self.down = false;
        let mut out = Vec::new();
        self.maybe_start(rng, &mut out);
        out
    }

    fn cancel(&mut self, out: &mut Vec<ServerOut>) {
        if let Some(turn) = self.turn.take() {
            self.end_turn(turn, "turn_cancelled", out);
        }
    }

    fn end_turn(&mut self, turn: Turn, terminal: &str, out: &mut Vec<ServerOut>) {
        if !turn.started {
            self.pending.push_front(turn.reply_to); // nothing shown yet: answer it later
            return;
        }
        if let Some(tool) = turn.open_tool {
            let ev =
                json!({"kind":"tool_failed","turn_id":turn.id,"tool_id":tool,"error":"aborted"});
            self.append(ev, out);
        }
        let ev = json!({"kind":terminal,"turn_id":turn.id,"error":"aborted"});
        self.append(ev, out);
    }

    fn maybe_start(&mut self, rng: &mut SimRng, out: &mut Vec<ServerOut>) {
        if self.turn.is_some() || self.down {
            return;
        }
        let Some(reply_to) = self.pending.pop_front() else {
            return;
        };
        self.counter += 1;
        let n = self.counter;
        let id = format!("t-{n}");
        let mut steps = VecDeque::new();
        let mut push = |mut v: Value| {
            v["turn_id"] = json!(id);
            steps.push_back(v);
        };
        push(json!({"kind":"turn_started","reply_to":reply_to.clone()}));
        push(json!({"kind":"status","stage":"processing"}));
        if rng.chance(0.4) {
            let tool = format!("tool-{n}");
            push(json!({"kind":"tool_started","tool_id":tool,"name":"search","args":{"q":n}}));
            push(json!({"kind":"tool_progress","tool_id":tool,"message":"working"}));
            if rng.chance(0.2) {
                push(json!({"kind":"tool_failed","tool_id":tool,"error":"no results"}));
            } else {
                push(json!({"kind":"tool_completed","tool_id":tool,"output":{"hits":n}}));
            }
        }
        let mid = format!("r-{n}");
        push(json!({"kind":"message_started","message_id":mid,"role":"assistant"}));
        let mut text = String::new();
        for _ in 0..rng.range(1, 9) {
            let w = WORDS[rng.range(0, WORDS.len() as u64) as usize];
            let offset = text.chars().count();
            push(json!({"kind":"text_delta","message_id":mid,"offset":offset,"text":w}));
            text.push_str(w);
        }
        push(json!({"kind":"message_completed","message_id":mid,"text":text}));
        if rng.chance(0.1) {
            push(json!({"kind":"turn_failed","error":"model error"}));
        } else {
            push(json!({"kind":"turn_completed","finish_reason":"stop"}));
        }
        self.turn = Some(Turn {
            id,
            reply_to,
            started: false,
            token: n,
            steps,
            open_tool: None,
        });
        out.push(ServerOut::Timer(rng.range(5, 300), n));
    }

    fn append(&mut self, mut ev: Value, out: &mut Vec<ServerOut>) {
        self.last_seq += 1;
        let seq = self.last_seq;
        ev["type"] = json!("event");
        ev["seq"] = json!(seq);
        ev["ts"] = json!(1_763_800_000_000u64 + self.now);
        if let Some(t) = ev["turn_id"].as_str() {
            self.turn_of_seq.insert(seq, t.to_string());
        }
        let text = ev.to_string();
        for (&conn, c) in &self.conns {
            if c.helloed {
                out.push(ServerOut::Send(conn, text.clone()));
            }
        }
        self.log.push_back((seq, ev));
        while self.log.len() > self.retention {
            self.log.pop_front();
        }
    }
}

fn error(code: &str, message: &str) -> String {
    json!({"type":"error","code":code,"message":message,"retryable":true}).to_string()
}

//! A simulated native server for the multi-dialect world, from the wire format in
//! `src/dialect/native.rs`: `hello {since_seq}` -> `welcome {last_seq, resumed}` and the replay
//! of every retained event after `since_seq`; `send {client_id}` -> `ack {message_id,
//! duplicate}` (a known id is acked again with the same id and starts no turn); conversation
//! events with a gapless `seq` (`turn_started`, `status`, tools, `message_started`,
//! `text_delta {offset}`, `message_completed`, `turn_completed|failed|cancelled`), a bounded
//! retention, `cancel`, `ping`/`pong`. A restart aborts the running turn (`turn_failed` in the
//! log). The older single-dialect simulation (`sim/server.rs`) adds network-level duplicates
//! and a `goodbye`; this one adds flapping and long runs.

use super::super::SimRng;
use super::super::agent::{Agent, Model, Out};
use super::super::script::{Beat, Runner};
use chatwire::dialect::Dialect;
use chatwire::dialect::native::{NativeConfig, NativeDialect};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};

pub struct NativeModel {
    runner: Runner,
    log: VecDeque<Value>,
    last_seq: u64,
    retention: usize,
    /// Socket -> said hello.
    conns: BTreeMap<u64, bool>,
    stored: HashMap<String, String>,
    flapping: bool,
}

impl NativeModel {
    pub fn new(agent: Agent, step_ms: u64) -> NativeModel {
        NativeModel {
            runner: Runner::new(agent, step_ms),
            log: VecDeque::new(),
            last_seq: 0,
            retention: 1_000,
            conns: BTreeMap::new(),
            stored: HashMap::new(),
            flapping: false,
        }
    }

    /// Keeps only the last `n` events.
    pub fn with_retention(mut self, n: usize) -> Self {
        self.retention = n;
        self
    }

    fn turn_id(&self) -> String {
        self.runner
            .turn
            .as_ref()
            .map(|t| format!("t-{}", t.user_id))
            .unwrap_or_default()
    }

    fn append(&mut self, mut ev: Value, out: &mut Vec<Out>) {
        self.last_seq += 1;
        ev["type"] = json!("event");
        ev["seq"] = json!(self.last_seq);
        ev["ts"] = json!(1_763_800_000_000u64);
        ev["turn_id"] = json!(self.turn_id());
        for (&conn, helloed) in &self.conns {
            if *helloed {
                out.push(frame(conn, &ev, None));
            }
        }
        self.log.push_back(ev);
        while self.log.len() > self.retention {
            self.log.pop_front();
        }
    }

    fn end_turn(&mut self, kind: &str, out: &mut Vec<Out>) {
        let Some(turn) = self.runner.turn.as_ref() else {
            return;
        };
        if turn.fired == 0 {
            if let Some(t) = self.runner.finish() {
                self.runner.requeue(t.cid, t.user_id);
            }
            return;
        }
        if turn.tool_open {
            let tool = turn.reply.tool.as_ref().map(|t| t.0.clone());
            self.append(
                json!({"kind":"tool_failed","tool_id":tool,"error":"aborted"}),
                out,
            );
        }
        let tid = self.turn_id();
        self.append(json!({"kind":kind,"error":"aborted"}), out);
        if let Some(t) = self.runner.finish() {
            out.push(Out::TurnDone {
                client_id: t.cid,
                turn: Some(tid),
            });
        }
    }

    fn hello(&mut self, conn: u64, v: &Value) -> Vec<Out> {
        let since = v["since_seq"].as_u64().unwrap_or(0);
        let oldest = self
            .log
            .front()
            .map_or(self.last_seq + 1, |e| e["seq"].as_u64().unwrap_or(0));
        let resumed = since >= self.last_seq || since + 1 >= oldest;
        let welcome = json!({"type":"welcome","conversation_id":"sim","last_seq":self.last_seq,"resumed":resumed,"heartbeat_ms":30000});
        let mut out = vec![frame(conn, &welcome, None)];
        for ev in &self.log {
            if ev["seq"].as_u64().unwrap_or(0) > since {
                out.push(frame(conn, ev, None));
            }
        }
        self.conns.insert(conn, true);
        if self.flapping {
            out.push(Out::Timer {
                delay: 100,
                token: conn,
                background: false,
            });
        }
        out
    }
}

fn frame(conn: u64, v: &Value, acks: Option<String>) -> Out {
    Out::Frame {
        conn,
        text: v.to_string(),
        acks,
    }
}

impl Model for NativeModel {
    fn name(&self) -> &'static str {
        "native"
    }

    fn codec(&self) -> Box<dyn Dialect> {
        Box::new(NativeDialect::new(NativeConfig::new("http://sim", "sim")))
    }

    fn open(&mut self, conn: u64, _url: &str, _rng: &mut SimRng) -> Vec<Out> {
        self.conns.insert(conn, false);
        Vec::new()
    }

    fn closed(&mut self, conn: u64) {
        self.conns.remove(&conn);
    }

    fn frame(&mut self, conn: u64, text: &str, rng: &mut SimRng) -> Vec<Out> {
        let mut out = Vec::new();
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            let e = json!({"type":"error","code":"bad_request","message":"invalid JSON","retryable":false});
            return vec![frame(conn, &e, None)];
        };
        let helloed = self.conns.get(&conn).copied().unwrap_or(false);
        match v["type"].as_str().unwrap_or("") {
            "hello" if !helloed => return self.hello(conn, &v),
            "hello" => {}
            _ if !helloed => {
                let e = json!({"type":"error","code":"bad_request","message":"hello first","retryable":false});
                out.push(frame(conn, &e, None));
            }
            "send" => {
                let cid = v["client_id"].as_str().unwrap_or("").to_string();
                let new = !self.stored.contains_key(&cid);
                if new {
                    let (_, mid) = self.runner.agent.id();
                    self.stored.insert(cid.clone(), mid.clone());
                    self.runner.enqueue(cid.clone(), mid);
                }
                out.push(Out::Received {
                    client_id: cid.clone(),
                    new,
                });
                let ack = json!({"type":"ack","client_id":cid,"message_id":self.stored[&cid],"duplicate":!new});
                out.push(frame(conn, &ack, Some(cid)));
                self.start(rng, &mut out);
            }
            "cancel" => {
                self.end_turn("turn_cancelled", &mut out);
                self.start(rng, &mut out);
            }
            "ping" => out.push(frame(
                conn,
                &json!({"type":"pong","nonce":v["nonce"]}),
                None,
            )),
            _ => {}
        }
        out
    }

    fn step(&mut self, token: u64, rng: &mut SimRng) -> Vec<Out> {
        let mut out = Vec::new();
        if !self.runner.is_beat(token) {
            if self.conns.contains_key(&token) {
                out.push(Out::Close(token)); // flapping: fail once usable
            }
            return out;
        }
        let Some(beat) = self.runner.beat(token, rng, &mut out) else {
            return out;
        };
        let Some(turn) = self.runner.turn.as_ref() else {
            return out;
        };
        let cid = turn.cid.clone();
        let rid = turn.reply.id.clone();
        let tool = turn.reply.tool.as_ref().map(|t| t.0.clone());
        let offset = turn.streamed.chars().count();
        let streamed = turn.streamed.clone();
        match beat {
            Beat::Processing => {
                self.append(json!({"kind":"turn_started","reply_to":cid}), &mut out);
                self.append(json!({"kind":"status","stage":"processing"}), &mut out);
            }
            Beat::ToolStart => self.append(
                json!({"kind":"tool_started","tool_id":tool,"name":"search","args":{"q":1}}),
                &mut out,
            ),
            Beat::ToolProgress => self.append(
                json!({"kind":"tool_progress","tool_id":tool,"message":"working"}),
                &mut out,
            ),
            Beat::ToolEnd { ok: true } => self.append(
                json!({"kind":"tool_completed","tool_id":tool,"output":{"hits":1}}),
                &mut out,
            ),
            Beat::ToolEnd { ok: false } => self.append(
                json!({"kind":"tool_failed","tool_id":tool,"error":"no results"}),
                &mut out,
            ),
            Beat::Token { index, text } => {
                if index == 0 {
                    self.append(
                        json!({"kind":"message_started","message_id":rid,"role":"assistant"}),
                        &mut out,
                    );
                }
                let offset = offset - text.chars().count();
                self.append(
                    json!({"kind":"text_delta","message_id":rid,"offset":offset,"text":text}),
                    &mut out,
                );
            }
            Beat::Done | Beat::Fail => {
                self.append(
                    json!({"kind":"message_completed","message_id":rid,"text":streamed}),
                    &mut out,
                );
                let end = if beat == Beat::Done {
                    json!({"kind":"turn_completed","finish_reason":"stop"})
                } else {
                    json!({"kind":"turn_failed","error":"model error"})
                };
                let tid = self.turn_id();
                self.append(end, &mut out);
                self.runner.finish();
                out.push(Out::TurnDone {
                    client_id: cid,
                    turn: Some(tid),
                });
                self.start(rng, &mut out);
            }
        }
        out
    }

    fn restart(&mut self) -> Vec<Out> {
        let mut out = Vec::new();
        self.conns.clear(); // a dying process sends nothing
        self.end_turn("turn_failed", &mut out);
        out
    }

    fn up(&mut self, rng: &mut SimRng) -> Vec<Out> {
        let mut out = Vec::new();
        self.start(rng, &mut out);
        out
    }

    fn set_flapping(&mut self, on: bool) {
        self.flapping = on;
        self.runner.paused = on;
    }

    fn idle(&self) -> bool {
        self.runner.idle()
    }

    fn event_key(&self, raw: &Value) -> Option<String> {
        (raw["type"] == "event").then(|| format!("seq {}", raw["seq"]))
    }
}

impl NativeModel {
    fn start(&mut self, rng: &mut SimRng, out: &mut Vec<Out>) {
        self.runner.start(rng, out);
    }
}

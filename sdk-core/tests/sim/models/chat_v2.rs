//! A simulated chat-v2 backend, from `docs/backends/chat-v2-websocket-architecture.md` and the
//! mock's module docs: one session log shared by every socket on `/v2/chat/{session}`,
//! `connected` on open, `text` -> `ack {id, message_id, duplicate}` then the turn (`status`,
//! `tool` start/progress/end, `token {content, message_id, index}`, the final `message`, or
//! `error`/`cancelled` naming the user message), turns one at a time. A re-sent id is acked as a
//! duplicate, stored once, and the frames of its turn the socket has not seen are replayed (the
//! protocol has no other resume). `GET /v2/chat/{session}/history` lists the stored messages.
//! A restart aborts the running turn: its `error` goes to the log, seen by nobody.

use super::super::SimRng;
use super::super::agent::{Agent, Model, Out, Req};
use super::super::script::{Beat, Runner};
use chatwire::dialect::Dialect;
use chatwire::dialect::chat_v2::ChatV2;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

pub struct ChatV2Model {
    runner: Runner,
    /// (seq, client id of the turn, frame).
    log: Vec<(u64, Option<String>, Value)>,
    /// Socket -> last seq before it opened.
    socks: BTreeMap<u64, u64>,
    /// Client id -> server id of the user message.
    users: HashMap<String, String>,
    /// History: (id, role, content).
    history: Vec<(String, &'static str, String, Option<String>)>,
    flapping: bool,
}

impl ChatV2Model {
    pub fn new(agent: Agent, step_ms: u64) -> ChatV2Model {
        ChatV2Model {
            runner: Runner::new(agent, step_ms),
            log: Vec::new(),
            socks: BTreeMap::new(),
            users: HashMap::new(),
            history: Vec::new(),
            flapping: false,
        }
    }

    fn last_seq(&self) -> u64 {
        self.log.last().map_or(0, |(s, _, _)| *s)
    }

    fn append(&mut self, cid: Option<String>, mut frame: Value, out: &mut Vec<Out>) {
        frame["session_id"] = json!("demo-session");
        let seq = self.last_seq() + 1;
        for &conn in self.socks.keys() {
            out.push(Out::Frame {
                conn,
                text: frame.to_string(),
                acks: None,
            });
        }
        self.log.push((seq, cid, frame));
    }

    fn start(&mut self, rng: &mut SimRng, out: &mut Vec<Out>) {
        self.runner.start(rng, out);
    }

    fn end_turn(&mut self, aborted: bool, out: &mut Vec<Out>) {
        let Some(turn) = self.runner.finish() else {
            return;
        };
        if aborted && turn.fired == 0 {
            self.runner.requeue(turn.cid, turn.user_id);
            return;
        }
        if turn.tool_open {
            let f = json!({"type":"tool","status":"end","tool_call_id":turn.reply.tool.as_ref().map(|t| t.0.clone()),"name":"lookup","error":"aborted"});
            self.append(Some(turn.cid.clone()), f, out);
        }
        let f = json!({"type":"error","code":"agent_error","message":"aborted","message_id":turn.user_id});
        self.append(Some(turn.cid.clone()), f, out);
        out.push(Out::TurnDone {
            client_id: turn.cid,
            turn: None,
        });
    }
}

impl Model for ChatV2Model {
    fn name(&self) -> &'static str {
        "chat-v2"
    }

    fn codec(&self) -> Box<dyn Dialect> {
        Box::new(ChatV2::new("http://sim"))
    }

    fn open(&mut self, conn: u64, _url: &str, _rng: &mut SimRng) -> Vec<Out> {
        self.socks.insert(conn, self.last_seq());
        let mut out = vec![Out::Frame {
            conn,
            text: json!({"type":"connected","session_id":"demo-session"}).to_string(),
            acks: None,
        }];
        if self.flapping {
            out.push(Out::Timer {
                delay: 100,
                token: conn,
                background: false,
            });
        }
        out
    }

    fn closed(&mut self, conn: u64) {
        self.socks.remove(&conn);
    }

    fn frame(&mut self, conn: u64, text: &str, rng: &mut SimRng) -> Vec<Out> {
        let mut out = Vec::new();
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            let e = json!({"type":"error","code":"invalid_json","message":"malformed JSON"});
            out.push(Out::Frame {
                conn,
                text: e.to_string(),
                acks: None,
            });
            return out;
        };
        match v["type"].as_str().unwrap_or("") {
            "text" => {
                let cid = v["id"].as_str().unwrap_or("").to_string();
                let content = v["content"].as_str().unwrap_or("").to_string();
                let new = !self.users.contains_key(&cid);
                if new {
                    let (_, id) = self.runner.agent.id();
                    self.users.insert(cid.clone(), id.clone());
                    self.history.push((id.clone(), "user", content, None));
                    self.runner.enqueue(cid.clone(), id);
                }
                out.push(Out::Received {
                    client_id: cid.clone(),
                    new,
                });
                let mid = self.users[&cid].clone();
                let ack = json!({"type":"ack","id":cid,"message_id":mid,"duplicate":!new,"session_id":"demo-session"});
                out.push(Out::Frame {
                    conn,
                    text: ack.to_string(),
                    acks: Some(cid.clone()),
                });
                if !new {
                    let since = self.socks.get(&conn).copied().unwrap_or(0);
                    for (seq, c, f) in &self.log {
                        if *seq <= since && c.as_deref() == Some(cid.as_str()) {
                            out.push(Out::Frame {
                                conn,
                                text: f.to_string(),
                                acks: None,
                            });
                        }
                    }
                }
                self.start(rng, &mut out);
            }
            "ping" => {
                let pong = json!({"type":"pong","timestamp":0,"session_id":"demo-session"});
                out.push(Out::Frame {
                    conn,
                    text: pong.to_string(),
                    acks: None,
                });
            }
            "cancel" => {
                if let Some(turn) = self.runner.finish() {
                    if turn.tool_open {
                        let f = json!({"type":"tool","status":"end","tool_call_id":turn.reply.tool.as_ref().map(|t| t.0.clone()),"name":"lookup","error":"cancelled"});
                        self.append(Some(turn.cid.clone()), f, &mut out);
                    }
                    let f = json!({"type":"cancelled","message_id":turn.user_id});
                    self.append(Some(turn.cid.clone()), f, &mut out);
                    out.push(Out::TurnDone {
                        client_id: turn.cid,
                        turn: None,
                    });
                    self.start(rng, &mut out);
                }
            }
            _ => {}
        }
        out
    }

    fn request(&mut self, req: &Req, rng: &mut SimRng) -> Vec<Out> {
        let history = req.method == "GET" && req.path().ends_with("/history");
        // A history that is rate limited now and then: the cut reply must still arrive (the
        // client tries again on its next connection, after the hint).
        if history && rng.chance(0.2) {
            return vec![Out::Respond {
                req: req.id,
                status: 429,
                headers: vec![("retry-after".into(), "1".into())],
                body: json!({"detail":"rate limited"}).to_string(),
                acks: None,
            }];
        }
        let (status, body) = if history {
            let messages: Vec<Value> = self
                .history
                .iter()
                .map(|(id, role, content, reply_to)| json!({"id":id,"role":role,"content":content,"timestamp":1_763_800_000_000u64,"reply_to":reply_to}))
                .collect();
            (
                200,
                json!({"session_id":"demo-session","messages":messages}),
            )
        } else {
            (404, json!({"detail":"Not Found"}))
        };
        vec![Out::Respond {
            req: req.id,
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
            acks: None,
        }]
    }

    fn step(&mut self, token: u64, rng: &mut SimRng) -> Vec<Out> {
        let mut out = Vec::new();
        if !self.runner.is_beat(token) {
            if self.socks.contains_key(&token) {
                out.push(Out::Close(token)); // flapping: fail right after it became usable
            }
            return out;
        }
        let Some(beat) = self.runner.beat(token, rng, &mut out) else {
            return out;
        };
        let Some(turn) = self.runner.turn.as_ref() else {
            return out;
        };
        let (cid, uid, rid) = (
            turn.cid.clone(),
            turn.user_id.clone(),
            turn.reply.id.clone(),
        );
        let tool = turn.reply.tool.as_ref().map(|t| t.0.clone());
        let frame = match &beat {
            Beat::Processing => json!({"type":"status","status":"processing"}),
            Beat::ToolStart => {
                json!({"type":"tool","status":"start","tool_call_id":tool,"name":"lookup","args":{"q":1}})
            }
            Beat::ToolProgress => {
                json!({"type":"tool","status":"progress","tool_call_id":tool,"name":"lookup","message":"working"})
            }
            Beat::ToolEnd { ok: true } => {
                json!({"type":"tool","status":"end","tool_call_id":tool,"name":"lookup","result":{"hits":1}})
            }
            Beat::ToolEnd { ok: false } => {
                json!({"type":"tool","status":"end","tool_call_id":tool,"name":"lookup","error":"no results"})
            }
            Beat::Token { index, text } => {
                json!({"type":"token","content":text,"is_final":false,"message_id":rid,"index":index})
            }
            Beat::Done => {
                json!({"type":"message","role":"assistant","content":turn.streamed,"is_final":true,"message_id":rid})
            }
            Beat::Fail => {
                json!({"type":"error","code":"agent_error","message":"model error","message_id":uid})
            }
        };
        if beat == Beat::Done {
            self.history
                .push((rid, "assistant", turn.streamed.clone(), Some(uid.clone())));
        }
        self.append(Some(cid.clone()), frame, &mut out);
        if beat.terminal() {
            self.runner.finish();
            out.push(Out::TurnDone {
                client_id: cid,
                turn: None,
            });
            self.start(rng, &mut out);
        }
        out
    }

    fn restart(&mut self) -> Vec<Out> {
        let mut out = Vec::new();
        self.socks.clear(); // a dying process sends nothing
        self.end_turn(true, &mut out);
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
        let mid = raw["message_id"].as_str()?;
        match raw["type"].as_str()? {
            "token" => Some(format!("token {mid}#{}", raw["index"])),
            "message" => Some(format!("message {mid}")),
            "error" | "cancelled" => Some(format!("end of {mid}")),
            _ => None,
        }
    }
}

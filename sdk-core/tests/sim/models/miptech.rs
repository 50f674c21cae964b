//! A simulated MIPTech platform, from `docs/backends/miptech-websocket-integration.md` and the
//! mock's module docs: `GET /healthz`, `POST /api/v1/chat` (one chat per create), the chat's
//! history at `GET /api/v1/chat/{id}/messages`, and the WebSocket
//! `/api/v1/ws/chat?tenant_id&chat_id&client_id` answering `connection_established` at once
//! and `connection_ready` after the platform's init delay (a `chat_message` before it gets
//! `error PLATFORM_NOT_READY`). `join_chat` subscribes the socket to new frames of the chat;
//! `chat_message {data:{message, chat_id}, clientId}` -> `message_received {message_id,
//! client_id, duplicate}` then the turn (`processing`, tool stages, `response_start`,
//! `response_chunk {chunk_index, offset}`, `response_complete`, or `error
//! AI_PROCESSING_FAILED`), every turn frame with `event_id` `{chat}:{seq}`. A re-sent
//! `clientId` is acknowledged again as a duplicate, stored once, and the frames of its turn the
//! socket has not seen are replayed. A restart aborts the running turn with an `error`.

use super::super::SimRng;
use super::super::agent::{Agent, Model, Out, Req, query};
use super::super::script::{Beat, Runner};
use chatwire::dialect::Dialect;
use chatwire::dialect::miptech::Miptech;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

/// The platform's init delay before `connection_ready` (ms).
const INIT_MS: u64 = 50;

#[derive(Default)]
struct Sock {
    ready: bool,
    /// Joined the chat when it had this many frames.
    since: Option<u64>,
}

pub struct MiptechModel {
    runner: Runner,
    chat: Option<String>,
    log: Vec<(u64, String, Value)>,
    socks: BTreeMap<u64, Sock>,
    users: HashMap<String, String>,
    history: Vec<(String, &'static str, String, Option<String>)>,
    flapping: bool,
}

impl MiptechModel {
    pub fn new(agent: Agent, step_ms: u64) -> MiptechModel {
        MiptechModel {
            runner: Runner::new(agent, step_ms),
            chat: None,
            log: Vec::new(),
            socks: BTreeMap::new(),
            users: HashMap::new(),
            history: Vec::new(),
            flapping: false,
        }
    }

    fn chat_id(&self) -> String {
        self.chat.clone().unwrap_or_else(|| "chat-0".into())
    }

    fn append(&mut self, cid: &str, kind: &str, data: Value, out: &mut Vec<Out>) {
        let seq = self.log.len() as u64 + 1;
        let mut f = frame(kind, data);
        f["event_id"] = json!(format!("{}:{seq}", self.chat_id()));
        for (&conn, s) in &self.socks {
            if s.since.is_some() {
                out.push(send(conn, &f, None));
            }
        }
        self.log.push((seq, cid.to_string(), f));
    }

    fn end_aborted(&mut self, out: &mut Vec<Out>) {
        let Some(turn) = self.runner.finish() else {
            return;
        };
        if turn.fired == 0 {
            self.runner.requeue(turn.cid, turn.user_id);
            return;
        }
        let chat = self.chat_id();
        if turn.tool_open {
            let tool = turn.reply.tool.as_ref().map(|t| t.0.clone());
            let data = json!({"chat_id":chat,"message_id":turn.user_id,"status":"processing","stage":"tool_result","tool":{"id":tool,"error":"aborted"}});
            self.append(&turn.cid, "processing", data, out);
        }
        let data = json!({"detail":"platform restarted","type":"processing_error","code":"AI_PROCESSING_FAILED","retryable":true,"message_id":turn.user_id,"chat_id":chat});
        self.append(&turn.cid, "error", data, out);
        out.push(Out::TurnDone {
            client_id: turn.cid,
            turn: Some(turn.user_id),
        });
    }

    fn chat_message(&mut self, conn: u64, msg: &Value, rng: &mut SimRng, out: &mut Vec<Out>) {
        if !self.socks.get(&conn).is_some_and(|s| s.ready) {
            let e = json!({"detail":"platform is initializing","type":"websocket_error","code":"PLATFORM_NOT_READY","retryable":true});
            out.push(send(conn, &frame("error", e), None));
            return;
        }
        let data = &msg["data"];
        let cid = msg["clientId"]
            .as_str()
            .or(data["client_id"].as_str())
            .unwrap_or("")
            .to_string();
        let content = data["message"].as_str().unwrap_or("").to_string();
        let since = self.log.len() as u64;
        let since = *self
            .socks
            .get_mut(&conn)
            .map(|s| s.since.get_or_insert(since))
            .unwrap_or(&mut 0);
        let new = !self.users.contains_key(&cid);
        if new {
            let (_, id) = self.runner.agent.id();
            self.users.insert(cid.clone(), id.clone());
            self.history
                .push((id.clone(), "user", content.clone(), None));
            self.runner.enqueue(cid.clone(), id);
        }
        out.push(Out::Received {
            client_id: cid.clone(),
            new,
        });
        let mid = self.users[&cid].clone();
        let ack = json!({"message_id":mid,"client_id":cid,"chat_id":self.chat_id(),"content":content,"duplicate":!new});
        out.push(send(
            conn,
            &frame("message_received", ack),
            Some(cid.clone()),
        ));
        if !new {
            for (seq, c, f) in &self.log {
                if *seq <= since && *c == cid {
                    out.push(send(conn, f, None));
                }
            }
        }
        self.runner.start(rng, out);
    }
}

fn frame(kind: &str, data: Value) -> Value {
    json!({"type":kind,"data":data,"timestamp":1_763_800_000_000u64,"eventTs":1_763_800_000_000u64})
}

fn send(conn: u64, f: &Value, acks: Option<String>) -> Out {
    Out::Frame {
        conn,
        text: f.to_string(),
        acks,
    }
}

fn respond(req: &Req, status: u16, body: Value) -> Vec<Out> {
    vec![Out::Respond {
        req: req.id,
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_string(),
        acks: None,
    }]
}

impl Model for MiptechModel {
    fn name(&self) -> &'static str {
        "miptech"
    }

    fn codec(&self) -> Box<dyn Dialect> {
        Box::new(Miptech::new("http://sim"))
    }

    fn request(&mut self, req: &Req, rng: &mut SimRng) -> Vec<Out> {
        let path = req.path().to_string();
        match (req.method, path.as_str()) {
            ("GET", "/healthz") => respond(req, 200, json!({"status":"healthy"})),
            ("POST", "/api/v1/chat") => {
                let (_, id) = self.runner.agent.id();
                let id = format!("chat-{id}");
                if self.chat.is_none() || rng.chance(0.0) {
                    self.chat = Some(id);
                }
                let chat = self.chat_id();
                respond(
                    req,
                    201,
                    json!({"id":chat,"chat_id":chat,"tenant_id":"demo-tenant","title":"sim","status":"active","created_at":"2026-01-01T00:00:00Z"}),
                )
            }
            // A history that is rate limited now and then: the cut reply must still arrive
            // (the client tries again on its next connection, after the hint).
            ("GET", p) if p.ends_with("/messages") && rng.chance(0.2) => vec![Out::Respond {
                req: req.id,
                status: 429,
                headers: vec![("retry-after".into(), "1".into())],
                body: json!({"detail":"rate limited","code":"RATE_LIMITED"}).to_string(),
                acks: None,
            }],
            ("GET", p) if p.ends_with("/messages") => {
                let messages: Vec<Value> = self
                    .history
                    .iter()
                    .map(|(id, role, content, reply_to)| json!({"id":id,"role":role,"content":content,"created_at":1_763_800_000_000u64,"reply_to":reply_to}))
                    .collect();
                respond(
                    req,
                    200,
                    json!({"chat_id":self.chat_id(),"messages":messages}),
                )
            }
            _ => respond(
                req,
                404,
                json!({"detail":"not found","type":"not_found","code":"NOT_FOUND","retryable":false}),
            ),
        }
    }

    fn open(&mut self, conn: u64, url: &str, _rng: &mut SimRng) -> Vec<Out> {
        let chat = query(url, "chat_id").filter(|c| !c.is_empty() && c != "null");
        let since = chat.as_ref().map(|_| self.log.len() as u64);
        self.socks.insert(
            conn,
            Sock {
                ready: false,
                since,
            },
        );
        let est = json!({"client_id":query(url, "client_id"),"tenant_id":"demo-tenant","chat_id":chat,"connection_id":format!("conn-{conn}")});
        vec![
            send(conn, &frame("connection_established", est), None),
            Out::Timer {
                delay: INIT_MS,
                token: conn * 2,
                background: false,
            },
        ]
    }

    fn closed(&mut self, conn: u64) {
        self.socks.remove(&conn);
    }

    fn frame(&mut self, conn: u64, text: &str, rng: &mut SimRng) -> Vec<Out> {
        let mut out = Vec::new();
        let Ok(msg) = serde_json::from_str::<Value>(text) else {
            let e = json!({"detail":"malformed JSON","type":"websocket_error","code":"INVALID_JSON","retryable":false});
            out.push(send(conn, &frame("error", e), None));
            return out;
        };
        match msg["type"].as_str().unwrap_or("") {
            "ping" => out.push(send(conn, &frame("pong", json!({"timestamp":0})), None)),
            "typing_start" | "typing_stop" => {}
            "join_chat" => {
                let since = self.log.len() as u64;
                if let Some(s) = self.socks.get_mut(&conn) {
                    s.since = Some(since);
                }
                let chat = msg["data"]["chat_id"].clone();
                out.push(send(
                    conn,
                    &frame("chat_joined", json!({"chat_id":chat})),
                    None,
                ));
            }
            "chat_message" => self.chat_message(conn, &msg, rng, &mut out),
            other => {
                let e = json!({"detail":format!("unknown message type {other:?}"),"type":"websocket_error","code":"UNKNOWN_MESSAGE_TYPE","retryable":false});
                out.push(send(conn, &frame("error", e), None));
            }
        }
        out
    }

    fn step(&mut self, token: u64, rng: &mut SimRng) -> Vec<Out> {
        let mut out = Vec::new();
        if !self.runner.is_beat(token) {
            let conn = token / 2;
            if token % 2 == 1 {
                if self.socks.contains_key(&conn) {
                    out.push(Out::Close(conn)); // flapping: fail once usable
                }
            } else if let Some(s) = self.socks.get_mut(&conn) {
                s.ready = true;
                let data = json!({"client_id":null,"chat_id":self.chat,"platform_status":"ready"});
                out.push(send(conn, &frame("connection_ready", data), None));
                if self.flapping {
                    out.push(Out::Timer {
                        delay: 100,
                        token: conn * 2 + 1,
                        background: false,
                    });
                }
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
        let chat = self.chat_id();
        let tool = turn.reply.tool.as_ref().map(|t| t.0.clone());
        let processing = |stage: &str, tool: Value| json!({"chat_id":chat,"message_id":uid,"status":"processing","stage":stage,"tool":tool});
        let (kind, data) = match &beat {
            Beat::Processing => (
                "processing",
                json!({"chat_id":chat,"message_id":uid,"status":"processing"}),
            ),
            Beat::ToolStart => (
                "processing",
                processing(
                    "tool_call",
                    json!({"id":tool,"name":"lookup","args":{"q":1}}),
                ),
            ),
            Beat::ToolProgress => (
                "processing",
                processing("tool_progress", json!({"id":tool,"message":"working"})),
            ),
            Beat::ToolEnd { ok: true } => (
                "processing",
                processing("tool_result", json!({"id":tool,"output":{"hits":1}})),
            ),
            Beat::ToolEnd { ok: false } => (
                "processing",
                processing("tool_result", json!({"id":tool,"error":"no results"})),
            ),
            Beat::Token { index, text } => {
                let offset = turn.streamed.chars().count() - text.chars().count();
                if *index == 0 {
                    let start = json!({"message_id":rid,"chat_id":chat,"reply_to":uid});
                    self.append(&cid, "response_start", start, &mut out);
                }
                (
                    "response_chunk",
                    json!({"message_id":rid,"chat_id":chat,"content":text,"chunk_index":index,"offset":offset}),
                )
            }
            Beat::Done => {
                let text = turn.streamed.clone();
                self.history
                    .push((rid.clone(), "assistant", text.clone(), Some(uid.clone())));
                (
                    "response_complete",
                    json!({"chat_id":chat,"reply_to":uid,"message":{"id":rid,"content":text,"role":"assistant","created_at":0,"llm_model":"sim","total_tokens":3,"response_time_ms":5}}),
                )
            }
            Beat::Fail => (
                "error",
                json!({"detail":"model error","type":"processing_error","code":"AI_PROCESSING_FAILED","retryable":true,"message_id":uid,"chat_id":chat}),
            ),
        };
        self.append(&cid, kind, data, &mut out);
        if beat.terminal() {
            self.runner.finish();
            out.push(Out::TurnDone {
                client_id: cid,
                turn: Some(uid),
            });
            self.runner.start(rng, &mut out);
        }
        out
    }

    fn restart(&mut self) -> Vec<Out> {
        let mut out = Vec::new();
        self.socks.clear(); // a dying process sends nothing
        self.end_aborted(&mut out);
        out
    }

    fn up(&mut self, rng: &mut SimRng) -> Vec<Out> {
        let mut out = Vec::new();
        self.runner.start(rng, &mut out);
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
        raw["event_id"].as_str().map(str::to_string)
    }
}

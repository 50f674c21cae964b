//! A simulated chat-interfaces backend, from `docs/backends/chat-interfaces-phase2-sse.md` and
//! the mock's module docs, under `/api/public/chat-interfaces/{slug}`: `POST sessions` ->
//! `{sessionToken}`; `POST messages {sessionToken, message, clientMessageId}` +
//! `Idempotency-Key` -> `{executionId}` (a re-send gets the same execution, stored once);
//! `GET stream?sessionToken` (SSE): `connected` whose `id` is where the stream starts (after
//! `Last-Event-ID`, else at the execution in progress, else now; past an evicted gap when the
//! session's bounded event log no longer has what the client asks for), then `token`,
//! `tool_call_*`, `message`, `execution:completed|failed`, each with `id` = the session's event
//! sequence, and a `: heartbeat` comment every 15 s; `GET sessions/{token}/messages` is the
//! history. A restart aborts the running execution with `execution:failed`.
//!
//! Every event's data also carries `sequence` (its id), which the checker reads from the
//! envelope's raw payload to assert that no event reaches the app twice.

use super::super::SimRng;
use super::super::agent::{Agent, Model, Out, Req};
use super::super::script::{Beat, Runner};
use chatwire::dialect::Dialect;
use chatwire::dialect::chat_interfaces::ChatInterfaces;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};

const ROOT: &str = "/api/public/chat-interfaces/demo";
const HEARTBEAT_MS: u64 = 15_000;
const TOKEN: &str = "sess-1";

pub struct ChatInterfacesModel {
    runner: Runner,
    session: bool,
    /// (seq, event, data); the oldest are evicted beyond `retention`.
    log: VecDeque<(u64, &'static str, Value)>,
    last_seq: u64,
    retention: usize,
    /// Open streams (request id).
    streams: BTreeMap<u64, ()>,
    /// Client id -> (execution id, server message id).
    executions: HashMap<String, String>,
    /// Where the running execution starts in the log.
    running_after: Option<u64>,
    history: Vec<(String, &'static str, String)>,
    flapping: bool,
}

impl ChatInterfacesModel {
    pub fn new(agent: Agent, step_ms: u64) -> ChatInterfacesModel {
        ChatInterfacesModel {
            runner: Runner::new(agent, step_ms),
            session: false,
            log: VecDeque::new(),
            last_seq: 0,
            retention: 1_000,
            streams: BTreeMap::new(),
            executions: HashMap::new(),
            running_after: None,
            history: Vec::new(),
            flapping: false,
        }
    }

    /// A session log that keeps only the last `n` events.
    pub fn with_retention(mut self, n: usize) -> Self {
        self.retention = n;
        self
    }

    fn append(&mut self, event: &'static str, mut data: Value, out: &mut Vec<Out>) {
        self.last_seq += 1;
        let seq = self.last_seq;
        data["sequence"] = json!(seq);
        for &req in self.streams.keys() {
            out.push(Out::Chunk {
                req,
                text: sse(seq, event, &data),
            });
        }
        self.log.push_back((seq, event, data));
        while self.log.len() > self.retention {
            self.log.pop_front();
        }
    }

    fn exec_of(cid: &str, execs: &HashMap<String, String>) -> String {
        execs.get(cid).cloned().unwrap_or_default()
    }

    fn start(&mut self, rng: &mut SimRng, out: &mut Vec<Out>) {
        if self.runner.start(rng, out).is_some() {
            self.running_after = Some(self.last_seq);
        }
    }

    fn end_turn(&mut self, event: &'static str, error: Option<&str>, out: &mut Vec<Out>) {
        let Some(turn) = self.runner.finish() else {
            return;
        };
        self.running_after = None;
        let exec = Self::exec_of(&turn.cid, &self.executions);
        if turn.tool_open {
            let tool = turn.reply.tool.as_ref().map(|t| t.0.clone());
            let d =
                json!({"toolCallId":tool,"toolName":"lookup","error":"aborted","executionId":exec});
            self.append("tool_call_failed", d, out);
        }
        let mut d = json!({"executionId":exec,"threadId":"thread-1","status":if error.is_some() {"failed"} else {"completed"}});
        if let Some(e) = error {
            d["error"] = json!(e);
        }
        self.append(event, d, out);
        out.push(Out::TurnDone {
            client_id: turn.cid,
            turn: Some(exec),
        });
    }

    fn stream(&mut self, req: &Req, _rng: &mut SimRng) -> Vec<Out> {
        let mut out = Vec::new();
        if !self.session || req.query("sessionToken").as_deref() != Some(TOKEN) {
            return error(req, 404, "Session not found", "SESSION_NOT_FOUND");
        }
        if !req.streaming {
            return error(
                req,
                400,
                "the stream must be read as a stream",
                "BAD_REQUEST",
            );
        }
        let asked = req
            .header("last-event-id")
            .and_then(|v| v.trim().parse::<u64>().ok());
        let mut cursor = asked
            .or(self.running_after)
            .unwrap_or(self.last_seq)
            .min(self.last_seq);
        let oldest = self.log.front().map_or(self.last_seq + 1, |(s, _, _)| *s);
        if cursor + 1 < oldest {
            cursor = oldest - 1; // evicted: start after the gap
        }
        out.push(Out::Respond {
            req: req.id,
            status: 200,
            headers: vec![("content-type".into(), "text/event-stream".into())],
            body: String::new(),
            acks: None,
        });
        let connected = json!({"sessionToken":TOKEN,"threadId":"thread-1","executionId":null});
        out.push(Out::Chunk {
            req: req.id,
            text: format!("id: {cursor}\nevent: connected\nretry: 3000\ndata: {connected}\n\n"),
        });
        for (seq, event, data) in &self.log {
            if *seq > cursor {
                out.push(Out::Chunk {
                    req: req.id,
                    text: sse(*seq, event, data),
                });
            }
        }
        self.streams.insert(req.id, ());
        out.push(Out::Timer {
            delay: if self.flapping { 100 } else { HEARTBEAT_MS },
            token: req.id * 2 + u64::from(self.flapping),
            background: !self.flapping,
        });
        out
    }

    fn message(&mut self, req: &Req, rng: &mut SimRng) -> Vec<Out> {
        let body = req.json();
        if !self.session || body["sessionToken"].as_str() != Some(TOKEN) {
            return error(req, 404, "Session not found", "SESSION_NOT_FOUND");
        }
        let cid = req
            .header("idempotency-key")
            .map(str::to_string)
            .or(body["clientMessageId"].as_str().map(str::to_string))
            .unwrap_or_default();
        let new = !self.executions.contains_key(&cid);
        let mut out = Vec::new();
        if new {
            let (n, id) = self.runner.agent.id();
            self.executions.insert(cid.clone(), format!("exec-{n}"));
            let text = body["message"].as_str().unwrap_or("").to_string();
            self.history.push((id.clone(), "user", text));
            self.runner.enqueue(cid.clone(), id);
        }
        out.push(Out::Received {
            client_id: cid.clone(),
            new,
        });
        let exec = Self::exec_of(&cid, &self.executions);
        let data = json!({"executionId":exec,"threadId":"thread-1","status":"running"});
        out.push(Out::Respond {
            req: req.id,
            status: 200,
            headers: json_headers(),
            body: json!({"success":true,"data":data,"executionId":exec,"threadId":"thread-1","status":"running"}).to_string(),
            acks: Some(cid),
        });
        self.start(rng, &mut out);
        out
    }
}

fn sse(seq: u64, event: &str, data: &Value) -> String {
    format!("id: {seq}\nevent: {event}\ndata: {data}\n\n")
}

fn json_headers() -> Vec<(String, String)> {
    vec![("content-type".into(), "application/json".into())]
}

fn error(req: &Req, status: u16, message: &str, code: &str) -> Vec<Out> {
    let body = json!({"success":false,"error":message,"code":code,"retryable":false});
    vec![Out::Respond {
        req: req.id,
        status,
        headers: json_headers(),
        body: body.to_string(),
        acks: None,
    }]
}

impl Model for ChatInterfacesModel {
    fn name(&self) -> &'static str {
        "chat-interfaces"
    }

    fn codec(&self) -> Box<dyn Dialect> {
        Box::new(ChatInterfaces::new("http://sim"))
    }

    fn request(&mut self, req: &Req, rng: &mut SimRng) -> Vec<Out> {
        let path = req.path().strip_prefix(ROOT).unwrap_or("").to_string();
        match (req.method, path.as_str()) {
            ("POST", "/sessions") => {
                let status = if self.session { 200 } else { 201 };
                self.session = true;
                let data = json!({"sessionToken":TOKEN,"sessionId":"s-1","slug":"demo","threadId":"thread-1","executionStatus":null});
                let mut body = data.clone();
                body["success"] = json!(true);
                body["data"] = data;
                vec![Out::Respond {
                    req: req.id,
                    status,
                    headers: json_headers(),
                    body: body.to_string(),
                    acks: None,
                }]
            }
            ("POST", "/messages") => self.message(req, rng),
            ("GET", "/stream") => self.stream(req, rng),
            ("GET", p) if p.starts_with("/sessions/") && p.ends_with("/messages") => {
                let messages: Vec<Value> = self
                    .history
                    .iter()
                    .map(|(id, role, content)| json!({"id":id,"role":role,"content":content,"timestamp":"2026-01-01T00:00:00Z","toolCalls":[]}))
                    .collect();
                let body = json!({"success":true,"data":{"messages":messages},"messages":messages});
                vec![Out::Respond {
                    req: req.id,
                    status: 200,
                    headers: json_headers(),
                    body: body.to_string(),
                    acks: None,
                }]
            }
            _ => error(req, 404, "Not found", "NOT_FOUND"),
        }
    }

    fn request_gone(&mut self, req: u64) {
        self.streams.remove(&req);
    }

    fn step(&mut self, token: u64, rng: &mut SimRng) -> Vec<Out> {
        let mut out = Vec::new();
        if !self.runner.is_beat(token) {
            let req = token / 2;
            if self.streams.contains_key(&req) {
                if token % 2 == 1 {
                    out.push(Out::Close(req)); // flapping: cut once usable
                } else {
                    out.push(Out::Chunk {
                        req,
                        text: ": heartbeat\n\n".into(),
                    });
                    out.push(Out::Timer {
                        delay: HEARTBEAT_MS,
                        token,
                        background: true,
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
        let exec = Self::exec_of(&turn.cid, &self.executions);
        let rid = turn.reply.id.clone();
        let tool = turn.reply.tool.as_ref().map(|t| t.0.clone());
        let text = turn.streamed.clone();
        match beat {
            Beat::Processing => {}
            Beat::ToolStart => {
                let d = json!({"toolCallId":tool,"toolName":"lookup","arguments":{"q":1},"executionId":exec});
                self.append("tool_call_started", d, &mut out);
            }
            Beat::ToolProgress => {}
            Beat::ToolEnd { ok: true } => {
                let d = json!({"toolCallId":tool,"toolName":"lookup","result":{"hits":1},"executionId":exec});
                self.append("tool_call_completed", d, &mut out);
            }
            Beat::ToolEnd { ok: false } => {
                let d = json!({"toolCallId":tool,"toolName":"lookup","error":"no results","executionId":exec});
                self.append("tool_call_failed", d, &mut out);
            }
            Beat::Token { text: w, .. } => {
                let d = json!({"token":w,"executionId":exec,"threadId":"thread-1","messageId":rid});
                self.append("token", d, &mut out);
            }
            Beat::Done => {
                self.history.push((rid.clone(), "assistant", text.clone()));
                let d = json!({"message":{"id":rid,"role":"assistant","content":text,"timestamp":"2026-01-01T00:00:00Z","toolCalls":[]},"executionId":exec,"threadId":"thread-1"});
                self.append("message", d, &mut out);
                self.end_turn("execution:completed", None, &mut out);
            }
            Beat::Fail => self.end_turn("execution:failed", Some("model error"), &mut out),
        }
        if beat.terminal() {
            self.start(rng, &mut out);
        }
        out
    }

    fn restart(&mut self) -> Vec<Out> {
        let mut out = Vec::new();
        self.streams.clear(); // a dying process sends nothing
        if self.runner.turn.as_ref().is_some_and(|t| t.fired == 0) {
            if let Some(t) = self.runner.finish() {
                self.running_after = None;
                self.runner.requeue(t.cid, t.user_id);
            }
        } else {
            self.end_turn("execution:failed", Some("server restarted"), &mut out);
        }
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
        raw["sequence"].as_u64().map(|s| format!("event {s}"))
    }
}

//! A simulated Parlant server, from `docs/backends/parlant-react-chat-architecture.md` and the
//! mock's module docs: `POST /sessions` -> the session; `POST /sessions/{id}/events` with a
//! customer `message` (+ `Idempotency-Key`: a re-send returns the stored event, `200`, no new
//! turn) or a `cancelled` status; `GET /sessions/{id}/events?min_offset&wait_for_data` answers
//! the events at offsets >= `min_offset` at once, or waits for one and answers `504` when none
//! comes. Offsets have no gaps and every event is kept. A turn is `status acknowledged
//! {acknowledged_offset}`, `processing`, a `tool` event, one agent `message` updated in place as
//! its `chunks` grow (ending with `null`), then `status ready` (or `error`, `cancelled`). A
//! restart aborts the running turn with `status error`.

use super::super::SimRng;
use super::super::agent::{Agent, Model, Out, Req};
use super::super::script::{Beat, Runner};
use chatwire::dialect::Dialect;
use chatwire::dialect::parlant::Parlant;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

const SESSION: &str = "sess-1";

pub struct ParlantModel {
    runner: Runner,
    session: bool,
    events: Vec<Value>,
    /// Waiting long-polls: request -> min_offset.
    polls: BTreeMap<u64, u64>,
    /// Client id -> offset of its customer message.
    customers: HashMap<String, u64>,
    /// Offset of the agent message being streamed.
    streaming: Option<usize>,
    flapping: bool,
}

impl ParlantModel {
    pub fn new(agent: Agent, step_ms: u64) -> ParlantModel {
        ParlantModel {
            runner: Runner::new(agent, step_ms),
            session: false,
            events: Vec::new(),
            polls: BTreeMap::new(),
            customers: HashMap::new(),
            streaming: None,
            flapping: false,
        }
    }

    fn push(&mut self, source: &str, kind: &str, corr: &str, data: Value, out: &mut Vec<Out>) {
        let offset = self.events.len();
        let ev = json!({"id":format!("{SESSION}-e{offset}"),"source":source,"kind":kind,"offset":offset,
            "creation_utc":"2026-01-01T00:00:00Z","modified_utc":"2026-01-01T00:00:00Z",
            "correlation_id":corr,"trace_id":corr,"data":data,"metadata":{},"deleted":false});
        self.events.push(ev);
        self.wake(offset as u64, out);
    }

    /// Answers every waiting poll that now has something at or after `offset`.
    fn wake(&mut self, offset: u64, out: &mut Vec<Out>) {
        let ready: Vec<(u64, u64)> = self
            .polls
            .iter()
            .filter(|(_, min)| **min <= offset)
            .map(|(r, m)| (*r, *m))
            .collect();
        for (req, min) in ready {
            self.polls.remove(&req);
            out.push(self.answer(req, min));
        }
    }

    fn answer(&self, req: u64, min: u64) -> Out {
        let list: Vec<&Value> = self.events.iter().skip(min as usize).collect();
        Out::Respond {
            req,
            status: 200,
            headers: json_headers(),
            body: json!(list).to_string(),
            acks: None,
        }
    }

    fn corr(&self) -> String {
        self.runner
            .turn
            .as_ref()
            .map(|t| format!("corr-{}", t.user_id))
            .unwrap_or_default()
    }

    fn status(&mut self, status: &str, data: Value, out: &mut Vec<Out>) {
        let Some(turn) = self.runner.turn.as_ref() else {
            return;
        };
        let acked = self.customers.get(&turn.cid).copied().unwrap_or(0);
        let corr = self.corr();
        let body = json!({"status":status,"acknowledged_offset":acked,"data":data});
        self.push("ai_agent", "status", &corr, body, out);
    }

    /// Ends the streamed message (`chunks` end with `null`).
    fn finish_message(&mut self, out: &mut Vec<Out>) {
        if let Some(i) = self.streaming.take() {
            if let Some(chunks) = self.events[i]["data"]["chunks"].as_array_mut() {
                chunks.push(Value::Null);
            }
            self.wake(i as u64, out);
        }
    }

    fn end_turn(&mut self, status: &str, data: Value, out: &mut Vec<Out>) {
        self.finish_message(out);
        self.status(status, data, out);
        if let Some(turn) = self.runner.finish() {
            let origin = self.customers.get(&turn.cid).copied().unwrap_or(0);
            out.push(Out::TurnDone {
                client_id: turn.cid,
                turn: Some(format!("turn@{origin}")),
            });
        }
    }

    fn post_event(&mut self, req: &Req, rng: &mut SimRng) -> Vec<Out> {
        let body = req.json();
        let mut out = Vec::new();
        if body["kind"] == "status" && body["status"] == "cancelled" {
            if self.runner.turn.is_none() {
                return respond(req, 409, json!({"detail":"nothing to cancel"}));
            }
            self.end_turn("cancelled", json!({}), &mut out);
            let ev = self.events.last().cloned().unwrap_or(Value::Null);
            out.extend(respond(req, 201, ev));
            self.runner.start(rng, &mut out);
            return out;
        }
        if body["kind"] != "message" || !body["message"].is_string() {
            return respond(req, 422, json!({"detail":"invalid event"}));
        }
        let cid = req
            .header("idempotency-key")
            .unwrap_or_default()
            .to_string();
        let new = !self.customers.contains_key(&cid);
        if new {
            let (_, id) = self.runner.agent.id();
            let corr = format!("corr-{id}");
            let data = json!({"message":body["message"],"participant":{"id":"guest","display_name":"Customer"}});
            self.customers.insert(cid.clone(), self.events.len() as u64);
            self.push("customer", "message", &corr, data, &mut out);
            self.runner.enqueue(cid.clone(), id);
        }
        out.push(Out::Received {
            client_id: cid.clone(),
            new,
        });
        let ev = self.events[self.customers[&cid] as usize].clone();
        out.push(Out::Respond {
            req: req.id,
            status: if new { 201 } else { 200 },
            headers: json_headers(),
            body: ev.to_string(),
            acks: Some(cid),
        });
        self.runner.start(rng, &mut out);
        out
    }

    fn poll(&mut self, req: &Req) -> Vec<Out> {
        if self.flapping {
            return respond(req, 500, json!({"detail":"Internal Server Error"}));
        }
        let min = req
            .query("min_offset")
            .and_then(|m| m.parse::<u64>().ok())
            .unwrap_or(0);
        let wait = req
            .query("wait_for_data")
            .and_then(|m| m.parse::<u64>().ok())
            .unwrap_or(60);
        if (min as usize) < self.events.len() || wait == 0 {
            return vec![self.answer(req.id, min)];
        }
        self.polls.insert(req.id, min);
        vec![Out::Timer {
            delay: wait * 1_000,
            token: req.id,
            background: true,
        }]
    }
}

fn json_headers() -> Vec<(String, String)> {
    vec![("content-type".into(), "application/json".into())]
}

fn respond(req: &Req, status: u16, body: Value) -> Vec<Out> {
    vec![Out::Respond {
        req: req.id,
        status,
        headers: json_headers(),
        body: body.to_string(),
        acks: None,
    }]
}

impl Model for ParlantModel {
    fn name(&self) -> &'static str {
        "parlant"
    }

    fn codec(&self) -> Box<dyn Dialect> {
        Box::new(Parlant::new("http://sim"))
    }

    fn request(&mut self, req: &Req, rng: &mut SimRng) -> Vec<Out> {
        let path = req.path().to_string();
        let events_path = format!("/sessions/{SESSION}/events");
        match (req.method, path.as_str()) {
            ("POST", "/sessions") => {
                self.session = true;
                respond(
                    req,
                    201,
                    json!({"id":SESSION,"agent_id":"demo-agent","customer_id":"guest","creation_utc":"2026-01-01T00:00:00Z",
                        "modified_utc":"2026-01-01T00:00:00Z","title":null,"mode":"auto","consumption_offsets":{"client":0},"metadata":{},"labels":[]}),
                )
            }
            (_, p) if p == events_path && !self.session => {
                respond(req, 404, json!({"detail":"Session not found"}))
            }
            ("POST", p) if p == events_path => self.post_event(req, rng),
            ("GET", p) if p == events_path => self.poll(req),
            _ => respond(req, 404, json!({"detail":"Not Found"})),
        }
    }

    fn request_gone(&mut self, req: u64) {
        self.polls.remove(&req);
    }

    fn step(&mut self, token: u64, rng: &mut SimRng) -> Vec<Out> {
        let mut out = Vec::new();
        if !self.runner.is_beat(token) {
            if self.polls.remove(&token).is_some() {
                out.push(Out::Respond {
                    req: token,
                    status: 504,
                    headers: json_headers(),
                    body: json!({"detail":"Request timed out"}).to_string(),
                    acks: None,
                });
            }
            return out;
        }
        let Some(beat) = self.runner.beat(token, rng, &mut out) else {
            return out;
        };
        let corr = self.corr();
        match beat {
            Beat::Processing => {
                self.status("acknowledged", json!({}), &mut out);
                self.status("processing", json!({"stage":"Interpreting"}), &mut out);
            }
            Beat::ToolStart => {}
            Beat::ToolProgress => {
                self.status(
                    "processing",
                    json!({"stage":"Calling tool lookup"}),
                    &mut out,
                );
            }
            Beat::ToolEnd { ok } => {
                let result = if ok {
                    json!({"data":{"hits":1},"metadata":{},"control":{}})
                } else {
                    json!({"data":null,"metadata":{"error":"no results"},"control":{}})
                };
                let call = json!({"tool_id":"mock:lookup","arguments":{"q":1},"result":result});
                self.push(
                    "system",
                    "tool",
                    &corr,
                    json!({"tool_calls":[call]}),
                    &mut out,
                );
            }
            Beat::Token { text, .. } => match self.streaming {
                None => {
                    let data = json!({"message":text,"participant":{"id":"demo-agent","display_name":"Demo Agent"},"chunks":[text]});
                    self.streaming = Some(self.events.len());
                    self.push("ai_agent", "message", &corr, data, &mut out);
                }
                Some(i) => {
                    let e = &mut self.events[i];
                    let so_far = format!("{}{text}", e["data"]["message"].as_str().unwrap_or(""));
                    e["data"]["message"] = json!(so_far);
                    if let Some(chunks) = e["data"]["chunks"].as_array_mut() {
                        chunks.push(json!(text));
                    }
                    self.wake(i as u64, &mut out);
                }
            },
            Beat::Done => self.end_turn("ready", json!({}), &mut out),
            Beat::Fail => self.end_turn("error", json!({"exception":"model error"}), &mut out),
        }
        if beat.terminal() {
            self.runner.start(rng, &mut out);
        }
        out
    }

    fn restart(&mut self) -> Vec<Out> {
        let mut out = Vec::new();
        self.polls.clear(); // a dying process answers nothing
        match self.runner.turn.as_ref() {
            Some(t) if t.fired == 0 => {
                if let Some(t) = self.runner.finish() {
                    self.runner.requeue(t.cid, t.user_id);
                }
            }
            Some(_) => self.end_turn("error", json!({"exception":"server restarted"}), &mut out),
            None => {}
        }
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
        let id = raw["id"].as_str()?;
        let chunks = raw["data"]["chunks"].as_array().map_or(0, Vec::len);
        Some(format!("{id}#{chunks}"))
    }
}

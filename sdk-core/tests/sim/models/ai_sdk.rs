//! A simulated AI SDK chat route, from the `ai` package (`ui-message-chunks.ts`,
//! `http-chat-transport.ts`, the resumable-stream example) and the mock's module docs:
//! `POST /api/chat` with `{id, messages, trigger, messageId}` answers `text/event-stream` UI
//! message chunks — `start`, `start-step`, for a tool `tool-input-start`, `tool-input-delta`s,
//! `tool-input-available`, `tool-output-available` (or `tool-output-error`), one `text-delta`
//! per word between `text-start` and `text-end`, `finish-step`, `finish`, `[DONE]`; a model
//! error is `error {errorText}` then `[DONE]`. One reply runs at a time. A re-send of a known
//! `messageId` is recorded once and replays the same reply (live if still generated); a reply
//! cut by a restart is generated again when its message comes back. The last posted reply is
//! the chat's active stream until it ends: `GET /api/chat/{id}/stream` replays it from its
//! first chunk and follows it, or answers 204 when it ended (or a restart lost it).

use super::super::SimRng;
use super::super::agent::{Agent, Model, Out, Req};
use super::super::script::{Beat, Runner};
use chatwire::dialect::Dialect;
use chatwire::dialect::ai_sdk::AiSdk;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};

const CHAT: &str = "sim";

#[derive(Default)]
struct Stream {
    /// SSE chunks so far (`data: ...\n\n`).
    chunks: Vec<String>,
    done: bool,
    /// Requests streaming it.
    listeners: Vec<u64>,
    /// `text-start` was sent.
    text_started: bool,
}

pub struct AiSdkModel {
    runner: Runner,
    streams: HashMap<String, Stream>,
    /// Every message id received.
    known: HashSet<String>,
    /// The chat's active stream (the last posted message whose reply has not ended).
    active: Option<String>,
    flapping: bool,
}

impl AiSdkModel {
    pub fn new(agent: Agent, step_ms: u64) -> AiSdkModel {
        AiSdkModel {
            runner: Runner::new(agent, step_ms),
            streams: HashMap::new(),
            known: HashSet::new(),
            active: None,
            flapping: false,
        }
    }

    fn emit(&mut self, cid: &str, chunk: Value, out: &mut Vec<Out>) {
        self.emit_raw(cid, chunk.to_string(), out);
    }

    fn emit_raw(&mut self, cid: &str, data: String, out: &mut Vec<Out>) {
        let Some(s) = self.streams.get_mut(cid) else {
            return;
        };
        let text = format!("data: {data}\n\n");
        for &req in &s.listeners {
            out.push(Out::Chunk {
                req,
                text: text.clone(),
            });
        }
        s.chunks.push(text);
    }

    fn close(&mut self, cid: &str, out: &mut Vec<Out>) {
        self.emit_raw(cid, "[DONE]".into(), out);
        if let Some(s) = self.streams.get_mut(cid) {
            s.done = true;
            for req in s.listeners.drain(..) {
                out.push(Out::End(req));
            }
        }
        if self.active.as_deref() == Some(cid) {
            self.active = None;
        }
    }

    fn error(req: u64, status: u16, message: &str) -> Out {
        Out::Respond {
            req,
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: json!({"error": message}).to_string(),
            acks: None,
        }
    }

    /// Replays stream `cid` on `req` and follows it.
    fn follow(&mut self, cid: &str, req: u64, out: &mut Vec<Out>) {
        out.push(Out::Respond {
            req,
            status: 200,
            headers: vec![
                ("content-type".into(), "text/event-stream".into()),
                ("x-vercel-ai-ui-message-stream".into(), "v1".into()),
            ],
            body: String::new(),
            acks: None,
        });
        let s = self.streams.entry(cid.to_string()).or_default();
        for text in &s.chunks {
            out.push(Out::Chunk {
                req,
                text: text.clone(),
            });
        }
        if s.done {
            out.push(Out::End(req));
        } else {
            s.listeners.push(req);
        }
    }

    fn chat(&mut self, req: &Req, rng: &mut SimRng) -> Vec<Out> {
        if self.flapping {
            return vec![Self::error(req.id, 500, "internal error")];
        }
        let body = req.json();
        let Some(cid) = body["messageId"].as_str().map(str::to_string) else {
            return vec![Self::error(req.id, 400, "messageId missing")];
        };
        if !req.streaming || body["id"] != CHAT || body["trigger"] != "submit-message" {
            return vec![Self::error(req.id, 400, "not the SDK's request")];
        }
        let mut out = Vec::new();
        let new = self.known.insert(cid.clone());
        out.push(Out::Received {
            client_id: cid.clone(),
            new,
        });
        let running = self.runner.turn.as_ref().is_some_and(|t| t.cid == cid);
        let s = self.streams.entry(cid.clone()).or_default();
        let cut = !running && !s.done && s.chunks.is_empty() && !self.runner.is_queued(&cid);
        if !s.done {
            self.active = Some(cid.clone());
        }
        self.follow(&cid, req.id, &mut out);
        if new || cut {
            let (_, id) = self.runner.agent.id();
            self.runner.enqueue(cid, id);
        }
        self.runner.start(rng, &mut out);
        out
    }

    fn resume(&mut self, req: &Req) -> Vec<Out> {
        let active = self
            .active
            .clone()
            .filter(|cid| self.streams.get(cid).is_some_and(|s| !s.done));
        match active {
            Some(cid) if !self.flapping => {
                let mut out = Vec::new();
                self.follow(&cid, req.id, &mut out);
                out
            }
            Some(_) => vec![Self::error(req.id, 500, "internal error")],
            None => vec![Out::Respond {
                req: req.id,
                status: 204,
                headers: Vec::new(),
                body: String::new(),
                acks: None,
            }],
        }
    }
}

impl Model for AiSdkModel {
    fn name(&self) -> &'static str {
        "ai-sdk"
    }

    fn codec(&self) -> Box<dyn Dialect> {
        Box::new(AiSdk::new("http://sim", CHAT))
    }

    fn resends_cut_turns(&self) -> bool {
        // a reply that ended (or was lost) while the client was away is asked for again
        true
    }

    fn request(&mut self, req: &Req, rng: &mut SimRng) -> Vec<Out> {
        match (req.method, req.path()) {
            ("POST", "/api/chat") => self.chat(req, rng),
            ("GET", p) if p == format!("/api/chat/{CHAT}/stream") => self.resume(req),
            _ => vec![Self::error(req.id, 404, "not found")],
        }
    }

    fn request_gone(&mut self, req: u64) {
        for s in self.streams.values_mut() {
            s.listeners.retain(|r| *r != req);
        }
    }

    fn step(&mut self, token: u64, rng: &mut SimRng) -> Vec<Out> {
        let mut out = Vec::new();
        let Some(beat) = self.runner.beat(token, rng, &mut out) else {
            return out;
        };
        let Some(turn) = self.runner.turn.as_ref() else {
            return out;
        };
        let (cid, rid) = (turn.cid.clone(), turn.reply.id.clone());
        let tool = turn.reply.tool.clone();
        match beat {
            Beat::Processing => {
                self.emit(&cid, json!({"type":"start","messageId":rid}), &mut out);
                self.emit(&cid, json!({"type":"start-step"}), &mut out);
            }
            Beat::ToolStart => {
                if let Some((call, _)) = &tool {
                    let c =
                        json!({"type":"tool-input-start","toolCallId":call,"toolName":"lookup"});
                    self.emit(&cid, c, &mut out);
                    let d = json!({"type":"tool-input-delta","toolCallId":call,"inputTextDelta":"{\"query\":"});
                    self.emit(&cid, d, &mut out);
                }
            }
            Beat::ToolProgress => {
                if let Some((call, _)) = &tool {
                    let d = json!({"type":"tool-input-delta","toolCallId":call,"inputTextDelta":"\"q\"}"});
                    self.emit(&cid, d, &mut out);
                    let a = json!({"type":"tool-input-available","toolCallId":call,"toolName":"lookup","input":{"query":"q"}});
                    self.emit(&cid, a, &mut out);
                    let p = json!({"type":"data-tool-progress","id":call,"data":{"message":"searching"}});
                    self.emit(&cid, p, &mut out);
                }
            }
            Beat::ToolEnd { ok } => {
                if let Some((call, _)) = &tool {
                    let c = if ok {
                        json!({"type":"tool-output-available","toolCallId":call,"output":{"results":1}})
                    } else {
                        json!({"type":"tool-output-error","toolCallId":call,"errorText":"lookup failed"})
                    };
                    self.emit(&cid, c, &mut out);
                }
            }
            Beat::Token { text, .. } => {
                let s = self.streams.entry(cid.clone()).or_default();
                if !std::mem::replace(&mut s.text_started, true) {
                    self.emit(&cid, json!({"type":"text-start","id":"txt-0"}), &mut out);
                }
                let d = json!({"type":"text-delta","id":"txt-0","delta":text});
                self.emit(&cid, d, &mut out);
            }
            Beat::Done => {
                self.emit(&cid, json!({"type":"text-end","id":"txt-0"}), &mut out);
                self.emit(&cid, json!({"type":"finish-step"}), &mut out);
                self.emit(
                    &cid,
                    json!({"type":"finish","finishReason":"stop"}),
                    &mut out,
                );
                self.close(&cid, &mut out);
            }
            Beat::Fail => {
                self.emit(
                    &cid,
                    json!({"type":"error","errorText":"model error"}),
                    &mut out,
                );
                self.close(&cid, &mut out);
            }
        }
        if beat.terminal() {
            self.runner.finish();
            out.push(Out::TurnDone {
                client_id: cid,
                turn: None,
            });
            self.runner.start(rng, &mut out);
        }
        out
    }

    fn restart(&mut self) -> Vec<Out> {
        // the cut reply is lost (its resume answers 204) and generated again when its message
        // comes back
        if let Some(turn) = self.runner.finish() {
            self.streams.insert(turn.cid, Stream::default());
        }
        self.active = None;
        for s in self.streams.values_mut() {
            s.listeners.clear();
        }
        Vec::new()
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

    fn event_key(&self, _raw: &Value) -> Option<String> {
        None // chunks carry no id of their own (a replay repeats the same chunks)
    }
}

//! A simulated OpenAI-compatible backend, from `docs/backends/nextchat-sillytavern-architecture.md`
//! (the OpenAI-style API) and the mock's module docs: `POST /v1/chat/completions` with
//! `stream: true` answers `text/event-stream` chunks — a role chunk, one `delta.content` per
//! word (or a `tool_calls` call with argument fragments and `finish_reason: "tool_calls"`), the
//! `finish_reason` chunk, a usage chunk, `[DONE]`; a model error is a streamed `{"error":..}`
//! without `[DONE]`. One completion runs at a time. `Idempotency-Key`: a re-send of a known key
//! is recorded once and replays the same completion (live if it is still being generated); a
//! completion cut by a restart is generated again for its key.

use super::super::SimRng;
use super::super::agent::{Agent, Model, Out, Req};
use super::super::script::{Beat, Runner};
use chatwire::dialect::Dialect;
use chatwire::dialect::openai::OpenAi;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};

#[derive(Default)]
struct Completion {
    /// SSE chunks so far (`data: ...\n\n`).
    chunks: Vec<String>,
    done: bool,
    /// Requests streaming it.
    listeners: Vec<u64>,
}

pub struct OpenAiModel {
    runner: Runner,
    completions: HashMap<String, Completion>,
    /// Every idempotency key received.
    known: HashSet<String>,
    flapping: bool,
}

impl OpenAiModel {
    pub fn new(agent: Agent, step_ms: u64) -> OpenAiModel {
        OpenAiModel {
            runner: Runner::new(agent, step_ms),
            completions: HashMap::new(),
            known: HashSet::new(),
            flapping: false,
        }
    }

    fn emit(&mut self, cid: &str, data: String, out: &mut Vec<Out>) {
        let Some(c) = self.completions.get_mut(cid) else {
            return;
        };
        let text = format!("data: {data}\n\n");
        for &req in &c.listeners {
            out.push(Out::Chunk {
                req,
                text: text.clone(),
            });
        }
        c.chunks.push(text);
    }

    fn close(&mut self, cid: &str, out: &mut Vec<Out>) {
        if let Some(c) = self.completions.get_mut(cid) {
            c.done = true;
            for req in c.listeners.drain(..) {
                out.push(Out::End(req));
            }
        }
    }

    fn chunk(id: &str, delta: Value, finish: Option<&str>) -> String {
        json!({"id":format!("chatcmpl-{id}"),"object":"chat.completion.chunk","created":1_763_800_000u64,"model":"mock-gpt",
            "system_fingerprint":"fp_sim","choices":[{"index":0,"delta":delta,"logprobs":null,"finish_reason":finish}]})
        .to_string()
    }

    fn completion(&mut self, req: &Req, rng: &mut SimRng) -> Vec<Out> {
        if self.flapping {
            let e = json!({"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}});
            return vec![Out::Respond {
                req: req.id,
                status: 500,
                headers: vec![("content-type".into(), "application/json".into())],
                body: e.to_string(),
                acks: None,
            }];
        }
        if !req.streaming {
            let e = json!({"error":{"message":"stream: true must be read as a stream","type":"invalid_request_error","param":null,"code":null}});
            return vec![Out::Respond {
                req: req.id,
                status: 400,
                headers: vec![("content-type".into(), "application/json".into())],
                body: e.to_string(),
                acks: None,
            }];
        }
        let cid = req
            .header("idempotency-key")
            .unwrap_or_default()
            .to_string();
        let mut out = Vec::new();
        let new = self.known.insert(cid.clone());
        out.push(Out::Received {
            client_id: cid.clone(),
            new,
        });
        out.push(Out::Respond {
            req: req.id,
            status: 200,
            headers: vec![("content-type".into(), "text/event-stream".into())],
            body: String::new(),
            acks: Some(cid.clone()),
        });
        let running = self.runner.turn.as_ref().is_some_and(|t| t.cid == cid);
        let c = self.completions.entry(cid.clone()).or_default();
        for text in &c.chunks {
            out.push(Out::Chunk {
                req: req.id,
                text: text.clone(),
            });
        }
        if c.done {
            out.push(Out::End(req.id));
            return out;
        }
        c.listeners.push(req.id);
        let cut = !running && c.chunks.is_empty() && !self.runner.is_queued(&cid);
        if new || cut {
            let (_, id) = self.runner.agent.id();
            self.runner.enqueue(cid, id);
        }
        self.runner.start(rng, &mut out);
        out
    }
}

impl Model for OpenAiModel {
    fn name(&self) -> &'static str {
        "openai"
    }

    fn codec(&self) -> Box<dyn Dialect> {
        Box::new(OpenAi::new("http://sim"))
    }

    fn resends_cut_turns(&self) -> bool {
        true
    }

    fn request(&mut self, req: &Req, rng: &mut SimRng) -> Vec<Out> {
        if req.method == "POST" && req.path() == "/v1/chat/completions" {
            return self.completion(req, rng);
        }
        let e = json!({"error":{"message":"not found","type":"invalid_request_error","param":null,"code":null}});
        vec![Out::Respond {
            req: req.id,
            status: 404,
            headers: vec![("content-type".into(), "application/json".into())],
            body: e.to_string(),
            acks: None,
        }]
    }

    fn request_gone(&mut self, req: u64) {
        for c in self.completions.values_mut() {
            c.listeners.retain(|r| *r != req);
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
                let c = Self::chunk(&rid, json!({"role":"assistant","content":""}), None);
                self.emit(&cid, c, &mut out);
                if let Some((call, _)) = &tool {
                    let first = json!({"tool_calls":[{"index":0,"id":call,"type":"function","function":{"name":"lookup","arguments":""}}]});
                    self.emit(&cid, Self::chunk(&rid, first, None), &mut out);
                }
            }
            Beat::ToolStart | Beat::ToolProgress | Beat::ToolEnd { .. } => {
                let frag = match beat {
                    Beat::ToolStart => "{\"query\":",
                    Beat::ToolProgress => "\"q\"",
                    _ => "}",
                };
                let d = json!({"tool_calls":[{"index":0,"function":{"arguments":frag}}]});
                self.emit(&cid, Self::chunk(&rid, d, None), &mut out);
            }
            Beat::Token { text, .. } => {
                if tool.is_none() {
                    let c = Self::chunk(&rid, json!({"content":text}), None);
                    self.emit(&cid, c, &mut out);
                }
            }
            Beat::Done => {
                let finish = if tool.is_some() { "tool_calls" } else { "stop" };
                let c = Self::chunk(&rid, json!({}), Some(finish));
                self.emit(&cid, c, &mut out);
                let usage = json!({"id":format!("chatcmpl-{rid}"),"object":"chat.completion.chunk","created":1_763_800_000u64,"model":"mock-gpt",
                    "choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}});
                self.emit(&cid, usage.to_string(), &mut out);
                self.emit(&cid, "[DONE]".into(), &mut out);
                self.close(&cid, &mut out);
            }
            Beat::Fail => {
                let e = json!({"error":{"message":"model error","type":"server_error","param":null,"code":"model_error"}});
                self.emit(&cid, e.to_string(), &mut out);
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
        // the cut completion is generated again when its key comes back
        if let Some(turn) = self.runner.finish() {
            self.completions.insert(turn.cid, Completion::default());
        }
        for c in self.completions.values_mut() {
            c.listeners.clear();
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
        None // chunks carry no id of their own (a re-sent turn replays the same chunks)
    }
}

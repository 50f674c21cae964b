//! The `openai` dialect: OpenAI-compatible chat completions.
//!
//! Routes:
//! - `POST /v1/chat/completions` with `{"model":"mock-gpt","messages":[{"role":"user","content":
//!   "hi"}],"stream":true,"stream_options":{"include_usage":true},"user":"..."}`. Any model works.
//!   `Authorization: Bearer <token>` is checked only when a bearer token is configured.
//!   The reply answers the last `user` message (`content` as a string or text parts).
//!   - `stream: true`: `text/event-stream` of `data: {chunk}` lines, each a
//!     `chat.completion.chunk` `{id, object, created, model, system_fingerprint, choices:[{index:0,
//!     delta, logprobs:null, finish_reason}]}`: first `delta {role:"assistant",content:""}`, then
//!     one `delta {content}` per word, then `delta {}` with `finish_reason`; with
//!     `include_usage`, a last chunk with `choices: []` and `usage {prompt_tokens,
//!     completion_tokens, total_tokens}`; then `data: [DONE]`.
//!   - `stream: false`: one `chat.completion` object `{id, object, created, model, choices:
//!     [{index, message:{role, content, tool_calls?}, logprobs, finish_reason}], usage}`.
//!   - `/tool q` (when the last message is not a `tool` result): the model calls tool `lookup`:
//!     `delta {tool_calls:[{index:0,id:"call_N",type:"function",function:{name:"lookup",
//!     arguments:""}}]}`, then argument fragments `delta {tool_calls:[{index:0,function:
//!     {arguments:"..."}}]}` that concatenate to `{"query":"q"}`, and `finish_reason:
//!     "tool_calls"`. Tool progress and results do not exist in this protocol: the client runs
//!     the tool and sends a `role: "tool"` message, answered with `You said: <last user text>`.
//!   - `/error`: streaming sends the role chunk, then `data: {"error":{message,type,param,code}}`
//!     and ends without `[DONE]`; non-streaming answers `500 {"error":{...}}`.
//!   - `Idempotency-Key` header: a re-send with the same key is recorded once and replays the
//!     same completion (same id, same chunks), live if it is still being generated.
//! - `GET /v1/models` -> `{"object":"list","data":[{"id":"mock-gpt","object":"model",...}]}`.
//!
//! Errors use `{"error":{"message","type","param","code"}}`: 400 malformed JSON or missing
//! `messages`, 401 `invalid_api_key`.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::agent::{self, AgentEvent, Script, TurnIds};
use crate::conn::ConnHandle;
use crate::dialect::{ApiError, Dialect};
use crate::hub::{Conv, TurnRec};
use crate::outlet::{self, Step};
use crate::server::{AppState, Shared};
use crate::util::{now_ms, parse_object};

const D: Option<Dialect> = Some(Dialect::OpenAi);

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v1/chat/completions", post(completions))
        .route("/v1/models", get(models))
}

async fn models() -> Response {
    Json(json!({ "object": "list", "data": [
        { "id": "mock-gpt", "object": "model", "created": 0, "owned_by": "chatwire-mock" }
    ]}))
    .into_response()
}

/// What one completion request asked for.
struct Ask {
    model: String,
    stream: bool,
    include_usage: bool,
    text: String,
    tool_result: bool,
    prompt_tokens: usize,
    conversation: String,
}

fn parse_ask(body: &[u8]) -> Result<Ask, ApiError> {
    let body = parse_object(body).map_err(ApiError::bad_request)?;
    let messages = body["messages"]
        .as_array()
        .filter(|m| !m.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                400,
                "invalid_request_error",
                "'messages' is a required property and must be a non-empty array",
            )
        })?;
    let content = |m: &Value| match &m["content"] {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    };
    let text = messages
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .map(content)
        .unwrap_or_default();
    let tool_result = messages.last().is_some_and(|m| m["role"] == "tool");
    let prompt_tokens = messages
        .iter()
        .map(|m| content(m).split_whitespace().count())
        .sum();
    Ok(Ask {
        model: body["model"].as_str().unwrap_or("mock-gpt").to_owned(),
        stream: body["stream"].as_bool().unwrap_or(false),
        include_usage: body["stream_options"]["include_usage"]
            .as_bool()
            .unwrap_or(false),
        text,
        tool_result,
        prompt_tokens,
        conversation: body["user"].as_str().unwrap_or("default").to_owned(),
    })
}

async fn completions(
    State(shared): AppState,
    ConnectInfo(ConnHandle(ctl)): ConnectInfo<ConnHandle>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(expected) = &shared.config.bearer_token
        && crate::native::bearer(&headers).as_deref() != Some(expected.as_str())
    {
        return ApiError::new(401, "invalid_api_key", "Incorrect API key provided")
            .into_response_for(D);
    }
    let ask = match parse_ask(&body) {
        Ok(a) => a,
        Err(e) => return e.into_response_for(D),
    };
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let hub = &shared.hub;
    hub.record(
        Dialect::OpenAi,
        &ask.conversation,
        key.as_deref(),
        &ask.text,
    );
    let index = hub.conv(Dialect::OpenAi, &format!("user:{}", ask.conversation));
    let meta_key = key.as_ref().map(|k| format!("idem:{k}"));
    let (conv, fresh) = hub.conv_for_key(Dialect::OpenAi, &index, meta_key.as_deref(), "chatcmpl");
    if fresh {
        start(&shared, &conv, &ask, key);
    }
    if ask.stream {
        let plan = shared.faults.conn_plan(Dialect::OpenAi);
        let (wire, stream) = outlet::sse_channel();
        let out = outlet::start(wire, plan, ctl);
        tokio::spawn(outlet::follow(conv, out, 0, |f| match f.event.as_deref() {
            Some("done") => Step::SendEnd(Event::default().data("[DONE]")),
            Some("abort") => Step::End,
            _ => Step::Send(Event::default().data(f.data.to_string())),
        }));
        return Sse::new(stream).into_response();
    }
    let mut changes = conv.watch();
    let finished = tokio::time::timeout(Duration::from_secs(300), async {
        loop {
            if conv.turns().iter().all(|t| t.done) {
                return;
            }
            if changes.changed().await.is_err() {
                return;
            }
        }
    })
    .await;
    match (finished, conv.meta("completion"), conv.meta("error")) {
        (Ok(()), Some(done), _) => Json(done).into_response(),
        (Ok(()), None, Some(err)) => {
            ApiError::new(500, "scripted_error", err.as_str().unwrap_or("error"))
                .into_response_for(D)
        }
        _ => ApiError::new(504, "timeout", "completion did not finish").into_response_for(D),
    }
}

/// Shared shape of every chunk of one completion.
#[derive(Clone)]
struct Chunker {
    id: String,
    model: String,
    created: u64,
}

impl Chunker {
    fn chunk(&self, delta: Value, finish: Option<&str>) -> Value {
        json!({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created,
            "model": self.model, "system_fingerprint": "fp_mock",
            "choices": [{ "index": 0, "delta": delta, "logprobs": null, "finish_reason": finish }],
        })
    }

    fn usage(prompt: usize, completion: usize) -> Value {
        json!({ "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion })
    }

    fn completion(&self, message: Value, finish: &str, usage: Value) -> Value {
        json!({
            "id": self.id, "object": "chat.completion", "created": self.created, "model": self.model,
            "system_fingerprint": "fp_mock",
            "choices": [{ "index": 0, "message": message, "logprobs": null, "finish_reason": finish }],
            "usage": usage,
        })
    }
}

fn start(shared: &Arc<Shared>, conv: &Arc<Conv>, ask: &Ask, key: Option<String>) {
    let hub = &shared.hub;
    let (turn, _) = conv.accept(key.as_deref(), |after| TurnRec {
        turn_id: hub.next_id("t"),
        message_id: hub.next_id("m"),
        client_id: key.clone(),
        after_seq: after,
        done: false,
        extra: Value::Null,
    });
    let chunker = Chunker {
        id: conv.id.clone(),
        model: ask.model.clone(),
        created: now_ms() / 1000,
    };
    let script = if ask.tool_result {
        Script::Echo
    } else {
        Script::parse(&ask.text)
    };
    if let Script::Tool { query } = &script {
        let (conv, query) = (conv.clone(), query.clone());
        let call_id = hub.next_id("call");
        let (delay, usage, prompt) = (
            shared.timing().token_delay,
            ask.include_usage,
            ask.prompt_tokens,
        );
        tokio::spawn(async move {
            let _guard = conv.turn_lock.lock().await;
            tool_call(
                &conv, &turn, &chunker, &call_id, &query, delay, usage, prompt,
            )
            .await;
            conv.mark_done(&turn.turn_id);
        });
        return;
    }
    let (include_usage, prompt) = (ask.include_usage, ask.prompt_tokens);
    let mut completion_tokens = 0usize;
    let render = move |ev: &AgentEvent, conv: &Conv, turn: &TurnRec| {
        let t = Some(turn.turn_id.as_str());
        match ev {
            AgentEvent::TurnStarted => {
                conv.push(
                    t,
                    None,
                    chunker.chunk(json!({ "role": "assistant", "content": "" }), None),
                );
            }
            AgentEvent::Token { text, .. } => {
                completion_tokens += 1;
                conv.push(t, None, chunker.chunk(json!({ "content": text }), None));
            }
            AgentEvent::MessageCompleted { text, .. } => {
                let message = json!({ "role": "assistant", "content": text });
                let usage = Chunker::usage(prompt, completion_tokens);
                conv.set_meta("completion", chunker.completion(message, "stop", usage));
            }
            AgentEvent::TurnCompleted { finish_reason } => {
                conv.push(t, None, chunker.chunk(json!({}), Some(finish_reason)));
                finish(conv, t, &chunker, include_usage, prompt, completion_tokens);
            }
            AgentEvent::TurnFailed { error } => {
                conv.set_meta("error", json!(error));
                let err = json!({ "error": { "message": error, "type": "server_error", "param": null, "code": "scripted_error" } });
                conv.push(t, None, err);
                conv.push(t, Some("abort"), Value::Null);
            }
            AgentEvent::TurnCancelled => {
                conv.push(t, None, chunker.chunk(json!({}), Some("stop")));
                finish(conv, t, &chunker, include_usage, prompt, completion_tokens);
            }
            _ => {}
        }
    };
    let ids = TurnIds {
        reply_message_id: hub.next_id("m"),
        tool_id: hub.next_id("tool"),
    };
    agent::spawn_turn(
        conv.clone(),
        turn,
        script,
        ask.text.clone(),
        ids,
        shared.timing(),
        Box::new(render),
    );
}

fn finish(
    conv: &Conv,
    t: Option<&str>,
    chunker: &Chunker,
    include_usage: bool,
    prompt: usize,
    completion: usize,
) {
    if include_usage {
        let mut last = chunker.chunk(json!({}), None);
        last["choices"] = json!([]);
        last["usage"] = Chunker::usage(prompt, completion);
        conv.push(t, None, last);
    }
    conv.push(t, Some("done"), Value::Null);
}

#[allow(clippy::too_many_arguments)]
async fn tool_call(
    conv: &Conv,
    turn: &TurnRec,
    chunker: &Chunker,
    call_id: &str,
    query: &str,
    delay: Duration,
    include_usage: bool,
    prompt: usize,
) {
    let t = Some(turn.turn_id.as_str());
    let args = json!({ "query": query }).to_string();
    let (a, b) = args.split_at(args.len() / 2);
    conv.push(
        t,
        None,
        chunker.chunk(json!({ "role": "assistant", "content": null }), None),
    );
    let head = json!({ "tool_calls": [{ "index": 0, "id": call_id, "type": "function",
        "function": { "name": "lookup", "arguments": "" } }] });
    conv.push(t, None, chunker.chunk(head, None));
    for part in [a, b] {
        tokio::time::sleep(delay).await;
        let delta = json!({ "tool_calls": [{ "index": 0, "function": { "arguments": part } }] });
        conv.push(t, None, chunker.chunk(delta, None));
    }
    let message = json!({ "role": "assistant", "content": null, "tool_calls": [{ "id": call_id, "type": "function",
        "function": { "name": "lookup", "arguments": args } }] });
    conv.set_meta(
        "completion",
        chunker.completion(message, "tool_calls", Chunker::usage(prompt, 3)),
    );
    conv.push(t, None, chunker.chunk(json!({}), Some("tool_calls")));
    finish(conv, t, chunker, include_usage, prompt, 3);
}

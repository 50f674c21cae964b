//! The `ai-sdk` dialect: a chat route as `streamText(...).toUIMessageStreamResponse()` serves it
//! to `useChat`'s `DefaultChatTransport`, with the SDK's resumable-stream route.
//!
//! Routes:
//! - `POST /api/chat` with `{"id":"<chat id>","messages":[{"id","role":"user","parts":[{"type":
//!   "text","text":"hi"}]}],"trigger":"submit-message","messageId":"<user message id>"}`
//!   (a `content` string instead of `parts` works too). `Authorization: Bearer <token>` is
//!   checked only when a bearer token is configured. The reply answers the last `user` message.
//!   The answer is `text/event-stream` with `x-vercel-ai-ui-message-stream: v1`, one chunk per
//!   `data:` line: `start {messageId}`, `start-step`, `text-start {id}`, one `text-delta {id,
//!   delta}` per word, `text-end`, `finish-step`, `finish {finishReason: "stop"}`, then
//!   `data: [DONE]`.
//!   - `/tool q`: before the text, the server runs tool `lookup`: `tool-input-start {toolCallId,
//!     toolName}`, two `tool-input-delta {inputTextDelta}` that concatenate to `{"query":"q"}`,
//!     `tool-input-available {input}`, its progress as a `data-tool-progress {id: <call id>,
//!     data: {message}}` part, `tool-output-available {output}`.
//!   - `/error`: `start`, `start-step`, then `error {errorText}` and `[DONE]`.
//!   - `messageId` (or the last user message's `id`): a re-send of a message id is recorded once
//!     more and answered with the same reply (same chunks), live if it is still being generated.
//! - `GET /api/chat/{chat id}/stream`: the reply still being generated for that chat, replayed
//!   from its first chunk and followed live (the `resumable-stream` package's behaviour); `204`
//!   when no reply is being generated (the SDK's "no active stream found").
//!
//! Errors are `{"error":"<message>","code":"<code>"}` with the HTTP status (400 malformed JSON or
//! missing `messages`, 401 bad token).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
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
use crate::util::parse_object;

const D: Option<Dialect> = Some(Dialect::AiSdk);

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/chat", post(chat))
        .route("/api/chat/{chat_id}/stream", get(resume))
}

/// What one chat request asked for.
struct Ask {
    chat_id: String,
    message_id: Option<String>,
    text: String,
}

fn parse_ask(body: &[u8]) -> Result<Ask, ApiError> {
    let body = parse_object(body).map_err(ApiError::bad_request)?;
    let messages = body["messages"]
        .as_array()
        .filter(|m| !m.is_empty())
        .ok_or_else(|| ApiError::bad_request("`messages` must be a non-empty array"))?;
    let text_of = |m: &Value| match (&m["parts"], &m["content"]) {
        (Value::Array(parts), _) => parts
            .iter()
            .filter(|p| p["type"] == "text")
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(""),
        (_, Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    let last_user = messages.iter().rev().find(|m| m["role"] == "user");
    let message_id = body["messageId"]
        .as_str()
        .or_else(|| last_user.and_then(|m| m["id"].as_str()))
        .map(str::to_owned);
    Ok(Ask {
        chat_id: body["id"].as_str().unwrap_or("default").to_owned(),
        message_id,
        text: last_user.map(text_of).unwrap_or_default(),
    })
}

async fn chat(
    State(shared): AppState,
    ConnectInfo(ConnHandle(ctl)): ConnectInfo<ConnHandle>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(expected) = &shared.config.bearer_token
        && crate::native::bearer(&headers).as_deref() != Some(expected.as_str())
    {
        return ApiError::new(401, "unauthorized", "invalid bearer token").into_response_for(D);
    }
    let ask = match parse_ask(&body) {
        Ok(a) => a,
        Err(e) => return e.into_response_for(D),
    };
    let hub = &shared.hub;
    hub.record(
        Dialect::AiSdk,
        &ask.chat_id,
        ask.message_id.as_deref(),
        &ask.text,
    );
    let index = hub.conv(Dialect::AiSdk, &format!("chat:{}", ask.chat_id));
    let meta_key = ask.message_id.as_ref().map(|k| format!("msg:{k}"));
    let (conv, fresh) = hub.conv_for_key(Dialect::AiSdk, &index, meta_key.as_deref(), "aisdk");
    if fresh {
        start(&shared, &conv, &index, &ask);
    }
    stream(&shared, conv, ctl)
}

/// `GET /api/chat/{chat id}/stream`: the active reply from its first chunk, or 204.
async fn resume(
    State(shared): AppState,
    ConnectInfo(ConnHandle(ctl)): ConnectInfo<ConnHandle>,
    Path(chat_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(expected) = &shared.config.bearer_token
        && crate::native::bearer(&headers).as_deref() != Some(expected.as_str())
    {
        return ApiError::new(401, "unauthorized", "invalid bearer token").into_response_for(D);
    }
    let hub = &shared.hub;
    let active = hub
        .get(Dialect::AiSdk, &format!("chat:{chat_id}"))
        .and_then(|index| index.meta("active"))
        .and_then(|v| v.as_str().map(str::to_owned))
        .and_then(|id| hub.get(Dialect::AiSdk, &id))
        .filter(|conv| conv.turns().iter().any(|t| !t.done));
    match active {
        Some(conv) => stream(&shared, conv, ctl),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

/// The reply's chunks from the first one, live, as the SDK's SSE.
fn stream(shared: &Arc<Shared>, conv: Arc<Conv>, ctl: Arc<crate::conn::ConnCtl>) -> Response {
    let plan = shared.faults.conn_plan(Dialect::AiSdk);
    let (wire, stream) = outlet::sse_channel();
    let out = outlet::start(wire, plan, ctl);
    tokio::spawn(outlet::follow(conv, out, 0, |f| match f.event.as_deref() {
        Some("done") => Step::SendEnd(Event::default().data("[DONE]")),
        _ => Step::Send(Event::default().data(f.data.to_string())),
    }));
    let mut response = Sse::new(stream).into_response();
    response.headers_mut().insert(
        "x-vercel-ai-ui-message-stream",
        HeaderValue::from_static("v1"),
    );
    response
}

/// Starts the agent on `conv` and marks it the chat's active stream until it ends.
fn start(shared: &Arc<Shared>, conv: &Arc<Conv>, index: &Arc<Conv>, ask: &Ask) {
    let hub = &shared.hub;
    let (turn, _) = conv.accept(ask.message_id.as_deref(), |after| TurnRec {
        turn_id: hub.next_id("t"),
        message_id: hub.next_id("m"),
        client_id: ask.message_id.clone(),
        after_seq: after,
        done: false,
        extra: Value::Null,
    });
    index.set_meta("active", json!(conv.id));
    let index = index.clone();
    let reply_id = turn.message_id.clone();
    let conv_id = conv.id.clone();
    let render = move |ev: &AgentEvent, conv: &Conv, turn: &TurnRec| {
        let t = Some(turn.turn_id.as_str());
        let push = |chunk: Value| {
            conv.push(t, None, chunk);
        };
        match ev {
            AgentEvent::TurnStarted => {
                push(json!({ "type": "start", "messageId": reply_id }));
                push(json!({ "type": "start-step" }));
            }
            AgentEvent::ToolStarted {
                tool_id,
                name,
                args,
            } => {
                push(
                    json!({ "type": "tool-input-start", "toolCallId": tool_id, "toolName": name }),
                );
                let text = args.to_string();
                let (a, b) = text.split_at(text.len() / 2);
                for part in [a, b] {
                    push(
                        json!({ "type": "tool-input-delta", "toolCallId": tool_id, "inputTextDelta": part }),
                    );
                }
                push(
                    json!({ "type": "tool-input-available", "toolCallId": tool_id, "toolName": name, "input": args }),
                );
            }
            AgentEvent::ToolProgress { tool_id, message } => {
                push(
                    json!({ "type": "data-tool-progress", "id": tool_id, "data": { "message": message } }),
                );
            }
            AgentEvent::ToolCompleted { tool_id, output } => {
                push(
                    json!({ "type": "tool-output-available", "toolCallId": tool_id, "output": output }),
                );
            }
            AgentEvent::ToolFailed { tool_id, error } => {
                push(
                    json!({ "type": "tool-output-error", "toolCallId": tool_id, "errorText": error }),
                );
            }
            AgentEvent::MessageStarted { message_id } => {
                push(json!({ "type": "text-start", "id": message_id }));
            }
            AgentEvent::Token {
                message_id, text, ..
            } => {
                push(json!({ "type": "text-delta", "id": message_id, "delta": text }));
            }
            AgentEvent::MessageCompleted { message_id, .. } => {
                push(json!({ "type": "text-end", "id": message_id }));
            }
            AgentEvent::TurnCompleted { finish_reason } => {
                push(json!({ "type": "finish-step" }));
                push(json!({ "type": "finish", "finishReason": finish_reason }));
                end(conv, t, &index, &conv_id);
            }
            AgentEvent::TurnFailed { error } => {
                push(json!({ "type": "error", "errorText": error }));
                end(conv, t, &index, &conv_id);
            }
            AgentEvent::TurnCancelled => {
                push(json!({ "type": "abort" }));
                end(conv, t, &index, &conv_id);
            }
            AgentEvent::Status(_) => {}
        }
    };
    let ids = TurnIds {
        reply_message_id: hub.next_id("txt"),
        tool_id: hub.next_id("call"),
    };
    agent::spawn_turn(
        conv.clone(),
        turn,
        Script::parse(&ask.text),
        ask.text.clone(),
        ids,
        shared.timing(),
        Box::new(render),
    );
}

/// The reply is complete: `[DONE]`, and the chat has no active stream any more (what the SDK's
/// resumable-stream example does in `onFinish`).
fn end(conv: &Conv, t: Option<&str>, index: &Conv, conv_id: &str) {
    conv.push(t, Some("done"), Value::Null);
    if index.meta("active").as_ref().and_then(Value::as_str) == Some(conv_id) {
        index.set_meta("active", Value::Null);
    }
}

//! The `miptech` dialect: MIPTech REST + WebSocket.
//!
//! Auth: a tenant comes from `X-Tenant-ID`, `X-Tenant` or `Tenant-ID` (REST) or the `tenant_id`
//! query (WebSocket); any tenant is accepted (default `demo-tenant`) unless the server is
//! configured with a tenant list (`403 TENANT_NOT_ALLOWED`). `X-API-Key` (or `api_key` query on
//! the WebSocket) is checked only when configured (`401 INVALID_API_KEY`). A chat created by one
//! tenant is `404 CHAT_NOT_FOUND` for another. Errors: `{detail, type, code, retryable}`.
//!
//! REST:
//! - `GET /healthz` -> `200 {"status":"healthy"}`.
//! - `POST /api/v1/chat` (optional body `{title, tenant_id}`) -> `201 {id, chat_id, tenant_id,
//!   title, status:"active", created_at}`.
//! - `POST /api/v1/chat/{id}/messages` with `{content | message, client_id | clientId}` (or an
//!   `Idempotency-Key` header) -> `201 {id, message_id, chat_id, role:"user", content,
//!   client_id, status:"received", duplicate, created_at}`; the reply streams to the chat's
//!   WebSocket subscribers. Unknown chat: `404 CHAT_NOT_FOUND`; no text: `422 VALIDATION_ERROR`.
//! - `GET /api/v1/chat/{id}/messages` -> `{chat_id, messages:[{id, role, content, created_at,
//!   reply_to}]}`, oldest first; a reply is listed once complete, with `reply_to` the id of the
//!   user message it answers (`null` on user messages). A client recovers a reply cut by a
//!   dropped socket from here instead of sending its message again.
//!
//! WebSocket `GET /api/v1/ws/chat?tenant_id=&chat_id=&client_id=` (`tenant_id` required, else
//! `400 TENANT_REQUIRED`; an unknown `chat_id` is created). Every frame is `{type, data,
//! timestamp, eventTs}` (ms). Server frames: `connection_established {client_id, tenant_id,
//! chat_id, connection_id}` at once, `connection_ready {client_id, chat_id,
//! platform_status:"ready"}` after the init delay (default 50 ms; `chat_message` before it gets
//! `error PLATFORM_NOT_READY`, retryable). Client frames: `join_chat {chat_id}` -> `chat_joined
//! {chat_id}`; `leave_chat` -> `chat_left`; `ping` -> `pong {timestamp}`; `typing_start` /
//! `typing_stop` (accepted silently); `chat_message {data:{message, chat_id, tenant_id},
//! clientId}` -> `message_received {message_id, client_id, chat_id, content, duplicate}`, then
//! the turn: `processing {chat_id, message_id, status:"processing"}` (tool calls add `processing`
//! frames with `stage` `tool_call` / `tool_progress` / `tool_result` and a `tool` object),
//! `response_start {message_id, chat_id, reply_to}`, `response_chunk {message_id, chat_id,
//! content, chunk_index, offset}`, `response_complete {message:{id, content, role:"assistant",
//! created_at, llm_model:"mock-llm", total_tokens, response_time_ms}, chat_id, reply_to}`;
//! `/error` gives `error {detail, type:"processing_error", code:"AI_PROCESSING_FAILED",
//! retryable:true, message_id}`. Turn frames also carry `event_id` (`{chat_id}:{seq}`). A re-sent
//! `clientId` is acknowledged again (`duplicate: true`), recorded once, and the frames of its
//! turn that this socket has not seen are replayed. Malformed JSON: `error INVALID_JSON`;
//! unknown types: `error UNKNOWN_MESSAGE_TYPE`.

mod ws;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::agent::{self, AgentEvent, Script, TurnIds};
use crate::dialect::{ApiError, Dialect};
use crate::hub::{Conv, HistoryEntry, TurnRec};
use crate::server::{AppState, Shared};
use crate::util::{now_iso, now_ms, parse_object, str_field};

pub(crate) const D: Option<Dialect> = Some(Dialect::Miptech);
const DEFAULT_TENANT: &str = "demo-tenant";

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/healthz",
            get(|| async { Json(json!({ "status": "healthy" })) }),
        )
        .route("/api/v1/chat", post(create_chat))
        .route(
            "/api/v1/chat/{id}/messages",
            post(post_message).get(history),
        )
        .route("/api/v1/ws/chat", get(ws::upgrade))
}

pub(crate) fn header<'a>(headers: &'a HeaderMap, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| headers.get(*n).and_then(|v| v.to_str().ok()))
        .filter(|s| !s.is_empty())
}

/// Checks tenant and API key; returns the tenant.
pub(crate) fn authorize(
    shared: &Shared,
    tenant: Option<&str>,
    api_key: Option<&str>,
) -> Result<String, ApiError> {
    if let Some(expected) = &shared.config.api_key
        && api_key != Some(expected.as_str())
    {
        return Err(ApiError::new(
            401,
            "invalid_api_key",
            "Invalid or missing API key",
        ));
    }
    if let Some(allowed) = &shared.config.tenants {
        match tenant {
            Some(t) if allowed.iter().any(|a| a == t) => {}
            Some(t) => {
                return Err(ApiError::new(
                    403,
                    "tenant_not_allowed",
                    format!("Tenant {t} is not allowed"),
                ));
            }
            None => {
                return Err(ApiError::new(
                    403,
                    "tenant_not_allowed",
                    "A tenant is required",
                ));
            }
        }
    }
    Ok(tenant.unwrap_or(DEFAULT_TENANT).to_owned())
}

fn rest_auth(
    shared: &Shared,
    headers: &HeaderMap,
    body_tenant: Option<&str>,
) -> Result<String, ApiError> {
    let tenant = header(headers, &["x-tenant-id", "x-tenant", "tenant-id"]).or(body_tenant);
    authorize(shared, tenant, header(headers, &["x-api-key"]))
}

/// The chat, if it exists and belongs to `tenant`.
fn chat(shared: &Shared, id: &str, tenant: &str, explicit: bool) -> Result<Arc<Conv>, ApiError> {
    let not_found = || ApiError::new(404, "chat_not_found", format!("Chat {id} not found"));
    let conv = shared.hub.get(Dialect::Miptech, id).ok_or_else(not_found)?;
    match conv.meta("tenant_id") {
        Some(Value::String(owner)) if explicit && owner != tenant => Err(not_found()),
        _ => Ok(conv),
    }
}

async fn create_chat(State(shared): AppState, headers: HeaderMap, body: Bytes) -> Response {
    let body = match parse_object(&body) {
        Ok(b) => b,
        Err(e) => return ApiError::new(422, "validation_error", e).into_response_for(D),
    };
    let tenant = match rest_auth(&shared, &headers, str_field(&body, &["tenant_id"])) {
        Ok(t) => t,
        Err(e) => return e.into_response_for(D),
    };
    let id = shared.hub.next_id("chat");
    let conv = shared.hub.conv(Dialect::Miptech, &id);
    let title = str_field(&body, &["title"])
        .unwrap_or("New chat")
        .to_owned();
    conv.set_meta("tenant_id", json!(tenant));
    let dto = json!({ "id": id, "chat_id": id, "tenant_id": tenant, "title": title, "status": "active", "created_at": now_iso() });
    (StatusCode::CREATED, Json(dto)).into_response()
}

async fn post_message(
    State(shared): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = match parse_object(&body) {
        Ok(b) => b,
        Err(e) => return ApiError::new(422, "validation_error", e).into_response_for(D),
    };
    let explicit = header(&headers, &["x-tenant-id", "x-tenant", "tenant-id"]).is_some();
    let conv =
        match rest_auth(&shared, &headers, None).and_then(|t| chat(&shared, &id, &t, explicit)) {
            Ok(c) => c,
            Err(e) => return e.into_response_for(D),
        };
    let Some(content) = str_field(&body, &["content", "message"]).filter(|s| !s.trim().is_empty())
    else {
        return ApiError::new(422, "validation_error", "content is required").into_response_for(D);
    };
    let client_id =
        str_field(&body, &["client_id", "clientId"]).or(header(&headers, &["idempotency-key"]));
    let (turn, new) = accept(&shared, &conv, client_id, content);
    let dto = json!({
        "id": turn.message_id, "message_id": turn.message_id, "chat_id": id, "role": "user",
        "content": content, "client_id": client_id, "status": "received", "duplicate": !new,
        "created_at": now_iso(),
    });
    (
        if new {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(dto),
    )
        .into_response()
}

async fn history(State(shared): AppState, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let explicit = header(&headers, &["x-tenant-id", "x-tenant", "tenant-id"]).is_some();
    match rest_auth(&shared, &headers, None).and_then(|t| chat(&shared, &id, &t, explicit)) {
        Ok(conv) => {
            let messages: Vec<Value> = conv
                .history()
                .iter()
                .map(|h| json!({ "id": h.id, "role": h.role, "content": h.content, "created_at": h.ts_ms, "reply_to": h.reply_to }))
                .collect();
            Json(json!({ "chat_id": id, "messages": messages })).into_response()
        }
        Err(e) => e.into_response_for(D),
    }
}

/// Records a message and starts its turn unless its client id is known.
pub(crate) fn accept(
    shared: &Arc<Shared>,
    conv: &Arc<Conv>,
    client_id: Option<&str>,
    content: &str,
) -> (TurnRec, bool) {
    let hub = &shared.hub;
    hub.record(Dialect::Miptech, &conv.id, client_id, content);
    let (turn, new) = conv.accept(client_id, |after| TurnRec {
        turn_id: hub.next_id("t"),
        message_id: hub.next_id("msg"),
        client_id: client_id.map(str::to_owned),
        after_seq: after,
        done: false,
        extra: Value::Null,
    });
    if new {
        conv.add_history(HistoryEntry {
            id: turn.message_id.clone(),
            role: "user".into(),
            content: content.into(),
            ts_ms: now_ms(),
            tool_calls: vec![],
            reply_to: None,
        });
        let ids = TurnIds {
            reply_message_id: hub.next_id("msg"),
            tool_id: hub.next_id("tool"),
        };
        let started = now_ms();
        let render =
            move |ev: &AgentEvent, conv: &Conv, turn: &TurnRec| render(ev, conv, turn, started);
        agent::spawn_turn(
            conv.clone(),
            turn.clone(),
            Script::parse(content),
            content.into(),
            ids,
            shared.timing(),
            Box::new(render),
        );
    }
    (turn, new)
}

pub(crate) fn frame(kind: &str, data: Value) -> Value {
    let ts = now_ms();
    json!({ "type": kind, "data": data, "timestamp": ts, "eventTs": ts })
}

fn render(ev: &AgentEvent, conv: &Conv, turn: &TurnRec, started: u64) {
    let chat_id = conv.id.as_str();
    let user_msg = turn.message_id.as_str();
    let (kind, data) = match ev {
        AgentEvent::Status(agent::Stage::Processing) => (
            "processing",
            json!({ "chat_id": chat_id, "message_id": user_msg, "status": "processing" }),
        ),
        AgentEvent::ToolStarted {
            tool_id,
            name,
            args,
        } => (
            "processing",
            json!({ "chat_id": chat_id, "message_id": user_msg,
            "status": "processing", "stage": "tool_call", "tool": { "id": tool_id, "name": name, "args": args } }),
        ),
        AgentEvent::ToolProgress { tool_id, message } => (
            "processing",
            json!({ "chat_id": chat_id, "message_id": user_msg,
            "status": "processing", "stage": "tool_progress", "tool": { "id": tool_id, "message": message } }),
        ),
        AgentEvent::ToolCompleted { tool_id, output } => (
            "processing",
            json!({ "chat_id": chat_id, "message_id": user_msg,
            "status": "processing", "stage": "tool_result", "tool": { "id": tool_id, "output": output } }),
        ),
        AgentEvent::ToolFailed { tool_id, error } => (
            "processing",
            json!({ "chat_id": chat_id, "message_id": user_msg,
            "status": "processing", "stage": "tool_result", "tool": { "id": tool_id, "error": error } }),
        ),
        AgentEvent::MessageStarted { message_id } => (
            "response_start",
            json!({ "message_id": message_id, "chat_id": chat_id, "reply_to": user_msg }),
        ),
        AgentEvent::Token {
            message_id,
            index,
            offset,
            text,
        } => (
            "response_chunk",
            json!({ "message_id": message_id,
            "chat_id": chat_id, "content": text, "chunk_index": index, "offset": offset }),
        ),
        AgentEvent::MessageCompleted { message_id, text } => (
            "response_complete",
            json!({ "chat_id": chat_id,
            "reply_to": user_msg, "message": { "id": message_id, "content": text, "role": "assistant", "created_at": now_ms(),
            "llm_model": "mock-llm", "total_tokens": agent::tokens(text).len(), "response_time_ms": now_ms().saturating_sub(started) } }),
        ),
        AgentEvent::TurnFailed { error } => (
            "error",
            json!({ "detail": error, "type": "processing_error",
            "code": "AI_PROCESSING_FAILED", "retryable": true, "message_id": user_msg, "chat_id": chat_id }),
        ),
        AgentEvent::TurnCancelled => (
            "error",
            json!({ "detail": "processing cancelled", "type": "processing_error",
            "code": "PROCESSING_CANCELLED", "retryable": true, "message_id": user_msg, "chat_id": chat_id }),
        ),
        _ => return,
    };
    let chat = chat_id.to_owned();
    conv.push_with(Some(&turn.turn_id), None, None, move |seq| {
        let mut f = frame(kind, data);
        f["event_id"] = json!(format!("{chat}:{seq}"));
        f
    });
}

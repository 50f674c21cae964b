//! The `chat-interfaces` dialect: public chat interfaces over REST + SSE. Any slug works
//! (e.g. `demo`); a session belongs to the slug that created it.
//!
//! Every JSON answer carries both the flat fields and the `{success, data}` envelope of the real
//! backend, e.g. `{"success":true,"data":{"executionId":...},"executionId":...}`. Errors are
//! `{"success":false,"error":"<message>","code":"<CODE>","retryable":bool}`.
//! The session token is read from the body field `sessionToken`, the query `sessionToken` or
//! the header `X-Session-Token` (in that order).
//!
//! - `POST /api/public/chat-interfaces/{slug}/sessions` (optional `{sessionToken}` to resume) ->
//!   `201 {sessionToken, sessionId, slug, threadId, executionStatus}` (`200` when resumed).
//! - `POST .../{slug}/messages` `{sessionToken, message, attachments?, clientMessageId?}` (or an
//!   `Idempotency-Key` header) -> `200 {executionId, threadId, status:"running"}`. A re-send with
//!   the same key gets the same `executionId` (and its current `status`), is recorded once and
//!   is not rate limited. Errors: `404 SESSION_NOT_FOUND`, `400 VALIDATION_ERROR`, `429
//!   RATE_LIMITED` with `Retry-After` (10 messages per minute per session, configurable).
//! - `GET .../{slug}/stream?sessionToken=[&executionId=]`: SSE (see [`stream`]).
//! - `GET .../{slug}/sessions/{token}/messages` -> `{messages:[{id, role, content, timestamp,
//!   toolCalls}]}` (user and assistant messages, oldest first).
//! - `POST .../{slug}/upload` (multipart; `file` plus `sessionToken`): see [`upload`].

pub mod stream;
pub mod upload;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::agent::{self, AgentEvent, Script, TurnIds};
use crate::dialect::{ApiError, Dialect};
use crate::hub::{Conv, HistoryEntry, TurnRec};
use crate::server::{AppState, Shared};
use crate::util::{iso_utc, now_ms, parse_object, str_field};

pub(crate) const D: Option<Dialect> = Some(Dialect::ChatInterfaces);

pub(crate) fn routes() -> Router<Arc<Shared>> {
    let base = "/api/public/chat-interfaces/{slug}";
    Router::new()
        .route(&format!("{base}/sessions"), post(create_session))
        .route(&format!("{base}/messages"), post(send_message))
        .route(&format!("{base}/stream"), get(stream::stream))
        .route(&format!("{base}/sessions/{{token}}/messages"), get(history))
        .route(
            &format!("{base}/upload"),
            post(upload::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(&format!("{base}/files/{{id}}"), get(upload::download))
}

/// `{success:true, data}` plus the same fields flat.
pub(crate) fn ok(status: StatusCode, data: Value) -> Response {
    let mut body = json!({ "success": true, "data": data });
    if let (Value::Object(flat), Value::Object(b)) = (data, &mut body) {
        for (k, v) in flat {
            b.entry(k).or_insert(v);
        }
    }
    (status, Json(body)).into_response()
}

/// The session token from body, query or header.
pub(crate) fn token_of(
    body: Option<&Value>,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Option<String> {
    body.and_then(|b| str_field(b, &["sessionToken", "session_token"]))
        .map(str::to_owned)
        .or_else(|| query.get("sessionToken").cloned())
        .or_else(|| {
            headers
                .get("x-session-token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
}

/// The session `token` of interface `slug`.
pub(crate) fn session(
    shared: &Shared,
    slug: &str,
    token: Option<&str>,
) -> Result<Arc<Conv>, ApiError> {
    let missing = || ApiError::new(404, "session_not_found", "Session not found or expired");
    let conv = shared
        .hub
        .get(Dialect::ChatInterfaces, token.ok_or_else(missing)?)
        .ok_or_else(missing)?;
    if conv.meta("slug").as_ref().and_then(Value::as_str) != Some(slug) {
        return Err(missing());
    }
    Ok(conv)
}

fn session_dto(conv: &Conv) -> Value {
    json!({
        "sessionToken": conv.id, "sessionId": conv.meta("sessionId"), "slug": conv.meta("slug"),
        "threadId": conv.meta("threadId"), "executionStatus": conv.meta("executionStatus"),
    })
}

async fn create_session(
    State(shared): AppState,
    Path(slug): Path<String>,
    body: Bytes,
) -> Response {
    let body = match parse_object(&body) {
        Ok(b) => b,
        Err(e) => return ApiError::bad_request(e).into_response_for(D),
    };
    if let Some(token) = str_field(&body, &["sessionToken"])
        && let Ok(conv) = session(&shared, &slug, Some(token))
    {
        return ok(StatusCode::OK, session_dto(&conv));
    }
    let token = shared.hub.next_id("cis");
    let conv = shared.hub.conv(Dialect::ChatInterfaces, &token);
    conv.set_meta("slug", json!(slug));
    conv.set_meta("sessionId", json!(shared.hub.next_id("session")));
    conv.set_meta("threadId", Value::Null);
    conv.set_meta("executionStatus", json!("idle"));
    ok(StatusCode::CREATED, session_dto(&conv))
}

async fn send_message(
    State(shared): AppState,
    Path(slug): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = match parse_object(&body) {
        Ok(b) => b,
        Err(e) => return ApiError::bad_request(e).into_response_for(D),
    };
    let token = token_of(Some(&body), &query, &headers);
    let conv = match session(&shared, &slug, token.as_deref()) {
        Ok(c) => c,
        Err(e) => return e.into_response_for(D),
    };
    let Some(message) = str_field(&body, &["message"]).filter(|m| !m.trim().is_empty()) else {
        return ApiError::new(400, "validation_error", "message is required").into_response_for(D);
    };
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .or(str_field(&body, &["clientMessageId", "client_id"]))
        .map(str::to_owned);
    if let Some(k) = &key
        && let Some(turn) = conv
            .turns()
            .into_iter()
            .find(|t| t.client_id.as_deref() == Some(k))
    {
        shared
            .hub
            .record(Dialect::ChatInterfaces, &conv.id, Some(k), message);
        let status = if turn.done {
            conv.meta("executionStatus").unwrap_or(json!("completed"))
        } else {
            json!("running")
        };
        return ok(
            StatusCode::OK,
            json!({ "executionId": turn.extra["executionId"], "threadId": conv.meta("threadId"), "status": status }),
        );
    }
    if let Err(retry) = shared.rate.check(&conv.id) {
        return ApiError::new(
            429,
            "rate_limited",
            format!("Rate limit exceeded: try again in {retry} s"),
        )
        .retry_after(Some(retry))
        .into_response_for(D);
    }
    shared
        .hub
        .record(Dialect::ChatInterfaces, &conv.id, key.as_deref(), message);
    let thread = match conv.meta("threadId") {
        Some(Value::String(t)) => t,
        _ => {
            let t = shared.hub.next_id("thread");
            conv.set_meta("threadId", json!(t));
            t
        }
    };
    let execution = shared.hub.next_id("exec");
    let hub = &shared.hub;
    let (turn, _) = conv.accept(key.as_deref(), |after| TurnRec {
        turn_id: hub.next_id("t"),
        message_id: hub.next_id("msg"),
        client_id: key.clone(),
        after_seq: after,
        done: false,
        extra: json!({ "executionId": execution }),
    });
    conv.set_meta("executionStatus", json!("running"));
    conv.set_meta("currentExecutionId", json!(execution));
    conv.add_history(HistoryEntry {
        id: turn.message_id.clone(),
        role: "user".into(),
        content: message.into(),
        ts_ms: now_ms(),
        tool_calls: vec![],
        reply_to: None,
    });
    let ids = TurnIds {
        reply_message_id: hub.next_id("msg"),
        tool_id: hub.next_id("call"),
    };
    let (exec, thr) = (execution.clone(), thread.clone());
    let mut tool_calls: Vec<Value> = Vec::new();
    let render = move |ev: &AgentEvent, conv: &Conv, turn: &TurnRec| {
        render(ev, conv, turn, &exec, &thr, &mut tool_calls)
    };
    agent::spawn_turn(
        conv.clone(),
        turn,
        Script::parse(message),
        message.into(),
        ids,
        shared.timing(),
        Box::new(render),
    );
    ok(
        StatusCode::OK,
        json!({ "executionId": execution, "threadId": thread, "status": "running" }),
    )
}

fn render(
    ev: &AgentEvent,
    conv: &Conv,
    turn: &TurnRec,
    exec: &str,
    thread: &str,
    tools: &mut Vec<Value>,
) {
    let (name, data) = match ev {
        AgentEvent::Token {
            message_id, text, ..
        } => (
            "token",
            json!({ "token": text, "executionId": exec, "threadId": thread, "messageId": message_id }),
        ),
        AgentEvent::ToolStarted {
            tool_id,
            name,
            args,
        } => {
            tools.push(json!({ "id": tool_id, "name": name, "arguments": args }));
            (
                "tool_call_started",
                json!({ "toolCallId": tool_id, "toolName": name, "arguments": args, "executionId": exec }),
            )
        }
        AgentEvent::ToolCompleted { tool_id, output } => (
            "tool_call_completed",
            json!({ "toolCallId": tool_id, "toolName": "lookup", "result": output, "executionId": exec }),
        ),
        AgentEvent::ToolFailed { tool_id, error } => (
            "tool_call_failed",
            json!({ "toolCallId": tool_id, "toolName": "lookup", "error": error, "executionId": exec }),
        ),
        AgentEvent::MessageCompleted { message_id, text } => {
            let message = json!({ "id": message_id, "role": "assistant", "content": text, "timestamp": iso_utc(now_ms()), "toolCalls": tools });
            (
                "message",
                json!({ "message": message, "executionId": exec, "threadId": thread }),
            )
        }
        AgentEvent::TurnCompleted { .. } => {
            conv.set_meta("executionStatus", json!("completed"));
            (
                "execution:completed",
                json!({ "executionId": exec, "threadId": thread, "status": "completed" }),
            )
        }
        AgentEvent::TurnFailed { error } => {
            conv.set_meta("executionStatus", json!("failed"));
            (
                "execution:failed",
                json!({ "executionId": exec, "threadId": thread, "status": "failed", "error": error }),
            )
        }
        AgentEvent::TurnCancelled => {
            conv.set_meta("executionStatus", json!("failed"));
            (
                "execution:failed",
                json!({ "executionId": exec, "threadId": thread, "status": "failed", "error": "cancelled" }),
            )
        }
        _ => return,
    };
    conv.push(Some(&turn.turn_id), Some(name), data);
}

async fn history(State(shared): AppState, Path((slug, token)): Path<(String, String)>) -> Response {
    let conv = match session(&shared, &slug, Some(&token)) {
        Ok(c) => c,
        Err(e) => return e.into_response_for(D),
    };
    let messages: Vec<Value> = conv
        .history()
        .iter()
        .map(|h| json!({ "id": h.id, "role": h.role, "content": h.content, "timestamp": iso_utc(h.ts_ms), "toolCalls": h.tool_calls }))
        .collect();
    ok(StatusCode::OK, json!({ "messages": messages }))
}

/// Sliding-window rate limiter: at most `limit` hits per `window` per key.
pub(crate) struct RateLimiter {
    limit: u32,
    window: Duration,
    hits: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            hits: Mutex::default(),
        }
    }

    /// Counts a hit for `key`; `Err(retry_after_s)` when the limit is reached.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        self.check_with(key, self.limit)
    }

    /// Like [`RateLimiter::check`] with another limit (uploads use 20).
    pub fn check_with(&self, key: &str, limit: u32) -> Result<(), u64> {
        let now = Instant::now();
        let mut hits = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        let q = hits.entry(key.to_owned()).or_default();
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            q.pop_front();
        }
        if q.len() >= limit as usize {
            let oldest = q.front().copied().unwrap_or(now);
            let wait = self.window.saturating_sub(now.duration_since(oldest));
            return Err((wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1));
        }
        q.push_back(now);
        Ok(())
    }

    pub fn reset(&self) {
        self.hits.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn rate_limiter_window_slides() {
        let rl = RateLimiter::new(2, Duration::from_secs(60));
        assert!(rl.check("s").is_ok());
        tokio::time::advance(Duration::from_secs(30)).await;
        assert!(rl.check("s").is_ok());
        assert_eq!(rl.check("s"), Err(30));
        assert!(rl.check("other").is_ok());
        tokio::time::advance(Duration::from_secs(31)).await;
        assert!(rl.check("s").is_ok());
    }
}

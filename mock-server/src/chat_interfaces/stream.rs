//! `GET /api/public/chat-interfaces/{slug}/stream?sessionToken=...[&executionId=...]`: the SSE
//! stream of a session.
//!
//! - Every event has `id:` (the session's event sequence number), `event:` and JSON `data:`.
//! - First `event: connected` with `{sessionToken, threadId, executionId}` and `retry: 3000`;
//!   its id is the position the stream starts after.
//! - Then `token {token, executionId, threadId, messageId}`, `tool_call_started {toolCallId,
//!   toolName, arguments, executionId}`, `tool_call_completed {toolCallId, toolName, result,
//!   executionId}`, `tool_call_failed {toolCallId, toolName, error, executionId}`, `message
//!   {message:{id, role:"assistant", content, timestamp, toolCalls}, executionId, threadId}`,
//!   `execution:completed {executionId, threadId, status:"completed"}`, `execution:failed
//!   {executionId, threadId, status:"failed", error}`.
//! - A `: heartbeat` comment every 15 s (config `heartbeat_interval`).
//! - Start position: after `Last-Event-ID` (header, or `lastEventId` query) when given (if
//!   events after it were evicted, after the gap: `connected`'s id is then past it); else
//!   from the start of `executionId`'s events when given; else from the start of the execution
//!   in progress, if any (so a client that opens the stream right after `POST messages` misses
//!   nothing); else only new events.
//! - With `executionId`, the stream closes after that execution's `execution:completed` /
//!   `execution:failed` ("auto-close on completion"); without it, it stays open for the session.
//! - Unknown session: `404 SESSION_NOT_FOUND` (JSON, before streaming); unknown `executionId`:
//!   `404 EXECUTION_NOT_FOUND`.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{D, session, token_of};
use crate::conn::ConnHandle;
use crate::dialect::{ApiError, Dialect};
use crate::outlet::{self, Step};
use crate::server::AppState;

pub(crate) async fn stream(
    State(shared): AppState,
    ConnectInfo(ConnHandle(ctl)): ConnectInfo<ConnHandle>,
    Path(slug): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let token = token_of(None, &query, &headers);
    let conv = match session(&shared, &slug, token.as_deref()) {
        Ok(c) => c,
        Err(e) => return e.into_response_for(D),
    };
    let execution = query.get("executionId").filter(|e| !e.is_empty()).cloned();
    let exec_turn = match &execution {
        Some(id) => match conv
            .turns()
            .into_iter()
            .find(|t| t.extra["executionId"] == id.as_str())
        {
            Some(t) => Some(t),
            None => {
                return ApiError::new(404, "execution_not_found", "Execution not found")
                    .into_response_for(D);
            }
        },
        None => None,
    };
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| query.get("lastEventId").cloned())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let cursor = match (last_event_id, &exec_turn) {
        (Some(id), _) => id,
        (None, Some(t)) => t.after_seq,
        (None, None) => conv
            .turns()
            .into_iter()
            .find(|t| !t.done)
            .map(|t| t.after_seq)
            .unwrap_or_else(|| conv.last_seq()),
    };
    // Events evicted from the log cannot be replayed: start after the gap, so the `connected`
    // id (past the client's cursor) tells it so.
    let cursor = match conv.frames_after(cursor) {
        (frames, true) => frames
            .first()
            .map(|f| f.seq - 1)
            .unwrap_or_else(|| conv.last_seq()),
        _ => cursor,
    };
    let plan = shared.faults.conn_plan(Dialect::ChatInterfaces);
    let (wire, body) = outlet::sse_channel();
    let out = outlet::start(wire, plan, ctl);
    let connected = json!({ "sessionToken": conv.id, "threadId": conv.meta("threadId"), "executionId": execution });
    let first = Event::default()
        .id(cursor.to_string())
        .event("connected")
        .retry(Duration::from_millis(3000))
        .data(connected.to_string());
    let heartbeat = shared.config.heartbeat_interval;
    let beat_out = out.clone();
    let beats = tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if !beat_out.send(Event::default().comment("heartbeat")).await {
                        return;
                    }
                }
                _ = beat_out.closed() => return,
            }
        }
    });
    tokio::spawn(async move {
        if out.send(first).await {
            let exec_turn_id = exec_turn.map(|t| t.turn_id);
            outlet::follow(conv, out, cursor, move |f| {
                let name = f.event.clone().unwrap_or_else(|| "message".to_owned());
                let ev = Event::default()
                    .id(f.seq.to_string())
                    .event(&name)
                    .data(f.data.to_string());
                let ends = name.starts_with("execution:")
                    && exec_turn_id.is_some()
                    && f.turn == exec_turn_id;
                if ends {
                    Step::SendEnd(ev)
                } else {
                    Step::Send(ev)
                }
            })
            .await;
        }
        // Dropping the last sender ends the response body.
        beats.abort();
    });
    Sse::new(body).into_response()
}

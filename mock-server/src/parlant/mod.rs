//! The `parlant` dialect: the Parlant REST API (sessions and events, long-poll or SSE).
//!
//! Errors are FastAPI's `{"detail": "..."}` (validation errors: `422 {"detail":[{loc, msg,
//! type}]}`). No auth.
//!
//! - `GET /agents` -> `[{id:"demo-agent", name, description, creation_utc, max_engine_iterations,
//!   composition_mode, tags}]`; `GET /agents/{id}` -> that agent (any id).
//! - `POST /sessions[?allow_greeting=]` `{agent_id?, customer_id?, title?, metadata?}` ->
//!   `201 {id, agent_id, customer_id, creation_utc, modified_utc, title, mode:"auto",
//!   consumption_offsets:{client:0}, metadata, labels:[]}`. `agent_id` defaults to `demo-agent`,
//!   `customer_id` to `guest`. `GET /sessions/{id}` -> the session or `404`.
//! - `POST /sessions/{id}/events[?moderation=]`:
//!   - `{kind:"message", source:"customer", message}` -> `201` the customer event and the agent
//!     starts. An `Idempotency-Key` header makes re-sends return the same event (`200`) without a
//!     new turn (recorded once). Missing `message`: `422`; other kinds/sources: `422`.
//!   - `{kind:"status", source:"customer"|..., status:"cancelled"}` cancels processing -> `201`
//!     the `cancelled` status event; `409` when nothing is processing.
//! - `GET /sessions/{id}/events?min_offset=&source=&kinds=message,tool,status&correlation_id=
//!   (or trace_id=)&wait_for_data=60&sse=false`: events with `offset >= min_offset` (inclusive)
//!   matching the filters, oldest first. `wait_for_data > 0` waits up to that many seconds for a
//!   match and answers `504 {"detail":"Request timed out"}` if none arrives; `0` answers at once
//!   (possibly `[]`). `sse=true` streams `data: <event>` lines for new matching events and
//!   closes after `wait_for_data` seconds without one.
//! - `GET /sessions/{id}/events/{event_id}?wait_for_completion=&wait_for_data=&sse=`: one event;
//!   `wait_for_completion` waits until a streamed message's `chunks` end with `null`; `sse=true`
//!   streams the event each time it changes until then.
//!
//! Event objects: `{id, source, kind, offset, creation_utc, modified_utc, correlation_id,
//! trace_id, data, metadata:{}, deleted:false}`; offsets start at 0 and have no gaps. A turn
//! (all events share one `correlation_id`): the customer `message` (`data {message,
//! participant}`), `status` events from `ai_agent` with `data {status, acknowledged_offset,
//! data}` for `acknowledged`, `processing` (`data.stage`), `typing`; for `/tool` a `tool` event
//! from `system` with `data {tool_calls:[{tool_id:"mock:lookup", arguments:{query}, result:{data,
//! metadata, control}}]}` (preceded by a `processing` status with stage `Calling tool lookup`);
//! the agent `message` (`data {message, participant, chunks}`), created at the first token and
//! updated in place: `chunks` grows one word at a time and ends with `null` when complete,
//! `message` is the text so far; then `status ready`. `/error` ends with `status error` (`data
//! {exception}`), a cancel with `status cancelled`.

mod events;
mod poll_faults;

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::agent::{self, AgentEvent, Script, Stage, TurnIds};
use crate::dialect::{ApiError, Dialect};
use crate::hub::{Conv, HistoryEntry, TurnRec};
use crate::server::{AppState, Shared};
use crate::util::{now_iso, now_ms, parse_object, str_field};

pub(crate) const D: Option<Dialect> = Some(Dialect::Parlant);
const AGENT: &str = "demo-agent";

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/agents", get(agents))
        .route("/agents/{id}", get(agent_by_id))
        .route("/sessions", axum::routing::post(create_session))
        .route("/sessions/{id}", get(read_session))
        .route(
            "/sessions/{id}/events",
            get(events::list_events).post(create_event),
        )
        .route("/sessions/{id}/events/{event_id}", get(events::read_event))
}

fn agent_dto(id: &str) -> Value {
    json!({ "id": id, "name": "Demo Agent", "description": "The chatwire-mock scripted agent",
        "creation_utc": "2025-01-01T00:00:00.000Z", "max_engine_iterations": 1,
        "composition_mode": "fluid", "tags": [] })
}

async fn agents() -> Response {
    Json(json!([agent_dto(AGENT)])).into_response()
}

async fn agent_by_id(Path(id): Path<String>) -> Response {
    Json(agent_dto(&id)).into_response()
}

pub(crate) fn unprocessable(loc: &[&str], msg: &str) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({ "detail": [{ "loc": loc, "msg": msg, "type": "value_error" }] })),
    )
        .into_response()
}

pub(crate) fn session_of(shared: &Shared, id: &str) -> Result<Arc<Conv>, Box<Response>> {
    shared
        .hub
        .get(Dialect::Parlant, id)
        .filter(|c| c.meta("session").is_some())
        .ok_or_else(|| {
            Box::new(ApiError::not_found(format!("Session {id} not found")).into_response_for(D))
        })
}

async fn create_session(State(shared): AppState, body: Bytes) -> Response {
    let body = match parse_object(&body) {
        Ok(b) => b,
        Err(e) => return unprocessable(&["body"], &e),
    };
    let id = shared.hub.next_id("sess");
    let now = now_iso();
    let dto = json!({
        "id": id, "agent_id": str_field(&body, &["agent_id"]).unwrap_or(AGENT),
        "customer_id": str_field(&body, &["customer_id"]).unwrap_or("guest"),
        "creation_utc": now, "modified_utc": now, "title": body.get("title").cloned().unwrap_or(Value::Null),
        "mode": "auto", "consumption_offsets": { "client": 0 },
        "metadata": body.get("metadata").cloned().unwrap_or(json!({})), "labels": [],
    });
    shared
        .hub
        .conv(Dialect::Parlant, &id)
        .set_meta("session", dto.clone());
    (StatusCode::CREATED, Json(dto)).into_response()
}

async fn read_session(State(shared): AppState, Path(id): Path<String>) -> Response {
    match session_of(&shared, &id) {
        Ok(conv) => Json(conv.meta("session").unwrap_or(Value::Null)).into_response(),
        Err(r) => *r,
    }
}

/// Appends a Parlant event; its offset is `seq - 1`, its id derived from session and offset.
fn push_event(
    conv: &Conv,
    turn: Option<&str>,
    source: &str,
    kind: &str,
    correlation: &str,
    data: Value,
) -> Value {
    let (sid, mut out) = (conv.id.clone(), Value::Null);
    let seq = conv.push_with(turn, None, None, |seq| {
        let now = now_iso();
        json!({ "id": format!("{sid}-e{}", seq - 1), "source": source, "kind": kind, "offset": seq - 1,
            "creation_utc": now, "modified_utc": now, "correlation_id": correlation, "trace_id": correlation,
            "data": data, "metadata": {}, "deleted": false })
    });
    if let Some(f) = conv
        .frames_after(seq - 1)
        .0
        .into_iter()
        .find(|f| f.seq == seq)
    {
        out = f.data;
    }
    out
}

async fn create_event(
    State(shared): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let conv = match session_of(&shared, &id) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let body = match parse_object(&body) {
        Ok(b) => b,
        Err(e) => return unprocessable(&["body"], &e),
    };
    match (str_field(&body, &["kind"]), str_field(&body, &["source"])) {
        (Some("message"), Some("customer")) => {}
        (Some("status"), Some(_)) if str_field(&body, &["status"]) == Some("cancelled") => {
            return cancel(&conv).await;
        }
        (Some("message" | "status" | "tool" | "custom"), Some(_)) => {
            return ApiError::new(
                422,
                "unsupported",
                "Only customer message events and cancellation are supported",
            )
            .into_response_for(D);
        }
        _ => return unprocessable(&["body", "kind"], "kind and source are required"),
    }
    let Some(message) = str_field(&body, &["message"]).filter(|m| !m.is_empty()) else {
        return ApiError::new(422, "missing_message", "Missing 'message' field for event")
            .into_response_for(D);
    };
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
    let hub = &shared.hub;
    hub.record(Dialect::Parlant, &conv.id, key, message);
    let correlation = hub.next_id("corr");
    let (turn, new) = conv.accept(key, |after| TurnRec {
        turn_id: hub.next_id("t"),
        message_id: hub.next_id("m"),
        client_id: key.map(str::to_owned),
        after_seq: after,
        done: false,
        extra: json!({ "correlation_id": correlation }),
    });
    if !new {
        let first = conv
            .turn_frames(&turn.turn_id, u64::MAX)
            .into_iter()
            .next()
            .map(|f| f.data);
        return (StatusCode::OK, Json(first.unwrap_or(Value::Null))).into_response();
    }
    let session = conv.meta("session").unwrap_or_default();
    let customer = session["customer_id"]
        .as_str()
        .unwrap_or("guest")
        .to_owned();
    let agent_id = session["agent_id"].as_str().unwrap_or(AGENT).to_owned();
    let data = json!({ "message": message, "participant": { "id": customer, "display_name": "Customer" } });
    let event = push_event(
        &conv,
        Some(&turn.turn_id),
        "customer",
        "message",
        &correlation,
        data,
    );
    conv.add_history(HistoryEntry {
        id: turn.message_id.clone(),
        role: "user".into(),
        content: message.into(),
        ts_ms: now_ms(),
        tool_calls: vec![],
        reply_to: None,
    });
    let acked = event["offset"].as_u64().unwrap_or(0);
    let ids = TurnIds {
        reply_message_id: hub.next_id("m"),
        tool_id: hub.next_id("tool"),
    };
    let mut state = RenderState {
        correlation,
        acked,
        agent_id,
        message_key: None,
        args: Value::Null,
    };
    let render = move |ev: &AgentEvent, conv: &Conv, turn: &TurnRec| state.render(ev, conv, turn);
    agent::spawn_turn(
        conv.clone(),
        turn,
        Script::parse(message),
        message.into(),
        ids,
        shared.timing(),
        Box::new(render),
    );
    (StatusCode::CREATED, Json(event)).into_response()
}

async fn cancel(conv: &Arc<Conv>) -> Response {
    if !conv.cancel_running() {
        return ApiError::new(
            409,
            "conflict",
            "Cancellation requested, but no processing task is active",
        )
        .into_response_for(D);
    }
    let mut changes = conv.watch();
    let found = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let hit =
                conv.frames().into_iter().rev().find(|f| {
                    f.data["kind"] == "status" && f.data["data"]["status"] == "cancelled"
                });
            if let Some(f) = hit {
                return Some(f.data);
            }
            if changes.changed().await.is_err() {
                return None;
            }
        }
    })
    .await;
    match found {
        Ok(Some(ev)) => (StatusCode::CREATED, Json(ev)).into_response(),
        _ => ApiError::new(
            504,
            "timeout",
            "Cancellation requested, but no cancellation event was emitted",
        )
        .into_response_for(D),
    }
}

struct RenderState {
    correlation: String,
    acked: u64,
    agent_id: String,
    message_key: Option<String>,
    args: Value,
}

impl RenderState {
    fn status(&self, conv: &Conv, turn: &TurnRec, status: &str, data: Value) {
        let body = json!({ "status": status, "acknowledged_offset": self.acked, "data": data });
        push_event(
            conv,
            Some(&turn.turn_id),
            "ai_agent",
            "status",
            &self.correlation,
            body,
        );
    }

    fn tool(&self, conv: &Conv, turn: &TurnRec, result: Value) {
        let call = json!({ "tool_id": "mock:lookup", "arguments": self.args, "result": result });
        push_event(
            conv,
            Some(&turn.turn_id),
            "system",
            "tool",
            &self.correlation,
            json!({ "tool_calls": [call] }),
        );
    }

    fn render(&mut self, ev: &AgentEvent, conv: &Conv, turn: &TurnRec) {
        match ev {
            AgentEvent::Status(Stage::Processing) => {
                self.status(conv, turn, "processing", json!({ "stage": "Interpreting" }))
            }
            AgentEvent::Status(stage) => self.status(conv, turn, stage.as_str(), json!({})),
            AgentEvent::ToolStarted { args, .. } => self.args = args.clone(),
            AgentEvent::ToolProgress { .. } => self.status(
                conv,
                turn,
                "processing",
                json!({ "stage": "Calling tool lookup" }),
            ),
            AgentEvent::ToolCompleted { output, .. } => self.tool(
                conv,
                turn,
                json!({ "data": output, "metadata": {}, "control": {} }),
            ),
            AgentEvent::ToolFailed { error, .. } => self.tool(
                conv,
                turn,
                json!({ "data": null, "metadata": { "error": error }, "control": {} }),
            ),
            AgentEvent::Token { text, .. } => match &self.message_key {
                None => {
                    let data = json!({ "message": text, "participant": { "id": self.agent_id, "display_name": "Demo Agent" }, "chunks": [text] });
                    let ev = push_event(
                        conv,
                        Some(&turn.turn_id),
                        "ai_agent",
                        "message",
                        &self.correlation,
                        data,
                    );
                    self.message_key = ev["id"].as_str().map(str::to_owned);
                }
                Some(key) => {
                    conv.update_key(key, |e| {
                        let so_far = format!(
                            "{}{text}",
                            e["data"]["message"].as_str().unwrap_or_default()
                        );
                        e["data"]["message"] = json!(so_far);
                        if let Some(chunks) = e["data"]["chunks"].as_array_mut() {
                            chunks.push(json!(text));
                        }
                        e["modified_utc"] = json!(now_iso());
                    });
                }
            },
            AgentEvent::MessageCompleted { text, .. } => {
                if let Some(key) = &self.message_key {
                    conv.update_key(key, |e| {
                        e["data"]["message"] = json!(text);
                        if let Some(chunks) = e["data"]["chunks"].as_array_mut() {
                            chunks.push(Value::Null);
                        }
                        e["modified_utc"] = json!(now_iso());
                    });
                }
            }
            AgentEvent::TurnFailed { error } => {
                self.status(conv, turn, "error", json!({ "exception": error }))
            }
            AgentEvent::TurnCancelled => self.status(conv, turn, "cancelled", json!({})),
            _ => {}
        }
    }
}

//! The `chat-v2` dialect: WebSocket `/v2/chat/{session_id}` with text and audio messages, and
//! the HTTP fallback.
//!
//! Auth: when a bearer token is configured, the upgrade needs `?token=` or `Authorization:
//! Bearer` (else `401 {"detail":"Not authenticated"}`). Any session id works.
//!
//! WebSocket frames are JSON objects with `type`; server frames also carry `session_id`:
//! - on connect: `{"type":"connected","session_id"}`.
//! - client `{"type":"text","content":"hi","id":"<client id>"}` (`text` / `message` are accepted
//!   for `content`; `client_id` / `message_id` for `id`) -> `{"type":"ack","id","message_id",
//!   "duplicate"}`, then the turn: `{"type":"status","status":"processing"|"typing"}`, tool calls
//!   `{"type":"tool","status":"start","tool_call_id","name","args"}`, `{"type":"tool","status":
//!   "progress","tool_call_id","name","message"}`, `{"type":"tool","status":"end","tool_call_id",
//!   "name","result"}` (or `"error"`), tokens `{"type":"token","content":"You ","is_final":false,
//!   "message_id","index"}`, and the final `{"type":"message","role":"assistant","content":
//!   "<full text>","is_final":true,"message_id"}`.
//! - client `{"type":"audio","data":"<PCM16 LE base64>","sample_rate":16000,"id"}` (`audio` is
//!   accepted for `data`) -> `ack`, `{"type":"transcript","text":"audio message of N ms",
//!   "is_final":true,"message_id"}`, the turn for that transcript, and after the final message one
//!   `{"type":"audio","format":"pcm16","sample_rate":16000,"data":"<base64>","is_final":true,
//!   "message_id"}` (10 ms of silence). Bad base64 or an odd byte count: `error invalid_audio`.
//! - client `{"type":"ping"}` -> `{"type":"pong","timestamp"}`; `{"type":"cancel"}` cancels the
//!   running turn -> `{"type":"cancelled","message_id"}`.
//! - `/error` -> `{"type":"error","code":"agent_error","message":"scripted failure",
//!   "message_id"}`; malformed JSON -> `error invalid_json`; unknown type -> `error
//!   unknown_type`; binary frames -> `error unsupported_frame`.
//! - A re-sent id is acked with `duplicate: true`, recorded once, and the turn's frames this
//!   socket has not seen are replayed.
//!
//! HTTP:
//! - `POST /v2/chat` `{"session_id"?, "message" | "content" | "text", "client_id"?}` (or
//!   `Idempotency-Key`) waits for the turn and answers `{session_id, message_id, response,
//!   tool_calls:[{id, name, args, result}], is_final:true}`; `422 {"detail"}` without text,
//!   `500 {"detail":"scripted failure"}` for `/error`.
//! - `GET /v2/chat/{session_id}/history` -> `{session_id, messages:[{id, role, content,
//!   timestamp, reply_to}]}`, oldest first; a reply is listed once complete, with `reply_to` the
//!   id of the user message it answers (`null` on user messages); `GET /v2/chat/test` -> a small
//!   HTML test page.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::{
    Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection,
};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::agent::{self, AgentEvent, Script, TurnIds};
use crate::conn::{ConnCtl, ConnHandle};
use crate::dialect::{ApiError, Dialect};
use crate::hub::{Conv, HistoryEntry, TurnRec};
use crate::outlet::{self, Inbound, Outlet, Step, text};
use crate::server::{AppState, Shared};
use crate::util::{b64_decode, b64_encode, now_ms, parse_object, str_field};

const D: Option<Dialect> = Some(Dialect::ChatV2);

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v2/chat", post(fallback))
        .route("/v2/chat/test", get(|| async { Html(TEST_PAGE) }))
        .route("/v2/chat/{session_id}", get(upgrade))
        .route("/v2/chat/{session_id}/history", get(history))
}

const TEST_PAGE: &str = "<!doctype html><title>chat-v2 test</title><p>Connect a WebSocket to \
<code>/v2/chat/{session_id}</code> and send <code>{\"type\":\"text\",\"content\":\"hi\"}</code>.</p>";

/// Records a message and starts its turn unless its id is known.
fn accept(
    shared: &Arc<Shared>,
    conv: &Arc<Conv>,
    id: Option<&str>,
    content: &str,
    transcript: bool,
) -> (TurnRec, bool) {
    let hub = &shared.hub;
    hub.record(Dialect::ChatV2, &conv.id, id, content);
    let (turn, new) = conv.accept(id, |after| TurnRec {
        turn_id: hub.next_id("t"),
        message_id: hub.next_id("m"),
        client_id: id.map(str::to_owned),
        after_seq: after,
        done: false,
        extra: Value::Null,
    });
    if new {
        let entry = HistoryEntry {
            id: turn.message_id.clone(),
            role: "user".into(),
            content: content.into(),
            ts_ms: now_ms(),
            tool_calls: vec![],
            reply_to: None,
        };
        conv.add_history(entry);
        if transcript {
            let t = json!({ "type": "transcript", "session_id": conv.id, "text": content, "is_final": true, "message_id": turn.message_id });
            conv.push(Some(&turn.turn_id), None, t);
        }
        let ids = TurnIds {
            reply_message_id: hub.next_id("m"),
            tool_id: hub.next_id("tool"),
        };
        let render =
            move |ev: &AgentEvent, conv: &Conv, turn: &TurnRec| render(ev, conv, turn, transcript);
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

fn render(ev: &AgentEvent, conv: &Conv, turn: &TurnRec, audio_reply: bool) {
    let frame = match ev {
        AgentEvent::Status(stage @ (agent::Stage::Processing | agent::Stage::Typing)) => {
            json!({ "type": "status", "status": stage.as_str() })
        }
        AgentEvent::ToolStarted {
            tool_id,
            name,
            args,
        } => {
            json!({ "type": "tool", "status": "start", "tool_call_id": tool_id, "name": name, "args": args })
        }
        AgentEvent::ToolProgress { tool_id, message } => {
            json!({ "type": "tool", "status": "progress", "tool_call_id": tool_id, "name": "lookup", "message": message })
        }
        AgentEvent::ToolCompleted { tool_id, output } => {
            json!({ "type": "tool", "status": "end", "tool_call_id": tool_id, "name": "lookup", "result": output })
        }
        AgentEvent::ToolFailed { tool_id, error } => {
            json!({ "type": "tool", "status": "end", "tool_call_id": tool_id, "name": "lookup", "error": error })
        }
        AgentEvent::Token {
            message_id,
            index,
            text,
            ..
        } => {
            json!({ "type": "token", "content": text, "is_final": false, "message_id": message_id, "index": index })
        }
        AgentEvent::MessageCompleted { message_id, text } => {
            let msg = json!({ "type": "message", "role": "assistant", "content": text, "is_final": true, "message_id": message_id, "session_id": conv.id });
            conv.push(Some(&turn.turn_id), None, msg);
            if audio_reply {
                json!({ "type": "audio", "format": "pcm16", "sample_rate": 16000, "data": b64_encode(&[0u8; 320]), "is_final": true, "message_id": message_id })
            } else {
                return;
            }
        }
        AgentEvent::TurnFailed { error } => {
            json!({ "type": "error", "code": "agent_error", "message": error, "message_id": turn.message_id })
        }
        AgentEvent::TurnCancelled => json!({ "type": "cancelled", "message_id": turn.message_id }),
        _ => return,
    };
    let mut frame = frame;
    frame["session_id"] = json!(conv.id);
    conv.push(Some(&turn.turn_id), None, frame);
}

async fn upgrade(
    State(shared): AppState,
    ConnectInfo(ConnHandle(ctl)): ConnectInfo<ConnHandle>,
    Path(session_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if let Some(expected) = &shared.config.bearer_token {
        let token = q
            .get("token")
            .cloned()
            .or_else(|| crate::native::bearer(&headers));
        if token.as_deref() != Some(expected.as_str()) {
            return ApiError::new(401, "unauthorized", "Not authenticated").into_response_for(D);
        }
    }
    match ws {
        Ok(ws) => ws.on_upgrade(move |socket| session(shared, ctl, socket, session_id)),
        Err(e) => {
            ApiError::bad_request(format!("WebSocket upgrade required: {e}")).into_response_for(D)
        }
    }
}

fn error(session: &str, code: &str, message: &str) -> Message {
    text(&json!({ "type": "error", "code": code, "message": message, "session_id": session }))
}

async fn session(shared: Arc<Shared>, ctl: Arc<ConnCtl>, socket: WebSocket, session_id: String) {
    let plan = shared.faults.conn_plan(Dialect::ChatV2);
    let (out, mut inbound) = outlet::split_ws(socket, plan, ctl);
    let conv = shared.hub.conv(Dialect::ChatV2, &session_id);
    if !out
        .send(text(
            &json!({ "type": "connected", "session_id": session_id }),
        ))
        .await
    {
        return;
    }
    let since = conv.last_seq();
    let follower = tokio::spawn(outlet::follow(conv.clone(), out.clone(), since, |f| {
        Step::Send(text(&f.data))
    }));
    while let Some(msg) = inbound.next().await {
        let raw = match msg {
            Inbound::Text(t) => t,
            Inbound::Binary => {
                out.send(error(
                    &session_id,
                    "unsupported_frame",
                    "binary frames are not supported; send base64 in JSON",
                ))
                .await;
                continue;
            }
        };
        let Ok(msg @ Value::Object(_)) = serde_json::from_str::<Value>(&raw) else {
            out.send(error(&session_id, "invalid_json", "malformed JSON"))
                .await;
            continue;
        };
        handle(&shared, &conv, &out, &msg, since).await;
    }
    follower.abort();
}

async fn handle(
    shared: &Arc<Shared>,
    conv: &Arc<Conv>,
    out: &Outlet<Message>,
    msg: &Value,
    since: u64,
) {
    let sid = conv.id.as_str();
    let id = str_field(msg, &["id", "client_id", "message_id"]);
    let (content, transcript) = match msg["type"].as_str().unwrap_or_default() {
        "ping" => {
            out.send(text(
                &json!({ "type": "pong", "timestamp": now_ms(), "session_id": sid }),
            ))
            .await;
            return;
        }
        "cancel" => {
            conv.cancel_running();
            return;
        }
        "text" => {
            match str_field(msg, &["content", "text", "message"]).filter(|s| !s.trim().is_empty()) {
                Some(c) => (c.to_owned(), false),
                None => {
                    out.send(error(sid, "invalid_message", "text messages need content"))
                        .await;
                    return;
                }
            }
        }
        "audio" => {
            let pcm = str_field(msg, &["data", "audio"])
                .and_then(b64_decode)
                .filter(|b| !b.is_empty() && b.len() % 2 == 0);
            let Some(pcm) = pcm else {
                out.send(error(sid, "invalid_audio", "audio needs PCM16 base64 data"))
                    .await;
                return;
            };
            let rate = msg["sample_rate"]
                .as_u64()
                .filter(|r| *r > 0)
                .unwrap_or(16_000);
            (
                format!("audio message of {} ms", pcm.len() as u64 / 2 * 1000 / rate),
                true,
            )
        }
        other => {
            out.send(error(
                sid,
                "unknown_type",
                &format!("unknown message type {other:?}"),
            ))
            .await;
            return;
        }
    };
    let (turn, new) = accept(shared, conv, id, &content, transcript);
    let ack = json!({ "type": "ack", "id": id, "message_id": turn.message_id, "duplicate": !new, "session_id": sid });
    out.send(text(&ack)).await;
    if !new {
        for f in conv.turn_frames(&turn.turn_id, since) {
            out.send(text(&f.data)).await;
        }
    }
}

async fn fallback(State(shared): AppState, headers: HeaderMap, body: Bytes) -> Response {
    let body = match parse_object(&body) {
        Ok(b) => b,
        Err(e) => return ApiError::new(422, "validation_error", e).into_response_for(D),
    };
    let Some(content) =
        str_field(&body, &["message", "content", "text"]).filter(|s| !s.trim().is_empty())
    else {
        return ApiError::new(422, "validation_error", "message is required").into_response_for(D);
    };
    let session_id = str_field(&body, &["session_id"])
        .map(str::to_owned)
        .unwrap_or_else(|| shared.hub.next_id("s"));
    let key = str_field(&body, &["client_id", "id"])
        .or(headers.get("idempotency-key").and_then(|v| v.to_str().ok()));
    let conv = shared.hub.conv(Dialect::ChatV2, &session_id);
    let (turn, _) = accept(&shared, &conv, key, content, false);
    let mut changes = conv.watch();
    let waited = tokio::time::timeout(Duration::from_secs(300), async {
        while !conv.turn(&turn.turn_id).is_some_and(|t| t.done) {
            if changes.changed().await.is_err() {
                return;
            }
        }
    })
    .await;
    if waited.is_err() {
        return ApiError::new(504, "timeout", "the agent did not finish").into_response_for(D);
    }
    let frames = conv.turn_frames(&turn.turn_id, u64::MAX);
    if let Some(err) = frames.iter().find(|f| f.data["type"] == "error") {
        return ApiError::new(
            500,
            "agent_error",
            err.data["message"].as_str().unwrap_or("error"),
        )
        .into_response_for(D);
    }
    let response = frames
        .iter()
        .find(|f| f.data["type"] == "message")
        .map(|f| f.data["content"].clone())
        .unwrap_or(Value::Null);
    let tool_calls: Vec<Value> = frames
        .iter()
        .filter(|f| f.data["type"] == "tool" && f.data["status"] == "start")
        .map(|s| {
            let id = &s.data["tool_call_id"];
            let end = frames.iter().find(|f| f.data["type"] == "tool" && f.data["status"] == "end" && &f.data["tool_call_id"] == id);
            json!({ "id": id, "name": s.data["name"], "args": s.data["args"], "result": end.map(|e| e.data["result"].clone()) })
        })
        .collect();
    Json(json!({ "session_id": session_id, "message_id": turn.message_id, "response": response, "tool_calls": tool_calls, "is_final": true })).into_response()
}

async fn history(State(shared): AppState, Path(session_id): Path<String>) -> Response {
    let Some(conv) = shared.hub.get(Dialect::ChatV2, &session_id) else {
        return ApiError::not_found("Session not found").into_response_for(D);
    };
    let messages: Vec<Value> = conv
        .history()
        .iter()
        .map(|h| json!({ "id": h.id, "role": h.role, "content": h.content, "timestamp": h.ts_ms, "reply_to": h.reply_to }))
        .collect();
    Json(json!({ "session_id": session_id, "messages": messages })).into_response()
}

//! The `native` dialect: chatwire's own WebSocket protocol (version 1), server side, as written
//! in the protocol docs of the SDK's native dialect.
//!
//! Route: `GET /native/v1/ws` (WebSocket; a plain GET gets `400 {"type":"error",...}`).
//!
//! - The client's first frame must be `{"type":"hello","conversation_id":"c-42","since_seq":17,
//!   "token":"..."}`. Any conversation id works (created on first use). The token (hello field or
//!   `Authorization: Bearer` on the upgrade) is checked only when the server has a bearer token
//!   configured. Failures: `{"type":"error","code":"bad_request"|"unauthorized",...}` then close
//!   (code 1008).
//! - Answer: `{"type":"welcome","conversation_id","last_seq","resumed","heartbeat_ms"}`, then every
//!   retained event with `seq > since_seq` in order, then live events. `resumed` is `false` when
//!   some events after `since_seq` were evicted or `since_seq` is ahead of `last_seq` (the server
//!   lost state); replay then continues from what is retained.
//! - Client frames: `send {client_id, text}` -> `ack {client_id, message_id, duplicate}` (a known
//!   client id gets the same `message_id`, `duplicate: true`, and no new turn); `typing {active}`
//!   (accepted, no answer); `cancel` (cancels the running turn -> `turn_cancelled`); `ping {nonce}`
//!   -> `pong {nonce}`; `pong` (ignored). Malformed JSON, binary frames, a second `hello`, unknown
//!   types or missing fields get `error {code:"bad_request"}` and the socket stays open; when the
//!   refused frame was a `send` with a `client_id`, the error carries that `client_id`.
//! - Server pings `{"type":"ping","nonce":N}` every `heartbeat_ms` (config `ping_interval`).
//! - On `POST /_mock/restart` with `goodbye`, sockets get `{"type":"goodbye","reason":"restart",
//!   "retry_after_ms":N}` before the drop.
//! - Events: `{"type":"event","seq","ts","kind","turn_id",...}` with kinds `turn_started
//!   {reply_to}`, `status {stage}`, `tool_started {tool_id,name,args}`, `tool_progress {tool_id,
//!   message}`, `tool_completed {tool_id,output}`, `tool_failed {tool_id,error}`, `message_started
//!   {message_id,role}`, `text_delta {message_id,offset,text}`, `message_completed {message_id,
//!   text}`, `turn_completed {finish_reason}`, `turn_failed {error}`, `turn_cancelled`.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{
    CloseFrame, Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection,
};
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::agent::{self, AgentEvent, TurnIds};
use crate::conn::{ConnCtl, ConnHandle};
use crate::dialect::{ApiError, Dialect};
use crate::hub::{Conv, HistoryEntry, TurnRec};
use crate::outlet::{self, Inbound, Outlet, Step, text};
use crate::server::{AppState, Shared};
use crate::util::now_ms;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/native/v1/ws", get(upgrade))
}

async fn upgrade(
    State(shared): AppState,
    ConnectInfo(ConnHandle(ctl)): ConnectInfo<ConnHandle>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => {
            return ApiError::bad_request(format!("WebSocket upgrade required: {e}"))
                .into_response_for(Some(Dialect::Native));
        }
    };
    let header_token = bearer(&headers);
    ws.max_message_size(1 << 20)
        .on_upgrade(move |socket| session(shared, ctl, header_token, socket))
}

/// The bearer token of an `Authorization` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    value.strip_prefix("Bearer ").map(|t| t.trim().to_owned())
}

fn error_frame(code: &str, message: &str) -> Message {
    text(&json!({ "type": "error", "code": code, "message": message, "retryable": false }))
}

async fn refuse(out: &Outlet<Message>, code: &str, message: &str) {
    out.send(error_frame(code, message)).await;
    let close = CloseFrame {
        code: 1008,
        reason: message.chars().take(100).collect::<String>().into(),
    };
    out.send(Message::Close(Some(close))).await;
}

async fn session(
    shared: Arc<Shared>,
    ctl: Arc<ConnCtl>,
    header_token: Option<String>,
    socket: WebSocket,
) {
    let plan = shared.faults.conn_plan(Dialect::Native);
    let (out, mut inbound) = outlet::split_ws(socket, plan, ctl);
    let hello = match tokio::time::timeout(Duration::from_secs(10), inbound.next()).await {
        Ok(Some(Inbound::Text(t))) => t,
        Ok(Some(Inbound::Binary)) => {
            return refuse(&out, "bad_request", "binary frames are not allowed").await;
        }
        Ok(None) => return,
        Err(_) => return refuse(&out, "bad_request", "no hello within 10 s").await,
    };
    let hello: Value = match serde_json::from_str(&hello) {
        Ok(v @ Value::Object(_)) => v,
        _ => return refuse(&out, "bad_request", "malformed JSON").await,
    };
    if hello["type"] != "hello" {
        return refuse(&out, "bad_request", "the first frame must be hello").await;
    }
    let Some(conv_id) = hello["conversation_id"].as_str().filter(|s| !s.is_empty()) else {
        return refuse(&out, "bad_request", "hello needs a conversation_id").await;
    };
    let since = match &hello["since_seq"] {
        Value::Null => 0,
        v => match v.as_u64() {
            Some(n) => n,
            None => return refuse(&out, "bad_request", "since_seq must be an integer >= 0").await,
        },
    };
    if let Some(expected) = &shared.config.bearer_token {
        let token = hello["token"].as_str().map(str::to_owned).or(header_token);
        if token.as_deref() != Some(expected.as_str()) {
            return refuse(&out, "unauthorized", "missing or wrong token").await;
        }
    }
    let conv = shared.hub.conv(Dialect::Native, conv_id);
    let last = conv.last_seq();
    let (_, gap) = conv.frames_after(since);
    let resumed = !gap && since <= last;
    let heartbeat_ms = u64::try_from(shared.config.ping_interval.as_millis()).unwrap_or(u64::MAX);
    let welcome = json!({
        "type": "welcome", "conversation_id": conv_id, "last_seq": last,
        "resumed": resumed, "heartbeat_ms": heartbeat_ms,
    });
    if !out.send(text(&welcome)).await {
        return;
    }
    let cursor = since.min(last);
    let follow = outlet::follow(conv.clone(), out.clone(), cursor, |f| {
        Step::Send(text(&f.data))
    });
    let _follower = outlet::AbortOnDrop(tokio::spawn(follow));
    let mut restarts = shared.restarts.subscribe();
    restarts.borrow_and_update();
    let mut ping = tokio::time::interval_at(
        tokio::time::Instant::now() + shared.config.ping_interval,
        shared.config.ping_interval,
    );
    let mut nonce = 0u64;
    loop {
        tokio::select! {
            msg = inbound.next() => match msg {
                None => return,
                Some(Inbound::Binary) => { out.send(error_frame("bad_request", "binary frames are not allowed")).await; }
                Some(Inbound::Text(t)) => handle(&shared, &conv, &out, &t).await,
            },
            changed = restarts.changed() => {
                if changed.is_err() { return; }
                let retry_after_ms = restarts.borrow().retry_after_ms;
                out.send(text(&json!({ "type": "goodbye", "reason": "restart", "retry_after_ms": retry_after_ms }))).await;
            }
            _ = ping.tick() => {
                nonce += 1;
                out.send(text(&json!({ "type": "ping", "nonce": nonce }))).await;
            }
        }
    }
}

async fn handle(shared: &Arc<Shared>, conv: &Arc<Conv>, out: &Outlet<Message>, raw: &str) {
    let frame: Value = match serde_json::from_str(raw) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            out.send(error_frame("bad_request", "malformed JSON")).await;
            return;
        }
    };
    match frame["type"].as_str() {
        Some("send") => {
            let (Some(client_id), Some(msg)) = (
                frame["client_id"].as_str().filter(|s| !s.is_empty()),
                frame["text"].as_str(),
            ) else {
                let mut err = json!({ "type": "error", "code": "bad_request",
                    "message": "send needs client_id and text", "retryable": false });
                if let Some(cid) = frame["client_id"].as_str() {
                    err["client_id"] = json!(cid);
                }
                out.send(text(&err)).await;
                return;
            };
            let hub = &shared.hub;
            hub.record(Dialect::Native, &conv.id, Some(client_id), msg);
            let (turn, new) = conv.accept(Some(client_id), |after| TurnRec {
                turn_id: hub.next_id("t"),
                message_id: hub.next_id("m"),
                client_id: Some(client_id.to_owned()),
                after_seq: after,
                done: false,
                extra: Value::Null,
            });
            let ack = json!({ "type": "ack", "client_id": client_id, "message_id": turn.message_id, "duplicate": !new });
            out.send(text(&ack)).await;
            if new {
                start_turn(shared, conv, turn, msg);
            }
        }
        Some("typing") | Some("pong") => {}
        Some("cancel") => {
            conv.cancel_running();
        }
        Some("ping") => {
            out.send(text(&json!({ "type": "pong", "nonce": frame["nonce"] })))
                .await;
        }
        Some("hello") => {
            out.send(error_frame("bad_request", "hello was already received"))
                .await;
        }
        _ => {
            out.send(error_frame("bad_request", "unknown frame type"))
                .await;
        }
    }
}

fn start_turn(shared: &Arc<Shared>, conv: &Arc<Conv>, turn: TurnRec, msg: &str) {
    conv.add_history(HistoryEntry {
        id: turn.message_id.clone(),
        role: "user".to_owned(),
        content: msg.to_owned(),
        ts_ms: now_ms(),
        tool_calls: Vec::new(),
        reply_to: None,
    });
    let ids = TurnIds {
        reply_message_id: shared.hub.next_id("m"),
        tool_id: shared.hub.next_id("tool"),
    };
    agent::spawn_turn(
        conv.clone(),
        turn,
        agent::Script::parse(msg),
        msg.to_owned(),
        ids,
        shared.timing(),
        Box::new(render),
    );
}

/// Renders an agent event as a native conversation event.
fn render(ev: &AgentEvent, conv: &Conv, turn: &TurnRec) {
    let (kind, fields) = match ev {
        AgentEvent::TurnStarted => ("turn_started", json!({ "reply_to": turn.client_id })),
        AgentEvent::Status(stage) => ("status", json!({ "stage": stage.as_str() })),
        AgentEvent::ToolStarted {
            tool_id,
            name,
            args,
        } => (
            "tool_started",
            json!({ "tool_id": tool_id, "name": name, "args": args }),
        ),
        AgentEvent::ToolProgress { tool_id, message } => (
            "tool_progress",
            json!({ "tool_id": tool_id, "message": message }),
        ),
        AgentEvent::ToolCompleted { tool_id, output } => (
            "tool_completed",
            json!({ "tool_id": tool_id, "output": output }),
        ),
        AgentEvent::ToolFailed { tool_id, error } => {
            ("tool_failed", json!({ "tool_id": tool_id, "error": error }))
        }
        AgentEvent::MessageStarted { message_id } => (
            "message_started",
            json!({ "message_id": message_id, "role": "assistant" }),
        ),
        AgentEvent::Token {
            message_id,
            offset,
            text,
            ..
        } => (
            "text_delta",
            json!({ "message_id": message_id, "offset": offset, "text": text }),
        ),
        AgentEvent::MessageCompleted { message_id, text } => (
            "message_completed",
            json!({ "message_id": message_id, "text": text }),
        ),
        AgentEvent::TurnCompleted { finish_reason } => {
            ("turn_completed", json!({ "finish_reason": finish_reason }))
        }
        AgentEvent::TurnFailed { error } => ("turn_failed", json!({ "error": error })),
        AgentEvent::TurnCancelled => ("turn_cancelled", json!({})),
    };
    let turn_id = turn.turn_id.as_str();
    conv.push_with(Some(turn_id), None, None, move |seq| {
        let mut obj = Map::new();
        obj.insert("type".into(), json!("event"));
        obj.insert("seq".into(), json!(seq));
        obj.insert("ts".into(), json!(now_ms()));
        obj.insert("kind".into(), json!(kind));
        obj.insert("turn_id".into(), json!(turn_id));
        if let Value::Object(extra) = fields {
            obj.extend(extra);
        }
        Value::Object(obj)
    });
}

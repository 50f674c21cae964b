//! miptech's WebSocket `GET /api/v1/ws/chat?tenant_id=&chat_id=&client_id=`: the
//! `connection_established` / `connection_ready` handshake, chat rooms, `chat_message` with
//! idempotent re-send, ping/pong (frames documented in the parent module).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::{
    Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection,
};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::{D, accept, authorize, frame, header};
use crate::conn::{ConnCtl, ConnHandle};
use crate::dialect::{ApiError, Dialect};
use crate::hub::Conv;
use crate::outlet::{self, Inbound, Outlet, Step, text};
use crate::server::{AppState, Shared};
use crate::util::{now_ms, str_field};

pub(crate) async fn upgrade(
    State(shared): AppState,
    ConnectInfo(ConnHandle(ctl)): ConnectInfo<ConnHandle>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Some(tenant) = q.get("tenant_id").filter(|t| !t.is_empty()) else {
        return ApiError::new(400, "tenant_required", "tenant_id is required").into_response_for(D);
    };
    let key = q
        .get("api_key")
        .map(String::as_str)
        .or(header(&headers, &["x-api-key"]));
    let tenant = match authorize(&shared, Some(tenant), key) {
        Ok(t) => t,
        Err(e) => return e.into_response_for(D),
    };
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => {
            return ApiError::bad_request(format!("WebSocket upgrade required: {e}"))
                .into_response_for(D);
        }
    };
    let chat_id = q
        .get("chat_id")
        .filter(|c| !c.is_empty() && *c != "null")
        .cloned();
    let client_id = q
        .get("client_id")
        .cloned()
        .unwrap_or_else(|| shared.hub.next_id("client"));
    ws.on_upgrade(move |socket| session(shared, ctl, socket, tenant, chat_id, client_id))
}

/// One socket's subscription to a chat.
struct Joined {
    conv: Arc<Conv>,
    since: u64,
    task: JoinHandle<()>,
}

fn join(shared: &Shared, out: &Outlet<Message>, chat_id: &str, tenant: &str) -> Joined {
    let conv = shared.hub.conv(Dialect::Miptech, chat_id);
    if conv.meta("tenant_id").is_none() {
        conv.set_meta("tenant_id", json!(tenant));
    }
    let since = conv.last_seq();
    let task = tokio::spawn(outlet::follow(conv.clone(), out.clone(), since, |f| {
        Step::Send(text(&f.data))
    }));
    Joined { conv, since, task }
}

fn error(code: &str, detail: &str, retryable: bool) -> Message {
    text(&frame(
        "error",
        json!({ "detail": detail, "type": "websocket_error", "code": code, "retryable": retryable }),
    ))
}

async fn session(
    shared: Arc<Shared>,
    ctl: Arc<ConnCtl>,
    socket: WebSocket,
    tenant: String,
    chat_id: Option<String>,
    client_id: String,
) {
    let plan = shared.faults.conn_plan(Dialect::Miptech);
    let (out, mut inbound) = outlet::split_ws(socket, plan, ctl);
    let connection_id = shared.hub.next_id("conn");
    let established = json!({ "client_id": client_id, "tenant_id": tenant, "chat_id": chat_id, "connection_id": connection_id });
    if !out
        .send(text(&frame("connection_established", established)))
        .await
    {
        return;
    }
    let mut joined = chat_id.as_deref().map(|c| join(&shared, &out, c, &tenant));
    let ready_at = tokio::time::Instant::now() + shared.config.init_delay;
    let ready_sleep = tokio::time::sleep_until(ready_at);
    tokio::pin!(ready_sleep);
    let mut ready = false;
    loop {
        let raw = tokio::select! {
            _ = &mut ready_sleep, if !ready => {
                ready = true;
                let data = json!({ "client_id": client_id, "chat_id": joined.as_ref().map(|j| j.conv.id.clone()), "platform_status": "ready" });
                out.send(text(&frame("connection_ready", data))).await;
                continue;
            }
            msg = inbound.next() => match msg {
                None => break,
                Some(Inbound::Binary) => { out.send(error("INVALID_FRAME", "binary frames are not supported", false)).await; continue; }
                Some(Inbound::Text(t)) => t,
            },
        };
        let Ok(msg @ Value::Object(_)) = serde_json::from_str::<Value>(&raw) else {
            out.send(error("INVALID_JSON", "malformed JSON", false))
                .await;
            continue;
        };
        let data = &msg["data"];
        match msg["type"].as_str().unwrap_or_default() {
            "ping" => {
                out.send(text(&frame("pong", json!({ "timestamp": now_ms() }))))
                    .await;
            }
            "typing_start" | "typing_stop" => {}
            kind @ ("join_chat" | "leave_chat") => {
                let target = str_field(data, &["chat_id"]).or(str_field(&msg, &["chat_id"]));
                if let Some(j) = joined.take() {
                    j.task.abort();
                }
                if kind == "join_chat" {
                    let Some(target) = target else {
                        out.send(error(
                            "VALIDATION_ERROR",
                            "join_chat needs data.chat_id",
                            false,
                        ))
                        .await;
                        continue;
                    };
                    joined = Some(join(&shared, &out, target, &tenant));
                    out.send(text(&frame("chat_joined", json!({ "chat_id": target }))))
                        .await;
                } else {
                    out.send(text(&frame("chat_left", json!({ "chat_id": target }))))
                        .await;
                }
            }
            "chat_message" => {
                if !ready {
                    out.send(error(
                        "PLATFORM_NOT_READY",
                        "platform is initializing",
                        true,
                    ))
                    .await;
                    continue;
                }
                let Some(content) =
                    str_field(data, &["message", "content"]).filter(|s| !s.trim().is_empty())
                else {
                    out.send(error(
                        "VALIDATION_ERROR",
                        "chat_message needs data.message",
                        false,
                    ))
                    .await;
                    continue;
                };
                let target = str_field(data, &["chat_id"])
                    .map(str::to_owned)
                    .or_else(|| joined.as_ref().map(|j| j.conv.id.clone()));
                let Some(target) = target else {
                    out.send(error(
                        "VALIDATION_ERROR",
                        "no chat joined and no data.chat_id",
                        false,
                    ))
                    .await;
                    continue;
                };
                if joined.as_ref().is_none_or(|j| j.conv.id != target) {
                    if let Some(j) = joined.take() {
                        j.task.abort();
                    }
                    joined = Some(join(&shared, &out, &target, &tenant));
                }
                let Some(j) = joined.as_ref() else { continue };
                let cid = str_field(&msg, &["clientId", "client_id"])
                    .or(str_field(data, &["client_id", "clientId"]));
                let (turn, new) = accept(&shared, &j.conv, cid, content);
                let ack = json!({ "message_id": turn.message_id, "client_id": cid, "chat_id": target, "content": content, "duplicate": !new });
                out.send(text(&frame("message_received", ack))).await;
                if !new {
                    for f in j.conv.turn_frames(&turn.turn_id, j.since) {
                        out.send(text(&f.data)).await;
                    }
                }
            }
            other => {
                out.send(error(
                    "UNKNOWN_MESSAGE_TYPE",
                    &format!("unknown message type {other:?}"),
                    false,
                ))
                .await;
            }
        }
    }
    if let Some(j) = joined {
        j.task.abort();
    }
}

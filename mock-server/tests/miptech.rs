//! The miptech dialect: the 4-step connect flow, streamed response events, REST messages
//! delivered over the socket, idempotent re-send, tenant and API-key checks, bad input.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::{Ws, http, server, server_with};
use serde_json::{Value, json};

fn ws_url(base: &str, chat: &str) -> String {
    format!("{base}/api/v1/ws/chat?tenant_id=demo-tenant&chat_id={chat}&client_id=c1")
}

async fn create_chat(base: &str) -> String {
    let resp = http()
        .post(format!("{base}/api/v1/chat"))
        .header("X-Tenant-ID", "demo-tenant")
        .json(&json!({"title": "t"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["tenant_id"], "demo-tenant");
    v["chat_id"].as_str().unwrap().to_owned()
}

async fn ready(base: &str, chat: &str) -> Ws {
    let mut ws = Ws::connect(&ws_url(base, chat)).await;
    let est = ws.next().await.unwrap();
    assert_eq!(est["type"], "connection_established");
    assert_eq!(est["data"]["client_id"], "c1");
    assert_eq!(ws.next().await.unwrap()["type"], "connection_ready");
    ws
}

#[tokio::test]
async fn four_step_flow_and_streamed_reply() {
    let srv = server().await;
    let base = srv.base_url();
    let health: Value = http()
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "healthy");
    let chat = create_chat(&base).await;
    let mut ws = ready(&srv.ws_url(), &chat).await;
    ws.send(json!({"type": "join_chat", "data": {"chat_id": chat}}))
        .await;
    assert_eq!(ws.next().await.unwrap()["type"], "chat_joined");
    ws.send(json!({"type": "chat_message", "data": {"message": "hey you", "chat_id": chat, "tenant_id": "demo-tenant"},
                   "timestamp": 1, "clientId": "cl-1"})).await;
    let frames = ws.until(|v| v["type"] == "response_complete").await;
    let types: Vec<&str> = frames.iter().map(|f| f["type"].as_str().unwrap()).collect();
    assert_eq!(types[0], "message_received");
    assert_eq!(frames[0]["data"]["client_id"], "cl-1");
    assert!(types.contains(&"processing") && types.contains(&"response_start"));
    let text: String = frames
        .iter()
        .filter(|f| f["type"] == "response_chunk")
        .map(|f| f["data"]["content"].as_str().unwrap())
        .collect();
    assert_eq!(text, "You said: hey you");
    let done = frames.last().unwrap();
    assert_eq!(done["data"]["message"]["content"], "You said: hey you");
    assert_eq!(done["data"]["message"]["role"], "assistant");
    assert!(done["eventTs"].is_u64());
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.next().await.unwrap()["type"], "pong");
}

#[tokio::test]
async fn rest_message_streams_to_socket_and_resend_is_idempotent() {
    let srv = server().await;
    let base = srv.base_url();
    let chat = create_chat(&base).await;
    let mut ws = ready(&srv.ws_url(), &chat).await;
    let post = || {
        http()
            .post(format!("{base}/api/v1/chat/{chat}/messages"))
            .header("Idempotency-Key", "k-1")
            .json(&json!({"content": "via rest"}))
            .send()
    };
    let first = post().await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let frames = ws.until(|v| v["type"] == "response_complete").await;
    assert!(frames.iter().any(|f| f["type"] == "response_chunk"));
    // the history lists the reply with the id of the message it answers
    let hist: Value = http()
        .get(format!("{base}/api/v1/chat/{chat}/messages"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let reply = hist["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "assistant")
        .cloned()
        .unwrap();
    assert_eq!(reply["reply_to"], first["message_id"]);
    assert_eq!(reply["content"], "You said: via rest");
    let again = post().await.unwrap();
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["message_id"], first["message_id"]);
    let rec = srv.received();
    assert_eq!(rec.len(), 1);
    assert_eq!(rec[0].times_received, 2);
    // A re-sent clientId on a new socket replays the turn it missed.
    drop(ws);
    let mut ws = ready(&srv.ws_url(), &chat).await;
    ws.send(json!({"type": "chat_message", "data": {"message": "via rest", "chat_id": chat}, "clientId": "k-1"})).await;
    let replay = ws.until(|v| v["type"] == "response_complete").await;
    assert_eq!(replay[0]["data"]["duplicate"], true);
    assert_eq!(
        replay.last().unwrap()["data"]["message"]["content"],
        "You said: via rest"
    );
}

#[tokio::test]
async fn tenants_and_api_key_are_checked_when_configured() {
    let srv = server_with(
        chatwire_mock::MockConfig::default()
            .tenants(["acme"])
            .api_key("k"),
    )
    .await;
    let base = srv.base_url();
    let url = format!("{base}/api/v1/chat");
    let resp = http()
        .post(&url)
        .header("X-Tenant-ID", "acme")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        json!({"detail": body["detail"], "type": "authentication_error", "code": "INVALID_API_KEY", "retryable": false})
    );
    let resp = http()
        .post(&url)
        .header("X-Tenant-ID", "evil")
        .header("X-API-Key", "k")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["code"],
        "TENANT_NOT_ALLOWED"
    );
    let resp = http()
        .post(&url)
        .header("X-Tenant-ID", "acme")
        .header("X-API-Key", "k")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let ws = tokio_tungstenite::connect_async(format!(
        "{}/api/v1/ws/chat?tenant_id=evil&api_key=k",
        srv.ws_url()
    ))
    .await;
    assert!(ws.is_err());
    let ok = tokio_tungstenite::connect_async(format!(
        "{}/api/v1/ws/chat?tenant_id=acme&api_key=k",
        srv.ws_url()
    ))
    .await;
    assert!(ok.is_ok());
}

#[tokio::test]
async fn bad_requests_get_the_error_shape() {
    let srv = server().await;
    let base = srv.base_url();
    let resp = http()
        .post(format!("{base}/api/v1/chat/nope/messages"))
        .json(&json!({"content": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["code"],
        "CHAT_NOT_FOUND"
    );
    let chat = create_chat(&base).await;
    let resp = http()
        .post(format!("{base}/api/v1/chat/{chat}/messages"))
        .body("{broken")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    assert_eq!(resp.json::<Value>().await.unwrap()["retryable"], false);
    let resp = http()
        .get(format!("{base}/api/v1/ws/chat"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["code"],
        "TENANT_REQUIRED"
    );
    let mut ws = Ws::connect(&ws_url(&srv.ws_url(), &chat)).await;
    ws.next().await.unwrap();
    ws.send(json!({"type": "chat_message", "data": {"message": "early"}}))
        .await;
    let early = ws.until(|v| v["type"] == "error").await;
    assert_eq!(early.last().unwrap()["data"]["code"], "PLATFORM_NOT_READY");
    ws.send_raw("nope").await;
    assert_eq!(
        ws.until(|v| v["type"] == "error").await.last().unwrap()["data"]["code"],
        "INVALID_JSON"
    );
    ws.until(|v| v["type"] == "connection_ready").await;
    ws.send(json!({"type": "chat_message", "data": {"message": "/error"}}))
        .await;
    let frames = ws
        .until(|v| v["type"] == "error" && v["data"]["code"] == "AI_PROCESSING_FAILED")
        .await;
    assert!(frames.iter().any(|f| f["type"] == "message_received"));
}

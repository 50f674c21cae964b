//! The native dialect against a plain WebSocket client: handshake, streaming, idempotent
//! re-send, resume from `since_seq`, auth, cancel, bad input.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::{Ws, server, server_with};
use serde_json::{Value, json};

fn is_turn_end(v: &Value) -> bool {
    matches!(
        v["kind"].as_str(),
        Some("turn_completed" | "turn_failed" | "turn_cancelled")
    )
}

async fn hello(url: &str, conv: &str, since: u64) -> (Ws, Value) {
    let mut ws = Ws::connect(&format!("{url}/native/v1/ws")).await;
    ws.send(json!({"type": "hello", "conversation_id": conv, "since_seq": since}))
        .await;
    let welcome = ws.next().await.unwrap();
    (ws, welcome)
}

fn text_of(events: &[Value]) -> String {
    events
        .iter()
        .filter(|e| e["kind"] == "text_delta")
        .map(|e| e["text"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn echo_turn_streams_words_with_gapless_seqs() {
    let srv = server().await;
    let (mut ws, welcome) = hello(&srv.ws_url(), "c-1", 0).await;
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(welcome["last_seq"], 0);
    assert_eq!(welcome["resumed"], true);
    ws.send(json!({"type": "send", "client_id": "u-1", "text": "hello world"}))
        .await;
    let frames = ws.until(is_turn_end).await;
    assert_eq!(
        frames[0],
        json!({"type": "ack", "client_id": "u-1", "message_id": frames[0]["message_id"], "duplicate": false})
    );
    let events: Vec<Value> = frames
        .into_iter()
        .filter(|f| f["type"] == "event")
        .collect();
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    assert_eq!(events[0]["kind"], "turn_started");
    assert_eq!(events[0]["reply_to"], "u-1");
    assert_eq!(text_of(&events), "You said: hello world");
    let deltas: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "text_delta")
        .collect();
    assert_eq!(deltas.len(), 4);
    assert_eq!(deltas[2]["offset"], 10);
    let done = events
        .iter()
        .find(|e| e["kind"] == "message_completed")
        .unwrap();
    assert_eq!(done["text"], "You said: hello world");
    assert_eq!(events.last().unwrap()["finish_reason"], "stop");
    let rec = srv.received();
    assert_eq!(rec.len(), 1);
    assert_eq!(rec[0].text, "hello world");
    assert_eq!(rec[0].client_id.as_deref(), Some("u-1"));
}

#[tokio::test]
async fn resend_is_acked_as_duplicate_and_recorded_once() {
    let srv = server().await;
    let (mut ws, _) = hello(&srv.ws_url(), "c-2", 0).await;
    ws.send(json!({"type": "send", "client_id": "u-9", "text": "once"}))
        .await;
    let first = ws.until(is_turn_end).await;
    ws.send(json!({"type": "send", "client_id": "u-9", "text": "once"}))
        .await;
    let ack = ws.next().await.unwrap();
    assert_eq!(ack["duplicate"], true);
    assert_eq!(ack["message_id"], first[0]["message_id"]);
    // No second turn: a ping round-trip arrives with nothing in between.
    ws.send(json!({"type": "ping", "nonce": 5})).await;
    assert_eq!(
        ws.next().await.unwrap(),
        json!({"type": "pong", "nonce": 5})
    );
    let rec = srv.received();
    assert_eq!(rec.len(), 1);
    assert_eq!(rec[0].times_received, 2);
}

#[tokio::test]
async fn resume_replays_events_after_since_seq() {
    let srv = server().await;
    let (mut ws, _) = hello(&srv.ws_url(), "c-3", 0).await;
    ws.send(json!({"type": "send", "client_id": "a", "text": "one two"}))
        .await;
    let first: Vec<Value> = ws
        .until(is_turn_end)
        .await
        .into_iter()
        .filter(|f| f["type"] == "event")
        .collect();
    drop(ws);
    let last = first.last().unwrap()["seq"].as_u64().unwrap();
    let (mut ws, welcome) = hello(&srv.ws_url(), "c-3", 3).await;
    assert_eq!(welcome["last_seq"], last);
    assert_eq!(welcome["resumed"], true);
    let replay = ws.until(|v| v["seq"].as_u64() == Some(last)).await;
    assert_eq!(replay, first[3..].to_vec());
}

#[tokio::test]
async fn token_is_required_when_configured() {
    let srv = server_with(chatwire_mock::MockConfig::default().bearer_token("s3cret")).await;
    let mut ws = Ws::connect(&format!("{}/native/v1/ws", srv.ws_url())).await;
    ws.send(json!({"type": "hello", "conversation_id": "c"}))
        .await;
    let err = ws.next().await.unwrap();
    assert_eq!(err["type"], "error");
    assert_eq!(err["code"], "unauthorized");
    assert!(ws.next().await.is_none());
    let mut ws = Ws::connect(&format!("{}/native/v1/ws", srv.ws_url())).await;
    ws.send(json!({"type": "hello", "conversation_id": "c", "token": "s3cret"}))
        .await;
    assert_eq!(ws.next().await.unwrap()["type"], "welcome");
}

#[tokio::test]
async fn bad_frames_get_errors_and_the_socket_stays_open() {
    let srv = server().await;
    let (mut ws, _) = hello(&srv.ws_url(), "c-4", 0).await;
    ws.send_raw("{not json").await;
    assert_eq!(ws.next().await.unwrap()["code"], "bad_request");
    ws.send(json!({"type": "send", "text": "no id"})).await;
    assert_eq!(ws.next().await.unwrap()["code"], "bad_request");
    ws.send(json!({"type": "bogus"})).await;
    assert_eq!(ws.next().await.unwrap()["code"], "bad_request");
    ws.send(json!({"type": "ping", "nonce": 1})).await;
    assert_eq!(ws.next().await.unwrap()["type"], "pong");
    let mut raw = Ws::connect(&format!("{}/native/v1/ws", srv.ws_url())).await;
    raw.send(json!({"type": "send", "client_id": "x", "text": "too early"}))
        .await;
    assert_eq!(raw.next().await.unwrap()["code"], "bad_request");
    assert!(raw.next().await.is_none());
}

#[tokio::test]
async fn tool_error_and_cancel_scripts() {
    let srv = server().await;
    let (mut ws, _) = hello(&srv.ws_url(), "c-5", 0).await;
    ws.send(json!({"type": "send", "client_id": "t", "text": "/tool paris"}))
        .await;
    let ev = ws.until(is_turn_end).await;
    let kinds: Vec<&str> = ev.iter().filter_map(|e| e["kind"].as_str()).collect();
    let pos = |k: &str| kinds.iter().position(|x| *x == k).unwrap();
    assert!(
        pos("tool_started") < pos("tool_progress") && pos("tool_progress") < pos("tool_completed")
    );
    assert!(pos("tool_completed") < pos("message_started"));
    let started = ev.iter().find(|e| e["kind"] == "tool_started").unwrap();
    assert_eq!(started["name"], "lookup");
    assert_eq!(started["args"], json!({"query": "paris"}));
    ws.send(json!({"type": "send", "client_id": "e", "text": "/error"}))
        .await;
    let ev = ws.until(is_turn_end).await;
    assert_eq!(ev.last().unwrap()["kind"], "turn_failed");
    ws.send(json!({"type": "send", "client_id": "l", "text": "/long 100000"}))
        .await;
    ws.until(|v| v["kind"] == "text_delta").await;
    ws.send(json!({"type": "cancel"})).await;
    let ev = ws.until(is_turn_end).await;
    assert_eq!(ev.last().unwrap()["kind"], "turn_cancelled");
}

#[tokio::test]
async fn flood_delivers_every_event_in_order() {
    let srv = server().await;
    let (mut ws, _) = hello(&srv.ws_url(), "flood", 0).await;
    ws.send(json!({"type": "send", "client_id": "f", "text": "/flood 30000"}))
        .await;
    let frames = ws.until(is_turn_end).await;
    let events: Vec<&Value> = frames.iter().filter(|f| f["type"] == "event").collect();
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "gapless despite retention of 10 000"
    );
    assert_eq!(
        events.iter().filter(|e| e["kind"] == "text_delta").count(),
        30000
    );
}

//! Every fault kind observably happening, set through the control API or the library: drop
//! after N frames, duplicates, reordering (deterministic per seed), delay, HTTP errors with
//! Retry-After and `once`, half-open, refused connections, restart (on demand and scheduled by
//! `restart_after_ms`, global or per dialect), reset and the record.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use std::time::{Duration, Instant};

use chatwire_mock::{FaultSpec, HttpErrorSpec, MockConfig};
use common::{Sse, WAIT, Ws, http, server, server_with};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

async fn native(url: &str, conv: &str, since: u64) -> Ws {
    let mut ws = Ws::connect(&format!("{url}/native/v1/ws")).await;
    ws.send(json!({"type": "hello", "conversation_id": conv, "since_seq": since}))
        .await;
    ws
}

async fn post_faults(base: &str, spec: Value) -> reqwest::Response {
    http()
        .post(format!("{base}/_mock/faults"))
        .json(&spec)
        .send()
        .await
        .unwrap()
}

/// Waits until the socket ends (close frame, error or EOF), skipping frames (a native socket
/// may get `goodbye` first); panics if it is still open after the whole wait.
async fn wait_dropped(ws: &mut Ws) {
    loop {
        match tokio::time::timeout(WAIT, ws.0.next()).await {
            Ok(Some(Ok(Message::Close(_)) | Err(_)) | None) => return,
            Ok(Some(Ok(_))) => continue,
            Err(_) => panic!("the socket was never dropped"),
        }
    }
}

/// Opens a native socket, retrying until the server accepts; returns it and how many attempts
/// were refused first.
async fn connect_retrying(url: &str) -> (Ws, usize) {
    let mut refused = 0;
    loop {
        match tokio_tungstenite::connect_async(url).await {
            Ok((ws, _)) => return (Ws(ws), refused),
            Err(_) => {
                refused += 1;
                assert!(refused < 1000, "never accepted again");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

fn is_end(v: &Value) -> bool {
    matches!(
        v["kind"].as_str(),
        Some("turn_completed" | "turn_failed" | "turn_cancelled")
    )
}

#[tokio::test]
async fn drop_after_frames_closes_the_socket_after_n_frames() {
    let srv = server().await;
    let resp = post_faults(
        &srv.base_url(),
        json!({"dialect": "native", "drop_after_frames": 3}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let mut ws = native(&srv.ws_url(), "c", 0).await;
    ws.send(json!({"type": "send", "client_id": "a", "text": "x y z"}))
        .await;
    let frames = ws.drain(Duration::from_secs(5)).await;
    assert_eq!(frames.len(), 3, "{frames:?}");
    assert_eq!(frames[0]["type"], "welcome");
    // The turn went on without the socket: resume gets the rest.
    srv.clear_faults();
    let mut ws = native(&srv.ws_url(), "c", 1).await;
    assert_eq!(ws.next().await.unwrap()["resumed"], true);
    let rest = ws.until(is_end).await;
    assert_eq!(rest[0]["seq"], 2);
}

#[tokio::test]
async fn duplicate_rate_one_sends_every_frame_twice() {
    let srv = server().await;
    srv.set_faults(FaultSpec {
        duplicate_rate: Some(1.0),
        ..FaultSpec::default()
    })
    .unwrap();
    let mut ws = native(&srv.ws_url(), "c", 0).await;
    let a = ws.next().await.unwrap();
    let b = ws.next().await.unwrap();
    assert_eq!(a["type"], "welcome");
    assert_eq!(a, b);
}

async fn reordered_seqs(seed: u64) -> Vec<u64> {
    let srv = server().await;
    srv.set_faults(FaultSpec {
        seed: Some(seed),
        reorder_window: Some(4),
        ..FaultSpec::default()
    })
    .unwrap();
    let mut ws = native(&srv.ws_url(), "c", 0).await;
    ws.send(json!({"type": "send", "client_id": "a", "text": "/long 20"}))
        .await;
    let mut seqs = Vec::new();
    while let Some(v) = ws.next_within(Duration::from_secs(2)).await {
        if let Some(s) = v["seq"].as_u64() {
            seqs.push(s);
        }
        if seqs.len() == 28 {
            break;
        }
    }
    seqs
}

#[tokio::test]
async fn reorder_window_shuffles_deterministically_per_seed() {
    let a = reordered_seqs(7).await;
    let b = reordered_seqs(7).await;
    assert_eq!(a, b, "same seed, same order");
    let mut sorted = a.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (1..=28).collect::<Vec<_>>(), "nothing lost");
    assert_ne!(a, sorted, "frames were reordered");
}

#[tokio::test]
async fn http_error_with_retry_after_and_once() {
    let srv = server().await;
    let base = srv.base_url();
    post_faults(&base, json!({"dialect": "miptech", "http_error": {"status": 503, "rate": 1.0, "retry_after_s": 2}, "once": true})).await;
    let resp = http().get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "2");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["retryable"], true);
    assert_eq!(body["code"], "SERVICE_UNAVAILABLE");
    assert_eq!(
        http()
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Other dialects keep their own error shapes.
    srv.set_faults(FaultSpec {
        http_error: Some(HttpErrorSpec {
            status: 429,
            rate: 1.0,
            retry_after_s: Some(1),
        }),
        ..FaultSpec::default()
    })
    .unwrap();
    let resp = http()
        .post(format!("{base}/v1/chat/completions"))
        .json(&json!({"messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"]["type"],
        "rate_limit_error"
    );
    assert_eq!(
        http()
            .get(format!("{base}/_mock/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "control API is never faulted"
    );
}

async fn error_pattern(seed: u64) -> Vec<u16> {
    let srv = server_with(MockConfig::default().seed(seed)).await;
    srv.set_faults(FaultSpec {
        http_error: Some(HttpErrorSpec {
            status: 500,
            rate: 0.5,
            retry_after_s: None,
        }),
        ..FaultSpec::default()
    })
    .unwrap();
    let mut out = Vec::new();
    for _ in 0..24 {
        out.push(
            http()
                .get(format!("{}/healthz", srv.base_url()))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    out
}

#[tokio::test]
async fn http_errors_are_deterministic_for_a_seed() {
    let a = error_pattern(11).await;
    assert_eq!(a, error_pattern(11).await);
    assert!(a.contains(&500) && a.contains(&200));
    assert_ne!(a, error_pattern(12).await);
}

#[tokio::test]
async fn delay_holds_responses_back() {
    let srv = server().await;
    srv.set_faults(FaultSpec {
        delay_ms: Some(300),
        ..FaultSpec::default()
    })
    .unwrap();
    let start = Instant::now();
    assert_eq!(
        http()
            .get(format!("{}/healthz", srv.base_url()))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert!(start.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn half_open_stops_reading_and_writing_without_closing() {
    let srv = server().await;
    srv.set_faults(FaultSpec {
        half_open_after_frames: Some(1),
        ..FaultSpec::default()
    })
    .unwrap();
    let mut ws = native(&srv.ws_url(), "c", 0).await;
    assert_eq!(ws.next().await.unwrap()["type"], "welcome");
    ws.send(json!({"type": "ping", "nonce": 1})).await;
    let silent = tokio::time::timeout(
        Duration::from_millis(300),
        futures_util::StreamExt::next(&mut ws.0),
    )
    .await;
    assert!(
        silent.is_err(),
        "no pong and no close: the socket is half-open"
    );
    assert!(srv.restart() >= 1);
    assert!(ws.next().await.is_none(), "restart drops it");
}

#[tokio::test]
async fn refused_connections_then_recovery() {
    let srv = server().await;
    let base = srv.base_url();
    post_faults(
        &base,
        json!({"dialect": "parlant", "refuse_connections_ms": 60000}),
    )
    .await;
    assert!(http().get(format!("{base}/agents")).send().await.is_err());
    assert_eq!(
        http()
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    http()
        .delete(format!("{base}/_mock/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        http()
            .get(format!("{base}/agents"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let restart: Value = http()
        .post(format!("{base}/_mock/restart"))
        .json(&json!({"refuse_ms": 60000}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(restart["ok"], true);
    assert!(
        tokio_tungstenite::connect_async(format!("{}/native/v1/ws", srv.ws_url()))
            .await
            .is_err()
    );
    srv.clear_faults();
    assert!(
        tokio_tungstenite::connect_async(format!("{}/native/v1/ws", srv.ws_url()))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn restart_drops_sockets_and_streams_but_keeps_conversations() {
    let srv = server().await;
    let base = srv.base_url();
    let mut ws = native(&srv.ws_url(), "keep", 0).await;
    ws.next().await.unwrap();
    ws.send(json!({"type": "send", "client_id": "a", "text": "before"}))
        .await;
    let first = ws.until(is_end).await;
    let token: Value = http()
        .post(format!("{base}/api/public/chat-interfaces/demo/sessions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sse = http()
        .get(format!(
            "{base}/api/public/chat-interfaces/demo/stream?sessionToken={}",
            token["sessionToken"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    let mut sse = Sse::new(sse);
    sse.next().await.unwrap();
    let resp: Value = http()
        .post(format!("{base}/_mock/restart"))
        .json(&json!({"goodbye": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(resp["dropped"].as_u64().unwrap() >= 2);
    let rest = ws.drain(Duration::from_secs(5)).await;
    assert_eq!(rest.last().unwrap()["type"], "goodbye");
    assert!(sse.next().await.is_none(), "the SSE stream was dropped");
    let last = first.last().unwrap()["seq"].as_u64().unwrap();
    let mut ws = native(&srv.ws_url(), "keep", 0).await;
    assert_eq!(ws.next().await.unwrap()["last_seq"], last);
}

#[tokio::test]
async fn sse_streams_are_dropped_after_n_frames_too() {
    let srv = server().await;
    let base = srv.base_url();
    srv.set_faults(FaultSpec {
        dialect: Some("openai".into()),
        drop_after_frames: Some(2),
        ..FaultSpec::default()
    })
    .unwrap();
    let body = json!({"stream": true, "messages": [{"role": "user", "content": "a b c d"}]});
    let resp = http()
        .post(format!("{base}/v1/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(Sse::new(resp).rest().await.len(), 2);
}

#[tokio::test]
async fn control_api_validates_records_and_resets() {
    let srv = server().await;
    let base = srv.base_url();
    assert_eq!(
        post_faults(&base, json!({"dialect": "klingon"}))
            .await
            .status(),
        400
    );
    assert_eq!(post_faults(&base, json!({"bogus": 1})).await.status(), 400);
    let resp = http()
        .post(format!("{base}/_mock/faults"))
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    post_faults(&base, json!({"delay_ms": 1})).await;
    let current: Value = http()
        .get(format!("{base}/_mock/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(current["faults"]["delay_ms"], 1);
    let body = json!({"messages": [{"role": "user", "content": "rec"}], "user": "u1"});
    http()
        .post(format!("{base}/v1/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let rec: Value = http()
        .get(format!("{base}/_mock/received?dialect=openai"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rec[0]["conversation"], "u1");
    assert_eq!(rec[0]["text"], "rec");
    assert_eq!(rec[0]["times_received"], 1);
    http()
        .post(format!("{base}/_mock/reset"))
        .send()
        .await
        .unwrap();
    assert!(srv.received().is_empty());
    let current: Value = http()
        .get(format!("{base}/_mock/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(current["faults"].is_null());
}

#[tokio::test]
async fn scheduled_restart_drops_sockets_then_refuses_then_accepts() {
    let srv = server().await;
    let url = format!("{}/native/v1/ws", srv.ws_url());
    let mut ws = native(&srv.ws_url(), "r", 0).await;
    assert_eq!(ws.next().await.unwrap()["type"], "welcome");
    let resp = post_faults(
        &srv.base_url(),
        json!({"restart_after_ms": 100, "restart_refuse_ms": 1500, "once": true}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["faults"]["restart_refuse_ms"], 1500);
    wait_dropped(&mut ws).await;
    // The refusal started with the drop, so the first reconnect is refused; later ones succeed.
    let (mut ws, refused) = connect_retrying(&url).await;
    assert!(
        refused >= 1,
        "a reconnect right after the restart is refused"
    );
    ws.send(json!({"type": "hello", "conversation_id": "r", "since_seq": 0}))
        .await;
    let welcome = ws.next().await.unwrap();
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(welcome["conversation_id"], "r");
}

#[tokio::test]
async fn scheduled_restart_scoped_to_a_dialect_spares_the_others() {
    let srv = server().await;
    let base = srv.base_url();
    let url = format!("{}/native/v1/ws", srv.ws_url());
    let mut ws = native(&srv.ws_url(), "n", 0).await;
    assert_eq!(ws.next().await.unwrap()["type"], "welcome");
    let token: Value = http()
        .post(format!("{base}/api/public/chat-interfaces/demo/sessions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["sessionToken"].as_str().unwrap().to_owned();
    let stream = http()
        .get(format!(
            "{base}/api/public/chat-interfaces/demo/stream?sessionToken={token}"
        ))
        .send()
        .await
        .unwrap();
    let mut sse = Sse::new(stream);
    assert_eq!(
        sse.next().await.unwrap().event.as_deref(),
        Some("connected")
    );
    srv.set_faults(FaultSpec {
        dialect: Some("native".into()),
        restart_after_ms: Some(50),
        restart_refuse_ms: Some(60_000),
        once: Some(true),
        ..FaultSpec::default()
    })
    .unwrap();
    wait_dropped(&mut ws).await;
    assert!(
        tokio_tungstenite::connect_async(&url).await.is_err(),
        "native connections are refused"
    );
    // The chat-interfaces stream survived the native restart: it still carries a whole turn.
    let resp = http()
        .post(format!("{base}/api/public/chat-interfaces/demo/messages"))
        .json(&json!({"sessionToken": token, "message": "still here"}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let events = sse
        .until(|e| e.event.as_deref() == Some("execution:completed"))
        .await;
    assert!(events.iter().any(|e| e.event.as_deref() == Some("token")));
    // Clearing the faults ends the refusal.
    http()
        .delete(format!("{base}/_mock/faults"))
        .send()
        .await
        .unwrap();
    assert!(tokio_tungstenite::connect_async(&url).await.is_ok());
}

#[tokio::test]
async fn restart_fields_are_validated_by_the_control_api() {
    let srv = server().await;
    let base = srv.base_url();
    assert_eq!(
        post_faults(&base, json!({"restart_refuse_ms": 100}))
            .await
            .status(),
        400
    );
    assert_eq!(
        post_faults(&base, json!({"restart_after_ms": 0}))
            .await
            .status(),
        400
    );
    let resp = http()
        .post(format!("{base}/_mock/restart"))
        .json(&json!({"dialect": "klingon"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}

//! The chat-interfaces dialect: sessions, messages -> executionId, the SSE stream with ids and
//! Last-Event-ID resume, history, upload limits, rate limit with Retry-After, idempotency.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use std::time::Duration;

use common::{Sse, SseEvent, http, server, server_with};
use serde_json::{Value, json};

async fn session(base: &str) -> String {
    let resp = http()
        .post(format!("{base}/api/public/chat-interfaces/demo/sessions"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["success"], true);
    assert_eq!(v["data"]["sessionToken"], v["sessionToken"]);
    v["sessionToken"].as_str().unwrap().to_owned()
}

async fn send(base: &str, token: &str, text: &str) -> reqwest::Response {
    http()
        .post(format!("{base}/api/public/chat-interfaces/demo/messages"))
        .json(&json!({"sessionToken": token, "message": text}))
        .send()
        .await
        .unwrap()
}

async fn stream(base: &str, token: &str, extra: &str, last_id: Option<&str>) -> Sse {
    let mut req = http().get(format!(
        "{base}/api/public/chat-interfaces/demo/stream?sessionToken={token}{extra}"
    ));
    if let Some(id) = last_id {
        req = req.header("Last-Event-ID", id);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    Sse::new(resp)
}

fn is_end(e: &SseEvent) -> bool {
    e.event
        .as_deref()
        .is_some_and(|n| n.starts_with("execution:"))
}

#[tokio::test]
async fn message_streams_tokens_with_ids_and_history_follows() {
    let srv = server().await;
    let base = srv.base_url();
    let token = session(&base).await;
    let resp = send(&base, &token, "hello there").await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["status"], "running");
    let exec = v["executionId"].as_str().unwrap().to_owned();
    let mut sse = stream(&base, &token, &format!("&executionId={exec}"), None).await;
    let events = sse.until(is_end).await;
    assert_eq!(events[0].event.as_deref(), Some("connected"));
    assert!(events.iter().all(|e| e.id.is_some()));
    let ids: Vec<u64> = events[1..]
        .iter()
        .map(|e| e.id.as_ref().unwrap().parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1));
    let text: String = events
        .iter()
        .filter(|e| e.event.as_deref() == Some("token"))
        .map(|e| e.json()["token"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(text, "You said: hello there");
    let msg = events
        .iter()
        .find(|e| e.event.as_deref() == Some("message"))
        .unwrap()
        .json();
    assert_eq!(msg["message"]["content"], "You said: hello there");
    assert_eq!(
        events.last().unwrap().event.as_deref(),
        Some("execution:completed")
    );
    assert!(
        sse.rest().await.is_empty(),
        "the execution stream closes after completion"
    );
    let hist: Value = http()
        .get(format!(
            "{base}/api/public/chat-interfaces/demo/sessions/{token}/messages"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let contents: Vec<&str> = hist["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, vec!["hello there", "You said: hello there"]);
}

#[tokio::test]
async fn last_event_id_resumes_after_that_event() {
    let srv = server().await;
    let base = srv.base_url();
    let token = session(&base).await;
    let exec = send(&base, &token, "/tool a")
        .await
        .json::<Value>()
        .await
        .unwrap()["executionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let full = stream(&base, &token, &format!("&executionId={exec}"), None)
        .await
        .until(is_end)
        .await;
    let cut = &full[3];
    let resumed = stream(&base, &token, "", cut.id.as_deref())
        .await
        .until(is_end)
        .await;
    assert_eq!(resumed[0].event.as_deref(), Some("connected"));
    assert_eq!(resumed[0].id, cut.id);
    assert_eq!(&resumed[1..], &full[4..]);
    assert!(
        full.iter()
            .any(|e| e.event.as_deref() == Some("tool_call_started"))
    );
    assert!(
        full.iter()
            .any(|e| e.event.as_deref() == Some("tool_call_completed"))
    );
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after_and_resends_are_free() {
    let srv =
        server_with(chatwire_mock::MockConfig::default().rate_limit(2, Duration::from_secs(60)))
            .await;
    let base = srv.base_url();
    let token = session(&base).await;
    let keyed = || {
        http()
            .post(format!("{base}/api/public/chat-interfaces/demo/messages"))
            .header("Idempotency-Key", "same")
            .json(&json!({"sessionToken": token, "message": "m"}))
            .send()
    };
    let a: Value = keyed().await.unwrap().json().await.unwrap();
    let b: Value = keyed().await.unwrap().json().await.unwrap();
    assert_eq!(a["executionId"], b["executionId"]);
    assert_eq!(send(&base, &token, "two").await.status(), 200);
    let resp = send(&base, &token, "three").await;
    assert_eq!(resp.status(), 429);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["success"], false);
    assert_eq!(body["code"], "RATE_LIMITED");
    let rec = srv.received();
    assert_eq!(rec.len(), 2);
    assert_eq!(rec[0].times_received, 2);
}

#[tokio::test]
async fn upload_limits_and_unknown_session() {
    let srv =
        server_with(chatwire_mock::MockConfig::default().upload_limits(1024, ["text/plain"])).await;
    let base = srv.base_url();
    let token = session(&base).await;
    let url = format!("{base}/api/public/chat-interfaces/demo/upload");
    let form = |bytes: Vec<u8>, mime: &str| {
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name("a.txt")
            .mime_str(mime)
            .unwrap();
        reqwest::multipart::Form::new()
            .text("sessionToken", token.clone())
            .part("file", part)
    };
    let resp = http()
        .post(&url)
        .multipart(form(b"hello".to_vec(), "text/plain"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["size"], 5);
    let bytes = http()
        .get(v["downloadUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&bytes[..], b"hello");
    let resp = http()
        .post(&url)
        .multipart(form(vec![b'x'; 4096], "text/plain"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["code"],
        "FILE_TOO_LARGE"
    );
    let resp = http()
        .post(&url)
        .multipart(form(b"%PDF".to_vec(), "application/pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    let resp = send(&base, "no-such-session", "x").await;
    assert_eq!(resp.status(), 404);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["code"],
        "SESSION_NOT_FOUND"
    );
    let resp = http()
        .post(format!("{base}/api/public/chat-interfaces/demo/messages"))
        .body("{bad")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = http()
        .post(format!("{base}/api/public/chat-interfaces/other/messages"))
        .json(&json!({"sessionToken": token, "message": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404, "a session belongs to its slug");
}

#[tokio::test]
async fn heartbeat_comments_arrive_on_an_idle_stream() {
    let srv = server_with(
        chatwire_mock::MockConfig::default().heartbeat_interval(Duration::from_millis(20)),
    )
    .await;
    let base = srv.base_url();
    let token = session(&base).await;
    let mut sse = stream(&base, &token, "", None).await;
    assert_eq!(
        sse.next().await.unwrap().event.as_deref(),
        Some("connected")
    );
    let beat = sse.next().await.unwrap();
    assert!(beat.comment && beat.event.is_none());
}

//! The ai-sdk dialect against reqwest: the UI message stream of a reply, a server-run tool, a
//! scripted error, the resumable-stream route (live replay, 204 when nothing runs), a re-send
//! under the same message id, bad input and bearer auth.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use chatwire_mock::MockConfig;
use common::{Sse, http, server, server_with};
use serde_json::{Value, json};

fn body(chat: &str, id: &str, text: &str) -> Value {
    json!({"id": chat, "trigger": "submit-message", "messageId": id,
           "messages": [{"id": id, "role": "user", "parts": [{"type": "text", "text": text}]}]})
}

fn chunks(events: &[common::SseEvent]) -> Vec<Value> {
    assert_eq!(events.last().unwrap().data, "[DONE]");
    events[..events.len() - 1]
        .iter()
        .map(|e| e.json())
        .collect()
}

fn types(chunks: &[Value]) -> Vec<&str> {
    chunks.iter().map(|c| c["type"].as_str().unwrap()).collect()
}

fn text(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter(|c| c["type"] == "text-delta")
        .map(|c| c["delta"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_reply_is_the_sdk_ui_message_stream() {
    let srv = server().await;
    let resp = http()
        .post(format!("{}/api/chat", srv.base_url()))
        .json(&body("c1", "u1", "hi there"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-vercel-ai-ui-message-stream"], "v1");
    let c = chunks(&Sse::new(resp).rest().await);
    let t = types(&c);
    assert_eq!(&t[..3], ["start", "start-step", "text-start"]);
    assert_eq!(&t[t.len() - 3..], ["text-end", "finish-step", "finish"]);
    assert_eq!(text(&c), "You said: hi there");
    assert_eq!(c.last().unwrap()["finishReason"], "stop");
    assert!(c[0]["messageId"].is_string());
    let rec = srv.received();
    assert_eq!(
        (rec[0].conversation.as_str(), rec[0].client_id.as_deref()),
        ("c1", Some("u1"))
    );
}

#[tokio::test]
async fn tool_then_text_and_error() {
    let srv = server().await;
    let url = format!("{}/api/chat", srv.base_url());
    let resp = http()
        .post(&url)
        .json(&body("c2", "u1", "/tool paris"))
        .send()
        .await
        .unwrap();
    let c = chunks(&Sse::new(resp).rest().await);
    let t = types(&c);
    for kind in [
        "tool-input-start",
        "tool-input-delta",
        "tool-input-available",
        "data-tool-progress",
        "tool-output-available",
    ] {
        assert!(t.contains(&kind), "{kind} in {t:?}");
    }
    let input: String = c
        .iter()
        .filter(|c| c["type"] == "tool-input-delta")
        .map(|c| c["inputTextDelta"].as_str().unwrap())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&input).unwrap(),
        json!({"query": "paris"})
    );
    let resp = http()
        .post(&url)
        .json(&body("c2", "u2", "/error"))
        .send()
        .await
        .unwrap();
    let c = chunks(&Sse::new(resp).rest().await);
    assert_eq!(types(&c).last(), Some(&"error"));
    assert!(c.last().unwrap()["errorText"].is_string());
}

#[tokio::test]
async fn the_resume_route_replays_the_running_reply_and_answers_204_after() {
    let srv = server().await;
    let base = srv.base_url();
    let resp = http()
        .post(format!("{base}/api/chat"))
        .json(&body("c3", "u1", "/long 20"))
        .send()
        .await
        .unwrap();
    let mut first = Sse::new(resp);
    let _ = first.next().await.unwrap();
    drop(first);
    let resumed = http()
        .get(format!("{base}/api/chat/c3/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(resumed.status(), 200);
    let c = chunks(&Sse::new(resumed).rest().await);
    assert_eq!(types(&c)[0], "start", "a replay from the first chunk");
    assert_eq!(text(&c).split_whitespace().count(), 20);
    let after = http()
        .get(format!("{base}/api/chat/c3/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 204);
    let never = http()
        .get(format!("{base}/api/chat/nope/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(never.status(), 204);
    // a re-send under the same message id replays the same reply, recorded twice
    let again = http()
        .post(format!("{base}/api/chat"))
        .json(&body("c3", "u1", "/long 20"))
        .send()
        .await
        .unwrap();
    let c2 = chunks(&Sse::new(again).rest().await);
    assert_eq!(c2, c);
    assert_eq!(srv.received()[0].times_received, 2);
}

#[tokio::test]
async fn bad_input_and_auth_are_refused() {
    let srv = server_with(MockConfig::default().bearer_token("tok")).await;
    let url = format!("{}/api/chat", srv.base_url());
    let unauthorized = http()
        .post(&url)
        .json(&body("c", "u", "hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401);
    let bad = http()
        .post(&url)
        .bearer_auth("tok")
        .json(&json!({"id": "c", "messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let err: Value = bad.json().await.unwrap();
    assert!(err["error"].as_str().unwrap().contains("messages"));
    let ok = http()
        .post(&url)
        .bearer_auth("tok")
        .json(&json!({"id": "c", "messages": [{"id": "u", "role": "user", "content": "plain"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(text(&chunks(&Sse::new(ok).rest().await)), "You said: plain");
}

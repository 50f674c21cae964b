//! The openai dialect against reqwest: streaming chunks, non-streaming completion, tool calls,
//! scripted errors, idempotent re-send and bearer auth.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::{Sse, http, server, server_with};
use serde_json::{Value, json};

fn body(text: &str, stream: bool) -> Value {
    json!({"model": "mock-gpt", "stream": stream, "stream_options": {"include_usage": true},
           "messages": [{"role": "user", "content": text}]})
}

#[tokio::test]
async fn streaming_completion_chunks_then_usage_then_done() {
    let srv = server().await;
    let resp = http()
        .post(format!("{}/v1/chat/completions", srv.base_url()))
        .json(&body("hi there", true))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let events = Sse::new(resp).rest().await;
    assert_eq!(events.last().unwrap().data, "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| e.json())
        .collect();
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk" && c["id"] == chunks[0]["id"])
    );
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "You said: hi there");
    let finish = chunks
        .iter()
        .find(|c| !c["choices"][0]["finish_reason"].is_null())
        .unwrap();
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["completion_tokens"], 4);
}

#[tokio::test]
async fn non_streaming_completion_and_tool_call() {
    let srv = server().await;
    let url = format!("{}/v1/chat/completions", srv.base_url());
    let done: Value = http()
        .post(&url)
        .json(&body("yo", false))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(done["object"], "chat.completion");
    assert_eq!(done["choices"][0]["message"]["content"], "You said: yo");
    assert_eq!(done["choices"][0]["finish_reason"], "stop");
    let resp = http()
        .post(&url)
        .json(&body("/tool paris", true))
        .send()
        .await
        .unwrap();
    let chunks: Vec<Value> = Sse::new(resp)
        .rest()
        .await
        .iter()
        .filter(|e| e.data != "[DONE]")
        .map(|e| e.json())
        .collect();
    let args: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&args).unwrap(),
        json!({"query": "paris"})
    );
    let named = chunks
        .iter()
        .find(|c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["name"] == "lookup");
    assert!(named.is_some());
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "tool_calls")
    );
    let follow = json!({"model": "m", "messages": [
        {"role": "user", "content": "/tool paris"},
        {"role": "assistant", "content": null, "tool_calls": []},
        {"role": "tool", "tool_call_id": "call-1", "content": "{\"ok\":true}"}]});
    let done: Value = http()
        .post(&url)
        .json(&follow)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        done["choices"][0]["message"]["content"],
        "You said: /tool paris"
    );
}

#[tokio::test]
async fn errors_have_the_openai_shape() {
    let srv = server_with(chatwire_mock::MockConfig::default().bearer_token("k")).await;
    let url = format!("{}/v1/chat/completions", srv.base_url());
    let resp = http()
        .post(&url)
        .json(&body("x", false))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["code"], "invalid_api_key");
    let resp = http()
        .post(&url)
        .bearer_auth("k")
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.json::<Value>().await.unwrap()["error"]["message"].is_string());
    let resp = http()
        .post(&url)
        .bearer_auth("k")
        .json(&json!({"model": "m"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = http()
        .post(&url)
        .bearer_auth("k")
        .json(&body("/error", false))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    let resp = http()
        .post(&url)
        .bearer_auth("k")
        .json(&body("/error", true))
        .send()
        .await
        .unwrap();
    let events = Sse::new(resp).rest().await;
    assert!(events.iter().all(|e| e.data != "[DONE]"));
    assert_eq!(
        events.last().unwrap().json()["error"]["code"],
        "scripted_error"
    );
}

#[tokio::test]
async fn idempotency_key_replays_the_same_completion() {
    let srv = server().await;
    let url = format!("{}/v1/chat/completions", srv.base_url());
    let send = || {
        http()
            .post(&url)
            .header("Idempotency-Key", "k-1")
            .json(&body("same", true))
            .send()
    };
    let a = Sse::new(send().await.unwrap()).rest().await;
    let b = Sse::new(send().await.unwrap()).rest().await;
    assert_eq!(a, b);
    let rec = srv.received();
    assert_eq!(rec.len(), 1);
    assert_eq!(rec[0].times_received, 2);
    assert_eq!(rec[0].client_id.as_deref(), Some("k-1"));
}

//! The chat-v2 dialect: text and audio over the WebSocket, tool start/end, transcripts,
//! ping/pong, the HTTP fallback and history.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::{Ws, http, server};
use serde_json::{Value, json};

#[tokio::test]
async fn text_message_streams_tokens_then_final() {
    let srv = server().await;
    let mut ws = Ws::connect(&format!("{}/v2/chat/s-1", srv.ws_url())).await;
    assert_eq!(ws.next().await.unwrap()["type"], "connected");
    ws.send(json!({"type": "text", "content": "abc def", "id": "c-1"}))
        .await;
    let frames = ws.until(|v| v["type"] == "message").await;
    assert_eq!(frames[0]["type"], "ack");
    assert_eq!(frames[0]["id"], "c-1");
    let tokens: Vec<&Value> = frames.iter().filter(|f| f["type"] == "token").collect();
    assert!(tokens.iter().all(|t| t["is_final"] == false));
    let text: String = tokens
        .iter()
        .map(|t| t["content"].as_str().unwrap())
        .collect();
    assert_eq!(text, "You said: abc def");
    let last = frames.last().unwrap();
    assert_eq!(last["is_final"], true);
    assert_eq!(last["content"], "You said: abc def");
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.next().await.unwrap()["type"], "pong");
}

#[tokio::test]
async fn tool_and_audio_and_errors() {
    let srv = server().await;
    let mut ws = Ws::connect(&format!("{}/v2/chat/s-2", srv.ws_url())).await;
    ws.next().await.unwrap();
    ws.send(json!({"type": "text", "content": "/tool rome"}))
        .await;
    let frames = ws.until(|v| v["type"] == "message").await;
    let tools: Vec<&Value> = frames.iter().filter(|f| f["type"] == "tool").collect();
    assert_eq!(tools.first().unwrap()["status"], "start");
    assert_eq!(tools.first().unwrap()["args"], json!({"query": "rome"}));
    assert_eq!(tools.last().unwrap()["status"], "end");
    assert_eq!(tools.last().unwrap()["result"]["query"], "rome");
    // 3200 bytes of PCM16 at 16 kHz = 100 ms.
    let pcm = vec![0u8; 3200];
    let b64 = base64(&pcm);
    ws.send(json!({"type": "audio", "data": b64, "sample_rate": 16000, "id": "a-1"}))
        .await;
    let frames = ws.until(|v| v["type"] == "audio").await;
    let transcript = frames.iter().find(|f| f["type"] == "transcript").unwrap();
    assert_eq!(transcript["text"], "audio message of 100 ms");
    assert_eq!(transcript["is_final"], true);
    assert!(
        frames
            .iter()
            .any(|f| f["type"] == "message" && f["content"] == "You said: audio message of 100 ms")
    );
    ws.send(json!({"type": "audio", "data": "%%%"})).await;
    assert_eq!(
        ws.until(|v| v["type"] == "error").await.last().unwrap()["code"],
        "invalid_audio"
    );
    ws.send(json!({"type": "text", "content": "/error"})).await;
    assert_eq!(
        ws.until(|v| v["type"] == "error").await.last().unwrap()["code"],
        "agent_error"
    );
    ws.send(json!({"type": "video"})).await;
    assert_eq!(
        ws.until(|v| v["type"] == "error").await.last().unwrap()["code"],
        "unknown_type"
    );
}

#[tokio::test]
async fn http_fallback_and_history() {
    let srv = server().await;
    let base = srv.base_url();
    let resp = http()
        .post(format!("{base}/v2/chat"))
        .json(&json!({"session_id": "s-3", "message": "/tool x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["response"], "You said: /tool x");
    assert_eq!(v["tool_calls"][0]["name"], "lookup");
    assert_eq!(v["is_final"], true);
    let resp = http()
        .post(format!("{base}/v2/chat"))
        .json(&json!({"session_id": "s-3"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    assert!(resp.json::<Value>().await.unwrap()["detail"].is_string());
    let resp = http()
        .post(format!("{base}/v2/chat"))
        .json(&json!({"session_id": "s-3", "message": "/error"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    let hist: Value = http()
        .get(format!("{base}/v2/chat/s-3/history"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let roles: Vec<&str> = hist["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, vec!["user", "assistant", "user"]);
    // a reply names the user message it answers, so a client can recover a cut reply
    let m = hist["messages"].as_array().unwrap();
    assert_eq!(m[1]["reply_to"], m[0]["id"]);
    assert!(m[0]["reply_to"].is_null() && m[2]["reply_to"].is_null());
}

fn base64(data: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            out.push(if i <= c.len() {
                T[((n >> (18 - 6 * i)) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

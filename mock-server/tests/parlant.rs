//! The parlant dialect: sessions, customer events, inclusive long-poll with 504 on timeout,
//! status and tool events, streamed message chunks ending with null, cancel, idempotency.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use std::time::Duration;

use common::{Sse, http, server};
use serde_json::{Value, json};

async fn session(base: &str) -> String {
    let resp = http()
        .post(format!("{base}/sessions"))
        .json(&json!({"agent_id": "demo-agent"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["agent_id"], "demo-agent");
    v["id"].as_str().unwrap().to_owned()
}

async fn post(base: &str, sid: &str, text: &str) -> Value {
    let resp = http()
        .post(format!("{base}/sessions/{sid}/events"))
        .json(&json!({"kind": "message", "source": "customer", "message": text}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

async fn events(base: &str, sid: &str, query: &str) -> reqwest::Response {
    http()
        .get(format!("{base}/sessions/{sid}/events?{query}"))
        .send()
        .await
        .unwrap()
}

/// Long-polls until a status event with `status` appears; returns every event seen.
async fn poll_until(base: &str, sid: &str, status: &str) -> Vec<Value> {
    for _ in 0..200 {
        let all: Vec<Value> = events(base, sid, "min_offset=0&wait_for_data=0")
            .await
            .json()
            .await
            .unwrap();
        if all
            .iter()
            .any(|e| e["kind"] == "status" && e["data"]["status"] == status)
        {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no {status} status");
}

#[tokio::test]
async fn message_turn_has_statuses_and_growing_chunks() {
    let srv = server().await;
    let base = srv.base_url();
    let sid = session(&base).await;
    let customer = post(&base, &sid, "hi you").await;
    assert_eq!(customer["offset"], 0);
    assert_eq!(customer["source"], "customer");
    assert_eq!(customer["data"]["message"], "hi you");
    let all = poll_until(&base, &sid, "ready").await;
    let offsets: Vec<u64> = all.iter().map(|e| e["offset"].as_u64().unwrap()).collect();
    assert_eq!(offsets, (0..all.len() as u64).collect::<Vec<_>>());
    assert!(
        all.iter()
            .all(|e| e["correlation_id"] == customer["correlation_id"])
    );
    let statuses: Vec<&str> = all
        .iter()
        .filter(|e| e["kind"] == "status")
        .map(|e| e["data"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        vec!["acknowledged", "processing", "typing", "ready"]
    );
    let msg = all
        .iter()
        .find(|e| e["kind"] == "message" && e["source"] == "ai_agent")
        .unwrap();
    assert_eq!(msg["data"]["message"], "You said: hi you");
    let chunks = msg["data"]["chunks"].as_array().unwrap();
    assert_eq!(chunks.last().unwrap(), &Value::Null);
    let joined: String = chunks.iter().filter_map(Value::as_str).collect();
    assert_eq!(joined, "You said: hi you");
    // min_offset is inclusive; kinds filters.
    let from: Vec<Value> = events(
        &base,
        &sid,
        &format!("min_offset={}&wait_for_data=0&kinds=message", msg["offset"]),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(from[0]["id"], msg["id"]);
    assert!(from.iter().all(|e| e["kind"] == "message"));
}

#[tokio::test]
async fn long_poll_times_out_with_504_and_wakes_on_new_events() {
    let srv = server().await;
    let base = srv.base_url();
    let sid = session(&base).await;
    let resp = events(&base, &sid, "min_offset=0&wait_for_data=1").await;
    assert_eq!(resp.status(), 504);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["detail"],
        "Request timed out"
    );
    let waiting = tokio::spawn({
        let (base, sid) = (base.clone(), sid.clone());
        async move {
            events(&base, &sid, "min_offset=0&wait_for_data=10")
                .await
                .json::<Value>()
                .await
                .unwrap()
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    post(&base, &sid, "wake").await;
    let got = waiting.await.unwrap();
    assert_eq!(got[0]["data"]["message"], "wake");
}

#[tokio::test]
async fn tool_events_errors_cancel_and_idempotency() {
    let srv = server().await;
    let base = srv.base_url();
    let sid = session(&base).await;
    post(&base, &sid, "/tool oslo").await;
    let all = poll_until(&base, &sid, "ready").await;
    let tool = all.iter().find(|e| e["kind"] == "tool").unwrap();
    assert_eq!(
        tool["data"]["tool_calls"][0]["arguments"],
        json!({"query": "oslo"})
    );
    assert_eq!(
        tool["data"]["tool_calls"][0]["result"]["data"]["query"],
        "oslo"
    );
    post(&base, &sid, "/error").await;
    let all = poll_until(&base, &sid, "error").await;
    assert_eq!(
        all.last().unwrap()["data"]["data"]["exception"],
        "scripted failure"
    );
    let resp = http()
        .post(format!("{base}/sessions/{sid}/events"))
        .json(&json!({"kind": "status", "source": "customer", "status": "cancelled"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
    post(&base, &sid, "/long 100000").await;
    let resp = http()
        .post(format!("{base}/sessions/{sid}/events"))
        .json(&json!({"kind": "status", "source": "customer", "status": "cancelled"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["data"]["status"],
        "cancelled"
    );
    let keyed = || {
        http()
            .post(format!("{base}/sessions/{sid}/events"))
            .header("Idempotency-Key", "k")
            .json(&json!({"kind": "message", "source": "customer", "message": "dup"}))
            .send()
    };
    let a = keyed().await.unwrap();
    assert_eq!(a.status(), 201);
    let a: Value = a.json().await.unwrap();
    let b = keyed().await.unwrap();
    assert_eq!(b.status(), 200);
    assert_eq!(b.json::<Value>().await.unwrap()["offset"], a["offset"]);
    assert_eq!(
        srv.received()
            .iter()
            .filter(|r| r.text == "dup")
            .map(|r| r.times_received)
            .collect::<Vec<_>>(),
        vec![2]
    );
}

#[tokio::test]
async fn bad_requests_and_event_streaming() {
    let srv = server().await;
    let base = srv.base_url();
    assert_eq!(events(&base, "nope", "wait_for_data=0").await.status(), 404);
    let sid = session(&base).await;
    assert_eq!(events(&base, &sid, "min_offset=-1").await.status(), 422);
    let resp = http()
        .post(format!("{base}/sessions/{sid}/events"))
        .json(&json!({"kind": "message", "source": "customer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    assert!(resp.json::<Value>().await.unwrap()["detail"].is_string());
    let resp = http()
        .post(format!("{base}/sessions/{sid}/events"))
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let sse = Sse::new(events(&base, &sid, "min_offset=0&sse=true&wait_for_data=5").await);
    post(&base, &sid, "stream me").await;
    let mut sse = sse;
    let got = sse.until(|e| e.json()["data"]["status"] == "ready").await;
    assert_eq!(got[0].json()["offset"], 0);
    let msg = got
        .iter()
        .map(|e| e.json())
        .find(|e| e["kind"] == "message" && e["source"] == "ai_agent")
        .unwrap();
    let one = http()
        .get(format!(
            "{base}/sessions/{sid}/events/{}?wait_for_completion=true",
            msg["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    let one: Value = one.json().await.unwrap();
    assert_eq!(
        one["data"]["chunks"].as_array().unwrap().last().unwrap(),
        &Value::Null
    );
    assert_eq!(one["data"]["message"], "You said: stream me");
}

/// A finished turn's events (no faults), and the server with `spec` installed afterwards.
async fn answered_with(spec: Value) -> (chatwire_mock::MockServer, String, Vec<Value>) {
    let srv = server().await;
    let base = srv.base_url();
    let sid = session(&base).await;
    post(&base, &sid, "one two three").await;
    let all = poll_until(&base, &sid, "ready").await;
    assert!(all.len() >= 6, "{all:?}");
    let resp = http()
        .post(format!("{base}/_mock/faults"))
        .json(&spec)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    (srv, sid, all)
}

fn offsets(events: &[Value]) -> Vec<u64> {
    events
        .iter()
        .map(|e| e["offset"].as_u64().unwrap())
        .collect()
}

/// Reads a body until it ends or fails; the bytes read and whether it failed.
async fn read_body(mut resp: reqwest::Response) -> (String, bool) {
    let mut got = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => got.extend_from_slice(&c),
            Ok(None) => return (String::from_utf8(got).unwrap(), false),
            Err(_) => return (String::from_utf8(got).unwrap(), true),
        }
    }
}

#[tokio::test]
async fn long_poll_duplicates_events_within_an_answer() {
    let (srv, sid, all) =
        answered_with(json!({"dialect": "parlant", "seed": 7, "duplicate_rate": 0.5})).await;
    let base = srv.base_url();
    let got: Vec<Value> = events(&base, &sid, "min_offset=0&wait_for_data=0")
        .await
        .json()
        .await
        .unwrap();
    assert!(got.len() > all.len(), "no duplicate in {:?}", offsets(&got));
    let mut deduped = got.clone();
    deduped.dedup();
    assert_eq!(deduped, all, "duplicates sit next to their original");
    srv.shutdown().await;
}

#[tokio::test]
async fn long_poll_reorders_events_within_the_window() {
    let (srv, sid, all) =
        answered_with(json!({"dialect": "parlant", "seed": 3, "reorder_window": 3})).await;
    let base = srv.base_url();
    let got: Vec<Value> = events(&base, &sid, "min_offset=0&wait_for_data=0")
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(offsets(&got), offsets(&all), "the answer was shuffled");
    for (window, original) in got.chunks(3).zip(all.chunks(3)) {
        let mut sorted = offsets(window);
        sorted.sort_unstable();
        assert_eq!(sorted, offsets(original), "shuffled within its window only");
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn long_poll_drop_cuts_the_answer_after_n_events_across_polls() {
    let (srv, sid, all) =
        answered_with(json!({"dialect": "parlant", "drop_after_frames": 3, "once": true})).await;
    let base = srv.base_url();
    let tail = all.len() - 2;
    let first: Vec<Value> = events(&base, &sid, &format!("min_offset={tail}&wait_for_data=0"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first.len(), 2, "2 of the 3 frames answered whole");
    let resp = events(&base, &sid, "min_offset=0&wait_for_data=0").await;
    assert_eq!(resp.status(), 200);
    let (body, failed) = read_body(resp).await;
    assert!(failed, "the body is cut by a transport error: {body}");
    assert_eq!(
        body,
        format!("[{}", all[0]),
        "cut after the 3rd frame in total"
    );
    let again: Vec<Value> = events(&base, &sid, "min_offset=0&wait_for_data=0")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again, all, "`once`: the next connection is clean");
    srv.shutdown().await;
}

#[tokio::test]
async fn long_poll_half_open_stalls_the_answer() {
    let (srv, sid, all) =
        answered_with(json!({"dialect": "parlant", "half_open_after_frames": 2, "once": true}))
            .await;
    let base = srv.base_url();
    let resp = events(&base, &sid, "min_offset=0&wait_for_data=0").await;
    assert_eq!(resp.status(), 200);
    let stalled = tokio::spawn(read_body(resp));
    // A fresh poll is a new connection; `once` is spent, so it answers whole.
    let again: Vec<Value> = events(&base, &sid, "min_offset=0&wait_for_data=0")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again, all);
    assert!(
        !stalled.is_finished(),
        "the half-open answer never completes"
    );
    srv.shutdown().await;
    let (body, failed) = stalled.await.unwrap();
    assert!(failed, "only the shutdown ends it: {body}");
    assert_eq!(body, format!("[{},{}", all[0], all[1]));
}

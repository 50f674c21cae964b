//! Bad input from the server never crashes the client and is never swallowed. A raw native
//! WebSocket server puts malformed JSON, binary frames, text frames that are not UTF-8,
//! oversized frames and unknown event types on the wire; a raw HTTP responder answers the
//! OpenAI dialect with error bodies that are not JSON, malformed and oversized stream events
//! and bytes that are not UTF-8. Raw chat-v2 and Miptech servers put malformed JSON, binary
//! frames and unknown frame types in the middle of a turn; a raw chat-interfaces responder puts
//! a `data:` line that is not JSON and an unknown event name on the event stream; a raw Parlant
//! responder lists an entry that is not an event and an unknown kind, and answers one poll with
//! a body that is not JSON. Each must become a typed `Error{kind: Protocol}` (or an `Unknown`
//! event keeping the raw payload, or the server's error with its text), and the client must go
//! on: the reply still arrives exactly once, its turn ends once and the next message works.

#![allow(clippy::unwrap_used)] // tests may unwrap

use chatwire::event::{ErrorKind, Event};
use chatwire::{Client, DialectKind};
use chatwire_tests::raw_chat_interfaces::{RawChatInterfaces, SseEvent};
use chatwire_tests::raw_chat_v2::{Frame as WsFrame, RawChatV2, Seen};
use chatwire_tests::raw_http::{RawOpenAi, Reply};
use chatwire_tests::raw_miptech::RawMiptech;
use chatwire_tests::raw_parlant::{Entry, RawParlant};
use chatwire_tests::raw_ws::{Inject, RawNative};
use chatwire_tests::*;
use serde_json::json;

const LIMIT: usize = 64 * 1024;

fn session(kind: DialectKind, base_url: String) -> Session {
    Session::start(
        Client::builder(kind, base_url)
            .seed(60)
            .backoff(fast_backoff())
            .max_frame_bytes(LIMIT),
    )
}

/// The `Error` events of a log: kind, code, message.
fn errors(log: &[chatwire::Envelope]) -> Vec<(ErrorKind, Option<String>, String)> {
    log.iter()
        .filter_map(|e| match &e.event {
            Event::Error {
                kind,
                code,
                message,
                ..
            } => Some((*kind, code.clone(), message.clone())),
            _ => None,
        })
        .collect()
}

/// Sends `bad` (whose reply the server precedes with `inject`), then `next`; both replies must
/// be exact and each message stored once. Returns the session for further checks.
async fn native_with(inject: Vec<Inject>) -> (Session, RawNative) {
    let server = RawNative::start(vec![("bad", inject)]).await;
    let mut s = session(DialectKind::Native, server.base_url());
    let bad = s.exchange("bad").await;
    assert_eq!(assembled_text(&bad), "You said: bad", "\n{}", s.dump());
    let next = s.exchange("next").await;
    assert_eq!(assembled_text(&next), "You said: next", "\n{}", s.dump());
    assert_stream_clean(DialectKind::Native, &s.log);
    assert_eq!(discontinuities(&s.log), 0, "\n{}", s.dump());
    let seen = server.seen();
    let texts: Vec<(&str, u32)> = seen.messages.iter().map(|m| (m.1.as_str(), m.2)).collect();
    assert_eq!(texts, [("bad", 1), ("next", 1)], "each message stored once");
    (s, server)
}

/// The one protocol error of the log, whose message names the offending bytes.
fn one_protocol_error(s: &Session, needle: &str) {
    let errs = errors(&s.log);
    let protocol: Vec<_> = errs.iter().filter(|e| e.0 == ErrorKind::Protocol).collect();
    assert_eq!(
        protocol.len(),
        1,
        "one protocol error: {errs:?}\n{}",
        s.dump()
    );
    assert!(
        protocol[0].2.contains(needle),
        "the error names {needle:?}: {errs:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_frames_become_protocol_errors() {
    let (s, server) = native_with(vec![
        Inject::Text("{\"type\":\"event\",\"seq\":".into()),
        Inject::Text("[1,2,3]".into()),
        Inject::Text("{\"no_type\":true}".into()),
    ])
    .await;
    let errs = errors(&s.log);
    assert_eq!(errs.len(), 3, "one error per bad frame: {errs:?}");
    assert!(errs.iter().all(|e| e.0 == ErrorKind::Protocol), "{errs:?}");
    assert!(errs[0].2.contains("\"seq\":"), "{errs:?}");
    assert_eq!(server.seen().connections, 1, "the connection survived");
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_frames_where_text_is_expected_become_protocol_errors() {
    let (s, server) = native_with(vec![Inject::Binary(vec![0x00, 0x01, 0xfe, 0xff])]).await;
    one_protocol_error(&s, "binary");
    assert_eq!(server.seen().connections, 1, "the connection survived");
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_event_types_are_surfaced_with_their_payload() {
    let (s, _server) = native_with(vec![
        Inject::Text(json!({"type": "mystery", "detail": 42}).to_string()),
        Inject::Event(json!({"kind": "hologram", "shape": "cube"})),
    ])
    .await;
    let unknown: Vec<_> = s
        .log
        .iter()
        .filter_map(|e| match &e.event {
            Event::Unknown { name } => Some((name.clone(), e.raw.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(unknown.len(), 2, "\n{}", s.dump());
    assert_eq!(unknown[0].0, "mystery");
    assert_eq!(
        unknown[0].1.as_ref().map(|r| r["detail"].clone()),
        Some(json!(42))
    );
    assert_eq!(unknown[1].0, "hologram");
    assert_eq!(
        unknown[1].1.as_ref().map(|r| r["shape"].clone()),
        Some(json!("cube"))
    );
    assert!(errors(&s.log).is_empty(), "unknown is not an error");
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_frames_that_are_not_utf8_become_protocol_errors() {
    let (s, server) = native_with(vec![Inject::RawText(b"{\"type\":\"\xff\xfe\"}".to_vec())]).await;
    one_protocol_error(&s, "UTF-8");
    assert!(
        server.seen().connections >= 2,
        "the client reconnected and resumed"
    );
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_frames_are_refused_as_protocol_errors() {
    let big = json!({"type": "mystery", "blob": "x".repeat(LIMIT + 1000)}).to_string();
    let (s, _server) = native_with(vec![Inject::Text(big)]).await;
    one_protocol_error(&s, &LIMIT.to_string());
    assert_eq!(
        count(&s.log, |e| matches!(e, Event::Unknown { .. })),
        0,
        "never delivered"
    );
    s.close().await;
}

/// Runs `hello` then `next` against the raw OpenAI responder with `script`; both replies exact,
/// every turn ended once. Returns the session and the responder.
async fn openai_with(script: Vec<Reply>) -> (Session, RawOpenAi) {
    let server = RawOpenAi::start(script).await;
    let mut s = session(DialectKind::Openai, server.base_url());
    let hello = s.exchange("hello").await;
    assert_eq!(assembled_text(&hello), "You said: hello", "\n{}", s.dump());
    let next = s.exchange("next").await;
    assert_eq!(assembled_text(&next), "You said: next", "\n{}", s.dump());
    assert_stream_clean(DialectKind::Openai, &s.log);
    (s, server)
}

/// The idempotency keys of the requests, first one per message (re-sends reuse it).
fn distinct_keys(server: &RawOpenAi) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for r in server.requests() {
        let key = r.idempotency_key.unwrap();
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_error_bodies_that_are_not_json_keep_their_text() {
    let html = b"<html><body><h1>502 Bad Gateway</h1></body></html>".to_vec();
    let (s, server) = openai_with(vec![Reply::Status {
        head: "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html".into(),
        body: html,
    }])
    .await;
    let errs = errors(&s.log);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].0, ErrorKind::Server, "{errs:?}");
    assert!(
        errs[0].2.contains("502 Bad Gateway"),
        "the body's text is kept: {errs:?}"
    );
    // the message was re-sent once with the same key; two messages in all
    assert_eq!(server.requests().len(), 3);
    assert_eq!(distinct_keys(&server).len(), 2);
    assert_eq!(
        discontinuities(&s.log),
        0,
        "a refused request cut no turn: nothing is missing, nothing to report\n{}",
        s.dump()
    );
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_with_plain_text_bodies_fail_the_message_not_the_client() {
    let server = RawOpenAi::start(vec![Reply::Status {
        head: "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain".into(),
        body: b"model does not exist, sorry".to_vec(),
    }])
    .await;
    let mut s = session(DialectKind::Openai, server.base_url());
    let receipt = s.send("hello").await;
    let result = tokio::time::timeout(HANG_GUARD, receipt.acked())
        .await
        .unwrap();
    assert_eq!(
        result,
        Err(chatwire::client::ClientError::DeliveryFailed(
            chatwire::event::FailReason::Rejected
        ))
    );
    let next = s.exchange("next").await;
    assert_eq!(assembled_text(&next), "You said: next", "\n{}", s.dump());
    let errs = errors(&s.log);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].0, ErrorKind::InvalidInput, "{errs:?}");
    assert!(errs[0].2.contains("model does not exist"), "{errs:?}");
    assert_stream_clean(DialectKind::Openai, &s.log);
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_unknown_stream_chunks_become_protocol_errors() {
    let (s, server) = openai_with(vec![Reply::StreamWith(vec![
        b"{\"choices\":[{\"index\":0,\"delta\":{\"content\":".to_vec(),
        b"42".to_vec(),
    ])])
    .await;
    let errs = errors(&s.log);
    assert_eq!(
        errs.len(),
        2,
        "one error per bad chunk: {errs:?}\n{}",
        s.dump()
    );
    assert!(errs.iter().all(|e| e.0 == ErrorKind::Protocol), "{errs:?}");
    assert!(
        errs[0].2.contains("content"),
        "the summary shows the bytes: {errs:?}"
    );
    assert_eq!(server.requests().len(), 2, "no retry needed");
    assert_eq!(discontinuities(&s.log), 0);
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_bytes_that_are_not_utf8_decode_to_replacement_characters() {
    // WHATWG event streams decode invalid UTF-8 to U+FFFD: the text shows where bytes were bad.
    let chunk = b"{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\xff\xfe\"}}]}".to_vec();
    let server = RawOpenAi::start(vec![Reply::StreamWith(vec![chunk])]).await;
    let mut s = session(DialectKind::Openai, server.base_url());
    let hello = s.exchange("hello").await;
    assert_eq!(
        assembled_text(&hello),
        "\u{FFFD}\u{FFFD}You said: hello",
        "\n{}",
        s.dump()
    );
    let next = s.exchange("next").await;
    assert_eq!(assembled_text(&next), "You said: next");
    assert_stream_clean(DialectKind::Openai, &s.log);
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_stream_events_are_refused_and_the_turn_retried() {
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(LIMIT + 1000)).into_bytes();
    let (s, server) = openai_with(vec![Reply::StreamWith(vec![big])]).await;
    let errs = errors(&s.log);
    let protocol: Vec<_> = errs.iter().filter(|e| e.0 == ErrorKind::Protocol).collect();
    assert_eq!(protocol.len(), 1, "{errs:?}\n{}", s.dump());
    assert_eq!(
        protocol[0].1.as_deref(),
        Some("frame_too_large"),
        "{errs:?}"
    );
    assert_eq!(distinct_keys(&server).len(), 2, "re-sent with its key");
    assert_eq!(discontinuities(&s.log), 1, "\n{}", s.dump());
    s.close().await;
}

/// Sends `bad` (whose reply the server precedes with bad frames), then `next`; both replies
/// exact, every turn ended once, each message sent once on one connection.
async fn bad_then_next(kind: DialectKind, base_url: String, seen: impl Fn() -> Seen) -> Session {
    let mut s = session(kind, base_url);
    let bad = s.exchange("bad").await;
    assert_eq!(assembled_text(&bad), "You said: bad", "\n{}", s.dump());
    let next = s.exchange("next").await;
    assert_eq!(assembled_text(&next), "You said: next", "\n{}", s.dump());
    assert_stream_clean(kind, &s.log);
    assert_eq!(discontinuities(&s.log), 0, "\n{}", s.dump());
    let seen = seen();
    let texts: Vec<&str> = seen.messages.iter().map(|m| m.1.as_str()).collect();
    assert_eq!(texts, ["bad", "next"], "each message sent once");
    assert_eq!(seen.connections, 1, "the connection survived");
    s
}

async fn chat_v2_with(inject: Vec<WsFrame>) -> Session {
    let server = RawChatV2::start(vec![("bad", inject)]).await;
    bad_then_next(DialectKind::ChatV2, server.base_url(), || server.seen()).await
}

async fn miptech_with(inject: Vec<WsFrame>) -> Session {
    let server = RawMiptech::start(vec![("bad", inject)]).await;
    bad_then_next(DialectKind::Miptech, server.base_url(), || server.seen()).await
}

/// The `Unknown` events of a log: name and raw payload.
fn unknowns(log: &[chatwire::Envelope]) -> Vec<(String, Option<serde_json::Value>)> {
    log.iter()
        .filter_map(|e| match &e.event {
            Event::Unknown { name } => Some((name.clone(), e.raw.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_v2_malformed_json_mid_turn_is_one_protocol_error() {
    let s = chat_v2_with(vec![WsFrame::Text(
        "{\"type\":\"token\",\"content\":".into(),
    )])
    .await;
    one_protocol_error(&s, "\"content\":");
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_v2_binary_frame_mid_turn_is_one_protocol_error() {
    let s = chat_v2_with(vec![WsFrame::Binary(vec![0x00, 0xfe, 0xff])]).await;
    one_protocol_error(&s, "binary");
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_v2_unknown_frame_type_is_surfaced_with_its_payload() {
    let mystery = json!({"type": "hologram", "shape": "cube", "session_id": "raw"});
    let s = chat_v2_with(vec![WsFrame::Text(mystery.to_string())]).await;
    let unknown = unknowns(&s.log);
    assert_eq!(unknown.len(), 1, "\n{}", s.dump());
    assert_eq!(unknown[0].0, "hologram");
    assert_eq!(
        unknown[0].1.as_ref().map(|r| r["shape"].clone()),
        Some(json!("cube"))
    );
    assert!(errors(&s.log).is_empty(), "unknown is not an error");
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn miptech_malformed_json_mid_turn_is_one_protocol_error() {
    let s = miptech_with(vec![WsFrame::Text(
        "{\"type\":\"response_chunk\",\"data\":{".into(),
    )])
    .await;
    one_protocol_error(&s, "\"data\":");
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn miptech_binary_frame_mid_turn_is_one_protocol_error() {
    let s = miptech_with(vec![WsFrame::Binary(vec![0x00, 0xfe, 0xff])]).await;
    one_protocol_error(&s, "binary");
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn miptech_unknown_frame_type_is_surfaced_with_its_payload() {
    let mystery = json!({"type": "hologram", "data": {"shape": "cube"}, "timestamp": 0});
    let s = miptech_with(vec![WsFrame::Text(mystery.to_string())]).await;
    let unknown = unknowns(&s.log);
    assert_eq!(unknown.len(), 1, "\n{}", s.dump());
    assert_eq!(unknown[0].0, "hologram");
    assert_eq!(
        unknown[0].1.as_ref().map(|r| r["data"]["shape"].clone()),
        Some(json!("cube"))
    );
    assert!(errors(&s.log).is_empty(), "unknown is not an error");
    s.close().await;
}

fn sse(event: &str, data: &str) -> SseEvent {
    SseEvent {
        event: event.into(),
        data: data.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_interfaces_malformed_data_and_unknown_events_mid_execution() {
    let server = RawChatInterfaces::start(vec![(
        "bad",
        vec![
            sse("token", "{\"token\":\"lost"),
            sse("hologram", "{\"shape\":\"cube\",\"executionId\":\"ex-1\"}"),
        ],
    )])
    .await;
    let mut s = session(DialectKind::ChatInterfaces, server.base_url());
    let bad = s.exchange("bad").await;
    assert_eq!(assembled_text(&bad), "You said: bad", "\n{}", s.dump());
    let next = s.exchange("next").await;
    assert_eq!(assembled_text(&next), "You said: next", "\n{}", s.dump());
    assert_stream_clean(DialectKind::ChatInterfaces, &s.log);
    assert_eq!(discontinuities(&s.log), 0, "\n{}", s.dump());
    one_protocol_error(&s, "\"token\":\"lost");
    let unknown = unknowns(&s.log);
    assert_eq!(unknown.len(), 1, "\n{}", s.dump());
    assert_eq!(unknown[0].0, "hologram");
    assert_eq!(
        unknown[0].1.as_ref().map(|r| r["shape"].clone()),
        Some(json!("cube"))
    );
    let seen = server.seen();
    let texts: Vec<&str> = seen.messages.iter().map(|m| m.1.as_str()).collect();
    assert_eq!(texts, ["bad", "next"], "each message sent once");
    assert_eq!(seen.streams, 1, "the stream survived");
    s.close().await;
}

/// Sends `bad` (whose turn the raw Parlant responder mixes with `entries`), then `next`; both
/// replies exact, every turn ended once, each message stored once (a message whose answer was
/// lost with the connection is re-sent with its idempotency key).
async fn parlant_with(entries: Vec<Entry>) -> (Session, RawParlant) {
    let server = RawParlant::start(vec![("bad", entries)]).await;
    let mut s = session(DialectKind::Parlant, server.base_url());
    let bad = s.exchange("bad").await;
    assert_eq!(assembled_text(&bad), "You said: bad", "\n{}", s.dump());
    let next = s.exchange("next").await;
    assert_eq!(assembled_text(&next), "You said: next", "\n{}", s.dump());
    assert_stream_clean(DialectKind::Parlant, &s.log);
    assert_eq!(discontinuities(&s.log), 0, "\n{}", s.dump());
    let seen = server.seen();
    let texts: Vec<&str> = seen.messages.iter().map(|m| m.1.as_str()).collect();
    assert_eq!(texts, ["bad", "next"], "each message stored once");
    (s, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parlant_malformed_and_unknown_events_in_a_poll_answer() {
    let (s, _server) = parlant_with(vec![
        Entry::Raw(json!({"kind": "message", "source": "ai_agent", "data": {"message": "x"}})),
        Entry::Event {
            kind: "hologram".into(),
            data: json!({"shape": "cube"}),
        },
    ])
    .await;
    one_protocol_error(&s, "offset");
    let unknown = unknowns(&s.log);
    assert_eq!(unknown.len(), 1, "\n{}", s.dump());
    assert_eq!(unknown[0].0, "hologram");
    assert_eq!(
        unknown[0].1.as_ref().map(|r| r["data"]["shape"].clone()),
        Some(json!("cube"))
    );
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parlant_poll_answered_200_with_a_body_that_is_not_json() {
    let (s, server) = parlant_with(vec![Entry::PollAnswer {
        head: "HTTP/1.1 200 OK\r\nContent-Type: text/html".into(),
        body: "<html>maintenance</html>".into(),
    }])
    .await;
    one_protocol_error(&s, "maintenance");
    assert_eq!(server.seen().bad_polls, 1);
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parlant_poll_answered_500_with_a_body_that_is_not_json() {
    let (s, server) = parlant_with(vec![Entry::PollAnswer {
        head: "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html".into(),
        body: "<h1>Internal Server Error</h1>".into(),
    }])
    .await;
    let errs = errors(&s.log);
    assert_eq!(errs.len(), 1, "{errs:?}\n{}", s.dump());
    assert_eq!(errs[0].0, ErrorKind::Server, "{errs:?}");
    assert!(
        errs[0].2.contains("Internal Server Error"),
        "the body's text is kept: {errs:?}"
    );
    assert_eq!(server.seen().bad_polls, 1);
    s.close().await;
}

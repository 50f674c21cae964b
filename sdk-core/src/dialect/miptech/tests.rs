//! Codec tests of the miptech dialect: the 4-step connect, a streamed turn with duplicated and
//! reordered chunks, acks, errors, re-join after a drop, and malformed input.

use super::*;
use crate::dialect::codec_kit::testkit::*;
use crate::dialect::{Action, FailureKind};
use crate::event::Event;
use crate::event::{ErrorKind, TextUpdate};
use crate::ids::{Cursor, DedupKey};
use crate::io::CloseReason;
use serde_json::json;
use std::time::Duration;

pub(super) fn ok(id: RequestId, body: &'static [u8]) -> TransportEvent<'static> {
    TransportEvent::HttpResponse {
        id,
        status: 200,
        headers: &[],
        body,
    }
}

pub(super) fn text(conn: ConnId, t: &str) -> TransportEvent<'_> {
    TransportEvent::SocketText { conn, text: t }
}

/// Runs the connect plan up to `Ready`; returns the socket and every action taken.
pub(super) fn connect_ready(d: &mut Miptech, resume: Option<&Cursor>) -> (ConnId, Vec<Action>) {
    let mut out = actions(1);
    d.connect(&ConnectContext::new(1, resume), &mut out);
    let mut all = out.take();
    let (health, _) = one_request(&all);
    d.on_transport(ok(health, b"{\"status\":\"ok\"}"), &mut out);
    let mut step = out.take();
    if let Some((create, _)) = requests(&step).first().copied() {
        all.append(&mut step);
        d.on_transport(
            ok(create, br#"{"id":"chat_123","tenant_id":"demo-tenant"}"#),
            &mut out,
        );
        step = out.take();
    }
    let (conn, _, _) = opened(&step).expect("socket opened");
    all.append(&mut step);
    d.on_transport(
        text(
            conn,
            r#"{"type":"connection_established","data":{"client_id":"k1"}}"#,
        ),
        &mut out,
    );
    d.on_transport(text(conn, r#"{"type":"connection_ready"}"#), &mut out);
    all.append(&mut out.take());
    (conn, all)
}

#[test]
fn four_step_connect_with_tenant_headers() {
    let mut params = Params::new();
    params.insert("api_key".into(), "sk-secret".into());
    let mut d = Miptech::from_params("http://127.0.0.1:8001/", &params);
    let (_, all) = connect_ready(&mut d, None);
    let reqs = requests(&all);
    assert_eq!(reqs[0].1.url, "http://127.0.0.1:8001/healthz");
    assert_eq!(
        header(&reqs[0].1.headers, "X-Tenant-ID"),
        Some("demo-tenant")
    );
    assert_eq!(header(&reqs[0].1.headers, "Tenant-ID"), Some("demo-tenant"));
    assert_eq!(header(&reqs[0].1.headers, "X-API-Key"), Some("sk-secret"));
    assert_eq!(reqs[1].1.url, "http://127.0.0.1:8001/api/v1/chat");
    let (_, url, headers) = opened(&all).unwrap();
    assert_eq!(
        url,
        "ws://127.0.0.1:8001/api/v1/ws/chat?tenant_id=demo-tenant&chat_id=chat_123"
    );
    assert_eq!(header(headers, "X-Tenant"), Some("demo-tenant"));
    let sent = sent_json(&all);
    assert_eq!(
        sent,
        vec![json!({"type":"join_chat","data":{"chat_id":"chat_123"}})]
    );
    assert_eq!(
        all.last(),
        Some(&Action::Ready),
        "ready after join_chat is on the wire"
    );
    assert_eq!(d.chat_id(), Some("chat_123"));
    assert!(
        !format!("{d:?}").contains("sk-secret"),
        "secrets never in Debug output"
    );
}

#[test]
fn health_failures_are_classified() {
    let cases: [(u16, &[u8], FailureKind); 4] = [
        (503, br#"{"detail":"AI services warming up","type":"service_unavailable","code":"PLATFORM_INITIALIZING","retryable":true}"#, FailureKind::Initializing),
        (503, b"", FailureKind::ServerRestart),
        (401, br#"{"detail":"bad key","type":"authentication_error","code":"UNAUTHORIZED","retryable":false}"#, FailureKind::Auth),
        (500, b"<html>oops</html>", FailureKind::Server),
    ];
    for (status, body, kind) in cases {
        let mut d = Miptech::new("http://h");
        let mut out = actions(1);
        d.connect(&ConnectContext::new(1, None), &mut out);
        let (id, _) = one_request(&out.take());
        d.on_transport(
            TransportEvent::HttpResponse {
                id,
                status,
                headers: &[],
                body,
            },
            &mut out,
        );
        let got = out.take();
        assert!(
            matches!(&got[..], [Action::Fail(f)] if f.kind == kind),
            "{status}: {got:?}"
        );
    }
    let mut d = Miptech::new("http://h");
    let mut out = actions(1);
    d.connect(&ConnectContext::new(1, None), &mut out);
    let (id, _) = one_request(&out.take());
    let h = vec![("Retry-After".to_string(), "7".to_string())];
    let body = br#"{"detail":"Too many","type":"rate_limit_error","code":"RATE_LIMITED","retryable":true}"#;
    d.on_transport(
        TransportEvent::HttpResponse {
            id,
            status: 429,
            headers: &h,
            body,
        },
        &mut out,
    );
    let got = out.take();
    let [Action::Fail(f)] = &got[..] else {
        panic!("{got:?}")
    };
    assert_eq!(
        (f.kind, f.retry_after),
        (FailureKind::RateLimited, Some(Duration::from_secs(7)))
    );
}

#[test]
fn streamed_turn_with_duplicates_and_reordering() {
    let mut d = Miptech::new("http://h");
    let (conn, _) = connect_ready(&mut d, None);
    let mut out = actions(100);
    let id = client(1);
    d.encode(
        Outbound::Message {
            client_id: id,
            text: "hello",
            resend: false,
        },
        &mut out,
    )
    .unwrap();
    let sent = sent_json(&out.take());
    assert_eq!(sent[0]["type"], "chat_message");
    assert_eq!(sent[0]["clientId"], id.to_string());
    assert_eq!(sent[0]["data"]["message"], "hello");
    assert_eq!(sent[0]["data"]["chat_id"], "chat_123");
    assert_eq!(sent[0]["timestamp"], 1_763_800_000_001_u64);

    let frames = [
        format!(r#"{{"type":"message_received","data":{{"message_id":"u1","client_message_id":"{id}"}}}}"#),
        r#"{"type":"processing","data":{"message_id":"u1","stage":"thinking"}}"#.into(),
        r#"{"type":"response_start","data":{"message_id":"r1"}}"#.into(),
        r#"{"type":"response_chunk","data":{"message_id":"r1","content":"You","chunk_index":0}}"#.into(),
        r#"{"type":"response_chunk","data":{"message_id":"r1","content":": hello","chunk_index":2}}"#.into(),
        r#"{"type":"response_chunk","data":{"message_id":"r1","content":" said","chunk_index":1}}"#.into(),
        r#"{"type":"response_chunk","data":{"message_id":"r1","content":" said","chunk_index":1}}"#.into(),
        r#"{"type":"response_complete","data":{"message":{"id":"r1","content":"You said: hello","role":"assistant","total_tokens":12}},"eventTs":1763800000}"#.into(),
    ];
    for f in &frames {
        d.on_transport(text(conn, f), &mut out);
    }
    let got = out.take();
    assert_eq!(
        got[0],
        Action::Ack {
            client_id: id,
            server_id: Some("u1".into())
        }
    );
    assert_eq!(
        names(&got),
        [
            "turnStarted",
            "status",
            "status",
            "messageStarted",
            "textDelta",
            "textDelta",
            "textDelta",
            "messageCompleted",
            "turnCompleted"
        ]
    );
    let ev = emitted(&got);
    assert!(
        ev.iter().all(|d| d.turn_id.as_deref() == Some("u1")),
        "turns are keyed by the user message"
    );
    assert_eq!(
        ev[0].event,
        Event::TurnStarted {
            reply_to: Some(id.to_string())
        }
    );
    assert_eq!(assembled(&ev), "You said: hello");
    let offsets: Vec<_> = ev.iter().filter_map(|d| d.offset).collect();
    assert_eq!(offsets, [0, 3, 8]);
    assert_eq!(ev[5].dedup, Some(DedupKey::Id("chunk:r1:1".into())));
    assert!(
        ev.iter()
            .all(|d| d.conversation_id.as_deref() == Some("chat_123"))
    );
    assert!(ev.iter().all(|d| d.cursor == Some(Cursor::new("chat_123"))));
    let Event::TurnCompleted { usage, .. } = &ev[8].event else {
        panic!()
    };
    assert_eq!(usage.and_then(|u| u.total_tokens), Some(12));
    assert_eq!(ev[8].timestamp_ms, Some(1_763_800_000_000));
    assert!(ev[8].raw.is_some());
}

#[test]
fn legacy_frames_and_ack_without_echo() {
    let mut d = Miptech::new("http://h");
    let (conn, _) = connect_ready(&mut d, None);
    let mut out = actions(100);
    let (a, b) = (client(1), client(2));
    d.encode(
        Outbound::Message {
            client_id: a,
            text: "one",
            resend: false,
        },
        &mut out,
    )
    .unwrap();
    d.encode(
        Outbound::Message {
            client_id: b,
            text: "two",
            resend: false,
        },
        &mut out,
    )
    .unwrap();
    out.take();
    d.on_transport(
        text(conn, r#"{"event":"message_received","message_id":"u1"}"#),
        &mut out,
    );
    d.on_transport(
        text(
            conn,
            r#"{"type":"response_chunk","message_id":"r1","content":"hi"}"#,
        ),
        &mut out,
    );
    d.on_transport(
        text(
            conn,
            r#"{"type":"response_chunk","message_id":"r1","content":"hi"}"#,
        ),
        &mut out,
    );
    d.on_transport(
        text(
            conn,
            r#"{"type":"response_complete","data":{"message":{"id":"r1","content":"hihi"}}}"#,
        ),
        &mut out,
    );
    let got = out.take();
    assert_eq!(
        got[0],
        Action::Ack {
            client_id: a,
            server_id: Some("u1".into())
        },
        "oldest unacked"
    );
    let ev = emitted(&got);
    let deltas: Vec<_> = ev
        .iter()
        .filter(|d| matches!(d.event, Event::TextDelta { .. }))
        .collect();
    assert_eq!(
        deltas.len(),
        2,
        "the repeated frame is a repeated token: both are text, nothing is left for a tail"
    );
    assert!(
        matches!(&deltas[0].dedup, Some(DedupKey::Id(k)) if k.ends_with(":o0")),
        "keyed by position, not content"
    );
    assert_ne!(deltas[0].dedup, deltas[1].dedup);
    assert_eq!(
        deltas.iter().filter_map(|d| d.offset).collect::<Vec<_>>(),
        [0, 2]
    );
    assert_eq!(assembled(&ev), "hihi");
    assert!(
        ev.iter().all(|d| d.timestamp_ms.is_none()),
        "missing timestamps left to the engine"
    );
}

#[test]
fn unstreamed_response_is_a_complete_message() {
    let mut d = Miptech::new("http://h");
    let (conn, _) = connect_ready(&mut d, None);
    let mut out = actions(100);
    d.on_transport(text(conn, r#"{"type":"response_complete","data":{"message":{"id":"msg_456","content":"AI response text","role":"assistant","created_at":1234567890,"llm_model":"gpt-4","total_tokens":150,"response_time_ms":1200},"chat_id":"chat_123"},"eventTs":1234567890}"#), &mut out);
    let got = out.take();
    assert_eq!(names(&got), ["turnStarted", "message", "turnCompleted"]);
    let Event::Message {
        content, metadata, ..
    } = &emitted(&got)[1].event
    else {
        panic!()
    };
    assert_eq!(content, "AI response text");
    assert_eq!(metadata.as_ref().unwrap()["model"], "gpt-4");
}

#[test]
fn tools_typing_ping_and_unknown() {
    let mut d = Miptech::new("http://h");
    let (conn, _) = connect_ready(&mut d, None);
    let mut out = actions(100);
    for f in [
        r#"{"type":"tool_call_start","data":{"tool_call_id":"t1","name":"lookup","arguments":{"q":"x"}}}"#,
        r#"{"type":"tool_call_complete","data":{"tool_call_id":"t1","result":{"answer":42}}}"#,
        r#"{"type":"typing_start","data":{"user_id":"agent"}}"#,
        r#"{"type":"ping"}"#,
        r#"{"type":"brand_new","data":{"x":1}}"#,
    ] {
        d.on_transport(text(conn, f), &mut out);
    }
    let got = out.take();
    assert_eq!(
        names(&got),
        [
            "turnStarted",
            "toolStarted",
            "toolCompleted",
            "typing",
            "heartbeat",
            "unknown"
        ]
    );
    assert_eq!(sent_json(&got), vec![json!({"type":"pong"})]);
    let ev = emitted(&got);
    assert_eq!(
        ev[5].event,
        Event::Unknown {
            name: "brand_new".into()
        }
    );
    assert_eq!(ev[5].raw, Some(json!({"type":"brand_new","data":{"x":1}})));
}

#[test]
fn error_frames_fail_the_turn_and_sometimes_the_connection() {
    let mut d = Miptech::new("http://h");
    let (conn, _) = connect_ready(&mut d, None);
    let mut out = actions(100);
    d.on_transport(
        text(conn, r#"{"type":"processing","data":{"message_id":"u1"}}"#),
        &mut out,
    );
    d.on_transport(text(conn, r#"{"type":"error","data":{"detail":"LLM timeout","type":"server_error","code":"PROCESSING_TIMEOUT","retryable":true}}"#), &mut out);
    let got = out.take();
    assert_eq!(
        names(&got),
        ["turnStarted", "status", "error", "turnFailed"]
    );
    assert!(!got.iter().any(|a| matches!(a, Action::Fail(_))));
    d.on_transport(text(conn, r#"{"type":"error","data":{"detail":"token expired","type":"authentication_error","code":"UNAUTHORIZED","retryable":false}}"#), &mut out);
    let got = out.take();
    assert!(matches!(got.last(), Some(Action::Fail(f)) if f.kind == FailureKind::Auth));
    let Event::Error { kind, .. } = &emitted(&got)[0].event else {
        panic!()
    };
    assert_eq!(*kind, ErrorKind::Auth);
}

#[test]
fn rejoin_after_a_drop_reports_the_lost_turn() {
    let mut d = Miptech::new("http://h");
    let (conn, _) = connect_ready(&mut d, None);
    let mut out = actions(100);
    d.on_transport(
        text(
            conn,
            r#"{"type":"response_start","data":{"message_id":"r1"}}"#,
        ),
        &mut out,
    );
    let closed = CloseReason::error("connection reset");
    d.on_transport(
        TransportEvent::SocketClosed {
            conn,
            reason: &closed,
        },
        &mut out,
    );
    assert!(matches!(out.take().last(), Some(Action::Fail(f)) if f.kind == FailureKind::Network));
    d.disconnect(Disconnect::Reconnecting, &mut out);
    let (_, all) = connect_ready(&mut d, None);
    assert_eq!(
        requests(&all).len(),
        1,
        "no second chat is created: re-join"
    );
    assert!(opened(&all).unwrap().1.contains("chat_id=chat_123"));
    let pos = |want: fn(&Action) -> bool| all.iter().position(want).unwrap();
    assert!(pos(|a| matches!(a, Action::Discontinuity { .. })) < pos(|a| *a == Action::Ready));
}

#[test]
fn resume_cursor_rejoins_a_persisted_chat() {
    let mut d = Miptech::new("https://api.example.com");
    let cursor = Cursor::new("chat_9");
    let (_, all) = connect_ready(&mut d, Some(&cursor));
    assert_eq!(requests(&all).len(), 1);
    assert_eq!(
        opened(&all).unwrap().1,
        "wss://api.example.com/api/v1/ws/chat?tenant_id=demo-tenant&chat_id=chat_9"
    );
    assert!(
        !all.iter()
            .any(|a| matches!(a, Action::Discontinuity { .. }))
    );
}

#[test]
fn bad_input_never_panics() {
    let mut d = Miptech::new("http://h");
    let (conn, _) = connect_ready(&mut d, None);
    let mut out = actions(100);
    for f in [
        "{not json",
        "[]",
        r#"{"data":{}}"#,
        "",
        r#"{"type":"response_chunk","data":{"content":7,"chunk_index":-1}}"#,
    ] {
        d.on_transport(text(conn, f), &mut out);
    }
    d.on_transport(
        TransportEvent::SocketBinary {
            conn,
            bytes: &[0xff, 0x00, 0x81],
        },
        &mut out,
    );
    let got = out.take();
    let errors = emitted(&got)
        .iter()
        .filter(|d| {
            matches!(
                d.event,
                Event::Error {
                    kind: ErrorKind::Protocol,
                    ..
                }
            )
        })
        .count();
    assert_eq!(errors, 5, "{got:#?}");
    assert!(!got.iter().any(|a| matches!(a, Action::Fail(_))));
    let mut out = actions(1);
    let mut d = Miptech::new("http://h");
    d.connect(&ConnectContext::new(1, None), &mut out);
    let (h, _) = one_request(&out.take());
    d.on_transport(ok(h, b"ok"), &mut out);
    let (c, _) = one_request(&out.take());
    d.on_transport(ok(c, b"{\"ok\":true}"), &mut out);
    assert!(matches!(out.take()[..], [Action::Fail(ref f)] if f.kind == FailureKind::Protocol));
}

#[test]
fn commands_on_the_wire() {
    let mut d = Miptech::new("http://h");
    let (_, _) = connect_ready(&mut d, None);
    let mut out = actions(100);
    d.encode(Outbound::Typing { active: true }, &mut out)
        .unwrap();
    d.encode(Outbound::Typing { active: false }, &mut out)
        .unwrap();
    d.encode(Outbound::Ping { nonce: 3 }, &mut out).unwrap();
    assert!(matches!(
        d.encode(Outbound::CancelTurn, &mut out),
        Err(DialectError::Unsupported(_))
    ));
    let sent = sent_json(&out.take());
    assert_eq!(
        sent[0],
        json!({"type":"typing_start","data":{"chat_id":"chat_123"}})
    );
    assert_eq!(sent[1]["type"], "typing_stop");
    assert_eq!(sent[2], json!({"type":"ping","data":{"nonce":3}}));
    d.disconnect(Disconnect::Closed, &mut out);
    assert_eq!(
        sent_json(&out.take()),
        vec![json!({"type":"leave_chat","data":{"chat_id":"chat_123"}})]
    );
    let mut fresh = Miptech::new("http://h");
    let mut out = actions(1);
    let err = fresh.encode(Outbound::Typing { active: true }, &mut out);
    assert!(matches!(err, Err(DialectError::NotConnected)));
}

#[test]
fn replace_updates_are_not_used_for_indexed_streams() {
    let mut d = Miptech::new("http://h");
    let (conn, _) = connect_ready(&mut d, None);
    let mut out = actions(100);
    d.on_transport(
        text(
            conn,
            r#"{"type":"response_chunk","data":{"message_id":"r","content":"a","index":0}}"#,
        ),
        &mut out,
    );
    let got = out.take();
    let Event::TextDelta { update, .. } = &emitted(&got)[1].event else {
        panic!()
    };
    assert!(matches!(update, TextUpdate::Append { .. }));
}

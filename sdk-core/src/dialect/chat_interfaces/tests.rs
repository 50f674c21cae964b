//! Codec tests of the chat-interfaces dialect on the answers and SSE events `chatwire-mock`
//! sends: session + stream, a message and its execution, duplicates, resume with Last-Event-ID,
//! a gap filled from the history, HTTP errors and bad input.

use super::*;
use crate::dialect::Action;
use crate::dialect::codec_kit::testkit::*;
use crate::event::{ErrorKind, Event};
use crate::ids::Cursor;
use crate::sse;
use serde_json::json;
use std::time::Duration;

fn resp(id: RequestId, status: u16, body: &[u8]) -> TransportEvent<'_> {
    TransportEvent::HttpResponse {
        id,
        status,
        headers: &[],
        body,
    }
}

fn sse(id: &str, event: &str, data: serde_json::Value) -> sse::Event {
    sse::Event {
        event: event.into(),
        data: data.to_string(),
        id: Some(id.into()),
    }
}

fn feed(d: &mut ChatInterfaces, stream: RequestId, events: &[sse::Event], out: &mut Actions) {
    for event in events {
        d.on_transport(TransportEvent::SseEvent { id: stream, event }, out);
    }
}

/// Session + stream; returns the dialect, the stream handle and every action.
fn ready() -> (ChatInterfaces, RequestId, Vec<Action>) {
    let mut d = ChatInterfaces::new("http://127.0.0.1:5");
    let mut out = actions(1);
    d.connect(&ConnectContext::new(1, None), &mut out);
    let mut all = out.take();
    let (create, spec) = one_request(&all);
    assert_eq!(
        spec.url,
        "http://127.0.0.1:5/api/public/chat-interfaces/demo/sessions"
    );
    d.on_transport(resp(create, 201, br#"{"success":true,"data":{"sessionToken":"st-1","sessionId":"s1"},"sessionToken":"st-1","sessionId":"s1","slug":"demo"}"#), &mut out);
    let step = out.take();
    let (stream, _) = one_request(&step);
    all.extend(step);
    d.on_transport(resp(stream, 200, b""), &mut out);
    all.extend(out.take());
    (d, stream, all)
}

#[test]
fn session_stream_and_a_full_execution() {
    let (mut d, stream, all) = ready();
    let spec = requests(&all)[1].1;
    assert_eq!(
        spec.url,
        "http://127.0.0.1:5/api/public/chat-interfaces/demo/stream?sessionToken=st-1"
    );
    assert_eq!(header(&spec.headers, "X-Session-Token"), Some("st-1"));
    assert_eq!(header(&spec.headers, "Accept"), Some("text/event-stream"));
    assert!(all.ends_with(&[Action::Connected, Action::Ready]));
    assert!(
        !format!("{d:?}").contains("st-1"),
        "the session token never in Debug output"
    );

    let mut out = actions(10);
    let c = client(1);
    d.encode(
        Outbound::Message {
            client_id: c,
            text: "hello",
            resend: false,
        },
        &mut out,
    )
    .unwrap();
    let got = out.take();
    let (post, spec) = one_request(&got);
    assert_eq!(
        spec.url,
        "http://127.0.0.1:5/api/public/chat-interfaces/demo/messages"
    );
    assert_eq!(
        header(&spec.headers, "Idempotency-Key"),
        Some(c.to_string().as_str())
    );
    let body: serde_json::Value = serde_json::from_slice(&spec.body).unwrap();
    assert_eq!(
        body,
        json!({"message":"hello","sessionToken":"st-1","clientMessageId": c.to_string()})
    );
    d.on_transport(resp(post, 200, br#"{"success":true,"data":{"executionId":"e1","threadId":"t1","status":"running"},"executionId":"e1","threadId":"t1","status":"running"}"#), &mut out);
    let got = out.take();
    assert_eq!(
        got[0],
        Action::Ack {
            client_id: c,
            server_id: Some("e1".into())
        }
    );
    assert_eq!(names(&got), ["turnStarted"]);

    let tok = |id: &str, t: &str| {
        sse(
            id,
            "token",
            json!({"token": t, "executionId":"e1","threadId":"t1","messageId":"m1"}),
        )
    };
    let events = [
        sse(
            "3",
            "connected",
            json!({"sessionToken":"st-1","threadId":"t1","executionId":"e1"}),
        ),
        sse(
            "4",
            "tool_call_started",
            json!({"toolCallId":"tc1","toolName":"lookup","arguments":{"query":"x"},"executionId":"e1"}),
        ),
        sse(
            "5",
            "tool_call_completed",
            json!({"toolCallId":"tc1","toolName":"lookup","result":{"ok":true},"executionId":"e1"}),
        ),
        tok("6", "You "),
        tok("7", "said: "),
        tok("7", "said: "),
        tok("8", "hello"),
        sse(
            "9",
            "message",
            json!({"message":{"id":"m1","role":"assistant","content":"You said: hello","timestamp":1_763_800_000_000_u64,"toolCalls":[]},"executionId":"e1","threadId":"t1"}),
        ),
        sse(
            "10",
            "execution:completed",
            json!({"executionId":"e1","threadId":"t1","status":"completed"}),
        ),
    ];
    feed(&mut d, stream, &events, &mut out);
    let got = out.take();
    // the engine drops repeated keys: model that here
    let mut seen = std::collections::HashSet::new();
    let delivered: Vec<_> = emitted(&got)
        .into_iter()
        .filter(|e| e.dedup.as_ref().is_none_or(|k| seen.insert(k.clone())))
        .collect();
    let names: Vec<_> = delivered.iter().map(|e| e.event.type_name()).collect();
    assert_eq!(
        names,
        [
            "turnStarted",
            "toolStarted",
            "toolCompleted",
            "messageStarted",
            "textDelta",
            "textDelta",
            "textDelta",
            "messageCompleted",
            "turnCompleted"
        ]
    );
    assert!(delivered.iter().all(|e| e.turn_id.as_deref() == Some("e1")));
    assert_eq!(assembled(&delivered), "You said: hello");
    assert_eq!(delivered[8].cursor, Some(Cursor::new("10")));
    assert_eq!(delivered[7].timestamp_ms, Some(1_763_800_000_000));
    assert_eq!(
        delivered[0].event,
        Event::TurnStarted {
            reply_to: Some(c.to_string())
        }
    );
}

#[test]
fn reconnect_resumes_with_last_event_id() {
    let (mut d, stream, _) = ready();
    let mut out = actions(10);
    d.on_transport(TransportEvent::HttpEnd { id: stream }, &mut out);
    assert!(matches!(&out.take()[..], [Action::Fail(f)] if f.kind == FailureKind::Network));
    d.disconnect(Disconnect::Reconnecting, &mut out);
    let cursor = Cursor::new("9");
    d.connect(&ConnectContext::new(1, Some(&cursor)), &mut out);
    let got = out.take();
    let (stream, spec) = one_request(&got);
    assert!(
        spec.url.ends_with("/stream?sessionToken=st-1"),
        "no new session"
    );
    assert_eq!(header(&spec.headers, "Last-Event-ID"), Some("9"));
    d.on_transport(resp(stream, 200, b""), &mut out);
    feed(
        &mut d,
        stream,
        &[sse("9", "connected", json!({"sessionToken":"st-1"}))],
        &mut out,
    );
    let got = out.take();
    assert!(
        !got.iter()
            .any(|a| matches!(a, Action::Discontinuity { .. } | Action::Http { .. })),
        "replayed: no gap"
    );
}

/// A stream that breaks right after `connected` resumes from the `connected` id, and later from
/// the last event delivered: what ran while the client was away is replayed, not skipped.
#[test]
fn a_stream_broken_before_its_first_event_resumes_from_the_connected_id() {
    let (mut d, stream, _) = ready();
    let mut out = actions(10);
    feed(
        &mut d,
        stream,
        &[sse("5", "connected", json!({}))],
        &mut out,
    );
    d.on_transport(TransportEvent::HttpEnd { id: stream }, &mut out);
    d.disconnect(Disconnect::Reconnecting, &mut out);
    out.take();
    d.connect(&ConnectContext::new(2, None), &mut out);
    let got = out.take();
    let (stream, spec) = one_request(&got);
    assert_eq!(header(&spec.headers, "Last-Event-ID"), Some("5"));
    d.on_transport(resp(stream, 200, b""), &mut out);
    let token = json!({"token":"Hi","executionId":"e1","threadId":"t1","messageId":"m1"});
    feed(
        &mut d,
        stream,
        &[sse("5", "connected", json!({})), sse("6", "token", token)],
        &mut out,
    );
    let got = out.take();
    assert!(
        !got.iter()
            .any(|a| matches!(a, Action::Discontinuity { .. })),
        "replayed from 5: no gap"
    );
    d.on_transport(TransportEvent::HttpEnd { id: stream }, &mut out);
    d.disconnect(Disconnect::Reconnecting, &mut out);
    out.take();
    d.connect(&ConnectContext::new(3, None), &mut out);
    let got = out.take();
    let (_, spec) = one_request(&got);
    assert_eq!(header(&spec.headers, "Last-Event-ID"), Some("6"));
}

#[test]
fn a_gap_is_reported_and_filled_from_the_history() {
    let (mut d, _, _) = ready();
    let mut out = actions(10);
    d.disconnect(Disconnect::Reconnecting, &mut out);
    let cursor = Cursor::new("9");
    d.connect(&ConnectContext::new(2, Some(&cursor)), &mut out);
    let (stream, _) = one_request(&out.take());
    d.on_transport(resp(stream, 200, b""), &mut out);
    out.take();
    feed(
        &mut d,
        stream,
        &[sse("14", "connected", json!({}))],
        &mut out,
    );
    let got = out.take();
    assert!(matches!(&got[0], Action::Discontinuity { reason } if reason.contains("14")));
    let (history, spec) = one_request(&got);
    assert_eq!(
        spec.url,
        "http://127.0.0.1:5/api/public/chat-interfaces/demo/sessions/st-1/messages"
    );
    d.on_transport(resp(history, 200, br#"{"messages":[{"id":"u1","role":"user","content":"hi"},{"id":"m1","role":"assistant","content":"You said: hi","timestamp":1763800000000,"toolCalls":[]}]}"#), &mut out);
    let got = out.take();
    assert_eq!(names(&got), ["message"]);
    let ev = emitted(&got);
    assert_eq!(
        ev[0].dedup,
        Some(DedupKey::Id("msg:m1".into())),
        "same key as the streamed message"
    );
    assert!(matches!(&ev[0].event, Event::Message { content, .. } if content == "You said: hi"));
}

#[test]
fn http_errors() {
    let (mut d, _, _) = ready();
    let mut out = actions(10);
    let c = client(2);
    d.encode(
        Outbound::Message {
            client_id: c,
            text: "x",
            resend: false,
        },
        &mut out,
    )
    .unwrap();
    let (post, _) = one_request(&out.take());
    let h = vec![("Retry-After".to_string(), "6".to_string())];
    let body = br#"{"success":false,"error":"Rate limit exceeded","code":"RATE_LIMITED","retryable":true}"#;
    d.on_transport(
        TransportEvent::HttpResponse {
            id: post,
            status: 429,
            headers: &h,
            body,
        },
        &mut out,
    );
    let got = out.take();
    assert!(
        matches!(&got[..], [Action::Fail(f)] if f.kind == FailureKind::RateLimited && f.retry_after == Some(Duration::from_secs(6)))
    );

    d.encode(
        Outbound::Message {
            client_id: c,
            text: "",
            resend: true,
        },
        &mut out,
    )
    .unwrap();
    let (post, _) = one_request(&out.take());
    d.on_transport(resp(post, 400, br#"{"success":false,"error":"message is required","code":"VALIDATION_ERROR","retryable":false}"#), &mut out);
    let got = out.take();
    assert!(got.contains(&Action::Reject {
        client_id: c,
        reason: FailReason::Rejected
    }));
    assert!(matches!(
        emitted(&got)[0].event,
        Event::Error {
            kind: ErrorKind::InvalidInput,
            ..
        }
    ));

    // an expired session is retried with a new one
    let mut d = ChatInterfaces::new("http://127.0.0.1:5");
    let mut p = Params::new();
    p.insert("session_token".into(), "old".into());
    p.insert("slug".into(), "support bot".into());
    let mut d2 = ChatInterfaces::from_params("http://h", &p);
    d2.connect(&ConnectContext::new(1, None), &mut out);
    let got = out.take();
    let (stream, spec) = one_request(&got);
    assert_eq!(
        spec.url,
        "http://h/api/public/chat-interfaces/support%20bot/stream?sessionToken=old"
    );
    d2.on_transport(resp(stream, 404, br#"{"success":false,"error":"unknown session","code":"SESSION_NOT_FOUND","retryable":false}"#), &mut out);
    assert!(matches!(&out.take()[..], [Action::Fail(f)] if f.kind == FailureKind::Server));
    d2.disconnect(Disconnect::Reconnecting, &mut out);
    d2.connect(&ConnectContext::new(2, None), &mut out);
    assert!(
        one_request(&out.take()).1.url.ends_with("/sessions"),
        "a new session"
    );

    d.connect(&ConnectContext::new(1, None), &mut out);
    let (create, _) = one_request(&out.take());
    d.on_transport(
        resp(
            create,
            401,
            br#"{"success":false,"error":"no","code":"UNAUTHORIZED","retryable":false}"#,
        ),
        &mut out,
    );
    assert!(matches!(&out.take()[..], [Action::Fail(f)] if f.kind == FailureKind::Auth));
    assert!(matches!(
        d.encode(Outbound::Typing { active: true }, &mut out),
        Err(DialectError::NotConnected)
    ));
}

#[test]
fn failures_in_the_stream_and_bad_input() {
    let (mut d, stream, _) = ready();
    let mut out = actions(10);
    let events = [
        sse("3", "connected", json!({"sessionToken":"st-1"})),
        sse(
            "4",
            "token",
            json!({"token":"x","executionId":"e2","messageId":"m2"}),
        ),
        sse(
            "5",
            "execution:failed",
            json!({"executionId":"e2","status":"failed","error":"LLM unavailable"}),
        ),
        sse("6", "token", json!("not an object")),
        sse("7", "token", json!({"token": 5})),
        sse::Event {
            event: "token".into(),
            data: "{broken".into(),
            id: Some("8".into()),
        },
        sse("9", "agent:thinking", json!({"executionId":"e3"})),
        sse(
            "10",
            "error",
            json!({"error":"internal","code":"INTERNAL","retryable":true}),
        ),
    ];
    feed(&mut d, stream, &events, &mut out);
    let got = out.take();
    assert_eq!(
        names(&got),
        [
            "turnStarted",
            "messageStarted",
            "textDelta",
            "turnStarted",
            "turnFailed",
            "error",
            "messageStarted",
            "textDelta",
            "error",
            "unknown",
            "error"
        ]
    );
    let ev = emitted(&got);
    assert!(
        matches!(&ev[4].event, Event::TurnFailed { error } if error.message == "LLM unavailable")
    );
    assert!(matches!(
        ev[5].event,
        Event::Error {
            kind: ErrorKind::Protocol,
            ..
        }
    ));
    assert_eq!(
        ev[9].event,
        Event::Unknown {
            name: "agent:thinking".into()
        }
    );
    assert!(ev[9].raw.is_some());
    d.on_transport(
        TransportEvent::HttpFailed {
            id: stream,
            error: "reset by peer",
        },
        &mut out,
    );
    assert!(matches!(&out.take()[..], [Action::Fail(f)] if f.kind == FailureKind::Network));
}

#[test]
fn reordered_and_duplicated_events_are_delivered_once_in_order() {
    let (mut d, stream, _) = ready();
    let mut out = actions(10);
    let tok = |id: &str, t: &str| {
        sse(
            id,
            "token",
            json!({"token": t, "executionId":"e1","messageId":"m1"}),
        )
    };
    let done = sse(
        "7",
        "execution:completed",
        json!({"executionId":"e1","status":"completed"}),
    );
    // the mock's reorder fault shuffles within a window; duplicates repeat a frame
    let events = [
        tok("4", "You "),
        sse("3", "connected", json!({"sessionToken":"st-1"})),
        tok("6", "hello"),
        tok("5", "said: "),
        tok("5", "said: "),
        done.clone(),
    ];
    feed(&mut d, stream, &events, &mut out);
    let got = out.take();
    let mut seen = std::collections::HashSet::new();
    let delivered: Vec<_> = emitted(&got)
        .into_iter()
        .filter(|e| e.dedup.as_ref().is_none_or(|k| seen.insert(k.clone())))
        .collect();
    assert_eq!(assembled(&delivered), "You said: hello");
    assert_eq!(
        delivered.last().map(|e| e.event.type_name()),
        Some("turnCompleted")
    );
    // the stream ends with an event still waiting behind a gap: it is delivered, not lost
    let (mut d, stream, _) = ready();
    feed(
        &mut d,
        stream,
        &[sse("3", "connected", json!({})), tok("5", "late")],
        &mut out,
    );
    assert!(emitted(&out.take()).is_empty());
    d.on_transport(TransportEvent::HttpEnd { id: stream }, &mut out);
    let got = out.take();
    assert_eq!(names(&got), ["turnStarted", "messageStarted", "textDelta"]);
    assert!(matches!(got.last(), Some(Action::Fail(_))));
}

/// Regression (issue 8, finding 2): the set of streamed replies evicted the id that *sorts*
/// first, so once the backend's ids passed `msg-9999` each new `msg-10xxx` was evicted as soon
/// as it was added and its final `message` arrived as a second, stand-alone reply. Hundreds of
/// replies across the digit boundary, each streamed then completed: every one completes the
/// streamed reply, none stands alone.
#[test]
fn reply_ids_crossing_a_digit_boundary_keep_completing_their_stream() {
    let (mut d, stream, _) = ready();
    let mut out = actions(10);
    let connected = sse("1", "connected", json!({"sessionToken":"st-1"}));
    feed(&mut d, stream, &[connected], &mut out);
    out.take();
    let mut sse_id = 1u64;
    let mut next = |event: &str, data: serde_json::Value| {
        sse_id += 1;
        sse(&sse_id.to_string(), event, data)
    };
    for n in 9_700..10_300u64 {
        let (exec, msg) = (format!("e{n}"), format!("msg-{n}"));
        let events = [
            next(
                "token",
                json!({"token":"hi","executionId":exec,"messageId":msg}),
            ),
            next(
                "message",
                json!({"message":{"id":msg,"role":"assistant","content":"hi"},"executionId":exec}),
            ),
        ];
        feed(&mut d, stream, &events, &mut out);
        let got = out.take();
        let completed = emitted(&got)
            .iter()
            .filter(|e| matches!(e.event, Event::MessageCompleted { .. }))
            .count();
        let standalone = emitted(&got)
            .iter()
            .filter(|e| matches!(e.event, Event::Message { .. }))
            .count();
        assert_eq!(
            (completed, standalone),
            (1, 0),
            "reply {msg}: {:?}",
            names(&got)
        );
    }
}

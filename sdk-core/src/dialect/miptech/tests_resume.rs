//! Codec tests of the miptech dialect against the frames `chatwire-mock` sends: re-join with
//! recovery from the history (never re-sending an acked message), tool calls inside
//! `processing`, cancellation.

use super::tests::{connect_ready, text};
use super::*;
use crate::dialect::Action;
use crate::dialect::Decoded;
use crate::dialect::FailureKind;
use crate::dialect::codec_kit::testkit::*;
use crate::event::Event;
use crate::ids::ConnId;
use crate::io::CloseReason;
use serde_json::json;
use std::time::Duration;

/// The mock's frames: `{type, data, timestamp, eventTs}` with `event_id` on turn frames.
fn mock(kind: &str, seq: u64, data: serde_json::Value) -> String {
    json!({"type": kind, "data": data, "timestamp": 1_763_800_000_000_u64 + seq,
        "eventTs": 1_763_800_000_000_u64 + seq, "event_id": format!("chat_123:{seq}")})
    .to_string()
}

/// Sends "hello" (client 7), gets it acked as `u1` and the turn cut after its first chunk;
/// returns the frames seen and the actions of the re-join.
fn cut_after_first_chunk(d: &mut Miptech) -> (Vec<String>, Vec<Action>, Vec<Action>, ConnId) {
    let (conn, _) = connect_ready(d, None);
    let mut out = actions(100);
    let c = client(7);
    d.encode(
        Outbound::Message {
            client_id: c,
            text: "hello",
            resend: false,
        },
        &mut out,
    )
    .unwrap();
    let ack = json!({"message_id":"u1","client_id": c.to_string(),"chat_id":"chat_123","content":"hello","duplicate":false});
    let frames = vec![
        json!({"type":"message_received","data": ack, "timestamp": 1, "eventTs": 1}).to_string(),
        mock(
            "processing",
            1,
            json!({"chat_id":"chat_123","message_id":"u1","status":"processing"}),
        ),
        mock(
            "response_start",
            2,
            json!({"message_id":"r1","chat_id":"chat_123","reply_to":"u1"}),
        ),
        mock(
            "response_chunk",
            3,
            json!({"message_id":"r1","chat_id":"chat_123","content":"You ","chunk_index":0,"offset":0}),
        ),
    ];
    for f in &frames {
        d.on_transport(text(conn, f), &mut out);
    }
    let first = out.take();
    let closed = CloseReason::error("reset");
    d.on_transport(
        TransportEvent::SocketClosed {
            conn,
            reason: &closed,
        },
        &mut out,
    );
    d.disconnect(Disconnect::Reconnecting, &mut out);
    out.take();
    let (conn2, rejoin) = connect_ready(d, None);
    (frames, first, rejoin, conn2)
}

/// What the engine would deliver: repeated dedup keys and events of ended turns dropped.
fn delivered<'a>(batches: &[&'a [Action]]) -> Vec<&'a Decoded> {
    let mut seen = std::collections::HashSet::new();
    let mut ended = std::collections::HashSet::new();
    let mut out = Vec::new();
    for e in batches.iter().flat_map(|b| emitted(b)) {
        if e.turn_id.as_ref().is_some_and(|t| ended.contains(t)) {
            continue;
        }
        if e.dedup.as_ref().is_none_or(|k| seen.insert(k.clone())) {
            if e.event.is_turn_terminal() {
                ended.insert(e.turn_id.clone().unwrap_or_default());
            }
            out.push(e);
        }
    }
    out
}

/// Issue 8, findings 1 and 4: after a re-join an acked message is never sent again (a backend
/// that does not deduplicate by client id would answer twice); the reply the socket cut is
/// recovered from the chat's history, and a late copy of it on the socket is shown once.
#[test]
fn rejoin_never_resends_an_acked_message_and_recovers_the_reply_from_history() {
    let mut d = Miptech::new("http://h");
    let (_, first, rejoin, conn2) = cut_after_first_chunk(&mut d);
    assert!(
        !rejoin
            .iter()
            .any(|a| matches!(a, Action::Discontinuity { .. })),
        "{rejoin:#?}"
    );
    let sent = sent_json(&rejoin);
    assert_eq!(sent.len(), 1, "only join_chat: {sent:?}");
    assert_eq!(sent[0]["type"], "join_chat");
    let history = requests(&rejoin)
        .into_iter()
        .find(|(_, spec)| spec.url.ends_with("/messages"))
        .expect("a history request");
    assert_eq!(history.1.url, "http://h/api/v1/chat/chat_123/messages");
    assert_eq!(
        header(&history.1.headers, "X-Tenant-ID"),
        Some("demo-tenant")
    );

    let mut out = actions(200);
    let listing = json!({"chat_id":"chat_123","messages":[
        {"id":"u1","role":"user","content":"hello","created_at":1,"reply_to":null},
        {"id":"r1","role":"assistant","content":"You said: hello","created_at":2,"reply_to":"u1"}]});
    d.on_transport(
        TransportEvent::HttpResponse {
            id: history.0,
            status: 200,
            headers: &[],
            body: listing.to_string().as_bytes(),
        },
        &mut out,
    );
    let recovered = out.take();
    assert!(
        !recovered
            .iter()
            .any(|a| matches!(a, Action::Ack { .. } | Action::Fail(_)))
    );
    // the same reply completing on the socket as well (it raced the history answer)
    let late = mock(
        "response_complete",
        5,
        json!({"chat_id":"chat_123","reply_to":"u1","message":{"id":"r1","content":"You said: hello","role":"assistant"}}),
    );
    d.on_transport(text(conn2, &late), &mut out);
    let late = out.take();
    let shown = delivered(&[&first, &recovered, &late]);
    let names: Vec<_> = shown.iter().map(|e| e.event.type_name()).collect();
    assert_eq!(
        names,
        [
            "turnStarted",
            "status",
            "status",
            "messageStarted",
            "textDelta",
            "textDelta",
            "messageCompleted",
            "turnCompleted"
        ]
    );
    assert_eq!(assembled(&shown), "You said: hello");
    // finished: a later re-join asks nothing and sends nothing but join_chat
    d.disconnect(Disconnect::Reconnecting, &mut out);
    let (_, all) = connect_ready(&mut d, None);
    assert_eq!(sent_json(&all).len(), 1);
    assert!(
        !requests(&all)
            .iter()
            .any(|(_, s)| s.url.ends_with("/messages"))
    );
}

/// A reply the history does not list yet is still running: the re-joined socket finishes it.
/// A history that cannot help is reported; one that fails for a while fails the connection (the
/// next one asks again); neither is ever answered by sending the message again.
#[test]
fn a_reply_still_running_finishes_on_the_socket() {
    let mut d = Miptech::new("http://h");
    let (_, first, rejoin, conn2) = cut_after_first_chunk(&mut d);
    let (history, _) = requests(&rejoin)
        .into_iter()
        .find(|(_, spec)| spec.url.ends_with("/messages"))
        .unwrap();
    let mut out = actions(200);
    let listing = json!({"messages":[{"id":"u1","role":"user","content":"hello"}]});
    d.on_transport(
        TransportEvent::HttpResponse {
            id: history,
            status: 200,
            headers: &[],
            body: listing.to_string().as_bytes(),
        },
        &mut out,
    );
    assert!(out.take().is_empty(), "nothing to recover yet");
    for f in [
        mock(
            "response_chunk",
            4,
            json!({"message_id":"r1","chat_id":"chat_123","content":"said: hello","chunk_index":1,"offset":4}),
        ),
        mock(
            "response_complete",
            5,
            json!({"chat_id":"chat_123","reply_to":"u1","message":{"id":"r1","content":"You said: hello","role":"assistant"}}),
        ),
    ] {
        d.on_transport(text(conn2, &f), &mut out);
    }
    let live = out.take();
    let shown = delivered(&[&first, &live]);
    assert_eq!(assembled(&shown), "You said: hello");
    assert_eq!(
        shown.last().map(|e| e.event.type_name()),
        Some("turnCompleted")
    );

    // a history that cannot help (404): an error event, no re-send, no connection failure;
    // a passing failure (429 with Retry-After, 500, no answer): the connection fails with it,
    // so the next one asks again after the engine's backoff; never a re-send
    let hint = [("Retry-After".to_string(), "1".to_string())];
    for (status, headers, body) in [
        (404, &[][..], &b"<html>no</html>"[..]),
        (429, &hint[..], &b""[..]),
        (500, &[][..], &b"<html>oops</html>"[..]),
    ] {
        let (_, _, rejoin, _) = cut_after_first_chunk(&mut d);
        let (history, _) = requests(&rejoin)
            .into_iter()
            .find(|(_, spec)| spec.url.ends_with("/messages"))
            .unwrap();
        d.on_transport(
            TransportEvent::HttpResponse {
                id: history,
                status,
                headers,
                body,
            },
            &mut out,
        );
        let got = out.take();
        assert!(sent_json(&got).is_empty(), "HTTP {status}: no re-send");
        match status {
            404 => assert_eq!(names(&got), ["error"]),
            429 => assert!(
                matches!(&got[..], [Action::Fail(f)] if f.kind == FailureKind::RateLimited
                    && f.retry_after == Some(Duration::from_secs(1))),
                "{got:?}"
            ),
            _ => assert!(
                matches!(&got[..], [Action::Fail(f)] if f.kind == FailureKind::Server),
                "{got:?}"
            ),
        }
    }
    let (_, _, rejoin, _) = cut_after_first_chunk(&mut d);
    let (history, _) = requests(&rejoin)
        .into_iter()
        .find(|(_, spec)| spec.url.ends_with("/messages"))
        .unwrap();
    d.on_transport(
        TransportEvent::HttpFailed {
            id: history,
            error: "connection reset",
        },
        &mut out,
    );
    let got = out.take();
    assert!(
        matches!(&got[..], [Action::Fail(f)] if f.kind == FailureKind::Network),
        "{got:?}"
    );
}

#[test]
fn mock_tool_frames_and_cancellation() {
    let mut d = Miptech::new("http://h");
    let (conn, _) = connect_ready(&mut d, None);
    let mut out = actions(100);
    let c = client(8);
    d.encode(
        Outbound::Message {
            client_id: c,
            text: "/tool rain",
            resend: false,
        },
        &mut out,
    )
    .unwrap();
    let ack = json!({"message_id":"u2","client_id": c.to_string(),"duplicate":false});
    for f in [
        json!({"type":"message_received","data": ack}).to_string(),
        mock(
            "processing",
            1,
            json!({"message_id":"u2","status":"processing","stage":"tool_call","tool":{"id":"tool-1","name":"lookup","args":{"query":"rain"}}}),
        ),
        mock(
            "processing",
            2,
            json!({"message_id":"u2","status":"processing","stage":"tool_progress","tool":{"id":"tool-1","message":"looking up rain"}}),
        ),
        mock(
            "processing",
            3,
            json!({"message_id":"u2","status":"processing","stage":"tool_result","tool":{"id":"tool-1","output":{"forecast":"wet"}}}),
        ),
        mock(
            "error",
            4,
            json!({"detail":"processing cancelled","type":"processing_error","code":"PROCESSING_CANCELLED","retryable":true,"message_id":"u2"}),
        ),
    ] {
        d.on_transport(text(conn, &f), &mut out);
    }
    let got = out.take();
    assert_eq!(
        names(&got),
        [
            "turnStarted",
            "status",
            "toolStarted",
            "toolProgress",
            "toolCompleted",
            "error",
            "turnCancelled"
        ]
    );
    let ev = emitted(&got);
    assert_eq!(
        ev[2].event,
        Event::ToolStarted {
            tool_id: "tool-1".into(),
            name: "lookup".into(),
            args: Some(json!({"query":"rain"}))
        }
    );
    assert_eq!(
        ev[4].event,
        Event::ToolCompleted {
            tool_id: "tool-1".into(),
            output: json!({"forecast":"wet"})
        }
    );
    assert!(ev[1..].iter().all(|e| e.turn_id.as_deref() == Some("u2")));
    assert!(
        !got.iter().any(|a| matches!(a, Action::Fail(_))),
        "a turn error keeps the connection"
    );
    d.disconnect(Disconnect::Reconnecting, &mut out);
    let (_, all) = connect_ready(&mut d, None);
    assert_eq!(sent_json(&all).len(), 1, "a cancelled turn is not re-sent");
}

#[test]
fn platform_not_ready_fails_the_connection_as_initializing() {
    let mut d = Miptech::new("http://h");
    let (conn, _) = connect_ready(&mut d, None);
    let mut out = actions(100);
    d.on_transport(text(conn, r#"{"type":"error","data":{"detail":"platform is initializing","type":"websocket_error","code":"PLATFORM_NOT_READY","retryable":true}}"#), &mut out);
    let got = out.take();
    assert!(matches!(got.last(), Some(Action::Fail(f)) if f.kind == FailureKind::Initializing));
}

/// Cut right after the ack, before any of the reply streamed: the history's reply is delivered
/// as the socket would have streamed it (start, the whole text, completion).
#[test]
fn a_reply_cut_before_it_streamed_is_recovered_as_a_stream() {
    let mut d = Miptech::new("http://h");
    let (conn, _) = connect_ready(&mut d, None);
    let mut out = actions(100);
    let c = client(9);
    let msg = Outbound::Message {
        client_id: c,
        text: "hello",
        resend: false,
    };
    d.encode(msg, &mut out).unwrap();
    let ack =
        json!({"type":"message_received","data":{"message_id":"u9","client_id": c.to_string()}});
    d.on_transport(text(conn, &ack.to_string()), &mut out);
    let first = out.take();
    d.disconnect(Disconnect::Reconnecting, &mut out);
    out.take();
    let (_, rejoin) = connect_ready(&mut d, None);
    assert_eq!(sent_json(&rejoin).len(), 1, "join_chat only");
    let (history, _) = requests(&rejoin)
        .into_iter()
        .find(|(_, spec)| spec.url.ends_with("/messages"))
        .unwrap();
    let listing = json!({"messages":[{"id":"u9","role":"user","content":"hello"},
        {"id":"r9","role":"assistant","content":"You said: hello","reply_to":"u9"}]});
    let body = listing.to_string();
    d.on_transport(
        TransportEvent::HttpResponse {
            id: history,
            status: 200,
            headers: &[],
            body: body.as_bytes(),
        },
        &mut out,
    );
    let recovered = out.take();
    let shown = delivered(&[&first, &recovered]);
    let names: Vec<_> = shown.iter().map(|e| e.event.type_name()).collect();
    assert_eq!(
        names,
        [
            "turnStarted",
            "status",
            "messageStarted",
            "textDelta",
            "messageCompleted",
            "turnCompleted"
        ]
    );
    assert_eq!(assembled(&shown), "You said: hello");
    assert!(
        shown[2..]
            .iter()
            .all(|e| e.turn_id.as_deref() == Some("u9"))
    );
}

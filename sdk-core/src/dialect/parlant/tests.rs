//! Codec tests of the parlant dialect: session creation, long-poll with 504, a turn driven by
//! status events, growing message chunks, tools, resume from the cursor, errors and bad input.

use super::*;
use crate::dialect::Action;
use crate::dialect::codec_kit::testkit::*;
use crate::event::{AgentStatus, Event, TextUpdate};
use crate::ids::{Cursor, DedupKey};
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;

fn resp(id: RequestId, status: u16, body: &[u8]) -> TransportEvent<'_> {
    TransportEvent::HttpResponse {
        id,
        status,
        headers: &[],
        body,
    }
}

fn ev(
    id: &str,
    offset: u64,
    kind: &str,
    source: &str,
    data: serde_json::Value,
) -> serde_json::Value {
    json!({"id": id, "source": source, "kind": kind, "offset": offset,
        "creation_utc": "2025-01-20T10:00:00.000000+00:00", "correlation_id": "RID::1", "data": data, "deleted": false})
}

fn status(id: &str, offset: u64, s: &str, ack: u64) -> serde_json::Value {
    ev(
        id,
        offset,
        "status",
        "ai_agent",
        json!({"status": s, "acknowledged_offset": ack, "data": {}}),
    )
}

/// Creates the session; returns the dialect, the first poll and the actions.
fn ready() -> (Parlant, RequestId, Vec<Action>) {
    let mut d = Parlant::new("http://127.0.0.1:8800");
    let mut out = actions(1);
    d.connect(&ConnectContext::new(1, None), &mut out);
    let mut all = out.take();
    let (create, spec) = one_request(&all);
    assert_eq!(
        spec.url,
        "http://127.0.0.1:8800/sessions?allow_greeting=false"
    );
    assert_eq!(spec.body, br#"{"agent_id":"demo-agent"}"#);
    assert_eq!(spec.timeout_ms, Some(30_000));
    d.on_transport(resp(create, 201, br#"{"id":"s1","agent_id":"demo-agent","customer_id":"guest","creation_utc":"2025-01-20T10:00:00Z","title":null}"#), &mut out);
    let step = out.take();
    let (poll, _) = one_request(&step);
    all.extend(step);
    (d, poll, all)
}

fn poll_url(actions: &[Action]) -> String {
    one_request(actions).1.url.clone()
}

#[test]
fn session_then_long_poll_and_504() {
    let (mut d, poll, all) = ready();
    assert!(all.contains(&Action::Connected) && all.contains(&Action::Ready));
    assert_eq!(d.session_id(), Some("s1"));
    let url = &requests(&all)[1].1.url;
    assert_eq!(
        url,
        "http://127.0.0.1:8800/sessions/s1/events?min_offset=0&wait_for_data=30"
    );
    assert_eq!(requests(&all)[1].1.timeout_ms, Some(45_000));
    let mut out = actions(10);
    d.on_transport(resp(poll, 504, br#"{"detail":"timeout"}"#), &mut out);
    let got = out.take();
    assert_eq!(
        poll_url(&got),
        *url,
        "504 = nothing new: the same poll again"
    );
    assert!(emitted(&got).is_empty());
}

#[test]
fn message_post_is_acked_and_the_turn_runs() {
    let (mut d, poll, _) = ready();
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
        "http://127.0.0.1:8800/sessions/s1/events?moderation=auto"
    );
    assert_eq!(
        spec.body,
        br#"{"kind":"message","source":"customer","message":"hello"}"#
    );
    assert_eq!(
        header(&spec.headers, "Idempotency-Key"),
        Some(c.to_string().as_str())
    );
    let stored = ev(
        "e0",
        0,
        "message",
        "customer",
        json!({"message":"hello","participant":{"id":"guest","display_name":"Guest"}}),
    );
    d.on_transport(resp(post, 201, stored.to_string().as_bytes()), &mut out);
    assert_eq!(
        out.take(),
        vec![Action::Ack {
            client_id: c,
            server_id: Some("e0".into())
        }]
    );

    let events = json!([
        stored,
        status("e1", 1, "acknowledged", 0),
        ev(
            "e2",
            2,
            "status",
            "ai_agent",
            json!({"status":"processing","acknowledged_offset":0,"data":{"stage":"Interpreting"}})
        ),
        status("e3", 3, "typing", 0),
        ev(
            "e4",
            4,
            "message",
            "ai_agent",
            json!({"message":"You said: hello","participant":{"id":"demo-agent","display_name":"Demo"}})
        ),
        status("e5", 5, "ready", 0),
    ]);
    d.on_transport(resp(poll, 200, events.to_string().as_bytes()), &mut out);
    let got = out.take();
    assert_eq!(
        names(&got),
        [
            "turnStarted",
            "status",
            "status",
            "status",
            "message",
            "turnCompleted"
        ]
    );
    let evs = emitted(&got);
    assert_eq!(
        evs[0].event,
        Event::TurnStarted {
            reply_to: Some(c.to_string())
        }
    );
    assert_eq!(
        evs[2].event,
        Event::Status {
            status: AgentStatus::Processing {
                stage: Some("Interpreting".into())
            }
        }
    );
    assert!(evs.iter().all(|e| e.turn_id.as_deref() == Some("turn@0")));
    assert!(
        matches!(&evs[4].event, Event::Message { content, .. } if content == "You said: hello")
    );
    assert_eq!(evs[4].message_id.as_deref(), Some("e4"));
    assert_eq!(evs[5].cursor, Some(Cursor::new("s1@5")));
    assert_eq!(evs[4].dedup, Some(DedupKey::Id("e4".into())));
    assert_eq!(evs[5].timestamp_ms, Some(1_737_367_200_000));
    assert!(
        poll_url(&got).contains("min_offset=6"),
        "next poll after the last offset"
    );
}

#[test]
fn an_answer_out_of_offset_order_is_decoded_in_offset_order() {
    let (mut d, poll, _) = ready();
    let mut out = actions(10);
    let reply = ev(
        "e2",
        2,
        "message",
        "ai_agent",
        json!({"message":"You said: hi","participant":{"id":"demo-agent","display_name":"Demo"}}),
    );
    // Shuffled on the way: `ready` first, the reply last.
    let events = json!([
        status("e3", 3, "ready", 0),
        status("e1", 1, "acknowledged", 0),
        reply
    ]);
    d.on_transport(resp(poll, 200, events.to_string().as_bytes()), &mut out);
    let got = out.take();
    assert_eq!(
        names(&got),
        ["turnStarted", "status", "message", "turnCompleted"]
    );
    assert!(poll_url(&got).contains("min_offset=4"));
}

#[test]
fn growing_chunks_are_replaced_and_refetched_without_looping() {
    let (mut d, poll, _) = ready();
    let mut out = actions(10);
    let partial = json!([
        status("e1", 1, "typing", 0),
        ev(
            "m2",
            2,
            "message",
            "ai_agent",
            json!({"message":"","chunks":["You ","said"]})
        )
    ]);
    d.on_transport(resp(poll, 200, partial.to_string().as_bytes()), &mut out);
    let got = out.take();
    assert_eq!(
        names(&got),
        ["turnStarted", "status", "messageStarted", "textDelta"]
    );
    let evs = emitted(&got);
    assert!(
        matches!(&evs[3].event, Event::TextDelta { update: TextUpdate::Replace { text }, .. } if text == "You said")
    );
    assert_eq!(evs[3].dedup, Some(DedupKey::Id("m2#2".into())));
    assert_eq!(
        evs[3].cursor,
        Some(Cursor::new("s1@1")),
        "the cursor does not pass the unfinished message"
    );
    let url = poll_url(&got);
    assert!(
        url.contains("min_offset=2"),
        "progress: re-fetch the unfinished message ({url})"
    );

    // the same snapshot again: no progress, so the next poll waits for new events
    let (poll2, _) = one_request(&got);
    let same = json!([ev(
        "m2",
        2,
        "message",
        "ai_agent",
        json!({"message":"","chunks":["You ","said"]})
    )]);
    d.on_transport(resp(poll2, 200, same.to_string().as_bytes()), &mut out);
    let got = out.take();
    assert!(
        poll_url(&got).contains("min_offset=3"),
        "no hot loop on an unchanged message"
    );
    let (poll3, _) = one_request(&got);

    let done = json!([status("e3", 3, "ready", 0)]);
    d.on_transport(resp(poll3, 200, done.to_string().as_bytes()), &mut out);
    let got = out.take();
    assert!(
        names(&got).is_empty(),
        "the turn waits for its unfinished message: {got:?}"
    );
    let (poll4, spec) = one_request(&got);
    assert!(spec.url.contains("min_offset=2"));
    let full = json!([
        ev(
            "m2",
            2,
            "message",
            "ai_agent",
            json!({"message":"You said: hi","chunks":["You ","said",": hi",null]})
        ),
        status("e3", 3, "ready", 0)
    ]);
    d.on_transport(resp(poll4, 200, full.to_string().as_bytes()), &mut out);
    let got = out.take();
    let evs = emitted(&got);
    let texts: Vec<_> = evs
        .iter()
        .map(|e| (e.event.type_name(), e.dedup.clone()))
        .collect();
    assert!(texts.contains(&("textDelta", Some(DedupKey::Id("m2#4".into())))));
    assert!(texts.contains(&("messageCompleted", Some(DedupKey::Id("m2#done".into())))));
    let done = texts
        .iter()
        .position(|(n, _)| *n == "messageCompleted")
        .unwrap();
    assert_eq!(
        texts[done + 1].0,
        "turnCompleted",
        "the held completion follows the message"
    );
    assert_eq!(
        texts.iter().filter(|(n, _)| *n == "turnCompleted").count(),
        1
    );
    assert_eq!(
        texts[done + 1].1,
        texts.last().unwrap().1,
        "the re-served ready carries the held completion's key (the engine drops it)"
    );
    assert!(evs.iter().any(|e| e.cursor == Some(Cursor::new("s1@3"))));
    assert!(poll_url(&got).contains("min_offset=4"));
}

#[test]
fn tools_cancel_and_error_statuses() {
    let (mut d, poll, _) = ready();
    let mut out = actions(10);
    let list = json!([
        status("e1", 1, "processing", 0),
        ev(
            "t2",
            2,
            "tool",
            "system",
            json!({"tool_calls":[{"tool_id":"svc:lookup","arguments":{"query":"weather"},
            "result":{"data":{"forecast":"sunny"},"metadata":{},"control":{}}}]})
        ),
        status("e3", 3, "cancelled", 0),
        status("e4", 4, "processing", 4),
        ev(
            "e5",
            5,
            "status",
            "ai_agent",
            json!({"status":"error","acknowledged_offset":4,"data":{"exception":"LLM down"}})
        ),
        ev("c6", 6, "custom", "system", json!({"x":1})),
    ]);
    d.on_transport(resp(poll, 200, list.to_string().as_bytes()), &mut out);
    let got = out.take();
    assert_eq!(
        names(&got),
        [
            "turnStarted",
            "status",
            "toolStarted",
            "toolCompleted",
            "turnCancelled",
            "turnStarted",
            "status",
            "error",
            "turnFailed",
            "unknown"
        ]
    );
    let evs = emitted(&got);
    assert_eq!(
        evs[2].event,
        Event::ToolStarted {
            tool_id: "t2:0".into(),
            name: "svc:lookup".into(),
            args: Some(json!({"query":"weather"}))
        }
    );
    assert_eq!(
        evs[3].event,
        Event::ToolCompleted {
            tool_id: "t2:0".into(),
            output: json!({"forecast":"sunny"})
        }
    );
    assert_eq!(evs[5].turn_id.as_deref(), Some("turn@4"));
    assert_eq!(
        evs[9].event,
        Event::Unknown {
            name: "custom".into()
        }
    );
    assert!(evs[9].raw.is_some());
}

#[test]
fn resume_from_cursor_and_failures() {
    let mut d = Parlant::new("http://h/");
    let mut out = actions(1);
    let cursor = Cursor::new("s9@41");
    d.connect(&ConnectContext::new(1, Some(&cursor)), &mut out);
    let got = out.take();
    assert_eq!(got[..2], [Action::Connected, Action::Ready]);
    assert_eq!(
        poll_url(&got),
        "http://h/sessions/s9/events?min_offset=42&wait_for_data=30"
    );
    let (poll, _) = one_request(&got);
    let h = vec![("Retry-After".to_string(), "2".to_string())];
    d.on_transport(
        TransportEvent::HttpResponse {
            id: poll,
            status: 429,
            headers: &h,
            body: br#"{"detail":"slow"}"#,
        },
        &mut out,
    );
    let got = out.take();
    assert!(
        matches!(&got[..], [Action::Fail(f)] if f.kind == FailureKind::RateLimited && f.retry_after == Some(Duration::from_secs(2)))
    );
    d.disconnect(Disconnect::Reconnecting, &mut out);
    d.connect(&ConnectContext::new(2, Some(&cursor)), &mut out);
    assert!(poll_url(&out.take()).contains("min_offset=42"));

    let mut p = Params::new();
    p.insert("session_id".into(), "s5".into());
    p.insert("token".into(), "tok-1".into());
    p.insert("wait_for_data".into(), "5".into());
    let mut d = Parlant::from_params("http://h", &p);
    assert!(!format!("{d:?}").contains("tok-1"));
    d.connect(
        &ConnectContext::new(1, Some(&Cursor::new("other@3"))),
        &mut out,
    );
    let got = out.take();
    let (poll, spec) = one_request(&got);
    assert_eq!(
        spec.url, "http://h/sessions/s5/events?min_offset=0&wait_for_data=5",
        "a foreign cursor is ignored"
    );
    assert_eq!(header(&spec.headers, "Authorization"), Some("Bearer tok-1"));
    d.on_transport(resp(poll, 503, b"upstream down"), &mut out);
    assert!(matches!(&out.take()[..], [Action::Fail(f)] if f.kind == FailureKind::ServerRestart));
    d.on_transport(
        TransportEvent::HttpFailed {
            id: poll,
            error: "reset",
        },
        &mut out,
    );
    assert!(matches!(&out.take()[..], [Action::Fail(f)] if f.kind == FailureKind::Network));
}

#[test]
fn post_errors() {
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
    d.on_transport(
        resp(
            post,
            422,
            br#"{"detail":[{"loc":["body","message"],"msg":"field required"}]}"#,
        ),
        &mut out,
    );
    let got = out.take();
    assert!(got.contains(&Action::Reject {
        client_id: c,
        reason: FailReason::Rejected
    }));
    assert_eq!(names(&got), ["error"]);
    d.encode(
        Outbound::Message {
            client_id: c,
            text: "x",
            resend: true,
        },
        &mut out,
    )
    .unwrap();
    let (post, _) = one_request(&out.take());
    d.on_transport(resp(post, 500, b""), &mut out);
    assert!(matches!(&out.take()[..], [Action::Fail(f)] if f.kind == FailureKind::Server));
    assert!(matches!(
        d.encode(Outbound::Typing { active: true }, &mut out),
        Err(DialectError::Unsupported(_))
    ));
    assert!(matches!(
        Parlant::new("http://h").encode(Outbound::CancelTurn, &mut out),
        Err(DialectError::NotConnected)
    ));
}

#[test]
fn bad_input_never_panics() {
    let (mut d, poll, _) = ready();
    let mut out = actions(10);
    d.on_transport(resp(poll, 200, b"{not json"), &mut out);
    let got = out.take();
    assert_eq!(names(&got), ["error"]);
    let (poll, _) = one_request(&got);
    d.on_transport(resp(poll, 200, br#"[{"id":"x","kind":"message"}, 5, {"id":"e0","offset":0,"kind":"message","source":"ai_agent","data":{"message":7}}]"#), &mut out);
    let got = out.take();
    assert_eq!(names(&got), ["error", "error", "turnStarted", "message"]);
    let (poll, _) = one_request(&got);
    d.on_transport(resp(poll, 200, &[0xff, 0xfe]), &mut out);
    assert_eq!(names(&out.take()), ["error"]);
    let mut fresh = Parlant::new("http://h");
    fresh.connect(&ConnectContext::new(1, None), &mut out);
    let (create, _) = one_request(&out.take());
    fresh.on_transport(resp(create, 200, b"[]"), &mut out);
    assert!(matches!(&out.take()[..], [Action::Fail(f)] if f.kind == FailureKind::Protocol));
}

/// An event of the agent run correlated with `corr` (Parlant's `<request>::<scope>` form).
fn corr_ev(
    id: &str,
    offset: u64,
    kind: &str,
    corr: &str,
    data: serde_json::Value,
) -> serde_json::Value {
    let source = if kind == "status" || kind == "message" {
        "ai_agent"
    } else {
        "system"
    };
    let mut e = ev(id, offset, kind, source, data);
    e["correlation_id"] = json!(corr);
    e
}

fn corr_status(id: &str, offset: u64, s: &str, ack: u64, corr: &str) -> serde_json::Value {
    let data = json!({"status": s, "acknowledged_offset": ack, "data": {}});
    corr_ev(id, offset, "status", corr, data)
}

fn customer(id: &str, offset: u64, text: &str, corr: &str) -> serde_json::Value {
    let mut e = ev(id, offset, "message", "customer", json!({"message": text}));
    e["correlation_id"] = json!(corr);
    e
}

/// Sends `text` and acks its POST with the stored event `stored`.
fn send_acked(d: &mut Parlant, c: ClientId, text: &str, stored: &serde_json::Value) {
    let mut out = actions(10);
    let message = Outbound::Message {
        client_id: c,
        text,
        resend: false,
    };
    d.encode(message, &mut out).unwrap();
    let (post, _) = one_request(&out.take());
    d.on_transport(resp(post, 201, stored.to_string().as_bytes()), &mut out);
    assert!(out.take().contains(&Action::Ack {
        client_id: c,
        server_id: stored["id"].as_str().map(String::from)
    }));
}

/// (event name, turn id) of the emitted events the engine delivers: the first of each dedup key
/// (`seen` spans polls).
fn deliver(got: &[Action], seen: &mut HashSet<DedupKey>) -> Vec<(&'static str, Option<String>)> {
    emitted(got)
        .iter()
        .filter(|e| e.dedup.clone().is_none_or(|k| seen.insert(k)))
        .map(|e| (e.event.type_name(), e.turn_id.clone()))
        .collect()
}

#[test]
fn overlapping_turns_stay_apart_by_correlation() {
    let (mut d, poll, _) = ready();
    let (c1, c2) = (client(1), client(2));
    let (m1, m2) = (
        customer("e0", 0, "one", "R1"),
        customer("e5", 5, "two", "R2"),
    );
    send_acked(&mut d, c1, "one", &m1);
    send_acked(&mut d, c2, "two", &m2);
    let mut out = actions(10);
    // Turn 1 streams its answer; its `ready` comes before the last snapshot, and turn 2 starts
    // meanwhile.
    let first = json!([
        m1,
        corr_status("e1", 1, "acknowledged", 0, "R1::process"),
        corr_status("e2", 2, "typing", 0, "R1::process"),
        corr_ev(
            "m3",
            3,
            "message",
            "R1::process",
            json!({"chunks": ["Echo", " one"]})
        ),
        corr_status("e4", 4, "ready", 0, "R1::process"),
        m2,
        corr_status("e6", 6, "acknowledged", 5, "R2::process"),
        corr_ev(
            "e7",
            7,
            "status",
            "R2::process",
            json!({"status": "processing", "acknowledged_offset": 5, "data": {"stage": "Interpreting"}})
        ),
    ]);
    d.on_transport(resp(poll, 200, first.to_string().as_bytes()), &mut out);
    let got = out.take();
    let mut seen = HashSet::new();
    let delivered = deliver(&got, &mut seen);
    let t1 = Some("turn@0".to_string());
    let t2 = Some("turn@5".to_string());
    assert_eq!(
        delivered,
        [
            ("turnStarted", t1.clone()),
            ("status", t1.clone()),
            ("status", t1.clone()),
            ("messageStarted", t1.clone()),
            ("textDelta", t1.clone()),
            ("turnStarted", t2.clone()),
            ("status", t2.clone()),
            ("status", t2.clone()),
        ],
        "turn 2's statuses land in turn 2; turn 1's completion waits for its text"
    );
    let evs = emitted(&got);
    assert_eq!(
        evs[0].event,
        Event::TurnStarted {
            reply_to: Some(c1.to_string())
        }
    );
    assert_eq!(
        evs[5].event,
        Event::TurnStarted {
            reply_to: Some(c2.to_string())
        }
    );
    assert_eq!(
        evs[7].event,
        Event::Status {
            status: AgentStatus::Processing {
                stage: Some("Interpreting".into())
            }
        }
    );
    let (poll, spec) = one_request(&got);
    assert!(spec.url.contains("min_offset=3"), "{}", spec.url);

    // The re-fetch: turn 1's last snapshot, the re-served events after it and turn 2's rest.
    let second = json!([
        corr_ev(
            "m3",
            3,
            "message",
            "R1::process",
            json!({"message": "Echo one", "chunks": ["Echo", " one", null]})
        ),
        corr_status("e4", 4, "ready", 0, "R1::process"),
        m2,
        corr_status("e6", 6, "acknowledged", 5, "R2::process"),
        corr_status("e8", 8, "typing", 5, "R2::process"),
        corr_ev(
            "m9",
            9,
            "message",
            "R2::process",
            json!({"message": "Echo two"})
        ),
        corr_status("e10", 10, "ready", 5, "R2::process"),
    ]);
    d.on_transport(resp(poll, 200, second.to_string().as_bytes()), &mut out);
    let got = out.take();
    assert_eq!(
        deliver(&got, &mut seen),
        [
            ("textDelta", t1.clone()),
            ("messageCompleted", t1.clone()),
            ("turnCompleted", t1.clone()),
            ("status", t2.clone()),
            ("message", t2.clone()),
            ("turnCompleted", t2.clone()),
        ]
    );
    let evs = emitted(&got);
    let ends: Vec<_> = evs
        .iter()
        .filter(|e| matches!(e.event, Event::TurnCompleted { .. }))
        .map(|e| (e.turn_id.clone(), e.dedup.clone()))
        .collect();
    assert_eq!(
        ends,
        [
            (t1.clone(), Some(DedupKey::Id("e4".into()))),
            (t2.clone(), Some(DedupKey::Id("e10".into())))
        ],
        "each turn ends once, with its own ready"
    );
    assert!(
        evs.iter()
            .filter(|e| e.dedup == Some(DedupKey::Id("e6".into())))
            .all(|e| e.turn_id == t2),
        "a re-served status stays in its turn"
    );
    assert!(evs.iter().any(
        |e| matches!(&e.event, Event::Message { content, .. } if content == "Echo two")
            && e.turn_id == t2
    ));
    assert!(poll_url(&got).contains("min_offset=11"));
}

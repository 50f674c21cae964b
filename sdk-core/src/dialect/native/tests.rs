//! Native codec tests: the dialect alone, driven through `Actions` without an engine.

use super::*;
use crate::dialect::Action;
use crate::event::{Event, TextUpdate};
use crate::io::CloseReason;

fn dialect() -> NativeDialect {
    NativeDialect::new(NativeConfig::new("http://h:1", "c-1").token("tok"))
}

/// Connects, opens and welcomes; returns the dialect, its socket and the actions so far.
fn ready(since: Option<&str>, welcome: Value) -> (NativeDialect, ConnId, Vec<Action>) {
    let mut d = dialect();
    let mut out = Actions::new(1);
    let cursor = since.map(Cursor::new);
    d.connect(&ConnectContext::new(1, cursor.as_ref()), &mut out);
    let conn = ConnId(1);
    d.on_transport(TransportEvent::SocketOpened { conn }, &mut out);
    let text = welcome.to_string();
    d.on_transport(TransportEvent::SocketText { conn, text: &text }, &mut out);
    (d, conn, out.take())
}

fn feed(d: &mut NativeDialect, conn: ConnId, frame: Value) -> Vec<Action> {
    let mut out = Actions::new(100);
    let text = frame.to_string();
    d.on_transport(TransportEvent::SocketText { conn, text: &text }, &mut out);
    out.take()
}

fn welcome(last: u64, resumed: bool) -> Value {
    json!({"type":"welcome","conversation_id":"c-1","last_seq":last,"resumed":resumed,"heartbeat_ms":30000})
}

fn emitted(actions: &[Action]) -> Vec<&Decoded> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Emit(d) => Some(d),
            _ => None,
        })
        .collect()
}

#[test]
fn handshake_opens_socket_says_hello_and_becomes_ready() {
    let (_, conn, actions) = ready(Some("17"), welcome(20, true));
    match &actions[0] {
        Action::OpenSocket { url, headers, .. } => {
            assert_eq!(url, "ws://h:1/native/v1/ws");
            assert_eq!(headers[0], ("Authorization".into(), "Bearer tok".into()));
        }
        a => panic!("{a:?}"),
    }
    match &actions[1] {
        Action::SendText { conn: c, text } => {
            assert_eq!(*c, conn);
            let v: Value = serde_json::from_str(text).unwrap();
            assert_eq!(
                v,
                json!({"type":"hello","conversation_id":"c-1","since_seq":17,"token":"tok"})
            );
        }
        a => panic!("{a:?}"),
    }
    assert_eq!(actions[2], Action::Ready);
    assert_eq!(actions.len(), 3);
}

#[test]
fn evicted_history_and_history_reset_report_a_discontinuity() {
    let (_, _, actions) = ready(Some("5"), welcome(900, false));
    assert!(matches!(&actions[2], Action::Discontinuity { reason } if reason.contains("evicted")));
    let (_, _, fresh) = ready(None, welcome(900, false));
    assert!(
        fresh
            .iter()
            .any(|a| matches!(a, Action::Discontinuity { .. }))
    );
    let (_, _, complete) = ready(None, welcome(900, true));
    assert!(
        !complete
            .iter()
            .any(|a| matches!(a, Action::Discontinuity { .. }))
    );
    let (mut d, conn, reset) = ready(Some("50"), welcome(3, true));
    assert!(matches!(&reset[2], Action::Discontinuity { reason } if reason.contains("restarted")));
    let a = feed(
        &mut d,
        conn,
        json!({"type":"event","seq":4,"kind":"turn_cancelled","turn_id":"t"}),
    );
    assert_eq!(emitted(&a)[0].dedup, Some(DedupKey::Id("1:4".into())));
}

#[test]
fn events_decode_with_ids_cursor_and_dedup_key() {
    let (mut d, conn, _) = ready(None, welcome(0, true));
    let frames = [
        (json!({"kind":"turn_started","reply_to":"r"}), "turnStarted"),
        (json!({"kind":"status","stage":"processing"}), "status"),
        (
            json!({"kind":"message_started","message_id":"m","role":"assistant"}),
            "messageStarted",
        ),
        (
            json!({"kind":"text_delta","message_id":"m","offset":0,"text":"hi"}),
            "textDelta",
        ),
        (
            json!({"kind":"message_completed","message_id":"m","text":"hi"}),
            "messageCompleted",
        ),
        (
            json!({"kind":"tool_started","tool_id":"x","name":"n","args":{"q":1}}),
            "toolStarted",
        ),
        (
            json!({"kind":"tool_progress","tool_id":"x","message":"50%"}),
            "toolProgress",
        ),
        (
            json!({"kind":"tool_completed","tool_id":"x","output":[1]}),
            "toolCompleted",
        ),
        (
            json!({"kind":"tool_failed","tool_id":"y","error":"e"}),
            "toolFailed",
        ),
        (
            json!({"kind":"turn_completed","finish_reason":"stop","usage":{"total_tokens":3}}),
            "turnCompleted",
        ),
        (json!({"kind":"turn_failed","error":"boom"}), "turnFailed"),
        (json!({"kind":"turn_cancelled"}), "turnCancelled"),
        (
            json!({"kind":"typing","participant":"agent","active":true}),
            "typing",
        ),
        (json!({"kind":"future_kind"}), "unknown"),
        (json!({"kind":"text_delta","message_id":"m"}), "error"),
    ];
    for (i, (mut frame, expected)) in frames.into_iter().enumerate() {
        let seq = i as u64 + 1;
        let m = frame.as_object_mut().unwrap();
        m.insert("type".into(), json!("event"));
        m.insert("seq".into(), json!(seq));
        m.insert("ts".into(), json!(1000 + seq));
        m.insert("turn_id".into(), json!("t-1"));
        let actions = feed(&mut d, conn, frame);
        let ev = emitted(&actions);
        assert_eq!(ev.len(), 1, "{expected}");
        let e = ev[0];
        assert_eq!(e.event.type_name(), expected);
        assert_eq!(e.dedup, Some(DedupKey::Seq(seq)));
        assert_eq!(e.cursor, Some(Cursor::new(seq.to_string())));
        assert_eq!(e.turn_id.as_deref(), Some("t-1"));
        assert_eq!(e.conversation_id.as_deref(), Some("c-1"));
        assert_eq!(e.timestamp_ms, Some(1000 + seq));
        assert!(e.raw.is_some());
        if expected == "textDelta" {
            assert_eq!(e.offset, Some(0));
            assert_eq!(e.message_id.as_deref(), Some("m"));
            assert!(
                matches!(&e.event, Event::TextDelta { update: TextUpdate::Append { text, .. }, .. } if text == "hi")
            );
        }
    }
    assert_eq!(d.last_seq(), 15);
}

#[test]
fn replays_are_dropped_and_gaps_fail_the_connection() {
    let (mut d, conn, _) = ready(None, welcome(0, true));
    let ev = |seq| json!({"type":"event","seq":seq,"kind":"turn_cancelled","turn_id":"t"});
    assert_eq!(emitted(&feed(&mut d, conn, ev(1))).len(), 1);
    assert!(feed(&mut d, conn, ev(1)).is_empty());
    // events past the gap wait for the missing one; when too many wait, it was lost
    for seq in 3..3 + MAX_HELD as u64 {
        assert!(feed(&mut d, conn, ev(seq)).is_empty(), "{seq} held");
    }
    let gap = feed(&mut d, conn, ev(3 + MAX_HELD as u64));
    assert!(matches!(&gap[0], Action::Fail(f) if f.kind == FailureKind::Protocol));
    assert_eq!(d.last_seq(), 1);
    // after resumed:false the first event may jump
    let (mut d, conn, _) = ready(Some("2"), welcome(50, false));
    assert_eq!(emitted(&feed(&mut d, conn, ev(40))).len(), 1);
    for seq in 42..42 + MAX_HELD as u64 {
        assert!(feed(&mut d, conn, ev(seq)).is_empty());
    }
    assert!(matches!(&feed(&mut d, conn, ev(60))[0], Action::Fail(_)));
}

/// Frames reordered by an intermediary are put back in `seq` order without a reconnect.
#[test]
fn reordered_events_are_delivered_in_order() {
    let (mut d, conn, _) = ready(None, welcome(0, true));
    let ev =
        |seq| json!({"type":"event","seq":seq,"kind":"turn_cancelled","turn_id":format!("t{seq}")});
    let mut got = Vec::new();
    for seq in [1, 3, 4, 2, 6, 5, 5, 7] {
        let actions = feed(&mut d, conn, ev(seq));
        assert!(!actions.iter().any(|a| matches!(a, Action::Fail(_))));
        got.extend(
            emitted(&actions)
                .iter()
                .map(|e| e.turn_id.clone().unwrap_or_default()),
        );
    }
    assert_eq!(got, ["t1", "t2", "t3", "t4", "t5", "t6", "t7"]);
    assert_eq!(d.last_seq(), 7);
    // a lost event: the next frame of another kind gives it up
    assert!(feed(&mut d, conn, ev(9)).is_empty());
    let pong = feed(&mut d, conn, json!({"type":"pong","nonce":1}));
    assert!(matches!(&pong[0], Action::Fail(f) if f.kind == FailureKind::Protocol));
}

#[test]
fn acks_errors_goodbye_and_pings() {
    let (mut d, conn, _) = ready(None, welcome(0, true));
    let id = ClientId::from_parts(5, [1; 10]);
    let a = feed(
        &mut d,
        conn,
        json!({"type":"ack","client_id":id.to_string(),"message_id":"m-3","duplicate":true}),
    );
    assert_eq!(
        a,
        vec![Action::Ack {
            client_id: id,
            server_id: Some("m-3".into())
        }]
    );
    let a = feed(
        &mut d,
        conn,
        json!({"type":"error","code":"bad_request","message":"too long","retryable":false,"client_id":id.to_string()}),
    );
    assert_eq!(
        a[0],
        Action::Reject {
            client_id: id,
            reason: FailReason::Rejected
        }
    );
    assert!(matches!(
        &emitted(&a)[0].event,
        Event::Error {
            kind: ErrorKind::InvalidInput,
            ..
        }
    ));
    let kinds = [
        ("unauthorized", FailureKind::Auth),
        ("rate_limited", FailureKind::RateLimited),
        ("restarting", FailureKind::ServerRestart),
    ];
    for (code, kind) in kinds {
        let a = feed(
            &mut d,
            conn,
            json!({"type":"error","code":code,"message":"m","retryable":true}),
        );
        assert!(matches!(&a[0], Action::Fail(f) if f.kind == kind), "{code}");
    }
    let a = feed(
        &mut d,
        conn,
        json!({"type":"goodbye","reason":"restart","retry_after_ms":500}),
    );
    assert!(
        matches!(&a[0], Action::Fail(f) if f.kind == FailureKind::ServerRestart
        && f.retry_after == Some(Duration::from_millis(500)))
    );
    let a = feed(&mut d, conn, json!({"type":"ping","nonce":9}));
    assert!(
        matches!(&a[0], Action::SendText { text, .. } if text == r#"{"nonce":9,"type":"pong"}"#)
    );
    assert!(matches!(&emitted(&a)[0].event, Event::Heartbeat));
    assert!(feed(&mut d, conn, json!({"type":"pong","nonce":1})).is_empty());
}

#[test]
fn malformed_input_becomes_protocol_errors_not_panics() {
    let (mut d, conn, _) = ready(None, welcome(0, true));
    for text in [
        "not json",
        "[1,2]",
        "{\"no_type\":1}",
        "{\"type\":\"ack\"}",
        "{\"type\":\"event\"}",
    ] {
        let mut out = Actions::new(1);
        d.on_transport(TransportEvent::SocketText { conn, text }, &mut out);
        let a = out.take();
        assert!(
            matches!(
                &emitted(&a)[0].event,
                Event::Error {
                    kind: ErrorKind::Protocol,
                    ..
                }
            ),
            "{text}"
        );
    }
    let mut out = Actions::new(1);
    d.on_transport(
        TransportEvent::SocketBinary {
            conn,
            bytes: &[0, 159, 146, 150],
        },
        &mut out,
    );
    assert_eq!(emitted(&out.take()).len(), 1);
    let unknown = feed(&mut d, conn, json!({"type":"future"}));
    assert!(matches!(&emitted(&unknown)[0].event, Event::Unknown { name } if name == "future"));
}

#[test]
fn encode_frames_and_refusals() {
    let mut d = dialect();
    let mut out = Actions::new(1);
    assert_eq!(
        d.encode(Outbound::CancelTurn, &mut out),
        Err(DialectError::NotConnected)
    );
    let (mut d, _, _) = ready(None, welcome(0, true));
    let id = ClientId::from_parts(5, [2; 10]);
    let cmds = [
        Outbound::Message {
            client_id: id,
            text: "hi",
            resend: false,
        },
        Outbound::Typing { active: true },
        Outbound::CancelTurn,
        Outbound::Ping { nonce: 4 },
    ];
    for c in cmds {
        d.encode(c, &mut out).unwrap();
    }
    let frames: Vec<Value> = out
        .take()
        .into_iter()
        .map(|a| match a {
            Action::SendText { text, .. } => serde_json::from_str(&text).unwrap(),
            a => panic!("{a:?}"),
        })
        .collect();
    assert_eq!(
        frames[0],
        json!({"type":"send","client_id":id.to_string(),"text":"hi"})
    );
    assert_eq!(frames[1], json!({"type":"typing","active":true}));
    assert_eq!(frames[2], json!({"type":"cancel"}));
    assert_eq!(frames[3], json!({"type":"ping","nonce":4}));
    let audio = Outbound::Audio {
        client_id: id,
        format: "pcm16",
        data: "",
        resend: false,
    };
    assert!(matches!(
        d.encode(audio, &mut out),
        Err(DialectError::Unsupported(_))
    ));
}

#[test]
fn refused_upgrade_is_classified_by_status() {
    let mut d = dialect();
    let mut out = Actions::new(1);
    d.connect(&ConnectContext::new(1, None), &mut out);
    let reason = CloseReason::refused(Some(401), "unauthorized");
    d.on_transport(
        TransportEvent::SocketClosed {
            conn: ConnId(1),
            reason: &reason,
        },
        &mut out,
    );
    let a = out.take();
    assert!(matches!(&a[1], Action::Fail(f) if f.kind == FailureKind::Auth));
}

#[test]
fn rate_limited_upgrades_keep_retry_after_and_refused_frames_are_protocol_failures() {
    let wait = Some(std::time::Duration::from_secs(2));
    let cases = [
        (
            CloseReason::refused(Some(429), "too many").with_retry_after(wait),
            FailureKind::RateLimited,
            wait,
        ),
        (
            CloseReason::closed(Some(1007), "not UTF-8"),
            FailureKind::Protocol,
            None,
        ),
        (
            CloseReason::closed(Some(1009), "too big"),
            FailureKind::Protocol,
            None,
        ),
        (CloseReason::error("reset"), FailureKind::Network, None),
    ];
    for (reason, kind, retry_after) in cases {
        let mut d = dialect();
        let mut out = Actions::new(1);
        d.connect(&ConnectContext::new(1, None), &mut out);
        d.on_transport(
            TransportEvent::SocketClosed {
                conn: ConnId(1),
                reason: &reason,
            },
            &mut out,
        );
        let a = out.take();
        assert!(
            matches!(&a[1], Action::Fail(f) if f.kind == kind && f.retry_after == retry_after),
            "{reason:?}: {a:?}"
        );
    }
}

#[test]
fn an_incomplete_replay_is_detected_at_the_next_control_frame() {
    let (mut d, conn, _) = ready(Some("2"), welcome(4, true));
    let ev = |seq| json!({"type":"event","seq":seq,"kind":"turn_cancelled","turn_id":"t"});
    assert_eq!(emitted(&feed(&mut d, conn, ev(3))).len(), 1);
    let a = feed(&mut d, conn, json!({"type":"pong","nonce":1}));
    assert!(matches!(&a[0], Action::Fail(f) if f.message.contains("3 of 4")));
    // complete replay: control frames pass
    let (mut d, conn, _) = ready(Some("2"), welcome(3, true));
    feed(&mut d, conn, ev(3));
    assert!(feed(&mut d, conn, json!({"type":"pong","nonce":1})).is_empty());
}

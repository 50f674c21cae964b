//! Codec tests of the miptech dialect against the frames `chatwire-mock` sends: re-join with
//! re-send and replay deduplicated by `event_id`, tool calls inside `processing`, cancellation.

use super::tests::{connect_ready, text};
use super::*;
use crate::dialect::Action;
use crate::dialect::FailureKind;
use crate::dialect::codec_kit::testkit::*;
use crate::event::Event;
use crate::ids::DedupKey;
use crate::io::CloseReason;
use serde_json::json;

/// The mock's frames: `{type, data, timestamp, eventTs}` with `event_id` on turn frames.
fn mock(kind: &str, seq: u64, data: serde_json::Value) -> String {
    json!({"type": kind, "data": data, "timestamp": 1_763_800_000_000_u64 + seq,
        "eventTs": 1_763_800_000_000_u64 + seq, "event_id": format!("chat_123:{seq}")})
    .to_string()
}

#[test]
fn rejoin_resends_the_interrupted_message_and_replays_are_deduplicated() {
    let mut d = Miptech::new("http://h");
    let (conn, _) = connect_ready(&mut d, None);
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
    let frames = [
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
    let mut first = Vec::new();
    for f in &frames {
        d.on_transport(text(conn, f), &mut out);
    }
    first.extend(out.take());
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

    let (conn2, all) = connect_ready(&mut d, None);
    assert!(
        !all.iter()
            .any(|a| matches!(a, Action::Discontinuity { .. })),
        "{all:#?}"
    );
    let sent = sent_json(&all);
    assert_eq!(sent[0]["type"], "join_chat");
    assert_eq!(
        sent[1]["type"], "chat_message",
        "the interrupted message is re-sent"
    );
    assert_eq!(sent[1]["clientId"], c.to_string());
    assert_eq!(sent[1]["data"]["message"], "hello");

    // the platform acks the duplicate and replays the whole turn on the new socket
    let dup = json!({"message_id":"u1","client_id": c.to_string(),"chat_id":"chat_123","content":"hello","duplicate":true});
    let mut replay = vec![json!({"type":"message_received","data": dup}).to_string()];
    replay.extend(frames[1..].iter().cloned());
    replay.push(mock("response_chunk", 4, json!({"message_id":"r1","chat_id":"chat_123","content":"said: hello","chunk_index":1,"offset":4})));
    replay.push(mock("response_complete", 5, json!({"chat_id":"chat_123","reply_to":"u1","message":{"id":"r1","content":"You said: hello","role":"assistant","llm_model":"mock-llm","total_tokens":3}})));
    for f in &replay {
        d.on_transport(text(conn2, f), &mut out);
    }
    let second = out.take();
    assert!(
        !second.iter().any(|a| matches!(a, Action::Ack { .. })),
        "acked once only"
    );
    // the engine drops repeated keys: model that here
    let mut seen = std::collections::HashSet::new();
    let mut delivered = Vec::new();
    for e in emitted(&first).into_iter().chain(emitted(&second)) {
        if e.dedup.as_ref().is_none_or(|k| seen.insert(k.clone())) {
            delivered.push(e);
        }
    }
    let names: Vec<_> = delivered.iter().map(|e| e.event.type_name()).collect();
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
    assert_eq!(assembled(&delivered), "You said: hello");
    assert_eq!(
        delivered[2].dedup,
        Some(DedupKey::Id("chat_123:1".into())),
        "server event ids"
    );
    // finished: a later re-join re-sends nothing
    d.disconnect(Disconnect::Reconnecting, &mut out);
    let (_, all) = connect_ready(&mut d, None);
    assert_eq!(sent_json(&all).len(), 1);
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

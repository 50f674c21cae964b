//! Tool frames while turns overlap: a `processing` frame with a tool stage names its user
//! message (`message_id`), and its events belong to that message's turn even when a later
//! message's `message_received` has made another turn the open one.

use super::tests::{connect_ready, text};
use super::*;
use crate::dialect::codec_kit::testkit::*;
use crate::event::Event;

/// A processing frame of user message `uid` at tool stage `stage` with tool body `tool`.
fn tool(uid: &str, stage: &str, tool: serde_json::Value) -> String {
    serde_json::json!({"type":"processing","data":{"chat_id":"chat_123","message_id":uid,
        "status":"processing","stage":stage,"tool":tool}})
    .to_string()
}

#[test]
fn tool_frames_follow_their_message_not_the_open_turn() {
    let mut d = Miptech::new("http://h");
    let (conn, _) = connect_ready(&mut d, None);
    let mut out = actions(100);
    for (n, uid) in [(1u8, "u1"), (2, "u2")] {
        let id = client(n);
        d.encode(
            Outbound::Message {
                client_id: id,
                text: "hello",
                resend: false,
            },
            &mut out,
        )
        .unwrap();
        let received = format!(
            r#"{{"type":"message_received","data":{{"message_id":"{uid}","client_message_id":"{id}"}}}}"#
        );
        d.on_transport(text(conn, &received), &mut out);
        if uid == "u1" {
            let start = r#"{"type":"response_start","data":{"message_id":"r1","reply_to":"u1"}}"#;
            d.on_transport(text(conn, start), &mut out);
        }
    }
    out.take();
    // u2 was acknowledged last, so its turn is the open one; u1's tools still run.
    for f in [
        tool(
            "u1",
            "tool_call",
            serde_json::json!({"id":"t1","name":"lookup","args":{"q":1}}),
        ),
        tool(
            "u1",
            "tool_progress",
            serde_json::json!({"id":"t1","message":"working"}),
        ),
        tool(
            "u1",
            "tool_result",
            serde_json::json!({"id":"t1","output":{"hits":1}}),
        ),
    ] {
        d.on_transport(text(conn, &f), &mut out);
    }
    let got = out.take();
    let tools: Vec<_> = emitted(&got)
        .into_iter()
        .filter(|e| {
            matches!(
                e.event,
                Event::ToolStarted { .. }
                    | Event::ToolProgress { .. }
                    | Event::ToolCompleted { .. }
            )
        })
        .collect();
    assert_eq!(tools.len(), 3, "{got:#?}");
    for e in tools {
        assert_eq!(e.turn_id.as_deref(), Some("u1"), "{e:#?}");
    }
    // No turn was opened for a message the server never named.
    assert!(
        emitted(&got).iter().all(|e| match &e.event {
            Event::TurnStarted { .. } => e.turn_id.as_deref() == Some("u1"),
            _ => true,
        }),
        "{got:#?}"
    );
}

#[test]
fn tool_frames_without_a_message_id_use_the_open_turn() {
    let mut d = Miptech::new("http://h");
    let (conn, _) = connect_ready(&mut d, None);
    let mut out = actions(100);
    d.on_transport(
        text(conn, r#"{"type":"processing","data":{"message_id":"u7"}}"#),
        &mut out,
    );
    let legacy = r#"{"type":"tool_call_start","data":{"tool_call_id":"t9","name":"lookup"}}"#;
    d.on_transport(text(conn, legacy), &mut out);
    let got = out.take();
    let started = emitted(&got)
        .into_iter()
        .find(|e| matches!(e.event, Event::ToolStarted { .. }))
        .expect("tool started");
    assert_eq!(started.turn_id.as_deref(), Some("u7"));
}

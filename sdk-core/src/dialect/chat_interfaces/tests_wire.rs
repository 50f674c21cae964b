//! Wire-level tests of the chat-interfaces codec: SSE event payloads and REST bodies.

use super::wire::*;
use serde_json::json;

fn kind(event: &str, data: &str) -> Inbound {
    parse_event(event, data).unwrap().kind
}

#[test]
fn every_seed_event() {
    assert_eq!(
        kind("connected", r#"{"sessionId":"s"}"#),
        Inbound::Connected
    );
    assert_eq!(
        kind("token", r#"{"token":"Hel","executionId":"e1"}"#),
        Inbound::Token {
            execution_id: Some("e1".into()),
            message_id: None,
            text: "Hel".into(),
            index: None
        }
    );
    let Inbound::Message(m) = kind(
        "message",
        r#"{"id":"m1","role":"assistant","content":"Hello","timestamp":"2025-01-01T00:00:00Z"}"#,
    ) else {
        panic!()
    };
    assert_eq!(
        (m.id.as_deref(), m.role.as_str(), m.content.as_str()),
        (Some("m1"), "assistant", "Hello")
    );
    assert_eq!(m.timestamp_ms, Some(1_735_689_600_000));
    assert_eq!(
        kind(
            "tool_call_started",
            r#"{"toolCallId":"t1","toolName":"lookup","arguments":{"q":1}}"#
        ),
        Inbound::ToolStarted {
            tool_id: "t1".into(),
            name: "lookup".into(),
            args: Some(json!({"q":1}))
        }
    );
    assert_eq!(
        kind(
            "tool_call_completed",
            r#"{"toolCallId":"t1","result":{"ok":true}}"#
        ),
        Inbound::ToolCompleted {
            tool_id: "t1".into(),
            output: json!({"ok":true})
        }
    );
    assert_eq!(
        kind(
            "tool_call_failed",
            r#"{"toolCallId":"t1","error":{"message":"nope"}}"#
        ),
        Inbound::ToolFailed {
            tool_id: "t1".into(),
            error: "nope".into()
        }
    );
    assert_eq!(
        kind(
            "execution:completed",
            r#"{"executionId":"e1","usage":{"totalTokens":9}}"#
        ),
        Inbound::ExecutionCompleted {
            execution_id: Some("e1".into()),
            final_text: None,
            usage: Some((None, None, Some(9)))
        }
    );
    assert_eq!(
        kind(
            "execution:failed",
            r#"{"executionId":"e1","error":"LLM down"}"#
        ),
        Inbound::ExecutionFailed {
            execution_id: Some("e1".into()),
            error: "LLM down".into()
        }
    );
    assert_eq!(kind("heartbeat", ""), Inbound::Heartbeat);
    assert_eq!(kind("heartbeat", "not json"), Inbound::Heartbeat);
    assert_eq!(kind("agent:thinking", "{}"), Inbound::Unknown);
}

#[test]
fn type_in_data_names_an_unnamed_event() {
    let p = parse_event(
        "",
        r#"{"type":"token","data":{"token":"x","executionId":"e"}}"#,
    )
    .unwrap();
    assert_eq!(p.name, "token");
    assert_eq!(
        p.kind,
        Inbound::Token {
            execution_id: Some("e".into()),
            message_id: None,
            text: "x".into(),
            index: None
        }
    );
    let Inbound::Message(m) = parse_event(
        "message",
        r#"{"message":{"id":"m9","role":"assistant","content":"You said: hi","timestamp":1700000000000,"toolCalls":[]},"executionId":"e9","threadId":"t"}"#,
    )
    .unwrap()
    .kind
    else {
        panic!()
    };
    assert_eq!(
        (
            m.id.as_deref(),
            m.content.as_str(),
            m.execution_id.as_deref()
        ),
        (Some("m9"), "You said: hi", Some("e9"))
    );
}

#[test]
fn malformed_data_is_an_error() {
    assert!(parse_event("token", "{broken").is_err());
    assert!(parse_event("token", "[1]").is_err());
    assert!(parse_event("message", "\"str\"").is_err());
}

#[test]
fn rest_bodies() {
    assert_eq!(
        parse_send_response(br#"{"executionId":"e1","threadId":"t1","status":"running"}"#),
        Some(("e1".into(), Some("t1".into())))
    );
    assert_eq!(
        parse_send_response(br#"{"success":true,"data":{"executionId":"e2","threadId":"t"}}"#),
        Some(("e2".into(), Some("t".into())))
    );
    assert_eq!(parse_send_response(b"{}"), None);
    assert_eq!(
        parse_session_response(br#"{"sessionToken":"tok"}"#).as_deref(),
        Some("tok")
    );
    assert_eq!(
        parse_session_response(br#"{"data":{"session":{"token":"t2"}}}"#).as_deref(),
        Some("t2")
    );
    let h = parse_history(
        br#"{"messages":[{"id":"1","role":"user","content":"hi"},{"id":"2","role":"assistant","content":"yo"},7]}"#,
    )
    .unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[1].content, "yo");
    assert_eq!(
        parse_history(br#"{"data":[{"id":"9","role":"user","content":"a"}]}"#)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(parse_history(b"<html/>"), None);
    let body = encode(&SendMessage {
        message: "hi",
        session_token: "tok",
        client_message_id: "c1".into(),
        attachments: vec![],
    });
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
        json!({"message":"hi","sessionToken":"tok","clientMessageId":"c1"})
    );
}

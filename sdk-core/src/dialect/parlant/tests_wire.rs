//! Wire-level tests of the Parlant codec: events as the Parlant server sends them.

use super::wire::*;
use serde_json::json;

#[test]
fn events_list_with_a_bad_entry() {
    let list = parse_events(
        br#"[{"id":"e0","source":"customer","kind":"message","offset":0,"creation_utc":"2025-01-20T10:00:00.000000+00:00","correlation_id":"c::1","data":{"message":"hi","participant":{"id":"u","display_name":"U"}},"deleted":false},
            {"id":"e1","kind":"status","offset":"x"},
            {"id":"e2","source":"ai_agent","kind":"status","offset":2,"data":{"status":"processing","acknowledged_offset":0,"data":{"stage":"Interpreting"}}}]"#,
    )
    .unwrap();
    assert_eq!(list.len(), 3);
    let e0 = list[0].as_ref().unwrap();
    assert_eq!(
        (
            e0.id.as_str(),
            e0.offset,
            e0.kind.as_str(),
            e0.source.as_str()
        ),
        ("e0", 0, "message", "customer")
    );
    assert_eq!(e0.timestamp_ms, Some(1_737_367_200_000));
    assert!(list[1].is_err());
    let st = status(&list[2].as_ref().unwrap().data);
    assert_eq!(st.status, "processing");
    assert_eq!(st.stage.as_deref(), Some("Interpreting"));
}

#[test]
fn growing_chunks_end_with_null() {
    let partial = message_text(&json!({"message":"","chunks":["You ","said"]}));
    assert_eq!(
        partial,
        MessageText {
            text: "You said".into(),
            complete: false,
            chunks: 2
        }
    );
    let done =
        message_text(&json!({"message":"You said: hi","chunks":["You ","said",": hi",null]}));
    assert_eq!(
        done,
        MessageText {
            text: "You said: hi".into(),
            complete: true,
            chunks: 4
        }
    );
    let plain = message_text(&json!({"message":"Hello","participant":{}}));
    assert_eq!(
        plain,
        MessageText {
            text: "Hello".into(),
            complete: true,
            chunks: 0
        }
    );
    let odd = message_text(&json!("not an object"));
    assert_eq!(
        odd,
        MessageText {
            text: String::new(),
            complete: true,
            chunks: 0
        }
    );
}

#[test]
fn tool_calls_and_errors() {
    let calls = tool_calls(&json!({"tool_calls":[
        {"tool_id":"svc:lookup","arguments":{"q":"x"},"result":{"data":{"answer":42},"metadata":{},"control":{}}},
        {"tool_id":"svc:fail","arguments":{},"result":{"data":null,"error":"timeout"}},
        "junk"]}));
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].tool_id, "svc:lookup");
    assert_eq!(calls[0].result, json!({"answer":42}));
    assert_eq!(calls[1].error.as_deref(), Some("timeout"));
    assert!(tool_calls(&json!({})).is_empty());
}

#[test]
fn status_error_exception() {
    let st = status(&json!({"status":"error","data":{"exception":"LLM failure"}}));
    assert_eq!(st.exception.as_deref(), Some("LLM failure"));
    assert_eq!(status(&json!(null)).status, "");
}

#[test]
fn malformed_answers() {
    assert!(parse_events(b"{oops").is_err());
    assert!(parse_events(br#"{"detail":"x"}"#).is_err());
    assert!(parse_events(&[0xff]).is_err());
    assert_eq!(parse_events(br#"{"events":[]}"#).unwrap().len(), 0);
    assert_eq!(
        parse_session_id(br#"{"id":"s1","agent_id":"a"}"#).as_deref(),
        Some("s1")
    );
    assert_eq!(parse_session_id(b"[]"), None);
}

#[test]
fn request_bodies() {
    let b = encode(&CreateMessageEvent {
        kind: "message",
        source: "customer",
        message: "hi",
    });
    assert_eq!(
        b,
        br#"{"kind":"message","source":"customer","message":"hi"}"#
    );
    let s = encode(&CreateSession {
        agent_id: "demo-agent",
        customer_id: None,
        title: None,
    });
    assert_eq!(s, br#"{"agent_id":"demo-agent"}"#);
}

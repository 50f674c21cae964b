//! Wire-level tests of the chat-v2 codec: every frame of the seed, variants and malformed input.

use super::wire::*;
use serde_json::json;

fn kind(bytes: &[u8]) -> Inbound {
    parse_frame(bytes).unwrap().kind
}

#[test]
fn tokens_and_final_message() {
    assert_eq!(
        kind(br#"{"type":"token","content":"Hel","message_id":"r1","index":0,"is_final":false}"#),
        Inbound::Token(Token {
            message_id: Some("r1".into()),
            content: "Hel".into(),
            index: Some(0),
            is_final: false
        })
    );
    assert_eq!(
        kind(br#"{"type":"token","data":{"token":"lo","messageId":"r1","isFinal":true}}"#),
        Inbound::Token(Token {
            message_id: Some("r1".into()),
            content: "lo".into(),
            index: None,
            is_final: true
        })
    );
    assert_eq!(
        kind(br#"{"type":"message","content":"Hello","message_id":"r1","is_final":true}"#),
        Inbound::Message {
            message_id: Some("r1".into()),
            content: "Hello".into(),
            is_final: true
        }
    );
}

#[test]
fn tool_start_and_end() {
    let Inbound::Tool(start) = kind(
        br#"{"type":"tool","name":"lookup","status":"start","tool_id":"t1","args":{"q":"x"}}"#,
    ) else {
        panic!()
    };
    assert_eq!(start.status, ToolStatus::Start);
    assert_eq!(start.name, "lookup");
    assert_eq!(start.args, Some(json!({"q":"x"})));
    let Inbound::Tool(end) =
        kind(br#"{"type":"tool","name":"lookup","status":"end","tool_id":"t1","result":"42"}"#)
    else {
        panic!()
    };
    assert_eq!(end.status, ToolStatus::End);
    assert_eq!(end.output, json!("42"));
    assert_eq!(end.error, None);
    let Inbound::Tool(failed) = kind(
        br#"{"type":"tool","status":"end","tool_call_id":"t2","name":"lookup","error":"boom"}"#,
    ) else {
        panic!()
    };
    assert_eq!(failed.status, ToolStatus::Error);
    assert_eq!(failed.tool_id.as_deref(), Some("t2"));
    assert_eq!(failed.error.as_deref(), Some("boom"));
}

#[test]
fn audio_transcript_ping_and_errors() {
    assert_eq!(
        kind(br#"{"type":"transcript","text":"hello there","is_final":false}"#),
        Inbound::Transcript {
            text: "hello there".into(),
            is_final: false
        }
    );
    assert_eq!(
        kind(br#"{"type":"audio","data":"AAEC","format":"pcm16"}"#),
        Inbound::Audio {
            format: "pcm16".into(),
            data: "AAEC".into()
        }
    );
    assert_eq!(kind(br#"{"type":"ping"}"#), Inbound::Ping);
    assert_eq!(
        kind(br#"{"type":"pong","timestamp":1700000000}"#),
        Inbound::Pong
    );
    let Inbound::Error { body, message_id } = kind(
        br#"{"type":"error","code":"agent_error","message":"scripted failure","message_id":"m-1"}"#,
    ) else {
        panic!()
    };
    assert_eq!(body.code.as_deref(), Some("agent_error"));
    assert_eq!(message_id.as_deref(), Some("m-1"));
    assert_eq!(
        kind(br#"{"type":"ack","id":"c1","message_id":"m-1","duplicate":true,"session_id":"s"}"#),
        Inbound::Ack {
            client_id: Some("c1".into()),
            message_id: Some("m-1".into()),
            duplicate: true
        }
    );
    assert_eq!(
        kind(br#"{"type":"cancelled","message_id":"m-1"}"#),
        Inbound::Cancelled {
            message_id: Some("m-1".into())
        }
    );
    assert_eq!(
        kind(br#"{"type":"emotion","value":"happy"}"#),
        Inbound::Unknown
    );
}

#[test]
fn malformed_frames_are_errors() {
    for bad in [
        &b"{"[..],
        b"[]",
        b"null",
        &[0xc3, 0x28],
        br#"{"content":"no type"}"#,
    ] {
        assert!(parse_frame(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn outbound_text_and_audio() {
    let text = encode(&TextMessage {
        kind: "text",
        content: "hi",
        id: "c1".into(),
        client_id: "c1".into(),
    });
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&text).unwrap(),
        json!({"type":"text","content":"hi","id":"c1","client_id":"c1"})
    );
    let audio = encode(&AudioMessage {
        kind: "audio",
        data: "AAE=".into(),
        format: "pcm16",
        sample_rate: 16_000,
        id: "c2".into(),
        client_id: "c2".into(),
    });
    assert!(audio.contains(r#""data":"AAE=""#) && audio.contains(r#""sample_rate":16000"#));
    assert_eq!(encode(&Bare { kind: "ping" }), r#"{"type":"ping"}"#);
}

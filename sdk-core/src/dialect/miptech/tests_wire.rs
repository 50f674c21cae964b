//! Wire-level tests of the MIPTech codec: normalisation of legacy shapes and frame parsing.

use super::wire::*;
use crate::dialect::codec_kit::ErrorBody;
use serde_json::json;

#[test]
fn seed_response_complete_is_normalised() {
    let f = parse_frame(
        br#"{"type":"response_complete","data":{"message":{"id":"msg_456","content":"AI response text","role":"assistant","created_at":1234567890,"llm_model":"gpt-4","total_tokens":150,"response_time_ms":1200},"chat_id":"chat_123"},"eventTs":1234567890}"#,
    )
    .unwrap();
    assert_eq!(f.timestamp_ms, Some(1_234_567_890_000));
    assert_eq!(f.fields.get("chatId"), Some(&json!("chat_123")));
    let Inbound::ResponseComplete(c) = f.kind else {
        panic!("{:?}", f.kind)
    };
    assert_eq!(c.message_id.as_deref(), Some("msg_456"));
    assert_eq!(c.content, "AI response text");
    assert_eq!(c.model.as_deref(), Some("gpt-4"));
    assert_eq!(c.total_tokens, Some(150));
    assert_eq!(c.response_time_ms, Some(1200));
}

#[test]
fn legacy_flat_and_snake_case_frames_read_like_wrapped_ones() {
    let wrapped = parse_frame(
        br#"{"type":"response_chunk","data":{"messageId":"m1","content":"Hel","chunk_index":0}}"#,
    )
    .unwrap();
    let flat =
        parse_frame(br#"{"event":"response_chunk","message_id":"m1","chunk":"Hel","index":0}"#)
            .unwrap();
    let expected = Inbound::ResponseChunk {
        message_id: Some("m1".into()),
        content: "Hel".into(),
        index: Some(0),
    };
    assert_eq!(wrapped.kind, expected);
    assert_eq!(flat.kind, expected);
    assert_eq!(
        flat.timestamp_ms, None,
        "missing timestamps stay None for the engine to stamp"
    );
}

#[test]
fn camel_case_normalisation() {
    assert_eq!(camel_case("message_id"), "messageId");
    assert_eq!(camel_case("messageId"), "messageId");
    assert_eq!(camel_case("response_time_ms"), "responseTimeMs");
    assert_eq!(camel_case("_private"), "_private");
    assert_eq!(camel_case("x-tenant-id"), "xTenantId");
}

#[test]
fn ack_reads_the_client_id_wherever_it_is() {
    let a = parse_frame(
        br#"{"type":"message_received","data":{"message_id":"u1","client_message_id":"c-1"}}"#,
    )
    .unwrap();
    assert_eq!(
        a.kind,
        Inbound::MessageReceived {
            message_id: Some("u1".into()),
            client_id: Some("c-1".into())
        }
    );
    let b = parse_frame(
        br#"{"type":"message_received","data":{"message":{"id":"u2","client_id":"c-2"}}}"#,
    )
    .unwrap();
    assert_eq!(
        b.kind,
        Inbound::MessageReceived {
            message_id: Some("u2".into()),
            client_id: Some("c-2".into())
        }
    );
}

#[test]
fn error_frame_carries_the_seed_error_body() {
    let f = parse_frame(
        br#"{"type":"error","data":{"detail":"Too many requests","type":"rate_limit","code":"RATE_LIMITED","retryable":true}}"#,
    )
    .unwrap();
    let Inbound::Error(body) = f.kind else {
        panic!()
    };
    assert_eq!(
        body,
        ErrorBody {
            message: Some("Too many requests".into()),
            kind: Some("rate_limit".into()),
            code: Some("RATE_LIMITED".into()),
            retryable: Some(true),
            retry_after_ms: None,
        }
    );
}

#[test]
fn other_frames() {
    let kinds: Vec<Inbound> = [
        &br#"{"type":"connection_established","data":{"client_id":"k"}}"#[..],
        br#"{"type":"connection_ready"}"#,
        br#"{"type":"chat_joined","data":{"chat_id":"c"}}"#,
        br#"{"type":"processing","data":{"message_id":"m","stage":"retrieval","status":"processing"}}"#,
        br#"{"type":"typing_stop","data":{"user_id":"assistant"}}"#,
        br#"{"type":"tool_call_start","data":{"message_id":"m","tool_call_id":"t1","name":"lookup","arguments":{"q":"x"}}}"#,
        br#"{"type":"tool_call_complete","data":{"tool_call_id":"t1","result":{"ok":true}}}"#,
        br#"{"type":"pong"}"#,
        br#"{"type":"brand_new_event","data":{}}"#,
    ]
    .iter()
    .map(|b| parse_frame(b).unwrap().kind)
    .collect();
    assert_eq!(
        kinds[0],
        Inbound::Established {
            client_id: Some("k".into())
        }
    );
    assert_eq!(kinds[1], Inbound::Ready);
    assert_eq!(
        kinds[2],
        Inbound::Joined {
            chat_id: Some("c".into())
        }
    );
    assert_eq!(
        kinds[3],
        Inbound::Processing {
            message_id: Some("m".into()),
            stage: Some("retrieval".into())
        }
    );
    assert_eq!(
        kinds[4],
        Inbound::Typing {
            participant: "assistant".into(),
            active: false
        }
    );
    assert_eq!(
        kinds[5],
        Inbound::ToolStart {
            message_id: Some("m".into()),
            tool_id: Some("t1".into()),
            name: "lookup".into(),
            args: json!({"q":"x"})
        }
    );
    assert_eq!(
        kinds[6],
        Inbound::ToolEnd {
            message_id: None,
            tool_id: Some("t1".into()),
            name: None,
            output: json!({"ok":true}),
            error: None
        }
    );
    assert_eq!(kinds[7], Inbound::Pong);
    assert_eq!(kinds[8], Inbound::Unknown);
}

#[test]
fn malformed_frames_are_errors_not_panics() {
    for bad in [
        &b"{not json"[..],
        b"[1,2,3]",
        b"\"text\"",
        b"{\"data\":{}}",
        &[0xff, 0xfe, 0x00],
        b"",
        br#"{"type":42.5e400}"#,
    ] {
        assert!(parse_frame(bad).is_err(), "{bad:?}");
    }
    // wrong field types degrade to defaults instead of failing
    let f = parse_frame(br#"{"type":"response_chunk","data":{"content":{"x":1},"index":"abc"}}"#)
        .unwrap();
    assert_eq!(
        f.kind,
        Inbound::ResponseChunk {
            message_id: None,
            content: String::new(),
            index: None
        }
    );
}

#[test]
fn outbound_chat_message_matches_the_seed() {
    let frame = Outbound {
        kind: "chat_message",
        data: ChatMessageData {
            message: "User input text".into(),
            chat_id: Some("chat_123".into()),
            tenant_id: "miptech-company".into(),
            client_message_id: "c-1".into(),
        },
        timestamp: Some(1_234_567_890),
        client_id: Some("c-1".into()),
    };
    let v: serde_json::Value = serde_json::from_str(&encode(&frame)).unwrap();
    assert_eq!(
        v,
        json!({"type":"chat_message","data":{"message":"User input text","chat_id":"chat_123",
            "tenant_id":"miptech-company","client_message_id":"c-1"},
            "timestamp":1_234_567_890,"clientId":"c-1"})
    );
}

#[test]
fn created_chat_id_in_any_shape() {
    assert_eq!(
        parse_created_chat(br#"{"id":"chat_1","tenant_id":"t"}"#).as_deref(),
        Some("chat_1")
    );
    assert_eq!(
        parse_created_chat(br#"{"chat_id":"chat_2"}"#).as_deref(),
        Some("chat_2")
    );
    assert_eq!(
        parse_created_chat(br#"{"data":{"chatId":"chat_3"}}"#).as_deref(),
        Some("chat_3")
    );
    assert_eq!(
        parse_created_chat(br#"{"chat":{"id":"chat_4"}}"#).as_deref(),
        Some("chat_4")
    );
    assert_eq!(parse_created_chat(b"<html>"), None);
    assert_eq!(parse_created_chat(br#"{"ok":true}"#), None);
}

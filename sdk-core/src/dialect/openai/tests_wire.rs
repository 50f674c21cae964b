//! Wire-level tests of the openai codec: streamed chunks, tool-call fragments, usage, errors.

use super::wire::*;

#[test]
fn content_chunk() {
    let Data::Chunk(c) = parse_data(
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"mock-gpt","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"logprobs":null,"finish_reason":null}]}"#,
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(c.id.as_deref(), Some("chatcmpl-1"));
    assert_eq!(c.choices[0].delta.content.as_deref(), Some("Hel"));
    assert_eq!(c.choices[0].delta.role.as_deref(), Some("assistant"));
}

#[test]
fn tool_call_fragments_and_finish() {
    let Data::Chunk(c) = parse_data(
        r#"{"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"lookup","arguments":""}}]},"finish_reason":null}]}"#,
    )
    .unwrap() else {
        panic!()
    };
    let tc = &c.choices[0].delta.tool_calls[0];
    assert_eq!(tc.id.as_deref(), Some("call_1"));
    assert_eq!(
        tc.function.as_ref().and_then(|f| f.name.as_deref()),
        Some("lookup")
    );
    let Data::Chunk(f) =
        parse_data(r#"{"id":"x","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#)
            .unwrap()
    else {
        panic!()
    };
    assert_eq!(f.choices[0].finish_reason.as_deref(), Some("tool_calls"));
}

#[test]
fn usage_done_and_errors() {
    let Data::Chunk(u) = parse_data(
        r#"{"id":"x","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}"#,
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(u.usage.and_then(|u| u.total_tokens), Some(8));
    assert_eq!(parse_data(" [DONE] ").unwrap(), Data::Done);
    let Data::Error(e) =
        parse_data(r#"{"error":{"message":"overloaded","type":"server_error","code":null}}"#)
            .unwrap()
    else {
        panic!()
    };
    assert_eq!(e.message.as_deref(), Some("overloaded"));
    for bad in [
        "{",
        "[]",
        r#"{"choices":"nope"}"#,
        r#"{"choices":[{"index":-1}]}"#,
    ] {
        assert!(parse_data(bad).is_err(), "{bad}");
    }
}

#[test]
fn request_body() {
    let messages = [ChatMessage {
        role: "user",
        content: "hi".into(),
    }];
    let body = encode(&Request {
        model: "mock-gpt",
        messages: &messages,
        stream: true,
        stream_options: StreamOptions {
            include_usage: true,
        },
        user: None,
    });
    assert_eq!(
        String::from_utf8(body).unwrap(),
        r#"{"model":"mock-gpt","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}"#
    );
}

//! Codec tests of the openai dialect: a streamed completion as `chatwire-mock` and OpenAI send
//! it, tool-call fragments, history, duplicates, a cut stream and its re-send.

use super::*;
use crate::dialect::Action;
use crate::dialect::codec_kit::testkit::*;
use crate::event::{Event, TextUpdate};
use crate::ids::{DedupKey, RequestId};
use crate::sse;
use serde_json::json;

pub(super) fn chunk(delta: serde_json::Value, finish: Option<&str>) -> String {
    json!({"id":"chatcmpl-7","object":"chat.completion.chunk","created":1700000000,"model":"mock-gpt",
        "system_fingerprint":"fp_mock","choices":[{"index":0,"delta":delta,"logprobs":null,"finish_reason":finish}]})
    .to_string()
}

pub(super) fn ready() -> (OpenAi, Actions) {
    let mut d = OpenAi::new("http://127.0.0.1:9/");
    let mut out = actions(1);
    d.connect(&ConnectContext::new(1, None), &mut out);
    assert_eq!(out.take(), vec![Action::Connected, Action::Ready]);
    (d, out)
}

pub(super) fn feed(d: &mut OpenAi, id: RequestId, data: &[String], out: &mut Actions) {
    d.on_transport(
        TransportEvent::HttpResponse {
            id,
            status: 200,
            headers: &[],
            body: b"",
        },
        out,
    );
    for item in data {
        let event = sse::Event {
            event: "message".into(),
            data: item.clone(),
            id: None,
        };
        d.on_transport(TransportEvent::SseEvent { id, event: &event }, out);
    }
}

pub(super) fn reply(words: &[&str]) -> Vec<String> {
    let mut v = vec![chunk(json!({"role":"assistant","content":""}), None)];
    v.extend(words.iter().map(|w| chunk(json!({"content": w}), None)));
    v.push(chunk(json!({}), Some("stop")));
    v.push(json!({"id":"chatcmpl-7","object":"chat.completion.chunk","created":1700000000,"model":"mock-gpt",
        "choices":[],"usage":{"prompt_tokens":1,"completion_tokens":3,"total_tokens":4}}).to_string());
    v.push("[DONE]".into());
    v
}

#[test]
fn streamed_completion_is_one_turn() {
    let (mut d, mut out) = ready();
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
    let (id, spec) = one_request(&got);
    assert_eq!(spec.url, "http://127.0.0.1:9/v1/chat/completions");
    assert_eq!(
        header(&spec.headers, "Idempotency-Key"),
        Some(c.to_string().as_str())
    );
    assert_eq!(header(&spec.headers, "Accept"), Some("text/event-stream"));
    assert_eq!(
        spec.timeout_ms,
        Some(DEFAULT_TIMEOUT_MS),
        "a stalled stream cannot block the queue"
    );
    let body: serde_json::Value = serde_json::from_slice(&spec.body).unwrap();
    assert_eq!(
        body,
        json!({"model":"mock-gpt","messages":[{"role":"user","content":"hello"}],
        "stream":true,"stream_options":{"include_usage":true}})
    );

    feed(&mut d, id, &reply(&["You", " said:", " hello"]), &mut out);
    let got = out.take();
    assert_eq!(
        names(&got),
        [
            "turnStarted",
            "messageStarted",
            "textDelta",
            "textDelta",
            "textDelta",
            "messageCompleted",
            "turnCompleted"
        ]
    );
    let ev = emitted(&got);
    assert_eq!(assembled(&ev), "You said: hello");
    assert_eq!(
        ev.iter().filter_map(|d| d.offset).collect::<Vec<_>>(),
        [0, 3, 9]
    );
    assert!(ev.iter().all(|d| d.turn_id == Some(c.to_string())));
    assert_eq!(
        ev[5].event,
        Event::MessageCompleted {
            text: "You said: hello".into()
        }
    );
    let Event::TurnCompleted {
        finish_reason,
        usage,
    } = &ev[6].event
    else {
        panic!()
    };
    assert_eq!(finish_reason.as_deref(), Some("stop"));
    assert_eq!(usage.and_then(|u| u.total_tokens), Some(4));
    assert_eq!(
        got.last(),
        Some(&Action::Ack {
            client_id: c,
            server_id: Some("chatcmpl-7".into())
        })
    );
}

#[test]
fn repeated_chunks_are_all_text_with_distinct_keys_and_history_grows() {
    let (mut d, mut out) = ready();
    let (a, b) = (client(1), client(2));
    d.encode(
        Outbound::Message {
            client_id: a,
            text: "one",
            resend: false,
        },
        &mut out,
    )
    .unwrap();
    d.encode(
        Outbound::Message {
            client_id: b,
            text: "two",
            resend: false,
        },
        &mut out,
    )
    .unwrap();
    let got = out.take();
    let (id, _) = one_request(&got);
    // a byte-identical chunk twice: a repeated token (" the the"), not a duplicate
    let mut data = reply(&["x", "y"]);
    data.insert(2, data[2].clone());
    feed(&mut d, id, &data, &mut out);
    let got = out.take();
    let deltas: Vec<_> = emitted(&got)
        .into_iter()
        .filter(|d| matches!(d.event, Event::TextDelta { .. }))
        .collect();
    assert_eq!(deltas.len(), 3, "the repeated chunk is text too");
    assert_eq!(
        deltas.iter().filter_map(|d| d.offset).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    assert_eq!(assembled(&deltas), "xyy");
    assert!(matches!(deltas[0].dedup, Some(DedupKey::Id(_))));
    assert_ne!(deltas[1].dedup, deltas[2].dedup, "keyed by position");
    // the second message is posted when the first completion ends, with the first reply
    let (_, spec) = one_request(&got);
    let body: serde_json::Value = serde_json::from_slice(&spec.body).unwrap();
    assert_eq!(
        body["messages"],
        json!([{"role":"user","content":"one"},{"role":"assistant","content":"xyy"},
        {"role":"user","content":"two"}])
    );
}

#[test]
fn the_same_token_twice_in_a_reply_is_delivered_twice() {
    let (mut d, mut out) = ready();
    d.encode(
        Outbound::Message {
            client_id: client(1),
            text: "hi",
            resend: false,
        },
        &mut out,
    )
    .unwrap();
    let (id, _) = one_request(&out.take());
    // what real backends send: identical id/created/model, content " the" both times
    feed(
        &mut d,
        id,
        &reply(&[
            "Over", " the", " hill", " and", " the", "\n\n", "end", "\n\n",
        ]),
        &mut out,
    );
    let got = out.take();
    let ev = emitted(&got);
    let deltas: Vec<_> = ev
        .iter()
        .copied()
        .filter(|d| matches!(d.event, Event::TextDelta { .. }))
        .collect();
    assert_eq!(deltas.len(), 8);
    let text = "Over the hill and the\n\nend\n\n";
    assert_eq!(assembled(&deltas), text);
    let completed = ev.iter().find_map(|d| match &d.event {
        Event::MessageCompleted { text } => Some(text.clone()),
        _ => None,
    });
    assert_eq!(completed.as_deref(), Some(text));
}

#[test]
fn tool_call_fragments() {
    let (mut d, mut out) = ready();
    d.encode(
        Outbound::Message {
            client_id: client(1),
            text: "/tool rain",
            resend: false,
        },
        &mut out,
    )
    .unwrap();
    let (id, _) = one_request(&out.take());
    let data = vec![
        chunk(json!({"role":"assistant","content":null}), None),
        chunk(
            json!({"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"lookup","arguments":""}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls":[{"index":0,"function":{"arguments":"{\"query\":"}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls":[{"index":0,"function":{"arguments":"\"rain\"}"}}]}),
            None,
        ),
        chunk(json!({}), Some("tool_calls")),
        "[DONE]".to_string(),
    ];
    feed(&mut d, id, &data, &mut out);
    let got = out.take();
    assert_eq!(
        names(&got),
        [
            "turnStarted",
            "messageStarted",
            "toolStarted",
            "toolArgsDelta",
            "toolArgsDelta",
            "toolCompleted",
            "messageCompleted",
            "turnCompleted"
        ]
    );
    let ev = emitted(&got);
    assert_eq!(
        ev[2].event,
        Event::ToolStarted {
            tool_id: "call_1".into(),
            name: "lookup".into(),
            args: None
        }
    );
    assert_eq!(
        ev[5].event,
        Event::ToolCompleted {
            tool_id: "call_1".into(),
            output: json!({"query":"rain"})
        }
    );
    let Event::TurnCompleted { finish_reason, .. } = &ev[7].event else {
        panic!()
    };
    assert_eq!(finish_reason.as_deref(), Some("tool_calls"));
}

#[test]
fn cut_stream_is_resent_and_replaces_the_partial_text() {
    let (mut d, mut out) = ready();
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
    let (id, _) = one_request(&out.take());
    let data = reply(&["You", " said:", " hello"]);
    feed(&mut d, id, &data[..3], &mut out);
    d.on_transport(TransportEvent::HttpEnd { id }, &mut out);
    let got = out.take();
    assert!(matches!(got.last(), Some(Action::Fail(f)) if f.kind == FailureKind::Network));
    assert!(
        !got.iter().any(|a| matches!(a, Action::Ack { .. })),
        "not acked: the engine re-sends"
    );
    let first = emitted(&got);
    assert_eq!(assembled(&first), "You said:");

    d.disconnect(Disconnect::Reconnecting, &mut out);
    d.connect(&ConnectContext::new(1, None), &mut out);
    out.take();
    d.encode(
        Outbound::Message {
            client_id: c,
            text: "hello",
            resend: true,
        },
        &mut out,
    )
    .unwrap();
    let got = out.take();
    let (id2, spec) = one_request(&got);
    assert_eq!(
        header(&spec.headers, "Idempotency-Key"),
        Some(c.to_string().as_str())
    );
    let body: serde_json::Value = serde_json::from_slice(&spec.body).unwrap();
    assert_eq!(
        body["messages"].as_array().map(Vec::len),
        Some(1),
        "the message is not doubled"
    );
    feed(&mut d, id2, &data, &mut out);
    let got = out.take();
    let second = emitted(&got);
    assert!(second.iter().all(|e| e.turn_id == Some(format!("{c}#2"))));
    assert!(
        second
            .iter()
            .all(|e| e.message_id == Some(format!("{c}:reply")))
    );
    let deltas: Vec<_> = second
        .iter()
        .filter(|e| matches!(e.event, Event::TextDelta { .. }))
        .collect();
    assert!(
        matches!(&deltas[0].event, Event::TextDelta { update: TextUpdate::Replace { text }, .. } if text == "You"),
        "the first delta of the re-sent turn replaces the partial text"
    );
    let mut all = first.clone();
    all.extend(second.iter().copied());
    assert_eq!(assembled(&all), "You said: hello");
    assert!(matches!(got.last(), Some(Action::Ack { .. })));
    assert_ne!(
        first[2].dedup, deltas[0].dedup,
        "attempts do not share keys"
    );
}

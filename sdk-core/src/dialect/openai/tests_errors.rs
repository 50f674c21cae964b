//! Codec tests of the openai dialect: HTTP errors, streamed errors, malformed chunks, params,
//! reasoning text, unsupported commands and a body that ends without `[DONE]`.

use super::tests::{chunk, feed, ready, reply};
use super::*;
use crate::dialect::Action;
use crate::dialect::codec_kit::testkit::*;
use crate::event::{ErrorKind, Event, TextChannel};
use crate::ids::DedupKey;
use serde_json::json;
use std::time::Duration;

#[test]
fn http_errors() {
    let (mut d, mut out) = ready();
    let c = client(1);
    d.encode(
        Outbound::Message {
            client_id: c,
            text: "hi",
            resend: false,
        },
        &mut out,
    )
    .unwrap();
    let (id, _) = one_request(&out.take());
    let h = vec![("retry-after".to_string(), "3".to_string())];
    let body = br#"{"error":{"message":"Rate limit reached","type":"rate_limit_error","param":null,"code":"rate_limited"}}"#;
    d.on_transport(
        TransportEvent::HttpResponse {
            id,
            status: 429,
            headers: &h,
            body,
        },
        &mut out,
    );
    let got = out.take();
    let [Action::Fail(f)] = &got[..] else {
        panic!("{got:?}")
    };
    assert_eq!(
        (f.kind, f.retry_after),
        (FailureKind::RateLimited, Some(Duration::from_secs(3)))
    );

    let (mut d, mut out) = ready();
    d.encode(
        Outbound::Message {
            client_id: c,
            text: "hi",
            resend: false,
        },
        &mut out,
    )
    .unwrap();
    let (id, _) = one_request(&out.take());
    let body = br#"{"error":{"message":"'messages' is required","type":"invalid_request_error","param":null,"code":"invalid_request_error"}}"#;
    d.on_transport(
        TransportEvent::HttpResponse {
            id,
            status: 400,
            headers: &[],
            body,
        },
        &mut out,
    );
    let got = out.take();
    assert!(got.contains(&Action::Reject {
        client_id: c,
        reason: FailReason::Rejected
    }));
    assert_eq!(names(&got), ["error"]);
    assert_eq!(
        emitted(&got)[0].turn_id,
        None,
        "a refused request starts no turn"
    );

    for (status, kind) in [
        (401, FailureKind::Auth),
        (503, FailureKind::ServerRestart),
        (500, FailureKind::Server),
    ] {
        let (mut d, mut out) = ready();
        d.encode(
            Outbound::Message {
                client_id: c,
                text: "hi",
                resend: false,
            },
            &mut out,
        )
        .unwrap();
        let (id, _) = one_request(&out.take());
        d.on_transport(
            TransportEvent::HttpResponse {
                id,
                status,
                headers: &[],
                body: b"<html>",
            },
            &mut out,
        );
        assert!(
            matches!(&out.take()[..], [Action::Fail(f)] if f.kind == kind),
            "{status}"
        );
    }
}

#[test]
fn streamed_error_and_malformed_chunks() {
    let (mut d, mut out) = ready();
    let c = client(1);
    d.encode(
        Outbound::Message {
            client_id: c,
            text: "/error",
            resend: false,
        },
        &mut out,
    )
    .unwrap();
    let (id, _) = one_request(&out.take());
    let data = vec![
        chunk(json!({"role":"assistant","content":""}), None),
        "{not json".to_string(),
        r#"{"choices":"wrong type"}"#.to_string(),
        r#"{"error":{"message":"scripted failure","type":"server_error","param":null,"code":"scripted_error"}}"#.to_string(),
    ];
    feed(&mut d, id, &data, &mut out);
    let got = out.take();
    assert_eq!(
        names(&got),
        [
            "turnStarted",
            "messageStarted",
            "error",
            "error",
            "error",
            "turnFailed"
        ]
    );
    let ev = emitted(&got);
    assert!(matches!(
        ev[2].event,
        Event::Error {
            kind: ErrorKind::Protocol,
            ..
        }
    ));
    assert!(matches!(
        ev[4].event,
        Event::Error {
            kind: ErrorKind::Server,
            ..
        }
    ));
    assert_eq!(
        got.last(),
        Some(&Action::Ack {
            client_id: c,
            server_id: Some("chatcmpl-7".into())
        })
    );
}

#[test]
fn params_reasoning_and_unsupported_commands() {
    let mut p = Params::new();
    p.insert("model".into(), "gpt-4o".into());
    p.insert("api_key".into(), "sk-live".into());
    p.insert("system_prompt".into(), "Be brief.".into());
    p.insert("dedup".into(), "none".into());
    let mut d = OpenAi::from_params("https://api.openai.com/v1/", &p);
    assert!(!format!("{d:?}").contains("sk-live"));
    let mut out = actions(1);
    assert!(matches!(
        d.encode(Outbound::Typing { active: true }, &mut out),
        Err(DialectError::NotConnected)
    ));
    d.connect(&ConnectContext::new(1, None), &mut out);
    out.take();
    assert!(matches!(
        d.encode(Outbound::CancelTurn, &mut out),
        Err(DialectError::Unsupported(_))
    ));
    d.encode(
        Outbound::Message {
            client_id: client(1),
            text: "hi",
            resend: false,
        },
        &mut out,
    )
    .unwrap();
    let got = out.take();
    let (id, spec) = one_request(&got);
    assert_eq!(spec.url, "https://api.openai.com/v1/chat/completions");
    assert_eq!(
        header(&spec.headers, "Authorization"),
        Some("Bearer sk-live")
    );
    let body: serde_json::Value = serde_json::from_slice(&spec.body).unwrap();
    assert_eq!(body["model"], "gpt-4o");
    assert_eq!(
        body["messages"][0],
        json!({"role":"system","content":"Be brief."})
    );
    feed(
        &mut d,
        id,
        &[chunk(json!({"reasoning_content":"Thinking"}), None)],
        &mut out,
    );
    let got = out.take();
    let ev = emitted(&got);
    assert!(matches!(
        ev[2].event,
        Event::TextDelta {
            channel: TextChannel::Reasoning,
            ..
        }
    ));
    assert_eq!(ev[2].dedup, None, "dedup=none");
    let mut out2 = actions(50);
    d.on_transport(
        TransportEvent::SocketBinary {
            conn: crate::ids::ConnId(9),
            bytes: b"x",
        },
        &mut out2,
    );
    assert!(
        out2.take().is_empty(),
        "reports for other handles are ignored"
    );
    let _ = DedupKey::Seq(0);
}

#[test]
fn body_without_done_after_finish_counts_as_finished() {
    let (mut d, mut out) = ready();
    d.encode(
        Outbound::Message {
            client_id: client(3),
            text: "hi",
            resend: false,
        },
        &mut out,
    )
    .unwrap();
    let (id, _) = one_request(&out.take());
    let data = reply(&["ok"]);
    feed(&mut d, id, &data[..3], &mut out);
    d.on_transport(TransportEvent::HttpEnd { id }, &mut out);
    let got = out.take();
    assert!(names(&got).ends_with(&["messageCompleted", "turnCompleted"]));
    assert!(matches!(got.last(), Some(Action::Ack { .. })));
}

/// The conversation sent with each completion is bounded by `max_history`, oldest dropped first.
#[test]
fn history_is_bounded_by_max_history() {
    let mut params = Params::new();
    params.insert("max_history".into(), "3".into());
    let mut d = OpenAi::from_params("http://127.0.0.1:9/", &params);
    let mut out = actions(1);
    d.connect(&ConnectContext::new(1, None), &mut out);
    out.take();
    for n in 1..=3u8 {
        let msg = Outbound::Message {
            client_id: client(n),
            text: &format!("m{n}"),
            resend: false,
        };
        d.encode(msg, &mut out).unwrap();
        let got = out.take();
        let (id, spec) = one_request(&got);
        let body: serde_json::Value = serde_json::from_slice(&spec.body).unwrap();
        let sent = body["messages"].as_array().unwrap().len();
        assert!(sent <= 3, "{n}: {sent} messages sent");
        feed(&mut d, id, &reply(&["ok"]), &mut out);
        out.take();
    }
    assert_eq!(d.history.len(), 3);
    assert_eq!(d.history[2].1.content, "ok");
    assert_eq!(d.history[1].1.content, "m3");
}

/// A stream of endless tool-call indices cannot grow the dialect's memory: past the bound the
/// rest is refused with one protocol error.
#[test]
fn tool_calls_per_completion_are_bounded() {
    let (mut d, mut out) = ready();
    let msg = Outbound::Message {
        client_id: client(1),
        text: "hi",
        resend: false,
    };
    d.encode(msg, &mut out).unwrap();
    let got = out.take();
    let (id, _) = one_request(&got);
    let chunks: Vec<String> = (0..500u32)
        .map(|i| {
            chunk(
                json!({"tool_calls":[{"index": i, "id": format!("call_{i}"), "function":{"name":"f","arguments":"{}"}}]}),
                None,
            )
        })
        .collect();
    feed(&mut d, id, &chunks, &mut out);
    let got = out.take();
    let started = names(&got).iter().filter(|n| **n == "toolStarted").count();
    let errors = names(&got).iter().filter(|n| **n == "error").count();
    assert_eq!((started, errors), (128, 1));
}

//! Codec tests of the `ai-sdk` dialect: a reply as `streamText(...).toUIMessageStreamResponse()`
//! writes it, the request body, a cut stream resumed (replay and continuation), a resume
//! answered 204 (discontinuity and a re-send under the same message id), refusals.

use super::*;
use crate::dialect::Action;
use crate::dialect::codec_kit::testkit::*;
use crate::event::{Event, TextUpdate};
use crate::ids::RequestId;
use crate::sse;
use serde_json::{Value, json};

pub(super) fn ready() -> (AiSdk, Actions) {
    let mut d = AiSdk::new("http://127.0.0.1:9/", "chat-1");
    let mut out = actions(1);
    d.connect(&ConnectContext::new(1, None), &mut out);
    assert_eq!(out.take(), vec![Action::Connected, Action::Ready]);
    (d, out)
}

pub(super) fn respond(d: &mut AiSdk, id: RequestId, status: u16, out: &mut Actions) {
    let headers = [(
        "x-vercel-ai-ui-message-stream".to_string(),
        "v1".to_string(),
    )];
    let ev = TransportEvent::HttpResponse {
        id,
        status,
        headers: &headers,
        body: b"",
    };
    d.on_transport(ev, out);
}

pub(super) fn feed(d: &mut AiSdk, id: RequestId, data: &[String], out: &mut Actions) {
    for item in data {
        let event = sse::Event {
            event: "message".into(),
            data: item.clone(),
            id: None,
        };
        d.on_transport(TransportEvent::SseEvent { id, event: &event }, out);
    }
}

/// The chunks `toUIMessageStreamResponse()` writes for a text reply, `[DONE]` last.
pub(super) fn reply(words: &[&str]) -> Vec<String> {
    let mut v = vec![
        json!({"type":"start","messageId":"msg-1"}),
        json!({"type":"start-step"}),
        json!({"type":"text-start","id":"0"}),
    ];
    v.extend(
        words
            .iter()
            .map(|w| json!({"type":"text-delta","id":"0","delta":w})),
    );
    v.push(json!({"type":"text-end","id":"0"}));
    v.push(json!({"type":"finish-step"}));
    v.push(json!({"type":"finish","finishReason":"stop"}));
    let mut s: Vec<String> = v.iter().map(Value::to_string).collect();
    s.push("[DONE]".into());
    s
}

fn send(d: &mut AiSdk, n: u8, text: &str, out: &mut Actions) -> RequestId {
    d.encode(
        Outbound::Message {
            client_id: client(n),
            text,
            resend: false,
        },
        out,
    )
    .unwrap();
    let actions = out.take();
    one_request(&actions).0
}

#[test]
fn the_request_is_the_sdk_body() {
    let (mut d, mut out) = ready();
    d.encode(
        Outbound::Message {
            client_id: client(1),
            text: "hello",
            resend: false,
        },
        &mut out,
    )
    .unwrap();
    let actions = out.take();
    let (_, spec) = one_request(&actions);
    assert_eq!(spec.url, "http://127.0.0.1:9/api/chat");
    assert_eq!(spec.method, Method::Post);
    assert_eq!(header(&spec.headers, "Accept"), Some("text/event-stream"));
    let body: Value = serde_json::from_slice(&spec.body).unwrap();
    let id = client(1).to_string();
    assert_eq!(
        body,
        json!({"id":"chat-1","trigger":"submit-message","messageId":id,
            "messages":[{"id":id,"role":"user","parts":[{"type":"text","text":"hello"}]}]})
    );
}

#[test]
fn a_streamed_reply_is_one_turn_and_acks_its_message() {
    let (mut d, mut out) = ready();
    let req = send(&mut d, 1, "hello", &mut out);
    respond(&mut d, req, 200, &mut out);
    feed(&mut d, req, &reply(&["You ", "said: ", "hello"]), &mut out);
    let actions = out.take();
    let events = emitted(&actions);
    assert_eq!(assembled(&events), "You said: hello");
    let kinds: Vec<&str> = events.iter().map(|d| d.event.type_name()).collect();
    assert_eq!(
        kinds,
        [
            "turnStarted",
            "messageStarted",
            "status",
            "textDelta",
            "textDelta",
            "textDelta",
            "status",
            "messageCompleted",
            "turnCompleted"
        ]
    );
    assert!(
        events
            .iter()
            .all(|e| e.turn_id.as_deref() == Some(client(1).to_string().as_str()))
    );
    assert!(
        matches!(&events[8].event, Event::TurnCompleted { finish_reason: Some(r), .. } if r == "stop")
    );
    assert!(actions.iter().any(|a| matches!(a,
        Action::Ack { client_id, server_id: Some(s) } if *client_id == client(1) && s == "msg-1")));
    // the next message carries the reply in its history, under the SDK's message id
    let (_, body) = {
        d.encode(
            Outbound::Message {
                client_id: client(2),
                text: "again",
                resend: false,
            },
            &mut out,
        )
        .unwrap();
        let a = out.take();
        let (id, spec) = one_request(&a);
        (id, serde_json::from_slice::<Value>(&spec.body).unwrap())
    };
    assert_eq!(body["messages"][1]["id"], "msg-1");
    assert_eq!(body["messages"][1]["parts"][0]["text"], "You said: hello");
    assert_eq!(body["messages"].as_array().map(Vec::len), Some(3));
}

#[test]
fn a_cut_stream_is_resumed_from_the_replaying_route() {
    let (mut d, mut out) = ready();
    let req = send(&mut d, 1, "hello", &mut out);
    respond(&mut d, req, 200, &mut out);
    let full = reply(&["You ", "said: ", "hello"]);
    feed(&mut d, req, &full[..4], &mut out);
    d.on_transport(TransportEvent::HttpEnd { id: req }, &mut out);
    let first = out.take();
    assert!(first.iter().any(|a| matches!(a, Action::Fail(_))));
    d.disconnect(Disconnect::Reconnecting, &mut out);
    d.connect(&ConnectContext::new(1, None), &mut out);
    let actions = out.take();
    let (resume, spec) = one_request(&actions);
    assert_eq!(spec.url, "http://127.0.0.1:9/api/chat/chat-1/stream");
    assert_eq!(spec.method, Method::Get);
    assert!(
        !actions.contains(&Action::Ready),
        "ready only once the resume answered"
    );
    respond(&mut d, resume, 200, &mut out);
    assert_eq!(out.take(), vec![Action::Ready]);
    // the engine re-sends the unacked message: its reply is streaming, nothing is posted
    d.encode(
        Outbound::Message {
            client_id: client(1),
            text: "hello",
            resend: true,
        },
        &mut out,
    )
    .unwrap();
    assert!(requests(&out.take()).is_empty());
    feed(&mut d, resume, &full, &mut out);
    let rest = out.take();
    let all: Vec<&Decoded> = emitted(&first).into_iter().chain(emitted(&rest)).collect();
    assert_eq!(assembled(&all), "You said: hello");
    assert!(
        !rest
            .iter()
            .any(|a| matches!(a, Action::Discontinuity { .. }))
    );
    assert!(
        rest.iter()
            .any(|a| matches!(a, Action::Ack { client_id, .. } if *client_id == client(1)))
    );
}

#[test]
fn a_resumed_stream_that_continues_is_not_skipped() {
    let (mut d, mut out) = ready();
    let req = send(&mut d, 1, "hello", &mut out);
    respond(&mut d, req, 200, &mut out);
    let full = reply(&["You ", "said: ", "hello"]);
    feed(&mut d, req, &full[..4], &mut out);
    d.on_transport(
        TransportEvent::HttpFailed {
            id: req,
            error: "reset",
        },
        &mut out,
    );
    let first = out.take();
    d.disconnect(Disconnect::Reconnecting, &mut out);
    d.connect(&ConnectContext::new(2, None), &mut out);
    let (resume, _) = one_request(&out.take());
    respond(&mut d, resume, 200, &mut out);
    feed(&mut d, resume, &full[4..], &mut out);
    let rest = out.take();
    let all: Vec<&Decoded> = emitted(&first).into_iter().chain(emitted(&rest)).collect();
    assert_eq!(assembled(&all), "You said: hello");
}

#[test]
fn nothing_to_resume_is_a_discontinuity_and_a_resend_under_the_same_message_id() {
    let (mut d, mut out) = ready();
    let req = send(&mut d, 1, "hello", &mut out);
    respond(&mut d, req, 200, &mut out);
    feed(
        &mut d,
        req,
        &reply(&["You ", "said: ", "hello"])[..4],
        &mut out,
    );
    d.on_transport(TransportEvent::HttpEnd { id: req }, &mut out);
    out.take();
    d.disconnect(Disconnect::Reconnecting, &mut out);
    d.connect(&ConnectContext::new(1, None), &mut out);
    let (resume, _) = one_request(&out.take());
    d.on_transport(
        TransportEvent::HttpResponse {
            id: resume,
            status: 204,
            headers: &[],
            body: b"",
        },
        &mut out,
    );
    let actions = out.take();
    assert!(matches!(&actions[0], Action::Discontinuity { reason } if reason.contains("204")));
    assert_eq!(actions[1], Action::Ready);
    let again = {
        d.encode(
            Outbound::Message {
                client_id: client(1),
                text: "hello",
                resend: true,
            },
            &mut out,
        )
        .unwrap();
        let a = out.take();
        let (id, spec) = one_request(&a);
        let body: Value = serde_json::from_slice(&spec.body).unwrap();
        assert_eq!(body["messageId"], client(1).to_string());
        assert_eq!(body["messages"].as_array().map(Vec::len), Some(1));
        id
    };
    respond(&mut d, again, 200, &mut out);
    feed(
        &mut d,
        again,
        &reply(&["You ", "said: ", "hello"]),
        &mut out,
    );
    let actions = out.take();
    let events = emitted(&actions);
    let turn = format!("{}#2", client(1));
    assert!(
        events
            .iter()
            .all(|e| e.turn_id.as_deref() == Some(turn.as_str()))
    );
    let first_text = events
        .iter()
        .find_map(|e| match &e.event {
            Event::TextDelta { update, .. } => Some(update.clone()),
            _ => None,
        })
        .unwrap();
    assert!(matches!(first_text, TextUpdate::Replace { text } if text == "You "));
}

#[test]
fn a_refused_resume_route_is_a_discontinuity_and_a_failing_one_is_retried() {
    for (status, discontinuity) in [(404, true), (503, false)] {
        let (mut d, mut out) = ready();
        let req = send(&mut d, 1, "hello", &mut out);
        respond(&mut d, req, 200, &mut out);
        feed(&mut d, req, &reply(&["a"])[..2], &mut out);
        d.on_transport(TransportEvent::HttpEnd { id: req }, &mut out);
        out.take();
        d.disconnect(Disconnect::Reconnecting, &mut out);
        d.connect(&ConnectContext::new(1, None), &mut out);
        let (resume, _) = one_request(&out.take());
        let ev = TransportEvent::HttpResponse {
            id: resume,
            status,
            headers: &[],
            body: b"{}",
        };
        d.on_transport(ev, &mut out);
        let actions = out.take();
        let found = actions
            .iter()
            .any(|a| matches!(a, Action::Discontinuity { .. }));
        assert_eq!(found, discontinuity, "HTTP {status}");
        assert_eq!(
            actions.iter().any(|a| matches!(a, Action::Fail(_))),
            !discontinuity,
            "HTTP {status}"
        );
        if !discontinuity {
            // the resume is asked again on the next connection
            d.disconnect(Disconnect::Reconnecting, &mut out);
            d.connect(&ConnectContext::new(2, None), &mut out);
            assert!(one_request(&out.take()).1.url.ends_with("/stream"));
        }
    }
}

#[test]
fn a_refused_request_rejects_the_message_and_a_closed_client_forgets_the_reply() {
    let (mut d, mut out) = ready();
    let req = send(&mut d, 1, "hello", &mut out);
    d.on_transport(
        TransportEvent::HttpResponse {
            id: req,
            status: 400,
            headers: &[],
            body: br#"{"error":"bad body"}"#,
        },
        &mut out,
    );
    let actions = out.take();
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::Reject { client_id, .. } if *client_id == client(1)))
    );
    let req = send(&mut d, 2, "x", &mut out);
    respond(&mut d, req, 200, &mut out);
    feed(&mut d, req, &reply(&["a"])[..2], &mut out);
    out.take();
    d.disconnect(Disconnect::Closed, &mut out);
    d.connect(&ConnectContext::new(1, None), &mut out);
    assert_eq!(out.take(), vec![Action::Connected, Action::Ready]);
}

#[test]
fn params_set_the_route_chat_and_credentials() {
    let mut params = Params::new();
    params.insert("api".into(), "https://x.test/v2/chat".into());
    params.insert("chat_id".into(), "c9".into());
    params.insert("token".into(), "tok".into());
    params.insert("header.X-Team".into(), "blue".into());
    let mut d = AiSdk::from_params("http://ignored", &params, 3);
    let mut out = actions(1);
    d.connect(&ConnectContext::new(1, None), &mut out);
    out.take();
    let req = send(&mut d, 1, "hi", &mut out);
    let _ = req;
    let d2 = AiSdk::from_params("http://h:1/", &Params::new(), 255);
    assert_eq!(d2.chat_id, "chat-00000000000000ff");
    assert_eq!(d2.api, "http://h:1/api/chat");
    assert_eq!(d.api, "https://x.test/v2/chat");
    let (mut d, mut out) = (d, out);
    d.running = None;
    d.encode(
        Outbound::Message {
            client_id: client(3),
            text: "x",
            resend: false,
        },
        &mut out,
    )
    .unwrap();
    let a = out.take();
    let (_, spec) = one_request(&a);
    assert_eq!(header(&spec.headers, "Authorization"), Some("Bearer tok"));
    assert_eq!(header(&spec.headers, "X-Team"), Some("blue"));
    assert!(matches!(
        d.encode(Outbound::CancelTurn, &mut out),
        Err(DialectError::Unsupported("cancel"))
    ));
}

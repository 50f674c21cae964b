//! One test per UI message chunk type of the `ai` package's `uiMessageChunkSchema`, with chunks
//! shaped as the SDK writes them, and the malformed and unknown ones.

use super::tests::{feed, ready, respond};
use super::*;
use crate::dialect::Action;
use crate::dialect::codec_kit::testkit::*;
use crate::event::{AgentStatus, ErrorKind, Event, TextChannel, TurnErrorCode};
use serde_json::{Value, json};

/// Events of a reply whose chunks (after `start`) are `chunks`.
fn events_of(chunks: &[Value]) -> Vec<Decoded> {
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
    let (req, _) = one_request(&out.take());
    respond(&mut d, req, 200, &mut out);
    let mut data = vec![json!({"type":"start","messageId":"msg-1"}).to_string()];
    data.extend(chunks.iter().map(|c| {
        if c.is_string() {
            c.as_str().unwrap_or_default().to_string()
        } else {
            c.to_string()
        }
    }));
    feed(&mut d, req, &data, &mut out);
    let actions = out.take();
    // skip TurnStarted + MessageStarted
    emitted(&actions).into_iter().skip(2).cloned().collect()
}

fn one(chunk: Value) -> Event {
    let events = events_of(&[chunk]);
    assert_eq!(events.len(), 1, "{events:?}");
    events[0].event.clone()
}

#[test]
fn start_opens_the_turn_with_its_metadata() {
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
    let (req, _) = one_request(&out.take());
    respond(&mut d, req, 200, &mut out);
    let start = json!({"type":"start","messageId":"msg-1","messageMetadata":{"model":"gpt-5"}});
    feed(&mut d, req, &[start.to_string()], &mut out);
    let actions = out.take();
    let ev = emitted(&actions);
    assert!(
        matches!(&ev[0].event, Event::TurnStarted { reply_to: Some(r) } if *r == client(1).to_string())
    );
    assert!(matches!(&ev[1].event, Event::MessageStarted { .. }));
    assert!(
        matches!(&ev[2].event, Event::Data { name, data, .. } if name == "message-metadata" && data["model"] == "gpt-5")
    );
    assert_eq!(ev[0].raw.as_ref().unwrap()["messageId"], "msg-1");
}

#[test]
fn steps_are_processing_stages() {
    let events = events_of(&[json!({"type":"start-step"}), json!({"type":"finish-step"})]);
    let stages: Vec<_> = events
        .iter()
        .map(|d| match &d.event {
            Event::Status {
                status: AgentStatus::Processing { stage },
            } => stage.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(stages, [Some("step".into()), Some("step-finished".into())]);
}

#[test]
fn text_parts_assemble_with_offsets() {
    let events = events_of(&[
        json!({"type":"text-start","id":"txt-0"}),
        json!({"type":"text-delta","id":"txt-0","delta":"Héllo"}),
        json!({"type":"text-delta","id":"txt-0","delta":", world"}),
        json!({"type":"text-end","id":"txt-0"}),
    ]);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].offset, Some(0));
    assert_eq!(events[1].offset, Some(5));
    assert!(matches!(
        &events[1].event,
        Event::TextDelta {
            channel: TextChannel::Text,
            ..
        }
    ));
}

#[test]
fn reasoning_is_its_own_channel() {
    let events = events_of(&[
        json!({"type":"reasoning-start","id":"r-0"}),
        json!({"type":"reasoning-delta","id":"r-0","delta":"Thinking"}),
        json!({"type":"reasoning-end","id":"r-0"}),
    ]);
    assert_eq!(events.len(), 1);
    assert!(matches!(
        &events[0].event,
        Event::TextDelta {
            channel: TextChannel::Reasoning,
            ..
        }
    ));
    assert_eq!(events[0].part_id.as_deref(), Some("reasoning:r-0"));
}

#[test]
fn a_server_run_tool_streams_its_input_and_completes_with_its_output() {
    let events = events_of(&[
        json!({"type":"tool-input-start","toolCallId":"call-1","toolName":"weather"}),
        json!({"type":"tool-input-delta","toolCallId":"call-1","inputTextDelta":"{\"city\":"}),
        json!({"type":"tool-input-delta","toolCallId":"call-1","inputTextDelta":"\"Paris\"}"}),
        json!({"type":"tool-input-available","toolCallId":"call-1","toolName":"weather","input":{"city":"Paris"}}),
        json!({"type":"tool-output-available","toolCallId":"call-1","output":{"temp":21},"preliminary":true}),
        json!({"type":"tool-output-available","toolCallId":"call-1","output":{"temp":22}}),
        json!({"type":"finish"}),
        json!("[DONE]"),
    ]);
    let kinds: Vec<_> = events.iter().map(|d| d.event.type_name()).collect();
    assert_eq!(
        kinds,
        [
            "toolStarted",
            "toolArgsDelta",
            "toolArgsDelta",
            "toolProgress",
            "toolCompleted",
            "messageCompleted",
            "turnCompleted"
        ]
    );
    assert!(
        matches!(&events[4].event, Event::ToolCompleted { output, .. } if output["temp"] == 22)
    );
}

#[test]
fn a_client_side_tool_ends_with_its_input_when_the_reply_finishes() {
    let events = events_of(&[
        json!({"type":"tool-input-available","toolCallId":"call-2","toolName":"getLocation","input":{}}),
        json!({"type":"finish","finishReason":"tool-calls"}),
        json!("[DONE]"),
    ]);
    assert!(
        matches!(&events[0].event, Event::ToolStarted { name, args: Some(_), .. } if name == "getLocation")
    );
    assert!(
        matches!(&events[1].event, Event::ToolCompleted { tool_id, .. } if tool_id == "call-2")
    );
    assert!(
        matches!(&events[3].event, Event::TurnCompleted { finish_reason: Some(r), .. } if r == "tool-calls")
    );
}

#[test]
fn tool_errors_and_denials_fail_the_call() {
    for chunk in [
        json!({"type":"tool-output-error","toolCallId":"c","errorText":"boom"}),
        json!({"type":"tool-input-error","toolCallId":"c","toolName":"t","input":"{","errorText":"boom"}),
        json!({"type":"tool-output-denied","toolCallId":"c"}),
    ] {
        assert!(
            matches!(one(chunk.clone()), Event::ToolFailed { tool_id, .. } if tool_id == "c"),
            "{chunk}"
        );
    }
}

#[test]
fn data_parts_are_typed_data_events() {
    let e =
        one(json!({"type":"data-weather","id":"w-1","data":{"city":"Paris","status":"loading"}}));
    assert_eq!(
        e,
        Event::Data {
            name: "data-weather".into(),
            id: Some("w-1".into()),
            data: json!({"city":"Paris","status":"loading"})
        }
    );
    let e = one(json!({"type":"data-notification","data":{"message":"hi"},"transient":true}));
    assert!(matches!(e, Event::Data { name, id: None, .. } if name == "data-notification"));
}

#[test]
fn sources_files_and_the_rest_are_data_events_named_by_their_type() {
    let cases = [
        (
            json!({"type":"source-url","sourceId":"s-1","url":"https://example.com","title":"Example"}),
            "source-url",
            Some("s-1"),
        ),
        (
            json!({"type":"source-document","sourceId":"s-2","mediaType":"application/pdf","title":"Doc"}),
            "source-document",
            Some("s-2"),
        ),
        (
            json!({"type":"file","url":"https://example.com/a.png","mediaType":"image/png"}),
            "file",
            None,
        ),
        (
            json!({"type":"reasoning-file","url":"data:,x","mediaType":"text/plain"}),
            "reasoning-file",
            None,
        ),
        (json!({"type":"custom","kind":"acme.ping"}), "custom", None),
        (
            json!({"type":"tool-approval-request","approvalId":"a-1","toolCallId":"c"}),
            "tool-approval-request",
            None,
        ),
        (
            json!({"type":"message-metadata","messageMetadata":{"tokens":5}}),
            "message-metadata",
            None,
        ),
    ];
    for (chunk, name, id) in cases {
        match one(chunk.clone()) {
            Event::Data {
                name: n,
                id: i,
                data,
            } => {
                assert_eq!((n.as_str(), i.as_deref()), (name, id), "{chunk}");
                assert!(data.get("type").is_none());
            }
            other => panic!("{chunk} -> {other:?}"),
        }
    }
}

#[test]
fn an_error_chunk_fails_the_turn_and_acks_the_message() {
    let events = events_of(&[
        json!({"type":"error","errorText":"model overloaded"}),
        json!("[DONE]"),
    ]);
    assert!(
        matches!(&events[0].event, Event::Error { kind: ErrorKind::Server, message, .. } if message == "model overloaded")
    );
    assert!(
        matches!(&events[1].event, Event::TurnFailed { error } if error.code == TurnErrorCode::Server)
    );
    assert_eq!(
        events.len(),
        2,
        "nothing after the error: [DONE] closes nothing more"
    );
}

#[test]
fn abort_cancels_the_turn() {
    assert_eq!(
        one(json!({"type":"abort","reason":"user"})),
        Event::TurnCancelled
    );
}

#[test]
fn done_without_finish_completes_the_reply() {
    let events = events_of(&[
        json!({"type":"text-delta","id":"0","delta":"ok"}),
        json!("[DONE]"),
    ]);
    assert!(matches!(&events[1].event, Event::MessageCompleted { text } if text == "ok"));
    assert!(events[2].event.is_turn_terminal());
}

#[test]
fn unknown_and_malformed_chunks_are_reported_not_fatal() {
    let e = one(json!({"type":"tool-telemetry","x":1}));
    assert_eq!(
        e,
        Event::Unknown {
            name: "tool-telemetry".into()
        }
    );
    for bad in [
        json!("{oops"),
        json!("[1,2]"),
        json!({"no":"type"}).to_string().into(),
        json!({"type":"text-delta","id":"0"}),
    ] {
        let text = bad.as_str().map(str::to_string).unwrap_or(bad.to_string());
        let e = one(Value::String(text.clone()));
        assert!(
            matches!(
                e,
                Event::Error {
                    kind: ErrorKind::Protocol,
                    ..
                }
            ),
            "{text} -> {e:?}"
        );
    }
}

#[test]
fn a_tool_delta_of_an_unknown_call_is_reported() {
    let e = one(json!({"type":"tool-input-delta","toolCallId":"nope","inputTextDelta":"{"}));
    assert!(
        matches!(e, Event::Error { kind: ErrorKind::Protocol, message, .. } if message.contains("nope"))
    );
}

#[test]
fn finish_waits_for_done_or_the_end_of_the_body() {
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
    let (req, _) = one_request(&out.take());
    respond(&mut d, req, 200, &mut out);
    let data = [
        json!({"type":"start"}).to_string(),
        json!({"type":"finish","finishReason":"length"}).to_string(),
        // a late delta (frames reordered before `[DONE]`) still belongs to the message
        json!({"type":"text-delta","id":"0","delta":"late"}).to_string(),
    ];
    feed(&mut d, req, &data, &mut out);
    assert!(
        !emitted(&out.take())
            .iter()
            .any(|e| e.event.is_turn_terminal())
    );
    d.on_transport(TransportEvent::HttpEnd { id: req }, &mut out);
    let actions = out.take();
    let ev = emitted(&actions);
    assert!(matches!(&ev[0].event, Event::MessageCompleted { text } if text == "late"));
    assert!(
        matches!(&ev[1].event, Event::TurnCompleted { finish_reason: Some(r), .. } if r == "length")
    );
    assert!(actions.iter().any(|a| matches!(a, Action::Ack { .. })));
    assert!(!actions.iter().any(|a| matches!(a, Action::Fail(_))));
}

#[test]
fn a_body_that_ends_unfinished_fails_the_connection() {
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
    let (req, _) = one_request(&out.take());
    respond(&mut d, req, 200, &mut out);
    d.on_transport(TransportEvent::HttpEnd { id: req }, &mut out);
    assert!(
        out.take()
            .iter()
            .any(|a| matches!(a, Action::Fail(f) if f.kind == FailureKind::Network))
    );
}

//! Codec tests of the chat-v2 dialect on the frames `chatwire-mock` sends: a streamed turn with
//! duplicated and reordered tokens, tools, audio, queued turns, a dropped turn re-sent and
//! replaced, errors, cancellation and bad input.

use super::*;
use crate::dialect::Action;
use crate::dialect::FailureKind;
use crate::dialect::codec_kit::testkit::*;
use crate::event::{AgentStatus, ErrorKind, Event, TextUpdate};
use crate::io::CloseReason;
use serde_json::json;

pub(super) fn f(v: serde_json::Value) -> String {
    let mut v = v;
    v["session_id"] = json!("demo-session");
    v.to_string()
}

pub(super) fn ready(d: &mut ChatV2) -> (ConnId, Actions) {
    let mut out = actions(1);
    d.connect(&ConnectContext::new(1, None), &mut out);
    let got = out.take();
    let (conn, url, _) = opened(&got).expect("socket");
    assert_eq!(url, "ws://127.0.0.1:7/v2/chat/demo-session");
    d.on_transport(TransportEvent::SocketOpened { conn }, &mut out);
    let got = out.take();
    assert_eq!(got.first(), Some(&Action::Ready));
    assert!(
        got[1..].iter().all(|a| matches!(a, Action::Http { .. })),
        "only a history request: {got:?}"
    );
    (conn, out)
}

pub(super) fn feed(d: &mut ChatV2, conn: ConnId, frames: &[String], out: &mut Actions) {
    for text in frames {
        d.on_transport(TransportEvent::SocketText { conn, text }, out);
    }
}

pub(super) fn ack(c: ClientId, user_msg: &str, duplicate: bool) -> String {
    f(json!({"type":"ack","id": c.to_string(),"message_id": user_msg,"duplicate": duplicate}))
}

fn token(text: &str, index: u64) -> String {
    f(json!({"type":"token","content": text,"is_final": false,"message_id":"r1","index": index}))
}

fn fin(text: &str) -> String {
    f(
        json!({"type":"message","role":"assistant","content": text,"is_final": true,"message_id":"r1"}),
    )
}

#[test]
fn streamed_turn_with_duplicates_and_reordering() {
    let mut d = ChatV2::new("http://127.0.0.1:7");
    let (conn, mut out) = ready(&mut d);
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
    assert_eq!(
        sent_json(&out.take()),
        vec![
            json!({"type":"text","content":"hello","id": c.to_string(),"client_id": c.to_string()})
        ]
    );
    let frames = [
        f(json!({"type":"connected"})),
        ack(c, "m-1", false),
        f(json!({"type":"status","status":"processing"})),
        f(json!({"type":"status","status":"typing"})),
        token("You ", 0),
        token("hello", 2),
        token("said: ", 1),
        token("said: ", 1),
        fin("You said: hello"),
    ];
    feed(&mut d, conn, &frames, &mut out);
    let got = out.take();
    assert_eq!(
        names(&got),
        [
            "turnStarted",
            "status",
            "status",
            "status",
            "messageStarted",
            "textDelta",
            "textDelta",
            "textDelta",
            "messageCompleted",
            "turnCompleted"
        ]
    );
    let ev = emitted(&got);
    assert_eq!(
        ev[0].event,
        Event::TurnStarted {
            reply_to: Some(c.to_string())
        }
    );
    assert_eq!(
        ev[3].event,
        Event::Status {
            status: AgentStatus::Typing
        }
    );
    assert!(ev.iter().all(|e| e.turn_id == Some(c.to_string())));
    assert!(
        ev.iter()
            .all(|e| e.conversation_id.as_deref() == Some("demo-session"))
    );
    assert_eq!(assembled(&ev), "You said: hello");
    let acks: Vec<usize> = (0..got.len())
        .filter(|i| matches!(got[*i], Action::Ack { .. }))
        .collect();
    assert_eq!(acks.len(), 1, "acked once");
    assert_eq!(
        got[acks[0]],
        Action::Ack {
            client_id: c,
            server_id: Some("m-1".into())
        }
    );
    let first_text = got
        .iter()
        .position(|a| matches!(a, Action::Emit(d) if matches!(d.event, Event::TextDelta { .. })));
    assert!(acks[0] < first_text.unwrap(), "acked at the server's ack");
}

/// Issue 8, finding 4: after a mid-turn drop an acked message is never sent again; its reply is
/// recovered from the session history, and a late copy on the new socket is shown once.
#[test]
fn an_acked_turn_cut_by_a_drop_is_recovered_from_the_history_not_resent() {
    let mut d = ChatV2::new("http://127.0.0.1:7");
    let (conn, mut out) = ready(&mut d);
    let c = client(2);
    let msg = Outbound::Message {
        client_id: c,
        text: "hello",
        resend: false,
    };
    d.encode(msg, &mut out).unwrap();
    out.take();
    let frames = [ack(c, "m-1", false), token("You ", 0), token("said: ", 1)];
    feed(&mut d, conn, &frames, &mut out);
    let first = out.take();
    assert!(first.contains(&Action::Ack {
        client_id: c,
        server_id: Some("m-1".into())
    }));
    let closed = CloseReason::closed(Some(1006), "abnormal");
    d.on_transport(
        TransportEvent::SocketClosed {
            conn,
            reason: &closed,
        },
        &mut out,
    );
    d.disconnect(Disconnect::Reconnecting, &mut out);
    let dropped = out.take();
    assert!(matches!(&dropped[..], [Action::Fail(f)] if f.kind == FailureKind::Network));

    let mut out = actions(50);
    d.connect(&ConnectContext::new(1, None), &mut out);
    let (conn, _, _) = opened(&out.take()).unwrap();
    d.on_transport(TransportEvent::SocketOpened { conn }, &mut out);
    let got = out.take();
    assert_eq!(got[0], Action::Ready);
    assert!(sent_json(&got).is_empty(), "nothing re-sent");
    let (history, spec) = one_request(&got);
    assert_eq!(spec.url, "http://127.0.0.1:7/v2/chat/demo-session/history");
    let listing = json!({"session_id":"demo-session","messages":[
        {"id":"m-1","role":"user","content":"hello","timestamp":1},
        {"id":"r1","role":"assistant","content":"You said: hello","timestamp":2,"reply_to":"m-1"}]});
    let body = listing.to_string();
    d.on_transport(
        TransportEvent::HttpResponse {
            id: history,
            status: 200,
            headers: &[],
            body: body.as_bytes(),
        },
        &mut out,
    );
    let recovered = out.take();
    assert_eq!(
        names(&recovered),
        ["textDelta", "messageCompleted", "turnCompleted"]
    );
    assert!(
        emitted(&recovered)
            .iter()
            .all(|e| e.turn_id == Some(c.to_string()))
    );
    // the same reply completing on the new socket too (it raced the history): dropped
    feed(
        &mut d,
        conn,
        &[token("hello", 2), fin("You said: hello")],
        &mut out,
    );
    assert!(emitted(&out.take()).is_empty());
    let mut all = emitted(&first);
    all.extend(emitted(&recovered));
    assert_eq!(assembled(&all), "You said: hello");
}

/// A message whose ack the drop lost is re-sent by the engine under the same id; the cut
/// attempt's turn ends at the drop, the re-sent one replaces its partial text.
#[test]
fn dropped_turn_is_resent_and_its_text_replaced() {
    let mut d = ChatV2::new("http://127.0.0.1:7");
    let (conn, mut out) = ready(&mut d);
    let c = client(2);
    d.encode(
        Outbound::Message {
            client_id: c,
            text: "hello",
            resend: false,
        },
        &mut out,
    )
    .unwrap();
    // the turn's frames overtook its ack, and the drop lost the ack
    feed(
        &mut d,
        conn,
        &[token("You ", 0), token("said: ", 1)],
        &mut out,
    );
    let first = out.take();
    let closed = CloseReason::closed(Some(1006), "abnormal");
    d.on_transport(
        TransportEvent::SocketClosed {
            conn,
            reason: &closed,
        },
        &mut out,
    );
    let got = out.take();
    assert!(matches!(&got[..], [Action::Fail(f)] if f.kind == FailureKind::Network));
    assert!(
        !first.iter().any(|a| matches!(a, Action::Ack { .. })),
        "unacked: the engine re-sends it"
    );

    d.disconnect(Disconnect::Reconnecting, &mut out);
    let ended = out.take();
    assert_eq!(names(&ended), ["turnFailed"], "the cut attempt ends");
    let (conn, mut out) = ready(&mut d);
    d.encode(
        Outbound::Message {
            client_id: c,
            text: "hello",
            resend: true,
        },
        &mut out,
    )
    .unwrap();
    assert_eq!(
        sent_json(&out.take())[0]["id"],
        c.to_string(),
        "same id: the server dedups it"
    );
    let replay = [
        ack(c, "m-1", true),
        token("You ", 0),
        token("said: ", 1),
        token("hello", 2),
        fin("You said: hello"),
    ];
    feed(&mut d, conn, &replay, &mut out);
    let second = out.take();
    let ev = emitted(&second);
    assert!(
        ev.iter().all(|e| e.turn_id == Some(format!("{c}#2"))),
        "a new turn id for the re-sent turn"
    );
    let deltas: Vec<_> = ev
        .iter()
        .filter(|e| matches!(e.event, Event::TextDelta { .. }))
        .collect();
    assert!(
        matches!(&deltas[0].event, Event::TextDelta { update: TextUpdate::Replace { text }, .. } if text == "You ")
    );
    let mut all = emitted(&first);
    all.extend(ev.iter().copied());
    assert_eq!(assembled(&all), "You said: hello");
    assert!(second.contains(&Action::Ack {
        client_id: c,
        server_id: Some("m-1".into())
    }));
}

#[test]
fn tools_audio_and_transcripts() {
    let mut d = ChatV2::new("http://127.0.0.1:7");
    let (conn, mut out) = ready(&mut d);
    let c = client(3);
    d.encode(
        Outbound::Audio {
            client_id: c,
            format: "pcm16",
            data: "AAAA",
            resend: false,
        },
        &mut out,
    )
    .unwrap();
    let sent = sent_json(&out.take());
    assert_eq!(
        sent[0],
        json!({"type":"audio","data":"AAAA","format":"pcm16","sample_rate":16000,
        "id": c.to_string(),"client_id": c.to_string()})
    );
    let frames = [
        ack(c, "m-1", false),
        f(
            json!({"type":"transcript","text":"audio message of 10 ms","is_final":true,"message_id":"m-1"}),
        ),
        f(
            json!({"type":"tool","status":"start","tool_call_id":"tool-1","name":"lookup","args":{"query":"weather"}}),
        ),
        f(
            json!({"type":"tool","status":"progress","tool_call_id":"tool-1","name":"lookup","message":"looking up"}),
        ),
        f(
            json!({"type":"tool","status":"end","tool_call_id":"tool-1","name":"lookup","error":"timeout"}),
        ),
        fin("ok"),
        f(
            json!({"type":"audio","format":"pcm16","sample_rate":16000,"data":"AAAA","is_final":true,"message_id":"r1"}),
        ),
    ];
    feed(&mut d, conn, &frames, &mut out);
    let got = out.take();
    assert_eq!(
        names(&got),
        [
            "turnStarted",
            "status",
            "transcript",
            "toolStarted",
            "toolProgress",
            "toolFailed",
            "messageStarted",
            "textDelta",
            "messageCompleted",
            "turnCompleted",
            "audioChunk"
        ]
    );
    let ev = emitted(&got);
    assert_eq!(
        ev[2].event,
        Event::Transcript {
            text: "audio message of 10 ms".into(),
            is_final: true
        }
    );
    assert_eq!(
        ev[5].event,
        Event::ToolFailed {
            tool_id: "tool-1".into(),
            error: "timeout".into()
        }
    );
    assert_eq!(
        ev[10].event,
        Event::AudioChunk {
            format: "pcm16".into(),
            data: "AAAA".into()
        }
    );
    assert_eq!(ev[10].turn_id, None, "audio may follow the turn's end");
    let err = d.encode(
        Outbound::Audio {
            client_id: c,
            format: "opus",
            data: "x",
            resend: false,
        },
        &mut out,
    );
    assert!(matches!(err, Err(DialectError::Invalid(_))));
}

#[test]
fn queued_turns_errors_and_cancel() {
    let mut d = ChatV2::new("http://127.0.0.1:7");
    let (conn, mut out) = ready(&mut d);
    let (a, b) = (client(4), client(5));
    d.encode(
        Outbound::Message {
            client_id: a,
            text: "/error",
            resend: false,
        },
        &mut out,
    )
    .unwrap();
    d.encode(
        Outbound::Message {
            client_id: b,
            text: "/slow",
            resend: false,
        },
        &mut out,
    )
    .unwrap();
    d.encode(Outbound::CancelTurn, &mut out).unwrap();
    assert_eq!(sent_json(&out.take())[2], json!({"type":"cancel"}));
    let frames = [
        ack(a, "m-1", false),
        ack(b, "m-2", false),
        f(json!({"type":"status","status":"processing"})),
        f(
            json!({"type":"error","code":"agent_error","message":"scripted failure","message_id":"m-1"}),
        ),
        f(json!({"type":"status","status":"processing"})),
        f(json!({"type":"cancelled","message_id":"m-2"})),
        f(json!({"type":"error","code":"invalid_json","message":"bad frame"})),
    ];
    feed(&mut d, conn, &frames, &mut out);
    let got = out.take();
    let turns: Vec<_> = emitted(&got)
        .iter()
        .map(|e| (e.event.type_name(), e.turn_id.clone()))
        .collect();
    let (ta, tb) = (Some(a.to_string()), Some(b.to_string()));
    assert_eq!(
        turns,
        [
            ("turnStarted", ta.clone()),
            ("status", ta.clone()),
            ("turnStarted", tb.clone()),
            ("status", tb.clone()),
            ("status", ta.clone()),
            ("error", ta.clone()),
            ("turnFailed", ta.clone()),
            ("status", tb.clone()),
            ("turnCancelled", tb.clone()),
            ("error", None)
        ]
    );
    assert!(got.contains(&Action::Ack {
        client_id: a,
        server_id: Some("m-1".into())
    }));
    assert!(got.contains(&Action::Ack {
        client_id: b,
        server_id: Some("m-2".into())
    }));
    assert!(!got.iter().any(|a| matches!(a, Action::Fail(_))));
    feed(
        &mut d,
        conn,
        &[f(
            json!({"type":"error","code":"unauthorized","message":"Not authenticated"}),
        )],
        &mut out,
    );
    assert!(matches!(out.take().last(), Some(Action::Fail(f)) if f.kind == FailureKind::Auth));
}

#[test]
fn bad_input_pings_and_params() {
    let mut p = Params::new();
    p.insert("session_id".into(), "s 1".into());
    p.insert("token".into(), "tok/1".into());
    let mut d = ChatV2::from_params("https://chat.example.com/", &p);
    let debug = format!("{d:?}");
    assert!(
        !debug.contains("tok/1") && !debug.contains("tok%2F1"),
        "no credential in Debug output: {debug}"
    );
    let mut out = actions(1);
    assert!(matches!(
        d.encode(Outbound::Ping { nonce: 1 }, &mut out),
        Err(DialectError::NotConnected)
    ));
    d.connect(&ConnectContext::new(1, None), &mut out);
    let got = out.take();
    let (conn, url, headers) = opened(&got).unwrap();
    assert_eq!(url, "wss://chat.example.com/v2/chat/s%201?token=tok%2F1");
    assert_eq!(header(headers, "Authorization"), Some("Bearer tok/1"));
    d.on_transport(TransportEvent::SocketOpened { conn }, &mut out);
    out.take();
    for text in [
        "{oops",
        "[1]",
        r#"{"content":"no type"}"#,
        r#"{"type":"emotion","value":"happy"}"#,
        r#"{"type":"ping"}"#,
    ] {
        d.on_transport(TransportEvent::SocketText { conn, text }, &mut out);
    }
    d.on_transport(
        TransportEvent::SocketBinary {
            conn,
            bytes: &[0, 159, 146, 150],
        },
        &mut out,
    );
    let got = out.take();
    assert_eq!(
        names(&got),
        ["error", "error", "error", "unknown", "heartbeat", "error"]
    );
    assert!(
        emitted(&got)
            .iter()
            .filter(|e| e.event.type_name() == "error")
            .all(|e| matches!(
                e.event,
                Event::Error {
                    kind: ErrorKind::Protocol,
                    ..
                }
            ))
    );
    assert_eq!(sent_json(&got), vec![json!({"type":"pong"})]);
    d.encode(Outbound::Ping { nonce: 2 }, &mut out).unwrap();
    assert_eq!(sent_json(&out.take()), vec![json!({"type":"ping"})]);
    assert!(matches!(
        d.encode(Outbound::Typing { active: true }, &mut out),
        Err(DialectError::Unsupported(_))
    ));
    let refused = CloseReason::refused(Some(401), "Not authenticated");
    d.on_transport(
        TransportEvent::SocketClosed {
            conn,
            reason: &refused,
        },
        &mut out,
    );
    assert!(matches!(&out.take()[..], [Action::Fail(f)] if f.kind == FailureKind::Auth));
}

#[test]
fn turn_frames_that_overtake_their_ack_belong_to_the_sent_message() {
    let mut d = ChatV2::new("http://127.0.0.1:7");
    let (conn, mut out) = ready(&mut d);
    let c = client(6);
    d.encode(
        Outbound::Message {
            client_id: c,
            text: "hello",
            resend: false,
        },
        &mut out,
    )
    .unwrap();
    out.take();
    let frames = [
        f(json!({"type":"status","status":"processing"})),
        ack(c, "m-1", false),
        token("ok", 0),
        fin("ok"),
    ];
    feed(&mut d, conn, &frames, &mut out);
    let got = out.take();
    let ev = emitted(&got);
    assert!(
        ev.iter().all(|e| e.turn_id == Some(c.to_string())),
        "{ev:#?}"
    );
    assert_eq!(
        ev[0].event,
        Event::TurnStarted {
            reply_to: Some(c.to_string())
        }
    );
    assert_eq!(
        names(&got).iter().filter(|n| **n == "turnStarted").count(),
        1
    );
    assert!(
        got.contains(&Action::Ack {
            client_id: c,
            server_id: Some("m-1".into())
        }),
        "acked at the turn's end"
    );
}

#[test]
fn repeats_after_a_turn_ended_never_start_or_ack_the_next_turn() {
    let mut d = ChatV2::new("http://127.0.0.1:7");
    let (conn, mut out) = ready(&mut d);
    let (c1, c2) = (client(7), client(8));
    for c in [c1, c2] {
        let message = Outbound::Message {
            client_id: c,
            text: "hi",
            resend: false,
        };
        d.encode(message, &mut out).unwrap();
    }
    out.take();
    // the turn of c1, then a repeated ack, final message and token of it (c2 still waiting)
    let frames = [
        ack(c1, "m-1", false),
        token("ok", 0),
        fin("ok"),
        ack(c1, "m-1", false),
        fin("ok"),
        token("ok", 0),
    ];
    feed(&mut d, conn, &frames, &mut out);
    let got = out.take();
    let ev = emitted(&got);
    assert!(
        ev.iter().all(|e| e.turn_id == Some(c1.to_string())),
        "{ev:#?}"
    );
    assert_eq!(
        names(&got)
            .iter()
            .filter(|n| **n == "turnCompleted")
            .count(),
        1
    );
    assert!(
        !got.iter()
            .any(|a| matches!(a, Action::Ack { client_id, .. } if *client_id == c2)),
        "c2 is not answered by c1's repeats"
    );
    // c2's turn fails; a repeat of that error must not end anything else
    let error = f(json!({"type":"error","code":"agent_error","message":"boom","message_id":"m-2"}));
    feed(
        &mut d,
        conn,
        &[ack(c2, "m-2", false), error.clone(), error],
        &mut out,
    );
    let got = out.take();
    assert_eq!(
        names(&got).iter().filter(|n| **n == "turnFailed").count(),
        1
    );
    assert_eq!(names(&got).iter().filter(|n| **n == "error").count(), 1);
}

/// Two acked turns cut by a drop: the history lists only the second reply. Turns run in order,
/// so the first ended on the server without a reply (an error while disconnected): it fails
/// instead of waiting at the head of the queue and swallowing the next turn's frames.
#[test]
fn a_cut_turn_the_history_skipped_ends_when_a_later_one_is_listed() {
    let mut d = ChatV2::new("http://127.0.0.1:7");
    let (conn, mut out) = ready(&mut d);
    let (a, b) = (client(4), client(5));
    for c in [a, b] {
        let msg = Outbound::Message {
            client_id: c,
            text: "x",
            resend: false,
        };
        d.encode(msg, &mut out).unwrap();
    }
    feed(
        &mut d,
        conn,
        &[ack(a, "m-1", false), ack(b, "m-2", false)],
        &mut out,
    );
    out.take();
    let closed = CloseReason::closed(Some(1006), "abnormal");
    let closed = TransportEvent::SocketClosed {
        conn,
        reason: &closed,
    };
    d.on_transport(closed, &mut out);
    d.disconnect(Disconnect::Reconnecting, &mut out);
    out.take();
    d.connect(&ConnectContext::new(1, None), &mut out);
    let (conn, _, _) = opened(&out.take()).unwrap();
    d.on_transport(TransportEvent::SocketOpened { conn }, &mut out);
    let got = out.take();
    let (history, _) = one_request(&got);
    let listing = json!({"messages":[
        {"id":"m-1","role":"user","content":"x"},
        {"id":"m-2","role":"user","content":"x"},
        {"id":"r2","role":"assistant","content":"You said: x","reply_to":"m-2"}]});
    let body = listing.to_string();
    d.on_transport(
        TransportEvent::HttpResponse {
            id: history,
            status: 200,
            headers: &[],
            body: body.as_bytes(),
        },
        &mut out,
    );
    let got = out.take();
    let ends: Vec<(String, &'static str)> = emitted(&got)
        .iter()
        .filter(|e| e.event.is_turn_terminal())
        .map(|e| (e.turn_id.clone().unwrap_or_default(), e.event.type_name()))
        .collect();
    assert_eq!(
        ends,
        [
            (a.to_string(), "turnFailed"),
            (b.to_string(), "turnCompleted")
        ]
    );
    assert!(d.turns.is_empty());
}

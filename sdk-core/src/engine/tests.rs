//! Engine tests against the native dialect with a hand-scripted server.

use super::*;
use crate::OverflowPolicy;
use crate::dialect::native::{NativeConfig, NativeDialect};
use crate::event::{DeliveryStatus, Envelope, Event, FailReason, TurnErrorCode};
use crate::ids::ConnId;
use crate::io::{CloseReason, Frame};
use serde_json::{Value, json};
use std::time::Duration;

pub(super) struct H {
    pub(super) engine: Engine,
    pub(super) now: Instant,
    pub(super) conn: Option<ConnId>,
    pub(super) opened: usize,
    pub(super) sent: Vec<Value>,
    pub(super) events: Vec<Envelope>,
    pub(super) closed: Vec<ConnId>,
}

impl H {
    pub(super) fn new() -> H {
        H::with(Config::default())
    }

    pub(super) fn with(config: Config) -> H {
        let dialect = NativeDialect::new(NativeConfig::new("http://test", "c"));
        H {
            engine: Engine::new(config, Box::new(dialect)).unwrap(),
            now: Instant::ZERO,
            conn: None,
            opened: 0,
            sent: Vec::new(),
            events: Vec::new(),
            closed: Vec::new(),
        }
    }

    pub(super) fn drain(&mut self) {
        while let Some(o) = self.engine.poll_output() {
            match o {
                Output::OpenSocket { conn, .. } => {
                    self.conn = Some(conn);
                    self.opened += 1;
                }
                Output::SendText { text, .. } => {
                    self.sent.push(serde_json::from_str(&text).unwrap())
                }
                Output::CloseSocket { conn } => self.closed.push(conn),
                Output::Event(e) => {
                    if let Event::StateChanged { from, to } = &e.event {
                        assert!(from.can_transition_to(*to), "{from:?} -> {to:?}");
                    }
                    self.events.push(e)
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    pub(super) fn at(&mut self, ms: u64) {
        self.now = Instant::from_millis(ms);
        self.engine.handle(self.now, Input::Timeout).unwrap();
        self.drain();
    }

    pub(super) fn input(&mut self, input: Input) {
        self.engine.handle(self.now, input).unwrap();
        self.drain();
    }

    pub(super) fn server(&mut self, frame: Value) {
        let conn = self.conn.unwrap();
        self.input(Input::SocketFrame {
            conn,
            frame: Frame::Text(frame.to_string()),
        });
    }

    pub(super) fn open_and_welcome(&mut self, last_seq: u64) {
        let conn = self.conn.unwrap();
        self.input(Input::SocketOpened { conn });
        self.server(
            json!({"type":"welcome","conversation_id":"c","last_seq":last_seq,"resumed":true}),
        );
        assert_eq!(self.engine.state(), ConnectionState::Ready);
    }

    pub(super) fn send(&mut self, text: &str) -> ClientId {
        let id = self.engine.send(self.now, text).unwrap();
        self.drain();
        id
    }

    pub(super) fn drop_socket(&mut self) {
        let conn = self.conn.unwrap();
        self.input(Input::SocketClosed {
            conn,
            reason: CloseReason::error("reset"),
        });
    }

    pub(super) fn sent_of(&self, ty: &str) -> Vec<&Value> {
        self.sent.iter().filter(|v| v["type"] == ty).collect()
    }

    pub(super) fn statuses(&self, id: ClientId) -> Vec<DeliveryStatus> {
        self.events
            .iter()
            .filter_map(|e| match &e.event {
                Event::MessageStatus {
                    client_id, status, ..
                } if *client_id == id => Some(status.clone()),
                _ => None,
            })
            .collect()
    }

    pub(super) fn types(&self) -> Vec<&'static str> {
        self.events.iter().map(|e| e.event.type_name()).collect()
    }

    pub(super) fn event(&mut self, seq: u64, kind: &str, extra: Value) {
        let mut v = json!({"type":"event","seq":seq,"ts":1,"kind":kind,"turn_id":"t1"});
        if let (Some(m), Value::Object(x)) = (v.as_object_mut(), extra) {
            m.extend(x);
        }
        self.server(v);
    }
}

#[test]
fn lazy_connect_waits_for_first_send() {
    let mut h = H::new();
    h.at(5_000);
    assert_eq!(h.opened, 0);
    assert_eq!(h.engine.poll_timeout(), None);
    let id = h.send("hi");
    assert_eq!(h.opened, 1);
    assert_eq!(h.engine.state(), ConnectionState::Connecting);
    assert_eq!(h.statuses(id), [DeliveryStatus::Queued]);
    h.open_and_welcome(0);
    assert_eq!(h.sent_of("hello")[0]["since_seq"], 0);
    assert_eq!(h.sent_of("send")[0]["client_id"], id.to_string());
    assert_eq!(
        h.statuses(id),
        [DeliveryStatus::Queued, DeliveryStatus::Sent]
    );
}

#[test]
fn connect_timeout_backs_off_with_network_floor_and_retries() {
    let mut h = H::new();
    h.engine.connect(h.now).unwrap();
    h.drain();
    h.at(10_000);
    let ConnectionState::Reconnecting { attempt, delay } = h.engine.state() else {
        panic!("{:?}", h.engine.state())
    };
    assert_eq!(attempt, 1);
    assert!(delay >= Duration::from_millis(2400) && delay <= Duration::from_millis(3600));
    let retry_at = h.engine.poll_timeout().unwrap();
    assert_eq!(retry_at, Instant::from_millis(10_000) + delay);
    h.at(retry_at.as_millis());
    assert_eq!(h.engine.state(), ConnectionState::Connecting);
    assert_eq!(h.opened, 2);
    assert_eq!(h.closed.len(), 1);
}

#[test]
fn ready_timeout_when_no_welcome() {
    let mut h = H::new();
    h.engine.connect(h.now).unwrap();
    h.drain();
    let conn = h.conn.unwrap();
    h.input(Input::SocketOpened { conn });
    assert_eq!(h.engine.state(), ConnectionState::Connected);
    h.at(9_999);
    assert_eq!(h.engine.state(), ConnectionState::Connected);
    h.at(10_000);
    assert!(matches!(
        h.engine.state(),
        ConnectionState::Reconnecting { .. }
    ));
}

#[test]
fn ping_after_idle_and_reconnect_on_missing_pong() {
    let mut h = H::new();
    h.engine.connect(h.now).unwrap();
    h.drain();
    h.open_and_welcome(0);
    h.at(30_000);
    let ping = h.sent_of("ping");
    assert_eq!(ping.len(), 1);
    let nonce = ping[0]["nonce"].clone();
    h.server(json!({"type":"pong","nonce":nonce}));
    h.at(45_000);
    assert_eq!(h.engine.state(), ConnectionState::Ready);
    h.at(60_000); // idle again: second ping
    assert_eq!(h.sent_of("ping").len(), 2);
    h.at(70_000); // no pong within 10 s
    assert!(matches!(
        h.engine.state(),
        ConnectionState::Reconnecting { .. }
    ));
    assert!(h.types().contains(&"error"));
}

#[test]
fn unacked_message_is_resent_with_same_id_and_acked_once() {
    let mut h = H::new();
    let id = h.send("hi");
    h.open_and_welcome(0);
    h.drop_socket();
    let ConnectionState::Reconnecting { .. } = h.engine.state() else {
        panic!()
    };
    let t = h.engine.poll_timeout().unwrap();
    h.at(t.as_millis());
    h.open_and_welcome(0);
    let sends = h.sent_of("send");
    assert_eq!(sends.len(), 2);
    assert_eq!(sends[0]["client_id"], sends[1]["client_id"]);
    let ack = json!({"type":"ack","client_id":id.to_string(),"message_id":"m1","duplicate":false});
    h.server(ack.clone());
    h.server(ack);
    assert_eq!(
        h.statuses(id),
        [
            DeliveryStatus::Queued,
            DeliveryStatus::Sent,
            DeliveryStatus::Acked
        ]
    );
    assert_eq!(h.engine.stats().queued, 0);
}

#[test]
fn gives_up_after_max_attempts_then_reconnect_now_starts_over() {
    let mut h = H::with(Config {
        max_attempts: 3,
        ..Config::default()
    });
    let id = h.send("hi");
    for _ in 0..4 {
        h.drop_socket();
        if let Some(t) = h.engine.poll_timeout() {
            h.at(t.as_millis());
        }
    }
    assert_eq!(h.engine.state(), ConnectionState::Failed);
    assert_eq!(
        h.statuses(id),
        [
            DeliveryStatus::Queued,
            DeliveryStatus::Failed {
                reason: FailReason::ConnectionFailed
            }
        ]
    );
    assert_eq!(h.engine.poll_timeout(), None);
    h.engine.reconnect_now(h.now).unwrap();
    h.drain();
    assert_eq!(h.engine.state(), ConnectionState::Connecting);
}

#[test]
fn unauthorized_is_not_retried() {
    let mut h = H::new();
    h.engine.connect(h.now).unwrap();
    h.drain();
    let conn = h.conn.unwrap();
    h.input(Input::SocketOpened { conn });
    h.server(json!({"type":"error","code":"unauthorized","message":"bad token","retryable":false}));
    assert_eq!(h.engine.state(), ConnectionState::Failed);
}

#[test]
fn reconnect_now_skips_the_backoff_wait() {
    let mut h = H::new();
    h.send("x");
    h.open_and_welcome(0);
    h.drop_socket();
    assert!(matches!(
        h.engine.state(),
        ConnectionState::Reconnecting { .. }
    ));
    h.engine.reconnect_now(h.now).unwrap();
    h.drain();
    assert_eq!(h.engine.state(), ConnectionState::Connecting);
    assert_eq!(h.opened, 2);
}

#[test]
fn goodbye_retry_after_is_a_floor() {
    let mut h = H::new();
    h.send("x");
    h.open_and_welcome(0);
    h.server(json!({"type":"goodbye","reason":"shutdown","retry_after_ms":7000}));
    let ConnectionState::Reconnecting { delay, .. } = h.engine.state() else {
        panic!()
    };
    assert!(delay >= Duration::from_secs(7) && delay <= Duration::from_millis(8400));
}

#[test]
fn close_is_final_and_settles_everything() {
    let mut h = H::new();
    let id = h.send("x");
    h.open_and_welcome(0);
    h.event(1, "turn_started", json!({"reply_to": id.to_string()}));
    h.engine.close(h.now).unwrap();
    h.drain();
    assert_eq!(h.engine.state(), ConnectionState::Closed);
    assert!(
        h.types()
            .ends_with(&["turnCancelled", "messageStatus", "stateChanged"])
    );
    assert_eq!(
        h.statuses(id).last(),
        Some(&DeliveryStatus::Failed {
            reason: FailReason::Closed
        })
    );
    assert_eq!(h.engine.send(h.now, "y"), Err(EngineError::Closed));
    assert_eq!(h.engine.close(h.now), Err(EngineError::Closed));
    let n = h.events.len();
    let conn = h.conn.unwrap();
    h.engine
        .handle(h.now, Input::SocketOpened { conn })
        .unwrap();
    h.drain();
    assert_eq!(h.events.len(), n);
    assert_eq!(h.engine.poll_timeout(), None);
}

#[test]
fn overflow_policies() {
    let mut h = H::with(Config {
        queue_capacity: 2,
        ..Config::default()
    });
    let a = h.send("a");
    h.send("b");
    h.send("c");
    assert_eq!(
        h.statuses(a).last(),
        Some(&DeliveryStatus::Failed {
            reason: FailReason::Overflow
        })
    );
    let mut r = H::with(Config {
        queue_capacity: 1,
        overflow: OverflowPolicy::RejectNew,
        ..Config::default()
    });
    r.send("a");
    assert_eq!(
        r.engine.send(r.now, "b"),
        Err(EngineError::QueueFull { capacity: 1 })
    );
    let big = "x".repeat(2 << 20);
    assert!(matches!(
        r.engine.send(r.now, big),
        Err(EngineError::TooLarge { .. })
    ));
}

#[test]
fn typing_is_coalesced_and_throttled() {
    let mut h = H::new();
    h.engine.typing(h.now, true).unwrap();
    h.engine.typing(h.now, false).unwrap();
    h.engine.typing(h.now, true).unwrap();
    h.drain();
    h.open_and_welcome(0); // only the latest state goes out
    assert_eq!(h.sent_of("typing").len(), 1);
    h.at(1_000);
    h.engine.typing(h.now, true).unwrap(); // repeat within the window: dropped
    h.engine.typing(h.now, false).unwrap(); // stop goes at once
    h.engine.typing(h.now, true).unwrap(); // restart within 3 s: deferred
    h.drain();
    let typing: Vec<_> = h
        .sent_of("typing")
        .iter()
        .map(|v| v["active"].clone())
        .collect();
    assert_eq!(typing, [json!(true), json!(false)]);
    h.at(3_000);
    assert_eq!(h.sent_of("typing").len(), 3);
}

#[test]
fn replays_are_dropped_and_gaps_trigger_resume() {
    let mut h = H::new();
    h.engine.connect(h.now).unwrap();
    h.drain();
    h.open_and_welcome(0);
    h.event(1, "turn_started", json!({}));
    h.event(
        2,
        "text_delta",
        json!({"message_id":"m","offset":0,"text":"hel"}),
    );
    h.event(
        2,
        "text_delta",
        json!({"message_id":"m","offset":0,"text":"hel"}),
    );
    h.event(
        4,
        "text_delta",
        json!({"message_id":"m","offset":5,"text":"!"}),
    );
    // held for seq 3 (frames may be reordered); when too many wait, 3 was lost: resume
    assert_eq!(h.engine.state(), ConnectionState::Ready);
    let held = crate::dialect::native::MAX_HELD as u64;
    for seq in 5..5 + held {
        h.event(seq, "turn_started", json!({}));
    }
    assert!(matches!(
        h.engine.state(),
        ConnectionState::Reconnecting { .. }
    ));
    let t = h.engine.poll_timeout().unwrap();
    h.at(t.as_millis());
    h.open_and_welcome(4);
    assert_eq!(h.sent_of("hello")[1]["since_seq"], 2);
    h.event(
        3,
        "text_delta",
        json!({"message_id":"m","offset":3,"text":"lo"}),
    );
    h.event(
        4,
        "text_delta",
        json!({"message_id":"m","offset":5,"text":"!"}),
    );
    let text: String = h
        .events
        .iter()
        .filter_map(|e| match &e.event {
            Event::TextDelta {
                update: crate::event::TextUpdate::Append { text, .. },
                ..
            } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, "hello!");
    assert_eq!(h.engine.cursor().map(|c| c.as_str()), Some("4"));
    // envelope seq is gapless
    for (i, e) in h.events.iter().enumerate() {
        assert_eq!(e.seq, i as u64 + 1);
    }
}

#[test]
fn oversized_frames_are_refused_with_a_protocol_error() {
    let mut h = H::with(Config {
        max_frame_bytes: 128,
        ..Config::default()
    });
    h.engine.connect(h.now).unwrap();
    h.drain();
    h.open_and_welcome(0);
    h.server(json!({"type":"event","seq":1,"kind":"typing","participant":"agent","active":true,"pad":"x".repeat(200)}));
    let last = h.events.last().unwrap();
    assert!(matches!(
        &last.event,
        Event::Error {
            kind: crate::event::ErrorKind::Protocol,
            ..
        }
    ));
}

#[test]
fn cancel_turn_goes_to_the_server_and_turn_timeout_synthesizes_failure() {
    let mut h = H::new();
    h.engine.connect(h.now).unwrap();
    h.drain();
    h.open_and_welcome(0);
    h.engine.cancel_turn(h.now).unwrap(); // no open turn: nothing
    h.drain();
    assert!(h.sent_of("cancel").is_empty());
    h.event(
        1,
        "tool_started",
        json!({"tool_id":"x","name":"search","args":{}}),
    );
    h.engine.cancel_turn(h.now).unwrap();
    h.drain();
    assert_eq!(h.sent_of("cancel").len(), 1);
    h.server(json!({"type":"pong"})); // keep the connection alive, not the turn
    h.at(29_000);
    h.server(json!({"type":"ping","nonce":1}));
    h.at(30_000);
    let tail: Vec<_> = h.types().into_iter().rev().take(2).collect();
    assert_eq!(tail, ["turnFailed", "toolFailed"]);
    match &h.events.last().unwrap().event {
        Event::TurnFailed { error } => assert_eq!(error.code, TurnErrorCode::Timeout),
        e => panic!("{e:?}"),
    }
}

#[test]
fn same_seed_same_outputs_and_time_must_not_go_backwards() {
    let run = |seed| {
        let mut h = H::with(Config {
            seed,
            ..Config::default()
        });
        let id = h.send("x");
        h.drop_socket();
        (id, h.engine.state())
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1).0, run(2).0);
    let mut h = H::new();
    h.at(10);
    assert!(matches!(
        h.engine.handle(Instant::from_millis(5), Input::Timeout),
        Err(EngineError::TimeWentBackwards { .. })
    ));
}

#[test]
fn stale_reports_are_ignored() {
    let mut h = H::new();
    h.send("x");
    let old = h.conn.unwrap();
    h.drop_socket();
    let t = h.engine.poll_timeout().unwrap();
    h.at(t.as_millis());
    let n = h.events.len();
    h.input(Input::SocketFrame {
        conn: old,
        frame: Frame::Text("{}".into()),
    });
    h.input(Input::SocketClosed {
        conn: old,
        reason: CloseReason::error("late"),
    });
    assert_eq!(h.events.len(), n);
    assert_eq!(h.engine.state(), ConnectionState::Connecting);
}

#[test]
fn coalesced_text_is_flushed_before_later_engine_events() {
    let mut h = H::with(Config {
        delta_coalesce: Duration::from_millis(30),
        ..Config::default()
    });
    h.engine.connect(h.now).unwrap();
    h.drain();
    h.open_and_welcome(0);
    h.event(
        1,
        "text_delta",
        json!({"message_id":"m","offset":0,"text":"a"}),
    );
    h.event(
        2,
        "text_delta",
        json!({"message_id":"m","offset":1,"text":"b"}),
    );
    assert!(!h.types().contains(&"textDelta"));
    h.drop_socket(); // error + state change must come after the held text
    let types = h.types();
    let text = types.iter().position(|t| *t == "textDelta").unwrap();
    let state = types.iter().rposition(|t| *t == "stateChanged").unwrap();
    assert!(text < state, "{types:?}");
    assert_eq!(types.iter().filter(|t| **t == "textDelta").count(), 1);
}

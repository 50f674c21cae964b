//! Engine tests of `Config::keep_raw`: off by default, known events carry no wire event while
//! unknown ones always do (their wire form is all an app has of them); on, every event does.

use super::tests::H;
use super::*;
use crate::event::Event;
use serde_json::json;

/// A connected harness with `config`, after a turn start and an unknown event kind.
fn after_events(config: Config) -> H {
    let mut h = H::with(config);
    h.engine.connect(h.now).unwrap();
    h.drain();
    h.open_and_welcome(0);
    h.event(1, "turn_started", json!({}));
    h.server(json!({"type":"future_event","x":1}));
    h
}

fn raw_of(h: &H, pick: impl Fn(&Event) -> bool) -> Option<serde_json::Value> {
    let envelope = h.events.iter().find(|e| pick(&e.event)).unwrap();
    envelope.raw.clone()
}

#[test]
fn by_default_only_unknown_events_keep_the_wire_event() {
    assert!(!Config::default().keep_raw);
    let h = after_events(Config::default());
    assert_eq!(raw_of(&h, |e| matches!(e, Event::TurnStarted { .. })), None);
    let unknown = raw_of(&h, |e| matches!(e, Event::Unknown { .. })).unwrap();
    assert_eq!(unknown["type"], "future_event");
    assert_eq!(unknown["x"], 1);
}

#[test]
fn keep_raw_keeps_every_wire_event() {
    let config = Config {
        keep_raw: true,
        ..Config::default()
    };
    let h = after_events(config);
    let started = raw_of(&h, |e| matches!(e, Event::TurnStarted { .. })).unwrap();
    assert_eq!(started["kind"], "turn_started");
    assert_eq!(started["seq"], 1);
    assert!(raw_of(&h, |e| matches!(e, Event::Unknown { .. })).is_some());
}

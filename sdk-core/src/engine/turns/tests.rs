//! Turn tracker and text assembly tests.

use super::*;

fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn item(turn: &str, event: Event) -> Item {
    let mut i = Item::new(event);
    i.turn_id = Some(turn.into());
    i
}

fn delta(turn: &str, msg: &str, text: &str) -> Item {
    let mut i = item(
        turn,
        Event::TextDelta {
            channel: TextChannel::Text,
            update: TextUpdate::Append {
                text: text.into(),
                offset: 0,
            },
        },
    );
    i.message_id = Some(msg.into());
    i
}

fn names(items: &[Item]) -> Vec<&'static str> {
    items.iter().map(|i| i.event.type_name()).collect()
}

fn appended(items: &[Item]) -> Vec<(String, u64)> {
    items
        .iter()
        .filter_map(|i| match &i.event {
            Event::TextDelta {
                update: TextUpdate::Append { text, offset },
                ..
            } => Some((text.clone(), *offset)),
            _ => None,
        })
        .collect()
}

#[test]
fn missing_start_is_synthesized_and_late_events_dropped() {
    let mut turns = Turns::new(Duration::from_secs(30), Duration::ZERO);
    let mut out = Vec::new();
    turns.process(t(0), delta("t1", "m1", "hi"), Some(0), &mut out);
    turns.process(
        t(1),
        item(
            "t1",
            Event::TurnCompleted {
                finish_reason: None,
                usage: None,
            },
        ),
        None,
        &mut out,
    );
    turns.process(t(2), delta("t1", "m1", "late"), Some(2), &mut out);
    turns.process(t(3), item("t1", Event::TurnCancelled), None, &mut out);
    assert_eq!(names(&out), ["turnStarted", "textDelta", "turnCompleted"]);
    assert_eq!(turns.open_turns(), 0);
}

#[test]
fn replayed_and_overlapping_deltas_never_double_text() {
    let mut turns = Turns::new(Duration::from_secs(30), Duration::ZERO);
    let mut out = Vec::new();
    turns.process(
        t(0),
        item("t", Event::TurnStarted { reply_to: None }),
        None,
        &mut out,
    );
    turns.process(t(0), delta("t", "m", "héllo "), Some(0), &mut out);
    turns.process(t(0), delta("t", "m", "héllo "), Some(0), &mut out); // replay
    turns.process(t(0), delta("t", "m", "lo wor"), Some(3), &mut out); // overlap
    turns.process(t(0), delta("t", "m", "ld"), None, &mut out); // no offset: at end
    assert_eq!(
        appended(&out),
        [
            ("héllo ".to_string(), 0),
            ("wor".to_string(), 6),
            ("ld".to_string(), 9)
        ]
    );
}

#[test]
fn a_gap_keeps_app_offsets_contiguous() {
    let mut turns = Turns::new(Duration::from_secs(30), Duration::ZERO);
    let mut out = Vec::new();
    turns.process(t(0), delta("t", "m", "ab"), Some(0), &mut out);
    turns.process(t(0), delta("t", "m", "ef"), Some(4), &mut out); // "cd" was lost
    turns.process(t(0), delta("t", "m", "efg"), Some(4), &mut out); // overlap in wire space
    turns.process(t(0), delta("t", "m", "ab"), Some(0), &mut out); // replay
    assert_eq!(
        appended(&out),
        [
            ("ab".to_string(), 0),
            ("ef".to_string(), 2),
            ("g".to_string(), 4)
        ]
    );
}

#[test]
fn replace_sets_the_length_for_later_appends() {
    let mut turns = Turns::new(Duration::from_secs(30), Duration::ZERO);
    let mut out = Vec::new();
    let mut snap = delta("t", "m", "");
    snap.event = Event::TextDelta {
        channel: TextChannel::Text,
        update: TextUpdate::Replace {
            text: "abcd".into(),
        },
    };
    turns.process(t(0), snap, None, &mut out);
    turns.process(t(0), delta("t", "m", "cdef"), Some(2), &mut out);
    assert_eq!(appended(&out), [("ef".to_string(), 4)]);
}

#[test]
fn timeout_fails_turn_and_open_tools_once() {
    let mut turns = Turns::new(Duration::from_secs(30), Duration::ZERO);
    let mut out = Vec::new();
    turns.process(
        t(0),
        item(
            "t",
            Event::ToolStarted {
                tool_id: "x".into(),
                name: "search".into(),
                args: None,
            },
        ),
        None,
        &mut out,
    );
    assert_eq!(turns.next_deadline(), Some(t(30_000)));
    turns.on_time(t(29_999), &mut out);
    assert_eq!(out.len(), 2);
    turns.on_time(t(30_000), &mut out);
    assert_eq!(
        names(&out),
        ["turnStarted", "toolStarted", "toolFailed", "turnFailed"]
    );
    match &out[3].event {
        Event::TurnFailed { error } => assert_eq!(error.code, TurnErrorCode::Timeout),
        other => panic!("{other:?}"),
    }
    turns.on_time(t(90_000), &mut out);
    assert_eq!(out.len(), 4);
    assert_eq!(turns.next_deadline(), None);
}

#[test]
fn tool_terminals_are_exactly_once() {
    let mut turns = Turns::new(Duration::from_secs(30), Duration::ZERO);
    let mut out = Vec::new();
    let started = || {
        item(
            "t",
            Event::ToolStarted {
                tool_id: "x".into(),
                name: "n".into(),
                args: None,
            },
        )
    };
    let done = || {
        item(
            "t",
            Event::ToolCompleted {
                tool_id: "x".into(),
                output: serde_json::Value::Null,
            },
        )
    };
    turns.process(t(0), started(), None, &mut out);
    turns.process(t(0), started(), None, &mut out);
    turns.process(t(0), done(), None, &mut out);
    turns.process(t(0), done(), None, &mut out);
    turns.fail_all(TurnErrorCode::Disconnected, "gone", &mut out);
    assert_eq!(
        names(&out),
        ["turnStarted", "toolStarted", "toolCompleted", "turnFailed"]
    );
}

#[test]
fn coalescing_merges_appends_and_keeps_order() {
    let mut turns = Turns::new(Duration::from_secs(30), Duration::from_millis(30));
    let mut out = Vec::new();
    turns.process(t(0), delta("t", "m", "a"), Some(0), &mut out);
    turns.process(t(5), delta("t", "m", "b"), Some(1), &mut out);
    assert_eq!(names(&out), ["turnStarted"]);
    assert_eq!(turns.next_deadline(), Some(t(30)));
    turns.process(t(10), delta("t", "m2", "c"), Some(0), &mut out); // other part: flush
    assert_eq!(appended(&out), [("ab".to_string(), 0)]);
    turns.on_time(t(40), &mut out);
    assert_eq!(
        appended(&out),
        [("ab".to_string(), 0), ("c".to_string(), 0)]
    );
    turns.cancel_all(&mut out);
    assert_eq!(names(&out).last(), Some(&"turnCancelled"));
}

#[test]
fn bounded_memory_over_many_turns() {
    let mut turns = Turns::new(Duration::from_secs(30), Duration::ZERO);
    let mut out = Vec::new();
    for i in 0..5_000 {
        let id = format!("t{i}");
        turns.process(t(i), delta(&id, &format!("m{i}"), "x"), Some(0), &mut out);
        turns.process(t(i), item(&id, Event::TurnCancelled), None, &mut out);
        out.clear();
    }
    assert_eq!(turns.open_turns(), 0);
    assert!(turns.closed.len() <= CLOSED_TURNS);
    assert!(turns.tracked_parts() <= PARTS);
}

#[test]
fn a_tool_seen_without_its_start_still_gets_a_terminal() {
    let mut turns = Turns::new(Duration::from_secs(30), Duration::ZERO);
    let mut out = Vec::new();
    let progress = item(
        "t",
        Event::ToolProgress {
            tool_id: "x".into(),
            message: "50%".into(),
        },
    );
    turns.process(t(0), progress, None, &mut out);
    turns.process(t(1), item("t", Event::TurnCancelled), None, &mut out);
    assert_eq!(
        names(&out),
        ["turnStarted", "toolProgress", "toolFailed", "turnCancelled"]
    );
}

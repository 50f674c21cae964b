//! The checks every suite makes on both sides of the wire: the assistant text as a UI would
//! assemble it, one start and one end per turn and per tool call, no event or answer twice,
//! gap-free `seq`, one `Discontinuity` per lost connection for dialects that cannot resume, and
//! each client message recorded once by the server.

use crate::{Session, resumes};
use chatwire::DialectKind;
use chatwire::event::{Envelope, Event, Role, TextChannel, TextUpdate, TurnErrorCode};
use chatwire_mock::{MockServer, Received};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One compact line per event: seq, turn, message, event JSON (without `raw`).
pub fn dump(log: &[Envelope]) -> String {
    let mut out = String::new();
    for e in log {
        let event = serde_json::to_string(&e.event).unwrap_or_default();
        let _ = writeln!(
            out,
            "  #{} turn={} msg={} {event}",
            e.seq,
            e.turn_id.as_deref().unwrap_or("-"),
            e.message_id.as_deref().unwrap_or("-"),
        );
    }
    out
}

/// A terminal event after which the engine does not retry the turn (a `TurnFailed` caused by
/// a lost connection is followed by a re-send on dialects that cannot resume).
pub fn is_final_terminal(event: &Event) -> bool {
    use chatwire::event::TurnErrorCode::{Disconnected, Discontinuity, Eof};
    match event {
        Event::TurnCompleted { .. } | Event::TurnCancelled => true,
        Event::TurnFailed { error } => !matches!(error.code, Disconnected | Discontinuity | Eof),
        _ => false,
    }
}

/// The assistant text as a UI shows it: per message (in order of first appearance), appends at
/// their offsets (checked to be the current length), replaces, and complete assistant
/// `Message`s; the messages joined. Panics on an append at a wrong offset.
pub fn assembled_text(log: &[Envelope]) -> String {
    let mut order: Vec<Option<String>> = Vec::new();
    let mut texts: BTreeMap<Option<String>, String> = BTreeMap::new();
    for env in log {
        let key = env.message_id.clone();
        let text = match &env.event {
            Event::TextDelta {
                channel: TextChannel::Text,
                update,
            } => {
                let text = texts.entry(key.clone()).or_default();
                match update {
                    TextUpdate::Append { text: t, offset } => {
                        assert_eq!(
                            *offset as usize,
                            text.chars().count(),
                            "append offset is not the assembled length (seq {})\n{}",
                            env.seq,
                            dump(log)
                        );
                        text.push_str(t);
                    }
                    TextUpdate::Replace { text: t } => *text = t.clone(),
                    other => panic!("unknown text update {other:?}"),
                }
                true
            }
            Event::Message {
                role: Role::Assistant,
                content,
                ..
            } => {
                texts.insert(key.clone(), content.clone());
                true
            }
            _ => false,
        };
        if text && !order.contains(&key) {
            order.push(key);
        }
    }
    order
        .iter()
        .filter_map(|k| texts.get(k).cloned())
        .collect::<Vec<_>>()
        .join("")
}

/// Counts events matching `pred`.
pub fn count(log: &[Envelope], pred: impl Fn(&Event) -> bool) -> usize {
    log.iter().filter(|e| pred(&e.event)).count()
}

/// The ids of the turns in `log` with their terminal events, in order of first appearance.
pub fn turns(log: &[Envelope]) -> Vec<(String, Vec<Event>)> {
    let mut out: Vec<(String, Vec<Event>)> = Vec::new();
    for env in log {
        let Some(turn) = &env.turn_id else { continue };
        let i = match out.iter().position(|(t, _)| t == turn) {
            Some(i) => i,
            None => {
                out.push((turn.clone(), Vec::new()));
                out.len() - 1
            }
        };
        if env.event.is_turn_terminal() {
            out[i].1.push(env.event.clone());
        }
    }
    out
}

/// Both-sides checks on the app's stream: every turn started once and ended exactly once,
/// every tool call started once and ended once, no turn event delivered twice, strictly
/// increasing gap-free `seq`.
pub fn assert_stream_clean(kind: DialectKind, log: &[Envelope]) {
    let ctx = || format!("{kind}\n{}", dump(log));
    let seqs: Vec<u64> = log.iter().map(|e| e.seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "seq gaps: {}",
        ctx()
    );
    for (turn, terminals) in turns(log) {
        assert_eq!(
            terminals.len(),
            1,
            "turn {turn} ended {} times: {}",
            terminals.len(),
            ctx()
        );
        let starts = log
            .iter()
            .filter(|e| e.turn_id.as_deref() == Some(&turn))
            .filter(|e| matches!(e.event, Event::TurnStarted { .. }))
            .count();
        assert_eq!(starts, 1, "turn {turn} started {starts} times: {}", ctx());
    }
    let mut tools: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for env in log {
        match &env.event {
            Event::ToolStarted { tool_id, .. } => tools.entry(tool_id).or_default().0 += 1,
            Event::ToolCompleted { tool_id, .. } | Event::ToolFailed { tool_id, .. } => {
                tools.entry(tool_id).or_default().1 += 1;
            }
            _ => {}
        }
    }
    for (tool, (started, ended)) in tools {
        assert_eq!(
            (started, ended),
            (1, 1),
            "tool {tool} started/ended: {}",
            ctx()
        );
    }
    // An assistant message completed twice is an answer shown twice.
    let mut completed: BTreeMap<&str, u64> = BTreeMap::new();
    for env in log {
        if let (Event::MessageCompleted { .. } | Event::Message { .. }, Some(m)) =
            (&env.event, env.message_id.as_deref())
        {
            if let Some(first) = completed.insert(m, env.seq) {
                panic!(
                    "message {m} completed at #{first} and #{}: {}",
                    env.seq,
                    ctx()
                );
            }
        }
    }
    // A turn event (other than streamed text) delivered twice is a duplicate that got through.
    let mut seen = BTreeMap::new();
    for env in log {
        let (Some(turn), false) = (&env.turn_id, matches!(env.event, Event::TextDelta { .. }))
        else {
            continue;
        };
        let key = (
            turn.clone(),
            env.message_id.clone(),
            serde_json::to_string(&env.event).unwrap(),
        );
        if let Some(first) = seen.insert(key, env.seq) {
            panic!("event #{} repeats #{first}: {}", env.seq, ctx());
        }
    }
}

/// How many `Discontinuity` events the log holds.
pub fn discontinuities(log: &[Envelope]) -> usize {
    count(log, |e| matches!(e, Event::Discontinuity { .. }))
}

/// Server side: the mock recorded exactly `texts` (in any order), each as one message.
pub fn assert_received_once(kind: DialectKind, mock: &MockServer, texts: &[&str]) -> Vec<Received> {
    let received = mock.received();
    let mut got: Vec<&str> = received.iter().map(|r| r.text.as_str()).collect();
    let mut want = texts.to_vec();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want, "{kind}: the server recorded {received:#?}");
    assert!(
        received.iter().all(|r| r.times_received >= 1),
        "{kind}: {received:#?}"
    );
    received
}

/// Both sides after a fault: the stream is clean, the two replies are exact, the dialect either
/// resumed silently or reported one discontinuity per lost connection and retried the turn.
pub fn assert_recovered(s: &Session, mock: &MockServer, replies: &[(&str, &str)]) {
    let kind = s.kind();
    let log = &s.log;
    assert_stream_clean(kind, log);
    for (sent, reply) in replies {
        let part = s.segment(sent);
        assert_eq!(
            assembled_text(part),
            *reply,
            "{kind}: reply to {sent}\n{}",
            s.dump()
        );
        let last = part.iter().rev().find(|e| is_final_terminal(&e.event));
        assert!(
            matches!(last.map(|e| &e.event), Some(Event::TurnCompleted { .. })),
            "{kind}: {sent} answered by TurnCompleted\n{}",
            s.dump()
        );
    }
    let failed: Vec<TurnErrorCode> = log
        .iter()
        .filter_map(|e| match &e.event {
            Event::TurnFailed { error } => Some(error.code),
            _ => None,
        })
        .collect();
    // Each time the client is ready again after having been ready, it reconnected.
    let recoveries = count(log, |e| {
        matches!(
            e,
            Event::StateChanged {
                to: chatwire::ConnectionState::Ready,
                ..
            }
        )
    })
    .saturating_sub(1);
    if resumes(&s.client) {
        assert_eq!(discontinuities(log), 0, "{kind} resumes\n{}", s.dump());
        assert!(
            failed.is_empty(),
            "{kind} resumes: no turn fails\n{}",
            s.dump()
        );
    } else {
        // A backend that cannot resume reports one discontinuity per turn a lost connection cut
        // (never more than once per recovery); a refused attempt cut nothing.
        let cut = count(
            log,
            |e| matches!(e, Event::TurnFailed { error, .. } if error.code == TurnErrorCode::Disconnected),
        );
        assert_eq!(
            discontinuities(log),
            cut.min(recoveries),
            "{kind}: one discontinuity per cut turn\n{}",
            s.dump()
        );
        assert!(
            failed.iter().all(|c| matches!(
                c,
                TurnErrorCode::Disconnected | TurnErrorCode::Discontinuity
            )),
            "{kind}: only interrupted turns fail\n{}",
            s.dump()
        );
    }
    let texts: Vec<&str> = replies.iter().map(|(t, _)| *t).collect();
    assert_received_once(kind, mock, &texts);
}

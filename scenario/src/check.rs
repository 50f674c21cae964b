//! The checker: judges one trace against the universal guarantees (DESIGN §3) and the
//! scenario's `expect`, and says what is wrong in plain words. Judging lives here and only
//! here; runners only execute and report.
//!
//! Universal rules, for every scenario: every line parses; `seq` runs 1, 2, 3, ... (a gap is a
//! lost envelope, a repeat a duplicated one); no turn starts twice or ends other than exactly
//! once, no tool call starts or ends twice, no message starts, completes or is acked twice;
//! appends land at the assembled length; every command has one result and the code its step
//! expects; each message is received by the server at most once unless the scenario says
//! otherwise.

use crate::format::{Expect, Scenario};
use crate::model::{Model, Turn, event_type};
use crate::text::assemble;
use crate::trace::TraceLine;
use chatwire::event::{DeliveryStatus, ErrorKind, Event};
use std::collections::{BTreeMap, BTreeSet};

/// What the server recorded for one message text (from `/_mock/received`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerRecord {
    /// The message text.
    pub text: String,
    /// How many times it arrived.
    pub times_received: u32,
}

/// The error code each command of the run must end with: `None` for success.
pub type ExpectedResults = BTreeMap<u64, (String, Option<String>)>;

/// Judges `trace`; an empty list means the scenario passed.
///
/// ```
/// use chatwire_scenario::{Scenario, judge, parse_trace};
/// let scenario = Scenario::parse(r#"{"name":"n","options":{"dialect":"native"},"steps":[{"op":"close"}]}"#)?;
/// let trace = parse_trace(r#"
/// {"line":"envelope","envelope":{"seq":1,"timestampMs":0,"event":{"type":"heartbeat"}}}
/// {"line":"envelope","envelope":{"seq":3,"timestampMs":0,"event":{"type":"heartbeat"}}}"#)?;
/// let failures = judge(&scenario, &trace, &Default::default(), &Default::default(), None);
/// assert_eq!(failures, ["envelope seq 3 follows 1: 1 envelope(s) lost"]);
/// # Ok::<(), String>(())
/// ```
///
/// `expected` maps each command id to (description, expected error code); `sent_texts` maps
/// each label to the text it sent; `server` is the mock's record, `None` when not available
/// (the diff and the checker's own tests).
pub fn judge(
    scenario: &Scenario,
    trace: &[TraceLine],
    expected: &ExpectedResults,
    sent_texts: &BTreeMap<String, String>,
    server: Option<&[ServerRecord]>,
) -> Vec<String> {
    let mut failures = Vec::new();
    let model = Model::new(trace);
    check_seq(&model, &mut failures);
    check_uniques(&model, &mut failures);
    check_turns(&model, &mut failures);
    let codes = check_results(trace, expected, &mut failures);
    check_errors(&scenario.expect, &model, &codes, &mut failures);
    check_labels(scenario, &model, &mut failures);
    if let Some(server) = server {
        check_server(scenario, &model, sent_texts, server, &mut failures);
    }
    let discontinuities = model
        .envelopes
        .iter()
        .filter(|(_, e)| matches!(e.event, Event::Discontinuity { .. }))
        .count();
    if discontinuities != scenario.expect.discontinuities {
        failures.push(format!(
            "expected {} discontinuity event(s), got {discontinuities}",
            scenario.expect.discontinuities
        ));
    }
    if let Some(want) = &scenario.expect.final_state {
        let close_line = trace
            .iter()
            .position(|l| matches!(l, TraceLine::Step { op, .. } if op == "close"))
            .unwrap_or(trace.len());
        let got = model
            .states
            .iter()
            .rev()
            .find(|(line, _)| *line < close_line)
            .map_or("disconnected", |(_, s)| s.as_str());
        if got != want {
            failures.push(format!("expected state {want:?} before close, got {got:?}"));
        }
    }
    failures
}

fn check_seq(model: &Model, failures: &mut Vec<String>) {
    let mut expected = 1;
    for (_, env) in &model.envelopes {
        if env.seq == expected {
            expected += 1;
        } else if env.seq > expected {
            failures.push(format!(
                "envelope seq {} follows {}: {} envelope(s) lost",
                env.seq,
                expected - 1,
                env.seq - expected
            ));
            expected = env.seq + 1;
        } else {
            failures.push(format!(
                "envelope seq {} delivered again after {} (duplicated envelope)",
                env.seq,
                expected - 1
            ));
        }
    }
}

/// Events that exist once per key: a second one is a duplicate the app would show twice.
fn check_uniques(model: &Model, failures: &mut Vec<String>) {
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    for (_, env) in &model.envelopes {
        let turn = env.turn_id.as_deref().unwrap_or("-");
        let msg = env.message_id.as_deref().unwrap_or("-");
        let key = match &env.event {
            Event::TurnStarted { .. } => format!("turn {turn:?} started"),
            Event::MessageStarted { .. } => format!("message {msg:?} of turn {turn:?} started"),
            Event::MessageCompleted { .. } => format!("message {msg:?} of turn {turn:?} completed"),
            Event::ToolStarted { tool_id, .. } => format!("tool call {tool_id:?} started"),
            Event::ToolCompleted { tool_id, .. } | Event::ToolFailed { tool_id, .. } => {
                format!("tool call {tool_id:?} ended")
            }
            Event::MessageStatus {
                client_id, status, ..
            } if matches!(
                status,
                DeliveryStatus::Acked | DeliveryStatus::Failed { .. }
            ) =>
            {
                format!(
                    "message {client_id} reported {}",
                    serde_json::to_string(status).unwrap_or_default()
                )
            }
            _ => continue,
        };
        if let Some(first) = seen.insert(key.clone(), env.seq) {
            failures.push(format!(
                "{key} twice (seq {first} and {}): a duplicated event",
                env.seq
            ));
        }
    }
}

fn check_turns(model: &Model, failures: &mut Vec<String>) {
    for turn in &model.turns {
        let ends = turn.terminals();
        if ends.is_empty() {
            failures.push(format!("turn {:?} never ended", turn.id));
        } else if ends.len() > 1 {
            let list: Vec<String> = ends
                .iter()
                .map(|e| format!("{} (seq {})", event_type(&e.event), e.seq))
                .collect();
            failures.push(format!(
                "turn {:?} ended {} times: {}",
                turn.id,
                ends.len(),
                list.join(", ")
            ));
        }
        if let Err(e) = assemble(&turn.envelopes) {
            failures.push(format!("turn {:?}: {e}", turn.id));
        }
    }
}

/// Checks each command's result against its step; returns every error code seen in results.
fn check_results(
    trace: &[TraceLine],
    expected: &ExpectedResults,
    failures: &mut Vec<String>,
) -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    let mut seen: BTreeSet<u64> = BTreeSet::new();
    for line in trace {
        let TraceLine::Result { id, ok, code, .. } = line else {
            continue;
        };
        if !seen.insert(*id) {
            failures.push(format!("command {id} has two results"));
        }
        let got = if *ok {
            None
        } else {
            Some(code.clone().unwrap_or_else(|| "(no code)".to_string()))
        };
        if let Some(c) = &got {
            codes.insert(c.clone());
        }
        if let Some((what, want)) = expected.get(id) {
            if &got != want {
                let show = |c: &Option<String>| c.clone().unwrap_or_else(|| "success".into());
                failures.push(format!(
                    "{what}: expected {}, got {}",
                    show(want),
                    show(&got)
                ));
            }
        }
    }
    for (id, (what, _)) in expected {
        if !seen.contains(id) {
            failures.push(format!("{what}: the runner reported no result"));
        }
    }
    codes
}

fn check_errors(
    expect: &Expect,
    model: &Model,
    result_codes: &BTreeSet<String>,
    failures: &mut Vec<String>,
) {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for (_, env) in &model.envelopes {
        if let Event::Error { kind, .. } = &env.event {
            seen.insert(error_code(*kind));
        }
    }
    for code in expect
        .errors_must
        .iter()
        .filter(|c| !seen.contains(*c) && !result_codes.contains(*c))
    {
        failures.push(format!("expected an error {code}, none appeared"));
    }
    for code in seen
        .iter()
        .filter(|c| !expect.errors_must.contains(*c) && !expect.errors_may.contains(*c))
    {
        failures.push(format!("unexpected error event {code}"));
    }
}

fn check_labels(scenario: &Scenario, model: &Model, failures: &mut Vec<String>) {
    for (name, want) in &scenario.expect.labels {
        let Some(label) = model.label(name) else {
            if want.status.as_deref().is_some_and(|s| s != "none") {
                failures.push(format!("message {name:?} was never sent"));
            }
            continue;
        };
        let last: Option<&Turn> = model.last_turn(label);
        let text = last.map(|t| assemble(&t.envelopes).unwrap_or_default());
        if let Some(expected) = &want.text {
            match &text {
                Some(got) if got == expected => {}
                Some(got) => failures.push(format!(
                    "turn {name:?}: expected text {expected:?}, got {got:?}"
                )),
                None => failures.push(format!(
                    "turn {name:?}: expected text {expected:?}, no turn answered it"
                )),
            }
        }
        if let Some(expected) = &want.text_anagram_of {
            let sorted = |s: &str| {
                let mut v: Vec<char> = s.chars().collect();
                v.sort_unstable();
                v
            };
            let got = text.clone().unwrap_or_default();
            if sorted(&got) != sorted(expected) {
                failures.push(format!(
                    "turn {name:?}: expected the characters of {expected:?}, got {got:?}"
                ));
            }
        }
        if let Some(expected) = &want.terminal {
            let got = last
                .and_then(|t| t.terminals().last().map(|e| event_type(&e.event)))
                .unwrap_or_else(|| "none".to_string());
            if &got != expected {
                failures.push(format!("turn {name:?}: expected {expected}, got {got}"));
            }
        }
        if let Some(expected) = &want.status {
            let got = label.statuses.last().map_or("none", String::as_str);
            let matches = got == expected || got.split(':').next() == Some(expected.as_str());
            if !matches {
                failures.push(format!(
                    "message {name:?}: expected status {expected}, got {got}"
                ));
            }
        }
        if let Some(expected) = want.tools {
            let got = model
                .turns_of(label)
                .iter()
                .flat_map(|t| &t.envelopes)
                .filter(|e| matches!(e.event, Event::ToolCompleted { .. }))
                .count();
            if got != expected {
                failures.push(format!(
                    "turn {name:?}: expected {expected} completed tool call(s), got {got}"
                ));
            }
        }
    }
}

fn check_server(
    scenario: &Scenario,
    model: &Model,
    sent_texts: &BTreeMap<String, String>,
    server: &[ServerRecord],
    failures: &mut Vec<String>,
) {
    for (name, text) in sent_texts {
        let times = server
            .iter()
            .filter(|r| &r.text == text)
            .map(|r| r.times_received)
            .sum::<u32>();
        let expect = scenario.expect.labels.get(name);
        let want = expect.and_then(|l| l.received);
        let may_resend = expect.is_some_and(|l| l.may_resend);
        let delivered = model
            .label(name)
            .and_then(|l| l.statuses.last())
            .is_some_and(|s| s == "acked" || s == "sent");
        match want {
            Some(w) if w != times => failures.push(format!(
                "server: message {name:?} ({text:?}) received {times} time(s), expected {w}"
            )),
            None if times > 1 && !may_resend => failures.push(format!(
                "server: message {name:?} ({text:?}) received {times} times: sent again after it was received"
            )),
            None if delivered && times == 0 => failures.push(format!(
                "server: message {name:?} ({text:?}) was reported delivered but never reached the server"
            )),
            _ => {}
        }
    }
}

/// The stable `ErrorCode` of an `error` event's kind.
pub fn error_code(kind: ErrorKind) -> String {
    kind.code().as_str().to_string()
}

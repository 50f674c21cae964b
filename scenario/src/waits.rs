//! The orchestrator's conditions on a trace (`waitFor`, `waitTurnEnd`) and the short step
//! descriptions its failure messages use. Pure functions of the trace: a wait re-evaluates them
//! after every new line.

use crate::format::{Step, WaitFor};
use crate::model::{Model, event_type};
use crate::trace::TraceLine;

/// Whether the label's turn ended for good and its receipt settled (acked), or the message
/// failed. Waiting for both keeps `close` from racing an ack that trails the reply.
pub(crate) fn turn_settled(lines: &[TraceLine], label: &str) -> bool {
    let model = Model::new(lines);
    model.label(label).is_some_and(|l| {
        let last = l.statuses.last().map_or("", String::as_str);
        last.starts_with("failed")
            || (last == "acked" && model.turns_of(l).iter().any(|t| t.ended_for_good()))
    })
}

/// Whether a `waitFor` condition holds on the trace.
pub(crate) fn seen(w: &WaitFor, lines: &[TraceLine]) -> bool {
    let model = Model::new(lines);
    let want = w.count.unwrap_or(1);
    let label = w.label.as_ref().and_then(|l| model.label(l));
    if w.label.is_some() && label.is_none() {
        return false;
    }
    if let Some(event) = &w.event {
        let n = match label {
            Some(l) => model
                .turns_of(l)
                .iter()
                .flat_map(|t| &t.envelopes)
                .filter(|e| &event_type(&e.event) == event)
                .count(),
            None => model
                .envelopes
                .iter()
                .filter(|(_, e)| &event_type(&e.event) == event)
                .count(),
        };
        return n >= want;
    }
    if let Some(state) = &w.state {
        return model.states.iter().filter(|(_, s)| s == state).count() >= want;
    }
    if let (Some(status), Some(l)) = (&w.status, label) {
        return l
            .statuses
            .iter()
            .any(|s| s.split(':').next() == Some(status));
    }
    false
}

pub(crate) fn op_name(step: &Step) -> String {
    describe(step).split(' ').next().unwrap_or("?").to_string()
}

/// A short description of a step, for failure messages.
pub(crate) fn describe(step: &Step) -> String {
    match step {
        Step::Send { label, .. } => format!("send {label}"),
        Step::SendAudio { label, .. } => format!("sendAudio {label}"),
        Step::SendBurst { label, count, .. } => format!("sendBurst {label}1..{label}{count}"),
        Step::CancelTurn { .. } => "cancelTurn".into(),
        Step::Typing { .. } => "typing".into(),
        Step::ReconnectNow {} => "reconnectNow".into(),
        Step::Connect {} => "connect".into(),
        Step::Discard { label, .. } => format!("discard {label}"),
        Step::Close {} => "close".into(),
        Step::WaitFor(w) => {
            let what = w.event.as_ref().or(w.state.as_ref()).or(w.status.as_ref());
            let of = w
                .label
                .as_ref()
                .map(|l| format!(" of {l}"))
                .unwrap_or_default();
            format!("waitFor {}{of}", what.map_or("?", String::as_str))
        }
        Step::WaitTurnEnd { label, .. } => format!("waitTurnEnd {label}"),
        Step::RestartServer { .. } => "restartServer".into(),
        Step::InstallFaults { .. } => "installFaults".into(),
        Step::ClearFaults {} => "clearFaults".into(),
        Step::Sleep { ms } => format!("sleep {ms} ms"),
    }
}

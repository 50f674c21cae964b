//! `chatwire-scenario diff`: compares two runners' traces of the same scenario. Ids, times,
//! `seq` and `raw` are normalised away; what must match is, per message label, the assembled
//! text (except of a cancelled turn, whose partial text depends on when the cancel landed), the
//! terminal event, the final delivery status and the event types of its final turn, and the
//! number of each turn-level event type overall. Event types whose count depends on timing
//! rather than behaviour (text and tool-argument deltas, tool progress, status updates) are left
//! out of the type lists and counts.

use crate::model::{Model, event_type};
use crate::text::assemble;
use crate::trace::TraceLine;
use std::collections::BTreeMap;

/// The normalised summary of one trace.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    /// Per label: (text, terminal, final status, event types of its final turn).
    pub labels: BTreeMap<String, (String, String, String, Vec<String>)>,
    /// Turn-level event types with their counts.
    pub counts: BTreeMap<String, usize>,
}

/// Summarises a trace.
pub fn summarize(trace: &[TraceLine]) -> Summary {
    let model = Model::new(trace);
    let mut summary = Summary::default();
    for label in &model.labels {
        let turn = model.last_turn(label);
        let text = turn
            .map(|t| assemble(&t.envelopes).unwrap_or_else(|e| format!("<{e}>")))
            .unwrap_or_default();
        let terminal = turn
            .and_then(|t| t.terminals().last().map(|e| event_type(&e.event)))
            .unwrap_or_else(|| "none".into());
        let status = label
            .statuses
            .last()
            .cloned()
            .unwrap_or_else(|| "none".into());
        let kinds = turn
            .map(|t| {
                t.envelopes
                    .iter()
                    .map(|e| event_type(&e.event))
                    .filter(|k| !timing(k))
                    .collect()
            })
            .unwrap_or_default();
        let text = if terminal == "turnCancelled" {
            String::new()
        } else {
            text
        };
        summary
            .labels
            .insert(label.name.clone(), (text, terminal, status, kinds));
    }
    for turn in &model.turns {
        for env in &turn.envelopes {
            let kind = event_type(&env.event);
            if !timing(&kind) {
                *summary.counts.entry(kind).or_default() += 1;
            }
        }
    }
    summary
}

/// The differences between two traces, in plain words; empty when they agree.
///
/// ```
/// let a = chatwire_scenario::parse_trace(r#"{"line":"end"}"#)?;
/// assert!(chatwire_scenario::diff::diff(&a, &a).is_empty());
/// # Ok::<(), String>(())
/// ```
pub fn diff(a: &[TraceLine], b: &[TraceLine]) -> Vec<String> {
    let (a, b) = (summarize(a), summarize(b));
    let mut out = Vec::new();
    let names: std::collections::BTreeSet<&String> =
        a.labels.keys().chain(b.labels.keys()).collect();
    for name in names {
        match (a.labels.get(name), b.labels.get(name)) {
            (Some(x), Some(y)) => {
                let fields = [
                    ("text", &x.0, &y.0),
                    ("terminal", &x.1, &y.1),
                    ("status", &x.2, &y.2),
                ];
                for (what, p, q) in fields {
                    if p != q {
                        out.push(format!("message {name:?}: {what} {p:?} vs {q:?}"));
                    }
                }
                if x.3 != y.3 {
                    out.push(format!(
                        "message {name:?}: final turn events [{}] vs [{}]",
                        x.3.join(", "),
                        y.3.join(", ")
                    ));
                }
            }
            (Some(_), None) => out.push(format!("message {name:?} only in the first trace")),
            _ => out.push(format!("message {name:?} only in the second trace")),
        }
    }
    if a.counts != b.counts {
        out.push(format!(
            "turn event counts {:?} vs {:?}",
            a.counts, b.counts
        ));
    }
    out
}

/// Event types whose number depends on timing (coalescing, cut points), not on behaviour.
fn timing(kind: &str) -> bool {
    matches!(
        kind,
        "textDelta" | "toolArgsDelta" | "toolProgress" | "status"
    )
}

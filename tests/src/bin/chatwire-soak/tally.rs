//! The soak's per-dialect counts, computed from both sides of the wire: what the app saw (the
//! worker's event log and message statuses) and what the server recorded (`/_mock/received`),
//! and the table printed at the end.
//!
//! Every message text is unique in a run (`soak <dialect> <n>`) and the scripted agent answers
//! `You said: <text>`, so replies, records and messages are matched by text. A defect is any of:
//! a message that failed or never settled, an acked message the server never recorded, an acked
//! message the server received again after the app saw its ack (allowed for `openai` only: a cut
//! completion can only be recovered by sending the turn again, under its idempotency key), a
//! reply shown twice, a reply that does not match what was sent, an acked message without a
//! reply, and a number of final turn ends other than the number of acked messages.

use crate::worker::Outcome;
use chatwire::DialectKind;
use chatwire::event::{DeliveryStatus, Event, Role};
use chatwire_mock::Received;
use chatwire_tests::is_final_terminal;
use std::collections::HashMap;
use std::fmt::Write as _;

/// One dialect's row of the table.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Row {
    pub dialect: String,
    /// Messages the app asked to send (send errors included).
    pub sent: usize,
    pub acked: usize,
    /// Messages that ended `Failed`, plus `send` calls that returned an error.
    pub failed: usize,
    /// Messages neither acked nor failed when the run ended.
    pub unsettled: usize,
    /// Acked messages the server never recorded.
    pub missing: usize,
    /// Server records with `times_received` > 1 (re-sends before the ack are by design).
    pub received_again: usize,
    /// Of those, messages received again after the app saw their ack.
    pub acked_resent: usize,
    /// Replies completed more than once (extra completions).
    pub shown_twice: usize,
    /// Completed replies whose text is not `You said: <a sent text>`.
    pub garbled: usize,
    /// Acked messages without a completed reply.
    pub unanswered: usize,
    /// Final turn ends (completed, cancelled, or failed for good).
    pub turn_ends: usize,
    /// `Discontinuity` events (information: dialects that cannot resume report their gaps).
    pub discontinuities: usize,
    /// The first defective messages, each with what went wrong (printed under the table, so a
    /// failed run says which message to look for in the event logs).
    pub notes: Vec<String>,
}

/// Most defective messages named per dialect.
const MAX_NOTES: usize = 5;

impl Row {
    /// Whether repeated acked sends count as a defect for this dialect: openai re-sends a cut
    /// turn, ai-sdk one its resumable-stream route could not resume (both documented).
    pub fn resend_allowed(&self) -> bool {
        [DialectKind::Openai, DialectKind::AiSdk]
            .iter()
            .any(|k| self.dialect == k.to_string())
    }

    /// The sum of the defect counts (0 for a clean run).
    pub fn defects(&self) -> usize {
        let resent = if self.resend_allowed() {
            0
        } else {
            self.acked_resent
        };
        self.failed
            + self.unsettled
            + self.missing
            + resent
            + self.shown_twice
            + self.garbled
            + self.unanswered
            + self.turn_ends.abs_diff(self.acked)
    }
}

/// Counts one dialect's run against the server's records of that dialect.
pub fn tally(outcome: &Outcome, received: &[Received]) -> Row {
    let name = outcome.kind.to_string();
    let records: Vec<&Received> = received
        .iter()
        .filter(|r| r.dialect.as_str() == name)
        .collect();
    let mut row = Row {
        dialect: name,
        sent: outcome.sent.len() + outcome.send_errors.len(),
        failed: outcome.send_errors.len(),
        ..Row::default()
    };
    let mut replies: HashMap<&str, usize> = HashMap::new();
    for env in &outcome.log {
        let text = match &env.event {
            Event::MessageCompleted { text } => Some(text),
            Event::Message {
                role: Role::Assistant,
                content,
                ..
            } => Some(content),
            _ => None,
        };
        if let Some(said) = text.and_then(|t| t.strip_prefix("You said: ")) {
            *replies.entry(said).or_default() += 1;
        }
        row.turn_ends += usize::from(is_final_terminal(&env.event));
        row.discontinuities += usize::from(matches!(env.event, Event::Discontinuity { .. }));
    }
    for sent in &outcome.sent {
        let mine: Vec<&&Received> = records.iter().filter(|r| r.text == sent.text).collect();
        let times: u32 = mine.iter().map(|r| r.times_received).sum();
        row.received_again += usize::from(times > 1);
        let shown = replies.remove(sent.text.as_str()).unwrap_or(0);
        row.shown_twice += shown.saturating_sub(1);
        let mut wrong = Vec::new();
        if shown > 1 {
            wrong.push(format!("reply shown {shown} times"));
        }
        match &sent.status {
            DeliveryStatus::Acked => {
                row.acked += 1;
                row.missing += usize::from(mine.is_empty());
                row.unanswered += usize::from(shown == 0);
                let last = mine.iter().map(|r| r.last_received_ms).max();
                let again_after_ack = matches!((last, sent.acked_ms), (Some(l), Some(a)) if l > a);
                let resent = times > 1 && again_after_ack;
                row.acked_resent += usize::from(resent);
                if mine.is_empty() {
                    wrong.push("acked, never recorded by the server".to_owned());
                }
                if shown == 0 {
                    wrong.push("acked, no reply".to_owned());
                }
                if resent && !row.resend_allowed() {
                    wrong.push(format!("received {times} times, again after its ack"));
                }
            }
            DeliveryStatus::Failed { reason } => {
                row.failed += 1;
                wrong.push(format!("failed: {reason:?}"));
            }
            other => {
                row.unsettled += 1;
                wrong.push(format!("unsettled: {other:?}"));
            }
        }
        if !wrong.is_empty() && row.notes.len() < MAX_NOTES {
            row.notes
                .push(format!("{:?}: {}", sent.text, wrong.join(", ")));
        }
    }
    row.garbled = replies.values().sum();
    row
}

/// The table: one line per dialect, then a total line.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    let head = [
        "dialect",
        "sent",
        "acked",
        "failed",
        "unsettled",
        "missing",
        "recv>1",
        "acked-resent",
        "twice",
        "garbled",
        "unanswered",
        "turn-ends",
        "gaps",
        "defects",
    ];
    let widths = [16, 6, 6, 7, 10, 8, 7, 13, 6, 8, 11, 10, 5, 8];
    let line = |cells: &[String]| {
        let mut l = String::new();
        for (c, w) in cells.iter().zip(widths) {
            let _ = write!(l, "{c:>w$} ");
        }
        l.trim_end().to_owned()
    };
    let _ = writeln!(out, "{}", line(&head.map(str::to_owned)));
    for r in rows {
        let resent = if r.resend_allowed() && r.acked_resent > 0 {
            format!("{} (allowed)", r.acked_resent)
        } else {
            r.acked_resent.to_string()
        };
        let cells = [
            r.dialect.clone(),
            r.sent.to_string(),
            r.acked.to_string(),
            r.failed.to_string(),
            r.unsettled.to_string(),
            r.missing.to_string(),
            r.received_again.to_string(),
            resent,
            r.shown_twice.to_string(),
            r.garbled.to_string(),
            r.unanswered.to_string(),
            format!("{}/{}", r.turn_ends, r.acked),
            r.discontinuities.to_string(),
            r.defects().to_string(),
        ];
        let _ = writeln!(out, "{}", line(&cells));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::Sent;
    use chatwire::event::{Envelope, FailReason};
    use chatwire_mock::Dialect;

    fn completed(text: &str) -> Envelope {
        Envelope::new(0, 0, Event::MessageCompleted { text: text.into() })
    }

    fn record(text: &str, times: u32, last: u64) -> Received {
        Received {
            dialect: Dialect::Native,
            conversation: "c".into(),
            client_id: None,
            text: text.into(),
            times_received: times,
            first_received_ms: 1,
            last_received_ms: last,
        }
    }

    #[test]
    fn both_sides_are_counted() {
        let sent = |text: &str, status, acked_ms| Sent {
            text: text.into(),
            status,
            acked_ms,
        };
        let outcome = Outcome {
            kind: DialectKind::Native,
            sent: vec![
                sent("a", DeliveryStatus::Acked, Some(10)),
                sent("b", DeliveryStatus::Acked, Some(10)),
                sent(
                    "c",
                    DeliveryStatus::Failed {
                        reason: FailReason::Overflow,
                    },
                    None,
                ),
                sent("d", DeliveryStatus::Sent, None),
            ],
            send_errors: vec!["closed".into()],
            log: vec![
                completed("You said: a"),
                completed("You said: b"),
                completed("You said: b"),
                completed("You said: bb"),
                Envelope::new(
                    0,
                    0,
                    Event::TurnCompleted {
                        finish_reason: None,
                        usage: None,
                    },
                ),
            ],
        };
        // "a" never reached the server; "b" arrived again after its ack; another dialect's
        // record of "a" does not count.
        let other = Received {
            dialect: Dialect::OpenAi,
            ..record("a", 1, 1)
        };
        let row = tally(&outcome, &[record("b", 2, 11), other]);
        assert_eq!(
            (row.sent, row.acked, row.failed, row.unsettled),
            (5, 2, 2, 1)
        );
        assert_eq!(
            (row.missing, row.received_again, row.acked_resent),
            (1, 1, 1)
        );
        assert_eq!((row.shown_twice, row.garbled, row.unanswered), (1, 1, 0));
        assert_eq!(row.turn_ends, 1);
        assert_eq!(
            row.notes,
            [
                "\"a\": acked, never recorded by the server",
                "\"b\": reply shown 2 times, received 2 times, again after its ack",
                "\"c\": failed: Overflow",
                "\"d\": unsettled: Sent",
            ]
        );
        // failed 2 + unsettled 1 + missing 1 + resent 1 + twice 1 + garbled 1 + |1 - 2|
        assert_eq!(row.defects(), 8);
    }

    #[test]
    fn defects_add_up_and_openai_may_resend() {
        let row = Row {
            dialect: "native".into(),
            acked: 10,
            turn_ends: 12,
            acked_resent: 3,
            shown_twice: 1,
            ..Row::default()
        };
        assert_eq!(row.defects(), 2 + 3 + 1);
        let openai = Row {
            dialect: "openai".into(),
            ..row
        };
        assert_eq!(openai.defects(), 2 + 1);
        assert!(table(&[openai]).contains("3 (allowed)"));
    }
}

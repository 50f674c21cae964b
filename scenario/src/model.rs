//! What a trace says happened, reconstructed once for the checker, the waits of the
//! orchestrator and the diff: which message (label) each turn answers, each label's statuses,
//! the connection states.
//!
//! A turn belongs to the message its `turnStarted.replyTo` names. A turn without `replyTo`
//! belongs to the oldest message sent before the turn's first event whose turns have not ended
//! for good yet (backends answer in order): a turn that failed because the connection was lost
//! (`disconnected`, `discontinuity`, `eof`) is retried by the engine, so its message still waits.
//! Envelopes without a turn id join the turn of their message id when one is known.

use crate::trace::{TraceLine, kind_of, status_name};
use chatwire::event::{Envelope, Event, TurnErrorCode};
use std::collections::BTreeMap;

/// One turn of the trace.
#[derive(Debug, Clone, Default)]
pub struct Turn {
    /// The turn id.
    pub id: String,
    /// Trace line index of its first envelope.
    pub first_line: usize,
    /// `turnStarted.replyTo`, when given.
    pub reply_to: Option<String>,
    /// Its envelopes, in order.
    pub envelopes: Vec<Envelope>,
}

impl Turn {
    /// Its terminal events.
    pub fn terminals(&self) -> Vec<&Envelope> {
        self.envelopes
            .iter()
            .filter(|e| e.event.is_turn_terminal())
            .collect()
    }

    /// Whether it ended for good (not a loss the engine retries).
    pub fn ended_for_good(&self) -> bool {
        self.terminals().iter().any(|e| is_final(&e.event))
    }
}

/// A message sent by the app.
#[derive(Debug, Clone, Default)]
pub struct Label {
    /// Its label.
    pub name: String,
    /// Its client id (a successful send).
    pub client_id: Option<String>,
    /// Trace line index of its send result.
    pub sent_line: usize,
    /// Statuses reported, in order (`acked`, `failed:overflow`).
    pub statuses: Vec<String>,
    /// Indexes into [`Model::turns`].
    pub turns: Vec<usize>,
}

/// The reconstructed trace.
#[derive(Debug, Clone, Default)]
pub struct Model {
    /// Every envelope, in trace order, with its line index.
    pub envelopes: Vec<(usize, Envelope)>,
    /// Turns in order of first appearance.
    pub turns: Vec<Turn>,
    /// Messages in send order.
    pub labels: Vec<Label>,
    /// Connection states reported, with their line index.
    pub states: Vec<(usize, String)>,
}

impl Model {
    /// Builds the model of `trace`.
    pub fn new(trace: &[TraceLine]) -> Model {
        let mut model = Model::default();
        let mut turn_of_message: BTreeMap<String, usize> = BTreeMap::new();
        for (line, entry) in trace.iter().enumerate() {
            match entry {
                TraceLine::Result {
                    op,
                    label: Some(label),
                    ok: true,
                    client_id,
                    ..
                } if op.starts_with("send") => model.labels.push(Label {
                    name: label.clone(),
                    client_id: client_id.clone(),
                    sent_line: line,
                    ..Label::default()
                }),
                TraceLine::Status { label, status, .. } => {
                    if let Some(l) = model.labels.iter_mut().find(|l| &l.name == label) {
                        l.statuses.push(status_name(status));
                    }
                }
                TraceLine::State { state } => model.states.push((line, kind_of(state))),
                TraceLine::Envelope { envelope } => {
                    let env = (**envelope).clone();
                    let turn = match (&env.turn_id, &env.message_id) {
                        (Some(t), _) => Some(model.turn_index(t, line)),
                        (None, Some(m)) => turn_of_message.get(m).copied(),
                        (None, None) => None,
                    };
                    if let Some(i) = turn {
                        if let (Some(m), Some(_)) = (&env.message_id, &env.turn_id) {
                            turn_of_message.insert(m.clone(), i);
                        }
                        if let Event::TurnStarted { reply_to } = &env.event {
                            if model.turns[i].reply_to.is_none() {
                                model.turns[i].reply_to.clone_from(reply_to);
                            }
                        }
                        model.turns[i].envelopes.push(env.clone());
                    }
                    model.envelopes.push((line, env));
                }
                _ => {}
            }
        }
        model.attribute();
        model
    }

    /// The label named `name`.
    pub fn label(&self, name: &str) -> Option<&Label> {
        self.labels.iter().find(|l| l.name == name)
    }

    /// The turns of a label.
    pub fn turns_of(&self, label: &Label) -> Vec<&Turn> {
        label.turns.iter().map(|i| &self.turns[*i]).collect()
    }

    /// The last turn of a label, the one that decides its text and terminal.
    pub fn last_turn(&self, label: &Label) -> Option<&Turn> {
        label.turns.last().map(|i| &self.turns[*i])
    }

    fn turn_index(&mut self, id: &str, line: usize) -> usize {
        match self.turns.iter().position(|t| t.id == id) {
            Some(i) => i,
            None => {
                self.turns.push(Turn {
                    id: id.to_string(),
                    first_line: line,
                    ..Turn::default()
                });
                self.turns.len() - 1
            }
        }
    }

    fn attribute(&mut self) {
        for i in 0..self.turns.len() {
            let turn = &self.turns[i];
            let by_reply = turn.reply_to.as_ref().and_then(|r| {
                self.labels
                    .iter()
                    .position(|l| l.client_id.as_deref() == Some(r.as_str()))
            });
            let owner = by_reply.or_else(|| {
                self.labels.iter().position(|l| {
                    l.sent_line < turn.first_line
                        && !l.turns.iter().any(|t| self.turns[*t].ended_for_good())
                        && !l.statuses.iter().any(|s| s.starts_with("failed"))
                })
            });
            if let Some(l) = owner {
                self.labels[l].turns.push(i);
            }
        }
    }
}

/// A terminal event after which the engine does not retry the turn.
pub fn is_final(event: &Event) -> bool {
    match event {
        Event::TurnCompleted { .. } | Event::TurnCancelled => true,
        Event::TurnFailed { error } => !matches!(
            error.code,
            TurnErrorCode::Disconnected | TurnErrorCode::Discontinuity | TurnErrorCode::Eof
        ),
        _ => false,
    }
}

/// The event's type as in the event model's JSON (`turnCompleted`).
pub fn event_type(event: &Event) -> String {
    serde_json::to_value(event)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_string))
        .unwrap_or_else(|| "?".to_string())
}

//! Recovery of turns cut by a dropped socket, from the session history (`GET
//! /v2/chat/{session_id}/history`) instead of sending their messages again; turns that cannot
//! be recovered (of other clients, or of a message never acked, which the engine re-sends as a
//! new turn) end when the socket drops.
//!
//! Guarantees: an acked message is never sent again by this dialect; a reply the history lists
//! for a cut turn (paired by `reply_to` or by the reply id seen streaming, never by position)
//! completes that turn exactly as a final `message` would, with the same dedup keys, so a reply
//! that also arrives on the new socket is shown once; a turn whose reply is not listed yet stays
//! queued for the new socket to finish (or the engine's turn timeout to end).

use serde_json::Map;

use super::ChatV2;
use super::wire::{Frame, Inbound};
use crate::dialect::codec_kit::history;
use crate::dialect::{Actions, Decoded, HttpSpec};
use crate::event::{ErrorKind, Event, TurnError, TurnErrorCode};

/// Driver-side timeout of the history request.
const HISTORY_TIMEOUT_MS: u64 = 30_000;

impl ChatV2 {
    /// Asks the history for the replies of the queued (cut) turns, if there are any.
    pub(super) fn fetch_history(&mut self, out: &mut Actions) {
        if !self.turns.iter().any(|q| q.client_id.is_some()) {
            return;
        }
        let mut spec = HttpSpec::get(self.history_url.clone()).timeout_ms(HISTORY_TIMEOUT_MS);
        for (k, v) in &self.extra_headers {
            spec = spec.header(k.clone(), v.clone());
        }
        if let Some(t) = &self.token {
            spec = spec.header("Authorization", format!("Bearer {}", t.expose()));
        }
        self.history_req = Some(out.http(spec));
    }

    /// The history answered (`Ok((status, headers, body))`) or its request failed. A passing
    /// failure (429, 5xx, no answer) fails the connection, so the next one asks again after the
    /// engine's backoff; see [`history::Outcome`].
    pub(super) fn on_history(&mut self, answer: history::Answer<'_>, out: &mut Actions) {
        let entries = match history::read(answer) {
            history::Outcome::Entries(e) => e,
            history::Outcome::Retry(failure) => return out.fail(failure),
            history::Outcome::GiveUp(why) => {
                // Not fatal: a running turn still streams to the new socket; one that ended
                // meanwhile ends with the turn timeout.
                let error = Decoded::new(Event::Error {
                    kind: ErrorKind::Server,
                    code: Some("history_unavailable".into()),
                    message: format!("{why}; cut replies cannot be recovered from it"),
                    retryable: false,
                });
                return out.emit(error.conversation(self.session.clone()));
            }
        };
        let cut: Vec<_> = self
            .turns
            .iter()
            .filter(|q| q.client_id.is_some())
            .cloned()
            .collect();
        // Turns run in order: a cut turn with no reply listed while a later one has its reply
        // ended on the server without one (an error while the socket was down).
        let answered: Vec<bool> = cut
            .iter()
            .map(|q| {
                history::reply_for(&entries, q.user_msg.as_deref(), q.reply.as_deref()).is_some()
            })
            .collect();
        for (i, q) in cut.into_iter().enumerate() {
            let Some(entry) =
                history::reply_for(&entries, q.user_msg.as_deref(), q.reply.as_deref())
            else {
                if answered[i + 1..].iter().any(|a| *a) {
                    self.end_without_reply(q, out);
                }
                continue; // still running: the socket delivers the rest
            };
            if entry.id.is_some() && self.reply_ended(entry.id.as_deref()) {
                // Shown already, streamed live to the cut turn before this one (the server
                // lost that turn): end this turn without showing its reply a second time.
                self.end_answered_elsewhere(q, out);
                continue;
            }
            let reply = q
                .reply
                .clone()
                .or_else(|| entry.id.clone())
                .unwrap_or_else(|| format!("{}:reply", q.turn));
            let frame = Frame {
                name: "history".into(),
                fields: Map::new(),
                timestamp_ms: entry.timestamp_ms,
                kind: Inbound::Message {
                    message_id: Some(reply.clone()),
                    content: entry.content.clone(),
                    is_final: true,
                },
                raw: entry.raw.clone(),
            };
            self.complete(q.turn, reply, Some(entry.content.clone()), &frame, out);
        }
    }

    /// Ends a turn whose reply the history lists but which the app has already seen complete,
    /// credited to an earlier turn: `TurnCompleted`, no second copy of the reply.
    fn end_answered_elsewhere(&mut self, q: super::Queued, out: &mut Actions) {
        let Some(q) = self.take_queued(&q.turn) else {
            return;
        };
        let done = Event::TurnCompleted {
            finish_reason: Some("stop".into()),
            usage: None,
        };
        let d = Decoded::new(done)
            .turn(q.turn.clone())
            .conversation(self.session.clone())
            .dedup(crate::ids::DedupKey::Id(format!("{}:end", q.turn)));
        out.emit(d);
        self.finish_queued(q, out);
    }

    /// Ends a cut turn the server finished without a reply while the socket was down.
    fn end_without_reply(&mut self, q: super::Queued, out: &mut Actions) {
        let Some(q) = self.take_queued(&q.turn) else {
            return;
        };
        let error = TurnError::new(
            TurnErrorCode::Discontinuity,
            "the turn ended while disconnected and the history has no reply for it",
        );
        let d = Decoded::new(Event::TurnFailed { error })
            .turn(q.turn.clone())
            .conversation(self.session.clone())
            .dedup(crate::ids::DedupKey::Id(format!("{}:end", q.turn)));
        out.emit(d);
        self.finish_queued(q, out);
    }

    /// A dropped socket ends the turns the history cannot recover: those this client did not
    /// start, and those of messages never acked (the engine re-sends them: a new turn).
    pub(super) fn fail_unrecoverable_turns(&mut self, out: &mut Actions) {
        let acked = &self.acked;
        let (kept, lost): (Vec<_>, Vec<_>) = self
            .turns
            .drain(..)
            .partition(|q| q.client_id.is_some_and(|c| acked.contains(&c)));
        self.turns
            .extend(kept.into_iter().map(|q| super::Queued { cut: true, ..q }));
        for q in lost {
            let why = match q.client_id {
                Some(_) => "the connection dropped before the message was acknowledged",
                None => "the connection dropped during a turn this client did not start",
            };
            let error = TurnError::new(TurnErrorCode::Disconnected, why);
            let d = Decoded::new(Event::TurnFailed { error })
                .turn(q.turn.clone())
                .conversation(self.session.clone())
                .dedup(crate::ids::DedupKey::Id(format!("{}:end", q.turn)));
            out.emit(d);
        }
    }
}

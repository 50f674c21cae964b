//! Recovery of turns cut by a dropped socket, from the chat's history (`GET
//! /api/v1/chat/{id}/messages`) instead of sending their messages again.
//!
//! Guarantees: an acked message is never sent again by this dialect; a reply the history lists
//! for a cut turn (paired by `reply_to` or by the reply id seen streaming, never by position)
//! completes that turn exactly as a `response_complete` would, with the same dedup keys, so a
//! reply that also arrives on the re-joined socket is shown once; a turn whose reply is not
//! listed yet stays open for the socket to finish (or the engine's turn timeout to end).

use serde_json::Map;

use super::wire::{Completed, Frame, Inbound};
use super::{Miptech, REST_TIMEOUT_MS};
use crate::dialect::codec_kit::history;
use crate::dialect::codec_kit::{join_url, url_encode};
use crate::dialect::{Actions, Decoded, HttpSpec};
use crate::event::{ErrorKind, Event, Role};

impl Miptech {
    /// Asks the history for the replies of the cut turns, if there are any.
    pub(super) fn fetch_history(&mut self, out: &mut Actions) {
        let Some(chat) = self.chat_id.clone() else {
            return;
        };
        if self.unfinished.is_empty() {
            return;
        }
        let path = format!("/api/v1/chat/{}/messages", url_encode(&chat));
        let spec = self
            .request(HttpSpec::get(join_url(&self.base, &path)))
            .timeout_ms(REST_TIMEOUT_MS);
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
                // Not fatal: a running turn still streams to the re-joined socket; one that
                // ended meanwhile ends with the turn timeout.
                return out.emit(Decoded::new(Event::Error {
                    kind: ErrorKind::Server,
                    code: Some("history_unavailable".into()),
                    message: format!("{why}; cut replies cannot be recovered from it"),
                    retryable: false,
                }));
            }
        };
        let cut: Vec<String> = self.unfinished.keys().cloned().collect();
        for turn in cut {
            let known = self
                .replies
                .iter()
                .rev()
                .find(|(_, t)| **t == turn)
                .map(|(r, _)| r.clone());
            let Some(entry) = history::reply_for(&entries, Some(&turn), known.as_deref()) else {
                continue; // still running: the socket delivers the rest
            };
            let reply = entry
                .id
                .clone()
                .or(known)
                .unwrap_or_else(|| format!("{turn}:reply"));
            let completed = Completed {
                message_id: Some(reply.clone()),
                reply_to: Some(turn.clone()),
                content: entry.content.clone(),
                role: entry.role.clone(),
                model: None,
                total_tokens: None,
                response_time_ms: None,
            };
            let frame = Frame {
                name: "history".into(),
                fields: Map::new(),
                timestamp_ms: entry.timestamp_ms,
                event_id: None,
                kind: Inbound::ResponseComplete(completed.clone()),
                raw: entry.raw.clone(),
            };
            // A later turn may be streaming on the socket: keep it as the open one.
            let other = self.turn.clone().filter(|t| t.id != turn);
            if other.is_some() {
                self.turn = None;
            }
            let turn_id = self.turn_for(Some(&turn), &frame, out);
            if !self.streams.contains(&reply) {
                // Nothing of it streamed before the cut: deliver it as a stream all the same
                // (start, the whole text, completion), as the socket would have.
                let start = Decoded::new(Event::MessageStarted {
                    role: Role::Assistant,
                });
                let start = start.turn(turn_id).message(reply.clone());
                out.emit(self.wrap(start, &frame, Some(format!("start:{reply}"))));
                self.streams.get(&reply, 0);
            }
            if let Some(t) = self.turn.as_mut() {
                t.reply = Some(reply.clone());
            }
            self.on_complete(completed, &frame, out);
            if other.is_some() {
                self.turn = other;
            }
        }
    }
}

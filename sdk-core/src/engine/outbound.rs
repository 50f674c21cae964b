//! The outbound path: accepting messages into the bounded queue with their client ids and
//! status events, flushing the queue (and re-sending unacked messages once per new connection)
//! when ready, typing indicators (coalesced to the latest state, one start per throttle window),
//! and turn cancellation.

use super::Engine;
use super::queue::{Admit, Payload, Stage};
use crate::dialect::{Failure, Outbound};
use crate::error::{DialectError, EngineError};
use crate::event::{DeliveryStatus, FailReason};
use crate::ids::ClientId;
use crate::time::Instant;

impl Engine {
    pub(super) fn enqueue(
        &mut self,
        now: Instant,
        payload: Payload,
    ) -> Result<ClientId, EngineError> {
        let size = match &payload {
            Payload::Text(t) => t.len(),
            Payload::Audio { data, .. } => {
                if !self.caps.audio {
                    return Err(EngineError::Unsupported {
                        dialect: self.dialect.name(),
                        what: "audio",
                    });
                }
                data.len()
            }
        };
        let limit = self.config.max_frame_bytes;
        if size > limit {
            return Err(EngineError::TooLarge { size, limit });
        }
        let id = ClientId::from_parts(self.wall_ms(now), self.rng.bytes10());
        match self.queue.push(id, payload) {
            Admit::Rejected => {
                return Err(EngineError::QueueFull {
                    capacity: self.config.queue_capacity,
                });
            }
            Admit::FailedNew => {
                self.emit_status_failed(id, FailReason::Overflow);
                return Ok(id);
            }
            Admit::Accepted { dropped } => {
                if let Some(old) = dropped {
                    self.emit_status_failed(old, FailReason::Overflow);
                }
                self.emit_status(id, DeliveryStatus::Queued, None);
            }
        }
        if self.config.lazy_connect {
            self.connect_if_idle(now);
        }
        if self.state().is_ready() {
            self.flush_queue(now);
        }
        Ok(id)
    }

    /// Hands every message that is not on the current connection yet to the dialect, in order.
    /// With `ordered_sends` (and acks) only one message is in flight at a time: the flush stops
    /// at the first unsettled message on this connection, and an ack or rejection resumes it.
    pub(super) fn flush_queue(&mut self, now: Instant) {
        let one_at_a_time = self.caps.ordered_sends && self.caps.acks;
        for (id, stage, epoch) in self.queue.snapshot() {
            if !self.state().is_ready() {
                return;
            }
            if stage == Stage::InFlight && epoch == self.epoch {
                if one_at_a_time {
                    return; // the previous message is not answered yet
                }
                continue;
            }
            let Some(pending) = self.queue.get(id) else {
                continue; // settled by an earlier step of this flush
            };
            let payload = pending.payload.clone();
            let resend = stage == Stage::InFlight;
            let command = match &payload {
                Payload::Text(text) => Outbound::Message {
                    client_id: id,
                    text,
                    resend,
                },
                Payload::Audio { format, data } => Outbound::Audio {
                    client_id: id,
                    format,
                    data,
                    resend,
                },
            };
            let mut out = self.actions();
            let result = self.dialect.encode(command, &mut out);
            match result {
                Ok(()) => {
                    if self.caps.acks {
                        self.queue.mark_in_flight(id, self.epoch, now);
                    } else {
                        self.queue.remove(id);
                    }
                    if !resend {
                        self.emit_status(id, DeliveryStatus::Sent, None);
                    }
                    self.finish_dialect_call(now, out);
                    if one_at_a_time && self.queue.get(id).is_some() {
                        return; // the next one goes when this one is settled
                    }
                }
                Err(DialectError::NotConnected) => {
                    self.finish_dialect_call(now, out);
                    let f = Failure::protocol("dialect had no connection while ready");
                    self.connection_failed(now, f);
                    return;
                }
                Err(_) => {
                    self.finish_dialect_call(now, out);
                    if self.queue.remove(id).is_some() {
                        self.emit_status_failed(id, FailReason::Invalid);
                    }
                }
            }
        }
    }

    /// Encodes a non-message command while ready; failures to encode are dropped (the dialect
    /// declared the capability, so this only happens on a dialect bug or a dying connection).
    pub(super) fn encode(&mut self, now: Instant, command: Outbound<'_>) -> bool {
        let mut out = self.actions();
        let ok = self.dialect.encode(command, &mut out).is_ok();
        self.finish_dialect_call(now, out);
        ok
    }

    pub(super) fn set_typing(&mut self, now: Instant, active: bool) {
        if !self.caps.typing {
            return;
        }
        self.typing.desired = Some(active);
        if active && self.config.lazy_connect {
            self.connect_if_idle(now);
        }
        if self.state().is_ready() {
            self.flush_typing(now);
        }
    }

    /// Puts the desired typing state on the wire, honouring the start throttle.
    pub(super) fn flush_typing(&mut self, now: Instant) {
        let Some(active) = self.typing.desired else {
            return;
        };
        if !self.state().is_ready() {
            return;
        }
        if !active {
            self.typing.desired = None;
            self.typing.retry_at = None;
            if self.typing.sent {
                self.typing.sent = false;
                self.encode(now, Outbound::Typing { active: false });
            }
            return;
        }
        let next_allowed = self
            .typing
            .last_start
            .map(|t| t + self.config.typing_throttle);
        match next_allowed {
            Some(at) if now < at => {
                if self.typing.sent {
                    self.typing.desired = None; // already shown as typing: drop the repeat
                } else {
                    self.typing.retry_at = Some(at); // restart after a stop: wait for the window
                }
            }
            _ => {
                self.typing.desired = None;
                self.typing.retry_at = None;
                if self.encode(now, Outbound::Typing { active: true }) {
                    self.typing.sent = true;
                    self.typing.last_start = Some(now);
                }
            }
        }
    }

    /// `cancel_turn`: server-side when possible, else every open turn ends locally.
    pub(super) fn cancel(&mut self, now: Instant) {
        if self.turns.open_turns() == 0 {
            return;
        }
        if self.caps.cancel && self.state().is_ready() && self.encode(now, Outbound::CancelTurn) {
            return;
        }
        let mut buf = std::mem::take(&mut self.scratch);
        self.turns.cancel_all(&mut buf);
        self.emit_items(&mut buf);
        self.scratch = buf;
    }

    pub(super) fn emit_status_failed(&mut self, id: ClientId, reason: FailReason) {
        self.emit_status(id, DeliveryStatus::Failed { reason }, None);
    }
}

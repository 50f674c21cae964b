//! The outbound queue: every message the app sent and that is not yet acknowledged, in send
//! order, bounded by `Config::queue_capacity`.
//!
//! A message is `Queued` until the engine hands it to the dialect while ready, then `InFlight`
//! until the dialect reports an ack (or, for dialects without acks, it leaves the queue at once).
//! In-flight messages stay queued across reconnects and are re-sent with the same client id. The
//! overflow policy only ever drops messages that were never sent: dropping an in-flight one could
//! report `Failed` for a message the server already stored.

use crate::Instant;
use crate::config::OverflowPolicy;
use crate::ids::ClientId;
use std::collections::VecDeque;

/// What a queued message carries.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Payload {
    Text(String),
    Audio { format: String, data: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    Queued,
    InFlight,
}

#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub(crate) id: ClientId,
    pub(crate) payload: Payload,
    pub(crate) stage: Stage,
    /// Connection epoch of the last hand-over to the dialect.
    pub(crate) epoch: u64,
    /// When it was last handed over.
    pub(crate) sent_at: Instant,
}

/// Result of offering a message to a full or non-full queue.
#[derive(Debug, PartialEq)]
pub(crate) enum Admit {
    /// Accepted; `dropped` is the never-sent message evicted to make room, if any.
    Accepted { dropped: Option<ClientId> },
    /// Full and every message is in flight (`DropOldest`): the new message fails.
    FailedNew,
    /// Full under `RejectNew`.
    Rejected,
}

#[derive(Debug)]
pub(crate) struct Queue {
    capacity: usize,
    policy: OverflowPolicy,
    items: VecDeque<Pending>,
}

impl Queue {
    pub(crate) fn new(capacity: usize, policy: OverflowPolicy) -> Queue {
        Queue {
            capacity: capacity.max(1),
            policy,
            items: VecDeque::new(), // grows on use: an idle client holds no slots
        }
    }

    pub(crate) fn push(&mut self, id: ClientId, payload: Payload) -> Admit {
        let mut dropped = None;
        if self.items.len() >= self.capacity {
            match self.policy {
                OverflowPolicy::RejectNew => return Admit::Rejected,
                OverflowPolicy::DropOldest => {
                    match self.items.iter().position(|p| p.stage == Stage::Queued) {
                        Some(i) => dropped = self.items.remove(i).map(|p| p.id),
                        None => return Admit::FailedNew,
                    }
                }
            }
        }
        self.items.push_back(Pending {
            id,
            payload,
            stage: Stage::Queued,
            epoch: 0,
            sent_at: Instant::ZERO,
        });
        Admit::Accepted { dropped }
    }

    /// Removes message `id` (acked, rejected); `None` if unknown (already settled).
    pub(crate) fn remove(&mut self, id: ClientId) -> Option<Pending> {
        let i = self.items.iter().position(|p| p.id == id)?;
        self.items.remove(i)
    }

    pub(crate) fn mark_in_flight(&mut self, id: ClientId, epoch: u64, now: Instant) {
        if let Some(p) = self.items.iter_mut().find(|p| p.id == id) {
            p.stage = Stage::InFlight;
            p.epoch = epoch;
            p.sent_at = now;
        }
    }

    /// When the oldest message handed over on connection `epoch` was sent, if any awaits an ack.
    pub(crate) fn oldest_unacked(&self, epoch: u64) -> Option<Instant> {
        self.items
            .iter()
            .filter(|p| p.stage == Stage::InFlight && p.epoch == epoch)
            .map(|p| p.sent_at)
            .min()
    }

    /// Ids of all messages in send order, with stage and epoch (snapshot for flushing).
    pub(crate) fn snapshot(&self) -> Vec<(ClientId, Stage, u64)> {
        self.items
            .iter()
            .map(|p| (p.id, p.stage, p.epoch))
            .collect()
    }

    pub(crate) fn get(&self, id: ClientId) -> Option<&Pending> {
        self.items.iter().find(|p| p.id == id)
    }

    /// Empties the queue, returning every id in order.
    pub(crate) fn drain_ids(&mut self) -> Vec<ClientId> {
        self.items.drain(..).map(|p| p.id).collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> ClientId {
        ClientId::from_parts(1, [n; 10])
    }

    fn text() -> Payload {
        Payload::Text("x".into())
    }

    #[test]
    fn drop_oldest_evicts_the_oldest_never_sent_message() {
        let mut q = Queue::new(2, OverflowPolicy::DropOldest);
        assert_eq!(q.push(id(1), text()), Admit::Accepted { dropped: None });
        assert_eq!(q.push(id(2), text()), Admit::Accepted { dropped: None });
        q.mark_in_flight(id(1), 1, Instant::from_millis(5));
        assert_eq!(
            q.push(id(3), text()),
            Admit::Accepted {
                dropped: Some(id(2))
            }
        );
        q.mark_in_flight(id(3), 1, Instant::from_millis(7));
        assert_eq!(q.push(id(4), text()), Admit::FailedNew);
        assert_eq!(q.oldest_unacked(1), Some(Instant::from_millis(5)));
        assert_eq!(q.oldest_unacked(2), None);
        assert_eq!(q.len(), 2);
        assert_eq!(
            q.snapshot(),
            vec![(id(1), Stage::InFlight, 1), (id(3), Stage::InFlight, 1)]
        );
    }

    #[test]
    fn reject_new_keeps_the_queue_and_remove_settles_once() {
        let mut q = Queue::new(1, OverflowPolicy::RejectNew);
        assert!(matches!(q.push(id(1), text()), Admit::Accepted { .. }));
        assert_eq!(q.push(id(2), text()), Admit::Rejected);
        assert!(q.remove(id(1)).is_some());
        assert!(q.remove(id(1)).is_none());
        assert_eq!(q.len(), 0);
    }
}

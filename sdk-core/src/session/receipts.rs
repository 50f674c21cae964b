//! Receipt routing and the session's counters.
//!
//! The terminal rule is written here once: a message's last status is `Acked` or `Failed`, or
//! `Sent` for dialects without acks ([`is_terminal`]). `Receipts` tracks every message that
//! has not reached it (bounded by the engine's queue capacity: a message is open from `send`
//! until its terminal status) and, when the session closes, fails those still open with
//! `Closed`, so every message reaches exactly one terminal status.

use crate::event::{DeliveryStatus, FailReason};
use crate::ids::ClientId;
use crate::state::ConnectionState;

/// Counters of one session (or client) since it was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SessionStats {
    /// Messages accepted by `send` / `send_audio`.
    pub sent: u64,
    /// Messages the backend acknowledged.
    pub acked: u64,
    /// Messages that reached `Failed`.
    pub failed: u64,
    /// Envelopes delivered (the engine's last `seq`).
    pub events: u64,
    /// Times the connection entered `Reconnecting`.
    pub reconnects: u64,
    /// Messages queued or in flight right now.
    pub queued: u64,
    /// Inbound events dropped as repeats (duplicated frames, replays after resume), so the app
    /// saw each event once.
    pub duplicates_dropped: u64,
}

/// Whether `status` is the last one a message gets: `Acked`, `Failed`, or `Sent` when the
/// dialect has no acks (`acks == false`).
///
/// ```
/// use chatwire::event::{DeliveryStatus, FailReason};
/// use chatwire::session::is_terminal;
/// assert!(is_terminal(&DeliveryStatus::Acked, true));
/// assert!(is_terminal(&DeliveryStatus::Failed { reason: FailReason::Closed }, true));
/// assert!(!is_terminal(&DeliveryStatus::Sent, true));
/// assert!(is_terminal(&DeliveryStatus::Sent, false)); // no acks: sent is the end
/// assert!(!is_terminal(&DeliveryStatus::Queued, false));
/// ```
pub fn is_terminal(status: &DeliveryStatus, acks: bool) -> bool {
    match status {
        DeliveryStatus::Acked | DeliveryStatus::Failed { .. } => true,
        DeliveryStatus::Sent => !acks,
        _ => false,
    }
}

/// The open messages and the counters (see the module docs).
#[derive(Debug)]
pub(super) struct Receipts {
    acks: bool,
    /// Sorted, no repeats (a sorted `Vec` rather than a `BTreeSet`: small, and no B-tree code
    /// in the WebAssembly build).
    open: Vec<ClientId>,
    stats: SessionStats,
}

impl Receipts {
    pub(super) fn new(acks: bool) -> Receipts {
        Receipts {
            acks,
            open: Vec::new(),
            stats: SessionStats::default(),
        }
    }

    /// A message was accepted (before any of its statuses is routed).
    pub(super) fn opened(&mut self, id: ClientId) {
        if let Err(at) = self.open.binary_search(&id) {
            self.open.insert(at, id);
            self.stats.sent += 1;
        }
    }

    /// Routes a status: `Some(terminal)` for an open message, `None` for one that is not (its
    /// terminal status was already routed; never emitted twice).
    pub(super) fn status(&mut self, id: ClientId, status: &DeliveryStatus) -> Option<bool> {
        let at = self.open.binary_search(&id).ok()?;
        let terminal = is_terminal(status, self.acks);
        if terminal {
            self.open.remove(at);
            match status {
                DeliveryStatus::Acked => self.stats.acked += 1,
                DeliveryStatus::Failed { .. } => self.stats.failed += 1,
                _ => {}
            }
        }
        Some(terminal)
    }

    /// A state change, for the reconnect counter.
    pub(super) fn state(&mut self, to: ConnectionState) {
        if matches!(to, ConnectionState::Reconnecting { .. }) {
            self.stats.reconnects += 1;
        }
    }

    /// The session closed: every message still open fails with `Closed`, in id (= send) order.
    pub(super) fn close(&mut self) -> Vec<(ClientId, DeliveryStatus)> {
        let open = std::mem::take(&mut self.open);
        self.stats.failed += open.len() as u64;
        let failed = DeliveryStatus::Failed {
            reason: FailReason::Closed,
        };
        open.into_iter().map(|id| (id, failed.clone())).collect()
    }

    /// The counters kept here (events, queue and dedup figures come from the engine).
    pub(super) fn stats(&self) -> SessionStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> ClientId {
        ClientId::from_parts(1, [n; 10])
    }

    #[test]
    fn one_terminal_status_per_message_and_close_fails_the_rest() {
        let mut r = Receipts::new(true);
        r.opened(id(1));
        r.opened(id(2));
        r.opened(id(1));
        assert_eq!(r.stats().sent, 2, "opening twice counts once");
        assert_eq!(r.status(id(1), &DeliveryStatus::Sent), Some(false));
        assert_eq!(r.status(id(1), &DeliveryStatus::Acked), Some(true));
        assert_eq!(
            r.status(id(1), &DeliveryStatus::Acked),
            None,
            "already final"
        );
        assert_eq!(
            r.status(id(9), &DeliveryStatus::Queued),
            None,
            "never opened"
        );
        let closed = r.close();
        assert_eq!(
            closed,
            vec![(
                id(2),
                DeliveryStatus::Failed {
                    reason: FailReason::Closed
                }
            )]
        );
        assert_eq!((r.stats().acked, r.stats().failed), (1, 1));
        assert!(r.close().is_empty());
    }

    #[test]
    fn without_acks_sent_is_final() {
        let mut r = Receipts::new(false);
        r.opened(id(1));
        assert_eq!(r.status(id(1), &DeliveryStatus::Queued), Some(false));
        assert_eq!(r.status(id(1), &DeliveryStatus::Sent), Some(true));
        assert!(r.close().is_empty());
    }
}

//! Envelopes from the driver task to the subscribers, a burst at a time.
//!
//! The driver holds back the envelopes of a streak of inputs handled without waiting (its
//! outbox) and hands them over as one batch: before it waits or yields, before a receipt or
//! state change (an app that saw one finds its event in its stream already), before a request
//! (a new subscriber sees only later events) and when the session closes. Each subscriber's
//! channel carries whole batches, so a subscriber on another thread is woken at most once per
//! burst instead of once per event (with one channel message per event it would catch up after
//! the first, park, and be woken again for the next); [`Inbox`] hands the batch out one envelope
//! at a time. The channels are unbounded: a slow consumer is never dropped from or skipped.

use crate::event::Envelope;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// Envelopes in order, handed over together.
pub(crate) type Batch = Vec<Arc<Envelope>>;

/// The sending side of one subscriber.
pub(crate) type Subscriber = mpsc::UnboundedSender<Batch>;

/// A batch starts with room for this many envelopes (one streak of the driver's inputs yields
/// about as many), so it rarely grows.
const BATCH_ROOM: usize = 64;

/// Queues `envelope` in the outbox.
pub(crate) fn hold(outbox: &mut Batch, envelope: Arc<Envelope>) {
    if outbox.capacity() == 0 {
        outbox.reserve(BATCH_ROOM);
    }
    outbox.push(envelope);
}

/// Hands the outbox to every subscriber, dropping the subscribers that went away.
pub(crate) fn deliver(outbox: &mut Batch, subscribers: &mut Vec<Subscriber>) {
    if outbox.is_empty() {
        return;
    }
    let batch = std::mem::take(outbox);
    match subscribers.as_mut_slice() {
        [] => {}
        // One subscriber (the usual case) takes the batch itself: no copy, and each envelope
        // is its only holder, so `EventStream` hands it out without cloning it.
        [tx] => {
            if tx.send(batch).is_err() {
                subscribers.clear();
            }
        }
        _ => subscribers.retain(|tx| tx.send(batch.clone()).is_ok()),
    }
}

/// The receiving side of one subscriber: the envelopes of the batches, one at a time.
#[derive(Debug)]
pub(crate) struct Inbox {
    rx: mpsc::UnboundedReceiver<Batch>,
    ready: std::vec::IntoIter<Arc<Envelope>>,
}

impl Inbox {
    /// A subscriber's two ends.
    pub(crate) fn channel() -> (Subscriber, Inbox) {
        let (tx, rx) = mpsc::unbounded_channel();
        let inbox = Inbox {
            rx,
            ready: Vec::new().into_iter(),
        };
        (tx, inbox)
    }

    /// The next envelope; `None` once the driver dropped the subscriber and every batch was
    /// handed out.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Arc<Envelope>>> {
        loop {
            if let Some(envelope) = self.ready.next() {
                return Poll::Ready(Some(envelope));
            }
            match self.rx.poll_recv(cx) {
                Poll::Ready(Some(batch)) => self.ready = batch.into_iter(),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// The next envelope, waiting for it.
    pub(crate) async fn recv(&mut self) -> Option<Arc<Envelope>> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The next envelope if one is buffered.
    pub(crate) fn try_recv(&mut self) -> Option<Arc<Envelope>> {
        loop {
            if let Some(envelope) = self.ready.next() {
                return Some(envelope);
            }
            self.ready = self.rx.try_recv().ok()?.into_iter();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;

    fn envelope(seq: u64) -> Arc<Envelope> {
        Arc::new(Envelope {
            seq,
            cursor: None,
            conversation_id: None,
            turn_id: None,
            message_id: None,
            part_id: None,
            timestamp_ms: 0,
            event: Event::Heartbeat,
            raw: None,
        })
    }

    fn drain(inbox: &mut Inbox) -> Vec<u64> {
        std::iter::from_fn(|| inbox.try_recv())
            .map(|e| e.seq)
            .collect()
    }

    #[test]
    fn batches_arrive_whole_and_in_order_for_every_subscriber() {
        let (a_tx, mut a) = Inbox::channel();
        let (b_tx, mut b) = Inbox::channel();
        let mut subscribers = vec![a_tx, b_tx];
        let mut outbox = Batch::new();
        for seq in 1..=3 {
            hold(&mut outbox, envelope(seq));
        }
        deliver(&mut outbox, &mut subscribers);
        assert!(outbox.is_empty());
        hold(&mut outbox, envelope(4));
        deliver(&mut outbox, &mut subscribers);
        assert_eq!(drain(&mut a), [1, 2, 3, 4]);
        assert_eq!(drain(&mut b), [1, 2, 3, 4]);
        assert!(a.try_recv().is_none());
    }

    #[test]
    fn a_lone_subscriber_holds_the_only_reference() {
        let (tx, mut inbox) = Inbox::channel();
        let mut subscribers = vec![tx];
        let mut outbox = Batch::new();
        hold(&mut outbox, envelope(1));
        deliver(&mut outbox, &mut subscribers);
        let got = inbox.try_recv().map(|e| Arc::strong_count(&e));
        assert_eq!(got, Some(1));
    }

    #[test]
    fn gone_subscribers_are_dropped_and_the_rest_still_served() {
        let (a_tx, a) = Inbox::channel();
        let (b_tx, mut b) = Inbox::channel();
        let mut subscribers = vec![a_tx, b_tx];
        drop(a);
        let mut outbox = Batch::new();
        hold(&mut outbox, envelope(1));
        deliver(&mut outbox, &mut subscribers);
        assert_eq!(subscribers.len(), 1);
        assert_eq!(drain(&mut b), [1]);
        drop(b);
        hold(&mut outbox, envelope(2));
        deliver(&mut outbox, &mut subscribers);
        assert!(subscribers.is_empty());
    }

    #[test]
    fn the_stream_ends_after_the_last_batch() {
        let (tx, mut inbox) = Inbox::channel();
        let mut subscribers = vec![tx];
        let mut outbox = Batch::new();
        hold(&mut outbox, envelope(7));
        deliver(&mut outbox, &mut subscribers);
        subscribers.clear();
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(matches!(inbox.poll_recv(&mut cx), Poll::Ready(Some(e)) if e.seq == 7));
        assert!(matches!(inbox.poll_recv(&mut cx), Poll::Ready(None)));
    }
}

//! The pulled halves of the client: [`EventSubscription`] (events), [`StateSubscription`]
//! (connection state) and [`Receipt`] (one message's delivery).
//!
//! Guarantees: `next()` returns items in the core's order, `None` once the client closed or
//! after `cancel()`, and keeps returning `None` after that. `cancel()` wakes a pending `next()`
//! and releases the core subscription at once, so a cancelled Kotlin `Flow` or a Python
//! `async for` left with `break` leaves no subscriber behind. Dropping a pending `next()` future
//! (coroutine cancellation) loses no event: the core channels are cancel-safe.

use tokio::sync::{Mutex, watch};

use chatwire::client::StateWatch;

use crate::ChatError;
use crate::listener::CountedStream;
use crate::types::{ConnectionState, DeliveryStatus, Envelope};

/// Events of one client from the moment of `subscribe()`, pulled one by one.
#[derive(Debug, uniffi::Object)]
pub struct EventSubscription {
    stream: Mutex<Option<CountedStream>>,
    cancelled: watch::Sender<bool>,
}

#[uniffi::export]
impl EventSubscription {
    /// The next event, or none when the client is closed or the subscription cancelled.
    pub async fn next(&self) -> Option<Envelope> {
        let mut cancelled = self.cancelled.subscribe();
        if *cancelled.borrow() {
            return None;
        }
        let mut slot = self.stream.lock().await;
        let stream = slot.as_mut()?;
        let next = tokio::select! {
            envelope = stream.recv() => envelope,
            _ = cancelled.wait_for(|c| *c) => None,
        };
        match next {
            Some(envelope) => Some(envelope),
            None => {
                *slot = None;
                None
            }
        }
    }

    /// Ends the subscription: a pending and every later `next()` returns none. Idempotent.
    pub fn cancel(&self) {
        self.cancelled.send_replace(true);
        if let Ok(mut slot) = self.stream.try_lock() {
            *slot = None;
        }
    }
}

impl EventSubscription {
    pub(crate) fn new(stream: CountedStream) -> Self {
        EventSubscription {
            stream: Mutex::new(Some(stream)),
            cancelled: watch::channel(false).0,
        }
    }
}

/// Connection-state changes of one client, pulled one by one.
#[derive(Debug, uniffi::Object)]
pub struct StateSubscription {
    watch: Mutex<Option<StateWatch>>,
    cancelled: watch::Sender<bool>,
}

#[uniffi::export]
impl StateSubscription {
    /// The state after the next change (intermediate states may be skipped when several
    /// changes happen between two calls; the last one is never skipped). `Closed` is the last
    /// state returned; after it, and after `cancel()`, none.
    pub async fn next(&self) -> Option<ConnectionState> {
        self.next_core().await
    }

    /// Ends the subscription. Idempotent.
    pub fn cancel(&self) {
        self.cancelled.send_replace(true);
        if let Ok(mut slot) = self.watch.try_lock() {
            *slot = None;
        }
    }
}

impl StateSubscription {
    pub(crate) fn new(watch: StateWatch) -> Self {
        StateSubscription {
            watch: Mutex::new(Some(watch)),
            cancelled: watch::channel(false).0,
        }
    }

    /// [`next`](Self::next) with the core's state (the C API serialises it to JSON).
    pub(crate) async fn next_core(&self) -> Option<chatwire::ConnectionState> {
        let mut cancelled = self.cancelled.subscribe();
        if *cancelled.borrow() {
            return None;
        }
        let mut slot = self.watch.lock().await;
        let watch = slot.as_mut()?;
        // `Closed` is final and the last state returned: the watch itself never ends while the
        // client is alive.
        let next = if watch.get() == chatwire::ConnectionState::Closed {
            Some(chatwire::ConnectionState::Closed)
        } else {
            tokio::select! {
                state = watch.changed() => state.ok(),
                _ = cancelled.wait_for(|c| *c) => None,
            }
        };
        if next.is_none_or(|s| s == chatwire::ConnectionState::Closed) {
            *slot = None;
        }
        next
    }
}

/// One sent message: its id and delivery status.
#[derive(Debug, uniffi::Object)]
pub struct Receipt {
    inner: chatwire::client::Receipt,
}

#[uniffi::export]
impl Receipt {
    /// The message's client id (a UUIDv7 string; also its idempotency key).
    pub fn client_id(&self) -> String {
        self.inner.client_id().to_string()
    }

    /// The current status.
    pub fn status(&self) -> DeliveryStatus {
        self.inner.status()
    }

    /// Waits for the end of delivery: `Acked`, or `Sent` on dialects without acks.
    ///
    /// # Errors
    /// `DeliveryFailed` (the message says why), `Closed` when the client went away first.
    pub async fn acked(&self) -> Result<DeliveryStatus, ChatError> {
        Ok(self.inner.acked().await?)
    }
}

impl Receipt {
    pub(crate) fn new(inner: chatwire::client::Receipt) -> Self {
        Receipt { inner }
    }

    /// The core receipt (for `statuses()` and the C API).
    pub(crate) fn core(&self) -> &chatwire::client::Receipt {
        &self.inner
    }
}

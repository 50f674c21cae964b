//! Pushed events for Kotlin, Swift and Python: a foreign [`EventListener`] called for every
//! event, with a [`ListenerHandle`] that cancels on drop — a convenience over the pulled
//! [`EventSubscription`](crate::EventSubscription), which stays the primary path.
//!
//! Guarantees: a listener's `on_event` runs on one thread of its own (`chatwire-listener`, never
//! a thread of the library's tokio runtime, so a slow or blocking listener cannot stall a
//! client), once per event, in `seq` order; `on_end` runs once after the last event when the
//! client closes, never after a cancel. `cancel()` (or dropping the handle: Kotlin `close()`,
//! Python garbage collection) releases the core subscription at once; a call already under way
//! finishes, no new one starts.
//!
//! Also here: [`ChatClient::subscriber_count`], the number of live subscriptions and listeners,
//! which shows a cancelled `Flow` or a `break` out of `async for` leaves none behind.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use chatwire::client::EventStream;
use tokio::sync::watch;

use crate::ChatError;
use crate::client::{ChatClient, runtime};
use crate::types::Envelope;

/// Receives a client's events, implemented in the foreign language.
#[uniffi::export(with_foreign)]
pub trait EventListener: Send + Sync {
    /// One event, in `seq` order.
    fn on_event(&self, envelope: Envelope);
    /// The client closed and every event was delivered (not called after a cancel).
    fn on_end(&self);
}

/// Keeps an [`EventListener`] registered; cancels it when dropped.
#[derive(Debug, uniffi::Object)]
pub struct ListenerHandle {
    cancelled: watch::Sender<bool>,
    /// Set once the events ended, before `on_end` runs.
    ended: Arc<AtomicBool>,
}

#[uniffi::export]
impl ListenerHandle {
    /// Stops the listener: no call starts after this returns (one under way finishes).
    /// Idempotent.
    pub fn cancel(&self) {
        self.cancelled.send_replace(true);
    }

    /// Whether the listener was cancelled or its events ended.
    pub fn is_finished(&self) -> bool {
        *self.cancelled.borrow() || self.ended.load(Ordering::SeqCst)
    }
}

impl Drop for ListenerHandle {
    fn drop(&mut self) {
        self.cancel();
    }
}

#[uniffi::export]
impl ChatClient {
    /// Calls `listener` for every event from now on, on a thread of its own, until the client
    /// closes or the returned handle is cancelled or dropped. Keep the handle.
    ///
    /// # Errors
    /// `Internal` when the thread cannot start.
    pub fn listen(
        &self,
        listener: Arc<dyn EventListener>,
    ) -> Result<Arc<ListenerHandle>, ChatError> {
        let mut stream = self.counted_events();
        let (cancelled, mut watch) = watch::channel(false);
        let runtime = runtime()?;
        let ended = Arc::new(AtomicBool::new(false));
        let ended_in_thread = ended.clone();
        std::thread::Builder::new()
            .name("chatwire-listener".into())
            .spawn(move || {
                loop {
                    let next = runtime.block_on(async {
                        tokio::select! {
                            biased;
                            _ = watch.wait_for(|c| *c) => None,
                            envelope = stream.recv() => Some(envelope),
                        }
                    });
                    match next {
                        None => return, // cancelled (or the handle is gone)
                        Some(None) => {
                            // Released before `on_end`, so the listener sees the count at 0.
                            drop(stream);
                            ended_in_thread.store(true, Ordering::SeqCst);
                            if !*watch.borrow() {
                                listener.on_end();
                            }
                            return;
                        }
                        Some(Some(envelope)) => {
                            if *watch.borrow() {
                                return;
                            }
                            listener.on_event(envelope);
                        }
                    }
                }
            })
            .map_err(|e| ChatError::Internal {
                message: format!("cannot start the listener thread: {e}"),
            })?;
        Ok(Arc::new(ListenerHandle { cancelled, ended }))
    }

    /// How many event subscriptions and listeners of this client are live (neither cancelled
    /// nor ended). A cancelled Kotlin `Flow` collector or a `break` out of Python's `async for`
    /// brings it back down.
    pub fn subscriber_count(&self) -> u32 {
        u32::try_from(self.subscribers().load(Ordering::SeqCst)).unwrap_or(u32::MAX)
    }
}

/// Counts the live subscriptions of one client.
#[derive(Debug, Default, Clone)]
pub(crate) struct Subscribers(Arc<AtomicUsize>);

impl Subscribers {
    /// `stream`, counted until it is dropped.
    pub(crate) fn count(&self, stream: EventStream) -> CountedStream {
        self.0.fetch_add(1, Ordering::SeqCst);
        CountedStream {
            stream,
            count: self.0.clone(),
        }
    }

    pub(crate) fn load(&self, order: Ordering) -> usize {
        self.0.load(order)
    }
}

/// An event stream that counts as one live subscriber until dropped.
#[derive(Debug)]
pub(crate) struct CountedStream {
    stream: EventStream,
    count: Arc<AtomicUsize>,
}

impl CountedStream {
    /// The next event; `None` after the client closed.
    pub(crate) async fn recv(&mut self) -> Option<Envelope> {
        self.stream.recv().await
    }
}

impl Drop for CountedStream {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::SeqCst);
    }
}

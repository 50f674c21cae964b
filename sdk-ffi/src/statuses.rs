//! [`StatusSubscription`]: one message's delivery statuses, pulled one by one
//! (`Receipt.statuses()` → `next()`), in the same pull style as [`crate::EventSubscription`].
//!
//! Guarantees (those of the core's `Receipt::statuses`): `next()` returns the receipt's current
//! status first, then every later one, and ends (none) after the last one (`Acked`, `Failed`, or
//! `Sent` on dialects without acks). A status replaced before `next()` was called may be
//! skipped; the last one never is. `cancel()` wakes a pending `next()` and every later call
//! returns none. Dropping a pending `next()` future (coroutine cancellation, a C timeout) loses
//! nothing: the next call resumes where it stopped.

use std::pin::Pin;
use std::sync::Arc;

use futures_util::{Stream, StreamExt};
use tokio::sync::{Mutex, watch};

use crate::subscription::Receipt;
use crate::types::DeliveryStatus;

type Statuses = Pin<Box<dyn Stream<Item = chatwire::event::DeliveryStatus> + Send>>;

/// The delivery statuses of one message, pulled one by one. From [`Receipt::statuses`].
#[derive(uniffi::Object)]
pub struct StatusSubscription {
    stream: Mutex<Option<Statuses>>,
    cancelled: watch::Sender<bool>,
}

#[uniffi::export]
impl Receipt {
    /// Every status of this message from the current one on, pulled with
    /// [`StatusSubscription::next`]; it ends after the last status.
    ///
    /// ```no_run
    /// # async fn f(client: std::sync::Arc<chatwire_ffi::ChatClient>) -> Result<(), chatwire_ffi::ChatError> {
    /// let receipt = client.send("hello".into()).await?;
    /// let statuses = receipt.statuses();
    /// while let Some(status) = statuses.next().await {
    ///     println!("{status:?}"); // Queued, Sent, Acked
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn statuses(&self) -> Arc<StatusSubscription> {
        Arc::new(StatusSubscription::new(self.core()))
    }
}

#[uniffi::export]
impl StatusSubscription {
    /// The next status, or none after the last one or after `cancel()`.
    pub async fn next(&self) -> Option<DeliveryStatus> {
        self.next_core().await
    }

    /// Ends the subscription: a pending and every later `next()` returns none. Idempotent.
    pub fn cancel(&self) {
        self.cancelled.send_replace(true);
        if let Ok(mut slot) = self.stream.try_lock() {
            *slot = None;
        }
    }
}

impl StatusSubscription {
    pub(crate) fn new(receipt: &chatwire::client::Receipt) -> Self {
        StatusSubscription {
            stream: Mutex::new(Some(Box::pin(receipt.statuses()))),
            cancelled: watch::channel(false).0,
        }
    }

    /// [`next`](Self::next) with the core's status (the C API serialises it to JSON).
    pub(crate) async fn next_core(&self) -> Option<chatwire::event::DeliveryStatus> {
        let mut cancelled = self.cancelled.subscribe();
        if *cancelled.borrow() {
            return None;
        }
        let mut slot = self.stream.lock().await;
        let stream = slot.as_mut()?;
        let next = tokio::select! {
            status = stream.next() => status,
            _ = cancelled.wait_for(|c| *c) => None,
        };
        if next.is_none() {
            *slot = None;
        }
        next
    }
}

impl std::fmt::Debug for StatusSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusSubscription")
            .field("cancelled", &*self.cancelled.borrow())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChatClient;
    use chatwire_mock::MockConfig;

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        crate::client::runtime().unwrap().block_on(future)
    }

    #[test]
    fn statuses_run_from_queued_to_acked_and_then_end() {
        block_on(async {
            let mock = chatwire_mock::spawn(MockConfig::default().seed(1))
                .await
                .unwrap();
            let json = format!(r#"{{"dialect":"native","baseUrl":"{}"}}"#, mock.base_url());
            let client = ChatClient::new(json).unwrap();
            let receipt = client.send("hi".into()).await.unwrap();
            let statuses = receipt.statuses();
            let mut seen = Vec::new();
            while let Some(status) = statuses.next().await {
                seen.push(status);
            }
            assert_eq!(seen.last(), Some(&DeliveryStatus::Acked), "{seen:?}");
            assert!(seen.len() <= 3, "{seen:?}");
            assert_eq!(statuses.next().await, None, "ended for good");
            client.shutdown().await;
            mock.shutdown().await;
        });
    }

    #[test]
    fn cancel_ends_a_pending_next_and_the_ones_after() {
        // Nothing listens on port 9: the message stays queued, `next()` would wait.
        let client =
            ChatClient::new(r#"{"dialect":"native","baseUrl":"http://127.0.0.1:9"}"#.into())
                .unwrap();
        block_on(async {
            let receipt = client.send("hi".into()).await.unwrap();
            let statuses = receipt.statuses();
            assert_eq!(statuses.next().await, Some(DeliveryStatus::Queued));
            let waiting = statuses.clone();
            let pending = tokio::spawn(async move { waiting.next().await });
            statuses.cancel();
            let woken = tokio::time::timeout(std::time::Duration::from_secs(5), pending).await;
            assert_eq!(woken.unwrap().unwrap(), None);
            assert_eq!(statuses.next().await, None);
            client.shutdown().await;
        });
    }
}

//! [`Receipt`]: the client id of one sent message and its delivery status
//! (`Queued -> Sent -> Acked`, or `Failed{reason}`), as the engine reports it.
//!
//! The driver routes each `MessageStatus` event to the receipt of that client id, so a receipt
//! sees exactly the statuses the event stream shows for it. For dialects without acks `Sent` is
//! the last status and [`Receipt::acked`] resolves on it.

use super::ClientError;
use super::watch::StatusWatch;
use crate::driver::ReceiptStatus;
use crate::event::DeliveryStatus;
use crate::ids::ClientId;
use futures_util::Stream;

/// The client id of a sent message and a live view of its delivery status.
///
/// ```no_run
/// # async fn f(client: chatwire::client::Client) -> Result<(), chatwire::client::ClientError> {
/// let receipt = client.send("hello").await?;
/// println!("{} is {:?}", receipt.client_id(), receipt.status());
/// receipt.acked().await?; // Err(DeliveryFailed(..)) if it failed
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Receipt {
    client_id: ClientId,
    status: StatusWatch,
}

impl Receipt {
    pub(super) fn new(client_id: ClientId, status: StatusWatch) -> Receipt {
        Receipt { client_id, status }
    }

    /// The message's client id (UUIDv7; the idempotency key towards the backend).
    ///
    /// ```no_run
    /// # async fn f(client: chatwire::client::Client) -> Result<(), chatwire::client::ClientError> {
    /// use chatwire::event::Event;
    /// let mut events = client.events();
    /// let receipt = client.send("hello").await?;
    /// while let Some(envelope) = events.recv().await {
    ///     if let Event::MessageStatus { client_id, status, .. } = envelope.event {
    ///         assert_eq!(client_id, receipt.client_id()); // the only message sent
    ///         println!("{status:?}");
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn client_id(&self) -> ClientId {
        self.client_id
    }

    /// The latest status.
    ///
    /// ```no_run
    /// # async fn f(client: chatwire::client::Client) -> Result<(), chatwire::client::ClientError> {
    /// use chatwire::event::DeliveryStatus;
    /// let receipt = client.send("hello").await?;
    /// if receipt.status() == DeliveryStatus::Queued {
    ///     println!("waiting for the connection");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn status(&self) -> DeliveryStatus {
        self.status.get()
    }

    /// A watch of the status, for `changed().await` loops.
    ///
    /// ```no_run
    /// # async fn f(client: chatwire::client::Client) -> Result<(), chatwire::client::ClientError> {
    /// let receipt = client.send("hello").await?;
    /// let mut status = receipt.status_watch();
    /// while let Ok(now) = status.changed().await {
    ///     println!("{now:?}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn status_watch(&self) -> StatusWatch {
        self.status.clone()
    }

    /// Every status from the current one on, ending after the last one (`Acked`, `Failed`, or
    /// `Sent` for dialects without acks). A status that is replaced before the stream is polled
    /// may be skipped; the last one never is.
    ///
    /// ```no_run
    /// # async fn f(receipt: chatwire::client::Receipt) {
    /// use futures_util::StreamExt;
    /// let mut statuses = Box::pin(receipt.statuses());
    /// while let Some(status) = statuses.next().await {
    ///     println!("{status:?}");
    /// }
    /// # }
    /// ```
    pub fn statuses(&self) -> impl Stream<Item = DeliveryStatus> + Send + 'static {
        let watch = self.status.clone();
        futures_util::stream::unfold(
            (watch, false, false),
            move |(mut watch, started, done)| async move {
                if done {
                    return None;
                }
                if started && watch.changed().await.is_err() {
                    return None;
                }
                let ReceiptStatus { status, terminal } = watch.current();
                Some((status, (watch, true, terminal)))
            },
        )
    }

    /// Waits for the end of delivery: `Ok(Acked)`, or `Ok(Sent)` for dialects without acks;
    /// [`ClientError::DeliveryFailed`] when the message failed, [`ClientError::Closed`] if the
    /// client went away first.
    ///
    /// ```no_run
    /// # async fn f(client: chatwire::client::Client) -> Result<(), chatwire::client::ClientError> {
    /// use chatwire::client::ClientError;
    /// let receipt = client.send("hello").await?;
    /// match receipt.acked().await {
    ///     Ok(status) => println!("delivered: {status:?}"),
    ///     Err(ClientError::DeliveryFailed(reason)) => println!("not delivered: {reason:?}"),
    ///     Err(other) => return Err(other),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn acked(&self) -> Result<DeliveryStatus, ClientError> {
        let mut watch = self.status.clone();
        loop {
            let ReceiptStatus { status, terminal } = watch.current();
            if terminal {
                return match status {
                    DeliveryStatus::Failed { reason } => Err(ClientError::DeliveryFailed(reason)),
                    status => Ok(status),
                };
            }
            if watch.changed().await.is_err() {
                let ReceiptStatus { status, terminal } = watch.current();
                return match status {
                    DeliveryStatus::Failed { reason } => Err(ClientError::DeliveryFailed(reason)),
                    status if terminal => Ok(status),
                    _ => Err(ClientError::Closed),
                };
            }
        }
    }
}

/// Standard base64 with padding (RFC 4648 §4), for audio payloads.
pub(super) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextets = [n >> 18, n >> 12, n >> 6, n];
        for (i, s) in sextets.iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(s & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::FailReason;
    use futures_util::StreamExt;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
        assert_eq!(base64(&[0xff, 0xfe]), "//4=");
    }

    /// A receipt fed the way the driver feeds it: statuses with the session's terminal flag.
    fn receipt(acks: bool) -> (Feed, Receipt) {
        let initial = ReceiptStatus {
            status: DeliveryStatus::Queued,
            terminal: false,
        };
        let (tx, rx) = tokio::sync::watch::channel(initial);
        let receipt = Receipt::new(ClientId::from_parts(1, [1; 10]), StatusWatch::new(rx));
        (Feed { tx, acks }, receipt)
    }

    struct Feed {
        tx: tokio::sync::watch::Sender<ReceiptStatus>,
        acks: bool,
    }

    impl Feed {
        fn send_replace(&self, status: DeliveryStatus) {
            let terminal = crate::session::is_terminal(&status, self.acks);
            self.tx.send_replace(ReceiptStatus { status, terminal });
        }
    }

    #[tokio::test]
    async fn acked_resolves_on_ack_and_statuses_end_there() {
        let (tx, r) = receipt(true);
        let mut statuses = Box::pin(r.statuses());
        assert_eq!(statuses.next().await, Some(DeliveryStatus::Queued));
        let waiter = tokio::spawn({
            let r = r.clone();
            async move { r.acked().await }
        });
        tx.send_replace(DeliveryStatus::Sent);
        assert_eq!(statuses.next().await, Some(DeliveryStatus::Sent));
        tx.send_replace(DeliveryStatus::Acked);
        drop(tx);
        assert_eq!(statuses.next().await, Some(DeliveryStatus::Acked));
        assert_eq!(statuses.next().await, None);
        assert_eq!(waiter.await.unwrap(), Ok(DeliveryStatus::Acked));
    }

    #[tokio::test]
    async fn sent_is_final_without_acks_and_failures_are_errors() {
        let (tx, r) = receipt(false);
        tx.send_replace(DeliveryStatus::Sent);
        assert_eq!(r.acked().await, Ok(DeliveryStatus::Sent));

        let (tx, r) = receipt(true);
        let failed = DeliveryStatus::Failed {
            reason: FailReason::Overflow,
        };
        tx.send_replace(failed);
        drop(tx);
        assert_eq!(
            r.acked().await,
            Err(ClientError::DeliveryFailed(FailReason::Overflow))
        );

        let (tx, r) = receipt(true);
        drop(tx);
        assert_eq!(r.acked().await, Err(ClientError::Closed));
    }
}

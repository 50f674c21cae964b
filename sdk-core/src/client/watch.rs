//! [`StateWatch`] and [`StatusWatch`]: live views of the connection state and of one message's
//! delivery status, without exposing the runtime's channel types.
//!
//! Each read copies the value out, so no guard is ever held across an `.await` (a held guard of
//! the channel underneath would block the client's driver).

use super::ClientError;
use crate::driver::ReceiptStatus;
use crate::event::DeliveryStatus;
use crate::state::ConnectionState;
use tokio::sync::watch;

/// The connection state of a client, and its changes. From [`Client::state_watch`](super::Client::state_watch).
///
/// ```no_run
/// # async fn f(client: chatwire::client::Client) -> Result<(), chatwire::client::ClientError> {
/// let mut state = client.state_watch();
/// let ready = state.wait_for(|s| s.is_ready()).await?;
/// println!("{ready:?}; now {:?}", state.get());
/// while let Ok(next) = state.changed().await {
///     println!("now {next:?}");
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct StateWatch {
    rx: watch::Receiver<ConnectionState>,
}

impl StateWatch {
    pub(super) fn new(rx: watch::Receiver<ConnectionState>) -> StateWatch {
        StateWatch { rx }
    }

    /// The current state.
    pub fn get(&self) -> ConnectionState {
        *self.rx.borrow()
    }

    /// Waits for the next change and returns the new state; [`ClientError::Closed`] once the
    /// client stopped (after the final `Closed` state was seen).
    pub async fn changed(&mut self) -> Result<ConnectionState, ClientError> {
        self.rx.changed().await.map_err(|_| ClientError::Closed)?;
        Ok(*self.rx.borrow_and_update())
    }

    /// Waits until the state satisfies `pred` (checked on the current state first) and returns
    /// that state; [`ClientError::Closed`] if the client stopped first.
    pub async fn wait_for(
        &mut self,
        mut pred: impl FnMut(&ConnectionState) -> bool,
    ) -> Result<ConnectionState, ClientError> {
        let state = self
            .rx
            .wait_for(|s| pred(s))
            .await
            .map_err(|_| ClientError::Closed)?;
        Ok(*state)
    }
}

/// The delivery status of one message, and its changes. From [`Receipt::status_watch`](super::Receipt::status_watch).
///
/// ```no_run
/// # async fn f(client: chatwire::client::Client) -> Result<(), chatwire::client::ClientError> {
/// let receipt = client.send("hello").await?;
/// let mut status = receipt.status_watch();
/// while let Ok(next) = status.changed().await {
///     println!("{next:?}");
///     if status.is_final() { break }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct StatusWatch {
    rx: watch::Receiver<ReceiptStatus>,
}

impl StatusWatch {
    pub(super) fn new(rx: watch::Receiver<ReceiptStatus>) -> StatusWatch {
        StatusWatch { rx }
    }

    /// The latest status.
    pub fn get(&self) -> DeliveryStatus {
        self.rx.borrow().status.clone()
    }

    /// The latest status is the last the message will get (`Acked`, `Failed`, or `Sent` without
    /// acks).
    pub fn is_final(&self) -> bool {
        self.rx.borrow().terminal
    }

    /// Waits for the next status; [`ClientError::Closed`] when no further status will come.
    pub async fn changed(&mut self) -> Result<DeliveryStatus, ClientError> {
        self.rx.changed().await.map_err(|_| ClientError::Closed)?;
        Ok(self.rx.borrow_and_update().status.clone())
    }

    pub(super) fn current(&mut self) -> ReceiptStatus {
        self.rx.borrow_and_update().clone()
    }
}

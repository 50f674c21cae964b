//! [`Session`]: a client under test, subscribed before its first send, with every event it
//! delivered kept in order. Waits are for conditions (an event, a state, a receipt), each
//! bounded by [`HANG_GUARD`] only so that a hang becomes a readable failure.

use crate::{HANG_GUARD, dump, is_final_terminal};
use chatwire::client::{ClientBuilder, EventStream, Receipt};
use chatwire::event::{DeliveryStatus, Envelope, Event};
use chatwire::{Client, ConnectionState, DialectKind};

/// A client, the events it delivered so far, and the subscription they come from.
pub struct Session {
    /// The client under test.
    pub client: Client,
    /// Every envelope received so far, in order.
    pub log: Vec<Envelope>,
    /// Each message sent, with the length of the log when it was sent.
    pub sends: Vec<(String, usize)>,
    events: EventStream,
}

impl Session {
    /// Builds the client and subscribes before anything is sent, so nothing is missed.
    pub fn start(builder: ClientBuilder) -> Session {
        let client = builder.build().unwrap();
        let events = client.events();
        Session {
            client,
            log: Vec::new(),
            sends: Vec::new(),
            events,
        }
    }

    /// The dialect of the client.
    pub fn kind(&self) -> DialectKind {
        self.client.dialect()
    }

    /// Sends `text`, returning its receipt.
    pub async fn send(&mut self, text: &str) -> Receipt {
        self.sends.push((text.to_string(), self.log.len()));
        self.client.send(text).await.unwrap()
    }

    /// The events from sending `text` up to the next send (or the end of the log).
    pub fn segment(&self, text: &str) -> &[Envelope] {
        let i = self.sends.iter().position(|(t, _)| t == text).unwrap();
        let start = self.sends[i].1;
        let end = self.sends.get(i + 1).map_or(self.log.len(), |s| s.1);
        &self.log[start..end]
    }

    /// Receives until `pred` matches an event; returns its index in [`Session::log`].
    /// Panics with the events seen so far if the stream ends or [`HANG_GUARD`] passes.
    pub async fn wait_for(&mut self, what: &str, pred: impl Fn(&Envelope) -> bool) -> usize {
        let deadline = tokio::time::Instant::now() + HANG_GUARD;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(env)) => {
                    let hit = pred(&env);
                    self.log.push(env);
                    if hit {
                        return self.log.len() - 1;
                    }
                }
                Ok(None) => panic!(
                    "{}: stream ended waiting for {what}\n{}",
                    self.kind(),
                    self.dump()
                ),
                Err(_) => panic!(
                    "{}: no {what} within {HANG_GUARD:?}\n{}",
                    self.kind(),
                    self.dump()
                ),
            }
        }
    }

    /// Receives until the turn answering the last message ended for good: a `TurnCompleted`,
    /// `TurnCancelled`, or a `TurnFailed` that the engine will not retry. Returns the index of
    /// that terminal event.
    pub async fn until_answered(&mut self) -> usize {
        self.wait_for("final turn end", |e| is_final_terminal(&e.event))
            .await
    }

    /// Sends `text`, waits for its turn to end for good and for its receipt to settle.
    /// Returns the events of this exchange.
    pub async fn exchange(&mut self, text: &str) -> Vec<Envelope> {
        let start = self.log.len();
        let receipt = self.send(text).await;
        self.until_answered().await;
        self.settle(&receipt).await;
        self.log[start..].to_vec()
    }

    /// Waits until `receipt` reached its last status (acked, or sent without acks), keeping the
    /// events received meanwhile. Panics if the message failed.
    pub async fn settle(&mut self, receipt: &Receipt) {
        let id = receipt.client_id();
        let acks = self.client.capabilities().acks;
        let already = self
            .log
            .iter()
            .any(|e| status_of(e, id).is_some_and(|s| is_last(s, acks)));
        if !already {
            self.wait_for("the message's last status", |e| {
                status_of(e, id).is_some_and(|s| is_last(s, acks))
            })
            .await;
        }
        let last = self
            .log
            .iter()
            .rev()
            .find_map(|e| status_of(e, id))
            .cloned();
        assert!(
            matches!(last, Some(DeliveryStatus::Acked | DeliveryStatus::Sent)),
            "{}: message {id} ended {last:?}\n{}",
            self.kind(),
            self.dump()
        );
    }

    /// Waits until the client's state satisfies `pred` (state watch, hang-guarded).
    pub async fn wait_state(&self, what: &str, pred: impl FnMut(&ConnectionState) -> bool) {
        let mut watch = self.client.state_watch();
        let waited = tokio::time::timeout(HANG_GUARD, watch.wait_for(pred)).await;
        assert!(
            matches!(waited, Ok(Ok(_))),
            "{}: state never became {what} (now {:?})",
            self.kind(),
            self.client.state()
        );
    }

    /// Closes the client and drains the stream to its end.
    pub async fn close(mut self) -> Vec<Envelope> {
        self.client.close().await;
        while let Ok(Some(env)) = tokio::time::timeout(HANG_GUARD, self.events.recv()).await {
            self.log.push(env);
        }
        self.log
    }

    /// The log, one compact JSON line per event (for failure messages).
    pub fn dump(&self) -> String {
        dump(&self.log)
    }
}

fn status_of(env: &Envelope, id: chatwire::ClientId) -> Option<&DeliveryStatus> {
    match &env.event {
        Event::MessageStatus {
            client_id, status, ..
        } if *client_id == id => Some(status),
        _ => None,
    }
}

fn is_last(status: &DeliveryStatus, acks: bool) -> bool {
    match status {
        DeliveryStatus::Acked | DeliveryStatus::Failed { .. } => true,
        DeliveryStatus::Sent => !acks,
        _ => false,
    }
}

//! Conversations and the record of received messages.
//!
//! A [`Conv`] is one conversation of one dialect (a native conversation, a miptech chat, a
//! chat-interfaces session, a Parlant session, an OpenAI completion). It holds an append-only
//! log of outbound frames with per-conversation sequence numbers (1, 2, 3, ...), the turns it
//! started keyed by client id (for idempotent re-sends), the message history and the cancel
//! switch of the running turn. Turns write to the log; connections follow it. So a turn goes on
//! when its connection drops, and a resumed or re-sending client is served from the log.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;

pub(crate) use crate::conv::{Conv, Frame, HistoryEntry, TurnRec};
use crate::dialect::Dialect;
use crate::util::now_ms;

/// One client message as the server received it.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let server = chatwire_mock::spawn(chatwire_mock::MockConfig::default()).await.unwrap();
/// for r in server.received() {
///     println!("{} {} {:?} x{}", r.dialect.as_str(), r.conversation, r.text, r.times_received);
/// }
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Received {
    /// The dialect it arrived through.
    pub dialect: Dialect,
    /// Conversation, chat, session or thread id (OpenAI: the `user` field, else `default`).
    pub conversation: String,
    /// The client's idempotency key (client id or `Idempotency-Key`), when it sent one.
    pub client_id: Option<String>,
    /// The message text.
    pub text: String,
    /// How many times it arrived (re-sends with the same client id count here, once recorded).
    pub times_received: u32,
    /// When it first arrived (Unix ms).
    pub first_received_ms: u64,
    /// When it last arrived (Unix ms): after `first_received_ms` only if it was received again,
    /// so a client can tell a re-send of a message it already saw acknowledged.
    pub last_received_ms: u64,
}

/// Every conversation of every dialect, plus the record of received messages.
pub(crate) struct Hub {
    retain: usize,
    convs: Mutex<HashMap<(Dialect, String), Arc<Conv>>>,
    received: Mutex<Vec<Received>>,
    ids: AtomicU64,
}

impl Hub {
    /// A hub whose first id is `{prefix}-{first_id}`.
    pub fn new(retain: usize, first_id: u64) -> Self {
        Self {
            retain,
            convs: Mutex::default(),
            received: Mutex::default(),
            ids: AtomicU64::new(first_id.saturating_sub(1)),
        }
    }

    /// A fresh id `"{prefix}-{n}"`; ids are unique across the server and deterministic.
    pub fn next_id(&self, prefix: &str) -> String {
        format!("{prefix}-{}", self.ids.fetch_add(1, Ordering::Relaxed) + 1)
    }

    pub fn get(&self, dialect: Dialect, id: &str) -> Option<Arc<Conv>> {
        self.convs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(dialect, id.to_owned()))
            .cloned()
    }

    /// The conversation, created empty on first use.
    pub fn conv(&self, dialect: Dialect, id: &str) -> Arc<Conv> {
        let mut convs = self.convs.lock().unwrap_or_else(|e| e.into_inner());
        convs
            .entry((dialect, id.to_owned()))
            .or_insert_with(|| Arc::new(Conv::new(id, self.retain)))
            .clone()
    }

    /// The conversation that answers a message: the one `index` recorded under `key` (a re-send
    /// of the same message gets the same reply), or a new one named `{prefix}-{n}`, recorded
    /// there when there is a key. The flag says the conversation is new (its turn must start).
    pub(crate) fn conv_for_key(
        &self,
        dialect: Dialect,
        index: &Conv,
        key: Option<&str>,
        prefix: &str,
    ) -> (Arc<Conv>, bool) {
        let known = key
            .and_then(|k| index.meta(k))
            .and_then(|v| v.as_str().map(str::to_owned))
            .and_then(|id| self.get(dialect, &id));
        if let Some(conv) = known {
            return (conv, false);
        }
        let id = self.next_id(prefix);
        if let Some(k) = key {
            index.set_meta(k, serde_json::Value::String(id.clone()));
        }
        (self.conv(dialect, &id), true)
    }

    /// Records a received message; a repeat of a known client id in the same conversation
    /// increments its `times_received` instead. Returns whether it was new.
    pub fn record(
        &self,
        dialect: Dialect,
        conversation: &str,
        client_id: Option<&str>,
        text: &str,
    ) -> bool {
        let mut rec = self.received.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(cid) = client_id
            && let Some(r) = rec.iter_mut().find(|r| {
                r.dialect == dialect
                    && r.conversation == conversation
                    && r.client_id.as_deref() == Some(cid)
            })
        {
            r.times_received += 1;
            r.last_received_ms = now_ms();
            return false;
        }
        let now = now_ms();
        rec.push(Received {
            dialect,
            conversation: conversation.to_owned(),
            client_id: client_id.map(str::to_owned),
            text: text.to_owned(),
            times_received: 1,
            first_received_ms: now,
            last_received_ms: now,
        });
        true
    }

    pub fn received(&self) -> Vec<Received> {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Forgets every conversation and received message.
    pub fn reset(&self) {
        for conv in self
            .convs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .map(|(_, c)| c)
        {
            conv.cancel_running();
        }
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorder_counts_repeats() {
        let hub = Hub::new(100, 1);
        assert!(hub.record(Dialect::OpenAi, "u", Some("k"), "hi"));
        assert!(!hub.record(Dialect::OpenAi, "u", Some("k"), "hi"));
        assert!(hub.record(Dialect::OpenAi, "u", None, "hi"));
        let rec = hub.received();
        assert_eq!(rec.len(), 2);
        assert_eq!(rec[0].times_received, 2);
        assert!(rec[0].last_received_ms >= rec[0].first_received_ms);
        assert_eq!(rec[1].last_received_ms, rec[1].first_received_ms);
    }

    #[test]
    fn ids_start_at_the_configured_number_and_cross_digit_boundaries() {
        let hub = Hub::new(100, 9_999);
        assert_eq!(hub.next_id("msg"), "msg-9999");
        assert_eq!(hub.next_id("t"), "t-10000");
        assert_eq!(Hub::new(100, 1).next_id("m"), "m-1");
    }
}

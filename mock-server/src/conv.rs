//! One conversation's state: the append-only log of outbound frames with gapless sequence
//! numbers (retained up to a bound, updatable in place for Parlant's streamed messages), the
//! turns keyed by client id for idempotent re-sends, the message history, the cancel switch of
//! the running turn, and the reader cursors that give floods backpressure.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::sync::{Notify, watch};

/// An outbound frame in a conversation log.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    pub seq: u64,
    pub turn: Option<String>,
    /// SSE event name, when the dialect uses one.
    pub event: Option<String>,
    /// Key under which the frame can be updated in place (Parlant streamed messages).
    pub key: Option<String>,
    pub data: Value,
}

/// A turn started by a client message.
#[derive(Debug, Clone)]
pub(crate) struct TurnRec {
    pub turn_id: String,
    /// The server id of the user message that started it.
    pub message_id: String,
    pub client_id: Option<String>,
    /// Last seq of the log when the turn was accepted: its frames come after it.
    pub after_seq: u64,
    pub done: bool,
    /// Dialect-specific data (Parlant customer event, chat-interfaces execution id, ...).
    pub extra: Value,
}

/// A message in a conversation's history.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct HistoryEntry {
    pub id: String,
    pub role: String,
    pub content: String,
    pub ts_ms: u64,
    pub tool_calls: Vec<Value>,
    /// For a reply: the server id of the user message it answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
}

/// One conversation.
pub(crate) struct Conv {
    pub id: String,
    retain: usize,
    inner: Mutex<Inner>,
    changed: watch::Sender<u64>,
    /// Held by the running turn: turns of one conversation run one after another.
    pub turn_lock: tokio::sync::Mutex<()>,
    /// Turn tickets, taken in message arrival order: turns run in that order, not in the order
    /// their tasks happen to be scheduled (a backend answers messages in the order it got them).
    tickets: AtomicU64,
    serving: watch::Sender<u64>,
    progress: Notify,
    readers: Mutex<Vec<Weak<AtomicU64>>>,
}

#[derive(Default)]
struct Inner {
    next_seq: u64,
    log: VecDeque<Frame>,
    evicted_upto: u64,
    turns: Vec<TurnRec>,
    history: Vec<HistoryEntry>,
    cancel: Option<watch::Sender<bool>>,
    meta: serde_json::Map<String, Value>,
}

/// A turn's place in its conversation's order (see [`Conv::take_ticket`]); dropping it lets the
/// next turn run, even when the turn task ends early or is aborted.
pub(crate) struct TurnTicket<'a> {
    conv: &'a Conv,
}

impl Drop for TurnTicket<'_> {
    fn drop(&mut self) {
        self.conv.serving.send_modify(|s| *s += 1);
    }
}

impl Conv {
    /// The next place in the turn order, taken synchronously when the message arrives.
    pub fn take_ticket(&self) -> u64 {
        self.tickets
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    }

    /// Waits until every earlier ticket's turn is done.
    pub async fn wait_ticket(&self, ticket: u64) -> TurnTicket<'_> {
        let mut rx = self.serving.subscribe();
        let _ = rx.wait_for(|serving| *serving >= ticket).await;
        TurnTicket { conv: self }
    }

    pub fn new(id: &str, retain: usize) -> Self {
        let (changed, _) = watch::channel(0);
        Self {
            id: id.to_owned(),
            retain,
            inner: Mutex::new(Inner {
                next_seq: 1,
                ..Inner::default()
            }),
            changed,
            turn_lock: tokio::sync::Mutex::new(()),
            tickets: AtomicU64::new(0),
            serving: watch::channel(0).0,
            progress: Notify::new(),
            readers: Mutex::new(Vec::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends a frame; `build` gets the frame's seq. Returns the seq. Without an explicit
    /// `key`, a frame whose data has a string `id` can be updated under that id.
    pub fn push_with(
        &self,
        turn: Option<&str>,
        event: Option<&str>,
        key: Option<&str>,
        build: impl FnOnce(u64) -> Value,
    ) -> u64 {
        let seq = {
            let mut st = self.lock();
            let seq = st.next_seq;
            st.next_seq += 1;
            let data = build(seq);
            let key = key
                .map(str::to_owned)
                .or_else(|| data.get("id").and_then(Value::as_str).map(str::to_owned));
            st.log.push_back(Frame {
                seq,
                turn: turn.map(str::to_owned),
                event: event.map(str::to_owned),
                key,
                data,
            });
            while st.log.len() > self.retain {
                if let Some(f) = st.log.pop_front() {
                    st.evicted_upto = f.seq;
                }
            }
            seq
        };
        self.changed.send_replace(seq);
        seq
    }

    /// Appends a frame whose data does not depend on its seq.
    pub fn push(&self, turn: Option<&str>, event: Option<&str>, data: Value) -> u64 {
        self.push_with(turn, event, None, |_| data)
    }

    /// Updates the frame stored under `key` in place; returns whether it existed.
    pub fn update_key(&self, key: &str, f: impl FnOnce(&mut Value)) -> bool {
        let found = {
            let mut st = self.lock();
            match st
                .log
                .iter_mut()
                .rev()
                .find(|fr| fr.key.as_deref() == Some(key))
            {
                Some(frame) => {
                    f(&mut frame.data);
                    true
                }
                None => false,
            }
        };
        if found {
            self.changed.send_modify(|v| *v += 0);
        }
        found
    }

    /// Frames with `seq > after`, and whether some of those were already evicted.
    pub fn frames_after(&self, after: u64) -> (Vec<Frame>, bool) {
        let st = self.lock();
        let gap = after < st.evicted_upto;
        (
            st.log.iter().filter(|f| f.seq > after).cloned().collect(),
            gap,
        )
    }

    /// Every retained frame.
    pub fn frames(&self) -> Vec<Frame> {
        self.lock().log.iter().cloned().collect()
    }

    /// The frames of `turn` with `seq <= upto`.
    pub fn turn_frames(&self, turn: &str, upto: u64) -> Vec<Frame> {
        let st = self.lock();
        st.log
            .iter()
            .filter(|f| f.seq <= upto && f.turn.as_deref() == Some(turn))
            .cloned()
            .collect()
    }

    /// The highest seq assigned so far (0 when none).
    pub fn last_seq(&self) -> u64 {
        self.lock().next_seq - 1
    }

    /// Wakes on every change of the log (append or update).
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Finds the turn a client id started, or starts one with `make(after_seq)`.
    /// Returns the turn and whether it is new.
    pub fn accept(
        &self,
        client_id: Option<&str>,
        make: impl FnOnce(u64) -> TurnRec,
    ) -> (TurnRec, bool) {
        let mut st = self.lock();
        if let Some(cid) = client_id
            && let Some(t) = st
                .turns
                .iter()
                .find(|t| t.client_id.as_deref() == Some(cid))
        {
            return (t.clone(), false);
        }
        let after = st.next_seq - 1;
        let turn = make(after);
        st.turns.push(turn.clone());
        (turn, true)
    }

    /// The turn with `turn_id`.
    pub fn turn(&self, turn_id: &str) -> Option<TurnRec> {
        self.lock()
            .turns
            .iter()
            .find(|t| t.turn_id == turn_id)
            .cloned()
    }

    /// Every turn, oldest first.
    pub fn turns(&self) -> Vec<TurnRec> {
        self.lock().turns.clone()
    }

    pub fn mark_done(&self, turn_id: &str) {
        if let Some(t) = self.lock().turns.iter_mut().find(|t| t.turn_id == turn_id) {
            t.done = true;
        }
        self.changed.send_modify(|v| *v += 0);
    }

    pub fn add_history(&self, entry: HistoryEntry) {
        self.lock().history.push(entry);
    }

    pub fn history(&self) -> Vec<HistoryEntry> {
        self.lock().history.clone()
    }

    /// Arms the cancel switch for the turn about to run.
    pub fn arm_cancel(&self) -> watch::Receiver<bool> {
        let (tx, rx) = watch::channel(false);
        self.lock().cancel = Some(tx);
        rx
    }

    pub fn disarm_cancel(&self) {
        self.lock().cancel = None;
    }

    /// Cancels the running turn; `false` when none runs.
    pub fn cancel_running(&self) -> bool {
        match self.lock().cancel.take() {
            Some(tx) => {
                tx.send_replace(true);
                true
            }
            None => false,
        }
    }

    pub fn meta(&self, key: &str) -> Option<Value> {
        self.lock().meta.get(key).cloned()
    }

    pub fn set_meta(&self, key: &str, value: Value) {
        self.lock().meta.insert(key.to_owned(), value);
    }

    /// Registers a live reader; it stores the last seq it wrote out.
    pub fn reader(&self) -> Arc<AtomicU64> {
        let cursor = Arc::new(AtomicU64::new(0));
        let mut readers = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        readers.retain(|w| w.strong_count() > 0);
        readers.push(Arc::downgrade(&cursor));
        cursor
    }

    /// Called by readers after writing frames out.
    pub fn reader_progressed(&self) {
        self.progress.notify_waiters();
    }

    /// Backpressure for floods: waits until every live reader is within half the retention
    /// window of `seq` (or 100 ms pass, so a stuck reader cannot stall a turn for ever).
    pub async fn wait_readers(&self, seq: u64) {
        let slack = (self.retain / 2) as u64;
        loop {
            let notified = self.progress.notified();
            let behind = {
                let readers = self.readers.lock().unwrap_or_else(|e| e.into_inner());
                readers
                    .iter()
                    .filter_map(Weak::upgrade)
                    .any(|c| c.load(Ordering::Relaxed) + slack < seq)
            };
            if !behind {
                return;
            }
            if tokio::time::timeout(Duration::from_millis(100), notified)
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn log_assigns_gapless_seqs_and_evicts() {
        let conv = Conv::new("c", 3);
        for i in 0..5 {
            assert_eq!(conv.push(None, None, json!(i)), i + 1);
        }
        let (frames, gap) = conv.frames_after(0);
        assert!(gap);
        assert_eq!(
            frames.iter().map(|f| f.seq).collect::<Vec<_>>(),
            vec![3, 4, 5]
        );
        let (frames, gap) = conv.frames_after(2);
        assert!(!gap);
        assert_eq!(frames.len(), 3);
        assert_eq!(conv.last_seq(), 5);
    }

    #[test]
    fn accept_is_idempotent_by_client_id() {
        let conv = Conv::new("c", 100);
        let make = |after| TurnRec {
            turn_id: format!("t{after}"),
            message_id: "m".into(),
            client_id: Some("a".into()),
            after_seq: after,
            done: false,
            extra: Value::Null,
        };
        let (t1, new1) = conv.accept(Some("a"), make);
        conv.push(None, None, json!(1));
        let (t2, new2) = conv.accept(Some("a"), make);
        assert!(new1 && !new2);
        assert_eq!(t1.turn_id, t2.turn_id);
    }
}

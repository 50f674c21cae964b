//! The conversation a stateless completion backend is sent with every request (openai's chat
//! completions, the AI SDK's chat route): user messages by client id, each followed by its reply
//! once the reply ends, and the messages waiting for the running one, posted one at a time.
//!
//! Guarantees: a message is recorded once however often it is re-sent (a re-send only moves it
//! to the back of the queue); a reply goes right after its message (and is dropped if that
//! message was trimmed away); the transcript keeps at most `max` entries, dropping the oldest
//! first but never a message that is waiting or running.

use std::collections::VecDeque;

use crate::ids::ClientId;

/// A bounded transcript of messages of type `M`, and the queue of messages waiting their turn.
#[derive(Debug)]
pub(crate) struct Transcript<M> {
    /// User messages carry their client id; replies carry none.
    entries: Vec<(Option<ClientId>, M)>,
    max: usize,
    waiting: VecDeque<ClientId>,
}

impl<M: Clone> Transcript<M> {
    /// An empty transcript keeping at most `max` entries.
    pub(crate) fn new(max: usize) -> Transcript<M> {
        Transcript {
            entries: Vec::new(),
            max,
            waiting: VecDeque::new(),
        }
    }

    /// Queues `client_id` last, recording its message (built by `message`) the first time.
    /// `running` is the message whose reply is streaming (never trimmed).
    pub(crate) fn enqueue(
        &mut self,
        client_id: ClientId,
        running: Option<ClientId>,
        message: impl FnOnce() -> M,
    ) {
        // Queued before trimming, so the new message itself is never the one trimmed away.
        self.waiting.retain(|c| *c != client_id);
        self.waiting.push_back(client_id);
        if !self.entries.iter().any(|(c, _)| *c == Some(client_id)) {
            self.entries.push((Some(client_id), message()));
            self.trim(running);
        }
    }

    /// The oldest waiting message still in the transcript, with the conversation up to and
    /// including it; `None` when nothing waits.
    pub(crate) fn next(&mut self) -> Option<(ClientId, Vec<M>)> {
        while let Some(client_id) = self.waiting.pop_front() {
            if let Some(pos) = self.position(client_id) {
                let context = self.entries[..=pos]
                    .iter()
                    .map(|(_, m)| m.clone())
                    .collect();
                return Some((client_id, context));
            }
        }
        None
    }

    /// Records `reply` right after `client_id`'s message (nothing if it was trimmed away).
    pub(crate) fn record_reply(&mut self, client_id: ClientId, reply: M) {
        if let Some(pos) = self.position(client_id) {
            self.entries.insert(pos + 1, (None, reply));
            self.trim(None);
        }
    }

    /// Forgets the waiting queue (the engine re-sends unacked messages after a reconnect).
    pub(crate) fn clear_waiting(&mut self) {
        self.waiting.clear();
    }

    /// Entries kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    fn position(&self, client_id: ClientId) -> Option<usize> {
        self.entries.iter().position(|(c, _)| *c == Some(client_id))
    }

    /// Drops the oldest entries beyond `max`, never one still waiting or `running`.
    fn trim(&mut self, running: Option<ClientId>) {
        while self.entries.len() > self.max {
            let busy = |c: &Option<ClientId>| {
                c.is_some_and(|c| self.waiting.contains(&c) || running == Some(c))
            };
            match self.entries.iter().position(|(c, _)| !busy(c)) {
                Some(i) => {
                    self.entries.remove(i);
                }
                None => break,
            }
        }
    }
}

impl<M> std::ops::Index<usize> for Transcript<M> {
    type Output = (Option<ClientId>, M);

    fn index(&self, i: usize) -> &Self::Output {
        &self.entries[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> ClientId {
        ClientId::from_uuid(uuid::Uuid::from_u128(n))
    }

    #[test]
    fn messages_are_recorded_once_and_posted_in_order_with_their_context() {
        let mut t = Transcript::new(10);
        t.enqueue(id(1), None, || "a");
        t.enqueue(id(2), None, || "b");
        t.enqueue(id(1), None, || "again"); // a re-send moves to the back, recorded once
        assert_eq!(t.len(), 2);
        assert_eq!(t.next(), Some((id(2), vec!["a", "b"])));
        t.record_reply(id(2), "reply b");
        assert_eq!(t.next(), Some((id(1), vec!["a"])));
        assert_eq!(t.next(), None);
        assert_eq!(t[2].1, "reply b");
    }

    #[test]
    fn trimming_keeps_waiting_and_running_messages() {
        let mut t = Transcript::new(2);
        t.enqueue(id(1), None, || "1");
        t.enqueue(id(2), None, || "2");
        assert_eq!(t.next().map(|(c, _)| c), Some(id(1)));
        // 1 runs, 2 waits: a third message pushes out neither, nor is it trimmed itself
        t.enqueue(id(3), Some(id(1)), || "3");
        assert_eq!(t.len(), 3);
        // 1's reply ends it: the oldest idle entries go first
        t.record_reply(id(1), "r1");
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].1, t[1].1), ("2", "3"));
        t.clear_waiting();
        assert_eq!(t.next(), None);
    }
}

//! The dialect-independent checker of the multi-dialect simulation: what the app sees must keep
//! the promises of DESIGN §3 whatever the backend, checked on every envelope and at the end.
//!
//! - every event once: no server event id ([`Model::event_key`](super::agent::Model)) twice,
//!   no reply (message id) completed twice, no message answered by two completed turns;
//! - turns: each started once, ended exactly once, nothing after its end, no tool left open;
//!   streamed text assembles to the completed text (nothing doubled);
//! - outbound: legal status transitions, one terminal status per accepted send, an acked
//!   message stored by the backend exactly once;
//! - connection: legal state transitions, gapless envelope numbering, and against a flapping
//!   backend the attempt number grows until the engine gives up (it may start over only after
//!   a connection moved the resume cursor on: data got through).

use chatwire::event::{DeliveryStatus, Envelope, Event, Role, TextUpdate};
use chatwire::{ClientId, ConnectionState};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

#[derive(Default)]
struct TurnTrack {
    started: u32,
    terminal: u32,
    reply_to: Option<String>,
    /// The turn began right after a `Discontinuity`: its start may be missing (a resume past
    /// evicted events), so its tool calls may show only their end.
    after_gap: bool,
}

pub struct AppView {
    pub violations: Vec<String>,
    env_seq: u64,
    pub state: ConnectionState,
    statuses: HashMap<ClientId, Vec<DeliveryStatus>>,
    pub accepted: Vec<ClientId>,
    turns: HashMap<String, TurnTrack>,
    tools: HashMap<(String, String), u32>,
    open_tools: HashSet<(String, String)>,
    texts: HashMap<(Option<String>, Option<String>), (String, u64)>,
    event_keys: HashSet<String>,
    completed_messages: HashSet<String>,
    /// Client id -> turns that completed answering it.
    completed_for: HashMap<String, u32>,
    /// Client ids answered by a turn that ended (any way) at the app.
    pub ended_for: HashSet<String>,
    /// Client ids the app was told had failed.
    pub failed_sends: HashSet<String>,
    /// Turn ids that ended at the app.
    pub ended_turns: HashSet<String>,
    pub discontinuities: u64,
    /// A `Discontinuity` no turn has begun after yet.
    gap_pending: bool,
    /// Flapping backend: the last `Reconnecting` attempt seen, and whether the engine gave up.
    pub flapping: bool,
    last_attempt: u32,
    /// The latest resume cursor the app saw: a connection that moves it on made progress.
    last_cursor: Option<String>,
    /// How many times the cursor moved on.
    pub progress: u64,
    pub gave_up: bool,
    pub reconnects: u32,
}

impl AppView {
    pub fn new() -> AppView {
        AppView {
            violations: Vec::new(),
            env_seq: 0,
            state: ConnectionState::Disconnected,
            statuses: HashMap::new(),
            accepted: Vec::new(),
            turns: HashMap::new(),
            tools: HashMap::new(),
            open_tools: HashSet::new(),
            texts: HashMap::new(),
            event_keys: HashSet::new(),
            completed_messages: HashSet::new(),
            completed_for: HashMap::new(),
            ended_for: HashSet::new(),
            ended_turns: HashSet::new(),
            failed_sends: HashSet::new(),
            discontinuities: 0,
            gap_pending: false,
            flapping: false,
            last_attempt: 0,
            last_cursor: None,
            progress: 0,
            gave_up: false,
            reconnects: 0,
        }
    }

    pub fn fail(&mut self, msg: String) {
        if self.violations.len() < 20 {
            self.violations.push(msg);
        }
    }

    pub fn open_turns(&self) -> usize {
        self.turns.values().filter(|t| t.terminal == 0).count()
    }

    /// The status list of every accepted send has a terminal entry.
    pub fn sends_settled(&self) -> bool {
        self.accepted.iter().all(|id| {
            self.statuses.get(id).is_some_and(|l| {
                l.iter()
                    .any(|s| matches!(s, DeliveryStatus::Acked | DeliveryStatus::Failed { .. }))
            })
        })
    }

    /// A turn answering `cid` completed at the app.
    pub fn completed(&self, cid: &str) -> bool {
        self.completed_for.contains_key(cid)
    }

    /// Checks one envelope; `key` is the server's id of its wire event, when it has one.
    pub fn on_envelope(&mut self, env: &Envelope, keys: Vec<String>) {
        if env.seq != self.env_seq + 1 {
            self.fail(format!("envelope seq {} after {}", env.seq, self.env_seq));
        }
        self.env_seq = env.seq;
        if env.cursor.is_some() && env.cursor != self.last_cursor {
            // data got through: the attempt count may start over
            self.last_cursor = env.cursor.clone();
            self.last_attempt = 0;
            self.progress += 1;
        }
        // one wire event may become several app events, of different types
        let name = env.event.type_name();
        for key in keys {
            if !self.event_keys.insert(format!("{key} as {name}")) {
                self.fail(format!(
                    "server event {key} reached the app twice (as {name})"
                ));
            }
        }
        self.turn_rules(env);
        match &env.event {
            Event::StateChanged { from, to } => self.state_change(*from, *to),
            Event::Discontinuity { .. } => {
                self.discontinuities += 1;
                self.gap_pending = true;
            }
            Event::MessageStatus {
                client_id, status, ..
            } => self.status(*client_id, status.clone()),
            Event::MessageStarted { .. } => {
                let key = (env.message_id.clone(), env.part_id.clone());
                self.texts
                    .insert(key, (String::new(), self.discontinuities));
            }
            Event::TextDelta { update, .. } => {
                let key = (env.message_id.clone(), env.part_id.clone());
                let entry = self.texts.entry(key).or_insert((String::new(), u64::MAX));
                match update {
                    TextUpdate::Append { text, offset } => {
                        let len = entry.0.chars().count() as u64;
                        if *offset != len {
                            let msg = format!("append at offset {offset}, text has {len} chars");
                            self.fail(msg);
                            return;
                        }
                        entry.0.push_str(text);
                    }
                    TextUpdate::Replace { text } => entry.0 = text.clone(),
                    _ => {}
                }
            }
            Event::MessageCompleted { text } => {
                let key = (env.message_id.clone(), env.part_id.clone());
                if let Some((have, disc)) = self.texts.remove(&key) {
                    if disc == self.discontinuities && have != *text {
                        self.fail(format!("assembled {have:?} but completed {text:?}"));
                    }
                }
                self.completed_message(env);
            }
            Event::Message {
                role: Role::Assistant,
                ..
            } => {
                let key = (env.message_id.clone(), env.part_id.clone());
                if key.0.is_some() && self.texts.remove(&key).is_some() {
                    let id = key.0.unwrap_or_default();
                    self.fail(format!(
                        "reply {id} shown twice: streamed, then again as a complete message"
                    ));
                }
                self.completed_message(env);
            }
            _ => {}
        }
    }

    fn completed_message(&mut self, env: &Envelope) {
        if let Some(id) = &env.message_id {
            let scoped = format!("{id}/{}", env.part_id.as_deref().unwrap_or(""));
            if !self.completed_messages.insert(scoped) {
                self.fail(format!("reply {id} shown twice"));
            }
        }
    }

    fn state_change(&mut self, from: ConnectionState, to: ConnectionState) {
        if from != self.state || !from.can_transition_to(to) {
            self.fail(format!(
                "illegal transition {from:?} -> {to:?} (was {:?})",
                self.state
            ));
        }
        self.state = to;
        match to {
            ConnectionState::Reconnecting { attempt, .. } => {
                self.reconnects += 1;
                if self.flapping && attempt <= self.last_attempt {
                    let last = self.last_attempt;
                    self.fail(format!(
                        "flapping backend: reconnect attempt {attempt} after attempt {last} (the count must grow)"
                    ));
                }
                self.last_attempt = attempt;
            }
            ConnectionState::Failed => {
                self.gave_up = true;
                self.last_attempt = 0;
            }
            _ => {}
        }
    }

    /// The app pressed retry, or the flapping phase ended: attempts may start over.
    pub fn reset_attempts(&mut self) {
        self.last_attempt = 0;
    }

    fn turn_rules(&mut self, env: &Envelope) {
        let Some(turn) = env.turn_id.clone() else {
            return;
        };
        let is_start = matches!(env.event, Event::TurnStarted { .. });
        let terminal = env.event.is_turn_terminal();
        let fresh = !self.turns.contains_key(&turn);
        let gap = fresh && std::mem::take(&mut self.gap_pending);
        let t = self.turns.entry(turn.clone()).or_default();
        t.after_gap |= gap;
        let after_gap = t.after_gap;
        let (started, ended) = (t.started, t.terminal);
        if let Event::TurnStarted { reply_to } = &env.event {
            t.reply_to = reply_to.clone();
        }
        let reply_to = t.reply_to.clone();
        if ended > 0 {
            let name = env.event.type_name();
            self.fail(format!("{name} after the end of turn {turn}"));
            return;
        }
        if is_start {
            t.started += 1;
        }
        if terminal {
            t.terminal += 1;
        }
        if is_start && started > 0 {
            self.fail(format!("turn {turn} started twice"));
        } else if !is_start && started == 0 {
            let name = env.event.type_name();
            self.fail(format!("turn {turn}: {name} before turnStarted"));
        }
        if terminal {
            self.ended_turns.insert(turn.clone());
            if let Some(cid) = reply_to {
                if matches!(env.event, Event::TurnCompleted { .. }) {
                    let n = self.completed_for.entry(cid.clone()).or_default();
                    *n += 1;
                    let n = *n;
                    if n > 1 {
                        self.fail(format!("message {cid} answered by {n} completed turns"));
                    }
                }
                self.ended_for.insert(cid);
            }
            let open: Vec<String> = self
                .open_tools
                .iter()
                .filter(|(tt, _)| *tt == turn)
                .map(|(_, id)| id.clone())
                .collect();
            if !open.is_empty() {
                self.fail(format!("turn {turn} ended with open tools {open:?}"));
            }
        }
        let tool = match &env.event {
            Event::ToolStarted { tool_id, .. }
            | Event::ToolProgress { tool_id, .. }
            | Event::ToolArgsDelta { tool_id, .. }
            | Event::ToolCompleted { tool_id, .. }
            | Event::ToolFailed { tool_id, .. } => tool_id.clone(),
            _ => return,
        };
        let key = (turn, tool.clone());
        match &env.event {
            Event::ToolStarted { .. } => {
                if self.tools.insert(key.clone(), 0).is_some() {
                    self.fail(format!("tool {tool} started twice"));
                }
                self.open_tools.insert(key);
            }
            Event::ToolCompleted { .. } | Event::ToolFailed { .. } => {
                let n = self.tools.entry(key.clone()).or_default();
                *n += 1;
                let unstarted_after_gap = *n == 1 && after_gap;
                if *n > 1 || !(self.open_tools.remove(&key) || unstarted_after_gap) {
                    self.fail(format!("tool {tool} ended twice or before it started"));
                }
            }
            _ => {
                let ended = self.tools.get(&key).is_some_and(|n| *n > 0);
                if !self.open_tools.contains(&key) && (ended || !after_gap) {
                    self.fail(format!("tool {tool} event outside its call"));
                }
            }
        }
    }

    fn status(&mut self, id: ClientId, status: DeliveryStatus) {
        if matches!(status, DeliveryStatus::Failed { .. }) {
            self.failed_sends.insert(id.to_string());
        }
        let list = self.statuses.entry(id).or_default();
        let prev = list.last().cloned();
        list.push(status.clone());
        let ok = matches!(
            (&prev, &status),
            (None, DeliveryStatus::Queued | DeliveryStatus::Failed { .. })
                | (
                    Some(DeliveryStatus::Queued),
                    DeliveryStatus::Sent | DeliveryStatus::Failed { .. }
                )
                | (
                    Some(DeliveryStatus::Sent),
                    DeliveryStatus::Acked | DeliveryStatus::Failed { .. }
                )
        );
        if !ok {
            self.fail(format!("message {id}: status {status:?} after {prev:?}"));
        }
    }

    /// End of run (after `close`).
    pub fn finish(&mut self, stored: &HashMap<String, u32>) {
        if self.state != ConnectionState::Closed {
            self.fail(format!("final state {:?}", self.state));
        }
        for id in self.accepted.clone() {
            let list = self.statuses.get(&id).cloned().unwrap_or_default();
            let terminals = list
                .iter()
                .filter(|s| matches!(s, DeliveryStatus::Acked | DeliveryStatus::Failed { .. }))
                .count();
            if terminals != 1 {
                self.fail(format!(
                    "message {id}: {terminals} terminal statuses in {list:?}"
                ));
            }
            if list.last() == Some(&DeliveryStatus::Acked) {
                let n = stored.get(&id.to_string()).copied().unwrap_or(0);
                if n != 1 {
                    self.fail(format!("message {id} acked but stored {n} times"));
                }
            }
        }
        for (cid, n) in stored {
            if *n > 1 {
                self.fail(format!("backend stored {cid} {n} times"));
            }
        }
        let open: Vec<String> = self
            .turns
            .iter()
            .filter(|(_, t)| t.terminal != 1)
            .map(|(id, _)| id.clone())
            .collect();
        if !open.is_empty() {
            self.fail(format!("turns without exactly one terminal: {open:?}"));
        }
        if !self.open_tools.is_empty() {
            self.fail("a tool call without a terminal".into());
        }
    }
}

/// Flattens a raw payload (one wire event, or an array of them) for key extraction.
pub fn raw_items(raw: &Option<Value>) -> Vec<&Value> {
    match raw {
        Some(Value::Array(xs)) => xs.iter().collect(),
        Some(v) => vec![v],
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    //! The checker itself: each invariant fires on a sequence that breaks it, and stays quiet
    //! on the same sequence done right.

    use super::AppView;
    use chatwire::ConnectionState;
    use chatwire::event::{Envelope, Event, Role, TextChannel, TextUpdate};
    use std::time::Duration;

    struct Feed {
        app: AppView,
        seq: u64,
    }

    impl Feed {
        fn new() -> Feed {
            Feed {
                app: AppView::new(),
                seq: 0,
            }
        }

        fn ev(&mut self, turn: Option<&str>, message: Option<&str>, event: Event) {
            self.keyed(turn, message, event, Vec::new());
        }

        fn keyed(
            &mut self,
            turn: Option<&str>,
            msg: Option<&str>,
            event: Event,
            keys: Vec<String>,
        ) {
            self.seq += 1;
            let mut env = Envelope::new(self.seq, 0, event);
            env.turn_id = turn.map(str::to_string);
            env.message_id = msg.map(str::to_string);
            self.app.on_envelope(&env, keys);
        }

        fn reply(&mut self, turn: &str, msg: &str, text: &str) {
            self.ev(
                Some(turn),
                None,
                Event::TurnStarted {
                    reply_to: Some("c-1".into()),
                },
            );
            self.ev(
                Some(turn),
                Some(msg),
                Event::MessageStarted {
                    role: Role::Assistant,
                },
            );
            let update = TextUpdate::Append {
                text: text.into(),
                offset: 0,
            };
            let delta = Event::TextDelta {
                channel: TextChannel::Text,
                update,
            };
            self.ev(Some(turn), Some(msg), delta);
            let done = Event::MessageCompleted { text: text.into() };
            self.ev(Some(turn), Some(msg), done);
        }

        fn completed(&mut self, turn: &str) {
            let end = Event::TurnCompleted {
                finish_reason: None,
                usage: None,
            };
            self.ev(Some(turn), None, end);
        }

        fn state(&mut self, from: ConnectionState, to: ConnectionState) {
            self.ev(None, None, Event::StateChanged { from, to });
        }
    }

    fn reconnecting(attempt: u32) -> ConnectionState {
        ConnectionState::Reconnecting {
            attempt,
            delay: Duration::from_secs(1),
        }
    }

    #[test]
    fn a_clean_turn_has_no_violation() {
        let mut f = Feed::new();
        f.reply("t-1", "m-1", "hi ");
        f.completed("t-1");
        assert!(f.app.violations.is_empty(), "{:?}", f.app.violations);
        assert_eq!(f.app.open_turns(), 0);
    }

    #[test]
    fn a_reply_completed_twice_or_repeated_as_a_message_is_caught() {
        let mut f = Feed::new();
        f.reply("t-1", "m-1", "hi ");
        f.ev(
            Some("t-1"),
            Some("m-1"),
            Event::MessageCompleted { text: "hi ".into() },
        );
        assert!(
            f.app
                .violations
                .iter()
                .any(|v| v.contains("m-1 shown twice"))
        );

        let mut f = Feed::new();
        f.ev(Some("t-1"), None, Event::TurnStarted { reply_to: None });
        f.ev(
            Some("t-1"),
            Some("m-1"),
            Event::MessageStarted {
                role: Role::Assistant,
            },
        );
        let full = Event::Message {
            role: Role::Assistant,
            content: "hi ".into(),
            metadata: None,
        };
        f.ev(Some("t-1"), Some("m-1"), full);
        assert!(
            f.app
                .violations
                .iter()
                .any(|v| v.contains("streamed, then again"))
        );
    }

    #[test]
    fn a_second_terminal_or_a_second_completed_turn_for_one_message_is_caught() {
        let mut f = Feed::new();
        f.reply("t-1", "m-1", "a ");
        f.completed("t-1");
        f.completed("t-1");
        assert!(
            f.app
                .violations
                .iter()
                .any(|v| v.contains("after the end of turn t-1"))
        );

        let mut f = Feed::new();
        f.reply("t-1", "m-1", "a ");
        f.completed("t-1");
        f.reply("t-2", "m-2", "a ");
        f.completed("t-2");
        assert!(
            f.app
                .violations
                .iter()
                .any(|v| v.contains("answered by 2 completed turns"))
        );
    }

    #[test]
    fn a_server_event_delivered_twice_is_caught_but_one_event_may_become_several() {
        let mut f = Feed::new();
        let key = || vec!["event 7".to_string()];
        f.keyed(
            Some("t-1"),
            None,
            Event::TurnStarted { reply_to: None },
            key(),
        );
        f.keyed(Some("t-1"), None, Event::Heartbeat, key());
        assert!(f.app.violations.is_empty(), "{:?}", f.app.violations);
        f.keyed(Some("t-1"), None, Event::Heartbeat, key());
        assert!(
            f.app
                .violations
                .iter()
                .any(|v| v.contains("event 7 reached the app twice"))
        );
    }

    #[test]
    fn a_flapping_backend_must_see_the_attempt_count_grow_unless_data_got_through() {
        let mut f = Feed::new();
        f.app.flapping = true;
        f.state(ConnectionState::Disconnected, ConnectionState::Connecting);
        f.state(ConnectionState::Connecting, ConnectionState::Ready);
        f.state(ConnectionState::Ready, reconnecting(1));
        f.state(reconnecting(1), ConnectionState::Connecting);
        f.state(ConnectionState::Connecting, ConnectionState::Ready);
        f.state(ConnectionState::Ready, reconnecting(2));
        assert!(f.app.violations.is_empty(), "{:?}", f.app.violations);
        f.state(reconnecting(2), ConnectionState::Connecting);
        f.state(ConnectionState::Connecting, ConnectionState::Ready);
        f.seq += 1;
        let mut progress = Envelope::new(f.seq, 0, Event::Heartbeat);
        progress.cursor = Some("c-9".into());
        f.app.on_envelope(&progress, Vec::new());
        f.state(ConnectionState::Ready, reconnecting(1));
        assert!(f.app.violations.is_empty(), "{:?}", f.app.violations);
        f.state(reconnecting(1), ConnectionState::Connecting);
        f.state(ConnectionState::Connecting, ConnectionState::Ready);
        f.state(ConnectionState::Ready, reconnecting(1));
        assert!(
            f.app
                .violations
                .iter()
                .any(|v| v.contains("the count must grow"))
        );
    }
}

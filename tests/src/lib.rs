//! Shared helpers for chatwire's cross-crate test suites (the suites live in `tests/tests/`):
//! spawning `chatwire-mock`, building a [`Client`] for any dialect with test-friendly timings,
//! recording the event stream with a hang guard, and the checks every suite makes on both sides
//! of the wire — assembled text, one terminal event per turn and per tool call, no event twice,
//! each client message recorded once by the server.
//!
//! Waiting is always for a condition (an event, a state, a receipt), with [`HANG_GUARD`] as an
//! overall limit that only turns a hang into a readable failure; nothing here sleeps to assert.

#![allow(clippy::unwrap_used, clippy::missing_panics_doc)] // test support: panics are the point

pub mod raw_http;
pub mod raw_ws;

use chatwire::backoff::BackoffPolicy;
use chatwire::client::{ClientBuilder, EventStream, Receipt};
use chatwire::event::{
    DeliveryStatus, Envelope, Event, Role, TextChannel, TextUpdate, TurnErrorCode,
};
use chatwire::{Client, ConnectionState, DialectKind};
use chatwire_mock::{FaultSpec, MockConfig, MockServer, Received};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

pub use chatwire;
pub use chatwire_mock;

/// Overall limit of any single wait: generous, only there to turn a hang into a failure.
pub const HANG_GUARD: Duration = Duration::from_secs(30);

/// Backoff for tests: the engine's schedule and floors, scaled down to tens of milliseconds.
pub fn fast_backoff() -> BackoffPolicy {
    BackoffPolicy {
        base: Duration::from_millis(20),
        cap: Duration::from_millis(500),
        restart_max: Duration::from_millis(100),
        rate_limit_min: Duration::from_millis(50),
        initializing_min: Duration::from_millis(50),
        network_min: Duration::from_millis(30),
        ..BackoffPolicy::default()
    }
}

/// A mock server with the default scripted agent, seeded.
pub async fn spawn_mock(seed: u64) -> MockServer {
    spawn_mock_with(MockConfig::default().seed(seed)).await
}

/// A mock server with `config`.
pub async fn spawn_mock_with(config: MockConfig) -> MockServer {
    chatwire_mock::spawn(config).await.unwrap()
}

/// A builder for `kind` against `mock`, seeded, with [`fast_backoff`]. Every dialect param keeps
/// its default (each one `chatwire-mock` accepts).
pub fn builder(kind: DialectKind, mock: &MockServer, seed: u64) -> ClientBuilder {
    Client::builder(kind, mock.base_url())
        .seed(seed)
        .backoff(fast_backoff())
}

/// Whether the dialect resumes a cut stream (no `Discontinuity` expected after a reconnect).
pub fn resumes(client: &Client) -> bool {
    client.capabilities().resume
}

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

/// One compact line per event: seq, turn, message, event JSON (without `raw`).
pub fn dump(log: &[Envelope]) -> String {
    let mut out = String::new();
    for e in log {
        let event = serde_json::to_string(&e.event).unwrap_or_default();
        let _ = writeln!(
            out,
            "  #{} turn={} msg={} {event}",
            e.seq,
            e.turn_id.as_deref().unwrap_or("-"),
            e.message_id.as_deref().unwrap_or("-"),
        );
    }
    out
}

/// A terminal event after which the engine does not retry the turn (a `TurnFailed` caused by
/// a lost connection is followed by a re-send on dialects that cannot resume).
pub fn is_final_terminal(event: &Event) -> bool {
    use chatwire::event::TurnErrorCode::{Disconnected, Discontinuity, Eof};
    match event {
        Event::TurnCompleted { .. } | Event::TurnCancelled => true,
        Event::TurnFailed { error } => !matches!(error.code, Disconnected | Discontinuity | Eof),
        _ => false,
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

/// The assistant text as a UI shows it: per message (in order of first appearance), appends at
/// their offsets (checked to be the current length), replaces, and complete assistant
/// `Message`s; the messages joined. Panics on an append at a wrong offset.
pub fn assembled_text(log: &[Envelope]) -> String {
    let mut order: Vec<Option<String>> = Vec::new();
    let mut texts: BTreeMap<Option<String>, String> = BTreeMap::new();
    for env in log {
        let key = env.message_id.clone();
        let text = match &env.event {
            Event::TextDelta {
                channel: TextChannel::Text,
                update,
            } => {
                let text = texts.entry(key.clone()).or_default();
                match update {
                    TextUpdate::Append { text: t, offset } => {
                        assert_eq!(
                            *offset as usize,
                            text.chars().count(),
                            "append offset is not the assembled length (seq {})\n{}",
                            env.seq,
                            dump(log)
                        );
                        text.push_str(t);
                    }
                    TextUpdate::Replace { text: t } => *text = t.clone(),
                    other => panic!("unknown text update {other:?}"),
                }
                true
            }
            Event::Message {
                role: Role::Assistant,
                content,
                ..
            } => {
                texts.insert(key.clone(), content.clone());
                true
            }
            _ => false,
        };
        if text && !order.contains(&key) {
            order.push(key);
        }
    }
    order
        .iter()
        .filter_map(|k| texts.get(k).cloned())
        .collect::<Vec<_>>()
        .join("")
}

/// Counts events matching `pred`.
pub fn count(log: &[Envelope], pred: impl Fn(&Event) -> bool) -> usize {
    log.iter().filter(|e| pred(&e.event)).count()
}

/// The ids of the turns in `log` with their terminal events, in order of first appearance.
pub fn turns(log: &[Envelope]) -> Vec<(String, Vec<Event>)> {
    let mut out: Vec<(String, Vec<Event>)> = Vec::new();
    for env in log {
        let Some(turn) = &env.turn_id else { continue };
        let i = match out.iter().position(|(t, _)| t == turn) {
            Some(i) => i,
            None => {
                out.push((turn.clone(), Vec::new()));
                out.len() - 1
            }
        };
        if env.event.is_turn_terminal() {
            out[i].1.push(env.event.clone());
        }
    }
    out
}

/// Both-sides checks on the app's stream: every turn started once and ended exactly once,
/// every tool call started once and ended once, no turn event delivered twice, strictly
/// increasing gap-free `seq`.
pub fn assert_stream_clean(kind: DialectKind, log: &[Envelope]) {
    let ctx = || format!("{kind}\n{}", dump(log));
    let seqs: Vec<u64> = log.iter().map(|e| e.seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "seq gaps: {}",
        ctx()
    );
    for (turn, terminals) in turns(log) {
        assert_eq!(
            terminals.len(),
            1,
            "turn {turn} ended {} times: {}",
            terminals.len(),
            ctx()
        );
        let starts = log
            .iter()
            .filter(|e| e.turn_id.as_deref() == Some(&turn))
            .filter(|e| matches!(e.event, Event::TurnStarted { .. }))
            .count();
        assert_eq!(starts, 1, "turn {turn} started {starts} times: {}", ctx());
    }
    let mut tools: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for env in log {
        match &env.event {
            Event::ToolStarted { tool_id, .. } => tools.entry(tool_id).or_default().0 += 1,
            Event::ToolCompleted { tool_id, .. } | Event::ToolFailed { tool_id, .. } => {
                tools.entry(tool_id).or_default().1 += 1;
            }
            _ => {}
        }
    }
    for (tool, (started, ended)) in tools {
        assert_eq!(
            (started, ended),
            (1, 1),
            "tool {tool} started/ended: {}",
            ctx()
        );
    }
    // An assistant message completed twice is an answer shown twice.
    let mut completed: BTreeMap<&str, u64> = BTreeMap::new();
    for env in log {
        if let (Event::MessageCompleted { .. } | Event::Message { .. }, Some(m)) =
            (&env.event, env.message_id.as_deref())
        {
            if let Some(first) = completed.insert(m, env.seq) {
                panic!(
                    "message {m} completed at #{first} and #{}: {}",
                    env.seq,
                    ctx()
                );
            }
        }
    }
    // A turn event (other than streamed text) delivered twice is a duplicate that got through.
    let mut seen = BTreeMap::new();
    for env in log {
        let (Some(turn), false) = (&env.turn_id, matches!(env.event, Event::TextDelta { .. }))
        else {
            continue;
        };
        let key = (
            turn.clone(),
            env.message_id.clone(),
            serde_json::to_string(&env.event).unwrap(),
        );
        if let Some(first) = seen.insert(key, env.seq) {
            panic!("event #{} repeats #{first}: {}", env.seq, ctx());
        }
    }
}

/// How many `Discontinuity` events the log holds.
pub fn discontinuities(log: &[Envelope]) -> usize {
    count(log, |e| matches!(e, Event::Discontinuity { .. }))
}

/// Server side: the mock recorded exactly `texts` (in any order), each as one message.
pub fn assert_received_once(kind: DialectKind, mock: &MockServer, texts: &[&str]) -> Vec<Received> {
    let received = mock.received();
    let mut got: Vec<&str> = received.iter().map(|r| r.text.as_str()).collect();
    let mut want = texts.to_vec();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want, "{kind}: the server recorded {received:#?}");
    assert!(
        received.iter().all(|r| r.times_received >= 1),
        "{kind}: {received:#?}"
    );
    received
}

/// Both sides after a fault: the stream is clean, the two replies are exact, the dialect either
/// resumed silently or reported one discontinuity per lost connection and retried the turn.
pub fn assert_recovered(s: &Session, mock: &MockServer, replies: &[(&str, &str)]) {
    let kind = s.kind();
    let log = &s.log;
    assert_stream_clean(kind, log);
    for (sent, reply) in replies {
        let part = s.segment(sent);
        assert_eq!(
            assembled_text(part),
            *reply,
            "{kind}: reply to {sent}\n{}",
            s.dump()
        );
        let last = part.iter().rev().find(|e| is_final_terminal(&e.event));
        assert!(
            matches!(last.map(|e| &e.event), Some(Event::TurnCompleted { .. })),
            "{kind}: {sent} answered by TurnCompleted\n{}",
            s.dump()
        );
    }
    let failed: Vec<TurnErrorCode> = log
        .iter()
        .filter_map(|e| match &e.event {
            Event::TurnFailed { error } => Some(error.code),
            _ => None,
        })
        .collect();
    // Each time the client is ready again after having been ready, it reconnected.
    let recoveries = count(log, |e| {
        matches!(
            e,
            Event::StateChanged {
                to: chatwire::ConnectionState::Ready,
                ..
            }
        )
    })
    .saturating_sub(1);
    if resumes(&s.client) {
        assert_eq!(discontinuities(log), 0, "{kind} resumes\n{}", s.dump());
        assert!(
            failed.is_empty(),
            "{kind} resumes: no turn fails\n{}",
            s.dump()
        );
    } else {
        assert_eq!(
            discontinuities(log),
            recoveries,
            "{kind}: one discontinuity per lost connection\n{}",
            s.dump()
        );
        assert!(
            failed.iter().all(|c| matches!(
                c,
                TurnErrorCode::Disconnected | TurnErrorCode::Discontinuity
            )),
            "{kind}: only interrupted turns fail\n{}",
            s.dump()
        );
    }
    let texts: Vec<&str> = replies.iter().map(|(t, _)| *t).collect();
    assert_received_once(kind, mock, &texts);
}

/// A client of `kind` against a mock with `spec` installed, after `hello` and `again` were
/// each answered.
pub async fn two_exchanges(kind: DialectKind, spec: FaultSpec, seed: u64) -> (Session, MockServer) {
    let mock = spawn_mock(seed).await;
    mock.set_faults(spec).unwrap();
    let mut s = Session::start(builder(kind, &mock, seed));
    s.exchange("hello").await;
    s.exchange("again").await;
    (s, mock)
}

/// The dialect named like a test function (`chat_v2` -> `chat-v2`).
pub fn dialect(name: &str) -> DialectKind {
    name.parse().unwrap()
}

/// Generates, in a module named after `case`, one `#[tokio::test]` per dialect (all six, or
/// the ones listed after a colon), each calling `case(kind).await`.
#[macro_export]
macro_rules! per_dialect {
    ($case:ident) => {
        $crate::per_dialect!($case: native, miptech, chat_v2, chat_interfaces, parlant, openai);
    };
    ($case:ident: $($d:ident),+ $(,)?) => {
        mod $case {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $d() {
                    super::$case($crate::dialect(stringify!($d))).await
                }
            )+
        }
    };
}

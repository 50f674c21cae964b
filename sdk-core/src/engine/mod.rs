//! The sans-IO engine: one deterministic state machine per chat client.
//!
//! [`Engine`] owns everything that is the same for every backend — the connection state machine
//! with its timeouts and liveness checks, backoff, the outbound queue, inbound dedup, turn
//! tracking and text assembly, SSE parsing — and drives a [`Dialect`] for the wire protocol.
//! It never reads a clock or an OS RNG and never does IO: see the crate docs for the driving
//! contract. This file holds the public API; the state machine, the inbound and the outbound
//! paths live in the sibling modules.

// Some of its methods serve only some dialects (cargo features `dialect-<name>`).
#[cfg_attr(not(feature = "all-dialects"), allow(dead_code))]
pub(crate) mod bounded;
mod conn;
mod dedup;
mod http_deadline;
mod inbound;
mod item;
mod outbound;
mod queue;
pub(crate) mod rng;
mod trace;
mod turns;

use crate::config::Config;
use crate::dialect::{Capabilities, Dialect};
use crate::error::{ConfigError, EngineError};
use crate::ids::{ClientId, Cursor};
use crate::io::{Command, Input, Output};
use crate::seqmap::SeqMap;
use crate::sse;
use crate::state::ConnectionState;
use crate::time::Instant;
use conn::Conn;
use dedup::Dedup;
/// The fixed (identity) hasher of the dedup sets, for codec-side sets of fingerprints.
pub(crate) use dedup::IdHasher;
use item::Item;
use queue::{Payload, Queue};
use rng::Rng;
use std::collections::VecDeque;
use turns::Turns;

/// A chat client's core, driven through [`handle`](Engine::handle),
/// [`poll_output`](Engine::poll_output) and [`poll_timeout`](Engine::poll_timeout).
///
/// The command methods ([`send`](Engine::send), [`typing`](Engine::typing), ...) are shorthands
/// for `handle(now, Input::Command(..))` that also return what the caller needs (the client id).
pub struct Engine {
    config: Config,
    dialect: Box<dyn Dialect>,
    caps: Capabilities,
    rng: Rng,
    outputs: VecDeque<Output>,
    conn: Conn,
    /// Consecutive failed attempts since the last healthy connection (see `Config::stable_after`).
    failures: u32,
    /// When the current connection became `Ready`.
    ready_since: Option<Instant>,
    /// A turn completed on the current connection: it is healthy whatever its age.
    proven: bool,
    /// The resume cursor when the current attempt started: a connection that moved it on made
    /// progress (the next attempt starts further on), so it is not flapping.
    attempt_cursor: Option<Cursor>,
    /// Incremented at every connection attempt; tags in-flight messages.
    epoch: u64,
    ever_ready: bool,
    /// A turn was cut on a backend that cannot resume since the last `Ready`: the next
    /// reconnect reports one `Discontinuity`.
    cut_turn: bool,
    tearing_down: bool,
    live: SeqMap<Handle>,
    next_id: u64,
    queue: Queue,
    /// A message was settled during the current dialect call: with `ordered_sends`, the next
    /// one may go once the call's actions are carried out.
    release_next: bool,
    dedup: Dedup,
    /// Inbound events dropped by the dedup registry as repeats.
    duplicates_dropped: u64,
    turns: Turns,
    cursor: Option<Cursor>,
    seq: u64,
    now: Instant,
    last_rx: Instant,
    pong_deadline: Option<Instant>,
    ping_nonce: u64,
    typing: TypingState,
    scratch: Vec<Item>,
    spare_actions: Vec<crate::dialect::Action>,
}

/// Sizes of the engine's bounded structures (for monitoring and for tests that check memory
/// stays bounded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct EngineStats {
    /// Messages queued or in flight (<= `queue_capacity`).
    pub queued: usize,
    /// Dedup keys remembered (<= `dedup_capacity`).
    pub dedup_keys: usize,
    /// Turns currently open.
    pub open_turns: usize,
    /// Text parts whose length is tracked (bounded).
    pub text_parts: usize,
    /// Transport handles currently open.
    pub live_handles: usize,
    /// Envelopes emitted so far (the last `seq`).
    pub events: u64,
    /// Inbound events dropped as repeats of an event already delivered (same dedup key):
    /// duplicated frames, replays after resume. Counts what the engine's registry caught, not
    /// repeats a dialect filtered itself.
    pub duplicates_dropped: u64,
}

/// A transport handle the engine tracks.
#[derive(Debug)]
enum Handle {
    Socket,
    Http {
        kind: crate::dialect::ResponseKind,
        sse: Option<Box<sse::Parser>>,
        /// When the request fails unless answered: see [`Engine::http_deadlines`].
        deadline: Option<HttpDeadline>,
    },
}

/// The engine-owned deadline of one HTTP request (drivers and hosts apply none of their own).
#[derive(Debug, Clone, Copy)]
struct HttpDeadline {
    at: Instant,
    /// Why the request fails at `at`.
    why: HttpLate,
}

#[derive(Debug, Clone, Copy)]
enum HttpLate {
    /// An SSE request without response headers within the connect timeout (ms).
    NoResponse(u64),
    /// The request's own `timeout_ms` passed.
    Total(u64),
}

#[derive(Debug, Default)]
struct TypingState {
    /// Latest state the app asked for and that is not yet on the wire.
    desired: Option<bool>,
    /// The backend currently shows us typing.
    sent: bool,
    last_start: Option<Instant>,
    retry_at: Option<Instant>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("dialect", &self.dialect.name())
            .field("state", &self.conn.public())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine for `dialect` with `config` (validated first).
    ///
    /// ```
    /// use chatwire::dialect::native::{NativeConfig, NativeDialect};
    /// let dialect = NativeDialect::new(NativeConfig::new("http://localhost:8080", "c-1"));
    /// let engine = chatwire::Engine::new(chatwire::Config::default(), Box::new(dialect)).unwrap();
    /// assert_eq!(engine.state(), chatwire::ConnectionState::Disconnected);
    /// ```
    pub fn new(config: Config, dialect: Box<dyn Dialect>) -> Result<Engine, ConfigError> {
        config.validate()?;
        let caps = dialect.capabilities();
        Ok(Engine {
            rng: Rng::new(config.seed),
            caps,
            outputs: VecDeque::new(),
            conn: Conn::Idle,
            failures: 0,
            ready_since: None,
            proven: false,
            attempt_cursor: None,
            epoch: 0,
            ever_ready: false,
            cut_turn: false,
            tearing_down: false,
            live: SeqMap::new(),
            next_id: 1,
            queue: Queue::new(config.queue_capacity, config.overflow),
            release_next: false,
            dedup: Dedup::new(config.dedup_capacity),
            duplicates_dropped: 0,
            turns: Turns::new(config.turn_timeout, config.delta_coalesce),
            cursor: config.resume_cursor.clone(),
            seq: 0,
            now: Instant::ZERO,
            last_rx: Instant::ZERO,
            pong_deadline: None,
            ping_nonce: 0,
            typing: TypingState::default(),
            scratch: Vec::new(),
            spare_actions: Vec::new(),
            dialect,
            config,
        })
    }

    /// Feeds one input at time `now` (monotonic; never earlier than a previous `now`). Afterwards
    /// drain [`poll_output`](Engine::poll_output) and re-arm the timer from
    /// [`poll_timeout`](Engine::poll_timeout).
    ///
    /// Errors: [`EngineError::TimeWentBackwards`]; [`EngineError::Closed`] for a command after
    /// `close` (transport reports after `close` are ignored); the errors of the command methods.
    ///
    /// ```
    /// # use chatwire::dialect::native::{NativeConfig, NativeDialect};
    /// # let dialect = NativeDialect::new(NativeConfig::new("http://localhost:8080", "c-1"));
    /// # let mut engine = chatwire::Engine::new(chatwire::Config::default(), Box::new(dialect)).unwrap();
    /// use chatwire::{Command, EngineError, Input, Instant};
    /// engine.handle(Instant::from_millis(5), Input::Command(Command::Connect)).unwrap();
    /// assert_eq!(engine.state(), chatwire::ConnectionState::Connecting);
    /// let late = engine.handle(Instant::ZERO, Input::Timeout);
    /// assert!(matches!(late, Err(EngineError::TimeWentBackwards { .. })));
    /// ```
    pub fn handle(&mut self, now: Instant, input: Input) -> Result<(), EngineError> {
        let is_command = matches!(input, Input::Command(_));
        self.begin(now, is_command)?;
        if self.conn.is_closed() {
            return Ok(());
        }
        match input {
            Input::Command(command) => self.command(now, command),
            Input::Timeout => Ok(()),
            transport => {
                self.transport(now, transport);
                Ok(())
            }
        }
    }

    /// Feeds one WebSocket message, borrowed: the same as `handle(now, Input::SocketFrame {
    /// conn, frame })` without the copy into an owned [`Frame`](crate::Frame) (a driver
    /// passes the text its WebSocket library just read). Errors as [`handle`](Engine::handle).
    ///
    /// ```
    /// # use chatwire::dialect::native::{NativeConfig, NativeDialect};
    /// # let dialect = NativeDialect::new(NativeConfig::new("http://localhost:8080", "c-1"));
    /// # let mut engine = chatwire::Engine::new(chatwire::Config::default(), Box::new(dialect)).unwrap();
    /// use chatwire::{ConnectionState, FrameRef, Input, Instant, Output};
    /// engine.connect(Instant::ZERO).unwrap();
    /// let conn = std::iter::from_fn(|| engine.poll_output())
    ///     .find_map(|o| match o { Output::OpenSocket { conn, .. } => Some(conn), _ => None }).unwrap();
    /// engine.handle(Instant::ZERO, Input::SocketOpened { conn }).unwrap();
    /// let welcome = r#"{"type":"welcome","conversation_id":"c-1","last_seq":0,"resumed":true}"#;
    /// engine.handle_frame(Instant::ZERO, conn, FrameRef::Text(welcome)).unwrap();
    /// assert_eq!(engine.state(), ConnectionState::Ready);
    /// ```
    pub fn handle_frame(
        &mut self,
        now: Instant,
        conn: crate::ids::ConnId,
        frame: crate::io::FrameRef<'_>,
    ) -> Result<(), EngineError> {
        self.begin(now, false)?;
        if self.conn.is_closed() {
            return Ok(());
        }
        self.socket_frame(now, conn, frame);
        Ok(())
    }

    /// The next output, if any. Call until `None` after every `handle`.
    ///
    /// ```
    /// # use chatwire::dialect::native::{NativeConfig, NativeDialect};
    /// # let dialect = NativeDialect::new(NativeConfig::new("http://localhost:8080", "c-1"));
    /// # let mut engine = chatwire::Engine::new(chatwire::Config::default(), Box::new(dialect)).unwrap();
    /// use chatwire::{Instant, Output};
    /// engine.send(Instant::ZERO, "hi").unwrap(); // lazy connect: this opens the socket
    /// let mut socket_url = None;
    /// while let Some(output) = engine.poll_output() {
    ///     if let Output::OpenSocket { url, .. } = output { socket_url = Some(url) }
    /// }
    /// assert!(socket_url.is_some_and(|url| url.starts_with("ws://localhost:8080")));
    /// ```
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When the driver must call `handle(now, Input::Timeout)` next (`None`: no timer needed).
    ///
    /// ```
    /// # use chatwire::dialect::native::{NativeConfig, NativeDialect};
    /// # let dialect = NativeDialect::new(NativeConfig::new("http://localhost:8080", "c-1"));
    /// # let mut engine = chatwire::Engine::new(chatwire::Config::default(), Box::new(dialect)).unwrap();
    /// use chatwire::{ConnectionState, Input, Instant};
    /// assert_eq!(engine.poll_timeout(), None); // idle: no timer
    /// engine.connect(Instant::from_millis(100)).unwrap();
    /// let deadline = engine.poll_timeout().unwrap(); // the connect timeout (10 s)
    /// assert_eq!(deadline, Instant::from_millis(10_100));
    /// engine.handle(deadline, Input::Timeout).unwrap();
    /// assert!(matches!(engine.state(), ConnectionState::Reconnecting { attempt: 1, .. }));
    /// ```
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut next = self.conn_deadline();
        for t in [
            self.typing.retry_at,
            self.turns.next_deadline(),
            self.next_http_deadline(),
        ]
        .into_iter()
        .flatten()
        {
            next = Some(next.map_or(t, |n| n.min(t)));
        }
        next
    }

    /// The public connection state.
    pub fn state(&self) -> ConnectionState {
        self.conn.public()
    }

    /// The latest resume cursor delivered to the app (persist it to resume across restarts).
    pub fn cursor(&self) -> Option<&Cursor> {
        self.cursor.as_ref()
    }

    /// What the dialect supports.
    pub fn capabilities(&self) -> Capabilities {
        self.caps
    }

    /// Sizes of the bounded structures.
    ///
    /// ```
    /// # use chatwire::dialect::native::{NativeConfig, NativeDialect};
    /// # let dialect = NativeDialect::new(NativeConfig::new("http://localhost:8080", "c-1"));
    /// # let mut engine = chatwire::Engine::new(chatwire::Config::default(), Box::new(dialect)).unwrap();
    /// use chatwire::Instant;
    /// assert_eq!(engine.stats(), chatwire::engine::EngineStats::default());
    /// engine.send(Instant::ZERO, "one").unwrap();
    /// engine.send(Instant::ZERO, "two").unwrap();
    /// assert_eq!(engine.stats().queued, 2);
    /// ```
    pub fn stats(&self) -> EngineStats {
        EngineStats {
            queued: self.queue.len(),
            dedup_keys: self.dedup.len(),
            open_turns: self.turns.open_turns(),
            text_parts: self.turns.tracked_parts(),
            live_handles: self.live.len(),
            events: self.seq,
            duplicates_dropped: self.duplicates_dropped,
        }
    }

    /// Starts connecting (only needed when not relying on lazy connect).
    ///
    /// ```
    /// # use chatwire::dialect::native::{NativeConfig, NativeDialect};
    /// # let dialect = NativeDialect::new(NativeConfig::new("http://localhost:8080", "c-1"));
    /// # let mut engine = chatwire::Engine::new(chatwire::Config::default(), Box::new(dialect)).unwrap();
    /// engine.connect(chatwire::Instant::ZERO).unwrap();
    /// assert_eq!(engine.state(), chatwire::ConnectionState::Connecting);
    /// ```
    pub fn connect(&mut self, now: Instant) -> Result<(), EngineError> {
        self.handle(now, Input::Command(Command::Connect))
    }

    /// Queues a chat message and returns its client id. Status events follow:
    /// `Queued`, then `Sent` and `Acked`, or `Failed{reason}`.
    ///
    /// Errors: `Closed`, `TooLarge` (over `max_frame_bytes`), `QueueFull` (policy `RejectNew`).
    ///
    /// ```
    /// # use chatwire::dialect::native::{NativeConfig, NativeDialect};
    /// # let dialect = NativeDialect::new(NativeConfig::new("http://localhost:8080", "c-1"));
    /// # let mut engine = chatwire::Engine::new(chatwire::Config::default(), Box::new(dialect)).unwrap();
    /// use chatwire::event::{DeliveryStatus, Event};
    /// use chatwire::{Instant, Output};
    /// let id = engine.send(Instant::ZERO, "hello").unwrap();
    /// let queued = std::iter::from_fn(|| engine.poll_output()).any(|o| matches!(o,
    ///     Output::Event(e) if e.event == Event::MessageStatus {
    ///         client_id: id, status: DeliveryStatus::Queued, server_id: None }));
    /// assert!(queued);
    /// ```
    pub fn send(&mut self, now: Instant, text: impl Into<String>) -> Result<ClientId, EngineError> {
        self.begin(now, true)?;
        self.enqueue(now, Payload::Text(text.into()))
    }

    /// Takes back a message that was never handed to the transport: it leaves the queue and ends
    /// `Failed{Discarded}`.
    ///
    /// Errors: `AlreadySent` once the message went out (it cannot be taken back from the
    /// backend), `UnknownMessage` for an id that is not queued (never sent, or already settled),
    /// `Closed`.
    ///
    /// ```
    /// # use chatwire::dialect::native::{NativeConfig, NativeDialect};
    /// # let dialect = NativeDialect::new(NativeConfig::new("http://localhost:8080", "c-1"));
    /// # let mut engine = chatwire::Engine::new(chatwire::Config::default(), Box::new(dialect)).unwrap();
    /// use chatwire::{EngineError, Instant};
    /// let id = engine.send(Instant::ZERO, "draft").unwrap();
    /// assert_eq!(engine.discard(Instant::ZERO, id), Ok(()));
    /// assert_eq!(engine.discard(Instant::ZERO, id), Err(EngineError::UnknownMessage { client_id: id }));
    /// ```
    pub fn discard(&mut self, now: Instant, client_id: ClientId) -> Result<(), EngineError> {
        self.begin(now, true)?;
        match self.queue.get(client_id).map(|p| p.stage) {
            None => Err(EngineError::UnknownMessage { client_id }),
            Some(queue::Stage::InFlight) => Err(EngineError::AlreadySent { client_id }),
            Some(queue::Stage::Queued) => {
                self.queue.remove(client_id);
                self.emit_status_failed(client_id, crate::event::FailReason::Discarded);
                Ok(())
            }
        }
    }

    /// Queues audio (base64) like a message. Errors as [`send`](Engine::send), plus
    /// `Unsupported` when the dialect has no audio.
    pub fn send_audio(
        &mut self,
        now: Instant,
        format: impl Into<String>,
        data: impl Into<String>,
    ) -> Result<ClientId, EngineError> {
        self.begin(now, true)?;
        let payload = Payload::Audio {
            format: format.into(),
            data: data.into(),
        };
        self.enqueue(now, payload)
    }

    /// Reports the user typing (coalesced to the latest state, throttled; ignored when the dialect
    /// has no typing indicator).
    ///
    /// ```
    /// # use chatwire::dialect::native::{NativeConfig, NativeDialect};
    /// # let dialect = NativeDialect::new(NativeConfig::new("http://localhost:8080", "c-1"));
    /// # let mut engine = chatwire::Engine::new(chatwire::Config::default(), Box::new(dialect)).unwrap();
    /// use chatwire::{ConnectionState, Instant};
    /// engine.typing(Instant::ZERO, true).unwrap(); // lazy connect starts on typing too
    /// assert_eq!(engine.state(), ConnectionState::Connecting);
    /// engine.typing(Instant::from_millis(50), false).unwrap();
    /// ```
    pub fn typing(&mut self, now: Instant, active: bool) -> Result<(), EngineError> {
        self.handle(now, Input::Command(Command::Typing { active }))
    }

    /// Cancels the turn in progress (server-side when supported, else locally).
    ///
    /// ```
    /// # use chatwire::dialect::native::{NativeConfig, NativeDialect};
    /// # use chatwire::{Config, Engine, Frame, Input, Instant, Output};
    /// # let dialect = NativeDialect::new(NativeConfig::new("http://localhost:8080", "c-1"));
    /// # let mut engine = Engine::new(Config::default(), Box::new(dialect)).unwrap();
    /// # let now = Instant::ZERO;
    /// # let id = engine.send(now, "hi").unwrap();
    /// # let conn = std::iter::from_fn(|| engine.poll_output())
    /// #     .find_map(|o| match o { Output::OpenSocket { conn, .. } => Some(conn), _ => None }).unwrap();
    /// # engine.handle(now, Input::SocketOpened { conn }).unwrap();
    /// # let frame = |text: String| Input::SocketFrame { conn, frame: Frame::Text(text) };
    /// # let welcome = r#"{"type":"welcome","conversation_id":"c-1","last_seq":0,"resumed":true}"#;
    /// # engine.handle(now, frame(welcome.into())).unwrap();
    /// # let started = format!(r#"{{"type":"event","seq":1,"ts":0,"kind":"turn_started","turn_id":"t-1","reply_to":"{id}"}}"#);
    /// # engine.handle(now, frame(started)).unwrap();
    /// # while engine.poll_output().is_some() {}
    /// assert_eq!(engine.stats().open_turns, 1); // the agent is answering
    /// engine.cancel_turn(now).unwrap();
    /// let sent: Vec<String> = std::iter::from_fn(|| engine.poll_output())
    ///     .filter_map(|o| match o { Output::SendText { text, .. } => Some(text), _ => None })
    ///     .collect();
    /// assert!(sent.iter().any(|text| text.contains(r#""type":"cancel""#)));
    /// ```
    pub fn cancel_turn(&mut self, now: Instant) -> Result<(), EngineError> {
        self.handle(now, Input::Command(Command::CancelTurn))
    }

    /// Skips a pending backoff wait, restarts from `Failed`, or replaces a live connection.
    ///
    /// ```
    /// # use chatwire::dialect::native::{NativeConfig, NativeDialect};
    /// # let dialect = NativeDialect::new(NativeConfig::new("http://localhost:8080", "c-1"));
    /// # let mut engine = chatwire::Engine::new(chatwire::Config::default(), Box::new(dialect)).unwrap();
    /// use chatwire::{ConnectionState, Input, Instant};
    /// engine.connect(Instant::ZERO).unwrap();
    /// engine.handle(Instant::from_millis(10_000), Input::Timeout).unwrap(); // connect timed out
    /// assert!(matches!(engine.state(), ConnectionState::Reconnecting { .. }));
    /// engine.reconnect_now(Instant::from_millis(10_001)).unwrap(); // no backoff wait
    /// assert_eq!(engine.state(), ConnectionState::Connecting);
    /// ```
    pub fn reconnect_now(&mut self, now: Instant) -> Result<(), EngineError> {
        self.handle(now, Input::Command(Command::ReconnectNow))
    }

    /// Closes for good. Pending messages fail with `Closed`, open turns are cancelled, the state
    /// becomes `Closed`; later commands (including a second `close`) return
    /// [`EngineError::Closed`], later transport reports are ignored.
    ///
    /// ```
    /// # use chatwire::dialect::native::{NativeConfig, NativeDialect};
    /// # let dialect = NativeDialect::new(NativeConfig::new("http://localhost:8080", "c-1"));
    /// # let mut engine = chatwire::Engine::new(chatwire::Config::default(), Box::new(dialect)).unwrap();
    /// use chatwire::event::{DeliveryStatus, Event, FailReason};
    /// use chatwire::{ConnectionState, EngineError, Instant, Output};
    /// engine.send(Instant::ZERO, "never sent").unwrap();
    /// engine.close(Instant::ZERO).unwrap();
    /// let failed = DeliveryStatus::Failed { reason: FailReason::Closed };
    /// assert!(std::iter::from_fn(|| engine.poll_output()).any(|o| matches!(o,
    ///     Output::Event(e) if matches!(&e.event, Event::MessageStatus { status, .. } if *status == failed))));
    /// assert_eq!(engine.state(), ConnectionState::Closed);
    /// assert_eq!(engine.close(Instant::ZERO), Err(EngineError::Closed));
    /// ```
    pub fn close(&mut self, now: Instant) -> Result<(), EngineError> {
        self.handle(now, Input::Command(Command::Close))
    }

    /// Time check, closed check for commands, then due timers.
    fn begin(&mut self, now: Instant, is_command: bool) -> Result<(), EngineError> {
        if now < self.now {
            return Err(EngineError::TimeWentBackwards {
                now,
                last: self.now,
            });
        }
        self.now = now;
        if self.conn.is_closed() {
            return if is_command {
                Err(EngineError::Closed)
            } else {
                Ok(())
            };
        }
        self.on_time(now);
        self.http_deadlines(now);
        Ok(())
    }

    fn command(&mut self, now: Instant, command: Command) -> Result<(), EngineError> {
        match command {
            Command::Connect => {
                self.connect_if_idle(now);
                Ok(())
            }
            Command::Send { text } => self.enqueue(now, Payload::Text(text)).map(|_| ()),
            Command::SendAudio { format, data } => self
                .enqueue(now, Payload::Audio { format, data })
                .map(|_| ()),
            Command::Typing { active } => {
                self.set_typing(now, active);
                Ok(())
            }
            Command::CancelTurn => {
                self.cancel(now);
                Ok(())
            }
            Command::ReconnectNow => {
                self.reconnect(now);
                Ok(())
            }
            Command::Close => {
                self.shut(now);
                Ok(())
            }
        }
    }

    fn wall_ms(&self, now: Instant) -> u64 {
        self.config.unix_ms_at_epoch.saturating_add(now.as_millis())
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_attempts;
#[cfg(test)]
mod tests_http;
#[cfg(test)]
mod tests_order;
#[cfg(test)]
mod tests_raw;

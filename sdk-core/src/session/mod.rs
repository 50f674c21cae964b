//! The runtime-free session layer: an [`Engine`] plus every rule a driver must not decide.
//!
//! A [`Session`] owns the sans-IO engine and adds the client policy that used to live in the
//! tokio driver, so that every driver (tokio, the browser host, the FFI) executes the same
//! decisions instead of copying them:
//!
//! - **the token provider's state machine** ([`auth`]): transport operations are held until the
//!   provider first answered; asking for a token is an output ([`SessionOutput::FetchToken`]),
//!   the token or its error an input ([`SessionInput::Token`]); one fetch at a time; a refresh after
//!   every `Error{kind: Auth}` event, at most three without reaching `Ready`, each followed by an
//!   immediate reconnect with the new token;
//! - **header and bearer injection**: every [`Transport::OpenSocket`] and [`Transport::Http`]
//!   leaves with the configured headers and `Authorization: Bearer <token>` filled in;
//! - **receipt routing** ([`receipts`]): every `MessageStatus` event also comes out as a
//!   [`SessionOutput::Status`] whose `terminal` flag is decided here, once; every message reaches
//!   exactly one terminal status, even when the session closes;
//! - **the counters** ([`SessionStats`]): plain fields, read on demand with [`Session::stats`];
//! - **the platform's lifecycle** ([`lifecycle`]): offline stops reconnect attempts until online,
//!   online reconnects at once, visible after hidden probes the link, and a timer that fires far
//!   too late (a sleeping host) probes the link instead of declaring it dead;
//! - **close ordering**: [`Session::close`] closes the engine, delivers its last events (down to
//!   `StateChanged{to: Closed}`), fails whatever message is still open, drops held transport
//!   operations and ends with [`SessionOutput::Closed`].
//!
//! Like the engine, the session reads no clock and touches no socket: it compiles for
//! `wasm32-unknown-unknown` with default features off.
//!
//! # The driving contract
//!
//! The engine's contract, one level up: call [`Session::handle`] (or a shorthand such as
//! [`Session::send`]) with the current monotonic time, drain [`Session::poll`] until `None`,
//! executing what is for the driver and delivering what is for the app, then sleep until
//! [`Session::poll_timeout`] and call `handle(now, SessionInput::Timeout)` when it passes.
//!
//! ```
//! use chatwire::dialect::native::{NativeConfig, NativeDialect};
//! use chatwire::event::DeliveryStatus;
//! use chatwire::session::{Session, SessionInput, SessionOptions, SessionOutput, Transport};
//! use chatwire::{Config, Frame, Input, Instant};
//!
//! let dialect = NativeDialect::new(NativeConfig::new("http://localhost:8080", "c-1"));
//! let mut options = SessionOptions::default();
//! options.token_provider = true;
//! let mut session = Session::new(Config::default(), Box::new(dialect), options).unwrap();
//! let now = Instant::ZERO;
//!
//! // Lazy connect: the send asks for a token first; the socket waits for it.
//! let id = session.send(now, "hello").unwrap();
//! let mut fetch = false;
//! while let Some(output) = session.poll() {
//!     match output {
//!         SessionOutput::FetchToken => fetch = true,
//!         SessionOutput::Transport(op) => panic!("held until the token arrives: {op:?}"),
//!         _ => {}
//!     }
//! }
//! assert!(fetch);
//!
//! // The token arrives: the socket leaves with its bearer header.
//! session.handle(now, SessionInput::Token(Ok("t0k".into()))).unwrap();
//! let mut conn = None;
//! while let Some(output) = session.poll() {
//!     if let SessionOutput::Transport(Transport::OpenSocket { conn: c, headers, .. }) = output {
//!         assert!(headers.contains(&("Authorization".into(), "Bearer t0k".into())));
//!         conn = Some(c);
//!     }
//! }
//! let conn = conn.expect("socket opened");
//!
//! // The server welcomes and acks: the receipt's status is final.
//! session.handle(now, Input::SocketOpened { conn }.into()).unwrap();
//! let welcome = r#"{"type":"welcome","conversation_id":"c-1","last_seq":0,"resumed":true}"#;
//! session.handle(now, Input::SocketFrame { conn, frame: Frame::Text(welcome.into()) }.into()).unwrap();
//! let ack = format!(r#"{{"type":"ack","client_id":"{id}","message_id":"m-1"}}"#);
//! session.handle(now, Input::SocketFrame { conn, frame: Frame::Text(ack) }.into()).unwrap();
//! let mut last = None;
//! while let Some(output) = session.poll() {
//!     if let SessionOutput::Status { client_id, status, terminal } = output {
//!         assert_eq!(client_id, id);
//!         last = Some((status, terminal));
//!     }
//! }
//! assert_eq!(last, Some((DeliveryStatus::Acked, true)));
//! assert_eq!(session.stats().acked, 1);
//! ```

pub mod auth;
mod io;
pub mod lifecycle;
pub mod receipts;

use crate::config::Config;
use crate::dialect::{Capabilities, Dialect};
use crate::engine::Engine;
use crate::error::{BuildError, ConfigError, EngineError};
use crate::event::{Envelope, ErrorKind, Event};
use crate::ids::{ClientId, ConnId};
use crate::io::{Command, FrameRef, Input, Output};
use crate::options::ClientOptions;
use crate::state::ConnectionState;
use crate::time::Instant;
use auth::TokenState;
use receipts::Receipts;
use std::collections::VecDeque;
use std::sync::Arc;

use io::into_transport;
pub use io::{SessionInput, SessionOptions, SessionOutput, Transport};
pub use lifecycle::{LATE_TIMER, Lifecycle};
pub use receipts::{SessionStats, is_terminal};

/// The engine plus client policy, driven exactly like the engine (see the [module docs](self)).
pub struct Session {
    engine: Engine,
    headers: Vec<(String, String)>,
    auth: Option<TokenState>,
    receipts: Receipts,
    out: VecDeque<SessionOutput>,
    closed: bool,
    presence: lifecycle::Presence,
}

impl Session {
    /// A session over `dialect` with the engine settings `config`.
    ///
    /// Errors: an invalid [`Config`] ([`ConfigError`]).
    ///
    /// ```
    /// use chatwire::dialect::native::{NativeConfig, NativeDialect};
    /// use chatwire::session::{Session, SessionOptions};
    /// let dialect = NativeDialect::new(NativeConfig::new("http://localhost:8080", "c-1"));
    /// let session = Session::new(chatwire::Config::default(), Box::new(dialect), SessionOptions::default())?;
    /// assert_eq!(session.state(), chatwire::ConnectionState::Disconnected);
    /// # Ok::<(), chatwire::ConfigError>(())
    /// ```
    pub fn new(
        config: Config,
        dialect: Box<dyn Dialect>,
        options: SessionOptions,
    ) -> Result<Session, ConfigError> {
        let auth = options.token_provider.then(TokenState::default);
        let dialect: Box<dyn Dialect> = match &auth {
            Some(state) => Box::new(auth::RefreshingAuth(dialect, state.shared())),
            None => dialect,
        };
        let engine = Engine::new(config, dialect)?;
        let acks = engine.capabilities().acks;
        Ok(Session {
            engine,
            headers: options.headers,
            auth,
            receipts: Receipts::new(acks),
            out: VecDeque::new(),
            closed: false,
            presence: lifecycle::Presence::default(),
        })
    }

    /// A session from validated [`ClientOptions`] — what every driver calls, so none of them
    /// assembles the engine itself. `fallback_seed` is used when the options set no seed (a driver
    /// draws it from its platform's randomness, so clients never back off in lockstep);
    /// `unix_ms` is the wall clock now, the anchor of the envelopes' timestamps.
    ///
    /// Errors: whatever [`ClientOptions::validate`] refuses ([`BuildError`]).
    ///
    /// ```
    /// use chatwire::options::ClientOptions;
    /// use chatwire::session::Session;
    /// let options = ClientOptions::from_json(r#"{"dialect":"native","baseUrl":"http://127.0.0.1:9"}"#)?;
    /// let session = Session::from_options(&options, 42, 1_763_800_000_000)?;
    /// assert!(session.capabilities().resume);
    /// let bad = ClientOptions::from_json(r#"{"dialect":"native","baseUrl":"http://example.com"}"#)?;
    /// assert!(Session::from_options(&bad, 42, 0).is_err()); // clear text to a remote host
    /// # Ok::<(), chatwire::BuildError>(())
    /// ```
    pub fn from_options(
        options: &ClientOptions,
        fallback_seed: u64,
        unix_ms: u64,
    ) -> Result<Session, BuildError> {
        let mut options = options.clone();
        options.seed = Some(options.seed.unwrap_or(fallback_seed));
        options.validate()?;
        let mut config = options.engine_config();
        config.unix_ms_at_epoch = unix_ms;
        let dialect = options.dialect_codec()?;
        let session_options = SessionOptions {
            headers: options.headers.clone(),
            token_provider: options.token_provider,
        };
        Ok(Session::new(config, dialect, session_options)?)
    }

    /// Feeds one input at `now`; then drain [`poll`](Self::poll).
    ///
    /// Errors: the engine's ([`EngineError::Closed`] after close, time going backwards, a
    /// refused command).
    ///
    /// ```
    /// # use chatwire::dialect::native::{NativeConfig, NativeDialect};
    /// # use chatwire::session::{Session, SessionInput, SessionOptions};
    /// # let dialect = NativeDialect::new(NativeConfig::new("http://localhost:8080", "c-1"));
    /// # let mut session = Session::new(chatwire::Config::default(), Box::new(dialect), SessionOptions::default()).unwrap();
    /// use chatwire::{Command, Instant};
    /// session.handle(Instant::ZERO, Command::Connect.into())?;
    /// assert!(session.poll().is_some()); // StateChanged, then the socket to open
    /// # Ok::<(), chatwire::EngineError>(())
    /// ```
    pub fn handle(&mut self, now: Instant, input: SessionInput) -> Result<(), EngineError> {
        let result = match input {
            SessionInput::Engine(Input::Command(Command::Close)) => return self.close(now),
            SessionInput::Engine(Input::Command(Command::Send { text })) => {
                return self.send(now, text).map(drop);
            }
            SessionInput::Engine(Input::Command(Command::SendAudio { format, data })) => {
                return self.send_audio(now, format, data).map(drop);
            }
            SessionInput::Engine(input) => self.engine.handle(now, input),
            SessionInput::Timeout => self.timeout(now),
            SessionInput::Lifecycle(change) => self.lifecycle(now, change),
            SessionInput::Token(answer) => {
                self.token_arrived(now, answer);
                Ok(())
            }
        };
        self.pump(now);
        result
    }

    /// Feeds one WebSocket message, borrowed: [`Engine::handle_frame`] under the session's
    /// rules, the same as `handle(now, Input::SocketFrame { conn, frame }.into())` without the
    /// copy into an owned frame.
    pub fn handle_frame(
        &mut self,
        now: Instant,
        conn: ConnId,
        frame: FrameRef<'_>,
    ) -> Result<(), EngineError> {
        let result = self.engine.handle_frame(now, conn, frame);
        self.pump(now);
        result
    }

    /// Queues a text message; returns its client id (statuses follow as
    /// [`SessionOutput::Status`]).
    ///
    /// ```
    /// # use chatwire::dialect::native::{NativeConfig, NativeDialect};
    /// # use chatwire::session::{Session, SessionOptions};
    /// # let dialect = NativeDialect::new(NativeConfig::new("http://localhost:8080", "c-1"));
    /// # let mut session = Session::new(chatwire::Config::default(), Box::new(dialect), SessionOptions::default()).unwrap();
    /// let id = session.send(chatwire::Instant::ZERO, "hello")?;
    /// assert_eq!(session.stats().sent, 1);
    /// # let _ = id;
    /// # Ok::<(), chatwire::EngineError>(())
    /// ```
    pub fn send(&mut self, now: Instant, text: impl Into<String>) -> Result<ClientId, EngineError> {
        let result = self.engine.send(now, text);
        self.accepted(now, result)
    }

    /// Queues audio (`format`, base64 `data`) for dialects with the `audio` capability.
    ///
    /// ```
    /// # use chatwire::dialect::native::{NativeConfig, NativeDialect};
    /// # use chatwire::session::{Session, SessionOptions};
    /// # let dialect = NativeDialect::new(NativeConfig::new("http://localhost:8080", "c-1"));
    /// # let mut session = Session::new(chatwire::Config::default(), Box::new(dialect), SessionOptions::default()).unwrap();
    /// let refused = session.send_audio(chatwire::Instant::ZERO, "pcm16", "AAA=");
    /// assert!(matches!(refused, Err(chatwire::EngineError::Unsupported { .. }))); // native is text only
    /// ```
    pub fn send_audio(
        &mut self,
        now: Instant,
        format: impl Into<String>,
        data: impl Into<String>,
    ) -> Result<ClientId, EngineError> {
        let result = self.engine.send_audio(now, format, data);
        self.accepted(now, result)
    }

    /// Takes back a message that is still queued: it ends `Failed{Discarded}`. A message already
    /// handed to the transport cannot be taken back ([`EngineError::AlreadySent`]); an unknown
    /// or finished one is [`EngineError::UnknownMessage`].
    ///
    /// ```
    /// # use chatwire::dialect::native::{NativeConfig, NativeDialect};
    /// # use chatwire::session::{Session, SessionOptions, SessionOutput};
    /// # let dialect = NativeDialect::new(NativeConfig::new("http://localhost:8080", "c-1"));
    /// # let mut session = Session::new(chatwire::Config::default(), Box::new(dialect), SessionOptions::default()).unwrap();
    /// use chatwire::event::{DeliveryStatus, FailReason};
    /// let now = chatwire::Instant::ZERO;
    /// let id = session.send(now, "oops")?; // queued: the socket is not open yet
    /// session.discard(now, id)?;
    /// let last = std::iter::from_fn(|| session.poll())
    ///     .filter_map(|o| match o { SessionOutput::Status { status, terminal, .. } => Some((status, terminal)), _ => None })
    ///     .last();
    /// assert_eq!(last, Some((DeliveryStatus::Failed { reason: FailReason::Discarded }, true)));
    /// # Ok::<(), chatwire::EngineError>(())
    /// ```
    pub fn discard(&mut self, now: Instant, client_id: ClientId) -> Result<(), EngineError> {
        let result = self.engine.discard(now, client_id);
        self.pump(now);
        result
    }

    /// Closes for good (idempotent): see the [module docs](self) for the order of what follows.
    ///
    /// ```
    /// # use chatwire::dialect::native::{NativeConfig, NativeDialect};
    /// # use chatwire::session::{Session, SessionOptions, SessionOutput};
    /// # let dialect = NativeDialect::new(NativeConfig::new("http://localhost:8080", "c-1"));
    /// # let mut session = Session::new(chatwire::Config::default(), Box::new(dialect), SessionOptions::default()).unwrap();
    /// session.close(chatwire::Instant::ZERO)?;
    /// assert_eq!(std::iter::from_fn(|| session.poll()).last(), Some(SessionOutput::Closed));
    /// session.close(chatwire::Instant::ZERO)?; // again: nothing more happens
    /// assert_eq!(session.poll(), None);
    /// # Ok::<(), chatwire::EngineError>(())
    /// ```
    pub fn close(&mut self, now: Instant) -> Result<(), EngineError> {
        if self.closed {
            return Ok(());
        }
        let result = match self.engine.close(now) {
            Err(EngineError::Closed) => Ok(()),
            other => other,
        };
        self.pump(now);
        self.closed = true;
        if let Some(auth) = &mut self.auth {
            auth.drop_parked();
        }
        for (client_id, status) in self.receipts.close() {
            self.out.push_back(SessionOutput::Status {
                client_id,
                status,
                terminal: true,
            });
        }
        self.out.push_back(SessionOutput::Closed);
        result
    }

    /// The next output, until `None`.
    pub fn poll(&mut self) -> Option<SessionOutput> {
        self.out.pop_front()
    }

    /// When to call `handle(now, SessionInput::Timeout)`; `None`: no timer.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed || self.held_offline() {
            return None;
        }
        self.engine.poll_timeout()
    }

    /// The connection state.
    pub fn state(&self) -> ConnectionState {
        self.engine.state()
    }

    /// What the backend supports.
    pub fn capabilities(&self) -> Capabilities {
        self.engine.capabilities()
    }

    /// The session closed (after [`close`](Self::close) or a `Close` command).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Counters since the session was created, read on demand.
    pub fn stats(&self) -> SessionStats {
        let engine = self.engine.stats();
        let mut stats = self.receipts.stats();
        stats.events = engine.events;
        stats.queued = engine.queued as u64;
        stats.duplicates_dropped = engine.duplicates_dropped;
        stats
    }

    /// The engine underneath, for inspection.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Offline while waiting out a backoff: no attempt until online (see [`lifecycle`]).
    fn held_offline(&self) -> bool {
        self.presence.offline && matches!(self.engine.state(), ConnectionState::Reconnecting { .. })
    }

    /// The timer fired: nothing while held offline; a late one probes the link first.
    fn timeout(&mut self, now: Instant) -> Result<(), EngineError> {
        if self.held_offline() {
            return Ok(());
        }
        let late = self
            .engine
            .poll_timeout()
            .is_some_and(|due| now.saturating_duration_since(due) >= LATE_TIMER);
        if late && self.engine.state() == ConnectionState::Ready {
            self.engine.probe(now);
        }
        self.engine.handle(now, Input::Timeout)
    }

    /// A lifecycle change: the rule is [`lifecycle::Presence::apply`]'s.
    fn lifecycle(&mut self, now: Instant, change: Lifecycle) -> Result<(), EngineError> {
        let state = self.engine.state();
        let action = self.presence.apply(
            change,
            state == ConnectionState::Ready,
            matches!(state, ConnectionState::Reconnecting { .. }),
            state == ConnectionState::Failed,
        );
        match action {
            lifecycle::Action::Nothing => Ok(()),
            lifecycle::Action::ReconnectNow => self.engine.reconnect_now(now),
            lifecycle::Action::Probe => {
                self.engine.probe(now);
                Ok(())
            }
        }
    }

    fn accepted(
        &mut self,
        now: Instant,
        result: Result<ClientId, EngineError>,
    ) -> Result<ClientId, EngineError> {
        if let Ok(id) = &result {
            self.receipts.opened(*id);
        }
        self.pump(now);
        result
    }

    /// Drains the engine, applying the session's rules to every output.
    fn pump(&mut self, now: Instant) {
        loop {
            while let Some(output) = self.engine.poll_output() {
                match output {
                    Output::Event(envelope) => self.event(envelope),
                    transport => self.transport(transport),
                }
            }
            // A fresh token after an auth failure: retry at once instead of waiting out the
            // backoff (the engine's outputs of that are drained by the next round).
            let waiting = matches!(
                self.engine.state(),
                ConnectionState::Failed | ConnectionState::Reconnecting { .. }
            );
            let retry = self.auth.as_mut().is_some_and(|a| a.take_retry(waiting));
            if !retry || self.engine.reconnect_now(now).is_err() {
                break;
            }
        }
    }

    fn event(&mut self, envelope: Envelope) {
        match &envelope.event {
            Event::StateChanged { from, to } => {
                self.receipts.state(*to);
                if *to == ConnectionState::Ready {
                    if let Some(auth) = &mut self.auth {
                        auth.on_ready();
                    }
                }
                self.out.push_back(SessionOutput::State {
                    from: *from,
                    to: *to,
                });
            }
            Event::MessageStatus {
                client_id, status, ..
            } => {
                if let Some(terminal) = self.receipts.status(*client_id, status) {
                    self.out.push_back(SessionOutput::Status {
                        client_id: *client_id,
                        status: status.clone(),
                        terminal,
                    });
                }
            }
            Event::Error {
                kind: ErrorKind::Auth,
                ..
            } => {
                if let Some(auth) = &mut self.auth {
                    if auth.want_refresh() {
                        self.out.push_back(SessionOutput::FetchToken);
                    }
                }
            }
            _ => {}
        }
        self.out.push_back(SessionOutput::Event(Arc::new(envelope)));
    }

    fn transport(&mut self, output: Output) {
        let Some(mut op) = into_transport(output) else {
            return;
        };
        if let Some(auth) = &mut self.auth {
            match auth.hold(op) {
                auth::Held::Parked { fetch } => {
                    if fetch {
                        self.out.push_back(SessionOutput::FetchToken);
                    }
                    return;
                }
                auth::Held::Released(released) => op = released,
            }
        }
        self.emit_transport(op);
    }

    fn emit_transport(&mut self, mut op: Transport) {
        let headers = match &mut op {
            Transport::OpenSocket { headers, .. } => Some(headers),
            Transport::Http(request) => Some(&mut request.headers),
            _ => None,
        };
        if let Some(headers) = headers {
            set_headers(headers, &self.headers);
            if let Some(token) = self.auth.as_ref().and_then(TokenState::token) {
                let bearer = ("Authorization".to_string(), format!("Bearer {token}"));
                set_headers(headers, std::slice::from_ref(&bearer));
            }
        }
        self.out.push_back(SessionOutput::Transport(op));
    }

    fn token_arrived(&mut self, now: Instant, answer: Result<String, String>) {
        let Some(auth) = &mut self.auth else { return };
        if self.closed {
            return;
        }
        let parked = auth.answer(answer);
        for op in parked {
            self.emit_transport(op);
        }
        self.pump(now);
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("Session")
            .field("state", &self.engine.state())
            .field("headers", &headers)
            .field("token_provider", &self.auth.is_some())
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

/// Adds `extra` to `headers`, replacing headers of the same (case-insensitive) name.
fn set_headers(headers: &mut Vec<(String, String)>, extra: &[(String, String)]) {
    for (name, value) in extra {
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        headers.push((name.clone(), value.clone()));
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_lifecycle;

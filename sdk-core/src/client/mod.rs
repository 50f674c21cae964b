//! The Rust client API (feature `tokio`): a [`Client`] connected to one backend, the
//! [`Receipt`] of every message sent, and the [`EventStream`] of normalized events.
//!
//! A client is a handle to a driver task that owns a [`Session`](crate::session::Session) (the
//! sans-IO engine plus the client policy: token provider, receipts, headers, counters); every
//! method is a message to that task, so the client is cheap to clone and can be used from any
//! task. Everything the session guarantees (queued sends, acks, dedup, resume, turns that always
//! end, one terminal status per message) holds unchanged: the client adds no policy of its own,
//! and its public API names no runtime type.
//!
//! ```no_run
//! use chatwire::client::{Client, DialectKind};
//! use chatwire::event::{Event, TextUpdate};
//! use futures_util::StreamExt;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder(DialectKind::Native, "http://127.0.0.1:8080").build()?;
//! let mut events = client.events(); // subscribe before sending: nothing is missed
//! let receipt = client.send("hello").await?;
//! while let Some(envelope) = events.next().await {
//!     match envelope.event {
//!         Event::TextDelta { update: TextUpdate::Append { text, .. }, .. } => print!("{text}"),
//!         event if event.is_turn_terminal() => break,
//!         _ => {}
//!     }
//! }
//! receipt.acked().await?;
//! client.close().await;
//! # Ok(())
//! # }
//! ```

mod builder;
mod receipt;
mod watch;

pub use crate::dialect::{DialectKind, UnknownDialect};
pub use crate::driver::{Runtime, TokenProvider};
pub use crate::error::BuildError;
pub use crate::session::SessionStats as ClientStats;
pub use builder::ClientBuilder;
pub use receipt::Receipt;
pub use watch::{StateWatch, StatusWatch};

use crate::EngineError;
use crate::dialect::Capabilities;
use crate::driver::{Inbox, Request, Shared};
use crate::event::{Envelope, FailReason};
use crate::ids::ClientId;
use crate::io::Command;
use crate::state::ConnectionState;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::{mpsc, oneshot};

/// A connection to one chat backend. Cheap to clone; all clones share one connection. The
/// connection closes when [`close`](Client::close) is called or the last clone is dropped.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use chatwire::client::{Client, DialectKind};
/// let client = Client::builder(DialectKind::Openai, "https://llm.internal.example")
///     .bearer_token("sk-...")
///     .param("model", "gpt-4o-mini")
///     .build()?;
/// let receipt = client.send("Summarise our last chat").await?;
/// println!("queued as {}", receipt.client_id());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    requests: mpsc::UnboundedSender<Request>,
    shared: Arc<Shared>,
    dialect: DialectKind,
    capabilities: Capabilities,
}

/// Why a client call failed. Each variant is something the caller can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The client is closed.
    #[error("the client is closed")]
    Closed,
    /// The outbound queue is full (policy `RejectNew`): retry later.
    #[error("the outbound queue is full ({capacity} messages)")]
    QueueFull {
        /// The configured capacity.
        capacity: usize,
    },
    /// The message is larger than `max_frame_bytes`.
    #[error("message of {size} bytes exceeds the {limit}-byte limit")]
    TooLarge {
        /// Size of the message.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The backend's dialect cannot do this (e.g. audio on a text-only backend).
    #[error("the {dialect} dialect does not support {what}")]
    Unsupported {
        /// Dialect name.
        dialect: &'static str,
        /// The unsupported feature.
        what: &'static str,
    },
    /// The message will not be delivered.
    #[error("message not delivered: {0:?}")]
    DeliveryFailed(FailReason),
    /// `discard`: the message already went out and cannot be taken back.
    #[error("message {client_id} was already sent and cannot be discarded")]
    AlreadySent {
        /// The message.
        client_id: ClientId,
    },
    /// `discard`: no queued message has this id (never sent, or already settled).
    #[error("no queued message {client_id}")]
    UnknownMessage {
        /// The id given.
        client_id: ClientId,
    },
    /// An engine error with no better category (a bug if it ever appears).
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<EngineError> for ClientError {
    fn from(error: EngineError) -> ClientError {
        match error {
            EngineError::Closed => ClientError::Closed,
            EngineError::QueueFull { capacity } => ClientError::QueueFull { capacity },
            EngineError::TooLarge { size, limit } => ClientError::TooLarge { size, limit },
            EngineError::Unsupported { dialect, what } => {
                ClientError::Unsupported { dialect, what }
            }
            EngineError::AlreadySent { client_id } => ClientError::AlreadySent { client_id },
            EngineError::UnknownMessage { client_id } => ClientError::UnknownMessage { client_id },
            other => ClientError::Internal(other.to_string()),
        }
    }
}

impl Client {
    /// Starts configuring a client for `dialect` at `base_url` (`https://host[:port][/prefix]`).
    ///
    /// ```
    /// use chatwire::client::{Client, DialectKind};
    /// let builder = Client::builder(DialectKind::Native, "http://127.0.0.1:8080");
    /// # let _ = builder;
    /// ```
    pub fn builder(dialect: DialectKind, base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(dialect, base_url.into())
    }

    /// Queues a text message. Returns once the engine accepted it, with its [`Receipt`];
    /// connects first when lazy connect is on.
    ///
    /// Errors: [`ClientError::Closed`], [`ClientError::TooLarge`], [`ClientError::QueueFull`].
    ///
    /// ```no_run
    /// # async fn f(client: chatwire::client::Client) -> Result<(), chatwire::client::ClientError> {
    /// let receipt = client.send("What is the weather in Paris?").await?;
    /// println!("sent as {}", receipt.client_id());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send(&self, text: impl Into<String>) -> Result<Receipt, ClientError> {
        self.submit(text.into(), None).await
    }

    /// Queues audio: 16-bit PCM samples (sent little-endian, base64-encoded, format `pcm16`),
    /// for dialects with the `audio` capability; others answer [`ClientError::Unsupported`].
    ///
    /// ```no_run
    /// # async fn run(client: chatwire::client::Client) -> Result<(), chatwire::client::ClientError> {
    /// let silence = vec![0i16; 1600]; // 100 ms at 16 kHz
    /// client.send_audio(&silence).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_audio(&self, pcm16: &[i16]) -> Result<Receipt, ClientError> {
        let bytes: Vec<u8> = pcm16.iter().flat_map(|s| s.to_le_bytes()).collect();
        let audio = ("pcm16".to_string(), receipt::base64(&bytes));
        self.submit(String::new(), Some(Box::new(audio))).await
    }

    /// Reports the user typing or not (coalesced and throttled by the engine; a no-op for
    /// dialects without typing indicators).
    ///
    /// ```no_run
    /// # async fn f(client: chatwire::client::Client) -> Result<(), chatwire::client::ClientError> {
    /// client.typing(true).await?; // user is typing
    /// client.typing(false).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn typing(&self, active: bool) -> Result<(), ClientError> {
        self.command(Command::Typing { active }).await
    }

    /// Cancels the turn in progress (server-side when the dialect can, else locally: the app
    /// still gets exactly one `TurnCancelled`).
    ///
    /// ```no_run
    /// # async fn f(client: chatwire::client::Client) -> Result<(), chatwire::client::ClientError> {
    /// client.send("/slow").await?;
    /// client.cancel_turn().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn cancel_turn(&self) -> Result<(), ClientError> {
        self.command(Command::CancelTurn).await
    }

    /// Skips a pending backoff wait, starts over from `Failed`, or replaces a live connection.
    ///
    /// ```no_run
    /// # async fn f(client: chatwire::client::Client) -> Result<(), chatwire::client::ClientError> {
    /// if client.state() == chatwire::ConnectionState::Failed {
    ///     client.reconnect_now().await?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn reconnect_now(&self) -> Result<(), ClientError> {
        self.command(Command::ReconnectNow).await
    }

    /// Takes back a message that is still queued (not yet handed to the transport): its receipt
    /// ends `Failed{Discarded}`. Once sent, a message cannot be taken back:
    /// [`ClientError::AlreadySent`]; an id that is not queued is [`ClientError::UnknownMessage`].
    ///
    /// ```no_run
    /// # async fn f(client: chatwire::client::Client) -> Result<(), chatwire::client::ClientError> {
    /// use chatwire::client::ClientError;
    /// let receipt = client.send("draft").await?;
    /// match client.discard(receipt.client_id()).await {
    ///     Ok(()) => println!("taken back"),
    ///     Err(ClientError::AlreadySent { .. }) => println!("too late: it went out"),
    ///     Err(other) => return Err(other),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn discard(&self, client_id: ClientId) -> Result<(), ClientError> {
        let (reply, rx) = oneshot::channel();
        self.inner
            .requests
            .send(Request::Discard { client_id, reply })
            .map_err(|_| ClientError::Closed)?;
        rx.await.map_err(|_| ClientError::Closed)??;
        Ok(())
    }

    /// Connects now instead of on the first send (lazy connect).
    ///
    /// ```no_run
    /// # async fn f(client: chatwire::client::Client) -> Result<(), chatwire::client::ClientError> {
    /// client.connect().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(&self) -> Result<(), ClientError> {
        self.command(Command::Connect).await
    }

    /// Closes the client for good: messages not yet acknowledged fail with `Closed`, open turns
    /// are cancelled, the last events (down to `StateChanged{to: Closed}`) are delivered and
    /// every [`EventStream`] ends. Idempotent; returns when the driver stopped.
    ///
    /// ```no_run
    /// # async fn f(client: chatwire::client::Client) -> Result<(), chatwire::client::ClientError> {
    /// client.close().await;
    /// assert_eq!(client.state(), chatwire::ConnectionState::Closed);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.inner.requests.send(Request::Close(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// The current connection state.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// # let _runtime = rt.enter();
    /// use chatwire::client::{Client, DialectKind};
    /// let client = Client::builder(DialectKind::Native, "http://127.0.0.1:8080").build()?;
    /// assert_eq!(client.state(), chatwire::ConnectionState::Disconnected); // lazy connect
    /// if client.state().is_ready() { println!("online"); }
    /// # Ok::<(), chatwire::client::BuildError>(())
    /// ```
    pub fn state(&self) -> ConnectionState {
        *self.inner.shared.state.borrow()
    }

    /// A watch of the connection state (`get()`, `changed().await`, `wait_for(..).await`).
    ///
    /// ```no_run
    /// # async fn f(client: chatwire::client::Client) {
    /// let mut state = client.state_watch();
    /// while let Ok(now) = state.changed().await {
    ///     println!("now {now:?}");
    /// }
    /// # }
    /// ```
    pub fn state_watch(&self) -> StateWatch {
        StateWatch::new(self.inner.shared.state.subscribe())
    }

    /// Every event from now on, in order, deduplicated. Each stream has its own unbounded
    /// buffer, so a slow consumer never loses events (and never slows the connection down). The
    /// stream ends after the client closed. Subscribe before `send` to see the whole turn.
    ///
    /// ```no_run
    /// # async fn f(client: chatwire::client::Client) {
    /// use futures_util::StreamExt;
    /// let mut events = client.events();
    /// while let Some(envelope) = events.next().await {
    ///     println!("{:?}", envelope.event);
    /// }
    /// # }
    /// ```
    pub fn events(&self) -> EventStream {
        EventStream {
            rx: self.subscribe(),
        }
    }

    /// Like [`events`](Self::events), but every subscriber receives the same shared envelope
    /// ([`Arc`]) instead of its own copy: the way to fan one client out to many consumers
    /// without copying events and their raw JSON.
    ///
    /// ```no_run
    /// # async fn f(client: chatwire::client::Client) {
    /// let (mut ui, mut log) = (client.shared_events(), client.shared_events());
    /// if let (Some(a), Some(b)) = (ui.recv().await, log.recv().await) {
    ///     assert!(std::sync::Arc::ptr_eq(&a, &b)); // one envelope, two readers
    /// }
    /// # }
    /// ```
    pub fn shared_events(&self) -> SharedEventStream {
        SharedEventStream {
            rx: self.subscribe(),
        }
    }

    /// Counters since the client was built.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// # let _runtime = rt.enter();
    /// use chatwire::client::{Client, ClientStats, DialectKind};
    /// let client = Client::builder(DialectKind::Native, "http://127.0.0.1:8080").build()?;
    /// let stats = client.stats();
    /// assert_eq!(stats, ClientStats::default()); // nothing sent yet
    /// println!("{} sent, {} acked, {} reconnects", stats.sent, stats.acked, stats.reconnects);
    /// # Ok::<(), chatwire::client::BuildError>(())
    /// ```
    pub fn stats(&self) -> ClientStats {
        self.inner.shared.stats.load()
    }

    /// The backend dialect.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// # let _runtime = rt.enter();
    /// use chatwire::client::{Client, DialectKind};
    /// let client = Client::builder(DialectKind::Parlant, "http://127.0.0.1:8800").build()?;
    /// assert_eq!(client.dialect(), DialectKind::Parlant);
    /// # Ok::<(), chatwire::client::BuildError>(())
    /// ```
    pub fn dialect(&self) -> DialectKind {
        self.inner.dialect
    }

    /// What the backend supports (acks, resume, typing, audio, tools, cancel).
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// # let _runtime = rt.enter();
    /// use chatwire::client::{Client, DialectKind};
    /// let client = Client::builder(DialectKind::ChatInterfaces, "http://127.0.0.1:8080").build()?;
    /// let caps = client.capabilities();
    /// assert!(caps.acks && caps.resume && !caps.audio); // REST + SSE, text only
    /// # Ok::<(), chatwire::client::BuildError>(())
    /// ```
    pub fn capabilities(&self) -> Capabilities {
        self.inner.capabilities
    }

    async fn submit(
        &self,
        text: String,
        audio: Option<Box<(String, String)>>,
    ) -> Result<Receipt, ClientError> {
        let (reply, rx) = oneshot::channel();
        let request = Request::Send { text, audio, reply };
        self.inner
            .requests
            .send(request)
            .map_err(|_| ClientError::Closed)?;
        let accepted = rx.await.map_err(|_| ClientError::Closed)??;
        Ok(Receipt::new(
            accepted.client_id,
            StatusWatch::new(accepted.status),
        ))
    }

    fn subscribe(&self) -> Inbox {
        let (tx, inbox) = Inbox::channel();
        let _ = self.inner.requests.send(Request::Subscribe(tx));
        inbox
    }

    async fn command(&self, command: Command) -> Result<(), ClientError> {
        let (reply, rx) = oneshot::channel();
        self.inner
            .requests
            .send(Request::Command { command, reply })
            .map_err(|_| ClientError::Closed)?;
        rx.await.map_err(|_| ClientError::Closed)??;
        Ok(())
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("dialect", &self.inner.dialect)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

/// The events of a [`Client`], as a [`Stream`](futures_util::Stream) of [`Envelope`]s.
///
/// ```no_run
/// # async fn f(client: chatwire::client::Client) {
/// let mut events = client.events();
/// while let Some(envelope) = events.recv().await {
///     println!("{}", serde_json::to_string(&envelope).unwrap_or_default());
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct EventStream {
    rx: Inbox,
}

impl EventStream {
    /// The next event; `None` after the client closed.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// # rt.block_on(async {
    /// use chatwire::{ConnectionState, client::{Client, DialectKind}, event::Event};
    /// let client = Client::builder(DialectKind::Native, "http://127.0.0.1:8080").build()?;
    /// let mut events = client.events();
    /// client.close().await;
    /// let mut last = None;
    /// while let Some(envelope) = events.recv().await { last = Some(envelope.event) }
    /// assert!(matches!(last, Some(Event::StateChanged { to: ConnectionState::Closed, .. })));
    /// # Ok::<(), chatwire::client::BuildError>(()) })?;
    /// # Ok::<(), chatwire::client::BuildError>(())
    /// ```
    pub async fn recv(&mut self) -> Option<Envelope> {
        self.rx.recv().await.map(Arc::unwrap_or_clone)
    }

    /// The next event if one is buffered, without waiting.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// # rt.block_on(async {
    /// use chatwire::client::{Client, DialectKind};
    /// let client = Client::builder(DialectKind::Native, "http://127.0.0.1:8080").build()?;
    /// let mut events = client.events();
    /// assert!(events.try_recv().is_none()); // nothing happened yet
    /// client.close().await;
    /// assert!(events.try_recv().is_some()); // StateChanged { to: Closed }
    /// # Ok::<(), chatwire::client::BuildError>(()) })?;
    /// # Ok::<(), chatwire::client::BuildError>(())
    /// ```
    pub fn try_recv(&mut self) -> Option<Envelope> {
        self.rx.try_recv().map(Arc::unwrap_or_clone)
    }
}

impl futures_util::Stream for EventStream {
    type Item = Envelope;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Envelope>> {
        self.rx.poll_recv(cx).map(|e| e.map(Arc::unwrap_or_clone))
    }
}

/// The events of a [`Client`] as shared envelopes (see [`Client::shared_events`]): the same
/// order and guarantees as [`EventStream`], without a copy per subscriber.
#[derive(Debug)]
pub struct SharedEventStream {
    rx: Inbox,
}

impl SharedEventStream {
    /// The next event; `None` after the client closed.
    pub async fn recv(&mut self) -> Option<Arc<Envelope>> {
        self.rx.recv().await
    }

    /// The next event if one is buffered, without waiting.
    pub fn try_recv(&mut self) -> Option<Arc<Envelope>> {
        self.rx.try_recv()
    }
}

impl futures_util::Stream for SharedEventStream {
    type Item = Arc<Envelope>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Arc<Envelope>>> {
        self.rx.poll_recv(cx)
    }
}

impl Client {
    fn from_parts(
        requests: mpsc::UnboundedSender<Request>,
        shared: Arc<Shared>,
        dialect: DialectKind,
        capabilities: Capabilities,
    ) -> Client {
        Client {
            inner: Arc::new(Inner {
                requests,
                shared,
                dialect,
                capabilities,
            }),
        }
    }
}

//! The tokio driver: one task that owns a [`Session`] and executes its outputs.
//!
//! The task follows the session's driving contract literally: every input goes to
//! [`Session::handle`] with `now` measured by `tokio::time::Instant` from the driver's start, then
//! [`Session::poll`] is drained until `None`, then one sleep is armed at
//! [`Session::poll_timeout`] (re-armed only when that instant changed). Inbound WebSocket
//! frames are read by this task itself: once a socket is open its task (`socket.rs`, which keeps
//! the handshake, the writes and the close) hands the read half over, and the driver polls it
//! beside the app's requests and the timer, then feeds each frame to the session borrowed
//! ([`Session::handle_frame`]): no hop between tasks, no copy of the frame's text. A wake-up
//! handles up to `INPUT_BATCH` inputs already waiting (a burst of frames costs one task switch,
//! not one per frame) before the task yields, so a flood cannot starve the app's other tasks;
//! the app's requests are polled first, so a flood cannot starve them either. Other transport
//! operations are executed by small tasks — the socket writers and one task per HTTP request
//! (`http.rs`) — that report back through a single bounded channel, so per-transport order is
//! preserved and a slow session applies backpressure to the network instead of buffering
//! without bound (a socket is simply read no faster than the session handles its frames).
//! Envelopes go to every subscriber as one shared [`Arc`] through an unbounded channel (a slow
//! consumer is never dropped from or skipped), a burst at a time (`fanout.rs`): a subscriber on
//! another thread is woken once per burst, not once per event.
//! The TLS configuration is the process's one (`tls.rs`); the HTTP client is built on the first
//! HTTP request, so a WebSocket-only client never carries one.
//!
//! The driver decides nothing: states, retries, dedup, acks, timeouts, the token provider's
//! schedule, headers and the terminal status of a message are the session's. What is left here
//! is plumbing: sockets, HTTP, timers, calling the token provider when asked (bounded by
//! [`TOKEN_TIMEOUT`] so a provider that never answers cannot wedge the client), the receipts'
//! watch channels and the published counters.

mod fanout;
mod http;
mod runtime;
mod socket;
mod tls;

pub(crate) use fanout::Inbox;
pub use runtime::{Runtime, TokenProvider};
pub(crate) use runtime::{SharedStats, random_seed, redact_url, unix_ms_now};

use crate::EngineError;
use crate::event::DeliveryStatus;
use crate::ids::{ClientId, ConnId, RequestId};
use crate::io::{Command, FrameRef, Input};
use crate::session::{Session, SessionInput, SessionOutput, Transport};
use crate::state::ConnectionState;
use crate::time::Instant;
use futures_util::FutureExt;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::AbortHandle;
use tokio_tungstenite::tungstenite;

/// How long the token provider may take before its call counts as failed.
pub const TOKEN_TIMEOUT: Duration = Duration::from_secs(30);

/// A request from a client handle to its driver task.
pub(crate) enum Request {
    /// Queue a message (`audio: Some((format, base64))` for audio; boxed, so every slot of
    /// the request channel, allocated per client, stays small).
    Send {
        text: String,
        audio: Option<Box<(String, String)>>,
        reply: oneshot::Sender<Result<SendAccepted, EngineError>>,
    },
    /// Take back a queued message.
    Discard {
        client_id: ClientId,
        reply: oneshot::Sender<Result<(), EngineError>>,
    },
    /// Any other command.
    Command {
        command: Command,
        reply: oneshot::Sender<Result<(), EngineError>>,
    },
    /// Deliver every later envelope to this channel.
    Subscribe(fanout::Subscriber),
    /// Close the session, deliver its last events, stop.
    Close(oneshot::Sender<()>),
}

/// A message's latest status as the session routed it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReceiptStatus {
    pub(crate) status: DeliveryStatus,
    /// No further status follows (the session's terminal rule).
    pub(crate) terminal: bool,
}

/// What the driver answers to an accepted send.
pub(crate) struct SendAccepted {
    pub(crate) client_id: ClientId,
    pub(crate) status: watch::Receiver<ReceiptStatus>,
}

/// State shared between the driver task and the client handles.
pub(crate) struct Shared {
    pub(crate) state: watch::Sender<ConnectionState>,
    pub(crate) stats: SharedStats,
}

/// Settings of a driver besides the session.
pub(crate) struct DriverOptions {
    pub(crate) max_frame_bytes: usize,
    pub(crate) token_provider: Option<TokenProvider>,
    /// Connect as soon as the driver runs (`lazy_connect: false`).
    pub(crate) connect_at_start: bool,
    /// The runtime to run on (default: the current one).
    pub(crate) runtime: Option<Runtime>,
}

/// Errors setting up the driver's network stack.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the network stack: {0}")]
pub(crate) struct DriverSetupError(pub(crate) String);

/// Spawns the driver task for `session`; returns the request sender.
pub(crate) fn spawn(
    session: Session,
    options: DriverOptions,
    shared: Arc<Shared>,
) -> Result<mpsc::UnboundedSender<Request>, DriverSetupError> {
    let runtime = match options.runtime {
        Some(runtime) => runtime,
        None => Runtime::current()
            .ok_or_else(|| DriverSetupError("no tokio runtime is running".into()))?,
    };
    let tls = tls::client_config().map_err(DriverSetupError)?;
    let (requests_tx, requests_rx) = mpsc::unbounded_channel();
    let (reports_tx, reports_rx) = mpsc::channel(REPORT_BUFFER);
    let driver = Driver {
        session,
        start: tokio::time::Instant::now(),
        reports: reports_tx,
        sockets: HashMap::new(),
        requests: HashMap::new(),
        http: None,
        tls,
        max_frame_bytes: options.max_frame_bytes,
        subscribers: Vec::new(),
        outbox: Vec::new(),
        receipts: HashMap::new(),
        shared,
        token_provider: options.token_provider,
        closed: false,
    };
    runtime
        .handle()
        .spawn(driver.run(requests_rx, reports_rx, options.connect_at_start));
    Ok(requests_tx)
}

/// A transport task's report, or the token provider's answer.
pub(crate) enum Report {
    Input(Input),
    /// A socket finished its opening handshake: its read half, for the driver to poll.
    Opened {
        conn: ConnId,
        reader: socket::Reader,
    },
    Token(Result<String, String>),
}

/// Transport reports waiting for the session (bounded: backpressure towards the transports).
const REPORT_BUFFER: usize = 256;

/// Most inputs (frames, reports, requests) handled in a row without waiting before the driver
/// yields: a burst of frames is handled in one go (no task switch per frame), yet a flood
/// cannot keep the app's tasks (its subscribers above all) from running for long.
const INPUT_BATCH: usize = 64;

/// An open WebSocket as the driver holds it.
struct Socket {
    /// The socket task's commands (writes, close); dropping it closes the socket.
    cmds: mpsc::UnboundedSender<socket::SocketCmd>,
    task: AbortHandle,
    /// The read half, once the socket is open.
    reader: Option<socket::Reader>,
}

/// What woke the driver.
enum Wake {
    Request(Option<Request>),
    Report(Report),
    Timer,
    Socket(
        ConnId,
        Option<Result<tungstenite::Message, tungstenite::Error>>,
    ),
}

struct Driver {
    session: Session,
    start: tokio::time::Instant,
    reports: mpsc::Sender<Report>,
    sockets: HashMap<ConnId, Socket>,
    requests: HashMap<RequestId, AbortHandle>,
    /// Built on the first HTTP request: a client whose dialect only uses a WebSocket never
    /// carries a connection pool.
    http: Option<reqwest::Client>,
    tls: Arc<rustls::ClientConfig>,
    max_frame_bytes: usize,
    subscribers: Vec<fanout::Subscriber>,
    /// Envelopes of the current streak of inputs, not yet handed to the subscribers
    /// (`fanout.rs`).
    outbox: fanout::Batch,
    receipts: HashMap<ClientId, watch::Sender<ReceiptStatus>>,
    shared: Arc<Shared>,
    token_provider: Option<TokenProvider>,
    closed: bool,
}

impl Driver {
    async fn run(
        mut self,
        mut requests: mpsc::UnboundedReceiver<Request>,
        mut reports: mpsc::Receiver<Report>,
        connect_at_start: bool,
    ) {
        if connect_at_start {
            self.feed(Command::Connect.into());
        }
        let far = self.start + Duration::from_secs(86_400 * 365);
        let sleep = tokio::time::sleep_until(far);
        tokio::pin!(sleep);
        // Inputs handled since the task last waited or yielded.
        let mut streak = 0;
        while !self.closed {
            let deadline = self.session.poll_timeout().map(|d| {
                self.start
                    .checked_add(d.elapsed_since_epoch())
                    .unwrap_or(far)
            });
            if let Some(at) = deadline {
                if sleep.deadline() != at {
                    sleep.as_mut().reset(at);
                }
            }
            // Polled in priority order: the app's requests, transport reports, the timer, then
            // the sockets' frames. Before the task waits, the streak's envelopes go out.
            let mut waited = false;
            let sockets = &mut self.sockets;
            let (outbox, subscribers) = (&mut self.outbox, &mut self.subscribers);
            let wake = std::future::poll_fn(|cx| {
                if let Poll::Ready(request) = requests.poll_recv(cx) {
                    return Poll::Ready(Wake::Request(request));
                }
                // Never `None`: the driver holds a sender itself.
                if let Poll::Ready(Some(report)) = reports.poll_recv(cx) {
                    return Poll::Ready(Wake::Report(report));
                }
                if deadline.is_some() && sleep.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Wake::Timer);
                }
                for (conn, socket) in sockets.iter_mut() {
                    if let Some(reader) = &mut socket.reader {
                        if let Poll::Ready(message) = reader.poll_next_unpin(cx) {
                            return Poll::Ready(Wake::Socket(*conn, message));
                        }
                    }
                }
                waited = true;
                fanout::deliver(outbox, subscribers);
                Poll::Pending
            })
            .await;
            match wake {
                Wake::Request(Some(Request::Close(reply))) => {
                    self.feed(Command::Close.into());
                    let _ = reply.send(());
                }
                Wake::Request(Some(request)) => self.request(request),
                Wake::Request(None) => self.feed(Command::Close.into()),
                Wake::Report(report) => self.report(report),
                Wake::Timer => self.feed(SessionInput::Timeout),
                Wake::Socket(conn, message) => self.socket_read(conn, message),
            }
            streak = if waited { 1 } else { streak + 1 };
            if streak >= INPUT_BATCH && !self.closed {
                streak = 0;
                fanout::deliver(&mut self.outbox, &mut self.subscribers);
                tokio::task::yield_now().await;
            }
        }
        tracing::debug!("chatwire driver stopped");
    }

    fn now(&self) -> Instant {
        Instant::from_elapsed(self.start.elapsed())
    }

    /// `handle` for inputs whose error the driver can only log (transport reports, timers),
    /// then the drain of the session's outputs.
    fn feed(&mut self, input: SessionInput) {
        let now = self.now();
        if let Err(error) = self.session.handle(now, input) {
            tracing::debug!(%error, "session refused an input");
        }
        self.drain();
    }

    fn request(&mut self, request: Request) {
        // A new subscriber sees only later events; any request sees the events before it.
        fanout::deliver(&mut self.outbox, &mut self.subscribers);
        let now = self.now();
        match request {
            Request::Send { text, audio, reply } => {
                let result = match audio {
                    None => self.session.send(now, text),
                    Some(audio) => {
                        let (format, data) = *audio;
                        self.session.send_audio(now, format, data)
                    }
                };
                let answer = result.map(|client_id| {
                    let initial = ReceiptStatus {
                        status: DeliveryStatus::Queued,
                        terminal: false,
                    };
                    let (tx, rx) = watch::channel(initial);
                    self.receipts.insert(client_id, tx);
                    SendAccepted {
                        client_id,
                        status: rx,
                    }
                });
                let _ = reply.send(answer);
            }
            Request::Discard { client_id, reply } => {
                let _ = reply.send(self.session.discard(now, client_id));
            }
            Request::Command { command, reply } => {
                let _ = reply.send(self.session.handle(now, command.into()));
            }
            Request::Subscribe(tx) => self.subscribers.push(tx),
            // handled in `run`
            Request::Close(reply) => {
                let _ = reply.send(());
            }
        }
        self.drain();
    }

    // A guard that removes the socket would read worse than the `if` below.
    #[allow(clippy::collapsible_match)]
    fn report(&mut self, report: Report) {
        match report {
            Report::Opened { conn, reader } => {
                // A socket closed meanwhile is dropped with its read half; the session ignores
                // the report about it.
                if let Some(socket) = self.sockets.get_mut(&conn) {
                    socket.reader = Some(reader);
                }
                self.feed(Input::SocketOpened { conn }.into());
            }
            Report::Input(input) => {
                match &input {
                    Input::SocketClosed { conn, .. } => {
                        // A socket's end is reported once: not after the driver closed it, nor
                        // after its read half already ended it.
                        if self.sockets.remove(conn).is_none() {
                            return;
                        }
                    }
                    Input::HttpEnd { id } | Input::HttpFailed { id, .. } => {
                        self.requests.remove(id);
                    }
                    _ => {}
                }
                self.feed(input.into());
            }
            Report::Token(result) => self.feed(SessionInput::Token(result)),
        }
    }

    /// What a socket's read half yielded: a frame for the session, or the socket's end.
    fn socket_read(
        &mut self,
        conn: ConnId,
        message: Option<Result<tungstenite::Message, tungstenite::Error>>,
    ) {
        match socket::read(message, self.max_frame_bytes) {
            socket::Read::Text(text) => self.feed_frame(conn, FrameRef::Text(text.as_str())),
            socket::Read::Binary(bytes) => self.feed_frame(conn, FrameRef::Binary(&bytes)),
            socket::Read::Nothing => {}
            socket::Read::Ended { reason, refuse } => {
                // Dropping the socket's command sender closes it; a refusal first tells the
                // peer why.
                if let Some(socket) = self.sockets.remove(&conn) {
                    if let Some(frame) = refuse {
                        let _ = socket.cmds.send(socket::SocketCmd::Refuse(frame));
                    }
                }
                self.feed(Input::SocketClosed { conn, reason }.into());
            }
        }
    }

    /// `feed` for a frame, borrowed.
    fn feed_frame(&mut self, conn: ConnId, frame: FrameRef<'_>) {
        let now = self.now();
        if let Err(error) = self.session.handle_frame(now, conn, frame) {
            tracing::debug!(%error, "session refused a frame");
        }
        self.drain();
    }

    /// After every `handle`: publish the counters, then execute and deliver. The counters go
    /// first: they already include this batch, so an app that reads them after an event or a
    /// receipt change never sees them lag behind it.
    fn drain(&mut self) {
        self.shared.stats.store(self.session.stats());
        while let Some(output) = self.session.poll() {
            match output {
                SessionOutput::Transport(op) => self.execute(op),
                SessionOutput::FetchToken => self.fetch_token(),
                SessionOutput::Event(envelope) => fanout::hold(&mut self.outbox, envelope),
                SessionOutput::Status {
                    client_id,
                    status,
                    terminal,
                } => {
                    // An app that saw a receipt change finds its event in its stream already.
                    fanout::deliver(&mut self.outbox, &mut self.subscribers);
                    if let Some(tx) = self.receipts.get(&client_id) {
                        // The receipt starts at `Queued`: the session's own `Queued` for it (and
                        // any repeat) must not wake its watchers as if something had changed.
                        let next = ReceiptStatus { status, terminal };
                        tx.send_if_modified(|current| {
                            let changed = *current != next;
                            *current = next;
                            changed
                        });
                    }
                    if terminal {
                        self.receipts.remove(&client_id);
                    }
                }
                SessionOutput::State { to, .. } => {
                    fanout::deliver(&mut self.outbox, &mut self.subscribers);
                    self.shared.state.send_replace(to);
                }
                SessionOutput::Closed => self.teardown(),
            }
        }
    }

    fn execute(&mut self, op: Transport) {
        match op {
            Transport::OpenSocket { conn, url, headers } => {
                tracing::debug!(conn = conn.0, url = %redact_url(&url), "open socket");
                let spec = socket::SocketSpec {
                    conn,
                    url,
                    headers,
                    max_frame_bytes: self.max_frame_bytes,
                    tls: self.tls.clone(),
                };
                let (cmds, task) = socket::spawn(spec, self.reports.clone());
                let socket = Socket {
                    cmds,
                    task,
                    reader: None,
                };
                self.sockets.insert(conn, socket);
            }
            Transport::SendText { conn, text } => {
                self.socket_cmd(conn, socket::SocketCmd::Text(text))
            }
            Transport::SendBinary { conn, bytes } => {
                self.socket_cmd(conn, socket::SocketCmd::Binary(bytes))
            }
            Transport::CloseSocket { conn } => {
                if let Some(socket) = self.sockets.remove(&conn) {
                    let _ = socket.cmds.send(socket::SocketCmd::Close);
                }
            }
            Transport::Http(request) => {
                tracing::debug!(
                    id = request.id.0,
                    method = request.method.as_str(),
                    url = %redact_url(&request.url),
                    "http request"
                );
                let id = request.id;
                let limit = self.max_frame_bytes;
                let client = match &self.http {
                    Some(client) => client,
                    None => match http::client(&self.tls) {
                        Ok(client) => self.http.insert(client),
                        Err(error) => {
                            // Reported like any failed request: the session decides what follows.
                            let error = format!("cannot set up the HTTP client: {error}");
                            let failed = Report::Input(Input::HttpFailed { id, error });
                            let reports = self.reports.clone();
                            tokio::spawn(async move { reports.send(failed).await });
                            return;
                        }
                    },
                };
                let handle = http::spawn(client, request, limit, self.reports.clone());
                self.requests.insert(id, handle);
            }
            Transport::CancelHttp { id } => {
                if let Some(handle) = self.requests.remove(&id) {
                    handle.abort();
                }
            }
        }
    }

    fn socket_cmd(&mut self, conn: ConnId, cmd: socket::SocketCmd) {
        if let Some(socket) = self.sockets.get(&conn) {
            let _ = socket.cmds.send(cmd);
        }
    }

    /// Calls the token provider once (the session asks again only after this answer).
    fn fetch_token(&mut self) {
        let reports = self.reports.clone();
        let Some(provider) = &self.token_provider else {
            let _ = reports.try_send(Report::Token(Err("no token provider".into())));
            return;
        };
        // A provider that panics (while being called or while running) is an answer too: the
        // session must hear back, or its single-flight rule would wait for it forever.
        let provider = Arc::clone(provider);
        let call = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| provider()));
        tokio::spawn(async move {
            let answer = match call {
                Err(_) => Err("the token provider panicked".to_string()),
                Ok(future) => {
                    let guarded = std::panic::AssertUnwindSafe(future).catch_unwind();
                    match tokio::time::timeout(TOKEN_TIMEOUT, guarded).await {
                        Ok(Ok(answer)) => answer,
                        Ok(Err(_)) => Err("the token provider panicked".to_string()),
                        Err(_) => Err(format!(
                            "the token provider did not answer within {} s",
                            TOKEN_TIMEOUT.as_secs()
                        )),
                    }
                }
            };
            if let Err(error) = &answer {
                tracing::warn!(%error, "token provider failed");
            }
            let _ = reports.send(Report::Token(answer)).await;
        });
    }

    /// The session closed: every transport goes down and the subscribers' streams end.
    fn teardown(&mut self) {
        self.closed = true;
        for (_, socket) in self.sockets.drain() {
            if socket.cmds.send(socket::SocketCmd::Close).is_err() {
                socket.task.abort();
            }
        }
        for (_, handle) in self.requests.drain() {
            handle.abort();
        }
        fanout::deliver(&mut self.outbox, &mut self.subscribers);
        self.subscribers.clear();
        self.receipts.clear();
    }
}

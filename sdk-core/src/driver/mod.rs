//! The tokio driver: one task that owns an [`Engine`] and moves its bytes and timers.
//!
//! The task follows the engine's driving contract literally: it feeds every input to
//! [`Engine::handle`] with `now` measured by `tokio::time::Instant` from the driver's start, drains
//! [`Engine::poll_output`] until `None` after every call, and arms one sleep at
//! [`Engine::poll_timeout`]. Transport outputs are executed by small tasks — one per WebSocket
//! ([`socket`]) and one per HTTP request ([`http`]) — that report back through a single bounded
//! channel, so per-transport order is preserved and a slow engine applies backpressure to the
//! network instead of buffering without bound. `Output::Event` envelopes go to every subscriber
//! through an unbounded channel (a slow consumer is never dropped from or skipped).
//!
//! The driver makes no protocol decisions: states, retries, dedup, acks and timeouts are the
//! engine's. The two things it adds are plumbing around the engine's outputs: routing each
//! `MessageStatus` event to the [`Receipt`](crate::client::Receipt) of that message, and the
//! optional token provider, whose bearer token is put in the `Authorization` header of every
//! socket upgrade and HTTP request (fetched before the first one, fetched again — one fetch at a
//! time — after an `Error{kind: Auth}` event, after which the driver asks the engine to
//! reconnect now instead of waiting out its backoff; the client wraps the dialect so that auth
//! failures are retried rather than final while a provider is set).

mod auth;
mod http;
mod socket;
mod tls;

use crate::EngineError;
use crate::client::{ClientStats, TokenProvider};
use crate::engine::Engine;
use crate::event::{DeliveryStatus, Envelope, ErrorKind, Event};
use crate::ids::{ClientId, ConnId, RequestId};
use crate::io::{Command, Input, Output};
use crate::state::ConnectionState;
use crate::time::Instant;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::AbortHandle;

/// A request from a [`Client`](crate::client::Client) handle to its driver task.
pub(crate) enum Request {
    /// Queue a message (`audio: Some((format, base64))` for audio).
    Send {
        text: String,
        audio: Option<(String, String)>,
        reply: oneshot::Sender<Result<SendAccepted, EngineError>>,
    },
    /// Any other command.
    Command {
        command: Command,
        reply: oneshot::Sender<Result<(), EngineError>>,
    },
    /// Deliver every later envelope to this channel.
    Subscribe(mpsc::UnboundedSender<Envelope>),
    /// Close the engine, flush its last events, stop.
    Close(oneshot::Sender<()>),
}

/// What the driver answers to an accepted send.
pub(crate) struct SendAccepted {
    pub(crate) client_id: ClientId,
    pub(crate) status: watch::Receiver<DeliveryStatus>,
}

/// State shared between the driver task and the client handles.
pub(crate) struct Shared {
    pub(crate) state: watch::Sender<ConnectionState>,
    pub(crate) stats: Mutex<ClientStats>,
}

/// Settings of a driver besides the engine's own config.
pub(crate) struct DriverOptions {
    pub(crate) max_frame_bytes: usize,
    pub(crate) token_provider: Option<TokenProvider>,
    /// Headers added to every upgrade and HTTP request (replacing same-named ones).
    pub(crate) headers: Vec<(String, String)>,
    /// Connect as soon as the driver runs (`lazy_connect: false`).
    pub(crate) connect_at_start: bool,
}

/// Errors setting up the driver's network stack.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the network stack: {0}")]
pub(crate) struct DriverSetupError(pub(crate) String);

/// Spawns the driver task for `engine` on the current tokio runtime; returns the request sender.
pub(crate) fn spawn(
    engine: Engine,
    options: DriverOptions,
    shared: Arc<Shared>,
) -> Result<mpsc::UnboundedSender<Request>, DriverSetupError> {
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| DriverSetupError("no tokio runtime is running".into()))?;
    let tls = tls::client_config().map_err(|e| DriverSetupError(e.to_string()))?;
    let http = http::client(&tls).map_err(|e| DriverSetupError(e.to_string()))?;
    let (requests_tx, requests_rx) = mpsc::unbounded_channel();
    let (reports_tx, reports_rx) = mpsc::channel(REPORT_BUFFER);
    let acks = engine.capabilities().acks;
    let driver = Driver {
        engine,
        start: tokio::time::Instant::now(),
        reports: reports_tx,
        sockets: HashMap::new(),
        requests: HashMap::new(),
        http,
        tls,
        max_frame_bytes: options.max_frame_bytes,
        subscribers: Vec::new(),
        receipts: HashMap::new(),
        shared,
        acks,
        auth: options.token_provider.map(auth::Auth::new),
        headers: options.headers,
    };
    runtime.spawn(driver.run(requests_rx, reports_rx, options.connect_at_start));
    Ok(requests_tx)
}

/// A seed for the engine's RNG when the app sets none: OS randomness through std's hasher keys
/// mixed with the clock (the engine itself never draws randomness).
pub(crate) fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(unix_nanos());
    h.finish()
}

/// Unix time in milliseconds now (the engine's wall-clock anchor, read once per client).
pub(crate) fn unix_ms_now() -> u64 {
    u64::try_from(unix_nanos() / 1_000_000).unwrap_or(u64::MAX)
}

fn unix_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// URL for logs: scheme, host, port and path only (queries and user info may carry secrets).
pub(crate) fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(u) => format!(
            "{}://{}{}{}",
            u.scheme(),
            u.host_str().unwrap_or(""),
            u.port().map(|p| format!(":{p}")).unwrap_or_default(),
            u.path()
        ),
        Err(_) => "<invalid url>".to_string(),
    }
}

/// A transport task's report, or the token provider's answer.
pub(crate) enum Report {
    Input(Input),
    Token(Result<String, String>),
}

/// Transport reports waiting for the engine (bounded: backpressure towards the sockets).
const REPORT_BUFFER: usize = 256;
struct Driver {
    engine: Engine,
    start: tokio::time::Instant,
    reports: mpsc::Sender<Report>,
    sockets: HashMap<ConnId, (mpsc::UnboundedSender<socket::SocketCmd>, AbortHandle)>,
    requests: HashMap<RequestId, AbortHandle>,
    http: reqwest::Client,
    tls: Arc<rustls::ClientConfig>,
    max_frame_bytes: usize,
    subscribers: Vec<mpsc::UnboundedSender<Envelope>>,
    receipts: HashMap<ClientId, watch::Sender<DeliveryStatus>>,
    shared: Arc<Shared>,
    acks: bool,
    auth: Option<auth::Auth>,
    headers: Vec<(String, String)>,
}

impl Driver {
    async fn run(
        mut self,
        mut requests: mpsc::UnboundedReceiver<Request>,
        mut reports: mpsc::Receiver<Report>,
        connect_at_start: bool,
    ) {
        if connect_at_start {
            let now = self.now();
            self.feed(now, Input::Command(Command::Connect));
            self.drain();
        }
        let far = self.start + std::time::Duration::from_secs(86_400 * 365);
        let sleep = tokio::time::sleep_until(far);
        tokio::pin!(sleep);
        loop {
            let deadline = self.engine.poll_timeout().map(|d| {
                self.start
                    .checked_add(d.elapsed_since_epoch())
                    .unwrap_or(far)
            });
            if let Some(at) = deadline {
                if sleep.deadline() != at {
                    sleep.as_mut().reset(at);
                }
            }
            tokio::select! {
                request = requests.recv() => match request {
                    Some(Request::Close(reply)) => {
                        self.shutdown();
                        let _ = reply.send(());
                        break;
                    }
                    Some(request) => self.request(request),
                    None => {
                        self.shutdown();
                        break;
                    }
                },
                Some(report) = reports.recv() => self.report(report),
                () = &mut sleep, if deadline.is_some() => {
                    let now = self.now();
                    self.feed(now, Input::Timeout);
                }
            }
            self.drain();
        }
        tracing::debug!("chatwire driver stopped");
    }

    fn now(&self) -> Instant {
        Instant::from_elapsed(self.start.elapsed())
    }

    /// `handle` for inputs whose error the driver can only log (transport reports, timers).
    fn feed(&mut self, now: Instant, input: Input) {
        if let Err(error) = self.engine.handle(now, input) {
            tracing::debug!(%error, "engine refused an input");
        }
    }

    fn request(&mut self, request: Request) {
        let now = self.now();
        match request {
            Request::Send { text, audio, reply } => {
                let result = match audio {
                    None => self.engine.send(now, text),
                    Some((format, data)) => self.engine.send_audio(now, format, data),
                };
                let answer = result.map(|client_id| {
                    let (tx, rx) = watch::channel(DeliveryStatus::Queued);
                    self.receipts.insert(client_id, tx);
                    self.stats(|s| s.sent += 1);
                    SendAccepted {
                        client_id,
                        status: rx,
                    }
                });
                let _ = reply.send(answer);
            }
            Request::Command { command, reply } => {
                let result = self.engine.handle(now, Input::Command(command));
                let _ = reply.send(result);
            }
            Request::Subscribe(tx) => self.subscribers.push(tx),
            // handled in `run`
            Request::Close(reply) => {
                let _ = reply.send(());
            }
        }
    }

    fn report(&mut self, report: Report) {
        let now = self.now();
        match report {
            Report::Input(input) => {
                match &input {
                    Input::SocketClosed { conn, .. } => {
                        self.sockets.remove(conn);
                    }
                    Input::HttpEnd { id } | Input::HttpFailed { id, .. } => {
                        self.requests.remove(id);
                    }
                    _ => {}
                }
                self.feed(now, input);
            }
            Report::Token(result) => self.token_arrived(now, result),
        }
    }

    /// After every `handle`: execute transport outputs, deliver events.
    fn drain(&mut self) {
        while let Some(output) = self.engine.poll_output() {
            match output {
                Output::Event(envelope) => self.deliver(envelope),
                transport => self.execute(transport),
            }
        }
        let engine_stats = self.engine.stats();
        self.stats(|s| {
            s.queued = engine_stats.queued as u64;
            s.duplicates_dropped = engine_stats.duplicates_dropped;
        });
    }

    fn deliver(&mut self, envelope: Envelope) {
        match &envelope.event {
            Event::StateChanged { to, .. } => {
                tracing::info!(state = ?to, "connection state");
                self.shared.state.send_replace(*to);
                match to {
                    ConnectionState::Reconnecting { .. } => self.stats(|s| s.reconnects += 1),
                    ConnectionState::Ready => {
                        if let Some(auth) = &mut self.auth {
                            auth.on_ready();
                        }
                    }
                    _ => {}
                }
            }
            Event::MessageStatus {
                client_id, status, ..
            } => self.route_status(*client_id, status),
            Event::Error {
                kind: ErrorKind::Auth,
                ..
            } => self.refresh_token(),
            _ => {}
        }
        self.stats(|s| s.events += 1);
        self.subscribers
            .retain(|tx| tx.send(envelope.clone()).is_ok());
    }

    fn route_status(&mut self, client_id: ClientId, status: &DeliveryStatus) {
        let terminal = match status {
            DeliveryStatus::Acked => {
                self.stats(|s| s.acked += 1);
                true
            }
            DeliveryStatus::Failed { .. } => {
                self.stats(|s| s.failed += 1);
                true
            }
            DeliveryStatus::Sent => !self.acks,
            _ => false,
        };
        if let Some(tx) = self.receipts.get(&client_id) {
            tx.send_replace(status.clone());
        }
        if terminal {
            self.receipts.remove(&client_id);
        }
    }

    fn execute(&mut self, output: Output) {
        let Some(mut output) = self.authorize(output) else {
            return;
        };
        let headers = match &mut output {
            Output::OpenSocket { headers, .. } => Some(headers),
            Output::HttpRequest(request) => Some(&mut request.headers),
            _ => None,
        };
        if let Some(headers) = headers {
            set_headers(headers, &self.headers);
            if let Some(token) = self.auth.as_ref().and_then(|a| a.token()) {
                let bearer = ("Authorization".to_string(), format!("Bearer {token}"));
                set_headers(headers, std::slice::from_ref(&bearer));
            }
        }
        match output {
            Output::OpenSocket { conn, url, headers } => {
                tracing::debug!(conn = conn.0, url = %redact_url(&url), "open socket");
                let spec = socket::SocketSpec {
                    conn,
                    url,
                    headers,
                    max_frame_bytes: self.max_frame_bytes,
                    tls: self.tls.clone(),
                };
                let handle = socket::spawn(spec, self.reports.clone());
                self.sockets.insert(conn, handle);
            }
            Output::SendText { conn, text } => self.socket_cmd(conn, socket::SocketCmd::Text(text)),
            Output::SendBinary { conn, bytes } => {
                self.socket_cmd(conn, socket::SocketCmd::Binary(bytes))
            }
            Output::CloseSocket { conn } => {
                if let Some((tx, _)) = self.sockets.remove(&conn) {
                    let _ = tx.send(socket::SocketCmd::Close);
                }
            }
            Output::HttpRequest(request) => {
                tracing::debug!(
                    id = request.id.0,
                    method = request.method.as_str(),
                    url = %redact_url(&request.url),
                    "http request"
                );
                let id = request.id;
                let limit = self.max_frame_bytes;
                let handle = http::spawn(&self.http, request, limit, self.reports.clone());
                self.requests.insert(id, handle);
            }
            Output::CancelHttp { id } => {
                if let Some(handle) = self.requests.remove(&id) {
                    handle.abort();
                }
            }
            Output::Event(envelope) => self.deliver(envelope),
        }
    }

    fn socket_cmd(&mut self, conn: ConnId, cmd: socket::SocketCmd) {
        if let Some((tx, _)) = self.sockets.get(&conn) {
            let _ = tx.send(cmd);
        }
    }

    fn stats(&self, update: impl FnOnce(&mut ClientStats)) {
        if let Ok(mut stats) = self.shared.stats.lock() {
            update(&mut stats);
        }
    }

    /// Closes the engine, delivers its last events, tears every transport down and ends the
    /// subscribers' streams.
    fn shutdown(&mut self) {
        let now = self.now();
        self.feed(now, Input::Command(Command::Close));
        self.drain();
        for (_, (tx, abort)) in self.sockets.drain() {
            if tx.send(socket::SocketCmd::Close).is_err() {
                abort.abort();
            }
        }
        for (_, handle) in self.requests.drain() {
            handle.abort();
        }
        self.subscribers.clear();
        self.receipts.clear();
    }
}

/// Adds `extra` to `headers`, replacing headers of the same (case-insensitive) name.
fn set_headers(headers: &mut Vec<(String, String)>, extra: &[(String, String)]) {
    for (name, value) in extra {
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        headers.push((name.clone(), value.clone()));
    }
}

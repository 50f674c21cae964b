//! The server: shared state, the router with every dialect's routes, the CORS middleware
//! ([`crate::cors`]) and the fault middleware (which also tags each connection with the dialects
//! it served, for scoped restarts),
//! [`spawn`], and the [`MockServer`] handle (address, control methods, shutdown on drop).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tokio::net::TcpListener;
use tokio::runtime::Handle;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::agent::Timing;
use crate::config::MockConfig;
use crate::conn::{ConnHandle, ConnRegistry, MockListener};
use crate::dialect::{ApiError, Dialect};
use crate::faults::{FaultSpec, Faults};
use crate::hub::{Hub, Received};
use crate::restart::{ConnTags, RestartTimer, weak_restart};
use crate::{
    MockError, ai_sdk, chat_interfaces, chat_v2, control, cors, miptech, native, openai, parlant,
};

/// State shared by every handler.
pub(crate) struct Shared {
    pub config: MockConfig,
    pub addr: SocketAddr,
    pub faults: Arc<Faults>,
    pub registry: Arc<ConnRegistry>,
    /// Which dialects each connection served, for restarts scoped to one dialect.
    pub tags: ConnTags,
    /// The `restart_after_ms` timer of the installed fault set.
    pub restart_timer: RestartTimer,
    /// The runtime the server runs on (the restart timer is spawned there).
    pub runtime: Handle,
    pub hub: Hub,
    /// Bumped on every restart; native sockets say `goodbye` when it changes.
    pub restarts: watch::Sender<RestartNotice>,
    pub rate: chat_interfaces::RateLimiter,
}

/// What a restart tells sockets that can say goodbye.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RestartNotice {
    pub generation: u64,
    pub retry_after_ms: u64,
}

impl Shared {
    pub fn timing(&self) -> Timing {
        Timing {
            token_delay: self.config.token_delay,
            slow_delay: self.config.slow_delay,
        }
    }

    /// Drops every connection (`scope == None`) or every connection that served one dialect
    /// (except `keep`), refusing new connections or that dialect's requests for `refuse`.
    /// Returns how many connections were dropped.
    pub fn restart(&self, scope: Option<Dialect>, refuse: Duration, keep: Option<u64>) -> usize {
        self.faults.refuse_for(refuse, scope);
        if matches!(scope, None | Some(Dialect::Native)) {
            self.restarts.send_modify(|n| {
                n.generation += 1;
                n.retry_after_ms = u64::try_from(refuse.as_millis()).unwrap_or(u64::MAX);
            });
        }
        match scope {
            None => self.registry.kill_all(keep),
            Some(d) => self.tags.kill(d, keep),
        }
    }

    /// Installs a validated fault set and (re)starts its restart timer.
    pub fn set_faults(self: &Arc<Self>, spec: FaultSpec) {
        let plan = spec.restart_plan();
        self.faults.set(spec);
        let restart = weak_restart(Arc::downgrade(self), |s: &Shared, plan| {
            let dropped = s.restart(plan.scope, plan.refuse, None);
            tracing::debug!("scheduled restart dropped {dropped} connections");
        });
        self.restart_timer.replace(&self.runtime, plan, restart);
    }

    /// Removes every fault and stops the restart timer.
    pub fn clear_faults(&self) {
        self.restart_timer.cancel();
        self.faults.clear();
    }

    /// Forgets conversations, received messages, rate limits and faults.
    pub fn reset(&self) {
        self.hub.reset();
        self.rate.reset();
        self.clear_faults();
    }
}

pub(crate) type AppState = State<Arc<Shared>>;

/// A running mock server. Dropping it shuts it down (without waiting); prefer
/// [`MockServer::shutdown`] in async code.
pub struct MockServer {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

/// Starts a mock server with `config` and returns once it accepts connections.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), chatwire_mock::MockError> {
/// let server = chatwire_mock::spawn(chatwire_mock::MockConfig::default()).await?;
/// assert!(server.base_url().starts_with("http://127.0.0.1:"));
/// server.shutdown().await;
/// # Ok(())
/// # }
/// ```
pub async fn spawn(config: MockConfig) -> Result<MockServer, MockError> {
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(MockError::Bind)?;
    let addr = listener.local_addr().map_err(MockError::Bind)?;
    let initial_faults = config.faults.clone();
    if let Some(spec) = &initial_faults {
        spec.validate().map_err(MockError::InvalidFaults)?;
    }
    let faults = Arc::new(Faults::new(config.seed));
    let registry = Arc::new(ConnRegistry::default());
    let (restarts, _) = watch::channel(RestartNotice::default());
    let rate =
        chat_interfaces::RateLimiter::new(config.rate_limit_messages, config.rate_limit_window);
    let shared = Arc::new(Shared {
        hub: Hub::new(config.retain_events, config.first_id),
        config,
        addr,
        faults,
        registry,
        tags: ConnTags::default(),
        restart_timer: RestartTimer::default(),
        runtime: Handle::current(),
        restarts,
        rate,
    });
    if let Some(spec) = initial_faults {
        shared.set_faults(spec);
    }
    let app = router(shared.clone());
    let listener = MockListener {
        inner: listener,
        faults: shared.faults.clone(),
        registry: shared.registry.clone(),
    };
    let (stop, mut stop_rx) = watch::channel(false);
    let task = tokio::spawn(async move {
        let service = app.into_make_service_with_connect_info::<ConnHandle>();
        let graceful = async move {
            let _ = stop_rx.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, service)
            .with_graceful_shutdown(graceful)
            .await
        {
            tracing::warn!("mock server stopped: {e}");
        }
    });
    Ok(MockServer {
        shared,
        stop,
        task: Some(task),
    })
}

impl MockServer {
    /// The bound address.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let server = chatwire_mock::spawn(chatwire_mock::MockConfig::default()).await.unwrap();
    /// assert!(server.addr().ip().is_loopback());
    /// assert_ne!(server.addr().port(), 0, "port 0 was resolved to a free port");
    /// # });
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let server = chatwire_mock::spawn(chatwire_mock::MockConfig::default()).await.unwrap();
    /// assert_eq!(server.base_url(), format!("http://{}", server.addr()));
    /// # });
    /// ```
    pub fn base_url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// `ws://127.0.0.1:PORT` (no trailing slash).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let server = chatwire_mock::spawn(chatwire_mock::MockConfig::default()).await.unwrap();
    /// let native = format!("{}/native/v1/ws", server.ws_url());
    /// assert!(native.starts_with("ws://127.0.0.1:"));
    /// # });
    /// ```
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.shared.addr)
    }

    /// Installs a fault set (replacing the previous one), as `POST /_mock/faults` does. A set
    /// with `restart_after_ms` starts its restart timer now.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use chatwire_mock::{FaultSpec, MockConfig};
    /// let server = chatwire_mock::spawn(MockConfig::default()).await.unwrap();
    /// let spec = FaultSpec { restart_after_ms: Some(100), once: Some(true), ..FaultSpec::default() };
    /// server.set_faults(spec).unwrap();
    /// assert!(server.set_faults(FaultSpec { duplicate_rate: Some(2.0), ..FaultSpec::default() }).is_err());
    /// # });
    /// ```
    pub fn set_faults(&self, spec: FaultSpec) -> Result<(), MockError> {
        spec.validate().map_err(MockError::InvalidFaults)?;
        self.shared.set_faults(spec);
        Ok(())
    }

    /// Removes every fault (and a pending scheduled restart), as `DELETE /_mock/faults` does.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use chatwire_mock::{FaultSpec, MockConfig};
    /// let server = chatwire_mock::spawn(MockConfig::default()).await.unwrap();
    /// server.set_faults(FaultSpec { delay_ms: Some(20), ..FaultSpec::default() }).unwrap();
    /// server.clear_faults();
    /// # });
    /// ```
    pub fn clear_faults(&self) {
        self.shared.clear_faults();
    }

    /// Drops every connection at once; conversations survive, so clients can resume. Returns
    /// how many connections were dropped.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let server = chatwire_mock::spawn(chatwire_mock::MockConfig::default()).await.unwrap();
    /// assert_eq!(server.restart(), 0, "no client was connected");
    /// # });
    /// ```
    pub fn restart(&self) -> usize {
        self.shared.restart(None, Duration::ZERO, None)
    }

    /// Drops every connection and refuses new ones for `refuse`.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::time::Duration;
    /// let server = chatwire_mock::spawn(chatwire_mock::MockConfig::default()).await.unwrap();
    /// let dropped = server.restart_with(Duration::from_millis(200)); // new connections refused for 200 ms
    /// assert_eq!(dropped, 0);
    /// # });
    /// ```
    pub fn restart_with(&self, refuse: Duration) -> usize {
        self.shared.restart(None, refuse, None)
    }

    /// Every client message received so far, oldest first.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let server = chatwire_mock::spawn(chatwire_mock::MockConfig::default()).await.unwrap();
    /// // ... a client sends messages to server.base_url() ...
    /// assert!(server.received().iter().all(|r| r.times_received >= 1));
    /// # });
    /// ```
    pub fn received(&self) -> Vec<Received> {
        self.shared.hub.received()
    }

    /// Forgets conversations, received messages, rate limits and faults.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let server = chatwire_mock::spawn(chatwire_mock::MockConfig::default()).await.unwrap();
    /// server.reset();
    /// assert!(server.received().is_empty());
    /// # });
    /// ```
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// Stops accepting, drops every connection and waits for the server task to end.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let server = chatwire_mock::spawn(chatwire_mock::MockConfig::default()).await.unwrap();
    /// let addr = server.addr();
    /// server.shutdown().await;
    /// assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "nothing listens any more");
    /// # });
    /// ```
    pub async fn shutdown(mut self) {
        self.stop_now();
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }

    fn stop_now(&self) {
        self.stop.send_replace(true);
        self.shared.restart_timer.cancel();
        self.shared.registry.kill_all(None);
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            self.stop_now();
            task.abort();
        }
    }
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.shared.addr)
            .finish()
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .merge(native::routes())
        .merge(openai::routes())
        .merge(miptech::routes())
        .merge(chat_v2::routes())
        .merge(chat_interfaces::routes())
        .merge(parlant::routes())
        .merge(ai_sdk::routes())
        .merge(control::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            fault_layer,
        ))
        // Outermost: a preflight is answered before any fault applies.
        .layer(axum::middleware::from_fn(cors::cors_layer))
        .with_state(shared)
}

async fn not_found(req: Request) -> Response {
    let path = req.uri().path().to_owned();
    ApiError::not_found(format!("no route for {} {path}", req.method()))
        .into_response_for(Dialect::for_path(&path))
}

/// Applies refusal, HTTP error and delay faults to dialect requests (never to `/_mock/`).
async fn fault_layer(State(shared): AppState, req: Request, next: Next) -> Response {
    let Some(dialect) = Dialect::for_path(req.uri().path()) else {
        return next.run(req).await;
    };
    let ctl = req
        .extensions()
        .get::<ConnectInfo<ConnHandle>>()
        .map(|ConnectInfo(ConnHandle(ctl))| ctl.clone());
    if shared.faults.refusing(Some(dialect)) {
        if let Some(ctl) = ctl {
            ctl.kill();
        }
        return ApiError::new(503, "refused", "connection refused")
            .into_response_for(Some(dialect));
    }
    if let Some(ctl) = &ctl {
        shared.tags.tag(ctl, dialect);
    }
    let fault = shared.faults.on_request(dialect);
    if !fault.delay.is_zero() {
        tokio::time::sleep(fault.delay).await;
    }
    if let Some((status, retry_after)) = fault.error {
        let code = match status {
            429 => "rate_limited",
            503 => "service_unavailable",
            s if s >= 500 => "server_error",
            _ => "injected_error",
        };
        return ApiError::new(status, code, format!("injected HTTP {status}"))
            .retry_after(retry_after)
            .into_response_for(Some(dialect));
    }
    next.run(req).await
}

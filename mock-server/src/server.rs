//! The server: shared state, the router with every dialect's routes and the fault middleware,
//! [`spawn`], and the [`MockServer`] handle (address, control methods, shutdown on drop).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::agent::Timing;
use crate::config::MockConfig;
use crate::conn::{ConnHandle, ConnRegistry, MockListener};
use crate::dialect::{ApiError, Dialect};
use crate::faults::{FaultSpec, Faults};
use crate::hub::{Hub, Received};
use crate::{MockError, chat_interfaces, chat_v2, control, miptech, native, openai, parlant};

/// State shared by every handler.
pub(crate) struct Shared {
    pub config: MockConfig,
    pub addr: SocketAddr,
    pub faults: Arc<Faults>,
    pub registry: Arc<ConnRegistry>,
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

    /// Drops every connection (except `keep`), optionally refusing new ones for `refuse`.
    pub fn restart(&self, refuse: Duration, keep: Option<u64>) -> usize {
        self.faults.refuse_all_for(refuse);
        self.restarts.send_modify(|n| {
            n.generation += 1;
            n.retry_after_ms = u64::try_from(refuse.as_millis()).unwrap_or(u64::MAX);
        });
        self.registry.kill_all(keep)
    }

    /// Forgets conversations, received messages, rate limits and faults.
    pub fn reset(&self) {
        self.hub.reset();
        self.rate.reset();
        self.faults.clear();
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
    let faults = Arc::new(Faults::new(config.seed));
    if let Some(spec) = &config.faults {
        spec.validate().map_err(MockError::InvalidFaults)?;
        faults.set(spec.clone());
    }
    let registry = Arc::new(ConnRegistry::default());
    let (restarts, _) = watch::channel(RestartNotice::default());
    let rate =
        chat_interfaces::RateLimiter::new(config.rate_limit_messages, config.rate_limit_window);
    let shared = Arc::new(Shared {
        hub: Hub::new(config.retain_events),
        config,
        addr,
        faults,
        registry,
        restarts,
        rate,
    });
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
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// `ws://127.0.0.1:PORT` (no trailing slash).
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.shared.addr)
    }

    /// Installs a fault set (replacing the previous one), as `POST /_mock/faults` does.
    pub fn set_faults(&self, spec: FaultSpec) -> Result<(), MockError> {
        spec.validate().map_err(MockError::InvalidFaults)?;
        self.shared.faults.set(spec);
        Ok(())
    }

    /// Removes every fault, as `DELETE /_mock/faults` does.
    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// Drops every connection at once; conversations survive, so clients can resume.
    pub fn restart(&self) -> usize {
        self.shared.restart(Duration::ZERO, None)
    }

    /// Drops every connection and refuses new ones for `refuse`.
    pub fn restart_with(&self, refuse: Duration) -> usize {
        self.shared.restart(refuse, None)
    }

    /// Every client message received so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.shared.hub.received()
    }

    /// Forgets conversations, received messages, rate limits and faults.
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// Stops accepting, drops every connection and waits for the server task to end.
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
        .merge(control::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            fault_layer,
        ))
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
    if shared.faults.refusing(Some(dialect)) {
        if let Some(ConnectInfo(ConnHandle(ctl))) =
            req.extensions().get::<ConnectInfo<ConnHandle>>()
        {
            ctl.kill();
        }
        return ApiError::new(503, "refused", "connection refused")
            .into_response_for(Some(dialect));
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

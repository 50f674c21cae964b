//! [`ClientBuilder`]: the typed Rust front of [`ClientOptions`] — dialect, base URL, auth,
//! dialect params, every engine default of DESIGN §6 — plus the one thing options cannot hold,
//! the token provider function. [`ClientBuilder::build`] validates the options once
//! ([`ClientOptions::validate`]) and starts the driver.
//!
//! Validation refuses, with a typed [`BuildError`]: an unparsable URL, a scheme other than
//! `http`, `https`, `ws`, `wss`, a clear-text scheme (`http`, `ws`) towards a host that is not
//! loopback unless [`allow_insecure`](ClientBuilder::allow_insecure) is set, zero durations or
//! limits ([`ConfigError`](crate::ConfigError)), params the dialect does not read and invalid
//! headers. Credentials never appear in `Debug` output or error messages.

use super::{Client, DialectKind, Runtime, TokenProvider};
use crate::backoff::BackoffPolicy;
use crate::config::{Config, OverflowPolicy};
use crate::driver::{self, DriverOptions, Shared};
use crate::error::BuildError;
use crate::ids::Cursor;
use crate::options::{ClientOptions, redact_url};
use crate::session::Session;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Configures and builds a [`Client`]. Start with [`Client::builder`]. Every setter is optional:
/// engine settings default to DESIGN §6, and every dialect param to a value `chatwire-mock`
/// accepts.
///
/// # Example
///
/// Every setter, each with a value other than its default:
///
/// ```
/// use chatwire::backoff::BackoffPolicy;
/// use chatwire::client::{Client, DialectKind};
/// use chatwire::{Config, ConnectionState, Cursor, OverflowPolicy};
/// use std::time::Duration;
/// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
/// # let _runtime = rt.enter(); // `build` starts the driver on the current tokio runtime
/// let mut backoff = BackoffPolicy::default();
/// backoff.cap = Duration::from_secs(10);
/// let client = Client::builder(DialectKind::Miptech, "http://10.0.0.8:8080")
///     .config(Config::default()) // first: it replaces every engine setting set before it
///     .allow_insecure(true) // clear-text http to a host that is not loopback
///     .tenant("acme")
///     .api_key("k-123")
///     .bearer_token("tok-456")
///     .token_provider(|| async { Ok::<_, std::io::Error>("fresh-token".to_string()) })
///     .header("X-Trace", "on")
///     .param("chat_id", "support-42") // a param miptech reads (see DialectKind::params)
///     .seed(42)
///     .backoff(backoff)
///     .max_attempts(3)
///     .stable_after(Duration::from_secs(60))
///     .connect_timeout(Duration::from_secs(5))
///     .ready_timeout(Duration::from_secs(5))
///     .ping_interval(Duration::from_secs(20))
///     .pong_timeout(Duration::from_secs(5))
///     .idle_timeout(Duration::from_secs(60))
///     .ack_timeout(Duration::from_secs(15))
///     .turn_timeout(Duration::from_secs(120))
///     .max_retry_after(Duration::from_secs(60))
///     .queue_capacity(100)
///     .overflow(OverflowPolicy::RejectNew)
///     .dedup_capacity(4096)
///     .typing_throttle(Duration::from_secs(5))
///     .max_frame_bytes(4 << 20)
///     .lazy_connect(true) // the default: nothing connects before the first send
///     .delta_coalesce(Duration::from_millis(50))
///     .resume_cursor(Cursor::new("17"))
///     .keep_raw(false)
///     .build()?;
/// assert_eq!(client.dialect(), DialectKind::Miptech);
/// assert_eq!(client.state(), ConnectionState::Disconnected);
/// # Ok::<(), chatwire::client::BuildError>(())
/// ```
#[must_use = "call build() to get a client"]
pub struct ClientBuilder {
    options: ClientOptions,
    token_provider: Option<TokenProvider>,
    runtime: Option<Runtime>,
}

impl ClientBuilder {
    pub(super) fn new(dialect: DialectKind, base_url: String) -> ClientBuilder {
        ClientBuilder::from_options(ClientOptions::new(dialect, base_url))
    }

    /// A builder holding `options` (for example parsed with [`ClientOptions::from_json`]). When
    /// `options.token_provider` is set, give the function with
    /// [`token_provider`](Self::token_provider) before [`build`](Self::build).
    ///
    /// ```
    /// use chatwire::ClientOptions;
    /// use chatwire::client::ClientBuilder;
    /// let options = ClientOptions::from_json(r#"{"dialect":"native","baseUrl":"http://127.0.0.1:1","seed":3}"#)?;
    /// let builder = ClientBuilder::from_options(options);
    /// assert_eq!(builder.options().seed, Some(3));
    /// # Ok::<(), chatwire::BuildError>(())
    /// ```
    pub fn from_options(options: ClientOptions) -> ClientBuilder {
        ClientBuilder {
            options,
            token_provider: None,
            runtime: None,
        }
    }

    /// The options set so far.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// The tenant id (param `tenant_id`: miptech's `X-Tenant-ID` headers; other dialects have
    /// no tenant and refuse it).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn tenant(mut self, tenant_id: impl Into<String>) -> ClientBuilder {
        self.options.tenant = Some(tenant_id.into());
        self
    }

    /// An API key (param `api_key`; each dialect puts it where its backend expects it; native
    /// has no API key and takes a [`bearer_token`](Self::bearer_token) instead).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn api_key(mut self, key: impl Into<String>) -> ClientBuilder {
        self.options.api_key = Some(key.into());
        self
    }

    /// A static bearer token (param `token`). See also [`token_provider`](Self::token_provider).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn bearer_token(mut self, token: impl Into<String>) -> ClientBuilder {
        self.options.bearer_token = Some(token.into());
        self
    }

    /// A header added to every WebSocket upgrade and HTTP request (replacing a header of the
    /// same name set by the dialect). Browsers cannot set upgrade headers; this is native only.
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> ClientBuilder {
        self.options.headers.push((name.into(), value.into()));
        self
    }

    /// A dialect param: `slug`, `session_id`, `agent_id`, `model`, `conversation_id`,
    /// `chat_id`, `header.<Name>`, ... ([`DialectKind::params`] lists each dialect's). Every
    /// param defaults to a value `chatwire-mock` accepts; one the dialect does not read makes
    /// [`build`](Self::build) fail with [`BuildError::UnknownParam`] instead of being ignored.
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn param(mut self, key: impl Into<String>, value: impl Into<String>) -> ClientBuilder {
        self.options.params.insert(key.into(), value.into());
        self
    }

    /// An async function returning a bearer token. It is called before the first connection
    /// and again after the backend rejects the credentials (`Error{kind: Auth}`) — never twice
    /// at once, at most 3 times without a successful connection in between — after which the
    /// client reconnects with the new token. The token goes in the `Authorization: Bearer`
    /// header of every upgrade and request.
    ///
    /// ```no_run
    /// # use chatwire::client::{Client, DialectKind};
    /// let builder = Client::builder(DialectKind::Native, "https://chat.example.com")
    ///     .token_provider(|| async { Ok::<_, std::io::Error>("fresh-token".to_string()) });
    /// # let _ = builder;
    /// ```
    pub fn token_provider<F, Fut, E>(mut self, provider: F) -> ClientBuilder
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, E>> + Send + 'static,
        E: fmt::Display,
    {
        let provider = Arc::new(provider);
        self.options.token_provider = true;
        self.token_provider = Some(Arc::new(move || {
            let future = provider();
            Box::pin(async move { future.await.map_err(|e| e.to_string()) })
        }));
        self
    }

    /// The tokio runtime to run the client on (default: the runtime `build` is called from).
    /// With it, `build` works outside any runtime; see [`Runtime`].
    pub fn runtime(mut self, runtime: Runtime) -> ClientBuilder {
        self.runtime = Some(runtime);
        self
    }

    /// Allows `http://` and `ws://` to hosts that are not loopback (default: refused).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn allow_insecure(mut self, allow: bool) -> ClientBuilder {
        self.options.allow_insecure = allow;
        self
    }

    /// Seeds the engine's RNG (jitter, client ids) for reproducible runs. Without it each
    /// client draws a random seed, so clients never back off in lockstep.
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn seed(mut self, seed: u64) -> ClientBuilder {
        self.options.seed = Some(seed);
        self
    }

    /// Replaces all engine settings at once. The seed is still taken from
    /// [`seed`](Self::seed) (or drawn at random), and the wall-clock anchor is set by the driver.
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn config(mut self, config: Config) -> ClientBuilder {
        self.options.config = config;
        self
    }

    /// Reconnect backoff (default: 1 s base, x2, 30 s cap, +-20 % jitter after the cap).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn backoff(mut self, backoff: BackoffPolicy) -> ClientBuilder {
        self.options.config.backoff = backoff;
        self
    }

    /// Consecutive failed attempts before `Failed` (default 10).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn max_attempts(mut self, attempts: u32) -> ClientBuilder {
        self.options.config.max_attempts = attempts;
        self
    }

    /// How long a connection must stay `Ready` (or complete a turn) before a failure starts the
    /// attempt count over (default 30 s).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn stable_after(mut self, duration: Duration) -> ClientBuilder {
        self.options.config.stable_after = duration;
        self
    }

    /// Time allowed to reach `Connected` (default 10 s).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn connect_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.options.config.connect_timeout = timeout;
        self
    }

    /// Time allowed from `Connected` to `Ready` (default 10 s).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn ready_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.options.config.ready_timeout = timeout;
        self
    }

    /// Idle time before the client pings (default 30 s).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn ping_interval(mut self, interval: Duration) -> ClientBuilder {
        self.options.config.ping_interval = interval;
        self
    }

    /// Time to wait for traffic after a ping (default 10 s).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn pong_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.options.config.pong_timeout = timeout;
        self
    }

    /// Silence after which a heartbeat-based connection is dead (default 45 s).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn idle_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.options.config.idle_timeout = timeout;
        self
    }

    /// A sent message not acknowledged within this time means the connection lost it: the
    /// client reconnects and re-sends (dialects with acks; default 20 s).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn ack_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.options.config.ack_timeout = timeout;
        self
    }

    /// Silence on an open turn before it fails with `Timeout` (default 30 s).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn turn_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.options.config.turn_timeout = timeout;
        self
    }

    /// The longest server-requested wait (`Retry-After`, SSE `retry:`) the client waits out on
    /// its own (default 5 min); after a longer one the app gets `BackendUnavailable` and the
    /// client goes to `Failed`.
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn max_retry_after(mut self, limit: Duration) -> ClientBuilder {
        self.options.config.max_retry_after = limit;
        self
    }

    /// Bound of the outbound queue, queued plus unacked (default 50).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn queue_capacity(mut self, capacity: usize) -> ClientBuilder {
        self.options.config.queue_capacity = capacity;
        self
    }

    /// What a send does when the queue is full (default `DropOldest`).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn overflow(mut self, policy: OverflowPolicy) -> ClientBuilder {
        self.options.config.overflow = policy;
        self
    }

    /// Number of inbound dedup keys remembered (default 1024).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn dedup_capacity(mut self, capacity: usize) -> ClientBuilder {
        self.options.config.dedup_capacity = capacity;
        self
    }

    /// At most one `typing: true` per this interval (default 3 s).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn typing_throttle(mut self, interval: Duration) -> ClientBuilder {
        self.options.config.typing_throttle = interval;
        self
    }

    /// Largest inbound frame and HTTP body accepted (default 1 MiB), enforced by the engine and
    /// by the WebSocket and HTTP layers.
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn max_frame_bytes(mut self, bytes: usize) -> ClientBuilder {
        self.options.config.max_frame_bytes = bytes;
        self
    }

    /// Connect on the first send or typing (default true), or right after `build` (false).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn lazy_connect(mut self, lazy: bool) -> ClientBuilder {
        self.options.config.lazy_connect = lazy;
        self
    }

    /// Coalesce text deltas of one part for this long (default 0: every delta).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn delta_coalesce(mut self, window: Duration) -> ClientBuilder {
        self.options.config.delta_coalesce = window;
        self
    }

    /// Resume from a cursor persisted from an earlier run (`Envelope::cursor`).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn resume_cursor(mut self, cursor: Cursor) -> ClientBuilder {
        self.options.config.resume_cursor = Some(cursor);
        self
    }

    /// Keep the original wire event in `Envelope::raw` of every event (default false: only
    /// `Event::Unknown` carries it).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn keep_raw(mut self, keep: bool) -> ClientBuilder {
        self.options.config.keep_raw = keep;
        self
    }

    /// Validates everything and starts the client's driver task on the current tokio runtime.
    /// Nothing connects yet unless `lazy_connect(false)`.
    ///
    /// ```
    /// use chatwire::client::{BuildError, Client, DialectKind};
    /// let err = Client::builder(DialectKind::Native, "http://chat.example.com").build().unwrap_err();
    /// assert!(matches!(err, BuildError::Insecure { .. }));
    /// let err = Client::builder(DialectKind::Native, "not a url").build().unwrap_err();
    /// assert!(matches!(err, BuildError::InvalidUrl(_)));
    /// let err = Client::builder(DialectKind::Native, "https://chat.example.com")
    ///     .queue_capacity(0).build().unwrap_err();
    /// assert!(matches!(err, BuildError::Config(_)));
    /// ```
    pub fn build(self) -> Result<Client, BuildError> {
        let mut options = self.options;
        options.validate()?;
        if options.token_provider && self.token_provider.is_none() {
            return Err(BuildError::TokenProviderMissing);
        }
        options.token_provider = self.token_provider.is_some();
        let session =
            Session::from_options(&options, driver::random_seed(), driver::unix_ms_now())?;
        let capabilities = session.capabilities();
        let shared = Arc::new(Shared {
            state: watch::channel(session.state()).0,
            stats: driver::SharedStats::default(),
        });
        let driver_options = DriverOptions {
            max_frame_bytes: options.max_frame_bytes(),
            token_provider: self.token_provider,
            connect_at_start: !options.lazy_connect(),
            runtime: self.runtime,
        };
        let requests = driver::spawn(session, driver_options, shared.clone())
            .map_err(|e| BuildError::Runtime(e.to_string()))?;
        tracing::debug!(dialect = %options.dialect, url = %redact_url(&options.base_url), "client built");
        Ok(Client::from_parts(
            requests,
            shared,
            options.dialect,
            capabilities,
        ))
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("options", &self.options)
            .field("token_provider", &self.token_provider.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ConfigError;
    use std::time::Duration;

    #[test]
    fn debug_output_hides_credentials() {
        let b = ClientBuilder::new(
            DialectKind::Miptech,
            "https://u:pw@h.example/x?key=s3".into(),
        )
        .api_key("sk-live-123")
        .bearer_token("tok-456")
        .param("title", "demo")
        .param("header.Authorization", "Bearer tok-789")
        .header("X-Api-Key", "hdr-000");
        let text = format!("{b:?}");
        for secret in ["sk-live-123", "tok-456", "tok-789", "hdr-000", "pw", "s3"] {
            assert!(!text.contains(secret), "{secret} leaked in {text}");
        }
        assert!(text.contains("demo") && text.contains("X-Api-Key"));
    }

    #[test]
    fn setters_fill_the_options() {
        let b = ClientBuilder::new(DialectKind::Miptech, "https://h.example".into())
            .tenant("acme")
            .api_key("k")
            .bearer_token("t")
            .seed(9)
            .queue_capacity(7)
            .turn_timeout(Duration::from_secs(2))
            .stable_after(Duration::from_secs(3))
            .max_retry_after(Duration::from_secs(4))
            .token_provider(|| async { Ok::<_, std::io::Error>("x".to_string()) });
        let o = b.options();
        assert_eq!(o.tenant.as_deref(), Some("acme"));
        assert_eq!(o.api_key.as_deref(), Some("k"));
        assert_eq!(o.token(), Some("t"));
        assert_eq!(o.seed, Some(9));
        assert_eq!(o.config.queue_capacity, 7);
        assert_eq!(o.config.turn_timeout, Duration::from_secs(2));
        assert_eq!(o.config.stable_after, Duration::from_secs(3));
        assert_eq!(o.config.max_retry_after, Duration::from_secs(4));
        assert!(o.token_provider);
        let params = o.codec_params().unwrap();
        assert_eq!(params.get("tenant_id").map(String::as_str), Some("acme"));
        assert_eq!(params.get("token").map(String::as_str), Some("t"));
    }

    #[test]
    fn build_refuses_bad_options_before_needing_a_runtime() {
        let err = ClientBuilder::new(DialectKind::Native, "https://h.example".into())
            .turn_timeout(Duration::ZERO)
            .build()
            .unwrap_err();
        assert_eq!(
            err,
            BuildError::Config(ConfigError::ZeroDuration("turn_timeout"))
        );
        let err = ClientBuilder::new(DialectKind::Native, "https://h.example".into())
            .tenant("acme")
            .build()
            .unwrap_err();
        assert_eq!(
            err,
            BuildError::UnknownParam {
                dialect: DialectKind::Native,
                param: "tenant_id".into()
            }
        );
        let mut options = ClientOptions::new(DialectKind::Native, "https://h.example");
        options.token_provider = true;
        let err = ClientBuilder::from_options(options).build().unwrap_err();
        assert_eq!(err, BuildError::TokenProviderMissing);
        let err = ClientBuilder::new(DialectKind::Native, "https://h.example".into())
            .build()
            .unwrap_err();
        assert!(matches!(err, BuildError::Runtime(_)));
    }
}

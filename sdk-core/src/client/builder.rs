//! [`ClientBuilder`]: everything a [`Client`] needs — dialect, base URL, auth, dialect params,
//! every engine default of DESIGN §6 — validated once in [`ClientBuilder::build`].
//!
//! Validation refuses, with a typed [`BuildError`]: an unparsable URL, a scheme other than
//! `http`, `https`, `ws`, `wss`, a clear-text scheme (`http`, `ws`) towards a host that is not
//! loopback unless [`allow_insecure`](ClientBuilder::allow_insecure) is set, and zero durations or
//! limits ([`ConfigError`]). Credentials never appear in `Debug` output or error messages.

use super::{Client, DialectKind, Runtime, TokenProvider};
use crate::backoff::BackoffPolicy;
use crate::config::{Config, OverflowPolicy};
use crate::driver::{self, DriverOptions, Shared};
use crate::error::ConfigError;
use crate::ids::Cursor;
use crate::session::{Session, SessionOptions};
use std::collections::BTreeMap;
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
/// let client = Client::builder(DialectKind::Native, "http://10.0.0.8:8080")
///     .config(Config::default()) // first: it replaces every engine setting set before it
///     .allow_insecure(true) // clear-text http to a host that is not loopback
///     .tenant("acme")
///     .api_key("k-123")
///     .bearer_token("tok-456")
///     .token_provider(|| async { Ok::<_, std::io::Error>("fresh-token".to_string()) })
///     .header("X-Trace", "on")
///     .param("conversation_id", "support-42")
///     .seed(42)
///     .backoff(backoff)
///     .max_attempts(5)
///     .connect_timeout(Duration::from_secs(5))
///     .ready_timeout(Duration::from_secs(5))
///     .ping_interval(Duration::from_secs(20))
///     .pong_timeout(Duration::from_secs(5))
///     .idle_timeout(Duration::from_secs(60))
///     .turn_timeout(Duration::from_secs(120))
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
/// assert_eq!(client.dialect(), DialectKind::Native);
/// assert_eq!(client.state(), ConnectionState::Disconnected);
/// # Ok::<(), chatwire::client::BuildError>(())
/// ```
#[must_use = "call build() to get a client"]
pub struct ClientBuilder {
    dialect: DialectKind,
    base_url: String,
    params: BTreeMap<String, String>,
    headers: Vec<(String, String)>,
    config: Config,
    seed: Option<u64>,
    allow_insecure: bool,
    token_provider: Option<TokenProvider>,
    runtime: Option<Runtime>,
}

/// Why [`ClientBuilder::build`] refused the configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The base URL does not parse or has no host.
    #[error("invalid base URL: {0}")]
    InvalidUrl(String),
    /// The base URL's scheme is not `http`, `https`, `ws` or `wss`.
    #[error("unsupported URL scheme {0:?} (use https, wss, or http/ws for local servers)")]
    UnsupportedScheme(String),
    /// Clear-text `http://` or `ws://` to a host that is not loopback.
    #[error(
        "refusing unencrypted {scheme}:// to non-loopback host {host} (use https/wss, or allow_insecure(true))"
    )]
    Insecure {
        /// `http` or `ws`.
        scheme: String,
        /// The host.
        host: String,
    },
    /// A setting is out of range (zero timeout, zero capacity, bad backoff).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The dialect's codec is not part of this build.
    #[error("the {0} dialect is not available in this build")]
    DialectUnavailable(DialectKind),
    /// No tokio runtime is running, or the network stack could not be set up.
    #[error("{0}")]
    Runtime(String),
}

impl ClientBuilder {
    pub(super) fn new(dialect: DialectKind, base_url: String) -> ClientBuilder {
        ClientBuilder {
            dialect,
            base_url,
            params: BTreeMap::new(),
            headers: Vec::new(),
            config: Config::default(),
            seed: None,
            allow_insecure: false,
            token_provider: None,
            runtime: None,
        }
    }

    /// The tenant id (param `tenant_id`; miptech's `X-Tenant-ID` headers).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn tenant(self, tenant_id: impl Into<String>) -> ClientBuilder {
        self.param("tenant_id", tenant_id)
    }

    /// An API key (param `api_key`; each dialect puts it where its backend expects it).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn api_key(self, key: impl Into<String>) -> ClientBuilder {
        self.param("api_key", key)
    }

    /// A static bearer token (param `token`). See also [`token_provider`](Self::token_provider).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn bearer_token(self, token: impl Into<String>) -> ClientBuilder {
        self.param("token", token)
    }

    /// A header added to every WebSocket upgrade and HTTP request (replacing a header of the
    /// same name set by the dialect). Browsers cannot set upgrade headers; this is native only.
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> ClientBuilder {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// A dialect param: `slug`, `session_id`, `agent_id`, `model`, `conversation_id`,
    /// `chat_id`, `header.<Name>`, ... (see each dialect's docs). Every param defaults to a value
    /// `chatwire-mock` accepts.
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn param(mut self, key: impl Into<String>, value: impl Into<String>) -> ClientBuilder {
        self.params.insert(key.into(), value.into());
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
        self.allow_insecure = allow;
        self
    }

    /// Seeds the engine's RNG (jitter, client ids) for reproducible runs. Without it each
    /// client draws a random seed, so clients never back off in lockstep.
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn seed(mut self, seed: u64) -> ClientBuilder {
        self.seed = Some(seed);
        self
    }

    /// Replaces all engine settings at once. The seed is still taken from
    /// [`seed`](Self::seed) (or drawn at random), and the wall-clock anchor is set by the driver.
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn config(mut self, config: Config) -> ClientBuilder {
        self.config = config;
        self
    }

    /// Reconnect backoff (default: 1 s base, x2, 30 s cap, +-20 % jitter after the cap).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn backoff(mut self, backoff: BackoffPolicy) -> ClientBuilder {
        self.config.backoff = backoff;
        self
    }

    /// Consecutive failed attempts before `Failed` (default 10).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn max_attempts(mut self, attempts: u32) -> ClientBuilder {
        self.config.max_attempts = attempts;
        self
    }

    /// Time allowed to reach `Connected` (default 10 s).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn connect_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.config.connect_timeout = timeout;
        self
    }

    /// Time allowed from `Connected` to `Ready` (default 10 s).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn ready_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.config.ready_timeout = timeout;
        self
    }

    /// Idle time before the client pings (default 30 s).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn ping_interval(mut self, interval: Duration) -> ClientBuilder {
        self.config.ping_interval = interval;
        self
    }

    /// Time to wait for traffic after a ping (default 10 s).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn pong_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.config.pong_timeout = timeout;
        self
    }

    /// Silence after which a heartbeat-based connection is dead (default 45 s).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn idle_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.config.idle_timeout = timeout;
        self
    }

    /// Silence on an open turn before it fails with `Timeout` (default 30 s).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn turn_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.config.turn_timeout = timeout;
        self
    }

    /// Bound of the outbound queue, queued plus unacked (default 50).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn queue_capacity(mut self, capacity: usize) -> ClientBuilder {
        self.config.queue_capacity = capacity;
        self
    }

    /// What a send does when the queue is full (default `DropOldest`).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn overflow(mut self, policy: OverflowPolicy) -> ClientBuilder {
        self.config.overflow = policy;
        self
    }

    /// Number of inbound dedup keys remembered (default 1024).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn dedup_capacity(mut self, capacity: usize) -> ClientBuilder {
        self.config.dedup_capacity = capacity;
        self
    }

    /// At most one `typing: true` per this interval (default 3 s).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn typing_throttle(mut self, interval: Duration) -> ClientBuilder {
        self.config.typing_throttle = interval;
        self
    }

    /// Largest inbound frame and HTTP body accepted (default 1 MiB), enforced by the engine and
    /// by the WebSocket and HTTP layers.
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn max_frame_bytes(mut self, bytes: usize) -> ClientBuilder {
        self.config.max_frame_bytes = bytes;
        self
    }

    /// Connect on the first send or typing (default true), or right after `build` (false).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn lazy_connect(mut self, lazy: bool) -> ClientBuilder {
        self.config.lazy_connect = lazy;
        self
    }

    /// Coalesce text deltas of one part for this long (default 0: every delta).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn delta_coalesce(mut self, window: Duration) -> ClientBuilder {
        self.config.delta_coalesce = window;
        self
    }

    /// Resume from a cursor persisted from an earlier run (`Envelope::cursor`).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn resume_cursor(mut self, cursor: Cursor) -> ClientBuilder {
        self.config.resume_cursor = Some(cursor);
        self
    }

    /// Keep the original wire event in `Envelope::raw` (default true).
    ///
    /// See the [example](ClientBuilder#example) using every setter.
    pub fn keep_raw(mut self, keep: bool) -> ClientBuilder {
        self.config.keep_raw = keep;
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
        let base_url = validate_url(&self.base_url, self.allow_insecure)?;
        let mut config = self.config;
        config.seed = self.seed.unwrap_or_else(driver::random_seed);
        config.unix_ms_at_epoch = driver::unix_ms_now();
        config.validate()?;
        let dialect = self.dialect.create(&base_url, &self.params, config.seed)?;
        let max_frame_bytes = config.max_frame_bytes;
        let connect_at_start = !config.lazy_connect;
        let mut session_options = SessionOptions::with_headers(self.headers);
        session_options.token_provider = self.token_provider.is_some();
        let session = Session::new(config, dialect, session_options)?;
        let capabilities = session.capabilities();
        let shared = Arc::new(Shared {
            state: watch::channel(session.state()).0,
            stats: driver::SharedStats::default(),
        });
        let options = DriverOptions {
            max_frame_bytes,
            token_provider: self.token_provider,
            connect_at_start,
            runtime: self.runtime,
        };
        let requests = driver::spawn(session, options, shared.clone())
            .map_err(|e| BuildError::Runtime(e.to_string()))?;
        tracing::debug!(dialect = %self.dialect, url = %driver::redact_url(&base_url), "client built");
        Ok(Client::from_parts(
            requests,
            shared,
            self.dialect,
            capabilities,
        ))
    }
}

/// Checks scheme, host and transport security; returns the URL without a trailing `/`.
fn validate_url(raw: &str, allow_insecure: bool) -> Result<String, BuildError> {
    let trimmed = raw.trim().trim_end_matches('/');
    let url = url::Url::parse(trimmed).map_err(|e| BuildError::InvalidUrl(e.to_string()))?;
    let scheme = url.scheme().to_string();
    if !matches!(scheme.as_str(), "http" | "https" | "ws" | "wss") {
        return Err(BuildError::UnsupportedScheme(scheme));
    }
    let host = url
        .host()
        .ok_or_else(|| BuildError::InvalidUrl("the URL has no host".into()))?;
    let loopback = match host {
        url::Host::Domain(name) => {
            let name = name.to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    if matches!(scheme.as_str(), "http" | "ws") && !loopback && !allow_insecure {
        return Err(BuildError::Insecure {
            scheme,
            host: host.to_string(),
        });
    }
    Ok(trimmed.to_string())
}

/// Param keys whose values are credentials.
fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.starts_with("header.")
        || ["key", "token", "secret", "password", "auth"]
            .iter()
            .any(|s| key.contains(s))
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let params: BTreeMap<&str, &str> = self
            .params
            .iter()
            .map(|(k, v)| {
                let shown = if is_secret(k) { "***" } else { v.as_str() };
                (k.as_str(), shown)
            })
            .collect();
        let headers: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("ClientBuilder")
            .field("dialect", &self.dialect)
            .field("base_url", &driver::redact_url(&self.base_url))
            .field("params", &params)
            .field("headers", &headers)
            .field("token_provider", &self.token_provider.is_some())
            .field("seed", &self.seed)
            .field("allow_insecure", &self.allow_insecure)
            .field("config", &self.config)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_for_scheme_host_and_security() {
        assert_eq!(
            validate_url("http://127.0.0.1:8080/", false),
            Ok("http://127.0.0.1:8080".into())
        );
        assert!(validate_url("ws://localhost:1", false).is_ok());
        assert!(validate_url("http://[::1]:1", false).is_ok());
        assert!(validate_url("https://chat.example.com/api", false).is_ok());
        assert!(matches!(
            validate_url("http://10.0.0.8", false),
            Err(BuildError::Insecure { .. })
        ));
        assert!(validate_url("http://10.0.0.8", true).is_ok());
        assert!(matches!(
            validate_url("ftp://x.example", false),
            Err(BuildError::UnsupportedScheme(s)) if s == "ftp"
        ));
        assert!(matches!(
            validate_url("://nope", false),
            Err(BuildError::InvalidUrl(_))
        ));
    }

    #[test]
    fn debug_output_hides_credentials() {
        let b = ClientBuilder::new(
            DialectKind::Native,
            "https://u:pw@h.example/x?key=s3".into(),
        )
        .api_key("sk-live-123")
        .bearer_token("tok-456")
        .param("slug", "demo")
        .param("header.Authorization", "Bearer tok-789")
        .header("X-Api-Key", "hdr-000");
        let text = format!("{b:?}");
        for secret in ["sk-live-123", "tok-456", "tok-789", "hdr-000", "pw", "s3"] {
            assert!(!text.contains(secret), "{secret} leaked in {text}");
        }
        assert!(text.contains("demo") && text.contains("X-Api-Key"));
    }

    #[test]
    fn build_refuses_zero_limits_and_needs_a_runtime() {
        let err = ClientBuilder::new(DialectKind::Native, "https://h.example".into())
            .turn_timeout(Duration::ZERO)
            .build()
            .unwrap_err();
        assert_eq!(
            err,
            BuildError::Config(ConfigError::ZeroDuration("turn_timeout"))
        );
        let err = ClientBuilder::new(DialectKind::Native, "https://h.example".into())
            .build()
            .unwrap_err();
        assert!(matches!(err, BuildError::Runtime(_)));
    }
}

//! Server configuration: [`MockConfig`] with builder-style setters and the defaults every
//! dialect works with out of the box (no tenant, key or token required unless configured).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::faults::FaultSpec;

/// Configuration of a mock server. `MockConfig::default()` binds `127.0.0.1:0` (a free port) and
/// accepts every tenant, slug, agent, model, session and conversation without credentials.
///
/// ```
/// use std::time::Duration;
/// use chatwire_mock::MockConfig;
///
/// let config = MockConfig::default()
///     .seed(7)
///     .token_delay(Duration::from_millis(1))
///     .api_key("secret")
///     .rate_limit(10, Duration::from_secs(60));
/// assert_eq!(config.bind_addr().ip().to_string(), "127.0.0.1");
/// ```
#[derive(Debug, Clone)]
pub struct MockConfig {
    pub(crate) bind: SocketAddr,
    pub(crate) seed: u64,
    pub(crate) token_delay: Duration,
    pub(crate) init_delay: Duration,
    pub(crate) slow_delay: Duration,
    pub(crate) api_key: Option<String>,
    pub(crate) bearer_token: Option<String>,
    pub(crate) tenants: Option<Vec<String>>,
    pub(crate) heartbeat_interval: Duration,
    pub(crate) ping_interval: Duration,
    pub(crate) rate_limit_messages: u32,
    pub(crate) rate_limit_window: Duration,
    pub(crate) upload_max_bytes: usize,
    pub(crate) upload_types: Vec<String>,
    pub(crate) retain_events: usize,
    pub(crate) first_id: u64,
    pub(crate) faults: Option<FaultSpec>,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            seed: 0,
            token_delay: Duration::from_millis(10),
            init_delay: Duration::from_millis(50),
            slow_delay: Duration::from_secs(2),
            api_key: None,
            bearer_token: None,
            tenants: None,
            heartbeat_interval: Duration::from_secs(15),
            ping_interval: Duration::from_secs(30),
            rate_limit_messages: 10,
            rate_limit_window: Duration::from_secs(60),
            upload_max_bytes: 10 * 1024 * 1024,
            upload_types: [
                "text/plain",
                "text/markdown",
                "text/csv",
                "text/html",
                "application/json",
                "application/pdf",
                "image/png",
                "image/jpeg",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
            retain_events: 10_000,
            first_id: 1,
            faults: None,
        }
    }
}

impl MockConfig {
    /// Address to bind (default `127.0.0.1:0`, a free port).
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// let addr: SocketAddr = "0.0.0.0:8080".parse().unwrap();
    /// let config = chatwire_mock::MockConfig::default().bind(addr);
    /// assert_eq!(config.bind_addr(), addr);
    /// ```
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// The configured bind address.
    ///
    /// ```
    /// let config = chatwire_mock::MockConfig::default();
    /// assert_eq!(config.bind_addr().to_string(), "127.0.0.1:0");
    /// ```
    pub fn bind_addr(&self) -> SocketAddr {
        self.bind
    }

    /// Seed for fault injection when a fault set carries no seed of its own (default 0).
    ///
    /// ```
    /// // Same seed, same order of connections and requests: same faults.
    /// let config = chatwire_mock::MockConfig::default().seed(7);
    /// # let _ = config;
    /// ```
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Delay between streamed tokens of the scripted agent (default 10 ms).
    ///
    /// ```
    /// use std::time::Duration;
    /// let fast = chatwire_mock::MockConfig::default().token_delay(Duration::from_millis(1));
    /// # let _ = fast;
    /// ```
    pub fn token_delay(mut self, delay: Duration) -> Self {
        self.token_delay = delay;
        self
    }

    /// Delay between miptech's `connection_established` and `connection_ready` (default 50 ms).
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = chatwire_mock::MockConfig::default().init_delay(Duration::from_millis(10));
    /// # let _ = config;
    /// ```
    pub fn init_delay(mut self, delay: Duration) -> Self {
        self.init_delay = delay;
        self
    }

    /// How long `/slow` waits before its first token (default 2 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = chatwire_mock::MockConfig::default().slow_delay(Duration::from_millis(200));
    /// # let _ = config;
    /// ```
    pub fn slow_delay(mut self, delay: Duration) -> Self {
        self.slow_delay = delay;
        self
    }

    /// Require this `X-API-Key` on miptech requests (header, or `api_key` query on the WebSocket).
    ///
    /// ```
    /// // miptech requests without `X-API-Key: secret` now get 401.
    /// let config = chatwire_mock::MockConfig::default().api_key("secret");
    /// # let _ = config;
    /// ```
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Require this bearer token on openai and ai-sdk requests, native `hello`s and chat-v2 sockets.
    ///
    /// ```
    /// // Clients must send `Authorization: Bearer t0ken` (native: or `token` in `hello`).
    /// let config = chatwire_mock::MockConfig::default().bearer_token("t0ken");
    /// # let _ = config;
    /// ```
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_token = Some(token.into());
        self
    }

    /// Accept only these miptech tenants (default: every tenant).
    ///
    /// ```
    /// let config = chatwire_mock::MockConfig::default().tenants(["acme", "globex"]);
    /// # let _ = config;
    /// ```
    pub fn tenants<I, S>(mut self, tenants: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tenants = Some(tenants.into_iter().map(Into::into).collect());
        self
    }

    /// Interval of the SSE heartbeat comment (default 15 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = chatwire_mock::MockConfig::default().heartbeat_interval(Duration::from_secs(1));
    /// # let _ = config;
    /// ```
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.heartbeat_interval = interval;
        self
    }

    /// Interval of server pings on native sockets, announced as `heartbeat_ms` (default 30 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = chatwire_mock::MockConfig::default().ping_interval(Duration::from_secs(5));
    /// # let _ = config;
    /// ```
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.ping_interval = interval;
        self
    }

    /// chat-interfaces rate limit: `messages` per `window` per session (default 10 per minute).
    ///
    /// ```
    /// use std::time::Duration;
    /// // The 3rd message within a second gets 429 with Retry-After.
    /// let config = chatwire_mock::MockConfig::default().rate_limit(2, Duration::from_secs(1));
    /// # let _ = config;
    /// ```
    pub fn rate_limit(mut self, messages: u32, window: Duration) -> Self {
        self.rate_limit_messages = messages;
        self.rate_limit_window = window;
        self
    }

    /// chat-interfaces upload limits: maximum size in bytes and accepted MIME types
    /// (default 10 MiB; text, markdown, CSV, HTML, JSON, PDF, PNG, JPEG, DOCX).
    ///
    /// ```
    /// let config = chatwire_mock::MockConfig::default().upload_limits(1024, ["text/plain"]);
    /// # let _ = config;
    /// ```
    pub fn upload_limits<I, S>(mut self, max_bytes: usize, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.upload_max_bytes = max_bytes;
        self.upload_types = types.into_iter().map(Into::into).collect();
        self
    }

    /// How many events each conversation retains for resume (default 10 000, at least 1000).
    ///
    /// ```
    /// let config = chatwire_mock::MockConfig::default().retain_events(50_000);
    /// # let _ = config;
    /// ```
    pub fn retain_events(mut self, events: usize) -> Self {
        self.retain_events = events.max(1000);
        self
    }

    /// The number of the first id the server hands out (default 1): conversations, turns and
    /// messages are named `{prefix}-{n}` from a counter shared by every dialect. Starting it at
    /// 9 990 makes ids cross the digit boundary (`msg-9999` -> `msg-10000`) within a short run.
    ///
    /// ```
    /// let config = chatwire_mock::MockConfig::default().first_id(9_990);
    /// # let _ = config;
    /// ```
    pub fn first_id(mut self, first: u64) -> Self {
        self.first_id = first.max(1);
        self
    }

    /// A fault set active from the start (as if posted to `/_mock/faults`).
    ///
    /// ```
    /// use chatwire_mock::{FaultSpec, MockConfig};
    /// let spec = FaultSpec { restart_after_ms: Some(500), restart_refuse_ms: Some(100), ..FaultSpec::default() };
    /// let config = MockConfig::default().faults(spec); // restarts every 500 ms once spawned
    /// # let _ = config;
    /// ```
    pub fn faults(mut self, spec: FaultSpec) -> Self {
        self.faults = Some(spec);
        self
    }
}

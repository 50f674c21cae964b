//! [`ClientOptions`]: everything a client needs — dialect, base URL, dialect params, headers,
//! auth, every engine default of DESIGN §6, seed — as one plain value that every driver and
//! binding shares. It needs no runtime and no feature: JS, C and scenario files pass it as one
//! camelCase JSON object ([`ClientOptions::from_json`]), Rust code through
//! `chatwire::client::ClientBuilder` (feature `tokio`) or by setting fields.
//!
//! Guarantees: [`validate`](ClientOptions::validate) refuses, with a typed [`BuildError`], an
//! unparsable URL, a scheme other than `http`, `https`, `ws`, `wss`, clear-text `http`/`ws` to a
//! host that is not loopback unless `allow_insecure`, zero durations and limits, params the
//! dialect does not read, typed options contradicting params, and header names or values that
//! cannot go on the wire. Credentials (API key, bearer token, secret-looking params, header
//! values, URL user info and query) never appear in `Debug` output.

mod check;
mod json;
mod weburl;

use crate::config::Config;
use crate::dialect::{Dialect, DialectKind, Params};
use crate::error::BuildError;
use std::fmt;

pub(crate) use check::redact_url;

/// Options of one client. Start from [`ClientOptions::new`] or [`ClientOptions::from_json`],
/// change fields, then [`validate`](ClientOptions::validate). Missing JSON keys and untouched
/// fields take the defaults of DESIGN §6 ([`Config::default`]).
///
/// Serialization (serde, camelCase, durations as `...Ms` milliseconds) writes every field,
/// **credentials included** (`apiKey`, `bearerToken`, secret params and header values), so a
/// round trip is lossless; treat the JSON as a secret. `Debug` redacts them.
///
/// ```
/// use chatwire::{BuildError, ClientOptions, DialectKind};
/// let json = r#"{"dialect":"openai","baseUrl":"http://127.0.0.1:9","params":{"model":"m"},"bearerToken":"s3cret"}"#;
/// let options = ClientOptions::from_json(json)?;
/// options.validate()?;
/// assert_eq!(options.dialect, DialectKind::Openai);
/// assert!(!format!("{options:?}").contains("s3cret"));
///
/// let remote = ClientOptions::from_json(&json.replace("http://127.0.0.1:9", "http://example.com"))?;
/// assert!(matches!(remote.validate(), Err(BuildError::Insecure { .. })));
///
/// let mut options = ClientOptions::new(DialectKind::Native, "https://chat.example.com");
/// options.config.queue_capacity = 100;
/// options.seed = Some(7);
/// assert_eq!(options.engine_config().seed, 7);
/// assert_eq!(options.dialect_codec()?.name(), "native");
/// # Ok::<(), BuildError>(())
/// ```
#[derive(Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(from = "json::Wire", into = "json::Wire")]
#[non_exhaustive]
pub struct ClientOptions {
    /// The backend dialect (JSON `dialect`: `"native"`, `"chat-v2"`, ...).
    pub dialect: DialectKind,
    /// `https://host[:port][/prefix]` (JSON `baseUrl`).
    pub base_url: String,
    /// Dialect params (`slug`, `model`, `header.<Name>`, ...; see [`DialectKind::params`]).
    pub params: Params,
    /// Headers added to every WebSocket upgrade and HTTP request, replacing same-named ones set
    /// by the dialect (JSON: an object `{"Name": "value"}`). Browsers cannot set upgrade headers.
    pub headers: Vec<(String, String)>,
    /// API key (param `api_key`: each dialect puts it where its backend expects it).
    pub api_key: Option<String>,
    /// Tenant id (param `tenant_id`, miptech).
    pub tenant: Option<String>,
    /// A fixed bearer token (param `token`).
    pub bearer_token: Option<String>,
    /// A token provider function is present (the function itself belongs to the driver: in
    /// Rust `ClientBuilder::token_provider`, feature `tokio`).
    pub token_provider: bool,
    /// Engine settings. `seed` and `unix_ms_at_epoch` inside are ignored: see
    /// [`engine_config`](Self::engine_config).
    pub config: Config,
    /// RNG seed (jitter, client ids, native's default conversation). `None`: the driver draws
    /// one, so clients never back off in lockstep.
    pub seed: Option<u64>,
    /// Allow clear-text `http://` and `ws://` to hosts that are not loopback (default false).
    pub allow_insecure: bool,
}

impl ClientOptions {
    /// Options for `dialect` at `base_url`, everything else at its default.
    ///
    /// ```
    /// use chatwire::{ClientOptions, DialectKind};
    /// let options = ClientOptions::new(DialectKind::Parlant, "http://localhost:8800");
    /// assert_eq!(options.config.queue_capacity, 50);
    /// assert!(options.validate().is_ok());
    /// ```
    pub fn new(dialect: DialectKind, base_url: impl Into<String>) -> ClientOptions {
        ClientOptions {
            dialect,
            base_url: base_url.into(),
            params: Params::new(),
            headers: Vec::new(),
            api_key: None,
            tenant: None,
            bearer_token: None,
            token_provider: false,
            config: Config::default(),
            seed: None,
            allow_insecure: false,
        }
    }

    /// Parses camelCase JSON. `dialect` and `baseUrl` are required; every other key is optional
    /// and defaults as in [`ClientOptions::new`]. Unknown keys are refused
    /// ([`BuildError::UnknownOption`] names the key), as are syntax and type errors
    /// ([`BuildError::InvalidJson`]) and unknown dialects ([`BuildError::UnknownDialect`]).
    /// Parsing does not [`validate`](Self::validate).
    ///
    /// Keys: `dialect`, `baseUrl`, `params`, `headers`, `apiKey`, `tenant`, `bearerToken`,
    /// `tokenProvider`, `seed`, `allowInsecure`, `backoff` (`{baseMs, factor, capMs, jitter,
    /// minDelayMs, restartMaxMs, rateLimitMinMs, initializingMinMs, networkMinMs}`),
    /// `maxAttempts`, `stableAfterMs`, `connectTimeoutMs`, `readyTimeoutMs`, `pingIntervalMs`,
    /// `pongTimeoutMs`, `idleTimeoutMs`, `ackTimeoutMs`, `turnTimeoutMs`, `maxRetryAfterMs`,
    /// `queueCapacity`, `overflow`
    /// (`"dropOldest"` | `"rejectNew"`), `dedupCapacity`, `typingThrottleMs`, `maxFrameBytes`,
    /// `lazyConnect`, `deltaCoalesceMs`, `resumeCursor`, `keepRaw`.
    ///
    /// ```
    /// use chatwire::{BuildError, ClientOptions, OverflowPolicy};
    /// use std::time::Duration;
    /// let options = ClientOptions::from_json(r#"{
    ///     "dialect": "chat-interfaces", "baseUrl": "https://chat.example.com",
    ///     "params": {"slug": "demo"}, "headers": {"X-Trace": "on"},
    ///     "turnTimeoutMs": 60000, "overflow": "rejectNew", "backoff": {"capMs": 10000}
    /// }"#)?;
    /// assert_eq!(options.config.turn_timeout, Duration::from_secs(60));
    /// assert_eq!(options.config.overflow, OverflowPolicy::RejectNew);
    /// assert_eq!(options.config.backoff.cap, Duration::from_secs(10));
    /// assert_eq!(options.headers, [("X-Trace".to_string(), "on".to_string())]);
    /// let err = ClientOptions::from_json(r#"{"dialect":"native","baseUrl":"x","backoff":{"cap":1}}"#);
    /// assert_eq!(err, Err(BuildError::UnknownOption("backoff.cap".into())));
    /// # Ok::<(), BuildError>(())
    /// ```
    pub fn from_json(json: &str) -> Result<ClientOptions, BuildError> {
        json::from_json(json)
    }

    /// The options as camelCase JSON, credentials included (see the type's docs).
    ///
    /// ```
    /// use chatwire::{ClientOptions, DialectKind};
    /// let options = ClientOptions::new(DialectKind::Native, "http://127.0.0.1:8080");
    /// assert_eq!(ClientOptions::from_json(&options.to_json()), Ok(options));
    /// ```
    pub fn to_json(&self) -> String {
        json::to_json(self)
    }

    /// Checks everything a client would refuse (see the module docs); `Ok` means
    /// [`engine_config`](Self::engine_config) is valid and
    /// [`dialect_codec`](Self::dialect_codec) succeeds.
    ///
    /// ```
    /// use chatwire::{BuildError, ClientOptions, DialectKind};
    /// let mut options = ClientOptions::new(DialectKind::Native, "https://chat.example.com");
    /// options.params.insert("slug".into(), "demo".into());
    /// assert!(matches!(options.validate(), Err(BuildError::UnknownParam { .. })));
    /// ```
    pub fn validate(&self) -> Result<(), BuildError> {
        if !self.dialect.is_available() {
            return Err(BuildError::DialectUnavailable(self.dialect));
        }
        self.checked_url()?;
        self.engine_config().validate()?;
        check::headers(&self.headers)?;
        self.codec_params().map(|_| ())
    }

    /// The engine's config: [`config`](Self::config) with `seed` from [`seed`](Self::seed)
    /// (0 when `None`: a driver draws a seed into `seed` before calling this). The driver also
    /// sets `unix_ms_at_epoch` from its wall clock.
    pub fn engine_config(&self) -> Config {
        let mut config = self.config.clone();
        config.seed = self.seed.unwrap_or(0);
        config
    }

    /// Validates and builds the dialect's codec for the base URL (trailing `/` removed) and
    /// [`codec_params`](Self::codec_params), seeded like the engine.
    pub fn dialect_codec(&self) -> Result<Box<dyn Dialect>, BuildError> {
        self.validate()?;
        let url = self.checked_url()?;
        let params = self.codec_params()?;
        Ok(self.dialect.codec(&url, &params, self.seed.unwrap_or(0)))
    }

    /// The params the codec receives: [`params`](Self::params) plus `api_key`, `tenant_id` and
    /// `token` from the typed options. Refuses params the dialect does not read
    /// ([`BuildError::UnknownParam`]) and typed options that contradict a param
    /// ([`BuildError::Conflict`]).
    pub fn codec_params(&self) -> Result<Params, BuildError> {
        let mut params = self.params.clone();
        let typed = [
            ("apiKey", &self.api_key, "api_key", None),
            ("tenant", &self.tenant, "tenant_id", None),
            (
                "bearerToken",
                &self.bearer_token,
                "token",
                Some("bearer_token"),
            ),
        ];
        for (option, value, param, alias) in typed {
            let Some(value) = value else { continue };
            for key in std::iter::once(param).chain(alias) {
                if params.get(key).is_some_and(|v| v != value) {
                    return Err(BuildError::Conflict { option, param: key });
                }
            }
            params.insert(param.to_string(), value.clone());
        }
        if let Some(key) = params.keys().find(|k| !self.dialect.accepts_param(k)) {
            return Err(BuildError::UnknownParam {
                dialect: self.dialect,
                param: key.clone(),
            });
        }
        Ok(params)
    }

    /// The fixed bearer token: `bearer_token`, else param `token`, else param `bearer_token`.
    pub fn token(&self) -> Option<&str> {
        self.bearer_token
            .as_deref()
            .or_else(|| self.params.get("token").map(String::as_str))
            .or_else(|| self.params.get("bearer_token").map(String::as_str))
            .filter(|t| !t.trim().is_empty())
    }

    /// Largest inbound frame and HTTP body accepted (`config.max_frame_bytes`).
    pub fn max_frame_bytes(&self) -> usize {
        self.config.max_frame_bytes
    }

    /// Whether the client connects on the first send only (`config.lazy_connect`).
    pub fn lazy_connect(&self) -> bool {
        self.config.lazy_connect
    }

    /// The base URL checked for scheme, host and transport security, without a trailing `/`.
    pub fn checked_url(&self) -> Result<String, BuildError> {
        check::url(&self.base_url, self.allow_insecure)
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "***");
        // `params` is sorted already; shown as a map, secrets hidden (no second map type: each
        // one costs the WebAssembly build its own copy of the B-tree code).
        let params = RedactedParams(&self.params);
        let headers: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("ClientOptions")
            .field("dialect", &self.dialect)
            .field("base_url", &redact_url(&self.base_url))
            .field("params", &params)
            .field("headers", &headers)
            .field("api_key", &hidden(&self.api_key))
            .field("tenant", &self.tenant)
            .field("bearer_token", &hidden(&self.bearer_token))
            .field("token_provider", &self.token_provider)
            .field("seed", &self.seed)
            .field("allow_insecure", &self.allow_insecure)
            .field("config", &self.config)
            .finish()
    }
}

/// `Debug` of params as a map, secret values shown as `***`.
struct RedactedParams<'a>(&'a Params);

impl fmt::Debug for RedactedParams<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| {
                let shown = if check::is_secret(k) {
                    "***"
                } else {
                    v.as_str()
                };
                (k.as_str(), shown)
            }))
            .finish()
    }
}

#[cfg(test)]
mod tests;

//! Typed errors of the engine API and of client options. A normal close is an event, not an
//! error; these are returned only for misuse (wrong call for the state, time going backwards, bad
//! config) and for refusals the caller must act on (queue full under `RejectNew`). Every error
//! maps to a stable [`ErrorCode`](crate::ErrorCode) through its `code()` method.

use crate::Instant;
use crate::dialect::{DialectKind, UnknownDialect};

/// An invalid [`Config`](crate::Config).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A duration that must be positive is zero.
    #[error("config: {0} must be greater than zero")]
    ZeroDuration(&'static str),
    /// A capacity or count that must be positive is zero.
    #[error("config: {0} must be greater than zero")]
    ZeroCapacity(&'static str),
    /// The backoff policy is inconsistent (zero base, cap below base, jitter outside 0..=1).
    #[error("config: backoff needs base > 0, cap >= base and jitter within 0..=1")]
    Backoff,
}

/// A call into the engine that could not be honoured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The engine was closed; it accepts no more commands.
    #[error("the client is closed")]
    Closed,
    /// `now` is earlier than a previous `now` (the driver's clock must be monotonic).
    #[error(
        "time went backwards: {} ms is before {} ms",
        now.as_millis(),
        last.as_millis()
    )]
    TimeWentBackwards {
        /// The offending instant.
        now: Instant,
        /// The latest instant seen before.
        last: Instant,
    },
    /// The outbound queue is full and the policy is `RejectNew`.
    #[error("the outbound queue is full ({capacity} messages)")]
    QueueFull {
        /// The configured capacity.
        capacity: usize,
    },
    /// The command is not supported by this backend dialect.
    #[error("the {dialect} dialect does not support {what}")]
    Unsupported {
        /// Dialect name.
        dialect: &'static str,
        /// The unsupported feature.
        what: &'static str,
    },
    /// The message is larger than `max_frame_bytes`.
    #[error("message of {size} bytes exceeds the {limit}-byte limit")]
    TooLarge {
        /// Size of the message.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// `discard`: the message was already handed to the transport and cannot be taken back.
    #[error("message {client_id} was already sent and cannot be discarded")]
    AlreadySent {
        /// The message.
        client_id: crate::ids::ClientId,
    },
    /// `discard`: no queued message has this id (never sent, or already settled).
    #[error("no queued message {client_id}")]
    UnknownMessage {
        /// The id given.
        client_id: crate::ids::ClientId,
    },
}

/// A dialect could not encode a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DialectError {
    /// The dialect cannot express this command.
    #[error("not supported by this dialect: {0}")]
    Unsupported(&'static str),
    /// The dialect has no live transport to send on (the engine only encodes when ready, so this
    /// indicates a dialect bug; the engine treats it as a lost connection).
    #[error("no live connection")]
    NotConnected,
    /// The command's content cannot be encoded.
    #[error("cannot encode: {0}")]
    Invalid(String),
}

/// Why [`ClientOptions`](crate::ClientOptions) (or a client built from them) was refused.
///
/// ```
/// use chatwire::{BuildError, ClientOptions, ErrorCode};
/// let err = ClientOptions::from_json(r#"{"dialect":"native","baseUrl":"http://127.0.0.1:1","colour":1}"#)
///     .unwrap_err();
/// assert_eq!(err, BuildError::UnknownOption("colour".into()));
/// assert_eq!(err.code(), ErrorCode::InvalidConfig);
/// ```
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
        "refusing unencrypted {scheme}:// to non-loopback host {host} (use https/wss, or allow insecure transport: allow_insecure(true), \"allowInsecure\": true)"
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
    /// The dialect name is not in the registry.
    #[error(transparent)]
    UnknownDialect(#[from] UnknownDialect),
    /// A param the dialect does not read (it would be silently ignored).
    #[error("the {dialect} dialect has no param {param:?} (its params: {})", dialect.params().join(", "))]
    UnknownParam {
        /// The dialect.
        dialect: DialectKind,
        /// The param given.
        param: String,
    },
    /// A typed option and a dialect param say different things (`bearerToken` and param
    /// `token`, `apiKey` and `api_key`, `tenant` and `tenant_id`).
    #[error("option {option} conflicts with param {param:?}")]
    Conflict {
        /// The typed option (`bearerToken`, `apiKey`, `tenant`).
        option: &'static str,
        /// The param holding another value.
        param: &'static str,
    },
    /// A header name that is not an HTTP token, or a value with a line break or NUL.
    #[error("invalid header {0:?}")]
    InvalidHeader(String),
    /// A JSON key that is not an option (`backoff.<key>` inside the backoff object).
    #[error("unknown option {0:?}")]
    UnknownOption(String),
    /// The options JSON does not parse or a value has the wrong type.
    #[error("invalid options JSON: {0}")]
    InvalidJson(String),
    /// `tokenProvider` is set but the client was given no token provider function.
    #[error("tokenProvider is set but no token provider function was given")]
    TokenProviderMissing,
    /// The dialect's codec is not part of this build: its cargo feature `dialect-<name>` is off
    /// (an npm entry point such as `chatwire/openai` holds one dialect only).
    #[error("the {0} dialect is not compiled into this build (cargo feature dialect-{0})")]
    DialectUnavailable(DialectKind),
    /// No async runtime is running, or the network stack could not be set up.
    #[error("{0}")]
    Runtime(String),
}

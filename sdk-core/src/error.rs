//! Typed errors of the engine API. A normal close is an event, not an error; these are returned
//! only for misuse (wrong call for the state, time going backwards, bad config) and for refusals
//! the caller must act on (queue full under `RejectNew`).

use crate::Instant;

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
    #[error("time went backwards: {now:?} is before {last:?}")]
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

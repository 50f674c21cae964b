//! [`ErrorCode`]: the one table of stable error codes. Every error type of the crate maps onto it
//! (`code()`), and every binding maps the same names (JS `ChatwireError.code`, the uniffi error
//! enum, the C status), so an error means the same thing in Rust, JS, Kotlin, Python and C.
//!
//! Guarantees: names are SCREAMING_SNAKE, unique and never change meaning once published; new
//! codes may be added (the enum is `#[non_exhaustive]`, bindings must keep a fallback). The
//! `code()` mappings are exhaustive matches, so a new error variant does not compile until it
//! has a code.

use crate::error::{BuildError, ConfigError, DialectError, EngineError};
use crate::event::ErrorKind;
use std::fmt;

/// Declares [`ErrorCode`], its names and `ALL` from one list.
macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// A stable, binding-independent error category (see the [module docs](self)).
        ///
        /// ```
        /// use chatwire::{ErrorCode, EngineError};
        /// let code = EngineError::QueueFull { capacity: 50 }.code();
        /// assert_eq!(code, ErrorCode::QueueFull);
        /// assert_eq!(code.as_str(), "QUEUE_FULL");
        /// assert_eq!(code.to_string(), "QUEUE_FULL");
        /// assert!(code.retryable());
        /// assert_eq!(serde_json::to_string(&code).unwrap(), "\"QUEUE_FULL\"");
        /// assert_eq!(ErrorCode::from_name("CLOSED"), Some(ErrorCode::Closed));
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The stable SCREAMING_SNAKE name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $name,)*
                }
            }
        }
    };
}

codes! {
    /// The client or engine is closed; it accepts no more commands.
    Closed = "CLOSED",
    /// The outbound queue is full (policy `RejectNew`): retry later.
    QueueFull = "QUEUE_FULL",
    /// A message or frame exceeds `max_frame_bytes`.
    TooLarge = "TOO_LARGE",
    /// The backend's dialect cannot do this (audio on a text-only backend, ...).
    Unsupported = "UNSUPPORTED",
    /// Client options are invalid (URL, security, limits, params, JSON).
    InvalidConfig = "INVALID_CONFIG",
    /// An argument of the call is invalid.
    InvalidInput = "INVALID_INPUT",
    /// The message will not be delivered (its receipt failed).
    DeliveryFailed = "DELIVERY_FAILED",
    /// The message was already handed to the transport and cannot be taken back.
    AlreadySent = "ALREADY_SENT",
    /// No message with this client id is queued or in flight.
    NotFound = "NOT_FOUND",
    /// Authentication or authorization failed.
    Auth = "AUTH",
    /// Network trouble (connect, reset, timeout).
    Network = "NETWORK",
    /// The backend rate-limited the client.
    RateLimited = "RATE_LIMITED",
    /// The backend reported an error of its own.
    Server = "SERVER",
    /// Malformed, oversized or unexpected wire data.
    Protocol = "PROTOCOL",
    /// A backend error outside every other category.
    Other = "OTHER",
    /// A bug or an environment problem inside chatwire (no runtime, TLS setup failed).
    Internal = "INTERNAL",
}

impl ErrorCode {
    /// The code with this name (exact, SCREAMING_SNAKE), if any.
    pub fn from_name(name: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_str() == name)
    }

    /// Whether retrying the same operation later can succeed without changing anything (the
    /// default for the category; an `Error` event carries its own `retryable` flag).
    pub fn retryable(self) -> bool {
        matches!(
            self,
            ErrorCode::QueueFull | ErrorCode::Network | ErrorCode::RateLimited | ErrorCode::Server
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        ErrorCode::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown error code {name:?}")))
    }
}

impl EngineError {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            EngineError::Closed => ErrorCode::Closed,
            // The driver passed a `now` earlier than a previous one: a bad argument.
            EngineError::TimeWentBackwards { .. } => ErrorCode::InvalidInput,
            EngineError::QueueFull { .. } => ErrorCode::QueueFull,
            EngineError::Unsupported { .. } => ErrorCode::Unsupported,
            EngineError::TooLarge { .. } => ErrorCode::TooLarge,
            EngineError::AlreadySent { .. } => ErrorCode::AlreadySent,
            EngineError::UnknownMessage { .. } => ErrorCode::NotFound,
        }
    }
}

impl ConfigError {
    /// The stable code of this error: always [`ErrorCode::InvalidConfig`].
    pub fn code(&self) -> ErrorCode {
        match self {
            ConfigError::ZeroDuration(_) | ConfigError::ZeroCapacity(_) | ConfigError::Backoff => {
                ErrorCode::InvalidConfig
            }
        }
    }
}

impl BuildError {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            BuildError::InvalidUrl(_)
            | BuildError::UnsupportedScheme(_)
            | BuildError::Insecure { .. }
            | BuildError::Config(_)
            | BuildError::UnknownDialect(_)
            | BuildError::UnknownParam { .. }
            | BuildError::Conflict { .. }
            | BuildError::InvalidHeader(_)
            | BuildError::UnknownOption(_)
            | BuildError::InvalidJson(_)
            | BuildError::TokenProviderMissing => ErrorCode::InvalidConfig,
            BuildError::DialectUnavailable(_) => ErrorCode::Unsupported,
            BuildError::Runtime(_) => ErrorCode::Internal,
        }
    }
}

impl DialectError {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            DialectError::Unsupported(_) => ErrorCode::Unsupported,
            DialectError::NotConnected => ErrorCode::Network,
            DialectError::Invalid(_) => ErrorCode::InvalidInput,
        }
    }
}

impl ErrorKind {
    /// The stable code of an `Error{kind}` event.
    pub fn code(self) -> ErrorCode {
        match self {
            ErrorKind::Network => ErrorCode::Network,
            ErrorKind::Auth => ErrorCode::Auth,
            ErrorKind::Protocol => ErrorCode::Protocol,
            ErrorKind::RateLimited => ErrorCode::RateLimited,
            ErrorKind::Server => ErrorCode::Server,
            ErrorKind::InvalidInput => ErrorCode::InvalidInput,
            ErrorKind::Other => ErrorCode::Other,
        }
    }
}

#[cfg(feature = "tokio")]
impl crate::client::ClientError {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        use crate::client::ClientError;
        match self {
            ClientError::Closed => ErrorCode::Closed,
            ClientError::QueueFull { .. } => ErrorCode::QueueFull,
            ClientError::TooLarge { .. } => ErrorCode::TooLarge,
            ClientError::Unsupported { .. } => ErrorCode::Unsupported,
            ClientError::DeliveryFailed(_) => ErrorCode::DeliveryFailed,
            ClientError::AlreadySent { .. } => ErrorCode::AlreadySent,
            ClientError::UnknownMessage { .. } => ErrorCode::NotFound,
            ClientError::Internal(_) => ErrorCode::Internal,
        }
    }
}

#[cfg(test)]
mod tests;

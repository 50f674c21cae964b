//! `ChatError`: the one error type foreign callers see, one variant per [`chatwire::ErrorCode`].
//!
//! The variants are the core's stable error table (`sdk-core/src/error_code.rs`), one to one and
//! under the same names (`ErrorCode::QueueFull` is `ChatError::QueueFull`, Kotlin
//! `ChatException.QueueFull`, Python `ChatError.QueueFull`), so an error means the same thing in
//! Rust, Kotlin, Swift, Python and C. It is a *flat* uniffi error: each foreign exception carries
//! the display message of the Rust error it came from. A code added to the core without a variant
//! here makes the exhaustiveness test below fail.

use chatwire::ErrorCode;

/// An error returned across the foreign-language boundary.
///
/// ```
/// use chatwire::ErrorCode;
/// use chatwire_ffi::ChatError;
/// let e = ChatError::from_code(ErrorCode::QueueFull, "the outbound queue is full (50 messages)");
/// assert_eq!(e.code(), ErrorCode::QueueFull);
/// assert_eq!(e.to_string(), "the outbound queue is full (50 messages)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
#[non_exhaustive]
pub enum ChatError {
    /// `CLOSED`: the client is closed; create a new one.
    #[error("{message}")]
    Closed {
        /// What happened.
        message: String,
    },
    /// `QUEUE_FULL`: the outbound queue is full (policy `RejectNew`); retry later.
    #[error("{message}")]
    QueueFull {
        /// What happened.
        message: String,
    },
    /// `TOO_LARGE`: the message or frame exceeds `maxFrameBytes`.
    #[error("{message}")]
    TooLarge {
        /// What happened.
        message: String,
    },
    /// `UNSUPPORTED`: the backend's dialect cannot do this.
    #[error("{message}")]
    Unsupported {
        /// What happened.
        message: String,
    },
    /// `INVALID_CONFIG`: the client options are invalid (URL, security, limits, params, JSON).
    #[error("{message}")]
    InvalidConfig {
        /// What happened.
        message: String,
    },
    /// `INVALID_INPUT`: an argument was out of range or malformed; fix the call.
    #[error("{message}")]
    InvalidInput {
        /// Which argument, and why it was rejected.
        message: String,
    },
    /// `DELIVERY_FAILED`: the message will not be delivered.
    #[error("{message}")]
    DeliveryFailed {
        /// What happened.
        message: String,
    },
    /// `ALREADY_SENT`: the message already went out and cannot be taken back.
    #[error("{message}")]
    AlreadySent {
        /// What happened.
        message: String,
    },
    /// `NOT_FOUND`: no message with this client id is queued or in flight.
    #[error("{message}")]
    NotFound {
        /// What happened.
        message: String,
    },
    /// `AUTH`: the backend refused the credentials; re-authenticate before retrying.
    #[error("{message}")]
    Auth {
        /// What happened.
        message: String,
    },
    /// `NETWORK`: the network failed (unreachable, reset, timed out); retrying may help.
    #[error("{message}")]
    Network {
        /// What happened.
        message: String,
    },
    /// `RATE_LIMITED`: the backend rate-limited the client.
    #[error("{message}")]
    RateLimited {
        /// What happened.
        message: String,
    },
    /// `SERVER`: the backend reported an error of its own.
    #[error("{message}")]
    Server {
        /// What happened.
        message: String,
    },
    /// `PROTOCOL`: malformed, oversized or unexpected wire data; retrying will not help.
    #[error("{message}")]
    Protocol {
        /// What happened.
        message: String,
    },
    /// `OTHER`: a backend error outside every other category.
    #[error("{message}")]
    Other {
        /// What happened.
        message: String,
    },
    /// `INTERNAL`: a bug or an environment problem inside chatwire.
    #[error("{message}")]
    Internal {
        /// What happened.
        message: String,
    },
}

impl ChatError {
    /// The error of category `code` with `message`. A code this library does not know yet
    /// (the core's table grew) becomes [`ChatError::Internal`] with the code's name in front.
    pub fn from_code(code: ErrorCode, message: impl Into<String>) -> ChatError {
        let message = message.into();
        match code {
            ErrorCode::Closed => ChatError::Closed { message },
            ErrorCode::QueueFull => ChatError::QueueFull { message },
            ErrorCode::TooLarge => ChatError::TooLarge { message },
            ErrorCode::Unsupported => ChatError::Unsupported { message },
            ErrorCode::InvalidConfig => ChatError::InvalidConfig { message },
            ErrorCode::InvalidInput => ChatError::InvalidInput { message },
            ErrorCode::DeliveryFailed => ChatError::DeliveryFailed { message },
            ErrorCode::AlreadySent => ChatError::AlreadySent { message },
            ErrorCode::NotFound => ChatError::NotFound { message },
            ErrorCode::Auth => ChatError::Auth { message },
            ErrorCode::Network => ChatError::Network { message },
            ErrorCode::RateLimited => ChatError::RateLimited { message },
            ErrorCode::Server => ChatError::Server { message },
            ErrorCode::Protocol => ChatError::Protocol { message },
            ErrorCode::Other => ChatError::Other { message },
            ErrorCode::Internal => ChatError::Internal { message },
            unknown => ChatError::Internal {
                message: format!("{unknown}: {message}"),
            },
        }
    }

    /// The stable code of this error (the inverse of [`from_code`](Self::from_code)).
    pub fn code(&self) -> ErrorCode {
        match self {
            ChatError::Closed { .. } => ErrorCode::Closed,
            ChatError::QueueFull { .. } => ErrorCode::QueueFull,
            ChatError::TooLarge { .. } => ErrorCode::TooLarge,
            ChatError::Unsupported { .. } => ErrorCode::Unsupported,
            ChatError::InvalidConfig { .. } => ErrorCode::InvalidConfig,
            ChatError::InvalidInput { .. } => ErrorCode::InvalidInput,
            ChatError::DeliveryFailed { .. } => ErrorCode::DeliveryFailed,
            ChatError::AlreadySent { .. } => ErrorCode::AlreadySent,
            ChatError::NotFound { .. } => ErrorCode::NotFound,
            ChatError::Auth { .. } => ErrorCode::Auth,
            ChatError::Network { .. } => ErrorCode::Network,
            ChatError::RateLimited { .. } => ErrorCode::RateLimited,
            ChatError::Server { .. } => ErrorCode::Server,
            ChatError::Protocol { .. } => ErrorCode::Protocol,
            ChatError::Other { .. } => ErrorCode::Other,
            ChatError::Internal { .. } => ErrorCode::Internal,
        }
    }

    /// Shorthand for [`ChatError::InvalidInput`].
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidInput {
            message: message.into(),
        }
    }
}

impl From<chatwire::BuildError> for ChatError {
    fn from(error: chatwire::BuildError) -> Self {
        ChatError::from_code(error.code(), error.to_string())
    }
}

impl From<chatwire::client::ClientError> for ChatError {
    fn from(error: chatwire::client::ClientError) -> Self {
        ChatError::from_code(error.code(), error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `QUEUE_FULL` -> `QueueFull`: the variant name every binding shows.
    fn camel(name: &str) -> String {
        name.split('_')
            .map(|w| w[..1].to_string() + &w[1..].to_lowercase())
            .collect()
    }

    #[test]
    fn every_error_code_has_its_own_variant_of_the_same_name() {
        let mut seen = std::collections::HashSet::new();
        for &code in ErrorCode::ALL {
            let error = ChatError::from_code(code, "m");
            assert_eq!(error.code(), code, "{code} does not round-trip");
            assert_eq!(error.to_string(), "m");
            let variant = format!("{error:?}");
            let name = variant.split(' ').next().unwrap_or_default().to_string();
            assert_eq!(name, camel(code.as_str()), "{code} maps to {variant}");
            assert!(seen.insert(name), "two codes map to {variant}");
        }
        assert_eq!(seen.len(), 16);
    }

    #[test]
    fn core_errors_keep_their_code_and_message() {
        let e = ChatError::from(chatwire::client::ClientError::QueueFull { capacity: 5 });
        assert_eq!(e.code(), ErrorCode::QueueFull);
        assert_eq!(e.to_string(), "the outbound queue is full (5 messages)");
        let e = ChatError::from(chatwire::BuildError::TokenProviderMissing);
        assert_eq!(e.code(), ErrorCode::InvalidConfig);
    }
}

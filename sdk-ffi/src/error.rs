//! `ChatError`: the one error type foreign callers see.
//!
//! Its variants are what a caller can act on (DESIGN §7): retry (`Network`), re-authenticate
//! (`Auth`), give up or report (`Protocol`), stop using the client (`Closed`), fix the call
//! (`InvalidInput`). It is a *flat* uniffi error: Kotlin, Swift and Python get one exception class
//! per variant carrying the display message, not the Rust fields.

/// An error returned across the foreign-language boundary.
///
/// ```
/// use chatwire_ffi::ChatError;
/// let e = ChatError::InvalidInput { message: "cap_ms must be > 0".into() };
/// assert_eq!(e.to_string(), "cap_ms must be > 0");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
#[non_exhaustive]
pub enum ChatError {
    /// The network failed (unreachable, reset, timed out); retrying may help.
    #[error("{message}")]
    Network {
        /// What happened.
        message: String,
    },
    /// The backend refused the credentials; re-authenticate before retrying.
    #[error("{message}")]
    Auth {
        /// What happened.
        message: String,
    },
    /// The backend sent something this SDK does not understand; retrying will not help.
    #[error("{message}")]
    Protocol {
        /// What happened.
        message: String,
    },
    /// The client was closed; create a new one.
    #[error("{message}")]
    Closed {
        /// What happened.
        message: String,
    },
    /// An argument was out of range or malformed; fix the call.
    #[error("{message}")]
    InvalidInput {
        /// Which argument, and why it was rejected.
        message: String,
    },
}

impl ChatError {
    /// Shorthand for [`ChatError::InvalidInput`].
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidInput {
            message: message.into(),
        }
    }
}

//! Errors at the JavaScript boundary: every refusal reaches JS as a thrown `ChatwireError`.
//!
//! Rust code returns the typed [`Error`]; wasm-bindgen converts it, through `From<Error> for
//! JsValue`, into an instance of the `ChatwireError` class defined in `js/chatwire_error.mjs` (a
//! real `Error` subclass with a stable `code`). The class is re-exported by the generated glue, so
//! callers can write `err instanceof ChatwireError` and branch on `err.code`. Nothing on this path
//! panics: a panic would abort the module (the wasm profile uses `panic = "abort"`).

use wasm_bindgen::prelude::*;

/// Why chatwire refused a call made from JavaScript.
///
/// Each variant maps to one stable `ChatwireError.code` string (see [`Error::code`]); the message
/// is for humans and may change between versions.
///
/// ```
/// use chatwire_wasm::Error;
/// let err = Error::InvalidInput("unit must be a finite number".into());
/// assert_eq!(err.code(), "INVALID_INPUT");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An argument had the wrong type, range or value; fix the call and retry.
    #[error("{0}")]
    InvalidInput(String),
    /// The core refused: `code` is its `ErrorCode`, the message its explanation.
    #[error("{message}")]
    Core {
        /// The core's code for the refusal.
        code: chatwire::ErrorCode,
        /// What went wrong.
        message: String,
    },
}

impl Error {
    /// The stable, machine-readable code carried by the thrown `ChatwireError`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidInput(_) => "INVALID_INPUT",
            Self::Core { code, .. } => code.as_str(),
        }
    }

    /// Whether retrying later can succeed unchanged (the core's default for the code).
    pub fn retryable(&self) -> bool {
        match self {
            Self::InvalidInput(_) => false,
            Self::Core { code, .. } => code.retryable(),
        }
    }

    /// A core error (anything with a `code()` and a message) as [`Error::Core`].
    ///
    /// ```
    /// use chatwire_wasm::Error;
    /// let err = Error::from_code(chatwire::EngineError::Closed);
    /// assert_eq!(err.code(), "CLOSED");
    /// ```
    pub fn from_code(err: impl CoreError) -> Self {
        Self::Core {
            code: err.error_code(),
            message: err.to_string(),
        }
    }

    /// The same error, its message ending with `, got <shown>` (the offending value as shown).
    ///
    /// ```
    /// use chatwire_wasm::Error;
    /// let err = Error::InvalidInput("attempt must be an integer >= 0".into()).got("-1");
    /// assert_eq!(err.to_string(), "attempt must be an integer >= 0, got -1");
    /// ```
    pub fn got(self, shown: &str) -> Self {
        match self {
            Self::InvalidInput(message) => Self::InvalidInput(format!("{message}, got {shown}")),
            Self::Core { code, message } => Self::Core {
                code,
                message: format!("{message}, got {shown}"),
            },
        }
    }
}

/// A core error type that maps onto the `ErrorCode` table.
pub trait CoreError: std::fmt::Display {
    /// Its code.
    fn error_code(&self) -> chatwire::ErrorCode;
}

impl CoreError for chatwire::EngineError {
    fn error_code(&self) -> chatwire::ErrorCode {
        self.code()
    }
}

impl CoreError for chatwire::BuildError {
    fn error_code(&self) -> chatwire::ErrorCode {
        self.code()
    }
}

impl From<Error> for JsValue {
    fn from(err: Error) -> JsValue {
        ChatwireError::new(err.code(), &err.to_string(), err.retryable()).into()
    }
}

#[wasm_bindgen(module = "/js/chatwire_error.mjs")]
extern "C" {
    /// `class ChatwireError extends Error { code: string }` from the snippet.
    type ChatwireError;

    #[wasm_bindgen(constructor)]
    fn new(code: &str, message: &str, retryable: bool) -> ChatwireError;

    /// Never called: it makes the glue re-export the class itself to JS callers. A *function*
    /// import is used because only those honour `skip_typescript`, and the class is declared in
    /// TypeScript by the custom section in `lib.rs` (a re-exported type would be declared as
    /// `let ChatwireError: unknown`, clashing with it).
    #[wasm_bindgen(js_name = ChatwireError, reexport, skip_typescript)]
    fn reexport_chatwire_error_class();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_input_has_stable_code_and_keeps_message() {
        let err = Error::InvalidInput("attempt must be an integer >= 0".into());
        assert_eq!(err.code(), "INVALID_INPUT");
        assert_eq!(err.to_string(), "attempt must be an integer >= 0");
        let err = err.got("\"3\"");
        assert_eq!(err.code(), "INVALID_INPUT");
        assert_eq!(
            err.to_string(),
            "attempt must be an integer >= 0, got \"3\""
        );
    }
}

//! Failure classification: what went wrong with a connection ([`Failure`]) and what that means for
//! the retry decision ([`RetryHint`]). Dialects build failures from their wire errors and HTTP
//! statuses; the engine builds them for timeouts and turns the hint into a backoff delay.

use crate::backoff::RetryContext;
use std::time::Duration;

/// Category of a connection failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// Unreachable, reset, refused, TLS, DNS.
    Network,
    /// Connect, ready, pong or idle timeout (set by the engine).
    Timeout,
    /// The server restarts or announced a restart: retry fast.
    ServerRestart,
    /// The platform is initializing (e.g. 503 while AI services warm up).
    Initializing,
    /// Rate limited (429 or a rate-limit error frame).
    RateLimited,
    /// A server-side error worth retrying (5xx, `server_error`).
    Server,
    /// The server spoke something the dialect cannot understand. Retried (a fresh connection often
    /// helps) until max attempts.
    Protocol,
    /// Authentication or authorization failed: not retried.
    Auth,
    /// Anything that retrying cannot fix (bad configuration, 404 on the endpoint): not retried.
    Fatal,
}

/// A connection failure as reported by a dialect or detected by the engine.
///
/// ```
/// use chatwire::dialect::{Failure, FailureKind};
/// use std::time::Duration;
/// let headers = vec![("Retry-After".to_string(), "7".to_string())];
/// let f = Failure::from_http_status(429, &headers, "too many");
/// assert_eq!(f.kind, FailureKind::RateLimited);
/// assert_eq!(f.retry_after, Some(Duration::from_secs(7)));
/// assert!(f.default_hint().retry);
/// assert!(!Failure::from_http_status(401, &[], "no").default_hint().retry);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Failure {
    /// Category.
    pub kind: FailureKind,
    /// Human-readable detail.
    pub message: String,
    /// Server-requested wait (Retry-After, `retry_after_ms`, SSE `retry:`).
    pub retry_after: Option<Duration>,
    /// HTTP status involved, if any.
    pub http_status: Option<u16>,
}

impl Failure {
    /// A failure of `kind`.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
            retry_after: None,
            http_status: None,
        }
    }

    /// A network failure.
    pub fn network(message: impl Into<String>) -> Failure {
        Failure::new(FailureKind::Network, message)
    }

    /// A protocol failure.
    pub fn protocol(message: impl Into<String>) -> Failure {
        Failure::new(FailureKind::Protocol, message)
    }

    /// Sets the server-requested wait.
    pub fn with_retry_after(mut self, wait: Duration) -> Failure {
        self.retry_after = Some(wait);
        self
    }

    /// Classifies an unsuccessful HTTP status: 401/403 auth; 408 timeout; 429 rate limited;
    /// 503 initializing; other 5xx server; 404, 405, 410 and other 4xx fatal. `Retry-After` in
    /// delta-seconds is honoured (HTTP-dates are ignored: the engine has no calendar clock).
    pub fn from_http_status(status: u16, headers: &[(String, String)], detail: &str) -> Failure {
        let kind = match status {
            401 | 403 => FailureKind::Auth,
            408 => FailureKind::Timeout,
            429 => FailureKind::RateLimited,
            503 => FailureKind::Initializing,
            500..=599 => FailureKind::Server,
            _ => FailureKind::Fatal,
        };
        Failure {
            kind,
            message: format!("HTTP {status}: {detail}"),
            retry_after: retry_after(headers),
            http_status: Some(status),
        }
    }

    /// The retry decision the engine uses unless the dialect overrides
    /// [`Dialect::classify`](super::Dialect::classify).
    pub fn default_hint(&self) -> RetryHint {
        let (retry, context) = match self.kind {
            FailureKind::Network | FailureKind::Timeout => (true, RetryContext::Network),
            FailureKind::ServerRestart => (true, RetryContext::ServerRestart),
            FailureKind::Initializing => (true, RetryContext::Initializing),
            FailureKind::RateLimited => (true, RetryContext::RateLimited),
            FailureKind::Server | FailureKind::Protocol => (true, RetryContext::Other),
            FailureKind::Auth | FailureKind::Fatal => (false, RetryContext::Other),
        };
        RetryHint {
            retry,
            context,
            after: self.retry_after,
        }
    }
}

/// The retry decision for a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryHint {
    /// Retry at all? `false` moves the engine to `Failed`.
    pub retry: bool,
    /// Which backoff context applies.
    pub context: RetryContext,
    /// Server-requested minimum wait.
    pub after: Option<Duration>,
}

impl RetryHint {
    /// Retry with `context` and no server hint.
    pub fn retry(context: RetryContext) -> RetryHint {
        RetryHint {
            retry: true,
            context,
            after: None,
        }
    }

    /// Do not retry.
    pub fn give_up() -> RetryHint {
        RetryHint {
            retry: false,
            context: RetryContext::Other,
            after: None,
        }
    }
}

/// Parses a `Retry-After` header given in delta-seconds (case-insensitive name).
///
/// ```
/// use chatwire::dialect::retry_after;
/// let h = vec![("retry-after".to_string(), " 3 ".to_string())];
/// assert_eq!(retry_after(&h), Some(std::time::Duration::from_secs(3)));
/// ```
pub fn retry_after(headers: &[(String, String)]) -> Option<Duration> {
    headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("retry-after"))
        .and_then(|(_, value)| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_classify() {
        let k = |s| Failure::from_http_status(s, &[], "").kind;
        assert_eq!(k(403), FailureKind::Auth);
        assert_eq!(k(503), FailureKind::Initializing);
        assert_eq!(k(502), FailureKind::Server);
        assert_eq!(k(404), FailureKind::Fatal);
        assert_eq!(k(408), FailureKind::Timeout);
        let h = Failure::new(FailureKind::ServerRestart, "x").default_hint();
        assert_eq!(h.context, RetryContext::ServerRestart);
        assert!(retry_after(&[("Retry-After".into(), "Wed, 21 Oct".into())]).is_none());
    }
}

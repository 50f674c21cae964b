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
    /// Server-requested earliest retry as a wall-clock time (Unix ms): a `Retry-After` given as
    /// an HTTP-date. The engine turns it into a wait with its wall-clock anchor
    /// (`Config::unix_ms_at_epoch`); `retry_after` wins when both are set.
    pub retry_at_unix_ms: Option<u64>,
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
            retry_at_unix_ms: None,
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

    /// Sets the server-requested earliest retry time (Unix ms), e.g. from an HTTP-date.
    pub fn with_retry_at(mut self, unix_ms: u64) -> Failure {
        self.retry_at_unix_ms = Some(unix_ms);
        self
    }

    /// Sets the hint of a parsed `Retry-After` (either form).
    pub fn with_retry_hint(self, hint: RetryAfter) -> Failure {
        match hint {
            RetryAfter::Delay(wait) => self.with_retry_after(wait),
            RetryAfter::At { unix_ms } => self.with_retry_at(unix_ms),
        }
    }

    /// Classifies an unsuccessful HTTP status: 401/403 auth; 408 timeout; 429 rate limited;
    /// 503 initializing; other 5xx server; 404, 405, 410 and other 4xx fatal. `Retry-After` is
    /// honoured in both RFC 9110 forms (delay-seconds and HTTP-date).
    pub fn from_http_status(status: u16, headers: &[(String, String)], detail: &str) -> Failure {
        let kind = match status {
            401 | 403 => FailureKind::Auth,
            408 => FailureKind::Timeout,
            429 => FailureKind::RateLimited,
            503 => FailureKind::Initializing,
            500..=599 => FailureKind::Server,
            _ => FailureKind::Fatal,
        };
        let failure = Failure {
            kind,
            message: format!("HTTP {status}: {detail}"),
            retry_after: None,
            retry_at_unix_ms: None,
            http_status: Some(status),
        };
        match retry_after_header(headers) {
            Some(hint) => failure.with_retry_hint(hint),
            None => failure,
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

/// A parsed `Retry-After` value (RFC 9110 §10.2.3: `HTTP-date / delay-seconds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryAfter {
    /// `delay-seconds` (fractions are accepted and kept to the millisecond).
    Delay(Duration),
    /// An `HTTP-date`, as Unix milliseconds.
    At {
        /// The date, in Unix milliseconds.
        unix_ms: u64,
    },
}

/// Parses a `Retry-After` value in either RFC 9110 form: delay-seconds (`"120"`, and `"1.5"`
/// from lenient servers) or an HTTP-date in any of the three formats a recipient must accept
/// (IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT`,
/// asctime `Sun Nov  6 08:49:37 1994`). Anything else is `None`.
///
/// ```
/// use chatwire::dialect::{RetryAfter, parse_retry_after};
/// use std::time::Duration;
/// assert_eq!(parse_retry_after(" 120 "), Some(RetryAfter::Delay(Duration::from_secs(120))));
/// assert_eq!(
///     parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
///     Some(RetryAfter::At { unix_ms: 784_111_777_000 })
/// );
/// assert_eq!(parse_retry_after("soon"), None);
/// ```
pub fn parse_retry_after(value: &str) -> Option<RetryAfter> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        // `as` saturates: a year or 10^30 seconds stays a (huge) finite wait
        return (secs.is_finite() && secs >= 0.0)
            .then(|| RetryAfter::Delay(Duration::from_millis((secs * 1000.0) as u64)));
    }
    http_date_ms(value).map(|unix_ms| RetryAfter::At { unix_ms })
}

/// The `Retry-After` header of a response (case-insensitive name), either form.
pub fn retry_after_header(headers: &[(String, String)]) -> Option<RetryAfter> {
    headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("retry-after"))
        .and_then(|(_, value)| parse_retry_after(value))
}

/// Parses a `Retry-After` header given in delta-seconds (case-insensitive name); an HTTP-date
/// needs a wall clock to become a wait: use [`retry_after_header`] for both forms.
///
/// ```
/// use chatwire::dialect::retry_after;
/// let h = vec![("retry-after".to_string(), " 3 ".to_string())];
/// assert_eq!(retry_after(&h), Some(std::time::Duration::from_secs(3)));
/// ```
pub fn retry_after(headers: &[(String, String)]) -> Option<Duration> {
    match retry_after_header(headers)? {
        RetryAfter::Delay(wait) => Some(wait),
        RetryAfter::At { .. } => None,
    }
}

/// The wait a `Retry-After` header asks for at wall-clock time `now_unix_ms`: delay-seconds as
/// given, an HTTP-date as the time left until it (zero when it has passed). For callers that
/// own a wall clock (the drivers, for a refused WebSocket upgrade); the engine does the same
/// with its own anchor for [`Failure::retry_at_unix_ms`].
///
/// ```
/// use chatwire::dialect::retry_after_wait;
/// use std::time::Duration;
/// let h = vec![("Retry-After".to_string(), "Wed, 21 Oct 2015 07:28:10 GMT".to_string())];
/// let now = 1_445_412_480_000; // 07:28:00
/// assert_eq!(retry_after_wait(&h, now), Some(Duration::from_secs(10)));
/// let h = vec![("Retry-After".to_string(), "3".to_string())];
/// assert_eq!(retry_after_wait(&h, now), Some(Duration::from_secs(3)));
/// ```
pub fn retry_after_wait(headers: &[(String, String)], now_unix_ms: u64) -> Option<Duration> {
    Some(match retry_after_header(headers)? {
        RetryAfter::Delay(wait) => wait,
        RetryAfter::At { unix_ms } => Duration::from_millis(unix_ms.saturating_sub(now_unix_ms)),
    })
}

/// An RFC 9110 HTTP-date (IMF-fixdate, RFC 850 or asctime) in Unix milliseconds.
fn http_date_ms(s: &str) -> Option<u64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = |m: &str| MONTHS.iter().position(|x| *x == m).map(|i| i as i64 + 1);
    let words: Vec<&str> = s.split_whitespace().collect();
    let (day, mon, year, time) = match words.as_slice() {
        // IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`
        [wd, d, m, y, t, "GMT"] if wd.ends_with(',') => {
            (d.parse().ok()?, month(m)?, y.parse::<i64>().ok()?, *t)
        }
        // RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT` (two-digit years: RFC 9110 says a year
        // that appears to be more than 50 years in the future is in the past; this reads
        // 70..=99 as 19xx and 00..=69 as 20xx)
        [wd, dmy, t, "GMT"] if wd.ends_with(',') => {
            let mut parts = dmy.split('-');
            let d = parts.next()?.parse().ok()?;
            let m = month(parts.next()?)?;
            let y: i64 = parts.next()?.parse().ok()?;
            let y = if y < 70 {
                2000 + y
            } else if y < 100 {
                1900 + y
            } else {
                y
            };
            (d, m, y, *t)
        }
        // asctime: `Sun Nov  6 08:49:37 1994`
        [_, m, d, t, y] => (d.parse().ok()?, month(m)?, y.parse::<i64>().ok()?, *t),
        _ => return None,
    };
    let mut hms = time.split(':').map(|x| x.parse::<i64>().ok());
    let (h, mi, se) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some() || !(1..=31).contains(&day) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    if !(1970..=9999).contains(&year) || h < 0 || mi < 0 || se < 0 {
        return None;
    }
    let days = super::codec_kit::days_from_civil(year, mon, day);
    u64::try_from((days * 86_400 + h * 3600 + mi * 60 + se) * 1000).ok()
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

    /// RFC 9110 §5.6.7: the three date formats name the same instant.
    #[test]
    fn retry_after_in_both_forms_and_every_date_format() {
        let at = Some(RetryAfter::At {
            unix_ms: 784_111_777_000,
        });
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"), at);
        assert_eq!(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT"), at);
        assert_eq!(parse_retry_after("Sun Nov  6 08:49:37 1994"), at);
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(RetryAfter::At {
                unix_ms: 1_445_412_480_000
            })
        );
        assert_eq!(
            parse_retry_after("10"),
            Some(RetryAfter::Delay(Duration::from_secs(10)))
        );
        assert_eq!(
            parse_retry_after("31536000"),
            Some(RetryAfter::Delay(Duration::from_secs(31_536_000))),
            "a year stays a year (the engine caps it, visibly)"
        );
        for bad in [
            "",
            "-3",
            "NaN",
            "Sun, 06 Nov 1994 08:49:37 PST",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
        ] {
            assert_eq!(parse_retry_after(bad), None, "{bad:?}");
        }
        let h = vec![("retry-after".into(), "Sun, 06 Nov 1994 08:49:37 GMT".into())];
        let f = Failure::from_http_status(503, &h, "maintenance");
        assert_eq!(
            (f.retry_after, f.retry_at_unix_ms),
            (None, Some(784_111_777_000))
        );
    }
}

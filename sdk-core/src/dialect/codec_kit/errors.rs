//! Failures, read the same way for every backend: error bodies of any of the seeds' shapes,
//! HTTP statuses with `Retry-After`, WebSocket close codes, and in-band error frames, mapped to
//! the engine's [`Failure`] (retry decision), [`Event::Error`] (what the app sees) and
//! [`TurnError`] (how a turn ends).
//!
//! Seed (miptech, "Error Response Format"): `{"detail","type","code","retryable"}`; seed
//! (miptech, "API Errors"): 400 validation, 403 authentication, 422 field validation, 429 backoff,
//! 500 retry; seed (chat-interfaces): "429 with retry-after". Context floors (seed: "rate_limit:
//! min 5000ms, platform_initializing: min 2000ms, server_restart: max 2000ms") are applied by the
//! engine's backoff from the [`FailureKind`] chosen here.

use std::time::Duration;

use serde_json::{Map, Value};

use super::{bool_field, int_field, parse_json, str_field, summarize};
use crate::dialect::{Decoded, Failure, FailureKind, RetryAfter, retry_after_header};
use crate::event::{ErrorKind, Event, TurnError, TurnErrorCode};
use crate::io::CloseReason;

/// The fields of a backend error body, read tolerantly: the seed's
/// `{"detail","type","code","retryable"}`, FastAPI's `{"detail": [..validation..]}`, OpenAI's
/// `{"error": {"message","type","code"}}`, and plain `{"error": "..", "message": ".."}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ErrorBody {
    pub message: Option<String>,
    pub kind: Option<String>,
    pub code: Option<String>,
    pub retryable: Option<bool>,
    pub retry_after_ms: Option<u64>,
}

impl ErrorBody {
    /// Reads an error body; a body that is not JSON becomes its (truncated) text as the message.
    pub(crate) fn parse(body: &[u8]) -> ErrorBody {
        match parse_json(body) {
            Ok(Value::Object(obj)) => Self::from_object(&obj),
            Ok(Value::String(s)) => ErrorBody {
                message: Some(s),
                ..Default::default()
            },
            _ if body.iter().all(u8::is_ascii_whitespace) => ErrorBody::default(),
            _ => ErrorBody {
                message: Some(summarize(body)),
                ..Default::default()
            },
        }
    }

    /// Reads the fields from an already parsed object (also used for error *frames*).
    pub(crate) fn from_object(obj: &Map<String, Value>) -> ErrorBody {
        if let Some(Value::Object(inner)) = obj.get("error") {
            let mut body = Self::from_object(inner);
            body.retryable = body.retryable.or_else(|| bool_field(obj, &["retryable"]));
            return body;
        }
        let message =
            str_field(obj, &["detail", "message", "error", "msg", "reason"]).or_else(|| match obj
                .get("detail")
            {
                Some(v @ (Value::Array(_) | Value::Object(_))) => Some(v.to_string()),
                _ => None,
            });
        ErrorBody {
            message,
            kind: str_field(obj, &["type", "error_type", "errorType", "kind"]),
            code: str_field(obj, &["code", "error_code", "errorCode", "status"]),
            retryable: bool_field(obj, &["retryable", "retriable", "isRetryable"]),
            retry_after_ms: int_field(obj, &["retry_after_ms", "retryAfterMs"])
                .map(|v| v.max(0) as u64)
                .or_else(|| {
                    int_field(obj, &["retry_after", "retryAfter"]).map(|s| s.max(0) as u64 * 1000)
                }),
        }
    }

    /// The code and type, lower-cased and joined, for keyword classification.
    fn keywords(&self) -> String {
        format!(
            "{} {} {}",
            self.code.as_deref().unwrap_or(""),
            self.kind.as_deref().unwrap_or(""),
            self.message.as_deref().unwrap_or("")
        )
        .to_ascii_lowercase()
    }
}

/// What kind of failure an HTTP status / error body denotes, independent of the engine's types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureClass {
    /// 401/403 or an auth error code: re-authenticate, do not blindly retry.
    Auth,
    /// 429 or a rate-limit code: retry after the hint (or the rate-limit floor).
    RateLimited,
    /// 503 with an initializing/warming code: the platform is starting.
    Initializing,
    /// 502/503/504 or a restart code: the server is restarting, come back fast.
    ServerRestart,
    /// Other 5xx: retry with the normal schedule.
    Server,
    /// 400/404/409/413/422 and other 4xx: the request itself is wrong; retrying cannot help.
    Fatal,
}

/// Classifies an HTTP failure from its status and parsed body. The body's `code`/`type` refine
/// the status (a 503 saying `PLATFORM_INITIALIZING` is `Initializing`; a 200-level frame saying
/// `RATE_LIMITED` is `RateLimited`).
pub(crate) fn classify(status: Option<u16>, body: &ErrorBody) -> FailureClass {
    let words = body.keywords();
    let has = |k: &str| words.contains(k);
    match status {
        Some(401 | 403) => return FailureClass::Auth,
        Some(429) => return FailureClass::RateLimited,
        _ => {}
    }
    if has("rate_limit") || has("rate limit") || has("ratelimit") || has("too_many") {
        return FailureClass::RateLimited;
    }
    if has("unauthorized") || has("forbidden") || has("auth") || has("invalid_api_key") {
        return FailureClass::Auth;
    }
    if has("initializ") || has("warming") || has("starting") || has("not_ready") {
        return FailureClass::Initializing;
    }
    if has("restart") || has("shutdown") || has("shutting") {
        return FailureClass::ServerRestart;
    }
    match status {
        Some(502..=504) => FailureClass::ServerRestart,
        Some(500..=599) => FailureClass::Server,
        Some(_) if body.retryable == Some(true) => FailureClass::Server,
        Some(_) => FailureClass::Fatal,
        None if body.retryable == Some(false) => FailureClass::Fatal,
        None => FailureClass::Server,
    }
}

impl FailureClass {
    /// The engine's failure kind for this class.
    pub(crate) fn failure_kind(self) -> FailureKind {
        match self {
            FailureClass::Auth => FailureKind::Auth,
            FailureClass::RateLimited => FailureKind::RateLimited,
            FailureClass::Initializing => FailureKind::Initializing,
            FailureClass::ServerRestart => FailureKind::ServerRestart,
            FailureClass::Server => FailureKind::Server,
            FailureClass::Fatal => FailureKind::Fatal,
        }
    }

    /// The app-facing error category for this class.
    pub(crate) fn error_kind(self) -> ErrorKind {
        match self {
            FailureClass::Auth => ErrorKind::Auth,
            FailureClass::RateLimited => ErrorKind::RateLimited,
            FailureClass::Fatal => ErrorKind::InvalidInput,
            _ => ErrorKind::Server,
        }
    }
}

/// A classified connection failure from an unsuccessful HTTP response: the status and the
/// body's `code`/`type` choose the kind, `Retry-After` (header, else the body's
/// `retry_after`) the server hint.
pub(crate) fn http_failure(status: u16, headers: &[(String, String)], body: &[u8]) -> Failure {
    let parsed = ErrorBody::parse(body);
    let class = classify(Some(status), &parsed);
    let detail = parsed.message.clone().unwrap_or_else(|| "no detail".into());
    let mut failure = Failure::new(class.failure_kind(), format!("HTTP {status}: {detail}"));
    failure.http_status = Some(status);
    let hint = retry_after_header(headers).or_else(|| {
        parsed
            .retry_after_ms
            .map(|ms| RetryAfter::Delay(Duration::from_millis(ms)))
    });
    match hint {
        Some(hint) => failure.with_retry_hint(hint),
        None => failure,
    }
}

/// A classified failure from an in-band error frame or event (no HTTP status).
pub(crate) fn frame_failure(body: &ErrorBody) -> Failure {
    let class = classify(None, body);
    let message = body
        .message
        .clone()
        .unwrap_or_else(|| "server error".into());
    let failure = Failure::new(class.failure_kind(), message);
    match body.retry_after_ms {
        Some(ms) => failure.with_retry_after(Duration::from_millis(ms)),
        None => failure,
    }
}

/// The app-facing `Error` event for a backend error body (`status` when it came over HTTP).
pub(crate) fn error_event(status: Option<u16>, body: &ErrorBody) -> Event {
    let class = classify(status, body);
    Event::Error {
        kind: class.error_kind(),
        code: body
            .code
            .clone()
            .or_else(|| body.kind.clone())
            .or(status.map(|s| s.to_string())),
        message: body
            .message
            .clone()
            .unwrap_or_else(|| "server error".into()),
        retryable: body
            .retryable
            .unwrap_or(!matches!(class, FailureClass::Auth | FailureClass::Fatal)),
    }
}

/// A `TurnFailed{Server}` carrying the body's message.
pub(crate) fn turn_failed(body: &ErrorBody) -> Event {
    let message = body
        .message
        .clone()
        .unwrap_or_else(|| "the agent failed".into());
    Event::TurnFailed {
        error: TurnError::new(TurnErrorCode::Server, message),
    }
}

/// An `Error{Protocol}` event for input the codec cannot read (malformed JSON, invalid UTF-8,
/// binary where text is expected, wrong shape), with a summary of the offending bytes.
pub(crate) fn protocol_error(what: &str, bytes: &[u8]) -> Decoded {
    Decoded::new(Event::Error {
        kind: ErrorKind::Protocol,
        code: Some("malformed_frame".into()),
        message: format!("{what} ({})", summarize(bytes)),
        retryable: false,
    })
}

/// Classifies a closed or refused WebSocket. Close codes (RFC 6455 §7.4 and the IANA registry):
/// 1012 service restart and 1001 going away -> restart; 1013 try again later -> initializing;
/// 1008 policy violation and 4401/4403 -> auth; 4429 -> rate limited; 1002, 1003, 1007 and 1009
/// (also sent by this side when it refuses the peer's data) -> protocol; a refused upgrade is
/// classified by its HTTP status and keeps its `Retry-After`; anything else is a network failure.
pub(crate) fn close_failure(reason: &CloseReason) -> Failure {
    let text = if reason.reason.is_empty() {
        "connection closed"
    } else {
        &reason.reason
    };
    if let Some(status) = reason.http_status {
        let failure = http_failure(status, &[], text.as_bytes());
        return match reason.retry_after {
            Some(wait) => failure.with_retry_after(wait),
            None => failure,
        };
    }
    let kind = match reason.code {
        Some(1001 | 1012) => FailureKind::ServerRestart,
        Some(1013) => FailureKind::Initializing,
        Some(1008 | 4401 | 4403) => FailureKind::Auth,
        Some(4429) => FailureKind::RateLimited,
        Some(1002 | 1003 | 1007 | 1009) => FailureKind::Protocol,
        _ => FailureKind::Network,
    };
    let message = match reason.code {
        Some(code) => format!("closed with {code}: {text}"),
        None => text.to_string(),
    };
    Failure::new(kind, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_of_every_shape() {
        let seed = ErrorBody::parse(
            br#"{"detail":"Platform initializing","type":"service_unavailable","code":"PLATFORM_INITIALIZING","retryable":true}"#,
        );
        assert_eq!(seed.message.as_deref(), Some("Platform initializing"));
        assert_eq!(seed.code.as_deref(), Some("PLATFORM_INITIALIZING"));
        assert_eq!(seed.retryable, Some(true));
        assert_eq!(classify(Some(503), &seed), FailureClass::Initializing);

        let openai = ErrorBody::parse(
            br#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#,
        );
        assert_eq!(openai.code.as_deref(), Some("rate_limit_exceeded"));
        assert_eq!(classify(Some(400), &openai), FailureClass::RateLimited);

        let ci = ErrorBody::parse(br#"{"success":false,"error":"Session expired","code":"UNAUTHORIZED","retryable":false}"#);
        assert_eq!(ci.message.as_deref(), Some("Session expired"));
        assert_eq!(classify(None, &ci), FailureClass::Auth);

        let html = ErrorBody::parse(b"<html>Bad Gateway</html>");
        assert!(html.message.unwrap_or_default().contains("Bad Gateway"));
        let bad_utf8 = ErrorBody::parse(&[0xff, 0xfe, b'x']);
        assert!(bad_utf8.message.is_some());
        let validation =
            ErrorBody::parse(br#"{"detail":[{"loc":["body"],"msg":"field required"}]}"#);
        assert!(
            validation
                .message
                .unwrap_or_default()
                .contains("field required")
        );
        assert_eq!(ErrorBody::parse(b"  "), ErrorBody::default());
    }

    #[test]
    fn classification_by_status() {
        let empty = ErrorBody::default();
        assert_eq!(classify(Some(401), &empty), FailureClass::Auth);
        assert_eq!(classify(Some(403), &empty), FailureClass::Auth);
        assert_eq!(classify(Some(429), &empty), FailureClass::RateLimited);
        assert_eq!(classify(Some(503), &empty), FailureClass::ServerRestart);
        assert_eq!(classify(Some(500), &empty), FailureClass::Server);
        assert_eq!(classify(Some(422), &empty), FailureClass::Fatal);
        assert_eq!(classify(None, &empty), FailureClass::Server);
    }

    #[test]
    fn http_failures_carry_kind_and_hint() {
        let h = vec![("retry-after".to_string(), "7".to_string())];
        let f = http_failure(429, &h, br#"{"detail":"slow down","code":"RATE_LIMITED"}"#);
        assert_eq!(f.kind, FailureKind::RateLimited);
        assert_eq!(f.retry_after, Some(Duration::from_secs(7)));
        assert_eq!(f.http_status, Some(429));
        assert!(f.message.contains("slow down"));
        let init = http_failure(
            503,
            &[],
            br#"{"detail":"warming up","code":"PLATFORM_INITIALIZING"}"#,
        );
        assert_eq!(init.kind, FailureKind::Initializing);
        let restart = http_failure(503, &[], b"");
        assert_eq!(restart.kind, FailureKind::ServerRestart);
        assert_eq!(http_failure(401, &[], b"nope").kind, FailureKind::Auth);
        assert_eq!(http_failure(404, &[], b"{}").kind, FailureKind::Fatal);
        let body_hint = http_failure(429, &[], br#"{"retry_after":2}"#);
        assert_eq!(body_hint.retry_after, Some(Duration::from_secs(2)));
    }

    #[test]
    fn events_for_errors() {
        let body = ErrorBody {
            message: Some("x".into()),
            code: Some("RATE_LIMITED".into()),
            ..Default::default()
        };
        let Event::Error {
            kind,
            code,
            retryable,
            ..
        } = error_event(None, &body)
        else {
            panic!()
        };
        assert_eq!(
            (kind, code.as_deref(), retryable),
            (ErrorKind::RateLimited, Some("RATE_LIMITED"), true)
        );
        let Event::Error {
            kind, retryable, ..
        } = error_event(Some(403), &ErrorBody::default())
        else {
            panic!()
        };
        assert_eq!((kind, retryable), (ErrorKind::Auth, false));
        let d = protocol_error("malformed JSON", b"{oops");
        assert!(
            matches!(d.event, Event::Error { kind: ErrorKind::Protocol, ref message, .. } if message.contains("{oops"))
        );
        assert_eq!(frame_failure(&body).kind, FailureKind::RateLimited);
    }

    #[test]
    fn close_codes() {
        let k = |code| close_failure(&CloseReason::closed(Some(code), "")).kind;
        assert_eq!(k(1012), FailureKind::ServerRestart);
        assert_eq!(k(1013), FailureKind::Initializing);
        assert_eq!(k(4401), FailureKind::Auth);
        assert_eq!(k(4429), FailureKind::RateLimited);
        assert_eq!(k(1006), FailureKind::Network);
        let refused = close_failure(&CloseReason::refused(Some(429), "too many"));
        assert_eq!(refused.kind, FailureKind::RateLimited);
        let wait = Some(Duration::from_secs(4));
        let refused = close_failure(&CloseReason::refused(Some(429), "").with_retry_after(wait));
        assert_eq!(refused.retry_after, wait);
        assert_eq!(k(1009), FailureKind::Protocol);
        assert_eq!(
            close_failure(&CloseReason::error("reset")).kind,
            FailureKind::Network
        );
    }

    #[test]
    fn retry_after_values() {
        let h = |v: &str| vec![("Retry-After".to_string(), v.to_string())];
        let f = |v: &str| http_failure(429, &h(v), b"");
        assert_eq!(f("5").retry_after, Some(Duration::from_secs(5)));
        assert_eq!(f(" 1.5 ").retry_after, Some(Duration::from_millis(1500)));
        let dated = f("Wed, 21 Oct 2015 07:28:00 GMT");
        assert_eq!(
            (dated.retry_after, dated.retry_at_unix_ms),
            (None, Some(1_445_412_480_000))
        );
        assert_eq!(f("-3").retry_after, None);
        let year = f("31536000").retry_after;
        assert_eq!(year, Some(Duration::from_secs(31_536_000)), "not clamped");
    }
}

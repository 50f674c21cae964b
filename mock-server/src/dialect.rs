//! The seven dialects, how a request path maps to one, and each dialect's error body, so that
//! every failure (bad input, auth, injected 429/500/503) reaches the client in the shape the
//! real backend would use.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A backend dialect served by the mock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Dialect {
    /// MIPTech REST + WebSocket (`/healthz`, `/api/v1/...`).
    #[serde(rename = "miptech")]
    Miptech,
    /// Chat V2 WebSocket (`/v2/chat/...`).
    #[serde(rename = "chat-v2")]
    ChatV2,
    /// Chat Interfaces REST + SSE (`/api/public/chat-interfaces/...`).
    #[serde(rename = "chat-interfaces")]
    ChatInterfaces,
    /// Parlant REST long-poll (`/sessions/...`, `/agents`).
    #[serde(rename = "parlant")]
    Parlant,
    /// OpenAI-compatible chat completions (`/v1/...`).
    #[serde(rename = "openai")]
    OpenAi,
    /// chatwire's native WebSocket protocol (`/native/v1/ws`).
    #[serde(rename = "native")]
    Native,
    /// The AI SDK's UI message stream (`/api/chat`, `/api/chat/{id}/stream`).
    #[serde(rename = "ai-sdk")]
    AiSdk,
}

impl Dialect {
    /// Every dialect, in documentation order.
    pub const ALL: [Dialect; 7] = [
        Dialect::Miptech,
        Dialect::ChatV2,
        Dialect::ChatInterfaces,
        Dialect::Parlant,
        Dialect::OpenAi,
        Dialect::Native,
        Dialect::AiSdk,
    ];

    /// The dialect's name on the wire and in fault specs (`"chat-v2"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Miptech => "miptech",
            Dialect::ChatV2 => "chat-v2",
            Dialect::ChatInterfaces => "chat-interfaces",
            Dialect::Parlant => "parlant",
            Dialect::OpenAi => "openai",
            Dialect::Native => "native",
            Dialect::AiSdk => "ai-sdk",
        }
    }

    /// Parses a dialect name as written by [`Dialect::as_str`].
    pub fn from_name(name: &str) -> Option<Dialect> {
        Dialect::ALL.into_iter().find(|d| d.as_str() == name)
    }

    /// The dialect a request path belongs to (`None` for `/_mock/...` and unknown paths).
    pub fn for_path(path: &str) -> Option<Dialect> {
        if path == "/healthz" || path.starts_with("/api/v1/") {
            Some(Dialect::Miptech)
        } else if path.starts_with("/api/public/chat-interfaces/") {
            Some(Dialect::ChatInterfaces)
        } else if path == "/v2/chat" || path.starts_with("/v2/chat/") {
            Some(Dialect::ChatV2)
        } else if path.starts_with("/sessions") || path.starts_with("/agents") {
            Some(Dialect::Parlant)
        } else if path.starts_with("/v1/") {
            Some(Dialect::OpenAi)
        } else if path.starts_with("/native/") {
            Some(Dialect::Native)
        } else if path == "/api/chat" || path.starts_with("/api/chat/") {
            Some(Dialect::AiSdk)
        } else {
            None
        }
    }
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure to report to a client, rendered in its dialect's error shape.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub retryable: bool,
    pub retry_after_s: Option<u64>,
}

impl ApiError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
            retryable,
            retry_after_s: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "bad_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "not_found", message)
    }

    pub fn retry_after(mut self, seconds: Option<u64>) -> Self {
        self.retry_after_s = seconds;
        self
    }

    /// The body this error has in `dialect` (see each dialect module's docs).
    pub fn body(&self, dialect: Option<Dialect>) -> Value {
        match dialect {
            Some(Dialect::Miptech) => json!({
                "detail": self.message,
                "type": miptech_type(self.status),
                "code": self.code.to_uppercase(),
                "retryable": self.retryable,
            }),
            Some(Dialect::ChatInterfaces) => json!({
                "success": false,
                "error": self.message,
                "code": self.code.to_uppercase(),
                "retryable": self.retryable,
            }),
            Some(Dialect::Parlant) | Some(Dialect::ChatV2) => json!({ "detail": self.message }),
            Some(Dialect::OpenAi) => json!({
                "error": {
                    "message": self.message,
                    "type": openai_type(self.status),
                    "param": null,
                    "code": self.code,
                }
            }),
            Some(Dialect::Native) => json!({
                "type": "error",
                "code": self.code,
                "message": self.message,
                "retryable": self.retryable,
            }),
            Some(Dialect::AiSdk) | None => json!({ "error": self.message, "code": self.code }),
        }
    }

    /// The full HTTP response (status, JSON body, `Retry-After` when set).
    pub fn into_response_for(self, dialect: Option<Dialect>) -> Response {
        let body = self.body(dialect);
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after_s
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

fn miptech_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 422 => "validation_error",
        401 => "authentication_error",
        403 => "authorization_error",
        404 => "not_found",
        413 => "payload_too_large",
        429 => "rate_limit_error",
        503 => "service_unavailable",
        _ if status.is_server_error() => "server_error",
        _ => "client_error",
    }
}

fn openai_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        _ if status.is_server_error() => "server_error",
        _ => "invalid_request_error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_dialects() {
        assert_eq!(Dialect::for_path("/healthz"), Some(Dialect::Miptech));
        assert_eq!(Dialect::for_path("/api/v1/ws/chat"), Some(Dialect::Miptech));
        assert_eq!(
            Dialect::for_path("/api/public/chat-interfaces/demo/stream"),
            Some(Dialect::ChatInterfaces)
        );
        assert_eq!(Dialect::for_path("/v2/chat/s1"), Some(Dialect::ChatV2));
        assert_eq!(
            Dialect::for_path("/sessions/x/events"),
            Some(Dialect::Parlant)
        );
        assert_eq!(
            Dialect::for_path("/v1/chat/completions"),
            Some(Dialect::OpenAi)
        );
        assert_eq!(Dialect::for_path("/native/v1/ws"), Some(Dialect::Native));
        assert_eq!(Dialect::for_path("/api/chat"), Some(Dialect::AiSdk));
        assert_eq!(
            Dialect::for_path("/api/chat/c-1/stream"),
            Some(Dialect::AiSdk)
        );
        assert_eq!(Dialect::for_path("/api/chatter"), None);
        assert_eq!(Dialect::for_path("/_mock/faults"), None);
    }

    #[test]
    fn names_round_trip() {
        for d in Dialect::ALL {
            assert_eq!(Dialect::from_name(d.as_str()), Some(d));
        }
        assert_eq!(Dialect::from_name("nope"), None);
    }

    #[test]
    fn miptech_error_shape() {
        let body = ApiError::new(429, "rate_limited", "slow down").body(Some(Dialect::Miptech));
        assert_eq!(body["detail"], "slow down");
        assert_eq!(body["code"], "RATE_LIMITED");
        assert_eq!(body["type"], "rate_limit_error");
        assert_eq!(body["retryable"], true);
    }
}

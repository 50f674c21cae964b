//! Connection options shared by `chat` and `events` (dialect, URL, auth, `--param key=value`),
//! and [`follow_turn`]: waiting for the end of the turn that answers one message, through
//! reconnections and retried turns.

use chatwire::Client;
use chatwire::ConnectionState;
use chatwire::client::{ClientBuilder, DialectKind, EventStream, Receipt};
use chatwire::event::{DeliveryStatus, Envelope, Event, FailReason, TurnErrorCode};
use clap::Args;
use std::time::Duration;

/// How to reach a backend (`Debug` shows no credential: see [`ConnArgs::display_url`]).
#[derive(Args)]
pub struct ConnArgs {
    /// Backend dialect: native, miptech, chat-v2, chat-interfaces, parlant, openai, ai-sdk.
    #[arg(long, short = 'd')]
    pub dialect: DialectKind,
    /// Base URL of the backend, e.g. http://127.0.0.1:8080 (the URL `chatwire mock` prints).
    #[arg(long, short = 'u')]
    pub url: String,
    /// API key (each dialect sends it where its backend expects it).
    #[arg(long, env = "CHATWIRE_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Bearer token.
    #[arg(long, env = "CHATWIRE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Tenant id (miptech).
    #[arg(long)]
    pub tenant: Option<String>,
    /// Extra header for every request, as `Name: value` (repeatable).
    #[arg(long = "header", short = 'H', value_parser = parse_header)]
    pub headers: Vec<(String, String)>,
    /// Dialect setting as key=value (repeatable): slug, session_id, agent_id, model,
    /// conversation_id, ... Every one defaults to a value chatwire-mock accepts.
    #[arg(long = "param", short = 'p', value_parser = parse_param)]
    pub params: Vec<(String, String)>,
    /// Allow http:// and ws:// to hosts that are not loopback.
    #[arg(long)]
    pub insecure: bool,
    /// Retries after a failed connection attempt before giving up (the engine's max_attempts).
    #[arg(long, default_value_t = 3)]
    pub max_attempts: u32,
    /// Seed of the client's RNG (reproducible ids and jitter).
    #[arg(long)]
    pub seed: Option<u64>,
}

impl ConnArgs {
    /// The URL as it may be shown: without a query, fragment or user info, which can carry
    /// credentials (`?token=...`, `user:password@`).
    pub fn display_url(&self) -> String {
        display_url(&self.url)
    }

    /// A client builder with every option applied.
    pub fn builder(&self) -> ClientBuilder {
        let mut b = Client::builder(self.dialect, self.url.clone())
            .allow_insecure(self.insecure)
            .max_attempts(self.max_attempts.max(1));
        if let Some(key) = &self.api_key {
            b = b.api_key(key.clone());
        }
        if let Some(token) = &self.token {
            b = b.bearer_token(token.clone());
        }
        if let Some(tenant) = &self.tenant {
            b = b.tenant(tenant.clone());
        }
        for (k, v) in &self.headers {
            b = b.header(k.clone(), v.clone());
        }
        for (k, v) in &self.params {
            b = b.param(k.clone(), v.clone());
        }
        if let Some(seed) = self.seed {
            b = b.seed(seed);
        }
        b
    }
}

/// `url` without user info, query and fragment.
fn display_url(url: &str) -> String {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    let url = &url[..end];
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), url),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}{host}{path}")
}

impl std::fmt::Debug for ConnArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |set: bool| if set { "***" } else { "-" };
        let headers: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        let params: Vec<&str> = self.params.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("ConnArgs")
            .field("dialect", &self.dialect)
            .field("url", &self.display_url())
            .field("api_key", &hidden(self.api_key.is_some()))
            .field("token", &hidden(self.token.is_some()))
            .field("tenant", &self.tenant)
            .field("headers", &headers)
            .field("params", &params)
            .field("insecure", &self.insecure)
            .field("max_attempts", &self.max_attempts)
            .field("seed", &self.seed)
            .finish()
    }
}

fn parse_param(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("expected key=value, got {s:?}"))?;
    if k.trim().is_empty() {
        return Err("empty param name".into());
    }
    Ok((k.trim().to_string(), v.to_string()))
}

fn parse_header(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once(':')
        .ok_or_else(|| format!("expected 'Name: value', got {s:?}"))?;
    if k.trim().is_empty() {
        return Err("empty header name".into());
    }
    Ok((k.trim().to_string(), v.trim().to_string()))
}

/// How the exchange for one message ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `TurnCompleted`.
    Completed,
    /// `TurnCancelled`.
    Cancelled,
    /// The turn failed for good, or the message could not be delivered.
    Failed(String),
    /// The client gave up connecting (or was closed).
    ConnectionFailed(String),
    /// No end of turn within the time limit.
    TimedOut,
}

/// Reads `events` (handing each to `on_event`) until the turn answering `receipt` ended.
///
/// A `TurnFailed` caused by a lost connection (`disconnected`, `discontinuity`, `eof`) is not the
/// end while the message is still unacknowledged: the engine re-sends it with the same client id
/// and the backend answers in a new attempt. "Unacknowledged" is the message's status as of that
/// envelope (its `messageStatus` envelopes, in stream order), not the receipt's live status: a
/// re-sent message can be acked before the app reads the failure of its first attempt (ai-sdk
/// re-sends right after the `Discontinuity`).
pub async fn follow_turn(
    events: &mut EventStream,
    receipt: &Receipt,
    acks: bool,
    limit: Duration,
    mut on_event: impl FnMut(&Envelope),
) -> Outcome {
    let deadline = tokio::time::Instant::now() + limit;
    let mut last_error = String::new();
    // the stream was subscribed before the send: its first status for the message is `queued`
    let mut status = DeliveryStatus::Queued;
    loop {
        let envelope = match tokio::time::timeout_at(deadline, events.recv()).await {
            Err(_) => return Outcome::TimedOut,
            Ok(None) => return Outcome::ConnectionFailed("the client closed".into()),
            Ok(Some(envelope)) => envelope,
        };
        on_event(&envelope);
        match &envelope.event {
            Event::TurnCompleted { .. } => return Outcome::Completed,
            Event::TurnCancelled => return Outcome::Cancelled,
            Event::TurnFailed { error } => {
                let transient = matches!(
                    error.code,
                    TurnErrorCode::Disconnected | TurnErrorCode::Discontinuity | TurnErrorCode::Eof
                );
                let pending = match status {
                    DeliveryStatus::Queued => true,
                    DeliveryStatus::Sent => acks,
                    _ => false,
                };
                if !(transient && pending) {
                    return Outcome::Failed(format!("{:?}: {}", error.code, error.message));
                }
            }
            Event::MessageStatus {
                client_id,
                status: DeliveryStatus::Failed { reason },
                ..
            } if *client_id == receipt.client_id() => {
                if *reason == FailReason::ConnectionFailed {
                    let why = if last_error.is_empty() {
                        "gave up connecting".to_string()
                    } else {
                        last_error
                    };
                    return Outcome::ConnectionFailed(why);
                }
                return Outcome::Failed(format!("message not delivered ({reason:?})"));
            }
            Event::MessageStatus {
                client_id,
                status: now,
                ..
            } if *client_id == receipt.client_id() => status = now.clone(),
            Event::Error { message, .. } => last_error = message.clone(),
            Event::StateChanged {
                to: ConnectionState::Failed | ConnectionState::Closed,
                ..
            } => {
                if last_error.is_empty() {
                    last_error = "gave up connecting".into();
                }
                return Outcome::ConnectionFailed(last_error);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_and_headers_parse() {
        assert_eq!(parse_param("slug=demo"), Ok(("slug".into(), "demo".into())));
        assert_eq!(parse_param("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert!(parse_param("novalue").is_err());
        assert!(parse_param("=x").is_err());
        assert_eq!(
            parse_header("X-Trace: on"),
            Ok(("X-Trace".into(), "on".into()))
        );
        assert!(parse_header("bad").is_err());
    }

    #[test]
    fn debug_output_hides_credentials() {
        let args = ConnArgs {
            dialect: DialectKind::Openai,
            url: "http://127.0.0.1:9/?token=url-secret".into(),
            api_key: Some("key-secret".into()),
            token: Some("bearer-secret".into()),
            tenant: Some("acme".into()),
            headers: vec![("X-Api-Key".into(), "header-secret".into())],
            params: vec![("token".into(), "param-secret".into())],
            insecure: false,
            max_attempts: 3,
            seed: None,
        };
        let shown = format!("{args:?}");
        for secret in [
            "url-secret",
            "key-secret",
            "bearer-secret",
            "header-secret",
            "param-secret",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(
            shown.contains("X-Api-Key") && shown.contains("acme"),
            "{shown}"
        );
    }

    #[test]
    fn shown_urls_lose_credentials() {
        assert_eq!(
            display_url("https://user:pw@host:8/a/b?token=s3cret#frag"),
            "https://host:8/a/b"
        );
        assert_eq!(display_url("http://h?k=v"), "http://h");
        assert_eq!(display_url("http://h/p@x"), "http://h/p@x");
        assert_eq!(display_url("h:1/x?y"), "h:1/x");
    }
}

//! [`ChatClient`]: the whole `chatwire::Client` for Kotlin, Swift and Python, as small wrappers
//! that convert arguments, call the core and convert the result (no policy lives here).
//!
//! Every client runs on one multi-threaded tokio runtime that this library owns ([`runtime`]),
//! so foreign callers need no runtime of their own: async methods only await channels of the
//! core's driver, which work under any executor (the uniffi foreign executors of Kotlin
//! coroutines, Python asyncio and Swift concurrency). Events are *pulled*
//! ([`ChatClient::subscribe`] → [`EventSubscription::next`]): no foreign callback ever runs on a
//! tokio thread except the optional [`TokenProvider`], and that one is bounded by a timeout, so a
//! foreign implementation that never answers cannot wedge the client.
//!
//! Dropping the last reference to a `ChatClient` (Kotlin `close()`/`use {}`, Python garbage
//! collection) closes the core client like [`ChatClient::shutdown`] does.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chatwire::client::{Client, ClientBuilder};
use chatwire::{ClientId, ClientOptions};
use futures_util::FutureExt;

use crate::ChatError;
use crate::listener::{CountedStream, Subscribers};
use crate::subscription::{EventSubscription, Receipt, StateSubscription};
use crate::types::{Capabilities, ClientStats, ConnectionState};

/// Supplies bearer tokens, implemented in the foreign language. Called before the first
/// connection and after the backend rejects the credentials, never twice at once.
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait TokenProvider: Send + Sync {
    /// A fresh bearer token. An error (or no answer within the client's token timeout) counts
    /// as a failed refresh; the client retries it under its backoff.
    async fn token(&self) -> Result<String, TokenError>;
}

/// Why a [`TokenProvider`] could not give a token. (Not [`ChatError`]: a flat error cannot
/// travel from foreign code into Rust, and a token provider has one way to fail.)
///
/// ```
/// let e = chatwire_ffi::TokenError::Failed { reason: "offline".into() };
/// assert_eq!(e.to_string(), "offline");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// No token now; `reason` says why (shown in the client's `Error{kind: auth}` event).
    /// (Not `message`: that name clashes with `Throwable.message` in Kotlin.)
    #[error("{reason}")]
    Failed {
        /// Why.
        reason: String,
    },
}

/// A foreign trait call that fails in the bindings' own machinery (an unexpected exception)
/// arrives as this; it becomes a failed refresh like any other.
impl From<uniffi::UnexpectedUniFFICallbackError> for TokenError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        TokenError::Failed {
            reason: error.reason,
        }
    }
}

/// A chat client: one connection to one backend, built from `ClientOptions` JSON.
///
/// ```
/// use chatwire_ffi::{ChatClient, ConnectionState};
/// let client = ChatClient::new(r#"{"dialect":"native","baseUrl":"http://127.0.0.1:9"}"#.into())?;
/// assert_eq!(client.state(), ConnectionState::Disconnected); // lazy: nothing connects yet
/// assert_eq!(client.dialect(), "native");
/// # Ok::<(), chatwire_ffi::ChatError>(())
/// ```
#[derive(Debug, uniffi::Object)]
pub struct ChatClient {
    inner: Client,
    subscribers: Subscribers,
}

/// How long a [`TokenProvider`] may take when the caller gives no timeout.
pub const DEFAULT_TOKEN_TIMEOUT_MS: u64 = 10_000;

#[uniffi::export]
impl ChatClient {
    /// A client from `ClientOptions` JSON (`{"dialect":"native","baseUrl":"https://..."}`;
    /// `sdk-core/src/options` documents every field). Nothing connects before the first send
    /// unless `"lazyConnect": false`.
    ///
    /// # Errors
    /// `InvalidConfig` for malformed JSON or invalid options, `Internal` when the library's
    /// runtime cannot start.
    #[uniffi::constructor]
    pub fn new(options_json: String) -> Result<Arc<ChatClient>, ChatError> {
        let options = ClientOptions::from_json(&options_json)?;
        build(ClientBuilder::from_options(options))
    }

    /// Like [`new`](Self::new), with a token provider asked for bearer tokens; a call that has
    /// not answered after `timeout_ms` (0: 10 s) fails like a provider error.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    #[uniffi::constructor]
    pub fn with_token_provider(
        options_json: String,
        provider: Arc<dyn TokenProvider>,
        timeout_ms: u64,
    ) -> Result<Arc<ChatClient>, ChatError> {
        let options = ClientOptions::from_json(&options_json)?;
        let timeout = Duration::from_millis(if timeout_ms == 0 {
            DEFAULT_TOKEN_TIMEOUT_MS
        } else {
            timeout_ms
        });
        let builder = ClientBuilder::from_options(options).token_provider(move || {
            let provider = provider.clone();
            async move {
                // A panic while lifting the foreign answer must not take the client's driver
                // task down with it: it becomes a failed refresh.
                let call = AssertUnwindSafe(provider.token()).catch_unwind();
                match tokio::time::timeout(timeout, call).await {
                    Ok(Ok(result)) => result.map_err(|e| e.to_string()),
                    Ok(Err(_panic)) => Err("the token provider's answer could not be read".into()),
                    Err(_) => Err(format!(
                        "the token provider did not answer within {} ms",
                        timeout.as_millis()
                    )),
                }
            }
        });
        build(builder)
    }

    /// Queues `text` and returns its receipt once the client accepted it.
    ///
    /// # Errors
    /// `Closed`, `QueueFull` (policy `RejectNew`), `TooLarge`.
    pub async fn send(&self, text: String) -> Result<Arc<Receipt>, ChatError> {
        let receipt = self.inner.send(text).await?;
        Ok(Arc::new(Receipt::new(receipt)))
    }

    /// Queues 16-bit PCM audio (dialects with `capabilities().audio`).
    ///
    /// # Errors
    /// `Unsupported` on text-only dialects, else as [`send`](Self::send).
    pub async fn send_audio(&self, pcm16: Vec<i16>) -> Result<Arc<Receipt>, ChatError> {
        let receipt = self.inner.send_audio(&pcm16).await?;
        Ok(Arc::new(Receipt::new(receipt)))
    }

    /// Takes back a queued message that has not been sent yet (its receipt fails `discarded`).
    ///
    /// # Errors
    /// `InvalidInput` for a malformed id, `AlreadySent`, `NotFound`, `Closed`.
    pub async fn discard(&self, client_id: String) -> Result<(), ChatError> {
        let id: ClientId = client_id
            .parse()
            .map_err(|_| ChatError::invalid(format!("not a client id: {client_id:?}")))?;
        Ok(self.inner.discard(id).await?)
    }

    /// Tells the backend the user is typing (or stopped), throttled by the client; a no-op on
    /// dialects without typing indicators (`capabilities().typing`).
    ///
    /// # Errors
    /// `Closed`.
    pub async fn typing(&self, active: bool) -> Result<(), ChatError> {
        Ok(self.inner.typing(active).await?)
    }

    /// Cancels the current assistant turn.
    ///
    /// # Errors
    /// `Closed`.
    pub async fn cancel_turn(&self) -> Result<(), ChatError> {
        Ok(self.inner.cancel_turn().await?)
    }

    /// Connects now (skipping a pending backoff wait, or leaving `Failed`).
    ///
    /// # Errors
    /// `Closed`.
    pub async fn reconnect_now(&self) -> Result<(), ChatError> {
        Ok(self.inner.reconnect_now().await?)
    }

    /// Connects now instead of on the first send (lazy connect).
    ///
    /// # Errors
    /// `Closed`.
    pub async fn connect(&self) -> Result<(), ChatError> {
        Ok(self.inner.connect().await?)
    }

    /// Closes the client: pending receipts fail `closed`, subscriptions end. Idempotent. (Not
    /// named `close`: generated Kotlin classes already have `close()`, which frees the handle.)
    pub async fn shutdown(&self) {
        self.inner.close().await;
    }

    /// Every event from now on, pulled with [`EventSubscription::next`]. Subscribe before
    /// `send` to see the whole turn.
    pub fn subscribe(&self) -> Arc<EventSubscription> {
        Arc::new(EventSubscription::new(self.counted_events()))
    }

    /// Changes of the connection state, pulled with [`StateSubscription::next`].
    pub fn watch_state(&self) -> Arc<StateSubscription> {
        Arc::new(StateSubscription::new(self.inner.state_watch()))
    }

    /// The current connection state.
    pub fn state(&self) -> ConnectionState {
        self.inner.state()
    }

    /// Counters since the client was built.
    pub fn stats(&self) -> ClientStats {
        self.inner.stats().into()
    }

    /// What the backend's dialect supports.
    pub fn capabilities(&self) -> Capabilities {
        self.inner.capabilities().into()
    }

    /// The dialect's name (`native`, `miptech`, `chat-v2`, ...).
    pub fn dialect(&self) -> String {
        self.inner.dialect().to_string()
    }
}

impl ChatClient {
    /// The core client (for the C API).
    pub(crate) fn core(&self) -> &Client {
        &self.inner
    }

    /// A new event stream, counted by [`ChatClient::subscriber_count`] until dropped.
    pub(crate) fn counted_events(&self) -> CountedStream {
        self.subscribers.count(self.inner.events())
    }

    pub(crate) fn subscribers(&self) -> &Subscribers {
        &self.subscribers
    }
}

/// The library's tokio runtime, started on first use: two worker threads named `chatwire`.
///
/// # Errors
/// `Internal` when the OS refuses the threads (then every later call fails the same way).
pub(crate) fn runtime() -> Result<&'static tokio::runtime::Runtime, ChatError> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("chatwire")
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the chatwire runtime: {e}"))
        })
        .as_ref()
        .map_err(|message| ChatError::Internal {
            message: message.clone(),
        })
}

/// Builds the client on the library's runtime.
pub(crate) fn build(builder: ClientBuilder) -> Result<Arc<ChatClient>, ChatError> {
    let handle = runtime()?.handle().clone();
    let inner = builder
        .runtime(chatwire::driver::Runtime::new(handle))
        .build()?;
    Ok(Arc::new(ChatClient {
        inner,
        subscribers: Subscribers::default(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chatwire::ErrorCode;

    #[test]
    fn bad_options_are_invalid_config() {
        for json in [
            "not json",
            r#"{"dialect":"nope","baseUrl":"http://127.0.0.1:1"}"#,
            r#"{"dialect":"native","baseUrl":"http://chat.example.com"}"#,
            r#"{"dialect":"native","baseUrl":"http://127.0.0.1:1","tokenProvider":true}"#,
        ] {
            let err = ChatClient::new(json.into()).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidConfig, "{json}: {err}");
        }
    }

    #[test]
    fn a_client_reports_its_dialect_and_capabilities_without_connecting() {
        let json = r#"{"dialect":"chat-interfaces","baseUrl":"http://127.0.0.1:9"}"#;
        let client = ChatClient::new(json.into()).unwrap();
        assert_eq!(client.dialect(), "chat-interfaces");
        let caps = client.capabilities();
        assert!(caps.acks && caps.resume && !caps.audio);
        assert_eq!(client.state(), ConnectionState::Disconnected);
        assert_eq!(client.stats(), ClientStats::default());
    }
}

//! The token provider's state machine, inside the [`Session`](super::Session).
//!
//! With a provider configured:
//! - transport operations are **held** until the provider first answered (a socket opened
//!   without the token would only be refused);
//! - a fetch is asked for ([`SessionOutput::FetchToken`](super::SessionOutput::FetchToken)) at the
//!   first held operation and after every `Error{kind: Auth}` event — **one at a time**: no new
//!   fetch is asked for before the previous answer;
//! - a fresh token after a refresh makes the session reconnect at once, whether the engine is
//!   waiting out a backoff or gave up — for at most [`MAX_REFRESHES_WITHOUT_READY`] refreshes
//!   without the connection reaching `Ready` in between; later refreshes still happen (a token
//!   rotated twice must not strand the client on a stale one) but their token waits for the next
//!   scheduled attempt, so a provider that keeps handing out rejected tokens is paced by the
//!   backoff and bounded by `max_attempts` instead of looping;
//! - a provider error is not fatal: the session goes on with the previous token (or none), and
//!   the backend's refusal reaches the app as an engine event instead of the client hanging.
//!
//! `RefreshingAuth` wraps the dialect so that auth failures are retried, not final, while a
//! provider is set; the attempts are still bounded by `max_attempts`. Before each connection
//! attempt it hands the dialect the latest token ([`Dialect::set_token`]), so a dialect whose
//! backend also reads the token from a first frame or a query parameter sends it there too (the
//! session's `Authorization` header cannot travel on a browser's WebSocket upgrade).

use super::Transport;
use crate::DialectError;
use crate::backoff::RetryContext;
use crate::dialect::{
    Actions, Capabilities, ConnectContext, Dialect, Disconnect, Failure, FailureKind, Outbound,
    RetryHint, TransportEvent,
};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

/// The latest token, shared by the [`TokenState`] that receives it and the [`RefreshingAuth`]
/// that hands it to the dialect at the next connection attempt.
pub(super) type SharedToken = Arc<Mutex<Option<String>>>;

/// Token refreshes allowed without reaching `Ready` in between.
pub const MAX_REFRESHES_WITHOUT_READY: u32 = 3;

/// The provider's state (see the module docs).
#[derive(Debug, Default)]
pub(super) struct TokenState {
    token: Option<String>,
    /// The provider answered at least once (successfully or not).
    answered: bool,
    fetching: bool,
    /// Transport operations held until the provider first answered.
    parked: VecDeque<Transport>,
    refreshes_since_ready: u32,
    /// A fresh token arrived after a refresh: reconnect at once.
    retry: bool,
    /// The latest token, for the dialect.
    shared: SharedToken,
}

/// What [`TokenState::hold`] did with a transport operation.
pub(super) enum Held {
    /// Held until the first token; `fetch`: ask the provider now.
    Parked { fetch: bool },
    /// Goes out now.
    Released(Transport),
}

impl TokenState {
    /// The current token, once the provider handed one out.
    pub(super) fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The cell through which the dialect learns the latest token.
    pub(super) fn shared(&self) -> SharedToken {
        self.shared.clone()
    }

    /// Holds `op` until the first answer.
    pub(super) fn hold(&mut self, op: Transport) -> Held {
        if self.answered {
            return Held::Released(op);
        }
        self.parked.push_back(op);
        let fetch = !self.fetching;
        self.fetching = true;
        Held::Parked { fetch }
    }

    /// An auth failure: whether to ask for a fresh token now (single flight).
    pub(super) fn want_refresh(&mut self) -> bool {
        if self.fetching {
            return false;
        }
        if self.answered {
            self.refreshes_since_ready = self.refreshes_since_ready.saturating_add(1);
        }
        self.fetching = true;
        true
    }

    /// The provider answered: the held operations to release now, in order.
    pub(super) fn answer(&mut self, answer: Result<String, String>) -> Vec<Transport> {
        let refresh = self.answered;
        self.fetching = false;
        self.answered = true;
        if let Ok(token) = answer {
            *self.shared.lock().unwrap_or_else(PoisonError::into_inner) = Some(token.clone());
            self.token = Some(token);
            self.retry = refresh && self.refreshes_since_ready <= MAX_REFRESHES_WITHOUT_READY;
        }
        self.parked.drain(..).collect()
    }

    /// Whether to reconnect now after a fresh token (once; only while not connected).
    pub(super) fn take_retry(&mut self, waiting: bool) -> bool {
        std::mem::take(&mut self.retry) && waiting
    }

    /// The connection reached `Ready`: the refresh budget starts over.
    pub(super) fn on_ready(&mut self) {
        self.refreshes_since_ready = 0;
    }

    /// The session closed: held operations never run (their transports never opened).
    pub(super) fn drop_parked(&mut self) {
        self.parked.clear();
    }
}

/// A dialect whose auth failures are retried (see the module docs). Every [`Dialect`] method
/// is forwarded, including the ones with default implementations.
pub(super) struct RefreshingAuth(pub(super) Box<dyn Dialect>, pub(super) SharedToken);

impl RefreshingAuth {
    /// Hands the dialect the latest token, if the provider gave one.
    fn apply_token(&mut self) {
        let token = self
            .1
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(token) = token {
            self.0.set_token(&token);
        }
    }
}

impl Dialect for RefreshingAuth {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn capabilities(&self) -> Capabilities {
        self.0.capabilities()
    }

    fn connect(&mut self, cx: &ConnectContext<'_>, out: &mut Actions) {
        self.apply_token();
        self.0.connect(cx, out)
    }

    fn on_transport(&mut self, event: TransportEvent<'_>, out: &mut Actions) {
        // A socket's first frame is built when it opens: the first attempt's socket was planned
        // before the provider answered (it waited, held), so the token is handed over again here.
        if matches!(event, TransportEvent::SocketOpened { .. }) {
            self.apply_token();
        }
        self.0.on_transport(event, out)
    }

    fn encode(&mut self, command: Outbound<'_>, out: &mut Actions) -> Result<(), DialectError> {
        self.0.encode(command, out)
    }

    fn classify(&self, failure: &Failure) -> RetryHint {
        if failure.kind == FailureKind::Auth {
            let mut hint = RetryHint::retry(RetryContext::Other);
            hint.after = failure.retry_after;
            return hint;
        }
        self.0.classify(failure)
    }

    fn disconnect(&mut self, reason: Disconnect, out: &mut Actions) {
        self.0.disconnect(reason, out)
    }

    fn set_token(&mut self, token: &str) {
        self.0.set_token(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::native::{NativeConfig, NativeDialect};
    use crate::ids::ConnId;

    #[test]
    fn auth_failures_become_retryable_and_the_rest_is_unchanged() {
        let inner = || Box::new(NativeDialect::new(NativeConfig::new("http://h", "c")));
        let wrapped = RefreshingAuth(inner(), SharedToken::default());
        let auth = Failure::from_http_status(401, &[], "expired");
        assert!(!inner().classify(&auth).retry);
        assert!(wrapped.classify(&auth).retry);
        let fatal = Failure::new(FailureKind::Fatal, "404");
        assert_eq!(wrapped.classify(&fatal), inner().classify(&fatal));
        assert_eq!(wrapped.name(), "native");
        assert_eq!(wrapped.capabilities(), inner().capabilities());
    }

    #[test]
    fn one_fetch_at_a_time_and_a_bounded_refresh_budget() {
        let mut state = TokenState::default();
        let op = |n| Transport::CloseSocket { conn: ConnId(n) };
        assert!(matches!(state.hold(op(1)), Held::Parked { fetch: true }));
        assert!(matches!(state.hold(op(2)), Held::Parked { fetch: false }));
        assert!(!state.want_refresh(), "a fetch is already running");
        assert_eq!(state.answer(Ok("a".into())), vec![op(1), op(2)]);
        assert!(!state.take_retry(true), "the first token is not a refresh");
        assert!(matches!(state.hold(op(3)), Held::Released(_)));
        for _ in 0..MAX_REFRESHES_WITHOUT_READY {
            assert!(state.want_refresh());
            assert!(!state.want_refresh());
            state.answer(Ok("b".into()));
            assert!(state.take_retry(true));
            assert!(!state.take_retry(true), "one retry per token");
        }
        assert!(state.want_refresh(), "refreshes go on after the budget");
        state.answer(Ok("c".into()));
        assert!(
            !state.take_retry(true),
            "but wait for the scheduled attempt"
        );
        assert_eq!(state.token(), Some("c"));
        state.on_ready();
        assert!(state.want_refresh());
        state.answer(Err("down".into()));
        assert_eq!(
            state.token(),
            Some("c"),
            "an error keeps the previous token"
        );
        assert!(!state.take_retry(true));
    }
}

//! The token provider inside the driver: parks transport outputs until the first token arrived,
//! fetches again (one fetch at a time, a bounded number of times without reaching `Ready`) after
//! an `Error{kind: Auth}` event, and asks the engine to reconnect at once with the new token.
//! The token itself is put in the `Authorization` header by [`Driver::execute`].

use super::{Driver, Report};
use crate::client::TokenProvider;
use crate::io::{Command, Input, Output};
use crate::state::ConnectionState;
use crate::time::Instant;
use std::collections::VecDeque;

/// Token refreshes allowed without reaching `Ready` in between (stops a refresh loop when the
/// provider keeps handing out rejected tokens).
const MAX_REFRESHES_WITHOUT_READY: u32 = 3;

/// The token provider's state inside the driver.
pub(super) struct Auth {
    provider: TokenProvider,
    token: Option<String>,
    /// The provider answered at least once (successfully or not).
    answered: bool,
    fetching: bool,
    /// Transport outputs held until the provider first answered.
    parked: VecDeque<Output>,
    refreshes_since_ready: u32,
}

impl Auth {
    pub(super) fn new(provider: TokenProvider) -> Auth {
        Auth {
            provider,
            token: None,
            answered: false,
            fetching: false,
            parked: VecDeque::new(),
            refreshes_since_ready: 0,
        }
    }

    /// The current token, once the provider handed one out.
    pub(super) fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The connection reached `Ready`: the refresh budget starts over.
    pub(super) fn on_ready(&mut self) {
        self.refreshes_since_ready = 0;
    }
}

impl Driver {
    /// Parks transport outputs until the token provider first answered (when there is one).
    /// `None`: the output was parked.
    pub(super) fn authorize(&mut self, output: Output) -> Option<Output> {
        let Some(auth) = &mut self.auth else {
            return Some(output);
        };
        if !auth.answered {
            auth.parked.push_back(output);
            self.refresh_token();
            return None;
        }
        Some(output)
    }

    /// Starts one token fetch unless one is running (single flight) or the refresh budget is
    /// spent.
    pub(super) fn refresh_token(&mut self) {
        let Some(auth) = &mut self.auth else { return };
        if auth.fetching {
            return;
        }
        if auth.answered {
            if auth.refreshes_since_ready >= MAX_REFRESHES_WITHOUT_READY {
                tracing::warn!("token provider: refresh budget spent, not fetching again");
                return;
            }
            auth.refreshes_since_ready += 1;
        }
        auth.fetching = true;
        let future = (auth.provider)();
        let reports = self.reports.clone();
        tokio::spawn(async move {
            let result = future.await;
            let _ = reports.send(Report::Token(result)).await;
        });
    }

    pub(super) fn token_arrived(&mut self, now: Instant, result: Result<String, String>) {
        let Some(auth) = &mut self.auth else { return };
        auth.fetching = false;
        let refresh = auth.answered;
        auth.answered = true;
        let fresh = match result {
            Ok(token) => {
                auth.token = Some(token);
                true
            }
            // Go on without (or with the old) token: the backend's refusal then reaches the app
            // as an engine event instead of the client hanging.
            Err(error) => {
                tracing::warn!(%error, "token provider failed");
                false
            }
        };
        let parked: Vec<Output> = auth.parked.drain(..).collect();
        for output in parked {
            self.execute(output);
        }
        // A refresh follows an auth failure: retry at once with the new token, whether the
        // engine is waiting out a backoff or gave up.
        let waiting = matches!(
            self.engine.state(),
            ConnectionState::Failed | ConnectionState::Reconnecting { .. }
        );
        if refresh && fresh && waiting {
            self.feed(now, Input::Command(Command::ReconnectNow));
        }
    }
}

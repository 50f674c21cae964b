//! The token-provider wrapper around a dialect: with a provider configured, an authentication
//! failure is retryable instead of final, so messages stay queued while the driver fetches a
//! fresh token (the next attempt carries it in `Authorization: Bearer`).
//!
//! Everything else is delegated unchanged. The wrapper only changes the retry decision for
//! `FailureKind::Auth`; the number of attempts is still bounded by `max_attempts`, and the
//! driver fetches at most three tokens without a successful connection in between.

use crate::DialectError;
use crate::backoff::RetryContext;
use crate::dialect::{
    Actions, Capabilities, ConnectContext, Dialect, Disconnect, Failure, FailureKind, Outbound,
    RetryHint, TransportEvent,
};

/// A dialect whose auth failures are retried (see the module docs). Every [`Dialect`] method
/// is forwarded, including the ones with default implementations.
pub(super) struct RefreshingAuth(pub(super) Box<dyn Dialect>);

impl Dialect for RefreshingAuth {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn capabilities(&self) -> Capabilities {
        self.0.capabilities()
    }

    fn connect(&mut self, cx: &ConnectContext<'_>, out: &mut Actions) {
        self.0.connect(cx, out)
    }

    fn on_transport(&mut self, event: TransportEvent<'_>, out: &mut Actions) {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::native::{NativeConfig, NativeDialect};

    #[test]
    fn auth_failures_become_retryable_and_the_rest_is_unchanged() {
        let inner = || Box::new(NativeDialect::new(NativeConfig::new("http://h", "c")));
        let wrapped = RefreshingAuth(inner());
        let auth = Failure::from_http_status(401, &[], "expired");
        assert!(!inner().classify(&auth).retry);
        assert!(wrapped.classify(&auth).retry);
        let fatal = Failure::new(FailureKind::Fatal, "404");
        assert_eq!(wrapped.classify(&fatal), inner().classify(&fatal));
        assert_eq!(wrapped.name(), "native");
        assert_eq!(wrapped.capabilities(), inner().capabilities());
    }
}

//! The public connection state (seed: "Connection States") and its legal transitions.
//!
//! The engine's internal state machine has one struct per state; this small `Copy` enum is what
//! apps, bindings and the `StateChanged` event see. [`ConnectionState::can_transition_to`] is the
//! single written-down list of legal moves; the engine checks every transition against it in debug
//! builds and the simulator checks it on every run.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Where the client stands with its backend.
///
/// Serialised as an object tagged by `kind`, e.g. `{"kind":"ready"}` or
/// `{"kind":"reconnecting","attempt":2,"delayMs":1873}`.
///
/// ```
/// use chatwire::ConnectionState;
/// let s = ConnectionState::Reconnecting { attempt: 2, delay: std::time::Duration::from_millis(1873) };
/// assert_eq!(serde_json::to_string(&s).unwrap(), r#"{"kind":"reconnecting","attempt":2,"delayMs":1873}"#);
/// assert!(ConnectionState::Ready.can_transition_to(s));
/// assert!(!ConnectionState::Closed.can_transition_to(ConnectionState::Connecting));
/// ```
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Not connected and not trying (initial state; lazy connect waits for the first send).
    #[default]
    Disconnected,
    /// Establishing the connection (health check, session creation, socket open, ...).
    Connecting,
    /// The transport is open but the backend has not signalled readiness yet.
    Connected,
    /// Ready: messages flow.
    Ready,
    /// Waiting `delay` before connection attempt number `attempt` (1-based).
    Reconnecting {
        /// The attempt that will start when the delay ends.
        attempt: u32,
        /// The wait before that attempt.
        #[serde(rename = "delayMs", with = "duration_ms")]
        delay: Duration,
    },
    /// Gave up (max attempts, authentication, fatal error); `reconnect_now` starts over.
    Failed,
    /// Closed by the app. Final.
    Closed,
}

impl ConnectionState {
    /// Whether the engine may move from `self` to `next`.
    pub fn can_transition_to(self, next: ConnectionState) -> bool {
        use ConnectionState::*;
        match (self, next) {
            (Closed, _) => false,
            (_, Closed) => true,
            (Disconnected, Connecting) => true,
            (Connecting, Connected | Ready | Reconnecting { .. } | Failed) => true,
            (Connected, Ready | Reconnecting { .. } | Failed) => true,
            (Ready, Reconnecting { .. } | Failed) => true,
            // `reconnect_now` on a live connection starts a fresh attempt at once
            (Connected | Ready, Connecting) => true,
            (Reconnecting { .. }, Connecting | Failed) => true,
            (Failed, Connecting) => true,
            _ => false,
        }
    }

    /// `true` in `Ready`.
    pub fn is_ready(self) -> bool {
        matches!(self, ConnectionState::Ready)
    }
}

mod duration_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions() {
        use ConnectionState::*;
        let r = Reconnecting {
            attempt: 1,
            delay: Duration::from_secs(1),
        };
        assert!(Disconnected.can_transition_to(Connecting));
        assert!(!Disconnected.can_transition_to(Ready));
        assert!(Connecting.can_transition_to(Connected));
        assert!(Connected.can_transition_to(Ready));
        assert!(Ready.can_transition_to(r));
        assert!(r.can_transition_to(Connecting));
        assert!(!r.can_transition_to(Ready));
        assert!(Failed.can_transition_to(Connecting));
        assert!(Ready.can_transition_to(Closed));
        assert!(!Closed.can_transition_to(Closed));
        let json = serde_json::to_string(&Ready).unwrap();
        assert_eq!(json, r#"{"kind":"ready"}"#);
        assert_eq!(
            serde_json::from_str::<ConnectionState>(&json).unwrap(),
            Ready
        );
    }
}

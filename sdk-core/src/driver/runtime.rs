//! What the tokio driver needs from its surroundings: the runtime it runs on ([`Runtime`]), the
//! app's token provider ([`TokenProvider`]), the published counters, and the few readings of the
//! outside world the core never makes itself (a random seed, the wall clock once per client).

use crate::session::SessionStats;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// An async function returning a fresh bearer token (or a printable error), called by the driver
/// when the session asks for one. See `ClientBuilder::token_provider`.
pub type TokenProvider =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<String, String>> + Send>> + Send + Sync>;

/// The tokio runtime a client's driver runs on: the current one by default, or one the embedding
/// library owns (the FFI keeps its own), given with `ClientBuilder::runtime`.
///
/// ```
/// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// let runtime = chatwire::driver::Runtime::new(rt.handle().clone());
/// let client = chatwire::client::Client::builder(chatwire::DialectKind::Native, "http://127.0.0.1:9")
///     .runtime(runtime) // no ambient runtime needed
///     .build()?;
/// assert_eq!(client.state(), chatwire::ConnectionState::Disconnected);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Runtime(tokio::runtime::Handle);

impl Runtime {
    /// A runtime from a tokio handle (it needs its IO and time drivers enabled).
    pub fn new(handle: tokio::runtime::Handle) -> Runtime {
        Runtime(handle)
    }

    /// The runtime of the calling task, if any.
    ///
    /// ```
    /// assert!(chatwire::driver::Runtime::current().is_none()); // not inside a runtime here
    /// ```
    pub fn current() -> Option<Runtime> {
        tokio::runtime::Handle::try_current().ok().map(Runtime)
    }

    pub(crate) fn handle(&self) -> &tokio::runtime::Handle {
        &self.0
    }
}

/// The session's counters as published by the driver after every drain: plain relaxed atomics,
/// so reading them never waits for the driver and the driver never takes a lock per event.
#[derive(Debug, Default)]
pub(crate) struct SharedStats {
    values: [AtomicU64; 7],
}

impl SharedStats {
    pub(crate) fn store(&self, stats: SessionStats) {
        let v = [
            stats.sent,
            stats.acked,
            stats.failed,
            stats.events,
            stats.reconnects,
            stats.queued,
            stats.duplicates_dropped,
        ];
        for (slot, value) in self.values.iter().zip(v) {
            slot.store(value, Ordering::Relaxed);
        }
    }

    pub(crate) fn load(&self) -> SessionStats {
        let [
            sent,
            acked,
            failed,
            events,
            reconnects,
            queued,
            duplicates_dropped,
        ] = self
            .values
            .each_ref()
            .map(|slot| slot.load(Ordering::Relaxed));
        SessionStats {
            sent,
            acked,
            failed,
            events,
            reconnects,
            queued,
            duplicates_dropped,
        }
    }
}

/// A seed for the engine's RNG when the app sets none: OS randomness through std's hasher keys
/// mixed with the clock (the engine itself never draws randomness).
pub(crate) fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(unix_nanos());
    h.finish()
}

/// Unix time in milliseconds now (the engine's wall-clock anchor, read once per client).
pub(crate) fn unix_ms_now() -> u64 {
    u64::try_from(unix_nanos() / 1_000_000).unwrap_or(u64::MAX)
}

fn unix_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

// URL for logs: scheme, host, port and path only (queries and user info may carry secrets).
pub(crate) use crate::options::redact_url;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_round_trip_through_the_atomics() {
        let shared = SharedStats::default();
        let stats = SessionStats {
            sent: 1,
            acked: 2,
            failed: 3,
            events: 4,
            reconnects: 5,
            queued: 6,
            duplicates_dropped: 7,
        };
        shared.store(stats);
        assert_eq!(shared.load(), stats);
    }

    #[test]
    fn redacted_urls_keep_no_credentials_or_query() {
        let shown = redact_url("wss://user:pw@h.example:8443/ws?token=s3cret");
        assert_eq!(shown, "wss://h.example:8443/ws");
        assert_eq!(redact_url("::"), "<invalid url>");
    }
}

//! The engine's notion of time: a monotonic [`Instant`] supplied by the driver.
//!
//! `std::time::Instant::now()` panics on `wasm32-unknown-unknown`, and reading a clock inside the
//! engine would make runs unrepeatable, so the engine never reads one. Instead the driver picks an
//! epoch (usually "when the client was created") and passes the elapsed time since that epoch on
//! every call. Any monotonic source works: `tokio::time::Instant`, `performance.now()`, a virtual
//! clock in a simulator.

use std::ops::{Add, Sub};
use std::time::Duration;

/// A point in time, measured as the elapsed time since an epoch chosen by the driver.
///
/// Instants are totally ordered, never negative, and all arithmetic saturates.
///
/// ```
/// use chatwire::Instant;
/// use std::time::Duration;
/// let start = Instant::ZERO;
/// let later = start + Duration::from_millis(1500);
/// assert_eq!(later.saturating_duration_since(start), Duration::from_millis(1500));
/// assert_eq!(start.saturating_duration_since(later), Duration::ZERO);
/// assert_eq!(Instant::from_millis(1500), later);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(Duration);

impl Instant {
    /// The driver's epoch.
    pub const ZERO: Instant = Instant(Duration::ZERO);

    /// The instant `elapsed` after the epoch.
    pub const fn from_elapsed(elapsed: Duration) -> Instant {
        Instant(elapsed)
    }

    /// The instant `millis` milliseconds after the epoch.
    pub const fn from_millis(millis: u64) -> Instant {
        Instant(Duration::from_millis(millis))
    }

    /// Elapsed time since the epoch.
    pub const fn elapsed_since_epoch(self) -> Duration {
        self.0
    }

    /// Whole milliseconds since the epoch (saturating at `u64::MAX`).
    pub fn as_millis(self) -> u64 {
        u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX)
    }

    /// `self - earlier`, or zero when `earlier` is later than `self`.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }

    /// `self + d`, saturating at the largest representable instant.
    pub fn saturating_add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, rhs: Duration) -> Instant {
        self.saturating_add(rhs)
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let max = Instant::from_elapsed(Duration::MAX);
        assert_eq!(max + Duration::from_secs(1), max);
        assert_eq!(Instant::ZERO - max, Duration::ZERO);
        assert_eq!(max.as_millis(), u64::MAX);
        assert!(Instant::from_millis(2) > Instant::from_millis(1));
    }
}

//! Engine configuration: every default of DESIGN §6, the RNG seed and the wall-clock anchor.
//!
//! All fields are public; start from [`Config::default`] and change what you need. The engine
//! validates the whole config once, in [`Engine::new`](crate::Engine::new).

use crate::backoff::BackoffPolicy;
use crate::error::ConfigError;
use crate::ids::Cursor;
use std::time::Duration;

/// What to do when a send finds the outbound queue full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum OverflowPolicy {
    /// Fail the oldest message that was never handed to the transport (`Failed{Overflow}`) and
    /// accept the new one. If every queued message is already in flight, the new one fails.
    #[default]
    DropOldest,
    /// Refuse the new message: `send` returns [`EngineError::QueueFull`](crate::EngineError).
    RejectNew,
}

/// Engine settings. `Default` gives the documented defaults.
///
/// ```
/// use chatwire::Config;
/// use std::time::Duration;
/// let mut config = Config::default();
/// config.seed = 42;
/// config.turn_timeout = Duration::from_secs(60);
/// assert!(config.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Config {
    /// Seed of the engine's RNG (jitter, client ids). Same seed + same inputs = same outputs.
    pub seed: u64,
    /// Unix time in milliseconds at the driver's epoch (`Instant::ZERO`). The engine derives
    /// wall-clock timestamps (UUIDv7 ids, envelope timestamps) from it plus `now`. Drivers read
    /// the system clock once at start; simulations pick any value.
    pub unix_ms_at_epoch: u64,
    /// Reconnect schedule.
    pub backoff: BackoffPolicy,
    /// Consecutive failed attempts before `Failed` (default 5: against a backend that fails
    /// every connection, 6 connections over about 31 s at the default backoff, then `Failed`).
    /// Attempts count across `Ready`: see [`stable_after`](Config::stable_after).
    pub max_attempts: u32,
    /// A connection that fails after staying `Ready` this long (or after a turn completed on
    /// it, or after it moved the resume cursor on: progress that the next attempt resumes from)
    /// starts the attempt count over; one that fails sooner adds to it, so a backend that
    /// accepts and then fails every connection gets the backoff and `max_attempts` (default
    /// 30 s).
    pub stable_after: Duration,
    /// Time from starting an attempt to `Connected` (default 10 s).
    pub connect_timeout: Duration,
    /// Time from `Connected` to `Ready` (default 10 s).
    pub ready_timeout: Duration,
    /// Idle time after which the engine pings, for dialects that can (default 30 s).
    pub ping_interval: Duration,
    /// Time to wait for any inbound traffic after a ping (default 10 s).
    pub pong_timeout: Duration,
    /// Silence after which a connection without pings is presumed dead (default 45 s).
    pub idle_timeout: Duration,
    /// A sent message not acknowledged within this time means the connection lost it: the
    /// engine reconnects and re-sends (dialects with acks only; default 20 s).
    pub ack_timeout: Duration,
    /// Silence on an open turn after which it fails with `Timeout` (default 30 s).
    pub turn_timeout: Duration,
    /// Longest server-requested wait (`Retry-After`, `retry_after_ms`, SSE `retry:`) the client
    /// waits out on its own (default 5 min). A longer one is not waited silently: the app gets
    /// `Event::BackendUnavailable { until_ms, .. }` and the client goes to `Failed` (the app may
    /// `reconnect_now` whenever it likes).
    pub max_retry_after: Duration,
    /// Outbound queue bound, counting queued and in-flight (unacked) messages (default 50).
    pub queue_capacity: usize,
    /// What a send does when the queue is full.
    pub overflow: OverflowPolicy,
    /// Number of inbound dedup keys remembered (default 1024).
    pub dedup_capacity: usize,
    /// At most one `typing: true` per this interval (default 3 s).
    pub typing_throttle: Duration,
    /// Larger inbound frames are refused with an `Error{Protocol}` event (default 1 MiB).
    pub max_frame_bytes: usize,
    /// Connect only on the first send / typing / `Connect` command (default true).
    pub lazy_connect: bool,
    /// Coalesce consecutive text deltas of the same part for this long before emitting
    /// (default zero: off; the seed's UI debounce is 30 ms). This is the `delta_coalesce_ms`
    /// setting, as a Duration.
    pub delta_coalesce: Duration,
    /// Resume position to start from (e.g. persisted by the app from `Envelope::cursor`).
    pub resume_cursor: Option<Cursor>,
    /// Keep the original wire event in `Envelope::raw` of every event (default false: only
    /// `Event::Unknown` carries it, since the wire event is all an app has of those). Off, the
    /// inbound path builds no JSON tree for events the model describes.
    pub keep_raw: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 0,
            unix_ms_at_epoch: 0,
            backoff: BackoffPolicy::default(),
            max_attempts: 5,
            stable_after: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            ready_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(30),
            pong_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(45),
            ack_timeout: Duration::from_secs(20),
            turn_timeout: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(300),
            queue_capacity: 50,
            overflow: OverflowPolicy::DropOldest,
            dedup_capacity: 1024,
            typing_throttle: Duration::from_secs(3),
            max_frame_bytes: 1 << 20,
            lazy_connect: true,
            delta_coalesce: Duration::ZERO,
            resume_cursor: None,
            keep_raw: false,
        }
    }
}

impl Config {
    /// Checks that every setting is usable.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("connect_timeout", self.connect_timeout),
            ("ready_timeout", self.ready_timeout),
            ("ping_interval", self.ping_interval),
            ("pong_timeout", self.pong_timeout),
            ("idle_timeout", self.idle_timeout),
            ("ack_timeout", self.ack_timeout),
            ("turn_timeout", self.turn_timeout),
        ];
        for (name, value) in positive {
            if value.is_zero() {
                return Err(ConfigError::ZeroDuration(name));
            }
        }
        if self.queue_capacity == 0 {
            return Err(ConfigError::ZeroCapacity("queue_capacity"));
        }
        if self.dedup_capacity == 0 {
            return Err(ConfigError::ZeroCapacity("dedup_capacity"));
        }
        if self.max_frame_bytes == 0 {
            return Err(ConfigError::ZeroCapacity("max_frame_bytes"));
        }
        if self.max_attempts == 0 {
            return Err(ConfigError::ZeroCapacity("max_attempts"));
        }
        let b = &self.backoff;
        if b.base.is_zero() || b.cap < b.base || !(0.0..=1.0).contains(&b.jitter) {
            return Err(ConfigError::Backoff);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        assert_eq!(Config::default().validate(), Ok(()));
        let c = Config {
            pong_timeout: Duration::ZERO,
            ..Config::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::ZeroDuration("pong_timeout")));
        let c = Config {
            queue_capacity: 0,
            ..Config::default()
        };
        assert_eq!(
            c.validate(),
            Err(ConfigError::ZeroCapacity("queue_capacity"))
        );
        let mut c = Config::default();
        c.backoff.jitter = 1.5;
        assert_eq!(c.validate(), Err(ConfigError::Backoff));
    }
}

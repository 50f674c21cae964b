//! Fault injection: the [`FaultSpec`] JSON type of `POST /_mock/faults`, the active fault state,
//! and the per-connection `ConnPlan` the outbound writers follow.
//!
//! Determinism: every draw comes from a SplitMix64 RNG seeded from `seed` (or the server's
//! configured seed). The k-th streaming connection after a fault set is installed gets the RNG
//! seeded with `seed` mixed with `k`; HTTP error draws use one RNG advanced per matching request.
//! So a given seed and a given order of connections and requests always give the same faults.
//!
//! Scope: frame faults (`drop_after_frames`, `duplicate_rate`, `reorder_window`, `delay_ms` +
//! `jitter_ms`, `half_open_after_frames`) apply to streaming connections (WebSockets and SSE
//! streams) and count every outbound frame; a Parlant session's long-polls count as one such
//! connection whose frames are the returned events (see `parlant/poll_faults.rs`). `delay_ms`/`jitter_ms` also delay plain HTTP
//! responses. `http_error` answers a matching request (including WebSocket upgrades and SSE
//! GETs) with the status, the dialect's error body and `Retry-After`. `refuse_connections_ms`
//! closes new TCP connections at accept time (dialect `*`) or new requests of one dialect for
//! that long. `once` makes the frame faults fire on the first streaming connection only and
//! the HTTP error on the first request it hits; then they are spent (with `once`, plain HTTP
//! responses are not delayed).
//!
//! `restart_after_ms` restarts the server that long after the fault set is installed, and again
//! every `restart_after_ms` until the set is replaced or cleared (with `once`: a single restart).
//! A restart drops connections at once and refuses new ones for `restart_refuse_ms`. With
//! dialect `*` every connection is dropped and new TCP connections are refused; with one
//! dialect only the connections that carried a request of that dialect are dropped (a
//! keep-alive connection that also served other dialects goes with them) and new requests of
//! that dialect are refused (closed with the dialect's 503). See `restart.rs` for the timer.

use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::dialect::Dialect;
use crate::util::Rng;

/// A fault set, as posted to `POST /_mock/faults` (every field optional; a new set replaces the
/// previous one).
///
/// ```
/// use chatwire_mock::FaultSpec;
///
/// let spec: FaultSpec = serde_json::from_str(
///     r#"{"dialect":"native","seed":7,"drop_after_frames":5,"restart_after_ms":100,"once":true}"#,
/// ).unwrap();
/// assert_eq!((spec.drop_after_frames, spec.restart_after_ms), (Some(5), Some(100)));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// `"*"` (default) or a dialect name (`"miptech"`, `"chat-v2"`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dialect: Option<String>,
    /// RNG seed for this fault set (default: the server's seed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Close the connection abruptly after this many outbound frames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_after_frames: Option<u64>,
    /// Fraction (0..=1) of outbound frames sent twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_rate: Option<f64>,
    /// Shuffle outbound frames within windows of this many frames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reorder_window: Option<usize>,
    /// Delay before every outbound frame and every plain HTTP response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Extra random delay in `[0, jitter_ms]` on top of `delay_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter_ms: Option<u64>,
    /// Answer a fraction of requests with an HTTP error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_error: Option<HttpErrorSpec>,
    /// Stop reading and writing (without closing) after this many outbound frames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub half_open_after_frames: Option<u64>,
    /// Refuse new connections for this long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refuse_connections_ms: Option<u64>,
    /// Restart (drop the dialect's connections, or every connection for `*`) this long after
    /// the set is installed, then again at that interval; with `once`, a single restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_after_ms: Option<u64>,
    /// After each `restart_after_ms` restart, refuse new connections for this long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_refuse_ms: Option<u64>,
    /// Fire on the first matching connection or request only (and restart only once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub once: Option<bool>,
}

/// The `http_error` part of a [`FaultSpec`].
///
/// ```
/// use chatwire_mock::HttpErrorSpec;
///
/// let e: HttpErrorSpec = serde_json::from_str(r#"{"status":429,"retry_after_s":1}"#).unwrap();
/// assert_eq!((e.status, e.rate, e.retry_after_s), (429, 1.0, Some(1)));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpErrorSpec {
    /// Status to answer with (400..=599; typically 429, 500 or 503).
    pub status: u16,
    /// Fraction (0..=1) of matching requests that get the error (default 1).
    #[serde(default = "one")]
    pub rate: f64,
    /// `Retry-After` header value in seconds, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u64>,
}

fn one() -> f64 {
    1.0
}

impl FaultSpec {
    /// Checks ranges and the dialect name; the error text is fit for a 400 answer.
    ///
    /// ```
    /// use chatwire_mock::FaultSpec;
    ///
    /// let bad = FaultSpec { dialect: Some("klingon".into()), ..FaultSpec::default() };
    /// assert!(bad.validate().is_err());
    /// assert!(FaultSpec { restart_after_ms: Some(100), ..FaultSpec::default() }.validate().is_ok());
    /// ```
    pub fn validate(&self) -> Result<(), String> {
        if let Some(d) = &self.dialect
            && d != "*"
            && Dialect::from_name(d).is_none()
        {
            return Err(format!("unknown dialect {d:?}"));
        }
        if let Some(r) = self.duplicate_rate
            && !(0.0..=1.0).contains(&r)
        {
            return Err("duplicate_rate must be within 0..=1".to_owned());
        }
        if let Some(e) = &self.http_error {
            if !(400..=599).contains(&e.status) {
                return Err("http_error.status must be within 400..=599".to_owned());
            }
            if !(0.0..=1.0).contains(&e.rate) {
                return Err("http_error.rate must be within 0..=1".to_owned());
            }
        }
        match (self.restart_after_ms, self.restart_refuse_ms) {
            (None, Some(_)) => {
                return Err("restart_refuse_ms needs restart_after_ms".to_owned());
            }
            (Some(0), _) if !self.once.unwrap_or(false) => {
                return Err("restart_after_ms must be at least 1 (or 0 with once)".to_owned());
            }
            _ => {}
        }
        Ok(())
    }

    /// The scheduled restart this set asks for, if any.
    pub(crate) fn restart_plan(&self) -> Option<RestartPlan> {
        let after = self.restart_after_ms?;
        Some(RestartPlan {
            after: Duration::from_millis(after),
            refuse: Duration::from_millis(self.restart_refuse_ms.unwrap_or(0)),
            repeat: !self.once.unwrap_or(false),
            scope: self.scope(),
        })
    }

    /// `None` for every dialect, else the one dialect the set applies to.
    fn scope(&self) -> Option<Dialect> {
        if self.is_global() {
            None
        } else {
            self.dialect.as_deref().and_then(Dialect::from_name)
        }
    }

    fn matches(&self, dialect: Option<Dialect>) -> bool {
        match (self.dialect.as_deref(), dialect) {
            (None | Some("*"), _) => true,
            (Some(name), Some(d)) => d.as_str() == name,
            (Some(_), None) => false,
        }
    }

    fn is_global(&self) -> bool {
        matches!(self.dialect.as_deref(), None | Some("*"))
    }

    fn has_frame_faults(&self) -> bool {
        self.drop_after_frames.is_some()
            || self.duplicate_rate.is_some_and(|r| r > 0.0)
            || self.reorder_window.is_some_and(|w| w > 1)
            || self.delay_ms.is_some_and(|d| d > 0)
            || self.jitter_ms.is_some_and(|d| d > 0)
            || self.half_open_after_frames.is_some()
    }
}

/// When and how a fault set restarts the server (from `restart_after_ms`/`restart_refuse_ms`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RestartPlan {
    /// Delay from installation to the first restart, and between restarts when repeating.
    pub after: Duration,
    /// How long new connections are refused after each restart.
    pub refuse: Duration,
    /// Restart every `after` until the set is replaced (`false` with `once`).
    pub repeat: bool,
    /// `None`: every connection; else only that dialect's.
    pub scope: Option<Dialect>,
}

/// What a streaming connection's writer must do to its outbound frames.
#[derive(Debug, Clone)]
pub(crate) struct ConnPlan {
    pub drop_after: Option<u64>,
    pub half_open_after: Option<u64>,
    pub duplicate_rate: f64,
    pub reorder_window: usize,
    pub delay: Duration,
    pub jitter_ms: u64,
    pub rng: Rng,
}

impl ConnPlan {
    pub fn none() -> Self {
        Self {
            drop_after: None,
            half_open_after: None,
            duplicate_rate: 0.0,
            reorder_window: 0,
            delay: Duration::ZERO,
            jitter_ms: 0,
            rng: Rng::new(0),
        }
    }

    /// The delay before the next frame (`delay` plus a jitter draw).
    pub fn next_delay(&mut self) -> Duration {
        if self.jitter_ms == 0 {
            self.delay
        } else {
            self.delay + Duration::from_millis(self.rng.up_to(self.jitter_ms))
        }
    }
}

/// An HTTP-level fault for one request.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestFault {
    pub error: Option<(u16, Option<u64>)>,
    pub delay: Duration,
}

/// The active fault set and its bookkeeping, shared by the whole server.
pub(crate) struct Faults {
    default_seed: u64,
    state: Mutex<State>,
}

struct State {
    spec: Option<FaultSpec>,
    connections: u64,
    request_rng: Rng,
    conn_spent: bool,
    http_spent: bool,
    refuse_until: Option<(Instant, Option<Dialect>)>,
}

impl Faults {
    pub fn new(default_seed: u64) -> Self {
        Self {
            default_seed,
            state: Mutex::new(State {
                spec: None,
                connections: 0,
                request_rng: Rng::new(default_seed),
                conn_spent: false,
                http_spent: false,
                refuse_until: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Installs `spec` (already validated), replacing the previous set.
    pub fn set(&self, spec: FaultSpec) {
        let seed = spec.seed.unwrap_or(self.default_seed);
        let mut st = self.lock();
        st.refuse_until = spec
            .refuse_connections_ms
            .map(|ms| (Instant::now() + Duration::from_millis(ms), spec.scope()));
        st.connections = 0;
        st.request_rng = Rng::new(seed ^ 0xA5A5_5A5A_F00D_CAFE);
        st.conn_spent = false;
        st.http_spent = false;
        st.spec = Some(spec);
    }

    /// Removes every fault (including a running refusal period).
    pub fn clear(&self) {
        let mut st = self.lock();
        st.spec = None;
        st.refuse_until = None;
    }

    /// The installed fault set.
    pub fn current(&self) -> Option<FaultSpec> {
        self.lock().spec.clone()
    }

    /// Refuses new connections (`scope == None`) or new requests of one dialect for `period`
    /// (used by restart).
    pub fn refuse_for(&self, period: Duration, scope: Option<Dialect>) {
        if !period.is_zero() {
            self.lock().refuse_until = Some((Instant::now() + period, scope));
        }
    }

    /// Whether a new TCP connection (`dialect == None`) or a request of `dialect` is refused.
    pub fn refusing(&self, dialect: Option<Dialect>) -> bool {
        let st = self.lock();
        match st.refuse_until {
            Some((until, scope)) if Instant::now() < until => match (scope, dialect) {
                (None, _) => true,
                (Some(s), Some(d)) => s == d,
                (Some(_), None) => false,
            },
            _ => false,
        }
    }

    /// The HTTP-level fault for one request of `dialect`.
    pub fn on_request(&self, dialect: Dialect) -> RequestFault {
        let mut st = self.lock();
        let Some(spec) = st.spec.clone() else {
            return RequestFault::default();
        };
        if !spec.matches(Some(dialect)) {
            return RequestFault::default();
        }
        let once = spec.once.unwrap_or(false);
        let mut fault = RequestFault::default();
        if let Some(e) = &spec.http_error
            && !(once && st.http_spent)
            && st.request_rng.chance(e.rate)
        {
            st.http_spent = true;
            fault.error = Some((e.status, e.retry_after_s));
        }
        if !once {
            let jitter = spec.jitter_ms.unwrap_or(0);
            let extra = if jitter > 0 {
                st.request_rng.up_to(jitter)
            } else {
                0
            };
            fault.delay = Duration::from_millis(spec.delay_ms.unwrap_or(0) + extra);
        }
        fault
    }

    /// The frame plan for a new streaming connection of `dialect`.
    pub fn conn_plan(&self, dialect: Dialect) -> ConnPlan {
        let mut st = self.lock();
        let Some(spec) = st.spec.clone() else {
            return ConnPlan::none();
        };
        if !spec.matches(Some(dialect)) || !spec.has_frame_faults() {
            return ConnPlan::none();
        }
        if spec.once.unwrap_or(false) {
            if st.conn_spent {
                return ConnPlan::none();
            }
            st.conn_spent = true;
        }
        st.connections += 1;
        let seed = spec.seed.unwrap_or(self.default_seed);
        let mut mix = Rng::new(seed ^ st.connections.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        ConnPlan {
            drop_after: spec.drop_after_frames,
            half_open_after: spec.half_open_after_frames,
            duplicate_rate: spec.duplicate_rate.unwrap_or(0.0),
            reorder_window: spec.reorder_window.unwrap_or(0),
            delay: Duration::from_millis(spec.delay_ms.unwrap_or(0)),
            jitter_ms: spec.jitter_ms.unwrap_or(0),
            rng: Rng::new(mix.next_u64()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> FaultSpec {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn full_example_parses_and_validates() {
        let s = spec(
            r#"{"dialect": "*", "seed": 7, "drop_after_frames": 5, "duplicate_rate": 0.1,
            "reorder_window": 3, "delay_ms": 20, "jitter_ms": 10, "http_error": {"status": 429,
            "rate": 0.5, "retry_after_s": 1}, "half_open_after_frames": 8,
            "refuse_connections_ms": 2000, "once": true}"#,
        );
        assert!(s.validate().is_ok());
        assert_eq!(s.http_error.as_ref().map(|e| e.status), Some(429));
    }

    #[test]
    fn bad_specs_are_rejected() {
        assert!(serde_json::from_str::<FaultSpec>(r#"{"typo": 1}"#).is_err());
        assert!(spec(r#"{"dialect": "nope"}"#).validate().is_err());
        assert!(spec(r#"{"duplicate_rate": 2}"#).validate().is_err());
        assert!(
            spec(r#"{"http_error": {"status": 200}}"#)
                .validate()
                .is_err()
        );
    }

    #[test]
    fn http_errors_are_deterministic_per_seed() {
        let draw = |seed: u64| {
            let f = Faults::new(0);
            f.set(spec(&format!(
                r#"{{"seed": {seed}, "http_error": {{"status": 503, "rate": 0.5}}}}"#
            )));
            (0..64)
                .map(|_| f.on_request(Dialect::OpenAi).error.is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        let hits = draw(7).iter().filter(|h| **h).count();
        assert!((10..54).contains(&hits), "rate 0.5 gave {hits}/64");
    }

    #[test]
    fn once_fires_once_and_dialect_filters() {
        let f = Faults::new(0);
        f.set(spec(
            r#"{"dialect": "native", "drop_after_frames": 2, "once": true}"#,
        ));
        assert_eq!(f.conn_plan(Dialect::OpenAi).drop_after, None);
        assert_eq!(f.conn_plan(Dialect::Native).drop_after, Some(2));
        assert_eq!(f.conn_plan(Dialect::Native).drop_after, None);
        f.set(spec(r#"{"http_error": {"status": 500}, "once": true}"#));
        assert_eq!(f.on_request(Dialect::Parlant).error, Some((500, None)));
        assert_eq!(f.on_request(Dialect::Parlant).error, None);
    }

    #[test]
    fn refusal_scopes() {
        let f = Faults::new(0);
        f.set(spec(
            r#"{"dialect": "parlant", "refuse_connections_ms": 60000}"#,
        ));
        assert!(!f.refusing(None));
        assert!(f.refusing(Some(Dialect::Parlant)));
        assert!(!f.refusing(Some(Dialect::Native)));
        f.clear();
        assert!(!f.refusing(Some(Dialect::Parlant)));
        f.refuse_for(Duration::from_secs(60), None);
        assert!(f.refusing(None));
        f.refuse_for(Duration::from_secs(60), Some(Dialect::Native));
        assert!(!f.refusing(None));
        assert!(f.refusing(Some(Dialect::Native)));
    }

    #[test]
    fn restart_fields_validate_and_plan() {
        assert!(
            spec(r#"{"restart_refuse_ms": 5}"#).validate().is_err(),
            "refusal without a restart"
        );
        assert!(spec(r#"{"restart_after_ms": 0}"#).validate().is_err());
        assert!(
            spec(r#"{"restart_after_ms": 0, "once": true}"#)
                .validate()
                .is_ok()
        );
        let plan = spec(r#"{"restart_after_ms": 100, "restart_refuse_ms": 200, "once": true}"#)
            .restart_plan()
            .unwrap();
        assert_eq!(
            plan,
            RestartPlan {
                after: Duration::from_millis(100),
                refuse: Duration::from_millis(200),
                repeat: false,
                scope: None,
            }
        );
        let plan = spec(r#"{"dialect": "native", "restart_after_ms": 50}"#)
            .restart_plan()
            .unwrap();
        assert!(plan.repeat);
        assert_eq!(plan.scope, Some(Dialect::Native));
        assert_eq!(plan.refuse, Duration::ZERO);
        assert_eq!(spec(r#"{"delay_ms": 5}"#).restart_plan(), None);
    }
}

//! Reconnect backoff as a pure function of (attempt, random draw, failure context, server hint).
//!
//! The schedule is `base * factor^(attempt - 1)`, computed with saturating arithmetic, **capped
//! first** and **jittered after** (so clients at high attempt numbers stay spread instead of all
//! collapsing onto the cap), within the bounds of the failure context (seed: "server_restart: max
//! 2000ms, rate_limit: min 5000ms, platform_initializing: min 2000ms, network_error: min 3000ms").
//! The bounds are strict: where a floor binds the jitter only goes upwards from it, where the
//! restart ceiling binds only downwards, so no draw crosses a bound. A server hint (`Retry-After`,
//! SSE `retry:`, a `goodbye` frame's `retry_after_ms`) wins over the schedule: the delay is never
//! shorter than the hint, and only jittered upwards from it, over at least [`HINT_SPREAD`] of
//! the hint (a hint is usually sent to every client at once: a thousand clients told "come back
//! in 1 s" arrive over 500 ms, not over the 200 ms the default 20 % jitter would give). A policy
//! with `jitter: 0` gets no spread at all. The result is never zero unless `min_delay` is zero.

use std::time::Duration;

/// The least upward spread of a hinted delay, relative to the hint (when jitter is on): hinted
/// delays fall in `[hint, hint * (1 + max(jitter, HINT_SPREAD)))`.
pub const HINT_SPREAD: f64 = 0.5;

/// Why the previous connection attempt failed, as far as the retry decision cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RetryContext {
    /// Network unreachable, connection reset, timeout.
    Network,
    /// The server announced or evidently went through a restart: come back fast.
    ServerRestart,
    /// The platform is still initializing (e.g. AI services warming up).
    Initializing,
    /// Rate limited (HTTP 429, rate-limit error frames).
    RateLimited,
    /// Anything else that is still worth retrying.
    Other,
}

/// Parameters of the backoff schedule. `Default` gives the documented defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffPolicy {
    /// Delay of the first retry before jitter (default 1 s).
    pub base: Duration,
    /// Multiplier per attempt (default 2).
    pub factor: u32,
    /// Upper bound of the exponential part, applied before jitter (default 30 s).
    pub cap: Duration,
    /// Relative jitter, `0.2` means +-20 % (default 0.2). Clamped to `0.0..=1.0`.
    pub jitter: f64,
    /// Smallest delay ever returned (default 1 ms), so a retry loop can never spin.
    pub min_delay: Duration,
    /// Ceiling for `ServerRestart` (default 2 s).
    pub restart_max: Duration,
    /// Floor for `RateLimited` without a hint (default 5 s).
    pub rate_limit_min: Duration,
    /// Floor for `Initializing` (default 2 s).
    pub initializing_min: Duration,
    /// Floor for `Network` (default 3 s).
    pub network_min: Duration,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            factor: 2,
            cap: Duration::from_secs(30),
            jitter: 0.2,
            min_delay: Duration::from_millis(1),
            restart_max: Duration::from_secs(2),
            rate_limit_min: Duration::from_secs(5),
            initializing_min: Duration::from_secs(2),
            network_min: Duration::from_secs(3),
        }
    }
}

impl BackoffPolicy {
    /// The delay before retry number `attempt` (1-based; 0 is treated as 1).
    ///
    /// `unit` is a uniform random draw in `[0, 1)` supplied by the caller's seeded RNG; values
    /// outside that range (or NaN) are clamped. `0.5` is the unjittered value unless a context
    /// bound applies: a binding floor `f` gives `f * (1 + jitter * unit)`, a binding restart
    /// ceiling `c` gives `c * (1 - jitter * (1 - unit))`. `hint` is a server-provided minimum wait.
    ///
    /// ```
    /// use chatwire::backoff::{BackoffPolicy, RetryContext};
    /// use std::time::Duration;
    /// let p = BackoffPolicy::default();
    /// // attempt 3 without jitter (unit = 0.5 is the midpoint): 1 s * 2^2 = 4 s
    /// assert_eq!(p.delay(3, 0.5, RetryContext::Other, None), Duration::from_secs(4));
    /// // far attempts stay within cap +- 20 %
    /// let d = p.delay(1_000_000, 0.999, RetryContext::Other, None);
    /// assert!(d <= Duration::from_secs(36));
    /// // a binding floor is only jittered upwards: rate limited never retries before 5 s
    /// let d = p.delay(1, 0.0, RetryContext::RateLimited, None);
    /// assert_eq!(d, Duration::from_secs(5));
    /// ```
    pub fn delay(
        &self,
        attempt: u32,
        unit: f64,
        context: RetryContext,
        hint: Option<Duration>,
    ) -> Duration {
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            0.5
        };
        let jitter = if self.jitter.is_finite() {
            self.jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let exponential = self.exponential(attempt);
        let delay = match hint {
            // A hint is a floor: jitter only upwards so no client retries before it was told to,
            // and over at least HINT_SPREAD, since a hint usually reaches every client at once.
            Some(hint) => {
                let spread = if jitter > 0.0 {
                    jitter.max(HINT_SPREAD)
                } else {
                    0.0
                };
                scale(hint, 1.0 + spread * unit)
            }
            None => self.bend(exponential, jitter, unit, context),
        };
        delay.max(self.min_delay)
    }

    /// Applies the context bound and the jitter to the capped exponential delay. A binding floor
    /// is jittered upwards only, a binding ceiling downwards only, so the jitter never carries the
    /// delay across the bound; an unbound delay is jittered symmetrically and then clamped to the
    /// bound (which only matters for policies whose schedule sits just above a floor).
    fn bend(
        &self,
        exponential: Duration,
        jitter: f64,
        unit: f64,
        context: RetryContext,
    ) -> Duration {
        let floor = match context {
            RetryContext::RateLimited => Some(self.rate_limit_min),
            RetryContext::Initializing => Some(self.initializing_min),
            RetryContext::Network => Some(self.network_min),
            RetryContext::ServerRestart | RetryContext::Other => None,
        };
        let ceiling = (context == RetryContext::ServerRestart).then_some(self.restart_max);
        match (floor, ceiling) {
            (Some(floor), _) if exponential <= floor => scale(floor, 1.0 + jitter * unit),
            // `1 - unit` keeps the delay monotone in the draw: unit 0 -> ceiling * (1 - jitter).
            (_, Some(ceiling)) if exponential >= ceiling => {
                scale(ceiling, 1.0 - jitter * (1.0 - unit))
            }
            _ => {
                let jittered = scale(exponential, 1.0 + jitter * (2.0 * unit - 1.0));
                let jittered = floor.map_or(jittered, |floor| jittered.max(floor));
                ceiling.map_or(jittered, |ceiling| jittered.min(ceiling))
            }
        }
    }

    /// `base * factor^(attempt - 1)`, saturating, capped at `cap`.
    fn exponential(&self, attempt: u32) -> Duration {
        let exponent = attempt.max(1) - 1;
        let multiplier = self.factor.max(1).checked_pow(exponent).unwrap_or(u32::MAX);
        self.base
            .checked_mul(multiplier)
            .unwrap_or(Duration::MAX)
            .min(self.cap)
    }
}

/// `d * factor` for a finite, non-negative `factor`, saturating at `Duration::MAX` (the standard
/// `mul_f64` panics on overflow).
fn scale(d: Duration, factor: f64) -> Duration {
    Duration::try_from_secs_f64(d.as_secs_f64() * factor).unwrap_or(if factor > 0.0 {
        Duration::MAX
    } else {
        Duration::ZERO
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_then_caps() {
        let p = BackoffPolicy::default();
        let mid = |a| p.delay(a, 0.5, RetryContext::Other, None);
        assert_eq!(mid(1), Duration::from_secs(1));
        assert_eq!(mid(2), Duration::from_secs(2));
        assert_eq!(mid(5), Duration::from_secs(16));
        assert_eq!(mid(6), Duration::from_secs(30));
        assert_eq!(mid(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn contexts_bend_the_schedule() {
        let p = BackoffPolicy::default();
        let ms = |attempt, unit, context| p.delay(attempt, unit, context, None).as_millis();
        // binding floors: jittered upwards only, floor .. floor * 1.2
        for (context, floor) in [
            (RetryContext::RateLimited, 5000),
            (RetryContext::Network, 3000),
            (RetryContext::Initializing, 2000),
        ] {
            assert_eq!(ms(1, 0.0, context), floor, "{context:?}");
            assert_eq!(ms(1, 0.5, context), floor * 11 / 10, "{context:?}");
            assert_eq!(ms(1, 1.0, context), floor * 12 / 10, "{context:?}");
        }
        // binding restart ceiling: jittered downwards only, 1.6 s .. 2 s
        assert_eq!(ms(10, 0.0, RetryContext::ServerRestart), 1600);
        assert_eq!(ms(10, 0.5, RetryContext::ServerRestart), 1800);
        assert_eq!(ms(10, 1.0, RetryContext::ServerRestart), 2000);
        // bounds that do not bind leave the symmetric jitter alone
        assert_eq!(ms(1, 0.0, RetryContext::ServerRestart), 800);
        assert_eq!(ms(1, 1.0, RetryContext::ServerRestart), 1200);
        assert_eq!(ms(4, 0.0, RetryContext::RateLimited), 6400);
        assert_eq!(ms(4, 1.0, RetryContext::RateLimited), 9600);
        assert_eq!(ms(3, 0.0, RetryContext::Network), 3200);
    }

    /// A schedule sitting just above a floor is jittered symmetrically but never below the floor.
    #[test]
    fn unbound_jitter_is_clamped_to_the_floor() {
        let p = BackoffPolicy {
            base: Duration::from_millis(3500),
            ..BackoffPolicy::default()
        };
        let d = |unit| p.delay(1, unit, RetryContext::Network, None);
        assert_eq!(d(0.0), Duration::from_secs(3));
        assert_eq!(d(1.0), Duration::from_millis(4200));
    }

    #[test]
    fn hint_is_a_floor() {
        let p = BackoffPolicy::default();
        let hint = Some(Duration::from_secs(7));
        for unit in [0.0, 0.3, 0.99] {
            let d = p.delay(1, unit, RetryContext::RateLimited, hint);
            assert!(
                d >= Duration::from_secs(7) && d <= Duration::from_millis(10_500),
                "{d:?}"
            );
        }
        // Spread over half the hint with the default 20 % jitter; none with jitter off.
        assert_eq!(
            p.delay(
                1,
                1.0,
                RetryContext::ServerRestart,
                Some(Duration::from_secs(1))
            ),
            Duration::from_millis(1500)
        );
        let still = BackoffPolicy {
            jitter: 0.0,
            ..BackoffPolicy::default()
        };
        assert_eq!(
            still.delay(
                1,
                0.9,
                RetryContext::ServerRestart,
                Some(Duration::from_secs(1))
            ),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn extreme_inputs_saturate_instead_of_panicking() {
        let p = BackoffPolicy {
            cap: Duration::MAX,
            ..BackoffPolicy::default()
        };
        assert!(p.delay(u32::MAX, 0.99, RetryContext::Other, None) > Duration::from_secs(1));
        let d = p.delay(1, 1.0, RetryContext::Other, Some(Duration::MAX));
        assert_eq!(d, Duration::MAX);
        let zero = BackoffPolicy {
            min_delay: Duration::ZERO,
            ..BackoffPolicy::default()
        };
        assert_eq!(
            zero.delay(1, 0.5, RetryContext::Other, Some(Duration::ZERO)),
            Duration::ZERO
        );
        let p = BackoffPolicy::default();
        for unit in [f64::NAN, f64::INFINITY, -3.0, 7.0] {
            let d = p.delay(3, unit, RetryContext::Other, None);
            assert!(d >= Duration::from_millis(3200) && d <= Duration::from_millis(4800));
        }
    }

    /// 10,000 clients at attempt 10, each with its own seeded RNG: no 1 % slice of the delay
    /// range may hold more than 5 % of them (cap-then-jitter keeps them spread).
    #[test]
    fn ten_thousand_clients_stay_spread_at_attempt_10() {
        use crate::engine::rng::Rng;
        let p = BackoffPolicy::default();
        for context in [
            RetryContext::Other,
            RetryContext::Network,
            RetryContext::RateLimited,
        ] {
            let mut delays: Vec<f64> = (0..10_000u64)
                .map(|client| {
                    let unit = Rng::new(client).unit();
                    p.delay(10, unit, context, None).as_secs_f64()
                })
                .collect();
            delays.sort_by(f64::total_cmp);
            let (lo, hi) = (24.0, 36.0); // 30 s cap +- 20 %
            assert!(delays[0] >= lo && delays[9_999] <= hi);
            let slice = (hi - lo) / 100.0;
            let mut j = 0;
            for i in 0..delays.len() {
                while j < delays.len() && delays[j] < delays[i] + slice {
                    j += 1;
                }
                assert!(
                    j - i <= 500,
                    "{} clients within {slice} s of {}",
                    j - i,
                    delays[i]
                );
            }
        }
    }

    /// Every attempt from 1 to 10^6, each with its own seeded draw: the context bounds hold
    /// strictly and nothing exceeds cap + 20 %.
    #[test]
    fn context_bounds_hold_for_every_attempt_up_to_a_million() {
        use crate::engine::rng::Rng;
        let p = BackoffPolicy::default();
        let mut rng = Rng::new(0xBAC0FF);
        for attempt in 0..=1_000_000u32 {
            let unit = rng.unit();
            let d = |context| p.delay(attempt, unit, context, None);
            let at =
                |what: &str, d: Duration| format!("attempt {attempt}, unit {unit}: {what} {d:?}");
            let restart = d(RetryContext::ServerRestart);
            assert!(
                restart <= Duration::from_secs(2),
                "{}",
                at("restart", restart)
            );
            let rate = d(RetryContext::RateLimited);
            assert!(rate >= Duration::from_secs(5), "{}", at("rate limit", rate));
            let network = d(RetryContext::Network);
            assert!(
                network >= Duration::from_secs(3),
                "{}",
                at("network", network)
            );
            let init = d(RetryContext::Initializing);
            assert!(
                init >= Duration::from_secs(2),
                "{}",
                at("initializing", init)
            );
            for d in [restart, rate, network, init, d(RetryContext::Other)] {
                assert!(d >= Duration::from_millis(1) && d <= Duration::from_secs(36));
            }
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn context() -> impl Strategy<Value = RetryContext> {
            prop_oneof![
                Just(RetryContext::Network),
                Just(RetryContext::ServerRestart),
                Just(RetryContext::Initializing),
                Just(RetryContext::RateLimited),
                Just(RetryContext::Other),
            ]
        }

        fn attempt() -> impl Strategy<Value = u32> {
            prop_oneof![0u32..=64, 0u32..=1_000_000, Just(1_000_000), Just(u32::MAX)]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(4096))]

            /// Default policy: never zero, never above cap + jitter, and the context bounds hold
            /// strictly (restart <= 2 s, rate limit >= 5 s, network >= 3 s, initializing >= 2 s)
            /// for any attempt up to 10^6 and beyond and any draw.
            #[test]
            fn default_policy_bounds(
                attempt in attempt(),
                unit in 0.0f64..1.0,
                context in context(),
            ) {
                let p = BackoffPolicy::default();
                let d = p.delay(attempt, unit, context, None);
                prop_assert!(d >= Duration::from_millis(1));
                prop_assert!(d <= Duration::from_secs(36), "{d:?}");
                match context {
                    RetryContext::ServerRestart => prop_assert!(d <= Duration::from_secs(2), "{d:?}"),
                    RetryContext::RateLimited => prop_assert!(d >= Duration::from_secs(5), "{d:?}"),
                    RetryContext::Network => prop_assert!(d >= Duration::from_secs(3), "{d:?}"),
                    RetryContext::Initializing => prop_assert!(d >= Duration::from_secs(2), "{d:?}"),
                    _ => {}
                }
                // at high attempts clients do not collapse onto one value
                if attempt >= 6 && context == RetryContext::Other {
                    let lo = p.delay(attempt, 0.0, context, None);
                    let hi = p.delay(attempt, 0.999, context, None);
                    prop_assert!(hi - lo >= Duration::from_secs(11));
                }
            }

            /// A server hint is a floor and is only jittered upwards.
            #[test]
            fn hint_is_respected(
                attempt in attempt(),
                unit in 0.0f64..1.0,
                context in context(),
                hint_ms in 0u64..86_400_000,
            ) {
                let p = BackoffPolicy::default();
                let hint = Duration::from_millis(hint_ms);
                let d = p.delay(attempt, unit, context, Some(hint));
                prop_assert!(d >= hint.max(Duration::from_millis(1)));
                prop_assert!(d <= hint.mul_f64(1.0 + HINT_SPREAD) + Duration::from_millis(1));
            }

            /// Any policy, any input: no panic, no overflow, monotone in the random draw.
            #[test]
            fn arbitrary_policies_never_panic(
                base_ms in 0u64..100_000,
                factor in 0u32..100,
                cap_ms in 0u64..u64::MAX / 2,
                jitter in -1.0f64..3.0,
                attempt in attempt(),
                unit in proptest::num::f64::ANY,
                context in context(),
                hint_ms in proptest::option::of(0u64..u64::MAX),
            ) {
                let p = BackoffPolicy {
                    base: Duration::from_millis(base_ms),
                    factor,
                    cap: Duration::from_millis(cap_ms),
                    jitter,
                    ..BackoffPolicy::default()
                };
                let hint = hint_ms.map(Duration::from_millis);
                let d = p.delay(attempt, unit, context, hint);
                prop_assert!(d >= p.min_delay);
                // context bounds hold for any schedule, not just the default one
                let bare = p.delay(attempt, unit, context, None);
                match context {
                    RetryContext::ServerRestart => prop_assert!(bare <= p.restart_max),
                    RetryContext::RateLimited => prop_assert!(bare >= p.rate_limit_min),
                    RetryContext::Network => prop_assert!(bare >= p.network_min),
                    RetryContext::Initializing => prop_assert!(bare >= p.initializing_min),
                    _ => {}
                }
                let lo = p.delay(attempt, 0.0, context, hint);
                let hi = p.delay(attempt, 1.0, context, hint);
                prop_assert!(lo <= hi);
            }
        }
    }
}

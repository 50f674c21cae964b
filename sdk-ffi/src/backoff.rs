//! Reconnect backoff for foreign callers: a thin, validating layer over `chatwire::backoff`.
//!
//! This is the walking skeleton of the uniffi surface: one async function
//! ([`backoff_delay_ms`]), one object ([`BackoffSchedule`]) and one enum ([`RetryContext`]). The
//! validation helpers at the bottom are shared with the C ABI (`c_api`), so both surfaces accept and
//! reject exactly the same inputs.

use std::time::Duration;

use chatwire::backoff::{BackoffPolicy, RetryContext as CoreContext};

use crate::ChatError;

/// Why the previous connection attempt failed (mirrors `chatwire::backoff::RetryContext`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
#[non_exhaustive]
pub enum RetryContext {
    /// Network unreachable, connection reset, timeout.
    Network,
    /// The server went through a restart: come back fast.
    ServerRestart,
    /// The platform is still initializing.
    Initializing,
    /// Rate limited.
    RateLimited,
    /// Anything else that is still worth retrying.
    Other,
}

/// The delay in milliseconds before retry number `attempt` under the default policy.
///
/// `unit` is a uniform random draw in `[0, 1]` from the caller's RNG (0.5 means "no jitter"
/// unless a context bound binds). The context bounds are strict: a binding floor (rate limited
/// 5 s, network 3 s, initializing 2 s) is jittered upwards only, the binding server-restart
/// ceiling (2 s) downwards only, so `(1, 0.5, RateLimited)` gives 5500 and
/// `(10, 0.5, ServerRestart)` gives 1800.
/// Async so foreign callers exercise their suspend/await path; the computation itself is pure.
///
/// ```
/// use chatwire_ffi::{RetryContext, backoff_delay_ms};
/// let ms = futures_executor_free_block_on(backoff_delay_ms(3, 0.5, RetryContext::Other));
/// assert_eq!(ms, Ok(4000));
/// # fn futures_executor_free_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let waker = std::task::Waker::noop();
/// #     let mut cx = std::task::Context::from_waker(&waker);
/// #     let mut f = std::pin::pin!(f);
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// ```
///
/// # Errors
/// [`ChatError::InvalidInput`] when `unit` is NaN, infinite or outside `[0, 1]`.
#[uniffi::export]
pub async fn backoff_delay_ms(
    attempt: u32,
    unit: f64,
    context: RetryContext,
) -> Result<u64, ChatError> {
    default_delay_ms(attempt, unit, context)
}

/// A backoff schedule with a caller-chosen base, cap and jitter (other parameters default).
///
/// ```
/// use chatwire_ffi::BackoffSchedule;
/// let s = BackoffSchedule::new(100, 1_000, 0.0).unwrap();
/// assert_eq!(s.delay_ms(3, 0.5), Ok(400));
/// assert_eq!(s.delay_ms(30, 0.5), Ok(1_000));
/// assert!(BackoffSchedule::new(100, 0, 0.0).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Object)]
pub struct BackoffSchedule {
    policy: BackoffPolicy,
}

#[uniffi::export]
impl BackoffSchedule {
    /// A schedule starting at `base_ms`, doubling per attempt up to `cap_ms`, jittered by
    /// `jitter` (relative, `0.2` = +-20 %).
    ///
    /// # Errors
    /// [`ChatError::InvalidInput`] when `base_ms` or `cap_ms` is zero, or `jitter` is not a
    /// finite number in `[0, 1]`.
    #[uniffi::constructor]
    pub fn new(base_ms: u64, cap_ms: u64, jitter: f64) -> Result<Self, ChatError> {
        if base_ms == 0 {
            return Err(ChatError::invalid("base_ms must be greater than 0"));
        }
        if cap_ms == 0 {
            return Err(ChatError::invalid("cap_ms must be greater than 0"));
        }
        if !(jitter.is_finite() && (0.0..=1.0).contains(&jitter)) {
            return Err(ChatError::invalid(format!(
                "jitter must be a finite number in [0, 1], got {jitter}"
            )));
        }
        let policy = BackoffPolicy {
            base: Duration::from_millis(base_ms),
            cap: Duration::from_millis(cap_ms),
            jitter,
            ..BackoffPolicy::default()
        };
        Ok(Self { policy })
    }

    /// The delay in milliseconds before retry number `attempt` (context "other", no hint).
    ///
    /// # Errors
    /// [`ChatError::InvalidInput`] when `unit` is NaN, infinite or outside `[0, 1]`.
    pub fn delay_ms(&self, attempt: u32, unit: f64) -> Result<u64, ChatError> {
        delay_with(&self.policy, attempt, unit, RetryContext::Other)
    }
}

/// [`backoff_delay_ms`] without the future, for the C ABI.
pub(crate) fn default_delay_ms(
    attempt: u32,
    unit: f64,
    context: RetryContext,
) -> Result<u64, ChatError> {
    delay_with(&BackoffPolicy::default(), attempt, unit, context)
}

/// Validates `unit`, asks the core for the delay, and converts it to whole milliseconds.
fn delay_with(
    policy: &BackoffPolicy,
    attempt: u32,
    unit: f64,
    context: RetryContext,
) -> Result<u64, ChatError> {
    if !(unit.is_finite() && (0.0..=1.0).contains(&unit)) {
        return Err(ChatError::invalid(format!(
            "unit must be a finite number in [0, 1], got {unit}"
        )));
    }
    let delay = policy.delay(attempt, unit, context.into(), None);
    Ok(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX))
}

impl From<RetryContext> for CoreContext {
    fn from(context: RetryContext) -> Self {
        match context {
            RetryContext::Network => Self::Network,
            RetryContext::ServerRestart => Self::ServerRestart,
            RetryContext::Initializing => Self::Initializing,
            RetryContext::RateLimited => Self::RateLimited,
            RetryContext::Other => Self::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_delay_follows_the_core_policy() {
        let core = BackoffPolicy::default();
        for (attempt, unit) in [(1, 0.0), (3, 0.5), (7, 0.99), (u32::MAX, 1.0)] {
            let want = core
                .delay(attempt, unit, CoreContext::Other, None)
                .as_millis();
            let got = default_delay_ms(attempt, unit, RetryContext::Other).unwrap();
            assert_eq!(u128::from(got), want);
        }
        assert_eq!(
            default_delay_ms(1, 0.5, RetryContext::RateLimited),
            Ok(5500)
        );
        assert_eq!(
            default_delay_ms(10, 0.5, RetryContext::ServerRestart),
            Ok(1800)
        );
    }

    #[test]
    fn bad_unit_is_invalid_input() {
        for unit in [f64::NAN, f64::INFINITY, -0.1, 1.5] {
            let err = default_delay_ms(1, unit, RetryContext::Other).unwrap_err();
            assert!(
                matches!(err, ChatError::InvalidInput { .. }),
                "{unit}: {err:?}"
            );
        }
    }

    #[test]
    fn schedule_rejects_bad_parameters() {
        assert!(BackoffSchedule::new(0, 10, 0.0).is_err());
        assert!(BackoffSchedule::new(10, 0, 0.0).is_err());
        assert!(BackoffSchedule::new(10, 10, f64::NAN).is_err());
        assert!(BackoffSchedule::new(10, 10, 1.5).is_err());
        let s = BackoffSchedule::new(10, 50, 0.5).unwrap();
        assert_eq!(s.delay_ms(3, 0.0), Ok(20));
        assert_eq!(s.delay_ms(3, 1.0), Ok(60));
        assert_eq!(s.delay_ms(9, 0.5), Ok(50));
    }
}

//! Validation of values arriving from JavaScript, as pure functions testable on the host.
//!
//! JS numbers are doubles and JS callers may pass anything, so exports take loosely typed values
//! and check them here before anything reaches the core: a wrong value becomes
//! [`Error::InvalidInput`], never a silent coercion (wasm-bindgen would turn `-1` into
//! `4294967295` for a `u32` parameter and `"3"` into `3` for an `f64` one) and never a panic.
//!
//! Messages here do not quote numbers: the caller appends the offending value as rendered by the
//! JS glue (see [`Error::got`]), because Rust's float formatting alone was ~40 % of the module.

use chatwire::backoff::RetryContext;

use crate::Error;

/// The retry contexts accepted by `backoffDelayMs`, in their JS spelling.
pub const RETRY_CONTEXTS: [&str; 5] = [
    "network",
    "serverRestart",
    "initializing",
    "rateLimited",
    "other",
];

/// A retry attempt number: an integer `>= 0`. Values above `u32::MAX` saturate, which changes
/// nothing since the schedule is capped long before.
pub fn attempt(value: Option<f64>) -> Result<u32, Error> {
    match value {
        Some(n) if n.is_finite() && n >= 0.0 && n.fract() == 0.0 => {
            // Saturating float-to-int cast: in range by the guard, clamped above u32::MAX.
            Ok(n as u32)
        }
        Some(_) | None => Err(Error::InvalidInput(
            "attempt must be an integer >= 0".into(),
        )),
    }
}

/// The error for a context that is present but not a string.
pub fn context_not_a_string() -> Error {
    Error::InvalidInput(format!(
        "context must be a string, one of {}",
        RETRY_CONTEXTS.join(", ")
    ))
}

/// A uniform random draw: any finite number (the core clamps it into `[0, 1]`).
pub fn unit(value: Option<f64>) -> Result<f64, Error> {
    match value {
        Some(n) if n.is_finite() => Ok(n),
        Some(_) | None => Err(Error::InvalidInput(
            "unit must be a finite number in [0, 1)".into(),
        )),
    }
}

/// A retry context: absent means `"other"`; otherwise one of [`RETRY_CONTEXTS`].
pub fn retry_context(value: Option<&str>) -> Result<RetryContext, Error> {
    let Some(name) = value else {
        return Ok(RetryContext::Other);
    };
    match name {
        "network" => Ok(RetryContext::Network),
        "serverRestart" => Ok(RetryContext::ServerRestart),
        "initializing" => Ok(RetryContext::Initializing),
        "rateLimited" => Ok(RetryContext::RateLimited),
        "other" => Ok(RetryContext::Other),
        _ => Err(Error::InvalidInput(format!(
            "unknown context {name:?}, expected one of {}",
            RETRY_CONTEXTS.join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempt_accepts_non_negative_integers_and_saturates() {
        assert_eq!(attempt(Some(0.0)), Ok(0));
        assert_eq!(attempt(Some(3.0)), Ok(3));
        assert_eq!(attempt(Some(1e6)), Ok(1_000_000));
        assert_eq!(attempt(Some(1e300)), Ok(u32::MAX));
    }

    #[test]
    fn attempt_rejects_fractions_negatives_and_non_numbers() {
        for bad in [
            Some(-1.0),
            Some(1.5),
            Some(f64::NAN),
            Some(f64::INFINITY),
            None,
        ] {
            let err = attempt(bad).unwrap_err();
            assert_eq!(err.code(), "INVALID_INPUT", "{bad:?}");
        }
    }

    #[test]
    fn unit_requires_a_finite_number() {
        assert_eq!(unit(Some(0.25)), Ok(0.25));
        assert_eq!(unit(Some(7.0)), Ok(7.0));
        assert!(unit(Some(f64::NAN)).is_err());
        assert!(unit(Some(f64::NEG_INFINITY)).is_err());
        assert!(unit(None).is_err());
    }

    #[test]
    fn every_documented_context_parses_and_others_do_not() {
        assert_eq!(retry_context(None), Ok(RetryContext::Other));
        let parsed: Vec<_> = RETRY_CONTEXTS
            .iter()
            .map(|name| retry_context(Some(name)))
            .collect();
        assert_eq!(
            parsed,
            vec![
                Ok(RetryContext::Network),
                Ok(RetryContext::ServerRestart),
                Ok(RetryContext::Initializing),
                Ok(RetryContext::RateLimited),
                Ok(RetryContext::Other),
            ]
        );
        let err = retry_context(Some("server_restart")).unwrap_err();
        assert_eq!(err.code(), "INVALID_INPUT");
        assert!(err.to_string().contains("server_restart"), "{err}");
        assert!(retry_context(Some("Network")).is_err());
    }
}

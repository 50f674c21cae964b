//! C entry points for the backoff schedule: a free function over the default policy and the
//! opaque `cw_backoff` object (`cw_backoff_new` / `cw_backoff_delay_ms` / `cw_backoff_free`).

use super::CwStatus;
use super::guard::{as_ref, ffi_call, non_null};
use crate::backoff::{BackoffSchedule, RetryContext, default_delay_ms};

/// An opaque backoff schedule (`cw_backoff` in C). Create it with `cw_backoff_new`, release it
/// with `cw_backoff_free`.
#[derive(Debug)]
pub struct CwBackoff {
    schedule: BackoffSchedule,
}

/// Writes to `*out` the delay in milliseconds before retry number `attempt` under the default
/// policy (base 1 s, doubling, cap 30 s, +-20 % jitter). `unit` is a random draw in `[0, 1]`;
/// 0.5 means no jitter.
///
/// ```c
/// uint64_t ms;
/// if (cw_default_delay_ms(3, 0.5, &ms) == CW_STATUS_OK) { assert(ms == 4000); }
/// ```
///
/// Returns `CW_STATUS_NULL_ARGUMENT` if `out` is NULL and `CW_STATUS_INVALID_INPUT` if `unit` is
/// NaN, infinite or outside `[0, 1]`.
///
/// # Safety
/// `out` must be NULL or valid for writing one `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cw_default_delay_ms(attempt: u32, unit: f64, out: *mut u64) -> CwStatus {
    ffi_call("cw_default_delay_ms", || {
        let out = non_null(out, "out")?;
        let ms = default_delay_ms(attempt, unit, RetryContext::Other)?;
        // SAFETY: non-NULL and writable per the contract above.
        unsafe { out.as_ptr().write(ms) };
        Ok(())
    })
}

/// Creates a schedule starting at `base_ms`, doubling per attempt up to `cap_ms`, jittered by
/// `jitter` (relative, 0.2 = +-20 %), and writes it to `*out`. Free it with `cw_backoff_free`.
///
/// ```c
/// cw_backoff *b = NULL;
/// if (cw_backoff_new(100, 1000, 0.0, &b) == CW_STATUS_OK) { cw_backoff_free(b); }
/// ```
///
/// Returns `CW_STATUS_NULL_ARGUMENT` if `out` is NULL and `CW_STATUS_INVALID_INPUT` if `base_ms`
/// or `cap_ms` is zero or `jitter` is not a finite number in `[0, 1]`; `*out` is then untouched.
///
/// # Safety
/// `out` must be NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cw_backoff_new(
    base_ms: u64,
    cap_ms: u64,
    jitter: f64,
    out: *mut *mut CwBackoff,
) -> CwStatus {
    ffi_call("cw_backoff_new", || {
        let out = non_null(out, "out")?;
        let schedule = BackoffSchedule::new(base_ms, cap_ms, jitter)?;
        let backoff = Box::into_raw(Box::new(CwBackoff { schedule }));
        // SAFETY: non-NULL and writable per the contract above.
        unsafe { out.as_ptr().write(backoff) };
        Ok(())
    })
}

/// Writes to `*out` the delay in milliseconds before retry number `attempt` under `backoff`.
///
/// ```c
/// uint64_t ms;
/// cw_status st = cw_backoff_delay_ms(b, 3, 0.5, &ms); // base 100: 400
/// ```
///
/// Returns `CW_STATUS_NULL_ARGUMENT` if `backoff` or `out` is NULL and `CW_STATUS_INVALID_INPUT`
/// if `unit` is NaN, infinite or outside `[0, 1]`.
///
/// # Safety
/// `backoff` must be NULL or a live pointer from `cw_backoff_new`; `out` must be NULL or valid
/// for writing one `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cw_backoff_delay_ms(
    backoff: *const CwBackoff,
    attempt: u32,
    unit: f64,
    out: *mut u64,
) -> CwStatus {
    ffi_call("cw_backoff_delay_ms", || {
        // SAFETY: live pointer from `cw_backoff_new` per the contract above.
        let backoff = unsafe { as_ref(backoff, "backoff") }?;
        let out = non_null(out, "out")?;
        let ms = backoff.schedule.delay_ms(attempt, unit)?;
        // SAFETY: non-NULL and writable per the contract above.
        unsafe { out.as_ptr().write(ms) };
        Ok(())
    })
}

/// Releases a schedule created by `cw_backoff_new`. NULL is a no-op.
///
/// ```c
/// cw_backoff_free(b);
/// b = NULL;
/// ```
///
/// # Safety
/// `backoff` must be NULL or a pointer from `cw_backoff_new` not yet freed; it is invalid after.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cw_backoff_free(backoff: *mut CwBackoff) {
    ffi_call("cw_backoff_free", || {
        if !backoff.is_null() {
            // SAFETY: came from `Box::into_raw` in `cw_backoff_new` and is freed once.
            drop(unsafe { Box::from_raw(backoff) });
        }
        Ok(())
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr;

    #[test]
    fn object_round_trip() {
        let mut backoff = ptr::null_mut();
        // SAFETY: valid out-pointers; the object is freed once.
        unsafe {
            assert_eq!(cw_backoff_new(100, 1000, 0.0, &mut backoff), CwStatus::Ok);
            let mut ms = 0;
            assert_eq!(cw_backoff_delay_ms(backoff, 3, 0.5, &mut ms), CwStatus::Ok);
            assert_eq!(ms, 400);
            cw_backoff_free(backoff);
        }
    }

    #[test]
    fn null_and_invalid_arguments_are_statuses() {
        let mut backoff = ptr::null_mut();
        // SAFETY: NULL is allowed everywhere and must be rejected, not dereferenced.
        unsafe {
            assert_eq!(
                cw_default_delay_ms(1, 0.5, ptr::null_mut()),
                CwStatus::NullArgument
            );
            let mut ms = 7;
            assert_eq!(
                cw_backoff_delay_ms(ptr::null(), 1, 0.5, &mut ms),
                CwStatus::NullArgument
            );
            assert_eq!(ms, 7);
            assert_eq!(
                cw_backoff_new(100, 0, 0.0, &mut backoff),
                CwStatus::InvalidInput
            );
            assert!(backoff.is_null());
            cw_backoff_free(ptr::null_mut());
        }
    }
}

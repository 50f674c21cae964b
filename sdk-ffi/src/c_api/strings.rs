//! C entry points that hand out strings: `cw_version`, `cw_last_error_message`, and
//! `cw_string_free`, which releases every string this library returns.

use std::ffi::{CString, c_char};
use std::ptr;

use super::CwStatus;
use super::guard::{ffi_call, last_error, non_null};
use crate::ChatError;

/// Writes to `*out` a newly allocated, NUL-terminated copy of the chatwire core version.
/// Release it with `cw_string_free`.
///
/// ```c
/// char *v = NULL;
/// if (cw_version(&v) == CW_STATUS_OK) { puts(v); cw_string_free(v); }
/// ```
///
/// Returns `CW_STATUS_NULL_ARGUMENT` if `out` is NULL.
///
/// # Safety
/// `out` must be NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cw_version(out: *mut *mut c_char) -> CwStatus {
    ffi_call("cw_version", || {
        let out = non_null(out, "out")?;
        let version = CString::new(chatwire::version())
            .map_err(|_| ChatError::invalid("version contains a NUL byte"))?;
        // SAFETY: non-NULL and writable per the contract above.
        unsafe { out.as_ptr().write(version.into_raw()) };
        Ok(())
    })
}

/// A newly allocated copy of the message of the last failed call on this thread, or NULL if no
/// call has failed on it yet. A succeeding call leaves the message in place. Release it with
/// `cw_string_free`.
///
/// ```c
/// if (cw_default_delay_ms(1, 0.5, NULL) != CW_STATUS_OK) {
///     char *msg = cw_last_error_message();
///     fprintf(stderr, "%s\n", msg);
///     cw_string_free(msg);
/// }
/// ```
#[unsafe(no_mangle)]
pub extern "C" fn cw_last_error_message() -> *mut c_char {
    let mut message = ptr::null_mut();
    // The helper only fails on a panic, which would itself become the last error: ignore it.
    let _ = ffi_call("cw_last_error_message", || {
        message = last_error().map_or(ptr::null_mut(), CString::into_raw);
        Ok(())
    });
    message
}

/// Releases a string returned by this library. NULL is a no-op.
///
/// ```c
/// cw_string_free(v);
/// ```
///
/// # Safety
/// `s` must be NULL or a string returned by this library and not yet freed; it is invalid after.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cw_string_free(s: *mut c_char) {
    ffi_call("cw_string_free", || {
        if !s.is_null() {
            // SAFETY: came from `CString::into_raw` in this library and is freed once.
            drop(unsafe { CString::from_raw(s) });
        }
        Ok(())
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn version_matches_the_core_and_errors_are_readable() {
        let mut v = ptr::null_mut();
        // SAFETY: valid out-pointer; each returned string is freed once.
        unsafe {
            assert!(cw_last_error_message().is_null());
            assert_eq!(cw_version(&mut v), CwStatus::Ok);
            assert_eq!(CStr::from_ptr(v).to_str(), Ok(chatwire::version()));
            cw_string_free(v);
            assert_eq!(cw_version(ptr::null_mut()), CwStatus::NullArgument);
            let msg = cw_last_error_message();
            assert_eq!(
                CStr::from_ptr(msg).to_str(),
                Ok("cw_version: argument `out` must not be NULL")
            );
            cw_string_free(msg);
        }
    }
}

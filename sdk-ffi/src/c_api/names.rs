//! `cw_status_name`: the stable name of a status code, the `ErrorCode` name every binding
//! reports (`CW_STATUS_QUEUE_FULL` → `"QUEUE_FULL"`), so C programs print and log the same codes
//! as Kotlin, Python and Rust.

use std::ffi::{CStr, c_char};

use super::CwStatus;

/// The name of status `status` as a static string (do not free it): the core's `ErrorCode` name
/// for every code of that table (`"QUEUE_FULL"`), `"OK"`, `"NULL_ARGUMENT"`, `"PANIC"` and
/// `"TIMEOUT"` for the others, `"UNKNOWN"` for a value this library does not define. Takes an
/// `int32_t` so that any value is safe to pass.
///
/// ```c
/// cw_status s = cw_client_send(c, "hi", &id);
/// if (s != CW_STATUS_OK) fprintf(stderr, "send failed: %s\n", cw_status_name(s));
/// ```
#[unsafe(no_mangle)]
pub extern "C" fn cw_status_name(status: i32) -> *const c_char {
    name(status).as_ptr()
}

fn name(status: i32) -> &'static CStr {
    const NAMES: [(CwStatus, &CStr); 20] = [
        (CwStatus::Ok, c"OK"),
        (CwStatus::NullArgument, c"NULL_ARGUMENT"),
        (CwStatus::InvalidInput, c"INVALID_INPUT"),
        (CwStatus::Network, c"NETWORK"),
        (CwStatus::Auth, c"AUTH"),
        (CwStatus::Protocol, c"PROTOCOL"),
        (CwStatus::Closed, c"CLOSED"),
        (CwStatus::Panic, c"PANIC"),
        (CwStatus::QueueFull, c"QUEUE_FULL"),
        (CwStatus::TooLarge, c"TOO_LARGE"),
        (CwStatus::Unsupported, c"UNSUPPORTED"),
        (CwStatus::InvalidConfig, c"INVALID_CONFIG"),
        (CwStatus::DeliveryFailed, c"DELIVERY_FAILED"),
        (CwStatus::AlreadySent, c"ALREADY_SENT"),
        (CwStatus::NotFound, c"NOT_FOUND"),
        (CwStatus::RateLimited, c"RATE_LIMITED"),
        (CwStatus::Server, c"SERVER"),
        (CwStatus::Other, c"OTHER"),
        (CwStatus::Internal, c"INTERNAL"),
        (CwStatus::Timeout, c"TIMEOUT"),
    ];
    NAMES
        .iter()
        .find(|(s, _)| *s as i32 == status)
        .map_or(c"UNKNOWN", |(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_is_named_as_the_core_names_it() {
        for &code in chatwire::ErrorCode::ALL {
            let status = CwStatus::from_code(code) as i32;
            assert_eq!(name(status).to_str(), Ok(code.as_str()), "{code}");
        }
        assert_eq!(name(0).to_str(), Ok("OK"));
        assert_eq!(name(CwStatus::Timeout as i32).to_str(), Ok("TIMEOUT"));
        assert_eq!(name(-1).to_str(), Ok("UNKNOWN"));
        assert_eq!(name(1000).to_str(), Ok("UNKNOWN"));
        // SAFETY: a static NUL-terminated string.
        let text = unsafe { CStr::from_ptr(cw_status_name(8)) };
        assert_eq!(text.to_str(), Ok("QUEUE_FULL"));
    }
}

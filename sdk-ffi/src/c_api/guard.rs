//! The one helper every C entry point goes through, and the thread-local last error.
//!
//! [`ffi_call`] runs a function body inside `catch_unwind`, turns its `Err` or panic into a
//! [`CwStatus`], and records a message for `cw_last_error_message()`. The pointer helpers
//! ([`non_null`], [`as_ref`]) turn a NULL argument into [`CallError::NullArgument`] so bodies use
//! `?` instead of dereferencing blindly.

use std::any::Any;
use std::cell::RefCell;
use std::ffi::CString;
use std::panic::{self, AssertUnwindSafe};
use std::ptr::NonNull;

use super::CwStatus;
use crate::ChatError;

/// Why a C call failed, before it becomes a [`CwStatus`] and a message.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CallError {
    /// A required pointer was NULL; the payload names the parameter.
    #[error("argument `{0}` must not be NULL")]
    NullArgument(&'static str),
    /// A wait ran out of time; the payload says which.
    #[error("{0}")]
    Timeout(String),
    /// The shared validation or the core rejected the call.
    #[error(transparent)]
    Chat(#[from] ChatError),
}

/// Runs `body` for the C function `function`: catches panics, maps errors to a status and stores
/// the message of a failure as this thread's last error.
pub(crate) fn ffi_call<F>(function: &'static str, body: F) -> CwStatus
where
    F: FnOnce() -> Result<(), CallError>,
{
    match panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => CwStatus::Ok,
        Ok(Err(error)) => {
            set_last_error(format!("{function}: {error}"));
            status_of(&error)
        }
        Err(payload) => {
            set_last_error(format!("{function}: panicked: {}", panic_text(&*payload)));
            CwStatus::Panic
        }
    }
}

/// A copy of this thread's last error message, or `None` if no call has failed on this thread.
pub(crate) fn last_error() -> Option<CString> {
    LAST_ERROR.with(|slot| slot.borrow().clone())
}

/// `ptr` as a `NonNull`, or [`CallError::NullArgument`] naming `name`.
pub(crate) fn non_null<T>(ptr: *mut T, name: &'static str) -> Result<NonNull<T>, CallError> {
    NonNull::new(ptr).ok_or(CallError::NullArgument(name))
}

/// Borrows `*ptr`, or fails with [`CallError::NullArgument`] naming `name`.
///
/// # Safety
/// A non-NULL `ptr` must point to a live, properly aligned `T` that is not mutated for `'a`.
pub(crate) unsafe fn as_ref<'a, T>(ptr: *const T, name: &'static str) -> Result<&'a T, CallError> {
    // SAFETY: forwarded to the caller; `as_ref` itself handles NULL.
    unsafe { ptr.as_ref() }.ok_or(CallError::NullArgument(name))
}

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

fn set_last_error(message: String) {
    // Interior NULs would truncate the C string; they cannot come from our own messages, but a
    // panic payload is arbitrary text.
    let message = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    LAST_ERROR.with(|slot| *slot.borrow_mut() = Some(message));
}

fn status_of(error: &CallError) -> CwStatus {
    match error {
        CallError::NullArgument(_) => CwStatus::NullArgument,
        CallError::Timeout(_) => CwStatus::Timeout,
        CallError::Chat(error) => CwStatus::from_code(error.code()),
    }
}

fn panic_text(payload: &(dyn Any + Send)) -> &str {
    if let Some(text) = payload.downcast_ref::<&'static str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else {
        "(non-string panic payload)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last() -> String {
        last_error().unwrap().into_string().unwrap()
    }

    #[test]
    fn ok_body_returns_ok_and_keeps_the_previous_error() {
        let failed = ffi_call("cw_first", || Err(CallError::NullArgument("out")));
        assert_eq!(failed, CwStatus::NullArgument);
        assert_eq!(ffi_call("cw_second", || Ok(())), CwStatus::Ok);
        assert_eq!(last(), "cw_first: argument `out` must not be NULL");
    }

    #[test]
    fn errors_map_to_their_status() {
        let status = ffi_call("cw_x", || Err(ChatError::invalid("bad").into()));
        assert_eq!(status, CwStatus::InvalidInput);
        assert_eq!(last(), "cw_x: bad");
        let closed = ChatError::Closed {
            message: "gone".into(),
        };
        assert_eq!(ffi_call("cw_y", || Err(closed.into())), CwStatus::Closed);
    }

    #[test]
    fn panics_are_caught_and_reported() {
        let status = ffi_call("cw_boom", || panic!("kaboom {}", 42));
        assert_eq!(status, CwStatus::Panic);
        assert_eq!(last(), "cw_boom: panicked: kaboom 42");
    }

    #[test]
    fn null_pointers_are_rejected() {
        assert!(matches!(
            non_null::<u64>(std::ptr::null_mut(), "out"),
            Err(CallError::NullArgument("out"))
        ));
        // SAFETY: NULL is allowed; the helper must not dereference it.
        let r = unsafe { as_ref::<u64>(std::ptr::null(), "obj") };
        assert!(matches!(r, Err(CallError::NullArgument("obj"))));
    }
}

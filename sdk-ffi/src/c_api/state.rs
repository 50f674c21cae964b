//! Connection state for C: `cw_state_watch`, the client's state changes pulled as JSON
//! (`cw_state_watch_next`), and `cw_client_connect`, which connects before the first send.
//!
//! Guarantees (those of the uniffi `StateSubscription`): `cw_state_watch_next` returns the state
//! after the next change as the core's `ConnectionState` JSON (`{"kind":"ready"}`,
//! `{"kind":"reconnecting","attempt":2,"delayMs":2000}`); intermediate states may be skipped
//! when several changes happen between two calls, the last one never is; `{"kind":"closed"}` is
//! the last state returned, then `CW_STATUS_CLOSED`. The state at the moment of the watch is
//! `cw_client_state`'s; a change after `cw_client_watch_state` returned is never missed.

use std::ffi::{CString, c_char};
use std::time::Duration;

use super::CwStatus;
use super::client::{CwClient, block_on, c_string};
use super::guard::{as_ref, ffi_call, non_null};
use super::receipt::to_json;
use crate::ChatError;
use crate::subscription::StateSubscription;

/// The connection-state changes of one client (`cw_state_watch` in C). Release it with
/// `cw_state_watch_free`; it may outlive its client.
#[derive(Debug)]
pub struct CwStateWatch {
    states: StateSubscription,
}

/// Starts watching the client's connection state and writes the watch to `*out_watch`.
///
/// ```c
/// cw_state_watch *w = NULL;
/// char *state = NULL;
/// cw_client_watch_state(c, &w);
/// while (cw_state_watch_next(w, 5000, &state) == CW_STATUS_OK && state) {
///     puts(state); cw_string_free(state);    /* {"kind":"connecting"} ... {"kind":"closed"} */
/// }
/// cw_state_watch_free(w);
/// ```
///
/// # Safety
/// `client` must be NULL or a live `cw_client`; `out_watch` NULL or valid for writing one
/// pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cw_client_watch_state(
    client: *const CwClient,
    out_watch: *mut *mut CwStateWatch,
) -> CwStatus {
    ffi_call("cw_client_watch_state", || {
        // SAFETY: live pointer per the contract above.
        let client = unsafe { as_ref(client, "client") }?;
        let out = non_null(out_watch, "out_watch")?;
        let states = StateSubscription::new(client.client.core().state_watch());
        let watch = Box::into_raw(Box::new(CwStateWatch { states }));
        // SAFETY: non-NULL and writable per the contract above.
        unsafe { out.as_ptr().write(watch) };
        Ok(())
    })
}

/// Waits up to `timeout_ms` for the next state change and writes the new state's JSON (freed
/// with `cw_string_free`) to `*out_json`; writes NULL when the time ran out first (status OK).
/// Returns `CW_STATUS_CLOSED` once `{"kind":"closed"}` was returned.
///
/// # Safety
/// `watch` must be NULL or a live `cw_state_watch`; `out_json` NULL or valid for writing one
/// pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cw_state_watch_next(
    watch: *const CwStateWatch,
    timeout_ms: u64,
    out_json: *mut *mut c_char,
) -> CwStatus {
    ffi_call("cw_state_watch_next", || {
        // SAFETY: live pointer per the contract above.
        let watch = unsafe { as_ref(watch, "watch") }?;
        let out = non_null(out_json, "out_json")?;
        let wait = Duration::from_millis(timeout_ms);
        let next = block_on(async { tokio::time::timeout(wait, watch.states.next_core()).await })?;
        let json = match next {
            Err(_elapsed) => None,
            Ok(Some(state)) => Some(c_string(to_json(&state)?)?),
            Ok(None) => {
                return Err(ChatError::Closed {
                    message: "the client is closed and its last state was returned".into(),
                }
                .into());
            }
        };
        let json = json.map_or(std::ptr::null_mut(), CString::into_raw);
        // SAFETY: non-NULL and writable per the contract above.
        unsafe { out.as_ptr().write(json) };
        Ok(())
    })
}

/// Releases a state watch. NULL is a no-op.
///
/// # Safety
/// `watch` must be NULL or a pointer from `cw_client_watch_state` not yet freed, with no call on
/// it still running; it is invalid after.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cw_state_watch_free(watch: *mut CwStateWatch) {
    ffi_call("cw_state_watch_free", || {
        if !watch.is_null() {
            // SAFETY: came from `Box::into_raw` in `cw_client_watch_state` and is freed once.
            drop(unsafe { Box::from_raw(watch) });
        }
        Ok(())
    });
}

/// Connects now instead of on the first send (lazy connect). Returns `CW_STATUS_CLOSED` after
/// close.
///
/// # Safety
/// `client` must be NULL or a live `cw_client`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cw_client_connect(client: *const CwClient) -> CwStatus {
    ffi_call("cw_client_connect", || {
        // SAFETY: live pointer per the contract above.
        let client = unsafe { as_ref(client, "client") }?;
        Ok(block_on(client.client.connect())??)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::c_api::{cw_client_close, cw_client_free, cw_client_new, cw_string_free};
    use std::ffi::CStr;
    use std::ptr;

    /// The next state's JSON, or the status code when there is none.
    fn next_state(watch: *const CwStateWatch) -> Result<String, CwStatus> {
        let mut out = ptr::null_mut();
        // SAFETY: a live watch; the returned string is freed once.
        unsafe {
            match cw_state_watch_next(watch, 5_000, &mut out) {
                CwStatus::Ok if !out.is_null() => {
                    let text = CStr::from_ptr(out).to_string_lossy().into_owned();
                    cw_string_free(out);
                    Ok(text)
                }
                status => Err(status),
            }
        }
    }

    #[test]
    fn null_arguments_are_statuses() {
        let (mut watch, mut out) = (ptr::null_mut(), ptr::null_mut());
        // SAFETY: NULL is allowed everywhere and must be rejected, not dereferenced.
        unsafe {
            let status = cw_client_watch_state(ptr::null(), &mut watch);
            assert_eq!(status, CwStatus::NullArgument);
            assert_eq!(
                cw_state_watch_next(ptr::null(), 0, &mut out),
                CwStatus::NullArgument
            );
            assert_eq!(cw_client_connect(ptr::null()), CwStatus::NullArgument);
            cw_state_watch_free(ptr::null_mut());
        }
        assert!(watch.is_null() && out.is_null());
    }

    #[test]
    fn connect_is_seen_then_closed_ends_the_watch() {
        // Nothing listens on port 9: connecting fails and the client backs off.
        let json = cr#"{"dialect":"native","baseUrl":"http://127.0.0.1:9"}"#;
        let (mut client, mut watch) = (ptr::null_mut(), ptr::null_mut());
        // SAFETY: valid pointers; every object is freed once.
        unsafe {
            assert_eq!(cw_client_new(json.as_ptr(), &mut client), CwStatus::Ok);
            assert_eq!(cw_client_watch_state(client, &mut watch), CwStatus::Ok);
            assert_eq!(cw_client_connect(client), CwStatus::Ok);
            let first = next_state(watch).unwrap();
            assert_ne!(
                first, r#"{"kind":"disconnected"}"#,
                "a change, not the start"
            );
            assert_eq!(cw_client_close(client, 5_000), CwStatus::Ok);
            let mut last = first;
            while let Ok(state) = next_state(watch) {
                last = state;
            }
            assert_eq!(last, r#"{"kind":"closed"}"#);
            assert_eq!(next_state(watch), Err(CwStatus::Closed));
            assert_eq!(cw_client_connect(client), CwStatus::Closed);
            cw_client_free(client);
            cw_state_watch_free(watch);
        }
    }
}

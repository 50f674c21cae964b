//! The chat client for C: an opaque `cw_client` built from `ClientOptions` JSON, with events
//! pulled as JSON strings (`cw_client_next_event`; the callback and the pollable descriptor
//! live in `events.rs`, message status in `status.rs`).
//!
//! Guarantees, written again at the top of `chatwire.h`:
//! - A `cw_client` subscribes to its events when it is created, so nothing is missed between
//!   `cw_client_new` and the first `cw_client_next_event`; events come back in `seq` order,
//!   each once, as the canonical envelope JSON of `sdk-core/EVENTS.md`.
//! - Calls return after at most their timeout: `cw_client_send` and the commands wait only for
//!   the client's own task to accept them (no network round trip); `cw_client_next_event` and
//!   `cw_client_close` take a timeout in milliseconds.
//! - Every function is safe to call from any thread; two threads waiting in
//!   `cw_client_next_event` on one client take turns. The functions must not be called from a
//!   thread of the library's own runtime (there is none in C unless a Rust callback is used).
//! - Status codes are the `ErrorCode` table's (`CW_STATUS_QUEUE_FULL`, ...); every entry point
//!   goes through `guard::ffi_call` (NULL checks, panics caught).

use std::ffi::{CStr, CString, c_char};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chatwire::ClientOptions;
use chatwire::client::ClientBuilder;

use super::CwStatus;
use super::events::Inbox;
use super::guard::{CallError, as_ref, ffi_call, non_null};
use super::status::Receipts;
use crate::ChatError;
use crate::client::{ChatClient, build, runtime};

/// An opaque chat client (`cw_client` in C). Create it with `cw_client_new`, close it with
/// `cw_client_close`, release it with `cw_client_free`.
#[derive(Debug)]
pub struct CwClient {
    pub(super) client: Arc<ChatClient>,
    pub(super) inbox: Inbox,
    pub(super) receipts: Receipts,
}

impl CwClient {
    /// A C client around `client`, subscribed to its events at once.
    pub(super) fn wrap(client: Arc<ChatClient>) -> Result<CwClient, CallError> {
        let inbox = Inbox::new(client.core().events())?;
        Ok(CwClient {
            client,
            inbox,
            receipts: Receipts::default(),
        })
    }
}

/// Creates a client from `ClientOptions` JSON and writes it to `*out`. Nothing connects before
/// the first send unless the options say `"lazyConnect": false`.
///
/// ```c
/// cw_client *c = NULL;
/// if (cw_client_new("{\"dialect\":\"native\",\"baseUrl\":\"http://127.0.0.1:8080\"}", &c)
///         != CW_STATUS_OK) { char *m = cw_last_error_message(); puts(m); cw_string_free(m); }
/// ```
///
/// Returns `CW_STATUS_NULL_ARGUMENT` for a NULL argument, `CW_STATUS_INVALID_INPUT` for text
/// that is not UTF-8, `CW_STATUS_INVALID_CONFIG` for invalid JSON or options; `*out` is then
/// untouched.
///
/// # Safety
/// `options_json` must be NULL or a NUL-terminated string; `out` NULL or valid for writing one
/// pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cw_client_new(
    options_json: *const c_char,
    out: *mut *mut CwClient,
) -> CwStatus {
    ffi_call("cw_client_new", || {
        // SAFETY: NUL-terminated per the contract above.
        let json = unsafe { text(options_json, "options_json") }?;
        let out = non_null(out, "out")?;
        let options = ClientOptions::from_json(json).map_err(ChatError::from)?;
        let client = build(ClientBuilder::from_options(options))?;
        let boxed = Box::into_raw(Box::new(CwClient::wrap(client)?));
        // SAFETY: non-NULL and writable per the contract above.
        unsafe { out.as_ptr().write(boxed) };
        Ok(())
    })
}

/// Queues `text` and writes its client id (a UUID string, freed with `cw_string_free`) to
/// `*out_client_id`. Returns once the client accepted the message; delivery shows up as
/// `messageStatus` events.
///
/// ```c
/// char *id = NULL;
/// if (cw_client_send(c, "hello", &id) == CW_STATUS_OK) { puts(id); cw_string_free(id); }
/// ```
///
/// Returns `CW_STATUS_CLOSED`, `CW_STATUS_QUEUE_FULL`, `CW_STATUS_TOO_LARGE`, or
/// `CW_STATUS_NULL_ARGUMENT` / `CW_STATUS_INVALID_INPUT` for bad arguments.
///
/// # Safety
/// `client` must be NULL or a live `cw_client`; `text` NULL or NUL-terminated; `out_client_id`
/// NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cw_client_send(
    client: *const CwClient,
    text: *const c_char,
    out_client_id: *mut *mut c_char,
) -> CwStatus {
    ffi_call("cw_client_send", || {
        // SAFETY: live pointers per the contract above.
        let client = unsafe { as_ref(client, "client") }?;
        // SAFETY: as above.
        let message = unsafe { self::text(text, "text") }?;
        let out = non_null(out_client_id, "out_client_id")?;
        let receipt =
            block_on(client.client.core().send(message.to_owned()))?.map_err(ChatError::from)?;
        let id = c_string(receipt.client_id().to_string())?;
        client.receipts.keep(receipt);
        // SAFETY: non-NULL and writable per the contract above.
        unsafe { out.as_ptr().write(id.into_raw()) };
        Ok(())
    })
}

/// Waits up to `timeout_ms` for the next event and writes its JSON (freed with
/// `cw_string_free`) to `*out_json`; writes NULL when the time ran out first (status OK).
///
/// ```c
/// char *json = NULL;
/// while (cw_client_next_event(c, 5000, &json) == CW_STATUS_OK && json) {
///     puts(json); cw_string_free(json);
/// }
/// ```
///
/// Returns `CW_STATUS_CLOSED` once the client is closed and every earlier event was returned,
/// `CW_STATUS_INVALID_INPUT` when the client delivers its events to a callback.
///
/// # Safety
/// `client` must be NULL or a live `cw_client`; `out_json` NULL or valid for writing one
/// pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cw_client_next_event(
    client: *const CwClient,
    timeout_ms: u64,
    out_json: *mut *mut c_char,
) -> CwStatus {
    ffi_call("cw_client_next_event", || {
        // SAFETY: live pointer per the contract above.
        let client = unsafe { as_ref(client, "client") }?;
        let out = non_null(out_json, "out_json")?;
        let json = match client.inbox.next(Duration::from_millis(timeout_ms))? {
            Some(json) => c_string(json)?.into_raw(),
            None => std::ptr::null_mut(),
        };
        // SAFETY: non-NULL and writable per the contract above.
        unsafe { out.as_ptr().write(json) };
        Ok(())
    })
}

/// Writes the connection state as JSON (`{"kind":"ready"}`, `{"kind":"reconnecting",
/// "attempt":2,"delayMs":2000}`, ...) to `*out_json`; free it with `cw_string_free`.
///
/// # Safety
/// `client` must be NULL or a live `cw_client`; `out_json` NULL or valid for writing one
/// pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cw_client_state(
    client: *const CwClient,
    out_json: *mut *mut c_char,
) -> CwStatus {
    ffi_call("cw_client_state", || {
        // SAFETY: live pointer per the contract above.
        let client = unsafe { as_ref(client, "client") }?;
        let out = non_null(out_json, "out_json")?;
        let json = serde_json::to_string(&client.client.core().state()).map_err(|e| {
            ChatError::Internal {
                message: e.to_string(),
            }
        })?;
        // SAFETY: non-NULL and writable per the contract above.
        unsafe { out.as_ptr().write(c_string(json)?.into_raw()) };
        Ok(())
    })
}

/// Cancels the current assistant turn. Returns `CW_STATUS_CLOSED` after close.
///
/// # Safety
/// `client` must be NULL or a live `cw_client`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cw_client_cancel_turn(client: *const CwClient) -> CwStatus {
    ffi_call("cw_client_cancel_turn", || {
        // SAFETY: live pointer per the contract above.
        let client = unsafe { as_ref(client, "client") }?;
        Ok(block_on(client.client.core().cancel_turn())?.map_err(ChatError::from)?)
    })
}

/// Tells the backend the user is typing (`active` true) or stopped, throttled by the client; a
/// no-op on dialects without typing indicators. Returns `CW_STATUS_CLOSED` after close.
///
/// # Safety
/// `client` must be NULL or a live `cw_client`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cw_client_typing(client: *const CwClient, active: bool) -> CwStatus {
    ffi_call("cw_client_typing", || {
        // SAFETY: live pointer per the contract above.
        let client = unsafe { as_ref(client, "client") }?;
        Ok(block_on(client.client.core().typing(active))?.map_err(ChatError::from)?)
    })
}

/// Connects now, skipping a pending backoff wait or leaving the failed state.
///
/// # Safety
/// `client` must be NULL or a live `cw_client`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cw_client_reconnect_now(client: *const CwClient) -> CwStatus {
    ffi_call("cw_client_reconnect_now", || {
        // SAFETY: live pointer per the contract above.
        let client = unsafe { as_ref(client, "client") }?;
        Ok(block_on(client.client.core().reconnect_now())?.map_err(ChatError::from)?)
    })
}

/// Closes the client and waits up to `timeout_ms` for it to stop: pending messages fail
/// `closed`, and `cw_client_next_event` returns the remaining events, then
/// `CW_STATUS_CLOSED`. Idempotent. Returns `CW_STATUS_TIMEOUT` when the client had not stopped
/// in time (it still stops; call `cw_client_free` either way).
///
/// # Safety
/// `client` must be NULL or a live `cw_client`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cw_client_close(client: *const CwClient, timeout_ms: u64) -> CwStatus {
    ffi_call("cw_client_close", || {
        // SAFETY: live pointer per the contract above.
        let client = unsafe { as_ref(client, "client") }?;
        let wait = Duration::from_millis(timeout_ms);
        block_on(async { tokio::time::timeout(wait, client.client.core().close()).await })?.map_err(
            |_| CallError::Timeout(format!("the client did not stop within {timeout_ms} ms")),
        )
    })
}

/// Releases a client (closing it first if needed, without waiting). With an event callback, it
/// first waits for a running callback to return, and no callback runs after it; never call it
/// from inside the callback. NULL is a no-op.
///
/// # Safety
/// `client` must be NULL or a pointer from `cw_client_new` not yet freed, with no call on it
/// still running (other than from inside its callback); it is invalid after.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cw_client_free(client: *mut CwClient) {
    ffi_call("cw_client_free", || {
        if !client.is_null() {
            // SAFETY: came from `Box::into_raw` in `cw_client_new` and is freed once; the
            // callback thread, the only other user, is stopped before the box is dropped.
            let client = unsafe { Box::from_raw(client) };
            client.inbox.stop();
            drop(client);
        }
        Ok(())
    });
}

/// Runs `future` to completion on the library's runtime from a C thread. Create timers inside
/// the future (`async { timeout(..).await }`): they need the runtime's context.
pub(super) fn block_on<F: Future>(future: F) -> Result<F::Output, CallError> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(ChatError::invalid("called from inside an async runtime thread").into());
    }
    Ok(runtime()?.block_on(future))
}

/// Borrows the NUL-terminated UTF-8 string `ptr`.
///
/// # Safety
/// A non-NULL `ptr` must point to a NUL-terminated string that outlives `'a`.
pub(super) unsafe fn text<'a>(
    ptr: *const c_char,
    name: &'static str,
) -> Result<&'a str, CallError> {
    if ptr.is_null() {
        return Err(CallError::NullArgument(name));
    }
    // SAFETY: non-NULL and NUL-terminated per the contract above.
    let text = unsafe { CStr::from_ptr(ptr) };
    text.to_str()
        .map_err(|_| ChatError::invalid(format!("`{name}` is not valid UTF-8")).into())
}

pub(super) fn c_string(text: String) -> Result<CString, CallError> {
    // Ids and JSON never contain NUL (JSON escapes it as \u0000).
    CString::new(text).map_err(|_| {
        ChatError::Internal {
            message: "a returned string contains a NUL byte".into(),
        }
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr;

    #[test]
    fn null_and_bad_arguments_are_statuses() {
        let mut client = ptr::null_mut();
        let mut out = ptr::null_mut();
        // SAFETY: NULL is allowed everywhere and must be rejected, not dereferenced.
        unsafe {
            assert_eq!(
                cw_client_new(ptr::null(), &mut client),
                CwStatus::NullArgument
            );
            assert_eq!(
                cw_client_new(c"{}".as_ptr(), ptr::null_mut()),
                CwStatus::NullArgument
            );
            assert_eq!(
                cw_client_new(c"{nope".as_ptr(), &mut client),
                CwStatus::InvalidConfig
            );
            assert!(client.is_null());
            assert_eq!(
                cw_client_send(ptr::null(), c"hi".as_ptr(), &mut out),
                CwStatus::NullArgument
            );
            assert_eq!(
                cw_client_next_event(ptr::null(), 0, &mut out),
                CwStatus::NullArgument
            );
            assert_eq!(cw_client_close(ptr::null(), 0), CwStatus::NullArgument);
            assert_eq!(cw_client_cancel_turn(ptr::null()), CwStatus::NullArgument);
            assert_eq!(cw_client_reconnect_now(ptr::null()), CwStatus::NullArgument);
            assert_eq!(cw_client_typing(ptr::null(), true), CwStatus::NullArgument);
            assert_eq!(
                cw_client_state(ptr::null(), &mut out),
                CwStatus::NullArgument
            );
            cw_client_free(ptr::null_mut());
            assert!(out.is_null());
        }
    }

    #[test]
    fn a_closed_client_says_closed() {
        let json = cr#"{"dialect":"native","baseUrl":"http://127.0.0.1:9"}"#;
        let mut client = ptr::null_mut();
        let mut out = ptr::null_mut();
        // SAFETY: valid pointers; every returned string and the client are freed once.
        unsafe {
            assert_eq!(cw_client_new(json.as_ptr(), &mut client), CwStatus::Ok);
            assert_eq!(cw_client_next_event(client, 10, &mut out), CwStatus::Ok);
            assert!(out.is_null(), "no event before anything happened");
            assert_eq!(cw_client_state(client, &mut out), CwStatus::Ok);
            assert_eq!(
                CStr::from_ptr(out).to_str(),
                Ok(r#"{"kind":"disconnected"}"#)
            );
            crate::c_api::cw_string_free(out);
            assert_eq!(cw_client_close(client, 5_000), CwStatus::Ok);
            let mut last = CwStatus::Ok;
            for _ in 0..10 {
                last = cw_client_next_event(client, 1_000, &mut out);
                if last != CwStatus::Ok {
                    break;
                }
                crate::c_api::cw_string_free(out);
            }
            assert_eq!(last, CwStatus::Closed);
            assert_eq!(
                cw_client_send(client, c"late".as_ptr(), &mut out),
                CwStatus::Closed
            );
            cw_client_free(client);
        }
    }
}

//! Receipts for C: `cw_receipt`, one sent message's client id and its delivery statuses pulled
//! as JSON (`cw_receipt_next_status`), from `cw_client_send_receipt` or `cw_client_send_audio`;
//! and `cw_client_discard`, which takes a queued message back.
//!
//! Guarantees: `cw_receipt_next_status` returns the message's current status first, then every
//! later one, as the core's `DeliveryStatus` JSON (`{"kind":"acked"}`, `{"kind":"failed",
//! "reason":"overflow"}`), and `CW_STATUS_CLOSED` after the last one (`acked`, `failed`, or `sent`
//! on dialects without acks). A status replaced before it was pulled may be skipped; the last one
//! never is. A receipt is independent of its client's lifetime: it may be freed before or after
//! the client.

use std::ffi::{CString, c_char};
use std::time::Duration;

use super::CwStatus;
use super::client::{CwClient, block_on, c_string, text};
use super::guard::{CallError, as_ref, ffi_call, non_null};
use crate::ChatError;
use crate::statuses::StatusSubscription;

/// One sent message (`cw_receipt` in C): its client id and its delivery statuses. Release it
/// with `cw_receipt_free`.
#[derive(Debug)]
pub struct CwReceipt {
    client_id: String,
    statuses: StatusSubscription,
}

/// Like `cw_client_send`, but writes a `cw_receipt` to `*out_receipt`, whose statuses
/// `cw_receipt_next_status` pulls.
///
/// ```c
/// cw_receipt *r = NULL;
/// char *status = NULL;
/// if (cw_client_send_receipt(c, "hello", &r) == CW_STATUS_OK) {
///     while (cw_receipt_next_status(r, 5000, &status) == CW_STATUS_OK && status) {
///         puts(status); cw_string_free(status);   /* {"kind":"queued"} ... {"kind":"acked"} */
///     }
///     cw_receipt_free(r);
/// }
/// ```
///
/// Returns what `cw_client_send` returns.
///
/// # Safety
/// `client` must be NULL or a live `cw_client`; `text` NULL or NUL-terminated; `out_receipt`
/// NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cw_client_send_receipt(
    client: *const CwClient,
    text: *const c_char,
    out_receipt: *mut *mut CwReceipt,
) -> CwStatus {
    ffi_call("cw_client_send_receipt", || {
        // SAFETY: live pointers per the contract above.
        let client = unsafe { as_ref(client, "client") }?;
        // SAFETY: as above.
        let message = unsafe { self::text(text, "text") }?;
        let out = non_null(out_receipt, "out_receipt")?;
        let receipt =
            block_on(client.client.core().send(message.to_owned()))?.map_err(ChatError::from)?;
        let handle = boxed(&receipt);
        client.receipts.keep(receipt);
        // SAFETY: non-NULL and writable per the contract above.
        unsafe { out.as_ptr().write(handle) };
        Ok(())
    })
}

/// Queues `count` samples of 16-bit PCM audio (dialects whose capabilities include audio) and
/// writes its `cw_receipt` to `*out_receipt`. `pcm16` may be NULL only when `count` is 0.
///
/// ```c
/// int16_t silence[160] = {0};
/// cw_receipt *r = NULL;
/// cw_status s = cw_client_send_audio(c, silence, 160, &r);  /* CW_STATUS_UNSUPPORTED: text only */
/// ```
///
/// Returns `CW_STATUS_UNSUPPORTED` on text-only dialects, else what `cw_client_send` returns.
///
/// # Safety
/// `client` must be NULL or a live `cw_client`; `pcm16` NULL or valid for reading `count`
/// samples; `out_receipt` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cw_client_send_audio(
    client: *const CwClient,
    pcm16: *const i16,
    count: usize,
    out_receipt: *mut *mut CwReceipt,
) -> CwStatus {
    ffi_call("cw_client_send_audio", || {
        // SAFETY: live pointer per the contract above.
        let client = unsafe { as_ref(client, "client") }?;
        let out = non_null(out_receipt, "out_receipt")?;
        let samples: &[i16] = if count == 0 {
            &[]
        } else {
            let data = non_null(pcm16.cast_mut(), "pcm16")?;
            // SAFETY: non-NULL and valid for `count` samples per the contract above.
            unsafe { std::slice::from_raw_parts(data.as_ptr(), count) }
        };
        let receipt =
            block_on(client.client.core().send_audio(samples))?.map_err(ChatError::from)?;
        let handle = boxed(&receipt);
        client.receipts.keep(receipt);
        // SAFETY: non-NULL and writable per the contract above.
        unsafe { out.as_ptr().write(handle) };
        Ok(())
    })
}

/// Writes the message's client id (a UUID string, freed with `cw_string_free`) to `*out`.
///
/// # Safety
/// `receipt` must be NULL or a live `cw_receipt`; `out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cw_receipt_client_id(
    receipt: *const CwReceipt,
    out: *mut *mut c_char,
) -> CwStatus {
    ffi_call("cw_receipt_client_id", || {
        // SAFETY: live pointer per the contract above.
        let receipt = unsafe { as_ref(receipt, "receipt") }?;
        let out = non_null(out, "out")?;
        let id = c_string(receipt.client_id.clone())?;
        // SAFETY: non-NULL and writable per the contract above.
        unsafe { out.as_ptr().write(id.into_raw()) };
        Ok(())
    })
}

/// Waits up to `timeout_ms` for the message's next status and writes its JSON (freed with
/// `cw_string_free`) to `*out_json`; writes NULL when the time ran out first (status OK).
/// Returns `CW_STATUS_CLOSED` once the last status was returned.
///
/// # Safety
/// `receipt` must be NULL or a live `cw_receipt`; `out_json` NULL or valid for writing one
/// pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cw_receipt_next_status(
    receipt: *const CwReceipt,
    timeout_ms: u64,
    out_json: *mut *mut c_char,
) -> CwStatus {
    ffi_call("cw_receipt_next_status", || {
        // SAFETY: live pointer per the contract above.
        let receipt = unsafe { as_ref(receipt, "receipt") }?;
        let out = non_null(out_json, "out_json")?;
        let wait = Duration::from_millis(timeout_ms);
        let next =
            block_on(async { tokio::time::timeout(wait, receipt.statuses.next_core()).await })?;
        let json = match next {
            Err(_elapsed) => None,
            Ok(Some(status)) => Some(c_string(to_json(&status)?)?),
            Ok(None) => {
                return Err(ChatError::Closed {
                    message: "the message has no further status".into(),
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

/// Releases a receipt. NULL is a no-op.
///
/// # Safety
/// `receipt` must be NULL or a pointer from this library not yet freed, with no call on it
/// still running; it is invalid after.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cw_receipt_free(receipt: *mut CwReceipt) {
    ffi_call("cw_receipt_free", || {
        if !receipt.is_null() {
            // SAFETY: came from `Box::into_raw` in `boxed` and is freed once.
            drop(unsafe { Box::from_raw(receipt) });
        }
        Ok(())
    });
}

/// Takes back the queued message with this client id (its statuses end `failed` with reason
/// `discarded`).
///
/// Returns `CW_STATUS_INVALID_INPUT` for a malformed id, `CW_STATUS_ALREADY_SENT` once it went
/// out, `CW_STATUS_NOT_FOUND` for an unknown id, `CW_STATUS_CLOSED` after close.
///
/// # Safety
/// `client` must be NULL or a live `cw_client`; `client_id` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cw_client_discard(
    client: *const CwClient,
    client_id: *const c_char,
) -> CwStatus {
    ffi_call("cw_client_discard", || {
        // SAFETY: live pointers per the contract above.
        let client = unsafe { as_ref(client, "client") }?;
        // SAFETY: as above.
        let id = unsafe { text(client_id, "client_id") }?;
        Ok(block_on(client.client.discard(id.to_owned()))??)
    })
}

fn boxed(receipt: &chatwire::client::Receipt) -> *mut CwReceipt {
    Box::into_raw(Box::new(CwReceipt {
        client_id: receipt.client_id().to_string(),
        statuses: StatusSubscription::new(receipt),
    }))
}

/// The core value's JSON (`DeliveryStatus`, `ConnectionState`): plain data, so this fails only
/// on a bug, which becomes `CW_STATUS_INTERNAL` instead of a panic.
pub(super) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, CallError> {
    serde_json::to_string(value).map_err(|e| {
        ChatError::Internal {
            message: e.to_string(),
        }
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::c_api::{cw_client_free, cw_client_new};
    use std::ffi::CStr;
    use std::ptr;

    #[test]
    fn null_arguments_are_statuses() {
        let mut receipt = ptr::null_mut();
        let mut out = ptr::null_mut();
        // SAFETY: NULL is allowed everywhere and must be rejected, not dereferenced.
        unsafe {
            let status = cw_client_send_receipt(ptr::null(), c"hi".as_ptr(), &mut receipt);
            assert_eq!(status, CwStatus::NullArgument);
            let status = cw_client_send_audio(ptr::null(), ptr::null(), 0, &mut receipt);
            assert_eq!(status, CwStatus::NullArgument);
            assert_eq!(
                cw_receipt_client_id(ptr::null(), &mut out),
                CwStatus::NullArgument
            );
            let status = cw_receipt_next_status(ptr::null(), 0, &mut out);
            assert_eq!(status, CwStatus::NullArgument);
            let status = cw_client_discard(ptr::null(), c"x".as_ptr());
            assert_eq!(status, CwStatus::NullArgument);
            cw_receipt_free(ptr::null_mut());
        }
        assert!(receipt.is_null() && out.is_null());
    }

    /// The next status's JSON, or the status code when there is none.
    fn next_status(receipt: *const CwReceipt) -> Result<String, CwStatus> {
        let mut out = ptr::null_mut();
        // SAFETY: a live receipt; the returned string is freed once.
        unsafe {
            match cw_receipt_next_status(receipt, 5_000, &mut out) {
                CwStatus::Ok if !out.is_null() => {
                    let text = CStr::from_ptr(out).to_string_lossy().into_owned();
                    crate::c_api::cw_string_free(out);
                    Ok(text)
                }
                status => Err(status),
            }
        }
    }

    #[test]
    fn a_queued_message_reports_queued_then_discarded_and_ends() {
        // Nothing listens on port 9: the message stays queued until it is discarded.
        let json = cr#"{"dialect":"native","baseUrl":"http://127.0.0.1:9"}"#;
        let (mut client, mut receipt, mut out) =
            (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
        // SAFETY: valid pointers; every returned string and object is freed once.
        unsafe {
            assert_eq!(cw_client_new(json.as_ptr(), &mut client), CwStatus::Ok);
            let status = cw_client_send_receipt(client, c"hi".as_ptr(), &mut receipt);
            assert_eq!(status, CwStatus::Ok);
            assert_eq!(next_status(receipt).as_deref(), Ok(r#"{"kind":"queued"}"#));
            assert_eq!(cw_receipt_client_id(receipt, &mut out), CwStatus::Ok);
            let id = CStr::from_ptr(out).to_owned();
            crate::c_api::cw_string_free(out);
            let status = cw_client_discard(client, c"not-an-id".as_ptr());
            assert_eq!(status, CwStatus::InvalidInput);
            assert_eq!(cw_client_discard(client, id.as_ptr()), CwStatus::Ok);
            let discarded = r#"{"kind":"failed","reason":"discarded"}"#;
            assert_eq!(next_status(receipt).as_deref(), Ok(discarded));
            assert_eq!(next_status(receipt), Err(CwStatus::Closed));
            let silence = [0i16; 16];
            let mut audio = ptr::null_mut();
            let status = cw_client_send_audio(client, silence.as_ptr(), 16, &mut audio);
            assert_eq!(status, CwStatus::Unsupported, "native is text only");
            assert!(audio.is_null());
            cw_client_free(client);
            cw_receipt_free(receipt);
        }
    }
}

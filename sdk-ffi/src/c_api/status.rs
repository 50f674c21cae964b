//! Message status for C: `cw_client_status(client, client_id)` answers with the current
//! delivery status of a message sent through `cw_client_send`, as the JSON of the core's
//! `DeliveryStatus` (`{"kind":"queued"}`, `{"kind":"sent"}`, `{"kind":"acked"}`,
//! `{"kind":"failed","reason":"closed"}`; `sdk-core/EVENTS.md`, `messageStatus`).
//!
//! Guarantees: the status of every message that is still queued is kept; of the messages that
//! left the queue, the newest [`KEPT`] are kept, and an older one answers
//! `CW_STATUS_NOT_FOUND` like an id this client never sent. The same statuses also arrive as
//! `messageStatus` events.

use std::collections::VecDeque;
use std::ffi::c_char;
use std::sync::Mutex;

use chatwire::ClientId;
use chatwire::client::Receipt;
use chatwire::event::DeliveryStatus;

use super::CwStatus;
use super::guard::{CallError, as_ref, ffi_call, non_null};
use crate::ChatError;

/// How many statuses of messages that left the queue a client keeps.
pub const KEPT: usize = 1024;

/// Writes the delivery status of the message `client_id` (from `cw_client_send`) as JSON to
/// `*out_json`; free it with `cw_string_free`.
///
/// ```c
/// char *status = NULL;
/// if (cw_client_status(c, id, &status) == CW_STATUS_OK) {
///     puts(status);                         /* {"kind":"acked"} */
///     cw_string_free(status);
/// }
/// ```
///
/// Returns `CW_STATUS_NULL_ARGUMENT` for a NULL argument, `CW_STATUS_INVALID_INPUT` when
/// `client_id` is not a client id, `CW_STATUS_NOT_FOUND` when this client did not send it (or
/// forgot it, see above).
///
/// # Safety
/// `client` must be NULL or a live `cw_client`; `client_id` NULL or NUL-terminated; `out_json`
/// NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cw_client_status(
    client: *const super::CwClient,
    client_id: *const c_char,
    out_json: *mut *mut c_char,
) -> CwStatus {
    ffi_call("cw_client_status", || {
        // SAFETY: live pointer per the contract above.
        let client = unsafe { as_ref(client, "client") }?;
        // SAFETY: as above.
        let id = unsafe { super::client::text(client_id, "client_id") }?;
        let out = non_null(out_json, "out_json")?;
        let id: ClientId = id
            .parse()
            .map_err(|_| ChatError::invalid(format!("not a client id: {id:?}")))?;
        let status = client.receipts.status(id)?;
        let json = serde_json::to_string(&status).map_err(|e| ChatError::Internal {
            message: e.to_string(),
        })?;
        let json = super::client::c_string(json)?;
        // SAFETY: non-NULL and writable per the contract above.
        unsafe { out.as_ptr().write(json.into_raw()) };
        Ok(())
    })
}

/// The receipts of the messages one client sent, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Receipts {
    sent: Mutex<VecDeque<Receipt>>,
}

impl Receipts {
    /// Keeps `receipt`, forgetting the oldest message that left the queue when more than
    /// [`KEPT`] did.
    pub(crate) fn keep(&self, receipt: Receipt) {
        let mut sent = self
            .sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        sent.push_back(receipt);
        let gone = sent
            .iter()
            .filter(|r| r.status() != DeliveryStatus::Queued)
            .count();
        if gone > KEPT
            && let Some(oldest) = sent
                .iter()
                .position(|r| r.status() != DeliveryStatus::Queued)
        {
            sent.remove(oldest);
        }
    }

    fn status(&self, id: ClientId) -> Result<DeliveryStatus, CallError> {
        let sent = self
            .sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        sent.iter()
            .rev()
            .find(|r| r.client_id() == id)
            .map(Receipt::status)
            .ok_or_else(|| {
                ChatError::NotFound {
                    message: format!("this client sent no message {id}"),
                }
                .into()
            })
    }
}

//! A token provider for C: `cw_client_new_with_token_provider` builds a client that asks a C
//! function for bearer tokens (before the first connection and after the backend rejected the
//! credentials), like the uniffi `TokenProvider`.
//!
//! Guarantees: the function runs on a library thread set aside for blocking calls (never on the
//! client's own threads), so a slow function cannot stall the client; a call that has not
//! returned after the timeout counts as a failed refresh, which the client retries under its
//! backoff. The returned text is copied before the call's thread does anything else.

use std::ffi::{CStr, c_char, c_void};
use std::sync::Arc;
use std::time::Duration;

use chatwire::ClientOptions;
use chatwire::client::ClientBuilder;

use super::CwStatus;
use super::client::{CwClient, text};
use super::guard::{ffi_call, non_null};
use crate::ChatError;
use crate::client::{DEFAULT_TOKEN_TIMEOUT_MS, build};

/// Returns a bearer token as a NUL-terminated UTF-8 string, or NULL when there is none now. The
/// library copies the string before the function is called again; it stays yours. Called with
/// the `user_data` given to `cw_client_new_with_token_provider`, on a library thread; an earlier
/// call that timed out may still be running when the next one starts.
pub type CwTokenFn = Option<unsafe extern "C" fn(user_data: *mut c_void) -> *const c_char>;

/// Like `cw_client_new`, with `provider` asked for bearer tokens (the options need
/// `"tokenProvider": true`). A call that has not returned after `timeout_ms` (0: 10 s) fails
/// like a NULL answer.
///
/// ```c
/// static const char *token(void *user_data) { return (const char *)user_data; }
/// cw_client *c = NULL;
/// cw_client_new_with_token_provider(
///     "{\"dialect\":\"native\",\"baseUrl\":\"http://127.0.0.1:8080\",\"tokenProvider\":true}",
///     token, "secret", 0, &c);
/// ```
///
/// Returns what `cw_client_new` returns, and `CW_STATUS_NULL_ARGUMENT` for a NULL `provider`.
///
/// # Safety
/// `options_json` must be NULL or NUL-terminated; `out` NULL or valid for writing one pointer;
/// `provider` safe to call from any thread with `user_data`, which must stay valid until the
/// client is freed and every call of `provider` has returned.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cw_client_new_with_token_provider(
    options_json: *const c_char,
    provider: CwTokenFn,
    user_data: *mut c_void,
    timeout_ms: u64,
    out: *mut *mut CwClient,
) -> CwStatus {
    ffi_call("cw_client_new_with_token_provider", || {
        // SAFETY: NUL-terminated per the contract above.
        let json = unsafe { text(options_json, "options_json") }?;
        let out = non_null(out, "out")?;
        let provider = provider.ok_or(super::guard::CallError::NullArgument("provider"))?;
        let options = ClientOptions::from_json(json).map_err(ChatError::from)?;
        let millis = if timeout_ms == 0 {
            DEFAULT_TOKEN_TIMEOUT_MS
        } else {
            timeout_ms
        };
        let call = Arc::new(TokenCall {
            provider,
            user_data,
        });
        let builder = ClientBuilder::from_options(options).token_provider(move || {
            let call = call.clone();
            async move {
                let answer = tokio::task::spawn_blocking(move || call.token());
                match tokio::time::timeout(Duration::from_millis(millis), answer).await {
                    Ok(Ok(result)) => result,
                    Ok(Err(_join)) => Err("the token provider could not be called".to_string()),
                    Err(_) => Err(format!(
                        "the token provider did not answer within {millis} ms"
                    )),
                }
            }
        });
        let client = build(builder)?;
        let boxed = Box::into_raw(Box::new(CwClient::wrap(client)?));
        // SAFETY: non-NULL and writable per the contract above.
        unsafe { out.as_ptr().write(boxed) };
        Ok(())
    })
}

/// The C function and its `user_data`, callable from the library's threads.
struct TokenCall {
    provider: unsafe extern "C" fn(*mut c_void) -> *const c_char,
    user_data: *mut c_void,
}

// SAFETY: the caller of `cw_client_new_with_token_provider` promises that `provider` may be
// called from any thread with `user_data` and that `user_data` outlives every call.
unsafe impl Send for TokenCall {}
// SAFETY: as above; the struct itself is never mutated.
unsafe impl Sync for TokenCall {}

impl TokenCall {
    fn token(&self) -> Result<String, String> {
        // SAFETY: the caller's contract above; the answer is NULL or NUL-terminated and valid
        // until the function is called again, and is copied at once.
        let answer = unsafe { (self.provider)(self.user_data) };
        if answer.is_null() {
            return Err("the token provider returned no token".into());
        }
        // SAFETY: non-NULL and NUL-terminated per the contract of `CwTokenFn`.
        let token = unsafe { CStr::from_ptr(answer) };
        token
            .to_str()
            .map(str::to_owned)
            .map_err(|_| "the token provider returned text that is not UTF-8".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::c_api::cw_client_free;
    use std::ptr;

    unsafe extern "C" fn fixed(user_data: *mut c_void) -> *const c_char {
        user_data.cast_const().cast()
    }

    #[test]
    fn bad_arguments_are_statuses() {
        let json = cr#"{"dialect":"native","baseUrl":"http://127.0.0.1:9","tokenProvider":true}"#;
        let mut client = ptr::null_mut();
        let data = c"t".as_ptr().cast_mut().cast();
        // SAFETY: NULL is allowed and must be rejected; a built client is freed once.
        unsafe {
            let status =
                cw_client_new_with_token_provider(json.as_ptr(), None, data, 0, &mut client);
            assert_eq!(status, CwStatus::NullArgument);
            let status =
                cw_client_new_with_token_provider(c"{".as_ptr(), Some(fixed), data, 0, &mut client);
            assert_eq!(status, CwStatus::InvalidConfig);
            assert!(client.is_null());
            let status =
                cw_client_new_with_token_provider(json.as_ptr(), Some(fixed), data, 0, &mut client);
            assert_eq!(status, CwStatus::Ok);
            cw_client_free(client);
        }
    }

    #[test]
    fn the_answer_is_copied_and_null_is_a_failure() {
        let call = TokenCall {
            provider: fixed,
            user_data: c"fresh".as_ptr().cast_mut().cast(),
        };
        assert_eq!(call.token(), Ok("fresh".to_string()));
        let none = TokenCall {
            provider: fixed,
            user_data: ptr::null_mut(),
        };
        assert!(none.token().is_err());
    }
}

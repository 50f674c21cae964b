//! How a C program receives a client's events: pulled (`cw_client_next_event`), pulled from an
//! event loop woken by a pollable file descriptor (`cw_client_event_fd`), or pushed to a callback
//! on one library thread (`cw_client_set_event_callback`).
//!
//! Every `cw_client` has one [`Inbox`]: a task on the library runtime moves the client's events,
//! as envelope JSON, into it the moment they happen (the core's event channel is unbounded too,
//! so nothing new is buffered). Guarantees:
//! - events leave the inbox in `seq` order, each once, whichever way they are read;
//! - the file descriptor is readable exactly while the inbox holds an event or the client has
//!   closed (level-triggered: one byte sits in a socket pair while that is true), so a `poll()`
//!   loop that calls `cw_client_next_event(c, 0, ...)` until it writes NULL never spins or sleeps
//!   through an event;
//! - the callback runs on one library thread (`chatwire-events`, never a runtime thread), so it
//!   may call `cw_client_send`, the commands and `cw_client_close` on the same client; after the
//!   client closed and the last event was delivered it is called once more with `json` NULL;
//!   no callback runs after `cw_client_free` returns.

use std::collections::VecDeque;
use std::ffi::{CString, c_char, c_int, c_void};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use chatwire::client::EventStream;

use super::CwStatus;
use super::guard::{CallError, as_ref, ffi_call, non_null};
use crate::ChatError;
use crate::client::runtime;
use crate::types::envelope_json;

/// Receives one event: `json` is the envelope JSON, valid only during the call (copy it to keep
/// it), or NULL once the client closed and every event was delivered (the last call).
/// `user_data` is the pointer given to `cw_client_set_event_callback`.
pub type CwEventCallback =
    Option<unsafe extern "C" fn(json: *const c_char, user_data: *mut c_void)>;

/// Delivers every later event of `client` to `callback` on one library thread, in `seq` order,
/// instead of `cw_client_next_event` (which then returns `CW_STATUS_INVALID_INPUT`). Events that
/// arrived before the call and were not pulled yet go to the callback first. Inside the callback
/// you may call every `cw_client_*` function on this client except `cw_client_free`,
/// `cw_client_next_event` and this one; `cw_client_close` from inside returns after at most its
/// timeout, like anywhere else.
///
/// ```c
/// static void on_event(const char *json, void *user_data) {
///     if (json == NULL) return;           /* closed: the last call */
///     puts(json);                          /* valid only during this call */
/// }
/// cw_client_set_event_callback(c, on_event, NULL);
/// ```
///
/// Returns `CW_STATUS_NULL_ARGUMENT` for a NULL `client` or `callback` and
/// `CW_STATUS_INVALID_INPUT` if the client already has a callback; `CW_STATUS_INTERNAL` if the
/// thread cannot start.
///
/// # Safety
/// `client` must be NULL or a live `cw_client`; `callback` must be safe to call with
/// `user_data` from another thread until `cw_client_free(client)` returns.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cw_client_set_event_callback(
    client: *const super::CwClient,
    callback: CwEventCallback,
    user_data: *mut c_void,
) -> CwStatus {
    ffi_call("cw_client_set_event_callback", || {
        // SAFETY: live pointer per the contract above.
        let client = unsafe { as_ref(client, "client") }?;
        let callback = callback.ok_or(CallError::NullArgument("callback"))?;
        client.inbox.start_callback(callback, UserData(user_data))
    })
}

/// Writes to `*out_fd` a file descriptor that is readable while `client` has an event waiting for
/// `cw_client_next_event`, or has closed (then `cw_client_next_event` returns
/// `CW_STATUS_CLOSED`). Add it to `poll`/`epoll`/`select` or your event loop; never read from it
/// or close it: it belongs to the client and is closed by `cw_client_free`. Every call returns the
/// same descriptor.
///
/// ```c
/// int fd; cw_client_event_fd(c, &fd);
/// struct pollfd p = { .fd = fd, .events = POLLIN };
/// while (poll(&p, 1, 5000) > 0) {
///     char *json = NULL;
///     while (cw_client_next_event(c, 0, &json) == CW_STATUS_OK && json) {
///         puts(json); cw_string_free(json);
///     }
/// }
/// ```
///
/// Returns `CW_STATUS_NULL_ARGUMENT` for a NULL argument, `CW_STATUS_INVALID_INPUT` when the
/// client delivers its events to a callback, `CW_STATUS_UNSUPPORTED` on platforms without Unix
/// sockets, `CW_STATUS_INTERNAL` if the OS refuses a socket pair.
///
/// # Safety
/// `client` must be NULL or a live `cw_client`; `out_fd` NULL or valid for writing one `int`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cw_client_event_fd(
    client: *const super::CwClient,
    out_fd: *mut c_int,
) -> CwStatus {
    ffi_call("cw_client_event_fd", || {
        // SAFETY: live pointer per the contract above.
        let client = unsafe { as_ref(client, "client") }?;
        let out = non_null(out_fd, "out_fd")?;
        let fd = client.inbox.event_fd()?;
        // SAFETY: non-NULL and writable per the contract above.
        unsafe { out.as_ptr().write(fd) };
        Ok(())
    })
}

/// The events of one client on their way to C, and whoever reads them.
#[derive(Debug)]
pub(crate) struct Inbox {
    shared: Arc<Shared>,
    callback: Mutex<Option<CallbackThread>>,
}

impl Inbox {
    /// An inbox fed from `stream` by a task on the library runtime until the stream ends.
    pub(crate) fn new(mut stream: EventStream) -> Result<Inbox, CallError> {
        let shared = Arc::new(Shared::default());
        let feed = shared.clone();
        runtime()?.spawn(async move {
            while let Some(envelope) = stream.recv().await {
                feed.update(|s| s.queue.push_back(envelope_json(&envelope)));
            }
            feed.update(|s| s.ended = true);
        });
        Ok(Inbox {
            shared,
            callback: Mutex::new(None),
        })
    }

    /// The next event's JSON, waiting up to `timeout`; `None` when the time ran out.
    pub(crate) fn next(&self, timeout: Duration) -> Result<Option<String>, CallError> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock()?;
        loop {
            if state.pushed {
                return Err(ChatError::invalid(
                    "the client delivers its events to a callback (cw_client_set_event_callback)",
                )
                .into());
            }
            if let Some(json) = state.queue.pop_front() {
                state.sync_signal();
                return Ok(Some(json));
            }
            if state.ended {
                return Err(ChatError::Closed {
                    message: "the client is closed".into(),
                }
                .into());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            state = self
                .shared
                .ready
                .wait_timeout(state, left)
                .map_err(|_| poisoned())?
                .0;
        }
    }

    /// Stops the callback thread after the callback that is running, and waits for it unless
    /// called from that very thread. No callback runs after this returns.
    pub(crate) fn stop(&self) {
        self.shared.update(|s| s.stopped = true);
        let thread = match self.callback.lock() {
            Ok(mut slot) => slot.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(thread) = thread
            && thread.id != std::thread::current().id()
        {
            // A callback that panicked cannot happen (C code does not unwind); ignore the result.
            let _ = thread.handle.join();
        }
    }

    fn start_callback(
        &self,
        callback: unsafe extern "C" fn(*const c_char, *mut c_void),
        user_data: UserData,
    ) -> Result<(), CallError> {
        let mut slot = self.callback.lock().map_err(|_| poisoned())?;
        if slot.is_some() {
            return Err(ChatError::invalid("the client already has an event callback").into());
        }
        self.shared.lock()?.pushed = true;
        let shared = self.shared.clone();
        let handle = std::thread::Builder::new()
            .name("chatwire-events".into())
            .spawn(move || deliver(&shared, callback, user_data))
            .map_err(|e| ChatError::Internal {
                message: format!("cannot start the event callback thread: {e}"),
            })?;
        *slot = Some(CallbackThread {
            id: handle.thread().id(),
            handle,
        });
        Ok(())
    }

    #[cfg(unix)]
    fn event_fd(&self) -> Result<c_int, CallError> {
        use std::os::fd::AsRawFd;
        let mut state = self.shared.lock()?;
        if state.pushed {
            return Err(ChatError::invalid(
                "the client delivers its events to a callback (cw_client_set_event_callback)",
            )
            .into());
        }
        if state.signal.is_none() {
            let (reader, writer) =
                std::os::unix::net::UnixStream::pair().map_err(|e| ChatError::Internal {
                    message: format!("cannot create the event socket pair: {e}"),
                })?;
            state.signal = Some(Signal {
                reader,
                writer,
                raised: false,
            });
            state.sync_signal();
        }
        Ok(state.signal.as_ref().map_or(-1, |s| s.reader.as_raw_fd()))
    }

    #[cfg(not(unix))]
    fn event_fd(&self) -> Result<c_int, CallError> {
        Err(ChatError::Unsupported {
            message: "cw_client_event_fd needs Unix sockets".into(),
        }
        .into())
    }
}

/// The state the feeding task, the readers and the callback thread share.
#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    ready: Condvar,
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<String>,
    /// The client closed and its last event is in `queue`.
    ended: bool,
    /// A callback receives the events.
    pushed: bool,
    /// `cw_client_free` stops the callback thread.
    stopped: bool,
    #[cfg(unix)]
    signal: Option<Signal>,
}

/// The socket pair behind `cw_client_event_fd`: one byte waits in it while `raised`.
#[cfg(unix)]
#[derive(Debug)]
struct Signal {
    reader: std::os::unix::net::UnixStream,
    writer: std::os::unix::net::UnixStream,
    raised: bool,
}

impl Shared {
    fn lock(&self) -> Result<MutexGuard<'_, State>, CallError> {
        self.state.lock().map_err(|_| poisoned())
    }

    /// Applies `change`, brings the descriptor in line and wakes every waiter.
    fn update(&self, change: impl FnOnce(&mut State)) {
        // A poisoned lock means a panic elsewhere already failed a call; keep the data flowing.
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        change(&mut state);
        state.sync_signal();
        drop(state);
        self.ready.notify_all();
    }
}

impl State {
    /// Raises the descriptor while an event waits or the client has ended, lowers it otherwise.
    /// Each side moves exactly one byte, which is there (or has room) by construction, so
    /// neither blocks.
    fn sync_signal(&mut self) {
        #[cfg(unix)]
        {
            use std::io::{Read, Write};
            let want = !self.queue.is_empty() || self.ended;
            if let Some(signal) = self.signal.as_mut()
                && signal.raised != want
            {
                let moved = if want {
                    signal.writer.write_all(&[1])
                } else {
                    signal.reader.read_exact(&mut [0])
                };
                // A socket pair of this process cannot fail to move one byte it has room for;
                // should the OS disagree, the flag keeps its value and the next change retries.
                if moved.is_ok() {
                    signal.raised = want;
                }
            }
        }
    }
}

/// The callback thread: delivers every event, then NULL once the client ended, unless
/// `cw_client_free` stops it first.
fn deliver(
    shared: &Shared,
    callback: unsafe extern "C" fn(*const c_char, *mut c_void),
    user_data: UserData,
) {
    loop {
        let next = {
            let Ok(mut state) = shared.lock() else { return };
            loop {
                if state.stopped {
                    return;
                }
                if let Some(json) = state.queue.pop_front() {
                    break Some(json);
                }
                if state.ended {
                    break None;
                }
                state = match shared.ready.wait(state) {
                    Ok(state) => state,
                    Err(_) => return,
                };
            }
        };
        match next {
            Some(json) => {
                // Envelope JSON escapes NUL as \u0000, so this cannot fail; skip it if it did.
                if let Ok(json) = CString::new(json) {
                    // SAFETY: the caller of `cw_client_set_event_callback` promised the callback
                    // may be called with `user_data` from this thread; `json` outlives the call.
                    unsafe { callback(json.as_ptr(), user_data.0) };
                }
            }
            None => {
                // SAFETY: as above; NULL is the documented end of the events.
                unsafe { callback(std::ptr::null(), user_data.0) };
                return;
            }
        }
    }
}

#[derive(Debug)]
struct CallbackThread {
    id: ThreadId,
    handle: JoinHandle<()>,
}

/// The caller's `user_data`, handed to the callback thread untouched.
#[derive(Debug, Clone, Copy)]
struct UserData(*mut c_void);

// SAFETY: the pointer is never dereferenced here; `cw_client_set_event_callback`'s contract makes
// the caller responsible for using it from the callback thread.
unsafe impl Send for UserData {}

fn poisoned() -> CallError {
    ChatError::invalid("an earlier call on this client panicked").into()
}

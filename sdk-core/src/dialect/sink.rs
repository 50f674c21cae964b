//! [`Actions`]: the collector a dialect writes its decisions into. The engine passes a fresh one
//! to every dialect call and then carries the actions out in order; dialect unit tests create one
//! with [`Actions::new`] and inspect [`Actions::take`].

use super::actions::{Decoded, HttpSpec};
use super::failure::Failure;
use crate::event::{FailReason, TurnErrorCode};
use crate::ids::{ClientId, ConnId, RequestId};

/// One decision of a dialect, in the order it was made.
///
/// `Emit` holds its event inline although it is the largest variant: almost every action is
/// one, the engine reuses the list's buffer from call to call, so a box would only add an
/// allocation per inbound event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)]
pub enum Action {
    /// Open a WebSocket.
    OpenSocket {
        /// Handle allocated for it.
        conn: ConnId,
        /// URL.
        url: String,
        /// Upgrade headers.
        headers: Vec<(String, String)>,
    },
    /// Send a text frame.
    SendText {
        /// Socket.
        conn: ConnId,
        /// Frame.
        text: String,
    },
    /// Send a binary frame.
    SendBinary {
        /// Socket.
        conn: ConnId,
        /// Frame.
        bytes: Vec<u8>,
    },
    /// Close a socket.
    CloseSocket {
        /// Socket.
        conn: ConnId,
    },
    /// Perform an HTTP request.
    Http {
        /// Handle allocated for it.
        id: RequestId,
        /// The request.
        spec: HttpSpec,
    },
    /// Abort an HTTP request.
    CancelHttp {
        /// Request.
        id: RequestId,
    },
    /// The transport is up (`Connecting -> Connected`). Opening a socket reports this
    /// automatically; request-based dialects call [`Actions::connected`].
    Connected,
    /// The backend is ready for messages (`-> Ready`).
    Ready,
    /// Missed events could not be recovered.
    Discontinuity {
        /// Why.
        reason: String,
    },
    /// An inbound event.
    Emit(Decoded),
    /// The backend stored the message with this client id.
    Ack {
        /// Client id.
        client_id: ClientId,
        /// Backend message id.
        server_id: Option<String>,
    },
    /// The backend refused the message for good.
    Reject {
        /// Client id.
        client_id: ClientId,
        /// Why.
        reason: FailReason,
    },
    /// The connection is broken; the engine tears it down and retries per the classification.
    Fail(Failure),
    /// Terminate every open turn (and tool call) with `TurnFailed{code}` — e.g. a per-turn stream
    /// ended before its terminal event.
    EndOpenTurns {
        /// Code of the synthesized failure.
        code: TurnErrorCode,
        /// Detail.
        message: String,
    },
}

/// The collector for a dialect's decisions. Handles returned by [`Actions::open_socket`] and
/// [`Actions::http`] are unique within the engine.
///
/// ```
/// use chatwire::dialect::{Action, Actions};
/// let mut out = Actions::new(1);
/// let conn = out.open_socket("wss://x.test/ws", vec![]);
/// out.send_text(conn, "{\"type\":\"hello\"}".to_string());
/// let actions = out.take();
/// assert_eq!(actions.len(), 2);
/// assert!(matches!(&actions[1], Action::SendText { conn: c, .. } if *c == conn));
/// ```
#[derive(Debug)]
pub struct Actions {
    next_id: u64,
    list: Vec<Action>,
    keep_raw: bool,
}

impl Default for Actions {
    fn default() -> Actions {
        Actions::new(0)
    }
}

impl Actions {
    /// A collector whose first handle will be `first_id` (raw wire events wanted).
    pub fn new(first_id: u64) -> Actions {
        Actions {
            next_id: first_id,
            list: Vec::new(),
            keep_raw: true,
        }
    }

    /// Whether the engine keeps [`Decoded::raw`] (`Config::keep_raw`). A dialect may skip
    /// building the raw JSON when this is `false` (the engine drops it anyway); it must not
    /// decide anything else by it.
    ///
    /// ```
    /// use chatwire::dialect::Actions;
    /// assert!(Actions::new(1).keep_raw());
    /// assert!(!Actions::new(1).without_raw().keep_raw());
    /// ```
    pub fn keep_raw(&self) -> bool {
        self.keep_raw
    }

    /// The same collector, telling the dialect that raw wire events are not kept.
    ///
    /// ```
    /// use chatwire::dialect::Actions;
    /// let out = Actions::new(1).without_raw();
    /// assert!(!out.keep_raw());
    /// ```
    pub fn without_raw(mut self) -> Actions {
        self.keep_raw = false;
        self
    }

    /// Opens a WebSocket; returns its handle.
    pub fn open_socket(
        &mut self,
        url: impl Into<String>,
        headers: Vec<(String, String)>,
    ) -> ConnId {
        let conn = ConnId(self.alloc());
        self.list.push(Action::OpenSocket {
            conn,
            url: url.into(),
            headers,
        });
        conn
    }

    /// Sends a text frame on `conn`.
    pub fn send_text(&mut self, conn: ConnId, text: String) {
        self.list.push(Action::SendText { conn, text });
    }

    /// Sends a binary frame on `conn`.
    pub fn send_binary(&mut self, conn: ConnId, bytes: Vec<u8>) {
        self.list.push(Action::SendBinary { conn, bytes });
    }

    /// Closes `conn`.
    pub fn close_socket(&mut self, conn: ConnId) {
        self.list.push(Action::CloseSocket { conn });
    }

    /// Starts an HTTP request; returns its handle.
    pub fn http(&mut self, spec: HttpSpec) -> RequestId {
        let id = RequestId(self.alloc());
        self.list.push(Action::Http { id, spec });
        id
    }

    /// Aborts request `id`.
    pub fn cancel_http(&mut self, id: RequestId) {
        self.list.push(Action::CancelHttp { id });
    }

    /// Reports that the transport is up (request-based dialects; sockets report it themselves).
    pub fn connected(&mut self) {
        self.list.push(Action::Connected);
    }

    /// Reports that the backend is ready for messages. Queued messages are sent right after.
    pub fn ready(&mut self) {
        self.list.push(Action::Ready);
    }

    /// Reports that missed events could not be recovered (resume refused or incomplete). The
    /// engine emits one `Discontinuity` and fails the open turns.
    pub fn discontinuity(&mut self, reason: impl Into<String>) {
        self.list.push(Action::Discontinuity {
            reason: reason.into(),
        });
    }

    /// Delivers a decoded event (subject to dedup, turn tracking and text assembly).
    pub fn emit(&mut self, decoded: Decoded) {
        self.list.push(Action::Emit(decoded));
    }

    /// Reports that the backend stored message `client_id`.
    pub fn ack(&mut self, client_id: ClientId, server_id: Option<String>) {
        self.list.push(Action::Ack {
            client_id,
            server_id,
        });
    }

    /// Reports that the backend refused message `client_id` for good.
    pub fn reject(&mut self, client_id: ClientId, reason: FailReason) {
        self.list.push(Action::Reject { client_id, reason });
    }

    /// Reports that the connection is broken.
    pub fn fail(&mut self, failure: Failure) {
        self.list.push(Action::Fail(failure));
    }

    /// Terminates every open turn with a synthesized `TurnFailed{code}`.
    pub fn end_open_turns(&mut self, code: TurnErrorCode, message: impl Into<String>) {
        self.list.push(Action::EndOpenTurns {
            code,
            message: message.into(),
        });
    }

    /// Takes the decisions made so far, in order.
    pub fn take(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.list)
    }

    /// The next handle value (the engine keeps its counter in step).
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// A collector that reuses `buffer`'s allocation (the engine recycles one per call).
    pub(crate) fn with_buffer(first_id: u64, mut buffer: Vec<Action>, keep_raw: bool) -> Actions {
        buffer.clear();
        Actions {
            next_id: first_id,
            list: buffer,
            keep_raw,
        }
    }

    /// The decisions, keeping the allocation for reuse.
    pub(crate) fn into_list(self) -> Vec<Action> {
        self.list
    }

    fn alloc(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        id
    }
}

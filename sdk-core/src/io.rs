//! What goes into the engine ([`Input`]) and what comes out ([`Output`]).
//!
//! Inputs are the app's commands, transport happenings reported by the driver (socket opened,
//! frame received, HTTP response, streamed body chunk, ...) and timer expiry. Outputs are
//! transport operations for the driver and events for the app. Transport handles ([`ConnId`],
//! [`RequestId`]) are allocated by the engine; the driver reports back with the same handle, and
//! the engine silently ignores reports about handles it no longer tracks (a late frame from a
//! socket it already closed is normal, not an error).

use crate::event::Envelope;
use crate::ids::{ConnId, RequestId};

/// Something that happened, fed to [`Engine::handle`](crate::Engine::handle).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Input {
    /// An app command.
    Command(Command),
    /// The WebSocket `conn` finished its opening handshake.
    SocketOpened {
        /// Handle from [`Output::OpenSocket`].
        conn: ConnId,
    },
    /// A WebSocket message arrived.
    SocketFrame {
        /// Handle from [`Output::OpenSocket`].
        conn: ConnId,
        /// The message.
        frame: Frame,
    },
    /// The WebSocket closed or could not be opened.
    SocketClosed {
        /// Handle from [`Output::OpenSocket`].
        conn: ConnId,
        /// How it ended.
        reason: CloseReason,
    },
    /// Status and headers of an HTTP response. For a non-streaming request `body` is the whole
    /// body and nothing else follows; for a streaming one it is usually empty and the body follows
    /// as [`Input::HttpChunk`]s and one [`Input::HttpEnd`]. A streaming request answered with a
    /// status outside 2xx ends with this input: drivers should put the (error) body here, whole;
    /// later chunks are ignored.
    HttpResponse {
        /// Handle from [`Output::HttpRequest`].
        id: RequestId,
        /// HTTP status code.
        status: u16,
        /// Response headers (names in any case).
        headers: Vec<(String, String)>,
        /// Body (complete for non-streaming requests).
        body: Vec<u8>,
    },
    /// A piece of a streaming response body.
    HttpChunk {
        /// Handle from [`Output::HttpRequest`].
        id: RequestId,
        /// The bytes, split anywhere.
        bytes: Vec<u8>,
    },
    /// A streaming response body ended normally.
    HttpEnd {
        /// Handle from [`Output::HttpRequest`].
        id: RequestId,
    },
    /// The request failed before or during the response (DNS, connect, reset, timeout).
    HttpFailed {
        /// Handle from [`Output::HttpRequest`].
        id: RequestId,
        /// Human-readable cause.
        error: String,
    },
    /// `now` reached (or passed) the instant returned by `poll_timeout`.
    Timeout,
}

/// An app command. Most have a convenience method on [`Engine`](crate::Engine) as well.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Command {
    /// Start connecting now (without it, the engine connects on the first send or typing).
    Connect,
    /// Send a chat message. The client id is reported in the `Queued` status event;
    /// [`Engine::send`](crate::Engine::send) returns it directly.
    Send {
        /// Message text.
        text: String,
    },
    /// Send audio (dialects with the `audio` capability).
    SendAudio {
        /// Encoding, e.g. `pcm16`.
        format: String,
        /// Base64-encoded audio.
        data: String,
    },
    /// The user started or stopped typing (coalesced, throttled).
    Typing {
        /// Typing or not.
        active: bool,
    },
    /// Cancel the turn in progress.
    CancelTurn,
    /// Skip a pending backoff wait, or start over from `Failed`, or replace a live connection.
    ReconnectNow,
    /// Close for good: pending messages fail, open turns are cancelled, state becomes `Closed`.
    Close,
}

/// A WebSocket message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Frame {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

impl Frame {
    /// The message, borrowed.
    ///
    /// ```
    /// use chatwire::{Frame, FrameRef};
    /// assert_eq!(Frame::Text("hi".into()).as_frame_ref(), FrameRef::Text("hi"));
    /// ```
    pub fn as_frame_ref(&self) -> FrameRef<'_> {
        match self {
            Frame::Text(text) => FrameRef::Text(text),
            Frame::Binary(bytes) => FrameRef::Binary(bytes),
        }
    }
}

/// A WebSocket message as a driver holds it right after reading: fed to
/// [`Engine::handle_frame`](crate::Engine::handle_frame) (or
/// [`Session::handle_frame`](crate::session::Session::handle_frame)) it reaches the dialect
/// without being copied into a [`Frame`] first. Same meaning as [`Input::SocketFrame`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameRef<'a> {
    /// A text message.
    Text(&'a str),
    /// A binary message.
    Binary(&'a [u8]),
}

impl FrameRef<'_> {
    /// Its length in bytes.
    pub fn len(&self) -> usize {
        match self {
            FrameRef::Text(text) => text.len(),
            FrameRef::Binary(bytes) => bytes.len(),
        }
    }

    /// `true` for an empty message.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How a WebSocket ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CloseReason {
    /// Close code from the peer's close frame, if one arrived; or the code this side closed
    /// with after refusing the peer's data (1007: a text message that is not UTF-8, 1009: a
    /// message over the size limit).
    pub code: Option<u16>,
    /// Close reason text, or the transport error.
    pub reason: String,
    /// `true` if the socket never opened (connect refused, DNS, TLS, HTTP upgrade rejected).
    pub failed_to_open: bool,
    /// HTTP status of a rejected upgrade, when known (401, 429, 503, ...).
    pub http_status: Option<u16>,
    /// The `Retry-After` of a rejected upgrade, when it had one: delay-seconds, or the time left
    /// until its HTTP-date (the driver reads the wall clock: [`crate::dialect::retry_after_wait`]).
    pub retry_after: Option<std::time::Duration>,
}

impl CloseReason {
    /// A close with a code and reason from the peer.
    pub fn closed(code: Option<u16>, reason: impl Into<String>) -> CloseReason {
        CloseReason {
            code,
            reason: reason.into(),
            ..CloseReason::default()
        }
    }

    /// A transport error (reset, unreachable) after or during opening.
    pub fn error(reason: impl Into<String>) -> CloseReason {
        CloseReason {
            reason: reason.into(),
            ..CloseReason::default()
        }
    }

    /// The socket could not be opened; `http_status` when the upgrade was answered with one.
    pub fn refused(http_status: Option<u16>, reason: impl Into<String>) -> CloseReason {
        CloseReason {
            code: None,
            reason: reason.into(),
            failed_to_open: true,
            http_status,
            retry_after: None,
        }
    }

    /// Sets the server-requested wait of a rejected upgrade.
    pub fn with_retry_after(mut self, wait: Option<std::time::Duration>) -> CloseReason {
        self.retry_after = wait;
        self
    }
}

/// Something the driver must do, or an event for the app.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Output {
    /// Open a WebSocket; report [`Input::SocketOpened`] or [`Input::SocketClosed`].
    OpenSocket {
        /// Handle to report back with.
        conn: ConnId,
        /// `ws://` or `wss://` URL.
        url: String,
        /// Extra headers for the upgrade request (browsers cannot set them; drivers there may
        /// ignore them, dialects put what matters in the URL or the first frame too).
        headers: Vec<(String, String)>,
    },
    /// Send a text message on `conn`.
    SendText {
        /// Target socket.
        conn: ConnId,
        /// The message.
        text: String,
    },
    /// Send a binary message on `conn`.
    SendBinary {
        /// Target socket.
        conn: ConnId,
        /// The message.
        bytes: Vec<u8>,
    },
    /// Close `conn` (no report expected; later reports about it are ignored).
    CloseSocket {
        /// Target socket.
        conn: ConnId,
    },
    /// Perform an HTTP request; report [`Input::HttpResponse`] (then chunks and end when
    /// `streaming`) or [`Input::HttpFailed`].
    HttpRequest(HttpRequest),
    /// Abort request `id` (no report expected; later reports about it are ignored).
    CancelHttp {
        /// Target request.
        id: RequestId,
    },
    /// An event for the app.
    Event(Envelope),
}

/// An HTTP request for the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpRequest {
    /// Handle to report back with.
    pub id: RequestId,
    /// `GET`, `POST`, ...
    pub method: Method,
    /// Absolute `http://` or `https://` URL.
    pub url: String,
    /// Request headers.
    pub headers: Vec<(String, String)>,
    /// Request body (empty for none).
    pub body: Vec<u8>,
    /// `true`: deliver the body incrementally (`HttpChunk`s, then `HttpEnd`), e.g. for SSE.
    pub streaming: bool,
    /// The request's total deadline, when set (long-polls set it above the server's wait). The
    /// engine enforces it: when it passes, the engine outputs `CancelHttp` and fails the request
    /// itself; drivers set no timer of their own. Informational for drivers.
    pub timeout_ms: Option<u64>,
}

/// HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
}

impl Method {
    /// The method name in upper case.
    ///
    /// ```
    /// assert_eq!(chatwire::Method::Post.as_str(), "POST");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

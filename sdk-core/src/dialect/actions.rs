//! The vocabulary between the engine and a [`Dialect`](super::Dialect): what the engine hands the
//! dialect ([`TransportEvent`], [`Outbound`], [`ConnectContext`]) and what the dialect hands back
//! through [`Actions`] (transport operations, decoded events, acks, readiness, failures).

use crate::event::{ErrorKind, Event, TextChannel, TextUpdate};
use crate::ids::{ClientId, ConnId, Cursor, DedupKey, RequestId};
use crate::io::{CloseReason, Method};
use crate::sse;

/// What a backend supports. The engine adapts: without `acks` a message's last status is `Sent`;
/// without `resume` every reconnection reports a `Discontinuity` and open turns fail on
/// disconnect; without `cancel` a `CancelTurn` is answered locally with `TurnCancelled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Capabilities {
    /// The backend confirms stored messages (the dialect calls [`Actions::ack`](super::Actions::ack)).
    pub acks: bool,
    /// The dialect can resume from a [`Cursor`] after reconnecting.
    pub resume: bool,
    /// Typing indicators can be sent.
    pub typing: bool,
    /// Audio can be sent.
    pub audio: bool,
    /// The backend reports tool calls.
    pub tools: bool,
    /// A turn can be cancelled server-side.
    pub cancel: bool,
    /// Every message travels in a request of its own, and concurrent requests can reach the
    /// backend in any order (separate HTTP requests). The engine then keeps one message in
    /// flight: it hands the dialect the next message only once the previous one is acked or
    /// rejected (or re-sent first after a reconnection), so the backend stores messages in send
    /// order. Needs `acks`.
    pub ordered_sends: bool,
    /// How the engine checks the connection is alive.
    pub liveness: Liveness,
}

impl Capabilities {
    /// Everything off, liveness `None` (same as `Default`); set fields from there.
    pub fn none() -> Capabilities {
        Capabilities::default()
    }
}

/// How the engine detects a dead connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Liveness {
    /// No liveness checks (request/response transports, turn-scoped streams).
    #[default]
    None,
    /// After `ping_interval` of silence the engine asks the dialect to encode
    /// [`Outbound::Ping`]; any inbound traffic within `pong_timeout` proves liveness.
    Ping,
    /// The server sends heartbeats; `idle_timeout` of silence means the connection is dead.
    Idle,
    /// Each turn's reply streams on a request of its own and nothing flows between turns: while
    /// a turn is open, `idle_timeout` of silence means its stream is dead (a half-open
    /// connection); between turns there is nothing to watch.
    IdleDuringTurn,
}

/// Passed to [`Dialect::connect`](super::Dialect::connect).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct ConnectContext<'a> {
    /// 1 for the first attempt after a success (or ever), 2, 3, ... for retries.
    pub attempt: u32,
    /// `true` if this client has been ready before (this is a reconnection).
    pub reconnect: bool,
    /// The latest cursor delivered to the app (or `Config::resume_cursor`).
    pub resume: Option<&'a Cursor>,
    /// Wall clock in Unix milliseconds, for dialects that timestamp requests.
    pub unix_ms: u64,
}

/// A transport happening for one of the dialect's live handles. Reports about handles the engine
/// no longer tracks are never forwarded.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum TransportEvent<'a> {
    /// A socket the dialect opened is open.
    SocketOpened {
        /// The socket.
        conn: ConnId,
    },
    /// A text frame (already checked against `max_frame_bytes`).
    SocketText {
        /// The socket.
        conn: ConnId,
        /// The frame.
        text: &'a str,
    },
    /// A binary frame (already checked against `max_frame_bytes`).
    SocketBinary {
        /// The socket.
        conn: ConnId,
        /// The frame.
        bytes: &'a [u8],
    },
    /// A socket closed or failed to open. The handle is dead afterwards.
    SocketClosed {
        /// The socket.
        conn: ConnId,
        /// How.
        reason: &'a CloseReason,
    },
    /// Status and headers of a response. For [`ResponseKind::Full`] `body` is the whole body
    /// and the handle is dead afterwards; for streaming kinds `body` is empty and the stream
    /// follows.
    HttpResponse {
        /// The request.
        id: RequestId,
        /// HTTP status.
        status: u16,
        /// Headers.
        headers: &'a [(String, String)],
        /// Body (complete for `Full`).
        body: &'a [u8],
    },
    /// Raw body bytes of a [`ResponseKind::Stream`] request.
    HttpChunk {
        /// The request.
        id: RequestId,
        /// The bytes, split anywhere.
        bytes: &'a [u8],
    },
    /// One parsed server-sent event of a [`ResponseKind::Sse`] request.
    SseEvent {
        /// The request.
        id: RequestId,
        /// The event.
        event: &'a sse::Event,
    },
    /// A streaming body ended normally. The handle is dead afterwards.
    HttpEnd {
        /// The request.
        id: RequestId,
    },
    /// The request failed (or the engine's checks refused its body). The handle is dead
    /// afterwards.
    HttpFailed {
        /// The request.
        id: RequestId,
        /// Cause.
        error: &'a str,
    },
}

/// A command for the dialect to encode.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Outbound<'a> {
    /// A chat message; `client_id` is the idempotency key. `resend` is `true` when the message
    /// was sent before on an earlier connection and not acked.
    Message {
        /// Idempotency key.
        client_id: ClientId,
        /// Text.
        text: &'a str,
        /// A re-send after reconnect.
        resend: bool,
    },
    /// Audio (only when `capabilities().audio`).
    Audio {
        /// Idempotency key.
        client_id: ClientId,
        /// Encoding, e.g. `pcm16`.
        format: &'a str,
        /// Base64 data.
        data: &'a str,
        /// A re-send after reconnect.
        resend: bool,
    },
    /// Typing indicator (only when `capabilities().typing`).
    Typing {
        /// Typing or not.
        active: bool,
    },
    /// Cancel the turn in progress (only when `capabilities().cancel`).
    CancelTurn,
    /// Liveness probe (only when `capabilities().liveness == Liveness::Ping`).
    Ping {
        /// Nonce to echo, if the protocol has one.
        nonce: u64,
    },
}

/// How the driver should deliver a response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ResponseKind {
    /// The whole body at once, in [`TransportEvent::HttpResponse`].
    #[default]
    Full,
    /// Server-sent events: the engine runs its WHATWG parser and forwards
    /// [`TransportEvent::SseEvent`]s, then [`TransportEvent::HttpEnd`].
    Sse,
    /// Raw body chunks ([`TransportEvent::HttpChunk`]), then [`TransportEvent::HttpEnd`].
    Stream,
}

/// An HTTP request a dialect wants performed. Build it with the constructors and chain setters.
///
/// ```
/// use chatwire::dialect::{HttpSpec, ResponseKind};
/// let spec = HttpSpec::post_json("https://x.test/sessions", &serde_json::json!({"a": 1}))
///     .header("Authorization", "Bearer t")
///     .timeout_ms(30_000);
/// assert_eq!(spec.body, br#"{"a":1}"#);
/// assert_eq!(HttpSpec::get("https://x.test/stream").sse().response, ResponseKind::Sse);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpSpec {
    /// Method.
    pub method: Method,
    /// Absolute URL.
    pub url: String,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
    /// How the response body is delivered.
    pub response: ResponseKind,
    /// Request timeout for the driver, if any.
    pub timeout_ms: Option<u64>,
}

impl HttpSpec {
    /// A request with no body.
    pub fn new(method: Method, url: impl Into<String>) -> HttpSpec {
        HttpSpec {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            response: ResponseKind::Full,
            timeout_ms: None,
        }
    }

    /// `GET url`.
    pub fn get(url: impl Into<String>) -> HttpSpec {
        HttpSpec::new(Method::Get, url)
    }

    /// `POST url` with a JSON body and `Content-Type: application/json`.
    pub fn post_json(url: impl Into<String>, body: &serde_json::Value) -> HttpSpec {
        let mut spec = HttpSpec::new(Method::Post, url);
        spec.body = body.to_string().into_bytes();
        spec.header("Content-Type", "application/json")
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> HttpSpec {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: Vec<u8>) -> HttpSpec {
        self.body = body;
        self
    }

    /// Deliver the response as server-sent events (adds `Accept: text/event-stream`).
    pub fn sse(mut self) -> HttpSpec {
        self.response = ResponseKind::Sse;
        self.header("Accept", "text/event-stream")
    }

    /// Deliver the response body as raw chunks.
    pub fn streaming(mut self) -> HttpSpec {
        self.response = ResponseKind::Stream;
        self
    }

    /// Sets the driver-side timeout.
    pub fn timeout_ms(mut self, ms: u64) -> HttpSpec {
        self.timeout_ms = Some(ms);
        self
    }
}

/// One decoded inbound event plus what the engine needs to deliver it exactly once and in the
/// right place. Build with [`Decoded::new`] (or [`Decoded::text`] / [`Decoded::replace`] for
/// streamed text) and chain setters.
///
/// ```
/// use chatwire::dialect::Decoded;
/// use chatwire::event::{Event, TextChannel};
/// use chatwire::{Cursor, DedupKey};
/// let d = Decoded::text(TextChannel::Text, "world", Some(6))
///     .turn("t-1").message("m-1")
///     .dedup(DedupKey::Seq(18)).cursor(Cursor::new("18"));
/// assert_eq!(d.offset, Some(6));
/// assert!(matches!(d.event, Event::TextDelta { .. }));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Decoded {
    /// The event (for text deltas the `offset` inside is rewritten by the engine).
    pub event: Event,
    /// Dedup key: events whose key was seen recently are dropped.
    pub dedup: Option<DedupKey>,
    /// Resume position after this event; the engine remembers the latest delivered one.
    pub cursor: Option<Cursor>,
    /// Conversation / chat / session id.
    pub conversation_id: Option<String>,
    /// Turn id. Needed for turn tracking: the engine opens a turn on the first event carrying a
    /// new turn id (synthesizing `TurnStarted` if the backend did not send one) and closes it on
    /// the terminal event.
    pub turn_id: Option<String>,
    /// Message id (text assembly key, with `part_id`).
    pub message_id: Option<String>,
    /// Part id (content block, choice index, ...).
    pub part_id: Option<String>,
    /// For `TextDelta` appends: character offset of the text within (message, part), when the
    /// backend says; `None` appends at the current end.
    pub offset: Option<u64>,
    /// Server timestamp (Unix ms).
    pub timestamp_ms: Option<u64>,
    /// The wire event, kept in `Envelope::raw` when `Config::keep_raw`.
    pub raw: Option<serde_json::Value>,
}

impl Decoded {
    /// A decoded event with nothing else set.
    pub fn new(event: Event) -> Decoded {
        Decoded {
            event,
            dedup: None,
            cursor: None,
            conversation_id: None,
            turn_id: None,
            message_id: None,
            part_id: None,
            offset: None,
            timestamp_ms: None,
            raw: None,
        }
    }

    /// A streamed text append at `offset` (or at the end when `None`).
    pub fn text(channel: TextChannel, text: impl Into<String>, offset: Option<u64>) -> Decoded {
        let update = TextUpdate::Append {
            text: text.into(),
            offset: offset.unwrap_or(0),
        };
        let mut d = Decoded::new(Event::TextDelta { channel, update });
        d.offset = offset;
        d
    }

    /// A cumulative snapshot replacing the part's text.
    pub fn replace(channel: TextChannel, text: impl Into<String>) -> Decoded {
        let update = TextUpdate::Replace { text: text.into() };
        Decoded::new(Event::TextDelta { channel, update })
    }

    /// Sets the dedup key.
    pub fn dedup(mut self, key: DedupKey) -> Decoded {
        self.dedup = Some(key);
        self
    }
    /// Sets the cursor.
    pub fn cursor(mut self, cursor: Cursor) -> Decoded {
        self.cursor = Some(cursor);
        self
    }
    /// Sets the conversation id.
    pub fn conversation(mut self, id: impl Into<String>) -> Decoded {
        self.conversation_id = Some(id.into());
        self
    }
    /// Sets the turn id.
    pub fn turn(mut self, id: impl Into<String>) -> Decoded {
        self.turn_id = Some(id.into());
        self
    }
    /// Sets the message id.
    pub fn message(mut self, id: impl Into<String>) -> Decoded {
        self.message_id = Some(id.into());
        self
    }
    /// Sets the part id.
    pub fn part(mut self, id: impl Into<String>) -> Decoded {
        self.part_id = Some(id.into());
        self
    }
    /// Sets the server timestamp.
    pub fn timestamp(mut self, unix_ms: u64) -> Decoded {
        self.timestamp_ms = Some(unix_ms);
        self
    }
    /// Keeps the raw wire event.
    pub fn raw(mut self, raw: serde_json::Value) -> Decoded {
        self.raw = Some(raw);
        self
    }

    /// An `Error{kind: Protocol}` event for malformed input: `what` went wrong, followed by a
    /// summary of the offending bytes (length and a lossy prefix of at most 64 characters).
    ///
    /// ```
    /// use chatwire::dialect::Decoded;
    /// use chatwire::event::{ErrorKind, Event};
    /// let d = Decoded::protocol_error("invalid JSON", b"{oops");
    /// match d.event {
    ///     Event::Error { kind, message, .. } => {
    ///         assert_eq!(kind, ErrorKind::Protocol);
    ///         assert_eq!(message, "invalid JSON (5 bytes: {oops)");
    ///     }
    ///     _ => unreachable!(),
    /// }
    /// ```
    pub fn protocol_error(what: &str, bytes: &[u8]) -> Decoded {
        let text = String::from_utf8_lossy(bytes);
        let prefix: String = text.chars().take(64).collect();
        let more = if text.chars().nth(64).is_some() {
            "..."
        } else {
            ""
        };
        Decoded::new(Event::Error {
            kind: ErrorKind::Protocol,
            code: Some("malformed".into()),
            message: format!("{what} ({} bytes: {prefix}{more})", bytes.len()),
            retryable: false,
        })
    }
}

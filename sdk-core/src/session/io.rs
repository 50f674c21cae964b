//! The session's inputs and outputs: [`SessionInput`] (engine inputs, the token provider's
//! answer, the timer, lifecycle changes), [`SessionOutput`] (transport operations and token requests for the driver;
//! events, status changes and state changes for the app) and [`Transport`], plus the
//! [`SessionOptions`] a session adds to the engine's config.

use crate::event::{DeliveryStatus, Envelope};
use crate::ids::{ClientId, ConnId, RequestId};
use crate::io::{Command, HttpRequest, Input, Output};
use crate::state::ConnectionState;
use std::sync::Arc;

/// Settings of a session besides the engine's [`Config`](crate::Config).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionOptions {
    /// Headers added to every socket upgrade and HTTP request, replacing same-named headers the
    /// dialect set (case-insensitive).
    pub headers: Vec<(String, String)>,
    /// The app supplies tokens through [`SessionInput::Token`] when asked with
    /// [`SessionOutput::FetchToken`]: transport operations wait for the first answer, and an auth
    /// failure is retried with a fresh token instead of being final.
    pub token_provider: bool,
}

impl SessionOptions {
    /// Options with these extra headers and no token provider.
    ///
    /// ```
    /// let options = chatwire::session::SessionOptions::with_headers(vec![("X-Trace".into(), "1".into())]);
    /// assert!(!options.token_provider);
    /// ```
    pub fn with_headers(headers: Vec<(String, String)>) -> SessionOptions {
        SessionOptions {
            headers,
            token_provider: false,
        }
    }
}

/// What goes into a [`Session`](super::Session).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SessionInput {
    /// An engine input: a command, a transport report or [`Input::Timeout`]. Reports about
    /// handles the session no longer tracks are ignored, as in the engine.
    Engine(Input),
    /// The token provider's answer to [`SessionOutput::FetchToken`]: a token, or why it could
    /// not give one (the session then goes on with the previous token, or none).
    Token(Result<String, String>),
    /// The timer of [`Session::poll_timeout`](super::Session::poll_timeout) passed.
    Timeout,
    /// The platform's lifecycle changed (network reachability, visibility): see
    /// [`lifecycle`](super::lifecycle) for what each change does.
    Lifecycle(super::Lifecycle),
}

impl From<Input> for SessionInput {
    fn from(input: Input) -> SessionInput {
        match input {
            Input::Timeout => SessionInput::Timeout,
            other => SessionInput::Engine(other),
        }
    }
}

impl From<Command> for SessionInput {
    fn from(command: Command) -> SessionInput {
        SessionInput::Engine(Input::Command(command))
    }
}

/// A transport operation for the driver, with every header already filled in.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Transport {
    /// Open a WebSocket; report `SocketOpened`, then frames, then exactly one `SocketClosed`.
    OpenSocket {
        /// Handle to report back with.
        conn: ConnId,
        /// `ws://` or `wss://` URL.
        url: String,
        /// Upgrade headers (the session's headers and bearer included).
        headers: Vec<(String, String)>,
    },
    /// Send a text frame.
    SendText {
        /// The socket.
        conn: ConnId,
        /// The frame.
        text: String,
    },
    /// Send a binary frame.
    SendBinary {
        /// The socket.
        conn: ConnId,
        /// The frame.
        bytes: Vec<u8>,
    },
    /// Close the socket (no report expected after this).
    CloseSocket {
        /// The socket.
        conn: ConnId,
    },
    /// Run an HTTP request (headers filled in); report its response, chunks and end.
    Http(HttpRequest),
    /// Abort an HTTP request (no report expected after this).
    CancelHttp {
        /// The request.
        id: RequestId,
    },
}

/// What comes out of a [`Session`](super::Session)(super::Session): operations for the driver, and what the app receives.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SessionOutput {
    /// For the driver: execute this transport operation.
    Transport(Transport),
    /// For the driver: call the token provider once and hand its answer back as
    /// [`SessionInput::Token`]. Never asked again before that answer.
    FetchToken,
    /// For the app: the next event, shared (one allocation for every subscriber).
    Event(Arc<Envelope>),
    /// For the app's receipt of `client_id`: its new delivery status. `terminal` is true for the
    /// last status the message will ever get; the receipt can be dropped after it.
    Status {
        /// The message.
        client_id: ClientId,
        /// The new status.
        status: DeliveryStatus,
        /// No further status follows.
        terminal: bool,
    },
    /// For the app: the connection state changed (also delivered as a `StateChanged` event).
    State {
        /// The previous state.
        from: ConnectionState,
        /// The new state.
        to: ConnectionState,
    },
    /// The session closed: the last output. Tear every transport down and end the app's streams.
    Closed,
}

/// The transport operation of an engine output (`None` for events, handled apart).
pub(super) fn into_transport(output: Output) -> Option<Transport> {
    Some(match output {
        Output::OpenSocket { conn, url, headers } => Transport::OpenSocket { conn, url, headers },
        Output::SendText { conn, text } => Transport::SendText { conn, text },
        Output::SendBinary { conn, bytes } => Transport::SendBinary { conn, bytes },
        Output::CloseSocket { conn } => Transport::CloseSocket { conn },
        Output::HttpRequest(request) => Transport::Http(request),
        Output::CancelHttp { id } => Transport::CancelHttp { id },
        Output::Event(_) => return None,
    })
}

//! One WebSocket: its opening handshake, close and writes as a tokio task; its reads in the
//! driver task (tokio-tungstenite, rustls with the webpki roots).
//!
//! The task opens the socket and reports `SocketOpened` together with the socket's read half
//! ([`Reader`]), or a `SocketClosed{failed_to_open}` with the HTTP status of a rejected upgrade.
//! From then on the driver polls the read half itself, inside its own task, so an inbound frame
//! reaches the session without a hop between tasks or a copy of its text; [`read`] turns what the
//! read half yields into a frame for the session or the end of the socket. The task keeps the
//! write half: it writes what the driver asks for until the driver closes the socket, drops it,
//! or a write fails (reported as `SocketClosed`). The driver reports a socket's end exactly once
//! and never for a socket it closed itself (the engine expects no report then). Pings are
//! answered by tungstenite. The engine's `max_frame_bytes` is enforced by tungstenite too, so an
//! oversized message is never buffered: it ends the connection with close code 1009 (Message Too
//! Big), and a text message that is not UTF-8 ends it with 1007 (the driver asks the task to send
//! that close frame: [`SocketCmd::Refuse`]); the report carries that code, so the dialect sees a
//! protocol failure. A rejected upgrade reports its HTTP status and its `Retry-After`.

use super::Report;
use crate::ids::ConnId;
use crate::io::{CloseReason, Input};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest, protocol};

/// What the driver asks a socket task to do.
pub(super) enum SocketCmd {
    Text(String),
    Binary(Vec<u8>),
    /// Send a close frame and stop (no report follows).
    Close,
    /// The driver refused the peer's data (oversized, not UTF-8) and reported the end: send
    /// this close frame and stop (no report follows).
    Refuse(protocol::CloseFrame),
}

/// The read half of an open socket, polled by the driver task.
pub(super) type Reader = SplitStream<Ws>;

/// Everything a socket task needs.
pub(super) struct SocketSpec {
    pub(super) conn: ConnId,
    pub(super) url: String,
    pub(super) headers: Vec<(String, String)>,
    pub(super) max_frame_bytes: usize,
    pub(super) tls: Arc<rustls::ClientConfig>,
}

/// Spawns the task; returns its command channel and abort handle.
pub(super) fn spawn(
    spec: SocketSpec,
    reports: mpsc::Sender<Report>,
) -> (mpsc::UnboundedSender<SocketCmd>, AbortHandle) {
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(run(spec, rx, reports));
    (tx, task.abort_handle())
}

/// The socket's read buffer: small, so an idle connection stays small (tungstenite's default of
/// 128 KiB is zero-filled, hence resident, per connection); a message larger than this grows the
/// buffer to fit it. Writes are not buffered (`write_buffer_size(0)`): every send is flushed
/// at once anyway.
const READ_BUFFER: usize = 4 * 1024;

/// How long a closing handshake may take before the task just drops the connection.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

async fn run(
    spec: SocketSpec,
    mut cmds: mpsc::UnboundedReceiver<SocketCmd>,
    reports: mpsc::Sender<Report>,
) {
    let conn = spec.conn;
    let report = |reason: CloseReason| {
        let reports = reports.clone();
        async move {
            let _ = reports
                .send(Report::Input(Input::SocketClosed { conn, reason }))
                .await;
        }
    };
    let request = match build_request(&spec.url, &spec.headers) {
        Ok(request) => request,
        Err(error) => return report(CloseReason::refused(None, error)).await,
    };
    let config = protocol::WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_message_size(Some(spec.max_frame_bytes))
        .max_frame_size(Some(spec.max_frame_bytes));
    let connector = if spec.url.starts_with("wss:") {
        tokio_tungstenite::Connector::Rustls(spec.tls.clone())
    } else {
        tokio_tungstenite::Connector::Plain
    };
    // On the heap, and dropped once connected: the handshake's state is large (kilobytes) and
    // would otherwise stay part of this task for the connection's whole life.
    let mut connect = Box::pin(tokio_tungstenite::connect_async_tls_with_config(
        request,
        Some(config),
        true,
        Some(connector),
    ));
    // Writes asked for before the upgrade completed (the engine waits for `SocketOpened`, so
    // this stays empty in practice) are kept in order.
    let mut early = Vec::new();
    let ws = loop {
        tokio::select! {
            result = &mut connect => match result {
                Ok((ws, _response)) => break ws,
                Err(error) => return report(refusal(error)).await,
            },
            cmd = cmds.recv() => match cmd {
                Some(SocketCmd::Close | SocketCmd::Refuse(_)) | None => return,
                Some(cmd) => early.push(cmd),
            },
        }
    };
    drop(connect);
    let (mut sink, reader) = ws.split();
    if reports.send(Report::Opened { conn, reader }).await.is_err() {
        return;
    }
    for cmd in early {
        if let Err(error) = write(&mut sink, cmd).await {
            return report(CloseReason::error(error.to_string())).await;
        }
    }
    loop {
        match cmds.recv().await {
            Some(SocketCmd::Close) | None => {
                let close = sink.send(Message::Close(None));
                let _ = tokio::time::timeout(CLOSE_GRACE, close).await;
                return;
            }
            Some(SocketCmd::Refuse(frame)) => {
                let close = sink.send(Message::Close(Some(frame)));
                let _ = tokio::time::timeout(CLOSE_GRACE, close).await;
                return;
            }
            Some(cmd) => {
                if let Err(error) = write(&mut sink, cmd).await {
                    return report(CloseReason::error(error.to_string())).await;
                }
            }
        }
    }
}

/// What one poll of a socket's read half means for the driver.
pub(super) enum Read {
    /// A message for the session.
    Text(tungstenite::Utf8Bytes),
    Binary(tungstenite::Bytes),
    /// Nothing for the session (ping, pong, raw frame: handled by tungstenite).
    Nothing,
    /// The socket ended: report `reason`; when `refuse` is set, the socket task sends that close
    /// frame to the peer.
    Ended {
        reason: CloseReason,
        refuse: Option<protocol::CloseFrame>,
    },
}

/// Interprets what the read half yielded.
pub(super) fn read(
    message: Option<Result<Message, tungstenite::Error>>,
    max_frame_bytes: usize,
) -> Read {
    match message {
        Some(Ok(Message::Text(text))) => Read::Text(text),
        Some(Ok(Message::Binary(bytes))) => Read::Binary(bytes),
        Some(Ok(Message::Close(frame))) => {
            let reason = match frame {
                Some(f) => CloseReason::closed(Some(u16::from(f.code)), f.reason.as_str()),
                None => CloseReason::closed(None, "closed by the server"),
            };
            Read::Ended {
                reason,
                refuse: None,
            }
        }
        Some(Ok(_)) => Read::Nothing,
        Some(Err(error)) => {
            let (code, reason) = read_failure(&error, max_frame_bytes);
            match code {
                Some(code) => Read::Ended {
                    refuse: Some(protocol::CloseFrame {
                        code: code.into(),
                        reason: reason.clone().into(),
                    }),
                    reason: CloseReason::closed(Some(code), reason),
                },
                None => Read::Ended {
                    reason: CloseReason::error(reason),
                    refuse: None,
                },
            }
        }
        None => Read::Ended {
            reason: CloseReason::error("connection closed"),
            refuse: None,
        },
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn write(
    sink: &mut SplitSink<Ws, Message>,
    cmd: SocketCmd,
) -> Result<(), tungstenite::Error> {
    match cmd {
        SocketCmd::Text(text) => sink.send(Message::text(text)).await,
        SocketCmd::Binary(bytes) => sink.send(Message::binary(bytes)).await,
        SocketCmd::Close | SocketCmd::Refuse(_) => Ok(()),
    }
}

fn build_request(
    url: &str,
    headers: &[(String, String)],
) -> Result<tungstenite::handshake::client::Request, String> {
    let mut request = url
        .into_client_request()
        .map_err(|e| format!("invalid WebSocket URL: {e}"))?;
    for (name, value) in headers {
        let name = tungstenite::http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("invalid header name {name:?}"))?;
        let value = tungstenite::http::HeaderValue::from_str(value)
            .map_err(|_| format!("invalid value for header {name}"))?;
        request.headers_mut().append(name, value);
    }
    Ok(request)
}

/// A failed opening handshake (refused, DNS, TLS, upgrade answered with an HTTP status).
fn refusal(error: tungstenite::Error) -> CloseReason {
    match error {
        tungstenite::Error::Http(response) => {
            let status = response.status();
            let headers: Vec<(String, String)> = response
                .headers()
                .get_all("retry-after")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .map(|v| ("retry-after".to_string(), v.to_string()))
                .collect();
            CloseReason::refused(
                Some(status.as_u16()),
                format!("upgrade rejected with HTTP {status}"),
            )
            .with_retry_after(crate::dialect::retry_after_wait(
                &headers,
                super::runtime::unix_ms_now(),
            ))
        }
        other => CloseReason::refused(None, other.to_string()),
    }
}

/// A read error on an open socket: the close code we send back (for refusals of the peer's
/// data) and the reason reported to the engine.
fn read_failure(error: &tungstenite::Error, max_frame_bytes: usize) -> (Option<u16>, String) {
    match error {
        tungstenite::Error::Capacity(_) => (
            Some(1009),
            format!("inbound message exceeds the {max_frame_bytes}-byte limit"),
        ),
        tungstenite::Error::Utf8(_) => (Some(1007), "text message is not valid UTF-8".into()),
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
            (None, "connection closed".into())
        }
        other => (None, other.to_string()),
    }
}

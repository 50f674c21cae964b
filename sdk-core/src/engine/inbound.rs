//! The inbound path: transport reports from the driver are checked (live handle, frame size),
//! SSE bodies parsed, and handed to the dialect; the dialect's [`Action`]s are then carried out
//! in order — transport operations become outputs, decoded events go through dedup, turn
//! tracking and text assembly, and leave as numbered [`Envelope`]s.

use super::item::Item;
use super::{Engine, Handle, HttpDeadline, HttpLate};
use crate::dialect::{Action, Actions, Decoded, Failure, ResponseKind, TransportEvent};
use crate::event::{DeliveryStatus, Envelope, ErrorKind, Event};
use crate::ids::{ClientId, ConnId, Cursor, RequestId};
use crate::io::{FrameRef, HttpRequest, Input, Output};
use crate::sse;
use crate::time::Instant;

impl Engine {
    /// Routes a transport report (never a command or a timeout).
    pub(super) fn transport(&mut self, now: Instant, input: Input) {
        let id = match &input {
            Input::SocketOpened { conn } | Input::SocketFrame { conn, .. } => conn.0,
            Input::SocketClosed { conn, .. } => conn.0,
            Input::HttpResponse { id, .. } | Input::HttpChunk { id, .. } => id.0,
            Input::HttpEnd { id } | Input::HttpFailed { id, .. } => id.0,
            _ => return,
        };
        super::trace::report(&input, self.live.contains_key(&id));
        if !self.live.contains_key(&id) {
            return; // a report about a handle we already closed: normal, ignore
        }
        self.last_rx = now;
        self.pong_deadline = None;
        match input {
            Input::SocketOpened { conn } => {
                self.on_connected(now);
                self.forward(now, TransportEvent::SocketOpened { conn });
            }
            Input::SocketFrame { conn, frame } => {
                self.frame_checked(now, conn, frame.as_frame_ref())
            }
            Input::SocketClosed { conn, reason } => {
                self.live.remove(&conn.0);
                self.forward(
                    now,
                    TransportEvent::SocketClosed {
                        conn,
                        reason: &reason,
                    },
                );
                // Safety net: the conversation socket is gone and the dialect did not react.
                let sockets_left = self.live.values().any(|h| matches!(h, Handle::Socket));
                if self.conn.is_live() && !sockets_left {
                    let msg = format!("socket closed: {}", reason.reason);
                    self.connection_failed(now, Failure::network(msg));
                }
            }
            Input::HttpResponse {
                id: rid,
                status,
                headers,
                body,
            } => self.http_response(now, RequestId(rid.0), status, &headers, body),
            Input::HttpChunk { id: rid, bytes } => self.http_chunk(now, rid, &bytes),
            Input::HttpEnd { id: rid } => {
                if let Some(Handle::Http {
                    sse: Some(mut p), ..
                }) = self.live.remove(&rid.0)
                {
                    p.finish(); // an unterminated event at EOF is discarded
                }
                self.forward(now, TransportEvent::HttpEnd { id: rid });
            }
            Input::HttpFailed { id: rid, error } => {
                self.live.remove(&rid.0);
                self.forward(
                    now,
                    TransportEvent::HttpFailed {
                        id: rid,
                        error: &error,
                    },
                );
            }
            _ => {}
        }
    }

    /// A WebSocket message, owned or borrowed (`Engine::handle_frame`): the report checks of
    /// [`transport`](Engine::transport), then the frame's own.
    pub(super) fn socket_frame(&mut self, now: Instant, conn: ConnId, frame: FrameRef<'_>) {
        let live = self.live.contains_key(&conn.0);
        super::trace::frame(conn, frame, live);
        if !live {
            return; // a frame from a socket we already closed: normal, ignore
        }
        self.last_rx = now;
        self.pong_deadline = None;
        self.frame_checked(now, conn, frame);
    }

    /// A frame from a live socket: refused when oversized, else handed to the dialect.
    fn frame_checked(&mut self, now: Instant, conn: ConnId, frame: FrameRef<'_>) {
        let len = frame.len();
        if len > self.config.max_frame_bytes {
            self.refuse_oversized(len);
            return;
        }
        match frame {
            FrameRef::Text(text) => self.forward(now, TransportEvent::SocketText { conn, text }),
            FrameRef::Binary(bytes) => {
                self.forward(now, TransportEvent::SocketBinary { conn, bytes })
            }
        }
    }

    fn http_response(
        &mut self,
        now: Instant,
        id: RequestId,
        status: u16,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) {
        let kind = match self.live.get_mut(&id.0) {
            Some(Handle::Http { kind, deadline, .. }) => {
                // The response started: only the request's own total timeout still applies.
                if let Some(HttpDeadline {
                    why: HttpLate::NoResponse(_),
                    ..
                }) = deadline
                {
                    *deadline = None;
                }
                *kind
            }
            _ => return,
        };
        // An error status ends a streaming request too: its (small) body is the error, read
        // whole by the driver, and no stream follows.
        if kind == ResponseKind::Full || !(200..300).contains(&status) {
            self.live.remove(&id.0);
            if body.len() > self.config.max_frame_bytes {
                self.refuse_oversized(body.len());
                let error = "response body exceeds the size limit";
                self.forward(now, TransportEvent::HttpFailed { id, error });
                return;
            }
            let ev = TransportEvent::HttpResponse {
                id,
                status,
                headers,
                body: &body,
            };
            self.forward(now, ev);
            return;
        }
        let ev = TransportEvent::HttpResponse {
            id,
            status,
            headers,
            body: &[],
        };
        self.forward(now, ev);
        if !body.is_empty() {
            self.http_chunk(now, id, &body);
        }
    }

    fn http_chunk(&mut self, now: Instant, id: RequestId, bytes: &[u8]) {
        let events = match self.live.get_mut(&id.0) {
            Some(Handle::Http {
                sse: Some(parser), ..
            }) => {
                let events = parser.feed(bytes);
                if parser.buffered_len() > self.config.max_frame_bytes {
                    let len = parser.buffered_len();
                    let error = "event stream line exceeds the size limit";
                    self.refuse_stream(now, id, len, error);
                    return;
                }
                events
            }
            Some(Handle::Http { .. }) => {
                self.forward(now, TransportEvent::HttpChunk { id, bytes });
                return;
            }
            _ => return,
        };
        for event in &events {
            if !self.live.contains_key(&id.0) {
                break; // the dialect gave up on this stream mid-chunk
            }
            // An event can arrive whole within one chunk, or be joined from many short lines:
            // its size is checked as well as the size of the line still buffered.
            if event.data.len() > self.config.max_frame_bytes {
                let error = "event stream event exceeds the size limit";
                self.refuse_stream(now, id, event.data.len(), error);
                break;
            }
            self.forward(now, TransportEvent::SseEvent { id, event });
        }
    }

    /// Refuses an event stream that sent more than `max_frame_bytes` at once: the stream is
    /// cancelled, the app gets `Error{Protocol}` and the dialect a failed request.
    fn refuse_stream(&mut self, now: Instant, id: RequestId, len: usize, error: &str) {
        self.live.remove(&id.0);
        self.outputs.push_back(Output::CancelHttp { id });
        self.refuse_oversized(len);
        self.forward(now, TransportEvent::HttpFailed { id, error });
    }

    pub(super) fn forward(&mut self, now: Instant, event: TransportEvent<'_>) {
        let mut out = self.actions();
        self.dialect.on_transport(event, &mut out);
        self.finish_dialect_call(now, out);
    }

    /// A collector for one dialect call, reusing a spare buffer when there is one.
    pub(super) fn actions(&mut self) -> Actions {
        let buffer = std::mem::take(&mut self.spare_actions);
        Actions::with_buffer(self.next_id, buffer, self.config.keep_raw)
    }

    /// Carries out what a dialect call decided, in order.
    pub(super) fn finish_dialect_call(&mut self, now: Instant, out: Actions) {
        self.next_id = self.next_id.max(out.next_id());
        let mut list = out.into_list();
        for action in list.drain(..) {
            self.apply(now, action);
        }
        if list.capacity() > self.spare_actions.capacity() {
            self.spare_actions = list;
        }
        // One message in flight (`ordered_sends`): the settled message's own events go first,
        // then the next message.
        if std::mem::take(&mut self.release_next) && self.state().is_ready() {
            self.flush_queue(now);
        }
    }

    // Guards with side effects (removing a handle, settling a message) would read worse.
    #[allow(clippy::collapsible_match)]
    fn apply(&mut self, now: Instant, action: Action) {
        let live = self.conn.is_live();
        match action {
            Action::OpenSocket { conn, url, headers } if live && !self.tearing_down => {
                self.live.insert(conn.0, Handle::Socket);
                self.outputs
                    .push_back(Output::OpenSocket { conn, url, headers });
            }
            Action::SendText { conn, text } if self.is_socket(conn) => {
                self.outputs.push_back(Output::SendText { conn, text });
            }
            Action::SendBinary { conn, bytes } if self.is_socket(conn) => {
                self.outputs.push_back(Output::SendBinary { conn, bytes });
            }
            Action::CloseSocket { conn } => {
                if self.live.remove(&conn.0).is_some() {
                    self.outputs.push_back(Output::CloseSocket { conn });
                }
            }
            Action::Http { id, spec } if live && !self.tearing_down => {
                let sse =
                    (spec.response == ResponseKind::Sse).then(|| Box::new(sse::Parser::new()));
                let deadline = super::http_deadline::http_deadline(
                    now,
                    spec.response,
                    self.config.connect_timeout.as_millis(),
                    spec.timeout_ms,
                );
                self.live.insert(
                    id.0,
                    Handle::Http {
                        kind: spec.response,
                        sse,
                        deadline,
                    },
                );
                let mut req = HttpRequest {
                    id,
                    method: spec.method,
                    url: spec.url,
                    headers: spec.headers,
                    body: spec.body,
                    streaming: spec.response != ResponseKind::Full,
                    timeout_ms: spec.timeout_ms,
                };
                req.headers.shrink_to_fit();
                self.outputs.push_back(Output::HttpRequest(req));
            }
            Action::CancelHttp { id } => {
                if self.live.remove(&id.0).is_some() {
                    self.outputs.push_back(Output::CancelHttp { id });
                }
            }
            Action::Connected => self.on_connected(now),
            Action::Ready => self.on_ready(now),
            Action::Discontinuity { reason } => self.discontinuity(now, &reason),
            Action::Emit(decoded) => self.inbound(now, decoded),
            Action::Ack {
                client_id,
                server_id,
            } => {
                if self.queue.remove(client_id).is_some() {
                    self.release_next = self.caps.ordered_sends;
                    self.emit_status(client_id, DeliveryStatus::Acked, server_id);
                }
            }
            Action::Reject { client_id, reason } => {
                if self.queue.remove(client_id).is_some() {
                    self.release_next = self.caps.ordered_sends;
                    self.emit_status_failed(client_id, reason);
                }
            }
            Action::Fail(failure) => self.connection_failed(now, failure),
            Action::EndOpenTurns { code, message } => {
                let mut buf = std::mem::take(&mut self.scratch);
                self.turns.fail_all(code, &message, &mut buf);
                self.emit_items(&mut buf);
                self.scratch = buf;
            }
            // transport operations outside a live connection, or on dead handles: dropped
            _ => {}
        }
    }

    fn is_socket(&self, conn: ConnId) -> bool {
        matches!(self.live.get(&conn.0), Some(Handle::Socket))
    }

    /// Dedup, cursor, turn tracking, assembly, emission.
    fn inbound(&mut self, now: Instant, decoded: Decoded) {
        if let Some(key) = &decoded.dedup {
            if !self.dedup.insert(key) {
                super::trace::repeat_dropped(key);
                self.duplicates_dropped = self.duplicates_dropped.saturating_add(1);
                return;
            }
        }
        if let Some(c) = &decoded.cursor {
            self.cursor = Some(c.clone());
        }
        let (item, offset) = Item::from_decoded(decoded);
        let mut buf = std::mem::take(&mut self.scratch);
        self.turns.process(now, item, offset, &mut buf);
        self.emit_items(&mut buf);
        self.scratch = buf;
    }

    fn refuse_oversized(&mut self, len: usize) {
        let limit = self.config.max_frame_bytes;
        let message = format!("refused inbound data of {len} bytes (limit {limit})");
        self.emit_now(Item::new(Event::Error {
            kind: ErrorKind::Protocol,
            code: Some("frame_too_large".into()),
            message,
            retryable: false,
        }));
    }

    /// Wraps items into envelopes and queues them for the app (drains `items`).
    pub(super) fn emit_items(&mut self, items: &mut Vec<Item>) {
        for item in items.drain(..) {
            self.emit_one(item);
        }
    }

    /// Emits an engine-originated event (state, status, error) after any text the turn tracker
    /// still holds for coalescing, so the app sees events in the order they happened.
    pub(super) fn emit_now(&mut self, item: Item) {
        let mut buf = std::mem::take(&mut self.scratch);
        self.turns.flush(&mut buf);
        buf.push(item);
        self.emit_items(&mut buf);
        self.scratch = buf;
    }

    /// Wraps one item into the next envelope and queues it for the app.
    pub(super) fn emit_one(&mut self, item: Item) {
        if matches!(item.event, Event::TurnCompleted { .. }) && self.ready_since.is_some() {
            self.proven = true; // a completed turn proves the connection healthy
        }
        self.seq += 1;
        // An unknown event's wire form is all the app has of it: kept whatever the setting.
        let keep = self.config.keep_raw || matches!(item.event, Event::Unknown { .. });
        let raw = if keep { item.raw } else { None };
        let envelope = Envelope {
            seq: self.seq,
            cursor: item.cursor.map(Cursor::into_string),
            conversation_id: item.conversation_id,
            turn_id: item.turn_id,
            message_id: item.message_id,
            part_id: item.part_id,
            timestamp_ms: item.timestamp_ms.unwrap_or_else(|| self.wall_ms(self.now)),
            event: item.event,
            raw,
        };
        super::trace::event(&envelope);
        self.outputs.push_back(Output::Event(envelope));
    }

    pub(super) fn emit_status(
        &mut self,
        client_id: ClientId,
        status: DeliveryStatus,
        server_id: Option<String>,
    ) {
        self.emit_now(Item::new(Event::MessageStatus {
            client_id,
            status,
            server_id,
        }));
    }
}

//! The engine's logs, through `tracing` (free when no subscriber is installed; a CLI or an app
//! turns them on with `RUST_LOG`, for example `RUST_LOG=chatwire=debug`).
//!
//! What is logged, and at which level, is decided here so that every driver (tokio, wasm, FFI)
//! tells the same story of a connection:
//!
//! | level | what |
//! |---|---|
//! | `warn` | errors reported to the app, discontinuities, failed turns and messages, giving up |
//! | `info` | state changes, each retry with its reason, failure kind, backoff context, server hint and delay |
//! | `debug` | attempts, message status changes, turn ends, HTTP statuses, socket opens and closes |
//! | `trace` | every other event by type, each transport report by size, repeats dropped by dedup |
//!
//! Guarantee: no log line carries a URL, a header, a request or frame body, or event text —
//! only kinds, ids, sizes, statuses and the engine's own failure descriptions (which drivers
//! keep free of URLs). Credentials therefore never reach a log through the engine.

use crate::dialect::{Failure, RetryHint};
use crate::event::{DeliveryStatus, Envelope, Event};
use crate::ids::ConnId;
use crate::io::{FrameRef, Input};
use std::time::Duration;

/// The target of every engine log line (`RUST_LOG=chatwire::engine=debug` selects them).
const TARGET: &str = "chatwire::engine";

/// An envelope leaves the engine for the app.
pub(super) fn event(envelope: &Envelope) {
    let seq = envelope.seq;
    let turn = envelope.turn_id.as_deref().unwrap_or("");
    match &envelope.event {
        Event::StateChanged { from, to } => {
            tracing::info!(target: TARGET, seq, from = ?from, to = ?to, "connection state changed");
        }
        Event::Error {
            kind,
            code,
            message,
            retryable,
        } => tracing::warn!(
            target: TARGET,
            seq,
            kind = ?kind,
            code = code.as_deref().unwrap_or(""),
            retryable,
            "error: {message}"
        ),
        Event::Discontinuity { reason } => {
            tracing::warn!(target: TARGET, seq, "discontinuity: {reason}")
        }
        Event::TurnFailed { error } => tracing::warn!(
            target: TARGET,
            seq,
            turn,
            code = ?error.code,
            "turn failed: {}",
            error.message
        ),
        Event::MessageStatus {
            client_id,
            status: DeliveryStatus::Failed { reason },
            ..
        } => tracing::warn!(target: TARGET, seq, %client_id, reason = ?reason, "message failed"),
        Event::MessageStatus {
            client_id, status, ..
        } => tracing::debug!(target: TARGET, seq, %client_id, status = ?status, "message status"),
        Event::TurnCompleted { finish_reason, .. } => tracing::debug!(
            target: TARGET,
            seq,
            turn,
            finish_reason = finish_reason.as_deref().unwrap_or(""),
            "turn completed"
        ),
        Event::TurnCancelled => tracing::debug!(target: TARGET, seq, turn, "turn cancelled"),
        other => tracing::trace!(target: TARGET, seq, turn, event = other.type_name(), "event"),
    }
}

/// A connection failed and the engine will try again after `delay`.
pub(super) fn retry(failure: &Failure, hint: &RetryHint, attempt: u32, delay: Duration) {
    tracing::info!(
        target: TARGET,
        attempt,
        delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        kind = ?failure.kind,
        context = ?hint.context,
        server_hint_ms = hint.after.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        "reconnecting: {}",
        failure.message
    );
}

/// A connection failed and the engine gives up (`Failed`).
pub(super) fn give_up(failure: &Failure, hint: &RetryHint, attempts: u32) {
    tracing::warn!(
        target: TARGET,
        attempts,
        kind = ?failure.kind,
        retryable = hint.retry,
        "giving up: {}",
        failure.message
    );
}

/// A connection attempt starts.
pub(super) fn attempt(attempt: u32, reconnect: bool) {
    tracing::debug!(target: TARGET, attempt, reconnect, "connecting");
}

/// A transport report reaches the engine (`live`: about a handle still open).
/// A WebSocket message fed borrowed (`Engine::handle_frame`), logged as `report` logs one.
pub(super) fn frame(conn: ConnId, frame: FrameRef<'_>, live: bool) {
    if !live {
        tracing::trace!(target: TARGET, "report about a closed handle ignored");
        return;
    }
    frame_line(conn, frame);
}

fn frame_line(conn: ConnId, frame: FrameRef<'_>) {
    let (kind, len) = match frame {
        FrameRef::Text(t) => ("text", t.len()),
        FrameRef::Binary(b) => ("binary", b.len()),
    };
    tracing::trace!(target: TARGET, conn = conn.0, kind, len, "socket frame");
}

pub(super) fn report(input: &Input, live: bool) {
    if !live {
        tracing::trace!(target: TARGET, "report about a closed handle ignored");
        return;
    }
    match input {
        Input::SocketOpened { conn } => {
            tracing::debug!(target: TARGET, conn = conn.0, "socket opened")
        }
        Input::SocketFrame { conn, frame } => frame_line(*conn, frame.as_frame_ref()),
        Input::SocketClosed { conn, reason } => tracing::debug!(
            target: TARGET,
            conn = conn.0,
            code = reason.code,
            "socket closed: {}",
            reason.reason
        ),
        Input::HttpResponse {
            id, status, body, ..
        } => tracing::debug!(target: TARGET, id = id.0, status, len = body.len(), "http response"),
        Input::HttpChunk { id, bytes } => {
            tracing::trace!(target: TARGET, id = id.0, len = bytes.len(), "http chunk");
        }
        Input::HttpEnd { id } => tracing::debug!(target: TARGET, id = id.0, "http stream ended"),
        Input::HttpFailed { id, error } => {
            tracing::debug!(target: TARGET, id = id.0, "http failed: {error}")
        }
        _ => {}
    }
}

/// The dedup registry dropped a repeated event.
pub(super) fn repeat_dropped(key: &impl std::fmt::Debug) {
    tracing::trace!(target: TARGET, key = ?key, "repeated event dropped");
}

//! The connection state machine: attempts, connect/ready timeouts, liveness (ping/pong or idle),
//! failure classification into backoff, `reconnect_now`, and the final close.
//!
//! Each internal state carries exactly the data it needs (its deadline, the backoff wait); every
//! change goes through [`Engine::set_conn`], which checks the move against
//! [`ConnectionState::can_transition_to`] and emits `StateChanged`.

use super::item::Item;
use super::{Engine, Handle};
use crate::dialect::{ConnectContext, Disconnect, Failure, FailureKind, Liveness, Outbound};
use crate::event::{ErrorKind, Event, FailReason, TurnErrorCode};
use crate::ids::ConnId;
use crate::ids::RequestId;
use crate::io::Output;
use crate::state::ConnectionState;
use crate::time::Instant;
use std::time::Duration;

/// Internal connection state; one variant per public state, each with its own data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Conn {
    Idle,
    Connecting(Deadline),
    Connected(Deadline),
    Ready,
    Backoff(Backoff),
    Failed,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Deadline {
    at: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Backoff {
    attempt: u32,
    delay: Duration,
    until: Instant,
}

impl Conn {
    pub(super) fn public(&self) -> ConnectionState {
        match self {
            Conn::Idle => ConnectionState::Disconnected,
            Conn::Connecting(_) => ConnectionState::Connecting,
            Conn::Connected(_) => ConnectionState::Connected,
            Conn::Ready => ConnectionState::Ready,
            Conn::Backoff(b) => ConnectionState::Reconnecting {
                attempt: b.attempt,
                delay: b.delay,
            },
            Conn::Failed => ConnectionState::Failed,
            Conn::Closed => ConnectionState::Closed,
        }
    }

    pub(super) fn is_closed(&self) -> bool {
        matches!(self, Conn::Closed)
    }

    /// Connecting, Connected or Ready: a connection (attempt) is in progress.
    pub(super) fn is_live(&self) -> bool {
        matches!(self, Conn::Connecting(_) | Conn::Connected(_) | Conn::Ready)
    }
}

impl Engine {
    /// Fires every timer that is due at `now`.
    pub(super) fn on_time(&mut self, now: Instant) {
        match self.conn {
            Conn::Connecting(d) if now >= d.at => {
                self.connection_failed(now, Failure::new(FailureKind::Timeout, "connect timeout"));
            }
            Conn::Connected(d) if now >= d.at => {
                let f = Failure::new(FailureKind::Initializing, "ready timeout");
                self.connection_failed(now, f);
            }
            Conn::Ready if self.ack_deadline().is_some_and(|t| now >= t) => {
                let ms = self.config.ack_timeout.as_millis();
                let f = Failure::new(FailureKind::Timeout, format!("no ack within {ms} ms"));
                self.connection_failed(now, f);
            }
            Conn::Ready => self.check_liveness(now),
            Conn::Backoff(b) if now >= b.until => self.start_attempt(now),
            _ => {}
        }
        if self.typing.retry_at.is_some_and(|t| now >= t) {
            self.typing.retry_at = None;
            self.flush_typing(now);
        }
        let mut buf = std::mem::take(&mut self.scratch);
        self.turns.on_time(now, &mut buf);
        self.emit_items(&mut buf);
        self.scratch = buf;
    }

    /// The earliest connection-related deadline.
    pub(super) fn conn_deadline(&self) -> Option<Instant> {
        match self.conn {
            Conn::Connecting(d) | Conn::Connected(d) => Some(d.at),
            Conn::Backoff(b) => Some(b.until),
            Conn::Ready => {
                let liveness = match self.caps.liveness {
                    Liveness::Ping => Some(
                        self.pong_deadline
                            .unwrap_or(self.last_rx + self.config.ping_interval),
                    ),
                    Liveness::Idle => Some(self.last_rx + self.config.idle_timeout),
                    Liveness::IdleDuringTurn if self.turns.open_turns() > 0 => {
                        Some(self.last_rx + self.config.idle_timeout)
                    }
                    _ => None,
                };
                let ack = self.ack_deadline();
                match (liveness, ack) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
            _ => None,
        }
    }

    /// A message handed over on this connection waits for its ack until then.
    fn ack_deadline(&self) -> Option<Instant> {
        if !self.caps.acks {
            return None;
        }
        let sent = self.queue.oldest_unacked(self.epoch)?;
        Some(sent + self.config.ack_timeout)
    }

    fn check_liveness(&mut self, now: Instant) {
        match self.caps.liveness {
            Liveness::Ping => {
                if let Some(deadline) = self.pong_deadline {
                    if now >= deadline {
                        let f = Failure::new(FailureKind::Timeout, "no answer to ping");
                        self.connection_failed(now, f);
                    }
                } else if now >= self.last_rx + self.config.ping_interval {
                    self.ping_nonce = self.ping_nonce.wrapping_add(1);
                    self.pong_deadline = Some(now + self.config.pong_timeout);
                    let nonce = self.ping_nonce;
                    self.encode(now, Outbound::Ping { nonce });
                }
            }
            Liveness::Idle if now >= self.last_rx + self.config.idle_timeout => {
                let f = Failure::new(FailureKind::Timeout, "connection idle");
                self.connection_failed(now, f);
            }
            Liveness::IdleDuringTurn
                if self.turns.open_turns() > 0
                    && now >= self.last_rx + self.config.idle_timeout =>
            {
                let f = Failure::new(FailureKind::Timeout, "reply stream idle");
                self.connection_failed(now, f);
            }
            _ => {}
        }
    }

    /// Lazy connect: starts the first attempt when idle (or after a give-up).
    pub(super) fn connect_if_idle(&mut self, now: Instant) {
        match self.conn {
            Conn::Idle => self.start_attempt(now),
            Conn::Failed => {
                self.failures = 0;
                self.start_attempt(now);
            }
            _ => {}
        }
    }

    pub(super) fn start_attempt(&mut self, now: Instant) {
        self.set_conn(Conn::Connecting(Deadline {
            at: now + self.config.connect_timeout,
        }));
        self.epoch += 1;
        self.ready_since = None;
        self.attempt_cursor = self.cursor.clone();
        self.last_rx = now;
        self.pong_deadline = None;
        let cursor = self.cursor.clone();
        super::trace::attempt(self.failures.saturating_add(1), self.ever_ready);
        let mut cx = ConnectContext::new(self.failures.saturating_add(1), cursor.as_ref());
        cx.reconnect = self.ever_ready;
        cx.unix_ms = self.wall_ms(now);
        let mut out = self.actions();
        self.dialect.connect(&cx, &mut out);
        self.finish_dialect_call(now, out);
    }

    /// `Connecting -> Connected` (socket open or the dialect says so).
    pub(super) fn on_connected(&mut self, now: Instant) {
        if let Conn::Connecting(_) = self.conn {
            self.set_conn(Conn::Connected(Deadline {
                at: now + self.config.ready_timeout,
            }));
        }
    }

    pub(super) fn on_ready(&mut self, now: Instant) {
        if !matches!(self.conn, Conn::Connecting(_) | Conn::Connected(_)) {
            return;
        }
        self.set_conn(Conn::Ready);
        let reconnect = self.ever_ready;
        self.ever_ready = true;
        // The attempt count is not reset here: only a connection that proves healthy (stable for
        // `stable_after`, a completed turn, or a resume cursor moved on) resets it, in
        // `connection_failed`, so a backend that fails right after `Ready` backs off.
        self.ready_since = Some(now);
        self.proven = false;
        self.last_rx = now;
        self.pong_deadline = None;
        // A backend that cannot resume lost something only if a turn was cut: a reconnect after a
        // refused attempt or an idle drop has nothing to report.
        if reconnect && !self.caps.resume && std::mem::take(&mut self.cut_turn) {
            let reason = "reconnected to a backend that cannot resume: events may be missing";
            self.discontinuity(now, reason);
        }
        self.typing.sent = false;
        self.flush_queue(now);
        self.flush_typing(now);
    }

    pub(super) fn discontinuity(&mut self, _now: Instant, reason: &str) {
        let mut buf = std::mem::take(&mut self.scratch);
        self.turns.flush(&mut buf);
        buf.push(Item::new(Event::Discontinuity {
            reason: reason.to_string(),
        }));
        self.turns
            .fail_all(TurnErrorCode::Discontinuity, reason, &mut buf);
        self.emit_items(&mut buf);
        self.scratch = buf;
    }

    /// A live connection broke: report it, tear it down, back off or give up.
    pub(super) fn connection_failed(&mut self, now: Instant, failure: Failure) {
        if !self.conn.is_live() || self.tearing_down {
            return;
        }
        let healthy = matches!(self.conn, Conn::Ready)
            && (self.proven
                || self.cursor != self.attempt_cursor
                || self
                    .ready_since
                    .is_some_and(|t| now >= t + self.config.stable_after));
        self.ready_since = None;
        let hint = self.dialect.classify(&failure);
        self.emit_error(failure_kind(failure.kind), &failure.message, hint.retry);
        self.teardown(now, Disconnect::Reconnecting);
        if !self.caps.resume {
            self.cut_turn |= self.turns.open_turns() > 0;
            self.fail_turns(TurnErrorCode::Disconnected, "connection lost");
        }
        self.failures = if healthy {
            1
        } else {
            self.failures.saturating_add(1)
        };
        if !hint.retry || self.failures > self.config.max_attempts {
            super::trace::give_up(&failure, &hint, self.failures);
            self.give_up();
            return;
        }
        // A date hint (`Retry-After: <HTTP-date>`) becomes a wait from the wall-clock anchor.
        let wall = self.wall_ms(now);
        let after = hint.after.or_else(|| {
            let at = failure.retry_at_unix_ms?;
            Some(Duration::from_millis(at.saturating_sub(wall)))
        });
        if let Some(wait) = after.filter(|w| *w > self.config.max_retry_after) {
            // Not a silent day-long wait: tell the app when the backend will be back and stop.
            let retry_after_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
            self.emit_now(Item::new(Event::BackendUnavailable {
                until_ms: wall.saturating_add(retry_after_ms),
                retry_after_ms,
                message: failure.message.clone(),
            }));
            self.give_up();
            return;
        }
        let delay = self
            .config
            .backoff
            .delay(self.failures, self.rng.unit(), hint.context, after);
        // whole milliseconds (rounded up), so millisecond timers (setTimeout) never wake early
        let delay = Duration::from_millis(
            u64::try_from(delay.as_micros().div_ceil(1000)).unwrap_or(u64::MAX),
        );
        super::trace::retry(&failure, &hint, self.failures, delay);
        self.set_conn(Conn::Backoff(Backoff {
            attempt: self.failures,
            delay,
            until: now + delay,
        }));
    }

    fn give_up(&mut self) {
        self.fail_turns(TurnErrorCode::Disconnected, "connection failed");
        for id in self.queue.drain_ids() {
            self.emit_status_failed(id, FailReason::ConnectionFailed);
        }
        self.typing = Default::default();
        self.set_conn(Conn::Failed);
    }

    /// `reconnect_now`.
    pub(super) fn reconnect(&mut self, now: Instant) {
        match self.conn {
            Conn::Idle | Conn::Failed => self.connect_if_idle(now),
            Conn::Backoff(_) => self.start_attempt(now),
            Conn::Connected(_) | Conn::Ready => {
                self.teardown(now, Disconnect::Reconnecting);
                if !self.caps.resume {
                    self.cut_turn |= self.turns.open_turns() > 0;
                    self.fail_turns(TurnErrorCode::Disconnected, "connection replaced");
                }
                self.failures = 0;
                self.start_attempt(now);
            }
            Conn::Connecting(_) | Conn::Closed => {}
        }
    }

    /// `close`: final.
    pub(super) fn shut(&mut self, now: Instant) {
        if self.conn.is_live() {
            self.teardown(now, Disconnect::Closed);
        }
        let mut buf = std::mem::take(&mut self.scratch);
        self.turns.cancel_all(&mut buf);
        self.emit_items(&mut buf);
        self.scratch = buf;
        for id in self.queue.drain_ids() {
            self.emit_status_failed(id, FailReason::Closed);
        }
        self.set_conn(Conn::Closed);
    }

    /// Lets the dialect say goodbye, then closes every handle still open.
    fn teardown(&mut self, now: Instant, reason: Disconnect) {
        self.tearing_down = true;
        let mut out = self.actions();
        self.dialect.disconnect(reason, &mut out);
        self.finish_dialect_call(now, out);
        self.tearing_down = false;
        for (id, handle) in std::mem::take(&mut self.live) {
            self.outputs.push_back(match handle {
                Handle::Socket => Output::CloseSocket { conn: ConnId(id) },
                Handle::Http { .. } => Output::CancelHttp { id: RequestId(id) },
            });
        }
        self.pong_deadline = None;
        self.typing.sent = false;
        self.typing.retry_at = None;
    }

    fn fail_turns(&mut self, code: TurnErrorCode, message: &str) {
        let mut buf = std::mem::take(&mut self.scratch);
        self.turns.fail_all(code, message, &mut buf);
        self.emit_items(&mut buf);
        self.scratch = buf;
    }

    pub(super) fn set_conn(&mut self, next: Conn) {
        let from = self.conn.public();
        let to = next.public();
        debug_assert!(
            from == to || from.can_transition_to(to),
            "illegal transition {from:?} -> {to:?}"
        );
        self.conn = next;
        if from != to {
            self.emit_now(Item::new(Event::StateChanged { from, to }));
        }
    }

    pub(super) fn emit_error(&mut self, kind: ErrorKind, message: &str, retryable: bool) {
        self.emit_now(Item::new(Event::Error {
            kind,
            code: None,
            message: message.to_string(),
            retryable,
        }));
    }

    /// Checks the link now instead of judging it by deadlines that passed while the host was
    /// asleep (a background tab, a suspended laptop). While `Ready`: a ping dialect sends a ping
    /// now and waits `pong_timeout` for its answer (the pong, or any frame, proves the link); an
    /// idle-timeout dialect cannot ask, so its idle clock starts over from `now` and a dead
    /// stream is still found after `idle_timeout`. In any other state it does nothing.
    ///
    /// ```
    /// # use chatwire::dialect::native::{NativeConfig, NativeDialect};
    /// # let dialect = NativeDialect::new(NativeConfig::new("http://localhost:8080", "c-1"));
    /// # let mut engine = chatwire::Engine::new(chatwire::Config::default(), Box::new(dialect)).unwrap();
    /// engine.probe(chatwire::Instant::ZERO); // not connected: nothing to probe
    /// assert!(engine.poll_output().is_none());
    /// ```
    pub fn probe(&mut self, now: Instant) {
        if !matches!(self.conn, Conn::Ready) {
            return;
        }
        match self.caps.liveness {
            Liveness::Ping => {
                self.ping_nonce = self.ping_nonce.wrapping_add(1);
                self.pong_deadline = Some(now + self.config.pong_timeout);
                let nonce = self.ping_nonce;
                self.encode(now, Outbound::Ping { nonce });
            }
            _ => self.last_rx = self.last_rx.max(now),
        }
    }
}

fn failure_kind(kind: FailureKind) -> ErrorKind {
    match kind {
        FailureKind::Network | FailureKind::Timeout => ErrorKind::Network,
        FailureKind::Auth => ErrorKind::Auth,
        FailureKind::Protocol => ErrorKind::Protocol,
        FailureKind::RateLimited => ErrorKind::RateLimited,
        FailureKind::ServerRestart | FailureKind::Initializing | FailureKind::Server => {
            ErrorKind::Server
        }
        _ => ErrorKind::Other,
    }
}

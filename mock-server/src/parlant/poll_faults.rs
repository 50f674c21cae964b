//! Frame faults on Parlant's long-poll (`GET /sessions/{id}/events` without `sse`).
//!
//! A long-polling client has no streaming connection to cut, so each session stands for one:
//! the session's polls form a "connection" that takes the fault plan ([`Faults::conn_plan`],
//! so `once`, `dialect` and the seed work as for streams) at its first poll after a fault set is
//! installed, and every event of every answer counts as one outbound frame, in total across the
//! polls of that connection:
//!
//! - `duplicate_rate`: an event is repeated right after itself within the answer's array;
//! - `reorder_window`: the answer's events are shuffled within consecutive windows of that size
//!   (the last, shorter window too), with the connection's seeded RNG;
//! - `drop_after_frames`: the answer that reaches the limit is streamed as a chunked JSON array
//!   up to the N-th frame in total and the TCP connection is then shut down mid-body (no closing
//!   `]`), so the client sees a transport failure, not a short answer;
//! - `half_open_after_frames`: the answer that reaches the limit is streamed up to the N-th
//!   frame and then stalls: the socket stays open and nothing more is written, until the
//!   connection is killed (restart, shutdown). No poll of that connection ever completes again.
//!
//! After a drop or a half-open stall the connection is over: the client's next poll starts a new
//! one and takes a fresh plan (none when `once` is spent). `delay_ms`/`jitter_ms` are not frame
//! faults here: they delay the whole answer like any plain HTTP response.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::Value;

use crate::conn::ConnCtl;
use crate::dialect::Dialect;
use crate::faults::{ConnPlan, FaultSpec, Faults};
use crate::hub::Conv;

/// One answer of the long-poll after the fault plan was applied.
pub(crate) enum Shaped {
    /// A complete JSON array (possibly with duplicated or reordered events).
    Whole(Vec<Value>),
    /// The first events of the array, then the connection is dropped.
    Dropped(Vec<Value>),
    /// The first events of the array, then silence.
    HalfOpen(Vec<Value>),
}

/// Applies the session's long-poll connection plan to the events of one answer.
pub(crate) fn shape(faults: &Faults, conv: &Arc<Conv>, events: Vec<Value>) -> Shaped {
    let mut polls = POLLS.lock().unwrap_or_else(|e| e.into_inner());
    polls.retain(|p| p.conv.strong_count() > 0);
    let current = faults.current();
    let at = polls
        .iter()
        .position(|p| p.conv.upgrade().is_some_and(|c| Arc::ptr_eq(&c, conv)));
    let at = match at {
        Some(i) if polls[i].spec == current => i,
        found => {
            let fresh = PollConn {
                conv: Arc::downgrade(conv),
                spec: current,
                plan: faults.conn_plan(Dialect::Parlant),
                sent: 0,
            };
            match found {
                Some(i) => {
                    polls[i] = fresh;
                    i
                }
                None => {
                    polls.push(fresh);
                    polls.len() - 1
                }
            }
        }
    };
    let shaped = polls[at].apply(events);
    if !matches!(shaped, Shaped::Whole(_)) {
        // The connection is over; the next poll is a new one.
        polls.swap_remove(at);
    }
    shaped
}

impl Shaped {
    /// The HTTP answer: a plain JSON array, or a chunked body that is cut or stalls.
    pub(crate) fn into_response(self, ctl: Arc<ConnCtl>) -> Response {
        let (events, drop) = match self {
            Shaped::Whole(events) => return axum::Json(Value::Array(events)).into_response(),
            Shaped::Dropped(events) => (events, true),
            Shaped::HalfOpen(events) => (events, false),
        };
        let chunks: Vec<Result<Bytes, std::io::Error>> = events
            .iter()
            .enumerate()
            .map(|(i, e)| Ok(Bytes::from(format!("{}{e}", if i == 0 { "" } else { "," }))))
            .collect();
        let head =
            futures_util::stream::iter(std::iter::once(Ok(Bytes::from_static(b"["))).chain(chunks));
        let tail = futures_util::stream::once(async move {
            if drop {
                // Let hyper put the written events on the socket, then cut it mid-body.
                tokio::time::sleep(Duration::from_millis(20)).await;
                ctl.kill();
            } else {
                ctl.killed().await;
            }
            Err::<Bytes, _>(std::io::Error::other("connection dropped by fault"))
        });
        let mut response = Body::from_stream(head.chain(tail)).into_response();
        response.headers_mut().insert(
            CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        );
        response
    }
}

/// Long-poll "connections" of every live session (of every mock in the process).
static POLLS: Mutex<Vec<PollConn>> = Mutex::new(Vec::new());

/// The fault state of one session's long-poll connection.
struct PollConn {
    conv: Weak<Conv>,
    /// The fault set the plan was taken from (a different set starts a new connection).
    spec: Option<FaultSpec>,
    plan: ConnPlan,
    /// Frames answered so far on this connection.
    sent: u64,
}

enum Limit {
    Go,
    Drop,
    HalfOpen,
}

impl PollConn {
    fn limit(&self) -> Limit {
        if self.plan.half_open_after.is_some_and(|n| self.sent >= n) {
            Limit::HalfOpen
        } else if self.plan.drop_after.is_some_and(|n| self.sent >= n) {
            Limit::Drop
        } else {
            Limit::Go
        }
    }

    fn apply(&mut self, mut events: Vec<Value>) -> Shaped {
        let window = self.plan.reorder_window;
        if window > 1 {
            for chunk in events.chunks_mut(window) {
                // Fisher-Yates with the connection's RNG, as the streaming writer does.
                for i in (1..chunk.len()).rev() {
                    let j = (self.plan.rng.next_u64() % (i as u64 + 1)) as usize;
                    chunk.swap(i, j);
                }
            }
        }
        let mut out = Vec::with_capacity(events.len());
        for event in events {
            let copies = if self.plan.rng.chance(self.plan.duplicate_rate) {
                2
            } else {
                1
            };
            for _ in 0..copies {
                if let Some(cut) = self.cut(&mut out) {
                    return cut;
                }
                out.push(event.clone());
                self.sent += 1;
            }
        }
        self.cut(&mut out).unwrap_or(Shaped::Whole(out))
    }

    fn cut(&self, out: &mut Vec<Value>) -> Option<Shaped> {
        match self.limit() {
            Limit::Go => None,
            Limit::Drop => Some(Shaped::Dropped(std::mem::take(out))),
            Limit::HalfOpen => Some(Shaped::HalfOpen(std::mem::take(out))),
        }
    }
}

//! The engine-owned deadlines of HTTP requests: drivers and hosts set no timer of their own on a
//! request, they only abort one when the engine says so (`Output::CancelHttp`).
//!
//! Two rules, both checked on every `handle` and reported through `poll_timeout`:
//! - **No response**: an SSE request (`ResponseKind::Sse`) must get its response headers within
//!   the connect timeout (`Config::connect_timeout`, 10 s by default). An event stream answers
//!   with its headers before any event, so silence means the connection never came up; some HTTP
//!   stacks (Node's `fetch`) can leave such a request pending forever after the server resets
//!   the connection. Long-polls and other full responses are not held to it: a server may answer
//!   them only when its wait ends.
//! - **Total**: a request with `timeout_ms` (`HttpSpec::timeout_ms`) must end within it.
//!
//! When one passes, the engine forgets the request, outputs `CancelHttp` for it, and hands the
//! dialect `HttpFailed` with an error saying which deadline passed; the dialect decides what the
//! failure means (typically a network failure and a reconnect with backoff).

use super::{Engine, Handle, HttpDeadline, HttpLate};
use crate::dialect::{ResponseKind, TransportEvent};
use crate::ids::RequestId;
use crate::io::Output;
use crate::time::Instant;
use std::time::Duration;

impl Engine {
    /// The earliest deadline of a live request.
    pub(super) fn next_http_deadline(&self) -> Option<Instant> {
        self.live
            .values()
            .filter_map(|h| match h {
                Handle::Http {
                    deadline: Some(d), ..
                } => Some(d.at),
                _ => None,
            })
            .min()
    }

    /// Fails every live request whose deadline passed at `now`.
    pub(super) fn http_deadlines(&mut self, now: Instant) {
        let due: Vec<(u64, HttpLate)> = self
            .live
            .iter()
            .filter_map(|(id, h)| match h {
                Handle::Http {
                    deadline: Some(d), ..
                } if now >= d.at => Some((*id, d.why)),
                _ => None,
            })
            .collect();
        for (id, why) in due {
            // An earlier failure in this loop may have torn the request down already.
            if self.live.remove(&id).is_none() {
                continue;
            }
            let id = RequestId(id);
            self.outputs.push_back(Output::CancelHttp { id });
            let error = match why {
                HttpLate::NoResponse(ms) => format!("no response within {ms} ms"),
                HttpLate::Total(ms) => format!("timed out after {ms} ms"),
            };
            self.forward(now, TransportEvent::HttpFailed { id, error: &error });
        }
    }
}

/// The deadline of a request issued at `now`: the earlier of the two rules that apply to it.
pub(super) fn http_deadline(
    now: Instant,
    kind: ResponseKind,
    connect_timeout_ms: u128,
    timeout_ms: Option<u64>,
) -> Option<HttpDeadline> {
    let connect_ms = u64::try_from(connect_timeout_ms).unwrap_or(u64::MAX);
    let no_response = (kind == ResponseKind::Sse).then_some(HttpLate::NoResponse(connect_ms));
    let total = timeout_ms.map(HttpLate::Total);
    [no_response, total]
        .into_iter()
        .flatten()
        .map(|why| {
            let ms = match why {
                HttpLate::NoResponse(ms) | HttpLate::Total(ms) => ms,
            };
            HttpDeadline {
                at: now + Duration::from_millis(ms),
                why,
            }
        })
        .min_by_key(|d| d.at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::{
        Actions, Capabilities, ConnectContext, Dialect, Failure, HttpSpec, Outbound,
    };
    use crate::io::Input;
    use crate::{Config, ConnectionState, DialectError};

    /// Connects with one SSE stream (ready once its headers arrive); a failed stream is a
    /// network failure.
    struct Stream;

    impl Dialect for Stream {
        fn name(&self) -> &'static str {
            "stream"
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::none()
        }
        fn connect(&mut self, _cx: &ConnectContext<'_>, out: &mut Actions) {
            out.http(HttpSpec::get("http://x/stream").sse());
        }
        fn on_transport(&mut self, ev: TransportEvent<'_>, out: &mut Actions) {
            match ev {
                TransportEvent::HttpResponse { .. } => {
                    out.connected();
                    out.ready();
                }
                TransportEvent::HttpFailed { error, .. } => out.fail(Failure::network(error)),
                _ => {}
            }
        }
        fn encode(&mut self, _: Outbound<'_>, _: &mut Actions) -> Result<(), DialectError> {
            Err(DialectError::Unsupported("nothing to send"))
        }
    }

    /// Connects at 0 ms; returns the engine and the stream request's id.
    fn connecting() -> (Engine, RequestId) {
        let config = Config {
            connect_timeout: Duration::from_secs(10),
            ..Config::default()
        };
        let mut engine = Engine::new(config, Box::new(Stream)).unwrap();
        engine.connect(Instant::ZERO).unwrap();
        let mut stream = None;
        while let Some(o) = engine.poll_output() {
            if let Output::HttpRequest(r) = o {
                assert!(r.timeout_ms.is_none());
                stream = Some(r.id);
            }
        }
        (engine, stream.unwrap())
    }

    #[test]
    fn an_sse_request_without_headers_is_cancelled_and_failed_by_the_engine() {
        let (mut engine, stream) = connecting();
        assert_eq!(engine.poll_timeout(), Some(Instant::from_millis(10_000)));
        engine
            .handle(Instant::from_millis(10_000), Input::Timeout)
            .unwrap();
        let outputs: Vec<Output> = std::iter::from_fn(|| engine.poll_output()).collect();
        assert!(
            outputs
                .iter()
                .any(|o| matches!(o, Output::CancelHttp { id } if *id == stream)),
            "{outputs:?}"
        );
        assert!(matches!(
            engine.state(),
            ConnectionState::Reconnecting { attempt: 1, .. }
        ));
        // A late answer to the cancelled request is ignored.
        let late = Input::HttpResponse {
            id: stream,
            status: 200,
            headers: vec![],
            body: vec![],
        };
        engine.handle(Instant::from_millis(10_001), late).unwrap();
        assert!(matches!(
            engine.state(),
            ConnectionState::Reconnecting { .. }
        ));
    }

    #[test]
    fn response_headers_lift_the_no_response_deadline() {
        let (mut engine, stream) = connecting();
        let headers = Input::HttpResponse {
            id: stream,
            status: 200,
            headers: vec![],
            body: vec![],
        };
        engine.handle(Instant::from_millis(9_999), headers).unwrap();
        assert_eq!(engine.state(), ConnectionState::Ready);
        assert_eq!(engine.next_http_deadline(), None);
        engine
            .handle(Instant::from_millis(20_000), Input::Timeout)
            .unwrap();
        assert_eq!(engine.state(), ConnectionState::Ready);
        assert!(
            !std::iter::from_fn(|| engine.poll_output())
                .any(|o| matches!(o, Output::CancelHttp { .. }))
        );
    }

    #[test]
    fn sse_waits_for_headers_within_the_connect_timeout_and_full_responses_do_not() {
        let t0 = Instant::from_millis(5);
        let sse = http_deadline(t0, ResponseKind::Sse, 10_000, None).unwrap();
        assert_eq!(sse.at, Instant::from_millis(10_005));
        assert!(matches!(sse.why, HttpLate::NoResponse(10_000)));
        assert!(http_deadline(t0, ResponseKind::Full, 10_000, None).is_none());
        assert!(http_deadline(t0, ResponseKind::Stream, 10_000, None).is_none());
    }

    #[test]
    fn the_earlier_of_the_two_deadlines_wins() {
        let t0 = Instant::ZERO;
        let short = http_deadline(t0, ResponseKind::Sse, 10_000, Some(3_000)).unwrap();
        assert!(matches!(short.why, HttpLate::Total(3_000)));
        let long = http_deadline(t0, ResponseKind::Sse, 10_000, Some(120_000)).unwrap();
        assert!(matches!(long.why, HttpLate::NoResponse(10_000)));
        let full = http_deadline(t0, ResponseKind::Full, 10_000, Some(45_000)).unwrap();
        assert_eq!(full.at, Instant::from_millis(45_000));
    }
}

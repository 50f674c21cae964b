//! Engine tests for request-based transports: one-shot HTTP and SSE streams, driven through a
//! small test dialect (health check, then an SSE stream; messages are POSTed and acked by the
//! response).

use super::*;
use crate::dialect::{
    Actions, Capabilities, ConnectContext, Decoded, Dialect, Failure, HttpSpec, Liveness, Outbound,
    TransportEvent,
};
use crate::event::{DeliveryStatus, Event, Role, TurnErrorCode};
use crate::ids::{DedupKey, RequestId};
use crate::io::HttpRequest;
use crate::{Cursor, DialectError};
use std::time::Duration;

#[derive(Default)]
struct Rest {
    health: Option<RequestId>,
    stream: Option<RequestId>,
    posts: Vec<(RequestId, ClientId)>,
    last_id: Option<String>,
}

impl Dialect for Rest {
    fn name(&self) -> &'static str {
        "rest"
    }
    fn capabilities(&self) -> Capabilities {
        let mut c = Capabilities::none();
        c.acks = true;
        c.resume = true;
        c.liveness = Liveness::Idle;
        c
    }
    fn connect(&mut self, cx: &ConnectContext<'_>, out: &mut Actions) {
        self.last_id = cx.resume.map(|c| c.as_str().to_string());
        self.health = Some(out.http(HttpSpec::get("http://x/health")));
    }
    fn on_transport(&mut self, ev: TransportEvent<'_>, out: &mut Actions) {
        match ev {
            TransportEvent::HttpResponse {
                id,
                status,
                headers,
                ..
            } if Some(id) == self.health => {
                if status != 200 {
                    return out.fail(Failure::from_http_status(status, headers, "health"));
                }
                out.connected();
                let mut spec = HttpSpec::get("http://x/stream").sse();
                if let Some(last) = &self.last_id {
                    spec = spec.header("Last-Event-ID", last.clone());
                }
                self.stream = Some(out.http(spec));
            }
            TransportEvent::HttpResponse { id, .. } if Some(id) == self.stream => out.ready(),
            TransportEvent::HttpResponse { id, status, .. } => {
                if let Some(i) = self.posts.iter().position(|(r, _)| *r == id) {
                    let (_, client_id) = self.posts.remove(i);
                    if status == 200 {
                        out.ack(client_id, None);
                    }
                }
            }
            TransportEvent::SseEvent { event, .. } => {
                let id = event.id.clone().unwrap_or_default();
                let mut d = Decoded::new(Event::Message {
                    role: Role::Assistant,
                    content: event.data.clone(),
                    metadata: None,
                })
                .dedup(DedupKey::Id(id.clone()))
                .cursor(Cursor::new(id));
                if event.event == "turn" {
                    d = d.turn("t-1");
                }
                out.emit(d);
            }
            TransportEvent::HttpEnd { .. } | TransportEvent::HttpFailed { .. } => {
                out.end_open_turns(TurnErrorCode::Eof, "stream ended");
                out.fail(Failure::network("stream ended"));
            }
            _ => {}
        }
    }
    fn encode(&mut self, cmd: Outbound<'_>, out: &mut Actions) -> Result<(), DialectError> {
        match cmd {
            Outbound::Message {
                client_id, text, ..
            } => {
                let body = serde_json::json!({ "text": text, "idempotency_key": client_id });
                let id = out.http(HttpSpec::post_json("http://x/messages", &body));
                self.posts.push((id, client_id));
                Ok(())
            }
            _ => Err(DialectError::Unsupported("only messages")),
        }
    }
}

struct H {
    engine: Engine,
    now: Instant,
    requests: Vec<HttpRequest>,
    cancelled: Vec<RequestId>,
    events: Vec<Event>,
}

impl H {
    fn new() -> H {
        H::with(Config::default())
    }
    fn with(config: Config) -> H {
        let engine = Engine::new(config, Box::new(Rest::default())).unwrap();
        H {
            engine,
            now: Instant::ZERO,
            requests: Vec::new(),
            cancelled: Vec::new(),
            events: Vec::new(),
        }
    }
    fn drain(&mut self) {
        while let Some(o) = self.engine.poll_output() {
            match o {
                Output::HttpRequest(r) => self.requests.push(r),
                Output::CancelHttp { id } => self.cancelled.push(id),
                Output::Event(e) => self.events.push(e.event),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    fn input(&mut self, input: Input) {
        self.engine.handle(self.now, input).unwrap();
        self.drain();
    }
    fn last_request(&self) -> RequestId {
        self.requests.last().unwrap().id
    }
    fn respond(&mut self, id: RequestId, status: u16) {
        self.input(Input::HttpResponse {
            id,
            status,
            headers: vec![],
            body: vec![],
        });
    }
    fn chunk(&mut self, id: RequestId, bytes: &[u8]) {
        self.input(Input::HttpChunk {
            id,
            bytes: bytes.to_vec(),
        });
    }
    fn messages(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Message { content, .. } => Some(content.clone()),
                _ => None,
            })
            .collect()
    }
    /// Connects through health check and stream; returns the stream's id.
    fn ready(&mut self) -> RequestId {
        self.engine.connect(self.now).unwrap();
        self.drain();
        let health = self.last_request();
        self.respond(health, 200);
        assert_eq!(self.engine.state(), ConnectionState::Connected);
        let stream = self.last_request();
        self.respond(stream, 200);
        assert_eq!(self.engine.state(), ConnectionState::Ready);
        stream
    }
}

#[test]
fn health_then_sse_stream_with_events_split_anywhere() {
    let mut h = H::new();
    let stream = h.ready();
    let req = &h.requests[1];
    assert!(req.streaming && !h.requests[0].streaming);
    assert!(
        req.headers
            .iter()
            .any(|(k, v)| k == "Accept" && v == "text/event-stream")
    );
    h.chunk(stream, b"id: 1\ndata: hel");
    assert!(h.messages().is_empty());
    h.chunk(
        stream,
        b"lo\n\nid: 1\ndata: hello\n\nid: 2\r\ndata: world\r\n\r\n",
    );
    assert_eq!(h.messages(), ["hello", "world"]); // id 1 repeated: dropped
    assert_eq!(h.engine.cursor().map(Cursor::as_str), Some("2"));
}

#[test]
fn repeated_event_is_counted_and_delivered_once() {
    let mut h = H::new();
    let stream = h.ready();
    assert_eq!(h.engine.stats().duplicates_dropped, 0);
    h.chunk(stream, b"id: 1\ndata: hello\n\n");
    let delivered = h.engine.stats().events;
    h.chunk(stream, b"id: 1\ndata: hello\n\nid: 1\ndata: hello\n\n");
    assert_eq!(h.engine.stats().duplicates_dropped, 2);
    assert_eq!(
        h.engine.stats().events,
        delivered,
        "no envelope for a repeat"
    );
    h.chunk(stream, b"id: 2\ndata: hello\n\n");
    assert_eq!(h.messages(), ["hello", "hello"], "the new event 2 only");
    assert_eq!(h.engine.stats().duplicates_dropped, 2);
}

#[test]
fn messages_are_posted_and_acked_by_the_response() {
    let mut h = H::new();
    h.ready();
    let id = h.engine.send(h.now, "hi").unwrap();
    h.drain();
    let post = h.requests.last().unwrap().clone();
    assert_eq!(post.method, crate::Method::Post);
    let body: serde_json::Value = serde_json::from_slice(&post.body).unwrap();
    assert_eq!(body["idempotency_key"], id.to_string());
    h.respond(post.id, 200);
    assert!(h.events.contains(&Event::MessageStatus {
        client_id: id,
        status: DeliveryStatus::Acked,
        server_id: None
    }));
}

#[test]
fn idle_stream_reconnects_cancelling_it_and_resumes_with_last_event_id() {
    let mut h = H::new();
    let stream = h.ready();
    h.chunk(stream, b"id: 7\ndata: x\n\n");
    h.now = h.now + Duration::from_secs(45);
    h.input(Input::Timeout);
    assert!(matches!(
        h.engine.state(),
        ConnectionState::Reconnecting { .. }
    ));
    assert_eq!(h.cancelled, [stream]);
    // a late chunk of the cancelled stream is ignored
    let n = h.events.len();
    h.chunk(stream, b"id: 8\ndata: late\n\n");
    assert_eq!(h.events.len(), n);
    let t = h.engine.poll_timeout().unwrap();
    h.now = t;
    h.input(Input::Timeout);
    let health = h.last_request();
    h.respond(health, 200);
    let resumed = h.requests.last().unwrap();
    assert!(
        resumed
            .headers
            .iter()
            .any(|(k, v)| k == "Last-Event-ID" && v == "7")
    );
}

#[test]
fn end_of_stream_ends_open_turns_and_reconnects() {
    let mut h = H::new();
    let stream = h.ready();
    h.chunk(
        stream,
        b"event: turn\nid: 1\ndata: partial\n\ndata: unterminated",
    );
    h.input(Input::HttpEnd { id: stream });
    let failed = h
        .events
        .iter()
        .any(|e| matches!(e, Event::TurnFailed { error } if error.code == TurnErrorCode::Eof));
    assert!(failed, "{:?}", h.events);
    assert_eq!(h.messages(), ["partial"]);
    assert!(matches!(
        h.engine.state(),
        ConnectionState::Reconnecting { .. }
    ));
}

#[test]
fn oversized_stream_line_is_refused() {
    let mut h = H::new();
    h.engine = Engine::new(
        Config {
            max_frame_bytes: 32,
            ..Config::default()
        },
        Box::new(Rest::default()),
    )
    .unwrap();
    let stream = h.ready();
    h.chunk(stream, &[b'x'; 40]);
    assert!(h.cancelled.contains(&stream));
    assert!(
        h.events
            .iter()
            .any(|e| matches!(e, Event::Error { code: Some(c), .. } if c == "frame_too_large"))
    );
    assert!(matches!(
        h.engine.state(),
        ConnectionState::Reconnecting { .. }
    ));
}

#[test]
fn oversized_stream_event_is_refused_even_when_it_arrives_whole() {
    for body in [
        format!("data: {}\n\n", "x".repeat(40)),
        "data: xxxxxxxxxx\n".repeat(5) + "\n",
    ] {
        let mut h = H::new();
        h.engine = Engine::new(
            Config {
                max_frame_bytes: 32,
                ..Config::default()
            },
            Box::new(Rest::default()),
        )
        .unwrap();
        let stream = h.ready();
        h.chunk(stream, body.as_bytes());
        assert!(h.cancelled.contains(&stream), "{body:?}");
        assert!(
            h.events
                .iter()
                .any(|e| matches!(e, Event::Error { code: Some(c), .. } if c == "frame_too_large")),
            "{body:?}: {:?}",
            h.events
        );
        assert!(h.messages().is_empty(), "never delivered: {body:?}");
    }
}

#[test]
fn rate_limited_health_check_waits_for_retry_after() {
    let mut h = H::new();
    h.engine.connect(h.now).unwrap();
    h.drain();
    let health = h.last_request();
    h.input(Input::HttpResponse {
        id: health,
        status: 429,
        headers: vec![("Retry-After".into(), "9".into())],
        body: vec![],
    });
    let ConnectionState::Reconnecting { delay, .. } = h.engine.state() else {
        panic!("{:?}", h.engine.state())
    };
    assert!(delay >= Duration::from_secs(9));
}

/// The health check answers 503 with `retry_after`; returns the state afterwards.
fn unavailable(config: Config, retry_after: &str) -> H {
    let mut h = H::with(config);
    h.engine.connect(h.now).unwrap();
    h.drain();
    let health = h.last_request();
    h.input(Input::HttpResponse {
        id: health,
        status: 503,
        headers: vec![("Retry-After".into(), retry_after.into())],
        body: vec![],
    });
    h
}

/// 2015-10-21T07:28:00Z, the wall-clock anchor of the date tests.
const WALL: u64 = 1_445_412_480_000;

/// Finding 5 of issue 8: a `Retry-After` HTTP-date is a wait from the wall-clock anchor (asked
/// for 10 s, the client used to retry after its own 5 s).
#[test]
fn retry_after_as_an_http_date_is_honoured() {
    let config = Config {
        unix_ms_at_epoch: WALL,
        ..Config::default()
    };
    let h = unavailable(config, "Wed, 21 Oct 2015 07:28:10 GMT");
    let ConnectionState::Reconnecting { delay, .. } = h.engine.state() else {
        panic!("{:?}", h.engine.state())
    };
    assert!(
        delay >= Duration::from_secs(10) && delay <= Duration::from_secs(12),
        "{delay:?}"
    );
    // a date in the past asks for no wait: the context floor applies (initializing >= 2 s)
    let config = Config {
        unix_ms_at_epoch: WALL,
        ..Config::default()
    };
    let h = unavailable(config, "Wed, 21 Oct 2015 07:00:00 GMT");
    let ConnectionState::Reconnecting { delay, .. } = h.engine.state() else {
        panic!("{:?}", h.engine.state())
    };
    assert!(delay < Duration::from_secs(3), "{delay:?}");
}

/// A hint above `max_retry_after` (a year, or a date next week) is not a silent wait: the app
/// learns when the backend will be back and the client stops in `Failed`.
#[test]
fn retry_after_beyond_the_maximum_tells_the_app_and_fails() {
    for (hint, wait_ms) in [
        ("31536000", 31_536_000_000u64),
        ("Wed, 28 Oct 2015 07:28:00 GMT", 7 * 86_400_000),
    ] {
        let config = Config {
            unix_ms_at_epoch: WALL,
            ..Config::default()
        };
        let h = unavailable(config, hint);
        let notice = h.events.iter().find_map(|e| match e {
            Event::BackendUnavailable {
                until_ms,
                retry_after_ms,
                message,
            } => Some((*until_ms, *retry_after_ms, message.clone())),
            _ => None,
        });
        let (until, after, message) = notice.expect("a BackendUnavailable event");
        assert_eq!((until, after), (WALL + wait_ms, wait_ms), "{hint}");
        assert!(message.contains("503"), "{message}");
        let states: Vec<ConnectionState> = h
            .events
            .iter()
            .filter_map(|e| match e {
                Event::StateChanged { to, .. } => Some(*to),
                _ => None,
            })
            .collect();
        assert_eq!(
            states,
            [ConnectionState::Connecting, ConnectionState::Failed],
            "{hint}: no waiting state in between"
        );
    }
    // at the maximum it is still waited out
    let config = Config {
        max_retry_after: Duration::from_secs(60),
        ..Config::default()
    };
    let h = unavailable(config, "60");
    assert!(matches!(
        h.engine.state(),
        ConnectionState::Reconnecting { .. }
    ));
}

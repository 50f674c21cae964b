//! Engine tests of `ordered_sends` with the real REST dialects (chat-interfaces, parlant): each
//! message is a POST of its own, and a burst of messages must reach the server in send order.
//! The engine keeps one message POST in flight, hands over the next only once the previous one
//! is answered, and after a failure re-sends the cut message before the ones behind it.

use super::*;
use crate::dialect::chat_interfaces::ChatInterfaces;
use crate::dialect::parlant::Parlant;
use crate::event::{DeliveryStatus, Event};
use crate::ids::RequestId;
use crate::io::{HttpRequest, Method};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// A scripted answer: status and body.
type Answer = (u16, Vec<u8>);

/// One REST backend, scripted: how its connection requests are answered and how a message POST
/// is recognised and acked.
struct Backend {
    dialect: fn() -> Box<dyn Dialect>,
    /// The answer to a connection request (`None`: leave it pending, e.g. a long-poll).
    setup: fn(&HttpRequest) -> Option<Answer>,
    is_message: fn(&HttpRequest) -> bool,
    /// The success answer to the `n`-th message POST.
    ack: fn(u64) -> Vec<u8>,
}

const CHAT_INTERFACES: Backend = Backend {
    dialect: || Box::new(ChatInterfaces::new("http://ci")),
    setup: |r| {
        if r.method == Method::Post && r.url.ends_with("/sessions") {
            Some((201, br#"{"sessionToken":"st-1","sessionId":"s1"}"#.to_vec()))
        } else if r.url.contains("/stream?") {
            Some((200, Vec::new()))
        } else {
            None
        }
    },
    is_message: |r| r.method == Method::Post && r.url.ends_with("/messages"),
    ack: |n| {
        json!({"executionId": format!("e{n}"), "threadId": "t1"})
            .to_string()
            .into()
    },
};

const PARLANT: Backend = Backend {
    dialect: || Box::new(Parlant::new("http://parlant")),
    setup: |r| {
        let create = r.method == Method::Post && r.url.contains("/sessions?allow_greeting");
        create.then(|| (201, br#"{"id":"s1","agent_id":"demo-agent"}"#.to_vec()))
    },
    is_message: |r| r.method == Method::Post && r.url.contains("/events?moderation"),
    ack: |n| {
        json!({"id": format!("e{n}"), "source": "customer", "kind": "message", "offset": n,
            "creation_utc": "2025-01-20T10:00:00Z", "data": {"message": "m"}})
        .to_string()
        .into()
    },
};

struct H {
    backend: Backend,
    engine: Engine,
    now: Instant,
    requests: Vec<HttpRequest>,
    /// Requests answered, failed or cancelled.
    done: BTreeSet<RequestId>,
    events: Vec<Event>,
    acks: u64,
}

impl H {
    fn new(backend: Backend) -> H {
        let engine = Engine::new(Config::default(), (backend.dialect)()).unwrap();
        H {
            backend,
            engine,
            now: Instant::ZERO,
            requests: Vec::new(),
            done: BTreeSet::new(),
            events: Vec::new(),
            acks: 0,
        }
    }

    fn drain(&mut self) {
        while let Some(o) = self.engine.poll_output() {
            match o {
                Output::HttpRequest(r) => self.requests.push(r),
                Output::CancelHttp { id } => {
                    self.done.insert(id);
                }
                Output::Event(e) => self.events.push(e.event),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    fn input(&mut self, input: Input) {
        self.engine.handle(self.now, input).unwrap();
        self.drain();
    }

    fn respond(&mut self, id: RequestId, status: u16, body: Vec<u8>) {
        self.done.insert(id);
        let headers = vec![];
        self.input(Input::HttpResponse {
            id,
            status,
            headers,
            body,
        });
    }

    /// Answers the connection requests until the engine is ready.
    fn connect(&mut self) {
        loop {
            let next = self.requests.iter().find_map(|r| {
                let open = !self.done.contains(&r.id);
                open.then(|| (self.backend.setup)(r).map(|a| (r.id, a)))
                    .flatten()
            });
            let Some((id, (status, body))) = next else {
                break;
            };
            self.respond(id, status, body);
        }
        assert_eq!(self.engine.state(), ConnectionState::Ready);
    }

    /// Message POSTs sent and not yet answered: (request, text).
    fn outstanding(&self) -> Vec<(RequestId, String)> {
        self.message_posts()
            .into_iter()
            .filter(|(id, _)| !self.done.contains(id))
            .collect()
    }

    /// Every message POST so far, in the order it left: (request, text).
    fn message_posts(&self) -> Vec<(RequestId, String)> {
        self.requests
            .iter()
            .filter(|r| (self.backend.is_message)(r))
            .map(|r| {
                let body: Value = serde_json::from_slice(&r.body).unwrap();
                (r.id, body["message"].as_str().unwrap().to_string())
            })
            .collect()
    }

    /// Acks the only outstanding message POST, which must carry `text`.
    fn ack_only(&mut self, text: &str) {
        let outstanding = self.outstanding();
        assert_eq!(
            outstanding.len(),
            1,
            "one message POST in flight: {outstanding:?}"
        );
        assert_eq!(outstanding[0].1, text);
        self.acks += 1;
        let body = (self.backend.ack)(self.acks);
        self.respond(outstanding[0].0, 201, body);
    }

    fn statuses(&self, id: ClientId) -> Vec<DeliveryStatus> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::MessageStatus {
                    client_id, status, ..
                } if *client_id == id => Some(status.clone()),
                _ => None,
            })
            .collect()
    }
}

/// Three messages sent back to back leave one POST at a time, each once the previous one is
/// answered; a POST cut by a failure is re-sent first after reconnecting.
fn burst_is_posted_one_at_a_time_in_send_order(backend: Backend) {
    let mut h = H::new(backend);
    h.engine.connect(h.now).unwrap();
    h.drain();
    h.connect();
    let ids: Vec<ClientId> = ["m1", "m2", "m3"]
        .iter()
        .map(|t| h.engine.send(h.now, *t).unwrap())
        .collect();
    h.drain();
    assert_eq!(h.outstanding().len(), 1, "{:?}", h.outstanding());
    assert_eq!(h.statuses(ids[1]), [DeliveryStatus::Queued], "not sent yet");
    h.ack_only("m1");
    assert_eq!(h.statuses(ids[1]).last(), Some(&DeliveryStatus::Sent));
    assert_eq!(h.statuses(ids[2]), [DeliveryStatus::Queued]);

    // m2's POST fails: after the backoff, m2 goes again before m3.
    let (m2, _) = h.outstanding()[0].clone();
    h.done.insert(m2);
    let error = "connection reset".to_string();
    h.input(Input::HttpFailed { id: m2, error });
    assert!(matches!(
        h.engine.state(),
        ConnectionState::Reconnecting { .. }
    ));
    h.now = h.engine.poll_timeout().unwrap();
    h.input(Input::Timeout);
    h.connect();
    h.ack_only("m2");
    h.ack_only("m3");
    assert!(h.outstanding().is_empty());

    let order: Vec<String> = h.message_posts().into_iter().map(|(_, t)| t).collect();
    assert_eq!(order, ["m1", "m2", "m2", "m3"]);
    for id in ids {
        use DeliveryStatus::*;
        assert_eq!(h.statuses(id), [Queued, Sent, Acked], "each settles once");
    }
}

#[test]
fn chat_interfaces_posts_a_burst_one_at_a_time_in_send_order() {
    burst_is_posted_one_at_a_time_in_send_order(CHAT_INTERFACES);
}

#[test]
fn parlant_posts_a_burst_one_at_a_time_in_send_order() {
    burst_is_posted_one_at_a_time_in_send_order(PARLANT);
}

#[test]
fn a_rejected_message_releases_the_next_one() {
    let mut h = H::new(CHAT_INTERFACES);
    h.engine.connect(h.now).unwrap();
    h.drain();
    h.connect();
    let bad = h.engine.send(h.now, "bad").unwrap();
    let next = h.engine.send(h.now, "next").unwrap();
    h.drain();
    let (post, text) = h.outstanding()[0].clone();
    assert_eq!(text, "bad");
    let body = br#"{"success":false,"error":{"code":"INVALID","message":"no"}}"#.to_vec();
    h.respond(post, 400, body);
    assert!(matches!(
        h.statuses(bad).last(),
        Some(DeliveryStatus::Failed { .. })
    ));
    assert_eq!(h.engine.state(), ConnectionState::Ready);
    h.ack_only("next");
    assert_eq!(h.statuses(next).last(), Some(&DeliveryStatus::Acked));
}

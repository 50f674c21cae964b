//! Connection-level faults per dialect, asserted on both sides: HTTP 429 with `Retry-After` and
//! 503 on the first request (or WebSocket upgrade), a half-open connection found by the
//! heartbeat (or, without one, by the stalled request's timeout), and queue overflow while the server refuses connections. After each, the reply is
//! exact, each turn ends once, each message reaches the server once (or fails with `Overflow`
//! when the full queue dropped it), and the client keeps working.

#![allow(clippy::unwrap_used)] // tests may unwrap

use chatwire::client::ClientError;
use chatwire::event::{DeliveryStatus, ErrorKind, Event, FailReason};
use chatwire::{ConnectionState, DialectKind};
use chatwire_mock::{FaultSpec, HttpErrorSpec};
use chatwire_tests::*;
use std::time::Duration;

/// The first request of the dialect is answered with `status` (and `Retry-After`); the client
/// reports it, backs off (at least the hint), reconnects and delivers the message once.
async fn http_error_first(
    kind: DialectKind,
    status: u16,
    retry_after_s: Option<u64>,
    expect: ErrorKind,
) {
    let spec = FaultSpec {
        dialect: Some(kind.name().into()),
        http_error: Some(HttpErrorSpec {
            status,
            rate: 1.0,
            retry_after_s,
        }),
        once: Some(true),
        ..FaultSpec::default()
    };
    let (s, mock) = two_exchanges(kind, spec, 30 + u64::from(status)).await;
    let errors: Vec<&ErrorKind> = s
        .log
        .iter()
        .filter_map(|e| match &e.event {
            Event::Error { kind, .. } => Some(kind),
            _ => None,
        })
        .collect();
    assert_eq!(
        errors,
        [&expect],
        "{kind}: one {expect:?} error\n{}",
        s.dump()
    );
    let waits: Vec<Duration> = s
        .log
        .iter()
        .filter_map(|e| match e.event {
            Event::StateChanged {
                to: ConnectionState::Reconnecting { delay, .. },
                ..
            } => Some(delay),
            _ => None,
        })
        .collect();
    assert_eq!(waits.len(), 1, "{kind}: one backoff\n{}", s.dump());
    if let Some(secs) = retry_after_s {
        assert!(
            waits[0] >= Duration::from_secs(secs),
            "{kind}: Retry-After {secs} s honoured, waited {:?}\n{}",
            waits[0],
            s.dump()
        );
    }
    assert_recovered(
        &s,
        &mock,
        &[("hello", "You said: hello"), ("again", "You said: again")],
    );
    s.close().await;
    mock.shutdown().await;
}

async fn rate_limited_with_retry_after(kind: DialectKind) {
    http_error_first(kind, 429, Some(1), ErrorKind::RateLimited).await;
}

async fn service_unavailable(kind: DialectKind) {
    http_error_first(kind, 503, None, ErrorKind::Server).await;
}

/// After 5 frames the server stops reading and writing but keeps the socket open. The
/// client's heartbeat (ping/pong, or the idle timeout of an SSE stream with heartbeats) finds
/// the dead connection; the client reconnects, resumes or retries, and finishes the turn.
async fn half_open_found_by_heartbeat(kind: DialectKind) {
    let mock = spawn_mock(40).await;
    mock.set_faults(FaultSpec {
        half_open_after_frames: Some(5),
        once: Some(true),
        ..FaultSpec::default()
    })
    .unwrap();
    let b = builder(kind, &mock, 40)
        .ping_interval(Duration::from_millis(150))
        .pong_timeout(Duration::from_millis(150))
        .idle_timeout(Duration::from_millis(400));
    // Dialects without a heartbeat find the stalled request by its timeout: Parlant's long-poll
    // allows `wait_for_data` + 15 s (1 s is the smallest wait); an OpenAI completion that stops
    // streaming mid-turn is found by `idle_timeout` (else by its `timeout_ms`).
    let (b, found_by): (_, &[&str]) = match kind {
        DialectKind::Parlant => (b.param("wait_for_data", "1"), &["timed out"]),
        // an OpenAI reply stream that stalls mid-turn is found by `idle_timeout` first
        DialectKind::Openai => (b.param("timeout_ms", "1500"), &["timed out", "idle"]),
        _ => (b, &["ping", "idle"]),
    };
    let mut s = Session::start(b);
    s.exchange("hello").await;
    s.exchange("again").await;
    let timeouts = count(&s.log, |e| {
        matches!(e, Event::Error { kind: ErrorKind::Network, message, .. }
            if found_by.iter().any(|w| message.contains(w)))
    });
    assert_eq!(
        timeouts,
        1,
        "{kind}: the heartbeat found the dead connection\n{}",
        s.dump()
    );
    assert_recovered(
        &s,
        &mock,
        &[("hello", "You said: hello"), ("again", "You said: again")],
    );
    s.close().await;
    mock.shutdown().await;
}

/// A queue of 3 while the server refuses every connection: the 4th message overflows, the
/// oldest message never handed to the transport fails with `Overflow` (once), the other three
/// are delivered once each when the server accepts again, and each is answered.
async fn queue_overflow_while_refused(kind: DialectKind) {
    let mock = spawn_mock(50).await;
    mock.set_faults(FaultSpec {
        refuse_connections_ms: Some(700),
        ..FaultSpec::default()
    })
    .unwrap();
    let mut s = Session::start(builder(kind, &mock, 50).queue_capacity(3));
    let texts = ["q1", "q2", "q3", "q4"];
    let mut receipts = vec![s.send(texts[0]).await];
    s.wait_for("a refused connection", |e| {
        matches!(
            e.event,
            Event::StateChanged {
                to: ConnectionState::Reconnecting { .. },
                ..
            }
        )
    })
    .await;
    for t in &texts[1..] {
        receipts.push(s.send(t).await);
    }
    let overflow = DeliveryStatus::Failed {
        reason: FailReason::Overflow,
    };
    let at = s
        .wait_for(
            "the overflow",
            |e| matches!(&e.event, Event::MessageStatus { status, .. } if *status == overflow),
        )
        .await;
    let Event::MessageStatus {
        client_id: dropped, ..
    } = s.log[at].event
    else {
        unreachable!("matched above")
    };
    let failed = [receipts
        .iter()
        .position(|r| r.client_id() == dropped)
        .unwrap()];
    let verdict = tokio::time::timeout(HANG_GUARD, receipts[failed[0]].acked()).await;
    assert_eq!(
        verdict.unwrap(),
        Err(ClientError::DeliveryFailed(FailReason::Overflow)),
        "{kind}: the receipt of the dropped message says so"
    );
    let delivered: Vec<&str> = (0..texts.len())
        .filter(|i| *i != failed[0])
        .map(|i| texts[i])
        .collect();
    for (i, r) in receipts.iter().enumerate() {
        if i != failed[0] {
            s.settle(r).await;
        }
    }
    while count(&s.log, is_final_terminal) < delivered.len() {
        s.until_answered().await;
    }
    assert_stream_clean(kind, &s.log);
    let overflows = count(
        &s.log,
        |e| matches!(e, Event::MessageStatus { status, .. } if *status == overflow),
    );
    assert_eq!(overflows, 1, "{kind}: one message overflowed\n{}", s.dump());
    let statuses: Vec<&DeliveryStatus> = s
        .log
        .iter()
        .filter_map(|e| match &e.event {
            Event::MessageStatus {
                client_id, status, ..
            } if *client_id == dropped => Some(status),
            _ => None,
        })
        .collect();
    assert_eq!(
        statuses.last(),
        Some(&&DeliveryStatus::Failed {
            reason: FailReason::Overflow
        }),
        "{kind}\n{}",
        s.dump()
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|st| matches!(st, DeliveryStatus::Failed { .. }))
            .count(),
        1,
        "{kind}: the overflow is reported once\n{}",
        s.dump()
    );
    assert!(
        !statuses.contains(&&DeliveryStatus::Sent),
        "{kind}: only a message never handed over is dropped\n{}",
        s.dump()
    );
    let text = assembled_text(&s.log);
    for t in &delivered {
        assert_eq!(
            text.matches(&format!("You said: {t}")).count(),
            1,
            "{kind}: {text:?}"
        );
    }
    assert_received_once(kind, &mock, &delivered);
    s.exchange("after").await;
    assert_eq!(
        assembled_text(s.segment("after")),
        "You said: after",
        "{kind}\n{}",
        s.dump()
    );
    s.close().await;
    mock.shutdown().await;
}

per_dialect!(rate_limited_with_retry_after);
per_dialect!(service_unavailable);
per_dialect!(half_open_found_by_heartbeat: native, miptech, chat_v2, chat_interfaces, parlant, openai);
per_dialect!(queue_overflow_while_refused: native, miptech, chat_v2, chat_interfaces, parlant, openai);

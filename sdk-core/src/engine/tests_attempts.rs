//! The attempt count across `Ready` (issue 8, finding 3): a backend that accepts and then fails
//! every connection gets the backoff and `max_attempts`; a connection that stayed healthy
//! (`stable_after`, or a completed turn) starts the count over. Virtual clock, no sockets.

use super::tests::H;
use super::*;
use crate::event::Event;
use std::time::Duration;

/// Drives a server that fails every connection right after it is usable (welcome, then a
/// reset) for `secs` of virtual time; returns the connections opened.
fn flapping(h: &mut H, secs: u64) -> usize {
    h.send("hello");
    let end = Instant::from_millis(secs * 1000);
    loop {
        if h.engine.state() == ConnectionState::Connecting {
            h.open_and_welcome(0);
            h.drop_socket();
        }
        match h.engine.poll_timeout() {
            Some(t) if t <= end => h.at(t.as_millis()),
            _ => break,
        }
    }
    h.opened
}

/// Runs the timers until the next attempt is connecting, then opens it to `Ready`.
fn next_connection_ready(h: &mut H) {
    while h.engine.state() != ConnectionState::Connecting {
        let t = h.engine.poll_timeout().unwrap();
        h.at(t.as_millis());
    }
    h.open_and_welcome(0);
}

/// Acceptance of issue 8: default settings make at most 6 connections in 60 s against a
/// backend that fails every connection right after it is usable, and then report failure.
#[test]
fn default_config_gives_up_on_a_flapping_backend_within_six_connections() {
    for seed in 0..50 {
        let mut h = H::with(Config {
            seed,
            ..Config::default()
        });
        let opened = flapping(&mut h, 60);
        assert!(opened <= 6, "seed {seed}: {opened} connections in 60 s");
        assert_eq!(h.engine.state(), ConnectionState::Failed, "seed {seed}");
        let attempts: Vec<u32> = h
            .events
            .iter()
            .filter_map(|e| match e.event {
                Event::StateChanged {
                    to: ConnectionState::Reconnecting { attempt, .. },
                    ..
                } => Some(attempt),
                _ => None,
            })
            .collect();
        assert_eq!(
            attempts,
            [1, 2, 3, 4, 5],
            "seed {seed}: attempts keep growing"
        );
    }
}

/// The delays grow like the schedule, not the first-attempt delay over and over.
#[test]
fn a_flapping_backend_gets_growing_delays() {
    let mut h = H::with(Config {
        max_attempts: 100,
        ..Config::default()
    });
    let opened = flapping(&mut h, 60);
    let delays: Vec<Duration> = h
        .events
        .iter()
        .filter_map(|e| match e.event {
            Event::StateChanged {
                to: ConnectionState::Reconnecting { delay, .. },
                ..
            } => Some(delay),
            _ => None,
        })
        .collect();
    assert!(opened <= 6, "{opened} connections in 60 s");
    // the schedule (1, 2, 4, 8, 16 s, +-20 %, network floor 3 s), not the first delay again
    assert!(delays[3] >= Duration::from_millis(6_400), "{delays:?}");
    assert!(delays[4] >= Duration::from_millis(12_800), "{delays:?}");
}

#[test]
fn a_connection_healthy_for_the_stable_period_starts_the_count_over() {
    let mut h = H::new();
    flapping(&mut h, 5); // a few quick failures
    let ConnectionState::Reconnecting { attempt, .. } = h.engine.state() else {
        panic!("{:?}", h.engine.state());
    };
    assert!(attempt >= 2);
    next_connection_ready(&mut h);
    let id = h.sent_of("send")[0]["client_id"].clone();
    h.server(serde_json::json!({"type":"ack","client_id":id,"message_id":"m1"}));
    // pings keep it alive past the stable period
    let stable_at = h.now.as_millis() + 30_000;
    while h.now.as_millis() < stable_at {
        let next = h.engine.poll_timeout().unwrap().as_millis().min(stable_at);
        h.at(next);
        h.server(serde_json::json!({"type":"pong","nonce":0}));
    }
    assert_eq!(h.engine.state(), ConnectionState::Ready);
    h.drop_socket();
    assert!(
        matches!(
            h.engine.state(),
            ConnectionState::Reconnecting { attempt: 1, .. }
        ),
        "{:?}",
        h.engine.state()
    );
}

#[test]
fn a_completed_turn_proves_the_connection_healthy() {
    let mut h = H::new();
    flapping(&mut h, 5);
    next_connection_ready(&mut h);
    h.event(1, "turn_started", serde_json::json!({}));
    h.event(
        2,
        "turn_completed",
        serde_json::json!({"finish_reason":"stop"}),
    );
    h.drop_socket();
    assert!(matches!(
        h.engine.state(),
        ConnectionState::Reconnecting { attempt: 1, .. }
    ));
}

/// A connection that moved the resume cursor on made progress (a resuming dialect reconnecting
/// after a sequence gap): the next attempt starts further on, so it is not a flapping failure.
#[test]
fn a_connection_that_moved_the_cursor_on_starts_the_count_over() {
    let mut h = H::new();
    flapping(&mut h, 5);
    next_connection_ready(&mut h);
    h.event(1, "turn_started", serde_json::json!({}));
    h.drop_socket();
    assert!(matches!(
        h.engine.state(),
        ConnectionState::Reconnecting { attempt: 1, .. }
    ));
    // the replay of that event on the next connection is no progress
    next_connection_ready(&mut h);
    h.event(1, "turn_started", serde_json::json!({}));
    h.drop_socket();
    assert!(matches!(
        h.engine.state(),
        ConnectionState::Reconnecting { attempt: 2, .. }
    ));
}

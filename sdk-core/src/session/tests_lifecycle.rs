//! The lifecycle rules on a virtual clock: offline holds reconnect attempts until online, online
//! reconnects at once, visible after hidden probes, and a late timer probes instead of declaring
//! a working link dead (while a dead one is still found).

use super::*;
use crate::dialect::native::{NativeConfig, NativeDialect};
use crate::io::{CloseReason, Frame};
use std::time::Duration;

const WELCOME: &str = r#"{"type":"welcome","conversation_id":"c-1","last_seq":0,"resumed":true}"#;

fn session() -> Session {
    let dialect = NativeDialect::new(NativeConfig::new("http://localhost:8080", "c-1"));
    Session::new(
        Config::default(),
        Box::new(dialect),
        SessionOptions::default(),
    )
    .unwrap()
}

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn drain(s: &mut Session) -> Vec<SessionOutput> {
    std::iter::from_fn(|| s.poll()).collect()
}

fn opened(outputs: &[SessionOutput]) -> Option<crate::ids::ConnId> {
    outputs.iter().find_map(|o| match o {
        SessionOutput::Transport(Transport::OpenSocket { conn, .. }) => Some(*conn),
        _ => None,
    })
}

fn texts(outputs: &[SessionOutput]) -> Vec<String> {
    outputs
        .iter()
        .filter_map(|o| match o {
            SessionOutput::Transport(Transport::SendText { text, .. }) => Some(text.clone()),
            _ => None,
        })
        .collect()
}

/// A session whose socket is open and welcomed at `now`.
fn ready(now: Instant) -> (Session, crate::ids::ConnId) {
    let mut s = session();
    s.handle(now, Command::Connect.into()).unwrap();
    let conn = opened(&drain(&mut s)).expect("socket");
    s.handle(now, Input::SocketOpened { conn }.into()).unwrap();
    let welcome = Input::SocketFrame {
        conn,
        frame: Frame::Text(WELCOME.into()),
    };
    s.handle(now, welcome.into()).unwrap();
    drain(&mut s);
    assert_eq!(s.state(), ConnectionState::Ready);
    (s, conn)
}

fn lost(s: &mut Session, now: Instant, conn: crate::ids::ConnId) {
    let closed = Input::SocketClosed {
        conn,
        reason: CloseReason::refused(None, "network down"),
    };
    s.handle(now, closed.into()).unwrap();
    drain(s);
}

#[test]
fn offline_holds_every_attempt_and_online_reconnects_at_once() {
    let (mut s, conn) = ready(at(0));
    s.handle(at(10), SessionInput::Lifecycle(Lifecycle::Offline))
        .unwrap();
    assert!(drain(&mut s).is_empty(), "a live connection is left alone");
    lost(&mut s, at(20), conn);
    assert!(matches!(s.state(), ConnectionState::Reconnecting { .. }));
    assert_eq!(s.poll_timeout(), None, "no timer while offline");
    // Even a timer the host had armed before does not start an attempt.
    for ms in [5_000, 60_000, 600_000] {
        s.handle(at(ms), SessionInput::Timeout).unwrap();
        assert!(opened(&drain(&mut s)).is_none(), "no attempt at {ms} ms");
    }
    assert!(matches!(s.state(), ConnectionState::Reconnecting { .. }));
    s.handle(at(600_001), SessionInput::Lifecycle(Lifecycle::Online))
        .unwrap();
    assert!(opened(&drain(&mut s)).is_some(), "online: reconnect now");
    assert_eq!(s.state(), ConnectionState::Connecting);
}

#[test]
fn online_leaves_a_live_or_lazy_client_alone() {
    let mut lazy = session();
    lazy.handle(at(0), SessionInput::Lifecycle(Lifecycle::Online))
        .unwrap();
    assert!(drain(&mut lazy).is_empty());
    assert_eq!(lazy.state(), ConnectionState::Disconnected);
    let (mut live, _) = ready(at(0));
    live.handle(at(1), SessionInput::Lifecycle(Lifecycle::Offline))
        .unwrap();
    live.handle(at(2), SessionInput::Lifecycle(Lifecycle::Online))
        .unwrap();
    assert!(opened(&drain(&mut live)).is_none());
    assert_eq!(live.state(), ConnectionState::Ready);
}

#[test]
fn visible_after_hidden_pings_at_once() {
    let (mut s, _) = ready(at(0));
    s.handle(at(1_000), SessionInput::Lifecycle(Lifecycle::Visible))
        .unwrap();
    assert!(texts(&drain(&mut s)).is_empty(), "never hidden: nothing");
    s.handle(at(2_000), SessionInput::Lifecycle(Lifecycle::Hidden))
        .unwrap();
    s.handle(at(3_000), SessionInput::Lifecycle(Lifecycle::Visible))
        .unwrap();
    let sent = texts(&drain(&mut s));
    assert!(
        sent.len() == 1 && sent[0].contains(r#""type":"ping""#),
        "{sent:?}"
    );
}

#[test]
fn a_late_timer_probes_instead_of_declaring_the_link_dead() {
    let config = Config::default();
    let (mut s, conn) = ready(at(0));
    // On time: the ping goes out after the ping interval.
    let ping_at = config.ping_interval;
    let due = s.poll_timeout().expect("ping timer");
    assert_eq!(due, Instant::ZERO + ping_at);
    s.handle(due, SessionInput::Timeout).unwrap();
    assert_eq!(texts(&drain(&mut s)).len(), 1, "the ping");
    // The host sleeps through the pong deadline and wakes a minute later.
    let pong_due = s.poll_timeout().expect("pong timer");
    let woke = pong_due + Duration::from_secs(60);
    s.handle(woke, SessionInput::Timeout).unwrap();
    let out = drain(&mut s);
    assert_eq!(
        s.state(),
        ConnectionState::Ready,
        "not declared dead: {out:?}"
    );
    assert_eq!(texts(&out).len(), 1, "a fresh ping probes the link");
    // Any frame proves it; without one, the probe's own timeout finds a dead link.
    let probe_due = s.poll_timeout().expect("probe timer");
    assert_eq!(probe_due, woke + config.pong_timeout);
    s.handle(probe_due, SessionInput::Timeout).unwrap();
    drain(&mut s);
    assert!(
        matches!(s.state(), ConnectionState::Reconnecting { .. }),
        "{:?}",
        s.state()
    );
    let _ = conn;
}

#[test]
fn a_timer_on_time_is_not_a_sleep() {
    let config = Config::default();
    let (mut s, _) = ready(at(0));
    let due = s.poll_timeout().unwrap();
    s.handle(due, SessionInput::Timeout).unwrap();
    drain(&mut s);
    // The pong deadline passes by less than LATE_TIMER: the link is dead.
    let pong_due = s.poll_timeout().unwrap();
    assert_eq!(pong_due, due + config.pong_timeout);
    s.handle(pong_due + Duration::from_millis(100), SessionInput::Timeout)
        .unwrap();
    drain(&mut s);
    assert!(matches!(s.state(), ConnectionState::Reconnecting { .. }));
}

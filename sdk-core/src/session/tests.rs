//! Session rules on a virtual clock: header and bearer injection, token refresh after an auth
//! failure with an immediate reconnect, receipts that end once, discard, and close ordering.

use super::*;
use crate::dialect::native::{NativeConfig, NativeDialect};
use crate::event::{DeliveryStatus, FailReason};
use crate::ids::ConnId;
use crate::io::{CloseReason, Frame};
use std::time::Duration;

fn session(token_provider: bool) -> Session {
    let dialect = NativeDialect::new(NativeConfig::new("http://localhost:8080", "c-1"));
    let options = SessionOptions {
        headers: vec![
            ("X-Trace".into(), "on".into()),
            ("authorization".into(), "Basic replaced".into()),
        ],
        token_provider,
    };
    Session::new(Config::default(), Box::new(dialect), options).unwrap()
}

fn drain(s: &mut Session) -> Vec<SessionOutput> {
    std::iter::from_fn(|| s.poll()).collect()
}

fn opened(outputs: &[SessionOutput]) -> Option<(ConnId, Vec<(String, String)>)> {
    outputs.iter().find_map(|o| match o {
        SessionOutput::Transport(Transport::OpenSocket { conn, headers, .. }) => {
            Some((*conn, headers.clone()))
        }
        _ => None,
    })
}

fn frame(s: &mut Session, now: Instant, conn: ConnId, text: &str) {
    let input = Input::SocketFrame {
        conn,
        frame: Frame::Text(text.into()),
    };
    s.handle(now, input.into()).unwrap();
}

const WELCOME: &str = r#"{"type":"welcome","conversation_id":"c-1","last_seq":0,"resumed":true}"#;

#[test]
fn headers_are_set_once_and_the_configured_ones_win() {
    let mut s = session(false);
    s.handle(Instant::ZERO, Command::Connect.into()).unwrap();
    let (_, headers) = opened(&drain(&mut s)).expect("socket");
    let auth: Vec<_> = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        .collect();
    assert_eq!(auth.len(), 1);
    assert_eq!(auth[0].1, "Basic replaced");
    assert!(headers.contains(&("X-Trace".into(), "on".into())));
}

#[test]
fn a_provider_token_also_travels_in_the_first_frame() {
    // native reads the token from `hello` as well as from the upgrade header: a browser
    // WebSocket cannot set the header, so the provider's token must reach the frame too.
    let mut s = session(true);
    let now = Instant::ZERO;
    s.handle(now, Command::Connect.into()).unwrap();
    drain(&mut s);
    s.handle(now, SessionInput::Token(Ok("tok-1".into())))
        .unwrap();
    let (conn, _) = opened(&drain(&mut s)).expect("released");
    s.handle(now, Input::SocketOpened { conn }.into()).unwrap();
    let hello = drain(&mut s)
        .into_iter()
        .find_map(|o| match o {
            SessionOutput::Transport(Transport::SendText { text, .. }) => Some(text),
            _ => None,
        })
        .expect("hello");
    assert!(hello.contains(r#""token":"tok-1""#), "{hello}");
}

#[test]
fn an_auth_failure_fetches_one_fresh_token_and_reconnects_at_once() {
    let mut s = session(true);
    let mut now = Instant::ZERO;
    s.handle(now, Command::Connect.into()).unwrap();
    let out = drain(&mut s);
    assert_eq!(
        out.iter()
            .filter(|o| **o == SessionOutput::FetchToken)
            .count(),
        1
    );
    assert!(opened(&out).is_none(), "the socket waits for the token");
    s.handle(now, SessionInput::Token(Ok("old".into())))
        .unwrap();
    let (conn, headers) = opened(&drain(&mut s)).expect("released");
    assert!(headers.contains(&("Authorization".into(), "Bearer old".into())));

    // The upgrade is refused with 401: one refresh, no reconnect before the token.
    now = now + Duration::from_millis(5);
    let refused = Input::SocketClosed {
        conn,
        reason: CloseReason::refused(Some(401), "unauthorized"),
    };
    s.handle(now, refused.into()).unwrap();
    let out = drain(&mut s);
    assert!(out.contains(&SessionOutput::FetchToken), "{out:?}");
    assert!(matches!(s.state(), ConnectionState::Reconnecting { .. }));
    s.handle(now, SessionInput::Token(Ok("new".into())))
        .unwrap();
    let (conn, headers) = opened(&drain(&mut s)).expect("reconnected at once, not after backoff");
    assert!(headers.contains(&("Authorization".into(), "Bearer new".into())));
    s.handle(now, Input::SocketOpened { conn }.into()).unwrap();
    frame(&mut s, now, conn, WELCOME);
    drain(&mut s);
    assert_eq!(s.state(), ConnectionState::Ready);
}

#[test]
fn receipts_end_once_and_close_fails_what_is_open_before_closed() {
    let mut s = session(false);
    let now = Instant::ZERO;
    let acked = s.send(now, "one").unwrap();
    let open = s.send(now, "two").unwrap();
    let (conn, _) = opened(&drain(&mut s)).unwrap();
    s.handle(now, Input::SocketOpened { conn }.into()).unwrap();
    frame(&mut s, now, conn, WELCOME);
    let ack = format!(r#"{{"type":"ack","client_id":"{acked}","message_id":"m-1"}}"#);
    frame(&mut s, now, conn, &ack);
    frame(&mut s, now, conn, &ack); // a repeated ack changes nothing
    let statuses: Vec<_> = drain(&mut s)
        .into_iter()
        .filter_map(|o| match o {
            SessionOutput::Status {
                client_id,
                status,
                terminal,
            } if client_id == acked => Some((status, terminal)),
            _ => None,
        })
        .collect();
    assert_eq!(
        statuses,
        [(DeliveryStatus::Sent, false), (DeliveryStatus::Acked, true)],
        "Queued was drained with the socket request"
    );
    assert_eq!(
        s.discard(now, open),
        Err(EngineError::AlreadySent { client_id: open })
    );

    s.close(now).unwrap();
    let out = drain(&mut s);
    assert_eq!(out.last(), Some(&SessionOutput::Closed));
    let terminal: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            SessionOutput::Status {
                client_id,
                status,
                terminal: true,
            } => Some((*client_id, status.clone())),
            _ => None,
        })
        .collect();
    let closed = DeliveryStatus::Failed {
        reason: FailReason::Closed,
    };
    assert_eq!(terminal, [(open, closed)]);
    let state_at = out
        .iter()
        .position(|o| {
            matches!(
                o,
                SessionOutput::State {
                    to: ConnectionState::Closed,
                    ..
                }
            )
        })
        .expect("Closed state");
    assert!(state_at < out.len() - 1);
    let stats = s.stats();
    assert_eq!((stats.sent, stats.acked, stats.failed), (2, 1, 1));
    assert_eq!(s.send(now, "late"), Err(EngineError::Closed));
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn a_provider_error_releases_held_operations_without_a_token() {
    let mut s = session(true);
    s.send(Instant::ZERO, "hi").unwrap();
    drain(&mut s);
    s.handle(Instant::ZERO, SessionInput::Token(Err("down".into())))
        .unwrap();
    let (_, headers) = opened(&drain(&mut s)).expect("released");
    assert!(
        headers.iter().all(|(_, v)| !v.starts_with("Bearer")),
        "no bearer without a token: {headers:?}"
    );
}

#[test]
fn close_drops_operations_still_waiting_for_the_token() {
    let mut s = session(true);
    let id = s.send(Instant::ZERO, "hi").unwrap();
    drain(&mut s);
    s.close(Instant::ZERO).unwrap();
    let out = drain(&mut s);
    assert!(opened(&out).is_none());
    assert!(out.contains(&SessionOutput::Status {
        client_id: id,
        status: DeliveryStatus::Failed {
            reason: FailReason::Closed
        },
        terminal: true
    }));
    s.handle(Instant::ZERO, SessionInput::Token(Ok("late".into())))
        .unwrap();
    assert_eq!(drain(&mut s), Vec::new(), "nothing after Closed");
}

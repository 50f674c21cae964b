//! Hostile servers: each behaves the same bad way on every connection (an oversized frame or
//! event, a frame that is not UTF-8, an HTML 500 page, a close right after `welcome`, a redirect
//! to itself, plain TCP where TLS was asked for), or sends a `Retry-After` as an HTTP date or as
//! a year. The client must report a typed error, make a bounded number of attempts (at most
//! `max_attempts + 1` connections, then `Failed` and the message failed), wait what a
//! `Retry-After` asks, however it is written, and tell the app (`BackendUnavailable`) instead
//! of waiting a year silently.
//!
//! `bad_input.rs` covers one bad frame in an otherwise healthy conversation (the client goes
//! on); here the server never gets better, so what is tested is that the client gives up.

#![allow(clippy::unwrap_used)] // tests may unwrap

use chatwire::client::ClientError;
use chatwire::event::{ErrorKind, Event, FailReason};
use chatwire::{ConnectionState, DialectKind};
use chatwire_tests::raw_hostile::{Hostile, HostileServer};
use chatwire_tests::{Session, fast_backoff};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Attempts the clients here may make after the first connection.
const MAX_ATTEMPTS: u32 = 3;

/// A client of `kind` at `url` with short backoff and [`MAX_ATTEMPTS`].
fn session(kind: DialectKind, url: String) -> Session {
    Session::start(
        chatwire::Client::builder(kind, url)
            .seed(7)
            .backoff(fast_backoff())
            .max_attempts(MAX_ATTEMPTS)
            .max_frame_bytes(64 * 1024),
    )
}

/// The `Error` events of a log: kind and message.
fn errors(log: &[chatwire::Envelope]) -> Vec<(ErrorKind, String)> {
    log.iter()
        .filter_map(|e| match &e.event {
            Event::Error { kind, message, .. } => Some((*kind, message.clone())),
            _ => None,
        })
        .collect()
}

/// Sends `hello` to a server that never gets better: the client reports errors of `want` whose
/// message contains `needle`, gives up after at most `MAX_ATTEMPTS + 1` connections (state
/// `Failed`), and fails the message.
async fn gives_up(kind: DialectKind, server: &HostileServer, want: ErrorKind, needle: &str) {
    let mut s = session(kind, server.base_url());
    let receipt = s.send("hello").await;
    s.wait_state("Failed", |st| *st == ConnectionState::Failed)
        .await;
    let status = receipt.acked().await;
    let connections = server.visits().connections.len();
    assert!(
        (1..=MAX_ATTEMPTS as usize + 1).contains(&connections),
        "{kind}: {connections} connections for max_attempts {MAX_ATTEMPTS}\n{}",
        s.dump()
    );
    assert!(
        matches!(
            status,
            Err(ClientError::DeliveryFailed(FailReason::ConnectionFailed))
        ),
        "{kind}: message ended {status:?}"
    );
    let errs = errors(&s.close().await);
    assert!(
        errs.iter().any(|(k, m)| *k == want && m.contains(needle)),
        "{kind}: no {want:?} error mentioning {needle:?} in {errs:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_oversized_frame_on_every_connection() {
    let frames = vec![vec![b'x'; 100 * 1024]];
    let server = HostileServer::start(Hostile::NativeAfterWelcome {
        frames,
        close: false,
    })
    .await;
    gives_up(DialectKind::Native, &server, ErrorKind::Protocol, "limit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_frame_that_is_not_utf8_on_every_connection() {
    let frames = vec![b"{\"type\":\"event\",\"text\":\"\xff\xfe\"}".to_vec()];
    let server = HostileServer::start(Hostile::NativeAfterWelcome {
        frames,
        close: false,
    })
    .await;
    gives_up(DialectKind::Native, &server, ErrorKind::Protocol, "UTF-8").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_close_right_after_welcome_on_every_connection() {
    let server = HostileServer::start(Hostile::NativeAfterWelcome {
        frames: Vec::new(),
        close: true,
    })
    .await;
    gives_up(DialectKind::Native, &server, ErrorKind::Network, "closed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_html_500_on_every_request() {
    let server = HostileServer::start(Hostile::Http {
        head: "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html".into(),
        body: b"<html><body><h1>500 Internal Server Error</h1></body></html>".to_vec(),
        times: usize::MAX,
    })
    .await;
    gives_up(DialectKind::Openai, &server, ErrorKind::Server, "500").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_oversized_event_on_every_request() {
    let mut body = b"data: ".to_vec();
    body.extend(vec![b'x'; 100 * 1024]);
    body.extend(b"\n\n");
    let server = HostileServer::start(Hostile::Http {
        head: "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream".into(),
        body,
        times: usize::MAX,
    })
    .await;
    gives_up(DialectKind::Openai, &server, ErrorKind::Protocol, "limit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_redirect_loop() {
    let server = HostileServer::start(Hostile::Http {
        head: "HTTP/1.1 307 Temporary Redirect\r\nLocation: {self}/v1/chat/completions".into(),
        body: Vec::new(),
        times: usize::MAX,
    })
    .await;
    let mut s = session(DialectKind::Openai, server.base_url());
    let receipt = s.send("hello").await;
    s.wait_state("Failed", |st| *st == ConnectionState::Failed)
        .await;
    assert!(matches!(
        receipt.acked().await,
        Err(ClientError::DeliveryFailed(FailReason::ConnectionFailed))
    ));
    // Every attempt follows at most 10 redirects (reqwest's limit) before it fails.
    let requests = server.visits().requests.len();
    assert!(
        requests <= (MAX_ATTEMPTS as usize + 1) * 11,
        "{requests} requests\n{}",
        s.dump()
    );
    let errs = errors(&s.close().await);
    assert!(
        errs.iter()
            .any(|(k, m)| *k == ErrorKind::Network && m.contains("redirect")),
        "{errs:?}"
    );
}

/// `https://` to a server that speaks plain TCP: a TLS failure, reported as a network error,
/// and a bounded number of attempts.
async fn tls_to_plain_server(kind: DialectKind) {
    let server = HostileServer::start(Hostile::PlainTcp).await;
    let url = server.base_url().replace("http://", "https://");
    let mut s = session(kind, url);
    let receipt = s.send("hello").await;
    s.wait_state("Failed", |st| *st == ConnectionState::Failed)
        .await;
    assert!(matches!(
        receipt.acked().await,
        Err(ClientError::DeliveryFailed(FailReason::ConnectionFailed))
    ));
    let connections = server.visits().connections.len();
    assert!(
        (1..=MAX_ATTEMPTS as usize + 1).contains(&connections),
        "{kind}: {connections} connections\n{}",
        s.dump()
    );
    let errs = errors(&s.close().await);
    assert!(
        errs.iter().any(|(k, _)| *k == ErrorKind::Network),
        "{kind}: {errs:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_https_to_a_plain_tcp_server() {
    tls_to_plain_server(DialectKind::Native).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_https_to_a_plain_tcp_server() {
    tls_to_plain_server(DialectKind::Openai).await;
}

/// RFC 9110 IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) of `t`.
fn http_date(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).unwrap().as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    // civil-from-days (Howard Hinnant's algorithm)
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let names = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{weekday}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        names[(month - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[test]
fn http_dates_are_imf_fixdate() {
    let t = UNIX_EPOCH + Duration::from_secs(784_111_777);
    assert_eq!(http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_as_an_http_date_is_waited() {
    // 4 s ahead, whole seconds: the client must wait at least ~3 s (the floors here are 50 ms).
    let until = SystemTime::now() + Duration::from_secs(4);
    let server = HostileServer::start(Hostile::Http {
        head: format!(
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: {}",
            http_date(until)
        ),
        body: br#"{"error":{"message":"maintenance","type":"server_error"}}"#.to_vec(),
        times: 1,
    })
    .await;
    let mut s = session(DialectKind::Openai, server.base_url());
    s.exchange("hello").await;
    let requests = server.visits().requests;
    assert_eq!(requests.len(), 2, "{}", s.dump());
    let waited = requests[1] - requests[0];
    assert!(
        waited >= Duration::from_millis(2_500),
        "retried after {waited:?}, asked for {}\n{}",
        http_date(until),
        s.dump()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_of_a_year_is_not_waited_silently() {
    let server = HostileServer::start(Hostile::Http {
        head: "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 31536000".into(),
        body: br#"{"error":{"message":"see you next year","type":"server_error"}}"#.to_vec(),
        times: usize::MAX,
    })
    .await;
    let asked_at = SystemTime::now();
    let mut s = session(DialectKind::Openai, server.base_url());
    let receipt = s.send("hello").await;
    // The app is told at once when the backend will be back, in a typed event; the client
    // stops (Failed, the message failed) instead of waiting a year, and asked only once.
    let at = s
        .wait_for("BackendUnavailable", |e| {
            matches!(e.event, Event::BackendUnavailable { .. })
        })
        .await;
    let Event::BackendUnavailable {
        until_ms,
        retry_after_ms,
        message,
    } = &s.log[at].event
    else {
        unreachable!()
    };
    assert_eq!(*retry_after_ms, 31_536_000_000);
    let asked_ms = asked_at.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    let year_later = asked_ms + 31_536_000_000;
    assert!(
        (year_later..year_later + 60_000).contains(until_ms),
        "until_ms {until_ms}, asked at {asked_ms}"
    );
    assert!(message.contains("503"), "{message}");
    s.wait_state("Failed", |st| *st == ConnectionState::Failed)
        .await;
    assert!(matches!(
        receipt.acked().await,
        Err(ClientError::DeliveryFailed(FailReason::ConnectionFailed))
    ));
    assert_eq!(server.visits().requests.len(), 1, "{}", s.dump());
}

/// The issue's acceptance line, in fast motion: "against a server that fails every connection
/// right after it is usable, the CLI with default settings makes at most 6 connections in 60 s
/// and then reports failure". Every setting is the default except the backoff's durations,
/// divided by 50 (the schedule's shape and `max_attempts` are unchanged); the engine's unit tests
/// prove the 60 s bound on a virtual clock. Here a real client against a real server makes at
/// most 6 connections in all and ends `Failed`, its message failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_settings_give_up_on_a_server_that_fails_right_after_welcome() {
    let server = HostileServer::start(Hostile::NativeAfterWelcome {
        frames: Vec::new(),
        close: true,
    })
    .await;
    let d = chatwire::backoff::BackoffPolicy::default();
    let fast_motion = chatwire::backoff::BackoffPolicy {
        base: d.base / 50,
        cap: d.cap / 50,
        restart_max: d.restart_max / 50,
        rate_limit_min: d.rate_limit_min / 50,
        initializing_min: d.initializing_min / 50,
        network_min: d.network_min / 50,
        ..d
    };
    let mut s = Session::start(
        chatwire::Client::builder(DialectKind::Native, server.base_url()).backoff(fast_motion),
    );
    let receipt = s.send("hello").await;
    s.wait_state("Failed", |st| *st == ConnectionState::Failed)
        .await;
    let connections = server.visits().connections.len();
    assert!(
        (1..=6).contains(&connections),
        "{connections} connections\n{}",
        s.dump()
    );
    assert!(
        matches!(
            receipt.acked().await,
            Err(ClientError::DeliveryFailed(FailReason::ConnectionFailed))
        ),
        "{}",
        s.dump()
    );
}

//! Authentication through the client against `chatwire-mock` configured with a bearer token:
//! a static token works, a wrong one ends in `Failed` with an auth error, and a token provider
//! that first hands out a stale token is asked again after the rejection — while the message
//! stays queued and is then delivered exactly once.

#![allow(clippy::unwrap_used)] // tests may unwrap

use chatwire::client::{ClientError, DialectKind};
use chatwire::event::{ErrorKind, Event, FailReason};
use chatwire::{Client, ConnectionState};
use chatwire_mock::MockConfig;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

async fn mock() -> chatwire_mock::MockServer {
    chatwire_mock::spawn(MockConfig::default().seed(9).bearer_token("good"))
        .await
        .unwrap()
}

async fn until_completed(events: &mut chatwire::client::EventStream) -> Vec<Event> {
    let mut seen = Vec::new();
    loop {
        let env = tokio::time::timeout(Duration::from_secs(20), events.recv())
            .await
            .unwrap_or_else(|_| panic!("no end of turn: {seen:#?}"))
            .unwrap();
        let done = env.event.is_turn_terminal();
        seen.push(env.event);
        if done {
            return seen;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_token_is_accepted_and_a_wrong_one_fails_with_an_auth_error() {
    let mock = mock().await;
    let ok = Client::builder(DialectKind::Native, mock.base_url())
        .bearer_token("good")
        .build()
        .unwrap();
    let mut events = ok.events();
    let receipt = ok.send("hello").await.unwrap();
    let seen = until_completed(&mut events).await;
    assert!(matches!(seen.last(), Some(Event::TurnCompleted { .. })));
    assert!(receipt.acked().await.is_ok());
    ok.close().await;

    let bad = Client::builder(DialectKind::Native, mock.base_url())
        .bearer_token("wrong")
        .build()
        .unwrap();
    let mut state = bad.state_watch();
    let mut events = bad.events();
    let receipt = bad.send("hello").await.unwrap();
    assert_eq!(
        receipt.acked().await,
        Err(ClientError::DeliveryFailed(FailReason::ConnectionFailed))
    );
    state
        .wait_for(|s| *s == ConnectionState::Failed)
        .await
        .unwrap();
    let mut auth_errors = 0;
    while let Some(env) = events.try_recv() {
        if matches!(
            env.event,
            Event::Error {
                kind: ErrorKind::Auth,
                ..
            }
        ) {
            auth_errors += 1;
        }
    }
    assert_eq!(auth_errors, 1);
    bad.close().await;
    assert_eq!(mock.received().len(), 1, "only the good client's message");
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_provider_is_asked_again_after_a_rejection_and_nothing_is_lost() {
    let mock = mock().await;
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let client = Client::builder(DialectKind::Native, mock.base_url())
        .token_provider(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    Ok::<_, std::convert::Infallible>("stale".to_string())
                } else {
                    Ok("good".to_string())
                }
            }
        })
        .build()
        .unwrap();
    let mut events = client.events();
    let receipt = client.send("hello").await.unwrap();
    let seen = until_completed(&mut events).await;
    assert!(
        matches!(seen.last(), Some(Event::TurnCompleted { .. })),
        "{seen:#?}"
    );
    assert!(
        seen.iter().any(|e| matches!(
            e,
            Event::Error {
                kind: ErrorKind::Auth,
                ..
            }
        )),
        "the stale token was rejected first"
    );
    assert!(receipt.acked().await.is_ok());
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "one initial fetch, one refresh"
    );
    let received = mock.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].times_received, 1);
    assert!(!format!("{client:?}").contains("good"));
    client.close().await;
    mock.shutdown().await;
}

/// A provider that panics is an answer, not a hang: the first call panics, the client goes on
/// without a token (the mock refuses it), asks again after the auth error and then delivers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_token_provider_does_not_wedge_the_client() {
    let mock = mock().await;
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let client = Client::builder(DialectKind::Native, mock.base_url())
        .token_provider(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    panic!("provider bug");
                }
                Ok::<_, std::io::Error>("good".to_string())
            }
        })
        .build()
        .unwrap();
    let mut events = client.events();
    let receipt = client.send("hello").await.unwrap();
    let seen = until_completed(&mut events).await;
    assert!(matches!(seen.last(), Some(Event::TurnCompleted { .. })));
    assert!(receipt.acked().await.is_ok());
    assert!(
        calls.load(Ordering::SeqCst) >= 2,
        "asked again after the panic"
    );
    client.close().await;
    mock.shutdown().await;
}

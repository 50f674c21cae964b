//! The Rust client against `chatwire-mock`'s native route, over real sockets: a streamed reply
//! assembled exactly, the receipt acked, and the server seeing the message once — also when the
//! connection drops mid-stream and the client resumes.

#![allow(clippy::unwrap_used)] // tests may unwrap

use chatwire::Client;
use chatwire::client::DialectKind;
use chatwire::event::{DeliveryStatus, Envelope, Event, TextUpdate};
use chatwire_mock::{FaultSpec, MockConfig};
use futures_util::StreamExt;

/// Collects events until the first turn-terminal event; returns them all.
async fn until_turn_end(events: &mut chatwire::client::EventStream) -> Vec<Envelope> {
    let mut seen = Vec::new();
    while let Some(env) = events.next().await {
        let done = env.event.is_turn_terminal();
        seen.push(env);
        if done {
            break;
        }
    }
    seen
}

fn assembled_text(events: &[Envelope]) -> String {
    let mut text = String::new();
    for env in events {
        if let Event::TextDelta { update, .. } = &env.event {
            match update {
                TextUpdate::Append { text: t, offset } => {
                    assert_eq!(
                        *offset as usize,
                        text.chars().count(),
                        "offset is the length"
                    );
                    text.push_str(t);
                }
                TextUpdate::Replace { text: t } => text = t.clone(),
                _ => {}
            }
        }
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_happy_path_streams_the_reply_and_acks() {
    let mock = chatwire_mock::spawn(MockConfig::default().seed(1))
        .await
        .unwrap();
    let client = Client::builder(DialectKind::Native, mock.base_url())
        .seed(11)
        .build()
        .unwrap();
    let mut events = client.events();
    let receipt = client.send("hello").await.unwrap();
    let seen = until_turn_end(&mut events).await;
    assert_eq!(assembled_text(&seen), "You said: hello");
    assert!(matches!(
        seen.last().map(|e| &e.event),
        Some(Event::TurnCompleted { .. })
    ));
    assert_eq!(receipt.acked().await, Ok(DeliveryStatus::Acked));
    let seqs: Vec<u64> = seen.iter().map(|e| e.seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "gap-free seq: {seqs:?}"
    );
    let stats = client.stats();
    assert_eq!((stats.sent, stats.acked, stats.failed), (1, 1, 0));
    assert!(client.state().is_ready());

    client.close().await;
    // the stream ends after the close events
    let rest: Vec<Envelope> = events.collect().await;
    assert!(rest.iter().any(|e| matches!(
        e.event,
        Event::StateChanged {
            to: chatwire::ConnectionState::Closed,
            ..
        }
    )));
    assert_eq!(
        client.send("late").await.err(),
        Some(chatwire::client::ClientError::Closed)
    );
    let received = mock.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].times_received, 1);
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_drop_mid_stream_resumes_without_loss_or_duplicates() {
    let mock = chatwire_mock::spawn(MockConfig::default().seed(2))
        .await
        .unwrap();
    mock.set_faults(FaultSpec {
        drop_after_frames: Some(5),
        once: Some(true),
        ..FaultSpec::default()
    })
    .unwrap();
    let client = Client::builder(DialectKind::Native, mock.base_url())
        .seed(12)
        .backoff(fast_backoff())
        .build()
        .unwrap();
    let mut events = client.events();
    let receipt = client.send("hello").await.unwrap();
    let seen = until_turn_end(&mut events).await;
    assert_eq!(assembled_text(&seen), "You said: hello");
    assert!(matches!(
        seen.last().map(|e| &e.event),
        Some(Event::TurnCompleted { .. })
    ));
    assert_eq!(receipt.acked().await, Ok(DeliveryStatus::Acked));
    assert!(
        client.stats().reconnects >= 1,
        "the fault forced a reconnect"
    );
    let terminals = seen.iter().filter(|e| e.event.is_turn_terminal()).count();
    assert_eq!(terminals, 1);
    let received = mock.received();
    assert_eq!(received.len(), 1, "{received:?}");
    client.close().await;
    mock.shutdown().await;
}

fn fast_backoff() -> chatwire::backoff::BackoffPolicy {
    chatwire::backoff::BackoffPolicy {
        base: std::time::Duration::from_millis(50),
        network_min: std::time::Duration::from_millis(50),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_turn_ends_the_turn_once_and_reconnect_now_resumes() {
    let mock = chatwire_mock::spawn(MockConfig::default().seed(4))
        .await
        .unwrap();
    let client = Client::builder(DialectKind::Native, mock.base_url())
        .seed(14)
        .build()
        .unwrap();
    let mut events = client.events();
    // a second subscriber that reads nothing until the end: it must still get every event
    let late = client.events();
    client.send("/slow").await.unwrap();
    while let Some(env) = events.next().await {
        if matches!(env.event, Event::TurnStarted { .. }) {
            break;
        }
    }
    client.cancel_turn().await.unwrap();
    let seen = until_turn_end(&mut events).await;
    assert!(matches!(
        seen.last().map(|e| &e.event),
        Some(Event::TurnCancelled)
    ));

    let mut state = client.state_watch();
    client.reconnect_now().await.unwrap();
    state.wait_for(|s| s.is_ready()).await.unwrap();
    let receipt = client.send("again").await.unwrap();
    let seen = until_turn_end(&mut events).await;
    assert_eq!(assembled_text(&seen), "You said: again");
    assert_eq!(receipt.acked().await, Ok(DeliveryStatus::Acked));
    client.close().await;

    let early: Vec<u64> = events.map(|e| e.seq).collect().await;
    let late: Vec<u64> = late.map(|e| e.seq).collect().await;
    assert_eq!(
        late.len() as u64,
        late.last().copied().unwrap_or(0),
        "no gaps: {late:?}"
    );
    assert!(late.ends_with(&early), "both subscribers saw the same tail");
    assert!(late.len() > 10);
    assert_eq!(mock.received().len(), 2);
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eager_connect_reaches_ready_before_any_send() {
    let mock = chatwire_mock::spawn(MockConfig::default().seed(6))
        .await
        .unwrap();
    let lazy = Client::builder(DialectKind::Native, mock.base_url())
        .build()
        .unwrap();
    let eager = Client::builder(DialectKind::Native, mock.base_url())
        .lazy_connect(false)
        .build()
        .unwrap();
    let mut state = eager.state_watch();
    let ready = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        state.wait_for(|s| s.is_ready()),
    )
    .await
    // drop the watch guard at once: holding it would block the driver's next state update
    .map(|r| r.is_ok());
    assert_eq!(ready, Ok(true));
    assert_eq!(lazy.state(), chatwire::ConnectionState::Disconnected);
    eager.close().await;
    lazy.close().await;
    mock.shutdown().await;
}

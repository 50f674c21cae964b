//! The Rust client against `chatwire-mock` for every dialect, over real sockets: the reply is
//! assembled exactly, the turn completes, the message is acked and reaches the server exactly
//! once — on a clean connection and with the connection dropped after 5 frames.

#![allow(clippy::unwrap_used)] // tests may unwrap

use chatwire::client::{DialectKind, EventStream};
use chatwire::event::{Envelope, Event, Role, TextChannel, TextUpdate};
use chatwire::{Client, ConnectionState};
use chatwire_mock::{FaultSpec, MockConfig};
use std::time::Duration;

/// Events of one exchange, up to the turn that answers the message.
async fn until_answered(events: &mut EventStream) -> Vec<Envelope> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let next = tokio::time::timeout_at(deadline, events.recv()).await;
        let Ok(Some(env)) = next else {
            panic!("turn did not end; events so far: {seen:#?}");
        };
        let done = matches!(
            env.event,
            Event::TurnCompleted { .. } | Event::TurnCancelled
        ) || matches!(&env.event, Event::TurnFailed { error } if !retried(error));
        seen.push(env);
        if done {
            return seen;
        }
    }
}

/// Turn failures after which the engine re-sends the message (the turn is retried).
fn retried(error: &chatwire::event::TurnError) -> bool {
    use chatwire::event::TurnErrorCode::*;
    matches!(error.code, Disconnected | Discontinuity | Eof)
}

/// The assistant text as a UI would show it (appends at offsets, replaces).
/// The reply as the app sees it: streamed deltas, or a complete assistant message (a reply cut
/// by a drop and recovered from the backend's history after the reconnection).
fn assembled_text(events: &[Envelope]) -> String {
    let mut text = String::new();
    for env in events {
        if let Event::Message {
            role: Role::Assistant,
            content,
            ..
        } = &env.event
        {
            text = content.clone();
        }
        if let Event::TextDelta {
            channel: TextChannel::Text,
            update,
        } = &env.event
        {
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

async fn exchange(kind: DialectKind, faults: Option<FaultSpec>, seed: u64) {
    let mock = chatwire_mock::spawn(MockConfig::default().seed(seed))
        .await
        .unwrap();
    if let Some(spec) = faults {
        mock.set_faults(spec).unwrap();
    }
    let backoff = chatwire::backoff::BackoffPolicy {
        base: Duration::from_millis(50),
        network_min: Duration::from_millis(50),
        ..Default::default()
    };
    let client = Client::builder(kind, mock.base_url())
        .seed(seed)
        .backoff(backoff)
        .build()
        .unwrap();
    let mut events = client.events();
    let receipt = client.send("hello").await.unwrap();
    let seen = until_answered(&mut events).await;
    let context = format!("{kind}: {seen:#?}");
    assert_eq!(assembled_text(&seen), "You said: hello", "{context}");
    assert!(
        matches!(
            seen.last().map(|e| &e.event),
            Some(Event::TurnCompleted { .. })
        ),
        "{context}"
    );
    assert!(receipt.acked().await.is_ok(), "{context}");
    let seqs: Vec<u64> = seen.iter().map(|e| e.seq).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{context}");
    let received = mock.received();
    assert_eq!(received.len(), 1, "{kind}: {received:?}");
    assert_eq!(received[0].text, "hello");
    client.close().await;
    assert_eq!(client.state(), ConnectionState::Closed);
    mock.shutdown().await;
}

fn drop_after_5() -> Option<FaultSpec> {
    Some(FaultSpec {
        drop_after_frames: Some(5),
        once: Some(true),
        ..FaultSpec::default()
    })
}

macro_rules! dialect_tests {
    ($($name:ident: $kind:expr, $seed:expr;)*) => {
        mod happy {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    exchange($kind, None, $seed).await;
                }
            )*
        }
        mod dropped_mid_stream {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    exchange($kind, drop_after_5(), $seed).await;
                }
            )*
        }
    };
}

dialect_tests! {
    native: DialectKind::Native, 1;
    miptech: DialectKind::Miptech, 2;
    chat_v2: DialectKind::ChatV2, 3;
    chat_interfaces: DialectKind::ChatInterfaces, 4;
    parlant: DialectKind::Parlant, 5;
    openai: DialectKind::Openai, 6;
    ai_sdk: DialectKind::AiSdk, 7;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_v2_audio_is_transcribed_and_answered_and_text_only_dialects_refuse_it() {
    let mock = chatwire_mock::spawn(MockConfig::default().seed(8))
        .await
        .unwrap();
    let client = Client::builder(DialectKind::ChatV2, mock.base_url())
        .seed(8)
        .build()
        .unwrap();
    let mut events = client.events();
    // 250 ms of a 16 kHz ramp
    let samples: Vec<i16> = (0..4000).map(|i| (i * 8) as i16).collect();
    let receipt = client.send_audio(&samples).await.unwrap();
    let seen = until_answered(&mut events).await;
    let transcript = seen.iter().find_map(|e| match &e.event {
        Event::Transcript {
            text,
            is_final: true,
        } => Some(text.clone()),
        _ => None,
    });
    assert_eq!(
        transcript.as_deref(),
        Some("audio message of 250 ms"),
        "{seen:#?}"
    );
    assert!(matches!(
        seen.last().map(|e| &e.event),
        Some(Event::TurnCompleted { .. })
    ));
    assert!(receipt.acked().await.is_ok());
    client.close().await;

    let text_only = Client::builder(DialectKind::Native, mock.base_url())
        .build()
        .unwrap();
    assert!(matches!(
        text_only.send_audio(&samples).await,
        Err(chatwire::client::ClientError::Unsupported { .. })
    ));
    text_only.close().await;
    mock.shutdown().await;
}

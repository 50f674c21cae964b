//! Faults on the stream, per dialect, asserted on both sides: the connection dropped
//! mid-stream, every frame possibly duplicated, frames reordered, the server restarted
//! mid-turn. After each fault the reply is assembled exactly, every event of the stream appears
//! once, each turn ends exactly once, a dialect that cannot resume says so with exactly one
//! `Discontinuity` per lost connection and retries the turn (its partial text replaced), a
//! follow-up message works, and the server recorded each message once.
//!
//! The mock applies frame faults to streaming connections (WebSockets and SSE streams) and to
//! Parlant's long-poll, where each returned event is a frame counted per session across polls
//! (a drop cuts the answer's body mid-array, duplicates and reorders happen within an answer).

#![allow(clippy::unwrap_used)] // tests may unwrap

use chatwire::DialectKind;
use chatwire::event::{Event, TextUpdate};
use chatwire_mock::FaultSpec;
use chatwire_tests::*;
use std::time::Duration;

/// The streaming connection is cut after 5 frames (once), in the middle of the reply.
async fn drop_mid_stream(kind: DialectKind) {
    let spec = FaultSpec {
        drop_after_frames: Some(5),
        once: Some(true),
        ..FaultSpec::default()
    };
    let (s, mock) = two_exchanges(kind, spec, 20).await;
    assert_eq!(
        s.client.stats().reconnects,
        1,
        "{kind}: the cut forced one reconnect\n{}",
        s.dump()
    );
    assert_recovered(
        &s,
        &mock,
        &[("hello", "You said: hello"), ("again", "You said: again")],
    );
    if resumes(&s.client) {
        // Recovered without sending anything twice: miptech and chat-v2 from their history
        // (issue 8, finding 4), the others from their resume position.
        for r in mock.received() {
            assert_eq!(r.times_received, 1, "{kind}: {r:?}\n{}", s.dump());
        }
    } else {
        // The cut turn is retried: the message re-sent under the same idempotency key (one
        // record, received twice) and the retry's first text replaces the partial text.
        let hello = mock
            .received()
            .into_iter()
            .find(|r| r.text == "hello")
            .unwrap();
        assert_eq!(hello.times_received, 2, "{kind}: {hello:?}");
        let first_text = s
            .segment("hello")
            .iter()
            .rev()
            .find_map(|e| match &e.event {
                Event::TurnStarted { .. } => Some(e.seq),
                _ => None,
            });
        let retry = s
            .segment("hello")
            .iter()
            .filter(|e| Some(e.seq) > first_text)
            .find_map(|e| match &e.event {
                Event::TextDelta { update, .. } => Some(update.clone()),
                _ => None,
            });
        assert!(
            matches!(retry, Some(TextUpdate::Replace { .. })),
            "{kind}: the retry replaces the partial text\n{}",
            s.dump()
        );
    }
    s.close().await;
    mock.shutdown().await;
}

/// Half of all frames are sent twice, on every connection.
async fn duplicated_frames(kind: DialectKind) {
    let spec = FaultSpec {
        duplicate_rate: Some(0.5),
        seed: Some(21),
        ..FaultSpec::default()
    };
    let (s, mock) = two_exchanges(kind, spec, 21).await;
    assert_recovered(
        &s,
        &mock,
        &[("hello", "You said: hello"), ("again", "You said: again")],
    );
    s.close().await;
    mock.shutdown().await;
}

/// Frames are shuffled within windows of 3, on every connection.
async fn reordered_frames(kind: DialectKind) {
    let spec = FaultSpec {
        reorder_window: Some(3),
        seed: Some(22),
        ..FaultSpec::default()
    };
    let (s, mock) = two_exchanges(kind, spec, 22).await;
    assert_recovered(
        &s,
        &mock,
        &[("hello", "You said: hello"), ("again", "You said: again")],
    );
    s.close().await;
    mock.shutdown().await;
}

/// OpenAI chunks carry no sequence number, so a reordered stream cannot be put back in order
/// (a documented limit of the dialect). What must still hold: no text is doubled (the reply's
/// characters, at most once each), each turn ends exactly once, the server saw each message once.
async fn reordered_without_sequence_numbers(kind: DialectKind) {
    let spec = FaultSpec {
        reorder_window: Some(3),
        seed: Some(22),
        ..FaultSpec::default()
    };
    let (s, mock) = two_exchanges(kind, spec, 22).await;
    assert_stream_clean(kind, &s.log);
    for (sent, reply) in [("hello", "You said: hello"), ("again", "You said: again")] {
        let part = s.segment(sent);
        let mut left: Vec<char> = reply.chars().collect();
        for c in assembled_text(part).chars() {
            let i = left.iter().position(|x| *x == c);
            assert!(
                i.is_some(),
                "{kind}: {c:?} is extra in the reply to {sent}\n{}",
                s.dump()
            );
            left.remove(i.unwrap_or_default());
        }
        assert_eq!(count(part, is_final_terminal), 1, "{kind}\n{}", s.dump());
    }
    assert_received_once(kind, &mock, &["hello", "again"]);
    s.close().await;
    mock.shutdown().await;
}

/// OpenAI chunks carry no key (no index, no SSE `id:`): a chunk duplicated on the wire cannot be
/// told from a repeated token, and real backends repeat tokens all the time (" the", "\n\n"), so
/// the codec keeps every chunk (a documented limit of the dialect). What must still hold: every
/// character of the reply arrives, each turn ends exactly once, the server saw each message once,
/// and nothing but turn text is repeated (acks, tool calls, terminals stay single).
async fn duplicated_without_keys(kind: DialectKind) {
    let spec = FaultSpec {
        duplicate_rate: Some(0.5),
        seed: Some(21),
        ..FaultSpec::default()
    };
    let (s, mock) = two_exchanges(kind, spec, 21).await;
    assert_stream_clean(kind, &s.log);
    for (sent, reply) in [("hello", "You said: hello"), ("again", "You said: again")] {
        let part = s.segment(sent);
        let mut got: Vec<char> = assembled_text(part).chars().collect();
        for c in reply.chars() {
            let i = got.iter().position(|x| *x == c);
            assert!(
                i.is_some(),
                "{kind}: {c:?} is missing from the reply to {sent}\n{}",
                s.dump()
            );
            got.remove(i.unwrap_or_default());
        }
        assert_eq!(count(part, is_final_terminal), 1, "{kind}\n{}", s.dump());
    }
    assert_received_once(kind, &mock, &["hello", "again"]);
    s.close().await;
    mock.shutdown().await;
}

/// The server restarts (every connection dropped, new ones refused for 300 ms) while a long
/// reply streams; conversations survive the restart.
async fn restart_mid_turn(kind: DialectKind) {
    let mock = spawn_mock(23).await;
    let mut s = Session::start(builder(kind, &mock, 23));
    let receipt = s.send("/long 12").await;
    s.wait_for("the first text", |e| {
        matches!(e.event, Event::TextDelta { .. })
    })
    .await;
    let dropped = mock.restart_with(Duration::from_millis(300));
    assert!(dropped >= 1, "{kind}: the restart cut a connection");
    s.until_answered().await;
    s.settle(&receipt).await;
    s.exchange("again").await;
    assert!(s.client.stats().reconnects >= 1, "{kind}\n{}", s.dump());
    let long = (1..=12)
        .map(|i| format!("w{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    assert_recovered(
        &s,
        &mock,
        &[("/long 12", &long), ("again", "You said: again")],
    );
    s.close().await;
    mock.shutdown().await;
}

per_dialect!(drop_mid_stream: native, miptech, chat_v2, chat_interfaces, parlant, openai);
per_dialect!(duplicated_frames: native, miptech, chat_v2, chat_interfaces, parlant);
per_dialect!(duplicated_without_keys: openai);
per_dialect!(reordered_frames: native, miptech, chat_v2, chat_interfaces, parlant);
per_dialect!(reordered_without_sequence_numbers: openai);
per_dialect!(restart_mid_turn);

//! Repeated content without a `chunk_index`: the same token twice in one reply is real text and
//! must be delivered twice; a repeat of an `event_id` is a replay and is dropped; a chunk lost in
//! the middle is repaired by `response_complete` with a `Replace` of the full text.

use super::tests::{connect_ready, text};
use super::*;
use crate::dialect::Decoded;
use crate::dialect::codec_kit::testkit::*;
use crate::event::{Event, TextUpdate};
use crate::ids::DedupKey;

/// A ready socket with one message sent and acknowledged as `u1`.
fn acked() -> (Miptech, ConnId, Actions) {
    let mut d = Miptech::new("http://h");
    let (conn, _) = connect_ready(&mut d, None);
    let mut out = actions(100);
    let id = client(1);
    d.encode(
        Outbound::Message {
            client_id: id,
            text: "hello",
            resend: false,
        },
        &mut out,
    )
    .unwrap();
    let received = format!(
        r#"{{"type":"message_received","data":{{"message_id":"u1","client_message_id":"{id}"}}}}"#
    );
    d.on_transport(text(conn, &received), &mut out);
    let start = r#"{"type":"response_start","data":{"message_id":"r1"}}"#;
    d.on_transport(text(conn, start), &mut out);
    out.take();
    (d, conn, out)
}

/// A chunk as the protocol document defines it: no `chunk_index`, maybe an event id.
fn chunk(content: &str, event_id: Option<&str>) -> String {
    let mut v =
        serde_json::json!({"type":"response_chunk","data":{"message_id":"r1","content": content}});
    if let Some(e) = event_id {
        v["eventId"] = e.into();
    }
    v.to_string()
}

fn complete(content: &str) -> String {
    serde_json::json!({"type":"response_complete","data":{"message_id":"r1","reply_to":"u1",
        "content": content,"role":"assistant"}})
    .to_string()
}

fn run(frames: &[String]) -> Vec<Decoded> {
    let (mut d, conn, mut out) = acked();
    for f in frames {
        d.on_transport(text(conn, f), &mut out);
    }
    emitted(&out.take()).into_iter().cloned().collect()
}

fn deltas(ev: &[Decoded]) -> Vec<&Decoded> {
    ev.iter()
        .filter(|d| matches!(d.event, Event::TextDelta { .. }))
        .collect()
}

#[test]
fn the_same_token_twice_without_index_is_delivered_twice() {
    let ev = run(&[
        chunk("Over", None),
        chunk(" the", None),
        chunk(" hill", None),
        chunk(" the", None),
        chunk("\n\n", None),
        chunk("\n\n", None),
        complete("Over the hill the\n\n\n\n"),
    ]);
    let deltas = deltas(&ev);
    assert_eq!(deltas.len(), 6, "every chunk, no tail: {deltas:?}");
    assert_eq!(assembled(&deltas), "Over the hill the\n\n\n\n");
    let keys: std::collections::BTreeSet<_> = deltas
        .iter()
        .map(|d| d.dedup.as_ref().map(DedupKey::fingerprint))
        .collect();
    assert_eq!(keys.len(), 6, "keyed by position, never by content");
}

#[test]
fn a_repeated_event_id_is_a_replay() {
    let ev = run(&[
        chunk(" the", Some("chat_123:1")),
        chunk(" the", Some("chat_123:1")),
        chunk(" the", Some("chat_123:2")),
        complete(" the the"),
    ]);
    let deltas = deltas(&ev);
    assert_eq!(deltas.len(), 2, "the replayed event is dropped: {deltas:?}");
    assert_eq!(assembled(&deltas), " the the");
}

#[test]
fn a_chunk_lost_in_the_middle_is_repaired_by_a_replace() {
    // " said" never arrives
    let ev = run(&[
        chunk("You", None),
        chunk(": hello", None),
        complete("You said: hello"),
    ]);
    let deltas = deltas(&ev);
    assert_eq!(deltas.len(), 3);
    assert!(
        matches!(&deltas[2].event, Event::TextDelta { update: TextUpdate::Replace { text }, .. }
            if text == "You said: hello"),
        "not a tail appended at the wrong offset: {:?}",
        deltas[2]
    );
    assert_eq!(assembled(&deltas), "You said: hello");
}

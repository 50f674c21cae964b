//! Repeated content without an index: the same token twice in one reply and identical audio
//! frames are real data and must all be delivered; a token lost in the middle is repaired by the
//! final message with a `Replace` of the full text.

use super::*;
use crate::dialect::Action;
use crate::dialect::Decoded;
use crate::dialect::codec_kit::testkit::*;
use crate::event::{Event, TextUpdate};
use crate::ids::DedupKey;
use serde_json::json;

fn f(v: serde_json::Value) -> String {
    let mut v = v;
    v["session_id"] = json!("demo-session");
    v.to_string()
}

/// A ready socket with one message sent and acked as `m-1`.
fn acked() -> (ChatV2, ConnId, Actions) {
    let mut d = ChatV2::new("http://127.0.0.1:7");
    let mut out = actions(1);
    d.connect(&ConnectContext::new(1, None), &mut out);
    let (conn, _, _) = opened(&out.take()).unwrap();
    d.on_transport(TransportEvent::SocketOpened { conn }, &mut out);
    let c = client(1);
    d.encode(
        Outbound::Message {
            client_id: c,
            text: "hello",
            resend: false,
        },
        &mut out,
    )
    .unwrap();
    let ack = f(json!({"type":"ack","id": c.to_string(),"message_id":"m-1","duplicate": false}));
    d.on_transport(TransportEvent::SocketText { conn, text: &ack }, &mut out);
    out.take();
    (d, conn, out)
}

/// A token as the protocol document defines it: no index.
fn token(text: &str) -> String {
    f(json!({"type":"token","content": text,"is_final": false,"message_id":"r1"}))
}

fn fin(text: &str) -> String {
    f(
        json!({"type":"message","role":"assistant","content": text,"is_final": true,"message_id":"r1"}),
    )
}

fn feed(d: &mut ChatV2, conn: ConnId, frames: &[String], out: &mut Actions) -> Vec<Action> {
    for text in frames {
        d.on_transport(TransportEvent::SocketText { conn, text }, out);
    }
    out.take()
}

fn deltas<'a>(ev: &[&'a Decoded]) -> Vec<&'a Decoded> {
    ev.iter()
        .copied()
        .filter(|d| matches!(d.event, Event::TextDelta { .. }))
        .collect()
}

#[test]
fn the_same_token_twice_without_index_is_delivered_twice() {
    let (mut d, conn, mut out) = acked();
    let frames = [
        token("Over"),
        token(" the"),
        token(" hill"),
        token(" the"),
        token("\n\n"),
        token("\n\n"),
        fin("Over the hill the\n\n\n\n"),
    ];
    let got = feed(&mut d, conn, &frames, &mut out);
    let ev = emitted(&got);
    let deltas = deltas(&ev);
    assert_eq!(deltas.len(), 6, "every token, no tail: {deltas:?}");
    assert_eq!(assembled(&deltas), "Over the hill the\n\n\n\n");
    let keys: std::collections::BTreeSet<_> = deltas
        .iter()
        .map(|d| d.dedup.as_ref().map(DedupKey::fingerprint))
        .collect();
    assert_eq!(keys.len(), 6, "keyed by position, never by content");
    assert!(ev.iter().any(
        |d| matches!(&d.event, Event::MessageCompleted { text } if text == "Over the hill the\n\n\n\n")
    ));
}

#[test]
fn a_token_lost_in_the_middle_is_repaired_by_a_replace() {
    let (mut d, conn, mut out) = acked();
    // " said" never arrives
    let frames = [token("You"), token(": hello"), fin("You said: hello")];
    let got = feed(&mut d, conn, &frames, &mut out);
    let ev = emitted(&got);
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

#[test]
fn indexed_tokens_still_drop_wire_duplicates() {
    let (mut d, conn, mut out) = acked();
    let tok = |t: &str, i: u64| {
        f(json!({"type":"token","content": t,"is_final": false,"message_id":"r1","index": i}))
    };
    let frames = [tok("a", 0), tok("a", 0), tok("a", 1), fin("aa")];
    let got = feed(&mut d, conn, &frames, &mut out);
    let ev = emitted(&got);
    let deltas = deltas(&ev);
    assert_eq!(deltas.len(), 2, "index 0 twice is one token");
    assert_eq!(assembled(&deltas), "aa");
}

#[test]
fn identical_audio_frames_are_all_delivered() {
    let (mut d, conn, mut out) = acked();
    let silence = f(json!({"type":"audio","format":"pcm16","sample_rate":16000,"data":"AAAA"}));
    let got = feed(
        &mut d,
        conn,
        &[silence.clone(), silence.clone(), silence],
        &mut out,
    );
    let audio: Vec<_> = emitted(&got)
        .into_iter()
        .filter(|d| matches!(d.event, Event::AudioChunk { .. }))
        .collect();
    assert_eq!(audio.len(), 3);
    let keys: std::collections::BTreeSet<_> = audio
        .iter()
        .map(|d| d.dedup.as_ref().map(DedupKey::fingerprint))
        .collect();
    assert_eq!(keys.len(), 3, "repeated silence is not a duplicate");
    // a new connection starts a new generation: its keys do not collide with the old ones
    d.disconnect(Disconnect::Reconnecting, &mut out);
    d.connect(&ConnectContext::new(2, None), &mut out);
    let (conn2, _, _) = opened(&out.take()).unwrap();
    assert_ne!(conn, conn2);
    d.on_transport(TransportEvent::SocketOpened { conn: conn2 }, &mut out);
    let again = f(json!({"type":"audio","format":"pcm16","sample_rate":16000,"data":"AAAA"}));
    let got = feed(&mut d, conn2, &[again], &mut out);
    let next = emitted(&got)
        .into_iter()
        .find(|d| matches!(d.event, Event::AudioChunk { .. }))
        .map(|d| d.dedup.as_ref().map(DedupKey::fingerprint));
    assert!(next.is_some_and(|k| !keys.contains(&k)));
}

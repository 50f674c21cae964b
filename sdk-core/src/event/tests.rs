//! The documented examples in `EVENTS.md` must parse, round-trip exactly, and cover every variant.

use super::*;
use std::collections::BTreeSet;

const DOC: &str = include_str!("../../EVENTS.md");

fn examples() -> Vec<&'static str> {
    DOC.split("```json\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap().trim())
        .collect()
}

#[test]
fn every_documented_example_round_trips() {
    let examples = examples();
    assert!(examples.len() >= 28);
    for text in examples {
        let env: Envelope = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
        let back = serde_json::to_value(&env).unwrap();
        let original: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(back, original, "{text}");
    }
}

#[test]
fn every_variant_is_documented() {
    let documented: BTreeSet<&str> = examples()
        .iter()
        .map(|t| {
            serde_json::from_str::<Envelope>(t)
                .unwrap()
                .event
                .type_name()
        })
        .collect();
    let all = [
        "stateChanged",
        "discontinuity",
        "backendUnavailable",
        "heartbeat",
        "messageStatus",
        "turnStarted",
        "status",
        "turnCompleted",
        "turnCancelled",
        "turnFailed",
        "message",
        "messageStarted",
        "textDelta",
        "messageCompleted",
        "toolStarted",
        "toolArgsDelta",
        "toolProgress",
        "toolCompleted",
        "toolFailed",
        "data",
        "transcript",
        "audioChunk",
        "typing",
        "error",
        "unknown",
    ];
    assert_eq!(documented, all.into_iter().collect());
}

#[test]
fn type_name_matches_the_serde_tag() {
    for text in examples() {
        let env: Envelope = serde_json::from_str(text).unwrap();
        let v = serde_json::to_value(&env.event).unwrap();
        assert_eq!(v["type"], env.event.type_name());
    }
}

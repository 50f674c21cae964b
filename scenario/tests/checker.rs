//! The checker's own tests: a clean trace passes, and traces that lose a message, duplicate an
//! event, end a turn twice, show a wrong text, double a token, skip a result or send a message
//! twice are each rejected with a message that says so. Built from hand-written traces, so each
//! defect is exactly the one named.

#![allow(clippy::unwrap_used)] // tests may unwrap

use chatwire_scenario::check::{ExpectedResults, ServerRecord, judge};
use chatwire_scenario::diff::diff;
use chatwire_scenario::{Scenario, TraceLine};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const ID: &str = "01a23b2b-43c4-7bc2-836f-7fd0c5cf8de0";

fn scenario() -> Scenario {
    Scenario::parse(
        r#"{"name":"unit","options":{"dialect":"native"},
            "steps":[{"op":"send","label":"t1","text":"hi"},{"op":"waitTurnEnd","label":"t1"}],
            "expect":{"labels":{"t1":{"text":"You said: hi","terminal":"turnCompleted","status":"acked"}},
                      "finalState":"ready"}}"#,
    )
    .unwrap()
}

fn line(v: Value) -> TraceLine {
    serde_json::from_value(v).unwrap()
}

/// The events of one clean exchange, without `seq` (numbered by [`numbered`]).
fn events() -> Vec<(Option<&'static str>, Option<&'static str>, Value)> {
    let status = |kind: &str| json!({"type":"messageStatus","clientId":ID,"status":{"kind":kind}});
    let append = |text: &str, offset: u64| json!({"type":"textDelta","channel":"text","update":{"kind":"append","text":text,"offset":offset}});
    vec![
        (None, None, status("queued")),
        (None, None, status("sent")),
        (None, None, status("acked")),
        (
            Some("t-1"),
            None,
            json!({"type":"turnStarted","replyTo":ID}),
        ),
        (
            Some("t-1"),
            Some("m-1"),
            json!({"type":"messageStarted","role":"assistant"}),
        ),
        (Some("t-1"), Some("m-1"), append("You said: ", 0)),
        (Some("t-1"), Some("m-1"), append("hi", 10)),
        (
            Some("t-1"),
            Some("m-1"),
            json!({"type":"messageCompleted","text":"You said: hi"}),
        ),
        (
            Some("t-1"),
            None,
            json!({"type":"turnCompleted","finishReason":"stop"}),
        ),
    ]
}

/// A whole trace around `events`, numbered 1, 2, 3, ...
fn numbered(events: &[(Option<&str>, Option<&str>, Value)]) -> Vec<TraceLine> {
    let mut trace = vec![
        line(json!({"line":"result","id":0,"op":"init","ok":true})),
        line(json!({"line":"state","state":{"kind":"ready"}})),
        line(json!({"line":"result","id":1,"op":"send","label":"t1","ok":true,"clientId":ID})),
    ];
    for (i, (turn, msg, event)) in events.iter().enumerate() {
        let mut env = json!({"seq": i + 1, "timestampMs": 0, "event": event});
        if let Some(t) = turn {
            env["turnId"] = json!(t);
        }
        if let Some(m) = msg {
            env["messageId"] = json!(m);
        }
        trace.push(line(json!({"line":"envelope","envelope":env})));
    }
    trace.push(line(
        json!({"line":"status","label":"t1","clientId":ID,"status":{"kind":"acked"}}),
    ));
    trace.push(line(json!({"line":"step","index":2,"op":"close"})));
    trace.push(line(json!({"line":"end"})));
    trace
}

fn judged(trace: &[TraceLine], server: &[ServerRecord]) -> Vec<String> {
    let mut expected = ExpectedResults::new();
    expected.insert(0, ("init".into(), None));
    expected.insert(1, ("step 1 (send t1)".into(), None));
    let sent = BTreeMap::from([("t1".to_string(), "hi".to_string())]);
    judge(&scenario(), trace, &expected, &sent, Some(server))
}

fn once() -> Vec<ServerRecord> {
    vec![ServerRecord {
        text: "hi".into(),
        times_received: 1,
    }]
}

fn assert_rejected(failures: &[String], needle: &str) {
    assert!(
        failures.iter().any(|f| f.contains(needle)),
        "expected a failure containing {needle:?}, got {failures:#?}"
    );
}

#[test]
fn a_clean_trace_passes() {
    assert_eq!(judged(&numbered(&events()), &once()), Vec::<String>::new());
}

#[test]
fn a_lost_envelope_is_rejected() {
    let mut trace = numbered(&events());
    trace.remove(8); // the envelope with seq 6 ("You said: ")
    let failures = judged(&trace, &once());
    assert_rejected(&failures, "envelope seq 7 follows 5: 1 envelope(s) lost");
    assert_rejected(
        &failures,
        "append \"hi\" at offset 10 but the text so far is 0 characters",
    );
}

#[test]
fn a_message_lost_on_the_way_to_the_server_is_rejected() {
    let failures = judged(&numbered(&events()), &[]);
    assert_rejected(
        &failures,
        "server: message \"t1\" (\"hi\") was reported delivered but never reached the server",
    );
}

#[test]
fn a_message_sent_again_is_rejected() {
    let twice = [ServerRecord {
        text: "hi".into(),
        times_received: 2,
    }];
    let failures = judged(&numbered(&events()), &twice);
    assert_rejected(
        &failures,
        "server: message \"t1\" (\"hi\") received 2 times",
    );
}

#[test]
fn a_duplicated_event_is_rejected() {
    let mut evs = events();
    evs.insert(4, evs[3].clone()); // turnStarted twice
    let failures = judged(&numbered(&evs), &once());
    assert_rejected(
        &failures,
        "turn \"t-1\" started twice (seq 4 and 5): a duplicated event",
    );
}

#[test]
fn a_duplicated_envelope_is_rejected() {
    let mut trace = numbered(&events());
    trace.insert(8, trace[7].clone()); // the same envelope (seq 5) delivered again
    let failures = judged(&trace, &once());
    assert_rejected(
        &failures,
        "envelope seq 5 delivered again after 5 (duplicated envelope)",
    );
}

#[test]
fn a_turn_ended_twice_is_rejected() {
    let mut evs = events();
    evs.push((
        Some("t-1"),
        None,
        json!({"type":"turnFailed","error":{"code":"timeout","message":"late"}}),
    ));
    let failures = judged(&numbered(&evs), &once());
    assert_rejected(
        &failures,
        "turn \"t-1\" ended 2 times: turnCompleted (seq 9), turnFailed (seq 10)",
    );
}

#[test]
fn a_turn_that_never_ends_is_rejected() {
    let mut evs = events();
    evs.pop();
    let failures = judged(&numbered(&evs), &once());
    assert_rejected(&failures, "turn \"t-1\" never ended");
    assert_rejected(&failures, "turn \"t1\": expected turnCompleted, got none");
}

#[test]
fn a_wrong_text_is_rejected() {
    let mut evs = events();
    evs[6].2["update"]["text"] = json!("ho");
    let failures = judged(&numbered(&evs), &once());
    assert_rejected(
        &failures,
        "turn \"t1\": expected text \"You said: hi\", got \"You said: ho\"",
    );
}

#[test]
fn a_doubled_token_is_rejected() {
    let mut evs = events();
    evs.insert(7, evs[6].clone()); // "hi" appended twice at offset 10
    let failures = judged(&numbered(&evs), &once());
    assert_rejected(
        &failures,
        "append \"hi\" at offset 10 but the text so far is 12 characters",
    );
}

#[test]
fn a_missing_result_and_a_wrong_code_are_rejected() {
    let mut trace = numbered(&events());
    trace.remove(2); // no result for the send
    let mut expected = ExpectedResults::new();
    expected.insert(1, ("step 1 (send t1)".into(), None));
    expected.insert(
        2,
        ("step 3 (cancelTurn)".into(), Some("UNSUPPORTED".into())),
    );
    trace.push(line(
        json!({"line":"result","id":2,"op":"cancelTurn","ok":true}),
    ));
    let failures = judge(&scenario(), &trace, &expected, &BTreeMap::new(), None);
    assert_rejected(&failures, "step 1 (send t1): the runner reported no result");
    assert_rejected(
        &failures,
        "step 3 (cancelTurn): expected UNSUPPORTED, got success",
    );
}

#[test]
fn an_unexpected_error_and_a_wrong_state_are_rejected() {
    let mut evs = events();
    evs.push((
        None,
        None,
        json!({"type":"error","kind":"auth","message":"401","retryable":true}),
    ));
    let mut trace = numbered(&evs);
    trace.insert(
        trace.len() - 2,
        line(json!({"line":"state","state":{"kind":"failed"}})),
    );
    let failures = judged(&trace, &once());
    assert_rejected(&failures, "unexpected error event AUTH");
    assert_rejected(
        &failures,
        "expected state \"ready\" before close, got \"failed\"",
    );
}

#[test]
fn diff_agrees_on_the_same_behaviour_and_names_a_difference() {
    let a = numbered(&events());
    let mut evs = events();
    evs[6].2["update"]["text"] = json!("ho");
    let b = numbered(&evs);
    assert_eq!(diff(&a, &a), Vec::<String>::new());
    let differences = diff(&a, &b);
    assert!(
        differences
            .iter()
            .any(|d| d == "message \"t1\": text \"You said: hi\" vs \"You said: ho\""),
        "{differences:#?}"
    );
}

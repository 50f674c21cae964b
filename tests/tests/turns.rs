//! Turns that overlap on the app's stream, over real sockets against `chatwire-mock`: messages
//! queued together are answered by turns that each get their own statuses, text and one end.

#![allow(clippy::unwrap_used)] // tests may unwrap

use chatwire::DialectKind;
use chatwire::event::{AgentStatus, Envelope, Event};
use chatwire_tests::*;

/// Five messages queued at once. Parlant serves a turn's `ready` before the last snapshot of its
/// streamed reply, so the next turn's statuses arrive while the previous one is still held open:
/// each event must still land in the turn of its own message.
async fn overlapping_turns_stay_apart(kind: DialectKind) {
    let mock = spawn_mock(11).await;
    let mut s = Session::start(builder(kind, &mock, 11));
    let texts = ["m1", "m2", "m3", "m4", "m5"];
    let mut receipts = Vec::new();
    for t in texts {
        receipts.push(s.send(t).await);
    }
    for r in &receipts {
        s.settle(r).await;
    }
    while count(&s.log, is_final_terminal) < texts.len() {
        s.until_answered().await;
    }
    assert_stream_clean(kind, &s.log);
    let turns = turns(&s.log);
    assert_eq!(
        turns.len(),
        texts.len(),
        "{kind}: one turn per message\n{}",
        s.dump()
    );
    let mut replies = Vec::new();
    for (turn, ends) in &turns {
        assert!(
            matches!(ends[..], [Event::TurnCompleted { .. }]),
            "{kind}: turn {turn} completed\n{}",
            s.dump()
        );
        let events: Vec<Envelope> = s
            .log
            .iter()
            .filter(|e| e.turn_id.as_deref() == Some(turn))
            .cloned()
            .collect();
        for wanted in ["acknowledged", "processing", "typing"] {
            let n = count(
                &events,
                |e| matches!(e, Event::Status { status } if status_name(status) == wanted),
            );
            assert_eq!(
                n,
                1,
                "{kind}: turn {turn} has one {wanted} status\n{}",
                s.dump()
            );
        }
        replies.push(assembled_text(&events));
    }
    replies.sort();
    let wanted: Vec<String> = texts.iter().map(|t| format!("You said: {t}")).collect();
    assert_eq!(
        replies,
        wanted,
        "{kind}: each turn has its own reply\n{}",
        s.dump()
    );
    s.close().await;
}

fn status_name(status: &AgentStatus) -> &'static str {
    match status {
        AgentStatus::Acknowledged => "acknowledged",
        AgentStatus::Processing { .. } => "processing",
        AgentStatus::Typing => "typing",
        _ => "other",
    }
}

per_dialect!(overlapping_turns_stay_apart: parlant);

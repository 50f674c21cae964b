//! Every dialect on a clean connection, over real sockets against `chatwire-mock`: a streamed
//! reply assembled exactly, a tool call started and completed, every turn ended exactly once,
//! every receipt settled, and the server recording each message once.

#![allow(clippy::unwrap_used)] // tests may unwrap

use chatwire::event::{DeliveryStatus, Event};
use chatwire::{ConnectionState, DialectKind};
use chatwire_tests::*;

/// `hello`, then `/tool`, then `bye` on one client.
async fn conversation(kind: DialectKind) {
    let mock = spawn_mock(10).await;
    let mut s = Session::start(builder(kind, &mock, 10));

    let hello = s.exchange("hello").await;
    assert_eq!(
        assembled_text(&hello),
        "You said: hello",
        "{kind}\n{}",
        dump(&hello)
    );
    let terminals: Vec<&Event> = hello
        .iter()
        .map(|e| &e.event)
        .filter(|e| e.is_turn_terminal())
        .collect();
    assert!(
        matches!(terminals[..], [Event::TurnCompleted { .. }]),
        "{kind}: one TurnCompleted\n{}",
        dump(&hello)
    );
    assert!(
        hello
            .iter()
            .any(|e| matches!(e.event, Event::TurnStarted { .. })),
        "{kind}: the turn starts\n{}",
        dump(&hello)
    );

    let tool = s.exchange("/tool").await;
    check_tool_turn(kind, &tool);

    let bye = s.exchange("bye").await;
    assert_eq!(
        assembled_text(&bye),
        "You said: bye",
        "{kind}\n{}",
        dump(&bye)
    );

    assert_stream_clean(kind, &s.log);
    assert_eq!(turns(&s.log).len(), 3, "{kind}: three turns\n{}", s.dump());
    assert_eq!(discontinuities(&s.log), 0, "{kind}\n{}", s.dump());
    assert!(
        !s.log.iter().any(|e| matches!(e.event, Event::Error { .. })),
        "{kind}: no error on a clean connection\n{}",
        s.dump()
    );
    assert_eq!(s.client.state(), ConnectionState::Ready);
    let stats = s.client.stats();
    assert_eq!(
        (stats.sent, stats.failed, stats.reconnects),
        (3, 0, 0),
        "{kind}: {stats:?}"
    );
    assert_received_once(kind, &mock, &["hello", "/tool", "bye"]);

    let log = s.close().await;
    assert!(
        matches!(
            log.last().map(|e| &e.event),
            Some(Event::StateChanged {
                to: ConnectionState::Closed,
                ..
            })
        ),
        "{kind}: the stream ends with Closed\n{}",
        dump(&log)
    );
    mock.shutdown().await;
}

/// The tool turn: the tool `lookup` starts once and completes once, inside the turn, with the
/// query as arguments; then the reply (OpenAI: the completion ends with `tool_calls` instead).
fn check_tool_turn(kind: DialectKind, log: &[chatwire::Envelope]) {
    let ctx = || format!("{kind}\n{}", dump(log));
    let started: Vec<_> = log
        .iter()
        .filter_map(|e| match &e.event {
            Event::ToolStarted {
                tool_id,
                name,
                args,
            } => Some((
                tool_id.clone(),
                name.clone(),
                args.clone(),
                e.turn_id.clone(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(started.len(), 1, "one tool call: {}", ctx());
    let (tool_id, name, args, turn) = &started[0];
    assert!(name.ends_with("lookup"), "tool name {name}: {}", ctx());
    assert!(
        turn.is_some(),
        "the tool call belongs to the turn: {}",
        ctx()
    );
    let completed: Vec<&serde_json::Value> = log
        .iter()
        .filter_map(|e| match &e.event {
            Event::ToolCompleted {
                tool_id: id,
                output,
            } if id == tool_id => Some(output),
            _ => None,
        })
        .collect();
    assert_eq!(
        completed.len(),
        1,
        "the tool call completes once: {}",
        ctx()
    );
    assert_eq!(
        count(log, |e| matches!(e, Event::ToolFailed { .. })),
        0,
        "{}",
        ctx()
    );
    let query = |v: &serde_json::Value| v["query"].as_str().map(str::to_string);
    let args_query = args
        .as_ref()
        .and_then(query)
        .or_else(|| query(completed[0]));
    assert_eq!(args_query.as_deref(), Some("weather"), "{}", ctx());
    let finish = log.iter().find_map(|e| match &e.event {
        Event::TurnCompleted { finish_reason, .. } => Some(finish_reason.clone()),
        _ => None,
    });
    if kind == DialectKind::Openai {
        assert_eq!(finish, Some(Some("tool_calls".into())), "{}", ctx());
    } else {
        assert_eq!(assembled_text(log), "You said: /tool", "{}", ctx());
        assert!(finish.is_some(), "{}", ctx());
    }
}

/// Five messages sent at once, before the connection exists: all queued, delivered in order,
/// each answered once, each acked.
async fn burst_before_connect(kind: DialectKind) {
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
    // every answer arrives (turns may interleave with acks but each ends once)
    while turns(&s.log)
        .iter()
        .filter(|(_, t)| t.iter().any(is_final_terminal))
        .count()
        < texts.len()
    {
        s.until_answered().await;
    }
    assert_stream_clean(kind, &s.log);
    let text = assembled_text(&s.log);
    for t in texts {
        assert_eq!(
            text.matches(&format!("You said: {t}")).count(),
            1,
            "{kind}: {text:?}"
        );
    }
    for r in &receipts {
        assert!(
            matches!(r.status(), DeliveryStatus::Acked | DeliveryStatus::Sent),
            "{kind}: {:?}",
            r.status()
        );
    }
    assert_received_once(kind, &mock, &texts);
    s.close().await;
    mock.shutdown().await;
}

/// Messages sent back to back reach the server in send order.
async fn burst_keeps_send_order(kind: DialectKind) {
    let mock = spawn_mock(12).await;
    let mut s = Session::start(builder(kind, &mock, 12));
    let texts = ["m1", "m2", "m3", "m4", "m5"];
    let mut receipts = Vec::new();
    for t in texts {
        receipts.push(s.send(t).await);
    }
    for r in &receipts {
        tokio::time::timeout(HANG_GUARD, r.acked())
            .await
            .unwrap()
            .unwrap();
    }
    let received = assert_received_once(kind, &mock, &texts);
    let order: Vec<&str> = received.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(order, texts, "{kind}: the server got them in send order");
    s.close().await;
    mock.shutdown().await;
}

per_dialect!(conversation);
per_dialect!(burst_before_connect);
per_dialect!(burst_keeps_send_order);

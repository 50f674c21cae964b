//! `chatwire demo`: the README's main command. Starts `chatwire-mock` in-process and holds a
//! short conversation on every dialect through injected faults, printing it as it streams, then
//! a summary table checked on both sides (the client's event stream and the server's record of
//! what it received).
//!
//! Every fault is one that really happens to the dialect's transport, and each is logged at
//! `info` (`chatwire -v demo`) as it is injected:
//! - first message (`hello`): the first request is answered `429` with `Retry-After: 1`, then
//!   the first streaming connection (WebSocket, SSE stream or long-poll) is cut abruptly in the
//!   middle of the reply, after the frame that carries its first word (both scoped to the
//!   dialect and fired once);
//! - second message (a tool call): at the first tool or text event of the reply the server
//!   restarts: every connection dropped, new ones refused for 300 ms.
//!
//! No frame is duplicated or reordered: a repeated chunk cannot happen on a TCP stream, and
//! showing one would show a fault no backend produces (an OpenAI stream carries no sequence
//! to tell a repeat from new text). A message counts as lost unless its receipt settled, the
//! server recorded it, and its turn completed with exactly the expected text; as duplicated if
//! the server recorded it twice or its turn ended more than once. The exit code is non-zero if
//! anything was lost or duplicated. "errors seen" counts the `Error` events the faults caused
//! (each one recovered from); "repeats dropped" counts events the backend sent again after a
//! resume that the client's dedup dropped; "re-sent" counts extra copies of a message the
//! server received under the same client id (the mock, like a backend honouring idempotency
//! keys, records and answers them once; OpenAI re-sends a cut turn by design, having no other
//! way to recover it).

use crate::conn::{Outcome, follow_turn};
use crate::render::{Renderer, Style};
use chatwire::Client;
use chatwire::client::DialectKind;
use chatwire::event::{Envelope, Event, Role, TextChannel, TextUpdate};
use chatwire_mock::{FaultSpec, HttpErrorSpec, MockConfig, MockServer};
use clap::Args;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Options of `chatwire demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Only these dialects (comma-separated; default: all seven).
    #[arg(long, value_delimiter = ',')]
    pub dialects: Vec<DialectKind>,
    /// Seed for the mock's faults and the clients' RNGs (same seed, same run).
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Only print the summary table.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// The conversation each dialect holds.
const MESSAGES: [&str; 2] = ["hello", "/tool weather"];
/// Per-turn time limit.
const TURN_LIMIT: Duration = Duration::from_secs(20);
/// The fault injected mid-reply, per message (the first message's cut is a frame fault).
const FAULTS: [Option<MidReply>; 2] = [None, Some(MidReply::Restart)];
/// After the restart, new connections are refused this long.
const RESTART_REFUSE: Duration = Duration::from_millis(300);

/// The first streaming connection is cut after this many frames: on the mock's wire, the frame
/// that carries the first word of the reply to `hello` (measured per dialect; the frames before
/// it are handshakes, acks and status updates, and a Parlant long-poll counts its events).
fn cut_after(kind: DialectKind) -> u64 {
    match kind {
        DialectKind::Native => 8,
        DialectKind::Miptech => 7,
        DialectKind::ChatV2 => 5,
        DialectKind::Parlant => 6,
        DialectKind::ChatInterfaces | DialectKind::Openai => 2,
        // `start`, `start-step`, `text-start`, then the first `text-delta`
        DialectKind::AiSdk => 4,
        _ => 6,
    }
}

/// A fault the demo injects itself at a moment of the reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MidReply {
    /// A server restart at the first tool call or text of the reply.
    Restart,
}

impl MidReply {
    /// Whether `event` is the moment to inject.
    fn due(self, event: &Event) -> bool {
        match self {
            MidReply::Restart => {
                matches!(event, Event::ToolStarted { .. } | Event::TextDelta { .. })
            }
        }
    }

    /// Injects the fault; returns how many connections were dropped.
    fn inject(self, mock: &MockServer, kind: DialectKind) -> usize {
        let refuse = match self {
            MidReply::Restart => RESTART_REFUSE,
        };
        let dropped = mock.restart_with(refuse);
        tracing::info!(
            dialect = kind.name(),
            dropped,
            refuse_ms = u64::try_from(refuse.as_millis()).unwrap_or(u64::MAX),
            "injecting: {}",
            self.describe()
        );
        dropped
    }

    fn describe(self) -> &'static str {
        match self {
            MidReply::Restart => "server restart mid-reply",
        }
    }
}

/// One row of the summary.
#[derive(Debug, Default)]
struct Row {
    dialect: String,
    sent: u64,
    acked: u64,
    events: u64,
    reconnects: u64,
    /// `Error` events the injected faults caused.
    errors_seen: u64,
    /// Inbound repeats the client's dedup dropped (replays after a resume).
    repeats_dropped: u64,
    /// Extra copies of a message the server received under the same client id (re-sends).
    resent: u64,
    lost: u64,
    duplicated: u64,
    notes: Vec<String>,
    secs: f64,
}

/// Runs the demo; the exit code is 0 only if nothing was lost or duplicated.
pub async fn run(args: DemoArgs, style: Style) -> ExitCode {
    let started = Instant::now();
    let mock = match chatwire_mock::spawn(MockConfig::default().seed(args.seed)).await {
        Ok(mock) => mock,
        Err(e) => {
            eprintln!("error: cannot start the mock server: {e}");
            return ExitCode::from(2);
        }
    };
    let dialects = if args.dialects.is_empty() {
        DialectKind::ALL.to_vec()
    } else {
        args.dialects.clone()
    };
    println!(
        "{} — mock server at {}",
        style.bold(&format!("chatwire {} demo", chatwire::version())),
        mock.base_url()
    );
    println!(
        "{}",
        style.dim(
            "faults: 1st message: HTTP 429 (Retry-After 1 s), then the stream cut mid-reply; \
             2nd message: server restart mid-reply"
        )
    );
    let mut rows = Vec::new();
    for (i, kind) in dialects.iter().enumerate() {
        let title = format!("[{}/{}] {kind}", i + 1, dialects.len());
        if !args.quiet {
            println!("\n{}", style.bold(&title));
        } else if style.is_color() {
            eprint!("\r{} ", style.dim(&title));
        }
        rows.push(converse(&mock, *kind, args.seed + i as u64, style, args.quiet).await);
    }
    if args.quiet && style.is_color() {
        eprint!("\r\x1b[2K");
    }
    mock.shutdown().await;
    print_table(&rows, style);
    let lost: u64 = rows.iter().map(|r| r.lost).sum();
    let duplicated: u64 = rows.iter().map(|r| r.duplicated).sum();
    let verdict = format!(
        "{} dialects, {} messages, lost = {lost}, duplicated = {duplicated}, {:.1} s",
        rows.len(),
        rows.iter().map(|r| r.sent).sum::<u64>(),
        started.elapsed().as_secs_f64()
    );
    if lost == 0 && duplicated == 0 {
        println!("{}", style.green(&format!("✓ {verdict}")));
        ExitCode::SUCCESS
    } else {
        println!("{}", style.red(&format!("✗ {verdict}")));
        ExitCode::FAILURE
    }
}

/// The conversation on one dialect.
async fn converse(
    mock: &MockServer,
    kind: DialectKind,
    seed: u64,
    style: Style,
    quiet: bool,
) -> Row {
    let started = Instant::now();
    let mut row = Row {
        dialect: kind.to_string(),
        ..Row::default()
    };
    let faults = FaultSpec {
        dialect: Some(kind.name().to_string()),
        seed: Some(seed),
        drop_after_frames: Some(cut_after(kind)),
        http_error: Some(HttpErrorSpec {
            status: 429,
            rate: 1.0,
            retry_after_s: Some(1),
        }),
        once: Some(true),
        ..FaultSpec::default()
    };
    tracing::info!(
        dialect = kind.name(),
        retry_after_s = 1,
        cut_after_frames = cut_after(kind),
        "injecting: HTTP 429 on the first request, then a cut of the first stream mid-reply"
    );
    if let Err(e) = mock.set_faults(faults) {
        row.notes.push(format!("faults refused: {e}"));
    }
    let backoff = chatwire::backoff::BackoffPolicy {
        base: Duration::from_millis(200),
        network_min: Duration::from_millis(300),
        ..Default::default()
    };
    let client = match Client::builder(kind, mock.base_url())
        .seed(seed)
        .backoff(backoff)
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            row.lost = MESSAGES.len() as u64;
            row.notes.push(e.to_string());
            return row;
        }
    };
    let acks = client.capabilities().acks;
    let mut events = client.events();
    let mut renderer = Renderer::new(style, "  ", false);
    for (n, text) in MESSAGES.iter().enumerate() {
        if !quiet {
            renderer.line(&format!("{} {text}", style.bold("you:")));
        }
        let receipt = match client.send(*text).await {
            Ok(receipt) => receipt,
            Err(e) => {
                row.lost += 1;
                row.notes.push(format!("send: {e}"));
                continue;
            }
        };
        let mut seen = Vec::new();
        let mut fault = FAULTS.get(n).copied().flatten();
        let outcome = follow_turn(&mut events, &receipt, acks, TURN_LIMIT, |env| {
            if !quiet {
                renderer.event(env);
            }
            if let Some(f) = fault.filter(|f| f.due(&env.event)) {
                fault = None;
                let dropped = f.inject(mock, kind);
                if !quiet {
                    renderer.line(&style.yellow(&format!(
                        "⚡ {} ({dropped} connection{} dropped)",
                        f.describe(),
                        if dropped == 1 { "" } else { "s" }
                    )));
                }
            }
            if matches!(env.event, Event::Error { .. }) {
                row.errors_seen += 1;
            }
            seen.push(env.clone());
        })
        .await;
        let settled = tokio::time::timeout(Duration::from_secs(5), receipt.acked()).await;
        // A turn that ends by handing tool calls to the app (OpenAI `finish_reason:
        // "tool_calls"`) has no text of its own; every other turn echoes the message.
        let expected = if ends_with_tool_calls(&seen) {
            String::new()
        } else {
            format!("You said: {text}")
        };
        let answer = final_turn_text(&seen);
        let terminals = terminal_counts(&seen);
        if outcome != Outcome::Completed {
            row.lost += 1;
            row.notes.push(format!("message {}: {outcome:?}", n + 1));
        } else if answer != expected {
            row.lost += 1;
            row.notes.push(format!("message {}: got {answer:?}", n + 1));
        } else if !matches!(settled, Ok(Ok(_))) {
            row.lost += 1;
            row.notes
                .push(format!("message {}: receipt {:?}", n + 1, receipt.status()));
        }
        if terminals.values().any(|&c| c > 1) {
            row.duplicated += 1;
            row.notes
                .push(format!("message {}: a turn ended twice", n + 1));
        }
        if n == 0 {
            mock.clear_faults();
        }
    }
    let stats = client.stats();
    client.close().await;
    row.sent = stats.sent;
    row.acked = stats.acked;
    row.events = stats.events;
    row.reconnects = stats.reconnects;
    row.repeats_dropped = stats.duplicates_dropped;
    check_server_side(mock, kind, &mut row);
    row.secs = started.elapsed().as_secs_f64();
    row
}

/// The server must have recorded each message exactly once.
fn check_server_side(mock: &MockServer, kind: DialectKind, row: &mut Row) {
    let received: Vec<_> = mock
        .received()
        .into_iter()
        .filter(|r| serde_json::to_value(r.dialect).ok() == Some(kind.name().into()))
        .collect();
    for text in MESSAGES {
        let records = received.iter().filter(|r| r.text == text).count();
        row.resent += received
            .iter()
            .filter(|r| r.text == text)
            .map(|r| u64::from(r.times_received.saturating_sub(1)))
            .sum::<u64>();
        match records {
            0 => {
                row.lost += 1;
                row.notes.push(format!("server never received {text:?}"));
            }
            1 => {}
            n => {
                row.duplicated += 1;
                row.notes
                    .push(format!("server recorded {text:?} {n} times"));
            }
        }
    }
}

/// The assistant text of the turn that ended last, as a UI shows it: appends at their offsets,
/// snapshots replacing the text, replies delivered whole (`Message`), messages of the turn in
/// order.
fn final_turn_text(events: &[Envelope]) -> String {
    let turn = events
        .iter()
        .rev()
        .find(|e| e.event.is_turn_terminal())
        .and_then(|e| e.turn_id.clone());
    let mut order: Vec<Option<String>> = Vec::new();
    let mut texts: BTreeMap<Option<String>, String> = BTreeMap::new();
    for env in events
        .iter()
        .filter(|e| turn.is_none() || e.turn_id == turn)
    {
        let key = env.message_id.clone();
        match &env.event {
            Event::TextDelta {
                channel: TextChannel::Text,
                update,
            } => {
                if !texts.contains_key(&key) {
                    order.push(key.clone());
                }
                let text = texts.entry(key).or_default();
                match update {
                    TextUpdate::Append { text: t, .. } => text.push_str(t),
                    TextUpdate::Replace { text: t } => *text = t.clone(),
                    _ => {}
                }
            }
            // A reply delivered whole (nothing of it streamed, e.g. recovered from a history):
            // its text. After streamed text of the same message it is a second copy, and is
            // added as one, so the check sees the reply shown twice.
            Event::Message {
                role: Role::Assistant,
                content,
                ..
            } => {
                if !texts.contains_key(&key) {
                    order.push(key.clone());
                }
                texts.entry(key).or_default().push_str(content);
            }
            _ => {}
        }
    }
    order
        .iter()
        .filter_map(|k| texts.get(k).cloned())
        .collect::<Vec<_>>()
        .join("\n")
}

fn ends_with_tool_calls(events: &[Envelope]) -> bool {
    matches!(
        events.last().map(|e| &e.event),
        Some(Event::TurnCompleted { finish_reason: Some(reason), .. }) if reason == "tool_calls"
    )
}

/// Terminal events per turn id (a turn must end exactly once).
fn terminal_counts(events: &[Envelope]) -> BTreeMap<String, u32> {
    let mut counts = BTreeMap::new();
    for env in events.iter().filter(|e| e.event.is_turn_terminal()) {
        if let Some(turn) = &env.turn_id {
            *counts.entry(turn.clone()).or_insert(0) += 1;
        }
    }
    counts
}

fn print_table(rows: &[Row], style: Style) {
    println!();
    let header = format!(
        "{:<16} {:>5} {:>6} {:>7} {:>11} {:>12} {:>16} {:>8} {:>5} {:>11} {:>7}",
        "dialect",
        "sent",
        "acked",
        "events",
        "reconnects",
        "errors seen",
        "repeats dropped",
        "re-sent",
        "lost",
        "duplicated",
        "time"
    );
    println!("{}", style.bold(&header));
    for r in rows {
        let line = format!(
            "{:<16} {:>5} {:>6} {:>7} {:>11} {:>12} {:>16} {:>8} {:>5} {:>11} {:>6.1}s",
            r.dialect,
            r.sent,
            r.acked,
            r.events,
            r.reconnects,
            r.errors_seen,
            r.repeats_dropped,
            r.resent,
            r.lost,
            r.duplicated,
            r.secs
        );
        if r.lost == 0 && r.duplicated == 0 {
            println!("{line}");
        } else {
            println!("{}", style.red(&line));
        }
    }
    for r in rows.iter().filter(|r| !r.notes.is_empty()) {
        for note in &r.notes {
            println!("{}", style.dim(&format!("  {}: {note}", r.dialect)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(turn: &str, message: &str, update: TextUpdate) -> Envelope {
        let mut env = Envelope::new(
            0,
            0,
            Event::TextDelta {
                channel: TextChannel::Text,
                update,
            },
        );
        env.turn_id = Some(turn.into());
        env.message_id = Some(message.into());
        env
    }

    fn end(turn: &str) -> Envelope {
        let mut env = Envelope::new(
            0,
            0,
            Event::TurnCompleted {
                finish_reason: None,
                usage: None,
            },
        );
        env.turn_id = Some(turn.into());
        env
    }

    #[test]
    fn final_text_ignores_abandoned_attempts_and_applies_replace() {
        let events = vec![
            delta(
                "t1",
                "m1",
                TextUpdate::Append {
                    text: "You ".into(),
                    offset: 0,
                },
            ),
            delta(
                "t2",
                "m1",
                TextUpdate::Replace {
                    text: "You said".into(),
                },
            ),
            delta(
                "t2",
                "m1",
                TextUpdate::Append {
                    text: ": hi".into(),
                    offset: 8,
                },
            ),
            end("t2"),
        ];
        assert_eq!(final_turn_text(&events), "You said: hi");
        let mut twice = events.clone();
        twice.push(end("t2"));
        assert_eq!(terminal_counts(&twice).get("t2"), Some(&2));
    }

    fn whole(turn: &str, message: &str, content: &str) -> Envelope {
        let mut env = Envelope::new(
            0,
            0,
            Event::Message {
                role: Role::Assistant,
                content: content.into(),
                metadata: None,
            },
        );
        env.turn_id = Some(turn.into());
        env.message_id = Some(message.into());
        env
    }

    #[test]
    fn a_reply_delivered_whole_counts_once_and_after_its_stream_shows_twice() {
        let events = vec![whole("t1", "m1", "You said: hi"), end("t1")];
        assert_eq!(final_turn_text(&events), "You said: hi");
        let streamed = TextUpdate::Append {
            text: "You said: hi".into(),
            offset: 0,
        };
        let events = vec![
            delta("t1", "m1", streamed),
            whole("t1", "m1", "You said: hi"),
            end("t1"),
        ];
        assert_eq!(final_turn_text(&events), "You said: hiYou said: hi");
    }
}

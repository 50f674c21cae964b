//! `chatwire events`: send one message and print every event until its turn ends — readable on
//! a terminal, or NDJSON with `--json` (one envelope per line, the same serde JSON as the event
//! model). Exit codes: 0 turn completed, 1 turn failed or cancelled, 2 connection failure or bad
//! options, 3 no end of turn within `--timeout`.

use crate::conn::{ConnArgs, Outcome, follow_turn};
use crate::render::{Renderer, Style};
use clap::Args;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

/// Options of `chatwire events`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// The message to send.
    #[arg(long, short = 'm')]
    pub message: String,
    /// Print NDJSON (one event envelope per line) instead of the readable form.
    #[arg(long)]
    pub json: bool,
    /// Give up when the turn has not ended after this many seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
}

/// Runs the command.
pub async fn run(args: EventsArgs, style: Style) -> ExitCode {
    let target = format!(
        "{} backend at {}",
        args.conn.dialect,
        args.conn.display_url()
    );
    let client = match args.conn.builder().build() {
        Ok(client) => client,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let acks = client.capabilities().acks;
    let mut events = client.events();
    let receipt = match client.send(args.message.clone()).await {
        Ok(receipt) => receipt,
        Err(e) => {
            eprintln!("error: cannot send: {e}");
            return ExitCode::from(2);
        }
    };
    let mut renderer = Renderer::new(style, "", true);
    let json = args.json;
    let limit = Duration::from_secs(args.timeout.max(1));
    let outcome = follow_turn(&mut events, &receipt, acks, limit, |envelope| {
        if json {
            match serde_json::to_string(envelope) {
                Ok(line) => {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{line}");
                    let _ = out.flush();
                }
                Err(e) => eprintln!("error: cannot serialise event {}: {e}", envelope.seq),
            }
        } else {
            renderer.event(envelope);
        }
    })
    .await;
    client.close().await;
    match outcome {
        Outcome::Completed => ExitCode::SUCCESS,
        Outcome::Cancelled => {
            eprintln!("the turn was cancelled");
            ExitCode::from(1)
        }
        Outcome::Failed(why) => {
            eprintln!("error: the turn failed: {why}");
            ExitCode::from(1)
        }
        Outcome::ConnectionFailed(why) => {
            eprintln!("error: cannot connect to the {target}: {why}");
            ExitCode::from(2)
        }
        Outcome::TimedOut => {
            eprintln!("error: the turn did not end within {} s", limit.as_secs());
            ExitCode::from(3)
        }
    }
}

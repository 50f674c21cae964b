//! `chatwire chat`: an interactive session with any backend. Lines are sent as messages; lines
//! starting with `:` are client commands (`:cancel`, `:reconnect`, `:state`, `:stats`,
//! `:quit`). Events are printed as they stream, while the next line can already be typed. At
//! `:quit` or end of input the session waits (up to 30 s) for the turns still running, so
//! `echo hello | chatwire chat ...` prints the whole answer.

use crate::conn::ConnArgs;
use crate::render::{Renderer, Style};
use clap::Args;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// Options of `chatwire chat`.
#[derive(Debug, Args)]
pub struct ChatArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
}

const HELP: &str = ":cancel  cancel the turn   :reconnect  reconnect now   :state  connection state
:stats   client counters   :quit       close and exit  (anything else is sent as a message)";

/// How long `:quit` / end of input waits for running turns.
const DRAIN_LIMIT: Duration = Duration::from_secs(30);

/// Runs the REPL until `:quit` or end of input; with `verbose` (`-v`), delivery and agent
/// status changes are shown too.
pub async fn run(args: ChatArgs, verbose: bool, style: Style) -> ExitCode {
    let client = match args.conn.builder().lazy_connect(false).build() {
        Ok(client) => client,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    eprintln!(
        "{}",
        style.dim(&format!(
            "chatwire chat — {} at {} (:help for commands)",
            args.conn.dialect,
            args.conn.display_url()
        ))
    );
    let mut events = client.events();
    // messages sent whose turn has not ended yet
    let open = Arc::new(AtomicI64::new(0));
    let printer = tokio::spawn({
        let open = open.clone();
        async move {
            let mut renderer = Renderer::new(style, "", verbose);
            while let Some(envelope) = events.recv().await {
                renderer.event(&envelope);
                if envelope.event.is_turn_terminal() {
                    open.fetch_sub(1, Ordering::SeqCst);
                }
            }
        }
    });
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut code = ExitCode::SUCCESS;
    while let Ok(Some(line)) = lines.next_line().await {
        let line = line.trim();
        let result = match line {
            "" => continue,
            ":quit" | ":q" | ":exit" => break,
            ":help" | ":h" => {
                println!("{HELP}");
                Ok(())
            }
            ":cancel" => client.cancel_turn().await,
            ":reconnect" => client.reconnect_now().await,
            ":state" => {
                println!("{}", crate::render::state(client.state()));
                Ok(())
            }
            ":stats" => {
                println!("{:?}", client.stats());
                Ok(())
            }
            text => {
                open.fetch_add(1, Ordering::SeqCst);
                let sent = client.send(text).await.map(|_| ());
                if sent.is_err() {
                    open.fetch_sub(1, Ordering::SeqCst);
                }
                sent
            }
        };
        if let Err(e) = result {
            eprintln!("{}", style.red(&format!("error: {e}")));
            if matches!(e, chatwire::client::ClientError::Closed) {
                code = ExitCode::from(2);
                break;
            }
        }
    }
    let deadline = tokio::time::Instant::now() + DRAIN_LIMIT;
    while open.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    client.close().await;
    let _ = printer.await;
    code
}

//! `chatwire chat`: an interactive session with any backend. Lines are sent as messages; lines
//! starting with `:` are client commands (`:cancel`, `:reconnect`, `:state`, `:stats`,
//! `:quit`). Events are printed as they stream, while the next line can already be typed.

use crate::conn::ConnArgs;
use crate::render::{Renderer, Style};
use clap::Args;
use std::process::ExitCode;
use tokio::io::{AsyncBufReadExt, BufReader};

/// Options of `chatwire chat`.
#[derive(Debug, Args)]
pub struct ChatArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Also show delivery and agent status changes.
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

const HELP: &str = ":cancel  cancel the turn   :reconnect  reconnect now   :state  connection state
:stats   client counters   :quit       close and exit  (anything else is sent as a message)";

/// Runs the REPL until `:quit` or end of input.
pub async fn run(args: ChatArgs, style: Style) -> ExitCode {
    let client = match args.conn.builder().lazy_connect(false).build() {
        Ok(client) => client,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    println!(
        "{}",
        style.dim(&format!(
            "chatwire chat — {} at {} (:help for commands)",
            args.conn.dialect, args.conn.url
        ))
    );
    let mut events = client.events();
    let verbose = args.verbose;
    let printer = tokio::spawn(async move {
        let mut renderer = Renderer::new(style, "", verbose);
        while let Some(envelope) = events.recv().await {
            renderer.event(&envelope);
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
            text => client.send(text).await.map(|_| ()),
        };
        if let Err(e) = result {
            eprintln!("{}", style.red(&format!("error: {e}")));
            if matches!(e, chatwire::client::ClientError::Closed) {
                code = ExitCode::from(2);
                break;
            }
        }
    }
    client.close().await;
    let _ = printer.await;
    code
}

//! The `chatwire` command line, built on the public `chatwire` client API only:
//! `demo` (the README's main command: every dialect against the embedded mock server, with
//! faults), `chat` (interactive), `events` (one message, every event of its turn, optionally as
//! NDJSON) and `mock` (run the mock server). Logs go to stderr, filtered by `RUST_LOG` or
//! `-v`/`-vv`/`-vvv` (see `logs.rs`).

mod chat;
mod conn;
mod demo;
mod events_cmd;
mod logs;
mod render;

use clap::{Args, Parser, Subcommand};
use render::Style;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "chatwire",
    version,
    about = "Reliable chat client for AI-agent backends: one clean event stream from seven dialects"
)]
struct Cli {
    /// Plain output even on a terminal (also: NO_COLOR=1).
    #[arg(long, global = true)]
    no_color: bool,
    /// More logs on stderr: -v info, -vv debug, -vvv trace (RUST_LOG, when set, wins).
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a short conversation on every dialect against the embedded mock server, through
    /// real faults (429 with Retry-After, a stream cut mid-reply, a server restart mid-reply),
    /// then print a summary table.
    Demo(demo::DemoArgs),
    /// Chat interactively with a backend.
    Chat(chat::ChatArgs),
    /// Send one message and print every event of its turn (NDJSON with --json).
    Events(events_cmd::EventsArgs),
    /// Run the mock server (every dialect on one port) until interrupted.
    Mock(MockArgs),
}

/// Options of `chatwire mock`.
#[derive(Debug, Args)]
struct MockArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, short = 'p', default_value_t = 8080)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// Seed of the scripted agent and the faults.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let style = Style::detect(cli.no_color);
    let log_color = !cli.no_color
        && std::env::var_os("NO_COLOR").is_none()
        && std::io::IsTerminal::is_terminal(&std::io::stderr());
    logs::init(cli.verbose, log_color);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async move {
        match cli.command {
            Command::Demo(args) => demo::run(args, style).await,
            Command::Chat(args) => chat::run(args, cli.verbose > 0, style).await,
            Command::Events(args) => events_cmd::run(args, style).await,
            Command::Mock(args) => mock(args, style).await,
        }
    })
}

async fn mock(args: MockArgs, style: Style) -> ExitCode {
    let addr = std::net::SocketAddr::new(args.host, args.port);
    let config = chatwire_mock::MockConfig::default()
        .bind(addr)
        .seed(args.seed);
    let server = match chatwire_mock::spawn(config).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    println!(
        "chatwire-mock listening on {}",
        style.bold(&server.base_url())
    );
    println!(
        "{}",
        style.dim("try: chatwire events --dialect native --url <that url> --message hello")
    );
    let _ = tokio::signal::ctrl_c().await;
    server.shutdown().await;
    ExitCode::SUCCESS
}

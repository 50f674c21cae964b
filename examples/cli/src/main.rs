//! The `chatwire` command line: `demo` (the README's main command), `chat`, `events`, `mock`.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "chatwire",
    version,
    about = "Reliable chat client for AI-agent backends"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a short conversation on every dialect against the embedded mock server, with faults.
    Demo,
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo => demo(),
    }
}

fn demo() {
    println!("chatwire {} demo", chatwire::version());
    let policy = chatwire::backoff::BackoffPolicy::default();
    for attempt in 1..=6 {
        let d = policy.delay(attempt, 0.5, chatwire::backoff::RetryContext::Other, None);
        println!(
            "reconnect attempt {attempt}: wait {} ms (before jitter)",
            d.as_millis()
        );
    }
}

//! Replays one input (a crash artifact or a seed) through a harness and prints what the engine
//! did, one line per output — for triaging what a fuzz target found:
//!
//! ```text
//! cargo run --manifest-path fuzz/Cargo.toml --example replay -- miptech fuzz/artifacts/miptech/crash-...
//! ```

use chatwire_fuzz::{Target, run_dialect, run_options, run_sse};
use std::io::Write;

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [target, path] = args.as_slice() else {
        eprintln!(
            "usage: replay <sse|options|native|miptech|chat_v2|chat_interfaces|parlant|openai> <file>"
        );
        return std::process::ExitCode::from(2);
    };
    let data = match std::fs::read(path) {
        Ok(data) => data,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let target = match target.as_str() {
        "sse" => {
            run_sse(&data);
            println!("sse: whole and split parses agree");
            return std::process::ExitCode::SUCCESS;
        }
        "options" => {
            let text = String::from_utf8_lossy(&data);
            println!("{:?}", chatwire::ClientOptions::from_json(&text));
            run_options(&data);
            return std::process::ExitCode::SUCCESS;
        }
        "native" => Target::Native,
        "miptech" => Target::Miptech,
        "chat_v2" => Target::ChatV2,
        "chat_interfaces" => Target::ChatInterfaces,
        "parlant" => Target::Parlant,
        "openai" => Target::Openai,
        other => {
            eprintln!("unknown target {other:?}");
            return std::process::ExitCode::from(2);
        }
    };
    let mut out = std::io::stdout().lock();
    for line in run_dialect(target, &data) {
        if writeln!(out, "{line}").is_err() {
            break; // stdout closed (piped into head): nothing more to show
        }
    }
    std::process::ExitCode::SUCCESS
}

//! `chatwire-scenario`: runs scenario files through a runner and judges them, or compares two
//! runners' traces.
//!
//! ```text
//! chatwire-scenario run --runner "CMD" [--jobs N] [--trace-dir DIR] [SCENARIO.json...]
//! chatwire-scenario diff TRACE_A TRACE_B
//! ```
//!
//! `run` without files runs every file of `tests/scenarios/`; it prints one line per scenario,
//! the failures in plain words, and `scenarios: N passed, M failed in S s`; it exits 1 if any
//! failed. A scenario whose `init` the runner refused with `UNSUPPORTED` (its platform cannot do
//! what the options ask) is printed `n/a` with the runner's reason and counted apart
//! (`, K not applicable on this platform`). `diff` exits 1 when the traces disagree.
//!
//! A scenario that fails is run once more, alone in its slot, before it counts as failed: the
//! corpus runs many clients, mock servers and runner platforms (JVMs, browser pages) at once on
//! small machines, where a scheduling stall can exceed a wait's deadline. A pass on the second
//! attempt is never silent: it prints `FLAKY` with the first attempt's failures and the tail of
//! its trace, is counted apart (`, K flaky`), and with `--trace-dir` the first attempt's trace is
//! kept as `NAME.first-attempt.jsonl`. `--no-retry` turns this off.

use chatwire_scenario::{Outcome, Scenario, diff, parse_trace, run_scenario, scenario_dir};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]).await,
        Some("diff") if args.len() == 3 => diff_files(&args[1], &args[2]),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

const USAGE: &str = "usage: chatwire-scenario run --runner CMD [--jobs N] [--trace-dir DIR] [--no-retry] [SCENARIO.json...]\n       chatwire-scenario diff TRACE_A TRACE_B";

async fn run(args: &[String]) -> Result<bool, String> {
    let (mut runner, mut jobs, mut trace_dir, mut files) = (None, 8usize, None, Vec::new());
    let mut retry = true;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--no-retry" => retry = false,
            "--runner" => runner = it.next().cloned(),
            "--jobs" => jobs = it.next().and_then(|j| j.parse().ok()).ok_or(USAGE)?,
            "--trace-dir" => trace_dir = it.next().map(PathBuf::from),
            other => files.push(PathBuf::from(other)),
        }
    }
    let runner = runner.ok_or(USAGE)?;
    if files.is_empty() {
        files = corpus_files()?;
    }
    let mut scenarios = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        scenarios.push(Scenario::parse(&text).map_err(|e| format!("{}: {e}", file.display()))?);
    }
    let start = std::time::Instant::now();
    let limit = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let mut handles = Vec::new();
    for scenario in scenarios {
        let (runner, limit) = (runner.clone(), limit.clone());
        handles.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await;
            let first = run_scenario(&scenario, &runner).await;
            if !retry || first.failures.is_empty() || first.not_applicable.is_some() {
                return (first, None);
            }
            let second = run_scenario(&scenario, &runner).await;
            (second, Some(first))
        }));
    }
    let (mut passed, mut failed, mut not_applicable, mut flaky) = (0, 0, 0, 0);
    for handle in handles {
        let (outcome, first) = handle.await.map_err(|e| e.to_string())?;
        if let Some(dir) = &trace_dir {
            write_trace(&dir.join(format!("{}.jsonl", outcome.name)), &outcome)?;
            if let Some(first) = &first {
                write_trace(
                    &dir.join(format!("{}.first-attempt.jsonl", first.name)),
                    first,
                )?;
            }
        }
        if let Some(first) = first.as_ref().filter(|_| outcome.failures.is_empty()) {
            flaky += 1;
            report_flaky(first);
        }
        let secs = outcome.duration.as_secs_f64();
        if let Some(why) = &outcome.not_applicable {
            not_applicable += 1;
            println!(
                "n/a  {} (not applicable on this platform: {why})",
                outcome.name
            );
        } else if outcome.failures.is_empty() {
            passed += 1;
            println!("ok   {} ({secs:.1} s)", outcome.name);
        } else {
            failed += 1;
            println!("FAIL {} ({secs:.1} s)", outcome.name);
            for failure in &outcome.failures {
                println!("     - {failure}");
            }
        }
    }
    let na = if not_applicable > 0 {
        format!(", {not_applicable} not applicable on this platform")
    } else {
        String::new()
    };
    let flaky = if flaky > 0 {
        format!(", {flaky} flaky (passed on the second attempt, see FLAKY above)")
    } else {
        String::new()
    };
    println!(
        "scenarios: {passed} passed, {failed} failed{na}{flaky} in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    Ok(failed == 0)
}

/// Writes an outcome's trace, one JSON line per trace line.
fn write_trace(path: &std::path::Path, outcome: &Outcome) -> Result<(), String> {
    let lines: Vec<String> = outcome.trace.iter().map(|l| l.to_json()).collect();
    std::fs::write(path, lines.join("\n") + "\n").map_err(|e| format!("{}: {e}", path.display()))
}

/// How many trace lines of a failed first attempt a `FLAKY` report shows.
const FLAKY_TAIL: usize = 12;

/// Prints a first attempt that failed when the second passed: its failures and its last lines.
fn report_flaky(first: &Outcome) {
    println!(
        "FLAKY {} (failed once in {:.1} s, passed on the second attempt):",
        first.name,
        first.duration.as_secs_f64()
    );
    for failure in &first.failures {
        println!("     - {failure}");
    }
    let skip = first.trace.len().saturating_sub(FLAKY_TAIL);
    for line in &first.trace[skip..] {
        let mut text = line.to_json();
        if text.len() > 240 {
            let mut cut = 240;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push('…');
        }
        println!("     | {text}");
    }
}

fn corpus_files() -> Result<Vec<PathBuf>, String> {
    let dir = scenario_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter(|p| !p.to_string_lossy().ends_with(".schema.json"))
        .collect();
    files.sort();
    Ok(files)
}

fn diff_files(a: &str, b: &str) -> Result<bool, String> {
    let read = |p: &str| {
        let text = std::fs::read_to_string(p).map_err(|e| format!("{p}: {e}"))?;
        parse_trace(&text).map_err(|e| format!("{p}: {e}"))
    };
    let differences = diff::diff(&read(a)?, &read(b)?);
    for d in &differences {
        println!("{d}");
    }
    if differences.is_empty() {
        println!("the traces agree");
    }
    Ok(differences.is_empty())
}

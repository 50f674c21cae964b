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
//! failed. `diff` exits 1 when the traces disagree.

use chatwire_scenario::{Scenario, diff, parse_trace, run_scenario, scenario_dir};
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

const USAGE: &str = "usage: chatwire-scenario run --runner CMD [--jobs N] [--trace-dir DIR] [SCENARIO.json...]\n       chatwire-scenario diff TRACE_A TRACE_B";

async fn run(args: &[String]) -> Result<bool, String> {
    let (mut runner, mut jobs, mut trace_dir, mut files) = (None, 8usize, None, Vec::new());
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
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
            run_scenario(&scenario, &runner).await
        }));
    }
    let (mut passed, mut failed) = (0, 0);
    for handle in handles {
        let outcome = handle.await.map_err(|e| e.to_string())?;
        if let Some(dir) = &trace_dir {
            let lines: Vec<String> = outcome.trace.iter().map(|l| l.to_json()).collect();
            let path = dir.join(format!("{}.jsonl", outcome.name));
            std::fs::write(&path, lines.join("\n") + "\n")
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        let secs = outcome.duration.as_secs_f64();
        if outcome.failures.is_empty() {
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
    println!(
        "scenarios: {passed} passed, {failed} failed in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    Ok(failed == 0)
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

//! Deliberately wrong runners through the orchestrator: each fails the scenario with a message
//! naming what it did wrong. The wrong runners are the Rust runner behind a filter, so the
//! defect is exactly the one the filter introduces (`tests/wrong/*.sh`).

#![allow(clippy::unwrap_used)] // tests may unwrap

use chatwire_scenario::{Outcome, Scenario, run_scenario, scenario_dir};

fn run(file: &str, runner: &str) -> Outcome {
    let text = std::fs::read_to_string(scenario_dir().join(file)).unwrap();
    let scenario = Scenario::parse(&text).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run_scenario(&scenario, runner))
}

fn assert_failure(outcome: &Outcome, needle: &str) {
    assert!(
        outcome.failures.iter().any(|f| f.contains(needle)),
        "expected a failure containing {needle:?}, got {:#?}",
        outcome.failures
    );
}

const RUNNER: &str = env!("CARGO_BIN_EXE_chatwire-scenario-runner");

/// The command of a wrong runner script of `tests/wrong/` wrapping the Rust runner.
fn wrong(script: &str) -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/wrong");
    format!("sh {dir}/{script} {RUNNER}")
}

#[test]
fn the_reference_runner_passes() {
    let outcome = run("native-happy-tool.json", RUNNER);
    assert_eq!(outcome.failures, Vec::<String>::new());
}

#[test]
fn a_runner_that_drops_every_third_envelope_fails() {
    let outcome = run(
        "native-happy-tool.json",
        &wrong("drop-every-third-envelope.sh"),
    );
    assert_failure(&outcome, "envelope seq 4 follows 2: 1 envelope(s) lost");
}

#[test]
fn a_runner_that_repeats_envelopes_fails() {
    let outcome = run(
        "native-happy-tool.json",
        &wrong("repeat-every-fourth-envelope.sh"),
    );
    assert_failure(&outcome, "(duplicated envelope)");
}

#[test]
fn a_runner_that_writes_garbage_fails() {
    let outcome = run("native-happy-tool.json", &wrong("garbage-after-init.sh"));
    assert_failure(&outcome, "the runner broke the protocol: not a trace line");
}

#[test]
fn a_runner_that_exits_at_once_fails() {
    let outcome = run("native-happy-tool.json", "true");
    assert_failure(&outcome, "init: ");
}

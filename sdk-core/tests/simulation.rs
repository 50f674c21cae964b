//! Deterministic simulation suite (DESIGN §3): runs the engine against a simulated native server
//! and a faulty network for many seeds and prints `simulation: <N> seeds, <V> violations`.
//!
//! - `CHATWIRE_SIM_SEEDS=100000 cargo test -p chatwire --release --test simulation -- --nocapture`
//!   runs more seeds (default 2000).
//! - `CHATWIRE_SIM_SEED=<seed> cargo test -p chatwire --test simulation -- --nocapture` replays
//!   one seed with a full trace.

mod sim;

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

#[test]
fn simulation() {
    if let Some(seed) = std::env::var("CHATWIRE_SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        let outcome = sim::run(seed, true);
        for v in &outcome.violations {
            println!("violation: {v}");
        }
        println!(
            "simulation: 1 seeds, {} violations",
            outcome.violations.len()
        );
        assert!(outcome.violations.is_empty());
        return;
    }
    let seeds: u64 = std::env::var("CHATWIRE_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8) as u64;
    let next = AtomicU64::new(0);
    let failures: Mutex<Vec<(u64, Vec<String>)>> = Mutex::new(Vec::new());
    let violations = AtomicU64::new(0);
    let envelopes = AtomicU64::new(0);
    let virtual_ms = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed >= seeds {
                        break;
                    }
                    let outcome = sim::run(seed, false);
                    envelopes.fetch_add(outcome.envelopes, Ordering::Relaxed);
                    virtual_ms.fetch_add(outcome.virtual_ms, Ordering::Relaxed);
                    if !outcome.violations.is_empty() {
                        violations.fetch_add(outcome.violations.len() as u64, Ordering::Relaxed);
                        if let Ok(mut f) = failures.lock() {
                            f.push((seed, outcome.violations));
                        }
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort_by_key(|(s, _)| *s);
    // Written to stderr directly (not `println!`), so the summary shows even when the test
    // harness captures output.
    let mut err = std::io::stderr();
    for (seed, vs) in failures.iter().take(10) {
        let _ = writeln!(err, "seed {seed}: {}", vs.join("; "));
        let _ = writeln!(
            err,
            "  replay: CHATWIRE_SIM_SEED={seed} cargo test -p chatwire --test simulation -- --nocapture"
        );
    }
    let v = violations.load(Ordering::Relaxed);
    let _ = writeln!(err, "simulation: {seeds} seeds, {v} violations");
    let _ = writeln!(
        err,
        "  {} events checked, {} virtual hours",
        envelopes.load(Ordering::Relaxed),
        virtual_ms.load(Ordering::Relaxed) / 3_600_000
    );
    assert_eq!(v, 0, "{} failing seeds", failures.len());
}

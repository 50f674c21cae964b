//! The soak's fault schedule: while traffic flows, every phase (3 s) each dialect's proxy gets
//! the next toxic of [`TOXICS`] (dialects are offset, so at any moment they suffer different
//! toxics) and the mock server gets the next fault of its own cycle: none, dropped streams,
//! `429` with `Retry-After`, delayed frames, and a server restart (every connection dropped,
//! new ones refused for 300 ms; conversations survive, as on a backend restart). The mock's ids
//! start below 10 000 and cross it early in the run, so most restarts happen after the ids
//! passed 10 000; the report says how many.
//!
//! A toxiproxy call that fails stops the schedule with an error: a soak whose faults were not
//! injected must not pass.

use crate::toxi::{Toxic, Toxiproxy};
use chatwire_mock::{FaultSpec, HttpErrorSpec, MockServer};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// How long each phase lasts.
pub const PHASE: Duration = Duration::from_secs(3);

/// The toxics each proxy cycles through (`None`: a clean phase).
pub const TOXICS: [Option<Toxic>; 7] = [
    None,
    Some(Toxic::Latency),
    Some(Toxic::Slicer),
    Some(Toxic::ResetPeer { ms: 900 }),
    Some(Toxic::Bandwidth),
    Some(Toxic::Timeout { ms: 1500 }),
    Some(Toxic::ResetPeer { ms: 2500 }),
];

/// What the schedule injected.
#[derive(Debug, Default)]
pub struct Injected {
    /// Toxic type -> how many times a proxy got it.
    pub toxics: BTreeMap<&'static str, usize>,
    /// Mock fault -> how many phases had it.
    pub mock_faults: BTreeMap<&'static str, usize>,
    /// Server restarts, and those after the ids passed 10 000.
    pub restarts: usize,
    pub restarts_after_10k: usize,
}

/// Runs the schedule until `deadline`, then removes every toxic and fault.
/// `proxies` are the toxiproxy proxy names, one per dialect.
pub async fn run(
    toxiproxy: Toxiproxy,
    proxies: Vec<String>,
    mock: Arc<MockServer>,
    max_id: Arc<AtomicU64>,
    deadline: Instant,
) -> Result<Injected, String> {
    let mut injected = Injected::default();
    let mut active: Vec<Option<String>> = vec![None; proxies.len()];
    let mut phase = 0usize;
    while Instant::now() < deadline {
        for (j, proxy) in proxies.iter().enumerate() {
            if let Some(name) = active[j].take() {
                toxiproxy.remove(proxy, &name).await?;
            }
            if let Some(toxic) = TOXICS[(phase + j * 2) % TOXICS.len()] {
                let name = format!("{}-{phase}", toxic.kind());
                toxiproxy.add(proxy, &name, toxic).await?;
                *injected.toxics.entry(toxic.kind()).or_default() += 1;
                active[j] = Some(name);
            }
        }
        let (label, spec) = mock_fault(phase);
        mock.clear_faults();
        if let Some(spec) = spec {
            mock.set_faults(spec).map_err(|e| e.to_string())?;
        }
        if label == "restart" {
            mock.restart_with(Duration::from_millis(300));
            injected.restarts += 1;
            if max_id.load(Ordering::Relaxed) >= 10_000 {
                injected.restarts_after_10k += 1;
            }
        }
        *injected.mock_faults.entry(label).or_default() += 1;
        phase += 1;
        tokio::time::sleep_until((Instant::now() + PHASE).min(deadline)).await;
    }
    for (j, proxy) in proxies.iter().enumerate() {
        if let Some(name) = active[j].take() {
            toxiproxy.remove(proxy, &name).await?;
        }
    }
    mock.clear_faults();
    Ok(injected)
}

/// The mock's fault for `phase`: a label and the fault set (none for a clean phase or a
/// restart, which is a call rather than a set).
fn mock_fault(phase: usize) -> (&'static str, Option<FaultSpec>) {
    let seed = Some(phase as u64);
    match phase % 5 {
        1 => (
            "drop_after_frames",
            Some(FaultSpec {
                seed,
                drop_after_frames: Some(9),
                ..FaultSpec::default()
            }),
        ),
        2 => (
            "http 429",
            Some(FaultSpec {
                seed,
                http_error: Some(HttpErrorSpec {
                    status: 429,
                    rate: 0.3,
                    retry_after_s: Some(1),
                }),
                ..FaultSpec::default()
            }),
        ),
        3 => (
            "delay",
            Some(FaultSpec {
                seed,
                delay_ms: Some(20),
                jitter_ms: Some(40),
                ..FaultSpec::default()
            }),
        ),
        4 => ("restart", None),
        _ => ("none", None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_toxic_and_fault_occurs_in_a_short_run() {
        let kinds: std::collections::BTreeSet<&str> =
            TOXICS.iter().flatten().map(|t| t.kind()).collect();
        assert_eq!(kinds.len(), 5);
        let labels: std::collections::BTreeSet<&str> = (0..5).map(|p| mock_fault(p).0).collect();
        assert_eq!(labels.len(), 5);
        for p in 0..5 {
            if let (_, Some(spec)) = mock_fault(p) {
                assert!(spec.validate().is_ok(), "phase {p}");
            }
        }
    }
}

//! `chatwire-soak`: the chaos soak. All seven dialects at once, each client talking to the
//! in-process mock server through its own toxiproxy proxy, while the proxies' toxics (latency,
//! bandwidth, slicer, reset_peer, timeout) and the mock's own faults (dropped streams, 429s,
//! delays, server restarts) rotate; the mock's ids start at 9 700 so they cross 10 000 early and
//! most restarts happen after that. At the end it prints one row per dialect (see `tally.rs`)
//! and exits 1 on any defect, 2 when the soak could not run as planned (toxiproxy unreachable,
//! no restart after the ids passed 10 000).
//!
//! ```text
//! chatwire-soak --toxiproxy 127.0.0.1:8474 [--duration 90] [--seed 1]
//! ```
//!
//! `--duration` (or `SOAK_DURATION_S`) is the traffic time in seconds (default 90); a drain of
//! at most 30 s follows. `SOAK_LOG_DIR=dir` writes each dialect's events and message statuses
//! to `dir/<dialect>.log`. `scripts/test-soak` installs and starts toxiproxy and runs this.

mod chaos;
mod tally;
mod toxi;
mod worker;

use chatwire::DialectKind;
use chatwire_mock::MockConfig;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;
use tokio::time::Instant;

/// Drain after the traffic stops: every message must settle and every turn end within it.
const DRAIN: Duration = Duration::from_secs(30);

#[derive(Debug)]
struct Args {
    toxiproxy: SocketAddr,
    duration: Duration,
    seed: u64,
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1).collect()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "chatwire-soak: {e}\nusage: chatwire-soak --toxiproxy HOST:PORT [--duration SECS] [--seed N]"
            );
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("chatwire-soak: cannot start runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(soak(args)) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(defects) => {
            println!("soak: {defects} defects");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("chatwire-soak: {e}");
            ExitCode::from(2)
        }
    }
}

/// Runs the soak; the number of defects found.
async fn soak(args: Args) -> Result<usize, String> {
    let config = MockConfig::default()
        .seed(args.seed)
        .first_id(9_700)
        .token_delay(Duration::from_millis(2))
        .heartbeat_interval(Duration::from_secs(2))
        .ping_interval(Duration::from_secs(3))
        .rate_limit(1_000_000, Duration::from_secs(60))
        .retain_events(100_000);
    let mock = chatwire_mock::spawn(config)
        .await
        .map_err(|e| e.to_string())?;
    let mock = Arc::new(mock);
    let toxiproxy = toxi::Toxiproxy::new(args.toxiproxy);
    let mut proxies = Vec::new();
    let mut urls = Vec::new();
    for kind in DialectKind::ALL {
        let name = format!("soak-{kind}-{}", std::process::id());
        let listen = toxiproxy.create_proxy(&name, mock.addr()).await?;
        urls.push(format!("http://{listen}"));
        proxies.push(name);
    }
    println!(
        "soak: {} dialects through toxiproxy at {} to the mock at {}, {} s of traffic (seed {})",
        proxies.len(),
        args.toxiproxy,
        mock.base_url(),
        args.duration.as_secs(),
        args.seed
    );
    let deadline = Instant::now() + args.duration;
    let max_id = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for (i, (kind, url)) in DialectKind::ALL.into_iter().zip(&urls).enumerate() {
        let plan = worker::Plan {
            kind,
            base_url: url.clone(),
            seed: args.seed.wrapping_mul(31).wrapping_add(i as u64 + 1),
            deadline,
            drain: DRAIN,
        };
        workers.push(tokio::spawn(worker::run(plan, max_id.clone())));
    }
    let chaos = chaos::run(
        toxiproxy.clone(),
        proxies.clone(),
        mock.clone(),
        max_id.clone(),
        deadline,
    )
    .await;
    let mut outcomes = Vec::new();
    for w in workers {
        outcomes.push(w.await.map_err(|e| format!("worker panicked: {e}"))?);
    }
    for name in &proxies {
        toxiproxy.delete_proxy(name).await?;
    }
    let injected = chaos?;
    let received = mock.received();
    let rows: Vec<tally::Row> = outcomes
        .iter()
        .map(|o| tally::tally(o, &received))
        .collect();
    println!("soak: injected toxics {:?}", injected.toxics);
    println!("soak: injected mock faults {:?}", injected.mock_faults);
    println!(
        "soak: {} server restarts, {} after the ids passed 10 000 (highest id seen {})",
        injected.restarts,
        injected.restarts_after_10k,
        max_id.load(std::sync::atomic::Ordering::Relaxed)
    );
    for o in &outcomes {
        for e in o.send_errors.iter().take(3) {
            println!("soak: {} send error: {e}", o.kind);
        }
    }
    if let Ok(dir) = std::env::var("SOAK_LOG_DIR") {
        write_logs(&dir, &outcomes, &received)?;
        println!("soak: event logs in {dir}");
    }
    print!("{}", tally::table(&rows));
    for row in &rows {
        for note in &row.notes {
            println!("soak: defect: {}: {note}", row.dialect);
        }
    }
    if injected.restarts_after_10k == 0 {
        return Err("no server restart happened after the ids passed 10 000".into());
    }
    Ok(rows.iter().map(tally::Row::defects).sum())
}

/// Writes each dialect's event log, then each message's status and the server's record of it,
/// to `<dir>/<dialect>.log`.
fn write_logs(
    dir: &str,
    outcomes: &[worker::Outcome],
    received: &[chatwire_mock::Received],
) -> Result<(), String> {
    use std::fmt::Write as _;
    std::fs::create_dir_all(dir).map_err(|e| format!("{dir}: {e}"))?;
    for o in outcomes {
        let mut text = chatwire_tests::dump(&o.log);
        for s in &o.sent {
            let record = received
                .iter()
                .filter(|r| r.text == s.text && r.dialect.as_str() == o.kind.to_string())
                .map(|r| (r.times_received, r.first_received_ms, r.last_received_ms))
                .collect::<Vec<_>>();
            let _ = writeln!(
                text,
                "sent {:?} -> {:?} acked at {:?}; server (times, first, last): {record:?}",
                s.text, s.status, s.acked_ms
            );
        }
        let path = format!("{dir}/{}.log", o.kind);
        std::fs::write(&path, text).map_err(|e| format!("{path}: {e}"))?;
    }
    Ok(())
}

fn parse_args(args: Vec<String>) -> Result<Args, String> {
    let mut toxiproxy = std::env::var("TOXIPROXY_API").ok();
    let mut duration = std::env::var("SOAK_DURATION_S").ok();
    let mut seed = None;
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--toxiproxy" => toxiproxy = Some(value),
            "--duration" => duration = Some(value),
            "--seed" => seed = Some(value),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let toxiproxy = toxiproxy
        .ok_or("--toxiproxy (or TOXIPROXY_API) is required")?
        .parse()
        .map_err(|e| format!("--toxiproxy: {e}"))?;
    let secs: u64 = duration
        .as_deref()
        .unwrap_or("90")
        .parse()
        .map_err(|e| format!("--duration: {e}"))?;
    let seed = seed
        .as_deref()
        .unwrap_or("1")
        .parse()
        .map_err(|e| format!("--seed: {e}"))?;
    Ok(Args {
        toxiproxy,
        duration: Duration::from_secs(secs.max(1)),
        seed,
    })
}

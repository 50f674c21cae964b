//! `chatwire-bench`: the performance harness. One command measures every figure beside its
//! baseline in the same run and writes JSON, a Markdown table and PNG plots:
//!
//! ```sh
//! cargo run --release -p chatwire-bench -- all            # writes docs/benchmarks/
//! cargo run --release -p chatwire-bench -- all --smoke    # small counts, a temp dir, checks files
//! ```
//!
//! Measurements (one module each): `throughput` (inbound events/s and CPU per event), `latency`
//! (added latency per streamed token), `idle` (memory per idle connected client, one child
//! process per configuration), `storm` (the reconnect storm), `growth` (events/s against
//! conversation length; heap against open turns, dedup window and queue length). The smoke mode
//! asserts only that every measurement produced finite numbers and files, never a timing.

mod child;
mod flood;
mod frames;
mod growth;
mod idle;
mod latency;
mod plot;
mod report;
mod server;
mod storm;
mod sys;
mod throughput;

use clap::{Parser, Subcommand};
use report::Report;
use std::path::PathBuf;
use std::time::Instant;

#[global_allocator]
static ALLOC: sys::Counting = sys::Counting;

#[derive(Parser)]
#[command(name = "chatwire-bench", about = "chatwire's performance harness")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Runs every measurement and writes the results.
    All {
        /// Small counts, output to a temporary directory, checks that every figure and file exists.
        #[arg(long)]
        smoke: bool,
        /// Output directory (default: docs/benchmarks, or a temp dir with --smoke).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Only these measurements (comma-separated: throughput,latency,idle,storm,growth).
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
    },
    /// (internal) The bench server process.
    #[command(hide = true)]
    Serve,
    /// (internal) One idle-memory configuration in its own process.
    #[command(hide = true)]
    IdleChild {
        #[arg(long)]
        kind: String,
        #[arg(long)]
        n: usize,
        #[arg(long)]
        url: String,
    },
}

/// The counts of one mode.
#[derive(Debug, Clone)]
pub struct Scale {
    pub smoke: bool,
    pub rounds: usize,
    pub flood_events: usize,
}

impl Scale {
    fn new(smoke: bool) -> Scale {
        if smoke {
            Scale {
                smoke,
                rounds: 1,
                flood_events: 2_000,
            }
        } else {
            Scale {
                smoke,
                rounds: 3,
                flood_events: 200_000,
            }
        }
    }
}

type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Serve => child::serve().map_err(Error::from),
        Cmd::IdleChild { kind, n, url } => idle::child_main(&kind, n, &url),
        Cmd::All { smoke, out, only } => all(smoke, out, &only),
    };
    if let Err(e) = result {
        eprintln!("chatwire-bench: {e}");
        std::process::exit(1);
    }
}

fn all(smoke: bool, out: Option<PathBuf>, only: &[String]) -> Result<(), Error> {
    let scale = Scale::new(smoke);
    let temporary = smoke && out.is_none();
    let default_out = out.is_none();
    let out = out.unwrap_or_else(|| {
        if smoke {
            std::env::temp_dir().join(format!("chatwire-bench-smoke-{}", std::process::id()))
        } else {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/benchmarks")
        }
    });
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    // The reqwest baseline shares chatwire's reqwest build, which has no default crypto provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let fds = sys::raise_fd_limit();
    let mut report = Report {
        mode: if smoke { "smoke".into() } else { "full".into() },
        unix_time: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        load_start: report::loadavg(),
        ..Report::default()
    };
    eprintln!(
        "chatwire-bench: {} mode, open-file limit {fds}, output {}",
        report.mode,
        out.display()
    );
    let server = child::ServerProc::start()?;
    let t_all = Instant::now();
    let timed =
        |name: &str, report: &mut Report, f: &mut dyn FnMut(&mut Report) -> Result<(), Error>| {
            if !wanted(name) {
                return Ok::<(), Error>(());
            }
            let t0 = Instant::now();
            eprintln!("{name}:");
            f(report)?;
            let s = t0.elapsed().as_secs_f64();
            eprintln!("{name}: {s:.1} s");
            report.durations_s.push((name.to_owned(), s));
            Ok(())
        };
    timed("throughput", &mut report, &mut |r| {
        throughput::run(&server, &scale, r)
    })?;
    timed("latency", &mut report, &mut |r| {
        latency::run(&server, &scale, r)
    })?;
    timed("growth", &mut report, &mut |r| {
        growth::run(&server, &scale, r)
    })?;
    timed("idle", &mut report, &mut |r| idle::run(&server, &scale, r))?;
    drop(server);
    timed("storm", &mut report, &mut |r| storm::run(&scale, r))?;
    report
        .durations_s
        .push(("total".into(), t_all.elapsed().as_secs_f64()));
    report.load_end = report::loadavg();
    std::fs::create_dir_all(&out)?;
    let plots = plot::draw_all(&report, &out)?;
    report.write(&out, &plots)?;
    eprintln!(
        "chatwire-bench: wrote {} ({:.1} s)",
        out.display(),
        t_all.elapsed().as_secs_f64()
    );
    if !smoke && default_out && only.is_empty() {
        update_readme(&report)?;
    }
    if smoke {
        check_smoke(&report, &out, only.is_empty())?;
        if temporary {
            std::fs::remove_dir_all(&out)?;
        }
    }
    Ok(())
}

/// Rewrites the summary table of the root README (between its markers) from a full run.
fn update_readme(report: &Report) -> Result<(), Error> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&path)?;
    let picks = [
        // The default client (`keep_raw(false)`), then the CPU and allocations of both modes.
        (
            throughput::SECTION,
            "chatwire Client::events(), keep_raw(false) (default)",
        ),
        (
            throughput::CPU,
            "current-thread, chatwire Client::events(), keep_raw(false) (default)",
        ),
        (
            throughput::CPU,
            "current-thread, chatwire Client::events(), keep_raw(true)",
        ),
        (
            throughput::ALLOCS,
            "native, current-thread, chatwire Client::events(), keep_raw(false) (default)",
        ),
        (
            throughput::ALLOCS,
            "native, current-thread, chatwire Client::events(), keep_raw(true)",
        ),
        (latency::SECTION, "multi-thread, chatwire Client, p50"),
        (latency::SECTION, "multi-thread, chatwire Client, p99"),
        (idle::SECTION, "marginal 1000 -> 5000 clients"),
        (storm::SECTION, "peak attempts per 100 ms"),
        (storm::SECTION, "all Ready again after"),
    ];
    let summary = report.summary(&picks);
    let updated = report::splice_summary(&readme, &summary)
        .ok_or("README.md has no bench summary markers")?;
    std::fs::write(&path, updated)?;
    Ok(())
}

/// The smoke mode's only assertions: numbers and files exist (no timing is judged).
fn check_smoke(report: &Report, out: &std::path::Path, every: bool) -> Result<(), Error> {
    if report.figures.is_empty() {
        return Err("no figures were produced".into());
    }
    let sections = [
        throughput::SECTION,
        throughput::CPU,
        throughput::ALLOCS,
        latency::SECTION,
        growth::RATE,
        growth::HEAP,
        idle::SECTION,
        storm::SECTION,
    ];
    for section in sections.iter().filter(|_| every) {
        if !report.figures.iter().any(|f| f.section == *section) {
            return Err(format!("no figures for {section:?}").into());
        }
    }
    for f in &report.figures {
        if !f.value.is_finite() || f.baseline.is_some_and(|b| !b.is_finite()) {
            return Err(format!("figure {:?} is not a number", f.name).into());
        }
    }
    let plots: Vec<String> = std::fs::read_dir(out)?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|f| f.ends_with(".png"))
        .collect();
    if plots.len()
        < report
            .series
            .iter()
            .map(|s| s.plot)
            .collect::<std::collections::HashSet<_>>()
            .len()
    {
        return Err(format!("missing plots: only {plots:?}").into());
    }
    for file in plots
        .iter()
        .map(String::as_str)
        .chain(["results.json", "README.md"])
    {
        let len = std::fs::metadata(out.join(file))
            .map(|m| m.len())
            .unwrap_or(0);
        if len == 0 {
            return Err(format!("{file} was not written").into());
        }
    }
    eprintln!(
        "chatwire-bench: smoke check passed ({} figures)",
        report.figures.len()
    );
    Ok(())
}

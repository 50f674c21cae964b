//! How cost grows with the work, on the current-thread runtime:
//!
//! - events/s of one native conversation of 10k, 100k and 1M events (1M in full mode only),
//!   chatwire's `Client` beside the raw loop, each from a fresh connection;
//! - live heap (the harness's counting allocator, this process) of one client against the
//!   number of open turns (`turn_started` never ended), the events delivered (the dedup window,
//!   `dedup_capacity` 1,024 by default: flat past it), and the messages queued while the backend
//!   is unreachable (`queue_capacity` 50 by default: sends past it are refused, flat past it).
//!   Each is the heap growth over the same client right after it became ready (or was built).

use crate::Scale;
use crate::child::ServerProc;
use crate::flood::{self, Reader};
use crate::report::{Figure, Report, Series};
use crate::sys;
use chatwire::client::{Client, ClientError, DialectKind};
use chatwire::event::Event;
use std::time::Duration;

pub const RATE: &str = "Cost growth: events/s against conversation length";
pub const HEAP: &str = "Cost growth: client heap against state held";

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Measures everything and adds the figures to `report`.
pub fn run(server: &ServerProc, scale: &Scale, report: &mut Report) -> Result<(), Error> {
    report.describe(RATE, "One conversation of N events (turns of 1,000) read from a fresh connection on the current-thread runtime.");
    report.describe(HEAP, "Live heap growth of the whole harness process (counting allocator) over one client after it became \
        ready: it includes transport buffers and channel blocks, whose sizes vary between runs, beside what the engine holds. \
        The outbound queue is bounded by `queue_capacity` (50), the dedup window by `dedup_capacity` (1,024).");
    let sizes: &[usize] = if scale.smoke {
        &[2_000, 5_000]
    } else {
        &[10_000, 100_000, 1_000_000]
    };
    let rt = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    let (mut client_pts, mut raw_pts) = (Vec::new(), Vec::new());
    for &n in sizes {
        let raw = rt()?.block_on(flood::native(&server.ws, n, Reader::Raw))?;
        let client = rt()?.block_on(flood::native(&server.ws, n, Reader::Client))?;
        report.figures.push(Figure::versus(
            RATE,
            format!("native, {n} events, chatwire Client::events()"),
            client.rate(),
            "events/s",
            "tokio-tungstenite + serde_json::Value",
            raw.rate(),
        ));
        client_pts.push((n as f64, client.rate()));
        raw_pts.push((n as f64, raw.rate()));
        eprintln!(
            "  {n} events: client {:.0}/s, raw {:.0}/s",
            client.rate(),
            raw.rate()
        );
    }
    report.series.push(Series {
        plot: "growth",
        name: "chatwire Client".into(),
        points: client_pts,
    });
    report.series.push(Series {
        plot: "growth",
        name: "raw loop".into(),
        points: raw_pts,
    });

    let (turns, statuses, queued): (&[u64], &[u64], &[u64]) = if scale.smoke {
        (&[10, 100], &[100, 2_000], &[10, 100])
    } else {
        (
            &[10, 100, 1_000, 10_000],
            &[1_000, 10_000, 100_000],
            &[10, 50, 200, 1_000],
        )
    };
    let open = rt()?.block_on(held(&server.ws, "open", turns))?;
    let dedup = rt()?.block_on(held(&server.ws, "status", statuses))?;
    let queue = rt()?.block_on(queue(queued))?;
    for (what, unit, points) in [
        ("open turns", "turns", &open),
        ("events delivered (dedup window)", "events", &dedup),
        ("messages queued offline", "messages", &queue),
    ] {
        for (x, kib) in points {
            report.figures.push(Figure::plain(
                HEAP,
                format!("{what}: {x} {unit}"),
                *kib,
                "KiB",
            ));
        }
        eprintln!("  heap vs {what}: {points:?}");
        report.series.push(Series {
            plot: "heap",
            name: what.into(),
            points: points.clone(),
        });
    }
    Ok(())
}

/// Heap growth (KiB) of one client after `verb:k` commands bring the total to each of `totals`.
async fn held(ws_base: &str, verb: &str, totals: &[u64]) -> Result<Vec<(f64, f64)>, Error> {
    let client = flood::native_client(ws_base).await?;
    let mut events = client.events();
    settle().await;
    let base = sys::live_heap_bytes();
    let (mut done, mut out) = (0u64, Vec::new());
    for &total in totals {
        let k = total - done;
        client.send(format!("{verb}:{k}")).await?;
        let mut seen = 0;
        while seen < k {
            let Some(envelope) = events.recv().await else {
                return Err("the client closed".into());
            };
            seen += u64::from(matches!(
                envelope.event,
                Event::TurnStarted { .. } | Event::Status { .. }
            ));
        }
        done = total;
        settle().await;
        out.push((
            total as f64,
            (sys::live_heap_bytes() - base) as f64 / 1024.0,
        ));
    }
    client.close().await;
    Ok(out)
}

/// Heap growth (KiB) of one client whose backend is unreachable, after each total of sends.
async fn queue(totals: &[u64]) -> Result<Vec<(f64, f64)>, Error> {
    // A port nobody listens on: bound, then released.
    let port = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await?
        .local_addr()?
        .port();
    let client = Client::builder(DialectKind::Native, format!("http://127.0.0.1:{port}"))
        .allow_insecure(true)
        .build()?;
    settle().await;
    let base = sys::live_heap_bytes();
    let (mut done, mut out) = (0u64, Vec::new());
    for &total in totals {
        for _ in done..total {
            match client.send("queued while offline").await {
                Ok(receipt) => drop(receipt),
                Err(ClientError::QueueFull { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        done = total;
        settle().await;
        out.push((
            total as f64,
            (sys::live_heap_bytes() - base) as f64 / 1024.0,
        ));
    }
    client.close().await;
    Ok(out)
}

async fn settle() {
    tokio::time::sleep(Duration::from_millis(50)).await;
}

//! The reconnect storm: n native clients (default backoff) connected to an in-process bench
//! server, which restarts: it drops every connection (first without, then with a `goodbye`
//! `retry_after_ms` hint) and refuses connections for a while. The server counts every
//! connection attempt; the figures are the peak attempts per 100 ms over the uniform mean (the
//! attempts spread evenly from the first attempt to the last; 1.0 is perfectly spread) and the
//! time from the drop until every client is `Ready` again. The server runs on its own runtime and threads.

use crate::Scale;
use crate::report::{Figure, Report, Series};
use crate::server::Native;
use chatwire::ConnectionState;
use chatwire::client::{Client, DialectKind};
use std::time::{Duration, Instant};

pub const SECTION: &str = "Reconnect storm";
const BUCKET: Duration = Duration::from_millis(100);

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Runs both restarts and adds the figures to `report`.
pub fn run(scale: &Scale, report: &mut Report) -> Result<(), Error> {
    report.describe(SECTION, "Connection attempts counted by the server after it drops every client and refuses connections for a \
        while (1 s in full mode); the uniform mean spreads the attempts evenly from the first attempt to the last. \
        The goodbye hint is `retry_after_ms` equal to the refusal.");
    let n = if scale.smoke { 50 } else { 1_000 };
    let refuse = if scale.smoke {
        Duration::from_millis(300)
    } else {
        Duration::from_secs(1)
    };
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let server = Native::new();
    let listener = server_rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let url = format!("http://{}", listener.local_addr()?);
    server_rt.spawn(server.clone().run(listener));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut clients = Vec::with_capacity(n);
        for i in 0..n {
            let client = Client::builder(DialectKind::Native, url.as_str())
                .allow_insecure(true)
                .param("conversation_id", format!("storm-{i}"))
                .build()?;
            client.connect().await?;
            clients.push(client);
        }
        all_ready(&clients, None, Duration::from_secs(60)).await?;
        for hint in [None, Some(refuse)] {
            let base: Vec<u64> = clients.iter().map(|c| c.stats().reconnects).collect();
            let t0 = Instant::now();
            let restarting = server.clone();
            server_rt.spawn(async move { restarting.restart(hint, refuse).await });
            let back = all_ready(&clients, Some(&base), Duration::from_secs(120)).await?;
            let attempts: Vec<Duration> = server
                .attempts()
                .into_iter()
                .filter(|t| *t >= t0)
                .map(|t| t - t0)
                .collect();
            let (peak, mean, total) = spread(&attempts);
            // The plot: attempts per 100 ms since the drop.
            let buckets = (back.as_secs_f64() / BUCKET.as_secs_f64()).ceil().max(1.0) as usize;
            let mut counts = vec![0usize; buckets];
            for a in &attempts {
                if let Some(c) = counts.get_mut((a.as_secs_f64() / BUCKET.as_secs_f64()) as usize) {
                    *c += 1;
                }
            }
            let label = if hint.is_some() {
                "goodbye hint"
            } else {
                "no hint"
            };
            let note = format!(
                "{n} clients, server refusing for {} ms, {total} attempts",
                refuse.as_millis()
            );
            report.figures.push(
                Figure::versus(
                    SECTION,
                    format!("{label}: peak attempts per 100 ms"),
                    peak,
                    "",
                    "uniform mean",
                    mean,
                )
                .note(note),
            );
            report.figures.push(Figure::plain(
                SECTION,
                format!("{label}: all Ready again after"),
                back.as_secs_f64(),
                "s",
            ));
            report.series.push(Series {
                plot: "storm",
                name: label.into(),
                points: counts
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (i as f64 * 0.1, *c as f64))
                    .collect(),
            });
            eprintln!(
                "  {label}: peak {peak} / mean {mean:.1} per 100 ms, all ready after {:.2} s",
                back.as_secs_f64()
            );
        }
        for client in &clients {
            client.close().await;
        }
        Ok::<(), Error>(())
    })?;
    drop(server_rt);
    Ok(())
}

/// Peak attempts in a 100 ms bucket, the uniform mean (attempts spread evenly over the
/// buckets from the first attempt to the last), and the number of attempts.
fn spread(attempts: &[Duration]) -> (f64, f64, usize) {
    let Some(first) = attempts.iter().min().copied() else {
        return (0.0, 0.0, 0);
    };
    let mut counts: Vec<usize> = Vec::new();
    for a in attempts {
        let i = ((*a - first).as_secs_f64() / BUCKET.as_secs_f64()) as usize;
        if counts.len() <= i {
            counts.resize(i + 1, 0);
        }
        counts[i] += 1;
    }
    let peak = counts.iter().copied().max().unwrap_or(0) as f64;
    (
        peak,
        attempts.len() as f64 / counts.len() as f64,
        attempts.len(),
    )
}

/// Waits until every client is `Ready` (with `base`: and has gone through `Reconnecting` since
/// `base` was read, so a client that has not yet seen the drop does not count); returns the
/// time taken.
async fn all_ready(
    clients: &[Client],
    base: Option<&[u64]>,
    limit: Duration,
) -> Result<Duration, Error> {
    let t0 = Instant::now();
    loop {
        let ready = clients
            .iter()
            .enumerate()
            .filter(|(i, c)| {
                c.state() == ConnectionState::Ready
                    && base.is_none_or(|b| b.get(*i).is_some_and(|b| c.stats().reconnects > *b))
            })
            .count();
        if ready == clients.len() {
            return Ok(t0.elapsed());
        }
        if t0.elapsed() > limit {
            return Err(
                format!("{ready} of {} clients ready after {limit:?}", clients.len()).into(),
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_is_peak_over_mean_from_first_to_last_attempt() {
        let ms = |m: u64| Duration::from_millis(m);
        // Nothing for 3 s, then 4 attempts in the first bucket and 2 in the second.
        let attempts = [ms(3000), ms(3010), ms(3050), ms(3099), ms(3100), ms(3150)];
        assert_eq!(spread(&attempts), (4.0, 3.0, 6));
        assert_eq!(spread(&[]), (0.0, 0.0, 0));
    }
}

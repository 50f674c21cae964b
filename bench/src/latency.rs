//! Added latency per streamed token: the server sends native `text_delta`s one every
//! millisecond, each carrying its send time (Unix ns) as its text; the reader takes the
//! difference on arrival. The client (`Client::events()`) and the raw loop (tokio-tungstenite +
//! `serde_json::Value`) read the same paced stream from the same server process, on both
//! runtimes, in alternating rounds; the figure is p50 and p99 of each and what the client adds
//! over the raw loop.

use crate::Scale;
use crate::child::ServerProc;
use crate::flood;
use crate::report::{Figure, Report};
use crate::server::unix_nanos;
use crate::throughput::Flavor;
use chatwire::event::{Event, TextUpdate};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

pub const SECTION: &str = "Latency per streamed token";
const GAP_US: u64 = 1000;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Measures both readers on both runtimes and adds the figures to `report`.
pub fn run(server: &ServerProc, scale: &Scale, report: &mut Report) -> Result<(), Error> {
    report.describe(SECTION, "Arrival time minus the server's send time (Unix ns carried in each token), one token per millisecond, \
        raw loop and client in alternating rounds. p99 is sensitive to other load on the machine (see the load average above).");
    let (rounds, per_round) = if scale.smoke { (1, 100) } else { (6, 500) };
    let tokens = rounds * per_round;
    for flavor in [Flavor::CurrentThread, Flavor::MultiThread] {
        // Short alternating rounds, so a burst of load from elsewhere hits both readers alike.
        let (mut raw_us, mut client_us) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            raw_us.extend(flavor.runtime()?.block_on(raw(&server.ws, per_round))?);
            client_us.extend(flavor.runtime()?.block_on(client(&server.ws, per_round))?);
        }
        let (raw, client) = (raw_us, client_us);
        let (raw50, raw99) = (pct(&raw, 0.50), pct(&raw, 0.99));
        let (cl50, cl99) = (pct(&client, 0.50), pct(&client, 0.99));
        let base = "tokio-tungstenite + serde_json::Value";
        let name = |p: &str| format!("native, {}, chatwire Client, {p}", flavor.label());
        report.figures.push(
            Figure::versus(SECTION, name("p50"), cl50, "µs", base, raw50).note(format!(
                "adds {:.1} µs; {tokens} tokens, 1 per ms",
                cl50 - raw50
            )),
        );
        report.figures.push(
            Figure::versus(SECTION, name("p99"), cl99, "µs", base, raw99)
                .note(format!("adds {:.1} µs", cl99 - raw99)),
        );
        eprintln!(
            "  {}: raw p50 {raw50:.1} p99 {raw99:.1} µs, client p50 {cl50:.1} p99 {cl99:.1} µs",
            flavor.label()
        );
    }
    Ok(())
}

/// The latencies (µs) of `tokens` paced tokens read through chatwire's `Client`.
async fn client(ws_base: &str, tokens: usize) -> Result<Vec<f64>, Error> {
    let client = flood::native_client(ws_base).await?;
    let mut events = client.events();
    client.send(format!("pace:{tokens}:{GAP_US}")).await?;
    let mut out = Vec::with_capacity(tokens);
    while out.len() < tokens {
        let Some(envelope) = events.recv().await else {
            return Err("the client closed".into());
        };
        if let Event::TextDelta {
            update: TextUpdate::Append { text, .. },
            ..
        } = &envelope.event
        {
            out.push(since(text)?);
        }
    }
    client.close().await;
    Ok(out)
}

/// The latencies (µs) of `tokens` paced tokens read by the raw loop.
async fn raw(ws_base: &str, tokens: usize) -> Result<Vec<f64>, Error> {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{ws_base}/native/v1/ws")).await?;
    let hello = json!({"type":"hello","conversation_id":"raw","since_seq":0});
    ws.send(Message::text(hello.to_string())).await?;
    ws.next().await.ok_or("closed before welcome")??;
    let send = json!({"type":"send","client_id":"raw-1","text":format!("pace:{tokens}:{GAP_US}")});
    ws.send(Message::text(send.to_string())).await?;
    let mut out = Vec::with_capacity(tokens);
    while out.len() < tokens {
        let Some(msg) = ws.next().await else {
            return Err("closed".into());
        };
        let Message::Text(text) = msg? else { continue };
        let frame: Value = serde_json::from_str(text.as_str())?;
        if frame["kind"] == "text_delta" {
            out.push(since(frame["text"].as_str().unwrap_or_default())?);
        }
    }
    let _ = ws.close(None).await;
    Ok(out)
}

/// Microseconds since the stamp in `text` (`"<unix ns> "`).
fn since(text: &str) -> Result<f64, Error> {
    let sent: u128 = text.trim().parse()?;
    Ok(unix_nanos().saturating_sub(sent) as f64 / 1000.0)
}

/// The `q` quantile of `xs` (nearest rank).
fn pct(xs: &[f64], q: f64) -> f64 {
    let mut s = xs.to_vec();
    s.sort_by(f64::total_cmp);
    let i = ((s.len() as f64 * q).ceil() as usize).clamp(1, s.len().max(1)) - 1;
    s.get(i).copied().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let xs: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(pct(&xs, 0.5), 50.0);
        assert_eq!(pct(&xs, 0.99), 99.0);
        assert!(since("not a stamp").is_err());
    }
}

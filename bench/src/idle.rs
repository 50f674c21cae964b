//! Memory per idle connected client: n connections to the native bench server, all handshaken
//! and idle, in a child process per configuration (so figures never mix), measured as the growth
//! of its resident set (`/proc/self/statm`) from before the first connection to after the last
//! is ready, divided by n. Contenders: chatwire's `Client` (defaults), and a raw
//! tokio-tungstenite connection with one reader task each, with the default `WebSocketConfig`
//! (128 KiB read buffer) and with a 4 KiB read buffer. The child raises its open-file limit to
//! the hard limit (`setrlimit`) first: 5,000 clients need more than the usual 1,024. Last, the
//! whole resident set of a process holding 10,000 idle chatwire clients.

use crate::Scale;
use crate::child::{self, ServerProc};
use crate::report::{Figure, Report, Series};
use crate::sys;
use chatwire::ConnectionState;
use chatwire::client::{Client, DialectKind};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

pub const SECTION: &str = "Memory per idle connected client";
/// The configurations, as passed to `chatwire-bench idle-child --kind`.
pub const KINDS: [&str; 3] = ["client", "raw-default", "raw-4k"];

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Runs one child per (kind, n) and adds the figures to `report`.
pub fn run(server: &ServerProc, scale: &Scale, report: &mut Report) -> Result<(), Error> {
    report.describe(SECTION, "Resident set growth of a child process per configuration, from before the first connection to \
        0.5 s after every connection is ready, divided by the clients; the marginal figure is the growth from 1,000 to 5,000 clients \
        per added client; the last figure is the whole resident set of a process holding 10,000 idle clients. The child raises its open-file limit to the hard limit (`setrlimit`).");
    let counts: &[usize] = if scale.smoke { &[50] } else { &[1_000, 5_000] };
    // (n, RSS growth in KiB per kind) of each count, for the marginal cost below.
    let mut totals: Vec<(usize, Vec<f64>)> = Vec::new();
    for &n in counts {
        let mut per: Vec<f64> = Vec::new();
        for kind in KINDS {
            let line = child::run(&[
                "idle-child",
                "--kind",
                kind,
                "--n",
                &n.to_string(),
                "--url",
                &server.ws,
            ])?;
            let v: Value = serde_json::from_str(&line)?;
            let delta = v["rss_after"].as_f64().unwrap_or(f64::NAN)
                - v["rss_before"].as_f64().unwrap_or(f64::NAN);
            per.push(delta / n as f64 / 1024.0);
            match totals.iter_mut().find(|t| t.0 == n) {
                Some(t) => t.1.push(delta / 1024.0),
                None => totals.push((n, vec![delta / 1024.0])),
            }
            eprintln!("  {kind} x {n}: {:.1} KiB per client", per[per.len() - 1]);
        }
        let at = |what: &str| format!("{what}, {n} clients");
        report.figures.push(Figure::versus(
            SECTION,
            at("chatwire Client"),
            per[0],
            "KiB",
            "raw tokio-tungstenite, 4 KiB read buffer",
            per[2],
        ));
        report.figures.push(Figure::versus(
            SECTION,
            at("chatwire Client"),
            per[0],
            "KiB",
            "raw tokio-tungstenite, default config",
            per[1],
        ));
        report.figures.push(Figure::plain(
            SECTION,
            at("raw tokio-tungstenite, default config"),
            per[1],
            "KiB",
        ));
        report.figures.push(Figure::plain(
            SECTION,
            at("raw tokio-tungstenite, 4 KiB read buffer"),
            per[2],
            "KiB",
        ));
        for (kind, kib) in KINDS.iter().zip(&per) {
            match report
                .series
                .iter_mut()
                .find(|s| s.plot == "idle" && s.name == *kind)
            {
                Some(s) => s.points.push((n as f64, *kib)),
                None => report.series.push(Series {
                    plot: "idle",
                    name: (*kind).into(),
                    points: vec![(n as f64, *kib)],
                }),
            }
        }
    }
    // The whole process with many clients (the 10,000 idle clients under 256 MiB):
    // chatwire's client only, its resident set after every client is ready.
    let many = if scale.smoke { 50 } else { 10_000 };
    let line = child::run(&[
        "idle-child",
        "--kind",
        "client",
        "--n",
        &many.to_string(),
        "--url",
        &server.ws,
    ])?;
    let v: Value = serde_json::from_str(&line)?;
    let rss_mib = v["rss_after"].as_f64().unwrap_or(f64::NAN) / (1024.0 * 1024.0);
    eprintln!("  client x {many}: whole process {rss_mib:.1} MiB");
    report.figures.push(Figure::plain(
        SECTION,
        format!("chatwire Client, {many} clients, whole process resident set (ceiling 256 MiB)"),
        rss_mib,
        "MiB",
    ));
    // The marginal cost: what each client past the first count adds (the 1k -> 5k).
    if let [(n0, a), (n1, b), ..] = totals.as_slice() {
        let extra = (n1 - n0) as f64;
        let m: Vec<f64> = a.iter().zip(b).map(|(a, b)| (b - a) / extra).collect();
        let name = format!("chatwire Client, marginal {n0} -> {n1} clients");
        report.figures.push(Figure::versus(
            SECTION,
            name.clone(),
            m[0],
            "KiB",
            "raw tokio-tungstenite, 4 KiB read buffer",
            m[2],
        ));
        report.figures.push(Figure::versus(
            SECTION,
            name,
            m[0],
            "KiB",
            "raw tokio-tungstenite, default config",
            m[1],
        ));
    }
    Ok(())
}

/// The body of `chatwire-bench idle-child`: connects `n` idle clients of `kind` to `ws_base`
/// and prints `{"n", "rss_before", "rss_after", "fd_limit"}`.
pub fn child_main(kind: &str, n: usize, ws_base: &str) -> Result<(), Error> {
    let fd_limit = sys::raise_fd_limit();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (before, after) = rt.block_on(async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let before = sys::rss_bytes();
        let mut clients = Vec::new();
        let mut raws = Vec::new();
        for i in 0..n {
            match kind {
                "client" => {
                    let client = Client::builder(
                        DialectKind::Native,
                        ws_base.replacen("ws://", "http://", 1),
                    )
                    .allow_insecure(true)
                    .param("conversation_id", format!("idle-{i}"))
                    .build()?;
                    client.connect().await?;
                    clients.push(client);
                }
                _ => {
                    let read_buffer = if kind == "raw-4k" {
                        4096
                    } else {
                        WebSocketConfig::default().read_buffer_size
                    };
                    let config = WebSocketConfig::default().read_buffer_size(read_buffer);
                    let url = format!("{ws_base}/native/v1/ws");
                    let (mut ws, _) =
                        tokio_tungstenite::connect_async_with_config(url, Some(config), true)
                            .await?;
                    let hello =
                        json!({"type":"hello","conversation_id":format!("idle-{i}"),"since_seq":0});
                    ws.send(Message::text(hello.to_string())).await?;
                    ws.next().await.ok_or("closed before welcome")??;
                    // One reader task per connection, as an app would have.
                    raws.push(tokio::spawn(async move {
                        while let Some(Ok(_)) = ws.next().await {}
                    }));
                }
            }
        }
        for client in &clients {
            let mut state = client.state_watch();
            tokio::time::timeout(
                Duration::from_secs(60),
                state.wait_for(|s| *s == ConnectionState::Ready),
            )
            .await
            .map_err(|_| "a client did not become ready in 60 s")??;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = sys::rss_bytes();
        std::hint::black_box((&clients, &raws));
        Ok::<_, Error>((before, after))
    })?;
    println!(
        "{}",
        json!({"n": n, "rss_before": before, "rss_after": after, "fd_limit": fd_limit})
    );
    std::process::exit(0); // no orderly close of thousands of sockets: the figures are taken
}

//! A quick local probe of the native client's inbound cost and idle footprint, each measured
//! side by side with a raw tokio-tungstenite loop against the same server in the same run.
//!
//! ```text
//! cargo run --release -p chatwire --example inbound_probe -- flood local 200000
//! cargo run --release -p chatwire --example inbound_probe -- flood-mt local 200000
//! chatwire-mock --port 8090 &                    # a server in its own process
//! cargo run --release -p chatwire --example inbound_probe -- idle http://127.0.0.1:8090 1000
//! ```
//!
//! `flood` streams one turn of N text deltas (`local`: from a minimal native server on a thread
//! of its own that writes pre-built frames, so it is not the bottleneck; a URL: `/flood N` from
//! that server) to a raw loop (hello, send, then `serde_json::Value` per frame until
//! `turn_completed`) and to a `Client` (the same turn through `events()`), on a current-thread
//! runtime (`flood-mt`: multi-thread), and prints events/s and the client/raw ratio.
//! `PROBE_KEEP_RAW=0` runs the client with `keep_raw(false)`. `idle` connects N raw sockets with
//! a 4 KiB read buffer, then N raw sockets with tungstenite's defaults, then N clients, and
//! prints the resident memory each added per connection. The project's bench harness is the
//! reference; this probe is for quick before/after checks while working on the driver.

use chatwire::client::{Client, DialectKind};
use chatwire::event::Event;
use futures_util::{SinkExt, StreamExt};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::{Message, protocol::WebSocketConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, base, n) = match args.as_slice() {
        [mode, base, n] => (mode.as_str(), base.clone(), n.parse::<u64>()?),
        _ => return Err("usage: inbound_probe flood|flood-mt|idle <base_url> <count>".into()),
    };
    let rt = match mode {
        "flood-mt" => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?,
        _ => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
    };
    let base = if base == "local" { serve()? } else { base };
    rt.block_on(async move {
        match mode {
            "flood" | "flood-mt" => flood(&base, n).await,
            "idle" => idle(&base, n).await,
            _ => Err(format!("unknown mode {mode}").into()),
        }
    })
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

async fn flood(base: &str, n: u64) -> Res<()> {
    let mut best = (f64::MAX, f64::MAX);
    for round in 0..3 {
        let raw = raw_flood(
            base,
            n,
            &format!("probe-raw-{round}-{}", std::process::id()),
        )
        .await?;
        let client =
            client_flood(base, n, &format!("probe-cl-{round}-{}", std::process::id())).await?;
        best = (best.0.min(raw), best.1.min(client));
    }
    let per = |s: f64| s / n as f64 * 1e9;
    println!(
        "flood of {n} deltas: raw loop {:.0} ns/event ({:.0} events/s), client {:.0} ns/event ({:.0} events/s), client/raw throughput {:.2}x",
        per(best.0),
        n as f64 / best.0,
        per(best.1),
        n as f64 / best.1,
        best.0 / best.1
    );
    Ok(())
}

fn ws_url(base: &str) -> String {
    format!("{}/native/v1/ws", base.replacen("http", "ws", 1))
}

/// The raw loop; returns seconds from the send to `turn_completed`.
async fn raw_flood(base: &str, n: u64, conversation: &str) -> Res<f64> {
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(base)).await?;
    let hello =
        serde_json::json!({"type": "hello", "conversation_id": conversation, "since_seq": 0});
    ws.send(Message::text(hello.to_string())).await?;
    ws.next().await.ok_or("no welcome")??;
    let send = serde_json::json!({"type": "send", "client_id": "0192f0a0-0000-7000-8000-000000000001", "text": format!("/flood {n}")});
    let start = Instant::now();
    ws.send(Message::text(send.to_string())).await?;
    let mut deltas = 0u64;
    while let Some(message) = ws.next().await {
        if let Message::Text(text) = message? {
            let v: serde_json::Value = serde_json::from_str(&text)?;
            match v.get("kind").and_then(|k| k.as_str()) {
                Some("text_delta") => deltas += 1,
                Some("turn_completed") => break,
                _ => {}
            }
        }
    }
    let took = start.elapsed().as_secs_f64();
    if deltas != n {
        return Err(format!("raw loop saw {deltas} deltas of {n}").into());
    }
    Ok(took)
}

/// The same turn through a `Client`.
async fn client_flood(base: &str, n: u64, conversation: &str) -> Res<f64> {
    let keep_raw = std::env::var("PROBE_KEEP_RAW").map_or(true, |v| v != "0");
    let client = Client::builder(DialectKind::Native, base)
        .param("conversation_id", conversation)
        .keep_raw(keep_raw)
        .build()?;
    let mut events = client.events();
    client.connect().await?;
    client.state_watch().wait_for(|s| s.is_ready()).await?;
    let start = Instant::now();
    let _receipt = client.send(format!("/flood {n}")).await?;
    let mut deltas = 0u64;
    while let Some(envelope) = events.recv().await {
        match envelope.event {
            Event::TextDelta { .. } => deltas += 1,
            Event::TurnCompleted { .. } => break,
            _ => {}
        }
    }
    let took = start.elapsed().as_secs_f64();
    client.close().await;
    if deltas != n {
        return Err(format!("client saw {deltas} deltas of {n}").into());
    }
    Ok(took)
}

async fn idle(base: &str, n: u64) -> Res<()> {
    let small = WebSocketConfig::default().read_buffer_size(4 * 1024);
    let kib = |before: u64, after: u64| after.saturating_sub(before) as f64 / 1024.0 / n as f64;

    let before = settle().await;
    let mut raw_small = Vec::new();
    for i in 0..n {
        raw_small.push(raw_idle(base, &format!("idle-r4-{i}"), Some(small)).await?);
    }
    let after = settle().await;
    let r4 = kib(before, after);

    let before = settle().await;
    let mut raw_default = Vec::new();
    for i in 0..n {
        raw_default.push(raw_idle(base, &format!("idle-rd-{i}"), None).await?);
    }
    let after = settle().await;
    let rd = kib(before, after);

    let before = settle().await;
    let mut clients = Vec::new();
    for i in 0..n {
        let client = Client::builder(DialectKind::Native, base)
            .param("conversation_id", format!("idle-c-{i}"))
            .build()?;
        client.connect().await?;
        client.state_watch().wait_for(|s| s.is_ready()).await?;
        clients.push(client);
    }
    let after = settle().await;
    let cl = kib(before, after);
    println!(
        "idle memory per connection ({n} each): raw 4 KiB buffer {r4:.1} KiB, raw default {rd:.1} KiB, client {cl:.1} KiB, client/raw-4KiB {:.2}x",
        cl / r4
    );
    drop((raw_small, raw_default));
    for client in clients {
        client.close().await;
    }
    Ok(())
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A raw connection past its handshake (hello answered), then left idle.
async fn raw_idle(base: &str, conversation: &str, config: Option<WebSocketConfig>) -> Res<Ws> {
    let (mut ws, _) =
        tokio_tungstenite::connect_async_with_config(ws_url(base), config, false).await?;
    let hello =
        serde_json::json!({"type": "hello", "conversation_id": conversation, "since_seq": 0});
    ws.send(Message::text(hello.to_string())).await?;
    ws.next().await.ok_or("no welcome")??;
    Ok(ws)
}

/// Resident set size in bytes after the runtime had a moment to settle.
async fn settle() -> u64 {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// A minimal native server on a thread of its own: `welcome` to `hello`, and to a `send` of
/// `/flood N` an ack, then `turn_started`, `message_started`, N `text_delta`s and
/// `turn_completed`, all built before the ack and written back to back. Returns its base URL.
fn serve() -> Res<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let base = format!("http://{}", listener.local_addr()?);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::spawn(move || {
        rt.block_on(async move {
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                return;
            };
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let _ = serve_one(tcp).await;
                });
            }
        })
    });
    Ok(base)
}

async fn serve_one(tcp: tokio::net::TcpStream) -> Res<()> {
    let mut ws = tokio_tungstenite::accept_async(tcp).await?;
    let mut conversation = String::new();
    while let Some(message) = ws.next().await {
        let Message::Text(text) = message? else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(&text)?;
        match v.get("type").and_then(|t| t.as_str()) {
            Some("hello") => {
                conversation = v["conversation_id"].as_str().unwrap_or("c").to_string();
                let welcome = serde_json::json!({"type": "welcome", "conversation_id": conversation, "last_seq": 0, "resumed": true});
                ws.send(Message::text(welcome.to_string())).await?;
            }
            Some("send") => {
                let n: u64 = v["text"]
                    .as_str()
                    .and_then(|t| t.strip_prefix("/flood "))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(10);
                let frames = flood_frames(&conversation, n);
                let ack = serde_json::json!({"type": "ack", "client_id": v["client_id"], "message_id": "m-0", "duplicate": false});
                ws.send(Message::text(ack.to_string())).await?;
                for frame in frames {
                    ws.feed(Message::text(frame)).await?;
                }
                ws.flush().await?;
            }
            Some("ping") => {
                let pong = serde_json::json!({"type": "pong", "nonce": v["nonce"]});
                ws.send(Message::text(pong.to_string())).await?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// One turn of `n` deltas as native event frames (about 130 bytes each).
fn flood_frames(conversation: &str, n: u64) -> Vec<String> {
    let ts = 1_763_800_000_000u64;
    let mut seq = 0u64;
    let mut frame = |body: String| {
        seq += 1;
        format!(
            r#"{{"type":"event","seq":{seq},"ts":{ts},"conversation_id":"{conversation}","turn_id":"t-1",{body}}}"#
        )
    };
    let mut frames = vec![
        frame(r#""kind":"turn_started","reply_to":"x""#.into()),
        frame(r#""kind":"message_started","message_id":"m-1","role":"assistant""#.into()),
    ];
    let mut offset = 0;
    for i in 0..n {
        let text = format!("f{i} ");
        frames.push(frame(format!(
            r#""kind":"text_delta","message_id":"m-1","offset":{offset},"text":"{text}""#
        )));
        offset += text.len();
    }
    frames.push(frame(
        r#""kind":"turn_completed","finish_reason":"stop""#.into(),
    ));
    frames
}

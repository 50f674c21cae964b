//! The readers of a flood, one per contender, each timed from its request to its last event:
//! the count-only reader (the server's ceiling), the raw baseline a developer would write, and
//! chatwire's public `Client` API (`Client::events()`, or `shared_events()`).
//!
//! - native: raw = tokio-tungstenite + `serde_json::Value`, following `seq` and the text;
//! - openai: raw = reqwest + `eventsource-stream` + `serde_json::Value`.
//!
//! Each reader checks it saw every event (a short count is an error, never a figure). CPU time
//! is this process's (`getrusage`); the server runs in another process.

use crate::sys;
use chatwire::ConnectionState;
use chatwire::client::{Client, DialectKind};
use chatwire::event::{Event, TextUpdate};
use eventsource_stream::Eventsource;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// One timed read of a flood.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub events: usize,
    pub wall: Duration,
    pub cpu_us: u64,
    /// Heap allocations made by the whole process meanwhile.
    pub allocs: u64,
}

impl Sample {
    /// Events per second of wall time.
    pub fn rate(&self) -> f64 {
        self.events as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    /// Heap allocations per event.
    pub fn allocs_per_event(&self) -> f64 {
        self.allocs as f64 / self.events.max(1) as f64
    }

    /// CPU microseconds per event.
    pub fn cpu_per_event(&self) -> f64 {
        self.cpu_us as f64 / self.events.max(1) as f64
    }
}

/// The readings at the start of a timed read.
struct Meter {
    t0: Instant,
    cpu0: u64,
    allocs0: u64,
}

impl Meter {
    fn start() -> Meter {
        Meter {
            t0: Instant::now(),
            cpu0: sys::cpu_micros(),
            allocs0: sys::allocations(),
        }
    }

    fn finish(&self, events: usize) -> Sample {
        Sample {
            events,
            wall: self.t0.elapsed(),
            cpu_us: sys::cpu_micros() - self.cpu0,
            allocs: sys::allocations() - self.allocs0,
        }
    }
}

/// Who reads the flood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    CountOnly,
    Raw,
    Client,
    ClientShared,
    /// `Client::events()` with `keep_raw(false)`.
    ClientNoRaw,
}

impl Reader {
    pub fn label(self, dialect: &str) -> &'static str {
        match (self, dialect) {
            (Reader::CountOnly, _) => "count only (server ceiling)",
            (Reader::Raw, "native") => "tokio-tungstenite + serde_json::Value",
            (Reader::Raw, _) => "reqwest + eventsource-stream + serde_json::Value",
            (Reader::Client, _) => "chatwire Client::events(), keep_raw(true)",
            (Reader::ClientShared, _) => "chatwire Client::shared_events()",
            (Reader::ClientNoRaw, _) => "chatwire Client::events(), keep_raw(false) (default)",
        }
    }
}

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Reads a native flood of `events` events from `ws_base` (`ws://host:port`) with `reader`.
pub async fn native(ws_base: &str, events: usize, reader: Reader) -> Result<Sample, Error> {
    match reader {
        Reader::CountOnly | Reader::Raw => native_raw(ws_base, events, reader == Reader::Raw).await,
        Reader::Client | Reader::ClientShared | Reader::ClientNoRaw => {
            let client = native_client_with(ws_base, reader != Reader::ClientNoRaw).await?;
            let shared = reader == Reader::ClientShared;
            let sample =
                client_flood(&client, &format!("flood:{events}"), events, shared, false).await;
            client.close().await;
            sample
        }
    }
}

/// A ready native client on `ws_base`, long ping interval (the servers answer pings between
/// commands only).
pub async fn native_client(ws_base: &str) -> Result<Client, Error> {
    native_client_with(ws_base, true).await
}

async fn native_client_with(ws_base: &str, keep_raw: bool) -> Result<Client, Error> {
    let http = ws_base.replacen("ws://", "http://", 1);
    let client = Client::builder(DialectKind::Native, http)
        .allow_insecure(true)
        .keep_raw(keep_raw)
        .ping_interval(Duration::from_secs(600))
        .idle_timeout(Duration::from_secs(1200))
        .turn_timeout(Duration::from_secs(600))
        .build()?;
    client.connect().await?;
    let mut state = client.state_watch();
    tokio::time::timeout(
        Duration::from_secs(10),
        state.wait_for(|s| *s == ConnectionState::Ready),
    )
    .await
    .map_err(|_| "the client did not become ready in 10 s")??;
    Ok(client)
}

/// Sends `command` through `client` and counts conversation events until `expect` arrived
/// (`until_turn_end`: until `TurnCompleted`, counting text deltas only).
pub async fn client_flood(
    client: &Client,
    command: &str,
    expect: usize,
    shared: bool,
    until_turn_end: bool,
) -> Result<Sample, Error> {
    let mut plain = (!shared).then(|| client.events());
    let mut arcs = shared.then(|| client.shared_events());
    let meter = Meter::start();
    client.send(command).await?;
    let mut count = 0usize;
    loop {
        // `events()` hands out owned envelopes, `shared_events()` shared ones: read each as is.
        let step = match (&mut plain, &mut arcs) {
            (Some(s), _) => s.recv().await.map(|e| step(&e.event, until_turn_end)),
            (_, Some(s)) => s.recv().await.map(|e| step(&e.event, until_turn_end)),
            _ => None,
        };
        match step {
            None => {
                return Err(format!("the client closed after {count} of {expect} events").into());
            }
            Some(Step::Count) => count += 1,
            Some(Step::End) => break,
            Some(Step::Failed(error)) => return Err(error.into()),
            Some(Step::Skip) => {}
        }
        if !until_turn_end && count == expect {
            break;
        }
    }
    let sample = meter.finish(count);
    if count != expect {
        return Err(format!("the client saw {count} of {expect} events").into());
    }
    Ok(sample)
}

enum Step {
    Count,
    End,
    Skip,
    Failed(String),
}

/// What an event means to a flood reader: text deltas always count; with `until_turn_end` the
/// turn's end stops the read, otherwise every conversation event counts.
fn step(event: &Event, until_turn_end: bool) -> Step {
    match event {
        Event::TextDelta {
            update: TextUpdate::Append { .. },
            ..
        } => Step::Count,
        Event::TurnStarted { .. }
        | Event::MessageStarted { .. }
        | Event::MessageCompleted { .. }
            if !until_turn_end =>
        {
            Step::Count
        }
        Event::TurnCompleted { .. } if !until_turn_end => Step::Count,
        Event::TurnCompleted { .. } => Step::End,
        Event::TurnFailed { error } => Step::Failed(format!("turn failed: {error:?}")),
        _ => Step::Skip,
    }
}

async fn native_raw(ws_base: &str, events: usize, parse: bool) -> Result<Sample, Error> {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{ws_base}/native/v1/ws")).await?;
    let hello = json!({"type":"hello","conversation_id":"raw","since_seq":0});
    ws.send(Message::text(hello.to_string())).await?;
    ws.next().await.ok_or("closed before welcome")??;
    let meter = Meter::start();
    let send = json!({"type":"send","client_id":"raw-1","text":format!("flood:{events}")});
    ws.send(Message::text(send.to_string())).await?;
    let (mut count, mut frames, mut last_seq, mut text_len) = (0usize, 0usize, 0u64, 0usize);
    while count < events {
        let Some(msg) = ws.next().await else {
            return Err(format!("closed after {count} of {events} events").into());
        };
        let Message::Text(text) = msg? else { continue };
        frames += 1;
        if !parse {
            count = frames.saturating_sub(1); // the ack, then the events
            continue;
        }
        let frame: Value = serde_json::from_str(text.as_str())?;
        if frame["type"] != "event" {
            continue;
        }
        let seq = frame["seq"].as_u64().unwrap_or(0);
        if seq != last_seq + 1 {
            return Err(format!("seq gap: {last_seq} -> {seq}").into());
        }
        last_seq = seq;
        count += 1;
        if frame["kind"] == "text_delta" {
            text_len += frame["text"].as_str().map_or(0, str::len);
        }
    }
    let sample = meter.finish(count);
    std::hint::black_box(text_len);
    let _ = ws.close(None).await;
    Ok(sample)
}

/// Reads an OpenAI completion of `tokens` content chunks from `http_base` with `reader`.
pub async fn openai(http_base: &str, tokens: usize, reader: Reader) -> Result<Sample, Error> {
    match reader {
        Reader::CountOnly | Reader::Raw => {
            openai_raw(http_base, tokens, reader == Reader::Raw).await
        }
        Reader::Client | Reader::ClientShared | Reader::ClientNoRaw => {
            let client = Client::builder(DialectKind::Openai, http_base)
                .allow_insecure(true)
                .keep_raw(reader != Reader::ClientNoRaw)
                .turn_timeout(Duration::from_secs(600))
                .param("timeout_ms", "600000")
                .build()?;
            let shared = reader == Reader::ClientShared;
            let sample =
                client_flood(&client, &format!("flood:{tokens}"), tokens, shared, true).await;
            client.close().await;
            sample
        }
    }
}

async fn openai_raw(http_base: &str, tokens: usize, parse: bool) -> Result<Sample, Error> {
    let http = reqwest::Client::new();
    let body = json!({"model":"mock-gpt","stream":true,
        "messages":[{"role":"user","content":format!("flood:{tokens}")}]});
    let meter = Meter::start();
    let response = http
        .post(format!("{http_base}/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await?;
    let mut count = 0usize;
    if parse {
        let mut events = response.bytes_stream().eventsource();
        while let Some(event) = events.next().await {
            let event = event?;
            if event.data == "[DONE]" {
                break;
            }
            let chunk: Value = serde_json::from_str(&event.data)?;
            if let Some(text) = chunk["choices"][0]["delta"]["content"].as_str() {
                count += usize::from(!text.is_empty());
            }
        }
    } else {
        let mut bytes = response.bytes_stream();
        let mut blank_lines = 0usize;
        let mut prev = 0u8;
        while let Some(chunk) = bytes.next().await {
            for &b in chunk?.iter() {
                blank_lines += usize::from(b == b'\n' && prev == b'\n');
                prev = b;
            }
        }
        count = blank_lines.saturating_sub(3); // role chunk, finish chunk, [DONE]
    }
    let sample = meter.finish(count);
    if count != tokens {
        return Err(format!("saw {count} of {tokens} chunks").into());
    }
    Ok(sample)
}

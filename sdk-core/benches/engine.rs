//! Engine per-event cost for the native dialect: a streamed turn (1,000 text deltas plus its
//! framing events) fed as WebSocket frames into a ready engine — decode, dedup, turn tracking,
//! text assembly and envelope emission — with the outputs drained as a driver would.
//!
//! The baseline, measured on the same frames in the same run, is the least a hand-written client
//! does per frame: `serde_json::from_str::<serde_json::Value>` and nothing else (no dedup, no
//! turn tracking, no assembly). `cargo bench -p chatwire --bench engine` prints criterion's
//! events/s for both, the engine/baseline cost ratio, and heap allocations per event counted by a
//! counting global allocator in this benchmark binary.
//!
//! Two side-by-side figures for the session layer follow: the session's per-event cost (the
//! engine plus receipt routing, token and header rules, counters, one shared `Arc` envelope)
//! against the bare engine, and the fan-out of one envelope to three subscribers as a deep
//! clone per subscriber (the driver before the session layer) against one `Arc` shared by all.

use chatwire::dialect::native::{NativeConfig, NativeDialect};
use chatwire::session::{Session, SessionOptions, SessionOutput, Transport};
use chatwire::{Command, Config, ConnId, Engine, Frame, Input, Instant, Output};
use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counts heap allocations (and reallocations) of the benchmark process.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards to the system allocator with the caller's arguments unchanged;
// the counter has no effect on memory. (unsafe is needed to implement GlobalAlloc at all.)
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const DELTAS: u64 = 1_000;

/// A ready engine and the frames of one streamed turn.
fn setup(keep_raw: bool) -> (Engine, ConnId, Vec<String>) {
    let mut config = Config::default();
    config.keep_raw = keep_raw;
    let dialect = NativeDialect::new(NativeConfig::new("http://bench", "c-1"));
    let mut engine = Engine::new(config, Box::new(dialect)).expect("valid config");
    let now = Instant::ZERO;
    engine.connect(now).expect("open engine");
    let mut conn = None;
    while let Some(o) = engine.poll_output() {
        if let Output::OpenSocket { conn: c, .. } = o {
            conn = Some(c);
        }
    }
    let conn = conn.expect("socket requested");
    engine
        .handle(now, Input::SocketOpened { conn })
        .expect("opened");
    let welcome = r#"{"type":"welcome","conversation_id":"c-1","last_seq":0,"resumed":true}"#;
    let frame = Frame::Text(welcome.to_string());
    engine
        .handle(now, Input::SocketFrame { conn, frame })
        .expect("welcome");
    while engine.poll_output().is_some() {}
    let mut frames = Vec::new();
    let mut seq = 0;
    let mut ev = |body: String| {
        seq += 1;
        frames.push(format!(
            r#"{{"type":"event","seq":{seq},"ts":1763800000000,"turn_id":"t-1",{body}}}"#
        ));
    };
    ev(r#""kind":"turn_started","reply_to":"x""#.to_string());
    ev(r#""kind":"message_started","message_id":"m-1","role":"assistant""#.to_string());
    let mut offset = 0;
    for i in 0..DELTAS {
        let text = format!("tok{i} ");
        ev(format!(
            r#""kind":"text_delta","message_id":"m-1","offset":{offset},"text":"{text}""#
        ));
        offset += text.chars().count();
    }
    ev(r#""kind":"message_completed","message_id":"m-1","text":"...""#.to_string());
    ev(r#""kind":"turn_completed","finish_reason":"stop""#.to_string());
    (engine, conn, frames)
}

/// Feeds every frame and drains the outputs; returns the number of app events.
fn run(engine: &mut Engine, conn: ConnId, frames: Vec<String>) -> usize {
    let now = Instant::from_millis(1);
    let mut events = 0;
    for text in frames {
        let frame = Frame::Text(text);
        let _ = engine.handle(now, Input::SocketFrame { conn, frame });
        while let Some(o) = engine.poll_output() {
            if let Output::Event(e) = o {
                events += 1;
                black_box(e);
            }
        }
    }
    events
}

fn bench(c: &mut Criterion) {
    let (_, _, frames) = setup(true);
    let mut group = c.benchmark_group("engine/native");
    group.throughput(Throughput::Elements(frames.len() as u64));
    for keep_raw in [true, false] {
        let name = if keep_raw {
            "per-event (raw kept)"
        } else {
            "per-event (no raw)"
        };
        group.bench_function(name, |b| {
            b.iter_batched(
                || setup(keep_raw),
                |(mut engine, conn, frames)| run(&mut engine, conn, frames),
                BatchSize::LargeInput,
            )
        });
    }
    group.bench_function("baseline: serde_json::Value parse only", |b| {
        b.iter_batched(|| frames.clone(), baseline, BatchSize::LargeInput)
    });
    group.finish();
}

/// The baseline: parse every frame into a JSON value, nothing else.
fn baseline(frames: Vec<String>) -> usize {
    let mut parsed = 0;
    for text in frames {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
            black_box(v);
            parsed += 1;
        }
    }
    parsed
}

/// The engine's cost per event relative to the baseline, timed side by side in this run, with
/// the raw wire event kept (the default) and without. Each figure is the fastest of its rounds,
/// which keeps the ratio steady on a busy machine.
fn ratio() {
    const ROUNDS: u32 = 200;
    for keep_raw in [true, false] {
        let (mut engine_ns, mut baseline_ns, mut events) = (u128::MAX, u128::MAX, 0usize);
        for _ in 0..ROUNDS {
            let (mut engine, conn, frames) = setup(keep_raw);
            let copy = frames.clone();
            let t = std::time::Instant::now();
            events = run(&mut engine, conn, frames);
            engine_ns = engine_ns.min(t.elapsed().as_nanos());
            let t = std::time::Instant::now();
            black_box(baseline(copy));
            baseline_ns = baseline_ns.min(t.elapsed().as_nanos());
        }
        let per = |ns: u128| ns as f64 / events.max(1) as f64;
        println!(
            "engine per event (keep_raw={keep_raw}): {:.0} ns (decode + dedup + turns + assembly + envelope), baseline JSON parse: {:.0} ns, ratio {:.2}x",
            per(engine_ns),
            per(baseline_ns),
            per(engine_ns) / per(baseline_ns)
        );
    }
}

/// Allocations per event (frame strings are built in setup, outside the count).
fn allocations() {
    for keep_raw in [true, false] {
        let (mut engine, conn, frames) = setup(keep_raw);
        let n = frames.len() as u64;
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        let events = run(&mut engine, conn, frames);
        let allocs = ALLOCATIONS.load(Ordering::Relaxed) - before;
        println!(
            "engine allocations (keep_raw={keep_raw}): {allocs} for {n} frames / {events} events = {:.1} per event",
            allocs as f64 / events as f64
        );
    }
}

/// The same turn through a [`Session`] wrapping the same engine config, drained as a driver does.
fn session_setup() -> (Session, ConnId, Vec<String>) {
    let (_, _, frames) = setup(true);
    let dialect = NativeDialect::new(NativeConfig::new("http://bench", "c-1"));
    let mut session = Session::new(
        Config::default(),
        Box::new(dialect),
        SessionOptions::default(),
    )
    .expect("valid config");
    let now = Instant::ZERO;
    session.handle(now, Command::Connect.into()).expect("open");
    let mut conn = None;
    while let Some(o) = session.poll() {
        if let SessionOutput::Transport(Transport::OpenSocket { conn: c, .. }) = o {
            conn = Some(c);
        }
    }
    let conn = conn.expect("socket requested");
    session
        .handle(now, Input::SocketOpened { conn }.into())
        .expect("opened");
    let welcome = r#"{"type":"welcome","conversation_id":"c-1","last_seq":0,"resumed":true}"#;
    let frame = Frame::Text(welcome.to_string());
    session
        .handle(now, Input::SocketFrame { conn, frame }.into())
        .expect("welcome");
    while session.poll().is_some() {}
    (session, conn, frames)
}

fn run_session(session: &mut Session, conn: ConnId, frames: Vec<String>) -> usize {
    let now = Instant::from_millis(1);
    let mut events = 0;
    for text in frames {
        let frame = Frame::Text(text);
        let _ = session.handle(now, Input::SocketFrame { conn, frame }.into());
        while let Some(o) = session.poll() {
            if let SessionOutput::Event(e) = o {
                events += 1;
                black_box(e);
            }
        }
    }
    events
}

/// Session vs engine per event, and fan-out to three subscribers: deep clones vs one `Arc`.
fn session_and_fanout() {
    const ROUNDS: u32 = 100;
    let (mut engine_ns, mut session_ns, mut events) = (0u128, 0u128, 0usize);
    for _ in 0..ROUNDS {
        let (mut engine, conn, frames) = setup(true);
        let t = std::time::Instant::now();
        events = run(&mut engine, conn, frames);
        engine_ns += t.elapsed().as_nanos();
        let (mut session, conn, frames) = session_setup();
        let t = std::time::Instant::now();
        black_box(run_session(&mut session, conn, frames));
        session_ns += t.elapsed().as_nanos();
    }
    let per = |ns: u128| ns as f64 / f64::from(ROUNDS) / events.max(1) as f64;
    println!(
        "session per event: {:.0} ns, engine per event: {:.0} ns (same frames, same run), ratio {:.2}x",
        per(session_ns),
        per(engine_ns),
        per(session_ns) / per(engine_ns)
    );

    // One turn's envelopes, delivered to three subscribers.
    let (mut engine, conn, frames) = setup(true);
    let now = Instant::from_millis(1);
    let mut envelopes = Vec::new();
    for text in frames {
        let frame = Frame::Text(text);
        let _ = engine.handle(now, Input::SocketFrame { conn, frame });
        while let Some(o) = engine.poll_output() {
            if let Output::Event(e) = o {
                envelopes.push(e);
            }
        }
    }
    let (mut deep_ns, mut shared_ns) = (0u128, 0u128);
    for _ in 0..ROUNDS {
        let batch = envelopes.clone();
        let t = std::time::Instant::now();
        for e in batch {
            let subscribers = [e.clone(), e.clone(), e];
            black_box(subscribers);
        }
        deep_ns += t.elapsed().as_nanos();
        let batch = envelopes.clone();
        let t = std::time::Instant::now();
        for e in batch {
            let e = Arc::new(e);
            let subscribers = [Arc::clone(&e), Arc::clone(&e), e];
            black_box(subscribers);
        }
        shared_ns += t.elapsed().as_nanos();
    }
    let per = |ns: u128| ns as f64 / f64::from(ROUNDS) / envelopes.len().max(1) as f64;
    println!(
        "fan-out to 3 subscribers per event: deep clones {:.0} ns, shared Arc {:.0} ns, ratio {:.2}x",
        per(deep_ns),
        per(shared_ns),
        per(deep_ns) / per(shared_ns)
    );
}

criterion_group!(benches, bench);

fn main() {
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
    ratio();
    allocations();
    session_and_fanout();
}

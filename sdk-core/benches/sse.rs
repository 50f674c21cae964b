//! SSE parser throughput: `chatwire::sse::Parser` against the `eventsource-stream` crate on the
//! same inputs, chunked the same way (1,460-byte reads, a typical TCP segment), in the same run.
//!
//! `cargo bench -p chatwire --bench sse` prints criterion's MB/s for both and, at the end, the
//! ratio measured over a fixed number of passes.

use criterion::{Criterion, Throughput, criterion_group};
use eventsource_stream::Eventsource;
use futures::stream::{self, StreamExt};
use std::convert::Infallible;
use std::hint::black_box;
use std::time::Instant;

/// Named inputs: (name, bytes, expected event count).
fn inputs() -> Vec<(&'static str, Vec<u8>, usize)> {
    // Token streaming as OpenAI-compatible backends send it: many small events.
    let mut tokens = Vec::new();
    for i in 0..20_000 {
        if i % 10 == 0 {
            tokens.extend_from_slice(format!("id: {i}\n").as_bytes());
        }
        tokens.extend_from_slice(
            format!(
                "data: {{\"id\":\"c-1\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"tok{i} \"}}}}]}}\n\n"
            )
            .as_bytes(),
        );
    }
    tokens.extend_from_slice(b": keep-alive\n\ndata: [DONE]\n\n");
    // Larger events: named, multi-line data, CRLF line endings.
    let mut multiline = Vec::new();
    for i in 0..2_000 {
        multiline.extend_from_slice(format!("event: message\r\nid: {i}\r\n").as_bytes());
        for _ in 0..10 {
            multiline.extend_from_slice(b"data: ");
            multiline.extend_from_slice(&[b'x'; 80]);
            multiline.extend_from_slice(b"\r\n");
        }
        multiline.extend_from_slice(b"\r\n");
    }
    vec![("tokens", tokens, 20_001), ("multiline", multiline, 2_000)]
}

fn chunks(input: &[u8]) -> Vec<&[u8]> {
    input.chunks(1460).collect()
}

fn chatwire_count(chunks: &[&[u8]]) -> usize {
    let mut parser = chatwire::sse::Parser::new();
    let mut out = Vec::new();
    let mut n = 0;
    for chunk in chunks {
        parser.feed_into(chunk, &mut out);
        n += out.len();
        for e in out.drain(..) {
            black_box(e);
        }
    }
    n
}

fn eventsource_count(chunks: &[&[u8]]) -> usize {
    let s = stream::iter(chunks.iter().map(|c| Ok::<_, Infallible>(*c)));
    futures::executor::block_on(s.eventsource().fold(0, |n, e| {
        black_box(e.is_ok());
        async move { n + 1 }
    }))
}

fn bench(c: &mut Criterion) {
    for (name, input, expected) in inputs() {
        let chunks = chunks(&input);
        assert_eq!(chatwire_count(&chunks), expected, "{name}: chatwire");
        assert_eq!(
            eventsource_count(&chunks),
            expected,
            "{name}: eventsource-stream"
        );
        let mut group = c.benchmark_group(format!("sse/{name}"));
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function("chatwire", |b| b.iter(|| chatwire_count(&chunks)));
        group.bench_function("eventsource-stream", |b| {
            b.iter(|| eventsource_count(&chunks))
        });
        group.finish();
    }
}

/// Same-run ratio over fixed passes, printed after criterion's report.
fn ratio() {
    for (name, input, _) in inputs() {
        let chunks = chunks(&input);
        let mb = input.len() as f64 / 1e6;
        let time = |f: &dyn Fn() -> usize| {
            f();
            let start = Instant::now();
            for _ in 0..20 {
                black_box(f());
            }
            start.elapsed().as_secs_f64() / 20.0
        };
        let ours = time(&|| chatwire_count(&chunks));
        let theirs = time(&|| eventsource_count(&chunks));
        println!(
            "sse ratio {name}: chatwire {:.0} MB/s, eventsource-stream {:.0} MB/s, {:.2}x",
            mb / ours,
            mb / theirs,
            theirs / ours
        );
    }
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    ratio();
}

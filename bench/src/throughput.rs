//! Inbound throughput, CPU and heap allocations per event: native over WebSocket and openai over SSE, chatwire's
//! `Client` beside the raw loop reading the same frames from the same server process, on the
//! current-thread and the multi-thread (2 workers) runtime. The count-only reader is measured
//! too: the raw loop and the client are only comparable when both stay well below it.
//!
//! Each contender runs `rounds` times, interleaved (count, raw, client, shared, count, ...), on
//! a fresh runtime each time; the figure is the median round.

use crate::Scale;
use crate::child::ServerProc;
use crate::flood::{self, Reader, Sample};
use crate::report::{Figure, Report, Series};

pub const SECTION: &str = "Inbound throughput";
pub const CPU: &str = "CPU per event";
pub const ALLOCS: &str = "Heap allocations per event (whole process)";

/// The runtime flavours measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    CurrentThread,
    MultiThread,
}

impl Flavor {
    pub fn label(self) -> &'static str {
        match self {
            Flavor::CurrentThread => "current-thread",
            Flavor::MultiThread => "multi-thread",
        }
    }

    /// A fresh runtime of this flavour.
    pub fn runtime(self) -> std::io::Result<tokio::runtime::Runtime> {
        match self {
            Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build(),
            Flavor::MultiThread => tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build(),
        }
    }
}

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Measures every contender and adds the figures to `report`.
pub fn run(server: &ServerProc, scale: &Scale, report: &mut Report) -> Result<(), Error> {
    report.describe(SECTION, "Events per second of wall time from the request to the last event, median of the rounds. \
        The server runs in its own process and sends pre-built frames; the count-only reader (no parsing) is its ceiling. \
        Native: turns of 1,000 events, about 130 bytes per `text_delta` frame. OpenAI: one completion of N content chunks.");
    report.describe(CPU, "CPU time (`getrusage`, user + system, every thread of the harness process; the server is another process) \
        divided by the events, in the same rounds as the throughput figures.");
    report.describe(ALLOCS, "Heap allocations (the harness's counting global allocator; reallocations count) made by the whole \
        process during the read, divided by the events: the reader's own and the runtime's.");
    let readers = [
        Reader::CountOnly,
        Reader::Raw,
        Reader::Client,
        Reader::ClientShared,
        Reader::ClientNoRaw,
    ];
    for dialect in ["native", "openai"] {
        let events = scale.flood_events;
        for flavor in [Flavor::CurrentThread, Flavor::MultiThread] {
            let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); readers.len()];
            for _ in 0..scale.rounds {
                for (i, reader) in readers.iter().enumerate() {
                    let rt = flavor.runtime()?;
                    let sample = rt.block_on(async {
                        match dialect {
                            "native" => flood::native(&server.ws, events, *reader).await,
                            _ => flood::openai(&server.http, events, *reader).await,
                        }
                    })?;
                    samples[i].push(sample);
                }
            }
            let med: Vec<(f64, f64, f64)> = samples.iter().map(|s| median(s)).collect();
            let (ceiling, raw) = (med[0], med[1]);
            let at = |name: &str| format!("{dialect}, {}, {name}", flavor.label());
            report.figures.push(
                Figure::plain(
                    SECTION,
                    at(Reader::CountOnly.label(dialect)),
                    ceiling.0,
                    "events/s",
                )
                .note(format!(
                    "{events} events; raw loop at {:.0}% of this",
                    100.0 * raw.0 / ceiling.0
                )),
            );
            for (i, reader) in readers.iter().enumerate().skip(2) {
                let (rate, cpu, allocs) = med[i];
                let raw_name = Reader::Raw.label(dialect);
                report.figures.push(
                    Figure::versus(
                        SECTION,
                        at(reader.label(dialect)),
                        rate,
                        "events/s",
                        raw_name,
                        raw.0,
                    )
                    .note(format!(
                        "{:.0}% of the server ceiling",
                        100.0 * rate / ceiling.0
                    )),
                );
                report.figures.push(Figure::versus(
                    CPU,
                    at(reader.label(dialect)),
                    cpu,
                    "µs",
                    raw_name,
                    raw.1,
                ));
                report.figures.push(Figure::versus(
                    ALLOCS,
                    at(reader.label(dialect)),
                    allocs,
                    "",
                    raw_name,
                    raw.2,
                ));
            }
            report.figures.push(Figure::plain(
                CPU,
                at(Reader::CountOnly.label(dialect)),
                ceiling.1,
                "µs",
            ));
            let category = (if dialect == "native" { 0.0 } else { 2.0 })
                + f64::from(u8::from(flavor == Flavor::MultiThread));
            for (i, reader) in readers.iter().enumerate() {
                let name = match reader {
                    Reader::Raw => "raw loop".to_owned(),
                    other => other.label(dialect).to_owned(),
                };
                match report
                    .series
                    .iter_mut()
                    .find(|s| s.plot == "throughput" && s.name == name)
                {
                    Some(s) => s.points.push((category, med[i].0)),
                    None => report.series.push(Series {
                        plot: "throughput",
                        name,
                        points: vec![(category, med[i].0)],
                    }),
                }
            }
            eprintln!(
                "  {dialect} {}: ceiling {:.0}/s; raw {:.0}/s {:.2} µs {:.1} allocs; client {:.0}/s {:.2} µs {:.1} allocs; shared {:.0}/s; keep_raw(false) {:.0}/s {:.1} allocs",
                flavor.label(),
                ceiling.0,
                raw.0,
                raw.1,
                raw.2,
                med[2].0,
                med[2].1,
                med[2].2,
                med[3].0,
                med[4].0,
                med[4].2
            );
        }
    }
    Ok(())
}

/// Median events/s, with the CPU and allocations per event of the same round.
fn median(samples: &[Sample]) -> (f64, f64, f64) {
    let mut sorted: Vec<&Sample> = samples.iter().collect();
    sorted.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
    sorted.get(sorted.len() / 2).map_or((0.0, 0.0, 0.0), |s| {
        (s.rate(), s.cpu_per_event(), s.allocs_per_event())
    })
}

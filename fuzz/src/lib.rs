//! The fuzz harnesses behind `fuzz_targets/*`: the SSE parser and the `ClientOptions` JSON on
//! their own, and each dialect's inbound decoding driven through the public [`Engine`] by a
//! script of server behaviour.
//!
//! A dialect script is a list of records separated by the byte `0x1E`; the first byte of a
//! record says what the "server" does, the rest is its payload:
//!
//! | op | effect |
//! |---|---|
//! | `h` | answer the oldest HTTP request not answered yet: 3 ASCII digits of status (else 200), then optionally `R<value>\n` (a `Retry-After` header), then the body |
//! | `c` | a body chunk for the oldest streaming request (its `200` head is sent first if needed) |
//! | `e` | end the oldest streaming request; `f`: fail the oldest request with the payload as error |
//! | `t` / `b` | a text (UTF-8, lossy) / binary frame on the newest open socket |
//! | `x` | close the newest socket (close code from the first two payload bytes) |
//! | `w` | let `100 ms x first byte` pass and fire the timers |
//! | `s` | the app sends the payload as a message; `k`: cancel the turn; `r`: reconnect now |
//!
//! Sockets the engine opens are reported open at once. Seeds in `corpus/<target>` are scripts
//! of real conversations with `chatwire-mock` (handshake answers and frames as the mock sends
//! them), so the fuzzer starts from connected, streaming states.
//!
//! Besides "no panic, no hang", every run checks the engine's contract: envelopes numbered
//! 1, 2, 3... without gaps, bounded queue and dedup registry, and no transport handle leaked
//! after `close`.

use chatwire::dialect::Dialect;
use chatwire::dialect::native::{NativeConfig, NativeDialect};
use chatwire::{CloseReason, Config, ConnId, Engine, Frame, Input, Instant, Output, RequestId};
use std::collections::VecDeque;
use std::time::Duration;

/// Separates the records of a dialect script.
pub const SEP: u8 = 0x1e;

/// The dialect a target fuzzes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// chatwire's own WebSocket protocol.
    Native,
    /// REST + WebSocket, 4-step connect.
    Miptech,
    /// WebSocket `/v2/chat/{session}`.
    ChatV2,
    /// REST + SSE.
    ChatInterfaces,
    /// REST long-poll.
    Parlant,
    /// SSE chat completions.
    Openai,
    /// The AI SDK's UI message stream over SSE.
    AiSdk,
}

const BASE: &str = "http://127.0.0.1:9";

impl Target {
    fn dialect(self) -> Box<dyn Dialect> {
        use chatwire::dialect::*;
        let params = codec_params();
        match self {
            Target::Native => Box::new(NativeDialect::new(NativeConfig::new(BASE, "c-1"))),
            Target::Miptech => Box::new(miptech::Miptech::from_params(BASE, &params)),
            Target::ChatV2 => Box::new(chat_v2::ChatV2::from_params(BASE, &params)),
            Target::ChatInterfaces => {
                Box::new(chat_interfaces::ChatInterfaces::from_params(BASE, &params))
            }
            Target::Parlant => Box::new(parlant::Parlant::from_params(BASE, &params)),
            Target::Openai => Box::new(openai::OpenAi::from_params(BASE, &params)),
            Target::AiSdk => Box::new(ai_sdk::AiSdk::from_params(BASE, &params, 0)),
        }
    }
}

/// Dialect settings: each codec's defaults (what `chatwire-mock` accepts).
fn codec_params() -> std::collections::BTreeMap<String, String> {
    std::collections::BTreeMap::new()
}

/// Feeds `data` to the SSE parser whole and in pieces (sizes taken from the data itself) and
/// checks that both give the same events, last event id and retry hint.
pub fn run_sse(data: &[u8]) {
    let Some((&split, body)) = data.split_first() else {
        return;
    };
    let mut whole = chatwire::sse::Parser::new();
    let expected = whole.feed(body);
    let mut pieces = chatwire::sse::Parser::new();
    let mut got = Vec::new();
    let step = usize::from(split % 17) + 1;
    for chunk in body.chunks(step) {
        pieces.feed_into(chunk, &mut got);
    }
    assert_eq!(expected, got, "events depend on how the stream was split");
    assert_eq!(whole.last_event_id(), pieces.last_event_id());
    assert_eq!(whole.retry(), pieces.retry());
    assert_eq!(whole.buffered_len(), pieces.buffered_len());
}

/// Parses `data` as `ClientOptions` JSON: a refusal is a typed error; accepted options
/// validate without panicking and come back unchanged from `to_json` -> `from_json`.
pub fn run_options(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(options) = chatwire::ClientOptions::from_json(text) else {
        return;
    };
    let _ = options.validate();
    let again = chatwire::ClientOptions::from_json(&options.to_json());
    assert_eq!(
        again.as_ref(),
        Ok(&options),
        "to_json -> from_json changed the options"
    );
}

/// Runs one dialect script (see the module docs); returns what the engine did, one line per
/// output (`event <type>`, `http <METHOD> <url>`, `open <url>`, `send <text>`), for tests.
pub fn run_dialect(target: Target, data: &[u8]) -> Vec<String> {
    let mut config = Config::default();
    config.max_frame_bytes = 64 * 1024;
    config.keep_raw = true;
    let (queue_cap, dedup_cap) = (config.queue_capacity, config.dedup_capacity);
    let Ok(engine) = Engine::new(config, target.dialect()) else {
        return Vec::new();
    };
    let mut h = Harness {
        engine,
        now: Instant::ZERO,
        requests: VecDeque::new(),
        sockets: Vec::new(),
        last_seq: 0,
        log: Vec::new(),
    };
    if h.engine.send(h.now, "hello").is_ok() {
        h.drain();
    }
    for record in data.split(|b| *b == SEP) {
        let Some((&op, payload)) = record.split_first() else {
            continue;
        };
        h.step(op, payload);
        h.drain();
        let stats = h.engine.stats();
        assert!(stats.queued <= queue_cap, "queue over capacity: {stats:?}");
        assert!(
            stats.dedup_keys <= dedup_cap,
            "dedup over capacity: {stats:?}"
        );
    }
    h.now = h.now + Duration::from_millis(1);
    let _ = h.engine.close(h.now);
    h.drain();
    assert_eq!(h.engine.stats().live_handles, 0, "handles left after close");
    h.log
}

struct Pending {
    id: RequestId,
    streaming: bool,
    head_sent: bool,
}

struct Harness {
    engine: Engine,
    now: Instant,
    requests: VecDeque<Pending>,
    sockets: Vec<ConnId>,
    last_seq: u64,
    log: Vec<String>,
}

impl Harness {
    fn step(&mut self, op: u8, payload: &[u8]) {
        self.now = self.now + Duration::from_millis(1);
        let input = match op {
            b'h' => {
                let Some(i) = self.requests.iter().position(|r| !r.head_sent) else {
                    return;
                };
                let Some(req) = self.requests.remove(i) else {
                    return;
                };
                let (status, headers, body) = parse_response(payload);
                if req.streaming && (200..300).contains(&status) {
                    self.requests.insert(
                        i,
                        Pending {
                            head_sent: true,
                            ..req
                        },
                    );
                }
                Input::HttpResponse {
                    id: req.id,
                    status,
                    headers,
                    body: body.to_vec(),
                }
            }
            b'c' => {
                let Some(i) = self.requests.iter().position(|r| r.streaming) else {
                    return;
                };
                let id = self.requests[i].id;
                if !self.requests[i].head_sent {
                    self.requests[i].head_sent = true;
                    self.feed(Input::HttpResponse {
                        id,
                        status: 200,
                        headers: vec![("content-type".into(), "text/event-stream".into())],
                        body: Vec::new(),
                    });
                }
                Input::HttpChunk {
                    id,
                    bytes: payload.to_vec(),
                }
            }
            b'e' => {
                let Some(i) = self.requests.iter().position(|r| r.streaming) else {
                    return;
                };
                let Some(req) = self.requests.remove(i) else {
                    return;
                };
                Input::HttpEnd { id: req.id }
            }
            b'f' => {
                let Some(req) = self.requests.pop_front() else {
                    return;
                };
                let error = String::from_utf8_lossy(payload).into_owned();
                Input::HttpFailed { id: req.id, error }
            }
            b't' | b'b' => {
                let Some(&conn) = self.sockets.last() else {
                    return;
                };
                let frame = if op == b't' {
                    Frame::Text(String::from_utf8_lossy(payload).into_owned())
                } else {
                    Frame::Binary(payload.to_vec())
                };
                Input::SocketFrame { conn, frame }
            }
            b'x' => {
                let Some(conn) = self.sockets.pop() else {
                    return;
                };
                let code = match payload {
                    [a, b, ..] => Some(u16::from_be_bytes([*a, *b])),
                    _ => None,
                };
                let mut reason = CloseReason::default();
                reason.code = code;
                reason.reason = "closed by the fuzzer".into();
                Input::SocketClosed { conn, reason }
            }
            b'w' => {
                let steps = payload.first().copied().unwrap_or(1);
                self.now = self.now + Duration::from_millis(100 * u64::from(steps));
                Input::Timeout
            }
            b's' => {
                let _ = self
                    .engine
                    .send(self.now, String::from_utf8_lossy(payload).into_owned());
                return;
            }
            b'k' => {
                let _ = self.engine.cancel_turn(self.now);
                return;
            }
            b'r' => {
                let _ = self.engine.reconnect_now(self.now);
                return;
            }
            _ => return,
        };
        self.feed(input);
    }

    fn feed(&mut self, input: Input) {
        // Errors are typed answers (for example an input after close); only panics are bugs.
        let _ = self.engine.handle(self.now, input);
        self.drain();
    }

    /// Drains outputs like a driver: tracks handles, reports sockets open, checks numbering.
    fn drain(&mut self) {
        loop {
            let mut opened = Vec::new();
            while let Some(output) = self.engine.poll_output() {
                match output {
                    Output::OpenSocket { conn, url, .. } => {
                        self.log.push(format!("open {url}"));
                        opened.push(conn);
                    }
                    Output::SendText { text, .. } => self.log.push(format!("send {text}")),
                    Output::CloseSocket { conn } => self.sockets.retain(|c| *c != conn),
                    Output::HttpRequest(request) => {
                        let body = String::from_utf8_lossy(&request.body);
                        let method = request.method.as_str();
                        self.log
                            .push(format!("http {method} {} {body}", request.url));
                        self.requests.push_back(Pending {
                            id: request.id,
                            streaming: request.streaming,
                            head_sent: false,
                        });
                    }
                    Output::CancelHttp { id } => self.requests.retain(|r| r.id != id),
                    Output::Event(envelope) => {
                        assert_eq!(envelope.seq, self.last_seq + 1, "envelope numbering");
                        self.last_seq = envelope.seq;
                        self.log
                            .push(format!("event {}", envelope.event.type_name()));
                    }
                    _ => {}
                }
            }
            if opened.is_empty() {
                return;
            }
            for conn in opened {
                self.sockets.push(conn);
                let _ = self.engine.handle(self.now, Input::SocketOpened { conn });
            }
        }
    }
}

/// `NNN[R<retry-after>\n]body`.
fn parse_response(payload: &[u8]) -> (u16, Vec<(String, String)>, &[u8]) {
    let (status, mut rest) = match payload.get(..3) {
        Some(digits) => match std::str::from_utf8(digits)
            .ok()
            .and_then(|s| s.parse().ok())
        {
            Some(status) => (status, &payload[3..]),
            None => (200, payload),
        },
        None => (200, payload),
    };
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    if let Some(after) = rest.strip_prefix(b"R") {
        let end = after
            .iter()
            .position(|b| *b == b'\n')
            .unwrap_or(after.len());
        let value = String::from_utf8_lossy(&after[..end]).into_owned();
        headers.push(("retry-after".to_string(), value));
        rest = after.get(end + 1..).unwrap_or_default();
    }
    (status, headers, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGETS: [(&str, Target); 7] = [
        ("native", Target::Native),
        ("miptech", Target::Miptech),
        ("chat_v2", Target::ChatV2),
        ("chat_interfaces", Target::ChatInterfaces),
        ("parlant", Target::Parlant),
        ("openai", Target::Openai),
        ("ai_sdk", Target::AiSdk),
    ];

    #[test]
    fn responses_parse_status_retry_after_and_body() {
        let (status, headers, body) = parse_response(b"429R10\n{\"x\":1}");
        assert_eq!(status, 429);
        assert!(headers.contains(&("retry-after".into(), "10".into())));
        assert_eq!(body, b"{\"x\":1}");
        let (status, _, body) = parse_response(b"{}");
        assert_eq!((status, body), (200, &b"{}"[..]));
    }

    /// Every committed seed is a whole conversation: connected, one turn run to its end.
    #[test]
    fn committed_seeds_run_a_turn_to_its_end() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
        for (dir, target) in TARGETS {
            let seeds: Vec<_> = std::fs::read_dir(root.join(dir))
                .unwrap_or_else(|e| panic!("corpus/{dir}: {e}"))
                .flatten()
                .collect();
            assert!(!seeds.is_empty(), "corpus/{dir} has no seed");
            for seed in seeds {
                let data = std::fs::read(seed.path()).unwrap_or_default();
                let log = run_dialect(target, &data);
                let ended = log
                    .iter()
                    .any(|l| l == "event turnCompleted" || l == "event turnFailed");
                assert!(
                    ended,
                    "{}: no turn ended:\n{}",
                    seed.path().display(),
                    log.join("\n")
                );
            }
        }
        for seed in std::fs::read_dir(root.join("sse"))
            .into_iter()
            .flatten()
            .flatten()
        {
            run_sse(&std::fs::read(seed.path()).unwrap_or_default());
        }
        let options: Vec<_> = std::fs::read_dir(root.join("options"))
            .into_iter()
            .flatten()
            .flatten()
            .collect();
        assert!(!options.is_empty(), "corpus/options has no seed");
        for seed in options {
            let data = std::fs::read(seed.path()).unwrap_or_default();
            let text = String::from_utf8_lossy(&data);
            assert!(
                chatwire::ClientOptions::from_json(&text).is_ok(),
                "{}: a seed must parse",
                seed.path().display()
            );
            run_options(&data);
        }
    }
}

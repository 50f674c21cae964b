//! The bench servers: a native-dialect WebSocket server (tokio-tungstenite) and an OpenAI SSE
//! server (HTTP/1.1 written by hand on a TCP socket), both sending pre-built frames as fast as the
//! client reads. Not the mock: nothing here stores conversations or runs an agent, so the server
//! is never what the figures measure (the count-only client checks that in every run).
//!
//! Native protocol subset (`sdk-core/src/dialect/native.rs`): `hello` -> `welcome`
//! (`heartbeat_ms` 600000), `ping` -> `pong`, `send` -> `ack` then, by the message text:
//! `flood:N` (the pre-built flood of N events; first command of a connection only),
//! `pace:N:GAP_US` (N `text_delta`s one every GAP_US µs, each text the send time in Unix ns),
//! `open:K` (K `turn_started` of new turns, never ended), `status:M` (M `status` events).
//! OpenAI: `POST /v1/chat/completions` whose body holds `flood:N` -> N content chunks.
//!
//! [`Native`] also runs in process for the reconnect storm: it counts connection attempts and
//! restarts on request (with or without a `goodbye` hint), refusing connections for a while.

use crate::frames::{self, NativeFlood};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// A restart order: drop every connection (after a `goodbye` with `retry_after_ms` when
/// `hint` is set) and refuse new ones until `refuse_until`.
#[derive(Debug, Clone, Copy)]
pub struct Restart {
    pub generation: u64,
    pub hint: Option<Duration>,
}

/// A cached flood: the first `turn_started` without its `reply_to`, then every other frame.
type Frames = (String, Vec<Utf8Bytes>);

/// The native server's shared state.
pub struct Native {
    floods: Mutex<HashMap<usize, Arc<Frames>>>,
    restart: watch::Sender<Restart>,
    refusing: AtomicBool,
    attempts: Mutex<Vec<Instant>>,
}

impl Native {
    /// A server with nothing cached.
    pub fn new() -> Arc<Native> {
        Arc::new(Native {
            floods: Mutex::new(HashMap::new()),
            restart: watch::channel(Restart {
                generation: 0,
                hint: None,
            })
            .0,
            refusing: AtomicBool::new(false),
            attempts: Mutex::new(Vec::new()),
        })
    }

    /// Accepts connections on `listener` until the task is dropped.
    pub async fn run(self: Arc<Native>, listener: TcpListener) {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            lock(&self.attempts).push(Instant::now());
            if self.refusing.load(Ordering::Relaxed) {
                drop(stream); // refused: the client sees the connection reset
                continue;
            }
            let _ = stream.set_nodelay(true);
            tokio::spawn(self.clone().connection(stream));
        }
    }

    /// Drops every connection (with a `goodbye` hint when given) and refuses new ones for
    /// `refuse`; returns when the refusal ends.
    pub async fn restart(&self, hint: Option<Duration>, refuse: Duration) {
        self.refusing.store(true, Ordering::Relaxed);
        self.restart.send_modify(|r| {
            r.generation += 1;
            r.hint = hint;
        });
        tokio::time::sleep(refuse).await;
        self.refusing.store(false, Ordering::Relaxed);
    }

    /// Connection attempts seen so far (accepted or refused).
    pub fn attempts(&self) -> Vec<Instant> {
        lock(&self.attempts).clone()
    }

    fn flood(&self, events: usize) -> Arc<Frames> {
        let mut floods = lock(&self.floods);
        floods
            .entry(events)
            .or_insert_with(|| {
                let flood = NativeFlood::new(events);
                let rest = flood.rest.into_iter().map(Utf8Bytes::from).collect();
                Arc::new((flood.first_open, rest))
            })
            .clone()
    }

    async fn connection(self: Arc<Native>, stream: TcpStream) {
        let config = WebSocketConfig::default().read_buffer_size(4096);
        let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await
        else {
            return;
        };
        let mut restart = self.restart.subscribe();
        restart.borrow_and_update();
        let mut seq = 0u64;
        loop {
            let msg = tokio::select! {
                msg = ws.next() => msg,
                _ = restart.changed() => {
                    let hint = restart.borrow().hint;
                    if let Some(after) = hint {
                        let goodbye = json!({"type":"goodbye","reason":"restart",
                            "retry_after_ms": after.as_millis() as u64});
                        let _ = ws.send(Message::text(goodbye.to_string())).await;
                    }
                    return; // dropped: the TCP connection closes
                }
            };
            let Some(Ok(Message::Text(text))) = msg else {
                match msg {
                    Some(Ok(_)) => continue,
                    _ => return,
                }
            };
            let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else {
                continue;
            };
            let reply = match frame["type"].as_str() {
                Some("hello") => {
                    json!({"type":"welcome","conversation_id":frame["conversation_id"],
                    "last_seq":seq,"resumed":true,"heartbeat_ms":600_000})
                }
                Some("ping") => json!({"type":"pong","nonce":frame["nonce"]}),
                Some("send") => {
                    let id = frame["client_id"].as_str().unwrap_or_default().to_owned();
                    let ack = json!({"type":"ack","client_id":id,"message_id":format!("m-{id}"),
                        "duplicate":false});
                    if ws.send(Message::text(ack.to_string())).await.is_err() {
                        return;
                    }
                    let text = frame["text"].as_str().unwrap_or_default().to_owned();
                    if self.command(&mut ws, &id, &text, &mut seq).await.is_err() {
                        return;
                    }
                    continue;
                }
                _ => continue,
            };
            if ws.send(Message::text(reply.to_string())).await.is_err() {
                return;
            }
        }
    }

    async fn command(
        &self,
        ws: &mut Ws,
        client_id: &str,
        text: &str,
        seq: &mut u64,
    ) -> Result<(), tokio_tungstenite::tungstenite::Error> {
        let mut parts = text.split(':');
        let verb = parts.next().unwrap_or_default();
        let n: u64 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        match verb {
            "flood" if *seq == 0 => {
                let flood = self.flood(n as usize);
                let first = format!("{},\"reply_to\":\"{client_id}\"}}", flood.0);
                ws.feed(Message::text(first)).await?;
                for frame in &flood.1 {
                    ws.feed(Message::Text(frame.clone())).await?;
                }
                *seq = flood.1.len() as u64 + 1;
                ws.flush().await
            }
            "pace" => {
                let gap = Duration::from_micros(
                    parts.next().and_then(|p| p.parse().ok()).unwrap_or(1000),
                );
                *seq += 1;
                let turn = *seq;
                let reply_to = format!(",\"reply_to\":\"{client_id}\"");
                ws.send(Message::text(frames::native_event(
                    *seq,
                    turn,
                    "turn_started",
                    &reply_to,
                )))
                .await?;
                *seq += 1;
                let msg = format!(",\"message_id\":\"p-{turn}\"");
                ws.send(Message::text(frames::native_event(
                    *seq,
                    turn,
                    "message_started",
                    &format!("{msg},\"role\":\"assistant\""),
                )))
                .await?;
                let (mut full, mut offset) = (String::new(), 0usize);
                let start = tokio::time::Instant::now();
                for i in 0..n {
                    tokio::time::sleep_until(start + gap * i as u32).await;
                    let stamp = format!("{} ", unix_nanos());
                    *seq += 1;
                    let extra = format!("{msg},\"offset\":{offset},\"text\":\"{stamp}\"");
                    ws.send(Message::text(frames::native_event(
                        *seq,
                        turn,
                        "text_delta",
                        &extra,
                    )))
                    .await?;
                    offset += stamp.len();
                    full.push_str(&stamp);
                }
                *seq += 1;
                ws.feed(Message::text(frames::native_event(
                    *seq,
                    turn,
                    "message_completed",
                    &format!("{msg},\"text\":\"{full}\""),
                )))
                .await?;
                *seq += 1;
                ws.send(Message::text(frames::native_event(
                    *seq,
                    turn,
                    "turn_completed",
                    ",\"finish_reason\":\"stop\"",
                )))
                .await
            }
            "open" => {
                for _ in 0..n {
                    *seq += 1;
                    ws.feed(Message::text(frames::native_event(
                        *seq,
                        *seq,
                        "turn_started",
                        "",
                    )))
                    .await?;
                }
                ws.flush().await
            }
            "status" => {
                for _ in 0..n {
                    *seq += 1;
                    ws.feed(Message::text(frames::native_event(
                        *seq,
                        0,
                        "status",
                        ",\"stage\":\"processing\"",
                    )))
                    .await?;
                }
                ws.flush().await
            }
            _ => Ok(()),
        }
    }
}

type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;

/// Serves OpenAI completions on `listener`: every POST gets the body of `flood:N` (cached).
pub async fn run_openai(listener: TcpListener) {
    let bodies: Arc<Mutex<HashMap<usize, Arc<Vec<u8>>>>> = Arc::default();
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let bodies = bodies.clone();
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            let Some(request) = read_request(&mut stream).await else {
                return;
            };
            let tokens = request
                .split("flood:")
                .nth(1)
                .map(|rest| {
                    rest.chars()
                        .take_while(char::is_ascii_digit)
                        .collect::<String>()
                })
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(10);
            let body = lock(&bodies)
                .entry(tokens)
                .or_insert_with(|| Arc::new(frames::openai_body(tokens)))
                .clone();
            let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n";
            if stream.write_all(head.as_bytes()).await.is_ok() {
                let _ = stream.write_all(&body).await;
            }
            let _ = stream.shutdown().await;
        });
    }
}

/// Reads one HTTP/1.1 request (head and a `content-length` body) as text.
async fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return Some(text.into_owned());
            }
        }
    }
}

/// Now as Unix nanoseconds (the latency stamp; server and client share the machine's clock).
pub fn unix_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// Locks `m`, taking the data even if a holder panicked (the data are plain counters and caches).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

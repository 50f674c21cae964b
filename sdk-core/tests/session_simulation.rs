//! Deterministic simulation of the [`Session`] layer (DESIGN §3): the session, with a token
//! provider, against a simulated native server that checks bearer tokens and rotates them, a
//! faulty network and an app that sends, discards and finally closes — for many seeds. Prints
//! `simulation[session]: <N> seeds, <V> violations`.
//!
//! Invariants checked on every run:
//! - every accepted message gets exactly one terminal status, and none after it; no status for an
//!   id the app never got; after close every message is terminal and `Closed` is the last output;
//! - a discarded message (discard answered `Ok`) ends `Failed{Discarded}` and never reaches the
//!   server; a message the server stored is never discarded;
//! - at most one token fetch is in flight: no `FetchToken` before the previous one was answered;
//! - no transport operation leaves without its headers: every socket carries the configured
//!   header, and the bearer of the latest token once one was handed out;
//! - nothing comes out after `Closed`;
//! - the counters agree with what came out (sent, acked, failed);
//! - liveness: once faults stop, a session that is `Ready` settles every message.
//!
//! `CHATWIRE_SIM_SEEDS=20000 cargo test -p chatwire --release --test session_simulation -- --nocapture`
//! runs more seeds (default 2000); `CHATWIRE_SIM_SEED=<seed>` replays one with a trace.

#![allow(clippy::unwrap_used)] // test harness

use chatwire::dialect::native::{NativeConfig, NativeDialect};
use chatwire::event::{DeliveryStatus, FailReason};
use chatwire::ids::{ClientId, ConnId};
use chatwire::io::{CloseReason, Frame, Input};
use chatwire::session::{Session, SessionInput, SessionOptions, SessionOutput, Transport};
use chatwire::{Config, ConnectionState, EngineError, Instant};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() % 10_000) as f64 / 10_000.0 < p
    }
}

/// Something scheduled to happen at a virtual time.
enum Ev {
    Input(SessionInput),
    /// The token provider answers.
    Token,
    /// The server receives a frame.
    ServerFrame(ConnId, String),
    /// The server rotates its valid token (old tokens now refused) and drops live sockets.
    Rotate,
    /// The network drops a socket.
    Drop(ConnId),
    Send,
    Discard,
}

/// The simulated server: one valid token at a time, stores each client id once.
#[derive(Default)]
struct Server {
    epoch: u64,
    live: BTreeSet<u64>,
    helloed: BTreeSet<u64>,
    stored: BTreeMap<String, u64>,
    counter: u64,
}

struct World {
    rng: Rng,
    now: u64,
    queue: BTreeMap<(u64, u64), Ev>,
    order: u64,
    session: Session,
    server: Server,
    trace: bool,
    violations: Vec<String>,
    /// Faults (drops, rotations, provider errors) stop after this time.
    faults_until: u64,
    // what the checker knows
    accepted: BTreeSet<ClientId>,
    terminal: HashMap<ClientId, DeliveryStatus>,
    discarded: BTreeSet<ClientId>,
    fetching: bool,
    latest_token: Option<String>,
    closed_seen: bool,
    acked: u64,
    failed: u64,
}

const HEADER: (&str, &str) = ("X-Sim", "1");

impl World {
    fn at(&mut self, delay: u64, ev: Ev) {
        self.order += 1;
        self.queue.insert((self.now + delay, self.order), ev);
    }

    fn violation(&mut self, what: String) {
        if self.trace {
            println!("VIOLATION at {} ms: {what}", self.now);
        }
        self.violations.push(what);
    }

    fn instant(&self) -> Instant {
        Instant::from_millis(self.now)
    }

    fn input(&mut self, input: SessionInput) {
        let now = self.instant();
        if let Err(e) = self.session.handle(now, input) {
            if !matches!(e, EngineError::Closed) {
                self.violation(format!("session refused an input: {e}"));
            }
        }
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(out) = self.session.poll() {
            if self.trace {
                println!("{:>8} ms  out {out:?}", self.now);
            }
            if self.closed_seen {
                self.violation(format!("output after Closed: {out:?}"));
            }
            match out {
                SessionOutput::Transport(op) => self.transport(op),
                SessionOutput::FetchToken => {
                    if self.fetching {
                        self.violation("a second token fetch while one is in flight".into());
                    }
                    self.fetching = true;
                    let delay = self.rng.range(1, 400);
                    self.at(delay, Ev::Token);
                }
                SessionOutput::Status {
                    client_id,
                    status,
                    terminal,
                } => self.status(client_id, status, terminal),
                SessionOutput::Closed => self.closed_seen = true,
                SessionOutput::Event(_) | SessionOutput::State { .. } => {}
                other => self.violation(format!("unknown output {other:?}")),
            }
        }
    }

    fn status(&mut self, id: ClientId, status: DeliveryStatus, terminal: bool) {
        if !self.accepted.contains(&id) {
            self.violation(format!("status for an id never accepted: {id}"));
        }
        if let Some(before) = self.terminal.get(&id) {
            self.violation(format!("{id}: {status:?} after terminal {before:?}"));
        }
        if terminal {
            match &status {
                DeliveryStatus::Acked => self.acked += 1,
                DeliveryStatus::Failed { .. } => self.failed += 1,
                other => self.violation(format!("{id}: terminal {other:?} with acks")),
            }
            self.terminal.insert(id, status);
        }
    }

    fn transport(&mut self, op: Transport) {
        match op {
            Transport::OpenSocket { conn, headers, .. } => {
                let has = |name: &str, value: &str| {
                    headers
                        .iter()
                        .any(|(n, v)| n.eq_ignore_ascii_case(name) && v == value)
                };
                if !has(HEADER.0, HEADER.1) {
                    self.violation(format!("socket without the configured header: {headers:?}"));
                }
                let bearer = self.latest_token.as_ref().map(|t| format!("Bearer {t}"));
                if let Some(bearer) = &bearer {
                    if !has("Authorization", bearer) {
                        self.violation(format!("socket without the latest bearer: {headers:?}"));
                    }
                }
                let valid = bearer == Some(format!("Bearer t{}", self.server.epoch));
                let delay = self.rng.range(1, 50);
                let report = if valid {
                    self.server.live.insert(conn.0);
                    Input::SocketOpened { conn }
                } else {
                    Input::SocketClosed {
                        conn,
                        reason: CloseReason::refused(Some(401), "unauthorized"),
                    }
                };
                self.at(delay, Ev::Input(report.into()));
            }
            Transport::SendText { conn, text } => {
                let delay = self.rng.range(1, 30);
                self.at(delay, Ev::ServerFrame(conn, text));
            }
            Transport::CloseSocket { conn } => {
                self.server.live.remove(&conn.0);
                self.server.helloed.remove(&conn.0);
            }
            other => self.violation(format!("unexpected transport {other:?}")),
        }
    }

    fn server_frame(&mut self, conn: ConnId, text: &str) {
        if !self.server.live.contains(&conn.0) {
            return;
        }
        let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let mut replies = Vec::new();
        match v["type"].as_str().unwrap_or("") {
            "hello" => {
                self.server.helloed.insert(conn.0);
                replies.push(
                    json!({"type":"welcome","conversation_id":"c-1","last_seq":0,
                    "resumed":true,"heartbeat_ms":30000}),
                );
            }
            "send" if self.server.helloed.contains(&conn.0) => {
                let cid = v["client_id"].as_str().unwrap_or("").to_string();
                let known = self.server.stored.contains_key(&cid);
                if !known && self.rng.chance(0.05) {
                    replies.push(
                        json!({"type":"error","code":"bad_request","message":"refused",
                        "retryable":false,"client_id":cid}),
                    );
                } else {
                    self.server.counter += 1;
                    let mid = *self
                        .server
                        .stored
                        .entry(cid.clone())
                        .or_insert(self.server.counter);
                    replies.push(
                        json!({"type":"ack","client_id":cid,"message_id":format!("m-{mid}"),
                        "duplicate":known}),
                    );
                }
            }
            "ping" => replies.push(json!({"type":"pong","nonce":v["nonce"]})),
            _ => {}
        }
        for reply in replies {
            let delay = self.rng.range(1, 30);
            let frame = Input::SocketFrame {
                conn,
                frame: Frame::Text(reply.to_string()),
            };
            self.at(delay, Ev::Input(frame.into()));
        }
    }

    fn event(&mut self, ev: Ev) {
        let faulty = self.now < self.faults_until;
        match ev {
            Ev::Input(input) => self.input(input),
            Ev::Token => {
                self.fetching = false;
                let answer = if faulty && self.rng.chance(0.15) {
                    Err("provider down".to_string())
                } else {
                    Ok(format!("t{}", self.server.epoch))
                };
                if let Ok(token) = &answer {
                    if !self.closed_seen {
                        self.latest_token = Some(token.clone());
                    }
                }
                self.input(SessionInput::Token(answer));
            }
            Ev::ServerFrame(conn, text) => self.server_frame(conn, &text),
            Ev::Rotate => {
                if faulty {
                    self.server.epoch += 1;
                    for conn in std::mem::take(&mut self.server.live) {
                        self.server.helloed.remove(&conn);
                        let frame = json!({"type":"error","code":"unauthorized",
                            "message":"token expired","retryable":false});
                        let conn = ConnId(conn);
                        let input = Input::SocketFrame {
                            conn,
                            frame: Frame::Text(frame.to_string()),
                        };
                        self.at(1, Ev::Input(input.into()));
                        let closed = Input::SocketClosed {
                            conn,
                            reason: CloseReason::closed(Some(4001), "unauthorized"),
                        };
                        self.at(2, Ev::Input(closed.into()));
                    }
                    let next = self.rng.range(2_000, 20_000);
                    self.at(next, Ev::Rotate);
                }
            }
            Ev::Drop(conn) => {
                if faulty && self.server.live.remove(&conn.0) {
                    self.server.helloed.remove(&conn.0);
                    let closed = Input::SocketClosed {
                        conn,
                        reason: CloseReason::error("connection reset"),
                    };
                    self.input(closed.into());
                }
            }
            Ev::Send => {
                let now = self.instant();
                match self.session.send(now, format!("m{}", self.order)) {
                    Ok(id) => {
                        self.accepted.insert(id);
                    }
                    Err(e) => self.violation(format!("send refused: {e}")),
                }
                self.drain();
            }
            Ev::Discard => {
                let open: Vec<ClientId> = self
                    .accepted
                    .iter()
                    .filter(|id| !self.terminal.contains_key(id))
                    .copied()
                    .collect();
                if open.is_empty() {
                    return;
                }
                let id = open[(self.rng.next() % open.len() as u64) as usize];
                let now = self.instant();
                match self.session.discard(now, id) {
                    Ok(()) => {
                        self.discarded.insert(id);
                    }
                    Err(EngineError::AlreadySent { .. })
                    | Err(EngineError::UnknownMessage { .. }) => {}
                    Err(e) => self.violation(format!("discard: unexpected {e}")),
                }
                self.drain();
            }
        }
    }

    /// Runs events and timers until `until`.
    fn run_until(&mut self, until: u64) {
        loop {
            let next_ev = self.queue.keys().next().map(|k| k.0);
            let timer = self.session.poll_timeout().map(|t| t.as_millis());
            let next = match (next_ev, timer) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    None => break,
                },
            };
            if next > until {
                break;
            }
            self.now = self.now.max(next);
            if timer.is_some_and(|t| t <= self.now) && next_ev.is_none_or(|e| e > self.now) {
                self.input(SessionInput::Timeout);
                continue;
            }
            if let Some(key) = self.queue.keys().next().copied() {
                if let Some(ev) = self.queue.remove(&key) {
                    self.event(ev);
                }
            }
        }
        self.now = self.now.max(until);
    }
}

fn run(seed: u64, trace: bool) -> Vec<String> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let dialect = NativeDialect::new(NativeConfig::new("http://sim.local", "c-1"));
    let mut options = SessionOptions::with_headers(vec![(HEADER.0.into(), HEADER.1.into())]);
    options.token_provider = true;
    let mut config = Config::default();
    config.seed = rng.next();
    config.queue_capacity = rng.range(3, 20) as usize;
    config.max_attempts = 1_000; // liveness is checked after the faults stop
    let session = Session::new(config, Box::new(dialect), options).unwrap();
    let faults_until = rng.range(10_000, 60_000);
    let mut w = World {
        rng,
        now: 0,
        queue: BTreeMap::new(),
        order: 0,
        session,
        server: Server::default(),
        trace,
        violations: Vec::new(),
        faults_until,
        accepted: BTreeSet::new(),
        terminal: HashMap::new(),
        discarded: BTreeSet::new(),
        fetching: false,
        latest_token: None,
        closed_seen: false,
        acked: 0,
        failed: 0,
    };
    let messages = w.rng.range(5, 40);
    for _ in 0..messages {
        let at = w.rng.range(0, faults_until);
        w.at(at, Ev::Send);
        if w.rng.chance(0.2) {
            let later = at + w.rng.range(0, 200);
            w.at(later, Ev::Discard);
        }
    }
    let first_rotation = w.rng.range(1_000, 15_000);
    w.at(first_rotation, Ev::Rotate);
    for _ in 0..w.rng.range(0, 8) {
        let at = w.rng.range(0, faults_until);
        let conn = ConnId(w.rng.range(1, 30));
        w.at(at, Ev::Drop(conn));
    }
    // Faults, then a quiet period long enough for the longest backoff (30 s cap) and a token.
    w.run_until(faults_until + 120_000);
    if w.session.state() == ConnectionState::Ready {
        let open: Vec<_> = w
            .accepted
            .iter()
            .filter(|id| !w.terminal.contains_key(id))
            .collect();
        if !open.is_empty() {
            let what = format!("ready and quiet, yet {} messages unsettled", open.len());
            w.violation(what);
        }
    } else {
        let state = w.session.state();
        w.violation(format!("not ready after the faults stopped: {state:?}"));
    }
    let now = w.instant();
    w.session.close(now).unwrap();
    w.drain();
    if !w.closed_seen {
        w.violation("no Closed after close".into());
    }
    w.input(SessionInput::Token(Ok("late".into()))); // nothing may follow
    for id in w.accepted.clone() {
        match w.terminal.get(&id).cloned() {
            None => w.violation(format!("{id} never reached a terminal status")),
            Some(status) => {
                let discarded = DeliveryStatus::Failed {
                    reason: FailReason::Discarded,
                };
                let stored = w.server.stored.contains_key(&id.to_string());
                if w.discarded.contains(&id) && (status != discarded || stored) {
                    w.violation(format!("{id} discarded but {status:?}, stored {stored}"));
                }
                if status == discarded && !w.discarded.contains(&id) {
                    w.violation(format!("{id} Discarded without a discard"));
                }
            }
        }
    }
    let stats = w.session.stats();
    let expected = (w.accepted.len() as u64, w.acked, w.failed);
    if (stats.sent, stats.acked, stats.failed) != expected {
        w.violation(format!("stats {stats:?} disagree with {expected:?}"));
    }
    std::mem::take(&mut w.violations)
}

#[test]
fn session_simulation() {
    if let Some(seed) = std::env::var("CHATWIRE_SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        let violations = run(seed, true);
        println!(
            "simulation[session]: 1 seeds, {} violations",
            violations.len()
        );
        assert!(violations.is_empty(), "{violations:?}");
        return;
    }
    let seeds: u64 = std::env::var("CHATWIRE_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let mut failures = Vec::new();
    let mut total = 0;
    for seed in 0..seeds {
        let violations = run(seed, false);
        total += violations.len();
        if !violations.is_empty() && failures.len() < 5 {
            failures.push((seed, violations));
        }
    }
    // Written to stderr directly (not `println!`), so the summary shows even when the test
    // harness captures output.
    let _ = writeln!(
        std::io::stderr().lock(),
        "simulation[session]: {seeds} seeds, {total} violations"
    );
    assert!(
        failures.is_empty(),
        "replay with CHATWIRE_SIM_SEED=<seed>: {failures:#?}"
    );
}

//! Deterministic simulation: the engine (native dialect) against [`server::Server`] on a virtual
//! clock, through a network that drops, duplicates, delays (and so reorders) frames, disconnects,
//! goes half-open, refuses connections and restarts the server. One seed = one random app
//! workload + one random fault schedule; [`check::Checker`] asserts DESIGN §3 on every event and
//! at the end. No threads, no sleeps, no wall clock: a seed always replays identically.

pub mod agent;
pub mod check;
pub mod invariants;
pub mod models;
pub mod script;
pub mod server;
pub mod workload;
pub mod world;

use chatwire::dialect::native::{NativeConfig, NativeDialect};
use chatwire::io::CloseReason;
use chatwire::{
    Config, ConnId, ConnectionState, Engine, EngineError, Frame, Input, Instant, Output,
    OverflowPolicy,
};
use check::Checker;
use server::{Server, ServerOut};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Duration;

/// SplitMix64: the simulation's own seeded randomness.
pub struct SimRng(u64);

impl SimRng {
    pub fn new(seed: u64) -> SimRng {
        SimRng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..hi` (`lo` when empty).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            lo
        } else {
            lo + self.next() % (hi - lo)
        }
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p && p > 0.0
    }
}

enum Ev {
    ClientOpened(ConnId),
    ClientFrame(ConnId, String),
    ClientClosed(ConnId, CloseReason),
    ServerOpen(ConnId),
    ServerFrame(ConnId, String),
    ServerClose(ConnId),
    Step(u64),
    ServerUp,
    App(AppAction),
    Fault(Fault),
}

#[derive(Debug)]
enum AppAction {
    Send(String),
    Typing(bool),
    Cancel,
    ReconnectNow,
    Close,
}

#[derive(Debug)]
enum Fault {
    Disconnect,
    HalfOpen,
    Restart { down_ms: u64, goodbye: Option<u64> },
    Refuse { ms: u64 },
}

#[derive(Default)]
struct Link {
    closed: bool,
    half_open: bool,
    /// Latest scheduled delivery per direction (client->server, server->client): frames are
    /// FIFO like on a real socket unless a reorder fault delays one on purpose.
    last: [u64; 2],
}

/// Per-seed fault intensities, active until `ACTIVE_MS`.
struct Net {
    drop: f64,
    dup: f64,
    delay: f64,
    base_latency: u64,
}

const ACTIVE_MS: u64 = 120_000;
const HORIZON_MS: u64 = ACTIVE_MS + 900_000;

/// Result of one seed.
pub struct Outcome {
    pub violations: Vec<String>,
    pub envelopes: u64,
    pub virtual_ms: u64,
}

struct World {
    now: u64,
    order: u64,
    heap: BinaryHeap<Reverse<(u64, u64)>>,
    events: HashMap<u64, Ev>,
    rng: SimRng,
    engine: Engine,
    server: Server,
    links: HashMap<u64, Link>,
    latest: Option<ConnId>,
    refuse_until: u64,
    net: Net,
    check: Checker,
    config: Config,
    trace: bool,
    closed_by_app: bool,
}

/// Runs seed `seed`; `trace` prints every step.
pub fn run(seed: u64, trace: bool) -> Outcome {
    let mut rng = SimRng::new(seed);
    let config = engine_config(seed, &mut rng);
    let dialect = NativeDialect::new(NativeConfig::new("http://sim", "sim"));
    let engine = match Engine::new(config.clone(), Box::new(dialect)) {
        Ok(e) => e,
        Err(e) => {
            return Outcome {
                violations: vec![format!("config rejected: {e}")],
                envelopes: 0,
                virtual_ms: 0,
            };
        }
    };
    let retention = if rng.chance(0.3) {
        rng.range(3, 40) as usize
    } else {
        1000
    };
    let mut server = Server::new(retention);
    server.hello_rate_limit = if rng.chance(0.2) { 0.1 } else { 0.0 };
    let calm = rng.chance(0.15);
    let net = Net {
        drop: if calm {
            0.0
        } else {
            [0.0, 0.005, 0.02, 0.05][rng.range(0, 4) as usize]
        },
        dup: if calm {
            0.0
        } else {
            [0.0, 0.01, 0.05][rng.range(0, 3) as usize]
        },
        delay: if calm {
            0.0
        } else {
            [0.0, 0.02, 0.1][rng.range(0, 3) as usize]
        },
        base_latency: rng.range(1, 40),
    };
    let mut w = World {
        now: 0,
        order: 0,
        heap: BinaryHeap::new(),
        events: HashMap::new(),
        rng,
        engine,
        server,
        links: HashMap::new(),
        latest: None,
        refuse_until: 0,
        net,
        check: Checker::new(),
        config,
        trace,
        closed_by_app: false,
    };
    w.schedule_workload(calm);
    let converged = w.run_loop();
    w.finish(converged)
}

fn engine_config(seed: u64, rng: &mut SimRng) -> Config {
    let mut c = Config::default();
    c.seed = seed;
    c.unix_ms_at_epoch = 1_763_800_000_000;
    c.queue_capacity = [50, 50, 8, 3][rng.range(0, 4) as usize];
    c.overflow = if rng.chance(0.3) {
        OverflowPolicy::RejectNew
    } else {
        OverflowPolicy::DropOldest
    };
    c.delta_coalesce = if rng.chance(0.3) {
        Duration::from_millis(30)
    } else {
        Duration::ZERO
    };
    c.dedup_capacity = if rng.chance(0.2) { 16 } else { 1024 };
    c.max_attempts = if rng.chance(0.2) { 3 } else { 10 };
    c.lazy_connect = !rng.chance(0.1);
    c
}

impl World {
    fn at(&mut self, delay: u64, ev: Ev) {
        self.order += 1;
        let t = self.now + delay;
        self.heap.push(Reverse((t, self.order)));
        self.events.insert(self.order, ev);
    }

    fn latency(&mut self) -> u64 {
        let b = self.net.base_latency;
        self.rng.range(b, b * 3 + 2)
    }

    fn active(&self) -> bool {
        self.now < ACTIVE_MS
    }

    fn schedule_workload(&mut self, calm: bool) {
        if !self.config.lazy_connect {
            self.at(0, Ev::App(AppAction::Typing(false)));
        }
        let sends = self.rng.range(1, 8);
        for i in 0..sends {
            let t = self.rng.range(0, 80_000);
            self.at(t, Ev::App(AppAction::Send(format!("message {i}"))));
        }
        for _ in 0..self.rng.range(0, 6) {
            let t = self.rng.range(0, 90_000);
            let on = self.rng.chance(0.6);
            self.at(t, Ev::App(AppAction::Typing(on)));
        }
        if self.rng.chance(0.3) {
            let t = self.rng.range(0, 90_000);
            self.at(t, Ev::App(AppAction::Cancel));
        }
        if self.rng.chance(0.2) {
            let t = self.rng.range(0, 90_000);
            self.at(t, Ev::App(AppAction::ReconnectNow));
        }
        if self.rng.chance(0.05) {
            let t = self.rng.range(1_000, 100_000);
            self.at(t, Ev::App(AppAction::Close));
        }
        if calm {
            return;
        }
        for _ in 0..self.rng.range(0, 6) {
            let t = self.rng.range(0, ACTIVE_MS - 5_000);
            let fault = match self.rng.range(0, 4) {
                0 => Fault::Disconnect,
                1 => Fault::HalfOpen,
                2 => Fault::Restart {
                    down_ms: self.rng.range(100, 20_000),
                    goodbye: self.rng.chance(0.5).then(|| self.rng.range(0, 3_000)),
                },
                _ => Fault::Refuse {
                    ms: self.rng.range(1_000, 60_000),
                },
            };
            self.at(t, Ev::Fault(fault));
        }
    }

    /// Runs until the horizon or until everything settled after the active phase.
    fn run_loop(&mut self) -> bool {
        let mut spins = 0u32;
        loop {
            if !self.active() && self.engine.state() == ConnectionState::Failed {
                self.command(|e, now| e.reconnect_now(now)); // what an app's retry button does
            }
            if !self.active() && self.settled() {
                return true;
            }
            if self.closed_by_app && self.heap.is_empty() {
                return false;
            }
            let engine_t = self.engine.poll_timeout().map(|t| t.as_millis());
            let ev_t = self.heap.peek().map(|Reverse((t, _))| *t);
            let t = match (engine_t, ev_t) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    // nothing scheduled: skip to the end of the active phase, or stop
                    None if self.active() => ACTIVE_MS,
                    None => return self.settled(),
                },
            };
            if t > HORIZON_MS {
                return false;
            }
            let t = t.max(self.now);
            spins = if t == self.now { spins + 1 } else { 0 };
            if spins > 10_000 {
                self.check
                    .violations
                    .push(format!("livelock at {} ms", self.now));
                return false;
            }
            self.now = t;
            if engine_t.is_none() && ev_t.is_none() {
                continue;
            }
            if engine_t.is_some_and(|e| e <= t) && ev_t.is_none_or(|e| e > t || engine_t == Some(t))
            {
                self.input(Input::Timeout);
            } else if let Some(Reverse((_, id))) = self.heap.pop() {
                if let Some(ev) = self.events.remove(&id) {
                    self.dispatch(ev);
                }
            }
        }
    }

    fn settled(&self) -> bool {
        if self.closed_by_app {
            return true;
        }
        let stats = self.engine.stats();
        let caught_up = self.check.caught_up(&self.server);
        let state_ok = match self.engine.state() {
            ConnectionState::Ready => true,
            ConnectionState::Disconnected => self.server.last_seq == 0,
            _ => false,
        };
        state_ok
            && caught_up
            && stats.queued == 0
            && stats.open_turns == 0
            && self.check.open_turns() == 0
            && self.server.idle()
            && !self.server.down
            && self.heap_has_no_app_or_step()
    }

    fn heap_has_no_app_or_step(&self) -> bool {
        !self.events.values().any(|e| {
            matches!(
                e,
                Ev::App(_) | Ev::Step(_) | Ev::ClientFrame(..) | Ev::ServerFrame(..)
            )
        })
    }

    fn now(&self) -> Instant {
        Instant::from_millis(self.now)
    }

    fn input(&mut self, input: Input) {
        if self.trace {
            println!("{:>8} engine <- {input:?}", self.now);
        }
        if let Err(e) = self.engine.handle(self.now(), input) {
            if e != EngineError::Closed {
                self.check.violations.push(format!("handle error {e}"));
            }
        }
        self.drain();
    }

    fn command(&mut self, f: impl FnOnce(&mut Engine, Instant) -> Result<(), EngineError>) {
        let now = self.now();
        if let Err(e) = f(&mut self.engine, now) {
            if e != EngineError::Closed {
                self.check.violations.push(format!("command error {e}"));
            }
        }
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(out) = self.engine.poll_output() {
            if self.trace {
                println!("{:>8} engine -> {out:?}", self.now);
            }
            match out {
                Output::OpenSocket { conn, .. } => self.open(conn),
                Output::SendText { conn, text } => {
                    if self.deliverable(conn) {
                        self.transmit(conn, 0, text, |t| Ev::ServerFrame(conn, t));
                    }
                }
                Output::CloseSocket { conn } => {
                    if let Some(l) = self.links.get_mut(&conn.0) {
                        l.closed = true;
                    }
                    let lat = self.latency();
                    self.at(lat, Ev::ServerClose(conn));
                }
                Output::Event(env) => self.check.on_envelope(&env, &self.server),
                other => self
                    .check
                    .violations
                    .push(format!("unexpected output {other:?}")),
            }
        }
        let s = self.engine.stats();
        if s.queued > self.config.queue_capacity
            || s.dedup_keys > self.config.dedup_capacity
            || s.text_parts > 256
            || s.open_turns > 16
            || s.live_handles > 4
        {
            self.check.violations.push(format!("unbounded state {s:?}"));
        }
    }

    fn deliverable(&self, conn: ConnId) -> bool {
        self.links
            .get(&conn.0)
            .is_some_and(|l| !l.closed && !l.half_open)
    }

    /// Puts a frame on the wire (direction 0: to the server, 1: to the client) with the
    /// network's faults: drop, duplicate, and delay out of order.
    fn transmit(&mut self, conn: ConnId, dir: usize, text: String, ev: impl Fn(String) -> Ev) {
        let active = self.active();
        if active && self.rng.chance(self.net.drop) {
            return;
        }
        let copies = if active && self.rng.chance(self.net.dup) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let lat = self.latency();
            let reorder = active && self.rng.chance(self.net.delay);
            let Some(link) = self.links.get_mut(&conn.0) else {
                return;
            };
            let at = if reorder {
                self.now + lat + self.rng.range(50, 3_000)
            } else {
                let at = (self.now + lat).max(link.last[dir]);
                link.last[dir] = at;
                at
            };
            let delay = at - self.now;
            self.at(delay, ev(text.clone()));
        }
    }

    fn open(&mut self, conn: ConnId) {
        self.links.insert(conn.0, Link::default());
        self.latest = Some(conn);
        let lat = self.latency();
        if self.server.down || self.now < self.refuse_until {
            self.at(
                lat,
                Ev::ClientClosed(conn, CloseReason::refused(Some(503), "refused")),
            );
        } else {
            self.at(lat, Ev::ServerOpen(conn));
        }
    }

    fn server_out(&mut self, outs: Vec<ServerOut>) {
        for o in outs {
            match o {
                ServerOut::Send(c, text) => {
                    if self.deliverable(ConnId(c)) {
                        self.transmit(ConnId(c), 1, text, |t| Ev::ClientFrame(ConnId(c), t));
                    }
                }
                ServerOut::Close(c) => self.break_link(ConnId(c), "server closed"),
                ServerOut::Timer(delay, token) => self.at(delay, Ev::Step(token)),
            }
        }
    }

    fn break_link(&mut self, conn: ConnId, why: &str) {
        let Some(link) = self.links.get_mut(&conn.0) else {
            return;
        };
        if link.closed {
            return;
        }
        link.closed = true;
        let lat = self.latency();
        self.at(lat, Ev::ClientClosed(conn, CloseReason::error(why)));
        self.at(lat, Ev::ServerClose(conn));
    }

    fn dispatch(&mut self, ev: Ev) {
        match ev {
            Ev::ClientOpened(c) => {
                if self.deliverable(c) {
                    self.input(Input::SocketOpened { conn: c });
                }
            }
            Ev::ClientFrame(c, text) => {
                if self.deliverable(c) {
                    self.input(Input::SocketFrame {
                        conn: c,
                        frame: Frame::Text(text),
                    });
                }
            }
            Ev::ClientClosed(c, reason) => {
                if !self.links.get(&c.0).is_some_and(|l| l.half_open) {
                    self.input(Input::SocketClosed { conn: c, reason });
                }
            }
            Ev::ServerOpen(c) => {
                let lat = self.latency();
                if self.server.down || self.links.get(&c.0).is_none_or(|l| l.closed) {
                    self.at(
                        lat,
                        Ev::ClientClosed(c, CloseReason::refused(None, "refused")),
                    );
                } else {
                    self.server.open(c.0);
                    self.at(lat, Ev::ClientOpened(c));
                }
            }
            Ev::ServerFrame(c, text) => {
                if self.deliverable(c) {
                    let outs = self.server.frame(self.now, c.0, &text, &mut self.rng);
                    self.server_out(outs);
                }
            }
            Ev::ServerClose(c) => self.server.close(c.0),
            Ev::Step(token) => {
                let outs = self.server.step(self.now, token, &mut self.rng);
                self.server_out(outs);
            }
            Ev::ServerUp => {
                let outs = self.server.up(self.now, &mut self.rng);
                self.server_out(outs);
            }
            Ev::App(a) => self.app(a),
            Ev::Fault(f) => self.fault(f),
        }
    }

    fn app(&mut self, action: AppAction) {
        if self.closed_by_app {
            return;
        }
        if self.trace {
            println!("{:>8} app {action:?}", self.now);
        }
        let now = self.now();
        match action {
            AppAction::Send(text) => match self.engine.send(now, text) {
                Ok(id) => {
                    self.check.accepted.push(id);
                    self.drain();
                }
                Err(EngineError::QueueFull { .. }) => self.drain(),
                Err(e) => self.check.violations.push(format!("send error {e}")),
            },
            AppAction::Typing(on) if !self.config.lazy_connect && !on => {
                self.command(|e, now| e.connect(now));
            }
            AppAction::Typing(on) => self.command(|e, now| e.typing(now, on)),
            AppAction::Cancel => self.command(|e, now| e.cancel_turn(now)),
            AppAction::ReconnectNow => self.command(|e, now| e.reconnect_now(now)),
            AppAction::Close => {
                self.command(|e, now| e.close(now));
                self.closed_by_app = true;
            }
        }
    }

    fn fault(&mut self, fault: Fault) {
        if self.trace {
            println!("{:>8} fault {fault:?}", self.now);
        }
        match fault {
            Fault::Disconnect => {
                if let Some(c) = self.latest {
                    self.break_link(c, "connection reset");
                }
            }
            Fault::HalfOpen => {
                if let Some(l) = self.latest.and_then(|c| self.links.get_mut(&c.0)) {
                    l.half_open = true;
                }
            }
            Fault::Restart { down_ms, goodbye } => {
                if self.server.down {
                    return;
                }
                let outs = self.server.restart(goodbye);
                self.server_out(outs);
                let down = down_ms.min(ACTIVE_MS.saturating_sub(self.now));
                self.at(down, Ev::ServerUp);
            }
            Fault::Refuse { ms } => {
                self.refuse_until = (self.now + ms).min(ACTIVE_MS);
            }
        }
    }

    fn finish(mut self, converged: bool) -> Outcome {
        if !converged && !self.closed_by_app {
            let s = self.engine.stats();
            self.check.violations.push(format!(
                "did not settle by {} ms: state {:?}, {s:?}, delivered {} of {}, server idle {}",
                self.now,
                self.engine.state(),
                self.check.last_delivered,
                self.server.last_seq,
                self.server.idle()
            ));
        }
        if !self.closed_by_app {
            self.command(|e, now| e.close(now));
        }
        let converged = converged && !self.closed_by_app;
        self.check.finish(&self.server, converged);
        Outcome {
            violations: self.check.violations,
            envelopes: self.engine.stats().events,
            virtual_ms: self.now,
        }
    }
}

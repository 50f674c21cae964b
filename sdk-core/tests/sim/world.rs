//! The multi-dialect simulation world: the engine with a dialect's codec against that dialect's
//! server [`Model`], on a virtual clock, through a network that only does what that transport
//! can do. WebSocket frames and HTTP bodies arrive whole and in order (TCP), but connections
//! reset, go half-open, are refused, and the server restarts; HTTP requests are lost before the
//! server sees them, responses are lost after it acted on them (so the client retries something
//! the backend already has), streams are cut mid-body, and the backend throttles with `429` +
//! `Retry-After`. Separate requests race (latency jitter reorders their answers). Duplicates
//! arise only where the protocol replays: resume after reconnect, re-sent idempotent requests.
//!
//! One seed = one app workload + one fault schedule; a flapping seed makes the backend fail
//! every connection right after it became usable. [`AppView`] checks every envelope, the world
//! checks that no message is received again after its acknowledgement reached the client
//! (unless the dialect is documented to re-send cut turns). No threads, no wall clock.

use super::SimRng;
use super::agent::{Model, Out, Records, Req};
use super::invariants::{AppView, raw_items};
use super::workload::{AppAction, Fault, Plan};
use chatwire::io::CloseReason;
use chatwire::{
    Config, ConnId, ConnectionState, Engine, EngineError, Frame, Input, Instant, Output, RequestId,
};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

mod deliver;

/// Result of one seed.
pub struct Outcome {
    pub violations: Vec<String>,
    pub messages: u64,
    pub envelopes: u64,
    pub virtual_ms: u64,
}

enum Ev {
    SockOpened(u64),
    SockFrame(u64, String, Option<String>),
    SockClosed(u64, CloseReason),
    Response {
        req: u64,
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
        acks: Option<String>,
    },
    Chunk(u64, String),
    End(u64),
    HttpFailed(u64, &'static str),
    ServerOpen(u64, String),
    ServerFrame(u64, String),
    ServerRequest(Req),
    ServerGone(u64),
    Step(u64, bool),
    Up,
    FlapEnd,
    App(AppAction),
    Fault(Fault),
}

#[derive(Default)]
struct Link {
    socket: bool,
    /// No more deliveries in either direction.
    closed: bool,
    half_open: bool,
    /// The client got its final report (closed, failed, ended, whole response).
    reported: bool,
    /// The client asked for a streamed body.
    wants_stream: bool,
    /// A streamed response whose 2xx head arrived.
    streaming: bool,
    /// The answer is lost on the way back (requests only).
    lose_answer: bool,
    /// Latest scheduled delivery per direction (to server, to client): FIFO like TCP.
    last: [u64; 2],
}

pub struct World<M: Model> {
    now: u64,
    order: u64,
    heap: BinaryHeap<Reverse<(u64, u64)>>,
    events: HashMap<u64, Ev>,
    rng: SimRng,
    engine: Engine,
    model: M,
    links: HashMap<u64, Link>,
    latest_socket: Option<u64>,
    down: bool,
    refuse_until: u64,
    throttle_until: u64,
    plan: Plan,
    pub app: AppView,
    pub records: Records,
    config: Config,
    trace: bool,
    closed_by_app: bool,
    flapping: bool,
    messages: u64,
    /// When the app last saw the resume cursor move on (`AppView::progress` changed).
    progress_at: (u64, u64),
    /// Dispatches left before the run counts as a runaway (replay storms grow without bound).
    budget: u64,
}

impl<M: Model> World<M> {
    pub fn new(
        model: M,
        config: Config,
        plan: Plan,
        rng: SimRng,
        trace: bool,
    ) -> Result<Self, String> {
        let engine = Engine::new(config.clone(), model.codec()).map_err(|e| e.to_string())?;
        let mut app = AppView::new();
        app.flapping = plan.flapping_until > 0;
        Ok(World {
            now: 0,
            order: 0,
            heap: BinaryHeap::new(),
            events: HashMap::new(),
            rng,
            engine,
            model,
            links: HashMap::new(),
            latest_socket: None,
            down: false,
            refuse_until: 0,
            throttle_until: 0,
            plan,
            app,
            records: Records::default(),
            config,
            trace,
            closed_by_app: false,
            flapping: false,
            messages: 0,
            budget: 0,
            progress_at: (0, 0),
        })
    }

    /// Runs the seed to the end and checks the end-of-run invariants.
    pub fn run(mut self) -> Outcome {
        for (t, a) in std::mem::take(&mut self.plan.actions) {
            self.at(t, Ev::App(a));
        }
        for (t, f) in std::mem::take(&mut self.plan.faults) {
            self.at(t, Ev::Fault(f));
        }
        if self.plan.flapping_until > 0 {
            self.flapping = true;
            self.model.set_flapping(true);
            let until = self.plan.flapping_until;
            self.at(until, Ev::FlapEnd);
        }
        let sends = self
            .events
            .values()
            .filter(|e| matches!(e, Ev::App(AppAction::Send(_))))
            .count() as u64;
        self.budget = 50_000 + 100 * sends;
        let converged = self.run_loop();
        self.finish(converged)
    }

    fn at(&mut self, delay: u64, ev: Ev) {
        self.order += 1;
        self.heap.push(Reverse((self.now + delay, self.order)));
        self.events.insert(self.order, ev);
    }

    fn latency(&mut self) -> u64 {
        let b = self.plan.net.base_latency;
        self.rng.range(b, b * 3 + 2)
    }

    fn active(&self) -> bool {
        self.now < self.plan.active_ms
    }

    fn run_loop(&mut self) -> bool {
        let horizon = self.plan.active_ms + 900_000;
        let mut spins = 0u32;
        loop {
            if !self.active() && !self.flapping && self.engine.state() == ConnectionState::Failed {
                self.app.reset_attempts();
                self.command(|e, now| e.reconnect_now(now)); // the app's retry button
            }
            if !self.active() && self.settled() {
                return true;
            }
            if self.closed_by_app && !self.has_foreground() {
                return false;
            }
            let engine_t = self.engine.poll_timeout().map(|t| t.as_millis());
            let ev_t = self.heap.peek().map(|Reverse((t, _))| *t);
            let t = match (engine_t, ev_t) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) => a,
                (None, Some(b)) => b,
                (None, None) if self.active() => self.plan.active_ms,
                (None, None) => return self.settled(),
            };
            if t > horizon {
                return false;
            }
            let t = t.max(self.now);
            spins = if t == self.now { spins + 1 } else { 0 };
            if spins > 100_000 {
                self.app.fail(format!("livelock at {} ms", self.now));
                return false;
            }
            self.now = t;
            self.budget = self.budget.saturating_sub(1);
            if self.budget == 0 {
                self.app.violations.push(format!(
                    "runaway: the run needed more than 100 steps per message (at {} ms, {} reconnects, {} copies received for {} messages)",
                    self.now,
                    self.app.reconnects,
                    self.records.received.values().sum::<u32>(),
                    self.records.received.len()
                ));
                return false;
            }
            if engine_t.is_some_and(|e| e <= t) && ev_t.is_none_or(|e| e > t) {
                self.input(Input::Timeout);
            } else if let Some(Reverse((_, id))) = self.heap.pop() {
                if let Some(ev) = self.events.remove(&id) {
                    self.dispatch(ev);
                }
                if engine_t.is_some_and(|e| e <= self.now) {
                    self.input(Input::Timeout);
                }
            }
        }
    }

    fn settled(&self) -> bool {
        if self.closed_by_app {
            return true;
        }
        let stats = self.engine.stats();
        let state_ok = match self.engine.state() {
            ConnectionState::Ready => true,
            ConnectionState::Disconnected => self.app.accepted.is_empty(),
            _ => false,
        };
        state_ok
            && !self.down
            && self.caught_up()
            && stats.queued == 0
            && stats.open_turns == 0
            && self.app.open_turns() == 0
            && self.app.sends_settled()
            && self.model.idle()
            && !self.has_foreground()
    }

    /// The app saw the end of every turn the backend finished, or was told of a gap; a message
    /// the app was told had failed may be answered unseen.
    fn caught_up(&self) -> bool {
        self.records.done.iter().all(|(cid, turn)| {
            self.app.failed_sends.contains(cid)
                || self.app.ended_for.contains(cid)
                || turn
                    .as_ref()
                    .is_some_and(|t| self.app.ended_turns.contains(t))
                || self.app.discontinuities > 0
        })
    }

    /// Something other than background timers and open streams is still pending.
    fn has_foreground(&self) -> bool {
        self.events.values().any(|e| {
            matches!(
                e,
                Ev::App(_) | Ev::Step(_, false) | Ev::Response { .. } | Ev::ServerRequest(_)
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
                self.app.fail(format!("handle error {e}"));
            }
        }
        self.drain();
    }

    fn command(&mut self, f: impl FnOnce(&mut Engine, Instant) -> Result<(), EngineError>) {
        let now = self.now();
        if let Err(e) = f(&mut self.engine, now) {
            if e != EngineError::Closed {
                self.app.fail(format!("command error {e}"));
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
                Output::OpenSocket { conn, url, .. } => self.open_socket(conn.0, url),
                Output::SendText { conn, text } => {
                    if self.live(conn.0) {
                        let at = self.fifo(conn.0, 0);
                        self.at(at, Ev::ServerFrame(conn.0, text));
                    }
                }
                Output::CloseSocket { conn } => self.client_drops(conn.0),
                Output::HttpRequest(r) => self.http(r),
                Output::CancelHttp { id } => self.client_drops(id.0),
                Output::Event(env) => {
                    let keys: Vec<String> = raw_items(&env.raw)
                        .into_iter()
                        .filter_map(|v| self.model.event_key(v))
                        .collect();
                    self.app.on_envelope(&env, keys);
                }
                other => self.app.fail(format!("unexpected output {other:?}")),
            }
        }
        if self.app.progress != self.progress_at.0 {
            self.progress_at = (self.app.progress, self.now);
        }
        let s = self.engine.stats();
        if s.queued > self.config.queue_capacity
            || s.dedup_keys > self.config.dedup_capacity
            || s.text_parts > 256
            || s.open_turns > 16
            || s.live_handles > 6
        {
            self.app.fail(format!("unbounded state {s:?}"));
        }
    }

    fn live(&self, id: u64) -> bool {
        self.links
            .get(&id)
            .is_some_and(|l| !l.closed && !l.half_open)
    }

    /// Delay for the next in-order delivery on link `id` in direction `dir`.
    fn fifo(&mut self, id: u64, dir: usize) -> u64 {
        let lat = self.latency();
        let now = self.now;
        let Some(link) = self.links.get_mut(&id) else {
            return lat;
        };
        let at = (now + lat).max(link.last[dir]);
        link.last[dir] = at;
        at - now
    }

    fn refusing(&self) -> bool {
        self.down || self.now < self.refuse_until
    }

    fn open_socket(&mut self, conn: u64, url: String) {
        let link = Link {
            socket: true,
            ..Link::default()
        };
        self.links.insert(conn, link);
        self.latest_socket = Some(conn);
        let lat = self.latency();
        if self.refusing() {
            let reason = CloseReason::refused(Some(503), "refused");
            self.at(lat, Ev::SockClosed(conn, reason));
        } else if self.now < self.throttle_until {
            let wait = (self.throttle_until - self.now).div_ceil(1000);
            let reason = CloseReason::refused(Some(429), "too many requests")
                .with_retry_after(Some(std::time::Duration::from_secs(wait)));
            self.at(lat, Ev::SockClosed(conn, reason));
        } else {
            self.at(lat, Ev::ServerOpen(conn, url));
        }
    }

    fn http(&mut self, r: chatwire::HttpRequest) {
        let id = r.id.0;
        let mut link = Link::default();
        let active = self.active();
        let lat = self.latency();
        if let Some(ms) = r.timeout_ms {
            self.at(ms, Ev::HttpFailed(id, "timed out"));
        }
        if self.refusing() {
            self.links.insert(id, link);
            self.at(lat, Ev::HttpFailed(id, "connection refused"));
            return;
        }
        if self.now < self.throttle_until {
            let wait = (self.throttle_until - self.now).div_ceil(1000);
            self.links.insert(id, link);
            let headers = vec![("Retry-After".to_string(), wait.to_string())];
            let body = r#"{"error":"rate limited","code":"RATE_LIMITED","retryable":true}"#;
            self.at(
                lat,
                Ev::Response {
                    req: id,
                    status: 429,
                    headers,
                    body: body.into(),
                    acks: None,
                },
            );
            return;
        }
        if active && self.rng.chance(self.plan.net.lose_request) {
            self.links.insert(id, link);
            self.at(
                lat,
                Ev::HttpFailed(id, "connection reset before the request was sent"),
            );
            return;
        }
        link.wants_stream = r.streaming;
        link.lose_answer = active && !r.streaming && self.rng.chance(self.plan.net.lose_response);
        link.last[0] = self.now + lat;
        self.links.insert(id, link);
        let req = Req {
            id,
            method: r.method.as_str(),
            url: r.url,
            headers: r.headers,
            body: String::from_utf8_lossy(&r.body).into_owned(),
            streaming: r.streaming,
        };
        self.at(lat, Ev::ServerRequest(req));
    }

    /// The client closed a socket or abandoned a request.
    fn client_drops(&mut self, id: u64) {
        if let Some(l) = self.links.get_mut(&id) {
            if l.closed {
                return;
            }
            l.closed = true;
        }
        let lat = self.latency();
        self.at(lat, Ev::ServerGone(id));
    }

    /// The connection `id` breaks under both sides (reset, restart, cut stream).
    fn break_link(&mut self, id: u64, why: &'static str) {
        let Some(link) = self.links.get_mut(&id) else {
            return;
        };
        if link.closed {
            return;
        }
        link.closed = true;
        let socket = link.socket;
        let lat = self.latency();
        if socket {
            self.at(lat, Ev::SockClosed(id, CloseReason::error(why)));
        } else {
            self.at(lat, Ev::HttpFailed(id, why));
        }
        self.at(lat, Ev::ServerGone(id));
    }
}

impl<M: Model> World<M> {
    fn app_action(&mut self, action: AppAction) {
        if self.closed_by_app {
            return;
        }
        if self.trace {
            println!("{:>8} app {action:?}", self.now);
        }
        let now = self.now();
        match action {
            AppAction::Connect => self.command(|e, now| e.connect(now)),
            AppAction::Send(text) => match self.engine.send(now, text) {
                Ok(id) => {
                    self.messages += 1;
                    self.app.accepted.push(id);
                    self.drain();
                }
                Err(EngineError::QueueFull { .. }) => self.drain(),
                Err(e) => self.app.fail(format!("send error {e}")),
            },
            AppAction::Typing(on) => self.command(|e, now| e.typing(now, on)),
            AppAction::Cancel => self.command(|e, now| e.cancel_turn(now)),
            AppAction::ReconnectNow => {
                self.app.reset_attempts();
                self.command(|e, now| e.reconnect_now(now));
            }
            AppAction::Close => {
                self.command(|e, now| e.close(now));
                self.closed_by_app = true;
            }
        }
    }

    /// Links a fault can hit: open sockets and requests still waiting for (or reading) an answer.
    fn live_links(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self
            .links
            .iter()
            .filter(|(_, l)| !l.closed && !l.half_open)
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        ids
    }

    fn fault(&mut self, fault: Fault) {
        if self.trace {
            println!("{:>8} fault {fault:?}", self.now);
        }
        match fault {
            Fault::Cut => {
                let ids = self.live_links();
                if !ids.is_empty() {
                    let id = ids[self.rng.range(0, ids.len() as u64) as usize];
                    self.break_link(id, "connection reset");
                }
            }
            Fault::HalfOpen => {
                let ids = self.live_links();
                if !ids.is_empty() {
                    let id = ids[self.rng.range(0, ids.len() as u64) as usize];
                    if let Some(l) = self.links.get_mut(&id) {
                        l.half_open = true;
                    }
                }
            }
            Fault::Restart { down_ms } => {
                if self.down {
                    return;
                }
                let outs = self.model.restart();
                self.server_out(outs);
                self.down = true;
                let mut ids: Vec<u64> = self
                    .links
                    .iter()
                    .filter(|(_, l)| !l.closed)
                    .map(|(id, _)| *id)
                    .collect();
                ids.sort_unstable();
                for id in ids {
                    self.break_link(id, "server restarted");
                }
                self.at(down_ms, Ev::Up);
            }
            Fault::Refuse { ms } => self.refuse_until = self.now + ms,
            Fault::Throttle { ms } => self.throttle_until = self.now + ms,
        }
    }

    fn finish(mut self, converged: bool) -> Outcome {
        if !converged && !self.closed_by_app {
            let s = self.engine.stats();
            let msg = format!(
                "did not settle by {} ms: state {:?}, {s:?}, server idle {}, sends settled {}, caught up {}, pending work {}, turns done {} (ended at the app {})",
                self.now,
                self.engine.state(),
                self.model.idle(),
                self.app.sends_settled(),
                self.caught_up(),
                self.has_foreground(),
                self.records.done.len(),
                self.app.ended_for.len(),
            );
            self.app.fail(msg);
        }
        if !self.closed_by_app {
            self.command(|e, now| e.close(now));
        }
        self.app.finish(&self.records.stored);
        Outcome {
            violations: self.app.violations,
            messages: self.messages,
            envelopes: self.engine.stats().events,
            virtual_ms: self.now,
        }
    }
}

//! What one seed of the multi-dialect simulation does: the engine configuration, the app's
//! actions and the fault schedule, drawn from the seed and fitted to the dialect's transport.
//!
//! WebSocket dialects get resets, half-open sockets, refused and throttled upgrades and server
//! restarts; HTTP dialects get the same at the request level plus lost requests and lost
//! responses (the backend acted, the client never heard). Three kinds of seed: short ones (a
//! few messages, many faults), flapping ones (the backend fails every connection right after it
//! became usable, until the engine gives up), and long ones (thousands of messages across a
//! digit boundary of the backend's ids, with periodic restarts).

use super::SimRng;
use chatwire::{Config, OverflowPolicy};
use std::time::Duration;

#[derive(Debug)]
pub enum AppAction {
    Connect,
    Send(String),
    Typing(bool),
    Cancel,
    ReconnectNow,
    Close,
}

#[derive(Debug)]
pub enum Fault {
    /// Reset one open socket or request (both sides see it end).
    Cut,
    /// One open socket or request goes silent without closing.
    HalfOpen,
    /// The server process restarts and is down for `down_ms`.
    Restart { down_ms: u64 },
    /// New connections are refused for `ms`.
    Refuse { ms: u64 },
    /// New connections and requests get `429` + `Retry-After` for `ms`.
    Throttle { ms: u64 },
}

/// Network intensities (HTTP-level losses; sockets only see whole-connection faults).
#[derive(Default)]
pub struct Net {
    pub base_latency: u64,
    pub lose_request: f64,
    pub lose_response: f64,
}

pub struct Plan {
    pub actions: Vec<(u64, AppAction)>,
    pub faults: Vec<(u64, Fault)>,
    pub net: Net,
    /// Faults and sends happen before this instant; afterwards the run must settle.
    pub active_ms: u64,
    /// The backend flaps until this instant (0: never).
    pub flapping_until: u64,
    /// Against a flapping backend the engine must give up within this long of its last
    /// progress (the backoff schedule up to `max_attempts`).
    pub give_up_ms: u64,
    /// Turn steps are this fast (ms, upper bound), so long runs do not pile up.
    pub step_ms: u64,
}

/// Kind of seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Short,
    Flapping,
    Long { messages: u64 },
}

pub fn config(seed: u64, kind: Kind, rng: &mut SimRng) -> Config {
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
    c.dedup_capacity = if rng.chance(0.2) { 64 } else { 1024 };
    c.max_attempts = if rng.chance(0.3) { 3 } else { 10 };
    c.lazy_connect = !rng.chance(0.1);
    if let Kind::Long { .. } = kind {
        c.queue_capacity = 50;
        c.dedup_capacity = 1024;
        c.max_attempts = 10;
    }
    c
}

pub fn plan(kind: Kind, sockets: bool, config: &Config, rng: &mut SimRng) -> Plan {
    match kind {
        Kind::Short => short(sockets, config, rng),
        Kind::Flapping => flapping(config, rng),
        Kind::Long { messages } => long(messages, rng),
    }
}

fn short(sockets: bool, config: &Config, rng: &mut SimRng) -> Plan {
    let active_ms = 120_000;
    let calm = rng.chance(0.15);
    let mut actions = Vec::new();
    if !config.lazy_connect {
        actions.push((0, AppAction::Connect));
    }
    for i in 0..rng.range(1, 8) {
        actions.push((
            rng.range(0, 80_000),
            AppAction::Send(format!("message {i}")),
        ));
    }
    for _ in 0..rng.range(0, 4) {
        let on = rng.chance(0.6);
        actions.push((rng.range(0, 90_000), AppAction::Typing(on)));
    }
    if rng.chance(0.2) {
        actions.push((rng.range(0, 90_000), AppAction::Cancel));
    }
    if rng.chance(0.15) {
        actions.push((rng.range(0, 90_000), AppAction::ReconnectNow));
    }
    if rng.chance(0.03) {
        actions.push((rng.range(1_000, 100_000), AppAction::Close));
    }
    let mut faults = Vec::new();
    let mut net = Net {
        base_latency: rng.range(1, 40),
        ..Net::default()
    };
    if !calm {
        for _ in 0..rng.range(0, 6) {
            let t = rng.range(0, active_ms - 5_000);
            faults.push((t, fault(rng)));
        }
        if !sockets {
            net.lose_request = [0.0, 0.01, 0.05][rng.range(0, 3) as usize];
            net.lose_response = [0.0, 0.01, 0.05][rng.range(0, 3) as usize];
        }
    }
    Plan {
        actions,
        faults,
        net,
        active_ms,
        flapping_until: 0,
        give_up_ms: 0,
        step_ms: 300,
    }
}

fn fault(rng: &mut SimRng) -> Fault {
    match rng.range(0, 6) {
        0 | 1 => Fault::Cut,
        2 => Fault::HalfOpen,
        3 => Fault::Restart {
            down_ms: rng.range(100, 20_000),
        },
        4 => Fault::Refuse {
            ms: rng.range(1_000, 40_000),
        },
        _ => Fault::Throttle {
            ms: rng.range(1_000, 15_000),
        },
    }
}

/// Sends a couple of messages to a backend that fails every connection once it is usable,
/// for longer than the whole backoff schedule up to `max_attempts` takes.
fn flapping(config: &Config, rng: &mut SimRng) -> Plan {
    let mut actions = vec![
        (0, AppAction::Connect),
        (0, AppAction::Send("flap 0".into())),
    ];
    if rng.chance(0.5) {
        actions.push((rng.range(1, 3_000), AppAction::Send("flap 1".into())));
    }
    // 1 s x2 capped at 30 s with +20 % jitter, plus each attempt's own life
    let schedule: u64 = (0..config.max_attempts)
        .map(|k| 1_000u64.saturating_mul(1 << k.min(5)).min(30_000) * 12 / 10 + 3_000)
        .sum();
    let until = schedule + 20_000;
    Plan {
        actions,
        faults: Vec::new(),
        net: Net {
            base_latency: rng.range(1, 20),
            ..Net::default()
        },
        active_ms: until + 1_000,
        flapping_until: until,
        give_up_ms: schedule,
        step_ms: 300,
    }
}

/// Thousands of messages, one every 0.3-1 s, with a restart every 8-40 s and a few cuts.
fn long(messages: u64, rng: &mut SimRng) -> Plan {
    let mut actions = vec![(0, AppAction::Connect)];
    let mut t = 0;
    for i in 0..messages {
        t += rng.range(300, 1_000);
        actions.push((t, AppAction::Send(format!("long {i}"))));
    }
    let active_ms = t + 1_000;
    let mut faults = Vec::new();
    let mut f = 0;
    loop {
        f += rng.range(8_000, 40_000);
        if f >= active_ms {
            break;
        }
        let fault = if rng.chance(0.6) {
            Fault::Restart {
                down_ms: rng.range(100, 3_000),
            }
        } else {
            Fault::Cut
        };
        faults.push((f, fault));
    }
    Plan {
        actions,
        faults,
        net: Net {
            base_latency: rng.range(1, 10),
            ..Net::default()
        },
        active_ms,
        flapping_until: 0,
        give_up_ms: 0,
        step_ms: 40,
    }
}

//! The app-side view of a simulation run and the DESIGN §3 guarantees checked against it (and
//! against the simulated server's records): outbound exactly-once or reported failure, inbound
//! without duplicates or silent holes, text assembled without doubling, every turn and tool call
//! terminated exactly once, legal state transitions, gapless envelope numbering.

use super::server::Server;
use chatwire::event::{DeliveryStatus, Envelope, Event, TextUpdate};
use chatwire::{ClientId, ConnectionState};
use std::collections::{HashMap, HashSet};

#[derive(Default)]
struct TurnTrack {
    started: u32,
    terminal: u32,
}

#[derive(Default)]
struct ToolTrack {
    started: u32,
    terminal: u32,
}

pub struct Checker {
    pub violations: Vec<String>,
    env_seq: u64,
    pub state: ConnectionState,
    statuses: HashMap<ClientId, Vec<DeliveryStatus>>,
    pub accepted: Vec<ClientId>,
    turns: HashMap<String, TurnTrack>,
    ended_turns: HashSet<String>,
    tools: HashMap<(String, String), ToolTrack>,
    texts: HashMap<(Option<String>, Option<String>), (String, u64)>,
    pub last_delivered: u64,
    disc_since_delivery: bool,
    pub discontinuities: u64,
}

impl Checker {
    pub fn new() -> Checker {
        Checker {
            violations: Vec::new(),
            env_seq: 0,
            state: ConnectionState::Disconnected,
            statuses: HashMap::new(),
            accepted: Vec::new(),
            turns: HashMap::new(),
            ended_turns: HashSet::new(),
            tools: HashMap::new(),
            texts: HashMap::new(),
            last_delivered: 0,
            disc_since_delivery: false,
            discontinuities: 0,
        }
    }

    fn fail(&mut self, msg: String) {
        if self.violations.len() < 20 {
            self.violations.push(msg);
        }
    }

    pub fn open_turns(&self) -> usize {
        self.turns.values().filter(|t| t.terminal == 0).count()
    }

    pub fn on_envelope(&mut self, env: &Envelope, server: &Server) {
        if env.seq != self.env_seq + 1 {
            self.fail(format!("envelope seq {} after {}", env.seq, self.env_seq));
        }
        self.env_seq = env.seq;
        self.server_seqs(env, server);
        self.turn_rules(env);
        match &env.event {
            Event::StateChanged { from, to } => {
                if *from != self.state || !from.can_transition_to(*to) {
                    self.fail(format!(
                        "illegal transition {from:?} -> {to:?} (was {:?})",
                        self.state
                    ));
                }
                self.state = *to;
            }
            Event::Discontinuity { .. } => {
                self.discontinuities += 1;
                self.disc_since_delivery = true;
            }
            Event::MessageStatus {
                client_id, status, ..
            } => self.status(*client_id, status.clone(), server),
            Event::MessageStarted { .. } => {
                let key = (env.message_id.clone(), env.part_id.clone());
                self.texts
                    .insert(key, (String::new(), self.discontinuities));
            }
            Event::TextDelta { update, .. } => {
                let key = (env.message_id.clone(), env.part_id.clone());
                // text seen without its start cannot be compared with the final text
                let entry = self.texts.entry(key).or_insert((String::new(), u64::MAX));
                match update {
                    TextUpdate::Append { text, offset } => {
                        let len = entry.0.chars().count() as u64;
                        if *offset != len {
                            let msg = format!("append at offset {offset}, text has {len} chars");
                            self.fail(msg);
                            return;
                        }
                        entry.0.push_str(text);
                    }
                    TextUpdate::Replace { text } => entry.0 = text.clone(),
                    _ => {}
                }
            }
            Event::MessageCompleted { text } => {
                let key = (env.message_id.clone(), env.part_id.clone());
                if let Some((have, disc)) = self.texts.remove(&key) {
                    if disc == self.discontinuities && have != *text {
                        self.fail(format!("assembled {have:?} but completed {text:?}"));
                    }
                }
            }
            _ => {}
        }
    }

    /// Server events must arrive once each and in order; a skipped one needs a `Discontinuity`
    /// or must belong to a turn the app has already seen end (the engine then drops it).
    fn server_seqs(&mut self, env: &Envelope, server: &Server) {
        let mut seqs = Vec::new();
        match &env.raw {
            Some(serde_json::Value::Array(xs)) => seqs.extend(xs.iter().filter_map(event_seq)),
            Some(v) => seqs.extend(event_seq(v)),
            None => {}
        }
        for s in seqs {
            if s <= self.last_delivered {
                self.fail(format!("server event {s} delivered again or out of order"));
                continue;
            }
            self.check_gap(self.last_delivered + 1, s, server);
            self.last_delivered = s;
            self.disc_since_delivery = false;
        }
    }

    /// Checks the server events in `from..to` that the app did not get.
    pub fn check_gap(&mut self, from: u64, to: u64, server: &Server) {
        if let Some(m) = self.unexplained(from, to, server) {
            self.fail(format!("server event {m} silently missing"));
        }
    }

    /// The first server event in `from..to` the app neither got nor may skip.
    fn unexplained(&self, from: u64, to: u64, server: &Server) -> Option<u64> {
        if self.disc_since_delivery {
            return None;
        }
        (from..to).find(|m| {
            !server
                .turn_of_seq
                .get(m)
                .is_some_and(|t| self.ended_turns.contains(t))
        })
    }

    /// The app has every server event it should have.
    pub fn caught_up(&self, server: &Server) -> bool {
        self.unexplained(self.last_delivered + 1, server.last_seq + 1, server)
            .is_none()
    }

    fn turn_rules(&mut self, env: &Envelope) {
        let Some(turn) = env.turn_id.clone() else {
            return;
        };
        let is_start = matches!(env.event, Event::TurnStarted { .. });
        let terminal = env.event.is_turn_terminal();
        let t = self.turns.entry(turn.clone()).or_default();
        let (started, ended) = (t.started, t.terminal);
        if ended > 0 {
            let name = env.event.type_name();
            self.fail(format!("{name} after the end of turn {turn}"));
            return;
        }
        if is_start {
            t.started += 1;
        }
        if terminal {
            t.terminal += 1;
        }
        if is_start && started > 0 {
            self.fail(format!("turn {turn} started twice"));
        } else if !is_start && started == 0 {
            self.fail(format!(
                "turn {turn}: {} before turnStarted",
                env.event.type_name()
            ));
        }
        if terminal {
            self.ended_turns.insert(turn.clone());
            let open: Vec<String> = self
                .tools
                .iter()
                .filter(|((tt, _), v)| *tt == turn && v.terminal == 0)
                .map(|((_, id), _)| id.clone())
                .collect();
            if !open.is_empty() {
                self.fail(format!("turn {turn} ended with open tools {open:?}"));
            }
        }
        let tool = match &env.event {
            Event::ToolStarted { tool_id, .. }
            | Event::ToolProgress { tool_id, .. }
            | Event::ToolArgsDelta { tool_id, .. }
            | Event::ToolCompleted { tool_id, .. }
            | Event::ToolFailed { tool_id, .. } => tool_id.clone(),
            _ => return,
        };
        let tr = self.tools.entry((turn.clone(), tool.clone())).or_default();
        let (ts, te) = (tr.started, tr.terminal);
        match &env.event {
            Event::ToolStarted { .. } => tr.started += 1,
            Event::ToolCompleted { .. } | Event::ToolFailed { .. } => tr.terminal += 1,
            _ => {}
        }
        let _ = tr;
        if te > 0 {
            self.fail(format!("tool {tool} event after its end"));
        } else if matches!(env.event, Event::ToolStarted { .. }) && ts > 0 {
            self.fail(format!("tool {tool} started twice"));
        }
    }

    fn status(&mut self, id: ClientId, status: DeliveryStatus, server: &Server) {
        let list = self.statuses.entry(id).or_default();
        let prev = list.last().cloned();
        list.push(status.clone());
        let ok = matches!(
            (&prev, &status),
            (None, DeliveryStatus::Queued | DeliveryStatus::Failed { .. })
                | (
                    Some(DeliveryStatus::Queued),
                    DeliveryStatus::Sent | DeliveryStatus::Failed { .. }
                )
                | (
                    Some(DeliveryStatus::Sent),
                    DeliveryStatus::Acked | DeliveryStatus::Failed { .. }
                )
        );
        if !ok {
            self.fail(format!("message {id}: status {status:?} after {prev:?}"));
        }
        if status == DeliveryStatus::Acked {
            let n = server
                .store_count
                .get(&id.to_string())
                .copied()
                .unwrap_or(0);
            if n != 1 {
                self.fail(format!("message {id} acked but stored {n} times"));
            }
        }
    }

    /// End of run (after `close`): everything settled, server records consistent.
    pub fn finish(&mut self, server: &Server, converged: bool) {
        if self.state != ConnectionState::Closed {
            self.fail(format!("final state {:?}", self.state));
        }
        for id in self.accepted.clone() {
            let list = self.statuses.get(&id).cloned().unwrap_or_default();
            let terminals = list
                .iter()
                .filter(|s| matches!(s, DeliveryStatus::Acked | DeliveryStatus::Failed { .. }))
                .count();
            if terminals != 1 {
                self.fail(format!(
                    "message {id}: {terminals} terminal statuses in {list:?}"
                ));
            }
        }
        for (cid, n) in &server.store_count {
            if *n > 1 {
                self.fail(format!("server stored {cid} {n} times"));
            }
        }
        let open: Vec<String> = self
            .turns
            .iter()
            .filter(|(_, t)| t.terminal != 1)
            .map(|(id, _)| id.clone())
            .collect();
        if !open.is_empty() {
            self.fail(format!("turns without exactly one terminal: {open:?}"));
        }
        if self.tools.values().any(|t| t.terminal != 1) {
            self.fail("a tool call without exactly one terminal".into());
        }
        if converged {
            let last = server.last_seq;
            self.check_gap(self.last_delivered + 1, last + 1, server);
        }
    }
}

fn event_seq(v: &serde_json::Value) -> Option<u64> {
    (v["type"] == "event").then(|| v["seq"].as_u64()).flatten()
}

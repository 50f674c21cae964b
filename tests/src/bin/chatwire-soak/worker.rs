//! One dialect's traffic in the soak: a client (through its own toxiproxy proxy) that sends a
//! unique message, waits for that message's turn to end, pauses briefly and sends the next, until
//! the deadline; then drains until every message settled and every acked message's turn ended
//! (or the drain time is up). It keeps every event the app saw, the final status of every
//! message and when its ack was seen, for the tally.
//!
//! The client is configured like an app that never gives up: a high `max_attempts` and short
//! timeouts, so every fault the chaos task injects is found and recovered from within the run.
//! A message that still fails is counted, never retried by the soak itself.

use chatwire::backoff::BackoffPolicy;
use chatwire::event::{DeliveryStatus, Envelope, Event};
use chatwire::{Client, ClientId, DialectKind};
use chatwire_tests::is_final_terminal;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// How long the soak waits for one message's turn before sending the next anyway.
const TURN_WAIT: Duration = Duration::from_secs(40);

/// One message the soak sent.
#[derive(Debug, Clone)]
pub struct Sent {
    /// Its text (unique in the run): `soak <dialect> <n>`.
    pub text: String,
    /// Its last status when the run ended.
    pub status: DeliveryStatus,
    /// Wall clock (Unix ms) when the app first saw it `Acked`.
    pub acked_ms: Option<u64>,
}

/// What one dialect's client did and saw.
#[derive(Debug)]
pub struct Outcome {
    /// The dialect.
    pub kind: DialectKind,
    /// Every message sent.
    pub sent: Vec<Sent>,
    /// `send` calls that returned an error (the message never got an id).
    pub send_errors: Vec<String>,
    /// Every event the app received, in order.
    pub log: Vec<Envelope>,
}

/// Settings of one worker.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The dialect.
    pub kind: DialectKind,
    /// Base URL of the dialect's proxy.
    pub base_url: String,
    /// Client seed.
    pub seed: u64,
    /// When to stop sending.
    pub deadline: Instant,
    /// How long to wait for stragglers after the deadline.
    pub drain: Duration,
}

/// Runs one dialect's traffic. `max_id` is raised to the largest server id number seen.
pub async fn run(plan: Plan, max_id: Arc<AtomicU64>) -> Outcome {
    let mut w = Worker {
        outcome: Outcome {
            kind: plan.kind,
            sent: Vec::new(),
            send_errors: Vec::new(),
            log: Vec::new(),
        },
        index: HashMap::new(),
        ends: 0,
        max_id,
    };
    let client = match client(&plan) {
        Ok(c) => c,
        Err(e) => {
            w.outcome.send_errors.push(format!("build: {e}"));
            return w.outcome;
        }
    };
    let mut events = client.events();
    let mut n = 0u64;
    let mut pace = plan.seed | 1;
    while Instant::now() < plan.deadline {
        n += 1;
        let text = format!("soak {} {n}", plan.kind);
        let before = w.ends;
        match client.send(text.clone()).await {
            Ok(receipt) => w.sent(text, receipt.client_id()),
            Err(e) => {
                w.outcome.send_errors.push(e.to_string());
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        }
        let until = (Instant::now() + TURN_WAIT).min(plan.deadline + plan.drain);
        w.pump(&mut events, until, |w| w.ends > before).await;
        pace ^= pace << 13;
        pace ^= pace >> 7;
        pace ^= pace << 17;
        let pause = Duration::from_millis(10 + pace % 60);
        w.pump(&mut events, Instant::now() + pause, |_| false).await;
    }
    let until = Instant::now() + plan.drain;
    w.pump(&mut events, until, Worker::settled).await;
    client.close().await;
    while let Ok(Some(env)) = tokio::time::timeout(Duration::from_secs(5), events.recv()).await {
        w.saw(env);
    }
    w.outcome
}

/// The client of one worker: through the proxy, short timeouts, no giving up.
fn client(plan: &Plan) -> Result<Client, chatwire::client::BuildError> {
    let backoff = BackoffPolicy {
        base: Duration::from_millis(100),
        cap: Duration::from_secs(2),
        restart_max: Duration::from_millis(500),
        rate_limit_min: Duration::from_millis(200),
        initializing_min: Duration::from_millis(200),
        network_min: Duration::from_millis(150),
        ..BackoffPolicy::default()
    };
    Client::builder(plan.kind, plan.base_url.clone())
        .seed(plan.seed)
        .backoff(backoff)
        .max_attempts(10_000)
        .connect_timeout(Duration::from_secs(5))
        .ready_timeout(Duration::from_secs(5))
        .ping_interval(Duration::from_secs(3))
        .pong_timeout(Duration::from_secs(2))
        .idle_timeout(Duration::from_secs(8))
        .build()
}

struct Worker {
    outcome: Outcome,
    /// Client id -> index in `outcome.sent`.
    index: HashMap<ClientId, usize>,
    /// Final turn ends seen so far.
    ends: usize,
    max_id: Arc<AtomicU64>,
}

impl Worker {
    fn sent(&mut self, text: String, client_id: ClientId) {
        self.index.insert(client_id, self.outcome.sent.len());
        self.outcome.sent.push(Sent {
            text,
            status: DeliveryStatus::Queued,
            acked_ms: None,
        });
    }

    /// Receives events until `done` holds or `until` passes.
    async fn pump(
        &mut self,
        events: &mut chatwire::client::EventStream,
        until: Instant,
        done: impl Fn(&Worker) -> bool,
    ) {
        while !done(self) {
            match tokio::time::timeout_at(until, events.recv()).await {
                Ok(Some(env)) => self.saw(env),
                Ok(None) | Err(_) => return,
            }
        }
    }

    /// Every message acked or failed, and as many final turn ends as acked messages.
    fn settled(&self) -> bool {
        let sent = &self.outcome.sent;
        let open = sent.iter().any(|s| {
            !matches!(
                s.status,
                DeliveryStatus::Acked | DeliveryStatus::Failed { .. }
            )
        });
        let acked = sent
            .iter()
            .filter(|s| s.status == DeliveryStatus::Acked)
            .count();
        !open && self.ends >= acked
    }

    fn saw(&mut self, env: Envelope) {
        if let Event::MessageStatus {
            client_id, status, ..
        } = &env.event
            && let Some(&i) = self.index.get(client_id)
        {
            let s = &mut self.outcome.sent[i];
            if *status == DeliveryStatus::Acked && s.acked_ms.is_none() {
                s.acked_ms = Some(unix_ms());
            }
            s.status = status.clone();
        }
        if is_final_terminal(&env.event) {
            self.ends += 1;
        }
        for id in [&env.message_id, &env.turn_id].into_iter().flatten() {
            if let Some(n) = server_id_number(id) {
                self.max_id.fetch_max(n, Ordering::Relaxed);
            }
        }
        self.outcome.log.push(env);
    }
}

/// The number of a mock server id (`msg-10023`, `m-77`, `t-9`), else `None`.
pub fn server_id_number(id: &str) -> Option<u64> {
    let (prefix, n) = id.rsplit_once('-')?;
    let known = matches!(prefix, "msg" | "m" | "t");
    (known && n.len() <= 12).then(|| n.parse().ok())?
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_mock_server_ids_count() {
        assert_eq!(server_id_number("msg-10023"), Some(10_023));
        assert_eq!(server_id_number("t-9"), Some(9));
        assert_eq!(server_id_number("0190-aaaa-123456789012"), None);
        assert_eq!(server_id_number("chatcmpl-77"), None);
        assert_eq!(server_id_number("msg-x"), None);
    }
}

//! The `chat-interfaces` dialect (routes being added) and its per-session rate limiter.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use tokio::time::Instant;

use crate::server::Shared;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
}

/// Sliding-window rate limiter: at most `limit` hits per `window` per key.
pub(crate) struct RateLimiter {
    limit: u32,
    window: Duration,
    hits: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            hits: Mutex::default(),
        }
    }

    /// Counts a hit for `key`; `Err(retry_after_s)` when the limit is reached.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        self.check_with(key, self.limit)
    }

    /// Like [`RateLimiter::check`] with another limit (uploads).
    pub fn check_with(&self, key: &str, limit: u32) -> Result<(), u64> {
        let now = Instant::now();
        let mut hits = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        let q = hits.entry(key.to_owned()).or_default();
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            q.pop_front();
        }
        if q.len() >= limit as usize {
            let oldest = q.front().copied().unwrap_or(now);
            let wait = self.window.saturating_sub(now.duration_since(oldest));
            return Err(wait.as_secs() + u64::from(wait.subsec_nanos() > 0));
        }
        q.push_back(now);
        Ok(())
    }

    pub fn reset(&self) {
        self.hits.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

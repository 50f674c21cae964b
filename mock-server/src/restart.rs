//! Restarts: which dialects each connection has served (so a restart can be scoped to one
//! dialect), and the timer behind the `restart_after_ms` fault.
//!
//! A TCP connection is tagged with a dialect the first time it carries a request of that dialect
//! (a WebSocket upgrade, an SSE GET, a plain request), by the fault middleware. A restart scoped
//! to dialect `d` drops every live connection tagged `d`, so a keep-alive connection that served
//! `d` and other dialects goes too; connections that only carried `/_mock/` requests are never
//! dropped by a scoped restart. A global restart drops every connection (see `conn.rs`).
//!
//! The timer (`RestartTimer`) runs on the server's runtime; installing a new fault set, clearing
//! faults, a reset or shutdown cancels it. It holds only a weak reference to the server, so a
//! dropped server ends it too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::runtime::Handle;
use tokio::task::AbortHandle;

use crate::conn::ConnCtl;
use crate::dialect::Dialect;
use crate::faults::RestartPlan;

/// Live connections and the dialects each one has served.
#[derive(Default)]
pub(crate) struct ConnTags {
    map: Mutex<HashMap<u64, Tag>>,
}

struct Tag {
    ctl: Weak<ConnCtl>,
    dialects: Vec<Dialect>,
}

impl ConnTags {
    /// Records that `ctl`'s connection carried a request of `dialect`.
    pub fn tag(&self, ctl: &Arc<ConnCtl>, dialect: Dialect) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tag) = map.get_mut(&ctl.id) {
            if !tag.dialects.contains(&dialect) {
                tag.dialects.push(dialect);
            }
            return;
        }
        if map.len() > 64 && map.len().is_power_of_two() {
            map.retain(|_, t| t.ctl.strong_count() > 0);
        }
        map.insert(
            ctl.id,
            Tag {
                ctl: Arc::downgrade(ctl),
                dialects: vec![dialect],
            },
        );
    }

    /// Drops every live connection that served `dialect` (except `keep`); returns how many.
    pub fn kill(&self, dialect: Dialect, keep: Option<u64>) -> usize {
        let conns: Vec<Arc<ConnCtl>> = {
            let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
            map.retain(|_, t| t.ctl.strong_count() > 0);
            map.values()
                .filter(|t| t.dialects.contains(&dialect))
                .filter_map(|t| t.ctl.upgrade())
                .collect()
        };
        let mut n = 0;
        for c in conns {
            if Some(c.id) != keep && !c.is_killed() {
                c.kill();
                n += 1;
            }
        }
        n
    }
}

/// The running `restart_after_ms` timer, if any.
#[derive(Default)]
pub(crate) struct RestartTimer {
    task: Mutex<Option<AbortHandle>>,
}

impl RestartTimer {
    /// Cancels the running timer and, with a plan, starts a new one on `runtime`. `restart` is
    /// called at every tick; it returns `false` once the server is gone, which ends the timer.
    pub fn replace<F>(&self, runtime: &Handle, plan: Option<RestartPlan>, restart: F)
    where
        F: Fn(&RestartPlan) -> bool + Send + 'static,
    {
        let next = plan.map(|plan| {
            runtime
                .spawn(async move {
                    loop {
                        tokio::time::sleep(plan.after).await;
                        if !restart(&plan) || !plan.repeat {
                            return;
                        }
                    }
                })
                .abort_handle()
        });
        let old = std::mem::replace(
            &mut *self.task.lock().unwrap_or_else(|e| e.into_inner()),
            next,
        );
        if let Some(old) = old {
            old.abort();
        }
    }

    /// Cancels the running timer.
    pub fn cancel(&self) {
        if let Some(old) = self.task.lock().unwrap_or_else(|e| e.into_inner()).take() {
            old.abort();
        }
    }
}

/// The restart callback for a server: upgrades `shared` and restarts it per the plan.
pub(crate) fn weak_restart<S, F>(shared: Weak<S>, f: F) -> impl Fn(&RestartPlan) -> bool
where
    S: Send + Sync + 'static,
    F: Fn(&S, &RestartPlan) + Send + 'static,
{
    move |plan| match shared.upgrade() {
        Some(s) => {
            f(&s, plan);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    fn plan(repeat: bool) -> RestartPlan {
        RestartPlan {
            after: Duration::from_millis(100),
            refuse: Duration::ZERO,
            repeat,
            scope: None,
        }
    }

    fn counter() -> (
        Arc<AtomicUsize>,
        impl Fn(&RestartPlan) -> bool + Send + 'static,
    ) {
        let n = Arc::new(AtomicUsize::new(0));
        let m = n.clone();
        (n, move |_: &RestartPlan| {
            m.fetch_add(1, Ordering::SeqCst);
            true
        })
    }

    async fn advance(ms: u64) {
        // Paused clock: sleeping advances it and runs every timer that falls due.
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn once_restarts_a_single_time() {
        let timer = RestartTimer::default();
        let (n, f) = counter();
        timer.replace(&Handle::current(), Some(plan(false)), f);
        advance(50).await;
        assert_eq!(n.load(Ordering::SeqCst), 0, "not before `after`");
        advance(1000).await;
        assert_eq!(n.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn repeating_restarts_until_replaced() {
        let timer = RestartTimer::default();
        let (n, f) = counter();
        timer.replace(&Handle::current(), Some(plan(true)), f);
        advance(350).await;
        assert_eq!(n.load(Ordering::SeqCst), 3);
        timer.replace(&Handle::current(), None, |_: &RestartPlan| true);
        advance(1000).await;
        assert_eq!(
            n.load(Ordering::SeqCst),
            3,
            "replacing the set stops the timer"
        );
        let (m, f) = counter();
        timer.replace(&Handle::current(), Some(plan(true)), f);
        timer.cancel();
        advance(1000).await;
        assert_eq!(m.load(Ordering::SeqCst), 0, "cancel stops it");
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_server_ends_the_timer() {
        let timer = RestartTimer::default();
        let shared = Arc::new(AtomicUsize::new(0));
        let f = weak_restart(Arc::downgrade(&shared), |s: &AtomicUsize, _| {
            s.fetch_add(1, Ordering::SeqCst);
        });
        timer.replace(&Handle::current(), Some(plan(true)), f);
        advance(150).await;
        assert_eq!(shared.load(Ordering::SeqCst), 1);
        drop(shared);
        advance(1000).await;
        let running = timer.task.lock().unwrap().as_ref().map(|t| t.is_finished());
        assert_eq!(running, Some(true));
    }
}

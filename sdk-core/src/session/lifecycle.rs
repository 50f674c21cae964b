//! The platform's lifecycle as session input: network reachability (`online`/`offline`) and
//! page visibility (`visibilitychange`) in a browser, or whatever a host knows about its device,
//! and the rule for a timer that fires far too late because the host was asleep.
//!
//! The rules, written once here so that no host decides them:
//! - **offline**: stop trying until online. A connection that is up is left alone (the hint can
//!   be wrong: a loopback backend stays reachable); once it is lost, the backoff wait does not
//!   end while offline, so no attempt and no retry budget is spent on a network that is not
//!   there. The session's timer is off meanwhile ([`Session::poll_timeout`](super::Session::poll_timeout)
//!   is `None`).
//! - **online**: reconnect now, when waiting out a backoff or when the client gave up while
//!   offline. A connection that is up, or a client that never connected (lazy connect), is left
//!   alone.
//! - **visible after hidden**: probe the link ([`Engine::probe`](crate::Engine::probe)) when
//!   ready; skip the backoff wait when reconnecting (the user is back, and the wait was measured
//!   on a clock that may have slept).
//! - **a late timer**: a timeout handled more than [`LATE_TIMER`] after the session's deadline
//!   means the host was asleep (a background tab's timers are throttled to a minute or frozen,
//!   a laptop suspends): while ready, the link is probed first, so the deadlines that passed
//!   during the sleep (a pong that could not arrive, an idle stream) do not declare a working
//!   link dead; a dead one is still found within the probe's own timeout.

use std::time::Duration;

/// How late a timer may fire before the session takes it for a sleeping host.
pub const LATE_TIMER: Duration = Duration::from_secs(5);

/// A lifecycle change the host observed (see the [module docs](self) for what each does).
///
/// ```
/// use chatwire::session::{Lifecycle, SessionInput};
/// let input = SessionInput::Lifecycle(Lifecycle::Offline); // the browser's `offline` event
/// assert_ne!(input, SessionInput::Lifecycle(Lifecycle::Online));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lifecycle {
    /// The device lost its network (`offline` event, `navigator.onLine === false`).
    Offline,
    /// The device has a network again (`online` event).
    Online,
    /// The app went to the background (`visibilitychange` to `hidden`).
    Hidden,
    /// The app is in the foreground again (`visibilitychange` to `visible`).
    Visible,
}

/// What the session remembers of the lifecycle.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Presence {
    /// Offline since the last `Online`.
    pub(super) offline: bool,
    /// Hidden since the last `Visible`.
    pub(super) hidden: bool,
}

/// What a lifecycle change asks of the engine in the current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    Nothing,
    ReconnectNow,
    Probe,
}

impl Presence {
    /// Records `change`; returns what to do given whether the engine is `ready`, waiting out a
    /// backoff (`reconnecting`) or gave up (`failed`).
    pub(super) fn apply(
        &mut self,
        change: Lifecycle,
        ready: bool,
        reconnecting: bool,
        failed: bool,
    ) -> Action {
        match change {
            Lifecycle::Offline => {
                self.offline = true;
                Action::Nothing
            }
            Lifecycle::Online => {
                let was_offline = std::mem::take(&mut self.offline);
                if reconnecting || (failed && was_offline) {
                    Action::ReconnectNow
                } else {
                    Action::Nothing
                }
            }
            Lifecycle::Hidden => {
                self.hidden = true;
                Action::Nothing
            }
            Lifecycle::Visible => {
                if !std::mem::take(&mut self.hidden) {
                    Action::Nothing
                } else if ready {
                    Action::Probe
                } else if reconnecting && !self.offline {
                    Action::ReconnectNow
                } else {
                    Action::Nothing
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn online_reconnects_only_what_waits_or_gave_up_offline() {
        let mut p = Presence::default();
        assert_eq!(
            p.apply(Lifecycle::Online, true, false, false),
            Action::Nothing
        );
        assert_eq!(
            p.apply(Lifecycle::Online, false, false, true),
            Action::Nothing,
            "failed while online: a real give-up"
        );
        assert_eq!(
            p.apply(Lifecycle::Offline, false, true, false),
            Action::Nothing
        );
        assert!(p.offline);
        assert_eq!(
            p.apply(Lifecycle::Online, false, false, true),
            Action::ReconnectNow
        );
        assert!(!p.offline);
        assert_eq!(
            p.apply(Lifecycle::Online, false, true, false),
            Action::ReconnectNow
        );
        assert_eq!(
            p.apply(Lifecycle::Online, false, false, false),
            Action::Nothing,
            "lazy: never connected"
        );
    }

    #[test]
    fn visible_after_hidden_probes_or_skips_the_wait() {
        let mut p = Presence::default();
        assert_eq!(
            p.apply(Lifecycle::Visible, true, false, false),
            Action::Nothing,
            "never hidden"
        );
        p.apply(Lifecycle::Hidden, true, false, false);
        assert_eq!(
            p.apply(Lifecycle::Visible, true, false, false),
            Action::Probe
        );
        assert_eq!(
            p.apply(Lifecycle::Visible, true, false, false),
            Action::Nothing,
            "once"
        );
        p.apply(Lifecycle::Hidden, false, true, false);
        assert_eq!(
            p.apply(Lifecycle::Visible, false, true, false),
            Action::ReconnectNow
        );
        p.apply(Lifecycle::Offline, false, true, false);
        p.apply(Lifecycle::Hidden, false, true, false);
        assert_eq!(
            p.apply(Lifecycle::Visible, false, true, false),
            Action::Nothing,
            "offline: wait for online"
        );
    }
}

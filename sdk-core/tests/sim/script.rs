//! The turn runner every server model shares: messages wait in a queue, one turn runs at a
//! time, and each turn is a list of [`Beat`]s fired by timers. A model maps each beat onto its
//! wire (a `token` frame, an SSE `token` event, a growing Parlant message, a completion chunk)
//! and decides what an aborted turn leaves behind.

use super::SimRng;
use super::agent::{Agent, Out, Reply};
use std::collections::VecDeque;

/// One step of a scripted turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Beat {
    /// The agent starts working on the message.
    Processing,
    ToolStart,
    ToolProgress,
    ToolEnd {
        ok: bool,
    },
    /// Word `index` of the reply.
    Token {
        index: usize,
        text: &'static str,
    },
    /// The reply is complete; the turn ends well.
    Done,
    /// The turn fails (after streaming what it streamed).
    Fail,
}

impl Beat {
    pub fn terminal(&self) -> bool {
        matches!(self, Beat::Done | Beat::Fail)
    }
}

/// A turn in progress.
pub struct Turn {
    /// Client id of the message it answers.
    pub cid: String,
    /// The backend's id of that message.
    pub user_id: String,
    pub reply: Reply,
    beats: VecDeque<Beat>,
    pub token: u64,
    /// Beats fired so far.
    pub fired: usize,
    /// The text streamed so far.
    pub streamed: String,
    pub tool_open: bool,
}

pub struct Runner {
    pending: VecDeque<(String, String)>,
    pub turn: Option<Turn>,
    pub agent: Agent,
    step_ms: u64,
    tokens: u64,
    /// No new turn starts (a flapping backend accepts messages but never gets to answer).
    pub paused: bool,
}

impl Runner {
    pub fn new(agent: Agent, step_ms: u64) -> Runner {
        Runner {
            pending: VecDeque::new(),
            turn: None,
            agent,
            step_ms,
            tokens: 1_000_000,
            paused: false,
        }
    }

    pub fn idle(&self) -> bool {
        self.turn.is_none() && self.pending.is_empty()
    }

    /// Message `cid` waits for its turn.
    pub fn is_queued(&self, cid: &str) -> bool {
        self.pending.iter().any(|(c, _)| c == cid)
    }

    /// Queues message `cid` (backend id `user_id`) for an answer.
    pub fn enqueue(&mut self, cid: String, user_id: String) {
        self.pending.push_back((cid, user_id));
    }

    /// Puts an aborted turn's message back at the head of the queue.
    pub fn requeue(&mut self, cid: String, user_id: String) {
        self.pending.push_front((cid, user_id));
    }

    /// Starts the next turn if none is running; returns it.
    pub fn start(&mut self, rng: &mut SimRng, out: &mut Vec<Out>) -> Option<&Turn> {
        if self.turn.is_some() || self.paused {
            return None;
        }
        let (cid, user_id) = self.pending.pop_front()?;
        let reply = self.agent.reply(rng);
        let mut beats = VecDeque::new();
        beats.push_back(Beat::Processing);
        if let Some((_, fails)) = &reply.tool {
            beats.push_back(Beat::ToolStart);
            beats.push_back(Beat::ToolProgress);
            beats.push_back(Beat::ToolEnd { ok: !fails });
        }
        for (index, text) in reply.words.iter().enumerate() {
            beats.push_back(Beat::Token { index, text });
        }
        beats.push_back(if reply.fails { Beat::Fail } else { Beat::Done });
        self.tokens += 1;
        let token = self.tokens;
        out.push(self.timer(token, rng));
        self.turn = Some(Turn {
            cid,
            user_id,
            reply,
            beats,
            token,
            fired: 0,
            streamed: String::new(),
            tool_open: false,
        });
        self.turn.as_ref()
    }

    fn timer(&self, token: u64, rng: &mut SimRng) -> Out {
        Out::Timer {
            delay: rng.range(5, self.step_ms),
            token,
            background: false,
        }
    }

    /// The beat timer `token` fired: the next beat of the running turn (and the timer of the
    /// one after). After a terminal beat the turn is still in `self.turn`: call [`finish`].
    pub fn beat(&mut self, token: u64, rng: &mut SimRng, out: &mut Vec<Out>) -> Option<Beat> {
        let turn = self.turn.as_mut().filter(|t| t.token == token)?;
        let beat = turn.beats.pop_front()?;
        turn.fired += 1;
        match &beat {
            Beat::Token { text, .. } => turn.streamed.push_str(text),
            Beat::ToolStart => turn.tool_open = true,
            Beat::ToolEnd { .. } => turn.tool_open = false,
            _ => {}
        }
        if !beat.terminal() {
            let t = self.timer(token, rng);
            out.push(t);
        }
        Some(beat)
    }

    /// Ends the running turn (after its terminal beat, or when it is aborted).
    pub fn finish(&mut self) -> Option<Turn> {
        self.turn.take()
    }

    /// Is a token from a running turn.
    pub fn is_beat(&self, token: u64) -> bool {
        token > 1_000_000
    }
}

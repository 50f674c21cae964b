//! The deterministic scripted agent shared by every dialect.
//!
//! | message | what the agent does |
//! |---|---|
//! | `m` (anything else) | replies `You said: m`, streamed word by word (token delay, default 10 ms) |
//! | `/tool [q]` | calls tool `lookup` with args `{"query": q}` (q defaults to `weather`), reports progress and a result, then replies `You said: /tool ...` |
//! | `/error` | fails the turn (`scripted failure`) after acknowledging and processing |
//! | `/slow` | waits 2 s (configurable) before the first token, then replies like `m` |
//! | `/long N` | streams `N` tokens `w1 w2 ... wN` (default 50) |
//! | `/flood N` | streams `N` tokens `f1 f2 ... fN` with no delay, as fast as readers take them (default 1000) |
//!
//! A turn emits, in order: `TurnStarted`, `Status(acknowledged)`, `Status(processing)`, for
//! `/tool` `ToolStarted`, `ToolProgress`, `ToolCompleted`, then `Status(typing)`,
//! `MessageStarted`, one `Token` per word, `MessageCompleted`, `Status(ready)`,
//! `TurnCompleted{stop}`. `/error` ends with `TurnFailed` instead; a cancel ends the turn with
//! `ToolFailed` (when a tool is running) and `TurnCancelled`. Each dialect renders these events
//! into its own wire frames.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::watch;

use crate::hub::{Conv, HistoryEntry, TurnRec};
use crate::util::now_ms;

/// What a message asks the agent to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Script {
    Echo,
    Tool { query: String },
    Error,
    Slow,
    Long(usize),
    Flood(usize),
}

const MAX_TOKENS: usize = 1_000_000;

impl Script {
    pub fn parse(text: &str) -> Script {
        let t = text.trim();
        let (cmd, rest) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
        let count = |default: usize| {
            rest.trim()
                .parse::<usize>()
                .unwrap_or(default)
                .min(MAX_TOKENS)
        };
        match cmd {
            "/tool" => Script::Tool {
                query: if rest.trim().is_empty() {
                    "weather".to_owned()
                } else {
                    rest.trim().to_owned()
                },
            },
            "/error" => Script::Error,
            "/slow" => Script::Slow,
            "/long" => Script::Long(count(50)),
            "/flood" => Script::Flood(count(1000)),
            _ => Script::Echo,
        }
    }

    /// The full reply text for `message`.
    pub fn reply(&self, message: &str) -> String {
        match self {
            Script::Long(n) => words("w", *n),
            Script::Flood(n) => words("f", *n),
            Script::Error => String::new(),
            _ => format!("You said: {message}"),
        }
    }
}

fn words(prefix: &str, n: usize) -> String {
    (1..=n)
        .map(|i| format!("{prefix}{i}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The reply split into word tokens (`"You "`, `"said: "`, `"m"`): they concatenate to the reply.
pub(crate) fn tokens(reply: &str) -> Vec<String> {
    reply.split_inclusive(' ').map(str::to_owned).collect()
}

/// Agent progress stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    Acknowledged,
    Processing,
    Typing,
    Ready,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Acknowledged => "acknowledged",
            Stage::Processing => "processing",
            Stage::Typing => "typing",
            Stage::Ready => "ready",
        }
    }
}

/// One step of a turn, before a dialect renders it.
#[derive(Debug, Clone)]
pub(crate) enum AgentEvent {
    TurnStarted,
    Status(Stage),
    ToolStarted {
        tool_id: String,
        name: String,
        args: Value,
    },
    ToolProgress {
        tool_id: String,
        message: String,
    },
    ToolCompleted {
        tool_id: String,
        output: Value,
    },
    ToolFailed {
        tool_id: String,
        error: String,
    },
    MessageStarted {
        message_id: String,
    },
    /// `offset` counts Unicode scalars before `text` in the message.
    Token {
        message_id: String,
        index: usize,
        offset: usize,
        text: String,
    },
    MessageCompleted {
        message_id: String,
        text: String,
    },
    TurnCompleted {
        finish_reason: String,
    },
    TurnFailed {
        error: String,
    },
    TurnCancelled,
}

/// Timing of the scripted agent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    pub token_delay: Duration,
    pub slow_delay: Duration,
}

/// Renders an agent event into the conversation log.
pub(crate) type Render = Box<dyn FnMut(&AgentEvent, &Conv, &TurnRec) + Send>;

/// Ids a turn needs besides its own.
#[derive(Debug, Clone)]
pub(crate) struct TurnIds {
    pub reply_message_id: String,
    pub tool_id: String,
}

/// Runs `turn` for `text` on `conv` in a background task: the turn goes on when the connection
/// that started it drops.
pub(crate) fn spawn_turn(
    conv: Arc<Conv>,
    turn: TurnRec,
    script: Script,
    text: String,
    ids: TurnIds,
    timing: Timing,
    render: Render,
) {
    let ticket = conv.take_ticket();
    tokio::spawn(async move {
        let _order = conv.wait_ticket(ticket).await;
        let guard = conv.turn_lock.lock().await;
        let cancel = conv.arm_cancel();
        let mut run = Run {
            conv: &conv,
            turn: &turn,
            render,
            cancel,
        };
        run.go(&script, &text, &ids, timing).await;
        conv.disarm_cancel();
        conv.mark_done(&turn.turn_id);
        drop(guard);
    });
}

struct Run<'a> {
    conv: &'a Conv,
    turn: &'a TurnRec,
    render: Render,
    cancel: watch::Receiver<bool>,
}

impl Run<'_> {
    fn emit(&mut self, ev: AgentEvent) {
        (self.render)(&ev, self.conv, self.turn);
    }

    /// Sleeps for `d`; `false` if the turn was cancelled meanwhile.
    async fn pause(&mut self, d: Duration) -> bool {
        if *self.cancel.borrow() {
            return false;
        }
        if d.is_zero() {
            return true;
        }
        let mut cancel = self.cancel.clone();
        tokio::select! {
            _ = tokio::time::sleep(d) => !*self.cancel.borrow(),
            _ = cancel.wait_for(|c| *c) => false,
        }
    }

    fn cancelled(&mut self, tool: Option<&str>) {
        if let Some(tool_id) = tool {
            self.emit(AgentEvent::ToolFailed {
                tool_id: tool_id.to_owned(),
                error: "cancelled".to_owned(),
            });
        }
        self.emit(AgentEvent::TurnCancelled);
    }

    #[allow(clippy::collapsible_match)] // `.await` cannot move into a match guard
    async fn go(&mut self, script: &Script, text: &str, ids: &TurnIds, timing: Timing) {
        let delay = timing.token_delay;
        self.emit(AgentEvent::TurnStarted);
        self.emit(AgentEvent::Status(Stage::Acknowledged));
        self.emit(AgentEvent::Status(Stage::Processing));
        match script {
            Script::Error => {
                if !self.pause(delay).await {
                    return self.cancelled(None);
                }
                self.emit(AgentEvent::TurnFailed {
                    error: "scripted failure".to_owned(),
                });
                return;
            }
            Script::Slow => {
                if !self.pause(timing.slow_delay).await {
                    return self.cancelled(None);
                }
            }
            Script::Tool { query } => {
                let tool_id = ids.tool_id.clone();
                let args = json!({ "query": query });
                self.emit(AgentEvent::ToolStarted {
                    tool_id: tool_id.clone(),
                    name: "lookup".to_owned(),
                    args,
                });
                if !self.pause(delay).await {
                    return self.cancelled(Some(&tool_id));
                }
                let message = format!("searching for {query}");
                self.emit(AgentEvent::ToolProgress {
                    tool_id: tool_id.clone(),
                    message,
                });
                if !self.pause(delay).await {
                    return self.cancelled(Some(&tool_id));
                }
                let output = json!({ "query": query, "results": [format!("result for {query}")] });
                self.emit(AgentEvent::ToolCompleted { tool_id, output });
            }
            _ => {}
        }
        let reply = script.reply(text);
        let message_id = ids.reply_message_id.clone();
        self.emit(AgentEvent::Status(Stage::Typing));
        self.emit(AgentEvent::MessageStarted {
            message_id: message_id.clone(),
        });
        let flood = matches!(script, Script::Flood(_));
        let mut offset = 0;
        for (index, tok) in tokens(&reply).into_iter().enumerate() {
            if flood {
                if index % 64 == 63 {
                    self.conv.wait_readers(self.conv.last_seq()).await;
                    tokio::task::yield_now().await;
                    if *self.cancel.borrow() {
                        return self.cancelled(None);
                    }
                }
            } else if !self.pause(delay).await {
                return self.cancelled(None);
            }
            let len = tok.chars().count();
            self.emit(AgentEvent::Token {
                message_id: message_id.clone(),
                index,
                offset,
                text: tok,
            });
            offset += len;
        }
        self.conv.add_history(HistoryEntry {
            id: message_id.clone(),
            role: "assistant".to_owned(),
            content: reply.clone(),
            ts_ms: now_ms(),
            tool_calls: Vec::new(),
            reply_to: Some(self.turn.message_id.clone()),
        });
        self.emit(AgentEvent::MessageCompleted {
            message_id,
            text: reply,
        });
        self.emit(AgentEvent::Status(Stage::Ready));
        self.emit(AgentEvent::TurnCompleted {
            finish_reason: "stop".to_owned(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_parse() {
        assert_eq!(Script::parse("hello"), Script::Echo);
        assert_eq!(
            Script::parse("/tool paris"),
            Script::Tool {
                query: "paris".into()
            }
        );
        assert_eq!(
            Script::parse("/tool"),
            Script::Tool {
                query: "weather".into()
            }
        );
        assert_eq!(Script::parse(" /error "), Script::Error);
        assert_eq!(Script::parse("/slow"), Script::Slow);
        assert_eq!(Script::parse("/long 3"), Script::Long(3));
        assert_eq!(Script::parse("/long x"), Script::Long(50));
        assert_eq!(Script::parse("/flood 10"), Script::Flood(10));
        assert_eq!(Script::parse("/toolbox"), Script::Echo);
    }

    #[test]
    fn replies_split_into_words_that_concatenate() {
        let reply = Script::Echo.reply("hi there");
        assert_eq!(reply, "You said: hi there");
        let toks = tokens(&reply);
        assert_eq!(toks, vec!["You ", "said: ", "hi ", "there"]);
        assert_eq!(toks.concat(), reply);
        assert_eq!(tokens(&Script::Long(3).reply("")), vec!["w1 ", "w2 ", "w3"]);
    }
}

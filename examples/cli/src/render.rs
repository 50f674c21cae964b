//! Human-readable rendering of the event stream, shared by `chat`, `events` (without `--json`)
//! and `demo`: streamed text inline as it arrives, tool calls and state changes on their own
//! lines, colours only when writing to a terminal.

use chatwire::ConnectionState;
use chatwire::event::{
    AgentStatus, DeliveryStatus, Envelope, Event, Role, TextChannel, TextUpdate,
};
use std::io::{IsTerminal, Write};

/// ANSI styling, switched off when stdout is not a terminal, `NO_COLOR` is set or
/// `--no-color` was given.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    color: bool,
}

impl Style {
    /// Colours when stdout is a terminal and nobody asked for plain output.
    pub fn detect(no_color: bool) -> Style {
        let color =
            !no_color && std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal();
        Style { color }
    }

    /// Whether output goes to a terminal with colours.
    pub fn is_color(self) -> bool {
        self.color
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// Grey, for connection and status chatter.
    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }
    /// Bold.
    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }
    /// Red, for failures.
    pub fn red(self, text: &str) -> String {
        self.paint("31", text)
    }
    /// Green, for success.
    pub fn green(self, text: &str) -> String {
        self.paint("32", text)
    }
    /// Yellow, for faults and recoveries.
    pub fn yellow(self, text: &str) -> String {
        self.paint("33", text)
    }
    /// Cyan, for tool calls.
    pub fn cyan(self, text: &str) -> String {
        self.paint("36", text)
    }
}

/// Writes events to stdout readably. Keeps track of whether a streamed line is open so that
/// other lines start on a fresh line.
#[derive(Debug)]
pub struct Renderer {
    style: Style,
    indent: &'static str,
    mid_line: bool,
    /// The text shown on the open streamed line.
    shown: String,
    /// Author of the message being streamed.
    label: &'static str,
    /// Show message status and agent status chatter.
    verbose: bool,
}

impl Renderer {
    /// A renderer prefixing each line with `indent`.
    pub fn new(style: Style, indent: &'static str, verbose: bool) -> Renderer {
        Renderer {
            style,
            indent,
            mid_line: false,
            shown: String::new(),
            label: "assistant",
            verbose,
        }
    }

    /// Prints one event.
    pub fn event(&mut self, envelope: &Envelope) {
        let s = self.style;
        match &envelope.event {
            Event::StateChanged { to, .. } => self.line(&s.dim(&format!("· {}", state(*to)))),
            Event::Discontinuity { reason } => {
                self.line(&s.yellow(&format!("! discontinuity: {reason}")))
            }
            Event::MessageStatus { status, .. } if self.verbose => {
                let text = match status {
                    DeliveryStatus::Failed { reason } => {
                        s.red(&format!("· message failed: {reason:?}"))
                    }
                    other => s.dim(&format!("· message {}", delivery(other))),
                };
                self.line(&text);
            }
            Event::Status { status } if self.verbose => {
                self.line(&s.dim(&format!("· agent {}", agent(status))))
            }
            Event::MessageStarted { role } => {
                // the label is printed with the first text, so an empty message leaves no line
                self.break_line();
                self.label = role_name(role);
            }
            Event::TextDelta { channel, update } => self.text(*channel, update),
            Event::MessageCompleted { .. } => self.break_line(),
            Event::Message { role, content, .. } => self.line(&format!(
                "{} {content}",
                s.bold(&format!("{}:", role_name(role)))
            )),
            Event::ToolStarted { name, args, .. } => {
                let args = args.as_ref().map(|a| a.to_string()).unwrap_or_default();
                self.line(&s.cyan(&format!("⚙ tool {name}({args})")));
            }
            Event::ToolProgress { message, .. } => self.line(&s.cyan(&format!("  … {message}"))),
            Event::ToolCompleted { output, .. } => {
                self.line(&s.cyan(&format!("  ✓ {}", short(&output.to_string()))))
            }
            Event::ToolFailed { error, .. } => {
                self.line(&s.red(&format!("  ✗ tool failed: {error}")))
            }
            Event::TurnCompleted { finish_reason, .. } => {
                let why = finish_reason.as_deref().unwrap_or("done");
                self.line(&s.green(&format!("✓ turn completed ({why})")));
            }
            Event::TurnCancelled => self.line(&s.yellow("✗ turn cancelled")),
            Event::TurnFailed { error } => self.line(&s.yellow(&format!(
                "✗ turn failed ({:?}): {}",
                error.code, error.message
            ))),
            Event::Error { kind, message, .. } => {
                self.line(&s.red(&format!("! {kind:?} error: {message}")))
            }
            Event::Unknown { name } => self.line(&s.dim(&format!("? unknown event {name}"))),
            Event::Data { name, data, .. } => {
                self.line(&s.dim(&format!("· {name}: {}", short(&data.to_string()))))
            }
            Event::Transcript { text, is_final } if *is_final => {
                self.line(&format!("{} {text}", s.bold("transcript:")))
            }
            Event::Typing {
                participant,
                active,
            } if self.verbose => {
                let verb = if *active {
                    "is typing"
                } else {
                    "stopped typing"
                };
                self.line(&s.dim(&format!("· {participant} {verb}")));
            }
            _ => {}
        }
    }

    /// Prints a line of the renderer's own (e.g. the user's message).
    pub fn line(&mut self, text: &str) {
        self.break_line();
        self.write(&format!("{}{text}\n", self.indent));
    }

    /// Ends an open streamed line.
    pub fn break_line(&mut self) {
        if self.mid_line {
            self.write("\n");
            self.mid_line = false;
            self.shown.clear();
        }
    }

    fn text(&mut self, channel: TextChannel, update: &TextUpdate) {
        if channel != TextChannel::Text && !self.verbose {
            return;
        }
        match update {
            TextUpdate::Append { text, .. } => self.stream(text),
            // a snapshot that extends what is shown (Parlant's growing chunks) reads as a stream
            TextUpdate::Replace { text } if text.starts_with(self.shown.as_str()) => {
                let rest = text[self.shown.len()..].to_string();
                self.stream(&rest);
            }
            TextUpdate::Replace { text } => {
                self.break_line();
                let label = self.style.yellow(&format!("{} (replaced):", self.label));
                self.write(&format!("{}{label} {text}", self.indent));
                self.mid_line = true;
                self.shown = text.clone();
            }
            _ => {}
        }
    }

    /// Appends `text` to the streamed line, opening it with the author's label.
    fn stream(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if !self.mid_line {
            let label = self.style.bold(&format!("{}:", self.label));
            self.write(&format!("{}{label} ", self.indent));
            self.mid_line = true;
        }
        self.write(text);
        self.shown.push_str(text);
    }

    fn write(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
}

/// A state for humans: `connecting`, `reconnecting (attempt 2 in 1.2 s)`, ...
pub fn state(s: ConnectionState) -> String {
    match s {
        ConnectionState::Reconnecting { attempt, delay } => {
            format!(
                "reconnecting (attempt {attempt} in {:.1} s)",
                delay.as_secs_f64()
            )
        }
        other => format!("{other:?}").to_lowercase(),
    }
}

fn delivery(s: &DeliveryStatus) -> &'static str {
    match s {
        DeliveryStatus::Queued => "queued",
        DeliveryStatus::Sent => "sent",
        DeliveryStatus::Acked => "acked",
        DeliveryStatus::Failed { .. } => "failed",
        _ => "status changed",
    }
}

fn agent(s: &AgentStatus) -> String {
    match s {
        AgentStatus::Acknowledged => "acknowledged".into(),
        AgentStatus::Processing { stage: Some(stage) } => format!("processing ({stage})"),
        AgentStatus::Processing { stage: None } => "processing".into(),
        AgentStatus::Typing => "typing".into(),
        AgentStatus::Ready => "ready".into(),
        _ => "busy".into(),
    }
}

fn role_name(r: &Role) -> &'static str {
    match r {
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::System => "system",
        Role::Tool => "tool",
        _ => "other",
    }
}

fn short(text: &str) -> String {
    let mut out: String = text.chars().take(80).collect();
    if text.chars().count() > 80 {
        out.push('…');
    }
    out
}

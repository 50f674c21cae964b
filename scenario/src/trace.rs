//! The runner protocol's trace: one JSON object per line, written by a runner on stdout (and
//! annotated by the orchestrator with the steps it performed). This module parses it; judging
//! lives in [`crate::check`].
//!
//! Lines (`"line"` tags the kind; the README of `tests/scenarios/` has a transcript):
//! - `{"line":"result","id":3,"op":"send","label":"t1","ok":true,"clientId":"…"}` or
//!   `{"line":"result","id":3,"op":"send","label":"t1","ok":false,"code":"QUEUE_FULL","message":"…"}`
//! - `{"line":"envelope","envelope":{…}}`: exactly the event model's JSON (`sdk-core/EVENTS.md`)
//! - `{"line":"status","label":"t1","clientId":"…","status":{"kind":"acked"}}`
//! - `{"line":"state","state":{"kind":"ready"}}`
//! - `{"line":"end"}`: the client closed and every stream ended; the runner exits after it
//! - `{"line":"step","index":4,"op":"restartServer"}`: written by the orchestrator, not a runner

use chatwire::event::Envelope;
use serde::{Deserialize, Serialize};

/// One trace line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "line", rename_all = "camelCase")]
#[non_exhaustive]
pub enum TraceLine {
    /// The result of command `id`.
    #[serde(rename_all = "camelCase")]
    Result {
        /// The command's id.
        id: u64,
        /// The command's op.
        op: String,
        /// The command's label, for sends and discards.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<String>,
        /// Whether it succeeded.
        ok: bool,
        /// The client id of a successful send.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
        /// The `ErrorCode` of a failure.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
        /// The error's message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// One envelope, as the app received it.
    Envelope {
        /// The event model's JSON.
        envelope: Box<Envelope>,
    },
    /// A receipt's status changed.
    #[serde(rename_all = "camelCase")]
    Status {
        /// The message's label.
        label: String,
        /// Its client id.
        client_id: String,
        /// The new status (`{"kind":"acked"}`, `{"kind":"failed","reason":"overflow"}`).
        status: serde_json::Value,
    },
    /// The connection state changed.
    State {
        /// The new state (`{"kind":"ready"}`).
        state: serde_json::Value,
    },
    /// The runner is done.
    End {},
    /// The orchestrator performed step `index`.
    Step {
        /// Index in the scenario's steps.
        index: usize,
        /// Its op.
        op: String,
    },
}

impl TraceLine {
    /// Parses one line, naming what is wrong with it.
    ///
    /// ```
    /// use chatwire_scenario::TraceLine;
    /// let line = TraceLine::parse(r#"{"line":"state","state":{"kind":"ready"}}"#)?;
    /// assert!(matches!(line, TraceLine::State { .. }));
    /// assert!(TraceLine::parse("{oops").is_err());
    /// # Ok::<(), String>(())
    /// ```
    pub fn parse(text: &str) -> Result<TraceLine, String> {
        serde_json::from_str(text).map_err(|e| {
            let shown: String = text.chars().take(200).collect();
            format!("not a trace line ({e}): {shown}")
        })
    }

    /// The line as one JSON line.
    pub fn to_json(&self) -> String {
        // Strings, numbers and JSON values only: serializing cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A whole trace, as read from a file (one line each; blank lines skipped).
///
/// ```
/// let trace = chatwire_scenario::parse_trace("{\"line\":\"end\"}\n\n")?;
/// assert_eq!(trace.len(), 1);
/// # Ok::<(), String>(())
/// ```
pub fn parse_trace(text: &str) -> Result<Vec<TraceLine>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| TraceLine::parse(l).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

/// The `kind` of a tagged JSON value (`{"kind":"ready"}` -> `ready`).
pub fn kind_of(value: &serde_json::Value) -> String {
    value
        .get("kind")
        .and_then(|k| k.as_str())
        .unwrap_or("?")
        .to_string()
}

/// A status as written in expectations: `acked`, `failed:overflow`.
pub fn status_name(value: &serde_json::Value) -> String {
    match value.get("reason").and_then(|r| r.as_str()) {
        Some(reason) => format!("{}:{reason}", kind_of(value)),
        None => kind_of(value),
    }
}

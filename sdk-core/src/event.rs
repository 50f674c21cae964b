//! The normalized event model (DESIGN §4): what every dialect's wire events become, and the one
//! format shared by Rust, JS, Kotlin/Swift/Python, the C ABI's JSON and the CLI's NDJSON.
//!
//! Serialisation (serde): enums are internally tagged — `Event` by `type`, nested enums by
//! `kind` — and all variant and field names are camelCase. Optional fields are omitted when absent.
//! `sdk-core/EVENTS.md` documents one JSON example per variant; a test checks every example
//! parses back into an [`Envelope`].
//!
//! ```
//! use chatwire::event::{Envelope, Event};
//! let json = r#"{"seq":3,"timestampMs":0,"event":{"type":"typing","participant":"agent","active":true}}"#;
//! let env: Envelope = serde_json::from_str(json).unwrap();
//! assert!(matches!(env.event, Event::Typing { active: true, .. }));
//! assert_eq!(serde_json::to_string(&env).unwrap(), json);
//! ```

use crate::ids::ClientId;
use crate::state::ConnectionState;
use serde::{Deserialize, Serialize};

/// One event delivered to the app, with its position and identifiers.
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Envelope {
    /// Position in this engine's output stream: 1, 2, 3, ... with no gaps and no repeats.
    pub seq: u64,
    /// Resume position after this event (dialect-specific), when the backend provides one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// The backend's conversation / chat / session id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// The assistant turn this event belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_id: Option<String>,
    /// The message this event belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The part (content block, choice index, ...) of the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_id: Option<String>,
    /// Unix milliseconds: the server timestamp when given, else the driver's wall clock.
    pub timestamp_ms: u64,
    /// The event itself.
    pub event: Event,
    /// The original wire event, when the engine is configured to keep it (lossless).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<serde_json::Value>,
}

impl Envelope {
    /// An envelope with only `seq`, `timestamp_ms` and `event` set (mostly for tests and tools).
    ///
    /// ```
    /// use chatwire::event::{Envelope, Event};
    /// let env = Envelope::new(1, 1_763_800_000_000, Event::Heartbeat);
    /// assert_eq!((env.seq, env.turn_id, env.raw), (1, None, None));
    /// let json = serde_json::to_string(&Envelope::new(1, 0, Event::Heartbeat)).unwrap();
    /// assert_eq!(json, r#"{"seq":1,"timestampMs":0,"event":{"type":"heartbeat"}}"#);
    /// ```
    pub fn new(seq: u64, timestamp_ms: u64, event: Event) -> Envelope {
        Envelope {
            seq,
            cursor: None,
            conversation_id: None,
            turn_id: None,
            message_id: None,
            part_id: None,
            timestamp_ms,
            event,
            raw: None,
        }
    }
}

/// A normalized chat event. New variants may be added in minor releases.
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[non_exhaustive]
pub enum Event {
    // ---- connection ----
    /// The connection state changed.
    StateChanged {
        /// Previous state.
        from: ConnectionState,
        /// New state.
        to: ConnectionState,
    },
    /// Events may have been missed and could not be recovered (resume impossible or incomplete).
    Discontinuity {
        /// Human-readable reason.
        reason: String,
    },
    /// The backend showed it is alive (server ping, SSE heartbeat).
    Heartbeat,
    /// The backend asked not to be contacted before `until_ms` (`Retry-After`, `retry_after_ms`,
    /// SSE `retry:`), a wait longer than the client's `max_retry_after`. Instead of waiting
    /// silently the client goes to `Failed` (pending messages fail with `connectionFailed`);
    /// the app can tell the user when the backend will be back and call `reconnect_now`.
    ///
    /// ```
    /// use chatwire::event::Event;
    /// let e = Event::BackendUnavailable {
    ///     until_ms: 1_763_803_600_000,
    ///     retry_after_ms: 3_600_000,
    ///     message: "HTTP 503: maintenance".into(),
    /// };
    /// assert_eq!(e.type_name(), "backendUnavailable");
    /// ```
    BackendUnavailable {
        /// Unix milliseconds from which the backend said it accepts connections again.
        until_ms: u64,
        /// The wait the backend asked for, in milliseconds.
        retry_after_ms: u64,
        /// The failure that carried the hint.
        message: String,
    },

    // ---- outbound ----
    /// Delivery status of a message the app sent.
    MessageStatus {
        /// The id returned by `send`.
        client_id: ClientId,
        /// The new status.
        status: DeliveryStatus,
        /// The backend's id for the stored message, once known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        server_id: Option<String>,
    },

    // ---- turn ----
    /// The agent starts answering.
    TurnStarted {
        /// Client id of the message this turn answers, when the backend says.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<String>,
    },
    /// Agent progress.
    Status {
        /// What the agent is doing.
        status: AgentStatus,
    },
    /// The turn ended well.
    TurnCompleted {
        /// Why generation stopped (`stop`, `length`, `tool_calls`, ...), when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        finish_reason: Option<String>,
        /// Token usage, when reported.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        usage: Option<Usage>,
    },
    /// The turn was cancelled (by the app or the backend).
    TurnCancelled,
    /// The turn failed (reported by the backend or synthesized by the engine).
    TurnFailed {
        /// What went wrong.
        error: TurnError,
    },

    // ---- messages ----
    /// A complete message (not streamed).
    Message {
        /// Author.
        role: Role,
        /// Full text.
        content: String,
        /// Backend-specific extra data.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        metadata: Option<serde_json::Value>,
    },
    /// A streamed message begins.
    MessageStarted {
        /// Author.
        role: Role,
    },
    /// Streamed text. Already assembled: replayed or overlapping deltas never reach the app.
    TextDelta {
        /// Which text stream of the message.
        channel: TextChannel,
        /// How to apply the text.
        update: TextUpdate,
    },
    /// A streamed message is complete.
    MessageCompleted {
        /// The full text.
        text: String,
    },

    // ---- tools ----
    /// A tool call begins.
    ToolStarted {
        /// Tool call id.
        tool_id: String,
        /// Tool name.
        name: String,
        /// Arguments, when known up front.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        args: Option<serde_json::Value>,
    },
    /// A fragment of the tool call's JSON arguments (streamed function calling).
    ToolArgsDelta {
        /// Tool call id.
        tool_id: String,
        /// Raw argument text fragment.
        delta: String,
    },
    /// Progress of a running tool call.
    ToolProgress {
        /// Tool call id.
        tool_id: String,
        /// Progress text.
        message: String,
    },
    /// The tool call ended well.
    ToolCompleted {
        /// Tool call id.
        tool_id: String,
        /// Tool output.
        #[serde(default)]
        output: serde_json::Value,
    },
    /// The tool call failed (reported or synthesized).
    ToolFailed {
        /// Tool call id.
        tool_id: String,
        /// What went wrong.
        error: String,
    },

    // ---- structured content ----
    /// A structured part of the reply that is neither text nor a tool call: app-defined data
    /// (`data-<name>` in the AI SDK's UI message stream), a cited source (`source-url`,
    /// `source-document`), a file (`file`), message metadata. `name` is the part's type as the
    /// backend names it; `data` is its content.
    ///
    /// ```
    /// use chatwire::event::Event;
    /// let e = Event::Data {
    ///     name: "data-weather".into(),
    ///     id: Some("w-1".into()),
    ///     data: serde_json::json!({"city": "Paris", "temp": 21}),
    /// };
    /// assert_eq!(e.type_name(), "data");
    /// ```
    Data {
        /// The part's type (`data-weather`, `source-url`, `file`, ...).
        name: String,
        /// The part's id, when it has one: a later part with the same `name` and `id` updates it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// The content.
        #[serde(default)]
        data: serde_json::Value,
    },

    // ---- audio ----
    /// Speech-to-text output.
    Transcript {
        /// Transcribed text.
        text: String,
        /// `false` for interim results that a later transcript replaces.
        is_final: bool,
    },
    /// A chunk of audio.
    AudioChunk {
        /// Encoding, e.g. `pcm16`.
        format: String,
        /// Base64-encoded audio bytes, as on the wire.
        data: String,
    },

    // ---- presence ----
    /// Someone started or stopped typing.
    Typing {
        /// Who (`agent`, a user id, ...).
        participant: String,
        /// Typing or not.
        active: bool,
    },

    // ---- errors ----
    /// A problem the app should know about (the connection logic already acted on it).
    Error {
        /// Category.
        kind: ErrorKind,
        /// Backend or engine error code.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
        /// Human-readable message (for protocol errors: a summary of the offending bytes).
        message: String,
        /// Whether retrying may help.
        retryable: bool,
    },
    /// A wire event the dialect does not know. `raw` on the envelope keeps it.
    Unknown {
        /// The wire event's type name.
        name: String,
    },
}

impl Event {
    /// The serde tag of this event (`"textDelta"`, `"turnCompleted"`, ...).
    ///
    /// ```
    /// assert_eq!(chatwire::event::Event::Heartbeat.type_name(), "heartbeat");
    /// ```
    pub fn type_name(&self) -> &'static str {
        match self {
            Event::StateChanged { .. } => "stateChanged",
            Event::Discontinuity { .. } => "discontinuity",
            Event::Heartbeat => "heartbeat",
            Event::BackendUnavailable { .. } => "backendUnavailable",
            Event::MessageStatus { .. } => "messageStatus",
            Event::TurnStarted { .. } => "turnStarted",
            Event::Status { .. } => "status",
            Event::TurnCompleted { .. } => "turnCompleted",
            Event::TurnCancelled => "turnCancelled",
            Event::TurnFailed { .. } => "turnFailed",
            Event::Message { .. } => "message",
            Event::MessageStarted { .. } => "messageStarted",
            Event::TextDelta { .. } => "textDelta",
            Event::MessageCompleted { .. } => "messageCompleted",
            Event::ToolStarted { .. } => "toolStarted",
            Event::ToolArgsDelta { .. } => "toolArgsDelta",
            Event::ToolProgress { .. } => "toolProgress",
            Event::ToolCompleted { .. } => "toolCompleted",
            Event::ToolFailed { .. } => "toolFailed",
            Event::Data { .. } => "data",
            Event::Transcript { .. } => "transcript",
            Event::AudioChunk { .. } => "audioChunk",
            Event::Typing { .. } => "typing",
            Event::Error { .. } => "error",
            Event::Unknown { .. } => "unknown",
        }
    }

    /// `true` for `TurnCompleted`, `TurnCancelled` and `TurnFailed`.
    ///
    /// ```
    /// use chatwire::event::Event;
    /// assert!(Event::TurnCancelled.is_turn_terminal());
    /// assert!(!Event::Heartbeat.is_turn_terminal());
    /// ```
    pub fn is_turn_terminal(&self) -> bool {
        matches!(
            self,
            Event::TurnCompleted { .. } | Event::TurnCancelled | Event::TurnFailed { .. }
        )
    }
}

/// Delivery status of an outbound message: `Queued -> Sent -> Acked`, or `Failed` at any point.
/// For dialects without acknowledgements, `Sent` is the last status.
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[non_exhaustive]
pub enum DeliveryStatus {
    /// Accepted by the engine, waiting for a ready connection.
    Queued,
    /// Handed to the transport.
    Sent,
    /// The backend confirmed it stored the message.
    Acked,
    /// The message will not be delivered (or its fate is unknown and the engine gave up).
    Failed {
        /// Why.
        reason: FailReason,
    },
}

/// Why an outbound message failed.
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum FailReason {
    /// Dropped from the full queue (`OverflowPolicy::DropOldest`).
    Overflow,
    /// The client was closed before the message was acknowledged.
    Closed,
    /// The connection failed for good (max attempts, auth, fatal error).
    ConnectionFailed,
    /// The backend refused the message.
    Rejected,
    /// The message exceeds the frame limit or the dialect cannot encode it.
    Invalid,
    /// The app took the message back with `discard` before it was sent.
    Discarded,
}

/// What the agent is doing.
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[non_exhaustive]
pub enum AgentStatus {
    /// The backend received the user's message.
    Acknowledged,
    /// The agent is working.
    Processing {
        /// Backend-specific stage (`thinking`, `retrieving`, ...).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stage: Option<String>,
    },
    /// The agent is writing its answer.
    Typing,
    /// The agent is idle and ready for input.
    Ready,
}

/// Token usage of a turn.
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Usage {
    /// Prompt tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    /// Completion tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    /// Total tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_tokens: Option<u64>,
}

impl Usage {
    /// Usage from optional input / output / total counts.
    ///
    /// ```
    /// let usage = chatwire::event::Usage::new(Some(12), Some(30), None);
    /// assert_eq!(usage.output_tokens, Some(30));
    /// let json = serde_json::to_string(&usage).unwrap(); // absent counts are omitted
    /// assert_eq!(json, r#"{"inputTokens":12,"outputTokens":30}"#);
    /// ```
    pub fn new(input: Option<u64>, output: Option<u64>, total: Option<u64>) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            total_tokens: total,
        }
    }
}

/// Why a turn failed.
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TurnError {
    /// Category.
    pub code: TurnErrorCode,
    /// Human-readable detail.
    pub message: String,
}

impl TurnError {
    /// A turn error with a code and a message.
    ///
    /// ```
    /// use chatwire::event::{TurnError, TurnErrorCode};
    /// let error = TurnError::new(TurnErrorCode::Server, "model overloaded");
    /// assert_eq!(error.code, TurnErrorCode::Server);
    /// assert_eq!(error.message, "model overloaded");
    /// ```
    pub fn new(code: TurnErrorCode, message: impl Into<String>) -> TurnError {
        TurnError {
            code,
            message: message.into(),
        }
    }
}

/// Category of a turn failure. All but `Server` are synthesized by the engine.
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum TurnErrorCode {
    /// The backend reported the failure.
    Server,
    /// No event for the turn within the processing timeout.
    Timeout,
    /// The connection dropped and the dialect cannot resume the turn.
    Disconnected,
    /// Resume failed, so the rest of the turn is unknown.
    Discontinuity,
    /// The stream ended before the turn did.
    Eof,
    /// The client was closed.
    Closed,
}

/// Message author.
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Role {
    /// The end user.
    User,
    /// The agent.
    Assistant,
    /// System / operator.
    System,
    /// Tool output.
    Tool,
}

/// Which text stream of a message a delta belongs to.
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum TextChannel {
    /// The visible answer.
    Text,
    /// Model reasoning / thinking, when the backend exposes it.
    Reasoning,
}

/// How to apply streamed text to the message being displayed.
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[non_exhaustive]
pub enum TextUpdate {
    /// Append `text`; it starts at character (Unicode scalar) `offset` of the part, which is
    /// always the current length of the assembled text.
    Append {
        /// The new text.
        text: String,
        /// Character offset where `text` starts.
        offset: u64,
    },
    /// Replace the whole part's text with `text` (backends that send cumulative snapshots).
    Replace {
        /// The full text so far.
        text: String,
    },
}

/// Category of an [`Event::Error`].
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum ErrorKind {
    /// Network trouble.
    Network,
    /// Authentication or authorization failed.
    Auth,
    /// Malformed, oversized or unexpected wire data.
    Protocol,
    /// Rate limited.
    RateLimited,
    /// The backend reported an error.
    Server,
    /// Bad input from the app.
    InvalidInput,
    /// Anything else.
    Other,
}

#[cfg(test)]
mod tests;

//! The records and enums the uniffi client surface hands out: [`Envelope`] with its typed
//! [`EventKind`], [`ConnectionState`], [`DeliveryStatus`], [`ClientStats`], [`Capabilities`].
//!
//! The event model is not mirrored field by field: an [`Envelope`] carries the core envelope's
//! canonical JSON (`sdk-core/EVENTS.md`, the same text the CLI prints and the C API returns), its
//! typed kind, and the few fields every chat UI reads (`seq`, `turnId`, `messageId`, the text of
//! text events). So the event model grows in one place, the core, and every event — including
//! kinds this library predates — still reaches foreign code losslessly as JSON. The small enums
//! below are converted by exhaustive `match`es where the core enum is ours to name, with a
//! fallback arm only where the core enum is `#[non_exhaustive]`.

use chatwire::event::{Event, TextUpdate};

/// The type of an event (the core's serde tag, `Event::type_name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
#[non_exhaustive]
#[allow(missing_docs)] // one variant per `sdk-core/EVENTS.md` heading, documented there
pub enum EventKind {
    StateChanged,
    Discontinuity,
    Heartbeat,
    MessageStatus,
    TurnStarted,
    Status,
    TurnCompleted,
    TurnCancelled,
    TurnFailed,
    Message,
    MessageStarted,
    TextDelta,
    MessageCompleted,
    ToolStarted,
    ToolArgsDelta,
    ToolProgress,
    ToolCompleted,
    ToolFailed,
    Transcript,
    AudioChunk,
    Typing,
    Error,
    /// The backend asked for a wait longer than `maxRetryAfterMs`; the client gave up until then.
    BackendUnavailable,
    /// A wire event the dialect did not recognise (`unknown`).
    Unknown,
    /// An event kind newer than this library; read `Envelope.json`.
    Other,
}

/// One event from the client, in order and deduplicated.
///
/// ```
/// use chatwire::event::{Event, TextChannel, TextUpdate};
/// use chatwire_ffi::{Envelope, EventKind};
/// let core = chatwire::Envelope::new(4, 0, Event::TextDelta {
///     channel: TextChannel::Text,
///     update: TextUpdate::Append { text: "You".into(), offset: 0 },
/// });
/// let env = Envelope::from(&core);
/// assert_eq!((env.seq, env.kind, env.text.as_deref()), (4, EventKind::TextDelta, Some("You")));
/// assert!(env.json.starts_with(r#"{"seq":4,"#));
/// ```
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Envelope {
    /// Position in the client's stream: 1, 2, 3, ... with no gaps and no repeats.
    pub seq: u64,
    /// What kind of event this is.
    pub kind: EventKind,
    /// The assistant turn the event belongs to.
    pub turn_id: Option<String>,
    /// The message the event belongs to.
    pub message_id: Option<String>,
    /// Text carried by `TextDelta` (the appended text, or the whole text when
    /// `text_replaces`), `Message` (its content), `MessageCompleted` (the full text) and
    /// `Transcript`; none for other kinds.
    pub text: Option<String>,
    /// `true` when `text` replaces the part's text instead of extending it
    /// (`TextDelta` with a `replace` update, `Message`, `MessageCompleted`).
    pub text_replaces: bool,
    /// `true` for `TurnCompleted`, `TurnCancelled` and `TurnFailed`.
    pub is_turn_terminal: bool,
    /// The whole envelope as the core's canonical JSON (`sdk-core/EVENTS.md`).
    pub json: String,
}

/// The connection state (the core's `ConnectionState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Not connected and not trying (initial; lazy connect waits for the first send).
    Disconnected,
    /// Establishing the connection.
    Connecting,
    /// The transport is open; the backend has not signalled readiness yet.
    Connected,
    /// Messages flow.
    Ready,
    /// Waiting `delay_ms` before connection attempt `attempt` (1-based).
    Reconnecting {
        /// The attempt that starts when the delay ends.
        attempt: u32,
        /// The wait before it, in milliseconds.
        delay_ms: u64,
    },
    /// Gave up; `reconnect_now` starts over.
    Failed,
    /// Closed by the app. Final.
    Closed,
}

/// Where an outbound message is (the core's `DeliveryStatus`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
#[non_exhaustive]
pub enum DeliveryStatus {
    /// Accepted, waiting for a ready connection.
    Queued,
    /// Handed to the transport.
    Sent,
    /// The backend confirmed it stored the message.
    Acked,
    /// The message will not be delivered; `reason` is the core's `FailReason` in camelCase
    /// (`overflow`, `closed`, `connectionFailed`, `rejected`, `invalid`, `discarded`).
    Failed {
        /// Why.
        reason: String,
    },
}

/// Counters since the client was built (the core's `ClientStats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, uniffi::Record)]
pub struct ClientStats {
    /// Messages accepted by `send`.
    pub sent: u64,
    /// Messages the backend acknowledged.
    pub acked: u64,
    /// Messages that reached `Failed`.
    pub failed: u64,
    /// Envelopes delivered.
    pub events: u64,
    /// Times the connection entered `Reconnecting`.
    pub reconnects: u64,
    /// Messages queued or in flight right now.
    pub queued: u64,
    /// Inbound events dropped as repeats.
    pub duplicates_dropped: u64,
}

/// What the backend's dialect supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct Capabilities {
    /// The backend confirms stored messages.
    pub acks: bool,
    /// The client can resume after reconnecting.
    pub resume: bool,
    /// Typing indicators can be sent.
    pub typing: bool,
    /// Audio can be sent.
    pub audio: bool,
    /// The backend reports tool calls.
    pub tools: bool,
    /// A turn can be cancelled server-side.
    pub cancel: bool,
}

impl From<&chatwire::Envelope> for Envelope {
    fn from(envelope: &chatwire::Envelope) -> Self {
        let (text, text_replaces) = match &envelope.event {
            Event::TextDelta { update, .. } => match update {
                TextUpdate::Append { text, .. } => (Some(text.clone()), false),
                TextUpdate::Replace { text } => (Some(text.clone()), true),
                _ => (None, false),
            },
            Event::Message { content, .. } => (Some(content.clone()), true),
            Event::MessageCompleted { text } => (Some(text.clone()), true),
            Event::Transcript { text, .. } => (Some(text.clone()), false),
            _ => (None, false),
        };
        Envelope {
            seq: envelope.seq,
            kind: kind_of(&envelope.event),
            turn_id: envelope.turn_id.clone(),
            message_id: envelope.message_id.clone(),
            text,
            text_replaces,
            is_turn_terminal: envelope.event.is_turn_terminal(),
            json: envelope_json(envelope),
        }
    }
}

impl From<chatwire::ConnectionState> for ConnectionState {
    fn from(state: chatwire::ConnectionState) -> Self {
        use chatwire::ConnectionState as Core;
        match state {
            Core::Disconnected => Self::Disconnected,
            Core::Connecting => Self::Connecting,
            Core::Connected => Self::Connected,
            Core::Ready => Self::Ready,
            Core::Reconnecting { attempt, delay } => Self::Reconnecting {
                attempt,
                delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            },
            Core::Failed => Self::Failed,
            Core::Closed => Self::Closed,
            // A state newer than this library: not ready, not final, nothing to wait for.
            _ => Self::Disconnected,
        }
    }
}

impl From<chatwire::event::DeliveryStatus> for DeliveryStatus {
    fn from(status: chatwire::event::DeliveryStatus) -> Self {
        use chatwire::event::DeliveryStatus as Core;
        match status {
            Core::Queued => Self::Queued,
            Core::Sent => Self::Sent,
            Core::Acked => Self::Acked,
            Core::Failed { reason } => Self::Failed {
                reason: fail_reason_name(&reason),
            },
            other => Self::Failed {
                reason: format!("{other:?}"),
            },
        }
    }
}

impl From<chatwire::client::ClientStats> for ClientStats {
    fn from(s: chatwire::client::ClientStats) -> Self {
        ClientStats {
            sent: s.sent,
            acked: s.acked,
            failed: s.failed,
            events: s.events,
            reconnects: s.reconnects,
            queued: s.queued,
            duplicates_dropped: s.duplicates_dropped,
        }
    }
}

impl From<chatwire::dialect::Capabilities> for Capabilities {
    fn from(c: chatwire::dialect::Capabilities) -> Self {
        Capabilities {
            acks: c.acks,
            resume: c.resume,
            typing: c.typing,
            audio: c.audio,
            tools: c.tools,
            cancel: c.cancel,
        }
    }
}

/// The canonical JSON of `envelope` (shared with the C API).
pub(crate) fn envelope_json(envelope: &chatwire::Envelope) -> String {
    // Serialising the event model cannot fail: every map key is a string and every value is
    // plain data; the fallback keeps a bug visible instead of panicking across the boundary.
    serde_json::to_string(envelope).unwrap_or_else(|e| {
        format!(
            r#"{{"seq":{},"timestampMs":{},"event":{{"type":"unknown","reason":{:?}}}}}"#,
            envelope.seq,
            envelope.timestamp_ms,
            e.to_string()
        )
    })
}

fn fail_reason_name(reason: &chatwire::event::FailReason) -> String {
    serde_json::to_value(reason)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{reason:?}"))
}

fn kind_of(event: &Event) -> EventKind {
    match event.type_name() {
        "stateChanged" => EventKind::StateChanged,
        "discontinuity" => EventKind::Discontinuity,
        "heartbeat" => EventKind::Heartbeat,
        "messageStatus" => EventKind::MessageStatus,
        "turnStarted" => EventKind::TurnStarted,
        "status" => EventKind::Status,
        "turnCompleted" => EventKind::TurnCompleted,
        "turnCancelled" => EventKind::TurnCancelled,
        "turnFailed" => EventKind::TurnFailed,
        "message" => EventKind::Message,
        "messageStarted" => EventKind::MessageStarted,
        "textDelta" => EventKind::TextDelta,
        "messageCompleted" => EventKind::MessageCompleted,
        "toolStarted" => EventKind::ToolStarted,
        "toolArgsDelta" => EventKind::ToolArgsDelta,
        "toolProgress" => EventKind::ToolProgress,
        "toolCompleted" => EventKind::ToolCompleted,
        "toolFailed" => EventKind::ToolFailed,
        "transcript" => EventKind::Transcript,
        "audioChunk" => EventKind::AudioChunk,
        "typing" => EventKind::Typing,
        "error" => EventKind::Error,
        "backendUnavailable" => EventKind::BackendUnavailable,
        "unknown" => EventKind::Unknown,
        _ => EventKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_event_kind_has_its_own_variant() {
        // The examples of sdk-core/EVENTS.md, one per event type.
        let doc = include_str!("../../sdk-core/EVENTS.md");
        let mut kinds = std::collections::HashSet::new();
        for line in doc.lines().filter(|l| l.starts_with("{\"seq\"")) {
            let Ok(core) = serde_json::from_str::<chatwire::Envelope>(line) else {
                continue;
            };
            let env = Envelope::from(&core);
            assert_ne!(env.kind, EventKind::Other, "{line}");
            let back: chatwire::Envelope = serde_json::from_str(&env.json).unwrap();
            assert_eq!(back, core, "the JSON is lossless");
            kinds.insert(env.kind);
        }
        assert_eq!(kinds.len(), 24, "one example per event type: {kinds:?}");
    }

    #[test]
    fn states_and_statuses_convert() {
        let s = chatwire::ConnectionState::Reconnecting {
            attempt: 2,
            delay: std::time::Duration::from_millis(1500),
        };
        assert_eq!(
            ConnectionState::from(s),
            ConnectionState::Reconnecting {
                attempt: 2,
                delay_ms: 1500
            }
        );
        let failed = chatwire::event::DeliveryStatus::Failed {
            reason: chatwire::event::FailReason::ConnectionFailed,
        };
        assert_eq!(
            DeliveryStatus::from(failed),
            DeliveryStatus::Failed {
                reason: "connectionFailed".into()
            }
        );
    }
}

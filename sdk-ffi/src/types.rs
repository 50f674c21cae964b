//! The records the uniffi client surface hands out besides the event model: [`ClientStats`] and
//! [`Capabilities`]; and the event model itself, re-exported from the core.
//!
//! The event model is not mirrored here: [`Envelope`], [`Event`], [`ConnectionState`],
//! [`DeliveryStatus`] and the enums they hold are the core's own types, which derive their uniffi
//! records and enums behind the core's `uniffi` feature (`sdk-core/src/uniffi_types.rs`,
//! namespace `chatwire_core`: Kotlin package `dev.chatwire.core`, Python module
//! `chatwire.chatwire_core`). So the event model grows in one place, and every binding gets a
//! new variant with the next build. An envelope's canonical JSON (`sdk-core/EVENTS.md`, the text
//! the CLI prints and the C API returns) is its `to_json()` method.

pub use chatwire::ConnectionState;
pub use chatwire::event::{
    AgentStatus, DeliveryStatus, Envelope, ErrorKind, Event, FailReason, Role, TextChannel,
    TextUpdate, TurnError, TurnErrorCode, Usage,
};

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
pub(crate) fn envelope_json(envelope: &Envelope) -> String {
    envelope.to_json()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_and_capabilities_convert_field_by_field() {
        let mut caps = chatwire::dialect::Capabilities::default();
        (caps.acks, caps.typing, caps.tools) = (true, true, true);
        assert_eq!(
            Capabilities::from(caps),
            Capabilities {
                acks: true,
                resume: false,
                typing: true,
                audio: false,
                tools: true,
                cancel: false
            }
        );
    }

    #[test]
    fn the_canonical_json_is_the_core_serialisation() {
        let env = Envelope::new(7, 0, Event::TurnCancelled);
        let json = envelope_json(&env);
        assert_eq!(
            json,
            r#"{"seq":7,"timestampMs":0,"event":{"type":"turnCancelled"}}"#
        );
        assert_eq!(serde_json::from_str::<Envelope>(&json).unwrap(), env);
    }
}

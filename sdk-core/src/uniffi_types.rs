//! The event model as uniffi types (feature `uniffi`, enabled by `chatwire-ffi` only): the
//! derives on [`Envelope`], [`Event`], [`ConnectionState`] and the enums they hold sit beside the
//! types themselves (`#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]`), so Kotlin, Swift
//! and Python get records and enums generated from the one definition, never a hand-kept mirror.
//! A variant added to the core reaches every binding with the next build.
//!
//! This file holds what the derives need besides: the uniffi namespace of this crate
//! (`chatwire_core`; Kotlin package `dev.chatwire.core`, Python module `chatwire.chatwire_core`,
//! see `sdk-core/uniffi.toml`), the custom types for field types foreign languages lack, and the
//! methods foreign code calls on an [`Envelope`].
//!
//! Custom types (uniffi's `custom_type!`), each crossing as a string:
//! - [`JsonValue`] (`serde_json::Value`: tool arguments and output, `data`, `metadata`, `raw`) as
//!   its JSON text. Lifting text that is not JSON fails the call with uniffi's lift error (a
//!   foreign exception), never a silent `null`.
//! - [`ClientId`] as its hyphenated UUID; text that is not a UUID fails the same way.
//!
//! `#[non_exhaustive]` enums stay open in the bindings: uniffi marks them non-exhaustive in its
//! metadata, so a Kotlin `when` or a Python `match` over [`Event`] keeps an `else` arm.
//!
//! This module never builds for wasm32: the npm package has its own JSON boundary.

use crate::event::{DeliveryStatus, Envelope, Event, TextUpdate};
use crate::ids::ClientId;
use crate::state::ConnectionState;

/// `serde_json::Value` under the name its uniffi custom type carries (`JsonValue`: a string of
/// JSON in Kotlin, Swift and Python).
///
/// ```
/// let v: chatwire::uniffi_types::JsonValue = serde_json::json!({"city": "Paris"});
/// assert_eq!(v.to_string(), r#"{"city":"Paris"}"#);
/// ```
pub type JsonValue = serde_json::Value;

uniffi::custom_type!(JsonValue, String, {
    remote,
    lower: |value| value.to_string(),
    try_lift: |text| Ok(serde_json::from_str(&text)?),
});

uniffi::custom_type!(ClientId, String, {
    lower: |id| id.to_string(),
    try_lift: |text| Ok(text.parse::<ClientId>()?),
});

#[uniffi::export]
impl Envelope {
    /// The whole envelope as the core's canonical JSON (`sdk-core/EVENTS.md`): the text the CLI
    /// prints and the C API returns.
    ///
    /// ```
    /// use chatwire::event::{Envelope, Event};
    /// let env = Envelope::new(1, 0, Event::Heartbeat);
    /// assert_eq!(env.to_json(), r#"{"seq":1,"timestampMs":0,"event":{"type":"heartbeat"}}"#);
    /// ```
    pub fn to_json(&self) -> String {
        canonical_json(self)
    }

    /// `true` for `TurnCompleted`, `TurnCancelled` and `TurnFailed`.
    ///
    /// ```
    /// use chatwire::event::{Envelope, Event};
    /// assert!(Envelope::new(1, 0, Event::TurnCancelled).is_turn_terminal());
    /// ```
    pub fn is_turn_terminal(&self) -> bool {
        self.event.is_turn_terminal()
    }

    /// The text a chat UI shows for this event: the appended or replacing text of `TextDelta`,
    /// the content of `Message`, the full text of `MessageCompleted`, the text of `Transcript`;
    /// none for other events. Whether it extends or replaces what is shown is in the event
    /// (`TextUpdate::Append` / `Replace`; `Message` and `MessageCompleted` replace).
    ///
    /// ```
    /// use chatwire::event::{Envelope, Event, TextChannel, TextUpdate};
    /// let delta = Event::TextDelta {
    ///     channel: TextChannel::Text,
    ///     update: TextUpdate::Append { text: "Hi".into(), offset: 0 },
    /// };
    /// assert_eq!(Envelope::new(2, 0, delta).text().as_deref(), Some("Hi"));
    /// assert_eq!(Envelope::new(3, 0, Event::Heartbeat).text(), None);
    /// ```
    pub fn text(&self) -> Option<String> {
        match &self.event {
            Event::TextDelta { update, .. } => match update {
                TextUpdate::Append { text, .. } | TextUpdate::Replace { text } => {
                    Some(text.clone())
                }
            },
            Event::Message { content, .. } => Some(content.clone()),
            Event::MessageCompleted { text } | Event::Transcript { text, .. } => Some(text.clone()),
            _ => None,
        }
    }
}

#[uniffi::export]
impl DeliveryStatus {
    /// The status as the core's JSON (`{"kind":"acked"}`,
    /// `{"kind":"failed","reason":"connectionFailed"}`), as the C API returns it.
    ///
    /// ```
    /// use chatwire::event::{DeliveryStatus, FailReason};
    /// let failed = DeliveryStatus::Failed { reason: FailReason::ConnectionFailed };
    /// assert_eq!(failed.to_json(), r#"{"kind":"failed","reason":"connectionFailed"}"#);
    /// ```
    pub fn to_json(&self) -> String {
        // Plain data: serialising cannot fail; the fallback keeps the variant visible.
        serde_json::to_string(self).unwrap_or_else(|_| format!(r#"{{"kind":"{self:?}"}}"#))
    }
}

#[uniffi::export]
impl ConnectionState {
    /// The state as the core's JSON (`{"kind":"ready"}`,
    /// `{"kind":"reconnecting","attempt":2,"delayMs":1873}`), as the C API returns it.
    ///
    /// ```
    /// use chatwire::ConnectionState;
    /// assert_eq!(ConnectionState::Ready.to_json(), r#"{"kind":"ready"}"#);
    /// ```
    pub fn to_json(&self) -> String {
        // Plain data: serialising cannot fail; the fallback keeps the variant visible.
        serde_json::to_string(self).unwrap_or_else(|_| format!(r#"{{"kind":"{self:?}"}}"#))
    }
}

/// The canonical JSON of `envelope`.
fn canonical_json(envelope: &Envelope) -> String {
    // Serialising the event model cannot fail: every map key is a string and every value is
    // plain data; the fallback keeps a bug visible instead of panicking across the boundary.
    serde_json::to_string(envelope).unwrap_or_else(|e| {
        format!(
            r#"{{"seq":{},"timestampMs":{},"event":{{"type":"unknown","name":{:?}}}}}"#,
            envelope.seq,
            envelope.timestamp_ms,
            e.to_string()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use uniffi::{Lift, Lower};

    type Tag = crate::UniFfiTag;

    #[test]
    fn json_values_cross_as_their_text_and_bad_text_is_refused() {
        let value = serde_json::json!({"a": [1, 2.5, null], "b": "x"});
        let lowered = <JsonValue as Lower<Tag>>::lower(value.clone());
        let back = <JsonValue as Lift<Tag>>::try_lift(lowered).unwrap();
        assert_eq!(back, value);
        let bad = <String as Lower<Tag>>::lower("{not json".into());
        assert!(<JsonValue as Lift<Tag>>::try_lift(bad).is_err());
    }

    #[test]
    fn client_ids_cross_as_uuid_text_and_bad_text_is_refused() {
        let id = ClientId::from_parts(1_763_800_000_000, [7; 10]);
        let back = <ClientId as Lift<Tag>>::try_lift(<ClientId as Lower<Tag>>::lower(id)).unwrap();
        assert_eq!(back, id);
        let bad = <String as Lower<Tag>>::lower("not-a-uuid".into());
        assert!(<ClientId as Lift<Tag>>::try_lift(bad).is_err());
    }

    #[test]
    fn every_documented_envelope_round_trips_through_the_ffi_encoding() {
        // The examples of sdk-core/EVENTS.md, one per event type: each one written into uniffi's
        // buffer and read back is the same envelope (no field is lost on the way).
        let doc = include_str!("../EVENTS.md");
        let mut types = std::collections::HashSet::new();
        for line in doc.lines().filter(|l| l.starts_with("{\"seq\"")) {
            let Ok(env) = serde_json::from_str::<Envelope>(line) else {
                continue;
            };
            let lowered = <Envelope as Lower<Tag>>::lower(env.clone());
            let back = <Envelope as Lift<Tag>>::try_lift(lowered).unwrap();
            assert_eq!(back, env, "{line}");
            assert_eq!(
                serde_json::from_str::<Envelope>(&back.to_json()).unwrap(),
                env
            );
            types.insert(env.event.type_name());
        }
        assert_eq!(types.len(), 25, "one example per event type: {types:?}");
    }
}

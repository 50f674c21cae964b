//! The native dialect's fast path for the frames that make up almost all traffic: conversation
//! `event`s of the kinds that carry only strings, numbers and booleans (`text_delta` above all).
//!
//! Used when the raw event is not kept (`keep_raw(false)`): the frame is deserialized into a
//! typed view whose strings borrow from the frame text, so decoding an event allocates only the
//! strings the envelope owns (no `serde_json::Value` is built). What it guarantees: for every frame it accepts
//! it yields exactly the event the general path (`native_event` over a `Value`) yields; it
//! accepts nothing the general path would treat differently. A frame it does not accept — another
//! `type`, a kind whose fields are arbitrary JSON (`tool_started`, `tool_completed`,
//! `turn_completed` with its `usage`), a field of an unexpected JSON type, a duplicate field,
//! invalid JSON — goes to the general path unchanged, which reports it as before.

use crate::dialect::Decoded;
use crate::event::{AgentStatus, Event, TextChannel, TurnError, TurnErrorCode};
use serde::Deserialize;
use std::borrow::Cow;

/// The fields of an `event` frame the fast path reads (unknown fields are skipped). Ids and
/// names are borrowed `&str` (one with an escape fails the parse: the general path takes it);
/// free text may be escaped (`Str`). Kept small: the frame is built on every event.
#[derive(Deserialize)]
pub(super) struct EventFrame<'a> {
    #[serde(rename = "type")]
    ty: &'a str,
    pub(super) seq: Option<u64>,
    pub(super) ts: Option<u64>,
    offset: Option<u64>,
    kind: Option<&'a str>,
    pub(super) turn_id: Option<&'a str>,
    pub(super) message_id: Option<&'a str>,
    reply_to: Option<&'a str>,
    stage: Option<&'a str>,
    role: Option<&'a str>,
    tool_id: Option<&'a str>,
    participant: Option<&'a str>,
    active: Option<bool>,
    #[serde(borrow)]
    text: Option<Str<'a>>,
    #[serde(borrow)]
    message: Option<Str<'a>>,
    #[serde(borrow)]
    error: Option<Str<'a>>,
}

impl<'a> EventFrame<'a> {
    /// The frame, when it is well typed (`None`: take the general path).
    pub(super) fn from_text(text: &'a str) -> Option<EventFrame<'a>> {
        serde_json::from_str::<EventFrame<'a>>(text).ok()
    }

    /// An `event` frame (the only `type` the fast path decodes).
    pub(super) fn is_event(&self) -> bool {
        self.ty == "event"
    }

    /// The normalized event, exactly as `native_event` maps it; `None` for kinds left to the
    /// general path and for frames missing a required field (the general path reports those).
    pub(super) fn event(&self) -> Option<Decoded> {
        let s = |f: &Option<Str<'_>>| f.as_ref().map(|v| v.0.to_string());
        let id = |f: Option<&str>| f.map(str::to_string);
        let event = match self.kind? {
            "turn_started" => Event::TurnStarted {
                reply_to: id(self.reply_to),
            },
            "status" => Event::Status {
                status: match self.stage? {
                    "acknowledged" => AgentStatus::Acknowledged,
                    "processing" => AgentStatus::Processing { stage: None },
                    "typing" => AgentStatus::Typing,
                    "ready" => AgentStatus::Ready,
                    other => AgentStatus::Processing {
                        stage: Some(other.to_string()),
                    },
                },
            },
            "message_started" => Event::MessageStarted {
                role: super::role(self.role.unwrap_or("assistant")),
            },
            "text_delta" => {
                let offset = self.offset?;
                let text = s(&self.text)?;
                return Some(Decoded::text(TextChannel::Text, text, Some(offset)));
            }
            "message_completed" => Event::MessageCompleted {
                text: s(&self.text)?,
            },
            "tool_progress" => Event::ToolProgress {
                tool_id: id(self.tool_id)?,
                message: s(&self.message).unwrap_or_default(),
            },
            "tool_failed" => Event::ToolFailed {
                tool_id: id(self.tool_id)?,
                error: s(&self.error).unwrap_or_default(),
            },
            "turn_failed" => Event::TurnFailed {
                error: TurnError::new(TurnErrorCode::Server, s(&self.error).unwrap_or_default()),
            },
            "turn_cancelled" => Event::TurnCancelled,
            "typing" => Event::Typing {
                participant: id(self.participant).unwrap_or_else(|| "agent".into()),
                active: self.active?,
            },
            // arbitrary JSON fields (args, output, usage) or unknown kinds: the general path
            _ => return None,
        };
        Some(Decoded::new(event))
    }
}

/// A JSON string, borrowed from the input when it has no escapes, owned otherwise.
pub(super) struct Str<'a>(pub(super) Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Str<'a>, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a str>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = Str<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(Visit(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind the fast path accepts decodes exactly as the general path does.
    #[test]
    fn accepted_frames_decode_as_the_general_path_does() {
        let frames = [
            r#"{"type":"event","seq":1,"ts":5,"kind":"turn_started","turn_id":"t","reply_to":"x"}"#,
            r#"{"type":"event","seq":1,"kind":"turn_started","turn_id":"t"}"#,
            r#"{"type":"event","seq":1,"kind":"status","turn_id":"t","stage":"typing"}"#,
            r#"{"type":"event","seq":1,"kind":"status","turn_id":"t","stage":"thinking"}"#,
            r#"{"type":"event","seq":1,"kind":"message_started","message_id":"m","role":"tool"}"#,
            r#"{"type":"event","seq":1,"kind":"message_started","message_id":"m"}"#,
            r#"{"type":"event","seq":1,"kind":"text_delta","message_id":"m","offset":3,"text":"a\nb \u00e9"}"#,
            r#"{"type":"event","seq":1,"kind":"message_completed","message_id":"m","text":"all"}"#,
            r#"{"type":"event","seq":1,"kind":"tool_progress","tool_id":"k","message":"half"}"#,
            r#"{"type":"event","seq":1,"kind":"tool_failed","tool_id":"k"}"#,
            r#"{"type":"event","seq":1,"kind":"turn_failed","error":"boom"}"#,
            r#"{"type":"event","seq":1,"kind":"turn_cancelled","extra":{"nested":[1,2]}}"#,
            r#"{"type":"event","seq":1,"kind":"typing","participant":"bob","active":true}"#,
        ];
        for text in frames {
            let value: serde_json::Value = serde_json::from_str(text).unwrap();
            let general = super::super::native_event(&value).unwrap();
            let frame = EventFrame::from_text(text).unwrap();
            assert!(frame.is_event());
            let fast = frame.event().unwrap();
            assert_eq!(fast, general, "{text}");
        }
    }

    /// Frames the fast path must leave to the general path.
    #[test]
    fn everything_else_goes_to_the_general_path() {
        let general_only = [
            r#"{"type":"ack","client_id":"x"}"#,
            r#"{"type":"event","seq":1,"kind":"tool_started","tool_id":"k","name":"n","args":{}}"#,
            r#"{"type":"event","seq":1,"kind":"tool_completed","tool_id":"k","output":1}"#,
            r#"{"type":"event","seq":1,"kind":"turn_completed","usage":{"input_tokens":1}}"#,
            r#"{"type":"event","seq":1,"kind":"something_new"}"#,
            r#"{"type":"event","seq":1,"kind":"text_delta","message_id":"m","text":"no offset"}"#,
            r#"{"type":"event","seq":1,"kind":"typing","participant":"bob"}"#,
        ];
        for text in general_only {
            let accepted = EventFrame::from_text(text)
                .filter(EventFrame::is_event)
                .and_then(|f| f.event());
            assert!(accepted.is_none(), "{text}");
        }
        let unparsed = [
            r#"{"type":"event","seq":"1","kind":"turn_cancelled"}"#,
            r#"{"type":"event","seq":1.0,"kind":"turn_cancelled"}"#,
            r#"{"type":"event","seq":1,"kind":"turn_cancelled","ts":-1}"#,
            r#"{"type":"event","seq":1,"seq":2,"kind":"turn_cancelled"}"#,
            r#"{"type":"event","seq":1,"kind":"text_delta","offset":0,"text":7}"#,
            r#"{"type":7,"seq":1}"#,
            r#"{"type":"event","seq":1,"kind":"turn_cancelled","turn_id":"t\u0031"}"#,
            r#"{"type":"event","seq":1"#,
            r#"[1,2]"#,
        ];
        for text in unparsed {
            assert!(EventFrame::from_text(text).is_none(), "{text}");
        }
    }

    #[test]
    fn plain_text_is_borrowed_and_escaped_text_owned() {
        let text = r#"{"type":"event","kind":"text_delta","text":"plain","message":"a\"b"}"#;
        let frame = EventFrame::from_text(text).unwrap();
        let text = frame.text.as_ref().map(|s| &s.0);
        assert!(matches!(text, Some(Cow::Borrowed("plain"))));
        let message = frame.message.as_ref().map(|s| &s.0);
        assert!(matches!(message, Some(Cow::Owned(t)) if t == "a\"b"));
    }

    #[test]
    fn the_frame_stays_small() {
        assert!(std::mem::size_of::<EventFrame<'_>>() <= 320);
    }

    /// The dialect decides the same with the raw event kept (general path only) and without it
    /// (fast path where it applies) over a conversation with every kind of frame: in order,
    /// replayed, reordered past a gap, escaped, malformed, control frames.
    #[test]
    fn the_dialect_decides_the_same_with_and_without_raw() {
        use crate::dialect::native::{NativeConfig, NativeDialect};
        use crate::dialect::{Action, Actions, ConnectContext, Dialect, TransportEvent};
        use crate::ids::ConnId;
        let frames = [
            r#"{"type":"welcome","conversation_id":"c-1","last_seq":0,"resumed":true}"#,
            r#"{"type":"event","seq":1,"ts":9,"kind":"turn_started","turn_id":"t-1","reply_to":"x"}"#,
            r#"{"type":"event","seq":2,"kind":"message_started","turn_id":"t-1","message_id":"m-1"}"#,
            r#"{"type":"event","seq":3,"kind":"text_delta","turn_id":"t-1","message_id":"m-1","offset":0,"text":"a\n\"b\" é"}"#,
            r#"{"type":"event","seq":3,"kind":"text_delta","turn_id":"t-1","message_id":"m-1","offset":0,"text":"replay"}"#,
            r#"{"type":"event","seq":5,"kind":"text_delta","turn_id":"t-1","message_id":"m-1","offset":7,"text":"held"}"#,
            r#"{"type":"event","seq":4,"kind":"text_delta","turn_id":"t\u002d1","message_id":"m-1","offset":6,"text":"x"}"#,
            r#"{"type":"event","seq":6,"kind":"tool_started","turn_id":"t-1","tool_id":"k","name":"n","args":{"q":1}}"#,
            r#"{"type":"event","seq":7,"kind":"tool_progress","turn_id":"t-1","tool_id":"k"}"#,
            r#"{"type":"event","seq":8,"kind":"text_delta","turn_id":"t-1","message_id":"m-1","text":"no offset"}"#,
            r#"{"type":"event","seq":9,"kind":"brand_new","turn_id":"t-1"}"#,
            r#"{"type":"event","kind":"turn_cancelled"}"#,
            r#"{"type":"ping","nonce":3}"#,
            r#"{"type":"event","seq":10,"kind":"turn_completed","turn_id":"t-1","usage":{"input_tokens":2}}"#,
            r#"{"type":"event","seq":11,"kind":"typing","participant":"bob","active":false}"#,
            r#"not json"#,
            r#"{"type":"event","seq":13,"kind":"turn_cancelled","turn_id":"t-2"}"#,
        ];
        let run = |keep_raw: bool| {
            let mut d = NativeDialect::new(NativeConfig::new("http://h:1", "c-1"));
            let fresh = || match keep_raw {
                true => Actions::new(1),
                false => Actions::new(1).without_raw(),
            };
            let mut out = fresh();
            d.connect(&ConnectContext::new(1, None), &mut out);
            let conn = ConnId(1);
            d.on_transport(TransportEvent::SocketOpened { conn }, &mut out);
            let mut actions = out.take();
            for text in frames {
                let mut out = fresh();
                d.on_transport(TransportEvent::SocketText { conn, text }, &mut out);
                actions.extend(out.take());
            }
            for action in &mut actions {
                if let Action::Emit(decoded) = action {
                    decoded.raw = None; // the one difference allowed: the engine drops it anyway
                }
            }
            actions
        };
        let (kept, fast) = (run(true), run(false));
        let emitted = kept.iter().filter(|a| matches!(a, Action::Emit(_))).count();
        assert!(emitted >= 10, "{kept:?}");
        assert_eq!(fast, kept);
    }
}

//! The assistant text of a turn as a UI assembles it: per message (in order of first
//! appearance), `append`s at their offsets, `replace`s, and complete assistant `message`s; the
//! messages joined. DESIGN §3.2: "Streaming text is assembled by (message, part, offset) so a
//! replayed token cannot double the text" — so an append that does not start at the current
//! length is a defect, reported rather than glued on.

use chatwire::event::{Envelope, Event, Role, TextChannel, TextUpdate};
use std::collections::BTreeMap;

/// Assembles the text of `envelopes` (one turn's), or says where an append went wrong.
///
/// ```
/// use chatwire::event::Envelope;
/// let env: Envelope = serde_json::from_str(r#"{"seq":1,"turnId":"t","messageId":"m","timestampMs":0,
///   "event":{"type":"textDelta","channel":"text","update":{"kind":"append","text":"hi","offset":0}}}"#).unwrap();
/// assert_eq!(chatwire_scenario::assemble(&[env.clone()]), Ok("hi".to_string()));
/// assert!(chatwire_scenario::assemble(&[env.clone(), env]).is_err()); // the same token twice
/// ```
pub fn assemble(envelopes: &[Envelope]) -> Result<String, String> {
    let mut order: Vec<Option<String>> = Vec::new();
    let mut texts: BTreeMap<Option<String>, String> = BTreeMap::new();
    for env in envelopes {
        let key = env.message_id.clone();
        match &env.event {
            Event::TextDelta {
                channel: TextChannel::Text,
                update,
            } => {
                let text = texts.entry(key.clone()).or_default();
                match update {
                    TextUpdate::Append { text: t, offset } => {
                        let len = text.chars().count();
                        if *offset as usize != len {
                            return Err(format!(
                                "append {t:?} at offset {offset} but the text so far is {len} characters ({text:?}, seq {}): text repeated or lost",
                                env.seq
                            ));
                        }
                        text.push_str(t);
                    }
                    TextUpdate::Replace { text: t } => t.clone_into(text),
                    _ => return Err(format!("unknown text update at seq {}", env.seq)),
                }
            }
            Event::Message {
                role: Role::Assistant,
                content,
                ..
            } => {
                texts.insert(key.clone(), content.clone());
            }
            _ => continue,
        }
        if !order.contains(&key) {
            order.push(key);
        }
    }
    Ok(order
        .iter()
        .filter_map(|k| texts.get(k).cloned())
        .collect::<Vec<_>>()
        .join(""))
}

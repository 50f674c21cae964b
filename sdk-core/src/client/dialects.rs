//! [`DialectKind`]: the six built-in backend dialects by name, and how the client builds each
//! one's codec from the base URL and the dialect params (`--param key=value` in the CLI).
//!
//! Every param has a default that `chatwire-mock` accepts, so `builder(kind, mock_url)` alone
//! works for every dialect; real backends need their own values (see each dialect's module docs
//! for its params).

use super::BuildError;
use crate::dialect::Dialect;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// A built-in backend dialect (DESIGN §5).
///
/// ```
/// use chatwire::client::DialectKind;
/// let kind: DialectKind = "chat-interfaces".parse().unwrap();
/// assert_eq!(kind, DialectKind::ChatInterfaces);
/// assert_eq!(kind.to_string(), "chat-interfaces");
/// assert!("gopher".parse::<DialectKind>().is_err());
/// assert_eq!(DialectKind::ALL.len(), 6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DialectKind {
    /// chatwire's own WebSocket protocol (seq numbers, acks, resume).
    Native,
    /// MIPTech: REST + WebSocket.
    Miptech,
    /// chat-v2: WebSocket with text and audio.
    ChatV2,
    /// chat-interfaces: REST + server-sent events.
    ChatInterfaces,
    /// Parlant: sessions and a long-polled event log.
    Parlant,
    /// OpenAI-compatible chat completions with `stream: true`.
    Openai,
}

/// The name given is not a known dialect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown dialect {name:?} (expected one of: native, miptech, chat-v2, chat-interfaces, parlant, openai)"
)]
pub struct UnknownDialect {
    /// The name that was given.
    pub name: String,
}

impl DialectKind {
    /// All built-in dialects, in the order of the design's table (native first).
    pub const ALL: [DialectKind; 6] = [
        DialectKind::Native,
        DialectKind::Miptech,
        DialectKind::ChatV2,
        DialectKind::ChatInterfaces,
        DialectKind::Parlant,
        DialectKind::Openai,
    ];

    /// The canonical name (`native`, `miptech`, `chat-v2`, `chat-interfaces`, `parlant`,
    /// `openai`).
    pub fn name(self) -> &'static str {
        match self {
            DialectKind::Native => "native",
            DialectKind::Miptech => "miptech",
            DialectKind::ChatV2 => "chat-v2",
            DialectKind::ChatInterfaces => "chat-interfaces",
            DialectKind::Parlant => "parlant",
            DialectKind::Openai => "openai",
        }
    }

    /// Builds the codec for `base_url` with `params` (`seed` names the default conversation
    /// for dialects whose conversation id the client chooses).
    pub(crate) fn create(
        self,
        base_url: &str,
        params: &BTreeMap<String, String>,
        seed: u64,
    ) -> Result<Box<dyn Dialect>, BuildError> {
        use crate::dialect::native::{NativeConfig, NativeDialect};
        match self {
            DialectKind::Native => {
                let conversation = params
                    .get("conversation_id")
                    .filter(|c| !c.trim().is_empty())
                    .cloned()
                    .unwrap_or_else(|| format!("conv-{seed:016x}"));
                let mut config = NativeConfig::new(base_url, conversation);
                if let Some(token) = params
                    .get("token")
                    .or_else(|| params.get("bearer_token"))
                    .filter(|t| !t.is_empty())
                {
                    config = config.token(token.clone());
                }
                Ok(Box::new(NativeDialect::new(config)))
            }
            DialectKind::Miptech => Ok(Box::new(crate::dialect::miptech::Miptech::from_params(
                base_url, params,
            ))),
            DialectKind::Openai => Ok(Box::new(crate::dialect::openai::OpenAi::from_params(
                base_url, params,
            ))),
            DialectKind::ChatV2 => Ok(Box::new(crate::dialect::chat_v2::ChatV2::from_params(
                base_url, params,
            ))),
            DialectKind::ChatInterfaces => Ok(Box::new(
                crate::dialect::chat_interfaces::ChatInterfaces::from_params(base_url, params),
            )),
            DialectKind::Parlant => Ok(Box::new(crate::dialect::parlant::Parlant::from_params(
                base_url, params,
            ))),
        }
    }
}

impl fmt::Display for DialectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DialectKind {
    type Err = UnknownDialect;

    /// Accepts the canonical names, case-insensitively, with `_` for `-` (`chat_v2`).
    fn from_str(s: &str) -> Result<DialectKind, UnknownDialect> {
        let normalized = s.trim().to_ascii_lowercase().replace('_', "-");
        DialectKind::ALL
            .into_iter()
            .find(|k| k.name() == normalized)
            .ok_or_else(|| UnknownDialect {
                name: s.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_aliases_parse() {
        for kind in DialectKind::ALL {
            assert_eq!(kind.name().parse::<DialectKind>(), Ok(kind));
        }
        assert_eq!("Chat_V2".parse::<DialectKind>(), Ok(DialectKind::ChatV2));
        let err = "soap".parse::<DialectKind>().unwrap_err();
        assert_eq!(err.name, "soap");
        assert!(err.to_string().contains("chat-interfaces"));
    }

    #[test]
    fn created_codecs_carry_the_dialect_name() {
        let params = BTreeMap::new();
        let d = DialectKind::Native
            .create("http://127.0.0.1:1", &params, 7)
            .unwrap();
        assert_eq!(d.name(), "native");
    }
}

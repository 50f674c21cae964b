//! The one table of built-in dialects: for each, its [`DialectKind`] variant, its name, the
//! params its codec reads and the function that builds the codec from a base URL and params.
//!
//! Everything that lists dialects derives from this table — [`DialectKind::ALL`], parsing and
//! printing names, the [`UnknownDialect`] message, param validation, [`DialectKind::codec`] and
//! [`DialectKind::capabilities`] — so adding a dialect means one new module folder plus one row
//! in the `dialect_table!` invocation below. Nothing here needs a runtime: the table is plain
//! data and function pointers, usable from every driver and binding.
//!
//! Every param has a default that `chatwire-mock` accepts, so a codec built from an empty param
//! map talks to the mock; real backends need their own values (see each dialect's module docs).

use super::Capabilities;
use super::Dialect;
use super::codec_kit::opt_param;
use super::native::{NativeConfig, NativeDialect};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Dialect params as the codecs read them (`key -> value`).
pub type Params = BTreeMap<String, String>;

/// Declares [`DialectKind`], `ALL` and the rows of the registry from one list.
macro_rules! dialect_table {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $name:literal, params: [$($param:literal),* $(,)?], codec: $codec:expr;
    )*) => {
        /// A built-in backend dialect (DESIGN §5). The variants, their names and their params
        /// come from the registry table (`dialect/registry.rs`).
        ///
        /// ```
        /// use chatwire::DialectKind;
        /// let kind: DialectKind = "chat-interfaces".parse().unwrap();
        /// assert_eq!(kind, DialectKind::ChatInterfaces);
        /// assert_eq!(kind.to_string(), "chat-interfaces");
        /// assert!("gopher".parse::<DialectKind>().is_err());
        /// assert_eq!(DialectKind::ALL.len(), 6);
        /// assert!(kind.accepts_param("slug") && !kind.accepts_param("model"));
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum DialectKind {
            $($(#[$doc])* $variant,)*
        }

        const COUNT: usize = [$($name),*].len();

        const ROWS: [Row; COUNT] = [$(
            Row {
                kind: DialectKind::$variant,
                name: $name,
                params: &[$($param),*],
                codec: $codec,
            },
        )*];

        impl DialectKind {
            /// All built-in dialects, in the order of the design's table (native first).
            pub const ALL: [DialectKind; COUNT] = [$(DialectKind::$variant),*];
        }
    };
}

dialect_table! {
    /// chatwire's own WebSocket protocol (seq numbers, acks, resume).
    Native = "native",
        params: ["conversation_id", "token", "bearer_token"],
        codec: native_codec;
    /// MIPTech: REST + WebSocket.
    Miptech = "miptech",
        params: ["tenant_id", "chat_id", "client_id", "title", "api_key", "token", "bearer_token", "header.*"],
        codec: |url, params, _| Box::new(super::miptech::Miptech::from_params(url, params));
    /// chat-v2: WebSocket with text and audio.
    ChatV2 = "chat-v2",
        params: ["session_id", "sample_rate", "api_key", "token", "bearer_token", "header.*"],
        codec: |url, params, _| Box::new(super::chat_v2::ChatV2::from_params(url, params));
    /// chat-interfaces: REST + server-sent events.
    ChatInterfaces = "chat-interfaces",
        params: ["slug", "session_token", "reorder", "api_key", "token", "bearer_token", "header.*"],
        codec: |url, params, _| {
            Box::new(super::chat_interfaces::ChatInterfaces::from_params(url, params))
        };
    /// Parlant: sessions and a long-polled event log.
    Parlant = "parlant",
        params: ["agent_id", "customer_id", "session_id", "wait_for_data", "api_key", "token", "bearer_token", "header.*"],
        codec: |url, params, _| Box::new(super::parlant::Parlant::from_params(url, params));
    /// OpenAI-compatible chat completions with `stream: true`.
    Openai = "openai",
        params: ["model", "user", "system_prompt", "dedup", "timeout_ms", "max_history", "api_key", "token", "bearer_token", "header.*"],
        codec: |url, params, _| Box::new(super::openai::OpenAi::from_params(url, params));
}

/// The name given is not a known dialect. The message lists every name in the registry.
///
/// ```
/// let err = "gopher".parse::<chatwire::DialectKind>().unwrap_err();
/// assert_eq!(err.name, "gopher");
/// assert!(err.to_string().contains("chat-v2"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown dialect {name:?} (expected one of: {})", DialectKind::names().join(", "))]
pub struct UnknownDialect {
    /// The name that was given.
    pub name: String,
}

impl DialectKind {
    /// The canonical name (`native`, `miptech`, `chat-v2`, `chat-interfaces`, `parlant`,
    /// `openai`).
    pub fn name(self) -> &'static str {
        self.row().name
    }

    /// Every canonical name, in the order of [`DialectKind::ALL`].
    ///
    /// ```
    /// assert_eq!(chatwire::DialectKind::names()[0], "native");
    /// ```
    pub fn names() -> Vec<&'static str> {
        ROWS.iter().map(|r| r.name).collect()
    }

    /// The params this dialect's codec reads. `header.*` stands for any `header.<Name>` param
    /// (an extra request header).
    ///
    /// ```
    /// use chatwire::DialectKind;
    /// assert!(DialectKind::Openai.params().contains(&"model"));
    /// ```
    pub fn params(self) -> &'static [&'static str] {
        self.row().params
    }

    /// Whether `key` is a param of this dialect (exact name, or `header.<Name>` where the
    /// dialect takes `header.*`).
    ///
    /// ```
    /// use chatwire::DialectKind;
    /// assert!(DialectKind::Miptech.accepts_param("header.X-Trace"));
    /// assert!(!DialectKind::Native.accepts_param("header.X-Trace"));
    /// assert!(!DialectKind::Native.accepts_param("tenant_id"));
    /// ```
    pub fn accepts_param(self, key: &str) -> bool {
        self.params().iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => key.len() > prefix.len() && key.starts_with(prefix),
            None => *p == key,
        })
    }

    /// Builds the codec for `base_url` with `params`. `seed` names the default conversation for
    /// dialects whose conversation id the client chooses (native). Params are not checked here:
    /// [`ClientOptions::validate`](crate::ClientOptions::validate) refuses unknown ones.
    ///
    /// ```
    /// use chatwire::DialectKind;
    /// let codec = DialectKind::ChatV2.codec("http://127.0.0.1:8080", &Default::default(), 7);
    /// assert_eq!(codec.name(), "chat-v2");
    /// ```
    pub fn codec(self, base_url: &str, params: &Params, seed: u64) -> Box<dyn Dialect> {
        (self.row().codec)(base_url, params, seed)
    }

    /// What the dialect supports (asked of a codec built with the default params; a dialect's
    /// capabilities never depend on its params).
    ///
    /// ```
    /// use chatwire::DialectKind;
    /// assert!(DialectKind::ChatV2.capabilities().audio);
    /// assert!(!DialectKind::Openai.capabilities().audio);
    /// ```
    pub fn capabilities(self) -> Capabilities {
        self.codec("http://127.0.0.1", &Params::new(), 0)
            .capabilities()
    }

    fn row(self) -> &'static Row {
        // Every variant has exactly one row: both come from the same macro list, in order.
        &ROWS[self as usize]
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
        ROWS.iter()
            .find(|r| r.name == normalized)
            .map(|r| r.kind)
            .ok_or_else(|| UnknownDialect {
                name: s.to_string(),
            })
    }
}

impl serde::Serialize for DialectKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for DialectKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// One row of the table.
struct Row {
    kind: DialectKind,
    name: &'static str,
    params: &'static [&'static str],
    codec: fn(&str, &Params, u64) -> Box<dyn Dialect>,
}

/// Native: conversation `conversation_id` (default `conv-<seed as hex>`), optional token.
fn native_codec(base_url: &str, params: &Params, seed: u64) -> Box<dyn Dialect> {
    let conversation =
        opt_param(params, "conversation_id").unwrap_or_else(|| format!("conv-{seed:016x}"));
    let mut config = NativeConfig::new(base_url, conversation);
    if let Some(token) = opt_param(params, "token").or_else(|| opt_param(params, "bearer_token")) {
        config = config.token(token);
    }
    Box::new(NativeDialect::new(config))
}

#[cfg(test)]
mod tests;

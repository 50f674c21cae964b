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

#[cfg(feature = "dialect-native")]
use super::codec_kit::opt_param;
#[cfg(feature = "dialect-native")]
use super::native::{NativeConfig, NativeDialect};
use super::socket::SocketNeeds;
use super::{
    Actions, Capabilities, ConnectContext, Dialect, Failure, FailureKind, Outbound, TransportEvent,
};
use crate::error::{BuildError, DialectError};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Why chat-v2 refuses a token provider over a WebSocket without headers (see `socket.rs`).
const CHAT_V2_PROVIDER: &str = "refuses a stale token with an HTTP 401 on the WebSocket \
    upgrade, whose status this platform's WebSocket hides: a rejected token cannot be told from \
    a network failure, so getToken would never be asked again; pass a bearerToken, or a \
    WebSocket that reports the status (transport.WebSocket)";

/// Dialect params as the codecs read them (`key -> value`).
pub type Params = BTreeMap<String, String>;

/// Declares [`DialectKind`], `ALL` and the rows of the registry from one list.
macro_rules! dialect_table {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $name:literal, feature: $feature:literal,
            params: [$($param:literal),* $(,)?], socket: $socket:expr, codec: $codec:expr;
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
        /// assert_eq!(DialectKind::ALL.len(), 7);
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
                feature: $feature,
                socket: $socket,
                codec: {
                    // A dialect whose feature is off has no codec (its module is not compiled).
                    #[cfg(feature = $feature)]
                    let codec: Option<CodecFn> = Some($codec);
                    #[cfg(not(feature = $feature))]
                    let codec: Option<CodecFn> = None;
                    codec
                },
            },
        )*];

        impl DialectKind {
            /// All built-in dialects, in the order of the design's table (native first).
            pub const ALL: [DialectKind; COUNT] = [$(DialectKind::$variant),*];
        }
    };
}

// Each row: variant = name, the cargo feature that compiles its codec in (`dialect-<name>`,
// all in `default`), the params its codec reads, what its WebSocket needs (browsers cannot set
// upgrade headers), and how to build the codec.
dialect_table! {
    /// chatwire's own WebSocket protocol (seq numbers, acks, resume).
    Native = "native", feature: "dialect-native",
        params: ["conversation_id", "token", "bearer_token"],
        // native.rs: the token goes "in `hello` and as an `Authorization` header".
        socket: SocketNeeds::socket(Some("the first frame (`hello`)"), None, None),
        codec: native_codec;
    /// MIPTech: REST + WebSocket.
    Miptech = "miptech", feature: "dialect-miptech",
        params: ["tenant_id", "chat_id", "client_id", "title", "api_key", "token", "bearer_token", "header.*"],
        // Seed: "Every request carries the seed's tenant headers (`X-Tenant-ID`, ...)".
        socket: SocketNeeds::socket(None, None, Some("its API key and bearer token")),
        codec: |url, params, _| Box::new(super::miptech::Miptech::from_params(url, params));
    /// chat-v2: WebSocket with text and audio.
    ChatV2 = "chat-v2", feature: "dialect-chat-v2",
        params: ["session_id", "sample_rate", "api_key", "token", "bearer_token", "header.*"],
        // chat_v2: "A bearer token goes both in the `Authorization` header and as `?token=`".
        socket: SocketNeeds::socket(Some("the `token` query parameter"), Some(CHAT_V2_PROVIDER), None),
        codec: |url, params, _| Box::new(super::chat_v2::ChatV2::from_params(url, params));
    /// chat-interfaces: REST + server-sent events.
    ChatInterfaces = "chat-interfaces", feature: "dialect-chat-interfaces",
        params: ["slug", "session_token", "reorder", "api_key", "token", "bearer_token", "header.*"],
        socket: SocketNeeds::HTTP_ONLY,
        codec: |url, params, _| {
            Box::new(super::chat_interfaces::ChatInterfaces::from_params(url, params))
        };
    /// Parlant: sessions and a long-polled event log.
    Parlant = "parlant", feature: "dialect-parlant",
        params: ["agent_id", "customer_id", "session_id", "wait_for_data", "api_key", "token", "bearer_token", "header.*"],
        socket: SocketNeeds::HTTP_ONLY,
        codec: |url, params, _| Box::new(super::parlant::Parlant::from_params(url, params));
    /// OpenAI-compatible chat completions with `stream: true`.
    Openai = "openai", feature: "dialect-openai",
        params: ["model", "user", "system_prompt", "dedup", "timeout_ms", "max_history", "api_key", "token", "bearer_token", "header.*"],
        socket: SocketNeeds::HTTP_ONLY,
        codec: |url, params, _| Box::new(super::openai::OpenAi::from_params(url, params));
    /// Backends streaming the Vercel AI SDK's UI message stream (`useChat`'s protocol).
    AiSdk = "ai-sdk", feature: "dialect-ai-sdk",
        params: ["api", "chat_id", "timeout_ms", "max_history", "api_key", "token", "bearer_token", "header.*"],
        socket: SocketNeeds::HTTP_ONLY,
        codec: |url, params, seed| {
            Box::new(super::ai_sdk::AiSdk::from_params(url, params, seed))
        };
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
    /// `openai`, `ai-sdk`).
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
    /// [`ClientOptions::validate`](crate::ClientOptions::validate) refuses unknown ones, and a
    /// dialect whose cargo feature is off ([`is_available`](Self::is_available)). Asked anyway,
    /// such a dialect gives a codec that fails every connection with a fatal error naming the
    /// missing feature.
    ///
    /// ```
    /// use chatwire::DialectKind;
    /// let codec = DialectKind::ChatV2.codec("http://127.0.0.1:8080", &Default::default(), 7);
    /// assert_eq!(codec.name(), "chat-v2");
    /// ```
    pub fn codec(self, base_url: &str, params: &Params, seed: u64) -> Box<dyn Dialect> {
        match self.row().codec {
            Some(codec) => codec(base_url, params, seed),
            None => Box::new(Unavailable(self)),
        }
    }

    /// Whether this build holds the dialect's codec (its cargo feature `dialect-<name>` is on;
    /// every dialect is in the default features).
    ///
    /// ```
    /// use chatwire::DialectKind;
    /// # #[cfg(feature = "dialect-openai")]
    /// assert!(DialectKind::Openai.is_available());
    /// ```
    pub fn is_available(self) -> bool {
        self.row().codec.is_some()
    }

    /// The cargo feature that compiles this dialect in (`dialect-openai`, `dialect-chat-v2`, ...).
    ///
    /// ```
    /// assert_eq!(chatwire::DialectKind::ChatV2.feature(), "dialect-chat-v2");
    /// ```
    pub fn feature(self) -> &'static str {
        self.row().feature
    }

    /// The dialects this build holds, in the order of [`DialectKind::ALL`].
    ///
    /// ```
    /// use chatwire::DialectKind;
    /// assert!(DialectKind::available().iter().all(|k| k.is_available()));
    /// ```
    pub fn available() -> Vec<DialectKind> {
        ROWS.iter()
            .filter(|r| r.codec.is_some())
            .map(|r| r.kind)
            .collect()
    }

    /// What the dialect's WebSocket needs on its upgrade request, for platforms whose WebSocket
    /// cannot set headers (browsers). See [`SocketNeeds::header_free_refusal`].
    ///
    /// ```
    /// use chatwire::DialectKind;
    /// assert!(!DialectKind::Openai.socket_needs().websocket);
    /// assert!(DialectKind::Miptech.socket_needs().credentials_headers_only.is_some());
    /// ```
    pub fn socket_needs(self) -> SocketNeeds {
        self.row().socket
    }

    /// What the dialect supports (asked of a codec built with the default params; a dialect's
    /// capabilities never depend on its params). A dialect compiled out has none.
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
    feature: &'static str,
    socket: SocketNeeds,
    codec: Option<CodecFn>,
}

type CodecFn = fn(&str, &Params, u64) -> Box<dyn Dialect>;

/// The codec of a dialect whose feature is off: it fails every connection, fatally, with a
/// message naming the feature (the options check refuses such a dialect before this).
struct Unavailable(DialectKind);

impl Dialect for Unavailable {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::none()
    }

    fn connect(&mut self, _cx: &ConnectContext<'_>, out: &mut Actions) {
        let message = BuildError::DialectUnavailable(self.0).to_string();
        out.fail(Failure::new(FailureKind::Fatal, message));
    }

    fn on_transport(&mut self, _event: TransportEvent<'_>, _out: &mut Actions) {}

    fn encode(&mut self, _command: Outbound<'_>, _out: &mut Actions) -> Result<(), DialectError> {
        Err(DialectError::Unsupported(
            "this dialect is not compiled into this build",
        ))
    }
}

/// Native: conversation `conversation_id` (default `conv-<seed as hex>`), optional token.
#[cfg(feature = "dialect-native")]
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

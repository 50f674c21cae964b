//! What a dialect's WebSocket needs on its upgrade request, as a capability of the registry
//! (`registry.rs`, column `socket`), and the one rule that decides whether a dialect can run over
//! a WebSocket that cannot set request headers.
//!
//! The platform fact (TOOLCHAIN, JS platform facts): "A browser `WebSocket` cannot set request
//! headers (no `Authorization`, no tenant header on the upgrade): use a query parameter, a
//! subprotocol or a first frame where the backend accepts one." Each row says whether the dialect
//! opens sockets at all, where a bearer token also travels outside the headers (static or handed
//! out by a token provider: the session passes the provider's latest token to the dialect, see
//! `Dialect::set_token`), why a token provider still cannot work without header sockets, and which
//! credentials only headers ever carry. [`SocketNeeds::header_free_refusal`] turns that into a
//! refusal message for the given options, so hosts (the JS package) hold no table of their own.
//!
//! | dialect | browser WebSocket (no upgrade headers) |
//! |---|---|
//! | native | works: a bearer token (static or from a provider) also travels in the `hello` frame |
//! | chat-v2 | works with a static token (the `token` query parameter); a provider is refused: the backend rejects a stale token with an HTTP 401 on the upgrade, which a browser WebSocket hides, so no refresh could ever be triggered |
//! | miptech | works without credentials (the tenant travels as the `tenant_id` query parameter, as in the backend's own web client); an API key or bearer token travels only as headers: refused |
//! | openai, parlant, chat-interfaces | HTTP only (fetch sets headers): work everywhere |
//!
//! Request `headers` in the options always need header-capable sockets.

/// What a dialect's WebSocket needs on its upgrade request (see the module docs).
///
/// ```
/// use chatwire::DialectKind;
/// let needs = DialectKind::ChatV2.socket_needs();
/// assert!(needs.websocket && needs.token_elsewhere.is_some());
/// assert!(needs.header_free_refusal("chat-v2", true, false, false).is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SocketNeeds {
    /// The dialect opens WebSockets (otherwise it only makes HTTP requests, whose headers every
    /// platform sets).
    pub websocket: bool,
    /// Where a bearer token (static or from a provider) also travels besides the
    /// `Authorization` header (a query parameter, a subprotocol or the first frame), or `None`
    /// when only the header carries it.
    pub token_elsewhere: Option<&'static str>,
    /// Why a token provider cannot work over a header-free WebSocket even though the token
    /// travels elsewhere (chat-v2: a rejected token is invisible), or `None`.
    pub provider_refused: Option<&'static str>,
    /// Credentials the dialect sends only as upgrade headers (miptech: its API key and bearer
    /// token), or `None`.
    pub credentials_headers_only: Option<&'static str>,
}

impl SocketNeeds {
    /// A dialect that makes HTTP requests only.
    pub const HTTP_ONLY: SocketNeeds = SocketNeeds {
        websocket: false,
        token_elsewhere: None,
        provider_refused: None,
        credentials_headers_only: None,
    };

    /// A WebSocket dialect: where a token also travels, why a provider is refused, which
    /// credentials only headers carry.
    pub const fn socket(
        token_elsewhere: Option<&'static str>,
        provider_refused: Option<&'static str>,
        credentials_headers_only: Option<&'static str>,
    ) -> SocketNeeds {
        SocketNeeds {
            websocket: true,
            token_elsewhere,
            provider_refused,
            credentials_headers_only,
        }
    }

    /// Why `dialect` cannot work over a WebSocket that cannot set upgrade headers, or `None` when
    /// it can. `static_token`: a bearer token or API key is given in the options;
    /// `token_provider`: tokens come from a provider; `headers`: the options add request headers.
    ///
    /// ```
    /// use chatwire::DialectKind;
    /// let miptech = DialectKind::Miptech.socket_needs();
    /// assert!(miptech.header_free_refusal("miptech", false, false, false).is_none());
    /// assert!(miptech.header_free_refusal("miptech", true, false, false).unwrap().contains("API key"));
    /// let native = DialectKind::Native.socket_needs();
    /// assert!(native.header_free_refusal("native", true, true, false).is_none());
    /// ```
    pub fn header_free_refusal(
        self,
        dialect: &str,
        static_token: bool,
        token_provider: bool,
        headers: bool,
    ) -> Option<String> {
        if !self.websocket {
            return None;
        }
        let why = "on the WebSocket upgrade, which this platform's WebSocket cannot set; \
                   pass a WebSocket that can (transport.WebSocket) or use it from a server";
        if headers {
            return Some(format!("option headers must travel as headers {why}"));
        }
        if let Some(what) = self.credentials_headers_only {
            if static_token || token_provider {
                return Some(format!(
                    "dialect {dialect} sends {what} only as headers {why}"
                ));
            }
        }
        if token_provider {
            if let Some(reason) = self.provider_refused {
                return Some(format!("dialect {dialect} {reason}"));
            }
        }
        if (static_token || token_provider) && self.token_elsewhere.is_none() {
            return Some(format!(
                "dialect {dialect} sends its bearer token only as an Authorization header {why}"
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DialectKind;

    #[test]
    fn http_dialects_are_never_refused() {
        for kind in [
            DialectKind::Openai,
            DialectKind::Parlant,
            DialectKind::ChatInterfaces,
        ] {
            let needs = kind.socket_needs();
            assert!(!needs.websocket, "{kind}");
            assert_eq!(
                needs.header_free_refusal(kind.name(), true, true, true),
                None
            );
        }
    }

    #[test]
    fn socket_dialects_are_refused_for_what_only_headers_carry() {
        let refuse = |kind: DialectKind, token: bool, provider: bool, headers: bool| {
            kind.socket_needs()
                .header_free_refusal(kind.name(), token, provider, headers)
        };
        for kind in [
            DialectKind::Native,
            DialectKind::ChatV2,
            DialectKind::Miptech,
        ] {
            assert_eq!(refuse(kind, false, false, false), None, "{kind}");
            let headers = refuse(kind, false, false, true).unwrap();
            assert!(headers.contains("option headers"), "{headers}");
        }
        assert_eq!(refuse(DialectKind::Native, true, true, false), None);
        assert_eq!(refuse(DialectKind::ChatV2, true, false, false), None);
        let provider = refuse(DialectKind::ChatV2, false, true, false).unwrap();
        assert!(provider.contains("401"), "{provider}");
        let miptech = refuse(DialectKind::Miptech, true, false, false).unwrap();
        assert!(
            miptech.starts_with("dialect miptech sends its API key"),
            "{miptech}"
        );
        assert!(miptech.contains("transport.WebSocket"), "{miptech}");
        let bare = SocketNeeds::socket(None, None, None);
        assert!(
            bare.header_free_refusal("x", true, false, false)
                .unwrap()
                .contains("bearer token only as an Authorization header")
        );
    }
}

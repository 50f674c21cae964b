//! What each dialect needs from the platform's WebSocket, exported from the core's dialect
//! registry ([`chatwire::dialect::SocketNeeds`]) so the JS host holds no table of its own: a
//! browser WebSocket cannot set upgrade headers, and the core decides which options can do
//! without them. Also which dialects this build holds (the per-dialect entry points of the npm
//! package, `chatwire/openai` and so on, hold one).
//!
//! ```js
//! import { socketNeeds, headerFreeRefusal, dialects } from './pkg/chatwire_wasm.js';
//! JSON.parse(socketNeeds('chat-v2'));  // {websocket: true, tokenElsewhere: "the `token` query parameter", headersOnly: null}
//! headerFreeRefusal('miptech', false, false, false); // "dialect miptech sends the tenant ... only as headers ..."
//! dialects();                           // ["native", "miptech", ...] (the dialects compiled in)
//! ```

use chatwire::DialectKind;
use serde_json::json;
use wasm_bindgen::prelude::*;

use crate::Error;

/// The registry's socket capability of `dialect` as JSON: `websocket` (it opens WebSockets),
/// `tokenElsewhere` (where a bearer token also travels besides the header, or `null`),
/// `providerRefused` (why a token provider cannot work without header sockets, or `null`),
/// `credentialsHeadersOnly` (credentials only upgrade headers carry, or `null`). Unknown names throw
/// `INVALID_CONFIG`.
#[wasm_bindgen(js_name = socketNeeds)]
pub fn socket_needs(dialect: &str) -> Result<String, Error> {
    let needs = kind(dialect)?.socket_needs();
    Ok(json!({
        "websocket": needs.websocket,
        "tokenElsewhere": needs.token_elsewhere,
        "providerRefused": needs.provider_refused,
        "credentialsHeadersOnly": needs.credentials_headers_only,
    })
    .to_string())
}

/// Why `dialect` cannot run over a WebSocket that cannot set upgrade headers with these options
/// (a static bearer token or API key given, a token provider set, extra headers given), or
/// `undefined` when it can (see `SocketNeeds::header_free_refusal` in the core).
#[wasm_bindgen(js_name = headerFreeRefusal)]
pub fn header_free_refusal(
    dialect: &str,
    static_token: bool,
    token_provider: bool,
    headers: bool,
) -> Result<Option<String>, Error> {
    let kind = kind(dialect)?;
    Ok(kind
        .socket_needs()
        .header_free_refusal(kind.name(), static_token, token_provider, headers))
}

/// The names of the dialects compiled into this module, in the registry's order.
#[wasm_bindgen]
pub fn dialects() -> Vec<String> {
    DialectKind::available()
        .into_iter()
        .map(|k| k.name().to_owned())
        .collect()
}

fn kind(dialect: &str) -> Result<DialectKind, Error> {
    dialect
        .parse::<DialectKind>()
        .map_err(|e| Error::from_code(chatwire::BuildError::from(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_and_refusals_come_from_the_registry() {
        let v: serde_json::Value = serde_json::from_str(&socket_needs("openai").unwrap()).unwrap();
        assert_eq!(v["websocket"], false);
        let v: serde_json::Value = serde_json::from_str(&socket_needs("chat_v2").unwrap()).unwrap();
        assert_eq!(v["websocket"], true);
        assert!(v["tokenElsewhere"].as_str().unwrap().contains("token"));
        assert!(v["credentialsHeadersOnly"].is_null());
        assert!(v["providerRefused"].as_str().unwrap().contains("401"));
        assert_eq!(
            header_free_refusal("miptech", false, false, false).unwrap(),
            None
        );
        let why = header_free_refusal("miptech", true, false, false)
            .unwrap()
            .unwrap();
        assert!(why.contains("API key"), "{why}");
        assert_eq!(
            header_free_refusal("native", true, false, false).unwrap(),
            None
        );
        assert!(socket_needs("gopher").is_err());
        assert_eq!(dialects().len(), DialectKind::available().len());
    }
}

//! Helpers shared by the backend codecs (miptech, chat-v2, chat-interfaces, parlant, openai):
//! tolerant JSON field access with aliases, timestamp normalisation, URL building, dialect
//! parameters and secrets; failures and error bodies live in [`errors`], ordered assembly of
//! numbered chunks in [`order`], the bounded conversation of completion backends (openai, ai-sdk)
//! in [`transcript`].
//!
//! Everything here is pure and total: no function panics on any input, and nothing reads a
//! clock. Timestamps that need "now" are left to the engine, which owns time.
//!
//! A build with only some dialects (cargo features `dialect-<name>`) uses only part of the kit.
#![cfg_attr(not(feature = "all-dialects"), allow(dead_code, unused_imports))]

pub(crate) mod errors;
pub(crate) mod history;
pub(crate) mod order;
pub(crate) mod transcript;

pub(crate) use errors::ErrorBody;

#[cfg(test)]
pub(crate) mod testkit;

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

/// Parses `bytes` as one JSON value, refusing invalid UTF-8 with a readable reason.
pub(crate) fn parse_json(bytes: &[u8]) -> Result<Value, String> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| format!("invalid UTF-8 at byte {}", e.valid_up_to()))?;
    serde_json::from_str(text).map_err(|e| format!("malformed JSON: {e}"))
}

/// A short, printable summary of a frame for error messages (first 120 characters, lossy).
pub(crate) fn summarize(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out: String = text.chars().take(120).collect();
    if text.chars().count() > 120 {
        out.push('…');
    }
    format!("{} bytes: {out}", bytes.len())
}

/// The first string among `keys` in `obj` (numbers are accepted and rendered as strings, so an
/// id sent as `42` or `"42"` yields the same key).
pub(crate) fn str_field(obj: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match obj.get(*k) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// The first integer among `keys` (accepts JSON integers, integral floats and numeric strings).
pub(crate) fn int_field(obj: &Map<String, Value>, keys: &[&str]) -> Option<i64> {
    keys.iter().find_map(|k| match obj.get(*k) {
        Some(Value::Number(n)) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                .map(|f| f as i64)
        }),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

/// The first boolean among `keys` (accepts `true`/`false`, `"true"`/`"false"`, `0`/`1`).
pub(crate) fn bool_field(obj: &Map<String, Value>, keys: &[&str]) -> Option<bool> {
    keys.iter().find_map(|k| match obj.get(*k) {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) => match s.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        Some(Value::Number(n)) => n.as_i64().map(|i| i != 0),
        _ => None,
    })
}

/// A timestamp in Unix milliseconds from the first of `keys`: integers below 10^11 are taken as
/// seconds (the seed's `created_at: 1234567890`), larger ones as milliseconds; strings may be
/// numeric or RFC 3339 (`2025-01-20T10:00:00.123+00:00`).
pub(crate) fn timestamp_field(obj: &Map<String, Value>, keys: &[&str]) -> Option<i64> {
    keys.iter().find_map(|k| match obj.get(*k)? {
        Value::Number(n) => n.as_f64().map(epoch_number_to_ms),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .map(epoch_number_to_ms)
            .or_else(|| parse_rfc3339_ms(s)),
        _ => None,
    })
}

fn epoch_number_to_ms(n: f64) -> i64 {
    if !n.is_finite() {
        return 0;
    }
    let ms = if n.abs() < 1e11 { n * 1000.0 } else { n };
    ms.clamp(i64::MIN as f64, i64::MAX as f64) as i64
}

/// Parses an RFC 3339 / ISO 8601 date-time (`YYYY-MM-DDTHH:MM:SS[.frac][Z|±HH:MM]`, a space is
/// accepted for `T`, a missing offset means UTC) into Unix milliseconds.
pub(crate) fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = s.get(19..)?;
    let mut millis = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        let mut ms_digits: String = frac.get(..digits)?.chars().take(3).collect();
        while ms_digits.len() < 3 {
            ms_digits.push('0');
        }
        millis = ms_digits.parse().ok()?;
        rest = frac.get(digits..)?;
    }
    let offset_min = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let hm = rest.get(1..)?.replace(':', "");
            let oh: i64 = hm.get(0..2)?.parse().ok()?;
            let om: i64 = hm.get(2..4).unwrap_or("00").parse().ok()?;
            sign * (oh * 60 + om)
        }
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + se - offset_min * 60;
    Some(secs * 1000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Percent-encodes a query or path component (RFC 3986 unreserved characters pass through).
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Joins a base URL and a path with exactly one `/` between them.
pub(crate) fn join_url(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// `http(s)://` -> `ws(s)://`; a base already in `ws(s)://` is kept.
pub(crate) fn to_ws_url(base: &str) -> String {
    if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_string()
    }
}

/// `ws(s)://` -> `http(s)://`; a base already in `http(s)://` is kept.
pub(crate) fn to_http_url(base: &str) -> String {
    if let Some(rest) = base.strip_prefix("wss://") {
        format!("https://{rest}")
    } else if let Some(rest) = base.strip_prefix("ws://") {
        format!("http://{rest}")
    } else {
        base.to_string()
    }
}

/// Dialect settings as given by the app or the CLI (`--param key=value`): `tenant_id`,
/// `api_key`, `token`, `slug`, `session_id`, `agent_id`, `model`, ...
pub type Params = BTreeMap<String, String>;

/// The non-empty value of `key`, else `default`.
pub(crate) fn param(params: &Params, key: &str, default: &str) -> String {
    opt_param(params, key).unwrap_or_else(|| default.to_string())
}

/// The non-empty, trimmed value of `key`.
pub(crate) fn opt_param(params: &Params, key: &str) -> Option<String> {
    params
        .get(key)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The turn id of the `attempt`-th post of a message to a completion backend (openai, ai-sdk):
/// the client id, then `{client id}#{attempt}` for a re-send, so a retried reply is a new turn.
pub(crate) fn attempt_turn_id(client_id: crate::ids::ClientId, attempt: u32) -> String {
    if attempt <= 1 {
        client_id.to_string()
    } else {
        format!("{client_id}#{attempt}")
    }
}

/// The value of `key` as a positive number, else `default` (absent, empty, not a number or 0).
pub(crate) fn positive_param<T>(params: &Params, key: &str, default: T) -> T
where
    T: std::str::FromStr + PartialOrd + Default,
{
    opt_param(params, key)
        .and_then(|v| v.parse().ok())
        .filter(|v| *v > T::default())
        .unwrap_or(default)
}

/// A credential that never appears in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub(crate) fn new(value: String) -> Secret {
        Secret(value)
    }

    /// The credential, for building a request.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The `api_key` and `token` (bearer) params as secrets.
pub(crate) fn credentials(params: &Params) -> (Option<Secret>, Option<Secret>) {
    (
        opt_param(params, "api_key").map(Secret::new),
        opt_param(params, "token")
            .or_else(|| opt_param(params, "bearer_token"))
            .map(Secret::new),
    )
}

/// Extra headers given as `header.<Name>=<value>` params.
pub(crate) fn custom_headers(params: &Params) -> Vec<(String, String)> {
    params
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("header.")?.to_string(), v.clone())))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn fields_accept_aliases_and_loose_types() {
        let o = obj(json!({"messageId": 42, "n": "17", "f": 3.0, "b": "true", "i": 1, "e": ""}));
        assert_eq!(
            str_field(&o, &["message_id", "messageId"]).as_deref(),
            Some("42")
        );
        assert_eq!(int_field(&o, &["n"]), Some(17));
        assert_eq!(int_field(&o, &["f"]), Some(3));
        assert_eq!(bool_field(&o, &["b"]), Some(true));
        assert_eq!(bool_field(&o, &["i"]), Some(true));
        assert_eq!(str_field(&o, &["e"]), None, "empty strings count as absent");
        assert_eq!(str_field(&o, &["missing"]), None);
    }

    #[test]
    fn timestamps_in_seconds_millis_and_rfc3339() {
        let o = obj(json!({"s": 1_234_567_890, "ms": 1_763_800_000_000_i64,
            "iso": "2025-01-20T10:00:00.123456+00:00", "z": "1970-01-02T00:00:00Z",
            "off": "1970-01-01T01:00:00+01:00", "bad": "yesterday"}));
        assert_eq!(timestamp_field(&o, &["s"]), Some(1_234_567_890_000));
        assert_eq!(timestamp_field(&o, &["ms"]), Some(1_763_800_000_000));
        assert_eq!(timestamp_field(&o, &["iso"]), Some(1_737_367_200_123));
        assert_eq!(timestamp_field(&o, &["z"]), Some(86_400_000));
        assert_eq!(timestamp_field(&o, &["off"]), Some(0));
        assert_eq!(timestamp_field(&o, &["bad"]), None);
        assert_eq!(parse_rfc3339_ms("2025-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339_ms("2025-01-01T00:00:00é"), None);
    }

    #[test]
    fn urls() {
        assert_eq!(url_encode("a b/é"), "a%20b%2F%C3%A9");
        assert_eq!(join_url("http://h:1/", "/x"), "http://h:1/x");
        assert_eq!(to_ws_url("https://h/x"), "wss://h/x");
        assert_eq!(to_ws_url("http://h"), "ws://h");
        assert_eq!(to_http_url("wss://h/x"), "https://h/x");
        assert_eq!(to_http_url("ws://h"), "http://h");
        assert_eq!(to_http_url("http://h"), "http://h");
        assert_eq!(
            summarize(&[b'a'; 200]).chars().count(),
            "200 bytes: ".len() + 121
        );
        assert_eq!(summarize(&[0xff, b'a']), "2 bytes: \u{fffd}a");
    }

    #[test]
    fn positive_params_fall_back_on_anything_else() {
        let mut p = Params::new();
        for (k, v) in [
            ("a", "250"),
            ("b", "0"),
            ("c", "-3"),
            ("d", "soon"),
            ("e", " "),
        ] {
            p.insert(k.into(), v.into());
        }
        assert_eq!(positive_param(&p, "a", 9u64), 250);
        for key in ["b", "c", "d", "e", "missing"] {
            assert_eq!(positive_param(&p, key, 9u64), 9, "{key}");
        }
    }

    #[test]
    fn params_and_secrets() {
        let mut p = Params::new();
        p.insert("api_key".into(), "sk-123".into());
        p.insert("slug".into(), "  ".into());
        p.insert("header.X-Trace".into(), "1".into());
        assert_eq!(param(&p, "slug", "demo"), "demo");
        let (key, token) = credentials(&p);
        assert_eq!(key.as_ref().map(Secret::expose), Some("sk-123"));
        assert!(token.is_none());
        assert!(!format!("{key:?}").contains("sk-123"));
        assert_eq!(
            custom_headers(&p),
            vec![("X-Trace".to_string(), "1".to_string())]
        );
    }
}

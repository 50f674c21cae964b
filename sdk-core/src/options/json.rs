//! The JSON form of [`ClientOptions`]: camelCase keys, durations as integer milliseconds
//! (`connectTimeoutMs`), the overflow policy as `"dropOldest"`/`"rejectNew"`, headers as an
//! object. Every engine setting is optional on input (missing = the DESIGN §6 default) and always
//! written on output, so a round trip is lossless down to the millisecond.
//!
//! Unknown keys are refused by name before serde runs ([`BuildError::UnknownOption`]), at the
//! top level and inside `backoff`. The conversion from options to JSON destructures [`Config`]
//! and [`BackoffPolicy`] without `..`, so a new engine setting does not compile until it has a
//! JSON key here.

use super::ClientOptions;
use crate::backoff::BackoffPolicy;
use crate::config::{Config, OverflowPolicy};
use crate::dialect::{DialectKind, Params};
use crate::error::BuildError;
use crate::ids::Cursor;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// Every top-level key (checked against the serialized form by a test).
pub(super) const KEYS: &[&str] = &[
    "dialect",
    "baseUrl",
    "params",
    "headers",
    "apiKey",
    "tenant",
    "bearerToken",
    "tokenProvider",
    "seed",
    "allowInsecure",
    "backoff",
    "maxAttempts",
    "stableAfterMs",
    "connectTimeoutMs",
    "readyTimeoutMs",
    "pingIntervalMs",
    "pongTimeoutMs",
    "idleTimeoutMs",
    "ackTimeoutMs",
    "turnTimeoutMs",
    "maxRetryAfterMs",
    "queueCapacity",
    "overflow",
    "dedupCapacity",
    "typingThrottleMs",
    "maxFrameBytes",
    "lazyConnect",
    "deltaCoalesceMs",
    "resumeCursor",
    "keepRaw",
];

/// Every key of the `backoff` object.
pub(super) const BACKOFF_KEYS: &[&str] = &[
    "baseMs",
    "factor",
    "capMs",
    "jitter",
    "minDelayMs",
    "restartMaxMs",
    "rateLimitMinMs",
    "initializingMinMs",
    "networkMinMs",
];

/// Parses, refusing unknown keys and dialects by name first.
pub(super) fn from_json(json: &str) -> Result<ClientOptions, BuildError> {
    let invalid = |e: serde_json::Error| BuildError::InvalidJson(e.to_string());
    // A first pass over the keys only (values skipped), so the error can name the key.
    // `serde_json::Map` rather than a map of `IgnoredAny`: one B-tree type less in the wasm build.
    let top: serde_json::Map<String, Value> = serde_json::from_str(json).map_err(invalid)?;
    if let Some(key) = top.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(BuildError::UnknownOption(key.clone()));
    }
    let probe: Probe = serde_json::from_str(json).map_err(invalid)?;
    if let Some(Value::Object(backoff)) = &probe.backoff {
        if let Some(key) = backoff.keys().find(|k| !BACKOFF_KEYS.contains(&k.as_str())) {
            return Err(BuildError::UnknownOption(format!("backoff.{key}")));
        }
    }
    if let Some(Value::String(name)) = &probe.dialect {
        name.parse::<DialectKind>()?;
    }
    // Parsed from the text (not from a `Value`) so headers keep their document order.
    serde_json::from_str::<Wire>(json)
        .map(ClientOptions::from)
        .map_err(invalid)
}

/// The two values looked at before the typed parse.
#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    dialect: Option<Value>,
    #[serde(default)]
    backoff: Option<Value>,
}

/// Writes the JSON form.
pub(super) fn to_json(options: &ClientOptions) -> String {
    // Serializing strings, numbers, booleans and string maps cannot fail.
    serde_json::to_string(&Wire::from(options.clone())).unwrap_or_default()
}

/// The serde shape of [`ClientOptions`].
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct Wire {
    dialect: DialectKind,
    base_url: String,
    #[serde(default)]
    params: Params,
    #[serde(default, with = "header_map")]
    headers: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    api_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tenant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bearer_token: Option<String>,
    #[serde(default)]
    token_provider: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
    #[serde(default)]
    allow_insecure: bool,
    #[serde(default)]
    backoff: BackoffWire,
    max_attempts: Option<u32>,
    stable_after_ms: Option<u64>,
    connect_timeout_ms: Option<u64>,
    ready_timeout_ms: Option<u64>,
    ping_interval_ms: Option<u64>,
    pong_timeout_ms: Option<u64>,
    idle_timeout_ms: Option<u64>,
    ack_timeout_ms: Option<u64>,
    turn_timeout_ms: Option<u64>,
    max_retry_after_ms: Option<u64>,
    queue_capacity: Option<usize>,
    overflow: Option<OverflowWire>,
    dedup_capacity: Option<usize>,
    typing_throttle_ms: Option<u64>,
    max_frame_bytes: Option<usize>,
    lazy_connect: Option<bool>,
    delta_coalesce_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resume_cursor: Option<String>,
    keep_raw: Option<bool>,
}

/// The serde shape of [`BackoffPolicy`].
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BackoffWire {
    base_ms: Option<u64>,
    factor: Option<u32>,
    cap_ms: Option<u64>,
    jitter: Option<f64>,
    min_delay_ms: Option<u64>,
    restart_max_ms: Option<u64>,
    rate_limit_min_ms: Option<u64>,
    initializing_min_ms: Option<u64>,
    network_min_ms: Option<u64>,
}

/// The serde shape of [`OverflowPolicy`].
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum OverflowWire {
    DropOldest,
    RejectNew,
}

impl From<Wire> for ClientOptions {
    fn from(w: Wire) -> ClientOptions {
        let mut c = Config::default();
        let set_ms = |target: &mut Duration, ms: Option<u64>| {
            if let Some(ms) = ms {
                *target = Duration::from_millis(ms);
            }
        };
        let b = &mut c.backoff;
        set_ms(&mut b.base, w.backoff.base_ms);
        set_ms(&mut b.cap, w.backoff.cap_ms);
        set_ms(&mut b.min_delay, w.backoff.min_delay_ms);
        set_ms(&mut b.restart_max, w.backoff.restart_max_ms);
        set_ms(&mut b.rate_limit_min, w.backoff.rate_limit_min_ms);
        set_ms(&mut b.initializing_min, w.backoff.initializing_min_ms);
        set_ms(&mut b.network_min, w.backoff.network_min_ms);
        b.factor = w.backoff.factor.unwrap_or(b.factor);
        b.jitter = w.backoff.jitter.unwrap_or(b.jitter);
        c.max_attempts = w.max_attempts.unwrap_or(c.max_attempts);
        set_ms(&mut c.stable_after, w.stable_after_ms);
        set_ms(&mut c.max_retry_after, w.max_retry_after_ms);
        set_ms(&mut c.connect_timeout, w.connect_timeout_ms);
        set_ms(&mut c.ready_timeout, w.ready_timeout_ms);
        set_ms(&mut c.ping_interval, w.ping_interval_ms);
        set_ms(&mut c.pong_timeout, w.pong_timeout_ms);
        set_ms(&mut c.idle_timeout, w.idle_timeout_ms);
        set_ms(&mut c.ack_timeout, w.ack_timeout_ms);
        set_ms(&mut c.turn_timeout, w.turn_timeout_ms);
        set_ms(&mut c.stable_after, w.stable_after_ms);
        set_ms(&mut c.max_retry_after, w.max_retry_after_ms);
        set_ms(&mut c.typing_throttle, w.typing_throttle_ms);
        set_ms(&mut c.delta_coalesce, w.delta_coalesce_ms);
        c.queue_capacity = w.queue_capacity.unwrap_or(c.queue_capacity);
        c.dedup_capacity = w.dedup_capacity.unwrap_or(c.dedup_capacity);
        c.max_frame_bytes = w.max_frame_bytes.unwrap_or(c.max_frame_bytes);
        c.lazy_connect = w.lazy_connect.unwrap_or(c.lazy_connect);
        c.keep_raw = w.keep_raw.unwrap_or(c.keep_raw);
        c.resume_cursor = w.resume_cursor.map(Cursor::new);
        if let Some(overflow) = w.overflow {
            c.overflow = match overflow {
                OverflowWire::DropOldest => OverflowPolicy::DropOldest,
                OverflowWire::RejectNew => OverflowPolicy::RejectNew,
            };
        }
        ClientOptions {
            dialect: w.dialect,
            base_url: w.base_url,
            params: w.params,
            headers: w.headers,
            api_key: w.api_key,
            tenant: w.tenant,
            bearer_token: w.bearer_token,
            token_provider: w.token_provider,
            config: c,
            seed: w.seed,
            allow_insecure: w.allow_insecure,
        }
    }
}

impl From<ClientOptions> for Wire {
    fn from(o: ClientOptions) -> Wire {
        // No `..`: a new Config or BackoffPolicy field must get a JSON key before this compiles.
        let Config {
            seed: _,
            unix_ms_at_epoch: _,
            backoff,
            max_attempts,
            stable_after,
            connect_timeout,
            ready_timeout,
            ping_interval,
            pong_timeout,
            idle_timeout,
            ack_timeout,
            turn_timeout,
            max_retry_after,
            queue_capacity,
            overflow,
            dedup_capacity,
            typing_throttle,
            max_frame_bytes,
            lazy_connect,
            delta_coalesce,
            resume_cursor,
            keep_raw,
        } = o.config;
        let BackoffPolicy {
            base,
            factor,
            cap,
            jitter,
            min_delay,
            restart_max,
            rate_limit_min,
            initializing_min,
            network_min,
        } = backoff;
        Wire {
            dialect: o.dialect,
            base_url: o.base_url,
            params: o.params,
            headers: o.headers,
            api_key: o.api_key,
            tenant: o.tenant,
            bearer_token: o.bearer_token,
            token_provider: o.token_provider,
            seed: o.seed,
            allow_insecure: o.allow_insecure,
            backoff: BackoffWire {
                base_ms: ms(base),
                factor: Some(factor),
                cap_ms: ms(cap),
                jitter: Some(jitter),
                min_delay_ms: ms(min_delay),
                restart_max_ms: ms(restart_max),
                rate_limit_min_ms: ms(rate_limit_min),
                initializing_min_ms: ms(initializing_min),
                network_min_ms: ms(network_min),
            },
            max_attempts: Some(max_attempts),
            stable_after_ms: ms(stable_after),
            connect_timeout_ms: ms(connect_timeout),
            ready_timeout_ms: ms(ready_timeout),
            ping_interval_ms: ms(ping_interval),
            pong_timeout_ms: ms(pong_timeout),
            idle_timeout_ms: ms(idle_timeout),
            ack_timeout_ms: ms(ack_timeout),
            turn_timeout_ms: ms(turn_timeout),
            max_retry_after_ms: ms(max_retry_after),
            queue_capacity: Some(queue_capacity),
            overflow: Some(match overflow {
                OverflowPolicy::RejectNew => OverflowWire::RejectNew,
                // DropOldest, and any policy added later until it gets a JSON name.
                _ => OverflowWire::DropOldest,
            }),
            dedup_capacity: Some(dedup_capacity),
            typing_throttle_ms: ms(typing_throttle),
            max_frame_bytes: Some(max_frame_bytes),
            lazy_connect: Some(lazy_connect),
            delta_coalesce_ms: ms(delta_coalesce),
            resume_cursor: resume_cursor.map(|c| c.as_str().to_string()),
            keep_raw: Some(keep_raw),
        }
    }
}

/// Whole milliseconds, saturating (sub-millisecond parts are dropped).
fn ms(d: Duration) -> Option<u64> {
    Some(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Headers as a JSON object, in document order (a `Vec` keeps repeated names).
mod header_map {
    use serde::de::{MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserializer, Serializer};
    use std::fmt;

    pub(super) fn serialize<S: Serializer>(
        headers: &[(String, String)],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(headers.len()))?;
        for (name, value) in headers {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<(String, String)>, D::Error> {
        struct Headers;
        impl<'de> Visitor<'de> for Headers {
            type Value = Vec<(String, String)>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of header names to string values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut headers = Vec::new();
                while let Some(entry) = map.next_entry::<String, String>()? {
                    headers.push(entry);
                }
                Ok(headers)
            }
        }
        deserializer.deserialize_map(Headers)
    }
}

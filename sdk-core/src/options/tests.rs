use super::*;
use crate::ConfigError;
use crate::config::OverflowPolicy;
use crate::ids::Cursor;
use std::time::Duration;

const ACCEPTANCE: &str = r#"{"dialect":"openai","baseUrl":"http://127.0.0.1:9","params":{"model":"m"},"bearerToken":"s3cret"}"#;

/// Options with every field away from its default.
fn everything() -> ClientOptions {
    let mut o = ClientOptions::new(DialectKind::Miptech, "https://chat.example.com/api");
    o.params.insert("title".into(), "t".into());
    o.params.insert("header.X-Extra".into(), "e".into());
    o.headers = vec![("X-B".into(), "2".into()), ("X-A".into(), "1".into())];
    o.api_key = Some("k".into());
    o.tenant = Some("acme".into());
    o.bearer_token = Some("tok".into());
    o.token_provider = true;
    o.seed = Some(42);
    o.allow_insecure = true;
    let c = &mut o.config;
    c.backoff.base = Duration::from_millis(500);
    c.backoff.factor = 3;
    c.backoff.cap = Duration::from_secs(9);
    c.backoff.jitter = 0.5;
    c.backoff.min_delay = Duration::from_millis(2);
    c.backoff.restart_max = Duration::from_secs(4);
    c.backoff.rate_limit_min = Duration::from_secs(6);
    c.backoff.initializing_min = Duration::from_secs(7);
    c.backoff.network_min = Duration::from_secs(8);
    c.max_attempts = 4;
    c.connect_timeout = Duration::from_millis(1100);
    c.ready_timeout = Duration::from_millis(1200);
    c.ping_interval = Duration::from_millis(1300);
    c.pong_timeout = Duration::from_millis(1400);
    c.idle_timeout = Duration::from_millis(1500);
    c.ack_timeout = Duration::from_millis(1600);
    c.turn_timeout = Duration::from_millis(1700);
    c.queue_capacity = 5;
    c.overflow = OverflowPolicy::RejectNew;
    c.dedup_capacity = 6;
    c.typing_throttle = Duration::from_millis(1800);
    c.max_frame_bytes = 4096;
    c.lazy_connect = false;
    c.delta_coalesce = Duration::from_millis(30);
    c.resume_cursor = Some(Cursor::new("17"));
    c.keep_raw = false;
    o
}

#[test]
fn the_acceptance_json_parses_redacts_and_refuses_a_remote_clear_text_url() {
    let options = ClientOptions::from_json(ACCEPTANCE).unwrap();
    assert_eq!(options.validate(), Ok(()));
    assert_eq!(options.dialect, DialectKind::Openai);
    assert_eq!(options.token(), Some("s3cret"));
    let debug = format!("{options:?}");
    assert!(!debug.contains("s3cret"), "{debug}");
    assert!(debug.contains("\"model\": \"m\""), "{debug}");
    let remote = ACCEPTANCE.replace("http://127.0.0.1:9", "http://example.com");
    let options = ClientOptions::from_json(&remote).unwrap();
    assert_eq!(
        options.validate(),
        Err(BuildError::Insecure {
            scheme: "http".into(),
            host: "example.com".into()
        })
    );
    assert_eq!(
        options.validate().unwrap_err().code(),
        crate::ErrorCode::InvalidConfig
    );
    assert!(matches!(
        options.dialect_codec(),
        Err(BuildError::Insecure { .. })
    ));
}

#[test]
fn missing_keys_take_the_design_defaults() {
    let parsed =
        ClientOptions::from_json(r#"{"dialect":"chat_v2","baseUrl":"http://localhost:1"}"#)
            .unwrap();
    assert_eq!(
        parsed,
        ClientOptions::new(DialectKind::ChatV2, "http://localhost:1")
    );
    assert_eq!(parsed.config, Config::default());
    assert_eq!(parsed.config.queue_capacity, 50);
    assert_eq!(parsed.config.dedup_capacity, 1024);
    assert_eq!(parsed.config.turn_timeout, Duration::from_secs(30));
    assert!(parsed.lazy_connect());
    assert_eq!(parsed.max_frame_bytes(), 1 << 20);
}

#[test]
fn every_field_survives_a_json_round_trip() {
    let options = everything();
    let json = options.to_json();
    assert_eq!(ClientOptions::from_json(&json), Ok(options.clone()));
    let via_serde: ClientOptions = serde_json::from_str(&json).unwrap();
    assert_eq!(via_serde, options);
    assert!(
        json.contains(r#""headers":{"X-B":"2","X-A":"1"}"#),
        "{json}"
    );
    assert!(json.contains(r#""overflow":"rejectNew""#), "{json}");
    assert!(json.contains(r#""connectTimeoutMs":1100"#), "{json}");
    assert_eq!(options.validate(), Ok(()));
}

#[test]
fn the_key_lists_match_the_serialized_form() {
    let value = serde_json::to_value(everything()).unwrap();
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    let mut expected = json::KEYS.to_vec();
    keys.sort_unstable();
    expected.sort_unstable();
    assert_eq!(keys, expected);
    let backoff = value["backoff"].as_object().unwrap();
    let mut keys: Vec<&str> = backoff.keys().map(|k| k.as_str()).collect();
    let mut expected = json::BACKOFF_KEYS.to_vec();
    keys.sort_unstable();
    expected.sort_unstable();
    assert_eq!(keys, expected);
}

#[test]
fn unknown_keys_and_dialects_are_named() {
    let err = ClientOptions::from_json(r#"{"dialect":"openai","baseUrl":"x","timeoutMs":5}"#);
    assert_eq!(err, Err(BuildError::UnknownOption("timeoutMs".into())));
    let err = ClientOptions::from_json(
        r#"{"dialect":"openai","baseUrl":"x","backoff":{"baseMs":5,"maxMs":9}}"#,
    );
    assert_eq!(err, Err(BuildError::UnknownOption("backoff.maxMs".into())));
    let err = ClientOptions::from_json(r#"{"dialect":"gopher","baseUrl":"x"}"#).unwrap_err();
    assert!(matches!(&err, BuildError::UnknownDialect(e) if e.name == "gopher"));
    assert!(err.to_string().contains("chat-interfaces"));
}

#[test]
fn malformed_json_and_wrong_types_are_invalid_json() {
    for bad in [
        "",
        "[]",
        "{",
        r#"{"baseUrl":"http://localhost"}"#,
        r#"{"dialect":"native"}"#,
        r#"{"dialect":3,"baseUrl":"x"}"#,
        r#"{"dialect":"native","baseUrl":"x","queueCapacity":-1}"#,
        r#"{"dialect":"native","baseUrl":"x","overflow":"dropNewest"}"#,
        r#"{"dialect":"native","baseUrl":"x","headers":{"X":1}}"#,
        r#"{"dialect":"native","baseUrl":"x","backoff":7}"#,
        r#"{"dialect":"native","baseUrl":"x","params":{"conversation_id":null}}"#,
    ] {
        let err = ClientOptions::from_json(bad).unwrap_err();
        assert!(matches!(err, BuildError::InvalidJson(_)), "{bad}: {err:?}");
    }
}

#[test]
fn zero_limits_unknown_params_and_conflicts_are_refused() {
    let base = || ClientOptions::new(DialectKind::Openai, "https://llm.example");
    let mut o = base();
    o.config.queue_capacity = 0;
    assert_eq!(
        o.validate(),
        Err(BuildError::Config(ConfigError::ZeroCapacity(
            "queue_capacity"
        )))
    );
    let o = ClientOptions::from_json(
        r#"{"dialect":"openai","baseUrl":"https://llm.example","connectTimeoutMs":0}"#,
    )
    .unwrap();
    assert_eq!(
        o.validate(),
        Err(BuildError::Config(ConfigError::ZeroDuration(
            "connect_timeout"
        )))
    );
    let mut o = base();
    o.params.insert("slug".into(), "demo".into());
    let err = o.validate().unwrap_err();
    assert_eq!(
        err,
        BuildError::UnknownParam {
            dialect: DialectKind::Openai,
            param: "slug".into()
        }
    );
    assert!(err.to_string().contains("model"), "{err}");
    let mut o = base();
    o.tenant = Some("acme".into());
    assert!(
        matches!(o.validate(), Err(BuildError::UnknownParam { param, .. }) if param == "tenant_id")
    );
    let mut o = base();
    o.bearer_token = Some("a".into());
    o.params.insert("bearer_token".into(), "b".into());
    assert_eq!(
        o.validate(),
        Err(BuildError::Conflict {
            option: "bearerToken",
            param: "bearer_token"
        })
    );
    o.params.insert("bearer_token".into(), "a".into());
    assert_eq!(o.validate(), Ok(()));
    let mut o = base();
    o.headers.push(("X-A".into(), "1\r\nX-Evil: 2".into()));
    assert_eq!(o.validate(), Err(BuildError::InvalidHeader("X-A".into())));
    let o = ClientOptions::new(DialectKind::Openai, "gopher://llm.example");
    assert_eq!(
        o.validate(),
        Err(BuildError::UnsupportedScheme("gopher".into()))
    );
}

#[test]
fn engine_config_and_codec_follow_the_options() {
    let mut o = everything();
    let config = o.engine_config();
    assert_eq!(config.seed, 42);
    assert_eq!(config.queue_capacity, 5);
    o.seed = None;
    assert_eq!(o.engine_config().seed, 0);
    let codec = o.dialect_codec().unwrap();
    assert_eq!(codec.name(), "miptech");
    let params = o.codec_params().unwrap();
    assert_eq!(params.get("api_key").map(String::as_str), Some("k"));
    assert_eq!(params.get("tenant_id").map(String::as_str), Some("acme"));
    assert_eq!(params.get("token").map(String::as_str), Some("tok"));
    assert_eq!(o.checked_url(), Ok("https://chat.example.com/api".into()));
}

#[test]
fn debug_hides_every_credential() {
    let mut o = everything();
    o.base_url = "https://user:pw-1@chat.example.com/api?key=q-2".into();
    o.api_key = Some("key-3".into());
    o.bearer_token = Some("tok-4".into());
    o.params.insert("session_token".into(), "st-5".into());
    o.params
        .insert("header.Authorization".into(), "hd-6".into());
    o.headers.push(("X-Api-Key".into(), "hv-7".into()));
    let text = format!("{o:?}");
    for secret in ["pw-1", "q-2", "key-3", "tok-4", "st-5", "hd-6", "hv-7"] {
        assert!(!text.contains(secret), "{secret} leaked in {text}");
    }
    assert!(text.contains("acme") && text.contains("X-Api-Key") && text.contains("title"));
}

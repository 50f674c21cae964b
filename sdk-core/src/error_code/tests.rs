use super::*;
use crate::dialect::DialectKind;
use crate::{ConfigError, Instant};
use std::collections::BTreeSet;

#[test]
fn names_are_unique_screaming_snake_and_round_trip() {
    let names: BTreeSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(names.len(), ErrorCode::ALL.len());
    for code in ErrorCode::ALL.iter().copied() {
        let name = code.as_str();
        assert!(!name.is_empty() && !name.starts_with('_') && !name.ends_with('_'));
        assert!(
            name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
            "{name}"
        );
        assert!(!name.contains("__"), "{name}");
        assert_eq!(ErrorCode::from_name(name), Some(code));
        assert_eq!(code.to_string(), name);
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, format!("\"{name}\""));
        assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
    }
    assert_eq!(ErrorCode::from_name("closed"), None);
    assert!(serde_json::from_str::<ErrorCode>("\"NOPE\"").is_err());
}

#[test]
fn the_issue_names_are_all_present() {
    for name in [
        "CLOSED",
        "QUEUE_FULL",
        "TOO_LARGE",
        "UNSUPPORTED",
        "INVALID_CONFIG",
        "INVALID_INPUT",
        "DELIVERY_FAILED",
        "AUTH",
        "NETWORK",
        "PROTOCOL",
        "INTERNAL",
    ] {
        assert!(ErrorCode::from_name(name).is_some(), "{name}");
    }
}

#[test]
fn only_transient_categories_are_retryable() {
    let retryable: Vec<&str> = ErrorCode::ALL
        .iter()
        .filter(|c| c.retryable())
        .map(|c| c.as_str())
        .collect();
    assert_eq!(
        retryable,
        ["QUEUE_FULL", "NETWORK", "RATE_LIMITED", "SERVER"]
    );
}

#[test]
fn every_engine_error_maps_to_its_code() {
    let cases = [
        (EngineError::Closed, ErrorCode::Closed),
        (
            EngineError::TimeWentBackwards {
                now: Instant::ZERO,
                last: Instant::ZERO,
            },
            ErrorCode::InvalidInput,
        ),
        (EngineError::QueueFull { capacity: 1 }, ErrorCode::QueueFull),
        (
            EngineError::AlreadySent { client_id: id() },
            ErrorCode::AlreadySent,
        ),
        (
            EngineError::UnknownMessage { client_id: id() },
            ErrorCode::NotFound,
        ),
        (
            EngineError::Unsupported {
                dialect: "openai",
                what: "audio",
            },
            ErrorCode::Unsupported,
        ),
        (
            EngineError::TooLarge { size: 2, limit: 1 },
            ErrorCode::TooLarge,
        ),
    ];
    for (error, code) in cases {
        assert_eq!(error.code(), code, "{error}");
    }
}

#[test]
fn every_config_and_dialect_error_maps_to_its_code() {
    for error in [
        ConfigError::ZeroDuration("x"),
        ConfigError::ZeroCapacity("y"),
        ConfigError::Backoff,
    ] {
        assert_eq!(error.code(), ErrorCode::InvalidConfig);
    }
    assert_eq!(
        DialectError::Unsupported("typing").code(),
        ErrorCode::Unsupported
    );
    assert_eq!(DialectError::NotConnected.code(), ErrorCode::Network);
    assert_eq!(
        DialectError::Invalid("x".into()).code(),
        ErrorCode::InvalidInput
    );
}

#[test]
fn every_build_error_maps_to_its_code() {
    let config = [
        BuildError::InvalidUrl("x".into()),
        BuildError::UnsupportedScheme("ftp".into()),
        BuildError::Insecure {
            scheme: "http".into(),
            host: "h".into(),
        },
        BuildError::Config(ConfigError::Backoff),
        BuildError::UnknownDialect("gopher".parse::<DialectKind>().unwrap_err()),
        BuildError::UnknownParam {
            dialect: DialectKind::Native,
            param: "slug".into(),
        },
        BuildError::Conflict {
            option: "apiKey",
            param: "api_key",
        },
        BuildError::InvalidHeader("X Y".into()),
        BuildError::UnknownOption("colour".into()),
        BuildError::InvalidJson("eof".into()),
        BuildError::TokenProviderMissing,
    ];
    for error in config {
        assert_eq!(error.code(), ErrorCode::InvalidConfig, "{error}");
    }
    assert_eq!(
        BuildError::DialectUnavailable(DialectKind::Openai).code(),
        ErrorCode::Unsupported
    );
    assert_eq!(
        BuildError::Runtime("no runtime".into()).code(),
        ErrorCode::Internal
    );
}

#[test]
fn every_error_event_kind_maps_to_its_code() {
    let cases = [
        (ErrorKind::Network, "NETWORK"),
        (ErrorKind::Auth, "AUTH"),
        (ErrorKind::Protocol, "PROTOCOL"),
        (ErrorKind::RateLimited, "RATE_LIMITED"),
        (ErrorKind::Server, "SERVER"),
        (ErrorKind::InvalidInput, "INVALID_INPUT"),
        (ErrorKind::Other, "OTHER"),
    ];
    for (kind, name) in cases {
        assert_eq!(kind.code().as_str(), name, "{kind:?}");
    }
}

#[cfg(feature = "tokio")]
#[test]
fn every_client_error_maps_to_its_code() {
    use crate::client::ClientError;
    use crate::event::FailReason;
    let cases = [
        (ClientError::Closed, ErrorCode::Closed),
        (ClientError::QueueFull { capacity: 1 }, ErrorCode::QueueFull),
        (
            ClientError::TooLarge { size: 2, limit: 1 },
            ErrorCode::TooLarge,
        ),
        (
            ClientError::Unsupported {
                dialect: "openai",
                what: "audio",
            },
            ErrorCode::Unsupported,
        ),
        (
            ClientError::DeliveryFailed(FailReason::Rejected),
            ErrorCode::DeliveryFailed,
        ),
        (ClientError::Internal("bug".into()), ErrorCode::Internal),
        (
            ClientError::AlreadySent { client_id: id() },
            ErrorCode::AlreadySent,
        ),
        (
            ClientError::UnknownMessage { client_id: id() },
            ErrorCode::NotFound,
        ),
    ];
    for (error, code) in cases {
        assert_eq!(error.code(), code, "{error}");
    }
    // Engine errors keep their code through the conversion the client applies.
    let converted = ClientError::from(EngineError::QueueFull { capacity: 3 });
    assert_eq!(
        converted.code(),
        EngineError::QueueFull { capacity: 3 }.code()
    );
}

fn id() -> crate::ids::ClientId {
    crate::ids::ClientId::from_parts(1, [1; 10])
}

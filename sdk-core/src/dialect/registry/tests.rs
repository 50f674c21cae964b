use super::*;
use std::collections::BTreeSet;

#[test]
fn names_round_trip_and_aliases_parse() {
    for kind in DialectKind::ALL {
        assert_eq!(kind.name().parse::<DialectKind>(), Ok(kind));
        assert_eq!(kind.to_string(), kind.name());
    }
    assert_eq!("Chat_V2".parse::<DialectKind>(), Ok(DialectKind::ChatV2));
    assert_eq!(" OPENAI ".parse::<DialectKind>(), Ok(DialectKind::Openai));
    let err = "soap".parse::<DialectKind>().unwrap_err();
    assert_eq!(err.name, "soap");
    let message = err.to_string();
    for name in DialectKind::names() {
        assert!(message.contains(name), "{name} missing from {message}");
    }
}

#[test]
fn the_table_has_one_row_per_variant_in_order_with_unique_names() {
    assert_eq!(DialectKind::ALL.len(), ROWS.len());
    for (i, kind) in DialectKind::ALL.into_iter().enumerate() {
        assert_eq!(ROWS[i].kind, kind);
        assert_eq!(kind.row().kind, kind);
    }
    let names: BTreeSet<_> = DialectKind::names().into_iter().collect();
    assert_eq!(names.len(), DialectKind::ALL.len());
    assert_eq!(DialectKind::ALL[0], DialectKind::Native);
}

#[test]
fn every_codec_carries_its_row_name() {
    for kind in DialectKind::ALL {
        let codec = kind.codec("http://127.0.0.1:1", &Params::new(), 7);
        assert_eq!(codec.name(), kind.name());
    }
}

#[test]
fn capabilities_come_from_each_codec() {
    let caps = |k: DialectKind| k.capabilities();
    assert!(caps(DialectKind::Native).resume && caps(DialectKind::Native).typing);
    assert!(caps(DialectKind::Miptech).typing);
    assert!(caps(DialectKind::ChatV2).audio && caps(DialectKind::ChatV2).resume);
    assert!(caps(DialectKind::ChatInterfaces).resume);
    assert!(caps(DialectKind::Parlant).resume);
    assert!(!caps(DialectKind::Openai).resume && !caps(DialectKind::Openai).audio);
    for kind in DialectKind::ALL {
        assert!(caps(kind).acks && caps(kind).tools, "{kind}");
    }
}

#[test]
fn header_params_need_a_name_after_the_prefix() {
    assert!(DialectKind::Openai.accepts_param("header.X-Org"));
    assert!(!DialectKind::Openai.accepts_param("header."));
    assert!(!DialectKind::Openai.accepts_param("headers"));
    assert!(!DialectKind::Openai.accepts_param("slug"));
    assert!(DialectKind::Native.accepts_param("conversation_id"));
    assert!(!DialectKind::Native.accepts_param("api_key"));
}

/// The params listed in the table are exactly the ones each codec reads: the codec's sources
/// are scanned for `param(params, "<name>"`, `credentials(params)` (api_key, token,
/// bearer_token) and `custom_headers(params)` (header.*).
#[test]
fn listed_params_are_the_ones_the_codecs_read() {
    let folders = [
        (DialectKind::Miptech, "miptech"),
        (DialectKind::ChatV2, "chat_v2"),
        (DialectKind::ChatInterfaces, "chat_interfaces"),
        (DialectKind::Parlant, "parlant"),
        (DialectKind::Openai, "openai"),
    ];
    for (kind, folder) in folders {
        let dir = format!("{}/src/dialect/{folder}", env!("CARGO_MANIFEST_DIR"));
        let mut source = String::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") {
                source.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
        let mut read = BTreeSet::new();
        for piece in source.split("param(params, \"").skip(1) {
            read.insert(piece.split('"').next().unwrap().to_string());
        }
        if source.contains("credentials(params)") {
            read.extend(["api_key", "token", "bearer_token"].map(String::from));
        }
        if source.contains("custom_headers(params)") {
            read.insert("header.*".into());
        }
        let listed: BTreeSet<String> = kind.params().iter().map(|p| p.to_string()).collect();
        assert_eq!(listed, read, "params of {kind}");
    }
    // The native codec is built in registry.rs: its conversation id reaches the hello frame.
    let mut params = Params::new();
    params.insert("conversation_id".into(), "support-42".into());
    let mut codec = DialectKind::Native.codec("http://127.0.0.1:1", &params, 7);
    let mut out = crate::dialect::Actions::new(1);
    codec.connect(&crate::dialect::ConnectContext::new(1, None), &mut out);
    codec.on_transport(
        crate::dialect::TransportEvent::SocketOpened {
            conn: crate::ConnId(1),
        },
        &mut out,
    );
    let hello = format!("{:?}", out.take());
    assert!(hello.contains("support-42"), "{hello}");
}

#[test]
fn serde_uses_the_canonical_name() {
    let json = serde_json::to_string(&DialectKind::ChatInterfaces).unwrap();
    assert_eq!(json, "\"chat-interfaces\"");
    let back: DialectKind = serde_json::from_str("\"chat_v2\"").unwrap();
    assert_eq!(back, DialectKind::ChatV2);
    let err = serde_json::from_str::<DialectKind>("\"gopher\"").unwrap_err();
    assert!(err.to_string().contains("unknown dialect"));
}

#[test]
fn every_row_names_its_feature_and_this_build_holds_every_dialect() {
    for kind in DialectKind::ALL {
        assert_eq!(kind.feature(), format!("dialect-{}", kind.name()));
        assert!(kind.is_available(), "{kind}");
    }
    assert_eq!(DialectKind::available(), DialectKind::ALL.to_vec());
}

#[test]
fn a_compiled_out_dialect_fails_fatally_naming_its_feature() {
    let mut codec = Unavailable(DialectKind::Parlant);
    assert_eq!(codec.name(), "parlant");
    assert_eq!(codec.capabilities(), Capabilities::none());
    let mut out = Actions::new(1);
    codec.connect(&ConnectContext::new(1, None), &mut out);
    let actions = out.take();
    let [super::super::Action::Fail(failure)] = actions.as_slice() else {
        panic!("expected one failure, got {actions:?}");
    };
    assert_eq!(failure.kind, FailureKind::Fatal);
    assert!(
        failure.message.contains("cargo feature dialect-parlant"),
        "{failure:?}"
    );
    let err = BuildError::DialectUnavailable(DialectKind::Parlant);
    assert_eq!(err.code(), crate::ErrorCode::Unsupported);
}

//! The mock server serves exactly the client's dialects, under the names of the client's one
//! dialect registry (`chatwire::DialectKind`): a dialect added on one side only fails here.

use chatwire::DialectKind;
use std::collections::BTreeSet;

#[test]
fn the_mock_serves_every_registry_dialect_under_the_same_name() {
    let client: BTreeSet<&str> = DialectKind::ALL.iter().map(|k| k.name()).collect();
    let mock: BTreeSet<&str> = chatwire_mock::Dialect::ALL
        .iter()
        .map(|d| d.as_str())
        .collect();
    assert_eq!(client, mock);
    for kind in DialectKind::ALL {
        let served = chatwire_mock::Dialect::from_name(kind.name());
        assert_eq!(served.map(|d| d.to_string()), Some(kind.to_string()));
    }
}

#[test]
fn every_registry_name_is_accepted_in_mock_fault_specs() {
    for kind in DialectKind::ALL {
        let json = format!(r#"{{"dialect":"{kind}","drop_after_frames":1}}"#);
        let spec: chatwire_mock::FaultSpec = serde_json::from_str(&json).unwrap();
        assert_eq!(spec.validate(), Ok(()), "{kind}");
    }
}

//! The JSON Schema beside the corpus (`tests/scenarios/scenario.schema.json`) and the parser
//! agree: every step the schema allows parses, with exactly the fields the schema requires, and
//! every scenario file names only steps the schema lists; the corpus covers all six dialects.

#![allow(clippy::unwrap_used)] // tests may unwrap

use chatwire_scenario::{Step, scenario_dir};
use serde_json::{Value, json};
use std::collections::BTreeSet;

fn schema() -> Value {
    let text = std::fs::read_to_string(scenario_dir().join("scenario.schema.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn dummy(property: &Value) -> Value {
    match property["type"].as_str() {
        Some("string") => json!("X"),
        Some("integer") => json!(1),
        Some("boolean") => json!(true),
        _ => json!({}),
    }
}

#[test]
fn every_step_of_the_schema_parses_with_its_required_fields() {
    let schema = schema();
    let steps = schema["properties"]["steps"]["items"]["oneOf"]
        .as_array()
        .unwrap();
    assert!(steps.len() >= 15, "every step kind is in the schema");
    for step in steps {
        let op = step["properties"]["op"]["const"].as_str().unwrap();
        let mut value = json!({"op": op});
        for field in step["required"].as_array().unwrap() {
            let name = field.as_str().unwrap();
            if name != "op" {
                value[name] = dummy(&step["properties"][name]);
            }
        }
        let parsed = serde_json::from_value::<Step>(value.clone());
        assert!(parsed.is_ok(), "{op}: {value} does not parse: {parsed:?}");
        value["notAField"] = json!(1);
        assert!(
            serde_json::from_value::<Step>(value).is_err(),
            "{op}: unknown keys are refused"
        );
    }
}

#[test]
fn every_scenario_uses_only_steps_the_schema_lists() {
    let schema = schema();
    let ops: BTreeSet<String> = schema["properties"]["steps"]["items"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["properties"]["op"]["const"].as_str().unwrap().to_string())
        .collect();
    let mut files = 0;
    let mut dialects = BTreeSet::new();
    for entry in std::fs::read_dir(scenario_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.to_string_lossy().to_string();
        if !name.ends_with(".json") || name.ends_with(".schema.json") {
            continue;
        }
        files += 1;
        let scenario: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        dialects.insert(scenario["options"]["dialect"].as_str().unwrap().to_string());
        for step in scenario["steps"].as_array().unwrap() {
            let op = step["op"].as_str().unwrap();
            assert!(ops.contains(op), "{name}: step {op} is not in the schema");
        }
    }
    assert!(
        files >= 48,
        "the corpus has at least 48 scenarios, found {files}"
    );
}

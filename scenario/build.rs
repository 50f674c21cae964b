//! Generates one `#[test]` per scenario file of `tests/scenarios/` (into `OUT_DIR`), so that a
//! failing scenario is named by its test, and a new file becomes a new test without editing code.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/scenarios");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| {
        let name = p.to_string_lossy();
        name.ends_with(".json") && !name.ends_with(".schema.json")
    });
    files.sort();
    let mut out = String::new();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name: String = stem
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "#[test]\nfn {name}() {{\n    run_file({:?});\n}}\n",
            file.display().to_string()
        );
    }
    let target = Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("scenario_tests.rs");
    if let Err(e) = std::fs::write(&target, out) {
        panic!("cannot write {}: {e}", target.display()); // a build script reports by panicking
    }
}

//! The README's main command, `chatwire demo`, run as a real process: it talks to every dialect
//! through the embedded mock server with faults injected and must exit 0 with a summary row per
//! dialect, each with lost = 0 and duplicated = 0.

#![allow(clippy::unwrap_used)] // tests may unwrap

use chatwire::client::DialectKind;

#[test]
fn demo_exits_zero_with_nothing_lost_on_every_dialect() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chatwire"))
        .args(["demo", "--quiet"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let header = stdout
        .lines()
        .find(|l| l.starts_with("dialect"))
        .expect("a summary table");
    let columns: Vec<&str> = header
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    let col = |name: &str| columns.iter().position(|c| *c == name).unwrap();
    let (sent, acked, lost, duplicated) =
        (col("sent"), col("acked"), col("lost"), col("duplicated"));
    for kind in DialectKind::ALL {
        let name = kind.to_string();
        let row: Vec<&str> = stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name.as_str()))
            .unwrap_or_else(|| panic!("no summary row for {name}:\n{stdout}"))
            .split_whitespace()
            .collect();
        assert_eq!(row[lost], "0", "{name} lost messages:\n{stdout}");
        assert_eq!(row[duplicated], "0", "{name} duplicated:\n{stdout}");
        assert_eq!(
            row[sent], row[acked],
            "{name}: every sent message acked:\n{stdout}"
        );
        assert_ne!(row[sent], "0", "{name} sent nothing:\n{stdout}");
    }
    assert!(stdout.contains("lost = 0, duplicated = 0"), "{stdout}");
}

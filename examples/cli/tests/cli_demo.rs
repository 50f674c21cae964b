//! The README's main command, `chatwire demo`, run as a real process: it talks to every dialect
//! through the embedded mock server with real faults injected (a 429 with Retry-After, a stream
//! cut mid-reply, a server restart mid-reply) and must exit 0 with a summary row per dialect,
//! each with lost = 0 and duplicated = 0, every fault recovered from, and (with `-v`) each
//! injected fault and each retry told on stderr.

#![allow(clippy::unwrap_used)] // tests may unwrap

use chatwire::client::DialectKind;

#[test]
fn demo_exits_zero_with_nothing_lost_on_every_dialect() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chatwire"))
        .args(["demo", "--quiet", "-v"])
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "demo failed: {}\n{stdout}\n{stderr}",
        out.status
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
    let (reconnects, errors) = (col("reconnects"), col("errors seen"));
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
        // The 429 and the cut are frame-exact faults: each costs one reconnect and one error.
        let n = |i: usize| row[i].parse::<u64>().unwrap();
        assert!(n(reconnects) >= 2, "{name}: faults not hit:\n{stdout}");
        assert!(n(errors) >= 2, "{name}: faults not seen:\n{stdout}");
        let injected = format!("dialect=\"{}\"", kind.name());
        assert!(
            stderr
                .lines()
                .any(|l| l.contains("injecting: HTTP 429") && l.contains(&injected)),
            "{name}: the injected faults are not logged:\n{stderr}"
        );
    }
    assert!(stdout.contains("lost = 0, duplicated = 0"), "{stdout}");
    // -v shows every retry with its reason, the server's hint and the delay.
    let retry = stderr
        .lines()
        .find(|l| l.contains("reconnecting") && l.contains("RateLimited"))
        .unwrap_or_else(|| panic!("no retry logged for the 429:\n{stderr}"));
    assert!(
        retry.contains("server_hint_ms=1000") && retry.contains("delay_ms="),
        "{retry}"
    );
    assert!(
        stderr.contains("injecting: server restart mid-reply"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("DEBUG") && !stderr.contains("TRACE"),
        "-v is info level:\n{stderr}"
    );
}

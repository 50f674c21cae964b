//! The `chatwire-mock` binary: prints its address first, serves, stops cleanly on SIGTERM,
//! and takes faults from a scenario file.
#![allow(clippy::unwrap_used)] // tests may unwrap
#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// A plain HTTP client (see `common::http` for why the provider is installed first).
fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().unwrap()
}

fn start(args: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chatwire-mock"))
        .args(["--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    (child, url)
}

fn stop(mut child: std::process::Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success(), "clean exit on SIGTERM");
}

#[tokio::test]
async fn binary_serves_and_stops_on_sigterm() {
    let (child, url) = start(&[]);
    let health: serde_json::Value = http()
        .get(format!("{url}/_mock/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["dialects"].as_array().unwrap().len(), 6);
    let done: serde_json::Value = http()
        .post(format!("{url}/v1/chat/completions"))
        .json(&serde_json::json!({"messages": [{"role": "user", "content": "bin"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(done["choices"][0]["message"]["content"], "You said: bin");
    stop(child);
}

#[tokio::test]
async fn scenario_file_installs_faults() {
    let path = std::env::temp_dir().join(format!(
        "chatwire-mock-scenario-{}.json",
        std::process::id()
    ));
    std::fs::write(
        &path,
        r#"{"dialect": "miptech", "http_error": {"status": 500, "rate": 1.0}}"#,
    )
    .unwrap();
    let (child, url) = start(&["--scenario", path.to_str().unwrap()]);
    assert_eq!(
        http()
            .get(format!("{url}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        500
    );
    assert_eq!(
        http()
            .get(format!("{url}/agents"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    stop(child);
    let _ = std::fs::remove_file(path);
}

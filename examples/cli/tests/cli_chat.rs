//! `chatwire chat` as a real process with piped input: every line is sent, the answers stream
//! out, `:state` is answered locally, and end of input waits for the running turn.

#![allow(clippy::unwrap_used)] // tests may unwrap

use chatwire_mock::MockConfig;
use std::io::Write;
use std::process::{Command, Stdio};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn piped_lines_are_sent_and_answered() {
    let mock = chatwire_mock::spawn(MockConfig::default().seed(5))
        .await
        .unwrap();
    let url = mock.base_url();
    let out = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chatwire"))
            .args(["chat", "--dialect", "miptech", "--url", &url])
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"hello\n:state\n/tool rain\n").unwrap();
        drop(stdin);
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("assistant: You said: hello\n"), "{stdout}");
    assert!(
        stdout.contains("assistant: You said: /tool rain\n"),
        "{stdout}"
    );
    assert!(stdout.contains("⚙ tool lookup"), "{stdout}");
    assert_eq!(stdout.matches("✓ turn completed").count(), 2, "{stdout}");
    let received: Vec<String> = mock.received().into_iter().map(|r| r.text).collect();
    assert_eq!(received, ["hello", "/tool rain"]);
    mock.shutdown().await;
}

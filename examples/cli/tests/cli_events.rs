//! The `chatwire events --json` command, run as a real process against an in-process
//! `chatwire-mock`: with no flag but dialect and URL it prints NDJSON envelopes whose assembled
//! assistant text is `You said: hello` and whose last event is `turnCompleted` — on a clean
//! connection and with the connection dropped after 5 frames — and the server records the
//! message exactly once. A refused connection exits non-zero with a readable message.

#![allow(clippy::unwrap_used)] // tests may unwrap

use chatwire::client::DialectKind;
use chatwire_mock::{FaultSpec, MockConfig};
use serde_json::Value;
use std::process::Output;

async fn run_cli(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_chatwire"))
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// The assistant text a consumer of the NDJSON assembles (appends and snapshot replaces, and
/// replies delivered whole as `message`, ignoring turns that failed and were retried).
fn assembled(lines: &[Value]) -> String {
    let last_turn = lines.last().and_then(|l| l.get("turnId")).cloned();
    let mut text = String::new();
    for line in lines {
        if last_turn.is_some() && line.get("turnId") != last_turn.as_ref() {
            continue;
        }
        let event = &line["event"];
        if event["type"] == "message" && event["role"] == "assistant" {
            // a reply delivered whole (nothing of it streamed); after streamed text of the same
            // reply it is a second copy, added as one so the assertion catches it
            text.push_str(event["content"].as_str().unwrap());
            continue;
        }
        if event["type"] != "textDelta" || event["channel"] != "text" {
            continue;
        }
        let update = &event["update"];
        match update["kind"].as_str() {
            Some("append") => text.push_str(update["text"].as_str().unwrap()),
            Some("replace") => text = update["text"].as_str().unwrap().to_string(),
            other => panic!("unexpected update kind {other:?}"),
        }
    }
    text
}

async fn events_json(kind: DialectKind, faults: Option<FaultSpec>) {
    let mock = chatwire_mock::spawn(MockConfig::default().seed(3))
        .await
        .unwrap();
    if let Some(spec) = faults {
        mock.set_faults(spec).unwrap();
    }
    let args = [
        "events",
        "--dialect",
        kind.name(),
        "--url",
        &mock.base_url(),
    ]
    .into_iter()
    .map(String::from)
    .chain(["--message", "hello", "--json"].map(String::from))
    .collect();
    let out = run_cli(args).await;
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{kind}: {stderr}\n{stdout}");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    // every line is an envelope of the event model
    for line in &lines {
        let _: chatwire::Envelope = serde_json::from_value(line.clone()).unwrap();
    }
    assert_eq!(assembled(&lines), "You said: hello", "{kind}: {stdout}");
    let last = lines.last().unwrap();
    assert_eq!(last["event"]["type"], "turnCompleted", "{kind}: {stdout}");
    let received = mock.received();
    assert_eq!(received.len(), 1, "{kind}: {received:?}");
    mock.shutdown().await;
}

macro_rules! events_tests {
    ($($name:ident: $kind:expr;)*) => {
        mod clean {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    events_json($kind, None).await;
                }
            )*
        }
        mod dropped_after_5_frames {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let spec = FaultSpec {
                        drop_after_frames: Some(5),
                        once: Some(true),
                        ..FaultSpec::default()
                    };
                    events_json($kind, Some(spec)).await;
                }
            )*
        }
    };
}

events_tests! {
    native: DialectKind::Native;
    miptech: DialectKind::Miptech;
    chat_v2: DialectKind::ChatV2;
    chat_interfaces: DialectKind::ChatInterfaces;
    parlant: DialectKind::Parlant;
    openai: DialectKind::Openai;
    ai_sdk: DialectKind::AiSdk;
}

#[tokio::test]
async fn connection_failure_exits_non_zero_with_a_message() {
    // a port nobody listens on
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let args = [
        "events",
        "-d",
        "native",
        "-u",
        &url,
        "-m",
        "hi",
        "--max-attempts",
        "1",
    ]
    .map(String::from)
    .to_vec();
    let out = run_cli(args).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot connect to the native backend"),
        "{stderr}"
    );
    assert!(
        out.stdout.is_empty() || !String::from_utf8_lossy(&out.stdout).contains("turnCompleted")
    );
}

#[tokio::test]
async fn bad_options_are_refused_before_connecting() {
    let out = run_cli(
        [
            "events",
            "-d",
            "gopher",
            "-u",
            "http://127.0.0.1:1",
            "-m",
            "x",
        ]
        .map(String::from)
        .to_vec(),
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown dialect"));
    let out = run_cli(
        [
            "events",
            "-d",
            "native",
            "-u",
            "http://example.com",
            "-m",
            "x",
        ]
        .map(String::from)
        .to_vec(),
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("allow_insecure"));
}

//! The `chatwire-mock` binary: prints its address first, serves, stops cleanly on SIGTERM,
//! and takes faults from a scenario file and from fault flags (`--restart-after-ms`).
#![allow(clippy::unwrap_used)] // tests may unwrap
#![cfg(unix)]

mod common;

use common::http;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

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
    assert_eq!(health["dialects"].as_array().unwrap().len(), 7);
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

/// Opens a native socket, retrying while the server refuses; returns it and how many attempts
/// were refused first.
async fn connect_retrying(url: &str) -> (Socket, usize) {
    let mut refused = 0;
    loop {
        match tokio_tungstenite::connect_async(url).await {
            Ok((ws, _)) => return (ws, refused),
            Err(_) => {
                refused += 1;
                assert!(refused < 1000, "never accepted");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// The next text frame as JSON; `None` once the socket ends.
async fn next_json(ws: &mut Socket) -> Option<serde_json::Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return serde_json::from_str(t.as_str()).ok(),
            Ok(Some(Ok(Message::Close(_)) | Err(_)) | None) => return None,
            Ok(Some(Ok(_))) => continue,
            Err(_) => panic!("the socket neither spoke nor ended"),
        }
    }
}

/// A native socket past `welcome`, retrying if a restart drops it first.
async fn welcomed(url: &str) -> Socket {
    loop {
        let (mut ws, _) = connect_retrying(url).await;
        let hello = r#"{"type":"hello","conversation_id":"bin","since_seq":0}"#;
        if ws.send(Message::Text(hello.into())).await.is_err() {
            continue;
        }
        if let Some(v) = next_json(&mut ws).await {
            assert_eq!(v["type"], "welcome");
            return ws;
        }
    }
}

#[tokio::test]
async fn restart_after_ms_flag_drops_refuses_then_accepts() {
    // One restart 2 s after start (room to connect first, even on a loaded machine), then new
    // connections are refused for 1.5 s (room for the first reconnect to land inside it).
    let (child, url) = start(&[
        "--restart-after-ms",
        "2000",
        "--restart-refuse-ms",
        "1500",
        "--once",
    ]);
    let faults: serde_json::Value = http()
        .get(format!("{url}/_mock/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(faults["faults"]["restart_after_ms"], 2000);
    let ws_url = format!("{}/native/v1/ws", url.replace("http://", "ws://"));
    let mut ws = welcomed(&ws_url).await;
    while next_json(&mut ws).await.is_some() {} // skip frames (`goodbye`) until the drop
    let (ws, refused) = connect_retrying(&ws_url).await;
    assert!(
        refused >= 1,
        "a reconnect right after the restart is refused"
    );
    drop(ws); // the handshake succeeded: accepted again once the refusal ended
    stop(child);
}

//! The Rust runner of the scenario protocol (`tests/scenarios/README.md`): the reference for
//! every binding's runner. It builds a `Client` from the `init` line's `ClientOptions` JSON,
//! executes one command a line through the public API, and writes one trace line for every
//! envelope, receipt status change, state change and command result. It judges nothing.
//!
//! Its token provider hands out the `init` line's `tokens` in order, the last one repeatedly.

use chatwire::ClientOptions;
use chatwire::client::{Client, ClientBuilder, ClientError, EventStream, StateWatch};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

#[tokio::main]
async fn main() {
    let (out, mut rx) = mpsc::unbounded_channel::<Value>();
    let writer = tokio::spawn(async move {
        let mut stdout = tokio::io::stdout();
        while let Some(line) = rx.recv().await {
            let text = format!("{line}\n");
            if stdout.write_all(text.as_bytes()).await.is_err() {
                break;
            }
            let _ = stdout.flush().await;
        }
    });
    let mut input = BufReader::new(tokio::io::stdin()).lines();
    let mut client: Option<Client> = None;
    let mut tasks = Vec::new();
    let mut states = None;
    while let Ok(Some(line)) = input.next_line().await {
        let cmd: Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("not a command: {e}: {line}");
                continue;
            }
        };
        let op = cmd["op"].as_str().unwrap_or_default().to_string();
        let result = match (&op[..], &client) {
            ("init", _) => init(&cmd).map(|c| {
                // Subscribed before any command runs, so nothing is missed.
                tasks.push(tokio::spawn(forward_events(c.events(), out.clone())));
                states = Some(tokio::spawn(forward_states(c.state_watch(), out.clone())));
                client = Some(c);
                None
            }),
            (_, None) => Err(("INVALID_INPUT".to_string(), "no init line yet".to_string())),
            (_, Some(c)) => execute(c, &op, &cmd, &out, &mut tasks).await,
        };
        let mut line = json!({"line": "result", "id": cmd["id"], "op": op, "ok": result.is_ok()});
        if let Some(label) = cmd.get("label") {
            line["label"] = label.clone();
        }
        match result {
            Ok(Some(id)) => line["clientId"] = json!(id),
            Ok(None) => {}
            Err((code, message)) => {
                line["code"] = json!(code);
                line["message"] = json!(message);
            }
        }
        let _ = out.send(line);
        if op == "close" {
            break;
        }
    }
    if let Some(c) = client {
        c.close().await;
    }
    for task in tasks {
        let _ = task.await;
    }
    // Every client handle is gone: the state watch ends once the last state is delivered.
    if let Some(task) = states {
        let abort = task.abort_handle();
        if tokio::time::timeout(std::time::Duration::from_secs(1), task)
            .await
            .is_err()
        {
            abort.abort();
        }
    }
    let _ = out.send(json!({"line": "end"}));
    drop(out);
    let _ = writer.await;
}

type Outcome = Result<Option<String>, (String, String)>;

/// Builds the client from the `init` line.
fn init(cmd: &Value) -> Result<Client, (String, String)> {
    let options = ClientOptions::from_json(&cmd["options"].to_string())
        .map_err(|e| (e.code().as_str().to_string(), e.to_string()))?;
    let mut builder = ClientBuilder::from_options(options);
    let tokens: Vec<String> = cmd["tokens"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    if !tokens.is_empty() {
        let next = Arc::new(Mutex::new(0usize));
        builder = builder.token_provider(move || {
            let tokens = tokens.clone();
            let next = next.clone();
            async move {
                let mut i = next.lock().map_err(|_| "token list poisoned")?;
                let token = tokens[(*i).min(tokens.len() - 1)].clone();
                *i += 1;
                Ok::<_, &'static str>(token)
            }
        });
    }
    builder
        .build()
        .map_err(|e| (e.code().as_str().to_string(), e.to_string()))
}

/// Executes one app command through the public API.
async fn execute(
    client: &Client,
    op: &str,
    cmd: &Value,
    out: &mpsc::UnboundedSender<Value>,
    tasks: &mut Vec<tokio::task::JoinHandle<()>>,
) -> Outcome {
    let code = |e: ClientError| (e.code().as_str().to_string(), e.to_string());
    let label = cmd["label"].as_str().unwrap_or_default().to_string();
    match op {
        "send" | "sendAudio" => {
            let receipt = if op == "send" {
                client.send(cmd["text"].as_str().unwrap_or_default()).await
            } else {
                let samples = cmd["samples"].as_u64().unwrap_or(0) as usize;
                client.send_audio(&vec![0i16; samples]).await
            }
            .map_err(code)?;
            let id = receipt.client_id().to_string();
            let (out, client_id) = (out.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                let mut statuses = Box::pin(receipt.statuses());
                while let Some(status) = statuses.next().await {
                    let line = json!({"line": "status", "label": label, "clientId": client_id, "status": status});
                    let _ = out.send(line);
                }
            }));
            Ok(Some(id))
        }
        "cancelTurn" => client.cancel_turn().await.map(|()| None).map_err(code),
        "typing" => {
            let active = cmd["active"].as_bool().unwrap_or(false);
            client.typing(active).await.map(|()| None).map_err(code)
        }
        "reconnectNow" => client.reconnect_now().await.map(|()| None).map_err(code),
        "connect" => client.connect().await.map(|()| None).map_err(code),
        "discard" => {
            let id = cmd["clientId"].as_str().unwrap_or_default();
            let id = id.parse().map_err(|_| {
                (
                    "INVALID_INPUT".to_string(),
                    format!("not a client id: {id:?}"),
                )
            })?;
            client.discard(id).await.map(|()| None).map_err(code)
        }
        "close" => {
            client.close().await;
            Ok(None)
        }
        other => Err(("INVALID_INPUT".to_string(), format!("unknown op {other:?}"))),
    }
}

async fn forward_events(mut events: EventStream, out: mpsc::UnboundedSender<Value>) {
    while let Some(envelope) = events.next().await {
        let _ = out.send(json!({"line": "envelope", "envelope": envelope}));
    }
}

async fn forward_states(mut states: StateWatch, out: mpsc::UnboundedSender<Value>) {
    let _ = out.send(json!({"line": "state", "state": states.get()}));
    while let Ok(state) = states.changed().await {
        let _ = out.send(json!({"line": "state", "state": state}));
    }
}

//! A tiny HTTP/1.1 responder that speaks just enough of the OpenAI streaming API
//! (`POST /v1/chat/completions`, `stream: true`) to deliver bad input: error statuses with bodies
//! that are not JSON, event streams with malformed JSON, unknown chunk shapes, bodies that end
//! early. Each request gets the next scripted [`Reply`]; when the script is used up, requests get
//! a well-formed completion answering `You said: <last user message>`.

use crate::raw_server::RawServer;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A complete HTTP response: status line and headers (without the blank line) and a body.
    Status {
        /// E.g. `"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/html"`.
        head: String,
        /// The body (its length is added as `Content-Length`).
        body: Vec<u8>,
    },
    /// A `200` event stream: these `data:` payloads (raw bytes, each followed by a blank line),
    /// then a well-formed completion of the request (text, `finish_reason`, `[DONE]`).
    StreamWith(Vec<Vec<u8>>),
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Request {
    /// The `Idempotency-Key` header, if any.
    pub idempotency_key: Option<String>,
    /// The last user message of the request body.
    pub last_user: String,
}

/// A running responder. Dropping it stops accepting.
pub struct RawOpenAi {
    server: RawServer,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl RawOpenAi {
    /// Starts the responder with `script` (answers for the first requests, in order).
    pub async fn start(script: Vec<Reply>) -> RawOpenAi {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let log = requests.clone();
        let server = RawServer::start(move |tcp| serve(tcp, log.clone(), script.clone())).await;
        RawOpenAi { server, requests }
    }

    /// `http://127.0.0.1:PORT`, the client's base URL.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

async fn serve(
    mut tcp: TcpStream,
    log: Arc<Mutex<Vec<Request>>>,
    script: Arc<Mutex<VecDeque<Reply>>>,
) {
    let Some((headers, body)) = read_request(&mut tcp).await else {
        return;
    };
    let key = headers.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("idempotency-key")
            .then(|| value.trim().to_string())
    });
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let last_user = request["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_string();
    log.lock().unwrap().push(Request {
        idempotency_key: key,
        last_user: last_user.clone(),
    });
    let reply = script.lock().unwrap().pop_front();
    let bytes = match reply {
        Some(Reply::Status { head, body }) => {
            let mut out = format!(
                "{head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes();
            out.extend(body);
            out
        }
        Some(Reply::StreamWith(extra)) => stream(&extra, &last_user),
        None => stream(&[], &last_user),
    };
    let _ = tcp.write_all(&bytes).await;
    let _ = tcp.shutdown().await;
}

/// Reads one request (for the other raw servers too): the head as text and the body (by `Content-Length`).
pub async fn read_request(tcp: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = tcp.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = tcp.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
    Some((head, buf[head_end..head_end + length].to_vec()))
}

/// A `200` event stream: `extra` payloads first, then the completion of `You said: <user>`.
fn stream(extra: &[Vec<u8>], user: &str) -> Vec<u8> {
    let mut out =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n".to_vec();
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-raw", "object": "chat.completion.chunk", "created": 0,
            "model": "raw", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let mut data = |payload: &[u8]| {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(payload);
        out.extend_from_slice(b"\n\n");
    };
    data(
        chunk(json!({"role": "assistant", "content": ""}), Value::Null)
            .to_string()
            .as_bytes(),
    );
    for payload in extra {
        data(payload);
    }
    let said = format!("You said: {user}");
    data(
        chunk(json!({"content": said}), Value::Null)
            .to_string()
            .as_bytes(),
    );
    data(chunk(json!({}), json!("stop")).to_string().as_bytes());
    data(b"[DONE]");
    out
}

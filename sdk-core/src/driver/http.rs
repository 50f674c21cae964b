//! One HTTP request as a tokio task (reqwest over rustls), reporting back to the driver.
//!
//! A plain request reports one `HttpResponse` with the whole body; a streaming one (SSE,
//! chunked) reports `HttpResponse` with an empty body, then every body chunk as it arrives
//! (`HttpChunk`), then `HttpEnd` — the engine runs the SSE parser on those bytes. A streaming
//! request answered with an error status (not 2xx) is read like a plain one: its body is the
//! error (JSON, HTML, text) the dialect needs to classify it. Transport
//! failures and a non-streaming body larger than the limit report `HttpFailed`. No request
//! deadline lives here: the engine owns them (the request's `timeout_ms`, and response headers
//! for SSE within the connect timeout) and cancels the request when one passes. HTTP error
//! statuses are ordinary responses: the dialect decides what they mean.
//! Error texts never include the URL (queries may carry credentials).

use super::Report;
use crate::io::{HttpRequest, Input, Method};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

/// The HTTP client of one chatwire client (connection pool shared by its requests).
pub(super) fn client(tls: &Arc<rustls::ClientConfig>) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(rustls::ClientConfig::clone(tls))
        .user_agent(concat!("chatwire/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(30))
        .build()
}

/// Spawns the request; the abort handle cancels it (`Output::CancelHttp`).
pub(super) fn spawn(
    client: &reqwest::Client,
    request: HttpRequest,
    body_limit: usize,
    reports: mpsc::Sender<Report>,
) -> AbortHandle {
    let client = client.clone();
    tokio::spawn(async move {
        for input in run(&client, request, body_limit, &reports).await {
            if reports.send(Report::Input(input)).await.is_err() {
                return;
            }
        }
    })
    .abort_handle()
}

/// Runs the request; streaming chunks are sent directly, the final input(s) are returned.
async fn run(
    client: &reqwest::Client,
    request: HttpRequest,
    body_limit: usize,
    reports: &mpsc::Sender<Report>,
) -> Vec<Input> {
    let id = request.id;
    let failed = |error: String| vec![Input::HttpFailed { id, error }];
    let mut builder = client.request(method(request.method), &request.url);
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    if !request.body.is_empty() {
        builder = builder.body(request.body);
    }
    let mut response = match builder.send().await {
        Ok(response) => response,
        Err(error) => return failed(describe(error)),
    };
    let status = response.status().as_u16();
    let headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    if request.streaming && (200..300).contains(&status) {
        let head = Input::HttpResponse {
            id,
            status,
            headers,
            body: Vec::new(),
        };
        if reports.send(Report::Input(head)).await.is_err() {
            return Vec::new();
        }
        loop {
            match response.chunk().await {
                Ok(Some(bytes)) => {
                    let chunk = Input::HttpChunk {
                        id,
                        bytes: bytes.to_vec(),
                    };
                    if reports.send(Report::Input(chunk)).await.is_err() {
                        return Vec::new();
                    }
                }
                Ok(None) => return vec![Input::HttpEnd { id }],
                Err(error) => return failed(describe(error)),
            }
        }
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(bytes)) => {
                if body.len() + bytes.len() > body_limit {
                    return failed(format!("response body exceeds the {body_limit}-byte limit"));
                }
                body.extend_from_slice(&bytes);
            }
            Ok(None) => break,
            Err(error) => return failed(describe(error)),
        }
    }
    vec![Input::HttpResponse {
        id,
        status,
        headers,
        body,
    }]
}

fn method(m: Method) -> reqwest::Method {
    match m {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
    }
}

/// The error and its causes, without the URL.
fn describe(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let error = error.without_url();
    let mut text = kind.to_string();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

//! A small client of toxiproxy's REST API (v2) and the catalogue of toxics the soak rotates.
//!
//! toxiproxy (<https://github.com/Shopify/toxiproxy>) is a TCP proxy whose faults ("toxics") are
//! added and removed over HTTP while connections flow through it; toxics apply to live
//! connections as well as new ones. The API used here:
//!
//! - `POST /proxies {"name","listen","upstream","enabled"}` -> `201` with the proxy, whose
//!   `listen` is the real address when `127.0.0.1:0` was asked for;
//! - `POST /proxies/{proxy}/toxics {"name","type","stream","toxicity","attributes"}`;
//! - `DELETE /proxies/{proxy}/toxics/{toxic}`.
//!
//! Every call is one HTTP/1.1 request with `Connection: close`; a status other than 2xx is an
//! error carrying the body, so a misconfigured toxic stops the soak instead of being ignored.

use serde_json::{Value, json};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The toxics the soak rotates (toxiproxy's own names in [`Toxic::kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toxic {
    /// `latency`: 100 ms +- 60 ms on every chunk from the server.
    Latency,
    /// `bandwidth`: the server's bytes at 4 KB/s.
    Bandwidth,
    /// `slicer`: the server's bytes cut into ~12-byte pieces, 0.3 ms apart (frames and events
    /// split at every possible boundary).
    Slicer,
    /// `reset_peer`: connections are reset (TCP RST) `ms` after they open or the toxic lands.
    ResetPeer {
        /// Delay before the reset.
        ms: u64,
    },
    /// `timeout`: data stops both ways; the connection is closed `ms` later.
    Timeout {
        /// Delay before the close.
        ms: u64,
    },
}

impl Toxic {
    /// toxiproxy's type name.
    pub fn kind(self) -> &'static str {
        match self {
            Toxic::Latency => "latency",
            Toxic::Bandwidth => "bandwidth",
            Toxic::Slicer => "slicer",
            Toxic::ResetPeer { .. } => "reset_peer",
            Toxic::Timeout { .. } => "timeout",
        }
    }

    /// The `POST /proxies/{proxy}/toxics` body, named `name`.
    pub fn body(self, name: &str) -> Value {
        let attributes = match self {
            Toxic::Latency => json!({"latency": 100, "jitter": 60}),
            Toxic::Bandwidth => json!({"rate": 4}),
            Toxic::Slicer => json!({"average_size": 12, "size_variation": 8, "delay": 300}),
            Toxic::ResetPeer { ms } => json!({"timeout": ms}),
            Toxic::Timeout { ms } => json!({"timeout": ms}),
        };
        json!({"name": name, "type": self.kind(), "stream": "downstream", "toxicity": 1.0,
            "attributes": attributes})
    }
}

/// A toxiproxy server reached at `api` (its REST port).
#[derive(Debug, Clone)]
pub struct Toxiproxy {
    api: SocketAddr,
}

impl Toxiproxy {
    /// A client of the API at `api`.
    pub fn new(api: SocketAddr) -> Toxiproxy {
        Toxiproxy { api }
    }

    /// Creates proxy `name` in front of `upstream`, listening on a free loopback port; returns
    /// the address clients must use.
    pub async fn create_proxy(&self, name: &str, upstream: SocketAddr) -> Result<String, String> {
        let body = json!({"name": name, "listen": "127.0.0.1:0",
            "upstream": upstream.to_string(), "enabled": true});
        let answer = self.call("POST", "/proxies", Some(&body)).await?;
        let proxy: Value = serde_json::from_str(&answer)
            .map_err(|e| format!("toxiproxy answered {answer:?}: {e}"))?;
        proxy["listen"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("toxiproxy proxy without listen address: {answer}"))
    }

    /// Adds `toxic` to `proxy` under the name `name`.
    pub async fn add(&self, proxy: &str, name: &str, toxic: Toxic) -> Result<(), String> {
        let path = format!("/proxies/{proxy}/toxics");
        self.call("POST", &path, Some(&toxic.body(name)))
            .await
            .map(drop)
    }

    /// Removes toxic `name` from `proxy`.
    pub async fn remove(&self, proxy: &str, name: &str) -> Result<(), String> {
        let path = format!("/proxies/{proxy}/toxics/{name}");
        self.call("DELETE", &path, None).await.map(drop)
    }

    /// Deletes proxy `name` (its connections are closed).
    pub async fn delete_proxy(&self, name: &str) -> Result<(), String> {
        self.call("DELETE", &format!("/proxies/{name}"), None)
            .await
            .map(drop)
    }

    /// One request; the body of a 2xx answer, else an error naming status and body.
    async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<String, String> {
        let payload = body.map(Value::to_string).unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{payload}",
            self.api,
            payload.len()
        );
        let io = |e: std::io::Error| format!("toxiproxy at {}: {method} {path}: {e}", self.api);
        let mut tcp = TcpStream::connect(self.api).await.map_err(io)?;
        tcp.write_all(request.as_bytes()).await.map_err(io)?;
        let mut answer = Vec::new();
        tcp.read_to_end(&mut answer).await.map_err(io)?;
        let answer = String::from_utf8_lossy(&answer);
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .unwrap_or(0);
        if !(200..300).contains(&status) {
            return Err(format!("toxiproxy: {method} {path}: {head} {body}"));
        }
        Ok(dechunk(head, body))
    }
}

/// The body of an answer, decoding `Transfer-Encoding: chunked` when the server used it.
fn dechunk(head: &str, body: &str) -> String {
    if !head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return body.to_owned();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toxic_bodies_name_the_type_and_attributes() {
        let b = Toxic::ResetPeer { ms: 700 }.body("cut");
        assert_eq!(b["type"], "reset_peer");
        assert_eq!(b["attributes"]["timeout"], 700);
        assert_eq!(Toxic::Slicer.body("s")["attributes"]["average_size"], 12);
    }

    #[test]
    fn chunked_bodies_are_decoded() {
        let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked";
        assert_eq!(dechunk(head, "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"), "abcde");
        assert_eq!(dechunk("HTTP/1.1 200 OK", "plain"), "plain");
    }
}

//! The scaffolding every raw test server shares: a listener on a free loopback port, an accept
//! loop that hands each connection to the server's own `serve` function, the client's base URL,
//! and a stop on drop. Each raw server (`raw_ws`, `raw_http`, `raw_miptech`, ...) only says how
//! to answer one connection.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A listener on `127.0.0.1:<free port>` serving each accepted connection on its own task.
/// Dropping it stops accepting.
pub struct RawServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl RawServer {
    /// Binds a free loopback port and serves every accepted connection with `serve`.
    pub async fn start<F, Fut>(serve: F) -> RawServer
    where
        F: Fn(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(serve(tcp));
            }
        });
        RawServer { addr, task }
    }

    /// `http://127.0.0.1:PORT`, the client's base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A script given as `(message text, items)` pairs, keyed by the text.
pub fn script_map<T>(script: Vec<(&str, Vec<T>)>) -> BTreeMap<String, Vec<T>> {
    script
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

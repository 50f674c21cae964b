//! Child processes of the harness: the bench server (`chatwire-bench serve`), so its CPU time
//! and memory are never counted as the client's, and one process per idle-memory configuration
//! (`chatwire-bench idle-child`), so the figures of one do not mix with another's.
//!
//! A child prints one line on stdout when it is ready (the server: its two ports; an idle
//! child: its JSON result) and exits when its stdin closes, so none outlives the harness.

use crate::server;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use tokio::net::TcpListener;

/// A running bench server process.
pub struct ServerProc {
    child: Child,
    /// `ws://127.0.0.1:PORT` of the native server.
    pub ws: String,
    /// `http://127.0.0.1:PORT` of the OpenAI server.
    pub http: String,
}

impl ServerProc {
    /// Starts `chatwire-bench serve` and waits for its ports.
    pub fn start() -> std::io::Result<ServerProc> {
        let (child, line) = spawn(&["serve"])?;
        let mut ports = line.split_whitespace().filter_map(|p| p.split_once('='));
        let (Some((_, native)), Some((_, openai))) = (ports.next(), ports.next()) else {
            return Err(std::io::Error::other(format!("bad server line {line:?}")));
        };
        Ok(ServerProc {
            child,
            ws: format!("ws://127.0.0.1:{native}"),
            http: format!("http://127.0.0.1:{openai}"),
        })
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs this binary with `args` and returns it with the first line it printed.
pub fn spawn(args: &[&str]) -> std::io::Result<(Child, String)> {
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| std::io::Error::other("no stdout"))?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    if line.trim().is_empty() {
        let _ = child.kill();
        let _ = child.wait();
        return Err(std::io::Error::other(format!(
            "{args:?} exited without a result"
        )));
    }
    Ok((child, line.trim().to_owned()))
}

/// Runs this binary with `args`, returns its line once it exited.
pub fn run(args: &[&str]) -> std::io::Result<String> {
    let (mut child, line) = spawn(args)?;
    drop(child.stdin.take());
    let _ = child.wait()?;
    Ok(line)
}

/// The body of `chatwire-bench serve`: both servers on a two-thread runtime until stdin closes.
pub fn serve() -> std::io::Result<()> {
    crate::sys::raise_fd_limit();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let native = TcpListener::bind("127.0.0.1:0").await?;
        let openai = TcpListener::bind("127.0.0.1:0").await?;
        println!(
            "native={} openai={}",
            native.local_addr()?.port(),
            openai.local_addr()?.port()
        );
        tokio::spawn(server::Native::new().run(native));
        tokio::spawn(server::run_openai(openai));
        // Exits when the harness closes our stdin (or dies).
        tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        })
        .await
        .map_err(std::io::Error::other)
    })
}

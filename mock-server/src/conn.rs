//! TCP-level control: the listener that refuses connections during a refusal period, and a
//! per-connection handle ([`ConnCtl`]) that can drop a connection abruptly from anywhere
//! (fault `drop_after_frames`, restart, shutdown) by shutting its socket down.
//!
//! Every accepted stream is wrapped in [`MockIo`], which carries its `ConnCtl`; handlers reach
//! it through `ConnectInfo<ConnHandle>`. Shutting the socket down (not just dropping a task)
//! makes the peer see the close at once, even while hyper is waiting on a streaming body.

use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::faults::Faults;

/// Control over one accepted TCP connection.
pub(crate) struct ConnCtl {
    pub id: u64,
    sock: Option<std::net::TcpStream>,
    killed: AtomicBool,
    killed_tx: watch::Sender<bool>,
}

impl ConnCtl {
    /// Drops the connection now: both directions are shut down, the peer sees the close.
    pub fn kill(&self) {
        if !self.killed.swap(true, Ordering::SeqCst) {
            if let Some(sock) = &self.sock {
                let _ = sock.shutdown(Shutdown::Both);
            }
            self.killed_tx.send_replace(true);
        }
    }

    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }

    /// Resolves once the connection was killed.
    pub async fn killed(&self) {
        let mut rx = self.killed_tx.subscribe();
        let _ = rx.wait_for(|k| *k).await;
    }
}

/// Every live connection, so restart and shutdown can drop them all at once.
#[derive(Default)]
pub(crate) struct ConnRegistry {
    next_id: AtomicU64,
    conns: Mutex<HashMap<u64, Weak<ConnCtl>>>,
}

impl ConnRegistry {
    fn register(&self, sock: Option<std::net::TcpStream>) -> Arc<ConnCtl> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let (killed_tx, _) = watch::channel(false);
        let ctl = Arc::new(ConnCtl {
            id,
            sock,
            killed: AtomicBool::new(false),
            killed_tx,
        });
        let mut conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        if conns.len() > 64 && conns.len().is_power_of_two() {
            conns.retain(|_, w| w.strong_count() > 0);
        }
        conns.insert(id, Arc::downgrade(&ctl));
        ctl
    }

    /// Kills every live connection except `keep`; returns how many were killed.
    pub fn kill_all(&self, keep: Option<u64>) -> usize {
        let conns: Vec<Arc<ConnCtl>> = {
            let mut map = self.conns.lock().unwrap_or_else(|e| e.into_inner());
            map.retain(|_, w| w.strong_count() > 0);
            map.values().filter_map(Weak::upgrade).collect()
        };
        let mut n = 0;
        for c in conns {
            if Some(c.id) != keep && !c.is_killed() {
                c.kill();
                n += 1;
            }
        }
        n
    }
}

/// The accepted stream plus its control handle.
pub(crate) struct MockIo {
    inner: TcpStream,
    ctl: Arc<ConnCtl>,
}

impl AsyncRead for MockIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for MockIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.ctl.is_killed() {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.ctl.is_killed() {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// What handlers get through `ConnectInfo<ConnHandle>`.
#[derive(Clone)]
pub(crate) struct ConnHandle(pub Arc<ConnCtl>);

impl Connected<IncomingStream<'_, MockListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, MockListener>) -> Self {
        ConnHandle(stream.io().ctl.clone())
    }
}

/// The server's listener: refuses connections during a global refusal period and registers
/// every accepted one.
pub(crate) struct MockListener {
    pub inner: TcpListener,
    pub faults: Arc<Faults>,
    pub registry: Arc<ConnRegistry>,
}

impl Listener for MockListener {
    type Io = MockIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, addr) = match self.inner.accept().await {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::debug!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    continue;
                }
            };
            if self.faults.refusing(None) {
                // A refused connection: reset it at once.
                let _ = stream.set_zero_linger();
                drop(stream);
                continue;
            }
            let _ = stream.set_nodelay(true);
            let Some((stream, sock)) = split_handle(stream) else {
                continue;
            };
            let ctl = self.registry.register(Some(sock));
            return (MockIo { inner: stream, ctl }, addr);
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// The stream plus a second handle on the same socket, used only to shut it down from
/// elsewhere (`into_std` + `try_clone` + `from_std`: no unsafe code needed).
fn split_handle(stream: TcpStream) -> Option<(TcpStream, std::net::TcpStream)> {
    let std_stream = stream.into_std().ok()?;
    let clone = std_stream.try_clone().ok()?;
    let stream = TcpStream::from_std(std_stream).ok()?;
    Some((stream, clone))
}

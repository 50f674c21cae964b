//! The outbound side of a streaming connection (WebSocket or SSE) with frame faults applied.
//!
//! Producers (the conversation follower, acks, pongs) push frames into a bounded channel; one
//! writer task per connection applies the connection's [`ConnPlan`] — delay + jitter before each
//! frame, duplicates, shuffling within a reorder window (flushed when the window is full or the
//! connection has been idle for 25 ms), dropping the connection after N frames, going half-open
//! after N frames — and writes to the socket. Backpressure flows from the socket to producers.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use axum::response::sse::Event;
use futures_util::stream::{SplitSink, SplitStream, Stream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};

use crate::conn::ConnCtl;
use crate::faults::ConnPlan;

const REORDER_IDLE: Duration = Duration::from_millis(25);
const CAPACITY: usize = 32;

/// Where the writer task puts frames.
pub(crate) trait Wire: Send + Sync + 'static {
    type Item: Clone + Send + 'static;
    /// Writes one frame; `false` when the peer is gone.
    fn write(&mut self, item: Self::Item) -> impl Future<Output = bool> + Send;
    /// Waits until written frames have reached the socket (before a drop).
    fn settle(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }
    /// Resolves when the peer is known to be gone without writing (SSE bodies dropped).
    fn closed(&self) -> impl Future<Output = ()> + Send {
        std::future::pending()
    }
}

/// A WebSocket's sending half.
pub(crate) struct WsWire(pub SplitSink<WebSocket, Message>);

impl Wire for WsWire {
    type Item = Message;
    async fn write(&mut self, item: Message) -> bool {
        self.0.send(item).await.is_ok()
    }
}

/// An SSE response body fed through a channel.
pub(crate) struct SseWire(pub mpsc::Sender<Event>);

impl Wire for SseWire {
    type Item = Event;
    async fn write(&mut self, item: Event) -> bool {
        self.0.send(item).await.is_ok()
    }

    async fn closed(&self) {
        self.0.closed().await;
    }

    async fn settle(&mut self) {
        // The body has taken every queued event once the channel is empty; give hyper a moment
        // to put the last one on the socket.
        for _ in 0..1000 {
            if self.0.capacity() == self.0.max_capacity() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A channel-fed SSE body and the wire that feeds it.
pub(crate) fn sse_channel() -> (
    SseWire,
    impl Stream<Item = Result<Event, Infallible>> + Send + 'static,
) {
    let (tx, rx) = mpsc::channel::<Event>(8);
    let stream =
        futures_util::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) },
        );
    (SseWire(tx), stream)
}

/// Aborts a task when dropped (followers of a connection that ended).
pub(crate) struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Handle to a connection's writer.
#[derive(Clone)]
pub(crate) struct Outlet<T> {
    tx: mpsc::Sender<T>,
    half_open: watch::Receiver<bool>,
}

impl<T: Send + 'static> Outlet<T> {
    /// Queues a frame; `false` when the connection is gone.
    pub async fn send(&self, item: T) -> bool {
        self.tx.send(item).await.is_ok()
    }

    /// Whether the connection has gone half-open (readers must stop reading).
    pub fn half_open(&self) -> watch::Receiver<bool> {
        self.half_open.clone()
    }

    /// Resolves when the writer has stopped (peer gone or connection dropped).
    pub async fn closed(&self) {
        self.tx.closed().await;
    }
}

/// Starts the writer task of one connection.
pub(crate) fn start<W: Wire>(wire: W, plan: ConnPlan, ctl: Arc<ConnCtl>) -> Outlet<W::Item> {
    let (tx, rx) = mpsc::channel(CAPACITY);
    let (half_tx, half_rx) = watch::channel(false);
    tokio::spawn(writer(wire, rx, plan, ctl, half_tx));
    Outlet {
        tx,
        half_open: half_rx,
    }
}

enum Flow {
    Go,
    Stop,
}

struct Writer<W: Wire> {
    wire: W,
    plan: ConnPlan,
    ctl: Arc<ConnCtl>,
    half_tx: watch::Sender<bool>,
    sent: u64,
}

impl<W: Wire> Writer<W> {
    /// Checks the frame-count faults; `Stop` when the connection must go quiet or die.
    async fn limits(&mut self) -> Flow {
        if self.plan.half_open_after.is_some_and(|n| self.sent >= n) {
            self.half_tx.send_replace(true);
            return Flow::Stop;
        }
        if self.plan.drop_after.is_some_and(|n| self.sent >= n) {
            self.wire.settle().await;
            self.ctl.kill();
            return Flow::Stop;
        }
        Flow::Go
    }

    async fn emit(&mut self, item: W::Item) -> Flow {
        let delay = self.plan.next_delay();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if let Flow::Stop = self.limits().await {
            return Flow::Stop;
        }
        let dup = self.plan.rng.chance(self.plan.duplicate_rate);
        if !self.wire.write(item.clone()).await {
            return Flow::Stop;
        }
        self.sent += 1;
        if dup {
            if let Flow::Stop = self.limits().await {
                return Flow::Stop;
            }
            if !self.wire.write(item).await {
                return Flow::Stop;
            }
            self.sent += 1;
        }
        self.limits().await
    }

    async fn flush(&mut self, pending: &mut Vec<W::Item>) -> Flow {
        // Fisher-Yates with the connection's RNG.
        for i in (1..pending.len()).rev() {
            let j = (self.plan.rng.next_u64() % (i as u64 + 1)) as usize;
            pending.swap(i, j);
        }
        for item in pending.drain(..) {
            if let Flow::Stop = self.emit(item).await {
                return Flow::Stop;
            }
        }
        Flow::Go
    }
}

async fn writer<W: Wire>(
    wire: W,
    mut rx: mpsc::Receiver<W::Item>,
    plan: ConnPlan,
    ctl: Arc<ConnCtl>,
    half_tx: watch::Sender<bool>,
) {
    let window = plan.reorder_window;
    let mut w = Writer {
        wire,
        plan,
        ctl,
        half_tx,
        sent: 0,
    };
    let mut pending = Vec::new();
    let mut flow = w.limits().await;
    while let Flow::Go = flow {
        let idle = pending.is_empty();
        let next = tokio::select! {
            _ = w.wire.closed() => return,
            next = async {
                if idle {
                    Some(rx.recv().await)
                } else {
                    tokio::time::timeout(REORDER_IDLE, rx.recv()).await.ok()
                }
            } => next,
        };
        let next = match next {
            Some(item) => item,
            None => {
                flow = w.flush(&mut pending).await;
                continue;
            }
        };
        let Some(item) = next else {
            let _ = w.flush(&mut pending).await;
            return;
        };
        flow = if window > 1 {
            pending.push(item);
            if pending.len() >= window {
                w.flush(&mut pending).await
            } else {
                Flow::Go
            }
        } else {
            w.emit(item).await
        };
    }
    if *w.half_tx.borrow() {
        // Half-open: keep the socket and the channel, say nothing, until the connection dies.
        w.ctl.killed().await;
    }
}

/// Inbound WebSocket frames, silenced when the connection goes half-open.
pub(crate) struct WsIn {
    stream: SplitStream<WebSocket>,
    half_open: watch::Receiver<bool>,
    ctl: Arc<ConnCtl>,
}

/// One inbound data frame.
pub(crate) enum Inbound {
    Text(String),
    Binary,
}

impl WsIn {
    pub fn new(
        stream: SplitStream<WebSocket>,
        half_open: watch::Receiver<bool>,
        ctl: Arc<ConnCtl>,
    ) -> Self {
        Self {
            stream,
            half_open,
            ctl,
        }
    }

    /// The next data frame; `None` when the peer closed or the connection died.
    pub async fn next(&mut self) -> Option<Inbound> {
        loop {
            if *self.half_open.borrow() {
                self.ctl.killed().await;
                return None;
            }
            tokio::select! {
                changed = self.half_open.changed() => {
                    if changed.is_err() && !*self.half_open.borrow() {
                        // The writer is gone without going half-open: the peer is gone.
                        return None;
                    }
                }
                msg = self.stream.next() => match msg {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return None,
                    Some(Ok(Message::Text(t))) => return Some(Inbound::Text(t.as_str().to_owned())),
                    Some(Ok(Message::Binary(_))) => return Some(Inbound::Binary),
                    Some(Ok(_)) => continue,
                },
            }
        }
    }
}

/// Splits an upgraded socket into its fault-aware writer and reader.
pub(crate) fn split_ws(
    socket: WebSocket,
    plan: ConnPlan,
    ctl: Arc<ConnCtl>,
) -> (Outlet<Message>, WsIn) {
    let (sink, stream) = socket.split();
    let out = start(WsWire(sink), plan, ctl.clone());
    let reader = WsIn::new(stream, out.half_open(), ctl);
    (out, reader)
}

/// A JSON value as a WebSocket text frame.
pub(crate) fn text(value: &serde_json::Value) -> Message {
    Message::Text(value.to_string().into())
}

/// What a follower does with one log frame.
pub(crate) enum Step<T> {
    Send(T),
    /// Send, then stop following (the stream is complete).
    SendEnd(T),
    End,
}

/// Streams `conv`'s log after `cursor` into `out`, mapping frames with `map`, until `map` ends
/// it or the connection goes away. Registers as a reader so floods wait for it.
pub(crate) async fn follow<T: Send + 'static>(
    conv: Arc<crate::hub::Conv>,
    out: Outlet<T>,
    mut cursor: u64,
    mut map: impl FnMut(&crate::hub::Frame) -> Step<T> + Send,
) {
    let reader = conv.reader();
    reader.store(cursor, std::sync::atomic::Ordering::Relaxed);
    let mut changes = conv.watch();
    loop {
        changes.borrow_and_update();
        let (frames, _) = conv.frames_after(cursor);
        for frame in &frames {
            cursor = frame.seq;
            let (item, end) = match map(frame) {
                Step::Send(item) => (Some(item), false),
                Step::SendEnd(item) => (Some(item), true),
                Step::End => (None, true),
            };
            if let Some(item) = item
                && !out.send(item).await
            {
                return;
            }
            reader.store(cursor, std::sync::atomic::Ordering::Relaxed);
            if end {
                conv.reader_progressed();
                return;
            }
        }
        conv.reader_progressed();
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { return },
            _ = out.closed() => return,
        }
    }
}

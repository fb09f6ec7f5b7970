//! TCP: one reader task per connection, framed by Content-Length, and one
//! writer task fed by a bounded queue ([`super::outbound`]: whoever sends to
//! this peer — the reader's answers, relayed responses, forwarded requests —
//! goes through it, in order). Inbound connections are capped (new ones beyond
//! the cap are closed at once), idle ones time out, and a slow peer only ever
//! stalls its own tasks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use bytes::{Buf, BytesMut};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tracing::{debug, warn};

use super::Transport;
use super::outbound::{CONN_QUEUE, ConnHandle, Outbound};
use crate::pipeline::{Pipeline, Step};
use crate::sip::{Frame, FrameError, frame};

/// How long a write to a peer may take before the connection is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        sock.set_only_v6(true)?;
    }
    sock.set_reuse_address(true)?;
    sock.set_nonblocking(true)?;
    sock.bind(&addr.into())?;
    sock.listen(1024)?;
    TcpListener::from_std(sock.into())
}

pub(super) async fn serve(
    listener: TcpListener,
    pipeline: Arc<Pipeline>,
    outbound: Arc<Outbound>,
    limit: Arc<Semaphore>,
    idle: Duration,
) {
    let local = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(v) => v,
            Err(e) => {
                warn!(error = %e, "tcp accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            pipeline
                .metrics()
                .tcp_rejected
                .with_label_values(&[&local])
                .inc();
            debug!(%peer, "tcp connection cap reached; closing new connection");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let pipeline = pipeline.clone();
        let outbound = outbound.clone();
        tokio::spawn(async move {
            let (tx, rx) = mpsc::channel(CONN_QUEUE);
            let handle = ConnHandle { tx };
            outbound.register(peer, handle.clone());
            connection(stream, peer, &pipeline, idle, handle.clone(), rx).await;
            outbound.unregister(peer, &handle);
            drop(permit);
        });
    }
}

/// Drains a connection's queue onto the socket; ends on a write error, a
/// write slower than [`WRITE_TIMEOUT`] or when every sender is gone.
async fn writer(mut w: OwnedWriteHalf, mut rx: mpsc::Receiver<Bytes>) {
    while let Some(bytes) = rx.recv().await {
        match tokio::time::timeout(WRITE_TIMEOUT, w.write_all(&bytes)).await {
            Ok(Ok(())) => {}
            _ => return,
        }
    }
    let _ = w.shutdown().await;
}

/// Counts an open connection in `sipforge_tcp_connections` while alive.
struct OpenConnection(prometheus::IntGauge);

impl OpenConnection {
    fn new(gauge: &prometheus::IntGauge) -> OpenConnection {
        gauge.inc();
        OpenConnection(gauge.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Serves one connection (inbound or outbound) until it closes: frames what
/// arrives and hands each message to the pipeline; what the pipeline answers
/// goes out through `handle` like everything else sent to this peer.
pub(super) async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    pipeline: &Pipeline,
    idle: Duration,
    handle: ConnHandle,
    rx: mpsc::Receiver<Bytes>,
) {
    let _open = OpenConnection::new(&pipeline.metrics().tcp_connections);
    let (mut rd, w) = stream.into_split();
    let mut writer = tokio::spawn(writer(w, rx));
    let send = |bytes: Bytes| {
        let tx = handle.tx.clone();
        async move { tx.send(bytes).await.is_ok() }
    };
    let limits = *pipeline.limits();
    let mut buf = BytesMut::with_capacity(8 * 1024);
    loop {
        // Handle every complete message already buffered.
        loop {
            match frame(&buf, &limits) {
                Ok(Frame::Message(n)) => {
                    // A call with scripts is awaited here: answers on one
                    // connection keep the order of the requests.
                    let reply = match pipeline.process(&buf[..n], peer, Transport::Tcp) {
                        Step::Done(r) => r,
                        Step::Script(call) => pipeline.run_script(call).await,
                    };
                    buf.advance(n);
                    if let Some(r) = reply
                        && !send(Bytes::from(r.bytes)).await
                    {
                        return;
                    }
                }
                Ok(Frame::KeepAlive { len, pong }) => {
                    buf.advance(len);
                    if pong && !send(Bytes::from_static(b"\r\n")).await {
                        return;
                    }
                }
                Ok(Frame::Incomplete) => break,
                Err(e) => {
                    // Framing is lost: answer from the header block if we can, then close.
                    let (header_len, code, reason) = match e {
                        FrameError::TooLarge { header_len } => (
                            // Without a complete header block, answer from what arrived.
                            Some(header_len.unwrap_or(buf.len().min(limits.max_message_bytes))),
                            513,
                            "Message Too Large",
                        ),
                        FrameError::BadContentLength { header_len } => (
                            Some(header_len),
                            400,
                            "Bad Request (invalid Content-Length)",
                        ),
                    };
                    debug!(%peer, error = %e, "tcp framing error; closing");
                    if let Some(h) = header_len {
                        let h = h.min(buf.len());
                        if let Some(r) =
                            pipeline.reject_unframed(&buf[..h], peer, Transport::Tcp, code, reason)
                        {
                            let _ = send(Bytes::from(r.bytes)).await;
                        }
                    }
                    // Closing our queue lets the writer flush and shut down.
                    return;
                }
            }
        }
        let read = tokio::select! {
            r = tokio::time::timeout(idle, rd.read_buf(&mut buf)) => r,
            _ = &mut writer => {
                debug!(%peer, "tcp write failed or timed out; closing");
                return;
            }
        };
        match read {
            Ok(Ok(0)) => return,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                debug!(%peer, error = %e, "tcp read error");
                return;
            }
            Err(_) => {
                debug!(%peer, "tcp connection idle; closing");
                return;
            }
        }
    }
}

//! Sending to any peer (proxy mode, issue 5): UDP from the listening socket of
//! the destination's address family (so the Via sent-by and the source match),
//! TCP over the connection already open to that peer — inbound or outbound —
//! or a new outbound connection. Every TCP connection has one writer task fed
//! by a bounded queue: a send to a peer that does not keep up fails at once
//! (the caller fails over) instead of queueing without bound, and writes to one
//! connection keep their order whoever sends them.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use bytes::Bytes;
use dashmap::DashMap;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::{Transport, UdpSock};
use crate::pipeline::Pipeline;

/// Messages that may wait for one TCP connection's writer.
pub const CONN_QUEUE: usize = 256;
/// How often a UDP send that found the socket buffer full is tried again
/// (1 ms apart) before it fails.
const UDP_RETRIES: u32 = 20;
/// How long connecting to a peer may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Why a message could not be handed to the network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("no {0} socket for this address family")]
    NoSocket(Transport),
    #[error("cannot connect to {0}: {1}")]
    Connect(SocketAddr, String),
    #[error("connection to {0} is backed up or closed")]
    Busy(SocketAddr),
    #[error("udp send to {0} failed: {1}")]
    Udp(SocketAddr, String),
    #[error("outbound TCP connection cap reached")]
    TooManyConnections,
}

/// The writer side of one TCP connection.
#[derive(Clone)]
pub(crate) struct ConnHandle {
    pub(crate) tx: mpsc::Sender<Bytes>,
}

/// Every way out: UDP sockets and the TCP connections by peer address.
pub struct Outbound {
    udp_v4: Option<Arc<UdpSock>>,
    udp_v6: Option<Arc<UdpSock>>,
    conns: DashMap<SocketAddr, ConnHandle>,
    /// Outbound connections may only be opened while this many are open.
    max_outbound: usize,
    outbound_open: std::sync::atomic::AtomicUsize,
    idle: Duration,
    /// Reads on outbound connections go through the pipeline like inbound ones.
    pipeline: OnceLock<Weak<Pipeline>>,
}

impl Outbound {
    pub(crate) fn new(udp: &[Arc<UdpSock>], max_outbound: usize, idle: Duration) -> Outbound {
        let pick = |v6: bool| udp.iter().find(|s| s.local_addr().is_ipv6() == v6).cloned();
        Outbound {
            udp_v4: pick(false),
            udp_v6: pick(true),
            conns: DashMap::new(),
            max_outbound,
            outbound_open: std::sync::atomic::AtomicUsize::new(0),
            idle,
            pipeline: OnceLock::new(),
        }
    }

    pub(crate) fn set_pipeline(&self, p: &Arc<Pipeline>) {
        let _ = self.pipeline.set(Arc::downgrade(p));
    }

    /// Open TCP connections (inbound and outbound) known by peer address.
    pub fn tcp_connections(&self) -> usize {
        self.conns.len()
    }

    pub(crate) fn register(&self, peer: SocketAddr, h: ConnHandle) {
        self.conns.insert(peer, h);
    }

    pub(crate) fn unregister(&self, peer: SocketAddr, h: &ConnHandle) {
        self.conns.remove_if(&peer, |_, v| v.tx.same_channel(&h.tx));
    }

    /// Sends without waiting when that is possible — UDP (unless the socket
    /// buffer is full) or TCP over an already open connection — so messages
    /// handed over one after the other leave in that order. `None`: this one
    /// needs [`Outbound::send`] (a connection must be opened, or the socket
    /// would block); `bytes` is given back for it.
    ///
    /// On a UDP receive thread handling a batch, a UDP datagram leaves with
    /// the batch's `sendmmsg` instead ([`super::udp::defer`]); if that send
    /// fails, `token` is reported to the pipeline
    /// ([`Pipeline::udp_send_failed`]).
    pub fn try_send_now(
        &self,
        transport: Transport,
        to: SocketAddr,
        bytes: Bytes,
        token: Option<u64>,
    ) -> Result<Result<(), SendError>, Bytes> {
        match transport {
            Transport::Udp => {
                let sock = if to.is_ipv6() {
                    &self.udp_v6
                } else {
                    &self.udp_v4
                };
                let Some(sock) = sock.as_ref() else {
                    return Ok(Err(SendError::NoSocket(Transport::Udp)));
                };
                if super::udp::defer(sock, to, &bytes, token) {
                    return Ok(Ok(()));
                }
                match sock.send_to(&bytes, to) {
                    Ok(_) => Ok(Ok(())),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Err(bytes),
                    Err(e) => Ok(Err(SendError::Udp(to, e.to_string()))),
                }
            }
            Transport::Tcp => match self.conns.get(&to).map(|h| h.clone()) {
                Some(h) if !h.tx.is_closed() => {
                    Ok(h.tx.try_send(bytes).map_err(|_| SendError::Busy(to)))
                }
                _ => Err(bytes),
            },
        }
    }

    /// Hands `bytes` to the network towards `to` over `transport`.
    pub async fn send(
        self: &Arc<Self>,
        transport: Transport,
        to: SocketAddr,
        bytes: Bytes,
    ) -> Result<(), SendError> {
        match transport {
            Transport::Udp => {
                let sock = if to.is_ipv6() {
                    &self.udp_v6
                } else {
                    &self.udp_v4
                };
                let sock = sock.as_ref().ok_or(SendError::NoSocket(Transport::Udp))?;
                // The socket buffer was full: give it a moment, a few times.
                let mut tries = 0;
                loop {
                    match sock.send_to(&bytes, to) {
                        Ok(_) => return Ok(()),
                        Err(e)
                            if e.kind() == std::io::ErrorKind::WouldBlock
                                && tries < UDP_RETRIES =>
                        {
                            tries += 1;
                            tokio::time::sleep(Duration::from_millis(1)).await;
                        }
                        Err(e) => return Err(SendError::Udp(to, e.to_string())),
                    }
                }
            }
            Transport::Tcp => {
                let existing = self.conns.get(&to).map(|h| h.clone());
                let h = match existing {
                    Some(h) if !h.tx.is_closed() => h,
                    _ => self.connect(to).await?,
                };
                h.tx.try_send(bytes).map_err(|_| SendError::Busy(to))
            }
        }
    }

    /// Opens an outbound TCP connection to `to` and starts serving it.
    async fn connect(self: &Arc<Self>, to: SocketAddr) -> Result<ConnHandle, SendError> {
        use std::sync::atomic::Ordering;
        if self.outbound_open.fetch_add(1, Ordering::Relaxed) >= self.max_outbound {
            self.outbound_open.fetch_sub(1, Ordering::Relaxed);
            return Err(SendError::TooManyConnections);
        }
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(to)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                self.outbound_open.fetch_sub(1, Ordering::Relaxed);
                return Err(SendError::Connect(to, e.to_string()));
            }
            Err(_) => {
                self.outbound_open.fetch_sub(1, Ordering::Relaxed);
                return Err(SendError::Connect(to, "timed out".into()));
            }
        };
        let _ = stream.set_nodelay(true);
        let Some(pipeline) = self.pipeline.get().and_then(Weak::upgrade) else {
            self.outbound_open.fetch_sub(1, Ordering::Relaxed);
            return Err(SendError::Connect(to, "shutting down".into()));
        };
        let (tx, rx) = mpsc::channel(CONN_QUEUE);
        let h = ConnHandle { tx };
        self.register(to, h.clone());
        let me = self.clone();
        let idle = self.idle;
        let handle = h.clone();
        tokio::spawn(async move {
            super::tcp::connection(stream, to, &pipeline, idle, handle.clone(), rx).await;
            me.unregister(to, &handle);
            me.outbound_open.fetch_sub(1, Ordering::Relaxed);
        });
        Ok(h)
    }
}

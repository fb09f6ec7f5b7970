//! UDP: each listening socket has its own receive thread. The thread blocks
//! in `recvmmsg` (no readiness polling, no async wake-ups: the socket is not
//! registered with the runtime at all), handles every datagram of the batch
//! through the pipeline, and sends the answers of the batch with one
//! `sendmmsg`. Sends from elsewhere (proxy forwarding, retransmission
//! timers, scripts on the pool) are plain non-blocking `sendto` calls on the
//! same socket, so the source address and port always match the Via.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tracing::{debug, warn};

use super::Transport;
use super::batch::{RecvBatch, SendBatch};
use crate::pipeline::{Pipeline, Reply, Step};

/// Largest UDP payload.
const MAX_DATAGRAM: usize = 65_535;
/// Datagrams taken per `recvmmsg` when they queue up.
const BATCH: usize = 32;

/// A bound UDP socket, shared by its receive thread and every sender.
pub struct UdpSock {
    sock: Socket,
    local: SocketAddr,
}

impl UdpSock {
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Sends one datagram without waiting (`WouldBlock` when the socket
    /// buffer is full).
    pub fn send_to(&self, bytes: &[u8], to: SocketAddr) -> io::Result<usize> {
        self.sock
            .send_to_with_flags(bytes, &SockAddr::from(to), libc::MSG_DONTWAIT)
    }

    fn fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

pub(super) fn bind(addr: SocketAddr) -> io::Result<UdpSock> {
    let sock = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        sock.set_only_v6(true)?;
    }
    // Bursts of INVITEs must not be lost in the kernel; best effort.
    let _ = sock.set_recv_buffer_size(4 << 20);
    let _ = sock.set_send_buffer_size(4 << 20);
    // Blocking receive without a timeout (no kernel timer armed per wait;
    // `stop` wakes the thread with a datagram); sends pass MSG_DONTWAIT.
    sock.bind(&addr.into())?;
    let local = sock
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::other("not an IP socket"))?;
    Ok(UdpSock { sock, local })
}

/// Stops the receive thread of `sock` (after `stop` was set): it sleeps in
/// `recvmmsg` without a timeout, so an empty datagram wakes it.
pub(super) fn wake(sock: &UdpSock) {
    let mut to = sock.local;
    if to.ip().is_unspecified() {
        to.set_ip(if to.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let any: SocketAddr = if to.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    if let Ok(s) = std::net::UdpSocket::bind(any) {
        let _ = s.send_to(&[], to);
    }
}

/// Starts the receive thread of `sock`; it serves until `stop` is set.
/// Must be called inside the runtime (scripts on the pool and the proxy's
/// tasks are spawned onto it).
pub(super) fn spawn(
    sock: Arc<UdpSock>,
    pipeline: Arc<Pipeline>,
    stop: Arc<AtomicBool>,
) -> io::Result<std::thread::JoinHandle<()>> {
    let rt = tokio::runtime::Handle::current();
    std::thread::Builder::new()
        .name(format!("udp-{}", sock.local))
        .spawn(move || {
            let _rt = rt.enter();
            serve(&sock, &pipeline, &stop);
        })
}

fn serve(sock: &Arc<UdpSock>, pipeline: &Arc<Pipeline>, stop: &AtomicBool) {
    let mut rx = RecvBatch::new(BATCH, MAX_DATAGRAM);
    let mut tx = SendBatch::new();
    while !stop.load(Ordering::Relaxed) {
        let n = match rx.recv(sock.fd(), libc::MSG_WAITFORONE) {
            Ok(_) if stop.load(Ordering::Relaxed) => break,
            Ok(n) => n,
            Err(e) => {
                // ICMP errors surface here on some platforms; keep serving.
                debug!(error = %e, "udp recv error");
                continue;
            }
        };
        for i in 0..n {
            let (data, src, truncated) = rx.get(i);
            let Some(src) = src else { continue };
            if truncated {
                debug!(%src, "udp datagram larger than {MAX_DATAGRAM} bytes dropped");
                continue;
            }
            match pipeline.process(data, src, Transport::Udp) {
                Step::Done(Some(reply)) => tx.push(reply.to, reply.bytes),
                Step::Done(None) => {}
                Step::Script(call) if pipeline.script_inline() => {
                    if let Some(reply) = pipeline.run_script_here(call) {
                        tx.push(reply.to, reply.bytes);
                    }
                }
                Step::Script(call) => {
                    // Scripts run on the engine's pool; the receive loop goes on.
                    let (sock, pipeline) = (sock.clone(), pipeline.clone());
                    tokio::spawn(async move {
                        if let Some(reply) = pipeline.run_script(call).await {
                            send(&sock, reply);
                        }
                    });
                }
            }
        }
        if !tx.is_empty() {
            tx.flush(sock.fd(), |to, e| {
                warn!(to = ?to, error = %e, "udp send failed");
            });
        }
    }
}

fn send(sock: &UdpSock, reply: Reply) {
    if let Err(e) = sock.send_to(&reply.bytes, reply.to) {
        warn!(to = %reply.to, error = %e, "udp send failed");
    }
}

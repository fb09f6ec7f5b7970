//! UDP: each listening socket has its own receive thread. The thread blocks
//! in `recvmmsg` (no readiness polling, no async wake-ups: the socket is not
//! registered with the runtime at all), handles every datagram of the batch
//! through the pipeline, and sends whatever the batch produced — answers,
//! and the proxy's forwarded requests and relayed responses — with one
//! `sendmmsg` per socket, in order ([`defer`]). Sends from elsewhere
//! (retransmission timers, scripts on the pool) are plain non-blocking
//! `sendto` calls on the same sockets, so the source address and port always
//! match the Via.

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tracing::{debug, warn};

use super::Transport;
use super::batch::{RecvBatch, SendBatch};
use crate::pipeline::{Pipeline, Reply, Step};

thread_local! {
    /// A receive thread's outgoing datagrams while it handles a batch.
    static DEFERRED: RefCell<Deferred> = RefCell::new(Deferred::default());
}

#[derive(Default)]
struct Deferred {
    /// Set while this thread is a receive thread handling a batch.
    active: bool,
    /// One batch per socket sent from.
    batches: Vec<(RawFd, SendBatch)>,
}

/// On a receive thread handling a batch: queues the datagram to leave with
/// the batch's `sendmmsg` (after everything queued before it on `sock`) and
/// returns true; a failure is reported through
/// [`Pipeline::udp_send_failed`] with `token`. Elsewhere: false (send it
/// now).
pub(crate) fn defer(sock: &UdpSock, to: SocketAddr, bytes: &Bytes, token: Option<u64>) -> bool {
    DEFERRED.with(|d| {
        let Ok(mut d) = d.try_borrow_mut() else {
            return false;
        };
        if !d.active {
            return false;
        }
        let fd = sock.fd();
        let i = match d.batches.iter().position(|(f, _)| *f == fd) {
            Some(i) => i,
            None => {
                d.batches.push((fd, SendBatch::new()));
                d.batches.len() - 1
            }
        };
        d.batches[i].1.push(to, bytes.clone(), token);
        true
    })
}

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
    let mut failed = Vec::new();
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
        DEFERRED.with(|d| d.borrow_mut().active = true);
        for i in 0..n {
            let (data, src, truncated) = rx.get(i);
            let Some(src) = src else { continue };
            if truncated {
                debug!(%src, "udp datagram larger than {MAX_DATAGRAM} bytes dropped");
                continue;
            }
            let reply = match pipeline.process(data, src, Transport::Udp) {
                Step::Done(reply) => reply,
                Step::Script(call) => {
                    // Scripts run on the engine's pool; the receive loop goes on.
                    let (sock, pipeline) = (sock.clone(), pipeline.clone());
                    tokio::spawn(async move {
                        if let Some(reply) = pipeline.run_script(call).await {
                            send(&sock, reply);
                        }
                    });
                    None
                }
            };
            if let Some(reply) = reply {
                let bytes = Bytes::from(reply.bytes);
                if !defer(sock, reply.to, &bytes, None) {
                    send_bytes(sock, &bytes, reply.to);
                }
            }
        }
        DEFERRED.with(|d| {
            let mut d = d.borrow_mut();
            d.active = false;
            for (fd, batch) in d.batches.iter_mut().filter(|(_, b)| !b.is_empty()) {
                batch.flush(*fd, |to, token, e| {
                    debug!(to = ?to, error = %e, "udp send failed");
                    failed.extend(token);
                });
            }
        });
        for token in failed.drain(..) {
            pipeline.udp_send_failed(token);
        }
    }
}

fn send(sock: &UdpSock, reply: Reply) {
    send_bytes(sock, &reply.bytes, reply.to);
}

fn send_bytes(sock: &UdpSock, bytes: &[u8], to: SocketAddr) {
    if let Err(e) = sock.send_to(bytes, to) {
        warn!(%to, error = %e, "udp send failed");
    }
}

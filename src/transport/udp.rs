//! UDP: one receive loop per socket; each datagram is one message.

use std::net::SocketAddr;
use std::sync::Arc;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tracing::{debug, warn};

use super::Transport;
use crate::pipeline::{Pipeline, Reply, Step};

/// Largest UDP payload.
const MAX_DATAGRAM: usize = 65_535;

pub(super) fn bind(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let sock = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        sock.set_only_v6(true)?;
    }
    // Bursts of INVITEs must not be lost in the kernel; best effort.
    let _ = sock.set_recv_buffer_size(4 << 20);
    let _ = sock.set_send_buffer_size(4 << 20);
    sock.set_nonblocking(true)?;
    sock.bind(&addr.into())?;
    UdpSocket::from_std(sock.into())
}

pub(super) async fn serve(sock: Arc<UdpSocket>, pipeline: Arc<Pipeline>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let (n, src) = match sock.recv_from(&mut buf).await {
            Ok(v) => v,
            Err(e) => {
                // ICMP errors surface here on some platforms; keep serving.
                debug!(error = %e, "udp recv error");
                continue;
            }
        };
        match pipeline.process(&buf[..n], src, Transport::Udp) {
            Step::Done(Some(reply)) => send(&sock, reply).await,
            Step::Done(None) => {}
            Step::Script(call) if pipeline.script_inline() => {
                if let Some(reply) = pipeline.run_script_here(call) {
                    send(&sock, reply).await;
                }
            }
            Step::Script(call) => {
                // Scripts run on the engine's pool; the receive loop goes on.
                let (sock, pipeline) = (sock.clone(), pipeline.clone());
                tokio::spawn(async move {
                    if let Some(reply) = pipeline.run_script(call).await {
                        send(&sock, reply).await;
                    }
                });
            }
        }
    }
}

async fn send(sock: &UdpSocket, reply: Reply) {
    if let Err(e) = sock.send_to(&reply.bytes, reply.to).await {
        warn!(to = %reply.to, error = %e, "udp send failed");
    }
}

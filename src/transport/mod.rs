//! Transports: UDP and TCP listeners, and the addressing rules for responses.

use std::fmt;

/// A SIP transport protocol sipforge can speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    /// Lower-case name as used in `;transport=` parameters and in `data.routing.transport`.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        }
    }

    /// Upper-case name as used in a Via header's sent-protocol (`SIP/2.0/UDP`).
    pub fn via_name(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }

    /// Parses `udp` / `tcp` case-insensitively.
    pub fn parse(s: &str) -> Option<Transport> {
        if s.eq_ignore_ascii_case("udp") {
            Some(Transport::Udp)
        } else if s.eq_ignore_ascii_case("tcp") {
            Some(Transport::Tcp)
        } else {
            None
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub mod batch;
pub mod outbound;
pub mod resolve;
mod tcp;
mod udp;

pub use outbound::{Outbound, SendError};
pub use udp::UdpSock;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::task::JoinSet;
use tracing::info;

use crate::config::Config;
use crate::pipeline::Pipeline;

/// A transport-layer failure (binding, socket setup).
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot listen on {transport} {addr}: {source}")]
    Bind {
        transport: Transport,
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Every socket sipforge listens on, bound but not yet serving.
pub struct Listeners {
    udp: Vec<Arc<UdpSock>>,
    tcp: Vec<tokio::net::TcpListener>,
    tcp_max_connections: usize,
    tcp_idle: std::time::Duration,
    advertised_ip: Option<std::net::IpAddr>,
}

impl Listeners {
    /// Binds every configured address (so a port in use fails before serving).
    pub fn bind(config: &Config) -> Result<Listeners, TransportError> {
        let mut udp = Vec::new();
        for &addr in &config.server.listen_udp {
            let sock = udp::bind(addr).map_err(|source| TransportError::Bind {
                transport: Transport::Udp,
                addr,
                source,
            })?;
            udp.push(Arc::new(sock));
        }
        let mut tcp = Vec::new();
        for &addr in &config.server.listen_tcp {
            let l = tcp::bind(addr).map_err(|source| TransportError::Bind {
                transport: Transport::Tcp,
                addr,
                source,
            })?;
            tcp.push(l);
        }
        Ok(Listeners {
            udp,
            tcp,
            advertised_ip: config.server.advertised_ip,
            tcp_max_connections: config.sip.tcp_max_connections,
            tcp_idle: std::time::Duration::from_secs(config.sip.tcp_idle_timeout_secs),
        })
    }

    /// The bound local addresses, `(transport, addr)` (ports resolved when 0 was asked).
    pub fn local_addrs(&self) -> Vec<(Transport, SocketAddr)> {
        let mut v = Vec::new();
        for s in &self.udp {
            v.push((Transport::Udp, s.local_addr()));
        }
        for l in &self.tcp {
            if let Ok(a) = l.local_addr() {
                v.push((Transport::Tcp, a));
            }
        }
        v
    }

    /// Serves until `shutdown` resolves.
    pub async fn serve(
        self,
        pipeline: Arc<Pipeline>,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        // Every address is known to the pipeline (proxy mode advertises them in
        // Via/Record-Route and recognises its own Routes) before any message
        // can arrive.
        for (t, a) in self.local_addrs() {
            info!("listening on {t} {a}");
            let adv = advertised_addr(a, self.advertised_ip);
            if adv != a {
                info!("{t} {a} advertised as {adv} in Via and Record-Route");
            }
            pipeline.add_local(t, adv);
        }
        let outbound = Arc::new(Outbound::new(
            &self.udp,
            self.tcp_max_connections,
            self.tcp_idle,
        ));
        outbound.set_pipeline(&pipeline);
        pipeline.set_outbound(outbound.clone());
        let mut tasks = JoinSet::new();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let udp = self.udp.clone();
        for sock in self.udp {
            let addr = sock.local_addr();
            if let Err(e) = udp::spawn(sock, pipeline.clone(), stop.clone()) {
                tracing::error!(%addr, error = %e, "cannot start the UDP receive thread");
            }
        }
        let conn_limit = Arc::new(tokio::sync::Semaphore::new(self.tcp_max_connections));
        for l in self.tcp {
            tasks.spawn(tcp::serve(
                l,
                pipeline.clone(),
                outbound.clone(),
                conn_limit.clone(),
                self.tcp_idle,
            ));
        }
        shutdown.await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for sock in &udp {
            udp::wake(sock);
        }
        tasks.abort_all();
    }
}

/// The address proxy mode writes in Via and Record-Route for a listener
/// bound to `bound`: `advertised` (same IP family) when configured — a
/// listener behind NAT or bound to a wildcard — else the bound address; a
/// wildcard (`0.0.0.0`, `::`) without one becomes the address of the
/// interface holding the default route (the loopback address when there is
/// none, with a warning).
pub fn advertised_addr(bound: SocketAddr, advertised: Option<std::net::IpAddr>) -> SocketAddr {
    if let Some(ip) = advertised.filter(|ip| ip.is_ipv4() == bound.is_ipv4()) {
        return SocketAddr::new(ip, bound.port());
    }
    if !bound.ip().is_unspecified() {
        return bound;
    }
    let (any, probe): (SocketAddr, SocketAddr) = if bound.is_ipv4() {
        (([0, 0, 0, 0], 0).into(), ([192, 0, 2, 1], 9).into())
    } else {
        (
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
            (
                "2001:db8::1"
                    .parse::<std::net::Ipv6Addr>()
                    .unwrap_or(std::net::Ipv6Addr::LOCALHOST),
                9,
            )
                .into(),
        )
    };
    // A connected UDP socket learns its source address from the routing
    // table; nothing is sent.
    let detected = std::net::UdpSocket::bind(any)
        .and_then(|s| s.connect(probe).map(|_| s))
        .and_then(|s| s.local_addr())
        .map(|a| a.ip())
        .ok()
        .filter(|ip| !ip.is_unspecified());
    let ip = detected.unwrap_or_else(|| {
        let lo = if bound.is_ipv4() {
            std::net::IpAddr::from([127, 0, 0, 1])
        } else {
            std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST)
        };
        tracing::warn!(%bound, "no address to advertise for a wildcard listener; using {lo} (set server.advertised_ip)");
        lo
    });
    SocketAddr::new(ip, bound.port())
}

#[cfg(test)]
mod tests {
    use super::advertised_addr;
    use std::net::SocketAddr;

    #[test]
    fn advertised_addresses() {
        let a: SocketAddr = "10.0.0.5:5060".parse().unwrap();
        assert_eq!(advertised_addr(a, None), a);
        let public = "203.0.113.7".parse().ok();
        assert_eq!(
            advertised_addr(a, public),
            "203.0.113.7:5060".parse().unwrap()
        );
        // Another family's advertised address does not apply.
        let v6: SocketAddr = "[::1]:5070".parse().unwrap();
        assert_eq!(advertised_addr(v6, public), v6);
        // A wildcard becomes a concrete address, same port.
        let any: SocketAddr = "0.0.0.0:5080".parse().unwrap();
        let got = advertised_addr(any, None);
        assert!(!got.ip().is_unspecified() && got.is_ipv4(), "{got}");
        assert_eq!(got.port(), 5080);
    }
}

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

pub mod outbound;
mod tcp;
mod udp;

pub use outbound::{Outbound, SendError};

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
    udp: Vec<Arc<tokio::net::UdpSocket>>,
    tcp: Vec<tokio::net::TcpListener>,
    tcp_max_connections: usize,
    tcp_idle: std::time::Duration,
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
            tcp_max_connections: config.sip.tcp_max_connections,
            tcp_idle: std::time::Duration::from_secs(config.sip.tcp_idle_timeout_secs),
        })
    }

    /// The bound local addresses, `(transport, addr)` (ports resolved when 0 was asked).
    pub fn local_addrs(&self) -> Vec<(Transport, SocketAddr)> {
        let mut v = Vec::new();
        for s in &self.udp {
            if let Ok(a) = s.local_addr() {
                v.push((Transport::Udp, a));
            }
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
            pipeline.add_local(t, a);
            info!("listening on {t} {a}");
        }
        let outbound = Arc::new(Outbound::new(
            &self.udp,
            self.tcp_max_connections,
            self.tcp_idle,
        ));
        outbound.set_pipeline(&pipeline);
        pipeline.set_outbound(outbound.clone());
        let mut tasks = JoinSet::new();
        for sock in self.udp {
            tasks.spawn(udp::serve(sock, pipeline.clone()));
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
        tasks.abort_all();
    }
}

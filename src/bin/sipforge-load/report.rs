//! Counting and reporting: a log-linear latency histogram (HDR-like, 512
//! sub-buckets per power of two: under 0.2 % error, fixed memory), the run's
//! counters, and a tiny HTTP GET for the system under test's `/metrics`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

const SUB_BITS: u32 = 9;
const SUB: usize = 1 << SUB_BITS;

/// Latency samples in µs.
#[derive(Debug, Clone)]
pub struct Histogram {
    buckets: Vec<u64>,
    count: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: vec![0; SUB * 2 + SUB * 64],
            count: 0,
            max: 0,
        }
    }
}

impl Histogram {
    fn bucket(v: u64) -> usize {
        if v < (SUB as u64) * 2 {
            return v as usize;
        }
        let e = 63 - v.leading_zeros() - SUB_BITS;
        e as usize * SUB + (v >> e) as usize
    }

    /// The lower bound of bucket `i` plus half its width.
    fn value(i: usize) -> u64 {
        if i < SUB * 2 {
            return i as u64;
        }
        let e = (i / SUB - 1) as u32;
        let m = (i - e as usize * SUB) as u64;
        (m << e) + ((1u64 << e) >> 1)
    }

    pub fn record(&mut self, us: u64) {
        let b = Self::bucket(us).min(self.buckets.len() - 1);
        self.buckets[b] += 1;
        self.count += 1;
        self.max = self.max.max(us);
    }

    /// The `q`-quantile (0..=1) in µs; 0 without samples.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (i, &n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Self::value(i).min(self.max);
            }
        }
        self.max
    }

    pub fn max(&self) -> u64 {
        self.max
    }
}

/// What the caller counted.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub started: u64,
    pub started_so_far: u64,
    pub completed: u64,
    pub failed: u64,
    /// Final codes of the INVITEs (first final per call).
    pub codes: Vec<(u16, u64)>,
    pub timeouts: u64,
    pub bye_timeouts: u64,
    pub bye_failed: u64,
    pub retransmissions: u64,
    pub final_retransmissions: u64,
    pub requests_received: u64,
    pub unparsed: u64,
    pub stray: u64,
    pub send_errors: u64,
    pub latency: Histogram,
    pub elapsed: Duration,
}

impl Stats {
    pub fn count_code(&mut self, code: u16) {
        match self.codes.iter_mut().find(|(c, _)| *c == code) {
            Some((_, n)) => *n += 1,
            None => {
                self.codes.push((code, 1));
                self.codes.sort_unstable();
            }
        }
    }
}

/// Why `/metrics` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("metrics URL must look like http://host:port/path: {0}")]
    Url(String),
    #[error("metrics request failed: {0}")]
    Io(#[from] std::io::Error),
}

/// `GET url` (plain http) and the un-labelled samples of the families the
/// soak cares about (tables, active calls, memory).
pub fn fetch_metrics(url: &str) -> Result<Vec<(String, f64)>, MetricsError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| MetricsError::Url(url.to_string()))?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/metrics"),
    };
    let addr: SocketAddr = hostport
        .to_socket_addrs()
        .map_err(|_| MetricsError::Url(url.to_string()))?
        .next()
        .ok_or_else(|| MetricsError::Url(url.to_string()))?;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(3)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\n\r\n"
    )?;
    let mut body = String::new();
    s.read_to_string(&mut body)?;
    Ok(parse_metrics(&body))
}

const WANTED: &[&str] = &[
    "sipforge_transactions_active",
    "sipforge_dialogs_active",
    "sipforge_calls_active",
    "sipforge_tcp_connections",
    "process_resident_memory_bytes",
    "process_cpu_seconds_total",
];

fn parse_metrics(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .filter(|(name, _)| WANTED.contains(name))
        .filter_map(|(name, v)| Some((name.to_string(), v.trim().parse().ok()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantiles_are_close() {
        let mut h = Histogram::default();
        for v in 1..=100_000u64 {
            h.record(v);
        }
        for (q, want) in [(0.5, 50_000f64), (0.9, 90_000.0), (0.99, 99_000.0)] {
            let got = h.quantile(q) as f64;
            assert!((got - want).abs() / want < 0.005, "q{q}: {got} vs {want}");
        }
        assert_eq!(h.max(), 100_000);
        assert_eq!(h.quantile(1.0), 100_000);
    }

    #[test]
    fn small_values_are_exact() {
        let mut h = Histogram::default();
        for v in [3, 7, 7, 900] {
            h.record(v);
        }
        assert_eq!(h.quantile(0.5), 7);
        assert_eq!(h.quantile(1.0), 900);
    }

    #[test]
    fn metrics_lines() {
        let m = parse_metrics(
            "# HELP x\nsipforge_transactions_active 3\nsipforge_egress_attempts_total{a=\"b\"} 1\nsipforge_dialogs_active 0\n",
        );
        assert_eq!(
            m,
            vec![
                ("sipforge_transactions_active".to_string(), 3.0),
                ("sipforge_dialogs_active".to_string(), 0.0)
            ]
        );
    }
}

//! `sipforge-load`: an open-loop SIP load generator for sipforge (and any
//! SIP server): redirect (INVITE → 302 → ACK) or full proxied calls
//! (INVITE/100/180/200/ACK/BYE/200) against a built-in UAS, over UDP or TCP.
//! Prints a progress line per second on stderr and a JSON summary on stdout
//! (achieved rate, codes, retransmissions, latency percentiles, its own CPU
//! per call, optionally the target's `/metrics`). Exit 0 when every call
//! completed with the expected final code, 1 when some did not, 2 on a usage
//! or setup error.

mod net;
mod report;
mod uac;
mod uas;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::{Parser, ValueEnum};
use serde_json::{Map, Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    Redirect,
    Proxy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Transport {
    Udp,
    Tcp,
}

/// Open-loop SIP load generator (calls start on schedule whatever the
/// responses do).
#[derive(Debug, Parser)]
#[command(name = "sipforge-load", version)]
struct Args {
    /// The system under test.
    #[arg(long, default_value = "127.0.0.1:5060")]
    target: SocketAddr,
    #[arg(long, value_enum, default_value = "redirect")]
    scenario: Scenario,
    /// Offered calls per second.
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    /// Number of calls (default 10000 unless --duration is given).
    #[arg(long, conflicts_with = "duration")]
    count: Option<u64>,
    /// Seconds of offered load (count = rate × duration).
    #[arg(long)]
    duration: Option<f64>,
    #[arg(long, value_enum, default_value = "udp")]
    transport: Transport,
    /// Client sockets (UDP) or connections (TCP); calls go round-robin.
    #[arg(long, default_value_t = 4)]
    sockets: usize,
    /// Built-in UAS addresses (proxy scenario), comma-separated.
    #[arg(long, value_delimiter = ',')]
    uas: Vec<SocketAddr>,
    /// Fraction of INVITEs the first UAS answers with 503.
    #[arg(long, default_value_t = 0.0)]
    uas_fail: f64,
    /// Request-URI user prefixes (one picked per call, digits appended to 11).
    #[arg(long, value_delimiter = ',', default_value = "1")]
    prefixes: Vec<String>,
    /// Also write the JSON summary to this file.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
    /// No progress line per second.
    #[arg(long)]
    no_progress: bool,
    /// The target's Prometheus endpoint, read once at the end.
    #[arg(long)]
    metrics: Option<String>,
    /// A call without its final answer (and BYE answer) by then fails.
    #[arg(long, default_value_t = 4000)]
    timeout_ms: u64,
    /// Proxy scenario: time between the ACK and the BYE.
    #[arg(long, default_value_t = 0)]
    hold_ms: u64,
    /// RFC 3261 T1 for INVITE (timer A) and BYE (timer E) retransmissions.
    #[arg(long, default_value_t = 500)]
    t1_ms: u64,
    /// Expected final code of the INVITE (0: any final); default 302 for
    /// redirect, 200 for proxy.
    #[arg(long)]
    expect: Option<u16>,
}

#[derive(Debug, thiserror::Error)]
enum LoadError {
    #[error("{0}")]
    Usage(String),
    #[error("cannot bind the UAS: {0}")]
    Uas(std::io::Error),
    #[error("cannot open the client sockets: {0}")]
    Client(std::io::Error),
    #[error("cannot write {path}: {err}")]
    Json { path: String, err: std::io::Error },
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("sipforge-load: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<bool, LoadError> {
    if !(args.rate.is_finite() && args.rate > 0.0) {
        return Err(LoadError::Usage("--rate must be > 0".into()));
    }
    if args.sockets == 0 || args.sockets > 1024 {
        return Err(LoadError::Usage("--sockets must be 1..=1024".into()));
    }
    if !(0.0..=1.0).contains(&args.uas_fail) {
        return Err(LoadError::Usage("--uas-fail must be within 0..=1".into()));
    }
    if args
        .prefixes
        .iter()
        .any(|p| p.is_empty() || p.len() > 20 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(LoadError::Usage(
            "--prefixes must be 1-20 digits each".into(),
        ));
    }
    let count = match (args.count, args.duration) {
        (Some(c), _) => c,
        (None, Some(d)) if d > 0.0 => (args.rate * d).ceil() as u64,
        (None, Some(_)) => return Err(LoadError::Usage("--duration must be > 0".into())),
        (None, None) => 10_000,
    };
    let expect = args.expect.unwrap_or(match args.scenario {
        Scenario::Redirect => 302,
        Scenario::Proxy => 200,
    });

    let stop = Arc::new(AtomicBool::new(false));
    let uas = if args.uas.is_empty() {
        None
    } else {
        let u = uas::Uas::bind(&args.uas, args.uas_fail).map_err(LoadError::Uas)?;
        let stop = stop.clone();
        Some(std::thread::spawn(move || u.run(stop)))
    };

    let cfg = uac::UacConfig {
        target: args.target,
        scenario: args.scenario,
        tcp: args.transport == Transport::Tcp,
        rate: args.rate,
        count,
        sockets: args.sockets,
        prefixes: args.prefixes.clone(),
        timeout: Duration::from_millis(args.timeout_ms),
        hold: Duration::from_millis(args.hold_ms),
        t1: Duration::from_millis(args.t1_ms.max(1)),
        expect,
        progress: !args.no_progress,
    };
    let cpu0 = net::cpu_process();
    let mut uac = match uac::Uac::new(cfg) {
        Ok(u) => u,
        Err(e) => {
            stop.store(true, Ordering::Relaxed);
            return Err(LoadError::Client(e));
        }
    };
    uac.run();
    stop.store(true, Ordering::Relaxed);
    let uas_stats = uas.and_then(|h| h.join().ok());
    let cpu = net::cpu_process().saturating_sub(cpu0);

    let s = &uac.stats;
    let secs = s.elapsed.as_secs_f64().max(1e-9);
    let h = uac.histogram();
    let per_call = |d: Duration| {
        if s.started == 0 {
            0.0
        } else {
            round2(d.as_secs_f64() * 1e6 / s.started as f64)
        }
    };
    let mut codes = Map::new();
    for (c, n) in &s.codes {
        codes.insert(c.to_string(), json!(n));
    }
    let mut summary = json!({
        "scenario": match args.scenario { Scenario::Redirect => "redirect", Scenario::Proxy => "proxy" },
        "transport": match args.transport { Transport::Udp => "udp", Transport::Tcp => "tcp" },
        "offered_rate": args.rate,
        "achieved_rate": round2(s.completed as f64 / secs),
        "duration_s": round2(secs),
        "started": s.started,
        "completed": s.completed,
        "failed": s.failed,
        "codes": codes,
        "timeouts": s.timeouts,
        "bye_timeouts": s.bye_timeouts,
        "bye_failed": s.bye_failed,
        "retransmissions": s.retransmissions,
        "final_retransmissions_received": s.final_retransmissions,
        "latency_us": {
            "p50": h.quantile(0.50),
            "p90": h.quantile(0.90),
            "p99": h.quantile(0.99),
            "max": h.max(),
        },
        "tool_cpu_us_per_call": per_call(cpu),
        "send_errors": s.send_errors,
        "unparsed": s.unparsed,
        "stray": s.stray,
    });
    if let Some(u) = &uas_stats {
        summary["uas"] = json!({
            "invites": u.invites,
            "answered": u.answered,
            "rejected_503": u.rejected_503,
            "acks": u.acks,
            "byes": u.byes,
            "other": u.other,
            "cpu_us_per_call": per_call(u.cpu),
        });
    }
    if let Some(url) = &args.metrics {
        match report::fetch_metrics(url) {
            Ok(m) => {
                let mut o = Map::new();
                for (k, v) in m {
                    // Gauges and counters are integral: print them as such.
                    let v = if v.fract() == 0.0 && v.abs() < 9e15 {
                        json!(v as i64)
                    } else {
                        json!(v)
                    };
                    o.insert(k, v);
                }
                summary["metrics"] = Value::Object(o);
            }
            Err(e) => {
                eprintln!("sipforge-load: {e}");
                summary["metrics_error"] = json!(e.to_string());
            }
        }
    }
    let text = serde_json::to_string_pretty(&summary).unwrap_or_default();
    println!("{text}");
    if let Some(path) = &args.json {
        std::fs::write(path, format!("{text}\n")).map_err(|err| LoadError::Json {
            path: path.display().to_string(),
            err,
        })?;
    }
    Ok(s.started == count && s.completed == s.started && s.failed == 0)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

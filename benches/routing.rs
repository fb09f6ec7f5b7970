//! Routing benchmarks over a 1,000,000-prefix table.
//!
//! * Build: once, timed with `Instant` and printed together with the RSS growth
//!   (VmRSS from /proc/self/status), both through the public path a user hits —
//!   a CSV `routes_file` loaded by `Router::new` from a TOML config — and for the
//!   raw `PrefixTable::build`.
//! * Lookup: random 11-digit numbers through `Router::route` (longest-prefix match
//!   plus building the egress list) and through `PrefixTable::lookup` alone.
//!
//! Run: `cargo bench --bench routing -- --warm-up-time 1 --measurement-time 3`

#[path = "../tests/fixtures/mod.rs"]
mod fixtures;

use std::collections::HashSet;
use std::hint::black_box;
use std::io::Write;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use sipforge::config::Config;
use sipforge::routing::{PrefixTable, Router};

const PREFIXES: usize = 1_000_000;
const CARRIERS: [&str; 3] = ["carrier-a", "carrier-b", "carrier-c"];

/// 1,000,000 distinct random digit prefixes of length 4..=10 (fixed seed).
fn prefixes() -> Vec<String> {
    let mut rng = fastrand::Rng::with_seed(0x5EED_F0F6);
    let mut seen = HashSet::with_capacity(PREFIXES);
    let mut out = Vec::with_capacity(PREFIXES);
    while out.len() < PREFIXES {
        let len = rng.usize(4..=10);
        let p: String = (0..len).map(|_| rng.digit(10)).collect();
        if seen.insert(p.clone()) {
            out.push(p);
        }
    }
    out
}

/// Random 11-digit numbers to look up (fixed seed, different stream).
fn numbers(n: usize) -> Vec<String> {
    let mut rng = fastrand::Rng::with_seed(0xCA11);
    (0..n)
        .map(|_| (0..11).map(|_| rng.digit(10)).collect())
        .collect()
}

/// Resident set size of this process in KiB (Linux), 0 if unknown.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The demo carriers (`carrier-uk` named `carrier-c`, keeping the CSV the size
/// quoted in docs/BENCHMARKS.md) and one customer routed by `routes_file`.
fn config_toml(routes_file: &std::path::Path) -> String {
    format!(
        r#"{carriers}[[customers]]
id = "bench"
sources = ["127.0.0.1/32"]
routes_file = {path:?}
"#,
        carriers = fixtures::demo_carriers().replace("carrier-uk", "carrier-c"),
        path = routes_file.display().to_string()
    )
}

struct Built {
    router: Router,
    table: PrefixTable<u32>,
}

fn build() -> Built {
    let prefixes = prefixes();

    // The user's path: CSV file + TOML config + Router::new.
    let dir = tempfile::tempdir().expect("tempdir");
    let csv_path = dir.path().join("routes.csv");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&csv_path).expect("csv"));
        writeln!(f, "prefix,carrier,priority,weight").expect("write");
        for (i, p) in prefixes.iter().enumerate() {
            writeln!(f, "{p},{},0,1", CARRIERS[i % CARRIERS.len()]).expect("write");
        }
        f.flush().expect("flush");
    }
    let csv_bytes = std::fs::metadata(&csv_path).map_or(0, |m| m.len());
    let cfg = Config::from_toml(&config_toml(&csv_path), "bench.toml").expect("config");
    let rss0 = rss_kib();
    let t = Instant::now();
    let router = Router::new(&cfg).expect("router");
    let router_time = t.elapsed();
    let rss1 = rss_kib();
    assert_eq!(router.prefix_count(0), PREFIXES);
    eprintln!(
        "routing: Router::new (CSV {:.1} MiB, {} rows, incl. reading + parsing the file): {:.3} s, RSS +{:.1} MiB ({:.1} -> {:.1} MiB)",
        csv_bytes as f64 / 1048576.0,
        PREFIXES,
        router_time.as_secs_f64(),
        (rss1.saturating_sub(rss0)) as f64 / 1024.0,
        rss0 as f64 / 1024.0,
        rss1 as f64 / 1024.0,
    );

    // The raw trie.
    let entries: Vec<(String, u32)> = prefixes
        .into_iter()
        .enumerate()
        .map(|(i, p)| (p, i as u32))
        .collect();
    let rss2 = rss_kib();
    let t = Instant::now();
    let table = PrefixTable::build(entries).expect("table");
    let table_time = t.elapsed();
    let rss3 = rss_kib();
    eprintln!(
        "routing: PrefixTable::build ({} prefixes, {} trie nodes, ~{:.1} MiB heap): {:.3} s, RSS +{:.1} MiB",
        table.len(),
        table.node_count(),
        table.heap_bytes() as f64 / 1048576.0,
        table_time.as_secs_f64(),
        (rss3 as i64 - rss2 as i64) as f64 / 1024.0,
    );
    Built { router, table }
}

fn bench(c: &mut Criterion) {
    let built = build();
    let numbers = numbers(4096);
    let hits = numbers
        .iter()
        .filter(|n| built.table.lookup(n).is_some())
        .count();
    eprintln!(
        "routing: {hits}/{} random 11-digit numbers match a prefix",
        numbers.len()
    );

    let mut g = c.benchmark_group("routing_1m");
    let mut i = 0usize;
    g.bench_function("Router::route", |b| {
        b.iter(|| {
            i = (i + 1) & (numbers.len() - 1);
            black_box(built.router.route(0, black_box(&numbers[i]), "12125550199"))
        })
    });
    let mut i = 0usize;
    g.bench_function("PrefixTable::lookup", |b| {
        b.iter(|| {
            i = (i + 1) & (numbers.len() - 1);
            black_box(built.table.lookup(black_box(&numbers[i])))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

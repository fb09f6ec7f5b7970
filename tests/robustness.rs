//! No panic on hostile input, in-process: the RFC 4475 corpus and a few valid
//! messages, mutated with a fixed-seed RNG (bit flips, byte inserts and
//! deletes, truncation, duplicated lines, huge header lines, 10,000 headers,
//! deep folding, NUL bytes, absurd Content-Length digits, splices, line-end
//! rewrites), each run through `Message::parse`, `validate_request`, `frame`,
//! an `Editor` round trip and `Pipeline::handle`.
//!
//! Invariants checked besides "no panic":
//! * every answer is one well-formed response: `SIP/2.0 NNN ` first, CRLF
//!   line ends only (no bare CR, no bare LF), exactly one `Content-Length`,
//!   ends with the blank line, and only header names the pipeline writes
//!   (anything else would be header injection from the request);
//! * `frame` never claims more bytes than the buffer holds;
//! * parsed spans stay inside the buffer;
//! * editing a request that validates yields a request that still validates
//!   (or is only over a size cap: 513).
//!
//! A failing case prints its input (escaped) so it can be replayed.

mod fixtures;

use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sipforge::config::Config;
use sipforge::metrics::Metrics;
use sipforge::pipeline::Pipeline;
use sipforge::routing::Router;
use sipforge::sip::{Editor, Frame, Limits, Message, frame, validate_request, write_response};
use sipforge::transport::Transport;

/// The loopback carrier INVITE (customer 127.0.0.1, R-URI user +14155550123).
fn invite() -> Vec<u8> {
    fixtures::carrier_invite("+14155550123", "127.0.0.1")
}

const OPTIONS: &[u8] = b"OPTIONS sip:127.0.0.1 SIP/2.0\r\n\
v: SIP/2.0/TCP 127.0.0.1:5062;branch=z9hG4bKopt42, SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKx\r\n\
Max-Forwards: 70\r\n\
t: <sip:127.0.0.1>\r\n\
f: <sip:ping@127.0.0.1>;tag=p1n6\r\n\
i: opt-8812@127.0.0.1\r\n\
CSeq: 1 OPTIONS\r\n\
Proxy-Require: foo\r\n\
l: 0\r\n\
\r\n";

const REGISTER: &[u8] = b"REGISTER sip:registrar.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKreg7;received=10.0.0.1\r\n\
To: Bob <sip:bob@example.com>\r\n\
From: Bob <sip:bob@example.com>;tag=456248\r\n\
Call-ID: 843817637684230@998sdasdh09\r\n\
CSeq: 1826 REGISTER\r\n\
Contact: <sip:bob@192.0.2.50:5060>;expires=3600, *\r\n\
Route: <sip:127.0.0.1;lr>\r\n\
Content-Length: 0\r\n\
\r\n";

const RESPONSE: &[u8] = b"SIP/2.0 200 OK\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK-77d3a1c5e3f1\r\n\
From: <sip:a@127.0.0.1>;tag=1\r\n\
To: <sip:b@127.0.0.1>;tag=2\r\n\
Call-ID: x@y\r\n\
CSeq: 102 INVITE\r\n\
Content-Length: 0\r\n\
\r\n";

/// Header names a pipeline answer may contain; anything else was injected.
const ANSWER_HEADERS: &[&str] = &[
    "Via",
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Contact",
    "Allow",
    "Accept",
    "Unsupported",
    "Server",
    "Content-Length",
];

fn seeds() -> Vec<Vec<u8>> {
    let files = fixtures::rfc4475_files();
    let mut out: Vec<Vec<u8>> = files
        .iter()
        .map(|p| std::fs::read(p).expect("read"))
        .collect();
    assert!(out.len() >= 40, "corpus has {} files", out.len());
    out.push(invite());
    out.extend([OPTIONS, REGISTER, RESPONSE].map(<[u8]>::to_vec));
    out
}

fn pipeline() -> Pipeline {
    let cfg = Config::from_toml(fixtures::TEST_CONFIG, "robustness.toml").expect("config");
    let router = Router::new(&cfg).expect("router");
    Pipeline::new(&cfg, router, Arc::new(Metrics::new()))
}

fn escaped(b: &[u8]) -> String {
    const SHOW: usize = 2048;
    let mut s: String = b[..b.len().min(SHOW)]
        .iter()
        .flat_map(|&c| std::ascii::escape_default(c))
        .map(char::from)
        .collect();
    if b.len() > SHOW {
        s.push_str(&format!("... ({} bytes in all)", b.len()));
    }
    s
}

/// One response as the pipeline (or `write_response`) must write it.
fn check_answer(out: &[u8]) {
    assert!(out.len() >= 12, "short answer");
    assert!(out.starts_with(b"SIP/2.0 "), "no status line");
    assert!(
        out[8..11].iter().all(u8::is_ascii_digit) && out[11] == b' ',
        "bad status code"
    );
    assert!(out.ends_with(b"\r\n\r\n"), "no blank line at the end");
    let head = &out[..out.len() - 2];
    for (i, &b) in head.iter().enumerate() {
        match b {
            b'\r' => assert_eq!(head.get(i + 1), Some(&b'\n'), "bare CR at {i}"),
            b'\n' => assert!(i > 0 && head[i - 1] == b'\r', "bare LF at {i}"),
            _ => {}
        }
    }
    // `head` ends with the CRLF of the last header line: drop the empty tail.
    let lines: Vec<&[u8]> = head[..head.len() - 1].split(|&b| b == b'\n').collect();
    let mut content_length = 0;
    for line in &lines[1..] {
        let line = line.strip_suffix(b"\r").expect("CRLF");
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .unwrap_or_else(|| panic!("header line without colon: {}", escaped(line)));
        let name = std::str::from_utf8(&line[..colon]).expect("ascii name");
        assert!(
            ANSWER_HEADERS.contains(&name),
            "unexpected header {name:?} (injection?)"
        );
        if name == "Content-Length" {
            content_length += 1;
        }
    }
    assert_eq!(content_length, 1, "Content-Length lines");
}

/// How deep one input got (to show the mutants reach past the parser).
#[derive(Default, Clone, Copy)]
struct Depth {
    parsed: usize,
    valid: usize,
    answered: usize,
}

/// Everything the wire layer offers, on one input.
fn exercise(data: &[u8], limits: &Limits, p: &Pipeline) -> Depth {
    let mut depth = Depth::default();
    match frame(data, limits) {
        Ok(Frame::Message(n)) => assert!(n > 0 && n <= data.len(), "frame {n} > {}", data.len()),
        Ok(Frame::KeepAlive { len, .. }) => assert!(len > 0 && len <= data.len()),
        Ok(Frame::Incomplete) | Err(_) => {}
    }

    if let Ok(msg) = Message::parse(data, limits) {
        depth.parsed = 1;
        assert!(msg.body_span().end as usize <= data.len());
        assert!(msg.body_span().start <= msg.body_span().end);
        assert!(msg.headers_end() <= data.len());
        for h in msg.headers() {
            assert!(h.line.end as usize <= data.len() && h.line.start <= h.line.end);
            assert!(h.value.start <= h.value.end && h.value.end <= h.line.end);
        }
        let _ = (
            msg.top_via(),
            msg.cseq(),
            msg.from(),
            msg.to(),
            msg.max_forwards(),
            msg.list(sipforge::sip::HeaderName::Contact).count(),
        );
        if msg.is_request() {
            let src: SocketAddr = "192.0.2.1:5060".parse().unwrap();
            let verdict = validate_request(&msg);
            let mut out = Vec::new();
            match &verdict {
                Ok(_) => write_response(
                    &mut out,
                    &msg,
                    src,
                    302,
                    "Moved Temporarily",
                    Some(b"t1"),
                    &[("Contact", b"<sip:1@198.51.100.1>;q=1.0")],
                ),
                Err(rej) => {
                    assert!(matches!(rej.code, 400 | 505 | 513), "{rej:?}");
                    write_response(&mut out, &msg, src, rej.code, &rej.reason, Some(b"t1"), &[]);
                }
            }
            check_answer(&out);

            let mut e = Editor::new(&msg);
            e.push_via(b"SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKrob;rport")
                .unwrap();
            e.set_request_uri(b"sip:1555@198.51.100.10:5060").unwrap();
            e.set_max_forwards(69);
            e.remove_header("User-Agent");
            e.add_header("X-Robust", b"1").unwrap();
            let edited = e.finish();
            if verdict.is_ok() {
                depth.valid = 1;
                let again = Message::parse(&edited, limits).expect("edited request parses");
                if let Err(rej) = validate_request(&again) {
                    assert_eq!(rej.code, 513, "edited request invalid: {rej:?}");
                }
            }
        }
    }

    let customer: SocketAddr = "127.0.0.1:5062".parse().unwrap();
    let stranger: SocketAddr = "192.0.2.7:5060".parse().unwrap();
    for (src, t) in [(customer, Transport::Udp), (stranger, Transport::Tcp)] {
        if let Some(reply) = p.handle(data, src, t) {
            check_answer(&reply.bytes);
            depth.answered += 1;
        }
    }
    depth
}

const INTERESTING: &[u8] = b"\r\n\0 \t:;,<>\"\\%=@/[]?";

fn mutate(rng: &mut fastrand::Rng, seeds: &[Vec<u8>], input: &[u8]) -> Vec<u8> {
    let mut d = input.to_vec();
    let at = |rng: &mut fastrand::Rng, d: &[u8]| rng.usize(..=d.len());
    match rng.u8(..13) {
        // Bit flips.
        0 => {
            for _ in 0..rng.usize(1..=8) {
                if !d.is_empty() {
                    let i = rng.usize(..d.len());
                    d[i] ^= 1 << rng.u8(..8);
                }
            }
        }
        // Byte inserts (random or structurally interesting).
        1 => {
            for _ in 0..rng.usize(1..=8) {
                let b = if rng.bool() {
                    rng.u8(..)
                } else {
                    INTERESTING[rng.usize(..INTERESTING.len())]
                };
                let i = at(rng, &d);
                d.insert(i, b);
            }
        }
        // Delete a range.
        2 => {
            if !d.is_empty() {
                let i = rng.usize(..d.len());
                let n = rng.usize(1..=(d.len() - i).min(64));
                d.drain(i..i + n);
            }
        }
        // Truncate.
        3 => {
            let i = at(rng, &d);
            d.truncate(i);
        }
        // Duplicate a line, possibly many times.
        4 => {
            let lines: Vec<&[u8]> = input.split_inclusive(|&b| b == b'\n').collect();
            if !lines.is_empty() {
                let k = rng.usize(..lines.len());
                let times = if rng.u8(..8) == 0 {
                    200
                } else {
                    rng.usize(1..=3)
                };
                let mut out = Vec::with_capacity(d.len() + lines[k].len() * times);
                for (j, l) in lines.iter().enumerate() {
                    out.extend_from_slice(l);
                    if j == k {
                        for _ in 0..times {
                            out.extend_from_slice(l);
                        }
                    }
                }
                d = out;
            }
        }
        // Sprinkle NUL bytes / replace bytes by NUL.
        5 => {
            for _ in 0..rng.usize(1..=6) {
                if !d.is_empty() {
                    let i = rng.usize(..d.len());
                    d[i] = 0;
                }
            }
        }
        // Absurd Content-Length values.
        6 => {
            let v: &[u8] = match rng.u8(..5) {
                0 => b"99999999999999999999999999999999999999999999",
                1 => b"4294967296",
                2 => b"4294967295",
                3 => b"-1",
                _ => b"00000000000000000000000000000000000000000007",
            };
            let mut line = b"Content-Length: ".to_vec();
            line.extend_from_slice(v);
            line.extend_from_slice(b"\r\n");
            insert_header(&mut d, &line);
        }
        // Splice with another seed.
        7 => {
            let other = &seeds[rng.usize(..seeds.len())];
            let i = at(rng, &d);
            let j = rng.usize(..=other.len());
            d.truncate(i);
            d.extend_from_slice(&other[j..]);
        }
        // Line ends: CRLF -> LF, CRLF -> CR, LF -> CRLF CRLF.
        8 => {
            let (from, to): (&[u8], &[u8]) = match rng.u8(..3) {
                0 => (b"\r\n", b"\n"),
                1 => (b"\r\n", b"\r"),
                _ => (b"\n", b"\r\n\r\n"),
            };
            d = replace_nth(&d, from, to, rng.usize(..6));
        }
        // Fold a header line deep.
        9 => {
            let mut fold = b"X-Fold: a\r\n".to_vec();
            for _ in 0..rng.usize(1..=500) {
                fold.extend_from_slice(if rng.bool() { b" b\r\n" } else { b"\t\r\n" });
            }
            insert_header(&mut d, &fold);
        }
        // A huge header line.
        10 => {
            let n = [1_000, 9_000, 70_000][rng.usize(..3)];
            let name: &[u8] =
                [&b"X-Big"[..], b"Via", b"Call-ID", b"To", b"Contact"][rng.usize(..5)];
            let mut line = name.to_vec();
            line.extend_from_slice(b": ");
            line.extend(std::iter::repeat_n(b'a', n));
            line.extend_from_slice(b"\r\n");
            insert_header(&mut d, &line);
        }
        // Many comma-separated values / empty elements.
        11 => {
            let mut line = b"Via: ".to_vec();
            for i in 0..rng.usize(1..=300) {
                if i > 0 {
                    line.extend_from_slice(if rng.u8(..10) == 0 { b",," } else { b", " });
                }
                line.extend_from_slice(b"SIP/2.0/UDP h;branch=z9hG4bK1");
            }
            line.extend_from_slice(b"\r\n");
            insert_header(&mut d, &line);
        }
        // Random garbage of random length.
        _ => {
            let n = rng.usize(..200);
            d = (0..n).map(|_| rng.u8(..)).collect();
        }
    }
    d
}

/// Inserts a header line after the start line (or at the front).
fn insert_header(d: &mut Vec<u8>, line: &[u8]) {
    let at = d.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
    d.splice(at..at, line.iter().copied());
}

/// Replaces the `n`-th occurrence of `from` (or the last one if fewer).
fn replace_nth(d: &[u8], from: &[u8], to: &[u8], n: usize) -> Vec<u8> {
    let hits: Vec<usize> = d
        .windows(from.len())
        .enumerate()
        .filter(|(_, w)| *w == from)
        .map(|(i, _)| i)
        .collect();
    let Some(&i) = hits.get(n).or(hits.last()) else {
        return d.to_vec();
    };
    let mut out = d[..i].to_vec();
    out.extend_from_slice(to);
    out.extend_from_slice(&d[i + from.len()..]);
    out
}

/// Runs one case, turning a panic into a report with the input.
fn run_case(
    label: &str,
    data: &[u8],
    limits: &Limits,
    p: &Pipeline,
    failures: &mut Vec<String>,
) -> Depth {
    let r = catch_unwind(AssertUnwindSafe(|| exercise(data, limits, p)));
    match r {
        Ok(depth) => depth,
        Err(e) => {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!("{label}: {msg}\n  input: b\"{}\"", escaped(data)));
            Depth::default()
        }
    }
}

fn quiet_panics<T>(f: impl FnOnce() -> T) -> T {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let out = f();
    std::panic::set_hook(hook);
    out
}

#[test]
fn mutated_corpus_never_panics() {
    let seeds = seeds();
    let p = pipeline();
    let default = Limits::default();
    let roomy = Limits {
        max_message_bytes: 1 << 20,
        max_headers: 20_000,
        max_line_bytes: 1 << 20,
    };
    let mut rng = fastrand::Rng::with_seed(0x4475_0B57);
    let mut failures = Vec::new();
    let started = Instant::now();
    let budget = Duration::from_secs(8);
    let mut cases = 0;
    let mut depth = Depth::default();
    quiet_panics(|| {
        // Every seed as is, under both limit sets.
        for (i, s) in seeds.iter().enumerate() {
            run_case(&format!("seed {i}"), s, &default, &p, &mut failures);
            run_case(&format!("seed {i} roomy"), s, &roomy, &p, &mut failures);
            cases += 2;
        }
        // Mutants, some stacked (a mutant of a mutant).
        while cases < 10_000 && started.elapsed() < budget {
            let mut d = seeds[rng.usize(..seeds.len())].clone();
            for _ in 0..rng.usize(1..=3) {
                d = mutate(&mut rng, &seeds, &d);
            }
            let limits = if rng.u8(..4) == 0 { &roomy } else { &default };
            let got = run_case(&format!("mutant {cases}"), &d, limits, &p, &mut failures);
            depth.parsed += got.parsed;
            depth.valid += got.valid;
            depth.answered += got.answered;
            cases += 1;
        }
    });
    println!(
        "{cases} cases in {:.1} s, {} failures; mutants parsed {}, valid requests {}, answers {}",
        started.elapsed().as_secs_f64(),
        failures.len(),
        depth.parsed,
        depth.valid,
        depth.answered
    );
    assert!(
        depth.valid > 100 && depth.answered > 1_000,
        "mutants too shallow"
    );
    assert!(cases >= 2_000, "only {cases} cases ran within the budget");
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed; first ones:\n{}",
        failures.len(),
        failures[..failures.len().min(5)].join("\n")
    );
}

/// The extreme shapes, each once and deterministic.
#[test]
fn extreme_shapes_never_panic() {
    let p = pipeline();
    let default = Limits::default();
    let roomy = Limits {
        max_message_bytes: 4 << 20,
        max_headers: 20_000,
        max_line_bytes: 1 << 20,
    };
    let head = b"INVITE sip:+14155550123@127.0.0.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1\r\n\
From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n";
    let with = |extra: &[u8], tail: &[u8]| {
        let mut m = head.to_vec();
        m.extend_from_slice(extra);
        m.extend_from_slice(tail);
        m
    };

    let mut ten_thousand = Vec::new();
    for i in 0..10_000 {
        ten_thousand.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
    }
    let mut deep_fold = b"Subject: x\r\n".to_vec();
    for _ in 0..20_000 {
        deep_fold.extend_from_slice(b" y\r\n");
    }
    let huge_line = [b"X-Big: ".as_slice(), &vec![b'z'; 200_000], b"\r\n"].concat();
    let huge_via = [
        b"Via: SIP/2.0/UDP ".as_slice(),
        &vec![b'h'; 100_000],
        b";branch=z9hG4bK2\r\n",
    ]
    .concat();
    let invite = invite();
    let nul_everywhere: Vec<u8> = invite
        .iter()
        .enumerate()
        .map(|(i, &b)| if i % 7 == 3 { 0 } else { b })
        .collect();
    let cases: Vec<(&str, Vec<u8>)> =
        vec![
        ("10,000 headers", with(&ten_thousand, b"\r\n")),
        ("deep folding", with(&deep_fold, b"\r\n")),
        ("200 kB header line", with(&huge_line, b"\r\n")),
        ("100 kB Via host", with(&huge_via, b"\r\n")),
        (
            "long Content-Length digits",
            with(
                b"Content-Length: 000000000000000000000000000000000000000000000000000000001\r\n",
                b"\r\nx",
            ),
        ),
        (
            "huge Content-Length",
            with(b"Content-Length: 18446744073709551616\r\n", b"\r\n"),
        ),
        ("NUL bytes", nul_everywhere),
        ("only CRLFs", b"\r\n".repeat(50_000)),
        ("only LFs", vec![b'\n'; 100_000]),
        ("no line end at all", vec![b'A'; 100_000]),
        ("CR only line ends", invite.iter().map(|&b| if b == b'\n' { b'\r' } else { b }).collect()),
        ("start line only", b"INVITE sip:a@b SIP/2.0".to_vec()),
        ("empty", Vec::new()),
    ];
    let mut failures = Vec::new();
    quiet_panics(|| {
        for (name, data) in &cases {
            run_case(name, data, &default, &p, &mut failures);
            run_case(&format!("{name} (roomy)"), data, &roomy, &p, &mut failures);
        }
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Requests crafted to smuggle a header line into the answer: through the
/// Request-URI user (percent-encoded CRLF ends up in the 302 Contact), a bare
/// CR inside a copied value, folded From/To/Via, a Via parameter with CRLF.
#[test]
fn crafted_requests_cannot_inject() {
    let p = pipeline();
    let customer: SocketAddr = "127.0.0.1:5062".parse().unwrap();
    let base = String::from_utf8(invite()).unwrap();
    let cases = [
        base.replace(
            "INVITE sip:+14155550123@",
            "INVITE sip:+1%0D%0AX-Evil:%201@",
        ),
        base.replace(
            "Call-ID: 5b8d0c5e1f2a4a3b@127.0.0.1",
            "Call-ID: abc\rX-Evil: 1",
        ),
        base.replace(
            "To: <sip:+14155550123@127.0.0.1>",
            "To: <sip:+14155550123@127.0.0.1>\r\n X-Evil: 1",
        ),
        base.replace("tag=7f3c2a91", "tag=7f3c2a91\r\n\tX-Evil: 1"),
        base.replace(";rport\r\n", ";rport\r\n ;X-Evil=1\r\n"),
        base.replace("CSeq: 102 INVITE", "CSeq: 102 INVITE\rX-Evil: 1"),
    ];
    for (i, c) in cases.iter().enumerate() {
        let reply = p
            .handle(c.as_bytes(), customer, Transport::Udp)
            .unwrap_or_else(|| panic!("case {i}: no answer"));
        let r = catch_unwind(|| check_answer(&reply.bytes));
        assert!(
            r.is_ok(),
            "case {i}: bad answer\n{}",
            String::from_utf8_lossy(&reply.bytes)
        );
    }
}

/// `write_response` with hostile reason phrases and extra header values.
#[test]
fn response_values_cannot_inject() {
    let invite = invite();
    let msg = Message::parse(&invite, &Limits::default()).unwrap();
    let src: SocketAddr = "192.0.2.1:5060".parse().unwrap();
    for reason in [
        "OK\r\nX-Evil: 1",
        "OK\nX-Evil: 1",
        "OK\rX-Evil: 1",
        "OK\0X-Evil",
    ] {
        let mut out = Vec::new();
        write_response(
            &mut out,
            &msg,
            src,
            200,
            reason,
            Some(b"t"),
            &[("Contact", b"<sip:a@b>\r\nX-Evil: 2")],
        );
        check_answer(&out);
        assert!(!out.windows(6).any(|w| w == b"X-Evil"), "{}", escaped(&out));
    }
}

//! Differential tests: rsip 0.4 is the reference parser; sipforge's parser must
//! agree with it on every message rsip accepts.
//!
//! Compared: request vs response, method, Request-URI, status code, Call-ID,
//! CSeq number and method, number of header lines, From/To tag, top Via branch,
//! body bytes.
//!
//! What the two parsers count and how values are compared:
//! * Header lines: rsip keeps one `Header` per `name: value` line (it never
//!   splits comma lists and has no folding, see below), which is exactly one
//!   sipforge `HeaderField` — so the counts must be equal.
//! * Values: rsip strips only spaces after the colon and keeps trailing
//!   whitespace; sipforge trims LWS on both sides. Values are compared trimmed.
//! * Body: rsip's body is everything after the first CRLFCRLF; sipforge's is cut
//!   to Content-Length (RFC 3261 §18.3). sipforge's body must be a prefix of
//!   rsip's, and equal to it when Content-Length matches the bytes present.
//! * Request-URI: rsip re-serializes its parsed `Uri` (difference 8); sipforge
//!   keeps the bytes as written. Equal strings agree; otherwise rsip re-parses
//!   the bytes sipforge delimited and the two `rsip::Uri` values must be equal.
//!
//! Systematic differences found (not papered over; the tests route around them
//! explicitly and `rsip_limitations` pins each one down):
//! 1. rsip has no compact header forms: `v`, `f`, `t`, `i`, `m`, `l`, ... parse
//!    as `Header::Other("v", ...)`, so rsip's typed accessors (`via_header()`,
//!    `call_id_header()`, ...) do not see them. The comparison maps compact
//!    names to full names itself before asking rsip.
//! 2. rsip rejects header folding (a continuation line starting with SP/HT):
//!    the whole message fails to parse. Folded messages are therefore not in
//!    the generated set.
//! 3. rsip rejects whitespace between a header name and the colon
//!    (`Via :`), which RFC 3261 allows (`HCOLON = *( SP / HTAB ) ":" SWS`).
//! 4. rsip only knows the RFC 3261 + common extension methods; an extension
//!    method (`NEWMETHOD sip:...`) makes the whole message fail to parse.
//! 5. rsip requires CRLF line ends and rejects bare-LF messages.
//! 6. rsip does not bound the body by Content-Length and accepts messages whose
//!    Content-Length disagrees with the body (sipforge flags those as defects);
//!    the body comparison is adjusted as described above.
//! 7. rsip splits the header block at the first CRLFCRLF, or — when there is
//!    none — at the first CRLF: a message without the blank line after its
//!    headers (RFC 4475 `TC_BADDN_I`) is read as one header line plus a
//!    "body" holding the other header lines. sipforge indexes every line and
//!    flags the missing blank line as a defect (400).
//! 8. rsip normalizes URIs when it prints them (`;transport=tcp` comes back
//!    as `;transport=TCP`), so its R-URI string is not the one on the wire.

mod fixtures;

use std::fmt::Write as _;

use rsip::headers::ToTypedHeader;
use rsip::prelude::*;
use sipforge::sip::{HeaderName, Limits, Message};

/// The facts both parsers are asked for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Facts {
    request: bool,
    method: String,
    ruri: String,
    status: u16,
    call_id: Option<String>,
    cseq: Option<(u32, String)>,
    header_lines: usize,
    from_tag: Option<String>,
    to_tag: Option<String>,
    via_branch: Option<String>,
    body: Vec<u8>,
}

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The first header rsip holds under `want` (full name), compact forms included.
fn rsip_value(msg: &rsip::SipMessage, want: &str) -> Option<String> {
    msg.headers().iter().find_map(|h| {
        let text = h.to_string();
        let (name, value) = text.split_once(':')?;
        fixtures::full_header_name(name.trim())
            .eq_ignore_ascii_case(want)
            .then(|| value.trim().to_string())
    })
}

fn rsip_facts(msg: &rsip::SipMessage) -> Facts {
    let mut f = Facts {
        request: msg.is_request(),
        header_lines: msg.headers().iter().count(),
        body: msg.body().clone(),
        ..Facts::default()
    };
    match msg {
        rsip::SipMessage::Request(r) => {
            f.method = r.method().to_string();
            f.ruri = r.uri().to_string();
        }
        rsip::SipMessage::Response(r) => f.status = r.status_code().code(),
    }
    f.call_id = rsip_value(msg, "Call-ID");
    f.cseq = rsip_value(msg, "CSeq").and_then(|v| {
        let c = rsip::headers::CSeq::new(v).typed().ok()?;
        Some((c.seq, c.method.to_string()))
    });
    f.from_tag = rsip_value(msg, "From").and_then(|v| {
        let t = rsip::headers::From::new(v).typed().ok()?;
        t.tag().map(|t| t.to_string())
    });
    f.to_tag = rsip_value(msg, "To").and_then(|v| {
        let t = rsip::headers::To::new(v).typed().ok()?;
        t.tag().map(|t| t.to_string())
    });
    f.via_branch = rsip_value(msg, "Via").and_then(|v| {
        // A Via line may hold a comma list: the top value is the first one.
        let top = v.split(',').next().unwrap_or_default().trim().to_string();
        let t = rsip::headers::Via::new(top).typed().ok()?;
        t.branch().map(|b| b.to_string())
    });
    f
}

fn sipforge_facts(m: &Message<'_>) -> Facts {
    Facts {
        request: m.is_request(),
        method: m.method().map(|x| s(x.as_bytes())).unwrap_or_default(),
        ruri: m.request_uri().map(s).unwrap_or_default(),
        status: m.status().unwrap_or(0),
        call_id: m.call_id().map(s),
        cseq: m.cseq().and_then(Result::ok).map(|c| (c.seq, s(c.method))),
        header_lines: m.headers().len(),
        from_tag: m.from().and_then(Result::ok).and_then(|a| a.tag()).map(s),
        to_tag: m.to().and_then(Result::ok).and_then(|a| a.tag()).map(s),
        via_branch: m
            .top_via()
            .and_then(Result::ok)
            .and_then(|v| v.branch)
            .map(s),
        body: m.body().to_vec(),
    }
}

/// Differences between the two parsers' views of `raw` (empty = they agree),
/// or `None` if rsip rejects the message.
fn compare(raw: &[u8]) -> Option<Vec<String>> {
    let theirs = rsip::SipMessage::try_from(raw).ok()?;
    let mut diffs = Vec::new();
    let ours = match Message::parse(raw, &Limits::default()) {
        Ok(m) => m,
        Err(e) => {
            diffs.push(format!("sipforge rejects what rsip accepts: {e}"));
            return Some(diffs);
        }
    };
    let a = rsip_facts(&theirs);
    let b = sipforge_facts(&ours);
    let field = |diffs: &mut Vec<String>, name: &str, x: String, y: String| {
        if x != y {
            diffs.push(format!("{name}: rsip {x} / sipforge {y}"));
        }
    };
    field(
        &mut diffs,
        "request",
        a.request.to_string(),
        b.request.to_string(),
    );
    field(&mut diffs, "method", a.method, b.method);
    // Request-URI (difference 8): rsip re-serializes; compare rsip's parse of
    // its own R-URI with rsip's parse of the bytes sipforge delimited.
    if a.ruri != b.ruri {
        let same = match &theirs {
            rsip::SipMessage::Request(r) => {
                rsip::Uri::try_from(b.ruri.as_str()).is_ok_and(|u| &u == r.uri())
            }
            rsip::SipMessage::Response(_) => false,
        };
        if !same {
            diffs.push(format!(
                "request-uri: rsip {} / sipforge {}",
                a.ruri, b.ruri
            ));
        }
    }
    field(
        &mut diffs,
        "status",
        a.status.to_string(),
        b.status.to_string(),
    );
    field(
        &mut diffs,
        "call-id",
        format!("{:?}", a.call_id),
        format!("{:?}", b.call_id),
    );
    field(
        &mut diffs,
        "cseq",
        format!("{:?}", a.cseq),
        format!("{:?}", b.cseq),
    );
    field(
        &mut diffs,
        "header lines",
        a.header_lines.to_string(),
        b.header_lines.to_string(),
    );
    field(
        &mut diffs,
        "from tag",
        format!("{:?}", a.from_tag),
        format!("{:?}", b.from_tag),
    );
    field(
        &mut diffs,
        "to tag",
        format!("{:?}", a.to_tag),
        format!("{:?}", b.to_tag),
    );
    field(
        &mut diffs,
        "via branch",
        format!("{:?}", a.via_branch),
        format!("{:?}", b.via_branch),
    );
    // Body (difference 6): sipforge's is Content-Length bounded.
    let cl_matches = ours
        .value(HeaderName::ContentLength)
        .and_then(|v| std::str::from_utf8(v).ok()?.parse::<usize>().ok())
        .is_none_or(|cl| cl == a.body.len());
    if !a.body.starts_with(&b.body) || (cl_matches && a.body != b.body) {
        diffs.push(format!(
            "body: rsip {} bytes / sipforge {} bytes",
            a.body.len(),
            b.body.len()
        ));
    }
    Some(diffs)
}

fn assert_agree(what: &str, raw: &[u8]) {
    // Agreement on "absent" would be vacuous: the messages here carry every
    // compared field, so sipforge (and therefore rsip) must see each one.
    let ours = Message::parse(raw, &Limits::default()).expect("sipforge parses");
    let f = sipforge_facts(&ours);
    assert!(
        f.call_id.is_some() && f.cseq.is_some() && f.from_tag.is_some() && f.via_branch.is_some(),
        "{what}: a compared field is missing: {f:?}"
    );
    match compare(raw) {
        None => panic!(
            "{what}: rsip rejects this message:\n{}",
            String::from_utf8_lossy(raw)
        ),
        Some(d) if !d.is_empty() => panic!(
            "{what}: parsers disagree:\n  {}\n---\n{}",
            d.join("\n  "),
            String::from_utf8_lossy(raw)
        ),
        Some(_) => {}
    }
}

// ---------------------------------------------------------------------------
// Hand-written realistic messages
// ---------------------------------------------------------------------------

const OK_200: &str = "SIP/2.0 200 OK\r\n\
Via: SIP/2.0/UDP 203.0.113.7:5060;branch=z9hG4bK-77d3a1c5e3f1;rport=5060;received=203.0.113.7\r\n\
Via: SIP/2.0/TCP 192.0.2.4:5060;branch=z9hG4bKaaa\r\n\
Record-Route: <sip:192.0.2.1;lr>\r\n\
From: \"ACME\" <sip:+12125550199@203.0.113.7>;tag=7f3c2a91\r\n\
To: <sip:+14155550123@198.51.100.1>;tag=as58f4201b\r\n\
Call-ID: 5b8d0c5e1f2a4a3b@203.0.113.7\r\n\
CSeq: 102 INVITE\r\n\
Contact: <sip:+14155550123@198.51.100.1:5060>\r\n\
Server: Asterisk PBX 18.0\r\n\
Content-Length: 0\r\n\
\r\n";

const BYE: &str = "BYE sip:+14155550123@198.51.100.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 203.0.113.7:5060;branch=z9hG4bKbye1\r\n\
Route: <sip:192.0.2.1;lr>\r\n\
Max-Forwards: 70\r\n\
From: <sip:+12125550199@203.0.113.7>;tag=7f3c2a91\r\n\
To: <sip:+14155550123@198.51.100.1>;tag=as58f4201b\r\n\
Call-ID: 5b8d0c5e1f2a4a3b@203.0.113.7\r\n\
CSeq: 103 BYE\r\n\
Content-Length: 0\r\n\
\r\n";

const OPTIONS: &str = "OPTIONS sip:198.51.100.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP 203.0.113.7:5060;branch=z9hG4bKopt42\r\n\
Max-Forwards: 70\r\n\
To: <sip:198.51.100.1>\r\n\
From: <sip:ping@203.0.113.7>;tag=p1n6\r\n\
Call-ID: opt-8812@203.0.113.7\r\n\
CSeq: 1 OPTIONS\r\n\
Accept: application/sdp\r\n\
Content-Length: 0\r\n\
\r\n";

const REGISTER: &str = "REGISTER sip:registrar.example.com SIP/2.0\r\n\
Via: SIP/2.0/TCP 192.0.2.50:5060;branch=z9hG4bKreg7\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@example.com>\r\n\
From: Bob <sip:bob@example.com>;tag=456248\r\n\
Call-ID: 843817637684230@998sdasdh09\r\n\
CSeq: 1826 REGISTER\r\n\
Contact: <sip:bob@192.0.2.50:5060>;expires=3600\r\n\
Expires: 7200\r\n\
Content-Length: 0\r\n\
\r\n";

const RINGING: &str = "SIP/2.0 180 Ringing\r\n\
Via: SIP/2.0/UDP 203.0.113.7:5060;branch=z9hG4bK-77d3a1c5e3f1\r\n\
From: <sip:+12125550199@203.0.113.7>;tag=7f3c2a91\r\n\
To: <sip:+14155550123@198.51.100.1>;tag=r1ng\r\n\
Call-ID: 5b8d0c5e1f2a4a3b@203.0.113.7\r\n\
CSeq: 102 INVITE\r\n\
Content-Length: 0\r\n\
\r\n";

#[test]
fn realistic_messages_agree() {
    for (name, raw) in [
        ("INVITE", fixtures::CARRIER_INVITE),
        ("200 OK", OK_200.as_bytes()),
        ("BYE", BYE.as_bytes()),
        ("OPTIONS", OPTIONS.as_bytes()),
        ("REGISTER", REGISTER.as_bytes()),
        ("180 Ringing", RINGING.as_bytes()),
    ] {
        assert_agree(name, raw);
    }
}

// ---------------------------------------------------------------------------
// RFC 4475 corpus
// ---------------------------------------------------------------------------

/// Corpus files where the parsers disagree, with the reason (each one checked
/// by hand; see the module documentation).
const CORPUS_KNOWN: &[(&str, &str)] = &[(
    "TC_BADDN_I.dat",
    "no blank line after the headers: rsip takes only the first header line \
     as headers and everything after it as the body (difference 7); \
     sipforge indexes all 8 header lines and flags the message as malformed",
)];

#[test]
fn rfc4475_files_rsip_accepts_agree() {
    let files = fixtures::rfc4475_files();
    assert!(files.len() >= 40, "corpus has {} files", files.len());
    let (mut accepted, mut report, mut failures) = (0, String::new(), String::new());
    let mut rejected = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let raw = std::fs::read(path).expect("read");
        let Some(diffs) = compare(&raw) else {
            rejected.push(name);
            continue;
        };
        accepted += 1;
        let known = CORPUS_KNOWN.iter().find(|(f, _)| *f == name);
        match (diffs.is_empty(), known) {
            (true, None) => {}
            (true, Some(_)) => {
                let _ = writeln!(failures, "{name}: listed in CORPUS_KNOWN but agrees now");
            }
            (false, Some((_, why))) => {
                let _ = writeln!(report, "{name}: known difference ({why}): {diffs:?}");
            }
            (false, None) => {
                let _ = writeln!(failures, "{name}: {diffs:?}");
            }
        }
    }
    println!(
        "rsip accepts {accepted} of {} RFC 4475 files; rejects {}: {}\n{report}",
        files.len(),
        rejected.len(),
        rejected.join(" ")
    );
    assert!(failures.is_empty(), "{failures}");
}

// ---------------------------------------------------------------------------
// Generated messages (fixed seed)
// ---------------------------------------------------------------------------

const TOKEN: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~";

fn token(rng: &mut fastrand::Rng, min: usize, max: usize) -> String {
    let n = rng.usize(min..=max);
    (0..n)
        .map(|_| TOKEN[rng.usize(..TOKEN.len())] as char)
        .collect()
}

fn alnum(rng: &mut fastrand::Rng, min: usize, max: usize) -> String {
    let n = rng.usize(min..=max);
    (0..n).map(|_| rng.alphanumeric()).collect()
}

fn digits(rng: &mut fastrand::Rng, n: usize) -> String {
    (0..n).map(|_| rng.digit(10)).collect()
}

/// A header name in random case; compact (when one exists) half the time
/// when `compact_ok`.
fn spell(rng: &mut fastrand::Rng, full: &str, compact: Option<&str>, compact_ok: bool) -> String {
    let name = match compact {
        Some(c) if compact_ok && rng.bool() => c.to_string(),
        _ => full.to_string(),
    };
    match rng.u8(..4) {
        0 => name.to_ascii_lowercase(),
        1 => name.to_ascii_uppercase(),
        2 => name
            .chars()
            .map(|c| {
                if rng.bool() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect(),
        _ => name,
    }
}

fn host(rng: &mut fastrand::Rng) -> String {
    match rng.u8(..3) {
        0 => format!(
            "{}.{}.{}.{}",
            rng.u8(1..=254),
            rng.u8(..=255),
            rng.u8(..=255),
            rng.u8(1..=254)
        ),
        1 => format!(
            "{}.example.{}",
            alnum(rng, 1, 10).to_ascii_lowercase(),
            "com"
        ),
        _ => format!("sbc{}.carrier.net", rng.u8(..100)),
    }
}

fn sip_uri(rng: &mut fastrand::Rng) -> String {
    let mut u = String::from("sip:");
    if rng.u8(..5) != 0 {
        if rng.bool() {
            u.push('+');
            let n = rng.usize(6..=15);
            u.push_str(&digits(rng, n));
        } else {
            u.push_str(&alnum(rng, 1, 12).to_ascii_lowercase());
        }
        u.push('@');
    }
    u.push_str(&host(rng));
    if rng.bool() {
        let _ = write!(u, ":{}", rng.u16(1024..=65535));
    }
    if rng.u8(..3) == 0 {
        u.push_str(if rng.bool() {
            ";transport=tcp"
        } else {
            ";user=phone"
        });
    }
    u
}

const METHODS: &[&str] = &[
    "INVITE",
    "ACK",
    "BYE",
    "CANCEL",
    "OPTIONS",
    "REGISTER",
    "INFO",
    "MESSAGE",
    "UPDATE",
    "SUBSCRIBE",
    "NOTIFY",
    "REFER",
    "PRACK",
    "PUBLISH",
];

const CODES: &[(u16, &str)] = &[
    (100, "Trying"),
    (180, "Ringing"),
    (183, "Session Progress"),
    (200, "OK"),
    (202, "Accepted"),
    (301, "Moved Permanently"),
    (302, "Moved Temporarily"),
    (400, "Bad Request"),
    (403, "Forbidden"),
    (404, "Not Found"),
    (408, "Request Timeout"),
    (480, "Temporarily Unavailable"),
    (486, "Busy Here"),
    (487, "Request Terminated"),
    (500, "Server Internal Error"),
    (503, "Service Unavailable"),
    (603, "Decline"),
];

/// One random but valid message, CRLF-terminated, no folding (rsip limits).
fn generate(rng: &mut fastrand::Rng) -> String {
    let request = rng.u8(..3) != 0;
    let method = METHODS[rng.usize(..METHODS.len())];
    let compact = rng.bool();
    let mut lines: Vec<String> = Vec::new();

    // Vias: several lines and/or comma lists.
    let n_via = rng.usize(1..=4);
    let mut vias: Vec<String> = (0..n_via)
        .map(|_| {
            let mut v = format!(
                "SIP/2.0/{} {}",
                ["UDP", "TCP", "TLS"][rng.usize(..3)],
                host(rng)
            );
            if rng.bool() {
                let _ = write!(v, ":{}", rng.u16(1024..=65535));
            }
            let _ = write!(v, ";branch=z9hG4bK{}", alnum(rng, 4, 24));
            if rng.u8(..3) == 0 {
                v.push_str(";rport");
            }
            v
        })
        .collect();
    while !vias.is_empty() {
        let take = rng.usize(1..=vias.len());
        let group: Vec<String> = vias.drain(..take).collect();
        lines.push(format!(
            "{}: {}",
            spell(rng, "Via", Some("v"), compact),
            group.join(", ")
        ));
    }

    let tag = |rng: &mut fastrand::Rng| format!(";tag={}", token(rng, 1, 16));
    let from_tag = tag(rng);
    let display = if rng.bool() {
        format!("\"{}\" ", alnum(rng, 1, 10))
    } else {
        String::new()
    };
    let from_uri = sip_uri(rng);
    let from = format!(
        "{}: {display}<{from_uri}>{from_tag}",
        spell(rng, "From", Some("f"), compact)
    );
    let to_tag = if !request || rng.bool() {
        tag(rng)
    } else {
        String::new()
    };
    let to_uri = sip_uri(rng);
    let to = format!(
        "{}: <{to_uri}>{to_tag}",
        spell(rng, "To", Some("t"), compact)
    );
    let call_id = format!("{}@{}", token(rng, 4, 32), host(rng));
    let cseq_method = if request {
        method
    } else {
        METHODS[rng.usize(..METHODS.len())]
    };
    let mut rest = vec![
        from,
        to,
        format!("{}: {call_id}", spell(rng, "Call-ID", Some("i"), compact)),
        format!(
            "{}: {} {cseq_method}",
            spell(rng, "CSeq", None, false),
            rng.u32(..)
        ),
    ];
    if request {
        rest.push(format!(
            "{}: {}",
            spell(rng, "Max-Forwards", None, false),
            rng.u8(..=70)
        ));
    }
    if rng.bool() {
        rest.push(format!(
            "{}: <{}>",
            spell(rng, "Contact", Some("m"), compact),
            sip_uri(rng)
        ));
    }
    for _ in 0..rng.usize(..4) {
        rest.push(format!("X-{}: {}", alnum(rng, 1, 8), token(rng, 1, 20)));
    }
    if rng.bool() {
        rest.push(format!(
            "{}: 100rel, timer",
            spell(rng, "Supported", Some("k"), compact)
        ));
    }
    if rng.bool() {
        rest.push(format!("User-Agent: gen/{}", rng.u8(..10)));
    }
    // Header order beyond the Vias is free.
    rng.shuffle(&mut rest);
    lines.extend(rest);

    let body: String = if rng.u8(..3) == 0 {
        String::new()
    } else {
        let n = rng.usize(1..=400);
        (0..n)
            .map(|i| {
                if i % 40 == 39 {
                    '\n'
                } else {
                    rng.alphanumeric()
                }
            })
            .collect()
    };
    if !body.is_empty() {
        lines.push(format!(
            "{}: application/sdp",
            spell(rng, "Content-Type", Some("c"), compact)
        ));
    }
    lines.push(format!(
        "{}: {}",
        spell(rng, "Content-Length", Some("l"), compact),
        body.len()
    ));

    let start = if request {
        format!("{method} {} SIP/2.0", sip_uri(rng))
    } else {
        let (code, reason) = CODES[rng.usize(..CODES.len())];
        format!("SIP/2.0 {code} {reason}")
    };
    let mut msg = start;
    msg.push_str("\r\n");
    for l in lines {
        msg.push_str(&l);
        msg.push_str("\r\n");
    }
    msg.push_str("\r\n");
    msg.push_str(&body);
    msg
}

#[test]
fn generated_messages_agree() {
    let mut rng = fastrand::Rng::with_seed(4475);
    let (mut compact, mut via_lists, mut responses, mut bodies) = (0, 0, 0, 0);
    for i in 0..500 {
        let msg = generate(&mut rng);
        assert_agree(&format!("generated #{i}"), msg.as_bytes());
        let m = Message::parse(msg.as_bytes(), &Limits::default()).unwrap();
        compact += usize::from(
            m.headers()
                .iter()
                .any(|h| h.raw_name.end - h.raw_name.start == 1),
        );
        via_lists += usize::from(m.list(HeaderName::Via).count() > m.count(HeaderName::Via));
        responses += usize::from(!m.is_request());
        bodies += usize::from(!m.body().is_empty());
    }
    // The generator really varies what it claims to.
    println!(
        "500 generated: {compact} with compact forms, {via_lists} with Via lists, {responses} responses, {bodies} with a body"
    );
    assert!(compact > 100 && via_lists > 100 && responses > 100 && bodies > 100);
}

// ---------------------------------------------------------------------------
// rsip's limitations, pinned down (the documented differences)
// ---------------------------------------------------------------------------

fn rsip_parses(raw: &str) -> bool {
    rsip::SipMessage::try_from(raw.as_bytes()).is_ok()
}

fn sipforge_clean(raw: &str) -> bool {
    Message::parse(raw.as_bytes(), &Limits::default()).is_ok_and(|m| m.defect().is_none())
}

#[test]
fn rsip_limitations() {
    // The base message: both parse it.
    assert!(rsip_parses(OPTIONS) && sipforge_clean(OPTIONS));

    // 1. Compact forms: rsip accepts the message but its typed accessor misses
    //    the header; sipforge classifies it.
    let compact = OPTIONS.replace("Call-ID:", "i:");
    let theirs = rsip::SipMessage::try_from(compact.as_bytes()).expect("rsip parses");
    assert!(theirs.call_id_header().is_err());
    assert!(matches!(
        theirs
            .headers()
            .iter()
            .find(|h| h.to_string().starts_with("i:")),
        Some(rsip::Header::Other(..))
    ));
    let ours = Message::parse(compact.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(ours.call_id(), Some(&b"opt-8812@203.0.113.7"[..]));

    // 2. Folding.
    let folded = OPTIONS.replace("CSeq: 1 OPTIONS", "CSeq: 1\r\n OPTIONS");
    assert!(!rsip_parses(&folded) && sipforge_clean(&folded));

    // 3. Whitespace before the colon.
    let ws_colon = OPTIONS.replace("Call-ID:", "Call-ID :");
    assert!(!rsip_parses(&ws_colon) && sipforge_clean(&ws_colon));

    // 4. Extension methods.
    let ext = OPTIONS
        .replace("OPTIONS sip:", "NEWMETHOD sip:")
        .replace("1 OPTIONS", "1 NEWMETHOD");
    assert!(!rsip_parses(&ext) && sipforge_clean(&ext));

    // 5. Bare LF line ends.
    let lf = OPTIONS.replace("\r\n", "\n");
    assert!(!rsip_parses(&lf) && sipforge_clean(&lf));

    // 6. Content-Length not used for framing: rsip's body is the rest.
    let extra = format!("{OPTIONS}trailing-datagram-noise");
    let theirs = rsip::SipMessage::try_from(extra.as_bytes()).expect("rsip parses");
    assert_eq!(theirs.body(), b"trailing-datagram-noise");
    let ours = Message::parse(extra.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(ours.body(), b"");

    // 7. No blank line after the headers.
    let unterminated = OPTIONS.trim_end_matches("\r\n").to_string() + "\r\n";
    let theirs = rsip::SipMessage::try_from(unterminated.as_bytes()).expect("rsip parses");
    assert_eq!(theirs.headers().iter().count(), 1);
    let ours = Message::parse(unterminated.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(ours.headers().len(), 8);
    assert!(ours.defect().is_some());
}

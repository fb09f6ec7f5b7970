//! RFC 4475 torture messages: every file meets its verdict in EXPECTED.tsv,
//! at the parser level and end to end over UDP against the real binary.
//! Files are read as bytes and never normalised.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use sipforge::sip::{Limits, Message, validate_request};

/// What sipforge (redirect mode, sender is a configured customer) does with
/// each file: `Some(code)` = answers with that status, `None` = drops it.
const OURS: &[(&str, Option<u16>)] = &[
    ("TC_WSINV.dat", Some(481)), // parsed; its To-tag makes it in-dialog, and redirect mode holds no dialogs
    ("TC_INTMETH.dat", Some(501)), // unknown method
    ("TC_ESC01_V.dat", Some(404)), // INVITE, no route for the escaped user
    ("TC_ESCNULL_V.dat", Some(405)), // REGISTER: not a registrar
    ("TC_ESC02_V.dat", Some(501)), // RE%47IST%45R is an unknown method
    ("TC_LWSDISP_V.dat", Some(200)), // OPTIONS
    ("TC_LONGREQ_V.dat", Some(404)), // INVITE, no route
    ("TC_DBLREQ.dat", Some(405)), // the REGISTER; trailing INVITE ignored
    ("TC_SEMIURI_V.dat", Some(200)), // OPTIONS
    ("TC_TRANSPORTS_V.dat", Some(200)), // OPTIONS
    ("TC_MPART01.dat", Some(405)), // MESSAGE
    ("TC_UNREASON_V.dat", None), // response: nothing to match, dropped
    ("TC_NOREASON_V.dat", None), // response
    ("TC_BADINV01_I.dat", Some(400)),
    ("TC_CLERR_I.dat", Some(400)),
    ("TC_NCL_I.dat", Some(400)),
    ("TC_SCALAR02_V.dat", Some(400)),
    ("TC_SCALARLG_V.dat", None), // response
    ("TC_QUOTBAL_I.dat", Some(400)),
    ("TC_LTGTRURI_I.dat", Some(400)),
    ("TC_LWSRURI_I.dat", Some(400)),
    ("TC_LWSSTART_V.dat", Some(400)),
    ("TC_TRWS_I.dat", Some(400)),
    ("TC_ESCRURI_V.dat", Some(400)),
    ("TC_BADDATE_V.dat", Some(404)), // Date is not used: ignored, routed normally
    ("TC_REGBADCT_I.dat", Some(400)),
    ("TC_BADASPEC_I.dat", Some(400)),
    ("TC_BADDN_I.dat", Some(400)),
    ("TC_BADVERS_V.dat", Some(505)),
    ("TC_MISMATCH01_V.dat", Some(400)),
    ("TC_MISMATCH02_V.dat", Some(400)), // CSeq mismatch is found before the method
    ("TC_BIGCODE_V.dat", None),         // response with code > 699: dropped
    ("TC_BADBRANCH_V.dat", Some(200)),  // accepted (RFC 2543 matching fallback)
    ("TC_INSUF_I.dat", Some(400)),
    ("TC_UNKSCM_V.dat", Some(416)),
    ("TC_NOVELSC_V.dat", Some(416)),
    ("TC_UNKSM2_V.dat", Some(405)), // a REGISTER like any other
    ("TC_BEXT01_V.dat", Some(420)),
    ("TC_INVUT_V.dat", Some(404)), // INVITE routed like any other
    ("TC_REGAUT01_V.dat", Some(405)),
    ("TC_MULTI01_I.dat", Some(400)),
    ("TC_MCL01_I.dat", Some(400)),
    ("TC_BCAST_V.dat", None), // response: never forwarded
    ("TC_ZEROMF_V.dat", Some(483)),
    ("TC_CPARAM01_V.dat", Some(405)),
    ("TC_CPARAM02_V.dat", Some(405)),
    ("TC_REGESCRT_V.dat", Some(405)),
    ("TC_SDP01_V.dat", Some(404)),   // INVITE routed like any other
    ("TC_INV2543_I.dat", Some(404)), // RFC 2543 INVITE accepted, no route for UserB
    ("TC_TEST_I.dat", None),         // no Via: nothing to answer to
];

/// invalid-syntax files the RFC lets an element accept leniently, which we do.
const LENIENT: &[&str] = &["TC_BADDATE_V.dat"];
/// semantic files whose RFC outcome is "handle like any request" (no fixed code).
const HANDLED_NORMALLY: &[&str] = &[
    "TC_BADBRANCH_V.dat",
    "TC_UNKSM2_V.dat",
    "TC_INVUT_V.dat",
    "TC_SDP01_V.dat",
];

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/rfc4475")
}

struct Expected {
    verdict: String,
    text: String,
}

fn expected() -> HashMap<String, Expected> {
    let tsv = std::fs::read_to_string(corpus_dir().join("EXPECTED.tsv")).unwrap();
    tsv.lines()
        .skip(1)
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (
                cols[0].to_string(),
                Expected {
                    verdict: cols[3].to_string(),
                    text: cols[4].to_string(),
                },
            )
        })
        .collect()
}

fn read(file: &str) -> Vec<u8> {
    std::fs::read(corpus_dir().join(file)).unwrap()
}

/// Our table agrees with EXPECTED.tsv's verdicts and covers every file.
#[test]
fn our_outcomes_meet_the_verdicts() {
    let exp = expected();
    assert_eq!(exp.len(), 50);
    assert_eq!(OURS.len(), 50);
    let on_disk = std::fs::read_dir(corpus_dir())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "dat")
        })
        .count();
    assert_eq!(on_disk, 50);
    for (file, ours) in OURS {
        let e = exp
            .get(*file)
            .unwrap_or_else(|| panic!("{file} not in EXPECTED.tsv"));
        let ok = match (e.verdict.as_str(), ours) {
            ("valid", Some(code)) => *code != 400,
            ("invalid-syntax", Some(400) | None) => true,
            ("invalid-syntax", Some(_)) => LENIENT.contains(file),
            ("semantic", Some(code)) => {
                e.text.contains(&code.to_string()) || HANDLED_NORMALLY.contains(file)
            }
            ("response", None) => true,
            ("extra", None | Some(400)) => true,
            _ => false,
        };
        assert!(
            ok,
            "{file}: our outcome {ours:?} does not meet '{}': {}",
            e.verdict, e.text
        );
    }
}

/// Parser level: every file parses or is refused without panicking, and
/// parse + validate gives the status our table names.
#[test]
fn parser_level() {
    let limits = Limits::default();
    for (file, ours) in OURS {
        let bytes = read(file);
        let parsed = Message::parse(&bytes, &limits);
        match parsed {
            Err(e) => assert!(
                ours.is_none(),
                "{file}: parse error {e} but expected {ours:?}"
            ),
            Ok(msg) if !msg.is_request() => assert!(ours.is_none(), "{file}: a response"),
            Ok(msg) => match validate_request(&msg) {
                Ok(_) => assert!(
                    !matches!(ours, Some(400 | 505)),
                    "{file}: validated but expected {ours:?}"
                ),
                Err(rej) => {
                    if msg.list(sipforge::sip::HeaderName::Via).next().is_none() {
                        assert!(ours.is_none(), "{file}: no Via, must be dropped");
                    } else {
                        assert_eq!(Some(rej.code), *ours, "{file}: {}", rej.reason);
                        assert!(!rej.reason.is_empty());
                    }
                }
            },
        }
    }
}

/// The corpus's Via headers carry no `rport`, so answers go to the source IP
/// at the Via sent-by port (RFC 3261 §18.2.2): 5060 unless written, and
/// 5050/5070 appear. The peer listens on all three on its own loopback IP.
struct CorpusPeer {
    socks: Vec<std::net::UdpSocket>,
    probes: usize,
}

fn config_for(ip: &str) -> String {
    common::TEST_CONFIG.replace(
        "sources = [\"127.0.0.1/32\"]",
        &format!("sources = [\"{ip}/32\"]"),
    )
}

impl CorpusPeer {
    fn new(ip: &str) -> CorpusPeer {
        let socks = [5060, 5050, 5070]
            .iter()
            .map(|p| {
                let s = std::net::UdpSocket::bind((ip, *p))
                    .unwrap_or_else(|e| panic!("bind {ip}:{p}: {e}"));
                s.set_read_timeout(Some(std::time::Duration::from_secs(2)))
                    .unwrap();
                s
            })
            .collect();
        CorpusPeer { socks, probes: 0 }
    }

    /// Sends `bytes`, then an OPTIONS probe (with rport, answered to the
    /// sending socket). Returns the answer to `bytes`, if any: the sidecar
    /// handles datagrams in order, so once the probe's answer is in, any
    /// answer to `bytes` has already been delivered.
    fn exchange(&mut self, to: std::net::SocketAddr, bytes: &[u8]) -> Option<Vec<u8>> {
        self.probes += 1;
        let id = format!("probe-{}", self.probes);
        let local = self.socks[0].local_addr().unwrap();
        let probe = format!(
            "OPTIONS sip:probe@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{id};rport\r\nFrom: <sip:p@127.0.0.1>;tag=p\r\nTo: <sip:probe@127.0.0.1>\r\nCall-ID: {id}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        );
        self.socks[0].send_to(bytes, to).unwrap();
        self.socks[0].send_to(probe.as_bytes(), to).unwrap();
        let mut answer = None;
        loop {
            let r = common::recv(&self.socks[0]).expect("the probe is always answered");
            if String::from_utf8_lossy(&r).contains(&format!("Call-ID: {id}\r\n")) {
                assert_eq!(common::status(&r), 200);
                break;
            }
            assert!(answer.replace(r).is_none(), "two answers to one message");
        }
        for s in &self.socks[1..] {
            s.set_nonblocking(true).unwrap();
            let mut buf = vec![0u8; 65_535];
            if let Ok((n, _)) = s.recv_from(&mut buf) {
                assert!(
                    answer.replace(buf[..n].to_vec()).is_none(),
                    "two answers to one message"
                );
            }
            s.set_nonblocking(false).unwrap();
        }
        answer
    }
}

/// End to end: each file as one UDP datagram to the running binary.
#[test]
fn end_to_end_over_udp() {
    let ip = "127.0.0.3";
    let sidecar = common::Sidecar::start_with(&config_for(ip));
    let mut peer = CorpusPeer::new(ip);
    for (file, ours) in OURS {
        let answer = peer.exchange(sidecar.udp, &read(file));
        match (ours, answer) {
            (None, None) => {}
            (None, Some(a)) => panic!(
                "{file}: expected a drop, got {}",
                String::from_utf8_lossy(&a)
            ),
            (Some(code), None) => panic!("{file}: expected {code}, got no answer"),
            (Some(code), Some(a)) => {
                assert_eq!(
                    common::status(&a),
                    *code,
                    "{file}: {}",
                    String::from_utf8_lossy(&a)
                )
            }
        }
    }
}

/// Specific content the RFC asks for beyond the status code.
#[test]
fn rfc4475_details() {
    let ip = "127.0.0.4";
    let sidecar = common::Sidecar::start_with(&config_for(ip));
    let mut peer = CorpusPeer::new(ip);
    // bext01: Unsupported lists the Proxy-Require tokens.
    let r = peer
        .exchange(sidecar.udp, &read("TC_BEXT01_V.dat"))
        .unwrap();
    let unsupported = common::header_values(&r, "Unsupported").join(",");
    assert!(
        unsupported.contains("noProxiesSupportThis")
            && unsupported.contains("norDoAnyProxiesSupportThis"),
        "{unsupported}"
    );
    // 400s name the problem in the reason phrase.
    let r = peer
        .exchange(sidecar.udp, &read("TC_MULTI01_I.dat"))
        .unwrap();
    let line = String::from_utf8_lossy(&r)
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert!(
        line.starts_with("SIP/2.0 400 Bad Request (more than one"),
        "{line}"
    );
    // dblreq: the REGISTER is answered once; the INVITE-looking bytes after it are not.
    let r = peer.exchange(sidecar.udp, &read("TC_DBLREQ.dat")).unwrap();
    assert_eq!(common::status(&r), 405);
    assert_eq!(
        common::header_values(&r, "CSeq"),
        vec!["8 REGISTER".to_string()]
    );
    // intmeth: 501 carries Allow.
    let r = peer.exchange(sidecar.udp, &read("TC_INTMETH.dat")).unwrap();
    assert_eq!(common::header_values(&r, "Allow").len(), 1);
}

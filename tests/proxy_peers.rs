//! Proxy mode with SIP stacks this project did not write around sipforge
//! (`mode = "proxy"`):
//!
//! * the project's own UAC (`tests/agents`) → sipforge → Kamailio from Debian
//!   as the UAS (`tests/peers/kamailio-uas.cfg`, behaviour chosen by the
//!   Request-URI user): a full call INVITE/100/180/200/ACK/BYE/200 over UDP
//!   and from a TCP caller, and serial failover where Kamailio's first answer
//!   is 503 and a JavaScript routing script chose the routes;
//! * SIPp (Debian `sip-tester`) as the UAC (`tests/peers/sipp-uac.xml`:
//!   ACK and BYE follow the Record-Route set) → sipforge → Kamailio, from UDP
//!   and TCP; and SIPp UAC → sipforge → SIPp UAS (`tests/peers/sipp-uas.xml`),
//!   so the whole call runs between two stacks sipforge did not write.
//!
//! The transaction table must be empty after each scenario.

// Both include tests/fixtures (std-only data); two copies are harmless.
#[allow(clippy::duplicate_mod)]
mod agents;
mod common;

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use agents::{Kamailio, Msg, Timers, Transport, Uac};
use common::{Sidecar, admin_addr};

/// Proxy mode, carriers `k1` and `k2` both at Kamailio's UDP address, prefix
/// `1` → [k1, k2]; `script` optional (a customer script path).
fn config(k: &Kamailio, script: Option<&std::path::Path>) -> String {
    proxy_config(&k.addr(Transport::Udp).to_string(), script)
}

/// Proxy mode, carriers `k1` and `k2` both at gateway `gw` (`ip:port`, with
/// `;transport=tcp` for TCP), prefix `1` → [k1, k2]; `script` optional.
fn proxy_config(gw: &str, script: Option<&std::path::Path>) -> String {
    let script = script
        .map(|p| format!("script = {:?}\n", p.display().to_string()))
        .unwrap_or_default();
    format!(
        r#"
[server]
listen_udp = ["127.0.0.1:0"]
listen_tcp = ["127.0.0.1:0"]
mode = "proxy"
admin_listen = "127.0.0.1:0"

[proxy]
attempt_timeout_ms = 5000
t1_ms = 100
t2_ms = 400
t4_ms = 400

[[carriers]]
id = "k1"
gateways = ["{gw}"]

[[carriers]]
id = "k2"
gateways = ["{gw}"]

[[customers]]
id = "acme"
sources = ["127.0.0.1/32"]
{script}routes = [{{ prefix = "1", carriers = ["k1", "k2"] }}]
"#
    )
}

fn sidecar_addr(sc: &Sidecar, t: Transport) -> std::net::SocketAddr {
    match t {
        Transport::Udp => sc.udp,
        Transport::Tcp => sc.tcp,
    }
}

fn full_call_through_sipforge(t: Transport) {
    let Some(k) = Kamailio::start("proxy_full_call_to_kamailio") else {
        return;
    };
    let sc = Sidecar::start_with(&config(&k, None));
    let uac = Uac::new(t).with_timers(Timers::fast());
    let to = sidecar_addr(&sc, t);
    let mut call = uac.call(to, &format!("sip:15551234567@{to}"));
    call.invite().unwrap();
    let fin = call.wait_final().unwrap();
    assert_eq!(fin.status(), 200, "{}\n{}", fin.text(), sc.log_text());
    let statuses = call.statuses();
    assert!(
        statuses.contains(&180) && statuses.ends_with(&[200]),
        "{statuses:?}"
    );
    assert!(fin.body_text().contains("m=audio"), "{}", fin.text());
    // sipforge stays in the dialog: its Record-Route is the route set
    assert!(!call.route_set.is_empty(), "{}", fin.text());
    call.ack().unwrap();
    // The BYE only once Kamailio has the ACK: a 200 it retransmits while the
    // ACK is still on its way (a loaded machine) is ACKed again by the UAC,
    // and that second ACK must not be able to trail the BYE.
    assert!(
        k.wait_logged("ACK", &call.call_id, Duration::from_secs(5)),
        "{}",
        k.log_text()
    );
    let bye = call.bye().unwrap();
    assert_eq!(bye.status(), 200, "{}", bye.text());
    // Kamailio saw the whole dialog, the ACK and BYE loose-routed through sipforge
    assert!(k.wait_logged("BYE", &call.call_id, Duration::from_secs(5)));
    // (a 200 retransmitted before the ACK arrived is ACKed again: repeats
    // of one method are one step here)
    let mut seen: Vec<String> = k
        .requests(&call.call_id)
        .into_iter()
        .map(|(m, _)| m)
        .collect();
    seen.dedup();
    assert_eq!(seen, ["INVITE", "ACK", "BYE"], "{}", k.log_text());
    common::assert_no_transactions(&sc);
}

#[test]
fn full_call_uac_udp_sipforge_kamailio() {
    full_call_through_sipforge(Transport::Udp);
}

#[test]
fn full_call_uac_tcp_sipforge_udp_kamailio() {
    full_call_through_sipforge(Transport::Tcp);
}

#[test]
fn failover_from_kamailio_503_to_the_next_route_chosen_by_a_js_script() {
    let Some(k) = Kamailio::start("proxy_failover_kamailio") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("acme.js");
    // The first route asks Kamailio for its 503 behaviour; the second is a
    // normal call. A header marks every attempt.
    std::fs::write(
        &script,
        "export function main(data) {\n  data.egress_routing[0].dest_number = 'unavailable';\n  data.headers.push({ key: 'X-Routed-By', value: 'js' });\n  return data;\n}\n",
    )
    .unwrap();
    let sc = Sidecar::start_with(&config(&k, Some(&script)));
    let uac = Uac::new(Transport::Udp).with_timers(Timers::fast());
    let mut call = uac.call(sc.udp, &format!("sip:15551234567@{}", sc.udp));
    call.invite().unwrap();
    let fin = call.wait_final().unwrap();
    assert_eq!(fin.status(), 200, "{}\n{}", fin.text(), sc.log_text());
    call.ack().unwrap();
    assert_eq!(call.bye().unwrap().status(), 200);
    // Kamailio got two INVITEs for this call: the 503 user, then the number
    let invites: Vec<String> = k
        .requests(&call.call_id)
        .into_iter()
        .filter(|(m, _)| m == "INVITE")
        .map(|(_, uri)| uri)
        .collect();
    assert_eq!(invites.len(), 2, "{invites:?}\n{}", k.log_text());
    assert!(invites[0].starts_with("sip:unavailable@"), "{invites:?}");
    assert!(invites[1].starts_with("sip:15551234567@"), "{invites:?}");
    let admin = admin_addr(&sc);
    assert!(
        common::metrics(admin)
            .contains("sipforge_egress_attempts_total{carrier=\"k1\",code=\"503\"} 1"),
        "{}",
        common::metrics(admin)
    );
    common::assert_no_transactions(&sc);
}

// ---------------------------------------------------------------------- SIPp

/// Most of a trace file a failure message shows (its end).
const REPORT_CHARS: usize = 30_000;

/// The SIPp binary (Debian `sip-tester`), if it runs (`sipp -v` exits 99).
fn sipp_bin() -> Option<PathBuf> {
    ["sipp", "/usr/bin/sipp", "/usr/local/bin/sipp"]
        .iter()
        .map(PathBuf::from)
        .find(|p| {
            Command::new(p)
                .arg("-v")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok()
        })
}

/// The SIPp binary, or a printed notice and `None`; under CI (`CI` set),
/// where `.ci/test` installs it, its absence is a failure.
fn sipp_available(test: &str) -> Option<PathBuf> {
    if let Some(bin) = sipp_bin() {
        return Some(bin);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "sipp is missing under CI: .ci/test installs it (Debian package `sip-tester`)"
    );
    eprintln!(
        "NOTICE: sipp not found: {test} skipped (apt-get install sip-tester, or run .ci/test)"
    );
    None
}

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers")
        .join(name)
}

/// A port free for both UDP and TCP on 127.0.0.1 right now.
fn free_port() -> u16 {
    for _ in 0..50 {
        let u = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let port = u.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no port free for both UDP and TCP");
}

/// True when a socket holds `port` on 127.0.0.1 for `t` (our bind fails).
fn port_taken(t: Transport, port: u16) -> bool {
    match t {
        Transport::Udp => UdpSocket::bind(("127.0.0.1", port)).is_err(),
        Transport::Tcp => TcpListener::bind(("127.0.0.1", port)).is_err(),
    }
}

/// SIPp's exit code for "cannot bind its socket" (-2).
const SIPP_BIND_ERROR: i32 = 254;

/// One SIPp process, a child of the test (killed on drop), on 127.0.0.1 with
/// its screen, message trace and error trace in a temporary directory.
struct Sipp {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
    status: Option<ExitStatus>,
}

impl Sipp {
    /// Runs `sipp -sf tests/peers/<xml> -t u1|t1 -m <calls>` with a global
    /// `-timeout <timeout_s>s -timeout_error` (a hang fails), on a free local
    /// port; `extra` ends the command line (the remote host for a UAC).
    /// Returns once SIPp holds its port (or has already finished).
    fn start(
        bin: &Path,
        xml: &str,
        t: Transport,
        calls: u32,
        timeout_s: u32,
        extra: &[&str],
    ) -> Sipp {
        let mut last = String::new();
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("tempdir");
            let port = free_port();
            let screen = std::fs::File::create(dir.path().join("screen.log")).expect("screen");
            let child = Command::new(bin)
                .arg("-sf")
                .arg(scenario(xml))
                .args(["-i", "127.0.0.1", "-p", &port.to_string()])
                .args(["-t", if t == Transport::Tcp { "t1" } else { "u1" }])
                .args(["-m", &calls.to_string()])
                .args(["-timeout", &format!("{timeout_s}s"), "-timeout_error"])
                .args(["-nostdin", "-trace_msg", "-trace_err"])
                .arg("-message_file")
                .arg(dir.path().join("messages.log"))
                .arg("-error_file")
                .arg(dir.path().join("errors.log"))
                .args(extra)
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(screen.try_clone().expect("screen"))
                .stderr(screen)
                .spawn()
                .expect("spawn sipp");
            let mut s = Sipp {
                child,
                dir,
                port,
                status: None,
            };
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Some(st) = s.child.try_wait().expect("try_wait sipp") {
                    s.status = Some(st);
                    break;
                }
                if port_taken(t, port) || Instant::now() > deadline {
                    return s;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            if s.status.and_then(|st| st.code()) != Some(SIPP_BIND_ERROR) {
                return s;
            }
            last = s.report();
        }
        panic!("sipp could not bind a port; last run:\n{last}");
    }

    /// SIPp UAC (`tests/peers/sipp-uac.xml`): `calls` calls to
    /// `sip:15551234567@<to>`, 10 per second.
    fn uac(bin: &Path, t: Transport, to: SocketAddr, calls: u32) -> Sipp {
        let to = to.to_string();
        Self::start(
            bin,
            "sipp-uac.xml",
            t,
            calls,
            20,
            &["-s", "15551234567", "-r", "10", "-rp", "1000", &to],
        )
    }

    /// SIPp UAS (`tests/peers/sipp-uas.xml`) for `calls` calls; it exits 4 s
    /// (its time-wait) after the last BYE.
    fn uas(bin: &Path, t: Transport, calls: u32) -> Sipp {
        Self::start(bin, "sipp-uas.xml", t, calls, 60, &[])
    }

    fn addr(&self) -> SocketAddr {
        ([127, 0, 0, 1], self.port).into()
    }

    /// Waits for the exit (SIPp's own -timeout ends it first; `limit` is a
    /// liveness bound). Panics with the traces when it does not exit.
    fn wait(&mut self, limit: Duration) -> ExitStatus {
        if let Some(st) = self.status {
            return st;
        }
        let deadline = Instant::now() + limit;
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait sipp") {
                self.status = Some(st);
                return st;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("sipp did not exit within {limit:?}\n{}", self.report());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn file(&self, name: &str) -> String {
        let text = std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        let cut = text.len().saturating_sub(REPORT_CHARS);
        let cut = (cut..=text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(text.len());
        text[cut..].to_string()
    }

    /// Screen (statistics), error trace and message trace, for a failure.
    fn report(&self) -> String {
        format!(
            "=== sipp on port {} exit {:?}\n--- screen\n{}\n--- errors\n{}\n--- messages\n{}",
            self.port,
            self.status,
            self.file("screen.log"),
            self.file("errors.log"),
            self.file("messages.log")
        )
    }

    /// The last cumulative value of a statistics line (`Successful call`).
    fn stat(&self, name: &str) -> Option<u64> {
        let screen = std::fs::read_to_string(self.dir.path().join("screen.log")).ok()?;
        screen
            .lines()
            .filter(|l| l.trim_start().starts_with(name))
            .filter_map(|l| l.rsplit('|').next()?.trim().parse().ok())
            .next_back()
    }

    /// Every message in the trace: (sent by SIPp?, message).
    fn messages(&self) -> Vec<(bool, Msg)> {
        let raw = std::fs::read(self.dir.path().join("messages.log")).unwrap_or_default();
        let text = String::from_utf8_lossy(&raw);
        let mut out = Vec::new();
        for block in text.split("\n-----------------------------------------------") {
            // "<ts>\nUDP message sent (N bytes):\n\n<message>" (or "received")
            let Some((head, msg)) = block.split_once(":\n\n") else {
                continue;
            };
            let sent = head.contains("message sent");
            if !sent && !head.contains("message received") {
                continue;
            }
            if let Some(m) = Msg::parse(msg.as_bytes()) {
                out.push((sent, m));
            }
        }
        out
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// True when the first URI of a Route/Record-Route value list names `addr`.
fn names(values: &[String], addr: SocketAddr) -> bool {
    values
        .iter()
        .flat_map(|v| agents::split_commas(v))
        .any(|u| agents::uri_of(&u).contains(&addr.to_string()))
}

/// Checks the SIPp UAC's trace: `calls` dialogs, each a 200 to INVITE that
/// carries sipforge's Record-Route (`via` is sipforge's address on the
/// caller's transport), an ACK and a BYE sent with a Route set naming it,
/// and a 200 to the BYE. Returns the Call-IDs.
fn check_uac_trace(uac: &Sipp, calls: u32, via: SocketAddr) -> Vec<String> {
    let msgs = uac.messages();
    let fail = || uac.report();
    let mut ids: Vec<String> = msgs.iter().map(|(_, m)| m.call_id()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), calls as usize, "{}", fail());
    for id in &ids {
        let of = |sent: bool, f: &dyn Fn(&Msg) -> bool| {
            msgs.iter()
                .filter(|(s, m)| *s == sent && m.call_id() == *id && f(m))
                .map(|(_, m)| m.clone())
                .collect::<Vec<Msg>>()
        };
        let ok_invite = of(false, &|m| {
            !m.is_request() && m.status() == 200 && m.cseq().1 == "INVITE"
        });
        assert!(!ok_invite.is_empty(), "{id}: no 200 to INVITE\n{}", fail());
        assert!(
            names(&ok_invite[0].header_all("Record-Route"), via),
            "{id}: 200 without sipforge's Record-Route\n{}",
            fail()
        );
        for method in ["ACK", "BYE"] {
            let sent = of(true, &|m| m.is_request() && m.method() == method);
            assert!(!sent.is_empty(), "{id}: no {method} sent\n{}", fail());
            assert!(
                names(&sent[0].header_all("Route"), via),
                "{id}: {method} without a Route to sipforge\n{}",
                fail()
            );
        }
        let ok_bye = of(false, &|m| {
            !m.is_request() && m.status() == 200 && m.cseq().1 == "BYE"
        });
        assert!(!ok_bye.is_empty(), "{id}: no 200 to BYE\n{}", fail());
    }
    assert_eq!(
        uac.stat("Successful call"),
        Some(calls.into()),
        "{}",
        fail()
    );
    assert_eq!(uac.stat("Failed call"), Some(0), "{}", fail());
    ids
}

/// `sipforge_egress_attempts_total{carrier="k1",code="200"}`: every call
/// went out through sipforge's client side (an attempt answered 200).
fn assert_attempts_200(sc: &Sidecar, calls: u32) {
    let admin = admin_addr(sc);
    let want = format!("sipforge_egress_attempts_total{{carrier=\"k1\",code=\"200\"}} {calls}");
    let m = common::metrics(admin);
    assert!(m.lines().any(|l| l == want), "want {want}\n{m}");
}

fn sipp_uac_sipforge_kamailio(t: Transport, test: &str) {
    let Some(bin) = sipp_available(test) else {
        return;
    };
    let Some(k) = Kamailio::start(test) else {
        return;
    };
    let sc = Sidecar::start_with(&config(&k, None));
    let calls = 3;
    let mut uac = Sipp::uac(&bin, t, sidecar_addr(&sc, t), calls);
    let st = uac.wait(Duration::from_secs(60));
    assert!(
        st.success(),
        "{st}\n{}\nsipforge:\n{}\nkamailio:\n{}",
        uac.report(),
        sc.log_text(),
        k.log_text()
    );
    let ids = check_uac_trace(&uac, calls, sidecar_addr(&sc, t));
    // Kamailio saw each whole dialog, ACK and BYE loose-routed by sipforge
    // (a 200 retransmitted before the ACK arrived is ACKed again: repeats of
    // one method are one step)
    for id in &ids {
        assert!(
            k.wait_logged("BYE", id, Duration::from_secs(5)),
            "{}",
            k.log_text()
        );
        let mut seen: Vec<String> = k.requests(id).into_iter().map(|(m, _)| m).collect();
        seen.dedup();
        assert_eq!(seen, ["INVITE", "ACK", "BYE"], "{id}\n{}", k.log_text());
    }
    assert_attempts_200(&sc, calls);
    common::assert_no_transactions(&sc);
}

#[test]
fn sipp_uac_udp_sipforge_kamailio() {
    sipp_uac_sipforge_kamailio(Transport::Udp, "sipp_uac_udp_sipforge_kamailio");
}

#[test]
fn sipp_uac_tcp_sipforge_udp_kamailio() {
    sipp_uac_sipforge_kamailio(Transport::Tcp, "sipp_uac_tcp_sipforge_udp_kamailio");
}

/// SIPp UAC (`caller` transport) → sipforge → SIPp UAS (`callee`): both
/// SIPp runs succeed, and the UAS got each INVITE through sipforge (its
/// Via on top, its Record-Route) and the ACK and BYE.
fn sipp_uac_sipforge_sipp_uas(caller: Transport, callee: Transport, test: &str) {
    let Some(bin) = sipp_available(test) else {
        return;
    };
    let calls = 5;
    let mut uas = Sipp::uas(&bin, callee, calls);
    let gw = match callee {
        Transport::Udp => uas.addr().to_string(),
        Transport::Tcp => format!("{};transport=tcp", uas.addr()),
    };
    let sc = Sidecar::start_with(&proxy_config(&gw, None));
    let mut uac = Sipp::uac(&bin, caller, sidecar_addr(&sc, caller), calls);
    let st = uac.wait(Duration::from_secs(60));
    let both = |uac: &Sipp, uas: &Sipp| {
        format!(
            "{}\n{}\nsipforge:\n{}",
            uac.report(),
            uas.report(),
            sc.log_text()
        )
    };
    assert!(st.success(), "uac {st}\n{}", both(&uac, &uas));
    check_uac_trace(&uac, calls, sidecar_addr(&sc, caller));
    let st = uas.wait(Duration::from_secs(60));
    assert!(st.success(), "uas {st}\n{}", both(&uac, &uas));
    assert_eq!(
        uas.stat("Successful call"),
        Some(calls.into()),
        "{}",
        both(&uac, &uas)
    );
    let got = uas.messages();
    for method in ["INVITE", "ACK", "BYE"] {
        let reqs: Vec<&Msg> = got
            .iter()
            .filter(|(sent, m)| !*sent && m.is_request() && m.method() == method)
            .map(|(_, m)| m)
            .collect();
        let mut ids: Vec<String> = reqs.iter().map(|m| m.call_id()).collect();
        ids.dedup();
        assert_eq!(ids.len(), calls as usize, "{method}\n{}", both(&uac, &uas));
        let sf = sidecar_addr(&sc, callee);
        for m in reqs {
            let top_via = m.header_all("Via").first().cloned().unwrap_or_default();
            assert!(
                top_via.contains(&format!("{}:{}", sf.ip(), sf.port())),
                "{method} not via sipforge: {}",
                m.text()
            );
            if method == "INVITE" {
                assert!(names(&m.header_all("Record-Route"), sf), "{}", m.text());
            }
        }
    }
    assert_attempts_200(&sc, calls);
    common::assert_no_transactions(&sc);
}

#[test]
fn sipp_uac_udp_sipforge_sipp_uas_udp() {
    sipp_uac_sipforge_sipp_uas(
        Transport::Udp,
        Transport::Udp,
        "sipp_uac_udp_sipforge_sipp_uas_udp",
    );
}

#[test]
fn sipp_uac_tcp_sipforge_sipp_uas_tcp() {
    sipp_uac_sipforge_sipp_uas(
        Transport::Tcp,
        Transport::Tcp,
        "sipp_uac_tcp_sipforge_sipp_uas_tcp",
    );
}

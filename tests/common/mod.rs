//! Test harness: runs the real `sipforge` binary on ephemeral loopback ports
//! and talks SIP to it over real sockets.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "../fixtures/mod.rs"]
mod fixtures;

pub use fixtures::TEST_CONFIG;

/// A running sidecar; killed on drop.
pub struct Sidecar {
    child: Child,
    pub udp: SocketAddr,
    pub tcp: SocketAddr,
    pub log: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Sidecar {
    pub fn start() -> Sidecar {
        Self::start_with(TEST_CONFIG)
    }

    pub fn start_with(config: &str) -> Sidecar {
        Self::start_with_env(config, &[])
    }

    /// [`Sidecar::start_with`] with extra environment variables; the config
    /// file is `sipforge.toml` in [`Sidecar::dir`].
    pub fn start_with_env(config: &str, env: &[(&str, &str)]) -> Sidecar {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sipforge.toml");
        // Uploaded scripts go to the sidecar's own directory unless the test
        // says where: never the repository's `scripts/` (a developer's
        // uploads there must not change test results).
        let config = if config.contains("script_dir") {
            config.to_string()
        } else {
            let store = dir.path().join("uploaded");
            config.replacen(
                "[server]\n",
                &format!("[server]\nscript_dir = {:?}\n", store.display().to_string()),
                1,
            )
        };
        std::fs::write(&path, &config).expect("write config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_sipforge"))
            .args(["serve", "--config"])
            .arg(&path)
            .envs(env.iter().copied())
            .env("RUST_LOG", "info,sipforge=debug")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sipforge");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let log2 = log.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let _ = tx.send(rest.trim().to_string());
                }
                log2.lock().unwrap().push(line);
            }
        });
        let (mut udp, mut tcp) = (None, None);
        let deadline = Instant::now() + Duration::from_secs(20);
        while udp.is_none() || tcp.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(l) = rx.recv_timeout(left) else {
                let _ = child.kill();
                panic!(
                    "sipforge did not start; log:\n{}",
                    log.lock().unwrap().join("\n")
                );
            };
            let (t, a) = l.split_once(' ').expect("listening line");
            match t {
                "udp" => udp = udp.or(Some(a.parse().expect("udp addr"))),
                "tcp" => tcp = tcp.or(Some(a.parse().expect("tcp addr"))),
                _ => {}
            }
        }
        Sidecar {
            child,
            udp: udp.unwrap(),
            tcp: tcp.unwrap(),
            log,
            reader: Some(reader),
            _dir: dir,
        }
    }

    /// The first log line containing every one of `parts`, waiting up to
    /// 10 s for it (the log is read by a thread; liveness bound only).
    pub fn log_line(&self, parts: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found = self
                .log
                .lock()
                .unwrap()
                .iter()
                .find(|l| parts.iter().all(|p| l.contains(p)))
                .cloned();
            if let Some(l) = found {
                return l;
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {parts:?}:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A temporary directory of the sidecar's own (holds `sipforge.toml`).
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// True while the process runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends a signal (`"TERM"`, `"INT"`, `"HUP"`) to the process.
    pub fn signal(&self, sig: &str) {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &pid])
            .status()
            .expect("kill");
        assert!(ok.success());
    }

    /// Sends SIGTERM and waits (up to 10 s) for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        self.signal("TERM");
        self.wait_exit(Duration::from_secs(10))
    }

    /// Waits up to `within` (a liveness bound) for the process to exit.
    pub fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                // The log reader ends at EOF: join it so the log is complete.
                if let Some(r) = self.reader.take() {
                    let _ = r.join();
                }
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "sipforge did not exit within {within:?}; log:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A UDP client socket bound to `local` (e.g. "127.0.0.1:0" or "127.0.0.2:0").
pub fn udp_client(local: &str) -> UdpSocket {
    let s = UdpSocket::bind(local).expect("bind udp client");
    s.set_read_timeout(Some(Duration::from_millis(2000)))
        .unwrap();
    s
}

/// Receives one datagram, or `None` after the socket's read timeout.
pub fn recv(sock: &UdpSocket) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 65_535];
    match sock.recv_from(&mut buf) {
        Ok((n, _)) => Some(buf[..n].to_vec()),
        Err(_) => None,
    }
}

/// Sends and waits for one reply.
pub fn udp_exchange(sock: &UdpSocket, to: SocketAddr, msg: &[u8]) -> Option<Vec<u8>> {
    sock.send_to(msg, to).expect("send");
    recv(sock)
}

/// Status code of a response.
pub fn status(resp: &[u8]) -> u16 {
    let s = String::from_utf8_lossy(resp);
    s.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not a response: {s}"))
}

/// All values of a header (by exact case-insensitive name) in a response.
pub fn header_values(resp: &[u8], name: &str) -> Vec<String> {
    let s = String::from_utf8_lossy(resp);
    s.split("\r\n")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_string())
        .collect()
}

/// A minimal INVITE with a given Request-URI user, Call-ID and branch.
pub fn invite(user: &str, call_id: &str, branch: &str, local: SocketAddr) -> Vec<u8> {
    let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
    format!(
        "INVITE sip:{user}@127.0.0.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK{branch};rport\r\n\
Max-Forwards: 70\r\n\
From: \"Alice\" <sip:15550001111@127.0.0.1>;tag=t{branch}\r\n\
To: <sip:{user}@127.0.0.1>\r\n\
Call-ID: {call_id}\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:15550001111@{local}>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
    .into_bytes()
}

/// A TCP connection to the sidecar with a read timeout.
pub fn tcp_connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("tcp connect");
    s.set_read_timeout(Some(Duration::from_millis(2000)))
        .unwrap();
    s
}

/// Reads one SIP message framed by Content-Length from a stream.
pub fn tcp_read_message(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => return None,
        }
    }
    let cl: usize = header_values(&buf, "Content-Length")
        .first()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; cl];
    s.read_exact(&mut body).ok()?;
    buf.extend_from_slice(&body);
    Some(buf)
}

pub fn tcp_send(s: &mut TcpStream, msg: &[u8]) {
    s.write_all(msg).expect("tcp write");
}

/// `TEST_CONFIG` with customer `acme` running `script` (`extra` lines go into
/// the customer's table).
pub fn config_with_script(script: &std::path::Path, extra: &str) -> String {
    TEST_CONFIG.replace(
        "sources = [\"127.0.0.1/32\"]",
        &format!(
            "sources = [\"127.0.0.1/32\"]\nscript = {:?}\n{extra}",
            script.display().to_string()
        ),
    )
}

/// One INVITE for `user` from a fresh UDP socket; the answer.
pub fn call_user(sc: &Sidecar, user: &str, id: &str) -> Vec<u8> {
    let sock = udp_client("127.0.0.1:0");
    let local = sock.local_addr().unwrap();
    udp_exchange(&sock, sc.udp, &invite(user, id, id, local)).expect("an answer")
}

/// The first line of a response (`SIP/2.0 404 Not Found`).
pub fn status_line(resp: &[u8]) -> String {
    String::from_utf8_lossy(resp)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The admin listener of a sidecar whose config has `admin_listen`.
pub fn admin_addr(sc: &Sidecar) -> SocketAddr {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let log = sc.log_text();
        if let Some(a) = log
            .lines()
            .find_map(|l| l.split("listening on admin http://").nth(1))
        {
            return a.trim().parse().expect("admin addr");
        }
        assert!(Instant::now() < deadline, "no admin listener: {log}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `GET /metrics` from the admin listener.
pub fn metrics(admin: SocketAddr) -> String {
    let mut s = TcpStream::connect(admin).expect("admin connect");
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// The value of a metric line starting with `prefix` (0 when absent).
pub fn metric(admin: SocketAddr, prefix: &str) -> i64 {
    metrics(admin)
        .lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Waits (liveness bound, not a timing assertion) for the transaction table
/// to empty: every timer here is at most 64·T1 = 3.2 s.
pub fn assert_no_transactions(sc: &Sidecar) {
    let admin = admin_addr(sc);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let n = metric(admin, "sipforge_transactions_active ");
        let d = metric(admin, "sipforge_dialogs_active ");
        if n == 0 && d == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{n} transactions and {d} dialogs left; log:\n{}",
            sc.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

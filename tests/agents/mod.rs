//! The project's own SIP test agents, for end-to-end tests with real peers on
//! both sides of sipforge: a UAC that places calls ([`Uac`], [`Call`]), a UAS
//! with programmable behaviour per call ([`Uas`], [`Plan`]), and a launcher
//! for Kamailio as a scripted UAS ([`Kamailio`], `tests/peers/kamailio-uas.cfg`).
//!
//! Blocking std sockets and threads with timeouts, like `tests/common`; UDP
//! and TCP; loopback only. The agents follow RFC 3261 where a test can see
//! it: timer A/B/E/F retransmissions on UDP, ACK construction (§17.1.1.3 for
//! non-2xx, §13.2.2.4 for 2xx), dialog route sets (§12.1.2, loose and strict
//! routing §12.2.1.1), CANCEL (§9.1), response addressing with rport
//! (§18.2.2, RFC 3581).
#![allow(dead_code)]

#[path = "../fixtures/mod.rs"]
mod fixtures;

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ------------------------------------------------------------------ basics

/// The transport an agent uses for everything it sends and receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    /// `UDP` / `TCP`, as in a Via header.
    pub fn via(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }

    /// `udp` / `tcp`, as in a `transport=` URI parameter.
    pub fn param(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        }
    }
}

/// RFC 3261 timer values (Table 4). Timer B and F are `64 * t1`.
#[derive(Clone, Copy, Debug)]
pub struct Timers {
    pub t1: Duration,
    pub t2: Duration,
    /// How long a UAC waits for a final response once a provisional one
    /// arrived (RFC 3261 has no timer there; a test needs a bound).
    pub proceeding: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            proceeding: Duration::from_secs(10),
        }
    }
}

impl Timers {
    /// T1 = 50 ms, T2 = 400 ms: timer B/F fire after 3.2 s.
    pub fn fast() -> Self {
        Timers {
            t1: Duration::from_millis(50),
            t2: Duration::from_millis(400),
            proceeding: Duration::from_secs(10),
        }
    }

    /// Timer B (INVITE) and F (non-INVITE) transaction timeout: 64*T1.
    pub fn timeout(&self) -> Duration {
        self.t1 * 64
    }
}

/// Why a client transaction ended without a final response.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AgentError {
    #[error("transaction timeout (timer B/F) after {0:?}")]
    Timeout(Duration),
    #[error("no final response within {0:?} after a provisional one")]
    NoFinal(Duration),
    #[error("no dialog: the call has no 2xx (to-tag, remote target)")]
    NoDialog,
    #[error("cannot send to {0}: {1}")]
    Send(SocketAddr, String),
    #[error("unroutable URI {0}")]
    Uri(String),
}

static COUNTER: AtomicU64 = AtomicU64::new(1);

/// A token unique in this test process (and very likely across processes).
pub fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}{}x{n}x{t:x}", std::process::id())
}

/// A fresh RFC 3261 branch (`z9hG4bK` magic cookie).
pub fn branch() -> String {
    unique("z9hG4bK")
}

/// The reason phrase the agents use for a status code.
pub fn reason(code: u16) -> &'static str {
    match code {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        183 => "Session Progress",
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        486 => "Busy Here",
        487 => "Request Terminated",
        500 => "Server Internal Error",
        503 => "Service Unavailable",
        600 => "Busy Everywhere",
        603 => "Decline",
        _ => "Whatever",
    }
}

/// A small SDP offer/answer from `ip`.
pub fn sdp(ip: &str, port: u16) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\n"
    )
}

// ------------------------------------------------------------------ messages

/// Longest message the agents accept (and the TCP framing buffer cap).
pub const MAX_MESSAGE: usize = 65_535;

/// A SIP message, parsed loosely (enough for tests to assert on).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Msg {
    pub raw: Vec<u8>,
    pub first_line: String,
    /// Header lines in order, name as written, value trimmed.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Splits a header value at top-level commas (outside `<>` and quotes).
pub fn split_commas(value: &str) -> Vec<String> {
    let (mut out, mut cur) = (Vec::new(), String::new());
    let (mut angle, mut quote) = (false, false);
    for c in value.chars() {
        match c {
            '"' if !angle => quote = !quote,
            '<' if !quote => angle = true,
            '>' if !quote => angle = false,
            ',' if !angle && !quote => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// The value of parameter `name` in a header value or URI (`;name=value`;
/// an empty string for a bare `;name`).
pub fn param(value: &str, name: &str) -> Option<String> {
    // `<sip:h;lr>`: the `>` closes the URI, it is not part of the parameter.
    value.split(';').skip(1).find_map(|p| {
        let p = p.split('>').next().unwrap_or(p);
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

/// The URI of a name-addr (`"A" <sip:a@h>;tag=1` → `sip:a@h`) or addr-spec
/// (`sip:a@h;tag=1` → `sip:a@h`).
pub fn uri_of(value: &str) -> String {
    match (value.find('<'), value.find('>')) {
        (Some(a), Some(b)) if a < b => value[a + 1..b].trim().to_string(),
        _ => value.split(';').next().unwrap_or("").trim().to_string(),
    }
}

/// Where a SIP URI points: its host and port (5060 by default), resolved.
pub fn uri_addr(uri: &str) -> Option<SocketAddr> {
    let u = uri_of(uri);
    let rest = u
        .strip_prefix("sip:")
        .or_else(|| u.strip_prefix("sips:"))
        .unwrap_or(&u);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let hostport = rest.split([';', '?']).next()?;
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, p) = v6.split_once(']')?;
        (h.to_string(), p.strip_prefix(':').unwrap_or(""))
    } else {
        let (h, p) = hostport.split_once(':').unwrap_or((hostport, ""));
        (h.to_string(), p)
    };
    let port: u16 = if port.is_empty() {
        5060
    } else {
        port.parse().ok()?
    };
    (host.as_str(), port).to_socket_addrs().ok()?.next()
}

impl Msg {
    /// Parses one message; `None` for anything that is not SIP-shaped.
    pub fn parse(raw: &[u8]) -> Option<Msg> {
        let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = std::str::from_utf8(&raw[..end]).ok()?;
        let mut lines = head.split("\r\n");
        let first_line = lines.next()?.to_string();
        let sip = first_line.starts_with("SIP/2.0 ") || first_line.ends_with(" SIP/2.0");
        if !sip {
            return None;
        }
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in lines {
            if line.starts_with([' ', '\t']) {
                // Folded continuation line.
                let last = headers.last_mut()?;
                last.1.push(' ');
                last.1.push_str(line.trim());
                continue;
            }
            let (n, v) = line.split_once(':')?;
            headers.push((
                fixtures::full_header_name(n.trim()).to_string(),
                v.trim().to_string(),
            ));
        }
        let body = raw[end + 4..].to_vec();
        Some(Msg {
            raw: raw.to_vec(),
            first_line,
            headers,
            body,
        })
    }

    pub fn is_request(&self) -> bool {
        !self.first_line.starts_with("SIP/2.0 ")
    }

    /// The request method, or for a response the CSeq method.
    pub fn method(&self) -> String {
        if self.is_request() {
            self.first_line
                .split(' ')
                .next()
                .unwrap_or_default()
                .to_string()
        } else {
            self.cseq().1
        }
    }

    /// The Request-URI (empty for a response).
    pub fn uri(&self) -> String {
        if self.is_request() {
            self.first_line
                .split(' ')
                .nth(1)
                .unwrap_or_default()
                .to_string()
        } else {
            String::new()
        }
    }

    /// The user part of the Request-URI (`sip:alice@h` → `alice`).
    pub fn uri_user(&self) -> String {
        let u = self.uri();
        let rest = u.split_once(':').map_or(u.as_str(), |(_, r)| r);
        match rest.split_once('@') {
            Some((user, _)) => user.split(';').next().unwrap_or("").to_string(),
            None => String::new(),
        }
    }

    /// The status code (0 for a request).
    pub fn status(&self) -> u16 {
        if self.is_request() {
            return 0;
        }
        self.first_line
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0)
    }

    /// The first value of a header (case-insensitive name, compact forms
    /// understood).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header, comma-separated values split (for Via,
    /// Route, Record-Route, Contact and the like).
    pub fn header_all(&self, name: &str) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| split_commas(v))
            .collect()
    }

    pub fn call_id(&self) -> String {
        self.header("Call-ID").unwrap_or_default().to_string()
    }

    /// CSeq number and method.
    pub fn cseq(&self) -> (u32, String) {
        let v = self.header("CSeq").unwrap_or_default();
        let mut it = v.split_whitespace();
        let n = it.next().and_then(|n| n.parse().ok()).unwrap_or(0);
        (n, it.next().unwrap_or_default().to_string())
    }

    /// The From tag.
    pub fn tag_in_from(&self) -> Option<String> {
        self.header("From").and_then(|v| param(v, "tag"))
    }

    pub fn to_tag(&self) -> Option<String> {
        self.header("To").and_then(|v| param(v, "tag"))
    }

    /// The branch of the top Via.
    pub fn branch(&self) -> Option<String> {
        self.header_all("Via")
            .first()
            .and_then(|v| param(v, "branch"))
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }
}

// ------------------------------------------------------------------ endpoint

/// One datagram or one framed stream message, as received.
#[derive(Clone, Debug)]
pub struct Packet {
    pub bytes: Vec<u8>,
    /// Always parsed: what is not SIP is only counted
    /// ([`Endpoint::garbage`]).
    pub msg: Option<Msg>,
    pub from: SocketAddr,
    pub at: Instant,
}

/// Cap on messages kept aside by [`Endpoint::recv_where`] for other callers.
const STASH_CAP: usize = 1024;

/// A bound socket (UDP) or listener plus connections (TCP) with a receive
/// queue filled by reader threads, which stop when the endpoint is dropped.
pub struct Endpoint {
    pub transport: Transport,
    pub local: SocketAddr,
    udp: Option<UdpSocket>,
    conns: Arc<Mutex<HashMap<SocketAddr, TcpStream>>>,
    tx: Sender<Packet>,
    rx: Mutex<Receiver<Packet>>,
    stash: Mutex<VecDeque<Packet>>,
    stop: Arc<AtomicBool>,
    garbage: Arc<AtomicUsize>,
}

/// Queues a received message; counts (and drops) what is not SIP. False
/// when the endpoint is gone.
fn deliver(tx: &Sender<Packet>, garbage: &AtomicUsize, bytes: Vec<u8>, from: SocketAddr) -> bool {
    let Some(msg) = Msg::parse(&bytes) else {
        garbage.fetch_add(1, Ordering::Relaxed);
        return true;
    };
    tx.send(Packet {
        bytes,
        msg: Some(msg),
        from,
        at: Instant::now(),
    })
    .is_ok()
}

fn spawn_udp_reader(
    sock: UdpSocket,
    tx: Sender<Packet>,
    stop: Arc<AtomicBool>,
    garbage: Arc<AtomicUsize>,
) {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; MAX_MESSAGE];
        while !stop.load(Ordering::Relaxed) {
            if let Ok((n, from)) = sock.recv_from(&mut buf)
                && !deliver(&tx, &garbage, buf[..n].to_vec(), from)
            {
                return;
            }
        }
    });
}

/// Splits one message off the front of a stream buffer (Content-Length
/// framing, leading CRLF keep-alives skipped).
fn take_framed(buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    while buf.starts_with(b"\r\n") {
        buf.drain(..2);
    }
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..end]);
    let cl = head
        .split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| {
            let n = n.trim();
            n.eq_ignore_ascii_case("Content-Length") || n.eq_ignore_ascii_case("l")
        })
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    if buf.len() < end + cl {
        return None;
    }
    Some(buf.drain(..end + cl).collect())
}

struct Shared {
    tx: Sender<Packet>,
    stop: Arc<AtomicBool>,
    conns: Arc<Mutex<HashMap<SocketAddr, TcpStream>>>,
    garbage: Arc<AtomicUsize>,
}

fn spawn_tcp_reader(mut stream: TcpStream, peer: SocketAddr, sh: Shared) {
    let Shared {
        tx,
        stop,
        conns,
        garbage,
    } = sh;
    std::thread::spawn(move || {
        let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
        let (mut buf, mut chunk) = (Vec::new(), vec![0u8; 16_384]);
        while !stop.load(Ordering::Relaxed) {
            match stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    continue;
                }
                Err(_) => break,
            }
            while let Some(bytes) = take_framed(&mut buf) {
                if !deliver(&tx, &garbage, bytes, peer) {
                    return;
                }
            }
            if buf.len() > MAX_MESSAGE {
                // Not SIP framing: count it as garbage, drop the connection.
                garbage.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
        conns.lock().unwrap().remove(&peer);
    });
}

impl Endpoint {
    /// Binds `ip:0` (e.g. "127.0.0.1") for `transport`.
    pub fn bind(transport: Transport, ip: &str) -> Endpoint {
        Self::bind_addr(transport, &format!("{ip}:0"))
    }

    /// Binds an exact address ("127.0.0.1:0" for an ephemeral port).
    pub fn bind_addr(transport: Transport, addr: &str) -> Endpoint {
        let (tx, rx) = channel();
        let stop = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<HashMap<SocketAddr, TcpStream>>> = Arc::default();
        let garbage = Arc::new(AtomicUsize::new(0));
        let (udp, local) = match transport {
            Transport::Udp => {
                let s = UdpSocket::bind(addr).expect("bind udp");
                s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
                let local = s.local_addr().unwrap();
                spawn_udp_reader(
                    s.try_clone().unwrap(),
                    tx.clone(),
                    stop.clone(),
                    garbage.clone(),
                );
                (Some(s), local)
            }
            Transport::Tcp => {
                let l = TcpListener::bind(addr).expect("bind tcp");
                l.set_nonblocking(true).unwrap();
                let local = l.local_addr().unwrap();
                let (tx, stop, conns, garbage) =
                    (tx.clone(), stop.clone(), conns.clone(), garbage.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        match l.accept() {
                            Ok((s, peer)) => {
                                let _ = s.set_nonblocking(false);
                                let _ = s.set_nodelay(true);
                                if let Ok(w) = s.try_clone() {
                                    conns.lock().unwrap().insert(peer, w);
                                }
                                let sh = Shared {
                                    tx: tx.clone(),
                                    stop: stop.clone(),
                                    conns: conns.clone(),
                                    garbage: garbage.clone(),
                                };
                                spawn_tcp_reader(s, peer, sh);
                            }
                            Err(_) => std::thread::sleep(Duration::from_millis(10)),
                        }
                    }
                });
                (None, local)
            }
        };
        Endpoint {
            transport,
            local,
            udp,
            conns,
            tx,
            rx: Mutex::new(rx),
            stash: Mutex::new(VecDeque::new()),
            stop,
            garbage,
        }
    }

    /// Sends one message to `to`: a datagram, or on the TCP connection with
    /// `to` (opened if there is none).
    pub fn send(&self, to: SocketAddr, bytes: &[u8]) -> Result<(), AgentError> {
        let err = |e: std::io::Error| AgentError::Send(to, e.to_string());
        match &self.udp {
            Some(s) => s.send_to(bytes, to).map(|_| ()).map_err(err),
            None => {
                let mut conns = self.conns.lock().unwrap();
                if let Some(c) = conns.get_mut(&to) {
                    if c.write_all(bytes).is_ok() {
                        return Ok(());
                    }
                    conns.remove(&to);
                }
                let s = TcpStream::connect_timeout(&to, Duration::from_secs(2)).map_err(err)?;
                let _ = s.set_nodelay(true);
                let mut w = s.try_clone().map_err(err)?;
                w.write_all(bytes).map_err(err)?;
                conns.insert(to, w);
                let sh = Shared {
                    tx: self.tx.clone(),
                    stop: self.stop.clone(),
                    conns: self.conns.clone(),
                    garbage: self.garbage.clone(),
                };
                spawn_tcp_reader(s, to, sh);
                Ok(())
            }
        }
    }

    /// The next packet `want` accepts, within `timeout`; the others are kept
    /// (up to a cap) for later calls.
    pub fn recv_where(&self, timeout: Duration, want: impl Fn(&Packet) -> bool) -> Option<Packet> {
        {
            let mut stash = self.stash.lock().unwrap();
            if let Some(i) = stash.iter().position(&want) {
                return stash.remove(i);
            }
        }
        let deadline = Instant::now() + timeout;
        let rx = self.rx.lock().unwrap();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let p = rx.recv_timeout(left).ok()?;
            if want(&p) {
                return Some(p);
            }
            let mut stash = self.stash.lock().unwrap();
            if stash.len() >= STASH_CAP {
                stash.pop_front();
            }
            stash.push_back(p);
        }
    }

    /// How many received packets (or TCP byte runs) were not SIP.
    pub fn garbage(&self) -> usize {
        self.garbage.load(Ordering::Relaxed)
    }

    /// The next packet, whatever it is.
    pub fn recv(&self, timeout: Duration) -> Option<Packet> {
        self.recv_where(timeout, |_| true)
    }

    /// `sip:{user}@{local};transport=...` in angle brackets.
    pub fn contact(&self, user: &str) -> String {
        format!(
            "<sip:{user}@{};transport={}>",
            self.local,
            self.transport.param()
        )
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for c in self.conns.lock().unwrap().values() {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

// ------------------------------------------------------------------ UAC

/// A user agent client: one endpoint, any number of calls.
pub struct Uac {
    pub ep: Endpoint,
    pub timers: Timers,
    /// The From/Contact user.
    pub user: String,
}

impl Uac {
    /// A UAC on 127.0.0.1 (ephemeral port), RFC timers.
    pub fn new(transport: Transport) -> Uac {
        Self::bind(transport, "127.0.0.1")
    }

    pub fn bind(transport: Transport, ip: &str) -> Uac {
        Uac {
            ep: Endpoint::bind(transport, ip),
            timers: Timers::default(),
            user: "alice".to_string(),
        }
    }

    pub fn with_timers(mut self, timers: Timers) -> Uac {
        self.timers = timers;
        self
    }

    pub fn local(&self) -> SocketAddr {
        self.ep.local
    }

    /// A call to `ruri` whose INVITE goes to `target` (the next hop: a
    /// proxy, or the UAS itself). Nothing is sent until [`Call::invite`].
    pub fn call(&self, target: SocketAddr, ruri: &str) -> Call<'_> {
        let ip = self.ep.local.ip().to_string();
        let host = match self.ep.local {
            SocketAddr::V4(a) => a.ip().to_string(),
            SocketAddr::V6(a) => format!("[{}]", a.ip()),
        };
        Call {
            uac: self,
            target,
            ruri: ruri.to_string(),
            call_id: unique("call-"),
            from: format!("\"Alice\" <sip:{}@{host}>;tag={}", self.user, unique("ft")),
            to: format!("<{}>", uri_of(ruri)),
            branch: branch(),
            cseq: 1,
            next_cseq: 2,
            extra_headers: Vec::new(),
            sdp: sdp(&ip, 4000),
            auto_ack: true,
            responses: Vec::new(),
            duplicates: 0,
            final_response: None,
            to_tag: None,
            route_set: Vec::new(),
            remote_target: None,
            invite: Vec::new(),
            requests: Vec::new(),
            acks_sent: 0,
        }
    }
}

/// One call placed by a [`Uac`]: the INVITE client transaction, then the
/// dialog it creates.
pub struct Call<'a> {
    uac: &'a Uac,
    /// Where the INVITE (and CANCEL, and non-2xx ACK) go.
    pub target: SocketAddr,
    pub ruri: String,
    pub call_id: String,
    /// The From header value (with our tag).
    pub from: String,
    /// The To header value as sent in the INVITE (no tag).
    pub to: String,
    /// The INVITE's branch.
    pub branch: String,
    /// The INVITE's CSeq number.
    pub cseq: u32,
    next_cseq: u32,
    /// Extra header lines for the INVITE (and its CANCEL/ACK when they are
    /// `Route:` lines), without CRLF, e.g. `"X-Test: 1"`.
    pub extra_headers: Vec<String>,
    /// The SDP offer (empty: no body).
    pub sdp: String,
    /// ACK 2xx responses as they arrive (default); off, a test sends
    /// [`Call::ack`] itself (or never, to see 2xx retransmissions).
    pub auto_ack: bool,
    /// Every distinct response to the INVITE, in arrival order.
    pub responses: Vec<Msg>,
    /// How many responses to the INVITE were byte-for-byte repeats.
    pub duplicates: usize,
    pub final_response: Option<Msg>,
    /// Dialog state, from the 2xx (or an 18x with a To tag).
    pub to_tag: Option<String>,
    /// Route set: the 2xx's Record-Route reversed (§12.1.2).
    pub route_set: Vec<String>,
    /// The 2xx's Contact URI.
    pub remote_target: Option<String>,
    invite: Vec<u8>,
    /// In-dialog requests received from the other side (answered 200).
    pub requests: Vec<Msg>,
    /// ACKs sent (2xx and non-2xx, retransmissions included).
    pub acks_sent: usize,
}

impl Call<'_> {
    fn via(&self, branch: &str) -> String {
        format!(
            "Via: SIP/2.0/{} {};branch={branch};rport",
            self.uac.ep.transport.via(),
            self.uac.ep.local
        )
    }

    fn route_lines(&self) -> String {
        self.extra_headers
            .iter()
            .filter(|h| h.to_ascii_lowercase().starts_with("route:"))
            .map(|h| format!("{h}\r\n"))
            .collect()
    }

    fn is_ours(&self, p: &Packet) -> bool {
        p.msg.as_ref().is_some_and(|m| m.call_id() == self.call_id)
    }

    /// The INVITE as sent (empty before [`Call::invite`]).
    pub fn invite_bytes(&self) -> &[u8] {
        &self.invite
    }

    /// Builds and sends the INVITE.
    pub fn invite(&mut self) -> Result<(), AgentError> {
        let extra: String = self
            .extra_headers
            .iter()
            .map(|h| format!("{h}\r\n"))
            .collect();
        let ctype = if self.sdp.is_empty() {
            ""
        } else {
            "Content-Type: application/sdp\r\n"
        };
        self.invite = format!(
            "INVITE {} SIP/2.0\r\n{}\r\nMax-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {} INVITE\r\nContact: {}\r\n{extra}User-Agent: sipforge-test-uac\r\n{ctype}Content-Length: {}\r\n\r\n{}",
            self.ruri,
            self.via(&self.branch),
            self.from,
            self.to,
            self.call_id,
            self.cseq,
            self.uac.ep.contact(&self.uac.user),
            self.sdp.len(),
            self.sdp
        )
        .into_bytes();
        self.uac.ep.send(self.target, &self.invite)
    }

    /// Handles one packet of this call that nobody asked for: INVITE
    /// response bookkeeping (and ACKs), in-dialog requests (answered 200).
    /// Returns the message when it is a response to the INVITE.
    fn absorb(&mut self, p: &Packet) -> Option<Msg> {
        let m = p.msg.clone()?;
        if m.is_request() {
            if m.method() != "ACK" {
                let _ = self.respond(&m, p.from, 200);
            }
            self.requests.push(m);
            return None;
        }
        let (n, method) = m.cseq();
        if method != "INVITE" || n != self.cseq {
            return None;
        }
        if self.responses.iter().any(|r| r.raw == m.raw) {
            self.duplicates += 1;
        } else {
            self.responses.push(m.clone());
        }
        let code = m.status();
        if (101..300).contains(&code) && self.to_tag.is_none() {
            self.to_tag = m.to_tag();
        }
        if (200..300).contains(&code) {
            self.to_tag = m.to_tag();
            let mut rr = m.header_all("Record-Route");
            rr.reverse();
            self.route_set = rr;
            self.remote_target = m.header_all("Contact").first().map(|c| uri_of(c));
            if self.final_response.is_none() {
                self.final_response = Some(m.clone());
            }
            if self.auto_ack {
                let _ = self.ack();
            }
        } else if code >= 300 {
            if self.final_response.is_none() {
                self.final_response = Some(m.clone());
            }
            let _ = self.ack_non_2xx(&m);
        }
        Some(m)
    }

    /// Answers a request of this dialog from the other side.
    fn respond(&self, req: &Msg, from: SocketAddr, code: u16) -> Result<(), AgentError> {
        let resp = build_response(req, code, None, None, None);
        self.uac
            .ep
            .send(reply_address(req, from, self.uac.ep.transport), &resp)
    }

    /// §17.1.1.3: the ACK of a non-2xx final response: same branch,
    /// Request-URI and Route as the INVITE, To from the response.
    fn ack_non_2xx(&mut self, resp: &Msg) -> Result<(), AgentError> {
        let to = resp.header("To").unwrap_or(&self.to).to_string();
        let ack = format!(
            "ACK {} SIP/2.0\r\n{}\r\n{}Max-Forwards: 70\r\nFrom: {}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {} ACK\r\nContent-Length: 0\r\n\r\n",
            self.ruri,
            self.via(&self.branch),
            self.route_lines(),
            self.from,
            self.call_id,
            self.cseq
        );
        self.acks_sent += 1;
        self.uac.ep.send(self.target, ack.as_bytes())
    }

    /// An in-dialog request (§12.2.1.1): Request-URI, Route headers and the
    /// address to send to, from the route set and remote target.
    fn dialog_request(
        &self,
        method: &str,
        cseq: u32,
        branch: &str,
    ) -> Result<(Vec<u8>, SocketAddr), AgentError> {
        let target = self.remote_target.clone().ok_or(AgentError::NoDialog)?;
        let tag = self.to_tag.clone().ok_or(AgentError::NoDialog)?;
        let (ruri, routes) = dialog_target(&target, &self.route_set);
        let dest = match routes.first() {
            Some(r) if param(r, "lr").is_some() => uri_addr(r),
            _ => uri_addr(&ruri),
        }
        .ok_or_else(|| AgentError::Uri(ruri.clone()))?;
        let route: String = routes.iter().map(|r| format!("Route: {r}\r\n")).collect();
        let msg = format!(
            "{method} {ruri} SIP/2.0\r\n{}\r\n{route}Max-Forwards: 70\r\nFrom: {}\r\nTo: {};tag={tag}\r\nCall-ID: {}\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n",
            self.via(branch),
            self.from,
            self.to,
            self.call_id
        );
        Ok((msg.into_bytes(), dest))
    }

    /// ACK for the 2xx (a new transaction, along the route set).
    pub fn ack(&mut self) -> Result<(), AgentError> {
        let (ack, dest) = self.dialog_request("ACK", self.cseq, &branch())?;
        self.acks_sent += 1;
        self.uac.ep.send(dest, &ack)
    }

    /// Waits for the final response to the INVITE: retransmits it on UDP
    /// (timer A) until a response arrives, gives up after timer B, or
    /// after `timers.proceeding` once a provisional response came. The
    /// final response is ACKed (2xx only when `auto_ack`).
    pub fn wait_final(&mut self) -> Result<Msg, AgentError> {
        if let Some(f) = &self.final_response {
            return Ok(f.clone());
        }
        self.wait_invite_response(|_| false)
    }

    /// Waits for a provisional response with this status (or any final one,
    /// returned as well).
    pub fn wait_provisional(&mut self, code: u16) -> Result<Msg, AgentError> {
        if let Some(m) = self.responses.iter().find(|m| m.status() == code) {
            return Ok(m.clone());
        }
        self.wait_invite_response(move |m| m.status() == code)
    }

    fn wait_invite_response(&mut self, stop_at: impl Fn(&Msg) -> bool) -> Result<Msg, AgentError> {
        let t = self.uac.timers;
        let start = Instant::now();
        let udp = self.uac.ep.transport == Transport::Udp;
        let mut interval = t.t1;
        let mut next_retx = start + interval;
        let mut proceeding_since: Option<Instant> = self
            .responses
            .iter()
            .any(|m| m.status() < 200)
            .then(Instant::now);
        loop {
            let now = Instant::now();
            let deadline = match proceeding_since {
                Some(since) => since + t.proceeding,
                None => start + t.timeout(),
            };
            if now >= deadline {
                return Err(match proceeding_since {
                    Some(_) => AgentError::NoFinal(t.proceeding),
                    None => AgentError::Timeout(t.timeout()),
                });
            }
            let mut wake = deadline;
            if udp && proceeding_since.is_none() {
                if now >= next_retx {
                    self.uac.ep.send(self.target, &self.invite)?;
                    interval *= 2;
                    next_retx = now + interval;
                }
                wake = wake.min(next_retx);
            }
            let left = wake.saturating_duration_since(Instant::now());
            let Some(p) = self.uac.ep.recv_where(left, |p| self.is_ours(p)) else {
                continue;
            };
            let Some(m) = self.absorb(&p) else { continue };
            if m.status() >= 200 || stop_at(&m) {
                return Ok(self.final_response.clone().unwrap_or(m));
            }
            proceeding_since.get_or_insert_with(Instant::now);
        }
    }

    /// A non-INVITE client transaction (timer E retransmissions on UDP,
    /// timer F timeout); returns its final response.
    fn transaction(
        &mut self,
        bytes: &[u8],
        dest: SocketAddr,
        cseq: u32,
        method: &str,
    ) -> Result<Msg, AgentError> {
        let t = self.uac.timers;
        let udp = self.uac.ep.transport == Transport::Udp;
        self.uac.ep.send(dest, bytes)?;
        let start = Instant::now();
        let deadline = start + t.timeout();
        let mut interval = t.t1;
        let mut next_retx = start + interval;
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(AgentError::Timeout(t.timeout()));
            }
            if udp && now >= next_retx {
                self.uac.ep.send(dest, bytes)?;
                interval = (interval * 2).min(t.t2);
                next_retx = now + interval;
            }
            let wake = if udp {
                deadline.min(next_retx)
            } else {
                deadline
            };
            let left = wake.saturating_duration_since(Instant::now());
            let Some(p) = self.uac.ep.recv_where(left, |p| self.is_ours(p)) else {
                continue;
            };
            let Some(m) = p.msg.as_ref() else { continue };
            if !m.is_request() && m.cseq() == (cseq, method.to_string()) {
                if m.status() >= 200 {
                    return Ok(m.clone());
                }
                continue;
            }
            self.absorb(&p);
        }
    }

    /// Sends BYE along the route set; its final response.
    pub fn bye(&mut self) -> Result<Msg, AgentError> {
        self.request("BYE")
    }

    /// Any in-dialog non-INVITE request (BYE, INFO, OPTIONS...).
    pub fn request(&mut self, method: &str) -> Result<Msg, AgentError> {
        let cseq = self.next_cseq;
        self.next_cseq += 1;
        let (msg, dest) = self.dialog_request(method, cseq, &branch())?;
        self.transaction(&msg, dest, cseq, method)
    }

    /// §9.1: CANCEL the INVITE (same branch, Request-URI, Call-ID, From, To,
    /// CSeq number and Route); the CANCEL's own final response. The INVITE's
    /// (487) comes from [`Call::wait_final`].
    pub fn cancel(&mut self) -> Result<Msg, AgentError> {
        let cancel = format!(
            "CANCEL {} SIP/2.0\r\n{}\r\n{}Max-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {} CANCEL\r\nContent-Length: 0\r\n\r\n",
            self.ruri,
            self.via(&self.branch),
            self.route_lines(),
            self.from,
            self.to,
            self.call_id,
            self.cseq
        );
        let cseq = self.cseq;
        self.transaction(cancel.as_bytes(), self.target, cseq, "CANCEL")
    }

    /// Waits up to `timeout` for a request `method` of this call from the
    /// other side (a BYE, typically) and answers it 200.
    pub fn wait_request(&mut self, method: &str, timeout: Duration) -> Option<Msg> {
        if let Some(m) = self.requests.iter().find(|m| m.method() == method) {
            return Some(m.clone());
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            let p = self.uac.ep.recv_where(left, |p| self.is_ours(p))?;
            self.absorb(&p);
            if let Some(m) = p.msg.filter(|m| m.is_request() && m.method() == method) {
                return Some(m);
            }
        }
    }

    /// Status codes of the distinct INVITE responses so far.
    pub fn statuses(&self) -> Vec<u16> {
        self.responses.iter().map(Msg::status).collect()
    }

    /// Lets the transaction layer run for `d`: absorbs retransmissions
    /// (re-ACKing finals) and answers in-dialog requests.
    pub fn linger(&mut self, d: Duration) {
        let deadline = Instant::now() + d;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            if let Some(p) = self.uac.ep.recv_where(left, |p| self.is_ours(p)) {
                self.absorb(&p);
            }
        }
    }
}

/// §12.2.1.1: Request-URI and Route values of an in-dialog request for a
/// remote target and route set (loose routing when the first route has
/// `lr`, strict routing otherwise).
pub fn dialog_target(remote_target: &str, route_set: &[String]) -> (String, Vec<String>) {
    match route_set.first() {
        None => (remote_target.to_string(), Vec::new()),
        Some(first) if param(&uri_of(first), "lr").is_some() => {
            (remote_target.to_string(), route_set.to_vec())
        }
        Some(first) => {
            let uri = uri_of(first);
            let bare = uri.split(';').next().unwrap_or("").to_string();
            let mut rest: Vec<String> = route_set[1..].to_vec();
            rest.push(format!("<{remote_target}>"));
            (bare, rest)
        }
    }
}

/// §18.2.2 / RFC 3581: where a response to `req` (received from `from`)
/// goes: on TCP the connection it came on; on UDP the source address when
/// the top Via has `rport`, else the Via's `received` or sent-by host and
/// sent-by port.
pub fn reply_address(req: &Msg, from: SocketAddr, transport: Transport) -> SocketAddr {
    if transport == Transport::Tcp {
        // The connection the request came on.
        return from;
    }
    let Some(via) = req.header_all("Via").into_iter().next() else {
        return from;
    };
    if param(&via, "rport").is_some() {
        return from;
    }
    let sent_by = via
        .split(';')
        .next()
        .and_then(|v| v.split_whitespace().nth(1))
        .unwrap_or("");
    let port = uri_addr(&format!("sip:{sent_by}")).map_or(5060, |a| a.port());
    let ip = param(&via, "received")
        .and_then(|r| r.parse().ok())
        .or_else(|| uri_addr(&format!("sip:{sent_by}")).map(|a| a.ip()))
        .unwrap_or(from.ip());
    SocketAddr::new(ip, port)
}

/// A response to `req`: Via, From, To (with `to_tag` added when it has
/// none and the code is above 100), Call-ID, CSeq copied; Record-Route
/// copied for 101-299; optional Contact and SDP body.
pub fn build_response(
    req: &Msg,
    code: u16,
    to_tag: Option<&str>,
    contact: Option<&str>,
    body: Option<&str>,
) -> Vec<u8> {
    let mut out = format!("SIP/2.0 {code} {}\r\n", reason(code));
    for (n, v) in &req.headers {
        let keep = ["Via", "From", "Call-ID", "CSeq"]
            .iter()
            .any(|k| n.eq_ignore_ascii_case(k))
            || (n.eq_ignore_ascii_case("Record-Route") && (101..300).contains(&code));
        if keep {
            out.push_str(&format!("{n}: {v}\r\n"));
        } else if n.eq_ignore_ascii_case("To") {
            match to_tag {
                Some(t) if code > 100 && param(v, "tag").is_none() => {
                    out.push_str(&format!("{n}: {v};tag={t}\r\n"));
                }
                _ => out.push_str(&format!("{n}: {v}\r\n")),
            }
        }
    }
    if let Some(c) = contact {
        out.push_str(&format!("Contact: {c}\r\n"));
    }
    out.push_str("Server: sipforge-test-agent\r\n");
    let body = body.unwrap_or("");
    if !body.is_empty() {
        out.push_str("Content-Type: application/sdp\r\n");
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    out.into_bytes()
}

// ------------------------------------------------------------------ UAS

/// One step of a UAS's answer to an INVITE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// A response with this status (18x/2xx carry Contact; 200 an SDP body).
    Reply(u16),
    /// Pause before the next step.
    Wait(Duration),
    /// Raw bytes to the reply address instead of a response.
    Raw(Vec<u8>),
}

/// What a [`Uas`] does with one INVITE. No steps: silence (the INVITE and
/// its retransmissions get nothing).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// On UDP, retransmit a 2xx (T1, doubling, capped at T2) until the ACK
    /// arrives or 64*T1 pass (RFC 3261 §13.3.1.4).
    pub retransmit_2xx: bool,
}

impl Plan {
    /// 100, 180, 200 OK with SDP.
    pub fn answer() -> Plan {
        Plan {
            steps: vec![Step::Reply(100), Step::Reply(180), Step::Reply(200)],
            retransmit_2xx: true,
        }
    }

    /// 100, then `code`.
    pub fn reject(code: u16) -> Plan {
        Plan {
            steps: vec![Step::Reply(100), Step::Reply(code)],
            retransmit_2xx: true,
        }
    }

    /// No answer at all.
    pub fn silence() -> Plan {
        Plan::default()
    }

    /// Bytes that are not SIP, and nothing else.
    pub fn garbage() -> Plan {
        Plan {
            steps: vec![Step::Raw(b"\x00\xffNOT SIP AT ALL\r\n\r\n\x7f".to_vec())],
            retransmit_2xx: false,
        }
    }

    /// 100, 180, then nothing until a CANCEL (→ 487).
    pub fn ring() -> Plan {
        Plan {
            steps: vec![Step::Reply(100), Step::Reply(180)],
            retransmit_2xx: true,
        }
    }

    /// 100, 180, 200 after `delay`.
    pub fn slow(delay: Duration) -> Plan {
        Plan {
            steps: vec![
                Step::Reply(100),
                Step::Reply(180),
                Step::Wait(delay),
                Step::Reply(200),
            ],
            retransmit_2xx: true,
        }
    }

    /// The behaviour `tests/peers/kamailio-uas.cfg` has, by Request-URI
    /// user: busy 486, unavailable 503, notfound 404, silent, ring, slow
    /// (200 after 2 s), garbage; anything else is answered.
    pub fn by_user(invite: &Msg) -> Plan {
        match invite.uri_user().as_str() {
            "busy" => Plan::reject(486),
            "unavailable" => Plan::reject(503),
            "notfound" => Plan::reject(404),
            "silent" => Plan::silence(),
            "ring" => Plan::ring(),
            "slow" => Plan::slow(Duration::from_secs(2)),
            "garbage" => Plan::garbage(),
            _ => Plan::answer(),
        }
    }
}

/// A request a [`Uas`] received.
#[derive(Clone, Debug)]
pub struct Received {
    pub msg: Msg,
    pub from: SocketAddr,
    pub at: Instant,
}

struct UasTx {
    invite: Msg,
    reply_to: SocketAddr,
    to_tag: String,
    last: Option<Vec<u8>>,
    final_code: Option<u16>,
    acked: bool,
}

/// A dialog the UAS answered 2xx, for a UAS-side BYE.
struct UasDialog {
    invite: Msg,
    to_tag: String,
    cseq: u32,
}

#[derive(Default)]
struct UasState {
    requests: Vec<Received>,
    /// By Call-ID + INVITE branch.
    txs: HashMap<String, UasTx>,
    dialogs: HashMap<String, UasDialog>,
}

/// Cap on requests a UAS records.
const UAS_RECORD_CAP: usize = 10_000;

type Planner = dyn Fn(&Msg) -> Plan + Send + Sync;

/// A user agent server: answers INVITEs per a [`Plan`] chosen for each call,
/// absorbs ACK, answers CANCEL (487 + 200), BYE/OPTIONS/other (200), and
/// records every request.
pub struct Uas {
    ep: Arc<Endpoint>,
    pub timers: Timers,
    state: Arc<Mutex<UasState>>,
    responses: Mutex<Receiver<Msg>>,
    stop: Arc<AtomicBool>,
}

fn tx_key(m: &Msg) -> String {
    format!("{}|{}", m.call_id(), m.branch().unwrap_or_default())
}

impl Uas {
    /// A UAS on 127.0.0.1 behaving like the Kamailio peer ([`Plan::by_user`]).
    pub fn start(transport: Transport) -> Uas {
        Self::start_with(transport, "127.0.0.1", Timers::default(), Plan::by_user)
    }

    /// A UAS on `ip` (ephemeral port) that asks `planner` what to do with
    /// each new INVITE.
    pub fn start_with(
        transport: Transport,
        ip: &str,
        timers: Timers,
        planner: impl Fn(&Msg) -> Plan + Send + Sync + 'static,
    ) -> Uas {
        let ep = Arc::new(Endpoint::bind(transport, ip));
        let state: Arc<Mutex<UasState>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (rtx, rrx) = channel();
        let planner: Arc<Planner> = Arc::new(planner);
        {
            let (ep, state, stop) = (ep.clone(), state.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let Some(p) = ep.recv(Duration::from_millis(50)) else {
                        continue;
                    };
                    dispatch(&ep, &state, &planner, timers, &rtx, p);
                }
            });
        }
        Uas {
            ep,
            timers,
            state,
            responses: Mutex::new(rrx),
            stop,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.ep.local
    }

    pub fn transport(&self) -> Transport {
        self.ep.transport
    }

    /// `sip:{user}@{addr}` (with `;transport=tcp` on TCP).
    pub fn uri(&self, user: &str) -> String {
        match self.ep.transport {
            Transport::Udp => format!("sip:{user}@{}", self.ep.local),
            Transport::Tcp => format!("sip:{user}@{};transport=tcp", self.ep.local),
        }
    }

    /// Every request received so far (retransmissions included).
    pub fn requests(&self) -> Vec<Received> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The requests with this method.
    pub fn requests_of(&self, method: &str) -> Vec<Received> {
        self.requests()
            .into_iter()
            .filter(|r| r.msg.method() == method)
            .collect()
    }

    /// How many non-SIP packets arrived.
    pub fn garbage(&self) -> usize {
        self.ep.garbage()
    }

    /// Waits up to `timeout` for a request `method` (of `call_id`, if given).
    pub fn wait_request(
        &self,
        method: &str,
        call_id: Option<&str>,
        timeout: Duration,
    ) -> Option<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let found = self
                .requests()
                .into_iter()
                .find(|r| r.msg.method() == method && call_id.is_none_or(|c| r.msg.call_id() == c));
            if found.is_some() || Instant::now() >= deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends BYE in the dialog of `call_id` (answered 2xx by this UAS):
    /// Request-URI the caller's Contact, Route the INVITE's Record-Route in
    /// order (§12.1.1); the BYE's final response.
    pub fn bye(&self, call_id: &str) -> Result<Msg, AgentError> {
        let (bytes, dest, cseq) = {
            let mut st = self.state.lock().unwrap();
            let d = st.dialogs.get_mut(call_id).ok_or(AgentError::NoDialog)?;
            d.cseq += 1;
            let inv = &d.invite;
            let target = inv
                .header_all("Contact")
                .first()
                .map(|c| uri_of(c))
                .ok_or(AgentError::NoDialog)?;
            let rr = inv.header_all("Record-Route");
            let (ruri, routes) = dialog_target(&target, &rr);
            let dest = match routes.first() {
                Some(r) if param(r, "lr").is_some() => uri_addr(r),
                _ => uri_addr(&ruri),
            }
            .ok_or_else(|| AgentError::Uri(ruri.clone()))?;
            let route: String = routes.iter().map(|r| format!("Route: {r}\r\n")).collect();
            let bye = format!(
                "BYE {ruri} SIP/2.0\r\nVia: SIP/2.0/{} {};branch={};rport\r\n{route}Max-Forwards: 70\r\nFrom: {};tag={}\r\nTo: {}\r\nCall-ID: {call_id}\r\nCSeq: {} BYE\r\nContent-Length: 0\r\n\r\n",
                self.ep.transport.via(),
                self.ep.local,
                branch(),
                inv.header("To").unwrap_or_default(),
                d.to_tag,
                inv.header("From").unwrap_or_default(),
                d.cseq
            );
            (bye.into_bytes(), dest, d.cseq)
        };
        let t = self.timers;
        let udp = self.ep.transport == Transport::Udp;
        let rx = self.responses.lock().unwrap();
        self.ep.send(dest, &bytes)?;
        let start = Instant::now();
        let mut interval = t.t1;
        let mut next_retx = start + interval;
        loop {
            let now = Instant::now();
            if now >= start + t.timeout() {
                return Err(AgentError::Timeout(t.timeout()));
            }
            if udp && now >= next_retx {
                self.ep.send(dest, &bytes)?;
                interval = (interval * 2).min(t.t2);
                next_retx = now + interval;
            }
            let wake = (start + t.timeout()).min(next_retx);
            let Ok(m) = rx.recv_timeout(wake.saturating_duration_since(Instant::now())) else {
                continue;
            };
            if m.call_id() == call_id && m.cseq() == (cseq, "BYE".to_string()) && m.status() >= 200
            {
                return Ok(m);
            }
        }
    }
}

impl Drop for Uas {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn dispatch(
    ep: &Arc<Endpoint>,
    state: &Arc<Mutex<UasState>>,
    planner: &Arc<Planner>,
    timers: Timers,
    responses: &Sender<Msg>,
    p: Packet,
) {
    let Some(m) = p.msg else { return };
    if !m.is_request() {
        let _ = responses.send(m);
        return;
    }
    let mut st = state.lock().unwrap();
    if st.requests.len() < UAS_RECORD_CAP {
        st.requests.push(Received {
            msg: m.clone(),
            from: p.from,
            at: p.at,
        });
    }
    let reply_to = reply_address(&m, p.from, ep.transport);
    let send = |bytes: &[u8]| {
        let _ = ep.send(reply_to, bytes);
    };
    let key = tx_key(&m);
    match m.method().as_str() {
        "INVITE" if m.to_tag().is_none() => {
            if let Some(tx) = st.txs.get(&key) {
                // Retransmission: repeat the last response, if any.
                if let Some(last) = &tx.last {
                    send(last);
                }
                return;
            }
            st.txs.insert(
                key.clone(),
                UasTx {
                    invite: m.clone(),
                    reply_to,
                    to_tag: unique("tt"),
                    last: None,
                    final_code: None,
                    acked: false,
                },
            );
            drop(st);
            let plan = planner(&m);
            let (ep, state) = (ep.clone(), state.clone());
            std::thread::spawn(move || run_plan(&ep, &state, &key, plan, timers));
        }
        "ACK" => {
            if let Some(tx) = st.txs.get_mut(&key) {
                tx.acked = true;
            } else if let Some(tx) = st.txs.values_mut().find(|t| {
                t.invite.call_id() == m.call_id() && t.final_code.is_some_and(|c| c < 300)
            }) {
                tx.acked = true;
            }
        }
        "CANCEL" => {
            let code = match st.txs.get_mut(&key) {
                Some(tx) => {
                    if tx.final_code.is_none() {
                        let r487 = build_response(&tx.invite, 487, Some(&tx.to_tag), None, None);
                        let _ = ep.send(tx.reply_to, &r487);
                        tx.last = Some(r487);
                        tx.final_code = Some(487);
                    }
                    200
                }
                None => 481,
            };
            send(&build_response(&m, code, Some(&unique("ct")), None, None));
        }
        "INVITE" => {
            // re-INVITE: accept.
            let contact = ep.contact("uas");
            let body = sdp(&ep.local.ip().to_string(), 40_000);
            send(&build_response(&m, 200, None, Some(&contact), Some(&body)));
        }
        "BYE" => {
            let code = if st.dialogs.remove(&m.call_id()).is_some() || m.to_tag().is_some() {
                200
            } else {
                481
            };
            send(&build_response(&m, code, None, None, None));
        }
        _ => send(&build_response(&m, 200, Some(&unique("ot")), None, None)),
    }
}

fn run_plan(ep: &Endpoint, state: &Mutex<UasState>, key: &str, plan: Plan, t: Timers) {
    for step in plan.steps {
        match step {
            Step::Wait(d) => std::thread::sleep(d),
            Step::Raw(bytes) => {
                let to = match state.lock().unwrap().txs.get(key) {
                    Some(tx) => tx.reply_to,
                    None => return,
                };
                let _ = ep.send(to, &bytes);
            }
            Step::Reply(code) => {
                let mut st = state.lock().unwrap();
                let Some(tx) = st.txs.get_mut(key) else {
                    return;
                };
                if tx.final_code.is_some() {
                    // A CANCEL won the race.
                    return;
                }
                let with_contact = (101..300).contains(&code);
                let contact = with_contact.then(|| ep.contact("uas"));
                let body = (code / 100 == 2).then(|| sdp(&ep.local.ip().to_string(), 40_000));
                let resp = build_response(
                    &tx.invite,
                    code,
                    Some(&tx.to_tag),
                    contact.as_deref(),
                    body.as_deref(),
                );
                let _ = ep.send(tx.reply_to, &resp);
                tx.last = Some(resp.clone());
                if code >= 200 {
                    tx.final_code = Some(code);
                }
                if code / 100 == 2 {
                    let dialog = UasDialog {
                        invite: tx.invite.clone(),
                        to_tag: tx.to_tag.clone(),
                        cseq: 0,
                    };
                    let (reply_to, call_id) = (tx.reply_to, tx.invite.call_id());
                    st.dialogs.insert(call_id, dialog);
                    drop(st);
                    if plan.retransmit_2xx && ep.transport == Transport::Udp {
                        retransmit_2xx(ep, state, key, &resp, reply_to, t);
                    }
                    return;
                }
            }
        }
    }
}

/// §13.3.1.4: the 2xx again at T1, 2*T1, ... (capped at T2) until the ACK
/// or 64*T1.
fn retransmit_2xx(
    ep: &Endpoint,
    state: &Mutex<UasState>,
    key: &str,
    resp: &[u8],
    to: SocketAddr,
    t: Timers,
) {
    let end = Instant::now() + t.timeout();
    let mut interval = t.t1;
    loop {
        let wake = Instant::now() + interval;
        while Instant::now() < wake {
            if state.lock().unwrap().txs.get(key).is_none_or(|tx| tx.acked) {
                return;
            }
            std::thread::sleep(Duration::from_millis(5).min(interval));
        }
        if Instant::now() >= end {
            return;
        }
        let _ = ep.send(to, resp);
        interval = (interval * 2).min(t.t2);
    }
}

// ------------------------------------------------------------------ Kamailio

/// The config `tests/peers/kamailio-uas.cfg`.
pub fn kamailio_cfg() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/kamailio-uas.cfg")
}

/// The Kamailio binary: `kamailio` on PATH, else /usr/sbin/kamailio (not on
/// a normal user's PATH).
pub fn kamailio_bin() -> Option<std::path::PathBuf> {
    ["kamailio", "/usr/sbin/kamailio", "/usr/local/sbin/kamailio"]
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| {
            Command::new(p)
                .arg("-v")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
}

/// True when Kamailio can run. Without it: a printed notice and false,
/// except under CI (`CI` set), where `.ci/test` installs it and its
/// absence is a failure.
pub fn kamailio_available(test: &str) -> bool {
    if kamailio_bin().is_some() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "kamailio is missing under CI: .ci/test installs it (Debian package `kamailio`)"
    );
    eprintln!(
        "NOTICE: kamailio not found: {test} skipped (apt-get install kamailio, or run .ci/test)"
    );
    false
}

/// A Kamailio running `tests/peers/kamailio-uas.cfg` on 127.0.0.1 (one port
/// for UDP and TCP), in its own process group; stopped on drop.
pub struct Kamailio {
    child: Child,
    pub udp: SocketAddr,
    pub tcp: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    dir: tempfile::TempDir,
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

fn send_signal(pid: &str, sig: &str) {
    let _ = Command::new("kill")
        .args([sig, "--", pid])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

impl Kamailio {
    /// Starts it (`None` when Kamailio is not available; see
    /// [`kamailio_available`]); waits until it answers OPTIONS on UDP and
    /// accepts TCP connections.
    pub fn start(test: &str) -> Option<Kamailio> {
        if !kamailio_available(test) {
            return None;
        }
        let bin = kamailio_bin()?;
        let mut last_log = String::new();
        for _ in 0..5 {
            match Self::try_start(&bin) {
                Ok(k) => return Some(k),
                Err(log) => last_log = log,
            }
        }
        panic!("kamailio did not start; last log:\n{last_log}");
    }

    fn try_start(bin: &std::path::Path) -> Result<Kamailio, String> {
        use std::os::unix::process::CommandExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let listen_udp = format!("udp:127.0.0.1:{port}");
        let listen_tcp = format!("tcp:127.0.0.1:{port}");
        let mut child = Command::new(bin)
            .arg("-f")
            .arg(kamailio_cfg())
            .args(["-DD", "-E", "-m", "32", "-M", "4"])
            .arg("-Y")
            .arg(dir.path())
            .arg("-P")
            .arg(dir.path().join("kamailio.pid"))
            .args(["-l", &listen_udp, "-l", &listen_tcp])
            .current_dir(dir.path())
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kamailio");
        let log = Arc::new(Mutex::new(Vec::new()));
        for out in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    let mut l = log.lock().unwrap();
                    if l.len() < 100_000 {
                        l.push(line);
                    }
                }
            });
        }
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let mut k = Kamailio {
            child,
            udp: addr,
            tcp: addr,
            log,
            dir,
        };
        let probe = UdpSocket::bind("127.0.0.1:0").expect("bind probe");
        probe
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if !matches!(k.child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(100));
                return Err(k.log_text());
            }
            let local = probe.local_addr().unwrap();
            let options = format!(
                "OPTIONS sip:ping@{addr} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={};rport\r\nMax-Forwards: 70\r\nFrom: <sip:probe@{local}>;tag=p\r\nTo: <sip:ping@{addr}>\r\nCall-ID: {}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
                branch(),
                unique("probe-")
            );
            let _ = probe.send_to(options.as_bytes(), addr);
            let mut buf = [0u8; 4096];
            if let Ok((n, _)) = probe.recv_from(&mut buf)
                && buf[..n].starts_with(b"SIP/2.0 200")
                && TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
            {
                return Ok(k);
            }
        }
        let log = k.log_text();
        drop(k);
        Err(format!("no answer to OPTIONS within 20 s\n{log}"))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `sip:{user}@127.0.0.1:{port}` (with `;transport=tcp` for TCP).
    pub fn uri(&self, user: &str, transport: Transport) -> String {
        match transport {
            Transport::Udp => format!("sip:{user}@{}", self.udp),
            Transport::Tcp => format!("sip:{user}@{};transport=tcp", self.tcp),
        }
    }

    /// The address for `transport`.
    pub fn addr(&self, transport: Transport) -> SocketAddr {
        match transport {
            Transport::Udp => self.udp,
            Transport::Tcp => self.tcp,
        }
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// The requests the config logged (`UAS-REQ <method> <r-uri> <call-id>`),
    /// as (method, Request-URI) for `call_id`.
    pub fn requests(&self, call_id: &str) -> Vec<(String, String)> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| l.split("UAS-REQ ").nth(1))
            .filter_map(|r| {
                let mut it = r.split_whitespace();
                let (m, u, c) = (it.next()?, it.next()?, it.next()?);
                (c == call_id).then(|| (m.to_string(), u.to_string()))
            })
            .collect()
    }

    /// Waits (up to `timeout`) until the log shows `method` for `call_id`.
    pub fn wait_logged(&self, method: &str, call_id: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.requests(call_id).iter().any(|(m, _)| m == method) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM (Kamailio's main process stops its children), then SIGKILL to
    /// its process group if it still runs after 5 s.
    pub fn stop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        let pid = self.child.id().to_string();
        send_signal(&pid, "-TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                // The main process waits for its children before it exits.
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Still running: the process group this launcher created
        // (process_group(0), so its id is the main process's, alive until
        // the wait below) is this Kamailio and nothing else.
        send_signal(&format!("-{pid}"), "-KILL");
        let _ = self.child.wait();
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        self.stop();
    }
}

// ------------------------------------------------------- in-dialog INVITE

impl Call<'_> {
    /// A re-INVITE in the dialog (same SDP offer as the INVITE, new CSeq)
    /// as one transaction; a 2xx is ACKed along the route set. Its final
    /// response.
    pub fn reinvite(&mut self) -> Result<Msg, AgentError> {
        let cseq = self.next_cseq;
        self.next_cseq += 1;
        let (msg, dest) = self.dialog_request("INVITE", cseq, &branch())?;
        let fin = self.transaction(&msg, dest, cseq, "INVITE")?;
        if (200..300).contains(&fin.status()) {
            let (ack, dest) = self.dialog_request("ACK", cseq, &branch())?;
            self.acks_sent += 1;
            self.uac.ep.send(dest, &ack)?;
        }
        Ok(fin)
    }
}

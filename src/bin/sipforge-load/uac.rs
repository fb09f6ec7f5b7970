//! The caller side: an open-loop UAC on one thread. Call `i` starts at
//! `t0 + i/rate` whatever the responses do; every call has its own Call-ID,
//! From tag and branches; calls are spread round-robin over `--sockets`
//! sockets (UDP) or connections (TCP). Call state lives in a fixed ring of
//! slots sized for the calls that can be in flight, so a long soak does not
//! grow memory; timers (timer A/E retransmissions, BYE after the hold time,
//! the call timeout) sit in one binary heap.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use sipforge::sip::{Frame, HeaderName, Limits, Message, NameAddr, StartLine, Uri, frame};

use crate::Scenario;
use crate::net::{BATCH, Poller, RecvBatch};
use crate::report::{Histogram, Stats};

/// Caller settings (from the command line).
pub struct UacConfig {
    pub target: SocketAddr,
    pub scenario: Scenario,
    pub tcp: bool,
    pub rate: f64,
    pub count: u64,
    pub sockets: usize,
    pub prefixes: Vec<String>,
    pub timeout: Duration,
    pub hold: Duration,
    pub t1: Duration,
    /// Expected final code of the INVITE; 0 = any final.
    pub expect: u16,
    pub progress: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Free,
    /// INVITE sent, nothing heard (timer A runs on UDP).
    Calling,
    /// A provisional came back.
    Proceeding,
    /// 2xx received and ACKed; BYE waits for the hold time.
    Answered,
    ByeSent,
    Done,
}

struct Call {
    idx: u64,
    state: State,
    sock: u16,
    retx: u8,
    user_len: u8,
    user: [u8; 24],
    /// ns after t0 when the INVITE was first sent.
    start_ns: u64,
    /// The BYE (kept for retransmission) and where it goes.
    bye: Vec<u8>,
    bye_dest: SocketAddr,
    /// The INVITE's final code was the expected one.
    expected: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    InviteRetx,
    SendBye,
    ByeRetx,
    Timeout,
}

struct Conn {
    stream: TcpStream,
    inbuf: Vec<u8>,
    outbuf: Vec<u8>,
    open: bool,
}

enum Net {
    Udp(Vec<UdpSocket>),
    Tcp(Vec<Conn>),
}

pub struct Uac {
    cfg: UacConfig,
    net: Net,
    locals: Vec<SocketAddr>,
    run_id: u32,
    calls: Vec<Call>,
    timers: BinaryHeap<Reverse<(u64, u64, Timer)>>,
    out: Vec<u8>,
    sdp: String,
    limits: Limits,
    pub stats: Stats,
    /// Latency of the current progress interval (sum µs, count, max µs).
    tick: (u64, u64, u64),
    rng: fastrand::Rng,
}

impl Uac {
    /// Opens the sockets or connections.
    pub fn new(cfg: UacConfig) -> io::Result<Uac> {
        let bind_ip: IpAddr = if cfg.target.is_ipv4() {
            "127.0.0.1".parse().expect("literal")
        } else {
            "::1".parse().expect("literal")
        };
        let bind_ip = if cfg.target.ip().is_loopback() {
            bind_ip
        } else if cfg.target.is_ipv4() {
            "0.0.0.0".parse().expect("literal")
        } else {
            "::".parse().expect("literal")
        };
        let mut locals = Vec::new();
        let net = if cfg.tcp {
            let mut conns = Vec::new();
            for _ in 0..cfg.sockets {
                let stream = TcpStream::connect_timeout(&cfg.target, Duration::from_secs(3))?;
                stream.set_nodelay(true)?;
                stream.set_nonblocking(true)?;
                locals.push(stream.local_addr()?);
                conns.push(Conn {
                    stream,
                    inbuf: Vec::with_capacity(1 << 16),
                    outbuf: Vec::new(),
                    open: true,
                });
            }
            Net::Tcp(conns)
        } else {
            let mut socks = Vec::new();
            for _ in 0..cfg.sockets {
                let s = socket2::Socket::new(
                    socket2::Domain::for_address(cfg.target),
                    socket2::Type::DGRAM,
                    Some(socket2::Protocol::UDP),
                )?;
                let _ = s.set_recv_buffer_size(4 << 20);
                let _ = s.set_send_buffer_size(4 << 20);
                s.bind(&SocketAddr::new(bind_ip, 0).into())?;
                s.set_nonblocking(true)?;
                let s = UdpSocket::from(s);
                let mut local = s.local_addr()?;
                if local.ip().is_unspecified() {
                    local.set_ip(bind_ip);
                }
                locals.push(local);
                socks.push(s);
            }
            Net::Udp(socks)
        };
        // Enough slots for every call that can still be in flight.
        let span = cfg.timeout + cfg.hold + Duration::from_secs(2);
        let slots = ((cfg.rate * span.as_secs_f64()) as u64 + 1024).min(cfg.count.max(1));
        let calls = (0..slots)
            .map(|_| Call {
                idx: u64::MAX,
                state: State::Free,
                sock: 0,
                retx: 0,
                user_len: 0,
                user: [0; 24],
                start_ns: 0,
                bye: Vec::new(),
                bye_dest: cfg.target,
                expected: false,
            })
            .collect();
        let ip = locals.first().map(|a| a.ip()).unwrap_or(bind_ip);
        let sdp = format!(
            "v=0\r\no=loadgen 53655765 2353687637 IN IP4 {ip}\r\ns=sipforge-load\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio 16000 RTP/AVP 0 8 18 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:18 G729/8000\r\na=fmtp:18 annexb=no\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=maxptime:150\r\na=sendrecv\r\n"
        );
        let mut rng = fastrand::Rng::new();
        Ok(Uac {
            run_id: rng.u32(..),
            cfg,
            net,
            locals,
            calls,
            timers: BinaryHeap::with_capacity(4096),
            out: Vec::with_capacity(4096),
            sdp,
            limits: Limits::default(),
            stats: Stats::default(),
            tick: (0, 0, 0),
            rng,
        })
    }

    fn due_ns(&self, i: u64) -> u64 {
        (i as f64 * 1e9 / self.cfg.rate) as u64
    }

    /// Places every call and waits for each to finish (or time out).
    pub fn run(&mut self) {
        let fds: Vec<_> = match &self.net {
            Net::Udp(s) => s.iter().map(|s| s.as_raw_fd()).collect(),
            Net::Tcp(c) => c.iter().map(|c| c.stream.as_raw_fd()).collect(),
        };
        let mut poller = Poller::new(&fds);
        let mut batch = RecvBatch::new();
        let t0 = Instant::now();
        let mut next = 0u64;
        let mut next_tick = 1_000_000_000u64;
        let mut last_tick = (0u64, 0u64); // (completed+failed, started) at the last tick
        loop {
            let now = t0.elapsed().as_nanos() as u64;
            while next < self.cfg.count && self.due_ns(next) <= now {
                self.start_call(next, now);
                next += 1;
            }
            while let Some(&Reverse((at, idx, kind))) = self.timers.peek() {
                if at > now {
                    break;
                }
                self.timers.pop();
                self.fire(idx, kind, now);
            }
            if now >= next_tick {
                if self.cfg.progress {
                    self.progress(next_tick, &mut last_tick);
                }
                next_tick += 1_000_000_000;
            }
            let finished = self.stats.completed + self.stats.failed;
            if next >= self.cfg.count && finished >= self.cfg.count {
                self.stats.elapsed = t0.elapsed();
                break;
            }
            let mut wake = next_tick;
            if next < self.cfg.count {
                wake = wake.min(self.due_ns(next));
            }
            if let Some(Reverse((at, _, _))) = self.timers.peek() {
                wake = wake.min(*at);
            }
            let now = t0.elapsed().as_nanos() as u64;
            self.flush_tcp(&mut poller);
            if poller.wait(Duration::from_nanos(wake.saturating_sub(now))) == 0 {
                continue;
            }
            let now = t0.elapsed().as_nanos() as u64;
            for (i, &fd) in fds.iter().enumerate() {
                if poller.writable(i) {
                    self.flush_conn(i);
                }
                if !poller.readable(i) {
                    continue;
                }
                match self.net {
                    Net::Udp(_) => loop {
                        let n = batch.recv(fd).unwrap_or(0);
                        for k in 0..n {
                            let (data, _) = batch.get(k);
                            self.on_message(i, data, now);
                        }
                        if n < BATCH {
                            break;
                        }
                    },
                    Net::Tcp(_) => {
                        self.read_conn(i, now);
                        if let Net::Tcp(conns) = &self.net
                            && !conns[i].open
                        {
                            poller.disable(i);
                        }
                    }
                }
            }
        }
        self.stats.started = next;
    }

    fn progress(&mut self, tick_ns: u64, last: &mut (u64, u64)) {
        let s = &self.stats;
        let finished = s.completed + s.failed;
        let (sum, n, max) = std::mem::take(&mut self.tick);
        let avg = sum.checked_div(n).unwrap_or(0);
        let started = s.started_so_far;
        eprintln!(
            "[{:>4}s] started {started} (+{}) finished {finished} (+{}/s) ok {} failed {} in-flight {} retrans {} latency avg {avg}µs max {max}µs",
            tick_ns / 1_000_000_000,
            started - last.1,
            finished - last.0,
            s.completed,
            s.failed,
            started - finished,
            s.retransmissions,
        );
        *last = (finished, started);
    }

    fn slot(&self, idx: u64) -> usize {
        (idx % self.calls.len() as u64) as usize
    }

    fn start_call(&mut self, idx: u64, now: u64) {
        let slot = self.slot(idx);
        if !matches!(self.calls[slot].state, State::Free | State::Done) {
            // Still busy after a whole slot cycle: count it as timed out.
            let old = self.calls[slot].state;
            self.finish(slot, false);
            self.note_timeout(old);
        }
        let sock = (idx % self.locals.len() as u64) as u16;
        let mut user = [0u8; 24];
        let prefix = if self.cfg.prefixes.is_empty() {
            "1"
        } else {
            &self.cfg.prefixes[self.rng.usize(..self.cfg.prefixes.len())]
        };
        let p = prefix.as_bytes();
        let plen = p.len().min(user.len());
        user[..plen].copy_from_slice(&p[..plen]);
        let len = plen.max(11).min(user.len());
        for b in &mut user[plen..len] {
            *b = b'0' + self.rng.u8(..10);
        }
        let c = &mut self.calls[slot];
        c.idx = idx;
        c.state = State::Calling;
        c.sock = sock;
        c.retx = 0;
        c.user = user;
        c.user_len = len as u8;
        c.start_ns = now;
        c.bye.clear();
        self.stats.started_so_far += 1;
        self.send_invite(slot);
        if !self.cfg.tcp {
            self.timers.push(Reverse((
                now + self.cfg.t1.as_nanos() as u64,
                idx,
                Timer::InviteRetx,
            )));
        }
        let deadline = now + (self.cfg.timeout + self.cfg.hold).as_nanos() as u64;
        self.timers.push(Reverse((deadline, idx, Timer::Timeout)));
    }

    fn send_invite(&mut self, slot: usize) {
        let c = &self.calls[slot];
        let (idx, sock) = (c.idx, c.sock as usize);
        let user = std::str::from_utf8(&c.user[..c.user_len as usize]).unwrap_or("0");
        let local = self.locals[sock];
        let target = self.cfg.target;
        let run = self.run_id;
        let (tp, ctp) = if self.cfg.tcp {
            ("TCP", ";transport=tcp")
        } else {
            ("UDP", "")
        };
        let out = &mut self.out;
        out.clear();
        head(out, "INVITE", user, target, tp, local, run, idx);
        let _ = write!(
            out,
            "To: <sip:{user}@{target}>\r\n\
Call-ID: {idx}-{run:08x}@sipforge-load\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:loadgen@{local}{ctp}>\r\n\
User-Agent: sipforge-load\r\n\
Allow: INVITE, ACK, BYE, CANCEL, OPTIONS\r\n\
Content-Type: application/sdp\r\n\
Content-Length: {}\r\n\r\n{}",
            self.sdp.len(),
            self.sdp
        );
        let out = std::mem::take(&mut self.out);
        self.send(sock, target, &out);
        self.out = out;
    }

    fn send(&mut self, sock: usize, dest: SocketAddr, bytes: &[u8]) {
        match &mut self.net {
            Net::Udp(socks) => {
                if socks[sock].send_to(bytes, dest).is_err() {
                    self.stats.send_errors += 1;
                }
            }
            Net::Tcp(conns) => {
                let c = &mut conns[sock];
                if !c.open {
                    self.stats.send_errors += 1;
                    return;
                }
                if !c.outbuf.is_empty() {
                    c.outbuf.extend_from_slice(bytes);
                    return;
                }
                match c.stream.write(bytes) {
                    Ok(n) if n == bytes.len() => {}
                    Ok(n) => c.outbuf.extend_from_slice(&bytes[n..]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        c.outbuf.extend_from_slice(bytes)
                    }
                    Err(_) => {
                        c.open = false;
                        self.stats.send_errors += 1;
                    }
                }
            }
        }
    }

    fn flush_tcp(&mut self, poller: &mut Poller) {
        if let Net::Tcp(conns) = &self.net {
            for (i, c) in conns.iter().enumerate() {
                poller.want_write(i, c.open && !c.outbuf.is_empty());
            }
        }
    }

    fn flush_conn(&mut self, i: usize) {
        let Net::Tcp(conns) = &mut self.net else {
            return;
        };
        let c = &mut conns[i];
        while !c.outbuf.is_empty() {
            match c.stream.write(&c.outbuf) {
                Ok(0) => {
                    c.open = false;
                    return;
                }
                Ok(n) => {
                    c.outbuf.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    c.open = false;
                    return;
                }
            }
        }
    }

    fn read_conn(&mut self, i: usize, now: u64) {
        let Net::Tcp(conns) = &mut self.net else {
            return;
        };
        let mut buf = std::mem::take(&mut conns[i].inbuf);
        let mut chunk = [0u8; 16384];
        loop {
            match conns[i].stream.read(&mut chunk) {
                Ok(0) => {
                    conns[i].open = false;
                    break;
                }
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    conns[i].open = false;
                    break;
                }
            }
        }
        let mut pos = 0;
        while pos < buf.len() {
            match frame(&buf[pos..], &self.limits) {
                Ok(Frame::Message(n)) => {
                    let end = pos + n;
                    self.on_message(i, &buf[pos..end], now);
                    pos = end;
                }
                Ok(Frame::KeepAlive { len, .. }) => pos += len,
                Ok(Frame::Incomplete) => break,
                Err(_) => {
                    self.stats.unparsed += 1;
                    pos = buf.len();
                    if let Net::Tcp(conns) = &mut self.net {
                        conns[i].open = false;
                    }
                }
            }
        }
        buf.drain(..pos);
        if let Net::Tcp(conns) = &mut self.net {
            conns[i].inbuf = buf;
        }
    }

    /// The call index in one of our Call-IDs (`{idx}-{run}@sipforge-load`).
    fn call_index(&self, call_id: &[u8]) -> Option<u64> {
        let dash = call_id.iter().position(|&b| b == b'-')?;
        let idx: u64 = std::str::from_utf8(&call_id[..dash]).ok()?.parse().ok()?;
        let rest = &call_id[dash + 1..];
        let mut run = [0u8; 8];
        let _ = write!(&mut run[..], "{:08x}", self.run_id);
        rest.starts_with(&run).then_some(idx)
    }

    fn on_message(&mut self, sock: usize, data: &[u8], now: u64) {
        let Ok(msg) = Message::parse(data, &self.limits) else {
            self.stats.unparsed += 1;
            return;
        };
        let StartLine::Response { code, .. } = *msg.start_line() else {
            self.stats.requests_received += 1;
            return;
        };
        let Some(idx) = msg.call_id().and_then(|c| self.call_index(c)) else {
            self.stats.stray += 1;
            return;
        };
        let slot = self.slot(idx);
        if self.calls[slot].idx != idx {
            self.stats.stray += 1;
            return;
        }
        let method = match msg.cseq() {
            Some(Ok(c)) => c.method,
            _ => {
                self.stats.unparsed += 1;
                return;
            }
        };
        let state = self.calls[slot].state;
        if method == b"INVITE" {
            if code < 200 {
                if state == State::Calling {
                    self.calls[slot].state = State::Proceeding;
                }
                return;
            }
            let first = matches!(state, State::Calling | State::Proceeding);
            if first {
                let us = (now.saturating_sub(self.calls[slot].start_ns)) / 1000;
                self.stats.latency.record(us);
                self.tick.0 += us;
                self.tick.1 += 1;
                self.tick.2 = self.tick.2.max(us);
                self.stats.count_code(code);
            } else {
                self.stats.final_retransmissions += 1;
            }
            if code >= 300 {
                self.ack_non2xx(slot, &msg);
                if first {
                    let ok = self.cfg.expect == 0 || self.cfg.expect == code;
                    self.finish(slot, ok);
                }
                return;
            }
            // 2xx: ACK end to end by the route set (every copy of the 2xx).
            self.in_dialog(slot, &msg, "ACK", 1, 1);
            let out = std::mem::take(&mut self.out);
            let dest = self.calls[slot].bye_dest;
            self.send(sock, dest, &out);
            self.out = out;
            if !first {
                return;
            }
            match self.cfg.scenario {
                Scenario::Redirect => {
                    let ok = self.cfg.expect == 0 || self.cfg.expect == code;
                    self.finish(slot, ok);
                }
                Scenario::Proxy => {
                    // Hang up anyway; an unexpected 2xx still fails the call.
                    self.calls[slot].expected = self.cfg.expect == 0 || self.cfg.expect == code;
                    self.in_dialog(slot, &msg, "BYE", 2, 2);
                    let mut bye = std::mem::take(&mut self.calls[slot].bye);
                    bye.clear();
                    bye.extend_from_slice(&self.out);
                    self.calls[slot].bye = bye;
                    self.calls[slot].state = State::Answered;
                    self.calls[slot].retx = 0;
                    if self.cfg.hold.is_zero() {
                        self.fire(idx, Timer::SendBye, now);
                    } else {
                        let at = now + self.cfg.hold.as_nanos() as u64;
                        self.timers.push(Reverse((at, idx, Timer::SendBye)));
                    }
                }
            }
        } else if method == b"BYE" && code >= 200 && state == State::ByeSent {
            if code != 200 {
                self.stats.bye_failed += 1;
            }
            let ok = code == 200 && self.calls[slot].expected;
            self.finish(slot, ok);
        }
    }

    /// ACK for a non-2xx final: same branch, hop by hop, to the target.
    fn ack_non2xx(&mut self, slot: usize, resp: &Message<'_>) {
        let c = &self.calls[slot];
        let (idx, sock) = (c.idx, c.sock as usize);
        let user = std::str::from_utf8(&c.user[..c.user_len as usize]).unwrap_or("0");
        let local = self.locals[sock];
        let target = self.cfg.target;
        let run = self.run_id;
        let tp = if self.cfg.tcp { "TCP" } else { "UDP" };
        let to = resp.value(HeaderName::To).unwrap_or_default();
        let out = &mut self.out;
        out.clear();
        head(out, "ACK", user, target, tp, local, run, idx);
        out.extend_from_slice(b"To: ");
        out.extend_from_slice(to);
        let _ = write!(
            out,
            "\r\nCall-ID: {idx}-{run:08x}@sipforge-load\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
        );
        let out = std::mem::take(&mut self.out);
        self.send(sock, target, &out);
        self.out = out;
    }

    /// Writes an in-dialog request after the 2xx `ok` into `self.out`
    /// (Request-URI = its Contact, Route = its Record-Route reversed) and
    /// stores where it goes (the first Route, else the Contact) in the call.
    fn in_dialog(&mut self, slot: usize, ok: &Message<'_>, method: &str, cseq: u32, k: u8) {
        let c = &self.calls[slot];
        let (idx, sock) = (c.idx, c.sock as usize);
        let user = std::str::from_utf8(&c.user[..c.user_len as usize]).unwrap_or("0");
        let local = self.locals[sock];
        let run = self.run_id;
        let target = self.cfg.target;
        let tp = if self.cfg.tcp { "TCP" } else { "UDP" };
        let contact = ok
            .value(HeaderName::Contact)
            .and_then(|v| NameAddr::parse(v).ok())
            .map(|n| n.uri);
        let routes: Vec<&[u8]> = ok.list(HeaderName::RecordRoute).collect();
        let out = &mut self.out;
        out.clear();
        out.extend_from_slice(method.as_bytes());
        out.push(b' ');
        match &contact {
            Some(u) => out.extend_from_slice(u.raw),
            None => {
                let _ = write!(out, "sip:{user}@{target}");
            }
        }
        let _ = write!(
            out,
            " SIP/2.0\r\nVia: SIP/2.0/{tp} {local};branch=z9hG4bK{run:08x}-{idx}-{k};rport\r\nMax-Forwards: 70\r\n"
        );
        for r in routes.iter().rev() {
            out.extend_from_slice(b"Route: ");
            out.extend_from_slice(r);
            out.extend_from_slice(b"\r\n");
        }
        let _ = write!(
            out,
            "From: \"Load\" <sip:loadgen@{local}>;tag={run:08x}-{idx}\r\nTo: "
        );
        out.extend_from_slice(ok.value(HeaderName::To).unwrap_or_default());
        let _ = write!(
            out,
            "\r\nCall-ID: {idx}-{run:08x}@sipforge-load\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n"
        );
        let hop = match routes.last() {
            Some(r) => NameAddr::parse(r).ok().map(|n| n.uri),
            None => contact,
        };
        let dest = hop.as_ref().and_then(|u| uri_addr(u)).unwrap_or(target);
        self.calls[slot].bye_dest = if self.cfg.tcp { target } else { dest };
    }

    fn fire(&mut self, idx: u64, kind: Timer, now: u64) {
        let slot = self.slot(idx);
        if self.calls[slot].idx != idx {
            return;
        }
        let state = self.calls[slot].state;
        let t1 = self.cfg.t1.as_nanos() as u64;
        match kind {
            Timer::InviteRetx if state == State::Calling => {
                self.stats.retransmissions += 1;
                self.send_invite(slot);
                let c = &mut self.calls[slot];
                c.retx = c.retx.saturating_add(1);
                let wait = t1 << c.retx.min(6);
                self.timers
                    .push(Reverse((now + wait, idx, Timer::InviteRetx)));
            }
            Timer::SendBye if state == State::Answered => {
                let c = &mut self.calls[slot];
                c.state = State::ByeSent;
                c.retx = 0;
                let (sock, dest) = (c.sock as usize, c.bye_dest);
                let bye = std::mem::take(&mut c.bye);
                self.send(sock, dest, &bye);
                self.calls[slot].bye = bye;
                if !self.cfg.tcp {
                    self.timers.push(Reverse((now + t1, idx, Timer::ByeRetx)));
                }
            }
            Timer::ByeRetx if state == State::ByeSent => {
                self.stats.retransmissions += 1;
                let c = &mut self.calls[slot];
                c.retx = c.retx.saturating_add(1);
                let wait = (t1 << c.retx.min(6)).min(4_000_000_000);
                let (sock, dest) = (c.sock as usize, c.bye_dest);
                let bye = std::mem::take(&mut c.bye);
                self.send(sock, dest, &bye);
                self.calls[slot].bye = bye;
                self.timers.push(Reverse((now + wait, idx, Timer::ByeRetx)));
            }
            Timer::Timeout if !matches!(state, State::Done | State::Free) => {
                self.finish(slot, false);
                self.note_timeout(state);
            }
            _ => {}
        }
    }

    fn note_timeout(&mut self, state: State) {
        if matches!(state, State::Calling | State::Proceeding) {
            self.stats.timeouts += 1;
        } else {
            self.stats.bye_timeouts += 1;
        }
    }

    fn finish(&mut self, slot: usize, ok: bool) {
        self.calls[slot].state = State::Done;
        if ok {
            self.stats.completed += 1;
        } else {
            self.stats.failed += 1;
        }
    }

    pub fn histogram(&self) -> &Histogram {
        &self.stats.latency
    }
}

/// The socket address of a URI whose host is an IP literal.
fn uri_addr(u: &Uri<'_>) -> Option<SocketAddr> {
    let host = std::str::from_utf8(u.host).ok()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = host.parse().ok()?;
    Some(SocketAddr::new(ip, u.port.unwrap_or(5060)))
}

/// Request line, Via (the INVITE's branch: an ACK for a non-2xx reuses it),
/// Max-Forwards and From of call `idx`'s INVITE-transaction requests.
#[allow(clippy::too_many_arguments)]
fn head(
    out: &mut Vec<u8>,
    method: &str,
    user: &str,
    target: SocketAddr,
    tp: &str,
    local: SocketAddr,
    run: u32,
    idx: u64,
) {
    let _ = write!(
        out,
        "{method} sip:{user}@{target} SIP/2.0\r\n\
Via: SIP/2.0/{tp} {local};branch=z9hG4bK{run:08x}-{idx}-0;rport\r\n\
Max-Forwards: 70\r\n\
From: \"Load\" <sip:loadgen@{local}>;tag={run:08x}-{idx}\r\n"
    );
}

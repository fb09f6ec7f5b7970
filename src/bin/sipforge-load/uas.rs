//! The built-in UAS for the proxy scenario: one UDP socket per `--uas`
//! address, served by one thread. Stateless and idempotent: an INVITE gets
//! 100/180/200 (Record-Route copied, SDP answer) or, at the first address and
//! for a fraction `--uas-fail` of Call-IDs (decided by a hash, so a
//! retransmission gets the same answer), 503; ACK is absorbed; BYE, CANCEL,
//! OPTIONS and anything else get 200. Responses go to the datagram's source.

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sipforge::sip::{HeaderName, Limits, Message, Method, StartLine};

use crate::net::{Poller, RecvBatch, cpu_thread};

/// What the UAS did, returned when it stops.
#[derive(Debug, Default, Clone)]
pub struct UasStats {
    pub invites: u64,
    pub answered: u64,
    pub rejected_503: u64,
    pub acks: u64,
    pub byes: u64,
    pub other: u64,
    pub unparsed: u64,
    pub cpu: Duration,
}

pub struct Uas {
    socks: Vec<UdpSocket>,
    fail: f64,
}

const SDP_ANSWER: &str = "v=0\r\no=uas 2890844527 2890844527 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 20000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n";

impl Uas {
    /// Binds every address (before any call is placed).
    pub fn bind(addrs: &[SocketAddr], fail: f64) -> std::io::Result<Uas> {
        let mut socks = Vec::with_capacity(addrs.len());
        for a in addrs {
            let s = socket2::Socket::new(
                socket2::Domain::for_address(*a),
                socket2::Type::DGRAM,
                Some(socket2::Protocol::UDP),
            )?;
            let _ = s.set_recv_buffer_size(4 << 20);
            let _ = s.set_send_buffer_size(4 << 20);
            s.bind(&(*a).into())?;
            s.set_nonblocking(true)?;
            socks.push(UdpSocket::from(s));
        }
        Ok(Uas { socks, fail })
    }

    /// Serves until `stop` is set; returns the counts and this thread's CPU.
    pub fn run(self, stop: Arc<AtomicBool>) -> UasStats {
        let cpu0 = cpu_thread();
        let fds: Vec<_> = self.socks.iter().map(|s| s.as_raw_fd()).collect();
        let mut poller = Poller::new(&fds);
        let mut batch = RecvBatch::new();
        let mut out = Vec::with_capacity(2048);
        let mut st = UasStats::default();
        let limits = Limits::default();
        let threshold = (self.fail.clamp(0.0, 1.0) * 10_000.0) as u64;
        while !stop.load(Ordering::Relaxed) {
            if poller.wait(Duration::from_millis(50)) == 0 {
                continue;
            }
            for (i, sock) in self.socks.iter().enumerate() {
                if !poller.readable(i) {
                    continue;
                }
                let local = sock.local_addr().ok();
                loop {
                    let n = batch.recv(fds[i]).unwrap_or(0);
                    for k in 0..n {
                        let (data, from) = batch.get(k);
                        let Some(from) = from else { continue };
                        let Ok(msg) = Message::parse(data, &limits) else {
                            st.unparsed += 1;
                            continue;
                        };
                        let fail = i == 0 && threshold > 0;
                        handle(
                            &msg,
                            local,
                            fail.then_some(threshold),
                            &mut out,
                            &mut st,
                            |b| {
                                let _ = sock.send_to(b, from);
                            },
                        );
                    }
                    if n < crate::net::BATCH {
                        break;
                    }
                }
            }
        }
        st.cpu = cpu_thread().saturating_sub(cpu0);
        st
    }
}

fn handle(
    msg: &Message<'_>,
    local: Option<SocketAddr>,
    fail_threshold: Option<u64>,
    out: &mut Vec<u8>,
    st: &mut UasStats,
    mut send: impl FnMut(&[u8]),
) {
    let StartLine::Request { method, .. } = msg.start_line() else {
        return; // responses (none expected) are ignored
    };
    let call_id = msg.call_id().unwrap_or_default();
    let tag = fnv(call_id);
    match method {
        Method::Known(rsip::Method::Invite) => {
            st.invites += 1;
            if let Some(t) = fail_threshold
                && tag % 10_000 < t
            {
                st.rejected_503 += 1;
                respond(msg, 503, "Service Unavailable", tag, local, false, out);
                send(out);
                return;
            }
            st.answered += 1;
            respond(msg, 100, "Trying", tag, local, false, out);
            send(out);
            respond(msg, 180, "Ringing", tag, local, false, out);
            send(out);
            respond(msg, 200, "OK", tag, local, true, out);
            send(out);
        }
        Method::Known(rsip::Method::Ack) => st.acks += 1,
        Method::Known(rsip::Method::Bye) => {
            st.byes += 1;
            respond(msg, 200, "OK", tag, local, false, out);
            send(out);
        }
        _ => {
            st.other += 1;
            respond(msg, 200, "OK", tag, local, false, out);
            send(out);
        }
    }
}

/// Writes a response to `req` into `out` (cleared first).
fn respond(
    req: &Message<'_>,
    code: u16,
    reason: &str,
    tag: u64,
    local: Option<SocketAddr>,
    sdp: bool,
    out: &mut Vec<u8>,
) {
    use std::io::Write;
    out.clear();
    let _ = write!(out, "SIP/2.0 {code} {reason}\r\n");
    let invite_dialog = (101..300).contains(&code)
        && matches!(req.method(), Some(Method::Known(rsip::Method::Invite)));
    for h in req.headers() {
        match h.name {
            HeaderName::Via | HeaderName::From | HeaderName::CallId | HeaderName::CSeq => {
                out.extend_from_slice(req.slice(h.line));
            }
            HeaderName::RecordRoute if invite_dialog => out.extend_from_slice(req.slice(h.line)),
            HeaderName::To => {
                let v = req.slice(h.value);
                out.extend_from_slice(b"To: ");
                out.extend_from_slice(v);
                if code > 100 && !has_tag(v) {
                    let _ = write!(out, ";tag=uas{tag:x}");
                }
                out.extend_from_slice(b"\r\n");
            }
            _ => {}
        }
    }
    if invite_dialog {
        match local {
            Some(a) => {
                let _ = write!(out, "Contact: <sip:uas@{a}>\r\n");
            }
            None => out.extend_from_slice(b"Contact: <sip:uas@127.0.0.1>\r\n"),
        }
    }
    out.extend_from_slice(b"Server: sipforge-load-uas\r\n");
    if sdp {
        let _ = write!(
            out,
            "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP_ANSWER}",
            SDP_ANSWER.len()
        );
    } else {
        out.extend_from_slice(b"Content-Length: 0\r\n\r\n");
    }
}

fn has_tag(to: &[u8]) -> bool {
    to.windows(5).any(|w| w.eq_ignore_ascii_case(b";tag="))
}

/// FNV-1a: a stable hash of the Call-ID (tag and the 503 decision).
pub fn fnv(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &x in b {
        h ^= x as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

//! Client transactions (RFC 3261 §17.1, RFC 6026 §7): the INVITE client
//! machine (Calling → Proceeding → Completed, or Accepted on 2xx) with the
//! proxy's timer C, the non-INVITE one (Trying → Proceeding → Completed), and
//! the default builder of the ACK for a non-2xx final (§17.1.1.3).

use std::io::Write as _;
use std::time::Duration;

use bytes::Bytes;

use super::server::NonInviteState;
use super::{Action, Actions, Core, TimerKind, Timers, Transport};
use crate::sip::header::HeaderName;
use crate::sip::message::{Limits, Message};

/// Builds the ACK for a non-2xx final response from the original request's
/// bytes and the parsed response; `None` if it cannot (nothing is then sent).
pub type AckBuilder = fn(request: &[u8], response: &Message<'_>) -> Option<Bytes>;

/// The ACK of RFC 3261 §17.1.1.3: Request-URI, Call-ID, From and CSeq number
/// of the request, To of the response, only the request's top Via, its Route
/// headers, Max-Forwards 70 and no body.
pub fn build_ack(request: &[u8], response: &Message<'_>) -> Option<Bytes> {
    let req = Message::parse(request, &Limits::default()).ok()?;
    let ruri = req.request_uri()?;
    let via = req.list(HeaderName::Via).next()?;
    let from = req.value(HeaderName::From)?;
    let call_id = req.call_id()?;
    let cseq = req.cseq()?.ok()?;
    let to = response.value(HeaderName::To)?;
    let mut out = Vec::with_capacity(256 + ruri.len() + via.len() + from.len() + to.len());
    let mut line = |name: &str, value: &[u8]| {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    };
    line("Via", via);
    for r in req.fields(HeaderName::Route) {
        line("Route", req.slice(r.value));
    }
    line("Max-Forwards", b"70");
    line("From", from);
    line("To", to);
    line("Call-ID", call_id);
    let mut head = Vec::with_capacity(out.len() + ruri.len() + 48);
    head.extend_from_slice(b"ACK ");
    head.extend_from_slice(ruri);
    head.extend_from_slice(b" SIP/2.0\r\n");
    head.extend_from_slice(&out);
    // Writing to a Vec cannot fail.
    let _ = write!(head, "CSeq: {} ACK\r\nContent-Length: 0\r\n\r\n", cseq.seq);
    Some(Bytes::from(head))
}

/// States of the INVITE client transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteClientState {
    Calling,
    Proceeding,
    Completed,
    /// RFC 6026: a 2xx was received; further 2xx are passed up until timer M.
    Accepted,
    Terminated,
}

/// The INVITE client transaction for one forwarding attempt.
#[derive(Debug, Clone)]
pub struct InviteClient {
    core: Core,
    state: InviteClientState,
    request: Bytes,
    ack: Option<Bytes>,
    ack_builder: AckBuilder,
    /// Current timer A interval.
    a: Duration,
    provisional: bool,
    /// Timer C: duration and whether a provisional re-arms it (§16.7 step 2).
    timer_c: Option<(Duration, bool)>,
    final_status: Option<u16>,
}

impl InviteClient {
    /// Creates the transaction and sends the INVITE: timer A (UDP) and B.
    pub fn start(request: Bytes, transport: Transport, timers: Timers) -> (InviteClient, Actions) {
        let core = Core::new(transport, timers);
        let a = core.timers.t1;
        let mut m = InviteClient {
            core,
            state: InviteClientState::Calling,
            request,
            ack: None,
            ack_builder: build_ack,
            a,
            provisional: false,
            timer_c: None,
            final_status: None,
        };
        let mut out = Actions::new();
        out.push(Action::Send(m.request.clone()));
        if m.core.unreliable() {
            m.core.start(TimerKind::A, m.a, &mut out);
        }
        let b = m.core.timers.t1x64();
        m.core.start(TimerKind::B, b, &mut out);
        (m, out)
    }

    /// Replaces the ACK builder (default [`build_ack`]).
    pub fn with_ack_builder(mut self, f: AckBuilder) -> InviteClient {
        self.ack_builder = f;
        self
    }

    pub fn state(&self) -> InviteClientState {
        self.state
    }

    pub fn is_terminated(&self) -> bool {
        self.state == InviteClientState::Terminated
    }

    /// The INVITE as sent (for building a CANCEL).
    pub fn request(&self) -> &Bytes {
        &self.request
    }

    /// Whether a provisional response arrived (a CANCEL may only be sent then, §9.1).
    pub fn provisional_received(&self) -> bool {
        self.provisional
    }

    /// Status of the first final response received.
    pub fn final_status(&self) -> Option<u16> {
        self.final_status
    }

    /// Arms timer C (the proxy's attempt/ring timer, §16.6 step 11). With
    /// `reset_on_provisional` every 1xx re-arms it (RFC behaviour); without,
    /// it bounds the whole attempt (a ring timeout). No-op once a final arrived.
    pub fn arm_timer_c(&mut self, after: Duration, reset_on_provisional: bool) -> Actions {
        let mut out = Actions::new();
        if matches!(
            self.state,
            InviteClientState::Calling | InviteClientState::Proceeding
        ) && !after.is_zero()
        {
            self.timer_c = Some((after, reset_on_provisional));
            self.core.start(TimerKind::C, after, &mut out);
        }
        out
    }

    /// A response matched this transaction. `raw` is the response's bytes
    /// (what is passed up); `resp` its parse (for the status and the ACK).
    pub fn on_response(&mut self, resp: &Message<'_>, raw: Bytes) -> Actions {
        let mut out = Actions::new();
        let Some(status) = resp.status() else {
            return out;
        };
        use InviteClientState as S;
        match (self.state, status) {
            (S::Calling | S::Proceeding, 100..=199) => {
                if self.state == S::Calling {
                    self.state = S::Proceeding;
                    self.core.cancel(TimerKind::A, &mut out);
                    self.core.cancel(TimerKind::B, &mut out);
                }
                self.provisional = true;
                if let Some((c, true)) = self.timer_c
                    && self.core.is_running(TimerKind::C)
                {
                    self.core.start(TimerKind::C, c, &mut out);
                }
                out.push(Action::PassUp(raw));
            }
            (S::Calling | S::Proceeding, 200..=299) => {
                self.final_status = Some(status);
                self.state = S::Accepted;
                self.cancel_request_timers(&mut out);
                out.push(Action::PassUp(raw));
                let m = self.core.timers.linger;
                self.core.start(TimerKind::M, m, &mut out);
            }
            (S::Accepted, 200..=299) => out.push(Action::PassUp(raw)),
            (S::Calling | S::Proceeding, 300..=699) => {
                self.final_status = Some(status);
                self.state = S::Completed;
                self.cancel_request_timers(&mut out);
                self.ack = (self.ack_builder)(&self.request, resp);
                if let Some(ack) = self.ack.clone() {
                    out.push(Action::Send(ack));
                }
                out.push(Action::PassUp(raw));
                let d = if self.core.unreliable() {
                    self.core.timers.timer_d
                } else {
                    Duration::ZERO
                };
                self.core.start_or_terminate(TimerKind::D, d, &mut out);
                if out.terminated() {
                    self.state = S::Terminated;
                }
            }
            // A retransmitted final: ACK it again, do not pass it up.
            (S::Completed, 300..=699) => {
                if let Some(ack) = self.ack.clone() {
                    out.push(Action::Send(ack));
                }
            }
            _ => {}
        }
        out
    }

    fn cancel_request_timers(&mut self, out: &mut Actions) {
        self.core.cancel(TimerKind::A, out);
        self.core.cancel(TimerKind::B, out);
        self.core.cancel(TimerKind::C, out);
    }

    pub fn on_timer(&mut self, kind: TimerKind) -> Actions {
        let mut out = Actions::new();
        if !self.core.fired(kind) {
            return out;
        }
        use InviteClientState as S;
        match (self.state, kind) {
            (S::Calling, TimerKind::A) => {
                out.push(Action::Send(self.request.clone()));
                self.a = self.a.saturating_mul(2);
                self.core.start(TimerKind::A, self.a, &mut out);
            }
            (S::Calling | S::Proceeding, TimerKind::B) => {
                out.push(Action::Timeout);
                self.terminate(&mut out);
            }
            (S::Calling | S::Proceeding, TimerKind::C) => out.push(Action::RingTimeout {
                provisional: self.provisional,
            }),
            (S::Completed, TimerKind::D) | (S::Accepted, TimerKind::M) => self.terminate(&mut out),
            _ => {}
        }
        out
    }

    /// The TU sent a CANCEL for this request (§9.1): if no final response
    /// comes within 64·T1 the transaction gives up (timer B re-armed in
    /// Proceeding → [`Action::Timeout`] and Terminated), so a peer that never
    /// answers its CANCEL cannot keep it alive.
    pub fn cancel_sent(&mut self) -> Actions {
        let mut out = Actions::new();
        if matches!(
            self.state,
            InviteClientState::Calling | InviteClientState::Proceeding
        ) && !self.core.is_running(TimerKind::B)
        {
            let b = self.core.timers.t1x64();
            self.core.start(TimerKind::B, b, &mut out);
        }
        out
    }

    /// The transport failed to send (§17.1.4): inform the TU and terminate.
    /// In Accepted the transaction stays until timer M.
    pub fn on_transport_error(&mut self) -> Actions {
        let mut out = Actions::new();
        match self.state {
            InviteClientState::Terminated => {}
            InviteClientState::Accepted => out.push(Action::TransportError),
            _ => {
                out.push(Action::TransportError);
                self.terminate(&mut out);
            }
        }
        out
    }

    fn terminate(&mut self, out: &mut Actions) {
        self.state = InviteClientState::Terminated;
        self.core.terminate(out);
    }
}

/// The non-INVITE client transaction (§17.1.2), also used for CANCEL.
#[derive(Debug, Clone)]
pub struct NonInviteClient {
    core: Core,
    state: NonInviteState,
    request: Bytes,
    /// Current timer E interval.
    e: Duration,
    final_status: Option<u16>,
}

impl NonInviteClient {
    /// Creates the transaction and sends the request: timer E (UDP) and F.
    pub fn start(
        request: Bytes,
        transport: Transport,
        timers: Timers,
    ) -> (NonInviteClient, Actions) {
        let core = Core::new(transport, timers);
        let e = core.timers.t1;
        let mut m = NonInviteClient {
            core,
            state: NonInviteState::Trying,
            request,
            e,
            final_status: None,
        };
        let mut out = Actions::new();
        out.push(Action::Send(m.request.clone()));
        if m.core.unreliable() {
            m.core.start(TimerKind::E, m.e, &mut out);
        }
        let f = m.core.timers.t1x64();
        m.core.start(TimerKind::F, f, &mut out);
        (m, out)
    }

    pub fn state(&self) -> NonInviteState {
        self.state
    }

    pub fn is_terminated(&self) -> bool {
        self.state == NonInviteState::Terminated
    }

    pub fn request(&self) -> &Bytes {
        &self.request
    }

    pub fn final_status(&self) -> Option<u16> {
        self.final_status
    }

    /// A response matched: 1xx → Proceeding, final → Completed with timer K
    /// (T4 on UDP, Terminated at once on TCP); retransmissions are absorbed.
    pub fn on_response(&mut self, status: u16, raw: Bytes) -> Actions {
        let mut out = Actions::new();
        if !matches!(
            self.state,
            NonInviteState::Trying | NonInviteState::Proceeding
        ) {
            return out;
        }
        match status {
            100..=199 => {
                self.state = NonInviteState::Proceeding;
                out.push(Action::PassUp(raw));
            }
            200..=699 => {
                self.final_status = Some(status);
                self.state = NonInviteState::Completed;
                self.core.cancel(TimerKind::E, &mut out);
                self.core.cancel(TimerKind::F, &mut out);
                out.push(Action::PassUp(raw));
                let k = if self.core.unreliable() {
                    self.core.timers.t4
                } else {
                    Duration::ZERO
                };
                self.core.start_or_terminate(TimerKind::K, k, &mut out);
                if out.terminated() {
                    self.state = NonInviteState::Terminated;
                }
            }
            _ => {}
        }
        out
    }

    pub fn on_timer(&mut self, kind: TimerKind) -> Actions {
        let mut out = Actions::new();
        if !self.core.fired(kind) {
            return out;
        }
        use NonInviteState as S;
        match (self.state, kind) {
            (S::Trying | S::Proceeding, TimerKind::E) => {
                out.push(Action::Send(self.request.clone()));
                self.e = if self.state == S::Trying {
                    (self.e * 2).min(self.core.timers.t2)
                } else {
                    self.core.timers.t2
                };
                self.core.start(TimerKind::E, self.e, &mut out);
            }
            (S::Trying | S::Proceeding, TimerKind::F) => {
                out.push(Action::Timeout);
                self.terminate(&mut out);
            }
            (S::Completed, TimerKind::K) => self.terminate(&mut out),
            _ => {}
        }
        out
    }

    pub fn on_transport_error(&mut self) -> Actions {
        let mut out = Actions::new();
        if self.state != NonInviteState::Terminated {
            out.push(Action::TransportError);
            self.terminate(&mut out);
        }
        out
    }

    fn terminate(&mut self, out: &mut Actions) {
        self.state = NonInviteState::Terminated;
        self.core.terminate(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::sim::Sim;

    const INVITE: &str = "INVITE sip:bob@10.0.0.2:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKproxy1;rport\r\n\
Via: SIP/2.0/UDP 203.0.113.7:5060;branch=z9hG4bKuac;received=203.0.113.7\r\n\
Route: <sip:10.0.0.9;lr>\r\n\
Route: <sip:10.0.0.10;lr>\r\n\
Max-Forwards: 69\r\n\
From: <sip:alice@a.example>;tag=1928\r\n\
To: <sip:bob@b.example>\r\n\
Call-ID: abc@a\r\n\
CSeq: 314159 INVITE\r\n\
Content-Length: 0\r\n\r\n";

    fn resp(code: u16) -> String {
        format!(
            "SIP/2.0 {code} X\r\n\
Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKproxy1;rport\r\n\
Via: SIP/2.0/UDP 203.0.113.7:5060;branch=z9hG4bKuac;received=203.0.113.7\r\n\
From: <sip:alice@a.example>;tag=1928\r\n\
To: <sip:bob@b.example>;tag=b{code}\r\n\
Call-ID: abc@a\r\n\
CSeq: 314159 INVITE\r\n\
Content-Length: 0\r\n\r\n"
        )
    }

    /// Feeds a response of `code` to the machine.
    fn feed(m: &mut InviteClient, code: u16) -> Actions {
        let raw = resp(code);
        let msg = Message::parse(raw.as_bytes(), &Limits::default()).unwrap();
        m.on_response(&msg, Bytes::from(raw.clone()))
    }

    fn invite(transport: Transport) -> (InviteClient, Sim) {
        let (m, acts) = InviteClient::start(
            Bytes::from_static(INVITE.as_bytes()),
            transport,
            Timers::default(),
        );
        let mut sim = Sim::default();
        sim.apply(acts);
        (m, sim)
    }

    fn ack_of(sim: &Sim) -> Vec<&Bytes> {
        sim.log
            .iter()
            .filter_map(|(_, a)| match a {
                Action::Send(b) if b.starts_with(b"ACK ") => Some(b),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn ack_construction() {
        let raw = resp(486);
        let msg = Message::parse(raw.as_bytes(), &Limits::default()).unwrap();
        let ack = build_ack(INVITE.as_bytes(), &msg).unwrap();
        assert_eq!(
            std::str::from_utf8(&ack).unwrap(),
            "ACK sip:bob@10.0.0.2:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKproxy1;rport\r\n\
Route: <sip:10.0.0.9;lr>\r\n\
Route: <sip:10.0.0.10;lr>\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@a.example>;tag=1928\r\n\
To: <sip:bob@b.example>;tag=b486\r\n\
Call-ID: abc@a\r\n\
CSeq: 314159 ACK\r\n\
Content-Length: 0\r\n\r\n"
        );
        // The ACK parses and passes the project's validation.
        let parsed = Message::parse(&ack, &Limits::default()).unwrap();
        crate::sip::validate_request(&parsed).unwrap();
        assert!(build_ack(b"garbage", &msg).is_none());
    }

    #[test]
    fn invite_udp_timer_a_doubles_until_b() {
        let (mut m, mut sim) = invite(Transport::Unreliable);
        while sim.fire_next(|k| m.on_timer(k)).is_some() {}
        // A: 0.5, 1, 2, 4, 8, 16 s (no cap), B at 64*T1 = 32 s.
        assert_eq!(
            sim.send_times_ms(),
            vec![0, 500, 1500, 3500, 7500, 15500, 31500]
        );
        assert!(sim.has(&Action::Timeout));
        assert_eq!(sim.last_time_ms(), 32_000);
        assert!(m.is_terminated());
    }

    #[test]
    fn invite_tcp_no_retransmissions_b_only() {
        let (mut m, mut sim) = invite(Transport::Reliable);
        assert_eq!(sim.timers.keys().collect::<Vec<_>>(), vec![&TimerKind::B]);
        while sim.fire_next(|k| m.on_timer(k)).is_some() {}
        assert_eq!(sim.send_times_ms(), vec![0]);
        assert!(sim.has(&Action::Timeout));
    }

    #[test]
    fn invite_cancelled_without_final_gives_up_after_64_t1() {
        let (mut m, mut sim) = invite(Transport::Unreliable);
        sim.apply(feed(&mut m, 180));
        assert!(sim.timers.is_empty());
        sim.advance(Duration::from_secs(5));
        sim.apply(m.cancel_sent());
        // Twice is once.
        sim.apply(m.cancel_sent());
        assert_eq!(sim.timers.keys().collect::<Vec<_>>(), vec![&TimerKind::B]);
        assert_eq!(sim.fire_next(|k| m.on_timer(k)), Some(TimerKind::B));
        assert_eq!(sim.last_time_ms(), 5000 + 32_000);
        assert!(sim.has(&Action::Timeout));
        assert!(m.is_terminated());
        // After a final it arms nothing.
        let (mut m, mut sim) = invite(Transport::Reliable);
        sim.apply(feed(&mut m, 486));
        assert!(m.cancel_sent().is_empty());
    }

    #[test]
    fn invite_provisional_then_non2xx_acks_and_timer_d() {
        let (mut m, mut sim) = invite(Transport::Unreliable);
        sim.apply(m.arm_timer_c(Duration::from_secs(60), true));
        sim.advance(Duration::from_millis(100));
        sim.apply(feed(&mut m, 100));
        assert_eq!(m.state(), InviteClientState::Proceeding);
        // A and B stopped, only C left.
        assert_eq!(sim.timers.keys().collect::<Vec<_>>(), vec![&TimerKind::C]);
        sim.advance(Duration::from_millis(900));
        sim.apply(feed(&mut m, 180));
        // C was re-armed by the 180 (at 1 s + 60 s).
        assert_eq!(sim.timers[&TimerKind::C], Duration::from_secs(61));
        assert!(m.provisional_received());
        sim.apply(feed(&mut m, 487));
        assert_eq!(m.state(), InviteClientState::Completed);
        assert_eq!(m.final_status(), Some(487));
        assert_eq!(ack_of(&sim).len(), 1);
        let passed: Vec<_> = sim
            .log
            .iter()
            .filter(|(_, a)| matches!(a, Action::PassUp(_)))
            .collect();
        assert_eq!(passed.len(), 3);
        // Retransmitted final: ACKed again, not passed up; a late 1xx/2xx ignored.
        sim.apply(feed(&mut m, 487));
        sim.apply(feed(&mut m, 180));
        sim.apply(feed(&mut m, 200));
        assert_eq!(ack_of(&sim).len(), 2);
        assert_eq!(
            sim.log
                .iter()
                .filter(|(_, a)| matches!(a, Action::PassUp(_)))
                .count(),
            3
        );
        assert_eq!(sim.fire_next(|k| m.on_timer(k)), Some(TimerKind::D));
        assert_eq!(sim.last_time_ms(), 1000 + 32_000);
        assert!(m.is_terminated());
    }

    #[test]
    fn invite_non2xx_tcp_terminates_at_once() {
        let (mut m, mut sim) = invite(Transport::Reliable);
        let acts = feed(&mut m, 503);
        assert!(acts.terminated());
        sim.apply(acts);
        assert_eq!(ack_of(&sim).len(), 1);
        assert!(m.is_terminated());
    }

    #[test]
    fn invite_2xx_accepted_until_m() {
        for transport in [Transport::Unreliable, Transport::Reliable] {
            let (mut m, mut sim) = invite(transport);
            sim.apply(feed(&mut m, 200));
            assert_eq!(m.state(), InviteClientState::Accepted);
            assert!(ack_of(&sim).is_empty(), "no ACK for 2xx in the transaction");
            sim.apply(feed(&mut m, 200));
            sim.apply(feed(&mut m, 486));
            assert_eq!(
                sim.log
                    .iter()
                    .filter(|(_, a)| matches!(a, Action::PassUp(_)))
                    .count(),
                2
            );
            assert_eq!(sim.fire_next(|k| m.on_timer(k)), Some(TimerKind::M));
            assert_eq!(sim.last_time_ms(), 32_000);
            assert!(m.is_terminated());
        }
    }

    #[test]
    fn timer_c_ring_timeout() {
        // Without a provisional: RingTimeout { provisional: false }; the
        // transaction keeps retransmitting until B.
        let (mut m, mut sim) = invite(Transport::Unreliable);
        sim.apply(m.arm_timer_c(Duration::from_secs(2), false));
        while sim.fire_next(|k| m.on_timer(k)) != Some(TimerKind::C) {}
        assert_eq!(sim.now, Duration::from_secs(2));
        assert!(sim.has(&Action::RingTimeout { provisional: false }));
        assert_eq!(m.state(), InviteClientState::Calling);
        // Ring timeout (not re-armed by 180): fires 5 s after arming.
        let (mut m, mut sim) = invite(Transport::Unreliable);
        sim.apply(m.arm_timer_c(Duration::from_secs(5), false));
        sim.advance(Duration::from_millis(300));
        sim.apply(feed(&mut m, 180));
        assert_eq!(sim.fire_next(|k| m.on_timer(k)), Some(TimerKind::C));
        assert_eq!(sim.now, Duration::from_secs(5));
        assert!(sim.has(&Action::RingTimeout { provisional: true }));
        // The caller's CANCEL leads to 487; transaction completes normally.
        sim.apply(feed(&mut m, 487));
        assert!(sim.timers.contains_key(&TimerKind::D));
        // Timer C cannot be armed after a final.
        assert!(m.arm_timer_c(Duration::from_secs(1), true).is_empty());
    }

    #[test]
    fn invite_transport_error() {
        let (mut m, mut sim) = invite(Transport::Unreliable);
        sim.apply(m.on_transport_error());
        assert!(sim.terminated && sim.has(&Action::TransportError));
        assert!(m.on_timer(TimerKind::A).is_empty());
    }

    fn nict(transport: Transport) -> (NonInviteClient, Sim) {
        let (m, acts) =
            NonInviteClient::start(Bytes::from_static(b"OPTIONS"), transport, Timers::default());
        let mut sim = Sim::default();
        sim.apply(acts);
        (m, sim)
    }

    #[test]
    fn non_invite_e_doubles_to_t2_until_f() {
        let (mut m, mut sim) = nict(Transport::Unreliable);
        while sim.fire_next(|k| m.on_timer(k)).is_some() {}
        let mut want = vec![0, 500, 1500, 3500, 7500];
        let mut t = 7500;
        while t + 4000 < 32_000 {
            t += 4000;
            want.push(t);
        }
        assert_eq!(sim.send_times_ms(), want);
        assert!(sim.has(&Action::Timeout));
        assert_eq!(sim.last_time_ms(), 32_000);
    }

    #[test]
    fn non_invite_proceeding_uses_t2_then_k() {
        let (mut m, mut sim) = nict(Transport::Unreliable);
        sim.advance(Duration::from_millis(100));
        sim.apply(m.on_response(100, Bytes::from_static(b"100")));
        assert_eq!(m.state(), NonInviteState::Proceeding);
        sim.fire_next(|k| m.on_timer(k)); // E at 0.5 s, then every T2
        sim.fire_next(|k| m.on_timer(k));
        assert_eq!(sim.send_times_ms(), vec![0, 500, 4500]);
        sim.apply(m.on_response(200, Bytes::from_static(b"200")));
        assert_eq!(m.state(), NonInviteState::Completed);
        assert_eq!(sim.timers.keys().collect::<Vec<_>>(), vec![&TimerKind::K]);
        // Retransmitted finals are absorbed.
        assert!(m.on_response(200, Bytes::from_static(b"200")).is_empty());
        assert_eq!(sim.fire_next(|k| m.on_timer(k)), Some(TimerKind::K));
        assert_eq!(sim.last_time_ms(), 4500 + 5000);
        assert!(m.is_terminated());
        assert_eq!(
            sim.log
                .iter()
                .filter(|(_, a)| matches!(a, Action::PassUp(_)))
                .count(),
            2
        );
    }

    #[test]
    fn non_invite_tcp_k_zero_and_f() {
        let (mut m, mut sim) = nict(Transport::Reliable);
        assert_eq!(sim.timers.keys().collect::<Vec<_>>(), vec![&TimerKind::F]);
        let acts = m.on_response(404, Bytes::from_static(b"404"));
        assert_eq!(
            acts.to_vec(),
            vec![
                Action::CancelTimer(TimerKind::F),
                Action::PassUp(Bytes::from_static(b"404")),
                Action::Terminated
            ]
        );
        sim.apply(acts);
        let (mut m, mut sim) = nict(Transport::Reliable);
        assert_eq!(sim.fire_next(|k| m.on_timer(k)), Some(TimerKind::F));
        assert!(sim.has(&Action::Timeout) && sim.terminated);
        assert_eq!(sim.send_times_ms(), vec![0]);
    }
}

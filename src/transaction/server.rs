//! Server transactions (RFC 3261 §17.2, RFC 6026 §8): the INVITE server
//! machine (Proceeding → Completed → Confirmed, or Accepted on 2xx) and the
//! non-INVITE one (Trying → Proceeding → Completed). Responses come from the
//! TU through `send_response`; retransmitted requests are absorbed or answered
//! with the last response.

use std::time::Duration;

use bytes::Bytes;

use super::{Action, Actions, Core, TimerKind, Timers, Transport};

/// States of the INVITE server transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteServerState {
    Proceeding,
    Completed,
    Confirmed,
    /// RFC 6026: a 2xx was sent; retransmitted INVITEs are absorbed until timer L.
    Accepted,
    Terminated,
}

/// The INVITE server transaction. Created when a new INVITE arrives; the
/// caller sends the 100 Trying through [`InviteServer::send_response`].
#[derive(Debug, Clone)]
pub struct InviteServer {
    core: Core,
    state: InviteServerState,
    last_provisional: Option<Bytes>,
    last_final: Option<Bytes>,
    final_status: Option<u16>,
    /// Current timer G interval.
    g: Duration,
}

impl InviteServer {
    pub fn new(transport: Transport, timers: Timers) -> InviteServer {
        let core = Core::new(transport, timers);
        let g = core.timers.t1;
        InviteServer {
            core,
            state: InviteServerState::Proceeding,
            last_provisional: None,
            last_final: None,
            final_status: None,
            g,
        }
    }

    pub fn state(&self) -> InviteServerState {
        self.state
    }

    pub fn is_terminated(&self) -> bool {
        self.state == InviteServerState::Terminated
    }

    /// The status of the first final response sent, if any.
    pub fn final_status(&self) -> Option<u16> {
        self.final_status
    }

    /// A retransmission of the INVITE arrived (§17.2.1): resend the last
    /// provisional (Proceeding) or the final (Completed); absorbed otherwise.
    pub fn on_invite(&mut self) -> Actions {
        let mut out = Actions::new();
        let resend = match self.state {
            InviteServerState::Proceeding => self.last_provisional.clone(),
            InviteServerState::Completed => self.last_final.clone(),
            _ => None,
        };
        if let Some(r) = resend {
            out.push(Action::Send(r));
        }
        out
    }

    /// An ACK matched this transaction (only meaningful after a non-2xx final).
    pub fn on_ack(&mut self) -> Actions {
        let mut out = Actions::new();
        if self.state == InviteServerState::Completed {
            self.state = InviteServerState::Confirmed;
            self.core.cancel(TimerKind::G, &mut out);
            self.core.cancel(TimerKind::H, &mut out);
            let i = if self.core.unreliable() {
                self.core.timers.t4
            } else {
                Duration::ZERO
            };
            self.core.start_or_terminate(TimerKind::I, i, &mut out);
            if out.terminated() {
                self.state = InviteServerState::Terminated;
            }
        }
        out
    }

    /// The TU sends a response. Provisionals are sent and remembered in
    /// Proceeding; a 2xx moves to Accepted (timer L); a 300-699 moves to
    /// Completed (timers G on UDP and H). In Accepted further 2xx are sent
    /// (relayed retransmissions); anything else out of place is ignored.
    pub fn send_response(&mut self, status: u16, response: Bytes) -> Actions {
        let mut out = Actions::new();
        match (self.state, status) {
            (InviteServerState::Proceeding, 100..=199) => {
                self.last_provisional = Some(response.clone());
                out.push(Action::Send(response));
            }
            (InviteServerState::Proceeding, 200..=299) => {
                self.final_status = Some(status);
                self.state = InviteServerState::Accepted;
                out.push(Action::Send(response));
                let l = self.core.timers.linger;
                self.core.start(TimerKind::L, l, &mut out);
            }
            (InviteServerState::Proceeding, 300..=699) => {
                self.final_status = Some(status);
                self.state = InviteServerState::Completed;
                self.last_final = Some(response.clone());
                out.push(Action::Send(response));
                if self.core.unreliable() {
                    self.core.start(TimerKind::G, self.g, &mut out);
                }
                let h = self.core.timers.t1x64();
                self.core.start(TimerKind::H, h, &mut out);
            }
            (InviteServerState::Accepted, 200..=299) => out.push(Action::Send(response)),
            _ => {}
        }
        out
    }

    pub fn on_timer(&mut self, kind: TimerKind) -> Actions {
        let mut out = Actions::new();
        if !self.core.fired(kind) {
            return out;
        }
        match (self.state, kind) {
            (InviteServerState::Completed, TimerKind::G) => {
                if let Some(r) = self.last_final.clone() {
                    out.push(Action::Send(r));
                }
                self.g = (self.g * 2).min(self.core.timers.t2);
                self.core.start(TimerKind::G, self.g, &mut out);
            }
            (InviteServerState::Completed, TimerKind::H) => {
                out.push(Action::Timeout);
                self.terminate(&mut out);
            }
            (InviteServerState::Confirmed, TimerKind::I)
            | (InviteServerState::Accepted, TimerKind::L) => self.terminate(&mut out),
            _ => {}
        }
        out
    }

    /// The transport failed to send (§17.2.4): inform the TU and terminate.
    /// In Accepted the transaction stays (it only absorbs INVITEs until L).
    pub fn on_transport_error(&mut self) -> Actions {
        let mut out = Actions::new();
        match self.state {
            InviteServerState::Terminated => {}
            InviteServerState::Accepted => out.push(Action::TransportError),
            _ => {
                out.push(Action::TransportError);
                self.terminate(&mut out);
            }
        }
        out
    }

    fn terminate(&mut self, out: &mut Actions) {
        self.state = InviteServerState::Terminated;
        self.core.terminate(out);
    }
}

/// States of the non-INVITE server (and client) transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonInviteState {
    Trying,
    Proceeding,
    Completed,
    Terminated,
}

/// The non-INVITE server transaction (§17.2.2), also used for CANCEL.
#[derive(Debug, Clone)]
pub struct NonInviteServer {
    core: Core,
    state: NonInviteState,
    last: Option<Bytes>,
}

impl NonInviteServer {
    pub fn new(transport: Transport, timers: Timers) -> NonInviteServer {
        NonInviteServer {
            core: Core::new(transport, timers),
            state: NonInviteState::Trying,
            last: None,
        }
    }

    pub fn state(&self) -> NonInviteState {
        self.state
    }

    pub fn is_terminated(&self) -> bool {
        self.state == NonInviteState::Terminated
    }

    /// A retransmission of the request arrived: absorbed in Trying, answered
    /// with the last response in Proceeding and Completed.
    pub fn on_request(&mut self) -> Actions {
        let mut out = Actions::new();
        if matches!(
            self.state,
            NonInviteState::Proceeding | NonInviteState::Completed
        ) && let Some(r) = self.last.clone()
        {
            out.push(Action::Send(r));
        }
        out
    }

    /// The TU sends a response: 1xx → Proceeding, final → Completed with
    /// timer J (64·T1 on UDP, Terminated at once on TCP). Ignored once Completed.
    pub fn send_response(&mut self, status: u16, response: Bytes) -> Actions {
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
                self.last = Some(response.clone());
                out.push(Action::Send(response));
            }
            200..=699 => {
                self.state = NonInviteState::Completed;
                self.last = Some(response.clone());
                out.push(Action::Send(response));
                let j = if self.core.unreliable() {
                    self.core.timers.linger
                } else {
                    Duration::ZERO
                };
                self.core.start_or_terminate(TimerKind::J, j, &mut out);
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
        if self.core.fired(kind) && kind == TimerKind::J && self.state == NonInviteState::Completed
        {
            self.state = NonInviteState::Terminated;
            self.core.terminate(&mut out);
        }
        out
    }

    pub fn on_transport_error(&mut self) -> Actions {
        let mut out = Actions::new();
        if self.state != NonInviteState::Terminated {
            out.push(Action::TransportError);
            self.state = NonInviteState::Terminated;
            self.core.terminate(&mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::sim::Sim;

    fn b(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    fn udp() -> InviteServer {
        InviteServer::new(Transport::Unreliable, Timers::default())
    }

    #[test]
    fn invite_non2xx_udp_g_doubles_to_t2_then_h() {
        let mut m = udp();
        let mut sim = Sim::default();
        sim.apply(m.send_response(100, b("100")));
        // A retransmitted INVITE is answered with the last provisional.
        sim.apply(m.on_invite());
        sim.apply(m.send_response(180, b("180")));
        sim.apply(m.on_invite());
        assert_eq!(
            sim.log.iter().map(|(_, a)| a.clone()).collect::<Vec<_>>(),
            vec![
                Action::Send(b("100")),
                Action::Send(b("100")),
                Action::Send(b("180")),
                Action::Send(b("180")),
            ]
        );
        sim.log.clear();
        sim.apply(m.send_response(486, b("486")));
        assert_eq!(m.state(), InviteServerState::Completed);
        while sim.fire_next(|k| m.on_timer(k)).is_some() {}
        // G: 0.5, 1, 2, 4, 4, 4 ... (capped at T2) until H at 32 s.
        let sends = sim.send_times_ms();
        let mut want = vec![0, 500, 1500, 3500, 7500];
        let mut t = 7500;
        while t + 4000 < 32_000 {
            t += 4000;
            want.push(t);
        }
        assert_eq!(sends, want);
        assert!(sim.has(&Action::Timeout));
        assert_eq!(sim.last_time_ms(), 32_000);
        assert!(m.is_terminated());
    }

    #[test]
    fn invite_ack_confirms_then_timer_i() {
        for (transport, i_ms) in [
            (Transport::Unreliable, Some(5000)),
            (Transport::Reliable, None),
        ] {
            let mut m = InviteServer::new(transport, Timers::default());
            let mut sim = Sim::default();
            sim.apply(m.send_response(100, b("100")));
            sim.apply(m.send_response(404, b("404")));
            if transport == Transport::Reliable {
                assert!(!sim.timers.contains_key(&TimerKind::G));
            }
            sim.advance(Duration::from_millis(200));
            // Retransmitted INVITE gets the final again.
            sim.apply(m.on_invite());
            assert_eq!(sim.log.last().unwrap().1, Action::Send(b("404")));
            sim.apply(m.on_ack());
            let n = sim.log.len();
            match i_ms {
                Some(i) => {
                    assert_eq!(m.state(), InviteServerState::Confirmed);
                    assert_eq!(sim.timers.keys().collect::<Vec<_>>(), vec![&TimerKind::I]);
                    // ACK retransmissions and INVITE retransmissions are absorbed.
                    sim.apply(m.on_ack());
                    sim.apply(m.on_invite());
                    assert_eq!(sim.log.len(), n);
                    assert_eq!(sim.fire_next(|k| m.on_timer(k)), Some(TimerKind::I));
                    assert_eq!(sim.last_time_ms(), 200 + i);
                }
                None => assert!(sim.terminated),
            }
            assert!(m.is_terminated());
            assert!(!sim.has(&Action::Timeout));
        }
    }

    #[test]
    fn invite_2xx_accepted_absorbs_and_relays() {
        for transport in [Transport::Unreliable, Transport::Reliable] {
            let mut m = InviteServer::new(transport, Timers::default());
            let mut sim = Sim::default();
            sim.apply(m.send_response(100, b("100")));
            sim.apply(m.send_response(200, b("200")));
            assert_eq!(m.state(), InviteServerState::Accepted);
            assert_eq!(m.final_status(), Some(200));
            let n = sim.log.len();
            sim.apply(m.on_invite());
            sim.apply(m.on_ack());
            sim.apply(m.send_response(486, b("486")));
            sim.apply(m.send_response(180, b("180")));
            assert_eq!(sim.log.len(), n, "absorbed");
            sim.apply(m.send_response(200, b("200b")));
            assert_eq!(sim.log.last().unwrap().1, Action::Send(b("200b")));
            sim.apply(m.on_transport_error());
            assert!(!m.is_terminated());
            assert_eq!(sim.fire_next(|k| m.on_timer(k)), Some(TimerKind::L));
            assert_eq!(sim.last_time_ms(), 32_000);
            assert!(m.is_terminated());
        }
    }

    #[test]
    fn invite_transport_error_and_stale_timers() {
        let mut m = udp();
        let mut sim = Sim::default();
        sim.apply(m.send_response(503, b("503")));
        // A timer that is not running (I) is ignored.
        assert!(m.on_timer(TimerKind::I).is_empty());
        sim.apply(m.on_transport_error());
        assert_eq!(
            sim.log.iter().map(|(_, a)| a.clone()).collect::<Vec<_>>(),
            vec![
                Action::Send(b("503")),
                Action::TransportError,
                Action::Terminated
            ]
        );
        assert!(m.on_transport_error().is_empty());
        assert!(m.on_timer(TimerKind::H).is_empty());
    }

    #[test]
    fn non_invite_udp_and_tcp() {
        let mut m = NonInviteServer::new(Transport::Unreliable, Timers::default());
        let mut sim = Sim::default();
        // Retransmission in Trying: absorbed.
        assert!(m.on_request().is_empty());
        sim.apply(m.send_response(100, b("100")));
        assert_eq!(m.state(), NonInviteState::Proceeding);
        sim.apply(m.on_request());
        sim.apply(m.send_response(200, b("200")));
        assert_eq!(m.state(), NonInviteState::Completed);
        sim.apply(m.on_request());
        sim.apply(m.send_response(500, b("500")));
        assert_eq!(
            sim.log.iter().map(|(_, a)| a.clone()).collect::<Vec<_>>(),
            vec![
                Action::Send(b("100")),
                Action::Send(b("100")),
                Action::Send(b("200")),
                Action::Send(b("200")),
            ]
        );
        assert_eq!(sim.fire_next(|k| m.on_timer(k)), Some(TimerKind::J));
        assert_eq!(sim.last_time_ms(), 32_000);
        assert!(m.is_terminated());

        let mut m = NonInviteServer::new(Transport::Reliable, Timers::default());
        let acts = m.send_response(487, b("487"));
        assert_eq!(
            acts.to_vec(),
            vec![Action::Send(b("487")), Action::Terminated]
        );
        assert!(m.is_terminated());
    }

    #[test]
    fn non_invite_transport_error() {
        let mut m = NonInviteServer::new(Transport::Unreliable, Timers::default());
        let mut sim = Sim::default();
        sim.apply(m.send_response(200, b("200")));
        sim.apply(m.on_transport_error());
        assert!(sim.terminated);
        assert!(sim.has(&Action::TransportError));
    }

    #[test]
    fn custom_timers() {
        let timers = Timers {
            t1: Duration::from_millis(100),
            t2: Duration::from_millis(300),
            ..Timers::default()
        };
        let mut m = InviteServer::new(Transport::Unreliable, timers);
        let mut sim = Sim::default();
        sim.apply(m.send_response(600, b("600")));
        while sim.fire_next(|k| m.on_timer(k)).is_some() {}
        let sends = sim.send_times_ms();
        assert_eq!(&sends[..5], &[0, 100, 300, 600, 900]);
        assert_eq!(sim.last_time_ms(), 6400);
    }
}

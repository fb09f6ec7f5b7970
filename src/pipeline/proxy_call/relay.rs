//! In-dialog requests through the proxy (RFC 3261 §16 with §17 machines):
//! BYE, re-INVITE, UPDATE, INFO, OPTIONS, … of a dialog recorded in
//! [`Dialogs`](crate::transaction::Dialogs) and carrying our Route. Each one
//! is a [`Relay`]: a server transaction upstream (absorbs retransmissions,
//! re-sends the last response; an INVITE one sends 100 Trying and absorbs
//! the ACK of a non-2xx), one client transaction toward the next hop the
//! Route set names (retransmissions, timers B/F → 408 upstream, transport
//! error → 503), and for a re-INVITE the CANCEL it may need. No failover: the
//! route set is fixed by the dialog.
//!
//! * ACK for a 2xx is end to end: loose-routed and sent statelessly.
//! * Dialog bookkeeping: any final to BYE except 401/407 (and a BYE timeout)
//!   ends the dialog, as does a 481 to any request; every in-dialog request
//!   refreshes its idle timer.
//! * A request with our Route for a dialog we do not hold gets 481: the proxy
//!   is not an open relay for whoever learns its address.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tracing::debug;

use super::{Entry, Event, Fx, ProxyCore, Sub, SubKind, spawn, tx_transport};
use crate::sip::proxy::{forward_routed, loose_route, relay_response};
use crate::sip::{Message, reason_phrase};
use crate::transaction::{
    Actions, DialogKey, Fired, InviteClient, InviteServer, InviteServerState, NonInviteClient,
    NonInviteServer, TimerGens, TxId, TxKey,
};
use crate::transport::Transport;

/// What became of an in-dialog request (a request with a To tag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InDialog {
    /// Taken: forwarded, absorbed as a retransmission, or being resolved.
    Forwarded,
    /// No Route naming us: not ours to forward (the pipeline answers it).
    NotOurs,
    /// Answer it with this status (481 unknown dialog, 503 no way onward, 400).
    Answer(u16),
}

/// The server side of a relayed request.
enum ServerTx {
    Invite(InviteServer),
    NonInvite(NonInviteServer),
}

impl ServerTx {
    fn send_response(&mut self, code: u16, bytes: Bytes) -> Actions {
        match self {
            ServerTx::Invite(m) => m.send_response(code, bytes),
            ServerTx::NonInvite(m) => m.send_response(code, bytes),
        }
    }

    fn on_retransmission(&mut self) -> Actions {
        match self {
            ServerTx::Invite(m) => m.on_invite(),
            ServerTx::NonInvite(m) => m.on_request(),
        }
    }

    fn on_timer(&mut self, kind: crate::transaction::TimerKind) -> Actions {
        match self {
            ServerTx::Invite(m) => m.on_timer(kind),
            ServerTx::NonInvite(m) => m.on_timer(kind),
        }
    }

    fn on_transport_error(&mut self) -> Actions {
        match self {
            ServerTx::Invite(m) => m.on_transport_error(),
            ServerTx::NonInvite(m) => m.on_transport_error(),
        }
    }
}

/// One in-dialog request and its forwarded copy.
pub struct Relay {
    server_id: TxId,
    server: ServerTx,
    server_gens: TimerGens,
    upstream: (Transport, SocketAddr),
    request: Bytes,
    src: SocketAddr,
    dialog: DialogKey,
    bye: bool,
    /// `subs[0]`: the forwarded request; then its CANCEL, if any.
    subs: Vec<Sub>,
    /// A final response went upstream.
    answered: bool,
    /// CANCEL asked before the re-INVITE had a provisional.
    cancel_pending: bool,
}

/// The next hop of a loose-routed request.
enum NextHop {
    Addr(SocketAddr),
    Name(String),
}

/// Whether a final response to an in-dialog request ends the dialog
/// (RFC 3261 §15.1.2; RFC 5057 §5.1 for 481).
fn ends_dialog(bye: bool, status: u16) -> bool {
    status == 481 || (bye && status >= 200 && !matches!(status, 401 | 407))
}

impl ProxyCore {
    /// A request with a To tag that no transaction of ours took: forwarded
    /// through a [`Relay`] when it belongs to a dialog we hold and names us
    /// in its Route; a retransmission of one we relay is absorbed.
    pub fn in_dialog(
        self: &Arc<Self>,
        msg: &Message<'_>,
        src: SocketAddr,
        transport: Transport,
    ) -> InDialog {
        let is = |m| msg.method().is_some_and(|x| x.is(m));
        let ack = is(rsip::Method::Ack);
        if !ack
            && let Ok(key) = TxKey::server(msg)
            && let Some(id) = self.table.lookup(&key)
            && let Some(Entry::Relay(r)) = self.entry(id)
        {
            let mut fx = Fx::default();
            if let Ok(mut rl) = r.lock()
                && rl.server_id == id
            {
                let acts = rl.server.on_retransmission();
                self.drive_relay_server(&mut rl, acts, &mut fx);
            }
            self.execute(fx);
            return InDialog::Forwarded;
        }
        let locals = self.locals.load();
        let routed = match loose_route(msg, &locals) {
            Ok(r) if r.ours > 0 => r,
            Ok(_) => return InDialog::NotOurs,
            Err(e) => {
                debug!(error = %e, "in-dialog request not routable");
                return InDialog::NotOurs;
            }
        };
        let Some(dialog) = DialogKey::of(msg).filter(|k| self.dialogs.touch(k, Instant::now()))
        else {
            debug!("in-dialog request for a dialog we do not hold");
            return InDialog::Answer(481);
        };
        let Some(local) = routed.outbound_local(&locals) else {
            debug!(transport = %routed.transport.as_str(), "no listener for the next hop's transport");
            return InDialog::Answer(503);
        };
        let branch = self.branches.next_branch();
        let bytes = match forward_routed(msg, &routed, src, local, branch.as_str()) {
            Ok(b) => Bytes::from(b),
            Err(e) => {
                debug!(error = %e, "in-dialog request not forwarded");
                return if ack {
                    InDialog::Forwarded
                } else {
                    InDialog::Answer(400)
                };
            }
        };
        let out = routed.transport;
        let next = match routed.next_addr() {
            Some(a) => NextHop::Addr(a),
            None => NextHop::Name(format!(
                "{}:{}",
                String::from_utf8_lossy(routed.next.host),
                routed.next.port.unwrap_or(5060)
            )),
        };
        if ack {
            // The ACK for a 2xx is end to end: no transaction (§17.1.1.1).
            let me = self.clone();
            let send = move |to: SocketAddr, me: &Arc<ProxyCore>| {
                me.execute(Fx {
                    sends: vec![(out, to, bytes.clone(), None)],
                    removes: Vec::new(),
                })
            };
            match next {
                NextHop::Addr(a) => send(a, &me),
                NextHop::Name(h) => spawn(async move {
                    if let Some(a) = me.resolver.resolve(&h).await {
                        send(a, &me);
                    }
                }),
            }
            return InDialog::Forwarded;
        }
        let Ok(key) = TxKey::server(msg) else {
            return InDialog::Answer(400);
        };
        let method = msg.method().map(|m| m.as_bytes()).unwrap_or_default();
        let invite = method == b"INVITE";
        let upstream = match transport {
            Transport::Tcp => (Transport::Tcp, src),
            Transport::Udp => {
                let via = msg.top_via().and_then(Result::ok);
                (
                    Transport::Udp,
                    super::super::response_target(via.as_ref(), src, true),
                )
            }
        };
        let timers = self.timers;
        let server = if invite {
            ServerTx::Invite(InviteServer::new(tx_transport(transport), timers))
        } else {
            ServerTx::NonInvite(NonInviteServer::new(tx_transport(transport), timers))
        };
        let request = Bytes::copy_from_slice(msg.buf());
        let mut arc_out = None;
        let inserted = self.table.insert_with(key, |id| {
            let r = Arc::new(Mutex::new(Relay {
                server_id: id,
                server,
                server_gens: TimerGens::default(),
                upstream,
                request,
                src,
                dialog,
                bye: method == b"BYE",
                subs: Vec::with_capacity(1),
                answered: false,
                cancel_pending: false,
            }));
            arc_out = Some(r.clone());
            Entry::Relay(r)
        });
        let id = match inserted {
            Ok(id) => id,
            Err(crate::transaction::InsertError::Duplicate(_)) => return InDialog::Forwarded,
            Err(crate::transaction::InsertError::Full) => return InDialog::Answer(503),
        };
        self.gauge();
        let Some(arc) = arc_out else {
            return InDialog::Forwarded;
        };
        if invite {
            let mut fx = Fx::default();
            if let Ok(mut rl) = arc.lock()
                && let Some(trying) = self.reply_to(&rl.request, src, 100, "Trying", None)
            {
                self.relay_server_send(&mut rl, 100, trying, &mut fx);
            }
            self.execute(fx);
        }
        debug!(method = %String::from_utf8_lossy(method), "in-dialog request relayed");
        let method: Arc<[u8]> = Arc::from(method);
        match next {
            NextHop::Addr(a) => {
                self.relay_start(id, &arc, (out, a), bytes, branch.as_str(), &method)
            }
            NextHop::Name(h) => {
                let me = self.clone();
                spawn(async move {
                    match me.resolver.resolve(&h).await {
                        Some(a) => {
                            me.relay_start(id, &arc, (out, a), bytes, branch.as_str(), &method)
                        }
                        None => {
                            debug!(next = %h, "in-dialog next hop not resolved");
                            let mut fx = Fx::default();
                            if let Ok(mut rl) = arc.lock() {
                                me.relay_final(&mut rl, 503, &mut fx);
                            }
                            me.execute(fx);
                        }
                    }
                });
            }
        }
        InDialog::Forwarded
    }

    /// Starts the client transaction of a relay toward `target`.
    fn relay_start(
        self: &Arc<Self>,
        id: TxId,
        arc: &Arc<Mutex<Relay>>,
        target: (Transport, SocketAddr),
        bytes: Bytes,
        branch: &str,
        method: &[u8],
    ) {
        let mut fx = Fx::default();
        if let Ok(mut rl) = arc.lock()
            && rl.server_id == id
            && !rl.answered
        {
            let key = TxKey::client(branch.as_bytes(), method).ok();
            let t = tx_transport(target.0);
            let (kind, acts, c_acts) = if method == b"INVITE" {
                let (mut m, acts) = InviteClient::start(bytes, t, self.timers);
                let ring = Duration::from_millis(self.cfg.ring_timeout_ms);
                let c_acts = m.arm_timer_c(ring, false);
                (SubKind::Invite(m), acts, c_acts)
            } else {
                let (m, acts) = NonInviteClient::start(bytes, t, self.timers);
                (SubKind::NonInvite(m), acts, Actions::new())
            };
            match key.map(|k| self.table.insert(k, Entry::Relay(arc.clone()))) {
                Some(Ok(cid)) => {
                    self.gauge();
                    let mut sub = Sub {
                        id: cid,
                        kind,
                        gens: TimerGens::default(),
                        target,
                        carrier: self.no_carrier.clone(),
                        abandoned: false,
                        cancel_sent: false,
                    };
                    self.drive_sub(&mut sub, acts, &mut fx);
                    self.drive_sub(&mut sub, c_acts, &mut fx);
                    rl.subs.push(sub);
                }
                _ => self.relay_final(&mut rl, 503, &mut fx),
            }
        }
        self.execute(fx);
    }

    /// A response to a relayed request.
    pub(super) fn relay_response(
        self: &Arc<Self>,
        id: TxId,
        arc: &Arc<Mutex<Relay>>,
        msg: &Message<'_>,
        status: u16,
    ) {
        let raw = Bytes::copy_from_slice(msg.buf());
        let mut fx = Fx::default();
        if let Ok(mut rl) = arc.lock()
            && let Some(si) = rl.subs.iter().position(|s| s.id == id)
        {
            let rl = &mut *rl;
            let sub = &mut rl.subs[si];
            let acts = match &mut sub.kind {
                SubKind::Invite(m) => m.on_response(msg, raw),
                SubKind::NonInvite(m) => m.on_response(status, raw),
            };
            for ev in self.drive_sub(sub, acts, &mut fx) {
                match ev {
                    Event::PassUp if si == 0 => self.relay_pass_up(arc, rl, status, msg, &mut fx),
                    Event::Terminated => fx.removes.push(id),
                    _ => {}
                }
            }
        }
        self.execute(fx);
    }

    fn relay_pass_up(
        &self,
        arc: &Arc<Mutex<Relay>>,
        rl: &mut Relay,
        status: u16,
        msg: &Message<'_>,
        fx: &mut Fx,
    ) {
        if status == 100 {
            return;
        }
        if status < 200 && rl.cancel_pending {
            rl.cancel_pending = false;
            self.send_cancel(&Entry::Relay(arc.clone()), &mut rl.subs, 0, fx);
        }
        let Ok(r) = relay_response(msg, &self.branches) else {
            return;
        };
        if status >= 200 {
            rl.answered = true;
            self.relay_dialog_end(rl, status);
        }
        self.relay_server_send(rl, status, Bytes::from(r.bytes), fx);
    }

    fn relay_dialog_end(&self, rl: &Relay, status: u16) {
        if ends_dialog(rl.bye, status) && self.dialogs.remove(&rl.dialog).is_some() {
            self.dialog_gauge();
        }
    }

    /// Our own final upstream (timeout, transport error, no way onward).
    fn relay_final(&self, rl: &mut Relay, code: u16, fx: &mut Fx) {
        if rl.answered {
            return;
        }
        debug!(code, "in-dialog request answered by the proxy");
        rl.answered = true;
        self.relay_dialog_end(rl, code);
        if let Some(b) = self.reply_to(&rl.request, rl.src, code, reason_phrase(code), None) {
            self.relay_server_send(rl, code, b, fx);
        }
    }

    fn relay_server_send(&self, rl: &mut Relay, code: u16, bytes: Bytes, fx: &mut Fx) {
        let acts = rl.server.send_response(code, bytes);
        if acts
            .iter()
            .any(|a| matches!(a, crate::transaction::Action::Send(_)))
        {
            self.metrics.response(code, rl.upstream.0);
        }
        self.drive_relay_server(rl, acts, fx);
    }

    fn drive_relay_server(&self, rl: &mut Relay, acts: Actions, fx: &mut Fx) {
        let (id, to) = (rl.server_id, rl.upstream);
        for ev in self.drive(id, &mut rl.server_gens, to, acts, false, fx) {
            if let Event::Terminated = ev {
                fx.removes.push(id);
            }
        }
    }

    /// The ACK of a non-2xx final we relayed for a re-INVITE: absorbed.
    pub(super) fn relay_ack(self: &Arc<Self>, id: TxId, arc: &Arc<Mutex<Relay>>) -> bool {
        let mut fx = Fx::default();
        let mut matched = false;
        if let Ok(mut rl) = arc.lock()
            && rl.server_id == id
            && let ServerTx::Invite(m) = &mut rl.server
            && matches!(
                m.state(),
                InviteServerState::Completed | InviteServerState::Confirmed
            )
        {
            matched = true;
            let acts = m.on_ack();
            self.drive_relay_server(&mut rl, acts, &mut fx);
        }
        self.execute(fx);
        matched
    }

    /// A CANCEL for a relayed request: a re-INVITE still pending is
    /// cancelled downstream (its 487 comes back through the relay); a
    /// non-INVITE is unaffected (§9.2). True if it matched.
    pub(super) fn relay_cancel(self: &Arc<Self>, id: TxId, arc: &Arc<Mutex<Relay>>) -> bool {
        let mut fx = Fx::default();
        let mut matched = false;
        if let Ok(mut rl) = arc.lock()
            && rl.server_id == id
        {
            matched = true;
            let rl = &mut *rl;
            if matches!(rl.server, ServerTx::Invite(_)) && !rl.answered {
                let provisional = matches!(
                    rl.subs.first().map(|s| &s.kind),
                    Some(SubKind::Invite(m)) if m.provisional_received()
                );
                if provisional {
                    self.send_cancel(&Entry::Relay(arc.clone()), &mut rl.subs, 0, &mut fx);
                } else {
                    rl.cancel_pending = true;
                }
            }
        }
        self.execute(fx);
        matched
    }

    pub(super) fn relay_timer(self: &Arc<Self>, arc: &Arc<Mutex<Relay>>, f: Fired) {
        let mut fx = Fx::default();
        if let Ok(mut rl) = arc.lock() {
            let rl = &mut *rl;
            if rl.server_id == f.tx {
                if rl.server_gens.fire(f.kind, f.generation) {
                    let acts = rl.server.on_timer(f.kind);
                    self.drive_relay_server(rl, acts, &mut fx);
                }
            } else if let Some(si) = rl.subs.iter().position(|s| s.id == f.tx)
                && rl.subs[si].gens.fire(f.kind, f.generation)
            {
                let sub = &mut rl.subs[si];
                let acts = match &mut sub.kind {
                    SubKind::Invite(m) => m.on_timer(f.kind),
                    SubKind::NonInvite(m) => m.on_timer(f.kind),
                };
                let id = sub.id;
                for ev in self.drive_sub(sub, acts, &mut fx) {
                    match ev {
                        Event::Timeout if si == 0 => self.relay_final(rl, 408, &mut fx),
                        Event::TransportError if si == 0 => self.relay_final(rl, 503, &mut fx),
                        Event::RingTimeout(true) if si == 0 => {
                            self.send_cancel(&Entry::Relay(arc.clone()), &mut rl.subs, 0, &mut fx)
                        }
                        Event::RingTimeout(false) if si == 0 => self.relay_final(rl, 408, &mut fx),
                        Event::Terminated => fx.removes.push(id),
                        _ => {}
                    }
                }
            }
        }
        self.execute(fx);
    }

    pub(super) fn relay_transport_error(self: &Arc<Self>, id: TxId, arc: &Arc<Mutex<Relay>>) {
        let mut fx = Fx::default();
        if let Ok(mut rl) = arc.lock() {
            let rl = &mut *rl;
            if rl.server_id == id {
                let acts = rl.server.on_transport_error();
                self.drive_relay_server(rl, acts, &mut fx);
            } else if let Some(si) = rl.subs.iter().position(|s| s.id == id) {
                let sub = &mut rl.subs[si];
                let acts = match &mut sub.kind {
                    SubKind::Invite(m) => m.on_transport_error(),
                    SubKind::NonInvite(m) => m.on_transport_error(),
                };
                for ev in self.drive_sub(sub, acts, &mut fx) {
                    match ev {
                        Event::TransportError if si == 0 => self.relay_final(rl, 503, &mut fx),
                        Event::Terminated => fx.removes.push(id),
                        _ => {}
                    }
                }
            }
        }
        self.execute(fx);
    }
}

#[cfg(test)]
mod tests {
    use super::ends_dialog;

    #[test]
    fn which_finals_end_a_dialog() {
        assert!(ends_dialog(true, 200));
        assert!(ends_dialog(true, 408));
        assert!(ends_dialog(true, 500));
        assert!(!ends_dialog(true, 407));
        assert!(!ends_dialog(true, 401));
        assert!(ends_dialog(false, 481));
        assert!(!ends_dialog(false, 200));
        assert!(!ends_dialog(false, 408));
        assert!(!ends_dialog(true, 180));
    }
}

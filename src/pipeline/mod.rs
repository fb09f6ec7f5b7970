//! The per-message decision, one function from bytes in to bytes out:
//!
//! ```text
//! parse ─► validate ─► ACK? absorb ─► source ACL (403) ─► Max-Forwards (483)
//!   ─► Proxy-Require (420) ─► R-URI scheme (416) ─► in-dialog? (481)
//!   ─► INVITE: route (404) ─► redirect (302)   OPTIONS: 200   others: 405/501/481
//! ```
//!
//! Every rejection is answered here, in one place, with the status code and
//! a reason phrase naming the problem; transports only move bytes.

mod redirect;

use std::borrow::Cow;
use std::hash::{BuildHasher, RandomState};
use std::net::SocketAddr;
use std::sync::Arc;

use tracing::debug;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::routing::Router;
use crate::sip::{
    HeaderName, Limits, Message, Method, ParseError, Request, Via, reason_phrase, validate_request,
    write_response,
};
use crate::transport::Transport;

/// The methods a redirect server handles itself (the `Allow` header).
pub const ALLOW: &[u8] = b"INVITE, ACK, CANCEL, OPTIONS";

/// Bytes to send back, and where (for UDP; TCP answers on the connection).
#[derive(Debug)]
pub struct Reply {
    pub to: SocketAddr,
    pub bytes: Vec<u8>,
}

/// The request handler shared by every transport task.
pub struct Pipeline {
    router: Router,
    limits: Limits,
    tag_key: RandomState,
    server_header: Vec<u8>,
    metrics: Arc<Metrics>,
}

impl Pipeline {
    pub fn new(config: &Config, router: Router, metrics: Arc<Metrics>) -> Pipeline {
        Pipeline {
            router,
            limits: limits_of(config),
            tag_key: RandomState::new(),
            server_header: format!(
                "{}/{}",
                config.server.server_name,
                env!("CARGO_PKG_VERSION")
            )
            .into_bytes(),
            metrics,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Handles one message (a datagram, or one framed message from a stream).
    ///
    /// A bug that panics while handling one message costs that message only:
    /// the panic is caught, logged and counted, and the transport keeps serving.
    pub fn handle(&self, data: &[u8], src: SocketAddr, transport: Transport) -> Option<Reply> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.handle_message(data, src, transport)
        }))
        .unwrap_or_else(|_| {
            self.metrics.parse_errors.with_label_values(&["internal"]).inc();
            tracing::error!(%src, %transport, len = data.len(), "internal error handling a message; dropped");
            None
        })
    }

    fn handle_message(&self, data: &[u8], src: SocketAddr, transport: Transport) -> Option<Reply> {
        let msg = match Message::parse(data, &self.limits) {
            Ok(m) => m,
            Err(e) => {
                let kind = match e {
                    ParseError::Empty => "empty",
                    ParseError::Garbage(_) => "garbage",
                    ParseError::BadResponse(_) => "bad_response",
                };
                self.metrics.parse_errors.with_label_values(&[kind]).inc();
                debug!(%src, %transport, error = %e, "dropped unparseable message");
                return None;
            }
        };
        if !msg.is_request() {
            // No client transactions exist in redirect mode: every response is stray.
            self.metrics
                .responses_dropped
                .with_label_values(&[transport.as_str()])
                .inc();
            debug!(%src, status = msg.status(), "dropped stray response");
            return None;
        }
        let ctx = Ctx {
            msg: &msg,
            src,
            transport,
            known: self.router.customer_for(src.ip()),
        };
        let req = match validate_request(&msg) {
            Ok(r) => r,
            Err(rej) => {
                let kind = match rej.code {
                    513 => "too_large",
                    505 => "version",
                    _ => "malformed",
                };
                self.metrics.parse_errors.with_label_values(&[kind]).inc();
                debug!(%src, code = rej.code, reason = %rej.reason, "rejected invalid request");
                if msg.method().is_some_and(|m| m.is(rsip::Method::Ack)) {
                    return None;
                }
                if msg.count(HeaderName::Via) == 0 {
                    // Nowhere to send a response: drop (RFC 4475 test message).
                    return None;
                }
                return self.reply(&ctx, None, rej.code, &rej.reason, &[]);
            }
        };
        self.metrics.request(req.method, transport);
        self.dispatch(&ctx, &req)
    }

    /// Answers a message that could not be framed on a stream (bad or
    /// oversized Content-Length) from its header block, if it is a request.
    pub fn reject_unframed(
        &self,
        header_block: &[u8],
        src: SocketAddr,
        transport: Transport,
        code: u16,
        reason: &str,
    ) -> Option<Reply> {
        self.metrics
            .parse_errors
            .with_label_values(&[if code == 513 { "too_large" } else { "framing" }])
            .inc();
        let msg = Message::parse(header_block, &self.limits).ok()?;
        if !msg.is_request()
            || msg.count(HeaderName::Via) == 0
            || msg.method().is_some_and(|m| m.is(rsip::Method::Ack))
        {
            return None;
        }
        let ctx = Ctx {
            msg: &msg,
            src,
            transport,
            known: self.router.customer_for(src.ip()),
        };
        self.reply(&ctx, None, code, reason, &[])
    }

    fn dispatch(&self, ctx: &Ctx<'_, '_>, req: &Request<'_>) -> Option<Reply> {
        use rsip::Method as M;
        if req.method.is(M::Ack) {
            // ACK for our 302 (or a stray one): absorbed, never answered.
            return None;
        }
        let Some(customer) = ctx.known else {
            let outcome = "forbidden";
            self.metrics.routing.with_label_values(&["", outcome]).inc();
            debug!(src = %ctx.src, "request from unknown source");
            return self.reply(ctx, Some(req), 403, "Forbidden", &[]);
        };
        if req.max_forwards == Some(0) {
            return self.reply(ctx, Some(req), 483, "Too Many Hops", &[]);
        }
        if !req.method.is(M::Cancel) {
            let unsupported = self.unsupported_extensions(ctx.msg);
            if !unsupported.is_empty() {
                return self.reply(
                    ctx,
                    Some(req),
                    420,
                    "Bad Extension",
                    &[("Unsupported", unsupported.as_bytes())],
                );
            }
        }
        if !req.ruri.is_routable() {
            return self.reply(ctx, Some(req), 416, "Unsupported URI Scheme", &[]);
        }
        if req.to.tag().is_some() {
            // sipforge holds no dialogs in redirect mode.
            return self.reply(ctx, Some(req), 481, reason_phrase(481), &[]);
        }
        match req.method {
            Method::Known(M::Invite) => self.route_invite(ctx, req, customer),
            Method::Known(M::Options) => self.reply(
                ctx,
                Some(req),
                200,
                "OK",
                &[("Allow", ALLOW), ("Accept", b"application/sdp")],
            ),
            Method::Known(M::Cancel | M::Bye) => {
                self.reply(ctx, Some(req), 481, reason_phrase(481), &[])
            }
            Method::Known(_) => self.reply(
                ctx,
                Some(req),
                405,
                "Method Not Allowed",
                &[("Allow", ALLOW)],
            ),
            Method::Extension(_) => {
                self.reply(ctx, Some(req), 501, "Not Implemented", &[("Allow", ALLOW)])
            }
        }
    }

    /// Proxy-Require option tags (sipforge supports none), comma-joined.
    fn unsupported_extensions(&self, msg: &Message<'_>) -> String {
        let mut out = String::new();
        for tag in msg.list(HeaderName::ProxyRequire) {
            if tag.is_empty() {
                continue;
            }
            if !out.is_empty() {
                out.push_str(", ");
            }
            out.push_str(&String::from_utf8_lossy(tag));
        }
        out
    }

    fn route_invite(&self, ctx: &Ctx<'_, '_>, req: &Request<'_>, customer: usize) -> Option<Reply> {
        let customer_id = self.router.customer_id(customer);
        let user = req
            .ruri
            .user
            .map(String::from_utf8_lossy)
            .unwrap_or(Cow::Borrowed(""));
        let dest = crate::routing::dest_number(&user);
        let cli = req
            .from
            .uri
            .user
            .map(String::from_utf8_lossy)
            .unwrap_or(Cow::Borrowed(""));
        let route = self
            .router
            .route(customer, &dest, &cli)
            .filter(|r| !r.egress.is_empty());
        let Some(route) = route else {
            self.metrics
                .routing
                .with_label_values(&[customer_id, "no_route"])
                .inc();
            debug!(call_id = %String::from_utf8_lossy(req.call_id), customer = customer_id, dest = %dest, "no route");
            return self.reply(ctx, Some(req), 404, "Not Found", &[]);
        };
        self.metrics
            .routing
            .with_label_values(&[customer_id, "redirected"])
            .inc();
        debug!(
            call_id = %String::from_utf8_lossy(req.call_id),
            customer = customer_id,
            dest = %dest,
            routes = route.egress.len(),
            "redirect"
        );
        let contacts = redirect::contacts(&route.egress, &[]);
        let extra: Vec<(&str, &[u8])> =
            contacts.iter().map(|c| ("Contact", c.as_slice())).collect();
        self.reply(ctx, Some(req), 302, "Moved Temporarily", &extra)
    }

    /// Builds a response and picks its destination.
    fn reply(
        &self,
        ctx: &Ctx<'_, '_>,
        req: Option<&Request<'_>>,
        code: u16,
        reason: &str,
        extra: &[(&str, &[u8])],
    ) -> Option<Reply> {
        let (top_via, from_tag, to_tagged) = match req {
            Some(r) => (Some(r.via), r.from.tag(), r.to.tag().is_some()),
            None => (
                ctx.msg.top_via().and_then(Result::ok),
                ctx.msg.from().and_then(Result::ok).and_then(|f| f.tag()),
                ctx.msg
                    .value(HeaderName::To)
                    .is_some_and(crate::sip::response::to_has_tag),
            ),
        };
        let tag = self.to_tag(ctx.msg, from_tag, top_via.as_ref().and_then(|v| v.branch));
        let mut headers: Vec<(&str, &[u8])> = Vec::with_capacity(extra.len() + 1);
        headers.extend_from_slice(extra);
        headers.push(("Server", &self.server_header));
        let extra_len: usize = headers.iter().map(|(n, v)| n.len() + v.len() + 4).sum();
        let mut bytes = Vec::with_capacity(ctx.msg.headers_end() + extra_len + 96);
        write_response(
            &mut bytes,
            ctx.msg,
            ctx.src,
            code,
            reason,
            (!to_tagged).then_some(&tag[..]),
            &headers,
        );
        self.metrics.response(code, ctx.transport);
        Some(Reply {
            to: response_target(top_via.as_ref(), ctx.src, ctx.known.is_some()),
            bytes,
        })
    }

    /// A To-tag that is the same for every retransmission of a request, so
    /// stateless answers stay consistent (RFC 3261 §16.11 / §17.2.1).
    fn to_tag(
        &self,
        msg: &Message<'_>,
        from_tag: Option<&[u8]>,
        branch: Option<&[u8]>,
    ) -> [u8; 18] {
        let h = self.tag_key.hash_one((
            msg.call_id().unwrap_or_default(),
            from_tag.unwrap_or_default(),
            branch.unwrap_or_default(),
            msg.value(HeaderName::CSeq).unwrap_or_default(),
        ));
        let mut tag = *b"sf0000000000000000";
        for (i, d) in tag[2..].iter_mut().enumerate() {
            *d = b"0123456789abcdef"[((h >> (60 - 4 * i)) & 15) as usize];
        }
        tag
    }
}

struct Ctx<'m, 'a> {
    msg: &'m Message<'a>,
    src: SocketAddr,
    transport: Transport,
    known: Option<usize>,
}

/// Where a response goes (RFC 3261 §18.2.2, RFC 3581 §4): always the source
/// IP (that is what `received` would say); the port is the source port when
/// `rport` was asked for, else the Via sent-by port (default 5060). Senders
/// that are not a configured customer are answered at their exact source
/// address, so a forged Via cannot point sipforge's answers elsewhere.
pub fn response_target(via: Option<&Via<'_>>, src: SocketAddr, trusted: bool) -> SocketAddr {
    match via {
        Some(v) if trusted && v.rport.is_none() => {
            SocketAddr::new(src.ip(), v.port.unwrap_or(5060))
        }
        _ => src,
    }
}

/// The wire limits configured in `[sip]`.
pub fn limits_of(config: &Config) -> Limits {
    Limits {
        max_message_bytes: config.sip.max_message_bytes,
        max_headers: config.sip.max_headers,
        max_line_bytes: config.sip.max_line_bytes,
    }
}

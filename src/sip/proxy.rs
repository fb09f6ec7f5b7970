//! Building the messages a stateful proxy sends (RFC 3261 §16): forwarded
//! requests, relayed responses, CANCEL and ACK.
//!
//! Pure functions over a parsed [`Message`] that return the bytes to send; no
//! I/O, no state. Untouched bytes are copied as they are (folded lines and
//! compact names included); only edited ranges are written anew, and the body
//! is never touched, so Content-Length stays right (it is added when missing,
//! for stream transports, §18.3).
//!
//! | function | RFC |
//! | --- | --- |
//! | [`forward_request`] | RFC 3261 §16.6 steps 1–5 and 8 (copy, Request-URI, Max-Forwards, Record-Route with `lr`, extra headers, Via with branch); RFC 5658 double Record-Route when bridging transports or addresses; §16.4 (Route values naming us removed); §18.2.1 and RFC 3581 §4 (`received`/`rport` stamped on the upstream Via) |
//! | [`loose_route`], [`forward_routed`] | §16.4 and §16.12 (loose routing of in-dialog requests; strict routers detected and refused), §16.6 steps 3 and 8 |
//! | [`relay_response`], [`response_target`] | §16.7 step 9 (our Via removed), §18.2.2 and RFC 3581 §4 (where the response goes) |
//! | [`cancel_for`] | §9.1 (CANCEL of a client INVITE transaction) |
//! | [`ack_for_non_2xx`] | §17.1.1.3 (hop-by-hop ACK of a non-2xx final response) |
//! | [`BranchGen`] | §8.1.1.7, §16.6 step 8 (unique branch with the magic cookie), §17.1.3 (matching responses by branch) |
//!
//! Addresses of ours are [`Local`]s: the address *advertised* in Via and
//! Record-Route (a listener bound to `0.0.0.0` must be given its real address
//! by the caller). Routes are recognised as ours by IP literal and port only;
//! host names are not resolved.

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};

use super::addr::NameAddr;
use super::header::HeaderName;
use super::message::{Message, Span};
use super::response::push_unfolded;
use super::scan::{CommaSplit, is_token_str, is_unreserved, parse_params, parse_u32};
use super::uri::{Scheme, Uri, split_hostport};
use super::via::{MAGIC_COOKIE, Via};
use crate::routing::EgressEntry;
use crate::transport::Transport;

/// Why a proxy message could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    #[error("the message is not a request")]
    NotARequest,
    #[error("the message is not a response")]
    NotAResponse,
    #[error("missing or invalid {0} header")]
    Header(&'static str),
    #[error("Max-Forwards is 0")]
    TooManyHops,
    #[error("header {0:?} is managed by the proxy and cannot be removed or added")]
    Protected(String),
    #[error("invalid header name {0:?}")]
    BadHeaderName(String),
    #[error("header value for {0} contains CR, LF or NUL")]
    BadHeaderValue(String),
    #[error("invalid {0} for the outgoing request")]
    BadTarget(&'static str),
    #[error("the top Via of the response is not ours")]
    NotOurVia,
    #[error("no Via left below ours: the response is for a request this proxy originated")]
    NoNextVia,
    #[error("unsupported transport {0}")]
    UnsupportedTransport(String),
    #[error("the request comes from a strict router (Request-URI names this proxy)")]
    StrictRouting,
    #[error("the request is addressed to this proxy")]
    AddressedToUs,
    #[error("the next hop is not a sip: URI")]
    NotRoutable,
}

/// One of our addresses and the transport it speaks, as advertised in Via
/// and Record-Route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Local {
    pub addr: SocketAddr,
    pub transport: Transport,
}

impl Local {
    /// True if `uri` (`sip:`/`sips:`) names this address: same IP literal and
    /// port (5060, 5061 for `sips:`, by default). The user part is not looked at.
    fn names(&self, uri: &Uri<'_>) -> bool {
        let default_port = match uri.scheme {
            Scheme::Sip => 5060,
            Scheme::Sips => 5061,
            Scheme::Tel | Scheme::Other => return false,
        };
        uri.port.unwrap_or(default_port) == self.addr.port()
            && parse_ip(uri.host) == Some(self.addr.ip())
    }
}

/// The egress attempt a request is forwarded to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Egress<'x> {
    /// User part of the new Request-URI.
    pub dest_number: &'x str,
    /// `host:port` (IPv6 in brackets).
    pub gateway: &'x str,
    pub transport: Transport,
    /// The new From user.
    pub cli: &'x str,
}

impl<'x> From<&'x EgressEntry> for Egress<'x> {
    fn from(e: &'x EgressEntry) -> Self {
        Egress {
            dest_number: &e.dest_number,
            gateway: &e.gateway,
            transport: e.transport,
            cli: &e.cli,
        }
    }
}

/// Where a request came from and the addresses it passes through here.
#[derive(Debug, Clone, Copy)]
pub struct Hops<'x> {
    /// The request's source (stamped into the upstream Via, §18.2.1).
    pub src: SocketAddr,
    /// Our address the request arrived on.
    pub inbound: Local,
    /// Our address the request leaves from (our Via, the top Record-Route).
    pub outbound: Local,
    /// Every address of ours: Route values naming one of them are removed.
    pub locals: &'x [Local],
}

/// Headers the proxy itself manages; a script may neither remove nor add them.
pub fn is_protected_header(name: &str) -> bool {
    use HeaderName::*;
    // `classify` indexes the first byte: never hand it an empty name.
    !name.is_empty()
        && matches!(
            HeaderName::classify(name.as_bytes()),
            Via | From | To | CallId | CSeq | MaxForwards | ContentLength | Route | RecordRoute
        )
}

/// The request sent to one egress attempt (RFC 3261 §16.6).
///
/// * Request-URI `sip:<dest_number>@<gateway>` (`;transport=tcp` for TCP);
/// * From user replaced by `cli` (display name, tag and parameters kept);
/// * Max-Forwards decremented, or added as 70 ([`ProxyError::TooManyHops`]
///   at 0: the caller answers 483 before calling);
/// * leading Route values naming one of `hops.locals` removed (§16.4);
/// * Record-Route `<sip:outbound;lr>` on top of any others, and a second one
///   for `inbound` when it differs (RFC 5658);
/// * `remove` header names (case-insensitive, compact forms too) removed, then
///   `add` headers appended (a protected header in either is an error);
/// * the upstream Via stamped with `received`/`rport`, our Via
///   `SIP/2.0/<T> <outbound>;branch=<branch>;rport` pushed on top.
pub fn forward_request<'h>(
    msg: &Message<'_>,
    egress: &Egress<'_>,
    hops: &Hops<'_>,
    branch: &str,
    remove: impl IntoIterator<Item = &'h str>,
    add: impl IntoIterator<Item = (&'h str, &'h str)>,
) -> Result<Vec<u8>, ProxyError> {
    let uri_span = msg.request_uri_span().ok_or(ProxyError::NotARequest)?;
    if split_hostport(egress.gateway.as_bytes()).is_none() {
        return Err(ProxyError::BadTarget("gateway"));
    }
    if egress.dest_number.is_empty() {
        return Err(ProxyError::BadTarget("dest_number"));
    }
    if egress.cli.is_empty() {
        return Err(ProxyError::BadTarget("cli"));
    }
    let mut sp = Splice::new(msg);
    sp.replace(uri_span, |o| {
        o.extend_from_slice(b"sip:");
        escape_user(o, egress.dest_number.as_bytes());
        o.push(b'@');
        o.extend_from_slice(egress.gateway.as_bytes());
        if egress.transport == Transport::Tcp {
            o.extend_from_slice(b";transport=tcp");
        }
    });
    set_from_user(msg, &mut sp, egress.cli)?;
    decrement_max_forwards(msg, &mut sp)?;
    let ours = leading_routes_of_ours(msg, hops.locals)?.0;
    remove_leading_routes(msg, &mut sp, ours)?;

    let rr_at = msg
        .fields(HeaderName::RecordRoute)
        .next()
        .map_or(msg.headers_end() as u32, |h| h.line.start);
    sp.insert_header(rr_at, "Record-Route", |o| write_rr(o, hops.outbound));
    if hops.inbound != hops.outbound {
        sp.insert_header(rr_at, "Record-Route", |o| write_rr(o, hops.inbound));
    }

    for name in remove {
        if !is_token_str(name.as_bytes()) {
            return Err(ProxyError::BadHeaderName(name.to_string()));
        }
        if is_protected_header(name) {
            return Err(ProxyError::Protected(name.to_string()));
        }
        for h in msg.fields_by_name(name) {
            sp.remove(h.line);
        }
    }
    for (name, value) in add {
        if !is_token_str(name.as_bytes()) {
            return Err(ProxyError::BadHeaderName(name.to_string()));
        }
        if is_protected_header(name) {
            return Err(ProxyError::Protected(name.to_string()));
        }
        if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(ProxyError::BadHeaderValue(name.to_string()));
        }
        sp.insert_header(msg.headers_end() as u32, name, |o| {
            o.extend_from_slice(value.as_bytes());
        });
    }

    stamp_upstream_via(msg, &mut sp, hops.src)?;
    push_via(msg, &mut sp, hops.outbound, branch)?;
    Ok(sp.finish())
}

/// Where an in-dialog request goes after loose routing (§16.4, §16.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Routed<'a> {
    /// How many leading Route values name us (0, 1, or 2 when double
    /// record-routed); [`forward_routed`] removes them.
    pub ours: usize,
    /// The next hop: the first remaining Route value, else the Request-URI.
    pub next: Uri<'a>,
    /// Whether `next` is a Route value (true) or the Request-URI.
    pub next_is_route: bool,
    /// Transport toward `next` (its `;transport=`, UDP by default).
    pub transport: Transport,
    /// Our address the last removed Route value names: with double
    /// record-routing, the interface facing the next hop.
    pub local: Option<Local>,
}

impl Routed<'_> {
    /// `next` as a socket address when its host is an IP literal (host names
    /// need RFC 3263 resolution by the caller).
    pub fn next_addr(&self) -> Option<SocketAddr> {
        Some(SocketAddr::new(
            parse_ip(self.next.host)?,
            self.next.port.unwrap_or(5060),
        ))
    }

    /// The local address to send from: [`Routed::local`] when it speaks the
    /// next hop's transport, else the first of `locals` that does (same IP
    /// family as the next hop when known).
    pub fn outbound_local(&self, locals: &[Local]) -> Option<Local> {
        if let Some(l) = self.local.filter(|l| l.transport == self.transport) {
            return Some(l);
        }
        let family = self.next_addr().map(|a| a.is_ipv4());
        locals
            .iter()
            .find(|l| {
                l.transport == self.transport && family.is_none_or(|v4| l.addr.is_ipv4() == v4)
            })
            .or_else(|| locals.iter().find(|l| l.transport == self.transport))
            .copied()
    }
}

/// Loose routing of a request that carries Route headers (§16.4): counts the
/// leading Route values that name us and finds the next hop.
///
/// Strict routing (RFC 2543: the Request-URI holds our Record-Route URI and
/// the remote target is the last Route) is only detected and refused with
/// [`ProxyError::StrictRouting`]; a request whose next hop is us (Request-URI
/// naming us without a user part) gives [`ProxyError::AddressedToUs`].
pub fn loose_route<'a>(msg: &Message<'a>, locals: &[Local]) -> Result<Routed<'a>, ProxyError> {
    let ruri = msg.request_uri().ok_or(ProxyError::NotARequest)?;
    let ruri = Uri::parse(ruri).map_err(|_| ProxyError::BadTarget("Request-URI"))?;
    let (ours, local, next_route) = leading_routes_of_ours(msg, locals)?;
    let ruri_is_us = ruri.user.is_none() && locals.iter().any(|l| l.names(&ruri));
    if ruri_is_us {
        return Err(if ours == 0 && next_route.is_some() {
            ProxyError::StrictRouting
        } else {
            ProxyError::AddressedToUs
        });
    }
    let next = next_route.unwrap_or(ruri);
    let transport = uri_transport(&next)?;
    Ok(Routed {
        ours,
        next,
        next_is_route: next_route.is_some(),
        transport,
        local,
    })
}

/// The in-dialog request after [`loose_route`]: our Route values removed,
/// Max-Forwards decremented (or added as 70), the upstream Via stamped, our
/// Via pushed (no Record-Route: the route set is fixed by the dialog).
pub fn forward_routed(
    msg: &Message<'_>,
    routed: &Routed<'_>,
    src: SocketAddr,
    outbound: Local,
    branch: &str,
) -> Result<Vec<u8>, ProxyError> {
    if !msg.is_request() {
        return Err(ProxyError::NotARequest);
    }
    let mut sp = Splice::new(msg);
    decrement_max_forwards(msg, &mut sp)?;
    remove_leading_routes(msg, &mut sp, routed.ours)?;
    stamp_upstream_via(msg, &mut sp, src)?;
    push_via(msg, &mut sp, outbound, branch)?;
    Ok(sp.finish())
}

/// Where a response goes (§18.2.2, RFC 3581 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseTarget {
    pub transport: Transport,
    pub addr: SocketAddr,
}

/// The target a Via names: `received` (else the sent-by host, if an IP
/// literal) and `rport` (else the sent-by port, else 5060), over the Via's
/// transport. `None` for a host name without `received` (needs RFC 3263
/// resolution) or a transport other than UDP/TCP. `maddr` is ignored.
pub fn response_target(via: &Via<'_>) -> Option<ResponseTarget> {
    let transport = std::str::from_utf8(via.transport)
        .ok()
        .and_then(Transport::parse)?;
    let ip = parse_ip(via.received.unwrap_or(via.host))?;
    let port = match via.rport {
        Some(Some(p)) => p,
        _ => via.port.unwrap_or(5060),
    };
    Some(ResponseTarget {
        transport,
        addr: SocketAddr::new(ip, port),
    })
}

/// A response ready to go upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relay<'a> {
    pub bytes: Vec<u8>,
    /// The branch of our removed Via (the client transaction key).
    pub branch: &'a [u8],
    /// Where it goes, from the next Via; `None` when the Via cannot say (see
    /// [`response_target`]) and the server transaction's source must be used.
    pub target: Option<ResponseTarget>,
}

/// A response from downstream with our top Via removed (§16.7 step 9) and
/// where to send it. Refused when the top Via's branch is not one of `gen`'s
/// ([`ProxyError::NotOurVia`], §18.1.2: discard) or no Via is left
/// ([`ProxyError::NoNextVia`]: the response to our own CANCEL, absorbed by
/// the client transaction).
pub fn relay_response<'a>(
    msg: &Message<'a>,
    branch_gen: &BranchGen,
) -> Result<Relay<'a>, ProxyError> {
    if msg.status().is_none() {
        return Err(ProxyError::NotAResponse);
    }
    let mut values = msg.list(HeaderName::Via);
    let top = values.next().ok_or(ProxyError::Header("Via"))?;
    let top = Via::parse(top).map_err(|_| ProxyError::Header("Via"))?;
    let branch = top.branch.filter(|b| branch_gen.is_ours(b));
    let branch = branch.ok_or(ProxyError::NotOurVia)?;
    let next = values.next().ok_or(ProxyError::NoNextVia)?;
    let next = Via::parse(next).map_err(|_| ProxyError::Header("Via"))?;
    let mut sp = Splice::new(msg);
    remove_leading_values(msg, &mut sp, HeaderName::Via, 1)?;
    Ok(Relay {
        bytes: sp.finish(),
        branch,
        target: response_target(&next),
    })
}

/// The CANCEL for a client INVITE transaction (§9.1), built from the INVITE
/// as it was sent: same Request-URI, the single top Via, Route values,
/// From, To, Call-ID and CSeq number; Max-Forwards 70; no body.
pub fn cancel_for(invite: &Message<'_>) -> Result<Vec<u8>, ProxyError> {
    let uri = invite.request_uri().ok_or(ProxyError::NotARequest)?;
    let mut out = Vec::with_capacity(invite.headers_end());
    out.extend_from_slice(b"CANCEL ");
    out.extend_from_slice(uri);
    out.extend_from_slice(b" SIP/2.0\r\n");
    hop_headers(&mut out, invite)?;
    let to = invite
        .value(HeaderName::To)
        .ok_or(ProxyError::Header("To"))?;
    end_headers(&mut out, invite, to, b"CANCEL")?;
    Ok(out)
}

/// The ACK a client INVITE transaction sends for a non-2xx final response
/// (§17.1.1.3): Request-URI, top Via, Route, From, Call-ID and CSeq number of
/// the INVITE as sent, To of the response (with its tag), Max-Forwards 70.
pub fn ack_for_non_2xx(
    invite: &Message<'_>,
    response: &Message<'_>,
) -> Result<Vec<u8>, ProxyError> {
    let uri = invite.request_uri().ok_or(ProxyError::NotARequest)?;
    if response.status().is_none() {
        return Err(ProxyError::NotAResponse);
    }
    let to = response
        .value(HeaderName::To)
        .ok_or(ProxyError::Header("To"))?;
    let mut out = Vec::with_capacity(invite.headers_end());
    out.extend_from_slice(b"ACK ");
    out.extend_from_slice(uri);
    out.extend_from_slice(b" SIP/2.0\r\n");
    hop_headers(&mut out, invite)?;
    end_headers(&mut out, invite, to, b"ACK")?;
    Ok(out)
}

/// Via (top value only), Route values and Max-Forwards: 70 for CANCEL/ACK.
fn hop_headers(out: &mut Vec<u8>, invite: &Message<'_>) -> Result<(), ProxyError> {
    let via = invite
        .list(HeaderName::Via)
        .next()
        .ok_or(ProxyError::Header("Via"))?;
    push_line(out, "Via", via);
    for route in invite.list(HeaderName::Route) {
        push_line(out, "Route", route);
    }
    out.extend_from_slice(b"Max-Forwards: 70\r\n");
    Ok(())
}

/// From, the given To, Call-ID, `CSeq: <n> <method>`, Content-Length: 0.
fn end_headers(
    out: &mut Vec<u8>,
    invite: &Message<'_>,
    to: &[u8],
    method: &[u8],
) -> Result<(), ProxyError> {
    let from = invite
        .value(HeaderName::From)
        .ok_or(ProxyError::Header("From"))?;
    let call_id = invite.call_id().ok_or(ProxyError::Header("Call-ID"))?;
    let cseq = invite
        .cseq()
        .and_then(Result::ok)
        .ok_or(ProxyError::Header("CSeq"))?;
    push_line(out, "From", from);
    push_line(out, "To", to);
    push_line(out, "Call-ID", call_id);
    out.extend_from_slice(b"CSeq: ");
    out.extend_from_slice(itoa::Buffer::new().format(cseq.seq).as_bytes());
    out.push(b' ');
    out.extend_from_slice(method);
    out.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
    Ok(())
}

fn push_line(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    push_unfolded(out, value);
    out.extend_from_slice(b"\r\n");
}

/// A branch parameter: `z9hG4bK`, 8 hex digits naming this process, 16 hex
/// digits unique within it. Fixed size, no allocation.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Branch([u8; BRANCH_LEN]);

const TAG_LEN: usize = 8;
const BRANCH_LEN: usize = MAGIC_COOKIE.len() + TAG_LEN + 16;
const HEX: &[u8; 16] = b"0123456789abcdef";
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

impl Branch {
    pub fn as_str(&self) -> &str {
        // Always ASCII: the cookie and hex digits.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Branch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for Branch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Makes unique branches: a per-process random tag, and a counter passed
/// through a bijective mix (so branches are distinct for 2^64 calls and do
/// not reveal the call count). One atomic add per branch, no lock.
#[derive(Debug)]
pub struct BranchGen {
    tag: [u8; TAG_LEN],
    key: u64,
    counter: AtomicU64,
}

impl Default for BranchGen {
    fn default() -> Self {
        Self::new()
    }
}

impl BranchGen {
    /// A generator with a random seed.
    pub fn new() -> BranchGen {
        Self::with_seed(fastrand::u64(..))
    }

    /// A generator with a fixed seed (tests; two generators with the same seed
    /// make the same branches).
    pub fn with_seed(seed: u64) -> BranchGen {
        let t = mix(seed);
        let mut tag = [0u8; TAG_LEN];
        for (i, d) in tag.iter_mut().enumerate() {
            *d = HEX[((t >> (60 - 4 * i)) & 15) as usize];
        }
        BranchGen {
            tag,
            key: mix(seed ^ 0x5bd1_e995_9e37_79b9),
            counter: AtomicU64::new(0),
        }
    }

    /// The next branch.
    pub fn next_branch(&self) -> Branch {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let v = mix(n.wrapping_add(self.key));
        let mut b = [0u8; BRANCH_LEN];
        b[..MAGIC_COOKIE.len()].copy_from_slice(MAGIC_COOKIE);
        b[MAGIC_COOKIE.len()..MAGIC_COOKIE.len() + TAG_LEN].copy_from_slice(&self.tag);
        for (i, d) in b[MAGIC_COOKIE.len() + TAG_LEN..].iter_mut().enumerate() {
            *d = HEX[((v >> (60 - 4 * i)) & 15) as usize];
        }
        Branch(b)
    }

    /// Whether a Via branch was made by this generator (so a response whose
    /// top Via carries it is for one of our client transactions).
    pub fn is_ours(&self, branch: &[u8]) -> bool {
        branch.len() == BRANCH_LEN
            && branch.starts_with(MAGIC_COOKIE)
            && branch[MAGIC_COOKIE.len()..MAGIC_COOKIE.len() + TAG_LEN] == self.tag
            && branch[MAGIC_COOKIE.len() + TAG_LEN..]
                .iter()
                .all(|b| HEX.contains(b))
    }
}

/// splitmix64's finalizer: a bijection on u64.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

// ---- shared pieces ----

/// An IP literal (IPv6 with or without brackets).
fn parse_ip(host: &[u8]) -> Option<IpAddr> {
    let h = host
        .strip_prefix(b"[")
        .and_then(|h| h.strip_suffix(b"]"))
        .unwrap_or(host);
    std::str::from_utf8(h).ok()?.parse().ok()
}

/// The span of `sub` inside the message buffer.
fn span_in(msg: &Message<'_>, sub: &[u8]) -> Option<Span> {
    let base = msg.buf().as_ptr() as usize;
    let start = (sub.as_ptr() as usize).checked_sub(base)?;
    let end = start + sub.len();
    (end <= msg.buf().len()).then_some(Span {
        start: start as u32,
        end: end as u32,
    })
}

/// The transport a URI asks for: `;transport=`, UDP by default; `sips:` and
/// transports other than UDP/TCP are refused.
fn uri_transport(uri: &Uri<'_>) -> Result<Transport, ProxyError> {
    match uri.scheme {
        Scheme::Sip => {}
        Scheme::Sips => return Err(ProxyError::UnsupportedTransport("sips".into())),
        Scheme::Tel | Scheme::Other => return Err(ProxyError::NotRoutable),
    }
    match uri.param(b"transport") {
        None | Some(None) => Ok(Transport::Udp),
        Some(Some(t)) => std::str::from_utf8(t)
            .ok()
            .and_then(Transport::parse)
            .ok_or_else(|| ProxyError::UnsupportedTransport(String::from_utf8_lossy(t).into())),
    }
}

/// Leading Route values naming one of `locals`: how many, the local the last
/// one names, and the first Route value after them (parsed).
fn leading_routes_of_ours<'a>(
    msg: &Message<'a>,
    locals: &[Local],
) -> Result<(usize, Option<Local>, Option<Uri<'a>>), ProxyError> {
    let mut ours = 0;
    let mut local = None;
    for value in msg.list(HeaderName::Route) {
        let a = NameAddr::parse(value).map_err(|_| ProxyError::Header("Route"))?;
        let want = uri_transport(&a.uri).ok();
        let mut named = locals.iter().filter(|l| l.names(&a.uri));
        let Some(first) = named.next() else {
            return Ok((ours, local, Some(a.uri)));
        };
        let exact = std::iter::once(first)
            .chain(named)
            .find(|l| Some(l.transport) == want);
        ours += 1;
        local = Some(*exact.unwrap_or(first));
    }
    Ok((ours, local, None))
}

fn remove_leading_routes(
    msg: &Message<'_>,
    sp: &mut Splice<'_, '_>,
    n: usize,
) -> Result<(), ProxyError> {
    remove_leading_values(msg, sp, HeaderName::Route, n)
}

/// Removes the first `n` comma-separated values of the header `name`: whole
/// lines when all their values go, else the values and their commas.
fn remove_leading_values(
    msg: &Message<'_>,
    sp: &mut Splice<'_, '_>,
    name: HeaderName,
    mut n: usize,
) -> Result<(), ProxyError> {
    for h in msg.fields(name) {
        if n == 0 {
            break;
        }
        let mut values = CommaSplit::new(msg.slice(h.value));
        let mut taken = 0;
        for _ in values.by_ref().take(n) {
            taken += 1;
        }
        match values.next() {
            None => sp.remove(h.line),
            Some(rest) => {
                let rest = span_in(msg, rest).ok_or(ProxyError::Header(name.as_str()))?;
                sp.remove(Span {
                    start: h.value.start,
                    end: rest.start,
                });
            }
        }
        n -= taken;
    }
    Ok(())
}

/// Replaces the user part of the From URI by `cli` (inserting `cli@` when the
/// URI has none); everything else in the From value is kept.
fn set_from_user(msg: &Message<'_>, sp: &mut Splice<'_, '_>, cli: &str) -> Result<(), ProxyError> {
    let from = msg
        .from()
        .and_then(Result::ok)
        .ok_or(ProxyError::Header("From"))?;
    match (from.uri.scheme, from.uri.user) {
        (Scheme::Sip | Scheme::Sips | Scheme::Tel, Some(user)) => {
            let span = span_in(msg, user).ok_or(ProxyError::Header("From"))?;
            sp.replace(span, |o| escape_user(o, cli.as_bytes()));
        }
        (Scheme::Sip | Scheme::Sips, None) => {
            let raw = span_in(msg, from.uri.raw).ok_or(ProxyError::Header("From"))?;
            let at = raw.start + from.uri.scheme_raw.len() as u32 + 1;
            sp.insert(at, |o| {
                escape_user(o, cli.as_bytes());
                o.push(b'@');
            });
        }
        _ => return Err(ProxyError::Header("From")),
    }
    Ok(())
}

fn decrement_max_forwards(msg: &Message<'_>, sp: &mut Splice<'_, '_>) -> Result<(), ProxyError> {
    let mut fields = msg.fields(HeaderName::MaxForwards);
    match fields.next() {
        Some(h) => {
            if fields.next().is_some() {
                return Err(ProxyError::Header("Max-Forwards"));
            }
            let n = parse_u32(msg.slice(h.value)).ok_or(ProxyError::Header("Max-Forwards"))?;
            let n = n.checked_sub(1).ok_or(ProxyError::TooManyHops)?;
            sp.replace(h.value, |o| {
                o.extend_from_slice(itoa::Buffer::new().format(n).as_bytes())
            });
        }
        None => sp.insert_header(msg.headers_end() as u32, "Max-Forwards", |o| {
            o.extend_from_slice(b"70")
        }),
    }
    Ok(())
}

/// `<sip:host:port;transport=tcp;lr>` (no transport parameter for UDP).
fn write_rr(out: &mut Vec<u8>, local: Local) {
    out.extend_from_slice(b"<sip:");
    let _ = write!(out, "{}", local.addr);
    if local.transport == Transport::Tcp {
        out.extend_from_slice(b";transport=tcp");
    }
    out.extend_from_slice(b";lr>");
}

/// Pushes `SIP/2.0/<T> <addr>;branch=<branch>;rport` above the first Via.
fn push_via(
    msg: &Message<'_>,
    sp: &mut Splice<'_, '_>,
    local: Local,
    branch: &str,
) -> Result<(), ProxyError> {
    if !branch.as_bytes().starts_with(MAGIC_COOKIE) || !is_token_str(branch.as_bytes()) {
        return Err(ProxyError::BadTarget("branch"));
    }
    let at = msg
        .fields(HeaderName::Via)
        .next()
        .ok_or(ProxyError::Header("Via"))?
        .line
        .start;
    sp.insert_header(at, "Via", |o| {
        o.extend_from_slice(b"SIP/2.0/");
        o.extend_from_slice(local.transport.via_name().as_bytes());
        let _ = write!(o, " {};branch={branch};rport", local.addr);
    });
    Ok(())
}

/// Stamps the request's top Via (§18.2.1, RFC 3581 §4): `received=<src ip>`
/// when the sent-by host is not the source address or `rport` was asked
/// for, an empty `rport` filled with the source port, a stale `received`
/// dropped. Left byte for byte when there is nothing to do. Same rules as
/// the answers sipforge writes itself ([`super::write_response`]).
fn stamp_upstream_via(
    msg: &Message<'_>,
    sp: &mut Splice<'_, '_>,
    src: SocketAddr,
) -> Result<(), ProxyError> {
    let value = msg
        .list(HeaderName::Via)
        .next()
        .ok_or(ProxyError::Header("Via"))?;
    let via = Via::parse(value).map_err(|_| ProxyError::Header("Via"))?;
    let host_is_src = parse_ip(via.host) == Some(src.ip());
    if host_is_src && via.rport.is_none() && via.received.is_none() {
        return Ok(());
    }
    let span = span_in(msg, value).ok_or(ProxyError::Header("Via"))?;
    let head = &value[..value.len().saturating_sub(via.params.len())];
    let head = super::scan::trim(head);
    let mut bad = false;
    sp.replace(span, |o| {
        push_unfolded(o, head);
        bad = parse_params(via.params, |p| {
            if p.name.eq_ignore_ascii_case(b"received") {
                return;
            }
            o.push(b';');
            o.extend_from_slice(p.name);
            if p.name.eq_ignore_ascii_case(b"rport") && p.value.is_none() {
                o.push(b'=');
                o.extend_from_slice(itoa::Buffer::new().format(src.port()).as_bytes());
            } else if let Some(v) = p.value {
                o.push(b'=');
                o.extend_from_slice(v);
            }
        })
        .is_err();
        if !host_is_src || via.rport.is_some() {
            let _ = write!(o, ";received={}", src.ip());
        }
    });
    if bad {
        return Err(ProxyError::Header("Via"));
    }
    Ok(())
}

/// Escapes a URI user part (RFC 3261 §25.1 `user`), as redirect Contacts do.
fn escape_user(out: &mut Vec<u8>, s: &[u8]) {
    for &b in s {
        if is_unreserved(b) || matches!(b, b'&' | b'=' | b'+' | b'$' | b',' | b';' | b'/') {
            out.push(b);
        } else {
            out.extend_from_slice(&[
                b'%',
                HEX_UPPER[usize::from(b >> 4)],
                HEX_UPPER[usize::from(b & 15)],
            ]);
        }
    }
}

/// Recorded byte-range edits over a message, applied on output (like
/// [`super::Editor`], which has no public way to replace an arbitrary range
/// or insert at a chosen line). New bytes live in one arena.
struct Splice<'m, 'a> {
    msg: &'m Message<'a>,
    edits: Vec<Edit>,
    arena: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
struct Edit {
    start: u32,
    end: u32,
    seq: u32,
    /// The replacement: `arena[from..to]`.
    from: u32,
    to: u32,
}

impl<'m, 'a> Splice<'m, 'a> {
    fn new(msg: &'m Message<'a>) -> Self {
        Splice {
            msg,
            edits: Vec::with_capacity(12),
            arena: Vec::with_capacity(256),
        }
    }

    fn replace(&mut self, span: Span, write: impl FnOnce(&mut Vec<u8>)) {
        let from = self.arena.len() as u32;
        write(&mut self.arena);
        self.edits.push(Edit {
            start: span.start,
            end: span.end,
            seq: self.edits.len() as u32,
            from,
            to: self.arena.len() as u32,
        });
    }

    fn insert(&mut self, at: u32, write: impl FnOnce(&mut Vec<u8>)) {
        self.replace(Span { start: at, end: at }, write);
    }

    fn remove(&mut self, span: Span) {
        self.replace(span, |_| {});
    }

    fn insert_header(&mut self, at: u32, name: &str, value: impl FnOnce(&mut Vec<u8>)) {
        self.insert(at, |o| {
            o.extend_from_slice(name.as_bytes());
            o.extend_from_slice(b": ");
            value(o);
            o.extend_from_slice(b"\r\n");
        });
    }

    /// The edited message, start line to end of body; Content-Length added
    /// when missing. At one offset, insertions come before a replacement (in
    /// the order they were made); an edit inside a range already replaced is
    /// dropped.
    fn finish(mut self) -> Vec<u8> {
        let msg = self.msg;
        if msg.count(HeaderName::ContentLength) == 0 {
            let n = msg.body().len();
            self.insert_header(msg.headers_end() as u32, "Content-Length", |o| {
                o.extend_from_slice(itoa::Buffer::new().format(n).as_bytes())
            });
        }
        self.edits
            .sort_unstable_by_key(|e| (e.start, e.end != e.start, e.seq));
        let buf = msg.buf();
        let end = msg.body_span().end as usize;
        let mut out = Vec::with_capacity(end + self.arena.len());
        let mut pos = 0usize;
        for e in &self.edits {
            let (s, t) = (e.start as usize, e.end as usize);
            if s < pos {
                continue;
            }
            out.extend_from_slice(&buf[pos..s]);
            out.extend_from_slice(&self.arena[e.from as usize..e.to as usize]);
            pos = t;
        }
        out.extend_from_slice(&buf[pos..end]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branches_are_unique_and_recognised() {
        let g = BranchGen::with_seed(7);
        let other = BranchGen::with_seed(8);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let b = g.next_branch();
            assert_eq!(b.as_str().len(), BRANCH_LEN);
            assert!(b.as_str().starts_with("z9hG4bK"));
            assert!(g.is_ours(b.as_bytes()));
            assert!(!other.is_ours(b.as_bytes()));
            assert!(seen.insert(b));
        }
        let b = g.next_branch();
        let s = b.as_str();
        assert!(!g.is_ours(&s.as_bytes()[..BRANCH_LEN - 1]));
        assert!(!g.is_ours(format!("{s}0").as_bytes()));
        assert!(!g.is_ours(s.replace("z9hG4bK", "z9hG4bk").as_bytes()));
        let mut upper = s.as_bytes().to_vec();
        upper[BRANCH_LEN - 1] = b'G';
        assert!(!g.is_ours(&upper));
        assert!(!g.is_ours(b"z9hG4bK776asdhds"));
        // Same seed, same sequence (replayable in tests).
        let (a, c) = (BranchGen::with_seed(1), BranchGen::with_seed(1));
        assert_eq!(a.next_branch(), c.next_branch());
    }

    #[test]
    fn mix_is_a_bijection_on_a_sample() {
        let mut seen = std::collections::HashSet::new();
        for n in 0..100_000u64 {
            assert!(seen.insert(mix(n)));
        }
    }

    #[test]
    fn splice_orders_inserts_before_replacements() {
        let raw = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nX: 1\r\n\r\n";
        let m = Message::parse(raw, &Default::default()).unwrap();
        let x = m.fields_by_name("x").next().unwrap().line;
        let mut sp = Splice::new(&m);
        sp.remove(x);
        sp.insert_header(x.start, "A", |o| o.push(b'1'));
        sp.insert_header(x.start, "B", |o| o.push(b'2'));
        sp.remove(x);
        assert_eq!(
            String::from_utf8(sp.finish()).unwrap(),
            "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nA: 1\r\nB: 2\r\nContent-Length: 0\r\n\r\n"
        );
    }

    #[test]
    fn response_target_rules() {
        let t = |v: &str| response_target(&Via::parse(v.as_bytes()).unwrap());
        let want = |tr, a: &str| {
            Some(ResponseTarget {
                transport: tr,
                addr: a.parse().unwrap(),
            })
        };
        assert_eq!(
            t("SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK1;rport=4000;received=192.0.2.1"),
            want(Transport::Udp, "192.0.2.1:4000")
        );
        assert_eq!(
            t("SIP/2.0/UDP host.example;branch=z9hG4bK1;received=192.0.2.1"),
            want(Transport::Udp, "192.0.2.1:5060")
        );
        assert_eq!(
            t("SIP/2.0/tcp [2001:db8::5]:5070;branch=z9hG4bK1"),
            want(Transport::Tcp, "[2001:db8::5]:5070")
        );
        assert_eq!(
            t("SIP/2.0/UDP 10.0.0.1;received=2001:db8::7;rport=9"),
            want(Transport::Udp, "[2001:db8::7]:9")
        );
        assert_eq!(t("SIP/2.0/UDP host.example;branch=z9hG4bK1"), None);
        assert_eq!(t("SIP/2.0/TLS 10.0.0.1;branch=z9hG4bK1"), None);
    }
}

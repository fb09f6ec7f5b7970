//! Proxy message construction (`sip::proxy`): byte-exact outputs for
//! forwarding, loose routing, relaying, CANCEL and ACK, each also parsed by
//! rsip (a parser sipforge did not write) and checked field by field.

mod fixtures;

use std::net::SocketAddr;

use rsip::headers::ToTypedHeader;
use rsip::prelude::*;
use sipforge::sip::proxy::{
    BranchGen, Egress, Hops, Local, ProxyError, ResponseTarget, ack_for_non_2xx, cancel_for,
    forward_request, forward_routed, loose_route, relay_response,
};
use sipforge::sip::{Limits, Message};
use sipforge::transport::Transport;

/// A realistic INVITE: SDP body, compact headers, folded lines, three Vias
/// (two on one folded compact line), a Max-Forwards of 69.
const INVITE: &str = "INVITE sip:+15551234567@192.0.2.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP 203.0.113.7:5060;branch=z9hG4bKedge1;rport\r\n\
v: SIP/2.0/UDP 10.1.1.1:5062;branch=z9hG4bKpbx77;received=10.1.1.1,\r\n SIP/2.0/TCP 10.1.1.2;branch=z9hG4bKphone\r\n\
Max-Forwards: 69\r\n\
f: \"Alice Smith\" <sip:15550001111@203.0.113.7;user=phone>;tag=1928301774\r\n\
t: <sip:+15551234567@192.0.2.1>\r\n\
i: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
m: <sip:15550001111@203.0.113.7:5060>\r\n\
Subject: lunch\r\n  tomorrow\r\n\
X-Customer-Secret: 42\r\n\
P-Asserted-Identity: <sip:+15550001111@203.0.113.7>\r\n\
x-customer-secret: 43\r\n\
Supported: timer\r\n\
c: application/sdp\r\n\
l: 136\r\n\
\r\n\
v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 203.0.113.7\r\n\
s=-\r\n\
c=IN IP4 203.0.113.7\r\n\
t=0 0\r\n\
m=audio 49170 RTP/AVP 0\r\n\
a=rtpmap:0 PCMU/8000\r\n";

fn parse(raw: &[u8]) -> Message<'_> {
    Message::parse(raw, &Limits::default()).expect("parses")
}

fn s(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).expect("utf-8")
}

fn sa(a: &str) -> SocketAddr {
    a.parse().unwrap()
}

fn udp(a: &str) -> Local {
    Local {
        addr: sa(a),
        transport: Transport::Udp,
    }
}

fn tcp(a: &str) -> Local {
    Local {
        addr: sa(a),
        transport: Transport::Tcp,
    }
}

/// What rsip sees in a message we built; every check below compares against it.
#[derive(Debug, Default)]
struct Seen {
    method: String,
    ruri: String,
    status: u16,
    vias: Vec<String>,
    top_branch: Option<String>,
    from_user: Option<String>,
    from_display: Option<String>,
    from_tag: Option<String>,
    to_tag: Option<String>,
    call_id: String,
    cseq: (u32, String),
    max_forwards: Option<u32>,
    record_routes: Vec<String>,
    routes: Vec<String>,
    names: Vec<String>,
    body: Vec<u8>,
}

/// Parses `bytes` with rsip (which must accept it) and collects its view.
/// Also checks Content-Length against the body, as a receiver would.
/// rsip 0.4 does not accept folded header lines (RFC 3261 §7.3.1 allows
/// them), so folds in the header part are joined first; the body is not touched.
fn rsip_view(bytes: &[u8]) -> Seen {
    let text = s(bytes);
    let split = text.find("\r\n\r\n").expect("end of headers");
    let unfolded = text[..split].replace("\r\n ", " ").replace("\r\n\t", " ") + &text[split..];
    let msg = rsip::SipMessage::try_from(unfolded.as_str())
        .unwrap_or_else(|e| panic!("rsip rejects {unfolded:?}: {e:?}"));
    let mut seen = Seen {
        body: msg.body().clone(),
        ..Seen::default()
    };
    match &msg {
        rsip::SipMessage::Request(r) => {
            seen.method = r.method().to_string();
            seen.ruri = r.uri().to_string();
        }
        rsip::SipMessage::Response(r) => seen.status = r.status_code().code(),
    }
    let mut content_length = None;
    for h in msg.headers().iter() {
        let text = h.to_string();
        let (name, value) = text.split_once(':').expect("name: value");
        let name = fixtures::full_header_name(name.trim()).to_string();
        let value = value.trim().to_string();
        let list = || value.split(',').map(|v| v.trim().to_string());
        match name.to_ascii_lowercase().as_str() {
            "via" => seen.vias.extend(list()),
            "record-route" => seen.record_routes.extend(list()),
            "route" => seen.routes.extend(list()),
            "from" => {
                let f = rsip::headers::From::new(value.clone())
                    .typed()
                    .expect("From");
                seen.from_user = f.uri.auth.as_ref().map(|a| a.user.clone());
                seen.from_display = f.display_name.clone();
                seen.from_tag = f.tag().map(|t| t.to_string());
            }
            "to" => {
                let t = rsip::headers::To::new(value.clone()).typed().expect("To");
                seen.to_tag = t.tag().map(|t| t.to_string());
            }
            "call-id" => seen.call_id = value.clone(),
            "cseq" => {
                let c = rsip::headers::CSeq::new(value.clone())
                    .typed()
                    .expect("CSeq");
                seen.cseq = (c.seq, c.method.to_string());
            }
            "max-forwards" => seen.max_forwards = Some(value.parse().expect("Max-Forwards")),
            "content-length" => content_length = Some(value.parse::<usize>().expect("CL")),
            _ => {}
        }
        seen.names.push(name);
    }
    assert_eq!(content_length, Some(seen.body.len()), "Content-Length");
    // rsip 0.4 cannot type a Via with an IPv6 sent-by: no branch then.
    if let Some(top) = seen.vias.first()
        && let Ok(v) = rsip::headers::Via::new(top.clone()).typed()
    {
        seen.top_branch = v.branch().map(|b| b.to_string());
    }
    seen
}

/// The hops of a request that came in and goes out over UDP on one address.
fn udp_hops<'x>(locals: &'x [Local], src: &str) -> Hops<'x> {
    Hops {
        src: sa(src),
        inbound: locals[0],
        outbound: locals[0],
        locals,
    }
}

const GW_UDP: Egress<'static> = Egress {
    dest_number: "15551234567",
    gateway: "198.51.100.10:5060",
    transport: Transport::Udp,
    cli: "15550009999",
};

const BRANCH: &str = "z9hG4bKsf0000000100000000000000a1";

#[test]
fn forward_realistic_invite_udp_to_udp() {
    let m = parse(INVITE.as_bytes());
    assert!(m.defect().is_none(), "{:?}", m.defect());
    let locals = [udp("192.0.2.1:5060"), tcp("192.0.2.1:5060")];
    let out = forward_request(
        &m,
        &GW_UDP,
        &udp_hops(&locals, "203.0.113.7:5060"),
        BRANCH,
        ["X-CUSTOMER-SECRET"],
        [
            ("X-Carrier", "c1"),
            ("P-Charge-Info", "<sip:15550001111@203.0.113.7>"),
        ],
    )
    .unwrap();
    let body = &INVITE[INVITE.find("\r\n\r\n").unwrap() + 4..];
    let want = "INVITE sip:15551234567@198.51.100.10:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKsf0000000100000000000000a1;rport\r\n\
Via: SIP/2.0/UDP 203.0.113.7:5060;branch=z9hG4bKedge1;rport=5060;received=203.0.113.7\r\n\
v: SIP/2.0/UDP 10.1.1.1:5062;branch=z9hG4bKpbx77;received=10.1.1.1,\r\n SIP/2.0/TCP 10.1.1.2;branch=z9hG4bKphone\r\n\
Max-Forwards: 68\r\n\
f: \"Alice Smith\" <sip:15550009999@203.0.113.7;user=phone>;tag=1928301774\r\n\
t: <sip:+15551234567@192.0.2.1>\r\n\
i: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
m: <sip:15550001111@203.0.113.7:5060>\r\n\
Subject: lunch\r\n  tomorrow\r\n\
P-Asserted-Identity: <sip:+15550001111@203.0.113.7>\r\n\
Supported: timer\r\n\
c: application/sdp\r\n\
l: 136\r\n\
Record-Route: <sip:192.0.2.1:5060;lr>\r\n\
X-Carrier: c1\r\n\
P-Charge-Info: <sip:15550001111@203.0.113.7>\r\n\
\r\n";
    assert_eq!(s(&out), format!("{want}{body}"));

    let seen = rsip_view(&out);
    assert_eq!(seen.method, "INVITE");
    assert_eq!(seen.ruri, "sip:15551234567@198.51.100.10:5060");
    assert_eq!(seen.vias.len(), 4);
    assert_eq!(seen.top_branch.as_deref(), Some(BRANCH));
    assert_eq!(seen.max_forwards, Some(68));
    assert_eq!(seen.from_user.as_deref(), Some("15550009999"));
    assert_eq!(seen.from_display.as_deref(), Some("\"Alice Smith\""));
    assert_eq!(seen.from_tag.as_deref(), Some("1928301774"));
    assert_eq!(seen.to_tag, None);
    assert_eq!(seen.call_id, "a84b4c76e66710@pc33.atlanta.example.com");
    assert_eq!(seen.cseq, (314159, "INVITE".to_string()));
    assert_eq!(seen.record_routes, ["<sip:192.0.2.1:5060;lr>"]);
    assert!(
        !seen
            .names
            .iter()
            .any(|n| n.eq_ignore_ascii_case("x-customer-secret"))
    );
    assert_eq!(seen.body, body.as_bytes());
    // Our own parser reads the same message back, without defects.
    let back = parse(&out);
    assert!(back.defect().is_none());
    assert_eq!(back.body(), body.as_bytes());
}

/// TCP in, UDP out (and the reverse): two Record-Routes, outbound on top
/// (RFC 5658); an upstream Record-Route stays below ours; Max-Forwards and
/// Content-Length are added when missing; a NATed source gets `received`.
#[test]
fn bridging_tcp_and_udp_double_record_routes() {
    let raw = "INVITE sip:4420@192.0.2.1 SIP/2.0\r\n\
Via: SIP/2.0/TCP 10.0.0.5:5060;branch=z9hG4bKnat;rport\r\n\
Record-Route: <sip:proxy.upstream.example;lr>\r\n\
From: <sip:alice@example.com>;tag=a1\r\n\
To: <sip:4420@192.0.2.1>\r\n\
Call-ID: bridge-1\r\n\
CSeq: 2 INVITE\r\n\
\r\n";
    let m = parse(raw.as_bytes());
    let locals = [udp("192.0.2.1:5060"), tcp("192.0.2.1:5060")];
    let tcp_in = Hops {
        src: sa("198.51.100.77:40001"),
        inbound: locals[1],
        outbound: locals[0],
        locals: &locals,
    };
    let out = forward_request(&m, &GW_UDP, &tcp_in, BRANCH, [], []).unwrap();
    assert_eq!(
        s(&out),
        "INVITE sip:15551234567@198.51.100.10:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKsf0000000100000000000000a1;rport\r\n\
Via: SIP/2.0/TCP 10.0.0.5:5060;branch=z9hG4bKnat;rport=40001;received=198.51.100.77\r\n\
Record-Route: <sip:192.0.2.1:5060;lr>\r\n\
Record-Route: <sip:192.0.2.1:5060;transport=tcp;lr>\r\n\
Record-Route: <sip:proxy.upstream.example;lr>\r\n\
From: <sip:15550009999@example.com>;tag=a1\r\n\
To: <sip:4420@192.0.2.1>\r\n\
Call-ID: bridge-1\r\n\
CSeq: 2 INVITE\r\n\
Max-Forwards: 70\r\n\
Content-Length: 0\r\n\
\r\n"
    );
    let seen = rsip_view(&out);
    assert_eq!(
        seen.record_routes,
        [
            "<sip:192.0.2.1:5060;lr>",
            "<sip:192.0.2.1:5060;transport=tcp;lr>",
            "<sip:proxy.upstream.example;lr>"
        ]
    );
    assert_eq!(seen.max_forwards, Some(70));
    assert_eq!(seen.from_user.as_deref(), Some("15550009999"));

    // UDP in, TCP out to a TCP gateway over IPv6; From without a user part.
    let raw = raw
        .replace(
            "SIP/2.0/TCP 10.0.0.5:5060",
            "SIP/2.0/UDP [2001:db8::5]:5060",
        )
        .replace("<sip:alice@example.com>", "\"Bob\" <sip:example.com>");
    let m = parse(raw.as_bytes());
    let locals = [udp("[2001:db8::1]:5060"), tcp("[2001:db8::1]:5070")];
    let udp_in = Hops {
        src: sa("[2001:db8::5]:5060"),
        inbound: locals[0],
        outbound: locals[1],
        locals: &locals,
    };
    let gw = Egress {
        dest_number: "+44 20",
        gateway: "[2001:db8::99]:5060",
        transport: Transport::Tcp,
        cli: "anonymous",
    };
    let out = forward_request(&m, &gw, &udp_in, BRANCH, [], []).unwrap();
    assert_eq!(
        s(&out),
        "INVITE sip:+44%2020@[2001:db8::99]:5060;transport=tcp SIP/2.0\r\n\
Via: SIP/2.0/TCP [2001:db8::1]:5070;branch=z9hG4bKsf0000000100000000000000a1;rport\r\n\
Via: SIP/2.0/UDP [2001:db8::5]:5060;branch=z9hG4bKnat;rport=5060;received=2001:db8::5\r\n\
Record-Route: <sip:[2001:db8::1]:5070;transport=tcp;lr>\r\n\
Record-Route: <sip:[2001:db8::1]:5060;lr>\r\n\
Record-Route: <sip:proxy.upstream.example;lr>\r\n\
From: \"Bob\" <sip:anonymous@example.com>;tag=a1\r\n\
To: <sip:4420@192.0.2.1>\r\n\
Call-ID: bridge-1\r\n\
CSeq: 2 INVITE\r\n\
Max-Forwards: 70\r\n\
Content-Length: 0\r\n\
\r\n"
    );
    // rsip 0.4 cannot parse an IPv6 Request-URI: ours checks that one, rsip the rest.
    let ruri = sipforge::sip::Uri::parse(parse(&out).request_uri().unwrap()).unwrap();
    assert_eq!(ruri.user, Some(&b"+44%2020"[..]));
    assert_eq!((ruri.host, ruri.port), (&b"[2001:db8::99]"[..], Some(5060)));
    assert_eq!(ruri.param(b"transport"), Some(Some(&b"tcp"[..])));
    let seen = rsip_view(
        s(&out)
            .replacen("[2001:db8::99]:5060;transport=tcp", "192.0.2.99:5060", 1)
            .as_bytes(),
    );
    assert_eq!(seen.vias.len(), 2);
    let top = parse(&out).top_via().unwrap().unwrap();
    assert_eq!(top.branch, Some(BRANCH.as_bytes()));
    assert_eq!(seen.from_user.as_deref(), Some("anonymous"));
    assert_eq!(seen.from_display.as_deref(), Some("\"Bob\""));
    assert_eq!(seen.record_routes.len(), 3);
}

#[test]
fn removes_headers_by_any_name_form_and_protects_proxy_headers() {
    let raw = "OPTIONS sip:1@192.0.2.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP 203.0.113.7;branch=z9hG4bKo1\r\n\
s: compact\r\n\
From: <sip:a@203.0.113.7>;tag=1\r\n\
SUBJECT: full\r\n\
To: <sip:1@192.0.2.1>\r\n\
Call-ID: rm-1\r\n\
CSeq: 1 OPTIONS\r\n\
X-Drop: 1,\r\n 2\r\n\
Max-Forwards: 10\r\n\
Content-Length: 0\r\n\
\r\n";
    let m = parse(raw.as_bytes());
    let locals = [udp("192.0.2.1:5060")];
    let hops = udp_hops(&locals, "203.0.113.7:5060");
    let fwd = |remove: &[&str], add: &[(&str, &str)]| {
        forward_request(
            &m,
            &GW_UDP,
            &hops,
            BRANCH,
            remove.iter().copied(),
            add.iter().copied(),
        )
    };
    // Same source, no rport: the upstream Via is left byte for byte.
    let want = "OPTIONS sip:15551234567@198.51.100.10:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKsf0000000100000000000000a1;rport\r\n\
Via: SIP/2.0/UDP 203.0.113.7;branch=z9hG4bKo1\r\n\
From: <sip:15550009999@203.0.113.7>;tag=1\r\n\
To: <sip:1@192.0.2.1>\r\n\
Call-ID: rm-1\r\n\
CSeq: 1 OPTIONS\r\n\
Max-Forwards: 9\r\n\
Content-Length: 0\r\n\
Record-Route: <sip:192.0.2.1:5060;lr>\r\n\
Subject: replaced\r\n\
\r\n";
    for names in [
        ["s", "x-drop"],
        ["Subject", "X-DROP"],
        ["sUbJeCt", "X-Drop"],
    ] {
        let out = fwd(&names, &[("Subject", "replaced")]).unwrap();
        assert_eq!(s(&out), want, "{names:?}");
        let seen = rsip_view(&out);
        assert_eq!(seen.names.iter().filter(|n| *n == "Subject").count(), 1);
    }
    // Removing a name that is absent changes nothing else.
    let out = fwd(&["X-Absent"], &[]).unwrap();
    assert!(s(&out).contains("s: compact\r\n") && s(&out).contains("SUBJECT: full\r\n"));

    for bad in [
        "Via",
        "v",
        "f",
        "TO",
        "i",
        "cseq",
        "l",
        "Max-Forwards",
        "Route",
        "record-route",
    ] {
        assert_eq!(fwd(&[bad], &[]), Err(ProxyError::Protected(bad.into())));
        assert_eq!(
            fwd(&[], &[(bad, "x")]),
            Err(ProxyError::Protected(bad.into()))
        );
    }
    assert_eq!(
        fwd(&[], &[("X-Evil", "1\r\nVia: SIP/2.0/UDP evil")]),
        Err(ProxyError::BadHeaderValue("X-Evil".into()))
    );
    for bad in ["X Evil", "", "X:"] {
        assert_eq!(
            fwd(&[], &[(bad, "1")]),
            Err(ProxyError::BadHeaderName(bad.into()))
        );
        assert_eq!(fwd(&[bad], &[]), Err(ProxyError::BadHeaderName(bad.into())));
    }
    assert!(!sipforge::sip::proxy::is_protected_header(""));
}

#[test]
fn max_forwards_present_absent_and_zero() {
    let base = "BYE sip:bob@198.51.100.20:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 203.0.113.7:5060;branch=z9hG4bKb1\r\n\
MAX-FORWARDS: 1\r\n\
From: <sip:a@203.0.113.7>;tag=1\r\n\
To: <sip:bob@example.com>;tag=2\r\n\
Call-ID: mf-1\r\n\
CSeq: 3 BYE\r\n\
Content-Length: 0\r\n\
\r\n";
    let locals = [udp("192.0.2.1:5060")];
    let go = |raw: &str| {
        let m = parse(raw.as_bytes());
        let r = loose_route(&m, &locals)?;
        forward_routed(&m, &r, sa("203.0.113.7:5060"), locals[0], BRANCH).map(|b| s(&b))
    };
    let out = go(base).unwrap();
    assert!(out.contains("\r\nMAX-FORWARDS: 0\r\n"), "{out}");
    assert_eq!(rsip_view(out.as_bytes()).max_forwards, Some(0));
    let out = go(&base.replace("MAX-FORWARDS: 1\r\n", "")).unwrap();
    assert!(
        out.ends_with("Content-Length: 0\r\nMax-Forwards: 70\r\n\r\n"),
        "{out}"
    );
    assert_eq!(rsip_view(out.as_bytes()).max_forwards, Some(70));
    assert_eq!(
        go(&base.replace("MAX-FORWARDS: 1", "MAX-FORWARDS: 0")),
        Err(ProxyError::TooManyHops)
    );
    let zero = base.replace("MAX-FORWARDS: 1", "Max-Forwards: 0");
    let m = parse(zero.as_bytes());
    let hops = udp_hops(&locals, "203.0.113.7:5060");
    assert_eq!(
        forward_request(&m, &GW_UDP, &hops, BRANCH, [], []),
        Err(ProxyError::TooManyHops)
    );
}

/// An in-dialog request (BYE) coming back through us.
const BYE: &str = "BYE sip:alice@203.0.113.7:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bKgwbye\r\n\
Route: <sip:192.0.2.1:5060;lr>\r\n\
Max-Forwards: 70\r\n\
From: <sip:15551234567@198.51.100.10>;tag=gw9\r\n\
To: \"Alice Smith\" <sip:15550009999@203.0.113.7>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 1 BYE\r\n\
Content-Length: 0\r\n\
\r\n";

#[test]
fn loose_routes_one_of_our_routes_to_the_request_uri() {
    let m = parse(BYE.as_bytes());
    let locals = [udp("192.0.2.1:5060"), tcp("192.0.2.1:5060")];
    let r = loose_route(&m, &locals).unwrap();
    assert_eq!(r.ours, 1);
    assert!(!r.next_is_route);
    assert_eq!(r.next.raw, b"sip:alice@203.0.113.7:5060");
    assert_eq!(r.next_addr(), Some(sa("203.0.113.7:5060")));
    assert_eq!(r.transport, Transport::Udp);
    assert_eq!(r.local, Some(locals[0]));
    assert_eq!(r.outbound_local(&locals), Some(locals[0]));
    let out = forward_routed(&m, &r, sa("198.51.100.10:5060"), locals[0], BRANCH).unwrap();
    assert_eq!(
        s(&out),
        "BYE sip:alice@203.0.113.7:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKsf0000000100000000000000a1;rport\r\n\
Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bKgwbye\r\n\
Max-Forwards: 69\r\n\
From: <sip:15551234567@198.51.100.10>;tag=gw9\r\n\
To: \"Alice Smith\" <sip:15550009999@203.0.113.7>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 1 BYE\r\n\
Content-Length: 0\r\n\
\r\n"
    );
    let seen = rsip_view(&out);
    assert!(seen.routes.is_empty());
    assert_eq!(seen.method, "BYE");
    assert_eq!(seen.to_tag.as_deref(), Some("1928301774"));
}

#[test]
fn loose_routes_two_of_our_routes_and_keeps_the_rest() {
    // Double record-routed dialog (UDP side toward the gateway, TCP toward
    // the caller); a further proxy in the route set; compact-free but
    // comma-listed Route values split over two lines.
    let raw = BYE.replace(
        "Route: <sip:192.0.2.1:5060;lr>\r\n",
        "Route: <sip:192.0.2.1:5060;lr>,<sip:192.0.2.1:5060;transport=tcp;lr>, <sip:edge.example.com;lr>\r\nroute: <sip:203.0.113.1;lr>\r\n",
    );
    let m = parse(raw.as_bytes());
    let locals = [udp("192.0.2.1:5060"), tcp("192.0.2.1:5060")];
    let r = loose_route(&m, &locals).unwrap();
    assert_eq!(r.ours, 2);
    assert!(r.next_is_route);
    assert_eq!(r.next.host, b"edge.example.com");
    assert_eq!(r.next_addr(), None);
    assert_eq!(r.local, Some(locals[1]));
    assert_eq!(r.outbound_local(&locals), Some(locals[0]));
    let out = forward_routed(&m, &r, sa("198.51.100.10:5060"), locals[0], BRANCH).unwrap();
    let want = BYE.replace(
        "Route: <sip:192.0.2.1:5060;lr>\r\nMax-Forwards: 70",
        "Route: <sip:edge.example.com;lr>\r\nroute: <sip:203.0.113.1;lr>\r\nMax-Forwards: 69",
    );
    let want = want.replace(
        "Via: SIP/2.0/UDP 198.51.100.10",
        "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKsf0000000100000000000000a1;rport\r\nVia: SIP/2.0/UDP 198.51.100.10",
    );
    assert_eq!(s(&out), want);
    let seen = rsip_view(&out);
    assert_eq!(
        seen.routes,
        ["<sip:edge.example.com;lr>", "<sip:203.0.113.1;lr>"]
    );

    // Both of ours on separate lines, nothing after: the R-URI over TCP.
    let raw = BYE
        .replace(
            "Route: <sip:192.0.2.1:5060;lr>\r\n",
            "Route: <sip:192.0.2.1;lr>\r\nRoute: <sip:192.0.2.1:5060;transport=tcp;lr>\r\n",
        )
        .replace(
            "sip:alice@203.0.113.7:5060 SIP",
            "sip:alice@203.0.113.7:5060;transport=TCP SIP",
        );
    let m = parse(raw.as_bytes());
    let r = loose_route(&m, &locals).unwrap();
    assert_eq!((r.ours, r.next_is_route), (2, false));
    assert_eq!(r.transport, Transport::Tcp);
    assert_eq!(r.outbound_local(&locals), Some(locals[1]));
    let out = forward_routed(&m, &r, sa("198.51.100.10:5060"), locals[1], BRANCH).unwrap();
    let out = s(&out);
    assert!(!out.contains("Route"), "{out}");
    assert!(
        out.contains("\r\nVia: SIP/2.0/TCP 192.0.2.1:5060;branch="),
        "{out}"
    );
    assert!(rsip_view(out.as_bytes()).routes.is_empty());
}

#[test]
fn loose_route_refusals() {
    let locals = [udp("192.0.2.1:5060")];
    // A strict router put our Record-Route URI in the Request-URI.
    let raw = BYE
        .replace(
            "BYE sip:alice@203.0.113.7:5060 SIP",
            "BYE sip:192.0.2.1:5060;lr SIP",
        )
        .replace("<sip:192.0.2.1:5060;lr>", "<sip:alice@203.0.113.7:5060>");
    let m = parse(raw.as_bytes());
    assert_eq!(loose_route(&m, &locals), Err(ProxyError::StrictRouting));
    // Addressed to us with no route left.
    let raw = BYE.replace(
        "BYE sip:alice@203.0.113.7:5060 SIP",
        "BYE sip:192.0.2.1 SIP",
    );
    let m = parse(raw.as_bytes());
    assert_eq!(loose_route(&m, &locals), Err(ProxyError::AddressedToUs));
    // Not ours: nothing removed, the Route is the next hop.
    let m = parse(BYE.as_bytes());
    let r = loose_route(&m, &[udp("192.0.2.1:5070")]).unwrap();
    assert_eq!((r.ours, r.next_is_route), (0, true));
    assert_eq!(r.next_addr(), Some(sa("192.0.2.1:5060")));
    // TLS next hops are not spoken.
    let raw = BYE.replace(
        "sip:alice@203.0.113.7:5060 SIP",
        "sips:alice@203.0.113.7 SIP",
    );
    let m = parse(raw.as_bytes());
    assert!(matches!(
        loose_route(&m, &locals),
        Err(ProxyError::UnsupportedTransport(_))
    ));
}

/// A forwarded INVITE with a preloaded Route naming us: removed (§16.4).
#[test]
fn initial_request_with_our_route_has_it_removed() {
    let raw = INVITE.replace(
        "Max-Forwards: 69\r\n",
        "Max-Forwards: 69\r\nRoute: <sip:192.0.2.1;lr>\r\n",
    );
    let m = parse(raw.as_bytes());
    let locals = [udp("192.0.2.1:5060")];
    let out = forward_request(
        &m,
        &GW_UDP,
        &udp_hops(&locals, "203.0.113.7:5060"),
        BRANCH,
        [],
        [],
    )
    .unwrap();
    let seen = rsip_view(&out);
    assert!(seen.routes.is_empty());
    assert!(!s(&out).contains("Route: <sip:192.0.2.1;lr>"));
}

fn gw_response(code_reason: &str, vias: &str) -> String {
    format!(
        "SIP/2.0 {code_reason}\r\n{vias}\
f: \"Alice Smith\" <sip:15550009999@203.0.113.7;user=phone>;tag=1928301774\r\n\
To: <sip:+15551234567@192.0.2.1>;tag=gw-77\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Record-Route: <sip:192.0.2.1:5060;lr>\r\n\
Content-Length: 0\r\n\
\r\n"
    )
}

#[test]
fn relays_responses_to_received_and_rport() {
    let g = BranchGen::with_seed(42);
    let ours = g.next_branch();
    let vias = format!(
        "Via: SIP/2.0/UDP 192.0.2.1:5060;branch={ours};rport=5060;received=192.0.2.1\r\n\
Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKnat;rport=40001;received=198.51.100.77\r\n\
Via: SIP/2.0/UDP 10.1.1.1;branch=z9hG4bKpbx\r\n"
    );
    let raw = gw_response("180 Ringing", &vias);
    let m = parse(raw.as_bytes());
    let relay = relay_response(&m, &g).unwrap();
    assert_eq!(relay.branch, ours.as_bytes());
    assert_eq!(
        relay.target,
        Some(ResponseTarget {
            transport: Transport::Udp,
            addr: sa("198.51.100.77:40001")
        })
    );
    let want = raw.replace(&vias[..vias.find("\r\n").unwrap() + 2], "");
    assert_eq!(s(&relay.bytes), want);
    let seen = rsip_view(&relay.bytes);
    assert_eq!(seen.status, 180);
    assert_eq!(seen.vias.len(), 2);
    assert_eq!(seen.top_branch.as_deref(), Some("z9hG4bKnat"));
    assert_eq!(seen.to_tag.as_deref(), Some("gw-77"));
    assert_eq!(seen.record_routes, ["<sip:192.0.2.1:5060;lr>"]);

    // Our Via and the next on one compact line; TCP upstream without rport.
    let vias = format!(
        "v: SIP/2.0/UDP 192.0.2.1:5060;branch={ours};rport ,\r\n SIP/2.0/TCP client.example.com:5070;branch=z9hG4bKtcp;received=203.0.113.9\r\n"
    );
    let raw = gw_response("486 Busy Here", &vias);
    let m = parse(raw.as_bytes());
    let relay = relay_response(&m, &g).unwrap();
    assert_eq!(
        relay.target,
        Some(ResponseTarget {
            transport: Transport::Tcp,
            addr: sa("203.0.113.9:5070")
        })
    );
    assert_eq!(
        s(&relay.bytes),
        raw.replace(
            &format!("v: SIP/2.0/UDP 192.0.2.1:5060;branch={ours};rport ,\r\n "),
            "v: "
        )
    );
    let seen = rsip_view(&relay.bytes);
    assert_eq!(seen.status, 486);
    assert_eq!(seen.top_branch.as_deref(), Some("z9hG4bKtcp"));

    // Not our branch: refused. Only our Via (a CANCEL's 200): nothing to relay.
    let raw = gw_response(
        "200 OK",
        "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKother\r\n",
    );
    assert_eq!(
        relay_response(&parse(raw.as_bytes()), &g),
        Err(ProxyError::NotOurVia)
    );
    let raw = gw_response(
        "200 OK",
        &format!("Via: SIP/2.0/UDP 192.0.2.1;branch={ours}\r\n"),
    );
    assert_eq!(
        relay_response(&parse(raw.as_bytes()), &g),
        Err(ProxyError::NoNextVia)
    );
    // A host name without `received`: the caller falls back to the transaction's source.
    let vias = format!(
        "Via: SIP/2.0/UDP 192.0.2.1;branch={ours}\r\nVia: SIP/2.0/UDP pbx.example.com;branch=z9hG4bKx\r\n"
    );
    let raw = gw_response("183 Session Progress", &vias);
    assert_eq!(
        relay_response(&parse(raw.as_bytes()), &g).unwrap().target,
        None
    );
}

/// The INVITE as forwarded (a Route kept after ours), for CANCEL and ACK.
fn forwarded_invite() -> Vec<u8> {
    let raw = INVITE.replace(
        "Max-Forwards: 69\r\n",
        "Max-Forwards: 69\r\nRoute: <sip:192.0.2.1;lr>,\r\n <sip:sbc.carrier.example;lr>\r\n",
    );
    let m = parse(raw.as_bytes());
    let locals = [udp("192.0.2.1:5060")];
    forward_request(
        &m,
        &GW_UDP,
        &udp_hops(&locals, "203.0.113.7:5060"),
        BRANCH,
        [],
        [],
    )
    .unwrap()
}

#[test]
fn cancel_for_the_forwarded_invite() {
    let sent = forwarded_invite();
    // Our Route value went, with its comma and the fold after it.
    assert!(
        s(&sent).contains("\r\nMax-Forwards: 68\r\nRoute: <sip:sbc.carrier.example;lr>\r\nf: "),
        "{}",
        s(&sent)
    );
    let invite = parse(&sent);
    let out = cancel_for(&invite).unwrap();
    assert_eq!(
        s(&out),
        "CANCEL sip:15551234567@198.51.100.10:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKsf0000000100000000000000a1;rport\r\n\
Route: <sip:sbc.carrier.example;lr>\r\n\
Max-Forwards: 70\r\n\
From: \"Alice Smith\" <sip:15550009999@203.0.113.7;user=phone>;tag=1928301774\r\n\
To: <sip:+15551234567@192.0.2.1>\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 CANCEL\r\n\
Content-Length: 0\r\n\
\r\n"
    );
    let seen = rsip_view(&out);
    assert_eq!(seen.method, "CANCEL");
    assert_eq!(seen.ruri, "sip:15551234567@198.51.100.10:5060");
    assert_eq!(seen.vias.len(), 1);
    assert_eq!(seen.top_branch.as_deref(), Some(BRANCH));
    assert_eq!(seen.cseq, (314159, "CANCEL".to_string()));
    assert_eq!(seen.routes, ["<sip:sbc.carrier.example;lr>"]);
    assert_eq!(seen.from_tag.as_deref(), Some("1928301774"));
    assert_eq!(seen.to_tag, None);
    assert_eq!(seen.max_forwards, Some(70));
    // A response is not an INVITE.
    let resp = gw_response("200 OK", "Via: SIP/2.0/UDP a;branch=z9hG4bK1\r\n");
    assert_eq!(
        cancel_for(&parse(resp.as_bytes())),
        Err(ProxyError::NotARequest)
    );
}

#[test]
fn ack_for_a_non_2xx_final_response() {
    let sent = forwarded_invite();
    let invite = parse(&sent);
    let resp = gw_response(
        "503 Service Unavailable",
        "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKsf0000000100000000000000a1;rport=5060;received=192.0.2.1\r\n\
Via: SIP/2.0/UDP 203.0.113.7:5060;branch=z9hG4bKedge1;rport=5060;received=203.0.113.7\r\n",
    );
    let resp = parse(resp.as_bytes());
    let out = ack_for_non_2xx(&invite, &resp).unwrap();
    assert_eq!(
        s(&out),
        "ACK sip:15551234567@198.51.100.10:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKsf0000000100000000000000a1;rport\r\n\
Route: <sip:sbc.carrier.example;lr>\r\n\
Max-Forwards: 70\r\n\
From: \"Alice Smith\" <sip:15550009999@203.0.113.7;user=phone>;tag=1928301774\r\n\
To: <sip:+15551234567@192.0.2.1>;tag=gw-77\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 ACK\r\n\
Content-Length: 0\r\n\
\r\n"
    );
    let seen = rsip_view(&out);
    assert_eq!(seen.method, "ACK");
    assert_eq!(seen.top_branch.as_deref(), Some(BRANCH));
    assert_eq!(seen.to_tag.as_deref(), Some("gw-77"));
    assert_eq!(seen.cseq, (314159, "ACK".to_string()));
    assert!(seen.body.is_empty());
    assert_eq!(
        ack_for_non_2xx(&invite, &invite),
        Err(ProxyError::NotAResponse)
    );
}

/// Every builder on every truncation and on single-byte corruptions of the
/// test messages: errors are fine, panics are not.
#[test]
fn no_panic_on_damaged_input() {
    let g = BranchGen::with_seed(3);
    let ours = g.next_branch();
    let resp = gw_response(
        "180 Ringing",
        &format!("Via: SIP/2.0/UDP 192.0.2.1;branch={ours}, SIP/2.0/UDP 10.0.0.5;rport=9\r\n"),
    );
    let locals = [udp("192.0.2.1:5060"), tcp("192.0.2.1:5060")];
    let hops = udp_hops(&locals, "203.0.113.7:5060");
    for base in [INVITE, BYE, resp.as_str()] {
        let base = base.as_bytes();
        let mut variants: Vec<Vec<u8>> = (0..base.len()).map(|n| base[..n].to_vec()).collect();
        for i in 0..base.len() {
            for b in [b',', b';', b'<', b'>', b'"', b' ', b'\n', b':', b'['] {
                let mut v = base.to_vec();
                v[i] = b;
                variants.push(v);
            }
        }
        for v in &variants {
            let Ok(m) = Message::parse(v, &Limits::default()) else {
                continue;
            };
            let _ = forward_request(&m, &GW_UDP, &hops, BRANCH, ["Subject"], [("X-A", "1")]);
            if let Ok(r) = loose_route(&m, &locals) {
                let _ = forward_routed(&m, &r, hops.src, locals[0], BRANCH);
            }
            let _ = relay_response(&m, &g);
            let _ = cancel_for(&m);
            let _ = ack_for_non_2xx(&m, &m);
        }
    }
}

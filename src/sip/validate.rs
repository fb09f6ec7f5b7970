//! Request validation (RFC 3261 §8.2 and §16.3): the checks every request
//! passes before routing, each failure mapped to the status code and a reason
//! phrase that names the problem.

use std::borrow::Cow;

use super::addr::NameAddr;
use super::header::HeaderName;
use super::message::{CSeq, Defect, Message, Method, StartLine, Version};
use super::uri::{Scheme, Uri};
use super::via::Via;

/// A request that passed validation, with its essential parts parsed.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: Method<'a>,
    pub ruri: Uri<'a>,
    pub via: Via<'a>,
    pub call_id: &'a [u8],
    pub cseq: CSeq<'a>,
    pub from: NameAddr<'a>,
    pub to: NameAddr<'a>,
    pub max_forwards: Option<u32>,
}

/// A validation failure: the status to answer with and its reason phrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: u16,
    pub reason: Cow<'static, str>,
}

impl Rejection {
    fn bad(reason: impl Into<Cow<'static, str>>) -> Rejection {
        Rejection {
            code: 400,
            reason: reason.into(),
        }
    }
}

fn single<'a>(msg: &Message<'a>, name: HeaderName) -> Result<&'a [u8], Rejection> {
    let mut it = msg.fields(name);
    let first = it
        .next()
        .ok_or_else(|| Rejection::bad(format!("Bad Request (missing {} header)", name.as_str())))?;
    if it.next().is_some() {
        return Err(Rejection::bad(format!(
            "Bad Request (more than one {} header)",
            name.as_str()
        )));
    }
    Ok(msg.slice(first.value))
}

fn detail(what: &str, why: &str) -> Rejection {
    Rejection::bad(format!("Bad Request ({what}: {why})"))
}

/// Validates a request. Responses are not validated here.
pub fn validate_request<'a>(msg: &Message<'a>) -> Result<Request<'a>, Rejection> {
    let StartLine::Request {
        method, version, ..
    } = *msg.start_line()
    else {
        return Err(Rejection::bad("Bad Request (not a request)"));
    };
    if version == Version::Unsupported {
        return Err(Rejection {
            code: 505,
            reason: "Version Not Supported".into(),
        });
    }
    match msg.defect() {
        Some(Defect::Malformed(r)) => return Err(Rejection::bad(r)),
        Some(Defect::TooLarge(r)) => {
            return Err(Rejection {
                code: 513,
                reason: r.into(),
            });
        }
        None => {}
    }

    let call_id = single(msg, HeaderName::CallId)?;
    if call_id.is_empty() || call_id.iter().any(|&b| super::scan::is_lws(b)) {
        return Err(Rejection::bad("Bad Request (invalid Call-ID)"));
    }
    let from = NameAddr::parse(single(msg, HeaderName::From)?).map_err(|e| detail("From", e))?;
    let to = NameAddr::parse(single(msg, HeaderName::To)?).map_err(|e| detail("To", e))?;
    let cseq = CSeq::parse(single(msg, HeaderName::CSeq)?).map_err(|e| detail("CSeq", e))?;
    if cseq.method != method.as_bytes() {
        return Err(Rejection::bad(
            "Bad Request (CSeq method does not match the request method)",
        ));
    }
    let max_forwards = match msg.count(HeaderName::MaxForwards) {
        0 => None,
        1 => Some(
            msg.max_forwards()
                .and_then(Result::ok)
                .ok_or_else(|| Rejection::bad("Bad Request (invalid Max-Forwards)"))?,
        ),
        _ => {
            return Err(Rejection::bad(
                "Bad Request (more than one Max-Forwards header)",
            ));
        }
    };

    let mut via = None;
    for v in msg.list(HeaderName::Via) {
        let parsed = Via::parse(v).map_err(|e| detail("Via", e))?;
        via.get_or_insert(parsed);
    }
    let via = via.ok_or_else(|| Rejection::bad("Bad Request (missing Via header)"))?;

    for c in msg.list(HeaderName::Contact) {
        if c != b"*" {
            NameAddr::parse(c).map_err(|e| detail("Contact", e))?;
        }
    }
    for name in [HeaderName::Route, HeaderName::RecordRoute] {
        for r in msg.list(name) {
            NameAddr::parse(r).map_err(|e| detail(name.as_str(), e))?;
        }
    }

    let raw_uri = msg.request_uri().unwrap_or_default();
    let ruri = Uri::parse(raw_uri).map_err(|e| detail("Request-URI", e))?;
    if matches!(ruri.scheme, Scheme::Sip | Scheme::Sips) && ruri.headers.is_some() {
        return Err(Rejection::bad("Bad Request (headers in the Request-URI)"));
    }

    Ok(Request {
        method,
        ruri,
        via,
        call_id,
        cseq,
        from,
        to,
        max_forwards,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::Limits;

    fn check(raw: &str) -> Result<(), Rejection> {
        let m = Message::parse(raw.as_bytes(), &Limits::default()).unwrap();
        validate_request(&m).map(|_| ())
    }

    const BASE: &str = "INVITE sip:1555@h SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:1555@h>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn accepts_a_normal_request() {
        check(BASE).unwrap();
    }

    #[test]
    fn names_the_problem() {
        let cases = [
            (BASE.replace("Call-ID: x\r\n", ""), "missing Call-ID"),
            (
                BASE.replace(
                    "To: <sip:1555@h>\r\n",
                    "To: <sip:1555@h>\r\nt: <sip:2@h>\r\n",
                ),
                "more than one To",
            ),
            (
                BASE.replace("CSeq: 1 INVITE", "CSeq: 1 OPTIONS"),
                "CSeq method",
            ),
            (
                BASE.replace("CSeq: 1 INVITE", "CSeq: 99999999999 INVITE"),
                "CSeq",
            ),
            (
                BASE.replace("Max-Forwards: 70", "Max-Forwards: ten"),
                "Max-Forwards",
            ),
            (BASE.replace("branch=z9hG4bK1", "branch=z9hG4bK1;;"), "Via"),
            (
                BASE.replace("INVITE sip:1555@h SIP", "INVITE <sip:1555@h> SIP"),
                "Request-URI",
            ),
            (
                BASE.replace("INVITE sip:1555@h SIP", "INVITE sip:1555@h?Route=x SIP"),
                "headers in the Request-URI",
            ),
        ];
        for (msg, want) in cases {
            let err = check(&msg).unwrap_err();
            assert_eq!(err.code, 400);
            assert!(err.reason.contains(want), "{} !~ {want}", err.reason);
        }
        let err = check(&BASE.replace("SIP/2.0\r\nVia", "SIP/3.0\r\nVia")).unwrap_err();
        assert_eq!(err.code, 505);
    }
}

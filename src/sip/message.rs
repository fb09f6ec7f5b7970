//! The zero-copy SIP message: one pass splits the start line, indexes the header
//! lines and frames the body; typed values (Via, From, CSeq, ...) are parsed on
//! demand from the indexed byte ranges. Nothing is copied or re-serialized.
//!
//! Parsing distinguishes two kinds of trouble:
//! * [`ParseError`] — the bytes are not a SIP message sipforge can answer
//!   (garbage, an unparseable or bogus response line): drop and count.
//! * [`Defect`] — a request whose defect is known but which still carries
//!   enough (a Via, a CSeq ...) to be answered with 400 or 513.

use super::addr::NameAddr;
use super::header::HeaderName;
use super::scan::{CommaSplit, is_token, is_token_str, parse_u32, trim};
use super::via::Via;

/// Hard caps applied while parsing (pingora-style): a message over any of them
/// is never fully parsed and gets `513 Message Too Large` if it can be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_message_bytes: usize,
    pub max_headers: usize,
    pub max_line_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 65_535,
            max_headers: 128,
            max_line_bytes: 8_192,
        }
    }
}

/// A byte range into the message buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    #[inline]
    fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    #[inline]
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// A request method: one of RFC 3261's and its extensions' (as [`rsip::Method`]),
/// or any other token (RFC 3261 allows extension methods).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method<'a> {
    Known(rsip::Method),
    Extension(&'a [u8]),
}

impl<'a> Method<'a> {
    /// Classifies a method token. Methods are case-sensitive (RFC 3261 §7.1).
    pub fn from_bytes(b: &'a [u8]) -> Method<'a> {
        use rsip::Method as M;
        let known = match b {
            b"INVITE" => M::Invite,
            b"ACK" => M::Ack,
            b"BYE" => M::Bye,
            b"CANCEL" => M::Cancel,
            b"OPTIONS" => M::Options,
            b"REGISTER" => M::Register,
            b"PRACK" => M::PRack,
            b"SUBSCRIBE" => M::Subscribe,
            b"NOTIFY" => M::Notify,
            b"PUBLISH" => M::Publish,
            b"INFO" => M::Info,
            b"REFER" => M::Refer,
            b"MESSAGE" => M::Message,
            b"UPDATE" => M::Update,
            other => return Method::Extension(other),
        };
        Method::Known(known)
    }

    /// The method token as it appears on the wire.
    pub fn as_bytes(&self) -> &'a [u8] {
        match self {
            Method::Extension(b) => b,
            Method::Known(m) => known_name(*m).as_bytes(),
        }
    }

    pub fn is(&self, m: rsip::Method) -> bool {
        *self == Method::Known(m)
    }
}

/// The wire name of an RFC method.
pub fn known_name(m: rsip::Method) -> &'static str {
    use rsip::Method as M;
    match m {
        M::Invite => "INVITE",
        M::Ack => "ACK",
        M::Bye => "BYE",
        M::Cancel => "CANCEL",
        M::Options => "OPTIONS",
        M::Register => "REGISTER",
        M::PRack => "PRACK",
        M::Subscribe => "SUBSCRIBE",
        M::Notify => "NOTIFY",
        M::Publish => "PUBLISH",
        M::Info => "INFO",
        M::Refer => "REFER",
        M::Message => "MESSAGE",
        M::Update => "UPDATE",
    }
}

/// The SIP version of a request line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Sip20,
    /// `SIP/x.y` other than 2.0: answered with 505.
    Unsupported,
}

/// The first line of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartLine<'a> {
    Request {
        method: Method<'a>,
        uri: Span,
        version: Version,
    },
    Response {
        code: u16,
        reason: Span,
    },
}

/// An indexed header line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderField {
    pub name: HeaderName,
    /// The name as written (compact or full, any case).
    pub raw_name: Span,
    /// The value, LWS-trimmed; may span folded lines.
    pub value: Span,
    /// The whole line(s) including the line terminator.
    pub line: Span,
}

/// Why a message cannot be answered at all: drop it (and count it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("empty message")]
    Empty,
    #[error("not a SIP message: {0}")]
    Garbage(&'static str),
    #[error("invalid response: {0}")]
    BadResponse(&'static str),
}

/// A defect in a message that can still be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defect {
    /// Malformed: answer `400 Bad Request` with this reason.
    Malformed(&'static str),
    /// Over a hard cap: answer `513 Message Too Large`.
    TooLarge(&'static str),
}

/// A parsed SIP message borrowing its buffer.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    buf: &'a [u8],
    start: StartLine<'a>,
    headers: Vec<HeaderField>,
    /// Offset of the empty line that ends the headers (where new headers go).
    headers_end: u32,
    body: Span,
    defect: Option<Defect>,
}

impl<'a> Message<'a> {
    /// Parses one message. For datagrams `buf` is the whole datagram; on a
    /// stream it is exactly one framed message.
    pub fn parse(buf: &'a [u8], limits: &Limits) -> Result<Message<'a>, ParseError> {
        let mut defect = None;
        let mut note = |d: Defect| {
            if defect.is_none() {
                defect = Some(d);
            }
        };
        if buf.len() > limits.max_message_bytes {
            note(Defect::TooLarge("Message Too Large"));
        }
        // RFC 3261 §7.5: ignore CRLFs before the start line.
        let mut pos = buf
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        if pos == buf.len() {
            return Err(ParseError::Empty);
        }
        let (line_end, next) = line_bounds(buf, pos);
        if line_end - pos > limits.max_line_bytes {
            return Err(ParseError::Garbage("start line over the length cap"));
        }
        let start = parse_start_line(buf, pos, line_end, &mut note)?;
        pos = next;

        let mut headers: Vec<HeaderField> = Vec::with_capacity(24);
        let mut headers_end = None;
        let mut truncated = false;
        while pos < buf.len() {
            let (line_end, next) = line_bounds(buf, pos);
            if line_end == pos {
                headers_end = Some(pos);
                pos = next;
                break;
            }
            if line_end - pos > limits.max_line_bytes {
                note(Defect::TooLarge("Header Line Too Long"));
                truncated = true;
                break;
            }
            let first = buf[pos];
            if first == b' ' || first == b'\t' {
                // Folded continuation of the previous header value.
                match headers.last_mut() {
                    Some(h) => {
                        let v = trim(&buf[pos..line_end]);
                        if !v.is_empty() {
                            let v_end = offset_of(buf, v) + v.len();
                            if h.value.start == h.value.end {
                                h.value.start = offset_of(buf, v) as u32;
                            }
                            h.value.end = v_end as u32;
                        }
                        h.line.end = next as u32;
                    }
                    None => note(Defect::Malformed(
                        "Bad Request (continuation line before any header)",
                    )),
                }
                pos = next;
                continue;
            }
            if headers.len() >= limits.max_headers {
                note(Defect::TooLarge("Too Many Headers"));
                truncated = true;
                break;
            }
            // name: token chars, optional SP/HT, then ':' — one pass, no search.
            let line = &buf[pos..line_end];
            let name_len = line.iter().take_while(|&&b| is_token(b)).count();
            let mut colon = name_len;
            while matches!(line.get(colon), Some(b' ' | b'\t')) {
                colon += 1;
            }
            if name_len == 0 || line.get(colon) != Some(&b':') {
                note(Defect::Malformed(if memchr::memchr(b':', line).is_none() {
                    "Bad Request (header line without colon)"
                } else {
                    "Bad Request (invalid header name)"
                }));
            } else {
                let name = &line[..name_len];
                let v = trim(&line[colon + 1..]);
                let vstart = if v.is_empty() {
                    line_end
                } else {
                    offset_of(buf, v)
                };
                headers.push(HeaderField {
                    name: HeaderName::classify(name),
                    raw_name: Span::new(pos, pos + name_len),
                    value: Span::new(vstart, vstart + v.len()),
                    line: Span::new(pos, next),
                });
            }
            pos = next;
        }

        let headers_end = match headers_end {
            Some(e) => e,
            None => {
                if !truncated {
                    note(Defect::Malformed(
                        "Bad Request (no empty line after headers)",
                    ));
                }
                pos = buf.len();
                buf.len()
            }
        };

        // Body framing by Content-Length; without one (datagram) the body is
        // the rest of the buffer.
        let remaining = buf.len() - pos;
        let mut content_length: Option<u32> = None;
        for h in headers
            .iter()
            .filter(|h| h.name == HeaderName::ContentLength)
        {
            match parse_u32(&buf[h.value.range()]) {
                None => note(Defect::Malformed("Bad Request (invalid Content-Length)")),
                Some(v) => match content_length {
                    Some(prev) if prev != v => note(Defect::Malformed(
                        "Bad Request (conflicting Content-Length headers)",
                    )),
                    _ => content_length = Some(v),
                },
            }
        }
        let body_len = match content_length {
            Some(cl) if cl as usize > remaining && !truncated => {
                note(Defect::Malformed(
                    "Bad Request (Content-Length larger than the message body)",
                ));
                remaining
            }
            Some(cl) => (cl as usize).min(remaining),
            None => remaining,
        };

        Ok(Message {
            buf,
            start,
            headers,
            headers_end: headers_end as u32,
            body: Span::new(pos, pos + body_len),
            defect,
        })
    }

    /// The whole buffer this message was parsed from.
    #[inline]
    pub fn buf(&self) -> &'a [u8] {
        self.buf
    }

    #[inline]
    pub fn slice(&self, span: Span) -> &'a [u8] {
        &self.buf[span.range()]
    }

    pub fn start_line(&self) -> &StartLine<'a> {
        &self.start
    }

    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The request method (`None` for responses).
    pub fn method(&self) -> Option<Method<'a>> {
        match self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// The raw Request-URI (`None` for responses).
    pub fn request_uri(&self) -> Option<&'a [u8]> {
        match self.start {
            StartLine::Request { uri, .. } => Some(self.slice(uri)),
            StartLine::Response { .. } => None,
        }
    }

    pub fn request_uri_span(&self) -> Option<Span> {
        match self.start {
            StartLine::Request { uri, .. } => Some(uri),
            StartLine::Response { .. } => None,
        }
    }

    /// Status code of a response.
    pub fn status(&self) -> Option<u16> {
        match self.start {
            StartLine::Response { code, .. } => Some(code),
            StartLine::Request { .. } => None,
        }
    }

    /// The first defect found, if any.
    pub fn defect(&self) -> Option<Defect> {
        self.defect
    }

    pub fn headers(&self) -> &[HeaderField] {
        &self.headers
    }

    pub fn headers_end(&self) -> usize {
        self.headers_end as usize
    }

    pub fn body(&self) -> &'a [u8] {
        self.slice(self.body)
    }

    pub fn body_span(&self) -> Span {
        self.body
    }

    /// Header lines with this name, in order.
    pub fn fields(&self, name: HeaderName) -> impl Iterator<Item = &HeaderField> + '_ {
        self.headers.iter().filter(move |h| h.name == name)
    }

    /// Header lines whose name equals `name` case-insensitively (for
    /// headers that are [`HeaderName::Other`]); compact forms are resolved.
    pub fn fields_by_name<'s>(
        &'s self,
        name: &'s str,
    ) -> impl Iterator<Item = &'s HeaderField> + 's {
        let known = HeaderName::classify(name.as_bytes());
        self.headers.iter().filter(move |h| {
            if known != HeaderName::Other {
                h.name == known
            } else {
                h.name == HeaderName::Other
                    && self.slice(h.raw_name).eq_ignore_ascii_case(name.as_bytes())
            }
        })
    }

    /// The value of the first header line with this name.
    pub fn value(&self, name: HeaderName) -> Option<&'a [u8]> {
        self.headers
            .iter()
            .find(|h| h.name == name)
            .map(|h| self.slice(h.value))
    }

    /// Number of header lines with this name.
    pub fn count(&self, name: HeaderName) -> usize {
        self.headers.iter().filter(|h| h.name == name).count()
    }

    /// Every comma-separated value of every line with this name, in order.
    pub fn list(&self, name: HeaderName) -> impl Iterator<Item = &'a [u8]> + '_ {
        let buf = self.buf;
        self.fields(name)
            .flat_map(move |h| CommaSplit::new(&buf[h.value.range()]))
    }

    pub fn call_id(&self) -> Option<&'a [u8]> {
        self.value(HeaderName::CallId)
    }

    /// The topmost Via value.
    pub fn top_via(&self) -> Option<Result<Via<'a>, &'static str>> {
        self.list(HeaderName::Via).next().map(Via::parse)
    }

    pub fn cseq(&self) -> Option<Result<CSeq<'a>, &'static str>> {
        self.value(HeaderName::CSeq).map(CSeq::parse)
    }

    pub fn from(&self) -> Option<Result<NameAddr<'a>, &'static str>> {
        self.value(HeaderName::From).map(NameAddr::parse)
    }

    pub fn to(&self) -> Option<Result<NameAddr<'a>, &'static str>> {
        self.value(HeaderName::To).map(NameAddr::parse)
    }

    /// Max-Forwards, if present: `Err` if it is not a number.
    pub fn max_forwards(&self) -> Option<Result<u32, &'static str>> {
        self.value(HeaderName::MaxForwards)
            .map(|v| parse_u32(v).ok_or("invalid Max-Forwards"))
    }

    pub fn content_type(&self) -> Option<&'a [u8]> {
        self.value(HeaderName::ContentType)
    }
}

/// The CSeq header: sequence number and method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CSeq<'a> {
    pub seq: u32,
    pub method: &'a [u8],
}

impl<'a> CSeq<'a> {
    pub fn parse(v: &'a [u8]) -> Result<CSeq<'a>, &'static str> {
        let v = trim(v);
        let n = v.iter().take_while(|b| b.is_ascii_digit()).count();
        let seq = parse_u32(&v[..n]).ok_or("invalid CSeq number")?;
        let method = trim(&v[n..]);
        if method.len() == v.len() - n || !is_token_str(method) {
            return Err("invalid CSeq method");
        }
        Ok(CSeq { seq, method })
    }
}

/// `(end of line content, start of next line)` for the line starting at `pos`.
/// Accepts CRLF and bare LF terminators.
#[inline]
fn line_bounds(buf: &[u8], pos: usize) -> (usize, usize) {
    match memchr::memchr(b'\n', &buf[pos..]) {
        Some(i) => {
            let nl = pos + i;
            let end = if nl > pos && buf[nl - 1] == b'\r' {
                nl - 1
            } else {
                nl
            };
            (end, nl + 1)
        }
        None => (buf.len(), buf.len()),
    }
}

#[inline]
fn offset_of(buf: &[u8], sub: &[u8]) -> usize {
    sub.as_ptr() as usize - buf.as_ptr() as usize
}

fn parse_start_line<'a>(
    buf: &'a [u8],
    start: usize,
    end: usize,
    note: &mut impl FnMut(Defect),
) -> Result<StartLine<'a>, ParseError> {
    let line = &buf[start..end];
    if let Some(rest) = line.strip_prefix(b"SIP/") {
        // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
        if !rest.starts_with(b"2.0 ") {
            return Err(ParseError::BadResponse(
                "unsupported SIP version in status line",
            ));
        }
        let rest = &rest[4..];
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits != 3 || (rest.len() > 3 && rest[3] != b' ') {
            return Err(ParseError::BadResponse("status code is not three digits"));
        }
        let code = u16::from(rest[0] - b'0') * 100
            + u16::from(rest[1] - b'0') * 10
            + u16::from(rest[2] - b'0');
        if !(100..=699).contains(&code) {
            return Err(ParseError::BadResponse("status code out of range"));
        }
        let reason_start = start + 4 + 4 + 3 + usize::from(rest.len() > 3);
        return Ok(StartLine::Response {
            code,
            reason: Span::new(reason_start.min(end), end),
        });
    }
    // Request-Line = Method SP Request-URI SP SIP-Version
    let m_len = line.iter().take_while(|&&b| is_token(b)).count();
    if m_len == 0 || line.get(m_len) != Some(&b' ') {
        return Err(ParseError::Garbage("no request or status line"));
    }
    let method = Method::from_bytes(&line[..m_len]);
    let after = &line[m_len + 1..];
    let mut parts = after.split(|&b| b == b' ');
    let uri = parts.next().unwrap_or_default();
    let version = parts.next();
    let extra = parts.next();
    let uri_start = start + m_len + 1;
    let uri_span = Span::new(uri_start, uri_start + uri.len());
    let version = match (version, extra) {
        (Some(b"SIP/2.0"), None) if !uri.is_empty() => Version::Sip20,
        (Some(v), None) if !uri.is_empty() && is_sip_version(v) => Version::Unsupported,
        _ => {
            note(Defect::Malformed("Bad Request (malformed Request-Line)"));
            Version::Sip20
        }
    };
    Ok(StartLine::Request {
        method,
        uri: uri_span,
        version,
    })
}

/// `SIP/1*DIGIT.1*DIGIT`
fn is_sip_version(v: &[u8]) -> bool {
    let Some(rest) = v.strip_prefix(b"SIP/") else {
        return false;
    };
    let mut it = rest.splitn(2, |&b| b == b'.');
    let (Some(major), Some(minor)) = (it.next(), it.next()) else {
        return false;
    };
    !major.is_empty()
        && !minor.is_empty()
        && major.iter().all(u8::is_ascii_digit)
        && minor.iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const INVITE: &[u8] = b"INVITE sip:+15551234567@10.0.0.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP 203.0.113.7:5060;branch=z9hG4bK776asdhds;rport\r\n\
Max-Forwards: 70\r\n\
To: <sip:+15551234567@10.0.0.1>\r\n\
From: \"Alice\" <sip:15550001111@203.0.113.7>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:15550001111@203.0.113.7:5060>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\
\r\n\
v=0\r";

    fn parse(b: &[u8]) -> Message<'_> {
        Message::parse(b, &Limits::default()).unwrap()
    }

    #[test]
    fn request_fields() {
        let m = parse(INVITE);
        assert!(m.defect().is_none());
        assert_eq!(m.method(), Some(Method::Known(rsip::Method::Invite)));
        assert_eq!(m.request_uri(), Some(&b"sip:+15551234567@10.0.0.1"[..]));
        assert_eq!(m.headers().len(), 9);
        assert_eq!(
            m.call_id(),
            Some(&b"a84b4c76e66710@pc33.atlanta.example.com"[..])
        );
        let cseq = m.cseq().unwrap().unwrap();
        assert_eq!((cseq.seq, cseq.method), (314159, &b"INVITE"[..]));
        assert_eq!(m.max_forwards(), Some(Ok(70)));
        assert_eq!(
            m.top_via().unwrap().unwrap().branch,
            Some(&b"z9hG4bK776asdhds"[..])
        );
        assert_eq!(m.from().unwrap().unwrap().tag(), Some(&b"1928301774"[..]));
        assert_eq!(m.body(), b"v=0\r");
        assert_eq!(&m.buf()[m.headers_end()..m.headers_end() + 2], b"\r\n");
    }

    #[test]
    fn compact_folded_multi_value() {
        let msg = b"OPTIONS sip:x@y SIP/2.0\r\nv: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/TCP b;branch=z9hG4bK2\r\nv:SIP/2.0/UDP c\r\ni: abc\r\nf: <sip:a@b>;tag=1\r\nt: sip:c@d\r\ncseq: 0009\r\n  OPTIONS\r\nl: 0\r\n\r\n";
        let m = parse(msg);
        assert!(m.defect().is_none(), "{:?}", m.defect());
        let vias: Vec<_> = m.list(HeaderName::Via).collect();
        assert_eq!(vias.len(), 3);
        let cseq = m.cseq().unwrap().unwrap();
        assert_eq!((cseq.seq, cseq.method), (9, &b"OPTIONS"[..]));
        assert_eq!(m.count(HeaderName::ContentLength), 1);
    }

    #[test]
    fn responses_and_garbage() {
        let m = parse(b"SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP a\r\n\r\n");
        assert_eq!(m.status(), Some(180));
        assert_eq!(
            m.slice(match m.start_line() {
                StartLine::Response { reason, .. } => *reason,
                _ => unreachable!(),
            }),
            b"Ringing"
        );
        let m = parse(b"SIP/2.0 100 \r\n\r\n");
        assert_eq!(m.status(), Some(100));
        assert!(Message::parse(b"SIP/2.0 4294967301 x\r\n\r\n", &Limits::default()).is_err());
        assert!(Message::parse(b"\x00\x01\x02", &Limits::default()).is_err());
        assert!(Message::parse(b"\r\n\r\n", &Limits::default()).is_err());
    }

    #[test]
    fn defects() {
        let m = parse(b"INVITE  sip:a@b  SIP/2.0\r\nVia: SIP/2.0/UDP a\r\n\r\n");
        assert!(matches!(m.defect(), Some(Defect::Malformed(_))));
        let m = parse(b"OPTIONS sip:a@b SIP/7.0\r\n\r\n");
        assert!(matches!(
            m.start_line(),
            StartLine::Request {
                version: Version::Unsupported,
                ..
            }
        ));
        let m = parse(b"INVITE sip:a@b SIP/2.0\r\nContent-Length: 9999\r\n\r\nabc");
        assert!(matches!(m.defect(), Some(Defect::Malformed(r)) if r.contains("larger")));
        let m = parse(b"INVITE sip:a@b SIP/2.0\r\nl: 13\r\nContent-Length: 5\r\n\r\n0123456789abc");
        assert!(matches!(m.defect(), Some(Defect::Malformed(r)) if r.contains("conflicting")));
        let m = parse(b"INVITE sip:a@b SIP/2.0\r\nContent-Length: -999\r\n\r\n");
        assert!(
            matches!(m.defect(), Some(Defect::Malformed(r)) if r.contains("invalid Content-Length"))
        );
        let limits = Limits {
            max_headers: 2,
            ..Limits::default()
        };
        let m = Message::parse(
            b"OPTIONS sip:a@b SIP/2.0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
            &limits,
        )
        .unwrap();
        assert!(matches!(m.defect(), Some(Defect::TooLarge(_))));
        assert_eq!(m.headers().len(), 2);
    }

    #[test]
    fn body_truncated_to_content_length() {
        let m = parse(b"REGISTER sip:a SIP/2.0\r\nl: 0\r\n\r\nINVITE sip:junk SIP/2.0\r\n");
        assert!(m.defect().is_none());
        assert_eq!(m.body(), b"");
    }
}

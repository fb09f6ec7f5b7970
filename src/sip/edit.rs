//! Recorded edits applied on output: the untouched bytes of the original
//! message are copied as-is, only edited ranges are written anew.

use super::header::HeaderName;
use super::message::{Message, Span};
use super::scan::is_token_str;

/// Why an edit was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("invalid header name {0:?}")]
    BadName(String),
    #[error("header value for {0} contains CR, LF or NUL")]
    BadValue(String),
    #[error("message is a response; it has no Request-URI")]
    NotARequest,
}

#[derive(Debug, Clone)]
struct Edit {
    /// Bytes `[start, end)` of the original are replaced by `bytes` (insert when empty range).
    start: u32,
    end: u32,
    seq: u32,
    bytes: Vec<u8>,
}

/// An edit session over a parsed message.
pub struct Editor<'m, 'a> {
    msg: &'m Message<'a>,
    edits: Vec<Edit>,
}

fn check_value(name: &str, value: &[u8]) -> Result<(), EditError> {
    if value.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(EditError::BadValue(name.to_string()));
    }
    Ok(())
}

fn header_line(name: &str, value: &[u8]) -> Vec<u8> {
    let mut line = Vec::with_capacity(name.len() + value.len() + 4);
    line.extend_from_slice(name.as_bytes());
    line.extend_from_slice(b": ");
    line.extend_from_slice(value);
    line.extend_from_slice(b"\r\n");
    line
}

impl<'m, 'a> Editor<'m, 'a> {
    pub fn new(msg: &'m Message<'a>) -> Self {
        Editor {
            msg,
            edits: Vec::new(),
        }
    }

    fn push(&mut self, span: Span, bytes: Vec<u8>) {
        let seq = self.edits.len() as u32;
        self.edits.push(Edit {
            start: span.start,
            end: span.end,
            seq,
            bytes,
        });
    }

    /// Replaces the Request-URI.
    pub fn set_request_uri(&mut self, uri: &[u8]) -> Result<(), EditError> {
        let span = self.msg.request_uri_span().ok_or(EditError::NotARequest)?;
        check_value("Request-URI", uri)?;
        if uri.contains(&b' ') {
            return Err(EditError::BadValue("Request-URI".into()));
        }
        self.push(span, uri.to_vec());
        Ok(())
    }

    /// Inserts a new topmost Via.
    pub fn push_via(&mut self, value: &[u8]) -> Result<(), EditError> {
        check_value("Via", value)?;
        let at = self
            .msg
            .fields(HeaderName::Via)
            .next()
            .or_else(|| self.msg.headers().first())
            .map_or(self.msg.headers_end() as u32, |h| h.line.start);
        self.push(Span { start: at, end: at }, header_line("Via", value));
        Ok(())
    }

    /// Sets Max-Forwards, adding the header if it is missing.
    pub fn set_max_forwards(&mut self, n: u32) {
        let digits = itoa::Buffer::new().format(n).as_bytes().to_vec();
        match self.msg.fields(HeaderName::MaxForwards).next() {
            Some(h) => {
                let span = h.value;
                self.push(span, digits);
            }
            None => {
                let at = self.msg.headers_end() as u32;
                self.push(
                    Span { start: at, end: at },
                    header_line("Max-Forwards", &digits),
                );
            }
        }
    }

    /// Removes every line of a header, by case-insensitive name (compact forms too).
    pub fn remove_header(&mut self, name: &str) {
        let lines: Vec<Span> = self.msg.fields_by_name(name).map(|h| h.line).collect();
        for line in lines {
            self.push(line, Vec::new());
        }
    }

    /// Appends a header line after the existing ones.
    pub fn add_header(&mut self, name: &str, value: &[u8]) -> Result<(), EditError> {
        if !is_token_str(name.as_bytes()) {
            return Err(EditError::BadName(name.to_string()));
        }
        check_value(name, value)?;
        let at = self.msg.headers_end() as u32;
        self.push(Span { start: at, end: at }, header_line(name, value));
        Ok(())
    }

    /// Writes the edited message: everything from the start line to the end
    /// of the body (bytes after the body, e.g. datagram padding, are not kept).
    /// A missing Content-Length is added so the result can go over a stream.
    pub fn finish(mut self) -> Vec<u8> {
        let msg = self.msg;
        if msg.count(HeaderName::ContentLength) == 0 {
            let n = msg.body().len();
            let at = msg.headers_end() as u32;
            let digits = itoa::Buffer::new().format(n).as_bytes().to_vec();
            self.push(
                Span { start: at, end: at },
                header_line("Content-Length", &digits),
            );
        }
        // Insertions at an offset go before a replacement starting there, so a
        // removed line never swallows a header inserted in front of it.
        self.edits
            .sort_by_key(|e| (e.start, e.end != e.start, e.seq));
        let buf = msg.buf();
        let end = msg.body_span().end as usize;
        let mut out =
            Vec::with_capacity(end + self.edits.iter().map(|e| e.bytes.len()).sum::<usize>());
        let mut pos = 0usize;
        for e in &self.edits {
            let (s, t) = (e.start as usize, e.end as usize);
            if s < pos {
                // Inside a range already replaced or removed: the earlier edit wins.
                continue;
            }
            out.extend_from_slice(&buf[pos..s]);
            out.extend_from_slice(&e.bytes);
            pos = t;
        }
        out.extend_from_slice(&buf[pos..end]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::Limits;

    const REQ: &[u8] = b"INVITE sip:+1555@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nMax-Forwards: 70\r\nX-Foo: 1\r\nx-foo: 2\r\nFrom: <sip:a@b>;tag=1\r\nContent-Length: 3\r\n\r\nabcJUNK";

    #[test]
    fn edits_touch_only_their_ranges() {
        let m = Message::parse(REQ, &Limits::default()).unwrap();
        let mut e = Editor::new(&m);
        e.set_request_uri(b"sip:1555@198.51.100.10:5060").unwrap();
        e.push_via(b"SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKnew;rport")
            .unwrap();
        e.set_max_forwards(69);
        e.remove_header("X-FOO");
        e.add_header("X-Customer", b"acme").unwrap();
        let out = String::from_utf8(e.finish()).unwrap();
        assert_eq!(
            out,
            "INVITE sip:1555@198.51.100.10:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKnew;rport\r\n\
Via: SIP/2.0/UDP a;branch=z9hG4bK1\r\n\
Max-Forwards: 69\r\n\
From: <sip:a@b>;tag=1\r\n\
Content-Length: 3\r\n\
X-Customer: acme\r\n\
\r\nabc"
        );
    }

    #[test]
    fn insert_survives_removal_of_the_line_it_precedes() {
        let raw = b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nContent-Length: 0\r\n\r\n";
        let m = Message::parse(raw, &Limits::default()).unwrap();
        let mut e = Editor::new(&m);
        e.remove_header("Via");
        e.push_via(b"SIP/2.0/UDP new;branch=z9hG4bKnew").unwrap();
        let out = String::from_utf8(e.finish()).unwrap();
        assert_eq!(
            out,
            "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP new;branch=z9hG4bKnew\r\nFrom: <sip:a@b>;tag=1\r\nContent-Length: 0\r\n\r\n"
        );
    }

    #[test]
    fn refuses_injection_and_adds_content_length() {
        let raw = b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP a\r\n\r\nv=0\r\n";
        let m = Message::parse(raw, &Limits::default()).unwrap();
        let mut e = Editor::new(&m);
        assert!(e.add_header("X-A", b"1\r\nVia: evil").is_err());
        assert!(e.add_header("X A", b"1").is_err());
        e.set_max_forwards(70);
        let out = String::from_utf8(e.finish()).unwrap();
        assert!(
            out.ends_with("Max-Forwards: 70\r\nContent-Length: 5\r\n\r\nv=0\r\n"),
            "{out}"
        );
    }
}

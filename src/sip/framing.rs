//! Stream framing (RFC 3261 §18.3): find where one message ends in a TCP byte
//! stream by its Content-Length, keeping "need more bytes" apart from
//! "malformed", and RFC 5626 CRLF keep-alives apart from messages.

use super::message::Limits;
use super::scan::{parse_u32, trim};

/// What the front of a stream buffer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// A whole message of this many bytes.
    Message(usize),
    /// CR/LF bytes to skip; `pong` when they form an RFC 5626 double-CRLF ping.
    KeepAlive { len: usize, pong: bool },
    /// Not enough bytes yet.
    Incomplete,
}

/// The stream cannot be framed any more: answer if possible, then close.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The header block or the announced message is over the size cap.
    #[error("message too large")]
    TooLarge { header_len: Option<usize> },
    /// Content-Length missing a value, negative, non-numeric or conflicting.
    #[error("invalid Content-Length")]
    BadContentLength { header_len: usize },
}

/// Frames the first message in `buf`.
///
/// The header block ends at the first empty line, found line by line exactly
/// as [`Message::parse`](super::Message::parse) finds it (CRLF or bare LF),
/// and Content-Length may be folded, so framing and parsing always agree.
pub fn frame(buf: &[u8], limits: &Limits) -> Result<Frame, FrameError> {
    let crlf = buf
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count();
    if crlf > 0 {
        if buf.starts_with(b"\r\n\r\n") {
            return Ok(Frame::KeepAlive { len: 4, pong: true });
        }
        if crlf == buf.len() && crlf < 4 && b"\r\n\r\n".starts_with(buf) {
            return Ok(Frame::Incomplete);
        }
        return Ok(Frame::KeepAlive {
            len: crlf,
            pong: false,
        });
    }
    let mut content_length: Option<u32> = None;
    let mut bad_length = false;
    // The Content-Length value being read, possibly over folded lines.
    let mut cl_value: Option<Vec<u8>> = None;
    let mut finish_cl = |v: Option<Vec<u8>>| {
        let Some(v) = v else { return };
        match parse_u32(trim(&v)) {
            Some(n) if content_length.is_none_or(|prev| prev == n) => content_length = Some(n),
            _ => bad_length = true,
        }
    };
    let mut pos = 0;
    let mut first = true;
    let header_len = loop {
        let Some(nl) = memchr::memchr(b'\n', &buf[pos..]) else {
            if buf.len() > limits.max_message_bytes {
                return Err(FrameError::TooLarge { header_len: None });
            }
            return Ok(Frame::Incomplete);
        };
        let mut line = &buf[pos..pos + nl];
        pos += nl + 1;
        if pos > limits.max_message_bytes {
            return Err(FrameError::TooLarge { header_len: None });
        }
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        if line.is_empty() {
            break pos;
        }
        if std::mem::take(&mut first) {
            continue; // the start line
        }
        if line[0] == b' ' || line[0] == b'\t' {
            if let Some(v) = cl_value.as_mut() {
                v.push(b' ');
                v.extend_from_slice(line);
            }
            continue;
        }
        // A new header line: the previous Content-Length value is complete.
        finish_cl(cl_value.take());
        if let Some(colon) = memchr::memchr(b':', line) {
            let name = trim(&line[..colon]);
            if name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l") {
                cl_value = Some(line[colon + 1..].to_vec());
            }
        }
    };
    finish_cl(cl_value.take());
    if bad_length {
        return Err(FrameError::BadContentLength { header_len });
    }
    // RFC 3261 §18.3 makes Content-Length mandatory on streams; a message
    // without one is taken to have no body.
    let total = header_len + content_length.unwrap_or(0) as usize;
    if total > limits.max_message_bytes {
        return Err(FrameError::TooLarge {
            header_len: Some(header_len),
        });
    }
    if buf.len() < total {
        return Ok(Frame::Incomplete);
    }
    Ok(Frame::Message(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: Limits = Limits {
        max_message_bytes: 200,
        max_headers: 10,
        max_line_bytes: 100,
    };

    #[test]
    fn frames_by_content_length() {
        let two = b"OPTIONS sip:a SIP/2.0\r\nl: 3\r\n\r\nabcOPTIONS sip:b SIP/2.0\r\n\r\n";
        assert_eq!(frame(two, &L), Ok(Frame::Message(34)));
        assert_eq!(frame(&two[34..], &L), Ok(Frame::Message(25)));
        assert_eq!(frame(&two[..33], &L), Ok(Frame::Incomplete));
        assert_eq!(frame(&two[..20], &L), Ok(Frame::Incomplete));
    }

    #[test]
    fn keepalives() {
        assert_eq!(
            frame(b"\r\n\r\nINVITE", &L),
            Ok(Frame::KeepAlive { len: 4, pong: true })
        );
        assert_eq!(frame(b"\r\n", &L), Ok(Frame::Incomplete));
        assert_eq!(
            frame(b"\r\nINV", &L),
            Ok(Frame::KeepAlive {
                len: 2,
                pong: false
            })
        );
    }

    #[test]
    fn agrees_with_the_parser_on_line_ends_and_folding() {
        // An earlier bare-LF blank line ends the first message.
        let two = b"OPTIONS sip:a SIP/2.0\nl: 0\n\nOPTIONS sip:b SIP/2.0\r\nl: 0\r\n\r\n";
        assert_eq!(frame(two, &L), Ok(Frame::Message(28)));
        assert_eq!(
            frame(b"OPTIONS sip:a SIP/2.0\nl: 0\n\r\n", &L),
            Ok(Frame::Message(29))
        );
        let folded = b"OPTIONS sip:a SIP/2.0\r\nContent-Length:\r\n 3\r\n\r\nabc";
        assert_eq!(frame(folded, &L), Ok(Frame::Message(folded.len())));
    }

    #[test]
    fn malformed_and_oversized() {
        let neg = b"INVITE sip:a SIP/2.0\r\nContent-Length: -999\r\n\r\n";
        assert!(matches!(
            frame(neg, &L),
            Err(FrameError::BadContentLength { .. })
        ));
        let two = b"INVITE sip:a SIP/2.0\r\nl: 13\r\nContent-Length: 5\r\n\r\n";
        assert!(matches!(
            frame(two, &L),
            Err(FrameError::BadContentLength { .. })
        ));
        let big = b"INVITE sip:a SIP/2.0\r\nl: 9999\r\n\r\n";
        assert!(matches!(
            frame(big, &L),
            Err(FrameError::TooLarge {
                header_len: Some(_)
            })
        ));
        assert!(matches!(
            frame(&[b'A'; 300], &L),
            Err(FrameError::TooLarge { header_len: None })
        ));
    }
}

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
    let header_len = match memchr::memmem::find(buf, b"\r\n\r\n") {
        Some(i) => i + 4,
        None => match memchr::memmem::find(buf, b"\n\n") {
            Some(i) => i + 2,
            None => {
                if buf.len() > limits.max_message_bytes {
                    return Err(FrameError::TooLarge { header_len: None });
                }
                return Ok(Frame::Incomplete);
            }
        },
    };
    if header_len > limits.max_message_bytes {
        return Err(FrameError::TooLarge { header_len: None });
    }
    let mut content_length: Option<u32> = None;
    for line in buf[..header_len].split(|&b| b == b'\n').skip(1) {
        let Some(colon) = memchr::memchr(b':', line) else {
            continue;
        };
        if line.first().is_some_and(|&b| b == b' ' || b == b'\t') {
            continue;
        }
        let name = trim(&line[..colon]);
        if !(name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l")) {
            continue;
        }
        let v = parse_u32(trim(&line[colon + 1..]))
            .ok_or(FrameError::BadContentLength { header_len })?;
        if content_length.is_some_and(|prev| prev != v) {
            return Err(FrameError::BadContentLength { header_len });
        }
        content_length = Some(v);
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

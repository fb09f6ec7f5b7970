//! Transaction keys (RFC 3261 §17.1.3, §17.2.3). A [`TxKey`] is one owned
//! byte string: a variant tag and length-prefixed fields, so hashing and
//! comparing are plain byte operations and a key costs one allocation.
//!
//! * Server, RFC 3261 (`branch` starts with `z9hG4bK`): branch, sent-by host
//!   (lower-cased) and port (absent = 0, compared literally), and the method —
//!   ACK takes INVITE's so it matches the INVITE transaction; CANCEL has its
//!   own key, and [`TxKey::cancelled_invite`] gives the INVITE's.
//! * Server, RFC 2543 fallback (no magic cookie): Request-URI, From tag,
//!   Call-ID, CSeq number, the whole top Via value, the method (ACK → INVITE)
//!   and the To tag. For INVITE and ACK the To tag is left out: the ACK
//!   carries the tag of the response, which the INVITE did not have (§17.2.3
//!   matches it against the response sent; leaving it out is the usual
//!   simplification).
//! * Client: our branch and the method (CSeq method of a response).

use std::borrow::Borrow;
use std::fmt;

use crate::sip::header::HeaderName;
use crate::sip::message::{Message, Method};
use crate::sip::via::Via;

/// Longest key accepted (the sum of its fields); longer inputs are refused.
pub const MAX_KEY_BYTES: usize = 4096;

const TAG_RFC3261: u8 = 1;
const TAG_RFC2543: u8 = 2;
const TAG_CLIENT: u8 = 3;

/// Why no key could be derived from a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not a request")]
    NotARequest,
    #[error("not a response")]
    NotAResponse,
    #[error("missing Via header")]
    MissingVia,
    #[error("invalid Via: {0}")]
    BadVia(&'static str),
    #[error("no RFC 3261 branch in the top Via")]
    NoBranch,
    #[error("missing or invalid {0}")]
    Missing(&'static str),
    #[error("transaction key too long")]
    TooLong,
}

/// A transaction key: server (RFC 3261 or RFC 2543 fallback) or client.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TxKey(Box<[u8]>);

impl Borrow<[u8]> for TxKey {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

struct Builder(Vec<u8>);

impl Builder {
    fn new(tag: u8, cap: usize) -> Builder {
        let mut v = Vec::with_capacity(cap.min(MAX_KEY_BYTES) + 16);
        v.push(tag);
        Builder(v)
    }

    fn field(&mut self, b: &[u8]) -> Result<&mut Builder, KeyError> {
        self.reserve(b.len())?;
        self.0.extend_from_slice(b);
        Ok(self)
    }

    fn field_lower(&mut self, b: &[u8]) -> Result<&mut Builder, KeyError> {
        self.reserve(b.len())?;
        self.0.extend(b.iter().map(u8::to_ascii_lowercase));
        Ok(self)
    }

    fn reserve(&mut self, len: usize) -> Result<(), KeyError> {
        if self.0.len() + len + 2 > MAX_KEY_BYTES {
            return Err(KeyError::TooLong);
        }
        // len < MAX_KEY_BYTES < u16::MAX
        self.0.extend_from_slice(&(len as u16).to_be_bytes());
        Ok(())
    }

    fn finish(&mut self) -> TxKey {
        TxKey(std::mem::take(&mut self.0).into_boxed_slice())
    }
}

/// The method a request's transaction is keyed under: ACK belongs to INVITE.
fn method_class<'a>(m: Method<'a>) -> &'a [u8] {
    if m.is(rsip::Method::Ack) {
        b"INVITE"
    } else {
        m.as_bytes()
    }
}

fn top_via<'a>(msg: &Message<'a>) -> Result<(&'a [u8], Via<'a>), KeyError> {
    let raw = msg
        .list(HeaderName::Via)
        .next()
        .ok_or(KeyError::MissingVia)?;
    let via = Via::parse(raw).map_err(KeyError::BadVia)?;
    Ok((raw, via))
}

impl TxKey {
    /// The server transaction key of a request (§17.2.3); an ACK yields the
    /// key of the INVITE transaction it acknowledges.
    pub fn server(msg: &Message<'_>) -> Result<TxKey, KeyError> {
        let method = msg.method().ok_or(KeyError::NotARequest)?;
        Self::server_as(msg, method_class(method))
    }

    /// For a CANCEL: the key of the INVITE server transaction it cancels (§9.2).
    pub fn cancelled_invite(msg: &Message<'_>) -> Result<TxKey, KeyError> {
        msg.method().ok_or(KeyError::NotARequest)?;
        Self::server_as(msg, b"INVITE")
    }

    fn server_as(msg: &Message<'_>, method: &[u8]) -> Result<TxKey, KeyError> {
        let (raw_via, via) = top_via(msg)?;
        if via.has_rfc3261_branch() {
            let branch = via.branch.unwrap_or_default();
            let mut b = Builder::new(TAG_RFC3261, branch.len() + via.host.len() + 16);
            b.field(method)?
                .field(branch)?
                .field_lower(via.host)?
                .field(&via.port.unwrap_or(0).to_be_bytes())?;
            return Ok(b.finish());
        }
        // RFC 2543 fallback.
        let ruri = msg.request_uri().ok_or(KeyError::NotARequest)?;
        let call_id = msg.call_id().ok_or(KeyError::Missing("Call-ID"))?;
        let cseq = msg
            .cseq()
            .and_then(Result::ok)
            .ok_or(KeyError::Missing("CSeq"))?;
        let from = msg
            .from()
            .and_then(Result::ok)
            .ok_or(KeyError::Missing("From"))?;
        let to_tag = if method == b"INVITE" {
            None
        } else {
            msg.to()
                .and_then(Result::ok)
                .ok_or(KeyError::Missing("To"))?
                .tag()
        };
        let mut b = Builder::new(TAG_RFC2543, ruri.len() + call_id.len() + raw_via.len() + 64);
        b.field(method)?
            .field(ruri)?
            .field(from.tag().unwrap_or_default())?
            .field(call_id)?
            .field(&cseq.seq.to_be_bytes())?
            .field(raw_via)?
            .field(to_tag.unwrap_or_default())?;
        Ok(b.finish())
    }

    /// The key of a client transaction we create: our branch and the method.
    pub fn client(branch: &[u8], method: &[u8]) -> Result<TxKey, KeyError> {
        let mut b = Builder::new(TAG_CLIENT, branch.len() + method.len());
        b.field(method)?.field(branch)?;
        Ok(b.finish())
    }

    /// The client transaction a response belongs to (§17.1.3): the branch of
    /// its top Via and its CSeq method.
    pub fn client_for_response(msg: &Message<'_>) -> Result<TxKey, KeyError> {
        if msg.status().is_none() {
            return Err(KeyError::NotAResponse);
        }
        let (_, via) = top_via(msg)?;
        let branch = via
            .branch
            .filter(|b| !b.is_empty())
            .ok_or(KeyError::NoBranch)?;
        let cseq = msg
            .cseq()
            .and_then(Result::ok)
            .ok_or(KeyError::Missing("CSeq"))?;
        Self::client(branch, cseq.method)
    }

    /// True for an RFC 2543 (no magic cookie) server key.
    pub fn is_rfc2543(&self) -> bool {
        self.0.first() == Some(&TAG_RFC2543)
    }

    /// True for a client transaction key.
    pub fn is_client(&self) -> bool {
        self.0.first() == Some(&TAG_CLIENT)
    }

    /// The encoded key (what the table hashes).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The method field (INVITE for an ACK's key).
    pub fn method(&self) -> &[u8] {
        self.fields().next().unwrap_or_default()
    }

    fn fields(&self) -> impl Iterator<Item = &[u8]> {
        let mut rest = self.0.get(1..).unwrap_or_default();
        std::iter::from_fn(move || {
            let (len, tail) = rest.split_first_chunk::<2>()?;
            let len = usize::from(u16::from_be_bytes(*len)).min(tail.len());
            let (f, r) = tail.split_at(len);
            rest = r;
            Some(f)
        })
    }
}

impl fmt::Debug for TxKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.0.first() {
            Some(&TAG_RFC3261) => "Rfc3261",
            Some(&TAG_RFC2543) => "Rfc2543",
            Some(&TAG_CLIENT) => "Client",
            _ => "?",
        };
        let mut t = f.debug_tuple(kind);
        for field in self.fields() {
            t.field(&String::from_utf8_lossy(field));
        }
        t.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::Limits;

    const INVITE: &str = "INVITE sip:bob@b.example SIP/2.0\r\n\
Via: SIP/2.0/UDP PC33.a.example:5060;branch=z9hG4bK776asdhds\r\n\
Via: SIP/2.0/UDP 10.1.1.1;branch=z9hG4bKfirst\r\n\
From: <sip:alice@a.example>;tag=1928\r\n\
To: <sip:bob@b.example>\r\n\
Call-ID: abc@a\r\n\
CSeq: 1 INVITE\r\n\
Content-Length: 0\r\n\r\n";

    fn key(raw: &str) -> Result<TxKey, KeyError> {
        TxKey::server(&Message::parse(raw.as_bytes(), &Limits::default()).unwrap())
    }

    /// The ACK for a non-2xx: same branch, To tag from the response, method ACK.
    fn ack_of(invite: &str) -> String {
        invite
            .replacen("INVITE sip", "ACK sip", 1)
            .replace("CSeq: 1 INVITE", "CSeq: 1 ACK")
            .replace("To: <sip:bob@b.example>", "To: <sip:bob@b.example>;tag=xyz")
    }

    fn cancel_of(invite: &str) -> String {
        invite
            .replacen("INVITE sip", "CANCEL sip", 1)
            .replace("CSeq: 1 INVITE", "CSeq: 1 CANCEL")
    }

    #[test]
    fn rfc3261_matching() {
        let k = key(INVITE).unwrap();
        assert!(!k.is_rfc2543() && !k.is_client());
        assert_eq!(k.method(), b"INVITE");
        // Retransmission (host case differs, other headers differ): same key.
        assert_eq!(
            key(&INVITE
                .replace("PC33.a.example", "pc33.A.example")
                .replace("Call-ID: abc@a", "Call-ID: other"))
            .unwrap(),
            k
        );
        // ACK for a non-2xx matches the INVITE transaction.
        assert_eq!(key(&ack_of(INVITE)).unwrap(), k);
        // An ACK for a 2xx has a new branch: no match.
        assert_ne!(
            key(&ack_of(INVITE).replace("776asdhds", "2xxack")).unwrap(),
            k
        );
        // CANCEL: its own transaction, and it points at the INVITE's.
        let raw = cancel_of(INVITE);
        let cancel = Message::parse(raw.as_bytes(), &Limits::default()).unwrap();
        assert_ne!(TxKey::server(&cancel).unwrap(), k);
        assert_eq!(TxKey::cancelled_invite(&cancel).unwrap(), k);
        // Different branch, sent-by host or port: different transactions.
        for other in [
            INVITE.replace("776asdhds", "776asdhdt"),
            INVITE.replace("PC33.a.example:5060", "pc34.a.example:5060"),
            INVITE.replace("PC33.a.example:5060", "PC33.a.example:5070"),
            INVITE.replace("PC33.a.example:5060", "PC33.a.example"),
        ] {
            assert_ne!(key(&other).unwrap(), k, "{other}");
        }
        // Branch comparison is exact.
        assert_ne!(key(&INVITE.replace("776asdhds", "776ASDHDS")).unwrap(), k);
    }

    #[test]
    fn rfc2543_fallback() {
        let old = INVITE.replace(";branch=z9hG4bK776asdhds", ";branch=1234");
        let k = key(&old).unwrap();
        assert!(k.is_rfc2543());
        assert_eq!(key(&old).unwrap(), k);
        assert_eq!(key(&ack_of(&old)).unwrap(), k, "ACK matches the INVITE");
        let raw = cancel_of(&old);
        let cancel = Message::parse(raw.as_bytes(), &Limits::default()).unwrap();
        assert_ne!(TxKey::server(&cancel).unwrap(), k);
        assert_eq!(TxKey::cancelled_invite(&cancel).unwrap(), k);
        // Each matched field makes a difference.
        for other in [
            old.replace("INVITE sip:bob@b.example", "INVITE sip:carol@b.example"),
            old.replace("tag=1928", "tag=1929"),
            old.replace("Call-ID: abc@a", "Call-ID: abd@a"),
            old.replace("CSeq: 1 INVITE", "CSeq: 2 INVITE"),
            old.replace("branch=1234", "branch=1235"),
            old.replace("UDP PC33", "TCP PC33"),
        ] {
            assert_ne!(key(&other).unwrap(), k, "{other}");
        }
        // No branch at all is RFC 2543 too; an ACK with a different CSeq number does not match.
        let nobranch = INVITE.replace(";branch=z9hG4bK776asdhds", "");
        assert!(key(&nobranch).unwrap().is_rfc2543());
        assert_ne!(
            key(&ack_of(&old).replace("CSeq: 1 ACK", "CSeq: 2 ACK")).unwrap(),
            k
        );
        // Non-INVITE requests keep the To tag in the key.
        let bye = old
            .replacen("INVITE sip", "BYE sip", 1)
            .replace("CSeq: 1 INVITE", "CSeq: 1 BYE")
            .replace("To: <sip:bob@b.example>", "To: <sip:bob@b.example>;tag=t1");
        assert_ne!(
            key(&bye).unwrap(),
            key(&bye.replace("tag=t1", "tag=t2")).unwrap()
        );
    }

    #[test]
    fn client_keys() {
        let resp = "SIP/2.0 180 Ringing\r\n\
Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKours\r\n\
Via: SIP/2.0/UDP 203.0.113.7;branch=z9hG4bKtheirs\r\n\
CSeq: 5 INVITE\r\n\r\n";
        let m = Message::parse(resp.as_bytes(), &Limits::default()).unwrap();
        let k = TxKey::client_for_response(&m).unwrap();
        assert!(k.is_client());
        assert_eq!(k, TxKey::client(b"z9hG4bKours", b"INVITE").unwrap());
        // A CANCEL response matches the CANCEL transaction, not the INVITE.
        let c = resp.replace("5 INVITE", "5 CANCEL");
        let m = Message::parse(c.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(
            TxKey::client_for_response(&m).unwrap(),
            TxKey::client(b"z9hG4bKours", b"CANCEL").unwrap()
        );
        // Server and client keys never collide.
        assert_ne!(k, key(INVITE).unwrap());
        assert_eq!(TxKey::server(&m).unwrap_err(), KeyError::NotARequest);
        let m = Message::parse(INVITE.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(TxKey::client_for_response(&m), Err(KeyError::NotAResponse));
        assert!(format!("{k:?}").contains("z9hG4bKours"));
    }

    #[test]
    fn errors_and_caps() {
        assert_eq!(
            key("INVITE sip:a@b SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n"),
            Err(KeyError::MissingVia)
        );
        assert!(matches!(
            key("INVITE sip:a@b SIP/2.0\r\nVia: garbage\r\n\r\n"),
            Err(KeyError::BadVia(_))
        ));
        let long = format!("z9hG4bK{}", "x".repeat(MAX_KEY_BYTES));
        assert_eq!(
            key(&INVITE.replace("z9hG4bK776asdhds", &long)),
            Err(KeyError::TooLong)
        );
        assert_eq!(
            key(&INVITE
                .replace(";branch=z9hG4bK776asdhds", "")
                .replace("Call-ID: abc@a\r\n", "")),
            Err(KeyError::Missing("Call-ID"))
        );
    }
}

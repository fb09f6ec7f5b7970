//! Header names: the ones the proxy reads, their compact forms (RFC 3261 §7.3.3
//! and later RFCs) and case-insensitive classification.

/// Header names sipforge looks at. Everything else is [`HeaderName::Other`] and
/// is carried through byte for byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeaderName {
    Via,
    From,
    To,
    CallId,
    CSeq,
    MaxForwards,
    Contact,
    Route,
    RecordRoute,
    ContentLength,
    ContentType,
    ContentEncoding,
    ProxyRequire,
    Require,
    Supported,
    Unsupported,
    Allow,
    Subject,
    Event,
    ReferTo,
    AllowEvents,
    UserAgent,
    Server,
    PAssertedIdentity,
    Other,
}

impl HeaderName {
    /// Canonical full name used when sipforge writes the header.
    pub fn as_str(self) -> &'static str {
        use HeaderName::*;
        match self {
            Via => "Via",
            From => "From",
            To => "To",
            CallId => "Call-ID",
            CSeq => "CSeq",
            MaxForwards => "Max-Forwards",
            Contact => "Contact",
            Route => "Route",
            RecordRoute => "Record-Route",
            ContentLength => "Content-Length",
            ContentType => "Content-Type",
            ContentEncoding => "Content-Encoding",
            ProxyRequire => "Proxy-Require",
            Require => "Require",
            Supported => "Supported",
            Unsupported => "Unsupported",
            Allow => "Allow",
            Subject => "Subject",
            Event => "Event",
            ReferTo => "Refer-To",
            AllowEvents => "Allow-Events",
            UserAgent => "User-Agent",
            Server => "Server",
            PAssertedIdentity => "P-Asserted-Identity",
            Other => "",
        }
    }

    /// Classifies a raw header name (already stripped of trailing LWS).
    /// Full and compact forms, any case.
    #[inline]
    pub fn classify(name: &[u8]) -> HeaderName {
        use HeaderName::*;
        if name.is_empty() {
            return Other;
        }
        if name.len() == 1 {
            return match name[0].to_ascii_lowercase() {
                b'v' => Via,
                b'f' => From,
                b't' => To,
                b'i' => CallId,
                b'm' => Contact,
                b'l' => ContentLength,
                b'c' => ContentType,
                b'k' => Supported,
                b's' => Subject,
                b'e' => ContentEncoding,
                b'o' => Event,
                b'r' => ReferTo,
                b'u' => AllowEvents,
                _ => Other,
            };
        }
        // Dispatch on (length, lower-cased first byte, distinguishing byte),
        // then confirm with one case-insensitive comparison.
        let lower = |i: usize| name[i] | 0x20;
        let candidate = match (name.len(), lower(0)) {
            (2, b't') => To,
            (3, b'v') => Via,
            (4, b'f') => From,
            (4, b'c') => CSeq,
            (5, b'r') => Route,
            (5, b'a') => Allow,
            (6, b's') => Server,
            (7, b'c') if lower(1) == b'a' => CallId,
            (7, b'c') => Contact,
            (7, b'r') => Require,
            (7, b's') => Subject,
            (8, b'r') => ReferTo,
            (9, b's') => Supported,
            (10, b'u') => UserAgent,
            (11, b'u') => Unsupported,
            (12, b'm') => MaxForwards,
            (12, b'r') => RecordRoute,
            (12, b'c') => ContentType,
            (12, b'a') => AllowEvents,
            (13, b'p') => ProxyRequire,
            (14, b'c') => ContentLength,
            (16, b'c') => ContentEncoding,
            (19, b'p') => PAssertedIdentity,
            _ => return Other,
        };
        // Canonical names are letters and '-', and `name` is a token, so
        // OR-ing 0x20 lower-cases letters and leaves every other byte unable
        // to match (no token character maps onto a letter or '-' otherwise).
        let canon = candidate.as_str().as_bytes();
        if canon.iter().zip(name).all(|(&c, &n)| n | 0x20 == c | 0x20) {
            candidate
        } else {
            Other
        }
    }

    /// Headers that may legitimately hold several comma-separated values.
    pub fn is_list(self) -> bool {
        use HeaderName::*;
        matches!(
            self,
            Via | Contact
                | Route
                | RecordRoute
                | ProxyRequire
                | Require
                | Supported
                | Unsupported
                | Allow
                | AllowEvents
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn empty_name_is_other() {
        assert_eq!(super::HeaderName::classify(b""), super::HeaderName::Other);
    }

    use super::HeaderName::{self, *};

    #[test]
    fn full_and_compact_forms_any_case() {
        for (raw, want) in [
            ("Via", Via),
            ("v", Via),
            ("V", Via),
            ("fROM", From),
            ("f", From),
            ("t", To),
            ("TO", To),
            ("i", CallId),
            ("call-id", CallId),
            ("m", Contact),
            ("l", ContentLength),
            ("CONTENT-LENGTH", ContentLength),
            ("c", ContentType),
            ("k", Supported),
            ("s", Subject),
            ("e", ContentEncoding),
            ("o", Event),
            ("r", ReferTo),
            ("Refer-To", ReferTo),
            ("u", AllowEvents),
            ("MaX-fOrWaRdS", MaxForwards),
            ("record-route", RecordRoute),
            ("Proxy-Require", ProxyRequire),
            ("P-Asserted-Identity", PAssertedIdentity),
            ("X-Foo", Other),
            ("C%6Fntact", Other),
            ("z", Other),
        ] {
            assert_eq!(HeaderName::classify(raw.as_bytes()), want, "{raw}");
        }
    }
}

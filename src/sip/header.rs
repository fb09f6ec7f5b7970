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
        // Dispatch on length first, then compare case-insensitively.
        let candidates: &[HeaderName] = match name.len() {
            2 => &[To],
            3 => &[Via],
            4 => &[From, CSeq],
            5 => &[Route, Allow],
            6 => &[Server],
            7 => &[CallId, Contact, Require, Subject],
            8 => &[ReferTo],
            9 => &[Supported],
            10 => &[UserAgent],
            11 => &[Unsupported],
            12 => &[MaxForwards, RecordRoute, ContentType, AllowEvents],
            13 => &[ProxyRequire],
            14 => &[ContentLength],
            16 => &[ContentEncoding],
            19 => &[PAssertedIdentity],
            _ => &[],
        };
        for &c in candidates {
            if c.as_str().as_bytes().eq_ignore_ascii_case(name) {
                return c;
            }
        }
        Other
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

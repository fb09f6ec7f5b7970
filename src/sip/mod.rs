//! The SIP wire layer, sipforge's own and zero-copy: [`Message::parse`] splits
//! and indexes a message in one pass, typed values are parsed on demand,
//! [`Editor`] applies edits without re-serializing untouched bytes,
//! [`frame`] cuts messages out of a TCP stream and [`write_response`]
//! answers a request.
//!
//! rsip supplies the method vocabulary ([`rsip::Method`]) and is the reference
//! parser in differential tests; it is not on the wire path.

pub mod addr;
pub mod edit;
pub mod framing;
pub mod header;
pub mod message;
pub mod proxy;
pub mod response;
pub mod scan;
pub mod status;
pub mod uri;
pub mod validate;
pub mod via;

pub use addr::NameAddr;
pub use edit::{EditError, Editor};
pub use framing::{Frame, FrameError, frame};
pub use header::HeaderName;
pub use message::{
    CSeq, Defect, HeaderField, Limits, Message, Method, ParseError, Span, StartLine, Version,
};
pub use response::write_response;
pub use status::reason_phrase;
pub use uri::{Scheme, Uri};
pub use validate::{Rejection, Request, validate_request};
pub use via::Via;

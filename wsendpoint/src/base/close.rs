//! Close codes and reasons (RFC 6455 §7.4), named after Jakarta WebSocket's `CloseCodes`.

use std::borrow::Cow;
use std::fmt;

use tungstenite::protocol::frame::coding::CloseCode as WireCode;

use tungstenite::protocol::CloseFrame;
use tungstenite::Utf8Bytes;

/// A WebSocket close status code, by its RFC 6455 name.
///
/// Codes without a name here (3000–4999 are for applications) are kept as [`CloseCode::Other`].
///
/// ```
/// use wsendpoint::CloseCode;
///
/// assert_eq!(CloseCode::from(1008), CloseCode::ViolatedPolicy);
/// assert_eq!(u16::from(CloseCode::TooBig), 1009);
/// assert_eq!(CloseCode::from(4000), CloseCode::Other(4000));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseCode {
    /// 1000: the purpose of the connection has been fulfilled.
    NormalClosure,
    /// 1001: the server is going down or a browser left the page.
    GoingAway,
    /// 1002: the peer broke the WebSocket protocol.
    ProtocolError,
    /// 1003: a data type the endpoint cannot accept (binary to a text-only endpoint).
    CannotAccept,
    /// 1004: reserved by the RFC, never sent.
    Reserved,
    /// 1005: the close frame carried no code; never sent on the wire.
    NoStatusCode,
    /// 1006: the connection dropped without a close frame; never sent on the wire.
    ClosedAbnormally,
    /// 1007: a message's data was inconsistent with its type (invalid UTF-8 in text).
    NotConsistent,
    /// 1008: a message violated the endpoint's policy.
    ViolatedPolicy,
    /// 1009: a message was too big to process.
    TooBig,
    /// 1010: the client expected an extension the server did not negotiate.
    NoExtension,
    /// 1011: the server met an unexpected condition (a handler panicked).
    UnexpectedCondition,
    /// 1012: the service is restarting.
    ServiceRestart,
    /// 1013: try again later (the server is overloaded).
    TryAgainLater,
    /// 1015: the TLS handshake failed; never sent on the wire.
    TlsHandshakeFailure,
    /// Any other code, such as an application code in 4000–4999.
    Other(u16),
}

impl CloseCode {
    /// Whether the code may appear in a close frame on the wire (1005, 1006, 1015 may not).
    pub fn is_sendable(self) -> bool {
        !matches!(
            self,
            CloseCode::NoStatusCode | CloseCode::ClosedAbnormally | CloseCode::TlsHandshakeFailure
        )
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        match code {
            1000 => CloseCode::NormalClosure,
            1001 => CloseCode::GoingAway,
            1002 => CloseCode::ProtocolError,
            1003 => CloseCode::CannotAccept,
            1004 => CloseCode::Reserved,
            1005 => CloseCode::NoStatusCode,
            1006 => CloseCode::ClosedAbnormally,
            1007 => CloseCode::NotConsistent,
            1008 => CloseCode::ViolatedPolicy,
            1009 => CloseCode::TooBig,
            1010 => CloseCode::NoExtension,
            1011 => CloseCode::UnexpectedCondition,
            1012 => CloseCode::ServiceRestart,
            1013 => CloseCode::TryAgainLater,
            1015 => CloseCode::TlsHandshakeFailure,
            other => CloseCode::Other(other),
        }
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        match code {
            CloseCode::NormalClosure => 1000,
            CloseCode::GoingAway => 1001,
            CloseCode::ProtocolError => 1002,
            CloseCode::CannotAccept => 1003,
            CloseCode::Reserved => 1004,
            CloseCode::NoStatusCode => 1005,
            CloseCode::ClosedAbnormally => 1006,
            CloseCode::NotConsistent => 1007,
            CloseCode::ViolatedPolicy => 1008,
            CloseCode::TooBig => 1009,
            CloseCode::NoExtension => 1010,
            CloseCode::UnexpectedCondition => 1011,
            CloseCode::ServiceRestart => 1012,
            CloseCode::TryAgainLater => 1013,
            CloseCode::TlsHandshakeFailure => 1015,
            CloseCode::Other(other) => other,
        }
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} ({})", self, u16::from(*self))
    }
}

/// Why a session closed: a [`CloseCode`] and a short text.
///
/// `#[on_close]` receives it; [`Session::close`](crate::Session::close) sends it.
///
/// ```
/// use wsendpoint::{CloseCode, CloseReason};
///
/// let reason = CloseReason::new(CloseCode::ViolatedPolicy, "too many requests");
/// assert_eq!(reason.code(), CloseCode::ViolatedPolicy);
/// assert_eq!(reason.reason(), "too many requests");
/// assert_eq!(CloseReason::normal().code(), CloseCode::NormalClosure);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseReason {
    code: CloseCode,
    reason: Cow<'static, str>,
}

impl CloseReason {
    /// A reason with the given code and text (at most 123 bytes go on the wire).
    pub fn new(code: CloseCode, reason: impl Into<Cow<'static, str>>) -> Self {
        CloseReason {
            code,
            reason: reason.into(),
        }
    }

    /// 1000 with no text.
    pub fn normal() -> Self {
        CloseReason::new(CloseCode::NormalClosure, "")
    }

    /// The code.
    pub fn code(&self) -> CloseCode {
        self.code
    }

    /// The text, possibly empty.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The close frame to put on the wire, or `None` for codes that must not be sent.
    pub(crate) fn to_frame(&self) -> Option<CloseFrame> {
        if !self.code.is_sendable() {
            return None;
        }
        Some(CloseFrame {
            code: WireCode::from(u16::from(self.code)),
            reason: Utf8Bytes::from(truncate_utf8(&self.reason, 123)),
        })
    }

    /// What a received close frame (or its absence) means.
    pub(crate) fn from_frame(frame: Option<CloseFrame>) -> Self {
        match frame {
            Some(frame) => CloseReason::new(
                CloseCode::from(u16::from(frame.code)),
                frame.reason.as_str().to_owned(),
            ),
            None => CloseReason::new(CloseCode::NoStatusCode, ""),
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.reason.is_empty() {
            write!(f, "{}", self.code)
        } else {
            write!(f, "{}: {}", self.code, self.reason)
        }
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a char boundary.
fn truncate_utf8(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_code_round_trips() {
        for code in 1000..=1015u16 {
            assert_eq!(u16::from(CloseCode::from(code)), code);
        }
    }

    #[test]
    fn long_reasons_are_cut_on_a_char_boundary() {
        let reason = CloseReason::new(CloseCode::NormalClosure, "é".repeat(100));
        let frame = reason.to_frame().unwrap();
        assert!(frame.reason.as_str().len() <= 123);
        assert_eq!(frame.reason.as_str().len() % 2, 0);
    }

    #[test]
    fn abnormal_codes_are_never_sent() {
        assert!(CloseReason::new(CloseCode::ClosedAbnormally, "")
            .to_frame()
            .is_none());
    }
}

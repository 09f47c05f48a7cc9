//! The one error type handlers see in `#[on_error]`.

use std::sync::Arc;

use tungstenite::Message;

use crate::base::close::CloseCode;

/// Something went wrong on a session: what `#[on_error]` receives.
///
/// Cheap to clone, so a handler may keep it.
///
/// ```
/// use wsendpoint::Error;
///
/// let error = Error::handler("quota exceeded");
/// assert_eq!(error.to_string(), "handler error: quota exceeded");
/// assert!(error.close_code().is_none());
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A handler returned `Err`; the connection stays open.
    #[error("handler error: {0}")]
    Handler(Arc<str>),
    /// A handler panicked; the session is closed with 1011.
    #[error("handler panicked: {0}")]
    Panic(Arc<str>),
    /// A path parameter did not parse into the type a handler declared.
    #[error("path parameter `{name}` = {value:?}: {message}")]
    PathParam {
        /// The parameter's name in the route template.
        name: &'static str,
        /// The raw value from the URL.
        value: Arc<str>,
        /// Why it did not parse.
        message: Arc<str>,
    },
    /// The peer broke the protocol (bad frame, invalid UTF-8, oversize message); the session is
    /// closed with the matching RFC 6455 code.
    #[error("protocol violation ({code}): {message}")]
    Protocol {
        /// The close code sent to the peer.
        code: CloseCode,
        /// What the WebSocket layer reported.
        message: Arc<str>,
    },
    /// Reading from or writing to the connection failed (reset, broken pipe).
    #[error("connection error: {0}")]
    Connection(Arc<str>),
    /// The message kind has no handler on this endpoint (binary to a text-only endpoint).
    #[error("unsupported message: {0}")]
    Unsupported(&'static str),
    /// A message did not decode into a handler's `Json<T>`; the session stays open unless the
    /// endpoint says `on_decode_error = "close"`.
    #[error("message does not decode: {message}")]
    Decode {
        /// The message as received.
        raw: Arc<str>,
        /// serde's explanation, with line and column.
        message: Arc<str>,
    },
    /// A handler's `Json<T>` reply did not encode; nothing was sent.
    #[error("reply does not encode: {0}")]
    Encode(Arc<str>),
    /// A handler needs `State<T>` but the hub has no `T` (give it with `Hub::with_state`).
    #[error("no state of type `{0}` in the hub: add it with `Hub::with_state`")]
    MissingState(&'static str),
    /// The peer sent nothing, not even a pong, for the endpoint's idle timeout; the session is
    /// closed with 1001.
    #[error("idle for {0:?}: closing")]
    IdleTimeout(std::time::Duration),
}

impl Error {
    /// An error carrying a handler's own message.
    pub fn handler(message: impl std::fmt::Display) -> Self {
        Error::Handler(message.to_string().into())
    }

    /// The close code this error closes the session with, if it closes it.
    pub fn close_code(&self) -> Option<CloseCode> {
        match self {
            Error::Handler(_) | Error::Connection(_) | Error::Decode { .. } | Error::Encode(_) => {
                None
            }
            Error::MissingState(_) => Some(CloseCode::UnexpectedCondition),
            Error::IdleTimeout(_) => Some(CloseCode::GoingAway),
            Error::Panic(_) => Some(CloseCode::UnexpectedCondition),
            Error::PathParam { .. } => Some(CloseCode::ViolatedPolicy),
            Error::Protocol { code, .. } => Some(*code),
            Error::Unsupported(_) => Some(CloseCode::CannotAccept),
        }
    }
}

/// A message could not be queued for a session.
///
/// ```
/// use wsendpoint::SendError;
///
/// assert_eq!(SendError::Closed.to_string(), "the session is closed");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The session is closing or closed; the message was dropped.
    #[error("the session is closed")]
    Closed,
    /// The session's outbound queue is full (the client is not reading fast enough); the message
    /// was dropped.
    #[error("the session's send queue is full")]
    Full,
    /// The value did not encode as JSON; nothing was queued.
    #[error("the message does not encode: {0}")]
    Encode(Arc<str>),
}

/// What an event handler produces: a message to send back to the client, if any.
///
/// ```
/// use wsendpoint::{IntoReply, Message, Outcome};
///
/// let outcome: Outcome = "pong".into_reply();
/// assert_eq!(outcome.unwrap(), Some(Message::text("pong")));
/// ```
pub type Outcome = Result<Option<Message>, Error>;

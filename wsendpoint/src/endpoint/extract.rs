//! Parameters injected by type into lifecycle methods.
//!
//! Each lifecycle role has its own trait, so a parameter that makes no sense in a role (message
//! text in `#[on_open]`) is a compile error at its type that lists what the role accepts. Path
//! parameters are not here: they are bound by name (see [`FromPathParam`](crate::FromPathParam)).
//!
//! Your own types can be injected too: implement the role's trait.
//!
//! ```
//! use wsendpoint::extract::{FromMessage, MessageEvent};
//! use wsendpoint::prelude::*;
//!
//! /// The words of a text message.
//! struct Words(Vec<String>);
//!
//! impl<'a> FromMessage<'a> for Words {
//!     fn from_message(event: &MessageEvent<'a>) -> Result<Self, wsendpoint::Error> {
//!         Ok(Words(event.text()?.split_whitespace().map(str::to_owned).collect()))
//!     }
//! }
//!
//! #[derive(Default)]
//! struct Counter;
//!
//! #[server_endpoint("/count")]
//! impl Counter {
//!     #[on_message]
//!     fn count(&mut self, words: Words) -> String {
//!         words.0.len().to_string()
//!     }
//!
//!     #[on_close]
//!     fn close(&mut self, session: &Session, reason: CloseReason) {
//!         println!("session {} closed: {reason}", session.id());
//!     }
//! }
//! ```

use axum::body::Bytes;
use serde::de::DeserializeOwned;
use tungstenite::Message;

use crate::base::app_state::{self, State};
use crate::base::close::CloseReason;
use crate::base::error::Error;
use crate::base::json::Json;
use crate::http::handshake::Handshake;
use crate::http::reject::Reject;
use crate::pool::session::Session;

/// The kind of a message that reaches `#[on_message]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// A text message.
    Text,
    /// A binary message.
    Binary,
    /// A pong frame (the answer to a ping).
    Pong,
}

impl MessageKind {
    /// `"text"`, `"binary"` or `"pong"`.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::Binary => "binary",
            MessageKind::Pong => "pong",
        }
    }
}

/// A set of [`MessageKind`]s: the kinds a message parameter can be taken from.
///
/// An endpoint may have several `#[on_message]` methods (one for text, one for binary, one for
/// pongs); a message runs the first whose parameters all accept its kind.
///
/// ```
/// use wsendpoint::extract::{MessageKind, MessageKinds};
///
/// let text_only = MessageKinds::ALL.and(MessageKinds::TEXT);
/// assert!(text_only.contains(MessageKind::Text));
/// assert!(!text_only.contains(MessageKind::Pong));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageKinds(u8);

impl MessageKinds {
    /// Text messages.
    pub const TEXT: MessageKinds = MessageKinds(1);
    /// Binary messages.
    pub const BINARY: MessageKinds = MessageKinds(2);
    /// Pong frames.
    pub const PONG: MessageKinds = MessageKinds(4);
    /// Text and binary messages (a raw [`Message`]).
    pub const DATA: MessageKinds = MessageKinds(1 | 2);
    /// Every kind: parameters that are not the message itself, like `&Session`.
    pub const ALL: MessageKinds = MessageKinds(1 | 2 | 4);

    /// The kinds in both sets.
    pub const fn and(self, other: MessageKinds) -> MessageKinds {
        MessageKinds(self.0 & other.0)
    }

    /// Whether `kind` is in the set.
    pub const fn contains(self, kind: MessageKind) -> bool {
        let bit = match kind {
            MessageKind::Text => 1,
            MessageKind::Binary => 2,
            MessageKind::Pong => 4,
        };
        self.0 & bit != 0
    }
}

/// A pong frame's payload, as a parameter of a `#[on_message]` method that handles pongs.
///
/// ```
/// use wsendpoint::extract::Pong;
/// use wsendpoint::prelude::*;
///
/// #[derive(Default)]
/// struct Heartbeat {
///     pongs: u64,
/// }
///
/// #[server_endpoint("/beat")]
/// impl Heartbeat {
///     #[on_message]
///     fn pong(&mut self, _pong: Pong) {
///         self.pongs += 1;
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pong(pub Bytes);

/// The `#[on_open]` event.
#[derive(Debug, Clone, Copy)]
pub struct OpenEvent<'a> {
    session: &'a Session,
}

/// The `#[on_message]` event: the session and the text or binary message.
#[derive(Debug, Clone, Copy)]
pub struct MessageEvent<'a> {
    session: &'a Session,
    message: &'a Message,
}

/// The `#[on_error]` event.
#[derive(Debug, Clone, Copy)]
pub struct ErrorEvent<'a> {
    session: &'a Session,
    error: &'a Error,
}

/// The `#[on_close]` event.
#[derive(Debug, Clone, Copy)]
pub struct CloseEvent<'a> {
    session: &'a Session,
    reason: &'a CloseReason,
}

impl<'a> OpenEvent<'a> {
    pub(crate) fn new(session: &'a Session) -> Self {
        OpenEvent { session }
    }
}

impl<'a> MessageEvent<'a> {
    pub(crate) fn new(session: &'a Session, message: &'a Message) -> Self {
        MessageEvent { session, message }
    }

    /// The message.
    pub fn message(&self) -> &'a Message {
        self.message
    }

    /// The message's kind (pings and close frames never reach `#[on_message]`).
    pub fn kind(&self) -> MessageKind {
        match self.message {
            Message::Binary(_) => MessageKind::Binary,
            Message::Pong(_) => MessageKind::Pong,
            _ => MessageKind::Text,
        }
    }

    /// The text of a text message, or [`Error::Unsupported`] for any other kind.
    pub fn text(&self) -> Result<&'a str, Error> {
        match self.message {
            Message::Text(text) => Ok(text.as_str()),
            _ => Err(Error::Unsupported(self.kind().as_str())),
        }
    }

    /// The payload of a binary message, or [`Error::Unsupported`] for any other kind.
    pub fn binary(&self) -> Result<&'a Bytes, Error> {
        match self.message {
            Message::Binary(data) => Ok(data),
            _ => Err(Error::Unsupported(self.kind().as_str())),
        }
    }
}

impl<'a> ErrorEvent<'a> {
    pub(crate) fn new(session: &'a Session, error: &'a Error) -> Self {
        ErrorEvent { session, error }
    }

    /// The error.
    pub fn error(&self) -> &'a Error {
        self.error
    }
}

impl<'a> CloseEvent<'a> {
    pub(crate) fn new(session: &'a Session, reason: &'a CloseReason) -> Self {
        CloseEvent { session, reason }
    }

    /// Why the session closed.
    pub fn reason(&self) -> &'a CloseReason {
        self.reason
    }
}

macro_rules! session_accessor {
    ($($event:ident),*) => {$(
        impl<'a> $event<'a> {
            /// The session the event belongs to.
            pub fn session(&self) -> &'a Session {
                self.session
            }
        }
    )*};
}
session_accessor!(OpenEvent, MessageEvent, ErrorEvent, CloseEvent);

/// A parameter type `#[on_open]` can receive.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a parameter of an `#[on_open]` method",
    label = "not available in `#[on_open]`",
    note = "`#[on_open]` accepts `&Session`, `State<T>` and path parameters bound by name (`key: String`)"
)]
pub trait FromOpen<'a>: Sized {
    /// Takes the value out of the event.
    fn from_open(event: &OpenEvent<'a>) -> Result<Self, Error>;
}

/// A parameter type `#[on_message]` can receive.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a parameter of an `#[on_message]` method",
    label = "not available in `#[on_message]`",
    note = "`#[on_message]` accepts `&Session`, `State<T>`, path parameters bound by name, and the message: text as `String`, `&str` or `Json<T>`; binary as `Vec<u8>`, `Bytes` or `&[u8]`; `Pong`; or the raw `Message`"
)]
pub trait FromMessage<'a>: Sized {
    /// The message kinds this parameter can be taken from: a method runs for a message only if
    /// all its parameters accept the message's kind.
    const KINDS: MessageKinds = MessageKinds::ALL;

    /// Takes the value out of the event.
    fn from_message(event: &MessageEvent<'a>) -> Result<Self, Error>;
}

/// A parameter type `#[on_error]` can receive.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a parameter of an `#[on_error]` method",
    label = "not available in `#[on_error]`",
    note = "`#[on_error]` accepts `&Session`, `wsendpoint::Error`, `State<T>` and path parameters bound by name"
)]
pub trait FromError<'a>: Sized {
    /// Takes the value out of the event.
    fn from_error(event: &ErrorEvent<'a>) -> Result<Self, Error>;
}

/// A parameter type `#[on_close]` can receive.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a parameter of an `#[on_close]` method",
    label = "not available in `#[on_close]`",
    note = "`#[on_close]` accepts `&Session`, `CloseReason`, `State<T>` and path parameters bound by name"
)]
pub trait FromClose<'a>: Sized {
    /// Takes the value out of the event.
    fn from_close(event: &CloseEvent<'a>) -> Result<Self, Error>;
}

// Written out, not generated by a macro: rustc quotes these impls in its help for a wrong
// parameter type, and a macro body there reads worse than the impl itself.
impl<'a> FromOpen<'a> for &'a Session {
    fn from_open(event: &OpenEvent<'a>) -> Result<Self, Error> {
        Ok(event.session)
    }
}

impl<'a> FromMessage<'a> for &'a Session {
    fn from_message(event: &MessageEvent<'a>) -> Result<Self, Error> {
        Ok(event.session)
    }
}

impl<'a> FromError<'a> for &'a Session {
    fn from_error(event: &ErrorEvent<'a>) -> Result<Self, Error> {
        Ok(event.session)
    }
}

impl<'a> FromClose<'a> for &'a Session {
    fn from_close(event: &CloseEvent<'a>) -> Result<Self, Error> {
        Ok(event.session)
    }
}

impl<'a> FromMessage<'a> for &'a str {
    const KINDS: MessageKinds = MessageKinds::TEXT;
    fn from_message(event: &MessageEvent<'a>) -> Result<Self, Error> {
        event.text()
    }
}

impl<'a> FromMessage<'a> for String {
    const KINDS: MessageKinds = MessageKinds::TEXT;
    fn from_message(event: &MessageEvent<'a>) -> Result<Self, Error> {
        event.text().map(str::to_owned)
    }
}

impl<'a, T: DeserializeOwned> FromMessage<'a> for Json<T> {
    const KINDS: MessageKinds = MessageKinds::TEXT;
    fn from_message(event: &MessageEvent<'a>) -> Result<Self, Error> {
        let text = event.text()?;
        serde_json::from_str(text)
            .map(Json)
            .map_err(|e| Error::Decode {
                raw: text.into(),
                message: e.to_string().into(),
            })
    }
}

impl<'a> FromMessage<'a> for &'a [u8] {
    const KINDS: MessageKinds = MessageKinds::BINARY;
    fn from_message(event: &MessageEvent<'a>) -> Result<Self, Error> {
        event.binary().map(|data| &data[..])
    }
}

impl<'a> FromMessage<'a> for Vec<u8> {
    const KINDS: MessageKinds = MessageKinds::BINARY;
    fn from_message(event: &MessageEvent<'a>) -> Result<Self, Error> {
        event.binary().map(|data| data.to_vec())
    }
}

impl<'a> FromMessage<'a> for Bytes {
    const KINDS: MessageKinds = MessageKinds::BINARY;
    fn from_message(event: &MessageEvent<'a>) -> Result<Self, Error> {
        event.binary().cloned()
    }
}

impl<'a> FromMessage<'a> for Pong {
    const KINDS: MessageKinds = MessageKinds::PONG;
    fn from_message(event: &MessageEvent<'a>) -> Result<Self, Error> {
        match event.message {
            Message::Pong(data) => Ok(Pong(data.clone())),
            _ => Err(Error::Unsupported(event.kind().as_str())),
        }
    }
}

impl<'a> FromMessage<'a> for Message {
    const KINDS: MessageKinds = MessageKinds::DATA;
    fn from_message(event: &MessageEvent<'a>) -> Result<Self, Error> {
        Ok(event.message.clone())
    }
}

// `State<T>` in every role, written out for the same reason as the `&Session` impls.
impl<'a, T: Clone + Send + Sync + 'static> FromOpen<'a> for State<T> {
    fn from_open(event: &OpenEvent<'a>) -> Result<Self, Error> {
        event.session.state::<T>().map(State)
    }
}

impl<'a, T: Clone + Send + Sync + 'static> FromMessage<'a> for State<T> {
    fn from_message(event: &MessageEvent<'a>) -> Result<Self, Error> {
        event.session.state::<T>().map(State)
    }
}

impl<'a, T: Clone + Send + Sync + 'static> FromError<'a> for State<T> {
    fn from_error(event: &ErrorEvent<'a>) -> Result<Self, Error> {
        event.session.state::<T>().map(State)
    }
}

impl<'a, T: Clone + Send + Sync + 'static> FromClose<'a> for State<T> {
    fn from_close(event: &CloseEvent<'a>) -> Result<Self, Error> {
        event.session.state::<T>().map(State)
    }
}

impl<'a> FromError<'a> for Error {
    fn from_error(event: &ErrorEvent<'a>) -> Result<Self, Error> {
        Ok(event.error.clone())
    }
}

impl<'a> FromClose<'a> for CloseReason {
    fn from_close(event: &CloseEvent<'a>) -> Result<Self, Error> {
        Ok(event.reason.clone())
    }
}

/// A parameter type `#[on_handshake]` can receive.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a parameter of an `#[on_handshake]` function",
    label = "not available in `#[on_handshake]`",
    note = "`#[on_handshake]` accepts `&Handshake`, `State<T>` and path parameters bound by name"
)]
pub trait FromHandshake<'a>: Sized {
    /// Takes the value out of the handshake, or refuses it.
    fn from_handshake(handshake: &'a Handshake) -> Result<Self, Reject>;
}

impl<'a> FromHandshake<'a> for &'a Handshake {
    fn from_handshake(handshake: &'a Handshake) -> Result<Self, Reject> {
        Ok(handshake)
    }
}

impl<'a, T: Clone + Send + Sync + 'static> FromHandshake<'a> for State<T> {
    fn from_handshake(handshake: &'a Handshake) -> Result<Self, Reject> {
        app_state::require::<T>(handshake.state_map())
            .map_err(Reject::from)
            .map(State)
    }
}

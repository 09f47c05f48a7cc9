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

use crate::{CloseReason, Error, Message, Session};

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

    /// `"text"`, `"binary"`, `"ping"`, `"pong"` or `"close"`: for error messages.
    pub fn kind(&self) -> &'static str {
        match self.message {
            Message::Text(_) => "text",
            Message::Binary(_) => "binary",
            Message::Ping(_) => "ping",
            Message::Pong(_) => "pong",
            Message::Close(_) => "close",
        }
    }

    /// The text of a text message, or [`Error::Unsupported`] for any other kind.
    pub fn text(&self) -> Result<&'a str, Error> {
        match self.message {
            Message::Text(text) => Ok(text.as_str()),
            _ => Err(Error::Unsupported(self.kind())),
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
    note = "`#[on_open]` accepts `&Session` and path parameters bound by name (`key: String`)"
)]
pub trait FromOpen<'a>: Sized {
    /// Takes the value out of the event.
    fn from_open(event: &OpenEvent<'a>) -> Result<Self, Error>;
}

/// A parameter type `#[on_message]` can receive.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a parameter of an `#[on_message]` method",
    label = "not available in `#[on_message]`",
    note = "`#[on_message]` accepts `&Session`, the text as `String` or `&str`, and path parameters bound by name"
)]
pub trait FromMessage<'a>: Sized {
    /// Takes the value out of the event.
    fn from_message(event: &MessageEvent<'a>) -> Result<Self, Error>;
}

/// A parameter type `#[on_error]` can receive.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a parameter of an `#[on_error]` method",
    label = "not available in `#[on_error]`",
    note = "`#[on_error]` accepts `&Session`, `wsendpoint::Error` and path parameters bound by name"
)]
pub trait FromError<'a>: Sized {
    /// Takes the value out of the event.
    fn from_error(event: &ErrorEvent<'a>) -> Result<Self, Error>;
}

/// A parameter type `#[on_close]` can receive.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a parameter of an `#[on_close]` method",
    label = "not available in `#[on_close]`",
    note = "`#[on_close]` accepts `&Session`, `CloseReason` and path parameters bound by name"
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
    fn from_message(event: &MessageEvent<'a>) -> Result<Self, Error> {
        event.text()
    }
}

impl<'a> FromMessage<'a> for String {
    fn from_message(event: &MessageEvent<'a>) -> Result<Self, Error> {
        event.text().map(str::to_owned)
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

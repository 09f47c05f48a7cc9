//! What lifecycle methods may return: a reply from `#[on_open]` or `#[on_message]`
//! ([`IntoReply`], and how it reaches the client), a verdict from `#[on_handshake]`
//! ([`IntoAccept`]).

use std::fmt::Display;

use axum::body::Bytes;
use serde::Serialize;
use tungstenite::Message;

use crate::base::error::{Error, Outcome};
use crate::base::json::Json;
use crate::endpoint::accept::Accept;
use crate::endpoint::handler::Endpoint;
use crate::http::reject::Reject;

/// A return value that is sent back to the client as a message, or nothing for `()`: text for
/// `String` and `Json<T>`, binary for `Vec<u8>` and `Bytes`.
///
/// `Option::None` sends nothing; `Err(e)` goes to `#[on_error]` as
/// [`Error::Handler`] and the connection stays open.
///
/// ```
/// use wsendpoint::IntoReply;
///
/// assert!(().into_reply().unwrap().is_none());
/// assert!("hi".to_string().into_reply().unwrap().is_some());
/// assert!(Err::<String, _>("nope").into_reply().is_err());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent back as a reply",
    label = "the return value of a lifecycle method is sent to the client",
    note = "return `()`, `String`, `&'static str`, `Vec<u8>`, `Bytes`, `Json<T: Serialize>`, `Message`, or an `Option<_>` or `Result<_, E: Display>` of those"
)]
pub trait IntoReply {
    /// The message to send, `None` for nothing, or the error for `#[on_error]`.
    fn into_reply(self) -> Outcome;
}

impl IntoReply for () {
    fn into_reply(self) -> Outcome {
        Ok(None)
    }
}

impl IntoReply for String {
    fn into_reply(self) -> Outcome {
        Ok(Some(Message::Text(self.into())))
    }
}

impl IntoReply for &'static str {
    fn into_reply(self) -> Outcome {
        Ok(Some(Message::Text(self.into())))
    }
}

impl IntoReply for Vec<u8> {
    fn into_reply(self) -> Outcome {
        Ok(Some(Message::Binary(self.into())))
    }
}

impl IntoReply for Bytes {
    fn into_reply(self) -> Outcome {
        Ok(Some(Message::Binary(self)))
    }
}

impl<T: Serialize> IntoReply for Json<T> {
    fn into_reply(self) -> Outcome {
        match serde_json::to_string(&self.0) {
            Ok(text) => Ok(Some(Message::Text(text.into()))),
            Err(error) => Err(Error::Encode(error.to_string().into())),
        }
    }
}

impl IntoReply for Message {
    fn into_reply(self) -> Outcome {
        Ok(Some(self))
    }
}

impl<T: IntoReply> IntoReply for Option<T> {
    fn into_reply(self) -> Outcome {
        self.map_or(Ok(None), IntoReply::into_reply)
    }
}

impl<T: IntoReply, E: Display> IntoReply for Result<T, E> {
    fn into_reply(self) -> Outcome {
        self.map_err(Error::handler)?.into_reply()
    }
}

/// What `#[on_handshake]` may return: the handler (`Self`), an [`Accept<Self>`], or a `Result`
/// of either with an error convertible into [`Reject`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the result of an `#[on_handshake]` method",
    label = "return `Self`, `Accept<Self>`, or `Result<_, Reject>` of either",
    note = "the error type must convert into `Reject`: `Reject`, `StatusCode` or `(StatusCode, String)`"
)]
pub trait IntoAccept<E> {
    /// The verdict.
    fn into_accept(self) -> Result<Accept<E>, Reject>;
}

impl<E: Endpoint> IntoAccept<E> for E {
    fn into_accept(self) -> Result<Accept<E>, Reject> {
        Ok(Accept::new(self))
    }
}

impl<E: Endpoint> IntoAccept<E> for Accept<E> {
    fn into_accept(self) -> Result<Accept<E>, Reject> {
        Ok(self)
    }
}

impl<E: Endpoint, R: Into<Reject>> IntoAccept<E> for Result<E, R> {
    fn into_accept(self) -> Result<Accept<E>, Reject> {
        self.map(Accept::new).map_err(Into::into)
    }
}

impl<E: Endpoint, R: Into<Reject>> IntoAccept<E> for Result<Accept<E>, R> {
    fn into_accept(self) -> Result<Accept<E>, Reject> {
        self.map_err(Into::into)
    }
}

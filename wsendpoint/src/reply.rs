//! What an `#[on_open]` or `#[on_message]` method may return, and how it reaches the client.

use std::fmt::Display;

use crate::endpoint::Outcome;
use axum::body::Bytes;
use serde::Serialize;

use crate::{Error, Json, Message};

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

//! [`Json<T>`]: a text message decoded with serde, and a reply encoded with it.

use std::ops::{Deref, DerefMut};

use tungstenite::Message;

use crate::base::error::SendError;

/// A JSON text message, as a parameter of `#[on_message]` (decoded into any
/// `T: DeserializeOwned`) or as its return value (encoded from any `T: Serialize`).
///
/// A message that does not decode goes to `#[on_error]` as
/// [`Error::Decode`](crate::Error::Decode) with the raw text and serde's message; the session stays
/// open unless the endpoint says `on_decode_error = "close"` (then it closes with 1007).
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use wsendpoint::prelude::*;
///
/// #[derive(Deserialize)]
/// struct Command {
///     difficulty: u32,
/// }
///
/// #[derive(Serialize)]
/// struct Reply {
///     accepted: bool,
/// }
///
/// #[derive(Default)]
/// struct Miner;
///
/// #[server_endpoint("/mine/<key>")]
/// impl Miner {
///     #[on_message]
///     fn command(&mut self, Json(command): Json<Command>) -> Json<Reply> {
///         Json(Reply { accepted: command.difficulty <= 7 })
///     }
/// }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T> Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Json<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

/// `value` as a JSON text message, for the `send_json` family.
pub(crate) fn message<T: serde::Serialize + ?Sized>(value: &T) -> Result<Message, SendError> {
    serde_json::to_string(value)
        .map(|text| Message::Text(text.into()))
        .map_err(|e| SendError::Encode(e.to_string().into()))
}

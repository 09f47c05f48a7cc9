//! [`Accept`]: an accepted handshake, with the handler of the new session.

/// An accepted handshake: the handler instance of the new session, and optionally its pool key.
///
/// Set the key from a verified identity (`with_key(user.id)`) rather than trusting the URL.
///
/// ```
/// use wsendpoint::prelude::*;
///
/// struct Inbox {
///     user: String,
/// }
///
/// #[server_endpoint("/inbox")]
/// impl Inbox {
///     #[on_handshake]
///     fn handshake(handshake: &Handshake) -> Result<Accept<Self>, Reject> {
///         let user = handshake
///             .query("token")
///             .and_then(|token| token.strip_prefix("valid-"))
///             .ok_or_else(|| Reject::unauthorized("a valid token is required"))?;
///         Ok(Accept::new(Inbox { user: user.to_owned() }).with_key(user))
///     }
///
///     #[on_open]
///     fn open(&mut self, session: &Session) -> String {
///         assert_eq!(session.key(), self.user);
///         format!("hello {}", self.user)
///     }
/// }
/// ```
#[derive(Debug)]
pub struct Accept<E> {
    pub(crate) handler: E,
    pub(crate) key: Option<String>,
}

impl<E> Accept<E> {
    /// Accepts with `handler` as the session's instance; the pool key comes from the URL.
    pub fn new(handler: E) -> Self {
        Accept { handler, key: None }
    }

    /// Uses `key` as the session's pool key instead of the URL's key parameter.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }
}

//! The handshake: what a client asked for, and an endpoint's verdict before the upgrade.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::headers::StoredHeaders;
use crate::state::StateMap;
use crate::{Endpoint, Error, PathParams, State};

/// The HTTP request that opened a session, as `#[on_handshake]` sees it before the upgrade and
/// as [`Session::handshake`](crate::Session::handshake) keeps it afterwards.
///
/// ```
/// use wsendpoint::prelude::*;
///
/// #[derive(Default)]
/// struct Audit;
///
/// #[server_endpoint("/audit/<key>", allowed_origins = "*")]
/// impl Audit {
///     #[on_open]
///     fn open(&mut self, session: &Session) -> String {
///         let handshake = session.handshake();
///         let custom = handshake
///             .header_pairs()
///             .filter(|(name, _)| name.starts_with("x-"))
///             .count();
///         format!(
///             "key={} token={:?} agent={:?} origin={:?} from={:?} x-headers={custom}",
///             session.key(),
///             handshake.query("token"),
///             handshake.header("user-agent"),
///             handshake.origin(),
///             handshake.remote_addr(),
///         )
///     }
/// }
/// ```
pub struct Handshake {
    params: PathParams,
    query: Vec<(String, String)>,
    headers: StoredHeaders,
    /// Built from `headers` the first time a handler asks for a `HeaderMap`.
    header_map: OnceLock<Box<HeaderMap>>,
    remote_addr: Option<SocketAddr>,
    protocol: Option<&'static str>,
    state: Arc<StateMap>,
}

impl Handshake {
    pub(crate) fn new(
        params: PathParams,
        query: Vec<(String, String)>,
        headers: &HeaderMap,
        remote_addr: Option<SocketAddr>,
        protocol: Option<&'static str>,
        state: Arc<StateMap>,
    ) -> Self {
        Handshake {
            params,
            query,
            headers: StoredHeaders::copy_of(headers),
            header_map: OnceLock::new(),
            remote_addr,
            protocol,
            state,
        }
    }

    /// The raw (percent-decoded) value of the path parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name)
    }

    /// All path parameters.
    pub fn params(&self) -> &PathParams {
        &self.params
    }

    /// The first value of the query parameter `name` (percent-decoded).
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every query parameter, in order.
    pub fn query_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.query.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The first value of the header `name` (any case), if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        let value = self.headers.get(name)?;
        let visible = |b: &u8| *b == b'\t' || (32..127).contains(b);
        if value.iter().all(visible) {
            std::str::from_utf8(value).ok()
        } else {
            None
        }
    }

    /// Every header of the handshake request as `(lowercase name, value)`: names in the order
    /// they first appear, a repeated name's values together and in order.
    pub fn header_pairs(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.headers.iter()
    }

    /// Every header of the handshake request, as a `HeaderMap`.
    ///
    /// Built on the first call: a session keeps its headers packed in one buffer, a fraction
    /// of a `HeaderMap`'s size.
    pub fn headers(&self) -> &HeaderMap {
        self.header_map
            .get_or_init(|| Box::new(self.headers.to_map()))
    }

    /// The `Origin` header: set by browsers, absent for most other clients.
    pub fn origin(&self) -> Option<&str> {
        self.header("origin")
    }

    /// The peer's address, when the server was started by [`Hub::serve`](crate::Hub::serve) or
    /// with `into_make_service_with_connect_info::<SocketAddr>()`.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.remote_addr
    }

    /// The subprotocol negotiated with the client, if the endpoint declares any.
    pub fn protocol(&self) -> Option<&'static str> {
        self.protocol
    }

    /// A clone of the hub's state value of type `T`.
    pub fn state<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.state.get()
    }

    pub(crate) fn state_map(&self) -> &StateMap {
        &self.state
    }
}

impl fmt::Debug for Handshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handshake")
            .field("params", &self.params)
            .field("query", &self.query)
            .field("remote_addr", &self.remote_addr)
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

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

/// A refused handshake: the HTTP status and body the client gets instead of the upgrade.
///
/// ```
/// use wsendpoint::{Reject, StatusCode};
///
/// let reject = Reject::forbidden("not your room");
/// assert_eq!(reject.status(), StatusCode::FORBIDDEN);
/// assert_eq!(reject.body(), "not your room");
/// let from_pair: Reject = (StatusCode::PAYMENT_REQUIRED, "upgrade your plan").into();
/// assert_eq!(from_pair.status().as_u16(), 402);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    status: StatusCode,
    body: String,
}

impl Reject {
    /// A refusal with any status.
    pub fn new(status: StatusCode, body: impl Into<String>) -> Self {
        Reject {
            status,
            body: body.into(),
        }
    }

    /// 400 Bad Request.
    pub fn bad_request(body: impl Into<String>) -> Self {
        Reject::new(StatusCode::BAD_REQUEST, body)
    }

    /// 401 Unauthorized: no or bad credentials.
    pub fn unauthorized(body: impl Into<String>) -> Self {
        Reject::new(StatusCode::UNAUTHORIZED, body)
    }

    /// 403 Forbidden: valid credentials, no permission.
    pub fn forbidden(body: impl Into<String>) -> Self {
        Reject::new(StatusCode::FORBIDDEN, body)
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The body.
    pub fn body(&self) -> &str {
        &self.body
    }
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.body)
    }
}

impl From<StatusCode> for Reject {
    fn from(status: StatusCode) -> Self {
        Reject::new(status, status.canonical_reason().unwrap_or_default())
    }
}

impl<B: Into<String>> From<(StatusCode, B)> for Reject {
    fn from((status, body): (StatusCode, B)) -> Self {
        Reject::new(status, body)
    }
}

impl From<Error> for Reject {
    /// A path parameter that does not parse is the client's fault (400); anything else is ours.
    fn from(error: Error) -> Self {
        let status = match error {
            Error::PathParam { .. } => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Reject::new(status, error.to_string())
    }
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        (self.status, self.body).into_response()
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
        crate::state::require::<T>(handshake.state_map())
            .map_err(Reject::from)
            .map(State)
    }
}

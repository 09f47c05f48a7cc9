//! [`Handshake`]: what a client asked for, as `#[on_handshake]` sees it and a session keeps it.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::http::HeaderMap;

use crate::base::app_state::StateMap;
use crate::base::params::PathParams;
use crate::http::headers::StoredHeaders;

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

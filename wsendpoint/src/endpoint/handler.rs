//! The [`Endpoint`] trait: what `#[server_endpoint]` implements for a handler type.

use std::future::Future;

use crate::base::app_state::StateMap;
use crate::base::config::EndpointConfig;
use crate::base::error::{Error, Outcome};
use crate::base::params::PathParams;
use crate::endpoint::accept::Accept;
use crate::endpoint::extract::{CloseEvent, ErrorEvent, MessageEvent, MessageKind, OpenEvent};
use crate::http::handshake::Handshake;
use crate::http::reject::Reject;

/// A WebSocket endpoint: one instance per connection, driven through the four lifecycle events.
///
/// `#[server_endpoint]` implements this; implementing it by hand is possible but rarely needed.
/// Every method has a default that does nothing, so an endpoint implements only what it handles.
///
/// The events of one connection are delivered one at a time, in order, to the same instance:
/// `on_open` first, then `on_message` for each message, `on_error` when something fails, and
/// `on_close` exactly once at the end, however the connection ended.
///
/// ```
/// use wsendpoint::prelude::*;
///
/// #[derive(Default)]
/// struct Echo;
///
/// #[server_endpoint("/echo")]
/// impl Echo {
///     #[on_message]
///     fn echo(&mut self, text: String) -> String {
///         text
///     }
/// }
///
/// assert_eq!(<Echo as wsendpoint::Endpoint>::CONFIG.route, "/echo");
/// ```
pub trait Endpoint: Send + Sized + 'static {
    /// Route, parameters and pool key.
    const CONFIG: EndpointConfig;

    /// Checks, before the upgrade, that every typed path parameter parses (else HTTP 400).
    fn check_params(params: &PathParams) -> Result<(), Error> {
        let _ = params;
        Ok(())
    }

    /// Checks, before the upgrade, that the hub has every `State<T>` the endpoint's methods take
    /// (else HTTP 500).
    fn check_state(state: &StateMap) -> Result<(), Error> {
        let _ = state;
        Ok(())
    }

    /// Accepts or refuses a handshake, and builds the handler instance of the new connection:
    /// `#[on_handshake]` when the endpoint has one, else `Default`.
    fn create(
        handshake: &Handshake,
    ) -> impl Future<Output = Result<Accept<Self>, Reject>> + Send + '_;

    /// The session opened; it is already in the pool.
    fn on_open<'a>(
        &'a mut self,
        event: OpenEvent<'a>,
    ) -> impl Future<Output = Outcome> + Send + 'a {
        let _ = event;
        async { Ok(None) }
    }

    /// A text or binary message, or a pong, arrived. A text or binary message no method takes
    /// closes the session with 1003; an unhandled pong is ignored.
    fn on_message<'a>(
        &'a mut self,
        event: MessageEvent<'a>,
    ) -> impl Future<Output = Outcome> + Send + 'a {
        let outcome = unhandled(&event);
        async move { outcome }
    }

    /// Something failed: a handler's `Err`, a protocol violation, a broken connection.
    fn on_error<'a>(&'a mut self, event: ErrorEvent<'a>) -> impl Future<Output = ()> + Send + 'a {
        let _ = event;
        async {}
    }

    /// The session closed; it has already left the pool. Runs exactly once per opened session.
    fn on_close<'a>(&'a mut self, event: CloseEvent<'a>) -> impl Future<Output = ()> + Send + 'a {
        let _ = event;
        async {}
    }
}

/// What happens to a message no `#[on_message]` method takes: a pong is ignored, text or binary
/// is [`Error::Unsupported`] (the session closes with 1003).
pub fn unhandled(event: &MessageEvent<'_>) -> Outcome {
    match event.kind() {
        MessageKind::Pong => Ok(None),
        kind => Err(Error::Unsupported(kind.as_str())),
    }
}

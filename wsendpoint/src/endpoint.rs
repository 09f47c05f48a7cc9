//! The [`Endpoint`] trait: what `#[server_endpoint]` implements for a handler type.

use std::future::Future;

use crate::extract::{CloseEvent, ErrorEvent, MessageEvent, OpenEvent};
use crate::{Error, Message, PathParams};

/// What an event handler produces: a message to send back to the client, if any.
///
/// ```
/// use wsendpoint::{IntoReply, Message, Outcome};
///
/// let outcome: Outcome = "pong".into_reply();
/// assert_eq!(outcome.unwrap(), Some(Message::text("pong")));
/// ```
pub type Outcome = Result<Option<Message>, Error>;

/// Static facts about an endpoint, built by the macro at compile time.
///
/// ```
/// use wsendpoint::EndpointConfig;
///
/// const CONFIG: EndpointConfig =
///     EndpointConfig::new("/chat/<room>", "/chat/{room}", &["room"], Some("room"));
/// assert_eq!(CONFIG.route(), "/chat/{room}");
/// assert_eq!(CONFIG.key_param(), Some("room"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct EndpointConfig {
    template: &'static str,
    route: &'static str,
    params: &'static [&'static str],
    key_param: Option<&'static str>,
    send_queue: usize,
}

impl EndpointConfig {
    /// Capacity of each session's outbound queue unless the endpoint says otherwise.
    pub const DEFAULT_SEND_QUEUE: usize = 256;

    /// A config for the route `template` (as written by the user), its axum form `route`,
    /// its parameter names and the one that is the pool key.
    pub const fn new(
        template: &'static str,
        route: &'static str,
        params: &'static [&'static str],
        key_param: Option<&'static str>,
    ) -> Self {
        EndpointConfig {
            template,
            route,
            params,
            key_param,
            send_queue: Self::DEFAULT_SEND_QUEUE,
        }
    }

    /// The route template as written in `#[server_endpoint("...")]`.
    pub const fn template(&self) -> &'static str {
        self.template
    }

    /// The route in axum's syntax (`/websocket/{key}`).
    pub const fn route(&self) -> &'static str {
        self.route
    }

    /// Names of the path parameters, in template order.
    pub const fn params(&self) -> &'static [&'static str] {
        self.params
    }

    /// The path parameter whose value is the session's pool key; `None` when the route has none
    /// (then every session's key is the empty string).
    pub const fn key_param(&self) -> Option<&'static str> {
        self.key_param
    }

    /// Capacity of each session's outbound queue.
    pub const fn send_queue(&self) -> usize {
        self.send_queue
    }
}

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
/// assert_eq!(<Echo as wsendpoint::Endpoint>::CONFIG.route(), "/echo");
/// ```
pub trait Endpoint: Send + Sized + 'static {
    /// Route, parameters and pool key.
    const CONFIG: EndpointConfig;

    /// Checks, before the upgrade, that every typed path parameter parses (else HTTP 400).
    fn check_params(params: &PathParams) -> Result<(), Error> {
        let _ = params;
        Ok(())
    }

    /// Builds the handler instance of a new connection.
    fn create() -> Self;

    /// The session opened; it is already in the pool.
    fn on_open<'a>(
        &'a mut self,
        event: OpenEvent<'a>,
    ) -> impl Future<Output = Outcome> + Send + 'a {
        let _ = event;
        async { Ok(None) }
    }

    /// A text or binary message arrived. Without a handler, the session closes with 1003.
    fn on_message<'a>(
        &'a mut self,
        event: MessageEvent<'a>,
    ) -> impl Future<Output = Outcome> + Send + 'a {
        let kind = event.kind();
        async move { Err(Error::Unsupported(kind)) }
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

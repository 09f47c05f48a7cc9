//! [`Handler`]: what the driver runs on a connection's events. The endpoint layer implements it
//! for an endpoint bound to its session, so this layer knows frames, queues and timers, not
//! endpoints or pools.

use std::future::Future;

use tungstenite::Message;

use crate::base::close::CloseReason;
use crate::base::config::EndpointConfig;
use crate::base::error::{Error, Outcome};

/// The events of one connection, delivered one at a time and in order. A future that panics is
/// caught by the driver: a panic in `open` or `message` is an [`Error::Panic`] (closing with
/// 1011), one in `error` closes with 1011 too, one in `close` is logged.
pub(crate) trait Handler: Send + 'static {
    /// The endpoint's options the driver acts on: its timers and its decode-error policy.
    const CONFIG: EndpointConfig;

    /// The connection opened; a reply goes back to the client.
    fn open(&mut self) -> impl Future<Output = Outcome> + Send + '_;

    /// A text, binary or pong message arrived; a reply goes back to the client.
    fn message<'a>(&'a mut self, message: &'a Message)
        -> impl Future<Output = Outcome> + Send + 'a;

    /// Something failed; the driver then closes if the error calls for it.
    fn error<'a>(&'a mut self, error: &'a Error) -> impl Future<Output = ()> + Send + 'a;

    /// The connection is over: runs once, last, whatever ended it.
    fn close<'a>(&'a mut self, reason: &'a CloseReason) -> impl Future<Output = ()> + Send + 'a;
}

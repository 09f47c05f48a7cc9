//! WebSocket endpoints the `@ServerEndpoint` way.
//!
//! Annotate an `impl` block with [`#[server_endpoint]`](server_endpoint) and mark its lifecycle
//! methods; the framework does the routing, the upgrade, the per-connection lifecycle and the
//! bookkeeping of live sessions, so any code in the application can push to a key.
//!
//! ```no_run
//! use wsendpoint::prelude::*;
//!
//! #[derive(Default)]
//! struct Greeter;
//!
//! #[server_endpoint("/greet/<name>")]
//! impl Greeter {
//!     #[on_open]
//!     async fn open(&mut self, session: &Session, name: String) {
//!         let _ = session.send_text(format!("hello, {name}")).await;
//!     }
//!
//!     #[on_message]
//!     fn message(&mut self, text: &str) -> String {
//!         text.to_uppercase()
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     wsendpoint::serve("127.0.0.1:8080").await
//! }
//! ```

#![warn(missing_docs)]

extern crate self as wsendpoint;

mod close;
mod config;
mod connection;
mod endpoint;
mod error;
pub mod extract;
mod handshake;
mod headers;
mod hub;
mod json;
mod outbound;
mod params;
mod pool;
mod read_ahead;
mod registry;
mod reply;
mod session;
mod state;
mod upgrade;

pub use axum::body::Bytes;
pub use axum::http::{HeaderMap, StatusCode};
pub use close::{CloseCode, CloseReason};
pub use config::{DecodeErrors, DuplicateKey, EndpointConfig, OriginPolicy, Overflow};
pub use endpoint::{Endpoint, Outcome};
pub use error::{Error, SendError};
pub use handshake::{Accept, FromHandshake, Handshake, IntoAccept, Reject};
pub use hub::{serve, Hub, RouteConflict};
pub use json::Json;
pub use params::{FromPathParam, PathParams};
pub use pool::SessionPool;
pub use reply::IntoReply;
pub use session::{Session, SessionId};
pub use state::{State, StateMap};
pub use tungstenite::protocol::CloseFrame;
pub use tungstenite::{Message, Utf8Bytes};

/// `#[server_endpoint("/route/<param>")]` on an inherent `impl` block: see the crate docs.
pub use wsendpoint_macros::server_endpoint;

/// Lifecycle attributes, meaningful only inside a `#[server_endpoint]` block (which strips them);
/// exported so that `#[wsendpoint::on_open]` elsewhere is a clear compile error.
pub use wsendpoint_macros::{on_close, on_error, on_handshake, on_message, on_open};

/// Everything an endpoint module needs: `use wsendpoint::prelude::*;`.
pub mod prelude {
    pub use crate::extract::Pong;
    pub use crate::{
        on_close, on_error, on_handshake, on_message, on_open, server_endpoint, Accept, CloseCode,
        CloseReason, Handshake, Hub, Json, Message, Reject, Session, SessionPool, State,
        StatusCode,
    };
}

/// Items the generated code names. Not a public API: may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::config::{DecodeErrors, DuplicateKey, EndpointConfig, OriginPolicy, Overflow};
    pub use crate::endpoint::{unhandled, Endpoint, Outcome};
    pub use crate::extract::{
        CloseEvent, ErrorEvent, FromClose, FromError, FromMessage, FromOpen, MessageEvent,
        MessageKinds, OpenEvent,
    };
    pub use crate::handshake::{Accept, FromHandshake, Handshake, IntoAccept, Reject};
    pub use crate::params::{FromPathParam, PathParams};
    pub use crate::registry::Registration;
    pub use crate::reply::IntoReply;
    pub use crate::state::StateMap;
    pub use crate::{Error, Session};
    pub use inventory;

    /// Parses the path parameter `name` as `T`: at the handshake (a failure is a 400), and in
    /// every event that binds it. One function for both, so a type without `FromStr` is
    /// reported once.
    pub fn path_param<T: FromPathParam>(
        params: &PathParams,
        name: &'static str,
    ) -> Result<T, Error> {
        crate::params::parse_param(params, name)
    }

    /// Checks at the handshake that the hub has a `State<T>` value.
    pub fn require_state<T: Clone + Send + Sync + 'static>(state: &StateMap) -> Result<(), Error> {
        crate::state::require::<T>(state).map(drop)
    }

    /// `#[on_close]` and `#[on_error]` methods return nothing; this pins that at their call.
    pub fn expect_unit(_: ()) {}
}

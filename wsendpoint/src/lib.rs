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
//!
//! # History
//!
//! An endpoint with `history = "2m"` (and `history_size = N`, default 1000) keeps the text sent
//! to each key through the pool (`send_text`, `send_json`, `send` of a text; not latest values,
//! group sends, broadcasts, binary messages or a session's own sends) so that a client that
//! reconnects gets what it missed. Each such message goes out inside a frame that gives its
//! [`Position`], and the application's message travels unchanged as the JSON string `data`:
//!
//! ```text
//! {"$ws":"message","epoch":"k3x9q2","offset":17,"data":"{\"code\":\"00\"}"}
//! ```
//!
//! A session's first frame says where its key's history stands, `{"$ws":"position","epoch":
//! …,"offset":N}`. A client that reconnects with `?ws_since=<epoch>:<offset>` (the last position
//! it saw) gets instead every message after it, in order, once, each with `"replayed":true`,
//! then `{"$ws":"recovered",…}`, and only then live messages; or, when that is impossible, first
//! `{"$ws":"gap","epoch":…,"offset":N,"reason":…}` with where the history stands now, for the
//! application to reload its state: `history_lost` (another epoch: a restart, or the key's
//! history expired), `too_old` (some of it is no longer kept), `unknown_position`, or
//! `history_unavailable` (the broker is down; the position is then the client's own). A
//! `ws_since` that is not a position is a 400. A live message of the history that finds the
//! session's queue full closes it with 1008, whatever `on_overflow` says, so that nothing is
//! dropped unseen: the client recovers it when it reconnects. The JS client of the mining demo
//! (`websocket.js`) does all of this by itself.
//!
//! On one node the history is a bounded ring per key in memory, with a new epoch per start.
//! On a hub with a [`Backplane`] that [keeps histories](Backplane::keeps_history) (Redis, the
//! [`MemoryBroker`]) it is the broker's: a client recovers on any node, and a node whose
//! subscription was cut fills in its sessions from the broker's history.
//!
//! # Layout
//!
//! The runtime is six layers, each a folder; imports run one way, from the top down:
//!
//! - `hub`: the registered endpoints, their routes and the accept flow, serving, shutdown; owns
//!   the context the accept flow receives.
//! - `endpoint`: the endpoint's face: the [`Endpoint`] trait the macro implements, the events
//!   and [`extract`]ors its methods take, replies, and the binding of an endpoint to its session
//!   that the connection driver runs.
//! - `pool`: the [`Session`] handle, the [`SessionPool`] by key and group, each session's
//!   membership of its pool, and the cluster of pools across hubs over a [`Backplane`]
//!   ([`MemoryBroker`] in one process, `RedisBackplane` with the `redis` feature).
//! - `http`: before the upgrade: the upgrade request's checks, origin, subprotocols, the
//!   [`Handshake`] view and its compact headers, [`Reject`].
//! - `connection`: after the upgrade: the lifecycle state machine, the driver, the writer, the
//!   outbound queue, the read-ahead, the clock. It runs a handler trait, so it knows frames,
//!   queues and timers, not endpoints or pools.
//! - `base`, under all of them: close codes, errors, the endpoint's options, shared state, path
//!   parameters, JSON, and the helpers for handler panics and poisoned locks.

#![warn(missing_docs)]

extern crate self as wsendpoint;

mod base;
mod connection;
mod endpoint;
mod http;
mod hub;
mod pool;

pub use axum::body::Bytes;
pub use axum::http::{HeaderMap, StatusCode};
pub use base::app_state::{State, StateMap};
pub use base::close::{CloseCode, CloseReason};
pub use base::config::{
    DecodeErrors, DuplicateKey, EndpointConfig, HistoryConfig, OriginPolicy, Overflow,
};
pub use base::error::{Error, Outcome, SendError};
pub use base::json::Json;
pub use base::params::{FromPathParam, PathParams};
pub use endpoint::accept::Accept;
pub use endpoint::extract;
pub use endpoint::extract::FromHandshake;
pub use endpoint::handler::Endpoint;
pub use endpoint::reply::{IntoAccept, IntoReply};
pub use http::handshake::Handshake;
pub use http::reject::Reject;
pub use hub::server::{serve, Hub, RouteConflict};
pub use pool::backplane::memory::{MemoryBackplane, MemoryBroker};
#[cfg(feature = "redis")]
pub use pool::backplane::redis::RedisBackplane;
pub use pool::backplane::{
    Backplane, BackplaneError, BackplaneEvent, BackplaneSettings, BoxFuture, HistoryNames,
    HistoryPage, Recorded,
};
pub use pool::delivery::{AckedDelivery, Delivery, Remote};
pub use pool::history::wire::{BadPosition, Position};
pub use pool::session::{Session, SessionId};
pub use pool::session_pool::SessionPool;
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
    pub use crate::base::app_state::StateMap;
    pub use crate::base::config::{
        DecodeErrors, DuplicateKey, EndpointConfig, HistoryConfig, OriginPolicy, Overflow,
    };
    pub use crate::base::error::{Error, Outcome};
    pub use crate::base::params::{FromPathParam, PathParams};
    pub use crate::endpoint::accept::Accept;
    pub use crate::endpoint::extract::{
        CloseEvent, ErrorEvent, FromClose, FromError, FromHandshake, FromMessage, FromOpen,
        MessageEvent, MessageKinds, OpenEvent,
    };
    pub use crate::endpoint::glue::{expect_unit, path_param, require_state};
    pub use crate::endpoint::handler::{unhandled, Endpoint};
    pub use crate::endpoint::reply::{IntoAccept, IntoReply};
    pub use crate::http::handshake::Handshake;
    pub use crate::http::reject::Reject;
    pub use crate::hub::registry::Registration;
    pub use crate::pool::session::Session;
    pub use inventory;
}

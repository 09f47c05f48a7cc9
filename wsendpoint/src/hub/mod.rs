//! The hub, on top: the endpoints the program registered, their routes and the accept flow
//! behind them, serving, and shutdown. It owns the [`Context`](context::Context) the accept
//! flow receives, so no layer below ever needs the hub itself.

pub(crate) mod context;
pub(crate) mod registry;
pub(crate) mod route;
pub(crate) mod server;

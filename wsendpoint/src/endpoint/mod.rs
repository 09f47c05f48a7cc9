//! The endpoint's face: the [`Endpoint`](handler::Endpoint) trait `#[server_endpoint]`
//! implements, the events and extractors its methods take, what they may return, and the
//! binding of an endpoint to its session that the connection driver runs. Above the pool,
//! because every event hands its method the [`Session`](crate::pool::session::Session).

pub(crate) mod accept;
pub(crate) mod dispatch;
pub mod extract;
pub(crate) mod glue;
pub(crate) mod handler;
pub(crate) mod reply;

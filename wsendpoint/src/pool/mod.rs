//! Sessions and pools: the [`Session`](session::Session) handle of one connection, the
//! [`SessionPool`](session_pool::SessionPool) of an endpoint's live sessions by key and by
//! group, each session's [`Membership`](membership::Membership) of its pool, and the cluster
//! that joins the pools of several hubs over a [`Backplane`](backplane::Backplane). Built on
//! the connection layer's queue and control, and the handshake the HTTP layer produced.

pub(crate) mod backplane;
pub(crate) mod cluster;
pub(crate) mod delivery;
pub(crate) mod history;
pub(crate) mod members;
pub(crate) mod membership;
pub(crate) mod session;
pub(crate) mod session_pool;
pub(crate) mod target;

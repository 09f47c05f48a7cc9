//! Sessions and pools: the [`Session`](session::Session) handle of one connection, the
//! [`SessionPool`](session_pool::SessionPool) of an endpoint's live sessions by key and by
//! group, and each session's [`Membership`](membership::Membership) of its pool. Built on the
//! connection layer's queue and control, and the handshake the HTTP layer produced.

pub(crate) mod members;
pub(crate) mod membership;
pub(crate) mod session;
pub(crate) mod session_pool;

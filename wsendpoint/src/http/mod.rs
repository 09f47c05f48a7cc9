//! Before the upgrade: is the request a WebSocket handshake, may this origin connect, which
//! subprotocol, and the handshake as handlers see it (its headers kept compactly). Refusals are
//! [`Reject`](reject::Reject)s: a status and a body. Depends only on `base`.

pub(crate) mod handshake;
pub(crate) mod headers;
pub(crate) mod origin;
pub(crate) mod reject;
pub(crate) mod request;
pub(crate) mod subprotocol;
#[cfg(test)]
mod test_headers;

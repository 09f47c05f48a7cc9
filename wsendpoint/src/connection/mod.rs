//! After the upgrade: the connection's lifecycle (one state machine), the driver that reads
//! frames and runs the handler's events, the writer and the outbound queue it drains, the
//! read-ahead under the WebSocket layer, and the clock for pings and idleness. The driver runs a
//! [`Handler`](handler::Handler), so this layer knows frames, queues and timers, not endpoints
//! or pools. Depends only on `base`.

pub(crate) mod clock;
pub(crate) mod driver;
pub(crate) mod handler;
pub(crate) mod outbound;
pub(crate) mod read_ahead;
pub(crate) mod socket;
pub(crate) mod state;
pub(crate) mod writer;

//! Black-box tests: a real server on 127.0.0.1:0 and real tokio-tungstenite clients.
//!
//! One test binary with a module per theme (one link instead of ten). Every endpoint of the
//! binary is mounted on every hub, so each module's endpoints use their own routes, and tests
//! sharing an endpoint use their own pool keys.

mod backplane_history;
mod close_order;
mod cluster;
mod cluster_history;
mod disconnect;
mod groups;
mod handshake;
mod history;
mod latest;
mod lifecycle;
mod limits;
mod load;
mod messages;
mod mining;
mod params;
mod pool;
mod redis_cluster;
mod redis_server;
mod session_api;
mod shutdown;
mod support;

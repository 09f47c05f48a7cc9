//! The mining demo: a page, a WebSocket endpoint keyed by `<key>`, and `POST /mine/<key>` to
//! start a SHA-256 proof-of-work job whose progress is pushed to that key.
//!
//! ```text
//! cargo run --example mining                  # http://127.0.0.1:8090/
//! cargo run --example mining -- --port 9000 --host 0.0.0.0
//! cargo test --example mining                 # unit tests of app.rs and miner.rs
//! ```
//!
//! Ctrl-C closes every session with 1001 and stops running jobs before the process exits.

mod app;

use std::process::ExitCode;

use examples_shared::cli;

#[tokio::main]
async fn main() -> ExitCode {
    cli::run(cli::Demo {
        name: "mining",
        about: "mining demo: open http://ADDR:N/ in a browser.",
        default_port: 8090,
        app: app::app,
    })
    .await
}

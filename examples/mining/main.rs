//! The mining demo: a page, a WebSocket endpoint keyed by `<key>`, and `POST /mine/<key>` to
//! start a SHA-256 proof-of-work job whose progress is pushed to that key.
//!
//! ```text
//! cargo run --example mining                  # http://127.0.0.1:8090/
//! cargo run --example mining -- --port 9000 --host 0.0.0.0
//! cargo test --example mining                 # unit tests of app.rs, miner.rs and cli.rs
//! ```
//!
//! Ctrl-C closes every session with 1001 and stops running jobs before the process exits.

mod app;
mod cli;

use std::process::ExitCode;

const USAGE: &str = "\
Usage: mining [--port N] [--host ADDR]

Serves the wsendpoint mining demo: open http://ADDR:N/ in a browser.

Options:
  --port N       port to listen on (default 8090; 0 picks a free one)
  --host ADDR    address to bind (default 127.0.0.1)
  -h, --help     show this help

Log level: RUST_LOG (default info), e.g. RUST_LOG=debug.";

#[tokio::main]
async fn main() -> ExitCode {
    cli::run(cli::Demo {
        name: "mining",
        usage: USAGE,
        default_port: 8090,
        app: app::app,
    })
    .await
}

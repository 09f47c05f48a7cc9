//! The chat example: rooms, nicknames, broadcast to a room, join and leave notices and who is
//! online, on the same page client module as the mining demo.
//!
//! ```text
//! cargo run --example chat                    # http://127.0.0.1:8091/
//! cargo run --example chat -- --port 9001 --host 0.0.0.0
//! cargo test --example chat                   # unit tests of app.rs and the shared cli.rs
//! ```
//!
//! Open `http://127.0.0.1:8091/?room=lobby&nick=ada` in one tab and `...&nick=bob` in another.

mod app;
#[path = "../mining/cli.rs"]
mod cli;

use std::process::ExitCode;

const USAGE: &str = "\
Usage: chat [--port N] [--host ADDR]

Serves the wsendpoint chat example: open http://ADDR:N/ in a browser
(/?room=R&nick=N joins room R as N at once).

Options:
  --port N       port to listen on (default 8091; 0 picks a free one)
  --host ADDR    address to bind (default 127.0.0.1)
  -h, --help     show this help

Log level: RUST_LOG (default info), e.g. RUST_LOG=debug.";

#[tokio::main]
async fn main() -> ExitCode {
    cli::run(cli::Demo {
        name: "chat",
        usage: USAGE,
        default_port: 8091,
        app: app::app,
    })
    .await
}

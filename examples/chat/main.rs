//! The chat example: rooms, nicknames, broadcast to a room, join and leave notices and who is
//! online, on the same page client module as the mining demo.
//!
//! ```text
//! cargo run --example chat                    # http://127.0.0.1:8091/
//! cargo run --example chat -- --port 9001 --host 0.0.0.0
//! cargo test --example chat                   # unit tests of app.rs
//! ```
//!
//! Open `http://127.0.0.1:8091/?room=lobby&nick=ada` in one tab and `...&nick=bob` in another.

mod app;

use std::process::ExitCode;

use examples_shared::cli;

#[tokio::main]
async fn main() -> ExitCode {
    cli::run(cli::Demo {
        name: "chat",
        about: "chat example: open http://ADDR:N/ in a browser\n(/?room=R&nick=N joins room R as N at once).",
        default_port: 8091,
        app: app::app,
    })
    .await
}

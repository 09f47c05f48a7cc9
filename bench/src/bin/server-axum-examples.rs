//! Baseline A: a hand-written axum WebSocket handler as in axum's examples (a `send` per
//! message, default config). See `wsendpoint_bench::baseline`.

use wsendpoint_bench::baseline::{self, Style};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = wsendpoint_bench::server_port("server-axum-examples");
    baseline::serve(Style::Examples, port).await
}

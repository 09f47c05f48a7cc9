//! Baseline B, the one the framework's targets are ratios to: the same hand-written axum
//! handler, tuned (the writer feeds all queued frames then flushes once; 4 KiB read buffer).

use wsendpoint_bench::baseline::{self, Style};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = wsendpoint_bench::server_port("server-axum-tuned");
    baseline::serve(Style::Tuned, port).await
}

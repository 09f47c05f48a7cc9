//! The smallest wsendpoint server: every text message comes back unchanged.
//!
//! ```text
//! cargo run --example echo                    # ws://127.0.0.1:8080/echo
//! cargo run --example echo -- --port 9000
//! ```
//!
//! It uses the one-liner [`wsendpoint::serve`], which serves every `#[server_endpoint]` of the
//! program and shuts down gracefully on Ctrl-C. Binary messages are refused with close code
//! 1003, because the endpoint declares only a text handler.

use std::process::ExitCode;

use tracing_subscriber::EnvFilter;
use wsendpoint::prelude::*;

const DEFAULT_PORT: u16 = 8080;

const USAGE: &str = "\
Usage: echo [--port N]

Serves a WebSocket echo endpoint on ws://127.0.0.1:N/echo (default port 8080).";

/// Sends every text message back to its sender.
#[derive(Default)]
struct Echo;

#[server_endpoint("/echo")]
impl Echo {
    #[on_message]
    fn echo(&mut self, text: String) -> String {
        text
    }
}

/// The port from `--port N` / `--port=N`, `None` for `--help`; the error is for the user.
fn parse_port(args: impl IntoIterator<Item = String>) -> Result<Option<u16>, String> {
    let mut port = DEFAULT_PORT;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let raw = match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--port" => args.next().ok_or("--port needs a value")?,
            _ => match arg.strip_prefix("--port=") {
                Some(raw) => raw.to_owned(),
                None => return Err(format!("unexpected argument {arg:?}")),
            },
        };
        port = raw
            .parse()
            .map_err(|_| format!("--port must be a number from 0 to 65535, got {raw:?}"))?;
    }
    Ok(Some(port))
}

#[tokio::main]
async fn main() -> ExitCode {
    let port = match parse_port(std::env::args().skip(1)) {
        Ok(Some(port)) => port,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("echo: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match wsendpoint::serve(("127.0.0.1", port)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(port, %error, "echo server failed");
            ExitCode::FAILURE
        }
    }
}

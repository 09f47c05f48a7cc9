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

use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;
use wsendpoint::Hub;

const DEFAULT_PORT: u16 = 8090;
/// Loopback by default: the demo lets anyone who can reach it burn CPU.
const DEFAULT_HOST: &str = "127.0.0.1";

const USAGE: &str = "\
Usage: mining [--port N] [--host ADDR]

Serves the wsendpoint mining demo: open http://ADDR:N/ in a browser.

Options:
  --port N       port to listen on (default 8090; 0 picks a free one)
  --host ADDR    address to bind (default 127.0.0.1)
  -h, --help     show this help

Log level: RUST_LOG (default info), e.g. RUST_LOG=debug.";

/// Where to listen.
#[derive(Debug, PartialEq, Eq)]
struct Options {
    host: String,
    port: u16,
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Cli {
    Run(Options),
    Help,
}

/// Parses `--port N`, `--port=N`, `--host ADDR`, `--host=ADDR` and `--help`; the error is a
/// sentence for the user.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Cli, String> {
    let mut options = Options {
        host: DEFAULT_HOST.to_owned(),
        port: DEFAULT_PORT,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg, None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Cli::Help),
            "--port" => {
                let raw = value("--port")?;
                options.port = raw
                    .parse()
                    .map_err(|_| format!("--port must be a number from 0 to 65535, got {raw:?}"))?;
            }
            "--host" => options.host = value("--host")?,
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    Ok(Cli::Run(options))
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Cli::Run(options)) => options,
        Ok(Cli::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("mining: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    let hub = match Hub::try_new() {
        Ok(hub) => hub,
        Err(conflict) => {
            tracing::error!(%conflict, "cannot build the hub");
            return ExitCode::FAILURE;
        }
    };
    let listener = match TcpListener::bind((options.host.as_str(), options.port)).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(host = %options.host, port = options.port, %error, "cannot listen");
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(addr) => tracing::info!("mining demo on http://{addr}/ (Ctrl-C to stop)"),
        Err(error) => tracing::warn!(%error, "listening, but the local address is unknown"),
    }

    tokio::spawn({
        let hub = hub.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                tracing::info!("shutting down");
                hub.shutdown().await;
            }
        }
    });

    let router = app::app(&hub);
    if let Err(error) = hub.serve_router(listener, router).await {
        tracing::error!(%error, "server failed");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, String> {
        parse_args(args.iter().map(|arg| arg.to_string()))
    }

    #[test]
    fn defaults_to_loopback_8090() {
        assert_eq!(
            parse(&[]),
            Ok(Cli::Run(Options {
                host: "127.0.0.1".into(),
                port: 8090
            }))
        );
    }

    #[test]
    fn reads_port_and_host_in_both_spellings() {
        let expected = Ok(Cli::Run(Options {
            host: "0.0.0.0".into(),
            port: 9000,
        }));
        assert_eq!(parse(&["--port", "9000", "--host", "0.0.0.0"]), expected);
        assert_eq!(parse(&["--port=9000", "--host=0.0.0.0"]), expected);
        assert_eq!(parse(&["--port", "1", "--help"]), Ok(Cli::Help));
    }

    #[test]
    fn rejects_bad_arguments_with_a_sentence() {
        assert!(parse(&["--port"]).unwrap_err().contains("needs a value"));
        assert!(parse(&["--port", "x"]).unwrap_err().contains("0 to 65535"));
        assert!(parse(&["--port", "70000"])
            .unwrap_err()
            .contains("0 to 65535"));
        assert!(parse(&["--verbose"]).unwrap_err().contains("--verbose"));
    }
}

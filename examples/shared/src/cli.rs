//! The command line and start-up of the demo servers (mining, chat): `--port N`, `--host ADDR`,
//! `--help`, logging, and a graceful shutdown on Ctrl-C, so that both demos start, log and stop
//! the same way.

use std::process::ExitCode;

use axum::Router;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;
use wsendpoint::Hub;

/// Loopback by default: the demos let anyone who can reach them burn CPU or chat.
pub const DEFAULT_HOST: &str = "127.0.0.1";

/// Where to listen.
#[derive(Debug, PartialEq, Eq)]
pub struct Options {
    pub host: String,
    pub port: u16,
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Cli {
    Run(Options),
    Help,
}

/// Parses `--port N`, `--port=N`, `--host ADDR`, `--host=ADDR` and `--help`; the error is a
/// sentence for the user.
pub fn parse_args(
    args: impl IntoIterator<Item = String>,
    default_port: u16,
) -> Result<Cli, String> {
    let mut options = Options {
        host: DEFAULT_HOST.to_owned(),
        port: default_port,
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

/// A demo server: its name (for messages), what it serves (for `--help`), its default port and
/// its app.
pub struct Demo {
    pub name: &'static str,
    /// One or more lines after "Serves the wsendpoint ".
    pub about: &'static str,
    pub default_port: u16,
    /// Builds the router from the hub it is served with.
    pub app: fn(&Hub) -> Router,
}

impl Demo {
    /// The `--help` text.
    pub fn usage(&self) -> String {
        let Demo {
            name,
            about,
            default_port,
            ..
        } = self;
        format!(
            "\
Usage: {name} [--port N] [--host ADDR]

Serves the wsendpoint {about}

Options:
  --port N       port to listen on (default {default_port}; 0 picks a free one)
  --host ADDR    address to bind (default {DEFAULT_HOST})
  -h, --help     show this help

Log level: RUST_LOG (default info), e.g. RUST_LOG=debug."
        )
    }
}

/// Runs `demo` with the process's arguments until Ctrl-C, which closes every session with 1001
/// (and lets the app's work stop) before the process exits.
pub async fn run(demo: Demo) -> ExitCode {
    let options = match parse_args(std::env::args().skip(1), demo.default_port) {
        Ok(Cli::Run(options)) => options,
        Ok(Cli::Help) => {
            println!("{}", demo.usage());
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("{}: {message}\n\n{}", demo.name, demo.usage());
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
        Ok(addr) => tracing::info!("{} demo on http://{addr}/ (Ctrl-C to stop)", demo.name),
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

    let router = (demo.app)(&hub);
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
        parse_args(args.iter().map(|arg| arg.to_string()), 8090)
    }

    #[test]
    fn the_help_names_the_demo_and_its_defaults() {
        let demo = Demo {
            name: "chat",
            about: "chat example.",
            default_port: 8091,
            app: |_| Router::new(),
        };
        let usage = demo.usage();
        assert!(usage.starts_with("Usage: chat [--port N]"), "{usage}");
        assert!(
            usage.contains("Serves the wsendpoint chat example."),
            "{usage}"
        );
        assert!(usage.contains("(default 8091;"), "{usage}");
        assert!(usage.contains("(default 127.0.0.1)"), "{usage}");
    }

    #[test]
    fn defaults_to_loopback_and_the_given_port() {
        assert_eq!(
            parse(&[]),
            Ok(Cli::Run(Options {
                host: "127.0.0.1".into(),
                port: 8090
            }))
        );
        assert_eq!(
            parse_args(Vec::new(), 8091),
            Ok(Cli::Run(Options {
                host: "127.0.0.1".into(),
                port: 8091
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

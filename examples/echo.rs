//! The smallest wsendpoint server: every text message comes back unchanged.
//!
//! ```text
//! cargo run --example echo                    # ws://127.0.0.1:8080/echo
//! cargo run --example echo -- --port 9000
//! ```
//!
//! It uses the one-liner [`wsendpoint::serve`], which serves every `#[server_endpoint]` of the
//! program and shuts down gracefully on Ctrl-C. Binary messages are refused with close code
//! 1003, because the endpoint declares only a text handler. Its command line and logging are
//! the other examples' (`examples-shared`), without `--host`: it always binds 127.0.0.1.

use std::process::ExitCode;

use examples_shared::cli::{self, CommandLine};
use wsendpoint::prelude::*;

const USAGE: &str = "\
Usage: echo [--port N]

Serves a WebSocket echo endpoint on ws://127.0.0.1:N/echo (default port 8080).";

/// `--port N` (default 8080, as [`USAGE`] says) and `--help`.
const COMMAND_LINE: CommandLine<'static> = CommandLine {
    name: "echo",
    usage: USAGE,
    default_port: 8080,
    demo_flags: false,
};

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

#[tokio::main]
async fn main() -> ExitCode {
    let options = match COMMAND_LINE.options() {
        Ok(options) => options,
        Err(exit) => return exit,
    };
    cli::init_logging();
    match wsendpoint::serve(options.addr()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(port = options.port, %error, "echo server failed");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use examples_shared::cli::{Cli, Options};

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, String> {
        COMMAND_LINE.parse(args.iter().map(|arg| arg.to_string()))
    }

    fn port(port: u16) -> Result<Cli, String> {
        Ok(Cli::Run(Options {
            host: "127.0.0.1".into(),
            port,
            redis: None,
        }))
    }

    #[test]
    fn takes_a_port_in_both_spellings_and_binds_loopback() {
        assert_eq!(parse(&[]), port(8080));
        assert_eq!(parse(&["--port", "9000"]), port(9000));
        assert_eq!(parse(&["--port=9000"]), port(9000));
        assert_eq!(parse(&["--port", "1", "-h"]), Ok(Cli::Help));
        assert!(parse(&["--port", "x"]).unwrap_err().contains("0 to 65535"));
    }

    #[test]
    fn takes_no_host() {
        assert_eq!(
            parse(&["--host", "0.0.0.0"]),
            Err(r#"unexpected argument "--host""#.to_owned())
        );
    }

    #[test]
    fn the_help_gives_the_default_port() {
        let default = format!("(default port {})", COMMAND_LINE.default_port);
        assert!(USAGE.contains(&default), "{USAGE}");
        assert!(!USAGE.contains("--host"), "{USAGE}");
    }
}

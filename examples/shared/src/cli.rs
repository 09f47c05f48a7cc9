//! The command line and start-up of the example servers, so that they all start, log and stop
//! the same way: [`CommandLine`] reads `--port N`, `--host ADDR`, `--redis URL`,
//! `--redis-cluster URL,...` and `--help`, [`init_logging`] sets up logging, and [`run`] serves
//! a [`Demo`] (mining, chat) with both, on a cluster of nodes over Redis with `--redis` (or a
//! Redis Cluster with `--redis-cluster`), and with a graceful shutdown on Ctrl-C. echo,
//! which serves with `wsendpoint::serve`, uses the first two.

use std::process::ExitCode;

use axum::Router;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;
use wsendpoint::{Hub, RedisBackplane};

/// Loopback by default: the demos let anyone who can reach them burn CPU or chat.
pub const DEFAULT_HOST: &str = "127.0.0.1";

/// Where to listen.
#[derive(Debug, PartialEq, Eq)]
pub struct Options {
    pub host: String,
    pub port: u16,
    /// The Redis that joins this node to the others.
    pub redis: Option<Redis>,
}

/// The broker of a cluster of demo nodes.
#[derive(Debug, PartialEq, Eq)]
pub enum Redis {
    /// `--redis URL`: one Redis.
    Single(String),
    /// `--redis-cluster URL,URL,...`: some of a Redis Cluster's primaries.
    Cluster(Vec<String>),
}

impl Redis {
    /// Connects, or says why not.
    async fn connect(&self) -> Result<RedisBackplane, wsendpoint::BackplaneError> {
        match self {
            Redis::Single(url) => RedisBackplane::connect(url).await,
            Redis::Cluster(urls) => RedisBackplane::connect_cluster(urls).await,
        }
    }
}

impl std::fmt::Display for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Redis::Single(url) => f.write_str(url),
            Redis::Cluster(urls) => write!(f, "the Redis Cluster of {}", urls.join(",")),
        }
    }
}

impl Options {
    /// The address to bind, as `TcpListener::bind` and `wsendpoint::serve` take it.
    pub fn addr(&self) -> (&str, u16) {
        (&self.host, self.port)
    }
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Cli {
    Run(Options),
    Help,
}

/// A server's command line: its name, its `--help` text, and what its arguments may set.
pub struct CommandLine<'a> {
    /// Starts every error message.
    pub name: &'a str,
    /// What `--help` prints, and an error after itself.
    pub usage: &'a str,
    pub default_port: u16,
    /// Whether the demos' `--host ADDR` and `--redis[-cluster] URL` are accepted; without them the
    /// server binds [`DEFAULT_HOST`] and serves alone.
    pub demo_flags: bool,
}

impl CommandLine<'_> {
    /// Parses `--port N`, `--port=N`, `--help` and, with [`demo_flags`](Self::demo_flags),
    /// `--host ADDR`, `--redis URL` and `--redis-cluster URL,...` (or `=`); the error is a
    /// sentence for the user.
    pub fn parse(&self, args: impl IntoIterator<Item = String>) -> Result<Cli, String> {
        let mut options = Options {
            host: DEFAULT_HOST.to_owned(),
            port: self.default_port,
            redis: None,
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
                    options.port = raw.parse().map_err(|_| {
                        format!("--port must be a number from 0 to 65535, got {raw:?}")
                    })?;
                }
                "--host" if self.demo_flags => options.host = value("--host")?,
                "--redis" if self.demo_flags => {
                    options.redis = Some(Redis::Single(value("--redis")?));
                }
                "--redis-cluster" if self.demo_flags => {
                    let urls = value("--redis-cluster")?;
                    let urls = urls.split(',').filter(|u| !u.is_empty()).map(String::from);
                    options.redis = Some(Redis::Cluster(urls.collect()));
                }
                other => return Err(format!("unexpected argument {other:?}")),
            }
        }
        Ok(Cli::Run(options))
    }

    /// The options the process's arguments ask for. On `--help` (printed) or an error (printed
    /// with the usage), the code to exit with instead: 0 or 2.
    pub fn options(&self) -> Result<Options, ExitCode> {
        match self.parse(std::env::args().skip(1)) {
            Ok(Cli::Run(options)) => Ok(options),
            Ok(Cli::Help) => {
                println!("{}", self.usage);
                Err(ExitCode::SUCCESS)
            }
            Err(message) => {
                eprintln!("{}: {message}\n\n{}", self.name, self.usage);
                Err(ExitCode::from(2))
            }
        }
    }
}

/// Logs to stderr at `RUST_LOG`'s level, `info` when it is unset or invalid.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
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
Usage: {name} [--port N] [--host ADDR] [--redis URL | --redis-cluster URL,...]

Serves the wsendpoint {about}

Options:
  --port N       port to listen on (default {default_port}; 0 picks a free one)
  --host ADDR    address to bind (default {DEFAULT_HOST})
  --redis URL    join the other nodes on this Redis (redis://127.0.0.1:6379): a send
                 on any node reaches the sessions of every node
  --redis-cluster URL,...
                 the same on a Redis Cluster, reached through these primaries
  -h, --help     show this help

Log level: RUST_LOG (default info), e.g. RUST_LOG=debug."
        )
    }
}

/// Runs `demo` with the process's arguments until Ctrl-C, which closes every session with 1001
/// (and lets the app's work stop) before the process exits.
pub async fn run(demo: Demo) -> ExitCode {
    let usage = demo.usage();
    let command_line = CommandLine {
        name: demo.name,
        usage: &usage,
        default_port: demo.default_port,
        demo_flags: true,
    };
    let options = match command_line.options() {
        Ok(options) => options,
        Err(exit) => return exit,
    };
    init_logging();

    let hub = match Hub::try_new() {
        Ok(hub) => hub,
        Err(conflict) => {
            tracing::error!(%conflict, "cannot build the hub");
            return ExitCode::FAILURE;
        }
    };
    let hub = match &options.redis {
        None => hub,
        Some(redis) => match redis.connect().await {
            Ok(backplane) => {
                tracing::info!(%redis, "joined the cluster");
                hub.with_backplane(backplane)
            }
            Err(error) => {
                tracing::error!(%redis, %error, "cannot reach Redis");
                return ExitCode::FAILURE;
            }
        },
    };
    let listener = match TcpListener::bind(options.addr()).await {
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

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|arg| arg.to_string()).collect()
    }

    fn parse(args: &[&str]) -> Result<Cli, String> {
        command_line(8090, true).parse(strings(args))
    }

    fn command_line(default_port: u16, demo_flags: bool) -> CommandLine<'static> {
        CommandLine {
            name: "demo",
            usage: "Usage: demo",
            default_port,
            demo_flags,
        }
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
                port: 8090,
                redis: None,
            }))
        );
        assert_eq!(
            command_line(8091, true).parse(Vec::new()),
            Ok(Cli::Run(Options {
                host: "127.0.0.1".into(),
                port: 8091,
                redis: None,
            }))
        );
    }

    #[test]
    fn reads_port_and_host_in_both_spellings() {
        let expected = Ok(Cli::Run(Options {
            host: "0.0.0.0".into(),
            port: 9000,
            redis: None,
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

    #[test]
    fn reads_the_redis_url() {
        let expected = Ok(Cli::Run(Options {
            host: "127.0.0.1".into(),
            port: 8092,
            redis: Some(Redis::Single("redis://127.0.0.1:6379".into())),
        }));
        assert_eq!(
            parse(&["--port", "8092", "--redis", "redis://127.0.0.1:6379"]),
            expected
        );
        assert_eq!(
            parse(&["--port=8092", "--redis=redis://127.0.0.1:6379"]),
            expected
        );
        assert!(parse(&["--redis"]).unwrap_err().contains("needs a value"));
        let expected = Ok(Cli::Run(Options {
            host: "127.0.0.1".into(),
            port: 8090,
            redis: Some(Redis::Cluster(vec![
                "redis://127.0.0.1:7000".into(),
                "redis://127.0.0.1:7001".into(),
            ])),
        }));
        assert_eq!(
            parse(&["--redis-cluster=redis://127.0.0.1:7000,redis://127.0.0.1:7001"]),
            expected
        );
    }

    #[test]
    fn without_the_demo_flags_host_and_redis_are_unexpected_arguments() {
        let command_line = command_line(8080, false);
        for args in [&["--host", "0.0.0.0"][..], &["--host=0.0.0.0"], &["--host"]] {
            assert_eq!(
                command_line.parse(strings(args)),
                Err(r#"unexpected argument "--host""#.to_owned()),
                "{args:?}"
            );
        }
        assert!(command_line.parse(strings(&["--redis", "x"])).is_err());
        assert_eq!(
            command_line.parse(strings(&["--port=9000"])),
            Ok(Cli::Run(Options {
                host: "127.0.0.1".into(),
                port: 9000,
                redis: None,
            }))
        );
    }
}

//! The benchmark rig of wsendpoint: what the binaries of this package share.
//!
//! - [`wire`]: the load generator's raw WebSocket client (handshake, pre-masked frames, a frame
//!   parser over one reusable read buffer).
//! - [`procfs`]: a process's CPU time and resident memory, read from `/proc` and the kernel's
//!   per-process CPU clock.
//! - [`baseline`]: the hand-written axum servers the framework is compared with.
//! - [`args`]: the small command-line parser the binaries share.
//!
//! The app protocol every server speaks on `/ws/{key}`, as text messages: `echo:<p>` sends `<p>`
//! back; `bcast:<p>` sends `<p>` to every session (the sender included); `to:<key>:<p>` sends `<p>`
//! to every session under `<key>`. See `BENCHMARKS.md` at the repository root.

pub mod args;
pub mod baseline;
pub mod procfs;
pub mod wire;

/// The path prefix of the benchmark endpoint on every server: `/ws/<key>`.
pub const WS_PREFIX: &str = "/ws/";

/// Raises the soft limit of open files to the hard limit; returns the new soft limit.
///
/// One server holds at most ~19.9k sockets under a hard limit of 20,000.
pub fn raise_nofile_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return raised.rlim_cur;
            }
        }
        limit.rlim_cur
    }
}

/// What a server binary does before serving: parse `--port`, raise the file limit.
pub fn server_port(name: &str) -> u16 {
    server_options(name, false).port
}

/// A server's options: the port, and (for the framework's server) the Redis of a cluster.
pub struct ServerOptions {
    pub port: u16,
    /// `--redis URL`: join the other nodes on this Redis.
    pub redis: Option<String>,
}

/// Parses `--port` (and `--redis` if `cluster`), or exits with the usage; raises the file
/// limit.
pub fn server_options(name: &str, cluster: bool) -> ServerOptions {
    let redis = if cluster { " [--redis URL]" } else { "" };
    let usage = format!(
        "Usage: {name} [--port N]{redis}\n\nServes the benchmark protocol on ws://127.0.0.1:N/ws/{{key}} \
         and prints `listening <addr>` once ready (port 0, the default, picks a free one)."
    );
    let values: &[&str] = if cluster {
        &["port", "redis"]
    } else {
        &["port"]
    };
    let parsed = args::Args::parse(std::env::args().skip(1), &[], values).and_then(|a| {
        if a.flag("help") {
            return Err(String::new());
        }
        Ok(ServerOptions {
            port: a.value_or("port", 0u16)?,
            redis: a.value("redis")?,
        })
    });
    match parsed {
        Ok(options) => {
            raise_nofile_limit();
            options
        }
        Err(message) if message.is_empty() => {
            println!("{usage}");
            std::process::exit(0);
        }
        Err(message) => {
            eprintln!("{name}: {message}\n\n{usage}");
            std::process::exit(2);
        }
    }
}

/// Binds 127.0.0.1:`port` and prints `listening <addr>` on stdout.
pub async fn bind_and_announce(port: u16) -> std::io::Result<tokio::net::TcpListener> {
    use std::io::Write;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening {addr}")?;
    out.flush()?;
    Ok(listener)
}

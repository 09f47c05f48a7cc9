//! The load generator: one scenario against one server, one JSON line of results on stdout.
//!
//! ```text
//! loadgen --addr 127.0.0.1:PORT [--server-pid PID] --scenario NAME [scenario options]
//! ```
//!
//! It runs on one core (a current-thread tokio runtime, one task per connection), speaks
//! WebSocket itself (`wsendpoint_bench::wire`), spreads 10k+ connections over the source
//! addresses 127.0.0.2..=127.0.0.9, and reads the server's CPU time and memory from `/proc` at
//! the edges of each measured window (`--server-pid`). Latencies go into one shared
//! hdrhistogram. Every scenario is bounded in count and time, and `--max-seconds` ends the
//! process whatever happens.

mod scenarios;

use std::cell::Cell;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use wsendpoint_bench::args::Args;
use wsendpoint_bench::procfs::{self, Sample};

const USAGE: &str = "\
Usage: loadgen --addr HOST:PORT [--server-pid PID] --scenario NAME [options]

Scenarios and their options (defaults in brackets):
  echo        --conns [100] --inflight [16] --payload [64] --warmup-ms [2000] --duration-ms [5000]
  pingpong    --payload [64] --warmup-ms [500] --duration-ms [3000]
  fanout      --sessions [1000] --warmup-rounds [5] --rounds [50] --interval-ms [100]
  push        --sessions [10000] --rate [20000] --warmup-ms [1000] --duration-ms [5000]
              --command [to] (latest: latest-value sends, on the framework's server only)
  idle        --counts [10000,18000] --settle-ms [2000]
  handshake   --handshakes [2000] --warmup-handshakes [200] --concurrency [8]
Common: --sources [8] (127.0.0.2.. as source addresses), --max-seconds [180],
  --control-addr HOST:PORT (where the control connection goes; default --addr: another node
  of a cluster, for pushes across nodes), --other-pid PID (a second server whose CPU time and
  memory count with --server-pid's), --path-prefix [/ws/] (where the WebSockets open: /wsh/ is
  the framework's endpoint with history)";

const FLAGS: &[&str] = &[];
const VALUES: &[&str] = &[
    "addr",
    "server-pid",
    "control-addr",
    "other-pid",
    "scenario",
    "conns",
    "inflight",
    "payload",
    "warmup-ms",
    "duration-ms",
    "sessions",
    "warmup-rounds",
    "rounds",
    "interval-ms",
    "rate",
    "command",
    "counts",
    "settle-ms",
    "handshakes",
    "warmup-handshakes",
    "concurrency",
    "sources",
    "max-seconds",
    "path-prefix",
];

/// The push scenario's command: `to` (a plain send) or `latest` (a latest-value send).
fn push_command(command: String) -> Result<&'static str, String> {
    match command.as_str() {
        "to" => Ok("to"),
        "latest" => Ok("latest"),
        other => Err(format!("--command must be to or latest, got {other:?}")),
    }
}

/// What every scenario needs: where the server is, how to reach it, and a clock.
pub struct Ctx {
    /// The server's address.
    pub addr: SocketAddr,
    /// Where the control connection goes: the server, or another node of its cluster.
    pub control_addr: SocketAddr,
    /// The server's pid, for its CPU time and memory.
    pub server_pid: Option<u32>,
    /// A second server (the other node) whose CPU time and memory count too.
    pub other_pid: Option<u32>,
    /// Time zero of this process: timestamps in messages are nanoseconds since then.
    pub start: Instant,
    /// The path every WebSocket of the run opens under (`/ws/` unless `--path-prefix`).
    pub prefix: String,
    sources: Vec<IpAddr>,
    next_source: Cell<usize>,
}

impl Ctx {
    /// Nanoseconds since [`Ctx::start`].
    pub fn now_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// The next source address, round robin (`None`: let the kernel choose).
    pub fn source(&self) -> Option<IpAddr> {
        if self.sources.is_empty() {
            return None;
        }
        let i = self.next_source.get();
        self.next_source.set(i.wrapping_add(1));
        Some(self.sources[i % self.sources.len()])
    }

    /// The server's CPU time and memory now, with the other node's if there is one.
    pub fn server(&self) -> Option<Sample> {
        let mut sample = self.server_pid.and_then(procfs::sample)?;
        if let Some(other) = self.other_pid {
            let other = procfs::sample(other)?;
            sample.cpu_ns += other.cpu_ns;
            sample.stat_cpu_ns += other.stat_cpu_ns;
            sample.rss += other.rss;
            sample.hwm += other.hwm;
        }
        Some(sample)
    }
}

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1), FLAGS, VALUES) {
        Ok(args) if args.flag("help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(args) => args,
        Err(message) => {
            eprintln!("loadgen: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(result) => {
            println!("{result}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("loadgen: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<serde_json::Value, String> {
    let addr: SocketAddr = args.required("addr")?;
    let scenario: String = args.required("scenario")?;
    let sources: u8 = args.value_or("sources", 8)?;
    let max_seconds: u64 = args.value_or("max-seconds", 180)?;
    let open_files = wsendpoint_bench::raise_nofile_limit();

    // A watchdog outside the runtime: whatever hangs, the process ends.
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(max_seconds));
        eprintln!("loadgen: still running after --max-seconds {max_seconds}: exiting");
        std::process::exit(3);
    });

    // The scenarios' tasks outlive no process: leaking the context gives them `'static`.
    let ctx: &'static Ctx = Box::leak(Box::new(Ctx {
        addr,
        control_addr: args.value("control-addr")?.unwrap_or(addr),
        server_pid: args.value("server-pid")?,
        other_pid: args.value("other-pid")?,
        start: Instant::now(),
        prefix: args.value_or("path-prefix", wsendpoint_bench::WS_PREFIX.to_owned())?,
        sources: if addr.ip().is_loopback() && addr.is_ipv4() {
            (0..sources)
                .map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + i)))
                .collect()
        } else {
            Vec::new()
        },
        next_source: Cell::new(0),
    }));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let local = tokio::task::LocalSet::new();
    let ms = |name: &str, default: u64| -> Result<Duration, String> {
        Ok(Duration::from_millis(args.value_or(name, default)?))
    };
    let mut result = local.block_on(&runtime, async {
        match scenario.as_str() {
            "echo" => {
                scenarios::echo(
                    ctx,
                    args.value_or("conns", 100)?,
                    args.value_or("inflight", 16)?,
                    args.value_or("payload", 64)?,
                    ms("warmup-ms", 2000)?,
                    ms("duration-ms", 5000)?,
                )
                .await
            }
            "pingpong" => {
                scenarios::pingpong(
                    ctx,
                    args.value_or("payload", 64)?,
                    ms("warmup-ms", 500)?,
                    ms("duration-ms", 3000)?,
                )
                .await
            }
            "fanout" => {
                scenarios::fanout(
                    ctx,
                    args.value_or("sessions", 1000)?,
                    args.value_or("warmup-rounds", 5)?,
                    args.value_or("rounds", 50)?,
                    ms("interval-ms", 100)?,
                )
                .await
            }
            "push" => {
                scenarios::push(
                    ctx,
                    args.value_or("sessions", 10_000)?,
                    args.value_or("rate", 20_000)?,
                    push_command(args.value_or("command", "to".to_owned())?)?,
                    ms("warmup-ms", 1000)?,
                    ms("duration-ms", 5000)?,
                )
                .await
            }
            "idle" => {
                let counts = args.list("counts");
                let counts = if counts.is_empty() {
                    vec![10_000, 18_000]
                } else {
                    counts
                        .iter()
                        .map(|c| c.parse().map_err(|_| format!("--counts: {c:?}")))
                        .collect::<Result<Vec<usize>, String>>()?
                };
                scenarios::idle(ctx, &counts, ms("settle-ms", 2000)?).await
            }
            "handshake" => {
                scenarios::handshake(
                    ctx,
                    args.value_or("handshakes", 2000)?,
                    args.value_or("warmup-handshakes", 200)?,
                    args.value_or("concurrency", 8)?,
                )
                .await
            }
            other => Err(format!("unknown scenario {other:?}")),
        }
    })?;
    if let Some(object) = result.as_object_mut() {
        object.insert("scenario".into(), scenario.into());
        object.insert("loadgen_open_files_limit".into(), open_files.into());
        object.insert(
            "loadgen_seconds".into(),
            ctx.start.elapsed().as_secs_f64().into(),
        );
    }
    Ok(result)
}

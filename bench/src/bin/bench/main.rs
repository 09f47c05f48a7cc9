//! The benchmark orchestrator: runs the release binaries next to it, writes the report.
//!
//! ```text
//! bench/run.sh [--quick] [--reps N] [--scenario NAME]...    # builds, then runs this
//! ```
//!
//! For each repetition, each scenario runs on the servers A B C in turn (axum-examples,
//! axum-tuned, wsendpoint): a fresh server pinned to core 0 (`taskset -c 0`), the load generator
//! pinned to core 1. The server's CPU time and memory are read from `/proc`. Results are
//! medians over repetitions with min–max, and ratios to axum-tuned of the same repetition.
//! A full run writes the results section of `BENCHMARKS.md`, `bench/results/ratios.svg` and
//! `bench/results/latest.json`; `--quick` (1 repetition, small counts, a smoke test) and partial
//! runs write `bench/results/quick.*` or `partial.*` instead.

mod compare;
mod plan;
mod report;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use wsendpoint_bench::args::Args;
use wsendpoint_bench::procfs;

use plan::{Scenario, Server, SERVERS};

const USAGE: &str = "\
Usage: bench [--quick] [--reps N] [--scenario NAME]... [--server NAME]... [--no-write]
       bench --cluster | --latest-value | --history [--quick] [--reps N] [--no-write]

Runs every scenario on axum-examples, axum-tuned and wsendpoint (in that order, per repetition),
server on core 0 and load generator on core 1, and reports medians, min–max and ratios to
axum-tuned. Build first: `cargo build --release -p wsendpoint-bench` (bench/run.sh does both).

  --quick          1 repetition, small counts: a smoke test (writes bench/results/quick.*)
  --reps N         repetitions (default 5)
  --scenario NAME  only these: echo, echo-16k, pingpong, fanout-1k, fanout-10k, push, idle,
                   handshake
  --server NAME    only these servers (ratios need axum-tuned)
  --cluster        instead: push-to-key on wsendpoint across two nodes over a redis-server of
                   the run's own, against one node (writes bench/results/cluster.json and the
                   cluster section of BENCHMARKS.md)
  --latest-value   instead: push-to-key on wsendpoint as latest-value sends against plain
                   sends (writes bench/results/latest-value.json and its section of
                   BENCHMARKS.md)
  --history        instead: push-to-key on wsendpoint with every send kept in a history,
                   against plain sends, on one node and on two over Redis (writes
                   bench/results/history.json and its section of BENCHMARKS.md)
  --no-write       print the table only";

fn main() -> ExitCode {
    let args = match Args::parse(
        std::env::args().skip(1),
        &["quick", "no-write", "cluster", "latest-value", "history"],
        &["reps", "scenario", "server"],
    ) {
        Ok(args) if args.flag("help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(args) => args,
        Err(message) => {
            eprintln!("bench: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("bench: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The outcome of one (repetition, scenario, server).
pub struct Record {
    pub rep: usize,
    pub scenario: &'static str,
    pub server: usize,
    pub result: Option<Value>,
    pub error: Option<String>,
    /// The server's totals at the end: CPU since start, RSS, peak RSS.
    pub server_total: Option<procfs::Sample>,
    pub seconds: f64,
}

fn run(args: &Args) -> Result<(), String> {
    let quick = args.flag("quick");
    let reps: usize = args.value_or("reps", if quick { 1 } else { 5 })?;
    let (all_scenarios, idle) = plan::scenarios(quick);
    let wanted = args.list("scenario");
    for name in &wanted {
        if !all_scenarios.iter().any(|s| s.name == name) {
            return Err(format!("unknown scenario {name:?}"));
        }
    }
    let scenarios: Vec<&Scenario> = all_scenarios
        .iter()
        .filter(|s| wanted.is_empty() || wanted.iter().any(|w| w == s.name))
        .collect();
    let wanted_servers = args.list("server");
    let servers: Vec<usize> = (0..SERVERS.len())
        .filter(|&i| {
            wanted_servers.is_empty() || wanted_servers.iter().any(|w| w == SERVERS[i].name)
        })
        .collect();
    if servers.is_empty() || reps == 0 || scenarios.is_empty() {
        return Err("nothing to run".into());
    }
    let complete = !quick
        && reps >= 3
        && scenarios.len() == all_scenarios.len()
        && servers.len() == SERVERS.len();

    let bin_dir = std::env::current_exe()
        .map_err(|e| format!("own path: {e}"))?
        .parent()
        .map(Path::to_path_buf)
        .ok_or("no directory for the binaries")?;
    check_binaries(&bin_dir)?;
    let pin = pinning();
    let comparisons = [
        ("cluster", compare::Comparison::Cluster),
        ("latest-value", compare::Comparison::Latest),
        ("history", compare::Comparison::History),
    ];
    let mut chosen = comparisons.iter().filter(|(flag, _)| args.flag(flag));
    let comparison = chosen.next().map(|(_, comparison)| *comparison);
    if chosen.next().is_some() {
        return Err("one of --cluster, --latest-value and --history at a time".into());
    }
    if let Some(comparison) = comparison {
        let push = all_scenarios
            .iter()
            .find(|s| s.name == "push")
            .ok_or("no push scenario")?;
        let write = !args.flag("no-write") && !quick && reps >= 3;
        return compare::run(&bin_dir, pin, push, (comparison, reps), write);
    }
    let machine = report::machine();
    let load_before = loadavg();
    eprintln!("bench: {}", machine_line(&machine));
    eprintln!("bench: load average before the run: {load_before}");
    if load_before
        .split_whitespace()
        .next()
        .and_then(|l| l.parse::<f64>().ok())
        .unwrap_or(0.0)
        >= 0.6
    {
        eprintln!("bench: warning: the machine is busy (1-min load ≥ 0.6): numbers will be noisy");
    }
    wsendpoint_bench::raise_nofile_limit();

    let started = Instant::now();
    let started_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut records = Vec::new();
    for rep in 1..=reps {
        for scenario in &scenarios {
            for &server in &servers {
                let record = run_one(&bin_dir, pin, rep, scenario, server);
                eprintln!(
                    "[rep {rep}/{reps}] {:<10} {:<14} {:>6.1} s  {}",
                    scenario.name,
                    SERVERS[server].name,
                    record.seconds,
                    record.error.as_deref().map_or_else(
                        || report::headline(scenario.name, &record),
                        |e| format!("FAILED: {e}")
                    )
                );
                records.push(record);
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
    let duration = started.elapsed().as_secs_f64();
    let load_after = loadavg();

    let metrics = plan::metrics(&all_scenarios, &idle);
    let rows = report::summarize(&metrics, &records, &servers);
    let command = command_line(quick, args);
    let info = report::RunInfo {
        command: command.clone(),
        started_unix,
        duration_s: duration,
        reps,
        quick,
        pinned: pin,
        load_before,
        load_after,
        machine,
    };
    let markdown = report::markdown(&info, &rows, &records, &servers);
    println!("{markdown}");

    if args.flag("no-write") {
        return Ok(());
    }
    let root = repo_root();
    let results = root.join("bench/results");
    std::fs::create_dir_all(&results).map_err(|e| format!("{}: {e}", results.display()))?;
    let failed = records.iter().filter(|r| r.error.is_some()).count();
    let official = complete && failed == 0;
    let stem = if official {
        "latest"
    } else if quick {
        "quick"
    } else {
        "partial"
    };
    let json_path = results.join(format!("{stem}.json"));
    let svg_path = results.join(if official {
        "ratios.svg".to_owned()
    } else {
        format!("{stem}.svg")
    });
    let raw = report::raw_json(&info, &rows, &records);
    std::fs::write(
        &json_path,
        serde_json::to_string_pretty(&raw).unwrap_or_default(),
    )
    .map_err(|e| format!("{}: {e}", json_path.display()))?;
    report::chart(&svg_path, &rows, &info)?;
    eprintln!(
        "bench: wrote {} and {}",
        json_path.display(),
        svg_path.display()
    );
    if official {
        let doc = root.join("BENCHMARKS.md");
        report::update_benchmarks_md(&doc, &markdown)?;
        eprintln!("bench: updated the results section of {}", doc.display());
    } else {
        eprintln!("bench: not a full, clean run (quick, fewer than 3 repetitions, a subset, or failures): BENCHMARKS.md left as it is");
    }
    if failed > 0 {
        return Err(format!("{failed} run(s) failed"));
    }
    Ok(())
}

fn check_binaries(dir: &Path) -> Result<(), String> {
    let own = std::env::current_exe()
        .ok()
        .and_then(|p| p.metadata().ok())
        .and_then(|m| m.modified().ok());
    for bin in SERVERS.iter().map(|s| s.bin).chain(["loadgen"]) {
        let path = dir.join(bin);
        let meta = path.metadata().map_err(|_| {
            format!(
                "{} is missing: build every binary first with `cargo build --release -p wsendpoint-bench` (or use bench/run.sh)",
                path.display()
            )
        })?;
        if let (Some(own), Ok(theirs)) = (own, meta.modified()) {
            if theirs + Duration::from_secs(600) < own {
                eprintln!(
                    "bench: warning: {} is older than bench itself: rebuild all binaries",
                    path.display()
                );
            }
        }
    }
    if !cfg!(debug_assertions) {
        return Ok(());
    }
    eprintln!("bench: warning: this is a debug build; measure with --release");
    Ok(())
}

/// Whether `taskset` can pin the server to core 0 and the load generator to core 1.
fn pinning() -> bool {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let taskset = Command::new("taskset")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if cores < 2 || !taskset {
        eprintln!("bench: warning: not pinning (needs 2 cores and taskset): server and load generator share cores");
        return false;
    }
    true
}

fn pinned_command(pin: bool, core: u32, program: &Path) -> Command {
    if pin {
        let mut command = Command::new("taskset");
        command.arg("-c").arg(core.to_string()).arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// Kills a child when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run_one(bin_dir: &Path, pin: bool, rep: usize, scenario: &Scenario, server: usize) -> Record {
    let started = Instant::now();
    let mut record = Record {
        rep,
        scenario: scenario.name,
        server,
        result: None,
        error: None,
        server_total: None,
        seconds: 0.0,
    };
    match measure(bin_dir, pin, scenario, &SERVERS[server]) {
        Ok((result, total)) => {
            record.result = Some(result);
            record.server_total = total;
        }
        Err(error) => record.error = Some(error),
    }
    record.seconds = started.elapsed().as_secs_f64();
    record
}

fn measure(
    bin_dir: &Path,
    pin: bool,
    scenario: &Scenario,
    server: &Server,
) -> Result<(Value, Option<procfs::Sample>), String> {
    let Listening {
        addr,
        pid,
        errors: server_errors,
        guard: server_guard,
    } = start_listening(
        pinned_command(pin, 0, &bin_dir.join(server.bin)),
        server.bin,
    )?;

    let mut loadgen = pinned_command(pin, 1, &bin_dir.join("loadgen"));
    loadgen
        .args(["--addr", &addr, "--server-pid", &pid.to_string()])
        .args(["--scenario", scenario.loadgen])
        .args(["--max-seconds", &scenario.timeout_s.to_string()]);
    for (name, value) in &scenario.args {
        loadgen.arg(format!("--{name}")).arg(value);
    }
    let mut child = loadgen
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting loadgen: {e}"))?;
    let output = read_lines(child.stdout.take());
    let loadgen_errors = read_lines(child.stderr.take());
    let mut loadgen_guard = Guard(child);
    let deadline = Instant::now() + Duration::from_secs(scenario.timeout_s + 10);
    let status = loop {
        if let Some(status) = loadgen_guard
            .0
            .try_wait()
            .map_err(|e| format!("loadgen: {e}"))?
        {
            break status;
        }
        if Instant::now() > deadline {
            return Err("loadgen timed out".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let total = procfs::sample(pid);
    let mut server_guard = server_guard;
    let server_exited = server_guard.0.try_wait().ok().flatten();
    drop(server_guard);
    let last = output.try_iter().last();
    let server_said = collect(&server_errors);
    if !status.success() {
        let mut error = format!("loadgen exited with {status}");
        if let Some(exit) = server_exited {
            error.push_str(&format!("; the server had exited ({exit})"));
        }
        for line in collect(&loadgen_errors) {
            error.push_str(&format!("; {line}"));
        }
        for line in &server_said {
            error.push_str(&format!("; server: {line}"));
        }
        return Err(error);
    }
    let line = last.ok_or("loadgen printed nothing")?;
    let mut value: Value =
        serde_json::from_str(&line).map_err(|e| format!("loadgen output: {e}: {line}"))?;
    if let (Some(object), false) = (value.as_object_mut(), server_said.is_empty()) {
        object.insert("server_stderr".into(), server_said.into());
    }
    Ok((value, total))
}

/// A server binary started and listening.
struct Listening {
    addr: String,
    pid: u32,
    /// Its standard error, line by line.
    errors: mpsc::Receiver<String>,
    /// Kills it when dropped.
    guard: Guard,
}

/// Runs `command` (a server binary) on a free port, and waits for its `listening <addr>` line.
fn start_listening(mut command: Command, name: &str) -> Result<Listening, String> {
    let mut child = command
        .args(["--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting {name}: {e}"))?;
    let pid = child.id();
    let lines = read_lines(child.stdout.take());
    let errors = read_lines(child.stderr.take());
    let guard = Guard(child);
    let first = lines.recv_timeout(Duration::from_secs(10)).map_err(|_| {
        format!(
            "{name} did not print `listening <addr>` within 10 s: {:?}",
            collect(&errors)
        )
    })?;
    let addr = first
        .strip_prefix("listening ")
        .ok_or_else(|| format!("{name}: unexpected first line {first:?}"))?
        .trim()
        .to_owned();
    Ok(Listening {
        addr,
        pid,
        errors,
        guard,
    })
}

/// The first lines a finished child wrote (its pipe closes when it exits).
fn collect(lines: &mpsc::Receiver<String>) -> Vec<String> {
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(1);
    while let Ok(line) = lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        if out.len() < 20 {
            out.push(line);
        }
    }
    out
}

/// Lines of a child's stdout or stderr, read by a thread until EOF.
fn read_lines(stdout: Option<impl std::io::Read + Send + 'static>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    if let Some(stdout) = stdout {
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
    }
    rx
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn machine_line(machine: &Value) -> String {
    format!(
        "{} cores, {}, kernel {}, {}",
        machine["nproc"],
        machine["cpu"].as_str().unwrap_or("?"),
        machine["kernel"].as_str().unwrap_or("?"),
        machine["rustc"].as_str().unwrap_or("?")
    )
}

fn command_line(quick: bool, args: &Args) -> String {
    let mut command = "bench/run.sh".to_owned();
    if quick {
        command.push_str(" --quick");
    }
    if let Some(reps) = args.value::<usize>("reps").ok().flatten() {
        command.push_str(&format!(" --reps {reps}"));
    }
    for scenario in args.list("scenario") {
        command.push_str(&format!(" --scenario {scenario}"));
    }
    for server in args.list("server") {
        command.push_str(&format!(" --server {server}"));
    }
    command
}

/// The repository root: the parent of this package's directory.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

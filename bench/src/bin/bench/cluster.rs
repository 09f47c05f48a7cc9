//! `bench --cluster`: push-to-key across two nodes over Redis, against push-to-key on one node.
//!
//! Each repetition runs the push scenario on wsendpoint at two rates, each twice: on one node
//! (sessions and the control connection on the same server), then on two (the sessions on node
//! B, the control connection on node A, both on one Redis, so that every push crosses nodes).
//! The low rate is below what two nodes sustain, so it measures the cost of a push; the
//! benchmark's usual rate measures where two nodes saturate. Both servers are
//! pinned to core 0, the load generator and Redis to core 1. The servers' CPU is summed; Redis's
//! CPU and its PUBLISH count are read apart. A full run (≥ 3 repetitions, not `--quick`) writes
//! `bench/results/cluster.json` and the cluster section of `BENCHMARKS.md`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wsendpoint_bench::procfs;

use super::plan::Scenario;
use super::{collect, pinned_command, read_lines, repo_root, Guard};

/// The rates of the comparison, pushes per second.
const RATES: [u64; 2] = [2_000, 20_000];

/// One push run: at what rate, how many nodes, what the load generator measured, what Redis did.
struct Run {
    rep: usize,
    rate: u64,
    nodes: usize,
    result: Value,
    publishes: u64,
    redis_cpu_ns: u64,
}

/// Runs the comparison `reps` times and reports it.
pub fn run(
    bin_dir: &Path,
    pin: bool,
    scenario: &Scenario,
    reps: usize,
    write: bool,
) -> Result<(), String> {
    let redis = Redis::start(pin)?;
    let mut runs = Vec::new();
    for rep in 1..=reps {
        for (rate, nodes) in RATES.into_iter().flat_map(|r| [(r, 1), (r, 2)]) {
            let (publishes, cpu) = (redis.publishes()?, redis.cpu_ns());
            let url = (nodes == 2).then(|| redis.url());
            let result = push(bin_dir, pin, &at_rate(scenario, rate), url.as_deref())?;
            let run = Run {
                rep,
                rate,
                nodes,
                result,
                publishes: redis.publishes()? - publishes,
                redis_cpu_ns: redis.cpu_ns() - cpu,
            };
            eprintln!(
                "[rep {rep}/{reps}] push @ {rate}/s on {nodes} node(s): {}",
                headline(&run)
            );
            runs.push(run);
        }
    }
    let table = RATES.map(|rate| table(&runs, rate)).join("\n");
    println!("{table}");
    if write {
        let raw: Vec<Value> = runs.iter().map(raw).collect();
        let path = repo_root().join("bench/results/cluster.json");
        let text = serde_json::to_string_pretty(&raw).unwrap_or_default();
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        update_section(&repo_root().join("BENCHMARKS.md"), &table)?;
        eprintln!(
            "bench: wrote {} and the cluster section of BENCHMARKS.md",
            path.display()
        );
    }
    Ok(())
}

/// `scenario` at `rate` pushes per second.
fn at_rate(scenario: &Scenario, rate: u64) -> Scenario {
    let mut scenario = scenario.clone();
    for (name, value) in &mut scenario.args {
        if *name == "rate" {
            *value = rate.to_string();
        }
    }
    scenario
}

/// Starts the nodes (one, or two on the Redis at `redis`), runs the push scenario, and returns
/// the load generator's result.
fn push(
    bin_dir: &Path,
    pin: bool,
    scenario: &Scenario,
    redis: Option<&str>,
) -> Result<Value, String> {
    let mut nodes = Vec::new();
    for _ in 0..if redis.is_some() { 2 } else { 1 } {
        nodes.push(Node::start(bin_dir, pin, redis)?);
    }
    let sessions = &nodes[0];
    let control = nodes.last().expect("a node");
    let mut loadgen = pinned_command(pin, 1, &bin_dir.join("loadgen"));
    loadgen
        .args([
            "--addr",
            &sessions.addr,
            "--server-pid",
            &sessions.pid.to_string(),
        ])
        .args([
            "--control-addr",
            &control.addr,
            "--scenario",
            scenario.loadgen,
        ])
        .args(["--max-seconds", &scenario.timeout_s.to_string()]);
    if nodes.len() == 2 {
        loadgen.args(["--other-pid", &control.pid.to_string()]);
    }
    for (name, value) in &scenario.args {
        loadgen.arg(format!("--{name}")).arg(value);
    }
    let output = loadgen
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("loadgen: {e}"))?;
    if !output.status.success() {
        return Err(format!("loadgen exited with {}", output.status));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().ok_or("loadgen printed nothing")?;
    serde_json::from_str(line).map_err(|e| format!("loadgen output: {e}: {line}"))
}

/// A running `server-wsendpoint`, killed when dropped.
struct Node {
    addr: String,
    pid: u32,
    _guard: Guard,
}

impl Node {
    fn start(bin_dir: &Path, pin: bool, redis: Option<&str>) -> Result<Node, String> {
        let mut command = pinned_command(pin, 0, &bin_dir.join("server-wsendpoint"));
        command.args(["--port", "0"]);
        if let Some(url) = redis {
            command.args(["--redis", url]);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting server-wsendpoint: {e}"))?;
        let pid = child.id();
        let lines = read_lines(child.stdout.take());
        let errors = read_lines(child.stderr.take());
        let guard = Guard(child);
        let first = lines
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| format!("server-wsendpoint did not start: {:?}", collect(&errors)))?;
        let addr = first
            .strip_prefix("listening ")
            .ok_or_else(|| format!("server-wsendpoint said {first:?}"))?
            .trim()
            .to_owned();
        Ok(Node {
            addr,
            pid,
            _guard: guard,
        })
    }
}

/// A `redis-server` of the run's own, on a Unix socket in a temporary folder.
struct Redis {
    dir: PathBuf,
    pid: u32,
    _guard: Guard,
}

impl Redis {
    fn start(pin: bool) -> Result<Redis, String> {
        let dir =
            std::env::temp_dir().join(format!("wsendpoint-bench-redis-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut command = pinned_command(pin, 1, Path::new("redis-server"));
        command
            .args(["--port", "0", "--save", "", "--appendonly", "no", "--dir"])
            .arg(&dir)
            .arg("--unixsocket")
            .arg(dir.join("redis.sock"));
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting redis-server (apt-get install redis-server): {e}"))?;
        let lines = read_lines(child.stdout.take());
        let pid = child.id();
        let guard = Guard(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = lines
                .recv_timeout(left)
                .map_err(|_| "redis-server did not start")?;
            if line
                .to_ascii_lowercase()
                .contains("ready to accept connections")
            {
                break;
            }
        }
        // `taskset` runs redis-server as its child: its pid is that of the server itself.
        Ok(Redis {
            dir,
            pid,
            _guard: guard,
        })
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("redis.sock")
    }

    fn url(&self) -> String {
        format!("redis+unix://{}", self.socket().display())
    }

    /// PUBLISH commands Redis has run so far.
    fn publishes(&self) -> Result<u64, String> {
        let output = Command::new("redis-cli")
            .arg("-s")
            .arg(self.socket())
            .args(["INFO", "commandstats"])
            .output()
            .map_err(|e| format!("redis-cli: {e}"))?;
        let text = String::from_utf8_lossy(&output.stdout);
        Ok(text
            .lines()
            .find_map(|line| line.strip_prefix("cmdstat_publish:calls="))
            .and_then(|rest| rest.split(',').next())
            .and_then(|calls| calls.parse().ok())
            .unwrap_or(0))
    }

    fn cpu_ns(&self) -> u64 {
        procfs::sample(self.pid).map_or(0, |s| s.cpu_ns)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A value of one run's result.
fn number(run: &Run, key: &str) -> Option<f64> {
    run.result.get(key).and_then(Value::as_f64)
}

/// Redis's work per push: PUBLISH commands and CPU.
fn per_push(run: &Run) -> (Option<f64>, Option<f64>) {
    let sent = number(run, "sent").filter(|s| *s > 0.0);
    let received = number(run, "received").filter(|r| *r > 0.0);
    let publishes = sent.map(|s| run.publishes as f64 / s);
    let cpu = received.map(|r| run.redis_cpu_ns as f64 / r / 1000.0);
    (publishes, cpu)
}

fn headline(run: &Run) -> String {
    let (publishes, _) = per_push(run);
    format!(
        "p50 {:.0} µs p99 {:.0} µs, CPU/delivery {:.2} µs, losses {}, PUBLISH/push {:.2}",
        number(run, "p50_us").unwrap_or(f64::NAN),
        number(run, "p99_us").unwrap_or(f64::NAN),
        number(run, "cpu_per_delivery_us").unwrap_or(f64::NAN),
        number(run, "losses").unwrap_or(f64::NAN),
        publishes.unwrap_or(f64::NAN),
    )
}

/// What each row of the table shows of a run.
type Metric = (&'static str, fn(&Run) -> Option<f64>);

const METRICS: [Metric; 6] = [
    ("p50 latency, µs", |r| number(r, "p50_us")),
    ("p99 latency, µs", |r| number(r, "p99_us")),
    ("servers' CPU per delivery (all nodes), µs", |r| {
        number(r, "cpu_per_delivery_us")
    }),
    ("Redis's CPU per delivery, µs", |r| per_push(r).1),
    ("Redis PUBLISH commands per push", |r| per_push(r).0),
    ("not delivered when the run stopped waiting", |r| {
        number(r, "losses")
    }),
];

/// The markdown table at `rate`: medians (min–max) on one and two nodes, and their ratio.
fn table(runs: &[Run], rate: u64) -> String {
    let runs: Vec<&Run> = runs.iter().filter(|r| r.rate == rate).collect();
    let sessions = runs
        .first()
        .and_then(|r| number(r, "sessions"))
        .map_or_else(|| "?".to_owned(), |n| format!("{n:.0}"));
    let mut out = format!(
        "| push-to-key {sessions} sessions @ {rate}/s | 1 node | 2 nodes over Redis | 2 nodes ÷ 1 node |\n|---|---:|---:|---:|\n",
    );
    for (name, metric) in METRICS {
        let values = |nodes: usize| -> Vec<f64> {
            runs.iter()
                .filter(|r| r.nodes == nodes)
                .filter_map(|r| metric(r))
                .collect()
        };
        let ratios: Vec<f64> = runs
            .iter()
            .filter(|r| r.nodes == 2)
            .filter_map(|two| {
                let one = runs.iter().find(|r| r.nodes == 1 && r.rep == two.rep)?;
                Some(metric(two)? / metric(one)?).filter(|x| x.is_finite())
            })
            .collect();
        out.push_str(&format!(
            "| {name} | {} | {} | {} |\n",
            spread(values(1), ""),
            spread(values(2), ""),
            spread(ratios, "×")
        ));
    }
    out
}

/// `median (min–max)` of `values`, or `—`.
fn spread(mut values: Vec<f64>, unit: &str) -> String {
    if values.is_empty() {
        return "—".into();
    }
    values.sort_by(f64::total_cmp);
    let median = values[values.len() / 2];
    let (min, max) = (values[0], values[values.len() - 1]);
    format!("{median:.2}{unit} ({min:.2}–{max:.2})")
}

fn raw(run: &Run) -> Value {
    json!({
        "rep": run.rep,
        "rate": run.rate,
        "nodes": run.nodes,
        "redis_publishes": run.publishes,
        "redis_cpu_ns": run.redis_cpu_ns,
        "loadgen": run.result,
    })
}

/// Replaces what is between the cluster markers of `BENCHMARKS.md` with `table`.
fn update_section(doc: &Path, table: &str) -> Result<(), String> {
    const START: &str = "<!-- cluster:start (generated by bench/run.sh --cluster) -->";
    const END: &str = "<!-- cluster:end -->";
    let text = std::fs::read_to_string(doc).map_err(|e| format!("{}: {e}", doc.display()))?;
    let (Some(start), Some(end)) = (text.find(START), text.find(END)) else {
        return Err(format!("{}: no cluster markers", doc.display()));
    };
    let updated = format!("{}{START}\n\n{table}\n{}", &text[..start], &text[end..]);
    std::fs::write(doc, updated).map_err(|e| format!("{}: {e}", doc.display()))
}

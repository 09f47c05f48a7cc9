//! `bench --cluster` and `bench --latest-value`: variants of push-to-key on wsendpoint, each against
//! its baseline in the same repetition.
//!
//! `--cluster`: push-to-key across two nodes over Redis, against one node. Each repetition runs
//! the push scenario at two rates, each twice: on one node (sessions and the control connection
//! on the same server), then on two (the sessions on node B, the control connection on node A,
//! both on one Redis, so that every push crosses nodes). The low rate is below what two nodes
//! sustain, so it measures the cost of a push; the benchmark's usual rate measures where two
//! nodes saturate. Redis's CPU and its PUBLISH count are read apart.
//!
//! `--latest-value`: the same pushes as latest-value sends (`send_latest`, one tag), against plain
//! sends, on one node: what the coalescing costs when there is nothing to coalesce.
//!
//! `--history`: the same pushes to the endpoint with history (`/wsh/`), every one kept and sent
//! with its position, against plain sends: on one node (a ring per key in memory), and on two
//! over Redis (a stream per key, one script per send).
//!
//! Each pair runs in alternating order from one repetition to the next. Servers are pinned to
//! core 0 (their CPU summed), the load generator and Redis to core 1. A
//! full run (≥ 3 repetitions, not `--quick`) writes `bench/results/<name>.json` and the section
//! of `BENCHMARKS.md` between the `<name>` markers.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wsendpoint_bench::procfs;

use super::plan::Scenario;
use super::{pinned_command, read_lines, repo_root, start_listening, Guard};

/// What a run compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// Two nodes over Redis against one node, at two rates.
    Cluster,
    /// Latest-value sends against plain sends, on one node.
    Latest,
    /// Sends kept in a history against plain sends, on one node and on two over Redis.
    History,
}

/// One way of running the push scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Variant {
    /// Pushes per second.
    rate: u64,
    /// 1, or 2 over Redis.
    nodes: usize,
    /// Whether the pushes are latest-value sends.
    latest: bool,
    /// Whether the sessions are on the endpoint with history (`/wsh/`).
    history: bool,
}

impl Comparison {
    /// Its name: the `--flag`, the results file and the `BENCHMARKS.md` markers.
    fn name(self) -> &'static str {
        match self {
            Comparison::Cluster => "cluster",
            Comparison::Latest => "latest-value",
            Comparison::History => "history",
        }
    }

    /// The tables: a baseline, and the variant measured against it.
    fn pairs(self) -> Vec<(Variant, Variant)> {
        let plain = |rate, nodes| Variant {
            rate,
            nodes,
            latest: false,
            history: false,
        };
        let kept = |rate, nodes| Variant {
            history: true,
            ..plain(rate, nodes)
        };
        match self {
            Comparison::Cluster => [2_000, 20_000]
                .map(|rate| (plain(rate, 1), plain(rate, 2)))
                .to_vec(),
            Comparison::Latest => {
                let latest = Variant {
                    latest: true,
                    ..plain(20_000, 1)
                };
                vec![(plain(20_000, 1), latest)]
            }
            Comparison::History => [1, 2]
                .map(|nodes| (plain(2_000, nodes), kept(2_000, nodes)))
                .to_vec(),
        }
    }

    /// The table's column headers: the baseline, the variant, their ratio.
    fn columns(self) -> [&'static str; 3] {
        match self {
            Comparison::Cluster => ["1 node", "2 nodes over Redis", "2 nodes ÷ 1 node"],
            Comparison::Latest => ["plain sends", "latest-value sends", "latest ÷ plain"],
            Comparison::History => ["plain sends", "sends kept in a history", "kept ÷ plain"],
        }
    }
}

/// One push run: its variant, what the load generator measured, what Redis did.
struct Run {
    rep: usize,
    variant: Variant,
    result: Value,
    publishes: u64,
    redis_cpu_ns: u64,
}

/// Runs `comparison` `reps` times and reports it.
pub fn run(
    bin_dir: &Path,
    pin: bool,
    scenario: &Scenario,
    (comparison, reps): (Comparison, usize),
    write: bool,
) -> Result<(), String> {
    let redis = Redis::start(pin)?;
    let mut runs = Vec::new();
    for rep in 1..=reps {
        for variant in in_order(comparison, rep) {
            let (publishes, cpu) = (redis.publishes()?, redis.cpu_ns());
            let url = (variant.nodes == 2).then(|| redis.url());
            let result = push(bin_dir, pin, &as_variant(scenario, variant), url.as_deref())?;
            let run = Run {
                rep,
                variant,
                result,
                publishes: redis.publishes()? - publishes,
                redis_cpu_ns: redis.cpu_ns() - cpu,
            };
            eprintln!("[rep {rep}/{reps}] push {variant:?}: {}", headline(&run));
            runs.push(run);
        }
    }
    let tables: Vec<String> = comparison
        .pairs()
        .into_iter()
        .map(|pair| table(&runs, pair, comparison))
        .collect();
    let tables = tables.join("\n");
    println!("{tables}");
    if write {
        let name = comparison.name();
        let raw: Vec<Value> = runs.iter().map(raw).collect();
        let path = repo_root().join(format!("bench/results/{name}.json"));
        let text = serde_json::to_string_pretty(&raw).unwrap_or_default();
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        update_section(&repo_root().join("BENCHMARKS.md"), name, &tables)?;
        eprintln!(
            "bench: wrote {} and the {name} section of BENCHMARKS.md",
            path.display()
        );
    }
    Ok(())
}

/// The variants of repetition `rep`, each pair's baseline first in odd repetitions and last in
/// even ones: the first run of a pair costs more CPU, whichever it is (measured: a fixed order
/// made sends kept in a history look 25 % cheaper than plain ones on one node).
fn in_order(comparison: Comparison, rep: usize) -> Vec<Variant> {
    comparison
        .pairs()
        .into_iter()
        .flat_map(|(base, other)| match rep % 2 {
            1 => [base, other],
            _ => [other, base],
        })
        .collect()
}

/// `scenario` as `variant` runs it: its rate, and the load generator's command.
fn as_variant(scenario: &Scenario, variant: Variant) -> Scenario {
    let mut scenario = scenario.clone();
    for (name, value) in &mut scenario.args {
        if *name == "rate" {
            *value = variant.rate.to_string();
        }
    }
    if variant.latest {
        scenario.args.push(("command", "latest".into()));
    }
    if variant.history {
        scenario.args.push(("path-prefix", "/wsh/".into()));
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
        if let Some(url) = redis {
            command.args(["--redis", url]);
        }
        let server = start_listening(command, "server-wsendpoint")?;
        Ok(Node {
            addr: server.addr,
            pid: server.pid,
            _guard: server.guard,
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

/// The markdown table of `base` against `other`: medians (min–max) of each, and their ratio in
/// each repetition.
fn table(runs: &[Run], (base, other): (Variant, Variant), comparison: Comparison) -> String {
    let of =
        |variant: Variant| -> Vec<&Run> { runs.iter().filter(|r| r.variant == variant).collect() };
    let (bases, others) = (of(base), of(other));
    let sessions = bases
        .first()
        .and_then(|r| number(r, "sessions"))
        .map_or_else(|| "?".to_owned(), |n| format!("{n:.0}"));
    let [base_name, other_name, ratio_name] = comparison.columns();
    let nodes = match (comparison, base.nodes) {
        (Comparison::History, 1) => ", 1 node",
        (Comparison::History, _) => ", 2 nodes over Redis",
        _ => "",
    };
    let mut out = format!(
        "| push-to-key {sessions} sessions @ {}/s{nodes} | {base_name} | {other_name} | {ratio_name} |\n|---|---:|---:|---:|\n",
        base.rate
    );
    for (name, metric) in METRICS {
        if name.starts_with("Redis") && base.nodes == 1 {
            continue;
        }
        let values =
            |runs: &[&Run]| -> Vec<f64> { runs.iter().filter_map(|r| metric(r)).collect() };
        let ratios: Vec<f64> = others
            .iter()
            .filter_map(|other| {
                let base = bases.iter().find(|r| r.rep == other.rep)?;
                Some(metric(other)? / metric(base)?).filter(|x| x.is_finite())
            })
            .collect();
        out.push_str(&format!(
            "| {name} | {} | {} | {} |\n",
            spread(values(&bases), ""),
            spread(values(&others), ""),
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
        "rate": run.variant.rate,
        "nodes": run.variant.nodes,
        "latest": run.variant.latest,
        "history": run.variant.history,
        "redis_publishes": run.publishes,
        "redis_cpu_ns": run.redis_cpu_ns,
        "loadgen": run.result,
    })
}

/// Replaces what is between the `name` markers of `BENCHMARKS.md` with `table`.
fn update_section(doc: &Path, name: &str, table: &str) -> Result<(), String> {
    let start = format!("<!-- {name}:start (generated by bench/run.sh --{name}) -->");
    let end = format!("<!-- {name}:end -->");
    let text = std::fs::read_to_string(doc).map_err(|e| format!("{}: {e}", doc.display()))?;
    let (Some(from), Some(to)) = (text.find(&start), text.find(&end)) else {
        return Err(format!("{}: no {name} markers", doc.display()));
    };
    let updated = format!("{}{start}\n\n{table}\n{}", &text[..from], &text[to..]);
    std::fs::write(doc, updated).map_err(|e| format!("{}: {e}", doc.display()))
}

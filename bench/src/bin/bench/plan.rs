//! What a run measures: the servers, the scenarios with their load generator arguments, and the
//! metrics (with targets) the report is made of.

/// A server under test.
pub struct Server {
    /// Name in tables and JSON.
    pub name: &'static str,
    /// Its binary, next to `bench`.
    pub bin: &'static str,
}

/// A, B, C: every repetition runs each scenario on the servers in this order.
pub const SERVERS: [Server; 3] = [
    Server {
        name: "axum-examples",
        bin: "server-axum-examples",
    },
    Server {
        name: "axum-tuned",
        bin: "server-axum-tuned",
    },
    Server {
        name: "wsendpoint",
        bin: "server-wsendpoint",
    },
];

/// The server every ratio is relative to.
pub const BASELINE: usize = 1;
/// The framework.
pub const FRAMEWORK: usize = 2;
/// The untuned baseline.
pub const EXAMPLES: usize = 0;

/// A scenario: the load generator's `--scenario` and its arguments.
#[derive(Clone)]
pub struct Scenario {
    pub name: &'static str,
    pub loadgen: &'static str,
    pub args: Vec<(&'static str, String)>,
    /// Longest the load generator may run.
    pub timeout_s: u64,
}

impl Scenario {
    /// `args` as `(name, full size, --quick size)`.
    fn new(
        name: &'static str,
        loadgen: &'static str,
        args: &[(&'static str, u64, u64)],
        quick: bool,
    ) -> Self {
        let pick = |&(k, full, small): &(&'static str, u64, u64)| {
            (k, if quick { small } else { full }.to_string())
        };
        Scenario {
            name,
            loadgen,
            args: args.iter().map(pick).collect(),
            timeout_s: 150,
        }
    }

    fn arg(&self, name: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sizes of the idle scenario's two points.
pub struct IdleCounts(pub u64, pub u64);

/// Every scenario, full size or `--quick`.
pub fn scenarios(quick: bool) -> (Vec<Scenario>, IdleCounts) {
    let idle = if quick {
        IdleCounts(1000, 2000)
    } else {
        IdleCounts(10_000, 18_000)
    };
    // Each argument: (name, full size, --quick size).
    let mut list = vec![
        Scenario::new(
            "echo",
            "echo",
            &[
                ("conns", 100, 100),
                ("inflight", 16, 16),
                ("payload", 64, 64),
                ("warmup-ms", 2000, 500),
                ("duration-ms", 5000, 1000),
            ],
            quick,
        ),
        // Messages larger than the framework's 1 KiB read buffer: what its read-ahead is for
        // (one 16 KiB read from the socket, copied out in 1 KiB steps).
        Scenario::new(
            "echo-16k",
            "echo",
            &[
                ("conns", 50, 50),
                ("inflight", 4, 4),
                ("payload", 16 * 1024, 16 * 1024),
                ("warmup-ms", 1000, 500),
                ("duration-ms", 4000, 1000),
            ],
            quick,
        ),
        Scenario::new(
            "pingpong",
            "pingpong",
            &[
                ("payload", 64, 64),
                ("warmup-ms", 500, 200),
                ("duration-ms", 3000, 1000),
            ],
            quick,
        ),
        Scenario::new(
            "fanout-1k",
            "fanout",
            &[
                ("sessions", 1000, 200),
                ("warmup-rounds", 5, 2),
                ("rounds", 50, 10),
                ("interval-ms", 100, 100),
            ],
            quick,
        ),
        Scenario::new(
            "fanout-10k",
            "fanout",
            &[
                ("sessions", 10_000, 2000),
                ("warmup-rounds", 5, 2),
                ("rounds", 50, 10),
                ("interval-ms", 100, 100),
            ],
            quick,
        ),
        Scenario::new(
            "push",
            "push",
            &[
                ("sessions", 10_000, 2000),
                ("rate", 20_000, 20_000),
                ("warmup-ms", 1000, 500),
                // 300k deliveries: at 5 s the p99 of one server swung 0.9-1.8x between
                // repetitions, more than the target's margin.
                ("duration-ms", 15_000, 1000),
            ],
            quick,
        ),
        Scenario::new("idle", "idle", &[("settle-ms", 2000, 1000)], quick),
        Scenario::new(
            "handshake",
            "handshake",
            &[
                ("handshakes", 20_000, 300),
                ("warmup-handshakes", 500, 50),
                ("concurrency", 8, 8),
            ],
            quick,
        ),
    ];
    for scenario in &mut list {
        if scenario.name == "idle" {
            scenario
                .args
                .push(("counts", format!("{},{}", idle.0, idle.1)));
        }
    }
    (list, idle)
}

/// A target for the framework, on the median over repetitions.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// Reported, no target.
    None,
    /// Ratio to axum-tuned at least this (higher is better).
    RatioAtLeast(f64),
    /// Ratio to axum-tuned at most this (lower is better).
    RatioAtMost(f64),
    /// Ratio at most this and the value itself at most the second number.
    RatioAndValueAtMost(f64, f64),
    /// Zero in every repetition.
    Zero,
}

impl Target {
    pub fn describe(self, unit: &str) -> String {
        match self {
            Target::None => "—".into(),
            Target::RatioAtLeast(r) => format!("≥ {r:.1}×"),
            Target::RatioAtMost(r) => format!("≤ {r:.1}×"),
            Target::RatioAndValueAtMost(r, v) => format!("≤ {r:.1}× and ≤ {v} {unit}"),
            Target::Zero => "0".into(),
        }
    }
}

/// One row of the results table.
pub struct Metric {
    pub scenario: &'static str,
    /// JSON pointer into the load generator's result.
    pub pointer: &'static str,
    pub label: String,
    pub unit: &'static str,
    /// Multiplies the raw value (bytes to KB, ...).
    pub scale: f64,
    pub higher_is_better: bool,
    pub target: Target,
    /// Drawn in the chart.
    pub chart: bool,
}

fn metric(
    scenario: &'static str,
    pointer: &'static str,
    label: impl Into<String>,
    unit: &'static str,
    higher_is_better: bool,
    target: Target,
) -> Metric {
    Metric {
        scenario,
        pointer,
        label: label.into(),
        unit,
        scale: 1.0,
        higher_is_better,
        target,
        chart: !matches!(target, Target::Zero),
    }
}

fn k(n: u64) -> String {
    if n % 1000 == 0 {
        format!("{}k", n / 1000)
    } else {
        n.to_string()
    }
}

/// The metrics of the report, in table order.
pub fn metrics(scenarios: &[Scenario], idle: &IdleCounts) -> Vec<Metric> {
    let size = |name: &str| {
        scenarios
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| s.arg("sessions"))
            .and_then(|v| v.parse().ok())
            .map_or_else(|| "?".to_owned(), k)
    };
    let (f1, f10, push) = (size("fanout-1k"), size("fanout-10k"), size("push"));
    let mut list = vec![
        metric(
            "echo",
            "/msgs_per_s",
            "echo 100×16×64 B: throughput",
            "msg/s",
            true,
            Target::RatioAtLeast(1.0),
        ),
        metric(
            "echo",
            "/server_cpu_per_msg_ns",
            "echo: server CPU per message",
            "ns",
            false,
            Target::None,
        ),
        metric(
            "echo-16k",
            "/msgs_per_s",
            "echo 50×4×16 KiB: throughput",
            "msg/s",
            true,
            Target::None,
        ),
        metric(
            "echo-16k",
            "/server_cpu_per_msg_ns",
            "echo 16 KiB: server CPU per message",
            "ns",
            false,
            Target::None,
        ),
        metric(
            "pingpong",
            "/p50_us",
            "ping-pong 1×1: p50 round trip",
            "µs",
            false,
            Target::None,
        ),
        metric(
            "pingpong",
            "/p99_us",
            "ping-pong 1×1: p99 round trip",
            "µs",
            false,
            Target::None,
        ),
        metric(
            "fanout-1k",
            "/round_p99_ms",
            format!("fan-out {f1}: p99 time to last delivery"),
            "ms",
            false,
            Target::None,
        ),
        metric(
            "fanout-1k",
            "/cpu_per_delivery_us",
            format!("fan-out {f1}: server CPU per delivery"),
            "µs",
            false,
            Target::None,
        ),
        metric(
            "fanout-1k",
            "/losses",
            format!("fan-out {f1}: losses"),
            "msgs",
            false,
            Target::Zero,
        ),
        metric(
            "fanout-10k",
            "/round_p99_ms",
            format!("fan-out {f10}: p99 time to last delivery"),
            "ms",
            false,
            Target::RatioAtMost(1.1),
        ),
        metric(
            "fanout-10k",
            "/cpu_per_delivery_us",
            format!("fan-out {f10}: server CPU per delivery"),
            "µs",
            false,
            Target::RatioAtMost(1.0),
        ),
        metric(
            "fanout-10k",
            "/losses",
            format!("fan-out {f10}: losses"),
            "msgs",
            false,
            Target::Zero,
        ),
        metric(
            "push",
            "/p50_us",
            format!("push-to-key {push} @ 20k/s: p50 latency"),
            "µs",
            false,
            Target::None,
        ),
        metric(
            "push",
            "/p99_us",
            format!("push-to-key {push} @ 20k/s: p99 latency"),
            "µs",
            false,
            Target::RatioAtMost(1.1),
        ),
        metric(
            "push",
            "/cpu_per_delivery_us",
            format!("push-to-key {push}: server CPU per delivery"),
            "µs",
            false,
            Target::None,
        ),
        metric(
            "push",
            "/losses",
            format!("push-to-key {push}: losses"),
            "msgs",
            false,
            Target::Zero,
        ),
        metric(
            "idle",
            "/points/0/bytes_per_conn",
            format!("idle memory per connection at {}", k(idle.0)),
            "KB",
            false,
            Target::None,
        ),
        metric(
            "idle",
            "/points/1/bytes_per_conn",
            format!("idle memory per connection at {}", k(idle.1)),
            "KB",
            false,
            Target::RatioAndValueAtMost(1.0, 6.5),
        ),
        metric(
            "handshake",
            "/cpu_per_handshake_us",
            "handshake + close: server CPU per connection",
            "µs",
            false,
            Target::RatioAtMost(1.1),
        ),
    ];
    for m in &mut list {
        if m.unit == "KB" {
            m.scale = 1e-3;
        }
    }
    list
}

//! The scenarios. Each returns one JSON object: its own numbers, plus `server` (the server's
//! CPU time and memory over the measured window).

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::io;
use std::ops::Range;
use std::rc::Rc;

use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::task::spawn_local;
use tokio::time::{interval, sleep, timeout, Duration, Instant, MissedTickBehavior};
use wsendpoint_bench::procfs::Sample;
use wsendpoint_bench::wire::{self, ReadBuf, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT};

use crate::Ctx;

/// Longest a single connect + handshake may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once while opening many sessions.
const CONNECT_CONCURRENCY: usize = 128;
/// Read buffer of each session of the fan-out, push and idle scenarios (frames are small).
const SESSION_BUFFER: usize = 1024;
/// How long to wait for the last deliveries after the last send.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

type Result<T> = std::result::Result<T, String>;

/// The one latency histogram of a run, in nanoseconds.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(100, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// Percentiles of `h` in microseconds, as `<prefix>p50_us` etc.
fn percentiles(out: &mut Value, h: &Histogram<u64>) {
    let us = |ns: u64| ns as f64 / 1000.0;
    let object = out.as_object_mut().expect("an object");
    object.insert("samples".into(), h.len().into());
    for (name, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999)] {
        object.insert(format!("{name}_us"), us(h.value_at_quantile(q)).into());
    }
    object.insert("max_us".into(), us(h.max()).into());
    object.insert("mean_us".into(), (h.mean() / 1000.0).into());
}

/// The server's CPU time and memory between two samples.
fn server_window(before: Option<Sample>, after: Option<Sample>) -> Value {
    match (before, after) {
        (Some(b), Some(a)) => json!({
            "cpu_ns": a.cpu_ns.saturating_sub(b.cpu_ns),
            "stat_cpu_ns": a.stat_cpu_ns.saturating_sub(b.stat_cpu_ns),
            "rss_before": b.rss,
            "rss_after": a.rss,
            "hwm_after": a.hwm,
        }),
        _ => Value::Null,
    }
}

/// The load generator's own CPU time: whether it, not the server, was the bottleneck.
fn own_cpu_ns() -> u64 {
    wsendpoint_bench::procfs::clock_cpu_ns(std::process::id()).unwrap_or(0)
}

fn cpu_ns(before: Option<Sample>, after: Option<Sample>) -> Option<u64> {
    Some(after?.cpu_ns.saturating_sub(before?.cpu_ns))
}

/// `a / b` as f64, `None` when `b` is zero or `a` unknown.
fn per(a: Option<u64>, b: u64) -> Option<f64> {
    (b > 0).then_some(a? as f64 / b as f64)
}

async fn wait_for(done: impl Fn() -> bool, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() >= deadline {
            return false;
        }
        sleep(Duration::from_millis(5)).await;
    }
    true
}

/// Parses `<a>:<b>` of two decimal numbers.
/// The message inside a frame of an endpoint with history (`{"$ws":"message",...,"data":"…"}`,
/// whose data here never needs escaping), `None` for its notices, and any other payload as it
/// is.
fn history_data(payload: &[u8]) -> Option<&[u8]> {
    const FRAME: &[u8] = br#"{"$ws":""#;
    const MESSAGE: &[u8] = br#"{"$ws":"message""#;
    const DATA: &[u8] = br#","data":""#;
    if !payload.starts_with(FRAME) {
        return Some(payload);
    }
    if !payload.starts_with(MESSAGE) {
        return None;
    }
    let at = payload.windows(DATA.len()).position(|w| w == DATA)? + DATA.len();
    payload.get(at..payload.len().checked_sub(2)?)
}

fn two_numbers(payload: &[u8]) -> Option<(u64, u64)> {
    let at = payload.iter().position(|&b| b == b':')?;
    Some((number(&payload[..at])?, number(&payload[at + 1..])?))
}

fn number(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        d.is_ascii_digit()
            .then(|| n.wrapping_mul(10).wrapping_add(u64::from(d - b'0')))
    })
}

/// Nearest-rank percentile of sorted `values`.
fn rank(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

/// xorshift64: random keys without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

// ---------------------------------------------------------------------------------------------
// Sessions: many connections that only receive.

/// What the sessions do with the text messages they receive.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Nothing (idle).
    Drain,
    /// `<round>:<t0>`: count per round, time of the last receipt.
    Fanout,
    /// `<seq>:<t0>`: count, latency into the histogram from `measure_from` on.
    Push,
}

#[derive(Clone, Copy, Default)]
struct Round {
    t0: u64,
    count: u64,
    last: u64,
}

/// Shared by every session of a scenario (one thread: `Cell`s, no locks).
struct Sessions {
    mode: Mode,
    opened: Cell<usize>,
    failed: Cell<usize>,
    /// Sessions the server ended (close frame or EOF) before the scenario did.
    ended: Cell<usize>,
    first_error: RefCell<Option<String>>,
    /// Indices of the sessions that connected.
    connected: RefCell<Vec<u32>>,
    rounds: RefCell<Vec<Round>>,
    received: Cell<u64>,
    measure_from: Cell<u64>,
    hist: RefCell<Histogram<u64>>,
    malformed: Cell<u64>,
}

impl Sessions {
    fn new(mode: Mode, rounds: usize) -> Rc<Self> {
        Rc::new(Sessions {
            mode,
            opened: Cell::new(0),
            failed: Cell::new(0),
            ended: Cell::new(0),
            first_error: RefCell::new(None),
            connected: RefCell::new(Vec::new()),
            rounds: RefCell::new(vec![Round::default(); rounds]),
            received: Cell::new(0),
            measure_from: Cell::new(u64::MAX),
            hist: RefCell::new(histogram()),
            malformed: Cell::new(0),
        })
    }

    fn fail(&self, error: String) {
        self.failed.set(self.failed.get() + 1);
        self.first_error.borrow_mut().get_or_insert(error);
    }

    fn on_text(&self, payload: &[u8], now: u64) {
        if self.mode == Mode::Drain {
            return;
        }
        let Some(payload) = history_data(payload) else {
            return; // a notice of the history: where it stands
        };
        let Some((n, t0)) = two_numbers(payload) else {
            self.malformed.set(self.malformed.get() + 1);
            return;
        };
        match self.mode {
            Mode::Fanout => {
                let mut rounds = self.rounds.borrow_mut();
                match rounds.get_mut(n as usize) {
                    Some(round) => {
                        round.count += 1;
                        round.last = round.last.max(now);
                    }
                    None => self.malformed.set(self.malformed.get() + 1),
                }
            }
            Mode::Push => {
                self.received.set(self.received.get() + 1);
                if n >= self.measure_from.get() {
                    let _ = self.hist.borrow_mut().record(now.saturating_sub(t0).max(1));
                }
            }
            Mode::Drain => {}
        }
    }

    fn stats(&self) -> Value {
        json!({
            "sessions_open": self.opened.get(),
            "connect_failures": self.failed.get(),
            "ended_by_server": self.ended.get(),
            "first_error": *self.first_error.borrow(),
            "malformed": self.malformed.get(),
        })
    }
}

/// Opens the sessions `range` (keys `<prefix><i>`) and waits until each connected or failed.
async fn open_sessions(
    ctx: &'static Ctx,
    sessions: &Rc<Sessions>,
    range: Range<usize>,
    prefix: &str,
) {
    let permits = Rc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let target = sessions.opened.get() + sessions.failed.get() + range.len();
    let limit = Duration::from_secs(30 + range.len() as u64 / 200);
    for i in range {
        let path = format!("{}{prefix}{i}", ctx.prefix);
        spawn_local(session(
            ctx,
            sessions.clone(),
            i as u32,
            path,
            permits.clone(),
        ));
    }
    wait_for(
        || sessions.opened.get() + sessions.failed.get() >= target,
        limit,
    )
    .await;
}

async fn session(
    ctx: &'static Ctx,
    sessions: Rc<Sessions>,
    index: u32,
    path: String,
    permits: Rc<Semaphore>,
) {
    let permit = permits.acquire().await;
    let connected = timeout(
        CONNECT_TIMEOUT,
        wire::connect(ctx.addr, ctx.source(), &path, SESSION_BUFFER, true),
    )
    .await;
    drop(permit);
    let (mut stream, mut buf) = match connected {
        Ok(Ok(connection)) => connection,
        Ok(Err(error)) => return sessions.fail(format!("{path}: {error}")),
        Err(_) => return sessions.fail(format!("{path}: connect timed out")),
    };
    sessions.opened.set(sessions.opened.get() + 1);
    sessions.connected.borrow_mut().push(index);
    let _ = receive(ctx, &mut stream, &mut buf, |payload, now| {
        sessions.on_text(payload, now)
    })
    .await;
    sessions.ended.set(sessions.ended.get() + 1);
}

/// Reads until the server closes: text payloads go to `on_text` with the time of the read that
/// brought them; pings are answered. One read and at most one write per wake-up.
async fn receive(
    ctx: &Ctx,
    stream: &mut TcpStream,
    buf: &mut ReadBuf,
    mut on_text: impl FnMut(&[u8], u64),
) -> io::Result<()> {
    let mut reply = Vec::new();
    let mut now = ctx.now_ns();
    loop {
        while let Some(frame) = buf.next_frame()? {
            match frame.opcode {
                OP_TEXT => on_text(frame.payload, now),
                OP_PING => wire::encode_frame(&mut reply, OP_PONG, frame.payload),
                OP_CLOSE => return Ok(()),
                _ => {}
            }
        }
        if !reply.is_empty() {
            stream.write_all(&reply).await?;
            reply.clear();
        }
        if buf.fill(stream).await? == 0 {
            return Ok(());
        }
        now = ctx.now_ns();
    }
}

/// Reads and discards everything (the control connection's copy of its broadcasts); how the
/// connection ended goes into `ended`.
async fn discard(mut reader: impl AsyncRead + Unpin, mut buf: ReadBuf, ended: Rc<RefCell<String>>) {
    loop {
        loop {
            match buf.next_frame() {
                Ok(Some(frame)) if frame.opcode == OP_CLOSE => {
                    let code = frame
                        .payload
                        .get(..2)
                        .map_or(0, |c| u16::from_be_bytes([c[0], c[1]]));
                    let reason =
                        String::from_utf8_lossy(frame.payload.get(2..).unwrap_or_default());
                    *ended.borrow_mut() = format!("the server closed it with {code} {reason:?}");
                    return;
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    *ended.borrow_mut() = format!("bad frame: {e}");
                    return;
                }
            }
        }
        match buf.fill(&mut reader).await {
            Ok(0) => {
                *ended.borrow_mut() = "EOF without a close frame".into();
                return;
            }
            Err(e) => {
                *ended.borrow_mut() = format!("read error: {e}");
                return;
            }
            Ok(_) => {}
        }
    }
}

/// The control connection: its write half, and how its read half ended (empty while open).
async fn control(
    ctx: &'static Ctx,
) -> Result<(tokio::net::tcp::OwnedWriteHalf, Rc<RefCell<String>>)> {
    let path = format!("{}control", ctx.prefix);
    let (stream, buf) = timeout(
        CONNECT_TIMEOUT,
        wire::connect(ctx.control_addr, ctx.source(), &path, 64 * 1024, false),
    )
    .await
    .map_err(|_| "control connection: timed out".to_owned())?
    .map_err(|e| format!("control connection: {e}"))?;
    let (reader, writer) = stream.into_split();
    let ended = Rc::new(RefCell::new(String::new()));
    spawn_local(discard(reader, buf, ended.clone()));
    Ok((writer, ended))
}

// ---------------------------------------------------------------------------------------------
// Echo throughput and ping-pong latency.

/// `conns` connections keep `inflight` echoes of `payload` bytes each in flight; replies per
/// second over `duration` after `warmup`.
pub async fn echo(
    ctx: &'static Ctx,
    conns: usize,
    inflight: usize,
    payload: usize,
    warmup: Duration,
    duration: Duration,
) -> Result<Value> {
    let frame = wire::text_frame(&format!("echo:{}", "x".repeat(payload)));
    let frame_len = frame.len();
    let batch: Rc<[u8]> = frame.repeat(inflight.max(1)).into();
    let replies = Rc::new(Cell::new(0u64));
    let failures = Rc::new(Cell::new(0u64));
    let path = format!("{}echo", ctx.prefix);
    let mut connections = Vec::with_capacity(conns);
    for _ in 0..conns {
        let connection = timeout(
            CONNECT_TIMEOUT,
            wire::connect(ctx.addr, ctx.source(), &path, 64 * 1024, false),
        )
        .await
        .map_err(|_| "echo: connect timed out".to_owned())?
        .map_err(|e| format!("echo: connect: {e}"))?;
        connections.push(connection);
    }
    for (stream, buf) in connections {
        spawn_local(echo_connection(
            stream,
            buf,
            batch.clone(),
            frame_len,
            replies.clone(),
            failures.clone(),
        ));
    }
    sleep(warmup).await;
    let (count0, before, t0, own0) = (replies.get(), ctx.server(), Instant::now(), own_cpu_ns());
    sleep(duration).await;
    let (count1, after, t1, own1) = (replies.get(), ctx.server(), Instant::now(), own_cpu_ns());
    let messages = count1 - count0;
    let seconds = (t1 - t0).as_secs_f64();
    let cpu = cpu_ns(before, after);
    Ok(json!({
        "conns": conns,
        "inflight": inflight,
        "payload": payload,
        "messages": messages,
        "seconds": seconds,
        "msgs_per_s": messages as f64 / seconds,
        "server_cpu_per_msg_ns": per(cpu, messages),
        "server_cpu_utilization": cpu.map(|c| c as f64 / 1e9 / seconds),
        "loadgen_cpu_utilization": own1.saturating_sub(own0) as f64 / 1e9 / seconds,
        "connection_failures": failures.get(),
        "server": server_window(before, after),
    }))
}

async fn echo_connection(
    mut stream: TcpStream,
    mut buf: ReadBuf,
    batch: Rc<[u8]>,
    frame_len: usize,
    replies: Rc<Cell<u64>>,
    failures: Rc<Cell<u64>>,
) {
    let fail = || failures.set(failures.get() + 1);
    if stream.write_all(&batch).await.is_err() {
        return fail();
    }
    loop {
        match buf.fill(&mut stream).await {
            Ok(0) | Err(_) => return fail(),
            Ok(_) => {}
        }
        let mut n = 0;
        loop {
            match buf.next_frame() {
                Ok(Some(frame)) if frame.opcode == OP_TEXT => n += 1,
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => return fail(),
            }
        }
        if n > 0 {
            replies.set(replies.get() + n as u64);
            let n = n.min(batch.len() / frame_len);
            if stream.write_all(&batch[..n * frame_len]).await.is_err() {
                return fail();
            }
        }
    }
}

/// One connection, one echo in flight: round-trip times.
pub async fn pingpong(
    ctx: &'static Ctx,
    payload: usize,
    warmup: Duration,
    duration: Duration,
) -> Result<Value> {
    let frame = wire::text_frame(&format!("echo:{}", "x".repeat(payload)));
    let path = format!("{}pingpong", ctx.prefix);
    let (mut stream, mut buf) = timeout(
        CONNECT_TIMEOUT,
        wire::connect(ctx.addr, ctx.source(), &path, 64 * 1024, false),
    )
    .await
    .map_err(|_| "pingpong: connect timed out".to_owned())?
    .map_err(|e| format!("pingpong: connect: {e}"))?;
    let mut hist = histogram();
    let start = Instant::now();
    let (mut before, mut t_measure) = (None, None);
    loop {
        let now = Instant::now();
        if now >= start + warmup + duration {
            break;
        }
        if t_measure.is_none() && now >= start + warmup {
            before = ctx.server();
            t_measure = Some(now);
        }
        let sent = Instant::now();
        let exchange = async {
            stream.write_all(&frame).await?;
            loop {
                while let Some(frame) = buf.next_frame()? {
                    if frame.opcode == OP_TEXT {
                        return Ok::<(), io::Error>(());
                    }
                }
                if buf.fill(&mut stream).await? == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
            }
        };
        timeout(Duration::from_secs(5), exchange)
            .await
            .map_err(|_| "pingpong: no reply within 5 s".to_owned())?
            .map_err(|e| format!("pingpong: {e}"))?;
        if t_measure.is_some() {
            let _ = hist.record((sent.elapsed().as_nanos() as u64).max(1));
        }
    }
    let after = ctx.server();
    let seconds = t_measure.map_or(0.0, |t| t.elapsed().as_secs_f64());
    let mut out = json!({
        "payload": payload,
        "round_trips_per_s": hist.len() as f64 / seconds,
        "server_cpu_per_round_trip_ns": per(cpu_ns(before, after), hist.len()),
        "server": server_window(before, after),
    });
    percentiles(&mut out, &hist);
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Fan-out and push-to-key.

/// `sessions` sessions and a control connection; every `interval` the control broadcasts
/// `bcast:<round>:<t0>`; per measured round, the time from its send to the last session's
/// receipt, and the losses after a drain.
pub async fn fanout(
    ctx: &'static Ctx,
    sessions: usize,
    warmup_rounds: usize,
    rounds: usize,
    interval_len: Duration,
) -> Result<Value> {
    let total = warmup_rounds + rounds;
    let state = Sessions::new(Mode::Fanout, total);
    let t_open = Instant::now();
    open_sessions(ctx, &state, 0..sessions, "s").await;
    let open_seconds = t_open.elapsed().as_secs_f64();
    let open = state.opened.get() as u64;
    if open == 0 {
        return Err(format!("fanout: no session connected: {}", state.stats()));
    }
    let (mut writer, control_ended) = control(ctx).await?;
    let mut ticker = interval(interval_len);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut frame = Vec::new();
    let mut text = String::new();
    let mut before = None;
    let mut own = (own_cpu_ns(), Instant::now());
    let all_in = |range: Range<usize>| {
        let state = state.clone();
        move || {
            state.rounds.borrow()[range.clone()]
                .iter()
                .all(|r| r.count >= open)
        }
    };
    for round in 0..total {
        ticker.tick().await;
        if round == warmup_rounds {
            // The measured window starts once the warm-up rounds are delivered.
            wait_for(all_in(0..warmup_rounds), DRAIN_TIMEOUT).await;
            before = ctx.server();
            own = (own_cpu_ns(), Instant::now());
            ticker.reset();
        }
        let t0 = ctx.now_ns();
        state.rounds.borrow_mut()[round].t0 = t0;
        text.clear();
        let _ = write!(text, "bcast:{round}:{t0}");
        frame.clear();
        wire::encode_frame(&mut frame, OP_TEXT, text.as_bytes());
        writer.write_all(&frame).await.map_err(|e| {
            format!(
                "fanout: control send in round {round}: {e}; control connection: {}",
                control_ended.borrow()
            )
        })?;
    }
    let complete = wait_for(all_in(warmup_rounds..total), DRAIN_TIMEOUT).await;
    let after = ctx.server();

    let measured = state.rounds.borrow()[warmup_rounds..].to_vec();
    let deliveries: u64 = measured.iter().map(|r| r.count.min(open)).sum();
    let duplicates: u64 = measured.iter().map(|r| r.count.saturating_sub(open)).sum();
    let losses = open * rounds as u64 - deliveries;
    let mut to_last: Vec<f64> = measured
        .iter()
        .filter(|r| r.count > 0)
        .map(|r| r.last.saturating_sub(r.t0) as f64 / 1e6)
        .collect();
    to_last.sort_by(f64::total_cmp);
    let cpu = cpu_ns(before, after);
    let mut out = json!({
        "sessions": sessions,
        "rounds": rounds,
        "warmup_rounds": warmup_rounds,
        "interval_ms": interval_len.as_secs_f64() * 1e3,
        "deliveries": deliveries,
        "losses": losses,
        "duplicates": duplicates,
        "drained": complete,
        "round_p50_ms": rank(&to_last, 0.5),
        "round_p99_ms": rank(&to_last, 0.99),
        "round_max_ms": to_last.last().copied(),
        "round_mean_ms": to_last.iter().sum::<f64>() / to_last.len().max(1) as f64,
        "cpu_per_delivery_us": per(cpu, deliveries).map(|ns| ns / 1000.0),
        "loadgen_cpu_utilization": own_cpu_ns().saturating_sub(own.0) as f64 / 1e9 / own.1.elapsed().as_secs_f64(),
        "open_seconds": open_seconds,
        "server": server_window(before, after),
    });
    merge(&mut out, state.stats());
    Ok(out)
}

/// `sessions` sessions under keys `k<i>`; the control connection sends
/// `<command>:k<random>:<seq>:<t0>` at `rate` messages per second (`to`, or `latest` for a
/// latest-value send); latency per delivery, losses.
pub async fn push(
    ctx: &'static Ctx,
    sessions: usize,
    rate: u64,
    command: &'static str,
    warmup: Duration,
    duration: Duration,
) -> Result<Value> {
    let state = Sessions::new(Mode::Push, 0);
    let t_open = Instant::now();
    open_sessions(ctx, &state, 0..sessions, "k").await;
    let open_seconds = t_open.elapsed().as_secs_f64();
    let keys = state.connected.borrow().clone();
    if keys.is_empty() {
        return Err(format!("push: no session connected: {}", state.stats()));
    }
    let (mut writer, control_ended) = control(ctx).await?;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut ticker = interval(Duration::from_millis(1));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // At most 20 ms worth of messages in one write if the generator falls behind.
    let max_batch = (rate / 50).max(1);
    let (mut frames, mut text) = (Vec::new(), String::new());
    let mut sent = 0u64;
    let mut own0 = 0;
    let mut window: Option<(Option<Sample>, Instant, u64, u64)> = None;
    let start = Instant::now();
    loop {
        ticker.tick().await;
        let now = Instant::now();
        if now >= start + warmup + duration {
            break;
        }
        if window.is_none() && now >= start + warmup {
            state.measure_from.set(sent);
            window = Some((ctx.server(), now, sent, state.received.get()));
            own0 = own_cpu_ns();
        }
        let due = (rate as f64 * (now - start).as_secs_f64()) as u64;
        let batch = due.saturating_sub(sent).min(max_batch);
        frames.clear();
        for _ in 0..batch {
            let key = keys[(rng.next() % keys.len() as u64) as usize];
            text.clear();
            let _ = write!(text, "{command}:k{key}:{sent}:{}", ctx.now_ns());
            wire::encode_frame(&mut frames, OP_TEXT, text.as_bytes());
            sent += 1;
        }
        if !frames.is_empty() {
            writer.write_all(&frames).await.map_err(|e| {
                format!(
                    "push: control send: {e}; control connection: {}",
                    control_ended.borrow()
                )
            })?;
        }
    }
    let send_end = Instant::now();
    let drained = wait_for(|| state.received.get() >= sent, DRAIN_TIMEOUT).await;
    let after = ctx.server();
    let (before, t_measure, sent_before, received_before) =
        window.ok_or("push: the warm-up outlasted the run")?;
    let measured_sent = sent - sent_before;
    let measured_received = state.received.get() - received_before;
    let mut out = json!({
        "sessions": sessions,
        "rate": rate,
        "sent": sent,
        "received": state.received.get(),
        "losses": sent.saturating_sub(state.received.get()),
        "drained": drained,
        "measured_sent": measured_sent,
        "achieved_rate": measured_sent as f64 / (send_end - t_measure).as_secs_f64(),
        "loadgen_cpu_utilization": own_cpu_ns().saturating_sub(own0) as f64 / 1e9 / t_measure.elapsed().as_secs_f64(),
        "cpu_per_delivery_us": per(cpu_ns(before, after), measured_received).map(|ns| ns / 1000.0),
        "open_seconds": open_seconds,
        "server": server_window(before, after),
    });
    percentiles(&mut out, &state.hist.borrow());
    merge(&mut out, state.stats());
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Idle memory and handshake cost.

/// Opens idle sessions up to each of `counts`; after `settle`, the server's RSS per connection
/// over its RSS before the first connection.
pub async fn idle(ctx: &'static Ctx, counts: &[usize], settle: Duration) -> Result<Value> {
    let state = Sessions::new(Mode::Drain, 0);
    let base = ctx
        .server()
        .ok_or("idle: needs --server-pid to read the server's memory")?;
    let start = Instant::now();
    let mut points = Vec::new();
    let mut opened = 0;
    for &count in counts {
        open_sessions(ctx, &state, opened..count.max(opened), "i").await;
        opened = count.max(opened);
        sleep(settle).await;
        let now = ctx.server().ok_or("idle: the server is gone")?;
        let live = state.opened.get() - state.ended.get();
        points.push(json!({
            "target": count,
            "open": live,
            "rss": now.rss,
            "bytes_per_conn": now.rss.saturating_sub(base.rss) as f64 / live.max(1) as f64,
            "seconds": start.elapsed().as_secs_f64(),
        }));
    }
    let seconds = start.elapsed().as_secs_f64();
    let mut out = json!({
        "base_rss": base.rss,
        "points": points,
        "seconds": seconds,
        // wsendpoint pings every 30 s; the raw client would answer, but the scenario is meant
        // to end before the first ping and far before the 60 s idle timeout.
        "ended_before_first_ping": seconds < 30.0,
        "server": server_window(Some(base), ctx.server()),
    });
    merge(&mut out, state.stats());
    Ok(out)
}

/// `handshakes` fresh connections (handshake, close handshake), `concurrency` at a time, after
/// `warmup` unmeasured ones: the server's CPU time per connection.
pub async fn handshake(
    ctx: &'static Ctx,
    handshakes: usize,
    warmup: usize,
    concurrency: usize,
) -> Result<Value> {
    let (_, warm_failures) = handshake_batch(ctx, warmup, concurrency).await;
    sleep(Duration::from_millis(200)).await;
    let before = ctx.server();
    let t0 = Instant::now();
    let (done, failures) = handshake_batch(ctx, handshakes, concurrency).await;
    let seconds = t0.elapsed().as_secs_f64();
    // Let the server finish closing the last connections inside the window.
    sleep(Duration::from_millis(200)).await;
    let after = ctx.server();
    Ok(json!({
        "handshakes": done,
        "failures": failures,
        "warmup_failures": warm_failures,
        "handshakes_per_s": done as f64 / seconds,
        "cpu_per_handshake_us": per(cpu_ns(before, after), done as u64).map(|ns| ns / 1000.0),
        "server": server_window(before, after),
    }))
}

async fn handshake_batch(ctx: &'static Ctx, count: usize, concurrency: usize) -> (usize, usize) {
    let next = Rc::new(Cell::new(0usize));
    let done = Rc::new(Cell::new(0usize));
    let failed = Rc::new(Cell::new(0usize));
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (next, done, failed) = (next.clone(), done.clone(), failed.clone());
            spawn_local(async move {
                loop {
                    let i = next.get();
                    if i >= count {
                        return;
                    }
                    next.set(i + 1);
                    match timeout(CONNECT_TIMEOUT, one_handshake(ctx, i)).await {
                        Ok(Ok(())) => done.set(done.get() + 1),
                        _ => failed.set(failed.get() + 1),
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.await;
    }
    (done.get(), failed.get())
}

async fn one_handshake(ctx: &'static Ctx, i: usize) -> io::Result<()> {
    let path = format!("{}h{i}", ctx.prefix);
    let (mut stream, mut buf) = wire::connect(ctx.addr, ctx.source(), &path, 1024, false).await?;
    stream.write_all(&wire::close_frame(1000)).await?;
    loop {
        while let Some(frame) = buf.next_frame()? {
            if frame.opcode == OP_CLOSE {
                return Ok(());
            }
        }
        if buf.fill(&mut stream).await? == 0 {
            return Ok(());
        }
    }
}

fn merge(into: &mut Value, from: Value) {
    if let (Some(into), Value::Object(from)) = (into.as_object_mut(), from) {
        into.extend(from);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_numbers() {
        assert_eq!(two_numbers(b"12:345"), Some((12, 345)));
        assert_eq!(two_numbers(b"12:"), None);
        assert_eq!(two_numbers(b"x:1"), None);
        assert_eq!(two_numbers(b"123"), None);
    }

    #[test]
    fn nearest_rank() {
        let v: Vec<f64> = (1..=50).map(f64::from).collect();
        assert_eq!(rank(&v, 0.5), 25.0);
        assert_eq!(rank(&v, 0.99), 50.0);
        assert!(rank(&[], 0.5).is_nan());
    }
}

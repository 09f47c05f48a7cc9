//! The mining demo's application: the WebSocket endpoint, the HTTP routes and the job registry.
//!
//! A browser connects to `/websocket/<key>`, then `POST /mine/<key>?difficulty=N` starts a
//! proof-of-work job whose progress and result are pushed to every session under that key —
//! the job only knows the key, never a connection, which is the point of the session pool.
//!
//! Wire format of what a job pushes, a `{code, msg, data}` envelope:
//!
//! - progress, first when the job starts, then at most every 100 ms:
//!   `{"code":"01","msg":"","data":<attempts so far>}`
//! - result: `{"code":"00","msg":"block mined","data":{"nonce":…,"hash":"…","attempts":…,"header":"…"}}`
//! - failure (the miner panicked): `{"code":"02","msg":"mining failed","data":null}`
//!
//! The result and the failure are kept in the key's history, so they travel inside its frame,
//! `{"$ws":"message","epoch":…,"offset":…,"data":"<the push as a JSON string>"}`, which the JS
//! client unwraps (and replays after a reconnect); progress goes out as it is.
//!
//! Messages about the connection itself carry a `type` instead of a `code`: `{"type":"hello",…}`
//! when the session opened (wait for it before starting a job: a job pushes only to sessions
//! already in the pool), `{"type":"pong"}` answering `"ping"` or `{"type":"ping"}`, and
//! `{"type":"error","msg":…}` for a message the endpoint does not understand.
//!
//! This file is also compiled into the black-box tests (`#[path = "../examples/mining/app.rs"]`),
//! so it must not depend on `main.rs`, and the paths below are relative to this file. What it
//! shares with the other demos comes from the `examples-shared` crate.

#[path = "miner.rs"]
pub mod miner;

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use examples_shared::assets::{self, Asset};
use examples_shared::heartbeat;
use examples_shared::http::{error_response, not_found};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::runtime::Handle;
use wsendpoint::prelude::*;

/// The demo page and what it loads, embedded so the example is a single binary that runs from
/// any directory.
static ASSETS: [Asset; 4] = assets::page(
    include_str!("static/index.html"),
    include_str!("static/app.js"),
);

/// Jobs that may run at once across all keys: each one keeps a blocking thread busy, and the
/// per-key limit alone would let a client start one per made-up key.
pub const MAX_JOBS: usize = 16;

/// The router of the demo: the hub's WebSocket routes, the page at `/` (with `/app.js`,
/// `/websocket.js` and `/style.css`) and `POST /mine/<key>`.
///
/// Serve it with [`Hub::serve_router`] on the same `hub`, so that jobs push to its sessions and
/// stop when it shuts down.
pub fn app(hub: &Hub) -> Router {
    let state = AppState {
        hub: hub.clone(),
        jobs: Jobs::default(),
    };
    Router::new()
        .route("/mine/{key}", post(start_job))
        .with_state(state)
        .merge(assets::router(&ASSETS))
        .merge(hub.router())
        .fallback(not_found)
}

/// The endpoint browsers connect to; its sessions are keyed by `<key>`, the same key that
/// `POST /mine/<key>` pushes to. It keeps what jobs send to a key (not their progress, which
/// are latest values) for ten minutes: a page that was offline when its job ended gets the
/// block when it reconnects.
#[derive(Default)]
pub struct MiningSocket;

#[server_endpoint("/websocket/<key>", history = "10m", history_size = 100)]
impl MiningSocket {
    /// Greets the client, which tells it that it is now reachable under its key.
    #[on_open]
    async fn open(&mut self, session: &Session, key: String) {
        tracing::info!(session = %session.id(), %key, "client connected");
        let hello = json!({ "type": "hello", "key": key, "session": session.id().to_string() });
        // A client that left already is not an error worth reporting.
        let _ = session.send_text(hello.to_string()).await;
    }

    /// Answers the heartbeat; jobs are started over HTTP, so nothing else is expected here.
    #[on_message]
    fn message(&mut self, text: &str) -> String {
        if heartbeat::is_ping(text) {
            return heartbeat::PONG.to_owned();
        }
        json!({
            "type": "error",
            "msg": "unknown command: send \"ping\" or {\"type\":\"ping\"}; start jobs with POST /mine/<key>?difficulty=N",
        })
        .to_string()
    }

    /// Logs only: the session already left the pool, and a running job for its key keeps
    /// going (a client reconnecting under the same key gets the rest of the pushes).
    #[on_close]
    fn close(&mut self, session: &Session, reason: CloseReason) {
        tracing::info!(session = %session.id(), key = session.key(), %reason, "client disconnected");
    }

    /// Logs only: the runtime already closes the session when the error calls for it.
    #[on_error]
    async fn error(&mut self, session: &Session, error: wsendpoint::Error) {
        tracing::warn!(session = %session.id(), key = session.key(), %error, "session error");
    }
}

/// The state of the HTTP routes.
#[derive(Clone)]
struct AppState {
    hub: Hub,
    jobs: Jobs,
}

/// The query of `POST /mine/<key>`. The difficulty is taken as text so that a bad value gets
/// our own message rather than serde's.
#[derive(Debug, Deserialize)]
struct MineQuery {
    difficulty: Option<String>,
}

/// `POST /mine/<key>?difficulty=N`: 202 with the job id, 400 for a bad difficulty, 409 while
/// the key has a job running, 503 when too many jobs run or the server is shutting down.
async fn start_job(
    State(state): State<AppState>,
    Path(key): Path<String>,
    query: Result<Query<MineQuery>, QueryRejection>,
) -> Response {
    let difficulty = match query {
        Ok(Query(query)) => parse_difficulty(query.difficulty.as_deref()),
        Err(rejection) => Err(rejection.body_text()),
    };
    let difficulty = match difficulty {
        Ok(difficulty) => difficulty,
        Err(message) => return error_response(StatusCode::BAD_REQUEST, message),
    };
    if state.hub.is_shutting_down() {
        return error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down",
        );
    }
    let job = match state.jobs.start(&key) {
        Ok(job) => job,
        Err(Busy::Key { job }) => {
            let body = json!({
                "error": format!("a job is already running for key {key:?}"),
                "job": job,
                "key": key,
            });
            return (StatusCode::CONFLICT, Json(body)).into_response();
        }
        Err(Busy::Full) => {
            let message = format!("{MAX_JOBS} jobs are running already; try again later");
            return error_response(StatusCode::SERVICE_UNAVAILABLE, message);
        }
    };
    let listeners = state.hub.sessions::<MiningSocket>().sessions(&key).len();
    tracing::info!(job = %job.id, %key, difficulty, listeners, "job started");
    let body = json!({
        "job": job.id,
        "key": key,
        "difficulty": difficulty,
        "listeners": listeners,
    });
    tokio::spawn(run_job(state.hub, job, difficulty));
    (StatusCode::ACCEPTED, Json(body)).into_response()
}

/// The difficulty from the query: [`miner::DEFAULT_DIFFICULTY`] when absent, else a whole
/// number within the miner's bounds.
fn parse_difficulty(raw: Option<&str>) -> Result<u32, String> {
    let Some(raw) = raw else {
        return Ok(miner::DEFAULT_DIFFICULTY);
    };
    let difficulty = raw.trim().parse::<u32>().map_err(|_| {
        format!(
            "difficulty must be a whole number from {} to {}, got {raw:?}",
            miner::MIN_DIFFICULTY,
            miner::MAX_DIFFICULTY
        )
    })?;
    miner::check_difficulty(difficulty)
}

/// What a job pushes: the `{code, msg, data}` envelope, fields in that order (clients and
/// people reading logs see `code` first).
#[derive(Serialize)]
struct Push<'a, T> {
    code: &'a str,
    msg: &'a str,
    data: T,
}

impl<T: Serialize> Push<'_, T> {
    fn to_json(&self) -> String {
        serde_json::to_string(self).expect("strings and numbers always serialize")
    }

    fn message(&self) -> Message {
        Message::text(self.to_json())
    }
}

/// The tag of a job's progress: each report replaces the one a page has not read yet.
const PROGRESS: &str = "progress";

/// The `data` of the final message.
#[derive(Serialize)]
struct Block<'a> {
    nonce: u64,
    hash: &'a str,
    attempts: u64,
    header: &'a str,
}

/// Runs one job: mines on a blocking thread and pushes its progress, then its result, to `key`.
///
/// Progress is a latest-value send: a page that reads slower than the miner reports gets the
/// newest count instead of a backlog, and is never closed for it. The miner's thread sends it
/// itself (without a backplane that never waits; with one, at most the broker's timeout), so
/// every report is queued before the result, which is always the last message of a job.
async fn run_job(hub: Hub, job: JobGuard, difficulty: u32) {
    let pool = hub.sessions::<MiningSocket>();
    let prefix = miner::header(&job.key, &job.id, unix_millis());
    let (runtime, stop, progress_pool) = (Handle::current(), hub.clone(), pool.clone());
    let progress_key = job.key.clone();
    // Held until the miner is done: gone if this task is dropped, and then nobody would hear.
    let listening = Arc::new(());
    let heard = Arc::downgrade(&listening);
    let mining = tokio::task::spawn_blocking(move || {
        miner::mine(&prefix, difficulty, |attempts| {
            // Stop on shutdown (the runtime waits for blocking threads when it is dropped),
            // or when this task is gone.
            if stop.is_shutting_down() || heard.strong_count() == 0 {
                return ControlFlow::Break(());
            }
            let progress = Push {
                code: "01",
                msg: "",
                data: attempts,
            };
            let send = progress_pool.send_latest(&progress_key, PROGRESS, progress.message());
            runtime.block_on(send);
            ControlFlow::Continue(())
        })
    });
    let outcome = mining.await;
    drop(listening);
    let (key, id) = (job.key.clone(), job.id.clone());
    // Free the key before the result goes out: a client that starts its next job as soon as it
    // sees the result must not get 409.
    drop(job);
    match outcome {
        Ok(Some(mined)) => {
            let result = Push {
                code: "00",
                msg: "block mined",
                data: Block {
                    nonce: mined.nonce,
                    hash: &mined.hash,
                    attempts: mined.attempts,
                    header: &mined.header,
                },
            };
            let delivery = pool.send_text(&key, result.to_json()).await;
            // A block may beat its difficulty: worth seeing in the log.
            let zeros = miner::leading_zero_hex_digits(&mined.hash);
            let (reached, nodes) = (delivery.reached, delivery.remote.nodes());
            tracing::info!(job = %id, %key, nonce = mined.nonce, hash = %mined.hash, zeros, attempts = mined.attempts, reached, ?nodes, "block mined");
        }
        Ok(None) => tracing::info!(job = %id, %key, "job cancelled"),
        Err(error) => {
            tracing::error!(job = %id, %key, %error, "miner failed");
            let failure = Push {
                code: "02",
                msg: "mining failed",
                data: (),
            };
            pool.send_text(&key, failure.to_json()).await;
        }
    }
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

/// Which keys have a job running: at most one per key, at most [`MAX_JOBS`] in all.
#[derive(Clone, Default)]
struct Jobs {
    inner: Arc<JobsInner>,
}

#[derive(Default)]
struct JobsInner {
    /// Key -> id of its running job.
    running: Mutex<HashMap<String, String>>,
    next_id: AtomicU64,
}

/// Why a job could not start.
#[derive(Debug, PartialEq, Eq)]
enum Busy {
    /// The key has a job running: its id.
    Key { job: String },
    /// [`MAX_JOBS`] jobs are running.
    Full,
}

impl Jobs {
    /// Claims `key` for a new job. The key is free again when the returned guard drops, which
    /// also happens when the job's task panics or is dropped: no job can leave its key stuck.
    fn start(&self, key: &str) -> Result<JobGuard, Busy> {
        let mut running = self.lock();
        if let Some(job) = running.get(key) {
            return Err(Busy::Key { job: job.clone() });
        }
        if running.len() >= MAX_JOBS {
            return Err(Busy::Full);
        }
        let id = (self.inner.next_id.fetch_add(1, Ordering::Relaxed) + 1).to_string();
        running.insert(key.to_owned(), id.clone());
        Ok(JobGuard {
            jobs: self.clone(),
            key: key.to_owned(),
            id,
        })
    }

    /// The id of the job running for `key`, if any.
    #[cfg(test)]
    fn running(&self, key: &str) -> Option<String> {
        self.lock().get(key).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        // The map stays consistent even if a holder panicked: every change is one call.
        self.inner
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running job's claim on its key; dropping it frees the key.
struct JobGuard {
    jobs: Jobs,
    key: String,
    id: String,
}

impl Drop for JobGuard {
    fn drop(&mut self) {
        let mut running = self.jobs.lock();
        // Only our own entry: never free a key another job holds.
        if running.get(&self.key) == Some(&self.id) {
            running.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_job_per_key_until_its_guard_drops() {
        let jobs = Jobs::default();
        let first = jobs.start("a").unwrap();
        assert_eq!(
            jobs.start("a").err(),
            Some(Busy::Key {
                job: first.id.clone()
            })
        );
        let other = jobs.start("b").unwrap();
        assert_ne!(other.id, first.id);
        drop(first);
        assert_eq!(jobs.running("a"), None);
        assert!(jobs.start("a").is_ok());
        assert_eq!(jobs.running("b"), Some(other.id.clone()));
    }

    #[test]
    fn a_panicking_job_frees_its_key() {
        let jobs = Jobs::default();
        let guard = jobs.start("k").unwrap();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _guard = guard;
            panic!("miner blew up");
        }));
        assert!(result.is_err());
        assert_eq!(jobs.running("k"), None);
    }

    #[test]
    fn caps_the_number_of_jobs() {
        let jobs = Jobs::default();
        let guards: Vec<_> = (0..MAX_JOBS)
            .map(|i| jobs.start(&i.to_string()).unwrap())
            .collect();
        assert_eq!(jobs.start("one more").err(), Some(Busy::Full));
        drop(guards);
        assert!(jobs.start("one more").is_ok());
    }

    #[test]
    fn parses_difficulties() {
        assert_eq!(parse_difficulty(None), Ok(miner::DEFAULT_DIFFICULTY));
        assert_eq!(parse_difficulty(Some("3")), Ok(3));
        for bad in ["0", "8", "-1", "", "abc", "1.5", "99999999999"] {
            let error = parse_difficulty(Some(bad)).unwrap_err();
            assert!(error.contains("from 1 to 7"), "{bad:?}: {error}");
        }
    }

    #[test]
    fn pushes_keep_the_documented_field_order() {
        let push = Push {
            code: "01",
            msg: "",
            data: 42u64,
        };
        assert_eq!(push.to_json(), r#"{"code":"01","msg":"","data":42}"#);
    }
}

//! The framework's server: an ordinary `#[server_endpoint]`, public API only, default options.
//!
//! The load generator sends no `Origin` header, so the default same-origin check lets it in.
//! Defaults that shape the scenarios: 64 KiB max message, a ping every 30 s and an idle timeout
//! of 60 s (every scenario ends long before the first ping), a send queue of 256 messages that
//! closes a slow consumer with 1008 (losses would show it).

use wsendpoint::prelude::*;
use wsendpoint::RedisBackplane;

/// The benchmark protocol: `echo:<p>`, `bcast:<p>`, `to:<key>:<p>`, and `latest:<key>:<p>` (a
/// latest-value send, for `bench --latest-value`).
#[derive(Default)]
struct Bench;

#[server_endpoint("/ws/<key>")]
impl Bench {
    #[on_message]
    async fn message(&mut self, session: &Session, text: &str) -> Option<String> {
        answer(session, text).await
    }

    #[on_error]
    fn error(&mut self, session: &Session, error: wsendpoint::Error) {
        report(session, &error);
    }
}

/// The same endpoint with a history (`bench --history`): every `to:` send is kept and goes out
/// with its position.
#[derive(Default)]
struct BenchHistory;

#[server_endpoint("/wsh/<key>", history = "1m")]
impl BenchHistory {
    #[on_message]
    async fn message(&mut self, session: &Session, text: &str) -> Option<String> {
        answer(session, text).await
    }

    #[on_error]
    fn error(&mut self, session: &Session, error: wsendpoint::Error) {
        report(session, &error);
    }
}

/// What both endpoints do with a message of the benchmark protocol: the echo's reply, or a send
/// through the session's pool.
async fn answer(session: &Session, text: &str) -> Option<String> {
    if let Some(payload) = text.strip_prefix("echo:") {
        return Some(payload.to_owned());
    }
    if let Some(payload) = text.strip_prefix("bcast:") {
        session.pool().broadcast_text(payload).await;
    } else if let Some((key, payload)) = text.strip_prefix("to:").and_then(|r| r.split_once(':')) {
        session.pool().send_text(key, payload).await;
    } else if let Some((key, payload)) =
        text.strip_prefix("latest:").and_then(|r| r.split_once(':'))
    {
        let message = Message::text(payload);
        session.pool().send_latest(key, "push", message).await;
    }
    None
}

/// Reports what would explain a loss: anything but the resets that end every scenario.
fn report(session: &Session, error: &wsendpoint::Error) {
    if !matches!(error, wsendpoint::Error::Connection(_)) {
        eprintln!(
            "server-wsendpoint: session {} ({}): {error}",
            session.id(),
            session.key()
        );
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let options = wsendpoint_bench::server_options("server-wsendpoint", true);
    let hub = match &options.redis {
        // A node of a cluster (`bench --cluster`): pushes reach the sessions of every node.
        Some(url) => {
            let backplane = RedisBackplane::connect(url)
                .await
                .map_err(|e| std::io::Error::other(format!("{url}: {e}")))?;
            Hub::new().with_backplane(backplane)
        }
        None => Hub::new(),
    };
    let listener = wsendpoint_bench::bind_and_announce(options.port).await?;
    hub.serve(listener).await
}

//! Every option, `#[on_handshake]` with `State<T>` and a path parameter, and one `#[on_message]`
//! method per message kind: text as `Json<T>`, binary, pong.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use wsendpoint::prelude::*;
use wsendpoint::{DecodeErrors, DuplicateKey, Endpoint, OriginPolicy, Overflow, PathParams};

/// Verifies the tokens of handshakes.
#[derive(Clone)]
struct Verifier {
    secret: &'static str,
}

/// Counts what the endpoint saw.
#[derive(Clone, Default)]
struct Stats(Arc<std::sync::atomic::AtomicU64>);

#[derive(Deserialize)]
struct Command {
    difficulty: u32,
}

#[derive(Serialize)]
struct Reply {
    accepted: bool,
}

struct Jobs {
    id: u64,
    pongs: u64,
}

#[server_endpoint(
    "/jobs/<tenant>/<id>",
    key = "id",
    allowed_origins = ["https://app.example", "http://localhost:8080"],
    subprotocols = ["v2.json", "v1.json"],
    max_message_size = "64KiB",
    ping_interval = "20s",
    idle_timeout = "1m",
    send_queue = 128,
    on_overflow = "drop_newest",
    on_duplicate_key = "replace",
    on_decode_error = "close",
)]
impl Jobs {
    #[on_handshake]
    async fn handshake(
        handshake: &Handshake,
        verifier: State<Verifier>,
        id: u64,
    ) -> Result<Accept<Self>, Reject> {
        let token = handshake.query("token").unwrap_or_default();
        if token != verifier.secret {
            return Err(Reject::unauthorized("a valid token is required"));
        }
        Ok(Accept::new(Jobs { id, pongs: 0 }).with_key(format!("job-{id}")))
    }

    #[on_open]
    async fn open(&mut self, session: &Session, tenant: String, stats: State<Stats>) -> String {
        stats
            .0
             .0
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let _ = session.key();
        format!("job {} of {tenant}", self.id)
    }

    #[on_message]
    async fn command(&mut self, Json(command): Json<Command>, _: &Session) -> Json<Reply> {
        Json(Reply {
            accepted: command.difficulty <= 7,
        })
    }

    #[on_message]
    fn upload(&mut self, data: Vec<u8>, id: u64) -> Option<Vec<u8>> {
        (id == self.id).then_some(data)
    }

    #[on_message]
    fn pong(&mut self, _: Pong) {
        self.pongs += 1;
    }

    #[on_close]
    async fn close(&mut self, reason: CloseReason, stats: State<Stats>) {
        let _ = (reason, stats);
    }

    #[on_error]
    fn error(&mut self, error: wsendpoint::Error) {
        let _ = error;
    }
}

/// A receiver-less, synchronous handshake returning `Result<Self, Reject>`; no other option.
struct Inbox {
    user: String,
}

#[server_endpoint(
    "/inbox",
    allowed_origins = "*",
    ping_interval = "off",
    max_message_size = 1024
)]
impl Inbox {
    #[wsendpoint::on_handshake]
    fn accept(handshake: &Handshake) -> Result<Self, Reject> {
        match handshake.query("user") {
            Some(user) => Ok(Inbox {
                user: user.to_owned(),
            }),
            None => Err(Reject::unauthorized("who are you?")),
        }
    }

    #[on_message]
    fn text(&mut self, text: &str) -> String {
        format!("{}: {text}", self.user)
    }

    #[on_message]
    fn raw_binary(&mut self, data: wsendpoint::Bytes) -> wsendpoint::Bytes {
        data
    }
}

fn main() {
    let config = Jobs::CONFIG;
    assert_eq!(config.route, "/jobs/{tenant}/{id}");
    assert_eq!(config.key_param, Some("id"));
    assert_eq!(
        config.origins,
        OriginPolicy::List(&["https://app.example", "http://localhost:8080"])
    );
    assert_eq!(config.subprotocols, ["v2.json", "v1.json"]);
    assert_eq!(config.max_message_size, 64 * 1024);
    assert_eq!(config.ping_interval, Some(Duration::from_secs(20)));
    assert_eq!(config.idle_timeout, Some(Duration::from_secs(60)));
    assert_eq!(config.send_queue, 128);
    assert_eq!(config.overflow, Overflow::DropNewest);
    assert_eq!(config.duplicate_key, DuplicateKey::Replace);
    assert_eq!(config.decode_errors, DecodeErrors::Close);

    let params = PathParams::from_pairs([("tenant", "acme"), ("id", "x")]);
    assert!(Jobs::check_params(&params).is_err(), "`id: u64` is checked");
    assert!(
        Jobs::check_state(&Default::default()).is_err(),
        "`State<Verifier>` is required"
    );

    let inbox = Inbox::CONFIG;
    assert_eq!(inbox.origins, OriginPolicy::Any);
    assert_eq!(inbox.ping_interval, None);
    assert_eq!(inbox.max_message_size, 1024);
    assert_eq!(
        inbox.send_queue,
        wsendpoint::EndpointConfig::DEFAULT_SEND_QUEUE
    );
    assert!(Inbox::check_state(&Default::default()).is_ok());

    let hub = Hub::new()
        .with_state(Verifier { secret: "s3cret" })
        .with_state(Stats::default());
    let _router = hub.router();
}

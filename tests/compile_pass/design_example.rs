//! The shape of the example in DESIGN.md: all four roles, injected and bound parameters, sync and
//! async methods, replies.

use wsendpoint::prelude::*;

#[derive(Default)]
struct MiningSocket {
    key: String,
    attempts: u64,
}

#[server_endpoint("/websocket/<key>")]
impl MiningSocket {
    #[on_open]
    async fn open(&mut self, session: &Session, key: String) {
        self.key = key;
        let _ = session.send_text("started").await;
    }

    #[on_message]
    async fn command(&mut self, cmd: &str) -> Result<String, String> {
        self.attempts += 1;
        match cmd {
            "status" => Ok(format!("{} attempts for {}", self.attempts, self.key)),
            other => Err(format!("unknown command {other:?}")),
        }
    }

    #[on_close]
    fn close(&mut self, reason: CloseReason, key: String) {
        let _ = (reason, key);
    }

    #[on_error]
    async fn error(&mut self, session: &Session, error: wsendpoint::Error) {
        let _ = session.send_text(error.to_string()).await;
    }
}

/// Receiver-less and `&self` methods, a typed path parameter, `{name}` syntax, an explicit key.
#[derive(Default)]
struct Room;

#[server_endpoint("/room/{room}/<user>/<seat>", key = "room")]
impl Room {
    #[on_open]
    fn join(room: String, mut user: String, seat: u16) -> String {
        user.push('!');
        format!("{user} joined {room} at seat {seat}")
    }

    #[on_message]
    fn echo(&self, text: String, seat: u16, session: &Session) -> Option<String> {
        let _ = session.key();
        (seat > 0).then_some(text)
    }

    #[wsendpoint::on_close]
    async fn leave(_reason: CloseReason) {}
}

/// An endpoint whose route has no parameter.
#[derive(Default)]
struct Root;

#[server_endpoint("/")]
impl Root {
    #[on_message]
    fn upper(&mut self, text: &str) -> String {
        text.to_uppercase()
    }
}

fn main() {
    use wsendpoint::Endpoint;

    let mining = MiningSocket::CONFIG;
    assert_eq!(mining.template, "/websocket/<key>");
    assert_eq!(mining.route, "/websocket/{key}");
    assert_eq!(mining.params, ["key"]);
    assert_eq!(mining.key_param, Some("key"));

    let room = Room::CONFIG;
    assert_eq!(room.route, "/room/{room}/{user}/{seat}");
    assert_eq!(room.key_param, Some("room"));
    let params = wsendpoint::PathParams::from_pairs([("room", "a"), ("user", "b"), ("seat", "x")]);
    assert!(
        Room::check_params(&params).is_err(),
        "`seat: u16` is checked at the handshake"
    );

    assert_eq!(Root::CONFIG.route, "/");
    assert_eq!(Root::CONFIG.key_param, None);

    // Registered through inventory: the hub knows all three and axum accepts their routes.
    let hub = Hub::new();
    let _router = hub.router();
}

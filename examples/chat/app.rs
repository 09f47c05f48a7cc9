//! The chat example's application: rooms (groups of the session pool), nicknames checked at
//! the handshake, broadcast to a room, join and leave notices, and who is online.
//!
//! A browser connects to `/chat/<room>?nick=<nickname>`. The handshake refuses an empty or
//! over-long nickname or room, or one with control characters, with 400, and a nickname
//! already online in that room with 409. Each session's pool key is `<room>/<nickname>` (a room
//! has no `/`, so the key is unambiguous) and the endpoint reserves a key for one session, so
//! two sessions can never hold one nickname in a room, even when they race.
//!
//! Wire format, all JSON text:
//!
//! - client → server: `{"type":"say","text":"…"}`; the heartbeat `{"type":"ping"}` (or `"ping"`)
//! - server → the room: `{"type":"message","nick":"…","text":"…"}`,
//!   `{"type":"join","nick":"…"}` / `{"type":"leave","nick":"…"}` followed by
//!   `{"type":"online","nicks":[…]}` (sorted) whenever someone joins or leaves
//! - server → this client: `{"type":"hello","room":"…","nick":"…"}` first, `{"type":"pong"}`,
//!   `{"type":"error","msg":"…"}` for a message it does not understand
//!
//! `GET /chat/<room>/online` answers `{"room":"…","nicks":[…]}`: the page asks it to explain a
//! join that failed (a WebSocket client never sees the 409 itself).
//!
//! This file can be compiled into a test with `#[path]`, like the mining app: it does not
//! depend on `main.rs`. What it shares with the other demos comes from the `examples-shared`
//! crate.

use std::sync::Arc;

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use examples_shared::assets::{self, Asset};
use examples_shared::heartbeat;
use examples_shared::http::not_found;
use serde::{Deserialize, Serialize};
use serde_json::json;
use wsendpoint::prelude::*;

/// The longest nickname, in characters.
pub const MAX_NICK_CHARS: usize = 32;
/// The longest room name, in characters.
pub const MAX_ROOM_CHARS: usize = 64;
/// The longest message, in characters.
pub const MAX_TEXT_CHARS: usize = 2000;

/// The chat page and what it loads; `/websocket.js` and `/style.css` are the shared ones.
static ASSETS: [Asset; 4] = assets::page(
    include_str!("static/index.html"),
    include_str!("static/app.js"),
);

/// The router of the chat: the hub's WebSocket routes, the page at `/` (with its script, the
/// client module and the stylesheet) and `GET /chat/<room>/online`.
///
/// It also gives `hub` the chat's shared state ([`Lobby`]): the hub's state is shared by all
/// its clones, so serve the returned router with [`Hub::serve_router`] on this same hub.
pub fn app(hub: &Hub) -> Router {
    let pool = hub.sessions::<ChatSocket>();
    hub.clone().with_state(Lobby {
        pool: pool.clone(),
        roster: Arc::default(),
    });
    Router::new()
        .route(
            "/chat/{room}/online",
            get(move |Path(room): Path<String>| {
                let pool = pool.clone();
                async move { axum::Json(json!({ "nicks": online(&pool, &room), "room": room })) }
            }),
        )
        .merge(assets::router(&ASSETS))
        .merge(hub.router())
        .fallback(not_found)
}

/// What every chat session shares.
#[derive(Clone)]
pub struct Lobby {
    /// The chat's sessions, for the handshake's friendly 409.
    pool: SessionPool,
    /// Held while a session joins or leaves and its room is told: each `online` list is then
    /// sent in the order the membership changed, so the last list a client gets is the truth.
    roster: Arc<tokio::sync::Mutex<()>>,
}

/// The nickname of a session, kept as a typed property so that anyone can list a room's.
#[derive(Clone)]
struct Nick(String);

/// One chat connection: who it is and where.
pub struct ChatSocket {
    room: String,
    nick: String,
}

#[server_endpoint(
    "/chat/<room>",
    on_duplicate_key = "reject",
    max_message_size = "16KiB",
    ping_interval = "20s",
    idle_timeout = "45s"
)]
impl ChatSocket {
    /// Checks the room and the nickname (`?nick=`) before the upgrade: 400 when either is
    /// malformed, 409 when the nickname is online in the room already.
    #[on_handshake]
    fn handshake(
        handshake: &Handshake,
        room: String,
        lobby: State<Lobby>,
    ) -> Result<Accept<Self>, Reject> {
        let room = check_room(&room).map_err(Reject::bad_request)?;
        let nick =
            check_nick(handshake.query("nick").unwrap_or_default()).map_err(Reject::bad_request)?;
        let key = member_key(&room, &nick);
        // The friendly answer; the endpoint's `on_duplicate_key = "reject"` is the one that
        // also holds when two handshakes race.
        if lobby.pool.contains(&key) {
            return Err(Reject::new(
                StatusCode::CONFLICT,
                format!("the nickname {nick:?} is already online in room {room:?}"),
            ));
        }
        Ok(Accept::new(ChatSocket { room, nick }).with_key(key))
    }

    /// Greets the client, joins the room and tells the room, with the new list of who is online.
    #[on_open]
    async fn open(&mut self, session: &Session, lobby: State<Lobby>) {
        tracing::info!(session = %session.id(), room = %self.room, nick = %self.nick, "joined");
        session.insert(Nick(self.nick.clone()));
        let hello = Notice::Hello {
            room: &self.room,
            nick: &self.nick,
        };
        // A client that left already is not an error worth reporting.
        let _ = session.send_text(hello.to_json()).await;

        let _roster = lobby.roster.lock().await;
        session.join(self.room.clone());
        let pool = &session.pool();
        tell(pool, &self.room, &Notice::Join { nick: &self.nick }).await;
        let nicks = online(pool, &self.room);
        tell(pool, &self.room, &Notice::Online { nicks }).await;
    }

    /// `{"type":"say","text":…}` goes to the room; pings get a pong; anything else an error.
    #[on_message]
    async fn message(&mut self, session: &Session, text: &str) -> Option<String> {
        if heartbeat::is_ping(text) {
            return Some(heartbeat::PONG.to_owned());
        }
        let text = match parse_command(text) {
            Ok(Command::Say { text }) => text,
            Err(message) => return Some(Notice::Error { msg: &message }.to_json()),
        };
        if let Err(message) = check_text(&text) {
            return Some(Notice::Error { msg: &message }.to_json());
        }
        let said = Notice::Message {
            nick: &self.nick,
            text: &text,
        };
        tell(&session.pool(), &self.room, &said).await;
        None
    }

    /// The session already left the pool and the room: tell those still there.
    #[on_close]
    async fn close(&mut self, session: &Session, reason: CloseReason, lobby: State<Lobby>) {
        tracing::info!(session = %session.id(), room = %self.room, nick = %self.nick, %reason, "left");
        let _roster = lobby.roster.lock().await;
        let pool = &session.pool();
        tell(pool, &self.room, &Notice::Leave { nick: &self.nick }).await;
        let nicks = online(pool, &self.room);
        tell(pool, &self.room, &Notice::Online { nicks }).await;
    }

    /// Logs only: the runtime already closes the session when the error calls for it.
    #[on_error]
    async fn error(&mut self, session: &Session, error: wsendpoint::Error) {
        tracing::warn!(session = %session.id(), room = %self.room, nick = %self.nick, %error, "session error");
    }
}

/// What a client may send, besides the heartbeat.
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Command {
    Say { text: String },
}

/// A JSON command; the error is a sentence for the client.
fn parse_command(text: &str) -> Result<Command, String> {
    serde_json::from_str(text).map_err(|_| {
        r#"unknown command: send {"type":"say","text":"..."} or {"type":"ping"}"#.to_owned()
    })
}

/// What the server sends: to a room (message, join, leave, online) or to one client (hello,
/// error; the pong is [`heartbeat::PONG`]). Serialized with `type` first.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Notice<'a> {
    Message { nick: &'a str, text: &'a str },
    Join { nick: &'a str },
    Leave { nick: &'a str },
    Online { nicks: Vec<String> },
    Hello { room: &'a str, nick: &'a str },
    Error { msg: &'a str },
}

impl Notice<'_> {
    fn to_json(&self) -> String {
        serde_json::to_string(self).expect("strings and lists of strings always serialize")
    }
}

/// Sends `notice` to everyone in `room`.
async fn tell(pool: &SessionPool, room: &str, notice: &Notice<'_>) {
    if let Err(error) = pool.send_json_to_group(room, notice).await {
        tracing::error!(%error, "cannot encode a notice");
    }
}

/// The nicknames online in `room`, sorted (case-insensitively, then exactly).
fn online(pool: &SessionPool, room: &str) -> Vec<String> {
    let mut nicks: Vec<String> = pool
        .group(room)
        .iter()
        .filter_map(|session| session.get::<Nick>().map(|Nick(nick)| nick))
        .collect();
    nicks.sort_by(|a, b| a.to_lowercase().cmp(&b.to_lowercase()).then(a.cmp(b)));
    nicks.dedup();
    nicks
}

/// The pool key of a nickname in a room: unique per pair, since a room has no `/`.
fn member_key(room: &str, nick: &str) -> String {
    format!("{room}/{nick}")
}

/// A nickname: trimmed, not empty, at most [`MAX_NICK_CHARS`], no control characters.
pub fn check_nick(raw: &str) -> Result<String, String> {
    let nick = raw.trim();
    if nick.is_empty() {
        return Err("a nickname is required: /chat/<room>?nick=<nickname>".to_owned());
    }
    check_name("nickname", nick, MAX_NICK_CHARS)?;
    Ok(nick.to_owned())
}

/// A room name: trimmed, not empty, at most [`MAX_ROOM_CHARS`], no control characters, no `/`.
pub fn check_room(raw: &str) -> Result<String, String> {
    let room = raw.trim();
    if room.is_empty() {
        return Err("a room name is required".to_owned());
    }
    check_name("room name", room, MAX_ROOM_CHARS)?;
    if room.contains('/') {
        return Err(format!("a room name cannot contain '/': {room:?}"));
    }
    Ok(room.to_owned())
}

fn check_name(what: &str, name: &str, max_chars: usize) -> Result<(), String> {
    let chars = name.chars().count();
    if chars > max_chars {
        return Err(format!(
            "a {what} has at most {max_chars} characters, {name:?} has {chars}"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(format!(
            "a {what} cannot contain control characters: {name:?}"
        ));
    }
    Ok(())
}

/// A message: not blank, at most [`MAX_TEXT_CHARS`].
fn check_text(text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err("an empty message is not sent".to_owned());
    }
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(format!(
            "a message has at most {MAX_TEXT_CHARS} characters, this one has {chars}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nicknames_are_trimmed_and_checked() {
        assert_eq!(check_nick("  ada "), Ok("ada".to_owned()));
        assert_eq!(check_nick("Zoë 🦀"), Ok("Zoë 🦀".to_owned()));
        assert_eq!(check_nick(&"é".repeat(32)), Ok("é".repeat(32)));
        assert!(check_nick("").unwrap_err().contains("required"));
        assert!(check_nick("   ").unwrap_err().contains("required"));
        assert!(check_nick(&"x".repeat(33))
            .unwrap_err()
            .contains("at most 32"));
        assert!(check_nick("a\u{7}b").unwrap_err().contains("control"));
        assert!(check_nick("a\nb").unwrap_err().contains("control"));
        // A nickname may contain '/': the room, which cannot, comes first in the key.
        assert_eq!(check_nick("a/b"), Ok("a/b".to_owned()));
    }

    #[test]
    fn rooms_are_checked() {
        assert_eq!(check_room("lobby"), Ok("lobby".to_owned()));
        assert!(check_room("").is_err());
        assert!(check_room("a/b").unwrap_err().contains("'/'"));
        assert!(check_room(&"r".repeat(65))
            .unwrap_err()
            .contains("at most 64"));
        assert!(check_room("a\tb").unwrap_err().contains("control"));
    }

    #[test]
    fn member_keys_give_back_their_room_and_nickname() {
        // A room has no '/': the first one ends it, so no two pairs share a key.
        for (room, nick) in [("lobby", "ada"), ("a", "b/c"), ("a b", "/"), ("r", "x//y")] {
            let room = check_room(room).unwrap();
            let nick = check_nick(nick).unwrap();
            let key = member_key(&room, &nick);
            assert_eq!(key.split_once('/'), Some((room.as_str(), nick.as_str())));
        }
        assert!(
            check_room("a/b").is_err(),
            "the pair (\"a/b\", \"c\") cannot exist"
        );
    }

    #[test]
    fn understands_its_commands() {
        assert_eq!(
            parse_command(r#"{"type":"say","text":"hi"}"#),
            Ok(Command::Say { text: "hi".into() })
        );
        assert!(parse_command(r#"{"type":"shout"}"#)
            .unwrap_err()
            .contains("unknown command"));
        assert!(parse_command("hello").is_err());
    }

    #[test]
    fn messages_are_not_blank_nor_huge() {
        assert_eq!(check_text("hi"), Ok(()));
        assert!(check_text("  ").is_err());
        assert!(check_text(&"x".repeat(MAX_TEXT_CHARS + 1)).is_err());
        assert_eq!(check_text(&"x".repeat(MAX_TEXT_CHARS)), Ok(()));
    }

    #[test]
    fn notices_have_the_documented_shapes() {
        let json = |notice: Notice| notice.to_json();
        assert_eq!(
            json(Notice::Message {
                nick: "ada",
                text: "hi"
            }),
            r#"{"type":"message","nick":"ada","text":"hi"}"#
        );
        assert_eq!(
            json(Notice::Join { nick: "ada" }),
            r#"{"type":"join","nick":"ada"}"#
        );
        assert_eq!(
            json(Notice::Leave { nick: "ada" }),
            r#"{"type":"leave","nick":"ada"}"#
        );
        assert_eq!(
            json(Notice::Online {
                nicks: vec!["ada".into(), "bob".into()]
            }),
            r#"{"type":"online","nicks":["ada","bob"]}"#
        );
        assert_eq!(
            json(Notice::Hello {
                room: "lobby",
                nick: "ada"
            }),
            r#"{"type":"hello","room":"lobby","nick":"ada"}"#
        );
        assert_eq!(
            json(Notice::Error { msg: "no" }),
            r#"{"type":"error","msg":"no"}"#
        );
    }
}

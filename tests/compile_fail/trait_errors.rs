//! Type mistakes are rustc's E0277, at the parameter's (or return) type, with the runtime's
//! messages.

#![allow(unused)]

use wsendpoint::prelude::*;

struct Coordinates {
    x: i32,
}

struct NotDeserialize;

#[derive(Default)]
struct WrongTypes;

#[server_endpoint("/types/<key>/<at>")]
impl WrongTypes {
    #[on_open]
    fn open(&mut self, reason: CloseReason, key: String) {}

    #[on_message]
    fn message(&mut self, session: &Session, at: Coordinates) -> u32 {
        0
    }

    #[on_message]
    fn command(&mut self, Json(command): Json<NotDeserialize>) {}
}

struct NoDefault;

#[server_endpoint("/no-default")]
impl NoDefault {
    #[on_open]
    fn open(&mut self) {}
}

// A path parameter bound in several methods: each type is reported once.
#[derive(Default)]
struct BoundTwice;

#[server_endpoint("/twice/<at>")]
impl BoundTwice {
    #[on_open]
    fn open(&mut self, at: Coordinates) {}

    #[on_close]
    fn close(&mut self, at: Coordinates) {}
}

// `#[on_handshake]` sees the handshake, not a session, and returns a verdict.
struct Handshakes;

#[server_endpoint("/handshakes")]
impl Handshakes {
    #[on_handshake]
    fn handshake(session: &Session) -> Option<Self> {
        None
    }
}

struct StringRefusal;

#[server_endpoint("/string-refusal")]
impl StringRefusal {
    #[on_handshake]
    async fn handshake() -> Result<Self, String> {
        Err("no".into())
    }
}

// State values are cloned out of the hub.
struct NotClone;

#[derive(Default)]
struct NeedsState;

#[server_endpoint("/state")]
impl NeedsState {
    #[on_open]
    fn open(&mut self, state: State<NotClone>) {}
}

fn main() {}

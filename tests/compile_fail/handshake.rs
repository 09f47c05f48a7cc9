//! `#[on_handshake]`: an associated function, at most one, returning the handler or a refusal.

#![allow(unused)]

use wsendpoint::prelude::*;

// It runs before the handler exists.
struct WithReceiver;
#[server_endpoint("/receiver")]
impl WithReceiver {
    #[on_handshake]
    fn handshake(&self) -> Self {
        WithReceiver
    }
}

// It must say whether the handshake is accepted.
struct NoVerdict;
#[server_endpoint("/no-verdict")]
impl NoVerdict {
    #[on_handshake]
    fn handshake(handshake: &Handshake) {}
}

struct UnitVerdict;
#[server_endpoint("/unit-verdict")]
impl UnitVerdict {
    #[on_handshake]
    async fn handshake(handshake: &Handshake) -> () {}
}

// At most one.
struct TwoHandshakes;
#[server_endpoint("/two")]
impl TwoHandshakes {
    #[on_handshake]
    fn first() -> Self {
        TwoHandshakes
    }

    #[wsendpoint::on_handshake]
    fn second() -> Self {
        TwoHandshakes
    }
}

// No message has arrived yet.
struct MessageInHandshake;
#[server_endpoint("/message/<room>")]
impl MessageInHandshake {
    #[on_handshake]
    fn handshake(room: String, text: &str, pong: Pong) -> Self {
        MessageInHandshake
    }
}

fn main() {}

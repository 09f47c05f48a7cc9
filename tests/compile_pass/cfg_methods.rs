//! `#[cfg]` on a lifecycle method is copied onto its dispatch and onto the handshake checks of its
//! path parameters: a configured-out method leaves nothing behind, nor does a configured-out block.

use wsendpoint::prelude::*;

/// Not `FromStr`: binding it would not compile, unless its method is configured out.
struct NotParsable;

#[derive(Default)]
struct Flagged;

#[server_endpoint("/flagged/<id>")]
impl Flagged {
    #[cfg(any())]
    #[on_open]
    fn open(&mut self, id: NotParsable) {}

    #[cfg(all())]
    #[on_message]
    fn message(&mut self, id: u32) -> String {
        id.to_string()
    }
}

/// A configured-out `#[on_handshake]` leaves `Default` in charge; a configured-in one needs no
/// `Default`.
#[derive(Default)]
struct DefaultUnlessHandshake;

#[server_endpoint("/default-unless-handshake")]
impl DefaultUnlessHandshake {
    #[cfg(any())]
    #[on_handshake]
    fn handshake(not_injectable: NotParsable) -> Self {
        DefaultUnlessHandshake
    }
}

struct HandshakeOnly;

#[server_endpoint("/handshake-only")]
impl HandshakeOnly {
    #[cfg(all())]
    #[on_handshake]
    fn handshake() -> Self {
        HandshakeOnly
    }
}

/// No `Default`: registering it would not compile, unless its block is configured out.
struct Gone;

#[server_endpoint("/gone")]
#[cfg(any())]
impl Gone {
    #[on_open]
    fn open(&mut self) {}
}

fn main() {
    use wsendpoint::{Endpoint, PathParams};

    let _ = (NotParsable, Gone, DefaultUnlessHandshake, HandshakeOnly);
    assert!(Flagged::check_params(&PathParams::from_pairs([("id", "7")])).is_ok());
    assert!(Flagged::check_params(&PathParams::from_pairs([("id", "x")])).is_err());
}

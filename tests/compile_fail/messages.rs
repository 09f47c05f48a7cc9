//! `#[on_message]`: one method per kind of message (text, binary, pong), one message parameter
//! per method, and messages only in `#[on_message]`.

#![allow(unused)]

use wsendpoint::prelude::*;

struct Command;

// `String` and `Json<T>` are both text.
struct TwoText;
#[server_endpoint("/two-text")]
impl TwoText {
    #[on_message]
    fn text(&mut self, text: String) {}

    #[on_message]
    fn command(&mut self, Json(command): Json<Command>) {}
}

// The raw `Message` takes text and binary, so it overlaps a text handler.
struct RawAndText;
#[server_endpoint("/raw")]
impl RawAndText {
    #[on_message]
    fn raw(&mut self, message: Message) {}

    #[on_message]
    fn text(&mut self, text: &str) {}
}

// Two pong handlers.
struct TwoPongs;
#[server_endpoint("/pongs")]
impl TwoPongs {
    #[on_message]
    fn pong(&mut self, _: Pong) {}

    #[on_message]
    fn heartbeat(&mut self, pong: Pong, session: &Session) {}
}

// One method cannot take the message twice.
struct TwoMessageParams;
#[server_endpoint("/both")]
impl TwoMessageParams {
    #[on_message]
    fn both(&mut self, text: String, data: Vec<u8>) {}
}

// A message belongs in `#[on_message]`.
struct MessagesElsewhere;
#[server_endpoint("/elsewhere/<key>")]
impl MessagesElsewhere {
    #[on_open]
    fn open(&mut self, data: Vec<u8>, key: String) {}

    #[on_close]
    fn close(&mut self, _: &str) {}

    #[on_error]
    fn error(&mut self, Json(command): Json<Command>) {}
}

fn main() {}

//! Type mistakes are rustc's E0277, at the parameter's type, with the runtime's messages.

#![allow(unused)]

use wsendpoint::prelude::*;

struct Coordinates {
    x: i32,
}

#[derive(Default)]
struct WrongTypes;

#[server_endpoint("/types/<key>/<at>")]
impl WrongTypes {
    #[on_open]
    fn open(&mut self, byte: u8, key: String) {}

    #[on_message]
    fn message(&mut self, reason: CloseReason, at: Coordinates) -> Vec<u8> {
        Vec::new()
    }
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

fn main() {}

//! A parameter whose type can only come from the URL must be named like a path parameter.

#![allow(unused)]

use wsendpoint::prelude::*;

struct Names;
#[server_endpoint("/ws/<key>")]
impl Names {
    // A typo: did you mean `key`?
    #[on_open]
    fn open(&mut self, kee: String) {}

    // No path parameter is called `id`.
    #[on_message]
    fn message(&mut self, text: String, id: u64) {}

    // A `String` in `#[on_close]` is neither a path parameter nor available there.
    #[on_close]
    fn close(&mut self, text: String) {}

    // `_key` is not `key`; and a binding path parameter is a plain name.
    #[on_error]
    fn error(&mut self, _key: String, ref key: String) {}
}

// A route without parameters says so.
struct NoParams;
#[server_endpoint("/echo")]
impl NoParams {
    #[on_handshake]
    fn handshake(id: u64) -> Self {
        NoParams
    }
}

fn main() {}

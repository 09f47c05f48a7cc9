//! `#[server_endpoint]` goes on an inherent, non-generic `impl` block.

use wsendpoint::prelude::*;

#[server_endpoint("/struct")]
struct OnAStruct;

#[server_endpoint("/fn")]
fn on_a_function() {}

#[derive(Default)]
struct Handler<T>(T);

#[server_endpoint("/trait")]
impl Default for OnAStruct {
    #[on_open]
    fn default() -> Self {
        OnAStruct
    }
}

#[server_endpoint("/generic")]
impl<T: Send + 'static> Handler<T> {
    #[on_open]
    fn open(&mut self) {}
}

fn main() {}

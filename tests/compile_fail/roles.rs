//! Lifecycle attributes: at most one method per event, one event per method, no arguments.

use wsendpoint::prelude::*;

#[derive(Default)]
struct Duplicates;

#[server_endpoint("/duplicates")]
impl Duplicates {
    #[on_open]
    fn open(&mut self) {}

    #[on_open]
    fn open_again(&mut self) {}

    #[on_message]
    #[on_close]
    fn message_and_close(&mut self) {}

    #[on_error]
    #[wsendpoint::on_error]
    fn error(&mut self) {}

    #[on_close(code = 1000)]
    fn close(&mut self) {}

    #[on_message]
    const LIMIT: usize = 10;
}

#[derive(Default)]
struct Replies;

#[server_endpoint("/replies")]
impl Replies {
    #[on_close]
    fn close(&mut self) -> String {
        String::new()
    }

    #[on_error]
    fn error(&mut self) -> Result<(), String> {
        Ok(())
    }
}

fn main() {}

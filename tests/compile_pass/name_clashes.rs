//! Lifecycle methods named like the `Endpoint` trait's own methods still call the user's method.

use wsendpoint::prelude::*;

#[derive(Default)]
struct Clashes {
    opened: bool,
}

#[server_endpoint("/clashes/<key>")]
impl Clashes {
    #[on_open]
    fn on_open(&self, key: String) -> String {
        format!("{key} {}", self.opened)
    }

    #[on_message]
    async fn create(&mut self, text: String) -> String {
        self.opened = true;
        text
    }

    #[on_close]
    fn on_close(reason: CloseReason) {
        let _ = reason;
    }

    #[on_error]
    fn check_params(&mut self, error: wsendpoint::Error) {
        let _ = error;
    }
}

fn main() {}

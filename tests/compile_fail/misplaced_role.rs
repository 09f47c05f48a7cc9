//! The lifecycle attributes mean something only inside `#[server_endpoint]`.

#[wsendpoint::on_open]
fn free_function() {}

struct Plain;

impl Plain {
    #[wsendpoint::on_handshake]
    fn handshake() -> Self {
        Plain
    }

    #[wsendpoint::on_message]
    fn message(&mut self) {}
}

fn main() {}

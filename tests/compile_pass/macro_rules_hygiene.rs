//! An endpoint produced by a `macro_rules!`, next to user items that shadow the std names the
//! generated code uses: the expansion must neither capture nor be captured by them.

#![allow(dead_code)]

use wsendpoint::prelude::*;

// Shadows for every std name the generated code could have spelled relatively.
type Result<T> = std::result::Result<T, ()>;
struct Option;
trait Default {}
trait Send {}
trait Future {}
mod core {}

macro_rules! endpoint {
    ($name:ident, $route:literal, |$arg:ident: $ty:ty| $body:block) => {
        #[derive(::std::default::Default)]
        struct $name {
            count: usize,
        }

        #[server_endpoint($route)]
        impl $name {
            #[on_open]
            async fn open(&mut self, session: &Session) {
                let __ws_event = session.id();
                let __ws_arg0 = __ws_event;
                let _ = __ws_arg0;
                self.count += 1;
            }

            #[on_message]
            fn message(&mut self, $arg: $ty) -> String $body

            #[on_close]
            fn close(__ws_event: CloseReason) {}
        }
    };
}

endpoint!(Upper, "/upper/<key>", |text: &str| { text.to_uppercase() });
endpoint!(Keyed, "/keyed/<key>", |key: String| { key });

fn main() {
    use wsendpoint::Endpoint;

    assert_eq!(Upper::CONFIG.route, "/upper/{key}");
    assert_eq!(Keyed::CONFIG.route, "/keyed/{key}");
    let _router = Hub::new().router();
}

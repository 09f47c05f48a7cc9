//! Procedural macros of [`wsendpoint`](https://docs.rs/wsendpoint): `#[server_endpoint]` and its
//! lifecycle attributes. Depend on `wsendpoint`, which re-exports them; the generated code names
//! the runtime through `::wsendpoint::__private` only.
//!
//! The pipeline lives behind one-line entry points, on `proc_macro2` token streams so it runs in
//! unit tests: the attribute arguments (`args.rs`) and the route template (`template.rs`) are
//! parsed, the `impl` block is viewed as methods with roles (`model.rs`), every misuse is
//! collected (`check.rs`, `ctxt.rs`), then the `Endpoint` impl is generated (`expand.rs`, naming
//! runtime items through `paths.rs`).

mod args;
mod check;
mod ctxt;
mod expand;
mod model;
mod paths;
mod template;

#[cfg(test)]
mod tests;

use proc_macro::TokenStream;

/// Turns an inherent `impl` block into a WebSocket endpoint served at a route.
///
/// ```text
/// #[server_endpoint("/websocket/<key>")]                    // or "/websocket/{key}"
/// #[server_endpoint("/room/<room>/<user>", key = "room")]   // pick the pool key
/// ```
///
/// The route template starts with `/`; each path parameter is a whole segment, `<name>` or
/// `{name}`, named like a Rust identifier. The session pool is keyed by the parameter that
/// `key = "..."` names, else by the only or the last parameter; a route without parameters keys
/// every session by the empty string.
///
/// Inside the block, mark at most one method per event: `#[on_open]`, `#[on_message]`,
/// `#[on_close]`, `#[on_error]` (or `#[wsendpoint::on_open]`, ...). A marked method
///
/// - takes `&mut self`, `&self` or no receiver, and may be `async` or not;
/// - takes parameters as plain names: a parameter named exactly like a path parameter (`key`, not
///   `_key`) is bound to it and parsed with `FromStr`, and a value that does not parse is refused
///   with HTTP 400 before the upgrade; any other parameter is provided by its type (`&Session`,
///   the message as `String` or `&str`, `CloseReason`, `wsendpoint::Error`), and a type the event
///   cannot provide is a compile error at that type;
/// - in `#[on_open]` and `#[on_message]`, returns what is sent back (`()`, `String`,
///   `Option<_>`, `Result<_, E: Display>`, ...); in `#[on_close]` and `#[on_error]`, returns `()`;
/// - may carry `#[cfg(...)]`, which is copied onto its generated dispatch and onto the handshake
///   checks of its path parameters (there is still at most one method per event, whatever the
///   `cfg`s).
///
/// The type must implement `Default`: each connection gets its own instance.
///
/// ```
/// use wsendpoint::prelude::*;
/// use wsendpoint::Endpoint;
///
/// #[derive(Default)]
/// struct MiningSocket {
///     key: String,
/// }
///
/// #[server_endpoint("/websocket/<key>")]
/// impl MiningSocket {
///     #[on_open]
///     async fn open(&mut self, session: &Session, key: String) {
///         self.key = key;
///         let _ = session.send_text("started").await;
///     }
///
///     #[on_message]
///     fn command(&mut self, text: &str) -> Option<String> {
///         (text == "status").then(|| format!("mining for {}", self.key))
///     }
///
///     #[on_close]
///     async fn close(&mut self, reason: CloseReason) {}
/// }
///
/// assert_eq!(MiningSocket::CONFIG.route(), "/websocket/{key}");
/// assert_eq!(MiningSocket::CONFIG.key_param(), Some("key"));
/// ```
///
/// Several parameters, Java's `{name}` syntax, an explicit pool key, a typed parameter and a
/// method without receiver:
///
/// ```
/// use wsendpoint::prelude::*;
/// use wsendpoint::Endpoint;
///
/// #[derive(Default)]
/// struct Chat;
///
/// #[server_endpoint("/room/{room}/{user}/{seat}", key = "room")]
/// impl Chat {
///     #[on_open]
///     fn join(user: String, seat: u16) -> String {
///         format!("{user} sits at {seat}")
///     }
/// }
///
/// assert_eq!(Chat::CONFIG.route(), "/room/{room}/{user}/{seat}");
/// assert_eq!(Chat::CONFIG.key_param(), Some("room"));
/// ```
///
/// Every mistake in the arguments, the template or the block is reported in one build, each at
/// its tokens (errors in the template name the offending segment); the block is still emitted, so
/// the rest of the code keeps compiling.
///
/// ```compile_fail
/// # use wsendpoint::prelude::*;
/// # #[derive(Default)] struct Broken;
/// #[server_endpoint("/files/<name>.json")] // a parameter must be a whole segment
/// impl Broken {
///     #[on_open]
///     fn open(self) {} // `self` by value: the handler lives on across events
/// }
/// ```
#[proc_macro_attribute]
pub fn server_endpoint(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::server_endpoint(attr.into(), item.into()).into()
}

/// Marks the method handling a new session. Only meaningful inside `#[server_endpoint]`, which
/// consumes it; anywhere else it is a compile error.
#[proc_macro_attribute]
pub fn on_open(_attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::misplaced_role("on_open", item.into()).into()
}

/// Marks the method handling each text or binary message. Only meaningful inside
/// `#[server_endpoint]`, which consumes it; anywhere else it is a compile error.
#[proc_macro_attribute]
pub fn on_message(_attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::misplaced_role("on_message", item.into()).into()
}

/// Marks the method run once when a session closes. Only meaningful inside
/// `#[server_endpoint]`, which consumes it; anywhere else it is a compile error.
#[proc_macro_attribute]
pub fn on_close(_attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::misplaced_role("on_close", item.into()).into()
}

/// Marks the method told about errors on a session. Only meaningful inside
/// `#[server_endpoint]`, which consumes it; anywhere else it is a compile error.
#[proc_macro_attribute]
pub fn on_error(_attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::misplaced_role("on_error", item.into()).into()
}

//! Procedural macros of [`wsendpoint`](https://docs.rs/wsendpoint): `#[server_endpoint]` and its
//! lifecycle attributes. Depend on `wsendpoint`, which re-exports them; the generated code names
//! the runtime through `::wsendpoint::__private` only.
//!
//! The pipeline lives behind one-line entry points, on `proc_macro2` token streams so it runs in
//! unit tests: the attribute arguments (`args.rs`, with the table of options in `options.rs` and
//! their literals in `units.rs`) and the route template (`template.rs`) are parsed, the `impl`
//! block is viewed as methods with roles (`model.rs`, with what types say in `types.rs`), every
//! misuse is checked (`check.rs`, near misses in `suggest.rs`), then the `Endpoint` impl is
//! generated (`expand.rs`, naming runtime items through `paths.rs`). Every stage records its
//! errors in one accumulator (`ctxt.rs`), so one build reports them all.

mod args;
mod check;
mod ctxt;
mod expand;
mod model;
mod options;
mod paths;
mod suggest;
mod template;
mod types;
mod units;

#[cfg(test)]
mod tests;

use proc_macro::TokenStream;

/// Turns an inherent `impl` block into a WebSocket endpoint served at a route.
///
/// ```text
/// #[server_endpoint("/websocket/<key>")]                    // or "/websocket/{key}"
/// #[server_endpoint("/room/<room>/<user>", key = "room")]   // pick the pool key
/// #[server_endpoint("/feed", allowed_origins = "*", ping_interval = "20s")]
/// ```
///
/// The route template starts with `/`; each path parameter is a whole segment, `<name>` or
/// `{name}`, named like a Rust identifier. The session pool is keyed by the parameter that
/// `key = "..."` names, else by the only or the last parameter; a route without parameters keys
/// every session by the empty string (`#[on_handshake]` can set the key instead).
///
/// # Options
///
/// After the template, in any order, each at most once; an option left out keeps the runtime's
/// default:
///
/// | option | value |
/// |---|---|
/// | `key` | the path parameter that keys the session pool: `"room"` |
/// | `allowed_origins` | `"*"`, or a list of origins `["https://app.example"]` (default: the server's own origin) |
/// | `subprotocols` | the subprotocols spoken, in order of preference: `["v2.json", "v1.json"]` |
/// | `max_message_size` | `"64KiB"` (units B, KB, KiB, MB, MiB) or a number of bytes `65536` |
/// | `ping_interval` | how often the server pings: `"20s"` (units ms, s, m, h) or `"off"` |
/// | `idle_timeout` | how long a client may send nothing before it is closed: `"2m"` or `"off"`; it must be longer than the ping interval |
/// | `send_queue` | the outbound queue's capacity in messages: `256` |
/// | `on_overflow` | `"close"` (1008) or `"drop_newest"`: what a send to a full queue does |
/// | `on_duplicate_key` | `"allow"`, `"replace"` or `"reject"`: what a second session under one key does |
/// | `on_decode_error` | `"report"` or `"close"` (1007): what a `Json<T>` message that does not decode does |
/// | `history` | how long the text sent to each key is kept, so that a client that reconnects recovers what it missed: `"2m"` (default: nothing is kept) |
/// | `history_size` | how many messages `history` keeps per key: `1000` |
///
/// # Methods
///
/// Inside the block, mark the methods: `#[on_handshake]`, `#[on_open]`, `#[on_message]`,
/// `#[on_close]`, `#[on_error]` (or `#[wsendpoint::on_open]`, ...). At most one method per
/// attribute, except `#[on_message]`: one for text (`String`, `&str`, `Json<T>`), one for binary
/// (`Vec<u8>`, `&[u8]`, `Bytes`) and one for pongs (`Pong`); a message runs the first method, in
/// source order, whose parameters all accept its kind. A marked method
///
/// - takes `&mut self`, `&self` or no receiver, and may be `async` or not;
/// - takes parameters bound by name or provided by type: a parameter named exactly like a path
///   parameter (`key`, not `_key`) is bound to it and parsed with `FromStr`, and a value that does
///   not parse is refused with HTTP 400 before the upgrade; any other parameter, whatever its
///   pattern (`Json(command): Json<Command>`, `_: Pong`), is provided by its type (`&Session`,
///   `State<T>`, the message, `CloseReason`, `wsendpoint::Error`), and a type the event cannot
///   provide is a compile error at that type;
/// - in `#[on_open]` and `#[on_message]`, returns what is sent back (`()`, `String`, `Vec<u8>`,
///   `Json<T>`, `Option<_>`, `Result<_, E: Display>`, ...); in `#[on_close]` and `#[on_error]`,
///   returns `()`;
/// - may carry `#[cfg(...)]`, which is copied onto its generated dispatch and onto the handshake
///   checks of its path parameters (the one-method rules hold whatever the `cfg`s).
///
/// `#[on_handshake]` is an associated function (no `self`) run before the upgrade. It takes
/// `&Handshake`, `State<T>` and path parameters, and returns `Self`, `Accept<Self>` (to set the
/// session's pool key) or a `Result` of either with an error convertible into `Reject` (the HTTP
/// status and body the client gets instead). Without it, the type must implement `Default`: each
/// connection gets its own instance.
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
/// assert_eq!(MiningSocket::CONFIG.route, "/websocket/{key}");
/// assert_eq!(MiningSocket::CONFIG.key_param, Some("key"));
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
/// assert_eq!(Chat::CONFIG.route, "/room/{room}/{user}/{seat}");
/// assert_eq!(Chat::CONFIG.key_param, Some("room"));
/// ```
///
/// Options, a handshake that checks a token against shared state, and one method per message
/// kind:
///
/// ```
/// use std::time::Duration;
///
/// use wsendpoint::prelude::*;
/// use wsendpoint::Endpoint;
///
/// #[derive(Clone)]
/// struct Tokens(&'static str);
///
/// struct Upload {
///     bytes: usize,
/// }
///
/// #[server_endpoint(
///     "/upload/<id>",
///     allowed_origins = ["https://app.example"],
///     max_message_size = "1MiB",
///     idle_timeout = "2m",
/// )]
/// impl Upload {
///     #[on_handshake]
///     fn check(handshake: &Handshake, tokens: State<Tokens>, id: u32) -> Result<Self, Reject> {
///         match handshake.query("token") {
///             Some(token) if token == tokens.0 .0 => Ok(Upload { bytes: 0 }),
///             _ => Err(Reject::forbidden(format!("upload {id} needs a token"))),
///         }
///     }
///
///     #[on_message]
///     fn chunk(&mut self, data: Vec<u8>) {
///         self.bytes += data.len();
///     }
///
///     #[on_message]
///     fn status(&mut self, _: &str) -> String {
///         format!("{} bytes", self.bytes)
///     }
/// }
///
/// assert_eq!(Upload::CONFIG.max_message_size, 1 << 20);
/// assert_eq!(Upload::CONFIG.idle_timeout, Some(Duration::from_secs(120)));
/// let hub = Hub::new().with_state(Tokens("s3cret"));
/// # drop(hub);
/// ```
///
/// Every mistake in the arguments, the template or the block is reported in one build, each at
/// its tokens (errors in the template name the offending segment); the block is still emitted, so
/// the rest of the code keeps compiling.
///
/// ```compile_fail
/// # use wsendpoint::prelude::*;
/// # #[derive(Default)] struct Broken;
/// #[server_endpoint("/files/<name>.json", ping_interval = "5 fortnights")]
/// impl Broken {
///     #[on_open]
///     fn open(self) {} // `self` by value: the handler lives on across events
///
///     #[on_message]
///     fn text(&mut self, text: String) {}
///
///     #[on_message]
///     fn also_text(&mut self, text: &str) {} // one text handler per endpoint
/// }
/// ```
#[proc_macro_attribute]
pub fn server_endpoint(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::server_endpoint(attr.into(), item.into()).into()
}

/// Marks the associated function that accepts or refuses a handshake and builds the handler.
/// Only meaningful inside `#[server_endpoint]`, which consumes it; anywhere else it is a compile
/// error.
#[proc_macro_attribute]
pub fn on_handshake(_attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::misplaced_role("on_handshake", item.into()).into()
}

/// Marks the method handling a new session. Only meaningful inside `#[server_endpoint]`, which
/// consumes it; anywhere else it is a compile error.
#[proc_macro_attribute]
pub fn on_open(_attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::misplaced_role("on_open", item.into()).into()
}

/// Marks a method handling messages: one for text, one for binary, one for pongs. Only
/// meaningful inside `#[server_endpoint]`, which consumes it; anywhere else it is a compile
/// error.
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

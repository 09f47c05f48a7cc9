//! What the example servers share, so that each demo's folder holds only what is its own.
//!
//! - [`cli`]: the command line (`--port N`, `--host ADDR`, `--help`), logging, and
//!   [`cli::run`], which serves a demo until Ctrl-C;
//! - [`assets`]: the demo pages' embedded files, the client module and stylesheet they share;
//! - [`http`]: the JSON error body and the 404 fallback;
//! - [`heartbeat`]: the client's ping and the answer to it.
//!
//! A small crate rather than a file each demo includes with `#[path]`: it builds once, the
//! `app.rs` files that the black-box tests compile reach it by name like any dependency, an
//! item one demo does not use is not dead code in that demo, and its tests run once, with
//! `cargo test --workspace`. It is a dev-dependency of the root package, which owns the examples.

pub mod assets;
pub mod cli;
pub mod heartbeat;
pub mod http;

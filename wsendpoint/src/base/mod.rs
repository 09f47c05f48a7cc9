//! The vocabulary every layer speaks: close codes, errors, an endpoint's declared options, the
//! application's shared state, path parameters, JSON, and two small helpers (handler panics as
//! values, locks that shrug off poisoning). Depends on nothing else in the crate.

pub(crate) mod app_state;
pub(crate) mod close;
pub(crate) mod config;
pub(crate) mod error;
pub(crate) mod json;
pub(crate) mod panic;
pub(crate) mod params;
pub(crate) mod sync;

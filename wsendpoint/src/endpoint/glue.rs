//! Functions the code `#[server_endpoint]` generates calls (through `__private`).

use crate::base::app_state::{self, StateMap};
use crate::base::error::Error;
use crate::base::params::{self, FromPathParam, PathParams};

/// Parses the path parameter `name` as `T`: at the handshake (a failure is a 400), and in every
/// event that binds it. One function for both, so a type without `FromStr` is reported once.
pub fn path_param<T: FromPathParam>(params: &PathParams, name: &'static str) -> Result<T, Error> {
    params::parse_param(params, name)
}

/// Checks at the handshake that the hub has a `State<T>` value.
pub fn require_state<T: Clone + Send + Sync + 'static>(state: &StateMap) -> Result<(), Error> {
    app_state::require::<T>(state).map(drop)
}

/// `#[on_close]` and `#[on_error]` methods return nothing; this pins that at their call.
pub fn expect_unit(_: ()) {}

//! The root package of the workspace: it owns `examples/` and `tests/`, and compiles the README's
//! code as doctests so the quick start can never drift from the API.
#![doc = include_str!("../README.md")]

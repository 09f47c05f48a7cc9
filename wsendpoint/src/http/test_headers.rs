//! Header maps for the unit tests of the checks before the upgrade.

use axum::http::{HeaderMap, HeaderName, HeaderValue};

/// A header map of `(name, value)` pairs.
pub(crate) fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(n, v)| (HeaderName::from_static(n), HeaderValue::from_static(v)))
        .collect()
}

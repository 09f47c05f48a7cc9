//! The same-origin check against cross-site WebSocket hijacking, and the endpoint's list of
//! other origins it allows.

use axum::http::{header, HeaderMap};

use crate::base::config::OriginPolicy;
use crate::http::reject::Reject;

/// Allows a handshake without `Origin` (not a browser), from the server's own origin, or from
/// an origin the policy lists.
pub(crate) fn check_origin(policy: OriginPolicy, headers: &HeaderMap) -> Result<(), Reject> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or_default().trim_end_matches('/');
    let allowed = match policy {
        OriginPolicy::Any => true,
        OriginPolicy::SameOrigin => same_origin(origin, headers),
        OriginPolicy::List(list) => {
            same_origin(origin, headers) || list.iter().any(|o| o.eq_ignore_ascii_case(origin))
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(Reject::forbidden(format!(
            "origin {origin:?} is not allowed"
        )))
    }
}

/// Whether `origin` (`scheme://host[:port]`) names the host the request was sent to.
fn same_origin(origin: &str, headers: &HeaderMap) -> bool {
    let Some((_scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .is_some_and(|host| host.eq_ignore_ascii_case(authority))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::test_headers::headers;

    #[test]
    fn same_origin_compares_the_host_header() {
        let ok = headers(&[
            ("host", "127.0.0.1:8090"),
            ("origin", "http://127.0.0.1:8090"),
        ]);
        assert!(check_origin(OriginPolicy::SameOrigin, &ok).is_ok());
        let evil = headers(&[
            ("host", "127.0.0.1:8090"),
            ("origin", "https://evil.example"),
        ]);
        assert!(check_origin(OriginPolicy::SameOrigin, &evil).is_err());
        assert!(check_origin(OriginPolicy::Any, &evil).is_ok());
        let null = headers(&[("host", "a"), ("origin", "null")]);
        assert!(check_origin(OriginPolicy::SameOrigin, &null).is_err());
        assert!(check_origin(OriginPolicy::SameOrigin, &headers(&[("host", "a")])).is_ok());
    }

    #[test]
    fn listed_origins_are_allowed_case_insensitively() {
        let list = OriginPolicy::List(&["https://app.example"]);
        let ok = headers(&[("host", "api.example"), ("origin", "https://APP.example")]);
        assert!(check_origin(list, &ok).is_ok());
        let other = headers(&[
            ("host", "api.example"),
            ("origin", "https://app.example.evil"),
        ]);
        assert!(check_origin(list, &other).is_err());
    }
}

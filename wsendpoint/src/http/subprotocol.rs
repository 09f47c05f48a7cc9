//! Subprotocol negotiation: the endpoint's most preferred protocol that the client offers.

use axum::http::{header, HeaderMap};

use crate::http::reject::Reject;

/// The endpoint's most preferred subprotocol that the client offers. A client offering none is
/// accepted without one; a client offering only others is refused with 400.
pub(crate) fn negotiate(
    supported: &'static [&'static str],
    headers: &HeaderMap,
) -> Result<Option<&'static str>, Reject> {
    let offered: Vec<&str> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if offered.is_empty() || supported.is_empty() {
        return Ok(None);
    }
    supported
        .iter()
        .find(|p| offered.contains(p))
        .map(|p| Some(*p))
        .ok_or_else(|| {
            Reject::bad_request(format!(
                "none of the offered subprotocols {offered:?} is supported; this endpoint speaks {supported:?}"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::test_headers::headers;

    #[test]
    fn subprotocols_follow_the_servers_preference() {
        let offered = headers(&[("sec-websocket-protocol", "v1.json, v2.json")]);
        assert_eq!(
            negotiate(&["v2.json", "v1.json"], &offered),
            Ok(Some("v2.json"))
        );
        assert_eq!(negotiate(&["v1.json"], &offered), Ok(Some("v1.json")));
        assert!(negotiate(&["v3"], &offered).is_err());
        assert_eq!(negotiate(&["v3"], &HeaderMap::new()), Ok(None));
        assert_eq!(negotiate(&[], &offered), Ok(None));
    }
}

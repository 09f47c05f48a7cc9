//! Is this request a WebSocket handshake we can complete (RFC 6455, section 4.2.1), and the 101
//! answer that completes it.

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use hyper::upgrade::OnUpgrade;
use tungstenite::handshake::derive_accept_key;

/// The 101 answer that completes the handshake.
pub(crate) fn switching_protocols(key: &HeaderValue, protocol: Option<&'static str>) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    let accept = derive_accept_key(key.as_bytes());
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    if let Some(protocol) = protocol {
        headers.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(protocol),
        );
    }
    response
}

/// What an HTTP/1.1 WebSocket upgrade request carries (RFC 6455, section 4.2.1).
pub(crate) struct WebSocketRequest {
    pub(crate) key: HeaderValue,
    pub(crate) on_upgrade: OnUpgrade,
}

impl WebSocketRequest {
    /// The upgrade asked for, or why this request cannot be served as one.
    pub(crate) fn from_parts(parts: &mut Parts) -> Result<Self, NotAnUpgrade> {
        let headers = &parts.headers;
        // axum routes HEAD to a GET handler too.
        if parts.method != Method::GET {
            return Err(NotAnUpgrade::Method);
        }
        if parts.version != Version::HTTP_11 {
            return Err(NotAnUpgrade::BadRequest(
                "a WebSocket handshake needs HTTP/1.1",
            ));
        }
        if !has_token(headers, header::CONNECTION, "upgrade") {
            return Err(NotAnUpgrade::BadRequest(
                "not a WebSocket handshake: `Connection` does not include `upgrade`",
            ));
        }
        if !has_token(headers, header::UPGRADE, "websocket") {
            return Err(NotAnUpgrade::BadRequest(
                "not a WebSocket handshake: `Upgrade` is not `websocket`",
            ));
        }
        match headers.get(header::SEC_WEBSOCKET_VERSION) {
            None => {
                return Err(NotAnUpgrade::BadRequest(
                    "`Sec-WebSocket-Version` is missing",
                ))
            }
            Some(version) if version.as_bytes() != b"13" => return Err(NotAnUpgrade::Version),
            Some(_) => {}
        }
        let key = headers
            .get(header::SEC_WEBSOCKET_KEY)
            .cloned()
            .ok_or(NotAnUpgrade::BadRequest("`Sec-WebSocket-Key` is missing"))?;
        if !is_websocket_key(key.as_bytes()) {
            return Err(NotAnUpgrade::BadRequest(
                "`Sec-WebSocket-Key` is not 16 bytes in base64",
            ));
        }
        let on_upgrade = parts
            .extensions
            .remove::<OnUpgrade>()
            .ok_or(NotAnUpgrade::NotUpgradable)?;
        Ok(WebSocketRequest { key, on_upgrade })
    }
}

/// Why a request to an endpoint's route is no handshake we can complete.
pub(crate) enum NotAnUpgrade {
    /// 405: a handshake is a `GET`.
    Method,
    /// 400: not a WebSocket handshake, or a malformed one.
    BadRequest(&'static str),
    /// 426 naming the version we speak (RFC 6455, section 4.4).
    Version,
    /// 426: the server connection cannot be upgraded (hyper has no upgrade for it).
    NotUpgradable,
}

impl IntoResponse for NotAnUpgrade {
    fn into_response(self) -> Response {
        // A 426 names the protocol to upgrade to (RFC 9110, section 15.5.22).
        let upgrade = (header::UPGRADE, "websocket");
        match self {
            NotAnUpgrade::Method => (
                StatusCode::METHOD_NOT_ALLOWED,
                [(header::ALLOW, "GET")],
                "a WebSocket handshake is a GET request",
            )
                .into_response(),
            NotAnUpgrade::BadRequest(body) => (StatusCode::BAD_REQUEST, body).into_response(),
            NotAnUpgrade::Version => (
                StatusCode::UPGRADE_REQUIRED,
                [upgrade, (header::SEC_WEBSOCKET_VERSION, "13")],
                "this server speaks WebSocket version 13",
            )
                .into_response(),
            NotAnUpgrade::NotUpgradable => (
                StatusCode::UPGRADE_REQUIRED,
                [upgrade],
                "this connection cannot be upgraded",
            )
                .into_response(),
        }
    }
}

/// Whether `key` is 16 bytes in base64 (RFC 6455, section 4.1): 22 characters of the base64
/// alphabet, then `==`.
fn is_websocket_key(key: &[u8]) -> bool {
    let is_base64 = |b: &u8| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/';
    key.len() == 24 && key[..22].iter().all(is_base64) && key.ends_with(b"==")
}

/// Whether the comma-separated header `name` lists `token` (any case).
fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

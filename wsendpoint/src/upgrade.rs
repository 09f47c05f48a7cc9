//! The HTTP side of an endpoint: its route, the checks before the upgrade, and the hand-off to
//! the connection driver.
//!
//! A handshake is answered, in order: 503 while the hub shuts down; 405 for a method other than
//! GET; 400 for a request that is no WebSocket upgrade (426 for a WebSocket version other than
//! 13, or a connection that cannot be upgraded); 403 for an origin the endpoint does not allow; 400 for a path
//! or query parameter that does not parse, or for subprotocols of which the endpoint speaks
//! none; 500 when the hub lacks a `State<T>` the endpoint takes; whatever `#[on_handshake]`
//! refuses with; 409 for a second session under a key the endpoint reserves for one. Only then
//! does the client get 101.

use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::FutureExt;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tungstenite::handshake::derive_accept_key;
use tungstenite::protocol::{Role, WebSocketConfig};

use crate::hub::Hub;
use crate::read_ahead::ReadAhead;
use crate::{connection, outbound, Endpoint, Handshake, OriginPolicy, PathParams, Reject, Session};

/// tungstenite's read buffer per connection. Its default (128 KiB, zero-filled on every read)
/// costs ~140 KB per idle connection; reads go through [`ReadAhead`], which takes up to 16 KiB
/// from the socket at once whatever this size, so 1 KiB only means more (cheap) copies out of
/// the read-ahead for a frame larger than that. A larger frame grows the buffer.
const READ_BUFFER_SIZE: usize = 1024;

/// Adds `E`'s route to `router`.
pub(crate) fn mount<E: Endpoint>(router: axum::Router, hub: &Hub) -> axum::Router {
    let hub = hub.clone();
    router.route(
        E::CONFIG.route,
        get(move |request: Request| accept::<E>(hub.clone(), request)),
    )
}

/// Checks the handshake, then upgrades and spawns the connection driver.
async fn accept<E: Endpoint>(hub: Hub, request: Request) -> Response {
    match handshake::<E>(&hub, request).await {
        Ok(response) | Err(response) => response,
    }
}

async fn handshake<E: Endpoint>(hub: &Hub, request: Request) -> Result<Response, Response> {
    let config = E::CONFIG;
    if hub.is_shutting_down() {
        return Err((StatusCode::SERVICE_UNAVAILABLE, "server shutting down").into_response());
    }
    let (mut parts, _body) = request.into_parts();
    let upgrade = WebSocketRequest::from_parts(&mut parts).map_err(IntoResponse::into_response)?;
    check_origin(config.origins, &parts.headers).map_err(IntoResponse::into_response)?;
    let params = if config.params.is_empty() {
        PathParams::default()
    } else {
        PathParams::from_pairs(extract::<Path<Vec<(String, String)>>>(&mut parts).await?.0)
    };
    E::check_params(&params).map_err(|e| Reject::from(e).into_response())?;
    let Query(query) = extract::<Query<Vec<(String, String)>>>(&mut parts).await?;
    let protocol =
        negotiate(config.subprotocols, &parts.headers).map_err(IntoResponse::into_response)?;
    let state = hub.state();
    E::check_state(&state).map_err(|error| {
        tracing::error!(route = config.route, %error, "refusing handshakes");
        Reject::from(error).into_response()
    })?;
    let remote_addr = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    // Copied into a buffer of the session's own: hyper's parsed headers are slices of the
    // connection's whole read buffer (8 KiB or more), which keeping them would pin to every
    // idle connection.
    let handshake = Handshake::new(params, query, &parts.headers, remote_addr, protocol, state);

    let accepted = catch_panic(E::create(&handshake)).await.map_err(|()| {
        tracing::error!(
            route = config.route,
            "creating the endpoint's handler panicked"
        );
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    })?;
    let accept = accepted.map_err(IntoResponse::into_response)?;
    let key: Box<str> = match accept.key {
        Some(key) => key.into(),
        None => config
            .key_param
            .and_then(|name| handshake.param(name))
            .unwrap_or_default()
            .into(),
    };

    let pool = hub.sessions::<E>();
    let (outbound_tx, outbound_rx) = outbound::channel(config.send_queue);
    let session = Session::new(
        hub.next_session_id(),
        key,
        handshake,
        outbound_tx,
        config.overflow,
        pool.clone(),
    );
    // In the pool before the client sees 101, so a push sent as soon as its handshake completes
    // is queued, not lost. If the upgrade never happens, dropping the closure takes it out.
    let membership = pool.enter(&session, config.duplicate_key).map_err(|_| {
        let body = format!(
            "a session under the key {:?} is already open",
            session.key()
        );
        (StatusCode::CONFLICT, body).into_response()
    })?;
    // Counted from the handshake on, so a shutdown waits for connections still upgrading.
    let live = hub.track_connection();
    let shutdown = hub.shutdown_token();
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_SIZE)
        .max_message_size(Some(config.max_message_size))
        .max_frame_size(Some(config.max_message_size));
    let WebSocketRequest { key, on_upgrade } = upgrade;
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            // The client went away before the upgrade: dropping the membership takes the
            // session out of the pool again.
            Err(error) => {
                tracing::debug!(%error, "upgrade failed");
                return;
            }
        };
        let io = ReadAhead::new(TokioIo::new(upgraded));
        let socket = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
        // A task of its own, so this one (and all it holds) ends right here instead of
        // carrying the connection for its lifetime.
        tokio::spawn(connection::run(
            socket,
            accept.handler,
            membership,
            outbound_rx,
            shutdown,
            live,
        ));
    });
    Ok(switching_protocols(&key, protocol))
}

/// The 101 answer that completes the handshake.
fn switching_protocols(key: &HeaderValue, protocol: Option<&'static str>) -> Response {
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
struct WebSocketRequest {
    key: HeaderValue,
    on_upgrade: OnUpgrade,
}

impl WebSocketRequest {
    /// The upgrade asked for, or why this request cannot be served as one.
    fn from_parts(parts: &mut Parts) -> Result<Self, NotAnUpgrade> {
        let headers = &parts.headers;
        // axum routes HEAD to a GET handler too.
        if parts.method != Method::GET {
            return Err(NotAnUpgrade::Method);
        }
        if parts.version != axum::http::Version::HTTP_11 {
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
enum NotAnUpgrade {
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

/// Runs an axum extractor on the request parts; its rejection is the response.
async fn extract<T: FromRequestParts<()>>(parts: &mut Parts) -> Result<T, Response> {
    T::from_request_parts(parts, &())
        .await
        .map_err(IntoResponse::into_response)
}

async fn catch_panic<F: Future>(future: F) -> Result<F::Output, ()> {
    AssertUnwindSafe(future).catch_unwind().await.map_err(drop)
}

/// Allows a handshake without `Origin` (not a browser), from the server's own origin, or from
/// an origin the policy lists.
fn check_origin(policy: OriginPolicy, headers: &HeaderMap) -> Result<(), Reject> {
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

/// The endpoint's most preferred subprotocol that the client offers. A client offering none is
/// accepted without one; a client offering only others is refused with 400.
fn negotiate(
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

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(n, v)| {
                (
                    header::HeaderName::from_static(n),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

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

//! The HTTP side of an endpoint: its route, the checks before the upgrade, and the hand-off to
//! the connection driver.
//!
//! A handshake is answered, in order: 503 while the hub shuts down; axum's 4xx for a request
//! that is no WebSocket upgrade; 403 for an origin the endpoint does not allow; 400 for a path
//! or query parameter that does not parse, or for subprotocols of which the endpoint speaks
//! none; 500 when the hub lacks a `State<T>` the endpoint takes; whatever `#[on_handshake]`
//! refuses with; 409 for a second session under a key the endpoint reserves for one. Only then
//! does the client get 101.

use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::FutureExt;

use crate::hub::Hub;
use crate::{connection, outbound, Endpoint, Handshake, OriginPolicy, PathParams, Reject, Session};

/// Read buffer per connection, and the most read per `read(2)`. tungstenite's default (128 KiB,
/// zero-filled on every read) costs ~140 KB per idle connection. 2 KiB holds a batch of small
/// messages (16 × 64 B frames in one read) and is grown for a larger frame; the price is more
/// reads for large messages (a 64 KiB message takes 32).
const READ_BUFFER_SIZE: usize = 2 * 1024;

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
    let upgrade = extract::<WebSocketUpgrade>(&mut parts).await?;
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
    let handler = accept.handler;
    let upgrade = match protocol {
        Some(protocol) => upgrade.protocols([protocol]),
        None => upgrade,
    };
    Ok(upgrade
        .read_buffer_size(READ_BUFFER_SIZE)
        .max_message_size(config.max_message_size)
        .max_frame_size(config.max_message_size)
        .on_upgrade(move |socket| {
            // A task of its own, so axum's upgrade task (and all it holds) ends right here
            // instead of carrying the connection for its lifetime.
            let connection =
                connection::run(socket, handler, membership, outbound_rx, shutdown, live);
            tokio::spawn(connection);
            std::future::ready(())
        }))
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
                    header::HeaderValue::from_static(v),
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

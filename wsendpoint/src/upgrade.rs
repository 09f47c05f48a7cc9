//! The HTTP side of an endpoint: its route, the checks before the upgrade, and the hand-off to
//! the connection driver.

use axum::extract::rejection::PathRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::mpsc;

use crate::hub::Hub;
use crate::{connection, Endpoint, PathParams, Session};

/// Read buffer per connection. tungstenite's default (128 KiB, zero-filled on every read) costs
/// ~140 KB per idle connection; 4 KiB holds a typical message and is grown when needed.
const READ_BUFFER_SIZE: usize = 4 * 1024;

/// Adds `E`'s route to `router`.
pub(crate) fn mount<E: Endpoint>(router: axum::Router, hub: &Hub) -> axum::Router {
    let hub = hub.clone();
    router.route(
        E::CONFIG.route(),
        get(move |upgrade, path| accept::<E>(hub.clone(), upgrade, path)),
    )
}

/// Checks the handshake, then upgrades and spawns the connection driver.
async fn accept<E: Endpoint>(
    hub: Hub,
    upgrade: WebSocketUpgrade,
    path: Result<Path<Vec<(String, String)>>, PathRejection>,
) -> Response {
    if hub.is_shutting_down() {
        return (StatusCode::SERVICE_UNAVAILABLE, "server shutting down").into_response();
    }
    let params = match path {
        Ok(Path(pairs)) => PathParams::from_pairs(pairs),
        Err(_) if E::CONFIG.params().is_empty() => PathParams::default(),
        Err(rejection) => return rejection.into_response(),
    };
    if let Err(error) = E::check_params(&params) {
        return (StatusCode::BAD_REQUEST, error.to_string()).into_response();
    }
    let key: Box<str> = E::CONFIG
        .key_param()
        .and_then(|name| params.get(name))
        .unwrap_or_default()
        .into();
    let Ok(handler) = std::panic::catch_unwind(E::create) else {
        tracing::error!(
            route = E::CONFIG.route(),
            "creating the endpoint's handler panicked"
        );
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let pool = hub.sessions::<E>();
    let (outbound_tx, outbound_rx) = mpsc::channel(E::CONFIG.send_queue());
    let session = Session::new(hub.next_session_id(), key, params, outbound_tx, pool);
    // In the pool before the client sees 101, so a push sent as soon as its handshake completes
    // is queued, not lost. If the upgrade never happens, dropping the closure takes it out.
    let membership = session.pool().join(&session);
    // Counted from the handshake on, so a shutdown waits for connections still upgrading.
    let live = hub.track_connection();
    let shutdown = hub.shutdown_token();
    upgrade
        .read_buffer_size(READ_BUFFER_SIZE)
        .on_upgrade(move |socket| async move {
            connection::run(socket, handler, membership, outbound_rx, shutdown).await;
            drop(live);
        })
}

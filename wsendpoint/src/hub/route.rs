//! An endpoint's route, and the accept flow behind it: the checks before the upgrade, the
//! handler and session of the new connection, and the hand-off to the connection layer.
//!
//! A handshake is answered, in order: 503 while the hub shuts down; 405 for a method other than
//! GET; 400 for a request that is no WebSocket upgrade (426 for a WebSocket version other than
//! 13, or a connection that cannot be upgraded); 403 for an origin the endpoint does not allow;
//! 400 for a path or query parameter that does not parse, or for subprotocols of which the
//! endpoint speaks none; 500 when the hub lacks a `State<T>` the endpoint takes; whatever
//! `#[on_handshake]` refuses with; 409 for a second session under a key the endpoint reserves
//! for one. Only then does the client get 101.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::oneshot;

use crate::base::config::{DuplicateKey, EndpointConfig};
use crate::base::panic::catch_panic;
use crate::base::params::PathParams;
use crate::connection::driver::{self, Connection};
use crate::connection::outbound::{self, Receiver, Sender};
use crate::endpoint::accept::Accept;
use crate::endpoint::dispatch::Dispatch;
use crate::endpoint::handler::Endpoint;
use crate::http::handshake::Handshake;
use crate::http::origin::check_origin;
use crate::http::reject::Reject;
use crate::http::request::{switching_protocols, WebSocketRequest};
use crate::http::subprotocol::negotiate;
use crate::hub::context::Context;
use crate::pool::history::wire::{BadPosition, Position, RESUME_QUERY};
use crate::pool::membership::Membership;
use crate::pool::session::Session;

/// Adds `E`'s route to `router`.
pub(crate) fn mount<E: Endpoint>(router: axum::Router, context: &Arc<Context>) -> axum::Router {
    let context = context.clone();
    router.route(
        E::CONFIG.route,
        get(move |request: Request| accept::<E>(context.clone(), request)),
    )
}

/// Answers a handshake: 101 and a running connection, or the refusal.
async fn accept<E: Endpoint>(context: Arc<Context>, request: Request) -> Response {
    match handshake::<E>(&context, request).await {
        Ok(response) | Err(response) => response,
    }
}

async fn handshake<E: Endpoint>(context: &Context, request: Request) -> Result<Response, Response> {
    if context.is_shutting_down() {
        return Err((StatusCode::SERVICE_UNAVAILABLE, "server shutting down").into_response());
    }
    let (mut parts, _body) = request.into_parts();
    let upgrade = WebSocketRequest::from_parts(&mut parts).map_err(IntoResponse::into_response)?;
    let handshake = view::<E>(context, &mut parts).await?;
    let protocol = handshake.protocol();
    let accept = create::<E>(&handshake).await?;
    let (opened, subscribed) =
        open_session::<E>(context, handshake, accept.key).map_err(IntoResponse::into_response)?;
    join_cluster::<E>(context, &opened.0, subscribed)
        .await
        .map_err(IntoResponse::into_response)?;
    let (membership, sender, receiver) = opened;
    let connection = Connection {
        handler: Dispatch::new(accept.handler, membership),
        sender,
        receiver,
        shutdown: context.shutdown_token(),
        live: context.track_connection(),
    };
    driver::spawn(upgrade.on_upgrade, connection);
    Ok(switching_protocols(&upgrade.key, protocol))
}

/// Checks what the request asks for (origin, parameters, subprotocols, the state the endpoint
/// takes), and builds the handshake as handlers see it.
async fn view<E: Endpoint>(context: &Context, parts: &mut Parts) -> Result<Handshake, Response> {
    let config = E::CONFIG;
    check_origin(config.origins, &parts.headers).map_err(IntoResponse::into_response)?;
    let params = if config.params.is_empty() {
        PathParams::default()
    } else {
        PathParams::from_pairs(extract::<Path<Vec<(String, String)>>>(parts).await?.0)
    };
    E::check_params(&params).map_err(|e| Reject::from(e).into_response())?;
    let Query(query) = extract::<Query<Vec<(String, String)>>>(parts).await?;
    let protocol =
        negotiate(config.subprotocols, &parts.headers).map_err(IntoResponse::into_response)?;
    let state = context.state();
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
    let headers = &parts.headers;
    Ok(Handshake::new(
        params,
        query,
        headers,
        remote_addr,
        protocol,
        state,
    ))
}

/// The endpoint's verdict: `#[on_handshake]`, or a `Default` instance.
async fn create<E: Endpoint>(handshake: &Handshake) -> Result<Accept<E>, Response> {
    let created = catch_panic(E::create(handshake)).await.map_err(|_| {
        let route = E::CONFIG.route;
        tracing::error!(route, "creating the endpoint's handler panicked");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    })?;
    created.map_err(IntoResponse::into_response)
}

/// The new session, in its pool before the client sees 101 so that a push sent as soon as its
/// handshake completes is queued, not lost. If the upgrade never happens, dropping the
/// membership takes it out again.
fn open_session<E: Endpoint>(
    context: &Context,
    handshake: Handshake,
    chosen_key: Option<String>,
) -> Result<(Opened, Option<oneshot::Receiver<()>>), Reject> {
    let config = E::CONFIG;
    let key: Box<str> = match chosen_key {
        Some(key) => key.into(),
        None => config
            .key_param
            .and_then(|name| handshake.param(name))
            .unwrap_or_default()
            .into(),
    };
    let resume = resume_from(&handshake, config)?;
    let pool = context.pool::<E>();
    let (sender, receiver) = outbound::channel(config.send_queue);
    let id = context.next_session_id();
    let session = Session::new(
        id,
        key,
        handshake,
        sender.clone(),
        config.overflow,
        pool.members().clone(),
    );
    let (membership, subscribed) = pool
        .enter(&session, resume.as_ref())
        .map_err(|_| key_taken(session.key()))?;
    Ok(((membership, sender, receiver), subscribed))
}

/// The position a reconnecting client resumes from (`?ws_since=<epoch>:<offset>`), on an
/// endpoint with history; a value that is no position is a 400. Without history the parameter
/// is ignored, so a client that kept a position across a deploy that turned history off still
/// connects.
fn resume_from(handshake: &Handshake, config: EndpointConfig) -> Result<Option<Position>, Reject> {
    if config.history.is_none() {
        return Ok(None);
    }
    let Some(text) = handshake.query(RESUME_QUERY) else {
        return Ok(None);
    };
    text.parse().map(Some).map_err(|error: BadPosition| {
        Reject::new(StatusCode::BAD_REQUEST, format!("{RESUME_QUERY}: {error}"))
    })
}

/// A new session's place in its pool, and both ends of its outbound queue.
type Opened = (Membership, Sender, Receiver);

/// In a cluster: claims the key across nodes when the endpoint reserves a key for one session,
/// and waits (at most the backplane's timeout) until this node receives what other nodes send
/// to the key, so that a push from another node right after the 101 is not lost either; then,
/// with a history the backplane keeps, has it read for the session. The broker being
/// unreachable refuses nobody: the session is then served as on one node.
async fn join_cluster<E: Endpoint>(
    context: &Context,
    membership: &Membership,
    subscribed: Option<oneshot::Receiver<()>>,
) -> Result<(), Reject> {
    let pool = context.pool::<E>();
    let Some(link) = pool.members().link() else {
        return Ok(());
    };
    let session = membership.session();
    if E::CONFIG.duplicate_key == DuplicateKey::Reject {
        if let Ok(false) = link.claim(session.key()).await {
            return Err(key_taken(session.key()));
        }
    }
    if let Some(subscribed) = subscribed {
        let _ = tokio::time::timeout(link.command_timeout(), subscribed).await;
    }
    if pool.members().shared_history().is_some() {
        // Once subscribed: what is recorded after the read arrives on the subscription.
        link.fill_in(session.key());
    }
    Ok(())
}

/// The 409 of a key reserved for one session.
fn key_taken(key: &str) -> Reject {
    let body = format!("a session under the key {key:?} is already open");
    Reject::new(StatusCode::CONFLICT, body)
}

/// Runs an axum extractor on the request parts; its rejection is the response.
async fn extract<T: FromRequestParts<()>>(parts: &mut Parts) -> Result<T, Response> {
    T::from_request_parts(parts, &())
        .await
        .map_err(IntoResponse::into_response)
}

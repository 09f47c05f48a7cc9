//! [`Session`]: the handle of one live connection, cheap to clone and to keep.

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::body::Bytes;
use axum::http::Extensions;
use serde::Serialize;
use tokio::sync::Notify;

use crate::outbound::{self, Refused};
use crate::{
    CloseCode, CloseReason, Error, Handshake, Message, Overflow, PathParams, SendError, SessionPool,
};

/// How a close requested on a session proceeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseStyle {
    /// Send what is queued, then the close frame, and wait for the peer's answer.
    Graceful,
    /// Drop what is queued, send the close frame, and wait for the peer's answer (a replaced
    /// session, a handler error).
    Immediate,
    /// Drop what is queued, try the close frame, and do not wait: the peer is not reading (a
    /// slow consumer).
    Abort,
}

/// A session's id, unique within its [`Hub`](crate::Hub).
///
/// ```
/// # async fn demo(session: &wsendpoint::Session) {
/// let id = session.id();
/// println!("session {id} (= {})", id.as_u64());
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub(crate) u64);

impl SessionId {
    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One open WebSocket connection: its id, pool key, handshake, groups, properties and outbound
/// queue.
///
/// Clone it freely (it is an `Arc`) to push from other tasks. Sends go through a bounded queue
/// that a writer drains:
///
/// - `send_*().await` waits while the queue is full, and fails with [`SendError::Closed`] as soon
///   as the session closes;
/// - `try_send_*` never waits: a full queue is [`SendError::Full`];
/// - sends through the [pool](SessionPool) never wait either: a full queue applies the
///   endpoint's overflow policy (close the slow consumer with 1008, or drop the message).
///
/// ```
/// use wsendpoint::prelude::*;
///
/// #[derive(Clone)]
/// struct UserId(u64);
///
/// #[derive(Default)]
/// struct Room;
///
/// #[server_endpoint("/room/<name>")]
/// impl Room {
///     #[on_open]
///     async fn open(&mut self, session: &Session) {
///         assert_eq!(session.param("name"), Some(session.key()));
///         session.insert(UserId(7));
///         session.join("lobby");
///         let _ = session.send_text("welcome").await;
///         let _ = session.try_send_json(&serde_json::json!({ "users": session.pool().len() }));
///     }
///
///     #[on_message]
///     fn message(&mut self, session: &Session, text: &str) -> String {
///         let user = session.get::<UserId>().map_or(0, |u| u.0);
///         format!("{user}: {text}")
///     }
/// }
/// ```
#[derive(Clone)]
pub struct Session {
    inner: Arc<SessionInner>,
}

struct SessionInner {
    id: SessionId,
    key: Box<str>,
    handshake: Handshake,
    outbound: outbound::Sender,
    overflow: Overflow,
    pool: SessionPool,
    open: AtomicBool,
    /// A close asked for and not yet taken by the connection.
    close_request: Mutex<Option<(CloseReason, CloseStyle)>>,
    close_requested: Notify,
    /// Wakes senders waiting on a full queue when the session closes.
    closed: Notify,
    properties: Mutex<Extensions>,
    groups: Mutex<Vec<Box<str>>>,
}

impl Session {
    pub(crate) fn new(
        id: SessionId,
        key: Box<str>,
        handshake: Handshake,
        outbound: outbound::Sender,
        overflow: Overflow,
        pool: SessionPool,
    ) -> Self {
        Session {
            inner: Arc::new(SessionInner {
                id,
                key,
                handshake,
                outbound,
                overflow,
                pool,
                open: AtomicBool::new(true),
                close_request: Mutex::new(None),
                close_requested: Notify::new(),
                closed: Notify::new(),
                properties: Mutex::new(Extensions::new()),
                groups: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The id, unique within the hub.
    pub fn id(&self) -> SessionId {
        self.inner.id
    }

    /// The pool key: the value of the endpoint's key path parameter (`""` if it has none), or
    /// the key `#[on_handshake]` chose.
    pub fn key(&self) -> &str {
        &self.inner.key
    }

    /// The handshake request: path and query parameters, headers, origin, remote address.
    pub fn handshake(&self) -> &Handshake {
        &self.inner.handshake
    }

    /// The raw (percent-decoded) value of the path parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.inner.handshake.param(name)
    }

    /// All path parameters.
    pub fn params(&self) -> &PathParams {
        self.inner.handshake.params()
    }

    /// The first value of the query parameter `name` of the handshake URL.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.inner.handshake.query(name)
    }

    /// The value of the handshake header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.inner.handshake.header(name)
    }

    /// The negotiated subprotocol, if the endpoint declares any.
    pub fn protocol(&self) -> Option<&'static str> {
        self.inner.handshake.protocol()
    }

    /// The peer's address, if the server knows it.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.inner.handshake.remote_addr()
    }

    /// A clone of the hub's state value of type `T`.
    pub fn state<T: Clone + Send + Sync + 'static>(&self) -> Result<T, Error> {
        crate::state::require(self.inner.handshake.state_map())
    }

    /// The pool of the endpoint this session belongs to, to reach other sessions.
    pub fn pool(&self) -> &SessionPool {
        &self.inner.pool
    }

    /// Whether the session still accepts messages: false once a close was requested or the
    /// connection ended.
    pub fn is_open(&self) -> bool {
        self.inner.open.load(Ordering::Acquire)
    }

    /// Stores a typed property on the session, returning the previous value of that type.
    pub fn insert<T: Clone + Send + Sync + 'static>(&self, value: T) -> Option<T> {
        self.properties().insert(value)
    }

    /// A clone of the property of type `T`.
    pub fn get<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.properties().get::<T>().cloned()
    }

    /// Removes and returns the property of type `T`.
    pub fn remove<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.properties().remove::<T>()
    }

    /// Joins `group` (a room) of the endpoint's pool; false if already in it or closed.
    pub fn join(&self, group: impl Into<String>) -> bool {
        self.inner
            .pool
            .join_group(self, group.into().into_boxed_str())
    }

    /// Leaves `group`; false if not in it.
    pub fn leave(&self, group: &str) -> bool {
        self.inner.pool.leave_group(self, group)
    }

    /// The groups the session is in, in the order it joined them.
    pub fn groups(&self) -> Vec<String> {
        lock(&self.inner.groups)
            .iter()
            .map(|g| g.to_string())
            .collect()
    }

    /// Queues a text message; waits while the queue is full.
    ///
    /// # Cancel safety
    /// Cancelling the future drops the message; nothing else is lost.
    pub async fn send_text(&self, text: impl Into<String>) -> Result<(), SendError> {
        self.send(Message::Text(text.into().into())).await
    }

    /// Queues a binary message; waits while the queue is full.
    pub async fn send_binary(&self, data: impl Into<Bytes>) -> Result<(), SendError> {
        self.send(Message::Binary(data.into())).await
    }

    /// Queues `value` encoded as a JSON text message; waits while the queue is full.
    pub async fn send_json<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), SendError> {
        self.send(crate::json::message(value)?).await
    }

    /// Queues a ping; the client's pong reaches a `#[on_message]` method taking `Pong`.
    pub async fn ping(&self, payload: impl Into<Bytes>) -> Result<(), SendError> {
        self.send(Message::Ping(payload.into())).await
    }

    /// Queues any message; waits while the queue is full, and fails as soon as the session
    /// closes.
    pub async fn send(&self, message: Message) -> Result<(), SendError> {
        if !self.is_open() {
            return Err(SendError::Closed);
        }
        // Fast path: room in the queue, no waiting (and no waiter registration).
        let message = match self.inner.outbound.try_send_back(message) {
            Ok(()) => return Ok(()),
            Err((Refused::Closed, _)) => return Err(SendError::Closed),
            Err((Refused::Full, back)) => back,
        };
        tokio::select! {
            sent = self.inner.outbound.send(message) => sent.map_err(|_| SendError::Closed),
            () = self.wait_closed() => Err(SendError::Closed),
        }
    }

    /// Queues a text message if the queue has room.
    pub fn try_send_text(&self, text: impl Into<String>) -> Result<(), SendError> {
        self.try_send(Message::Text(text.into().into()))
    }

    /// Queues a binary message if the queue has room.
    pub fn try_send_binary(&self, data: impl Into<Bytes>) -> Result<(), SendError> {
        self.try_send(Message::Binary(data.into()))
    }

    /// Queues `value` as JSON text if the queue has room.
    pub fn try_send_json<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), SendError> {
        self.try_send(crate::json::message(value)?)
    }

    /// Queues any message if the queue has room: never waits.
    pub fn try_send(&self, message: Message) -> Result<(), SendError> {
        if !self.is_open() {
            return Err(SendError::Closed);
        }
        self.inner
            .outbound
            .try_send(message)
            .map_err(|refused| match refused {
                Refused::Full => SendError::Full,
                Refused::Closed => SendError::Closed,
            })
    }

    /// A pool send: never waits; a full queue applies the endpoint's overflow policy.
    pub(crate) fn push(&self, message: Message) -> Result<(), SendError> {
        let sent = self.try_send(message);
        if sent == Err(SendError::Full) && self.inner.overflow == Overflow::Close {
            tracing::debug!(session = %self.id(), "send queue full: closing the slow consumer");
            let reason = CloseReason::new(CloseCode::ViolatedPolicy, "send queue full");
            self.request_close(reason, CloseStyle::Abort);
        }
        sent
    }

    /// Queues a handler's reply: unlike [`send`](Self::send) it is accepted after the handler
    /// asked to close, so the reply still goes out before the close frame.
    pub(crate) async fn send_reply(&self, message: Message) -> Result<(), SendError> {
        self.inner
            .outbound
            .send(message)
            .await
            .map_err(|_| SendError::Closed)
    }

    /// Closes the session with `reason`: messages already queued are sent first, then the close
    /// frame; `#[on_close]` runs once the close handshake ends. Later calls do nothing.
    pub fn close(&self, reason: CloseReason) {
        self.request_close(reason, CloseStyle::Graceful);
    }

    pub(crate) fn request_close(&self, reason: CloseReason, style: CloseStyle) {
        let mut request = lock(&self.inner.close_request);
        if request.is_none() && self.is_open() {
            *request = Some((reason, style));
            self.mark_closed();
            self.inner.close_requested.notify_one();
        }
    }

    /// Ends the outbound queue: see [`outbound::Sender::end`].
    pub(crate) fn end_outbound(&self, last: Option<Message>, drain: bool) {
        self.inner.outbound.end(last, drain);
    }

    /// Waits until a close is requested, and takes its reason and style.
    pub(crate) async fn close_requested(&self) -> (CloseReason, CloseStyle) {
        loop {
            if let Some(request) = lock(&self.inner.close_request).take() {
                return request;
            }
            self.inner.close_requested.notified().await;
        }
    }

    /// Marks the session closed: sends fail from now on, and waiting senders wake.
    pub(crate) fn mark_closed(&self) {
        self.inner.open.store(false, Ordering::Release);
        self.inner.closed.notify_waiters();
    }

    async fn wait_closed(&self) {
        loop {
            let closed = self.inner.closed.notified();
            tokio::pin!(closed);
            closed.as_mut().enable();
            if !self.is_open() {
                return;
            }
            closed.await;
        }
    }

    /// The groups list, for the pool's bookkeeping.
    pub(crate) fn group_list(&self) -> MutexGuard<'_, Vec<Box<str>>> {
        lock(&self.inner.groups)
    }

    /// Whether two handles are the same session.
    pub(crate) fn same(&self, other: &Session) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    fn properties(&self) -> MutexGuard<'_, Extensions> {
        lock(&self.inner.properties)
    }
}

/// Locks a mutex that guards plain data: a panic elsewhere cannot leave it inconsistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.inner.id)
            .field("key", &self.inner.key)
            .field("open", &self.is_open())
            .finish_non_exhaustive()
    }
}

//! [`Session`]: the handle of one live connection, cheap to clone and to keep.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use axum::body::Bytes;
use axum::http::Extensions;
use serde::Serialize;
use tungstenite::Message;

use crate::base::app_state;
use crate::base::close::{CloseCode, CloseReason};
use crate::base::config::Overflow;
use crate::base::error::{Error, SendError};
use crate::base::json;
use crate::base::params::PathParams;
use crate::base::sync::lock;
use crate::connection::outbound::{Refused, Sender, Tag};
use crate::connection::state::Flush;
use crate::http::handshake::Handshake;
use crate::pool::history::cursor::Cursor;
use crate::pool::members::{Member, Members};

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
/// - sends through the [pool](crate::SessionPool) never wait either: a full queue applies the
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
    /// The outbound queue, and the connection's control: whether it is open, how to close it.
    outbound: Sender,
    overflow: Overflow,
    /// The index of the endpoint's sessions: see [`Session::pool`].
    members: Arc<Members<Session>>,
    properties: Mutex<Extensions>,
    groups: Mutex<Vec<Box<str>>>,
    /// Where it stands in its key's history, when that history is the backplane's.
    cursor: OnceLock<Box<Mutex<Cursor>>>,
}

impl Session {
    pub(crate) fn new(
        id: SessionId,
        key: Box<str>,
        handshake: Handshake,
        outbound: Sender,
        overflow: Overflow,
        members: Arc<Members<Session>>,
    ) -> Self {
        Session {
            inner: Arc::new(SessionInner {
                id,
                key,
                handshake,
                outbound,
                overflow,
                members,
                properties: Mutex::new(Extensions::new()),
                groups: Mutex::new(Vec::new()),
                cursor: OnceLock::new(),
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
        app_state::require(self.inner.handshake.state_map())
    }

    /// Whether the session still accepts messages: false once a close was requested or the
    /// connection ended.
    pub fn is_open(&self) -> bool {
        self.inner.outbound.control().is_open()
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
        let group = group.into().into_boxed_str();
        self.inner.members.join(self, group)
    }

    /// Leaves `group`; false if not in it.
    pub fn leave(&self, group: &str) -> bool {
        self.inner.members.leave(self, group)
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
        self.send(json::message(value)?).await
    }

    /// Queues a ping; the client's pong reaches a `#[on_message]` method taking `Pong`.
    pub async fn ping(&self, payload: impl Into<Bytes>) -> Result<(), SendError> {
        self.send(Message::Ping(payload.into())).await
    }

    /// Queues any message; waits while the queue is full, and fails as soon as the session
    /// closes.
    ///
    /// # Cancel safety
    /// Cancelling the future drops the message; nothing else is lost.
    pub async fn send(&self, message: Message) -> Result<(), SendError> {
        self.inner.outbound.send(message).await.map_err(send_error)
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
        self.try_send(json::message(value)?)
    }

    /// Queues any message if the queue has room: never waits.
    pub fn try_send(&self, message: Message) -> Result<(), SendError> {
        self.inner.outbound.try_send(message).map_err(send_error)
    }

    /// Queues `message` as the latest value of `tag`: it takes the place of the message with
    /// the same tag that is still queued, if any, so a slow reader gets the newest value and
    /// never a backlog of stale ones. Never waits, and never fails for a full queue: it adds
    /// at most one message per tag. See [`SessionPool::send_latest`](crate::SessionPool::send_latest).
    ///
    /// # Errors
    /// [`SendError::Closed`] once the session is closing.
    pub fn send_latest(&self, tag: &str, message: Message) -> Result<(), SendError> {
        self.push(message, Some(&Tag::from(tag)))
    }

    /// [`send_latest`](Self::send_latest) of `value` as JSON text.
    ///
    /// # Errors
    /// As [`send_latest`](Self::send_latest), or the value did not encode.
    pub fn send_latest_json<T: Serialize + ?Sized>(
        &self,
        tag: &str,
        value: &T,
    ) -> Result<(), SendError> {
        self.send_latest(tag, json::message(value)?)
    }

    /// A pool send (the latest value of `latest` if set): never waits; a full queue applies
    /// the endpoint's overflow policy.
    pub(crate) fn push(&self, message: Message, latest: Option<&Tag>) -> Result<(), SendError> {
        let sent = match latest {
            Some(tag) => self.inner.outbound.try_send_latest(tag, message),
            None => self.inner.outbound.try_send(message),
        };
        self.overflowed(sent.map_err(send_error), self.inner.overflow)
    }

    /// Closes the slow consumer if `sent` found its queue full and `overflow` says so.
    fn overflowed(&self, sent: Result<(), SendError>, overflow: Overflow) -> Result<(), SendError> {
        if sent == Err(SendError::Full) && overflow == Overflow::Close {
            tracing::debug!(session = %self.id(), "send queue full: closing the slow consumer");
            let reason = CloseReason::new(CloseCode::ViolatedPolicy, "send queue full");
            // Its queue is full because it does not read: what is queued cannot go out.
            self.request_close(reason, Flush::Nothing);
        }
        sent
    }

    /// Closes the session with `reason`: messages already queued are sent first, then the close
    /// frame; `#[on_close]` runs once the close handshake ends. Later calls do nothing.
    pub fn close(&self, reason: CloseReason) {
        self.request_close(reason, Flush::Queued);
    }

    /// Asks the connection to close; the first close asked for is the one carried out.
    pub(crate) fn request_close(&self, reason: CloseReason, flush: Flush) {
        self.inner.outbound.request_close(reason, flush);
    }

    /// The index of the endpoint's sessions that this one is in.
    pub(crate) fn members(&self) -> &Arc<Members<Session>> {
        &self.inner.members
    }

    fn properties(&self) -> MutexGuard<'_, Extensions> {
        lock(&self.inner.properties)
    }
}

impl Member for Session {
    fn push(&self, message: Message, latest: Option<&Tag>) -> Result<(), SendError> {
        Session::push(self, message, latest)
    }

    fn push_recorded(&self, message: Message) -> Result<(), SendError> {
        let sent = self.inner.outbound.try_send(message).map_err(send_error);
        self.overflowed(sent, Overflow::Close)
    }

    fn cursor(&self) -> Option<MutexGuard<'_, Cursor>> {
        self.inner.cursor.get().map(|cursor| lock(cursor))
    }

    fn start_cursor(&self, cursor: Cursor) {
        let _ = self.inner.cursor.set(Box::new(Mutex::new(cursor)));
    }

    fn push_resume(&self, frames: Vec<Message>) {
        // Refused only by a queue that ended: the session is gone, and so is what it missed.
        let _ = self.inner.outbound.send_past_capacity(frames);
    }

    fn close(&self, reason: CloseReason) {
        Session::close(self, reason);
    }

    fn key(&self) -> &str {
        &self.inner.key
    }

    fn is(&self, other: &Session) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    fn is_open(&self) -> bool {
        Session::is_open(self)
    }

    fn groups(&self) -> MutexGuard<'_, Vec<Box<str>>> {
        lock(&self.inner.groups)
    }
}

/// What a refused message means to the sender.
fn send_error(refused: Refused) -> SendError {
    match refused {
        Refused::Full => SendError::Full,
        Refused::Closed => SendError::Closed,
    }
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

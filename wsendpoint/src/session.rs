//! [`Session`]: the handle of one live connection, cheap to clone and to keep.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{mpsc, Notify};

use crate::{CloseReason, Message, PathParams, SendError, SessionPool};

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

/// One open WebSocket connection: its id, pool key, path parameters and outbound queue.
///
/// Clone it freely (it is an `Arc`) to push from other tasks; sends after the session closed
/// fail with [`SendError::Closed`] and never block.
///
/// ```
/// use wsendpoint::prelude::*;
///
/// #[derive(Default)]
/// struct Room;
///
/// #[server_endpoint("/room/<name>")]
/// impl Room {
///     #[on_open]
///     async fn open(&mut self, session: &Session) {
///         assert_eq!(session.param("name"), Some(session.key()));
///         let _ = session.send_text("welcome").await;
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
    params: PathParams,
    outbound: mpsc::Sender<Message>,
    pool: SessionPool,
    open: AtomicBool,
    close_request: Mutex<Option<CloseReason>>,
    close_requested: Notify,
}

impl Session {
    pub(crate) fn new(
        id: SessionId,
        key: Box<str>,
        params: PathParams,
        outbound: mpsc::Sender<Message>,
        pool: SessionPool,
    ) -> Self {
        Session {
            inner: Arc::new(SessionInner {
                id,
                key,
                params,
                outbound,
                pool,
                open: AtomicBool::new(true),
                close_request: Mutex::new(None),
                close_requested: Notify::new(),
            }),
        }
    }

    /// The id, unique within the hub.
    pub fn id(&self) -> SessionId {
        self.inner.id
    }

    /// The pool key: the value of the endpoint's key path parameter (`""` if it has none).
    pub fn key(&self) -> &str {
        &self.inner.key
    }

    /// The raw (percent-decoded) value of the path parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.inner.params.get(name)
    }

    /// All path parameters.
    pub fn params(&self) -> &PathParams {
        &self.inner.params
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

    /// Queues a text message; waits while the session's outbound queue is full.
    ///
    /// # Cancel safety
    /// Cancelling the future drops the message; nothing else is lost.
    pub async fn send_text(&self, text: impl Into<String>) -> Result<(), SendError> {
        self.send(Message::Text(text.into().into())).await
    }

    /// Queues any message (text, binary, ping); waits while the outbound queue is full.
    pub async fn send(&self, message: Message) -> Result<(), SendError> {
        if !self.is_open() {
            return Err(SendError::Closed);
        }
        self.inner
            .outbound
            .send(message)
            .await
            .map_err(|_| SendError::Closed)
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
        let mut request = self
            .inner
            .close_request
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if request.is_none() && self.is_open() {
            *request = Some(reason);
            self.inner.open.store(false, Ordering::Release);
            self.inner.close_requested.notify_one();
        }
    }

    /// Waits until [`close`](Self::close) is called, and takes its reason.
    pub(crate) async fn close_requested(&self) -> CloseReason {
        loop {
            if let Some(reason) = self
                .inner
                .close_request
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
            {
                return reason;
            }
            self.inner.close_requested.notified().await;
        }
    }

    /// Marks the session closed once its connection is gone.
    pub(crate) fn mark_closed(&self) {
        self.inner.open.store(false, Ordering::Release);
    }

    /// Whether two handles are the same session.
    pub(crate) fn same(&self, other: &Session) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
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

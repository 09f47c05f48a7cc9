//! [`SessionPool`]: the live sessions of one endpoint, by pool key.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use crate::{Message, Session};

/// The live sessions of one endpoint, addressed by pool key.
///
/// Several sessions may share a key (a user with two tabs): a send to the key reaches all of
/// them. A session is in the pool before `#[on_open]` runs and out of it before `#[on_close]`
/// runs. Reach it from anywhere with [`Hub::sessions`](crate::Hub::sessions), or from a handler
/// with [`Session::pool`].
///
/// ```
/// use wsendpoint::prelude::*;
///
/// #[derive(Default)]
/// struct Jobs;
///
/// #[server_endpoint("/jobs/<user>")]
/// impl Jobs {}
///
/// # async fn demo() {
/// let hub = Hub::new();
/// let pool = hub.sessions::<Jobs>();
/// let reached = pool.send_text("ada", "job 7: 40% done").await;
/// assert_eq!(reached, 0); // nobody connected as "ada" yet
/// assert!(pool.is_empty());
/// # }
/// ```
#[derive(Clone)]
pub struct SessionPool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    route: &'static str,
    by_key: RwLock<HashMap<Box<str>, Vec<Session>>>,
    len: AtomicUsize,
}

/// Whom a send addresses: the one seam every pool send goes through, so that a backplane can
/// later carry the same sends to sessions held by other server processes.
enum Target<'a> {
    Key(&'a str),
    All,
}

impl SessionPool {
    pub(crate) fn new(route: &'static str) -> Self {
        SessionPool {
            inner: Arc::new(PoolInner {
                route,
                by_key: RwLock::new(HashMap::new()),
                len: AtomicUsize::new(0),
            }),
        }
    }

    /// The route of the endpoint this pool belongs to.
    pub fn route(&self) -> &'static str {
        self.inner.route
    }

    /// Sends `text` to every session under `key`; returns how many it reached.
    pub async fn send_text(&self, key: &str, text: impl Into<String>) -> usize {
        self.deliver(Target::Key(key), Message::Text(text.into().into()))
            .await
    }

    /// Sends `message` to every session under `key`; returns how many it reached.
    pub async fn send(&self, key: &str, message: Message) -> usize {
        self.deliver(Target::Key(key), message).await
    }

    /// Sends `text` to every session of the endpoint; returns how many it reached.
    pub async fn broadcast_text(&self, text: impl Into<String>) -> usize {
        self.deliver(Target::All, Message::Text(text.into().into()))
            .await
    }

    /// Sends `message` to every session of the endpoint; returns how many it reached.
    pub async fn broadcast(&self, message: Message) -> usize {
        self.deliver(Target::All, message).await
    }

    /// Number of live sessions.
    pub fn len(&self) -> usize {
        self.inner.len.load(Ordering::Acquire)
    }

    /// Whether no session is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether at least one session is live under `key`.
    pub fn contains(&self, key: &str) -> bool {
        self.read(|map| map.contains_key(key))
    }

    /// The keys that have at least one live session, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.read(|map| map.keys().map(|k| k.to_string()).collect());
        keys.sort_unstable();
        keys
    }

    /// The live sessions under `key`.
    pub fn sessions(&self, key: &str) -> Vec<Session> {
        self.read(|map| map.get(key).cloned().unwrap_or_default())
    }

    async fn deliver(&self, target: Target<'_>, message: Message) -> usize {
        let sessions: Vec<Session> = match target {
            Target::Key(key) => self.sessions(key),
            Target::All => self.read(|map| map.values().flatten().cloned().collect()),
        };
        let mut reached = 0;
        for session in sessions {
            if session.send(message.clone()).await.is_ok() {
                reached += 1;
            }
        }
        reached
    }

    /// Puts `session` in the pool until the returned membership is dropped.
    pub(crate) fn join(&self, session: &Session) -> Membership {
        self.insert(session);
        Membership {
            session: session.clone(),
        }
    }

    fn insert(&self, session: &Session) {
        let mut map = self
            .inner
            .by_key
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        map.entry(session.key().into())
            .or_default()
            .push(session.clone());
        self.inner.len.fetch_add(1, Ordering::AcqRel);
    }

    fn remove(&self, session: &Session) {
        let mut map = self
            .inner
            .by_key
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(sessions) = map.get_mut(session.key()) else {
            return;
        };
        let before = sessions.len();
        sessions.retain(|s| !s.same(session));
        if sessions.len() < before {
            self.inner.len.fetch_sub(1, Ordering::AcqRel);
        }
        if sessions.is_empty() {
            map.remove(session.key());
        }
    }

    fn read<R>(&self, f: impl FnOnce(&HashMap<Box<str>, Vec<Session>>) -> R) -> R {
        f(&self
            .inner
            .by_key
            .read()
            .unwrap_or_else(PoisonError::into_inner))
    }
}

/// A session's place in its pool. Dropping it takes the session out and marks it closed, so a
/// session leaves the pool however its connection ends: closed, failed, never upgraded, or
/// dropped with the runtime.
pub(crate) struct Membership {
    session: Session,
}

impl Membership {
    pub(crate) fn session(&self) -> &Session {
        &self.session
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.session.mark_closed();
        self.session.pool().remove(&self.session);
    }
}

impl fmt::Debug for SessionPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionPool")
            .field("route", &self.inner.route)
            .field("len", &self.len())
            .finish()
    }
}

//! [`SessionPool`]: the live sessions of one endpoint, by pool key and by group.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use axum::body::Bytes;
use serde::Serialize;

use crate::session::CloseStyle;
use crate::{CloseCode, CloseReason, DuplicateKey, Message, SendError, Session};

/// The live sessions of one endpoint, addressed by pool key or by group.
///
/// Several sessions may share a key (a user with two tabs): a send to the key reaches all of
/// them. A session is in the pool before `#[on_open]` runs and out of it, and out of all its
/// groups, before `#[on_close]` runs. Reach the pool from anywhere with
/// [`Hub::sessions`](crate::Hub::sessions), or from a handler with [`Session::pool`].
///
/// Pool sends never wait: a session whose outbound queue is full gets the endpoint's overflow
/// policy (closed with 1008 by default, or the message dropped), so one client that stopped
/// reading can neither grow server memory nor stall the others. Each send returns how many
/// sessions it reached.
///
/// ```
/// use wsendpoint::prelude::*;
///
/// #[derive(Default)]
/// struct Jobs;
///
/// #[server_endpoint("/jobs/<user>")]
/// impl Jobs {
///     #[on_open]
///     fn open(&mut self, session: &Session) {
///         session.join("everyone-watching-jobs");
///     }
/// }
///
/// # async fn demo() {
/// let hub = Hub::new();
/// let pool = hub.sessions::<Jobs>();
/// assert_eq!(pool.send_text("ada", "job 7: 40% done").await, 0); // nobody connected as "ada" yet
/// assert_eq!(pool.send_text_to_group("everyone-watching-jobs", "job 7 done").await, 0);
/// assert!(pool.is_empty());
/// # }
/// ```
#[derive(Clone)]
pub struct SessionPool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    route: &'static str,
    members: RwLock<Members>,
    len: AtomicUsize,
}

#[derive(Default)]
struct Members {
    by_key: HashMap<Box<str>, Vec<Session>>,
    by_group: HashMap<Box<str>, Vec<Session>>,
}

/// Whom a send addresses: the one seam every pool send goes through, so that a backplane can
/// later carry the same sends to sessions held by other server processes.
enum Target<'a> {
    Key(&'a str),
    Group(&'a str),
    All,
}

/// A second session under a key that the endpoint reserves for one (`on_duplicate_key =
/// "reject"`).
#[derive(Debug)]
pub(crate) struct KeyTaken;

impl SessionPool {
    pub(crate) fn new(route: &'static str) -> Self {
        SessionPool {
            inner: Arc::new(PoolInner {
                route,
                members: RwLock::new(Members::default()),
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

    /// Sends binary `data` to every session under `key`; returns how many it reached.
    pub async fn send_binary(&self, key: &str, data: impl Into<Bytes>) -> usize {
        self.deliver(Target::Key(key), Message::Binary(data.into()))
            .await
    }

    /// Sends `value` as JSON text to every session under `key`; returns how many it reached.
    pub async fn send_json<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
    ) -> Result<usize, SendError> {
        Ok(self
            .deliver(Target::Key(key), crate::json::message(value)?)
            .await)
    }

    /// Sends `message` to every session under `key`; returns how many it reached.
    pub async fn send(&self, key: &str, message: Message) -> usize {
        self.deliver(Target::Key(key), message).await
    }

    /// Sends `text` to every session in `group`; returns how many it reached.
    pub async fn send_text_to_group(&self, group: &str, text: impl Into<String>) -> usize {
        self.deliver(Target::Group(group), Message::Text(text.into().into()))
            .await
    }

    /// Sends `value` as JSON text to every session in `group`; returns how many it reached.
    pub async fn send_json_to_group<T: Serialize + ?Sized>(
        &self,
        group: &str,
        value: &T,
    ) -> Result<usize, SendError> {
        Ok(self
            .deliver(Target::Group(group), crate::json::message(value)?)
            .await)
    }

    /// Sends `message` to every session in `group`; returns how many it reached.
    pub async fn send_to_group(&self, group: &str, message: Message) -> usize {
        self.deliver(Target::Group(group), message).await
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
        self.read().by_key.contains_key(key)
    }

    /// The keys that have at least one live session, sorted.
    pub fn keys(&self) -> Vec<String> {
        sorted_names(&self.read().by_key)
    }

    /// The live sessions under `key`.
    pub fn sessions(&self, key: &str) -> Vec<Session> {
        self.read().by_key.get(key).cloned().unwrap_or_default()
    }

    /// Number of live sessions in `group`.
    pub fn group_len(&self, group: &str) -> usize {
        self.read().by_group.get(group).map_or(0, Vec::len)
    }

    /// The live sessions in `group`.
    pub fn group(&self, group: &str) -> Vec<Session> {
        self.read().by_group.get(group).cloned().unwrap_or_default()
    }

    /// The groups that have at least one live session, sorted.
    pub fn groups(&self) -> Vec<String> {
        sorted_names(&self.read().by_group)
    }

    async fn deliver(&self, target: Target<'_>, message: Message) -> usize {
        // Pushes never wait and never take the pool's lock, so they run under the read lock:
        // no snapshot of the recipients to allocate, clone and drop on every send.
        let members = self.read();
        let reached = |sessions: &[Session]| {
            sessions
                .iter()
                .filter(|session| session.push(message.clone()).is_ok())
                .count()
        };
        match target {
            Target::Key(key) => members.by_key.get(key).map_or(0, |s| reached(s)),
            Target::Group(group) => members.by_group.get(group).map_or(0, |s| reached(s)),
            Target::All => members.by_key.values().map(|s| reached(s)).sum(),
        }
    }

    /// Puts `session` in the pool until the returned membership is dropped, applying the
    /// endpoint's duplicate-key policy.
    pub(crate) fn enter(
        &self,
        session: &Session,
        duplicates: DuplicateKey,
    ) -> Result<Membership, KeyTaken> {
        let replaced = {
            let mut members = self.write();
            let under_key = members.by_key.entry(session.key().into()).or_default();
            let replaced = match duplicates {
                DuplicateKey::Reject if !under_key.is_empty() => return Err(KeyTaken),
                DuplicateKey::Replace => std::mem::take(under_key),
                _ => Vec::new(),
            };
            under_key.push(session.clone());
            self.inner.len.fetch_add(1, Ordering::AcqRel);
            self.inner.len.fetch_sub(replaced.len(), Ordering::AcqRel);
            replaced
        };
        for older in replaced {
            let reason = CloseReason::new(CloseCode::ViolatedPolicy, "replaced by a newer session");
            older.request_close(reason, CloseStyle::Immediate);
        }
        Ok(Membership {
            session: session.clone(),
        })
    }

    /// Takes `session` out of its key and all its groups.
    fn remove(&self, session: &Session) {
        let groups = std::mem::take(&mut *session.group_list());
        let mut members = self.write();
        if let Some(under_key) = members.by_key.get_mut(session.key()) {
            if remove_session(under_key, session) {
                self.inner.len.fetch_sub(1, Ordering::AcqRel);
            }
            if under_key.is_empty() {
                members.by_key.remove(session.key());
            }
        }
        for group in groups {
            leave(&mut members.by_group, &group, session);
        }
    }

    pub(crate) fn join_group(&self, session: &Session, group: Box<str>) -> bool {
        let mut members = self.write();
        // Checked under the lock that `remove` takes, so a closing session never joins late.
        if !session.is_open() {
            return false;
        }
        let mut groups = session.group_list();
        if groups.contains(&group) {
            return false;
        }
        members
            .by_group
            .entry(group.clone())
            .or_default()
            .push(session.clone());
        groups.push(group);
        true
    }

    pub(crate) fn leave_group(&self, session: &Session, group: &str) -> bool {
        let mut members = self.write();
        let mut groups = session.group_list();
        let Some(at) = groups.iter().position(|g| &**g == group) else {
            return false;
        };
        groups.remove(at);
        leave(&mut members.by_group, group, session);
        true
    }

    fn read(&self) -> RwLockReadGuard<'_, Members> {
        self.inner
            .members
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Members> {
        self.inner
            .members
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

fn leave(by_group: &mut HashMap<Box<str>, Vec<Session>>, group: &str, session: &Session) {
    if let Some(in_group) = by_group.get_mut(group) {
        remove_session(in_group, session);
        if in_group.is_empty() {
            by_group.remove(group);
        }
    }
}

/// Removes `session` from `sessions`; whether it was there.
fn remove_session(sessions: &mut Vec<Session>, session: &Session) -> bool {
    let before = sessions.len();
    sessions.retain(|s| !s.same(session));
    sessions.len() < before
}

fn sorted_names(map: &HashMap<Box<str>, Vec<Session>>) -> Vec<String> {
    let mut names: Vec<String> = map.keys().map(|k| k.to_string()).collect();
    names.sort_unstable();
    names
}

/// A session's place in its pool. Dropping it takes the session out of its key and groups and
/// marks it closed, so a session leaves the pool however its connection ends: closed, failed,
/// never upgraded, or dropped with the runtime.
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

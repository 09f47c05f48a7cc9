//! [`SessionPool`]: the live sessions of one endpoint, by pool key and by group.

use std::fmt;
use std::sync::Arc;

use axum::body::Bytes;
use serde::Serialize;
use tungstenite::Message;

use crate::base::close::{CloseCode, CloseReason};
use crate::base::config::DuplicateKey;
use crate::base::error::SendError;
use crate::base::json;
use crate::connection::state::Flush;
use crate::pool::members::{KeyTaken, Members};
use crate::pool::membership::Membership;
use crate::pool::session::Session;

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
    members: Arc<Members<Session>>,
}

/// Whom a send addresses: the one seam every pool send goes through, so that a backplane can
/// later carry the same sends to sessions held by other server processes.
enum Target<'a> {
    Key(&'a str),
    Group(&'a str),
    All,
}

impl SessionPool {
    pub(crate) fn new(route: &'static str) -> Self {
        SessionPool {
            members: Arc::new(Members::new(route)),
        }
    }

    /// The index of its sessions, which each session keeps.
    pub(crate) fn members(&self) -> &Arc<Members<Session>> {
        &self.members
    }

    /// The route of the endpoint this pool belongs to.
    pub fn route(&self) -> &'static str {
        self.members.route()
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
        Ok(self.deliver(Target::Key(key), json::message(value)?).await)
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
            .deliver(Target::Group(group), json::message(value)?)
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
        self.members.len()
    }

    /// Whether no session is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether at least one session is live under `key`.
    pub fn contains(&self, key: &str) -> bool {
        !self.members.read().under_key(key).is_empty()
    }

    /// The keys that have at least one live session, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.members.read().keys()
    }

    /// The live sessions under `key`.
    pub fn sessions(&self, key: &str) -> Vec<Session> {
        self.members.read().under_key(key).to_vec()
    }

    /// Number of live sessions in `group`.
    pub fn group_len(&self, group: &str) -> usize {
        self.members.read().in_group(group).len()
    }

    /// The live sessions in `group`.
    pub fn group(&self, group: &str) -> Vec<Session> {
        self.members.read().in_group(group).to_vec()
    }

    /// The groups that have at least one live session, sorted.
    pub fn groups(&self) -> Vec<String> {
        self.members.read().groups()
    }

    async fn deliver(&self, target: Target<'_>, message: Message) -> usize {
        // Pushes never wait and never take the pool's lock, so they run under the read lock:
        // no snapshot of the recipients to allocate, clone and drop on every send.
        let index = self.members.read();
        let reached = |sessions: &[Session]| {
            sessions
                .iter()
                .filter(|session| session.push(message.clone()).is_ok())
                .count()
        };
        match target {
            Target::Key(key) => reached(index.under_key(key)),
            Target::Group(group) => reached(index.in_group(group)),
            Target::All => index.all().map(reached).sum(),
        }
    }

    /// Puts `session` in the pool until the returned membership is dropped, applying the
    /// endpoint's duplicate-key policy: the sessions it replaces close with 1008, after what is
    /// queued for them.
    pub(crate) fn enter(
        &self,
        session: &Session,
        duplicates: DuplicateKey,
    ) -> Result<Membership, KeyTaken> {
        for older in self.members.enter(session, duplicates)? {
            let reason = CloseReason::new(CloseCode::ViolatedPolicy, "replaced by a newer session");
            older.request_close(reason, Flush::Queued);
        }
        Ok(Membership::new(session.clone()))
    }
}

impl Session {
    /// The pool of the endpoint this session belongs to, to reach other sessions.
    pub fn pool(&self) -> SessionPool {
        SessionPool {
            members: self.members().clone(),
        }
    }
}

impl fmt::Debug for SessionPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionPool")
            .field("route", &self.route())
            .field("len", &self.len())
            .finish()
    }
}

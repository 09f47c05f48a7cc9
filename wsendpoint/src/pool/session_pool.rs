//! [`SessionPool`]: the live sessions of one endpoint, by pool key and by group, on this node
//! and, with a backplane, on every node of the cluster.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use serde::Serialize;
use tokio::sync::oneshot;
use tungstenite::{Message, Utf8Bytes};

use crate::base::close::{CloseCode, CloseReason};
use crate::base::config::{DuplicateKey, EndpointConfig, HistoryConfig};
use crate::base::error::SendError;
use crate::base::json;
use crate::connection::outbound::Tag;
use crate::connection::state::Flush;
use crate::pool::backplane::{BackplaneError, BoxFuture};
use crate::pool::delivery::{AckedDelivery, Delivery, Remote};
use crate::pool::history::wire::Position;
use crate::pool::members::{KeyTaken, Members};
use crate::pool::membership::Membership;
use crate::pool::session::Session;
use crate::pool::target::Target;

/// The live sessions of one endpoint, addressed by pool key or by group.
///
/// Several sessions may share a key (a user with two tabs): a send to the key reaches all of
/// them. A session is in the pool before `#[on_open]` runs and out of it, and out of all its
/// groups, before `#[on_close]` runs. Reach the pool from anywhere with
/// [`Hub::sessions`](crate::Hub::sessions), or from a handler with [`Session::pool`].
///
/// Pool sends never wait for a session: one whose outbound queue is full gets the endpoint's
/// overflow policy (closed with 1008 by default, or the message dropped), so one client that
/// stopped reading can neither grow server memory nor stall the others. Each send returns a
/// [`Delivery`]: the local sessions it reached or could not, and, on a hub with a
/// [backplane](crate::Hub::with_backplane), how many other nodes holding the target received
/// it. A send waits for the backplane at most its command timeout.
///
/// Progress is best sent as a latest value ([`send_latest`](Self::send_latest)): a reader
/// that falls behind gets the newest value instead of a backlog, and is never closed for it.
///
/// The counting methods ([`len`](Self::len), [`contains`](Self::contains),
/// [`keys`](Self::keys), [`sessions`](Self::sessions), the group ones) are about this node's
/// sessions; [`online`](Self::online) and [`count`](Self::count) ask the cluster.
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
/// let delivery = pool.send_text("ada", "job 7: 40% done").await;
/// assert_eq!(delivery.reached, 0); // nobody connected as "ada" yet
/// assert_eq!(pool.send_text_to_group("everyone-watching-jobs", "job 7 done").await.reached, 0);
/// assert!(pool.is_empty());
/// # }
/// ```
#[derive(Clone)]
pub struct SessionPool {
    members: Arc<Members<Session>>,
}

impl SessionPool {
    pub(crate) fn new(config: &EndpointConfig) -> Self {
        let members = Members::new(config.route, config.duplicate_key, config.history);
        SessionPool {
            members: Arc::new(members),
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

    /// Sends `text` to every session under `key`.
    pub async fn send_text(&self, key: &str, text: impl Into<String>) -> Delivery {
        self.deliver(Target::Key(key), Message::Text(text.into().into()))
            .await
    }

    /// Sends binary `data` to every session under `key`.
    pub async fn send_binary(&self, key: &str, data: impl Into<Bytes>) -> Delivery {
        self.deliver(Target::Key(key), Message::Binary(data.into()))
            .await
    }

    /// Sends `value` as JSON text to every session under `key`.
    pub async fn send_json<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
    ) -> Result<Delivery, SendError> {
        Ok(self.deliver(Target::Key(key), json::message(value)?).await)
    }

    /// Sends `message` to every session under `key`.
    pub async fn send(&self, key: &str, message: Message) -> Delivery {
        self.deliver(Target::Key(key), message).await
    }

    /// Sends `text` to every session in `group`.
    pub async fn send_text_to_group(&self, group: &str, text: impl Into<String>) -> Delivery {
        self.deliver(Target::Group(group), Message::Text(text.into().into()))
            .await
    }

    /// Sends `value` as JSON text to every session in `group`.
    pub async fn send_json_to_group<T: Serialize + ?Sized>(
        &self,
        group: &str,
        value: &T,
    ) -> Result<Delivery, SendError> {
        Ok(self
            .deliver(Target::Group(group), json::message(value)?)
            .await)
    }

    /// Sends `message` to every session in `group`.
    pub async fn send_to_group(&self, group: &str, message: Message) -> Delivery {
        self.deliver(Target::Group(group), message).await
    }

    /// Sends `text` to every session of the endpoint.
    pub async fn broadcast_text(&self, text: impl Into<String>) -> Delivery {
        self.deliver(Target::All, Message::Text(text.into().into()))
            .await
    }

    /// Sends `message` to every session of the endpoint.
    pub async fn broadcast(&self, message: Message) -> Delivery {
        self.deliver(Target::All, message).await
    }

    /// Sends `message` to every session under `key` as the latest value of `tag`: in each
    /// session's queue it takes the place of the message with the same tag that is not sent
    /// yet, if any, so a reader that falls behind gets the newest value (a progress, a price,
    /// a status), in the place of the one it replaced among the session's other messages: it
    /// may so go out before ordinary messages sent after the one it replaced. A latest-value
    /// send never meets the overflow policy: it adds at most one message per tag to a queue,
    /// so use a few fixed tags, not one per message. On other nodes the same holds.
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
    /// # async fn demo() -> Result<(), wsendpoint::SendError> {
    /// let pool = Hub::new().sessions::<Jobs>();
    /// for percent in 0..=100 {
    ///     // A slow page sees 0, then maybe 57, then 100: never a queue of stale values.
    ///     pool.send_latest_json("ada", "progress", &percent).await?;
    /// }
    /// pool.send_text("ada", "done").await; // an ordinary send: queued after the progress
    /// # Ok(()) }
    /// ```
    pub async fn send_latest(&self, key: &str, tag: &str, message: Message) -> Delivery {
        self.deliver_tagged(Target::Key(key), message, Some(tag.into()))
            .await
    }

    /// [`send_latest`](Self::send_latest) of `value` as JSON text.
    pub async fn send_latest_json<T: Serialize + ?Sized>(
        &self,
        key: &str,
        tag: &str,
        value: &T,
    ) -> Result<Delivery, SendError> {
        Ok(self.send_latest(key, tag, json::message(value)?).await)
    }

    /// [`send_latest`](Self::send_latest) to every session in `group`.
    pub async fn send_latest_to_group(&self, group: &str, tag: &str, message: Message) -> Delivery {
        self.deliver_tagged(Target::Group(group), message, Some(tag.into()))
            .await
    }

    /// [`send_latest`](Self::send_latest) to every session of the endpoint.
    pub async fn broadcast_latest(&self, tag: &str, message: Message) -> Delivery {
        self.deliver_tagged(Target::All, message, Some(tag.into()))
            .await
    }

    /// Sends `message` to every session under `key`, then waits at most `timeout` for the other
    /// nodes to say how many sessions it reached there.
    ///
    /// # Cancel safety
    /// Cancelling after the send began leaves it sent; only the count is lost.
    pub async fn send_acked(
        &self,
        key: &str,
        message: Message,
        timeout: Duration,
    ) -> AckedDelivery {
        self.deliver_acked(Target::Key(key), message, timeout).await
    }

    /// [`send_acked`](Self::send_acked) to every session in `group`.
    pub async fn send_to_group_acked(
        &self,
        group: &str,
        message: Message,
        timeout: Duration,
    ) -> AckedDelivery {
        self.deliver_acked(Target::Group(group), message, timeout)
            .await
    }

    /// [`send_acked`](Self::send_acked) to every session of the endpoint.
    pub async fn broadcast_acked(&self, message: Message, timeout: Duration) -> AckedDelivery {
        self.deliver_acked(Target::All, message, timeout).await
    }

    /// Number of live sessions on this node.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether no session is live on this node.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether at least one session is live under `key` on this node.
    pub fn contains(&self, key: &str) -> bool {
        !self.members.read().under_key(key).is_empty()
    }

    /// The keys that have at least one live session on this node, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.members.read().keys()
    }

    /// The live sessions under `key` on this node.
    pub fn sessions(&self, key: &str) -> Vec<Session> {
        self.members.read().under_key(key).to_vec()
    }

    /// Number of live sessions in `group` on this node.
    pub fn group_len(&self, group: &str) -> usize {
        self.members.read().in_group(group).len()
    }

    /// The live sessions in `group` on this node.
    pub fn group(&self, group: &str) -> Vec<Session> {
        self.members.read().in_group(group).to_vec()
    }

    /// The groups that have at least one live session on this node, sorted.
    pub fn groups(&self) -> Vec<String> {
        self.members.read().groups()
    }

    /// Whether a session is live under `key` on any node of the cluster (this one only,
    /// without a backplane).
    ///
    /// # Errors
    /// When the backplane does not answer.
    pub async fn online(&self, key: &str) -> Result<bool, BackplaneError> {
        if self.contains(key) {
            return Ok(true);
        }
        match self.members.link() {
            Some(link) => link.held_elsewhere(key).await,
            None => Ok(false),
        }
    }

    /// Number of live sessions of the endpoint on every node of the cluster (this one only,
    /// without a backplane).
    ///
    /// # Errors
    /// When the backplane does not answer, or a node does not answer within its command
    /// timeout.
    pub async fn count(&self) -> Result<usize, BackplaneError> {
        let local = self.len();
        let Some(link) = self.members.link() else {
            return Ok(local);
        };
        let timeout = link.command_timeout();
        Ok(local + link.remote_count(timeout).await?)
    }

    /// Times a backplane channel of this endpoint (a key, a group, the broadcast) was confirmed
    /// again after it may have missed messages: the broker was unreachable meanwhile. Each is
    /// also logged, as a warning naming the key or group.
    pub fn gaps(&self) -> u64 {
        self.members.gaps()
    }

    /// Delivers to the local sessions at once, and returns the wait for the copy for other
    /// nodes, if the hub has a backplane.
    fn deliver(&self, target: Target<'_>, message: Message) -> impl Future<Output = Delivery> + '_ {
        self.deliver_tagged(target, message, None)
    }

    /// [`deliver`](Self::deliver), as the latest value of `latest` if set.
    fn deliver_tagged(
        &self,
        target: Target<'_>,
        message: Message,
        latest: Option<Tag>,
    ) -> impl Future<Output = Delivery> + '_ {
        let recorded = match (target, &message, &latest, self.members.shared_history()) {
            (Target::Key(key), Message::Text(text), None, Some(retention)) => {
                Some(self.deliver_recorded(key.into(), text.clone(), retention))
            }
            _ => None,
        };
        let local = recorded.is_none().then(|| {
            let local = self
                .members
                .deliver_local(target, &message, latest.as_ref());
            let publish = self
                .members
                .link()
                .map(|link| link.publish(target, message, latest));
            (local, publish)
        });
        async move {
            if let Some(recorded) = recorded {
                return recorded.await;
            }
            let (local, publish) = local.expect("either recorded or delivered here");
            let remote = match publish {
                Some(publish) => publish.await,
                None => Remote::NotPublished,
            };
            Delivery {
                reached: local.reached,
                refused: local.refused,
                remote,
            }
        }
    }

    /// A text to `key` of an endpoint whose history the backplane keeps: recorded there, or,
    /// when the broker cannot record it, delivered to this node's sessions as it is. Boxed:
    /// every handler that sends holds the send's future in its connection's task.
    fn deliver_recorded(
        &self,
        key: Box<str>,
        text: Utf8Bytes,
        retention: HistoryConfig,
    ) -> BoxFuture<'_, Delivery> {
        Box::pin(async move {
            match self.record(&key, text.clone(), retention).await {
                Ok(delivery) => delivery,
                Err(error) => {
                    let message = Message::Text(text);
                    let local = self
                        .members
                        .deliver_local(Target::Key(&key), &message, None);
                    Delivery {
                        reached: local.reached,
                        refused: local.refused,
                        remote: Remote::Failed(error),
                    }
                }
            }
        })
    }

    /// Records `text` in `key`'s history on the backplane, which publishes it to every node
    /// holding the key, this one included: its sessions get it from there, each in the
    /// history's order, so `reached` counts them as they were when it was recorded.
    async fn record(
        &self,
        key: &str,
        text: Utf8Bytes,
        retention: HistoryConfig,
    ) -> Result<Delivery, BackplaneError> {
        let link = self
            .members
            .link()
            .expect("a shared history is a cluster's");
        let nodes = link.record(key, text, retention).await?;
        Ok(Delivery {
            reached: self.members.read().under_key(key).len(),
            refused: 0,
            remote: Remote::Published { nodes },
        })
    }

    async fn deliver_acked(
        &self,
        target: Target<'_>,
        message: Message,
        timeout: Duration,
    ) -> AckedDelivery {
        let local = self.members.deliver_local(target, &message, None);
        let (remote, remote_reached, answered) = match self.members.link() {
            Some(link) => Box::pin(link.publish_acked(target, &message, timeout)).await,
            None => (Remote::NotPublished, 0, 0),
        };
        AckedDelivery {
            delivery: Delivery {
                reached: local.reached,
                refused: local.refused,
                remote,
            },
            remote_reached,
            answered,
        }
    }

    /// Puts `session` in the pool until the returned membership is dropped, after what it gets
    /// from the key's history (resuming from `resume`) if the endpoint keeps one, applying the
    /// endpoint's duplicate-key policy: the sessions it replaces close with 1008, after what is
    /// queued for them (on other nodes too). In a cluster, the first local session under a key
    /// also gets the confirmation of its channel's subscription, for the handshake to wait on.
    pub(crate) fn enter(
        &self,
        session: &Session,
        resume: Option<&Position>,
    ) -> Result<(Membership, Option<oneshot::Receiver<()>>), KeyTaken> {
        let entered = self.members.enter(session, resume)?;
        for older in entered.replaced {
            let reason = CloseReason::new(CloseCode::ViolatedPolicy, "replaced by a newer session");
            older.request_close(reason, Flush::Queued);
        }
        let link = self.members.link();
        if let Some(link) = link.filter(|_| self.members.duplicates() == DuplicateKey::Replace) {
            link.announce_replace(session.key());
        }
        Ok((Membership::new(session.clone()), entered.subscribed))
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

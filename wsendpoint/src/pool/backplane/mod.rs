//! The [`Backplane`]: the broker that joins the hubs of several server processes into one
//! cluster, so that a send to a key reaches its sessions on every node.
//!
//! A backplane is plain publish/subscribe on named channels, plus short-lived claims for the
//! cluster-wide duplicate-key policies; the hub does the rest (which channels, what crosses them,
//! acknowledgements, gaps). Two implementations: [`RedisBackplane`](redis::RedisBackplane)
//! (feature `redis`) for processes on several machines, and
//! [`MemoryBroker`](memory::MemoryBroker), which joins several hubs in one process (tests).

pub(crate) mod memory;
#[cfg(feature = "redis")]
pub(crate) mod redis;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use tokio::sync::mpsc;

use crate::base::config::HistoryConfig;

/// A boxed future, as a backplane's methods return them: the hub holds its backplane as a
/// trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A broker that joins several hubs: publish/subscribe on named channels, and claims on keys
/// that expire unless renewed.
///
/// Give one to a hub with [`Hub::with_backplane`](crate::Hub::with_backplane). Implement it to
/// run the cluster over another broker; every method may fail (the broker is down), and the hub
/// bounds each call with [`BackplaneSettings::command_timeout`]. The contract may still change
/// in 0.x releases.
///
/// ```
/// use wsendpoint::{Backplane, Hub, MemoryBroker};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let broker = MemoryBroker::new();
/// let node_a = Hub::new().with_backplane(broker.connect());
/// let node_b = Hub::new().with_backplane(broker.connect());
/// # drop((node_a, node_b)); }
/// ```
pub trait Backplane: Send + Sync + 'static {
    /// Publishes `payload` on `channel`; how many subscribers received it, this node's own
    /// subscription included.
    fn publish(
        &self,
        channel: &str,
        payload: Bytes,
    ) -> BoxFuture<'_, Result<usize, BackplaneError>>;

    /// Subscribes to `channels`; resolves once the broker confirmed them. Their messages, and
    /// each confirmation, arrive as [`BackplaneEvent`]s.
    fn subscribe(&self, channels: Vec<String>) -> BoxFuture<'_, Result<(), BackplaneError>>;

    /// Unsubscribes from `channels`.
    fn unsubscribe(&self, channels: Vec<String>) -> BoxFuture<'_, Result<(), BackplaneError>>;

    /// How many subscribers `channel` has, this node included.
    fn subscribers(&self, channel: &str) -> BoxFuture<'_, Result<usize, BackplaneError>>;

    /// Makes `owner` the holder of `key` for `ttl`, unless another owner holds it; whether
    /// `owner` holds it now.
    fn claim(
        &self,
        key: &str,
        owner: &str,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<bool, BackplaneError>>;

    /// Extends `owner`'s hold on `key` to `ttl` from now; false if `owner` no longer holds it.
    fn renew(
        &self,
        key: &str,
        owner: &str,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<bool, BackplaneError>>;

    /// Ends `owner`'s hold on `key`; nothing if another owner holds it.
    fn release(&self, key: &str, owner: &str) -> BoxFuture<'_, Result<(), BackplaneError>>;

    /// The messages of the subscribed channels and the connection's ups and downs; taken once,
    /// by the hub.
    fn events(&self) -> Option<mpsc::UnboundedReceiver<BackplaneEvent>>;

    /// How the hub uses this backplane.
    fn settings(&self) -> BackplaneSettings {
        BackplaneSettings::default()
    }

    /// Whether it keeps the histories of endpoints with `history` ([`record`](Self::record),
    /// [`history`](Self::history)), so that a client recovers on any node what it missed.
    /// Without, each node keeps its own, and a client that reconnects to another node gets a
    /// gap notice. Default false.
    fn keeps_history(&self) -> bool {
        false
    }

    /// Appends `entry` to the history named `history` and publishes it on `channel`, as one
    /// atomic step: the entry gets the history's next offset, and the subscribers receive
    /// `entry` followed by its position in ASCII, `<epoch>:<offset>`, so that they receive a
    /// history's entries in offset order. A history that has no epoch yet (new, expired, or lost
    /// by the broker) starts at `new_epoch`, offset 1. Keeps at most `retention.size` entries,
    /// and none older than `retention.ttl`.
    ///
    /// The default keeps nothing and fails.
    fn record(
        &self,
        history: &HistoryNames,
        channel: &str,
        entry: Bytes,
        retention: HistoryConfig,
        new_epoch: &str,
    ) -> BoxFuture<'_, Result<Recorded, BackplaneError>> {
        let _ = (history, channel, entry, retention, new_epoch);
        Box::pin(async {
            Err(BackplaneError::unavailable(
                "this backplane keeps no history",
            ))
        })
    }

    /// The entries of the history named `history` after offset `after`, oldest first, of those
    /// still kept (at most `retention.size`, none older than `retention.ttl`), with its epoch
    /// and last offset. A history that has no epoch yet gets `new_epoch`, at offset 0.
    ///
    /// The default keeps nothing and fails.
    fn history(
        &self,
        history: &HistoryNames,
        after: u64,
        retention: HistoryConfig,
        new_epoch: &str,
    ) -> BoxFuture<'_, Result<HistoryPage, BackplaneError>> {
        let _ = (history, after, retention, new_epoch);
        Box::pin(async {
            Err(BackplaneError::unavailable(
                "this backplane keeps no history",
            ))
        })
    }
}

/// Where a backplane keeps one key's history: its entries and its epoch with its last offset.
/// On a Redis Cluster both names and the key's channel share a hash tag, so one script on one
/// shard records and publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryNames {
    /// The entries (a Redis stream).
    pub entries: String,
    /// The epoch and the last offset (a Redis hash).
    pub meta: String,
}

/// What [`Backplane::record`] did: the entry's position, and how many subscribers received it,
/// the recording node's own subscription included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The history's epoch.
    pub epoch: String,
    /// The entry's offset.
    pub offset: u64,
    /// Subscribers of the channel that received it.
    pub receivers: usize,
}

/// What [`Backplane::history`] read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HistoryPage {
    /// The history's epoch.
    pub epoch: String,
    /// Its last offset: 0 before any entry.
    pub top: u64,
    /// The entries kept after the offset asked for, oldest first, with their offsets.
    pub entries: Vec<(u64, Bytes)>,
}

/// What a backplane reports to its hub.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackplaneEvent {
    /// A message on a subscribed channel.
    Message {
        /// The channel.
        channel: String,
        /// What was published.
        payload: Bytes,
    },
    /// The broker confirmed a subscription to `channel`: after [`subscribe`](Backplane::subscribe),
    /// or again after an interruption (the hub then reports a possible gap).
    Subscribed {
        /// The channel.
        channel: String,
    },
    /// The broker ended the subscription to `channel`: after
    /// [`unsubscribe`](Backplane::unsubscribe), or on its own (a Redis Cluster that moved the
    /// channel's slot to another shard). A hub that still needs it subscribes again and reports
    /// a possible gap.
    Unsubscribed {
        /// The channel.
        channel: String,
    },
    /// The connection to the broker dropped: what is published until the subscriptions are
    /// confirmed again may never arrive.
    Interrupted,
}

/// How a hub uses its backplane: the names it gives channels and claims, and its timeouts.
///
/// ```
/// use std::time::Duration;
/// use wsendpoint::BackplaneSettings;
///
/// let settings = BackplaneSettings::default()
///     .with_prefix("shop")
///     .with_presence_ttl(Duration::from_secs(10));
/// assert_eq!(settings.prefix(), "shop");
/// assert_eq!(settings.command_timeout(), Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackplaneSettings {
    prefix: Arc<str>,
    command_timeout: Duration,
    presence_ttl: Duration,
}

impl Default for BackplaneSettings {
    fn default() -> Self {
        BackplaneSettings {
            prefix: "wsendpoint".into(),
            command_timeout: Duration::from_secs(1),
            presence_ttl: Duration::from_secs(30),
        }
    }
}

impl BackplaneSettings {
    /// Starts every channel and claim name, so that several applications can share one broker
    /// (default `"wsendpoint"`).
    pub fn with_prefix(mut self, prefix: impl Into<Arc<str>>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The longest a send waits for the broker before it reports the remote part failed, and
    /// the longest a handshake waits for a claim or a subscription (default 1 s).
    pub fn with_command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// How long a node's claim on a key lives unless the node renews it (every third of it): a
    /// node that dies without closing its sessions frees their keys after this (default 30 s).
    pub fn with_presence_ttl(mut self, ttl: Duration) -> Self {
        self.presence_ttl = ttl;
        self
    }

    /// The prefix of channel and claim names.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The broker's timeout.
    pub fn command_timeout(&self) -> Duration {
        self.command_timeout
    }

    /// The lifetime of an unrenewed claim.
    pub fn presence_ttl(&self) -> Duration {
        self.presence_ttl
    }
}

/// The backplane could not do what was asked.
///
/// ```
/// use wsendpoint::BackplaneError;
///
/// let error = BackplaneError::unavailable("connection refused");
/// assert_eq!(error.to_string(), "backplane unavailable: connection refused");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BackplaneError {
    /// The broker is down or refused the command.
    #[error("backplane unavailable: {0}")]
    Unavailable(Arc<str>),
    /// The broker did not answer in time.
    #[error("backplane did not answer within {0:?}")]
    Timeout(Duration),
}

impl BackplaneError {
    /// An [`Unavailable`](Self::Unavailable) error with the broker's reason.
    pub fn unavailable(reason: impl std::fmt::Display) -> Self {
        BackplaneError::Unavailable(reason.to_string().into())
    }
}

/// A backplane chosen at run time (Redis in production, memory in tests, say).
impl<B: Backplane + ?Sized> Backplane for Box<B> {
    fn publish(
        &self,
        channel: &str,
        payload: Bytes,
    ) -> BoxFuture<'_, Result<usize, BackplaneError>> {
        (**self).publish(channel, payload)
    }

    fn subscribe(&self, channels: Vec<String>) -> BoxFuture<'_, Result<(), BackplaneError>> {
        (**self).subscribe(channels)
    }

    fn unsubscribe(&self, channels: Vec<String>) -> BoxFuture<'_, Result<(), BackplaneError>> {
        (**self).unsubscribe(channels)
    }

    fn subscribers(&self, channel: &str) -> BoxFuture<'_, Result<usize, BackplaneError>> {
        (**self).subscribers(channel)
    }

    fn claim(
        &self,
        key: &str,
        owner: &str,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<bool, BackplaneError>> {
        (**self).claim(key, owner, ttl)
    }

    fn renew(
        &self,
        key: &str,
        owner: &str,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<bool, BackplaneError>> {
        (**self).renew(key, owner, ttl)
    }

    fn release(&self, key: &str, owner: &str) -> BoxFuture<'_, Result<(), BackplaneError>> {
        (**self).release(key, owner)
    }

    fn events(&self) -> Option<mpsc::UnboundedReceiver<BackplaneEvent>> {
        (**self).events()
    }

    fn settings(&self) -> BackplaneSettings {
        (**self).settings()
    }

    fn keeps_history(&self) -> bool {
        (**self).keeps_history()
    }

    fn record(
        &self,
        history: &HistoryNames,
        channel: &str,
        entry: Bytes,
        retention: HistoryConfig,
        new_epoch: &str,
    ) -> BoxFuture<'_, Result<Recorded, BackplaneError>> {
        (**self).record(history, channel, entry, retention, new_epoch)
    }

    fn history(
        &self,
        history: &HistoryNames,
        after: u64,
        retention: HistoryConfig,
        new_epoch: &str,
    ) -> BoxFuture<'_, Result<HistoryPage, BackplaneError>> {
        (**self).history(history, after, retention, new_epoch)
    }
}

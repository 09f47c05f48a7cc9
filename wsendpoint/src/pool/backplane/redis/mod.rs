//! [`RedisBackplane`]: the cluster over Redis pub/sub, on one Redis or on a Redis Cluster
//! (sharded pub/sub), with the `redis` crate's connections, which reconnect by themselves and,
//! over RESP3, restore their subscriptions.
//!
//! The connections are the [`Link`]'s; this file is what both topologies share: the claims,
//! small Lua scripts on one key each that compare the owner first, the histories (scripts of
//! their own, in [`history`]), and the translation of Redis's pushes into backplane events.
//! Every command is bounded by the hub's timeout.

mod history;
mod link;
mod pushes;

use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use redis::{ParsingError, RedisError, RedisResult, Script, ScriptInvocation, Value};
use tokio::sync::mpsc;

use crate::base::config::HistoryConfig;
use crate::base::sync::lock;
use crate::pool::backplane::redis::link::Link;
use crate::pool::backplane::redis::pushes::Pushes;
use crate::pool::backplane::{
    Backplane, BackplaneError, BackplaneEvent, BackplaneSettings, BoxFuture, HistoryNames,
    HistoryPage, Recorded,
};

/// Sets the claim unless another owner holds it.
static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "local holder = redis.call('GET', KEYS[1])
         if holder == false or holder == ARGV[1] then
           redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
           return 1
         end
         return 0",
    )
});

/// Extends the claim if the owner still holds it.
static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then
           return redis.call('PEXPIRE', KEYS[1], ARGV[2])
         end
         return 0",
    )
});

/// Deletes the claim if the owner still holds it.
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then
           return redis.call('DEL', KEYS[1])
         end
         return 0",
    )
});

/// A hub's connection to Redis: its sends reach the sessions of every hub on the same Redis.
///
/// ```no_run
/// use wsendpoint::{Hub, RedisBackplane};
///
/// # async fn demo() -> Result<(), wsendpoint::BackplaneError> {
/// let hub = Hub::new().with_backplane(RedisBackplane::connect("redis://127.0.0.1:6379").await?);
/// // or over a Unix socket: "redis+unix:///run/redis/redis.sock"
/// // or on a Redis Cluster, through any of its primaries:
/// let hub = Hub::new().with_backplane(
///     RedisBackplane::connect_cluster(["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"]).await?,
/// );
/// # drop(hub); Ok(()) }
/// ```
pub struct RedisBackplane {
    link: Link,
    events: Mutex<Option<mpsc::UnboundedReceiver<BackplaneEvent>>>,
    settings: BackplaneSettings,
}

impl RedisBackplane {
    /// Connects to the Redis at `url` (`redis://host:port`, `rediss://` for TLS,
    /// `redis+unix:///path`), with the default [`BackplaneSettings`].
    ///
    /// # Errors
    /// When Redis does not answer within the settings' command timeout: a node that starts
    /// without its broker would silently serve only its own sessions.
    pub async fn connect(url: &str) -> Result<Self, BackplaneError> {
        Self::connect_with(url, BackplaneSettings::default()).await
    }

    /// Connects to the Redis at `url` with `settings`.
    ///
    /// # Errors
    /// See [`connect`](Self::connect).
    pub async fn connect_with(
        url: &str,
        settings: BackplaneSettings,
    ) -> Result<Self, BackplaneError> {
        let timeout = settings.command_timeout();
        Self::start(settings, |pushes| Link::single(url, timeout, pushes)).await
    }

    /// Connects to the Redis Cluster of `nodes` (the URLs of some of its primaries; it finds
    /// the others from them), with the default [`BackplaneSettings`]. Channels are sharded:
    /// each lives on the shard of its slot, so a send to a key involves that shard only.
    ///
    /// # Errors
    /// When no node answers within the settings' command timeout.
    pub async fn connect_cluster<I>(nodes: I) -> Result<Self, BackplaneError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        Self::connect_cluster_with(nodes, BackplaneSettings::default()).await
    }

    /// Connects to the Redis Cluster of `nodes` with `settings`.
    ///
    /// # Errors
    /// See [`connect_cluster`](Self::connect_cluster).
    pub async fn connect_cluster_with<I>(
        nodes: I,
        settings: BackplaneSettings,
    ) -> Result<Self, BackplaneError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let nodes = nodes.into_iter().map(|n| n.as_ref().to_owned()).collect();
        let timeout = settings.command_timeout();
        Self::start(settings, |pushes| Link::cluster(nodes, timeout, pushes)).await
    }

    /// Opens the link within the command timeout; its pushes become events as they arrive.
    async fn start<F>(
        settings: BackplaneSettings,
        open: impl FnOnce(Pushes) -> F,
    ) -> Result<Self, BackplaneError>
    where
        F: std::future::Future<Output = RedisResult<Link>>,
    {
        let timeout = settings.command_timeout();
        let (events, receiver) = mpsc::unbounded_channel();
        let link = tokio::time::timeout(timeout, open(Pushes::new(events)))
            .await
            .map_err(|_| BackplaneError::Timeout(timeout))?
            .map_err(BackplaneError::unavailable)?;
        Ok(RedisBackplane {
            link,
            events: Mutex::new(Some(receiver)),
            settings,
        })
    }
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl Backplane for RedisBackplane {
    fn publish(
        &self,
        channel: &str,
        payload: Bytes,
    ) -> BoxFuture<'_, Result<usize, BackplaneError>> {
        let mut commands = self.link.commands();
        let command = redis::cmd(self.link.publish_command())
            .arg(channel)
            .arg(&payload[..])
            .clone();
        Box::pin(async move {
            command
                .query_async(&mut commands)
                .await
                .map_err(|e| self.unavailable(e))
        })
    }

    fn subscribe(&self, channels: Vec<String>) -> BoxFuture<'_, Result<(), BackplaneError>> {
        Box::pin(async move {
            let subscribed = self.link.subscribe(channels).await;
            subscribed.map_err(|e| self.unavailable(e))
        })
    }

    fn unsubscribe(&self, channels: Vec<String>) -> BoxFuture<'_, Result<(), BackplaneError>> {
        Box::pin(async move {
            let unsubscribed = self.link.unsubscribe(channels).await;
            unsubscribed.map_err(|e| self.unavailable(e))
        })
    }

    fn subscribers(&self, channel: &str) -> BoxFuture<'_, Result<usize, BackplaneError>> {
        let mut commands = self.link.commands();
        let command = redis::cmd("PUBSUB")
            .arg(self.link.count_subcommand())
            .arg(channel)
            .clone();
        let channel = channel.to_owned();
        Box::pin(async move {
            let counts: std::collections::HashMap<String, usize> = command
                .query_async(&mut commands)
                .await
                .map_err(|e| self.unavailable(e))?;
            Ok(counts.get(&channel).copied().unwrap_or(0))
        })
    }

    fn claim(
        &self,
        key: &str,
        owner: &str,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<bool, BackplaneError>> {
        self.owner_script(&CLAIM, key, owner, Some(ttl))
    }

    fn renew(
        &self,
        key: &str,
        owner: &str,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<bool, BackplaneError>> {
        self.owner_script(&RENEW, key, owner, Some(ttl))
    }

    fn release(&self, key: &str, owner: &str) -> BoxFuture<'_, Result<(), BackplaneError>> {
        let released = self.owner_script(&RELEASE, key, owner, None);
        Box::pin(async move { released.await.map(drop) })
    }

    fn events(&self) -> Option<mpsc::UnboundedReceiver<BackplaneEvent>> {
        lock(&self.events).take()
    }

    fn settings(&self) -> BackplaneSettings {
        self.settings.clone()
    }

    /// Redis keeps them, so a client recovers on any node.
    fn keeps_history(&self) -> bool {
        true
    }

    /// One script records and publishes, so that no other record comes between the two.
    fn record(
        &self,
        history: &HistoryNames,
        channel: &str,
        entry: Bytes,
        retention: HistoryConfig,
        new_epoch: &str,
    ) -> BoxFuture<'_, Result<Recorded, BackplaneError>> {
        let publish = self.link.publish_command();
        let invocation = history::record(history, channel, &entry, retention, new_epoch, publish);
        self.history_script(invocation, history::recorded)
    }

    /// One script reads the epoch, the top and the entries, so that they agree.
    fn history(
        &self,
        history: &HistoryNames,
        after: u64,
        retention: HistoryConfig,
        new_epoch: &str,
    ) -> BoxFuture<'_, Result<HistoryPage, BackplaneError>> {
        let invocation = history::read(history, after, retention, new_epoch);
        self.history_script(invocation, history::page)
    }
}

impl RedisBackplane {
    /// A command failed: the error for the hub; the link repairs itself if the error says it
    /// must.
    fn unavailable(&self, error: RedisError) -> BackplaneError {
        self.link.failed(&error);
        BackplaneError::unavailable(error)
    }

    /// Runs one of the claim scripts on `key` for `owner`; whether it acted.
    fn owner_script(
        &self,
        script: &'static Script,
        key: &str,
        owner: &str,
        ttl: Option<Duration>,
    ) -> BoxFuture<'_, Result<bool, BackplaneError>> {
        let mut commands = self.link.commands();
        let mut invocation = script.key(key);
        invocation.arg(owner);
        if let Some(ttl) = ttl {
            invocation.arg(millis(ttl));
        }
        Box::pin(async move {
            let acted: i64 = invocation
                .invoke_async(&mut commands)
                .await
                .map_err(|e| self.unavailable(e))?;
            Ok(acted == 1)
        })
    }

    /// Runs one of the history scripts; its answer read by `parse`.
    fn history_script<T: Send + 'static>(
        &self,
        invocation: ScriptInvocation<'static>,
        parse: fn(Value) -> Result<T, ParsingError>,
    ) -> BoxFuture<'_, Result<T, BackplaneError>> {
        let mut commands = self.link.commands();
        Box::pin(async move {
            let answer: Value = invocation
                .invoke_async(&mut commands)
                .await
                .map_err(|e| self.unavailable(e))?;
            parse(answer).map_err(|e| self.unavailable(e.into()))
        })
    }
}

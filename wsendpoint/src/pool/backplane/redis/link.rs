//! [`Link`]: a [`RedisBackplane`](super::RedisBackplane)'s connections, to one Redis or to a
//! Redis Cluster, and the little that differs between the two.
//!
//! One Redis: plain pub/sub (`PUBLISH`, `SUBSCRIBE`, `PUBSUB NUMSUB`) over two connection
//! managers, one for commands and one that holds the subscriptions. A Redis Cluster: sharded
//! pub/sub (`SPUBLISH`, `SSUBSCRIBE`, `PUBSUB SHARDNUMSUB`), so that a channel's messages stay
//! within the shard that owns its slot, where plain `PUBLISH` on a cluster travels over every
//! node's bus; one cluster connection routes each command by its key or channel, and restores
//! its subscriptions when a node comes back. If it gives up (after a whole cluster was down it
//! can stay without connections for good), the link replaces it, and the hub subscribes again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use futures_util::future::try_join_all;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::{
    Cmd, ErrorKind, Pipeline, ProtocolVersion, RedisError, RedisFuture, RedisResult, Value,
};

use crate::base::sync::lock;
use crate::pool::backplane::redis::pushes::Pushes;

/// The longest wait between two reconnection attempts to one Redis.
const MAX_RECONNECT_DELAY: Duration = Duration::from_millis(500);

/// Where the backplane's commands and subscriptions go.
pub(super) enum Link {
    /// One Redis: plain pub/sub.
    Single {
        commands: ConnectionManager,
        subscriber: ConnectionManager,
    },
    /// A Redis Cluster: sharded pub/sub.
    Cluster(Arc<Sharded>),
}

/// The connection to a Redis Cluster, replaced when it gives up.
pub(super) struct Sharded {
    client: ClusterClient,
    connection: Mutex<ClusterConnection>,
    pushes: Pushes,
    /// Whether a replacement is being made.
    repairing: AtomicBool,
    /// When the connection was last replaced: a command still running on the old one fails
    /// within the command timeout of it, and must not ask for another replacement.
    replaced_at: Mutex<Option<Instant>>,
    command_timeout: Duration,
}

/// The connection that commands (publish, counts, claim scripts) are sent on.
#[derive(Clone)]
pub(super) enum Commands {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Link {
    /// Connects to the Redis at `url`; its subscriptions' pushes are given to `pushes`. Both
    /// connections retry forever, at most [`MAX_RECONNECT_DELAY`] apart, so a node is back
    /// within about a second of Redis.
    pub(super) async fn single(url: &str, timeout: Duration, pushes: Pushes) -> RedisResult<Link> {
        let client = redis::Client::open(with_resp3(url))?;
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(usize::MAX)
            .set_max_delay(MAX_RECONNECT_DELAY)
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        let commands = ConnectionManager::new_with_config(client.clone(), config.clone());
        let subscriber = config
            .set_push_sender(pushes)
            .set_automatic_resubscription();
        let subscriber = ConnectionManager::new_with_config(client, subscriber);
        let (commands, subscriber) = tokio::try_join!(commands, subscriber)?;
        Ok(Link::Single {
            commands,
            subscriber,
        })
    }

    /// Connects to the Redis Cluster that `nodes` (any of its nodes' URLs) belong to; pushes
    /// are given to `pushes`.
    pub(super) async fn cluster(
        nodes: Vec<String>,
        timeout: Duration,
        pushes: Pushes,
    ) -> RedisResult<Link> {
        let client = ClusterClientBuilder::new(nodes)
            .use_protocol(ProtocolVersion::RESP3)
            .push_sender(pushes.clone())
            .connection_timeout(timeout)
            .response_timeout(timeout)
            .build()?;
        let connection = client.get_async_connection().await?;
        Ok(Link::Cluster(Arc::new(Sharded {
            client,
            connection: Mutex::new(connection),
            pushes,
            repairing: AtomicBool::new(false),
            replaced_at: Mutex::new(None),
            command_timeout: timeout,
        })))
    }

    /// A command failed with `error`: a cluster connection that found no node at all is
    /// replaced in the background.
    pub(super) fn failed(&self, error: &RedisError) {
        if let Link::Cluster(sharded) = self {
            if error.kind() == ErrorKind::ClusterConnectionNotFound {
                sharded.repair();
            }
        }
    }

    pub(super) fn commands(&self) -> Commands {
        match self {
            Link::Single { commands, .. } => Commands::Single(commands.clone()),
            Link::Cluster(sharded) => Commands::Cluster(sharded.connection()),
        }
    }

    /// The command that publishes on a channel.
    pub(super) fn publish_command(&self) -> &'static str {
        match self {
            Link::Single { .. } => "PUBLISH",
            Link::Cluster(_) => "SPUBLISH",
        }
    }

    /// The `PUBSUB` subcommand that counts a channel's subscribers.
    pub(super) fn count_subcommand(&self) -> &'static str {
        match self {
            Link::Single { .. } => "NUMSUB",
            Link::Cluster(_) => "SHARDNUMSUB",
        }
    }

    /// Subscribes to `channels`.
    pub(super) async fn subscribe(&self, channels: Vec<String>) -> RedisResult<()> {
        match self {
            Link::Single { subscriber, .. } => subscriber.clone().subscribe(channels).await,
            Link::Cluster(cluster) => {
                each_channel(&cluster.connection(), channels, Change::Subscribe).await
            }
        }
    }

    /// Unsubscribes from `channels`.
    pub(super) async fn unsubscribe(&self, channels: Vec<String>) -> RedisResult<()> {
        match self {
            Link::Single { subscriber, .. } => subscriber.clone().unsubscribe(channels).await,
            Link::Cluster(cluster) => {
                each_channel(&cluster.connection(), channels, Change::Unsubscribe).await
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Change {
    Subscribe,
    Unsubscribe,
}

/// Subscribes to or unsubscribes from sharded `channels`, one command per channel: channels of
/// different slots may live on different shards, and one command may name one slot only.
async fn each_channel(
    cluster: &ClusterConnection,
    channels: Vec<String>,
    change: Change,
) -> RedisResult<()> {
    let each = channels.into_iter().map(|channel| {
        let mut cluster = cluster.clone();
        async move {
            match change {
                Change::Subscribe => cluster.ssubscribe(channel).await,
                Change::Unsubscribe => cluster.sunsubscribe(channel).await,
            }
        }
    });
    try_join_all(each).await.map(drop)
}

impl Sharded {
    fn connection(&self) -> ClusterConnection {
        lock(&self.connection).clone()
    }

    /// Replaces the connection, unless a replacement is under way: tries every
    /// [`MAX_RECONNECT_DELAY`] until the cluster answers, then tells the hub, whose
    /// subscriptions were on the old one.
    fn repair(self: &Arc<Self>) {
        let replaced = *lock(&self.replaced_at);
        if replaced.is_some_and(|at| at.elapsed() < self.command_timeout) {
            return; // the failure is the old connection's
        }
        if self.repairing.swap(true, Ordering::AcqRel) {
            return;
        }
        tracing::warn!("the Redis Cluster connection gave up: replacing it");
        tokio::spawn(replace(Arc::downgrade(self)));
    }
}

/// The repair task: ends when the connection is replaced or the backplane is dropped.
async fn replace(sharded: Weak<Sharded>) {
    loop {
        let Some(link) = sharded.upgrade() else {
            return;
        };
        if let Ok(connection) = link.client.get_async_connection().await {
            *lock(&link.connection) = connection;
            *lock(&link.replaced_at) = Some(Instant::now());
            link.repairing.store(false, Ordering::Release);
            link.pushes.interrupted();
            return;
        }
        drop(link);
        tokio::time::sleep(MAX_RECONNECT_DELAY).await;
    }
}

/// `url` asking for RESP3, which subscriptions through the connection manager need.
fn with_resp3(url: &str) -> String {
    if url.contains("protocol=") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}protocol=resp3")
}

/// Either connection runs commands and scripts; a cluster routes them by their key.
impl ConnectionLike for Commands {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Commands::Single(connection) => connection.req_packed_command(cmd),
            Commands::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Commands::Single(connection) => connection.req_packed_commands(pipeline, offset, count),
            Commands::Cluster(connection) => {
                connection.req_packed_commands(pipeline, offset, count)
            }
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Commands::Single(connection) => connection.get_db(),
            Commands::Cluster(connection) => connection.get_db(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_ask_for_resp3_once() {
        assert_eq!(with_resp3("redis://h:1"), "redis://h:1?protocol=resp3");
        assert_eq!(
            with_resp3("redis://h/0?db=1"),
            "redis://h/0?db=1&protocol=resp3"
        );
        assert_eq!(
            with_resp3("redis+unix:///s?protocol=3"),
            "redis+unix:///s?protocol=3"
        );
    }
}

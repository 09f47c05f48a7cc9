//! [`RedisBackplane`]: the cluster over Redis pub/sub, with `redis`'s connection manager, which
//! reconnects by itself and, over RESP3, restores its subscriptions.
//!
//! Two connections per node: one for commands (publish, claims), one that holds the
//! subscriptions and receives their messages as RESP3 pushes. Both retry forever, at most half
//! a second apart, so a node comes back within about a second of Redis; every command is bounded
//! by the hub's timeout meanwhile. Claims are one key each, set, renewed and deleted by small
//! Lua scripts that compare the owner first.

use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{PushInfo, PushKind, Script, Value};
use tokio::sync::mpsc;

use crate::base::sync::lock;
use crate::pool::backplane::{
    Backplane, BackplaneError, BackplaneEvent, BackplaneSettings, BoxFuture,
};

/// The longest wait between two reconnection attempts.
const MAX_RECONNECT_DELAY: Duration = Duration::from_millis(500);

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
/// # drop(hub); Ok(()) }
/// ```
pub struct RedisBackplane {
    commands: ConnectionManager,
    subscriber: ConnectionManager,
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
        let client = redis::Client::open(with_resp3(url)).map_err(BackplaneError::unavailable)?;
        let (pushes, received) = mpsc::unbounded_channel::<PushInfo>();
        let timeout = settings.command_timeout();
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(usize::MAX)
            .set_max_delay(MAX_RECONNECT_DELAY)
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        let connect = async {
            let commands = ConnectionManager::new_with_config(client.clone(), config.clone());
            let subscriber = config
                .set_push_sender(pushes)
                .set_automatic_resubscription();
            let subscriber = ConnectionManager::new_with_config(client, subscriber);
            tokio::try_join!(commands, subscriber)
        };
        let (commands, subscriber) = tokio::time::timeout(timeout, connect)
            .await
            .map_err(|_| BackplaneError::Timeout(timeout))?
            .map_err(BackplaneError::unavailable)?;
        let (events, receiver) = mpsc::unbounded_channel();
        tokio::spawn(translate(received, events));
        Ok(RedisBackplane {
            commands,
            subscriber,
            events: Mutex::new(Some(receiver)),
            settings,
        })
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

/// Turns the subscriber's pushes into backplane events, until the subscriber is gone.
async fn translate(
    mut pushes: mpsc::UnboundedReceiver<PushInfo>,
    events: mpsc::UnboundedSender<BackplaneEvent>,
) {
    while let Some(push) = pushes.recv().await {
        let event = match push.kind {
            PushKind::Message => match &push.data[..] {
                [channel, payload] => BackplaneEvent::Message {
                    channel: text(channel),
                    payload: bytes(payload),
                },
                _ => continue,
            },
            PushKind::Subscribe => match push.data.first() {
                Some(channel) => BackplaneEvent::Subscribed {
                    channel: text(channel),
                },
                None => continue,
            },
            PushKind::Disconnection => BackplaneEvent::Interrupted,
            _ => continue,
        };
        if events.send(event).is_err() {
            return;
        }
    }
}

fn bytes(value: &Value) -> Bytes {
    match value {
        Value::BulkString(data) => Bytes::copy_from_slice(data),
        Value::SimpleString(text) => Bytes::copy_from_slice(text.as_bytes()),
        _ => Bytes::new(),
    }
}

fn text(value: &Value) -> String {
    String::from_utf8_lossy(&bytes(value)).into_owned()
}

fn unavailable(error: redis::RedisError) -> BackplaneError {
    BackplaneError::unavailable(error)
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
        let mut commands = self.commands.clone();
        let command = redis::cmd("PUBLISH").arg(channel).arg(&payload[..]).clone();
        Box::pin(async move {
            command
                .query_async(&mut commands)
                .await
                .map_err(unavailable)
        })
    }

    fn subscribe(&self, channels: Vec<String>) -> BoxFuture<'_, Result<(), BackplaneError>> {
        let mut subscriber = self.subscriber.clone();
        Box::pin(async move { subscriber.subscribe(channels).await.map_err(unavailable) })
    }

    fn unsubscribe(&self, channels: Vec<String>) -> BoxFuture<'_, Result<(), BackplaneError>> {
        let mut subscriber = self.subscriber.clone();
        Box::pin(async move { subscriber.unsubscribe(channels).await.map_err(unavailable) })
    }

    fn subscribers(&self, channel: &str) -> BoxFuture<'_, Result<usize, BackplaneError>> {
        let mut commands = self.commands.clone();
        let command = redis::cmd("PUBSUB").arg("NUMSUB").arg(channel).clone();
        let channel = channel.to_owned();
        Box::pin(async move {
            let counts: std::collections::HashMap<String, usize> = command
                .query_async(&mut commands)
                .await
                .map_err(unavailable)?;
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
}

impl RedisBackplane {
    /// Runs one of the claim scripts on `key` for `owner`; whether it acted.
    fn owner_script(
        &self,
        script: &'static Script,
        key: &str,
        owner: &str,
        ttl: Option<Duration>,
    ) -> BoxFuture<'_, Result<bool, BackplaneError>> {
        let mut commands = self.commands.clone();
        let mut invocation = script.key(key);
        invocation.arg(owner);
        if let Some(ttl) = ttl {
            invocation.arg(millis(ttl));
        }
        Box::pin(async move {
            let acted: i64 = invocation
                .invoke_async(&mut commands)
                .await
                .map_err(unavailable)?;
            Ok(acted == 1)
        })
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

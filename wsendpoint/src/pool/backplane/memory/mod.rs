//! [`MemoryBroker`]: a backplane inside one process, joining several hubs as if they ran on
//! several servers. For tests of a clustered application (and ours), and for trying the
//! cluster without a broker; [`MemoryBroker::set_down`] plays a broker outage.

mod history;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use tokio::sync::mpsc;

use crate::base::config::HistoryConfig;
use crate::base::sync::lock;
use crate::pool::backplane::memory::history::Histories;
use crate::pool::backplane::{
    Backplane, BackplaneError, BackplaneEvent, BackplaneSettings, BoxFuture, HistoryNames,
    HistoryPage, Recorded,
};

/// A broker in memory: each [`connect`](Self::connect) is one node's connection to it.
///
/// ```
/// use wsendpoint::{Hub, MemoryBroker};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let broker = MemoryBroker::new();
/// let a = Hub::new().with_backplane(broker.connect());
/// let b = Hub::new().with_backplane(broker.connect());
/// // a send on `a` now reaches the sessions of `b` too.
/// broker.set_down(true); // as if the broker had crashed: `a` and `b` deliver locally only
/// broker.set_down(false); // back: subscriptions are restored, gaps reported
/// # drop((a, b)); }
/// ```
#[derive(Clone, Default)]
pub struct MemoryBroker {
    shared: Arc<Mutex<Broker>>,
    settings: BackplaneSettings,
}

#[derive(Default)]
struct Broker {
    down: bool,
    next_connection: u64,
    connections: HashMap<u64, Connection>,
    /// Channel → the connections subscribed to it.
    channels: HashMap<String, HashSet<u64>>,
    /// Claim name → owner and expiry.
    claims: HashMap<String, (String, Instant)>,
    histories: Histories,
}

struct Connection {
    events: mpsc::UnboundedSender<BackplaneEvent>,
    channels: HashSet<String>,
}

impl MemoryBroker {
    /// A broker with the default [`BackplaneSettings`].
    pub fn new() -> Self {
        MemoryBroker::default()
    }

    /// A broker whose connections run with `settings` (a short presence TTL, say).
    pub fn with_settings(settings: BackplaneSettings) -> Self {
        MemoryBroker {
            shared: Arc::default(),
            settings,
        }
    }

    /// A new connection to the broker, for one hub.
    pub fn connect(&self) -> MemoryBackplane {
        let (events, receiver) = mpsc::unbounded_channel();
        let mut broker = lock(&self.shared);
        broker.next_connection += 1;
        let id = broker.next_connection;
        let channels = HashSet::new();
        broker
            .connections
            .insert(id, Connection { events, channels });
        MemoryBackplane {
            broker: self.clone(),
            id,
            events: Mutex::new(Some(receiver)),
        }
    }

    /// Takes the broker down (every command fails, every connection is interrupted) or brings
    /// it back (every connection's subscriptions are confirmed again, as Redis's clients
    /// resubscribe by themselves).
    pub fn set_down(&self, down: bool) {
        let mut broker = lock(&self.shared);
        if broker.down == down {
            return;
        }
        broker.down = down;
        for connection in broker.connections.values() {
            if down {
                let _ = connection.events.send(BackplaneEvent::Interrupted);
                continue;
            }
            for channel in &connection.channels {
                let channel = channel.clone();
                let _ = connection
                    .events
                    .send(BackplaneEvent::Subscribed { channel });
            }
        }
    }

    /// Forgets every history it keeps, as a broker that restarted without its data: each starts
    /// again in a new epoch, and clients that resume get a gap notice.
    pub fn lose_history(&self) {
        lock(&self.shared).histories.clear();
    }

    /// Runs `f` on the broker, or fails if it is down.
    fn up<T>(&self, f: impl FnOnce(&mut Broker) -> T) -> Result<T, BackplaneError> {
        let mut broker = lock(&self.shared);
        if broker.down {
            return Err(BackplaneError::unavailable("the memory broker is down"));
        }
        Ok(f(&mut broker))
    }
}

/// One hub's connection to a [`MemoryBroker`].
pub struct MemoryBackplane {
    broker: MemoryBroker,
    id: u64,
    events: Mutex<Option<mpsc::UnboundedReceiver<BackplaneEvent>>>,
}

impl Broker {
    fn publish(&self, channel: &str, payload: Bytes) -> usize {
        let Some(subscribers) = self.channels.get(channel) else {
            return 0;
        };
        for id in subscribers {
            let event = BackplaneEvent::Message {
                channel: channel.to_owned(),
                payload: payload.clone(),
            };
            let _ = self.connections[id].events.send(event);
        }
        subscribers.len()
    }

    fn subscribe(&mut self, id: u64, channels: Vec<String>) {
        let Some(connection) = self.connections.get_mut(&id) else {
            return;
        };
        for channel in channels {
            self.channels.entry(channel.clone()).or_default().insert(id);
            connection.channels.insert(channel.clone());
            let _ = connection
                .events
                .send(BackplaneEvent::Subscribed { channel });
        }
    }

    fn unsubscribe(&mut self, id: u64, channels: &[String]) {
        for channel in channels {
            if let Some(connection) = self.connections.get_mut(&id) {
                connection.channels.remove(channel);
                let channel = channel.clone();
                let _ = connection
                    .events
                    .send(BackplaneEvent::Unsubscribed { channel });
            }
            if let Some(subscribers) = self.channels.get_mut(channel) {
                subscribers.remove(&id);
                if subscribers.is_empty() {
                    self.channels.remove(channel);
                }
            }
        }
    }

    /// The owner of claim `key`, forgetting it if it expired.
    fn holder(&mut self, key: &str) -> Option<&str> {
        if self
            .claims
            .get(key)
            .is_some_and(|(_, expiry)| *expiry <= Instant::now())
        {
            self.claims.remove(key);
        }
        self.claims.get(key).map(|(owner, _)| owner.as_str())
    }
}

impl Backplane for MemoryBackplane {
    fn publish(
        &self,
        channel: &str,
        payload: Bytes,
    ) -> BoxFuture<'_, Result<usize, BackplaneError>> {
        let published = self.broker.up(|broker| broker.publish(channel, payload));
        Box::pin(async move { published })
    }

    fn subscribe(&self, channels: Vec<String>) -> BoxFuture<'_, Result<(), BackplaneError>> {
        let done = self.broker.up(|broker| broker.subscribe(self.id, channels));
        Box::pin(async move { done })
    }

    fn unsubscribe(&self, channels: Vec<String>) -> BoxFuture<'_, Result<(), BackplaneError>> {
        let done = self
            .broker
            .up(|broker| broker.unsubscribe(self.id, &channels));
        Box::pin(async move { done })
    }

    fn subscribers(&self, channel: &str) -> BoxFuture<'_, Result<usize, BackplaneError>> {
        let count = self
            .broker
            .up(|broker| broker.channels.get(channel).map_or(0, HashSet::len));
        Box::pin(async move { count })
    }

    fn claim(
        &self,
        key: &str,
        owner: &str,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<bool, BackplaneError>> {
        let claimed = self.broker.up(|broker| {
            if broker.holder(key).is_some_and(|holder| holder != owner) {
                return false;
            }
            let claim = (owner.to_owned(), Instant::now() + ttl);
            broker.claims.insert(key.to_owned(), claim);
            true
        });
        Box::pin(async move { claimed })
    }

    fn renew(
        &self,
        key: &str,
        owner: &str,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<bool, BackplaneError>> {
        let renewed = self.broker.up(|broker| {
            if broker.holder(key) != Some(owner) {
                return false;
            }
            broker
                .claims
                .insert(key.to_owned(), (owner.to_owned(), Instant::now() + ttl));
            true
        });
        Box::pin(async move { renewed })
    }

    fn release(&self, key: &str, owner: &str) -> BoxFuture<'_, Result<(), BackplaneError>> {
        let released = self.broker.up(|broker| {
            if broker.holder(key) == Some(owner) {
                broker.claims.remove(key);
            }
        });
        Box::pin(async move { released })
    }

    fn events(&self) -> Option<mpsc::UnboundedReceiver<BackplaneEvent>> {
        lock(&self.events).take()
    }

    fn settings(&self) -> BackplaneSettings {
        self.broker.settings.clone()
    }

    fn keeps_history(&self) -> bool {
        true
    }

    fn record(
        &self,
        history: &HistoryNames,
        channel: &str,
        entry: Bytes,
        retention: HistoryConfig,
        new_epoch: &str,
    ) -> BoxFuture<'_, Result<Recorded, BackplaneError>> {
        let recorded = self.broker.up(|broker| {
            let recorded =
                broker
                    .histories
                    .record(&history.entries, entry.clone(), retention, new_epoch);
            let (epoch, offset) = recorded;
            let mut published = entry.to_vec();
            published.extend_from_slice(format!("{epoch}:{offset}").as_bytes());
            let receivers = broker.publish(channel, published.into());
            Recorded {
                epoch,
                offset,
                receivers,
            }
        });
        Box::pin(async move { recorded })
    }

    fn history(
        &self,
        history: &HistoryNames,
        after: u64,
        retention: HistoryConfig,
        new_epoch: &str,
    ) -> BoxFuture<'_, Result<HistoryPage, BackplaneError>> {
        let page = self.broker.up(|broker| {
            broker
                .histories
                .read(&history.entries, after, retention, new_epoch)
        });
        Box::pin(async move { page })
    }
}

impl Drop for MemoryBackplane {
    /// The connection closes: its subscriptions end; its claims expire in their time.
    fn drop(&mut self) {
        let mut broker = lock(&self.broker.shared);
        let Some(connection) = broker.connections.remove(&self.id) else {
            return;
        };
        let channels: Vec<String> = connection.channels.into_iter().collect();
        broker.unsubscribe(self.id, &channels);
    }
}

impl std::fmt::Debug for MemoryBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let broker = lock(&self.shared);
        f.debug_struct("MemoryBroker")
            .field("down", &broker.down)
            .field("connections", &broker.connections.len())
            .field("channels", &broker.channels.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channels(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[tokio::test]
    async fn a_publish_reaches_the_subscribed_connections() {
        let broker = MemoryBroker::new();
        let (a, b) = (broker.connect(), broker.connect());
        let mut events = b.events().expect("events");
        assert!(a.events().is_some() && b.events().is_none(), "taken once");
        b.subscribe(channels(&["c"])).await.unwrap();
        let subscribed = BackplaneEvent::Subscribed {
            channel: "c".into(),
        };
        assert_eq!(events.recv().await, Some(subscribed));
        assert_eq!(a.publish("c", Bytes::from_static(b"x")).await, Ok(1));
        let message = BackplaneEvent::Message {
            channel: "c".into(),
            payload: Bytes::from_static(b"x"),
        };
        assert_eq!(events.recv().await, Some(message));
        assert_eq!(a.subscribers("c").await, Ok(1));
        drop(b);
        assert_eq!(
            a.subscribers("c").await,
            Ok(0),
            "a closed connection unsubscribes"
        );
    }

    #[tokio::test]
    async fn an_outage_fails_commands_interrupts_and_then_resubscribes() {
        let broker = MemoryBroker::new();
        let a = broker.connect();
        let mut events = a.events().unwrap();
        a.subscribe(channels(&["c"])).await.unwrap();
        let _ = events.recv().await;
        broker.set_down(true);
        assert_eq!(events.recv().await, Some(BackplaneEvent::Interrupted));
        assert!(a.publish("c", Bytes::new()).await.is_err());
        broker.set_down(false);
        let subscribed = BackplaneEvent::Subscribed {
            channel: "c".into(),
        };
        assert_eq!(events.recv().await, Some(subscribed));
        assert_eq!(a.publish("c", Bytes::new()).await, Ok(1));
    }

    #[tokio::test]
    async fn a_claim_holds_until_released_or_expired() {
        let broker = MemoryBroker::new();
        let a = broker.connect();
        let long = Duration::from_secs(60);
        assert_eq!(a.claim("k", "one", long).await, Ok(true));
        assert_eq!(a.claim("k", "two", long).await, Ok(false));
        assert_eq!(a.renew("k", "two", long).await, Ok(false));
        assert_eq!(a.renew("k", "one", long).await, Ok(true));
        a.release("k", "two").await.unwrap();
        assert_eq!(
            a.claim("k", "two", long).await,
            Ok(false),
            "not two's to release"
        );
        a.release("k", "one").await.unwrap();
        assert_eq!(a.claim("k", "two", Duration::ZERO).await, Ok(true));
        assert_eq!(
            a.claim("k", "three", long).await,
            Ok(true),
            "two's claim expired"
        );
    }
}

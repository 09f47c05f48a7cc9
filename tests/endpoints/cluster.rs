//! One session pool across several hubs: every test runs on the in-memory broker, on a real
//! `redis-server` of its own, and on a real Redis Cluster of its own (sharded pub/sub).
//!
//! Each node is a real server on 127.0.0.1:0 with real WebSocket clients; the broker is a
//! `MemoryBroker`, Redis on a Unix socket in a temporary folder, or three Redis Cluster
//! primaries on free ports of 127.0.0.1.

use std::future::Future;
use std::time::Duration;

use wsendpoint::prelude::*;
use wsendpoint::{Backplane, BackplaneSettings, MemoryBroker, RedisBackplane, Remote};

use crate::latest::{
    push_updates, read_slowly_until_done, slow_client, small_buffer_server, Progress,
};
use crate::redis_cluster::RedisCluster;
use crate::redis_server::RedisServer;
use crate::support::{
    recv_close, recv_text, send_text, unique, within, Recorder, TestServer, PATIENCE,
};

static EVENTS: Recorder = Recorder::new();

#[derive(Default)]
struct Clustered;

#[server_endpoint("/cluster/<key>", ping_interval = "off")]
impl Clustered {
    #[on_message]
    fn message(&mut self, session: &Session, text: &str) -> String {
        match text.strip_prefix("join:") {
            Some(group) => format!("joined {}", session.join(group)),
            None => format!("echo {text}"),
        }
    }
}

#[derive(Default)]
struct OnePerKey;

#[server_endpoint(
    "/cluster-one/<key>",
    on_duplicate_key = "reject",
    ping_interval = "off"
)]
impl OnePerKey {
    #[on_close]
    fn close(&mut self, session: &Session, reason: CloseReason) {
        EVENTS.push(session, format!("close:{}", u16::from(reason.code())));
    }
}

#[derive(Default)]
struct NewestPerKey;

#[server_endpoint(
    "/cluster-newest/<key>",
    on_duplicate_key = "replace",
    ping_interval = "off"
)]
impl NewestPerKey {}

/// The broker of a test's cluster.
pub(crate) enum Broker {
    Memory(MemoryBroker),
    Redis(RedisServer),
    RedisCluster(RedisCluster),
}

/// How to reach a broker, without borrowing it.
enum Address {
    Memory(MemoryBroker),
    Redis(String),
    RedisCluster(Vec<String>),
}

/// Settings short enough for a test to see a claim expire.
pub(crate) fn settings() -> BackplaneSettings {
    BackplaneSettings::default().with_presence_ttl(Duration::from_secs(2))
}

impl Broker {
    pub(crate) fn memory() -> Self {
        Broker::Memory(MemoryBroker::with_settings(settings()))
    }

    pub(crate) async fn redis() -> Self {
        Broker::Redis(RedisServer::start().await)
    }

    pub(crate) async fn redis_cluster() -> Self {
        Broker::RedisCluster(RedisCluster::start().await)
    }

    /// A new connection to the broker, for one hub (or for the test's own look at it).
    pub(crate) async fn connect(&self) -> Box<dyn Backplane> {
        self.connector().await
    }

    /// [`connect`](Self::connect) with `settings` (Redis only: a memory broker has its own).
    async fn connect_with(&self, settings: BackplaneSettings) -> Box<dyn Backplane> {
        self.connector_with(settings).await
    }

    /// [`connect`](Self::connect) as a future that borrows nothing, to run on another runtime.
    fn connector(&self) -> impl Future<Output = Box<dyn Backplane>> + Send + 'static {
        self.connector_with(settings())
    }

    fn connector_with(
        &self,
        settings: BackplaneSettings,
    ) -> impl Future<Output = Box<dyn Backplane>> + Send + 'static {
        let address = match self {
            Broker::Memory(broker) => Address::Memory(broker.clone()),
            Broker::Redis(server) => Address::Redis(server.url()),
            Broker::RedisCluster(cluster) => Address::RedisCluster(cluster.urls()),
        };
        async move {
            match address {
                Address::Memory(broker) => Box::new(broker.connect()) as Box<dyn Backplane>,
                Address::Redis(url) => Box::new(
                    RedisBackplane::connect_with(&url, settings)
                        .await
                        .expect("connect to redis-server"),
                ),
                Address::RedisCluster(urls) => Box::new(
                    RedisBackplane::connect_cluster_with(urls, settings)
                        .await
                        .expect("connect to the Redis Cluster"),
                ),
            }
        }
    }

    /// A node: a real server whose hub is on this broker.
    pub(crate) async fn node(&self) -> TestServer {
        self.node_with(settings()).await
    }

    async fn node_with(&self, settings: BackplaneSettings) -> TestServer {
        let hub = Hub::new().with_backplane(self.connect_with(settings).await);
        let router = hub.router();
        TestServer::start_with(hub, router).await
    }

    /// As if the broker crashed.
    pub(crate) async fn take_down(&mut self) {
        match self {
            Broker::Memory(broker) => broker.set_down(true),
            Broker::Redis(server) => server.kill().await,
            Broker::RedisCluster(cluster) => cluster.kill().await,
        }
    }

    /// The broker is back (Redis: a new, empty server on the same socket; a Redis Cluster: its
    /// nodes, empty, on the same ports, with their slots).
    pub(crate) async fn bring_back(&mut self) {
        match self {
            Broker::Memory(broker) => broker.set_down(false),
            Broker::Redis(server) => server.restart().await,
            Broker::RedisCluster(cluster) => cluster.restart().await,
        }
    }

    /// Waits until `channel` has `count` subscribers: the broker tells nobody when one comes.
    async fn wait_subscribers(&self, channel: &str, count: usize) {
        let observer = self.connect().await;
        eventually(&format!("{count} subscribers of {channel}"), || async {
            observer.subscribers(channel).await == Ok(count)
        })
        .await;
    }
}

/// Checks `done` every 10 ms until it holds, for what only polling can see.
pub(crate) async fn eventually<F: Future<Output = bool>>(what: &str, mut done: impl FnMut() -> F) {
    within(what, async {
        while !done().await {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

fn key_channel(route: &str, key: &str) -> String {
    format!("wsendpoint:{route}:k:{{k={key}}}")
}

/// A send to a key reaches its sessions on every node, and says how many nodes.
async fn a_send_reaches_the_keys_sessions_on_every_node(broker: Broker) {
    let (a, b, c) = (
        broker.node().await,
        broker.node().await,
        broker.node().await,
    );
    let key = unique("everywhere");
    let path = format!("/cluster/{key}");
    let (mut on_b, mut on_c) = (b.connect(&path).await, c.connect(&path).await);

    let delivery = a.hub.sessions::<Clustered>().send_text(&key, "hi").await;
    assert_eq!(
        (delivery.reached, delivery.remote),
        (0, Remote::Published { nodes: 2 })
    );
    assert_eq!(recv_text(&mut on_b).await, "hi");
    assert_eq!(recv_text(&mut on_c).await, "hi");

    // From a node that holds the key: its own session locally, the other node remotely.
    let delivery = b.hub.sessions::<Clustered>().send_text(&key, "again").await;
    assert_eq!(
        (delivery.reached, delivery.remote),
        (1, Remote::Published { nodes: 1 })
    );
    assert_eq!(recv_text(&mut on_b).await, "again");
    assert_eq!(recv_text(&mut on_c).await, "again");
    drop((on_b, on_c)); // a client that does not answer the 1001 holds its node 5 s
    for node in [a, b, c] {
        node.stop().await;
    }
}

/// Routed, not fanned out: a key's channel has one subscriber per node that holds it.
async fn a_key_held_on_one_node_is_published_to_that_node_only(broker: Broker) {
    let (a, b, c) = (
        broker.node().await,
        broker.node().await,
        broker.node().await,
    );
    let key = unique("routed");
    let client = b.connect(&format!("/cluster/{key}")).await;
    let channel = key_channel("/cluster/<key>", &key);
    let observer = broker.connect().await;
    assert_eq!(observer.subscribers(&channel).await, Ok(1));
    let delivery = a
        .hub
        .sessions::<Clustered>()
        .send_text(&key, "only b")
        .await;
    assert_eq!(delivery.remote, Remote::Published { nodes: 1 });
    assert!(a.hub.sessions::<Clustered>().online(&key).await.unwrap());
    assert!(!c
        .hub
        .sessions::<Clustered>()
        .online("nobody")
        .await
        .unwrap());
    drop(client);
    for node in [a, b, c] {
        node.stop().await;
    }
}

/// Groups and broadcasts cross nodes; acknowledged sends and `count` ask every node.
async fn groups_broadcasts_acks_and_counts_span_the_cluster(broker: Broker) {
    let (a, b, c) = (
        broker.node().await,
        broker.node().await,
        broker.node().await,
    );
    let group = unique("room");
    let (k1, k2) = (unique("member"), unique("member"));
    let mut on_b = b.connect(&format!("/cluster/{k1}")).await;
    let mut on_c = c.connect(&format!("/cluster/{k2}")).await;
    for client in [&mut on_b, &mut on_c] {
        send_text(client, &format!("join:{group}")).await;
        assert_eq!(recv_text(client).await, "joined true");
    }
    broker
        .wait_subscribers(&format!("wsendpoint:/cluster/<key>:g:{group}"), 2)
        .await;
    broker
        .wait_subscribers("wsendpoint:/cluster/<key>:a", 3)
        .await;

    let pool = a.hub.sessions::<Clustered>();
    let delivery = pool.send_text_to_group(&group, "to the room").await;
    assert_eq!(delivery.remote, Remote::Published { nodes: 2 });
    assert_eq!(recv_text(&mut on_b).await, "to the room");
    assert_eq!(recv_text(&mut on_c).await, "to the room");

    let acked = pool
        .broadcast_acked(Message::text("to all"), PATIENCE)
        .await;
    assert_eq!((acked.remote_reached, acked.answered), (2, 2), "{acked:?}");
    assert!(acked.all_answered());
    assert_eq!(recv_text(&mut on_b).await, "to all");
    assert_eq!(recv_text(&mut on_c).await, "to all");
    assert_eq!(pool.count().await, Ok(2));
    assert_eq!(pool.len(), 0, "len is this node's");
    drop((on_b, on_c));
    for node in [a, b, c] {
        node.stop().await;
    }
}

/// `on_duplicate_key = "reject"` holds across nodes, and frees the key when its session leaves.
async fn a_key_reserved_for_one_session_is_refused_on_other_nodes(broker: Broker) {
    let (b, c) = (broker.node().await, broker.node().await);
    let key = unique("one");
    let path = format!("/cluster-one/{key}");
    let first = b.connect(&path).await;
    assert_eq!(c.refused_status(&path).await, 409);
    drop(first);
    EVENTS.wait_count(&key, "close:1006", 1).await;
    // The claim is released in the background, right after the session left.
    let mut accepted = None;
    for _attempt in 0..100 {
        if let Ok((client, _)) = c.connect_with(&path, &[]).await {
            accepted = Some(client);
            break;
        }
    }
    assert!(accepted.is_some(), "the key is free once its session left");
    drop(accepted);
    for node in [b, c] {
        node.stop().await;
    }
}

/// `on_duplicate_key = "replace"` closes the older session on the other node.
async fn a_newer_session_replaces_the_older_on_another_node(broker: Broker) {
    let (b, c) = (broker.node().await, broker.node().await);
    let key = unique("newest");
    let path = format!("/cluster-newest/{key}");
    let mut older = b.connect(&path).await;
    let newer = c.connect(&path).await;
    let frame = recv_close(&mut older).await.expect("a close frame");
    assert_eq!(u16::from(frame.code), 1008);
    assert_eq!(frame.reason.as_str(), "replaced by a newer session");
    assert!(c.hub.sessions::<NewestPerKey>().contains(&key));
    drop((older, newer));
    for node in [b, c] {
        node.stop().await;
    }
}

/// The broker down: local delivery goes on and remote sends say they failed. Back: delivery
/// resumes without a restart of the nodes, and the interrupted key is reported as a gap.
async fn an_outage_degrades_to_local_delivery_and_delivery_resumes_after_it(mut broker: Broker) {
    let (a, b) = (broker.node().await, broker.node().await);
    let (key, local_key) = (unique("outage"), unique("local"));
    let mut on_b = b.connect(&format!("/cluster/{key}")).await;
    let mut on_a = a.connect(&format!("/cluster/{local_key}")).await;
    let (pool_a, pool_b) = (a.hub.sessions::<Clustered>(), b.hub.sessions::<Clustered>());

    broker.take_down().await;
    let delivery = pool_a.send_text(&key, "lost").await;
    assert!(matches!(delivery.remote, Remote::Failed(_)), "{delivery:?}");
    let delivery = pool_a.send_text(&local_key, "still local").await;
    assert_eq!(delivery.reached, 1);
    assert_eq!(recv_text(&mut on_a).await, "still local");

    broker.bring_back().await;
    eventually("the gap reported on b", || async { pool_b.gaps() >= 1 }).await;
    eventually("a's sends published again", || async {
        pool_a.send_text(&key, "back").await.remote == Remote::Published { nodes: 1 }
    })
    .await;
    // A publish that timed out may still have gone out once Redis was back: at least once.
    loop {
        match recv_text(&mut on_b).await.as_str() {
            "back" => break,
            "lost" => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
    drop((on_a, on_b)); // a client that does not answer the 1001 holds its node 5 s
    for node in [a, b] {
        node.stop().await;
    }
}

/// Latest-value sends cross nodes, and coalesce on the node that delivers them: a slow reader
/// on B of updates pushed from A.
async fn latest_values_coalesce_on_the_node_that_delivers_them(broker: Broker) {
    const UPDATES: u64 = 5_000;
    let a = broker.node().await;
    let b = small_buffer_server(Hub::new().with_backplane(broker.connect().await));
    let key = unique("latest");
    let mut client = slow_client(&b, &format!("/latest/{key}")).await;
    let pool = a.hub.sessions::<Progress>();
    let pushing = tokio::spawn(push_updates(pool, key, UPDATES, 5));
    read_slowly_until_done(&mut client, pushing, UPDATES).await;
    drop(client);
    for node in [a, b] {
        node.stop().await;
    }
}

/// A node that dies without closing its sessions holds their claims until the TTL ends.
async fn a_dead_nodes_claims_expire_within_the_ttl(broker: Broker) {
    let c = broker.node().await;
    let key = unique("orphan");
    let path = format!("/cluster-one/{key}");
    let connect = broker.connector();
    // Node b runs on a runtime of its own, so that it can die in the middle of everything.
    let b_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime for node b");
    let b = b_runtime.spawn(async move {
        let hub = Hub::new().with_backplane(connect.await);
        let router = hub.router();
        let server = TestServer::start_with(hub, router).await;
        (server.addr, server)
    });
    let (b_addr, b_server) = within("node b to start", b).await.expect("node b");
    let (_held, _) = tokio_tungstenite::connect_async(format!("ws://{b_addr}{path}"))
        .await
        .expect("a session on b");
    assert_eq!(c.refused_status(&path).await, 409);

    // Node b dies: its tasks are dropped where no runtime runs anything more, so nothing of it
    // tells the broker; its hub is leaked as a dead process's memory would be.
    std::mem::forget(b_server);
    std::thread::spawn(move || b_runtime.shutdown_background())
        .join()
        .expect("node b's runtime shut down");
    assert_eq!(
        c.refused_status(&path).await,
        409,
        "the claim outlives its node"
    );
    let mut accepted = false;
    within("the claim to expire", async {
        while !accepted {
            accepted = c.connect_with(&path, &[]).await.is_ok();
            if !accepted {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    })
    .await;
    c.stop().await;
}

/// Redis restarted empty: a node makes its claims again at once, not when they are due.
async fn claims_are_made_again_as_soon_as_redis_is_back(mut broker: Broker) {
    // Renewed every 20 s: longer than the test waits, so only the prompt claim can pass.
    let long = settings().with_presence_ttl(Duration::from_secs(60));
    let (b, c) = (
        broker.node_with(long.clone()).await,
        broker.node_with(long).await,
    );
    let key = unique("reclaimed");
    let path = format!("/cluster-one/{key}");
    let claim = format!("wsendpoint:/cluster-one/<key>:p:{key}");
    let _held = b.connect(&path).await;
    assert!(broker.redis_has(&claim).await, "claimed");

    broker.take_down().await;
    broker.bring_back().await;
    eventually("the claim made again", || broker.redis_has(&claim)).await;
    assert_eq!(c.refused_status(&path).await, 409);
    for node in [b, c] {
        node.stop().await;
    }
}

impl Broker {
    /// Whether Redis holds `name`, as `redis-cli` sees it.
    async fn redis_has(&self, name: &str) -> bool {
        let mut command = tokio::process::Command::new("redis-cli");
        match self {
            Broker::Memory(_) => unreachable!("a memory broker keeps its claims"),
            Broker::Redis(server) => command.args(server.cli_args()),
            Broker::RedisCluster(cluster) => command.args(cluster.cli_args()),
        };
        let output = command.args(["exists", name]).output().await;
        output.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "1")
    }
}

/// A Redis Cluster that moves a key's channel to another shard: the node that holds the key
/// follows it, and sends reach it again.
async fn a_channel_moved_to_another_shard_is_followed(broker: Broker) {
    let (a, b) = (broker.node().await, broker.node().await);
    let key = unique("moved");
    let mut on_b = b.connect(&format!("/cluster/{key}")).await;
    let Broker::RedisCluster(cluster) = &broker else {
        unreachable!("only a Redis Cluster has shards");
    };
    cluster
        .move_slot_of(&key_channel("/cluster/<key>", &key))
        .await;
    let (pool_a, pool_b) = (a.hub.sessions::<Clustered>(), b.hub.sessions::<Clustered>());
    eventually("a's sends reach b on the new shard", || async {
        pool_a.send_text(&key, "moved").await.remote == Remote::Published { nodes: 1 }
    })
    .await;
    assert_eq!(recv_text(&mut on_b).await, "moved");
    assert!(pool_b.gaps() >= 1, "the move is reported as a possible gap");
    drop(on_b);
    for node in [a, b] {
        node.stop().await;
    }
}

mod resharded {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_channel_moved_to_another_shard_is_followed() {
        let broker = super::Broker::redis_cluster().await;
        super::a_channel_moved_to_another_shard_is_followed(broker).await;
    }
}

/// Only Redis loses what it holds when it restarts.
mod restarted {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn claims_are_made_again_on_redis() {
        super::claims_are_made_again_as_soon_as_redis_is_back(super::Broker::redis().await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn claims_are_made_again_on_redis_cluster() {
        let broker = super::Broker::redis_cluster().await;
        super::claims_are_made_again_as_soon_as_redis_is_back(broker).await;
    }
}

/// Runs each test on every broker.
macro_rules! on_every_broker {
    ($($test:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::Broker::memory()).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::Broker::redis().await).await;
                }
            )*
        }
        mod redis_cluster {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::Broker::redis_cluster().await).await;
                }
            )*
        }
    };
}

on_every_broker!(
    a_send_reaches_the_keys_sessions_on_every_node,
    a_key_held_on_one_node_is_published_to_that_node_only,
    groups_broadcasts_acks_and_counts_span_the_cluster,
    a_key_reserved_for_one_session_is_refused_on_other_nodes,
    a_newer_session_replaces_the_older_on_another_node,
    an_outage_degrades_to_local_delivery_and_delivery_resumes_after_it,
    a_dead_nodes_claims_expire_within_the_ttl,
    latest_values_coalesce_on_the_node_that_delivers_them,
);

pub(crate) use on_every_broker;

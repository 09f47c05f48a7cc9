//! History and replay across nodes: the history lives in the broker (a Redis stream per key, or
//! the memory broker's), so a client that reconnects to another node recovers the same way, and
//! a node whose subscription was cut fills in its sessions from the history.

use std::time::Duration;

use tokio::sync::watch;
use wsendpoint::Remote;

use crate::cluster::{eventually, on_every_broker, Broker};
use crate::history::{Follower, Frame, Journal, ShortJournal};
use crate::support::{unique, within, TestServer};

/// Sends `count` messages `"0"`, `"1"`, … to `key` from `node`, one every `every`; says how
/// many went out on `sent`.
async fn publish_from(
    node: &TestServer,
    key: &str,
    count: u64,
    every: Duration,
    sent: watch::Sender<u64>,
) {
    let pool = node.hub.sessions::<Journal>();
    let mut ticker = tokio::time::interval(every);
    for n in 0..count {
        ticker.tick().await;
        let delivery = pool.send_text(key, n.to_string()).await;
        assert!(
            matches!(delivery.remote, Remote::Published { .. }),
            "{delivery:?}"
        );
        sent.send_replace(n + 1);
    }
}

/// A client on node b, reset while node a sends 1000 messages over 5 s, resumes on node c:
/// all 1000, once each, in order.
async fn a_client_reset_on_one_node_resumes_on_another(broker: Broker) {
    let (a, b, c) = (
        broker.node().await,
        broker.node().await,
        broker.node().await,
    );
    let key = unique("moving");
    let path = format!("/history/{key}");
    let mut follower = Follower::connect(&b, &path, None).await;
    assert!(matches!(follower.next().await, Frame::Position(_)));
    let (tx, mut sent) = watch::channel(0);
    let publisher = publish_from(&a, &key, 1000, Duration::from_millis(5), tx);
    let reader = async {
        let mut received = Vec::new();
        while received.len() < 200 {
            received.push(follower.next_message().await.0);
        }
        let position = follower.reset();
        within("the publisher", sent.wait_for(|n| *n >= 600))
            .await
            .expect("publisher");
        let mut follower = Follower::connect(&c, &path, position).await;
        while received.len() < 1000 {
            received.push(follower.next_message().await.0);
        }
        received
    };
    let ((), received) = tokio::join!(publisher, reader);
    let expected: Vec<String> = (0..1000).map(|n| n.to_string()).collect();
    assert_eq!(received, expected);
    for node in [a, b, c] {
        node.stop().await;
    }
}

/// Three clients, each reset and resumed on the next node five times while one node keeps
/// sending: each gets the whole sequence once.
async fn resuming_on_other_nodes_while_messages_arrive_loses_and_doubles_none(broker: Broker) {
    let nodes = [
        broker.node().await,
        broker.node().await,
        broker.node().await,
    ];
    let key = unique("rotating");
    let path = format!("/history/{key}");
    let mut followers = Vec::new();
    for node in &nodes {
        let mut follower = Follower::connect(node, &path, None).await;
        follower.next().await;
        followers.push(follower);
    }
    let (tx, _sent) = watch::channel(0);
    let publisher = publish_from(&nodes[0], &key, 1500, Duration::from_millis(1), tx);
    let addrs: Vec<_> = nodes.iter().map(|node| node.addr).collect();
    let readers = followers.into_iter().enumerate().map(|(at, mut follower)| {
        let (addrs, path) = (addrs.clone(), path.clone());
        async move {
            let mut received = Vec::new();
            for round in 0..5 {
                while received.len() < 100 * (round + 1) + 20 * at {
                    received.push(follower.next_message().await.0);
                }
                let position = follower.reset();
                let next = addrs[(at + round + 1) % addrs.len()];
                follower = Follower::connect_to(next, &path, position).await;
            }
            while received.len() < 1500 {
                received.push(follower.next_message().await.0);
            }
            received
        }
    });
    let ((), all) = tokio::join!(publisher, futures_util::future::join_all(readers));
    let expected: Vec<String> = (0..1500).map(|n| n.to_string()).collect();
    for received in all {
        assert_eq!(received, expected);
    }
    for node in nodes {
        node.stop().await;
    }
}

/// What the broker no longer keeps is a gap: trimmed, or lost with the broker's data.
async fn what_the_broker_no_longer_keeps_is_a_gap(mut broker: Broker) {
    let (a, b) = (broker.node().await, broker.node().await);
    let key = unique("trimmed");
    let short = format!("/history-short/{key}");
    let mut follower = Follower::connect(&b, &short, None).await;
    let Frame::Position((epoch, _)) = follower.next().await else {
        panic!("a position");
    };
    drop(follower);
    let pool = a.hub.sessions::<ShortJournal>();
    for n in 0..20 {
        pool.send_text(&key, n.to_string()).await;
    }
    let mut follower = Follower::connect(&b, &short, Some((epoch.clone(), 5))).await;
    let gap = Frame::Gap {
        at: (epoch.clone(), 20),
        reason: "too_old".into(),
    };
    assert_eq!(follower.next().await, gap);
    let mut recent = Follower::connect(&a, &short, Some((epoch.clone(), 15))).await;
    assert_eq!(recent.next_message().await, ("15".into(), true));

    broker.lose_history().await;
    // Until node b reads the broker again, it answers `history_unavailable` at the client's own
    // position, and the client tries again from there, as the JS client does.
    let lost = (epoch.clone(), 20);
    let (at, reason) = within("a gap other than history_unavailable", async {
        loop {
            let mut client = Follower::connect(&b, &short, Some(lost.clone())).await;
            match client.next().await {
                Frame::Gap { reason, .. } if reason == "history_unavailable" => continue,
                Frame::Gap { at, reason } => return (at, reason),
                other => panic!("a gap, not {other:?}"),
            }
        }
    })
    .await;
    assert_eq!(reason, "history_lost");
    assert_ne!(at.0, epoch, "a new epoch");
    for node in [a, b] {
        node.stop().await;
    }
}

impl Broker {
    /// As if the broker restarted without its data: the histories are gone.
    async fn lose_history(&mut self) {
        match self {
            Broker::Memory(broker) => broker.lose_history(),
            Broker::Redis(_) | Broker::RedisCluster(_) => {
                self.take_down().await;
                self.bring_back().await;
            }
        }
    }

    /// Cuts every subscriber connection to Redis, as a network blip does: the clients
    /// reconnect and subscribe again by themselves.
    async fn cut_subscribers(&self) {
        let kill = ["client", "kill", "type", "pubsub"];
        match self {
            Broker::Memory(_) => unreachable!("a memory broker's connections do not drop"),
            Broker::Redis(server) => {
                let _ = tokio::process::Command::new("redis-cli")
                    .args(server.cli_args())
                    .args(kill)
                    .output()
                    .await;
            }
            Broker::RedisCluster(cluster) => cluster.on_every_node(&kill).await,
        }
    }
}

/// A node whose subscriber connection is cut while another node sends fills in its session
/// from the history: the client gets every message, once, in order, without reconnecting.
///
/// `CLIENT KILL TYPE pubsub` cuts the sending node's connections too (it holds subscriptions of
/// its own), so a send may fail meanwhile; one whose answer timed out may still have been
/// recorded. The client must get every send that was recorded, and nothing twice or out of
/// order.
async fn a_cut_subscription_is_filled_in_from_the_history(broker: Broker) {
    let (a, b) = (broker.node().await, broker.node().await);
    let key = unique("cut");
    let path = format!("/history/{key}");
    let mut follower = Follower::connect(&b, &path, None).await;
    follower.next().await;
    let (sent, mut progress) = watch::channel(0u64);
    let pool = a.hub.sessions::<Journal>();
    let publisher = async {
        let mut recorded = Vec::new();
        let mut ticker = tokio::time::interval(Duration::from_millis(2));
        for n in 0..600u64 {
            ticker.tick().await;
            let delivery = pool.send_text(&key, n.to_string()).await;
            if matches!(delivery.remote, Remote::Published { .. }) {
                recorded.push(n);
            }
            sent.send_replace(n + 1);
        }
        // The end must arrive: sent again until it is recorded.
        eventually("the end recorded", || async {
            let delivery = pool.send_text(&key, "end").await;
            matches!(delivery.remote, Remote::Published { .. })
        })
        .await;
        recorded
    };
    let cutter = async {
        for cut_at in [100, 300] {
            within("the publisher", progress.wait_for(|n| *n >= cut_at))
                .await
                .expect("publisher");
            broker.cut_subscribers().await;
        }
    };
    let reader = async {
        let mut received = Vec::new();
        loop {
            match follower.next_message().await.0.as_str() {
                "end" => return received,
                n => received.push(n.parse::<u64>().expect("a number")),
            }
        }
    };
    let (recorded, (), received) = tokio::join!(publisher, cutter, reader);
    assert!(
        received.windows(2).all(|w| w[0] < w[1]),
        "in order, once each: {received:?}"
    );
    let missing: Vec<&u64> = recorded.iter().filter(|n| !received.contains(n)).collect();
    assert!(
        missing.is_empty(),
        "recorded but never received: {missing:?}"
    );
    assert!(
        recorded.len() >= 500,
        "most sends were recorded: {}",
        recorded.len()
    );
    assert!(
        b.hub.sessions::<Journal>().gaps() >= 1,
        "the cut was noticed"
    );
    for node in [a, b] {
        node.stop().await;
    }
}

/// While the broker is down a send reaches the local sessions as it is, says it failed, and is
/// not kept; once the broker is back, sends are kept again, and a broker that lost its data
/// says so with a gap notice rather than a silent hole.
async fn an_outage_delivers_locally_unkept_then_history_resumes(mut broker: Broker) {
    let node = broker.node().await;
    let key = unique("outage");
    let path = format!("/history/{key}");
    let pool = node.hub.sessions::<Journal>();
    let mut follower = Follower::connect(&node, &path, None).await;
    follower.next().await;
    pool.send_text(&key, "before").await;
    assert_eq!(follower.next_message().await, ("before".into(), false));

    broker.take_down().await;
    let during = pool.send_text(&key, "during").await;
    assert!(matches!(during.remote, Remote::Failed(_)), "{during:?}");
    assert_eq!(during.reached, 1, "the local session got it");
    assert_eq!(
        follower.next().await,
        Frame::Other("during".into()),
        "without a position"
    );

    broker.bring_back().await;
    eventually("sends kept again", || async {
        let delivery = pool.send_text(&key, "after").await;
        matches!(delivery.remote, Remote::Published { .. })
    })
    .await;
    // Until "after" arrives (or a gap says the history it would follow is lost): the gap
    // notices seen on the way.
    let mut gaps = Vec::new();
    loop {
        match follower.next().await {
            Frame::Message { data, .. } if data == "after" => break,
            Frame::Gap { reason, .. } => {
                let lost = reason == "history_lost";
                gaps.push(reason);
                if lost {
                    break;
                }
            }
            Frame::Other(text) if text == "after" => continue, // sent while still reconnecting
            other => panic!("unexpected {other:?}"),
        }
    }
    match &broker {
        Broker::Memory(_) => assert!(gaps.is_empty(), "the memory broker kept it: {gaps:?}"),
        // Redis restarted empty: the node says the client may have missed messages, whether it
        // read the new epoch (history_lost) or could not read yet (history_unavailable).
        Broker::Redis(_) | Broker::RedisCluster(_) => assert!(!gaps.is_empty()),
    }
    node.stop().await;
}

on_every_broker!(
    an_outage_delivers_locally_unkept_then_history_resumes,
    a_client_reset_on_one_node_resumes_on_another,
    resuming_on_other_nodes_while_messages_arrive_loses_and_doubles_none,
    what_the_broker_no_longer_keeps_is_a_gap,
);

/// Only Redis's connections can be cut.
mod cut {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_redis() {
        let broker = super::Broker::redis().await;
        super::a_cut_subscription_is_filled_in_from_the_history(broker).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_redis_cluster() {
        let broker = super::Broker::redis_cluster().await;
        super::a_cut_subscription_is_filled_in_from_the_history(broker).await;
    }
}

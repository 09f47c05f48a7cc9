//! The backplanes' histories, through the `Backplane` trait: the memory broker, one Redis and a
//! Redis Cluster.
//!
//! Every test runs on a memory broker, on a real `redis-server` of its own and on a real Redis
//! Cluster of its own, with the channel and history names in the shape the hub gives them: one
//! hash tag for the three, so that one script on one shard records and publishes.

use std::time::{Duration, Instant};

use axum::body::Bytes;
use tokio::sync::mpsc::UnboundedReceiver;
use wsendpoint::{
    Backplane, BackplaneEvent, HistoryConfig, HistoryNames, HistoryPage, Recorded, RedisBackplane,
};

use crate::cluster::{on_every_broker, Broker};
use crate::redis_server::RedisServer;
use crate::support::within;

/// How often a test that waits for time to pass looks again.
const POLL: Duration = Duration::from_millis(50);

/// A key's channel and history, named as the hub names them.
struct Key {
    channel: String,
    history: HistoryNames,
}

fn key(name: &str) -> Key {
    Key {
        channel: format!("wsendpoint:/h/{name}:k:{{k=ada}}"),
        history: HistoryNames {
            entries: format!("wsendpoint:/h/{name}:h:{{k=ada}}"),
            meta: format!("wsendpoint:/h/{name}:m:{{k=ada}}"),
        },
    }
}

/// A minute's history of the default size: nothing expires during a test.
fn minute() -> HistoryConfig {
    HistoryConfig::new(Duration::from_secs(60))
}

async fn record(
    backplane: &dyn Backplane,
    key: &Key,
    entry: &[u8],
    retention: HistoryConfig,
    new_epoch: &str,
) -> Recorded {
    let entry = Bytes::copy_from_slice(entry);
    let recorded = backplane.record(&key.history, &key.channel, entry, retention, new_epoch);
    within("a record", recorded).await.expect("record")
}

async fn read(
    backplane: &dyn Backplane,
    key: &Key,
    after: u64,
    retention: HistoryConfig,
    new_epoch: &str,
) -> HistoryPage {
    let page = backplane.history(&key.history, after, retention, new_epoch);
    within("a history", page).await.expect("history")
}

/// `(offset, entry)` pairs as a page lists them.
fn entries(pairs: &[(u64, &[u8])]) -> Vec<(u64, Bytes)> {
    pairs
        .iter()
        .map(|&(offset, entry)| (offset, Bytes::copy_from_slice(entry)))
        .collect()
}

/// A second connection subscribed to `channel`, once Redis confirmed it, and its events.
async fn listener(
    broker: &Broker,
    channel: &str,
) -> (Box<dyn Backplane>, UnboundedReceiver<BackplaneEvent>) {
    let backplane = broker.connect().await;
    let mut events = backplane.events().expect("the events, taken once");
    within("a subscription", backplane.subscribe(vec![channel.into()]))
        .await
        .expect("subscribe");
    within("the subscription's confirmation", async {
        loop {
            match events.recv().await.expect("an event") {
                BackplaneEvent::Subscribed { channel: confirmed } if confirmed == channel => return,
                _ => continue,
            }
        }
    })
    .await;
    (backplane, events)
}

/// The next message on any channel, skipping confirmations and interruptions.
async fn next_message(events: &mut UnboundedReceiver<BackplaneEvent>) -> (String, Bytes) {
    within("a message", async {
        loop {
            if let BackplaneEvent::Message { channel, payload } =
                events.recv().await.expect("an event")
            {
                return (channel, payload);
            }
        }
    })
    .await
}

/// Waits at most `bound` for `future`: a deadline of the test's own, shorter than the patience.
async fn at_most<F: std::future::Future>(bound: Duration, what: &str, future: F) -> F::Output {
    tokio::time::timeout(bound, future)
        .await
        .unwrap_or_else(|_| panic!("{what} took more than {bound:?}"))
}

/// Binary entries: a zero byte, bytes that are no UTF-8, an empty one.
const ENTRIES: [&[u8]; 3] = [b"\x00first", b"\xff\xfe\x00\x80", b""];

async fn records_are_numbered_and_published(broker: Broker) {
    let key = key("numbered");
    let (_listening, mut events) = listener(&broker, &key.channel).await;
    let backplane = broker.connect().await;
    let mut positions = Vec::new();
    for (index, entry) in ENTRIES.into_iter().enumerate() {
        // Only the first record starts the epoch: the others keep it.
        let new_epoch = format!("epoch-{index}");
        let recorded = record(&*backplane, &key, entry, minute(), &new_epoch).await;
        positions.push((recorded.epoch, recorded.offset));
        assert_eq!(recorded.receivers, 1, "the listener received it");
    }
    let epoch = "epoch-0".to_owned();
    let expected: Vec<_> = (1..=3).map(|offset| (epoch.clone(), offset)).collect();
    assert_eq!(positions, expected);
    for (entry, (epoch, offset)) in ENTRIES.into_iter().zip(positions) {
        let published = [entry, format!("{epoch}:{offset}").as_bytes()].concat();
        assert_eq!(
            next_message(&mut events).await,
            (key.channel.clone(), published.into())
        );
    }
}

async fn history_is_read_after_an_offset(broker: Broker) {
    let backplane = broker.connect().await;
    let key = key("after");
    for entry in ENTRIES {
        record(&*backplane, &key, entry, minute(), "E").await;
    }
    let [first, second, third] = ENTRIES;
    let page = read(&*backplane, &key, 1, minute(), "unused").await;
    assert_eq!((page.epoch.as_str(), page.top), ("E", 3));
    assert_eq!(page.entries, entries(&[(2, second), (3, third)]));
    let all = read(&*backplane, &key, 0, minute(), "unused").await;
    assert_eq!(all.entries, entries(&[(1, first), (2, second), (3, third)]));
    for caught_up in [3, (1 << 53) - 1, u64::MAX] {
        let page = read(&*backplane, &key, caught_up, minute(), "unused").await;
        assert_eq!((page.top, page.entries), (3, vec![]), "after {caught_up}");
    }
}

async fn history_keeps_the_newest_size(broker: Broker) {
    let backplane = broker.connect().await;
    let key = key("size");
    let two = minute().with_size(2);
    for offset in 1..=5u8 {
        let recorded = record(&*backplane, &key, &[offset], two, "E").await;
        assert_eq!(recorded.offset, u64::from(offset));
    }
    let page = read(&*backplane, &key, 0, two, "E").await;
    assert_eq!(page.top, 5);
    assert_eq!(page.entries, entries(&[(4, &[4]), (5, &[5])]));
}

async fn history_drops_entries_older_than_the_ttl(broker: Broker) {
    let backplane = broker.connect().await;
    let key = key("ttl");
    let second = HistoryConfig::new(Duration::from_secs(1));
    let recorded_at = Instant::now();
    record(&*backplane, &key, b"old", second, "E").await;
    let page = read(&*backplane, &key, 0, second, "E").await;
    assert_eq!(page.entries, entries(&[(1, b"old")]));

    // A second entry half-way renews the stream's life: only the read can drop the first.
    let mut renewed = false;
    let page = at_most(Duration::from_secs(5), "the old entry's drop", async {
        loop {
            if !renewed && recorded_at.elapsed() >= Duration::from_millis(500) {
                record(&*backplane, &key, b"new", second, "E").await;
                renewed = true;
            }
            let page = read(&*backplane, &key, 0, second, "E").await;
            if page.entries.first().map(|(offset, _)| *offset) != Some(1) {
                return page;
            }
            tokio::time::sleep(POLL).await;
        }
    })
    .await;
    let dropped_after = recorded_at.elapsed();
    assert!(
        dropped_after >= Duration::from_millis(950),
        "{dropped_after:?}"
    );
    assert_eq!(page.entries, entries(&[(2, b"new")]));

    // Then the entries expire, the epoch and the last offset do not.
    let page = at_most(Duration::from_secs(5), "the new entry's drop", async {
        loop {
            let page = read(&*backplane, &key, 0, second, "other").await;
            if page.entries.is_empty() {
                return page;
            }
            tokio::time::sleep(POLL).await;
        }
    })
    .await;
    assert_eq!((page.epoch.as_str(), page.top), ("E", 2));
    let next = record(&*backplane, &key, b"next", second, "other").await;
    assert_eq!((next.epoch.as_str(), next.offset), ("E", 3));
}

async fn an_unknown_history_starts_at_the_epoch_given(broker: Broker) {
    let backplane = broker.connect().await;
    let key = key("unknown");
    let page = read(&*backplane, &key, 0, minute(), "first").await;
    assert_eq!(page, page_of("first", 0));
    let again = read(&*backplane, &key, 0, minute(), "second").await;
    assert_eq!(again, page_of("first", 0), "the epoch started is kept");
    let recorded = record(&*backplane, &key, b"one", minute(), "third").await;
    assert_eq!((recorded.epoch.as_str(), recorded.offset), ("first", 1));
}

/// A page without entries.
fn page_of(epoch: &str, top: u64) -> HistoryPage {
    HistoryPage {
        epoch: epoch.into(),
        top,
        entries: vec![],
    }
}

/// One Redis only: a cluster node restarted empty would keep its slots, but the test's cluster
/// takes longer to serve again than the point needs.
async fn a_history_lost_by_redis_starts_a_new_epoch(mut server: RedisServer) {
    let backplane = RedisBackplane::connect(&server.url())
        .await
        .expect("connect to Redis");
    let key = key("lost");
    let recorded = record(&backplane, &key, b"one", minute(), "before").await;
    assert_eq!((recorded.epoch.as_str(), recorded.offset), ("before", 1));
    server.restart().await;
    // The connection comes back by itself; until then the reads fail.
    let page = within("Redis to be back", async {
        loop {
            let read = backplane.history(&key.history, 1, minute(), "after");
            if let Ok(page) = read.await {
                return page;
            }
            tokio::time::sleep(POLL).await;
        }
    })
    .await;
    assert_eq!(page, page_of("after", 0));
    let recorded = record(&backplane, &key, b"two", minute(), "later").await;
    assert_eq!((recorded.epoch.as_str(), recorded.offset), ("after", 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_lost_by_redis_starts_a_new_epoch_on_redis() {
    a_history_lost_by_redis_starts_a_new_epoch(RedisServer::start().await).await;
}

async fn a_retried_record_is_kept_once(broker: Broker) {
    let backplane = broker.connect().await;
    let key = key("retried");
    let first = record(&*backplane, &key, b"unique entry", minute(), "E").await;
    let retried = record(&*backplane, &key, b"unique entry", minute(), "E").await;
    assert_eq!((first.offset, retried.offset), (1, 1), "the same record");
    let next = record(&*backplane, &key, b"another", minute(), "E").await;
    assert_eq!(next.offset, 2);
    let page = read(&*backplane, &key, 0, minute(), "E").await;
    assert_eq!(page.entries.len(), 2);
}

on_every_broker!(
    records_are_numbered_and_published,
    history_is_read_after_an_offset,
    history_keeps_the_newest_size,
    history_drops_entries_older_than_the_ttl,
    an_unknown_history_starts_at_the_epoch_given,
    a_retried_record_is_kept_once,
);

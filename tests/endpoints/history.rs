//! History and replay per key: a client that reconnects with the last position it saw gets what
//! it missed, in order and once, before any live message, or a gap notice saying why not.
//!
//! The clients are tokio-tungstenite clients that keep their position as the JS client does,
//! and lose their connection by a TCP reset, as a closed laptop or a dead Wi-Fi does.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;
use wsendpoint::prelude::*;

use crate::support::{recv_text, unique, within, Client, RawClient, TestServer};

#[derive(Default)]
pub struct Journal;

/// The endpoint of these tests: keeps two minutes, at most 2000 messages per key.
#[server_endpoint(
    "/history/<key>",
    history = "2m",
    history_size = 2000,
    ping_interval = "off"
)]
impl Journal {}

#[derive(Default)]
pub struct ShortJournal;

/// Keeps 10 messages per key: for what is too old to replay.
#[server_endpoint(
    "/history-short/<key>",
    history = "2m",
    history_size = 10,
    ping_interval = "off"
)]
impl ShortJournal {}

#[derive(Default)]
pub struct NoHistory;

#[server_endpoint("/history-none/<key>", ping_interval = "off")]
impl NoHistory {}

/// A frame of an endpoint with history, as a client reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A message of the key's history, live or replayed.
    Message {
        at: Position,
        data: String,
        replayed: bool,
    },
    /// Where the history stands, first on a connection that does not resume.
    Position(Position),
    /// The replay ended; the history stands at this position.
    Recovered { at: Position, replayed: u64 },
    /// What was missed cannot be replayed.
    Gap { at: Position, reason: String },
    /// A message outside the history (a binary one, a group send, a latest value).
    Other(String),
}

/// Where a message stands: epoch and offset.
pub type Position = (String, u64);

/// Parses what a client of a history endpoint received.
pub fn parse(text: &str) -> Frame {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return Frame::Other(text.to_owned());
    };
    let Some(kind) = value["$ws"].as_str() else {
        return Frame::Other(text.to_owned());
    };
    let at = (
        value["epoch"].as_str().expect("an epoch").to_owned(),
        value["offset"].as_u64().expect("an offset"),
    );
    match kind {
        "message" => Frame::Message {
            at,
            data: value["data"].as_str().expect("data").to_owned(),
            replayed: value["replayed"] == true,
        },
        "position" => Frame::Position(at),
        "recovered" => Frame::Recovered {
            at,
            replayed: value["replayed"].as_u64().expect("a count"),
        },
        "gap" => Frame::Gap {
            at,
            reason: value["reason"].as_str().expect("a reason").to_owned(),
        },
        other => panic!("unknown history frame {other:?}: {text}"),
    }
}

/// A client that keeps the position of the last history message it read, and resumes from it.
pub struct Follower {
    pub client: Client,
    pub position: Option<Position>,
}

impl Follower {
    /// Connects to `path` on `server`, resuming from `position` if given.
    pub async fn connect(server: &TestServer, path: &str, position: Option<Position>) -> Self {
        Self::connect_to(server.addr, path, position).await
    }

    /// [`connect`](Self::connect) by address, for tasks that do not hold the server.
    pub async fn connect_to(addr: SocketAddr, path: &str, position: Option<Position>) -> Self {
        let path = match &position {
            Some((epoch, offset)) => format!("{path}?ws_since={epoch}:{offset}"),
            None => path.to_owned(),
        };
        let url = format!("ws://{addr}{path}");
        let (client, _) = within("the handshake", tokio_tungstenite::connect_async(url))
            .await
            .unwrap_or_else(|e| panic!("connect {path}: {e}"));
        Follower { client, position }
    }

    /// The next frame; a message or a notice moves the position.
    pub async fn next(&mut self) -> Frame {
        let frame = parse(&recv_text(&mut self.client).await);
        match &frame {
            Frame::Message { at, .. } => self.position = Some(at.clone()),
            Frame::Position(at) | Frame::Gap { at, .. } => self.position = Some(at.clone()),
            Frame::Recovered { .. } | Frame::Other(_) => {}
        }
        frame
    }

    /// The data of the next history message, skipping the notices; whether it was replayed.
    pub async fn next_message(&mut self) -> (String, bool) {
        loop {
            match self.next().await {
                Frame::Message { data, replayed, .. } => return (data, replayed),
                Frame::Gap { at, reason } => panic!("a gap at {at:?}: {reason}"),
                _ => continue,
            }
        }
    }

    /// Drops the connection with a TCP reset; the position it had.
    pub fn reset(self) -> Option<Position> {
        RawClient::from(self.client).reset();
        self.position
    }
}

/// Sends `count` messages `"0"`, `"1"`, … to `key`, about one every `every`, publishing how many
/// went out so far on `sent`.
async fn publish(
    pool: SessionPool,
    key: String,
    count: u64,
    every: Duration,
    sent: watch::Sender<u64>,
) {
    let mut ticker = tokio::time::interval(every);
    for n in 0..count {
        ticker.tick().await;
        pool.send_text(&key, n.to_string()).await;
        sent.send_replace(n + 1);
    }
}

/// Waits until `sent` says at least `count` messages went out.
async fn until_sent(sent: &mut watch::Receiver<u64>, count: u64) {
    within("the publisher", sent.wait_for(|n| *n >= count))
        .await
        .expect("the publisher runs");
}

#[tokio::test]
async fn a_client_reset_during_a_thousand_messages_gets_each_once_in_order() {
    let server = TestServer::start().await;
    let key = unique("reset");
    let path = format!("/history/{key}");
    let mut follower = Follower::connect(&server, &path, None).await;
    let Frame::Position(start) = follower.next().await else {
        panic!("the first frame says where the history stands");
    };
    assert_eq!(start.1, 0, "nothing was sent to {key} yet");
    let (tx, mut sent) = watch::channel(0);
    let pool = server.hub.sessions::<Journal>();
    let publisher = tokio::spawn(publish(
        pool,
        key.clone(),
        1000,
        Duration::from_millis(5),
        tx,
    ));

    let mut received = Vec::new();
    while received.len() < 200 {
        received.push(follower.next_message().await.0);
    }
    let position = follower.reset();
    until_sent(&mut sent, 600).await;
    let mut follower = Follower::connect(&server, &path, position).await;
    let mut replayed = 0;
    while received.len() < 1000 {
        let (data, was_replayed) = follower.next_message().await;
        replayed += usize::from(was_replayed);
        received.push(data);
    }
    let expected: Vec<String> = (0..1000).map(|n| n.to_string()).collect();
    assert_eq!(received, expected, "all 1000, once each, in order");
    assert!(
        replayed >= 400,
        "what was sent while away came as a replay: {replayed}"
    );
    within("the publisher", publisher).await.expect("publisher");
}

#[tokio::test]
async fn replayed_messages_come_before_live_ones_and_say_so() {
    let server = TestServer::start().await;
    let key = unique("order");
    let path = format!("/history/{key}");
    let pool = server.hub.sessions::<Journal>();
    let mut first = Follower::connect(&server, &path, None).await;
    pool.send_text(&key, "a").await;
    pool.send_text(&key, "b").await;
    let _position = first.next().await;
    let Frame::Message { at, .. } = first.next().await else {
        panic!("a message");
    };
    let mut again = Follower::connect(&server, &path, Some(at.clone())).await;
    pool.send_text(&key, "c").await;
    let frames = [again.next().await, again.next().await, again.next().await];
    let epoch = at.0.clone();
    assert_eq!(
        frames,
        [
            Frame::Message {
                at: (epoch.clone(), 2),
                data: "b".into(),
                replayed: true
            },
            Frame::Recovered {
                at: (epoch.clone(), 2),
                replayed: 1
            },
            Frame::Message {
                at: (epoch, 3),
                data: "c".into(),
                replayed: false
            },
        ]
    );
}

#[tokio::test]
async fn a_position_older_than_the_history_gets_a_gap_then_live_messages() {
    let server = TestServer::start().await;
    let key = unique("old");
    let path = format!("/history-short/{key}");
    let pool = server.hub.sessions::<ShortJournal>();
    let mut follower = Follower::connect(&server, &path, None).await;
    let Frame::Position((epoch, _)) = follower.next().await else {
        panic!("a position");
    };
    drop(follower);
    for n in 0..20 {
        pool.send_text(&key, n.to_string()).await;
    }
    let position = Some((epoch.clone(), 5));
    let mut follower = Follower::connect(&server, &path, position).await;
    let gap = follower.next().await;
    assert_eq!(
        gap,
        Frame::Gap {
            at: (epoch.clone(), 20),
            reason: "too_old".into()
        },
        "10 kept: 11..=20, and the client missed 6..=20"
    );
    pool.send_text(&key, "live").await;
    assert_eq!(follower.next_message().await, ("live".into(), false));
    assert_eq!(follower.position, Some((epoch.clone(), 21)));
    let mut recent = Follower::connect(&server, &path, Some((epoch, 11))).await;
    let (first, replayed) = recent.next_message().await;
    assert_eq!((first.as_str(), replayed), ("11", true), "12..=21 are kept");
}

#[tokio::test]
async fn a_position_of_another_epoch_gets_a_gap_after_a_restart() {
    let server = TestServer::start().await;
    let key = unique("restart");
    let path = format!("/history/{key}");
    let mut follower = Follower::connect(&server, &path, None).await;
    follower.next().await;
    server
        .hub
        .sessions::<Journal>()
        .send_text(&key, "before")
        .await;
    follower.next_message().await;
    let position = follower.reset().expect("a position");
    server.stop().await;

    let restarted = TestServer::start().await;
    let mut follower = Follower::connect(&restarted, &path, Some(position.clone())).await;
    let Frame::Gap { at, reason } = follower.next().await else {
        panic!("a gap");
    };
    assert_eq!(reason, "history_lost");
    assert_ne!(at.0, position.0, "a new epoch");
    assert_eq!(at.1, 0);
    let mut stranger = Follower::connect(&restarted, &path, Some((at.0, 7))).await;
    let Frame::Gap { reason, .. } = stranger.next().await else {
        panic!("a gap");
    };
    assert_eq!(reason, "unknown_position", "ahead of the history");
}

/// Three clients reset and resume five times each while messages keep arriving: each one's
/// messages, across all its connections, are exactly the sequence sent.
#[tokio::test]
async fn resuming_while_live_messages_arrive_loses_and_doubles_none() {
    let server = TestServer::start().await;
    let key = unique("live");
    let path = format!("/history/{key}");
    let mut followers = Vec::new();
    for _ in 0..3 {
        let mut follower = Follower::connect(&server, &path, None).await;
        follower.next().await;
        followers.push(follower);
    }
    let (tx, _sent) = watch::channel(0);
    let pool = server.hub.sessions::<Journal>();
    let publisher = tokio::spawn(publish(
        pool,
        key.clone(),
        1500,
        Duration::from_millis(1),
        tx,
    ));
    let readers = followers.into_iter().enumerate().map(|(at, mut follower)| {
        let (server_addr, path) = (server.addr, path.clone());
        async move {
            let mut received = Vec::new();
            for round in 0..5 {
                let stop = 100 * (round + 1) + 20 * at;
                while received.len() < stop {
                    received.push(follower.next_message().await.0);
                }
                let position = follower.reset();
                follower = Follower::connect_to(server_addr, &path, position).await;
            }
            while received.len() < 1500 {
                received.push(follower.next_message().await.0);
            }
            received
        }
    });
    let expected: Vec<String> = (0..1500).map(|n| n.to_string()).collect();
    for received in futures_util::future::join_all(readers).await {
        assert_eq!(received, expected);
    }
    within("the publisher", publisher).await.expect("publisher");
}

#[tokio::test]
async fn only_text_sent_to_a_key_is_kept() {
    let server = TestServer::start().await;
    let key = unique("kinds");
    let path = format!("/history/{key}");
    let pool = server.hub.sessions::<Journal>();
    let mut follower = Follower::connect(&server, &path, None).await;
    follower.next().await;
    pool.send_latest(&key, "tag", Message::text("latest")).await;
    pool.broadcast_text("everyone").await;
    pool.send_text(&key, "kept").await;
    assert_eq!(follower.next().await, Frame::Other("latest".into()));
    assert_eq!(follower.next().await, Frame::Other("everyone".into()));
    assert_eq!(follower.next_message().await, ("kept".into(), false));
    let (epoch, offset) = follower.position.clone().expect("a position");
    assert_eq!(offset, 1, "only the text sent to the key has an offset");
    let mut again = Follower::connect(&server, &path, Some((epoch, 0))).await;
    assert_eq!(again.next_message().await, ("kept".into(), true));
}

#[tokio::test]
async fn a_malformed_position_is_a_400_and_ignored_without_history() {
    let server = TestServer::start().await;
    let key = unique("bad");
    for bad in ["nope", "e:-1", "e:9007199254740992", "%22:1"] {
        let path = format!("/history/{key}?ws_since={bad}");
        assert_eq!(server.refused_status(&path).await, 400, "{bad}");
    }
    let path = format!("/history-none/{key}?ws_since=nope");
    let mut client = server.connect(&path).await;
    server
        .hub
        .sessions::<NoHistory>()
        .send_text(&key, "plain")
        .await;
    assert_eq!(
        recv_text(&mut client).await,
        "plain",
        "no frame of a history"
    );
}

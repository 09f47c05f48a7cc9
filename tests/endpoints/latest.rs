//! Latest-value sends: a reader that falls behind gets the newest value, never a backlog, and
//! is never closed for it; on one node and across nodes.
//!
//! The slow reader's socket buffers, on both ends, are a few kilobytes and each update one, so
//! what it does not read stays in the server's queue, where the coalescing happens.

use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
use tokio_tungstenite::MaybeTlsStream;
use wsendpoint::prelude::*;
use wsendpoint::SessionPool;

use crate::support::{recv_text, unique, within, Client, TestServer, PATIENCE};

#[derive(Default)]
pub struct Progress;

#[server_endpoint("/latest/<key>", ping_interval = "off")]
impl Progress {}

/// The size of each update: a sequence number, then padding.
const UPDATE_BYTES: usize = 1024;

/// A listener on 127.0.0.1 whose connections' send buffers are 4 KiB, not the megabytes that
/// loopback grows them to, which would hold thousands of updates.
pub fn small_buffer_listener() -> TcpListener {
    let socket = TcpSocket::new_v4().expect("a socket");
    socket.set_send_buffer_size(4096).expect("a small buffer");
    socket
        .bind("127.0.0.1:0".parse().expect("an address"))
        .expect("bind");
    socket.listen(128).expect("listen")
}

/// A server of `hub` on a [`small_buffer_listener`].
pub fn small_buffer_server(hub: Hub) -> TestServer {
    let router = hub.router();
    TestServer::start_on(small_buffer_listener(), hub, router)
}

/// A client of `server` on `path` whose receive buffer is 4 KiB.
pub async fn slow_client(server: &TestServer, path: &str) -> Client {
    let socket = TcpSocket::new_v4().expect("a socket");
    socket.set_recv_buffer_size(4096).expect("a small buffer");
    let stream = within("the connection", socket.connect(server.addr))
        .await
        .expect("connect");
    let url = server.url(path);
    let (client, _) = within(
        "the handshake",
        tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream)),
    )
    .await
    .expect("handshake");
    client
}

/// `count` updates to `key` at `per_ms` a millisecond, each checked (reached its session, never
/// refused), then an ordinary "done" that waits for the node that holds `key` to deliver it,
/// and with it every update before it.
pub async fn push_updates(pool: SessionPool, key: String, count: u64, per_ms: u64) {
    let mut ticker = tokio::time::interval(Duration::from_millis(1));
    let mut sent = 0;
    while sent < count {
        ticker.tick().await;
        for _ in 0..per_ms.min(count - sent) {
            let update = format!("{sent:08}{:>1$}", "", UPDATE_BYTES - 8);
            let delivery = pool.send_latest(&key, "n", Message::text(update)).await;
            assert_eq!(delivery.refused, 0, "a latest-value send is never refused");
            sent += 1;
        }
    }
    let done = pool.send_acked(&key, Message::text("done"), PATIENCE).await;
    assert_eq!(
        done.delivery.reached as u64 + done.remote_reached as u64,
        1,
        "{done:?}"
    );
}

/// The sequence number of an update.
fn number(update: &str) -> u64 {
    update[..8].parse().expect("a sequence number")
}

/// Reads 10 updates a second while `pushing` runs, then the rest at full speed, until "done":
/// every update is newer than the one before, the last is `count - 1`, and far fewer arrive
/// than were sent. A close fails in `recv_text`.
pub async fn read_slowly_until_done(
    client: &mut Client,
    pushing: tokio::task::JoinHandle<()>,
    count: u64,
) {
    let (mut last, mut received) = (None, 0u64);
    let mut slowly = true;
    loop {
        let update = recv_text(client).await;
        if update == "done" {
            break;
        }
        let n = number(&update);
        assert!(last.is_none_or(|last| n > last), "{n} after {last:?}");
        (last, received) = (Some(n), received + 1);
        slowly = slowly && !pushing.is_finished();
        if slowly {
            tokio::time::sleep(Duration::from_millis(100)).await; // the slow reader itself
        }
    }
    within("the pushes to end", pushing)
        .await
        .expect("every push was accepted");
    assert_eq!(last, Some(count - 1), "the newest value arrives");
    // About 30 read while pushing, and what 8 KiB of socket buffers hold (~75 in all).
    assert!(
        received < 300,
        "{received} of {count} updates reached the slow reader: they were not coalesced"
    );
}

/// 20k updates a second for 3 s to a reader of 10 a second (a queue of 256 without coalescing
/// would close it with 1008 within 13 ms).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_gets_the_newest_value_and_is_never_closed() {
    const UPDATES: u64 = 60_000;
    let server = small_buffer_server(Hub::new());
    let key = unique("slow");
    let mut client = slow_client(&server, &format!("/latest/{key}")).await;
    let pool = server.hub.sessions::<Progress>();
    let pushing = tokio::spawn(push_updates(pool, key, UPDATES, 20));
    within(
        "the slow reader",
        read_slowly_until_done(&mut client, pushing, UPDATES),
    )
    .await;
    drop(client);
    server.stop().await;
}

/// Ordinary messages keep their place among latest values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordinary_sends_keep_their_order_around_latest_values() {
    let server = TestServer::start().await;
    let key = unique("mixed");
    let mut client = server.connect(&format!("/latest/{key}")).await;
    let pool = server.hub.sessions::<Progress>();
    assert_eq!(pool.send_text(&key, "start").await.reached, 1);
    let latest = pool.send_latest_json(&key, "p", &1).await.expect("json");
    assert_eq!(latest.reached, 1);
    pool.send_text(&key, "end").await;
    for expected in ["start", "1", "end"] {
        assert_eq!(recv_text(&mut client).await, expected);
    }
    drop(client);
    server.stop().await;
}

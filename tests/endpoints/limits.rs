//! Limits and liveness: message size, idle timeout, and a client that stops reading.

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as Wire;
use wsendpoint::prelude::*;

use crate::support::{recv_text, send_text, unique, within, RawClient, Recorder, TestServer};

static EVENTS: Recorder = Recorder::new();

#[derive(Default)]
struct Small;

#[server_endpoint("/small/<key>", max_message_size = "1KiB")]
impl Small {
    #[on_message]
    fn echo(&mut self, text: String) -> String {
        text.len().to_string()
    }

    #[on_error]
    fn error(&mut self, session: &Session, error: wsendpoint::Error) {
        EVENTS.push(
            session,
            format!("error:{}", error.close_code().map_or(0, u16::from)),
        );
    }

    #[on_close]
    fn close(&mut self, session: &Session, reason: CloseReason) {
        EVENTS.push(session, format!("close:{}", u16::from(reason.code())));
    }
}

#[derive(Default)]
struct Sleepy;

#[server_endpoint("/sleepy/<key>", ping_interval = "100ms", idle_timeout = "400ms")]
impl Sleepy {
    #[on_message]
    fn echo(&mut self, text: String) -> String {
        text
    }

    #[on_error]
    fn error(&mut self, session: &Session, error: wsendpoint::Error) {
        EVENTS.push(session, format!("error:{error}"));
    }

    #[on_close]
    fn close(&mut self, session: &Session, reason: CloseReason) {
        EVENTS.push(session, format!("close:{}", u16::from(reason.code())));
    }
}

#[derive(Default)]
struct Firehose;

#[server_endpoint("/firehose/<key>", send_queue = 8, ping_interval = "off")]
impl Firehose {
    #[on_open]
    fn open(&mut self, session: &Session) {
        EVENTS.push(session, "open");
    }

    #[on_close]
    fn close(&mut self, session: &Session, reason: CloseReason) {
        EVENTS.push(session, format!("close:{}", u16::from(reason.code())));
    }
}

#[derive(Default)]
struct Lossy;

#[server_endpoint(
    "/lossy/<key>",
    send_queue = 4,
    on_overflow = "drop_newest",
    ping_interval = "off"
)]
impl Lossy {
    #[on_close]
    fn close(&mut self, session: &Session, reason: CloseReason) {
        EVENTS.push(session, format!("close:{}", u16::from(reason.code())));
    }
}

#[tokio::test]
async fn drop_newest_keeps_a_slow_consumer_open_and_drops_only_what_does_not_fit() {
    let server = TestServer::start().await;
    let key = unique("lossy");
    let mut client = server.connect(&format!("/lossy/{key}")).await;
    let pool = server.hub.sessions::<Lossy>();
    let chunk = "q".repeat(64 * 1024);
    // The client reads nothing until a send is dropped: socket buffers, then the queue, fill.
    let mut sent = 0;
    let mut dropped = false;
    for _ in 0..1000 {
        if pool.send_text(&key, chunk.clone()).await.reached == 0 {
            dropped = true;
            break;
        }
        sent += 1;
    }
    assert!(dropped, "a send was dropped within 1000 × 64 KiB");
    let session = pool.sessions(&key).pop().expect("still in the pool");
    assert!(session.is_open(), "drop_newest keeps the session");
    assert_eq!(session.try_send_text("x"), Err(wsendpoint::SendError::Full));

    // Everything that was accepted arrives, in order; then the session works as before.
    for _ in 0..sent {
        assert_eq!(recv_text(&mut client).await.len(), chunk.len());
    }
    assert_eq!(pool.send_text(&key, "after the backlog").await.reached, 1);
    assert_eq!(recv_text(&mut client).await, "after the backlog");
    assert!(EVENTS.of_key(&key).is_empty(), "never closed");
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn a_message_over_the_limit_closes_with_1009_and_reaches_on_error() {
    let server = TestServer::start().await;
    let key = unique("big");
    let mut client = server.connect(&format!("/small/{key}")).await;
    send_text(&mut client, &"x".repeat(1024)).await;
    assert_eq!(
        recv_text(&mut client).await,
        "1024",
        "exactly the limit is fine"
    );

    let mut raw = RawClient::from(client);
    raw.send_large_frame(0x1, &vec![b'y'; 1025]).await;
    assert_eq!(raw.close_code().await, Some(1009));
    let events = EVENTS.wait_count(&key, "close:1009", 1).await;
    assert!(events.iter().any(|e| e.what == "error:1009"), "{events:#?}");
    server.stop().await;
}

#[tokio::test]
async fn an_oversize_frame_is_refused_from_its_header_without_buffering_its_payload() {
    let server = TestServer::start().await;
    let key = unique("huge");
    let mut raw = RawClient::from(server.connect(&format!("/small/{key}")).await);
    // Announce 1 GiB, send only the header: the server must answer from the length alone.
    raw.send_frame_header(0x2, 1 << 30).await;
    assert_eq!(raw.close_code().await, Some(1009));
    EVENTS.wait_count(&key, "close:1009", 1).await;
    server.stop().await;
}

#[tokio::test]
async fn a_silent_client_is_closed_after_the_idle_timeout_and_a_responsive_one_is_not() {
    let server = TestServer::start().await;
    let (awake, silent) = (unique("awake"), unique("silent"));

    // A tokio-tungstenite client answers pings while something reads it.
    let client = server.connect(&format!("/sleepy/{awake}")).await;
    let (mut write, mut read) = client.split();
    let (texts_tx, mut texts) = mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        while let Some(Ok(message)) = read.next().await {
            if let Wire::Text(text) = message {
                let _ = texts_tx.send(text.to_string());
            }
        }
    });

    // A raw client that never answers anything.
    let mut raw = RawClient::from(server.connect(&format!("/sleepy/{silent}")).await);
    assert_eq!(raw.close_code().await, Some(1001));
    let events = EVENTS.wait_count(&silent, "close:1001", 1).await;
    assert!(
        events[0].what.starts_with("error:idle for 400ms"),
        "{events:#?}"
    );

    // The awake client has been connected longer than the idle timeout, and is still served.
    use futures_util::SinkExt;
    within("a send", write.send(Wire::text("still here")))
        .await
        .unwrap();
    assert_eq!(
        within("the echo", texts.recv()).await.as_deref(),
        Some("still here")
    );
    assert!(
        EVENTS.of_key(&awake).is_empty(),
        "{:#?}",
        EVENTS.of_key(&awake)
    );
    drop(write);
    reader.abort();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_closed_and_never_stalls_broadcasts_to_200_others() {
    const READERS: usize = 200;
    /// Rounds at most: 200 × 8 × 64 KiB = 100 MiB offered to the stalled client, far beyond
    /// any socket buffer, so it must have been closed well before.
    const MAX_ROUNDS: usize = 200;
    let server = TestServer::start().await;
    let prefix = unique("reader");

    // 200 clients that read everything and report each tick they see.
    let (seen_tx, mut seen) = mpsc::unbounded_channel::<usize>();
    let mut readers = Vec::new();
    for i in 0..READERS {
        let client = server.connect(&format!("/firehose/{prefix}-{i}")).await;
        let seen_tx = seen_tx.clone();
        readers.push(tokio::spawn(async move {
            let (_write, mut read) = client.split();
            while let Some(Ok(message)) = read.next().await {
                if let Wire::Text(text) = message {
                    let _ = seen_tx.send(text.strip_prefix("tick ").unwrap().parse().unwrap());
                }
            }
        }));
    }
    // One client that never reads: its socket buffers fill, then its queue of 8.
    let stalled = unique("stalled");
    let raw = RawClient::from(server.connect(&format!("/firehose/{stalled}")).await);
    EVENTS.wait_count(&stalled, "open", 1).await;

    let pool = server.hub.sessions::<Firehose>();
    let chunk = "z".repeat(64 * 1024);
    let mut closed_at = None;
    for round in 0..MAX_ROUNDS {
        if closed_at.is_none() {
            for _ in 0..8 {
                if pool.send_text(&stalled, chunk.clone()).await.reached == 0 {
                    closed_at = Some(round);
                    break;
                }
            }
        }
        let reached = pool.broadcast_text(format!("tick {round}")).await.reached;
        assert!(reached >= READERS, "round {round}: reached {reached}");
        // Every reader gets this round's tick while the stalled client sits on its backlog.
        for _ in 0..READERS {
            let tick = within("every reader to see the tick", seen.recv()).await;
            assert_eq!(tick, Some(round));
        }
        if closed_at.is_some_and(|at| round > at) {
            assert_eq!(reached, READERS, "the stalled client is out of the pool");
            break;
        }
    }
    assert!(
        closed_at.is_some(),
        "the stalled client was closed by its full queue"
    );
    let events = EVENTS.wait_count(&stalled, "close:1008", 1).await;
    assert_eq!(events.len(), 2, "{events:#?}");
    assert!(!pool.contains(&stalled));
    drop(raw);
    for reader in readers {
        reader.abort();
    }
    server.stop().await;
}

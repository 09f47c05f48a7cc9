//! Graceful shutdown, and hubs that share nothing.

use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WireCode;
use wsendpoint::prelude::*;

use crate::support::{recv_close, recv_text, unique, within, Recorder, TestServer};

static EVENTS: Recorder = Recorder::new();

#[derive(Default)]
struct Tracked;

#[server_endpoint("/tracked/<key>")]
impl Tracked {
    #[on_open]
    fn open(&mut self, session: &Session) {
        EVENTS.push(session, "open");
    }

    /// `flood`: pushes to itself until the queue is full and the push blocks (the test's client
    /// never reads), bounded in count.
    #[on_message]
    async fn message(&mut self, session: &Session, text: &str) {
        if text == "flood" {
            EVENTS.push(session, "flooding");
            let chunk = "x".repeat(16 * 1024);
            for _ in 0..20_000 {
                if session.send_text(chunk.clone()).await.is_err() {
                    break;
                }
            }
        }
    }

    #[on_close]
    async fn close(&mut self, session: &Session, reason: CloseReason) {
        // An async on_close that yields still completes before shutdown returns.
        tokio::task::yield_now().await;
        EVENTS.push(session, format!("close:{}", u16::from(reason.code())));
    }
}

#[tokio::test]
async fn shutdown_closes_every_session_with_1001_and_runs_each_on_close_before_returning() {
    let server = TestServer::start().await;
    let key = unique("shutdown");
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(server.connect(&format!("/tracked/{key}")).await);
    }
    EVENTS.wait_count(&key, "open", 3).await;
    let addr = server.addr;
    let closing = tokio::spawn(async move {
        let mut codes = Vec::new();
        for client in &mut clients {
            codes.push(recv_close(client).await.map(|f| f.code));
        }
        codes
    });

    server.stop().await;
    // stop() returned: every on_close has already run.
    let closes = EVENTS
        .of_key(&key)
        .iter()
        .filter(|e| e.what == "close:1001")
        .count();
    assert_eq!(closes, 3);
    let codes = within("the clients", closing).await.expect("clients");
    assert_eq!(codes, vec![Some(WireCode::Away); 3]);

    let refused = tokio_tungstenite::connect_async(format!("ws://{addr}/tracked/{key}")).await;
    assert!(refused.is_err(), "the listener is gone");
}

#[tokio::test]
async fn two_hubs_in_one_process_share_no_sessions() {
    let first = TestServer::start().await;
    let second = TestServer::start().await;
    let key = unique("isolated");
    let mut client = first.connect(&format!("/tracked/{key}")).await;
    EVENTS.wait_count(&key, "open", 1).await;

    assert_eq!(
        second
            .hub
            .sessions::<Tracked>()
            .send_text(&key, "from second")
            .await
            .reached,
        0
    );
    assert!(second.hub.sessions::<Tracked>().is_empty());
    assert_eq!(
        first
            .hub
            .sessions::<Tracked>()
            .send_text(&key, "from first")
            .await
            .reached,
        1
    );
    assert_eq!(recv_text(&mut client).await, "from first");

    // Shutting one hub down leaves the other serving.
    second.stop().await;
    assert_eq!(first.hub.sessions::<Tracked>().len(), 1);
    assert_eq!(
        first
            .hub
            .sessions::<Tracked>()
            .send_text(&key, "still here")
            .await
            .reached,
        1
    );
    assert_eq!(recv_text(&mut client).await, "still here");
    drop(client);
    first.stop().await;
}

#[tokio::test]
async fn shutdown_completes_even_when_a_handler_is_stuck_pushing_to_a_client_that_never_reads() {
    let server = TestServer::start().await;
    let key = unique("stuck");
    let mut client = server.connect(&format!("/tracked/{key}")).await;
    crate::support::send_text(&mut client, "flood").await;
    EVENTS.wait_count(&key, "flooding", 1).await;

    // The client never reads again: its handler blocks on a full queue, and the close handshake
    // can't complete. Shutdown still returns (within the test's patience), after on_close ran.
    server.stop().await;
    assert_eq!(EVENTS.of_key(&key).last().unwrap().what, "close:1001");
    drop(client);
}

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
            .await,
        0
    );
    assert!(second.hub.sessions::<Tracked>().is_empty());
    assert_eq!(
        first
            .hub
            .sessions::<Tracked>()
            .send_text(&key, "from first")
            .await,
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
            .await,
        1
    );
    assert_eq!(recv_text(&mut client).await, "still here");
    drop(client);
    first.stop().await;
}

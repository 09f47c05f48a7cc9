//! Pushing from outside a handler: to a key, to everyone, and what the pool reports.

use wsendpoint::prelude::*;

use crate::support::{recv_text, send_text, unique, within, Recorder, TestServer};

static EVENTS: Recorder = Recorder::new();

#[derive(Default)]
struct Feed;

#[server_endpoint("/feed/<user>")]
impl Feed {
    #[on_open]
    fn open(&mut self, session: &Session) {
        EVENTS.push(session, "open");
    }

    /// `to:<key>:<text>` pushes to another key from inside a handler, through the session's pool.
    #[on_message]
    async fn message(&mut self, session: &Session, text: &str) -> Option<String> {
        let (key, text) = text.strip_prefix("to:")?.split_once(':')?;
        let reached = session.pool().send_text(key, text).await.reached;
        Some(format!("reached {reached}"))
    }

    #[on_close]
    fn close(&mut self, session: &Session) {
        EVENTS.push(session, "close");
    }
}

#[tokio::test]
async fn a_send_to_a_key_reaches_every_session_of_that_key_and_no_other() {
    let server = TestServer::start().await;
    let (ada, bob) = (unique("ada"), unique("bob"));
    let mut tab1 = server.connect(&format!("/feed/{ada}")).await;
    let mut tab2 = server.connect(&format!("/feed/{ada}")).await;
    let mut other = server.connect(&format!("/feed/{bob}")).await;
    EVENTS.wait_count(&ada, "open", 2).await;
    EVENTS.wait_count(&bob, "open", 1).await;

    let pool = server.hub.sessions::<Feed>();
    assert_eq!(pool.send_text(&ada, "for ada").await.reached, 2);
    assert_eq!(recv_text(&mut tab1).await, "for ada");
    assert_eq!(recv_text(&mut tab2).await, "for ada");

    assert_eq!(pool.send_text(&bob, "for bob").await.reached, 1);
    assert_eq!(
        recv_text(&mut other).await,
        "for bob",
        "bob got nothing meant for ada"
    );

    assert_eq!(pool.send_text(&unique("nobody"), "lost").await.reached, 0);
    assert_eq!(pool.len(), 3);
    assert!(pool.contains(&ada) && pool.contains(&bob));
    let mut expected = vec![ada.clone(), bob.clone()];
    expected.sort();
    assert_eq!(pool.keys(), expected);
    drop((tab1, tab2, other));
    server.stop().await;
}

#[tokio::test]
async fn a_handler_pushes_to_another_key_through_its_sessions_pool() {
    let server = TestServer::start().await;
    let (from, to) = (unique("from"), unique("to"));
    let mut sender = server.connect(&format!("/feed/{from}")).await;
    let mut receiver = server.connect(&format!("/feed/{to}")).await;
    EVENTS.wait_count(&to, "open", 1).await;

    send_text(&mut sender, &format!("to:{to}:psst")).await;
    assert_eq!(recv_text(&mut sender).await, "reached 1");
    assert_eq!(recv_text(&mut receiver).await, "psst");
    drop((sender, receiver));
    server.stop().await;
}

#[tokio::test]
async fn broadcast_reaches_every_session_and_the_pool_empties_when_they_leave() {
    let server = TestServer::start().await;
    let keys: Vec<String> = (0..5).map(|_| unique("all")).collect();
    let mut clients = Vec::new();
    for key in &keys {
        clients.push(server.connect(&format!("/feed/{key}")).await);
    }
    for key in &keys {
        EVENTS.wait_count(key, "open", 1).await;
    }
    let pool = server.hub.sessions::<Feed>();
    assert_eq!(pool.broadcast_text("hello all").await.reached, 5);
    for client in &mut clients {
        assert_eq!(recv_text(client).await, "hello all");
    }
    for mut client in clients {
        within("the close", client.close(None))
            .await
            .expect("close");
    }
    for key in &keys {
        EVENTS.wait_count(key, "close", 1).await;
    }
    assert!(pool.is_empty());
    assert!(pool.keys().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn a_push_sent_as_soon_as_the_handshake_completes_is_delivered() {
    let server = TestServer::start().await;
    let pool = server.hub.sessions::<Feed>();
    for _ in 0..20 {
        let key = unique("early");
        let mut client = server.connect(&format!("/feed/{key}")).await;
        // No waiting for on_open: the session joined the pool before the client saw 101.
        assert_eq!(pool.send_text(&key, "first").await.reached, 1);
        assert_eq!(recv_text(&mut client).await, "first");
    }
    server.stop().await;
}

//! Exactly one `on_close` per opened session, however the connection ended.

use std::collections::HashMap;

use wsendpoint::prelude::*;

use crate::support::{unique, RawClient, Recorder, TestServer};

static EVENTS: Recorder = Recorder::new();

#[derive(Default)]
struct Fragile;

#[server_endpoint("/fragile/<key>")]
impl Fragile {
    #[on_open]
    fn open(&mut self, session: &Session) {
        EVENTS.push(session, "open");
    }

    #[on_message]
    fn message(&mut self, _text: &str) {}

    #[on_error]
    fn error(&mut self, session: &Session, _error: wsendpoint::Error) {
        EVENTS.push(session, "error");
    }

    #[on_close]
    fn close(&mut self, session: &Session, reason: CloseReason) {
        EVENTS.push(session, format!("close:{}", u16::from(reason.code())));
    }
}

#[tokio::test]
async fn a_hundred_clients_reset_without_a_close_frame_each_get_exactly_one_on_close() {
    const CLIENTS: usize = 100;
    let server = TestServer::start().await;
    let key = unique("reset");
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(RawClient::from(
            server.connect(&format!("/fragile/{key}")).await,
        ));
    }
    EVENTS.wait_count(&key, "open", CLIENTS).await;
    let pool = server.hub.sessions::<Fragile>();
    assert_eq!(pool.sessions(&key).len(), CLIENTS);

    // Half drop mid-frame, half between frames; all with a TCP reset.
    for (i, mut client) in clients.into_iter().enumerate() {
        if i % 2 == 0 {
            client.send_partial_frame().await;
        }
        client.reset();
    }

    let events = EVENTS.wait_count(&key, "close:1006", CLIENTS).await;
    let mut closes: HashMap<u64, usize> = HashMap::new();
    for event in events.iter().filter(|e| e.what.starts_with("close")) {
        *closes.entry(event.session).or_default() += 1;
    }
    assert_eq!(closes.len(), CLIENTS, "every session closed");
    assert!(closes.values().all(|&n| n == 1), "exactly once: {closes:?}");
    // The read error reached on_error before on_close, on every session.
    for (session, _) in closes {
        let of_session: Vec<&str> = events
            .iter()
            .filter(|e| e.session == session)
            .map(|e| e.what.as_str())
            .collect();
        assert_eq!(of_session, ["open", "error", "close:1006"]);
    }
    assert!(!pool.contains(&key));
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_vanishes_after_its_close_frame_still_gets_on_close() {
    let server = TestServer::start().await;
    let key = unique("halfclose");
    let mut raw = RawClient::from(server.connect(&format!("/fragile/{key}")).await);
    EVENTS.wait_count(&key, "open", 1).await;
    raw.send_frame(0x8, &1000u16.to_be_bytes()).await;
    raw.reset();
    let events = EVENTS
        .wait_for(&key, "one close", |e| {
            e.iter().any(|e| e.what.starts_with("close"))
        })
        .await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e.what.starts_with("close"))
            .count(),
        1
    );
    assert_eq!(events.last().unwrap().what, "close:1000");
    server.stop().await;
}

//! What a handler reads from its session and the hub: typed properties, shared state, the
//! remote address, query parameters.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use wsendpoint::prelude::*;

use crate::support::{recv_text, send_text, unique, TestServer};

/// Shared by every session of the hub: a count of all messages.
#[derive(Clone, Default)]
struct Counter(Arc<AtomicU64>);

/// Per session: the nickname chosen in the query.
#[derive(Clone)]
struct Nick(String);

#[derive(Default)]
struct Counted;

#[server_endpoint("/counted/<key>")]
impl Counted {
    #[on_open]
    fn open(&mut self, session: &Session) -> String {
        let nick = session.query("nick").unwrap_or("anonymous").to_owned();
        assert!(session.insert(Nick(nick)).is_none());
        let peer = session
            .remote_addr()
            .expect("the hub serves with connect info");
        format!("peer-ip={}", peer.ip())
    }

    #[on_message]
    fn message(&mut self, session: &Session, counter: State<Counter>, text: &str) -> String {
        let total = counter.0 .0.fetch_add(1, Ordering::SeqCst) + 1;
        let Nick(nick) = session.get::<Nick>().expect("set in on_open");
        format!("{nick}: {text} (message {total} of the hub)")
    }
}

#[tokio::test]
async fn properties_state_query_and_remote_address_reach_the_handlers() {
    let counter = Counter::default();
    let hub = Hub::new().with_state(counter.clone());
    let router = hub.router();
    let server = TestServer::start_with(hub, router).await;

    let mut ada = server
        .connect(&format!("/counted/{}?nick=ada", unique("c")))
        .await;
    let mut anon = server.connect(&format!("/counted/{}", unique("c"))).await;
    assert_eq!(recv_text(&mut ada).await, "peer-ip=127.0.0.1");
    assert_eq!(recv_text(&mut anon).await, "peer-ip=127.0.0.1");

    send_text(&mut ada, "hi").await;
    assert_eq!(recv_text(&mut ada).await, "ada: hi (message 1 of the hub)");
    send_text(&mut anon, "yo").await;
    assert_eq!(
        recv_text(&mut anon).await,
        "anonymous: yo (message 2 of the hub)"
    );
    assert_eq!(
        counter.0.load(Ordering::SeqCst),
        2,
        "the handlers shared the hub's value"
    );
    drop((ada, anon));
    server.stop().await;
}

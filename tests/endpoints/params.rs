//! Path parameters: bound by name, typed, the pool key, and a 400 for a value that won't parse.

use wsendpoint::prelude::*;

use crate::support::{recv_text, unique, TestServer};

#[derive(Default)]
struct Typed;

#[server_endpoint("/typed/<room>/<id>", key = "room")]
impl Typed {
    #[on_open]
    fn open(&mut self, session: &Session, id: u64, room: String) -> String {
        format!("room={room} id={id} key={} id+1={}", session.key(), id + 1)
    }
}

#[derive(Default)]
struct JavaSyntax;

#[server_endpoint("/java/{user}/feed")]
impl JavaSyntax {
    #[on_open]
    fn open(user: String, session: &Session) -> String {
        format!("user={user} key={}", session.key())
    }
}

#[tokio::test]
async fn params_are_bound_by_name_in_any_order_and_the_key_param_is_the_pool_key() {
    let server = TestServer::start().await;
    let room = unique("lobby");
    let mut client = server.connect(&format!("/typed/{room}/41")).await;
    assert_eq!(
        recv_text(&mut client).await,
        format!("room={room} id=41 key={room} id+1=42")
    );
    assert!(server.hub.sessions::<Typed>().contains(&room));
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn a_param_that_does_not_parse_is_refused_with_400_before_the_upgrade() {
    let server = TestServer::start().await;
    assert_eq!(server.refused_status("/typed/lobby/abc").await, 400);
    assert_eq!(server.refused_status("/typed/lobby/-1").await, 400);
    assert!(server.hub.sessions::<Typed>().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn java_brace_syntax_and_static_segments_after_a_param() {
    let server = TestServer::start().await;
    let mut client = server.connect("/java/ada%20lovelace/feed").await;
    assert_eq!(
        recv_text(&mut client).await,
        "user=ada lovelace key=ada lovelace"
    );
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn unknown_paths_are_404() {
    let server = TestServer::start().await;
    assert_eq!(server.refused_status("/java/ada").await, 404);
    assert_eq!(server.refused_status("/nowhere").await, 404);
    server.stop().await;
}

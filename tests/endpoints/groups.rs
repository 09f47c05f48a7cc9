//! Groups (rooms) and what a second session under one key does.

use wsendpoint::prelude::*;

use crate::support::{recv_close, recv_text, send_text, unique, within, Recorder, TestServer};

static EVENTS: Recorder = Recorder::new();

#[derive(Default)]
struct Rooms;

/// `join:<room>`, `leave:<room>`, `say:<room>:<text>`.
#[server_endpoint("/rooms/<user>")]
impl Rooms {
    #[on_message]
    async fn command(&mut self, session: &Session, text: &str) -> Option<String> {
        let (verb, rest) = text.split_once(':')?;
        match verb {
            "join" => Some(format!("joined={}", session.join(rest))),
            "leave" => Some(format!("left={}", session.leave(rest))),
            "say" => {
                let (room, said) = rest.split_once(':')?;
                let line = format!("{}@{room}: {said}", session.key());
                session.pool().send_text_to_group(room, line).await;
                None
            }
            _ => None,
        }
    }

    #[on_close]
    fn close(&mut self, session: &Session) {
        EVENTS.push(session, "close");
    }
}

#[derive(Default)]
struct Replacing;

#[server_endpoint("/replacing/<key>", on_duplicate_key = "replace")]
impl Replacing {
    #[on_open]
    fn open(&mut self, session: &Session) -> String {
        format!("session {}", session.id())
    }

    #[on_close]
    fn close(&mut self, session: &Session, reason: CloseReason) {
        EVENTS.push(session, format!("close:{}", u16::from(reason.code())));
    }
}

#[derive(Default)]
struct Exclusive;

#[server_endpoint("/exclusive/<key>", on_duplicate_key = "reject")]
impl Exclusive {
    #[on_open]
    fn open(&mut self) -> &'static str {
        "welcome"
    }

    #[on_close]
    fn close(&mut self, session: &Session) {
        EVENTS.push(session, "close");
    }
}

#[tokio::test]
async fn a_group_send_reaches_its_members_only_and_a_closed_session_leaves_its_groups() {
    let server = TestServer::start().await;
    let room = unique("room");
    let (ada, bob, eve) = (unique("ada"), unique("bob"), unique("eve"));
    let mut a = server.connect(&format!("/rooms/{ada}")).await;
    let mut b = server.connect(&format!("/rooms/{bob}")).await;
    let mut e = server.connect(&format!("/rooms/{eve}")).await;
    for client in [&mut a, &mut b] {
        send_text(client, &format!("join:{room}")).await;
        assert_eq!(recv_text(client).await, "joined=true");
    }
    send_text(&mut a, &format!("join:{room}")).await;
    assert_eq!(recv_text(&mut a).await, "joined=false", "already a member");
    send_text(&mut e, "join:elsewhere").await;
    assert_eq!(recv_text(&mut e).await, "joined=true");

    let pool = server.hub.sessions::<Rooms>();
    assert_eq!(pool.group_len(&room), 2);
    send_text(&mut a, &format!("say:{room}:hi")).await;
    assert_eq!(recv_text(&mut a).await, format!("{ada}@{room}: hi"));
    assert_eq!(recv_text(&mut b).await, format!("{ada}@{room}: hi"));
    assert_eq!(
        pool.send_text_to_group(&room, "from outside").await.reached,
        2
    );
    assert_eq!(recv_text(&mut b).await, "from outside");
    assert_eq!(
        pool.send_text_to_group("elsewhere", "to eve").await.reached,
        1
    );
    assert_eq!(
        recv_text(&mut e).await,
        "to eve",
        "eve got nothing from the other room"
    );

    send_text(&mut b, &format!("leave:{room}")).await;
    assert_eq!(recv_text(&mut b).await, "left=true");
    assert_eq!(pool.group_len(&room), 1);

    within("the close", a.close(None)).await.unwrap();
    EVENTS.wait_count(&ada, "close", 1).await;
    assert_eq!(pool.group_len(&room), 0);
    assert!(!pool.groups().contains(&room));
    assert_eq!(pool.send_text_to_group(&room, "anyone?").await.reached, 0);
    drop((b, e));
    server.stop().await;
}

#[tokio::test]
async fn replace_closes_the_older_session_with_1008_and_the_key_reaches_only_the_newer() {
    let server = TestServer::start().await;
    let key = unique("replace");
    let mut old = server.connect(&format!("/replacing/{key}")).await;
    let old_greeting = recv_text(&mut old).await;
    let mut new = server.connect(&format!("/replacing/{key}")).await;
    assert_ne!(recv_text(&mut new).await, old_greeting);

    let frame = recv_close(&mut old).await.expect("a close frame");
    assert_eq!(u16::from(frame.code), 1008);
    EVENTS.wait_count(&key, "close:1008", 1).await;
    let pool = server.hub.sessions::<Replacing>();
    assert_eq!(pool.len(), 1);
    assert_eq!(pool.send_text(&key, "only you").await.reached, 1);
    assert_eq!(recv_text(&mut new).await, "only you");
    drop(new);
    server.stop().await;
}

#[tokio::test]
async fn reject_refuses_a_second_session_under_the_key_with_409_until_the_first_leaves() {
    let server = TestServer::start().await;
    let key = unique("reject");
    let mut first = server.connect(&format!("/exclusive/{key}")).await;
    assert_eq!(recv_text(&mut first).await, "welcome");
    let (status, body) = server.refused_with(&format!("/exclusive/{key}"), &[]).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(server.hub.sessions::<Exclusive>().len(), 1);

    within("the close", first.close(None)).await.unwrap();
    EVENTS.wait_count(&key, "close", 1).await;
    let mut again = server.connect(&format!("/exclusive/{key}")).await;
    assert_eq!(recv_text(&mut again).await, "welcome");
    drop(again);
    server.stop().await;
}

//! Text, JSON, binary and pong messages; return values of each kind; decode errors.

use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::Message as Wire;
use wsendpoint::prelude::*;

use crate::support::{
    recv_close, recv_text, send_text, unique, within, Client, Recorder, TestServer,
};

static EVENTS: Recorder = Recorder::new();

#[derive(Deserialize)]
struct Command {
    op: String,
    n: i64,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Answer {
    op: String,
    result: i64,
}

#[derive(Default)]
struct Typed {
    pongs: u32,
}

#[server_endpoint("/typed-messages/<key>", ping_interval = "off")]
impl Typed {
    #[on_message]
    fn command(&mut self, Json(command): Json<Command>) -> Result<Json<Answer>, String> {
        match command.op.as_str() {
            "double" => Ok(Json(Answer {
                op: command.op,
                result: command.n * 2,
            })),
            other => Err(format!("unknown op {other:?}")),
        }
    }

    #[on_message]
    fn binary(&mut self, data: Vec<u8>) -> Vec<u8> {
        data.iter().rev().copied().collect()
    }

    #[on_message]
    async fn pong(&mut self, session: &Session, pong: Pong) {
        self.pongs += 1;
        let payload = String::from_utf8_lossy(&pong.0).into_owned();
        EVENTS.push(session, format!("pong:{payload}"));
        let _ = session.send_text(format!("pongs={}", self.pongs)).await;
    }

    #[on_error]
    fn error(&mut self, session: &Session, error: wsendpoint::Error) {
        let what = match &error {
            wsendpoint::Error::Decode { raw, .. } => format!("decode:{raw}"),
            other => format!("error:{other}"),
        };
        EVENTS.push(session, what);
    }

    #[on_close]
    fn close(&mut self, session: &Session, reason: CloseReason) {
        EVENTS.push(session, format!("close:{}", u16::from(reason.code())));
    }
}

#[derive(Default)]
struct Strict;

#[server_endpoint("/strict-json/<key>", on_decode_error = "close")]
impl Strict {
    #[on_message]
    fn command(&mut self, command: Json<Command>) -> String {
        command.n.to_string()
    }

    #[on_error]
    fn error(&mut self, session: &Session, error: wsendpoint::Error) {
        EVENTS.push(session, format!("error:{error}"));
    }
}

async fn next_binary(client: &mut Client) -> Vec<u8> {
    loop {
        match within("a binary message", client.next()).await {
            Some(Ok(Wire::Binary(data))) => return data.to_vec(),
            Some(Ok(Wire::Ping(_) | Wire::Pong(_))) => continue,
            other => panic!("expected a binary message, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn messages_of_every_size_sent_back_to_back_arrive_whole_and_in_order() {
    let server = TestServer::start().await;
    let mut client = server
        .connect(&format!("/typed-messages/{}", unique("sizes")))
        .await;
    // Around tungstenite's 1 KiB read buffer and the 16 KiB read-ahead, several frames per
    // read and frames split across reads; the default limit is 64 KiB.
    let sizes = [
        0,
        1,
        1023,
        1024,
        1025,
        4096,
        16 * 1024 - 1,
        16 * 1024 + 7,
        60 * 1024,
    ];
    let payload = |size: usize, seed: usize| -> Vec<u8> {
        (0..size).map(|i| (i * 31 + seed) as u8).collect()
    };
    for (seed, &size) in sizes.iter().enumerate() {
        within("a feed", client.feed(Wire::binary(payload(size, seed))))
            .await
            .expect("feed");
    }
    within("a flush", client.flush()).await.expect("flush");
    for (seed, &size) in sizes.iter().enumerate() {
        let mut expected = payload(size, seed);
        expected.reverse();
        assert!(next_binary(&mut client).await == expected, "{size} bytes");
    }
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn json_in_json_out() {
    let server = TestServer::start().await;
    let mut client = server
        .connect(&format!("/typed-messages/{}", unique("json")))
        .await;
    send_text(&mut client, r#"{"op":"double","n":21}"#).await;
    let answer: Answer = serde_json::from_str(&recv_text(&mut client).await).unwrap();
    assert_eq!(
        answer,
        Answer {
            op: "double".into(),
            result: 42
        }
    );
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn a_message_that_does_not_decode_goes_to_on_error_with_its_text_and_the_session_stays_open()
{
    let server = TestServer::start().await;
    let key = unique("decode");
    let mut client = server.connect(&format!("/typed-messages/{key}")).await;
    send_text(&mut client, "not json").await;
    send_text(&mut client, r#"{"op":"halve","n":1}"#).await;
    send_text(&mut client, r#"{"op":"double","n":1}"#).await;
    assert!(recv_text(&mut client).await.contains(r#""result":2"#));
    let events = EVENTS.wait_count(&key, "decode:not json", 1).await;
    assert!(
        events
            .iter()
            .any(|e| e.what == r#"error:handler error: unknown op "halve""#),
        "{events:#?}"
    );
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn with_on_decode_error_close_a_bad_message_closes_with_1007() {
    let server = TestServer::start().await;
    let key = unique("strict");
    let mut client = server.connect(&format!("/strict-json/{key}")).await;
    send_text(&mut client, r#"{"op":"x","n":5}"#).await;
    assert_eq!(recv_text(&mut client).await, "5");
    send_text(&mut client, r#"{"op":"x"}"#).await;
    let frame = recv_close(&mut client).await.expect("a close frame");
    assert_eq!(u16::from(frame.code), 1007);
    let events = EVENTS
        .wait_for(&key, "the decode error", |e| !e.is_empty())
        .await;
    assert!(events[0].what.contains("missing field `n`"), "{events:#?}");
    server.stop().await;
}

#[tokio::test]
async fn binary_messages_go_to_the_binary_handler_and_vec_replies_are_binary() {
    let server = TestServer::start().await;
    let mut client = server
        .connect(&format!("/typed-messages/{}", unique("bin")))
        .await;
    within("a send", client.send(Wire::binary(vec![1u8, 2, 3])))
        .await
        .unwrap();
    assert_eq!(next_binary(&mut client).await, vec![3, 2, 1]);
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn pongs_reach_the_pong_handler() {
    let server = TestServer::start().await;
    let key = unique("pong");
    let mut client = server.connect(&format!("/typed-messages/{key}")).await;
    // An unsolicited pong is a valid heartbeat (RFC 6455 §5.5.3).
    within("a send", client.send(Wire::Pong("beat-1".into())))
        .await
        .unwrap();
    within("a send", client.send(Wire::Pong("beat-2".into())))
        .await
        .unwrap();
    assert_eq!(recv_text(&mut client).await, "pongs=1");
    assert_eq!(recv_text(&mut client).await, "pongs=2");
    EVENTS.wait_count(&key, "pong:beat-2", 1).await;
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn a_server_ping_is_answered_by_the_client_and_its_pong_reaches_the_handler() {
    let server = TestServer::start().await;
    let key = unique("ping");
    let mut client = server.connect(&format!("/typed-messages/{key}")).await;
    // Pushed by the application: the session's ping goes out, the client answers it.
    let session = server
        .hub
        .sessions::<Typed>()
        .sessions(&key)
        .pop()
        .expect("session");
    session.ping("are-you-there").await.expect("ping");
    // Reading drives the client's automatic pong.
    assert_eq!(recv_text(&mut client).await, "pongs=1");
    EVENTS.wait_count(&key, "pong:are-you-there", 1).await;
    drop(client);
    server.stop().await;
}

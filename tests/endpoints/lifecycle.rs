//! The order of events on one connection, replies, handler errors and who closes.

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WireCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use wsendpoint::prelude::*;

use crate::support::{recv_close, recv_text, send_text, unique, within, Recorder, TestServer};

static EVENTS: Recorder = Recorder::new();

#[derive(Default)]
struct Lifecycle {
    messages: u32,
}

#[server_endpoint("/lifecycle/<key>")]
impl Lifecycle {
    #[on_open]
    async fn open(&mut self, session: &Session, key: String) {
        assert_eq!(session.key(), key);
        EVENTS.push(session, "open");
    }

    #[on_message]
    async fn message(&mut self, session: &Session, text: String) -> Result<Option<String>, String> {
        self.messages += 1;
        EVENTS.push(session, format!("message:{text}"));
        match text.as_str() {
            "fail" => Err("asked to fail".to_owned()),
            "quiet" => Ok(None),
            "close" => {
                session.close(CloseReason::new(
                    CloseCode::ViolatedPolicy,
                    "closed by handler",
                ));
                Ok(Some("bye".to_owned()))
            }
            "panic" => panic!("handler panicked on purpose"),
            _ => Ok(Some(format!("{}:{text}", self.messages))),
        }
    }

    #[on_error]
    fn error(&mut self, session: &Session, error: wsendpoint::Error) {
        EVENTS.push(session, format!("error:{error}"));
    }

    #[on_close]
    fn close(&mut self, session: &Session, reason: CloseReason) {
        assert!(
            !session.pool().contains(session.key()),
            "still in the pool in on_close"
        );
        EVENTS.push(session, format!("close:{}", u16::from(reason.code())));
    }
}

fn whats(events: &[crate::support::Event]) -> Vec<&str> {
    events.iter().map(|e| e.what.as_str()).collect()
}

#[tokio::test]
async fn events_run_in_order_open_message_reply_close() {
    let server = TestServer::start().await;
    let key = unique("order");
    let mut client = server.connect(&format!("/lifecycle/{key}")).await;

    send_text(&mut client, "hello").await;
    assert_eq!(recv_text(&mut client).await, "1:hello");
    send_text(&mut client, "again").await;
    assert_eq!(
        recv_text(&mut client).await,
        "2:again",
        "one handler instance per connection"
    );
    within("the close", client.close(None))
        .await
        .expect("close");

    let events = EVENTS.wait_count(&key, "close:1005", 1).await;
    assert_eq!(
        whats(&events),
        ["open", "message:hello", "message:again", "close:1005"]
    );
    server.stop().await;
}

#[tokio::test]
async fn a_close_code_from_the_client_reaches_on_close() {
    let server = TestServer::start().await;
    let key = unique("code");
    let mut client = server.connect(&format!("/lifecycle/{key}")).await;
    let frame = CloseFrame {
        code: WireCode::Away,
        reason: "tab closed".into(),
    };
    within("the close", client.close(Some(frame)))
        .await
        .expect("close");
    EVENTS.wait_count(&key, "close:1001", 1).await;
    server.stop().await;
}

#[tokio::test]
async fn a_handler_error_goes_to_on_error_and_the_connection_stays_open() {
    let server = TestServer::start().await;
    let key = unique("err");
    let mut client = server.connect(&format!("/lifecycle/{key}")).await;

    send_text(&mut client, "fail").await;
    send_text(&mut client, "quiet").await;
    send_text(&mut client, "still here").await;
    assert_eq!(
        recv_text(&mut client).await,
        "3:still here",
        "no reply for Err or None"
    );
    let events = EVENTS
        .wait_for(&key, "the error", |e| {
            e.iter().any(|e| e.what.starts_with("error:"))
        })
        .await;
    assert!(whats(&events).contains(&"error:handler error: asked to fail"));
    within("the close", client.close(None))
        .await
        .expect("close");
    EVENTS.wait_count(&key, "close:1005", 1).await;
    server.stop().await;
}

#[tokio::test]
async fn a_handler_closing_its_session_sends_the_reply_then_its_close_frame() {
    let server = TestServer::start().await;
    let key = unique("srvclose");
    let mut client = server.connect(&format!("/lifecycle/{key}")).await;

    send_text(&mut client, "close").await;
    assert_eq!(recv_text(&mut client).await, "bye");
    let frame = recv_close(&mut client).await.expect("a close frame");
    assert_eq!(frame.code, WireCode::Policy);
    assert_eq!(frame.reason.as_str(), "closed by handler");
    let events = EVENTS.wait_count(&key, "close:1008", 1).await;
    assert_eq!(whats(&events), ["open", "message:close", "close:1008"]);
    server.stop().await;
}

#[tokio::test]
async fn a_panicking_handler_gets_on_error_close_1011_and_on_close() {
    let server = TestServer::start().await;
    let key = unique("panic");
    let mut client = server.connect(&format!("/lifecycle/{key}")).await;

    send_text(&mut client, "panic").await;
    let frame = recv_close(&mut client).await.expect("a close frame");
    assert_eq!(frame.code, WireCode::Error);
    let events = EVENTS.wait_count(&key, "close:1011", 1).await;
    assert_eq!(events.len(), 4, "{events:#?}");
    assert_eq!(
        events[2].what,
        "error:handler panicked: handler panicked on purpose"
    );
    server.stop().await;
}

#[tokio::test]
async fn binary_to_a_text_endpoint_closes_with_1003() {
    let server = TestServer::start().await;
    let key = unique("binary");
    let mut client = server.connect(&format!("/lifecycle/{key}")).await;

    within("a send", client.send(Message::binary(vec![1, 2, 3])))
        .await
        .expect("send");
    let frame = recv_close(&mut client).await.expect("a close frame");
    assert_eq!(u16::from(frame.code), 1003);
    EVENTS.wait_count(&key, "close:1003", 1).await;
    server.stop().await;
}

#[tokio::test]
async fn invalid_utf8_in_a_text_frame_closes_with_1007() {
    let server = TestServer::start().await;
    let key = unique("utf8");
    let client = server.connect(&format!("/lifecycle/{key}")).await;
    let mut raw = crate::support::RawClient::from(client);
    // A masked, final text frame whose payload is not UTF-8.
    raw.send_frame(0x1, &[0xff, 0xfe, 0xfd]).await;
    assert_eq!(raw.close_code().await, Some(1007));
    let events = EVENTS.wait_count(&key, "close:1007", 1).await;
    assert!(events
        .iter()
        .any(|e| e.what.starts_with("error:protocol violation")));
    server.stop().await;
}

#[tokio::test]
async fn a_reserved_opcode_closes_with_1002() {
    let server = TestServer::start().await;
    let key = unique("opcode");
    let client = server.connect(&format!("/lifecycle/{key}")).await;
    let mut raw = crate::support::RawClient::from(client);
    raw.send_frame(0x3, b"x").await;
    assert_eq!(raw.close_code().await, Some(1002));
    EVENTS.wait_count(&key, "close:1002", 1).await;
    server.stop().await;
}

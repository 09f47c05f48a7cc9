//! What is already queued for a client goes out before the close frame the server sends.
//!
//! Each test pipelines, in **one write**, a valid message and then something that makes the
//! server close (a frame that breaks the protocol, or a message whose handler closes), and
//! asserts that the client reads the reply to the valid message first, then the exact close
//! code. Written this way, the server reads both from one buffer: its handler's reply is still
//! in the session's queue at the moment it decides to close.

use serde::Deserialize;
use wsendpoint::prelude::*;

use crate::support::{frame, unique, Frame, RawClient, Recorder, TestServer};

static EVENTS: Recorder = Recorder::new();

/// A text-only endpoint whose handler replies, pushes, pings, closes or panics on request.
#[derive(Default)]
struct Queued;

#[server_endpoint("/queued/<key>", max_message_size = "1KiB", ping_interval = "off")]
impl Queued {
    #[on_message]
    async fn message(&mut self, session: &Session, text: &str) -> Option<String> {
        match text {
            "panic" => panic!("asked to panic"),
            "close" => {
                session.close(CloseReason::new(
                    CloseCode::ViolatedPolicy,
                    "asked to close",
                ));
                Some("bye".to_owned())
            }
            "push" => {
                for n in 1..=3 {
                    session
                        .pool()
                        .send_text(session.key(), format!("push {n}"))
                        .await;
                }
                session.ping("ping").await.expect("queued");
                Some("pushed".to_owned())
            }
            other => Some(format!("echo:{other}")),
        }
    }

    #[on_close]
    fn close(&mut self, session: &Session, reason: CloseReason) {
        EVENTS.push(session, format!("close:{}", u16::from(reason.code())));
    }
}

#[derive(Deserialize)]
struct Command {
    n: u32,
}

/// An endpoint whose `Json<T>` decode errors close the session (an error that closes).
#[derive(Default)]
struct Strict;

#[server_endpoint("/strict/<key>", on_decode_error = "close", ping_interval = "off")]
impl Strict {
    #[on_message]
    fn command(&mut self, Json(command): Json<Command>) -> String {
        format!("n={}", command.n)
    }
}

/// A masked, final text frame.
fn text(payload: &str) -> Vec<u8> {
    frame(0x81, payload.as_bytes())
}

/// Connects to `path`, writes `bytes` in one write, and returns every frame up to the close
/// frame, and its code.
async fn pipeline(server: &TestServer, path: &str, bytes: &[u8]) -> (Vec<Frame>, Option<u16>) {
    let mut raw = RawClient::from(server.connect(path).await);
    raw.write(bytes).await;
    raw.frames_until_close().await
}

/// Sends "valid message + `violation`" in one write to a fresh session; asserts the echo comes
/// first, then `code`, and that `on_close` saw `code`.
async fn assert_reply_then_close(server: &TestServer, violation: &[u8], code: u16, what: &str) {
    let key = unique("queued");
    let bytes = [text("hello"), violation.to_vec()].concat();
    let (frames, close) = pipeline(server, &format!("/queued/{key}"), &bytes).await;
    let texts: Vec<_> = frames.iter().filter_map(Frame::text).collect();
    assert_eq!(texts, ["echo:hello"], "{what}: the reply before the close");
    assert_eq!(close, Some(code), "{what}: the close code");
    EVENTS.wait_count(&key, &format!("close:{code}"), 1).await;
}

#[tokio::test]
async fn a_reply_goes_out_before_the_1002_for_a_reserved_bit() {
    let server = TestServer::start().await;
    for (bit, name) in [(0x40, "RSV1"), (0x20, "RSV2"), (0x10, "RSV3")] {
        let violation = frame(0x80 | bit | 0x1, b"x");
        assert_reply_then_close(&server, &violation, 1002, name).await;
    }
    server.stop().await;
}

/// A final frame with each reserved `opcode` closes with 1002, after the reply.
async fn assert_reserved_opcodes_close_after_the_reply(opcodes: std::ops::RangeInclusive<u8>) {
    let server = TestServer::start().await;
    for opcode in opcodes {
        let violation = frame(0x80 | opcode, b"x");
        assert_reply_then_close(&server, &violation, 1002, &format!("opcode {opcode:#x}")).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn a_reply_goes_out_before_the_1002_for_a_reserved_data_opcode() {
    assert_reserved_opcodes_close_after_the_reply(0x3..=0x7).await;
}

#[tokio::test]
async fn a_reply_goes_out_before_the_1002_for_a_reserved_control_opcode() {
    assert_reserved_opcodes_close_after_the_reply(0xB..=0xF).await;
}

#[tokio::test]
async fn a_reply_goes_out_before_the_1007_for_invalid_utf8() {
    let server = TestServer::start().await;
    let violation = frame(0x81, &[0xff, 0xfe, 0xfd]);
    assert_reply_then_close(&server, &violation, 1007, "invalid UTF-8").await;
    server.stop().await;
}

#[tokio::test]
async fn a_reply_goes_out_before_the_1009_for_a_fragment_over_the_limit() {
    let server = TestServer::start().await;
    // A first fragment (FIN clear) larger than the endpoint's 1 KiB.
    let violation = frame(0x01, &[b'y'; 1025]);
    assert_reply_then_close(&server, &violation, 1009, "an oversize fragment").await;
    server.stop().await;
}

#[tokio::test]
async fn a_reply_goes_out_before_the_1003_for_binary_to_a_text_endpoint() {
    let server = TestServer::start().await;
    let violation = frame(0x82, &[1, 2, 3]);
    assert_reply_then_close(&server, &violation, 1003, "binary").await;
    server.stop().await;
}

#[tokio::test]
async fn a_reply_goes_out_before_the_1011_for_a_handler_that_panics() {
    let server = TestServer::start().await;
    assert_reply_then_close(&server, &text("panic"), 1011, "a panic").await;
    server.stop().await;
}

#[tokio::test]
async fn a_reply_goes_out_before_the_1007_of_an_error_that_closes() {
    let server = TestServer::start().await;
    let key = unique("strict");
    let bytes = [text(r#"{"n":7}"#), text("not json")].concat();
    let (frames, close) = pipeline(&server, &format!("/strict/{key}"), &bytes).await;
    let texts: Vec<_> = frames.iter().filter_map(Frame::text).collect();
    assert_eq!(texts, ["n=7"]);
    assert_eq!(close, Some(1007));
    server.stop().await;
}

#[tokio::test]
async fn replies_go_out_before_the_close_a_handler_asks_for() {
    let server = TestServer::start().await;
    let key = unique("queued");
    let bytes = [text("hello"), text("close"), text("never read")].concat();
    let (frames, close) = pipeline(&server, &format!("/queued/{key}"), &bytes).await;
    let texts: Vec<_> = frames.iter().filter_map(Frame::text).collect();
    assert_eq!(texts, ["echo:hello", "bye"]);
    assert_eq!(close, Some(1008));
    EVENTS.wait_count(&key, "close:1008", 1).await;
    server.stop().await;
}

#[tokio::test]
async fn pushes_pings_and_replies_go_out_before_the_1002() {
    let server = TestServer::start().await;
    let key = unique("queued");
    let bytes = [text("push"), frame(0x83, b"x")].concat();
    let (frames, close) = pipeline(&server, &format!("/queued/{key}"), &bytes).await;
    let seen: Vec<String> = frames
        .iter()
        .map(|f| match f.text() {
            Some(text) => text.to_owned(),
            None => format!("opcode {:#x}", f.opcode),
        })
        .collect();
    assert_eq!(
        seen,
        ["push 1", "push 2", "push 3", "opcode 0x9", "pushed"],
        "pushes, the ping and the reply, in order"
    );
    assert_eq!(close, Some(1002));
    server.stop().await;
}

#[tokio::test]
async fn pushes_queued_before_a_shutdown_go_out_before_its_1001() {
    let server = TestServer::start().await;
    let key = unique("queued");
    let mut raw = RawClient::from(server.connect(&format!("/queued/{key}")).await);
    let pool = server.hub.sessions::<Queued>();
    for n in 1..=5 {
        assert_eq!(pool.send_text(&key, format!("push {n}")).await.reached, 1);
    }
    // No turn for the connection's tasks in between: the pushes are still queued.
    let hub = server.hub.clone();
    let shutdown = tokio::spawn(async move { hub.shutdown().await });
    let (frames, close) = raw.frames_until_close().await;
    let texts: Vec<_> = frames.iter().filter_map(Frame::text).collect();
    assert_eq!(texts, ["push 1", "push 2", "push 3", "push 4", "push 5"]);
    assert_eq!(close, Some(1001));
    drop(raw);
    shutdown.await.expect("shutdown");
    server.stop().await;
}

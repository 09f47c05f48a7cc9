//! The mining demo end to end: a job started over HTTP streams its progress and its block to
//! every session of its key, and the block's hash really has the leading zeros.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::{http_post, recv_text, unique, Client, TestServer};

#[path = "../../examples/mining/app.rs"]
mod app;

async fn start() -> TestServer {
    let hub = wsendpoint::Hub::new();
    let router = app::app(&hub);
    TestServer::start_with(hub, router).await
}

/// The next message of the demo's own, out of its history frame if it is one of its key's
/// history, skipping the history's notices.
async fn next_message(client: &mut Client) -> Value {
    loop {
        let value: Value = serde_json::from_str(&recv_text(client).await).expect("JSON");
        match value["$ws"].as_str() {
            None => return value,
            Some("message") => {
                return serde_json::from_str(value["data"].as_str().expect("data")).expect("JSON")
            }
            Some(_) => continue,
        }
    }
}

/// The next push of a job (`{"code":..}`), skipping the connection's own messages.
async fn next_push(client: &mut Client) -> Value {
    loop {
        let value = next_message(client).await;
        if value.get("code").is_some() {
            return value;
        }
    }
}

/// Reads a job's pushes up to its block; returns the progress counts and the block.
async fn follow_job(client: &mut Client) -> (Vec<u64>, Value) {
    let mut progress = Vec::new();
    loop {
        let push = next_push(client).await;
        match push["code"].as_str() {
            Some("01") => {
                assert_eq!(push["msg"], "");
                progress.push(push["data"].as_u64().expect("attempts"));
            }
            Some("00") => {
                assert_eq!(push["msg"], "block mined");
                return (progress, push["data"].clone());
            }
            other => panic!("unexpected push {other:?}: {push}"),
        }
    }
}

#[tokio::test]
async fn a_job_streams_progress_then_a_block_whose_hash_has_the_leading_zeros() {
    let server = start().await;
    let key = unique("miner");
    let mut tab1 = server.connect(&format!("/websocket/{key}")).await;
    let mut tab2 = server.connect(&format!("/websocket/{key}")).await;
    let mut stranger = server
        .connect(&format!("/websocket/{}", unique("other")))
        .await;

    let (status, body) = http_post(server.addr, &format!("/mine/{key}?difficulty=3")).await;
    assert_eq!(status, 202, "{body}");
    let accepted: Value = serde_json::from_str(&body).expect("JSON body");
    assert!(accepted["job"].is_string(), "{accepted}");

    let (progress, block) = follow_job(&mut tab1).await;
    assert!(!progress.is_empty(), "at least one progress push");
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");

    let header = block["header"].as_str().expect("header");
    let hash = block["hash"].as_str().expect("hash");
    let nonce = block["nonce"].as_u64().expect("nonce");
    let attempts = block["attempts"].as_u64().expect("attempts");
    let recomputed: String = Sha256::digest(header.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(hash, recomputed, "the hash is SHA-256 of the header");
    assert!(
        hash.starts_with("000"),
        "difficulty 3 means 3 leading zero hex digits: {hash}"
    );
    assert!(
        header.ends_with(&nonce.to_string()),
        "the header carries the nonce: {header}"
    );
    assert!(attempts >= 1 && attempts >= *progress.last().unwrap());

    // The second tab of the same key saw the same job; a session of another key saw nothing.
    let (_, same_block) = follow_job(&mut tab2).await;
    assert_eq!(same_block, block);
    crate::support::send_text(&mut stranger, "ping").await;
    assert_eq!(next_message(&mut stranger).await["type"], "hello");
    let second = next_message(&mut stranger).await;
    assert_eq!(second["type"], "pong", "no job push reached another key");

    drop((tab1, tab2, stranger));
    server.stop().await;
}

/// A page that lost its connection before its job ended gets the block when it comes back: the
/// block is in its key's history, progress (latest values) is not.
#[tokio::test]
async fn a_page_offline_when_its_job_ends_gets_the_block_on_reconnecting() {
    let server = start().await;
    let key = unique("offline");
    let path = format!("/websocket/{key}");
    let mut away = server.connect(&path).await;
    let mut watcher = server.connect(&path).await;
    let position: Value = serde_json::from_str(&recv_text(&mut away).await).expect("JSON");
    assert_eq!(position["$ws"], "position", "the demo keeps a history");
    let since = format!(
        "{}:{}",
        position["epoch"].as_str().unwrap(),
        position["offset"]
    );
    let (status, body) = http_post(server.addr, &format!("/mine/{key}?difficulty=3")).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(next_push(&mut away).await["code"], "01");
    crate::support::RawClient::from(away).reset();
    let (_, block) = follow_job(&mut watcher).await;

    let mut back = server.connect(&format!("{path}?ws_since={since}")).await;
    let replayed: Value = serde_json::from_str(&recv_text(&mut back).await).expect("JSON");
    assert_eq!(
        (&replayed["$ws"], &replayed["replayed"]),
        (&"message".into(), &true.into())
    );
    let push: Value = serde_json::from_str(replayed["data"].as_str().unwrap()).unwrap();
    assert_eq!((&push["code"], &push["data"]), (&"00".into(), &block));
    server.stop().await;
}

#[tokio::test]
async fn one_job_per_key_and_bad_difficulties_are_refused() {
    let server = start().await;
    let key = unique("busy");
    // Difficulty 7 runs for minutes in a debug build: still running for the second request.
    let (status, body) = http_post(server.addr, &format!("/mine/{key}?difficulty=7")).await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = http_post(server.addr, &format!("/mine/{key}?difficulty=3")).await;
    assert_eq!(status, 409, "{body}");

    for bad in ["0", "8", "abc", "-1"] {
        let (status, body) = http_post(
            server.addr,
            &format!("/mine/{}?difficulty={bad}", unique("bad")),
        )
        .await;
        assert_eq!(status, 400, "difficulty={bad}: {body}");
    }
    // Shutting the hub down stops the running job.
    server.stop().await;
}

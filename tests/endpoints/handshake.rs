//! The handshake: authentication in `#[on_handshake]`, the pool key from a verified identity,
//! origins, subprotocols, query and headers, shared state.

use std::collections::HashMap;
use std::sync::Arc;

use wsendpoint::prelude::*;

use crate::support::{http_exchange, recv_text, unique, TestServer};

/// The application's token verifier, shared through the hub's state.
#[derive(Clone, Default)]
struct Tokens(Arc<HashMap<String, String>>);

impl Tokens {
    fn with(tokens: &[(&str, &str)]) -> Self {
        Tokens(Arc::new(
            tokens
                .iter()
                .map(|(t, u)| (t.to_string(), u.to_string()))
                .collect(),
        ))
    }

    fn user(&self, token: &str) -> Option<String> {
        self.0.get(token).cloned()
    }
}

struct Inbox {
    user: String,
}

/// Authenticated by a token in the query (`?token=`) or an `Authorization: Bearer` header; the
/// pool key is the user behind the token, whatever the URL says.
#[server_endpoint("/inbox/<claimed>", allowed_origins = ["https://app.example"])]
impl Inbox {
    #[on_handshake]
    async fn handshake(
        handshake: &Handshake,
        tokens: State<Tokens>,
        claimed: String,
    ) -> Result<Accept<Self>, Reject> {
        let token = handshake
            .query("token")
            .or_else(|| handshake.header("authorization")?.strip_prefix("Bearer "))
            .ok_or_else(|| Reject::unauthorized("a token is required"))?;
        let user = tokens
            .user(token)
            .ok_or_else(|| Reject::unauthorized("unknown token"))?;
        if claimed != "me" && claimed != user {
            return Err(Reject::forbidden(format!(
                "{user} may not open {claimed}'s inbox"
            )));
        }
        Ok(Accept::new(Inbox { user: user.clone() }).with_key(user))
    }

    #[on_open]
    fn open(&mut self, session: &Session) -> String {
        format!(
            "user={} key={} origin={:?} agent={:?}",
            self.user,
            session.key(),
            session.handshake().origin(),
            session.header("x-agent"),
        )
    }
}

#[derive(Default)]
struct Versioned;

#[server_endpoint("/versioned", subprotocols = ["v2.json", "v1.json"], allowed_origins = "*")]
impl Versioned {
    #[on_open]
    fn open(&mut self, session: &Session) -> String {
        format!("protocol={:?}", session.protocol())
    }
}

/// Reports the `x-` headers it was opened with, three ways.
#[derive(Default)]
struct Headers;

#[server_endpoint("/headers", allowed_origins = "*")]
impl Headers {
    #[on_open]
    fn open(&mut self, session: &Session) -> String {
        let handshake = session.handshake();
        let pairs: Vec<String> = handshake
            .header_pairs()
            .filter(|(name, _)| name.starts_with("x-"))
            .map(|(name, value)| format!("{name}={}", String::from_utf8_lossy(value)))
            .collect();
        let tags = handshake.headers().get_all("x-tag").iter().count();
        format!(
            "{} | tags={tags} | first={:?}",
            pairs.join(","),
            handshake.header("X-TAG")
        )
    }
}

fn hub_with_tokens() -> Hub {
    Hub::new().with_state(Tokens::with(&[("t-ada", "ada"), ("t-bob", "bob")]))
}

async fn start() -> TestServer {
    let hub = hub_with_tokens();
    let router = hub.router();
    TestServer::start_with(hub, router).await
}

#[tokio::test]
async fn a_valid_token_is_accepted_and_the_pool_key_is_the_user_behind_it() {
    let server = start().await;
    let mut by_query = server.connect("/inbox/me?token=t-ada").await;
    assert!(recv_text(&mut by_query)
        .await
        .starts_with("user=ada key=ada"));
    let (mut by_header, _) = server
        .connect_with(
            "/inbox/bob",
            &[("authorization", "Bearer t-bob"), ("x-agent", "test")],
        )
        .await
        .expect("accepted");
    assert_eq!(
        recv_text(&mut by_header).await,
        r#"user=bob key=bob origin=None agent=Some("test")"#
    );
    let pool = server.hub.sessions::<Inbox>();
    assert_eq!(
        pool.keys(),
        ["ada", "bob"],
        "keys come from the tokens, not the URL"
    );
    assert_eq!(pool.send_text("ada", "mail for ada").await.reached, 1);
    assert_eq!(recv_text(&mut by_query).await, "mail for ada");
    drop((by_query, by_header));
    server.stop().await;
}

#[tokio::test]
async fn a_session_keeps_every_handshake_header_with_repeats() {
    let server = start().await;
    let (mut client, _) = server
        .connect_with(
            "/headers",
            &[("x-tag", "one"), ("X-Agent", "probe/1"), ("x-tag", "two")],
        )
        .await
        .expect("accepted");
    let opened = recv_text(&mut client).await;
    let (pairs, rest) = opened.split_once(" | ").expect("three parts");
    // Names may come in any order (the client's HeaderMap decides); a name's values keep theirs.
    let mut names: Vec<&str> = pairs.split(',').collect();
    names.sort();
    assert_eq!(
        names,
        ["x-agent=probe/1", "x-tag=one", "x-tag=two"],
        "{opened}"
    );
    assert!(pairs.contains("x-tag=one,x-tag=two"), "{opened}");
    assert_eq!(rest, r#"tags=2 | first=Some("one")"#);
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn a_request_that_is_no_websocket_handshake_gets_4xx_and_opens_nothing() {
    let server = start().await;
    let get = |headers: &'static str| http_exchange(server.addr, "GET", "/versioned", headers);
    let plain = get("").await;
    assert_eq!(plain.status, 400, "{}", plain.body);
    assert!(plain.body.contains("`Connection`"), "{}", plain.body);

    // The headers of a WebSocket upgrade (any case, `Connection` listing more than one token).
    macro_rules! upgrade {
        ($($more:literal),*) => {
            concat!("Connection: keep-alive, Upgrade\r\nUpgrade: WebSocket\r\n", $($more),*)
        };
    }
    let other_upgrade = get("Connection: upgrade\r\nUpgrade: h2c\r\n").await;
    assert_eq!(other_upgrade.status, 400, "{}", other_upgrade.body);

    let old_version = get(upgrade!(
        "Sec-WebSocket-Version: 8\r\n",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    ))
    .await;
    assert_eq!(old_version.status, 426, "{}", old_version.body);
    // RFC 6455 4.4: the versions we speak; RFC 9110: a 426 names the protocol to upgrade to.
    let answer = old_version.head.to_ascii_lowercase();
    for header in ["sec-websocket-version: 13", "upgrade: websocket"] {
        assert!(answer.contains(header), "{header}: {}", old_version.head);
    }

    let keyless = get(upgrade!("Sec-WebSocket-Version: 13\r\n")).await;
    assert_eq!(keyless.status, 400, "{}", keyless.body);
    assert!(
        keyless.body.contains("Sec-WebSocket-Key"),
        "{}",
        keyless.body
    );

    let versionless = get(upgrade!("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")).await;
    assert_eq!(versionless.status, 400, "{}", versionless.body);

    let head = http_exchange(
        server.addr,
        "HEAD",
        "/versioned",
        upgrade!(
            "Sec-WebSocket-Version: 13\r\n",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        ),
    )
    .await;
    assert_eq!(head.status, 405, "{}", head.head);

    let bad_key = get(upgrade!(
        "Sec-WebSocket-Version: 13\r\n",
        "Sec-WebSocket-Key: not-a-nonce\r\n"
    ))
    .await;
    assert_eq!(bad_key.status, 400, "{}", bad_key.body);

    assert!(server.hub.sessions::<Versioned>().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn a_missing_or_unknown_token_is_401_and_a_foreign_inbox_is_403() {
    let server = start().await;
    assert_eq!(server.refused_status("/inbox/me").await, 401);
    let (status, body) = server.refused_with("/inbox/me?token=forged", &[]).await;
    assert_eq!((status, body.as_str()), (401, "unknown token"));
    let (status, body) = server.refused_with("/inbox/bob?token=t-ada", &[]).await;
    assert_eq!(
        (status, body.as_str()),
        (403, "ada may not open bob's inbox")
    );
    assert!(server.hub.sessions::<Inbox>().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn a_hub_without_the_state_an_endpoint_needs_answers_500() {
    let server = TestServer::start().await; // no Tokens in this hub
    let (status, body) = server.refused_with("/inbox/me?token=t-ada", &[]).await;
    assert_eq!(status, 500);
    assert!(body.contains("Tokens"), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn origins_same_site_and_listed_are_allowed_others_refused_absent_allowed() {
    let server = start().await;
    let own = format!("http://{}", server.addr);
    for origin in [own.as_str(), "https://app.example"] {
        let (mut client, _) = server
            .connect_with("/inbox/me?token=t-ada", &[("origin", origin)])
            .await
            .unwrap_or_else(|e| panic!("origin {origin} refused: {e}"));
        assert!(recv_text(&mut client)
            .await
            .contains(&format!("origin=Some({origin:?})")));
    }
    for origin in [
        "https://evil.example",
        "null",
        "https://app.example.evil.example",
    ] {
        let (status, _) = server
            .refused_with("/inbox/me?token=t-ada", &[("origin", origin)])
            .await;
        assert_eq!(status, 403, "origin {origin}");
    }
    // No Origin header: not a browser, so no cross-site hijacking to fear.
    let mut client = server.connect("/inbox/me?token=t-ada").await;
    assert!(recv_text(&mut client).await.contains("origin=None"));
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn the_default_origin_policy_is_same_origin_only() {
    let server = start().await;
    let key = unique("origin");
    let (status, _) = server
        .refused_with(
            &format!("/lifecycle/{key}"),
            &[("origin", "https://elsewhere.example")],
        )
        .await;
    assert_eq!(status, 403);
    let own = format!("http://{}", server.addr);
    let accepted = server
        .connect_with(&format!("/lifecycle/{key}"), &[("origin", &own)])
        .await;
    assert!(accepted.is_ok());
    drop(accepted);
    server.stop().await;
}

#[tokio::test]
async fn subprotocols_are_negotiated_in_the_servers_order() {
    let server = start().await;
    let cases = [
        ("v1.json, v2.json", Some("v2.json")),
        ("v1.json", Some("v1.json")),
        ("mqtt, v1.json", Some("v1.json")),
    ];
    for (offered, chosen) in cases {
        let (mut client, response) = server
            .connect_with("/versioned", &[("sec-websocket-protocol", offered)])
            .await
            .unwrap_or_else(|e| panic!("{offered}: {e}"));
        let header = response
            .headers()
            .get("sec-websocket-protocol")
            .map(|v| v.to_str().unwrap());
        assert_eq!(header, chosen, "offered {offered}");
        assert_eq!(recv_text(&mut client).await, format!("protocol={chosen:?}"));
    }
    // None of ours: refused, naming what the endpoint speaks.
    let (status, body) = server
        .refused_with("/versioned", &[("sec-websocket-protocol", "mqtt")])
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("v2.json"), "{body}");
    // No subprotocol offered at all: accepted without one.
    let mut client = server.connect("/versioned").await;
    assert_eq!(recv_text(&mut client).await, "protocol=None");
    drop(client);
    server.stop().await;
}

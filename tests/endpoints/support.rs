//! What every black-box test needs: a real server on 127.0.0.1:0, real clients, and a way to
//! wait for server-side events without sleeping.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use wsendpoint::{Hub, Session};

/// Every wait in the tests gives up after this long, with a message saying what it waited for.
pub const PATIENCE: Duration = Duration::from_secs(15);

pub type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A real server of a fresh hub, listening on 127.0.0.1 on a free port.
pub struct TestServer {
    pub hub: Hub,
    pub addr: SocketAddr,
    serving: JoinHandle<std::io::Result<()>>,
}

impl TestServer {
    /// Serves every endpoint of the test binary.
    pub async fn start() -> Self {
        let hub = Hub::new();
        let router = hub.router();
        Self::start_with(hub, router).await
    }

    /// Serves `router` (built from `hub`).
    pub async fn start_with(hub: Hub, router: axum::Router) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        Self::start_on(listener, hub, router)
    }

    /// Serves `router` (built from `hub`) on `listener`.
    pub fn start_on(listener: TcpListener, hub: Hub, router: axum::Router) -> Self {
        let addr = listener.local_addr().expect("local addr");
        let serving = tokio::spawn(hub.clone().serve_router(listener, router));
        TestServer { hub, addr, serving }
    }

    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{}", self.addr, path)
    }

    /// Opens a WebSocket client on `path`, panicking if the handshake fails.
    pub async fn connect(&self, path: &str) -> Client {
        let (client, _) = within(
            "the handshake",
            tokio_tungstenite::connect_async(self.url(path)),
        )
        .await
        .unwrap_or_else(|e| panic!("connect {path}: {e}"));
        client
    }

    /// Opens a client with extra handshake headers; the handshake's outcome and the response.
    pub async fn connect_with(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<
        (
            Client,
            tokio_tungstenite::tungstenite::handshake::client::Response,
        ),
        tokio_tungstenite::tungstenite::Error,
    > {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
        let mut request = self.url(path).into_client_request().expect("request");
        for (name, value) in headers {
            request.headers_mut().append(
                HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                HeaderValue::from_str(value).expect("header value"),
            );
        }
        within("the handshake", tokio_tungstenite::connect_async(request)).await
    }

    /// The status of a handshake with extra headers that the server refused, and its body.
    pub async fn refused_with(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
        match self.connect_with(path, headers).await {
            Ok(_) => panic!("handshake to {path} was accepted"),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => (
                response.status().as_u16(),
                String::from_utf8_lossy(response.body().as_deref().unwrap_or_default())
                    .into_owned(),
            ),
            Err(other) => panic!("handshake to {path} failed without an HTTP answer: {other}"),
        }
    }

    /// The HTTP status of a handshake that the server refused.
    pub async fn refused_status(&self, path: &str) -> u16 {
        match within(
            "the handshake",
            tokio_tungstenite::connect_async(self.url(path)),
        )
        .await
        {
            Ok(_) => panic!("handshake to {path} was accepted"),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                response.status().as_u16()
            }
            Err(other) => panic!("handshake to {path} failed without an HTTP answer: {other}"),
        }
    }

    /// Shuts the hub down and waits for the server to stop.
    pub async fn stop(self) {
        within("the shutdown", self.hub.shutdown()).await;
        within("the server to stop", self.serving)
            .await
            .expect("server task")
            .expect("server result");
    }
}

/// Awaits `future`, panicking with `what` if it takes longer than [`PATIENCE`].
pub async fn within<F: std::future::Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(PATIENCE, future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// The next text message, skipping pings and pongs.
pub async fn recv_text(client: &mut Client) -> String {
    loop {
        match within("a text message", client.next()).await {
            Some(Ok(Message::Text(text))) => return text.to_string(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

/// Waits for the server's close frame, answers it, and returns it.
pub async fn recv_close(client: &mut Client) -> Option<CloseFrame> {
    loop {
        match within("a close frame", client.next()).await {
            Some(Ok(Message::Close(frame))) => {
                // Drive the close handshake to its end.
                while let Some(Ok(_)) = within("the close handshake", client.next()).await {}
                return frame;
            }
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

/// Sends a text message.
pub async fn send_text(client: &mut Client, text: &str) {
    within("a send", client.send(Message::text(text)))
        .await
        .expect("send");
}

/// A key no other test uses, so tests sharing an endpoint can run in parallel.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// One server-side event, as an endpoint recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub session: u64,
    pub key: String,
    pub what: String,
}

/// A log of server-side events that tests wait on.
pub struct Recorder {
    events: Mutex<Vec<Event>>,
    changed: Notify,
}

impl Recorder {
    pub const fn new() -> Self {
        Recorder {
            events: Mutex::new(Vec::new()),
            changed: Notify::const_new(),
        }
    }

    pub fn push(&self, session: &Session, what: impl Into<String>) {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Event {
                session: session.id().as_u64(),
                key: session.key().to_owned(),
                what: what.into(),
            });
        self.changed.notify_waiters();
    }

    /// The events of sessions under `key`, in order.
    pub fn of_key(&self, key: &str) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|e| e.key == key)
            .cloned()
            .collect()
    }

    /// Waits until `ready` holds for the events of `key`.
    pub async fn wait_for(
        &self,
        key: &str,
        what: &str,
        ready: impl Fn(&[Event]) -> bool,
    ) -> Vec<Event> {
        let wait = async {
            loop {
                let changed = self.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                let events = self.of_key(key);
                if ready(&events) {
                    return events;
                }
                changed.await;
            }
        };
        match tokio::time::timeout(PATIENCE, wait).await {
            Ok(events) => events,
            Err(_) => panic!(
                "timed out waiting for {what}; events of {key}: {:#?}",
                self.of_key(key)
            ),
        }
    }

    /// Waits until `count` events of `key` are `what`.
    pub async fn wait_count(&self, key: &str, what: &str, count: usize) -> Vec<Event> {
        self.wait_for(key, &format!("{count} × {what:?}"), |events| {
            events.iter().filter(|e| e.what == what).count() >= count
        })
        .await
    }
}

/// A client that writes raw frames, for what a well-behaved client library never sends.
pub struct RawClient {
    stream: TcpStream,
}

impl From<Client> for RawClient {
    fn from(client: Client) -> Self {
        match client.into_inner() {
            MaybeTlsStream::Plain(stream) => RawClient { stream },
            _ => panic!("tests use plain TCP"),
        }
    }
}

impl RawClient {
    /// Writes `bytes` in one write: several frames sent this way reach the server together.
    pub async fn write(&mut self, bytes: &[u8]) {
        use tokio::io::AsyncWriteExt;
        within("a raw write", self.stream.write_all(bytes))
            .await
            .expect("raw write");
    }

    /// Writes one final, masked frame with `opcode`.
    pub async fn send_frame(&mut self, opcode: u8, payload: &[u8]) {
        self.write(&frame(0x80 | opcode, payload)).await;
    }

    /// Writes one final, masked frame the server may refuse before reading it all: a failed
    /// write is fine here.
    pub async fn send_large_frame(&mut self, opcode: u8, payload: &[u8]) {
        use tokio::io::AsyncWriteExt;
        let frame = frame(0x80 | opcode, payload);
        let _ = within("a raw write", self.stream.write_all(&frame)).await;
    }

    /// Writes the start of a frame that announces more payload than follows.
    pub async fn send_partial_frame(&mut self) {
        // Final text frame, masked, 100 bytes announced; only the mask and 10 bytes follow.
        let mut frame = vec![0x81, 0x80 | 100, 1, 2, 3, 4];
        frame.extend_from_slice(&[b'x'; 10]);
        self.write(&frame).await;
    }

    /// Writes only the header of a masked, final frame announcing `len` bytes.
    pub async fn send_frame_header(&mut self, opcode: u8, len: u64) {
        let mut header = vec![0x80 | opcode, 0x80 | 127];
        header.extend_from_slice(&len.to_be_bytes());
        header.extend_from_slice(&[1, 2, 3, 4]);
        self.write(&header).await;
    }

    /// The next frame from the server, `None` once the connection ended.
    pub async fn next_frame(&mut self) -> Option<Frame> {
        use tokio::io::AsyncReadExt;
        let mut head = [0u8; 2];
        within("a frame", self.stream.read_exact(&mut head))
            .await
            .ok()?;
        let len = match head[1] & 0x7f {
            126 => {
                let mut ext = [0u8; 2];
                within("a frame", self.stream.read_exact(&mut ext))
                    .await
                    .ok()?;
                u16::from_be_bytes(ext) as usize
            }
            127 => {
                let mut ext = [0u8; 8];
                within("a frame", self.stream.read_exact(&mut ext))
                    .await
                    .ok()?;
                u64::from_be_bytes(ext) as usize
            }
            short => short as usize,
        };
        let mut payload = vec![0u8; len];
        within("a frame", self.stream.read_exact(&mut payload))
            .await
            .ok()?;
        Some(Frame {
            opcode: head[0] & 0x0f,
            payload,
        })
    }

    /// Every frame up to the server's close frame, and that frame's code (`None` if the
    /// connection ended without one).
    pub async fn frames_until_close(&mut self) -> (Vec<Frame>, Option<u16>) {
        let mut frames = Vec::new();
        while let Some(frame) = self.next_frame().await {
            if frame.opcode == 0x8 {
                let code = frame
                    .payload
                    .get(..2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]));
                return (frames, code);
            }
            frames.push(frame);
        }
        (frames, None)
    }

    /// Reads frames until the server's close frame; returns its code (`None` if the connection
    /// ended without one).
    pub async fn close_code(&mut self) -> Option<u16> {
        self.frames_until_close().await.1
    }

    /// Drops the connection with a TCP reset: no close frame, no FIN.
    pub fn reset(self) {
        self.stream.set_zero_linger().expect("SO_LINGER");
        drop(self.stream);
    }
}

/// A frame the server sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub opcode: u8,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The payload of a text frame.
    pub fn text(&self) -> Option<&str> {
        (self.opcode == 0x1).then(|| std::str::from_utf8(&self.payload).expect("UTF-8"))
    }
}

/// A masked client frame: `first` is its first byte (FIN, RSV1-3, opcode), `payload` any length.
pub fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut frame = vec![first];
    match payload.len() {
        len if len < 126 => frame.push(0x80 | len as u8),
        len if len <= u16::MAX as usize => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// A `POST` with an empty body over plain HTTP/1.1: the status and the body.
pub async fn http_post(addr: SocketAddr, path: &str) -> (u16, String) {
    let response = http_exchange(addr, "POST", path, "Content-Length: 0\r\n").await;
    (response.status, response.body)
}

/// An HTTP/1.1 response read to its end.
pub struct RawResponse {
    pub status: u16,
    /// The status line and headers.
    pub head: String,
    pub body: String,
}

/// One request over plain HTTP/1.1 (`extra_headers`: lines ending in `\r\n`), answered and
/// closed by the server.
pub async fn http_exchange(
    addr: SocketAddr,
    method: &str,
    path: &str,
    extra_headers: &str,
) -> RawResponse {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{extra_headers}Connection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).await.expect("read");
        response
    };
    let response = within("an HTTP response", exchange).await;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    RawResponse {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

//! [`EndpointConfig`]: an endpoint's route and options, built by the macro at compile time.

use std::time::Duration;

/// Which browser origins may open a session (the `Origin` header of the handshake).
///
/// Checked against cross-site WebSocket hijacking: a page on another site could otherwise open a
/// socket with the user's cookies. A handshake without `Origin` (not a browser) is always allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginPolicy {
    /// Only the server's own origin: `Origin` must name the host of the request (the default).
    SameOrigin,
    /// The listed origins (`"https://app.example"`), and the server's own.
    List(&'static [&'static str]),
    /// Any origin (`allowed_origins = "*"`).
    Any,
}

/// What a send does when a session's outbound queue is full (a client that stopped reading).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Close the slow consumer with 1008 (the default): it can neither grow server memory nor
    /// stall sends to others.
    Close,
    /// Drop the message that did not fit; the session stays open.
    DropNewest,
}

/// What a new session does to sessions already open under the same pool key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DuplicateKey {
    /// Both stay; a send to the key reaches every one (the default: a user with two tabs).
    Allow,
    /// The older sessions are closed with 1008; the newcomer takes the key.
    Replace,
    /// The newcomer is refused with HTTP 409 at the handshake.
    Reject,
}

/// What a message that does not decode (a `Json<T>` parameter) does to the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeErrors {
    /// `#[on_error]` gets [`Error::Decode`](crate::Error::Decode); the session stays open (the
    /// default).
    Report,
    /// `#[on_error]` gets the error, then the session closes with 1007.
    Close,
}

/// How much of what is sent to each pool key an endpoint keeps, for clients that reconnect to
/// recover what they missed (`history = "2m"`, `history_size = 100`).
///
/// With a history, every text message sent to a key through the pool gets a position (an epoch
/// and an offset) and is kept for `ttl`, at most `size` per key. A client that reconnects with
/// the last position it saw gets what it missed before any live message, or a gap notice when
/// the history no longer covers it. The wire format is in the crate docs' "History" section.
///
/// ```
/// use std::time::Duration;
/// use wsendpoint::{EndpointConfig, HistoryConfig};
///
/// const CONFIG: EndpointConfig = EndpointConfig::new("/jobs/<user>", "/jobs/{user}", &["user"], Some("user"))
///     .with_history(Some(HistoryConfig::new(Duration::from_secs(120)).with_size(500)));
/// let history = CONFIG.history.unwrap();
/// assert_eq!((history.ttl, history.size), (Duration::from_secs(120), 500));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct HistoryConfig {
    /// How long a message is kept.
    pub ttl: Duration,
    /// How many messages are kept per key, the newest.
    pub size: usize,
}

impl HistoryConfig {
    /// Default number of messages kept per key.
    pub const DEFAULT_SIZE: usize = 1000;

    /// A history that keeps messages for `ttl`, at most [`DEFAULT_SIZE`](Self::DEFAULT_SIZE) per
    /// key.
    pub const fn new(ttl: Duration) -> Self {
        HistoryConfig {
            ttl,
            size: Self::DEFAULT_SIZE,
        }
    }

    /// Keeps at most `size` messages per key (at least 1).
    pub const fn with_size(mut self, size: usize) -> Self {
        self.size = if size == 0 { 1 } else { size };
        self
    }
}

/// An endpoint's route and options.
///
/// `#[server_endpoint]` builds it from its arguments; each option left out keeps the default
/// documented on its method.
///
/// ```
/// use std::time::Duration;
/// use wsendpoint::{EndpointConfig, Overflow};
///
/// const CONFIG: EndpointConfig =
///     EndpointConfig::new("/chat/<room>", "/chat/{room}", &["room"], Some("room"))
///         .with_max_message_size(16 * 1024)
///         .with_ping_interval(Some(Duration::from_secs(10)))
///         .with_on_overflow(Overflow::DropNewest);
/// assert_eq!(CONFIG.route, "/chat/{room}");
/// assert_eq!(CONFIG.key_param, Some("room"));
/// assert_eq!(CONFIG.max_message_size, 16 * 1024);
/// assert_eq!(CONFIG.send_queue, EndpointConfig::DEFAULT_SEND_QUEUE);
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct EndpointConfig {
    /// The route template as written in `#[server_endpoint("...")]`.
    pub template: &'static str,
    /// The route in axum's syntax (`/websocket/{key}`).
    pub route: &'static str,
    /// Names of the path parameters, in template order.
    pub params: &'static [&'static str],
    /// The path parameter whose value is the session's pool key; `None` when the route has none
    /// (then every session's key is the empty string).
    pub key_param: Option<&'static str>,
    /// Which origins may connect.
    pub origins: OriginPolicy,
    /// Subprotocols the endpoint speaks, in its order of preference.
    pub subprotocols: &'static [&'static str],
    /// Largest message (and frame) accepted from a client, in bytes.
    pub max_message_size: usize,
    /// How often the server pings; `None` never.
    pub ping_interval: Option<Duration>,
    /// How long a client may send nothing at all before it is closed; `None` never.
    pub idle_timeout: Option<Duration>,
    /// Capacity of each session's outbound queue, in messages.
    pub send_queue: usize,
    /// What a send to a full queue does.
    pub overflow: Overflow,
    /// What a second session under one key does.
    pub duplicate_key: DuplicateKey,
    /// What a message that does not decode does.
    pub decode_errors: DecodeErrors,
    /// What the endpoint keeps of the messages sent to each key; `None` nothing.
    pub history: Option<HistoryConfig>,
}

impl EndpointConfig {
    /// Default capacity of each session's outbound queue, in messages.
    pub const DEFAULT_SEND_QUEUE: usize = 256;
    /// Default largest message accepted from a client: 64 KiB.
    pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 * 1024;
    /// Default interval between server pings: 30 s.
    pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(30);
    /// Default time a client may stay silent (not even a pong) before it is closed: 60 s.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

    /// A config for the route `template` (as written by the user), its axum form `route`, its
    /// parameter names and the one that is the pool key; every option at its default.
    pub const fn new(
        template: &'static str,
        route: &'static str,
        params: &'static [&'static str],
        key_param: Option<&'static str>,
    ) -> Self {
        EndpointConfig {
            template,
            route,
            params,
            key_param,
            origins: OriginPolicy::SameOrigin,
            subprotocols: &[],
            max_message_size: Self::DEFAULT_MAX_MESSAGE_SIZE,
            ping_interval: Some(Self::DEFAULT_PING_INTERVAL),
            idle_timeout: Some(Self::DEFAULT_IDLE_TIMEOUT),
            send_queue: Self::DEFAULT_SEND_QUEUE,
            overflow: Overflow::Close,
            duplicate_key: DuplicateKey::Allow,
            decode_errors: DecodeErrors::Report,
            history: None,
        }
    }

    /// Which origins may connect (default: [`OriginPolicy::SameOrigin`]).
    pub const fn with_allowed_origins(mut self, origins: OriginPolicy) -> Self {
        self.origins = origins;
        self
    }

    /// Subprotocols the endpoint speaks, in its order of preference (default: none).
    pub const fn with_subprotocols(mut self, subprotocols: &'static [&'static str]) -> Self {
        self.subprotocols = subprotocols;
        self
    }

    /// Largest message (and frame) accepted from a client, in bytes; a larger one closes the
    /// session with 1009 (default: [`Self::DEFAULT_MAX_MESSAGE_SIZE`]).
    pub const fn with_max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// How often the server pings; `None` never (default:
    /// [`DEFAULT_PING_INTERVAL`](Self::DEFAULT_PING_INTERVAL)).
    pub const fn with_ping_interval(mut self, interval: Option<Duration>) -> Self {
        self.ping_interval = interval;
        self
    }

    /// How long a client may send nothing at all before it is closed with 1001 (checked every
    /// half timeout, so within one and a half of it); `None` never (default:
    /// [`DEFAULT_IDLE_TIMEOUT`](Self::DEFAULT_IDLE_TIMEOUT)).
    pub const fn with_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Capacity of each session's outbound queue, in messages (default:
    /// [`DEFAULT_SEND_QUEUE`](Self::DEFAULT_SEND_QUEUE)); at least 1.
    pub const fn with_send_queue(mut self, messages: usize) -> Self {
        self.send_queue = if messages == 0 { 1 } else { messages };
        self
    }

    /// What a send to a full queue does (default: [`Overflow::Close`]).
    pub const fn with_on_overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }

    /// What a second session under one key does (default: [`DuplicateKey::Allow`]).
    pub const fn with_on_duplicate_key(mut self, duplicate_key: DuplicateKey) -> Self {
        self.duplicate_key = duplicate_key;
        self
    }

    /// What a message that does not decode does (default: [`DecodeErrors::Report`]).
    pub const fn with_on_decode_error(mut self, decode_errors: DecodeErrors) -> Self {
        self.decode_errors = decode_errors;
        self
    }

    /// What the endpoint keeps of the messages sent to each key, for clients that reconnect
    /// (default: `None`, nothing).
    pub const fn with_history(mut self, history: Option<HistoryConfig>) -> Self {
        self.history = history;
        self
    }
}

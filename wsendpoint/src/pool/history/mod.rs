//! [`History`]: what an endpoint keeps of the messages sent to each pool key, so that a client
//! that reconnects gets what it missed, in order and once, before any live message, or a gap
//! notice when that is no longer possible.
//!
//! Recording and delivering one message happen under its key's lock, and so do replaying to a
//! session and letting it into the pool: a message recorded before a session entered is in its
//! replay and not delivered to it live, one recorded after is live only, and each session gets
//! its key's messages in offset order. Each key's stream has its own epoch, drawn when the stream
//! is created: a restart, or a stream forgotten after its time to live, can never be mistaken for
//! the history a client knew.

pub(crate) mod cursor;
pub(crate) mod stream;
pub(crate) mod wire;

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tungstenite::{Message, Utf8Bytes};

use crate::base::config::HistoryConfig;
use crate::base::sync::lock;
use crate::pool::history::stream::{Resume, Stream};
use crate::pool::history::wire::Position;

/// The histories of one endpoint's keys on this node.
pub(crate) struct History {
    config: HistoryConfig,
    streams: Mutex<HashMap<Box<str>, Arc<Mutex<Stream>>>>,
    /// When streams unused for their time to live are next looked for.
    next_sweep: Mutex<Instant>,
}

impl History {
    pub(crate) fn new(config: HistoryConfig) -> Self {
        History {
            config,
            streams: Mutex::new(HashMap::new()),
            next_sweep: Mutex::new(Instant::now() + sweep_interval(&config)),
        }
    }

    /// What it keeps.
    pub(crate) fn config(&self) -> HistoryConfig {
        self.config
    }

    /// Records `data` under `key` and runs `deliver` with its frame, under the key's lock.
    pub(crate) fn record<R>(&self, key: &str, data: &str, deliver: impl FnOnce(Message) -> R) -> R {
        let stream = self.stream(key);
        let mut stream = lock(&stream);
        let frame = stream.record(data, Instant::now(), &self.config);
        deliver(Message::Text(frame))
    }

    /// Runs `enter` with what a session that resumes from `from` (or does not) gets before any
    /// live message, under the key's lock: `enter` lets it into the pool and queues those frames.
    pub(crate) fn resume<R>(
        &self,
        key: &str,
        from: Option<&Position>,
        enter: impl FnOnce(Vec<Message>) -> R,
    ) -> R {
        let stream = self.stream(key);
        let mut stream = lock(&stream);
        let resume = stream.resume(from, Instant::now(), &self.config);
        enter(frames(stream.epoch(), resume))
    }

    /// Forgets the streams that keep nothing, were unused for their time to live, and whose key
    /// no local session holds (`held`), once per sweep interval.
    pub(crate) fn sweep_if_due(&self, held: impl Fn(&str) -> bool) {
        let now = Instant::now();
        {
            let mut next = lock(&self.next_sweep);
            if now < *next {
                return;
            }
            *next = now + sweep_interval(&self.config);
        }
        lock(&self.streams).retain(|key, stream| {
            // A stream someone holds right now is in use; nobody can take it meanwhile.
            Arc::strong_count(stream) > 1 || !lock(stream).is_stale(now, &self.config) || held(key)
        });
    }

    /// Number of keys with a stream, for tests.
    #[cfg(test)]
    fn streams(&self) -> usize {
        lock(&self.streams).len()
    }

    /// The stream of `key`, created in a new epoch if there is none.
    fn stream(&self, key: &str) -> Arc<Mutex<Stream>> {
        let mut streams = lock(&self.streams);
        if let Some(stream) = streams.get(key) {
            return stream.clone();
        }
        let stream = Arc::new(Mutex::new(Stream::new(new_epoch(), Instant::now())));
        streams.insert(key.into(), stream.clone());
        stream
    }
}

/// The frames of `resume`, in the order the session gets them.
fn frames(epoch: &str, resume: Resume) -> Vec<Message> {
    let text = |frame: String| Message::Text(Utf8Bytes::from(frame));
    match resume {
        Resume::Fresh { top } => vec![text(wire::position(epoch, top))],
        Resume::Gap { reason, top } => vec![text(wire::gap(epoch, top, reason))],
        Resume::Recovered { missed, top } => {
            let count = missed.len();
            let mut frames: Vec<Message> = missed
                .iter()
                .map(|frame| text(wire::replayed(frame)))
                .collect();
            frames.push(text(wire::recovered(epoch, top, count)));
            frames
        }
    }
}

/// How often stale streams are looked for: a quarter of the time to live, at least a second.
fn sweep_interval(config: &HistoryConfig) -> Duration {
    (config.ttl / 4).max(Duration::from_secs(1))
}

/// A new epoch: 12 base-36 digits from the process's random hasher keys, the time and a counter,
/// so that two streams, two nodes or two starts never share one.
pub(crate) fn new_epoch() -> Box<str> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    hasher.write_u128(nanos);
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let mut bits = hasher.finish();
    let digits: String = (0..12)
        .map(|_| {
            let digit = (bits % 36) as u32;
            bits /= 36;
            char::from_digit(digit, 36).unwrap_or('0')
        })
        .collect();
    digits.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(message: &Message) -> serde_json::Value {
        serde_json::from_str(message.to_text().unwrap()).unwrap()
    }

    #[test]
    fn epochs_differ_and_are_epochs() {
        let (a, b) = (new_epoch(), new_epoch());
        assert_ne!(a, b);
        assert!(wire::is_epoch(&a) && a.len() == 12, "{a}");
    }

    #[test]
    fn a_resume_replays_then_says_recovered() {
        let history = History::new(HistoryConfig::new(Duration::from_secs(60)));
        let first = history.record("k", "one", |frame| text(&frame));
        history.record("k", "two", drop);
        let epoch = first["epoch"].as_str().unwrap();
        let from = Position::new(epoch, 1);
        let frames = history.resume("k", Some(&from), |frames| frames);
        let frames: Vec<_> = frames.iter().map(text).collect();
        assert_eq!(frames.len(), 2);
        assert_eq!(
            (&frames[0]["data"], &frames[0]["replayed"]),
            (&"two".into(), &true.into())
        );
        assert_eq!(frames[1]["$ws"], "recovered");
        assert_eq!(frames[1]["offset"], 2);
        let other = history.resume("other", None, |frames| text(&frames[0]));
        assert_eq!(other["$ws"], "position");
        assert_ne!(other["epoch"], first["epoch"], "each key has its epoch");
    }

    #[test]
    fn a_sweep_forgets_only_stale_streams_of_keys_nobody_holds() {
        let config = HistoryConfig::new(Duration::ZERO);
        let history = History::new(config);
        history.record("gone", "x", drop);
        history.record("held", "x", drop);
        *lock(&history.next_sweep) = Instant::now();
        history.sweep_if_due(|key| key == "held");
        assert_eq!(history.streams(), 1);
    }
}

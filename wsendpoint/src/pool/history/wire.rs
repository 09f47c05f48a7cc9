//! What a client of an endpoint with history sees of it: the [`Position`] it resumes from, and
//! the frames that carry positions, replays and gaps.
//!
//! Every frame the history adds is a JSON text whose `"$ws"` field names it, so a client tells
//! them from the application's own messages by one field, and the application's message travels
//! unchanged, as the JSON string `data`:
//!
//! ```text
//! {"$ws":"message","epoch":"k3x9q2","offset":17,"data":"<the message sent>"}
//! {"$ws":"message","replayed":true,"epoch":"k3x9q2","offset":18,"data":"..."}
//! {"$ws":"position","epoch":"k3x9q2","offset":18}                 first, when not resuming
//! {"$ws":"recovered","epoch":"k3x9q2","offset":18,"replayed":1}   after the replay
//! {"$ws":"gap","epoch":"k3x9q2","offset":18,"reason":"too_old"}   first, when it cannot replay
//! ```
//!
//! Epochs are short ASCII words and offsets stay below 2^53, so both survive JSON in a browser.

use std::fmt;
use std::str::FromStr;

/// The query parameter a reconnecting client names its last position with:
/// `?ws_since=<epoch>:<offset>`.
pub(crate) const RESUME_QUERY: &str = "ws_since";

/// The largest offset a history hands out: JavaScript's largest exact integer.
pub(crate) const MAX_OFFSET: u64 = (1 << 53) - 1;

/// Where a message stands in its key's history: the history's epoch and the message's offset in
/// it (1 for the first message; 0 is the position before any).
///
/// Its text form, `<epoch>:<offset>`, is what a reconnecting client sends as the query
/// parameter `ws_since`.
///
/// ```
/// use wsendpoint::Position;
///
/// let position: Position = "k3x9q2:17".parse().unwrap();
/// assert_eq!((position.epoch(), position.offset()), ("k3x9q2", 17));
/// assert_eq!(position.to_string(), "k3x9q2:17");
/// assert!("k3x9q2".parse::<Position>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    epoch: Box<str>,
    offset: u64,
}

impl Position {
    /// The position `offset` in the history `epoch`.
    pub(crate) fn new(epoch: &str, offset: u64) -> Self {
        Position {
            epoch: epoch.into(),
            offset,
        }
    }

    /// The epoch: it changes whenever the history was lost (a restart, an expiry).
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// The offset within the epoch.
    pub fn offset(&self) -> u64 {
        self.offset
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.epoch, self.offset)
    }
}

/// A `ws_since` value that is not `<epoch>:<offset>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a position is `<epoch>:<offset>`: an epoch of 1 to 32 letters, digits, `-` or `_`, and an offset below 2^53")]
pub struct BadPosition;

impl FromStr for Position {
    type Err = BadPosition;

    fn from_str(text: &str) -> Result<Self, BadPosition> {
        let (epoch, offset) = text.rsplit_once(':').ok_or(BadPosition)?;
        if !is_epoch(epoch) || offset.is_empty() || !offset.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BadPosition);
        }
        let offset: u64 = offset.parse().map_err(|_| BadPosition)?;
        if offset > MAX_OFFSET {
            return Err(BadPosition);
        }
        Ok(Position::new(epoch, offset))
    }
}

/// Whether `text` can be an epoch: safe inside a JSON string and a query without escaping.
pub(crate) fn is_epoch(text: &str) -> bool {
    (1..=32).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Why a history cannot replay what a client missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GapReason {
    /// The epoch changed: the history the client knew was lost or expired.
    HistoryLost,
    /// Some of what the client missed is no longer kept (too many messages since, or too old).
    TooOld,
    /// The position is ahead of the history: not one this history handed out.
    Unknown,
    /// The history could not be read (the broker is down): the position is the client's own.
    Unavailable,
}

impl GapReason {
    fn as_str(self) -> &'static str {
        match self {
            GapReason::HistoryLost => "history_lost",
            GapReason::TooOld => "too_old",
            GapReason::Unknown => "unknown_position",
            GapReason::Unavailable => "history_unavailable",
        }
    }
}

/// A live message as recorded: its position and its text.
pub(crate) fn message(epoch: &str, offset: u64, data: &str) -> String {
    let data = serde_json::to_string(data).unwrap_or_default();
    format!(r#"{{"$ws":"message","epoch":"{epoch}","offset":{offset},"data":{data}}}"#)
}

/// The start every [`message`] frame shares, which [`replayed`] extends.
const MESSAGE_START: &str = r#"{"$ws":"message","#;

/// A recorded message, flagged as replayed.
pub(crate) fn replayed(message: &str) -> String {
    let rest = message.strip_prefix(MESSAGE_START).unwrap_or(message);
    format!(r#"{MESSAGE_START}"replayed":true,{rest}"#)
}

/// The first frame of a session that does not resume: where its key's history stands.
pub(crate) fn position(epoch: &str, top: u64) -> String {
    format!(r#"{{"$ws":"position","epoch":"{epoch}","offset":{top}}}"#)
}

/// The frame after a replay of `count` messages, up to `top`.
pub(crate) fn recovered(epoch: &str, top: u64, count: usize) -> String {
    format!(r#"{{"$ws":"recovered","epoch":"{epoch}","offset":{top},"replayed":{count}}}"#)
}

/// The first frame of a session that cannot resume: where the history stands now.
pub(crate) fn gap(epoch: &str, top: u64, reason: GapReason) -> String {
    let reason = reason.as_str();
    format!(r#"{{"$ws":"gap","epoch":"{epoch}","offset":{top},"reason":"{reason}"}}"#)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_parse_only_in_their_one_form() {
        let position: Position = "a-b_C9:0".parse().unwrap();
        assert_eq!(position, Position::new("a-b_C9", 0));
        for bad in [
            "",
            ":",
            "e:",
            ":1",
            "e:-1",
            "e:+1",
            "e:1.0",
            "e: 1",
            "é:1",
            "e\":1",
            "e:9007199254740992",
            "e:99999999999999999999999",
        ] {
            assert!(bad.parse::<Position>().is_err(), "{bad:?}");
        }
        let long = "x".repeat(33);
        assert!(format!("{long}:1").parse::<Position>().is_err());
        assert!("e:9007199254740991".parse::<Position>().is_ok());
    }

    #[test]
    fn frames_are_json_with_the_message_as_a_string() {
        let live = message("ep", 7, "{\"n\":1}\n\"quoted\"");
        let value: serde_json::Value = serde_json::from_str(&live).unwrap();
        assert_eq!(value["$ws"], "message");
        assert_eq!(value["offset"], 7);
        assert_eq!(value["data"], "{\"n\":1}\n\"quoted\"");
        let again: serde_json::Value = serde_json::from_str(&replayed(&live)).unwrap();
        assert_eq!(again["replayed"], true);
        assert_eq!(
            (&again["data"], &again["epoch"]),
            (&value["data"], &value["epoch"])
        );
        for frame in [
            position("ep", 3),
            recovered("ep", 3, 2),
            gap("ep", 3, GapReason::TooOld),
        ] {
            let value: serde_json::Value = serde_json::from_str(&frame).unwrap();
            assert_eq!(
                (&value["epoch"], &value["offset"]),
                (&"ep".into(), &3.into())
            );
        }
    }
}

//! [`Envelope`]: what one node publishes for the others, and its wire form.
//!
//! The channel an envelope is published on says which endpoint and which key, group or
//! broadcast it is for, so the envelope carries only what the channel does not: who sent it
//! (a node skips what it published itself), whether it wants acknowledgements, the tag of a
//! latest-value send, and the message.
//!
//! ```text
//! deliver:  'W' 2 | 0 | origin u64 | ack id u64 (0: none) | tag u32 (0: none, else its
//!           length + 1) | tag | kind u8 | payload
//! replace:  'W' 2 | 1 | origin u64
//! ack:      'W' 2 | 2 | ack id u64 | sessions reached u32
//! count?:   'W' 2 | 3 | origin u64 | query id u64
//! count:    'W' 2 | 4 | query id u64 | sessions u64
//! record:   'W' 2 | 5 | origin u64 | record id u64 | text length u32 | text | <epoch>:<offset>
//! ```
//! A record is a text sent to a key of an endpoint with history: the broker keeps it without
//! its last part and publishes it with its position appended, in ASCII, as it assigned it; the
//! record id (per origin) makes every record unique, so the broker can tell a retry.
//! Integers are big-endian. Version 1 (a deliver without the tag) is still read, so that nodes
//! of both versions understand each other during a rolling upgrade. A payload is the message's bytes as they are (text is UTF-8,
//! checked once on the receiving node).

use axum::body::Bytes;
use tungstenite::{Message, Utf8Bytes};

use crate::connection::outbound::Tag;
use crate::pool::history::wire::Position;

/// A node of the cluster: random per hub, so that a restarted process is a new node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct NodeId(pub(crate) u64);

/// The first two bytes of every envelope: a magic byte and the format's version (2: with the
/// tag of latest-value sends).
const HEADER: [u8; 2] = [b'W', 2];

/// The version before the tag.
const VERSION_1: u8 = 1;

/// One message between nodes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Envelope {
    /// Deliver `message` to the local sessions the channel names (as the latest value of
    /// `latest` if set); acknowledge with the count to `origin` if `ack` is set.
    Deliver {
        origin: NodeId,
        ack: Option<u64>,
        latest: Option<Tag>,
        message: Message,
    },
    /// A session under the channel's key opened on `origin` with `on_duplicate_key =
    /// "replace"`: close the local ones.
    Replace { origin: NodeId },
    /// The answer to a `Deliver` with `ack`: how many sessions it reached on that node.
    Ack { id: u64, reached: u32 },
    /// How many sessions of the channel's endpoint does each node hold? Answer to `origin`.
    CountQuery { origin: NodeId, id: u64 },
    /// The answer to a `CountQuery`.
    Count { id: u64, sessions: u64 },
    /// A text of the channel's key's history, at `at` (`None` as the broker keeps it, before
    /// it appends the position).
    Record {
        origin: NodeId,
        id: u64,
        text: Utf8Bytes,
        at: Option<Position>,
    },
}

/// A message kind that can cross nodes.
const TEXT: u8 = 1;
const BINARY: u8 = 2;
const PING: u8 = 3;
const PONG: u8 = 4;

impl Envelope {
    /// The wire form, or `None` for a message no other node could send on (a close frame, a
    /// raw frame: they belong to one connection).
    pub(crate) fn encode(&self) -> Option<Bytes> {
        let mut out = HEADER.to_vec();
        match self {
            Envelope::Deliver {
                origin,
                ack,
                latest,
                message,
            } => {
                let tag = latest.as_deref().map(str::as_bytes);
                let tag_field = match tag {
                    Some(tag) => u32::try_from(tag.len()).ok()?.checked_add(1)?,
                    None => 0,
                };
                let tag = tag.unwrap_or_default();
                let (kind, payload): (u8, &[u8]) = match message {
                    Message::Text(text) => (TEXT, text.as_bytes()),
                    Message::Binary(data) => (BINARY, data),
                    Message::Ping(data) => (PING, data),
                    Message::Pong(data) => (PONG, data),
                    Message::Close(_) | Message::Frame(_) => return None,
                };
                out.reserve(20 + tag.len() + payload.len());
                out.push(0);
                out.extend_from_slice(&origin.0.to_be_bytes());
                out.extend_from_slice(&ack.unwrap_or(0).to_be_bytes());
                out.extend_from_slice(&tag_field.to_be_bytes());
                out.extend_from_slice(tag);
                out.push(kind);
                out.extend_from_slice(payload);
            }
            Envelope::Replace { origin } => {
                out.push(1);
                out.extend_from_slice(&origin.0.to_be_bytes());
            }
            Envelope::Ack { id, reached } => {
                out.push(2);
                out.extend_from_slice(&id.to_be_bytes());
                out.extend_from_slice(&reached.to_be_bytes());
            }
            Envelope::CountQuery { origin, id } => {
                out.push(3);
                out.extend_from_slice(&origin.0.to_be_bytes());
                out.extend_from_slice(&id.to_be_bytes());
            }
            Envelope::Count { id, sessions } => {
                out.push(4);
                out.extend_from_slice(&id.to_be_bytes());
                out.extend_from_slice(&sessions.to_be_bytes());
            }
            Envelope::Record {
                origin,
                id,
                text,
                at,
            } => {
                out.push(5);
                out.extend_from_slice(&origin.0.to_be_bytes());
                out.extend_from_slice(&id.to_be_bytes());
                out.extend_from_slice(&u32::try_from(text.len()).ok()?.to_be_bytes());
                out.extend_from_slice(text.as_bytes());
                if let Some(at) = at {
                    out.extend_from_slice(at.to_string().as_bytes());
                }
            }
        }
        Some(out.into())
    }

    /// The envelope `bytes` hold, or `None` for anything else (another format, another version,
    /// text that is not UTF-8): a node ignores what it cannot read.
    pub(crate) fn decode(bytes: Bytes) -> Option<Envelope> {
        let version = match bytes.get(..2)? {
            [b'W', version] if *version == HEADER[1] || *version == VERSION_1 => *version,
            _ => return None,
        };
        let mut reader = Reader { bytes, at: 3 };
        let envelope = match reader.bytes.get(2)? {
            0 => {
                let origin = NodeId(reader.u64()?);
                let ack = Some(reader.u64()?).filter(|id| *id != 0);
                let tag_field = if version == VERSION_1 {
                    0
                } else {
                    reader.u32()?
                };
                let latest = match usize::try_from(tag_field).ok()?.checked_sub(1) {
                    None => None,
                    Some(len) => Some(Tag::from(std::str::from_utf8(&reader.bytes(len)?).ok()?)),
                };
                let kind = reader.u8()?;
                let payload = reader.rest();
                let message = match kind {
                    TEXT => Message::Text(Utf8Bytes::try_from(payload).ok()?),
                    BINARY => Message::Binary(payload),
                    PING => Message::Ping(payload),
                    PONG => Message::Pong(payload),
                    _ => return None,
                };
                Envelope::Deliver {
                    origin,
                    ack,
                    latest,
                    message,
                }
            }
            1 => Envelope::Replace {
                origin: NodeId(reader.u64()?),
            },
            2 => Envelope::Ack {
                id: reader.u64()?,
                reached: reader.u32()?,
            },
            3 => Envelope::CountQuery {
                origin: NodeId(reader.u64()?),
                id: reader.u64()?,
            },
            4 => Envelope::Count {
                id: reader.u64()?,
                sessions: reader.u64()?,
            },
            5 => {
                let origin = NodeId(reader.u64()?);
                let id = reader.u64()?;
                let len = usize::try_from(reader.u32()?).ok()?;
                let text = Utf8Bytes::try_from(reader.bytes(len)?).ok()?;
                let rest = reader.rest();
                let at = match rest.is_empty() {
                    true => None,
                    false => Some(std::str::from_utf8(&rest).ok()?.parse().ok()?),
                };
                Envelope::Record {
                    origin,
                    id,
                    text,
                    at,
                }
            }
            _ => return None,
        };
        Some(envelope)
    }
}

/// Reads fixed-width integers off the front of an envelope.
struct Reader {
    bytes: Bytes,
    at: usize,
}

impl Reader {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let slice = self.bytes.get(self.at..self.at + N)?;
        self.at += N;
        slice.try_into().ok()
    }

    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|[b]| b)
    }

    /// The next `len` bytes, without a copy.
    fn bytes(&mut self, len: usize) -> Option<Bytes> {
        let end = self
            .at
            .checked_add(len)
            .filter(|end| *end <= self.bytes.len())?;
        let bytes = self.bytes.slice(self.at..end);
        self.at = end;
        Some(bytes)
    }

    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_be_bytes)
    }

    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_be_bytes)
    }

    /// The rest, without a copy.
    fn rest(self) -> Bytes {
        self.bytes.slice(self.at.min(self.bytes.len())..)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(envelope: Envelope) {
        let bytes = envelope.encode().expect("encodes");
        assert_eq!(Envelope::decode(bytes), Some(envelope));
    }

    #[test]
    fn every_envelope_reads_back_as_written() {
        let origin = NodeId(0x0102_0304_0506_0708);
        for message in [
            Message::text("héllo"),
            Message::binary(vec![0, 255, 7]),
            Message::Ping(Bytes::from_static(b"p")),
            Message::Pong(Bytes::new()),
            Message::text(""),
        ] {
            round_trip(Envelope::Deliver {
                origin,
                ack: None,
                latest: None,
                message: message.clone(),
            });
            round_trip(Envelope::Deliver {
                origin,
                ack: Some(u64::MAX),
                latest: Some("progré".into()),
                message: message.clone(),
            });
            round_trip(Envelope::Deliver {
                origin,
                ack: None,
                latest: Some("".into()),
                message,
            });
        }
        round_trip(Envelope::Replace { origin });
        round_trip(Envelope::Ack { id: 9, reached: 3 });
        round_trip(Envelope::CountQuery { origin, id: 4 });
        round_trip(Envelope::Count {
            id: 4,
            sessions: 10_000,
        });
        for at in [None, Some(Position::new("ep", 9_007_199_254_740_991))] {
            round_trip(Envelope::Record {
                origin,
                id: 77,
                text: "{\"n\":1}".into(),
                at,
            });
        }
    }

    #[test]
    fn a_record_as_kept_reads_back_with_the_position_the_broker_appends() {
        let kept = Envelope::Record {
            origin: NodeId(3),
            id: 1,
            text: "hi".into(),
            at: None,
        };
        let mut published = kept.encode().unwrap().to_vec();
        published.extend_from_slice(b"e1:42");
        let Some(Envelope::Record { text, at, .. }) = Envelope::decode(published.into()) else {
            panic!("a record");
        };
        assert_eq!((text.as_str(), at), ("hi", Some(Position::new("e1", 42))));
    }

    #[test]
    fn a_version_1_deliver_reads_as_untagged() {
        let mut v1 = vec![b'W', VERSION_1, 0];
        v1.extend_from_slice(&7u64.to_be_bytes());
        v1.extend_from_slice(&0u64.to_be_bytes());
        v1.push(TEXT);
        v1.extend_from_slice(b"hi");
        assert_eq!(
            Envelope::decode(v1.into()),
            Some(Envelope::Deliver {
                origin: NodeId(7),
                ack: None,
                latest: None,
                message: Message::text("hi"),
            })
        );
    }

    #[test]
    fn what_belongs_to_one_connection_does_not_cross_nodes() {
        let close = Envelope::Deliver {
            origin: NodeId(1),
            ack: None,
            latest: None,
            message: Message::Close(None),
        };
        assert_eq!(close.encode(), None);
    }

    #[test]
    fn anything_else_is_ignored() {
        let valid = Envelope::Replace { origin: NodeId(1) }.encode().unwrap();
        for bad in [
            Bytes::new(),
            Bytes::from_static(b"W"),
            Bytes::from_static(b"X\x02\x01"),
            Bytes::from_static(b"W\x03\x01"),
            valid.slice(..valid.len() - 1),
            Bytes::from_static(b"W\x02\x09"),
        ] {
            assert_eq!(Envelope::decode(bad.clone()), None, "{bad:?}");
        }
        let mut bad_text = Envelope::Deliver {
            origin: NodeId(1),
            ack: None,
            latest: None,
            message: Message::binary(vec![0xff]),
        }
        .encode()
        .unwrap()
        .to_vec();
        bad_text[23] = TEXT;
        assert_eq!(
            Envelope::decode(bad_text.into()),
            None,
            "text that is not UTF-8"
        );
    }
}

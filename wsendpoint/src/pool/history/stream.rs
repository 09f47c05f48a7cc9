//! [`Stream`]: one key's history on this node: its epoch, its last offset, and the recorded
//! messages still kept, oldest first.

use std::collections::VecDeque;
use std::time::Instant;

use tungstenite::Utf8Bytes;

use crate::base::config::HistoryConfig;
use crate::pool::history::wire::{self, GapReason, Position, MAX_OFFSET};

/// One key's history.
pub(crate) struct Stream {
    epoch: Box<str>,
    /// The offset of the last message recorded; 0 before the first.
    top: u64,
    /// The messages kept, oldest first, as their live frames.
    kept: VecDeque<Kept>,
    /// When a message was last recorded or a session last resumed here: a stream unused for
    /// its time to live, and empty, may be forgotten.
    used: Instant,
}

struct Kept {
    offset: u64,
    at: Instant,
    frame: Utf8Bytes,
}

/// What a session that enters gets before any live message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Resume {
    /// It named no position: where the history stands.
    Fresh { top: u64 },
    /// The messages it missed, then where the history stands.
    Recovered { missed: Vec<Utf8Bytes>, top: u64 },
    /// It cannot get what it missed: why, and where the history stands.
    Gap { reason: GapReason, top: u64 },
}

impl Stream {
    /// An empty history in the epoch `epoch`.
    pub(crate) fn new(epoch: Box<str>, now: Instant) -> Self {
        Stream {
            epoch,
            top: 0,
            kept: VecDeque::new(),
            used: now,
        }
    }

    pub(crate) fn epoch(&self) -> &str {
        &self.epoch
    }

    /// Records `data` at the next offset; returns its live frame.
    pub(crate) fn record(&mut self, data: &str, now: Instant, config: &HistoryConfig) -> Utf8Bytes {
        // Past 2^53 the epoch would have to change; at a million messages a second per key
        // that is 285 years away, so saturating is a bound, not a case.
        self.top = (self.top + 1).min(MAX_OFFSET);
        let frame = Utf8Bytes::from(wire::message(&self.epoch, self.top, data));
        self.kept.push_back(Kept {
            offset: self.top,
            at: now,
            frame: frame.clone(),
        });
        self.used = now;
        self.trim(now, config);
        frame
    }

    /// What a session that resumes from `from` (or does not) gets.
    pub(crate) fn resume(
        &mut self,
        from: Option<&Position>,
        now: Instant,
        config: &HistoryConfig,
    ) -> Resume {
        self.used = now;
        self.trim(now, config);
        let top = self.top;
        let Some(from) = from else {
            return Resume::Fresh { top };
        };
        let oldest = self.kept.front().map_or(top + 1, |kept| kept.offset);
        if let Some(reason) = unrecoverable(from, &self.epoch, top, oldest) {
            return Resume::Gap { reason, top };
        }
        let missed = self
            .kept
            .iter()
            .skip_while(|kept| kept.offset <= from.offset())
            .map(|kept| kept.frame.clone())
            .collect();
        Resume::Recovered { missed, top }
    }

    /// Whether nothing is kept and the stream was not used for its time to live.
    pub(crate) fn is_stale(&mut self, now: Instant, config: &HistoryConfig) -> bool {
        self.trim(now, config);
        self.kept.is_empty() && now.saturating_duration_since(self.used) >= config.ttl
    }

    /// Forgets what is past the size bound or older than the time to live.
    fn trim(&mut self, now: Instant, config: &HistoryConfig) {
        while self.kept.len() > config.size {
            self.kept.pop_front();
        }
        while let Some(oldest) = self.kept.front() {
            if now.saturating_duration_since(oldest.at) < config.ttl {
                break;
            }
            self.kept.pop_front();
        }
    }
}

/// Why a client at `from` cannot get what it missed from a history in `epoch` that stands at
/// `top` and keeps what follows `oldest - 1`; `None` when it can.
pub(crate) fn unrecoverable(
    from: &Position,
    epoch: &str,
    top: u64,
    oldest: u64,
) -> Option<GapReason> {
    if from.epoch() != epoch {
        Some(GapReason::HistoryLost)
    } else if from.offset() > top {
        Some(GapReason::Unknown)
    } else if from.offset() + 1 < oldest {
        Some(GapReason::TooOld)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const CONFIG: HistoryConfig = HistoryConfig::new(Duration::from_secs(60)).with_size(3);

    fn stream_with(count: u64, now: Instant) -> Stream {
        let mut stream = Stream::new("ep".into(), now);
        for n in 1..=count {
            stream.record(&format!("m{n}"), now, &CONFIG);
        }
        stream
    }

    fn offsets(resume: &Resume) -> Vec<u64> {
        let Resume::Recovered { missed, .. } = resume else {
            panic!("not recovered: {resume:?}");
        };
        missed
            .iter()
            .map(|frame| {
                let value: serde_json::Value = serde_json::from_str(frame).unwrap();
                value["offset"].as_u64().unwrap()
            })
            .collect()
    }

    #[test]
    fn a_resume_gets_what_came_after_its_position() {
        let now = Instant::now();
        let mut stream = stream_with(5, now);
        let at = |offset| Position::new("ep", offset);
        assert_eq!(offsets(&stream.resume(Some(&at(3)), now, &CONFIG)), [4, 5]);
        assert_eq!(
            offsets(&stream.resume(Some(&at(2)), now, &CONFIG)),
            [3, 4, 5]
        );
        assert_eq!(
            offsets(&stream.resume(Some(&at(5)), now, &CONFIG)),
            [] as [u64; 0]
        );
        assert_eq!(stream.resume(None, now, &CONFIG), Resume::Fresh { top: 5 });
    }

    #[test]
    fn a_resume_it_cannot_serve_is_a_gap_with_its_reason() {
        let now = Instant::now();
        let mut stream = stream_with(5, now);
        let gap = |stream: &mut Stream, epoch, offset| match stream.resume(
            Some(&Position::new(epoch, offset)),
            now,
            &CONFIG,
        ) {
            Resume::Gap { reason, top } => (reason, top),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            gap(&mut stream, "ep", 1),
            (GapReason::TooOld, 5),
            "3 kept: 3..=5"
        );
        assert_eq!(gap(&mut stream, "other", 5), (GapReason::HistoryLost, 5));
        assert_eq!(gap(&mut stream, "ep", 6), (GapReason::Unknown, 5));
    }

    #[test]
    fn old_messages_expire_and_an_unused_stream_goes_stale() {
        let start = Instant::now();
        let mut stream = stream_with(2, start);
        let later = start + CONFIG.ttl;
        let resume = stream.resume(Some(&Position::new("ep", 1)), later, &CONFIG);
        assert!(matches!(
            resume,
            Resume::Gap {
                reason: GapReason::TooOld,
                top: 2
            }
        ));
        assert!(!stream.is_stale(later, &CONFIG), "the resume used it");
        assert!(stream.is_stale(later + CONFIG.ttl, &CONFIG));
        let mut fresh = Stream::new("e2".into(), start);
        let resume = fresh.resume(Some(&Position::new("e2", 0)), start, &CONFIG);
        assert_eq!(
            resume,
            Resume::Recovered {
                missed: vec![],
                top: 0
            }
        );
    }
}

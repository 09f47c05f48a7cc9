//! [`Cursor`]: where one session stands in its key's history when the history is the
//! backplane's, so that it gets each message once and in offset order, whatever way and order
//! the messages reach its node.
//!
//! On one node the key's lock gives that order. In a cluster the messages arrive from the
//! broker, in the order it assigned their offsets as long as nothing is lost, and a session
//! that enters, or whose node lost the broker for a while, must first get what it missed from
//! the history, which is read asynchronously while live messages keep arriving. So each session
//! keeps its last offset: a message at the next offset goes out; one at or before it is a
//! duplicate; one past it, in another epoch, or any while the session waits for the history,
//! is held, and the history is read to fill in before the held messages go out.

use std::time::Instant;

use tungstenite::{Message, Utf8Bytes};

use crate::pool::history::stream::unrecoverable;
use crate::pool::history::wire::{self, GapReason, Position};

/// One session's place in its key's history.
#[derive(Debug)]
pub(crate) struct Cursor {
    /// The position of the last message the session got, or the one its history stood at when
    /// it got nothing yet; `None` before it is known.
    at: Option<Position>,
    /// Set while the session waits for the history.
    waiting: Option<Waiting>,
}

#[derive(Debug)]
struct Waiting {
    /// Whether the session is entering (it gets a first notice: position, recovered or gap, and
    /// its replay ends with `recovered`), or fills in what its node missed.
    entering: bool,
    /// When it started waiting: a page asked for before then may not cover what it needs.
    since: Instant,
    /// The messages that arrived meanwhile, in arrival order.
    held: Vec<(Position, Utf8Bytes)>,
}

/// What a message that arrives does to a session.
#[derive(Debug, PartialEq)]
pub(crate) enum Offer {
    /// Queue this frame.
    Deliver(Message),
    /// It had this one already.
    Duplicate,
    /// Held until the history is read; ask for that.
    Held,
}

/// A key's history as the backplane read it, its entries decoded: what a waiting cursor fills
/// in from.
#[derive(Debug)]
pub(crate) struct Page {
    /// When it was asked for: it says nothing of what was recorded after.
    pub(crate) asked: Instant,
    /// The offset it was read after: it holds nothing before.
    pub(crate) after: u64,
    pub(crate) epoch: Box<str>,
    pub(crate) top: u64,
    /// The entries after the offset asked for, oldest first.
    pub(crate) entries: Vec<(u64, Utf8Bytes)>,
}

impl Cursor {
    /// The cursor of a session that enters resuming from `from`, or not: it waits for the
    /// history.
    pub(crate) fn entering(from: Option<Position>) -> Self {
        Cursor {
            at: from,
            waiting: Some(Waiting {
                entering: true,
                since: Instant::now(),
                held: Vec::new(),
            }),
        }
    }

    /// Whether the session waits for the history.
    pub(crate) fn is_waiting(&self) -> bool {
        self.waiting.is_some()
    }

    /// The offset after which the history must be read for this session: `None` when it needs
    /// no entry (it does not resume, so only where the history stands).
    pub(crate) fn needs_after(&self) -> Option<u64> {
        self.waiting.as_ref()?;
        self.at.as_ref().map(Position::offset)
    }

    /// The message `text` at `at` arrived.
    pub(crate) fn offer(&mut self, at: &Position, text: &Utf8Bytes) -> Offer {
        if let Some(waiting) = &mut self.waiting {
            waiting.held.push((at.clone(), text.clone()));
            return Offer::Held;
        }
        match self.at.as_ref().map(|last| next_of(last, at)) {
            Some(Next::Duplicate) => Offer::Duplicate,
            // Not known yet (the history could not be read): take the messages as they come.
            Some(Next::Yes) | None => {
                self.at = Some(at.clone());
                Offer::Deliver(live(at, text))
            }
            Some(Next::Gap) => {
                self.wait(false);
                self.offer(at, text)
            }
        }
    }

    /// The session's node may have missed messages: wait for the history.
    pub(crate) fn wait(&mut self, entering: bool) {
        if self.waiting.is_none() {
            self.waiting = Some(Waiting {
                entering,
                since: Instant::now(),
                held: Vec::new(),
            });
        }
    }

    /// Fills in from `page`: the frames to queue, in order. The cursor stops waiting unless a
    /// held message is still past what the page covers; a page asked for before the cursor
    /// started waiting (it may not know what the session knows), or read after a later offset
    /// than this session needs, leaves it waiting: the history is read again.
    pub(crate) fn fill(&mut self, page: &Page) -> Vec<Message> {
        let asked_before = self.waiting.as_ref().is_some_and(|w| page.asked < w.since);
        let read_too_late = self.needs_after().is_some_and(|after| {
            let same_epoch = self
                .at
                .as_ref()
                .is_some_and(|at| at.epoch() == &*page.epoch);
            after < page.after && same_epoch
        });
        if asked_before || read_too_late {
            return Vec::new();
        }
        let Some(waiting) = self.waiting.take() else {
            return Vec::new();
        };
        let mut frames = self.fill_from(page, waiting.entering);
        let mut held = waiting.held.into_iter();
        for (at, text) in held.by_ref() {
            match self.offer(&at, &text) {
                Offer::Deliver(frame) => frames.push(frame),
                Offer::Duplicate => {}
                Offer::Held => break,
            }
        }
        if let Some(waiting) = &mut self.waiting {
            waiting.held.extend(held);
        }
        frames
    }

    /// The history could not be read: the session is told that it may have missed messages
    /// (a gap notice at its own position), and what arrived meanwhile goes out as it came.
    pub(crate) fn give_up(&mut self) -> Vec<Message> {
        let Some(waiting) = self.waiting.take() else {
            return Vec::new();
        };
        let mut frames = Vec::new();
        if let Some(at) = &self.at {
            let gap = wire::gap(at.epoch(), at.offset(), GapReason::Unavailable);
            frames.push(text_frame(gap));
        }
        for (at, text) in waiting.held {
            if self
                .at
                .as_ref()
                .is_some_and(|last| next_of(last, &at) == Next::Duplicate)
            {
                continue;
            }
            self.at = Some(at.clone());
            frames.push(live(&at, &text));
        }
        frames
    }

    /// The frames of what the session missed up to `page.top`, or of why it cannot have them.
    fn fill_from(&mut self, page: &Page, entering: bool) -> Vec<Message> {
        let top_position = Position::new(&page.epoch, page.top);
        let Some(from) = self.at.replace(top_position) else {
            return vec![text_frame(wire::position(&page.epoch, page.top))];
        };
        let oldest = page
            .entries
            .first()
            .map_or(page.top + 1, |(offset, _)| *offset);
        if let Some(reason) = unrecoverable(&from, &page.epoch, page.top, oldest) {
            return vec![text_frame(wire::gap(&page.epoch, page.top, reason))];
        }
        let missed: Vec<&(u64, Utf8Bytes)> = page
            .entries
            .iter()
            .filter(|(offset, _)| *offset > from.offset() && *offset <= page.top)
            .collect();
        let count = missed.len();
        let mut frames: Vec<Message> = missed
            .into_iter()
            .map(|(offset, text)| {
                let frame = wire::message(&page.epoch, *offset, text);
                text_frame(wire::replayed(&frame))
            })
            .collect();
        if entering {
            frames.push(text_frame(wire::recovered(&page.epoch, page.top, count)));
        }
        frames
    }
}

/// How a message at `at` follows the last one, at `last`.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    Yes,
    Duplicate,
    /// Past the next offset, or in another epoch.
    Gap,
}

fn next_of(last: &Position, at: &Position) -> Next {
    if last.epoch() != at.epoch() {
        Next::Gap
    } else if at.offset() <= last.offset() {
        Next::Duplicate
    } else if at.offset() == last.offset() + 1 {
        Next::Yes
    } else {
        Next::Gap
    }
}

/// The live frame of `text` at `at`.
fn live(at: &Position, text: &str) -> Message {
    text_frame(wire::message(at.epoch(), at.offset(), text))
}

fn text_frame(frame: String) -> Message {
    Message::Text(Utf8Bytes::from(frame))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(offset: u64) -> Position {
        Position::new("ep", offset)
    }

    fn page(top: u64, kept: std::ops::RangeInclusive<u64>) -> Page {
        Page {
            asked: Instant::now(),
            after: kept.start().saturating_sub(1),
            epoch: "ep".into(),
            top,
            entries: kept.map(|n| (n, Utf8Bytes::from(n.to_string()))).collect(),
        }
    }

    /// What each frame is: `$ws` kind, offset, and whether replayed.
    fn kinds(frames: &[Message]) -> Vec<(String, u64, bool)> {
        frames
            .iter()
            .map(|frame| {
                let value: serde_json::Value =
                    serde_json::from_str(frame.to_text().unwrap()).unwrap();
                (
                    value["$ws"].as_str().unwrap().to_owned(),
                    value["offset"].as_u64().unwrap(),
                    value["replayed"] == true,
                )
            })
            .collect()
    }

    fn text(n: u64) -> Utf8Bytes {
        Utf8Bytes::from(n.to_string())
    }

    #[test]
    fn an_entering_session_gets_what_it_missed_then_what_arrived_meanwhile() {
        let mut cursor = Cursor::entering(Some(at(2)));
        assert_eq!(cursor.needs_after(), Some(2));
        assert_eq!(cursor.offer(&at(5), &text(5)), Offer::Held);
        assert_eq!(
            cursor.offer(&at(4), &text(4)),
            Offer::Held,
            "arrived out of order"
        );
        let frames = cursor.fill(&page(4, 1..=4));
        let expected = [
            ("message", 3, true),
            ("message", 4, true),
            ("recovered", 4, false),
            ("message", 5, false),
        ];
        let expected: Vec<_> = expected
            .iter()
            .map(|(k, o, r)| (k.to_string(), *o, *r))
            .collect();
        assert_eq!(
            kinds(&frames),
            expected,
            "4 came with the history: not twice"
        );
        assert!(!cursor.is_waiting());
        assert_eq!(
            cursor.offer(&at(6), &text(6)),
            Offer::Deliver(live(&at(6), "6"))
        );
        assert_eq!(cursor.offer(&at(6), &text(6)), Offer::Duplicate);
    }

    #[test]
    fn a_session_that_does_not_resume_gets_the_position_first() {
        let mut cursor = Cursor::entering(None);
        assert_eq!(cursor.needs_after(), None);
        cursor.offer(&at(8), &text(8));
        let frames = cursor.fill(&page(7, 1..=7));
        let kinds = kinds(&frames);
        assert_eq!(kinds[0], ("position".into(), 7, false));
        assert_eq!(kinds[1], ("message".into(), 8, false));
    }

    #[test]
    fn a_skipped_offset_waits_for_the_history_and_a_lost_one_is_a_gap() {
        let mut cursor = Cursor::entering(Some(at(1)));
        cursor.fill(&page(1, 1..=1));
        assert_eq!(cursor.offer(&at(3), &text(3)), Offer::Held, "2 is missing");
        assert_eq!(cursor.needs_after(), Some(1));
        let frames = cursor.fill(&page(3, 2..=3));
        let offsets: Vec<_> = kinds(&frames).into_iter().map(|(_, o, _)| o).collect();
        assert_eq!(offsets, [2, 3], "no recovered notice when not entering");
        let mut cursor = Cursor::entering(Some(at(1)));
        let trimmed = Page {
            after: 1,
            ..page(9, 5..=9)
        };
        let frames = cursor.fill(&trimmed);
        assert_eq!(
            kinds(&frames)[0],
            ("gap".into(), 9, false),
            "2..=4 are gone"
        );
        let mut cursor = Cursor::entering(Some(Position::new("old", 3)));
        let empty = Page {
            asked: Instant::now(),
            after: 3,
            epoch: "ep".into(),
            top: 0,
            entries: Vec::new(),
        };
        let frames = cursor.fill(&empty);
        assert_eq!(kinds(&frames)[0].0, "gap");
    }

    #[test]
    fn a_held_message_past_the_page_keeps_the_cursor_waiting() {
        let mut cursor = Cursor::entering(Some(at(1)));
        cursor.offer(&at(9), &text(9));
        let frames = cursor.fill(&page(3, 2..=3));
        assert_eq!(kinds(&frames).len(), 3, "2, 3 and recovered");
        assert!(cursor.is_waiting(), "4..=8 are still to read");
        assert_eq!(cursor.needs_after(), Some(3));
    }

    #[test]
    fn a_page_read_after_a_later_offset_is_read_again() {
        let mut cursor = Cursor::entering(Some(at(2)));
        assert_eq!(cursor.fill(&page(9, 6..=9)), Vec::<Message>::new());
        assert!(cursor.is_waiting());
        assert_eq!(
            kinds(&cursor.fill(&page(9, 3..=9))).len(),
            8,
            "3..=9 and recovered"
        );
    }

    #[test]
    fn a_page_asked_for_before_the_cursor_waited_is_read_again() {
        let mut cursor = Cursor::entering(Some(at(5)));
        let stale = Page {
            asked: Instant::now() - std::time::Duration::from_millis(1),
            ..page(4, 1..=4)
        };
        assert_eq!(
            cursor.fill(&stale),
            Vec::<Message>::new(),
            "no false unknown_position"
        );
        assert!(cursor.is_waiting());
        assert_eq!(
            kinds(&cursor.fill(&page(5, 1..=5))),
            [("recovered".into(), 5, false)]
        );
    }

    #[test]
    fn a_session_that_cannot_fill_in_is_told_so() {
        let mut cursor = Cursor::entering(Some(at(1)));
        cursor.fill(&page(1, 1..=1));
        cursor.offer(&at(4), &text(4));
        let kinds = kinds(&cursor.give_up());
        assert_eq!(kinds[0], ("gap".into(), 1, false), "2 and 3 may be lost");
        assert_eq!(kinds[1], ("message".into(), 4, false));
    }

    #[test]
    fn without_the_history_held_messages_go_out_as_they_came() {
        let mut cursor = Cursor::entering(Some(at(4)));
        cursor.offer(&at(5), &text(5));
        cursor.offer(&at(5), &text(5));
        let frames = cursor.give_up();
        let kinds = kinds(&frames);
        assert_eq!(kinds[0], ("gap".into(), 4, false));
        assert_eq!(kinds.len(), 2, "the duplicate is dropped");
    }
}

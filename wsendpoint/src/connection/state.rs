//! The lifecycle of one connection, every transition in this file:
//!
//! ```text
//!         close begins (asked by a handle,          reading is over (the peer answered,
//!         an error, the shutdown), or the           the stream failed, or the close
//!         peer's close frame arrives                handshake timed out)
//!  Open ──────────────────────────────▶ Closing ──────────────────────────────▶ Flushing ──▶ Closed
//!    │                                                                          ▲   the writer is done,
//!    └──────────── reading is over without a close (EOF, reset): 1006 ──────────┘   or its deadline passed
//! ```
//!
//! The driver owns the [`Lifecycle`]. Every handle of the connection (its session, the pool, the
//! writer) shares only its [`Control`]: whether the connection still takes messages, and the
//! close a handle asked for, which the driver then carries out. Everything else about closing is
//! read off the lifecycle: a session is open while its control is; the outbound queue ends as a
//! transition says ([`EndQueue`]: the close frame after what is queued, or instead of it); the
//! session leaves its pool once the lifecycle is closed.
//!
//! What is queued goes out before the server's close frame, within the close-handshake timeout,
//! for every close but two ([`Flush::Nothing`]): a slow consumer, whose queue is full because it
//! does not read, and a connection whose writes fail.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::task::AtomicWaker;
use tokio::time::Instant;
use tungstenite::Message;

use crate::base::close::{CloseCode, CloseReason};
use crate::base::sync::lock;

/// How long a close may take from its start: the writer puts out what was queued, then the close
/// frame, and the peer answers it.
pub(crate) const CLOSE_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the writer may still take once reading is over, when the close handshake leaves it
/// less: long enough to put a last frame on the wire, short enough for a peer that never reads.
pub(crate) const WRITER_GRACE: Duration = Duration::from_secs(1);

/// What happens to the messages queued for the client when a close begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flush {
    /// They go out, then the close frame, and the peer's answer is awaited.
    Queued,
    /// They are dropped, the close frame is tried, and no answer is awaited: the client does not
    /// read (a slow consumer), or writing to it failed.
    Nothing,
}

/// A close asked for: the reason our close frame carries, and what becomes of the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CloseRequest {
    pub(crate) reason: CloseReason,
    pub(crate) flush: Flush,
}

/// How the outbound queue ends: with `last` (the close frame, if any) after the messages it
/// holds, or instead of them unless `drain`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EndQueue {
    pub(crate) last: Option<Message>,
    pub(crate) drain: bool,
}

/// The part of a connection's state its handles share.
pub(crate) struct Control {
    /// Cleared at the first close asked for, and by every transition out of `Open`.
    open: AtomicBool,
    /// The first close asked for, until the driver takes it.
    request: Mutex<Option<CloseRequest>>,
    /// Wakes the driver when a close is asked for.
    driver: AtomicWaker,
}

impl Control {
    pub(crate) fn new() -> Self {
        Control {
            open: AtomicBool::new(true),
            request: Mutex::new(None),
            driver: AtomicWaker::new(),
        }
    }

    /// Whether the connection still takes messages: no close was asked for, none began.
    #[inline]
    pub(crate) fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }

    /// Asks the driver to close; only the first close counts. Whether this one did.
    pub(crate) fn request_close(&self, reason: CloseReason, flush: Flush) -> bool {
        let mut request = lock(&self.request);
        // Under the lock, so that the first to clear the flag is the one whose request is kept.
        if !self.open.swap(false, Ordering::AcqRel) {
            return false;
        }
        *request = Some(CloseRequest { reason, flush });
        drop(request);
        self.driver.wake();
        true
    }

    /// The close a handle asked for, if any, for the driver to carry out.
    pub(crate) fn take_request(&self) -> Option<CloseRequest> {
        lock(&self.request).take()
    }

    /// Ready with the close a handle asks for; the driver waits on it. Polled each time the
    /// connection has nothing more to read, so while open it costs two atomic loads and the
    /// waker's registration, not the lock: a request clears the flag before it is stored, under
    /// the lock that `take_request` takes.
    #[inline]
    pub(crate) fn poll_request(&self, cx: &mut Context<'_>) -> Poll<CloseRequest> {
        if let Some(request) = self.requested() {
            return Poll::Ready(request);
        }
        self.driver.register(cx.waker());
        // Again, for a request made before the waker was in place.
        match self.requested() {
            Some(request) => Poll::Ready(request),
            None => Poll::Pending,
        }
    }

    #[inline]
    fn requested(&self) -> Option<CloseRequest> {
        if self.is_open() {
            return None;
        }
        self.take_request()
    }

    /// Nothing will be sent on this connection any more: it is closing, or its writer is gone.
    pub(crate) fn shut(&self) {
        self.open.store(false, Ordering::Release);
    }
}

/// Where a connection is in its lifecycle; see the [module docs](self).
#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Open,
    Closing(Closing),
    /// Nothing more is read; the writer puts out what remains until `deadline`.
    Flushing {
        reason: CloseReason,
        deadline: Instant,
    },
    Closed,
}

/// A close handshake under way.
#[derive(Debug, Clone, PartialEq)]
struct Closing {
    /// The reason our close frame carries, if we closed first.
    sent: Option<CloseReason>,
    /// The reason of the peer's close frame, once it arrived.
    received: Option<CloseReason>,
    /// When we stop waiting for the peer.
    deadline: Instant,
}

impl Closing {
    /// The reason `on_close` receives: ours if we closed first, else the peer's.
    fn reason(&self) -> CloseReason {
        self.sent
            .clone()
            .or_else(|| self.received.clone())
            .unwrap_or_else(dropped)
    }
}

/// The driver's view of the lifecycle: which phase, and until when.
///
/// The queries the driver makes on every message are `#[inline]` (here and in [`Control`]): the
/// driver is generic, so it is compiled in the application's crate, where a function of this
/// crate that is neither generic nor `#[inline]` is a call (measured: 2–3 % of echo's CPU).
#[derive(Debug)]
pub(crate) struct Lifecycle {
    phase: Phase,
}

impl Lifecycle {
    pub(crate) fn new() -> Self {
        Lifecycle { phase: Phase::Open }
    }

    /// Whether messages from the peer still go to the handler.
    #[inline]
    pub(crate) fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Open)
    }

    /// Whether frames are still read: until the close handshake is over.
    #[inline]
    pub(crate) fn is_reading(&self) -> bool {
        matches!(self.phase, Phase::Open | Phase::Closing(_))
    }

    /// When the current phase gives up: `None` while open.
    #[inline]
    pub(crate) fn deadline(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Closing(closing) => Some(closing.deadline),
            Phase::Flushing { deadline, .. } => Some(*deadline),
            Phase::Open | Phase::Closed => None,
        }
    }

    /// Open → Closing: the close asked for begins. Nothing once closing.
    pub(crate) fn begin_close(
        &mut self,
        control: &Control,
        request: CloseRequest,
        now: Instant,
    ) -> Option<EndQueue> {
        if self.phase != Phase::Open {
            return None;
        }
        control.shut();
        let (wait, drain) = match request.flush {
            Flush::Queued => (CLOSE_HANDSHAKE_TIMEOUT, true),
            Flush::Nothing => (Duration::ZERO, false),
        };
        let last = request.reason.to_frame().map(|f| Message::Close(Some(f)));
        self.phase = Phase::Closing(Closing {
            sent: Some(request.reason),
            received: None,
            deadline: now + wait,
        });
        Some(EndQueue { last, drain })
    }

    /// The peer's close frame arrived: Open → Closing, or the answer to ours. The WebSocket layer
    /// answers it and sends nothing after that answer; the queue ends (empty) once reading is
    /// over, so that the writer is not woken while the WebSocket layer still writes its answer
    /// (measured: a little handshake-and-close CPU).
    pub(crate) fn peer_closed(
        &mut self,
        control: &Control,
        reason: CloseReason,
        now: Instant,
    ) -> Option<EndQueue> {
        match &mut self.phase {
            Phase::Open => {
                control.shut();
                self.phase = Phase::Closing(Closing {
                    sent: None,
                    received: Some(reason),
                    deadline: now + CLOSE_HANDSHAKE_TIMEOUT,
                });
                None
            }
            Phase::Closing(closing) => {
                closing.received.get_or_insert(reason);
                None
            }
            Phase::Flushing { .. } | Phase::Closed => None,
        }
    }

    /// Nothing more will be read: the stream ended or failed, or the close handshake timed out.
    /// Open → Flushing (the connection dropped: 1006), Closing → Flushing; a queue the peer's
    /// close left open ends now, empty.
    pub(crate) fn reading_over(&mut self, control: &Control, now: Instant) -> Option<EndQueue> {
        let grace = now + WRITER_GRACE;
        match &self.phase {
            Phase::Open => {
                control.shut();
                self.phase = Phase::Flushing {
                    reason: dropped(),
                    deadline: grace,
                };
                Some(EndQueue {
                    last: None,
                    drain: false,
                })
            }
            Phase::Closing(closing) => {
                let end = closing.sent.is_none().then_some(EndQueue {
                    last: None,
                    drain: false,
                });
                self.phase = Phase::Flushing {
                    reason: closing.reason(),
                    deadline: closing.deadline.max(grace),
                };
                end
            }
            Phase::Flushing { .. } | Phase::Closed => None,
        }
    }

    /// Flushing → Closed: the writer is done, or its deadline passed. The reason `on_close`
    /// receives; a lifecycle cut short (its driver abandoned) ends as the connection dropped.
    pub(crate) fn finish(&mut self) -> CloseReason {
        match std::mem::replace(&mut self.phase, Phase::Closed) {
            Phase::Flushing { reason, .. } => reason,
            Phase::Closing(closing) => closing.reason(),
            Phase::Open | Phase::Closed => dropped(),
        }
    }
}

/// The reason of a connection that ended without a close handshake.
fn dropped() -> CloseReason {
    CloseReason::new(CloseCode::ClosedAbnormally, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(code: u16) -> CloseReason {
        CloseReason::new(CloseCode::from(code), "why")
    }

    fn request(code: u16, flush: Flush) -> CloseRequest {
        CloseRequest {
            reason: reason(code),
            flush,
        }
    }

    fn close_frame(code: u16) -> Option<Message> {
        reason(code).to_frame().map(|f| Message::Close(Some(f)))
    }

    #[test]
    fn the_first_close_asked_for_is_the_one_kept() {
        let control = Control::new();
        assert!(control.is_open());
        assert!(control.request_close(reason(1000), Flush::Queued));
        assert!(!control.is_open(), "closed to senders at once");
        assert!(!control.request_close(reason(1008), Flush::Nothing));
        assert_eq!(control.take_request(), Some(request(1000, Flush::Queued)));
        assert_eq!(control.take_request(), None);
    }

    #[test]
    fn a_close_asked_for_wakes_the_driver_waiting_on_it() {
        let control = Control::new();
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(control.poll_request(&mut cx).is_pending());
        control.request_close(reason(1001), Flush::Queued);
        assert_eq!(
            control.poll_request(&mut cx),
            Poll::Ready(request(1001, Flush::Queued))
        );
    }

    #[test]
    fn a_close_from_open_sends_the_queue_then_the_close_frame() {
        let (control, now) = (Control::new(), Instant::now());
        let mut lifecycle = Lifecycle::new();
        let end = lifecycle.begin_close(&control, request(1002, Flush::Queued), now);
        assert_eq!(
            end,
            Some(EndQueue {
                last: close_frame(1002),
                drain: true
            })
        );
        assert!(!control.is_open() && !lifecycle.is_open() && lifecycle.is_reading());
        assert_eq!(lifecycle.deadline(), Some(now + CLOSE_HANDSHAKE_TIMEOUT));
    }

    #[test]
    fn a_slow_consumer_is_closed_without_its_queue_and_without_waiting() {
        let (control, now) = (Control::new(), Instant::now());
        let mut lifecycle = Lifecycle::new();
        let end = lifecycle.begin_close(&control, request(1008, Flush::Nothing), now);
        assert_eq!(
            end,
            Some(EndQueue {
                last: close_frame(1008),
                drain: false
            })
        );
        assert_eq!(lifecycle.deadline(), Some(now), "no wait for an answer");
        lifecycle.reading_over(&control, now);
        assert_eq!(
            lifecycle.deadline(),
            Some(now + WRITER_GRACE),
            "the frame's grace"
        );
        assert_eq!(lifecycle.finish().code(), CloseCode::ViolatedPolicy);
    }

    #[test]
    fn an_unsendable_code_ends_the_queue_without_a_frame() {
        let (control, now) = (Control::new(), Instant::now());
        let mut lifecycle = Lifecycle::new();
        let end = lifecycle.begin_close(&control, request(1006, Flush::Nothing), now);
        assert_eq!(
            end,
            Some(EndQueue {
                last: None,
                drain: false
            })
        );
    }

    #[test]
    fn only_the_first_close_begins() {
        let (control, now) = (Control::new(), Instant::now());
        let mut lifecycle = Lifecycle::new();
        lifecycle.begin_close(&control, request(1000, Flush::Queued), now);
        let later = now + Duration::from_secs(1);
        assert_eq!(
            lifecycle.begin_close(&control, request(1011, Flush::Nothing), later),
            None
        );
        assert_eq!(lifecycle.deadline(), Some(now + CLOSE_HANDSHAKE_TIMEOUT));
        lifecycle.reading_over(&control, later);
        assert_eq!(lifecycle.finish().code(), CloseCode::NormalClosure);
    }

    #[test]
    fn the_peers_close_is_the_reason_and_drops_the_queue_when_reading_ends() {
        let (control, now) = (Control::new(), Instant::now());
        let mut lifecycle = Lifecycle::new();
        assert_eq!(lifecycle.peer_closed(&control, reason(4000), now), None);
        assert!(!control.is_open() && lifecycle.is_reading());
        let end = lifecycle.reading_over(&control, now);
        assert_eq!(
            end,
            Some(EndQueue {
                last: None,
                drain: false
            }),
            "the WebSocket layer answered the close: nothing queued can follow"
        );
        assert_eq!(lifecycle.finish(), reason(4000));
    }

    #[test]
    fn the_peers_answer_to_our_close_keeps_our_reason() {
        let (control, now) = (Control::new(), Instant::now());
        let mut lifecycle = Lifecycle::new();
        lifecycle.begin_close(&control, request(1001, Flush::Queued), now);
        assert_eq!(lifecycle.peer_closed(&control, reason(1000), now), None);
        assert!(lifecycle.is_reading(), "until the stream ends");
        lifecycle.reading_over(&control, now);
        assert!(!lifecycle.is_reading());
        assert_eq!(lifecycle.finish().code(), CloseCode::GoingAway);
    }

    #[test]
    fn a_failed_read_after_our_close_leaves_the_writer_the_close_handshake_time() {
        let (control, now) = (Control::new(), Instant::now());
        let mut lifecycle = Lifecycle::new();
        lifecycle.begin_close(&control, request(1002, Flush::Queued), now);
        lifecycle.reading_over(&control, now);
        assert_eq!(lifecycle.deadline(), Some(now + CLOSE_HANDSHAKE_TIMEOUT));
        assert_eq!(lifecycle.finish().code(), CloseCode::ProtocolError);
    }

    #[test]
    fn a_stream_that_ends_while_open_is_a_dropped_connection() {
        let (control, now) = (Control::new(), Instant::now());
        let mut lifecycle = Lifecycle::new();
        let end = lifecycle.reading_over(&control, now);
        assert_eq!(
            end,
            Some(EndQueue {
                last: None,
                drain: false
            })
        );
        assert!(!control.is_open());
        assert_eq!(lifecycle.deadline(), Some(now + WRITER_GRACE));
        assert_eq!(lifecycle.finish().code(), CloseCode::ClosedAbnormally);
        assert_eq!(lifecycle.deadline(), None, "closed");
        assert_eq!(lifecycle.reading_over(&control, now), None);
    }

    #[test]
    fn a_lifecycle_cut_short_ends_as_dropped() {
        let mut lifecycle = Lifecycle::new();
        assert_eq!(lifecycle.finish().code(), CloseCode::ClosedAbnormally);
        assert!(!lifecycle.is_reading() && !lifecycle.is_open());
    }
}

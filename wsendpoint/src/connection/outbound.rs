//! A session's outbound queue: bounded, single consumer (the writer), and no buffer until a
//! first message.
//!
//! tokio's `mpsc` allocates a block of 32 slots per channel up front (~2 KB with its header):
//! for every idle connection. This queue is a `VecDeque` behind a mutex that grows with a burst
//! and, once drained, keeps at most [`KEEP_CAPACITY`] slots (enough for a steady trickle or a
//! batch of replies without reallocating). The connection ends it as its lifecycle says
//! ([`EndQueue`]), with its close frame as the last message, so the writer needs no second
//! channel to learn that it is done. The connection's [`Control`] lives in the same allocation:
//! every handle that can send can also ask to close.
//!
//! A message may carry a [`Tag`] (a latest-value send): while a message with the same tag is
//! still queued, the new one takes its place, so the queue holds at most one message per tag
//! and a slow reader gets the newest value, in its place among the others. Such a message is
//! never refused for a full queue: it adds at most one slot per tag.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;
use tokio::sync::Notify;
use tungstenite::Message;

use crate::base::close::{CloseCode, CloseReason};
use crate::base::sync::lock;
use crate::connection::state::{Control, EndQueue, Flush};

/// A drained queue keeps at most this many slots of capacity (~56 bytes each).
const KEEP_CAPACITY: usize = 16;

/// What a latest-value message replaces: the queued message with the same tag.
pub(crate) type Tag = std::sync::Arc<str>;

/// Creates a queue of `capacity` messages (at least 1).
pub(crate) fn channel(capacity: usize) -> (Sender, Receiver) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            latest: Vec::new(),
            taken: 0,
            capacity: capacity.max(1),
            replayed: (0, 0),
            ended: false,
            receiver_alive: true,
        }),
        readable: AtomicWaker::new(),
        writable: Notify::new(),
        control: Control::new(),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the receiver: a message was queued, or the queue ended.
    readable: AtomicWaker,
    /// Wakes senders waiting for room: a message left a full queue, a close was asked for, the
    /// queue ended, or the receiver is gone.
    writable: Notify,
    control: Control,
}

struct State {
    queue: VecDeque<Message>,
    /// The tagged messages queued, by tag and position (`taken` plus their index): as many as
    /// the application's distinct tags (a few, as documented), and no cost for untagged ones
    /// but the count of `taken`.
    latest: Vec<(Tag, u64)>,
    /// How many messages the receiver took so far.
    taken: u64,
    capacity: usize,
    /// Where the messages queued past the capacity as a session's history replay
    /// ([`Sender::send_past_capacity`]) are, as positions like `taken`: from the first to
    /// after the last. The capacity is on top of those still queued, so a replay leaves live
    /// messages their room. Two replays queued while the first is still there count as one
    /// range (what was queued between them counts as replayed too: a little more room).
    replayed: (u64, u64),
    /// No message is accepted any more: the connection is ending.
    ended: bool,
    receiver_alive: bool,
}

impl State {
    /// Whether a message that must respect the capacity finds no room.
    fn is_full(&self) -> bool {
        let (start, until) = self.replayed;
        let replayed = until.saturating_sub(start.max(self.taken)) as usize;
        self.queue.len() >= self.capacity + replayed
    }
}

/// Why a message was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The queue holds `capacity` messages.
    Full,
    /// The connection is closing, or the receiver (the writer) is gone.
    Closed,
}

/// The sending side: held by the session (for every send) and by the driver (for replies, pings
/// and the end).
#[derive(Clone)]
pub(crate) struct Sender {
    shared: Arc<Shared>,
}

impl Sender {
    /// The connection's shared state: whether it is open, and the close asked for.
    pub(crate) fn control(&self) -> &Control {
        &self.shared.control
    }

    /// Asks the driver to close (see [`Control::request_close`]); senders waiting for room give
    /// up at once.
    pub(crate) fn request_close(&self, reason: CloseReason, flush: Flush) -> bool {
        let first = self.shared.control.request_close(reason, flush);
        self.shared.writable.notify_waiters();
        first
    }

    /// Queues `message` if the connection is open and there is room.
    pub(crate) fn try_send(&self, message: Message) -> Result<(), Refused> {
        self.try_send_back(message).map_err(|(refused, _)| refused)
    }

    /// Queues `message`, waiting for room; refused as soon as the connection closes.
    ///
    /// # Cancel safety
    /// Cancelling drops the message; nothing else is lost.
    pub(crate) async fn send(&self, message: Message) -> Result<(), Refused> {
        self.send_when(message, |sender, message| sender.try_send_back(message))
            .await
    }

    /// Queues a handler's reply, waiting for room: unlike [`send`](Self::send) it is taken after
    /// a close was asked for (the close that handler asked for, say), up to the queue's end, so
    /// that it still goes out before the close frame. Waiting for room ends with the close
    /// asked for: the reply is then queued past the capacity, since the driver ends the queue
    /// right after it.
    pub(crate) async fn send_reply(&self, message: Message) -> Result<(), Refused> {
        self.send_when(message, |sender, message| {
            let past_capacity = !sender.shared.control.is_open();
            sender.push(message, past_capacity)
        })
        .await
    }

    /// Tries `attempt` until it does not find the queue full, waiting for room in between.
    async fn send_when(
        &self,
        message: Message,
        attempt: impl Fn(&Self, Message) -> Result<(), (Refused, Message)>,
    ) -> Result<(), Refused> {
        // Fast path first: registering as a waiter costs two locks of the Notify's list.
        let mut message = match attempt(self, message) {
            Err((Refused::Full, back)) => back,
            done => return done.map_err(|(refused, _)| refused),
        };
        loop {
            let writable = self.shared.writable.notified();
            tokio::pin!(writable);
            writable.as_mut().enable();
            match attempt(self, message) {
                Err((Refused::Full, back)) => message = back,
                done => return done.map_err(|(refused, _)| refused),
            }
            writable.await;
        }
    }

    /// Queues `message` if the connection is open and there is room, or gives it back.
    pub(crate) fn try_send_back(&self, message: Message) -> Result<(), (Refused, Message)> {
        if !self.shared.control.is_open() {
            return Err((Refused::Closed, message));
        }
        self.push(message, false)
    }

    /// Queues `message` under `tag`, in place of the queued message with the same tag if there
    /// is one; never refused for a full queue.
    pub(crate) fn try_send_latest(&self, tag: &Tag, message: Message) -> Result<(), Refused> {
        if !self.shared.control.is_open() {
            return Err(Refused::Closed);
        }
        let mut state = lock(&self.shared.state);
        if state.ended || !state.receiver_alive {
            return Err(Refused::Closed);
        }
        let taken = state.taken;
        state.latest.retain(|(_, at)| *at >= taken);
        let queued = state.latest.iter().find(|(queued, _)| **queued == **tag);
        if let Some(index) = queued.and_then(|(_, at)| usize::try_from(at - taken).ok()) {
            // The receiver knows of it already: no wake-up.
            state.queue[index] = message;
            return Ok(());
        }
        let at = taken + state.queue.len() as u64;
        state.queue.push_back(message);
        state.latest.push((tag.clone(), at));
        drop(state);
        self.shared.readable.wake();
        Ok(())
    }

    /// Queues `messages` in order past the capacity, unless the queue ended: what a session gets
    /// from its key's history as it enters, bounded by the history's size.
    pub(crate) fn send_past_capacity(&self, messages: Vec<Message>) -> Result<(), Refused> {
        {
            let mut state = lock(&self.shared.state);
            if state.ended || !state.receiver_alive {
                return Err(Refused::Closed);
            }
            let end = state.taken + (state.queue.len() + messages.len()) as u64;
            let start = match state.replayed {
                (start, until) if until > state.taken => start,
                _ => state.taken + state.queue.len() as u64,
            };
            state.replayed = (start, end);
            state.queue.extend(messages);
        }
        self.shared.readable.wake();
        Ok(())
    }

    /// Queues `message` unless the queue ended, or is full and `past_capacity` is false.
    fn push(&self, message: Message, past_capacity: bool) -> Result<(), (Refused, Message)> {
        let mut state = lock(&self.shared.state);
        if state.ended || !state.receiver_alive {
            return Err((Refused::Closed, message));
        }
        if state.is_full() && !past_capacity {
            return Err((Refused::Full, message));
        }
        state.queue.push_back(message);
        drop(state);
        self.shared.readable.wake();
        Ok(())
    }

    /// Ends the queue as a lifecycle transition says; nothing is accepted afterwards. Only the
    /// first call counts.
    pub(crate) fn end(&self, end: EndQueue) {
        let dropped = {
            let mut state = lock(&self.shared.state);
            if state.ended {
                return;
            }
            state.ended = true;
            let dropped = if end.drain {
                VecDeque::new()
            } else {
                state.latest.clear();
                std::mem::take(&mut state.queue)
            };
            state.queue.extend(end.last);
            dropped
        };
        drop(dropped);
        self.shared.readable.wake();
        // Senders waiting for room learn that there will be none.
        self.shared.writable.notify_waiters();
    }
}

/// The receiving side, held by the writer.
pub(crate) struct Receiver {
    shared: Arc<Shared>,
}

impl Receiver {
    /// The next message if one is queued.
    #[cfg(test)]
    pub(crate) fn try_recv(&mut self) -> Option<Message> {
        pop(&self.shared).ok()
    }

    /// The next message; `None` once the queue ended and is empty.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        let shared = &*self.shared;
        // Fast path first: registering the waker costs atomic operations on every message.
        match pop(shared) {
            Ok(message) => return Poll::Ready(Some(message)),
            Err(false) => return Poll::Ready(None),
            Err(true) => {}
        }
        shared.readable.register(cx.waker());
        // Again, for a message queued before the waker was in place.
        match pop(shared) {
            Ok(message) => Poll::Ready(Some(message)),
            Err(false) => Poll::Ready(None),
            Err(true) => Poll::Pending,
        }
    }

    /// The next message, waiting for one; `None` once the queue ended and is empty.
    #[cfg(test)]
    pub(crate) async fn recv(&mut self) -> Option<Message> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Writing failed: the connection closes without its queue (there is no one to send it to).
    pub(crate) fn write_failed(&self) {
        let reason = CloseReason::new(CloseCode::ClosedAbnormally, "");
        self.shared.control.request_close(reason, Flush::Nothing);
        self.shared.writable.notify_waiters();
    }
}

/// A message, or whether one may still come.
fn pop(shared: &Shared) -> Result<Message, bool> {
    let mut state = lock(&shared.state);
    let was_full = state.is_full();
    let Some(message) = state.queue.pop_front() else {
        return Err(!state.ended);
    };
    state.taken += 1;
    if state.queue.is_empty() {
        state.latest.clear();
        if state.queue.capacity() > KEEP_CAPACITY {
            state.queue.shrink_to(KEEP_CAPACITY);
        }
    }
    drop(state);
    if was_full {
        // Every waiting sender, not one: a woken sender that is cancelled before it pushes, or
        // one of several that fills the queue again, must not leave the others asleep beside
        // a queue with room. Each re-checks, and waits again if the queue is full.
        shared.writable.notify_waiters();
    }
    Ok(message)
}

impl Drop for Receiver {
    /// The writer is gone: nothing will be sent on this connection any more.
    fn drop(&mut self) {
        let dropped = {
            let mut state = lock(&self.shared.state);
            state.receiver_alive = false;
            state.latest.clear();
            std::mem::take(&mut state.queue)
        };
        drop(dropped);
        self.shared.control.shut();
        self.shared.writable.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &'static str) -> Message {
        Message::Text(s.into())
    }

    fn end(last: Option<Message>, drain: bool) -> EndQueue {
        EndQueue { last, drain }
    }

    #[tokio::test]
    async fn messages_come_out_in_order_and_a_full_queue_refuses() {
        let (tx, mut rx) = channel(2);
        tx.try_send(text("a")).unwrap();
        tx.send(text("b")).await.unwrap();
        assert_eq!(tx.try_send(text("c")), Err(Refused::Full));
        assert_eq!(rx.recv().await, Some(text("a")));
        tx.try_send(text("c")).unwrap();
        assert_eq!(rx.try_recv(), Some(text("b")));
        assert_eq!(rx.try_recv(), Some(text("c")));
        assert_eq!(rx.try_recv(), None);
    }

    #[test]
    fn what_was_queued_before_a_replay_does_not_count_as_replayed() {
        let (tx, mut rx) = channel(2);
        tx.try_send(text("a")).unwrap();
        let replay: Vec<Message> = ["r1", "r2", "r3"].into_iter().map(text).collect();
        tx.send_past_capacity(replay).unwrap();
        for taken in ["a", "r1", "r2"] {
            assert_eq!(rx.try_recv(), Some(text(taken)));
        }
        tx.try_send(text("b")).unwrap();
        tx.try_send(text("c")).unwrap();
        assert_eq!(
            tx.try_send(text("d")),
            Err(Refused::Full),
            "r3 and 2 live ones"
        );
    }

    #[test]
    fn a_replay_past_the_capacity_leaves_live_messages_their_room() {
        let (tx, mut rx) = channel(2);
        let replay: Vec<Message> = ["r1", "r2", "r3"].into_iter().map(text).collect();
        tx.send_past_capacity(replay).unwrap();
        tx.try_send(text("a")).unwrap();
        tx.try_send(text("b")).unwrap();
        assert_eq!(
            tx.try_send(text("c")),
            Err(Refused::Full),
            "2 beyond the replay"
        );
        assert_eq!(rx.try_recv(), Some(text("r1")));
        assert_eq!(
            tx.try_send(text("c")),
            Err(Refused::Full),
            "a and b hold the room"
        );
        for replayed in ["r2", "r3", "a"] {
            assert_eq!(rx.try_recv(), Some(text(replayed)));
        }
        tx.try_send(text("c")).unwrap();
        let rest: Vec<_> = std::iter::from_fn(|| rx.try_recv()).collect();
        assert_eq!(rest, ["b", "c"].map(text));
    }

    #[tokio::test]
    async fn a_tagged_message_replaces_the_queued_one_with_its_tag_in_place() {
        let (tx, mut rx) = channel(2);
        let (progress, status): (Tag, Tag) = ("progress".into(), "status".into());
        tx.try_send(text("a")).unwrap();
        tx.try_send_latest(&progress, text("p1")).unwrap();
        tx.try_send(text("b")).unwrap_err();
        tx.try_send_latest(&progress, text("p2")).unwrap();
        tx.try_send_latest(&status, text("s1")).unwrap();
        assert_eq!(rx.try_recv(), Some(text("a")));
        tx.try_send_latest(&progress, text("p3")).unwrap();
        assert_eq!(
            rx.try_recv(),
            Some(text("p3")),
            "the newest, in the oldest's place"
        );
        tx.try_send_latest(&progress, text("p4")).unwrap();
        tx.try_send_latest(&status, text("s2")).unwrap();
        assert_eq!(rx.try_recv(), Some(text("s2")));
        assert_eq!(
            rx.try_recv(),
            Some(text("p4")),
            "queued anew after p3 was taken"
        );
        assert_eq!(rx.try_recv(), None);
        tx.end(end(None, false));
        assert_eq!(
            tx.try_send_latest(&status, text("s3")),
            Err(Refused::Closed)
        );
    }

    #[tokio::test]
    async fn a_waiting_sender_gets_room_when_the_receiver_takes_a_message() {
        let (tx, mut rx) = channel(1);
        tx.try_send(text("first")).unwrap();
        let waiting = tokio::spawn(async move {
            tx.send(text("second")).await.unwrap();
            tx
        });
        assert_eq!(rx.recv().await, Some(text("first")));
        let _tx = waiting.await.unwrap();
        assert_eq!(rx.recv().await, Some(text("second")));
    }

    #[tokio::test]
    async fn a_gone_receiver_refuses_senders_and_shuts_the_connection() {
        let (tx, rx) = channel(1);
        tx.try_send(text("x")).unwrap();
        let waiting = tokio::spawn({
            let tx = tx.clone();
            async move { tx.send(text("y")).await }
        });
        tokio::task::yield_now().await;
        drop(rx);
        assert_eq!(waiting.await.unwrap(), Err(Refused::Closed));
        assert!(!tx.control().is_open());
    }

    #[tokio::test]
    async fn a_close_asked_for_refuses_senders_but_takes_the_reply() {
        let (tx, mut rx) = channel(1);
        tx.try_send(text("queued")).unwrap();
        let waiting = tokio::spawn({
            let tx = tx.clone();
            async move { tx.send(text("waits for room")).await }
        });
        tokio::task::yield_now().await;
        assert!(tx.request_close(CloseReason::normal(), Flush::Queued));
        assert_eq!(
            waiting.await.unwrap(),
            Err(Refused::Closed),
            "woken at once"
        );
        assert_eq!(tx.try_send(text("late")), Err(Refused::Closed));
        tx.send_reply(text("reply")).await.unwrap();
        assert_eq!(rx.try_recv(), Some(text("queued")));
        assert_eq!(rx.try_recv(), Some(text("reply")), "past the capacity");
    }

    #[tokio::test]
    async fn ending_sends_the_last_frame_after_or_instead_of_the_queue() {
        let (tx, mut rx) = channel(1);
        tx.try_send(text("queued")).unwrap();
        tx.end(end(Some(text("close")), true));
        tx.end(end(Some(text("ignored")), false));
        assert_eq!(tx.try_send(text("late")), Err(Refused::Closed));
        assert_eq!(rx.recv().await, Some(text("queued")));
        assert_eq!(rx.recv().await, Some(text("close")), "past the capacity");
        assert_eq!(rx.recv().await, None);

        let (tx, mut rx) = channel(4);
        tx.try_send(text("dropped")).unwrap();
        tx.try_send(text("dropped too")).unwrap();
        tx.end(end(Some(text("close")), false));
        assert_eq!(rx.recv().await, Some(text("close")));
        assert_eq!(rx.recv().await, None);
    }

    #[tokio::test]
    async fn ending_wakes_a_sender_waiting_for_room() {
        let (tx, _rx) = channel(1);
        tx.try_send(text("x")).unwrap();
        let waiting = tokio::spawn({
            let tx = tx.clone();
            async move { tx.send(text("y")).await }
        });
        // One turn of this single-threaded runtime: the sender finds the queue full and waits.
        tokio::task::yield_now().await;
        tx.end(end(None, false));
        assert_eq!(waiting.await.unwrap(), Err(Refused::Closed));
    }

    #[tokio::test]
    async fn every_sender_waiting_for_room_gets_in_as_room_appears() {
        let (tx, mut rx) = channel(2);
        tx.try_send(text("m1")).unwrap();
        tx.try_send(text("m2")).unwrap();
        let waiting: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|name| {
                let tx = tx.clone();
                tokio::spawn(async move { tx.send(text(name)).await })
            })
            .collect();
        // One turn of this single-threaded runtime: both senders find the queue full and wait.
        tokio::task::yield_now().await;
        // Room for one appears, then the queue is drained without ever being full again: the
        // second sender must not be left waiting.
        let mut received = Vec::new();
        for _turn in 0..100 {
            match rx.try_recv() {
                Some(message) => received.push(message),
                None => tokio::task::yield_now().await,
            }
        }
        assert_eq!(received.len(), 4, "a sender was left waiting: {received:?}");
        for sender in waiting {
            sender.await.unwrap().unwrap();
        }
    }

    #[test]
    fn a_drained_queue_gives_back_a_large_buffer() {
        let (tx, mut rx) = channel(256);
        for _ in 0..200 {
            tx.try_send(text("x")).unwrap();
        }
        while rx.try_recv().is_some() {}
        assert!(lock(&rx.shared.state).queue.capacity() <= KEEP_CAPACITY);
    }
}

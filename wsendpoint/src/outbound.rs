//! A session's outbound queue: bounded, single consumer (the writer), and no buffer until a
//! first message.
//!
//! tokio's `mpsc` allocates a block of 32 slots per channel up front (~2 KB with its header):
//! for every idle connection. This queue is a `VecDeque` behind a mutex that grows with a burst
//! and, once drained, keeps at most [`KEEP_CAPACITY`] slots (enough for a steady trickle or a
//! batch of replies without reallocating). The connection ends it with its last frame (the
//! close frame), so the writer needs no second channel to learn that it is done.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;
use tokio::sync::Notify;

use crate::Message;

/// A drained queue keeps at most this many slots of capacity (~56 bytes each).
const KEEP_CAPACITY: usize = 16;

/// Creates a queue of `capacity` messages (at least 1).
pub(crate) fn channel(capacity: usize) -> (Sender, Receiver) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            capacity: capacity.max(1),
            ended: false,
            receiver_alive: true,
        }),
        readable: AtomicWaker::new(),
        writable: Notify::new(),
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
    /// Wakes a sender waiting for room: a message left a full queue, or the receiver is gone.
    writable: Notify,
}

struct State {
    queue: VecDeque<Message>,
    capacity: usize,
    /// No message is accepted any more: the connection is ending, or the sender is gone.
    ended: bool,
    receiver_alive: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Why a message was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The queue holds `capacity` messages.
    Full,
    /// The queue ended, or the receiver (the writer) is gone.
    Closed,
}

/// The sending side, held by the session.
pub(crate) struct Sender {
    shared: Arc<Shared>,
}

impl Sender {
    /// Queues `message` if there is room.
    pub(crate) fn try_send(&self, message: Message) -> Result<(), Refused> {
        self.try_send_back(message).map_err(|(refused, _)| refused)
    }

    /// Queues `message`, waiting for room.
    pub(crate) async fn send(&self, message: Message) -> Result<(), Refused> {
        // Fast path first: registering as a waiter costs two locks of the Notify's list.
        let mut message = match self.try_send_back(message) {
            Ok(()) => return Ok(()),
            Err((Refused::Closed, _)) => return Err(Refused::Closed),
            Err((Refused::Full, back)) => back,
        };
        loop {
            let writable = self.shared.writable.notified();
            tokio::pin!(writable);
            writable.as_mut().enable();
            match self.try_send_back(message) {
                Ok(()) => return Ok(()),
                Err((Refused::Closed, _)) => return Err(Refused::Closed),
                Err((Refused::Full, back)) => message = back,
            }
            writable.await;
        }
    }

    /// Queues `message` if there is room, or gives it back.
    pub(crate) fn try_send_back(&self, message: Message) -> Result<(), (Refused, Message)> {
        let mut state = self.shared.lock();
        if state.ended || !state.receiver_alive {
            return Err((Refused::Closed, message));
        }
        if state.queue.len() >= state.capacity {
            return Err((Refused::Full, message));
        }
        state.queue.push_back(message);
        drop(state);
        self.shared.readable.wake();
        Ok(())
    }

    /// Ends the queue: `last` (the close frame) goes after the messages already queued, or
    /// instead of them unless `drain`; nothing is accepted afterwards. Only the first call
    /// counts.
    pub(crate) fn end(&self, last: Option<Message>, drain: bool) {
        let dropped = {
            let mut state = self.shared.lock();
            if state.ended {
                return;
            }
            state.ended = true;
            let dropped = if drain {
                VecDeque::new()
            } else {
                std::mem::take(&mut state.queue)
            };
            state.queue.extend(last);
            dropped
        };
        drop(dropped);
        self.shared.readable.wake();
        // Senders waiting for room learn that there will be none.
        self.shared.writable.notify_waiters();
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.end(None, true);
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
}

/// A message, or whether one may still come.
fn pop(shared: &Shared) -> Result<Message, bool> {
    let mut state = shared.lock();
    let was_full = state.queue.len() >= state.capacity;
    let Some(message) = state.queue.pop_front() else {
        return Err(!state.ended);
    };
    if state.queue.is_empty() && state.queue.capacity() > KEEP_CAPACITY {
        state.queue.shrink_to(KEEP_CAPACITY);
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
    fn drop(&mut self) {
        let dropped = {
            let mut state = self.shared.lock();
            state.receiver_alive = false;
            std::mem::take(&mut state.queue)
        };
        drop(dropped);
        self.shared.writable.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &'static str) -> Message {
        Message::Text(s.into())
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
    async fn either_side_dropping_ends_the_other() {
        let (tx, mut rx) = channel(1);
        tx.try_send(text("last")).unwrap();
        drop(tx);
        assert_eq!(rx.recv().await, Some(text("last")));
        assert_eq!(rx.recv().await, None);

        let (tx, rx) = channel(1);
        tx.try_send(text("x")).unwrap();
        let waiting = tokio::spawn(async move { tx.send(text("y")).await });
        drop(rx);
        assert_eq!(waiting.await.unwrap(), Err(Refused::Closed));
    }

    #[tokio::test]
    async fn ending_sends_the_last_frame_after_or_instead_of_the_queue() {
        let (tx, mut rx) = channel(1);
        tx.try_send(text("queued")).unwrap();
        tx.end(Some(text("close")), true);
        tx.end(Some(text("ignored")), false);
        assert_eq!(tx.try_send(text("late")), Err(Refused::Closed));
        assert_eq!(rx.recv().await, Some(text("queued")));
        assert_eq!(rx.recv().await, Some(text("close")), "past the capacity");
        assert_eq!(rx.recv().await, None);

        let (tx, mut rx) = channel(4);
        tx.try_send(text("dropped")).unwrap();
        tx.try_send(text("dropped too")).unwrap();
        tx.end(Some(text("close")), false);
        assert_eq!(rx.recv().await, Some(text("close")));
        assert_eq!(rx.recv().await, None);
    }

    #[tokio::test]
    async fn ending_wakes_a_sender_waiting_for_room() {
        let (tx, _rx) = channel(1);
        let tx = Arc::new(tx);
        tx.try_send(text("x")).unwrap();
        let waiting = tokio::spawn({
            let tx = tx.clone();
            async move { tx.send(text("y")).await }
        });
        // One turn of this single-threaded runtime: the sender finds the queue full and waits.
        tokio::task::yield_now().await;
        tx.end(None, false);
        assert_eq!(waiting.await.unwrap(), Err(Refused::Closed));
    }

    #[tokio::test]
    async fn every_sender_waiting_for_room_gets_in_as_room_appears() {
        let (tx, mut rx) = channel(2);
        let tx = Arc::new(tx);
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
        assert!(rx.shared.lock().queue.capacity() <= KEEP_CAPACITY);
    }
}

//! A session's outbound queue: bounded, single consumer (the writer), and an empty queue holds
//! no buffer.
//!
//! tokio's `mpsc` allocates a block of 32 slots per channel up front (~2 KB with its header):
//! for every idle connection. This queue is a `VecDeque` behind a mutex that grows with a burst
//! and gives large buffers back once drained.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

use crate::Message;

/// A drained queue keeps at most this many slots of capacity.
const KEEP_CAPACITY: usize = 32;

/// Creates a queue of `capacity` messages (at least 1).
pub(crate) fn channel(capacity: usize) -> (Sender, Receiver) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            capacity: capacity.max(1),
            sender_alive: true,
            receiver_alive: true,
        }),
        readable: Notify::new(),
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
    /// Wakes the receiver: a message was queued, or the sender is gone.
    readable: Notify,
    /// Wakes a sender waiting for room: a message left a full queue, or the receiver is gone.
    writable: Notify,
}

struct State {
    queue: VecDeque<Message>,
    capacity: usize,
    sender_alive: bool,
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
    /// The receiver (the writer) is gone.
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
        if !state.receiver_alive {
            return Err((Refused::Closed, message));
        }
        if state.queue.len() >= state.capacity {
            return Err((Refused::Full, message));
        }
        state.queue.push_back(message);
        drop(state);
        self.shared.readable.notify_one();
        Ok(())
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.shared.lock().sender_alive = false;
        self.shared.readable.notify_one();
    }
}

/// The receiving side, held by the writer.
pub(crate) struct Receiver {
    shared: Arc<Shared>,
}

impl Receiver {
    /// The next message if one is queued.
    pub(crate) fn try_recv(&mut self) -> Option<Message> {
        pop(&self.shared).ok()
    }

    /// The next message, waiting for one; `None` once the sender is gone and the queue empty.
    pub(crate) async fn recv(&mut self) -> Option<Message> {
        let shared = &*self.shared;
        // Fast path first, as in `send`.
        match pop(shared) {
            Ok(message) => return Some(message),
            Err(false) => return None,
            Err(true) => {}
        }
        loop {
            let readable = shared.readable.notified();
            tokio::pin!(readable);
            readable.as_mut().enable();
            match pop(shared) {
                Ok(message) => return Some(message),
                Err(false) => return None,
                Err(true) => readable.await,
            }
        }
    }
}

/// A message, or whether one may still come.
fn pop(shared: &Shared) -> Result<Message, bool> {
    let mut state = shared.lock();
    let was_full = state.queue.len() >= state.capacity;
    let Some(message) = state.queue.pop_front() else {
        return Err(state.sender_alive);
    };
    if state.queue.is_empty() && state.queue.capacity() > KEEP_CAPACITY {
        state.queue.shrink_to(KEEP_CAPACITY);
    }
    drop(state);
    if was_full {
        shared.writable.notify_one();
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

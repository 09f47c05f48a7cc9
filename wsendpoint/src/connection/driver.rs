//! The connection driver: one task per connection reads frames, runs the handler's events one
//! at a time, and carries out the connection's [lifecycle](crate::connection::state).
//!
//! A second task, the writer, drains the outbound queue. The driver decides when the connection
//! ends and why; the handler's `close` runs after the writer stopped, exactly once, whatever
//! ended the connection.

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::time::Duration;

use axum::body::Bytes;
use futures_util::stream::SplitStream;
use futures_util::StreamExt;
use hyper::upgrade::OnUpgrade;
use tokio::time::{sleep_until, Instant};
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::task_tracker::TaskTrackerToken;
use tungstenite::protocol::Role;
use tungstenite::Message;

use crate::base::close::{CloseCode, CloseReason};
use crate::base::config::DecodeErrors;
use crate::base::error::{Error, Outcome};
use crate::base::panic::{catch_panic, panic_message, Panic};
use crate::connection::clock::Clock;
use crate::connection::handler::Handler;
use crate::connection::outbound::{Receiver, Sender};
use crate::connection::socket::{self, WebSocket};
use crate::connection::state::{CloseRequest, EndQueue, Flush, Lifecycle, CLOSE_HANDSHAKE_TIMEOUT};
use crate::connection::writer::Writer;

/// How long a shutdown lets a connection end by itself before abandoning it: a handler stuck
/// sending to a peer that stopped reading must not hold the shutdown forever.
const SHUTDOWN_GRACE: Duration = CLOSE_HANDSHAKE_TIMEOUT.saturating_add(Duration::from_secs(1));

/// What a connection is made of before its upgrade completes.
pub(crate) struct Connection<H> {
    pub(crate) handler: H,
    pub(crate) sender: Sender,
    pub(crate) receiver: Receiver,
    pub(crate) shutdown: CancellationToken,
    /// Held until the connection's `close` ran: the hub's shutdown waits for it.
    pub(crate) live: TaskTrackerToken,
}

/// Waits for hyper to hand over the upgraded I/O, then runs the connection in a task of its own.
/// If the client goes away before the upgrade, everything is dropped (the session leaves its
/// pool with its handler).
pub(crate) fn spawn<H: Handler>(on_upgrade: OnUpgrade, connection: Connection<H>) {
    // The WebSocket is built right here, not returned from a helper: every move of one copies
    // its whole state (measured: ~1.9k instructions of memcpy more per handshake).
    let config = socket::config(H::CONFIG.max_message_size);
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(error) => {
                tracing::debug!(%error, "upgrade failed");
                return;
            }
        };
        let io = socket::io(upgraded);
        let socket = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
        // A task of its own, so this one (and all it holds) ends right here instead of
        // carrying the connection for its lifetime.
        tokio::spawn(run(socket, connection));
    });
}

/// Splits the socket, starts the writer and returns the driver. Split and spawned before the
/// async part begins: the socket moved into an `async fn` would keep a slot the size of a whole
/// WebSocket in every connection's task.
fn run<H: Handler>(
    socket: WebSocket,
    connection: Connection<H>,
) -> impl Future<Output = ()> + Send {
    let Connection {
        handler,
        sender,
        receiver,
        shutdown,
        live,
    } = connection;
    let (sink, stream) = socket.split();
    // The writer is a task of its own: waking it for an outbound message must not poll the
    // reader too (every read attempt zero-fills tungstenite's read buffer).
    let writer = AbortOnDrop(tokio::spawn(Writer::new(sink, receiver)));
    drive(handler, stream, sender, writer, shutdown, live)
}

/// Aborts a task when dropped: the writer never outlives its connection.
pub(crate) struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs a connection whose writer runs: open, read until the close handshake is over, let the
/// writer finish, close.
pub(crate) async fn drive<H: Handler>(
    mut handler: H,
    stream: SplitStream<WebSocket>,
    outbound: Sender,
    mut writer: AbortOnDrop,
    shutdown: CancellationToken,
    live: TaskTrackerToken,
) {
    let mut lifecycle = Lifecycle::new();
    // Futures are pinned in place and polled by reference: a future passed by value into another
    // async fn is stored twice (the moved-from slot stays reserved), in every connection.
    let finished = {
        let reader = Reader {
            handler: &mut handler,
            outbound: &outbound,
            lifecycle: &mut lifecycle,
            clock: Clock::new(H::CONFIG.ping_interval, H::CONFIG.idle_timeout),
            timer_moved: false,
        };
        let reading = pin!(reader.run(stream, &shutdown));
        read_until_shutdown_grace(reading, &shutdown).await
    };
    let control = outbound.control();
    if !finished {
        // A handler stuck sending to a client that does not read, say: close without the queue.
        tracing::warn!("connection still busy {SHUTDOWN_GRACE:?} after shutdown began: abandoned");
        let request = CloseRequest {
            reason: going_away(),
            flush: Flush::Nothing,
        };
        end_queue(
            &outbound,
            lifecycle.begin_close(control, request, Instant::now()),
        );
    }
    end_queue(&outbound, lifecycle.reading_over(control, Instant::now()));
    // The writer puts out what is still due (the queue, the close frame) within the deadline.
    let deadline = lifecycle.deadline().unwrap_or_else(Instant::now);
    if tokio::time::timeout_at(deadline, &mut writer.0)
        .await
        .is_err()
    {
        writer.0.abort();
    }
    let reason = lifecycle.finish();
    // Cold paths are boxed (here and for open, error, the shutdown grace): a future held
    // inline would reserve its size in every idle connection's task.
    if let Err(panic) = catch_panic(Box::pin(handler.close(&reason))).await {
        let route = H::CONFIG.route;
        tracing::error!(route, panic = %panic_message(&panic), "on_close panicked");
    }
    // The hub's shutdown waits for this: every on_close has run.
    drop(live);
}

/// Runs `reading` to its end (true), or gives up on it [`SHUTDOWN_GRACE`] after the hub
/// started shutting down (false).
async fn read_until_shutdown_grace(
    reading: Pin<&mut impl Future<Output = ()>>,
    shutdown: &CancellationToken,
) -> bool {
    let grace = async {
        shutdown.cancelled().await;
        Box::pin(tokio::time::sleep(SHUTDOWN_GRACE)).await;
    };
    tokio::select! {
        () = reading => true,
        () = grace => false,
    }
}

/// The reading half of a connection, and the lifecycle it drives.
struct Reader<'a, H> {
    handler: &'a mut H,
    outbound: &'a Sender,
    lifecycle: &'a mut Lifecycle,
    clock: Clock,
    /// The next deadline may have changed (a transition, a check of the clock): the timer is
    /// reset before the next wait, not on every message.
    timer_moved: bool,
}

impl<H: Handler> Reader<'_, H> {
    /// Opens, then reads until the close handshake is over.
    async fn run(mut self, mut stream: SplitStream<WebSocket>, shutdown: &CancellationToken) {
        let opened = catch_panic(Box::pin(self.handler.open())).await;
        self.settle(opened).await;
        // Long-lived signals, polled in place rather than rebuilt per message, and one timer for
        // every deadline (ping, idle, close handshake): a connection keeps a single timer entry.
        let mut shutdown = pin!(shutdown.cancelled());
        let mut timer = pin!(sleep_until(self.next_deadline()));
        while self.lifecycle.is_reading() {
            if std::mem::take(&mut self.timer_moved) {
                timer.as_mut().reset(self.next_deadline());
            }
            let open = self.lifecycle.is_open();
            let control = self.outbound.control();
            // A close asked for while a handler ran (by itself, say) disables the stream, so it
            // is carried out before anything more is read.
            let asked = open && !control.is_open();
            // The stream comes first, so a busy connection reads on without polling its timer
            // and signals for every message (tokio's cooperative budget still makes it yield).
            tokio::select! {
                biased;
                next = stream.next(), if !asked => self.on_frame(next).await,
                request = poll_fn(|cx| control.poll_request(cx)), if open => {
                    self.begin_close(request);
                }
                () = &mut shutdown, if open => self.close(going_away(), Flush::Queued),
                () = &mut timer => self.on_timer().await,
            }
        }
    }

    /// Acts on what the stream gave.
    async fn on_frame(&mut self, next: Option<Result<Message, tungstenite::Error>>) {
        self.clock.saw_traffic();
        match next {
            None => self.reading_over(),
            Some(Ok(Message::Close(frame))) => {
                // tungstenite answers the close frame itself; the stream ends after that.
                let reason = CloseReason::from_frame(frame);
                self.timer_moved = true;
                let end =
                    self.lifecycle
                        .peer_closed(self.outbound.control(), reason, Instant::now());
                end_queue(self.outbound, end);
            }
            // tungstenite answers pings itself.
            Some(Ok(Message::Ping(_))) => {}
            Some(Ok(message)) if self.lifecycle.is_open() => {
                let outcome = catch_panic(self.handler.message(&message)).await;
                self.settle(outcome).await;
            }
            // Data after a close began is not the handler's any more.
            Some(Ok(_)) => {}
            Some(Err(error)) => {
                if self.lifecycle.is_open() {
                    self.fail(read_error(error)).await;
                }
                // The frames after a broken one cannot be trusted; the writer still puts out
                // what is queued, then the close frame.
                self.reading_over();
            }
        }
    }

    /// The timer fired: the close handshake timed out, the peer is idle, or a ping is due.
    async fn on_timer(&mut self) {
        self.timer_moved = true;
        let now = Instant::now();
        if let Some(deadline) = self.lifecycle.deadline() {
            if now >= deadline {
                self.reading_over();
            }
        } else if let Some(idle) = self.clock.idle_since(now) {
            self.fail(Error::IdleTimeout(idle)).await;
        } else if self.clock.ping_due(now) {
            // A full queue already has traffic waiting for the client: skip it.
            let _ = self.outbound.try_send(Message::Ping(Bytes::new()));
        }
    }

    /// Acts on what a handler returned: send its reply, or report its error.
    async fn settle(&mut self, outcome: Result<Outcome, Panic>) {
        match outcome {
            Ok(Ok(Some(reply))) => {
                // Once the connection is gone the reply is dropped, as any send is.
                let _ = self.outbound.send_reply(reply).await;
            }
            Ok(Ok(None)) => {}
            Ok(Err(error)) => self.fail(error).await,
            Err(panic) => self.fail(Error::Panic(panic_message(&panic).into())).await,
        }
    }

    /// Runs the handler's `error`, then closes if the error calls for it.
    async fn fail(&mut self, error: Error) {
        let close = close_for(&error, H::CONFIG.decode_errors);
        if let Err(panic) = catch_panic(Box::pin(self.handler.error(&error))).await {
            tracing::error!(panic = %panic_message(&panic), "on_error panicked");
            let reason = CloseReason::new(CloseCode::UnexpectedCondition, "on_error panicked");
            self.close(reason, Flush::Queued);
        }
        if let Some(reason) = close {
            self.close(reason, Flush::Queued);
        }
    }

    /// Closes with `reason`, unless a close was asked for already: the first one is carried out.
    fn close(&mut self, reason: CloseReason, flush: Flush) {
        self.outbound.request_close(reason, flush);
        self.carry_out_close_request();
    }

    fn carry_out_close_request(&mut self) {
        if self.lifecycle.is_open() && !self.outbound.control().is_open() {
            if let Some(request) = self.outbound.control().take_request() {
                self.begin_close(request);
            }
        }
    }

    fn begin_close(&mut self, request: CloseRequest) {
        self.timer_moved = true;
        let control = self.outbound.control();
        let end = self.lifecycle.begin_close(control, request, Instant::now());
        end_queue(self.outbound, end);
    }

    fn reading_over(&mut self) {
        self.timer_moved = true;
        let control = self.outbound.control();
        let end = self.lifecycle.reading_over(control, Instant::now());
        end_queue(self.outbound, end);
    }

    /// The lifecycle's deadline while closing, else the clock's next ping or idle check.
    fn next_deadline(&self) -> Instant {
        self.lifecycle
            .deadline()
            .unwrap_or_else(|| self.clock.next())
    }
}

/// Ends the outbound queue as a lifecycle transition said, if it said to.
fn end_queue(outbound: &Sender, end: Option<EndQueue>) {
    if let Some(end) = end {
        outbound.end(end);
    }
}

/// The reason of a close for the hub's shutdown.
fn going_away() -> CloseReason {
    CloseReason::new(CloseCode::GoingAway, "server shutting down")
}

/// The close an error calls for, if any.
fn close_for(error: &Error, decode_errors: DecodeErrors) -> Option<CloseReason> {
    let code = match error {
        Error::Decode { .. } if decode_errors == DecodeErrors::Close => {
            Some(CloseCode::NotConsistent)
        }
        other => other.close_code(),
    }?;
    let text = match error {
        Error::Protocol { message, .. } => message.to_string(),
        other => other.to_string(),
    };
    Some(CloseReason::new(code, text))
}

/// Maps a read error to the error `on_error` sees and the close code the peer gets.
fn read_error(error: tungstenite::Error) -> Error {
    use tungstenite::error::ProtocolError;
    let protocol = |code, message: String| Error::Protocol {
        code,
        message: message.into(),
    };
    match error {
        tungstenite::Error::Capacity(e) => protocol(CloseCode::TooBig, e.to_string()),
        tungstenite::Error::Utf8(e) => protocol(CloseCode::NotConsistent, e),
        tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            Error::Connection("connection reset without a close frame".into())
        }
        tungstenite::Error::Protocol(e) => protocol(CloseCode::ProtocolError, e.to_string()),
        other => Error::Connection(other.to_string().into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_close_with_their_code_and_decode_errors_as_the_endpoint_says() {
        let decode = Error::Decode {
            raw: "x".into(),
            message: "expected value".into(),
        };
        assert_eq!(close_for(&decode, DecodeErrors::Report), None);
        let closed = close_for(&decode, DecodeErrors::Close).expect("closes");
        assert_eq!(closed.code(), CloseCode::NotConsistent);
        let protocol = read_error(tungstenite::Error::Protocol(
            tungstenite::error::ProtocolError::NonZeroReservedBits,
        ));
        let closed = close_for(&protocol, DecodeErrors::Report).expect("closes");
        assert_eq!(closed.code(), CloseCode::ProtocolError);
        assert!(
            !closed.reason().starts_with("protocol violation"),
            "{closed}"
        );
        assert_eq!(close_for(&Error::handler("no"), DecodeErrors::Close), None);
    }
}

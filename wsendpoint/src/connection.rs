//! The connection driver: one task per connection owns the handler and runs its lifecycle.
//!
//! That task reads frames and runs the handler's events one at a time; a second task, the
//! writer, drains the session's bounded outbound queue, feeding every queued frame and flushing
//! once (a flush per message costs ~7× on throughput). The reader decides when the connection
//! ends and what the close reason is; `on_close` runs after the writer stopped, exactly once,
//! whatever ended the connection.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::{pin, Pin};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;
use tokio_util::task::task_tracker::TaskTrackerToken;

use axum::body::Bytes;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;

use crate::extract::{CloseEvent, ErrorEvent, MessageEvent, OpenEvent};
use crate::outbound;
use crate::pool::Membership;
use crate::read_ahead::ReadAhead;
use crate::session::CloseStyle;
use crate::{CloseCode, CloseReason, DecodeErrors, Endpoint, Error, Message, Outcome, Session};

/// How long the peer has to answer our close frame before the connection is dropped.
const CLOSE_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the writer may take to put the final frames on the wire after the reader stopped.
const WRITER_GRACE: Duration = Duration::from_secs(1);
/// How long a shutdown lets a connection end by itself before abandoning it: a handler stuck
/// sending to a peer that stopped reading must not hold the shutdown forever.
const SHUTDOWN_GRACE: Duration = CLOSE_HANDSHAKE_TIMEOUT.saturating_add(Duration::from_secs(1));
/// Stands for "never" in timers that are switched off.
const DISABLED: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
/// Most frames fed before one flush, so one busy session cannot delay its flush for long.
const MAX_BATCH: usize = 64;

/// An upgraded connection.
pub(crate) type WebSocket = WebSocketStream<ReadAhead<TokioIo<Upgraded>>>;

/// Runs one upgraded connection to its end: open, read until closed, leave the pool, close.
pub(crate) fn run<E: Endpoint>(
    socket: WebSocket,
    handler: E,
    membership: Membership,
    outbound: outbound::Receiver,
    shutdown: CancellationToken,
    live: TaskTrackerToken,
) -> impl Future<Output = ()> + Send {
    // Split and spawn before the async part begins: the socket moved into an `async fn` would
    // keep a slot the size of a whole WebSocket in every connection's task.
    let (sink, stream) = socket.split();
    // The writer is a task of its own: waking it for an outbound message must not poll the
    // reader too (every read attempt zero-fills tungstenite's read buffer).
    let writer = AbortOnDrop(tokio::spawn(Writer {
        sink,
        outbound,
        session: membership.session().clone(),
        unflushed: 0,
    }));
    drive(handler, membership, stream, writer, shutdown, live)
}

/// The connection's lifecycle once its writer runs: open, read until closed, close.
async fn drive<E: Endpoint>(
    mut handler: E,
    membership: Membership,
    stream: SplitStream<WebSocket>,
    mut writer: AbortOnDrop,
    shutdown: CancellationToken,
    live: TaskTrackerToken,
) {
    let session = membership.session().clone();
    let reader = Reader {
        handler: &mut handler,
        session: &session,
        sent: None,
        received: None,
        deadline: None,
    };
    // Futures are pinned in place and polled by reference: a future passed by value into another
    // async fn is stored twice (the moved-from slot stays reserved), in every connection.
    let reason = {
        let reading = pin!(reader.run(stream, &shutdown));
        abandon_after_shutdown(reading, &shutdown).await
    };
    // Let the writer put the last frames (the close frame) on the wire, briefly.
    if tokio::time::timeout(WRITER_GRACE, &mut writer.0)
        .await
        .is_err()
    {
        writer.0.abort();
    }
    drop(membership);

    let close = handler.on_close(CloseEvent::new(&session, &reason));
    // Cold paths are boxed (here and for on_open, on_error, the shutdown grace): a future held
    // inline would reserve its size in every idle connection's task.
    if let Err(panic) = catch_panic(Box::pin(close)).await {
        tracing::error!(route = E::CONFIG.route, panic = %panic_message(&panic), "on_close panicked");
    }
    // The hub's shutdown waits for this: every on_close has run.
    drop(live);
}

/// Aborts a task when dropped: the writer never outlives its connection.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The deadlines of a live connection: when to ping, and when to check for idleness.
///
/// Traffic only sets a flag (no clock read per message); the idle check runs every half
/// timeout and closes a peer silent for two checks in a row, so a silent peer is closed after
/// its idle timeout and before one and a half of it.
struct Clock {
    ping_every: Option<Duration>,
    idle_timeout: Option<Duration>,
    next_ping: Instant,
    idle_check: Instant,
    seen: bool,
    quiet_checks: u8,
}

impl Clock {
    fn new(ping_interval: Option<Duration>, idle_timeout: Option<Duration>) -> Self {
        let now = Instant::now();
        let ping_every = ping_period(ping_interval, idle_timeout);
        Clock {
            ping_every: (ping_every != DISABLED).then_some(ping_every),
            idle_timeout,
            next_ping: now + ping_every,
            idle_check: now + idle_timeout.map_or(DISABLED, |idle| idle / 2),
            seen: false,
            quiet_checks: 0,
        }
    }

    /// A frame arrived: the peer is alive.
    fn saw_traffic(&mut self) {
        self.seen = true;
    }

    /// The timeout, if the peer has stayed silent for it at `now`; else schedules the next
    /// check.
    fn idle_since(&mut self, now: Instant) -> Option<Duration> {
        let idle = self.idle_timeout?;
        if now < self.idle_check {
            return None;
        }
        if std::mem::take(&mut self.seen) {
            self.quiet_checks = 0;
        } else {
            self.quiet_checks += 1;
        }
        if self.quiet_checks >= 2 {
            return Some(idle);
        }
        self.idle_check = now + idle / 2;
        None
    }

    /// Whether a ping is due at `now`; if so, schedules the next one.
    fn ping_due(&mut self, now: Instant) -> bool {
        match self.ping_every {
            Some(every) if now >= self.next_ping => {
                self.next_ping = now + every;
                true
            }
            _ => false,
        }
    }

    /// The earliest deadline: the close handshake's while closing, else the next ping or idle
    /// check.
    fn next(&self, close_deadline: Option<Instant>) -> Instant {
        if let Some(deadline) = close_deadline {
            return deadline;
        }
        match self.ping_every {
            Some(_) => self.next_ping.min(self.idle_check),
            None => self.idle_check,
        }
    }
}

/// How often to ping: the endpoint's interval, but at least twice per idle timeout, so that a
/// peer that answers every ping is never taken for idle.
fn ping_period(interval: Option<Duration>, idle_timeout: Option<Duration>) -> Duration {
    match (interval, idle_timeout) {
        (Some(interval), Some(idle)) => interval.min(idle / 2),
        (Some(interval), None) => interval,
        (None, _) => DISABLED,
    }
}

/// Runs `reader`, or gives up on it [`SHUTDOWN_GRACE`] after the hub started shutting down.
async fn abandon_after_shutdown(
    reader: Pin<&mut impl Future<Output = CloseReason>>,
    shutdown: &CancellationToken,
) -> CloseReason {
    let deadline = async {
        shutdown.cancelled().await;
        Box::pin(tokio::time::sleep(SHUTDOWN_GRACE)).await;
    };
    tokio::select! {
        reason = reader => reason,
        () = deadline => {
            tracing::warn!("connection still busy {SHUTDOWN_GRACE:?} after shutdown began: abandoned");
            CloseReason::new(CloseCode::GoingAway, "server shutting down")
        }
    }
}

/// The reading half of a connection and the close bookkeeping.
struct Reader<'a, E> {
    handler: &'a mut E,
    session: &'a Session,
    /// The reason we sent in our close frame, once we started closing.
    sent: Option<CloseReason>,
    /// The reason the peer sent in its close frame.
    received: Option<CloseReason>,
    /// When we stop waiting for the peer's close frame.
    deadline: Option<Instant>,
}

impl<E: Endpoint> Reader<'_, E> {
    /// Reads until the connection is over; returns the reason `on_close` receives.
    async fn run(
        mut self,
        mut stream: SplitStream<WebSocket>,
        shutdown: &CancellationToken,
    ) -> CloseReason {
        let session = self.session;
        let outcome = catch_panic(Box::pin(self.handler.on_open(OpenEvent::new(session)))).await;
        self.settle(outcome).await;

        // Long-lived signals, polled in place rather than rebuilt per message, and one timer for
        // every deadline (ping, idle, close handshake): a connection keeps a single timer entry.
        let mut close_request = pin!(session.close_requested());
        let mut shutdown = pin!(shutdown.cancelled());
        let mut clock = Clock::new(E::CONFIG.ping_interval, E::CONFIG.idle_timeout);
        let mut timer = pin!(sleep_until(clock.next(self.deadline)));

        loop {
            let closing = self.sent.is_some() || self.received.is_some();
            let due = clock.next(self.deadline);
            if timer.deadline() != due {
                timer.as_mut().reset(due);
            }
            // The stream comes first, so a busy connection reads on without polling its timer
            // and signals for every message (tokio's cooperative budget still makes it yield);
            // a close asked for by a handler is seen at once, since it disables the stream.
            let next = tokio::select! {
                biased;
                next = stream.next(), if closing || session.is_open() => next,
                (reason, style) = &mut close_request, if !closing => {
                    self.begin_close(reason, style);
                    continue;
                }
                () = &mut shutdown, if !closing => {
                    self.begin_close(
                        CloseReason::new(CloseCode::GoingAway, "server shutting down"),
                        CloseStyle::Graceful,
                    );
                    continue;
                }
                () = &mut timer => {
                    let now = Instant::now();
                    if closing {
                        if self.deadline.is_some_and(|deadline| now >= deadline) {
                            break;
                        }
                    } else if let Some(idle) = clock.idle_since(now) {
                        self.fail(Error::IdleTimeout(idle)).await;
                    } else if clock.ping_due(now) {
                        // A full queue already has traffic waiting for the client: skip it.
                        let _ = session.try_send(Message::Ping(Bytes::new()));
                    }
                    continue;
                }
            };
            clock.saw_traffic();
            match next {
                None => break,
                Some(Ok(Message::Close(frame))) => {
                    // tungstenite answers the close frame itself; the stream ends after that.
                    self.received = Some(CloseReason::from_frame(frame));
                    session.mark_closed();
                    self.deadline
                        .get_or_insert(Instant::now() + CLOSE_HANDSHAKE_TIMEOUT);
                }
                // tungstenite answers pings itself.
                Some(Ok(Message::Ping(_))) => {}
                Some(Ok(message)) if !closing => {
                    let outcome = catch_panic(
                        self.handler
                            .on_message(MessageEvent::new(session, &message)),
                    )
                    .await;
                    self.settle(outcome).await;
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    if !closing {
                        self.fail(read_error(error)).await;
                    }
                    break;
                }
            }
        }
        // The writer stops once it put out what is still due (nothing, unless we are closing).
        session.end_outbound(None, false);
        self.sent
            .or(self.received)
            .unwrap_or_else(|| CloseReason::new(CloseCode::ClosedAbnormally, ""))
    }

    /// Acts on what a handler returned: send its reply, or report its error.
    async fn settle(&mut self, outcome: Result<Outcome, Box<dyn Any + Send>>) {
        match outcome {
            Ok(Ok(Some(reply))) => {
                // Once the connection is gone the reply is dropped, as any send is.
                let _ = self.session.send_reply(reply).await;
            }
            Ok(Ok(None)) => {}
            Ok(Err(error)) => self.fail(error).await,
            Err(panic) => self.fail(Error::Panic(panic_message(&panic).into())).await,
        }
    }

    /// Runs `on_error`, then closes the session if the error calls for it.
    async fn fail(&mut self, error: Error) {
        let close_code = match &error {
            Error::Decode { .. } if E::CONFIG.decode_errors == DecodeErrors::Close => {
                Some(CloseCode::NotConsistent)
            }
            other => other.close_code(),
        };
        let close = close_code.map(|code| {
            let text = match &error {
                Error::Protocol { message, .. } => message.to_string(),
                other => other.to_string(),
            };
            CloseReason::new(code, text)
        });
        let on_error = self.handler.on_error(ErrorEvent::new(self.session, &error));
        if let Err(panic) = catch_panic(Box::pin(on_error)).await {
            tracing::error!(panic = %panic_message(&panic), "on_error panicked");
            self.begin_close(
                CloseReason::new(CloseCode::UnexpectedCondition, "on_error panicked"),
                CloseStyle::Immediate,
            );
        }
        if let Some(reason) = close {
            self.begin_close(reason, CloseStyle::Immediate);
        }
    }

    /// Starts the closing handshake from our side, once.
    fn begin_close(&mut self, reason: CloseReason, style: CloseStyle) {
        self.session.mark_closed();
        if self.sent.is_some() || self.received.is_some() {
            return;
        }
        let frame = reason.to_frame().map(|frame| Message::Close(Some(frame)));
        self.session
            .end_outbound(frame, style == CloseStyle::Graceful);
        self.sent = Some(reason);
        let wait = match style {
            CloseStyle::Abort => Duration::ZERO,
            CloseStyle::Graceful | CloseStyle::Immediate => CLOSE_HANDSHAKE_TIMEOUT,
        };
        self.deadline = Some(Instant::now() + wait);
    }
}

/// Puts the session's outbound queue on the wire until the queue ends: feeds every queued
/// frame (at most [`MAX_BATCH`]), then flushes once.
///
/// Polled by hand rather than written as an async fn: every idle connection keeps this state,
/// and the `feed` and `flush` futures an async fn holds across its awaits would triple it.
struct Writer {
    sink: SplitSink<WebSocket, Message>,
    outbound: outbound::Receiver,
    session: Session,
    /// Frames fed since the last flush.
    unflushed: usize,
}

impl Writer {
    /// Ready once the queue ended and all of it is flushed, or at the first write error.
    fn poll_write(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), tungstenite::Error>> {
        loop {
            if self.unflushed < MAX_BATCH {
                ready!(self.sink.poll_ready_unpin(cx))?;
                match self.outbound.poll_recv(cx) {
                    Poll::Ready(Some(message)) => {
                        self.sink.start_send_unpin(message)?;
                        self.unflushed += 1;
                        continue;
                    }
                    Poll::Ready(None) => return self.sink.poll_flush_unpin(cx),
                    Poll::Pending if self.unflushed == 0 => return Poll::Pending,
                    Poll::Pending => {}
                }
            }
            ready!(self.sink.poll_flush_unpin(cx))?;
            self.unflushed = 0;
        }
    }
}

impl Future for Writer {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match ready!(self.poll_write(cx)) {
            Ok(()) => {}
            Err(error) => {
                tracing::debug!(session = %self.session.id(), %error, "write failed");
                self.session.request_close(
                    CloseReason::new(CloseCode::ClosedAbnormally, ""),
                    CloseStyle::Abort,
                );
            }
        }
        Poll::Ready(())
    }
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

/// Runs a handler future, turning a panic into a value.
async fn catch_panic<F: Future>(future: F) -> Result<F::Output, Box<dyn Any + Send>> {
    AssertUnwindSafe(future).catch_unwind().await
}

fn panic_message(panic: &Box<dyn Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_peer_is_idle_after_two_quiet_half_timeouts() {
        let s = Duration::from_secs;
        let start = Instant::now();
        let mut clock = Clock::new(None, Some(s(10)));
        assert_eq!(clock.next(None), start + s(5));
        assert_eq!(clock.idle_since(start + s(5)), None, "one quiet check");
        clock.saw_traffic();
        assert_eq!(clock.idle_since(start + s(10)), None, "traffic resets");
        assert_eq!(clock.idle_since(start + s(15)), None);
        assert_eq!(clock.idle_since(start + s(20)), Some(s(10)));
    }

    #[test]
    fn pings_come_at_least_twice_per_idle_timeout() {
        let s = Duration::from_secs;
        assert_eq!(ping_period(Some(s(30)), Some(s(60))), s(30));
        assert_eq!(ping_period(Some(s(30)), Some(s(10))), s(5));
        assert_eq!(ping_period(Some(s(30)), None), s(30));
        assert_eq!(ping_period(None, Some(s(10))), DISABLED);
    }
}
/// Every idle connection keeps these states: they are checked so that a change that bloats
/// them (a future passed by value and stored twice, a future held across an await) fails here
/// rather than in the next benchmark run.
#[cfg(test)]
mod footprint {
    use super::*;
    use crate::prelude::*;

    #[derive(Default)]
    struct Typical;

    #[server_endpoint("/typical/<key>")]
    impl Typical {
        #[on_message]
        async fn message(&mut self, session: &Session, text: &str) -> Option<String> {
            session.pool().broadcast_text(text).await;
            Some(text.to_owned())
        }
    }

    fn output_size<A, B, C, D, F, G, R>(_: fn(A, B, C, D, F, G) -> R) -> usize {
        std::mem::size_of::<R>()
    }

    #[test]
    fn a_connections_tasks_stay_small() {
        // Measured in a debug build (larger than release): 1424 and 80 bytes.
        let connection = output_size(drive::<Typical>);
        assert!(connection <= 1600, "connection task: {connection} bytes");
        let writer = std::mem::size_of::<Writer>();
        assert!(writer <= 128, "writer task: {writer} bytes");
    }
}

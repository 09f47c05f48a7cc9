//! The writer: puts the session's outbound queue on the wire, a batch at a time, until the
//! queue ends.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_util::stream::SplitSink;
use futures_util::SinkExt;
use tungstenite::Message;

use crate::connection::outbound::Receiver;
use crate::connection::socket::WebSocket;

/// Most frames fed before one flush, so one busy session cannot delay its flush for long.
const MAX_BATCH: usize = 64;

/// Feeds every queued frame (at most [`MAX_BATCH`]), then flushes once: a flush per message
/// costs ~7× on throughput. Ready once the queue ended and all of it is flushed, or at the
/// first write error (which asks the connection to close without its queue).
///
/// Polled by hand rather than written as an async fn: every idle connection keeps this state,
/// and the `feed` and `flush` futures an async fn holds across its awaits would triple it.
pub(crate) struct Writer {
    sink: SplitSink<WebSocket, Message>,
    outbound: Receiver,
    /// Frames fed since the last flush.
    unflushed: usize,
}

impl Writer {
    pub(crate) fn new(sink: SplitSink<WebSocket, Message>, outbound: Receiver) -> Self {
        Writer {
            sink,
            outbound,
            unflushed: 0,
        }
    }

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
        if let Err(error) = ready!(self.poll_write(cx)) {
            tracing::debug!(%error, "write failed");
            self.outbound.write_failed();
        }
        Poll::Ready(())
    }
}

//! Reads from the socket in large chunks while the connection keeps a small read buffer.
//!
//! tungstenite asks the socket for at most the free room of its read buffer, and that room
//! shrinks as frames are cut out of it: with a 2 KiB buffer, a batch of 16 small frames often
//! took two `read(2)` calls (46 % more reads than with 4 KiB on the echo benchmark). A larger
//! buffer costs its size in every idle connection. This adapter reads up to [`CHUNK`] bytes into
//! a buffer shared by the thread and keeps what tungstenite did not take in a spill buffer of
//! the connection's own, allocated only while it holds bytes. An idle connection holds none; one
//! whose handler is busy may hold up to one chunk until it reads on.

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The most read from the socket at once.
const CHUNK: usize = 16 * 1024;

thread_local! {
    /// Where a read lands before it is handed out: used only within one `poll_read`.
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; CHUNK].into_boxed_slice());
}

/// An I/O stream whose reads go through [`SCRATCH`]; writes pass straight through.
pub(crate) struct ReadAhead<S> {
    inner: S,
    /// Bytes read from the socket and not yet taken, from `spill_start` on.
    spill: Option<Box<[u8]>>,
    spill_start: usize,
}

impl<S> ReadAhead<S> {
    pub(crate) fn new(inner: S) -> Self {
        ReadAhead {
            inner,
            spill: None,
            spill_start: 0,
        }
    }

    /// Hands out spilled bytes first; true if there were any.
    fn take_spilled(&mut self, buf: &mut ReadBuf<'_>) -> bool {
        let Some(spill) = &self.spill else {
            return false;
        };
        let rest = &spill[self.spill_start..];
        let n = rest.len().min(buf.remaining());
        buf.put_slice(&rest[..n]);
        self.spill_start += n;
        if self.spill_start == spill.len() {
            self.spill = None;
            self.spill_start = 0;
        }
        true
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ReadAhead<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 || this.take_spilled(buf) {
            return Poll::Ready(Ok(()));
        }
        if buf.remaining() >= CHUNK {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        let read_ahead = SCRATCH.try_with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let mut chunk = ReadBuf::new(&mut scratch[..]);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut chunk))?;
            let read = chunk.filled();
            let n = read.len().min(buf.remaining());
            buf.put_slice(&read[..n]);
            if n < read.len() {
                this.spill = Some(read[n..].into());
                this.spill_start = 0;
            }
            Poll::Ready(Ok(()))
        });
        // Without the thread's buffer (its thread is exiting), read directly.
        read_ahead.unwrap_or_else(|_| Pin::new(&mut this.inner).poll_read(cx, buf))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ReadAhead<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn small_reads_are_served_from_one_large_read() {
        let (mut near, far) = tokio::io::duplex(64 * 1024);
        let mut reader = ReadAhead::new(far);
        let sent: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
        near.write_all(&sent).await.unwrap();

        let mut small = [0u8; 100];
        let n = reader.read(&mut small).await.unwrap();
        assert_eq!(&small[..n], &sent[..100]);
        let spilled = reader.spill.as_ref().map_or(0, |s| s.len());
        assert_eq!(spilled, 2900, "the rest of the one read is kept");

        let mut received = small[..n].to_vec();
        while received.len() < sent.len() {
            let n = reader.read(&mut small).await.unwrap();
            received.extend_from_slice(&small[..n]);
        }
        assert_eq!(received, sent);
        assert!(reader.spill.is_none(), "a drained spill buffer is freed");
    }

    #[tokio::test]
    async fn end_of_stream_and_writes_pass_through() {
        let (mut near, far) = tokio::io::duplex(1024);
        let mut stream = ReadAhead::new(far);
        stream.write_all(b"pong").await.unwrap();
        let mut got = [0u8; 4];
        near.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"pong");
        drop(near);
        assert_eq!(stream.read(&mut got).await.unwrap(), 0);
    }
}

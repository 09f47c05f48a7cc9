//! The load generator's raw WebSocket client: just enough RFC 6455 for the benchmark.
//!
//! A tokio-tungstenite client saturates its core at ~175k msg/s, well below what the servers
//! do, so the load generator speaks the protocol itself: a fixed handshake, frames masked once
//! when built (an echo frame is built once and written many times), and a parser that takes
//! every complete frame out of one read buffer, so that each wake-up is one read and one write.

use std::io;
use std::net::{IpAddr, SocketAddr};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// The client's `Sec-WebSocket-Key`: RFC 6455's sample nonce, the same for every connection.
pub const WS_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
/// The `Sec-WebSocket-Accept` a server must answer [`WS_KEY`] with.
pub const WS_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
/// The masking key of every client frame.
pub const MASK: [u8; 4] = [0x5a, 0x3c, 0xa5, 0xc3];

/// Text frame opcode.
pub const OP_TEXT: u8 = 0x1;
/// Binary frame opcode.
pub const OP_BINARY: u8 = 0x2;
/// Close frame opcode.
pub const OP_CLOSE: u8 = 0x8;
/// Ping frame opcode.
pub const OP_PING: u8 = 0x9;
/// Pong frame opcode.
pub const OP_PONG: u8 = 0xA;

/// Appends a masked, final client frame to `out`.
pub fn encode_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8]) {
    out.push(0x80 | opcode);
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if let Ok(len) = u16::try_from(len) {
        out.push(0x80 | 126);
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&MASK);
    let start = out.len();
    out.extend_from_slice(payload);
    for (i, byte) in out[start..].iter_mut().enumerate() {
        *byte ^= MASK[i & 3];
    }
}

/// A masked text frame.
pub fn text_frame(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 14);
    encode_frame(&mut out, OP_TEXT, text.as_bytes());
    out
}

/// A masked close frame with `code` and no reason.
pub fn close_frame(code: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(8);
    encode_frame(&mut out, OP_CLOSE, &code.to_be_bytes());
    out
}

/// One frame from the server (unmasked, as RFC 6455 requires).
#[derive(Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The opcode (continuation frames are passed on as they come: no server here fragments).
    pub opcode: u8,
    /// The payload.
    pub payload: &'a [u8],
}

/// Parses the frame at the start of `buf`: the frame and its length in bytes, `Ok(None)` if it
/// is not complete yet.
pub fn parse_frame(buf: &[u8]) -> io::Result<Option<(Frame<'_>, usize)>> {
    if buf.len() < 2 {
        return Ok(None);
    }
    if buf[1] & 0x80 != 0 {
        return Err(invalid("masked frame from the server"));
    }
    let (len, header): (usize, usize) = match buf[1] & 0x7f {
        126 => {
            if buf.len() < 4 {
                return Ok(None);
            }
            (u16::from_be_bytes([buf[2], buf[3]]) as usize, 4)
        }
        127 => {
            if buf.len() < 10 {
                return Ok(None);
            }
            let mut len = [0u8; 8];
            len.copy_from_slice(&buf[2..10]);
            let len =
                usize::try_from(u64::from_be_bytes(len)).map_err(|_| invalid("frame too large"))?;
            (len, 10)
        }
        len => (len as usize, 2),
    };
    let Some(end) = header.checked_add(len).filter(|end| *end <= buf.len()) else {
        return Ok(None);
    };
    Ok(Some((
        Frame {
            opcode: buf[0] & 0x0f,
            payload: &buf[header..end],
        },
        end,
    )))
}

fn invalid(message: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// A read buffer that frames are parsed out of in place.
#[derive(Debug)]
pub struct ReadBuf {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl ReadBuf {
    /// An empty buffer of `capacity` bytes (grown when a frame does not fit).
    pub fn new(capacity: usize) -> Self {
        ReadBuf {
            buf: vec![0; capacity],
            start: 0,
            end: 0,
        }
    }

    /// One read from `reader` into the free space; the number of bytes read (0 at EOF).
    pub async fn fill<R: AsyncRead + Unpin>(&mut self, reader: &mut R) -> io::Result<usize> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.buf.len() - self.end < self.buf.len() / 4 {
            // Little room left: move the partial frame to the front, or grow if it fills most.
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                self.buf.resize(self.buf.len() * 2, 0);
            }
        }
        let n = reader.read(&mut self.buf[self.end..]).await?;
        self.end += n;
        Ok(n)
    }

    /// The next complete frame, if any; its bytes are consumed.
    pub fn next_frame(&mut self) -> io::Result<Option<Frame<'_>>> {
        let (opcode, header, used) = match parse_frame(&self.buf[self.start..self.end])? {
            None => return Ok(None),
            Some((frame, used)) => (frame.opcode, used - frame.payload.len(), used),
        };
        let at = self.start;
        self.start += used;
        Ok(Some(Frame {
            opcode,
            payload: &self.buf[at + header..at + used],
        }))
    }

    fn unread(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
    }
}

/// A handshake request for `path` on `host`.
pub fn handshake_request(path: &str, host: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {WS_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes()
}

/// Opens a TCP connection from `source` (any port) to `addr`, with `TCP_NODELAY`.
///
/// With `reset_on_close`, closing the socket resets it (`SO_LINGER` 0) instead of leaving it in
/// `TIME_WAIT`: tens of thousands of sessions per scenario would otherwise pile up there and slow
/// every later `bind` down.
pub async fn connect_tcp(
    addr: SocketAddr,
    source: Option<IpAddr>,
    reset_on_close: bool,
) -> io::Result<TcpStream> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    if reset_on_close {
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        setsockopt(&socket, libc::SOL_SOCKET, libc::SO_LINGER, &linger)?;
    }
    if let Some(source) = source {
        // Several source addresses spread 10k+ connections over more ephemeral ports. Without
        // IP_BIND_ADDRESS_NO_PORT, `bind` would pick the port alone (unique per source address,
        // whatever the destination); with it, `connect` picks one unique per 4-tuple.
        if source.is_ipv4() {
            setsockopt(
                &socket,
                libc::IPPROTO_IP,
                libc::IP_BIND_ADDRESS_NO_PORT,
                &1i32,
            )?;
        }
        socket.bind(SocketAddr::new(source, 0))?;
    }
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

fn setsockopt<T>(socket: &TcpSocket, level: i32, name: i32, value: &T) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: `value` is a valid `T` for the duration of the call, and its size is passed.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Connects and upgrades to WebSocket on `path`; returns the stream and a read buffer that may
/// already hold the first frames. See [`connect_tcp`] for `reset_on_close`.
pub async fn connect(
    addr: SocketAddr,
    source: Option<IpAddr>,
    path: &str,
    buffer: usize,
    reset_on_close: bool,
) -> io::Result<(TcpStream, ReadBuf)> {
    let mut stream = connect_tcp(addr, source, reset_on_close).await?;
    let mut buf = ReadBuf::new(buffer.max(1024));
    upgrade(&mut stream, &mut buf, path, &addr.to_string()).await?;
    Ok((stream, buf))
}

/// Sends the handshake request and reads the 101 answer out of `buf`.
pub async fn upgrade(
    stream: &mut TcpStream,
    buf: &mut ReadBuf,
    path: &str,
    host: &str,
) -> io::Result<()> {
    stream.write_all(&handshake_request(path, host)).await?;
    loop {
        if let Some(at) = find(buf.unread(), b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf.unread()[..at]).into_owned();
            buf.consume(at + 4);
            return check_response(&head);
        }
        if buf.fill(stream).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed during the handshake",
            ));
        }
        if buf.unread().len() > 16 * 1024 {
            return Err(invalid("handshake response too long"));
        }
    }
}

fn check_response(head: &str) -> io::Result<()> {
    let status = head.lines().next().unwrap_or_default();
    if !status.starts_with("HTTP/1.1 101") {
        return Err(io::Error::other(format!("handshake refused: {status}")));
    }
    let accepted = head.lines().any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.eq_ignore_ascii_case("sec-websocket-accept") && value.trim() == WS_ACCEPT
        })
    });
    if accepted {
        Ok(())
    } else {
        Err(invalid("missing or wrong Sec-WebSocket-Accept"))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unmask(frame: &[u8], header: usize) -> Vec<u8> {
        let mask = &frame[header - 4..header];
        frame[header..]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ mask[i & 3])
            .collect()
    }

    #[test]
    fn client_frames_are_masked_with_the_right_length_encoding() {
        let small = text_frame("echo:hi");
        assert_eq!(small[0], 0x81);
        assert_eq!(small[1], 0x80 | 7);
        assert_eq!(unmask(&small, 6), b"echo:hi");

        let medium = text_frame(&"x".repeat(300));
        assert_eq!(medium[1], 0x80 | 126);
        assert_eq!(u16::from_be_bytes([medium[2], medium[3]]), 300);
        assert_eq!(unmask(&medium, 8), "x".repeat(300).as_bytes());

        let mut large = Vec::new();
        encode_frame(&mut large, OP_BINARY, &[7u8; 70_000]);
        assert_eq!(large[1], 0x80 | 127);
        assert_eq!(unmask(&large, 14), vec![7u8; 70_000]);

        assert_eq!(unmask(&close_frame(1000), 6), 1000u16.to_be_bytes());
    }

    #[test]
    fn server_frames_parse_whole_or_not_at_all() {
        let mut wire = vec![0x81, 3, b'a', b'b', b'c', 0x89, 0];
        wire.extend_from_slice(&[0x82, 126, 0x01, 0x00]);
        wire.extend_from_slice(&[9u8; 256]);
        let (first, used) = parse_frame(&wire).unwrap().unwrap();
        assert_eq!(
            (first.opcode, first.payload, used),
            (OP_TEXT, &b"abc"[..], 5)
        );
        let (ping, used2) = parse_frame(&wire[used..]).unwrap().unwrap();
        assert_eq!((ping.opcode, ping.payload.len(), used2), (OP_PING, 0, 2));
        let rest = &wire[used + used2..];
        let (bin, used3) = parse_frame(rest).unwrap().unwrap();
        assert_eq!(
            (bin.opcode, bin.payload.len(), used3),
            (OP_BINARY, 256, 260)
        );
        for cut in 0..rest.len() {
            assert!(parse_frame(&rest[..cut]).unwrap().is_none(), "cut at {cut}");
        }
        assert!(parse_frame(&[0x81, 0x81, 0, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn handshake_answer_is_checked() {
        let ok = format!("HTTP/1.1 101 Switching Protocols\r\nsec-websocket-accept: {WS_ACCEPT}");
        assert!(check_response(&ok).is_ok());
        assert!(check_response("HTTP/1.1 403 Forbidden").is_err());
        assert!(
            check_response("HTTP/1.1 101 Switching Protocols\r\nsec-websocket-accept: x").is_err()
        );
    }

    #[tokio::test]
    async fn read_buffer_yields_frames_across_reads() {
        let mut wire = Vec::new();
        for i in 0..100u8 {
            wire.extend_from_slice(&[0x81, 1, i]);
        }
        let mut reader: &[u8] = &wire;
        let mut buf = ReadBuf::new(16);
        let mut seen = Vec::new();
        while buf.fill(&mut reader).await.unwrap() > 0 {
            while let Some(frame) = buf.next_frame().unwrap() {
                seen.push(frame.payload[0]);
            }
        }
        assert_eq!(seen, (0..100).collect::<Vec<u8>>());
    }
}

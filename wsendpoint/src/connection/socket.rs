//! The WebSocket of a connection: tungstenite over hyper's upgraded I/O, read through a
//! read-ahead.

use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tungstenite::protocol::WebSocketConfig;

use crate::connection::read_ahead::ReadAhead;

/// An upgraded connection.
pub(crate) type WebSocket = WebSocketStream<ReadAhead<TokioIo<Upgraded>>>;

/// tungstenite's read buffer per connection. Its default (128 KiB, zero-filled on every read)
/// costs ~140 KB per idle connection; reads go through [`ReadAhead`], which takes up to 16 KiB
/// from the socket at once whatever this size, so 1 KiB only means more (cheap) copies out of
/// the read-ahead for a frame larger than that. A larger frame grows the buffer.
const READ_BUFFER_SIZE: usize = 1024;

/// The WebSocket layer's settings for an endpoint's limit on message size.
pub(crate) fn config(max_message_size: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_SIZE)
        .max_message_size(Some(max_message_size))
        .max_frame_size(Some(max_message_size))
}

/// The I/O of an upgraded connection, read through the read-ahead.
pub(crate) fn io(upgraded: Upgraded) -> ReadAhead<TokioIo<Upgraded>> {
    ReadAhead::new(TokioIo::new(upgraded))
}

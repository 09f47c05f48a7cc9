//! The WebSocket of a connection: tungstenite over hyper's upgraded I/O, read through a
//! read-ahead.

use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tungstenite::protocol::{Role, WebSocketConfig};

use crate::connection::read_ahead::ReadAhead;

/// An upgraded connection.
pub(crate) type WebSocket = WebSocketStream<ReadAhead<TokioIo<Upgraded>>>;

/// tungstenite's read buffer per connection. Its default (128 KiB, zero-filled on every read)
/// costs ~140 KB per idle connection; reads go through [`ReadAhead`], which takes up to 16 KiB
/// from the socket at once whatever this size, so 1 KiB only means more (cheap) copies out of
/// the read-ahead for a frame larger than that. A larger frame grows the buffer.
const READ_BUFFER_SIZE: usize = 1024;

/// Waits for hyper to hand over the upgraded I/O; `None` if the client went away first.
pub(crate) async fn upgraded(on_upgrade: OnUpgrade, max_message_size: usize) -> Option<WebSocket> {
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_SIZE)
        .max_message_size(Some(max_message_size))
        .max_frame_size(Some(max_message_size));
    let upgraded = match on_upgrade.await {
        Ok(upgraded) => upgraded,
        Err(error) => {
            tracing::debug!(%error, "upgrade failed");
            return None;
        }
    };
    let io = ReadAhead::new(TokioIo::new(upgraded));
    Some(WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await)
}

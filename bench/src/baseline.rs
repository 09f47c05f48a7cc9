//! The hand-written axum servers the framework is measured against.
//!
//! Both are written the way axum's own examples write a WebSocket handler (`websockets`,
//! `chat`): split the socket, one task drains an mpsc channel into the sink, another reads and
//! acts, `select!` on both, and a shared map of keys to channels for pushes. They differ only in
//! the two measured tunings:
//!
//! - [`Style::Examples`]: exactly as in the examples: `sink.send(message)` per message (a flush
//!   per message), default `WebSocketConfig` (128 KiB read buffer).
//! - [`Style::Tuned`]: the writer feeds every queued frame and flushes once, and the read buffer
//!   is 4 KiB (`WebSocketUpgrade::read_buffer_size(4096)`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;

/// Capacity of each connection's outbound channel (the framework's default `send_queue`).
pub const QUEUE: usize = 256;

/// Which of the two baselines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// As in axum's examples: a send (and flush) per message, default config.
    Examples,
    /// Batched writer (feed all queued, flush once) and a 4 KiB read buffer.
    Tuned,
}

#[derive(Clone)]
struct App {
    style: Style,
    registry: Arc<Registry>,
}

/// A connection's id and outbound channel.
type Outbound = (u64, mpsc::Sender<Message>);

/// Live connections by key, for `bcast:` and `to:`.
#[derive(Default)]
struct Registry {
    next_id: AtomicU64,
    by_key: RwLock<HashMap<String, Vec<Outbound>>>,
}

impl Registry {
    fn insert(&self, key: &str, tx: mpsc::Sender<Message>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.by_key
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key.to_owned())
            .or_default()
            .push((id, tx));
        id
    }

    fn remove(&self, key: &str, id: u64) {
        let mut by_key = self.by_key.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(list) = by_key.get_mut(key) {
            list.retain(|(i, _)| *i != id);
            if list.is_empty() {
                by_key.remove(key);
            }
        }
    }

    /// Queues `message` for every connection (a full queue drops it for that connection).
    fn broadcast(&self, message: Message) {
        let by_key = self.by_key.read().unwrap_or_else(PoisonError::into_inner);
        for (_, tx) in by_key.values().flatten() {
            let _ = tx.try_send(message.clone());
        }
    }

    /// Queues `message` for every connection under `key`.
    fn send_to(&self, key: &str, message: Message) {
        let by_key = self.by_key.read().unwrap_or_else(PoisonError::into_inner);
        for (_, tx) in by_key.get(key).into_iter().flatten() {
            let _ = tx.try_send(message.clone());
        }
    }
}

/// The router: the benchmark protocol on `/ws/{key}`.
pub fn router(style: Style) -> Router {
    let app = App {
        style,
        registry: Arc::default(),
    };
    Router::new()
        .route("/ws/{key}", get(ws_handler))
        .with_state(app)
}

async fn ws_handler(
    ws: WebSocketUpgrade,
    Path(key): Path<String>,
    State(app): State<App>,
) -> Response {
    let ws = match app.style {
        Style::Examples => ws,
        Style::Tuned => ws.read_buffer_size(4 * 1024),
    };
    ws.on_upgrade(move |socket| handle_socket(socket, key, app))
}

async fn handle_socket(socket: WebSocket, key: String, app: App) {
    let (sender, mut receiver) = socket.split();
    let (tx, rx) = mpsc::channel(QUEUE);
    let id = app.registry.insert(&key, tx.clone());

    let mut send_task = match app.style {
        Style::Examples => tokio::spawn(write_each(sender, rx)),
        Style::Tuned => tokio::spawn(write_batched(sender, rx)),
    };
    let registry = app.registry.clone();
    let mut recv_task = tokio::spawn(async move {
        // Read to the end: after a close frame, the next read sends the close reply.
        while let Some(Ok(message)) = receiver.next().await {
            if let Message::Text(text) = message {
                handle_text(text.as_str(), &tx, &registry).await;
            }
        }
    });
    tokio::select! {
        _ = &mut send_task => recv_task.abort(),
        _ = &mut recv_task => send_task.abort(),
    }
    app.registry.remove(&key, id);
}

async fn handle_text(text: &str, tx: &mpsc::Sender<Message>, registry: &Registry) {
    if let Some(payload) = text.strip_prefix("echo:") {
        let _ = tx.send(Message::Text(payload.into())).await;
    } else if let Some(payload) = text.strip_prefix("bcast:") {
        registry.broadcast(Message::Text(payload.into()));
    } else if let Some((key, payload)) = text.strip_prefix("to:").and_then(|r| r.split_once(':')) {
        registry.send_to(key, Message::Text(payload.into()));
    }
}

/// As in axum's examples: one `send` (feed and flush) per message.
async fn write_each(mut sender: SplitSink<WebSocket, Message>, mut rx: mpsc::Receiver<Message>) {
    while let Some(message) = rx.recv().await {
        if sender.send(message).await.is_err() {
            break;
        }
    }
}

/// Feeds every queued message, then flushes once.
async fn write_batched(mut sender: SplitSink<WebSocket, Message>, mut rx: mpsc::Receiver<Message>) {
    while let Some(message) = rx.recv().await {
        if sender.feed(message).await.is_err() {
            return;
        }
        while let Ok(message) = rx.try_recv() {
            if sender.feed(message).await.is_err() {
                return;
            }
        }
        if sender.flush().await.is_err() {
            return;
        }
    }
}

/// Serves `style` on 127.0.0.1:`port`, printing `listening <addr>` once ready.
pub async fn serve(style: Style, port: u16) -> std::io::Result<()> {
    let listener = crate::bind_and_announce(port).await?;
    axum::serve(listener, router(style)).await
}

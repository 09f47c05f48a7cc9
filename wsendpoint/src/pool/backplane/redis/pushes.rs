//! [`Pushes`]: what Redis pushes to a subscribed connection, turned into backplane events.

use axum::body::Bytes;
use redis::aio::{AsyncPushSender, SendError};
use redis::{PushInfo, PushKind, Value};
use tokio::sync::mpsc;

use crate::pool::backplane::BackplaneEvent;

/// Where Redis's pushes go: turned into events in the connection's own task, with no task and
/// no channel in between.
#[derive(Clone)]
pub(super) struct Pushes(mpsc::UnboundedSender<BackplaneEvent>);

impl Pushes {
    pub(super) fn new(events: mpsc::UnboundedSender<BackplaneEvent>) -> Self {
        Pushes(events)
    }

    /// Tells the hub that the connection was replaced: what it subscribed to is gone.
    pub(super) fn interrupted(&self) {
        let _ = self.0.send(BackplaneEvent::Interrupted);
    }
}

impl AsyncPushSender for Pushes {
    fn send(&self, push: PushInfo) -> Result<(), SendError> {
        match event(push) {
            Some(event) => self.0.send(event).map_err(|_| SendError),
            None => Ok(()),
        }
    }
}

/// The backplane event a push from Redis stands for, if any; its bytes are taken, not copied.
fn event(push: PushInfo) -> Option<BackplaneEvent> {
    let mut data = push.data.into_iter();
    match push.kind {
        PushKind::Message | PushKind::SMessage => match (data.next(), data.next()) {
            (Some(channel), Some(payload)) => Some(BackplaneEvent::Message {
                channel: text(channel),
                payload: bytes(payload),
            }),
            _ => None,
        },
        PushKind::Subscribe | PushKind::SSubscribe => {
            data.next().map(|channel| BackplaneEvent::Subscribed {
                channel: text(channel),
            })
        }
        PushKind::Unsubscribe | PushKind::SUnsubscribe => {
            data.next().map(|channel| BackplaneEvent::Unsubscribed {
                channel: text(channel),
            })
        }
        PushKind::Disconnection => Some(BackplaneEvent::Interrupted),
        _ => None,
    }
}

fn bytes(value: Value) -> Bytes {
    match value {
        Value::BulkString(data) => Bytes::from(data),
        Value::SimpleString(text) => Bytes::from(text),
        _ => Bytes::new(),
    }
}

fn text(value: Value) -> String {
    match value {
        Value::BulkString(data) => String::from_utf8(data)
            .unwrap_or_else(|invalid| String::from_utf8_lossy(invalid.as_bytes()).into_owned()),
        Value::SimpleString(text) => text,
        _ => String::new(),
    }
}

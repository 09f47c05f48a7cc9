//! The cluster: what a hub does with its [backplane](crate::pool::backplane) so that one session
//! pool spans several nodes.
//!
//! Sends are routed, not fanned out: each key and each group has a channel, which a node
//! subscribes to while it holds a local session under that key or in that group; each endpoint
//! has one broadcast channel, and each node one channel of its own for answers. A send delivers
//! to the local sessions, then publishes on the target's channel, which reaches exactly the other
//! nodes that hold the target.

pub(crate) mod envelope;
pub(crate) mod node;
pub(crate) mod subscriptions;

use std::fmt::Write;
use std::sync::Arc;

use tungstenite::{Message, Utf8Bytes};

use crate::base::config::HistoryConfig;
use crate::connection::outbound::Tag;
use crate::pool::backplane::HistoryNames;
use crate::pool::cluster::envelope::NodeId;
use crate::pool::history::cursor::Page;
use crate::pool::history::wire::Position;
use crate::pool::target::Target;

/// A pool as the cluster sees it: the local sessions of one endpoint.
pub(crate) trait LocalPool: Send + Sync {
    /// Delivers `message` to the local sessions `target` names.
    fn deliver(&self, target: Target<'_>, message: &Message, latest: Option<&Tag>) -> Local;
    /// A session under `key` opened on another node with `on_duplicate_key = "replace"`: the
    /// local ones close.
    fn close_key(&self, key: &str);
    /// Number of local sessions.
    fn local_len(&self) -> usize;
    /// `target`'s channel may have missed messages (the broker was unreachable); reported once
    /// its subscription is confirmed again. True when sessions of that key now wait for the
    /// key's history (read it, and [`fill`](Self::fill) them).
    fn gap(&self, target: Target<'_>) -> bool;
    /// The sessions of `key` may have missed messages of its shared history: they wait for the
    /// history (true), if the endpoint has one the backplane keeps.
    fn recheck(&self, key: &str) -> bool;
    /// What the endpoint keeps, when its history is the backplane's.
    fn history_config(&self) -> Option<HistoryConfig>;
    /// Delivers the text `text` of `key`'s history, at `at`, to the key's local sessions, each
    /// in its offset order; true when one of them now waits for the history.
    fn deliver_record(&self, key: &str, at: &Position, text: &Utf8Bytes) -> bool;
    /// The offset after which `key`'s history must be read for the sessions that wait for it
    /// (`u64::MAX`: only where it stands); `None` when none waits.
    fn waiting_after(&self, key: &str) -> Option<u64>;
    /// Fills in the waiting sessions of `key` from `page`.
    fn fill(&self, key: &str, page: &Page);
    /// `key`'s history could not be read: its waiting sessions stop waiting.
    fn give_up(&self, key: &str);
}

/// What a delivery did on this node.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Local {
    pub(crate) reached: usize,
    pub(crate) refused: usize,
}

impl std::ops::Add for Local {
    type Output = Local;

    fn add(self, other: Local) -> Local {
        Local {
            reached: self.reached + other.reached,
            refused: self.refused + other.refused,
        }
    }
}

/// The names of channels, claims and histories, under the backplane's prefix.
///
/// A route keeps its parameters, with braces turned into angle brackets: on a Redis Cluster, a
/// brace in a name would make a hash tag and put every channel of an endpoint on one shard. A
/// key's channel and its history have one hash tag, `{k=<key>}`, instead: they are on one shard,
/// where one script records and publishes, and the keys spread over the shards. (A key with a
/// `}` cuts the tag short the same way in all three names.)
pub(crate) struct Names {
    prefix: Arc<str>,
}

impl Names {
    pub(crate) fn new(prefix: &str) -> Self {
        Names {
            prefix: prefix.into(),
        }
    }

    /// The channel of `target` of the endpoint at `route`.
    pub(crate) fn channel(&self, route: &str, target: Target<'_>) -> String {
        let mut name = self.route(route);
        match target {
            Target::Key(key) => write!(name, ":k:{{k={key}}}"),
            Target::Group(group) => write!(name, ":g:{group}"),
            Target::All => write!(name, ":a"),
        }
        .expect("writing to a String");
        name
    }

    /// Where the backplane keeps the history of `key` of the endpoint at `route`.
    pub(crate) fn history(&self, route: &str, key: &str) -> HistoryNames {
        let route = self.route(route);
        HistoryNames {
            entries: format!("{route}:h:{{k={key}}}"),
            meta: format!("{route}:m:{{k={key}}}"),
        }
    }

    /// The channel of node `id`, where its answers arrive.
    pub(crate) fn node(&self, id: NodeId) -> String {
        format!("{}:n:{:016x}", self.prefix, id.0)
    }

    /// The claim on `key` of the endpoint at `route`.
    pub(crate) fn claim(&self, route: &str, key: &str) -> String {
        let mut name = self.route(route);
        name.push_str(":p:");
        name.push_str(key);
        name
    }

    fn route(&self, route: &str) -> String {
        let route: String = route
            .chars()
            .map(|c| match c {
                '{' => '<',
                '}' => '>',
                other => other,
            })
            .collect();
        format!("{}:{route}", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_the_endpoint_and_the_target_with_a_hash_tag_per_key() {
        let names = Names::new("app");
        let route = "/websocket/{key}";
        assert_eq!(
            names.channel(route, Target::Key("ada")),
            "app:/websocket/<key>:k:{k=ada}"
        );
        let history = names.history(route, "ada");
        assert_eq!(history.entries, "app:/websocket/<key>:h:{k=ada}");
        assert_eq!(history.meta, "app:/websocket/<key>:m:{k=ada}");
        assert_eq!(
            names.channel(route, Target::Group("room")),
            "app:/websocket/<key>:g:room"
        );
        assert_eq!(names.channel(route, Target::All), "app:/websocket/<key>:a");
        assert_eq!(names.claim(route, "ada"), "app:/websocket/<key>:p:ada");
        assert_eq!(names.node(NodeId(255)), "app:n:00000000000000ff");
    }
}

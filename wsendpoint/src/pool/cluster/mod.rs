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

use tungstenite::Message;

use crate::connection::outbound::Tag;
use crate::pool::cluster::envelope::NodeId;
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
    /// its subscription is confirmed again.
    fn gap(&self, target: Target<'_>);
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

/// The names of channels and claims, under the backplane's prefix.
///
/// A route keeps its parameters, with braces turned into angle brackets: on a Redis Cluster, a
/// brace in a name would make a hash tag and put every channel of an endpoint on one shard.
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
            Target::Key(key) => write!(name, ":k:{key}"),
            Target::Group(group) => write!(name, ":g:{group}"),
            Target::All => write!(name, ":a"),
        }
        .expect("writing to a String");
        name
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
    fn names_say_the_endpoint_and_the_target_without_hash_tags() {
        let names = Names::new("app");
        let route = "/websocket/{key}";
        assert_eq!(
            names.channel(route, Target::Key("ada")),
            "app:/websocket/<key>:k:ada"
        );
        assert_eq!(
            names.channel(route, Target::Group("room")),
            "app:/websocket/<key>:g:room"
        );
        assert_eq!(names.channel(route, Target::All), "app:/websocket/<key>:a");
        assert_eq!(names.claim(route, "ada"), "app:/websocket/<key>:p:ada");
        assert_eq!(names.node(NodeId(255)), "app:n:00000000000000ff");
    }
}

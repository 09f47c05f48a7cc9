//! What a pool send did: [`Delivery`] (local sessions, and the copy for other nodes) and
//! [`AckedDelivery`] (with the sessions other nodes reached).

use crate::pool::backplane::BackplaneError;

/// What a pool send did: the local sessions it reached or could not, and what became of the
/// copy for other nodes.
///
/// ```
/// use wsendpoint::{Delivery, Remote};
///
/// let delivery = Delivery { reached: 2, refused: 0, remote: Remote::Published { nodes: 1 } };
/// assert!(delivery.is_complete());
/// assert_eq!(delivery.remote.nodes(), Some(1));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Local sessions the message was queued for.
    pub reached: usize,
    /// Local sessions whose queue was full: the message was dropped for them
    /// (`on_overflow = "drop_newest"`), or they were closed as slow consumers.
    pub refused: usize,
    /// The copy for other nodes.
    pub remote: Remote,
}

impl Delivery {
    /// Whether every holder this node knows of was reached: no local session refused it, and
    /// the copy for other nodes, if there are any, was published.
    pub fn is_complete(&self) -> bool {
        self.refused == 0 && !matches!(self.remote, Remote::Failed(_))
    }
}

/// What became of a send's copy for other nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Remote {
    /// Not published: the hub has no backplane, or the message (a close frame) belongs to one
    /// connection.
    NotPublished,
    /// Published; `nodes` other nodes hold the target and received it.
    Published {
        /// Other nodes that received it.
        nodes: usize,
    },
    /// The backplane could not take it: only local sessions got the message.
    Failed(BackplaneError),
}

impl Remote {
    /// The other nodes it reached, when it was published.
    pub fn nodes(&self) -> Option<usize> {
        match self {
            Remote::Published { nodes } => Some(*nodes),
            Remote::NotPublished | Remote::Failed(_) => None,
        }
    }
}

/// What an acknowledged pool send did: the [`Delivery`], and how many sessions the other nodes
/// reached, as many of them as answered within the timeout.
///
/// ```
/// use wsendpoint::{AckedDelivery, Delivery, Remote};
///
/// let acked = AckedDelivery {
///     delivery: Delivery { reached: 1, refused: 0, remote: Remote::Published { nodes: 2 } },
///     remote_reached: 3,
///     answered: 2,
/// };
/// assert_eq!(acked.reached(), 4);
/// assert!(acked.all_answered());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckedDelivery {
    /// The send itself.
    pub delivery: Delivery,
    /// Sessions reached on the nodes that answered.
    pub remote_reached: usize,
    /// Nodes that answered within the timeout.
    pub answered: usize,
}

impl AckedDelivery {
    /// Sessions reached on every node that answered, this one included.
    pub fn reached(&self) -> usize {
        self.delivery.reached + self.remote_reached
    }

    /// Whether every node the copy was published to answered in time.
    pub fn all_answered(&self) -> bool {
        match &self.delivery.remote {
            Remote::Published { nodes } => self.answered >= *nodes,
            Remote::NotPublished => true,
            Remote::Failed(_) => false,
        }
    }
}

//! [`Context`]: what serving an endpoint needs from its hub, and nothing more.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use tokio_util::sync::CancellationToken;
use tokio_util::task::task_tracker::TaskTrackerToken;
use tokio_util::task::TaskTracker;

use crate::base::app_state::StateMap;
use crate::base::sync::{read, write};
use crate::endpoint::handler::Endpoint;
use crate::pool::cluster::node::{Node, PoolLink};
use crate::pool::cluster::LocalPool;
use crate::pool::session::SessionId;
use crate::pool::session_pool::SessionPool;

/// The session pools of a hub's endpoints, its session ids, the state handshakes see, the
/// shutdown signal, and the live connections a shutdown waits for. The hub owns it; each route
/// holds it, so that accepting a connection never needs the hub itself.
pub(crate) struct Context {
    pools: RwLock<HashMap<TypeId, SessionPool>>,
    next_session: AtomicU64,
    state: RwLock<Arc<StateMap>>,
    shutdown: CancellationToken,
    connections: TaskTracker,
    /// This hub in its cluster, once it joined one.
    node: std::sync::OnceLock<Arc<Node>>,
}

impl Context {
    /// A context with the given pools (one per endpoint, by type).
    pub(crate) fn new(pools: HashMap<TypeId, SessionPool>) -> Self {
        Context {
            pools: RwLock::new(pools),
            next_session: AtomicU64::new(1),
            state: RwLock::new(Arc::default()),
            shutdown: CancellationToken::new(),
            connections: TaskTracker::new(),
            node: std::sync::OnceLock::new(),
        }
    }

    /// Makes this hub `node` of a cluster: every pool, and every pool made later, joins it.
    ///
    /// # Panics
    /// If the hub joined a cluster already.
    pub(crate) fn join_cluster(&self, node: Arc<Node>) {
        assert!(
            self.node.set(node).is_ok(),
            "a hub joins one cluster: it has a backplane already"
        );
        for pool in read(&self.pools).values() {
            self.link(pool);
        }
    }

    fn link(&self, pool: &SessionPool) {
        let Some(node) = self.node.get() else { return };
        let members = pool.members();
        let local: std::sync::Weak<dyn LocalPool> = Arc::downgrade(members) as _;
        node.attach(members.route(), local);
        members.link_to(PoolLink::new(node.clone(), members.route()));
    }

    /// The session pool of endpoint `E`, made on first use for an endpoint the hub did not
    /// collect (one declared in a crate the program does not link, say).
    pub(crate) fn pool<E: Endpoint>(&self) -> SessionPool {
        let id = TypeId::of::<E>();
        if let Some(pool) = read(&self.pools).get(&id) {
            return pool.clone();
        }
        let mut pools = write(&self.pools);
        let pool = pools.entry(id).or_insert_with(|| {
            let pool = SessionPool::new(&E::CONFIG);
            self.link(&pool);
            pool
        });
        pool.clone()
    }

    pub(crate) fn next_session_id(&self) -> SessionId {
        SessionId(self.next_session.fetch_add(1, Ordering::Relaxed))
    }

    /// The state handshakes see from now on.
    pub(crate) fn state(&self) -> Arc<StateMap> {
        read(&self.state).clone()
    }

    /// Adds `value` to the state; a value of the same type replaces the previous one. Sessions
    /// opened before keep the state they saw.
    pub(crate) fn add_state<T: Clone + Send + Sync + 'static>(&self, value: T) {
        let mut state = write(&self.state);
        let mut next = StateMap::clone(&state);
        next.insert(value);
        *state = Arc::new(next);
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    pub(crate) fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Counts a connection from its handshake on, so a shutdown waits for connections still
    /// upgrading.
    pub(crate) fn track_connection(&self) -> TaskTrackerToken {
        self.connections.token()
    }

    /// Signals the shutdown, then waits until every tracked connection is over.
    pub(crate) async fn shut_down(&self) {
        self.shutdown.cancel();
        self.connections.close();
        self.connections.wait().await;
    }
}

//! [`Node`]: this hub as a member of the cluster, and the [`PoolLink`] each of its pools holds.
//!
//! Two tasks run beside the hub: one reads the backplane's events (messages for local sessions,
//! answers, confirmations, interruptions); the other keeps the broker in line with what the
//! node needs (subscriptions made or ended, claims renewed), so nothing in a connection's read
//! loop ever waits for the broker. Both hold the node weakly and end when it is dropped.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axum::body::Bytes;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::time::Instant;
use tungstenite::{Message, Utf8Bytes};

use crate::base::config::HistoryConfig;
use crate::base::sync::lock;
use crate::connection::outbound::Tag;
use crate::pool::backplane::{
    Backplane, BackplaneError, BackplaneEvent, BackplaneSettings, BoxFuture, HistoryPage,
};
use crate::pool::cluster::envelope::{Envelope, NodeId};
use crate::pool::cluster::subscriptions::Subscriptions;
use crate::pool::cluster::{LocalPool, Names};
use crate::pool::delivery::Remote;
use crate::pool::history::cursor::Page;
use crate::pool::history::new_epoch;
use crate::pool::history::wire::Position;
use crate::pool::target::{Scope, Target};

/// How often the upkeep task looks again without being asked: a subscription that failed is
/// tried again this often while the broker is down.
const UPKEEP_EVERY: Duration = Duration::from_secs(1);

/// How long after the broker came back the node subscribes again to every channel it needs,
/// once per [`UPKEEP_EVERY`]: a client library may restore its connections in several steps (a
/// Redis Cluster shard by shard) and drop, without a word, one that held subscriptions; the
/// broker takes a subscription made twice as one. 10 s left the cluster outage test failing
/// about one full-suite run in four on this machine; 30 s passed every run since.
const SETTLE_FOR: Duration = Duration::from_secs(30);

/// The route under which the node's own channel is held.
const NODE_ROUTE: &str = "";

/// This hub in the cluster.
pub(crate) struct Node {
    id: NodeId,
    backplane: Arc<dyn Backplane>,
    settings: BackplaneSettings,
    names: Names,
    state: Mutex<State>,
    /// Asks the upkeep task to look now.
    upkeep: Arc<Notify>,
    /// Whether the last command to the broker worked: the log says once when that changes.
    available: AtomicBool,
    /// The id of the next record this node makes.
    next_record: AtomicU64,
}

#[derive(Default)]
struct State {
    pools: HashMap<&'static str, Weak<dyn LocalPool>>,
    subscriptions: Subscriptions,
    /// Sends and queries waiting for the other nodes' answers, by id.
    waiting: HashMap<u64, mpsc::UnboundedSender<u64>>,
    next_wait: u64,
    /// Claims this node holds: claim name → owner.
    claims: HashMap<String, String>,
    /// The broker may have lost the claims (it restarted): renew them at once, not when due.
    renew_now: bool,
    /// Until when every needed channel is subscribed again on each upkeep (see [`SETTLE_FOR`]).
    settling_until: Option<Instant>,
    /// When that was last done: at most once per [`UPKEEP_EVERY`], however often the upkeep
    /// task is asked to look (every handshake asks).
    resubscribed_at: Option<Instant>,
    /// The keys (route, key) whose history is being read for their waiting sessions.
    repairing: HashSet<(&'static str, Box<str>)>,
}

impl State {
    /// Whether this upkeep subscribes again to every needed channel, not only to the
    /// unconfirmed ones.
    fn resubscribe_all_now(&mut self) -> bool {
        let now = Instant::now();
        if self.settling_until.is_none_or(|until| now >= until) {
            self.settling_until = None;
            return false;
        }
        if self
            .resubscribed_at
            .is_some_and(|at| now < at + UPKEEP_EVERY)
        {
            return false;
        }
        self.resubscribed_at = Some(now);
        true
    }
}

impl Node {
    /// Joins the cluster over `backplane`, and starts the node's two tasks.
    ///
    /// # Panics
    /// Outside a Tokio runtime, or if the backplane's events were taken already.
    pub(crate) fn start(backplane: Arc<dyn Backplane>) -> Arc<Node> {
        let events = backplane
            .events()
            .expect("a backplane joins one hub: its events were taken already");
        let settings = backplane.settings();
        let node = Arc::new(Node {
            id: NodeId(random_u64()),
            names: Names::new(settings.prefix()),
            settings,
            backplane,
            state: Mutex::new(State::default()),
            upkeep: Arc::new(Notify::new()),
            available: AtomicBool::new(true),
            next_record: AtomicU64::new(1),
        });
        let own = node.names.node(node.id);
        let _ = lock(&node.state)
            .subscriptions
            .retain(own, NODE_ROUTE, Scope::All);
        tokio::spawn(read_events(Arc::downgrade(&node), events));
        tokio::spawn(keep_up(Arc::downgrade(&node), node.upkeep.clone()));
        node
    }

    /// Routes what arrives for the endpoint at `route` to `pool`, and holds its broadcast
    /// channel.
    pub(crate) fn attach(&self, route: &'static str, pool: Weak<dyn LocalPool>) {
        let channel = self.names.channel(route, Target::All);
        let mut state = lock(&self.state);
        state.pools.insert(route, pool);
        let _ = state.subscriptions.retain(channel, route, Scope::All);
        drop(state);
        self.upkeep.notify_one();
    }

    /// Runs a broker command under the timeout, noting whether the broker answered.
    async fn command<T>(
        &self,
        call: BoxFuture<'_, Result<T, BackplaneError>>,
    ) -> Result<T, BackplaneError> {
        let timeout = self.settings.command_timeout();
        let result = match tokio::time::timeout(timeout, call).await {
            Ok(result) => result,
            Err(_) => Err(BackplaneError::Timeout(timeout)),
        };
        match &result {
            Ok(_) => self.now_available(),
            Err(error) => self.now_unavailable(error),
        }
        result
    }

    fn now_available(&self) {
        if !self.available.swap(true, Ordering::AcqRel) {
            tracing::info!("backplane available again: sends reach every node");
            lock(&self.state).settling_until = Some(Instant::now() + SETTLE_FOR);
        }
    }

    fn now_unavailable(&self, error: &BackplaneError) {
        if self.available.swap(false, Ordering::AcqRel) {
            tracing::warn!(%error, "backplane unavailable: sends reach this node's sessions only");
        }
    }

    async fn publish_on(&self, channel: String, envelope: Envelope) -> Remote {
        let Some(payload) = envelope.encode() else {
            return Remote::NotPublished;
        };
        let own = usize::from(lock(&self.state).subscriptions.is_confirmed(&channel));
        match self
            .command(self.backplane.publish(&channel, payload))
            .await
        {
            Ok(receivers) => Remote::Published {
                nodes: receivers.saturating_sub(own),
            },
            Err(error) => Remote::Failed(error),
        }
    }

    /// Registers a wait for answers; they arrive on the receiver until [`Self::forget`].
    fn expect_answers(&self) -> (u64, mpsc::UnboundedReceiver<u64>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut state = lock(&self.state);
        state.next_wait += 1;
        let id = state.next_wait;
        state.waiting.insert(id, tx);
        (id, rx)
    }

    fn forget(&self, id: u64) {
        lock(&self.state).waiting.remove(&id);
    }

    /// Publishes `envelope` (which carries `id`), then sums the answers of the nodes it reached,
    /// until all answered or `timeout` passed: the remote outcome, the sum, and how many
    /// answered.
    async fn gather(
        &self,
        channel: String,
        envelope: Envelope,
        (id, mut answers): (u64, mpsc::UnboundedReceiver<u64>),
        timeout: Duration,
    ) -> (Remote, u64, usize) {
        let deadline = Instant::now() + timeout;
        let remote = self.publish_on(channel, envelope).await;
        let (mut sum, mut answered) = (0, 0);
        let expected = remote.nodes().unwrap_or(0);
        while answered < expected {
            match tokio::time::timeout_at(deadline, answers.recv()).await {
                Ok(Some(value)) => {
                    sum += value;
                    answered += 1;
                }
                Ok(None) | Err(_) => break,
            }
        }
        self.forget(id);
        (remote, sum, answered)
    }

    /// What this node writes in its claims.
    fn owner(&self) -> String {
        format!("{:016x}", self.id.0)
    }

    /// Runs `f` on the pool of `route`, if it is still there.
    fn with_pool<R>(&self, route: &str, f: impl FnOnce(&dyn LocalPool) -> R) -> Option<R> {
        let pool = lock(&self.state).pools.get(route)?.upgrade()?;
        Some(f(&*pool))
    }
}

/// What the upkeep task does each time it looks: subscriptions, then claims when due.
impl Node {
    async fn reconcile(self: &Arc<Self>) {
        let changes = {
            let mut state = lock(&self.state);
            let again = state.resubscribe_all_now();
            state.subscriptions.changes(again)
        };
        if !changes.subscribe.is_empty() {
            let channels = changes.subscribe;
            lock(&self.state).subscriptions.asking(&channels);
            match self
                .command(self.backplane.subscribe(channels.clone()))
                .await
            {
                Ok(()) => channels.iter().for_each(|c| self.confirmed(c)),
                Err(_) => lock(&self.state).subscriptions.failed(&channels),
            }
        }
        if !changes.unsubscribe.is_empty() {
            let channels = changes.unsubscribe;
            lock(&self.state).subscriptions.unsubscribing(&channels);
            let ended = self
                .command(self.backplane.unsubscribe(channels.clone()))
                .await;
            let mut state = lock(&self.state);
            match ended {
                Ok(()) => state.subscriptions.unsubscribed(&channels),
                Err(_) => state.subscriptions.unsubscribe_failed(&channels),
            }
        }
    }

    /// Renews every claim; one found lost (it expired, or the broker restarted empty) is made
    /// again, unless another node took it meanwhile. Stops at the first command the broker does
    /// not answer, to try again soon rather than wait out a timeout per claim; whether all
    /// were renewed.
    async fn renew_claims(&self) -> bool {
        let claims: Vec<(String, String)> = lock(&self.state)
            .claims
            .iter()
            .map(|(key, owner)| (key.clone(), owner.clone()))
            .collect();
        let ttl = self.settings.presence_ttl();
        for (key, owner) in claims {
            let Ok(renewed) = self.command(self.backplane.renew(&key, &owner, ttl)).await else {
                return false;
            };
            if renewed {
                continue;
            }
            match self.command(self.backplane.claim(&key, &owner, ttl)).await {
                Ok(true) => {}
                Ok(false) => tracing::warn!(
                    claim = key,
                    "another node took this key while the backplane was down"
                ),
                Err(_) => return false,
            }
        }
        true
    }

    /// Whether the claims are due for renewal before their time, and no longer so.
    fn take_renew_now(&self) -> bool {
        std::mem::take(&mut lock(&self.state).renew_now)
    }

    /// The broker confirmed `channel`: report a gap if it may have missed messages; one that
    /// nobody needs any more is ended.
    fn confirmed(self: &Arc<Self>, channel: &str) {
        let (gap, unneeded, settling) = {
            let mut state = lock(&self.state);
            let gap = state.subscriptions.confirmed(channel);
            let settling = state
                .settling_until
                .is_some_and(|until| Instant::now() < until);
            (gap, state.subscriptions.lookup(channel).is_none(), settling)
        };
        if unneeded {
            self.upkeep.notify_one();
        }
        if let Some((route, scope)) = gap.filter(|(route, _)| *route != NODE_ROUTE) {
            let waits = self.with_pool(route, |pool| pool.gap(scope.target()));
            if let (Some(true), Scope::Key(key)) = (waits, scope) {
                self.fill_in(route, key);
            }
        } else if settling {
            self.recheck(channel);
        } else {
            self.fill_waiting_on(channel);
        }
    }

    /// A key's channel was confirmed: its sessions that wait for the history (they entered
    /// before it was) can have it read now.
    fn fill_waiting_on(self: &Arc<Self>, channel: &str) {
        let Some((route, Scope::Key(key))) = self.lookup(channel) else {
            return;
        };
        if self
            .with_pool(route, |pool| pool.waiting_after(&key))
            .flatten()
            .is_some()
        {
            self.fill_in(route, key);
        }
    }

    /// While the broker's connections settle, a confirmation of a key's channel may come
    /// before the messages flow again (see [`SETTLE_FOR`]): what the sessions of a key with a
    /// shared history missed meanwhile would wait for the key's next message. Each one checks
    /// the history again, so that the last messages of a burst are not held back.
    fn recheck(self: &Arc<Self>, channel: &str) {
        let Some((route, Scope::Key(key))) = self.lookup(channel) else {
            return;
        };
        if self.with_pool(route, |pool| pool.recheck(&key)) == Some(true) {
            self.fill_in(route, key);
        }
    }
}

/// What the event task does with each event.
impl Node {
    fn on_event(self: &Arc<Self>, event: BackplaneEvent) {
        match event {
            BackplaneEvent::Message { channel, payload } => self.on_message(&channel, payload),
            BackplaneEvent::Subscribed { channel } => {
                self.now_available();
                self.confirmed(&channel);
            }
            BackplaneEvent::Unsubscribed { channel } => {
                if lock(&self.state).subscriptions.ended(&channel) {
                    self.upkeep.notify_one();
                }
            }
            BackplaneEvent::Interrupted => {
                let mut state = lock(&self.state);
                state.subscriptions.interrupted();
                state.renew_now = true;
                drop(state);
                self.now_unavailable(&BackplaneError::unavailable("connection lost"));
                self.upkeep.notify_one();
            }
        }
    }

    fn on_message(self: &Arc<Self>, channel: &str, payload: Bytes) {
        let Some(envelope) = Envelope::decode(payload) else {
            return;
        };
        match envelope {
            Envelope::Deliver { origin, .. } | Envelope::Replace { origin }
                if origin == self.id => {}
            Envelope::Deliver {
                origin,
                ack,
                latest,
                message,
            } => self.delivered(channel, (origin, ack), latest.as_ref(), &message),
            Envelope::Replace { .. } => {
                if let Some((route, Scope::Key(key))) = self.lookup(channel) {
                    self.with_pool(route, |pool| pool.close_key(&key));
                }
            }
            Envelope::CountQuery { origin, id } if origin != self.id => {
                let Some((route, _)) = self.lookup(channel) else {
                    return;
                };
                let sessions = self.with_pool(route, |pool| pool.local_len()).unwrap_or(0);
                self.answer(
                    origin,
                    Envelope::Count {
                        id,
                        sessions: sessions as u64,
                    },
                );
            }
            Envelope::CountQuery { .. } => {}
            Envelope::Ack { id, reached } => self.answered(id, u64::from(reached)),
            Envelope::Count { id, sessions } => self.answered(id, sessions),
            Envelope::Record {
                text, at: Some(at), ..
            } => self.recorded(channel, &at, &text),
            Envelope::Record { at: None, .. } => {}
        }
    }

    /// Delivers what `origin` published on `channel`, and acknowledges it if `ack` is set.
    fn delivered(
        self: &Arc<Self>,
        channel: &str,
        (origin, ack): (NodeId, Option<u64>),
        latest: Option<&Tag>,
        message: &Message,
    ) {
        let Some((route, scope)) = self.lookup(channel) else {
            return;
        };
        let local = self.with_pool(route, |pool| pool.deliver(scope.target(), message, latest));
        if let Some(id) = ack {
            let reached = local
                .map_or(0, |l| l.reached)
                .try_into()
                .unwrap_or(u32::MAX);
            self.answer(origin, Envelope::Ack { id, reached });
        }
    }

    /// Delivers a text of a key's history, whichever node recorded it (this one's too: the
    /// broker's order is the offsets' order); fills in the sessions that now wait.
    fn recorded(self: &Arc<Self>, channel: &str, at: &Position, text: &Utf8Bytes) {
        let Some((route, Scope::Key(key))) = self.lookup(channel) else {
            return;
        };
        if self.with_pool(route, |pool| pool.deliver_record(&key, at, text)) == Some(true) {
            self.fill_in(route, key);
        }
    }

    fn lookup(&self, channel: &str) -> Option<(&'static str, Scope)> {
        let state = lock(&self.state);
        let (route, scope) = state.subscriptions.lookup(channel)?;
        Some((route, scope.clone()))
    }

    /// Sends `envelope` to node `to`, without waiting for it here.
    fn answer(self: &Arc<Self>, to: NodeId, envelope: Envelope) {
        let node = self.clone();
        let channel = self.names.node(to);
        spawn_if_running(async move { node.publish_on(channel, envelope).await });
    }

    fn answered(&self, id: u64, value: u64) {
        if let Some(waiting) = lock(&self.state).waiting.get(&id) {
            let _ = waiting.send(value);
        }
    }
}

/// Histories read from the backplane for the sessions that wait for them.
impl Node {
    /// Reads `key`'s history for its waiting sessions, in the background, until none waits:
    /// one reader per key at a time, and a session that starts waiting while it reads is
    /// served by it.
    fn fill_in(self: &Arc<Self>, route: &'static str, key: Box<str>) {
        let channel = self.names.channel(route, Target::Key(&key));
        let pool = {
            let mut state = lock(&self.state);
            let Some(pool) = state.pools.get(route).and_then(Weak::upgrade) else {
                return;
            };
            if !state.repairing.insert((route, key.clone())) {
                return;
            }
            pool
        };
        let node = self.clone();
        let repairing = (route, key.clone());
        let spawned = spawn_if_running(async move {
            loop {
                {
                    let mut state = lock(&node.state);
                    // Read only once the key's messages arrive: what is recorded after the read
                    // then comes on the subscription. Its confirmation starts a reader again
                    // (checked under the lock that `confirmed` takes).
                    if !state.subscriptions.is_confirmed(&channel) {
                        state.repairing.remove(&(route, key));
                        return;
                    }
                }
                node.fill_waiting(&*pool, route, &key).await;
                let mut state = lock(&node.state);
                // Under the lock that `fill_in` takes: a session that starts waiting after
                // this look starts a reader of its own.
                if pool.waiting_after(&key).is_none() {
                    state.repairing.remove(&(route, key));
                    return;
                }
            }
        });
        if !spawned {
            lock(&self.state).repairing.remove(&repairing);
        }
    }

    /// Reads and fills in until no session of `key` waits, or the history cannot be read (the
    /// sessions then stop waiting); a few reads at most.
    async fn fill_waiting(&self, pool: &dyn LocalPool, route: &'static str, key: &str) {
        let Some(retention) = pool.history_config() else {
            return;
        };
        for _ in 0..FILL_READS {
            let Some(after) = pool.waiting_after(key) else {
                return;
            };
            let names = self.names.history(route, key);
            let epoch = new_epoch();
            let asked = std::time::Instant::now();
            let read = self.backplane.history(&names, after, retention, &epoch);
            match self.command(read).await {
                Ok(page) => pool.fill(key, &decode_page(page, after, asked)),
                Err(error) => {
                    tracing::warn!(route, key, %error, "the history could not be read");
                    break;
                }
            }
        }
        pool.give_up(key);
    }
}

/// How many times the node reads a key's history for its waiting sessions before it gives up:
/// more than one only when messages keep arriving past what each read covered.
const FILL_READS: usize = 5;

/// The entries of `page` (read after `after`) as texts; an entry that is no record is dropped.
fn decode_page(page: HistoryPage, after: u64, asked: std::time::Instant) -> Page {
    let entries = page
        .entries
        .into_iter()
        .filter_map(|(offset, entry)| match Envelope::decode(entry)? {
            Envelope::Record { text, .. } => Some((offset, text)),
            _ => None,
        })
        .collect();
    Page {
        asked,
        after,
        epoch: page.epoch.into(),
        top: page.top,
        entries,
    }
}

/// Reads the backplane's events until the node is gone.
async fn read_events(node: Weak<Node>, mut events: mpsc::UnboundedReceiver<BackplaneEvent>) {
    while let Some(event) = events.recv().await {
        let Some(node) = node.upgrade() else { return };
        node.on_event(event);
    }
}

/// Keeps the broker in line with what the node needs, until the node is gone.
async fn keep_up(node: Weak<Node>, asked: Arc<Notify>) {
    let mut renew_at = Instant::now();
    loop {
        {
            let Some(node) = node.upgrade() else { return };
            node.reconcile().await;
            if node.take_renew_now() || Instant::now() >= renew_at {
                renew_at = Instant::now()
                    + if node.renew_claims().await {
                        node.settings.presence_ttl() / 3
                    } else {
                        UPKEEP_EVERY
                    };
            }
        }
        tokio::select! {
            () = asked.notified() => {}
            () = tokio::time::sleep(UPKEEP_EVERY) => {}
        }
    }
}

/// Runs `task` in the background, if there is a runtime to run it: a session dropped after its
/// runtime (a test's, say) has nobody to tell, and its claims expire by themselves.
fn spawn_if_running<T: Send + 'static>(
    task: impl std::future::Future<Output = T> + Send + 'static,
) -> bool {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn(task);
            true
        }
        Err(_) => false,
    }
}

/// A random id for this node: std's per-process random hasher keys, and the time.
fn random_u64() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

/// A pool's place in the cluster: the node, and the endpoint's route.
pub(crate) struct PoolLink {
    node: Arc<Node>,
    route: &'static str,
}

impl PoolLink {
    pub(crate) fn new(node: Arc<Node>, route: &'static str) -> Self {
        PoolLink { node, route }
    }

    /// A local session now holds `target` (a key or group gained its first one): the node
    /// subscribes to its channel. Until the broker confirms it, the receiver resolves when it
    /// does; none while the broker is unavailable, so that handshakes do not wait on it.
    pub(crate) fn retain(&self, target: Target<'_>) -> Option<oneshot::Receiver<()>> {
        let channel = self.node.names.channel(self.route, target);
        let waiter =
            lock(&self.node.state)
                .subscriptions
                .retain(channel, self.route, Scope::of(target));
        self.node.upkeep.notify_one();
        waiter.filter(|_| self.node.available.load(Ordering::Acquire))
    }

    /// No local session holds `target` any more.
    pub(crate) fn release(&self, target: Target<'_>) {
        let channel = self.node.names.channel(self.route, target);
        lock(&self.node.state).subscriptions.release(&channel);
        self.node.upkeep.notify_one();
    }

    /// Publishes `message` for the other nodes that hold `target`.
    ///
    /// Boxed: a handler that sends keeps the send's future in its connection's task, and this
    /// one (a broker call under a timeout) inline would double the size of every such task,
    /// with a backplane or without.
    pub(crate) fn publish(
        &self,
        target: Target<'_>,
        message: Message,
        latest: Option<Tag>,
    ) -> BoxFuture<'_, Remote> {
        let envelope = Envelope::Deliver {
            origin: self.node.id,
            ack: None,
            latest,
            message,
        };
        let channel = self.node.names.channel(self.route, target);
        Box::pin(self.node.publish_on(channel, envelope))
    }

    /// Publishes `message` and waits, at most `timeout`, for the other nodes to say how many
    /// sessions it reached: the remote outcome, the sessions, how many nodes answered.
    pub(crate) async fn publish_acked(
        &self,
        target: Target<'_>,
        message: &Message,
        timeout: Duration,
    ) -> (Remote, usize, usize) {
        let wait = self.node.expect_answers();
        let envelope = Envelope::Deliver {
            origin: self.node.id,
            ack: Some(wait.0),
            latest: None,
            message: message.clone(),
        };
        let channel = self.node.names.channel(self.route, target);
        let (remote, reached, answered) = self.node.gather(channel, envelope, wait, timeout).await;
        (remote, reached as usize, answered)
    }

    /// The sessions the other nodes hold, if every node answered within `timeout`.
    pub(crate) async fn remote_count(&self, timeout: Duration) -> Result<usize, BackplaneError> {
        let wait = self.node.expect_answers();
        let envelope = Envelope::CountQuery {
            origin: self.node.id,
            id: wait.0,
        };
        let channel = self.node.names.channel(self.route, Target::All);
        match self.node.gather(channel, envelope, wait, timeout).await {
            (Remote::Failed(error), ..) => Err(error),
            (remote, sessions, answered) if answered >= remote.nodes().unwrap_or(0) => {
                Ok(sessions as usize)
            }
            _ => Err(BackplaneError::Timeout(timeout)),
        }
    }

    /// Whether another node holds a session under `key`: its channel has a subscriber besides
    /// this node.
    pub(crate) async fn held_elsewhere(&self, key: &str) -> Result<bool, BackplaneError> {
        let channel = self.node.names.channel(self.route, Target::Key(key));
        let own = usize::from(lock(&self.node.state).subscriptions.is_confirmed(&channel));
        let subscribers = self
            .node
            .command(self.node.backplane.subscribers(&channel))
            .await?;
        Ok(subscribers > own)
    }

    /// Claims `key` for this node across the cluster (the endpoint reserves a key for one
    /// session; locally the pool enforces it): false if another node holds it.
    pub(crate) async fn claim(&self, key: &str) -> Result<bool, BackplaneError> {
        let name = self.node.names.claim(self.route, key);
        let owner = self.node.owner();
        let ttl = self.node.settings.presence_ttl();
        lock(&self.node.state)
            .claims
            .insert(name.clone(), owner.clone());
        let claimed = self
            .node
            .command(self.node.backplane.claim(&name, &owner, ttl))
            .await;
        if claimed != Ok(true) {
            lock(&self.node.state).claims.remove(&name);
        }
        claimed
    }

    /// Ends this node's claim on `key` (its last local session under it left), in the
    /// background; unless a new local session claimed it again meanwhile.
    pub(crate) fn release_claim(&self, key: &str) {
        let name = self.node.names.claim(self.route, key);
        if lock(&self.node.state).claims.remove(&name).is_none() {
            return;
        }
        let node = self.node.clone();
        spawn_if_running(async move {
            if lock(&node.state).claims.contains_key(&name) {
                return;
            }
            let owner = node.owner();
            let _ = node.command(node.backplane.release(&name, &owner)).await;
        });
    }

    /// Tells the other nodes that hold `key` that a newer session took it, in the background.
    pub(crate) fn announce_replace(&self, key: &str) {
        let node = self.node.clone();
        let channel = node.names.channel(self.route, Target::Key(key));
        let envelope = Envelope::Replace { origin: node.id };
        spawn_if_running(async move { node.publish_on(channel, envelope).await });
    }

    /// The longest the node waits for the broker.
    pub(crate) fn command_timeout(&self) -> Duration {
        self.node.settings.command_timeout()
    }

    /// Whether the backplane keeps the histories of endpoints with history.
    pub(crate) fn keeps_history(&self) -> bool {
        self.node.backplane.keeps_history()
    }

    /// Records `text` in `key`'s history on the backplane, which publishes it to every node
    /// that holds the key, this one included (its sessions get it from there, in the
    /// history's order): how many other nodes received it.
    pub(crate) async fn record(
        &self,
        key: &str,
        text: Utf8Bytes,
        retention: HistoryConfig,
    ) -> Result<usize, BackplaneError> {
        let node = &self.node;
        let channel = node.names.channel(self.route, Target::Key(key));
        let names = node.names.history(self.route, key);
        let entry = Envelope::Record {
            origin: node.id,
            id: node.next_record.fetch_add(1, Ordering::Relaxed),
            text,
            at: None,
        }
        .encode()
        .ok_or_else(|| BackplaneError::unavailable("a text too long to record"))?;
        let own = usize::from(lock(&node.state).subscriptions.is_confirmed(&channel));
        let epoch = new_epoch();
        let record = node
            .backplane
            .record(&names, &channel, entry, retention, &epoch);
        let recorded = node.command(record).await?;
        Ok(recorded.receivers.saturating_sub(own))
    }

    /// A session entered under `key` and waits for its history: read it (in the background).
    pub(crate) fn fill_in(&self, key: &str) {
        self.node.fill_in(self.route, key.into());
    }
}

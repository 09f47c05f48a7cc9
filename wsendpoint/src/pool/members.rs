//! [`Members`]: the index of an endpoint's live sessions, under their pool keys and in their
//! groups, and its delivery to them.
//!
//! It is the data behind a [`SessionPool`](crate::pool::session_pool::SessionPool), generic over
//! the session type: a session knows its pool and a pool holds sessions, and with the index
//! below both, neither module needs the other's. In a cluster it tells the node when a key or a
//! group gains its first local session or loses its last (the node then subscribes to that
//! channel or ends the subscription), and it is what the node delivers to.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{MutexGuard, OnceLock, RwLock, RwLockReadGuard};

use tokio::sync::oneshot;
use tungstenite::{Message, Utf8Bytes};

use crate::base::close::{CloseCode, CloseReason};
use crate::base::config::{DuplicateKey, HistoryConfig};
use crate::base::error::SendError;
use crate::base::sync::{read, write};
use crate::connection::outbound::Tag;
use crate::pool::cluster::node::PoolLink;
use crate::pool::cluster::{Local, LocalPool};
use crate::pool::history::cursor::{Cursor, Offer, Page};
use crate::pool::history::wire::Position;
use crate::pool::history::History;
use crate::pool::target::Target;

/// What the index needs of a session.
pub(crate) trait Member: Clone + Send + Sync {
    /// Its pool key.
    fn key(&self) -> &str;
    /// Whether `other` is a handle of the same session.
    fn is(&self, other: &Self) -> bool;
    /// Whether it still takes messages; a closing session joins no group.
    fn is_open(&self) -> bool;
    /// The groups it is in, in the order it joined them: kept by the session, so that
    /// `Session::groups` needs no lock of the pool.
    fn groups(&self) -> MutexGuard<'_, Vec<Box<str>>>;
    /// Queues a pool send (as the latest value of `latest` if set): never waits; a full queue
    /// applies the overflow policy.
    fn push(&self, message: Message, latest: Option<&Tag>) -> Result<(), SendError>;
    /// Queues a message of its key's history: never waits; a full queue closes it with 1008
    /// whatever the overflow policy, since dropping the message would leave a gap the client
    /// cannot see, while a closed client recovers it when it reconnects.
    fn push_recorded(&self, message: Message) -> Result<(), SendError>;
    /// Queues what it gets from the history as it enters, past the queue's capacity: at most
    /// the history's size per key.
    fn push_resume(&self, frames: Vec<Message>);
    /// Where it stands in its key's history, when that history is the backplane's.
    fn cursor(&self) -> Option<MutexGuard<'_, Cursor>>;
    /// Gives it its cursor as it enters; once.
    fn start_cursor(&self, cursor: Cursor);
    /// Closes it, after what is queued for it.
    fn close(&self, reason: CloseReason);
}

/// A second session under a key that the endpoint reserves for one (`on_duplicate_key =
/// "reject"`).
#[derive(Debug)]
pub(crate) struct KeyTaken;

/// A session just entered: the sessions it replaced (for the caller to close), and, if it is
/// the first local one under its key in a cluster, the confirmation of the key's subscription.
pub(crate) struct Entered<S> {
    pub(crate) replaced: Vec<S>,
    pub(crate) subscribed: Option<oneshot::Receiver<()>>,
}

/// The live sessions of one endpoint. Reads (every send) take the read lock only.
pub(crate) struct Members<S> {
    route: &'static str,
    duplicates: DuplicateKey,
    index: RwLock<Index<S>>,
    len: AtomicUsize,
    /// Set once the hub joins a cluster.
    link: OnceLock<PoolLink>,
    /// Times a channel of this endpoint was confirmed again after it may have missed messages.
    gaps: AtomicU64,
    /// What the endpoint keeps of the messages sent to each key, if it keeps any.
    history: Option<History>,
}

/// Sessions by key and by group.
pub(crate) struct Index<S> {
    by_key: HashMap<Box<str>, Vec<S>>,
    by_group: HashMap<Box<str>, Vec<S>>,
}

impl<S: Member> Members<S> {
    pub(crate) fn new(
        route: &'static str,
        duplicates: DuplicateKey,
        history: Option<HistoryConfig>,
    ) -> Self {
        Members {
            route,
            duplicates,
            index: RwLock::new(Index {
                by_key: HashMap::new(),
                by_group: HashMap::new(),
            }),
            len: AtomicUsize::new(0),
            link: OnceLock::new(),
            gaps: AtomicU64::new(0),
            history: history.map(History::new),
        }
    }

    /// The route of the endpoint.
    pub(crate) fn route(&self) -> &'static str {
        self.route
    }

    /// What a second session under one key does.
    pub(crate) fn duplicates(&self) -> DuplicateKey {
        self.duplicates
    }

    /// Number of live local sessions.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Joins the pool to a cluster; a pool joins one, once.
    pub(crate) fn link_to(&self, link: PoolLink) {
        if self.link.set(link).is_err() {
            tracing::warn!(route = self.route, "this pool is in a cluster already");
        }
    }

    /// The pool's place in the cluster, if the hub has a backplane.
    pub(crate) fn link(&self) -> Option<&PoolLink> {
        self.link.get()
    }

    /// Times a channel of this endpoint may have missed messages and was confirmed again.
    pub(crate) fn gaps(&self) -> u64 {
        self.gaps.load(Ordering::Relaxed)
    }

    /// The index, read-locked: sends deliver under it, without a snapshot of the recipients.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Index<S>> {
        read(&self.index)
    }

    /// Adds `session` under its key, applying the duplicate-key policy. With a history, the
    /// session first gets what it missed since `resume` (or where the history stands), under
    /// its key's lock: no message is both replayed and live, none neither.
    pub(crate) fn enter(
        &self,
        session: &S,
        resume: Option<&Position>,
    ) -> Result<Entered<S>, KeyTaken> {
        let (replaced, first) = match &self.history {
            Some(_) if self.shares_history() => {
                // What it missed comes once the node reads the backplane's history.
                session.start_cursor(Cursor::entering(resume.cloned()));
                self.insert(session, || {})?
            }
            Some(history) => history.resume(session.key(), resume, |frames| {
                self.insert(session, || session.push_resume(frames))
            })?,
            None => self.insert(session, || {})?,
        };
        let link = self.link().filter(|_| first);
        let subscribed = link.and_then(|link| link.retain(Target::Key(session.key())));
        Ok(Entered {
            replaced,
            subscribed,
        })
    }

    /// Puts `session` in the index and runs `welcome` under its lock, so that no send reaches
    /// the session before what `welcome` queues; returns the sessions it replaced and whether
    /// it is the first under its key.
    fn insert(&self, session: &S, welcome: impl FnOnce()) -> Result<(Vec<S>, bool), KeyTaken> {
        let mut index = write(&self.index);
        let under_key = index.by_key.entry(session.key().into()).or_default();
        let replaced = match self.duplicates {
            DuplicateKey::Reject if !under_key.is_empty() => return Err(KeyTaken),
            DuplicateKey::Replace => std::mem::take(under_key),
            DuplicateKey::Allow | DuplicateKey::Reject => Vec::new(),
        };
        let first = under_key.is_empty();
        under_key.push(session.clone());
        self.len.fetch_add(1, Ordering::AcqRel);
        self.len.fetch_sub(replaced.len(), Ordering::AcqRel);
        welcome();
        Ok((replaced, first))
    }

    /// Takes `session` out of its key and all its groups.
    pub(crate) fn remove(&self, session: &S) {
        let groups = std::mem::take(&mut *session.groups());
        let mut emptied = Vec::new();
        let key_emptied = {
            let mut index = write(&self.index);
            let mut key_emptied = false;
            if let Some(under_key) = index.by_key.get_mut(session.key()) {
                if remove_from(under_key, session) {
                    self.len.fetch_sub(1, Ordering::AcqRel);
                }
                key_emptied = under_key.is_empty();
                if key_emptied {
                    index.by_key.remove(session.key());
                }
            }
            for group in groups {
                if leave(&mut index.by_group, &group, session) {
                    emptied.push(group);
                }
            }
            key_emptied
        };
        let Some(link) = self.link() else { return };
        if key_emptied {
            if self.duplicates == DuplicateKey::Reject {
                link.release_claim(session.key());
            }
            link.release(Target::Key(session.key()));
        }
        for group in &emptied {
            link.release(Target::Group(group));
        }
    }

    /// Adds `session` to `group`; false if already in it or closing.
    pub(crate) fn join(&self, session: &S, group: Box<str>) -> bool {
        let first = {
            let mut index = write(&self.index);
            // Checked under the lock that `remove` takes, so a closing session never joins late.
            if !session.is_open() {
                return false;
            }
            let mut groups = session.groups();
            if groups.contains(&group) {
                return false;
            }
            let in_group = index.by_group.entry(group.clone()).or_default();
            in_group.push(session.clone());
            groups.push(group.clone());
            in_group.len() == 1
        };
        if let Some(link) = self.link().filter(|_| first) {
            // No wait for the broker here: a join runs in a handler, on its read loop.
            let _ = link.retain(Target::Group(&group));
        }
        true
    }

    /// Takes `session` out of `group`; false if not in it.
    pub(crate) fn leave(&self, session: &S, group: &str) -> bool {
        let emptied = {
            let mut index = write(&self.index);
            let mut groups = session.groups();
            let Some(at) = groups.iter().position(|g| &**g == group) else {
                return false;
            };
            groups.remove(at);
            leave(&mut index.by_group, group, session)
        };
        if let Some(link) = self.link().filter(|_| emptied) {
            link.release(Target::Group(group));
        }
        true
    }

    /// Queues `message` for the local sessions `target` names (as the latest value of
    /// `latest` if set). A text sent to a key of an endpoint with history is recorded first,
    /// and goes out as its frame.
    pub(crate) fn deliver_local(
        &self,
        target: Target<'_>,
        message: &Message,
        latest: Option<&Tag>,
    ) -> Local {
        match (target, &self.history, message, latest) {
            (Target::Key(key), Some(history), Message::Text(text), None)
                if !self.shares_history() =>
            {
                history.sweep_if_due(|key| !self.read().under_key(key).is_empty());
                history.record(key, text, |frame| {
                    let index = self.read();
                    deliver_to(index.under_key(key), |s| s.push_recorded(frame.clone()))
                })
            }
            _ => {
                let index = self.read();
                let push = |session: &S| session.push(message.clone(), latest);
                match target {
                    Target::Key(key) => deliver_to(index.under_key(key), push),
                    Target::Group(group) => deliver_to(index.in_group(group), push),
                    Target::All => index.all().fold(Local::default(), |sum, sessions| {
                        sum + deliver_to(sessions, push)
                    }),
                }
            }
        }
    }
}

/// An endpoint's history when it is the backplane's: each session's cursor orders what arrives.
impl<S: Member> Members<S> {
    /// What the endpoint keeps, if it keeps a history and the backplane keeps it.
    pub(crate) fn shared_history(&self) -> Option<HistoryConfig> {
        let config = self.history.as_ref()?.config();
        self.shares_history().then_some(config)
    }

    fn shares_history(&self) -> bool {
        self.history.is_some() && self.link().is_some_and(PoolLink::keeps_history)
    }

    /// Runs `f` on the cursor of each local session under `key`, with the session.
    fn each_cursor(&self, key: &str, mut f: impl FnMut(&S, &mut Cursor)) {
        let index = self.read();
        for session in index.under_key(key) {
            if let Some(mut cursor) = session.cursor() {
                f(session, &mut cursor);
            }
        }
    }
}

/// Queues a message for each of `sessions` with `push`; counts who took it and who was full.
fn deliver_to<S>(sessions: &[S], push: impl Fn(&S) -> Result<(), SendError>) -> Local {
    let mut local = Local::default();
    for session in sessions {
        match push(session) {
            Ok(()) => local.reached += 1,
            Err(SendError::Full) => local.refused += 1,
            Err(_) => {}
        }
    }
    local
}

impl<S: Member> LocalPool for Members<S> {
    fn deliver(&self, target: Target<'_>, message: &Message, latest: Option<&Tag>) -> Local {
        self.deliver_local(target, message, latest)
    }

    fn close_key(&self, key: &str) {
        let sessions = self.read().under_key(key).to_vec();
        for session in sessions {
            let reason = CloseReason::new(CloseCode::ViolatedPolicy, "replaced by a newer session");
            session.close(reason);
        }
    }

    fn local_len(&self) -> usize {
        self.len()
    }

    fn gap(&self, target: Target<'_>) -> bool {
        self.gaps.fetch_add(1, Ordering::Relaxed);
        let route = self.route;
        if let (Target::Key(key), true) = (target, self.shares_history()) {
            tracing::info!(
                route,
                key,
                "backplane subscription restored: filling in from the history"
            );
            return self.recheck(key);
        }
        tracing::warn!(
            route,
            ?target,
            "backplane subscription restored: messages published meanwhile may be lost"
        );
        false
    }

    fn recheck(&self, key: &str) -> bool {
        let mut waits = false;
        self.each_cursor(key, |_, cursor| {
            cursor.wait(false);
            waits = true;
        });
        waits
    }

    fn history_config(&self) -> Option<HistoryConfig> {
        self.shared_history()
    }

    fn deliver_record(&self, key: &str, at: &Position, text: &Utf8Bytes) -> bool {
        let mut waits = false;
        self.each_cursor(key, |session, cursor| match cursor.offer(at, text) {
            Offer::Deliver(frame) => {
                let _ = session.push_recorded(frame);
            }
            Offer::Duplicate => {}
            Offer::Held => waits = true,
        });
        waits
    }

    fn waiting_after(&self, key: &str) -> Option<u64> {
        let mut after = None;
        self.each_cursor(key, |_, cursor| {
            if cursor.is_waiting() {
                let needs = cursor.needs_after().unwrap_or(u64::MAX);
                after = Some(after.map_or(needs, |after: u64| after.min(needs)));
            }
        });
        after
    }

    fn fill(&self, key: &str, page: &Page) {
        self.each_cursor(key, |session, cursor| {
            let frames = cursor.fill(page);
            if !frames.is_empty() {
                session.push_resume(frames);
            }
        });
    }

    fn give_up(&self, key: &str) {
        self.each_cursor(key, |session, cursor| {
            let frames = cursor.give_up();
            if !frames.is_empty() {
                session.push_resume(frames);
            }
        });
    }
}

impl<S> Index<S> {
    /// The sessions under `key`.
    pub(crate) fn under_key(&self, key: &str) -> &[S] {
        self.by_key.get(key).map_or(&[], Vec::as_slice)
    }

    /// The sessions in `group`.
    pub(crate) fn in_group(&self, group: &str) -> &[S] {
        self.by_group.get(group).map_or(&[], Vec::as_slice)
    }

    /// Every session, key by key.
    pub(crate) fn all(&self) -> impl Iterator<Item = &[S]> {
        self.by_key.values().map(Vec::as_slice)
    }

    /// The keys with at least one session, sorted.
    pub(crate) fn keys(&self) -> Vec<String> {
        sorted_names(&self.by_key)
    }

    /// The groups with at least one session, sorted.
    pub(crate) fn groups(&self) -> Vec<String> {
        sorted_names(&self.by_group)
    }
}

/// Takes `session` out of `group`; whether that emptied the group.
fn leave<S: Member>(by_group: &mut HashMap<Box<str>, Vec<S>>, group: &str, session: &S) -> bool {
    let Some(in_group) = by_group.get_mut(group) else {
        return false;
    };
    remove_from(in_group, session);
    let emptied = in_group.is_empty();
    if emptied {
        by_group.remove(group);
    }
    emptied
}

/// Removes `session` from `sessions`; whether it was there.
fn remove_from<S: Member>(sessions: &mut Vec<S>, session: &S) -> bool {
    let before = sessions.len();
    sessions.retain(|s| !s.is(session));
    sessions.len() < before
}

fn sorted_names<S>(map: &HashMap<Box<str>, Vec<S>>) -> Vec<String> {
    let mut names: Vec<String> = map.keys().map(|k| k.to_string()).collect();
    names.sort_unstable();
    names
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::base::sync::lock;

    /// A session as the index sees it.
    #[derive(Clone)]
    struct Fake(Arc<FakeInner>);

    struct FakeInner {
        key: &'static str,
        open: AtomicBool,
        groups: Mutex<Vec<Box<str>>>,
    }

    fn fake(key: &'static str) -> Fake {
        Fake(Arc::new(FakeInner {
            key,
            open: AtomicBool::new(true),
            groups: Mutex::new(Vec::new()),
        }))
    }

    impl Member for Fake {
        fn push(&self, _: Message, _: Option<&Tag>) -> Result<(), SendError> {
            Ok(())
        }
        fn push_recorded(&self, _: Message) -> Result<(), SendError> {
            Ok(())
        }
        fn push_resume(&self, _: Vec<Message>) {}
        fn cursor(&self) -> Option<MutexGuard<'_, Cursor>> {
            None
        }
        fn start_cursor(&self, _: Cursor) {}
        fn close(&self, _: CloseReason) {
            self.0.open.store(false, Ordering::Relaxed);
        }
        fn key(&self) -> &str {
            self.0.key
        }
        fn is(&self, other: &Self) -> bool {
            Arc::ptr_eq(&self.0, &other.0)
        }
        fn is_open(&self) -> bool {
            self.0.open.load(Ordering::Relaxed)
        }
        fn groups(&self) -> MutexGuard<'_, Vec<Box<str>>> {
            lock(&self.0.groups)
        }
    }

    #[test]
    fn sessions_are_found_by_key_until_removed() {
        let members = Members::new("/r/{k}", DuplicateKey::Allow, None);
        let (a1, a2, b) = (fake("a"), fake("a"), fake("b"));
        for session in [&a1, &a2, &b] {
            assert!(members.enter(session, None).unwrap().replaced.is_empty());
        }
        assert_eq!(members.len(), 3);
        assert_eq!(members.read().under_key("a").len(), 2);
        assert_eq!(members.read().keys(), ["a", "b"]);
        members.remove(&a1);
        members.remove(&a1);
        assert_eq!(members.len(), 2, "removed once");
        members.remove(&a2);
        assert_eq!(members.read().keys(), ["b"], "an empty key is dropped");
        assert_eq!(members.read().all().flatten().count(), 1);
    }

    #[test]
    fn the_duplicate_key_policy_replaces_or_rejects() {
        let members = Members::new("/r/{k}", DuplicateKey::Replace, None);
        let (old, new) = (fake("k"), fake("k"));
        members.enter(&old, None).unwrap();
        let replaced = members.enter(&new, None).unwrap().replaced;
        assert!(replaced.len() == 1 && replaced[0].is(&old));
        assert_eq!(members.len(), 1);
        let members = Members::new("/r/{k}", DuplicateKey::Reject, None);
        members.enter(&old, None).unwrap();
        assert!(members.enter(&new, None).is_err());
        assert_eq!(members.len(), 1);
    }

    #[test]
    fn groups_are_joined_once_left_and_emptied_on_removal() {
        let members = Members::new("/r/{k}", DuplicateKey::Allow, None);
        let (a, b) = (fake("a"), fake("b"));
        members.enter(&a, None).unwrap();
        members.enter(&b, None).unwrap();
        assert!(members.join(&a, "room".into()));
        assert!(!members.join(&a, "room".into()), "already in it");
        assert!(members.join(&b, "room".into()));
        assert!(members.join(&a, "other".into()));
        assert_eq!(members.read().in_group("room").len(), 2);
        assert!(members.leave(&b, "room"));
        assert!(!members.leave(&b, "room"));
        members.remove(&a);
        assert!(members.read().groups().is_empty());
        assert!(a.groups().is_empty());
    }

    #[test]
    fn a_closing_session_joins_no_group() {
        let members = Members::new("/r/{k}", DuplicateKey::Allow, None);
        let a = fake("a");
        members.enter(&a, None).unwrap();
        a.0.open.store(false, Ordering::Relaxed);
        assert!(!members.join(&a, "room".into()));
        assert!(members.read().in_group("room").is_empty());
    }
}

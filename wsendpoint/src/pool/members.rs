//! [`Members`]: the index of an endpoint's live sessions, under their pool keys and in their
//! groups.
//!
//! It is the data behind a [`SessionPool`](crate::pool::session_pool::SessionPool), generic over
//! the session type: a session knows its pool and a pool holds sessions, and with the index
//! below both, neither module needs the other's.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{MutexGuard, RwLock, RwLockReadGuard};

use crate::base::config::DuplicateKey;
use crate::base::sync::{read, write};

/// What the index needs of a session.
pub(crate) trait Member: Clone {
    /// Its pool key.
    fn key(&self) -> &str;
    /// Whether `other` is a handle of the same session.
    fn is(&self, other: &Self) -> bool;
    /// Whether it still takes messages; a closing session joins no group.
    fn is_open(&self) -> bool;
    /// The groups it is in, in the order it joined them: kept by the session, so that
    /// `Session::groups` needs no lock of the pool.
    fn groups(&self) -> MutexGuard<'_, Vec<Box<str>>>;
}

/// A second session under a key that the endpoint reserves for one (`on_duplicate_key =
/// "reject"`).
#[derive(Debug)]
pub(crate) struct KeyTaken;

/// The live sessions of one endpoint. Reads (every send) take the read lock only.
pub(crate) struct Members<S> {
    route: &'static str,
    index: RwLock<Index<S>>,
    len: AtomicUsize,
}

/// Sessions by key and by group.
pub(crate) struct Index<S> {
    by_key: HashMap<Box<str>, Vec<S>>,
    by_group: HashMap<Box<str>, Vec<S>>,
}

impl<S: Member> Members<S> {
    pub(crate) fn new(route: &'static str) -> Self {
        Members {
            route,
            index: RwLock::new(Index {
                by_key: HashMap::new(),
                by_group: HashMap::new(),
            }),
            len: AtomicUsize::new(0),
        }
    }

    /// The route of the endpoint.
    pub(crate) fn route(&self) -> &'static str {
        self.route
    }

    /// Number of live sessions.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// The index, read-locked: sends deliver under it, without a snapshot of the recipients.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Index<S>> {
        read(&self.index)
    }

    /// Adds `session` under its key, applying the duplicate-key policy; the sessions it
    /// replaces (for the caller to close).
    pub(crate) fn enter(&self, session: &S, duplicates: DuplicateKey) -> Result<Vec<S>, KeyTaken> {
        let mut index = write(&self.index);
        let under_key = index.by_key.entry(session.key().into()).or_default();
        let replaced = match duplicates {
            DuplicateKey::Reject if !under_key.is_empty() => return Err(KeyTaken),
            DuplicateKey::Replace => std::mem::take(under_key),
            DuplicateKey::Allow | DuplicateKey::Reject => Vec::new(),
        };
        under_key.push(session.clone());
        self.len.fetch_add(1, Ordering::AcqRel);
        self.len.fetch_sub(replaced.len(), Ordering::AcqRel);
        Ok(replaced)
    }

    /// Takes `session` out of its key and all its groups.
    pub(crate) fn remove(&self, session: &S) {
        let groups = std::mem::take(&mut *session.groups());
        let mut index = write(&self.index);
        if let Some(under_key) = index.by_key.get_mut(session.key()) {
            if remove_from(under_key, session) {
                self.len.fetch_sub(1, Ordering::AcqRel);
            }
            if under_key.is_empty() {
                index.by_key.remove(session.key());
            }
        }
        for group in groups {
            leave(&mut index.by_group, &group, session);
        }
    }

    /// Adds `session` to `group`; false if already in it or closing.
    pub(crate) fn join(&self, session: &S, group: Box<str>) -> bool {
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
        groups.push(group);
        true
    }

    /// Takes `session` out of `group`; false if not in it.
    pub(crate) fn leave(&self, session: &S, group: &str) -> bool {
        let mut index = write(&self.index);
        let mut groups = session.groups();
        let Some(at) = groups.iter().position(|g| &**g == group) else {
            return false;
        };
        groups.remove(at);
        leave(&mut index.by_group, group, session);
        true
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

fn leave<S: Member>(by_group: &mut HashMap<Box<str>, Vec<S>>, group: &str, session: &S) {
    if let Some(in_group) = by_group.get_mut(group) {
        remove_from(in_group, session);
        if in_group.is_empty() {
            by_group.remove(group);
        }
    }
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
        let members = Members::new("/r/{k}");
        let (a1, a2, b) = (fake("a"), fake("a"), fake("b"));
        for session in [&a1, &a2, &b] {
            assert!(members
                .enter(session, DuplicateKey::Allow)
                .unwrap()
                .is_empty());
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
        let members = Members::new("/r/{k}");
        let (old, new) = (fake("k"), fake("k"));
        members.enter(&old, DuplicateKey::Replace).unwrap();
        let replaced = members.enter(&new, DuplicateKey::Replace).unwrap();
        assert!(replaced.len() == 1 && replaced[0].is(&old));
        assert_eq!(members.len(), 1);
        assert!(members.enter(&fake("k"), DuplicateKey::Reject).is_err());
        assert_eq!(members.len(), 1);
    }

    #[test]
    fn groups_are_joined_once_left_and_emptied_on_removal() {
        let members = Members::new("/r/{k}");
        let (a, b) = (fake("a"), fake("b"));
        members.enter(&a, DuplicateKey::Allow).unwrap();
        members.enter(&b, DuplicateKey::Allow).unwrap();
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
        let members = Members::new("/r/{k}");
        let a = fake("a");
        members.enter(&a, DuplicateKey::Allow).unwrap();
        a.0.open.store(false, Ordering::Relaxed);
        assert!(!members.join(&a, "room".into()));
        assert!(members.read().in_group("room").is_empty());
    }
}

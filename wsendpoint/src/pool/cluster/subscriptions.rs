//! [`Subscriptions`]: which channels this node needs, which the broker confirmed, and which
//! may have missed messages.
//!
//! A channel is needed while a local session holds its key or group (the endpoint's broadcast
//! channel and the node's own channel are held for the hub's lifetime). The node's upkeep task
//! brings the broker in line with what is needed, so a subscription that failed (the broker
//! was down) is tried again; a channel that was needed while the broker could not deliver on
//! it is reported as a possible gap once it is confirmed again.

use std::collections::HashMap;

use tokio::sync::oneshot;

use crate::pool::target::Scope;

/// The channels of one node.
#[derive(Default)]
pub(crate) struct Subscriptions {
    channels: HashMap<String, Channel>,
    /// Unsubscribes sent and not yet answered, by channel: the broker's "unsubscribed" for
    /// each is the answer, not news (it may arrive after the channel was needed again).
    unsubscribing: HashMap<String, u32>,
}

struct Channel {
    route: &'static str,
    scope: Scope,
    /// Local holders: sessions under the key or in the group, or the hub itself.
    holders: usize,
    /// Whether the broker confirmed the subscription.
    confirmed: bool,
    /// Whether the broker may hold the subscription: it was asked for, or confirmed. Such a
    /// channel is unsubscribed when nobody needs it, not forgotten: a client library may
    /// restore it by itself after an interruption.
    asked: bool,
    /// Messages may have been missed since the channel was needed: the connection dropped, or
    /// subscribing failed.
    gap: bool,
    /// Handshakes waiting for the confirmation.
    waiters: Vec<oneshot::Sender<()>>,
}

/// What the broker must be told to match what is needed.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Changes {
    pub(crate) subscribe: Vec<String>,
    pub(crate) unsubscribe: Vec<String>,
}

impl Subscriptions {
    /// One more local holder of `channel`. Until the broker confirms it, the receiver resolves
    /// when it does.
    pub(crate) fn retain(
        &mut self,
        channel: String,
        route: &'static str,
        scope: Scope,
    ) -> Option<oneshot::Receiver<()>> {
        let entry = self.channels.entry(channel).or_insert_with(|| Channel {
            route,
            scope,
            holders: 0,
            confirmed: false,
            asked: false,
            gap: false,
            waiters: Vec::new(),
        });
        entry.holders += 1;
        (!entry.confirmed).then(|| {
            let (tx, rx) = oneshot::channel();
            entry.waiters.push(tx);
            rx
        })
    }

    /// One local holder fewer.
    pub(crate) fn release(&mut self, channel: &str) {
        let Some(entry) = self.channels.get_mut(channel) else {
            return;
        };
        entry.holders = entry.holders.saturating_sub(1);
        if entry.holders == 0 && !entry.asked {
            self.channels.remove(channel);
        }
    }

    /// `channels` are being unsubscribed from.
    pub(crate) fn unsubscribing(&mut self, channels: &[String]) {
        for name in channels {
            *self.unsubscribing.entry(name.clone()).or_default() += 1;
        }
    }

    /// Unsubscribing from `channels` failed: no answer will come (or, after a timeout, one
    /// that is then taken for news, which costs a subscription made again).
    pub(crate) fn unsubscribe_failed(&mut self, channels: &[String]) {
        for name in channels {
            self.answered(name);
        }
    }

    /// One unsubscribe of `channel` answered; whether one was waiting.
    fn answered(&mut self, channel: &str) -> bool {
        let Some(count) = self.unsubscribing.get_mut(channel) else {
            return false;
        };
        *count -= 1;
        if *count == 0 {
            self.unsubscribing.remove(channel);
        }
        true
    }

    /// `channels` are being subscribed to.
    pub(crate) fn asking(&mut self, channels: &[String]) {
        for name in channels {
            if let Some(entry) = self.channels.get_mut(name) {
                entry.asked = true;
            }
        }
    }

    /// The subscriptions to make and to end; with `again`, every needed channel is to be
    /// subscribed, confirmed or not.
    pub(crate) fn changes(&self, again: bool) -> Changes {
        let mut changes = Changes::default();
        for (name, channel) in &self.channels {
            match (channel.holders > 0, channel.confirmed) {
                (true, false) => changes.subscribe.push(name.clone()),
                (true, true) if again => changes.subscribe.push(name.clone()),
                (false, _) if channel.asked => changes.unsubscribe.push(name.clone()),
                _ => {}
            }
        }
        changes.subscribe.sort_unstable();
        changes.unsubscribe.sort_unstable();
        changes
    }

    /// The broker confirmed `channel`: its waiters go on. If it may have missed messages, what
    /// it stands for, to report the gap.
    /// A channel nobody holds (a library restored it after its last holder left) is kept, to
    /// be unsubscribed.
    pub(crate) fn confirmed(&mut self, channel: &str) -> Option<(&'static str, Scope)> {
        let entry = self
            .channels
            .entry(channel.to_owned())
            .or_insert_with(|| Channel {
                route: "",
                scope: Scope::All,
                holders: 0,
                confirmed: false,
                asked: false,
                gap: false,
                waiters: Vec::new(),
            });
        entry.confirmed = true;
        entry.asked = true;
        for waiter in entry.waiters.drain(..) {
            let _ = waiter.send(());
        }
        std::mem::take(&mut entry.gap).then(|| (entry.route, entry.scope.clone()))
    }

    /// The broker ended `channels`; those needed again meanwhile are subscribed anew.
    pub(crate) fn unsubscribed(&mut self, channels: &[String]) {
        for name in channels {
            if let Some(entry) = self.channels.get_mut(name) {
                (entry.confirmed, entry.asked) = (false, false);
                if entry.holders == 0 {
                    self.channels.remove(name);
                }
            }
        }
    }

    /// The broker says `channel` is no longer subscribed (the answer to an unsubscribe, or its
    /// own doing: a Redis Cluster moved the channel's slot). Forgotten if nobody holds it; else
    /// it may have missed messages and is to be subscribed again: whether it is.
    pub(crate) fn ended(&mut self, channel: &str) -> bool {
        if self.answered(channel) {
            // The answer to this node's own unsubscribe, which `unsubscribed` accounts for.
            return false;
        }
        let Some(entry) = self.channels.get_mut(channel) else {
            return false;
        };
        (entry.confirmed, entry.asked) = (false, false);
        if entry.holders == 0 {
            self.channels.remove(channel);
            return false;
        }
        entry.gap = true;
        true
    }

    /// Subscribing to `channels` failed: they may miss messages until it succeeds.
    pub(crate) fn failed(&mut self, channels: &[String]) {
        for name in channels {
            if let Some(entry) = self.channels.get_mut(name) {
                entry.gap = entry.holders > 0;
            }
        }
    }

    /// The connection to the broker dropped: every needed channel may miss messages until the
    /// broker confirms it again, and is subscribed anew. A client library may restore its
    /// subscriptions by itself, but not always (a Redis Cluster that comes back slot by slot
    /// refuses the first attempt), and the broker takes a subscription made twice as one.
    pub(crate) fn interrupted(&mut self) {
        for entry in self.channels.values_mut() {
            if entry.holders > 0 {
                entry.gap = true;
                entry.confirmed = false;
            }
        }
    }

    /// What `channel` stands for, if this node holds it.
    pub(crate) fn lookup(&self, channel: &str) -> Option<(&'static str, &Scope)> {
        let entry = self.channels.get(channel)?;
        (entry.holders > 0).then_some((entry.route, &entry.scope))
    }

    /// Whether this node is a confirmed subscriber of `channel`: its own publish on it counts
    /// one receiver.
    pub(crate) fn is_confirmed(&self, channel: &str) -> bool {
        self.channels.get(channel).is_some_and(|c| c.confirmed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> Scope {
        Scope::Key(name.into())
    }

    #[test]
    fn a_channel_is_subscribed_while_held_and_ended_when_not() {
        let mut subs = Subscriptions::default();
        let mut waiter = subs.retain("c".into(), "/r", key("k")).expect("waits");
        assert!(
            subs.retain("c".into(), "/r", key("k")).is_some(),
            "waits too"
        );
        assert_eq!(subs.changes(false).subscribe, ["c"]);
        assert!(waiter.try_recv().is_err());
        assert_eq!(subs.confirmed("c"), None);
        assert_eq!(waiter.try_recv(), Ok(()));
        assert!(
            subs.retain("c".into(), "/r", key("k")).is_none(),
            "confirmed"
        );
        assert_eq!(subs.changes(false), Changes::default());
        assert_eq!(subs.changes(true).subscribe, ["c"], "subscribed again");
        for _ in 0..3 {
            subs.release("c");
        }
        assert_eq!(subs.changes(false).unsubscribe, ["c"]);
        assert_eq!(subs.lookup("c"), None, "no longer held");
        subs.unsubscribed(&["c".to_owned()]);
        assert_eq!(subs.changes(false), Changes::default());
        assert!(!subs.is_confirmed("c"));
    }

    #[test]
    fn a_channel_released_before_it_was_confirmed_is_forgotten() {
        let mut subs = Subscriptions::default();
        let _ = subs.retain("c".into(), "/r", key("k"));
        subs.release("c");
        assert_eq!(subs.changes(false), Changes::default());
        assert_eq!(subs.confirmed("c"), None);
    }

    #[test]
    fn an_interruption_is_reported_once_per_held_channel_when_confirmed_again() {
        let mut subs = Subscriptions::default();
        for name in ["held", "released"] {
            let _ = subs.retain(name.into(), "/r", key(name));
            subs.confirmed(name);
        }
        subs.release("released");
        subs.interrupted();
        assert_eq!(subs.changes(false).subscribe, ["held"], "subscribed anew");
        assert_eq!(
            subs.changes(false).unsubscribe,
            ["released"],
            "still to end"
        );
        assert_eq!(subs.confirmed("held"), Some(("/r", key("held"))));
        assert_eq!(subs.confirmed("held"), None, "once");
        assert_eq!(subs.confirmed("released"), None, "nobody holds it");
    }

    #[test]
    fn a_channel_left_during_an_interruption_is_still_unsubscribed() {
        let mut subs = Subscriptions::default();
        let _ = subs.retain("c".into(), "/r", key("c"));
        subs.asking(&["c".to_owned()]);
        subs.confirmed("c");
        subs.interrupted();
        subs.release("c");
        assert_eq!(
            subs.changes(false).unsubscribe,
            ["c"],
            "a library may restore it"
        );
        subs.unsubscribed(&["c".to_owned()]);
        assert_eq!(subs.changes(false), Changes::default());
        // Restored anyway, with nobody holding it: to be unsubscribed again.
        assert_eq!(subs.confirmed("c"), None);
        assert_eq!(subs.lookup("c"), None);
        assert_eq!(subs.changes(false).unsubscribe, ["c"]);
    }

    #[test]
    fn the_answer_to_an_unsubscribe_is_not_taken_for_news() {
        let mut subs = Subscriptions::default();
        let _ = subs.retain("c".into(), "/r", key("c"));
        subs.confirmed("c");
        subs.release("c");
        let changes = subs.changes(false);
        subs.unsubscribing(&changes.unsubscribe);
        subs.unsubscribed(&changes.unsubscribe);
        // Needed again before the broker's answer arrives.
        let _ = subs.retain("c".into(), "/r", key("c"));
        subs.confirmed("c");
        assert!(!subs.ended("c"), "the answer");
        assert!(subs.is_confirmed("c"));
        assert!(subs.ended("c"), "news: the broker ended it on its own");
    }

    #[test]
    fn a_subscription_the_broker_ended_is_made_again_while_held() {
        let mut subs = Subscriptions::default();
        for name in ["held", "released"] {
            let _ = subs.retain(name.into(), "/r", key(name));
            subs.confirmed(name);
        }
        subs.release("released");
        assert!(!subs.ended("released"), "nobody holds it");
        assert!(!subs.ended("unknown"));
        assert!(subs.ended("held"));
        assert_eq!(
            subs.changes(false),
            Changes {
                subscribe: vec!["held".into()],
                unsubscribe: Vec::new(),
            }
        );
        assert_eq!(
            subs.confirmed("held"),
            Some(("/r", key("held"))),
            "a possible gap"
        );
    }

    #[test]
    fn a_failed_subscription_is_tried_again_and_reported() {
        let mut subs = Subscriptions::default();
        let _ = subs.retain("c".into(), "/r", Scope::All);
        subs.failed(&["c".to_owned()]);
        assert_eq!(subs.changes(false).subscribe, ["c"], "still to do");
        assert_eq!(subs.confirmed("c"), Some(("/r", Scope::All)));
        assert!(subs.is_confirmed("c"));
        assert_eq!(subs.lookup("c"), Some(("/r", &Scope::All)));
    }
}

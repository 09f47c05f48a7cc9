//! The clock of a live connection: when to ping, and when a silent peer counts as idle.

use std::time::Duration;

use tokio::time::Instant;

/// Stands for "never" in timers that are switched off.
const DISABLED: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The deadlines of a live connection: when to ping, and when to check for idleness.
///
/// Traffic only sets a flag (no clock read per message); the idle check runs every half
/// timeout and closes a peer silent for two checks in a row, so a silent peer is closed after
/// its idle timeout and before one and a half of it.
pub(crate) struct Clock {
    ping_every: Option<Duration>,
    idle_timeout: Option<Duration>,
    next_ping: Instant,
    idle_check: Instant,
    seen: bool,
    quiet_checks: u8,
}

impl Clock {
    pub(crate) fn new(ping_interval: Option<Duration>, idle_timeout: Option<Duration>) -> Self {
        let now = Instant::now();
        let ping_every = ping_period(ping_interval, idle_timeout);
        Clock {
            ping_every: (ping_every != DISABLED).then_some(ping_every),
            idle_timeout,
            next_ping: now + ping_every,
            idle_check: now + idle_timeout.map_or(DISABLED, |idle| idle / 2),
            seen: false,
            quiet_checks: 0,
        }
    }

    /// A frame arrived: the peer is alive.
    #[inline]
    pub(crate) fn saw_traffic(&mut self) {
        self.seen = true;
    }

    /// The timeout, if the peer has stayed silent for it at `now`; else schedules the next
    /// check.
    pub(crate) fn idle_since(&mut self, now: Instant) -> Option<Duration> {
        let idle = self.idle_timeout?;
        if now < self.idle_check {
            return None;
        }
        if std::mem::take(&mut self.seen) {
            self.quiet_checks = 0;
        } else {
            self.quiet_checks += 1;
        }
        if self.quiet_checks >= 2 {
            return Some(idle);
        }
        self.idle_check = now + idle / 2;
        None
    }

    /// Whether a ping is due at `now`; if so, schedules the next one.
    pub(crate) fn ping_due(&mut self, now: Instant) -> bool {
        match self.ping_every {
            Some(every) if now >= self.next_ping => {
                self.next_ping = now + every;
                true
            }
            _ => false,
        }
    }

    /// The next ping or idle check.
    #[inline]
    pub(crate) fn next(&self) -> Instant {
        match self.ping_every {
            Some(_) => self.next_ping.min(self.idle_check),
            None => self.idle_check,
        }
    }
}

/// How often to ping: the endpoint's interval, but at least twice per idle timeout, so that a
/// peer that answers every ping is never taken for idle.
fn ping_period(interval: Option<Duration>, idle_timeout: Option<Duration>) -> Duration {
    match (interval, idle_timeout) {
        (Some(interval), Some(idle)) => interval.min(idle / 2),
        (Some(interval), None) => interval,
        (None, _) => DISABLED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_peer_is_idle_after_two_quiet_half_timeouts() {
        let s = Duration::from_secs;
        let start = Instant::now();
        let mut clock = Clock::new(None, Some(s(10)));
        assert_eq!(clock.next(), start + s(5));
        assert_eq!(clock.idle_since(start + s(5)), None, "one quiet check");
        clock.saw_traffic();
        assert_eq!(clock.idle_since(start + s(10)), None, "traffic resets");
        assert_eq!(clock.idle_since(start + s(15)), None);
        assert_eq!(clock.idle_since(start + s(20)), Some(s(10)));
    }

    #[test]
    fn pings_come_at_least_twice_per_idle_timeout() {
        let s = Duration::from_secs;
        assert_eq!(ping_period(Some(s(30)), Some(s(60))), s(30));
        assert_eq!(ping_period(Some(s(30)), Some(s(10))), s(5));
        assert_eq!(ping_period(Some(s(30)), None), s(30));
        assert_eq!(ping_period(None, Some(s(10))), DISABLED);
    }
}

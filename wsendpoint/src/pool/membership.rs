//! [`Membership`]: a session's place in its pool, for as long as its connection lives.

use crate::pool::session::Session;

/// A session's place in its pool. Leaving takes the session out of its key and groups; so does
/// dropping it, so a session leaves the pool however its connection ends: closed, failed,
/// never upgraded, or dropped with the runtime.
pub(crate) struct Membership {
    session: Session,
    in_pool: bool,
}

impl Membership {
    /// The membership of `session`, which its pool just took in.
    pub(crate) fn new(session: Session) -> Self {
        Membership {
            session,
            in_pool: true,
        }
    }

    pub(crate) fn session(&self) -> &Session {
        &self.session
    }

    /// Takes the session out of its pool, once: the connection is closed.
    pub(crate) fn leave(&mut self) {
        if std::mem::take(&mut self.in_pool) {
            self.session.members().remove(&self.session);
        }
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.leave();
    }
}

//! [`Dispatch`]: an endpoint's handler bound to its session, as the connection driver runs it.

use std::future::Future;

use tungstenite::Message;

use crate::base::close::CloseReason;
use crate::base::config::EndpointConfig;
use crate::base::error::{Error, Outcome};
use crate::connection::handler::Handler;
use crate::endpoint::extract::{CloseEvent, ErrorEvent, MessageEvent, OpenEvent};
use crate::endpoint::handler::Endpoint;
use crate::pool::membership::Membership;

/// The handler instance of one connection and its session's place in the pool. The session
/// leaves the pool when the connection is closed, just before `on_close`.
pub(crate) struct Dispatch<E> {
    endpoint: E,
    membership: Membership,
}

impl<E> Dispatch<E> {
    pub(crate) fn new(endpoint: E, membership: Membership) -> Self {
        Dispatch {
            endpoint,
            membership,
        }
    }
}

impl<E: Endpoint> Handler for Dispatch<E> {
    const CONFIG: EndpointConfig = E::CONFIG;

    fn open(&mut self) -> impl Future<Output = Outcome> + Send + '_ {
        let session = self.membership.session();
        self.endpoint.on_open(OpenEvent::new(session))
    }

    fn message<'a>(
        &'a mut self,
        message: &'a Message,
    ) -> impl Future<Output = Outcome> + Send + 'a {
        let session = self.membership.session();
        self.endpoint
            .on_message(MessageEvent::new(session, message))
    }

    fn error<'a>(&'a mut self, error: &'a Error) -> impl Future<Output = ()> + Send + 'a {
        let session = self.membership.session();
        self.endpoint.on_error(ErrorEvent::new(session, error))
    }

    fn close<'a>(&'a mut self, reason: &'a CloseReason) -> impl Future<Output = ()> + Send + 'a {
        self.membership.leave();
        let session = self.membership.session();
        self.endpoint.on_close(CloseEvent::new(session, reason))
    }
}

/// Every idle connection keeps these states: they are checked so that a change that bloats
/// them (a future passed by value and stored twice, a future held across an await) fails here
/// rather than in the next benchmark run.
#[cfg(test)]
mod footprint {
    use super::*;
    use crate::connection::driver::drive;
    use crate::connection::writer::Writer;
    use crate::prelude::*;

    #[derive(Default)]
    struct Typical;

    #[server_endpoint("/typical/<key>")]
    impl Typical {
        #[on_message]
        async fn message(&mut self, session: &Session, text: &str) -> Option<String> {
            session.pool().broadcast_text(text).await;
            Some(text.to_owned())
        }
    }

    fn output_size<A, B, C, D, F, G, R>(_: fn(A, B, C, D, F, G) -> R) -> usize {
        std::mem::size_of::<R>()
    }

    #[test]
    fn a_connections_tasks_stay_small() {
        // Measured in a debug build (larger than release).
        let connection = output_size(drive::<Dispatch<Typical>>);
        assert!(connection <= 1600, "connection task: {connection} bytes");
        let writer = std::mem::size_of::<Writer>();
        assert!(writer <= 128, "writer task: {writer} bytes");
    }
}

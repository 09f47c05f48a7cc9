//! [`Hub`]: the registered endpoints, their session pools, the router, serving and shutdown.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use tokio::net::{TcpListener, ToSocketAddrs};

use crate::endpoint::handler::Endpoint;
use crate::hub::context::Context;
use crate::hub::registry::{self, Registration};
use crate::pool::backplane::Backplane;
use crate::pool::cluster::node::Node;
use crate::pool::session_pool::SessionPool;

/// The endpoints of an application, their session pools, and the server that runs them.
///
/// `Hub::new()` collects every endpoint declared with `#[server_endpoint]` in the program. Each
/// hub has its own pools and sessions: two hubs in one process share nothing.
///
/// ```no_run
/// use wsendpoint::prelude::*;
///
/// #[derive(Default)]
/// struct Progress;
///
/// #[server_endpoint("/progress/<job>")]
/// impl Progress {}
///
/// # async fn demo() -> std::io::Result<()> {
/// let hub = Hub::new();
/// // merge with your own routes:
/// let app = hub.router().route("/health", axum::routing::get(|| async { "ok" }));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let server = tokio::spawn(hub.clone().serve_router(listener, app));
/// // ... push from anywhere:
/// hub.sessions::<Progress>().send_text("job-1", "50%").await;
/// // close every session with 1001, run each on_close, stop serving:
/// hub.shutdown().await;
/// server.await.unwrap()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Hub {
    registrations: Arc<[&'static Registration]>,
    context: Arc<Context>,
}

/// Two endpoints in one program claim the same route.
///
/// ```
/// match wsendpoint::Hub::try_new() {
///     Ok(hub) => println!("{hub:?}"),
///     Err(conflict) => eprintln!("cannot start: {conflict}"),
/// }
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct RouteConflict(String);

impl Hub {
    /// A hub with every `#[server_endpoint]` of the program.
    ///
    /// # Panics
    /// When two endpoints claim the same route; [`Hub::try_new`] returns that as an error.
    pub fn new() -> Self {
        Self::try_new().unwrap_or_else(|conflict| panic!("{conflict}"))
    }

    /// A hub with every `#[server_endpoint]` of the program, or the route conflict that
    /// prevents it.
    pub fn try_new() -> Result<Self, RouteConflict> {
        let registrations = registry::registered().map_err(RouteConflict)?;
        let pools = registrations
            .iter()
            .map(|r| {
                let config = (r.config)();
                ((r.type_id)(), SessionPool::new(&config))
            })
            .collect();
        Ok(Hub {
            registrations: registrations.into(),
            context: Arc::new(Context::new(pools)),
        })
    }

    /// The process-wide hub behind [`serve`], created on first use.
    pub fn global() -> &'static Hub {
        static GLOBAL: OnceLock<Hub> = OnceLock::new();
        GLOBAL.get_or_init(Hub::new)
    }

    /// Adds `value` to the state that handlers receive as [`State<T>`](crate::State); a value of
    /// the same type replaces the previous one. Sessions opened before keep the state they saw.
    ///
    /// ```
    /// #[derive(Clone)]
    /// struct Config {
    ///     greeting: String,
    /// }
    ///
    /// let hub = wsendpoint::Hub::new().with_state(Config { greeting: "hello".into() });
    /// # drop(hub);
    /// ```
    pub fn with_state<T: Clone + Send + Sync + 'static>(self, value: T) -> Self {
        self.context.add_state(value);
        self
    }

    /// Joins this hub to the cluster of every hub on the same `backplane`: a send to a key, a
    /// group or everyone reaches the sessions of every node, the duplicate-key policies hold
    /// across nodes, and [`SessionPool::online`] and [`SessionPool::count`] ask the cluster.
    /// Nothing else changes: the endpoints and the sends are the same code.
    ///
    /// ```
    /// use wsendpoint::{Hub, MemoryBroker};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let broker = MemoryBroker::new(); // or wsendpoint::RedisBackplane::connect(url).await?
    /// let hub = Hub::new().with_backplane(broker.connect());
    /// # drop(hub); }
    /// ```
    ///
    /// # Panics
    /// Outside a Tokio runtime (the hub's node runs two tasks), if the hub has a backplane
    /// already, or if `backplane` serves another hub already.
    pub fn with_backplane(self, backplane: impl Backplane) -> Self {
        self.context.join_cluster(Node::start(Arc::new(backplane)));
        self
    }

    /// The session pool of endpoint `E`.
    pub fn sessions<E: Endpoint>(&self) -> SessionPool {
        self.context.pool::<E>()
    }

    /// A router with one route per endpoint; merge it with your own routes.
    pub fn router(&self) -> axum::Router {
        self.registrations
            .iter()
            .fold(axum::Router::new(), |router, r| {
                (r.mount)(router, &self.context)
            })
    }

    /// Serves [`router`](Self::router) on `listener` until [`shutdown`](Self::shutdown).
    pub async fn serve(self, listener: TcpListener) -> std::io::Result<()> {
        let router = self.router();
        self.serve_router(listener, router).await
    }

    /// Serves `router` (the hub's router merged with yours) on `listener` until
    /// [`shutdown`](Self::shutdown), then waits until every session has closed.
    pub async fn serve_router(
        self,
        listener: TcpListener,
        router: axum::Router,
    ) -> std::io::Result<()> {
        let stop = self.context.shutdown_token();
        let app = router.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await?;
        self.shutdown().await;
        Ok(())
    }

    /// Closes every session with 1001 (going away), waits until each `on_close` ran, and makes
    /// new handshakes answer 503. Serving futures of this hub return.
    pub async fn shutdown(&self) {
        self.context.shut_down().await;
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shutting_down(&self) -> bool {
        self.context.is_shutting_down()
    }
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let routes: Vec<_> = self
            .registrations
            .iter()
            .map(|r| (r.config)().route)
            .collect();
        f.debug_struct("Hub").field("routes", &routes).finish()
    }
}

/// Serves every `#[server_endpoint]` of the program on `addr` with the [global hub](Hub::global),
/// until Ctrl-C, then shuts down gracefully.
///
/// ```no_run
/// #[tokio::main]
/// async fn main() -> std::io::Result<()> {
///     wsendpoint::serve("127.0.0.1:8080").await
/// }
/// ```
pub async fn serve(addr: impl ToSocketAddrs) -> std::io::Result<()> {
    let hub = Hub::global();
    let listener = TcpListener::bind(addr).await?;
    tracing::info!(addr = %listener.local_addr()?, "wsendpoint serving");
    let ctrl_c = {
        let hub = hub.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                hub.shutdown().await;
            }
        }
    };
    tokio::spawn(ctrl_c);
    hub.clone().serve(listener).await
}

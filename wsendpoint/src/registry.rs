//! Endpoints registered by `#[server_endpoint]`, collected at start-up with `inventory`.

use std::any::TypeId;

use crate::{Endpoint, EndpointConfig, Hub};

/// One endpoint as `#[server_endpoint]` submits it: const-built, so it can live in a static.
pub struct Registration {
    pub(crate) config: fn() -> EndpointConfig,
    pub(crate) type_id: fn() -> TypeId,
    pub(crate) type_name: fn() -> &'static str,
    pub(crate) mount: fn(axum::Router, &Hub) -> axum::Router,
}

impl Registration {
    /// The registration of `E`.
    pub const fn of<E: Endpoint>() -> Self {
        Registration {
            config: config_of::<E>,
            type_id: TypeId::of::<E>,
            type_name: std::any::type_name::<E>,
            mount: crate::upgrade::mount::<E>,
        }
    }
}

fn config_of<E: Endpoint>() -> EndpointConfig {
    E::CONFIG
}

inventory::collect!(Registration);

/// Every registered endpoint, sorted by route (inventory's order is unspecified), or a message
/// naming both types when two endpoints claim the same route.
pub(crate) fn registered() -> Result<Vec<&'static Registration>, String> {
    let mut all: Vec<&'static Registration> = inventory::iter::<Registration>.into_iter().collect();
    all.sort_by_key(|r| ((r.config)().route(), (r.type_name)()));
    all.dedup_by_key(|r| (r.type_id)());
    for pair in all.windows(2) {
        let (a, b) = ((pair[0].config)(), (pair[1].config)());
        if a.route() == b.route() {
            return Err(format!(
                "two endpoints claim the route `{}`: `{}` (\"{}\") and `{}` (\"{}\")",
                a.route(),
                (pair[0].type_name)(),
                a.template(),
                (pair[1].type_name)(),
                b.template()
            ));
        }
    }
    Ok(all)
}

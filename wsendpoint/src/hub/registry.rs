//! Endpoints registered by `#[server_endpoint]`, collected at start-up with `inventory`.

use std::any::TypeId;
use std::sync::Arc;

use crate::base::config::EndpointConfig;
use crate::endpoint::handler::Endpoint;
use crate::hub::context::Context;
use crate::hub::route;

/// One endpoint as `#[server_endpoint]` submits it: const-built, so it can live in a static.
pub struct Registration {
    pub(crate) config: fn() -> EndpointConfig,
    pub(crate) type_id: fn() -> TypeId,
    pub(crate) type_name: fn() -> &'static str,
    pub(crate) mount: fn(axum::Router, &Arc<Context>) -> axum::Router,
}

impl Registration {
    /// The registration of `E`.
    pub const fn of<E: Endpoint>() -> Self {
        Registration {
            config: config_of::<E>,
            type_id: TypeId::of::<E>,
            type_name: std::any::type_name::<E>,
            mount: route::mount::<E>,
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
    all.sort_by_key(|r| (route_shape((r.config)().route), (r.type_name)()));
    all.dedup_by_key(|r| (r.type_id)());
    let named: Vec<(EndpointConfig, &str)> = all
        .iter()
        .map(|r| ((r.config)(), (r.type_name)()))
        .collect();
    match first_conflict(&named) {
        Some(conflict) => Err(conflict),
        None => Ok(all),
    }
}

/// In endpoints sorted by route shape, the first two whose routes would match the same URLs.
fn first_conflict(sorted: &[(EndpointConfig, &str)]) -> Option<String> {
    sorted.windows(2).find_map(|pair| {
        let ((a, a_name), (b, b_name)) = (&pair[0], &pair[1]);
        (route_shape(a.route) == route_shape(b.route)).then(|| {
            format!(
                "two endpoints claim the route `{}`: `{a_name}` (\"{}\") and `{b_name}` (\"{}\")",
                a.route, a.template, b.template
            )
        })
    })
}

/// The route with parameter names erased: `/a/{x}` and `/a/{y}` match the same URLs.
fn route_shape(route: &str) -> String {
    route
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "{}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(template: &'static str, route: &'static str) -> EndpointConfig {
        EndpointConfig::new(template, route, &[], None)
    }

    #[test]
    fn routes_differing_only_in_parameter_names_conflict() {
        let endpoints = [
            (config("/a/<x>", "/a/{x}"), "A"),
            (config("/a/{y}", "/a/{y}"), "B"),
        ];
        let conflict = first_conflict(&endpoints).expect("a conflict");
        assert!(
            conflict.contains("`A`") && conflict.contains("`B`"),
            "{conflict}"
        );
        assert!(
            conflict.contains("\"/a/<x>\"") && conflict.contains("\"/a/{y}\""),
            "{conflict}"
        );
    }

    #[test]
    fn distinct_routes_do_not_conflict() {
        let endpoints = [
            (config("/a/<x>", "/a/{x}"), "A"),
            (config("/a/<x>/b", "/a/{x}/b"), "B"),
            (config("/b", "/b"), "C"),
        ];
        assert_eq!(first_conflict(&endpoints), None);
    }
}

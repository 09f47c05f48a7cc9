//! Two endpoints claiming one route stop the hub at start-up with a message naming both.
//!
//! Its own test binary: every hub of a binary mounts every endpoint of that binary.

use wsendpoint::prelude::*;

#[derive(Default)]
struct First;

#[server_endpoint("/same/<a>")]
impl First {}

#[derive(Default)]
struct Second;

#[server_endpoint("/same/{b}")]
impl Second {}

#[test]
fn two_endpoints_on_one_route_are_refused_naming_both() {
    let conflict = Hub::try_new().expect_err("a route conflict").to_string();
    assert!(conflict.contains("route_conflict::First"), "{conflict}");
    assert!(conflict.contains("route_conflict::Second"), "{conflict}");
    assert!(
        conflict.contains("\"/same/<a>\"") && conflict.contains("\"/same/{b}\""),
        "{conflict}"
    );
}

#[test]
#[should_panic(expected = "two endpoints claim the route")]
fn hub_new_panics_with_the_same_message() {
    let _ = Hub::new();
}

//! Route templates: every error names the offending segment, since spans inside a string literal
//! cannot be narrowed on stable Rust.

use wsendpoint::prelude::*;

struct NoSlash;
#[server_endpoint("websocket/<key>")]
impl NoSlash {}

struct EmptyName;
#[server_endpoint("/websocket/<>")]
impl EmptyName {}

struct NotAnIdent;
#[server_endpoint("/websocket/<1st>/{my-key}")]
impl NotAnIdent {}

struct Keyword;
#[server_endpoint("/websocket/<type>")]
impl Keyword {}

struct Duplicate;
#[server_endpoint("/room/<id>/user/{id}")]
impl Duplicate {}

struct Unclosed;
#[server_endpoint("/websocket/<key")]
impl Unclosed {}

struct Unopened;
#[server_endpoint("/websocket/key>")]
impl Unopened {}

struct Mismatched;
#[server_endpoint("/websocket/<key}")]
impl Mismatched {}

struct PartOfSegment;
#[server_endpoint("/file/<name>.json")]
impl PartOfSegment {}

struct TwoInOneSegment;
#[server_endpoint("/<a><b>")]
impl TwoInOneSegment {}

struct EmptySegment;
#[server_endpoint("/websocket//<key>")]
impl EmptySegment {}

struct TrailingSlash;
#[server_endpoint("/websocket/<key>/")]
impl TrailingSlash {}

struct QueryString;
#[server_endpoint("/websocket?key=1")]
impl QueryString {}

// Several problems in one template are all reported.
struct Everything;
#[server_endpoint("ws//<>/a<b>/")]
impl Everything {
    #[on_open]
    fn open(&mut self) {}
}

fn main() {}

//! The arguments of `#[server_endpoint]`: a template literal, then only `key = "param"`.

use wsendpoint::prelude::*;

struct Missing;
#[server_endpoint]
impl Missing {}

struct KeyFirst;
#[server_endpoint(key = "key")]
impl KeyFirst {}

struct NotALiteral;
#[server_endpoint(websocket)]
impl NotALiteral {}

struct Unknown;
#[server_endpoint("/websocket/<key>", kee = "key")]
impl Unknown {}

struct SecondTemplate;
#[server_endpoint("/websocket/<key>", "/other")]
impl SecondTemplate {}

struct KeyNotAString;
#[server_endpoint("/websocket/<key>", key = key)]
impl KeyNotAString {}

struct DuplicateKey;
#[server_endpoint("/room/<room>/<user>", key = "room", key = "user")]
impl DuplicateKey {}

struct KeyNamesNoParam;
#[server_endpoint("/room/<room>/<user>", key = "rom")]
impl KeyNamesNoParam {}

struct KeyWithoutParams;
#[server_endpoint("/lobby", key = "room")]
impl KeyWithoutParams {}

// Argument and block errors are reported together.
struct Both;
#[server_endpoint("/both/<key>", keys = "key")]
impl Both {
    #[on_open]
    fn open(self) {}
}

fn main() {}

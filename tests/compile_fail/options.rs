//! Endpoint options: each mistake is reported at its tokens, says what is accepted, and every
//! mistake in one attribute is reported at once.

use wsendpoint::prelude::*;

// Unknown names list the expected ones, with a suggestion for a near miss.
struct Unknown;
#[server_endpoint("/unknown", origins = "*", ping_intervall = "20s")]
impl Unknown {}

// A value of the wrong shape says which shape is expected.
struct Mistyped;
#[server_endpoint(
    "/mistyped",
    send_queue = "256",
    allowed_origins = any,
    on_overflow = close,
    ping_interval = 20s
)]
impl Mistyped {}

// Sizes: a number and a unit in a string, or a number of bytes.
struct Sizes;
#[server_endpoint("/sizes", max_message_size = "64 parsecs")]
impl Sizes {}

struct SizeWithoutQuotes;
#[server_endpoint("/size-suffix", max_message_size = 64KiB)]
impl SizeWithoutQuotes {}

// Durations: a number and a unit in a string, or "off"; zero is not a way to turn one off.
struct Durations;
#[server_endpoint("/durations", ping_interval = "5 fortnights", idle_timeout = "0s")]
impl Durations {}

// A client that answers every ping must not be closed as idle.
struct IdleBeforePing;
#[server_endpoint("/idle", ping_interval = "30s", idle_timeout = "30s")]
impl IdleBeforePing {}

// Origins are `scheme://host[:port]`, as browsers send them.
struct Origins;
#[server_endpoint(
    "/origins",
    allowed_origins = ["https://app.example/", "app.example", "https://app.example:443"]
)]
impl Origins {}

// An empty list would mean nothing: say so rather than refuse everyone.
struct EmptyLists;
#[server_endpoint("/empty", allowed_origins = [], subprotocols = [])]
impl EmptyLists {}

struct Subprotocols;
#[server_endpoint("/subprotocols", subprotocols = ["v2 json", "v1.json", "v1.json"])]
impl Subprotocols {}

// Each argument at most once; the error is at the second, with a note at the first.
struct Duplicate;
#[server_endpoint("/duplicate", send_queue = 8, send_queue = 16)]
impl Duplicate {}

struct ZeroQueue;
#[server_endpoint("/zero", send_queue = 0)]
impl ZeroQueue {}

// Policies are one of a few strings.
struct Policies;
#[server_endpoint(
    "/policies",
    on_overflow = "drop",
    on_duplicate_key = "kick",
    on_decode_error = "ignore"
)]
impl Policies {}

// A history needs how long it keeps messages; its size alone is an error at the size.
struct SizeOnly;
#[server_endpoint("/size-only", history_size = 100)]
impl SizeOnly {}

struct BadHistory;
#[server_endpoint("/bad-history", history = 120, history_size = 0)]
impl BadHistory {}

fn main() {}

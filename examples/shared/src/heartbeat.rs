//! The demos' heartbeat: the pages' client module sends `{"type":"ping"}` after a silence, a
//! simpler client may send `ping` as plain text, and the demos answer either with [`PONG`].

use serde::Deserialize;

/// The answer to a ping.
pub const PONG: &str = r#"{"type":"pong"}"#;

/// Whether `text` is a ping: `ping` as plain text (surrounding spaces allowed) or a JSON object
/// whose `type` is `"ping"` (other fields ignored).
pub fn is_ping(text: &str) -> bool {
    #[derive(Deserialize)]
    #[serde(tag = "type", rename_all = "lowercase")]
    enum Heartbeat {
        Ping,
    }
    text.trim() == "ping" || serde_json::from_str::<Heartbeat>(text).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_are_plain_text_or_json() {
        for ping in [
            "ping",
            " ping\n",
            r#"{"type":"ping"}"#,
            r#"{"type":"ping","x":1}"#,
        ] {
            assert!(is_ping(ping), "{ping:?}");
        }
        for other in [
            "hello",
            "PING",
            r#"{"type":"pong"}"#,
            r#"{"type":"mine"}"#,
            "{}",
            "",
        ] {
            assert!(!is_ping(other), "{other:?}");
        }
    }

    #[test]
    fn the_pong_is_json() {
        let pong: serde_json::Value = serde_json::from_str(PONG).unwrap();
        assert_eq!(pong, serde_json::json!({ "type": "pong" }));
    }
}

//! The values inside the option literals: sizes (`"64KiB"`), durations (`"20s"`), origins
//! (`"https://app.example"`) and subprotocol names (`"v2.json"`).
//!
//! Each parser works on the literal's text and returns the message of its error, which the
//! caller reports at the literal.

use crate::suggest::did_you_mean;

/// The size units, with their factors: decimal `KB` and `MB`, binary `KiB` and `MiB`.
const SIZE_UNITS: &[(&str, u64)] = &[
    ("B", 1),
    ("KB", 1_000),
    ("KiB", 1_024),
    ("MB", 1_000_000),
    ("MiB", 1_024 * 1_024),
];

/// The duration units, with their length in milliseconds.
const DURATION_UNITS: &[(&str, u64)] = &[("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000)];

/// The accepted forms of a size, for error messages.
pub(crate) const SIZE_FORMS: &str = "a string of a number and a unit (B, KB, KiB, MB or MiB) \
                                     like \"64KiB\", or a number of bytes like 65536";

/// The accepted forms of a duration, for error messages.
pub(crate) const DURATION_FORMS: &str =
    "a string of a number and a unit (ms, s, m or h) like \"20s\", or \"off\"";

/// `"64KiB"` (also `"64 KiB"`) in bytes.
pub(crate) fn size(text: &str) -> Result<u64, String> {
    let (number, unit) = number_and_unit(text)
        .ok_or_else(|| format!("\"{text}\" is not a size: expected {SIZE_FORMS}"))?;
    let factor = unit_factor(unit, SIZE_UNITS).ok_or_else(|| {
        format!(
            "unknown size unit `{unit}` in \"{text}\": expected {SIZE_FORMS}{}",
            hint(unit, SIZE_UNITS)
        )
    })?;
    let bytes = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .ok_or_else(|| format!("\"{text}\" is too large a size"))?;
    if bytes == 0 {
        return Err(format!(
            "\"{text}\" is no size at all: the size must be at least 1 byte"
        ));
    }
    Ok(bytes)
}

/// `"20s"` in milliseconds, or `None` for `"off"`.
pub(crate) fn duration(text: &str) -> Result<Option<u64>, String> {
    if text == "off" {
        return Ok(None);
    }
    let (number, unit) = number_and_unit(text)
        .ok_or_else(|| format!("\"{text}\" is not a duration: expected {DURATION_FORMS}"))?;
    let factor = unit_factor(unit, DURATION_UNITS).ok_or_else(|| {
        format!(
            "unknown duration unit `{unit}` in \"{text}\": expected {DURATION_FORMS}{}",
            hint(unit, DURATION_UNITS)
        )
    })?;
    let millis = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .ok_or_else(|| format!("\"{text}\" is too long a duration"))?;
    if millis == 0 {
        return Err(format!(
            "\"{text}\" is a zero duration: write \"off\" to turn it off"
        ));
    }
    Ok(Some(millis))
}

/// `"20000ms"` as the shortest exact text: `"20s"`.
pub(crate) fn show_duration(millis: u64) -> String {
    let (unit, factor) = DURATION_UNITS
        .iter()
        .rev()
        .find(|(_, factor)| millis % factor == 0)
        .expect("every duration is a whole number of milliseconds");
    format!("{}{unit}", millis / factor)
}

/// Checks that `text` is an origin as browsers send it: `scheme://host[:port]`, without path,
/// user or default port (the runtime compares origins ignoring ASCII case).
pub(crate) fn origin(text: &str) -> Result<(), String> {
    let example = "\"https://app.example\" or \"http://localhost:8080\"";
    let Some((scheme, rest)) = text.split_once("://") else {
        return Err(format!(
            "\"{text}\" is not an origin: write `scheme://host[:port]`, like {example}, \
             or \"*\" for any origin"
        ));
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return Err(format!(
            "\"{text}\" has no valid scheme: write `scheme://host[:port]`, like {example}"
        ));
    }
    if let Some(at) = rest.find(['/', '?', '#']) {
        return Err(format!(
            "\"{text}\" has a path: an origin is only `scheme://host[:port]`; \
             write \"{scheme}://{}\"",
            &rest[..at]
        ));
    }
    if rest.contains('@') {
        return Err(format!(
            "\"{text}\" names a user: an origin is only `scheme://host[:port]`"
        ));
    }
    let (host, port) = split_port(rest);
    let host_ok = if let Some(inner) = host.strip_prefix('[') {
        inner.strip_suffix(']').is_some_and(|ip| {
            !ip.is_empty()
                && ip
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        })
    } else {
        !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    };
    if !host_ok {
        return Err(format!(
            "\"{text}\" has no valid host: write `scheme://host[:port]`, like {example}"
        ));
    }
    let Some(port) = port else { return Ok(()) };
    match port.parse::<u16>() {
        Ok(0) | Err(_) => Err(format!(
            "\"{text}\" has no valid port: a port is a number from 1 to 65535"
        )),
        Ok(port) if default_port(scheme) == Some(port) => Err(format!(
            "\"{text}\" names the default port, which browsers leave out of the origin: \
             write \"{scheme}://{host}\""
        )),
        Ok(_) => Ok(()),
    }
}

/// `("host", Some("8080"))` for `host:8080`; an IPv6 host keeps its brackets.
fn split_port(authority: &str) -> (&str, Option<&str>) {
    let host_end = match authority.rfind(']') {
        Some(end) => end + 1,
        None => 0,
    };
    match authority[host_end..].rfind(':') {
        Some(colon) => {
            let colon = host_end + colon;
            (&authority[..colon], Some(&authority[colon + 1..]))
        }
        None => (authority, None),
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme.to_ascii_lowercase().as_str() {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

/// Checks that `text` is an HTTP token (RFC 9110), which a subprotocol name must be.
pub(crate) fn http_token(text: &str) -> Result<(), String> {
    let allowed = "letters, digits and any of !#$%&'*+-.^_`|~";
    if text.is_empty() {
        return Err(format!(
            "a subprotocol name cannot be empty: it is made of {allowed}"
        ));
    }
    match text.chars().find(|c| !is_tchar(*c)) {
        Some(c) => Err(format!(
            "\"{text}\" is not a valid subprotocol name: {c:?} is not allowed; \
             a name is made of {allowed}"
        )),
        None => Ok(()),
    }
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// `("64", "KiB")` for `"64KiB"` or `"64 KiB"`; `None` without leading digits or a unit.
fn number_and_unit(text: &str) -> Option<(&str, &str)> {
    let digits = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(digits);
    let unit = unit.strip_prefix(' ').unwrap_or(unit);
    (!number.is_empty() && !unit.is_empty()).then_some((number, unit))
}

fn unit_factor(unit: &str, units: &[(&str, u64)]) -> Option<u64> {
    units
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|(_, factor)| *factor)
}

fn hint(unit: &str, units: &[(&str, u64)]) -> String {
    let names: Vec<&str> = units.iter().map(|(name, _)| *name).collect();
    did_you_mean(unit, &names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(size("64KiB"), Ok(65_536));
        assert_eq!(size("64 KiB"), Ok(65_536));
        assert_eq!(size("1KB"), Ok(1_000));
        assert_eq!(size("2MiB"), Ok(2 * 1_048_576));
        assert_eq!(size("3MB"), Ok(3_000_000));
        assert_eq!(size("10B"), Ok(10));
    }

    #[test]
    fn bad_sizes() {
        let e = size("64 parsecs").unwrap_err();
        assert!(e.contains("unknown size unit `parsecs`"), "{e}");
        assert!(e.contains("B, KB, KiB, MB or MiB"), "{e}");
        let e = size("64kib").unwrap_err();
        assert!(e.contains("did you mean `KiB`?"), "{e}");
        assert!(size("0KiB").unwrap_err().contains("at least 1 byte"));
        assert!(size("KiB").unwrap_err().contains("is not a size"));
        assert!(size("65536").unwrap_err().contains("is not a size"));
        assert!(size("1.5MiB").is_err());
        assert!(size("99999999999999999999MiB")
            .unwrap_err()
            .contains("too large"));
    }

    #[test]
    fn durations() {
        assert_eq!(duration("20s"), Ok(Some(20_000)));
        assert_eq!(duration("250ms"), Ok(Some(250)));
        assert_eq!(duration("5m"), Ok(Some(300_000)));
        assert_eq!(duration("1 h"), Ok(Some(3_600_000)));
        assert_eq!(duration("off"), Ok(None));
    }

    #[test]
    fn bad_durations() {
        let e = duration("5 fortnights").unwrap_err();
        assert!(e.contains("unknown duration unit `fortnights`"), "{e}");
        let e = duration("0s").unwrap_err();
        assert!(e.contains("write \"off\""), "{e}");
        let e = duration("20 sec").unwrap_err();
        assert!(e.contains("did you mean `s`?"), "{e}");
        assert!(duration("20").unwrap_err().contains("is not a duration"));
        assert!(duration("Off").is_err());
    }

    #[test]
    fn durations_show_in_their_largest_unit() {
        assert_eq!(show_duration(20_000), "20s");
        assert_eq!(show_duration(120_000), "2m");
        assert_eq!(show_duration(1_500), "1500ms");
        assert_eq!(show_duration(7_200_000), "2h");
    }

    #[test]
    fn origins() {
        for ok in [
            "https://app.example",
            "http://localhost:8080",
            "http://127.0.0.1:3000",
            "http://[::1]:8080",
            "HTTPS://App.Example",
        ] {
            assert_eq!(origin(ok), Ok(()), "{ok}");
        }
        let e = origin("https://app.example/").unwrap_err();
        assert!(e.contains("write \"https://app.example\""), "{e}");
        let e = origin("https://app.example/login?x").unwrap_err();
        assert!(e.contains("has a path"), "{e}");
        assert!(origin("app.example")
            .unwrap_err()
            .contains("is not an origin"));
        assert!(origin("https://").unwrap_err().contains("no valid host"));
        assert!(origin("https://a b").unwrap_err().contains("no valid host"));
        assert!(origin("1http://a").unwrap_err().contains("no valid scheme"));
        assert!(origin("http://a:99999")
            .unwrap_err()
            .contains("no valid port"));
        assert!(origin("http://u@a").unwrap_err().contains("names a user"));
        let e = origin("https://a.example:443").unwrap_err();
        assert!(
            e.contains("default port") && e.contains("\"https://a.example\""),
            "{e}"
        );
    }

    #[test]
    fn tokens() {
        assert_eq!(http_token("v2.json"), Ok(()));
        assert_eq!(http_token("graphql-ws"), Ok(()));
        let e = http_token("v2 json").unwrap_err();
        assert!(e.contains("' ' is not allowed"), "{e}");
        assert!(http_token("a/b").is_err());
        assert!(http_token("").is_err());
    }
}

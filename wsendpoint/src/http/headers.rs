//! The handshake's headers as a session keeps them: one allocation.
//!
//! A session keeps its handshake for its whole life, and idle sessions are most of a server's
//! memory. A `HeaderMap` copy of five headers is ~0.8 KB in seven allocations (its bucket
//! array, its index, one buffer per value); the same headers packed into one buffer take
//! ~0.15 KB. A `HeaderMap` is built only if a handler asks for one.

use axum::http::{HeaderMap, HeaderName, HeaderValue};

/// Header names and values, each prefixed by its length: `u16` for a name (the `http` crate
/// caps names below 64 KiB), `u32` for a value.
#[derive(Default)]
pub(crate) struct StoredHeaders {
    packed: Box<[u8]>,
}

impl StoredHeaders {
    /// Copies `headers`, in order, repeated names included.
    pub(crate) fn copy_of(headers: &HeaderMap) -> Self {
        let len = headers
            .iter()
            .map(|(name, value)| 6 + name.as_str().len() + value.len())
            .sum();
        let mut packed = Vec::with_capacity(len);
        for (name, value) in headers {
            let (name, value) = (name.as_str().as_bytes(), value.as_bytes());
            // Both conversions hold by the `http` crate's limits; a header that broke them
            // would be dropped rather than corrupt the others.
            let (Ok(name_len), Ok(value_len)) =
                (u16::try_from(name.len()), u32::try_from(value.len()))
            else {
                continue;
            };
            packed.extend_from_slice(&name_len.to_le_bytes());
            packed.extend_from_slice(name);
            packed.extend_from_slice(&value_len.to_le_bytes());
            packed.extend_from_slice(value);
        }
        StoredHeaders {
            packed: packed.into_boxed_slice(),
        }
    }

    /// Every `(name, value)` pair in the `HeaderMap`'s order; names are lowercase.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        let mut rest = &self.packed[..];
        std::iter::from_fn(move || {
            let name = take(&mut rest, 2)?;
            let value = take(&mut rest, 4)?;
            // Names were copied from `HeaderName`s: ASCII.
            Some((std::str::from_utf8(name).unwrap_or_default(), value))
        })
    }

    /// The first value of the header `name` (any case).
    pub(crate) fn get(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(stored, _)| stored.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    }

    /// A `HeaderMap` holding the same headers.
    pub(crate) fn to_map(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in self.iter() {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_bytes(value),
            ) {
                map.append(name, value);
            }
        }
        map
    }
}

/// Takes one length-prefixed field (a little-endian length of `width` bytes, then the bytes).
fn take<'a>(rest: &mut &'a [u8], width: usize) -> Option<&'a [u8]> {
    let (len, after) = rest.split_at_checked(width)?;
    let len = len
        .iter()
        .rev()
        .fold(0usize, |n, &b| n << 8 | usize::from(b));
    let (field, after) = after.split_at_checked(len)?;
    *rest = after;
    Some(field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_every_header_in_order_with_repeats() {
        let mut map = HeaderMap::new();
        map.append("host", HeaderValue::from_static("example.com"));
        map.append("cookie", HeaderValue::from_static("a=1"));
        map.append("cookie", HeaderValue::from_static("b=2"));
        map.append("x-empty", HeaderValue::from_static(""));
        map.append("x-bytes", HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap());
        let stored = StoredHeaders::copy_of(&map);

        let pairs: Vec<_> = stored.iter().collect();
        assert_eq!(
            pairs,
            [
                ("host", &b"example.com"[..]),
                ("cookie", b"a=1"),
                ("cookie", b"b=2"),
                ("x-empty", b""),
                ("x-bytes", b"caf\xc3\xa9"),
            ]
        );
        assert_eq!(stored.get("Cookie"), Some(&b"a=1"[..]));
        assert_eq!(stored.get("x-empty"), Some(&b""[..]));
        assert_eq!(stored.get("missing"), None);
        assert_eq!(stored.to_map(), map);
    }

    #[test]
    fn holds_long_values_and_no_headers() {
        let long = "v".repeat(70_000);
        let mut map = HeaderMap::new();
        map.insert("x-long", HeaderValue::from_str(&long).unwrap());
        assert_eq!(
            StoredHeaders::copy_of(&map).get("x-long"),
            Some(long.as_bytes())
        );
        assert_eq!(StoredHeaders::copy_of(&HeaderMap::new()).iter().count(), 0);
    }
}

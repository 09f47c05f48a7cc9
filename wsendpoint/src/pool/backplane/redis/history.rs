//! A key's history in Redis: two Lua scripts and the parsing of their answers.
//!
//! A history is a stream of entries (ids `0-<offset>`, fields `d`, the entry, and `t`, when
//! Redis added it, in ms) and a hash (`e`, the epoch, and `o`, the last offset). Each script is
//! one atomic step on both keys: recording and publishing cannot interleave with another record,
//! so subscribers receive a history's entries in offset order. On a Redis Cluster both keys and
//! the channel share a hash tag, so the script runs on the shard that owns the channel, where
//! `SPUBLISH` reaches its subscribers.
//!
//! The hash outlives the stream (at least [`META_TTL`]): a client whose position is the last
//! offset still hears "nothing missed" after the entries expired, where a lost epoch would tell
//! it that it may have missed something.

use std::sync::LazyLock;
use std::time::Duration;

use axum::body::Bytes;
use redis::{FromRedisValue, ParsingError, Script, ScriptInvocation, Value};

use super::millis;
use crate::base::config::HistoryConfig;
use crate::pool::backplane::{HistoryNames, HistoryPage, Recorded};

/// The shortest life of a history's epoch and last offset, however short its entries' life.
const META_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// Appends an entry, trims, refreshes both lifetimes, and publishes the entry with its
/// position; `{epoch, offset, receivers}`.
///
/// KEYS: entries, meta. ARGV: new epoch, entry, size, entries' ttl (ms), meta's ttl (ms),
/// publish command, channel. A history without an epoch starts one and drops the entries of
/// the lost one. Offsets are formatted with `%d`: Lua's numbers print as `1e+14` from there.
///
/// The cluster client sends a script again when its connection failed under it, and it may
/// have run already: an entry whose digest is the last one recorded (`l`) is that retry, and
/// is not recorded twice (every entry is unique: the hub numbers them).
static RECORD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "local epoch = redis.call('HGET', KEYS[2], 'e')
         if not epoch then
           epoch = ARGV[1]
           redis.call('HSET', KEYS[2], 'e', epoch)
           redis.call('DEL', KEYS[1])
         end
         local digest = redis.sha1hex(ARGV[2])
         if redis.call('HGET', KEYS[2], 'l') == digest then
           return {epoch, tonumber(redis.call('HGET', KEYS[2], 'o')), 0}
         end
         redis.call('HSET', KEYS[2], 'l', digest)
         local offset = redis.call('HINCRBY', KEYS[2], 'o', 1)
         local position = string.format('%d', offset)
         local time = redis.call('TIME')
         local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
         redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[3], '0-' .. position,
                    'd', ARGV[2], 't', string.format('%d', now))
         redis.call('PEXPIRE', KEYS[1], ARGV[4])
         redis.call('PEXPIRE', KEYS[2], ARGV[5])
         local receivers = redis.call(ARGV[6], ARGV[7], ARGV[2] .. epoch .. ':' .. position)
         return {epoch, offset, receivers}",
    )
});

/// Reads the entries after an offset that are younger than the ttl; `{epoch, top, offset,
/// entry, offset, entry, ...}`, offsets as strings.
///
/// KEYS: entries, meta. ARGV: new epoch, the offset read after, the first id to read (that
/// offset + 1, computed exactly in Rust), entries' ttl (ms), meta's ttl (ms). A history without
/// an epoch starts one at offset 0. The stream is in time order, so the entries too old are a
/// prefix: once one is young enough, the rest are kept, and a clock that stepped back makes no
/// hole.
static READ: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "local epoch = redis.call('HGET', KEYS[2], 'e')
         if not epoch then
           epoch = ARGV[1]
           redis.call('HSET', KEYS[2], 'e', epoch, 'o', 0)
           redis.call('PEXPIRE', KEYS[2], ARGV[5])
           redis.call('DEL', KEYS[1])
         end
         local top = redis.call('HGET', KEYS[2], 'o') or '0'
         local page = {epoch, top}
         if tonumber(ARGV[2]) >= tonumber(top) then
           return page
         end
         local time = redis.call('TIME')
         local oldest = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
                        - tonumber(ARGV[4])
         local keeping = false
         for _, entry in ipairs(redis.call('XRANGE', KEYS[1], ARGV[3], '+')) do
           local data, added = '', 0
           local fields = entry[2]
           for i = 1, #fields, 2 do
             if fields[i] == 'd' then data = fields[i + 1] end
             if fields[i] == 't' then added = tonumber(fields[i + 1]) end
           end
           keeping = keeping or added >= oldest
           if keeping then
             page[#page + 1] = string.sub(entry[1], 3)
             page[#page + 1] = data
           end
         end
         return page",
    )
});

/// The [`RECORD`] of `entry` on `history`, published on `channel` with `publish_command`.
pub(super) fn record(
    history: &HistoryNames,
    channel: &str,
    entry: &[u8],
    retention: HistoryConfig,
    new_epoch: &str,
    publish_command: &str,
) -> ScriptInvocation<'static> {
    let mut invocation = RECORD.key(&history.entries);
    invocation
        .key(&history.meta)
        .arg(new_epoch)
        .arg(entry)
        .arg(retention.size)
        .arg(millis(retention.ttl))
        .arg(millis(meta_ttl(retention.ttl)))
        .arg(publish_command)
        .arg(channel);
    invocation
}

/// The [`READ`] of `history` after offset `after`.
pub(super) fn read(
    history: &HistoryNames,
    after: u64,
    retention: HistoryConfig,
    new_epoch: &str,
) -> ScriptInvocation<'static> {
    let mut invocation = READ.key(&history.entries);
    invocation
        .key(&history.meta)
        .arg(new_epoch)
        .arg(after)
        .arg(format!("0-{}", after.saturating_add(1)))
        .arg(millis(retention.ttl))
        .arg(millis(meta_ttl(retention.ttl)));
    invocation
}

/// How long a history's epoch and last offset live: at least as long as its entries.
fn meta_ttl(ttl: Duration) -> Duration {
    ttl.max(META_TTL)
}

/// [`RECORD`]'s answer: `{epoch, offset, receivers}`.
pub(super) fn recorded(answer: Value) -> Result<Recorded, ParsingError> {
    let (epoch, offset, receivers) = <(String, u64, usize)>::from_redis_value(answer)?;
    Ok(Recorded {
        epoch,
        offset,
        receivers,
    })
}

/// [`READ`]'s answer: `{epoch, top, offset, entry, ...}`.
pub(super) fn page(answer: Value) -> Result<HistoryPage, ParsingError> {
    let Value::Array(items) = answer else {
        return Err("a history page is an array".into());
    };
    let mut items = items.into_iter();
    let (Some(epoch), Some(top)) = (items.next(), items.next()) else {
        return Err("a history page starts with its epoch and top".into());
    };
    Ok(HistoryPage {
        epoch: String::from_redis_value(epoch)?,
        top: u64::from_redis_value(top)?,
        entries: entries(items.as_slice())?,
    })
}

/// The offsets and entries of a page, in pairs.
fn entries(items: &[Value]) -> Result<Vec<(u64, Bytes)>, ParsingError> {
    let pairs = items.chunks_exact(2);
    if !pairs.remainder().is_empty() {
        return Err("a history entry without its offset".into());
    }
    pairs
        .map(|pair| {
            let offset = u64::from_redis_value_ref(&pair[0])?;
            let entry = Vec::<u8>::from_redis_value_ref(&pair[1])?;
            Ok((offset, Bytes::from(entry)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(bytes: &[u8]) -> Value {
        Value::BulkString(bytes.to_vec())
    }

    #[test]
    fn a_page_keeps_binary_entries_with_their_offsets() {
        let answer = Value::Array(vec![
            bulk(b"E"),
            bulk(b"3"),
            bulk(b"2"),
            bulk(&[0, 0xff]),
            bulk(b"3"),
            bulk(b""),
        ]);
        let page = page(answer).unwrap();
        assert_eq!(page.epoch, "E");
        assert_eq!(page.top, 3);
        let expected = vec![(2, Bytes::from_static(&[0, 0xff])), (3, Bytes::new())];
        assert_eq!(page.entries, expected);
    }

    #[test]
    fn a_page_without_entries_or_with_an_odd_one_out() {
        let empty = page(Value::Array(vec![bulk(b"E"), Value::Int(0)])).unwrap();
        assert_eq!((empty.top, empty.entries.len()), (0, 0));
        let odd = Value::Array(vec![bulk(b"E"), bulk(b"1"), bulk(b"1")]);
        assert!(page(odd).is_err());
        assert!(page(Value::Nil).is_err());
    }

    #[test]
    fn a_record_answer_is_its_position_and_receivers() {
        let answer = Value::Array(vec![bulk(b"E"), Value::Int(7), Value::Int(2)]);
        let expected = Recorded {
            epoch: "E".into(),
            offset: 7,
            receivers: 2,
        };
        assert_eq!(recorded(answer).unwrap(), expected);
    }

    #[test]
    fn the_epoch_outlives_short_entries() {
        assert_eq!(meta_ttl(Duration::from_secs(1)), META_TTL);
        let long = Duration::from_secs(3 * 24 * 60 * 60);
        assert_eq!(meta_ttl(long), long);
    }
}

//! The proof of work itself, free of any networking: find a nonce whose SHA-256 hash of
//! `prefix + nonce` starts with `difficulty` zero hex digits.
//!
//! It is plain, synchronous, CPU-bound code on purpose: the caller runs it on a blocking thread
//! and hears from it only through the `progress` callback, which is also how it is cancelled.
//! Keeping it pure makes it testable without a server and keeps the async side free of hashing.

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// The easiest difficulty accepted: one leading zero hex digit (1 in 16 hashes qualifies).
pub const MIN_DIFFICULTY: u32 = 1;
/// The hardest difficulty accepted. Each step costs 16× more work: 7 takes ~2.7e8 hashes on
/// average, ~15 s on one core in a release build (~18 M hashes/s) but over ten minutes in a
/// debug build (~0.35 M hashes/s). Anything harder would let one HTTP request pin a core for
/// hours.
pub const MAX_DIFFICULTY: u32 = 7;
/// What `POST /mine/<key>` uses when the query names no difficulty.
pub const DEFAULT_DIFFICULTY: u32 = 4;
/// The shortest time between two progress reports, so a fast miner cannot flood the client.
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);
/// How many hashes are tried between two looks at the clock: reading it on every hash would
/// cost more than the hash; 1024 hashes take well under a millisecond.
const CLOCK_EVERY: u64 = 1024;

/// A block found by [`mine`]: `hash` is the SHA-256 of `header`, which ends with `nonce`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mined {
    /// The nonce that made the hash good enough.
    pub nonce: u64,
    /// Lower-case hex SHA-256 of `header`; starts with the requested number of `0`s.
    pub hash: String,
    /// Hashes computed, the successful one included (`nonce + 1`, since nonces start at 0).
    pub attempts: u64,
    /// The exact string that was hashed: the prefix followed by the nonce in decimal.
    pub header: String,
}

/// Checks that `difficulty` is within [`MIN_DIFFICULTY`]`..=`[`MAX_DIFFICULTY`].
///
/// The error is a sentence meant for the HTTP client that asked for it.
pub fn check_difficulty(difficulty: u32) -> Result<u32, String> {
    if (MIN_DIFFICULTY..=MAX_DIFFICULTY).contains(&difficulty) {
        Ok(difficulty)
    } else {
        Err(format!(
            "difficulty must be from {MIN_DIFFICULTY} to {MAX_DIFFICULTY}, got {difficulty}"
        ))
    }
}

/// The block header of a job without its nonce: what [`mine`] appends nonces to.
///
/// The key, job id and timestamp make every job's search unique, so two jobs never find the
/// same block and a result cannot be precomputed.
pub fn header(key: &str, job_id: &str, timestamp_ms: u64) -> String {
    format!("key={key};job={job_id};ts={timestamp_ms};nonce=")
}

/// The lower-case hex SHA-256 of `text`: what a client can recompute to check a result.
#[allow(
    dead_code,
    reason = "the demo never re-hashes; tests and clients that check a result do"
)]
pub fn sha256_hex(text: &str) -> String {
    to_hex(&Sha256::digest(text.as_bytes()))
}

/// How many `0` hex digits `hash` (a hex string, as in [`Mined::hash`]) starts with.
pub fn leading_zero_hex_digits(hash: &str) -> u32 {
    // A hex string has at most 64 digits here, and never more than u32::MAX.
    hash.bytes().take_while(|&digit| digit == b'0').count() as u32
}

/// Searches nonces 0, 1, 2, … until `SHA-256(prefix + nonce)` has `difficulty` leading zero
/// hex digits.
///
/// `progress` is called with the number of hashes tried so far: once with 0 at the start (so a
/// client hears that the job began even when it ends within milliseconds), then at most every
/// [`PROGRESS_INTERVAL`]. Returning [`ControlFlow::Break`] stops the search, and `mine` returns
/// `None`; it also returns `None` if every nonce below `u64::MAX` failed, which no accepted
/// difficulty can reach in practice.
///
/// `difficulty` is not re-checked: above 64 nothing can match, so check it with
/// [`check_difficulty`] first.
pub fn mine(
    prefix: &str,
    difficulty: u32,
    mut progress: impl FnMut(u64) -> ControlFlow<()>,
) -> Option<Mined> {
    if progress(0).is_break() {
        return None;
    }
    // The prefix is the same for every attempt: hash it once and clone the state per nonce.
    let mut prefixed = Sha256::new();
    prefixed.update(prefix.as_bytes());
    let mut last_report = Instant::now();
    let mut digits = [0u8; 20];

    for attempts in 1..=u64::MAX {
        let nonce = attempts - 1;
        let digest = prefixed
            .clone()
            .chain_update(decimal(nonce, &mut digits))
            .finalize();
        if leading_zero_nibbles(&digest) >= difficulty {
            return Some(Mined {
                nonce,
                hash: to_hex(&digest),
                attempts,
                header: format!("{prefix}{nonce}"),
            });
        }
        if attempts % CLOCK_EVERY == 0 && last_report.elapsed() >= PROGRESS_INTERVAL {
            if progress(attempts).is_break() {
                return None;
            }
            last_report = Instant::now();
        }
    }
    None
}

/// Leading zero hex digits of raw digest bytes: the hot-loop twin of
/// [`leading_zero_hex_digits`], without formatting the hash as hex first.
fn leading_zero_nibbles(bytes: &[u8]) -> u32 {
    let mut count = 0;
    for &byte in bytes {
        if byte == 0 {
            count += 2;
        } else {
            if byte < 0x10 {
                count += 1;
            }
            break;
        }
    }
    count
}

/// Writes `n` in decimal into the end of `buf` and returns those digits, allocation-free.
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut start = buf.len();
    loop {
        start -= 1;
        buf[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[start..];
        }
    }
}

fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_leading_zero_hex_digits() {
        assert_eq!(leading_zero_hex_digits("ffff"), 0);
        assert_eq!(leading_zero_hex_digits("0fff"), 1);
        assert_eq!(leading_zero_hex_digits("000a"), 3);
        assert_eq!(leading_zero_hex_digits("0000"), 4);
        assert_eq!(leading_zero_hex_digits(""), 0);
    }

    #[test]
    fn nibbles_agree_with_hex_digits() {
        for bytes in [
            &[0xff, 0x00][..],
            &[0x0f, 0xff],
            &[0x00, 0x0a],
            &[0x00, 0xa0],
            &[0x00, 0x00, 0x01],
            &[0x00, 0x00],
        ] {
            assert_eq!(
                leading_zero_nibbles(bytes),
                leading_zero_hex_digits(&to_hex(bytes)),
                "{bytes:02x?}"
            );
        }
    }

    #[test]
    fn writes_decimals() {
        let mut buf = [0u8; 20];
        for n in [0, 7, 10, 12345, u64::MAX] {
            assert_eq!(decimal(n, &mut buf), n.to_string().as_bytes());
        }
    }

    #[test]
    fn sha256_matches_a_known_vector() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn bounds_the_difficulty() {
        assert!(check_difficulty(0).is_err());
        assert_eq!(check_difficulty(MIN_DIFFICULTY), Ok(MIN_DIFFICULTY));
        assert_eq!(check_difficulty(MAX_DIFFICULTY), Ok(MAX_DIFFICULTY));
        let error = check_difficulty(MAX_DIFFICULTY + 1).unwrap_err();
        assert!(error.contains("from 1 to 7"), "{error}");
    }

    #[test]
    fn mines_a_block_that_checks_out() {
        let prefix = header("alice", "1", 1_700_000_000_000);
        let mined = mine(&prefix, 3, |_| ControlFlow::Continue(())).expect("a block");
        assert_eq!(mined.header, format!("{prefix}{}", mined.nonce));
        assert_eq!(mined.hash, sha256_hex(&mined.header));
        assert!(leading_zero_hex_digits(&mined.hash) >= 3, "{}", mined.hash);
        assert_eq!(mined.attempts, mined.nonce + 1);
        // The first good nonce: no smaller one qualifies.
        for nonce in 0..mined.nonce {
            assert!(leading_zero_hex_digits(&sha256_hex(&format!("{prefix}{nonce}"))) < 3);
        }
    }

    #[test]
    fn reports_progress_from_zero_and_never_backwards() {
        let mut reports = Vec::new();
        let prefix = header("bob", "2", 0);
        let mined = mine(&prefix, 2, |attempts| {
            reports.push(attempts);
            ControlFlow::Continue(())
        })
        .expect("a block");
        assert_eq!(reports.first(), Some(&0));
        assert!(reports.windows(2).all(|w| w[0] < w[1]), "{reports:?}");
        assert!(reports.iter().all(|&a| a <= mined.attempts));
    }

    #[test]
    fn stops_when_asked() {
        // Difficulty 64 never succeeds; the callback cancels at the first timed report.
        let mut calls = 0;
        let result = mine(&header("carol", "3", 0), 64, |attempts| {
            calls += 1;
            if attempts > 0 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        assert_eq!(result, None);
        assert_eq!(calls, 2);
        assert_eq!(mine("x", 1, |_| ControlFlow::Break(())), None);
    }
}

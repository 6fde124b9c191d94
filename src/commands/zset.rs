//! The sorted-set family, single-key commands: ZADD, ZINCRBY, ZREM, ZCARD, ZSCORE, ZMSCORE,
//! ZCOUNT, ZLEXCOUNT, ZRANK, ZREVRANK, ZPOPMIN, ZPOPMAX, ZMPOP, ZRANDMEMBER, ZSCAN and the
//! ZREMRANGEBY* commands, with Redis 7.0's argument checks, error order and reply shapes.
//! Ranges live in `zset_range`, the multi-key algebra in `zset_algebra`; the parsing and
//! reply helpers all three share are here.
//!
//! Writes go through [`Locked::zset_write`], which logs the members with their resulting
//! scores (ZINCRBY and ZADD INCR log the sum, never the increment) or the members removed
//! (ZPOP*, ZREMRANGEBY* log the members they took), so replay never recomputes anything.

use super::*;
use crate::keyspace::{LexBound, Locked, ScoreBound, WrongType, ZSetObj};

pub const ERR_SCORE_NAN: &str = "ERR resulting score is not a number (NaN)";
pub const ERR_MINMAX_FLOAT: &str = "ERR min or max is not a float";
pub const ERR_MINMAX_LEX: &str = "ERR min or max not valid string range item";

pub(super) const WF: &[&str] = &["write", "fast"];
pub(super) const WFD: &[&str] = &["write", "denyoom", "fast"];
pub(super) const WD: &[&str] = &["write", "denyoom"];
pub(super) const WO: &[&str] = &["write"];
pub(super) const RF: &[&str] = &["readonly", "fast"];
pub(super) const RO: &[&str] = &["readonly"];
pub(super) const ACL_WF: &[&str] = &["@write", "@sortedset", "@fast"];
pub(super) const ACL_W: &[&str] = &["@write", "@sortedset", "@slow"];
pub(super) const ACL_RF: &[&str] = &["@read", "@sortedset", "@fast"];
pub(super) const ACL_R: &[&str] = &["@read", "@sortedset", "@slow"];

/// A sorted-set command's spec: the `sorted_set` group, with Redis's `since` version.
#[allow(clippy::too_many_arguments)]
pub(super) const fn zset_spec(
    name: &'static str,
    arity: i32,
    flags: &'static [&'static str],
    keys: (i32, i32, i32),
    acl: &'static [&'static str],
    since: &'static str,
    summary: &'static str,
    handler: Handler,
) -> CommandSpec {
    CommandSpec {
        since,
        ..spec(
            name,
            arity,
            flags,
            keys,
            acl,
            Scope::Keys,
            "sorted_set",
            summary,
            handler,
        )
    }
}

pub const COMMANDS: &[CommandSpec] = &[];

// ---- parsing ----------------------------------------------------------------------------------

/// C's `strtod` over the whole argument, as Redis's `getDoubleFromObject` reads a score: no
/// leading space, nothing left over, not NaN, and no overflow to infinity or underflow to zero
/// (`inf`, `-inf`, `+inf`, `infinity` in any case are accepted; subnormals too).
pub fn parse_score(b: &[u8]) -> Option<f64> {
    if b.first().is_none_or(|c| c.is_ascii_whitespace()) {
        return None;
    }
    let v = strtod_whole(b)?;
    if v.is_nan() {
        return None;
    }
    let s = std::str::from_utf8(b).ok()?;
    let spelled_inf = s.to_ascii_lowercase().contains("inf");
    if v.is_infinite() && !spelled_inf {
        return None; // ERANGE overflow
    }
    if v == 0.0 && mantissa_has_nonzero_digit(s) {
        return None; // ERANGE underflow to zero
    }
    Some(v)
}

/// `strtod` of the whole text (Rust's parser covers strtod's decimal and inf forms; the hex
/// forms are refused). None if anything is left over.
fn strtod_whole(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?;
    let lower = s.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if body.starts_with("nan") || body.contains('x') {
        return None;
    }
    s.parse::<f64>().ok()
}

fn mantissa_has_nonzero_digit(s: &str) -> bool {
    let mant = s.split(['e', 'E']).next().unwrap_or("");
    mant.bytes().any(|c| (b'1'..=b'9').contains(&c))
}

/// One end of a score range (`zslParseRange`): `(x` is exclusive; the number is read by
/// `strtod` with leading spaces skipped and overflow allowed, NaN refused.
pub fn parse_score_bound(b: &[u8]) -> Option<ScoreBound> {
    let (exclusive, rest) = match b.first() {
        Some(b'(') => (true, &b[1..]),
        _ => (false, b),
    };
    let start = rest
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(rest.len());
    let text = &rest[start..];
    let value = if text.is_empty() {
        // strtod converts nothing and stops at the end: Redis takes it as 0.
        0.0
    } else {
        strtod_whole(text)?
    };
    if value.is_nan() {
        return None;
    }
    Some(ScoreBound { value, exclusive })
}

/// One end of a lex range (`zslParseLexRangeItem`): `-`, `+`, `[member`, `(member`.
pub fn parse_lex_bound(b: &[u8]) -> Option<LexBound> {
    match b.first() {
        Some(b'+') if b.len() == 1 => Some(LexBound::PosInf),
        Some(b'-') if b.len() == 1 => Some(LexBound::NegInf),
        Some(b'(') => Some(LexBound::Exclusive(Bytes::copy_from_slice(&b[1..]))),
        Some(b'[') => Some(LexBound::Inclusive(Bytes::copy_from_slice(&b[1..]))),
        _ => None,
    }
}

// ---- lookups and replies -----------------------------------------------------------------------

/// One sorted set read as Redis's `lookupKeyRead` reads it (counted in keyspace_hits/misses;
/// a key of another kind counts as a hit).
pub fn read_zset<'k>(
    c_stats: &crate::server::Stats,
    ks: &'k mut Locked<'_>,
    db: DbIndex,
    key: &[u8],
    now_ms: u64,
) -> Result<Option<&'k ZSetObj>, WrongType> {
    use std::sync::atomic::Ordering;
    let r = ks.get_zset(db, key, now_ms);
    let counter = if matches!(r, Ok(None)) {
        &c_stats.keyspace_misses
    } else {
        &c_stats.keyspace_hits
    };
    counter.fetch_add(1, Ordering::Relaxed);
    r
}

/// Writes `items` as Redis's range replies do: members only, or with scores a flat
/// `[m, s, m, s ...]` array in RESP2 and an array of `[m, s]` pairs in RESP3.
pub fn reply_scored<'a>(
    out: &mut ReplyWriter,
    items: impl ExactSizeIterator<Item = (&'a [u8], f64)>,
    withscores: bool,
) {
    let n = items.len();
    if !withscores {
        out.array(n);
        for (m, _) in items {
            out.bulk(m);
        }
    } else if out.resp3 {
        out.array(n);
        for (m, s) in items {
            out.array(2);
            out.bulk(m);
            out.score(s);
        }
    } else {
        out.array(n * 2);
        for (m, s) in items {
            out.bulk(m);
            out.score(s);
        }
    }
}

#[cfg(test)]
mod parse_tests {
    use super::*;

    #[test]
    fn scores_parse_as_redis_reads_them() {
        for (text, want) in [
            ("1", 1.0),
            ("-1.5", -1.5),
            ("+2", 2.0),
            (".5", 0.5),
            ("5.", 5.0),
            ("1e3", 1000.0),
            ("inf", f64::INFINITY),
            ("-INF", f64::NEG_INFINITY),
            ("+infinity", f64::INFINITY),
            ("5e-324", 5e-324),
        ] {
            assert_eq!(parse_score(text.as_bytes()), Some(want), "{text}");
        }
        for bad in ["", " 1", "1 ", "nan", "-nan", "abc", "1e400", "1e-400", "0x10", "1,5"] {
            assert_eq!(parse_score(bad.as_bytes()), None, "{bad:?}");
        }
        assert_eq!(parse_score(b"0"), Some(0.0));
        assert_eq!(parse_score(b"0e-500"), Some(0.0));
    }

    #[test]
    fn bounds_parse_as_redis_reads_them() {
        let b = |t: &str| parse_score_bound(t.as_bytes());
        assert_eq!(b("(1.5"), Some(ScoreBound { value: 1.5, exclusive: true }));
        assert_eq!(b("-inf").map(|x| x.value), Some(f64::NEG_INFINITY));
        assert_eq!(b("1e400").map(|x| x.value), Some(f64::INFINITY));
        assert_eq!(b("(").map(|x| x.value), Some(0.0));
        assert_eq!(b("nan"), None);
        assert_eq!(b("1x"), None);
        assert_eq!(parse_lex_bound(b"+"), Some(LexBound::PosInf));
        assert_eq!(parse_lex_bound(b"+a"), None);
        assert_eq!(parse_lex_bound(b"a"), None);
        assert_eq!(parse_lex_bound(b"(").map(|_| ()), Some(()));
    }
}

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
use crate::keyspace::{LexBound, Limits, Locked, ScoreBound, WrongType, ZDelta, ZSetObj};

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
    keyed_spec(
        "sorted-set",
        name,
        arity,
        flags,
        keys,
        acl,
        since,
        summary,
        handler,
    )
}

pub const COMMANDS: &[CommandSpec] = &[
    zset_spec(
        "zadd",
        -4,
        WFD,
        ONE_KEY,
        ACL_WF,
        "1.2.0",
        "Add one or more members to a sorted set, or update its score if it already exists",
        zadd,
    ),
    zset_spec(
        "zincrby",
        4,
        WFD,
        ONE_KEY,
        ACL_WF,
        "1.2.0",
        "Increment the score of a member in a sorted set",
        zincrby,
    ),
    zset_spec(
        "zrem",
        -3,
        WF,
        ONE_KEY,
        ACL_WF,
        "1.2.0",
        "Remove one or more members from a sorted set",
        zrem,
    ),
    zset_spec(
        "zcard",
        2,
        RF,
        ONE_KEY,
        ACL_RF,
        "1.2.0",
        "Get the number of members in a sorted set",
        zcard,
    ),
    zset_spec(
        "zscore",
        3,
        RF,
        ONE_KEY,
        ACL_RF,
        "1.2.0",
        "Get the score associated with the given member in a sorted set",
        zscore,
    ),
    zset_spec(
        "zmscore",
        -3,
        RF,
        ONE_KEY,
        ACL_RF,
        "6.2.0",
        "Get the score associated with the given members in a sorted set",
        zmscore,
    ),
    zset_spec(
        "zcount",
        4,
        RF,
        ONE_KEY,
        ACL_RF,
        "2.0.0",
        "Count the members in a sorted set with scores within the given values",
        zcount,
    ),
    zset_spec(
        "zlexcount",
        4,
        RF,
        ONE_KEY,
        ACL_RF,
        "2.8.9",
        "Count the number of members in a sorted set between a given lexicographical range",
        zlexcount,
    ),
    zset_spec(
        "zrank",
        3,
        RF,
        ONE_KEY,
        ACL_RF,
        "2.0.0",
        "Determine the index of a member in a sorted set",
        zrank,
    ),
    zset_spec(
        "zrevrank",
        3,
        RF,
        ONE_KEY,
        ACL_RF,
        "2.0.0",
        "Determine the index of a member in a sorted set, with scores ordered from high to low",
        zrevrank,
    ),
    zset_spec(
        "zremrangebyrank",
        4,
        WO,
        ONE_KEY,
        ACL_W,
        "2.0.0",
        "Remove all members in a sorted set within the given indexes",
        zremrangebyrank,
    ),
    zset_spec(
        "zremrangebyscore",
        4,
        WO,
        ONE_KEY,
        ACL_W,
        "1.2.0",
        "Remove all members in a sorted set within the given scores",
        zremrangebyscore,
    ),
    zset_spec(
        "zremrangebylex",
        4,
        WO,
        ONE_KEY,
        ACL_W,
        "2.8.9",
        "Remove all members in a sorted set between the given lexicographical range",
        zremrangebylex,
    ),
];

// ---- parsing ----------------------------------------------------------------------------------

/// C's `strtod` over the whole argument, as Redis's `string2d` reads a score: no leading
/// space, nothing left over, not NaN, and no overflow to infinity or underflow to zero
/// (`inf`, `-inf`, `+inf`, `infinity` in any case are accepted; subnormals and C99 hex floats
/// such as `0x10`, `0x1p3`, `-0x1.8p1` too).
pub fn parse_score(b: &[u8]) -> Option<f64> {
    if b.first().is_none_or(|c| is_c_space(*c)) {
        return None;
    }
    match strtod_whole(b)? {
        (v, false) if !v.is_nan() => Some(v),
        _ => None,
    }
}

/// C's `isspace` in the C locale (Rust's `is_ascii_whitespace` leaves out `\v`).
fn is_c_space(c: u8) -> bool {
    c.is_ascii_whitespace() || c == 0x0b
}

/// `strtod` of the whole text, which must not start with a space: the value and whether
/// strtod would have set `ERANGE` with an infinite or zero result (overflow, or underflow to
/// zero). None if the text is not one number with nothing left over.
fn strtod_whole(b: &[u8]) -> Option<(f64, bool)> {
    let (negative, body) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    if body.len() > 1 && body[0] == b'0' && (body[1] | 0x20) == b'x' {
        let (v, erange) = hex_float(&body[2..])?;
        return Some((if negative { -v } else { v }, erange));
    }
    let s = std::str::from_utf8(b).ok()?;
    // Rust's parser covers strtod's decimal, inf and nan forms; it also takes a sign after
    // the sign ("+-1") as nothing valid, like strtod.
    if body
        .first()
        .is_some_and(|c| !(c.is_ascii_digit() || matches!(c, b'.' | b'i' | b'I' | b'n' | b'N')))
    {
        return None;
    }
    let v = s.parse::<f64>().ok()?;
    let spelled_inf = body.first().is_some_and(|c| (c | 0x20) == b'i');
    let erange = (v.is_infinite() && !spelled_inf) || (v == 0.0 && mantissa_has_nonzero_digit(s));
    Some((v, erange))
}

fn mantissa_has_nonzero_digit(s: &str) -> bool {
    let mant = s.split(['e', 'E']).next().unwrap_or("");
    mant.bytes().any(|c| (b'1'..=b'9').contains(&c))
}

/// The digits of a C99 hex float after `0x`: `h*[.h*]` with at least one digit, then an
/// optional `p[+-]d+` binary exponent; correctly rounded (to nearest, ties to even) as glibc's
/// strtod rounds it. Returns the magnitude and whether it overflowed or underflowed to zero.
fn hex_float(t: &[u8]) -> Option<(f64, bool)> {
    let mut mant: u64 = 0; // the leading hex digits kept (at most 15, 60 bits)
    let mut exp: i64 = 0; // value = mant * 2^exp (+ sticky bits below)
    let mut sticky = false;
    let mut digits = 0usize;
    let mut seen_point = false;
    let mut i = 0;
    while i < t.len() {
        let c = t[i];
        if c == b'.' && !seen_point {
            seen_point = true;
        } else if let Some(d) = (c as char).to_digit(16) {
            digits += 1;
            if mant >> 56 == 0 {
                mant = (mant << 4) | u64::from(d);
                if seen_point {
                    exp -= 4;
                }
            } else {
                sticky |= d != 0;
                if !seen_point {
                    exp += 4;
                }
            }
        } else {
            break;
        }
        i += 1;
    }
    if digits == 0 {
        return None; // strtod reads just the "0" and leaves the "x" over
    }
    if i < t.len() {
        if (t[i] | 0x20) != b'p' {
            return None;
        }
        let (neg, ds) = match t.get(i + 1) {
            Some(b'-') => (true, &t[i + 2..]),
            Some(b'+') => (false, &t[i + 2..]),
            _ => (false, &t[i + 1..]),
        };
        if ds.is_empty() || !ds.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let mut e: i64 = 0;
        for &d in ds {
            e = (e * 10 + i64::from(d - b'0')).min(1 << 40);
        }
        exp += if neg { -e } else { e };
    }
    if mant == 0 {
        // Only zero digits kept means only zero digits given (the sticky bits need a nonzero
        // leading digit to start dropping): an exact zero.
        return Some((0.0, false));
    }
    let top = exp + 63 - i64::from(mant.leading_zeros()); // exponent of the leading bit
    if top > 1023 {
        return Some((f64::INFINITY, true));
    }
    // The exponent of the last bit an f64 keeps at this magnitude (subnormals stop at -1074).
    let mut lsb = (top - 52).max(-1074);
    let shift = lsb - exp;
    let mut q: u64 = if shift <= 0 {
        // Exact: mant has no more significant bits than the f64 keeps (and no sticky bits,
        // which only appear once 57+ bits are kept), so q < 2^53.
        mant << (-shift)
    } else {
        let (q, rem, half) = if shift >= 64 {
            (0, mant, u64::MAX) // mant < 2^60 <= half: rounds down to 0
        } else {
            (mant >> shift, mant & ((1 << shift) - 1), 1 << (shift - 1))
        };
        let up = rem > half || (rem == half && (sticky || q & 1 == 1));
        q + u64::from(up)
    };
    if q == 1 << 53 {
        q >>= 1;
        lsb += 1;
    }
    if q == 0 {
        return Some((0.0, true)); // underflow to zero
    }
    let bits = if lsb == -1074 {
        q // subnormal, or the smallest normal exponent (q = 2^52 sets it)
    } else {
        let biased = lsb + 1075;
        if biased >= 2047 {
            return Some((f64::INFINITY, true));
        }
        ((biased as u64) << 52) | (q & ((1 << 52) - 1))
    };
    Some((f64::from_bits(bits), false))
}

/// One end of a score range (`zslParseRange`): `(x` is exclusive; the number is read by
/// `strtod` with leading spaces skipped and overflow allowed, NaN refused. An empty number
/// reads as 0 (strtod stops at the end), spaces alone are refused (it stops at the spaces).
pub fn parse_score_bound(b: &[u8]) -> Option<ScoreBound> {
    let (exclusive, rest) = match b.first() {
        Some(b'(') => (true, &b[1..]),
        _ => (false, b),
    };
    if rest.is_empty() {
        return Some(ScoreBound {
            value: 0.0,
            exclusive,
        });
    }
    let start = rest.iter().position(|c| !is_c_space(*c))?;
    let (value, _) = strtod_whole(&rest[start..])?;
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

// ---- lex ranges as Redis walks them -------------------------------------------------------------

fn lex_gte_min(m: &[u8], min: &LexBound) -> bool {
    match min {
        LexBound::NegInf => true,
        LexBound::PosInf => false,
        LexBound::Inclusive(b) => m >= &b[..],
        LexBound::Exclusive(b) => m > &b[..],
    }
}

fn lex_lte_max(m: &[u8], max: &LexBound) -> bool {
    match max {
        LexBound::NegInf => false,
        LexBound::PosInf => true,
        LexBound::Inclusive(b) => m <= &b[..],
        LexBound::Exclusive(b) => m < &b[..],
    }
}

/// The ranks a lex range covers, as Redis finds them. With all scores equal (the only case
/// Redis defines) this is [`ZSetObj::lex_range`]. With mixed scores a listpack answers what
/// Redis's listpack walk answers: nothing unless the last member reaches `min` and the first
/// stays within `max`, else from the first member at or above `min` onwards while members
/// stay within `max`. (Redis's skiplist answers by a search that depends on its random
/// levels; the sorted index answers by its own search.)
pub fn lex_ranks(z: &ZSetObj, min: &LexBound, max: &LexBound) -> std::ops::Range<usize> {
    if !matches!(z, ZSetObj::Pack(_)) {
        return z.lex_range(min, max);
    }
    let n = z.len();
    let (Some((first, _)), Some((last, _))) = (z.at(0), z.at(n.saturating_sub(1))) else {
        return 0..0;
    };
    if !lex_gte_min(last, min) || !lex_lte_max(first, max) {
        return 0..0;
    }
    let mut it = z
        .iter()
        .enumerate()
        .skip_while(|(_, (m, _))| !lex_gte_min(m, min));
    match it.next() {
        Some((start, (m, _))) if lex_lte_max(m, max) => {
            let more = it.take_while(|(_, (m, _))| lex_lte_max(m, max)).count();
            start..start + 1 + more
        }
        _ => 0..0,
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

// ---- ZADD / ZINCRBY ---------------------------------------------------------------------------

/// ZADD's options (ZINCRBY is ZADD INCR without any).
#[derive(Clone, Copy, Default)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    incr: bool,
}

/// What adding one (member, score) did (Redis's `zsetAdd` out flags).
enum AddOutcome {
    /// Not applied: NX on a member, XX on a non-member, or GT/LT against the move.
    Nop,
    /// A new member, with its score.
    Added(f64),
    /// An existing member whose score changed to this one.
    Updated(f64),
    /// An existing member left at the score it had (given it again, or INCR by 0).
    Same(f64),
    /// INCR would have made the score NaN (inf + -inf): nothing done.
    Nan,
}

/// `zsetAdd`: applies one score to `m` under `f`.
fn add_one(z: &mut ZSetObj, m: &[u8], score: f64, f: AddFlags, limits: &Limits) -> AddOutcome {
    match z.score(m) {
        Some(cur) => {
            if f.nx {
                return AddOutcome::Nop;
            }
            let new = if f.incr { cur + score } else { score };
            if new.is_nan() {
                return AddOutcome::Nan;
            }
            if (f.gt && new <= cur) || (f.lt && new >= cur) {
                return AddOutcome::Nop;
            }
            // C's `!=`: -0 and 0 are the same score, as in Redis (nothing is rewritten).
            if new != cur {
                z.insert(m, new, limits);
                AddOutcome::Updated(new)
            } else {
                AddOutcome::Same(new)
            }
        }
        None if f.xx => AddOutcome::Nop,
        None => {
            z.insert(m, score, limits);
            AddOutcome::Added(score)
        }
    }
}

/// The score `m` now has as stored: a pack keeps -0 as 0 (what replay and a reader see).
fn stored(z: &ZSetObj, score: f64) -> f64 {
    match z {
        ZSetObj::Pack(_) if score == 0.0 => 0.0,
        _ => score,
    }
}

/// What a ZADD did, for its reply.
#[derive(Default)]
struct AddTotals {
    added: i64,
    updated: i64,
    /// The last element applied (not a no-op): INCR's reply.
    last: Option<f64>,
    nan: bool,
}

/// Applies `elems` to the sorted set under `key` (created unless XX), logging the members
/// whose scores changed with their resulting scores.
fn apply_adds(
    c: &mut Ctx,
    key: &[u8],
    elems: &[(f64, &Bytes)],
    f: AddFlags,
) -> Result<AddTotals, WrongType> {
    let db = c.db();
    let r = c.ks.zset_write(db, key, !f.xx, c.now_ms, |z, limits| {
        let mut t = AddTotals::default();
        let mut logged: Vec<(Bytes, f64)> = Vec::new();
        for &(score, m) in elems {
            match add_one(z, m, score, f, limits) {
                AddOutcome::Nop => {}
                AddOutcome::Nan => {
                    // Only INCR (a single element) reaches this: nothing has changed.
                    t.nan = true;
                    break;
                }
                AddOutcome::Same(s) => t.last = Some(s),
                AddOutcome::Added(s) => {
                    t.added += 1;
                    t.last = Some(s);
                    logged.push((m.clone(), stored(z, s)));
                }
                AddOutcome::Updated(s) => {
                    t.updated += 1;
                    t.last = Some(s);
                    logged.push((m.clone(), stored(z, s)));
                }
            }
        }
        let delta = if logged.is_empty() {
            ZDelta::Unchanged
        } else {
            ZDelta::Added(logged)
        };
        (t, delta)
    })?;
    Ok(r.unwrap_or_default())
}

/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]
fn zadd(c: &mut Ctx, argv: &[Bytes]) {
    let mut f = AddFlags::default();
    let mut ch = false;
    let mut i = 2;
    while let Some(a) = argv.get(i) {
        match a.to_ascii_lowercase().as_slice() {
            b"nx" => f.nx = true,
            b"xx" => f.xx = true,
            b"gt" => f.gt = true,
            b"lt" => f.lt = true,
            b"ch" => ch = true,
            b"incr" => f.incr = true,
            _ => break,
        }
        i += 1;
    }
    // Redis's order: pairing, then the option conflicts, then INCR's single pair, then every
    // score, and only then the key.
    let rest = &argv[i..];
    if rest.is_empty() || !rest.len().is_multiple_of(2) {
        return c.out.error(ERR_SYNTAX);
    }
    if f.nx && f.xx {
        return c
            .out
            .error("ERR XX and NX options at the same time are not compatible");
    }
    if [f.gt, f.lt, f.nx].iter().filter(|o| **o).count() > 1 {
        return c
            .out
            .error("ERR GT, LT, and/or NX options at the same time are not compatible");
    }
    if f.incr && rest.len() > 2 {
        return c
            .out
            .error("ERR INCR option supports a single increment-element pair");
    }
    let mut elems = Vec::with_capacity(rest.len() / 2);
    for pair in rest.chunks_exact(2) {
        let Some(score) = parse_score(&pair[0]) else {
            return c.out.error(ERR_NOT_FLOAT);
        };
        elems.push((score, &pair[1]));
    }
    match apply_adds(c, &argv[1], &elems, f) {
        Err(_) => c.out.error(ERR_WRONGTYPE),
        Ok(t) if t.nan => c.out.error(ERR_SCORE_NAN),
        Ok(t) if f.incr => match t.last {
            Some(s) => c.out.score(s),
            None => c.out.null(),
        },
        Ok(t) => c.out.int(if ch { t.added + t.updated } else { t.added }),
    }
}

/// ZINCRBY key increment member
fn zincrby(c: &mut Ctx, argv: &[Bytes]) {
    let Some(by) = parse_score(&argv[2]) else {
        return c.out.error(ERR_NOT_FLOAT);
    };
    let f = AddFlags {
        incr: true,
        ..AddFlags::default()
    };
    match apply_adds(c, &argv[1], &[(by, &argv[3])], f) {
        Err(_) => c.out.error(ERR_WRONGTYPE),
        Ok(t) if t.nan => c.out.error(ERR_SCORE_NAN),
        // Without NX/XX/GT/LT an increment always applies.
        Ok(t) => c.out.score(t.last.unwrap_or(by)),
    }
}

// ---- removals ---------------------------------------------------------------------------------

/// Removes the members `pick` chooses from the sorted set under `key` (absent: 0), logging
/// the ones removed; replies with how many.
fn remove_where(c: &mut Ctx, key: &[u8], pick: impl FnOnce(&ZSetObj) -> Vec<Bytes>) {
    let db = c.db();
    let r = c.ks.zset_write(db, key, false, c.now_ms, |z, _| {
        let removed: Vec<Bytes> = pick(z).into_iter().filter(|m| z.remove(m)).collect();
        let n = removed.len();
        let delta = if removed.is_empty() {
            ZDelta::Unchanged
        } else {
            ZDelta::Removed(removed)
        };
        (n, delta)
    });
    match r {
        Err(_) => c.out.error(ERR_WRONGTYPE),
        Ok(n) => c.out.int(n.unwrap_or(0) as i64),
    }
}

fn owned_members(z: &ZSetObj, ranks: std::ops::Range<usize>) -> Vec<Bytes> {
    z.range(ranks.start, ranks.end, false)
        .map(|(m, _)| Bytes::copy_from_slice(m))
        .collect()
}

/// ZREM key member [member ...]
fn zrem(c: &mut Ctx, argv: &[Bytes]) {
    let members = &argv[2..];
    remove_where(c, &argv[1], |_| members.to_vec());
}

/// ZREMRANGEBYRANK key start stop: ranks as ZRANGE reads them (negative from the end).
fn zremrangebyrank(c: &mut Ctx, argv: &[Bytes]) {
    let (Some(start), Some(stop)) = (parse_i64(&argv[2]), parse_i64(&argv[3])) else {
        return c.out.error(ERR_NOT_INT);
    };
    remove_where(c, &argv[1], |z| {
        owned_members(z, rank_range(start, stop, z.len()))
    });
}

/// The ranks `start..=stop` address in a sorted set of `len` (Redis's clamping: negative
/// counts from the end, an empty range when start passes stop or the end).
pub fn rank_range(start: i64, stop: i64, len: usize) -> std::ops::Range<usize> {
    let len = len as i64;
    let mut start = if start < 0 {
        start.saturating_add(len)
    } else {
        start
    };
    let mut stop = if stop < 0 {
        stop.saturating_add(len)
    } else {
        stop
    };
    if start < 0 {
        start = 0;
    }
    if start > stop || start >= len {
        return 0..0;
    }
    if stop >= len {
        stop = len - 1;
    }
    start as usize..(stop + 1) as usize
}

/// ZREMRANGEBYSCORE key min max
fn zremrangebyscore(c: &mut Ctx, argv: &[Bytes]) {
    let (Some(min), Some(max)) = (parse_score_bound(&argv[2]), parse_score_bound(&argv[3])) else {
        return c.out.error(ERR_MINMAX_FLOAT);
    };
    remove_where(c, &argv[1], |z| owned_members(z, z.score_range(&min, &max)));
}

/// ZREMRANGEBYLEX key min max
fn zremrangebylex(c: &mut Ctx, argv: &[Bytes]) {
    let (Some(min), Some(max)) = (parse_lex_bound(&argv[2]), parse_lex_bound(&argv[3])) else {
        return c.out.error(ERR_MINMAX_LEX);
    };
    remove_where(c, &argv[1], |z| owned_members(z, lex_ranks(z, &min, &max)));
}

// ---- reads ------------------------------------------------------------------------------------

/// Runs `f` on the sorted set under `key` (None if absent), counting the lookup as Redis's
/// `lookupKeyRead` does; a key of another kind gets WRONGTYPE.
fn with_zset(c: &mut Ctx, key: &[u8], f: impl FnOnce(&mut ReplyWriter, Option<&ZSetObj>)) {
    let db = c.db();
    match read_zset(&c.shared.stats, c.ks, db, key, c.now_ms) {
        Err(_) => c.out.error(ERR_WRONGTYPE),
        Ok(z) => f(c.out, z),
    }
}

/// ZCARD key
fn zcard(c: &mut Ctx, argv: &[Bytes]) {
    with_zset(c, &argv[1], |out, z| {
        out.int(z.map_or(0, |z| z.len()) as i64)
    });
}

/// ZSCORE key member
fn zscore(c: &mut Ctx, argv: &[Bytes]) {
    let m = &argv[2];
    with_zset(c, &argv[1], |out, z| match z.and_then(|z| z.score(m)) {
        Some(s) => out.score(s),
        None => out.null(),
    });
}

/// ZMSCORE key member [member ...]
fn zmscore(c: &mut Ctx, argv: &[Bytes]) {
    let members = &argv[2..];
    with_zset(c, &argv[1], |out, z| {
        out.array(members.len());
        for m in members {
            match z.and_then(|z| z.score(m)) {
                Some(s) => out.score(s),
                None => out.null(),
            }
        }
    });
}

/// ZCOUNT key min max
fn zcount(c: &mut Ctx, argv: &[Bytes]) {
    let (Some(min), Some(max)) = (parse_score_bound(&argv[2]), parse_score_bound(&argv[3])) else {
        return c.out.error(ERR_MINMAX_FLOAT);
    };
    with_zset(c, &argv[1], |out, z| {
        out.int(z.map_or(0, |z| z.score_range(&min, &max).len()) as i64)
    });
}

/// ZLEXCOUNT key min max
fn zlexcount(c: &mut Ctx, argv: &[Bytes]) {
    let (Some(min), Some(max)) = (parse_lex_bound(&argv[2]), parse_lex_bound(&argv[3])) else {
        return c.out.error(ERR_MINMAX_LEX);
    };
    with_zset(c, &argv[1], |out, z| {
        out.int(z.map_or(0, |z| lex_ranks(z, &min, &max).len()) as i64)
    });
}

/// ZRANK key member
fn zrank(c: &mut Ctx, argv: &[Bytes]) {
    rank_reply(c, argv, false);
}

/// ZREVRANK key member
fn zrevrank(c: &mut Ctx, argv: &[Bytes]) {
    rank_reply(c, argv, true);
}

fn rank_reply(c: &mut Ctx, argv: &[Bytes], rev: bool) {
    let m = &argv[2];
    with_zset(c, &argv[1], |out, z| {
        let rank = z.and_then(|z| z.rank(m).map(|r| if rev { z.len() - 1 - r } else { r }));
        match rank {
            Some(r) => out.int(r as i64),
            None => out.null(),
        }
    });
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
            ("0x10", 16.0),
            ("0x1p3", 8.0),
        ] {
            assert_eq!(parse_score(text.as_bytes()), Some(want), "{text}");
        }
        for bad in [
            "", " 1", "\x0b1", "1 ", "nan", "-nan", "abc", "1e400", "1e-400", "0x", "1,5",
        ] {
            assert_eq!(parse_score(bad.as_bytes()), None, "{bad:?}");
        }
        assert_eq!(parse_score(b"0"), Some(0.0));
        assert_eq!(parse_score(b"0e-500"), Some(0.0));
    }

    #[test]
    fn bounds_parse_as_redis_reads_them() {
        let b = |t: &str| parse_score_bound(t.as_bytes());
        assert_eq!(
            b("(1.5"),
            Some(ScoreBound {
                value: 1.5,
                exclusive: true
            })
        );
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

#[cfg(test)]
#[path = "zset_tests.rs"]
mod tests;

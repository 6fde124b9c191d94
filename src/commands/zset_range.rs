//! The sorted-set family, ranges: ZRANGE (by rank, BYSCORE, BYLEX, REV, LIMIT, WITHSCORES),
//! ZRANGESTORE and the older fixed forms ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX,
//! ZREVRANGEBYLEX and ZREVRANGE, with Redis 7.0's argument checks, error order and replies.
//!
//! Every form is one query ([`Query`]): a range of ranks, scores or members, a direction, an
//! optional `LIMIT offset count` and WITHSCORES. The fixed forms preset the range kind and the
//! direction, so repeating them (`ZRANGEBYSCORE ... BYSCORE`, `ZREVRANGE ... REV`) is a
//! syntax error, as in Redis. A query resolves to one window of ascending ranks
//! ([`window`]) found with the sorted set's rank/score/lex searches, so a range costs
//! O(log n + m) and never walks the whole set.
//!
//! Error order (Redis's): the options left to right (syntax errors, a LIMIT that is not an
//! integer), then LIMIT without BYSCORE/BYLEX, then WITHSCORES with BYLEX, then the range's
//! own arguments, and only then the key's type.
//!
//! ZRANGESTORE writes its result as one whole new value (`put`), replacing the destination
//! whatever it held, TTL included; an empty result deletes the destination (nothing is logged,
//! and WATCH is not touched, when it was absent).

use super::zset::*;
use super::*;
use crate::keyspace::{LexBound, ScoreBound, Value, ZSetObj};

const ERR_LIMIT_ONLY: &str =
    "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX";
const ERR_BYLEX_WITHSCORES: &str =
    "ERR syntax error, WITHSCORES not supported in combination with BYLEX";

pub const COMMANDS: &[CommandSpec] = &[
    zset_spec(
        "zrange",
        -4,
        RO,
        ONE_KEY,
        ACL_R,
        "1.2.0",
        "Return a range of members in a sorted set",
        zrange,
    ),
    zset_spec(
        "zrangestore",
        -5,
        WD,
        (1, 2, 1),
        ACL_W,
        "6.2.0",
        "Store a range of members from sorted set into another key",
        zrangestore,
    ),
    zset_spec(
        "zrangebyscore",
        -4,
        RO,
        ONE_KEY,
        ACL_R,
        "1.0.5",
        "Return a range of members in a sorted set, by score",
        zrangebyscore,
    ),
    zset_spec(
        "zrevrangebyscore",
        -4,
        RO,
        ONE_KEY,
        ACL_R,
        "2.2.0",
        "Return a range of members in a sorted set, by score, with scores ordered from high to low",
        zrevrangebyscore,
    ),
    zset_spec(
        "zrangebylex",
        -4,
        RO,
        ONE_KEY,
        ACL_R,
        "2.8.9",
        "Return a range of members in a sorted set, by lexicographical range",
        zrangebylex,
    ),
    zset_spec(
        "zrevrangebylex",
        -4,
        RO,
        ONE_KEY,
        ACL_R,
        "2.8.9",
        "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.",
        zrevrangebylex,
    ),
    zset_spec(
        "zrevrange",
        -4,
        RO,
        ONE_KEY,
        ACL_R,
        "1.2.0",
        "Return a range of members in a sorted set, by index, with scores ordered from high to low",
        zrevrange,
    ),
];

// ---- the query -------------------------------------------------------------------------------

/// What a range selects by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum By {
    Rank,
    Score,
    Lex,
}

/// The range of a query, its bounds as given (for REV the score and lex bounds are already
/// put in min, max order).
#[derive(Clone, Debug, PartialEq)]
pub enum Span {
    /// Start and stop ranks as given (negative counts from the end); with REV they index the
    /// descending order.
    Rank(i64, i64),
    Score(ScoreBound, ScoreBound),
    Lex(LexBound, LexBound),
}

/// One parsed range command.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub span: Span,
    pub rev: bool,
    pub withscores: bool,
    /// LIMIT's offset (negative: nothing) and count (negative: all the rest); `(0, -1)` when
    /// absent. Ignored by a rank range (only `LIMIT x -1` gets that far with one).
    pub offset: i64,
    pub count: i64,
}

/// Parses a range command whose key is `argv[key_at]`, the two bounds follow it and the
/// options follow them. `by` / `rev` are preset by the fixed forms (ZRANGEBYSCORE & co.);
/// `store` (ZRANGESTORE) refuses WITHSCORES. The error is the reply Redis gives.
pub fn parse_query(
    argv: &[Bytes],
    key_at: usize,
    by: Option<By>,
    rev: Option<bool>,
    store: bool,
) -> Result<Query, &'static str> {
    let (mut by, mut rev) = (by, rev);
    let mut withscores = false;
    let mut limit: Option<(i64, i64)> = None;
    let mut j = key_at + 3;
    while let Some(arg) = argv.get(j) {
        let left = argv.len() - j - 1;
        if !store && eq(arg, "withscores") {
            withscores = true;
        } else if eq(arg, "limit") && left >= 2 {
            let offset = parse_i64(&argv[j + 1]).ok_or(ERR_NOT_INT)?;
            let count = parse_i64(&argv[j + 2]).ok_or(ERR_NOT_INT)?;
            limit = Some((offset, count));
            j += 2;
        } else if rev.is_none() && eq(arg, "rev") {
            rev = Some(true);
        } else if by.is_none() && eq(arg, "bylex") {
            by = Some(By::Lex);
        } else if by.is_none() && eq(arg, "byscore") {
            by = Some(By::Score);
        } else {
            return Err(ERR_SYNTAX);
        }
        j += 1;
    }
    let by = by.unwrap_or(By::Rank);
    let rev = rev.unwrap_or(false);
    let (offset, count) = limit.unwrap_or((0, -1));
    // Redis tells "no LIMIT" by the count alone: `LIMIT 5 -1` passes with a rank range.
    if count != -1 && by == By::Rank {
        return Err(ERR_LIMIT_ONLY);
    }
    if withscores && by == By::Lex {
        return Err(ERR_BYLEX_WITHSCORES);
    }
    let (a, b) = (&argv[key_at + 1], &argv[key_at + 2]);
    // A reverse score or lex range is given max first.
    let (min, max) = if rev && by != By::Rank {
        (b, a)
    } else {
        (a, b)
    };
    let span = match by {
        By::Rank => match (parse_i64(a), parse_i64(b)) {
            (Some(start), Some(stop)) => Span::Rank(start, stop),
            _ => return Err(ERR_NOT_INT),
        },
        By::Score => match (parse_score_bound(min), parse_score_bound(max)) {
            (Some(lo), Some(hi)) => Span::Score(lo, hi),
            _ => return Err(ERR_MINMAX_FLOAT),
        },
        By::Lex => match (parse_lex_bound(min), parse_lex_bound(max)) {
            (Some(lo), Some(hi)) => Span::Lex(lo, hi),
            _ => return Err(ERR_MINMAX_LEX),
        },
    };
    Ok(Query {
        span,
        rev,
        withscores,
        offset,
        count,
    })
}

/// The ascending ranks `lo..hi` a query selects in `z` (read in reverse when `q.rev`), found
/// by the set's O(log n) searches; LIMIT applies in the query's direction.
pub fn window(z: &ZSetObj, q: &Query) -> (usize, usize) {
    let len = z.len();
    let matched = match &q.span {
        Span::Rank(start, stop) => return rank_window(len, *start, *stop, q.rev),
        Span::Score(min, max) => z.score_range(min, max),
        Span::Lex(min, max) if matches!(z, ZSetObj::Pack(_)) => {
            return pack_lex_window(z, min, max, q)
        }
        Span::Lex(min, max) => z.lex_range(min, max),
    };
    let n = matched.end.saturating_sub(matched.start);
    // A negative offset skips everything (Redis counts it down past zero).
    let Ok(offset) = usize::try_from(q.offset) else {
        return (0, 0);
    };
    if offset >= n {
        return (0, 0);
    }
    let avail = n - offset;
    let take = usize::try_from(q.count).map_or(avail, |c| c.min(avail));
    if q.rev {
        let hi = matched.end - offset;
        (hi - take, hi)
    } else {
        let lo = matched.start + offset;
        (lo, lo + take)
    }
}

fn lex_gte_min(min: &LexBound, m: &[u8]) -> bool {
    match min {
        LexBound::NegInf => true,
        LexBound::PosInf => false,
        LexBound::Inclusive(b) => m >= &b[..],
        LexBound::Exclusive(b) => m > &b[..],
    }
}

fn lex_lte_max(max: &LexBound, m: &[u8]) -> bool {
    match max {
        LexBound::NegInf => false,
        LexBound::PosInf => true,
        LexBound::Inclusive(b) => m <= &b[..],
        LexBound::Exclusive(b) => m < &b[..],
    }
}

/// Whether a lex range is empty by its bounds alone (min above max, or equal with either
/// end exclusive; `-` and `+` count as exclusive ends).
fn lex_bounds_empty(min: &LexBound, max: &LexBound) -> bool {
    use std::cmp::Ordering::*;
    let key = |b: &LexBound| -> (u8, Option<Bytes>, bool) {
        match b {
            LexBound::NegInf => (0, None, true),
            LexBound::Inclusive(x) => (1, Some(x.clone()), false),
            LexBound::Exclusive(x) => (1, Some(x.clone()), true),
            LexBound::PosInf => (2, None, true),
        }
    };
    let (a, b) = (key(min), key(max));
    match (a.0, &a.1).cmp(&(b.0, &b.1)) {
        Greater => true,
        Equal => a.2 || b.2,
        Less => false,
    }
}

/// A lex window in a pack, found as Redis walks its listpack: from the first member at or
/// above `min` (from the last at or below `max` with REV), skip the offset, then take members
/// while they stay within the other bound. On a sorted set whose scores are all equal (the
/// only case Redis defines) this is the searched window; with mixed scores it gives Redis's
/// listpack answer, which a plain search would not.
fn pack_lex_window(z: &ZSetObj, min: &LexBound, max: &LexBound, q: &Query) -> (usize, usize) {
    let members: Vec<&[u8]> = z.iter().map(|(m, _)| m).collect();
    let (Some(first), Some(last)) = (members.first(), members.last()) else {
        return (0, 0);
    };
    if lex_bounds_empty(min, max) || !lex_gte_min(min, last) || !lex_lte_max(max, first) {
        return (0, 0);
    }
    let Ok(offset) = usize::try_from(q.offset) else {
        return (0, 0);
    };
    let count = usize::try_from(q.count).unwrap_or(usize::MAX);
    if q.rev {
        let Some(at) = members.iter().rposition(|m| lex_lte_max(max, m)) else {
            return (0, 0);
        };
        if !lex_gte_min(min, members[at]) || offset > at {
            return (0, 0);
        }
        let hi = at - offset + 1;
        let mut lo = hi;
        while lo > 0 && hi - lo < count && lex_gte_min(min, members[lo - 1]) {
            lo -= 1;
        }
        (lo, hi)
    } else {
        let Some(at) = members.iter().position(|m| lex_gte_min(min, m)) else {
            return (0, 0);
        };
        if !lex_lte_max(max, members[at]) {
            return (0, 0);
        }
        let lo = at.saturating_add(offset).min(members.len());
        let mut hi = lo;
        while hi < members.len() && hi - lo < count && lex_lte_max(max, members[hi]) {
            hi += 1;
        }
        (lo, hi)
    }
}

/// ZRANGE's rank window: negative ranks count from the end, both ends are clamped, and with
/// REV the ranks index the descending order.
fn rank_window(len: usize, start: i64, stop: i64, rev: bool) -> (usize, usize) {
    let n = len as i64;
    let start = if start < 0 { n + start } else { start }.max(0);
    let stop = if stop < 0 { n + stop } else { stop };
    if start > stop || start >= n {
        return (0, 0);
    }
    let stop = stop.min(n - 1);
    let (lo, hi) = if rev {
        (n - 1 - stop, n - start)
    } else {
        (start, stop + 1)
    };
    (lo as usize, hi as usize)
}

/// An iterator that knows how many items it yields (a range of `hi - lo` ranks, all present).
struct Exact<I> {
    inner: I,
    left: usize,
}

impl<I: Iterator> Iterator for Exact<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        if self.left == 0 {
            return None;
        }
        let item = self.inner.next()?;
        self.left -= 1;
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<I: Iterator> ExactSizeIterator for Exact<I> {}

/// The elements a query selects, in reply order.
pub fn select<'z>(z: &'z ZSetObj, q: &Query) -> impl ExactSizeIterator<Item = (&'z [u8], f64)> {
    let (lo, hi) = window(z, q);
    let (lo, hi) = (lo.min(z.len()), hi.min(z.len()));
    Exact {
        inner: z.range(lo, hi, q.rev),
        left: hi.saturating_sub(lo),
    }
}

// ---- commands --------------------------------------------------------------------------------

/// A range read: parse, then look the key up, then reply.
fn range_reply(c: &mut Ctx, argv: &[Bytes], by: Option<By>, rev: Option<bool>) {
    let q = match parse_query(argv, 1, by, rev, false) {
        Ok(q) => q,
        Err(e) => return c.out.error(e),
    };
    let db = c.db();
    match read_zset(&c.shared.stats, c.ks, db, &argv[1], c.now_ms) {
        Err(_) => c.out.error(ERR_WRONGTYPE),
        Ok(None) => c.out.array(0),
        Ok(Some(z)) => reply_scored(c.out, select(z, &q), q.withscores),
    }
}

fn zrange(c: &mut Ctx, argv: &[Bytes]) {
    range_reply(c, argv, None, None);
}

fn zrangebyscore(c: &mut Ctx, argv: &[Bytes]) {
    range_reply(c, argv, Some(By::Score), Some(false));
}

fn zrevrangebyscore(c: &mut Ctx, argv: &[Bytes]) {
    range_reply(c, argv, Some(By::Score), Some(true));
}

fn zrangebylex(c: &mut Ctx, argv: &[Bytes]) {
    range_reply(c, argv, Some(By::Lex), Some(false));
}

fn zrevrangebylex(c: &mut Ctx, argv: &[Bytes]) {
    range_reply(c, argv, Some(By::Lex), Some(true));
}

fn zrevrange(c: &mut Ctx, argv: &[Bytes]) {
    range_reply(c, argv, Some(By::Rank), Some(true));
}

/// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]: the selected
/// members with their scores become `dst` (a sorted set, so stored in score order whatever
/// the direction); the reply is their number.
fn zrangestore(c: &mut Ctx, argv: &[Bytes]) {
    let q = match parse_query(argv, 2, None, None, true) {
        Ok(q) => q,
        Err(e) => return c.out.error(e),
    };
    let db = c.db();
    let pairs: Vec<(Bytes, f64)> = match read_zset(&c.shared.stats, c.ks, db, &argv[2], c.now_ms) {
        Err(_) => return c.out.error(ERR_WRONGTYPE),
        Ok(None) => Vec::new(),
        Ok(Some(z)) => select(z, &q)
            .map(|(m, s)| (Bytes::copy_from_slice(m), s))
            .collect(),
    };
    let n = pairs.len();
    let dst = &argv[1];
    if pairs.is_empty() {
        c.ks.del(db, dst, c.now_ms);
    } else {
        c.ks.put(db, dst, Value::ZSet(pairs), 0);
    }
    c.out.int(n as i64);
}

#[cfg(test)]
#[path = "zset_range_tests.rs"]
mod tests;

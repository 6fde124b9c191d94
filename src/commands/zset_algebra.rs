//! The sorted-set family: multi-key algebra. ZUNION, ZINTER, ZDIFF, their STORE forms and
//! ZINTERCARD, with WEIGHTS and AGGREGATE SUM|MIN|MAX; a plain set counts as a sorted set
//! whose members all score 1.
//!
//! Redis 7.0's order of checks: `numkeys` first (not an integer, below 1, more than the
//! arguments), then every source key's type (WRONGTYPE wins over any option error, and every
//! key is checked even after a missing one), then the options. The arithmetic follows Redis
//! exactly, since floating-point sums depend on their order: the sources of a union or an
//! intersection are taken smallest first (a stable sort, so equal sizes keep the argument
//! order), a weighted score that is NaN (`inf * 0`) counts as 0 in a union and as the first
//! source of an intersection, and a SUM that turns NaN (`inf + -inf`) becomes 0; MIN and MAX
//! ignore a NaN operand. Results are ordered by score, then member bytes; replies keep `-0`
//! (Redis answers from its skiplist), a stored result gets the encoding of its own size.
//!
//! The `*STORE` forms write the destination as one whole value ([`Locked::put`]): it replaces
//! whatever the key held (its TTL goes too), and an empty result deletes it (nothing is logged
//! if it was absent).

use super::zset::*;
use super::*;
use crate::keyspace::{cmp_elem, Coll, Kind, Member, Value};
use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

const ERR_WEIGHT: &str = "ERR weight value is not a float";
const ERR_LIMIT: &str = "ERR LIMIT can't be negative";

const RO_MOVABLE: &[&str] = &["readonly", "movablekeys"];
const WD_MOVABLE: &[&str] = &["write", "denyoom", "movablekeys"];

/// A spec whose keys are counted by `numkeys`. Redis reports the reading forms' key range as
/// 0 0 0 and the STORE forms' as 1 1 1 (the destination); `finder` gives the real positions.
#[allow(clippy::too_many_arguments)]
const fn algebra_spec(
    name: &'static str,
    arity: i32,
    store: bool,
    since: &'static str,
    summary: &'static str,
    handler: Handler,
    finder: KeyFinder,
) -> CommandSpec {
    let (flags, keys, acl) = if store {
        (WD_MOVABLE, ONE_KEY, ACL_W)
    } else {
        (RO_MOVABLE, NO_KEYS, ACL_R)
    };
    CommandSpec {
        movable_keys: Some(finder),
        ..zset_spec(name, arity, flags, keys, acl, since, summary, handler)
    }
}

pub const COMMANDS: &[CommandSpec] = &[
    algebra_spec(
        "zunion",
        -3,
        false,
        "6.2.0",
        "Add multiple sorted sets",
        zunion,
        source_keys,
    ),
    algebra_spec(
        "zinter",
        -3,
        false,
        "6.2.0",
        "Intersect multiple sorted sets",
        zinter,
        source_keys,
    ),
    algebra_spec(
        "zdiff",
        -3,
        false,
        "6.2.0",
        "Subtract multiple sorted sets",
        zdiff,
        source_keys,
    ),
    algebra_spec(
        "zunionstore",
        -4,
        true,
        "2.0.0",
        "Add multiple sorted sets and store the resulting sorted set in a new key",
        zunionstore,
        store_keys,
    ),
    algebra_spec(
        "zinterstore",
        -4,
        true,
        "2.0.0",
        "Intersect multiple sorted sets and store the resulting sorted set in a new key",
        zinterstore,
        store_keys,
    ),
    algebra_spec(
        "zdiffstore",
        -4,
        true,
        "6.2.0",
        "Subtract multiple sorted sets and store the resulting sorted set in a new key",
        zdiffstore,
        store_keys,
    ),
    algebra_spec(
        "zintercard",
        -3,
        false,
        "7.0.0",
        "Intersect multiple sorted sets and return the cardinality of the result",
        zintercard,
        source_keys,
    ),
];

// ---- the operation ----------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// Folds `val` into `acc` as Redis does: a SUM that turns NaN is 0; MIN and MAX keep
    /// `acc` when `val` is NaN (a NaN never compares below or above).
    fn fold(self, acc: f64, val: f64) -> f64 {
        match self {
            Aggregate::Sum => {
                let s = acc + val;
                if s.is_nan() {
                    0.0
                } else {
                    s
                }
            }
            Aggregate::Min => {
                if val < acc {
                    val
                } else {
                    acc
                }
            }
            Aggregate::Max => {
                if val > acc {
                    val
                } else {
                    acc
                }
            }
        }
    }
}

/// One input: a set or sorted set (None for a missing key) and its weight.
#[derive(Clone, Copy)]
pub struct Source<'a> {
    pub coll: Option<&'a Coll>,
    pub weight: f64,
}

impl<'a> Source<'a> {
    fn len(&self) -> usize {
        match self.coll {
            Some(Coll::ZSet(z)) => z.len(),
            Some(Coll::Set(s)) => s.len(),
            _ => 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The unweighted score of `m` (1 for a set member), if present.
    fn score(&self, m: &[u8]) -> Option<f64> {
        match self.coll {
            Some(Coll::ZSet(z)) => z.score(m),
            Some(Coll::Set(s)) => s.contains(m).then_some(1.0),
            _ => None,
        }
    }

    /// Every (member, unweighted score); intset members are formatted on the way out.
    fn elems(&self) -> Box<dyn Iterator<Item = (Cow<'a, [u8]>, f64)> + 'a> {
        match self.coll {
            Some(Coll::ZSet(z)) => Box::new(z.iter().map(|(m, s)| (Cow::Borrowed(m), s))),
            Some(Coll::Set(s)) => Box::new(s.iter().map(|m| {
                let b = match m {
                    Member::Bytes(b) => Cow::Borrowed(b),
                    Member::Int(n) => Cow::Owned(n.to_string().into_bytes()),
                };
                (b, 1.0)
            })),
            _ => Box::new(std::iter::empty()),
        }
    }
}

/// A weighted score, NaN (`inf * 0`) taken as 0.
fn weighted(score: f64, weight: f64) -> f64 {
    let v = score * weight;
    if v.is_nan() {
        0.0
    } else {
        v
    }
}

/// The sources smallest first; equal sizes keep their argument order.
fn by_size<'a>(sources: &[Source<'a>]) -> Vec<Source<'a>> {
    let mut v = sources.to_vec();
    v.sort_by_key(|s| s.len());
    v
}

/// The members in every source with their aggregated scores, in no particular order; at
/// most `limit` of them (0 = no limit).
fn intersect<'a>(
    sources: &[Source<'a>],
    agg: Aggregate,
    limit: usize,
) -> Vec<(Cow<'a, [u8]>, f64)> {
    let sorted = by_size(sources);
    let Some((first, rest)) = sorted.split_first() else {
        return Vec::new();
    };
    if first.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    'members: for (m, s) in first.elems() {
        let mut score = weighted(s, first.weight);
        for src in rest {
            match src.score(&m) {
                // Not NaN-checked here, as in Redis: SUM turns a NaN into 0, MIN/MAX skip it.
                Some(v) => score = agg.fold(score, v * src.weight),
                None => continue 'members,
            }
        }
        out.push((m, score));
        if limit != 0 && out.len() >= limit {
            break;
        }
    }
    out
}

/// Every member of any source with its aggregated score, in no particular order.
fn unite<'a>(sources: &[Source<'a>], agg: Aggregate) -> Vec<(Cow<'a, [u8]>, f64)> {
    let sorted = by_size(sources);
    let mut at: HashMap<Cow<'a, [u8]>, usize> = HashMap::new();
    let mut out: Vec<(Cow<'a, [u8]>, f64)> = Vec::new();
    for src in &sorted {
        for (m, s) in src.elems() {
            let score = weighted(s, src.weight);
            match at.get(&m) {
                Some(&i) => {
                    if let Some(e) = out.get_mut(i) {
                        e.1 = agg.fold(e.1, score);
                    }
                }
                None => {
                    at.insert(m.clone(), out.len());
                    out.push((m, score));
                }
            }
        }
    }
    out
}

/// The members of the first source in none of the others, with their own (unweighted) scores.
fn subtract<'a>(sources: &[Source<'a>]) -> Vec<(Cow<'a, [u8]>, f64)> {
    let Some((first, rest)) = sources.split_first() else {
        return Vec::new();
    };
    let rest: Vec<&Source> = rest.iter().filter(|s| !s.is_empty()).collect();
    first
        .elems()
        .filter(|(m, _)| rest.iter().all(|s| s.score(m).is_none()))
        .collect()
}

/// The result of `op` over `sources`, ordered by score, then member.
pub fn combine<'a>(sources: &[Source<'a>], op: SetOp, agg: Aggregate) -> Vec<(Cow<'a, [u8]>, f64)> {
    let mut out = match op {
        SetOp::Union => unite(sources, agg),
        SetOp::Inter => intersect(sources, agg, 0),
        SetOp::Diff => subtract(sources),
    };
    out.sort_by(|a, b| cmp_elem(a.1, &a.0, b.1, &b.0));
    out
}

/// ZINTERCARD's count: the size of the intersection, stopping at `limit` (0 = no limit).
pub fn intersection_card(sources: &[Source<'_>], limit: usize) -> usize {
    intersect(sources, Aggregate::Sum, limit).len()
}

// ---- parsing ----------------------------------------------------------------------------------

/// A weight as Redis's `getDoubleFromObject` reads it: the ZADD score rules, plus C's hex
/// floats (`0x10`, `0x1.8p1`).
pub fn parse_weight(b: &[u8]) -> Option<f64> {
    parse_score(b).or_else(|| parse_hex_double(b))
}

/// `strtod`'s hexadecimal form over the whole argument: `[+-]0x` hex digits with an optional
/// point, then an optional binary exponent `p[+-]digits`. None if anything is left over, if
/// the value overflows to infinity or if a nonzero mantissa underflows to zero (ERANGE).
pub fn parse_hex_double(b: &[u8]) -> Option<f64> {
    let (negative, rest) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    let rest = rest
        .strip_prefix(b"0x")
        .or_else(|| rest.strip_prefix(b"0X"))?;
    let mut mant: u64 = 0;
    let mut exp: i64 = 0;
    let mut digits = 0usize;
    let mut sticky = false;
    let mut point = false;
    let mut i = 0;
    while let Some(&ch) = rest.get(i) {
        if ch == b'.' && !point {
            point = true;
            i += 1;
            continue;
        }
        let Some(d) = (ch as char).to_digit(16) else {
            break;
        };
        digits += 1;
        if mant >> 56 == 0 {
            mant = (mant << 4) | u64::from(d);
            if point {
                exp -= 4;
            }
        } else {
            // Beyond 56 bits only whether anything is left matters (for rounding).
            sticky |= d != 0;
            if !point {
                exp += 4;
            }
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    if matches!(rest.get(i), Some(b'p' | b'P')) {
        let mut j = i + 1;
        let esign = match rest.get(j) {
            Some(b'-') => {
                j += 1;
                -1
            }
            Some(b'+') => {
                j += 1;
                1
            }
            _ => 1,
        };
        let start = j;
        let mut e: i64 = 0;
        while let Some(&ch) = rest.get(j).filter(|c| c.is_ascii_digit()) {
            e = (e * 10 + i64::from(ch - b'0')).min(1 << 20);
            j += 1;
        }
        if j == start {
            return None; // "0x1p": strtod stops before the `p`, which is then left over
        }
        exp += esign * e;
        i = j;
    }
    if i != rest.len() {
        return None;
    }
    let sign = if negative { -1.0 } else { 1.0 };
    if mant == 0 {
        return Some(sign * 0.0);
    }
    // One extra low bit carries the sticky digits, so the conversion rounds to nearest-even
    // as strtod does.
    let mut v = ((mant << 1) | u64::from(sticky)) as f64;
    let mut exp = exp - 1;
    while exp > 0 {
        let step = exp.min(1000);
        v *= 2f64.powi(step as i32);
        exp -= step;
    }
    while exp < 0 {
        let step = (-exp).min(1000);
        v /= 2f64.powi(step as i32);
        exp += step;
    }
    if v.is_infinite() || v == 0.0 {
        return None;
    }
    Some(sign * v)
}

/// Why `numkeys` was refused.
#[derive(Debug, PartialEq, Eq)]
enum NumkeysError {
    NotInt,
    AtLeastOne,
    Syntax,
}

/// The argv positions of the source keys counted by the `numkeys` at `at`.
fn key_span(argv: &[Bytes], at: usize) -> Result<Range<usize>, NumkeysError> {
    let n = argv
        .get(at)
        .and_then(|a| parse_i64(a))
        .ok_or(NumkeysError::NotInt)?;
    if n < 1 {
        return Err(NumkeysError::AtLeastOne);
    }
    let room = argv.len().saturating_sub(at + 1) as u64;
    if n as u64 > room {
        return Err(NumkeysError::Syntax);
    }
    Ok(at + 1..at + 1 + n as usize)
}

/// Key positions of ZUNION, ZINTER, ZDIFF, ZINTERCARD: the `numkeys` keys after argv[1], or
/// none when `numkeys` is refused (the handler then answers before touching a key).
fn source_keys(argv: &[Bytes]) -> Vec<usize> {
    key_span(argv, 1).map(|r| r.collect()).unwrap_or_default()
}

/// Key positions of the STORE forms: the destination, then the `numkeys` keys after argv[2].
fn store_keys(argv: &[Bytes]) -> Vec<usize> {
    match key_span(argv, 2) {
        Ok(r) => std::iter::once(1).chain(r).collect(),
        Err(_) => Vec::new(),
    }
}

/// Which command runs.
#[derive(Clone, Copy)]
struct Form {
    name: &'static str,
    op: SetOp,
    store: bool,
    /// ZINTERCARD: LIMIT instead of WEIGHTS/AGGREGATE/WITHSCORES, a count as the reply.
    card: bool,
}

#[derive(Debug, PartialEq)]
struct Opts {
    weights: Vec<f64>,
    aggregate: Aggregate,
    withscores: bool,
    limit: usize,
}

/// The options after the `n` keys that end at `from`, read as Redis reads them: WEIGHTS takes
/// exactly `n` values (with fewer left it is a syntax error), the last WEIGHTS / AGGREGATE /
/// LIMIT wins, ZDIFF takes neither WEIGHTS nor AGGREGATE, the STORE forms no WITHSCORES.
fn parse_opts(argv: &[Bytes], from: usize, n: usize, form: Form) -> Result<Opts, &'static str> {
    let mut o = Opts {
        weights: vec![1.0; n],
        aggregate: Aggregate::Sum,
        withscores: false,
        limit: 0,
    };
    let scored = form.op != SetOp::Diff && !form.card;
    let mut j = from;
    while let Some(arg) = argv.get(j) {
        let left = argv.len() - j;
        if scored && left > n && eq(arg, "weights") {
            for (k, w) in o.weights.iter_mut().enumerate() {
                *w = argv
                    .get(j + 1 + k)
                    .and_then(|a| parse_weight(a))
                    .ok_or(ERR_WEIGHT)?;
            }
            j += 1 + n;
        } else if scored && left >= 2 && eq(arg, "aggregate") {
            let a = &argv[j + 1];
            o.aggregate = if eq(a, "sum") {
                Aggregate::Sum
            } else if eq(a, "min") {
                Aggregate::Min
            } else if eq(a, "max") {
                Aggregate::Max
            } else {
                return Err(ERR_SYNTAX);
            };
            j += 2;
        } else if !form.store && !form.card && eq(arg, "withscores") {
            o.withscores = true;
            j += 1;
        } else if form.card && left >= 2 && eq(arg, "limit") {
            o.limit = parse_i64(&argv[j + 1])
                .filter(|l| *l >= 0)
                .map(|l| usize::try_from(l).unwrap_or(usize::MAX))
                .ok_or(ERR_LIMIT)?;
            j += 2;
        } else {
            return Err(ERR_SYNTAX);
        }
    }
    Ok(o)
}

// ---- the handlers -----------------------------------------------------------------------------

fn run(c: &mut Ctx, argv: &[Bytes], form: Form) {
    let at = if form.store { 2 } else { 1 };
    let span = match key_span(argv, at) {
        Ok(r) => r,
        Err(NumkeysError::NotInt) => return c.out.error(ERR_NOT_INT),
        Err(NumkeysError::Syntax) => return c.out.error(ERR_SYNTAX),
        Err(NumkeysError::AtLeastOne) => {
            return c.out.error(&format!(
                "ERR at least 1 input key is needed for '{}' command",
                form.name
            ))
        }
    };
    let db = c.db();
    let now = c.now_ms;
    let keys = &argv[span.clone()];
    // Every source is looked up (and counted in keyspace_hits/misses) before the options are
    // read; the first key of another kind stops the lookups.
    for k in keys {
        let kind = c.ks.get(db, k, now).map(|e| e.kind());
        count_lookup(c, kind.is_some());
        if kind.is_some_and(|k| !matches!(k, Kind::Set | Kind::ZSet)) {
            return c.out.error(ERR_WRONGTYPE);
        }
    }
    let opts = match parse_opts(argv, span.end, keys.len(), form) {
        Ok(o) => o,
        Err(e) => return c.out.error(e),
    };
    let colls = match c.ks.get_colls(db, keys, &[Kind::Set, Kind::ZSet], now) {
        Ok(v) => v,
        Err(_) => return c.out.error(ERR_WRONGTYPE),
    };
    let sources: Vec<Source> = colls
        .into_iter()
        .zip(&opts.weights)
        .map(|(coll, &weight)| Source { coll, weight })
        .collect();
    if form.card {
        let n = intersection_card(&sources, opts.limit);
        return c.out.int(n as i64);
    }
    let result = combine(&sources, form.op, opts.aggregate);
    if !form.store {
        return reply_scored(
            c.out,
            result.iter().map(|(m, s)| (&m[..], *s)),
            opts.withscores,
        );
    }
    let pairs: Vec<(Bytes, f64)> = result
        .into_iter()
        .map(|(m, s)| (Bytes::from(m.into_owned()), s))
        .collect();
    let n = pairs.len();
    let dst = &argv[1];
    if pairs.is_empty() {
        c.ks.del(db, dst, now);
    } else {
        c.ks.put(db, dst, Value::ZSet(pairs), 0);
    }
    c.out.int(n as i64);
}

fn zunion(c: &mut Ctx, argv: &[Bytes]) {
    let form = Form {
        name: "zunion",
        op: SetOp::Union,
        store: false,
        card: false,
    };
    run(c, argv, form)
}

fn zinter(c: &mut Ctx, argv: &[Bytes]) {
    let form = Form {
        name: "zinter",
        op: SetOp::Inter,
        store: false,
        card: false,
    };
    run(c, argv, form)
}

fn zdiff(c: &mut Ctx, argv: &[Bytes]) {
    let form = Form {
        name: "zdiff",
        op: SetOp::Diff,
        store: false,
        card: false,
    };
    run(c, argv, form)
}

fn zunionstore(c: &mut Ctx, argv: &[Bytes]) {
    let form = Form {
        name: "zunionstore",
        op: SetOp::Union,
        store: true,
        card: false,
    };
    run(c, argv, form)
}

fn zinterstore(c: &mut Ctx, argv: &[Bytes]) {
    let form = Form {
        name: "zinterstore",
        op: SetOp::Inter,
        store: true,
        card: false,
    };
    run(c, argv, form)
}

fn zdiffstore(c: &mut Ctx, argv: &[Bytes]) {
    let form = Form {
        name: "zdiffstore",
        op: SetOp::Diff,
        store: true,
        card: false,
    };
    run(c, argv, form)
}

fn zintercard(c: &mut Ctx, argv: &[Bytes]) {
    let form = Form {
        name: "zintercard",
        op: SetOp::Inter,
        store: false,
        card: true,
    };
    run(c, argv, form)
}

#[cfg(test)]
#[path = "zset_algebra_tests.rs"]
mod tests;

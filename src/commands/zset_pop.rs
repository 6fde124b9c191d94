//! The sorted-set family: pops and random picks (ZPOPMIN, ZPOPMAX, ZMPOP, ZRANDMEMBER) and
//! ZSCAN, with Redis 7.0's argument checks, error order and reply shapes.
//!
//! Pops log the members they took (a `ZRem` through [`Locked::zset_write`]); random choices
//! are made here, before anything is logged, so replay never draws a random number. The
//! blocking forms (BZPOPMIN, BZPOPMAX, BZMPOP) belong to the blocking-list machinery.
//!
//! ZRANDMEMBER follows Redis's cases: a negative count (or 1) is that many independent picks,
//! a count not below the size is the whole set in order, a smaller one distinct members (in
//! pack order for a small set, in random order for a big one). A negative count beyond the set
//! size asks for a reply of that many elements; Redis 7.0 starts writing it whatever its size
//! (and stops answering for a huge one), this server refuses one whose reply would pass
//! [`MAX_RANDOM_REPLY_BYTES`] rather than hold the shard lock while building it.

use super::zset::*;
use super::*;
use crate::keyspace::{WrongType, ZDelta, ZSetObj};
use rand::Rng;

pub const COMMANDS: &[CommandSpec] = &[
    zset_spec(
        "zpopmin",
        -2,
        WF,
        ONE_KEY,
        ACL_WF,
        "5.0.0",
        "Remove and return members with the lowest scores in a sorted set",
        zpopmin,
    ),
    zset_spec(
        "zpopmax",
        -2,
        WF,
        ONE_KEY,
        ACL_WF,
        "5.0.0",
        "Remove and return members with the highest scores in a sorted set",
        zpopmax,
    ),
    CommandSpec {
        // Redis reports 0 0 0 for a command whose keys are counted by an argument; the
        // dispatcher locks the shards `zmpop_keys` finds.
        movable_keys: Some(zmpop_keys),
        ..zset_spec(
            "zmpop",
            -4,
            &["write", "movablekeys"],
            NO_KEYS,
            ACL_W,
            "7.0.0",
            "Remove and return members with scores in a sorted set",
            zmpop,
        )
    },
    zset_spec(
        "zrandmember",
        -2,
        RO,
        ONE_KEY,
        ACL_R,
        "6.2.0",
        "Get one or multiple random elements from a sorted set",
        zrandmember,
    ),
    zset_spec(
        "zscan",
        -3,
        RO,
        ONE_KEY,
        ACL_R,
        "2.8.0",
        "Incrementally iterate sorted sets elements and associated scores",
        zscan,
    ),
];

const ERR_POSITIVE: &str = "ERR value is out of range, must be positive";
const ERR_LONG_RANGE: &str =
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
const ERR_RANGE: &str = "ERR value is out of range";

/// The largest reply a ZRANDMEMBER with a negative count may build (Redis's default
/// `proto-max-bulk-len`, the biggest single thing Redis otherwise agrees to carry).
pub const MAX_RANDOM_REPLY_BYTES: usize = 512 << 20;

// ---- ZPOPMIN / ZPOPMAX / ZMPOP ----------------------------------------------------------------

/// Which end a pop takes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Min,
    Max,
}

/// Takes up to `count` elements from `end` of `z`, in pop order (lowest first for MIN,
/// highest first for MAX), and the delta that logs them.
pub fn pop_from(z: &mut ZSetObj, end: End, count: u64) -> (Vec<(Bytes, f64)>, ZDelta) {
    let len = z.len();
    let n = usize::try_from(count).unwrap_or(usize::MAX).min(len);
    if n == 0 {
        return (Vec::new(), ZDelta::Unchanged);
    }
    let taken: Vec<(Bytes, f64)> = match end {
        End::Min => z.range(0, n, false),
        End::Max => z.range(len - n, len, true),
    }
    .map(|(m, s)| (Bytes::copy_from_slice(m), s))
    .collect();
    for (m, _) in &taken {
        z.remove(m);
    }
    let members = taken.iter().map(|(m, _)| m.clone()).collect();
    (taken, ZDelta::Removed(members))
}

/// Pops from `key`: `Ok(None)` if the key is absent.
fn pop_key(
    c: &mut Ctx,
    key: &[u8],
    end: End,
    count: u64,
) -> Result<Option<Vec<(Bytes, f64)>>, WrongType> {
    let db = c.db();
    c.ks.zset_write(db, key, false, c.now_ms, |z, _| pop_from(z, end, count))
}

/// Popped elements as `[[m, s], ...]` in RESP3 and flat `[m, s, ...]` in RESP2.
fn reply_popped(out: &mut ReplyWriter, taken: &[(Bytes, f64)]) {
    reply_scored(out, taken.iter().map(|(m, s)| (&m[..], *s)), true);
}

/// ZPOPMIN/ZPOPMAX key [count], in Redis's order: too many arguments, the count (refused even
/// on a missing key), then the key's type (also for a count of 0).
fn zpop(c: &mut Ctx, argv: &[Bytes], end: End) {
    if argv.len() > 3 {
        return c.out.error(ERR_SYNTAX);
    }
    let count = match argv.get(2) {
        None => None,
        Some(a) => match parse_i64(a).filter(|n| *n >= 0) {
            Some(n) => Some(n as u64),
            None => return c.out.error(ERR_POSITIVE),
        },
    };
    match pop_key(c, &argv[1], end, count.unwrap_or(1)) {
        Err(_) => c.out.error(ERR_WRONGTYPE),
        Ok(None) => c.out.array(0),
        Ok(Some(taken)) => match count {
            Some(_) => reply_popped(c.out, &taken),
            // Without a count: one flat [member, score] in both protocols.
            None => match taken.first() {
                Some((m, s)) => {
                    c.out.array(2);
                    c.out.bulk(m);
                    c.out.score(*s);
                }
                None => c.out.array(0),
            },
        },
    }
}

fn zpopmin(c: &mut Ctx, argv: &[Bytes]) {
    zpop(c, argv, End::Min)
}

fn zpopmax(c: &mut Ctx, argv: &[Bytes]) {
    zpop(c, argv, End::Max)
}

/// ZMPOP's key positions (see [`mpop_keys_at`]).
pub fn zmpop_keys(argv: &[Bytes]) -> Vec<usize> {
    mpop_keys_at(argv, 1)
}

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count] (see [`parse_mpop`]).
fn parse_zmpop(argv: &[Bytes]) -> Result<(MPop<'_>, End), &'static str> {
    let args = parse_mpop(argv, 1, ["min", "max"])?;
    let end = if args.first { End::Min } else { End::Max };
    Ok((args, end))
}

/// ZMPOP: pops from the first key that exists (a wrong type there is WRONGTYPE; keys after it
/// are not looked at). The reply is `[key, [[m, s], ...]]` in both protocols, a null array if
/// every key is absent.
fn zmpop(c: &mut Ctx, argv: &[Bytes]) {
    let (args, end) = match parse_zmpop(argv) {
        Ok(a) => a,
        Err(e) => return c.out.error(e),
    };
    for key in args.keys {
        match pop_key(c, key, end, args.count) {
            Err(_) => return c.out.error(ERR_WRONGTYPE),
            Ok(None) => continue,
            Ok(Some(taken)) => {
                c.out.array(2);
                c.out.bulk(key);
                c.out.array(taken.len());
                for (m, s) in &taken {
                    c.out.array(2);
                    c.out.bulk(m);
                    c.out.score(*s);
                }
                return;
            }
        }
    }
    c.out.null_array();
}

// ---- ZRANDMEMBER ------------------------------------------------------------------------------

/// Random access into a sorted set: a pack finds a position by walking, so its elements are
/// listed once (a pack is small by definition); the sorted index finds a rank in O(log n).
struct Picker<'a> {
    z: &'a ZSetObj,
    listed: Option<Vec<(&'a [u8], f64)>>,
}

impl<'a> Picker<'a> {
    fn new(z: &'a ZSetObj) -> Self {
        let listed = matches!(z, ZSetObj::Pack(_)).then(|| z.iter().collect());
        Picker { z, listed }
    }

    fn len(&self) -> usize {
        self.z.len()
    }

    fn at(&self, rank: usize) -> Option<(&'a [u8], f64)> {
        match &self.listed {
            Some(v) => v.get(rank).copied(),
            None => self.z.at(rank),
        }
    }

    /// `count` distinct elements at random (`count < len`): in the set's order for a pack
    /// (Redis samples a listpack in place), in the order drawn for the sorted index.
    fn distinct(&self, count: usize, rng: &mut impl Rng) -> Vec<(&'a [u8], f64)> {
        let mut ranks = rand::seq::index::sample(rng, self.len(), count).into_vec();
        if self.listed.is_some() {
            ranks.sort_unstable();
        }
        ranks.into_iter().filter_map(|r| self.at(r)).collect()
    }
}

/// One element of a ZRANDMEMBER reply: the member, with its score when asked (a `[m, s]` pair
/// in RESP3, two flat items in RESP2).
fn reply_elem(out: &mut ReplyWriter, (m, s): (&[u8], f64), withscores: bool) {
    if withscores && out.resp3 {
        out.array(2);
    }
    out.bulk(m);
    if withscores {
        out.score(s);
    }
}

/// The array header of a ZRANDMEMBER reply of `n` elements.
fn reply_len(out: &mut ReplyWriter, n: usize, withscores: bool) {
    out.array(if withscores && !out.resp3 { n * 2 } else { n });
}

/// `want` independent picks, in the order drawn, unless the reply would pass `limit` bytes:
/// then nothing is written (what was written is taken back) and the answer is false. A
/// count that cannot fit even with empty members is refused before any pick.
fn reply_picks(
    out: &mut ReplyWriter,
    picker: &Picker<'_>,
    want: u64,
    withscores: bool,
    rng: &mut impl Rng,
    limit: usize,
) -> bool {
    // The smallest element is an empty bulk string, `$0\r\n\r\n`.
    let want = match usize::try_from(want) {
        Ok(w) if w.saturating_mul(6) <= limit => w,
        _ => return false,
    };
    let len = picker.len();
    let start = out.buf.len();
    reply_len(out, want, withscores);
    for i in 0..want {
        if let Some(e) = picker.at(rng.random_range(0..len.max(1))) {
            reply_elem(out, e, withscores);
        }
        if (i % 1024 == 1023 || i + 1 == want) && out.buf.len() - start > limit {
            out.buf.truncate(start);
            return false;
        }
    }
    true
}

/// ZRANDMEMBER key [count [WITHSCORES]], in Redis's order: the count (not an integer, or
/// LONG_MIN), extra arguments, WITHSCORES's halved range (even on a missing key), the key.
fn zrandmember(c: &mut Ctx, argv: &[Bytes]) {
    let mut withscores = false;
    let count = match argv.get(2) {
        None => None,
        Some(a) => {
            let n = match parse_i64(a) {
                None => return c.out.error(ERR_NOT_INT),
                Some(i64::MIN) => return c.out.error(ERR_LONG_RANGE),
                Some(n) => n,
            };
            if argv.len() > 4 || (argv.len() == 4 && !eq(&argv[3], "withscores")) {
                return c.out.error(ERR_SYNTAX);
            }
            if argv.len() == 4 {
                withscores = true;
                if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&n) {
                    return c.out.error(ERR_RANGE);
                }
            }
            Some(n)
        }
    };
    let db = c.db();
    let z = match read_zset(&c.shared.stats, c.ks, db, &argv[1], c.now_ms) {
        Err(_) => return c.out.error(ERR_WRONGTYPE),
        Ok(None) if count.is_none() => return c.out.null(),
        Ok(None) => return c.out.array(0),
        Ok(Some(z)) => z,
    };
    let mut rng = rand::rng();
    let picker = Picker::new(z);
    let len = picker.len();
    let Some(n) = count else {
        match picker.at(rng.random_range(0..len.max(1))) {
            Some((m, _)) => c.out.bulk(m),
            None => c.out.null(),
        }
        return;
    };
    let (want, unique) = (n.unsigned_abs(), n > 0);
    if want == 0 {
        return c.out.array(0);
    }
    if !unique || want == 1 {
        if !reply_picks(
            c.out,
            &picker,
            want,
            withscores,
            &mut rng,
            MAX_RANDOM_REPLY_BYTES,
        ) {
            c.out.error(ERR_RANDOM_REPLY);
        }
        return;
    }
    if want >= len as u64 {
        // The whole set, in order.
        reply_len(c.out, len, withscores);
        for e in z.iter() {
            reply_elem(c.out, e, withscores);
        }
        return;
    }
    let picked = picker.distinct(want as usize, &mut rng);
    reply_len(c.out, picked.len(), withscores);
    for e in picked {
        reply_elem(c.out, e, withscores);
    }
}

/// A negative ZRANDMEMBER count whose reply would pass [`MAX_RANDOM_REPLY_BYTES`].
const ERR_RANDOM_REPLY: &str =
    "ERR value is out of range, the reply would exceed 512 MB (proto-max-bulk-len)";

// ---- ZSCAN ------------------------------------------------------------------------------------

/// A score as ZSCAN sends it from a pack: Redis's listpack holds an integral score within
/// +-2^62 as an integer and prints it so (1e17 -> `100000000000000000`); anything else is
/// the `%.17g` text it was stored as.
pub fn pack_score_text(s: f64) -> String {
    const LIMIT: f64 = 4_611_686_018_427_387_904.0; // (double)(LLONG_MAX / 2)
    if s.is_finite() && s.trunc() == s && (-LIMIT..=LIMIT).contains(&s) {
        format!("{}", s as i64)
    } else {
        crate::resp::format_g17(s)
    }
}

/// ZSCAN's options: MATCH (the last one wins; `*` is no filter) and COUNT.
fn parse_scan_options(args: &[Bytes]) -> Result<(Option<&[u8]>, usize), &'static str> {
    let mut pattern: Option<&[u8]> = None;
    let mut count = 10usize;
    let mut i = 0;
    while i < args.len() {
        let Some(value) = args.get(i + 1) else {
            return Err(ERR_SYNTAX);
        };
        if eq(&args[i], "count") {
            match parse_i64(value) {
                None => return Err(ERR_NOT_INT),
                Some(n) if n < 1 => return Err(ERR_SYNTAX),
                Some(n) => count = usize::try_from(n).unwrap_or(usize::MAX),
            }
        } else if eq(&args[i], "match") {
            pattern = Some(&value[..]).filter(|p| *p != b"*");
        } else {
            return Err(ERR_SYNTAX);
        }
        i += 2;
    }
    Ok((pattern, count))
}

/// ZSCAN key cursor [MATCH pattern] [COUNT count], in Redis 7.0's order: the cursor, then the
/// key (missing: an empty scan whatever the options say; another type: WRONGTYPE), then the
/// options. A pack comes back whole with cursor 0, as Redis returns a listpack. Scores are
/// bulk strings in both protocols, as Redis sends them.
fn zscan(c: &mut Ctx, argv: &[Bytes]) {
    let Some(cursor) = parse_scan_cursor(&argv[2]) else {
        return c.out.error("ERR invalid cursor");
    };
    let options = parse_scan_options(&argv[3..]);
    let db = c.db();
    let z = match read_zset(&c.shared.stats, c.ks, db, &argv[1], c.now_ms) {
        Err(_) => return c.out.error(ERR_WRONGTYPE),
        Ok(None) => {
            c.out.array(2);
            c.out.bulk(b"0");
            return c.out.array(0);
        }
        Ok(Some(z)) => z,
    };
    let (pattern, count) = match options {
        Ok(o) => o,
        Err(e) => return c.out.error(e),
    };
    let pack = matches!(z, ZSetObj::Pack(_));
    let (next, items) = z.scan(cursor, count);
    let items: Vec<(&[u8], f64)> = match pattern {
        None => items,
        Some(p) => items
            .into_iter()
            .filter(|(m, _)| crate::glob::matches(p, m, false))
            .collect(),
    };
    c.out.array(2);
    c.out.bulk(next.to_string().as_bytes());
    c.out.array(items.len() * 2);
    for (m, s) in items {
        c.out.bulk(m);
        let text = if pack {
            pack_score_text(s)
        } else {
            crate::resp::format_g17(s)
        };
        c.out.bulk(text.as_bytes());
    }
}

#[cfg(test)]
#[path = "zset_pop_tests.rs"]
mod tests;

//! The HASH family: HSET and friends, counters, HRANDFIELD and HSCAN, with Redis 7.0's replies.
//!
//! Every write goes through the keyspace's collection path (`Locked::hash_set` / `hash_del`),
//! which logs only the fields written or removed, never the whole hash, and logs nothing when
//! nothing changed. Argument checks come in Redis's order (often before the key's type), so a
//! bad argument and a key of another type fail with the same error Redis gives.

use super::longdouble::LongDouble;
use super::*;
use crate::glob;
use crate::keyspace::{HashObj, WrongType};

const WF: &[&str] = &["write", "denyoom", "fast"];
/// HDEL never grows memory, so Redis does not flag it `denyoom`.
const WF_NO_OOM: &[&str] = &["write", "fast"];
const RF: &[&str] = &["readonly", "fast"];
const RO: &[&str] = &["readonly"];
const ACL_WF: &[&str] = &["@write", "@hash", "@fast"];
const ACL_RF: &[&str] = &["@read", "@hash", "@fast"];
const ACL_R: &[&str] = &["@read", "@hash", "@slow"];

/// Redis's `since` for a command added after 1.0.0 (`spec` fills in 1.0.0).
const fn since(s: CommandSpec, version: &'static str) -> CommandSpec {
    CommandSpec {
        since: version,
        ..s
    }
}

/// A hash command: one key at argv[1], group `hash`, as every hash command in Redis 7.0.
#[allow(clippy::too_many_arguments)]
const fn hspec(
    name: &'static str,
    arity: i32,
    flags: &'static [&'static str],
    acl: &'static [&'static str],
    summary: &'static str,
    version: &'static str,
    handler: Handler,
) -> CommandSpec {
    since(
        spec(
            name,
            arity,
            flags,
            ONE_KEY,
            acl,
            Scope::Keys,
            "hash",
            summary,
            handler,
        ),
        version,
    )
}

pub static COMMANDS: &[CommandSpec] = &[
    hspec(
        "hset",
        -4,
        WF,
        ACL_WF,
        "Set the string value of a hash field",
        "2.0.0",
        hset,
    ),
    hspec(
        "hsetnx",
        4,
        WF,
        ACL_WF,
        "Set the value of a hash field, only if the field does not exist",
        "2.0.0",
        hsetnx,
    ),
    hspec(
        "hmset",
        -4,
        WF,
        ACL_WF,
        "Set multiple hash fields to multiple values",
        "2.0.0",
        hmset,
    ),
    hspec(
        "hget",
        3,
        RF,
        ACL_RF,
        "Get the value of a hash field",
        "2.0.0",
        hget,
    ),
    hspec(
        "hmget",
        -3,
        RF,
        ACL_RF,
        "Get the values of all the given hash fields",
        "2.0.0",
        hmget,
    ),
    hspec(
        "hgetall",
        2,
        RO,
        ACL_R,
        "Get all the fields and values in a hash",
        "2.0.0",
        hgetall,
    ),
    hspec(
        "hdel",
        -3,
        WF_NO_OOM,
        ACL_WF,
        "Delete one or more hash fields",
        "2.0.0",
        hdel,
    ),
    hspec(
        "hexists",
        3,
        RF,
        ACL_RF,
        "Determine if a hash field exists",
        "2.0.0",
        hexists,
    ),
    hspec(
        "hlen",
        2,
        RF,
        ACL_RF,
        "Get the number of fields in a hash",
        "2.0.0",
        hlen,
    ),
    hspec(
        "hstrlen",
        3,
        RF,
        ACL_RF,
        "Get the length of the value of a hash field",
        "3.2.0",
        hstrlen,
    ),
    hspec(
        "hkeys",
        2,
        RO,
        ACL_R,
        "Get all the fields in a hash",
        "2.0.0",
        hkeys,
    ),
    hspec(
        "hvals",
        2,
        RO,
        ACL_R,
        "Get all the values in a hash",
        "2.0.0",
        hvals,
    ),
    hspec(
        "hincrby",
        4,
        WF,
        ACL_WF,
        "Increment the integer value of a hash field by the given number",
        "2.0.0",
        hincrby,
    ),
    hspec(
        "hincrbyfloat",
        4,
        WF,
        ACL_WF,
        "Increment the float value of a hash field by the given amount",
        "2.6.0",
        hincrbyfloat,
    ),
    hspec(
        "hrandfield",
        -2,
        RO,
        ACL_R,
        "Get one or multiple random fields from a hash",
        "6.2.0",
        hrandfield,
    ),
    hspec(
        "hscan",
        -3,
        RO,
        ACL_R,
        "Incrementally iterate hash fields and associated values",
        "2.8.0",
        hscan,
    ),
];

/// Runs `f` on the live hash under `key` (None if absent) and counts the lookup; a key of
/// another type replies WRONGTYPE instead (and counts as a hit: Redis counts the lookup before
/// it checks the type).
fn read_hash(c: &mut Ctx, key: &[u8], f: impl FnOnce(Option<&HashObj>, &mut ReplyWriter)) {
    let db = c.db();
    let hit = match c.ks.get_hash(db, key, c.now_ms) {
        Err(WrongType) => {
            c.out.error(ERR_WRONGTYPE);
            true
        }
        Ok(h) => {
            let hit = h.is_some();
            f(h, c.out);
            hit
        }
    };
    count_lookup(c, hit);
}

/// The pairs argv[2..] as owned (field, value) pairs; Redis's arity error if they don't pair up.
fn pairs_arg(argv: &[Bytes], name: &str) -> Result<Vec<(Bytes, Bytes)>, String> {
    let rest = argv.get(2..).unwrap_or_default();
    if rest.is_empty() || !rest.len().is_multiple_of(2) {
        return Err(wrong_args(name));
    }
    Ok(rest
        .chunks_exact(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect())
}

fn hset(c: &mut Ctx, argv: &[Bytes]) {
    let pairs = match pairs_arg(argv, "hset") {
        Ok(p) => p,
        Err(e) => return c.out.error(&e),
    };
    let db = c.db();
    match c.ks.hash_set(db, &argv[1], pairs, c.now_ms) {
        Ok(added) => c.out.int(added as i64),
        Err(WrongType) => c.out.error(ERR_WRONGTYPE),
    }
}

fn hmset(c: &mut Ctx, argv: &[Bytes]) {
    let pairs = match pairs_arg(argv, "hmset") {
        Ok(p) => p,
        Err(e) => return c.out.error(&e),
    };
    let db = c.db();
    match c.ks.hash_set(db, &argv[1], pairs, c.now_ms) {
        Ok(_) => c.out.ok(),
        Err(WrongType) => c.out.error(ERR_WRONGTYPE),
    }
}

/// HSETNX on a field already there changes nothing, so it logs nothing and leaves WATCH alone.
fn hsetnx(c: &mut Ctx, argv: &[Bytes]) {
    let db = c.db();
    let exists = match c.ks.get_hash(db, &argv[1], c.now_ms) {
        Err(WrongType) => return c.out.error(ERR_WRONGTYPE),
        Ok(h) => h.is_some_and(|h| h.contains(&argv[2])),
    };
    if exists {
        return c.out.int(0);
    }
    let pair = vec![(argv[2].clone(), argv[3].clone())];
    match c.ks.hash_set(db, &argv[1], pair, c.now_ms) {
        Ok(_) => c.out.int(1),
        Err(WrongType) => c.out.error(ERR_WRONGTYPE),
    }
}

fn hget(c: &mut Ctx, argv: &[Bytes]) {
    read_hash(c, &argv[1], |h, out| {
        out.bulk_opt(h.and_then(|h| h.get(&argv[2])))
    });
}

fn hmget(c: &mut Ctx, argv: &[Bytes]) {
    read_hash(c, &argv[1], |h, out| {
        let fields = &argv[2..];
        out.array(fields.len());
        for f in fields {
            out.bulk_opt(h.and_then(|h| h.get(f)));
        }
    });
}

/// Which parts of each pair HGETALL / HKEYS / HVALS reply with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Parts {
    Both,
    Fields,
    Values,
}

/// HGETALL is a map in RESP3 (a flat array in RESP2); HKEYS and HVALS are arrays, walked in
/// the same order so the i-th value belongs to the i-th field, as in Redis.
fn reply_all(c: &mut Ctx, key: &[u8], parts: Parts) {
    read_hash(c, key, |h, out| {
        let n = h.map_or(0, |h| h.len());
        if parts == Parts::Both {
            out.map(n);
        } else {
            out.array(n);
        }
        for (f, v) in h.into_iter().flat_map(|h| h.iter()) {
            if parts != Parts::Values {
                out.bulk(f);
            }
            if parts != Parts::Fields {
                out.bulk(v);
            }
        }
    });
}

fn hgetall(c: &mut Ctx, argv: &[Bytes]) {
    reply_all(c, &argv[1], Parts::Both)
}

fn hkeys(c: &mut Ctx, argv: &[Bytes]) {
    reply_all(c, &argv[1], Parts::Fields)
}

fn hvals(c: &mut Ctx, argv: &[Bytes]) {
    reply_all(c, &argv[1], Parts::Values)
}

/// HDEL of absent fields (or of a missing key) changes nothing and logs nothing; removing the
/// last field removes the key.
fn hdel(c: &mut Ctx, argv: &[Bytes]) {
    let db = c.db();
    match c.ks.hash_del(db, &argv[1], &argv[2..], c.now_ms) {
        Ok(n) => c.out.int(n as i64),
        Err(WrongType) => c.out.error(ERR_WRONGTYPE),
    }
}

fn hexists(c: &mut Ctx, argv: &[Bytes]) {
    read_hash(c, &argv[1], |h, out| {
        out.int(h.is_some_and(|h| h.contains(&argv[2])) as i64)
    });
}

fn hlen(c: &mut Ctx, argv: &[Bytes]) {
    read_hash(c, &argv[1], |h, out| {
        out.int(h.map_or(0, |h| h.len()) as i64)
    });
}

fn hstrlen(c: &mut Ctx, argv: &[Bytes]) {
    read_hash(c, &argv[1], |h, out| {
        out.int(h.and_then(|h| h.get(&argv[2])).map_or(0, |v| v.len()) as i64)
    });
}

/// The current value of a field (None if the field or the key is absent), for the counters.
fn field_value(c: &mut Ctx, key: &[u8], field: &[u8]) -> Result<Option<Bytes>, WrongType> {
    let db = c.db();
    Ok(c.ks
        .get_hash(db, key, c.now_ms)?
        .and_then(|h| h.get(field))
        .map(Bytes::copy_from_slice))
}

/// Redis's order: the increment, then the key's type, then the field's value, then overflow.
fn hincrby(c: &mut Ctx, argv: &[Bytes]) {
    let Some(by) = parse_i64(&argv[3]) else {
        return c.out.error(ERR_NOT_INT);
    };
    let cur = match field_value(c, &argv[1], &argv[2]) {
        Err(WrongType) => return c.out.error(ERR_WRONGTYPE),
        Ok(None) => 0,
        Ok(Some(v)) => match parse_i64(&v) {
            Some(n) => n,
            None => return c.out.error("ERR hash value is not an integer"),
        },
    };
    let Some(next) = cur.checked_add(by) else {
        return c.out.error("ERR increment or decrement would overflow");
    };
    let db = c.db();
    let pair = vec![(argv[2].clone(), Bytes::from(next.to_string()))];
    match c.ks.hash_set(db, &argv[1], pair, c.now_ms) {
        Ok(_) => c.out.int(next),
        Err(WrongType) => c.out.error(ERR_WRONGTYPE),
    }
}

/// Long double arithmetic as Redis's (see [`super::longdouble`]), in Redis's order: the
/// increment (not a float; NaN or infinite), the key's type, the field's value, the sum. The
/// WAL logs the resulting text through `hash_set`, so replay never recomputes floating point.
fn hincrbyfloat(c: &mut Ctx, argv: &[Bytes]) {
    let Some(by) = LongDouble::parse(&argv[3]) else {
        return c.out.error(ERR_NOT_FLOAT);
    };
    if !by.is_finite() {
        return c.out.error("ERR value is NaN or Infinity");
    }
    let cur = match field_value(c, &argv[1], &argv[2]) {
        Err(WrongType) => return c.out.error(ERR_WRONGTYPE),
        Ok(None) => LongDouble::ZERO,
        Ok(Some(v)) => match LongDouble::parse(&v) {
            Some(n) => n,
            None => return c.out.error("ERR hash value is not a float"),
        },
    };
    let text = match cur.checked_add(by) {
        Some(sum) if sum.is_finite() => sum.to_human_string(),
        _ => return c.out.error("ERR increment would produce NaN or Infinity"),
    };
    let db = c.db();
    let pair = vec![(argv[2].clone(), Bytes::from(text.clone()))];
    match c.ks.hash_set(db, &argv[1], pair, c.now_ms) {
        Ok(_) => c.out.bulk(text.as_bytes()),
        Err(WrongType) => c.out.error(ERR_WRONGTYPE),
    }
}

/// Redis's bounds on HRANDFIELD's count: `-LONG_MAX..=LONG_MAX`, and with WITHVALUES half
/// that, so the reply's length (2 × count) cannot overflow.
fn hrandfield(c: &mut Ctx, argv: &[Bytes]) {
    if argv.len() == 2 {
        return read_hash(c, &argv[1], |h, out| match h.filter(|h| !h.is_empty()) {
            None => out.null(),
            Some(h) => {
                let i = rand::random_range(0..h.len());
                out.bulk_opt(h.pair_at(i).map(|(f, _)| f))
            }
        });
    }
    let Some(count) = parse_i64(&argv[2]) else {
        return c.out.error(ERR_NOT_INT);
    };
    if count == i64::MIN {
        return c.out.error(
            "ERR value is out of range, value must between -9223372036854775807 and \
             9223372036854775807",
        );
    }
    let with_values = match argv.get(3) {
        None => false,
        Some(a) if argv.len() == 4 && eq(a, "withvalues") => true,
        Some(_) => return c.out.error(ERR_SYNTAX),
    };
    if with_values && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return c.out.error("ERR value is out of range");
    }
    read_hash(c, &argv[1], |h, out| match h {
        Some(h) if count != 0 => random_fields(h, count, with_values, out),
        _ => out.array(0),
    });
}

/// HRANDFIELD with a count: a negative count picks `|count|` times with repeats; a positive
/// one picks distinct fields, the whole hash if it holds no more than `count`. RESP3 sends
/// WITHVALUES pairs as two-element arrays, RESP2 flat (as Redis 7.0 does).
fn random_fields(h: &HashObj, count: i64, with_values: bool, out: &mut ReplyWriter) {
    let len = h.len();
    let nested = with_values && out.resp3;
    let emit = |out: &mut ReplyWriter, (f, v): (&[u8], &[u8])| {
        if nested {
            out.array(2);
        }
        out.bulk(f);
        if with_values {
            out.bulk(v);
        }
    };
    let header = |out: &mut ReplyWriter, n: usize| {
        out.array(if with_values && !out.resp3 { n * 2 } else { n })
    };
    if count > 0 && count as u64 >= len as u64 {
        header(out, len);
        for p in h.iter() {
            emit(out, p);
        }
        return;
    }
    // A pack has no random access (pair_at walks it), so index its pairs once; a pack is small.
    let packed: Vec<(&[u8], &[u8])> = match h {
        HashObj::Pack(_) => h.iter().collect(),
        HashObj::Dense(_) => Vec::new(),
    };
    let at = |i: usize| match h {
        HashObj::Pack(_) => packed.get(i).copied(),
        HashObj::Dense(_) => h.pair_at(i),
    };
    let mut rng = rand::rng();
    if count < 0 {
        let n = count.unsigned_abs() as usize;
        header(out, n);
        for _ in 0..n {
            if let Some(p) = at(rand::Rng::random_range(&mut rng, 0..len)) {
                emit(out, p);
            }
        }
        return;
    }
    let picks = rand::seq::index::sample(&mut rng, len, count as usize);
    header(out, picks.len());
    for i in picks {
        if let Some(p) = at(i) {
            emit(out, p);
        }
    }
}

/// HSCAN in Redis's order: the cursor, then the key (missing: an empty scan before any option
/// is read; another type: WRONGTYPE), then the options. A listpack comes back whole with
/// cursor 0, a table one step at a time.
fn hscan(c: &mut Ctx, argv: &[Bytes]) {
    let Some(cursor) = parse_scan_cursor(&argv[2]) else {
        return c.out.error("ERR invalid cursor");
    };
    let db = c.db();
    let now = c.now_ms;
    let hit = match c.ks.get_hash(db, &argv[1], now) {
        Err(WrongType) => {
            count_lookup(c, true);
            return c.out.error(ERR_WRONGTYPE);
        }
        Ok(h) => h.is_some(),
    };
    count_lookup(c, hit);
    if !hit {
        c.out.array(2);
        c.out.bulk(b"0");
        return c.out.array(0);
    }
    let mut pattern: Option<&[u8]> = None;
    let mut count = 10usize;
    let mut i = 3;
    while i < argv.len() {
        let (word, value) = match (argv.get(i), argv.get(i + 1)) {
            (Some(w), Some(v)) => (w, v),
            _ => return c.out.error(ERR_SYNTAX),
        };
        if eq(word, "count") {
            match parse_i64(value) {
                Some(n) if n >= 1 => count = usize::try_from(n).unwrap_or(usize::MAX),
                Some(_) => return c.out.error(ERR_SYNTAX),
                None => return c.out.error(ERR_NOT_INT),
            }
        } else if eq(word, "match") {
            pattern = Some(&value[..]).filter(|p| *p != b"*");
        } else {
            return c.out.error(ERR_SYNTAX);
        }
        i += 2;
    }
    let Ctx { ks, out, .. } = c;
    let Ok(Some(h)) = ks.get_hash(db, &argv[1], now) else {
        out.array(2);
        out.bulk(b"0");
        return out.array(0);
    };
    let (next, items) = h.scan(cursor, count);
    let kept: Vec<_> = items
        .into_iter()
        .filter(|(f, _)| pattern.is_none_or(|p| glob::matches(p, f, false)))
        .collect();
    out.array(2);
    out.bulk(next.to_string().as_bytes());
    out.array(kept.len() * 2);
    for (f, v) in kept {
        out.bulk(f);
        out.bulk(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_cursor_parses_as_strtoul() {
        assert_eq!(parse_scan_cursor(b"0"), Some(0));
        assert_eq!(parse_scan_cursor(b""), Some(0));
        assert_eq!(parse_scan_cursor(b"+5"), Some(5));
        assert_eq!(parse_scan_cursor(b"007"), Some(7));
        assert_eq!(parse_scan_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_scan_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_scan_cursor(b"18446744073709551616"), None);
        assert_eq!(parse_scan_cursor(b"+"), None);
        assert_eq!(parse_scan_cursor(b"-"), None);
        assert_eq!(parse_scan_cursor(b" 1"), None);
        assert_eq!(parse_scan_cursor(b"1 "), None);
        assert_eq!(parse_scan_cursor(b"5x"), None);
    }

    #[test]
    fn hash_specs_carry_redis_metadata() {
        let hset = lookup(b"hset").unwrap();
        assert_eq!((hset.arity, hset.since, hset.group), (-4, "2.0.0", "hash"));
        assert_eq!(lookup(b"hrandfield").unwrap().since, "6.2.0");
        assert_eq!(lookup(b"hstrlen").unwrap().since, "3.2.0");
        assert!(!lookup(b"hdel").unwrap().has_flag("denyoom"));
        assert!(lookup(b"hscan").unwrap().acl.contains(&"@slow"));
        assert_eq!(hset.key_indices(6), vec![1]);
    }
}

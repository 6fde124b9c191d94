//! The SET family: SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SPOP, SRANDMEMBER,
//! SMOVE, SINTER, SINTERCARD, SINTERSTORE, SUNION, SUNIONSTORE, SDIFF, SDIFFSTORE and SSCAN,
//! with Redis 7.0's argument checks, error order and reply shapes (RESP3 set replies where
//! Redis uses them).
//!
//! Writes go through the keyspace's set deltas (`set_add`, `set_rem`), so the WAL holds the
//! members added or removed, never the whole set; random choices (SPOP, SRANDMEMBER) are made
//! here, before anything is logged, so replay never draws a random number. The `*STORE`
//! commands write their result as a whole new value (`put`), as Redis replaces the
//! destination whatever it held.

use super::*;
use crate::keyspace::{Locked, Member, SetObj, Value, WrongType};
use crate::server::Stats;
use rand::Rng;
use std::sync::atomic::Ordering;

const WF: &[&str] = &["write", "fast"];
const WFD: &[&str] = &["write", "denyoom", "fast"];
const WD: &[&str] = &["write", "denyoom"];
const RF: &[&str] = &["readonly", "fast"];
const RO: &[&str] = &["readonly"];
const ACL_WF: &[&str] = &["@write", "@set", "@fast"];
const ACL_W: &[&str] = &["@write", "@set", "@slow"];
const ACL_RF: &[&str] = &["@read", "@set", "@fast"];
const ACL_R: &[&str] = &["@read", "@set", "@slow"];

/// A set command's spec: the `set` group, with Redis's `since` version.
#[allow(clippy::too_many_arguments)]
const fn set_spec(
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
        "set", name, arity, flags, keys, acl, since, summary, handler,
    )
}

pub const COMMANDS: &[CommandSpec] = &[
    set_spec(
        "sadd",
        -3,
        WFD,
        ONE_KEY,
        ACL_WF,
        "1.0.0",
        "Add one or more members to a set",
        sadd,
    ),
    set_spec(
        "srem",
        -3,
        WF,
        ONE_KEY,
        ACL_WF,
        "1.0.0",
        "Remove one or more members from a set",
        srem,
    ),
    set_spec(
        "smembers",
        2,
        RO,
        ONE_KEY,
        ACL_R,
        "1.0.0",
        "Get all the members in a set",
        smembers,
    ),
    set_spec(
        "sismember",
        3,
        RF,
        ONE_KEY,
        ACL_RF,
        "1.0.0",
        "Determine if a given value is a member of a set",
        sismember,
    ),
    set_spec(
        "smismember",
        -3,
        RF,
        ONE_KEY,
        ACL_RF,
        "6.2.0",
        "Returns the membership associated with the given elements for a set",
        smismember,
    ),
    set_spec(
        "scard",
        2,
        RF,
        ONE_KEY,
        ACL_RF,
        "1.0.0",
        "Get the number of members in a set",
        scard,
    ),
    set_spec(
        "spop",
        -2,
        WF,
        ONE_KEY,
        ACL_WF,
        "1.0.0",
        "Remove and return one or multiple random members from a set",
        spop,
    ),
    set_spec(
        "srandmember",
        -2,
        RO,
        ONE_KEY,
        ACL_R,
        "1.0.0",
        "Get one or multiple random members from a set",
        srandmember,
    ),
    set_spec(
        "smove",
        4,
        WF,
        (1, 2, 1),
        ACL_WF,
        "1.0.0",
        "Move a member from one set to another",
        smove,
    ),
    set_spec(
        "sinter",
        -2,
        RO,
        (1, -1, 1),
        ACL_R,
        "1.0.0",
        "Intersect multiple sets",
        sinter,
    ),
    CommandSpec {
        // Redis reports 0 0 0 for a command whose keys are counted by an argument; the
        // dispatcher locks the shards `sintercard_keys` finds.
        movable_keys: Some(sintercard_keys),
        ..set_spec(
            "sintercard",
            -3,
            &["readonly", "movablekeys"],
            NO_KEYS,
            ACL_R,
            "7.0.0",
            "Intersect multiple sets and return the cardinality of the result",
            sintercard,
        )
    },
    set_spec(
        "sinterstore",
        -3,
        WD,
        (1, -1, 1),
        ACL_W,
        "1.0.0",
        "Intersect multiple sets and store the resulting set in a key",
        sinterstore,
    ),
    set_spec(
        "sunion",
        -2,
        RO,
        (1, -1, 1),
        ACL_R,
        "1.0.0",
        "Add multiple sets",
        sunion,
    ),
    set_spec(
        "sunionstore",
        -3,
        WD,
        (1, -1, 1),
        ACL_W,
        "1.0.0",
        "Add multiple sets and store the resulting set in a key",
        sunionstore,
    ),
    set_spec(
        "sdiff",
        -2,
        RO,
        (1, -1, 1),
        ACL_R,
        "1.0.0",
        "Subtract multiple sets",
        sdiff,
    ),
    set_spec(
        "sdiffstore",
        -3,
        WD,
        (1, -1, 1),
        ACL_W,
        "1.0.0",
        "Subtract multiple sets and store the resulting set in a key",
        sdiffstore,
    ),
    set_spec(
        "sscan",
        -3,
        RO,
        ONE_KEY,
        ACL_R,
        "2.8.0",
        "Incrementally iterate Set elements",
        sscan,
    ),
];

// ---- lookups ----------------------------------------------------------------------------------

/// Counts read lookups in INFO's `keyspace_hits` / `keyspace_misses`, as Redis's
/// `lookupKeyRead` does: the reads and the `*STORE` sources count, the write commands' own
/// lookups (SADD, SREM, SPOP, SMOVE) do not.
fn tally(stats: &Stats, hits: usize, misses: usize) {
    stats
        .keyspace_hits
        .fetch_add(hits as u64, Ordering::Relaxed);
    stats
        .keyspace_misses
        .fetch_add(misses as u64, Ordering::Relaxed);
}

/// One set read as Redis's `lookupKeyRead` reads it (a key of another kind counts as a hit).
fn read_set<'k>(
    ks: &'k mut Locked<'_>,
    stats: &Stats,
    db: DbIndex,
    key: &[u8],
    now_ms: u64,
) -> Result<Option<&'k SetObj>, WrongType> {
    let r = ks.get_set(db, key, now_ms);
    let hit = !matches!(r, Ok(None));
    tally(stats, hit as usize, !hit as usize);
    r
}

/// Several sets read side by side (SINTER & co.), each lookup counted.
fn read_sets<'k>(
    ks: &'k mut Locked<'_>,
    stats: &Stats,
    db: DbIndex,
    keys: &[Bytes],
    now_ms: u64,
) -> Result<Vec<Option<&'k SetObj>>, WrongType> {
    let sets = ks.get_sets(db, keys, now_ms)?;
    let hits = sets.iter().filter(|s| s.is_some()).count();
    tally(stats, hits, sets.len() - hits);
    Ok(sets)
}

// ---- replies --------------------------------------------------------------------------------

fn bulk_member(out: &mut ReplyWriter, m: &Member<'_>) {
    m.with_bytes(|b| out.bulk(b));
}

/// Whether `set` holds `m`.
fn has(set: &SetObj, m: &Member<'_>) -> bool {
    m.with_bytes(|b| set.contains(b))
}

// ---- single-key commands --------------------------------------------------------------------

fn sadd(c: &mut Ctx, argv: &[Bytes]) {
    let db = c.db();
    match c.ks.set_add(db, &argv[1], &argv[2..], c.now_ms) {
        Ok(n) => c.out.int(n as i64),
        Err(_) => c.out.error(ERR_WRONGTYPE),
    }
}

fn srem(c: &mut Ctx, argv: &[Bytes]) {
    let db = c.db();
    match c.ks.set_rem(db, &argv[1], &argv[2..], c.now_ms) {
        Ok(n) => c.out.int(n as i64),
        Err(_) => c.out.error(ERR_WRONGTYPE),
    }
}

fn smembers(c: &mut Ctx, argv: &[Bytes]) {
    let db = c.db();
    match read_set(c.ks, &c.shared.stats, db, &argv[1], c.now_ms) {
        Err(_) => c.out.error(ERR_WRONGTYPE),
        Ok(None) => c.out.set(0),
        Ok(Some(s)) => {
            c.out.set(s.len());
            for m in s.iter() {
                bulk_member(c.out, &m);
            }
        }
    }
}

fn sismember(c: &mut Ctx, argv: &[Bytes]) {
    let db = c.db();
    match read_set(c.ks, &c.shared.stats, db, &argv[1], c.now_ms) {
        Err(_) => c.out.error(ERR_WRONGTYPE),
        Ok(s) => c.out.int(s.is_some_and(|s| s.contains(&argv[2])) as i64),
    }
}

fn smismember(c: &mut Ctx, argv: &[Bytes]) {
    let db = c.db();
    match read_set(c.ks, &c.shared.stats, db, &argv[1], c.now_ms) {
        Err(_) => c.out.error(ERR_WRONGTYPE),
        Ok(s) => {
            c.out.array(argv.len() - 2);
            for m in &argv[2..] {
                c.out.int(s.is_some_and(|s| s.contains(m)) as i64);
            }
        }
    }
}

fn scard(c: &mut Ctx, argv: &[Bytes]) {
    let db = c.db();
    match read_set(c.ks, &c.shared.stats, db, &argv[1], c.now_ms) {
        Err(_) => c.out.error(ERR_WRONGTYPE),
        Ok(s) => c.out.int(s.map_or(0, |s| s.len()) as i64),
    }
}

/// Random access into a set: a listpack finds a position by walking, so its members are
/// listed once (a listpack is small by definition); intsets and tables index directly.
struct Picker<'a> {
    set: &'a SetObj,
    listed: Option<Vec<Member<'a>>>,
}

impl<'a> Picker<'a> {
    fn new(set: &'a SetObj) -> Self {
        let listed = matches!(set, SetObj::Pack(_)).then(|| set.iter().collect());
        Picker { set, listed }
    }

    fn at(&self, i: usize) -> Option<Member<'a>> {
        match &self.listed {
            Some(v) => v.get(i).cloned(),
            None => self.set.at(i),
        }
    }

    /// `count` distinct members chosen at random (`count < len`).
    fn distinct(&self, count: usize) -> Vec<Member<'a>> {
        let mut rng = rand::rng();
        rand::seq::index::sample(&mut rng, self.set.len(), count)
            .into_iter()
            .filter_map(|i| self.at(i))
            .collect()
    }
}

/// SPOP key: one random member, removed. SPOP key count: up to `count` distinct members.
fn spop(c: &mut Ctx, argv: &[Bytes]) {
    if argv.len() > 3 {
        return c.out.error(ERR_SYNTAX);
    }
    if argv.len() == 3 {
        return spop_count(c, argv);
    }
    let db = c.db();
    let key = &argv[1];
    let picked = match c.ks.get_set(db, key, c.now_ms) {
        Err(_) => return c.out.error(ERR_WRONGTYPE),
        Ok(None) => return c.out.null(),
        Ok(Some(s)) => {
            let i = rand::rng().random_range(0..s.len().max(1));
            Picker::new(s).at(i).map(|m| m.to_bytes())
        }
    };
    let Some(m) = picked else {
        return c.out.null();
    };
    // The member is chosen before logging: the WAL records which one was taken.
    let _ = c.ks.set_rem(db, key, std::slice::from_ref(&m), c.now_ms);
    c.out.bulk(&m);
}

fn spop_count(c: &mut Ctx, argv: &[Bytes]) {
    // Redis checks the count before the key: a bad count fails even on a missing key.
    let Some(count) = parse_i64(&argv[2]).filter(|n| *n >= 0) else {
        return c.out.error("ERR value is out of range, must be positive");
    };
    let db = c.db();
    let key = &argv[1];
    let (taken, all) = match c.ks.get_set(db, key, c.now_ms) {
        Err(_) => return c.out.error(ERR_WRONGTYPE),
        Ok(None) => return c.out.set(0),
        Ok(Some(_)) if count == 0 => return c.out.set(0),
        Ok(Some(s)) if count as u64 >= s.len() as u64 => {
            (s.iter().map(|m| m.to_bytes()).collect::<Vec<_>>(), true)
        }
        Ok(Some(s)) => {
            let picked = Picker::new(s).distinct(count as usize);
            (picked.iter().map(|m| m.to_bytes()).collect(), false)
        }
    };
    if all {
        // Taking every member deletes the key: one small Del instead of the whole set.
        c.ks.del(db, key, c.now_ms);
    } else {
        let _ = c.ks.set_rem(db, key, &taken, c.now_ms);
    }
    c.out.set(taken.len());
    for m in &taken {
        c.out.bulk(m);
    }
}

/// SRANDMEMBER key [count]: a positive count gives distinct members (the whole set if it is
/// not bigger), a negative one `-count` independent picks that may repeat.
fn srandmember(c: &mut Ctx, argv: &[Bytes]) {
    if argv.len() > 3 {
        return c.out.error(ERR_SYNTAX);
    }
    let count = match argv.get(2) {
        None => None,
        Some(a) => match parse_i64(a) {
            None => return c.out.error(ERR_NOT_INT),
            Some(i64::MIN) => {
                return c.out.error(
                    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
                )
            }
            Some(n) => Some(n),
        },
    };
    let db = c.db();
    let set = match read_set(c.ks, &c.shared.stats, db, &argv[1], c.now_ms) {
        Err(_) => return c.out.error(ERR_WRONGTYPE),
        Ok(None) if count.is_none() => return c.out.null(),
        Ok(None) => return c.out.array(0),
        Ok(Some(s)) => s,
    };
    let picker = Picker::new(set);
    let len = set.len();
    let mut rng = rand::rng();
    match count {
        None => {
            let i = rng.random_range(0..len.max(1));
            match picker.at(i) {
                Some(m) => bulk_member(c.out, &m),
                None => c.out.null(),
            }
        }
        Some(0) => c.out.array(0),
        Some(n) if n < 0 => {
            let n = n.unsigned_abs() as usize;
            c.out.array(n);
            for _ in 0..n {
                match picker.at(rng.random_range(0..len.max(1))) {
                    Some(m) => bulk_member(c.out, &m),
                    None => c.out.null(),
                }
            }
        }
        Some(n) if n as u64 >= len as u64 => {
            c.out.array(len);
            for m in set.iter() {
                bulk_member(c.out, &m);
            }
        }
        Some(n) => {
            let picked = picker.distinct(n as usize);
            c.out.array(picked.len());
            for m in &picked {
                bulk_member(c.out, m);
            }
        }
    }
}

/// SMOVE in Redis's order: a missing source answers 0 before any type check; then both keys'
/// types; a move onto itself only answers membership.
fn smove(c: &mut Ctx, argv: &[Bytes]) {
    let (src, dst, m) = (&argv[1], &argv[2], &argv[3]);
    let db = c.db();
    let now = c.now_ms;
    let present = match c.ks.get_set(db, src, now) {
        Err(_) => {
            return c.out.error(ERR_WRONGTYPE);
        }
        Ok(None) => return c.out.int(0),
        Ok(Some(s)) => s.contains(m),
    };
    if c.ks.get_set(db, dst, now).is_err() {
        return c.out.error(ERR_WRONGTYPE);
    }
    if src == dst || !present {
        return c.out.int(present as i64);
    }
    // Two deltas in one WAL entry: the member leaves `src` (which goes if left empty) and
    // joins `dst` (nothing logged for it if it was already there).
    let moved = std::slice::from_ref(m);
    if c.ks.set_rem(db, src, moved, now).is_err() || c.ks.set_add(db, dst, moved, now).is_err() {
        return c.out.error(ERR_WRONGTYPE);
    }
    c.out.int(1);
}

// ---- intersections, unions, differences -----------------------------------------------------

/// The members common to every set, walking the smallest one (as Redis does, so an intset's
/// order shows); at most `limit` of them (0 = no limit). Empty if any key is missing.
fn intersect<'a>(sets: &[Option<&'a SetObj>], limit: usize) -> Vec<Member<'a>> {
    let Some(mut present) = sets.iter().copied().collect::<Option<Vec<&SetObj>>>() else {
        return Vec::new();
    };
    present.sort_by_key(|s| s.len());
    let Some((first, rest)) = present.split_first() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for m in first.iter() {
        if rest.iter().all(|s| has(s, &m)) {
            out.push(m);
            if limit != 0 && out.len() >= limit {
                break;
            }
        }
    }
    out
}

fn reply_members<'a>(out: &mut ReplyWriter, members: impl ExactSizeIterator<Item = Member<'a>>) {
    out.set(members.len());
    for m in members {
        bulk_member(out, &m);
    }
}

fn sinter(c: &mut Ctx, argv: &[Bytes]) {
    let db = c.db();
    let sets = match read_sets(c.ks, &c.shared.stats, db, &argv[1..], c.now_ms) {
        Ok(s) => s,
        Err(_) => return c.out.error(ERR_WRONGTYPE),
    };
    let common = intersect(&sets, 0);
    reply_members(c.out, common.into_iter());
}

/// SINTERCARD's key positions: `numkeys` keys after it, or none when `numkeys` does not fit
/// the arguments (the handler then refuses the call before touching a key).
fn sintercard_keys(argv: &[Bytes]) -> Vec<usize> {
    match argv.get(1).and_then(|n| parse_i64(n)) {
        Some(n) if n >= 1 && (n as u64) <= argv.len().saturating_sub(2) as u64 => {
            (2..2 + n as usize).collect()
        }
        _ => Vec::new(),
    }
}

fn sintercard(c: &mut Ctx, argv: &[Bytes]) {
    let numkeys = match parse_i64(&argv[1]) {
        Some(n) if n >= 1 => n as u64,
        _ => return c.out.error("ERR numkeys should be greater than 0"),
    };
    if numkeys > (argv.len() - 2) as u64 {
        return c
            .out
            .error("ERR Number of keys can't be greater than number of args");
    }
    let end = 2 + numkeys as usize;
    let mut limit = 0usize;
    let mut i = end;
    while i < argv.len() {
        if eq(&argv[i], "limit") && i + 1 < argv.len() {
            match parse_i64(&argv[i + 1]) {
                Some(n) if n >= 0 => limit = n as usize,
                _ => return c.out.error("ERR LIMIT can't be negative"),
            }
            i += 2;
        } else {
            return c.out.error(ERR_SYNTAX);
        }
    }
    let db = c.db();
    let sets = match read_sets(c.ks, &c.shared.stats, db, &argv[2..end], c.now_ms) {
        Ok(s) => s,
        Err(_) => return c.out.error(ERR_WRONGTYPE),
    };
    let n = intersect(&sets, limit).len();
    c.out.int(n as i64);
}

/// Writes a `*STORE` result: the new value replaces `dst` whatever it held (its TTL goes too);
/// an empty result deletes `dst` (nothing is logged if it was absent).
fn store(c: &mut Ctx, dst: &[u8], members: Vec<Bytes>) {
    let db = c.db();
    let n = members.len();
    if members.is_empty() {
        c.ks.del(db, dst, c.now_ms);
    } else {
        c.ks.put(db, dst, Value::Set(members), 0);
    }
    c.out.int(n as i64);
}

fn sinterstore(c: &mut Ctx, argv: &[Bytes]) {
    let db = c.db();
    let members: Vec<Bytes> = match read_sets(c.ks, &c.shared.stats, db, &argv[2..], c.now_ms) {
        Ok(sets) => intersect(&sets, 0).iter().map(|m| m.to_bytes()).collect(),
        Err(_) => return c.out.error(ERR_WRONGTYPE),
    };
    store(c, &argv[1], members);
}

/// The union (`diff` false) or the first set minus the others (`diff` true) of `keys`,
/// built as Redis builds it, member by member into a new set: its encoding and iteration order
/// are those of the stored result (an all-integer result is an intset, listed in order).
fn combined(c: &mut Ctx, keys: &[Bytes], diff: bool) -> Result<SetObj, WrongType> {
    let db = c.db();
    let now = c.now_ms;
    let limits = c.ks.keyspace().limits();
    let sets = read_sets(c.ks, &c.shared.stats, db, keys, now)?;
    let mut members: Vec<Bytes> = Vec::new();
    if diff {
        if let Some((Some(first), rest)) = sets.split_first() {
            let rest: Vec<&SetObj> = rest.iter().flatten().copied().collect();
            members.extend(
                first
                    .iter()
                    .filter(|m| !rest.iter().any(|s| has(s, m)))
                    .map(|m| m.to_bytes()),
            );
        }
    } else {
        for s in sets.iter().flatten() {
            members.extend(s.iter().map(|m| m.to_bytes()));
        }
    }
    Ok(SetObj::from_members(
        members.iter().map(|m| &m[..]),
        &limits,
    ))
}

/// SUNION/SDIFF: the result set, listed in its own order.
fn combine_reply(c: &mut Ctx, keys: &[Bytes], diff: bool) {
    match combined(c, keys, diff) {
        Ok(result) => reply_members(c.out, result.iter().collect::<Vec<_>>().into_iter()),
        Err(_) => c.out.error(ERR_WRONGTYPE),
    }
}

fn combine_store(c: &mut Ctx, argv: &[Bytes], diff: bool) {
    match combined(c, &argv[2..], diff) {
        Ok(result) => {
            let members = result.iter().map(|m| m.to_bytes()).collect();
            store(c, &argv[1], members);
        }
        Err(_) => c.out.error(ERR_WRONGTYPE),
    }
}

fn sunion(c: &mut Ctx, argv: &[Bytes]) {
    combine_reply(c, &argv[1..], false)
}

fn sunionstore(c: &mut Ctx, argv: &[Bytes]) {
    combine_store(c, argv, false)
}

fn sdiff(c: &mut Ctx, argv: &[Bytes]) {
    combine_reply(c, &argv[1..], true)
}

fn sdiffstore(c: &mut Ctx, argv: &[Bytes]) {
    combine_store(c, argv, true)
}

// ---- SSCAN ----------------------------------------------------------------------------------

/// SSCAN in Redis 7.0's order: the cursor, then the key (missing: an empty scan whatever the
/// options say; another type: WRONGTYPE), then the options. An intset or listpack is returned
/// whole with cursor 0, as Redis does for its compact encodings.
fn sscan(c: &mut Ctx, argv: &[Bytes]) {
    let Some(cursor) = parse_scan_cursor(&argv[2]) else {
        return c.out.error("ERR invalid cursor");
    };
    let db = c.db();
    match read_set(c.ks, &c.shared.stats, db, &argv[1], c.now_ms) {
        Err(_) => return c.out.error(ERR_WRONGTYPE),
        Ok(None) => {
            c.out.array(2);
            c.out.bulk(b"0");
            return c.out.array(0);
        }
        Ok(Some(_)) => {}
    }
    let mut pattern: Option<&[u8]> = None;
    let mut count = 10usize;
    let mut i = 3;
    while i < argv.len() {
        let more = i + 1 < argv.len();
        if eq(&argv[i], "count") && more {
            match parse_i64(&argv[i + 1]) {
                None => return c.out.error(ERR_NOT_INT),
                Some(n) if n < 1 => return c.out.error(ERR_SYNTAX),
                Some(n) => count = usize::try_from(n).unwrap_or(usize::MAX),
            }
        } else if eq(&argv[i], "match") && more {
            // `*` matches everything: skip the matching, as Redis does.
            pattern = Some(&argv[i + 1][..]).filter(|p| *p != b"*");
        } else {
            return c.out.error(ERR_SYNTAX);
        }
        i += 2;
    }
    let Ok(Some(set)) = c.ks.get_set(db, &argv[1], c.now_ms) else {
        return c.out.error(ERR_WRONGTYPE);
    };
    let (next, items) = set.scan(cursor, count);
    let items: Vec<Member> = match pattern {
        None => items,
        Some(p) => items
            .into_iter()
            .filter(|m| m.with_bytes(|b| crate::glob::matches(p, b, false)))
            .collect(),
    };
    c.out.array(2);
    c.out.bulk(next.to_string().as_bytes());
    c.out.array(items.len());
    for m in &items {
        bulk_member(c.out, m);
    }
}

#[cfg(test)]
#[path = "set_tests.rs"]
mod tests;

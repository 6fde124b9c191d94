//! The list family, non-blocking commands: LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP, LLEN,
//! LINDEX, LRANGE, LSET, LINSERT, LREM, LTRIM, LPOS, LMOVE, RPOPLPUSH and LMPOP, with Redis
//! 7.0's argument checks, error order and reply shapes (the blocking forms live in
//! `blocking`, which reuses the pop, direction and key-finder helpers here).
//!
//! Every write goes through [`Locked::list_write`] and returns the deltas it applied, in
//! order: pushes log their elements, pops the count taken from which end, LSET the resolved
//! index, LINSERT the index the new element landed at, LREM its arguments, LTRIM the counts
//! dropped from each end. A write that changes nothing returns no delta: nothing is logged and
//! WATCH is untouched, exactly where Redis does not signal the key (LTRIM and LSET always do,
//! so they always log, `Trim { 0, 0 }` included).
//!
//! Reads count keyspace hits and misses as Redis's `lookupKeyRead` does; writes (pops
//! included) do not, as Redis's `lookupKeyWrite` does not.

use super::*;
use crate::keyspace::{Limits, ListDelta, ListObj, Locked, WrongType};
use crate::server::Stats;

const WFD: &[&str] = &["write", "denyoom", "fast"];
const WF: &[&str] = &["write", "fast"];
const WD: &[&str] = &["write", "denyoom"];
const WO: &[&str] = &["write"];
const RF: &[&str] = &["readonly", "fast"];
const RO: &[&str] = &["readonly"];
const ACL_WF: &[&str] = &["@write", "@list", "@fast"];
const ACL_W: &[&str] = &["@write", "@list", "@slow"];
const ACL_RF: &[&str] = &["@read", "@list", "@fast"];
const ACL_R: &[&str] = &["@read", "@list", "@slow"];

/// A list command's spec: the `list` group, with Redis's `since` version.
#[allow(clippy::too_many_arguments)]
const fn list_spec(
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
        "list", name, arity, flags, keys, acl, since, summary, handler,
    )
}

const TWO_KEYS: (i32, i32, i32) = (1, 2, 1);

pub const COMMANDS: &[CommandSpec] = &[
    list_spec(
        "lpush",
        -3,
        WFD,
        ONE_KEY,
        ACL_WF,
        "1.0.0",
        "Prepend one or multiple elements to a list",
        lpush,
    ),
    list_spec(
        "rpush",
        -3,
        WFD,
        ONE_KEY,
        ACL_WF,
        "1.0.0",
        "Append one or multiple elements to a list",
        rpush,
    ),
    list_spec(
        "lpushx",
        -3,
        WFD,
        ONE_KEY,
        ACL_WF,
        "2.2.0",
        "Prepend an element to a list, only if the list exists",
        lpushx,
    ),
    list_spec(
        "rpushx",
        -3,
        WFD,
        ONE_KEY,
        ACL_WF,
        "2.2.0",
        "Append an element to a list, only if the list exists",
        rpushx,
    ),
    list_spec(
        "lpop",
        -2,
        WF,
        ONE_KEY,
        ACL_WF,
        "1.0.0",
        "Remove and get the first elements in a list",
        lpop,
    ),
    list_spec(
        "rpop",
        -2,
        WF,
        ONE_KEY,
        ACL_WF,
        "1.0.0",
        "Remove and get the last elements in a list",
        rpop,
    ),
    list_spec(
        "llen",
        2,
        RF,
        ONE_KEY,
        ACL_RF,
        "1.0.0",
        "Get the length of a list",
        llen,
    ),
    list_spec(
        "lindex",
        3,
        RO,
        ONE_KEY,
        ACL_R,
        "1.0.0",
        "Get an element from a list by its index",
        lindex,
    ),
    list_spec(
        "lrange",
        4,
        RO,
        ONE_KEY,
        ACL_R,
        "1.0.0",
        "Get a range of elements from a list",
        lrange,
    ),
    list_spec(
        "lset",
        4,
        WD,
        ONE_KEY,
        ACL_W,
        "1.0.0",
        "Set the value of an element in a list by its index",
        lset,
    ),
    list_spec(
        "linsert",
        5,
        WD,
        ONE_KEY,
        ACL_W,
        "2.2.0",
        "Insert an element before or after another element in a list",
        linsert,
    ),
    list_spec(
        "lrem",
        4,
        WO,
        ONE_KEY,
        ACL_W,
        "1.0.0",
        "Remove elements from a list",
        lrem,
    ),
    list_spec(
        "ltrim",
        4,
        WO,
        ONE_KEY,
        ACL_W,
        "1.0.0",
        "Trim a list to the specified range",
        ltrim,
    ),
    list_spec(
        "lpos",
        -3,
        RO,
        ONE_KEY,
        ACL_R,
        "6.0.6",
        "Return the index of matching elements on a list",
        lpos,
    ),
    list_spec(
        "lmove",
        5,
        WD,
        TWO_KEYS,
        ACL_W,
        "6.2.0",
        "Pop an element from a list, push it to another list and return it",
        lmove,
    ),
    list_spec(
        "rpoplpush",
        3,
        WD,
        TWO_KEYS,
        ACL_W,
        "1.2.0",
        "Remove the last element in a list, prepend it to another list and return it",
        rpoplpush,
    ),
    CommandSpec {
        // Redis reports 0 0 0 for a command whose keys are counted by an argument; the
        // dispatcher locks the shards `lmpop_keys` finds.
        movable_keys: Some(lmpop_keys),
        ..list_spec(
            "lmpop",
            -4,
            &["write", "movablekeys"],
            NO_KEYS,
            ACL_W,
            "7.0.0",
            "Pop elements from a list",
            lmpop,
        )
    },
];

pub const ERR_POSITIVE: &str = "ERR value is out of range, must be positive";
const ERR_INDEX: &str = "ERR index out of range";
const ERR_RANK_ZERO: &str = "ERR RANK can't be zero: use 1 to start from the first match, 2 from \
                             the second ... or use negative to start from the end of the list";
const ERR_COUNT_NEGATIVE: &str = "ERR COUNT can't be negative";
const ERR_MAXLEN_NEGATIVE: &str = "ERR MAXLEN can't be negative";

// ---- shared helpers (also used by the blocking commands) -------------------------------------

/// `LEFT` (true) or `RIGHT` (false), in any case; `None` for anything else.
pub fn parse_end(arg: &[u8]) -> Option<bool> {
    if eq(arg, "left") {
        Some(true)
    } else if eq(arg, "right") {
        Some(false)
    } else {
        None
    }
}

/// Pops up to `n` elements from the head (`left`) or the tail of `list`, in pop order.
pub fn pop_n(list: &mut ListObj, left: bool, n: usize, limits: &Limits) -> Vec<Bytes> {
    let n = n.min(list.len());
    let mut taken = Vec::with_capacity(n);
    for _ in 0..n {
        match list.pop(left, limits) {
            Some(e) => taken.push(e),
            None => break,
        }
    }
    taken
}

/// [`pop_n`] with the delta that logs it (none if nothing was taken).
pub fn pop_logged(
    list: &mut ListObj,
    left: bool,
    n: usize,
    limits: &Limits,
) -> (Vec<Bytes>, Vec<ListDelta>) {
    let taken = pop_n(list, left, n, limits);
    let deltas = if taken.is_empty() {
        Vec::new()
    } else {
        vec![ListDelta::Pop {
            left,
            count: taken.len() as u64,
        }]
    };
    (taken, deltas)
}

/// LMPOP's key positions (see [`mpop_keys_at`]).
pub fn lmpop_keys(argv: &[Bytes]) -> Vec<usize> {
    mpop_keys_at(argv, 1)
}

/// The `[key, [elements]]` reply of LMPOP / BLMPOP (an array in RESP3 too).
pub fn reply_mpop(out: &mut ReplyWriter, key: &[u8], taken: &[Bytes]) {
    out.array(2);
    out.bulk(key);
    out.bulks(taken.iter());
}

/// Reads the list under `key`, counting the lookup in keyspace_hits / keyspace_misses.
fn read_list<'k>(
    stats: &Stats,
    ks: &'k mut Locked<'_>,
    db: DbIndex,
    key: &[u8],
    now_ms: u64,
) -> Result<Option<&'k ListObj>, WrongType> {
    use std::sync::atomic::Ordering;
    let r = ks.get_list(db, key, now_ms);
    let counter = if matches!(r, Ok(None)) {
        &stats.keyspace_misses
    } else {
        &stats.keyspace_hits
    };
    counter.fetch_add(1, Ordering::Relaxed);
    r
}

/// A Redis list index (negative counts from the tail) resolved against `len`, if in range.
fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let len = len as i64;
    let i = if index < 0 { len + index } else { index };
    (0..len).contains(&i).then_some(i as usize)
}

/// LRANGE/LTRIM's range: a negative start or stop counts from the tail; the start is then
/// clamped to 0, the stop to the last element. `None` if the range is empty.
fn resolve_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut stop = if stop < 0 { len + stop } else { stop };
    if start < 0 {
        start = 0;
    }
    if start > stop || start >= len {
        return None;
    }
    if stop >= len {
        stop = len - 1;
    }
    Some((start as usize, stop as usize))
}

// ---- pushes -------------------------------------------------------------------------------

/// LPUSH/RPUSH (`create`) and LPUSHX/RPUSHX: pushes every element in turn; the reply is the
/// length after, 0 for PUSHX on a missing key.
fn push(c: &mut Ctx, argv: &[Bytes], left: bool, create: bool) {
    let db = c.db();
    let elements = &argv[2..];
    let r =
        c.ks.list_write(db, &argv[1], create, c.now_ms, |l, limits| {
            for e in elements {
                l.push(left, e, limits);
            }
            let delta = ListDelta::Push {
                left,
                elements: elements.to_vec(),
            };
            (l.len(), vec![delta])
        });
    match r {
        Err(_) => c.out.error(ERR_WRONGTYPE),
        Ok(None) => c.out.int(0),
        Ok(Some(n)) => c.out.int(n as i64),
    }
}

fn lpush(c: &mut Ctx, argv: &[Bytes]) {
    push(c, argv, true, true)
}

fn rpush(c: &mut Ctx, argv: &[Bytes]) {
    push(c, argv, false, true)
}

fn lpushx(c: &mut Ctx, argv: &[Bytes]) {
    push(c, argv, true, false)
}

fn rpushx(c: &mut Ctx, argv: &[Bytes]) {
    push(c, argv, false, false)
}

// ---- pops ---------------------------------------------------------------------------------

/// LPOP/RPOP key [count], in Redis's order: too many arguments (an arity error), the count
/// (refused even on a missing key), the key's type, then a count of 0 (`*0`, nothing taken).
/// With a count the reply is always an array (a null array on a missing key); without, one
/// bulk string or null.
fn pop(c: &mut Ctx, argv: &[Bytes], left: bool) {
    if argv.len() > 3 {
        return c.out.error(&wrong_args(if left { "lpop" } else { "rpop" }));
    }
    let count = match argv.get(2) {
        None => None,
        Some(a) => match parse_i64(a).filter(|n| *n >= 0) {
            Some(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            None => return c.out.error(ERR_POSITIVE),
        },
    };
    let db = c.db();
    let n = count.unwrap_or(1);
    let r = c.ks.list_write(db, &argv[1], false, c.now_ms, |l, limits| {
        pop_logged(l, left, n, limits)
    });
    match (r, count) {
        (Err(_), _) => c.out.error(ERR_WRONGTYPE),
        (Ok(None), Some(_)) => c.out.null_array(),
        (Ok(None), None) => c.out.null(),
        (Ok(Some(taken)), Some(_)) => c.out.bulks(taken.iter()),
        (Ok(Some(taken)), None) => c.out.bulk_opt(taken.first().map(|e| &e[..])),
    }
}

fn lpop(c: &mut Ctx, argv: &[Bytes]) {
    pop(c, argv, true)
}

fn rpop(c: &mut Ctx, argv: &[Bytes]) {
    pop(c, argv, false)
}

// ---- reads --------------------------------------------------------------------------------

fn llen(c: &mut Ctx, argv: &[Bytes]) {
    let db = c.db();
    match read_list(&c.shared.stats, c.ks, db, &argv[1], c.now_ms) {
        Err(_) => c.out.error(ERR_WRONGTYPE),
        Ok(l) => c.out.int(l.map_or(0, |l| l.len()) as i64),
    }
}

/// LINDEX key index: the key first (missing: nil whatever the index; another type:
/// WRONGTYPE), then the index.
fn lindex(c: &mut Ctx, argv: &[Bytes]) {
    let db = c.db();
    let l = match read_list(&c.shared.stats, c.ks, db, &argv[1], c.now_ms) {
        Err(_) => return c.out.error(ERR_WRONGTYPE),
        Ok(None) => return c.out.null(),
        Ok(Some(l)) => l,
    };
    let Some(index) = parse_i64(&argv[2]) else {
        return c.out.error(ERR_NOT_INT);
    };
    c.out
        .bulk_opt(resolve_index(index, l.len()).and_then(|i| l.get(i)));
}

/// LRANGE key start stop: both indices before the key.
fn lrange(c: &mut Ctx, argv: &[Bytes]) {
    let (Some(start), Some(stop)) = (parse_i64(&argv[2]), parse_i64(&argv[3])) else {
        return c.out.error(ERR_NOT_INT);
    };
    let db = c.db();
    let l = match read_list(&c.shared.stats, c.ks, db, &argv[1], c.now_ms) {
        Err(_) => return c.out.error(ERR_WRONGTYPE),
        Ok(None) => return c.out.array(0),
        Ok(Some(l)) => l,
    };
    match resolve_range(start, stop, l.len()) {
        None => c.out.array(0),
        Some((start, stop)) => {
            c.out.array(stop - start + 1);
            for e in l.range(start, stop + 1) {
                c.out.bulk(e);
            }
        }
    }
}

/// LPOS's options, read left to right (a repeated one: the last wins).
#[derive(Debug, PartialEq)]
struct PosArgs {
    rank: i64,
    /// `None`: no COUNT given (a single reply); `Some(0)`: every match.
    count: Option<u64>,
    /// 0: no limit.
    maxlen: u64,
}

fn parse_lpos(args: &[Bytes]) -> Result<PosArgs, &'static str> {
    let mut p = PosArgs {
        rank: 1,
        count: None,
        maxlen: 0,
    };
    let mut i = 0;
    while i < args.len() {
        let (opt, value) = match args.get(i + 1) {
            Some(v) => (&args[i], v),
            None => return Err(ERR_SYNTAX),
        };
        if eq(opt, "rank") {
            match parse_i64(value) {
                None => return Err(ERR_NOT_INT),
                Some(0) => return Err(ERR_RANK_ZERO),
                Some(r) => p.rank = r,
            }
        } else if eq(opt, "count") {
            match parse_i64(value).filter(|n| *n >= 0) {
                None => return Err(ERR_COUNT_NEGATIVE),
                Some(n) => p.count = Some(n as u64),
            }
        } else if eq(opt, "maxlen") {
            match parse_i64(value).filter(|n| *n >= 0) {
                None => return Err(ERR_MAXLEN_NEGATIVE),
                Some(n) => p.maxlen = n as u64,
            }
        } else {
            return Err(ERR_SYNTAX);
        }
        i += 2;
    }
    Ok(p)
}

/// The indices LPOS answers: matches of `e` from the head (rank > 0) or the tail (rank < 0),
/// skipping the first |rank| - 1, at most `count` of them (0: all), comparing at most
/// `maxlen` elements from where the scan starts (0: all).
fn positions(l: &ListObj, e: &[u8], p: &PosArgs) -> Vec<usize> {
    let len = l.len();
    let from_tail = p.rank < 0;
    // RANK LLONG_MIN: Redis's negation overflows and the first match from the tail is taken.
    let skip = match p.rank {
        i64::MIN => 1,
        r => r.unsigned_abs(),
    };
    let want = p.count.unwrap_or(1);
    let limit = match p.maxlen {
        0 => usize::MAX,
        m => usize::try_from(m).unwrap_or(usize::MAX),
    };
    let iter: Box<dyn Iterator<Item = &[u8]>> = if from_tail {
        Box::new(l.iter().rev())
    } else {
        Box::new(l.iter())
    };
    let mut found = Vec::new();
    let mut matches = 0u64;
    for (i, x) in iter.take(limit).enumerate() {
        if x != e {
            continue;
        }
        matches += 1;
        if matches < skip {
            continue;
        }
        found.push(if from_tail { len - 1 - i } else { i });
        if want != 0 && found.len() as u64 >= want {
            break;
        }
    }
    found
}

/// LPOS key element [RANK rank] [COUNT num] [MAXLEN len]: the options before the key. With
/// COUNT the reply is an array (also `*0` on a missing key); without, an index or nil.
fn lpos(c: &mut Ctx, argv: &[Bytes]) {
    let p = match parse_lpos(&argv[3..]) {
        Ok(p) => p,
        Err(e) => return c.out.error(e),
    };
    let db = c.db();
    let found = match read_list(&c.shared.stats, c.ks, db, &argv[1], c.now_ms) {
        Err(_) => return c.out.error(ERR_WRONGTYPE),
        Ok(None) => Vec::new(),
        Ok(Some(l)) => positions(l, &argv[2], &p),
    };
    match p.count {
        Some(_) => {
            c.out.array(found.len());
            for i in found {
                c.out.int(i as i64);
            }
        }
        None => match found.first() {
            Some(&i) => c.out.int(i as i64),
            None => c.out.null(),
        },
    }
}

// ---- in-place writes ----------------------------------------------------------------------

/// LSET key index element: the key first (missing: `no such key` whatever the index), then
/// the index. Setting an element to its own value still logs (Redis signals the key).
fn lset(c: &mut Ctx, argv: &[Bytes]) {
    let db = c.db();
    let element = &argv[3];
    let r = c.ks.list_write(db, &argv[1], false, c.now_ms, |l, limits| {
        let Some(index) = parse_i64(&argv[2]) else {
            return (Err(ERR_NOT_INT), Vec::new());
        };
        let Some(i) = resolve_index(index, l.len()) else {
            return (Err(ERR_INDEX), Vec::new());
        };
        l.set(i, element, limits);
        let delta = ListDelta::Set {
            index: i as u64,
            element: element.clone(),
        };
        (Ok(()), vec![delta])
    });
    match r {
        Err(_) => c.out.error(ERR_WRONGTYPE),
        Ok(None) => c.out.error(ERR_NO_SUCH_KEY),
        Ok(Some(Err(e))) => c.out.error(e),
        Ok(Some(Ok(()))) => c.out.ok(),
    }
}

/// LINSERT key BEFORE|AFTER pivot element: the word before the key; the reply is the new
/// length, -1 if the pivot is absent (nothing logged), 0 on a missing key.
fn linsert(c: &mut Ctx, argv: &[Bytes]) {
    let after = if eq(&argv[2], "after") {
        true
    } else if eq(&argv[2], "before") {
        false
    } else {
        return c.out.error(ERR_SYNTAX);
    };
    let db = c.db();
    let (pivot, element) = (&argv[3], &argv[4]);
    let r = c.ks.list_write(db, &argv[1], false, c.now_ms, |l, limits| {
        let Some(at) = l.iter().position(|e| e == &pivot[..]) else {
            return (-1, Vec::new());
        };
        let index = at + usize::from(after);
        l.insert(index, element, limits);
        let delta = ListDelta::Insert {
            index: index as u64,
            element: element.clone(),
        };
        (l.len() as i64, vec![delta])
    });
    match r {
        Err(_) => c.out.error(ERR_WRONGTYPE),
        Ok(None) => c.out.int(0),
        Ok(Some(n)) => c.out.int(n),
    }
}

/// LREM key count element: the count before the key; logs the call as given when it removed
/// something (replay on the same list removes the same elements).
fn lrem(c: &mut Ctx, argv: &[Bytes]) {
    let Some(count) = parse_i64(&argv[2]) else {
        return c.out.error(ERR_NOT_INT);
    };
    let db = c.db();
    let element = &argv[3];
    let r = c.ks.list_write(db, &argv[1], false, c.now_ms, |l, limits| {
        let removed = l.remove_matching(count, element, limits);
        let deltas = if removed == 0 {
            Vec::new()
        } else {
            vec![ListDelta::Rem {
                count,
                element: element.clone(),
            }]
        };
        (removed, deltas)
    });
    match r {
        Err(_) => c.out.error(ERR_WRONGTYPE),
        Ok(r) => c.out.int(r.unwrap_or(0) as i64),
    }
}

/// LTRIM key start stop: the indices before the key; `+OK` also on a missing key. Always
/// logs the counts dropped from each end (Redis signals the key even when nothing goes).
fn ltrim(c: &mut Ctx, argv: &[Bytes]) {
    let (Some(start), Some(stop)) = (parse_i64(&argv[2]), parse_i64(&argv[3])) else {
        return c.out.error(ERR_NOT_INT);
    };
    let db = c.db();
    let r = c.ks.list_write(db, &argv[1], false, c.now_ms, |l, limits| {
        let len = l.len();
        let (front, back) = match resolve_range(start, stop, len) {
            None => (len, 0),
            Some((s, e)) => (s, len - e - 1),
        };
        l.trim(front, back, limits);
        let delta = ListDelta::Trim {
            front: front as u64,
            back: back as u64,
        };
        ((), vec![delta])
    });
    match r {
        Err(_) => c.out.error(ERR_WRONGTYPE),
        Ok(_) => c.out.ok(),
    }
}

// ---- moves --------------------------------------------------------------------------------

/// Why a move did not happen.
#[derive(Debug, PartialEq, Eq)]
pub enum MoveError {
    /// The source or the destination holds another kind of value; nothing changed.
    WrongType,
}

/// Moves one element from the `from_left` end of `src` to the `to_left` end of `dst`:
/// `Ok(None)` if `src` is absent (whatever `dst` holds). The destination's type is checked
/// before anything is popped; the same list pops and pushes in one write, so a one-element
/// list is never deleted in between (its TTL stays).
pub fn move_one(
    ks: &mut Locked<'_>,
    db: DbIndex,
    src: &[u8],
    dst: &[u8],
    from_left: bool,
    to_left: bool,
    now_ms: u64,
) -> Result<Option<Bytes>, MoveError> {
    if src == dst {
        return ks
            .list_write(db, src, false, now_ms, |l, limits| {
                let Some(e) = l.pop(from_left, limits) else {
                    return (None, Vec::new());
                };
                l.push(to_left, &e, limits);
                let deltas = vec![
                    ListDelta::Pop {
                        left: from_left,
                        count: 1,
                    },
                    ListDelta::Push {
                        left: to_left,
                        elements: vec![e.clone()],
                    },
                ];
                (Some(e), deltas)
            })
            .map(Option::flatten)
            .map_err(|_| MoveError::WrongType);
    }
    match ks.get_list(db, src, now_ms) {
        Err(_) => return Err(MoveError::WrongType),
        Ok(None) => return Ok(None),
        Ok(Some(_)) => {}
    }
    if ks.get_list(db, dst, now_ms).is_err() {
        return Err(MoveError::WrongType);
    }
    let popped = ks
        .list_write(db, src, false, now_ms, |l, limits| {
            let (mut taken, deltas) = pop_logged(l, from_left, 1, limits);
            (taken.pop(), deltas)
        })
        .map_err(|_| MoveError::WrongType)?
        .flatten();
    let Some(e) = popped else {
        return Ok(None);
    };
    ks.list_write(db, dst, true, now_ms, |l, limits| {
        l.push(to_left, &e, limits);
        let delta = ListDelta::Push {
            left: to_left,
            elements: vec![e.clone()],
        };
        ((), vec![delta])
    })
    .map_err(|_| MoveError::WrongType)?;
    Ok(Some(e))
}

fn reply_move(c: &mut Ctx, src: &[u8], dst: &[u8], from_left: bool, to_left: bool) {
    let db = c.db();
    match move_one(c.ks, db, src, dst, from_left, to_left, c.now_ms) {
        Err(MoveError::WrongType) => c.out.error(ERR_WRONGTYPE),
        Ok(e) => c.out.bulk_opt(e.as_deref()),
    }
}

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT: both directions before the keys.
fn lmove(c: &mut Ctx, argv: &[Bytes]) {
    let (Some(from_left), Some(to_left)) = (parse_end(&argv[3]), parse_end(&argv[4])) else {
        return c.out.error(ERR_SYNTAX);
    };
    reply_move(c, &argv[1], &argv[2], from_left, to_left)
}

/// RPOPLPUSH source destination: LMOVE source destination RIGHT LEFT.
fn rpoplpush(c: &mut Ctx, argv: &[Bytes]) {
    reply_move(c, &argv[1], &argv[2], false, true)
}

/// Pops up to `count` elements from the first key of `keys` that holds a list: `Ok(None)` if
/// none exists; a key of another kind reached first is [`WrongType`] (the keys after it are
/// not looked at).
pub fn mpop_first(
    ks: &mut Locked<'_>,
    db: DbIndex,
    keys: &[Bytes],
    left: bool,
    count: usize,
    now_ms: u64,
) -> Result<Option<(Bytes, Vec<Bytes>)>, WrongType> {
    for key in keys {
        let r = ks.list_write(db, key, false, now_ms, |l, limits| {
            pop_logged(l, left, count, limits)
        })?;
        if let Some(taken) = r.filter(|t| !t.is_empty()) {
            return Ok(Some((key.clone(), taken)));
        }
    }
    Ok(None)
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]: `[key, [elements]]`, a null array
/// when every key is absent.
fn lmpop(c: &mut Ctx, argv: &[Bytes]) {
    let args = match parse_mpop(argv, 1, ["left", "right"]) {
        Ok(a) => a,
        Err(e) => return c.out.error(e),
    };
    let db = c.db();
    let count = usize::try_from(args.count).unwrap_or(usize::MAX);
    match mpop_first(c.ks, db, args.keys, args.first, count, c.now_ms) {
        Err(_) => c.out.error(ERR_WRONGTYPE),
        Ok(None) => c.out.null_array(),
        Ok(Some((key, taken))) => reply_mpop(c.out, &key, &taken),
    }
}

#[cfg(test)]
#[path = "list_tests.rs"]
mod tests;

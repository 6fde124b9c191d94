//! The blocking commands (BLPOP, BRPOP, BRPOPLPUSH, BLMOVE, BLMPOP, BZPOPMIN, BZPOPMAX,
//! BZMPOP) and the serving of blocked clients.
//!
//! A blocking command first tries its keys in order, exactly as its non-blocking form would.
//! If none can serve it, it queues a [`Waiter`] under each key (in the shards it holds, so no
//! write can slip in between the look and the queueing) and the connection waits for the
//! answer ([`After::Block`]). Inside MULTI/EXEC it never blocks: it answers as on a timeout.
//!
//! Serving follows Redis: a write that touches a key with waiters notes the key as ready; once
//! the command (or the whole EXEC) has run, [`serve_ready`] serves the waiters of the ready
//! keys in the order they blocked, while the writer's locks are still held, each pop through
//! the ordinary write path. The pops therefore join the writer's WAL entry, and the woken
//! client's reply waits for that entry to be durable like any reply: after a crash a popped
//! element is never back and a pushed one is never missing. A key pushed to and emptied in
//! one transaction serves nobody (it is empty when the EXEC ends). A BLMOVE waiter whose
//! destination lies in a shard another command holds cannot be served under these locks; its
//! key is served again right after, under fresh locks ([`serve_deferred`]).

use super::list::{move_one, parse_end, pop_logged, reply_mpop, MoveError};
use super::zset_pop::{pop_from, End};
use super::*;
use crate::keyspace::{BlockOp, Served, Waiter, WrongType};
use std::sync::Arc;

const W_BLOCK: &[&str] = &["write", "noscript", "blocking"];
const WD_BLOCK: &[&str] = &["write", "denyoom", "noscript", "blocking"];
const W_BLOCK_MOVABLE: &[&str] = &["write", "blocking", "movablekeys"];
const WF_BLOCK: &[&str] = &["write", "noscript", "blocking", "fast"];
const ACL_LIST: &[&str] = &["@write", "@list", "@slow", "@blocking"];
const ACL_ZSET_FAST: &[&str] = &["@write", "@sortedset", "@fast", "@blocking"];
const ACL_ZSET: &[&str] = &["@write", "@sortedset", "@slow", "@blocking"];

#[allow(clippy::too_many_arguments)]
const fn bspec(
    name: &'static str,
    arity: i32,
    flags: &'static [&'static str],
    keys: (i32, i32, i32),
    acl: &'static [&'static str],
    group: &'static str,
    since: &'static str,
    summary: &'static str,
    handler: Handler,
) -> CommandSpec {
    keyed_spec(
        group, name, arity, flags, keys, acl, since, summary, handler,
    )
}

pub const COMMANDS: &[CommandSpec] = &[
    bspec(
        "blpop",
        -3,
        W_BLOCK,
        (1, -2, 1),
        ACL_LIST,
        "list",
        "2.0.0",
        "Remove and get the first element in a list, or block until one is available",
        blpop,
    ),
    bspec(
        "brpop",
        -3,
        W_BLOCK,
        (1, -2, 1),
        ACL_LIST,
        "list",
        "2.0.0",
        "Remove and get the last element in a list, or block until one is available",
        brpop,
    ),
    bspec(
        "brpoplpush",
        4,
        WD_BLOCK,
        (1, 2, 1),
        ACL_LIST,
        "list",
        "2.2.0",
        "Pop an element from a list, push it to another list and return it; or block until one is available",
        brpoplpush,
    ),
    bspec(
        "blmove",
        6,
        WD_BLOCK,
        (1, 2, 1),
        ACL_LIST,
        "list",
        "6.2.0",
        "Pop an element from a list, push it to another list and return it; or block until one is available",
        blmove,
    ),
    CommandSpec {
        movable_keys: Some(bmpop_keys),
        ..bspec(
            "blmpop",
            -5,
            W_BLOCK_MOVABLE,
            NO_KEYS,
            ACL_LIST,
            "list",
            "7.0.0",
            "Pop elements from a list, or block until one is available",
            blmpop,
        )
    },
    bspec(
        "bzpopmin",
        -3,
        WF_BLOCK,
        (1, -2, 1),
        ACL_ZSET_FAST,
        "sorted-set",
        "5.0.0",
        "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available",
        bzpopmin,
    ),
    bspec(
        "bzpopmax",
        -3,
        WF_BLOCK,
        (1, -2, 1),
        ACL_ZSET_FAST,
        "sorted-set",
        "5.0.0",
        "Remove and return the member with the highest score from one or more sorted sets, or block until one is available",
        bzpopmax,
    ),
    CommandSpec {
        movable_keys: Some(bmpop_keys),
        ..bspec(
            "bzmpop",
            -5,
            W_BLOCK_MOVABLE,
            NO_KEYS,
            ACL_ZSET,
            "sorted-set",
            "7.0.0",
            "Remove and return members with scores in a sorted set or block until one is available",
            bzmpop,
        )
    },
];

const ERR_TIMEOUT_FLOAT: &str = "ERR timeout is not a float or out of range";
const ERR_TIMEOUT_NEGATIVE: &str = "ERR timeout is negative";

/// A blocked command's wait, handed to the connection: the waiter queued under its keys, the
/// receiver of its answer, and how long to wait (`None`: forever).
pub struct Blocked {
    pub waiter: Arc<Waiter>,
    pub rx: tokio::sync::oneshot::Receiver<Served>,
    pub timeout: Option<std::time::Duration>,
}

/// A blocking timeout in seconds as Redis 7.0 reads it: a float (no NaN), times 1000 rounded
/// up to whole milliseconds, `0` = forever. A tiny negative rounds up to 0 (forever); a value
/// whose milliseconds pass `i64::MAX` wraps negative in Redis, so it too is "negative".
fn parse_timeout(arg: &[u8]) -> Result<Option<std::time::Duration>, &'static str> {
    let secs = match super::zset::parse_score(arg) {
        Some(v) => v,
        // Beyond a double's range but within a long double's (Redis reads a long double):
        // `1e-400` is a tiny positive (one millisecond), `1e400` a huge one.
        None => out_of_double_range(arg).ok_or(ERR_TIMEOUT_FLOAT)?,
    };
    let ms = (secs * 1000.0).ceil();
    if !(0.0..i64::MAX as f64).contains(&ms) {
        return Err(ERR_TIMEOUT_NEGATIVE);
    }
    if ms == 0.0 {
        return Ok(None);
    }
    Ok(Some(std::time::Duration::from_millis(ms as u64)))
}

/// A decimal number with an exponent that a double cannot hold but a long double can, as a
/// double standing for it: the smallest positive (or negative) double for an underflow, an
/// infinity for an overflow. `None` for anything else.
fn out_of_double_range(arg: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(arg).ok()?;
    let plain = s
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'e' | b'E' | b'+' | b'-' | b'.'));
    if !plain || !s.contains(['e', 'E']) {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    let negative = s.starts_with('-');
    if v == 0.0 && s.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
        // Only the mantissa's digits matter: "0e-400" is a plain zero, "1e-400" is not.
        let mantissa = s.split(['e', 'E']).next().unwrap_or("");
        if mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
            return Some(if negative {
                -f64::MIN_POSITIVE
            } else {
                f64::MIN_POSITIVE
            });
        }
        return Some(0.0);
    }
    v.is_infinite().then_some(v)
}

/// What a blocked client gets when its time is up (or CLIENT UNBLOCK ... TIMEOUT): the null
/// array for every blocking command, BLMOVE included (`_` in RESP3).
pub fn timeout_reply(resp3: bool) -> Vec<u8> {
    let mut out = ReplyWriter {
        buf: bytes::BytesMut::new(),
        resp3,
        errors: Vec::new(),
        refused: None,
    };
    out.null_array();
    out.buf.to_vec()
}

/// Runs `op` against `key` for a client of database `db`, writing its reply: `Ok(false)` if
/// the key is absent (nothing written), [`WrongType`] if `key` (or a move's destination)
/// holds another kind. The one place a blocking command's pop happens, whether it is served
/// at once or later for a waiter.
fn execute(
    ks: &mut crate::keyspace::Locked<'_>,
    db: DbIndex,
    key: &Bytes,
    op: &BlockOp,
    now: u64,
    out: &mut ReplyWriter,
) -> Result<bool, WrongType> {
    match op {
        BlockOp::ListPop { left, count } => {
            let n = count.unwrap_or(1);
            let taken = ks.list_write(db, key, false, now, |l, limits| {
                pop_logged(l, *left, n, limits)
            })?;
            let Some(taken) = taken.filter(|t| !t.is_empty()) else {
                return Ok(false);
            };
            if count.is_some() {
                reply_mpop(out, key, &taken);
            } else {
                out.array(2);
                out.bulk(key);
                if let Some(e) = taken.first() {
                    out.bulk(e);
                }
            }
            Ok(true)
        }
        BlockOp::ListMove {
            dst,
            from_left,
            to_left,
        } => match move_one(ks, db, key, dst, *from_left, *to_left, now) {
            Err(MoveError::WrongType) => Err(WrongType),
            Ok(None) => Ok(false),
            Ok(Some(e)) => {
                out.bulk(&e);
                Ok(true)
            }
        },
        BlockOp::ZPop { min, count } => {
            let end = if *min { End::Min } else { End::Max };
            let n = count.unwrap_or(1) as u64;
            let taken = ks.zset_write(db, key, false, now, |z, _| pop_from(z, end, n))?;
            let Some(taken) = taken.filter(|t| !t.is_empty()) else {
                return Ok(false);
            };
            match count {
                Some(_) => {
                    out.array(2);
                    out.bulk(key);
                    out.array(taken.len());
                    for (m, s) in &taken {
                        out.array(2);
                        out.bulk(m);
                        out.score(*s);
                    }
                }
                None => {
                    out.array(3);
                    out.bulk(key);
                    if let Some((m, s)) = taken.first() {
                        out.bulk(m);
                        out.score(*s);
                    }
                }
            }
            Ok(true)
        }
    }
}

/// The common path of every blocking command: serve from the first key that can, else block
/// on all of them (or, inside EXEC, answer as a timeout would).
fn block_on(c: &mut Ctx, keys: &[Bytes], op: BlockOp, timeout: Option<std::time::Duration>) {
    let db = c.db();
    let wants = op.wants();
    for key in keys {
        let kind = c.ks.get(db, key, c.now_ms).map(|e| e.kind());
        match kind {
            None => continue,
            Some(k) if k != wants => return c.out.error(ERR_WRONGTYPE),
            Some(_) => {}
        }
        match execute(c.ks, db, key, &op, c.now_ms, c.out) {
            Ok(true) => return,
            Ok(false) => continue,
            Err(WrongType) => return c.out.error(ERR_WRONGTYPE),
        }
    }
    if c.conn.in_exec || c.conn.in_script {
        // Inside EXEC or a script nothing blocks: the move commands answer a null bulk, the others a
        // null array (unlike a timeout, where all answer a null array).
        return match op {
            BlockOp::ListMove { .. } => c.out.null(),
            _ => c.out.null_array(),
        };
    }
    let mut unique: Vec<Bytes> = Vec::with_capacity(keys.len());
    for k in keys {
        if !unique.contains(k) {
            unique.push(k.clone());
        }
    }
    let (w, rx) = Waiter::new(c.conn.id, db, unique, op, c.conn.resp3, timeout.is_some());
    let w = Arc::new(w);
    for k in &w.keys {
        c.ks.block(db, k, &w);
    }
    c.after = After::Block(Box::new(Blocked {
        waiter: w,
        rx,
        timeout,
    }));
}

/// BLPOP, BRPOP, BZPOPMIN, BZPOPMAX: `key [key ...] timeout`, served by `op`.
fn keys_then_timeout(c: &mut Ctx, argv: &[Bytes], op: BlockOp) {
    let Some((last, keys)) = argv[1..].split_last() else {
        return;
    };
    match parse_timeout(last) {
        Ok(timeout) => block_on(c, keys, op, timeout),
        Err(e) => c.out.error(e),
    }
}

fn blpop(c: &mut Ctx, argv: &[Bytes]) {
    let op = BlockOp::ListPop {
        left: true,
        count: None,
    };
    keys_then_timeout(c, argv, op)
}

fn brpop(c: &mut Ctx, argv: &[Bytes]) {
    let op = BlockOp::ListPop {
        left: false,
        count: None,
    };
    keys_then_timeout(c, argv, op)
}

fn bzpopmin(c: &mut Ctx, argv: &[Bytes]) {
    let op = BlockOp::ZPop {
        min: true,
        count: None,
    };
    keys_then_timeout(c, argv, op)
}

fn bzpopmax(c: &mut Ctx, argv: &[Bytes]) {
    let op = BlockOp::ZPop {
        min: false,
        count: None,
    };
    keys_then_timeout(c, argv, op)
}

fn brpoplpush(c: &mut Ctx, argv: &[Bytes]) {
    let timeout = match parse_timeout(&argv[3]) {
        Ok(t) => t,
        Err(e) => return c.out.error(e),
    };
    let op = BlockOp::ListMove {
        dst: argv[2].clone(),
        from_left: false,
        to_left: true,
    };
    block_on(c, std::slice::from_ref(&argv[1]), op, timeout)
}

fn blmove(c: &mut Ctx, argv: &[Bytes]) {
    let (Some(from_left), Some(to_left)) = (parse_end(&argv[3]), parse_end(&argv[4])) else {
        return c.out.error(ERR_SYNTAX);
    };
    let timeout = match parse_timeout(&argv[5]) {
        Ok(t) => t,
        Err(e) => return c.out.error(e),
    };
    let op = BlockOp::ListMove {
        dst: argv[2].clone(),
        from_left,
        to_left,
    };
    block_on(c, std::slice::from_ref(&argv[1]), op, timeout)
}

/// BLMPOP/BZMPOP's key positions: `timeout numkeys key...` (see [`mpop_keys_at`]).
pub fn bmpop_keys(argv: &[Bytes]) -> Vec<usize> {
    mpop_keys_at(argv, 2)
}

/// BLMPOP and BZMPOP: `timeout numkeys key [key ...] WORD [COUNT n]`. numkeys, the end word
/// and COUNT are checked before the timeout (Redis's order); `op` builds the pop from whether
/// the first of `words` was given and the count.
fn mpop_then_timeout(
    c: &mut Ctx,
    argv: &[Bytes],
    words: [&str; 2],
    op: fn(bool, Option<usize>) -> BlockOp,
) {
    let args = match parse_mpop(argv, 2, words) {
        Ok(a) => a,
        Err(e) => return c.out.error(e),
    };
    let timeout = match parse_timeout(&argv[1]) {
        Ok(t) => t,
        Err(e) => return c.out.error(e),
    };
    let count = usize::try_from(args.count).unwrap_or(usize::MAX);
    block_on(c, args.keys, op(args.first, Some(count)), timeout)
}

fn blmpop(c: &mut Ctx, argv: &[Bytes]) {
    mpop_then_timeout(c, argv, ["left", "right"], |left, count| BlockOp::ListPop {
        left,
        count,
    })
}

fn bzmpop(c: &mut Ctx, argv: &[Bytes]) {
    mpop_then_timeout(c, argv, ["min", "max"], |min, count| BlockOp::ZPop {
        min,
        count,
    })
}

// ---- serving ---------------------------------------------------------------------------------

/// Serves the clients blocked on the keys the command holding `ks` made ready, in the order
/// they blocked, while its locks are held (see the module doc). Returns the keys whose next
/// waiter needs a shard held by someone else, for [`serve_deferred`].
pub fn serve_ready(
    ks: &mut crate::keyspace::Locked<'_>,
    now: u64,
    served: &mut Vec<ServedOp>,
) -> Vec<(DbIndex, Bytes)> {
    let mut deferred = Vec::new();
    while let Some((db, key)) = ks.take_ready() {
        // Bounded: each round answers one waiter or stops.
        while let Some(w) = ks
            .get(db, &key, now)
            .map(|e| e.kind())
            .and_then(|kind| ks.next_waiter(db, &key, kind))
        {
            if let BlockOp::ListMove { dst, .. } = &w.op {
                if !ks.try_hold(dst) {
                    if !deferred.contains(&(db, key.clone())) {
                        deferred.push((db, key.clone()));
                    }
                    break;
                }
            }
            ks.remove_waiter(db, &key, &w);
            let Some(tx) = w.claim() else {
                continue;
            };
            let mut out = ReplyWriter {
                buf: bytes::BytesMut::new(),
                resp3: w.resp3,
                errors: Vec::new(),
                refused: None,
            };
            let from = ks.effects().len();
            let result = execute(ks, db, &key, &w.op, now, &mut out);
            served.push(ServedOp {
                effects: from..ks.effects().len(),
                name: match &w.op {
                    BlockOp::ListPop { left: true, .. } => "blpop",
                    BlockOp::ListPop { left: false, .. } => "brpop",
                    BlockOp::ListMove { .. } => "blmove",
                    BlockOp::ZPop { min: true, .. } => "bzpopmin",
                    BlockOp::ZPop { min: false, .. } => "bzpopmax",
                },
            });
            match result {
                Ok(true) => {}
                // Cannot happen (the key holds elements of the kind it wants); answer as a
                // timeout rather than leave the client waiting.
                Ok(false) => out.buf.extend_from_slice(&timeout_reply(w.resp3)),
                // A move whose destination holds another kind.
                Err(WrongType) => out.error(ERR_WRONGTYPE),
            }
            let _ = tx.send(Served {
                reply: out.buf.to_vec(),
                seq: ks.observed(),
            });
        }
    }
    deferred
}

/// One waiter [`serve_ready`] served: the effects it logged and the command it blocked in
/// (for its keyspace events).
pub struct ServedOp {
    pub effects: std::ops::Range<usize>,
    pub name: &'static str,
}

/// Serves `keys` (left over by [`serve_ready`]) each under fresh locks of its shard and of
/// its next waiter's destination; each round is an entry of its own.
pub fn serve_deferred(shared: &Shared, keys: Vec<(DbIndex, Bytes)>, now: u64) {
    let ks = &shared.keyspace;
    let mut work = keys;
    // Bounded: a deferral happens only while another command holds a destination shard.
    for _ in 0..1024 {
        let Some((db, key)) = work.pop() else {
            return;
        };
        let dst = {
            let mut l = ks.lock(vec![ks.shard_of(&key)]);
            match l.peek_waiter(db, &key).map(|w| w.op.clone()) {
                Some(BlockOp::ListMove { dst, .. }) => dst,
                Some(_) => key.clone(),
                None => continue,
            }
        };
        let mut l = ks.lock(vec![ks.shard_of(&key), ks.shard_of(&dst)]);
        l.mark_ready(db, &key);
        let mut served = Vec::new();
        for k in serve_ready(&mut l, now, &mut served) {
            if !work.contains(&k) {
                work.push(k);
            }
        }
        super::notify::after_served(shared, &mut l, &served, now);
    }
}

//! String commands: GET/SET and friends, counters, ranges, LCS, and the `SET ... IF VERSION n`
//! CAS. A key of another kind is WRONGTYPE wherever Redis says so (read through the kind tag).

use super::*;
use crate::keyspace::Value;

const W: &[&str] = &["write", "denyoom"];
const WF: &[&str] = &["write", "denyoom", "fast"];
const RF: &[&str] = &["readonly", "fast"];
const RO: &[&str] = &["readonly"];
const ACL_W: &[&str] = &["@write", "@string", "@slow"];
/// GETDEL and GETEX never grow memory, so Redis does not flag them `denyoom`.
const WF_NO_OOM: &[&str] = &["write", "fast"];
const ACL_WF: &[&str] = &["@write", "@string", "@fast"];
const ACL_RF: &[&str] = &["@read", "@string", "@fast"];
const ACL_R: &[&str] = &["@read", "@string", "@slow"];

pub static COMMANDS: &[CommandSpec] = &[
    spec(
        "get",
        2,
        RF,
        ONE_KEY,
        ACL_RF,
        Scope::Keys,
        "string",
        "Returns the string value of a key.",
        get,
    ),
    spec(
        "set",
        -3,
        W,
        ONE_KEY,
        ACL_W,
        Scope::Keys,
        "string",
        "Sets the string value of a key; `IF VERSION n` makes it a compare-and-set.",
        set,
    ),
    spec(
        "setnx",
        3,
        WF,
        ONE_KEY,
        ACL_WF,
        Scope::Keys,
        "string",
        "Sets a key only if it doesn't exist.",
        setnx,
    ),
    spec(
        "setex",
        4,
        W,
        ONE_KEY,
        ACL_W,
        Scope::Keys,
        "string",
        "Sets a key with an expiry in seconds.",
        setex,
    ),
    spec(
        "psetex",
        4,
        W,
        ONE_KEY,
        ACL_W,
        Scope::Keys,
        "string",
        "Sets a key with an expiry in milliseconds.",
        psetex,
    ),
    spec(
        "getset",
        3,
        WF,
        ONE_KEY,
        ACL_WF,
        Scope::Keys,
        "string",
        "Sets a key and returns its old value.",
        getset,
    ),
    spec(
        "getdel",
        2,
        WF_NO_OOM,
        ONE_KEY,
        ACL_WF,
        Scope::Keys,
        "string",
        "Returns a key's value and deletes it.",
        getdel,
    ),
    spec(
        "getex",
        -2,
        WF_NO_OOM,
        ONE_KEY,
        ACL_WF,
        Scope::Keys,
        "string",
        "Returns a key's value and changes its expiry.",
        getex,
    ),
    spec(
        "mget",
        -2,
        RF,
        (1, -1, 1),
        ACL_RF,
        Scope::Keys,
        "string",
        "Returns the values of several keys.",
        mget,
    ),
    spec(
        "mset",
        -3,
        W,
        (1, -1, 2),
        ACL_W,
        Scope::Keys,
        "string",
        "Sets several keys atomically.",
        mset,
    ),
    spec(
        "msetnx",
        -3,
        W,
        (1, -1, 2),
        ACL_W,
        Scope::Keys,
        "string",
        "Sets several keys only if none exists.",
        msetnx,
    ),
    spec(
        "append",
        3,
        WF,
        ONE_KEY,
        ACL_WF,
        Scope::Keys,
        "string",
        "Appends to a key's value.",
        append,
    ),
    spec(
        "strlen",
        2,
        RF,
        ONE_KEY,
        ACL_RF,
        Scope::Keys,
        "string",
        "Returns the length of a key's value.",
        strlen,
    ),
    spec(
        "getrange",
        4,
        RO,
        ONE_KEY,
        ACL_R,
        Scope::Keys,
        "string",
        "Returns a substring of a key's value.",
        getrange,
    ),
    spec(
        "substr",
        4,
        RO,
        ONE_KEY,
        ACL_R,
        Scope::Keys,
        "string",
        "Returns a substring of a key's value.",
        getrange,
    ),
    spec(
        "setrange",
        4,
        W,
        ONE_KEY,
        ACL_W,
        Scope::Keys,
        "string",
        "Overwrites part of a key's value.",
        setrange,
    ),
    spec(
        "incr",
        2,
        WF,
        ONE_KEY,
        ACL_WF,
        Scope::Keys,
        "string",
        "Increments an integer value by one.",
        incr,
    ),
    spec(
        "decr",
        2,
        WF,
        ONE_KEY,
        ACL_WF,
        Scope::Keys,
        "string",
        "Decrements an integer value by one.",
        decr,
    ),
    spec(
        "incrby",
        3,
        WF,
        ONE_KEY,
        ACL_WF,
        Scope::Keys,
        "string",
        "Increments an integer value.",
        incrby,
    ),
    spec(
        "decrby",
        3,
        WF,
        ONE_KEY,
        ACL_WF,
        Scope::Keys,
        "string",
        "Decrements an integer value.",
        decrby,
    ),
    spec(
        "incrbyfloat",
        3,
        WF,
        ONE_KEY,
        ACL_WF,
        Scope::Keys,
        "string",
        "Increments a float value.",
        incrbyfloat,
    ),
    spec(
        "lcs",
        -3,
        RO,
        (1, 2, 1),
        ACL_R,
        Scope::Keys,
        "string",
        "Finds the longest common substring.",
        lcs,
    ),
];

/// The string value of a live key: Ok(None) if absent, Err on another type.
fn get_string(c: &mut Ctx, key: &[u8]) -> Result<Option<(Bytes, u64)>, &'static str> {
    let db = c.db();
    match c.ks.get(db, key, c.now_ms) {
        None => Ok(None),
        Some(e) => match e.as_str() {
            Some(v) => Ok(Some((Bytes::copy_from_slice(v), e.expires_at_ms()))),
            None => Err(ERR_WRONGTYPE),
        },
    }
}

fn get(c: &mut Ctx, argv: &[Bytes]) {
    let hit = reply_string(c, &argv[1]);
    count_lookup(c, hit);
}

/// Writes a key's string value (or nil) straight from the table. True on a hit.
fn reply_string(c: &mut Ctx, key: &[u8]) -> bool {
    let db = c.db();
    match c.ks.get(db, key, c.now_ms) {
        None => {
            c.out.null();
            false
        }
        Some(e) => match e.as_str() {
            Some(v) => {
                c.out.bulk(v);
                true
            }
            None => {
                // A key of another kind was found: Redis counts the lookup as a hit.
                c.out.error(ERR_WRONGTYPE);
                true
            }
        },
    }
}

/// The unit and base of an expiry option: `EX`/`PX` are relative, `EXAT`/`PXAT` absolute.
#[derive(Clone, Copy)]
struct ExpiryArg<'a> {
    amount: &'a [u8],
    unit_ms: bool,
    absolute: bool,
}

impl<'a> ExpiryArg<'a> {
    /// `EX`, `PX`, `EXAT` or `PXAT` with its argument; None for any other word.
    fn parse(word: &[u8], amount: &'a [u8]) -> Option<Self> {
        let (unit_ms, absolute) = if eq(word, "ex") {
            (false, false)
        } else if eq(word, "px") {
            (true, false)
        } else if eq(word, "exat") {
            (false, true)
        } else if eq(word, "pxat") {
            (true, true)
        } else {
            return None;
        };
        Some(ExpiryArg {
            amount,
            unit_ms,
            absolute,
        })
    }

    /// The absolute unix-ms expiry, or the error Redis gives (not an integer; not positive or
    /// overflowing: `invalid expire time in '<command>' command`).
    fn resolve(self, now_ms: u64, command: &str) -> Result<u64, String> {
        let n = parse_i64(self.amount).ok_or_else(|| ERR_NOT_INT.to_string())?;
        expiry_at(now_ms, n, self.unit_ms, self.absolute)
            .ok_or_else(|| format!("ERR invalid expire time in '{command}' command"))
    }
}

/// Converts a relative or absolute expiry argument to absolute unix ms.
/// `None` means invalid (non-positive or overflowing) as Redis reports it.
pub fn expiry_at(now_ms: u64, amount: i64, unit_ms: bool, absolute: bool) -> Option<u64> {
    if amount <= 0 {
        return None;
    }
    let ms = if unit_ms {
        amount
    } else {
        amount.checked_mul(1000)?
    };
    let at = if absolute {
        ms
    } else {
        ms.checked_add(i64::try_from(now_ms).ok()?)?
    };
    u64::try_from(at).ok().filter(|at| *at > 0)
}

struct SetOpts<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    expire: Option<ExpiryArg<'a>>,
    if_version: Option<u64>,
}

/// SET's options in Redis's order: every word is checked (syntax errors first), and only then
/// the expiry's number. As in Redis, a repeated option is allowed (the last expiry wins) but two
/// different expiry kinds, or one with KEEPTTL, are a syntax error.
fn parse_set_opts<'a>(argv: &'a [Bytes]) -> Result<SetOpts<'a>, String> {
    let mut o = SetOpts {
        nx: false,
        xx: false,
        get: false,
        keepttl: false,
        expire: None,
        if_version: None,
    };
    let mut if_version: Option<&[u8]> = None;
    let mut i = 3;
    while i < argv.len() {
        let a = &argv[i];
        let next = argv.get(i + 1);
        let exp = next.and_then(|n| ExpiryArg::parse(a, n));
        if eq(a, "nx") && !o.xx {
            o.nx = true;
        } else if eq(a, "xx") && !o.nx {
            o.xx = true;
        } else if eq(a, "get") {
            o.get = true;
        } else if eq(a, "keepttl") && o.expire.is_none() {
            o.keepttl = true;
        } else if let Some(e) = exp.filter(|e| {
            !o.keepttl
                && o.expire
                    .is_none_or(|p| (p.unit_ms, p.absolute) == (e.unit_ms, e.absolute))
        }) {
            o.expire = Some(e);
            i += 1;
        } else if eq(a, "if")
            && i + 2 < argv.len()
            && eq(&argv[i + 1], "version")
            && if_version.is_none()
        {
            if_version = Some(&argv[i + 2]);
            i += 2;
        } else {
            return Err(ERR_SYNTAX.into());
        }
        i += 1;
    }
    if let Some(v) = if_version {
        let n = parse_i64(v)
            .filter(|n| *n >= 0)
            .ok_or_else(|| ERR_NOT_INT.to_string())?;
        o.if_version = Some(n as u64);
    }
    Ok(o)
}

fn set(c: &mut Ctx, argv: &[Bytes]) {
    let o = match parse_set_opts(argv) {
        Ok(o) => o,
        Err(e) => return c.out.error(&e),
    };
    // Redis validates the expiry before it looks at the key, so a bad one fails even with NX.
    let expire = match o.expire.map(|e| e.resolve(c.now_ms, "set")).transpose() {
        Ok(e) => e,
        Err(e) => return c.out.error(&e),
    };
    let db = c.db();
    let key = &argv[1];
    let (old, old_exp, version) = match c.ks.get(db, key, c.now_ms) {
        None => (None, 0, 0),
        // Another kind is WRONGTYPE only for GET; otherwise SET replaces it (a CAS on a hash's
        // version too: IF VERSION compares versions, whatever the kind).
        Some(e) => match e.as_str() {
            Some(v) => (
                o.get.then(|| Bytes::copy_from_slice(v)),
                e.expires_at_ms(),
                e.version(),
            ),
            None if o.get => return c.out.error(ERR_WRONGTYPE),
            None => (None, e.expires_at_ms(), e.version()),
        },
    };
    if o.get && version != 0 {
        // Redis looks the key up twice for SET ... GET (the read, then the write): two
        // accesses for LFU.
        c.ks.get(db, key, c.now_ms);
    }
    let exists = version != 0;
    let blocked =
        (o.nx && exists) || (o.xx && !exists) || o.if_version.is_some_and(|v| v != version);
    if !blocked {
        let exp = if o.keepttl {
            old_exp
        } else {
            expire.unwrap_or(0)
        };
        store(c, key, Value::String(Bytes::copy_from_slice(&argv[2])), exp);
    }
    if o.get {
        c.out.bulk_opt(old.as_deref());
    } else if blocked {
        c.out.null();
    } else {
        c.out.ok();
    }
}

/// Writes a string; an expiry already in the past deletes the key instead (as Redis does).
fn store(c: &mut Ctx, key: &[u8], value: Value, exp: u64) {
    let db = c.db();
    if exp != 0 && exp <= c.now_ms {
        c.ks.del(db, key, c.now_ms);
    } else {
        c.ks.put(db, key, value, exp);
    }
}

fn setnx(c: &mut Ctx, argv: &[Bytes]) {
    let db = c.db();
    if c.ks.exists(db, &argv[1], c.now_ms) {
        c.out.int(0);
    } else {
        c.ks.put(
            db,
            &argv[1],
            Value::String(Bytes::copy_from_slice(&argv[2])),
            0,
        );
        c.out.int(1);
    }
}

fn setex_common(c: &mut Ctx, argv: &[Bytes], unit_ms: bool, name: &str) {
    let Some(n) = parse_i64(&argv[2]) else {
        return c.out.error(ERR_NOT_INT);
    };
    let Some(at) = expiry_at(c.now_ms, n, unit_ms, false) else {
        return c
            .out
            .error(&format!("ERR invalid expire time in '{name}' command"));
    };
    store(
        c,
        &argv[1],
        Value::String(Bytes::copy_from_slice(&argv[3])),
        at,
    );
    c.out.ok();
}

fn setex(c: &mut Ctx, argv: &[Bytes]) {
    setex_common(c, argv, false, "setex")
}

fn psetex(c: &mut Ctx, argv: &[Bytes]) {
    setex_common(c, argv, true, "psetex")
}

fn getset(c: &mut Ctx, argv: &[Bytes]) {
    match get_string(c, &argv[1]) {
        Err(e) => c.out.error(e),
        Ok(old) => {
            let db = c.db();
            if old.is_some() {
                // The read and the write are two accesses in Redis (LFU).
                c.ks.get(db, &argv[1], c.now_ms);
            }
            c.ks.put(
                db,
                &argv[1],
                Value::String(Bytes::copy_from_slice(&argv[2])),
                0,
            );
            c.out.bulk_opt(old.as_ref().map(|(b, _)| &b[..]));
        }
    }
}

fn getdel(c: &mut Ctx, argv: &[Bytes]) {
    match get_string(c, &argv[1]) {
        Err(e) => c.out.error(e),
        Ok(None) => c.out.null(),
        Ok(Some((v, _))) => {
            let db = c.db();
            c.ks.del(db, &argv[1], c.now_ms);
            c.out.bulk(&v);
        }
    }
}

/// GETEX in Redis 7.0's order: option words first (syntax errors), then the key (missing: nil,
/// whatever the expiry says; another type: WRONGTYPE), and only then the expiry's number.
fn getex(c: &mut Ctx, argv: &[Bytes]) {
    let mut persist = false;
    let mut expire: Option<ExpiryArg> = None;
    let mut i = 2;
    while i < argv.len() {
        let a = &argv[i];
        let exp = argv.get(i + 1).and_then(|n| ExpiryArg::parse(a, n));
        if eq(a, "persist") && expire.is_none() {
            persist = true;
        } else if let Some(e) = exp.filter(|e| {
            !persist && expire.is_none_or(|p| (p.unit_ms, p.absolute) == (e.unit_ms, e.absolute))
        }) {
            expire = Some(e);
            i += 1;
        } else {
            return c.out.error(ERR_SYNTAX);
        }
        i += 1;
    }
    let (v, cur) = match get_string(c, &argv[1]) {
        Err(e) => return c.out.error(e),
        Ok(None) => return c.out.null(),
        Ok(Some(found)) => found,
    };
    let new_exp = match expire.map(|e| e.resolve(c.now_ms, "getex")).transpose() {
        Ok(Some(at)) => Some(at),
        Ok(None) => persist.then_some(0),
        Err(e) => return c.out.error(&e),
    };
    let db = c.db();
    match new_exp {
        Some(at) if at != 0 && at <= c.now_ms => {
            c.ks.del(db, &argv[1], c.now_ms);
        }
        Some(at) if at != cur => {
            c.ks.set_expiry(db, &argv[1], at, c.now_ms);
        }
        _ => {}
    }
    c.out.bulk(&v);
}

fn mget(c: &mut Ctx, argv: &[Bytes]) {
    c.out.array(argv.len() - 1);
    let db = c.db();
    for key in &argv[1..] {
        // A key of another kind answers nil (no WRONGTYPE) and counts as a hit, as in Redis.
        let hit = match c.ks.get(db, key, c.now_ms) {
            Some(e) => {
                match e.as_str() {
                    Some(v) => c.out.bulk(v),
                    None => c.out.null(),
                }
                true
            }
            None => {
                c.out.null();
                false
            }
        };
        count_lookup(c, hit);
    }
}

fn mset(c: &mut Ctx, argv: &[Bytes]) {
    if argv.len().is_multiple_of(2) {
        return c.out.error(&wrong_args("mset"));
    }
    let db = c.db();
    for pair in argv[1..].chunks(2) {
        c.ks.put(
            db,
            &pair[0],
            Value::String(Bytes::copy_from_slice(&pair[1])),
            0,
        );
    }
    c.out.ok();
}

fn msetnx(c: &mut Ctx, argv: &[Bytes]) {
    if argv.len().is_multiple_of(2) {
        return c.out.error(&wrong_args("msetnx"));
    }
    let db = c.db();
    let now = c.now_ms;
    if argv[1..].chunks(2).any(|p| c.ks.exists(db, &p[0], now)) {
        return c.out.int(0);
    }
    for pair in argv[1..].chunks(2) {
        c.ks.put(
            db,
            &pair[0],
            Value::String(Bytes::copy_from_slice(&pair[1])),
            0,
        );
    }
    c.out.int(1);
}

fn max_len(c: &Ctx) -> usize {
    c.shared.config.get_i64("proto-max-bulk-len").max(0) as usize
}

fn append(c: &mut Ctx, argv: &[Bytes]) {
    match get_string(c, &argv[1]) {
        Err(e) => c.out.error(e),
        Ok(old) => {
            let (mut buf, exp) = match old {
                Some((v, exp)) => (v.to_vec(), exp),
                None => (Vec::new(), 0),
            };
            if buf.len() + argv[2].len() > max_len(c) {
                return c
                    .out
                    .error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
            }
            buf.extend_from_slice(&argv[2]);
            let len = buf.len();
            let db = c.db();
            c.ks.put(db, &argv[1], Value::String(Bytes::from(buf)), exp);
            c.out.int(len as i64);
        }
    }
}

fn strlen(c: &mut Ctx, argv: &[Bytes]) {
    let found = get_string(c, &argv[1]).map(|v| v.map(|(b, _)| b.len()));
    // A key of another kind is a hit, as Redis's lookupKeyRead counts it.
    count_lookup(c, !matches!(found, Ok(None)));
    match found {
        Err(e) => c.out.error(e),
        Ok(v) => c.out.int(v.unwrap_or(0) as i64),
    }
}

fn getrange(c: &mut Ctx, argv: &[Bytes]) {
    let (Some(mut start), Some(mut end)) = (parse_i64(&argv[2]), parse_i64(&argv[3])) else {
        return c.out.error(ERR_NOT_INT);
    };
    let v = match get_string(c, &argv[1]) {
        Err(e) => return c.out.error(e),
        Ok(None) => return c.out.bulk(b""),
        Ok(Some((v, _))) => v,
    };
    let len = v.len() as i64;
    if start < 0 && end < 0 && start > end {
        return c.out.bulk(b"");
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if len == 0 || start > end {
        return c.out.bulk(b"");
    }
    c.out.bulk(&v[start as usize..=end as usize]);
}

fn setrange(c: &mut Ctx, argv: &[Bytes]) {
    let Some(offset) = parse_i64(&argv[2]) else {
        return c.out.error(ERR_NOT_INT);
    };
    if offset < 0 {
        return c.out.error("ERR offset is out of range");
    }
    let old = match get_string(c, &argv[1]) {
        Err(e) => return c.out.error(e),
        Ok(v) => v,
    };
    let patch = &argv[3];
    let (mut buf, exp) = match old {
        Some((v, exp)) => (v.to_vec(), exp),
        None => {
            if patch.is_empty() {
                return c.out.int(0);
            }
            (Vec::new(), 0)
        }
    };
    if patch.is_empty() {
        return c.out.int(buf.len() as i64);
    }
    let end = offset as u64 + patch.len() as u64;
    if end > max_len(c) as u64 {
        return c
            .out
            .error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    }
    let end = end as usize;
    if buf.len() < end {
        buf.resize(end, 0);
    }
    buf[offset as usize..end].copy_from_slice(patch);
    let len = buf.len();
    let db = c.db();
    c.ks.put(db, &argv[1], Value::String(Bytes::from(buf)), exp);
    c.out.int(len as i64);
}

fn incr_by(c: &mut Ctx, key: &[u8], by: i64) {
    let (cur, exp) = match get_string(c, key) {
        Err(e) => return c.out.error(e),
        Ok(None) => (0, 0),
        Ok(Some((v, exp))) => match parse_i64(&v) {
            Some(n) => (n, exp),
            None => return c.out.error(ERR_NOT_INT),
        },
    };
    let Some(next) = cur.checked_add(by) else {
        return c.out.error("ERR increment or decrement would overflow");
    };
    let db = c.db();
    c.ks.put(db, key, Value::String(Bytes::from(next.to_string())), exp);
    c.out.int(next);
}

fn incr(c: &mut Ctx, argv: &[Bytes]) {
    incr_by(c, &argv[1], 1)
}

fn decr(c: &mut Ctx, argv: &[Bytes]) {
    incr_by(c, &argv[1], -1)
}

fn incrby(c: &mut Ctx, argv: &[Bytes]) {
    match parse_i64(&argv[2]) {
        Some(n) => incr_by(c, &argv[1], n),
        None => c.out.error(ERR_NOT_INT),
    }
}

fn decrby(c: &mut Ctx, argv: &[Bytes]) {
    match parse_i64(&argv[2]).map(|n| n.checked_neg()) {
        Some(Some(n)) => incr_by(c, &argv[1], n),
        Some(None) => c.out.error("ERR decrement would overflow"),
        None => c.out.error(ERR_NOT_INT),
    }
}

/// Redis's order: WRONGTYPE, then the current value, then the increment; the arithmetic is
/// long double's (see [`super::longdouble`]).
fn incrbyfloat(c: &mut Ctx, argv: &[Bytes]) {
    let (cur, exp) = match get_string(c, &argv[1]) {
        Err(e) => return c.out.error(e),
        Ok(None) => (None, 0),
        Ok(Some((v, exp))) => (Some(v), exp),
    };
    let text = match super::longdouble::incr_by_float(cur.as_deref(), &argv[2]) {
        Ok(t) => t,
        Err(e) => return c.out.error(&e.to_string()),
    };
    let db = c.db();
    // The WAL logs the resulting value, so replay never recomputes floating point.
    c.ks.put(db, &argv[1], Value::String(Bytes::from(text.clone())), exp);
    c.out.bulk(text.as_bytes());
}

const ERR_LCS_TYPE: &str = "ERR The specified keys must contain string values";

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN], as Redis 7.0: both keys are looked
/// up first (another kind: an error of LCS's own, not WRONGTYPE; absent: the empty string), then
/// the options, then the classic dynamic-programming table (bounded by proto-max-bulk-len like
/// Redis's transient allocation) walked back from the end, emitting the matched ranges from the
/// last to the first.
fn lcs(c: &mut Ctx, argv: &[Bytes]) {
    let db = c.db();
    let mut found = Vec::with_capacity(2);
    for key in &argv[1..3] {
        let f =
            c.ks.get(db, key, c.now_ms)
                .map(|e| e.as_str().map(Bytes::copy_from_slice));
        count_lookup(c, f.is_some());
        found.push(f);
    }
    let mut strings: [Bytes; 2] = [Bytes::new(), Bytes::new()];
    for (slot, f) in strings.iter_mut().zip(found) {
        match f {
            Some(None) => return c.out.error(ERR_LCS_TYPE),
            Some(Some(v)) => *slot = v,
            None => {}
        }
    }
    let (mut getlen, mut getidx, mut withmatchlen, mut minmatchlen) = (false, false, false, 0u64);
    let mut i = 3;
    while i < argv.len() {
        let opt = &argv[i];
        if eq(opt, "idx") {
            getidx = true;
        } else if eq(opt, "len") {
            getlen = true;
        } else if eq(opt, "withmatchlen") {
            withmatchlen = true;
        } else if eq(opt, "minmatchlen") && i + 1 < argv.len() {
            let Some(n) = parse_i64(&argv[i + 1]) else {
                return c.out.error(ERR_NOT_INT);
            };
            minmatchlen = n.max(0) as u64;
            i += 1;
        } else {
            return c.out.error(ERR_SYNTAX);
        }
        i += 1;
    }
    if getidx && getlen {
        return c
            .out
            .error("ERR If you want both the length and indexes, please just use IDX.");
    }
    let [a, b] = &strings;
    if a.len() >= u32::MAX as usize - 1 || b.len() >= u32::MAX as usize - 1 {
        return c.out.error("ERR String too long for LCS");
    }
    let (alen, blen) = (a.len(), b.len());
    let cells = (alen as u64 + 1) * (blen as u64 + 1);
    if cells.saturating_mul(4) > max_len(c) as u64 {
        return c
            .out
            .error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
    }
    // table[i * (blen + 1) + j] = the LCS length of a[..i] and b[..j].
    let w = blen + 1;
    let mut table = vec![0u32; cells as usize];
    for (i, &ac) in a.iter().enumerate() {
        for (j, &bc) in b.iter().enumerate() {
            let v = if ac == bc {
                table[i * w + j] + 1
            } else {
                table[i * w + j + 1].max(table[(i + 1) * w + j])
            };
            table[(i + 1) * w + j + 1] = v;
        }
    }
    let at = |i: usize, j: usize| table[i * w + j];
    let total = at(alen, blen) as usize;
    if getlen {
        return c.out.int(total as i64);
    }
    // Walk back from the end, as Redis does (so ranges come last to first).
    let mut result = vec![0u8; total];
    let mut ranges: Vec<[usize; 4]> = Vec::new();
    // The range being extended backwards: (a_start, a_end, b_start, b_end).
    let mut cur: Option<[usize; 4]> = None;
    let (mut i, mut j, mut idx) = (alen, blen, total);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            result[idx - 1] = a[i - 1];
            match cur.as_mut() {
                None => cur = Some([i - 1, i - 1, j - 1, j - 1]),
                Some(r) if r[0] == i && r[2] == j => {
                    r[0] -= 1;
                    r[2] -= 1;
                }
                Some(_) => emit = true,
            }
            if cur.is_some_and(|r| r[0] == 0 || r[2] == 0) {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            if at(i - 1, j) > at(i, j - 1) {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = cur.is_some();
        }
        if emit {
            if let Some(r) = cur.take() {
                if (r[1] - r[0] + 1) as u64 >= minmatchlen {
                    ranges.push(r);
                }
            }
        }
    }
    if !getidx {
        return c.out.bulk(&result);
    }
    c.out.map(2);
    c.out.bulk(b"matches");
    c.out.array(ranges.len());
    for r in &ranges {
        c.out.array(2 + withmatchlen as usize);
        c.out.array(2);
        c.out.int(r[0] as i64);
        c.out.int(r[1] as i64);
        c.out.array(2);
        c.out.int(r[2] as i64);
        c.out.int(r[3] as i64);
        if withmatchlen {
            c.out.int((r[1] - r[0] + 1) as i64);
        }
    }
    c.out.bulk(b"len");
    c.out.int(total as i64);
}

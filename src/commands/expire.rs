//! Expiry commands: EXPIRE family with NX/XX/GT/LT, TTL family, EXPIRETIME family, PERSIST.
//! Expiry times are absolute unix milliseconds in the keyspace and in the WAL.

use super::*;

const WF: &[&str] = &["write", "fast"];
const RF: &[&str] = &["readonly", "fast"];
const ACL_W: &[&str] = &["@keyspace", "@write", "@fast"];
const ACL_R: &[&str] = &["@keyspace", "@read", "@fast"];

pub static COMMANDS: &[CommandSpec] = &[
    spec(
        "expire",
        -3,
        WF,
        ONE_KEY,
        ACL_W,
        Scope::Keys,
        "generic",
        "Sets the expiration time of a key in seconds.",
        expire,
    ),
    spec(
        "pexpire",
        -3,
        WF,
        ONE_KEY,
        ACL_W,
        Scope::Keys,
        "generic",
        "Sets the expiration time of a key in milliseconds.",
        pexpire,
    ),
    spec(
        "expireat",
        -3,
        WF,
        ONE_KEY,
        ACL_W,
        Scope::Keys,
        "generic",
        "Sets the expiration time of a key to a Unix timestamp.",
        expireat,
    ),
    spec(
        "pexpireat",
        -3,
        WF,
        ONE_KEY,
        ACL_W,
        Scope::Keys,
        "generic",
        "Sets the expiration time of a key to a Unix milliseconds timestamp.",
        pexpireat,
    ),
    spec(
        "ttl",
        2,
        RF,
        ONE_KEY,
        ACL_R,
        Scope::Keys,
        "generic",
        "Returns the expiration time in seconds of a key.",
        ttl,
    ),
    spec(
        "pttl",
        2,
        RF,
        ONE_KEY,
        ACL_R,
        Scope::Keys,
        "generic",
        "Returns the expiration time in milliseconds of a key.",
        pttl,
    ),
    spec(
        "expiretime",
        2,
        RF,
        ONE_KEY,
        ACL_R,
        Scope::Keys,
        "generic",
        "Returns the expiration time of a key as a Unix timestamp.",
        expiretime,
    ),
    spec(
        "pexpiretime",
        2,
        RF,
        ONE_KEY,
        ACL_R,
        Scope::Keys,
        "generic",
        "Returns the expiration time of a key as a Unix milliseconds timestamp.",
        pexpiretime,
    ),
    spec(
        "persist",
        2,
        WF,
        ONE_KEY,
        ACL_W,
        Scope::Keys,
        "generic",
        "Removes the expiration time of a key.",
        persist,
    ),
];

/// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT in Redis 7.0's order: options (unknown or conflicting
/// ones are errors even for a missing key), then the number (not an integer, or overflowing
/// when made absolute milliseconds: `invalid expire time`), then the key (missing: 0), then
/// NX/XX/GT/LT, and an expiry not in the future deletes the key.
fn expire_generic(c: &mut Ctx, argv: &[Bytes], unit_ms: bool, absolute: bool, name: &str) {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for a in &argv[3..] {
        if eq(a, "nx") {
            nx = true;
        } else if eq(a, "xx") {
            xx = true;
        } else if eq(a, "gt") {
            gt = true;
        } else if eq(a, "lt") {
            lt = true;
        } else {
            return c.out.error(&format!("ERR Unsupported option {}", text(a)));
        }
    }
    if nx && (xx || gt || lt) {
        return c
            .out
            .error("ERR NX and XX, GT or LT options at the same time are not compatible");
    }
    if gt && lt {
        return c
            .out
            .error("ERR GT and LT options at the same time are not compatible");
    }
    let Some(n) = parse_i64(&argv[2]) else {
        return c.out.error(ERR_NOT_INT);
    };
    // Negative and past times are allowed (they delete the key); only overflow is refused.
    let base = if absolute { 0 } else { c.now_ms as i64 };
    let ms = if unit_ms {
        Some(n)
    } else {
        n.checked_mul(1000)
    };
    let Some(at) = ms.and_then(|ms| ms.checked_add(base)) else {
        return c
            .out
            .error(&format!("ERR invalid expire time in '{name}' command"));
    };
    let db = c.db();
    let Some(cur) = c.ks.get(db, &argv[1], c.now_ms).map(|e| e.expires_at_ms()) else {
        return c.out.int(0);
    };
    // A key without expiry has an infinite TTL: GT never passes, LT always does.
    let has_ttl = cur != 0;
    let cur = i64::try_from(cur).unwrap_or(i64::MAX);
    let blocked = (nx && has_ttl)
        || (xx && !has_ttl)
        || (gt && (!has_ttl || at <= cur))
        || (lt && has_ttl && at >= cur);
    if blocked {
        return c.out.int(0);
    }
    match u64::try_from(at) {
        Ok(at) if at > c.now_ms => {
            c.ks.set_expiry(db, &argv[1], at, c.now_ms);
        }
        _ => {
            c.ks.del(db, &argv[1], c.now_ms);
        }
    }
    c.out.int(1);
}

fn expire(c: &mut Ctx, argv: &[Bytes]) {
    expire_generic(c, argv, false, false, "expire")
}
fn pexpire(c: &mut Ctx, argv: &[Bytes]) {
    expire_generic(c, argv, true, false, "pexpire")
}
fn expireat(c: &mut Ctx, argv: &[Bytes]) {
    expire_generic(c, argv, false, true, "expireat")
}
fn pexpireat(c: &mut Ctx, argv: &[Bytes]) {
    expire_generic(c, argv, true, true, "pexpireat")
}

/// -2 if absent, -1 if no expiry, else the absolute expiry in ms (not an access, as Redis's
/// LOOKUP_NOTOUCH).
fn expiry_of(c: &mut Ctx, key: &[u8]) -> i64 {
    let db = c.db();
    let at = match c.ks.get_untouched(db, key, c.now_ms) {
        None => -2,
        Some(e) if e.expires_at_ms() == 0 => -1,
        Some(e) => e.expires_at_ms() as i64,
    };
    count_lookup(c, at != -2);
    at
}

fn ttl(c: &mut Ctx, argv: &[Bytes]) {
    let at = expiry_of(c, &argv[1]);
    let v = if at < 0 {
        at
    } else {
        (at - c.now_ms as i64 + 500) / 1000
    };
    c.out.int(v)
}

fn pttl(c: &mut Ctx, argv: &[Bytes]) {
    let at = expiry_of(c, &argv[1]);
    let v = if at < 0 {
        at
    } else {
        (at - c.now_ms as i64).max(0)
    };
    c.out.int(v)
}

fn expiretime(c: &mut Ctx, argv: &[Bytes]) {
    let at = expiry_of(c, &argv[1]);
    c.out.int(if at < 0 { at } else { (at + 500) / 1000 })
}

fn pexpiretime(c: &mut Ctx, argv: &[Bytes]) {
    let at = expiry_of(c, &argv[1]);
    c.out.int(at)
}

fn persist(c: &mut Ctx, argv: &[Bytes]) {
    let db = c.db();
    let has =
        c.ks.get(db, &argv[1], c.now_ms)
            .is_some_and(|e| e.expires_at_ms() != 0);
    if has {
        c.ks.set_expiry(db, &argv[1], 0, c.now_ms);
    }
    c.out.int(has as i64)
}

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

fn expire_generic(c: &mut Ctx, argv: &[Bytes], unit_ms: bool, absolute: bool, name: &str) {
    let Some(n) = parse_i64(&argv[2]) else {
        return c.out.error(ERR_NOT_INT);
    };
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
    let now = c.now_ms as i64;
    let ms = if unit_ms {
        Some(n)
    } else {
        n.checked_mul(1000)
    };
    let at = ms.and_then(|ms| {
        if absolute {
            Some(ms)
        } else {
            ms.checked_add(now)
        }
    });
    let Some(at) = at else {
        return c
            .out
            .error(&format!("ERR invalid expire time in '{name}' command"));
    };
    let db = c.db();
    let Some(cur) = c.ks.get(db, &argv[1], c.now_ms).map(|e| e.expires_at_ms()) else {
        return c.out.int(0);
    };
    // A key without expiry counts as an infinite TTL for GT/LT.
    let cur_ttl = if cur == 0 { i64::MAX } else { cur as i64 };
    let blocked =
        (nx && cur != 0) || (xx && cur == 0) || (gt && at <= cur_ttl) || (lt && at >= cur_ttl);
    if gt && cur == 0 {
        return c.out.int(0);
    }
    if blocked {
        return c.out.int(0);
    }
    if at <= now {
        c.ks.del(db, &argv[1], c.now_ms);
    } else {
        c.ks.set_expiry(db, &argv[1], at as u64, c.now_ms);
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

/// -2 if absent, -1 if no expiry, else the absolute expiry in ms.
fn expiry_of(c: &mut Ctx, key: &[u8]) -> i64 {
    let db = c.db();
    match c.ks.get(db, key, c.now_ms) {
        None => -2,
        Some(e) if e.expires_at_ms() == 0 => -1,
        Some(e) => e.expires_at_ms() as i64,
    }
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

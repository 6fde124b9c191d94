//! Keyspace commands: DEL, EXISTS, TYPE, KEYS, SCAN, RANDOMKEY, RENAME, COPY, MOVE, TOUCH,
//! OBJECT and the vaylix extension `VERSION key`. Each works on every kind of value: they read
//! the kind tag, and those that store a value elsewhere copy the whole value (`to_value` + `put`).

use super::*;
use crate::glob;
use crate::keyspace::{Kind, SHARDS};

const WR: &[&str] = &["write"];
const WF: &[&str] = &["write", "fast"];
const RF: &[&str] = &["readonly", "fast"];
const RO: &[&str] = &["readonly"];
const ACL_W: &[&str] = &["@keyspace", "@write", "@slow"];
const ACL_WF: &[&str] = &["@keyspace", "@write", "@fast"];
const ACL_RF: &[&str] = &["@keyspace", "@read", "@fast"];
const ACL_R: &[&str] = &["@keyspace", "@read", "@slow", "@dangerous"];

pub static COMMANDS: &[CommandSpec] = &[
    spec(
        "del",
        -2,
        WR,
        (1, -1, 1),
        ACL_W,
        Scope::Keys,
        "generic",
        "Deletes one or more keys.",
        del,
    ),
    spec(
        "unlink",
        -2,
        WF,
        (1, -1, 1),
        ACL_WF,
        Scope::Keys,
        "generic",
        "Deletes one or more keys.",
        del,
    ),
    spec(
        "exists",
        -2,
        RF,
        (1, -1, 1),
        ACL_RF,
        Scope::Keys,
        "generic",
        "Counts how many of the keys exist.",
        exists,
    ),
    spec(
        "type",
        2,
        RF,
        ONE_KEY,
        ACL_RF,
        Scope::Keys,
        "generic",
        "Returns the type of the value of a key.",
        type_,
    ),
    spec(
        "keys",
        2,
        RO,
        NO_KEYS,
        ACL_R,
        Scope::All,
        "generic",
        "Returns all key names that match a pattern.",
        keys,
    ),
    spec(
        "scan",
        -2,
        RO,
        NO_KEYS,
        &["@keyspace", "@read", "@slow"],
        Scope::All,
        "generic",
        "Iterates over the key names in the database.",
        scan,
    ),
    spec(
        "randomkey",
        1,
        RO,
        NO_KEYS,
        &["@keyspace", "@read", "@slow"],
        Scope::All,
        "generic",
        "Returns a random key name.",
        randomkey,
    ),
    spec(
        "rename",
        3,
        WR,
        (1, 2, 1),
        ACL_W,
        Scope::Keys,
        "generic",
        "Renames a key and overwrites the destination.",
        rename,
    ),
    spec(
        "renamenx",
        3,
        WF,
        (1, 2, 1),
        ACL_WF,
        Scope::Keys,
        "generic",
        "Renames a key only when the target key name doesn't exist.",
        renamenx,
    ),
    spec(
        "copy",
        -3,
        &["write", "denyoom"],
        (1, 2, 1),
        ACL_W,
        Scope::Keys,
        "generic",
        "Copies the value of a key to a new key.",
        copy,
    ),
    spec(
        "move",
        3,
        WF,
        ONE_KEY,
        ACL_WF,
        Scope::Keys,
        "generic",
        "Moves a key to another database.",
        move_,
    ),
    spec(
        "touch",
        -2,
        RF,
        (1, -1, 1),
        ACL_RF,
        Scope::Keys,
        "generic",
        "Returns the number of existing keys.",
        touch,
    ),
    spec(
        "object",
        -2,
        &[],
        (2, 2, 1),
        &["@slow"],
        Scope::Keys,
        "generic",
        "A container for object introspection commands.",
        object,
    ),
    spec(
        "version",
        2,
        RF,
        ONE_KEY,
        ACL_RF,
        Scope::Keys,
        "generic",
        "Returns the version of a key (vaylix), nil if absent.",
        version,
    ),
];

fn del(c: &mut Ctx, argv: &[Bytes]) {
    let db = c.db();
    let now = c.now_ms;
    let n = argv[1..]
        .iter()
        .filter(|k| c.ks.del(db, k, now).is_some())
        .count();
    c.out.int(n as i64);
}

/// EXISTS: not an access (Redis's LOOKUP_NOTOUCH), as TYPE and TTL.
fn exists(c: &mut Ctx, argv: &[Bytes]) {
    count_live(c, argv, false)
}

/// TOUCH: EXISTS that counts as an access of each key.
fn touch(c: &mut Ctx, argv: &[Bytes]) {
    count_live(c, argv, true)
}

fn count_live(c: &mut Ctx, argv: &[Bytes], touch: bool) {
    let db = c.db();
    let now = c.now_ms;
    let n = argv[1..]
        .iter()
        .filter(|k| {
            if touch {
                c.ks.exists(db, k, now)
            } else {
                c.ks.get_untouched(db, k, now).is_some()
            }
        })
        .count();
    // Each key is a read lookup (Redis's lookupKeyRead), for INFO keyspace_hits/misses.
    let st = &c.shared.stats;
    st.keyspace_hits
        .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
    st.keyspace_misses.fetch_add(
        (argv.len() - 1 - n) as u64,
        std::sync::atomic::Ordering::Relaxed,
    );
    c.out.int(n as i64);
}

fn type_(c: &mut Ctx, argv: &[Bytes]) {
    let db = c.db();
    let name =
        c.ks.get_untouched(db, &argv[1], c.now_ms)
            .map_or("none", |e| e.type_name());
    count_lookup(c, name != "none");
    c.out.simple(name);
}

fn version(c: &mut Ctx, argv: &[Bytes]) {
    let db = c.db();
    match c.ks.get(db, &argv[1], c.now_ms) {
        Some(e) => {
            // Exact: the clock never hands out a version above i64::MAX, and every reader of
            // the data dir and of dumps refuses larger ones (keyspace::clock).
            c.out.int(i64::try_from(e.version()).unwrap_or(i64::MAX))
        }
        None => c.out.null(),
    }
}

/// Which kinds SCAN returns: every key, one kind, or none (a TYPE naming no kind, which
/// Redis 7.0 answers with an empty scan, not an error).
#[derive(Clone, Copy)]
enum KindFilter {
    Any,
    Only(Kind),
    Nothing,
}

/// Live keys of `db` in one locked shard that match `pattern` (and the kind filter).
fn shard_keys(
    c: &mut Ctx,
    shard: usize,
    pattern: Option<&[u8]>,
    kinds: KindFilter,
    out: &mut Vec<Bytes>,
) {
    if matches!(kinds, KindFilter::Nothing) {
        // Still reads the shard: the reply depends on it like any scan's.
        let _ = c.ks.shard_at(shard);
        return;
    }
    let db = c.db();
    let now = c.now_ms;
    let Some(s) = c.ks.shard_at(shard) else {
        return;
    };
    let Some(map) = s.db(db) else { return };
    for e in map.iter() {
        let k = e.key();
        if e.is_expired(now) {
            continue;
        }
        if let Some(p) = pattern {
            if !glob::matches(p, k, false) {
                continue;
            }
        }
        if let KindFilter::Only(k) = kinds {
            if e.kind() != k {
                continue;
            }
        }
        out.push(Bytes::copy_from_slice(k));
    }
}

fn keys(c: &mut Ctx, argv: &[Bytes]) {
    let mut found = Vec::new();
    let pattern = if &argv[1][..] == b"*" {
        None
    } else {
        Some(&argv[1][..])
    };
    for shard in 0..SHARDS {
        shard_keys(c, shard, pattern, KindFilter::Any, &mut found);
    }
    c.out.bulks(found.iter());
}

/// SCAN's cursor is the next shard to visit: each call returns whole shards (at least one) until
/// COUNT keys are collected, so a key present for the whole iteration is returned exactly once.
fn scan(c: &mut Ctx, argv: &[Bytes]) {
    let Some(cursor) = std::str::from_utf8(&argv[1])
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    else {
        return c.out.error("ERR invalid cursor");
    };
    let mut pattern: Option<Bytes> = None;
    let mut count = 10usize;
    let mut kinds = KindFilter::Any;
    let mut i = 2;
    while i < argv.len() {
        if i + 1 >= argv.len() {
            return c.out.error(ERR_SYNTAX);
        }
        let a = &argv[i];
        if eq(a, "match") {
            pattern = Some(argv[i + 1].clone());
        } else if eq(a, "count") {
            match parse_i64(&argv[i + 1]) {
                Some(n) if n >= 1 => count = n as usize,
                Some(_) => return c.out.error(ERR_SYNTAX),
                None => return c.out.error(ERR_NOT_INT),
            }
        } else if eq(a, "type") {
            kinds =
                Kind::from_type_name(&argv[i + 1]).map_or(KindFilter::Nothing, KindFilter::Only);
        } else {
            return c.out.error(ERR_SYNTAX);
        }
        i += 2;
    }
    let mut shard = cursor.min(SHARDS as u64) as usize;
    let mut found = Vec::new();
    while shard < SHARDS {
        shard_keys(
            c,
            shard,
            pattern.as_deref().filter(|p| &p[..] != b"*"),
            kinds,
            &mut found,
        );
        shard += 1;
        if found.len() >= count {
            break;
        }
    }
    let next = if shard >= SHARDS { 0 } else { shard };
    c.out.array(2);
    c.out.bulk(next.to_string().as_bytes());
    c.out.bulks(found.iter());
}

fn randomkey(c: &mut Ctx, _argv: &[Bytes]) {
    let db = c.db();
    let now = c.now_ms;
    let start = rand::random::<u32>() as usize % SHARDS;
    for off in 0..SHARDS {
        let Some(s) = c.ks.shard_at((start + off) % SHARDS) else {
            continue;
        };
        let Some(map) = s.db(db) else { continue };
        let live: Vec<&[u8]> = map
            .iter()
            .filter(|e| !e.is_expired(now))
            .map(|e| e.key())
            .collect();
        if !live.is_empty() {
            let k = live[rand::random::<u32>() as usize % live.len()];
            return c.out.bulk(k);
        }
    }
    c.out.null();
}

fn rename_common(c: &mut Ctx, argv: &[Bytes], nx: bool) {
    let db = c.db();
    let now = c.now_ms;
    let Some(e) = c.ks.get(db, &argv[1], now).cloned() else {
        return c.out.error(ERR_NO_SUCH_KEY);
    };
    if argv[1] == argv[2] {
        return if nx { c.out.int(0) } else { c.out.ok() };
    }
    if nx && c.ks.exists(db, &argv[2], now) {
        return c.out.int(0);
    }
    c.ks.del(db, &argv[1], now);
    c.ks.put(db, &argv[2], e.to_value(), e.expires_at_ms());
    if nx {
        c.out.int(1)
    } else {
        c.out.ok()
    }
}

fn rename(c: &mut Ctx, argv: &[Bytes]) {
    rename_common(c, argv, false)
}

fn renamenx(c: &mut Ctx, argv: &[Bytes]) {
    rename_common(c, argv, true)
}

fn parse_db(c: &Ctx, arg: &[u8]) -> Result<DbIndex, &'static str> {
    let n = parse_i64(arg).ok_or(ERR_NOT_INT)?;
    db_index(c.shared, n).ok_or("ERR DB index is out of range")
}

fn copy(c: &mut Ctx, argv: &[Bytes]) {
    let mut dst_db = c.db();
    let mut replace = false;
    let mut i = 3;
    while i < argv.len() {
        if eq(&argv[i], "replace") {
            replace = true;
        } else if eq(&argv[i], "db") && i + 1 < argv.len() {
            match parse_db(c, &argv[i + 1]) {
                Ok(d) => dst_db = d,
                Err(e) => return c.out.error(e),
            }
            i += 1;
        } else {
            return c.out.error(ERR_SYNTAX);
        }
        i += 1;
    }
    let db = c.db();
    let now = c.now_ms;
    if db == dst_db && argv[1] == argv[2] {
        return c
            .out
            .error("ERR source and destination objects are the same");
    }
    let Some(e) = c.ks.get(db, &argv[1], now).cloned() else {
        return c.out.int(0);
    };
    if c.ks.exists(dst_db, &argv[2], now) && !replace {
        return c.out.int(0);
    }
    c.ks.put(dst_db, &argv[2], e.to_value(), e.expires_at_ms());
    c.out.int(1);
}

fn move_(c: &mut Ctx, argv: &[Bytes]) {
    let dst = match parse_db(c, &argv[2]) {
        Ok(d) => d,
        Err(e) => return c.out.error(e),
    };
    let db = c.db();
    if dst == db {
        return c
            .out
            .error("ERR source and destination objects are the same");
    }
    let now = c.now_ms;
    let Some(e) = c.ks.get(db, &argv[1], now).cloned() else {
        return c.out.int(0);
    };
    if c.ks.exists(dst, &argv[1], now) {
        return c.out.int(0);
    }
    c.ks.del(db, &argv[1], now);
    c.ks.put(dst, &argv[1], e.to_value(), e.expires_at_ms());
    c.out.int(1);
}

/// Redis's OBJECT_SHARED_REFCOUNT: what OBJECT REFCOUNT answers for a shared integer.
const SHARED_REFCOUNT: i64 = i32::MAX as i64;

/// Redis shares the string objects of the integers 0..=9999 (OBJ_SHARED_INTEGERS) unless a
/// maxmemory LRU/LFU policy is in force (each key then needs its own access clock).
fn shares_integers(c: &Ctx) -> bool {
    let policy = c.shared.config.get_str("maxmemory-policy");
    c.shared.config.get_i64("maxmemory") == 0
        || !(policy.ends_with("-lru") || policy.ends_with("-lfu"))
}

fn is_shared_integer(v: &[u8]) -> bool {
    crate::keyspace::coll::canonical_int(v).is_some_and(|n| (0..10_000).contains(&n))
}

const LFU_SELECTED: &str = "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
const LFU_NOT_SELECTED: &str = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";

/// OBJECT ENCODING | REFCOUNT | IDLETIME | FREQ | HELP, Redis 7.0's replies and errors (a
/// missing key is nil before any policy check). IDLETIME and FREQ read the key's access stamp
/// ([`crate::keyspace::access`]) without touching it.
fn object(c: &mut Ctx, argv: &[Bytes]) {
    let sub = text(&argv[1]).to_ascii_lowercase();
    let known = ["encoding", "refcount", "idletime", "freq"].contains(&sub.as_str());
    if sub == "help" && argv.len() == 2 {
        return c.out.help(&[
            "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
        ]);
    }
    if sub == "help" || (known && argv.len() != 3) {
        return c.out.error(&format!(
            "ERR wrong number of arguments for 'object|{sub}' command"
        ));
    }
    if !known {
        return c.out.error(&unknown_subcommand(argv, "OBJECT"));
    }
    let lfu = c
        .shared
        .config
        .get_str("maxmemory-policy")
        .ends_with("-lfu");
    let shares = shares_integers(c);
    let db = c.db();
    let Some(e) = c.ks.get_untouched(db, &argv[2], c.now_ms) else {
        count_lookup(c, false);
        return c.out.null();
    };
    let stamp = e.access();
    let encoding = e.encoding();
    let refshared = shares && e.as_str().is_some_and(is_shared_integer);
    count_lookup(c, true);
    match sub.as_str() {
        "encoding" => c.out.bulk(encoding.as_bytes()),
        "refcount" => c.out.int(if refshared { SHARED_REFCOUNT } else { 1 }),
        "idletime" if lfu => c.out.error(LFU_SELECTED),
        "freq" if !lfu => c.out.error(LFU_NOT_SELECTED),
        "idletime" => c.out.int(crate::keyspace::access::idle_secs(stamp) as i64),
        _ => c
            .out
            .int(i64::from(crate::keyspace::access::decayed(stamp))),
    }
}

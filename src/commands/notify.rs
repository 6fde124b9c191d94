//! Keyspace notifications (`notify-keyspace-events`): after a command, its events are
//! published on `__keyspace@<db>__:<key>` (message: the event) and
//! `__keyevent@<db>__:<event>` (message: the key), as Redis 7.0 does.
//!
//! The events are derived from what the command logged (its WAL effects) and its name, so
//! every write path, including clients served by a push and commands inside EXEC, reports
//! without each handler calling a notifier. Keys that expire (lazily or by the active cycle)
//! report `expired`.

use crate::keyspace::{DbIndex, Effect, Locked, Value};
use crate::server::Shared;
use bytes::Bytes;
use std::sync::atomic::Ordering;

pub const KEYSPACE: u32 = 1 << 0;
pub const KEYEVENT: u32 = 1 << 1;
pub const GENERIC: u32 = 1 << 2;
pub const STRING: u32 = 1 << 3;
pub const LIST: u32 = 1 << 4;
pub const SET: u32 = 1 << 5;
pub const HASH: u32 = 1 << 6;
pub const ZSET: u32 = 1 << 7;
pub const EXPIRED: u32 = 1 << 8;
pub const EVICTED: u32 = 1 << 9;
pub const STREAM: u32 = 1 << 10;
pub const KEY_MISS: u32 = 1 << 11;
pub const MODULE: u32 = 1 << 12;
pub const NEW: u32 = 1 << 13;
/// `A`: every class but key misses and new keys.
pub const ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// The class letters in Redis's order (for [`format_flags`]).
const CLASSES: [(u32, char); 10] = [
    (GENERIC, 'g'),
    (STRING, '$'),
    (LIST, 'l'),
    (SET, 's'),
    (HASH, 'h'),
    (ZSET, 'z'),
    (EXPIRED, 'x'),
    (EVICTED, 'e'),
    (STREAM, 't'),
    (MODULE, 'd'),
];

/// Parses a `notify-keyspace-events` value; `None` for a character that names no class.
pub fn parse_flags(value: &str) -> Option<u32> {
    let mut flags = 0;
    for ch in value.chars() {
        flags |= match ch {
            'A' => ALL,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            'm' => KEY_MISS,
            'n' => NEW,
            c => CLASSES.iter().find(|(_, l)| *l == c)?.0,
        };
    }
    Some(flags)
}

/// The canonical spelling CONFIG GET shows (Redis's `keyspaceEventsFlagsToString`).
pub fn format_flags(flags: u32) -> String {
    let mut s = String::new();
    if flags & ALL == ALL {
        s.push('A');
    } else {
        for (bit, letter) in CLASSES {
            if flags & bit != 0 {
                s.push(letter);
            }
        }
    }
    for (bit, letter) in [
        (KEYSPACE, 'K'),
        (KEYEVENT, 'E'),
        (KEY_MISS, 'm'),
        (NEW, 'n'),
    ] {
        if flags & bit != 0 {
            s.push(letter);
        }
    }
    s
}

/// Publishes one event if the configured flags ask for its class. `seq` is the WAL entry
/// of the write it reports (0: none); subscribers get it once that entry is acknowledged,
/// so no one hears of a write that a crash could still take back.
pub fn notify(shared: &Shared, class: u32, event: &str, db: DbIndex, key: &[u8], seq: u64) {
    let flags = shared.pubsub.notify_flags.load(Ordering::Relaxed);
    if flags & class == 0 || flags & (KEYSPACE | KEYEVENT) == 0 {
        return;
    }
    if flags & KEYSPACE != 0 {
        let mut ch = format!("__keyspace@{db}__:").into_bytes();
        ch.extend_from_slice(key);
        shared.pubsub.publish(&ch, event.as_bytes(), false, seq);
    }
    if flags & KEYEVENT != 0 {
        let ch = format!("__keyevent@{db}__:{event}");
        shared.pubsub.publish(ch.as_bytes(), key, false, seq);
    }
}

/// Keys that expired (lazily, under a command, or by the active cycle): their `expired`
/// events, and their invalidations for tracking clients.
pub fn expired_keys(shared: &Shared, keys: Vec<(DbIndex, Bytes)>) {
    if keys.is_empty() {
        return;
    }
    if enabled(shared) {
        for (db, key) in &keys {
            // Expiry is absolute: a key that expired stays expired after a crash.
            notify(shared, EXPIRED, "expired", *db, key, 0);
        }
    }
    if shared.pubsub.tracking.count() > 0 {
        let names: Vec<Bytes> = keys.into_iter().map(|(_, k)| k).collect();
        shared.pubsub.tracking.invalidate(&shared.pubsub, &names);
    }
}

/// Whether any notification is on (one relaxed load on the command path).
pub fn enabled(shared: &Shared) -> bool {
    shared.pubsub.notify_flags.load(Ordering::Relaxed) & (KEYSPACE | KEYEVENT) != 0
}

/// Publishes the events of the command `name` whose effects are `locked.effects()[from..]`,
/// and `expired` for the keys the command saw expire.
pub fn after_command(
    shared: &Shared,
    locked: &mut Locked,
    name: &str,
    argv: &[Bytes],
    from: usize,
    now_ms: u64,
) {
    let to = locked.effects().len();
    after_effects(shared, locked, name, argv, from..to, now_ms);
}

/// The events of the blocked clients a write served, each as its own blocking command.
pub fn after_served(
    shared: &Shared,
    locked: &mut Locked,
    served: &[super::blocking::ServedOp],
    now_ms: u64,
) {
    if !enabled(shared) {
        return;
    }
    for op in served {
        after_effects(shared, locked, op.name, &[], op.effects.clone(), now_ms);
    }
}

fn after_effects(
    shared: &Shared,
    locked: &mut Locked,
    name: &str,
    argv: &[Bytes],
    effects: std::ops::Range<usize>,
    now_ms: u64,
) {
    expired_keys(shared, locked.take_expired());
    if !enabled(shared) {
        return;
    }
    // (class, event, db, key, only if the key is gone by now)
    let mut events: Vec<(u32, &'static str, DbIndex, Bytes, bool)> = Vec::new();
    let created = locked.created();
    let first_created = created.partition_point(|&i| i < effects.start);
    let mut created = created
        .get(first_created..)
        .unwrap_or_default()
        .iter()
        .peekable();
    for (i, e) in locked
        .effects()
        .iter()
        .enumerate()
        .take(effects.end)
        .skip(effects.start)
    {
        let Some((db, key)) = e.key() else { continue };
        if created.next_if(|&&c| c == i).is_some() {
            events.push((NEW, "new", db, key.clone(), false));
        }
        for (class, event) in effect_events(name, argv, e).into_iter().flatten() {
            events.push((class, event, db, key.clone(), false));
        }
        // A hash, set or sorted set left empty is removed without a Del of its own.
        if matches!(
            e,
            Effect::HashDel { .. } | Effect::SetRem { .. } | Effect::ZRem { .. }
        ) {
            events.push((GENERIC, "del", db, key.clone(), true));
        }
    }
    if matches!(name, "lmove" | "rpoplpush" | "blmove" | "brpoplpush") {
        // Redis reports the push to the destination before the pop from the source.
        let (mut push, rest): (Vec<_>, Vec<_>) = events
            .into_iter()
            .partition(|e| matches!(e.1, "lpush" | "rpush" | "new"));
        push.extend(rest);
        events = push;
    }
    if matches!(name, "rename" | "renamenx") {
        // The destination is created before the source's removal is reported.
        let (mut new, rest): (Vec<_>, Vec<_>) = events.into_iter().partition(|e| e.1 == "new");
        new.extend(rest);
        events = new;
    }
    let seq = locked.seq().unwrap_or(0);
    for (class, event, db, key, if_gone) in events {
        if !if_gone || !locked.exists(db, &key, now_ms) {
            notify(shared, class, event, db, &key, seq);
        }
    }
}

/// `keymiss` for each key the command `name` is about to read that is absent (Redis reports
/// a miss from its read lookups: read-only commands, and the keys some writes read first).
/// Runs before the command, under its locks, after reporting what the lookups expire.
pub fn before_command(
    shared: &Shared,
    locked: &mut Locked,
    spec: &super::CommandSpec,
    db: DbIndex,
    argv: &[Bytes],
    now_ms: u64,
) {
    let flags = shared.pubsub.notify_flags.load(Ordering::Relaxed);
    if flags & KEY_MISS == 0 || flags & (KEYSPACE | KEYEVENT) == 0 {
        return;
    }
    let keys = spec.keys_of(argv);
    let read: &[usize] = match spec.name {
        // OBJECT looks its key up without notifying.
        "object" | "memory" => &[],
        "getdel" | "getex" | "getset" | "sort" | "sort_ro" => &keys,
        "set" if has_word(argv, "get") => &keys,
        "copy" => keys.get(..1).unwrap_or_default(),
        // The sources of a *STORE command; its destination is looked up for writing.
        "sunionstore" | "sinterstore" | "sdiffstore" | "zunionstore" | "zinterstore"
        | "zdiffstore" | "zrangestore" => keys.get(1..).unwrap_or_default(),
        _ if spec.has_flag("readonly") => &keys,
        _ => &[],
    };
    let missing: Vec<Bytes> = read
        .iter()
        .filter_map(|&i| argv.get(i))
        .filter(|k| !locked.exists(db, k, now_ms))
        .cloned()
        .collect();
    expired_keys(shared, locked.take_expired());
    for key in missing {
        notify(shared, KEY_MISS, "keymiss", db, &key, 0);
    }
}

/// The class of a value's type.
fn class_of(v: &Value) -> u32 {
    match v {
        Value::String(_) => STRING,
        Value::Hash(_) => HASH,
        Value::Set(_) => SET,
        Value::ZSet(_) => ZSET,
        Value::List(_) => LIST,
    }
}

fn has_word(argv: &[Bytes], word: &str) -> bool {
    argv.iter()
        .skip(1)
        .any(|a| a.eq_ignore_ascii_case(word.as_bytes()))
}

/// Redis's events for one effect of the command `cmd` (at most two).
fn effect_events(cmd: &str, argv: &[Bytes], e: &Effect) -> [Option<(u32, &'static str)>; 2] {
    let one = |c, ev| [Some((c, ev)), None];
    match e {
        Effect::Put {
            value,
            expires_at_ms,
            ..
        } => match cmd {
            "set" | "setex" | "psetex" => {
                let expire = expires_at_ms.is_some() && !has_word(argv, "keepttl");
                [Some((STRING, "set")), expire.then_some((GENERIC, "expire"))]
            }
            "setnx" | "getset" | "mset" | "msetnx" => one(STRING, "set"),
            "append" => one(STRING, "append"),
            "incr" | "decr" | "incrby" | "decrby" => one(STRING, "incrby"),
            "incrbyfloat" => one(STRING, "incrbyfloat"),
            "setrange" => one(STRING, "setrange"),
            "rename" | "renamenx" => one(GENERIC, "rename_to"),
            "copy" => one(GENERIC, "copy_to"),
            "move" => one(GENERIC, "move_to"),
            "restore" => one(GENERIC, "restore"),
            "sinterstore" => one(SET, "sinterstore"),
            "sunionstore" => one(SET, "sunionstore"),
            "sdiffstore" => one(SET, "sdiffstore"),
            "zunionstore" => one(ZSET, "zunionstore"),
            "zinterstore" => one(ZSET, "zinterstore"),
            "zdiffstore" => one(ZSET, "zdiffstore"),
            "zrangestore" => one(ZSET, "zrangestore"),
            _ => match value {
                Value::String(_) => one(STRING, "set"),
                v => one(class_of(v), "set"),
            },
        },
        Effect::Del { .. } => match cmd {
            // SPOP taking every member removes the key whole.
            "spop" => [Some((SET, "spop")), Some((GENERIC, "del"))],
            "rename" | "renamenx" => one(GENERIC, "rename_from"),
            "move" => one(GENERIC, "move_from"),
            _ => one(GENERIC, "del"),
        },
        Effect::SetExpiry { expires_at_ms, .. } => match expires_at_ms {
            None => one(GENERIC, "persist"),
            Some(_) => one(GENERIC, "expire"),
        },
        Effect::FlushDb { .. } | Effect::FlushAll | Effect::Functions { .. } => [None, None],
        Effect::HashSet { .. } => match cmd {
            "hincrby" => one(HASH, "hincrby"),
            "hincrbyfloat" => one(HASH, "hincrbyfloat"),
            _ => one(HASH, "hset"),
        },
        Effect::HashDel { .. } => one(HASH, "hdel"),
        Effect::SetAdd { .. } => one(SET, "sadd"),
        Effect::SetRem { .. } => match cmd {
            "spop" => one(SET, "spop"),
            _ => one(SET, "srem"),
        },
        Effect::ZAdd { .. } => match cmd {
            "zincrby" => one(ZSET, "zincr"),
            "zadd" if has_word(argv, "incr") => one(ZSET, "zincr"),
            _ => one(ZSET, "zadd"),
        },
        Effect::ZRem { .. } => match cmd {
            "zremrangebyscore" => one(ZSET, "zremrangebyscore"),
            "zremrangebyrank" => one(ZSET, "zremrangebyrank"),
            "zremrangebylex" => one(ZSET, "zremrangebylex"),
            "zpopmin" | "bzpopmin" => one(ZSET, "zpopmin"),
            "zpopmax" | "bzpopmax" => one(ZSET, "zpopmax"),
            "zmpop" | "bzmpop" if has_word(argv, "min") => one(ZSET, "zpopmin"),
            "zmpop" | "bzmpop" => one(ZSET, "zpopmax"),
            _ => one(ZSET, "zrem"),
        },
        Effect::ListPush { left, .. } => one(LIST, if *left { "lpush" } else { "rpush" }),
        Effect::ListPop { left, .. } => one(LIST, if *left { "lpop" } else { "rpop" }),
        Effect::ListSet { .. } => one(LIST, "lset"),
        Effect::ListInsert { .. } => one(LIST, "linsert"),
        Effect::ListRem { .. } => one(LIST, "lrem"),
        Effect::ListTrim { .. } => one(LIST, "ltrim"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_and_print_as_redis_does() {
        assert_eq!(parse_flags("KEA").map(format_flags).as_deref(), Some("AKE"));
        assert_eq!(parse_flags("Ex$").map(format_flags).as_deref(), Some("$xE"));
        assert_eq!(parse_flags("").map(format_flags).as_deref(), Some(""));
        assert_eq!(
            parse_flags("Kg$lshzxetd").map(format_flags).as_deref(),
            Some("AK")
        );
        assert_eq!(parse_flags("Kmn").map(format_flags).as_deref(), Some("Kmn"));
        assert_eq!(parse_flags("Kq"), None);
    }
}

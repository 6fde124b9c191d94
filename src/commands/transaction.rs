//! MULTI / EXEC / DISCARD / WATCH / UNWATCH with Redis's semantics.
//!
//! EXEC locks, in ascending order, the union of the shards its queued commands need plus the
//! shards of the watched keys, checks WATCH under those locks, then runs every queued command
//! against the same [`Locked`]: the whole transaction is one WAL entry and one version.

use super::*;
use crate::server::MISCONF;
use std::sync::atomic::Ordering;

const F: &[&str] = &["noscript", "loading", "stale", "fast", "allow_busy"];
const ACL_T: &[&str] = &["@fast", "@transaction"];

pub static COMMANDS: &[CommandSpec] = &[
    spec(
        "multi",
        1,
        F,
        NO_KEYS,
        ACL_T,
        Scope::None,
        "transactions",
        "Starts a transaction.",
        multi,
    ),
    spec(
        "exec",
        1,
        &["noscript", "loading", "stale", "skip_slowlog"],
        NO_KEYS,
        &["@slow", "@transaction"],
        Scope::None,
        "transactions",
        "Executes all commands in a transaction.",
        exec,
    ),
    spec(
        "discard",
        1,
        F,
        NO_KEYS,
        ACL_T,
        Scope::None,
        "transactions",
        "Discards a transaction.",
        discard,
    ),
    spec(
        "watch",
        -2,
        F,
        (1, -1, 1),
        ACL_T,
        Scope::None,
        "transactions",
        "Monitors changes to keys to determine the execution of a transaction.",
        watch,
    ),
    spec(
        "unwatch",
        1,
        F,
        NO_KEYS,
        ACL_T,
        Scope::None,
        "transactions",
        "Forgets about watched keys of a transaction.",
        unwatch,
    ),
];

fn multi(c: &mut Ctx, _argv: &[Bytes]) {
    if c.conn.multi.is_some() {
        return c.out.error("ERR MULTI calls can not be nested");
    }
    c.conn.multi = Some(Vec::new());
    c.conn.multi_error = false;
    c.conn.info.in_multi.store(true, Ordering::Relaxed);
    c.out.ok();
}

fn discard(c: &mut Ctx, _argv: &[Bytes]) {
    if c.conn.multi.take().is_none() {
        return c.out.error("ERR DISCARD without MULTI");
    }
    c.conn.multi_error = false;
    c.conn.info.in_multi.store(false, Ordering::Relaxed);
    c.conn.unwatch_all(c.shared);
    c.out.ok();
}

fn watch(c: &mut Ctx, argv: &[Bytes]) {
    if c.conn.multi.is_some() {
        return c.out.error("ERR WATCH inside MULTI is not allowed");
    }
    let db = c.db();
    for key in &argv[1..] {
        if c.conn.watched.iter().any(|(d, k, _)| *d == db && k == key) {
            continue;
        }
        let key = Bytes::copy_from_slice(key);
        let expired = c
            .shared
            .keyspace
            .watch(db, &key, &c.conn.watch_flag, c.now_ms);
        c.conn.watched.push((db, key, expired));
    }
    c.conn
        .info
        .watching
        .store(c.conn.watched.len(), Ordering::Relaxed);
    c.out.ok();
}

fn unwatch(c: &mut Ctx, _argv: &[Bytes]) {
    c.conn.unwatch_all(c.shared);
    c.out.ok();
}

fn exec(c: &mut Ctx, _argv: &[Bytes]) {
    let Some(queued) = c.conn.multi.take() else {
        return c.out.error("ERR EXEC without MULTI");
    };
    c.conn.info.in_multi.store(false, Ordering::Relaxed);
    if std::mem::take(&mut c.conn.multi_error) {
        c.conn.unwatch_all(c.shared);
        return c
            .out
            .error("EXECABORT Transaction discarded because of previous errors.");
    }
    let shared = c.shared;
    let ks = &shared.keyspace;

    // The shards every queued command needs, with the database each will run in.
    let mut all = false;
    let mut shards: Vec<usize> = c
        .conn
        .watched
        .iter()
        .map(|(_, k, _)| ks.shard_of(k))
        .collect();
    let mut specs = Vec::with_capacity(queued.len());
    for argv in &queued {
        let Some(index) = super::lookup_index(&argv[0]) else {
            continue;
        };
        let spec = super::all()[index];
        match spec.scope {
            Scope::All => all = true,
            Scope::Keys => key_shards(shared, spec, argv, &mut shards),
            Scope::None => {}
        }
        specs.push((index, spec));
    }
    // A queued script may touch any key: it runs under EXEC's locks, which are then all of
    // them with the gate held exclusively (see `commands::scripting`).
    let mut locked = if specs.iter().any(|(_, s)| s.group == "scripting") {
        ks.lock_exclusive((0..crate::keyspace::SHARDS).collect())
    } else if all {
        ks.lock_all()
    } else {
        ks.lock(shards)
    };
    let now = now_ms();

    // WATCH: a write to a watched key, or a watched key that expired since WATCH.
    let mut dirty = c.conn.watch_flag.load(Ordering::Acquire);
    if !dirty {
        for (db, key, expired_at_watch) in &c.conn.watched {
            if !expired_at_watch && logically_expired(&locked, *db, key, now) {
                dirty = true;
                break;
            }
        }
    }
    // Unwatch now, through the held locks (a queued UNWATCH then finds nothing to do).
    for (db, key, _) in std::mem::take(&mut c.conn.watched) {
        locked.unwatch(db, &key, &c.conn.watch_flag);
    }
    c.conn.watch_flag.store(false, Ordering::Release);
    c.conn.info.watching.store(0, Ordering::Relaxed);
    if dirty {
        return c.out.null_array();
    }

    c.out.array(queued.len());
    c.conn.in_exec = true;
    for (argv, (index, spec)) in queued.iter().zip(specs) {
        if spec.is_write() && shared.poisoned() {
            c.out.error(MISCONF);
            continue;
        }
        if spec.is_write() && !shared.keyspace.clock_has_room() {
            c.out.error(crate::keyspace::clock::CLOCK_EXHAUSTED);
            continue;
        }
        let mut inner = Ctx {
            shared,
            conn: &mut *c.conn,
            ks: &mut locked,
            out: &mut *c.out,
            now_ms: now,
            after: After::Nothing,
        };
        // Errors EXEC itself wrote above belong to no queued command.
        shared.cmdstats.count_errors(&mut inner.out.errors);
        let started = std::time::Instant::now();
        let from = inner.ks.effects().len();
        let db = inner.conn.db;
        super::notify::before_command(c.shared, inner.ks, spec, db, argv, now);
        (spec.handler)(&mut inner, argv);
        super::notify::after_command(c.shared, inner.ks, spec.name, argv, from, now);
        super::pubsub::feed_monitors(c.shared, inner.conn, spec, argv);
        let effects = inner.ks.effects().get(from..).unwrap_or_default();
        super::pubsub::track(c.shared, &mut *inner.conn, spec, argv, effects);
        let slot = shared.cmdstats.slot_of(index, argv);
        let call = crate::server::Call {
            spec,
            argv,
            slot,
            started,
        };
        crate::server::record_call(shared, Some(&inner.conn.info), call, inner.out, false);
        if let After::Sleep(_) | After::Save = inner.after {
            // Blocking side effects are skipped inside a transaction (Redis does the same for DEBUG SLEEP's wait).
        } else if !matches!(inner.after, After::Nothing) {
            c.after = std::mem::take(&mut inner.after);
        }
        c.out.resp3 = c.conn.resp3;
    }
    c.conn.in_exec = false;
    // Waiters on keys the transaction left non-empty are served now, under its locks.
    let mut served = Vec::new();
    let deferred = super::blocking::serve_ready(&mut locked, now, &mut served);
    super::notify::after_served(c.shared, &mut locked, &served, now);
    c.conn.observe(locked.observed());
    drop(locked);
    if !deferred.is_empty() {
        super::blocking::serve_deferred(shared, deferred, now);
    }
}

/// Whether `key` exists but has passed its expiry (not yet removed).
fn logically_expired(locked: &Locked, db: DbIndex, key: &Bytes, now: u64) -> bool {
    let idx = locked.keyspace().shard_of(key);
    locked
        .shard_at(idx)
        .and_then(|s| s.db(db))
        .and_then(|m| m.get(&key[..]))
        .is_some_and(|e| e.expires_at_ms() != 0 && e.expires_at_ms() <= now)
}

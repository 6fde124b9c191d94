//! EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT: the command side of `crate::scripting`.
//!
//! A script runs atomically: it takes the keyspace gate exclusively and the shards of its
//! declared keys, then any shard a call needs (`Locked::lock_more`), and keeps them all to
//! the end. Its effects accumulate in that one `Locked`, so they reach the WAL as one entry
//! when it drops, and replay applies them without running Lua. Other clients wait meanwhile
//! (the connection loop's `wait_turn`), or get -BUSY once the script passes
//! `busy-reply-threshold`.

use super::{arity_ok, parse_i64, text, unknown_subcommand, CommandSpec, Ctx, Scope, NO_KEYS};
use crate::keyspace::{Locked, SHARDS};
use crate::resp::ReplyWriter;
use crate::scripting::{Caller, Run};
use crate::server::{ConnState, Shared, MISCONF};
use bytes::{Bytes, BytesMut};

const F_EVAL: &[&str] = &[
    "noscript",
    "stale",
    "skip_monitor",
    "may_replicate",
    "no_mandatory_keys",
    "movablekeys",
];
const F_EVAL_RO: &[&str] = &[
    "noscript",
    "stale",
    "skip_monitor",
    "no_mandatory_keys",
    "movablekeys",
];
const ACL_SCRIPT: &[&str] = &["@slow", "@scripting"];

const fn eval_spec(
    name: &'static str,
    since: &'static str,
    flags: &'static [&'static str],
    summary: &'static str,
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec {
        since,
        movable_keys: Some(eval_keys),
        ..super::spec(
            name,
            -3,
            flags,
            NO_KEYS,
            ACL_SCRIPT,
            Scope::None,
            "scripting",
            summary,
            handler,
        )
    }
}

pub static COMMANDS: &[CommandSpec] = &[
    eval_spec(
        "eval",
        "2.6.0",
        F_EVAL,
        "Executes a server-side Lua script.",
        |c, a| eval(c, a, false, false),
    ),
    eval_spec(
        "evalsha",
        "2.6.0",
        F_EVAL,
        "Executes a server-side Lua script by SHA1 digest.",
        |c, a| eval(c, a, true, false),
    ),
    eval_spec(
        "eval_ro",
        "7.0.0",
        F_EVAL_RO,
        "Executes a read-only server-side Lua script.",
        |c, a| eval(c, a, false, true),
    ),
    eval_spec(
        "evalsha_ro",
        "7.0.0",
        F_EVAL_RO,
        "Executes a read-only server-side Lua script by SHA1 digest.",
        |c, a| eval(c, a, true, true),
    ),
    CommandSpec {
        since: "2.6.0",
        ..super::spec(
            "script",
            -2,
            &[],
            NO_KEYS,
            &["@slow"],
            Scope::None,
            "scripting",
            "A container for Lua scripts management commands.",
            script,
        )
    },
    eval_spec("fcall", "7.0.0", F_EVAL, "Invokes a function.", fcall),
    eval_spec(
        "fcall_ro",
        "7.0.0",
        F_EVAL_RO,
        "Invokes a read-only function.",
        fcall,
    ),
    CommandSpec {
        since: "7.0.0",
        ..super::spec(
            "function",
            -2,
            &[],
            NO_KEYS,
            &["@slow"],
            Scope::None,
            "scripting",
            "A container for function commands.",
            function,
        )
    },
];

/// FCALL / FCALL_RO: no function library can be loaded yet, so every name is unknown.
fn fcall(c: &mut Ctx, argv: &[Bytes]) {
    match parse_i64(&argv[2]) {
        Some(n) if n >= 0 && n as u64 <= (argv.len() - 3) as u64 => {
            c.out.error("ERR Function not found")
        }
        Some(n) if n >= 0 => c
            .out
            .error("ERR Number of keys can't be greater than number of args"),
        _ => c.out.error("ERR Bad number of keys provided"),
    }
}

/// FUNCTION: only KILL and STATS so far (libraries are not implemented yet); both answer
/// as Redis does while an EVAL script runs.
fn function(c: &mut Ctx, argv: &[Bytes]) {
    let sub = text(&argv[1]).to_ascii_lowercase();
    let run = &c.shared.scripting.run;
    match (sub.as_str(), argv.len()) {
        ("kill", 2) => match run.kill_function() {
            Ok(()) => c.out.ok(),
            Err(e) => c.out.error(e),
        },
        ("stats", 2) => {
            if run.running() {
                return c.out.error(crate::scripting::BUSY);
            }
            c.out.map(2);
            c.out.bulk(b"running_script");
            c.out.null();
            c.out.bulk(b"engines");
            c.out.map(1);
            c.out.bulk(b"LUA");
            c.out.map(2);
            c.out.bulk(b"libraries_count");
            c.out.int(0);
            c.out.bulk(b"functions_count");
            c.out.int(0);
        }
        ("kill" | "stats", _) => c.out.error(&super::wrong_args(&format!("function|{sub}"))),
        _ => c.out.error(&unknown_subcommand(argv, "FUNCTION")),
    }
}

/// EVAL's keys: `numkeys` arguments after it (none if `numkeys` is not a valid count).
fn eval_keys(argv: &[Bytes]) -> Vec<usize> {
    match argv.get(2).and_then(|n| parse_i64(n)) {
        Some(n) if n >= 0 && (n as u64) <= argv.len().saturating_sub(3) as u64 => {
            (3..3 + n as usize).collect()
        }
        _ => Vec::new(),
    }
}

fn eval(c: &mut Ctx, argv: &[Bytes], by_sha: bool, read_only: bool) {
    if let Some(spec) = argv.first().and_then(|n| super::lookup(n)) {
        super::pubsub::feed_monitors_as(c.shared, c.conn.db, &c.conn.info.addr, spec, argv);
    }
    let numkeys = match parse_i64(&argv[2]) {
        Some(n) => n,
        None => return c.out.error("ERR value is not an integer or out of range"),
    };
    if numkeys < 0 {
        return c.out.error("ERR Number of keys can't be negative");
    }
    if numkeys as u64 > (argv.len() - 3) as u64 {
        return c
            .out
            .error("ERR Number of keys can't be greater than number of args");
    }
    let scripting = &c.shared.scripting;
    let (sha, script) = if by_sha {
        let sha = text(&argv[1]).to_ascii_lowercase();
        match scripting.get(&sha) {
            Some(s) => (sha, s),
            None => return c.out.error("NOSCRIPT No matching script. Please use EVAL."),
        }
    } else {
        match scripting.load(argv[1].clone(), crate::REDIS_VERSION) {
            Ok(s) => s,
            Err(e) => return c.out.error(&e),
        }
    };
    let flags = script.flags;
    if read_only && flags.shebang && !flags.no_writes {
        return c
            .out
            .error("ERR Can not execute a script with write flag using *_ro command.");
    }
    if flags.shebang && !flags.no_writes && c.shared.poisoned() {
        return c.out.error(MISCONF);
    }
    let code = match crate::scripting::parse_shebang(&script.body) {
        Ok((_, code)) => code,
        Err(e) => return c.out.error(&e),
    };
    let n = numkeys as usize;
    let keys = &argv[3..3 + n];
    let args = &argv[3 + n..];
    let shared = c.shared;
    let ks = &shared.keyspace;
    let threshold_ms = shared.config.get_i64("busy-reply-threshold").max(0) as u64;
    let run = |conn: &mut ConnState, out: &mut ReplyWriter, locked: &mut Locked, now_ms: u64| {
        let db = conn.db;
        let mut caller = InScript {
            shared,
            conn: &mut *conn,
            locked,
            now_ms,
            read_only: read_only || flags.no_writes,
        };
        scripting.eval(
            Run {
                sha: &sha,
                code: &code,
                keys,
                args,
                threshold_ms,
                version: crate::REDIS_VERSION,
            },
            &mut caller,
            out,
        );
        // SELECT inside a script changes only the script's database.
        conn.set_db(db);
    };
    let now_ms = c.now_ms;
    if c.conn.in_exec {
        // EXEC holds the gate exclusively and every shard when it queues a script.
        return run(c.conn, c.out, c.ks, now_ms);
    }
    let (conn, out) = (&mut *c.conn, &mut *c.out);
    let whole = |conn: &mut ConnState, out: &mut ReplyWriter| {
        let mut locked = ks.lock_exclusive(keys.iter().map(|k| ks.shard_of(k)).collect());
        run(conn, out, &mut locked, now_ms);
        let mut served = Vec::new();
        let deferred = super::blocking::serve_ready(&mut locked, now_ms, &mut served);
        super::notify::after_served(shared, &mut locked, &served, now_ms);
        conn.observe(locked.observed());
        drop(locked);
        if !deferred.is_empty() {
            super::blocking::serve_deferred(shared, deferred, now_ms);
        }
    };
    // The script blocks this thread: let the runtime move other connections off it.
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => {
            tokio::task::block_in_place(|| whole(conn, out))
        }
        _ => whole(conn, out),
    }
}

/// `redis.call` under the script's locks.
struct InScript<'a, 'k> {
    shared: &'a Shared,
    conn: &'a mut ConnState,
    locked: &'a mut Locked<'k>,
    now_ms: u64,
    read_only: bool,
}

/// Commands a script may not run (Redis's `noscript`, including every CLIENT and CONFIG
/// subcommand).
fn refused_in_script(spec: &CommandSpec) -> bool {
    spec.has_flag("noscript")
        || matches!(
            spec.name,
            "client" | "config" | "debug" | "script" | "function" | "monitor" | "keyring"
        )
}

impl Caller for InScript<'_, '_> {
    fn call(&mut self, argv: Vec<Bytes>, resp3: bool) -> BytesMut {
        let mut out = ReplyWriter::new();
        out.resp3 = resp3;
        let Some(spec) = argv.first().and_then(|n| super::lookup(n)) else {
            out.error("ERR Unknown Redis command called from script");
            return out.buf;
        };
        if !arity_ok(spec, argv.len()) {
            out.error("ERR Wrong number of args calling Redis command from script");
            return out.buf;
        }
        if refused_in_script(spec) {
            out.error("ERR This Redis command is not allowed from script");
            return out.buf;
        }
        let writes = spec.is_write() || matches!(spec.name, "publish" | "spublish");
        if writes && self.read_only {
            out.error("ERR Write commands are not allowed from read-only scripts.");
            return out.buf;
        }
        if spec.is_write() && self.shared.poisoned() {
            out.error(MISCONF);
            return out.buf;
        }
        if spec.is_write() && !self.shared.keyspace.clock_has_room() {
            out.error(crate::keyspace::clock::CLOCK_EXHAUSTED);
            return out.buf;
        }
        match spec.scope {
            Scope::None => {}
            Scope::All => self.locked.lock_more(0..SHARDS),
            Scope::Keys => {
                let ks = &self.shared.keyspace;
                let shards: Vec<usize> = spec
                    .keys_of(&argv)
                    .into_iter()
                    .filter_map(|i| argv.get(i))
                    .map(|k| ks.shard_of(k))
                    .collect();
                self.locked.lock_more(shards);
            }
        }
        self.shared
            .stats
            .commands_processed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let from = self.locked.effects().len();
        let db = self.conn.db;
        super::notify::before_command(self.shared, self.locked, spec, db, &argv, self.now_ms);
        let mut inner = Ctx {
            shared: self.shared,
            conn: &mut *self.conn,
            ks: &mut *self.locked,
            out: &mut out,
            now_ms: self.now_ms,
            after: super::After::Nothing,
        };
        // Nothing blocks in a script: a blocking command answers at once, as inside EXEC.
        inner.conn.in_script = true;
        (spec.handler)(&mut inner, &argv);
        inner.conn.in_script = false;
        super::pubsub::feed_monitors_as(self.shared, db, &"lua", spec, &argv);
        super::notify::after_command(
            self.shared,
            self.locked,
            spec.name,
            &argv,
            from,
            self.now_ms,
        );
        let effects = self.locked.effects().get(from..).unwrap_or_default();
        if !effects.is_empty() {
            self.shared.scripting.run.note_write();
        }
        super::pubsub::track(self.shared, self.conn, spec, &argv, effects);
        out.buf
    }
}

fn script(c: &mut Ctx, argv: &[Bytes]) {
    let sub = text(&argv[1]).to_ascii_lowercase();
    let scripting = &c.shared.scripting;
    match (sub.as_str(), argv.len()) {
        ("load", 3) => match scripting.load(argv[2].clone(), crate::REDIS_VERSION) {
            Ok((sha, _)) => c.out.bulk(sha.as_bytes()),
            Err(e) => c.out.error(&e),
        },
        ("exists", n) if n >= 3 => {
            c.out.array(n - 2);
            for sha in &argv[2..] {
                c.out.int(scripting.exists(sha) as i64);
            }
        }
        ("flush", n) if n >= 2 => {
            if let Some(mode) = argv.get(2) {
                if n > 3
                    || !mode.eq_ignore_ascii_case(b"sync") && !mode.eq_ignore_ascii_case(b"async")
                {
                    return c
                        .out
                        .error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
                }
            }
            scripting.flush();
            c.out.ok();
        }
        ("kill", 2) => match scripting.run.kill() {
            Ok(()) => c.out.ok(),
            Err(e) => c.out.error(e),
        },
        ("help", 2) => c.out.help(&[
            "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
        ]),
        ("load" | "exists" | "flush" | "kill" | "help", _) => {
            c.out.error(&super::wrong_args(&format!("script|{sub}")))
        }
        ("debug", _) => c
            .out
            .error("ERR SCRIPT DEBUG is not supported by vaylix (use EVAL directly)"),
        _ => c.out.error(&unknown_subcommand(argv, "SCRIPT")),
    }
}

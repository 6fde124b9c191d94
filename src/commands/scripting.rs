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

/// FCALL / FCALL_RO function numkeys key... arg...
fn fcall(c: &mut Ctx, argv: &[Bytes]) {
    let read_only = argv[0].eq_ignore_ascii_case(b"fcall_ro");
    if let Some(spec) = super::lookup(&argv[0]) {
        super::pubsub::feed_monitors_as(c.shared, c.conn.db, &c.conn.info.addr, spec, argv);
    }
    let numkeys = match parse_i64(&argv[2]) {
        Some(n) => n,
        None => return c.out.error("ERR Bad number of keys provided"),
    };
    if numkeys > (argv.len() - 3) as i64 {
        return c
            .out
            .error("ERR Number of keys can't be greater than number of args");
    }
    if numkeys < 0 {
        return c.out.error("ERR Number of keys can't be negative");
    }
    let shared = c.shared;
    let scripting = &shared.scripting;
    let n = numkeys as usize;
    let (keys, args) = (&argv[3..3 + n], &argv[3 + n..]);
    let threshold_ms = shared.config.get_i64("busy-reply-threshold").max(0) as u64;
    // The engine is locked under the keyspace gate (inside `run_atomically`), never before
    // it: EXEC and EVAL take the gate first too, so the order is the same everywhere.
    run_atomically(c, keys, read_only, &mut |caller, out| {
        let mut engine = scripting.functions.lock();
        engine.sync(&shared.keyspace, crate::REDIS_VERSION);
        let Some((lib, index)) = engine.find(&argv[1]) else {
            return out.error("ERR Function not found");
        };
        let flags = lib.functions[index].flags;
        if read_only && !flags.no_writes {
            return out.error("ERR Can not execute a script with write flag using *_ro command.");
        }
        if !flags.no_writes && shared.poisoned() {
            return out.error(MISCONF);
        }
        if !flags.no_writes && !flags.allow_oom && caller.conn.oom {
            return out.error(crate::server::evict::OOM);
        }
        caller.read_only |= flags.no_writes;
        caller.allow_oom = flags.allow_oom;
        let name = lib.functions[index].name.clone();
        scripting.fcall(
            &mut engine,
            &lib,
            index,
            crate::scripting::FunctionRun {
                keys,
                args,
                threshold_ms,
                name: &name,
                argv,
            },
            caller,
            out,
        )
    });
}

/// FUNCTION LOAD | LIST | DELETE | FLUSH | DUMP | RESTORE | STATS | KILL | HELP.
///
/// A change compiles in the engine first, then logs the whole new set of libraries through
/// this command's lock (one WAL entry; the reply waits for it), all under the engine's lock so
/// changes reach the keyspace in sequence order.
fn function(c: &mut Ctx, argv: &[Bytes]) {
    let sub = text(&argv[1]).to_ascii_lowercase();
    let arity = match sub.as_str() {
        "load" | "restore" => -3,
        "delete" => 3,
        "list" | "flush" => -2,
        "dump" | "stats" | "kill" | "help" => 2,
        _ => return c.out.error(&unknown_subcommand(argv, "FUNCTION")),
    };
    let n = argv.len() as i64;
    if (arity > 0 && n != arity) || (arity < 0 && n < -arity) {
        return c.out.error(&super::wrong_args(&format!("function|{sub}")));
    }
    let shared = c.shared;
    let run = &shared.scripting.run;
    match sub.as_str() {
        "kill" => match run.kill(false) {
            Ok(()) => c.out.ok(),
            Err(e) => c.out.error(e),
        },
        "stats" => function_stats(c),
        "help" => c.out.help(FUNCTION_HELP),
        "load" | "delete" | "flush" | "restore" => function_change(c, argv, &sub),
        "list" => function_list(c, argv),
        _ => {
            let mut engine = shared.scripting.functions.lock();
            engine.sync(&shared.keyspace, crate::REDIS_VERSION);
            let payload = engine.dump();
            c.out.bulk(&payload);
        }
    }
}

fn function_stats(c: &mut Ctx) {
    let run = &c.shared.scripting.run;
    if run.running_script() {
        return c.out.error(crate::scripting::BUSY);
    }
    let (libs, fns) = c.shared.scripting.function_counts();
    c.out.map(2);
    c.out.bulk(b"running_script");
    match run.running_function() {
        Some((name, command, ms)) => {
            c.out.map(3);
            c.out.bulk(b"name");
            c.out.bulk(name.as_bytes());
            c.out.bulk(b"command");
            c.out.bulks(command.iter());
            c.out.bulk(b"duration_ms");
            c.out.int(ms as i64);
        }
        None => c.out.null(),
    }
    c.out.bulk(b"engines");
    c.out.map(1);
    c.out.bulk(b"LUA");
    c.out.map(2);
    c.out.bulk(b"libraries_count");
    c.out.int(libs as i64);
    c.out.bulk(b"functions_count");
    c.out.int(fns as i64);
}

fn function_list(c: &mut Ctx, argv: &[Bytes]) {
    let mut pattern: Option<&Bytes> = None;
    let mut with_code = false;
    let mut i = 2;
    while i < argv.len() {
        let a = &argv[i];
        if a.eq_ignore_ascii_case(b"withcode") && !with_code {
            with_code = true;
        } else if a.eq_ignore_ascii_case(b"libraryname") && pattern.is_none() {
            match argv.get(i + 1) {
                Some(p) => pattern = Some(p),
                None => return c.out.error("ERR library name argument was not given"),
            }
            i += 1;
        } else {
            return c.out.error(&format!(
                "ERR Unknown argument {}",
                String::from_utf8_lossy(a)
            ));
        }
        i += 1;
    }
    let shared = c.shared;
    let mut engine = shared.scripting.functions.lock();
    engine.sync(&shared.keyspace, crate::REDIS_VERSION);
    let libs: Vec<_> = engine
        .libraries()
        .filter(|l| pattern.is_none_or(|p| crate::glob::matches(p, l.name.as_bytes(), true)))
        .cloned()
        .collect();
    drop(engine);
    let out = &mut *c.out;
    out.array(libs.len());
    for lib in libs {
        out.map(3 + with_code as usize);
        out.bulk(b"library_name");
        out.bulk(lib.name.as_bytes());
        out.bulk(b"engine");
        out.bulk(b"LUA");
        out.bulk(b"functions");
        out.array(lib.functions.len());
        for f in &lib.functions {
            out.map(3);
            out.bulk(b"name");
            out.bulk(f.name.as_bytes());
            out.bulk(b"description");
            match &f.description {
                Some(d) => out.bulk(d),
                None => out.null(),
            }
            out.bulk(b"flags");
            let names = f.flag_names();
            out.set(names.len());
            for n in names {
                out.simple(n);
            }
        }
        if with_code {
            out.bulk(b"library_code");
            out.bulk(&lib.code);
        }
    }
}

/// LOAD, DELETE, FLUSH and RESTORE: change the engine, then log the new set.
fn function_change(c: &mut Ctx, argv: &[Bytes], sub: &str) {
    use crate::scripting::functions::Policy;
    let shared = c.shared;
    if shared.poisoned() {
        return c.out.error(MISCONF);
    }
    if !shared.keyspace.clock_has_room() {
        return c.out.error(crate::keyspace::clock::CLOCK_EXHAUSTED);
    }
    let version = crate::REDIS_VERSION;
    let mut engine = shared.scripting.functions.lock();
    engine.sync(&shared.keyspace, version);
    let reply: Result<Option<String>, String> = match sub {
        "load" => {
            let last = argv.len() - 1;
            match argv[2..last]
                .iter()
                .find(|a| !a.eq_ignore_ascii_case(b"replace"))
            {
                Some(bad) => Err(format!(
                    "ERR Unknown option given: {}",
                    String::from_utf8_lossy(bad)
                )),
                None => engine
                    .prepare_load(argv[last].clone(), last > 2, version)
                    .map(|lib| {
                        let name = lib.name.clone();
                        engine.install(lib);
                        Some(name)
                    }),
            }
        }
        "delete" => {
            if engine.delete(&argv[2]) {
                Ok(None)
            } else {
                Err("ERR Library not found".into())
            }
        }
        "flush" => match argv.len() {
            2 => Ok(None),
            3 if argv[2].eq_ignore_ascii_case(b"sync")
                || argv[2].eq_ignore_ascii_case(b"async") =>
            {
                Ok(None)
            }
            3 => Err("ERR FUNCTION FLUSH only supports SYNC|ASYNC option".into()),
            _ => Err(format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try FUNCTION HELP.",
                String::from_utf8_lossy(&argv[1])
            )),
        }
        .inspect(|_| engine.flush()),
        _ => {
            let policy = match argv.get(3).map(|p| p.to_ascii_lowercase()) {
                _ if argv.len() > 4 => Err(format!(
                    "ERR unknown subcommand or wrong number of arguments for '{}'. Try FUNCTION HELP.",
                    String::from_utf8_lossy(&argv[1])
                )),
                None => Ok(Policy::Append),
                Some(p) => match &p[..] {
                    b"flush" => Ok(Policy::Flush),
                    b"append" => Ok(Policy::Append),
                    b"replace" => Ok(Policy::Replace),
                    _ => Err("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.".into()),
                },
            };
            policy.and_then(|p| engine.restore(&argv[2], p, version).map(|()| None))
        }
    };
    match reply {
        // A refused change changed nothing (the engine commits only what succeeded).
        Err(e) => c.out.error(&e),
        Ok(name) => {
            c.ks.set_functions(engine.codes());
            engine.mark_synced(shared.keyspace.functions_version());
            match name {
                Some(n) => c.out.bulk(n.as_bytes()),
                None => c.out.ok(),
            }
        }
    }
}

const FUNCTION_HELP: &[&str] = &[
    "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME",
    "    argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using",
    "    FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a",
    "    restore policy to control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision,",
    "      replace the old libraries with the new libraries (notice that even on this option",
    "      there is a chance of failure in case of functions name collision with another",
    "      library).",
];

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
    // A script with flags is `denyoom` unless it says `allow-oom` or `no-writes`.
    if flags.shebang && !flags.no_writes && !flags.allow_oom && c.conn.oom {
        return c.out.error(crate::server::evict::OOM);
    }
    let code = match crate::scripting::parse_shebang(&script.body) {
        Ok((_, code)) => code,
        Err(e) => return c.out.error(&e),
    };
    let n = numkeys as usize;
    let (keys, args) = (&argv[3..3 + n], &argv[3 + n..]);
    let threshold_ms = c.shared.config.get_i64("busy-reply-threshold").max(0) as u64;
    let scripting = &c.shared.scripting;
    run_atomically(c, keys, read_only || flags.no_writes, &mut |caller, out| {
        caller.allow_oom = flags.allow_oom;
        scripting.eval(
            Run {
                sha: &sha,
                code: &code,
                keys,
                args,
                threshold_ms,
                version: crate::REDIS_VERSION,
            },
            caller,
            out,
        )
    });
}

/// Runs `body` (a script or a function) atomically: under EXEC's locks inside EXEC, else
/// with the keyspace gate held exclusively and the shards of `keys` (more as calls need them),
/// then serves the clients its writes unblocked.
fn run_atomically(
    c: &mut Ctx,
    keys: &[Bytes],
    read_only: bool,
    body: &mut dyn FnMut(&mut InScript, &mut ReplyWriter),
) {
    let shared = c.shared;
    let ks = &shared.keyspace;
    let mut run =
        |conn: &mut ConnState, out: &mut ReplyWriter, locked: &mut Locked, now_ms: u64| {
            let db = conn.db;
            let mut caller = InScript {
                shared,
                conn: &mut *conn,
                locked,
                now_ms,
                read_only,
                allow_oom: false,
                called_write: false,
            };
            body(&mut caller, out);
            // SELECT inside a script changes only the script's database.
            conn.set_db(db);
        };
    let now_ms = c.now_ms;
    if c.conn.in_exec {
        // EXEC holds the gate exclusively and every shard when it queues a script.
        return run(c.conn, c.out, c.ks, now_ms);
    }
    let (conn, out) = (&mut *c.conn, &mut *c.out);
    let mut whole = |conn: &mut ConnState, out: &mut ReplyWriter| {
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
    // The script runs on this worker thread; one that runs long hands the worker's other
    // connections to another thread from its hook (`scripting::execute`).
    whole(conn, out)
}

/// `redis.call` under the script's locks.
struct InScript<'a, 'k> {
    shared: &'a Shared,
    conn: &'a mut ConnState,
    locked: &'a mut Locked<'k>,
    now_ms: u64,
    read_only: bool,
    /// The script's `allow-oom` flag: it may write past `maxmemory`.
    allow_oom: bool,
    /// The script has called a write command (whether or not it changed anything).
    called_write: bool,
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

impl InScript<'_, '_> {
    /// A `redis.call` reply, its errors counted (INFO errorstats) as Redis counts them.
    fn finish(&self, mut out: ReplyWriter) -> BytesMut {
        self.shared.cmdstats.count_errors(&mut out.errors);
        out.buf
    }
}

impl Caller for InScript<'_, '_> {
    fn call(&mut self, argv: Vec<Bytes>, resp3: bool) -> BytesMut {
        let mut out = ReplyWriter::with_capacity(64);
        out.resp3 = resp3;
        let Some(index) = argv.first().and_then(|n| super::lookup_index(n)) else {
            out.error("ERR Unknown Redis command called from script");
            return self.finish(out);
        };
        let spec = super::all()[index];
        if !arity_ok(spec, argv.len()) {
            out.error("ERR Wrong number of args calling Redis command from script");
            return self.finish(out);
        }
        if refused_in_script(spec) {
            out.error("ERR This Redis command is not allowed from script");
            return self.finish(out);
        }
        let writes = spec.is_write() || matches!(spec.name, "publish" | "spublish");
        if writes && self.read_only {
            out.error("ERR Write commands are not allowed from read-only scripts.");
            return self.finish(out);
        }
        if spec.is_write() && self.shared.poisoned() {
            out.error(MISCONF);
            return self.finish(out);
        }
        if spec.is_write() && !self.shared.keyspace.clock_has_room() {
            out.error(crate::keyspace::clock::CLOCK_EXHAUSTED);
            return self.finish(out);
        }
        // As Redis: over `maxmemory` when the script began, its first write that may grow
        // memory is refused (a later one cannot be: the script must not stop half done).
        if self.conn.oom && !self.allow_oom && spec.has_flag("denyoom") && !self.called_write {
            out.error(crate::server::evict::OOM);
            return self.finish(out);
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
        let started = std::time::Instant::now();
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
        self.called_write |= spec.is_write();
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
        let slot = self.shared.cmdstats.slot_of(index, &argv);
        let call = crate::server::Call {
            spec,
            argv: &argv,
            slot,
            started,
        };
        crate::server::record_call(self.shared, None, call, &mut out, false);
        self.finish(out)
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
        ("kill", 2) => match scripting.run.kill(true) {
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

//! The command table and dispatch.
//!
//! Each family file (`string.rs`, `keyspace.rs`, ...) declares its commands' specs next to their
//! code; [`table`] collects them. A spec carries Redis's metadata (arity, flags, key positions,
//! ACL categories) which `COMMAND INFO/DOCS/COUNT/GETKEYS` read, and the [`Scope`] of shards the
//! dispatcher must lock before running the handler.
//!
//! Dispatch order follows Redis: lookup -> arity -> auth -> MULTI queueing -> MISCONF (poisoned
//! WAL) -> lock shards -> run -> the entry is submitted to the WAL when the locks drop.

pub mod backup;
pub mod blocking;
pub mod connection;
pub mod expire;
#[cfg(test)]
mod generic_tests;
pub mod hash;
pub mod keyspace;
pub mod list;
pub mod longdouble;
pub mod notify;
pub mod pubsub;
pub mod scripting;
pub mod server;
pub mod set;
pub mod string;
#[cfg(test)]
mod test_rig;
pub mod transaction;
pub mod zset;
pub mod zset_algebra;
pub mod zset_pop;
pub mod zset_range;

use crate::keyspace::{DbIndex, Locked};
use crate::resp::ReplyWriter;
use crate::server::{ConnState, Shared};
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

/// Which shards a command needs locked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// No keyspace access (PING, CONFIG ...).
    None,
    /// The shards of the keys at the spec's key positions.
    Keys,
    /// Every shard (KEYS, SCAN, FLUSHALL, DBSIZE, INFO ...).
    All,
}

pub type Handler = fn(&mut Ctx<'_, '_>, &[Bytes]);

/// Finds a call's key positions in its argv (see [`CommandSpec::movable_keys`]).
pub type KeyFinder = fn(&[Bytes]) -> Vec<usize>;

pub struct CommandSpec {
    /// Lower-case name (`client|list` for subcommands in COMMAND output is derived).
    pub name: &'static str,
    /// Redis arity: positive = exact, negative = at least |arity|.
    pub arity: i32,
    /// Redis 7.0's command flags, spelled as COMMAND INFO shows them (one of [`FLAGS`]).
    /// Dispatch reads them: `write` (MISCONF), `no_auth` (runs before AUTH), `no_multi`
    /// (refused while a transaction is queued).
    pub flags: &'static [&'static str],
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    pub acl: &'static [&'static str],
    pub group: &'static str,
    pub summary: &'static str,
    pub since: &'static str,
    pub scope: Scope,
    pub handler: Handler,
    /// Key positions that depend on the arguments (Redis's `movablekeys` commands, whose
    /// first/last/step are 0 0 0: SINTERCARD's `numkeys`). When set, it replaces first/last/step
    /// for shard locking and COMMAND GETKEYS; it returns only positions inside argv.
    pub movable_keys: Option<KeyFinder>,
}

impl CommandSpec {
    pub fn is_write(&self) -> bool {
        self.has_flag("write")
    }

    /// Whether the spec carries `flag`, spelled as Redis's COMMAND INFO shows it (`no_multi`).
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.contains(&flag)
    }

    /// Indices into argv of the key arguments of this call: [`CommandSpec::movable_keys`] if the
    /// spec has it, else first/last/step.
    pub fn keys_of(&self, argv: &[Bytes]) -> Vec<usize> {
        match self.movable_keys {
            Some(f) => f(argv),
            None => self.key_indices(argv.len()),
        }
    }

    /// Indices into argv of the key arguments by first/last/step.
    pub fn key_indices(&self, argc: usize) -> Vec<usize> {
        if self.first_key <= 0 {
            return Vec::new();
        }
        let last = if self.last_key < 0 {
            argc as i32 + self.last_key
        } else {
            self.last_key
        };
        let step = self.step.max(1) as usize;
        (self.first_key as usize..=last.max(0) as usize)
            .step_by(step)
            .filter(|&i| i < argc)
            .collect()
    }
}

/// What the connection must do after the reply is written.
#[derive(Debug, Default)]
pub enum After {
    #[default]
    Nothing,
    Close,
    Sleep(Duration),
    Shutdown {
        save: bool,
    },
    /// SAVE: snapshot off the event loop, then reply.
    Save,
    /// WAITAOF: wait for this client's writes to be fsynced, then reply.
    WaitAof {
        numlocal: bool,
        numreplicas: bool,
        timeout_ms: u64,
    },
    /// A blocking command queued its waiter: wait for the answer, the timeout or the client's
    /// departure (see `blocking`).
    Block(Box<blocking::Blocked>),
}

impl std::fmt::Debug for blocking::Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blocked")
            .field("waiter", &self.waiter)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Everything a handler may touch.
pub struct Ctx<'c, 'k> {
    pub shared: &'c Shared,
    pub conn: &'c mut ConnState,
    pub ks: &'c mut Locked<'k>,
    pub out: &'c mut ReplyWriter,
    pub now_ms: u64,
    pub after: After,
}

impl Ctx<'_, '_> {
    pub fn db(&self) -> DbIndex {
        self.conn.db
    }
}

static TABLE: OnceLock<HashMap<&'static str, usize>> = OnceLock::new();
static ALL: OnceLock<Vec<&'static CommandSpec>> = OnceLock::new();

/// Every command, in family order.
pub fn all() -> &'static [&'static CommandSpec] {
    ALL.get_or_init(|| {
        let mut v: Vec<&'static CommandSpec> = Vec::new();
        for family in [
            connection::COMMANDS,
            server::COMMANDS,
            string::COMMANDS,
            keyspace::COMMANDS,
            expire::COMMANDS,
            transaction::COMMANDS,
            backup::COMMANDS,
            hash::COMMANDS,
            set::COMMANDS,
            zset::COMMANDS,
            zset_range::COMMANDS,
            zset_algebra::COMMANDS,
            zset_pop::COMMANDS,
            list::COMMANDS,
            blocking::COMMANDS,
            pubsub::COMMANDS,
            pubsub::MONITOR,
            scripting::COMMANDS,
        ] {
            v.extend(family.iter());
        }
        v.extend(crate::server::persistence::COMMANDS.iter());
        v
    })
}

/// The command table: lower-case name -> index into [`all`].
pub fn table() -> &'static HashMap<&'static str, usize> {
    TABLE.get_or_init(|| all().iter().enumerate().map(|(i, s)| (s.name, i)).collect())
}

pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    lookup_index(name).and_then(|i| all().get(i).copied())
}

/// Container commands whose subcommand names appear in COMMAND LIST and CLIENT LIST (`client|list`).
pub const SUBCOMMANDS: &[(&str, &[&str])] = &[
    (
        "client",
        &[
            "id",
            "getname",
            "setname",
            "setinfo",
            "info",
            "list",
            "kill",
            "unblock",
            "no-evict",
            "no-touch",
            "reply",
            "pause",
            "unpause",
            "tracking",
            "caching",
            "getredir",
            "trackinginfo",
            "help",
        ],
    ),
    ("config", &["get", "set", "resetstat", "rewrite", "help"]),
    (
        "command",
        &["count", "info", "docs", "list", "getkeys", "help"],
    ),
    ("memory", &["usage", "help"]),
    (
        "pubsub",
        &[
            "channels",
            "numsub",
            "numpat",
            "shardchannels",
            "shardnumsub",
            "help",
        ],
    ),
    (
        "object",
        &["encoding", "freq", "help", "idletime", "refcount"],
    ),
    ("debug", &["sleep", "help"]),
    (
        "script",
        &["load", "exists", "flush", "kill", "debug", "help"],
    ),
    ("function", &["kill", "stats"]),
    ("slowlog", &["get", "len", "reset", "help"]),
    (
        "latency",
        &[
            "doctor",
            "graph",
            "help",
            "histogram",
            "history",
            "latest",
            "reset",
        ],
    ),
    ("keyring", &["rotate", "status", "help"]),
    ("backup", &[]),
];

/// Redis's full name of a call: `get`, or `client|list` for a known subcommand.
pub fn full_name(spec: &CommandSpec, argv: &[Bytes]) -> String {
    let sub = argv.get(1).map(|a| text(a).to_ascii_lowercase());
    match SUBCOMMANDS.iter().find(|(c, _)| *c == spec.name) {
        Some((_, subs)) if sub.as_deref().is_some_and(|s| subs.contains(&s)) => {
            format!("{}|{}", spec.name, sub.unwrap_or_default())
        }
        _ => spec.name.to_string(),
    }
}

pub fn is_container(name: &str) -> bool {
    SUBCOMMANDS
        .iter()
        .any(|(c, subs)| *c == name && !subs.is_empty())
}

pub fn lookup_index(name: &[u8]) -> Option<usize> {
    if name.len() > 32 {
        return None;
    }
    let mut lower = [0u8; 32];
    let lower = &mut lower[..name.len()];
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    std::str::from_utf8(lower)
        .ok()
        .and_then(|n| table().get(n).copied())
}

pub fn arity_ok(spec: &CommandSpec, argc: usize) -> bool {
    let a = spec.arity;
    (a > 0 && argc == a as usize) || (a < 0 && argc >= (-a) as usize)
}

// ---- shared error texts and argument helpers --------------------------------------------------

pub const ERR_SYNTAX: &str = "ERR syntax error";
pub const ERR_NOT_INT: &str = "ERR value is not an integer or out of range";
pub const ERR_NOT_FLOAT: &str = "ERR value is not a valid float";
pub const ERR_WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const ERR_NO_SUCH_KEY: &str = "ERR no such key";

/// Counts a read lookup in INFO stats (keyspace_hits / keyspace_misses), as Redis's
/// `lookupKeyRead` does.
pub fn count_lookup(c: &Ctx, hit: bool) {
    let st = &c.shared.stats;
    let counter = if hit {
        &st.keyspace_hits
    } else {
        &st.keyspace_misses
    };
    counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// Redis's `parseScanCursorOrReply`: `strtoul` base 10 over the whole argument (a sign is
/// allowed and a negative cursor wraps, an empty one is 0), no leading space, no overflow.
pub fn parse_scan_cursor(arg: &[u8]) -> Option<u64> {
    let (negative, digits) = match arg.first() {
        Some(b'-') => (true, &arg[1..]),
        Some(b'+') => (false, &arg[1..]),
        Some(b) if b.is_ascii_whitespace() => return None,
        _ => (false, arg),
    };
    if digits.is_empty() {
        // strtoul converts nothing: valid (0) only if nothing follows where it stopped.
        return arg.is_empty().then_some(0);
    }
    let mut n: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if negative { n.wrapping_neg() } else { n })
}

pub const ERR_NUMKEYS: &str = "ERR numkeys should be greater than 0";
pub const ERR_COUNT: &str = "ERR count should be greater than 0";

/// The arguments of an *MPOP-shaped call (ZMPOP, LMPOP, BZMPOP, BLMPOP) once checked.
#[derive(Debug, PartialEq)]
pub struct MPop<'a> {
    pub keys: &'a [Bytes],
    /// Whether the first of the two end words was given (MIN, LEFT).
    pub first: bool,
    pub count: u64,
}

/// `numkeys key [key ...] WORD [COUNT count]` with `numkeys` at argv index `at` and WORD one of
/// `words`, checked in Redis's order: numkeys, numkeys against the arguments, the word, then
/// the options (one COUNT at most).
pub fn parse_mpop<'a>(
    argv: &'a [Bytes],
    at: usize,
    words: [&str; 2],
) -> Result<MPop<'a>, &'static str> {
    let numkeys = match argv.get(at).and_then(|a| parse_i64(a)) {
        Some(n) if n >= 1 => n as u64,
        _ => return Err(ERR_NUMKEYS),
    };
    let first_key = at + 1;
    if numkeys > argv.len().saturating_sub(first_key) as u64 {
        return Err(ERR_SYNTAX);
    }
    let where_at = first_key + numkeys as usize;
    let first = match argv.get(where_at) {
        Some(w) if eq(w, words[0]) => true,
        Some(w) if eq(w, words[1]) => false,
        _ => return Err(ERR_SYNTAX),
    };
    let mut count: Option<u64> = None;
    let mut i = where_at + 1;
    while i < argv.len() {
        match argv.get(i + 1) {
            Some(n) if count.is_none() && eq(&argv[i], "count") => {
                match parse_i64(n).filter(|n| *n >= 1) {
                    Some(n) => count = Some(n as u64),
                    None => return Err(ERR_COUNT),
                }
                i += 2;
            }
            _ => return Err(ERR_SYNTAX),
        }
    }
    Ok(MPop {
        keys: &argv[first_key..where_at],
        first,
        count: count.unwrap_or(1),
    })
}

/// The key positions of an *MPOP-shaped call whose `numkeys` is at argv index `at` (1 for
/// ZMPOP/LMPOP, 2 for the blocking forms): the `numkeys` arguments after it, or none when
/// `numkeys` is not a positive integer that fits the arguments (the handler then refuses the
/// call before touching a key).
pub fn mpop_keys_at(argv: &[Bytes], at: usize) -> Vec<usize> {
    let first = at + 1;
    match argv.get(at).and_then(|n| parse_i64(n)) {
        Some(n) if n >= 1 && (n as u64) <= argv.len().saturating_sub(first) as u64 => {
            (first..first + n as usize).collect()
        }
        _ => Vec::new(),
    }
}

pub fn wrong_args(name: &str) -> String {
    format!(
        "ERR wrong number of arguments for '{}' command",
        name.to_ascii_lowercase()
    )
}

pub fn unknown_command(argv: &[Bytes]) -> String {
    let name = argv
        .first()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .unwrap_or_default();
    let mut msg = format!(
        "ERR unknown command '{}', with args beginning with: ",
        truncate(&name, 128)
    );
    for a in argv.iter().skip(1) {
        if msg.len() > 400 {
            break;
        }
        msg.push_str(&format!(
            "'{}' ",
            truncate(&String::from_utf8_lossy(a), 128)
        ));
    }
    msg
}

pub fn unknown_subcommand(argv: &[Bytes], container: &str) -> String {
    let sub = argv
        .get(1)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .unwrap_or_default();
    format!(
        "ERR unknown subcommand '{}'. Try {} HELP.",
        truncate(&sub, 128),
        container
    )
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Parses a strict Redis integer (no spaces, no leading '+', no leading zeros issues).
pub fn parse_i64(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 20 || b[0] == b'+' || b.iter().any(|c| c.is_ascii_whitespace()) {
        return None;
    }
    if b.len() > 1 && b[0] == b'0' {
        return None;
    }
    // Redis's string2ll: after a '-' the first digit is 1-9, so "-0" and "-01" are refused.
    if b.len() >= 2 && b[0] == b'-' && b[1] == b'0' {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

pub fn parse_f64(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?;
    if s.is_empty() || s.trim() != s {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    let v: f64 = match lower.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ if lower.contains("nan") => return None,
        _ => s.parse().ok()?,
    };
    Some(v)
}

/// A client-supplied database number as an index of this server, if it has that database.
pub fn db_index(shared: &Shared, n: i64) -> Option<DbIndex> {
    let db = DbIndex::try_from(n).ok()?;
    ((db as usize) < shared.keyspace.databases()).then_some(db)
}

pub fn eq(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

pub fn text(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).into_owned()
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The shards a command's keys live in, for [`Scope::Keys`].
pub fn key_shards(shared: &Shared, spec: &CommandSpec, argv: &[Bytes], out: &mut Vec<usize>) {
    for i in spec.keys_of(argv) {
        if let Some(k) = argv.get(i) {
            out.push(shared.keyspace.shard_of(k));
        }
    }
}

/// Builds a spec; `keys` is (first, last, step) as in Redis's COMMAND output.
#[allow(clippy::too_many_arguments)]
pub const fn spec(
    name: &'static str,
    arity: i32,
    flags: &'static [&'static str],
    keys: (i32, i32, i32),
    acl: &'static [&'static str],
    scope: Scope,
    group: &'static str,
    summary: &'static str,
    handler: Handler,
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        first_key: keys.0,
        last_key: keys.1,
        step: keys.2,
        acl,
        group,
        summary,
        since: "1.0.0",
        scope,
        handler,
        movable_keys: None,
    }
}

/// A spec for a command of a data-type family (`group`: `list`, `set`, `sorted-set` ...) that
/// locks its keys' shards, with Redis's `since` version.
#[allow(clippy::too_many_arguments)]
pub const fn keyed_spec(
    group: &'static str,
    name: &'static str,
    arity: i32,
    flags: &'static [&'static str],
    keys: (i32, i32, i32),
    acl: &'static [&'static str],
    since: &'static str,
    summary: &'static str,
    handler: Handler,
) -> CommandSpec {
    CommandSpec {
        since,
        ..spec(
            name,
            arity,
            flags,
            keys,
            acl,
            Scope::Keys,
            group,
            summary,
            handler,
        )
    }
}

/// Every command flag Redis 7.0 reports in COMMAND INFO; a spec uses no other spelling.
pub const FLAGS: &[&str] = &[
    "write",
    "readonly",
    "denyoom",
    "module",
    "admin",
    "pubsub",
    "noscript",
    "blocking",
    "loading",
    "stale",
    "skip_monitor",
    "skip_slowlog",
    "asking",
    "fast",
    "no_auth",
    "may_replicate",
    "sentinel",
    "only_sentinel",
    "no_mandatory_keys",
    "protected",
    "module_no_cluster",
    "no_multi",
    "no_async_loading",
    "allow_busy",
    "movablekeys",
];

pub const NO_KEYS: (i32, i32, i32) = (0, 0, 0);
pub const ONE_KEY: (i32, i32, i32) = (1, 1, 1);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_integers() {
        assert_eq!(parse_i64(b"10"), Some(10));
        assert_eq!(parse_i64(b"-10"), Some(-10));
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b" 1"), None);
        assert_eq!(parse_i64(b"01"), None);
        assert_eq!(parse_i64(b"+1"), None);
        assert_eq!(parse_i64(b"-0"), None);
        assert_eq!(parse_i64(b"9223372036854775808"), None);
    }

    #[test]
    fn every_command_is_in_the_table_once() {
        let names: Vec<_> = all().iter().map(|s| s.name).collect();
        let mut dedup = names.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(names.len(), dedup.len());
        assert!(lookup(b"GeT").is_some());
    }

    #[test]
    fn every_flag_is_spelled_as_redis_reports_it() {
        for s in all() {
            for f in s.flags {
                assert!(FLAGS.contains(f), "{}: unknown flag {f:?}", s.name);
            }
        }
    }

    #[test]
    fn redis_no_multi_commands_are_flagged_no_multi() {
        // Redis 7.0's `no_multi` commands that vaylix implements (the others are SYNC, PSYNC).
        for name in ["shutdown", "save"] {
            assert!(
                lookup(name.as_bytes()).unwrap().has_flag("no_multi"),
                "{name}"
            );
        }
        for name in ["multi", "watch", "exec", "discard", "set", "flushall"] {
            assert!(
                !lookup(name.as_bytes()).unwrap().has_flag("no_multi"),
                "{name}"
            );
        }
    }

    #[test]
    fn only_the_redis_no_auth_commands_run_before_auth() {
        let mut no_auth: Vec<_> = all()
            .iter()
            .filter(|s| s.has_flag("no_auth"))
            .map(|s| s.name)
            .collect();
        no_auth.sort_unstable();
        assert_eq!(no_auth, ["auth", "hello", "quit", "reset"]);
    }

    #[test]
    fn key_positions_follow_first_last_step() {
        let mset = lookup(b"mset").unwrap();
        assert_eq!(mset.key_indices(5), vec![1, 3]);
        let get = lookup(b"get").unwrap();
        assert_eq!(get.key_indices(2), vec![1]);
    }
}

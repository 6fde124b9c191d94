//! The parameter registry: every configuration parameter is declared once in [`PARAMS`] with its
//! Redis-style kebab-case name, type, default, bounds and whether `CONFIG SET` may change it.
//!
//! Sources, later ones winning: defaults < config file (redis.conf syntax) < `VAYLIX_<NAME>`
//! environment variables (upper case, `-` as `_`) < `--name value` flags. Values are validated
//! on every source; a bad value names the directive. A config file may `include` others, and
//! every other Redis 7.0 directive is accepted with one warning ([`redis_compat`]), so a stock
//! redis.conf starts vaylix; an unknown name is still an error (a typo must not pass silently).

mod redis_compat;

use parking_lot::RwLock;
pub use redis_compat::is_ignored;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An integer within bounds.
    Int { min: i64, max: i64 },
    /// A byte size: plain integer or with a unit suffix (kb, mb, gb, k, m, g).
    Memory { min: i64, max: i64 },
    /// yes | no.
    Bool,
    /// One of a fixed set (lower case).
    Enum(&'static [&'static str]),
    /// Free text.
    Str,
    /// `client-output-buffer-limit`: `<class> <hard> <soft> <soft seconds>` groups; a value
    /// names only the classes it changes (the others keep theirs).
    OutputLimits,
    /// `notify-keyspace-events` class letters (kept in Redis's canonical order).
    Events,
    /// `latency-tracking-info-percentiles`: space-separated numbers from 0 to 100.
    Percentiles,
}

pub struct Param {
    pub name: &'static str,
    pub kind: Kind,
    pub default: &'static str,
    /// Whether `CONFIG SET` may change it at run time.
    pub mutable: bool,
    pub doc: &'static str,
}

/// The warning for a Redis directive vaylix accepts without acting on it.
const IGNORED_WHY: &str = "is a Redis directive vaylix does not implement: ignored";

const GB: i64 = 1024 * 1024 * 1024;

/// Every parameter vaylix knows. Redis names where Redis has the concept.
pub static PARAMS: &[Param] = &[
    Param {
        name: "port",
        kind: Kind::Int { min: 0, max: 65535 },
        default: "6379",
        mutable: false,
        doc: "TCP port (0 = pick a free one)",
    },
    Param {
        name: "bind",
        kind: Kind::Str,
        default: "127.0.0.1",
        mutable: false,
        doc: "listen addresses, space separated",
    },
    Param {
        name: "data-dir",
        kind: Kind::Str,
        default: "./default.vaylix",
        mutable: false,
        doc: "data directory",
    },
    Param {
        name: "dir",
        kind: Kind::Str,
        default: "",
        mutable: false,
        doc: "Redis's working directory: when data-dir is not set, the data dir is <dir>/default.vaylix",
    },
    Param {
        name: "requirepass",
        kind: Kind::Str,
        default: "",
        mutable: true,
        doc: "password of the default user; empty = none",
    },
    Param {
        name: "appendfsync",
        kind: Kind::Enum(&["always", "everysec", "no"]),
        default: "always",
        mutable: true,
        doc: "WAL sync policy",
    },
    Param {
        name: "appendonly",
        kind: Kind::Bool,
        default: "yes",
        mutable: false,
        doc: "always yes: the WAL cannot be turned off",
    },
    Param {
        name: "databases",
        kind: Kind::Int {
            min: 1,
            max: crate::keyspace::MAX_DATABASES as i64,
        },
        default: "16",
        mutable: false,
        doc: "number of databases; at most 256, since every on-disk format stores the index in one byte",
    },
    Param {
        name: "maxclients",
        kind: Kind::Int {
            min: 1,
            max: 1_000_000,
        },
        default: "10000",
        mutable: true,
        doc: "maximum connected clients",
    },
    Param {
        name: "protected-mode",
        kind: Kind::Bool,
        default: "yes",
        mutable: true,
        doc: "without a password, serve only loopback clients",
    },
    Param {
        name: "proto-max-bulk-len",
        kind: Kind::Memory {
            min: 1024 * 1024,
            max: i64::MAX,
        },
        default: "512mb",
        mutable: true,
        doc: "largest bulk string in a request",
    },
    Param {
        name: "client-query-buffer-limit",
        kind: Kind::Memory {
            min: 1024 * 1024,
            max: 1024 * GB,
        },
        default: "1gb",
        mutable: true,
        doc: "largest unparsed input per client",
    },
    Param {
        name: "timeout",
        kind: Kind::Int {
            min: 0,
            max: i32::MAX as i64,
        },
        default: "0",
        mutable: true,
        doc: "close idle clients after N seconds (0 = never)",
    },
    Param {
        name: "tcp-keepalive",
        kind: Kind::Int {
            min: 0,
            max: i32::MAX as i64,
        },
        default: "300",
        mutable: true,
        doc: "TCP keepalive seconds",
    },
    Param {
        name: "tcp-backlog",
        kind: Kind::Int {
            min: 1,
            max: i32::MAX as i64,
        },
        default: "511",
        mutable: false,
        doc: "listen backlog (capped by the kernel's net.core.somaxconn)",
    },
    Param {
        name: "hz",
        kind: Kind::Int {
            min: 0,
            max: i32::MAX as i64,
        },
        default: "10",
        mutable: true,
        doc: "background task frequency (active expiry)",
    },
    Param {
        name: "slowlog-log-slower-than",
        kind: Kind::Int {
            min: -1,
            max: i64::MAX,
        },
        default: "10000",
        mutable: true,
        doc: "SLOWLOG records calls that ran at least this many microseconds (-1: none)",
    },
    Param {
        name: "slowlog-max-len",
        kind: Kind::Int {
            min: 0,
            max: i64::MAX,
        },
        default: "128",
        mutable: true,
        doc: "SLOWLOG keeps this many entries",
    },
    Param {
        name: "latency-monitor-threshold",
        kind: Kind::Int {
            min: 0,
            max: i64::MAX,
        },
        default: "0",
        mutable: true,
        doc: "the latency monitor records events of at least this many milliseconds (0: off)",
    },
    Param {
        name: "latency-tracking",
        kind: Kind::Bool,
        default: "yes",
        mutable: true,
        doc: "per-command latency histograms for INFO latencystats",
    },
    Param {
        name: "latency-tracking-info-percentiles",
        kind: Kind::Percentiles,
        default: "50 99 99.9",
        mutable: true,
        doc: "the percentiles INFO latencystats prints",
    },
    Param {
        name: "loglevel",
        kind: Kind::Enum(&["debug", "verbose", "notice", "warning", "nothing"]),
        default: "notice",
        mutable: true,
        doc: "log level",
    },
    Param {
        name: "logfile",
        kind: Kind::Str,
        default: "",
        mutable: false,
        doc: "append the log to this file (empty = stderr)",
    },
    Param {
        name: "log-format",
        kind: Kind::Enum(&["text", "json"]),
        default: "text",
        mutable: false,
        doc: "log line format: text, or one JSON object per line",
    },
    Param {
        name: "pidfile",
        kind: Kind::Str,
        default: "",
        mutable: false,
        doc: "write the PID to this file at start, remove it at exit (empty = none)",
    },
    Param {
        name: "daemonize",
        kind: Kind::Bool,
        default: "no",
        mutable: false,
        doc: "fork into the background once the server is ready (prefer a supervisor)",
    },
    Param {
        name: "supervised",
        kind: Kind::Enum(&["no", "upstart", "systemd", "auto"]),
        default: "no",
        mutable: false,
        doc: "systemd/auto: send READY=1 and STOPPING=1 to $NOTIFY_SOCKET",
    },
    Param {
        name: "maxmemory",
        kind: Kind::Memory {
            min: 0,
            max: i64::MAX,
        },
        default: "0",
        mutable: true,
        doc: "memory limit (bytes allocated, as INFO used_memory); 0 = none",
    },
    Param {
        name: "maxmemory-policy",
        // Redis's order (its CONFIG SET error lists them so).
        kind: Kind::Enum(&[
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
            "allkeys-lru",
            "allkeys-lfu",
            "allkeys-random",
            "noeviction",
        ]),
        default: "noeviction",
        mutable: true,
        doc: "what goes when maxmemory is reached (noeviction: writes get -OOM)",
    },
    Param {
        name: "maxmemory-samples",
        kind: Kind::Int {
            min: 1,
            max: i32::MAX as i64,
        },
        default: "5",
        mutable: true,
        doc: "keys sampled per eviction round (LRU/LFU/TTL approximation; at most 64 are used)",
    },
    Param {
        name: "maxmemory-eviction-tenacity",
        kind: Kind::Int { min: 0, max: 100 },
        default: "10",
        mutable: true,
        doc: "how long one command may spend evicting (10: ~500 us; 100: no limit)",
    },
    Param {
        name: "lfu-log-factor",
        kind: Kind::Int { min: 0, max: i32::MAX as i64 },
        default: "10",
        mutable: true,
        doc: "LFU counter logarithm factor",
    },
    Param {
        name: "lfu-decay-time",
        kind: Kind::Int { min: 0, max: i32::MAX as i64 },
        default: "1",
        mutable: true,
        doc: "minutes per LFU counter decay step",
    },
    Param {
        name: "save",
        kind: Kind::Str,
        default: "",
        mutable: true,
        doc: "accepted for compatibility; snapshots follow snapshot-interval",
    },
    Param {
        name: "master-key-file",
        kind: Kind::Str,
        default: "",
        mutable: false,
        doc: "file holding the 32-byte master key (64 hex chars)",
    },
    Param {
        name: "wal-segment-size",
        kind: Kind::Memory {
            min: 4096,
            max: 64 * GB,
        },
        default: "64mb",
        mutable: false,
        doc: "WAL segment rotation size",
    },
    Param {
        name: "wal-retain-segments",
        kind: Kind::Int {
            min: 0,
            max: 1_000_000,
        },
        default: "0",
        mutable: true,
        doc: "extra sealed segments kept beyond what snapshots need",
    },
    Param {
        name: "pitr-retention",
        kind: Kind::Int {
            min: 0,
            max: 10 * 366 * 86_400,
        },
        default: "86400",
        mutable: false,
        doc: "seconds of history kept restorable by `vaylix pitr restore` (0 = none)",
    },
    Param {
        name: "pitr-retention-bytes",
        kind: Kind::Memory {
            min: 0,
            max: i64::MAX,
        },
        default: "1gb",
        mutable: false,
        doc: "disk budget of the PITR window; it shrinks to fit (0 = no bound)",
    },
    Param {
        name: "snapshot-interval",
        kind: Kind::Int {
            min: 0,
            max: 31_536_000,
        },
        default: "300",
        mutable: true,
        doc: "seconds between snapshots (0 = only on demand)",
    },
    Param {
        name: "snapshot-wal-bytes",
        kind: Kind::Memory {
            min: 0,
            max: i64::MAX,
        },
        default: "256mb",
        mutable: true,
        doc: "snapshot after this much WAL (0 = never by size)",
    },
    Param {
        name: "snapshot-retain",
        kind: Kind::Int {
            min: 1,
            max: 10_000,
        },
        default: "2",
        mutable: false,
        doc: "snapshots kept for PITR",
    },
    Param {
        name: "wal-truncated-tail",
        kind: Kind::Enum(&["repair", "fail"]),
        default: "repair",
        mutable: false,
        doc: "what start-up does with a torn final WAL frame",
    },
    Param {
        name: "notify-keyspace-events",
        kind: Kind::Events,
        default: "",
        mutable: true,
        doc: "keyspace notification classes (K E g $ l s h z x e t m d n A), as in Redis",
    },
    Param {
        name: "client-output-buffer-limit",
        kind: Kind::OutputLimits,
        default: "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        mutable: true,
        doc: "<class> <hard> <soft> <seconds>: a subscriber past the pubsub limits is disconnected",
    },
    Param {
        name: "busy-reply-threshold",
        kind: Kind::Int {
            min: 0,
            max: i64::MAX,
        },
        default: "5000",
        mutable: true,
        doc: "ms a script runs before other clients get -BUSY and SCRIPT KILL may stop it (alias lua-time-limit)",
    },
    Param {
        name: "tracking-table-max-keys",
        kind: Kind::Int {
            min: 0,
            max: i64::MAX,
        },
        default: "1000000",
        mutable: true,
        doc: "keys CLIENT TRACKING remembers; past it, keys are forgotten and invalidated (0: no bound)",
    },
    Param {
        name: "rdb-key-save-delay",
        kind: Kind::Int {
            min: i32::MIN as i64,
            max: i32::MAX as i64,
        },
        default: "0",
        mutable: true,
        doc: "for tests: microseconds a snapshot sleeps per key or batch written (< 0: 1 µs per -N)",
    },
    Param {
        name: "storage-key-rotation",
        kind: Kind::Int {
            min: 0,
            max: i64::MAX,
        },
        default: "0",
        mutable: true,
        doc: "rotate the data key after N seconds (0 = never)",
    },
    // The collection encoding thresholds (keyspace::Limits): Redis's names, bounds, kinds and
    // defaults (7.0's for hashes and intsets, 7.2's for listpack sets, which 7.0 lacks).
    Param {
        name: "hash-max-listpack-entries",
        kind: Kind::Int {
            min: 0,
            max: i64::MAX,
        },
        default: "512",
        mutable: true,
        doc: "largest hash kept as a listpack, in fields (alias hash-max-ziplist-entries)",
    },
    Param {
        name: "hash-max-listpack-value",
        kind: Kind::Memory {
            min: 0,
            max: i64::MAX,
        },
        default: "64",
        mutable: true,
        doc: "longest field or value of a listpack hash, in bytes (alias hash-max-ziplist-value)",
    },
    Param {
        name: "set-max-intset-entries",
        kind: Kind::Int {
            min: 0,
            max: i64::MAX,
        },
        default: "512",
        mutable: true,
        doc: "largest set of integers kept as an intset",
    },
    Param {
        name: "set-max-listpack-entries",
        kind: Kind::Int {
            min: 0,
            max: i64::MAX,
        },
        default: "128",
        mutable: true,
        doc: "largest other set kept as a listpack, in members",
    },
    Param {
        name: "set-max-listpack-value",
        kind: Kind::Memory {
            min: 0,
            max: i64::MAX,
        },
        default: "64",
        mutable: true,
        doc: "longest member of a listpack set, in bytes",
    },
    Param {
        name: "zset-max-listpack-entries",
        kind: Kind::Int {
            min: 0,
            max: i64::MAX,
        },
        default: "128",
        mutable: true,
        doc: "largest sorted set kept as a listpack, in members (alias zset-max-ziplist-entries)",
    },
    Param {
        name: "zset-max-listpack-value",
        kind: Kind::Memory {
            min: 0,
            max: i64::MAX,
        },
        default: "64",
        mutable: true,
        doc: "longest member of a listpack sorted set, in bytes (alias zset-max-ziplist-value)",
    },
    Param {
        name: "list-max-listpack-size",
        kind: Kind::Int {
            min: i32::MIN as i64,
            max: i32::MAX as i64,
        },
        default: "-2",
        mutable: true,
        doc: "a list node's size: > 0 elements, -1..-5 bytes 4k..64k (alias list-max-ziplist-size)",
    },
    Param {
        name: "list-compress-depth",
        kind: Kind::Int {
            min: 0,
            max: i32::MAX as i64,
        },
        default: "0",
        mutable: true,
        doc: "accepted and reported for compatibility; list nodes are not compressed",
    },
    Param {
        name: "backup-dir",
        kind: Kind::Str,
        default: "",
        mutable: false,
        doc: "sandbox for BACKUP TO / RESTORE FROM (default <data-dir>/backups)",
    },
];

/// Older names Redis still answers to: (alias, parameter). Every source accepts either name,
/// and `CONFIG GET` reports both, as Redis 7.0 does.
pub static ALIASES: &[(&str, &str)] = &[
    ("hash-max-ziplist-entries", "hash-max-listpack-entries"),
    ("hash-max-ziplist-value", "hash-max-listpack-value"),
    ("zset-max-ziplist-entries", "zset-max-listpack-entries"),
    ("zset-max-ziplist-value", "zset-max-listpack-value"),
    ("list-max-ziplist-size", "list-max-listpack-size"),
    ("lua-time-limit", "busy-reply-threshold"),
    ("slave-announce-ip", "replica-announce-ip"),
    ("slave-announce-port", "replica-announce-port"),
    ("slave-ignore-maxmemory", "replica-ignore-maxmemory"),
    ("slave-lazy-flush", "replica-lazy-flush"),
    ("slave-priority", "replica-priority"),
    ("slave-read-only", "replica-read-only"),
    ("slave-serve-stale-data", "replica-serve-stale-data"),
    ("slaveof", "replicaof"),
    ("min-slaves-max-lag", "min-replicas-max-lag"),
    ("min-slaves-to-write", "min-replicas-to-write"),
    ("repl-ping-slave-period", "repl-ping-replica-period"),
    ("cluster-slave-no-failover", "cluster-replica-no-failover"),
    (
        "cluster-slave-validity-factor",
        "cluster-replica-validity-factor",
    ),
];

/// The parameter called `name` (or one of its [`ALIASES`]).
pub fn param(name: &str) -> Option<&'static Param> {
    let name = ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
        .map_or(name, |(_, p)| p);
    PARAMS
        .iter()
        .chain(redis_compat::COMPAT)
        .find(|p| p.name.eq_ignore_ascii_case(name))
}

/// Whether vaylix acts on the parameter called `name` (not only stores it).
pub fn implemented(name: &str) -> bool {
    param(name).is_some_and(|p| PARAMS.iter().any(|q| std::ptr::eq(p, q)))
}

/// The parameters that make up [`crate::keyspace::Limits`] (what a `CONFIG SET` of one of them
/// must hand to the keyspace).
pub const LIMIT_PARAMS: &[&str] = &[
    "hash-max-listpack-entries",
    "hash-max-listpack-value",
    "set-max-intset-entries",
    "set-max-listpack-entries",
    "set-max-listpack-value",
    "zset-max-listpack-entries",
    "zset-max-listpack-value",
    "list-max-listpack-size",
];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("unknown directive '{0}'")]
    Unknown(String),
    #[error("invalid value '{value}' for '{name}': {why}")]
    Invalid {
        name: String,
        value: String,
        why: String,
    },
    #[error("'{0}' cannot be changed at run time")]
    Immutable(String),
    #[error("config file {path}, line {line}: {err}")]
    File {
        path: String,
        line: usize,
        err: Box<ConfigError>,
    },
    #[error("cannot read config file {path}: {err}")]
    Io { path: String, err: std::io::Error },
}

/// Parses a Redis memory value: `1024`, `64mb`, `1gb`, `10k`. Never negative: Redis's
/// `memtoull` refuses a `-`, so `-1` is "not a memory value" rather than out of range.
pub fn parse_memory(s: &str) -> Option<i64> {
    let lower = s.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(split);
    let n: i64 = num.parse().ok()?;
    let mul: i64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1_000_000,
        "mb" => 1024 * 1024,
        "g" => 1_000_000_000,
        "gb" => GB,
        _ => return None,
    };
    n.checked_mul(mul)
}

/// Redis's wording of why a value was refused (CONFIG SET error replies).
pub fn redis_reason(err: &ConfigError) -> String {
    match err {
        ConfigError::Invalid { why, .. } => why.clone(),
        other => other.to_string(),
    }
}

/// A percentile as Redis prints it (`%f` without trailing zeros: `50`, `99.9`).
pub fn format_percentile(p: f64) -> String {
    let s = format!("{p:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn validate(p: &Param, value: &str) -> Result<String, ConfigError> {
    let invalid = |why: &str| ConfigError::Invalid {
        name: p.name.into(),
        value: value.into(),
        why: why.into(),
    };
    match p.kind {
        Kind::Int { min, max } => {
            // Redis's string2ll: the canonical decimal form only (no `+`, spaces, leading zeros).
            let n: i64 = value
                .parse()
                .ok()
                .filter(|n: &i64| n.to_string() == value)
                .ok_or_else(|| invalid("argument couldn't be parsed into an integer"))?;
            if n < min || n > max {
                return Err(invalid(&format!(
                    "argument must be between {min} and {max} inclusive"
                )));
            }
            Ok(n.to_string())
        }
        Kind::Memory { min, max } => {
            let n =
                parse_memory(value).ok_or_else(|| invalid("argument must be a memory value"))?;
            if n < min || n > max {
                return Err(invalid(&format!(
                    "argument must be between {min} and {max} inclusive"
                )));
            }
            Ok(n.to_string())
        }
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            "yes" | "no" => Ok(value.to_ascii_lowercase()),
            _ => Err(invalid("argument must be 'yes' or 'no'")),
        },
        Kind::Enum(choices) => {
            let v = value.to_ascii_lowercase();
            if choices.contains(&v.as_str()) {
                Ok(v)
            } else {
                Err(invalid(&format!(
                    "argument(s) must be one of the following: {}",
                    choices.join(", ")
                )))
            }
        }
        Kind::Str => Ok(value.to_string()),
        Kind::Percentiles => {
            let mut ps = Vec::new();
            for p in value.split_whitespace() {
                let p: f64 = p
                    .parse()
                    .map_err(|_| invalid("Invalid latency-tracking-info-percentiles parameters"))?;
                if !(0.0..=100.0).contains(&p) {
                    return Err(invalid(
                        "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]",
                    ));
                }
                ps.push(format_percentile(p));
            }
            Ok(ps.join(" "))
        }
        Kind::Events => crate::commands::notify::parse_flags(value)
            .map(crate::commands::notify::format_flags)
            .ok_or_else(|| invalid("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")),
        Kind::OutputLimits => {
            let groups = parse_output_limits(value).map_err(invalid)?;
            Ok(format_output_limits(&groups))
        }
    }
}

/// One class of `client-output-buffer-limit`: (class, hard bytes, soft bytes, soft seconds).
pub type OutputLimit = (&'static str, i64, i64, i64);

/// The classes of `client-output-buffer-limit` in Redis's order (`replica` is `slave`).
const OUTPUT_CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];

/// Parses `client-output-buffer-limit` groups, with Redis's reasons for refusing one.
pub fn parse_output_limits(value: &str) -> Result<Vec<OutputLimit>, &'static str> {
    let words: Vec<&str> = value.split_whitespace().collect();
    if !words.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.");
    }
    let mut out = Vec::new();
    for g in words.chunks(4) {
        let class = match g[0].to_ascii_lowercase().as_str() {
            "normal" => "normal",
            "slave" | "replica" => "slave",
            "pubsub" => "pubsub",
            _ => return Err("Invalid client class specified in buffer limit configuration."),
        };
        let bad = "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
        let hard = parse_memory(g[1]).filter(|n| *n >= 0).ok_or(bad)?;
        let soft = parse_memory(g[2]).filter(|n| *n >= 0).ok_or(bad)?;
        let secs = g[3].parse::<i64>().ok().filter(|n| *n >= 0).ok_or(bad)?;
        out.push((class, hard, soft, secs));
    }
    Ok(out)
}

fn format_output_limits(groups: &[OutputLimit]) -> String {
    let parts: Vec<String> = groups
        .iter()
        .map(|(c, h, s, t)| format!("{c} {h} {s} {t}"))
        .collect();
    parts.join(" ")
}

/// `current` with the classes `update` names replaced, every class listed in Redis's order.
fn merge_output_limits(current: &str, update: &str) -> String {
    let mut all = parse_output_limits(current).unwrap_or_default();
    for g in parse_output_limits(update).unwrap_or_default() {
        all.retain(|x| x.0 != g.0);
        all.push(g);
    }
    all.sort_by_key(|g| OUTPUT_CLASSES.iter().position(|c| *c == g.0));
    format_output_limits(&all)
}

/// The live configuration.
#[derive(Debug)]
pub struct Config {
    values: RwLock<BTreeMap<&'static str, String>>,
    /// Bumped by every `CONFIG SET`, so hot paths can cache values and re-read on change.
    generation: std::sync::atomic::AtomicU64,
    /// See [`Config::startup_warnings`].
    warnings: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        let values = PARAMS
            .iter()
            .chain(redis_compat::COMPAT)
            .map(|p| {
                (
                    p.name,
                    validate(p, p.default).unwrap_or_else(|_| p.default.to_string()),
                )
            })
            .collect();
        Config {
            values: RwLock::new(values),
            generation: std::sync::atomic::AtomicU64::new(0),
            warnings: Vec::new(),
        }
    }
}

impl Config {
    /// Builds the configuration from every source: file, environment, then flags.
    pub fn load(
        file: Option<&Path>,
        env: &[(String, String)],
        flags: &[(String, String)],
    ) -> Result<Config, ConfigError> {
        let mut cfg = Config::default();
        let mut explicit = Vec::new();
        if let Some(path) = file {
            cfg.load_file(path, 0, &mut explicit)?;
        }
        for (k, v) in env {
            if let Some(rest) = k.strip_prefix("VAYLIX_") {
                let name = rest.to_ascii_lowercase().replace('_', "-");
                if name == "master-key" {
                    continue; // read by storage directly, never kept in CONFIG
                }
                if param(&name).is_some() {
                    explicit.push(cfg.set_startup(&name, v)?);
                }
            }
        }
        for (k, v) in flags {
            if redis_compat::is_ignored(k) {
                cfg.warnings.push(format!("'--{k}' {IGNORED_WHY}"));
                // Kept for CONFIG GET when it is a parameter (a value it refuses is dropped).
                let _ = cfg.set_startup(k, v);
                continue;
            }
            explicit.push(cfg.set_startup(k, v)?);
        }
        cfg.settle(&explicit);
        Ok(cfg)
    }

    /// Reads one redis.conf-style file; `include` lines are followed (Redis's semantics: the
    /// included file's lines take effect at the point of the `include`).
    fn load_file(
        &mut self,
        path: &Path,
        depth: usize,
        explicit: &mut Vec<&'static str>,
    ) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|err| ConfigError::Io {
            path: path.display().to_string(),
            err,
        })?;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let args = crate::resp::split_args(line.as_bytes()).unwrap_or_default();
            let mut it = args.iter().map(|a| String::from_utf8_lossy(a).into_owned());
            let Some(name) = it.next() else { continue };
            let value = it.collect::<Vec<_>>().join(" ");
            let at = |err| ConfigError::File {
                path: path.display().to_string(),
                line: i + 1,
                err: Box::new(err),
            };
            if name.eq_ignore_ascii_case("include") {
                // A loop of includes would recurse forever; Redis has no limit, 16 is plenty.
                if depth >= 16 {
                    return Err(at(ConfigError::Invalid {
                        name,
                        value,
                        why: "includes nested more than 16 deep".into(),
                    }));
                }
                self.load_file(Path::new(&value), depth + 1, explicit)?;
            } else if redis_compat::is_ignored(&name) {
                let name = name.to_ascii_lowercase();
                self.warnings.push(format!(
                    "{}, line {}: '{name}' {IGNORED_WHY}",
                    path.display(),
                    i + 1
                ));
                let _ = self.set_startup(&name, &value);
            } else {
                explicit.push(self.set_startup(&name, &value).map_err(at)?);
            }
        }
        Ok(())
    }

    /// Derived values, once every source has been read.
    fn settle(&mut self, explicit: &[&'static str]) {
        // `dir` is Redis's working directory; vaylix keeps its data in a directory of its own
        // inside it, so a stock redis.conf (`dir /var/lib/redis`) never mixes vaylix's files
        // with a Redis's dump.rdb.
        let dir = self.get_str("dir");
        if !dir.is_empty() && !explicit.contains(&"data-dir") {
            let data = Path::new(&dir).join("default.vaylix");
            self.values
                .write()
                .insert("data-dir", data.display().to_string());
        }
        if self.get_str("appendonly") == "no" {
            self.warnings.push(
                "'appendonly no' ignored: the WAL is vaylix's persistence and cannot be turned off"
                    .into(),
            );
            self.values.write().insert("appendonly", "yes".into());
        }
    }

    /// Warnings gathered while loading (ignored directives), for the log once it is set up.
    pub fn startup_warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Sets a parameter from a start-up source; returns its canonical name.
    fn set_startup(&self, name: &str, value: &str) -> Result<&'static str, ConfigError> {
        let p = param(name).ok_or_else(|| ConfigError::Unknown(name.to_string()))?;
        let v = self.merged(p, validate(p, value)?);
        self.values.write().insert(p.name, v);
        Ok(p.name)
    }

    /// A validated value as stored: an output-limit value changes only the classes it names.
    fn merged(&self, p: &Param, v: String) -> String {
        match p.kind {
            Kind::OutputLimits => merge_output_limits(&self.get_str(p.name), &v),
            // As Redis: any int is accepted, the server runs (and reports) 1 to 500.
            _ if p.name == "hz" => v.parse::<i64>().map_or(v, |n| n.clamp(1, 500).to_string()),
            _ => v,
        }
    }

    /// The `client-output-buffer-limit` of `class` (`normal`, `slave`, `pubsub`):
    /// (hard, soft, soft seconds).
    pub fn output_limit(&self, class: &str) -> (u64, u64, u64) {
        parse_output_limits(&self.get_str("client-output-buffer-limit"))
            .unwrap_or_default()
            .into_iter()
            .find(|g| g.0 == class)
            .map_or((0, 0, 0), |(_, h, s, t)| (h as u64, s as u64, t as u64))
    }

    /// `CONFIG SET`: only mutable parameters.
    pub fn set(&self, name: &str, value: &str) -> Result<&'static Param, ConfigError> {
        let p = param(name).ok_or_else(|| ConfigError::Unknown(name.to_string()))?;
        if !p.mutable {
            return Err(ConfigError::Immutable(p.name.to_string()));
        }
        let v = self.merged(p, validate(p, value)?);
        self.values.write().insert(p.name, v);
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        Ok(p)
    }

    /// Changes whenever `CONFIG SET` changed something.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    pub fn get_str(&self, name: &str) -> String {
        self.values.read().get(name).cloned().unwrap_or_default()
    }

    pub fn get_i64(&self, name: &str) -> i64 {
        self.values
            .read()
            .get(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    pub fn get_bool(&self, name: &str) -> bool {
        self.values.read().get(name).is_some_and(|v| v == "yes")
    }

    /// `CONFIG GET` with glob patterns: (name, value) pairs, sorted by name; an alias that
    /// matches is reported under its own name with its parameter's value.
    pub fn matching(&self, pattern: &[u8]) -> Vec<(&'static str, String)> {
        let values = self.values.read();
        let mut out: Vec<(&'static str, String)> = values
            .iter()
            .filter(|(k, _)| crate::glob::matches(pattern, k.as_bytes(), true))
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        for (alias, name) in ALIASES {
            if crate::glob::matches(pattern, alias.as_bytes(), true) {
                out.push((alias, values.get(name).cloned().unwrap_or_default()));
            }
        }
        out.sort_unstable_by_key(|(k, _)| *k);
        out
    }

    /// The collection encoding thresholds these values set.
    pub fn coll_limits(&self) -> crate::keyspace::Limits {
        let n = |name| usize::try_from(self.get_i64(name)).unwrap_or(usize::MAX);
        crate::keyspace::Limits {
            hash_max_listpack_entries: n("hash-max-listpack-entries"),
            hash_max_listpack_value: n("hash-max-listpack-value"),
            set_max_intset_entries: n("set-max-intset-entries"),
            set_max_listpack_entries: n("set-max-listpack-entries"),
            set_max_listpack_value: n("set-max-listpack-value"),
            zset_max_listpack_entries: n("zset-max-listpack-entries"),
            zset_max_listpack_value: n("zset-max-listpack-value"),
            list_max_listpack_size: self.get_i64("list-max-listpack-size"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_sources_win_and_values_are_normalised() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("vaylix.conf");
        std::fs::write(
            &file,
            "# comment\nport 7000\nappendfsync everysec\nproto-max-bulk-len 2mb\n",
        )
        .unwrap();
        let env = vec![("VAYLIX_PORT".to_string(), "7001".to_string())];
        let flags = vec![("appendfsync".to_string(), "no".to_string())];
        let cfg = Config::load(Some(&file), &env, &flags).unwrap();
        assert_eq!(cfg.get_i64("port"), 7001);
        assert_eq!(cfg.get_str("appendfsync"), "no");
        assert_eq!(cfg.get_i64("proto-max-bulk-len"), 2 * 1024 * 1024);
    }

    #[test]
    fn bad_directive_names_the_directive_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.conf");
        std::fs::write(&file, "port 1\nappendfsync sometimes\n").unwrap();
        let err = Config::load(Some(&file), &[], &[]).unwrap_err().to_string();
        assert!(
            err.contains("line 2") && err.contains("appendfsync"),
            "{err}"
        );
        let err = Config::load(None, &[], &[("nosuch".into(), "1".into())])
            .unwrap_err()
            .to_string();
        assert!(err.contains("nosuch"), "{err}");
    }

    #[test]
    fn defaults_are_normalised_like_any_other_source() {
        let cfg = Config::default();
        assert_eq!(cfg.get_i64("proto-max-bulk-len"), 512 * 1024 * 1024);
        assert!(
            PARAMS.iter().all(|p| validate(p, p.default).is_ok()),
            "every default is valid"
        );
    }

    #[test]
    fn immutable_parameters_refuse_config_set() {
        let cfg = Config::default();
        assert!(cfg.set("port", "1").is_err());
        assert!(cfg.set("maxclients", "5").is_ok());
        assert_eq!(cfg.get_i64("maxclients"), 5);
    }

    #[test]
    fn config_get_matches_globs() {
        let cfg = Config::default();
        let names: Vec<_> = cfg
            .matching(b"maxmemory*")
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(
            names,
            vec![
                "maxmemory",
                "maxmemory-clients",
                "maxmemory-eviction-tenacity",
                "maxmemory-policy",
                "maxmemory-samples"
            ]
        );
    }
}

#[cfg(test)]
mod limit_tests {
    use super::*;

    #[test]
    fn encoding_thresholds_default_to_redis_and_ziplist_names_are_aliases() {
        let cfg = Config::default();
        assert_eq!(cfg.coll_limits(), crate::keyspace::Limits::default());
        assert_eq!(cfg.coll_limits().hash_max_listpack_entries, 512);
        // CONFIG GET hash-max-* on redis-server 7.0.15 answers all four names.
        let got = cfg.matching(b"hash-max-*");
        let names: Vec<_> = got.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            names,
            [
                "hash-max-listpack-entries",
                "hash-max-listpack-value",
                "hash-max-ziplist-entries",
                "hash-max-ziplist-value"
            ]
        );
        cfg.set("hash-max-ziplist-entries", "5").unwrap();
        cfg.set("HASH-MAX-LISTPACK-VALUE", "1kb").unwrap();
        assert_eq!(cfg.coll_limits().hash_max_listpack_entries, 5);
        assert_eq!(cfg.coll_limits().hash_max_listpack_value, 1024);
        assert_eq!(cfg.matching(b"hash-max-ziplist-entries")[0].1, "5");
        assert_eq!(cfg.matching(b"hash-max-listpack-entries")[0].1, "5");
        let err = cfg.set("set-max-intset-entries", "-1").err().unwrap();
        assert_eq!(
            redis_reason(&err),
            "argument must be between 0 and 9223372036854775807 inclusive"
        );
        for bad in ["abc", "-1", "1.5"] {
            let err = cfg.set("hash-max-listpack-value", bad).err().unwrap();
            assert_eq!(
                redis_reason(&err),
                "argument must be a memory value",
                "{bad}"
            );
        }
        for bad in ["abc", "1kb", "1.5", " 5", "+5", "05"] {
            let err = cfg.set("hash-max-listpack-entries", bad).err().unwrap();
            assert_eq!(
                redis_reason(&err),
                "argument couldn't be parsed into an integer",
                "{bad}"
            );
        }
        let err = cfg.set("maxmemory", "-1").err().unwrap();
        assert_eq!(redis_reason(&err), "argument must be a memory value");
    }

    #[test]
    fn encoding_thresholds_come_from_file_env_and_flags_under_either_name() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("redis.conf");
        std::fs::write(
            &file,
            "hash-max-ziplist-value 10\nset-max-intset-entries 7\nset-max-listpack-value 3\n",
        )
        .unwrap();
        let env = vec![(
            "VAYLIX_SET_MAX_LISTPACK_ENTRIES".to_string(),
            "9".to_string(),
        )];
        let flags = vec![("hash-max-ziplist-entries".to_string(), "2".to_string())];
        let cfg = Config::load(Some(&file), &env, &flags).unwrap();
        assert_eq!(
            cfg.coll_limits(),
            crate::keyspace::Limits {
                hash_max_listpack_entries: 2,
                hash_max_listpack_value: 10,
                set_max_intset_entries: 7,
                set_max_listpack_entries: 9,
                set_max_listpack_value: 3,
                ..crate::keyspace::Limits::default()
            }
        );
        assert!(
            cfg.startup_warnings().is_empty(),
            "{:?}",
            cfg.startup_warnings()
        );
    }
}

#[cfg(test)]
mod redis_conf_tests {
    use super::*;

    #[test]
    fn redis_directives_are_ignored_with_one_warning_each_and_include_is_followed() {
        let dir = tempfile::tempdir().unwrap();
        let inc = dir.path().join("local.conf");
        std::fs::write(&inc, "requirepass secret\nrdbcompression yes\n").unwrap();
        let file = dir.path().join("redis.conf");
        std::fs::write(
            &file,
            format!(
                "tcp-backlog 1024\nlazyfree-lazy-eviction no\nappendonly no\n\
                 include {}\n",
                inc.display()
            ),
        )
        .unwrap();
        let flags = vec![("enable-debug-command".to_string(), "yes".to_string())];
        let cfg = Config::load(Some(&file), &[], &flags).unwrap();
        assert_eq!(cfg.get_i64("tcp-backlog"), 1024);
        assert_eq!(cfg.get_str("requirepass"), "secret", "the include was read");
        assert_eq!(cfg.get_str("appendonly"), "yes", "the WAL stays on");
        let w = cfg.startup_warnings();
        assert_eq!(w.len(), 4, "{w:?}");
        assert!(w[0].contains("line 2") && w[0].contains("'lazyfree-lazy-eviction'"));
        assert!(w[1].contains("local.conf, line 2") && w[1].contains("'rdbcompression'"));
        assert!(w[2].contains("--enable-debug-command"));
        assert!(w[3].contains("appendonly no"));
    }

    #[test]
    fn dir_is_the_parent_of_the_data_dir_unless_data_dir_is_set() {
        let flags = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        let cfg = Config::load(None, &[], &flags(&[("dir", "/var/lib/redis")])).unwrap();
        assert_eq!(cfg.get_str("data-dir"), "/var/lib/redis/default.vaylix");
        assert_eq!(cfg.get_str("dir"), "/var/lib/redis");
        let both = flags(&[("dir", "/var/lib/redis"), ("data-dir", "/srv/v")]);
        let cfg = Config::load(None, &[], &both).unwrap();
        assert_eq!(cfg.get_str("data-dir"), "/srv/v");
        assert_eq!(Config::default().get_i64("tcp-backlog"), 511);
    }
}

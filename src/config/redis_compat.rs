//! Redis 7.0 directives that vaylix accepts and ignores, so that a stock `redis.conf` (Debian's
//! `/etc/redis/redis.conf` included) starts vaylix. Each one found in a config file or a flag is
//! skipped with one warning line naming it, so the operator sees what has no effect.
//!
//! [`COMPAT`] holds those of them that are parameters, so CONFIG GET and SET know them.
//!
//! The list is every name `CONFIG GET *` reports on redis-server 7.0.15 (aliases such as `slaveof`
//! included), plus the file-only directives `loadmodule`, `rename-command` and `user`, minus
//! what vaylix implements (see `PARAMS`) and `include`, which the loader follows.

use super::{Kind, Param};

/// Sorted, so [`is_ignored`] can binary-search it.
pub static IGNORED: &[&str] = &[
    "acl-pubsub-default",
    "aclfile",
    "acllog-max-len",
    "active-defrag-cycle-max",
    "active-defrag-cycle-min",
    "active-defrag-ignore-bytes",
    "active-defrag-max-scan-fields",
    "active-defrag-threshold-lower",
    "active-defrag-threshold-upper",
    "active-expire-effort",
    "activedefrag",
    "activerehashing",
    "always-show-logo",
    "aof-disable-auto-gc",
    "aof-load-truncated",
    "aof-rewrite-incremental-fsync",
    "aof-timestamp-enabled",
    "aof-use-rdb-preamble",
    "aof_rewrite_cpulist",
    "appenddirname",
    "appendfilename",
    "auto-aof-rewrite-min-size",
    "auto-aof-rewrite-percentage",
    "bgsave_cpulist",
    "bind-source-addr",
    "bio_cpulist",
    "cluster-allow-pubsubshard-when-down",
    "cluster-allow-reads-when-down",
    "cluster-allow-replica-migration",
    "cluster-announce-bus-port",
    "cluster-announce-hostname",
    "cluster-announce-ip",
    "cluster-announce-port",
    "cluster-announce-tls-port",
    "cluster-config-file",
    "cluster-enabled",
    "cluster-link-sendbuf-limit",
    "cluster-migration-barrier",
    "cluster-node-timeout",
    "cluster-port",
    "cluster-preferred-endpoint-type",
    "cluster-replica-no-failover",
    "cluster-replica-validity-factor",
    "cluster-require-full-coverage",
    "cluster-slave-no-failover",
    "cluster-slave-validity-factor",
    "crash-log-enabled",
    "crash-memcheck-enabled",
    "dbfilename",
    "disable-thp",
    "dynamic-hz",
    "enable-debug-command",
    "enable-module-command",
    "enable-protected-configs",
    "hll-sparse-max-bytes",
    "ignore-warnings",
    "io-threads",
    "io-threads-do-reads",
    "jemalloc-bg-thread",
    "lazyfree-lazy-eviction",
    "lazyfree-lazy-expire",
    "lazyfree-lazy-server-del",
    "lazyfree-lazy-user-del",
    "lazyfree-lazy-user-flush",
    "loadmodule",
    "masterauth",
    "masteruser",
    "maxmemory-clients",
    "min-replicas-max-lag",
    "min-replicas-to-write",
    "min-slaves-max-lag",
    "min-slaves-to-write",
    "no-appendfsync-on-rewrite",
    "oom-score-adj",
    "oom-score-adj-values",
    "proc-title-template",
    "propagation-error-behavior",
    "rdb-del-sync-files",
    "rdb-save-incremental-fsync",
    "rdbchecksum",
    "rdbcompression",
    "rename-command",
    "repl-backlog-size",
    "repl-backlog-ttl",
    "repl-disable-tcp-nodelay",
    "repl-diskless-load",
    "repl-diskless-sync",
    "repl-diskless-sync-delay",
    "repl-diskless-sync-max-replicas",
    "repl-ping-replica-period",
    "repl-ping-slave-period",
    "repl-timeout",
    "replica-announce-ip",
    "replica-announce-port",
    "replica-announced",
    "replica-ignore-disk-write-errors",
    "replica-ignore-maxmemory",
    "replica-lazy-flush",
    "replica-priority",
    "replica-read-only",
    "replica-serve-stale-data",
    "replicaof",
    "sanitize-dump-payload",
    "server_cpulist",
    "set-proc-title",
    "shutdown-on-sigint",
    "shutdown-on-sigterm",
    "shutdown-timeout",
    "slave-announce-ip",
    "slave-announce-port",
    "slave-ignore-maxmemory",
    "slave-lazy-flush",
    "slave-priority",
    "slave-read-only",
    "slave-serve-stale-data",
    "slaveof",
    "socket-mark-id",
    "stop-writes-on-bgsave-error",
    "stream-node-max-bytes",
    "stream-node-max-entries",
    "syslog-enabled",
    "syslog-facility",
    "syslog-ident",
    "tls-auth-clients",
    "tls-ca-cert-dir",
    "tls-ca-cert-file",
    "tls-cert-file",
    "tls-ciphers",
    "tls-ciphersuites",
    "tls-client-cert-file",
    "tls-client-key-file",
    "tls-client-key-file-pass",
    "tls-cluster",
    "tls-dh-params-file",
    "tls-key-file",
    "tls-key-file-pass",
    "tls-port",
    "tls-prefer-server-ciphers",
    "tls-protocols",
    "tls-replication",
    "tls-session-cache-size",
    "tls-session-cache-timeout",
    "tls-session-caching",
    "unixsocket",
    "unixsocketperm",
    "user",
];

/// Every Redis 7.0 parameter vaylix does not act on, with redis-server 7.0.15's default: `CONFIG
/// GET` echoes it, `CONFIG SET` (type-checked as Redis checks it, without Redis's ranges) and
/// the config file store it, so tools that read or write them keep working. Immutable ones are
/// refused at run time as Redis refuses them. Their `slave*` names are [`super::ALIASES`].
pub static COMPAT: &[Param] = &[
    compat(
        "acl-pubsub-default",
        Kind::Enum(&["allchannels", "resetchannels"]),
        "resetchannels",
        true,
    ),
    compat("aclfile", Kind::Str, "", false),
    compat(
        "acllog-max-len",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "128",
        true,
    ),
    compat(
        "active-defrag-cycle-max",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "25",
        true,
    ),
    compat(
        "active-defrag-cycle-min",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "1",
        true,
    ),
    compat(
        "active-defrag-ignore-bytes",
        Kind::Memory {
            min: 0,
            max: i64::MAX,
        },
        "104857600",
        true,
    ),
    compat(
        "active-defrag-max-scan-fields",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "1000",
        true,
    ),
    compat(
        "active-defrag-threshold-lower",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "10",
        true,
    ),
    compat(
        "active-defrag-threshold-upper",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "100",
        true,
    ),
    compat(
        "active-expire-effort",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "1",
        true,
    ),
    compat("activedefrag", Kind::Bool, "no", true),
    compat("activerehashing", Kind::Bool, "yes", true),
    compat("always-show-logo", Kind::Bool, "no", false),
    compat("aof-disable-auto-gc", Kind::Bool, "no", true),
    compat("aof-load-truncated", Kind::Bool, "yes", true),
    compat("aof-rewrite-incremental-fsync", Kind::Bool, "yes", true),
    compat("aof-timestamp-enabled", Kind::Bool, "no", true),
    compat("aof-use-rdb-preamble", Kind::Bool, "yes", true),
    compat("aof_rewrite_cpulist", Kind::Str, "", false),
    compat("appenddirname", Kind::Str, "appendonlydir", false),
    compat("appendfilename", Kind::Str, "appendonly.aof", false),
    compat(
        "auto-aof-rewrite-min-size",
        Kind::Memory {
            min: 0,
            max: i64::MAX,
        },
        "67108864",
        true,
    ),
    compat(
        "auto-aof-rewrite-percentage",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "100",
        true,
    ),
    compat("bgsave_cpulist", Kind::Str, "", false),
    compat("bind-source-addr", Kind::Str, "", true),
    compat("bio_cpulist", Kind::Str, "", false),
    compat(
        "cluster-allow-pubsubshard-when-down",
        Kind::Bool,
        "yes",
        true,
    ),
    compat("cluster-allow-reads-when-down", Kind::Bool, "no", true),
    compat("cluster-allow-replica-migration", Kind::Bool, "yes", true),
    compat(
        "cluster-announce-bus-port",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "0",
        true,
    ),
    compat("cluster-announce-hostname", Kind::Str, "", true),
    compat("cluster-announce-ip", Kind::Str, "", true),
    compat(
        "cluster-announce-port",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "0",
        true,
    ),
    compat(
        "cluster-announce-tls-port",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "0",
        true,
    ),
    compat("cluster-config-file", Kind::Str, "nodes.conf", false),
    compat("cluster-enabled", Kind::Bool, "no", false),
    compat(
        "cluster-link-sendbuf-limit",
        Kind::Memory {
            min: 0,
            max: i64::MAX,
        },
        "0",
        true,
    ),
    compat(
        "cluster-migration-barrier",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "1",
        true,
    ),
    compat(
        "cluster-node-timeout",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "15000",
        true,
    ),
    compat(
        "cluster-port",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "0",
        false,
    ),
    compat(
        "cluster-preferred-endpoint-type",
        Kind::Enum(&["ip", "hostname", "unknown-endpoint"]),
        "ip",
        true,
    ),
    compat("cluster-replica-no-failover", Kind::Bool, "no", true),
    compat(
        "cluster-replica-validity-factor",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "10",
        true,
    ),
    compat("cluster-require-full-coverage", Kind::Bool, "yes", true),
    compat("crash-log-enabled", Kind::Bool, "yes", true),
    compat("crash-memcheck-enabled", Kind::Bool, "yes", true),
    compat("dbfilename", Kind::Str, "dump.rdb", false),
    compat("disable-thp", Kind::Bool, "yes", false),
    compat("dynamic-hz", Kind::Bool, "yes", true),
    compat("enable-debug-command", Kind::Bool, "no", false),
    compat("enable-module-command", Kind::Bool, "no", false),
    compat("enable-protected-configs", Kind::Bool, "no", false),
    compat(
        "hll-sparse-max-bytes",
        Kind::Memory {
            min: 0,
            max: i64::MAX,
        },
        "3000",
        true,
    ),
    compat("ignore-warnings", Kind::Str, "", true),
    compat(
        "io-threads",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "1",
        false,
    ),
    compat("io-threads-do-reads", Kind::Bool, "no", false),
    compat("jemalloc-bg-thread", Kind::Bool, "yes", true),
    compat("lazyfree-lazy-eviction", Kind::Bool, "no", true),
    compat("lazyfree-lazy-expire", Kind::Bool, "no", true),
    compat("lazyfree-lazy-server-del", Kind::Bool, "no", true),
    compat("lazyfree-lazy-user-del", Kind::Bool, "no", true),
    compat("lazyfree-lazy-user-flush", Kind::Bool, "no", true),
    compat("masterauth", Kind::Str, "", true),
    compat("masteruser", Kind::Str, "", true),
    compat(
        "maxmemory-clients",
        Kind::Memory {
            min: 0,
            max: i64::MAX,
        },
        "0",
        true,
    ),
    compat(
        "min-replicas-max-lag",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "10",
        true,
    ),
    compat(
        "min-replicas-to-write",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "0",
        true,
    ),
    compat("no-appendfsync-on-rewrite", Kind::Bool, "no", true),
    compat("oom-score-adj", Kind::Bool, "no", true),
    compat("oom-score-adj-values", Kind::Str, "0 200 800", true),
    compat(
        "proc-title-template",
        Kind::Str,
        "{title} {listen-addr} {server-mode}",
        true,
    ),
    compat(
        "propagation-error-behavior",
        Kind::Enum(&["ignore", "panic", "panic-on-replicas"]),
        "ignore",
        true,
    ),
    compat("rdb-del-sync-files", Kind::Bool, "no", true),
    compat("rdb-save-incremental-fsync", Kind::Bool, "yes", true),
    compat("rdbchecksum", Kind::Bool, "yes", false),
    compat("rdbcompression", Kind::Bool, "yes", true),
    compat(
        "repl-backlog-size",
        Kind::Memory {
            min: 0,
            max: i64::MAX,
        },
        "1048576",
        true,
    ),
    compat(
        "repl-backlog-ttl",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "3600",
        true,
    ),
    compat("repl-disable-tcp-nodelay", Kind::Bool, "no", true),
    compat(
        "repl-diskless-load",
        Kind::Enum(&["disabled", "on-empty-db", "swapdb"]),
        "disabled",
        true,
    ),
    compat("repl-diskless-sync", Kind::Bool, "yes", true),
    compat(
        "repl-diskless-sync-delay",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "5",
        true,
    ),
    compat(
        "repl-diskless-sync-max-replicas",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "0",
        true,
    ),
    compat(
        "repl-ping-replica-period",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "10",
        true,
    ),
    compat(
        "repl-timeout",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "60",
        true,
    ),
    compat("replica-announce-ip", Kind::Str, "", true),
    compat(
        "replica-announce-port",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "0",
        true,
    ),
    compat("replica-announced", Kind::Bool, "yes", true),
    compat("replica-ignore-disk-write-errors", Kind::Bool, "no", true),
    compat("replica-ignore-maxmemory", Kind::Bool, "yes", true),
    compat("replica-lazy-flush", Kind::Bool, "no", true),
    compat(
        "replica-priority",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "100",
        true,
    ),
    compat("replica-read-only", Kind::Bool, "yes", true),
    compat("replica-serve-stale-data", Kind::Bool, "yes", true),
    compat("replicaof", Kind::Str, "", false),
    compat("sanitize-dump-payload", Kind::Bool, "no", true),
    compat("server_cpulist", Kind::Str, "", false),
    compat("set-proc-title", Kind::Bool, "yes", false),
    compat(
        "shutdown-on-sigint",
        Kind::Enum(&["default", "save", "nosave", "now", "force"]),
        "default",
        true,
    ),
    compat(
        "shutdown-on-sigterm",
        Kind::Enum(&["default", "save", "nosave", "now", "force"]),
        "default",
        true,
    ),
    compat(
        "shutdown-timeout",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "10",
        true,
    ),
    compat(
        "socket-mark-id",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "0",
        false,
    ),
    compat("stop-writes-on-bgsave-error", Kind::Bool, "yes", true),
    compat(
        "stream-node-max-bytes",
        Kind::Memory {
            min: 0,
            max: i64::MAX,
        },
        "4096",
        true,
    ),
    compat(
        "stream-node-max-entries",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "100",
        true,
    ),
    compat("syslog-enabled", Kind::Bool, "no", false),
    compat("syslog-facility", Kind::Str, "local0", false),
    compat("syslog-ident", Kind::Str, "redis", false),
    compat("tls-auth-clients", Kind::Bool, "yes", true),
    compat("tls-ca-cert-dir", Kind::Str, "", true),
    compat("tls-ca-cert-file", Kind::Str, "", true),
    compat("tls-cert-file", Kind::Str, "", true),
    compat("tls-ciphers", Kind::Str, "", true),
    compat("tls-ciphersuites", Kind::Str, "", true),
    compat("tls-client-cert-file", Kind::Str, "", true),
    compat("tls-client-key-file", Kind::Str, "", true),
    compat("tls-client-key-file-pass", Kind::Str, "", true),
    compat("tls-cluster", Kind::Bool, "no", true),
    compat("tls-dh-params-file", Kind::Str, "", true),
    compat("tls-key-file", Kind::Str, "", true),
    compat("tls-key-file-pass", Kind::Str, "", true),
    compat(
        "tls-port",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "0",
        true,
    ),
    compat("tls-prefer-server-ciphers", Kind::Bool, "no", true),
    compat("tls-protocols", Kind::Str, "", true),
    compat("tls-replication", Kind::Bool, "no", true),
    compat(
        "tls-session-cache-size",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "20480",
        true,
    ),
    compat(
        "tls-session-cache-timeout",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "300",
        true,
    ),
    compat("tls-session-caching", Kind::Bool, "yes", true),
    compat("unixsocket", Kind::Str, "", false),
    compat(
        "unixsocketperm",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "0",
        false,
    ),
];

const fn compat(name: &'static str, kind: Kind, default: &'static str, mutable: bool) -> Param {
    Param {
        name,
        kind,
        default,
        mutable,
        doc: "a Redis 7.0 parameter vaylix accepts and echoes without acting on it",
    }
}

/// Whether `name` (any case) is a Redis directive vaylix accepts without acting on it.
pub fn is_ignored(name: &str) -> bool {
    IGNORED
        .binary_search(&name.to_ascii_lowercase().as_str())
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignored_list_is_sorted_and_disjoint_from_params() {
        assert!(
            IGNORED.windows(2).all(|w| w[0] < w[1]),
            "sorted, no duplicates"
        );
        for name in IGNORED {
            assert!(!super::super::implemented(name), "{name} is implemented");
        }
        for p in COMPAT {
            assert!(is_ignored(p.name), "{} is in IGNORED", p.name);
            assert!(super::super::validate(p, p.default).is_ok(), "{}", p.name);
        }
        assert!(is_ignored("RDBCOMPRESSION") && !is_ignored("port"));
    }
}

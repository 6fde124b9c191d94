//! vaylix: a Redis-protocol server whose every acknowledged write is durable and encrypted.
//!
//! How a request flows, and where each step lives:
//!
//! ```text
//! server::connection   read bytes -> resp::parse_command (pipelined, limits enforced)
//! server::dispatch     commands::lookup -> arity -> auth -> MULTI queueing -> MISCONF check
//!                      -> keyspace::Keyspace::lock (the command's shards, ascending order)
//! commands::<family>   the handler reads/writes through keyspace::Locked, which stamps versions
//!                      and records keyspace::Effect values for the entry
//! keyspace::Locked     on drop: submits (seq, effects) to the WAL while still holding the locks
//! storage              WAL writer thread: batch -> encrypt -> write -> fdatasync -> publish durable
//! server::connection   before flushing replies: wait until durable >= what they revealed
//! ```
//!
//! - [`resp`]: RESP2/RESP3 parsing and reply writing (no I/O).
//! - [`config`]: the parameter registry (CONFIG GET/SET, config file, env, flags).
//! - [`keyspace`]: sharded in-memory data, versions, expiry, WATCH flags, effects, replay.
//! - [`commands`]: the command table and one module per command family.
//! - [`scripting`]: the Lua VM for EVAL (sandbox, conversions, BUSY/KILL state); scripts run
//!   through `commands::scripting` under one exclusive lock, their effects one WAL entry.
//! - [`server`]: listener, connections, client registry, dispatch, storage-facing commands.
//! - [`storage`]: WAL, snapshots, manifest, keyring, crypto, recovery (all data-dir I/O).
//! - [`alloc`]: the counted allocator behind `used_memory` and `maxmemory`.
//! - [`logging`], [`process`]: the log sink, pidfile, daemonize and systemd readiness.

pub mod alloc;
pub mod backup;
pub mod commands;
pub mod config;
pub mod glob;
pub mod keyspace;
pub mod logging;
pub mod offline;
pub mod process;
pub mod resp;
pub mod scripting;
pub mod server;
pub mod storage;

/// The Redis version vaylix reports (INFO redis_version, HELLO): the Redis 7 command semantics
/// it implements. Its own version is `vaylix_version`.
pub const REDIS_VERSION: &str = "7.2.0";

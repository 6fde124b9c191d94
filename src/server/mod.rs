//! The network side: listener, one tokio task per connection, dispatch, client registry,
//! protected mode, limits and shutdown.
//!
//! A connection reads what the socket has, executes every complete command inline (no hop to
//! another thread), appends replies to its out buffer and, before flushing, waits until the WAL
//! is durable up to the newest sequence those replies reveal (`appendfsync always`). A pipeline
//! therefore shares one wait, and all connections share one group-commit fsync.

pub mod clients;
pub mod cmdstats;
mod connection;
pub mod evict;
pub mod latency;
pub mod persistence;
pub mod pubsub;
pub mod tracking;

use std::sync::atomic::AtomicBool;

pub use connection::{ConnState, ReplyMode};

use crate::commands::{self, After, CommandSpec, Ctx, Scope};
use crate::config::Config;
use crate::keyspace::Keyspace;
use crate::resp::ReplyWriter;
use bytes::Bytes;
use clients::Clients;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[derive(Default)]
pub struct Stats {
    pub connections_received: AtomicU64,
    pub commands_processed: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub expired_keys: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    pub keyspace_hits: AtomicU64,
    pub keyspace_misses: AtomicU64,
    /// Socket reads that returned data, and reply writes (INFO `total_reads_processed`,
    /// `total_writes_processed`).
    pub reads_processed: AtomicU64,
    pub writes_processed: AtomicU64,
    /// The `instantaneous_*` rates: samples taken every 100 ms.
    rates: parking_lot::Mutex<Rates>,
}

/// Redis's instantaneous metrics: the mean of the last 16 rates, each measured over ~100 ms.
#[derive(Default)]
struct Rates {
    last: Option<(Instant, [u64; 3])>,
    samples: [[f64; 3]; 16],
    next: usize,
}

impl Stats {
    /// Takes a rate sample if 100 ms passed since the last (called from the background tick).
    pub fn sample_rates(&self) {
        let now = Instant::now();
        let totals = [
            self.commands_processed.load(Ordering::Relaxed),
            self.net_input_bytes.load(Ordering::Relaxed),
            self.net_output_bytes.load(Ordering::Relaxed),
        ];
        let mut r = self.rates.lock();
        match r.last {
            Some((at, _)) if now.duration_since(at).as_millis() < 100 => {}
            Some((at, before)) => {
                let secs = now.duration_since(at).as_secs_f64();
                let i = r.next;
                for k in 0..3 {
                    r.samples[i][k] = totals[k].saturating_sub(before[k]) as f64 / secs;
                }
                r.next = (i + 1) % r.samples.len();
                r.last = Some((now, totals));
            }
            None => r.last = Some((now, totals)),
        }
    }

    /// (ops/s, input bytes/s, output bytes/s).
    pub fn rates(&self) -> (f64, f64, f64) {
        let r = self.rates.lock();
        let n = r.samples.len() as f64;
        let mean = |k: usize| r.samples.iter().map(|s| s[k]).sum::<f64>() / n;
        (mean(0), mean(1), mean(2))
    }

    pub fn reset(&self) {
        for c in [
            &self.connections_received,
            &self.commands_processed,
            &self.rejected_connections,
            &self.expired_keys,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.keyspace_hits,
            &self.keyspace_misses,
            &self.reads_processed,
            &self.writes_processed,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// State shared by every connection and background task.
pub struct Shared {
    pub config: Arc<Config>,
    pub config_file: Option<String>,
    /// Applies `CONFIG SET loglevel` to the installed logger (None: no logger of ours, in tests).
    pub set_log_level: Option<crate::logging::SetLevel>,
    pub keyspace: Arc<Keyspace>,
    pub storage: Option<Arc<crate::storage::Storage>>,
    pub clients: Clients,
    pub pubsub: pubsub::PubSub,
    pub scripting: crate::scripting::Scripting,
    /// `maxmemory`: settings, candidate pool, `evicted_keys`.
    pub evictor: evict::Evictor,
    pub stats: Stats,
    /// INFO commandstats / errorstats / latencystats and the SLOWLOG.
    pub cmdstats: cmdstats::CommandStats,
    /// LATENCY: the latency monitor's events.
    pub latency: latency::LatencyMonitor,
    pub started: Instant,
    pub run_id: String,
    pub port: AtomicU64,
    pub lastsave: AtomicU64,
    pub shutdown: tokio::sync::watch::Sender<Option<bool>>,
    pub bgsave_running: AtomicBool,
    /// CLIENT PAUSE: until when, and whether every command waits (ALL) or only writes.
    pub pause: parking_lot::Mutex<Option<(Instant, bool)>>,
    /// Whether `pause` may be set (read on every command without the lock).
    pub pause_set: AtomicBool,
    /// Woken by CLIENT UNPAUSE (and a new CLIENT PAUSE) so paused clients look again.
    pub pause_changed: tokio::sync::Notify,
    /// Notified once every `bind` address listens (daemonize and systemd readiness).
    pub ready: tokio::sync::Notify,
    me: std::sync::OnceLock<std::sync::Weak<Shared>>,
}

impl Shared {
    pub fn new(
        config: Arc<Config>,
        keyspace: Arc<Keyspace>,
        storage: Option<Arc<crate::storage::Storage>>,
    ) -> Self {
        let run_id: String = (0..40)
            .map(|_| format!("{:x}", rand::random::<u8>() % 16))
            .collect();
        let pubsub = pubsub::PubSub::default();
        let (hard, soft, secs) = config.output_limit("pubsub");
        pubsub.set_limit(hard, soft, secs);
        Shared {
            config,
            config_file: None,
            set_log_level: None,
            keyspace,
            storage,
            clients: Clients::default(),
            pubsub,
            scripting: crate::scripting::Scripting::default(),
            evictor: evict::Evictor::default(),
            stats: Stats::default(),
            cmdstats: cmdstats::CommandStats::default(),
            latency: latency::LatencyMonitor::default(),
            started: Instant::now(),
            run_id,
            port: AtomicU64::new(0),
            lastsave: AtomicU64::new(commands::now_ms() / 1000),
            shutdown: tokio::sync::watch::channel(None).0,
            bgsave_running: AtomicBool::new(false),
            ready: tokio::sync::Notify::new(),
            pause: parking_lot::Mutex::new(None),
            pause_set: AtomicBool::new(false),
            pause_changed: tokio::sync::Notify::new(),
            me: std::sync::OnceLock::new(),
        }
    }

    /// Wraps into an `Arc` that handlers can get back with [`Shared::self_arc`] (BGSAVE hands
    /// it to a thread).
    pub fn into_arc(self) -> Arc<Shared> {
        // The recovered function libraries, compiled before the first client comes.
        self.scripting
            .functions
            .lock()
            .sync(&self.keyspace, crate::REDIS_VERSION);
        self.apply_notify_config();
        self.apply_tracking_config();
        self.apply_latency_config();
        let arc = Arc::new(self);
        let _ = arc.me.set(Arc::downgrade(&arc));
        arc
    }

    pub fn self_arc(&self) -> Option<Arc<Shared>> {
        self.me.get().and_then(|w| w.upgrade())
    }

    /// Applies `notify-keyspace-events`: the flags the notifier reads, and whether the
    /// keyspace keeps the keys that expire.
    pub fn apply_notify_config(&self) {
        use commands::notify;
        let flags =
            notify::parse_flags(&self.config.get_str("notify-keyspace-events")).unwrap_or(0);
        self.pubsub.notify_flags.store(flags, Ordering::Relaxed);
        let on = flags & (notify::KEYSPACE | notify::KEYEVENT) != 0;
        self.keyspace.track_created(on && flags & notify::NEW != 0);
        self.refresh_expired_tracking();
    }

    /// Applies `latency-monitor-threshold` to the WAL's fsync timing.
    pub fn apply_latency_config(&self) {
        if let Some(st) = &self.storage {
            let ms = self.config.get_i64("latency-monitor-threshold").max(0);
            st.set_latency_threshold(ms as u64);
        }
    }

    /// The latency monitor, with the slow WAL fsyncs the storage noted since last asked.
    pub fn latency_events(&self) -> &latency::LatencyMonitor {
        if let Some(st) = &self.storage {
            for (unix, ms) in st.take_slow_fsyncs() {
                self.latency.add("wal-fsync", unix, ms);
            }
        }
        &self.latency
    }

    /// Applies `tracking-table-max-keys`.
    pub fn apply_tracking_config(&self) {
        let max = self.config.get_i64("tracking-table-max-keys").max(0);
        self.pubsub.tracking.set_max_keys(max as usize);
    }

    /// Keeps the keys that expire while someone needs them: `expired` events, or tracking
    /// clients (an expired key is invalidated like a written one).
    pub fn refresh_expired_tracking(&self) {
        use commands::notify;
        let flags = self.pubsub.notify_flags.load(Ordering::Relaxed);
        let events =
            flags & notify::EXPIRED != 0 && flags & (notify::KEYSPACE | notify::KEYEVENT) != 0;
        self.keyspace
            .track_expired(events || self.pubsub.tracking.count() > 0);
    }

    /// When the command `argv` must wait for a CLIENT PAUSE to end: its deadline. WRITE
    /// pauses commands that write or publish (and EXEC of a transaction that holds one);
    /// ALL pauses everything.
    pub fn paused_until(&self, conn: &ConnState, argv: &[Bytes]) -> Option<Instant> {
        if !self.pause_set.load(Ordering::Acquire) {
            return None;
        }
        let (until, all) = {
            let mut p = self.pause.lock();
            match *p {
                Some((until, _)) if Instant::now() >= until => {
                    *p = None;
                    self.pause_set.store(false, Ordering::Release);
                    return None;
                }
                Some(v) => v,
                None => return None,
            }
        };
        let spec = commands::lookup(argv.first()?)?;
        if spec.name == "client"
            && argv
                .get(1)
                .is_some_and(|a| a.eq_ignore_ascii_case(b"unpause"))
        {
            return None;
        }
        let writes = |s: &CommandSpec| s.is_write() || matches!(s.name, "publish" | "spublish");
        if conn.multi.is_some() && spec.name != "exec" {
            return None;
        }
        let hit = all
            || writes(spec)
            || (spec.name == "exec"
                && conn.multi.iter().flatten().any(|q| {
                    q.first()
                        .and_then(|n| commands::lookup(n))
                        .is_some_and(writes)
                }));
        hit.then_some(until)
    }

    /// Whether writes must be refused because the WAL failed (sticky).
    pub fn poisoned(&self) -> bool {
        self.storage.as_ref().is_some_and(|s| s.is_poisoned())
    }

    /// Asks every task to stop; `save` = take a final snapshot.
    pub fn request_shutdown(&self, save: bool) {
        let _ = self.shutdown.send(Some(save));
    }
}

/// Runs one command from a connection: lookup, arity, auth, MULTI queueing, MISCONF, then
/// the handler under the shard locks its scope needs. A command refused before it runs
/// counts as a rejected call of it (INFO commandstats).
pub fn dispatch(
    shared: &Shared,
    conn: &mut ConnState,
    out: &mut ReplyWriter,
    argv: &[Bytes],
) -> After {
    // Errors no command owns (a protocol error) count in errorstats only.
    shared.cmdstats.count_errors(&mut out.errors);
    out.refused = None;
    let mut slot = None;
    let after = admit(shared, conn, out, argv, &mut slot);
    match slot {
        Some(slot) => shared.cmdstats.rejected(slot, &mut out.errors),
        None => {
            shared.cmdstats.count_errors(&mut out.errors);
        }
    }
    after
}

/// One call, for [`record_call`]: its command, arguments, stats slot and start time.
pub struct Call<'a> {
    pub spec: &'a CommandSpec,
    pub argv: &'a [Bytes],
    pub slot: usize,
    pub started: Instant,
}

/// Records one call that ran (alone, in EXEC or from a script: `client` None): INFO commandstats,
/// errorstats and latencystats, `total_commands_processed`, and the slow log.
pub fn record_call(
    shared: &Shared,
    client: Option<&clients::ClientInfo>,
    call: Call<'_>,
    out: &mut ReplyWriter,
    blocked: bool,
) -> u64 {
    let Call {
        spec,
        argv,
        slot,
        started,
    } = call;
    match out.refused.take() {
        Some(true) => {
            shared.cmdstats.rejected(slot, &mut out.errors);
            return 0;
        }
        Some(false) => {
            shared.cmdstats.count_errors(&mut out.errors);
            return 0;
        }
        None => {}
    }
    shared
        .stats
        .commands_processed
        .fetch_add(1, Ordering::Relaxed);
    let nanos = started.elapsed().as_nanos() as u64;
    if let Some(ms) = shared.cmdstats.latency_spike(nanos) {
        let event = if spec.has_flag("fast") {
            "fast-command"
        } else {
            "command"
        };
        shared.latency.add(event, commands::now_ms() / 1000, ms);
    }
    // A call that blocked goes to the slow log only once served (see [`log_served`]).
    if shared
        .cmdstats
        .executed(&shared.config, slot, nanos, &mut out.errors, spec)
        && !blocked
    {
        // A script's calls come from Redis's Lua client, with no address.
        let (addr, name) = match client {
            Some(c) => (c.addr.to_string(), c.name.lock().clone()),
            None => ("?:0".to_string(), Bytes::new()),
        };
        shared
            .cmdstats
            .log_slow(spec, argv, nanos / 1000, addr, name);
    }
    nanos
}

/// A blocked call was served: it enters the slow log now (after the write that served it),
/// with the time it ran, not the time it waited, as in Redis. A timed-out one does not.
pub fn log_served(shared: &Shared, conn: &ConnState, argv: &[Bytes], nanos: u64) {
    let Some(spec) = commands::lookup(&argv[0]) else {
        return;
    };
    if shared.cmdstats.slow_enough(nanos, spec) {
        let name = conn.info.name.lock().clone();
        shared
            .cmdstats
            .log_slow(spec, argv, nanos / 1000, conn.info.addr.to_string(), name);
    }
}

/// [`dispatch`] up to running the command; sets `slot` once the command is known.
fn admit(
    shared: &Shared,
    conn: &mut ConnState,
    out: &mut ReplyWriter,
    argv: &[Bytes],
    slot: &mut Option<usize>,
) -> After {
    let Some(index) = commands::lookup_index(&argv[0]) else {
        conn.flag_multi_error();
        out.error(&commands::unknown_command(argv));
        return After::Nothing;
    };
    let spec = commands::all()[index];
    *slot = Some(shared.cmdstats.slot_of(index, argv));
    conn.info.last_cmd.store(index, Ordering::Relaxed);
    if argv.len() > 1 && commands::is_container(spec.name) {
        *conn.info.last_sub.lock() = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
    }
    if !commands::arity_ok(spec, argv.len()) {
        conn.flag_multi_error();
        out.error(&commands::wrong_args(spec.name));
        return After::Nothing;
    }
    if !conn.authed && !spec.has_flag("no_auth") {
        conn.flag_multi_error();
        out.error("NOAUTH Authentication required.");
        return After::Nothing;
    }
    // maxmemory: evict first (before queueing, as Redis); refused when that cannot make room
    // are the commands that may grow memory, anything queued in MULTI, and an EXEC of them.
    conn.oom = !shared.evictor.make_room(shared, conn);
    if conn.oom {
        let queued_denyoom = || {
            conn.multi.iter().flatten().any(|q| {
                q.first()
                    .and_then(|n| commands::lookup(n))
                    .is_some_and(|s| denyoom(s, q))
            })
        };
        let refused = denyoom(spec, argv)
            || (conn.multi.is_some()
                && !matches!(spec.name, "exec" | "discard" | "quit" | "reset"))
            || (spec.name == "exec" && queued_denyoom());
        if refused {
            if spec.name == "exec" {
                conn.multi = None;
                conn.multi_error = false;
                conn.unwatch_all(shared);
                out.error(&format!(
                    "EXECABORT Transaction discarded because of: {}",
                    evict::OOM
                ));
            } else {
                conn.flag_multi_error();
                out.error(evict::OOM);
            }
            return After::Nothing;
        }
    }
    if conn.subs.active()
        && !conn.resp3
        && !commands::pubsub::ALLOWED_SUBSCRIBED.contains(&spec.name)
    {
        conn.flag_multi_error();
        out.error(&format!("ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context", commands::full_name(spec, argv)));
        return After::Nothing;
    }
    // A MONITOR client is a replica to Redis: it may not touch the keyspace.
    if conn.subs.monitor
        && conn.multi.is_none()
        && (spec.is_write()
            || spec.has_flag("readonly")
            || matches!(spec.name, "publish" | "spublish"))
    {
        out.error("ERR Replica can't interact with the keyspace");
        return After::Nothing;
    }
    if conn.multi.is_some() && spec.has_flag("no_multi") {
        conn.flag_multi_error();
        out.error("ERR Command not allowed inside a transaction");
        return After::Nothing;
    }
    if conn.multi.is_some()
        && !matches!(
            spec.name,
            "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
        )
    {
        if let Some(q) = conn.multi.as_mut() {
            q.push(argv.to_vec());
        }
        out.simple("QUEUED");
        return After::Nothing;
    }
    if spec.is_write() && shared.poisoned() {
        out.error(MISCONF);
        return After::Nothing;
    }
    // Checked before the command touches anything: a refused write changes nothing.
    if spec.is_write() && !shared.keyspace.clock_has_room() {
        out.error(crate::keyspace::clock::CLOCK_EXHAUSTED);
        return After::Nothing;
    }
    let slot = slot.take().unwrap_or(index);
    run(shared, conn, out, spec, argv, slot)
}

/// Whether the command may grow memory (Redis's `denyoom`, which FUNCTION has per subcommand).
fn denyoom(spec: &commands::CommandSpec, argv: &[Bytes]) -> bool {
    spec.has_flag("denyoom")
        || (spec.name == "function"
            && argv.get(1).is_some_and(|s| {
                s.eq_ignore_ascii_case(b"load") || s.eq_ignore_ascii_case(b"restore")
            }))
}

pub const MISCONF: &str = "MISCONF Errors writing to the WAL file: writes are refused until the server is restarted (see INFO persistence)";

/// Runs a looked-up, validated command under the locks of its scope.
pub fn run(
    shared: &Shared,
    conn: &mut ConnState,
    out: &mut ReplyWriter,
    spec: &CommandSpec,
    argv: &[Bytes],
    slot: usize,
) -> After {
    let ks = &shared.keyspace;
    let mut locked = match spec.scope {
        Scope::None => ks.lock_none(),
        Scope::All => ks.lock_all(),
        Scope::Keys => {
            let mut shards = Vec::with_capacity(2);
            commands::key_shards(shared, spec, argv, &mut shards);
            ks.lock(shards)
        }
    };
    let started = Instant::now();
    let start = out.buf.len();
    let from = locked.effects().len();
    conn.begin_command();
    let now_ms = commands::now_ms();
    commands::notify::before_command(shared, &mut locked, spec, conn.db, argv, now_ms);
    let mut ctx = Ctx {
        shared,
        conn,
        ks: &mut locked,
        out,
        now_ms,
        after: After::Nothing,
    };
    (spec.handler)(&mut ctx, argv);
    let after = std::mem::take(&mut ctx.after);
    let now = ctx.now_ms;
    commands::pubsub::feed_monitors(shared, conn, spec, argv);
    commands::notify::after_command(shared, &mut locked, spec.name, argv, from, now);
    // Clients blocked on keys this command touched are served under its locks, their pops in
    // its WAL entry (so its reply waits for them too: one entry, one sequence).
    let mut served = Vec::new();
    let deferred = commands::blocking::serve_ready(&mut locked, now, &mut served);
    commands::notify::after_served(shared, &mut locked, &served, now);
    let effects = locked.effects().get(from..).unwrap_or_default();
    commands::pubsub::track(shared, conn, spec, argv, effects);
    // DEBUG SLEEP's wait is part of its time, as in Redis (where it blocks the server).
    let started = match &after {
        After::Sleep(d) => started.checked_sub(*d).unwrap_or(started),
        _ => started,
    };
    let blocked = matches!(after, After::Block(_));
    let call = Call {
        spec,
        argv,
        slot,
        started,
    };
    let nanos = record_call(shared, Some(&conn.info), call, out, blocked);
    conn.blocked_nanos = nanos;
    conn.end_command(start, out.buf.len(), locked.revealed(), locked.observed());
    drop(locked);
    if !deferred.is_empty() {
        commands::blocking::serve_deferred(shared, deferred, now);
    }
    after
}

pub use connection::serve;

/// A listening socket on `addr:port` with the `tcp-backlog` queue of not yet accepted
/// connections (std's and tokio's `bind` fix it at 128, which makes a burst of clients wait out
/// SYN retransmissions). Tries each resolved address, as `TcpListener::bind` does.
async fn listen(addr: &str, port: u16, backlog: u32) -> std::io::Result<tokio::net::TcpListener> {
    let mut last = None;
    for sa in tokio::net::lookup_host((addr, port)).await? {
        let sock = if sa.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        // As `TcpListener::bind`: a restart must not wait out the old sockets' TIME_WAIT.
        sock.set_reuseaddr(true)?;
        match sock.bind(sa).and_then(|()| sock.listen(backlog)) {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "resolves to no address")
    }))
}

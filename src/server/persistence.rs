//! Where the server meets the storage engine: opening it (recovery into the keyspace), the
//! WAL sink, the durability wait, snapshots (scheduled, SAVE, BGSAVE, shutdown), WAITAOF,
//! KEYRING, INFO persistence and CONFIG SET of storage parameters.

use super::Shared;
use crate::commands::{self, spec, After, CommandSpec, Ctx, Scope, NO_KEYS};
use crate::config::Config;
use crate::keyspace::{Effect, EntrySink, Keyspace, Piece, PieceLoader, SHARDS};
use crate::storage::{
    MasterKeySource, RecoverySink, SnapshotInfo, SnapshotSource, Storage, StorageConfig,
    StorageError, SyncPolicy, TailPolicy,
};
use bytes::Bytes;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ADMIN: &[&str] = &["admin", "noscript", "no_async_loading", "no_multi"];
const ACL_ADMIN: &[&str] = &["@admin", "@slow", "@dangerous"];

pub static COMMANDS: &[CommandSpec] = &[
    spec(
        "save",
        1,
        ADMIN,
        NO_KEYS,
        ACL_ADMIN,
        Scope::None,
        "server",
        "Synchronously takes a snapshot of the dataset.",
        save,
    ),
    spec(
        "bgsave",
        -1,
        &["admin", "noscript", "no_async_loading"],
        NO_KEYS,
        ACL_ADMIN,
        Scope::None,
        "server",
        "Takes a snapshot of the dataset in the background.",
        bgsave,
    ),
    spec(
        "waitaof",
        4,
        &["noscript", "no_multi"],
        NO_KEYS,
        &["@slow", "@connection"],
        Scope::None,
        "generic",
        "Blocks until the client's writes are fsynced to the WAL.",
        waitaof,
    ),
    spec(
        "keyring",
        -2,
        &["admin", "noscript"],
        NO_KEYS,
        ACL_ADMIN,
        Scope::None,
        "server",
        "Rotates (at the next snapshot) or lists the storage data keys.",
        keyring,
    ),
];

// ---- opening: recovery into the keyspace ----------------------------------------------------

struct Loader<'a> {
    ks: &'a Keyspace,
    pieces: PieceLoader<'a>,
    records: u64,
    entries: u64,
}

impl RecoverySink for Loader<'_> {
    fn load_piece(&mut self, piece: Piece) {
        if matches!(piece, Piece::Record(_) | Piece::Header { .. }) {
            self.records += 1;
        }
        self.pieces.piece(piece);
    }

    fn apply_entry(&mut self, seq: u64, effects: Vec<Effect>) {
        // The snapshot has ended: install its last collection before the WAL's changes.
        self.pieces.finish_open();
        self.entries += 1;
        self.ks.apply_entry(seq, &effects);
    }
}

impl EntrySink for Storage {
    fn submit(&self, seq: u64, effects: Vec<Effect>) {
        Storage::submit(self, seq, effects)
    }
}

/// The storage configuration from the server configuration and the environment.
pub fn storage_config(config: &Config) -> Result<StorageConfig, String> {
    let mut sc = StorageConfig::new(config.get_str("data-dir"));
    let key_file = config.get_str("master-key-file");
    sc.master_key = if !key_file.is_empty() {
        MasterKeySource::File(key_file.into())
    } else if let Ok(hex) = std::env::var("VAYLIX_MASTER_KEY") {
        MasterKeySource::Hex(hex)
    } else {
        MasterKeySource::Embedded
    };
    sc.sync = config.get_str("appendfsync").parse()?;
    sc.wal_segment_size = config.get_i64("wal-segment-size") as u64;
    sc.wal_retain_segments = config.get_i64("wal-retain-segments") as u32;
    sc.snapshot_retain = config.get_i64("snapshot-retain") as u32;
    sc.truncated_tail = if config.get_str("wal-truncated-tail") == "fail" {
        TailPolicy::Fail
    } else {
        TailPolicy::Repair
    };
    sc.key_rotation_secs = config.get_i64("storage-key-rotation") as u64;
    sc.pitr_retention_secs = config.get_i64("pitr-retention").max(0) as u64;
    sc.pitr_retention_bytes = config.get_i64("pitr-retention-bytes").max(0) as u64;
    Ok(sc)
}

/// Opens the data dir, recovers it into `ks`, and connects the keyspace to the WAL.
pub fn open(config: &Config, ks: &Arc<Keyspace>) -> Result<Arc<Storage>, String> {
    let sc = storage_config(config)?;
    let t = Instant::now();
    let now = commands::now_ms();
    let mut loader = Loader {
        ks,
        pieces: ks.loader(now),
        records: 0,
        entries: 0,
    };
    let (storage, last_seq) = Storage::open(sc, &mut loader).map_err(|e| e.to_string())?;
    loader.pieces.finish_open();
    ks.advance_clock(last_seq);
    let expired = ks.purge_expired(commands::now_ms());
    tracing::info!(
        records = loader.records,
        wal_entries = loader.entries,
        last_seq,
        expired_dropped = expired,
        "DB loaded from disk: {:.3} seconds",
        t.elapsed().as_secs_f64()
    );
    ks.set_sink(storage.clone());
    Ok(storage)
}

// ---- durability ------------------------------------------------------------------------------

/// Waits until the WAL has acknowledged every entry up to `seq`: fdatasync'ed under
/// `appendfsync always`, written to the file (so a process crash cannot lose it) under
/// `everysec`/`no`, as Redis writes its AOF before it replies. False if the WAL is poisoned
/// first: replies that depend on later entries must not go out.
pub async fn wait_acknowledged(shared: &Shared, seq: u64) -> bool {
    let Some(storage) = shared.storage.as_ref() else {
        return true;
    };
    match storage.sync_policy() {
        SyncPolicy::Always => storage.wait_durable(seq).await,
        SyncPolicy::EverySec | SyncPolicy::No => storage.wait_written(seq).await,
    }
}

/// The newest sequence the WAL has acknowledged (see [`wait_acknowledged`]); after a WAL
/// failure it never advances again.
pub fn acknowledged_seq(shared: &Shared) -> u64 {
    let Some(storage) = shared.storage.as_ref() else {
        return u64::MAX;
    };
    match storage.sync_policy() {
        SyncPolicy::Always => storage.durable().borrow().seq,
        SyncPolicy::EverySec | SyncPolicy::No => storage.written_seq(),
    }
}

// ---- snapshots -------------------------------------------------------------------------------

struct Source<'a> {
    ks: &'a Keyspace,
    now_ms: u64,
    /// `rdb-key-save-delay` when the snapshot started (0 in production).
    delay: KeySaveDelay,
}

/// Redis's `rdb-key-save-delay`, a test knob that slows a snapshot down so tests can write
/// while it runs: `n > 0` sleeps `n` µs per piece (a key, or one batch of a big collection),
/// `n < 0` sleeps 1 µs per `-n` pieces. The sleep is taken only where the walk holds no lock,
/// so commands are never held up by it.
#[derive(Clone, Copy)]
struct KeySaveDelay(i64);

impl KeySaveDelay {
    fn after(self, pieces: u64) {
        let us = match self.0 {
            0 => return,
            n if n > 0 => pieces.saturating_mul(n as u64),
            n => pieces / n.unsigned_abs(),
        };
        if us > 0 {
            std::thread::sleep(std::time::Duration::from_micros(us));
        }
    }
}

impl SnapshotSource for Source<'_> {
    fn shard_count(&self) -> usize {
        SHARDS
    }

    fn visit_shard(&self, i: usize, f: &mut dyn FnMut(Option<&Piece>)) {
        if self.delay.0 == 0 {
            return self.ks.visit_shard_unlocking(i, self.now_ms, f);
        }
        let mut pieces = 0u64;
        self.ks.visit_shard_unlocking(i, self.now_ms, &mut |p| {
            if p.is_some() {
                pieces += 1;
            } else {
                self.delay.after(std::mem::take(&mut pieces));
            }
            f(p)
        });
        self.delay.after(pieces);
    }

    fn horizon(&self) -> u64 {
        self.ks.current_seq()
    }
}

/// Takes a snapshot now (blocking: call from a blocking thread).
pub fn snapshot_now(shared: &Shared) -> Result<SnapshotInfo, StorageError> {
    let Some(storage) = shared.storage.as_ref() else {
        return Err(StorageError::ShutDown);
    };
    let info = storage.snapshot(&Source {
        ks: &shared.keyspace,
        now_ms: commands::now_ms(),
        delay: KeySaveDelay(shared.config.get_i64("rdb-key-save-delay")),
    })?;
    shared
        .lastsave
        .store(commands::now_ms() / 1000, Ordering::Relaxed);
    tracing::info!(
        seq = info.seq,
        records = info.records,
        bytes = info.bytes,
        ms = info.duration_ms,
        written = info.written,
        "snapshot done"
    );
    Ok(info)
}

/// Runs a snapshot on a blocking thread and waits for it.
pub async fn snapshot_async(shared: Arc<Shared>) -> Result<SnapshotInfo, String> {
    tokio::task::spawn_blocking(move || snapshot_now(&shared).map_err(|e| e.to_string()))
        .await
        .map_err(|e| e.to_string())?
}

/// Starts a background snapshot unless one is running. False if one is.
pub fn start_background_snapshot(shared: &Arc<Shared>) -> bool {
    let Some(storage) = shared.storage.as_ref() else {
        return false;
    };
    if storage.info().snapshot_in_progress || shared.bgsave_running.swap(true, Ordering::AcqRel) {
        return false;
    }
    let sh = shared.clone();
    std::thread::spawn(move || {
        // Background work yields the CPU to the threads serving clients (2-core machines).
        // SAFETY: setpriority on the calling thread's own id; failure is harmless.
        unsafe {
            libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10);
        }
        if let Err(e) = snapshot_now(&sh) {
            tracing::error!("background snapshot failed: {e}");
        }
        sh.bgsave_running.store(false, Ordering::Release);
    });
    true
}

/// Snapshot triggers: every `snapshot-interval` seconds and after `snapshot-wal-bytes` of WAL,
/// when anything changed since the last snapshot.
pub async fn snapshot_scheduler(shared: Arc<Shared>) {
    let Some(storage) = shared.storage.clone() else {
        return;
    };
    let mut last = Instant::now();
    let mut stop = shared.shutdown.subscribe();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = stop.changed() => return,
        }
        let info = storage.info();
        if info.poisoned || info.snapshot_in_progress || info.written_seq <= info.last_snapshot_seq
        {
            continue;
        }
        let interval = shared.config.get_i64("snapshot-interval");
        let wal_limit = shared.config.get_i64("snapshot-wal-bytes");
        let by_time = interval > 0 && last.elapsed() >= Duration::from_secs(interval as u64);
        let by_size = wal_limit > 0 && info.wal_bytes_since_snapshot >= wal_limit as u64;
        if by_time || by_size {
            last = Instant::now();
            if start_background_snapshot(&shared) {
                tracing::info!(by_time, by_size, "scheduled snapshot started");
            }
        }
    }
}

// ---- commands ---------------------------------------------------------------------------------

fn save(c: &mut Ctx, _argv: &[Bytes]) {
    if c.shared.storage.is_none() {
        return c.out.error("ERR no storage engine");
    }
    if c.shared.bgsave_running.load(Ordering::Acquire) {
        return c.out.error("ERR Background save already in progress");
    }
    // The connection runs the snapshot off the event loop and writes the reply.
    c.after = After::Save;
}

fn bgsave(c: &mut Ctx, argv: &[Bytes]) {
    let schedule = argv.len() == 2 && commands::eq(&argv[1], "schedule");
    if argv.len() > 2 || (argv.len() == 2 && !schedule) {
        return c.out.error(commands::ERR_SYNTAX);
    }
    let Some(shared) = c.shared.self_arc() else {
        return c.out.error("ERR no storage engine");
    };
    if start_background_snapshot(&shared) {
        c.out.simple("Background saving started");
    } else if schedule {
        c.out.simple("Background saving scheduled");
    } else {
        c.out.error("ERR Background save already in progress");
    }
}

fn waitaof(c: &mut Ctx, argv: &[Bytes]) {
    let (Some(numlocal), Some(numreplicas), Some(timeout)) = (
        commands::parse_i64(&argv[1]),
        commands::parse_i64(&argv[2]),
        commands::parse_i64(&argv[3]),
    ) else {
        return c.out.error(commands::ERR_NOT_INT);
    };
    if timeout < 0 {
        return c.out.error("ERR timeout is negative");
    }
    if numlocal < 0 || numreplicas < 0 {
        return c.out.error(commands::ERR_NOT_INT);
    }
    c.after = After::WaitAof {
        numlocal: numlocal > 0,
        numreplicas: numreplicas > 0,
        timeout_ms: timeout as u64,
    };
}

/// WAITAOF's wait: the client's writes fsynced (local), replicas never (there are none).
pub async fn wait_aof(
    shared: &Shared,
    need: u64,
    numlocal: bool,
    numreplicas: bool,
    timeout_ms: u64,
) -> (i64, i64) {
    let deadline =
        (timeout_ms > 0).then(|| tokio::time::Instant::now() + Duration::from_millis(timeout_ms));
    let mut local = 1;
    if let (true, Some(storage)) = (numlocal, shared.storage.as_ref()) {
        let mut rx = storage.durable();
        if rx.borrow().seq < need {
            storage.request_sync();
            let wait = rx.wait_for(|d| d.seq >= need || d.poisoned);
            let ok = match deadline {
                Some(d) => {
                    matches!(tokio::time::timeout_at(d, wait).await, Ok(Ok(r)) if r.seq >= need)
                }
                None => matches!(wait.await, Ok(r) if r.seq >= need),
            };
            local = ok as i64;
        }
    }
    if numreplicas {
        // No replicas exist: wait out the timeout as Redis does (0 = until shutdown).
        let mut stop = shared.shutdown.subscribe();
        match deadline {
            Some(d) => {
                tokio::select! { _ = tokio::time::sleep_until(d) => {}, _ = stop.changed() => {} }
            }
            None => {
                let _ = stop.changed().await;
            }
        }
    }
    (local, 0)
}

fn keyring(c: &mut Ctx, argv: &[Bytes]) {
    let Some(storage) = c.shared.storage.clone() else {
        return c.out.error("ERR no storage engine");
    };
    if commands::eq(&argv[1], "rotate") && argv.len() == 2 {
        storage.request_key_rotation();
        c.out.simple("OK");
    } else if commands::eq(&argv[1], "status") && argv.len() == 2 {
        let keys = storage.keyring_status();
        let now = commands::now_ms() / 1000;
        c.out.array(keys.len());
        for k in keys {
            c.out.map(5);
            c.out.bulk(b"id");
            c.out.int(k.id.0 as i64);
            c.out.bulk(b"created_at");
            c.out.int(k.created_at as i64);
            c.out.bulk(b"age_seconds");
            c.out.int(now.saturating_sub(k.created_at) as i64);
            c.out.bulk(b"active");
            c.out.int(k.active as i64);
            c.out.bulk(b"needed_by");
            c.out.bulks(k.needed_by.iter());
        }
    } else if commands::eq(&argv[1], "help") && argv.len() == 2 {
        c.out.help(&[
            "KEYRING <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "ROTATE",
            "    Make a new data key active; the next snapshot re-encrypts under it.",
            "STATUS",
            "    List the data keys: id, created_at, age_seconds, active, needed_by.",
        ]);
    } else {
        c.out.error(&commands::unknown_subcommand(argv, "KEYRING"));
    }
}

/// Applies a CONFIG SET of a parameter the storage engine reads.
pub fn config_changed(shared: &Shared, name: &str) {
    if name == "notify-keyspace-events" {
        shared.apply_notify_config();
    }
    if name == "tracking-table-max-keys" {
        shared.apply_tracking_config();
    }
    if name == "latency-monitor-threshold" {
        shared.apply_latency_config();
    }
    if name == "client-output-buffer-limit" {
        let (hard, soft, secs) = shared.config.output_limit("pubsub");
        shared.pubsub.set_limit(hard, soft, secs);
    }
    if name == "appendfsync" {
        if let (Some(storage), Ok(p)) = (
            shared.storage.as_ref(),
            shared.config.get_str("appendfsync").parse::<SyncPolicy>(),
        ) {
            storage.set_sync_policy(p);
        }
    }
}

pub fn info_persistence(sh: &Shared, out: &mut String) {
    let lastsave = sh.lastsave.load(Ordering::Relaxed);
    let Some(storage) = sh.storage.as_ref() else {
        let _ = write!(
            out,
            "# Persistence\r\nloading:0\r\naof_enabled:0\r\nrdb_last_save_time:{lastsave}\r\n"
        );
        return;
    };
    let i = storage.info();
    let status = |ok: bool| if ok { "ok" } else { "err" };
    let _ = write!(
        out,
        "# Persistence\r\nloading:0\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\n\
         rdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{lastsave}\r\n\
         rdb_last_bgsave_status:{}\r\nrdb_last_bgsave_time_sec:{}\r\nrdb_saves:0\r\n\
         aof_enabled:1\r\naof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\naof_last_write_status:{}\r\n\
         aof_last_bgrewrite_status:ok\r\n\
         storage_format_version:{}\r\nwal_sync_policy:{}\r\nwal_durable_seq:{}\r\nwal_last_seq:{}\r\n\
         wal_fsync_count:{}\r\nwal_fsync_total_usec:{}\r\nwal_fsync_last_usec:{}\r\nwal_segments:{}\r\n\
         wal_bytes_since_snapshot:{}\r\nwal_truncated_tails:{}\r\nwal_poisoned:{}\r\nwal_poison_error:{}\r\n\
         snapshot_in_progress:{}\r\nsnapshot_last_seq:{}\r\nsnapshot_last_time:{}\r\n\
         snapshot_last_duration_ms:{}\r\nsnapshot_last_status:{}\r\n\
         storage_active_key_id:{}\r\nstorage_key_count:{}\r\n",
        i.written_seq.saturating_sub(i.last_snapshot_seq),
        i.snapshot_in_progress as u8,
        status(i.last_snapshot_ok),
        i.last_snapshot_duration_ms / 1000,
        status(!i.poisoned),
        crate::storage::FORMAT_VERSION,
        i.sync_policy,
        i.durable_seq,
        i.written_seq,
        i.fsync_count,
        i.fsync_total_us,
        i.fsync_last_us,
        i.segment_count,
        i.wal_bytes_since_snapshot,
        i.truncated_tails,
        i.poisoned as u8,
        i.poison_error,
        i.snapshot_in_progress as u8,
        i.last_snapshot_seq,
        i.last_snapshot_unix,
        i.last_snapshot_duration_ms,
        status(i.last_snapshot_ok),
        i.active_key_id,
        i.key_count,
    );
    // PITR retention (`pitr-retention`, `pitr-retention-bytes`): where the restorable window
    // starts and what it keeps on disk.
    let _ = write!(
        out,
        "pitr_retention_sec:{}\r\npitr_retention_bytes:{}\r\npitr_window_start_seq:{}\r\n\
         pitr_window_start_time_ms:{}\r\npitr_retained_bytes:{}\r\n",
        sh.config.get_i64("pitr-retention"),
        sh.config.get_i64("pitr-retention-bytes"),
        i.pitr_window_start_seq,
        i.pitr_window_start_ms,
        i.pitr_retained_bytes,
    );
}

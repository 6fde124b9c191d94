//! Durable encrypted storage: WAL with group commit, fuzzy snapshots, manifest, keyring, recovery.
//!
//! Owns: every file in the data dir (except `backups/`), through the [`fs::FileSystem`] seam.
//! Map:
//! - [`fs`]: the file-system seam (real and simulated with power cuts / failpoints).
//! - [`crypto`]: the only place that encrypts (XChaCha20-Poly1305) and MACs.
//! - [`keyring`]: data keys wrapped by the master key; rotation and retirement.
//! - [`lock`]: the `LOCK` file: one writing process per data dir.
//! - [`wal`]: frame codec, segment names, segment reader and writer (reused by offline tools).
//! - [`writer`]: the group-commit WAL writer thread.
//! - [`snapshot`]: streaming encrypted snapshot writer and reader.
//! - [`manifest`]: the committed baseline (snapshot sequence + digest + WAL start).
//! - [`chain`]: the segment-chain, gap and restore-baseline rules (recovery, verify, pitr).
//! - [`recovery`]: keyring -> manifest -> snapshot -> WAL replay at startup.
//!
//! Invariants: a sequence is reported durable only after its frame was fdatasync'ed; a failed
//! write or fsync poisons the WAL for good; the manifest is replaced only after the snapshot it
//! names is durable, and a file the committed manifest needs is never deleted; no plaintext key
//! or value ever reaches a file. Snapshots are fuzzy (DESIGN.md §6 design (b)): shards are
//! visited one lock at a time after sealing the WAL at S; replay of entries > S with version
//! checks (done by the keyspace) makes the result exact.
//!
//! Does not: decide when to snapshot (the server does), or apply effects (the keyspace does).

pub mod chain;
pub mod codec;
pub mod crypto;
pub mod error;
pub mod fs;
pub mod keyring;
pub mod lock;
pub mod manifest;
pub mod recovery;
pub mod snapshot;
pub mod wal;
mod writer;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use tokio::sync::watch;

pub use crypto::KeyId;
use crypto::SecretKey;
pub use error::{SeqNote, StorageError};
use fs::{FileSystem, RealFs};
use keyring::Keyring;
use manifest::Manifest;
use recovery::Dirs;
use snapshot::{snapshot_file_name, SnapshotWriter};
use wal::{SegmentName, SegmentWriter};
use writer::{Cmd, Shared, Writer};

use crate::keyspace::{Effect, Piece, Record};

/// The storage format version every file carries.
pub const FORMAT_VERSION: u32 = 3;

/// `appendfsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPolicy {
    /// fdatasync every group-commit batch before publishing it durable (default).
    Always,
    /// fdatasync about once a second.
    EverySec,
    /// Never fdatasync except on segment rotation, snapshot and shutdown.
    No,
}

impl FromStr for SyncPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "always" => Ok(SyncPolicy::Always),
            "everysec" => Ok(SyncPolicy::EverySec),
            "no" => Ok(SyncPolicy::No),
            _ => Err(format!(
                "invalid appendfsync value '{s}' (always, everysec, no)"
            )),
        }
    }
}

impl fmt::Display for SyncPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SyncPolicy::Always => "always",
            SyncPolicy::EverySec => "everysec",
            SyncPolicy::No => "no",
        })
    }
}

/// `wal-truncated-tail`: what to do with an incomplete final frame of the active segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TailPolicy {
    /// Cut it (truncate + fsync), warn, count it in INFO (default).
    Repair,
    /// Refuse to start.
    Fail,
}

/// Where the master key comes from.
#[derive(Debug, Clone)]
pub enum MasterKeySource {
    /// A file holding 64 hex characters (or exactly 32 raw bytes).
    File(PathBuf),
    /// 64 hex characters (`VAYLIX_MASTER_KEY`).
    Hex(String),
    /// `<data-dir>/master.key`, generated (mode 0600) on the first start of a brand-new data
    /// dir (no keyring, manifest, WAL or snapshot), with a warning; missing from a populated
    /// dir, it is an error.
    Embedded,
}

/// Storage configuration.
#[derive(Debug, Clone)]
pub struct StorageConfig {
    pub data_dir: PathBuf,
    pub master_key: MasterKeySource,
    /// `appendfsync`, default always.
    pub sync: SyncPolicy,
    /// `wal-segment-size` in bytes, default 64 MiB (minimum effective: one frame per segment).
    pub wal_segment_size: u64,
    /// Sealed segments kept beyond what the oldest retained snapshot needs, default 0.
    pub wal_retain_segments: u32,
    /// Snapshots kept (>= 1), default 2.
    pub snapshot_retain: u32,
    /// `wal-truncated-tail`, default repair.
    pub truncated_tail: TailPolicy,
    /// Rotate the data key at the first snapshot after it is this old; 0 = never (default).
    pub key_rotation_secs: u64,
    /// `pitr-retention`: WAL segments and snapshots are kept so that every state of the last
    /// this many seconds stays restorable, default 86400 (24 h); 0 = only what recovery needs.
    pub pitr_retention_secs: u64,
    /// `pitr-retention-bytes`: the most the PITR window may keep on disk (snapshots and sealed
    /// segments beyond what recovery needs); the window shrinks to fit. Default 1 GiB; 0 = no
    /// bound.
    pub pitr_retention_bytes: u64,
}

impl StorageConfig {
    /// Defaults for `data_dir`, with the embedded master key.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        StorageConfig {
            data_dir: data_dir.into(),
            master_key: MasterKeySource::Embedded,
            sync: SyncPolicy::Always,
            wal_segment_size: 64 << 20,
            wal_retain_segments: 0,
            snapshot_retain: 2,
            truncated_tail: TailPolicy::Repair,
            key_rotation_secs: 0,
            pitr_retention_secs: 86_400,
            pitr_retention_bytes: 1 << 30,
        }
    }
}

/// Receives recovered state. The keyspace implements it.
pub trait RecoverySink {
    /// Every piece of the snapshot, in order. A loader built on `keyspace::PieceLoader` must
    /// call `finish_open` before the first `apply_entry` (and after the last piece): the
    /// snapshot's last collection ends only there.
    fn load_piece(&mut self, piece: Piece);
    /// WAL entries after the snapshot, in sequence order.
    fn apply_entry(&mut self, seq: u64, effects: Vec<Effect>);
}

/// The live keyspace, read shard by shard for a fuzzy snapshot (DESIGN.md §6 design (b)).
pub trait SnapshotSource: Sync {
    fn shard_count(&self) -> usize;
    /// Calls `f` with every piece of every live key of shard `i`, holding at most that shard's
    /// lock; `f(None)` marks a point where no lock is held, where the writer encrypts and
    /// writes the chunks it has (so a big collection taken a batch per lock hold never sits
    /// whole in chunk buffers).
    fn visit_shard(&self, i: usize, f: &mut dyn FnMut(Option<&Piece>));
    /// An upper bound on the sequence of every change visible to the visits made so far
    /// (the keyspace's sequence clock).
    fn horizon(&self) -> u64;
}

/// The durable watermark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Durable {
    /// Every entry <= seq is written and fdatasync'ed.
    pub seq: u64,
    /// The WAL failed a write or fsync; `seq` will never advance again.
    pub poisoned: bool,
}

/// Result of [`Storage::snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The snapshot is consistent at this sequence (after WAL replay of later entries).
    pub seq: u64,
    /// False if nothing changed since the last snapshot at the same sequence.
    pub written: bool,
    /// Keys written (a big collection's member batches are not counted).
    pub records: u64,
    pub bytes: u64,
    pub key_id: KeyId,
    pub duration_ms: u64,
}

/// One data key, for `KEYRING STATUS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStatus {
    pub id: KeyId,
    /// Unix seconds.
    pub created_at: u64,
    pub active: bool,
    /// Data-dir-relative files that still need this key.
    pub needed_by: Vec<String>,
}

/// For `INFO persistence`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageInfo {
    pub sync_policy: SyncPolicy,
    pub durable_seq: u64,
    pub written_seq: u64,
    pub fsync_count: u64,
    pub fsync_total_us: u64,
    pub fsync_last_us: u64,
    /// Sealed segments plus the active one.
    pub segment_count: u64,
    pub wal_bytes_since_snapshot: u64,
    pub last_snapshot_seq: u64,
    /// Unix seconds of the last snapshot attempt (0 = none this run).
    pub last_snapshot_unix: u64,
    pub last_snapshot_duration_ms: u64,
    /// True unless the last snapshot attempt failed.
    pub last_snapshot_ok: bool,
    pub snapshot_in_progress: bool,
    pub truncated_tails: u64,
    pub active_key_id: KeyId,
    pub key_count: u64,
    pub poisoned: bool,
    /// The error that poisoned the WAL (empty while it is healthy).
    pub poison_error: String,
    /// The oldest sequence whose state PITR can still rebuild (0: from the empty state).
    pub pitr_window_start_seq: u64,
    /// Commit time (unix ms) of the newest entry at or before the window start, when known
    /// (0 otherwise, e.g. for the empty state).
    pub pitr_window_start_ms: u64,
    /// Bytes of the retained snapshots and sealed segments.
    pub pitr_retained_bytes: u64,
}

#[derive(Default)]
struct SnapStats {
    unix: u64,
    duration_ms: u64,
    ok: bool,
}

/// The storage engine handle, shared as `Arc<Storage>`.
pub struct Storage {
    fs: Arc<dyn FileSystem>,
    dirs: Dirs,
    master: SecretKey,
    retain_snapshots: u32,
    retain_segments: u32,
    key_rotation_secs: u64,
    pitr_retention_ms: u64,
    pitr_retention_bytes: u64,
    /// Sealed segment start -> commit time of its newest entry (from recovery; a segment
    /// sealed while running is stamped when retention first sees it, a little late, so it is
    /// kept a little longer, never shorter).
    segment_times: Mutex<BTreeMap<u64, u64>>,
    /// (window start sequence, its time in unix ms, retained bytes), for INFO.
    pitr_window: Mutex<(u64, u64, u64)>,
    shared: Arc<Shared>,
    durable_rx: watch::Receiver<Durable>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    keyring: Mutex<Keyring>,
    manifest: Mutex<Option<Manifest>>,
    /// Serializes snapshots: a second caller waits for the first, then takes its own.
    snapshot_lock: Mutex<()>,
    snapshot_in_progress: AtomicBool,
    snap_stats: Mutex<SnapStats>,
    rotation_requested: AtomicBool,
    truncated_tails: AtomicU64,
    /// Held for the life of the storage (on the real file system): no second writer.
    _lock: Option<lock::DataDirLock>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Name of the embedded master key file.
pub const MASTER_KEY_FILE: &str = "master.key";

/// Parses a master-key file image: 64 hex characters (whitespace around them allowed) or 32 raw
/// bytes. `what` names the file in errors. Public for the offline tools.
pub fn parse_key_file(bytes: &[u8], what: &str) -> Result<SecretKey, StorageError> {
    if let Some(k) = std::str::from_utf8(bytes)
        .ok()
        .and_then(SecretKey::from_hex)
    {
        return Ok(k);
    }
    let raw: [u8; 32] = bytes.try_into().map_err(|_| {
        StorageError::MasterKey(format!(
            "{what} must hold 64 hex characters or 32 raw bytes"
        ))
    })?;
    Ok(SecretKey::from_bytes(raw))
}

fn resolve_master_key(
    fs: &dyn FileSystem,
    dirs: &Dirs,
    src: &MasterKeySource,
) -> Result<SecretKey, StorageError> {
    match src {
        MasterKeySource::Hex(h) => SecretKey::from_hex(h).ok_or_else(|| {
            StorageError::MasterKey("VAYLIX_MASTER_KEY must be 64 hex characters".into())
        }),
        MasterKeySource::File(p) => {
            let b = fs
                .read_all(p)
                .map_err(|e| StorageError::io("reading master key", p, e))?;
            parse_key_file(&b, &p.display().to_string())
        }
        MasterKeySource::Embedded => {
            let p = dirs.data.join(MASTER_KEY_FILE);
            if fs
                .exists(&p)
                .map_err(|e| StorageError::io("checking", &p, e))?
            {
                let b = fs
                    .read_all(&p)
                    .map_err(|e| StorageError::io("reading master key", &p, e))?;
                return parse_key_file(&b, MASTER_KEY_FILE);
            }
            // A new key can never read what is here: generating one would only hide the real
            // problem behind "wrong master key" on every later start.
            let found = recovery::existing_data(fs, dirs)?;
            if !found.is_empty() {
                let shown: Vec<&str> = found.iter().take(4).map(String::as_str).collect();
                return Err(StorageError::MasterKey(format!(
                    "the master key is missing: expected {} (the embedded default), but the \
                     data dir already holds encrypted data ({}{}); restore that master.key, or \
                     pass --master-key-file / set VAYLIX_MASTER_KEY. No new key was generated",
                    p.display(),
                    shown.join(", "),
                    if found.len() > shown.len() {
                        ", ..."
                    } else {
                        ""
                    }
                )));
            }
            tracing::warn!(
                "no master key configured: generated {} next to the data it protects; \
                 configure --master-key-file or VAYLIX_MASTER_KEY for real protection",
                p.display()
            );
            let k = SecretKey::generate();
            fs::write_atomic(
                fs,
                &dirs.data,
                MASTER_KEY_FILE,
                format!("{}\n", k.to_hex()).as_bytes(),
            )
            .map_err(|e| StorageError::io("writing", &p, e))?;
            Ok(k)
        }
    }
}

/// Warns when other users may enter the data dir (PostgreSQL refuses such a dir; a warning
/// keeps existing deployments starting): the files are 0600, but their names, sizes and times
/// leak, and a looser mode is usually a mistake that spreads to new files' directories.
fn warn_if_accessible(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(md) = std::fs::metadata(dir) {
        let mode = md.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                "the data dir {} is accessible to its group or to other users (mode {mode:04o}); \
                 restrict it with `chmod 700 {}`",
                dir.display(),
                dir.display()
            );
        }
    }
}

impl Storage {
    /// Creates or opens the data dir, takes its lock (refused if another process holds it),
    /// runs recovery, starts the WAL writer thread.
    /// Returns the storage and the last recovered sequence.
    pub fn open(
        cfg: StorageConfig,
        sink: &mut dyn RecoverySink,
    ) -> Result<(Arc<Storage>, u64), StorageError> {
        let fs = Arc::new(RealFs);
        fs.create_dir_all(&cfg.data_dir)
            .map_err(|e| StorageError::io("creating directory", &cfg.data_dir, e))?;
        // Before anything else touches the dir: a second server must not even cut a torn tail.
        let lock = lock::DataDirLock::acquire(&cfg.data_dir)?;
        warn_if_accessible(&cfg.data_dir);
        Self::open_locked(cfg, fs, sink, Some(lock))
    }

    /// [`Storage::open`] on any file system (tests use [`fs::SimFs`]), without the lock.
    pub fn open_with_fs(
        cfg: StorageConfig,
        fs: Arc<dyn FileSystem>,
        sink: &mut dyn RecoverySink,
    ) -> Result<(Arc<Storage>, u64), StorageError> {
        Self::open_locked(cfg, fs, sink, None)
    }

    fn open_locked(
        cfg: StorageConfig,
        fs: Arc<dyn FileSystem>,
        sink: &mut dyn RecoverySink,
        lock: Option<lock::DataDirLock>,
    ) -> Result<(Arc<Storage>, u64), StorageError> {
        let dirs = Dirs::new(&cfg.data_dir);
        for d in [&dirs.data, &dirs.wal, &dirs.snapshots] {
            fs.create_dir_all(d)
                .map_err(|e| StorageError::io("creating directory", d, e))?;
        }
        fs.sync_dir(&dirs.data)
            .map_err(|e| StorageError::io("syncing directory", &dirs.data, e))?;
        let master = resolve_master_key(&*fs, &dirs, &cfg.master_key)?;
        let rec = recovery::recover(&*fs, &dirs, &master, cfg.truncated_tail, now_secs(), sink)?;
        let last = rec.last_seq;
        let (key_id, key) = rec
            .keyring
            .active()
            .map(|(id, e)| (id, e.key.clone()))
            .ok_or_else(|| StorageError::Missing {
                file: keyring::KEYRING_FILE.into(),
                detail: "no active key".into(),
            })?;
        let seg = match &rec.active {
            Some((start, keys)) => {
                SegmentWriter::open_existing(fs.clone(), &dirs.wal, *start, last + 1, keys.clone())?
            }
            None => SegmentWriter::create(fs.clone(), &dirs.wal, last + 1)?,
        };
        let shared = Arc::new(Shared::new(last, cfg.sync, rec.index));
        let writer = Writer {
            shared: shared.clone(),
            seg: Some(seg),
            key_id,
            key,
            segment_size: cfg.wal_segment_size.max(1),
            fs: fs.clone(),
            wal_dir: dirs.wal.clone(),
            last_time_ms: rec.last_frame_time_ms,
        };
        let thread = std::thread::Builder::new()
            .name("vaylix-wal".into())
            .spawn(move || writer.run())
            .map_err(|e| StorageError::io("spawning the WAL writer thread for", &dirs.wal, e))?;
        let durable_rx = shared.durable_tx.subscribe();
        let st = Storage {
            fs,
            dirs,
            master,
            retain_snapshots: cfg.snapshot_retain.max(1),
            retain_segments: cfg.wal_retain_segments,
            key_rotation_secs: cfg.key_rotation_secs,
            pitr_retention_ms: cfg.pitr_retention_secs.saturating_mul(1000),
            pitr_retention_bytes: cfg.pitr_retention_bytes,
            segment_times: Mutex::new(rec.segment_times),
            pitr_window: Mutex::new((0, 0, 0)),
            shared,
            durable_rx,
            thread: Mutex::new(Some(thread)),
            keyring: Mutex::new(rec.keyring),
            manifest: Mutex::new(rec.manifest),
            snapshot_lock: Mutex::new(()),
            snapshot_in_progress: AtomicBool::new(false),
            snap_stats: Mutex::new(SnapStats {
                ok: true,
                ..SnapStats::default()
            }),
            rotation_requested: AtomicBool::new(false),
            truncated_tails: AtomicU64::new(rec.truncated_tails),
            _lock: lock,
        };
        let st = Arc::new(st);
        let base = {
            let idx = st.shared.index.lock();
            st.pitr_base_now(&idx)
        };
        st.update_pitr_window(base);
        Ok((st, last))
    }

    /// Hands one WAL entry to the writer (never blocks on I/O). Sequences must be dense after
    /// the recovered one; early arrivals wait until the gap before them is filled.
    pub fn submit(&self, seq: u64, effects: Vec<Effect>) {
        self.shared.submit(seq, effects);
    }

    /// Watch channel of the durable watermark.
    pub fn durable(&self) -> watch::Receiver<Durable> {
        self.durable_rx.clone()
    }

    /// Resolves once every entry <= `seq` is durable (true) or the WAL is poisoned (false).
    /// Wakes only when the watermark covers `seq`.
    pub fn wait_durable(&self, seq: u64) -> writer::MarkWait<'_> {
        self.shared.wait_for(writer::Mark::Durable, seq)
    }

    /// Resolves once every entry <= `seq` is written to the WAL file, durable or not (true),
    /// or the WAL is poisoned (false): what a reply waits for under `everysec`/`no`.
    pub fn wait_written(&self, seq: u64) -> writer::MarkWait<'_> {
        self.shared.wait_for(writer::Mark::Written, seq)
    }

    /// Highest sequence written to the file (not necessarily synced).
    pub fn written_seq(&self) -> u64 {
        self.shared.written.load(Ordering::SeqCst)
    }

    pub fn is_poisoned(&self) -> bool {
        self.shared.poisoned.load(Ordering::SeqCst)
    }

    pub fn set_sync_policy(&self, p: SyncPolicy) {
        self.shared.set_policy(p);
    }

    pub fn sync_policy(&self) -> SyncPolicy {
        self.shared.policy()
    }

    /// `latency-monitor-threshold`: WAL fsyncs of at least `ms` are kept for
    /// [`Storage::take_slow_fsyncs`] (0: none).
    pub fn set_latency_threshold(&self, ms: u64) {
        self.shared.stats.slow_fsync_ms.store(ms, Ordering::Relaxed);
    }

    /// The slow fsyncs since the last call: (unix seconds, milliseconds).
    pub fn take_slow_fsyncs(&self) -> Vec<(u64, u64)> {
        std::mem::take(&mut *self.shared.stats.slow_fsyncs.lock())
    }

    /// Asks for a new active data key at the next snapshot (`KEYRING ROTATE`).
    pub fn request_key_rotation(&self) {
        self.rotation_requested.store(true, Ordering::SeqCst);
    }

    /// Takes a snapshot (blocking; run it on a background thread). Seals the WAL at S, visits
    /// every shard, writes `snapshots/<S>.snap`, commits the manifest, prunes per retention and
    /// retires keys no retained file needs. Concurrent callers are serialized: a second caller
    /// waits for the running snapshot to finish and then takes its own.
    pub fn snapshot(&self, src: &dyn SnapshotSource) -> Result<SnapshotInfo, StorageError> {
        let _g = self.snapshot_lock.lock();
        self.snapshot_in_progress.store(true, Ordering::SeqCst);
        let t = Instant::now();
        let r = self.snapshot_inner(src, t);
        let duration_ms = u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX);
        *self.snap_stats.lock() = SnapStats {
            unix: now_secs(),
            duration_ms,
            ok: r.is_ok(),
        };
        self.snapshot_in_progress.store(false, Ordering::SeqCst);
        if let Err(e) = &r {
            tracing::error!("snapshot failed: {e}");
        }
        r
    }

    fn snapshot_inner(
        &self,
        src: &dyn SnapshotSource,
        t: Instant,
    ) -> Result<SnapshotInfo, StorageError> {
        if self.is_poisoned() {
            return Err(StorageError::Poisoned);
        }
        // 1. Key rotation, durable in the keyring before any file uses the new key.
        let age_due = {
            let kr = self.keyring.lock();
            self.key_rotation_secs > 0
                && kr.active().is_some_and(|(_, e)| {
                    now_secs().saturating_sub(e.created_at) >= self.key_rotation_secs
                })
        };
        if self.rotation_requested.swap(false, Ordering::SeqCst) || age_due {
            let mut kr = self.keyring.lock().clone();
            let id = kr.rotate(now_secs());
            if let Err(e) = kr.store(&*self.fs, &self.dirs.data, &self.master) {
                self.rotation_requested.store(true, Ordering::SeqCst);
                return Err(e);
            }
            let key = kr.get(id).cloned().ok_or(StorageError::ShutDown)?;
            *self.keyring.lock() = kr;
            self.shared.command(Cmd::SetKey(id, key));
            tracing::info!("rotated the active data key to {id}");
        }
        // 2. Seal the WAL at S.
        let (tx, rx) = mpsc::channel();
        self.shared.command(Cmd::Seal(tx));
        let s = rx.recv().map_err(|_| StorageError::ShutDown)??;
        self.shared
            .stats
            .wal_bytes_since_snapshot
            .store(0, Ordering::Relaxed);
        let (key_id, key) = {
            let kr = self.keyring.lock();
            kr.active()
                .map(|(id, e)| (id, e.key.clone()))
                .ok_or(StorageError::ShutDown)?
        };
        let current = self.manifest.lock().as_ref().map(|m| m.snapshot_seq);
        if s == 0 || current == Some(s) {
            return Ok(SnapshotInfo {
                seq: s,
                written: false,
                records: 0,
                bytes: 0,
                key_id,
                duration_ms: 0,
            });
        }
        // 3. Fuzzy snapshot: one shard lock at a time; encryption and I/O outside the locks.
        let mut w = SnapshotWriter::create(self.fs.clone(), &self.dirs.snapshots, s, key_id, key)?;
        for i in 0..src.shard_count() {
            let mut err = None;
            src.visit_shard(i, &mut |p| {
                if err.is_none() {
                    err = match p {
                        Some(p) => w.add_piece(p).err(),
                        None => w.flush_ready().err(),
                    };
                }
            });
            if let Some(e) = err {
                return Err(e);
            }
            w.flush_ready()?;
        }
        let info = w.finish(Some(src.horizon()))?;
        // 4. Plan retention, commit the manifest, then prune.
        let (doomed_snaps, doomed_segs, oldest_retained) = self.plan_retention(s, key_id);
        let m = Manifest {
            snapshot_seq: s,
            snapshot_len: info.len,
            snapshot_sha256: info.sha256,
            snapshot_key_id: key_id,
            wal_start: s + 1,
            oldest_retained_seq: oldest_retained,
            created_unix_ms: now_ms(),
        };
        m.store(&*self.fs, &self.dirs.data, &self.master)?;
        *self.manifest.lock() = Some(m);
        self.prune(&doomed_snaps, &doomed_segs)?;
        self.retire_keys()?;
        Ok(SnapshotInfo {
            seq: s,
            written: true,
            records: info.keys,
            bytes: info.len,
            key_id,
            duration_ms: u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }

    /// Adds snapshot `s` to the index and decides what pruning may delete once the manifest
    /// naming `s` is committed: (snapshots, sealed segments, oldest retained WAL sequence).
    ///
    /// Recovery needs the newest `snapshot-retain` snapshots and the WAL after the oldest of
    /// them. PITR retention keeps more: a base (the newest snapshot at or before the window's
    /// start, or the empty state while the WAL reaches back to sequence 1) and every file after
    /// it, where the window starts at the last entry older than `pitr-retention`; if that
    /// exceeds `pitr-retention-bytes`, the base moves forward, snapshot by snapshot, until it
    /// fits or reaches what recovery needs. `wal-retain-segments` extra sealed segments are
    /// kept on top, as before.
    fn plan_retention(&self, s: u64, key_id: KeyId) -> (Vec<u64>, Vec<(u64, u64)>, u64) {
        let mut idx = self.shared.index.lock();
        idx.snapshots.insert(s, key_id);
        let base = self.pitr_base_now(&idx);
        let doomed_snaps: Vec<u64> = idx
            .snapshots
            .keys()
            .copied()
            .filter(|q| *q < base)
            .collect();
        let n_sealed = idx.sealed.len();
        let doomed_segs: Vec<(u64, u64)> = idx
            .sealed
            .iter()
            .enumerate()
            .filter(|(i, (_, (end, _, _)))| {
                *end <= base && n_sealed - i > self.retain_segments as usize
            })
            .map(|(_, (start, (end, _, _)))| (*start, *end))
            .collect();
        let oldest = idx
            .sealed
            .keys()
            .copied()
            .find(|st| !doomed_segs.iter().any(|(d, _)| d == st))
            .unwrap_or(idx.active_start);
        drop(idx);
        self.update_pitr_window(base);
        (doomed_snaps, doomed_segs, oldest)
    }

    /// The restore base retention keeps everything after (see [`Storage::plan_retention`]).
    fn pitr_base_now(&self, idx: &writer::FileIndex) -> u64 {
        let now = now_ms();
        let mut times = self.segment_times.lock();
        times.retain(|st, _| idx.sealed.contains_key(st));
        for st in idx.sealed.keys() {
            times.entry(*st).or_insert(now);
        }
        // What recovery needs: the oldest of the newest `snapshot-retain` snapshots.
        let newest = idx.snapshots.keys().next_back().copied().unwrap_or(0);
        let needed = idx
            .snapshots
            .keys()
            .rev()
            .nth(self.retain_snapshots as usize - 1)
            .or_else(|| idx.snapshots.keys().next())
            .copied()
            .unwrap_or(newest);
        // The window starts after the newest sealed segment older than the retention.
        let window_start_ms = now.saturating_sub(self.pitr_retention_ms);
        let old_end = idx
            .sealed
            .iter()
            .filter(|(st, _)| times.get(st).is_some_and(|t| *t <= window_start_ms))
            .map(|(_, (end, _, _))| *end)
            .max()
            .unwrap_or(0);
        let wal_from_one = idx.sealed.keys().next().map_or(idx.active_start, |st| *st) == 1;
        let mut base = idx
            .snapshots
            .keys()
            .copied()
            .filter(|q| *q <= old_end)
            .max()
            .or(if wal_from_one { Some(0) } else { None })
            .or_else(|| idx.snapshots.keys().next().copied())
            .unwrap_or(newest)
            .min(needed);
        if self.pitr_retention_bytes > 0 {
            let snap_len = |q: u64| {
                self.fs
                    .len(&self.dirs.snapshots.join(snapshot_file_name(q)))
                    .unwrap_or(0)
            };
            while base < needed
                && self.retained_bytes(idx, base, &snap_len) > self.pitr_retention_bytes
            {
                base = idx
                    .snapshots
                    .range(base + 1..)
                    .next()
                    .map_or(needed, |(q, _)| *q)
                    .min(needed);
            }
        }
        base
    }

    /// Bytes of the snapshots at or after `base` and the sealed segments ending after it.
    fn retained_bytes(
        &self,
        idx: &writer::FileIndex,
        base: u64,
        snap_len: &dyn Fn(u64) -> u64,
    ) -> u64 {
        let snaps: u64 = idx.snapshots.range(base..).map(|(q, _)| snap_len(*q)).sum();
        let segs: u64 = idx
            .sealed
            .values()
            .filter(|(end, _, _)| *end > base)
            .map(|(_, _, len)| *len)
            .sum();
        snaps + segs
    }

    /// Records the window for INFO: its start, the time of that start, the bytes kept for it.
    fn update_pitr_window(&self, base: u64) {
        let idx = self.shared.index.lock();
        let times = self.segment_times.lock();
        let time = idx
            .sealed
            .iter()
            .find(|(_, (end, _, _))| *end == base)
            .and_then(|(st, _)| times.get(st).copied())
            .unwrap_or(0);
        let snap_len = |q: u64| {
            self.fs
                .len(&self.dirs.snapshots.join(snapshot_file_name(q)))
                .unwrap_or(0)
        };
        let bytes = self.retained_bytes(&idx, base, &snap_len);
        *self.pitr_window.lock() = (base, time, bytes);
    }

    /// Starts a restore: waits for a running snapshot and keeps snapshots out until the ticket
    /// is committed or dropped. Take it **before** the keyspace write barrier (a snapshot visits
    /// shards while holding the snapshot lock, so the other order could deadlock).
    pub fn begin_restore(&self) -> RestoreTicket<'_> {
        RestoreTicket {
            st: self,
            _guard: self.snapshot_lock.lock(),
        }
    }

    fn prune(&self, snaps: &[u64], segs: &[(u64, u64)]) -> Result<(), StorageError> {
        for q in snaps {
            let p = self.dirs.snapshots.join(snapshot_file_name(*q));
            self.fs
                .remove(&p)
                .map_err(|e| StorageError::io("removing", &p, e))?;
            self.shared.index.lock().snapshots.remove(q);
        }
        if !snaps.is_empty() {
            self.fs
                .sync_dir(&self.dirs.snapshots)
                .map_err(|e| StorageError::io("syncing directory", &self.dirs.snapshots, e))?;
        }
        for (start, end) in segs {
            let p = self.dirs.wal.join(
                SegmentName::Sealed {
                    start: *start,
                    end: *end,
                }
                .file_name(),
            );
            self.fs
                .remove(&p)
                .map_err(|e| StorageError::io("removing", &p, e))?;
            self.shared.index.lock().sealed.remove(start);
        }
        if !segs.is_empty() {
            self.fs
                .sync_dir(&self.dirs.wal)
                .map_err(|e| StorageError::io("syncing directory", &self.dirs.wal, e))?;
        }
        Ok(())
    }

    /// Removes keys no retained file needs (after their last file's removal is durable).
    fn retire_keys(&self) -> Result<(), StorageError> {
        let needed: BTreeSet<KeyId> = {
            let idx = self.shared.index.lock();
            idx.snapshots
                .values()
                .copied()
                .chain(idx.sealed.values().flat_map(|(_, k, _)| k.iter().copied()))
                .chain(idx.active_keys.iter().copied())
                .collect()
        };
        let mut kr = self.keyring.lock().clone();
        let gone = kr.retire_unneeded(&needed);
        if !gone.is_empty() {
            kr.store(&*self.fs, &self.dirs.data, &self.master)?;
            tracing::info!("retired data keys {gone:?}");
            *self.keyring.lock() = kr;
        }
        Ok(())
    }

    /// Every data key: id, creation time, active flag, files still needing it.
    pub fn keyring_status(&self) -> Vec<KeyStatus> {
        let idx = self.shared.index.lock().clone();
        let kr = self.keyring.lock();
        kr.entries()
            .map(|(id, e)| {
                let mut needed_by: Vec<String> = idx
                    .snapshots
                    .iter()
                    .filter(|(_, k)| **k == id)
                    .map(|(s, _)| format!("snapshots/{}", snapshot_file_name(*s)))
                    .collect();
                needed_by.extend(
                    idx.sealed
                        .iter()
                        .filter(|(_, (_, ks, _))| ks.contains(&id))
                        .map(|(s, (end, _, _))| {
                            SegmentName::Sealed {
                                start: *s,
                                end: *end,
                            }
                            .rel()
                        }),
                );
                if idx.active_keys.contains(&id) {
                    needed_by.push(
                        SegmentName::Active {
                            start: idx.active_start,
                        }
                        .rel(),
                    );
                }
                KeyStatus {
                    id,
                    created_at: e.created_at,
                    active: id == kr.active_id(),
                    needed_by,
                }
            })
            .collect()
    }

    /// Numbers for `INFO persistence`.
    pub fn info(&self) -> StorageInfo {
        let st = &self.shared.stats;
        let snap = self.snap_stats.lock();
        let (active_key_id, key_count) = {
            let kr = self.keyring.lock();
            (kr.active_id(), kr.entries().count() as u64)
        };
        let pitr = *self.pitr_window.lock();
        StorageInfo {
            sync_policy: self.sync_policy(),
            durable_seq: self.shared.durable_seq.load(Ordering::SeqCst),
            written_seq: self.written_seq(),
            fsync_count: st.fsyncs.load(Ordering::Relaxed),
            fsync_total_us: st.fsync_total_us.load(Ordering::Relaxed),
            fsync_last_us: st.fsync_last_us.load(Ordering::Relaxed),
            segment_count: self.shared.index.lock().sealed.len() as u64 + 1,
            wal_bytes_since_snapshot: st.wal_bytes_since_snapshot.load(Ordering::Relaxed),
            last_snapshot_seq: self.manifest.lock().as_ref().map_or(0, |m| m.snapshot_seq),
            last_snapshot_unix: snap.unix,
            last_snapshot_duration_ms: snap.duration_ms,
            last_snapshot_ok: snap.ok,
            snapshot_in_progress: self.snapshot_in_progress.load(Ordering::SeqCst),
            truncated_tails: self.truncated_tails.load(Ordering::Relaxed),
            active_key_id,
            key_count,
            poisoned: self.is_poisoned(),
            poison_error: self.shared.poison_error.lock().clone(),
            pitr_window_start_seq: pitr.0,
            pitr_window_start_ms: pitr.1,
            pitr_retained_bytes: pitr.2,
        }
    }

    /// Graceful stop: writes and fdatasyncs everything submitted (contiguously), stops the
    /// writer thread. Idempotent. Errors if the WAL is poisoned.
    pub fn shutdown(&self) -> Result<(), StorageError> {
        self.shared.request_shutdown();
        if let Some(h) = self.thread.lock().take() {
            if h.join().is_err() {
                tracing::error!("WAL writer thread panicked");
                return Err(StorageError::Poisoned);
            }
        }
        if self.is_poisoned() {
            return Err(StorageError::Poisoned);
        }
        Ok(())
    }

    /// Asks the writer to fdatasync everything written so far, whatever the sync policy
    /// (WAITAOF under `everysec`/`no`). Returns at once; watch [`Storage::durable`].
    pub fn request_sync(&self) {
        self.shared.command(Cmd::Sync);
    }

    /// The data dir.
    pub fn data_dir(&self) -> &Path {
        &self.dirs.data
    }
}

/// What a committed restore baseline looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreInfo {
    /// The baseline sequence: the new snapshot's; the WAL continues at `seq + 1`.
    pub seq: u64,
    pub records: u64,
    pub bytes: u64,
}

/// A failed restore: `committed` says whether the new baseline is durable anyway (the manifest
/// was replaced before a later step failed; the WAL is then poisoned and a restart shows the
/// restored state).
#[derive(Debug)]
pub struct RestoreFailure {
    pub error: StorageError,
    pub committed: bool,
}

/// Exclusive permission to install a restore baseline (holds the snapshot lock).
pub struct RestoreTicket<'a> {
    st: &'a Storage,
    _guard: parking_lot::MutexGuard<'a, ()>,
}

impl RestoreTicket<'_> {
    /// Installs `records` as the new durable state at sequence `seq` (docs/storage-format.md
    /// §9): seal the WAL at S_old, write `snapshots/<seq>.snap`, commit the manifest (the
    /// atomic switch), start `wal/active-<seq+1>.wal`, prune per retention.
    ///
    /// The caller must hold a global write barrier (every shard locked, so every reserved
    /// sequence is already submitted) for the whole call, and `seq` must be greater than every
    /// sequence handed out so far. A failure before the manifest is replaced leaves the previous
    /// state durable and untouched.
    pub fn commit(
        self,
        seq: u64,
        functions: &[bytes::Bytes],
        records: &mut dyn Iterator<Item = &Record>,
    ) -> Result<RestoreInfo, RestoreFailure> {
        let before = |error| RestoreFailure {
            error,
            committed: false,
        };
        let after = |error| RestoreFailure {
            error,
            committed: true,
        };
        let st = self.st;
        if st.is_poisoned() {
            return Err(before(StorageError::Poisoned));
        }
        // 1. Everything up to S_old written, fsynced and sealed.
        let (tx, rx) = mpsc::channel();
        st.shared.command(Cmd::Seal(tx));
        let s_old = rx
            .recv()
            .map_err(|_| before(StorageError::ShutDown))?
            .map_err(before)?;
        crate::keyspace::clock::check_stored_seq(|| "restore baseline".into(), seq).map_err(
            |source| {
                before(StorageError::VersionBound {
                    file: "manifest".into(),
                    source,
                })
            },
        )?;
        if seq <= s_old {
            return Err(before(StorageError::Encode {
                op: "installing a restore baseline",
                detail: format!("baseline {seq} is not past the WAL's last sequence {s_old}"),
            }));
        }
        let (key_id, key) = {
            let kr = st.keyring.lock();
            kr.active()
                .map(|(id, e)| (id, e.key.clone()))
                .ok_or(before(StorageError::ShutDown))?
        };
        // 2. The baseline snapshot, durable under its final name (not yet committed).
        let written = (|| {
            let mut w =
                SnapshotWriter::create(st.fs.clone(), &st.dirs.snapshots, seq, key_id, key)?;
            if !functions.is_empty() {
                w.add_piece(&Piece::Functions {
                    version: seq,
                    libraries: functions.to_vec(),
                })?;
            }
            for (i, r) in records.enumerate() {
                let mut err = None;
                crate::keyspace::record_pieces(r, &mut |p| {
                    if err.is_none() {
                        err = w.add_piece(p).err();
                    }
                });
                if let Some(e) = err {
                    return Err(e);
                }
                if i % 1024 == 1023 {
                    w.flush_ready()?;
                }
            }
            w.finish(Some(seq))
        })();
        let info = match written {
            Ok(i) => i,
            Err(e) => {
                let name = snapshot_file_name(seq);
                for p in [
                    st.dirs.snapshots.join(&name),
                    st.dirs.snapshots.join(format!("{name}.tmp")),
                ] {
                    let _ = st.fs.remove(&p);
                }
                return Err(before(e));
            }
        };
        // 3. The switch: the manifest names the baseline.
        let (doomed_snaps, doomed_segs, oldest_retained) = st.plan_retention(seq, key_id);
        let m = Manifest {
            snapshot_seq: seq,
            snapshot_len: info.len,
            snapshot_sha256: info.sha256,
            snapshot_key_id: key_id,
            wal_start: seq + 1,
            oldest_retained_seq: oldest_retained,
            created_unix_ms: now_ms(),
        };
        if let Err(e) = m.store(&*st.fs, &st.dirs.data, &st.master) {
            st.shared.index.lock().snapshots.remove(&seq);
            return Err(before(e));
        }
        *st.manifest.lock() = Some(m);
        // 4. The WAL continues after the baseline.
        let (tx, rx) = mpsc::channel();
        st.shared.command(Cmd::Rebase(seq + 1, tx));
        rx.recv()
            .map_err(|_| after(StorageError::ShutDown))?
            .map_err(after)?;
        st.shared
            .stats
            .wal_bytes_since_snapshot
            .store(0, Ordering::Relaxed);
        // 5. Retention, as after a snapshot. Failing here loses nothing.
        if let Err(e) = st
            .prune(&doomed_snaps, &doomed_segs)
            .and_then(|()| st.retire_keys())
        {
            tracing::warn!("pruning after the restore baseline failed: {e}");
        }
        *st.snap_stats.lock() = SnapStats {
            unix: now_secs(),
            duration_ms: 0,
            ok: true,
        };
        Ok(RestoreInfo {
            seq,
            records: info.keys,
            bytes: info.len,
        })
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

//! The WAL writer thread: group commit.
//!
//! Owns: the active [`SegmentWriter`], the queue of submitted entries, and publishing the
//! written and durable watermarks. Submitters serialize their entry (msgpack, on their own
//! thread, so it is freed where it was allocated); each round the writer takes every contiguous
//! submitted entry and seals them into as few frames as possible (encryption and checksums
//! happen here, never on a command thread), writes them with one write call and publishes the
//! written sequence, fdatasyncs once (per the sync policy), and only then publishes the durable
//! sequence (each publish wakes only the waiters it covers: replies wait for durable under
//! `always`, for written under `everysec`/`no`); while it syncs, submitters keep filling the
//! queue for the next round.
//! Invariants: entries reach the file in sequence order with no gaps (early arrivals wait in the
//! queue); `durable <= written`; durable only covers bytes that were fdatasync'ed; the first
//! failed write or fsync poisons the WAL for good (never retried, nothing later is written,
//! durable never advances again). Segments rotate only between frames, when the active segment
//! reaches `wal_segment_size`, or when a snapshot asks for a seal.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use tokio::sync::watch;

use super::crypto::{KeyId, SecretKey};
use super::error::{Result, StorageError};
use super::wal::{
    encode_entry, seal_wal_frames, EncodedEntry, SegmentName, SegmentWriter, FRAME_PLAINTEXT_CAP,
};
use super::{Durable, SyncPolicy};
use crate::keyspace::Effect;

/// A request from the rest of the engine to the writer thread.
pub(crate) enum Cmd {
    /// Use this data key for every later frame.
    SetKey(KeyId, SecretKey),
    /// Write everything contiguous, seal the active segment, open a new one; reply with the
    /// sealed-at sequence S.
    Seal(mpsc::Sender<Result<u64>>),
    /// fdatasync what is written now, whatever the policy (WAITAOF under everysec/no).
    Sync,
    /// Restore baseline (see `Storage::begin_restore`): the committed manifest now names a
    /// snapshot at `next - 1`, past everything written. Drop the (empty) active segment, start
    /// `active-<next>.wal`, and continue the sequence at `next`. Requires that nothing was
    /// submitted since the last seal (the caller holds a global write barrier).
    Rebase(u64, mpsc::Sender<Result<()>>),
}

pub(crate) struct Queue {
    /// Slot `i` holds entry `next + i` once submitted (entries can arrive out of order; `None`
    /// marks one not yet submitted). Never ends in `None`.
    pending: VecDeque<Option<Vec<u8>>>,
    /// The next sequence the writer will take.
    next: u64,
    /// How many slots from the front are filled (ready to write).
    ready: usize,
    /// The writer sleeps until this many entries are ready (0: it is not waiting for entries).
    /// Submitters wake it only when that is reached, so a burst of entries costs one wake-up.
    want: usize,
    cmds: VecDeque<Cmd>,
    shutdown: bool,
}

impl Queue {
    /// Entries ready to write: contiguous from `next`.
    fn ready(&self) -> usize {
        self.ready
    }

    fn insert(&mut self, seq: u64, entry: Vec<u8>) {
        let Ok(i) = usize::try_from(seq - self.next) else {
            return;
        };
        if i >= self.pending.len() {
            self.pending.resize_with(i + 1, || None);
        }
        if let Some(slot) = self.pending.get_mut(i) {
            *slot = Some(entry);
        }
        self.count_ready();
    }

    /// Extends `ready` over the filled slots that follow it.
    fn count_ready(&mut self) {
        while self.pending.get(self.ready).is_some_and(Option::is_some) {
            self.ready += 1;
        }
    }

    /// Takes every ready entry.
    fn take_ready(&mut self) -> Vec<EncodedEntry> {
        let n = self.ready;
        let mut out = Vec::with_capacity(n);
        for (i, slot) in self.pending.drain(..n).enumerate() {
            if let Some(b) = slot {
                out.push((self.next + i as u64, b));
            }
        }
        self.next += n as u64;
        self.ready = 0;
        self.count_ready();
        out
    }
}

/// What the engine knows about the files on disk (for retention, key retirement and INFO).
#[derive(Default, Debug, Clone)]
pub(crate) struct FileIndex {
    /// Sealed segments by start: (end, key ids, bytes).
    pub sealed: BTreeMap<u64, (u64, BTreeSet<KeyId>, u64)>,
    pub active_start: u64,
    pub active_keys: BTreeSet<KeyId>,
    /// Snapshots by sequence: the key they are sealed with.
    pub snapshots: BTreeMap<u64, KeyId>,
}

/// Under `always`, the longest the writer holds a batch open for more writers, whatever the
/// fsync time (see [`Writer::run`]).
const MAX_GROUP_DELAY: Duration = Duration::from_millis(1);
/// Under `everysec`/`no`, the longest the writer holds a batch open for more writers before
/// one write(2) takes them all (replies wait for that write), and the most entries it waits
/// for (see [`Writer::run`]).
const LAZY_DELAY: Duration = Duration::from_millis(1);
const LAZY_BATCH: usize = 2048;

/// Counters for INFO.
#[derive(Default)]
pub(crate) struct Stats {
    pub fsyncs: AtomicU64,
    pub fsync_total_us: AtomicU64,
    pub fsync_last_us: AtomicU64,
    pub wal_bytes_since_snapshot: AtomicU64,
    /// `latency-monitor-threshold` in ms (0: off), and the fsyncs that took at least that
    /// long, (unix seconds, ms), until the server collects them (bounded).
    pub slow_fsync_ms: AtomicU64,
    pub slow_fsyncs: Mutex<Vec<(u64, u64)>>,
}

/// State shared by the writer thread and the [`Storage`](super::Storage) handle.
pub(crate) struct Shared {
    queue: Mutex<Queue>,
    cv: Condvar,
    pub written: AtomicU64,
    pub durable_seq: AtomicU64,
    pub poisoned: AtomicBool,
    /// The first error that poisoned the WAL, for INFO.
    pub poison_error: Mutex<String>,
    policy: AtomicU8,
    pub durable_tx: watch::Sender<Durable>,
    /// Tasks waiting for the durable watermark to reach a sequence: only those whose sequence
    /// a publish covers are woken (the watch channel would wake every waiting connection).
    waiters: Mutex<Vec<(u64, Waker)>>,
    /// The same for the written watermark (replies under `everysec`/`no`).
    written_waiters: Mutex<Vec<(u64, Waker)>>,
    pub stats: Stats,
    pub index: Mutex<FileIndex>,
}

fn policy_to_u8(p: SyncPolicy) -> u8 {
    match p {
        SyncPolicy::Always => 0,
        SyncPolicy::EverySec => 1,
        SyncPolicy::No => 2,
    }
}

impl Shared {
    pub fn new(last_seq: u64, policy: SyncPolicy, index: FileIndex) -> Self {
        let (durable_tx, _) = watch::channel(Durable {
            seq: last_seq,
            poisoned: false,
        });
        Shared {
            queue: Mutex::new(Queue {
                pending: VecDeque::new(),
                next: last_seq + 1,
                ready: 0,
                want: 0,
                cmds: VecDeque::new(),
                shutdown: false,
            }),
            cv: Condvar::new(),
            written: AtomicU64::new(last_seq),
            durable_seq: AtomicU64::new(last_seq),
            poisoned: AtomicBool::new(false),
            poison_error: Mutex::new(String::new()),
            policy: AtomicU8::new(policy_to_u8(policy)),
            durable_tx,
            waiters: Mutex::new(Vec::new()),
            written_waiters: Mutex::new(Vec::new()),
            stats: Stats::default(),
            index: Mutex::new(index),
        }
    }

    pub fn policy(&self) -> SyncPolicy {
        match self.policy.load(Ordering::Relaxed) {
            0 => SyncPolicy::Always,
            1 => SyncPolicy::EverySec,
            _ => SyncPolicy::No,
        }
    }

    pub fn set_policy(&self, p: SyncPolicy) {
        self.policy.store(policy_to_u8(p), Ordering::Relaxed);
        let _q = self.queue.lock();
        self.cv.notify_one();
    }

    /// Serializes and queues one entry; wakes the writer only when it can make progress.
    pub fn submit(&self, seq: u64, effects: Vec<Effect>) {
        if self.poisoned.load(Ordering::Relaxed) {
            return;
        }
        let mut bytes = Vec::with_capacity(64);
        if let Err(e) = encode_entry(seq, &effects, &mut bytes) {
            // The sequence can never be written: nothing after it may be either.
            self.poison(&e);
            return;
        }
        drop(effects);
        let mut q = self.queue.lock();
        if q.shutdown || seq < q.next {
            return;
        }
        q.insert(seq, bytes);
        if q.want > 0 && q.ready() >= q.want {
            q.want = 0;
            self.cv.notify_one();
        }
    }

    /// Queues a command. After shutdown the command is dropped, so a waiting `Seal` caller
    /// sees its reply channel close (reported as `ShutDown`) instead of hanging.
    pub fn command(&self, c: Cmd) {
        let mut q = self.queue.lock();
        if q.shutdown {
            return;
        }
        q.cmds.push_back(c);
        drop(q);
        self.cv.notify_one();
    }

    pub fn request_shutdown(&self) {
        self.queue.lock().shutdown = true;
        self.cv.notify_one();
    }

    fn poison(&self, err: &StorageError) {
        tracing::error!("WAL poisoned: {err}");
        {
            let mut first = self.poison_error.lock();
            if first.is_empty() {
                // INFO shows it on one line.
                *first = err.to_string().replace(['\r', '\n'], " ");
            }
        }
        self.poisoned.store(true, Ordering::SeqCst);
        let seq = self.durable_seq.load(Ordering::SeqCst);
        self.durable_tx.send_replace(Durable {
            seq,
            poisoned: true,
        });
        self.wake_waiters(Mark::Durable, u64::MAX);
        self.wake_waiters(Mark::Written, u64::MAX);
    }

    fn publish_durable(&self, seq: u64) {
        self.durable_seq.store(seq, Ordering::SeqCst);
        let poisoned = self.poisoned.load(Ordering::SeqCst);
        self.durable_tx.send_replace(Durable { seq, poisoned });
        self.wake_waiters(Mark::Durable, seq);
    }

    /// Everything <= `seq` is in the file (handed to the kernel by write(2)).
    fn publish_written(&self, seq: u64) {
        self.written.store(seq, Ordering::SeqCst);
        self.wake_waiters(Mark::Written, seq);
    }

    fn waiters(&self, mark: Mark) -> &Mutex<Vec<(u64, Waker)>> {
        match mark {
            Mark::Written => &self.written_waiters,
            Mark::Durable => &self.waiters,
        }
    }

    /// Wakes the waiters of `mark` whose sequence is <= `seq` (their futures then read the
    /// watermark).
    fn wake_waiters(&self, mark: Mark, seq: u64) {
        let ready: Vec<Waker> = {
            let mut w = self.waiters(mark).lock();
            if w.is_empty() {
                return;
            }
            w.extract_if(.., |(s, _)| *s <= seq)
                .map(|(_, k)| k)
                .collect()
        };
        for k in ready {
            k.wake();
        }
    }

    /// Resolves once watermark `mark` covers `seq` (true) or the WAL is poisoned (false).
    pub fn wait_for(&self, mark: Mark, seq: u64) -> MarkWait<'_> {
        MarkWait {
            sh: self,
            mark,
            seq,
        }
    }
}

/// A watermark the writer publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Written to the segment file (write(2) returned): survives a process crash.
    Written,
    /// Written and fdatasync'ed: survives a power cut.
    Durable,
}

/// See [`Shared::wait_for`].
pub struct MarkWait<'a> {
    sh: &'a Shared,
    mark: Mark,
    seq: u64,
}

impl MarkWait<'_> {
    fn check(&self) -> Option<bool> {
        let at = match self.mark {
            Mark::Written => &self.sh.written,
            Mark::Durable => &self.sh.durable_seq,
        };
        if at.load(Ordering::SeqCst) >= self.seq {
            Some(true)
        } else if self.sh.poisoned.load(Ordering::SeqCst) {
            Some(false)
        } else {
            None
        }
    }
}

impl Future for MarkWait<'_> {
    type Output = bool;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        if let Some(r) = self.check() {
            return Poll::Ready(r);
        }
        let mut w = self.sh.waiters(self.mark).lock();
        // Publishers store the watermark before they take this lock: checking again under it
        // means no publish can slip between the check and the registration.
        if let Some(r) = self.check() {
            return Poll::Ready(r);
        }
        w.push((self.seq, cx.waker().clone()));
        Poll::Pending
    }
}

/// The writer thread's own state.
pub(crate) struct Writer {
    pub shared: Arc<Shared>,
    pub seg: Option<SegmentWriter>,
    pub key_id: KeyId,
    pub key: SecretKey,
    pub segment_size: u64,
    pub fs: Arc<dyn super::fs::FileSystem>,
    pub wal_dir: std::path::PathBuf,
    /// Time stamped on the previous frame (unix ms): frame times never go backwards, even
    /// when the wall clock does.
    pub last_time_ms: u64,
}

impl Writer {
    /// Runs until shutdown.
    pub fn run(mut self) {
        let sh = self.shared.clone();
        let mut last_sync = Instant::now();
        // Size of the previous batch.
        let mut prev_batch = 0usize;
        let mut written = sh.written.load(Ordering::SeqCst);
        let mut synced = written;
        loop {
            let (batch, cmds, shutdown) = {
                let mut q = sh.queue.lock();
                // Group commit under `always`: the writers of the batch just made durable are
                // being answered and will submit again one round trip from now; the entries
                // that arrived during the fsync are ready already. Holding the batch open
                // until about all of them are in (or a fraction of an fsync has passed) lets
                // one fsync cover them all, instead of settling into two half-size groups
                // that take turns. One writer alone (goal 1) never waits.
                // Under `everysec`/`no` replies wait for the write(2) instead of the fsync, and
                // the same rule gathers the returning writers, so that one write and one round
                // of wake-ups serve them all; the hold is capped at LAZY_DELAY (a write is
                // cheap, the wake-ups are what costs) and the batch at LAZY_BATCH entries.
                let (goal, hold) = match sh.policy() {
                    SyncPolicy::Always => {
                        let writers = prev_batch + q.ready();
                        let fsync =
                            Duration::from_micros(sh.stats.fsync_last_us.load(Ordering::Relaxed));
                        ((writers * 9 / 10).max(1), (fsync / 2).min(MAX_GROUP_DELAY))
                    }
                    SyncPolicy::EverySec | SyncPolicy::No => {
                        let writers = prev_batch + q.ready();
                        ((writers * 9 / 10).clamp(1, LAZY_BATCH), LAZY_DELAY)
                    }
                };
                let mut held_since: Option<Instant> = None;
                loop {
                    let ready = q.ready();
                    if ready >= goal || !q.cmds.is_empty() || q.shutdown {
                        break;
                    }
                    if ready > 0 {
                        let deadline = *held_since.get_or_insert_with(Instant::now) + hold;
                        if Instant::now() >= deadline {
                            break;
                        }
                        q.want = goal;
                        sh.cv.wait_until(&mut q, deadline);
                        q.want = 0;
                        continue;
                    }
                    q.want = 1;
                    if written > synced && sh.policy() == SyncPolicy::EverySec {
                        let deadline = last_sync + Duration::from_secs(1);
                        if Instant::now() >= deadline {
                            q.want = 0;
                            break;
                        }
                        sh.cv.wait_until(&mut q, deadline);
                    } else {
                        sh.cv.wait(&mut q);
                    }
                    q.want = 0;
                }
                let q = &mut *q;
                let batch = q.take_ready();
                if !batch.is_empty() {
                    prev_batch = batch.len();
                }
                (batch, std::mem::take(&mut q.cmds), q.shutdown)
            };
            let poisoned = sh.poisoned.load(Ordering::SeqCst);
            if !poisoned {
                if let Err(e) = self.round(&batch, &mut written, &mut synced, &mut last_sync) {
                    sh.poison(&e);
                }
            }
            for c in cmds {
                match c {
                    Cmd::SetKey(id, key) => {
                        self.key_id = id;
                        self.key = key;
                    }
                    Cmd::Sync => {
                        if !sh.poisoned.load(Ordering::SeqCst) && written > synced {
                            match self.sync() {
                                Ok(()) => {
                                    synced = written;
                                    last_sync = Instant::now();
                                    sh.publish_durable(written);
                                }
                                Err(e) => sh.poison(&e),
                            }
                        }
                    }
                    Cmd::Seal(reply) => {
                        let r = if sh.poisoned.load(Ordering::SeqCst) {
                            Err(StorageError::Poisoned)
                        } else {
                            let r = self.seal_and_reopen(written);
                            match &r {
                                Ok(_) => {
                                    synced = written;
                                    last_sync = Instant::now();
                                    sh.publish_durable(written);
                                }
                                Err(e) => sh.poison(e),
                            }
                            r.map(|()| written)
                        };
                        let _ = reply.send(r);
                    }
                    Cmd::Rebase(next, reply) => {
                        let r = if sh.poisoned.load(Ordering::SeqCst) {
                            Err(StorageError::Poisoned)
                        } else {
                            self.rebase(next, written)
                        };
                        match &r {
                            Ok(()) => {
                                written = next - 1;
                                synced = written;
                                last_sync = Instant::now();
                                sh.publish_written(written);
                                sh.publish_durable(written);
                            }
                            Err(e) => sh.poison(e),
                        }
                        let _ = reply.send(r);
                    }
                }
            }
            if shutdown {
                let more = {
                    let q = sh.queue.lock();
                    q.ready() > 0 || !q.cmds.is_empty()
                };
                if more {
                    continue;
                }
                if !sh.poisoned.load(Ordering::SeqCst) && written > synced {
                    match self.sync() {
                        Ok(()) => sh.publish_durable(written),
                        Err(e) => sh.poison(&e),
                    }
                }
                return;
            }
        }
    }

    fn sync(&mut self) -> Result<()> {
        let Some(seg) = self.seg.as_mut() else {
            return Ok(());
        };
        let t = Instant::now();
        seg.sync()?;
        let us = u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX);
        let st = &self.shared.stats;
        st.fsyncs.fetch_add(1, Ordering::Relaxed);
        st.fsync_total_us.fetch_add(us, Ordering::Relaxed);
        st.fsync_last_us.store(us, Ordering::Relaxed);
        let threshold = st.slow_fsync_ms.load(Ordering::Relaxed);
        if threshold > 0 && us / 1000 >= threshold {
            let unix = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let mut slow = st.slow_fsyncs.lock();
            if slow.len() < 1024 {
                slow.push((unix, us / 1000));
            }
        }
        Ok(())
    }

    /// Writes one batch, syncs per policy, rotates by size.
    fn round(
        &mut self,
        batch: &[EncodedEntry],
        written: &mut u64,
        synced: &mut u64,
        last_sync: &mut Instant,
    ) -> Result<()> {
        let sh = self.shared.clone();
        if let Some(last) = batch.last().map(|e| e.0) {
            let key_id = self.key_id;
            let key = self.key.clone();
            let now = super::now_ms().max(self.last_time_ms);
            self.last_time_ms = now;
            let seg = self.active()?;
            let mut buf = Vec::new();
            seal_wal_frames(
                seg.start(),
                key_id,
                &key,
                batch,
                FRAME_PLAINTEXT_CAP,
                Some(now),
                &mut buf,
            )?;
            seg.append(&buf, last, key_id)?;
            *written = last;
            sh.publish_written(last);
            sh.stats
                .wal_bytes_since_snapshot
                .fetch_add(buf.len() as u64, Ordering::Relaxed);
            sh.index.lock().active_keys.insert(self.key_id);
        }
        let due = match sh.policy() {
            SyncPolicy::Always => true,
            SyncPolicy::EverySec => last_sync.elapsed() >= Duration::from_secs(1),
            SyncPolicy::No => false,
        };
        if *written > *synced && due {
            self.sync()?;
            *synced = *written;
            *last_sync = Instant::now();
            sh.publish_durable(*written);
        }
        if self
            .seg
            .as_ref()
            .is_some_and(|s| s.len() >= self.segment_size && !s.is_empty())
        {
            self.seal_and_reopen(*written)?;
            *synced = *written;
            *last_sync = Instant::now();
            sh.publish_durable(*written);
        }
        Ok(())
    }

    fn active(&mut self) -> Result<&mut SegmentWriter> {
        if self.seg.is_none() {
            let start = self.shared.written.load(Ordering::SeqCst) + 1;
            self.seg = Some(SegmentWriter::create(
                self.fs.clone(),
                &self.wal_dir,
                start,
            )?);
            let mut idx = self.shared.index.lock();
            idx.active_start = start;
            idx.active_keys.clear();
        }
        self.seg.as_mut().ok_or(StorageError::ShutDown)
    }

    /// Moves the WAL to a restore baseline at `next - 1` (> `written`): removes the empty active
    /// segment, then creates `active-<next>.wal` (in that order: a crash in between leaves no
    /// active segment, which recovery recreates; never two). The queue continues at `next`.
    fn rebase(&mut self, next: u64, written: u64) -> Result<()> {
        let mut q = self.shared.queue.lock();
        if next <= written + 1 || q.next != written + 1 || !q.pending.is_empty() {
            return Err(StorageError::Encode {
                op: "moving the WAL to a restore baseline",
                detail: format!(
                    "entries were submitted during the restore (written {written}, next {}, baseline {})",
                    q.next,
                    next - 1
                ),
            });
        }
        if let Some(seg) = self.seg.take() {
            if !seg.is_empty() {
                self.seg = Some(seg);
                return Err(StorageError::Encode {
                    op: "moving the WAL to a restore baseline",
                    detail: "the active segment was not sealed first".into(),
                });
            }
            let path = self
                .wal_dir
                .join(SegmentName::Active { start: seg.start() }.file_name());
            drop(seg);
            self.fs
                .remove(&path)
                .map_err(|e| StorageError::io("removing", &path, e))?;
            self.fs
                .sync_dir(&self.wal_dir)
                .map_err(|e| StorageError::io("syncing directory", &self.wal_dir, e))?;
        }
        self.seg = Some(SegmentWriter::create(self.fs.clone(), &self.wal_dir, next)?);
        q.next = next;
        q.ready = 0;
        drop(q);
        let mut idx = self.shared.index.lock();
        idx.active_start = next;
        idx.active_keys.clear();
        Ok(())
    }

    /// Seals the active segment if it holds anything (fsyncs it) and opens the next one.
    fn seal_and_reopen(&mut self, written: u64) -> Result<()> {
        let Some(seg) = self.seg.take() else {
            return Ok(());
        };
        if seg.is_empty() {
            self.seg = Some(seg);
            return Ok(());
        }
        let keys = seg.keys().clone();
        let bytes = seg.len();
        let name = seg.seal()?;
        if let SegmentName::Sealed { start, end } = name {
            self.shared
                .index
                .lock()
                .sealed
                .insert(start, (end, keys, bytes));
        }
        let new = SegmentWriter::create(self.fs.clone(), &self.wal_dir, written + 1)?;
        let mut idx = self.shared.index.lock();
        idx.active_start = written + 1;
        idx.active_keys.clear();
        drop(idx);
        self.seg = Some(new);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::fs::SimFs;
    use super::super::{MasterKeySource, RecoverySink, Storage, StorageConfig, SyncPolicy};
    use crate::keyspace::{Effect, Value};
    use bytes::Bytes;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    struct NoRecovery;
    impl RecoverySink for NoRecovery {
        fn load_piece(&mut self, _piece: crate::keyspace::Piece) {}
        fn apply_entry(&mut self, _seq: u64, _effects: Vec<Effect>) {}
    }

    fn put(key: &str) -> Vec<Effect> {
        vec![Effect::Put {
            db: 0,
            key: Bytes::copy_from_slice(key.as_bytes()),
            value: Value::String(Bytes::from_static(b"v")),
            expires_at_ms: None,
        }]
    }

    fn wal_bytes(fs: &SimFs) -> usize {
        fs.files()
            .iter()
            .filter(|p| p.starts_with("/data/wal"))
            .filter_map(|p| fs.contents(p))
            .map(|c| c.len())
            .sum()
    }

    #[test]
    fn everysec_acknowledges_at_the_write_and_fsyncs_later() {
        let fs = SimFs::new();
        let mut cfg = StorageConfig::new("/data");
        cfg.master_key = MasterKeySource::Hex("22".repeat(32));
        cfg.sync = SyncPolicy::EverySec;
        let opened = Instant::now();
        let (st, _) = Storage::open_with_fs(cfg, Arc::new(fs.clone()), &mut NoRecovery).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let wait =
            |f| rt.block_on(async { tokio::time::timeout(Duration::from_secs(10), f).await });
        let before = wal_bytes(&fs);
        for i in 1..=50 {
            st.submit(i, put(&format!("k{i}")));
        }
        assert_eq!(wait(st.wait_written(50)), Ok(true));
        assert_eq!(st.written_seq(), 50);
        // In the file (what a process crash keeps), not necessarily fsynced yet.
        assert!(wal_bytes(&fs) > before);
        if opened.elapsed() < Duration::from_millis(500) {
            assert_eq!(st.durable().borrow().seq, 0, "fsynced before its second");
        }
        // The periodic fsync follows within about a second.
        assert_eq!(wait(st.wait_durable(50)), Ok(true));
        // A failed write acknowledges nothing later.
        fs.fail_write_in(1);
        st.submit(51, put("k51"));
        assert_eq!(wait(st.wait_written(51)), Ok(false));
        assert!(st.is_poisoned());
        assert_eq!(st.written_seq(), 50);
    }
}

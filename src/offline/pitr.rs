//! `vaylix pitr inspect` and `vaylix pitr restore`: the restorable window of a data dir, and a
//! new data dir built at exactly one sequence.
//!
//! Restore builds the state in an in-memory [`Keyspace`]: the records of the newest usable
//! snapshot <= N, then every WAL entry in (snapshot, N] applied whole with
//! [`Keyspace::apply_entry`] (the same version-checked replay recovery uses). It writes the
//! target with the storage engine's own writers: the keyring bytes (and `master.key` when the
//! source uses the embedded key), a [`SnapshotWriter`] snapshot at N, a fresh active segment
//! `wal/active-<N+1>.wal`, and last the [`Manifest`] that commits them.
//!
//! Snapshots are fuzzy (DESIGN.md §6 (b)): one taken at S may hold changes made after S while
//! it was being written, all of them <= its horizon H (recorded in its trailer). For N >= H the
//! snapshot plus (S, N] is exact. For S <= N < H it is not used when it holds a record with a
//! version > N, when a WAL entry in (N, H] deletes or re-expires a key that the state built from
//! it lacks, or when one in (N, H] is a flush; the next older snapshot (or the empty state, when
//! the WAL reaches back to sequence 1) is tried instead. Snapshots of older builds carry no
//! horizon: the next snapshot's sequence bounds their window and flushes in it cannot be
//! detected (documented in docs/operations.md).
//!
//! Times: every WAL frame the server writes carries its commit time (unix ms, ascending), so
//! an entry's time is its frame's time (one group-commit batch, a few milliseconds at most). A
//! time target resolves to the last entry of the longest prefix of frames committed at or
//! before it. Frames of older builds carry no time; for those the segment file's mtime bounds
//! the time, as it does for snapshots (a snapshot at S holds every entry <= S by its mtime).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use clap::{ArgGroup, Args};
use indicatif::ProgressBar;
use serde_json::json;

use super::dir::{self, now_ms};
use super::time::{format_ms, parse_rfc3339};
use super::{KeyArgs, KeyOrigin, OutArgs};
use crate::keyspace::{DbIndex, Effect, Keyspace, Piece, SHARDS};
use crate::storage::chain;
use crate::storage::crypto::SecretKey;
use crate::storage::fs::{write_atomic, FileSystem, RealFs};
use crate::storage::keyring::{Keyring, KEYRING_FILE};
use crate::storage::lock::{self, DataDirLock};
use crate::storage::manifest::Manifest;
use crate::storage::recovery::Dirs;
use crate::storage::snapshot::{read_snapshot, read_snapshot_header, SnapshotWriter};
use crate::storage::wal::{SegmentName, SegmentWriter};
use crate::storage::MASTER_KEY_FILE;

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The data dir to inspect (never modified).
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub key: KeyArgs,
    #[command(flatten)]
    pub out: OutArgs,
}

#[derive(Args, Debug)]
#[command(group(ArgGroup::new("target").required(true).args(["to_sequence", "to_time", "to_timestamp_ms"])))]
pub struct RestoreArgs {
    /// The data dir to restore from (only read, never modified).
    #[arg(long, value_name = "DIR")]
    pub source_dir: PathBuf,
    /// The new data dir to create (must not exist, or be an empty directory).
    #[arg(long, value_name = "DIR")]
    pub target_dir: PathBuf,
    /// Restore the state right after entry N (every entry <= N, nothing after).
    #[arg(long, value_name = "N")]
    pub to_sequence: Option<u64>,
    /// Restore the state after every entry committed at or before this RFC 3339 time (e.g.
    /// 2024-05-01T12:00:00Z or 2024-05-01T12:00:00.250+02:00).
    #[arg(long, value_name = "RFC3339")]
    pub to_time: Option<String>,
    /// As --to-time, in unix milliseconds.
    #[arg(long, value_name = "MS")]
    pub to_timestamp_ms: Option<u64>,
    #[command(flatten)]
    pub key: KeyArgs,
    #[command(flatten)]
    pub out: OutArgs,
}

/// A committed snapshot usable as a restore base.
#[derive(Debug, Clone)]
struct SnapPoint {
    seq: u64,
    key_id: Option<u32>,
    time_ms: u64,
    len: u64,
}

/// A WAL segment in the chain.
#[derive(Debug, Clone)]
struct SegPoint {
    name: SegmentName,
    first: u64,
    /// Last sequence (first - 1 when empty).
    last: u64,
    mtime_ms: u64,
    /// The previous segment's mtime: every entry here was written after it.
    after_ms: Option<u64>,
    /// Commit times of the first and last frame, when they carry one.
    first_time_ms: Option<u64>,
    last_time_ms: Option<u64>,
    torn: Option<(u64, u64)>,
    len: u64,
}

/// One WAL frame, as far as times are concerned.
#[derive(Debug, Clone, Copy)]
struct FrameTime {
    first: u64,
    last: u64,
    /// The frame's commit time, or for an untimed frame its segment's mtime (an upper bound).
    time_ms: u64,
}

/// WAL sequences `from..=to` that no segment holds.
#[derive(Debug, Clone, Copy)]
struct WalGap {
    from: u64,
    to: u64,
    /// Skipped by a restore baseline (the snapshot holds the state): sound, not missing.
    baseline: bool,
}

/// Everything inspect shows and restore plans with.
struct Timeline {
    dirs: Dirs,
    keyring: Keyring,
    manifest: Option<Manifest>,
    snaps: Vec<SnapPoint>,
    segs: Vec<SegPoint>,
    /// Every WAL frame in sequence order.
    frames: Vec<FrameTime>,
    /// WAL sequences no segment holds, between segments, judged by [`chain::link`].
    wal_gaps: Vec<WalGap>,
    /// Restore bases: 0 (empty state, if the WAL reaches back to 1) and committed snapshots.
    bases: Vec<u64>,
    /// Restorable sequences: inclusive, sorted, disjoint.
    ranges: Vec<(u64, u64)>,
    last_seq: u64,
    /// A server was running on the dir while it was read (its PID, if known).
    running: Option<Option<u32>>,
}

impl Timeline {
    /// `times`: read every frame of every segment for its commit time (inspect, time targets).
    /// Without it only the active segment is read (its end is not in its name); sealed ones are
    /// read later by the restore itself, so a sequence target does not decrypt the WAL twice.
    fn load(data: &Path, master: &SecretKey, times: bool) -> Result<Timeline> {
        super::require_dir(data)?;
        let dirs = Dirs::new(data);
        let listing = dir::list(&dirs)?;
        let running = dir::running_server(&dirs, &listing);
        let keyring = Keyring::load(&RealFs, &dirs.data, master)
            .map_err(|e| anyhow!("{e}"))
            .context("loading the keyring")?;
        let manifest = Manifest::load(&RealFs, &dirs.data, master)
            .map_err(|e| anyhow!("{e}"))
            .context("loading the manifest")?;
        let committed = manifest.as_ref().map(|m| m.snapshot_seq);
        let snaps: Vec<SnapPoint> = listing
            .snapshots
            .iter()
            .filter(|s| committed.is_some_and(|c| s.seq <= c))
            .map(|s| SnapPoint {
                seq: s.seq,
                key_id: read_snapshot_header(&RealFs, &dirs.snapshots, s.seq)
                    .ok()
                    .map(|(_, k)| k.0),
                time_ms: s.mtime_ms,
                len: s.len,
            })
            .collect();
        if listing.actives().count() > 1 {
            bail!("more than one active WAL segment; run `vaylix storage verify`");
        }
        let mut segs = Vec::new();
        let mut frames = Vec::new();
        let mut prev_mtime = None;
        // Reading frames takes as long as recovery's reading: show progress.
        let pb = super::progress(listing.segments.iter().map(|s| s.len).sum(), "reading WAL");
        for s in &listing.segments {
            let (mut first_time_ms, mut last_time_ms) = (None, None);
            let (last, torn) = match (s.name, times) {
                (SegmentName::Sealed { end, .. }, false) => (end, None),
                _ => {
                    let scan = dir::scan_segment(&dirs, s.name, &keyring, &mut |f| {
                        if let (Some((first, _)), Some((last, _))) =
                            (f.entries.first(), f.entries.last())
                        {
                            first_time_ms = first_time_ms.or(f.time_ms);
                            last_time_ms = f.time_ms.or(last_time_ms);
                            frames.push(FrameTime {
                                first: *first,
                                last: *last,
                                time_ms: f.time_ms.unwrap_or(s.mtime_ms),
                            });
                        }
                        true
                    })
                    .map_err(|(e, _)| anyhow!("{e}"))
                    .with_context(|| {
                        format!("reading {} (run `vaylix storage verify`)", s.name.rel())
                    })?;
                    (scan.last_seq, scan.torn)
                }
            };
            pb.inc(s.len);
            segs.push(SegPoint {
                name: s.name,
                first: s.name.start(),
                last,
                mtime_ms: s.mtime_ms,
                after_ms: prev_mtime,
                first_time_ms,
                last_time_ms,
                torn,
                len: s.len,
            });
            prev_mtime = Some(s.mtime_ms);
        }
        pb.finish_and_clear();
        // WAL coverage and gaps, by the chain rules recovery applies (`storage::chain`).
        let snap_seq = committed.unwrap_or(0);
        let mut wal_gaps = Vec::new();
        let mut cover: Vec<(u64, u64)> = Vec::new();
        let mut prev_end = None;
        for s in &segs {
            let link = chain::link(prev_end, s.first, snap_seq);
            if let SegmentName::Sealed { end, .. } = s.name {
                prev_end = Some(end);
            }
            if link == chain::Link::Overlap {
                bail!(
                    "WAL segments overlap at {} (run `vaylix storage verify`)",
                    s.name.rel()
                );
            }
            if let Some(c) = cover.last_mut() {
                if s.first == c.1 + 1 {
                    c.1 = c.1.max(s.last);
                    continue;
                }
                wal_gaps.push(WalGap {
                    from: c.1 + 1,
                    to: s.first - 1,
                    baseline: link == chain::Link::BaselineJump,
                });
            }
            cover.push((s.first, s.last));
        }
        let last_seq = cover.last().map_or(snap_seq, |c| c.1.max(snap_seq));
        let mut bases: Vec<u64> = snaps.iter().map(|s| s.seq).collect();
        if committed.is_none() || segs.first().is_some_and(|s| s.first == 1) {
            bases.insert(0, 0);
        }
        let reach = |b: u64| {
            cover
                .iter()
                .find(|c| c.0 <= b + 1 && b < c.1)
                .map_or(b, |c| c.1)
        };
        let mut ranges: Vec<(u64, u64)> = Vec::new();
        let mut rs: Vec<(u64, u64)> = bases.iter().map(|b| (*b, reach(*b))).collect();
        rs.sort_unstable();
        for (lo, hi) in rs {
            match ranges.last_mut() {
                Some(r) if lo <= r.1 + 1 => r.1 = r.1.max(hi),
                _ => ranges.push((lo, hi)),
            }
        }
        Ok(Timeline {
            dirs,
            keyring,
            manifest,
            snaps,
            segs,
            frames,
            wal_gaps,
            bases,
            ranges,
            last_seq,
            running,
        })
    }

    fn in_window(&self, n: u64) -> bool {
        self.ranges.iter().any(|r| r.0 <= n && n <= r.1)
    }

    /// The frame holding entry `n`.
    fn frame_of(&self, n: u64) -> Option<&FrameTime> {
        let i = self.frames.partition_point(|f| f.last < n);
        self.frames.get(i).filter(|f| f.first <= n)
    }

    /// Latest time by which entry `n` is known to have been written: its frame's commit time,
    /// or for untimed entries the earliest file mtime that covers it.
    fn written_by(&self, n: u64) -> Option<u64> {
        if n == 0 {
            return None; // the empty state
        }
        if let Some(f) = self.frame_of(n) {
            return Some(f.time_ms);
        }
        let snap = self
            .snaps
            .iter()
            .filter(|s| s.seq >= n)
            .map(|s| s.time_ms)
            .min();
        let seg = self
            .segs
            .iter()
            .filter(|s| s.last >= n && s.last >= s.first)
            .map(|s| s.mtime_ms)
            .min();
        match (snap, seg) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The last restorable sequence known to have been committed at or before `t_ms`: the end
    /// of the longest prefix of WAL frames with times <= `t_ms` (times ascend; should the clock
    /// have been set back, the first frame past `t_ms` ends the prefix), or a snapshot written
    /// by then, whichever reaches further.
    fn seq_at_time(&self, t_ms: u64) -> Option<u64> {
        let by_snapshot = self
            .snaps
            .iter()
            .filter(|s| s.time_ms <= t_ms)
            .map(|s| s.seq)
            .max();
        let by_frames = self
            .frames
            .iter()
            .take_while(|f| f.time_ms <= t_ms)
            .last()
            .map(|f| f.last);
        let known = by_snapshot.max(by_frames)?;
        self.ranges
            .iter()
            .filter(|r| r.0 <= known)
            .map(|r| r.1.min(known))
            .max()
    }

    fn window_text(&self) -> String {
        if self.ranges.is_empty() {
            return "nothing is restorable".into();
        }
        self.ranges
            .iter()
            .map(|(lo, hi)| {
                let t = |n: u64| {
                    self.written_by(n)
                        .map_or(String::new(), |t| format!(" (written by {})", format_ms(t)))
                };
                format!("sequences {lo}{}..={hi}{}", t(*lo), t(*hi))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn to_json(&self) -> serde_json::Value {
        json!({
            "data_dir": self.dirs.data.display().to_string(),
            "server_running": self.running.is_some(),
            "server_pid": self.running.flatten(),
            "manifest": self.manifest.as_ref().map(|m| json!({
                "snapshot_seq": m.snapshot_seq,
                "wal_start": m.wal_start,
                "oldest_retained_seq": m.oldest_retained_seq,
                "created_unix_ms": m.created_unix_ms,
            })),
            "snapshots": self.snaps.iter().map(|s| json!({
                "seq": s.seq,
                "key_id": s.key_id,
                "time_ms": s.time_ms,
                "time": format_ms(s.time_ms),
                "bytes": s.len,
            })).collect::<Vec<_>>(),
            "segments": self.segs.iter().map(|s| json!({
                "file": s.name.rel(),
                "active": matches!(s.name, SegmentName::Active { .. }),
                "first_seq": s.first,
                "last_seq": s.last,
                "entries": s.last + 1 - s.first,
                "first_entry_time_ms": s.first_time_ms,
                "first_entry_time": s.first_time_ms.map(format_ms),
                "last_entry_time_ms": s.last_time_ms,
                "last_entry_time": s.last_time_ms.map(format_ms),
                "mtime_ms": s.mtime_ms,
                "torn_tail": s.torn.map(|(o, b)| json!({"offset": o, "bytes": b})),
                "bytes": s.len,
            })).collect::<Vec<_>>(),
            "wal_gaps": self.wal_gaps.iter().map(|g| json!({
                "from": g.from,
                "to": g.to,
                "kind": if g.baseline { "restore_baseline" } else { "missing" },
            })).collect::<Vec<_>>(),
            "last_seq": self.last_seq,
            "window_start_seq": self.ranges.first().map(|r| r.0),
            "window": self.ranges.iter().map(|(lo, hi)| json!({
                "from_seq": lo,
                "to_seq": hi,
                "from_time_ms": self.written_by(*lo),
                "to_time_ms": self.written_by(*hi),
            })).collect::<Vec<_>>(),
            "time_precision": "an entry's time is the commit time of its WAL frame (one group-commit batch); snapshots and frames of older builds are timed by file mtime",
        })
    }

    fn print_human(&self) {
        println!("data dir: {}", self.dirs.data.display());
        match &self.manifest {
            Some(m) => println!(
                "manifest: snapshot {} written {}, WAL from {}",
                m.snapshot_seq,
                format_ms(m.created_unix_ms),
                m.wal_start
            ),
            None => println!("manifest: none (no snapshot yet, baseline 0)"),
        }
        println!("snapshots:");
        if self.snaps.is_empty() {
            println!("  (none)");
        }
        for s in &self.snaps {
            println!(
                "  snapshots/{}.snap  sequence {:<10} time {}  key {}  {} bytes",
                s.seq,
                s.seq,
                format_ms(s.time_ms),
                s.key_id.map_or("?".into(), |k| k.to_string()),
                s.len
            );
        }
        println!("segments:");
        if self.segs.is_empty() {
            println!("  (none)");
        }
        for s in &self.segs {
            let range = if s.last >= s.first {
                format!("sequences {}..={}", s.first, s.last)
            } else {
                "empty".into()
            };
            let times = match (s.first_time_ms, s.last_time_ms) {
                (Some(a), Some(b)) => format!("entries {} .. {}", format_ms(a), format_ms(b)),
                _ if s.last < s.first => "no entries".to_string(),
                _ => format!(
                    "untimed entries written after {}, by {}",
                    s.after_ms.map_or("?".into(), format_ms),
                    format_ms(s.mtime_ms)
                ),
            };
            println!(
                "  {:<24} {range:<28} {times}{}",
                s.name.rel(),
                s.torn.map_or(String::new(), |(o, b)| format!(
                    "; torn tail at offset {o} ({b} bytes) ignored"
                ))
            );
        }
        if self.wal_gaps.is_empty() {
            println!("gaps: none");
        } else {
            for g in &self.wal_gaps {
                if g.baseline {
                    println!(
                        "gap: WAL sequences {}..={} were skipped by a restore baseline (its snapshot holds that state)",
                        g.from, g.to
                    );
                } else {
                    println!("gap: WAL sequences {}..={} are missing", g.from, g.to);
                }
            }
        }
        println!("last sequence: {}", self.last_seq);
        println!("restorable window: {}", self.window_text());
        println!(
            "time precision: an entry's time is its WAL frame's commit time (one group-commit batch)"
        );
    }
}

pub fn inspect(a: &InspectArgs) -> Result<i32> {
    let (master, _) = super::master_key(&a.data_dir, &a.key)?;
    let tl = Timeline::load(&a.data_dir, &master, true)?;
    dir::warn_running("pitr inspect", &tl.dirs, tl.running);
    if a.out.json {
        super::print_json(&tl.to_json());
    } else {
        tl.print_human();
    }
    Ok(super::EXIT_OK)
}

/// The state at `n` built from `base`, or why `base` cannot give it exactly.
struct Built {
    ks: Keyspace,
    replayed: u64,
}

/// Keys that a WAL entry after the target proves existed at the target.
fn existence_evidence(
    ks: &Keyspace,
    touched: &mut HashSet<(DbIndex, Bytes)>,
    flushed: &mut HashSet<Option<DbIndex>>,
    seq: u64,
    effects: &[Effect],
) -> Option<String> {
    for e in effects {
        let (db, key, needs_existing) = match e {
            Effect::Put { db, key, .. }
            | Effect::HashSet { db, key, .. }
            | Effect::SetAdd { db, key, .. }
            | Effect::ZAdd { db, key, .. }
            | Effect::ListPush { db, key, .. } => (*db, key, false),
            // Deltas that remove something are only logged when the key held it.
            Effect::HashDel { db, key, .. }
            | Effect::SetRem { db, key, .. }
            | Effect::ZRem { db, key, .. }
            | Effect::ListPop { db, key, .. }
            | Effect::ListSet { db, key, .. }
            | Effect::ListInsert { db, key, .. }
            | Effect::ListRem { db, key, .. }
            | Effect::ListTrim { db, key, .. } => (*db, key, true),
            Effect::Del { db, key } | Effect::SetExpiry { db, key, .. } => (*db, key, true),
            Effect::FlushDb { db } => {
                flushed.insert(Some(*db));
                continue;
            }
            Effect::FlushAll => {
                flushed.insert(None);
                continue;
            }
            // Libraries are set whole: nothing to prove about their state at the target.
            Effect::Functions { .. } => continue,
        };
        if flushed.contains(&None) || flushed.contains(&Some(db)) {
            continue;
        }
        if needs_existing && !touched.contains(&(db, key.clone())) {
            let present = ks
                .lock_shard(ks.shard_of(key))
                .db(db)
                .is_some_and(|m| m.contains_key(&key[..]));
            if !present {
                return Some(format!(
                    "entry {seq} changes key {:?} (db {db}) which the state built from it lacks",
                    String::from_utf8_lossy(key)
                ));
            }
        }
        touched.insert((db, key.clone()));
    }
    None
}

fn build(tl: &Timeline, base: u64, n: u64, pb: &ProgressBar) -> Result<Result<Built, String>> {
    let ks = Keyspace::new(256);
    let mut horizon = None;
    if base > 0 {
        let mut max_v = 0u64;
        let mut loader = ks.loader(0);
        let info = read_snapshot(&RealFs, &tl.dirs.snapshots, base, &tl.keyring, &mut |p| {
            match &p {
                Piece::Record(r) => max_v = max_v.max(r.version),
                Piece::Header { version, .. } | Piece::Functions { version, .. } => {
                    max_v = max_v.max(*version)
                }
                Piece::Members(_) => {}
            }
            loader.piece(p);
        })
        .map_err(|e| anyhow!("{e}"))?;
        loader.finish();
        horizon = info.horizon;
        if let Some(m) = tl.manifest.as_ref().filter(|m| m.snapshot_seq == base) {
            if info.len != m.snapshot_len || info.sha256 != m.snapshot_sha256 {
                bail!("snapshots/{base}.snap does not match the manifest (run `vaylix storage verify`)");
            }
        }
        if let Some(s) = tl.snaps.iter().find(|s| s.seq == base) {
            pb.inc(s.len);
        }
        if max_v > n {
            return Ok(Err(format!(
                "snapshot {base} holds a change made at sequence {max_v} (> {n}) while it was written"
            )));
        }
    }
    // Entries in (n, bound] may have reached a fuzzy snapshot; look for evidence of that.
    // The snapshot's horizon bounds them exactly (n >= horizon: nothing to check); snapshots
    // from before horizons were recorded are bounded by the next snapshot's sequence.
    let bound = match (base, horizon) {
        (0, _) => n,
        (_, Some(h)) => h.max(n),
        (_, None) => tl
            .snaps
            .iter()
            .map(|s| s.seq)
            .find(|s| *s > base)
            .unwrap_or(tl.last_seq)
            .max(n),
    };
    let mut replayed = 0u64;
    let mut applied_to = base;
    let mut touched = HashSet::new();
    let mut flushed = HashSet::new();
    let mut fuzzy: Option<String> = None;
    for seg in tl.segs.iter().filter(|s| s.last > base && s.first <= bound) {
        let res = dir::scan_segment(&tl.dirs, seg.name, &tl.keyring, &mut |f| {
            for (seq, effects) in &f.entries {
                let seq = *seq;
                if seq <= base {
                    continue;
                }
                if seq <= n {
                    ks.apply_entry(seq, effects);
                    replayed += 1;
                    applied_to = seq;
                } else if seq <= bound {
                    let flush = effects
                        .iter()
                        .any(|e| matches!(e, Effect::FlushDb { .. } | Effect::FlushAll));
                    if fuzzy.is_none() && flush && horizon.is_some() {
                        // Whether the flush reached the snapshot cannot be told from its
                        // records; within the horizon it may have.
                        fuzzy = Some(format!(
                            "entry {seq} is a flush made while the snapshot was written"
                        ));
                    }
                    if fuzzy.is_none() {
                        fuzzy = existence_evidence(&ks, &mut touched, &mut flushed, seq, effects);
                    }
                } else {
                    return false;
                }
            }
            fuzzy.is_none()
        });
        pb.inc(seg.len);
        if let Err((e, _)) = res {
            bail!("{e} (run `vaylix storage verify`)");
        }
        if let Some(why) = fuzzy.take() {
            return Ok(Err(format!("snapshot {base} is fuzzy at {n}: {why}")));
        }
    }
    if applied_to != n {
        bail!("the WAL ends at sequence {applied_to}, before {n}");
    }
    Ok(Ok(Built { ks, replayed }))
}

/// The real path of `t` (which may not exist yet) and whether it exists.
fn target_path(t: &Path) -> Result<(PathBuf, bool)> {
    match std::fs::metadata(t) {
        Ok(md) => {
            if !md.is_dir() {
                bail!("target {} exists and is not a directory", t.display());
            }
            let mut rd =
                std::fs::read_dir(t).with_context(|| format!("listing {}", t.display()))?;
            if rd.next().is_some() {
                bail!("target {} exists and is not empty", t.display());
            }
            Ok((std::fs::canonicalize(t)?, true))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let parent = match t.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            let name = t
                .file_name()
                .ok_or_else(|| anyhow!("target {} has no directory name", t.display()))?;
            let p = std::fs::canonicalize(parent)
                .with_context(|| format!("the parent of the target {} must exist", t.display()))?;
            Ok((p.join(name), false))
        }
        Err(e) => Err(anyhow!(e).context(format!("checking {}", t.display()))),
    }
}

/// Creates the target dir (0700) and takes its `LOCK`, so no server starts on it half-written.
fn lock_target(t: &Path) -> Result<DataDirLock> {
    RealFs
        .create_dir_all(t)
        .with_context(|| format!("creating {}", t.display()))?;
    DataDirLock::acquire(t).map_err(|e| anyhow!("{e}"))
}

/// Writes the complete new data dir at `t`. The manifest is written last: it commits the rest.
fn write_target(
    t: &Path,
    src: &Dirs,
    origin: &KeyOrigin,
    tl: &Timeline,
    ks: &Keyspace,
    n: u64,
    master: &SecretKey,
) -> Result<u64> {
    let fs: Arc<dyn FileSystem> = Arc::new(RealFs);
    let dirs = Dirs::new(t);
    for d in [&dirs.data, &dirs.wal, &dirs.snapshots] {
        fs.create_dir_all(d)
            .with_context(|| format!("creating {}", d.display()))?;
    }
    let kr = std::fs::read(src.data.join(KEYRING_FILE)).context("reading the source keyring")?;
    write_atomic(&*fs, &dirs.data, KEYRING_FILE, &kr).context("writing the keyring")?;
    if *origin == KeyOrigin::Embedded {
        let mk = std::fs::read(src.data.join(MASTER_KEY_FILE)).context("reading master.key")?;
        write_atomic(&*fs, &dirs.data, MASTER_KEY_FILE, &mk).context("writing master.key")?;
    }
    let mut records = 0;
    let mut manifest = None;
    if n > 0 {
        let (key_id, key) = tl
            .keyring
            .active()
            .map(|(id, e)| (id, e.key.clone()))
            .ok_or_else(|| anyhow!("the keyring has no active key"))?;
        let mut w = SnapshotWriter::create(fs.clone(), &dirs.snapshots, n, key_id, key)
            .map_err(|e| anyhow!("{e}"))?;
        let now = now_ms();
        for i in 0..SHARDS {
            let mut err = None;
            ks.visit_shard(i, now, &mut |r| {
                if err.is_none() {
                    err = w.add_piece(r).err();
                }
            });
            if let Some(e) = err {
                bail!("{e}");
            }
            w.flush_ready().map_err(|e| anyhow!("{e}"))?;
        }
        let info = w.finish(Some(n)).map_err(|e| anyhow!("{e}"))?;
        records = info.keys;
        manifest = Some(Manifest {
            snapshot_seq: n,
            snapshot_len: info.len,
            snapshot_sha256: info.sha256,
            snapshot_key_id: key_id,
            wal_start: n + 1,
            oldest_retained_seq: n + 1,
            created_unix_ms: now_ms(),
        });
    }
    drop(SegmentWriter::create(fs.clone(), &dirs.wal, n + 1).map_err(|e| anyhow!("{e}"))?);
    if let Some(m) = manifest {
        m.store(&*fs, &dirs.data, master)
            .map_err(|e| anyhow!("{e}"))?;
    }
    if let Some(parent) = dirs.data.parent() {
        let _ = fs.sync_dir(parent);
    }
    Ok(records)
}

pub fn restore(a: &RestoreArgs) -> Result<i32> {
    let src = std::fs::canonicalize(&a.source_dir)
        .with_context(|| format!("source dir {}", a.source_dir.display()))?;
    let (tgt, existed) = target_path(&a.target_dir)?;
    if tgt == src || tgt.starts_with(&src) || src.starts_with(&tgt) {
        bail!(
            "source {} and target {} are the same directory or nested in each other",
            src.display(),
            tgt.display()
        );
    }
    let (master, origin) = super::master_key(&src, &a.key)?;
    let tl = Timeline::load(&src, &master, a.to_sequence.is_none())?;
    if let Some(pid) = tl.running.filter(|_| !a.out.json) {
        eprintln!(
            "vaylix pitr restore: warning: {}; entries written from now on are not considered",
            lock::holder_note(&tl.dirs.data, pid)
        );
    }
    let (n, time_ms) = match (a.to_sequence, &a.to_time, a.to_timestamp_ms) {
        (Some(n), _, _) => (n, None),
        (_, Some(t), _) => {
            let ms = parse_rfc3339(t).map_err(|e| anyhow!(e))?;
            (seq_for_time(&tl, ms)?, Some(ms))
        }
        (_, _, Some(ms)) => (seq_for_time(&tl, ms)?, Some(ms)),
        _ => bail!("one of --to-sequence, --to-time, --to-timestamp-ms is required"),
    };
    if !tl.in_window(n) {
        bail!(
            "sequence {n} is outside the restorable window: {}",
            tl.window_text()
        );
    }
    let total =
        tl.snaps.iter().map(|s| s.len).sum::<u64>() + tl.segs.iter().map(|s| s.len).sum::<u64>();
    let pb = super::progress(total, "replaying");
    let mut skipped = Vec::new();
    let mut chosen = None;
    for base in tl.bases.iter().rev().copied().filter(|b| *b <= n) {
        if !tl.in_window(base) || !tl.ranges.iter().any(|r| r.0 <= base && n <= r.1) {
            continue;
        }
        match build(&tl, base, n, &pb)? {
            Ok(b) => {
                chosen = Some((base, b));
                break;
            }
            Err(why) => skipped.push(why),
        }
    }
    let Some((base, built)) = chosen else {
        pb.finish_and_clear();
        bail!(
            "cannot build the exact state at sequence {n}: {}",
            if skipped.is_empty() {
                "no usable snapshot".into()
            } else {
                skipped.join("; ")
            }
        );
    };
    pb.set_message("writing");
    let res = lock_target(&tgt)
        .and_then(|_lock| write_target(&tgt, &tl.dirs, &origin, &tl, &built.ks, n, &master));
    pb.finish_and_clear();
    let records = match res {
        Ok(r) => r,
        Err(e) => {
            // Leave no half-written data dir behind.
            if existed {
                if let Ok(rd) = std::fs::read_dir(&tgt) {
                    for e in rd.flatten() {
                        let p = e.path();
                        let _ = if p.is_dir() {
                            std::fs::remove_dir_all(&p)
                        } else {
                            std::fs::remove_file(&p)
                        };
                    }
                }
            } else {
                let _ = std::fs::remove_dir_all(&tgt);
            }
            return Err(e.context(format!("writing the target {}", tgt.display())));
        }
    };
    if a.out.json {
        super::print_json(&json!({
            "source": src.display().to_string(),
            "target": tgt.display().to_string(),
            "sequence": n,
            "target_time_ms": time_ms,
            "base_snapshot": base,
            "replayed_entries": built.replayed,
            "records": records,
            "skipped_bases": skipped,
        }));
    } else {
        for s in &skipped {
            println!("skipped: {s}");
        }
        if let Some(ms) = time_ms {
            println!(
                "target time {} -> sequence {n} (the last entry committed by then)",
                format_ms(ms)
            );
        }
        println!(
            "restored {} at sequence {n} into {}: base {}, {} WAL entries replayed, {records} keys",
            src.display(),
            tgt.display(),
            if base == 0 {
                "empty state".to_string()
            } else {
                format!("snapshot {base}")
            },
            built.replayed
        );
        println!("start it with: vaylix --data-dir {}", tgt.display());
    }
    Ok(super::EXIT_OK)
}

fn seq_for_time(tl: &Timeline, ms: u64) -> Result<u64> {
    tl.seq_at_time(ms).ok_or_else(|| {
        anyhow!(
            "no restorable sequence was committed at or before {}; the window is {}",
            format_ms(ms),
            tl.window_text()
        )
    })
}

//! `vaylix storage verify`: a read-only check of a whole data dir through the storage readers.
//!
//! Checks, in recovery's order: the keyring (crc, then the master key), the manifest (MAC,
//! version, the snapshot it names), every snapshot (every chunk's crcs and tag, chunk order, the
//! trailer, and for the committed one length/SHA-256/key id against the manifest), every WAL
//! segment (header, every frame's crcs and tag, dense sequences, sealed segments ending at their
//! name's end) and the segment chain (no gap or overlap, reaching back to the snapshot). An
//! incomplete final frame of the active segment is a *repairable torn tail* (the server cuts it
//! at start), reported apart from damage.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use indicatif::ProgressBar;
use serde_json::json;

use super::dir::{self, error_place, Listing};
use super::{KeyArgs, OutArgs};
use crate::storage::chain;
use crate::storage::crypto::SecretKey;
use crate::storage::error::StorageError;
use crate::storage::fs::RealFs;
use crate::storage::keyring::{Keyring, KEYRING_FILE};
use crate::storage::manifest::{Manifest, MANIFEST_FILE};
use crate::storage::recovery::Dirs;
use crate::storage::snapshot::{snapshot_file_name, SnapshotReader};
use crate::storage::wal::SegmentName;

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The data dir to check (never modified).
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub key: KeyArgs,
    #[command(flatten)]
    pub out: OutArgs,
}

/// Verdict on one file, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Ok,
    /// Harmless (leftover temp file, uncommitted snapshot): the server cleans it up.
    Warning,
    /// Incomplete final frame of the active segment: the server cuts it at start.
    TornTail,
    /// Corruption or an inconsistency the server refuses to start with.
    Damaged,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::TornTail => "repairable",
            Status::Damaged => "damaged",
        }
    }
}

/// One file's result.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub file: String,
    pub kind: &'static str,
    pub status: Status,
    pub detail: String,
    pub offset: Option<u64>,
    pub seq: Option<u64>,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    pub key_ids: BTreeSet<u32>,
    /// Format version found, when it is one this build does not read.
    pub unsupported_version: Option<u32>,
}

impl FileReport {
    fn new(file: impl Into<String>, kind: &'static str) -> Self {
        FileReport {
            file: file.into(),
            kind,
            status: Status::Ok,
            detail: String::new(),
            offset: None,
            seq: None,
            first_seq: None,
            last_seq: None,
            key_ids: BTreeSet::new(),
            unsupported_version: None,
        }
    }

    fn damage(&mut self, e: &StorageError) {
        let (_, offset, seq) = error_place(e);
        self.status = Status::Damaged;
        self.detail = e.to_string();
        self.offset = offset;
        self.seq = seq;
        if let StorageError::UnsupportedVersion { found, .. } = e {
            self.unsupported_version = Some(*found);
        }
    }

    fn set(&mut self, status: Status, detail: impl Into<String>) {
        if status >= self.status {
            self.status = status;
            self.detail = detail.into();
        }
    }
}

/// The whole result.
#[derive(Debug, Default)]
pub struct Report {
    pub files: Vec<FileReport>,
    /// The keyring could be read: id -> (created_at, active).
    pub keys: BTreeMap<u32, (u64, bool)>,
    pub wrong_master_key: bool,
    pub snapshot_seq: Option<u64>,
    pub last_seq: Option<u64>,
    /// A server was running on the dir while it was checked: `Some(pid)` (pid if known).
    pub running_server: Option<Option<u32>>,
}

impl Report {
    pub fn status(&self) -> Status {
        self.files
            .iter()
            .map(|f| f.status)
            .max()
            .unwrap_or(Status::Ok)
    }

    pub fn exit_code(&self) -> i32 {
        if self.wrong_master_key {
            return super::EXIT_FAILED;
        }
        match self.status() {
            Status::Ok | Status::Warning => super::EXIT_OK,
            Status::TornTail => super::EXIT_REPAIRABLE,
            Status::Damaged => super::EXIT_DAMAGED,
        }
    }

    /// Files needing each key id (from what was read).
    pub fn needed_by(&self) -> BTreeMap<u32, Vec<String>> {
        let mut m: BTreeMap<u32, Vec<String>> = BTreeMap::new();
        for f in &self.files {
            for k in &f.key_ids {
                m.entry(*k).or_default().push(f.file.clone());
            }
        }
        m
    }

    pub fn to_json(&self) -> serde_json::Value {
        let needed = self.needed_by();
        let mut ids: BTreeSet<u32> = self.keys.keys().copied().collect();
        ids.extend(needed.keys().copied());
        json!({
            "status": self.status().label(),
            "ok": self.exit_code() == super::EXIT_OK,
            "exit_code": self.exit_code(),
            "wrong_master_key": self.wrong_master_key,
            "snapshot_seq": self.snapshot_seq,
            "last_seq": self.last_seq,
            "server_running": self.running_server.is_some(),
            "server_pid": self.running_server.flatten(),
            "files": self.files.iter().map(|f| json!({
                "file": f.file,
                "kind": f.kind,
                "status": f.status.label(),
                "detail": f.detail,
                "offset": f.offset,
                "seq": f.seq,
                "first_seq": f.first_seq,
                "last_seq": f.last_seq,
                "key_ids": f.key_ids,
            })).collect::<Vec<_>>(),
            "keys": ids.iter().map(|id| {
                let (created_at, active) = self.keys.get(id).copied().map_or((None, false), |(c, a)| (Some(c), a));
                json!({
                    "id": id,
                    "in_keyring": self.keys.contains_key(id),
                    "created_at": created_at,
                    "active": active,
                    "needed_by": needed.get(id).cloned().unwrap_or_default(),
                })
            }).collect::<Vec<_>>(),
        })
    }

    pub fn print_human(&self) {
        let width = self.files.iter().map(|f| f.file.len()).max().unwrap_or(0);
        for f in &self.files {
            let tag = match f.status {
                Status::Ok => "OK",
                Status::Warning => "WARNING",
                Status::TornTail => "REPAIRABLE",
                Status::Damaged => "DAMAGED",
            };
            println!("{tag:<10} {:<width$}  {}", f.file, f.detail);
        }
        let count = |s: Status| self.files.iter().filter(|f| f.status == s).count();
        let verdict = if self.wrong_master_key {
            "WRONG MASTER KEY".to_string()
        } else {
            match self.status() {
                Status::Ok | Status::Warning => "SOUND".into(),
                Status::TornTail => {
                    "REPAIRABLE (only a torn tail; the server cuts it at start)".into()
                }
                Status::Damaged => "DAMAGED".into(),
            }
        };
        println!(
            "summary: {} files: {} ok, {} warnings, {} repairable, {} damaged; snapshot {}, last sequence {} -> {verdict} (exit {})",
            self.files.len(),
            count(Status::Ok),
            count(Status::Warning),
            count(Status::TornTail),
            count(Status::Damaged),
            self.snapshot_seq.map_or("none".into(), |s| s.to_string()),
            self.last_seq.map_or("unknown".into(), |s| s.to_string()),
            self.exit_code()
        );
    }
}

/// Checks the data dir; never writes. `pb` advances by file bytes.
pub fn check(dirs: &Dirs, master: &SecretKey, listing: &Listing, pb: &ProgressBar) -> Report {
    let mut rep = Report::default();
    // Keyring.
    let mut kf = FileReport::new(KEYRING_FILE, "keyring");
    let keyring = match Keyring::load(&RealFs, &dirs.data, master) {
        Ok(k) => {
            kf.detail = format!(
                "{} data key(s), active key {}",
                k.entries().count(),
                k.active_id()
            );
            for (id, e) in k.entries() {
                rep.keys.insert(id.0, (e.created_at, id == k.active_id()));
            }
            Some(k)
        }
        Err(e) => {
            if matches!(e, StorageError::WrongMasterKey { .. }) {
                rep.wrong_master_key = true;
            }
            kf.damage(&e);
            None
        }
    };
    rep.files.push(kf);
    let Some(keyring) = keyring else {
        return rep;
    };

    // Manifest.
    let mut mf = FileReport::new(MANIFEST_FILE, "manifest");
    let manifest = match Manifest::load(&RealFs, &dirs.data, master) {
        Ok(Some(m)) => {
            mf.detail = format!(
                "snapshot {} (key {}), WAL from {}, written {}",
                m.snapshot_seq,
                m.snapshot_key_id,
                m.wal_start,
                super::time::format_ms(m.created_unix_ms)
            );
            mf.seq = Some(m.snapshot_seq);
            if m.wal_start != m.snapshot_seq + 1 {
                mf.set(
                    Status::Damaged,
                    format!("wal start {} is not snapshot sequence + 1", m.wal_start),
                );
            }
            if !listing.snapshots.iter().any(|s| s.seq == m.snapshot_seq) {
                mf.set(
                    Status::Damaged,
                    format!(
                        "names snapshots/{} which does not exist",
                        snapshot_file_name(m.snapshot_seq)
                    ),
                );
            }
            rep.snapshot_seq = Some(m.snapshot_seq);
            Some(m)
        }
        Ok(None) => {
            mf.detail = "absent: no snapshot yet (baseline sequence 0)".into();
            rep.snapshot_seq = Some(0);
            None
        }
        Err(e) => {
            mf.damage(&e);
            None
        }
    };
    // With an unreadable manifest, which snapshot is committed is unknown: say nothing about it.
    let manifest_known = mf.status != Status::Damaged || manifest.is_some();
    rep.files.push(mf);

    for f in &listing.leftovers {
        let mut r = FileReport::new(f.clone(), "temp");
        r.set(
            Status::Warning,
            "leftover of an interrupted write (removed at start)",
        );
        rep.files.push(r);
    }
    for f in &listing.unexpected {
        let mut r = FileReport::new(f.clone(), "unexpected");
        r.set(
            Status::Damaged,
            "unexpected file: the server refuses to start with it",
        );
        rep.files.push(r);
    }

    // Snapshots.
    let committed = manifest.as_ref().map(|m| m.snapshot_seq);
    for s in &listing.snapshots {
        let rel = format!("snapshots/{}", snapshot_file_name(s.seq));
        let mut r = FileReport::new(rel, "snapshot");
        r.seq = Some(s.seq);
        let res = (|| -> Result<_, StorageError> {
            let mut rd = SnapshotReader::open(&RealFs, &dirs.snapshots, s.seq, &keyring)?;
            r.key_ids.insert(rd.key_id().0);
            let mut chunks = 0u64;
            while rd.next_chunk()?.is_some() {
                chunks += 1;
            }
            Ok((rd.info().cloned(), chunks))
        })();
        match res {
            Ok((Some(info), chunks)) => {
                r.detail = format!(
                    "sequence {}, {} key(s) in {} record(s), {chunks} chunk(s), data key {}",
                    s.seq, info.keys, info.records, info.key_id
                );
                if let Some(m) = manifest.as_ref().filter(|m| m.snapshot_seq == s.seq) {
                    if info.len != m.snapshot_len
                        || info.sha256 != m.snapshot_sha256
                        || info.key_id != m.snapshot_key_id
                    {
                        r.set(
                            Status::Damaged,
                            "length, SHA-256 or key id differs from the manifest",
                        );
                    }
                }
            }
            Ok((None, _)) => r.set(Status::Damaged, "snapshot not fully read"),
            Err(e) => r.damage(&e),
        }
        if manifest_known && committed.is_none_or(|c| s.seq > c) {
            let note = "not committed by the manifest (removed at start)";
            if r.status == Status::Damaged {
                r.status = Status::Warning;
                r.detail = format!("{note}; content: {}", r.detail);
            } else {
                r.set(Status::Warning, format!("{note}; {}", r.detail));
            }
        }
        pb.inc(s.len);
        rep.files.push(r);
    }

    // WAL segments.
    let snap_seq = committed.unwrap_or(0);
    let n_active = listing.actives().count();
    // The chain rules are recovery's own (`storage::chain`).
    let mut prev_end: Option<u64> = None;
    let mut last: Option<u64> = None;
    let mut active_end: Option<chain::ActiveEnd> = None;
    for seg in &listing.segments {
        let rel = seg.name.rel();
        let mut r = FileReport::new(rel.clone(), "wal");
        r.first_seq = Some(seg.name.start());
        let l = chain::link(prev_end, seg.name.start(), snap_seq);
        // Without a readable manifest the baseline is unknown: judge only links between
        // segments (the manifest's own damage is reported).
        let judged = manifest_known || prev_end.is_some();
        if judged && !l.is_sound() {
            let e = StorageError::SequenceGap {
                file: rel.clone(),
                offset: 0,
                expected: chain::expected_start(prev_end, snap_seq),
                found: seg.name.start(),
            };
            r.damage(&e);
        }
        if matches!(seg.name, SegmentName::Active { .. }) && n_active > 1 {
            r.set(
                Status::Damaged,
                "more than one active segment: the server refuses to start",
            );
        }
        let chain_problem = r.status == Status::Damaged;
        match dir::scan_segment(dirs, seg.name, &keyring, &mut |_| true) {
            Ok(scan) => {
                r.key_ids = scan.keys.iter().map(|k| k.0).collect();
                r.last_seq = Some(scan.last_seq);
                let range = if scan.entries == 0 {
                    "no entries".to_string()
                } else {
                    format!("sequences {}..={}", seg.name.start(), scan.last_seq)
                };
                let keys: Vec<u32> = r.key_ids.iter().copied().collect();
                if !chain_problem {
                    r.detail = format!("{range} in {} frame(s), keys {keys:?}", scan.frames);
                }
                if let Some((offset, bytes)) = scan.torn {
                    r.offset = Some(offset);
                    r.seq = Some(scan.last_seq);
                    r.set(
                        Status::TornTail,
                        format!(
                            "{range}; incomplete final frame at offset {offset} ({bytes} bytes) after sequence {}: repairable, the server cuts it at start",
                            scan.last_seq
                        ),
                    );
                }
                last = Some(scan.last_seq);
                if let SegmentName::Active { start } = seg.name {
                    active_end = Some(chain::ActiveEnd {
                        start,
                        last: scan.last_seq,
                    });
                }
            }
            Err((e, scan)) => {
                r.key_ids = scan.keys.iter().map(|k| k.0).collect();
                r.damage(&e);
                if r.seq.is_none() {
                    r.seq = Some(scan.last_seq + 1);
                }
                r.detail = format!("{} (last good sequence {})", r.detail, scan.last_seq);
                last = None;
            }
        }
        if let SegmentName::Sealed { end, .. } = seg.name {
            prev_end = Some(end);
        }
        pb.inc(seg.len);
        rep.files.push(r);
    }
    // `last` is None when the final segment could not be read (already reported).
    let mut end_seq = None;
    if last.is_some() || listing.segments.is_empty() {
        match chain::wal_end(snap_seq, prev_end, active_end) {
            Ok(end) => {
                end_seq = Some(end.last_seq);
                if end.drop_empty_active {
                    let file = active_end.map(|a| SegmentName::Active { start: a.start }.rel());
                    if let Some(r) = rep
                        .files
                        .iter_mut()
                        .find(|f| Some(&f.file) == file.as_ref())
                    {
                        r.set(
                            Status::Warning,
                            format!(
                                "empty active segment below the restore baseline {snap_seq} (replaced at start)"
                            ),
                        );
                    }
                }
            }
            Err(e) if manifest_known => {
                let mut r = FileReport::new("wal/", "wal");
                r.set(
                    Status::Damaged,
                    format!(
                        "the WAL ends at sequence {}, before the snapshot at {}",
                        e.wal_last, e.snap_seq
                    ),
                );
                rep.files.push(r);
            }
            Err(e) => end_seq = Some(e.wal_last),
        }
    }
    rep.last_seq = end_seq;
    if n_active == 0 {
        let mut r = FileReport::new("wal/", "wal");
        r.set(
            Status::Warning,
            "no active segment (the server creates one at start)",
        );
        rep.files.push(r);
    }
    rep
}

pub fn run(a: &VerifyArgs) -> Result<i32> {
    super::require_dir(&a.data_dir)?;
    let dirs = Dirs::new(&a.data_dir);
    let listing = dir::list(&dirs)?;
    let (master, _) = super::master_key(&a.data_dir, &a.key)?;
    let running = dir::running_server(&dirs, &listing);
    dir::warn_running("storage verify", &dirs, running);
    let total = listing.snapshots.iter().map(|s| s.len).sum::<u64>()
        + listing.segments.iter().map(|s| s.len).sum::<u64>();
    let pb = super::progress(total, "verifying");
    let mut rep = check(&dirs, &master, &listing, &pb);
    rep.running_server = running;
    pb.finish_and_clear();
    if a.out.json {
        super::print_json(&rep.to_json());
    } else {
        rep.print_human();
    }
    if rep.wrong_master_key {
        eprintln!(
            "vaylix storage verify: wrong master key: cannot unwrap the data keys in the keyring"
        );
    }
    Ok(rep.exit_code())
}

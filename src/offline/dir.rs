//! Read-only views of a data dir shared by the offline tools: the file listing (with sizes and
//! modification times), a segment scan through the storage engine's [`SegmentReader`], and the
//! "is a server using this dir?" check (its `LOCK`, see [`lock`]).
//!
//! Does not: parse any byte of a file itself (the storage readers do), or write anything.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

use crate::storage::error::StorageError;
use crate::storage::fs::RealFs;
use crate::storage::keyring::Keyring;
use crate::storage::lock;
use crate::storage::recovery::Dirs;
use crate::storage::snapshot::parse_snapshot_name;
use crate::storage::wal::{SegmentItem, SegmentName, SegmentReader, WalFrame};
use crate::storage::KeyId;

/// A snapshot file.
#[derive(Debug, Clone)]
pub struct SnapFile {
    pub seq: u64,
    pub len: u64,
    pub mtime_ms: u64,
}

/// A WAL segment file.
#[derive(Debug, Clone)]
pub struct SegFile {
    pub name: SegmentName,
    pub len: u64,
    pub mtime_ms: u64,
}

/// What the data dir holds, by name.
#[derive(Debug, Default)]
pub struct Listing {
    /// Sorted by sequence.
    pub snapshots: Vec<SnapFile>,
    /// Sealed segments sorted by start, then the active segment(s).
    pub segments: Vec<SegFile>,
    /// `*.tmp` leftovers (relative paths); the server removes them at start.
    pub leftovers: Vec<String>,
    /// Files the server would refuse (relative paths).
    pub unexpected: Vec<String>,
}

impl Listing {
    pub fn actives(&self) -> impl Iterator<Item = &SegFile> {
        self.segments
            .iter()
            .filter(|s| matches!(s.name, SegmentName::Active { .. }))
    }
}

/// Unix milliseconds of a file's modification time (0 if unknown).
pub fn mtime_ms(md: &std::fs::Metadata) -> u64 {
    md.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Regular files of `dir` with their metadata; a missing directory is empty.
fn files(dir: &Path) -> Result<Vec<(String, std::fs::Metadata)>> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("listing {}", dir.display())),
    };
    let mut out = Vec::new();
    for e in rd {
        let e = e.with_context(|| format!("listing {}", dir.display()))?;
        let md = e
            .metadata()
            .with_context(|| format!("reading metadata in {}", dir.display()))?;
        if md.is_file() {
            out.push((e.file_name().to_string_lossy().into_owned(), md));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Lists snapshots and segments.
pub fn list(dirs: &Dirs) -> Result<Listing> {
    let mut l = Listing::default();
    for (name, md) in files(&dirs.snapshots)? {
        if name.ends_with(".tmp") {
            l.leftovers.push(format!("snapshots/{name}"));
        } else if let Some(seq) = parse_snapshot_name(&name) {
            l.snapshots.push(SnapFile {
                seq,
                len: md.len(),
                mtime_ms: mtime_ms(&md),
            });
        } else {
            l.unexpected.push(format!("snapshots/{name}"));
        }
    }
    l.snapshots.sort_by_key(|s| s.seq);
    let mut actives = Vec::new();
    for (name, md) in files(&dirs.wal)? {
        if name.ends_with(".tmp") {
            l.leftovers.push(format!("wal/{name}"));
            continue;
        }
        match SegmentName::parse(&name) {
            Some(n) => {
                let f = SegFile {
                    name: n,
                    len: md.len(),
                    mtime_ms: mtime_ms(&md),
                };
                if matches!(n, SegmentName::Active { .. }) {
                    actives.push(f);
                } else {
                    l.segments.push(f);
                }
            }
            None => l.unexpected.push(format!("wal/{name}")),
        }
    }
    l.segments.sort_by_key(|s| s.name.start());
    actives.sort_by_key(|s| s.name.start());
    l.segments.extend(actives);
    Ok(l)
}

/// What a segment scan saw.
#[derive(Debug, Default, Clone)]
pub struct SegScan {
    /// Last sequence read (start - 1 if none).
    pub last_seq: u64,
    pub frames: u64,
    pub entries: u64,
    pub keys: BTreeSet<KeyId>,
    /// Incomplete final frame of an active segment: (offset, bytes).
    pub torn: Option<(u64, u64)>,
}

/// Reads one segment through [`SegmentReader`], handing every verified frame to `on_frame`
/// (which returns false to stop early). On error, also returns what was read before it.
#[allow(clippy::result_large_err)] // one call per file; the error is reported, not propagated
pub fn scan_segment(
    dirs: &Dirs,
    name: SegmentName,
    keys: &Keyring,
    on_frame: &mut dyn FnMut(&WalFrame) -> bool,
) -> std::result::Result<SegScan, (StorageError, SegScan)> {
    let mut s = SegScan {
        last_seq: name.start().saturating_sub(1),
        ..SegScan::default()
    };
    let mut r = match SegmentReader::open(&RealFs, &dirs.wal, name, keys) {
        Ok(r) => r,
        Err(e) => return Err((e, s)),
    };
    loop {
        match r.next_item() {
            Ok(SegmentItem::Frame(f)) => {
                s.frames += 1;
                s.entries += f.entries.len() as u64;
                s.keys.insert(f.key_id);
                if let Some((last, _)) = f.entries.last() {
                    s.last_seq = *last;
                }
                if !on_frame(&f) {
                    return Ok(s);
                }
            }
            Ok(SegmentItem::End { last_seq }) => {
                s.last_seq = last_seq;
                return Ok(s);
            }
            Ok(SegmentItem::Torn {
                offset,
                bytes,
                last_seq,
            }) => {
                s.last_seq = last_seq;
                s.torn = Some((offset, bytes));
                return Ok(s);
            }
            Err(e) => return Err((e, s)),
        }
    }
}

/// PIDs of other processes that have `path` open (Linux `/proc`; empty elsewhere or when
/// `/proc` is not readable). Used to refuse working on a data dir a server is using.
pub fn holders(path: &Path) -> Vec<u32> {
    let Ok(target) = std::fs::canonicalize(path) else {
        return Vec::new();
    };
    let me = std::process::id();
    let mut out = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return out;
    };
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        if fds
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l == target))
        {
            out.push(pid);
        }
    }
    out
}

/// PIDs of processes holding the active segment(s) of `dirs` open: a running server.
pub fn server_holders(dirs: &Dirs, listing: &Listing) -> Vec<u32> {
    let mut pids: Vec<u32> = listing
        .actives()
        .flat_map(|a| holders(&dirs.wal.join(a.name.file_name())))
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// Is a server running on the data dir? `Some(pid)` when a process holds its `LOCK` (the PID
/// it wrote, if readable) or, for servers of builds before the lock, holds its active segment
/// open; `None` otherwise. Never creates or changes a file.
pub fn running_server(dirs: &Dirs, listing: &Listing) -> Option<Option<u32>> {
    lock::probe(&dirs.data).or_else(|| server_holders(dirs, listing).first().map(|p| Some(*p)))
}

/// Prints the running-server note of a read-only tool on stderr, if a server is running.
pub fn warn_running(tool: &str, dirs: &Dirs, running: Option<Option<u32>>) {
    if let Some(pid) = running {
        eprintln!(
            "vaylix {tool}: warning: {}",
            lock::holder_note(&dirs.data, pid)
        );
    }
}

/// File, offset and sequence an error is about, for reports.
pub fn error_place(e: &StorageError) -> (Option<String>, Option<u64>, Option<u64>) {
    use StorageError as E;
    match e {
        E::ChecksumMismatch { file, offset, seq }
        | E::AuthFailed { file, offset, seq }
        | E::Malformed {
            file, offset, seq, ..
        } => (Some(file.clone()), Some(*offset), seq.0),
        E::BadMagic { file, offset, .. } => (Some(file.clone()), Some(*offset), None),
        E::UnknownKey { file, offset, .. } => (Some(file.clone()), Some(*offset), None),
        E::SequenceGap {
            file,
            offset,
            found,
            ..
        } => (Some(file.clone()), Some(*offset), Some(*found)),
        E::TornTail { file, offset, .. } => (Some(file.clone()), Some(*offset), None),
        E::UnsupportedVersion { file, .. }
        | E::WrongMasterKey { file }
        | E::ManifestMismatch { file, .. }
        | E::UnexpectedFile { file }
        | E::Missing { file, .. } => (Some(file.clone()), None, None),
        _ => (None, None, None),
    }
}

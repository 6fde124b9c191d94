//! Startup recovery: keyring -> manifest -> snapshot -> WAL replay (DESIGN.md §7).
//!
//! Owns: deciding whether a data dir is consistent, feeding the recovered state to the
//! [`RecoverySink`], and the few repairs that are legitimate crash leftovers: `*.tmp` files are
//! removed, snapshots newer than the manifest (written but never committed) are removed, a
//! missing active segment (crash between sealing and creating the next) is recreated, and an
//! incomplete final frame of the active segment is cut (per [`TailPolicy`]). Everything else
//! fails closed with an error naming the file and offset: wrong key, authentication or checksum
//! failure, unsupported version, sequence gaps or overlaps, more than one active segment, a
//! manifest that does not match its snapshot.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::crypto::{KeyId, SecretKey};
use super::error::{Result, StorageError};
use super::fs::FileSystem;
use super::keyring::{Keyring, KEYRING_FILE};
use super::manifest::{Manifest, MANIFEST_FILE};
use super::snapshot::{parse_snapshot_name, read_snapshot_chunks, read_snapshot_header};
use super::wal::{SegmentItem, SegmentName, SegmentReader};
use super::writer::FileIndex;
use super::{RecoverySink, TailPolicy};

/// What recovery found.
pub(crate) struct Recovered {
    pub keyring: Keyring,
    pub manifest: Option<Manifest>,
    /// Last sequence recovered (snapshot or WAL).
    pub last_seq: u64,
    /// The active segment to continue: (start, key ids used), or `None` to create one.
    pub active: Option<(u64, BTreeSet<KeyId>)>,
    pub index: FileIndex,
    pub truncated_tails: u64,
    /// Time of the newest timed WAL frame read (0 if none): the writer's frame clock never
    /// goes below it, so frame times stay ascending across restarts.
    pub last_frame_time_ms: u64,
    /// Sealed segment start -> commit time of its newest timed frame (0 if untimed): the age
    /// PITR retention judges it by.
    pub segment_times: BTreeMap<u64, u64>,
}

/// What reading the WAL chain found (besides the entries).
struct WalScan {
    truncated_tails: u64,
    /// The active segment to continue: (start, key ids used).
    active: Option<(u64, BTreeSet<KeyId>)>,
    /// Last sequence of the last segment read.
    wal_last: Option<u64>,
    last_frame_time_ms: u64,
    /// Sealed segment start -> commit time of its newest timed frame (0 if none).
    segment_times: BTreeMap<u64, u64>,
}

/// Reads every segment of `chain` in order, handing each frame's entries to `emit`; cuts a
/// torn tail of the active segment (or refuses it, per `tail`) and fills `index`.
#[allow(clippy::too_many_arguments)]
fn read_wal(
    fs: &dyn FileSystem,
    dirs: &Dirs,
    chain: &[SegmentName],
    keyring: &Keyring,
    tail: TailPolicy,
    snap_seq: u64,
    mut index: FileIndex,
    emit: &mut dyn FnMut(Vec<super::wal::Entry>),
) -> Result<(WalScan, FileIndex)> {
    let mut scan = WalScan {
        truncated_tails: 0,
        active: None,
        wal_last: None,
        last_frame_time_ms: 0,
        segment_times: BTreeMap::new(),
    };
    for seg in chain {
        let mut reader = SegmentReader::open(fs, &dirs.wal, *seg, keyring)?;
        let mut keys = BTreeSet::new();
        let mut seg_time = 0u64;
        let seg_last = loop {
            match reader.next_item()? {
                SegmentItem::Frame(f) => {
                    keys.insert(f.key_id);
                    seg_time = seg_time.max(f.time_ms.unwrap_or(0));
                    scan.last_frame_time_ms = scan.last_frame_time_ms.max(f.time_ms.unwrap_or(0));
                    if f.entries.last().is_some_and(|(seq, _)| *seq > snap_seq) {
                        emit(f.entries);
                    }
                }
                SegmentItem::End { last_seq } => break last_seq,
                SegmentItem::Torn {
                    offset,
                    bytes,
                    last_seq,
                } => {
                    let file = reader.rel().to_string();
                    if tail == TailPolicy::Fail {
                        return Err(StorageError::TornTail {
                            file,
                            offset,
                            bytes,
                        });
                    }
                    tracing::warn!("cutting {bytes} bytes of incomplete final frame in {file} at offset {offset}");
                    let path = dirs.wal.join(seg.file_name());
                    fs.truncate(&path, offset)
                        .map_err(|e| StorageError::io("truncating", &path, e))?;
                    scan.truncated_tails += 1;
                    break last_seq;
                }
            }
        };
        scan.wal_last = Some(seg_last);
        match *seg {
            SegmentName::Sealed { start, end } => {
                let len = fs.len(&dirs.wal.join(seg.file_name())).unwrap_or(0);
                index.sealed.insert(start, (end, keys, len));
                scan.segment_times.insert(start, seg_time);
            }
            SegmentName::Active { start } => {
                index.active_start = start;
                index.active_keys = keys.clone();
                scan.active = Some((start, keys));
            }
        }
    }
    Ok((scan, index))
}

/// Runs `produce` on a helper thread and feeds what it emits, in order, to `consume` on this
/// one (a bounded channel keeps the producer at most a few items ahead). Returns what
/// `produce` returned; if `produce` fails, what it emitted before the failure has been consumed.
fn pipelined<T: Send, R: Send>(
    produce: impl FnOnce(&mut dyn FnMut(T)) -> Result<R> + Send,
    mut consume: impl FnMut(T),
) -> Result<R> {
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<T>(16);
        let producer = std::thread::Builder::new()
            .name("vaylix-recovery".into())
            .spawn_scoped(scope, move || {
                let mut emit = |item: T| {
                    // A closed channel means the consumer is gone (it panicked): stop quietly.
                    let _ = tx.send(item);
                };
                produce(&mut emit)
            })
            .map_err(|e| {
                StorageError::io("starting", Path::new("the recovery reader thread"), e)
            })?;
        for item in rx {
            consume(item);
        }
        match producer.join() {
            Ok(r) => r,
            Err(p) => std::panic::resume_unwind(p),
        }
    })
}

/// Directory layout of a data dir.
#[derive(Debug, Clone)]
pub struct Dirs {
    pub data: std::path::PathBuf,
    pub wal: std::path::PathBuf,
    pub snapshots: std::path::PathBuf,
}

impl Dirs {
    pub fn new(data: &Path) -> Self {
        Dirs {
            data: data.to_path_buf(),
            wal: data.join("wal"),
            snapshots: data.join("snapshots"),
        }
    }
}

fn list(fs: &dyn FileSystem, dir: &Path) -> Result<Vec<String>> {
    fs.read_dir(dir)
        .map_err(|e| StorageError::io("listing", dir, e))
}

fn remove(fs: &dyn FileSystem, path: &Path) -> Result<()> {
    fs.remove(path)
        .map_err(|e| StorageError::io("removing", path, e))
}

fn sync_dir(fs: &dyn FileSystem, dir: &Path) -> Result<()> {
    fs.sync_dir(dir)
        .map_err(|e| StorageError::io("syncing directory", dir, e))
}

/// What makes a data dir populated (relative names): the keyring, the manifest, WAL segments,
/// snapshots. Empty for a brand-new dir, the only kind that may get a new key or keyring.
pub(crate) fn existing_data(fs: &dyn FileSystem, dirs: &Dirs) -> Result<Vec<String>> {
    let mut found = Vec::new();
    for name in [KEYRING_FILE, MANIFEST_FILE] {
        let p = dirs.data.join(name);
        if fs
            .exists(&p)
            .map_err(|e| StorageError::io("checking", &p, e))?
        {
            found.push(name.to_string());
        }
    }
    for (dir, rel, ext) in [
        (&dirs.wal, "wal", ".wal"),
        (&dirs.snapshots, "snapshots", ".snap"),
    ] {
        let exists = fs
            .exists(dir)
            .map_err(|e| StorageError::io("checking", dir, e))?;
        if exists {
            found.extend(
                list(fs, dir)?
                    .into_iter()
                    .filter(|n| n.ends_with(ext))
                    .map(|n| format!("{rel}/{n}")),
            );
        }
    }
    Ok(found)
}

/// Loads the keyring, or creates one in a fresh data dir.
pub(crate) fn load_or_create_keyring(
    fs: &dyn FileSystem,
    dirs: &Dirs,
    master: &SecretKey,
    now: u64,
) -> Result<Keyring> {
    let path = dirs.data.join(KEYRING_FILE);
    if fs
        .exists(&path)
        .map_err(|e| StorageError::io("checking", &path, e))?
    {
        return Keyring::load(fs, &dirs.data, master);
    }
    if !existing_data(fs, dirs)?.is_empty() {
        return Err(StorageError::Missing {
            file: KEYRING_FILE.into(),
            detail: "the data dir holds encrypted files but no keyring; refusing to start".into(),
        });
    }
    let k = Keyring::new(now);
    k.store(fs, &dirs.data, master)?;
    Ok(k)
}

/// Runs recovery on an existing (or fresh) data dir whose directories exist.
pub(crate) fn recover(
    fs: &dyn FileSystem,
    dirs: &Dirs,
    master: &SecretKey,
    tail: TailPolicy,
    now: u64,
    sink: &mut dyn RecoverySink,
) -> Result<Recovered> {
    let keyring = load_or_create_keyring(fs, dirs, master, now)?;
    let manifest = Manifest::load(fs, &dirs.data, master)?;
    let snap_seq = manifest.as_ref().map_or(0, |m| m.snapshot_seq);
    let mut index = FileIndex::default();

    // Snapshots: drop uncommitted leftovers, index the retained ones.
    let mut dirty = false;
    for name in list(fs, &dirs.snapshots)? {
        if name.ends_with(".tmp") {
            remove(fs, &dirs.snapshots.join(&name))?;
            dirty = true;
            continue;
        }
        let seq = parse_snapshot_name(&name).ok_or_else(|| StorageError::UnexpectedFile {
            file: format!("snapshots/{name}"),
        })?;
        if manifest.is_none() || seq > snap_seq {
            tracing::warn!("removing uncommitted snapshot snapshots/{name}");
            remove(fs, &dirs.snapshots.join(&name))?;
            dirty = true;
            continue;
        }
        let (_, key_id) = read_snapshot_header(fs, &dirs.snapshots, seq)?;
        index.snapshots.insert(seq, key_id);
    }
    if dirty {
        sync_dir(fs, &dirs.snapshots)?;
    }

    if let Some(m) = &manifest {
        let file = format!(
            "snapshots/{}",
            super::snapshot::snapshot_file_name(m.snapshot_seq)
        );
        if !index.snapshots.contains_key(&m.snapshot_seq) {
            return Err(StorageError::ManifestMismatch {
                file,
                detail: "the snapshot the manifest names does not exist".into(),
            });
        }
        if m.wal_start != m.snapshot_seq + 1 {
            return Err(StorageError::ManifestMismatch {
                file: MANIFEST_FILE.into(),
                detail: format!("wal start {} is not snapshot sequence + 1", m.wal_start),
            });
        }
        // Decryption and decoding on a helper thread, loading on this one.
        let info = pipelined(
            |emit| read_snapshot_chunks(fs, &dirs.snapshots, m.snapshot_seq, &keyring, emit),
            |chunk: Vec<crate::keyspace::Piece>| {
                for p in chunk {
                    sink.load_piece(p);
                }
            },
        )?;
        if info.len != m.snapshot_len
            || info.sha256 != m.snapshot_sha256
            || info.key_id != m.snapshot_key_id
        {
            return Err(StorageError::ManifestMismatch {
                file,
                detail: "length, digest or key id differs from the manifest".into(),
            });
        }
    }

    // WAL segments.
    let mut sealed: Vec<(u64, u64)> = Vec::new();
    let mut actives: Vec<u64> = Vec::new();
    let mut dirty = false;
    for name in list(fs, &dirs.wal)? {
        if name.ends_with(".tmp") {
            remove(fs, &dirs.wal.join(&name))?;
            dirty = true;
            continue;
        }
        match SegmentName::parse(&name) {
            Some(SegmentName::Sealed { start, end }) => sealed.push((start, end)),
            Some(SegmentName::Active { start }) => actives.push(start),
            None => {
                return Err(StorageError::UnexpectedFile {
                    file: format!("wal/{name}"),
                })
            }
        }
    }
    if dirty {
        sync_dir(fs, &dirs.wal)?;
    }
    if actives.len() > 1 {
        return Err(StorageError::MultipleActiveSegments {
            files: actives
                .iter()
                .map(|s| SegmentName::Active { start: *s }.rel())
                .collect(),
        });
    }
    sealed.sort_unstable();
    let mut chain: Vec<SegmentName> = sealed
        .iter()
        .map(|&(start, end)| SegmentName::Sealed { start, end })
        .collect();
    if let Some(&start) = actives.first() {
        chain.push(SegmentName::Active { start });
    }
    // Names must chain by the rules of `chain` (no gap or overlap except a restore baseline's
    // jump, reaching back to the snapshot).
    let names: Vec<(u64, Option<u64>)> = chain
        .iter()
        .map(|seg| match *seg {
            SegmentName::Sealed { start, end } => (start, Some(end)),
            SegmentName::Active { start } => (start, None),
        })
        .collect();
    if let Err(b) = super::chain::check(&names, snap_seq) {
        return Err(StorageError::SequenceGap {
            file: chain.get(b.index).map(|s| s.rel()).unwrap_or_default(),
            offset: 0,
            expected: b.expected,
            found: b.found,
        });
    }

    // Reading (I/O, crc, decryption, decoding) runs on a helper thread, one frame ahead of the
    // thread applying the entries: the two halves of recovery take about as long each.
    let (wal, index) = pipelined(
        |emit| read_wal(fs, dirs, &chain, &keyring, tail, snap_seq, index, emit),
        |entries: Vec<super::wal::Entry>| {
            for (seq, effects) in entries {
                if seq > snap_seq {
                    sink.apply_entry(seq, effects);
                }
            }
        },
    )?;
    let mut index = index;
    let WalScan {
        truncated_tails,
        mut active,
        wal_last,
        last_frame_time_ms,
        segment_times,
    } = wal;
    // The end of the WAL against the snapshot (`chain::wal_end`): an empty active segment below
    // a restore baseline (a crash after the manifest switch, before the WAL moved on) holds
    // nothing and is replaced by `active-<snapshot+1>`; a non-empty WAL ending before the
    // snapshot is an error.
    let active_end = active.as_ref().map(|(start, _)| super::chain::ActiveEnd {
        start: *start,
        last: wal_last.unwrap_or(start.saturating_sub(1)),
    });
    let last_sealed_end = sealed.last().map(|&(_, end)| end);
    let end = super::chain::wal_end(snap_seq, last_sealed_end, active_end).map_err(|e| {
        StorageError::SequenceGap {
            file: chain.last().map(|s| s.rel()).unwrap_or_default(),
            offset: 0,
            expected: e.snap_seq,
            found: e.wal_last,
        }
    })?;
    if end.drop_empty_active {
        if let Some((start, _)) = active.take() {
            let name = SegmentName::Active { start };
            tracing::warn!(
                "removing empty active segment {} below the restore baseline {snap_seq}",
                name.rel()
            );
            remove(fs, &dirs.wal.join(name.file_name()))?;
            sync_dir(fs, &dirs.wal)?;
            index.active_keys.clear();
        }
    }
    let last_seq = end.last_seq;
    if active.is_none() {
        index.active_start = last_seq + 1;
    }
    Ok(Recovered {
        keyring,
        manifest,
        last_seq,
        active,
        index,
        truncated_tails,
        last_frame_time_ms,
        segment_times,
    })
}

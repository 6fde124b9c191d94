//! `vaylix storage migrate`: brings a data dir to the current format and the active data key.
//!
//! Rewrites every retained snapshot and WAL segment (sealed or active) that holds anything
//! sealed with a non-active key, then retires the keys no file needs. Storage format 3 is the
//! only layout this build knows: a file of another version is refused (a newer one with
//! "refusing a format newer than this build"), never rewritten.
//!
//! Crash safety (the server stays stopped: migrate takes the data dir's `LOCK`, as the server
//! does, so it is refused while a server or another migration runs, and a process of an older
//! build holding the active segment open is refused too):
//! 1. every new file is written in `<data>/migrate.staging/` (outside the dirs the server
//!    reads), fdatasynced, given the old file's mtime (PITR uses mtimes as time bounds), then
//!    renamed over the old file, and the directory fsynced. Old and new file hold the same
//!    entries/records, and the old key stays in the keyring, so a crash leaves a valid dir;
//! 2. the committed snapshot changes its digest, so the manifest must follow it: the new
//!    manifest is first written durably as `manifest.migrate`, then the snapshot renamed into
//!    place, then the manifest replaced, then `manifest.migrate` removed. A crash between the
//!    rename and the replace leaves a manifest that does not match its snapshot; the server
//!    refuses to start until `storage migrate` is run again, which completes the switch;
//! 3. only then the keyring is rewritten without the retired keys.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use indicatif::ProgressBar;
use serde_json::json;

use super::dir::{self, Listing, SegFile, SnapFile};
use super::verify::{self, Status};
use super::{KeyArgs, OutArgs};
use crate::storage::crypto::{KeyId, SecretKey};
use crate::storage::fs::{write_atomic, FileSystem, RealFs, WritableFile};
use crate::storage::keyring::Keyring;
use crate::storage::lock::{self, DataDirLock};
use crate::storage::manifest::Manifest;
use crate::storage::recovery::Dirs;
use crate::storage::snapshot::{read_snapshot, snapshot_file_name, SnapshotReader, SnapshotWriter};
use crate::storage::wal::{encode_segment_header, encode_wal_frames};
use crate::storage::StorageError;
use crate::storage::FORMAT_VERSION;

/// Staging directory for rewritten files (the server never reads it).
pub const STAGING_DIR: &str = "migrate.staging";
/// The manifest to switch to once the rewritten committed snapshot is in place.
pub const PENDING_MANIFEST: &str = "manifest.migrate";

#[derive(Args, Debug)]
pub struct MigrateArgs {
    /// The data dir to migrate (the server must be stopped).
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Only report what would be rewritten and retired.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub key: KeyArgs,
    #[command(flatten)]
    pub out: OutArgs,
}

fn serr(e: crate::storage::StorageError) -> anyhow::Error {
    anyhow!("{e}")
}

fn set_mtime(path: &Path, ms: u64) -> Result<()> {
    let f = std::fs::File::options()
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    f.set_modified(UNIX_EPOCH + Duration::from_millis(ms))
        .with_context(|| format!("setting the mtime of {}", path.display()))
}

fn rename_into(fs: &dyn FileSystem, from: &Path, dir: &Path, name: &str) -> Result<()> {
    let to = dir.join(name);
    fs.rename(from, &to)
        .with_context(|| format!("renaming {} to {}", from.display(), to.display()))?;
    fs.sync_dir(dir)
        .with_context(|| format!("syncing {}", dir.display()))
}

/// Completes a migration interrupted between the snapshot rename and the manifest switch.
fn finish_pending(dirs: &Dirs, master: &SecretKey, keyring: &Keyring) -> Result<Option<String>> {
    let pending = dirs.data.join(PENDING_MANIFEST);
    if !pending.exists() {
        return Ok(None);
    }
    let bytes = std::fs::read(&pending).context("reading manifest.migrate")?;
    let m = Manifest::decode(&bytes, master).map_err(serr)?;
    let name = snapshot_file_name(m.snapshot_seq);
    let staged = dirs.data.join(STAGING_DIR).join(&name);
    if staged.exists() {
        rename_into(&RealFs, &staged, &dirs.snapshots, &name)?;
    }
    let info = read_snapshot(
        &RealFs,
        &dirs.snapshots,
        m.snapshot_seq,
        keyring,
        &mut |_| {},
    );
    let msg = match info {
        Ok(i) if i.sha256 == m.snapshot_sha256 && i.len == m.snapshot_len => {
            m.store(&RealFs, &dirs.data, master).map_err(serr)?;
            format!("completed an interrupted migration of snapshots/{name}")
        }
        _ => format!("discarded an interrupted migration of snapshots/{name} (never switched)"),
    };
    std::fs::remove_file(&pending).context("removing manifest.migrate")?;
    RealFs
        .sync_dir(&dirs.data)
        .context("syncing the data dir")?;
    Ok(Some(msg))
}

#[derive(Debug)]
enum Job {
    Segment(SegFile),
    Snapshot(SnapFile, bool),
}

impl Job {
    fn file(&self) -> String {
        match self {
            Job::Segment(s) => s.name.rel(),
            Job::Snapshot(s, _) => format!("snapshots/{}", snapshot_file_name(s.seq)),
        }
    }
    fn len(&self) -> u64 {
        match self {
            Job::Segment(s) => s.len,
            Job::Snapshot(s, _) => s.len,
        }
    }
}

fn rewrite_segment(
    dirs: &Dirs,
    staging: &Path,
    seg: &SegFile,
    keyring: &Keyring,
    key_id: KeyId,
    key: &SecretKey,
) -> Result<()> {
    let start = seg.name.start();
    let tmp = staging.join(seg.name.file_name());
    let mut f: Box<dyn WritableFile> = RealFs
        .create(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(&encode_segment_header(start))?;
    let mut err: Option<anyhow::Error> = None;
    let res = dir::scan_segment(dirs, seg.name, keyring, &mut |frame| {
        let mut out = Vec::new();
        // One new frame per old frame: the same entries, grouped the same way.
        let r = encode_wal_frames(
            start,
            key_id,
            key,
            &frame.entries,
            usize::MAX,
            frame.time_ms,
            &mut out,
        )
        .map_err(serr)
        .and_then(|()| f.write_all(&out).map_err(anyhow::Error::from));
        if let Err(e) = r {
            err = Some(e);
            return false;
        }
        true
    });
    if let Some(e) = err {
        return Err(e);
    }
    let scan = res.map_err(|(e, _)| serr(e))?;
    if scan.torn.is_some() {
        bail!("{} has a torn tail", seg.name.rel());
    }
    f.sync_data()?;
    drop(f);
    set_mtime(&tmp, seg.mtime_ms)?;
    rename_into(&RealFs, &tmp, &dirs.wal, &seg.name.file_name())
}

/// Writes the snapshot anew in the staging dir; returns its info.
fn restage_snapshot(
    dirs: &Dirs,
    staging: &Path,
    snap: &SnapFile,
    keyring: &Keyring,
    key_id: KeyId,
    key: &SecretKey,
) -> Result<crate::storage::snapshot::SnapshotFileInfo> {
    let fs: Arc<dyn FileSystem> = Arc::new(RealFs);
    let mut w = SnapshotWriter::create(fs, staging, snap.seq, key_id, key.clone()).map_err(serr)?;
    let mut r = SnapshotReader::open(&RealFs, &dirs.snapshots, snap.seq, keyring).map_err(serr)?;
    while let Some(chunk) = r.next_chunk().map_err(serr)? {
        for rec in &chunk {
            w.add_piece(rec).map_err(serr)?;
        }
        w.flush_ready().map_err(serr)?;
    }
    // The records are the old file's, and so is the horizon (none for a file that had none).
    let horizon = r.info().and_then(|i| i.horizon);
    let info = w.finish(horizon).map_err(serr)?;
    set_mtime(&staging.join(snapshot_file_name(snap.seq)), snap.mtime_ms)?;
    Ok(info)
}

pub fn run(a: &MigrateArgs) -> Result<i32> {
    super::require_dir(&a.data_dir)?;
    let dirs = Dirs::new(&a.data_dir);
    // The server's own lock: refused while a server (or another migration) writes the dir. A
    // dry run writes nothing, not even the lock's PID: it only tests the lock.
    let _lock = if a.dry_run {
        if let Some(pid) = lock::probe(&dirs.data) {
            return Err(serr(StorageError::Locked {
                dir: dirs.data.clone(),
                pid,
            }));
        }
        None
    } else {
        Some(DataDirLock::acquire(&dirs.data).map_err(serr)?)
    };
    let (master, _) = super::master_key(&a.data_dir, &a.key)?;
    let listing: Listing = dir::list(&dirs)?;
    let live = dir::server_holders(&dirs, &listing);
    if !live.is_empty() {
        bail!(
            "process(es) {live:?} have the active WAL segment open: stop the server before migrating"
        );
    }
    let mut keyring = Keyring::load(&RealFs, &dirs.data, &master).map_err(serr)?;
    let mut notes = Vec::new();
    if !a.dry_run {
        if let Some(m) = finish_pending(&dirs, &master, &keyring)? {
            notes.push(m);
        }
    } else if dirs.data.join(PENDING_MANIFEST).exists() {
        notes.push("an interrupted migration would be completed first".to_string());
    }
    let listing = dir::list(&dirs)?;
    let rep = verify::check(&dirs, &master, &listing, &ProgressBar::hidden());
    if let Some(f) = rep
        .files
        .iter()
        .find(|f| f.unsupported_version.is_some_and(|v| v > FORMAT_VERSION))
    {
        bail!(
            "refusing: {} uses storage format {}, newer than this build ({FORMAT_VERSION})",
            f.file,
            f.unsupported_version.unwrap_or_default()
        );
    }
    match rep.status() {
        Status::Damaged => bail!(
            "refusing to migrate a damaged data dir; `vaylix storage verify --data-dir {}` says: {}",
            dirs.data.display(),
            rep.files
                .iter()
                .filter(|f| f.status == Status::Damaged)
                .map(|f| format!("{}: {}", f.file, f.detail))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        Status::TornTail => bail!(
            "the active segment ends in a torn tail; start the server once (it cuts the tail) and stop it, then migrate"
        ),
        Status::Ok | Status::Warning => {}
    }
    let (key_id, key) = keyring
        .active()
        .map(|(id, e)| (id, e.key.clone()))
        .ok_or_else(|| anyhow!("the keyring has no active key"))?;
    let committed = rep.snapshot_seq.filter(|s| *s > 0);
    let stale = |file: &str| {
        rep.files
            .iter()
            .find(|f| f.file == file)
            .is_some_and(|f| f.key_ids.iter().any(|k| *k != key_id.0))
    };
    let mut jobs: Vec<Job> = Vec::new();
    for s in listing.segments.iter().filter(|s| stale(&s.name.rel())) {
        jobs.push(Job::Segment(s.clone()));
    }
    // Older snapshots first; the committed one (with the manifest switch) last.
    for s in listing
        .snapshots
        .iter()
        .filter(|s| committed.is_some_and(|c| s.seq <= c))
    {
        if stale(&format!("snapshots/{}", snapshot_file_name(s.seq))) {
            jobs.push(Job::Snapshot(s.clone(), Some(s.seq) == committed));
        }
    }
    let retire: Vec<u32> = keyring
        .entries()
        .map(|(id, _)| id.0)
        .filter(|id| *id != key_id.0)
        .collect();

    if a.dry_run {
        if a.out.json {
            super::print_json(&json!({
                "dry_run": true,
                "active_key": key_id.0,
                "format_version": FORMAT_VERSION,
                "rewrite": jobs.iter().map(|j| j.file()).collect::<Vec<_>>(),
                "retire_keys": retire,
                "notes": notes,
            }));
        } else {
            for n in &notes {
                println!("note: {n}");
            }
            for j in &jobs {
                println!("would rewrite {} under key {key_id}", j.file());
            }
            if !retire.is_empty() {
                println!("would retire key(s) {retire:?}");
            }
            if jobs.is_empty() && retire.is_empty() {
                println!("nothing to do: every file is format {FORMAT_VERSION} under the active key {key_id}");
            }
        }
        return Ok(super::EXIT_OK);
    }

    let staging = dirs.data.join(STAGING_DIR);
    if staging.exists() {
        std::fs::remove_dir_all(&staging).context("removing an old migrate.staging")?;
    }
    RealFs
        .create_dir_all(&staging)
        .context("creating migrate.staging")?;
    RealFs
        .sync_dir(&dirs.data)
        .context("syncing the data dir")?;
    let pb = super::progress(jobs.iter().map(Job::len).sum(), "migrating");
    let mut done = Vec::new();
    for j in &jobs {
        match j {
            Job::Segment(s) => rewrite_segment(&dirs, &staging, s, &keyring, key_id, &key)?,
            Job::Snapshot(s, is_committed) => {
                let info = restage_snapshot(&dirs, &staging, s, &keyring, key_id, &key)?;
                let name = snapshot_file_name(s.seq);
                let staged = staging.join(&name);
                if *is_committed {
                    let old = Manifest::load(&RealFs, &dirs.data, &master)
                        .map_err(serr)?
                        .ok_or_else(|| anyhow!("the manifest disappeared"))?;
                    let m = Manifest {
                        snapshot_len: info.len,
                        snapshot_sha256: info.sha256,
                        snapshot_key_id: key_id,
                        ..old
                    };
                    let bytes = m.encode(&master).map_err(serr)?;
                    write_atomic(&RealFs, &dirs.data, PENDING_MANIFEST, &bytes)
                        .context("writing manifest.migrate")?;
                    rename_into(&RealFs, &staged, &dirs.snapshots, &name)?;
                    m.store(&RealFs, &dirs.data, &master).map_err(serr)?;
                    std::fs::remove_file(dirs.data.join(PENDING_MANIFEST))
                        .context("removing manifest.migrate")?;
                    RealFs
                        .sync_dir(&dirs.data)
                        .context("syncing the data dir")?;
                } else {
                    rename_into(&RealFs, &staged, &dirs.snapshots, &name)?;
                }
            }
        }
        pb.inc(j.len());
        done.push(j.file());
    }
    pb.finish_and_clear();
    std::fs::remove_dir_all(&staging).context("removing migrate.staging")?;
    RealFs
        .sync_dir(&dirs.data)
        .context("syncing the data dir")?;
    // Every retained file now uses the active key only.
    let needed: BTreeSet<KeyId> = [key_id].into_iter().collect();
    let retired: Vec<u32> = keyring
        .retire_unneeded(&needed)
        .iter()
        .map(|k| k.0)
        .collect();
    if !retired.is_empty() {
        keyring.store(&RealFs, &dirs.data, &master).map_err(serr)?;
    }
    if a.out.json {
        super::print_json(&json!({
            "dry_run": false,
            "active_key": key_id.0,
            "format_version": FORMAT_VERSION,
            "rewritten": done,
            "retired_keys": retired,
            "notes": notes,
        }));
    } else {
        for n in &notes {
            println!("note: {n}");
        }
        for f in &done {
            println!("rewrote {f} under key {key_id}");
        }
        if !retired.is_empty() {
            println!("retired key(s) {retired:?}");
        }
        println!(
            "migrated {}: {} file(s) rewritten, {} key(s) retired; every file is format {FORMAT_VERSION} under key {key_id}",
            dirs.data.display(),
            done.len(),
            retired.len()
        );
    }
    Ok(super::EXIT_OK)
}

//! Logical backups: v2 JSON dumps, sidecar manifests, v1 compatibility, the backup-dir sandbox,
//! and the two operations on the live keyspace: a consistent cut and an atomic durable restore.
//!
//! - [`format`]: the dump and sidecar formats (streaming writer, streaming validating parser).
//! - [`sandbox`]: path resolution under `backup-dir`, no-follow opens, no-clobber publishing.
//!
//! Consistency of a backup ([`cut`]): a brief global write barrier (every shard lock, taken in
//! the usual ascending order) during which the clock is read (S) and every live entry is
//! copied out as a record (the keyspace keeps values in its own blocks and collection
//! encodings, so this copies the value bytes, a collection element by element). Under the
//! barrier every sequence <= S is applied and none later, so the copy is exactly the state at S. Encoding, hashing and writing happen after the
//! barrier is released, streaming to the file. A fuzzy shard-by-shard visit cannot be made exact
//! here without buffering the records anyway (replaying (S, S'] needs them in memory), so the
//! barrier is the simpler way to the same memory bound.
//!
//! Restore ([`restore`]): parse and validate everything first (nothing is touched on any error),
//! then take the storage's restore ticket, then the write barrier, install a new durable
//! baseline at a fresh sequence past every restored version (docs/storage-format.md §9), and
//! swap the keyspace contents while still holding the barrier.
//!
//! Does not: parse commands (see `commands::backup`) or write inside the data dir's storage
//! files directly (the storage engine does).

pub mod format;
pub mod sandbox;

use std::io::{BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::keyspace::{Keyspace, Record};
use crate::storage::Storage;
pub use format::{Dump, Header, Sidecar};

/// What can go wrong with a backup or restore. `Display` is the text after `ERR `.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The dump itself is bad (JSON, version, base64, types, versions ...).
    #[error("invalid backup: {0}")]
    Invalid(String),
    /// The sidecar manifest is missing, bad, or does not match the dump.
    #[error("backup manifest check failed: {0}")]
    Manifest(String),
    /// A path the sandbox refuses.
    #[error("{0}")]
    Sandbox(String),
    #[error("I/O error while {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("restore failed, nothing changed: {0}")]
    Storage(String),
}

impl BackupError {
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        BackupError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// `backup-dir`, or `<data-dir>/backups` when empty.
pub fn backup_dir(config: &crate::config::Config) -> PathBuf {
    let dir = config.get_str("backup-dir");
    if dir.is_empty() {
        Path::new(&config.get_str("data-dir")).join("backups")
    } else {
        PathBuf::from(dir)
    }
}

/// The sidecar path of a dump: `<dump>.manifest.json`.
pub fn sidecar_path(dump: &Path) -> PathBuf {
    let mut s = dump.as_os_str().to_owned();
    s.push(".manifest.json");
    PathBuf::from(s)
}

/// A consistent cut of the keyspace: every key and the function libraries at sequence `seq`.
pub struct Cut {
    pub seq: u64,
    pub records: Vec<Record>,
    pub functions: Vec<Bytes>,
}

/// A consistent cut of the keyspace (see the module docs).
pub fn cut(ks: &Keyspace, now_ms: u64) -> Cut {
    let locked = ks.lock_all();
    let seq = ks.current_seq();
    let mut records = locked.records(now_ms);
    // A library change takes its sequence without a shard lock; the clock read above covers
    // every one already installed, so waiting for `seq` covers the set read here.
    let functions = ks.functions();
    drop(locked);
    // A stable order makes dumps of the same state byte-identical (db, then key).
    records.sort_unstable_by(|a, b| (a.db, &a.key).cmp(&(b.db, &b.key)));
    Cut {
        seq: ks.current_seq().max(seq),
        records,
        functions: functions.libraries,
    }
}

fn header(cut: &Cut) -> Header {
    Header {
        created_at_ms: crate::commands::now_ms(),
        source_engine_version: format::engine_version(),
        source_sequence: cut.seq,
        functions: cut.functions.clone(),
    }
}

/// The whole dump in memory (plain `BACKUP`).
pub fn dump_to_vec(cut: &Cut) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = format::write_dump(&mut out, &header(cut), cut.records.iter());
    out
}

/// What `BACKUP TO` wrote.
#[derive(Debug, Clone)]
pub struct Written {
    pub path: PathBuf,
    pub sidecar: Sidecar,
}

/// `BACKUP TO`: streams the dump to a new file under the sandbox, then the sidecar; both are
/// fsynced before being linked under their names, then the directory is fsynced.
pub fn write_to(root: &Path, user_path: &[u8], cut: &Cut) -> Result<Written, BackupError> {
    let (seq, records) = (cut.seq, &cut.records);
    let target = sandbox::resolve_for_write(root, user_path)?;
    let side = sidecar_path(&target);
    for p in [&target, &side] {
        match std::fs::symlink_metadata(p) {
            Ok(_) => {
                return Err(BackupError::Sandbox(format!(
                    "backup file {} already exists; refusing to overwrite it",
                    p.display()
                )))
            }
            // Checked before any byte is written: the sidecar's name is the dump's plus
            // ".manifest.json", so the last name that fits is 14 bytes shorter than the limit.
            Err(e) if e.raw_os_error() == Some(libc::ENAMETOOLONG) => {
                return Err(BackupError::Sandbox(format!(
                    "backup file name is too long: {} and its sidecar (the name plus \
                     '.manifest.json') must fit the file system's name limit (255 bytes on most)",
                    target.display()
                )))
            }
            Err(_) => {}
        }
    }
    let h = header(cut);
    let mut dump = sandbox::NewFile::create(&target)?;
    let mut w = format::Hashing::new(BufWriter::with_capacity(1 << 20, &mut dump.file));
    let entries = format::write_dump(&mut w, &h, records.iter())
        .map_err(|e| BackupError::io("writing", &target, e))?;
    let (mut buf, byte_len, sha256) = w.finish();
    std::io::Write::flush(&mut buf).map_err(|e| BackupError::io("writing", &target, e))?;
    drop(buf);
    let sidecar = Sidecar {
        manifest_version: format::MANIFEST_VERSION,
        backup_version: format::DUMP_VERSION,
        created_at_ms: h.created_at_ms,
        source_engine_version: h.source_engine_version,
        source_sequence: seq,
        entry_count: entries,
        byte_len,
        hash_algorithm: "sha256".into(),
        sha256,
    };
    let mut sf = sandbox::NewFile::create(&side)?;
    let mut text =
        serde_json::to_vec_pretty(&sidecar).map_err(|e| BackupError::Invalid(e.to_string()))?;
    text.push(b'\n');
    std::io::Write::write_all(&mut sf.file, &text)
        .map_err(|e| BackupError::io("writing", &side, e))?;
    // The dump first: a sidecar never names a dump that is not there.
    dump.publish(&target)?;
    sf.publish(&side)?;
    if let Some(dir) = target.parent() {
        sandbox::sync_dir(dir)?;
    }
    Ok(Written {
        path: target,
        sidecar,
    })
}

/// A validated dump and what it was read from.
#[derive(Debug)]
pub struct Loaded {
    pub dump: Dump,
    pub byte_len: u64,
    pub sha256: String,
}

/// An inline dump (a command argument).
/// `keep_values == false` for checks that need no values (see [`format::parse_dump_with`]).
pub fn load_inline(bytes: &[u8], keep_values: bool) -> Result<Loaded, BackupError> {
    let dump = format::parse_dump_with(bytes, keep_values)?;
    let (byte_len, sha256) = format::digest(bytes);
    Ok(Loaded {
        dump,
        byte_len,
        sha256,
    })
}

fn read_sidecar(side: &Path) -> Result<Sidecar, BackupError> {
    let f = sandbox::open_read(side).map_err(|e| match e {
        BackupError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            BackupError::Manifest(format!("{} not found", side.display()))
        }
        other => other,
    })?;
    let mut text = Vec::new();
    f.take(1 << 20)
        .read_to_end(&mut text)
        .map_err(|e| BackupError::io("reading", side, e))?;
    let s: Sidecar = serde_json::from_slice(&text)
        .map_err(|e| BackupError::Manifest(format!("{}: {e}", side.display())))?;
    if s.manifest_version != format::MANIFEST_VERSION {
        return Err(BackupError::Manifest(format!(
            "unsupported manifest_version {}",
            s.manifest_version
        )));
    }
    if s.hash_algorithm != "sha256" {
        return Err(BackupError::Manifest(format!(
            "unsupported hash_algorithm '{}'",
            s.hash_algorithm
        )));
    }
    Ok(s)
}

/// Reads a dump file after checking it against its sidecar: size, then digest (one streaming
/// pass), then the full parse, whose entry count and version must match too.
pub fn load_file(path: &Path, keep_values: bool) -> Result<(Loaded, Sidecar), BackupError> {
    let f = sandbox::open_read(path)?;
    let sc = read_sidecar(&sidecar_path(path))?;
    let len = f
        .metadata()
        .map_err(|e| BackupError::io("reading", path, e))?
        .len();
    if len != sc.byte_len {
        return Err(BackupError::Manifest(format!(
            "size mismatch: the manifest says {} bytes, {} has {len} (truncated or altered)",
            sc.byte_len,
            path.display()
        )));
    }
    let (_, sha) = format::digest_reader(&mut BufReader::with_capacity(1 << 20, &f))
        .map_err(|e| BackupError::io("reading", path, e))?;
    if sha != sc.sha256 {
        return Err(BackupError::Manifest(format!(
            "digest mismatch: the manifest says sha256 {}, {} has {sha}",
            sc.sha256,
            path.display()
        )));
    }
    let f = sandbox::open_read(path)?;
    let dump = format::parse_dump_with(BufReader::with_capacity(1 << 20, f), keep_values)?;
    if dump.entries.len() as u64 != sc.entry_count {
        return Err(BackupError::Manifest(format!(
            "entry count mismatch: the manifest says {}, the dump has {}",
            sc.entry_count,
            dump.entries.len()
        )));
    }
    if dump.version != sc.backup_version {
        return Err(BackupError::Manifest(format!(
            "version mismatch: the manifest says {}, the dump is version {}",
            sc.backup_version, dump.version
        )));
    }
    Ok((
        Loaded {
            dump,
            byte_len: len,
            sha256: sha,
        },
        sc,
    ))
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// The baseline sequence: every restored version is below it; later writes get larger ones.
    pub seq: u64,
    pub restored: u64,
    pub skipped_expired: u64,
}

/// Replaces the keyspace with `dump`, atomically and durably (see the module docs). On an error
/// before the durable switch nothing changed. `dump` must already be validated (including
/// [`Dump::check_databases`]).
pub fn restore(
    ks: &Keyspace,
    storage: Option<&Storage>,
    dump: Dump,
    now_ms: u64,
) -> Result<Restored, BackupError> {
    let ticket = storage.map(|s| s.begin_restore());
    let mut locked = ks.lock_all();
    // Checked: the baseline must leave the clock room for later writes (keyspace::clock).
    let seq = ks
        .current_seq()
        .max(dump.max_version())
        .checked_add(1)
        .filter(|s| *s < crate::keyspace::clock::WRITE_LIMIT)
        .ok_or_else(|| {
            BackupError::Storage(
                crate::keyspace::clock::CLOCK_EXHAUSTED
                    .trim_start_matches("ERR ")
                    .into(),
            )
        })?;
    let functions = dump.functions.clone();
    let (records, skipped_expired) = dump.into_records(seq, now_ms);
    let mut failure = None;
    if let Some(t) = ticket {
        if let Err(f) = t.commit(seq, &functions, &mut records.iter()) {
            if !f.committed {
                return Err(BackupError::Storage(f.error.to_string()));
            }
            failure = Some(f.error);
        }
    }
    let restored = locked.replace_all(records, seq, now_ms) as u64;
    // The dump's libraries (none if it has no `functions`) replace the server's, as its keys do.
    ks.install_functions(seq, &functions);
    drop(locked);
    if let Some(e) = failure {
        tracing::error!("restore committed at sequence {seq}, then the WAL failed: {e}");
        return Err(BackupError::Storage(format!(
            "the restore is durable at sequence {seq} but the WAL then failed ({e}); writes are refused until restart"
        )));
    }
    tracing::info!(seq, restored, skipped_expired, "restore installed");
    Ok(Restored {
        seq,
        restored,
        skipped_expired,
    })
}

/// `vaylix backup verify <file> [--json]`: checks the sidecar when there is one, then the whole
/// dump. Prints a report; returns the exit code (0 valid, 1 invalid).
pub fn verify_file(path: &Path, json: bool) -> anyhow::Result<i32> {
    let has_sidecar = sidecar_path(path).exists();
    let r = if has_sidecar {
        load_file(path, false).map(|(l, _)| l)
    } else {
        std::fs::File::open(path)
            .map_err(|e| BackupError::io("opening", path, e))
            .and_then(|f| {
                let (len, sha) = format::digest_reader(&mut BufReader::new(&f))
                    .map_err(|e| BackupError::io("reading", path, e))?;
                let dump = format::parse_dump_with(
                    BufReader::new(
                        std::fs::File::open(path)
                            .map_err(|e| BackupError::io("opening", path, e))?,
                    ),
                    false,
                )?;
                Ok(Loaded {
                    dump,
                    byte_len: len,
                    sha256: sha,
                })
            })
    };
    let now = crate::commands::now_ms();
    match r {
        Ok(l) => {
            if json {
                let types: serde_json::Map<String, serde_json::Value> = l
                    .dump
                    .kind_counts()
                    .iter()
                    .map(|(k, n)| (k.type_name().to_owned(), (*n).into()))
                    .collect();
                let v = serde_json::json!({
                    "ok": true, "file": path.display().to_string(), "manifest_checked": has_sidecar,
                    "version": l.dump.version, "entries": l.dump.entries.len(),
                    "live_entries": l.dump.live_entries(now), "types": types,
                    "byte_len": l.byte_len, "sha256": l.sha256,
                    "source_sequence": l.dump.source_sequence,
                });
                println!("{v}");
            } else {
                let types: Vec<String> = l
                    .dump
                    .kind_counts()
                    .iter()
                    .map(|(k, n)| format!("{n} {}", k.type_name()))
                    .collect();
                println!(
                    "{}: valid v{} dump, {} entries ({} live; keys by type: {}), {} bytes, sha256 {}{}",
                    path.display(),
                    l.dump.version,
                    l.dump.entries.len(),
                    l.dump.live_entries(now),
                    types.join(", "),
                    l.byte_len,
                    l.sha256,
                    if has_sidecar {
                        ", matches its manifest"
                    } else {
                        " (no manifest to check)"
                    }
                );
            }
            Ok(0)
        }
        Err(e) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"ok": false, "file": path.display().to_string(), "error": e.to_string()})
                );
            } else {
                eprintln!("{}: {e}", path.display());
            }
            Ok(1)
        }
    }
}

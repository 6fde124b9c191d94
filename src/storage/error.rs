//! Storage errors.
//!
//! Owns: the one error enum of the storage engine. Invariant: every variant that is about bytes on
//! disk names the file (relative to the data dir, e.g. `wal/12-40.wal`), the byte offset and, when
//! known, the sequence number, so an operator can find the damage without a debugger.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// `" (sequence N)"` or nothing: the optional sequence context of an error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqNote(pub Option<u64>);

impl fmt::Display for SeqNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(s) => write!(f, " (sequence {s})"),
            None => Ok(()),
        }
    }
}

/// `"PID N"` or `"an unknown PID"`: who holds a data-dir lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PidNote(pub Option<u32>);

impl fmt::Display for PidNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(p) => write!(f, "PID {p}"),
            None => f.write_str("an unknown PID"),
        }
    }
}

/// Everything that can go wrong in the storage engine.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("I/O error while {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("bad magic bytes in {file} at offset {offset}: not a vaylix {expected} file")]
    BadMagic {
        file: String,
        offset: u64,
        expected: &'static str,
    },
    #[error("unsupported storage format version {found} in {file} (this build reads version {supported})")]
    UnsupportedVersion {
        file: String,
        found: u32,
        supported: u32,
    },
    #[error("checksum mismatch in {file} at offset {offset}{seq}")]
    ChecksumMismatch {
        file: String,
        offset: u64,
        seq: SeqNote,
    },
    #[error(
        "authentication failed (wrong key or tampered data) in {file} at offset {offset}{seq}"
    )]
    AuthFailed {
        file: String,
        offset: u64,
        seq: SeqNote,
    },
    #[error("wrong master key: cannot unwrap the data keys in {file}")]
    WrongMasterKey { file: String },
    #[error("data key {key_id} needed by {file} at offset {offset} is not in the keyring")]
    UnknownKey {
        file: String,
        offset: u64,
        key_id: u32,
    },
    #[error("malformed content in {file} at offset {offset}{seq}: {detail}")]
    Malformed {
        file: String,
        offset: u64,
        seq: SeqNote,
        detail: String,
    },
    #[error("sequence gap or overlap in {file} at offset {offset}: expected sequence {expected}, found {found}")]
    SequenceGap {
        file: String,
        offset: u64,
        expected: u64,
        found: u64,
    },
    /// A sequence or version beyond the version clock's bound (docs/storage-format.md §10):
    /// accepting it would leave the clock no room, or make it wrap.
    #[error("version clock bound exceeded in {file}: {source}")]
    VersionBound {
        file: String,
        #[source]
        source: crate::keyspace::clock::OutOfBound,
    },
    #[error("more than one active WAL segment: {files:?}")]
    MultipleActiveSegments { files: Vec<String> },
    #[error("manifest does not match {file}: {detail}")]
    ManifestMismatch { file: String, detail: String },
    #[error("truncated tail in active segment {file} at offset {offset} ({bytes} bytes) and wal-truncated-tail is fail")]
    TornTail {
        file: String,
        offset: u64,
        bytes: u64,
    },
    #[error("unexpected file in the data dir: {file}")]
    UnexpectedFile { file: String },
    #[error("missing {file}: {detail}")]
    Missing { file: String, detail: String },
    #[error("the data dir {} is in use by another process ({} holds {}/LOCK); refusing a second writer: stop the server using it first", .dir.display(), PidNote(*.pid), .dir.display())]
    Locked { dir: PathBuf, pid: Option<u32> },
    #[error("master key: {0}")]
    MasterKey(String),
    #[error("serialization failed while {op}: {detail}")]
    Encode { op: &'static str, detail: String },
    #[error("the WAL is poisoned by an earlier write or fsync failure; writes are refused")]
    Poisoned,
    #[error("storage is shut down")]
    ShutDown,
}

impl StorageError {
    /// Wraps an I/O error with the operation and the path it was about.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        StorageError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// Shorthand for results of this module.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

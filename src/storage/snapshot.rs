//! Snapshot files: `snapshots/<seq>.snap`, a streamed sequence of encrypted chunks.
//!
//! Owns: the snapshot byte layout (28-byte header, then frames in the [`wal`](super::wal) frame
//! codec with kind `VXSNAPSH`, context = snapshot sequence, `a` = chunk index, `b` = records in
//! the chunk, `flags` bit 0 = trailer, bit 1 = pieces in the typed [`codec`](super::codec)),
//! the streaming [`SnapshotWriter`] and [`SnapshotReader`]. The reader also checks the piece
//! grammar: a `Header` is followed by `Members` batches of its kind holding exactly its
//! `members`, no `Members` comes without a `Header`, and nothing is open at the trailer.
//! Invariants: chunk indexes are dense from 0; exactly one trailer chunk, last, carrying the
//! total record and chunk counts, so chunks cannot be dropped, reordered, swapped between
//! snapshots or truncated unnoticed. Memory stays bounded by one chunk (plus, while writing,
//! the serialized records of one shard); all offsets are u64 so files beyond 4 GiB work.
//! A snapshot is written to `<seq>.snap.tmp`, fsynced, renamed, and the directory fsynced.
//!
//! Does not: decide when to snapshot, or touch the manifest.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::codec::{self, Form};
use super::crypto::{KeyId, SecretKey};
use super::error::{Result, SeqNote, StorageError};
use super::fs::{FileSystem, WritableFile};
use super::keyring::{le_u32, le_u64, Keyring};
use super::wal::{encode_frame, open_frame, FrameReader, RawItem};
use super::FORMAT_VERSION;
use crate::keyspace::{Kind, Piece, Value};

/// Magic bytes of a snapshot (also the chunk kind in associated data).
pub const SNAP_MAGIC: &[u8; 8] = b"VXSNAPSH";
/// Bytes of the snapshot header.
pub const SNAP_HEADER_LEN: usize = 28;
/// Target plaintext bytes per chunk.
pub const CHUNK_PLAINTEXT_CAP: usize = 1 << 20;
const FLAG_TRAILER: u32 = 1;
/// Chunk flag: the pieces are in the typed codec; without it, the legacy `rmp_serde` form.
/// Builds before the codec refuse chunks carrying it (unknown flag bits are an error).
pub const FLAG_TYPED: u32 = 2;

/// File name of the snapshot for `seq`.
pub fn snapshot_file_name(seq: u64) -> String {
    format!("{seq}.snap")
}

/// Parses `<seq>.snap`.
pub fn parse_snapshot_name(name: &str) -> Option<u64> {
    let s = name.strip_suffix(".snap")?;
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn rel(seq: u64) -> String {
    format!("snapshots/{}", snapshot_file_name(seq))
}

/// What a finished or verified snapshot looks like from outside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotFileInfo {
    pub seq: u64,
    pub key_id: KeyId,
    pub len: u64,
    pub sha256: [u8; 32],
    /// Pieces (what the trailer counts): one per key, plus a collection's member batches.
    pub records: u64,
    /// Keys: records plus collection headers (what tools report).
    pub keys: u64,
    /// The fuzzy horizon: every change the snapshot holds has a sequence <= this, so the
    /// snapshot plus the WAL in (seq, N] is exactly the state at any N >= it. `None` for
    /// snapshots written before the trailer carried it.
    pub horizon: Option<u64>,
}

/// Streams records into an encrypted snapshot.
pub struct SnapshotWriter {
    fs: Arc<dyn FileSystem>,
    dir: PathBuf,
    seq: u64,
    key_id: KeyId,
    key: SecretKey,
    file: Box<dyn WritableFile>,
    hasher: Sha256,
    len: u64,
    chunk_cap: usize,
    /// Plaintext of the chunk being filled (msgpack array32 header + records).
    current: Vec<u8>,
    current_count: u32,
    /// Completed plaintext chunks not yet encrypted and written.
    ready: Vec<(Vec<u8>, u32)>,
    next_chunk: u64,
    records: u64,
    keys: u64,
    scratch: Vec<u8>,
    /// Bytes written since the last intermediate fdatasync.
    unsynced: u64,
}

/// A snapshot is fdatasync'ed every this many bytes while it is written (write-behind), so the
/// final fsync is short and the WAL's group-commit fsyncs never queue behind a whole snapshot's
/// dirty pages on the same device.
const SNAPSHOT_SYNC_EVERY: u64 = 8 << 20;

impl SnapshotWriter {
    /// Starts `dir/<seq>.snap.tmp` and writes the header.
    pub fn create(
        fs: Arc<dyn FileSystem>,
        dir: &Path,
        seq: u64,
        key_id: KeyId,
        key: SecretKey,
    ) -> Result<Self> {
        Self::with_chunk_cap(fs, dir, seq, key_id, key, CHUNK_PLAINTEXT_CAP)
    }

    /// As [`SnapshotWriter::create`] with a custom chunk size (tests use small ones).
    pub fn with_chunk_cap(
        fs: Arc<dyn FileSystem>,
        dir: &Path,
        seq: u64,
        key_id: KeyId,
        key: SecretKey,
        chunk_cap: usize,
    ) -> Result<Self> {
        let tmp = dir.join(format!("{}.tmp", snapshot_file_name(seq)));
        let file = fs
            .create(&tmp)
            .map_err(|e| StorageError::io("creating", &tmp, e))?;
        let mut w = SnapshotWriter {
            fs,
            dir: dir.to_path_buf(),
            seq,
            key_id,
            key,
            file,
            hasher: Sha256::new(),
            len: 0,
            chunk_cap,
            current: Vec::new(),
            current_count: 0,
            ready: Vec::new(),
            next_chunk: 0,
            records: 0,
            keys: 0,
            scratch: Vec::new(),
            unsynced: 0,
        };
        let mut h = [0u8; SNAP_HEADER_LEN];
        h[..8].copy_from_slice(SNAP_MAGIC);
        h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        h[12..20].copy_from_slice(&seq.to_le_bytes());
        h[20..24].copy_from_slice(&key_id.0.to_le_bytes());
        let crc = crc32c::crc32c(&h[..24]);
        h[24..28].copy_from_slice(&crc.to_le_bytes());
        w.write(&h)?;
        Ok(w)
    }

    fn tmp_path(&self) -> PathBuf {
        self.dir
            .join(format!("{}.tmp", snapshot_file_name(self.seq)))
    }

    fn write(&mut self, b: &[u8]) -> Result<()> {
        self.file
            .write_all(b)
            .map_err(|e| StorageError::io("writing", self.tmp_path(), e))?;
        self.hasher.update(b);
        self.len += b.len() as u64;
        self.unsynced += b.len() as u64;
        if self.unsynced >= SNAPSHOT_SYNC_EVERY {
            self.unsynced = 0;
            self.file
                .sync_data()
                .map_err(|e| StorageError::io("fsyncing", self.tmp_path(), e))?;
        }
        Ok(())
    }

    /// Serializes one piece into the current chunk (no I/O: safe under a shard lock). A chunk
    /// closes before a piece that would take it past the cap, so a chunk outgrows the cap only
    /// by a single piece larger than it (a batch of huge elements, or a huge string).
    pub fn add_piece(&mut self, r: &Piece) -> Result<()> {
        self.scratch.clear();
        codec::encode_piece(r, &mut self.scratch).map_err(|e| StorageError::Encode {
            op: "encoding a snapshot record",
            detail: e.to_string(),
        })?;
        if matches!(r, Piece::Record(_) | Piece::Header { .. }) {
            self.keys += 1;
        }
        if self.current_count > 0 && self.current.len() + self.scratch.len() > self.chunk_cap {
            self.close_chunk();
        }
        if self.current_count == 0 {
            self.current.clear();
            self.current.extend_from_slice(&[0xdd, 0, 0, 0, 0]);
        }
        self.current.extend_from_slice(&self.scratch);
        self.current_count += 1;
        self.records += 1;
        Ok(())
    }

    fn close_chunk(&mut self) {
        if self.current_count == 0 {
            return;
        }
        let mut plain = std::mem::take(&mut self.current);
        if let Some(h) = plain.get_mut(1..5) {
            h.copy_from_slice(&self.current_count.to_be_bytes());
        }
        self.ready.push((plain, self.current_count));
        self.current_count = 0;
    }

    fn write_chunk(&mut self, plain: Vec<u8>, count: u32, flags: u32) -> Result<()> {
        let mut out = Vec::with_capacity(plain.len() + 80);
        encode_frame(
            SNAP_MAGIC,
            self.seq,
            self.key_id,
            &self.key,
            self.next_chunk,
            count,
            flags,
            plain,
            &mut out,
        )?;
        self.next_chunk += 1;
        self.write(&out)
    }

    /// Encrypts and writes the chunks completed so far (call outside any lock).
    pub fn flush_ready(&mut self) -> Result<()> {
        for (plain, count) in std::mem::take(&mut self.ready) {
            self.write_chunk(plain, count, FLAG_TYPED)?;
        }
        Ok(())
    }

    /// Writes the last chunk and the trailer, fsyncs, renames into place, fsyncs the directory.
    /// `horizon`: an upper bound on the sequence of every change the records hold (see
    /// [`SnapshotFileInfo::horizon`]); the snapshot's own sequence for an exact snapshot;
    /// `None` only to rewrite a snapshot of an older build that recorded none.
    pub fn finish(mut self, horizon: Option<u64>) -> Result<SnapshotFileInfo> {
        self.close_chunk();
        self.flush_ready()?;
        let horizon = horizon.map(|h| h.max(self.seq));
        let mut trailer = vec![self.records, self.next_chunk];
        trailer.extend(horizon);
        let mut bytes = Vec::new();
        codec::encode_u64s(&trailer, &mut bytes).map_err(|e| StorageError::Encode {
            op: "encoding the snapshot trailer",
            detail: e.to_string(),
        })?;
        let trailer = bytes;
        self.write_chunk(trailer, 0, FLAG_TRAILER)?;
        let tmp = self.tmp_path();
        self.file
            .sync_data()
            .map_err(|e| StorageError::io("fsyncing", &tmp, e))?;
        let dst = self.dir.join(snapshot_file_name(self.seq));
        self.fs
            .rename(&tmp, &dst)
            .map_err(|e| StorageError::io("renaming", &tmp, e))?;
        self.fs
            .sync_dir(&self.dir)
            .map_err(|e| StorageError::io("syncing directory", &self.dir, e))?;
        Ok(SnapshotFileInfo {
            seq: self.seq,
            key_id: self.key_id,
            len: self.len,
            sha256: self.hasher.finalize().into(),
            records: self.records,
            keys: self.keys,
            horizon,
        })
    }
}

/// A reader that hashes everything read through it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    len: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(buf.get(..n).unwrap_or_default());
        self.len += n as u64;
        Ok(n)
    }
}

/// Reads header-only information of a snapshot: (sequence, key id).
pub fn read_snapshot_header(fs: &dyn FileSystem, dir: &Path, seq: u64) -> Result<(u64, KeyId)> {
    let path = dir.join(snapshot_file_name(seq));
    let mut r = fs
        .open_read(&path)
        .map_err(|e| StorageError::io("opening", &path, e))?;
    let mut h = [0u8; SNAP_HEADER_LEN];
    let mut got = 0;
    while got < h.len() {
        let Some(rest) = h.get_mut(got..) else { break };
        match r.read(rest) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => return Err(StorageError::io("reading", &path, e)),
        }
    }
    decode_header(h.get(..got).unwrap_or_default(), &rel(seq))
}

fn decode_header(h: &[u8], file: &str) -> Result<(u64, KeyId)> {
    super::wal::check_file_header(h, file, SNAP_MAGIC, "snapshot", 24)?;
    Ok((
        le_u64(h, 12).unwrap_or_default(),
        KeyId(le_u32(h, 20).unwrap_or_default()),
    ))
}

/// Streams and verifies a snapshot chunk by chunk.
pub struct SnapshotReader<'k> {
    seq: u64,
    key_id: KeyId,
    file: String,
    frames: Option<FrameReader<Hashing<Box<dyn Read + Send>>>>,
    keys: &'k Keyring,
    next_chunk: u64,
    records: u64,
    key_count: u64,
    /// A function libraries piece was read (at most one, before the first key).
    saw_functions: bool,
    /// The collection whose header came last: its kind and the elements seen so far.
    open: Option<(Kind, u64)>,
    finished: Option<SnapshotFileInfo>,
}

impl<'k> SnapshotReader<'k> {
    /// Opens `dir/<seq>.snap` and checks its header.
    pub fn open(fs: &dyn FileSystem, dir: &Path, seq: u64, keys: &'k Keyring) -> Result<Self> {
        let file = rel(seq);
        let path = dir.join(snapshot_file_name(seq));
        let file_len = fs
            .len(&path)
            .map_err(|e| StorageError::io("reading", &path, e))?;
        let r = fs
            .open_read(&path)
            .map_err(|e| StorageError::io("opening", &path, e))?;
        let mut hr = Hashing {
            inner: r,
            hasher: Sha256::new(),
            len: 0,
        };
        let mut h = [0u8; SNAP_HEADER_LEN];
        let mut got = 0;
        while got < h.len() {
            let Some(rest) = h.get_mut(got..) else { break };
            match hr.read(rest) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) => return Err(StorageError::io("reading", &path, e)),
            }
        }
        let (hseq, key_id) = decode_header(h.get(..got).unwrap_or_default(), &file)?;
        crate::keyspace::clock::check_stored_seq(|| "snapshot sequence".into(), hseq).map_err(
            |source| StorageError::VersionBound {
                file: file.clone(),
                source,
            },
        )?;
        if hseq != seq {
            return Err(StorageError::Malformed {
                file,
                offset: 12,
                seq: SeqNote(Some(hseq)),
                detail: format!("header sequence {hseq} does not match the file name"),
            });
        }
        Ok(SnapshotReader {
            seq,
            key_id,
            frames: Some(FrameReader::new(
                hr,
                SNAP_HEADER_LEN as u64,
                file_len,
                file.clone(),
            )),
            file,
            keys,
            next_chunk: 0,
            records: 0,
            key_count: 0,
            saw_functions: false,
            open: None,
            finished: None,
        })
    }

    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    fn malformed(&self, offset: u64, detail: String) -> StorageError {
        StorageError::Malformed {
            file: self.file.clone(),
            offset,
            seq: SeqNote(Some(self.seq)),
            detail,
        }
    }

    /// The records of the next chunk, or `None` after the trailer (the whole file verified).
    pub fn next_chunk(&mut self) -> Result<Option<Vec<Piece>>> {
        let Some(frames) = self.frames.as_mut() else {
            return Ok(None);
        };
        let item = frames.next_raw()?;
        let (offset, header, body) = match item {
            RawItem::Frame {
                offset,
                header,
                body,
            } => (offset, header, body),
            RawItem::End => {
                let at = frames.offset();
                return Err(self.malformed(at, "snapshot ends without its trailer".into()));
            }
            RawItem::Torn { offset, bytes } => {
                return Err(self.malformed(
                    offset,
                    format!("snapshot ends inside a chunk ({bytes} bytes)"),
                ))
            }
        };
        if header.a != self.next_chunk
            || header.key_id != self.key_id
            || header.flags & !(FLAG_TRAILER | FLAG_TYPED) != 0
        {
            return Err(self.malformed(
                offset,
                format!(
                    "chunk {} (key {}) where chunk {} was expected",
                    header.a, header.key_id, self.next_chunk
                ),
            ));
        }
        let plain = open_frame(
            SNAP_MAGIC,
            self.seq,
            self.keys,
            &self.file,
            offset,
            Some(self.seq),
            &header,
            body,
        )?;
        self.next_chunk += 1;
        if header.flags & FLAG_TRAILER != 0 {
            // [records, chunks] or, since the fuzzy horizon was added, [records, chunks, horizon].
            let t = codec::decode_u64s(&plain)
                .map_err(|e| self.malformed(offset, format!("bad trailer: {e}")))?;
            if let Some((_, 0)) = self.open {
                return Err(self.malformed(
                    offset,
                    "snapshot ends after a collection header without its elements".into(),
                ));
            }
            self.open = None;
            let (records, chunks, horizon) = match t[..] {
                [r, c] => (r, c, None),
                [r, c, h] if h >= self.seq => (r, c, Some(h)),
                _ => return Err(self.malformed(offset, format!("bad trailer {t:?}"))),
            };
            if records != self.records || chunks + 1 != self.next_chunk {
                return Err(self.malformed(
                    offset,
                    format!(
                        "trailer counts {records} records in {chunks} chunks, file has {} in {}",
                        self.records,
                        self.next_chunk - 1
                    ),
                ));
            }
            let mut frames = self
                .frames
                .take()
                .ok_or_else(|| self.malformed(offset, "reader reused".into()))?;
            match frames.next_raw()? {
                RawItem::End => {}
                _ => return Err(self.malformed(frames.offset(), "bytes after the trailer".into())),
            }
            let h = frames.into_inner();
            self.finished = Some(SnapshotFileInfo {
                seq: self.seq,
                key_id: self.key_id,
                len: h.len,
                sha256: h.hasher.finalize().into(),
                records,
                keys: self.key_count,
                horizon,
            });
            return Ok(None);
        }
        let form = if header.flags & FLAG_TYPED != 0 {
            Form::Typed
        } else {
            Form::Legacy
        };
        let recs = codec::decode_pieces(&plain, form)
            .map_err(|e| self.malformed(offset, format!("undecodable chunk: {e}")))?;
        if recs.len() as u64 != u64::from(header.b) {
            return Err(self.malformed(
                offset,
                "record count does not match the chunk header".into(),
            ));
        }
        for (i, r) in recs.iter().enumerate() {
            self.check_grammar(r)
                .map_err(|d| self.malformed(offset, format!("piece {i} of the chunk: {d}")))?;
            let version = match r {
                Piece::Record(r) => r.version,
                Piece::Header { version, .. } => *version,
                Piece::Functions { version, .. } => *version,
                Piece::Members(_) => 0,
            };
            crate::keyspace::clock::check_stored_seq(
                || format!("record version at offset {offset}:"),
                version,
            )
            .map_err(|source| StorageError::VersionBound {
                file: self.file.clone(),
                source,
            })?;
        }
        self.records += recs.len() as u64;
        Ok(Some(recs))
    }

    /// Advances the piece grammar by `p`: records between collections, a header opening a
    /// collection of a collection kind, followed by at least one non-empty batch of its kind;
    /// the collection ends at the next piece that is not a batch. The header's `members` is a
    /// size hint (at least 1), not a count: the live snapshot takes a big collection a batch
    /// per lock hold while it may change (docs/data-model.md §5). Fails closed otherwise.
    fn check_grammar(&mut self, p: &Piece) -> std::result::Result<(), String> {
        if !matches!(p, Piece::Members(_)) {
            match self.open {
                Some((_, 0)) => return Err("a collection header without elements".into()),
                Some(_) => self.open = None,
                None => {}
            }
        }
        match (p, self.open) {
            (Piece::Record(_), None) => {
                self.key_count += 1;
                Ok(())
            }
            (Piece::Header { kind, members, .. }, None) => {
                if *kind == Kind::String {
                    return Err("a header of a string".into());
                }
                if *members == 0 {
                    return Err("a header of an empty collection".into());
                }
                self.key_count += 1;
                self.open = Some((*kind, 0));
                Ok(())
            }
            (Piece::Members(v), Some((kind, seen))) => {
                if matches!(v, Value::String(_)) || v.kind() != kind {
                    return Err(format!(
                        "a {} batch inside a {} collection",
                        v.type_name(),
                        kind.type_name()
                    ));
                }
                let n = v.len() as u64;
                if n == 0 {
                    return Err("an empty member batch".into());
                }
                self.open = Some((kind, seen + n));
                Ok(())
            }
            (Piece::Members(_), None) => Err("member batch without a header".into()),
            (Piece::Functions { .. }, None) => {
                if self.saw_functions || self.key_count > 0 {
                    return Err("function libraries not first, or twice".into());
                }
                self.saw_functions = true;
                Ok(())
            }
            (_, Some(_)) => Err("a new key inside a collection".into()),
        }
    }

    /// Digest, length and counts; available once `next_chunk` returned `None`.
    pub fn info(&self) -> Option<&SnapshotFileInfo> {
        self.finished.as_ref()
    }
}

/// Reads a whole snapshot, feeding each record to `f`; returns what was verified.
pub fn read_snapshot(
    fs: &dyn FileSystem,
    dir: &Path,
    seq: u64,
    keys: &Keyring,
    f: &mut dyn FnMut(Piece),
) -> Result<SnapshotFileInfo> {
    read_snapshot_chunks(fs, dir, seq, keys, &mut |chunk| {
        chunk.into_iter().for_each(&mut *f)
    })
}

/// [`read_snapshot`] a chunk of records at a time (recovery hands chunks to another thread).
pub fn read_snapshot_chunks(
    fs: &dyn FileSystem,
    dir: &Path,
    seq: u64,
    keys: &Keyring,
    f: &mut dyn FnMut(Vec<Piece>),
) -> Result<SnapshotFileInfo> {
    let mut r = SnapshotReader::open(fs, dir, seq, keys)?;
    while let Some(chunk) = r.next_chunk()? {
        f(chunk);
    }
    r.info().cloned().ok_or_else(|| StorageError::Malformed {
        file: rel(seq),
        offset: 0,
        seq: SeqNote(Some(seq)),
        detail: "snapshot not fully read".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::{Record, Value};
    use crate::storage::fs::SimFs;
    use bytes::Bytes;

    fn rec(i: u64) -> Record {
        Record {
            db: 0,
            key: Bytes::from(format!("key{i}")),
            value: Value::String(Bytes::from(vec![b'x'; 50])),
            version: i,
            expires_at_ms: None,
        }
    }

    #[test]
    fn snapshot_round_trips_in_many_chunks_and_digest_matches() {
        let keys = Keyring::new(0);
        let (id, e) = keys.active().unwrap();
        let fs: Arc<dyn FileSystem> = Arc::new(SimFs::new());
        let dir = Path::new("/s");
        fs.create_dir_all(dir).unwrap();
        let mut w =
            SnapshotWriter::with_chunk_cap(fs.clone(), dir, 7, id, e.key.clone(), 500).unwrap();
        for i in 0..100 {
            w.add_piece(&Piece::Record(rec(i))).unwrap();
        }
        w.flush_ready().unwrap();
        let info = w.finish(Some(9)).unwrap();
        assert_eq!(info.horizon, Some(9));
        assert_eq!(info.records, 100);
        let mut got = Vec::new();
        let rinfo = read_snapshot(&*fs, dir, 7, &keys, &mut |r| got.push(r)).unwrap();
        assert_eq!(rinfo, info);
        assert_eq!(
            got,
            (0..100).map(|i| Piece::Record(rec(i))).collect::<Vec<_>>()
        );
        let bytes = fs.read_all(&dir.join("7.snap")).unwrap();
        assert_eq!(crate::storage::crypto::sha256(&bytes), info.sha256);
    }

    #[test]
    fn trailer_without_horizon_reads_as_unknown_and_horizon_never_below_seq() {
        let keys = Keyring::new(0);
        let (id, e) = keys.active().unwrap();
        let fs: Arc<dyn FileSystem> = Arc::new(SimFs::new());
        let dir = Path::new("/s");
        fs.create_dir_all(dir).unwrap();
        // A two-element trailer, as builds before horizons wrote.
        let mut w = SnapshotWriter::create(fs.clone(), dir, 5, id, e.key.clone()).unwrap();
        w.add_piece(&Piece::Record(rec(1))).unwrap();
        assert_eq!(w.finish(None).unwrap().horizon, None);
        let info = read_snapshot(&*fs, dir, 5, &keys, &mut |_| {}).unwrap();
        assert_eq!((info.records, info.horizon), (1, None));
        let mut w = SnapshotWriter::create(fs.clone(), dir, 6, id, e.key.clone()).unwrap();
        w.add_piece(&Piece::Record(rec(1))).unwrap();
        assert_eq!(w.finish(Some(2)).unwrap().horizon, Some(6));
        let info = read_snapshot(&*fs, dir, 6, &keys, &mut |_| {}).unwrap();
        assert_eq!(info.horizon, Some(6));
    }

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn header(kind: Kind, members: u64) -> Piece {
        Piece::Header {
            db: 0,
            key: b("c"),
            kind,
            version: 3,
            expires_at_ms: None,
            members,
        }
    }

    fn set(ms: &[&str]) -> Piece {
        Piece::Members(Value::Set(ms.iter().map(|m| b(m)).collect()))
    }

    /// Writes `pieces` (one chunk per piece with a tiny cap) and reads the snapshot back.
    fn write_read(pieces: &[Piece]) -> Result<(Vec<Piece>, SnapshotFileInfo)> {
        let keys = Keyring::new(0);
        let (id, e) = keys.active().unwrap();
        let fs: Arc<dyn FileSystem> = Arc::new(SimFs::new());
        let dir = Path::new("/s");
        fs.create_dir_all(dir).unwrap();
        let mut w =
            SnapshotWriter::with_chunk_cap(fs.clone(), dir, 7, id, e.key.clone(), 8).unwrap();
        for p in pieces {
            w.add_piece(p).unwrap();
        }
        w.finish(Some(7)).unwrap();
        let mut got = Vec::new();
        let info = read_snapshot(&*fs, dir, 7, &keys, &mut |p| got.push(p))?;
        Ok((got, info))
    }

    #[test]
    fn headers_and_batches_across_chunks_read_back_and_count_keys() {
        let pieces = vec![
            Piece::Record(rec(1)),
            header(Kind::Set, 3),
            set(&["a", "b"]),
            set(&["c"]),
            Piece::Header {
                db: 1,
                key: b("h"),
                kind: Kind::Hash,
                version: 4,
                expires_at_ms: Some(99),
                members: 1,
            },
            Piece::Members(Value::Hash(vec![(b("f"), b("v"))])),
            Piece::Record(rec(2)),
        ];
        let (got, info) = write_read(&pieces).unwrap();
        assert_eq!(got, pieces);
        assert_eq!((info.records, info.keys), (7, 4));
    }

    #[test]
    fn piece_grammar_violations_fail_closed_naming_file_and_offset() {
        let cases: Vec<(Vec<Piece>, &str)> = vec![
            (vec![set(&["a"])], "member batch without a header"),
            (
                vec![header(Kind::Set, 2)],
                "after a collection header without its elements",
            ),
            (
                vec![
                    header(Kind::Set, 2),
                    Piece::Members(Value::Hash(vec![(b("f"), b("v"))])),
                ],
                "a hash batch inside a set collection",
            ),
            (
                vec![header(Kind::Set, 1), header(Kind::Set, 1), set(&["a"])],
                "a collection header without elements",
            ),
            (
                vec![header(Kind::Set, 2), Piece::Record(rec(1))],
                "a collection header without elements",
            ),
            (vec![header(Kind::String, 1)], "a header of a string"),
            (
                vec![header(Kind::Set, 0)],
                "a header of an empty collection",
            ),
            (
                vec![header(Kind::Set, 1), Piece::Members(Value::String(b("x")))],
                "a string batch",
            ),
            (
                vec![header(Kind::Set, 1), set(&[])],
                "an empty member batch",
            ),
        ];
        // The header's size is a hint: fewer or more elements than it says are read (the live
        // snapshot takes a big collection while it changes), and a record may follow.
        for pieces in [
            vec![header(Kind::Set, 2), set(&["a"])],
            vec![
                header(Kind::Set, 2),
                set(&["a", "b", "c"]),
                Piece::Record(rec(1)),
            ],
        ] {
            write_read(&pieces).unwrap_or_else(|e| panic!("{pieces:?}: {e}"));
        }
        for (pieces, want) in cases {
            let e = write_read(&pieces)
                .err()
                .unwrap_or_else(|| panic!("{pieces:?} accepted"));
            match &e {
                StorageError::Malformed { file, offset, .. } => {
                    assert_eq!(file, "snapshots/7.snap");
                    assert!(*offset >= SNAP_HEADER_LEN as u64);
                }
                _ => panic!("{e}"),
            }
            assert!(e.to_string().contains(want), "{pieces:?}: {e}");
        }
    }

    #[test]
    fn chunks_of_builds_before_the_codec_read_and_typed_flag_decides_the_form() {
        // Captured from earlier builds: a bare record (builds before pieces) and the same
        // record as a `{"Record": ...}` piece (the transitional build), in an untagged chunk.
        let legacy_record = "9500c4016b81a6537472696e67c4017609c0";
        let chunk = format!("dd00000002{legacy_record}81a65265636f7264{legacy_record}");
        let chunk: Vec<u8> = (0..chunk.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&chunk[i..i + 2], 16).unwrap())
            .collect();
        let want = Piece::Record(Record {
            db: 0,
            key: b("k"),
            value: Value::String(b("v")),
            version: 9,
            expires_at_ms: None,
        });
        for (flags, ok) in [(0, true), (FLAG_TYPED, false), (4, false)] {
            let keys = Keyring::new(0);
            let (id, e) = keys.active().unwrap();
            let fs: Arc<dyn FileSystem> = Arc::new(SimFs::new());
            let dir = Path::new("/s");
            fs.create_dir_all(dir).unwrap();
            let mut w = SnapshotWriter::create(fs.clone(), dir, 7, id, e.key.clone()).unwrap();
            w.write_chunk(chunk.clone(), 2, flags).unwrap();
            w.records = 2;
            w.finish(Some(9)).unwrap();
            let mut got = Vec::new();
            let r = read_snapshot(&*fs, dir, 7, &keys, &mut |p| got.push(p));
            match r {
                Ok(info) => {
                    assert!(ok, "flags {flags} accepted");
                    assert_eq!(got, vec![want.clone(), want.clone()]);
                    assert_eq!(info.keys, 2);
                }
                Err(e) => {
                    assert!(!ok, "flags {flags}: {e}");
                    assert!(matches!(e, StorageError::Malformed { .. }), "{e}");
                }
            }
        }
    }
}

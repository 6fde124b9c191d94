//! The WAL on disk: the sealed-frame codec (shared with snapshots), segment names, and the
//! segment reader and writer.
//!
//! Owns: the byte layout of frames and segment headers (see `docs/storage-format.md`). A frame
//! is one encrypted object: a 56-byte header (length, key id, two place fields, flags, nonce,
//! header crc32c, body crc32c) followed by ciphertext+tag. Both crcs are checked before any
//! decryption. A WAL frame holds a whole group-commit batch of entries and is applied
//! all-or-nothing. Invariants: inside a segment, frames are dense and ascending in sequence;
//! a sealed segment named `<start>-<end>.wal` holds exactly the entries `start..=end`.
//!
//! The reader is independent of the writer thread so offline tools (`storage verify`, `pitr`)
//! reuse it. Does not: decide what to do with a torn tail (recovery does), or fsync policy
//! (the writer thread does).

use std::collections::BTreeSet;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::codec::{self, DecodeError, Form};
use super::crypto::{self, KeyId, SecretKey, NONCE_LEN, TAG_LEN};
use super::error::{Result, SeqNote, StorageError};
use super::fs::{FileSystem, WritableFile};
use super::keyring::{le_u32, le_u64, Keyring};
use super::FORMAT_VERSION;
use crate::keyspace::clock::check_stored_seq;
use crate::keyspace::Effect;

/// Bytes of a frame header.
pub const FRAME_HEADER_LEN: usize = 56;
/// Magic bytes of a WAL segment (also the WAL frames' kind in their associated data).
pub const WAL_MAGIC: &[u8; 8] = b"VXWALSEG";
/// Bytes of a segment header.
pub const SEGMENT_HEADER_LEN: usize = 24;
/// Target plaintext size of one WAL frame; a single larger entry gets a frame of its own.
pub const FRAME_PLAINTEXT_CAP: usize = 1 << 20;
/// WAL frame flag: the plaintext starts with the frame's commit time (u64 LE unix ms).
pub const WAL_FLAG_TIMED: u32 = 1;
/// WAL frame flag: the entries are in storage's typed codec ([`codec`], numeric tags); without
/// it they are in the legacy `rmp_serde` form of builds before the codec. Builds that predate
/// the flag refuse a frame carrying it (unknown flag bits are an error), so they fail cleanly.
pub const WAL_FLAG_TYPED: u32 = 2;
/// Every flag bit this build understands.
const WAL_FLAGS_KNOWN: u32 = WAL_FLAG_TIMED | WAL_FLAG_TYPED;

/// One WAL entry: a sequence number and the effects of that command / transaction.
pub type Entry = (u64, Vec<Effect>);

/// One WAL entry already serialized by [`encode_entry`]: (sequence, msgpack bytes).
pub type EncodedEntry = (u64, Vec<u8>);

/// Serializes one entry as it appears in a frame's array: msgpack `[seq, [effects...]]` in the
/// typed codec (frames are sealed with [`WAL_FLAG_TYPED`]).
pub fn encode_entry(seq: u64, effects: &[Effect], out: &mut Vec<u8>) -> Result<()> {
    codec::encode_entry(seq, effects, out).map_err(|e| StorageError::Encode {
        op: "encoding a WAL entry",
        detail: e.to_string(),
    })
}

/// Decodes the entries of an opened WAL frame (after its time field, if timed): the typed
/// codec when `flags` has [`WAL_FLAG_TYPED`], the legacy form otherwise.
pub fn decode_entries(flags: u32, payload: &[u8]) -> std::result::Result<Vec<Entry>, DecodeError> {
    let form = if flags & WAL_FLAG_TYPED != 0 {
        Form::Typed
    } else {
        Form::Legacy
    };
    codec::decode_entries(payload, form)
}

// ---------------------------------------------------------------------------------------------
// Generic sealed frame
// ---------------------------------------------------------------------------------------------

/// The clear-text header of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Ciphertext length including the 16-byte tag.
    pub len: u32,
    pub key_id: KeyId,
    /// WAL: first sequence of the frame. Snapshot: chunk index.
    pub a: u64,
    /// WAL: number of entries. Snapshot: number of records in the chunk.
    pub b: u32,
    /// WAL: bit 0 = timed ([`WAL_FLAG_TIMED`]), bit 1 = typed codec ([`WAL_FLAG_TYPED`]).
    /// Snapshot: bit 0 = final (trailer) chunk, bit 1 = typed codec.
    pub flags: u32,
    pub nonce: [u8; NONCE_LEN],
}

/// Associated data of a frame: binds it to its file kind, format version, file context
/// (WAL: segment start; snapshot: snapshot sequence) and every header field.
fn frame_ad(kind: &[u8; 8], context: u64, h: &FrameHeader) -> [u8; 40] {
    let mut ad = [0u8; 40];
    ad[..8].copy_from_slice(kind);
    ad[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    ad[12..20].copy_from_slice(&context.to_le_bytes());
    ad[20..24].copy_from_slice(&h.key_id.0.to_le_bytes());
    ad[24..32].copy_from_slice(&h.a.to_le_bytes());
    ad[32..36].copy_from_slice(&h.b.to_le_bytes());
    ad[36..40].copy_from_slice(&h.flags.to_le_bytes());
    ad
}

/// Seals `plaintext` and appends the complete frame to `out`.
#[allow(clippy::too_many_arguments)]
pub fn encode_frame(
    kind: &[u8; 8],
    context: u64,
    key_id: KeyId,
    key: &SecretKey,
    a: u64,
    b: u32,
    flags: u32,
    mut plaintext: Vec<u8>,
    out: &mut Vec<u8>,
) -> Result<()> {
    let too_big = || StorageError::Encode {
        op: "sealing a frame",
        detail: "frame larger than 4 GiB".into(),
    };
    let len = u32::try_from(plaintext.len().checked_add(TAG_LEN).ok_or_else(too_big)?)
        .map_err(|_| too_big())?;
    let mut h = FrameHeader {
        len,
        key_id,
        a,
        b,
        flags,
        nonce: [0; NONCE_LEN],
    };
    // The nonce is part of the header but not of the AD; it is authenticated by the AEAD itself.
    let ad = frame_ad(kind, context, &h);
    h.nonce = crypto::seal(key, &ad, &mut plaintext).map_err(|crypto::AeadError| {
        StorageError::Encode {
            op: "sealing a frame",
            detail: "cipher refused the plaintext".into(),
        }
    })?;
    let start = out.len();
    out.extend_from_slice(&h.len.to_le_bytes());
    out.extend_from_slice(&h.key_id.0.to_le_bytes());
    out.extend_from_slice(&h.a.to_le_bytes());
    out.extend_from_slice(&h.b.to_le_bytes());
    out.extend_from_slice(&h.flags.to_le_bytes());
    out.extend_from_slice(&h.nonce);
    let hcrc = crc32c::crc32c(out.get(start..).unwrap_or_default());
    out.extend_from_slice(&hcrc.to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(&plaintext).to_le_bytes());
    out.extend_from_slice(&plaintext);
    Ok(())
}

/// What the frame reader found at its position.
#[derive(Debug)]
pub enum RawItem {
    /// A complete frame whose crcs match; `body` is still encrypted.
    Frame {
        offset: u64,
        header: FrameHeader,
        body: Vec<u8>,
    },
    /// Clean end of file.
    End,
    /// The file ends inside a frame (or in zero fill): `bytes` bytes from `offset` on.
    Torn { offset: u64, bytes: u64 },
}

/// Reads frames one by one from a byte stream, checking crcs (never decrypting).
pub struct FrameReader<R: Read> {
    r: R,
    offset: u64,
    file_len: u64,
    file: String,
}

fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let Some(rest) = buf.get_mut(n..) else { break };
        match r.read(rest) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl<R: Read> FrameReader<R> {
    /// `offset` is the position `r` is at; `file_len` the file size; `file` the name for errors.
    pub fn new(r: R, offset: u64, file_len: u64, file: String) -> Self {
        FrameReader {
            r,
            offset,
            file_len,
            file,
        }
    }

    pub fn offset(&self) -> u64 {
        self.offset
    }

    pub fn into_inner(self) -> R {
        self.r
    }

    fn io_err(&self, e: io::Error) -> StorageError {
        StorageError::io("reading", PathBuf::from(&self.file), e)
    }

    /// Is everything from here to the end of the file zero bytes?
    fn rest_is_zero(&mut self) -> Result<bool> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = read_full(&mut self.r, &mut buf).map_err(|e| self.io_err(e))?;
            if buf.get(..n).is_none_or(|s| s.iter().any(|b| *b != 0)) {
                return Ok(false);
            }
            if n < buf.len() {
                return Ok(true);
            }
        }
    }

    /// Reads the next frame. After `End`/`Torn`/an error the reader must not be used again.
    pub fn next_raw(&mut self) -> Result<RawItem> {
        let offset = self.offset;
        let remaining = self.file_len.saturating_sub(offset);
        let mut hb = [0u8; FRAME_HEADER_LEN];
        let n = read_full(&mut self.r, &mut hb).map_err(|e| self.io_err(e))?;
        if n == 0 {
            return Ok(RawItem::End);
        }
        if n < FRAME_HEADER_LEN {
            return Ok(RawItem::Torn {
                offset,
                bytes: remaining,
            });
        }
        let stored_hcrc = le_u32(&hb, 48).unwrap_or_default();
        if crc32c::crc32c(hb.get(..48).unwrap_or_default()) != stored_hcrc {
            if hb.iter().all(|b| *b == 0) && self.rest_is_zero()? {
                return Ok(RawItem::Torn {
                    offset,
                    bytes: remaining,
                });
            }
            return Err(StorageError::ChecksumMismatch {
                file: self.file.clone(),
                offset,
                seq: SeqNote(None),
            });
        }
        let header = FrameHeader {
            len: le_u32(&hb, 0).unwrap_or_default(),
            key_id: KeyId(le_u32(&hb, 4).unwrap_or_default()),
            a: le_u64(&hb, 8).unwrap_or_default(),
            b: le_u32(&hb, 16).unwrap_or_default(),
            flags: le_u32(&hb, 20).unwrap_or_default(),
            nonce: hb
                .get(24..48)
                .and_then(|s| s.try_into().ok())
                .unwrap_or_default(),
        };
        let total = FRAME_HEADER_LEN as u64 + u64::from(header.len);
        if total > remaining {
            return Ok(RawItem::Torn {
                offset,
                bytes: remaining,
            });
        }
        let mut body = vec![0u8; header.len as usize];
        let got = read_full(&mut self.r, &mut body).map_err(|e| self.io_err(e))?;
        if got < body.len() {
            return Ok(RawItem::Torn {
                offset,
                bytes: remaining,
            });
        }
        if crc32c::crc32c(&body) != le_u32(&hb, 52).unwrap_or_default() {
            return Err(StorageError::ChecksumMismatch {
                file: self.file.clone(),
                offset,
                seq: SeqNote(None),
            });
        }
        self.offset += total;
        Ok(RawItem::Frame {
            offset,
            header,
            body,
        })
    }
}

/// Decrypts a frame body read by [`FrameReader`]; `seq` only decorates errors.
#[allow(clippy::too_many_arguments)]
pub fn open_frame(
    kind: &[u8; 8],
    context: u64,
    keys: &Keyring,
    file: &str,
    offset: u64,
    seq: Option<u64>,
    header: &FrameHeader,
    mut body: Vec<u8>,
) -> Result<Vec<u8>> {
    let key = keys
        .get(header.key_id)
        .ok_or_else(|| StorageError::UnknownKey {
            file: file.to_string(),
            offset,
            key_id: header.key_id.0,
        })?;
    crypto::open(
        key,
        &header.nonce,
        &frame_ad(kind, context, header),
        &mut body,
    )
    .map_err(|crypto::AeadError| StorageError::AuthFailed {
        file: file.to_string(),
        offset,
        seq: SeqNote(seq),
    })?;
    Ok(body)
}

// ---------------------------------------------------------------------------------------------
// Segment names and headers
// ---------------------------------------------------------------------------------------------

/// A WAL segment file name, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SegmentName {
    /// `<start>-<end>.wal`
    Sealed { start: u64, end: u64 },
    /// `active-<start>.wal`
    Active { start: u64 },
}

impl SegmentName {
    pub fn parse(name: &str) -> Option<Self> {
        let stem = name.strip_suffix(".wal")?;
        if let Some(s) = stem.strip_prefix("active-") {
            return Some(SegmentName::Active {
                start: parse_num(s)?,
            });
        }
        let (a, b) = stem.split_once('-')?;
        let (start, end) = (parse_num(a)?, parse_num(b)?);
        (start >= 1 && end >= start).then_some(SegmentName::Sealed { start, end })
    }

    pub fn start(&self) -> u64 {
        match *self {
            SegmentName::Sealed { start, .. } | SegmentName::Active { start } => start,
        }
    }

    pub fn file_name(&self) -> String {
        match *self {
            SegmentName::Sealed { start, end } => format!("{start}-{end}.wal"),
            SegmentName::Active { start } => format!("active-{start}.wal"),
        }
    }

    /// Name relative to the data dir, for messages.
    pub fn rel(&self) -> String {
        format!("wal/{}", self.file_name())
    }
}

fn parse_num(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The 24-byte segment header.
pub fn encode_segment_header(start: u64) -> [u8; SEGMENT_HEADER_LEN] {
    let mut h = [0u8; SEGMENT_HEADER_LEN];
    h[..8].copy_from_slice(WAL_MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[12..20].copy_from_slice(&start.to_le_bytes());
    let crc = crc32c::crc32c(&h[..20]);
    h[20..24].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Checks the common prefix of a file header: length, magic, crc32c of the bytes before
/// `crc_at` (stored at `crc_at`), and the format version at offset 8. Shared by WAL segments and
/// snapshots so the two headers are validated the same way.
pub(crate) fn check_file_header(
    h: &[u8],
    file: &str,
    magic: &[u8; 8],
    what: &'static str,
    crc_at: usize,
) -> Result<()> {
    if h.len() < crc_at + 4 {
        return Err(StorageError::Malformed {
            file: file.into(),
            offset: 0,
            seq: SeqNote(None),
            detail: format!("{what} header truncated"),
        });
    }
    if h.get(..8) != Some(magic.as_slice()) {
        return Err(StorageError::BadMagic {
            file: file.into(),
            offset: 0,
            expected: what,
        });
    }
    if crc32c::crc32c(h.get(..crc_at).unwrap_or_default()) != le_u32(h, crc_at).unwrap_or_default()
    {
        return Err(StorageError::ChecksumMismatch {
            file: file.into(),
            offset: 0,
            seq: SeqNote(None),
        });
    }
    let version = le_u32(h, 8).unwrap_or_default();
    if version != FORMAT_VERSION {
        return Err(StorageError::UnsupportedVersion {
            file: file.into(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    Ok(())
}

/// Checks a segment header; returns the start sequence it records.
pub fn decode_segment_header(h: &[u8], file: &str) -> Result<u64> {
    check_file_header(h, file, WAL_MAGIC, "WAL segment", 20)?;
    le_u64(h, 12).ok_or_else(|| StorageError::Malformed {
        file: file.into(),
        offset: 0,
        seq: SeqNote(None),
        detail: "segment header truncated".into(),
    })
}

// ---------------------------------------------------------------------------------------------
// Segment reader
// ---------------------------------------------------------------------------------------------

/// One decrypted WAL frame.
#[derive(Debug)]
pub struct WalFrame {
    pub offset: u64,
    pub key_id: KeyId,
    /// When the writer sealed the frame (unix ms); `None` for frames written before frames
    /// carried a time.
    pub time_ms: Option<u64>,
    pub entries: Vec<Entry>,
}

/// What a segment reader yields.
#[derive(Debug)]
pub enum SegmentItem {
    Frame(WalFrame),
    /// Clean end; `last_seq` is the last sequence in the segment (`start - 1` if empty).
    End {
        last_seq: u64,
    },
    /// Incomplete final frame at `offset` (`bytes` bytes to the end of the file).
    Torn {
        offset: u64,
        bytes: u64,
        last_seq: u64,
    },
}

/// Reads and verifies one segment frame by frame: crc, authentication, dense ascending sequences.
pub struct SegmentReader<'k> {
    name: SegmentName,
    rel: String,
    frames: FrameReader<Box<dyn Read + Send>>,
    keys: &'k Keyring,
    next_seq: u64,
    done: bool,
}

impl<'k> SegmentReader<'k> {
    /// Opens `wal_dir/<name>` and checks its header.
    pub fn open(
        fs: &dyn FileSystem,
        wal_dir: &Path,
        name: SegmentName,
        keys: &'k Keyring,
    ) -> Result<Self> {
        let rel = name.rel();
        let path = wal_dir.join(name.file_name());
        let len = fs
            .len(&path)
            .map_err(|e| StorageError::io("reading", &path, e))?;
        let mut r = fs
            .open_read(&path)
            .map_err(|e| StorageError::io("opening", &path, e))?;
        let mut h = [0u8; SEGMENT_HEADER_LEN];
        let n = read_full(&mut r, &mut h).map_err(|e| StorageError::io("reading", &path, e))?;
        let start = decode_segment_header(h.get(..n).unwrap_or_default(), &rel)?;
        // An empty segment after one ending at MAX_SEQ starts at MAX_SEQ + 1; nothing later.
        check_stored_seq(|| "segment start sequence".into(), start.saturating_sub(1)).map_err(
            |source| StorageError::VersionBound {
                file: rel.clone(),
                source,
            },
        )?;
        if start != name.start() {
            return Err(StorageError::Malformed {
                file: rel,
                offset: 12,
                seq: SeqNote(Some(start)),
                detail: format!("header start sequence {start} does not match the file name"),
            });
        }
        Ok(SegmentReader {
            name,
            frames: FrameReader::new(r, SEGMENT_HEADER_LEN as u64, len, rel.clone()),
            rel,
            keys,
            next_seq: start,
            done: false,
        })
    }

    pub fn rel(&self) -> &str {
        &self.rel
    }

    /// The next item. Sealed segments never yield `Torn` (that is an error for them).
    pub fn next_item(&mut self) -> Result<SegmentItem> {
        if self.done {
            return Ok(SegmentItem::End {
                last_seq: self.next_seq.saturating_sub(1),
            });
        }
        let last_seq = self.next_seq.saturating_sub(1);
        let raw = self.frames.next_raw();
        let raw = match raw {
            Ok(r) => r,
            Err(e) => {
                self.done = true;
                return Err(e);
            }
        };
        match raw {
            RawItem::End => {
                self.done = true;
                if let SegmentName::Sealed { end, .. } = self.name {
                    if last_seq != end {
                        return Err(StorageError::SequenceGap {
                            file: self.rel.clone(),
                            offset: self.frames.offset(),
                            expected: end,
                            found: last_seq,
                        });
                    }
                }
                Ok(SegmentItem::End { last_seq })
            }
            RawItem::Torn { offset, bytes } => {
                self.done = true;
                if let SegmentName::Sealed { .. } = self.name {
                    return Err(StorageError::Malformed {
                        file: self.rel.clone(),
                        offset,
                        seq: SeqNote(Some(self.next_seq)),
                        detail: format!(
                            "sealed segment ends inside a frame ({bytes} trailing bytes)"
                        ),
                    });
                }
                Ok(SegmentItem::Torn {
                    offset,
                    bytes,
                    last_seq,
                })
            }
            RawItem::Frame {
                offset,
                header,
                body,
            } => {
                let res = self.decode_frame(offset, header, body);
                if res.is_err() {
                    self.done = true;
                }
                res.map(SegmentItem::Frame)
            }
        }
    }

    fn decode_frame(
        &mut self,
        offset: u64,
        header: FrameHeader,
        body: Vec<u8>,
    ) -> Result<WalFrame> {
        let first = header.a;
        if header.flags & !WAL_FLAGS_KNOWN != 0 {
            return Err(StorageError::Malformed {
                file: self.rel.clone(),
                offset,
                seq: SeqNote(Some(first)),
                detail: format!("unknown WAL frame flags {:#x}", header.flags),
            });
        }
        if first != self.next_seq || header.b == 0 {
            return Err(StorageError::SequenceGap {
                file: self.rel.clone(),
                offset,
                expected: self.next_seq,
                found: first,
            });
        }
        let plain = open_frame(
            WAL_MAGIC,
            self.name.start(),
            self.keys,
            &self.rel,
            offset,
            Some(first),
            &header,
            body,
        )?;
        let (time_ms, payload) = if header.flags & WAL_FLAG_TIMED != 0 {
            match plain.split_first_chunk::<8>() {
                Some((t, rest)) => (Some(u64::from_le_bytes(*t)), rest),
                None => {
                    return Err(StorageError::Malformed {
                        file: self.rel.clone(),
                        offset,
                        seq: SeqNote(Some(first)),
                        detail: "timed frame shorter than its time field".into(),
                    })
                }
            }
        } else {
            (None, &plain[..])
        };
        let entries =
            decode_entries(header.flags, payload).map_err(|e| StorageError::Malformed {
                file: self.rel.clone(),
                offset,
                seq: SeqNote(Some(first)),
                detail: format!("undecodable frame payload: {e}"),
            })?;
        if entries.len() as u64 != u64::from(header.b) {
            return Err(StorageError::Malformed {
                file: self.rel.clone(),
                offset,
                seq: SeqNote(Some(first)),
                detail: format!(
                    "frame header says {} entries, payload has {}",
                    header.b,
                    entries.len()
                ),
            });
        }
        for (seq, _) in &entries {
            check_stored_seq(|| format!("WAL sequence at offset {offset}:"), *seq).map_err(
                |source| StorageError::VersionBound {
                    file: self.rel.clone(),
                    source,
                },
            )?;
            if *seq != self.next_seq {
                return Err(StorageError::SequenceGap {
                    file: self.rel.clone(),
                    offset,
                    expected: self.next_seq,
                    found: *seq,
                });
            }
            // seq <= MAX_SEQ < u64::MAX: cannot overflow.
            self.next_seq = seq.saturating_add(1);
        }
        Ok(WalFrame {
            offset,
            key_id: header.key_id,
            time_ms,
            entries,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Frame encoding of entries and the segment writer
// ---------------------------------------------------------------------------------------------

/// Encodes `entries` (dense, ascending) as WAL frames appended to `out`, splitting between
/// entries so each frame's plaintext stays within `cap` (the server uses
/// [`FRAME_PLAINTEXT_CAP`]); an entry larger than the cap gets a frame of its own. Payload:
/// with `time_ms`, the time (u64 LE, flag [`WAL_FLAG_TIMED`]) then msgpack array32 of
/// `(seq, effects)`; without, just the array (frames of older builds, kept by migrate).
pub fn encode_wal_frames(
    segment_start: u64,
    key_id: KeyId,
    key: &SecretKey,
    entries: &[Entry],
    cap: usize,
    time_ms: Option<u64>,
    out: &mut Vec<u8>,
) -> Result<()> {
    let mut encoded = Vec::with_capacity(entries.len());
    for (seq, effects) in entries {
        let mut b = Vec::new();
        encode_entry(*seq, effects, &mut b)?;
        encoded.push((*seq, b));
    }
    seal_wal_frames(segment_start, key_id, key, &encoded, cap, time_ms, out)
}

/// [`encode_wal_frames`] for entries serialized beforehand (the server serializes each entry on
/// the thread that ran the command; only sealing happens on the writer thread).
pub fn seal_wal_frames(
    segment_start: u64,
    key_id: KeyId,
    key: &SecretKey,
    entries: &[EncodedEntry],
    cap: usize,
    time_ms: Option<u64>,
    out: &mut Vec<u8>,
) -> Result<()> {
    let (array_at, flags) = match time_ms {
        Some(_) => (8, WAL_FLAG_TIMED | WAL_FLAG_TYPED),
        None => (0, WAL_FLAG_TYPED),
    };
    let mut plain: Vec<u8> = Vec::new();
    let mut first = 0u64;
    let mut count = 0u32;
    let flush = |plain: &mut Vec<u8>, first: u64, count: u32, out: &mut Vec<u8>| -> Result<()> {
        if count == 0 {
            return Ok(());
        }
        if let Some(h) = plain.get_mut(array_at + 1..array_at + 5) {
            h.copy_from_slice(&count.to_be_bytes());
        }
        encode_frame(
            WAL_MAGIC,
            segment_start,
            key_id,
            key,
            first,
            count,
            flags,
            std::mem::take(plain),
            out,
        )
    };
    for (seq, bytes) in entries {
        if count > 0 && plain.len() - array_at + bytes.len() > cap {
            flush(&mut plain, first, count, out)?;
            count = 0;
        }
        if count == 0 {
            plain.clear();
            if let Some(t) = time_ms {
                plain.extend_from_slice(&t.to_le_bytes());
            }
            plain.extend_from_slice(&[0xdd, 0, 0, 0, 0]);
            first = *seq;
        }
        plain.extend_from_slice(bytes);
        count += 1;
    }
    flush(&mut plain, first, count, out)
}

/// Appends frames to the one active segment and seals it.
pub struct SegmentWriter {
    fs: Arc<dyn FileSystem>,
    wal_dir: PathBuf,
    start: u64,
    /// Next sequence this segment expects.
    next_seq: u64,
    len: u64,
    file: Box<dyn WritableFile>,
    keys: BTreeSet<KeyId>,
}

impl SegmentWriter {
    /// Creates `active-<start>.wal` durably: header written to a temp file, fsynced, renamed,
    /// directory fsynced.
    pub fn create(fs: Arc<dyn FileSystem>, wal_dir: &Path, start: u64) -> Result<Self> {
        let name = SegmentName::Active { start };
        let path = wal_dir.join(name.file_name());
        let tmp = wal_dir.join(format!("{}.tmp", name.file_name()));
        let mut f = fs
            .create(&tmp)
            .map_err(|e| StorageError::io("creating", &tmp, e))?;
        f.write_all(&encode_segment_header(start))
            .and_then(|()| f.sync_data())
            .map_err(|e| StorageError::io("writing", &tmp, e))?;
        drop(f);
        fs.rename(&tmp, &path)
            .map_err(|e| StorageError::io("renaming", &tmp, e))?;
        fs.sync_dir(wal_dir)
            .map_err(|e| StorageError::io("syncing directory", wal_dir, e))?;
        let file = fs
            .open_append(&path)
            .map_err(|e| StorageError::io("opening", &path, e))?;
        Ok(SegmentWriter {
            fs,
            wal_dir: wal_dir.to_path_buf(),
            start,
            next_seq: start,
            len: SEGMENT_HEADER_LEN as u64,
            file,
            keys: BTreeSet::new(),
        })
    }

    /// Continues an existing active segment (after recovery verified it).
    pub fn open_existing(
        fs: Arc<dyn FileSystem>,
        wal_dir: &Path,
        start: u64,
        next_seq: u64,
        keys: BTreeSet<KeyId>,
    ) -> Result<Self> {
        let path = wal_dir.join(SegmentName::Active { start }.file_name());
        let len = fs
            .len(&path)
            .map_err(|e| StorageError::io("reading", &path, e))?;
        let file = fs
            .open_append(&path)
            .map_err(|e| StorageError::io("opening", &path, e))?;
        Ok(SegmentWriter {
            fs,
            wal_dir: wal_dir.to_path_buf(),
            start,
            next_seq,
            len,
            file,
            keys,
        })
    }

    pub fn start(&self) -> u64 {
        self.start
    }
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }
    pub fn len(&self) -> u64 {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.next_seq == self.start
    }
    /// Key ids of the frames in this segment.
    pub fn keys(&self) -> &BTreeSet<KeyId> {
        &self.keys
    }

    fn path(&self) -> PathBuf {
        self.wal_dir
            .join(SegmentName::Active { start: self.start }.file_name())
    }

    /// Appends already-encoded frames holding entries up to `last_seq` (no fsync).
    pub fn append(&mut self, frames: &[u8], last_seq: u64, key_id: KeyId) -> Result<()> {
        self.file
            .write_all(frames)
            .map_err(|e| StorageError::io("appending to", self.path(), e))?;
        self.len += frames.len() as u64;
        // last_seq comes from the clock (<= MAX_SEQ); saturating keeps even a bad caller
        // from wrapping.
        self.next_seq = last_seq.saturating_add(1);
        self.keys.insert(key_id);
        Ok(())
    }

    /// fdatasync.
    pub fn sync(&mut self) -> Result<()> {
        self.file
            .sync_data()
            .map_err(|e| StorageError::io("fsyncing", self.path(), e))
    }

    /// Seals a non-empty segment: fsync, rename to `<start>-<end>.wal`, fsync the directory.
    /// Returns the sealed name.
    pub fn seal(mut self) -> Result<SegmentName> {
        self.sync()?;
        let name = SegmentName::Sealed {
            start: self.start,
            end: self.next_seq.saturating_sub(1),
        };
        let from = self.path();
        let to = self.wal_dir.join(name.file_name());
        drop(self.file);
        self.fs
            .rename(&from, &to)
            .map_err(|e| StorageError::io("renaming", &from, e))?;
        self.fs
            .sync_dir(&self.wal_dir)
            .map_err(|e| StorageError::io("syncing directory", &self.wal_dir, e))?;
        Ok(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::Value;
    use crate::storage::fs::SimFs;
    use bytes::Bytes;

    fn put(i: u64, size: usize) -> Entry {
        (
            i,
            vec![Effect::Put {
                db: 0,
                key: Bytes::from(format!("k{i}")),
                value: Value::String(Bytes::from(vec![b'v'; size])),
                expires_at_ms: None,
            }],
        )
    }

    #[test]
    fn segment_names_parse_and_print() {
        assert_eq!(
            SegmentName::parse("12-40.wal"),
            Some(SegmentName::Sealed { start: 12, end: 40 })
        );
        assert_eq!(
            SegmentName::parse("active-41.wal"),
            Some(SegmentName::Active { start: 41 })
        );
        assert_eq!(SegmentName::parse("40-12.wal"), None);
        assert_eq!(SegmentName::parse("x.wal"), None);
        assert_eq!(
            SegmentName::Sealed { start: 1, end: 2 }.file_name(),
            "1-2.wal"
        );
    }

    #[test]
    fn frames_split_at_cap_and_big_entry_goes_alone() {
        let keys = Keyring::new(0);
        let (id, e) = keys.active().unwrap();
        let fs: Arc<dyn FileSystem> = Arc::new(SimFs::new());
        let dir = Path::new("/w");
        fs.create_dir_all(dir).unwrap();
        let mut w = SegmentWriter::create(fs.clone(), dir, 1).unwrap();
        let entries: Vec<Entry> = vec![put(1, 600), put(2, 600), put(3, 3_000), put(4, 10)];
        let mut out = Vec::new();
        // The time prefix does not count against the cap: 600 + 600 bytes still split.
        encode_wal_frames(
            1,
            id,
            &e.key,
            &entries,
            1000,
            Some(1_700_000_000_123),
            &mut out,
        )
        .unwrap();
        // An untimed frame (as older builds wrote) in the same segment still reads.
        encode_wal_frames(
            1,
            id,
            &e.key,
            &[put(5, 10), put(6, 10)],
            1000,
            None,
            &mut out,
        )
        .unwrap();
        w.append(&out, 6, id).unwrap();
        w.sync().unwrap();
        let mut r =
            SegmentReader::open(&*fs, dir, SegmentName::Active { start: 1 }, &keys).unwrap();
        let mut sizes = Vec::new();
        loop {
            match r.next_item().unwrap() {
                SegmentItem::Frame(f) => {
                    sizes.push((f.time_ms, f.entries.iter().map(|e| e.0).collect::<Vec<_>>()))
                }
                SegmentItem::End { last_seq } => {
                    assert_eq!(last_seq, 6);
                    break;
                }
                SegmentItem::Torn { .. } => panic!("torn"),
            }
        }
        let t = Some(1_700_000_000_123);
        assert_eq!(
            sizes,
            vec![
                (t, vec![1]),
                (t, vec![2]),
                (t, vec![3]),
                (t, vec![4]),
                (None, vec![5, 6])
            ]
        );
        let sealed = w.seal().unwrap();
        assert_eq!(sealed, SegmentName::Sealed { start: 1, end: 6 });
    }

    /// Reads the first item of a segment starting at `start` holding entries `seqs`.
    fn read_first(start: u64, seqs: &[u64]) -> Result<SegmentItem> {
        let keys = Keyring::new(0);
        let (id, e) = keys.active().unwrap();
        let fs: Arc<dyn FileSystem> = Arc::new(SimFs::new());
        let dir = Path::new("/w");
        fs.create_dir_all(dir).unwrap();
        let mut w = SegmentWriter::create(fs.clone(), dir, start).unwrap();
        let entries: Vec<Entry> = seqs.iter().map(|s| put(*s, 4)).collect();
        let mut out = Vec::new();
        encode_wal_frames(start, id, &e.key, &entries, 1 << 20, Some(1), &mut out).unwrap();
        w.append(&out, *seqs.last().unwrap(), id).unwrap();
        w.sync().unwrap();
        let mut r = SegmentReader::open(&*fs, dir, SegmentName::Active { start }, &keys)?;
        r.next_item()
    }

    #[test]
    fn wal_entries_beyond_the_clock_bound_are_refused_not_wrapped() {
        use crate::keyspace::clock::MAX_SEQ;
        // Up to MAX_SEQ reads.
        match read_first(MAX_SEQ - 1, &[MAX_SEQ - 1, MAX_SEQ]).unwrap() {
            SegmentItem::Frame(f) => assert_eq!(f.entries.last().unwrap().0, MAX_SEQ),
            _ => panic!("expected a frame"),
        }
        // What the unbounded clock wrote (issue 11): refused with the bound named.
        for (start, seqs) in [
            (MAX_SEQ, vec![MAX_SEQ, MAX_SEQ + 1]),
            (
                18446744073709551613,
                vec![18446744073709551613, 18446744073709551614],
            ),
        ] {
            let e = match read_first(start, &seqs) {
                Err(e) => e,
                Ok(_) => panic!("segment at {start} accepted"),
            };
            assert!(matches!(e, StorageError::VersionBound { .. }), "{e}");
            assert!(
                e.to_string().contains("is above 9223372036854775807"),
                "{e}"
            );
        }
    }

    /// Appends one sealed frame with `payload` and `flags` (timed: 8-byte time first).
    fn raw_frame(
        first: u64,
        count: u32,
        flags: u32,
        payload: &[u8],
    ) -> (Keyring, Arc<dyn FileSystem>) {
        let keys = Keyring::new(0);
        let (id, e) = keys.active().unwrap();
        let fs: Arc<dyn FileSystem> = Arc::new(SimFs::new());
        let dir = Path::new("/w");
        fs.create_dir_all(dir).unwrap();
        let mut w = SegmentWriter::create(fs.clone(), dir, first).unwrap();
        let mut out = Vec::new();
        encode_frame(
            WAL_MAGIC,
            first,
            id,
            &e.key,
            first,
            count,
            flags,
            payload.to_vec(),
            &mut out,
        )
        .unwrap();
        w.append(&out, first + u64::from(count) - 1, id).unwrap();
        w.sync().unwrap();
        (keys, fs)
    }

    fn first_item(keys: &Keyring, fs: &Arc<dyn FileSystem>, start: u64) -> Result<SegmentItem> {
        let mut r =
            SegmentReader::open(&**fs, Path::new("/w"), SegmentName::Active { start }, keys)?;
        r.next_item()
    }

    #[test]
    fn frames_of_builds_before_the_codec_decode_and_new_frames_carry_the_typed_flag() {
        // Captured from the build before storage::codec: untimed frame (flags 0), entries
        // [1, [Put k=v]] and [2, [FlushAll]] in rmp_serde's form.
        let legacy = "dd00000002920191\
                      81a35075749400c4016b81a6537472696e67c40176c0\
                      920291a8466c757368416c6c";
        let legacy: Vec<u8> = (0..legacy.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&legacy[i..i + 2], 16).unwrap())
            .collect();
        let (keys, fs) = raw_frame(1, 2, 0, &legacy);
        match first_item(&keys, &fs, 1).unwrap() {
            SegmentItem::Frame(f) => assert_eq!(
                f.entries,
                vec![
                    (
                        1,
                        vec![Effect::Put {
                            db: 0,
                            key: Bytes::from_static(b"k"),
                            value: Value::String(Bytes::from_static(b"v")),
                            expires_at_ms: None
                        }]
                    ),
                    (2, vec![Effect::FlushAll])
                ]
            ),
            _ => panic!("expected a frame"),
        }
        // The same legacy bytes under the typed flag are refused, naming file and offset.
        let (keys, fs) = raw_frame(1, 2, WAL_FLAG_TYPED, &legacy);
        let e = first_item(&keys, &fs, 1).err().unwrap();
        match &e {
            StorageError::Malformed { file, offset, .. } => {
                assert_eq!(file, "wal/active-1.wal");
                assert_eq!(*offset, SEGMENT_HEADER_LEN as u64);
            }
            _ => panic!("{e}"),
        }
        // A flag bit this build does not know (a later codec) is refused before decrypting.
        let (keys, fs) = raw_frame(1, 2, 4, &legacy);
        let e = first_item(&keys, &fs, 1).err().unwrap();
        assert!(e.to_string().contains("unknown WAL frame flags"), "{e}");
        // Frames this build writes say they are typed, timed or not.
        let keys = Keyring::new(0);
        let (id, k) = keys.active().unwrap();
        for t in [Some(5), None] {
            let mut out = Vec::new();
            encode_wal_frames(1, id, &k.key, &[put(1, 3)], 1 << 20, t, &mut out).unwrap();
            let flags = u32::from_le_bytes(out[20..24].try_into().unwrap());
            assert_ne!(flags & WAL_FLAG_TYPED, 0);
        }
    }
}

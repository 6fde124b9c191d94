//! The manifest: the durable baseline that ties a snapshot to the WAL.
//!
//! Owns: the `manifest` file. Layout: magic `VXMANIFS`, format version (u32 LE), body length
//! (u32 LE), msgpack body, HMAC-SHA256 over everything before it, keyed by a key derived from
//! the master key. Invariants: the manifest is replaced atomically (temp, fsync, rename, fsync
//! dir) and only after the snapshot it names is durable; the snapshot it names is never pruned.
//! No manifest means "no snapshot yet" (baseline sequence 0).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::crypto::{hmac_sha256, hmac_sha256_verify, KeyId, SecretKey};
use super::error::{Result, SeqNote, StorageError};
use super::fs::{write_atomic, FileSystem};
use super::keyring::le_u32;
use super::FORMAT_VERSION;

/// File name of the manifest.
pub const MANIFEST_FILE: &str = "manifest";
/// Magic bytes of the manifest.
pub const MANIFEST_MAGIC: &[u8; 8] = b"VXMANIFS";
const MAC_LEN: usize = 32;

/// The manifest's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Sequence the snapshot is consistent at (every entry <= it is included).
    pub snapshot_seq: u64,
    /// Byte length and SHA-256 of `snapshots/<snapshot_seq>.snap`.
    pub snapshot_len: u64,
    pub snapshot_sha256: [u8; 32],
    /// Data key the snapshot is sealed with.
    pub snapshot_key_id: KeyId,
    /// Start of the active segment when the snapshot was taken (= snapshot_seq + 1).
    pub wal_start: u64,
    /// Oldest WAL sequence retained after this snapshot's pruning.
    pub oldest_retained_seq: u64,
    /// Unix milliseconds when written.
    pub created_unix_ms: u64,
}

fn mac_key(master: &SecretKey) -> zeroize::Zeroizing<[u8; 32]> {
    master.derive("manifest-mac")
}

fn malformed(offset: u64, d: impl Into<String>) -> StorageError {
    StorageError::Malformed {
        file: MANIFEST_FILE.into(),
        offset,
        seq: SeqNote(None),
        detail: d.into(),
    }
}

impl Manifest {
    pub fn encode(&self, master: &SecretKey) -> Result<Vec<u8>> {
        let body = rmp_serde::to_vec(self).map_err(|e| StorageError::Encode {
            op: "encoding the manifest",
            detail: e.to_string(),
        })?;
        let mut out = Vec::with_capacity(16 + body.len() + MAC_LEN);
        out.extend_from_slice(MANIFEST_MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&body);
        let mac = hmac_sha256(&mac_key(master), &out).map_err(|_| StorageError::Encode {
            op: "authenticating the manifest",
            detail: "HMAC refused its key".into(),
        })?;
        out.extend_from_slice(&mac);
        Ok(out)
    }

    pub fn decode(b: &[u8], master: &SecretKey) -> Result<Self> {
        if b.get(..8) != Some(MANIFEST_MAGIC.as_slice()) {
            return Err(StorageError::BadMagic {
                file: MANIFEST_FILE.into(),
                offset: 0,
                expected: "manifest",
            });
        }
        let body_len = le_u32(b, 12).ok_or_else(|| malformed(12, "truncated header"))? as usize;
        let mac_at = 16usize
            .checked_add(body_len)
            .filter(|m| m.checked_add(MAC_LEN) == Some(b.len()))
            .ok_or_else(|| {
                malformed(
                    12,
                    format!(
                        "body length {body_len} does not match file size {}",
                        b.len()
                    ),
                )
            })?;
        let covered = b.get(..mac_at).unwrap_or_default();
        let mac = b.get(mac_at..).unwrap_or_default();
        // Constant time: how much of a forged MAC matches must not show in the timing.
        if !hmac_sha256_verify(&mac_key(master), covered, mac) {
            return Err(StorageError::AuthFailed {
                file: MANIFEST_FILE.into(),
                offset: mac_at as u64,
                seq: SeqNote(None),
            });
        }
        let version = le_u32(b, 8).unwrap_or_default();
        if version != FORMAT_VERSION {
            return Err(StorageError::UnsupportedVersion {
                file: MANIFEST_FILE.into(),
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let m: Manifest = rmp_serde::from_slice(b.get(16..mac_at).unwrap_or_default())
            .map_err(|e| malformed(16, e.to_string()))?;
        crate::keyspace::clock::check_stored_seq(|| "snapshot sequence".into(), m.snapshot_seq)
            .map_err(|source| StorageError::VersionBound {
                file: MANIFEST_FILE.into(),
                source,
            })?;
        Ok(m)
    }

    /// Reads `<dir>/manifest` if it exists.
    pub fn load(fs: &dyn FileSystem, dir: &Path, master: &SecretKey) -> Result<Option<Self>> {
        let path = dir.join(MANIFEST_FILE);
        if !fs
            .exists(&path)
            .map_err(|e| StorageError::io("checking", &path, e))?
        {
            return Ok(None);
        }
        let bytes = fs
            .read_all(&path)
            .map_err(|e| StorageError::io("reading", &path, e))?;
        Self::decode(&bytes, master).map(Some)
    }

    /// Durably replaces `<dir>/manifest`.
    pub fn store(&self, fs: &dyn FileSystem, dir: &Path, master: &SecretKey) -> Result<()> {
        let bytes = self.encode(master)?;
        write_atomic(fs, dir, MANIFEST_FILE, &bytes)
            .map_err(|e| StorageError::io("atomically replacing", dir.join(MANIFEST_FILE), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The manifest of the fields in [`golden_manifest_bytes_are_pinned`] under master key
    /// 00 01 .. 1f: header, msgpack body, then the HMAC-SHA256 (keyed by the derived
    /// `manifest-mac` key) over everything before it. The MAC was checked against Python's
    /// `hmac`/`hashlib`. Every existing data dir's manifest must keep verifying.
    const GOLDEN_MANIFEST: &str = concat!(
        "56584d414e494653030000004700000097cd1092ce0001e240dc002000070e151c232a31383f464d",
        "545b626970777ecc85cc8ccc93cc9acca1cca8ccafccb6ccbdccc4cccbccd2ccd903cd109311cf00",
        "00018f125c7400285b13847d3e08c36e44e1f7899a9b675a037c84969843cbe83f8101a81511d7",
    );

    #[test]
    fn golden_manifest_bytes_are_pinned() {
        let master = SecretKey::from_bytes(std::array::from_fn(|i| i as u8));
        let m = Manifest {
            snapshot_seq: 4242,
            snapshot_len: 123_456,
            snapshot_sha256: std::array::from_fn(|i| (i * 7) as u8),
            snapshot_key_id: KeyId(3),
            wal_start: 4243,
            oldest_retained_seq: 17,
            created_unix_ms: 1_714_000_000_000,
        };
        let hex: String = m
            .encode(&master)
            .unwrap()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, GOLDEN_MANIFEST);
        let bytes: Vec<u8> = (0..GOLDEN_MANIFEST.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&GOLDEN_MANIFEST[i..i + 2], 16).unwrap())
            .collect();
        assert_eq!(Manifest::decode(&bytes, &master).unwrap(), m);
        let other = SecretKey::from_bytes([0; 32]);
        assert!(matches!(
            Manifest::decode(&bytes, &other),
            Err(StorageError::AuthFailed { .. })
        ));
    }

    #[test]
    fn manifest_round_trips_and_rejects_any_flipped_byte() {
        let master = SecretKey::generate();
        let m = Manifest {
            snapshot_seq: 10,
            snapshot_len: 99,
            snapshot_sha256: [7; 32],
            snapshot_key_id: KeyId(1),
            wal_start: 11,
            oldest_retained_seq: 1,
            created_unix_ms: 5,
        };
        let b = m.encode(&master).unwrap();
        assert_eq!(Manifest::decode(&b, &master).unwrap(), m);
        for i in 0..b.len() {
            let mut c = b.clone();
            c[i] ^= 0x40;
            assert!(
                Manifest::decode(&c, &master).is_err(),
                "flip at {i} accepted"
            );
        }
    }
}

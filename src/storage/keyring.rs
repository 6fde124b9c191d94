//! The keyring: data keys, wrapped by the master key.
//!
//! Owns: the `keyring` file and the in-memory [`Keyring`]. The whole key list is sealed as one
//! XChaCha20-Poly1305 object under the master key (so every data key is wrapped, and the active
//! key id and creation times cannot be altered), with a crc32c over the whole file checked first:
//! a good crc with a failed tag means a wrong master key. Invariants: key ids are never reused
//! (`next_id` only grows); the active key is never retired; a key is retired only when no
//! retained file needs it, and only after that file's removal is durable.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use super::crypto::{self, KeyId, SecretKey, KEY_LEN, NONCE_LEN};
use super::error::{Result, StorageError};
use super::fs::{write_atomic, FileSystem};
use super::FORMAT_VERSION;

/// File name of the keyring in the data dir.
pub const KEYRING_FILE: &str = "keyring";
/// Magic bytes at offset 0 of the keyring.
pub const KEYRING_MAGIC: &[u8; 8] = b"VXKEYRNG";
const HEADER_LEN: usize = 8 + 4 + NONCE_LEN + 4;

/// One data key.
#[derive(Clone, Debug)]
pub struct KeyEntry {
    pub key: SecretKey,
    /// Unix seconds.
    pub created_at: u64,
}

/// The data keys and which one is active.
#[derive(Clone, Debug)]
pub struct Keyring {
    active: KeyId,
    next_id: u32,
    keys: BTreeMap<KeyId, KeyEntry>,
}

#[derive(Serialize, Deserialize)]
struct KeyRecord {
    id: u32,
    created_at: u64,
    key: [u8; KEY_LEN],
}

/// The encode/decode copies of data keys are wiped like the keys themselves.
impl Drop for KeyRecord {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

#[derive(Serialize, Deserialize)]
struct Body {
    active: u32,
    next_id: u32,
    keys: Vec<KeyRecord>,
}

fn malformed(offset: u64, detail: impl Into<String>) -> StorageError {
    StorageError::Malformed {
        file: KEYRING_FILE.into(),
        offset,
        seq: super::error::SeqNote(None),
        detail: detail.into(),
    }
}

impl Keyring {
    /// A new keyring with one fresh active key (id 1).
    pub fn new(now_secs: u64) -> Self {
        let mut k = Keyring {
            active: KeyId(0),
            next_id: 1,
            keys: BTreeMap::new(),
        };
        k.rotate(now_secs);
        k
    }

    pub fn get(&self, id: KeyId) -> Option<&SecretKey> {
        self.keys.get(&id).map(|e| &e.key)
    }

    pub fn active_id(&self) -> KeyId {
        self.active
    }

    /// The active key. The keyring always holds its active key (checked on decode).
    pub fn active(&self) -> Option<(KeyId, &KeyEntry)> {
        self.keys.get(&self.active).map(|e| (self.active, e))
    }

    pub fn entries(&self) -> impl Iterator<Item = (KeyId, &KeyEntry)> {
        self.keys.iter().map(|(k, v)| (*k, v))
    }

    /// Adds a fresh key and makes it active; returns its id.
    pub fn rotate(&mut self, now_secs: u64) -> KeyId {
        let id = KeyId(self.next_id);
        self.next_id = self.next_id.saturating_add(1);
        self.keys.insert(
            id,
            KeyEntry {
                key: SecretKey::generate(),
                created_at: now_secs,
            },
        );
        self.active = id;
        id
    }

    /// Removes every key that is neither active nor in `needed`; returns the removed ids.
    pub fn retire_unneeded(&mut self, needed: &BTreeSet<KeyId>) -> Vec<KeyId> {
        let gone: Vec<KeyId> = self
            .keys
            .keys()
            .copied()
            .filter(|id| *id != self.active && !needed.contains(id))
            .collect();
        for id in &gone {
            self.keys.remove(id);
        }
        gone
    }

    fn ad() -> [u8; 12] {
        let mut ad = [0u8; 12];
        ad[..8].copy_from_slice(KEYRING_MAGIC);
        ad[8..].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        ad
    }

    /// Serializes and seals the keyring under `master`.
    pub fn encode(&self, master: &SecretKey) -> Result<Vec<u8>> {
        let body = Body {
            active: self.active.0,
            next_id: self.next_id,
            keys: self
                .keys
                .iter()
                .map(|(id, e)| KeyRecord {
                    id: id.0,
                    created_at: e.created_at,
                    key: *e.key.bytes(),
                })
                .collect(),
        };
        // The plaintext holds every data key: wiped on drop (it is sealed in place, so on
        // success what is dropped is ciphertext, but an error path drops the plaintext).
        let mut ct =
            Zeroizing::new(rmp_serde::to_vec(&body).map_err(|e| StorageError::Encode {
                op: "encoding the keyring",
                detail: e.to_string(),
            })?);
        let nonce = crypto::seal(master, &Self::ad(), &mut ct).map_err(|crypto::AeadError| {
            StorageError::Encode {
                op: "sealing the keyring",
                detail: "cipher refused the plaintext".into(),
            }
        })?;
        let ct_len = u32::try_from(ct.len()).map_err(|_| StorageError::Encode {
            op: "encoding the keyring",
            detail: "keyring too large".into(),
        })?;
        let mut out = Vec::with_capacity(HEADER_LEN + ct.len() + 4);
        out.extend_from_slice(KEYRING_MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct_len.to_le_bytes());
        out.extend_from_slice(&ct);
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        Ok(out)
    }

    /// Parses, checks and unseals a keyring file image.
    pub fn decode(bytes: &[u8], master: &SecretKey) -> Result<Self> {
        let magic = bytes
            .get(..8)
            .ok_or_else(|| malformed(0, "file shorter than its header"))?;
        if magic != KEYRING_MAGIC {
            return Err(StorageError::BadMagic {
                file: KEYRING_FILE.into(),
                offset: 0,
                expected: "keyring",
            });
        }
        let version = le_u32(bytes, 8).ok_or_else(|| malformed(8, "truncated header"))?;
        if version != FORMAT_VERSION {
            return Err(StorageError::UnsupportedVersion {
                file: KEYRING_FILE.into(),
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let ct_len = le_u32(bytes, 36).ok_or_else(|| malformed(36, "truncated header"))? as usize;
        let crc_at = HEADER_LEN
            .checked_add(ct_len)
            .filter(|end| end.checked_add(4) == Some(bytes.len()))
            .ok_or_else(|| {
                malformed(
                    36,
                    format!(
                        "length field {ct_len} does not match file size {}",
                        bytes.len()
                    ),
                )
            })?;
        let stored_crc =
            le_u32(bytes, crc_at).ok_or_else(|| malformed(crc_at as u64, "truncated"))?;
        let covered = bytes
            .get(..crc_at)
            .ok_or_else(|| malformed(0, "truncated"))?;
        if crc32c::crc32c(covered) != stored_crc {
            return Err(StorageError::ChecksumMismatch {
                file: KEYRING_FILE.into(),
                offset: 0,
                seq: super::error::SeqNote(None),
            });
        }
        let nonce: [u8; NONCE_LEN] = bytes
            .get(12..12 + NONCE_LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| malformed(12, "truncated nonce"))?;
        // Plaintext data keys once opened: wiped on drop.
        let mut ct = Zeroizing::new(bytes.get(HEADER_LEN..crc_at).unwrap_or_default().to_vec());
        crypto::open(master, &nonce, &Self::ad(), &mut ct).map_err(|crypto::AeadError| {
            StorageError::WrongMasterKey {
                file: KEYRING_FILE.into(),
            }
        })?;
        let body: Body =
            rmp_serde::from_slice(&ct).map_err(|e| malformed(HEADER_LEN as u64, e.to_string()))?;
        let mut keys = BTreeMap::new();
        for r in body.keys {
            keys.insert(
                KeyId(r.id),
                KeyEntry {
                    key: SecretKey::from_bytes(r.key),
                    created_at: r.created_at,
                },
            );
        }
        let active = KeyId(body.active);
        if !keys.contains_key(&active) || keys.keys().any(|k| k.0 >= body.next_id) {
            return Err(malformed(
                HEADER_LEN as u64,
                "active key missing or key id beyond next id",
            ));
        }
        Ok(Keyring {
            active,
            next_id: body.next_id,
            keys,
        })
    }

    /// Reads `<dir>/keyring`.
    pub fn load(fs: &dyn FileSystem, dir: &Path, master: &SecretKey) -> Result<Self> {
        let path = dir.join(KEYRING_FILE);
        let bytes = fs
            .read_all(&path)
            .map_err(|e| StorageError::io("reading", &path, e))?;
        Self::decode(&bytes, master)
    }

    /// Durably replaces `<dir>/keyring` (temp, fsync, rename, fsync dir).
    pub fn store(&self, fs: &dyn FileSystem, dir: &Path, master: &SecretKey) -> Result<()> {
        let bytes = self.encode(master)?;
        write_atomic(fs, dir, KEYRING_FILE, &bytes)
            .map_err(|e| StorageError::io("atomically replacing", dir.join(KEYRING_FILE), e))
    }
}

/// Little-endian u32 at `at`, or `None` past the end.
pub(crate) fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at.checked_add(4)?)?
        .try_into()
        .ok()
        .map(u32::from_le_bytes)
}

/// Little-endian u64 at `at`, or `None` past the end.
pub(crate) fn le_u64(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at.checked_add(8)?)?
        .try_into()
        .ok()
        .map(u64::from_le_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyring_round_trips_and_rejects_wrong_master_key() {
        let master = SecretKey::generate();
        let mut k = Keyring::new(100);
        let old = k.active_id();
        let new = k.rotate(200);
        assert_ne!(old, new);
        let bytes = k.encode(&master).unwrap();
        let k2 = Keyring::decode(&bytes, &master).unwrap();
        assert_eq!(k2.active_id(), new);
        assert_eq!(k2.get(old).unwrap().bytes(), k.get(old).unwrap().bytes());
        let err = Keyring::decode(&bytes, &SecretKey::generate()).unwrap_err();
        assert!(matches!(err, StorageError::WrongMasterKey { .. }), "{err}");
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// A keyring written by this format (master key 00 01 .. 1f; key 1 = 0x11 * 32 created
    /// 1_700_000_000, key 3 = 0xa0 ^ i created 1_700_000_100, active 3, next id 4). Pins the
    /// wrapping of data keys: every existing data dir's keyring must keep opening.
    const GOLDEN_KEYRING: &str = concat!(
        "56584b4559524e4703000000e9ccb120c25b5832400c8acf6f0679c8933ae2b49bb7ceae88000000",
        "f79d00709ee0cf571d0cd330ed3140b686873b3096af82111547a6a062fa650f5ee71216a32c1c38",
        "e979aef68764ef406d818fd0317ef7244f7e81dbea2fed5e56cbb550b4017ace782cce4c643f528c",
        "7af46bb27ce4aec242df13af47f39179713efec76dd8899f4e8ed6a1f1f3273bbdca787a12809dd1",
        "48b2784bce42f72cb37159eba5e1f362545eb9cd",
    );

    #[test]
    fn golden_keyring_bytes_still_open_with_their_master_key() {
        let master = SecretKey::from_bytes(std::array::from_fn(|i| i as u8));
        let bytes = unhex(GOLDEN_KEYRING);
        let k = Keyring::decode(&bytes, &master).unwrap();
        assert_eq!(k.active_id(), KeyId(3));
        assert_eq!(k.next_id, 4);
        let got: Vec<(KeyId, [u8; KEY_LEN], u64)> = k
            .entries()
            .map(|(id, e)| (id, *e.key.bytes(), e.created_at))
            .collect();
        let want = vec![
            (KeyId(1), [0x11; KEY_LEN], 1_700_000_000),
            (
                KeyId(3),
                std::array::from_fn(|i| 0xa0 ^ i as u8),
                1_700_000_100,
            ),
        ];
        assert_eq!(got, want);
        let err = Keyring::decode(&bytes, &SecretKey::from_bytes([0; KEY_LEN])).unwrap_err();
        assert!(matches!(err, StorageError::WrongMasterKey { .. }), "{err}");
        // Re-sealed (fresh nonce) it has the same length and header and opens to the same keys.
        let again = k.encode(&master).unwrap();
        assert_eq!(again.len(), bytes.len());
        assert_eq!(again[..12], bytes[..12]);
        let k2 = Keyring::decode(&again, &master).unwrap();
        assert_eq!(
            k2.get(KeyId(3)).unwrap().bytes(),
            k.get(KeyId(3)).unwrap().bytes()
        );
    }

    #[test]
    fn retire_keeps_active_and_needed_keys() {
        let mut k = Keyring::new(0);
        let a = k.active_id();
        let b = k.rotate(1);
        let c = k.rotate(2);
        let gone = k.retire_unneeded(&[b].into_iter().collect());
        assert_eq!(gone, vec![a]);
        assert!(k.get(b).is_some() && k.get(c).is_some());
    }
}

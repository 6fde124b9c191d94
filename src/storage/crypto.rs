//! The one place where bytes are encrypted, decrypted and authenticated.
//!
//! Owns: XChaCha20-Poly1305 sealing of objects (WAL frames, snapshot chunks, the keyring) with a
//! fresh random 24-byte nonce per object, HMAC-SHA256 for the manifest, key-id and key types,
//! master-key parsing, and constant-time comparison of secrets (MACs, passwords). Invariants: a
//! nonce is never reused with the same key (192-bit random nonces); callers always pass
//! associated data that names the object's place (file kind, format version, sequence/chunk
//! index), so a sealed object moved elsewhere fails to open; key bytes held here are wiped from
//! memory when dropped (`zeroize`).
//!
//! The primitives are the RustCrypto crates (`chacha20poly1305`, `hmac`, `sha2`, `subtle`,
//! `zeroize`); nothing cryptographic is written by hand. Their outputs are pinned by golden
//! tests here and in `keyring.rs` / `manifest.rs`, so a crate upgrade cannot change a byte on
//! disk unnoticed.
//!
//! Does not: know any file layout, or checksums (crc32c is checked by the codecs *before* they
//! call [`open`]).

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

type HmacSha256 = Hmac<Sha256>;

/// Bytes of an XChaCha20-Poly1305 nonce.
pub const NONCE_LEN: usize = 24;
/// Bytes of a Poly1305 tag (appended to every ciphertext).
pub const TAG_LEN: usize = 16;
/// Bytes of a data key or the master key.
pub const KEY_LEN: usize = 32;

/// Identifies a data key in the keyring (and in every file header that uses it).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct KeyId(pub u32);

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A 32-byte symmetric key (data key or master key) with its cipher ready. Both the bytes and
/// the cipher's copy of them are wiped when the key is dropped.
#[derive(Clone)]
pub struct SecretKey {
    bytes: [u8; KEY_LEN],
    cipher: XChaCha20Poly1305,
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        // The cipher wipes its own key copy (chacha20poly1305's `zeroize` feature).
        self.bytes.zeroize();
    }
}

impl ZeroizeOnDrop for SecretKey {}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        let cipher = XChaCha20Poly1305::new(&bytes.into());
        SecretKey { bytes, cipher }
    }

    /// A fresh random key from the OS-seeded CSPRNG.
    pub fn generate() -> Self {
        let mut b = Zeroizing::new([0u8; KEY_LEN]);
        rand::rng().fill_bytes(&mut *b);
        Self::from_bytes(*b)
    }

    pub fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }

    /// Parses 64 hex characters (surrounding whitespace allowed).
    pub fn from_hex(s: &str) -> Option<Self> {
        let s = s.trim().as_bytes();
        if s.len() != KEY_LEN * 2 {
            return None;
        }
        let mut b = Zeroizing::new([0u8; KEY_LEN]);
        for (i, pair) in s.chunks_exact(2).enumerate() {
            let hi = hex_val(*pair.first()?)?;
            let lo = hex_val(*pair.get(1)?)?;
            *b.get_mut(i)? = (hi << 4) | lo;
        }
        Some(Self::from_bytes(*b))
    }

    pub fn to_hex(&self) -> String {
        self.bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Derives an independent 32-byte key for `purpose`:
    /// SHA-256("vaylix-derive-v3" 0x00 purpose 0x00 key), wiped when dropped.
    ///
    /// This is a fixed part of format v3, not an HKDF: the manifest's MAC key is derived this
    /// way, so HKDF (a different function, whose output differs) would change the MAC of every
    /// manifest and make every existing data dir fail its manifest check. For a uniformly random
    /// 32-byte key a domain-separated hash is a sound key derivation; a future format version
    /// can move to HKDF-SHA256 (`hkdf` crate) together with a migration.
    pub fn derive(&self, purpose: &str) -> Zeroizing<[u8; KEY_LEN]> {
        let mut h = Sha256::new();
        h.update(b"vaylix-derive-v3\0");
        h.update(purpose.as_bytes());
        h.update([0u8]);
        h.update(self.bytes);
        let mut out = Zeroizing::new([0u8; KEY_LEN]);
        out.copy_from_slice(&h.finalize());
        out
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// A fresh random nonce.
pub fn random_nonce() -> [u8; NONCE_LEN] {
    let mut n = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut n);
    n
}

/// The AEAD refused: wrong key, tampered data, or (sealing) an over-long plaintext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AeadError;

/// Encrypts `buf` in place and appends the tag; returns the nonce used.
/// Fails only if the plaintext exceeds the cipher's limit (256 GiB), which callers never reach.
pub fn seal(key: &SecretKey, ad: &[u8], buf: &mut Vec<u8>) -> Result<[u8; NONCE_LEN], AeadError> {
    let nonce = random_nonce();
    let tag = key
        .cipher
        .encrypt_inout_detached(&XNonce::from(nonce), ad, buf.as_mut_slice().into())
        .map_err(|_| AeadError)?;
    buf.extend_from_slice(tag.as_slice());
    Ok(nonce)
}

/// Verifies and decrypts `buf` (ciphertext followed by the tag) in place; on success `buf`
/// holds the plaintext. Any tampering with nonce, ad, ciphertext or tag, or a wrong key, fails.
pub fn open(
    key: &SecretKey,
    nonce: &[u8; NONCE_LEN],
    ad: &[u8],
    buf: &mut Vec<u8>,
) -> Result<(), AeadError> {
    let split = buf.len().checked_sub(TAG_LEN).ok_or(AeadError)?;
    let (ct, tag) = buf.split_at_mut(split);
    let tag: [u8; TAG_LEN] = (&*tag).try_into().map_err(|_| AeadError)?;
    key.cipher
        .decrypt_inout_detached(&XNonce::from(*nonce), ad, ct.into(), &tag.into())
        .map_err(|_| AeadError)?;
    buf.truncate(split);
    Ok(())
}

fn hmac(key: &[u8; KEY_LEN], msg: &[u8]) -> Result<HmacSha256, MacKeyError> {
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(key).map_err(|_| MacKeyError)?;
    m.update(msg);
    Ok(m)
}

/// The MAC refused its key. HMAC takes keys of any length, so this never happens with the
/// 32-byte keys used here; it exists so that no panic path does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MacKeyError;

/// HMAC-SHA256 (RFC 2104) of `msg` under `key`.
pub fn hmac_sha256(key: &[u8; KEY_LEN], msg: &[u8]) -> Result<[u8; 32], MacKeyError> {
    Ok(hmac(key, msg)?.finalize().into_bytes().into())
}

/// Whether `tag` is the HMAC-SHA256 of `msg` under `key`, compared in constant time.
pub fn hmac_sha256_verify(key: &[u8; KEY_LEN], msg: &[u8], tag: &[u8]) -> bool {
    hmac(key, msg).is_ok_and(|m| m.verify_slice(tag).is_ok())
}

/// Constant-time comparison of two byte strings of public length (MACs, digests): the time
/// depends only on the lengths, never on where the first difference is.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Constant-time comparison of secrets of any length (passwords): both sides are hashed first,
/// so neither the position of the first difference nor the secret's length shows in the time
/// taken (Redis compares SHA-256 digests of passwords the same way).
pub fn secret_eq(given: &[u8], expected: &[u8]) -> bool {
    let a = Zeroizing::new(sha256(given));
    let b = Zeroizing::new(sha256(expected));
    a.ct_eq(&*b).into()
}

/// SHA-256 as a plain array.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_object_opens_only_with_same_key_and_ad() {
        let k = SecretKey::generate();
        let mut buf = b"secret payload".to_vec();
        let nonce = seal(&k, b"ad-1", &mut buf).unwrap();
        assert!(!buf.windows(6).any(|w| w == b"secret"));
        let mut b2 = buf.clone();
        assert!(open(&k, &nonce, b"ad-2", &mut b2).is_err());
        let mut b3 = buf.clone();
        assert!(open(&SecretKey::generate(), &nonce, b"ad-1", &mut b3).is_err());
        let mut b4 = buf.clone();
        b4[3] ^= 1;
        assert!(open(&k, &nonce, b"ad-1", &mut b4).is_err());
        open(&k, &nonce, b"ad-1", &mut buf).unwrap();
        assert_eq!(buf, b"secret payload");
    }

    #[test]
    fn hex_master_key_round_trips() {
        let k = SecretKey::generate();
        let k2 = SecretKey::from_hex(&k.to_hex()).unwrap();
        assert_eq!(k.bytes(), k2.bytes());
        assert!(SecretKey::from_hex("abc").is_none());
        assert!(SecretKey::from_hex(&"zz".repeat(32)).is_none());
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// Master key 00 01 .. 1f, as in the keyring and manifest golden tests.
    fn golden_master() -> SecretKey {
        SecretKey::from_bytes(std::array::from_fn(|i| i as u8))
    }

    // The expected values below come from Python's `hmac` and `hashlib`, not from this code:
    // they pin what is on disk (the manifest MAC and its key) across implementation changes.

    #[test]
    fn golden_hmac_sha256_of_a_known_input() {
        let mac = hmac_sha256(golden_master().bytes(), b"vaylix golden message").unwrap();
        assert_eq!(
            hex(&mac),
            "2d8624c4c653a3128599b956ec0dc6833ace4ef0e87fb4cc7ed66bb5c58f0c36"
        );
    }

    #[test]
    fn golden_manifest_mac_key_derivation() {
        // SHA-256("vaylix-derive-v3" 0x00 "manifest-mac" 0x00 master).
        assert_eq!(
            hex(&golden_master().derive("manifest-mac")[..]),
            "544fb0a431422732aca1cc33ea51925430920053b462d71148cb7b7696ad7dda"
        );
    }

    #[test]
    fn ct_eq_compares_contents_and_lengths() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        assert!(ct_eq(b"", b""));
    }

    #[test]
    fn secret_eq_matches_only_equal_secrets() {
        assert!(secret_eq(b"hunter2", b"hunter2"));
        assert!(!secret_eq(b"hunter2", b"hunter3"));
        assert!(!secret_eq(b"hunter2", b"hunter22"));
        assert!(!secret_eq(b"", b"x"));
        assert!(secret_eq(b"", b""));
    }

    /// Fastest of a few runs of `f` (the minimum filters out scheduling noise).
    fn fastest(mut f: impl FnMut() -> bool) -> std::time::Duration {
        (0..7)
            .map(|_| {
                let t = std::time::Instant::now();
                std::hint::black_box(f());
                t.elapsed()
            })
            .min()
            .unwrap_or_default()
    }

    #[test]
    fn secret_eq_takes_as_long_whether_the_first_or_the_last_byte_differs() {
        // 4 MiB secrets make the work large enough to time: a short-circuiting comparison
        // returns at once on a first-byte difference and scans 4 MiB on a last-byte one.
        let expected = vec![b'p'; 4 << 20];
        let mut first = expected.clone();
        first[0] = b'q';
        let mut last = expected.clone();
        *last.last_mut().unwrap() = b'q';
        let t_first = fastest(|| secret_eq(&first, &expected));
        let t_last = fastest(|| secret_eq(&last, &expected));
        let ratio = t_first.as_secs_f64() / t_last.as_secs_f64().max(1e-9);
        assert!(
            (0.5..2.0).contains(&ratio),
            "first-byte difference {t_first:?}, last-byte difference {t_last:?}"
        );
    }

    #[test]
    fn hmac_verify_accepts_only_the_right_tag() {
        let k = golden_master();
        let tag = hmac_sha256(k.bytes(), b"m").unwrap();
        assert!(hmac_sha256_verify(k.bytes(), b"m", &tag));
        let mut bad = tag;
        bad[31] ^= 1;
        assert!(!hmac_sha256_verify(k.bytes(), b"m", &bad));
        assert!(!hmac_sha256_verify(k.bytes(), b"m", &tag[..31]));
        assert!(!hmac_sha256_verify(k.bytes(), b"n", &tag));
    }

    #[test]
    fn hmac_matches_rfc4231_case_2_shape() {
        // Different keys give different MACs; same inputs give the same MAC.
        let a = hmac_sha256(&[1; 32], b"m").unwrap();
        assert_eq!(a, hmac_sha256(&[1; 32], b"m").unwrap());
        assert_ne!(a, hmac_sha256(&[2; 32], b"m").unwrap());
    }
}

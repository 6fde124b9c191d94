//! One database of one shard: a hash table of compact entries.
//!
//! An [`Entry`] is a single heap block holding everything about a key:
//! `version u64 LE ‖ expires_at_ms u64 LE ‖ key length u32 LE ‖ key ‖ value`. The table slot
//! is that block's 16-byte fat pointer, so a key costs one allocation (header + key + value,
//! rounded up by the allocator) plus a 16-byte slot and a control byte, instead of a key box,
//! a value buffer and a 64-byte slot. Reads hand out slices into the block; writes build a new
//! block (or patch the header in place for version/expiry changes).
//!
//! Invariant: an entry's key never changes, and the table finds it by [`key_hash`] of the key,
//! which uses a seed different from the shard selector's (keys of one shard share the low
//! bits of that hash; reusing it would pile them into a few buckets).

use hashbrown::hash_table::{Entry as Slot, HashTable};
use std::hash::BuildHasher;

use super::Value;
use bytes::Bytes;

const VERSION_AT: usize = 0;
const EXPIRES_AT: usize = 8;
const KEY_LEN_AT: usize = 16;
const HEADER: usize = 20;

/// A stored key with its value, version and absolute expiry.
#[derive(Clone, PartialEq, Eq)]
pub struct Entry(Box<[u8]>);

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("key", &String::from_utf8_lossy(self.key()))
            .field("value_len", &self.value().len())
            .field("version", &self.version())
            .field("expires_at_ms", &self.expires_at_ms())
            .finish()
    }
}

impl Entry {
    /// A string entry. Keys longer than 4 GiB cannot reach here (the protocol limit is far
    /// lower); such a length would be clamped, never wrapped.
    pub fn new(key: &[u8], value: &[u8], version: u64, expires_at_ms: u64) -> Entry {
        let mut b = Vec::with_capacity(HEADER + key.len() + value.len());
        b.extend_from_slice(&version.to_le_bytes());
        b.extend_from_slice(&expires_at_ms.to_le_bytes());
        let klen = u32::try_from(key.len()).unwrap_or(u32::MAX);
        b.extend_from_slice(&klen.to_le_bytes());
        b.extend_from_slice(key.get(..klen as usize).unwrap_or(key));
        b.extend_from_slice(value);
        Entry(b.into_boxed_slice())
    }

    fn u64_at(&self, at: usize) -> u64 {
        self.0
            .get(at..at + 8)
            .and_then(|s| s.try_into().ok())
            .map_or(0, u64::from_le_bytes)
    }

    fn set_u64_at(&mut self, at: usize, v: u64) {
        if let Some(s) = self.0.get_mut(at..at + 8) {
            s.copy_from_slice(&v.to_le_bytes());
        }
    }

    fn key_end(&self) -> usize {
        let klen = self
            .0
            .get(KEY_LEN_AT..HEADER)
            .and_then(|s| s.try_into().ok())
            .map_or(0, u32::from_le_bytes);
        HEADER + klen as usize
    }

    pub fn key(&self) -> &[u8] {
        self.0.get(HEADER..self.key_end()).unwrap_or_default()
    }

    /// The string value's bytes.
    pub fn value(&self) -> &[u8] {
        self.0.get(self.key_end()..).unwrap_or_default()
    }

    /// An owned copy of the value (for commands that store it elsewhere, and snapshots).
    pub fn to_value(&self) -> Value {
        Value::String(Bytes::copy_from_slice(self.value()))
    }

    /// The whole key as a snapshot or backup holds it (copied out of the block).
    pub fn to_record(&self, db: super::DbIndex) -> super::Record {
        super::Record {
            db,
            key: Bytes::copy_from_slice(self.key()),
            value: self.to_value(),
            version: self.version(),
            expires_at_ms: self.expiry(),
        }
    }

    /// Redis's `TYPE` name.
    pub fn type_name(&self) -> &'static str {
        "string"
    }

    pub fn version(&self) -> u64 {
        self.u64_at(VERSION_AT)
    }

    /// Absolute expiry in unix milliseconds; 0 = none.
    pub fn expires_at_ms(&self) -> u64 {
        self.u64_at(EXPIRES_AT)
    }

    pub fn expiry(&self) -> Option<u64> {
        Some(self.expires_at_ms()).filter(|e| *e != 0)
    }

    pub fn is_expired(&self, now_ms: u64) -> bool {
        let e = self.expires_at_ms();
        e != 0 && e <= now_ms
    }

    pub(super) fn set_version(&mut self, v: u64) {
        self.set_u64_at(VERSION_AT, v);
    }

    pub(super) fn set_expires_at_ms(&mut self, e: u64) {
        self.set_u64_at(EXPIRES_AT, e);
    }

    /// Bytes this entry occupies in memory: its block and its table slot (not the allocator's
    /// rounding), for `MEMORY USAGE`.
    pub fn footprint(&self) -> usize {
        self.0.len() + std::mem::size_of::<Entry>() + 1
    }
}

static TABLE_HASHER: foldhash::fast::FixedState =
    foldhash::fast::FixedState::with_seed(0x7461_626c_655f_6b65);

/// The hash a table files `key` under.
pub fn key_hash(key: &[u8]) -> u64 {
    TABLE_HASHER.hash_one(key)
}

/// The keys of one database in one shard.
#[derive(Default)]
pub struct Table {
    t: HashTable<Entry>,
}

impl Table {
    pub fn len(&self) -> usize {
        self.t.len()
    }

    pub fn is_empty(&self) -> bool {
        self.t.is_empty()
    }

    pub fn get(&self, key: &[u8]) -> Option<&Entry> {
        self.t.find(key_hash(key), |e| e.key() == key)
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.t.find_mut(key_hash(key), |e| e.key() == key)
    }

    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// Stores `e`, returning the entry it replaced.
    pub fn insert(&mut self, e: Entry) -> Option<Entry> {
        let h = key_hash(e.key());
        match self
            .t
            .entry(h, |x| x.key() == e.key(), |x| key_hash(x.key()))
        {
            Slot::Occupied(mut o) => Some(std::mem::replace(o.get_mut(), e)),
            Slot::Vacant(v) => {
                v.insert(e);
                None
            }
        }
    }

    /// The entry under `key` unless it has expired by `now_ms`; an expired one is removed and
    /// returned as `Err` (one lookup either way).
    pub fn get_live(&mut self, key: &[u8], now_ms: u64) -> Result<Option<&Entry>, Entry> {
        match self.t.find_entry(key_hash(key), |e| e.key() == key) {
            Err(_) => Ok(None),
            Ok(o) if o.get().is_expired(now_ms) => Err(o.remove().0),
            Ok(o) => Ok(Some(o.into_mut())),
        }
    }

    /// Replay's store: writes a new entry for `key` unless the present one already has a
    /// version >= `version` (one lookup). `None` if skipped; otherwise the replaced entry's
    /// expiry (0 for none or a new key).
    pub fn store_if_older(
        &mut self,
        key: &[u8],
        value: &[u8],
        version: u64,
        expires_at_ms: u64,
    ) -> Option<u64> {
        let h = key_hash(key);
        match self.t.entry(h, |x| x.key() == key, |x| key_hash(x.key())) {
            Slot::Occupied(mut o) => {
                if o.get().version() >= version {
                    return None;
                }
                let old =
                    std::mem::replace(o.get_mut(), Entry::new(key, value, version, expires_at_ms));
                Some(old.expires_at_ms())
            }
            Slot::Vacant(v) => {
                v.insert(Entry::new(key, value, version, expires_at_ms));
                Some(0)
            }
        }
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        self.t
            .find_entry(key_hash(key), |e| e.key() == key)
            .ok()
            .map(|o| o.remove().0)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.t.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_fields_round_trip_and_patch_in_place() {
        let mut e = Entry::new(b"key", b"value", 7, 0);
        assert_eq!(
            (e.key(), e.value(), e.version(), e.expiry()),
            (&b"key"[..], &b"value"[..], 7, None)
        );
        e.set_version(9);
        e.set_expires_at_ms(1234);
        assert_eq!((e.version(), e.expiry()), (9, Some(1234)));
        assert!(e.is_expired(1234) && !e.is_expired(1233));
        let empty = Entry::new(b"", b"", 1, 0);
        assert_eq!((empty.key(), empty.value()), (&b""[..], &b""[..]));
    }

    #[test]
    fn table_insert_replace_remove_many() {
        let mut t = Table::default();
        for i in 0..10_000u64 {
            assert!(t
                .insert(Entry::new(format!("k{i}").as_bytes(), b"a", i, 0))
                .is_none());
        }
        let old = t.insert(Entry::new(b"k5", b"b", 20_000, 0)).unwrap();
        assert_eq!((old.value(), old.version()), (&b"a"[..], 5));
        assert_eq!(t.len(), 10_000);
        assert_eq!(t.get(b"k5").unwrap().value(), b"b");
        assert!(t.remove(b"k5").is_some() && t.remove(b"k5").is_none());
        assert_eq!(t.len(), 9_999);
        assert!((0..10_000u64)
            .filter(|i| *i != 5)
            .all(|i| t.get(format!("k{i}").as_bytes()).map(|e| e.version()) == Some(i)));
        assert_eq!(t.iter().count(), 9_999);
    }
}

//! One database of one shard: a hash table of compact entries.
//!
//! A string [`Entry`] is a single heap block holding everything about a key:
//! `version u64 LE ‖ expires_at_ms u64 LE ‖ key length u32 LE ‖ access u32 LE ‖ key ‖ value`
//! (access: the LRU/LFU stamp of [`super::access`]). The table slot
//! is that block's 16-byte fat pointer, so a key costs one allocation (header + key + value,
//! rounded up by the allocator) plus a 16-byte slot and a control byte, instead of a key box,
//! a value buffer and a 64-byte slot. Reads hand out slices into the block; writes build a new
//! block (or patch the header in place for version/expiry changes).
//!
//! A collection entry is a box holding the same header fields, the key and the collection
//! ([`Coll`]); the enum of the two stays 16 bytes (the string block's pointer is never null,
//! which leaves room for the other variant's tag), so strings pay nothing for collections.
//!
//! Invariant: an entry's key never changes, and the table finds it by [`key_hash`] of the key,
//! which uses a seed different from the shard selector's (keys of one shard share the low
//! bits of that hash; reusing it would pile them into a few buckets).

use hashbrown::hash_table::{Entry as Slot, HashTable};
use std::hash::BuildHasher;

use super::coll::{Coll, HashObj, SetObj};
use super::effect::Kind;
use super::list::ListObj;
use super::zset::ZSetObj;
use super::Value;
use bytes::Bytes;

const VERSION_AT: usize = 0;
const EXPIRES_AT: usize = 8;
const KEY_LEN_AT: usize = 16;
const ACCESS_AT: usize = 20;
const HEADER: usize = 24;

/// A stored key with its value, version and absolute expiry.
#[derive(Clone)]
pub enum Entry {
    Str(Box<[u8]>),
    Coll(Box<CollEntry>),
}

/// A key holding a collection.
#[derive(Clone)]
pub struct CollEntry {
    version: u64,
    expires_at_ms: u64,
    access: u32,
    key: Box<[u8]>,
    pub coll: Coll,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("key", &String::from_utf8_lossy(self.key()))
            .field("kind", &self.kind())
            .field("version", &self.version())
            .field("expires_at_ms", &self.expires_at_ms())
            .finish()
    }
}

fn str_u64_at(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

fn str_key_end(b: &[u8]) -> usize {
    let klen = b
        .get(KEY_LEN_AT..ACCESS_AT)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_le_bytes);
    HEADER + klen as usize
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
        b.extend_from_slice(&super::access::fresh().to_le_bytes());
        b.extend_from_slice(key.get(..klen as usize).unwrap_or(key));
        b.extend_from_slice(value);
        Entry::Str(b.into_boxed_slice())
    }

    /// A collection entry.
    pub fn new_coll(key: &[u8], coll: Coll, version: u64, expires_at_ms: u64) -> Entry {
        Entry::Coll(Box::new(CollEntry {
            version,
            expires_at_ms,
            access: super::access::fresh(),
            key: Box::from(key),
            coll,
        }))
    }

    /// An entry holding `value` in the encodings `limits` give.
    pub fn from_value(
        key: &[u8],
        value: &Value,
        version: u64,
        expires_at_ms: u64,
        limits: &super::coll::Limits,
    ) -> Entry {
        match value {
            Value::String(v) => Entry::new(key, v, version, expires_at_ms),
            Value::Hash(pairs) => Entry::new_coll(
                key,
                Coll::Hash(HashObj::from_pairs(
                    pairs.iter().map(|(f, v)| (&f[..], &v[..])),
                    limits,
                )),
                version,
                expires_at_ms,
            ),
            Value::Set(members) => Entry::new_coll(
                key,
                Coll::Set(SetObj::from_members(members.iter().map(|m| &m[..]), limits)),
                version,
                expires_at_ms,
            ),
            Value::ZSet(pairs) => Entry::new_coll(
                key,
                Coll::ZSet(ZSetObj::from_pairs(
                    pairs.iter().map(|(m, s)| (&m[..], *s)),
                    limits,
                )),
                version,
                expires_at_ms,
            ),
            Value::List(elements) => Entry::new_coll(
                key,
                Coll::List(ListObj::from_elements(
                    elements.iter().map(|e| &e[..]),
                    limits,
                )),
                version,
                expires_at_ms,
            ),
        }
    }

    pub fn key(&self) -> &[u8] {
        match self {
            Entry::Str(b) => b.get(HEADER..str_key_end(b)).unwrap_or_default(),
            Entry::Coll(c) => &c.key,
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Entry::Str(_) => Kind::String,
            Entry::Coll(c) => c.coll.kind(),
        }
    }

    /// The string value's bytes; `None` for a collection (the caller answers WRONGTYPE).
    pub fn as_str(&self) -> Option<&[u8]> {
        match self {
            Entry::Str(b) => Some(b.get(str_key_end(b)..).unwrap_or_default()),
            Entry::Coll(_) => None,
        }
    }

    /// The string value's bytes; empty for a collection. Callers check [`Entry::kind`] first.
    pub fn value(&self) -> &[u8] {
        self.as_str().unwrap_or_default()
    }

    pub fn as_hash(&self) -> Option<&HashObj> {
        match self {
            Entry::Coll(c) => match &c.coll {
                Coll::Hash(h) => Some(h),
                _ => None,
            },
            Entry::Str(_) => None,
        }
    }

    pub fn as_set(&self) -> Option<&SetObj> {
        match self {
            Entry::Coll(c) => match &c.coll {
                Coll::Set(s) => Some(s),
                _ => None,
            },
            Entry::Str(_) => None,
        }
    }

    pub fn as_zset(&self) -> Option<&ZSetObj> {
        match self {
            Entry::Coll(c) => match &c.coll {
                Coll::ZSet(z) => Some(z),
                _ => None,
            },
            Entry::Str(_) => None,
        }
    }

    pub fn as_list(&self) -> Option<&ListObj> {
        match self {
            Entry::Coll(c) => match &c.coll {
                Coll::List(l) => Some(l),
                _ => None,
            },
            Entry::Str(_) => None,
        }
    }

    pub fn as_coll(&self) -> Option<&Coll> {
        match self {
            Entry::Coll(c) => Some(&c.coll),
            Entry::Str(_) => None,
        }
    }

    pub(super) fn coll_mut(&mut self) -> Option<&mut Coll> {
        match self {
            Entry::Coll(c) => Some(&mut c.coll),
            Entry::Str(_) => None,
        }
    }

    /// Redis's `OBJECT ENCODING` name. Strings follow Redis: `int` for a canonical 64-bit
    /// integer, `embstr` up to 44 bytes, `raw` beyond.
    pub fn encoding(&self) -> &'static str {
        match self {
            Entry::Str(_) => {
                let v = self.value();
                if v.len() <= 20 && super::coll::canonical_int(v).is_some() {
                    "int"
                } else if v.len() <= 44 {
                    "embstr"
                } else {
                    "raw"
                }
            }
            Entry::Coll(c) => c.coll.encoding(),
        }
    }

    /// An owned copy of the value (for commands that store it elsewhere, and backups).
    pub fn to_value(&self) -> Value {
        match self {
            Entry::Str(_) => Value::String(Bytes::copy_from_slice(self.value())),
            Entry::Coll(c) => match &c.coll {
                Coll::Hash(h) => Value::Hash(
                    h.iter()
                        .map(|(f, v)| (Bytes::copy_from_slice(f), Bytes::copy_from_slice(v)))
                        .collect(),
                ),
                Coll::Set(s) => Value::Set(s.iter().map(|m| m.to_bytes()).collect()),
                Coll::ZSet(z) => Value::ZSet(
                    z.iter()
                        .map(|(m, s)| (Bytes::copy_from_slice(m), s))
                        .collect(),
                ),
                Coll::List(l) => Value::List(l.iter().map(Bytes::copy_from_slice).collect()),
            },
        }
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
        self.kind().type_name()
    }

    pub fn version(&self) -> u64 {
        match self {
            Entry::Str(b) => str_u64_at(b, VERSION_AT),
            Entry::Coll(c) => c.version,
        }
    }

    /// Absolute expiry in unix milliseconds; 0 = none.
    pub fn expires_at_ms(&self) -> u64 {
        match self {
            Entry::Str(b) => str_u64_at(b, EXPIRES_AT),
            Entry::Coll(c) => c.expires_at_ms,
        }
    }

    pub fn expiry(&self) -> Option<u64> {
        Some(self.expires_at_ms()).filter(|e| *e != 0)
    }

    pub fn is_expired(&self, now_ms: u64) -> bool {
        let e = self.expires_at_ms();
        e != 0 && e <= now_ms
    }

    fn set_str_u64(b: &mut [u8], at: usize, v: u64) {
        if let Some(s) = b.get_mut(at..at + 8) {
            s.copy_from_slice(&v.to_le_bytes());
        }
    }

    pub(super) fn set_version(&mut self, v: u64) {
        match self {
            Entry::Str(b) => Self::set_str_u64(b, VERSION_AT, v),
            Entry::Coll(c) => c.version = v,
        }
    }

    /// The LRU/LFU stamp ([`super::access`]).
    pub fn access(&self) -> u32 {
        match self {
            Entry::Str(b) => b
                .get(ACCESS_AT..HEADER)
                .and_then(|s| s.try_into().ok())
                .map_or(0, u32::from_le_bytes),
            Entry::Coll(c) => c.access,
        }
    }

    pub(super) fn set_access(&mut self, a: u32) {
        match self {
            Entry::Str(b) => {
                if let Some(s) = b.get_mut(ACCESS_AT..HEADER) {
                    s.copy_from_slice(&a.to_le_bytes());
                }
            }
            Entry::Coll(c) => c.access = a,
        }
    }

    /// Notes one access (a command's lookup of the key).
    fn touch(&mut self) {
        let a = super::access::touched(self.access());
        self.set_access(a);
    }

    pub(super) fn set_expires_at_ms(&mut self, e: u64) {
        match self {
            Entry::Str(b) => Self::set_str_u64(b, EXPIRES_AT, e),
            Entry::Coll(c) => c.expires_at_ms = e,
        }
    }

    /// Bytes this entry occupies in memory: its blocks and its table slot (not the
    /// allocator's rounding), for `MEMORY USAGE`.
    pub fn footprint(&self) -> usize {
        let slot = std::mem::size_of::<Entry>() + 1;
        match self {
            Entry::Str(b) => b.len() + slot,
            Entry::Coll(c) => {
                std::mem::size_of::<CollEntry>() + c.key.len() + c.coll.heap_bytes() + slot
            }
        }
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
            Slot::Occupied(mut o) => {
                let mut e = e;
                // Under LFU an overwritten key keeps its count (the command's lookup of the
                // key already counted the access), as Redis's dbOverwrite.
                if super::access::lfu() {
                    e.set_access(o.get().access());
                }
                Some(std::mem::replace(o.get_mut(), e))
            }
            Slot::Vacant(v) => {
                v.insert(e);
                None
            }
        }
    }

    /// The entry under `key` unless it has expired by `now_ms`; an expired one is removed and
    /// returned as `Err` (one lookup either way). `touch`: note the access (LRU/LFU).
    pub fn get_live(
        &mut self,
        key: &[u8],
        now_ms: u64,
        touch: bool,
    ) -> Result<Option<&Entry>, Entry> {
        match self.t.find_entry(key_hash(key), |e| e.key() == key) {
            Err(_) => Ok(None),
            Ok(o) if o.get().is_expired(now_ms) => Err(o.remove().0),
            Ok(o) => {
                let e = o.into_mut();
                if touch {
                    e.touch();
                }
                Ok(Some(e))
            }
        }
    }

    /// The slot count: [`Table::at`] takes an index below it.
    pub fn slots(&self) -> usize {
        self.t.num_buckets()
    }

    /// The entry in slot `i`, if that slot is full (random sampling for eviction and
    /// RANDOMKEY: a random slot, then the next full ones).
    pub fn at(&self, i: usize) -> Option<&Entry> {
        self.t.get_bucket(i)
    }

    /// The entry under `key`, made by `make` if absent (one lookup); true if it was made.
    pub fn get_or_insert_with(
        &mut self,
        key: &[u8],
        make: impl FnOnce() -> Entry,
    ) -> (&mut Entry, bool) {
        let h = key_hash(key);
        match self.t.entry(h, |x| x.key() == key, |x| key_hash(x.key())) {
            Slot::Occupied(o) => {
                let e = o.into_mut();
                e.touch();
                (e, false)
            }
            Slot::Vacant(v) => (v.insert(make()).into_mut(), true),
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

//! Effects: the deterministic description of what one command (or one MULTI/EXEC) changed.
//!
//! Live execution produces effects; the WAL logs them; recovery, PITR and (later) replication
//! apply them. An effect never depends on the clock or a random source: expiry is absolute,
//! arithmetic commands log their result, and so on.
//!
//! Versions are implicit: every key an entry touches gets the entry's sequence number as its
//! version. Replay uses that to skip effects a (fuzzy) snapshot already contains: an effect with
//! sequence `seq` is applied to a key only if the key is absent or its version is `< seq`.

use bytes::Bytes;

/// A database index (0..databases). One byte in every on-disk format (WAL effects, snapshot
/// records), which is why `databases` is bounded by [`MAX_DATABASES`].
pub type DbIndex = u8;

/// The largest `databases` the formats can address: every index 0..=255 fits a [`DbIndex`].
pub const MAX_DATABASES: usize = DbIndex::MAX as usize + 1;

/// The indexes of the first `count` databases. Iterating over `usize` and converting each index
/// avoids `count as DbIndex`, which wraps 256 to 0 and would make FLUSHALL skip every database.
pub fn db_indexes(count: usize) -> impl Iterator<Item = DbIndex> {
    (0..count.min(MAX_DATABASES)).filter_map(|d| DbIndex::try_from(d).ok())
}

/// The kind of value a key holds: what `TYPE`, `SCAN TYPE`, `OBJECT ENCODING` and `WRONGTYPE`
/// read. The on-disk codec gives each kind its own explicit number (`storage::codec`), so
/// nothing here decides bytes on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    String,
    Hash,
    Set,
    ZSet,
    List,
    // Streams join here (docs/storage-format.md reserves their tags).
}

impl Kind {
    /// Redis's `TYPE` name.
    pub fn type_name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Hash => "hash",
            Kind::Set => "set",
            Kind::ZSet => "zset",
            Kind::List => "list",
        }
    }

    /// The kind `SCAN ... TYPE name` asks for (Redis compares case-insensitively).
    pub fn from_type_name(name: &[u8]) -> Option<Kind> {
        [Kind::String, Kind::Hash, Kind::Set, Kind::ZSet, Kind::List]
            .into_iter()
            .find(|k| k.type_name().as_bytes().eq_ignore_ascii_case(name))
    }
}

/// A whole value as plain data: what a logged `Put`, a snapshot record and a logical backup
/// carry. No serde derive here on purpose: the bytes on disk are `storage::codec`'s, with
/// explicit numeric tags, so renaming a variant cannot change them. The keyspace keeps collections in its own compact or hashed encodings
/// (`keyspace::coll`); this is the encoding-free form they convert from and to.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    String(Bytes),
    /// Field-value pairs, fields distinct, in no particular order.
    Hash(Vec<(Bytes, Bytes)>),
    /// Distinct members, in no particular order.
    Set(Vec<Bytes>),
    /// Distinct members with their scores (never NaN), in no particular order.
    ZSet(Vec<(Bytes, f64)>),
    /// Elements head to tail.
    List(Vec<Bytes>),
}

impl Value {
    pub fn kind(&self) -> Kind {
        match self {
            Value::String(_) => Kind::String,
            Value::Hash(_) => Kind::Hash,
            Value::Set(_) => Kind::Set,
            Value::ZSet(_) => Kind::ZSet,
            Value::List(_) => Kind::List,
        }
    }

    /// Redis's `TYPE` name.
    pub fn type_name(&self) -> &'static str {
        self.kind().type_name()
    }

    /// Fields of a hash, members of a set; 1 for a string.
    pub fn len(&self) -> usize {
        match self {
            Value::String(_) => 1,
            Value::Hash(p) => p.len(),
            Value::Set(m) => m.len(),
            Value::ZSet(p) => p.len(),
            Value::List(e) => e.len(),
        }
    }

    /// Whether a collection has no elements (a string is never empty in this sense).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One deterministic change to the keyspace.
///
/// Collection writes log deltas, never the whole collection: the fields set (with their
/// resulting values, so HINCRBY logs its result), the fields deleted, the members added or
/// removed (SPOP logs the members it took). Each delta also carries the key's absolute expiry
/// after the write: a delta replayed on a key that is absent (it expired while the server was
/// down and was dropped at load) must not bring it back without its TTL.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// `key` now holds `value`, expiring at `expires_at_ms` (unix ms) or never.
    Put {
        db: DbIndex,
        key: Bytes,
        value: Value,
        expires_at_ms: Option<u64>,
    },
    /// `key` was removed.
    Del { db: DbIndex, key: Bytes },
    /// Only the expiry of `key` changed (EXPIRE, PERSIST, GETEX ...).
    SetExpiry {
        db: DbIndex,
        key: Bytes,
        expires_at_ms: Option<u64>,
    },
    /// Every key of `db` whose version is older than the entry was removed.
    FlushDb { db: DbIndex },
    /// Every key of every database whose version is older than the entry was removed.
    FlushAll,
    /// The hash `key` (created if absent) now maps each field to its value.
    HashSet {
        db: DbIndex,
        key: Bytes,
        pairs: Vec<(Bytes, Bytes)>,
        expires_at_ms: Option<u64>,
    },
    /// The fields were removed from the hash `key`; a hash left empty is removed.
    HashDel {
        db: DbIndex,
        key: Bytes,
        fields: Vec<Bytes>,
        expires_at_ms: Option<u64>,
    },
    /// The members were added to the set `key` (created if absent).
    SetAdd {
        db: DbIndex,
        key: Bytes,
        members: Vec<Bytes>,
        expires_at_ms: Option<u64>,
    },
    /// The members were removed from the set `key`; a set left empty is removed.
    SetRem {
        db: DbIndex,
        key: Bytes,
        members: Vec<Bytes>,
        expires_at_ms: Option<u64>,
    },
    /// Each member of the sorted set `key` (created if absent) now has its score: the
    /// resulting score, so ZINCRBY and ZADD INCR never recompute a sum on replay.
    ZAdd {
        db: DbIndex,
        key: Bytes,
        pairs: Vec<(Bytes, f64)>,
        expires_at_ms: Option<u64>,
    },
    /// The members were removed from the sorted set `key` (ZREM, ZPOP*, ZREMRANGEBY* log the
    /// members they took); a sorted set left empty is removed.
    ZRem {
        db: DbIndex,
        key: Bytes,
        members: Vec<Bytes>,
        expires_at_ms: Option<u64>,
    },
    /// The elements were pushed, one by one in order, at the head (`left`) or the tail of the
    /// list `key` (created if absent): LPUSH a b c leaves c b a at the head.
    ListPush {
        db: DbIndex,
        key: Bytes,
        left: bool,
        elements: Vec<Bytes>,
        expires_at_ms: Option<u64>,
    },
    /// `count` elements were popped from the head (`left`) or the tail; a list left empty is
    /// removed. Every pop (LPOP, the pop of LMOVE, a blocked client served) logs this.
    ListPop {
        db: DbIndex,
        key: Bytes,
        left: bool,
        count: u64,
        expires_at_ms: Option<u64>,
    },
    /// LSET: the element at `index` (from the head) is now `element`.
    ListSet {
        db: DbIndex,
        key: Bytes,
        index: u64,
        element: Bytes,
        expires_at_ms: Option<u64>,
    },
    /// LINSERT, resolved: `element` was inserted so that it is now at `index`.
    ListInsert {
        db: DbIndex,
        key: Bytes,
        index: u64,
        element: Bytes,
        expires_at_ms: Option<u64>,
    },
    /// LREM as given (`count` > 0 from the head, < 0 from the tail, 0 all): deterministic on
    /// the list it was applied to, which replay reproduces. A list left empty is removed.
    ListRem {
        db: DbIndex,
        key: Bytes,
        count: i64,
        element: Bytes,
        expires_at_ms: Option<u64>,
    },
    /// LTRIM, resolved: `front` elements were dropped from the head and `back` from the tail.
    ListTrim {
        db: DbIndex,
        key: Bytes,
        front: u64,
        back: u64,
        expires_at_ms: Option<u64>,
    },
    /// The function libraries (FUNCTION LOAD ...) are now exactly these, by source code. Not a
    /// key: replay installs them if the entry is newer than the libraries it has.
    Functions { libraries: Vec<Bytes> },
}

impl Effect {
    /// The database and key the effect changes (none for flushes).
    pub fn key(&self) -> Option<(DbIndex, &Bytes)> {
        match self {
            Effect::Put { db, key, .. }
            | Effect::Del { db, key }
            | Effect::SetExpiry { db, key, .. }
            | Effect::HashSet { db, key, .. }
            | Effect::HashDel { db, key, .. }
            | Effect::SetAdd { db, key, .. }
            | Effect::SetRem { db, key, .. }
            | Effect::ZAdd { db, key, .. }
            | Effect::ZRem { db, key, .. }
            | Effect::ListPush { db, key, .. }
            | Effect::ListPop { db, key, .. }
            | Effect::ListSet { db, key, .. }
            | Effect::ListInsert { db, key, .. }
            | Effect::ListRem { db, key, .. }
            | Effect::ListTrim { db, key, .. } => Some((*db, key)),
            Effect::FlushDb { .. } | Effect::FlushAll | Effect::Functions { .. } => None,
        }
    }
}

/// A whole key as stored in a snapshot or a logical backup.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub db: DbIndex,
    pub key: Bytes,
    pub value: Value,
    pub version: u64,
    pub expires_at_ms: Option<u64>,
}

/// One item of a snapshot's record stream. A collection too big for one record is written as
/// its `Header` followed by `Members` batches holding `members` elements in all, so no record
/// outgrows a chunk and neither the writer nor the loader holds a second copy of it.
#[derive(Clone, Debug, PartialEq)]
pub enum Piece {
    Record(Record),
    Header {
        db: DbIndex,
        key: Bytes,
        kind: Kind,
        version: u64,
        expires_at_ms: Option<u64>,
        /// Elements (hash fields, set members) in the batches that follow.
        members: u64,
    },
    /// The next elements of the collection whose header came last; a `Value` of its kind.
    Members(Value),
    /// The function libraries (source code) as set by entry `version`. At most one per
    /// snapshot, before the first key.
    Functions {
        version: u64,
        libraries: Vec<Bytes>,
    },
}

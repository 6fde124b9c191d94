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
use serde::{Deserialize, Serialize};

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

/// A stored value. An enum from day one so that hashes, lists, sets and sorted sets can join.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Value {
    String(Bytes),
}

impl Value {
    /// Redis's `TYPE` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
        }
    }
}

/// One deterministic change to the keyspace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
}

/// A whole key as stored in a snapshot or a logical backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub db: DbIndex,
    pub key: Bytes,
    pub value: Value,
    pub version: u64,
    pub expires_at_ms: Option<u64>,
}

//! The in-memory keyspace: `databases` logical databases spread over [`SHARDS`] shards.
//!
//! A key lives in shard `hash(key) % SHARDS` whatever its database, so `MOVE`/`COPY` between
//! databases stay inside one shard. Each shard is a `parking_lot::Mutex`; multi-key commands and
//! MULTI/EXEC lock their shards in ascending index order ([`Keyspace::lock`]), so there is no
//! deadlock and no global lock.
//!
//! Invariants:
//! - Every entry carries a `version`: the sequence number of the WAL entry that last modified it.
//!   Sequence numbers come from one global clock ([`Keyspace::reserve_seq`]) and are never reused.
//! - A shard's `last_seq` is the newest sequence applied to it; a reply that reveals anything read
//!   from the shard may leave only once the WAL is durable up to it.
//! - Every mutation goes through [`Locked`], which records the deterministic [`Effect`] to log,
//!   stamps the version, keeps the expiry index in step and marks WATCHing clients dirty.
//! - Expired keys are removed lazily on access and by [`Keyspace::active_expire`]; removing an
//!   expired key needs no WAL entry because its absolute expiry time is already logged.
//!
//! The keyspace knows nothing about files or sockets.

pub mod access;
pub mod blocked;
pub mod clock;
pub mod coll;
pub mod effect;
pub mod list;
mod table;
pub mod zset;

pub use blocked::{BlockOp, Served, Waiter};
pub use coll::{Coll, HashObj, Limits, Member, SetObj};
pub use effect::{db_indexes, DbIndex, Effect, Kind, Piece, Record, Value, MAX_DATABASES};
pub use list::ListObj;
pub use table::{Entry, Table};
pub use zset::{cmp_elem, LexBound, ScoreBound, ZSetObj};

/// A command met a key holding another kind of value (Redis's WRONGTYPE error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WrongType;

use bytes::Bytes;
use hashbrown::HashMap;
use parking_lot::{Mutex, MutexGuard};
use std::cell::Cell;
use std::collections::{BTreeSet, VecDeque};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Number of shards. A power of two; SCAN walks one shard per step.
pub const SHARDS: usize = 256;

/// Orders ready keys across shards (see `Shard::ready`).
static READY_TICK: AtomicU64 = AtomicU64::new(0);

fn note_ready(ready: &mut Vec<(u64, DbIndex, Bytes)>, db: DbIndex, key: &[u8]) {
    if !ready.iter().any(|(_, d, k)| *d == db && k == key) {
        let tick = READY_TICK.fetch_add(1, Ordering::Relaxed);
        ready.push((tick, db, Bytes::copy_from_slice(key)));
    }
}

/// The flag a WATCHing client shares with the shards: set when a watched key changes.
pub type WatchFlag = Arc<AtomicBool>;

pub struct Shard {
    dbs: Vec<Table>,
    /// (expires_at_ms, db, key) for every key with an expiry.
    expires: BTreeSet<(u64, DbIndex, Bytes)>,
    watched: HashMap<(DbIndex, Bytes), Vec<WatchFlag>>,
    /// Clients blocked on a key of this shard, in the order they blocked (see [`blocked`]).
    blocked: HashMap<(DbIndex, Bytes), VecDeque<Arc<Waiter>>>,
    /// Keys with waiters that a write touched since the last serve, each with the
    /// [`READY_TICK`] of its first touch (waiters are served key by key in that order, across
    /// shards, as Redis serves its ready keys in the order they became ready).
    ready: Vec<(u64, DbIndex, Bytes)>,
    last_seq: u64,
    /// Keys that expired (lazily or actively) since the last drain, kept only while
    /// `want_expired` is set (see [`Keyspace::track_expired`]).
    expired: Vec<(DbIndex, Bytes)>,
    /// Shared by every shard, so turning it on or off takes no shard lock (it may be asked
    /// for by a command that holds some).
    want_expired: Arc<AtomicBool>,
}

fn touch_watchers(watched: &HashMap<(DbIndex, Bytes), Vec<WatchFlag>>, db: DbIndex, key: &[u8]) {
    if watched.is_empty() {
        return;
    }
    if let Some(flags) = watched.get(&(db, Bytes::copy_from_slice(key))) {
        for f in flags {
            f.store(true, Ordering::Release);
        }
    }
}

fn remove_waiter(
    blocked: &mut HashMap<(DbIndex, Bytes), VecDeque<Arc<Waiter>>>,
    db: DbIndex,
    key: &[u8],
    w: &Waiter,
) {
    let k = (db, Bytes::copy_from_slice(key));
    if let Some(q) = blocked.get_mut(&k) {
        q.retain(|x| !std::ptr::eq(Arc::as_ptr(x), w));
        if q.is_empty() {
            blocked.remove(&k);
        }
    }
}

fn index_expiry(
    expires: &mut BTreeSet<(u64, DbIndex, Bytes)>,
    db: DbIndex,
    key: &[u8],
    old: u64,
    new: u64,
) {
    if old == new {
        return;
    }
    let key = Bytes::copy_from_slice(key);
    if old != 0 {
        expires.remove(&(old, db, key.clone()));
    }
    if new != 0 {
        expires.insert((new, db, key));
    }
}

impl Shard {
    fn new(databases: usize, want_expired: Arc<AtomicBool>) -> Self {
        Shard {
            dbs: (0..databases).map(|_| Table::default()).collect(),
            expires: BTreeSet::new(),
            watched: HashMap::new(),
            blocked: HashMap::new(),
            ready: Vec::new(),
            last_seq: 0,
            expired: Vec::new(),
            want_expired,
        }
    }

    /// A write changed `key`: flags its WATCHers and, if clients are blocked on it, notes it
    /// as ready to serve them.
    fn touch_watchers(&mut self, db: DbIndex, key: &[u8]) {
        touch_watchers(&self.watched, db, key);
        if !self.blocked.is_empty()
            && self
                .blocked
                .contains_key(&(db, Bytes::copy_from_slice(key)))
        {
            note_ready(&mut self.ready, db, key);
        }
    }

    fn index_expiry(&mut self, db: DbIndex, key: &[u8], old: u64, new: u64) {
        index_expiry(&mut self.expires, db, key, old, new);
    }

    /// The live entry under `key`; one that has expired by `now_ms` is dropped (one lookup).
    fn get_live(&mut self, db: DbIndex, key: &[u8], now_ms: u64, touch: bool) -> Option<&Entry> {
        let Shard {
            dbs,
            expires,
            watched,
            expired,
            want_expired,
            ..
        } = self;
        match dbs.get_mut(db as usize)?.get_live(key, now_ms, touch) {
            Ok(e) => e,
            Err(old) => {
                index_expiry(expires, db, key, old.expires_at_ms(), 0);
                touch_watchers(watched, db, key);
                if want_expired.load(Ordering::Relaxed) {
                    expired.push((db, Bytes::copy_from_slice(key)));
                }
                None
            }
        }
    }

    /// Removes `key` without logging (expiry). Returns true if it was there.
    fn remove_unlogged(&mut self, db: DbIndex, key: &[u8]) -> Option<Entry> {
        let map = self.dbs.get_mut(db as usize)?;
        let old = map.remove(key)?;
        self.index_expiry(db, key, old.expires_at_ms(), 0);
        self.touch_watchers(db, key);
        Some(old)
    }

    /// Stores `entry` (whose key and version it carries): the one place that keeps the table,
    /// the expiry index, WATCH flags and `last_seq` in step, for live writes, WAL replay,
    /// recovery and restore alike. False if `db` is out of range or the key existed.
    fn store(&mut self, db: DbIndex, entry: Entry) -> bool {
        let Some(map) = self.dbs.get_mut(db as usize) else {
            return false;
        };
        let (version, exp) = (entry.version(), entry.expires_at_ms());
        let key = Bytes::copy_from_slice(entry.key());
        let old = map.insert(entry);
        let old_exp = old.as_ref().map_or(0, |e| e.expires_at_ms());
        self.index_expiry(db, &key, old_exp, exp);
        self.touch_watchers(db, &key);
        self.last_seq = self.last_seq.max(version);
        old.is_none()
    }

    /// Replay of a collection delta: `f` changes the collection of `kind` under `key` (an
    /// empty one when the key is absent or, which a consistent log never holds, of another
    /// kind); the key is stamped `version` with expiry `exp`, and removed if left empty.
    /// [`Keyspace::apply_entry`] has decided that the entry applies to this key.
    fn replay_delta(
        &mut self,
        db: DbIndex,
        key: &[u8],
        kind: Kind,
        version: u64,
        exp: u64,
        f: impl FnOnce(&mut Coll),
    ) {
        let Some(map) = self.dbs.get_mut(db as usize) else {
            return;
        };
        let (old_exp, empty) = match map.get_mut(key) {
            Some(e) if e.kind() == kind => {
                let old = e.expires_at_ms();
                let Some(c) = e.coll_mut() else { return };
                f(c);
                let empty = c.is_empty();
                e.set_version(version);
                e.set_expires_at_ms(exp);
                (old, empty)
            }
            other => {
                let old = other.map_or(0, |e| e.expires_at_ms());
                let Some(mut c) = Coll::empty(kind) else {
                    return;
                };
                f(&mut c);
                let empty = c.is_empty();
                map.insert(Entry::new_coll(key, c, version, exp));
                (old, empty)
            }
        };
        self.index_expiry(db, key, old_exp, exp);
        self.touch_watchers(db, key);
        self.last_seq = self.last_seq.max(version);
        if empty {
            self.remove_unlogged(db, key);
        }
    }

    /// Changes the expiry of a present key and stamps `version`. False if absent.
    fn change_expiry(&mut self, db: DbIndex, key: &[u8], exp: u64, version: u64) -> bool {
        let Some(e) = self.dbs.get_mut(db as usize).and_then(|m| m.get_mut(key)) else {
            return false;
        };
        let old = e.expires_at_ms();
        e.set_expires_at_ms(exp);
        e.set_version(version);
        self.index_expiry(db, key, old, exp);
        self.touch_watchers(db, key);
        self.last_seq = self.last_seq.max(version);
        true
    }

    /// The version of a present key (expired or not), for replay's skip rule.
    fn version_of(&self, db: DbIndex, key: &[u8]) -> Option<u64> {
        self.dbs.get(db as usize)?.get(key).map(|e| e.version())
    }

    /// Installs a whole record as it was (recovery, restore), unless it has expired by
    /// `now_ms` or names a database out of range. Returns whether the key is new in the shard.
    fn install(&mut self, rec: Record, now_ms: u64, limits: &Limits) -> bool {
        let exp = rec.expires_at_ms.unwrap_or(0);
        if exp != 0 && exp <= now_ms {
            return false;
        }
        if rec.value.kind() != Kind::String && rec.value.is_empty() {
            return false;
        }
        let entry = Entry::from_value(&rec.key, &rec.value, rec.version, exp, limits);
        self.store(rec.db, entry)
    }

    pub fn len(&self, db: DbIndex) -> usize {
        self.dbs.get(db as usize).map_or(0, |m| m.len())
    }

    pub fn is_empty(&self, db: DbIndex) -> bool {
        self.len(db) == 0
    }

    pub fn db(&self, db: DbIndex) -> Option<&Table> {
        self.dbs.get(db as usize)
    }

    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }
}

/// Where finished entries go: the WAL writer in the server, nothing in pure tests.
pub trait EntrySink: Send + Sync {
    /// Takes entry `seq`. Called with the entry's shard locks held; must not block on I/O.
    fn submit(&self, seq: u64, effects: Vec<Effect>);
}

pub struct Keyspace {
    sink: std::sync::OnceLock<Arc<dyn EntrySink>>,
    shards: Box<[Mutex<Shard>]>,
    databases: usize,
    hasher: foldhash::fast::FixedState,
    /// The last sequence number handed out.
    clock: AtomicU64,
    /// The collection encoding thresholds (CONFIG SET changes them at any time).
    limits: LimitCell,
    /// Whether shards keep the keys that expire (see [`Keyspace::track_expired`]).
    want_expired: Arc<AtomicBool>,
    /// Whether writes note the keys they create (see [`Keyspace::track_created`]).
    want_created: AtomicBool,
    /// Taken shared by every lock of more than one shard, exclusively by a script (see
    /// [`Keyspace::lock_exclusive`]). A single-shard lock needs no gate: it never waits for
    /// a second shard while holding one, so it cannot deadlock with anyone.
    gate: parking_lot::RwLock<()>,
    /// The function libraries (FUNCTION LOAD): their source code, and the sequence of the
    /// entry that last set them. Durable state like a key, but no database's: the scripting
    /// engine compiles them, the keyspace only keeps and logs them.
    functions: Mutex<Functions>,
}

/// One eviction candidate of [`Keyspace::sample`]: `(db, key, access stamp, expires_at_ms)`.
pub type Sample = (DbIndex, Bytes, u32, u64);

/// The function libraries' source code and the sequence of the entry that set them (0: never).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Functions {
    pub version: u64,
    pub libraries: Vec<Bytes>,
}

/// [`Limits`] readable without a lock on every write.
#[derive(Default)]
struct LimitCell([std::sync::atomic::AtomicUsize; 8]);

impl LimitCell {
    fn get(&self) -> Limits {
        let v = |i: usize| self.0.get(i).map_or(0, |a| a.load(Ordering::Relaxed));
        Limits {
            hash_max_listpack_entries: v(0),
            hash_max_listpack_value: v(1),
            set_max_intset_entries: v(2),
            set_max_listpack_entries: v(3),
            set_max_listpack_value: v(4),
            zset_max_listpack_entries: v(5),
            zset_max_listpack_value: v(6),
            // Stored as the bits of the i64 (the parameter may be negative).
            list_max_listpack_size: v(7) as i64,
        }
    }

    fn set(&self, l: Limits) {
        let vals = [
            l.hash_max_listpack_entries,
            l.hash_max_listpack_value,
            l.set_max_intset_entries,
            l.set_max_listpack_entries,
            l.set_max_listpack_value,
            l.zset_max_listpack_entries,
            l.zset_max_listpack_value,
            l.list_max_listpack_size as usize,
        ];
        for (a, v) in self.0.iter().zip(vals) {
            a.store(v, Ordering::Relaxed);
        }
    }
}

/// Collections with more elements than this are written to snapshots as a header and member
/// batches of this many elements (and never as one record).
pub const SNAPSHOT_BATCH: usize = 1024;

impl Keyspace {
    /// `databases` above [`MAX_DATABASES`] is cut to it (the config refuses such values).
    pub fn new(databases: usize) -> Self {
        let databases = databases.min(MAX_DATABASES);
        let want_expired = Arc::new(AtomicBool::new(false));
        Keyspace {
            sink: std::sync::OnceLock::new(),
            shards: (0..SHARDS)
                .map(|_| Mutex::new(Shard::new(databases, want_expired.clone())))
                .collect(),
            want_expired,
            want_created: AtomicBool::new(false),
            gate: parking_lot::RwLock::new(()),
            functions: Mutex::new(Functions::default()),
            databases,
            hasher: foldhash::fast::FixedState::with_seed(0x7661_796c_6978),
            clock: AtomicU64::new(0),
            limits: {
                let l = LimitCell::default();
                l.set(Limits::default());
                l
            },
        }
    }

    /// The function libraries as last set (live, recovered or replayed).
    pub fn functions(&self) -> Functions {
        self.functions.lock().clone()
    }

    /// The sequence that last set the function libraries (0: never).
    pub fn functions_version(&self) -> u64 {
        self.functions.lock().version
    }

    /// Installs libraries set by entry (or snapshot piece, or restore baseline) `version`,
    /// unless a newer set is already there: replay over a fuzzy snapshot applies only what is
    /// newer.
    pub fn install_functions(&self, version: u64, libraries: &[Bytes]) {
        let mut f = self.functions.lock();
        if version > f.version {
            *f = Functions {
                version,
                libraries: libraries.to_vec(),
            };
        }
    }

    /// The collection encoding thresholds in force.
    pub fn limits(&self) -> Limits {
        self.limits.get()
    }

    /// Changes the thresholds (CONFIG SET, the config file); existing collections keep their
    /// encoding until a write moves them up.
    pub fn set_limits(&self, limits: Limits) {
        self.limits.set(limits)
    }

    /// Connects the WAL. Set once at start-up, after recovery.
    pub fn set_sink(&self, sink: Arc<dyn EntrySink>) {
        let _ = self.sink.set(sink);
    }

    fn valid_db(&self, db: DbIndex) -> bool {
        (db as usize) < self.databases
    }

    pub fn databases(&self) -> usize {
        self.databases
    }

    pub fn shard_of(&self, key: &[u8]) -> usize {
        (self.hasher.hash_one(key) as usize) & (SHARDS - 1)
    }

    /// Hands out the next sequence number (the version of everything one entry writes), or
    /// `None` when the clock is at [`clock::MAX_SEQ`]: checked, it never wraps or repeats.
    pub fn reserve_seq(&self) -> Option<u64> {
        self.clock
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| {
                c.checked_add(1).filter(|n| *n <= clock::MAX_SEQ)
            })
            .ok()
            .map(|prev| prev + 1)
    }

    /// Whether a write may still be admitted: the clock is below [`clock::WRITE_LIMIT`]. Write
    /// commands are refused with [`clock::CLOCK_EXHAUSTED`] before they touch anything otherwise.
    pub fn clock_has_room(&self) -> bool {
        self.current_seq() < clock::WRITE_LIMIT
    }

    /// The last sequence handed out.
    pub fn current_seq(&self) -> u64 {
        self.clock.load(Ordering::Acquire)
    }

    /// Moves the clock past `seq` (recovery, restores bringing larger versions).
    pub fn advance_clock(&self, seq: u64) {
        self.clock.fetch_max(seq, Ordering::AcqRel);
    }

    pub fn lock_shard(&self, i: usize) -> MutexGuard<'_, Shard> {
        self.shards[i & (SHARDS - 1)].lock()
    }

    /// Locks the given shards (any order, duplicates allowed) in ascending order.
    pub fn lock(&self, mut shards: Vec<usize>) -> Locked<'_> {
        shards.sort_unstable();
        shards.dedup();
        // Recursive: a queued script must not make a second shared holder wait (none nests
        // today, but a wait here would be a deadlock, not a delay).
        let gate = if shards.len() > 1 {
            Gate::Shared(self.gate.read_recursive())
        } else {
            Gate::None
        };
        let guards = shards
            .into_iter()
            .map(|i| (i, self.shards[i & (SHARDS - 1)].lock()))
            .collect();
        let mut l = Locked::new(self, guards);
        l.gate = gate;
        l
    }

    /// A script's locks: the gate exclusively, so no other lock of several shards exists
    /// while the script runs, and then `shards`. [`Locked::lock_more`] adds shards later, in
    /// any order: with the gate held, every other holder of a shard holds only that one and
    /// releases it without waiting for another, so the script's waits end.
    pub fn lock_exclusive(&self, mut shards: Vec<usize>) -> Locked<'_> {
        let gate = Gate::Exclusive(self.gate.write());
        shards.sort_unstable();
        shards.dedup();
        let guards = shards
            .into_iter()
            .map(|i| (i, self.shards[i & (SHARDS - 1)].lock()))
            .collect();
        let mut l = Locked::new(self, guards);
        l.gate = gate;
        l
    }

    pub fn lock_keys<'k>(&self, keys: impl Iterator<Item = &'k [u8]>) -> Locked<'_> {
        self.lock(keys.map(|k| self.shard_of(k)).collect())
    }

    pub fn lock_all(&self) -> Locked<'_> {
        self.lock((0..SHARDS).collect())
    }

    pub fn lock_none(&self) -> Locked<'_> {
        Locked::new(self, Vec::new())
    }

    /// Eviction candidates from shard `i` (`maxmemory`): up to `n` live keys per database,
    /// from a random table slot onwards, as `(db, key, access stamp, expires_at_ms)`.
    /// `volatile`: only keys with an expiry; when the slots walked hold none, the shard's
    /// soonest-expiring keys instead. `soonest`: just the soonest-expiring keys (volatile-ttl,
    /// which the expiry index answers exactly).
    pub fn sample(
        &self,
        i: usize,
        n: usize,
        volatile: bool,
        soonest: bool,
        now_ms: u64,
    ) -> Vec<Sample> {
        let s = self.shards[i & (SHARDS - 1)].lock();
        let mut out = Vec::new();
        let from_index = |out: &mut Vec<Sample>, db: Option<DbIndex>| {
            let picked = s
                .expires
                .iter()
                .filter(|(_, d, _)| db.is_none_or(|x| x == *d))
                .take(n);
            for (at, d, k) in picked {
                let stamp = s
                    .dbs
                    .get(*d as usize)
                    .and_then(|t| t.get(k))
                    .map_or(0, |e| e.access());
                out.push((*d, k.clone(), stamp, *at));
            }
        };
        if soonest {
            from_index(&mut out, None);
            return out;
        }
        for (db, t) in s.dbs.iter().enumerate() {
            let slots = t.slots();
            if t.is_empty() || slots == 0 {
                continue;
            }
            let db = db as DbIndex;
            let start = rand::random::<u64>() as usize % slots;
            let before = out.len();
            // As Redis's dictGetSomeKeys: a bounded walk, so a sparse table costs little.
            for step in 0..slots.min(n * 10 + 16) {
                let Some(e) = t.at((start + step) % slots) else {
                    continue;
                };
                if e.is_expired(now_ms) || (volatile && e.expires_at_ms() == 0) {
                    continue;
                }
                out.push((
                    db,
                    Bytes::copy_from_slice(e.key()),
                    e.access(),
                    e.expires_at_ms(),
                ));
                if out.len() - before == n {
                    break;
                }
            }
            if volatile && out.len() == before {
                from_index(&mut out, Some(db));
            }
        }
        out
    }

    /// Removes expired keys from every shard, at most `budget` per shard per call, holding one
    /// shard lock at a time. Returns how many keys it removed.
    pub fn active_expire(&self, now_ms: u64, budget: usize) -> usize {
        let mut removed = 0;
        for shard in self.shards.iter() {
            let mut s = shard.lock();
            for _ in 0..budget {
                let Some(first) = s.expires.first() else {
                    break;
                };
                if first.0 > now_ms {
                    break;
                }
                let (_, db, key) = first.clone();
                s.remove_unlogged(db, &key);
                if s.want_expired.load(Ordering::Relaxed) {
                    s.expired.push((db, key));
                }
                removed += 1;
            }
        }
        removed
    }

    /// Starts (or stops) keeping the keys that expire, for `expired` keyspace events.
    pub fn track_expired(&self, on: bool) {
        self.want_expired.store(on, Ordering::Relaxed);
    }

    /// Starts (or stops) noting which effects create their key, for `new` keyspace events.
    pub fn track_created(&self, on: bool) {
        self.want_created.store(on, Ordering::Relaxed);
    }

    /// The keys that expired in any shard since the last drain (active expiry's events).
    pub fn drain_expired(&self) -> Vec<(DbIndex, Bytes)> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            out.append(&mut shard.lock().expired);
        }
        out
    }

    /// Number of keys and keys with an expiry in `db` (counts keys not yet lazily expired).
    pub fn db_stats(&self, db: DbIndex) -> (usize, usize) {
        let mut keys = 0;
        let mut expires = 0;
        for shard in self.shards.iter() {
            let s = shard.lock();
            if let Some(m) = s.dbs.get(db as usize) {
                keys += m.len();
                if !s.expires.is_empty() {
                    expires += m.iter().filter(|e| e.expires_at_ms() != 0).count();
                }
            }
        }
        (keys, expires)
    }

    /// The newest sequence applied anywhere: what a whole-keyspace read has observed.
    pub fn max_shard_seq(&self) -> u64 {
        self.shards
            .iter()
            .map(|s| s.lock().last_seq)
            .max()
            .unwrap_or(0)
    }

    /// Registers a WATCH of `key` in `db`. Returns whether the key is logically expired now
    /// (Redis fails EXEC if a key that was live at WATCH time has expired by EXEC time).
    pub fn watch(&self, db: DbIndex, key: &Bytes, flag: &WatchFlag, now_ms: u64) -> bool {
        let mut s = self.lock_shard(self.shard_of(key));
        let expired = s
            .db(db)
            .and_then(|m| m.get(&key[..]))
            .is_some_and(|e| e.is_expired(now_ms));
        s.watched
            .entry((db, key.clone()))
            .or_default()
            .push(flag.clone());
        expired
    }

    pub fn unwatch(&self, db: DbIndex, key: &Bytes, flag: &WatchFlag) {
        let mut s = self.lock_shard(self.shard_of(key));
        let k = (db, key.clone());
        if let Some(list) = s.watched.get_mut(&k) {
            list.retain(|f| !Arc::ptr_eq(f, flag));
            if list.is_empty() {
                s.watched.remove(&k);
            }
        }
    }

    /// Removes `w` from the queue of every key it waits on (a client that stops waiting:
    /// timeout, CLIENT UNBLOCK, disconnection, or served through one of its keys).
    pub fn unblock(&self, w: &Waiter) {
        for key in &w.keys {
            let mut s = self.lock_shard(self.shard_of(key));
            remove_waiter(&mut s.blocked, w.db, key, w);
        }
    }

    /// Recovery: installs a snapshot record as it was (expired ones are dropped).
    pub fn load_record(&self, rec: Record, now_ms: u64) {
        self.advance_clock(rec.version);
        let limits = self.limits();
        let mut s = self.lock_shard(self.shard_of(&rec.key));
        s.install(rec, now_ms, &limits);
    }

    /// Recovery: a loader that takes a snapshot's pieces in order (see [`Piece`]).
    pub fn loader(&self, now_ms: u64) -> PieceLoader<'_> {
        PieceLoader {
            ks: self,
            now_ms,
            limits: self.limits(),
            open: None,
        }
    }

    /// Recovery and PITR: applies one WAL entry, skipping what a fuzzy snapshot already holds.
    /// Never reads the clock except to drop keys that have expired by now.
    ///
    /// The skip rule is decided once per key and entry, from the key's version before the
    /// entry: a key whose version is >= `seq` already holds this entry's result (the snapshot
    /// took it afterwards), so none of the entry's effects on it apply; any other key gets all
    /// of them, in order. Deciding per effect would be wrong for an entry that changes one key
    /// twice (MULTI with two SETs of a key, SMOVE within a set's own EXEC, SREM then SADD):
    /// the first effect stamps the key with `seq` and the second would be skipped. A flush in
    /// the entry removes what is older than the entry and what the entry itself wrote before it.
    pub fn apply_entry(&self, seq: u64, effects: &[Effect]) {
        self.advance_clock(seq);
        let limits = self.limits();
        // (db, key) -> whether this entry's effects on it apply. Single-effect entries (most)
        // decide without the map.
        let mut decided: HashMap<(DbIndex, Bytes), bool> = HashMap::new();
        for effect in effects {
            if let Some((db, key)) = effect.key() {
                let apply = match decided.get(&(db, key.clone())) {
                    Some(a) => *a,
                    None => {
                        let s = self.lock_shard(self.shard_of(key));
                        let a = s.version_of(db, key).is_none_or(|v| v < seq);
                        if effects.len() > 1 {
                            decided.insert((db, key.clone()), a);
                        }
                        a
                    }
                };
                if !apply {
                    continue;
                }
            }
            self.apply_effect(seq, effect, &limits, &decided);
        }
    }

    /// One effect of entry `seq` whose key passed [`Keyspace::apply_entry`]'s rule.
    fn apply_effect(
        &self,
        seq: u64,
        effect: &Effect,
        limits: &Limits,
        decided: &HashMap<(DbIndex, Bytes), bool>,
    ) {
        let lock = |key: &[u8]| self.lock_shard(self.shard_of(key));
        match effect {
            Effect::Put {
                db,
                key,
                value,
                expires_at_ms,
            } => {
                let exp = expires_at_ms.unwrap_or(0);
                if value.kind() != Kind::String && value.is_empty() {
                    lock(key).remove_unlogged(*db, key);
                } else {
                    let entry = Entry::from_value(key, value, seq, exp, limits);
                    lock(key).store(*db, entry);
                }
            }
            Effect::Del { db, key } => {
                let mut s = lock(key);
                if s.remove_unlogged(*db, key).is_some() {
                    s.last_seq = s.last_seq.max(seq);
                }
            }
            Effect::SetExpiry {
                db,
                key,
                expires_at_ms,
            } => {
                lock(key).change_expiry(*db, key, expires_at_ms.unwrap_or(0), seq);
            }
            Effect::HashSet {
                db,
                key,
                pairs,
                expires_at_ms,
            } => {
                let exp = expires_at_ms.unwrap_or(0);
                lock(key).replay_delta(*db, key, Kind::Hash, seq, exp, |c| {
                    if let Coll::Hash(h) = c {
                        for (f, v) in pairs {
                            h.set(f, v, limits);
                        }
                    }
                });
            }
            Effect::HashDel {
                db,
                key,
                fields,
                expires_at_ms,
            } => {
                let exp = expires_at_ms.unwrap_or(0);
                lock(key).replay_delta(*db, key, Kind::Hash, seq, exp, |c| {
                    if let Coll::Hash(h) = c {
                        for f in fields {
                            h.remove(f);
                        }
                    }
                });
            }
            Effect::SetAdd {
                db,
                key,
                members,
                expires_at_ms,
            } => {
                let exp = expires_at_ms.unwrap_or(0);
                lock(key).replay_delta(*db, key, Kind::Set, seq, exp, |c| {
                    if let Coll::Set(set) = c {
                        for m in members {
                            set.insert(m, limits);
                        }
                    }
                });
            }
            Effect::SetRem {
                db,
                key,
                members,
                expires_at_ms,
            } => {
                let exp = expires_at_ms.unwrap_or(0);
                lock(key).replay_delta(*db, key, Kind::Set, seq, exp, |c| {
                    if let Coll::Set(set) = c {
                        for m in members {
                            set.remove(m);
                        }
                    }
                });
            }
            Effect::ZAdd {
                db,
                key,
                pairs,
                expires_at_ms,
            } => {
                let exp = expires_at_ms.unwrap_or(0);
                lock(key).replay_delta(*db, key, Kind::ZSet, seq, exp, |c| {
                    if let Coll::ZSet(z) = c {
                        for (m, score) in pairs {
                            z.insert(m, *score, limits);
                        }
                    }
                });
            }
            Effect::ZRem {
                db,
                key,
                members,
                expires_at_ms,
            } => {
                let exp = expires_at_ms.unwrap_or(0);
                lock(key).replay_delta(*db, key, Kind::ZSet, seq, exp, |c| {
                    if let Coll::ZSet(z) = c {
                        for m in members {
                            z.remove(m);
                        }
                    }
                });
            }
            Effect::ListPush {
                db,
                key,
                expires_at_ms,
                ..
            }
            | Effect::ListPop {
                db,
                key,
                expires_at_ms,
                ..
            }
            | Effect::ListSet {
                db,
                key,
                expires_at_ms,
                ..
            }
            | Effect::ListInsert {
                db,
                key,
                expires_at_ms,
                ..
            }
            | Effect::ListRem {
                db,
                key,
                expires_at_ms,
                ..
            }
            | Effect::ListTrim {
                db,
                key,
                expires_at_ms,
                ..
            } => {
                let exp = expires_at_ms.unwrap_or(0);
                lock(key).replay_delta(*db, key, Kind::List, seq, exp, |c| {
                    if let Coll::List(l) = c {
                        replay_list_delta(l, effect, limits);
                    }
                });
            }
            Effect::FlushDb { db } => self.flush_older_than(Some(*db), seq, decided),
            Effect::FlushAll => self.flush_older_than(None, seq, decided),
            Effect::Functions { libraries } => self.install_functions(seq, libraries),
        }
    }

    /// Replay of a flush in entry `seq`: removes every key older than the entry, and the keys
    /// the entry itself wrote before the flush (`decided` true: they now carry `seq`).
    fn flush_older_than(
        &self,
        db: Option<DbIndex>,
        seq: u64,
        decided: &HashMap<(DbIndex, Bytes), bool>,
    ) {
        for shard in self.shards.iter() {
            let mut s = shard.lock();
            let dbs: Vec<DbIndex> = match db {
                Some(d) => vec![d],
                None => db_indexes(s.dbs.len()).collect(),
            };
            for d in dbs {
                let doomed: Vec<Bytes> = match s.dbs.get(d as usize) {
                    Some(m) => m
                        .iter()
                        .filter(|e| {
                            e.version() < seq
                                || (e.version() == seq
                                    && decided
                                        .get(&(d, Bytes::copy_from_slice(e.key())))
                                        .copied()
                                        .unwrap_or(false))
                        })
                        .map(|e| Bytes::copy_from_slice(e.key()))
                        .collect(),
                    None => continue,
                };
                for k in doomed {
                    s.remove_unlogged(d, &k);
                }
            }
        }
    }

    /// Drops every key after a recovery that may have loaded keys which expired while the
    /// server was down. Used once after loading.
    pub fn purge_expired(&self, now_ms: u64) -> usize {
        self.active_expire(now_ms, usize::MAX)
    }

    /// The function libraries as the snapshot's first piece (with shard 0's visit), if any.
    /// A change after it has a larger sequence, and its entry is replayed on top.
    fn functions_piece(&self, shard: usize) -> Option<Piece> {
        let f = self.functions.lock();
        (shard == 0 && !f.libraries.is_empty()).then(|| Piece::Functions {
            version: f.version,
            libraries: f.libraries.clone(),
        })
    }

    /// The live snapshot's visit of shard `i`: like [`Keyspace::visit_shard`], but a
    /// collection of more than [`SNAPSHOT_BATCH`] elements is written a batch per lock hold,
    /// so no command waits behind a whole big collection's serialization. `f(None)` marks
    /// the points where no lock is held (the writer may encrypt and write there).
    ///
    /// Why batches taken at different times still give an exact state: the header carries
    /// the key's version when its first batch was taken; every change after that has a
    /// larger sequence (and one above the snapshot's sequence, since the WAL was sealed
    /// first), so recovery replays it on top. The [`Dense`](coll) cursor returns every element
    /// present throughout the walk (a removal moves an already visited element into the
    /// hole); elements added meanwhile, and the deltas that changed batches already taken,
    /// are replayed. Deltas set fields or members to their final state, so applying one to a
    /// batch that already holds it changes nothing. The header's `members` is therefore a
    /// size hint, not a count: the collection ends at the next piece that is not a batch.
    pub fn visit_shard_unlocking(&self, i: usize, now_ms: u64, f: &mut dyn FnMut(Option<&Piece>)) {
        if let Some(p) = self.functions_piece(i) {
            f(Some(&p));
        }
        let mut big: Vec<(DbIndex, Bytes)> = Vec::new();
        {
            let s = self.lock_shard(i);
            for (db, map) in db_indexes(s.dbs.len()).zip(s.dbs.iter()) {
                for e in map.iter().filter(|e| !e.is_expired(now_ms)) {
                    if e.as_coll().is_some_and(|c| c.len() > SNAPSHOT_BATCH) {
                        big.push((db, Bytes::copy_from_slice(e.key())));
                    } else {
                        f(Some(&Piece::Record(e.to_record(db))));
                    }
                }
            }
        }
        f(None);
        for (db, key) in big {
            let mut kind = None;
            let mut cursor = 0u64;
            loop {
                let s = self.lock_shard(i);
                let Some(e) = s
                    .db(db)
                    .and_then(|m| m.get(&key))
                    .filter(|e| !e.is_expired(now_ms))
                else {
                    break;
                };
                let Some(coll) = e.as_coll() else { break };
                if let Coll::List(l) = coll {
                    // A list's deltas are positional (pops, LSET, LINSERT): a batch taken
                    // after some of them would not be the state the header's version names.
                    // So a big list is copied whole under one lock hold (a copy of its nodes)
                    // and written from the copy. (Turned into a list after a first batch of
                    // another kind: stop; its Put is in the replayed WAL.)
                    if kind.is_none() {
                        let (version, expires_at_ms, list) = (e.version(), e.expiry(), l.clone());
                        MutexGuard::unlock_fair(s);
                        f(Some(&Piece::Header {
                            db,
                            key: key.clone(),
                            kind: Kind::List,
                            version,
                            expires_at_ms,
                            members: list.len() as u64,
                        }));
                        list_batches(&list, &mut |p| f(Some(p)));
                        f(None);
                    }
                    break;
                }
                match kind {
                    None => {
                        kind = Some(coll.kind());
                        f(Some(&Piece::Header {
                            db,
                            key: key.clone(),
                            kind: coll.kind(),
                            version: e.version(),
                            expires_at_ms: e.expiry(),
                            members: coll.len() as u64,
                        }));
                    }
                    // Replaced by another kind meanwhile: its Put is in the replayed WAL.
                    Some(k) if k != coll.kind() => break,
                    Some(_) => {}
                }
                let b = |x: &[u8]| Bytes::copy_from_slice(x);
                let (next, batch) = match coll {
                    Coll::Hash(h) => {
                        let (next, items) = h.scan(cursor, SNAPSHOT_BATCH);
                        (
                            next,
                            Value::Hash(items.into_iter().map(|(k, v)| (b(k), b(v))).collect()),
                        )
                    }
                    Coll::Set(set) => {
                        let (next, items) = set.scan(cursor, SNAPSHOT_BATCH);
                        (
                            next,
                            Value::Set(items.iter().map(|m| m.to_bytes()).collect()),
                        )
                    }
                    Coll::ZSet(z) => {
                        let (next, items) = z.scan(cursor, SNAPSHOT_BATCH);
                        (
                            next,
                            Value::ZSet(items.into_iter().map(|(m, s)| (b(m), s)).collect()),
                        )
                    }
                    Coll::List(_) => break,
                };
                if !batch.is_empty() {
                    f(Some(&Piece::Members(batch)));
                }
                // A fair unlock hands the shard to a command waiting for it, so the snapshot
                // thread cannot take it straight back batch after batch.
                MutexGuard::unlock_fair(s);
                f(None);
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
    }

    /// Visits every live key of shard `i` as snapshot pieces while holding only that shard's
    /// lock: a record per key, or for a collection of more than [`SNAPSHOT_BATCH`] elements a
    /// header and batches of that many, so no piece is larger than a batch. For a state no
    /// one changes meanwhile (PITR); the server uses [`Keyspace::visit_shard_unlocking`].
    pub fn visit_shard(&self, i: usize, now_ms: u64, f: &mut dyn FnMut(&Piece)) {
        if let Some(p) = self.functions_piece(i) {
            f(&p);
        }
        let s = self.lock_shard(i);
        for (db, map) in db_indexes(s.dbs.len()).zip(s.dbs.iter()) {
            for e in map.iter().filter(|e| !e.is_expired(now_ms)) {
                visit_entry(db, e, f);
            }
        }
    }
}

/// Applies one list effect to `l` as the live write did (indices and counts saturate, so a
/// log that never holds an impossible one cannot make replay panic).
fn replay_list_delta(l: &mut ListObj, effect: &Effect, limits: &Limits) {
    let n = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    match effect {
        Effect::ListPush { left, elements, .. } => {
            for e in elements {
                l.push(*left, e, limits);
            }
        }
        Effect::ListPop { left, count, .. } => {
            for _ in 0..*count {
                if l.pop(*left, limits).is_none() {
                    break;
                }
            }
        }
        Effect::ListSet { index, element, .. } => {
            l.set(n(*index), element, limits);
        }
        Effect::ListInsert { index, element, .. } => {
            let i = n(*index).min(l.len());
            l.insert(i, element, limits);
        }
        Effect::ListRem { count, element, .. } => {
            l.remove_matching(*count, element, limits);
        }
        Effect::ListTrim { front, back, .. } => l.trim(n(*front), n(*back), limits),
        _ => {}
    }
}

/// Hands `e` to `f` as snapshot pieces (see [`Keyspace::visit_shard`]).
pub fn visit_entry(db: DbIndex, e: &Entry, f: &mut dyn FnMut(&Piece)) {
    let Some(coll) = e.as_coll().filter(|c| c.len() > SNAPSHOT_BATCH) else {
        f(&Piece::Record(e.to_record(db)));
        return;
    };
    f(&Piece::Header {
        db,
        key: Bytes::copy_from_slice(e.key()),
        kind: coll.kind(),
        version: e.version(),
        expires_at_ms: e.expiry(),
        members: coll.len() as u64,
    });
    let b = |x: &[u8]| Bytes::copy_from_slice(x);
    match coll {
        Coll::Hash(h) => {
            let mut batch = Vec::with_capacity(SNAPSHOT_BATCH);
            for (k, v) in h.iter() {
                batch.push((b(k), b(v)));
                if batch.len() == SNAPSHOT_BATCH {
                    f(&Piece::Members(Value::Hash(std::mem::take(&mut batch))));
                }
            }
            if !batch.is_empty() {
                f(&Piece::Members(Value::Hash(batch)));
            }
        }
        Coll::Set(set) => {
            let mut batch = Vec::with_capacity(SNAPSHOT_BATCH);
            for m in set.iter() {
                batch.push(m.to_bytes());
                if batch.len() == SNAPSHOT_BATCH {
                    f(&Piece::Members(Value::Set(std::mem::take(&mut batch))));
                }
            }
            if !batch.is_empty() {
                f(&Piece::Members(Value::Set(batch)));
            }
        }
        Coll::ZSet(z) => {
            let mut batch = Vec::with_capacity(SNAPSHOT_BATCH);
            for (m, score) in z.iter() {
                batch.push((b(m), score));
                if batch.len() == SNAPSHOT_BATCH {
                    f(&Piece::Members(Value::ZSet(std::mem::take(&mut batch))));
                }
            }
            if !batch.is_empty() {
                f(&Piece::Members(Value::ZSet(batch)));
            }
        }
        Coll::List(l) => list_batches(l, f),
    }
}

/// A list's elements, head to tail, as batches of [`SNAPSHOT_BATCH`].
fn list_batches(l: &ListObj, f: &mut dyn FnMut(&Piece)) {
    let mut batch = Vec::with_capacity(SNAPSHOT_BATCH);
    for e in l.iter() {
        batch.push(Bytes::copy_from_slice(e));
        if batch.len() == SNAPSHOT_BATCH {
            f(&Piece::Members(Value::List(std::mem::take(&mut batch))));
        }
    }
    if !batch.is_empty() {
        f(&Piece::Members(Value::List(batch)));
    }
}

/// Hands a whole record to `f` as snapshot pieces, as [`visit_entry`] does for a stored key.
pub fn record_pieces(r: &Record, f: &mut dyn FnMut(&Piece)) {
    let batches = |n: usize| n.div_ceil(SNAPSHOT_BATCH);
    match &r.value {
        Value::Hash(pairs) if pairs.len() > SNAPSHOT_BATCH => {
            f(&record_header(r, Kind::Hash, pairs.len()));
            for i in 0..batches(pairs.len()) {
                let part = pairs.iter().skip(i * SNAPSHOT_BATCH).take(SNAPSHOT_BATCH);
                f(&Piece::Members(Value::Hash(part.cloned().collect())));
            }
        }
        Value::Set(members) if members.len() > SNAPSHOT_BATCH => {
            f(&record_header(r, Kind::Set, members.len()));
            for chunk in members.chunks(SNAPSHOT_BATCH) {
                f(&Piece::Members(Value::Set(chunk.to_vec())));
            }
        }
        Value::ZSet(pairs) if pairs.len() > SNAPSHOT_BATCH => {
            f(&record_header(r, Kind::ZSet, pairs.len()));
            for chunk in pairs.chunks(SNAPSHOT_BATCH) {
                f(&Piece::Members(Value::ZSet(chunk.to_vec())));
            }
        }
        Value::List(elements) if elements.len() > SNAPSHOT_BATCH => {
            f(&record_header(r, Kind::List, elements.len()));
            for chunk in elements.chunks(SNAPSHOT_BATCH) {
                f(&Piece::Members(Value::List(chunk.to_vec())));
            }
        }
        _ => f(&Piece::Record(r.clone())),
    }
}

fn record_header(r: &Record, kind: Kind, members: usize) -> Piece {
    Piece::Header {
        db: r.db,
        key: r.key.clone(),
        kind,
        version: r.version,
        expires_at_ms: r.expires_at_ms,
        members: members as u64,
    }
}

/// Installs a snapshot's pieces into the keyspace: records at once, a collection's header and
/// member batches into one entry built in place (no second copy of a big collection). The
/// snapshot reader has checked the grammar (batches follow a header of their kind);
/// anything else is ignored here rather than trusted. The last collection is installed by
/// [`PieceLoader::finish_open`] / [`PieceLoader::finish`].
pub struct PieceLoader<'k> {
    ks: &'k Keyspace,
    now_ms: u64,
    limits: Limits,
    /// The collection being filled: its header fields, the collection, and the header's size
    /// hint (unused: a collection ends at the next piece that is not a batch).
    open: Option<(DbIndex, Bytes, u64, u64, Coll, u64)>,
}

impl PieceLoader<'_> {
    pub fn piece(&mut self, p: Piece) {
        match p {
            Piece::Record(r) => {
                self.finish_open();
                self.ks.load_record(r, self.now_ms);
            }
            Piece::Functions { version, libraries } => {
                self.finish_open();
                self.ks.advance_clock(version);
                self.ks.install_functions(version, &libraries);
            }
            Piece::Header {
                db,
                key,
                kind,
                version,
                expires_at_ms,
                members,
            } => {
                self.finish_open();
                self.ks.advance_clock(version);
                let coll = match kind {
                    // A sorted set beyond the pack's limit was in the sorted index when it
                    // was taken: fill one directly, so no score passes through a pack (which
                    // stores -0 as 0).
                    Kind::ZSet if members > self.limits.zset_max_listpack_entries as u64 => {
                        let cap = usize::try_from(members).unwrap_or(0).min(1 << 20);
                        Coll::ZSet(ZSetObj::sorted_with_capacity(cap))
                    }
                    _ => match Coll::empty(kind) {
                        Some(c) => c,
                        None => return,
                    },
                };
                self.open = Some((db, key, version, expires_at_ms.unwrap_or(0), coll, members));
            }
            Piece::Members(v) => {
                let Some((_, _, _, _, coll, due)) = self.open.as_mut() else {
                    return;
                };
                let limits = &self.limits;
                match (coll, v) {
                    (Coll::Hash(h), Value::Hash(pairs)) => {
                        *due = due.saturating_sub(pairs.len() as u64);
                        for (f, v) in &pairs {
                            h.set(f, v, limits);
                        }
                    }
                    (Coll::Set(s), Value::Set(members)) => {
                        *due = due.saturating_sub(members.len() as u64);
                        for m in &members {
                            s.insert(m, limits);
                        }
                    }
                    (Coll::ZSet(z), Value::ZSet(pairs)) => {
                        *due = due.saturating_sub(pairs.len() as u64);
                        for (m, score) in &pairs {
                            z.insert(m, *score, limits);
                        }
                    }
                    (Coll::List(l), Value::List(elements)) => {
                        *due = due.saturating_sub(elements.len() as u64);
                        for e in &elements {
                            l.push(false, e, limits);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// Installs the collection being filled, if any: called before every piece that is not a
    /// batch, and by the caller when the snapshot ends ([`PieceLoader::finish`]).
    pub fn finish_open(&mut self) {
        let Some((db, key, version, exp, coll, _)) = self.open.take() else {
            return;
        };
        if (exp != 0 && exp <= self.now_ms) || coll.is_empty() {
            return;
        }
        let mut s = self.ks.lock_shard(self.ks.shard_of(&key));
        s.store(db, Entry::new_coll(&key, coll, version, exp));
    }

    /// Installs a collection still open at the end of the stream.
    pub fn finish(mut self) {
        self.finish_open();
    }
}

/// The shards one command (or one EXEC) holds, and the WAL entry it is building.
///
/// All reads and writes of a command go through here. The first write reserves the entry's
/// sequence number; every key written gets it as version. Dropping it submits the entry to the
/// keyspace's [`EntrySink`] (the WAL).
pub struct Locked<'a> {
    ks: &'a Keyspace,
    guards: Vec<(usize, MutexGuard<'a, Shard>)>,
    seq: Option<u64>,
    effects: Vec<Effect>,
    /// Newest sequence observed through the locked shards.
    observed: u64,
    /// A finer bound than `observed`: the newest sequence the command actually read, key by
    /// key (see [`Locked::revealed`]). A `Cell` because shard reads borrow `self` shared.
    revealed: Cell<u64>,
    /// Indices into `effects` of the effects that created their key (kept only while
    /// [`Keyspace::track_created`] is on).
    created: Vec<usize>,
    /// Dropped after the shard guards (fields drop in order).
    gate: Gate<'a>,
}

/// What a [`Locked`] holds of [`Keyspace::gate`].
enum Gate<'a> {
    None,
    Shared(#[allow(dead_code)] parking_lot::RwLockReadGuard<'a, ()>),
    Exclusive(#[allow(dead_code)] parking_lot::RwLockWriteGuard<'a, ()>),
}

impl<'a> Locked<'a> {
    /// Locks more shards for a script (see [`Keyspace::lock_exclusive`]); those already held
    /// are skipped. Panics without the exclusive gate: any other order could deadlock.
    pub fn lock_more(&mut self, shards: impl IntoIterator<Item = usize>) {
        assert!(
            matches!(self.gate, Gate::Exclusive(_)),
            "lock_more outside a script"
        );
        for i in shards {
            let i = i & (SHARDS - 1);
            if !self.guards.iter().any(|(g, _)| *g == i) {
                let guard = self.ks.shards[i].lock();
                self.observed = self.observed.max(guard.last_seq);
                self.guards.push((i, guard));
            }
        }
    }

    fn new(ks: &'a Keyspace, guards: Vec<(usize, MutexGuard<'a, Shard>)>) -> Self {
        let observed = guards.iter().map(|(_, g)| g.last_seq).max().unwrap_or(0);
        Locked {
            ks,
            guards,
            seq: None,
            effects: Vec::new(),
            observed,
            revealed: Cell::new(0),
            created: Vec::new(),
            gate: Gate::None,
        }
    }

    /// Notes that the effect about to be logged creates its key.
    fn note_created(&mut self) {
        if self.ks.want_created.load(Ordering::Relaxed) {
            self.created.push(self.effects.len());
        }
    }

    fn reveal(&self, seq: u64) {
        self.revealed.set(self.revealed.get().max(seq));
    }

    /// Everything the locked shards hold has been (or may have been) read.
    fn reveal_all(&self) {
        self.reveal(
            self.guards
                .iter()
                .map(|(_, g)| g.last_seq)
                .max()
                .unwrap_or(0),
        );
    }

    /// The keyspace itself, for lookups such as [`Keyspace::shard_of`]; data read through it
    /// bypasses `observed`/`revealed`, so replies must not reveal it.
    pub fn keyspace(&self) -> &'a Keyspace {
        self.ks
    }

    /// FUNCTION LOAD / DELETE / FLUSH / RESTORE: the libraries are now exactly `libraries`,
    /// logged with this command's entry. The caller serializes library changes (the scripting
    /// engine's lock), so sets reach the keyspace in sequence order.
    pub fn set_functions(&mut self, libraries: Vec<Bytes>) {
        let seq = self.write_seq();
        self.ks.install_functions(seq, &libraries);
        self.effects.push(Effect::Functions { libraries });
    }

    /// The sequence this command's writes are stamped with, reserving it on first use.
    pub fn write_seq(&mut self) -> u64 {
        match self.seq {
            Some(s) => s,
            None => {
                // Admitted writes passed `clock_has_room`, which leaves WRITE_HEADROOM (2^32)
                // sequences for the commands in flight (at most one per connection), so this
                // cannot run out; if it ever did, stopping beats handing out a repeated version.
                let Some(s) = self.ks.reserve_seq() else {
                    panic!("version clock exhausted past its write headroom");
                };
                self.seq = Some(s);
                self.observed = self.observed.max(s);
                self.reveal(s);
                s
            }
        }
    }

    /// The sequence the reply must wait for (durability of what it reveals): the newest
    /// sequence of every locked shard, whatever was read. Robust by construction.
    pub fn observed(&self) -> u64 {
        self.observed
    }

    /// The newest sequence this command's reply can depend on, tracked through the accessors
    /// (`<= observed`): a present key read counts its version (the entry that last changed it;
    /// a later change would have raised it or removed the key); an absent key, a whole shard
    /// ([`Locked::shard_at`]) or the whole locked set ([`Locked::db_stats`],
    /// [`Locked::shards_mut`], [`Locked::records`]) count the shard's newest sequence; a write
    /// counts its own sequence. Used only once the WAL has failed, to keep answering reads of
    /// durable keys in a shard that also holds a write that never became durable.
    pub fn revealed(&self) -> u64 {
        self.revealed.get()
    }

    /// Marks the reply built so far as one that is sent whatever the WAL's state: INFO, the
    /// operator's view, whose counts may include writes that never became durable and whose
    /// persistence section says the WAL failed. It still waits like any read.
    pub fn reveal_nothing(&self) {
        self.revealed.set(0);
    }

    /// The sequence reserved by this command's writes, if it wrote anything.
    pub fn seq(&self) -> Option<u64> {
        self.seq
    }

    pub fn shard_indices(&self) -> impl Iterator<Item = usize> + '_ {
        self.guards.iter().map(|(i, _)| *i)
    }

    fn shard_mut(&mut self, key: &[u8]) -> &mut Shard {
        let idx = self.ks.shard_of(key);
        match self.guards.iter_mut().find(|(i, _)| *i == idx) {
            Some((_, g)) => g,
            None => panic!("command touched key in shard {idx} it did not lock"),
        }
    }

    /// Drops a WATCH registration through the held lock (EXEC unwatches while it holds the
    /// watched keys' shards; locking them again would deadlock).
    pub fn unwatch(&mut self, db: DbIndex, key: &Bytes, flag: &WatchFlag) {
        let shard = self.shard_mut(key);
        let k = (db, key.clone());
        if let Some(list) = shard.watched.get_mut(&k) {
            list.retain(|f| !Arc::ptr_eq(f, flag));
            if list.is_empty() {
                shard.watched.remove(&k);
            }
        }
    }

    /// Queues `w` as blocked on `key` (whose shard this command holds), after every client
    /// already blocked on it.
    pub fn block(&mut self, db: DbIndex, key: &Bytes, w: &Arc<Waiter>) {
        self.shard_mut(key)
            .blocked
            .entry((db, key.clone()))
            .or_default()
            .push_back(w.clone());
    }

    /// Notes `key` (whose shard this command holds) as ready to serve its waiters.
    pub fn mark_ready(&mut self, db: DbIndex, key: &[u8]) {
        let shard = self.shard_mut(key);
        if shard
            .blocked
            .contains_key(&(db, Bytes::copy_from_slice(key)))
        {
            note_ready(&mut shard.ready, db, key);
        }
    }

    /// The first client blocked on `key` (whose shard this command holds) that is still
    /// waiting, whatever it waits for.
    pub fn peek_waiter(&mut self, db: DbIndex, key: &[u8]) -> Option<Arc<Waiter>> {
        let k = (db, Bytes::copy_from_slice(key));
        self.shard_mut(key)
            .blocked
            .get(&k)?
            .iter()
            .find(|w| !w.is_claimed())
            .cloned()
    }

    /// The next key a write touched while clients were blocked on it, from the held shards.
    pub fn take_ready(&mut self) -> Option<(DbIndex, Bytes)> {
        let (_, g) = self
            .guards
            .iter_mut()
            .filter(|(_, g)| !g.ready.is_empty())
            .min_by_key(|(_, g)| g.ready.iter().map(|r| r.0).min().unwrap_or(u64::MAX))?;
        let first = (0..g.ready.len()).min_by_key(|&i| g.ready[i].0)?;
        let (_, db, key) = g.ready.remove(first);
        Some((db, key))
    }

    /// The first client blocked on `key` that a value of `kind` serves and that is still
    /// waiting; answered ones met on the way are dropped from the queue.
    pub fn next_waiter(&mut self, db: DbIndex, key: &[u8], kind: Kind) -> Option<Arc<Waiter>> {
        let shard = self.shard_mut(key);
        let k = (db, Bytes::copy_from_slice(key));
        let q = shard.blocked.get_mut(&k)?;
        q.retain(|w| !w.is_claimed());
        let found = q.iter().find(|w| w.op.wants() == kind).cloned();
        if q.is_empty() {
            shard.blocked.remove(&k);
        }
        found
    }

    /// Removes `w` from `key`'s queue (the server is serving it through this key).
    pub fn remove_waiter(&mut self, db: DbIndex, key: &[u8], w: &Waiter) {
        remove_waiter(&mut self.shard_mut(key).blocked, db, key, w);
    }

    /// Whether this command holds the shard of `key`, taking it now if it is free. Never
    /// waits (so it cannot deadlock against a command locking in ascending order): false if
    /// another command holds it.
    pub fn try_hold(&mut self, key: &[u8]) -> bool {
        let idx = self.ks.shard_of(key);
        if self.guards.iter().any(|(i, _)| *i == idx) {
            return true;
        }
        let Some(g) = self.ks.shards[idx].try_lock() else {
            return false;
        };
        self.observed = self.observed.max(g.last_seq);
        self.guards.push((idx, g));
        true
    }

    /// The locked shard with index `i`, if this command holds it.
    pub fn shard_at(&self, i: usize) -> Option<&Shard> {
        let shard = self
            .guards
            .iter()
            .find(|(idx, _)| *idx == i)
            .map(|(_, g)| &**g)?;
        self.reveal(shard.last_seq);
        Some(shard)
    }

    /// Keys and keys-with-expiry of `db` over the locked shards (all of them for DBSIZE/INFO).
    pub fn db_stats(&self, db: DbIndex) -> (usize, usize) {
        self.reveal_all();
        let mut keys = 0;
        let mut expires = 0;
        for (_, s) in &self.guards {
            keys += s.len(db);
            if !s.expires.is_empty() {
                expires += s.expires.iter().filter(|(_, d, _)| *d == db).count();
            }
        }
        (keys, expires)
    }

    pub fn shards_mut(&mut self) -> impl Iterator<Item = &mut Shard> + use<'_, 'a> {
        self.reveal_all();
        self.guards.iter_mut().map(|(_, g)| &mut **g)
    }

    /// Reads a live entry (dropping it first if it has expired), noting the access.
    pub fn get(&mut self, db: DbIndex, key: &[u8], now_ms: u64) -> Option<&Entry> {
        self.lookup(db, key, now_ms, true)
    }

    /// [`Locked::get`] without noting an access (OBJECT IDLETIME reads the stamp it keeps).
    pub fn get_untouched(&mut self, db: DbIndex, key: &[u8], now_ms: u64) -> Option<&Entry> {
        self.lookup(db, key, now_ms, false)
    }

    fn lookup(&mut self, db: DbIndex, key: &[u8], now_ms: u64, touch: bool) -> Option<&Entry> {
        let idx = self.ks.shard_of(key);
        let Locked {
            guards, revealed, ..
        } = self;
        let Some(shard) = guards
            .iter_mut()
            .find(|(i, _)| *i == idx)
            .map(|(_, g)| &mut **g)
        else {
            panic!("command touched key in shard {idx} it did not lock");
        };
        let shard_seq = shard.last_seq;
        let e = shard.get_live(db, key, now_ms, touch);
        // An absent key may have been removed by the shard's newest entry.
        let seq = e.map_or(shard_seq, |e| e.version());
        revealed.set(revealed.get().max(seq));
        e
    }

    /// The effects logged so far (a command's own are those past the count before it ran).
    pub fn effects(&self) -> &[Effect] {
        &self.effects
    }

    /// Indices into [`Locked::effects`] of the effects that created their key, in order
    /// (empty unless [`Keyspace::track_created`] is on).
    pub fn created(&self) -> &[usize] {
        &self.created
    }

    /// The keys the locked shards saw expire since the last call.
    pub fn take_expired(&mut self) -> Vec<(DbIndex, Bytes)> {
        let mut out = Vec::new();
        for (_, g) in self.guards.iter_mut() {
            out.append(&mut g.expired);
        }
        out
    }

    pub fn exists(&mut self, db: DbIndex, key: &[u8], now_ms: u64) -> bool {
        self.get(db, key, now_ms).is_some()
    }

    /// Writes `value` under `key` with the given absolute expiry (0 = none).
    pub fn put(&mut self, db: DbIndex, key: &[u8], value: Value, expires_at_ms: u64) {
        let seq = self.write_seq();
        if !self.ks.valid_db(db) {
            return;
        }
        if value.kind() != Kind::String && value.is_empty() {
            // An empty collection is no key (Redis never stores one).
            let key = Bytes::copy_from_slice(key);
            let shard = self.shard_mut(&key);
            if shard.remove_unlogged(db, &key).is_some() {
                shard.last_seq = seq;
            }
            self.effects.push(Effect::Del { db, key });
            return;
        }
        let entry = Entry::from_value(key, &value, seq, expires_at_ms, &self.ks.limits());
        if self.shard_mut(key).store(db, entry) {
            self.note_created();
        }
        self.effects.push(Effect::Put {
            db,
            key: Bytes::copy_from_slice(key),
            value,
            expires_at_ms: (expires_at_ms != 0).then_some(expires_at_ms),
        });
    }

    /// Removes `key`; returns the removed entry if it was live.
    pub fn del(&mut self, db: DbIndex, key: &[u8], now_ms: u64) -> Option<Entry> {
        self.get_untouched(db, key, now_ms)?;
        let seq = self.write_seq();
        let key = Bytes::copy_from_slice(key);
        let shard = self.shard_mut(&key);
        let old = shard.remove_unlogged(db, &key);
        shard.last_seq = seq;
        self.effects.push(Effect::Del { db, key });
        old
    }

    /// Changes the expiry of a live key (0 = persist). Returns false if the key is absent.
    pub fn set_expiry(&mut self, db: DbIndex, key: &[u8], expires_at_ms: u64, now_ms: u64) -> bool {
        if self.get_untouched(db, key, now_ms).is_none() {
            return false;
        }
        let seq = self.write_seq();
        self.shard_mut(key)
            .change_expiry(db, key, expires_at_ms, seq);
        self.effects.push(Effect::SetExpiry {
            db,
            key: Bytes::copy_from_slice(key),
            expires_at_ms: (expires_at_ms != 0).then_some(expires_at_ms),
        });
        true
    }

    /// Empties `db` (or every database) in the locked shards, which must be all of them.
    /// Returns the number of keys removed.
    pub fn flush(&mut self, db: Option<DbIndex>) -> usize {
        let seq = self.write_seq();
        let mut removed = 0;
        for (_, shard) in self.guards.iter_mut() {
            let dbs: Vec<DbIndex> = match db {
                Some(d) => vec![d],
                None => db_indexes(shard.dbs.len()).collect(),
            };
            for d in dbs {
                let Some(map) = shard.dbs.get_mut(d as usize) else {
                    continue;
                };
                if map.is_empty() {
                    continue;
                }
                let old = std::mem::take(map);
                removed += old.len();
                if !shard.watched.is_empty() {
                    for e in old.iter() {
                        shard.touch_watchers(d, e.key());
                    }
                }
                shard.expires.retain(|(_, edb, _)| *edb != d);
                shard.last_seq = seq;
            }
        }
        self.effects.push(match db {
            Some(db) => Effect::FlushDb { db },
            None => Effect::FlushAll,
        });
        removed
    }
}

/// A collection write that adds or removes single elements (HDEL, SADD, SREM): which kind,
/// whether it creates the key, the change of one element (true if it changed anything), and
/// the effect that logs the changed elements with the key's expiry.
struct ElementDelta {
    kind: Kind,
    create: bool,
    change: fn(&mut Coll, &Bytes, &Limits) -> bool,
    log: fn(DbIndex, Bytes, Vec<Bytes>, Option<u64>) -> Effect,
}

/// What a sorted-set write changed, for [`Locked::zset_write`] to log (an empty list is
/// [`ZDelta::Unchanged`]).
pub enum ZDelta {
    Unchanged,
    /// Members with their resulting scores.
    Added(Vec<(Bytes, f64)>),
    Removed(Vec<Bytes>),
}

/// What a collection write did, for the command to reply and the delta to log.
enum Outcome<R> {
    /// Nothing changed: no entry, no new version, WATCH untouched (as in Redis).
    Unchanged(R),
    /// The collection changed; the effect to log (given the key's expiry) and the result.
    Changed(R, Box<dyn FnOnce(Option<u64>) -> Effect>),
    /// A list changed: its deltas, in the order they were applied (LMOVE within one list
    /// logs its pop and its push).
    ChangedList(R, Vec<ListDelta>),
}

/// One change to a list, for [`Locked::list_write`] to log as an effect (see [`Effect`]'s
/// list variants for what each means on replay).
#[derive(Clone, Debug, PartialEq)]
pub enum ListDelta {
    Push { left: bool, elements: Vec<Bytes> },
    Pop { left: bool, count: u64 },
    Set { index: u64, element: Bytes },
    Insert { index: u64, element: Bytes },
    Rem { count: i64, element: Bytes },
    Trim { front: u64, back: u64 },
}

impl ListDelta {
    fn effect(self, db: DbIndex, key: Bytes, expires_at_ms: Option<u64>) -> Effect {
        match self {
            ListDelta::Push { left, elements } => Effect::ListPush {
                db,
                key,
                left,
                elements,
                expires_at_ms,
            },
            ListDelta::Pop { left, count } => Effect::ListPop {
                db,
                key,
                left,
                count,
                expires_at_ms,
            },
            ListDelta::Set { index, element } => Effect::ListSet {
                db,
                key,
                index,
                element,
                expires_at_ms,
            },
            ListDelta::Insert { index, element } => Effect::ListInsert {
                db,
                key,
                index,
                element,
                expires_at_ms,
            },
            ListDelta::Rem { count, element } => Effect::ListRem {
                db,
                key,
                count,
                element,
                expires_at_ms,
            },
            ListDelta::Trim { front, back } => Effect::ListTrim {
                db,
                key,
                front,
                back,
                expires_at_ms,
            },
        }
    }
}

/// What a logged collection write appends to the entry.
enum Log {
    One(Box<dyn FnOnce(Option<u64>) -> Effect>),
    List(Vec<ListDelta>),
}

impl<'a> Locked<'a> {
    /// The one path of every collection write: finds the live entry under `key` (dropping an
    /// expired one), refuses another kind with [`WrongType`], creates an empty collection of
    /// `kind` if absent and `create`, runs `f`, and if `f` changed something stamps the new
    /// version, keeps WATCH and `last_seq` in step, logs the delta and removes the key if the
    /// collection is left empty. `f` sees the thresholds in force. `Ok(None)`: the key is
    /// absent and `create` is false.
    fn write_coll<R>(
        &mut self,
        db: DbIndex,
        key: &[u8],
        kind: Kind,
        create: bool,
        now_ms: u64,
        f: impl FnOnce(&mut Coll, &Limits) -> Outcome<R>,
    ) -> Result<Option<R>, WrongType> {
        match self.get(db, key, now_ms).map(|e| e.kind()) {
            Some(k) if k != kind => return Err(WrongType),
            None if !create || !self.ks.valid_db(db) => return Ok(None),
            _ => {}
        }
        let limits = self.ks.limits();
        let ks = self.ks;
        let idx = ks.shard_of(key);
        let track_created = ks.want_created.load(Ordering::Relaxed);
        let Locked {
            guards,
            seq,
            effects,
            observed,
            revealed,
            created: created_at,
            ..
        } = self;
        let Some(shard) = guards
            .iter_mut()
            .find(|(i, _)| *i == idx)
            .map(|(_, g)| &mut **g)
        else {
            panic!("command touched key in shard {idx} it did not lock");
        };
        let Some(map) = shard.dbs.get_mut(db as usize) else {
            return Ok(None);
        };
        let (entry, created) = map.get_or_insert_with(key, || {
            let empty = Coll::empty(kind).unwrap_or(Coll::Set(SetObj::default()));
            Entry::new_coll(key, empty, 0, 0)
        });
        let Some(coll) = entry.coll_mut() else {
            return Err(WrongType);
        };
        let (result, log) = match f(coll, &limits) {
            Outcome::Unchanged(r) => (r, None),
            Outcome::Changed(r, log) => (r, Some(Log::One(log))),
            Outcome::ChangedList(r, deltas) if !deltas.is_empty() => (r, Some(Log::List(deltas))),
            Outcome::ChangedList(r, _) => (r, None),
        };
        let empty = coll.is_empty();
        let Some(log) = log else {
            if created {
                map.remove(key);
            }
            return Ok(Some(result));
        };
        let s = match *seq {
            Some(s) => s,
            None => {
                let Some(s) = ks.reserve_seq() else {
                    panic!("version clock exhausted past its write headroom");
                };
                *seq = Some(s);
                *observed = (*observed).max(s);
                s
            }
        };
        revealed.set(revealed.get().max(s));
        entry.set_version(s);
        let exp = entry.expiry();
        shard.touch_watchers(db, key);
        shard.last_seq = shard.last_seq.max(s);
        if empty {
            shard.remove_unlogged(db, key);
        }
        if created && track_created {
            created_at.push(effects.len());
        }
        match log {
            Log::One(log) => effects.push(log(exp)),
            Log::List(deltas) => {
                let k = Bytes::copy_from_slice(key);
                effects.extend(deltas.into_iter().map(|d| d.effect(db, k.clone(), exp)));
                // A list emptied by its deltas also logs its removal. List deltas are
                // positional: replayed on another base than the list they were applied to
                // (a key a fuzzy snapshot found absent because it was emptied before its
                // shard was visited, while the entries replayed start before that) they need
                // not empty it again. The Del makes the removal explicit; on the exact base
                // it finds the key already gone and changes nothing.
                if empty {
                    effects.push(Effect::Del { db, key: k });
                }
            }
        }
        Ok(Some(result))
    }

    /// The one write path of the list commands: `f` changes the list under `key` (created
    /// empty if absent and `create`) and returns its result with the deltas it applied, in
    /// order (none: nothing changed, nothing logged). `Ok(None)`: absent and `create` false.
    pub fn list_write<R>(
        &mut self,
        db: DbIndex,
        key: &[u8],
        create: bool,
        now_ms: u64,
        f: impl FnOnce(&mut ListObj, &Limits) -> (R, Vec<ListDelta>),
    ) -> Result<Option<R>, WrongType> {
        self.write_coll(db, key, Kind::List, create, now_ms, move |c, limits| {
            // write_coll has refused other kinds: this is always a list.
            let Coll::List(l) = c else {
                return Outcome::Unchanged(f(&mut ListObj::default(), limits).0);
            };
            let (r, deltas) = f(l, limits);
            Outcome::ChangedList(r, deltas)
        })
    }

    /// The live list under `key`: `Ok(None)` if absent, [`WrongType`] if another kind.
    pub fn get_list(
        &mut self,
        db: DbIndex,
        key: &[u8],
        now_ms: u64,
    ) -> Result<Option<&ListObj>, WrongType> {
        match self.get(db, key, now_ms) {
            None => Ok(None),
            Some(e) => e.as_list().map(Some).ok_or(WrongType),
        }
    }

    /// HSET: sets each field; returns how many were new. Creates the hash if absent.
    pub fn hash_set(
        &mut self,
        db: DbIndex,
        key: &[u8],
        pairs: Vec<(Bytes, Bytes)>,
        now_ms: u64,
    ) -> Result<usize, WrongType> {
        let k = Bytes::copy_from_slice(key);
        self.write_coll(db, key, Kind::Hash, true, now_ms, move |c, limits| {
            let Coll::Hash(h) = c else {
                return Outcome::Unchanged(0);
            };
            let added = pairs.iter().filter(|(f, v)| h.set(f, v, limits)).count();
            Outcome::Changed(
                added,
                Box::new(move |expires_at_ms| Effect::HashSet {
                    db,
                    key: k,
                    pairs,
                    expires_at_ms,
                }),
            )
        })
        .map(|r| r.unwrap_or(0))
    }

    /// HDEL: removes the fields present; returns how many. A hash left empty is removed.
    pub fn hash_del(
        &mut self,
        db: DbIndex,
        key: &[u8],
        fields: &[Bytes],
        now_ms: u64,
    ) -> Result<usize, WrongType> {
        let delta = ElementDelta {
            kind: Kind::Hash,
            create: false,
            change: |c, f, _| match c {
                Coll::Hash(h) => h.remove(f),
                _ => false,
            },
            log: |db, key, fields, expires_at_ms| Effect::HashDel {
                db,
                key,
                fields,
                expires_at_ms,
            },
        };
        self.element_delta(db, key, fields, now_ms, delta)
    }

    /// SADD: adds the members; returns how many were new (0: nothing logged).
    pub fn set_add(
        &mut self,
        db: DbIndex,
        key: &[u8],
        members: &[Bytes],
        now_ms: u64,
    ) -> Result<usize, WrongType> {
        let delta = ElementDelta {
            kind: Kind::Set,
            create: true,
            change: |c, m, limits| match c {
                Coll::Set(s) => s.insert(m, limits),
                _ => false,
            },
            log: |db, key, members, expires_at_ms| Effect::SetAdd {
                db,
                key,
                members,
                expires_at_ms,
            },
        };
        self.element_delta(db, key, members, now_ms, delta)
    }

    /// SREM (and SPOP with the members it chose): removes the members present; returns how
    /// many. A set left empty is removed.
    pub fn set_rem(
        &mut self,
        db: DbIndex,
        key: &[u8],
        members: &[Bytes],
        now_ms: u64,
    ) -> Result<usize, WrongType> {
        let delta = ElementDelta {
            kind: Kind::Set,
            create: false,
            change: |c, m, _| match c {
                Coll::Set(s) => s.remove(m),
                _ => false,
            },
            log: |db, key, members, expires_at_ms| Effect::SetRem {
                db,
                key,
                members,
                expires_at_ms,
            },
        };
        self.element_delta(db, key, members, now_ms, delta)
    }

    /// The write of HDEL, SADD and SREM: `change` each element, and log only the elements it
    /// changed (none changed: nothing logged).
    fn element_delta(
        &mut self,
        db: DbIndex,
        key: &[u8],
        items: &[Bytes],
        now_ms: u64,
        d: ElementDelta,
    ) -> Result<usize, WrongType> {
        let k = Bytes::copy_from_slice(key);
        let ElementDelta {
            kind,
            create,
            change,
            log,
        } = d;
        self.write_coll(db, key, kind, create, now_ms, move |c, limits| {
            let changed: Vec<Bytes> = items
                .iter()
                .filter(|i| change(c, i, limits))
                .cloned()
                .collect();
            if changed.is_empty() {
                return Outcome::Unchanged(0);
            }
            Outcome::Changed(changed.len(), Box::new(move |exp| log(db, k, changed, exp)))
        })
        .map(|r| r.unwrap_or(0))
    }

    /// The one write path of the sorted-set commands: `f` changes the sorted set under `key`
    /// (created empty if absent and `create`) and says what to log: the members with their
    /// resulting scores, or the members removed. `Ok(None)`: absent and `create` is false.
    pub fn zset_write<R>(
        &mut self,
        db: DbIndex,
        key: &[u8],
        create: bool,
        now_ms: u64,
        f: impl FnOnce(&mut ZSetObj, &Limits) -> (R, ZDelta),
    ) -> Result<Option<R>, WrongType> {
        let k = Bytes::copy_from_slice(key);
        self.write_coll(db, key, Kind::ZSet, create, now_ms, move |c, limits| {
            // write_coll has refused other kinds: this is always a sorted set.
            let Coll::ZSet(z) = c else {
                return Outcome::Unchanged(f(&mut ZSetObj::default(), limits).0);
            };
            match f(z, limits) {
                (r, ZDelta::Unchanged) => Outcome::Unchanged(r),
                (r, ZDelta::Added(pairs)) if !pairs.is_empty() => Outcome::Changed(
                    r,
                    Box::new(move |expires_at_ms| Effect::ZAdd {
                        db,
                        key: k,
                        pairs,
                        expires_at_ms,
                    }),
                ),
                (r, ZDelta::Removed(members)) if !members.is_empty() => Outcome::Changed(
                    r,
                    Box::new(move |expires_at_ms| Effect::ZRem {
                        db,
                        key: k,
                        members,
                        expires_at_ms,
                    }),
                ),
                (r, _) => Outcome::Unchanged(r),
            }
        })
    }

    /// The live sorted set under `key`: `Ok(None)` if absent, [`WrongType`] if another kind.
    pub fn get_zset(
        &mut self,
        db: DbIndex,
        key: &[u8],
        now_ms: u64,
    ) -> Result<Option<&ZSetObj>, WrongType> {
        match self.get(db, key, now_ms) {
            None => Ok(None),
            Some(e) => e.as_zset().map(Some).ok_or(WrongType),
        }
    }

    /// The live collections under `keys`, all borrowed at once (ZUNION & co. read sets and
    /// sorted sets side by side): `None` for an absent key, [`WrongType`] if any key holds a
    /// kind not in `kinds` (checked for every key before anything is computed).
    pub fn get_colls<K: AsRef<[u8]>>(
        &mut self,
        db: DbIndex,
        keys: &[K],
        kinds: &[Kind],
        now_ms: u64,
    ) -> Result<Vec<Option<&Coll>>, WrongType> {
        for k in keys {
            if let Some(e) = self.get(db, k.as_ref(), now_ms) {
                if !kinds.contains(&e.kind()) {
                    return Err(WrongType);
                }
            }
        }
        let this: &Self = self;
        Ok(keys
            .iter()
            .map(|k| {
                let idx = this.ks.shard_of(k.as_ref());
                this.guards
                    .iter()
                    .find(|(i, _)| *i == idx)
                    .and_then(|(_, g)| g.dbs.get(db as usize))
                    .and_then(|t| t.get(k.as_ref()))
                    .and_then(|e| e.as_coll())
            })
            .collect())
    }

    /// The live hash under `key`: `Ok(None)` if absent, [`WrongType`] if another kind.
    pub fn get_hash(
        &mut self,
        db: DbIndex,
        key: &[u8],
        now_ms: u64,
    ) -> Result<Option<&HashObj>, WrongType> {
        match self.get(db, key, now_ms) {
            None => Ok(None),
            Some(e) => e.as_hash().map(Some).ok_or(WrongType),
        }
    }

    /// The live set under `key`: `Ok(None)` if absent, [`WrongType`] if another kind.
    pub fn get_set(
        &mut self,
        db: DbIndex,
        key: &[u8],
        now_ms: u64,
    ) -> Result<Option<&SetObj>, WrongType> {
        match self.get(db, key, now_ms) {
            None => Ok(None),
            Some(e) => e.as_set().map(Some).ok_or(WrongType),
        }
    }

    /// The live sets under `keys`, all borrowed at once (SINTER, SUNION, SDIFF read several
    /// sets side by side without copying them): `None` for an absent key, [`WrongType`] if any
    /// key holds another kind (Redis checks every key before computing anything).
    pub fn get_sets<K: AsRef<[u8]>>(
        &mut self,
        db: DbIndex,
        keys: &[K],
        now_ms: u64,
    ) -> Result<Vec<Option<&SetObj>>, WrongType> {
        Ok(self
            .get_colls(db, keys, &[Kind::Set], now_ms)?
            .into_iter()
            .map(|c| match c {
                Some(Coll::Set(s)) => Some(s),
                _ => None,
            })
            .collect())
    }

    /// The live string under `key`: `Ok(None)` if absent, [`WrongType`] if another kind.
    pub fn get_str(
        &mut self,
        db: DbIndex,
        key: &[u8],
        now_ms: u64,
    ) -> Result<Option<&[u8]>, WrongType> {
        match self.get(db, key, now_ms) {
            None => Ok(None),
            Some(e) => e.as_str().map(Some).ok_or(WrongType),
        }
    }
}

impl Locked<'_> {
    /// Every live record in the locked shards (all of them for a consistent cut), copied.
    pub fn records(&self, now_ms: u64) -> Vec<Record> {
        self.reveal_all();
        let mut out = Vec::new();
        for (_, s) in &self.guards {
            for (db, map) in db_indexes(s.dbs.len()).zip(s.dbs.iter()) {
                out.extend(
                    map.iter()
                        .filter(|e| !e.is_expired(now_ms))
                        .map(|e| e.to_record(db)),
                );
            }
        }
        out
    }

    /// Restore: replaces the whole keyspace with `records` (their versions kept) as of baseline
    /// sequence `baseline`, which the caller has made durable and which is past every version.
    /// Needs every shard locked (the global write barrier). Logs nothing (the baseline is the
    /// log) and reserves no sequence; moves the clock to `baseline`. Every WATCHed key is
    /// flagged dirty. Records already expired at `now_ms` or naming a database out of range
    /// are skipped; returns how many were installed.
    pub fn replace_all(
        &mut self,
        records: impl IntoIterator<Item = Record>,
        baseline: u64,
        now_ms: u64,
    ) -> usize {
        assert_eq!(
            self.guards.len(),
            SHARDS,
            "replace_all needs every shard locked"
        );
        assert!(
            self.seq.is_none(),
            "replace_all inside a command that wrote"
        );
        for (_, s) in self.guards.iter_mut() {
            for flags in s.watched.values() {
                for f in flags {
                    f.store(true, Ordering::Release);
                }
            }
            for map in s.dbs.iter_mut() {
                *map = Table::default();
            }
            s.expires.clear();
            s.last_seq = s.last_seq.max(baseline);
        }
        let mut installed = 0;
        let limits = self.ks.limits();
        for rec in records {
            let shard = self.shard_mut(&rec.key);
            if shard.install(rec, now_ms, &limits) {
                installed += 1;
            }
        }
        self.ks.advance_clock(baseline);
        self.observed = self.observed.max(baseline);
        self.reveal(baseline);
        installed
    }
}

impl Drop for Locked<'_> {
    /// Hands the entry to the WAL while the shard locks are still held (fields drop after this
    /// body), so no other command can write these keys with a later sequence first. A reserved
    /// sequence always reaches the sink, even on an early return: the WAL writer waits for
    /// every sequence in order.
    fn drop(&mut self) {
        if let Some(seq) = self.seq.take() {
            let effects = std::mem::take(&mut self.effects);
            if let Some(sink) = self.ks.sink.get() {
                sink.submit(seq, effects);
            }
        }
    }
}

#[cfg(test)]
mod list_tests;
#[cfg(test)]
mod tests;

//! Sorted sets in memory: members ordered by (score, member bytes), each with a double score.
//!
//! As in Redis, a small sorted set is one compact block ([`Pack`], Redis's listpack: member,
//! score, member, score ... in order) and a big one an ordered index with rank lookup plus a
//! member index ([`Sorted`], where Redis has a skiplist plus a dict). A sorted set only ever
//! moves up (pack -> sorted), never back, as in Redis. The thresholds are
//! `zset-max-listpack-entries` / `zset-max-listpack-value` ([`Limits`]).
//!
//! [`Sorted`] keeps each member once, in a slot vector addressed by a `u32` id; the order is a
//! list of chunks of ids (each at most [`CHUNK_MAX`]) with a Fenwick tree over the chunk
//! lengths, so a rank, a position by rank, an insertion and a removal all cost O(log n) plus a
//! move of at most one chunk; a range of m elements is O(log n + m). The member index is a
//! hash table of ids. A scan cursor walks the slot vector downward: a member keeps its slot
//! while it is present, so one present during a whole scan is always returned.

use bytes::Bytes;
use hashbrown::hash_table::HashTable;
use std::cmp::Ordering;
use std::hash::BuildHasher;

use super::coll::{Limits, Pack};

/// The order of sorted-set elements: score, then member bytes (Redis's rule; `-0` and `0`
/// compare equal, as C's `<` does). Scores are never NaN.
pub fn cmp_elem(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    s1.partial_cmp(&s2)
        .unwrap_or(Ordering::Equal)
        .then_with(|| m1.cmp(m2))
}

/// A score bound of ZRANGEBYSCORE & co.: `value`, or `(value` when `exclusive`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreBound {
    pub value: f64,
    pub exclusive: bool,
}

/// A member bound of ZRANGEBYLEX & co.: `-`, `+`, `[member` or `(member`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LexBound {
    NegInf,
    PosInf,
    Inclusive(Bytes),
    Exclusive(Bytes),
}

impl ScoreBound {
    /// Whether `s` lies at or above this bound taken as a minimum.
    fn admits_as_min(&self, s: f64) -> bool {
        if self.exclusive {
            s > self.value
        } else {
            s >= self.value
        }
    }

    /// Whether `s` lies beyond this bound taken as a maximum.
    fn exceeds_as_max(&self, s: f64) -> bool {
        if self.exclusive {
            s >= self.value
        } else {
            s > self.value
        }
    }
}

impl LexBound {
    fn admits_as_min(&self, m: &[u8]) -> bool {
        match self {
            LexBound::NegInf => true,
            LexBound::PosInf => false,
            LexBound::Inclusive(b) => m >= &b[..],
            LexBound::Exclusive(b) => m > &b[..],
        }
    }

    fn exceeds_as_max(&self, m: &[u8]) -> bool {
        match self {
            LexBound::NegInf => true,
            LexBound::PosInf => false,
            LexBound::Inclusive(b) => m > &b[..],
            LexBound::Exclusive(b) => m >= &b[..],
        }
    }
}

// ---- Pack layout: member, score, member, score ... in order ---------------------------------
//
// A score element is 8 bytes (the f64's bits, little-endian), or, for an integral score of
// magnitude below 2^53, the integer in as few little-endian two's-complement bytes as hold it
// (0 to 7; 0 bytes is the score 0). Leaderboards and time indexes mostly use integers, so most
// scores take one to six bytes instead of eight.

/// The bytes of `score` in a pack, in a buffer and its used length.
fn encode_score(score: f64) -> ([u8; 8], usize) {
    const EXACT: f64 = 9007199254740992.0; // 2^53
    if score.fract() == 0.0 && score.abs() < EXACT && !(score == 0.0 && score.is_sign_negative()) {
        let i = score as i64;
        let bytes = i.to_le_bytes();
        let mut n = 0;
        while n < 7 && sign_extend(&bytes[..n]) != i {
            n += 1;
        }
        return (bytes, n);
    }
    (score.to_bits().to_le_bytes(), 8)
}

fn sign_extend(b: &[u8]) -> i64 {
    let mut a = match b.last() {
        Some(&last) if last & 0x80 != 0 => [0xffu8; 8],
        _ => [0u8; 8],
    };
    if let Some(dst) = a.get_mut(..b.len()) {
        dst.copy_from_slice(b);
    }
    i64::from_le_bytes(a)
}

fn score_from(b: &[u8]) -> f64 {
    match b.len() {
        8 => {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            f64::from_bits(u64::from_le_bytes(a))
        }
        n if n < 8 => sign_extend(b) as f64,
        _ => 0.0,
    }
}

fn pack_pairs(p: &Pack) -> impl Iterator<Item = (&[u8], f64)> + '_ {
    let mut it = p.iter();
    std::iter::from_fn(move || Some((it.next()?, score_from(it.next()?))))
}

// ---- Sorted: slots, an ordered chunk list with a Fenwick tree, a member index ---------------

/// Most ids in one order chunk; a chunk that outgrows it splits in two.
pub const CHUNK_MAX: usize = 512;
/// A chunk shorter than this merges with its successor when both fit in one.
const CHUNK_MIN: usize = CHUNK_MAX / 8;

static MEMBER_HASHER: foldhash::fast::FixedState =
    foldhash::fast::FixedState::with_seed(0x7a73_6574_5f6d_656d);

fn hash_of(m: &[u8]) -> u64 {
    MEMBER_HASHER.hash_one(m)
}

#[derive(Clone)]
struct Slot {
    member: Box<[u8]>,
    score: f64,
}

/// A big sorted set (see the module doc).
#[derive(Clone, Default)]
pub struct Sorted {
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    live: usize,
    index: HashTable<u32>,
    chunks: Vec<Vec<u32>>,
    /// Fenwick tree over `chunks[i].len()` (1-based inside).
    tree: Vec<usize>,
}

impl Sorted {
    fn with_capacity(n: usize) -> Sorted {
        Sorted {
            slots: Vec::with_capacity(n),
            index: HashTable::with_capacity(n),
            ..Sorted::default()
        }
    }

    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    fn slot(&self, id: u32) -> Option<&Slot> {
        self.slots.get(id as usize).and_then(|s| s.as_ref())
    }

    fn elem(&self, id: u32) -> (&[u8], f64) {
        match self.slot(id) {
            Some(s) => (&s.member, s.score),
            None => (&[], 0.0),
        }
    }

    fn find_id(&self, m: &[u8]) -> Option<u32> {
        let slots = &self.slots;
        self.index
            .find(hash_of(m), |&id| {
                slots
                    .get(id as usize)
                    .and_then(|s| s.as_ref())
                    .is_some_and(|s| &s.member[..] == m)
            })
            .copied()
    }

    fn score(&self, m: &[u8]) -> Option<f64> {
        self.find_id(m).map(|id| self.elem(id).1)
    }

    // -- Fenwick tree over chunk lengths --

    fn rebuild_tree(&mut self) {
        let n = self.chunks.len();
        let mut tree = vec![0usize; n + 1];
        for (i, c) in self.chunks.iter().enumerate() {
            let mut j = i + 1;
            tree[j] += c.len();
            let parent = j + (j & j.wrapping_neg());
            if parent <= n {
                let v = tree[j];
                j = parent;
                tree[j] += v;
            }
        }
        self.tree = tree;
    }

    fn tree_add(&mut self, chunk: usize, delta: isize) {
        let mut j = chunk + 1;
        while j < self.tree.len() {
            if let Some(t) = self.tree.get_mut(j) {
                *t = t.wrapping_add_signed(delta);
            }
            j += j & j.wrapping_neg();
        }
    }

    /// Elements in the chunks before `chunk`.
    fn before(&self, chunk: usize) -> usize {
        let mut j = chunk;
        let mut sum = 0;
        while j > 0 {
            sum += self.tree.get(j).copied().unwrap_or(0);
            j -= j & j.wrapping_neg();
        }
        sum
    }

    /// (chunk, offset) of rank `r` (< len).
    fn locate(&self, r: usize) -> (usize, usize) {
        let n = self.chunks.len();
        let mut pos = 0;
        let mut rem = r;
        let mut step = n.next_power_of_two();
        while step > 0 {
            let next = pos + step;
            if next <= n {
                let t = self.tree.get(next).copied().unwrap_or(0);
                if t <= rem {
                    pos = next;
                    rem -= t;
                }
            }
            step >>= 1;
        }
        (pos, rem)
    }

    /// (chunk, offset) of the first element for which `pred` holds (`pred` false then true
    /// along the order); `(chunks.len(), 0)` if none.
    fn partition(&self, pred: &dyn Fn(&[u8], f64) -> bool) -> (usize, usize) {
        let c = self.chunks.partition_point(|ch| {
            ch.last().is_some_and(|&id| {
                let (m, s) = self.elem(id);
                !pred(m, s)
            })
        });
        match self.chunks.get(c) {
            Some(ch) => (
                c,
                ch.partition_point(|&id| {
                    let (m, s) = self.elem(id);
                    !pred(m, s)
                }),
            ),
            None => (c, 0),
        }
    }

    fn rank_of(&self, c: usize, o: usize) -> usize {
        self.before(c) + o
    }

    fn order_insert(&mut self, id: u32) {
        let (m, s) = self.elem(id);
        let (m, s) = (m.to_vec(), s);
        let (mut c, mut o) = self.partition(&|m2, s2| cmp_elem(s2, m2, s, &m) != Ordering::Less);
        if self.chunks.is_empty() {
            self.chunks.push(Vec::with_capacity(16));
            self.rebuild_tree();
        }
        if c == self.chunks.len() {
            c -= 1;
            o = self.chunks.get(c).map_or(0, |ch| ch.len());
        }
        let Some(ch) = self.chunks.get_mut(c) else {
            return;
        };
        ch.insert(o, id);
        if ch.len() > CHUNK_MAX {
            let tail = ch.split_off(ch.len() / 2);
            ch.shrink_to(CHUNK_MAX);
            self.chunks.insert(c + 1, tail);
            self.rebuild_tree();
        } else {
            self.tree_add(c, 1);
        }
    }

    fn order_remove(&mut self, m: &[u8], s: f64) {
        let (c, o) = self.partition(&|m2, s2| cmp_elem(s2, m2, s, m) != Ordering::Less);
        let Some(ch) = self.chunks.get_mut(c) else {
            return;
        };
        if o >= ch.len() {
            return;
        }
        ch.remove(o);
        let len = ch.len();
        if len == 0 {
            self.chunks.remove(c);
            self.rebuild_tree();
        } else if len < CHUNK_MIN
            && self
                .chunks
                .get(c + 1)
                .is_some_and(|next| next.len() + len <= CHUNK_MAX)
        {
            let next = self.chunks.remove(c + 1);
            if let Some(ch) = self.chunks.get_mut(c) {
                ch.extend(next);
            }
            self.rebuild_tree();
        } else {
            self.tree_add(c, -1);
        }
    }

    /// Inserts `m` with `score`, or moves it to `score`; true if it is new.
    fn insert(&mut self, m: &[u8], score: f64) -> bool {
        if let Some(id) = self.find_id(m) {
            let old = self.elem(id).1;
            if old.to_bits() == score.to_bits() {
                return false;
            }
            self.order_remove(m, old);
            if let Some(Some(slot)) = self.slots.get_mut(id as usize) {
                slot.score = score;
            }
            self.order_insert(id);
            return false;
        }
        let slot = Slot {
            member: Box::from(m),
            score,
        };
        let id = match self.free.pop() {
            Some(id) => {
                if let Some(s) = self.slots.get_mut(id as usize) {
                    *s = Some(slot);
                }
                id
            }
            None => {
                self.slots.push(Some(slot));
                (self.slots.len() - 1) as u32
            }
        };
        let slots = &self.slots;
        self.index.insert_unique(hash_of(m), id, |&i| {
            slots
                .get(i as usize)
                .and_then(|s| s.as_ref())
                .map_or(0, |s| hash_of(&s.member))
        });
        self.live += 1;
        self.order_insert(id);
        true
    }

    fn remove(&mut self, m: &[u8]) -> bool {
        let h = hash_of(m);
        let slots = &self.slots;
        let found = self.index.find_entry(h, |&id| {
            slots
                .get(id as usize)
                .and_then(|s| s.as_ref())
                .is_some_and(|s| &s.member[..] == m)
        });
        let id = match found {
            Ok(o) => o.remove().0,
            Err(_) => return false,
        };
        let score = self.elem(id).1;
        self.order_remove(m, score);
        if let Some(s) = self.slots.get_mut(id as usize) {
            *s = None;
        }
        self.free.push(id);
        self.live -= 1;
        if self.slots.len() > 1024 && self.live < self.slots.len() / 4 {
            self.compact();
        }
        true
    }

    /// Renumbers the slots densely after many removals, keeping their relative order: a
    /// member's new slot is never above its old one, so a scan cursor (which walks the slots
    /// downward) still reaches every member it had not reached yet; a member already visited
    /// may come again (a duplicate, which SCAN and the snapshot's batches allow). The order
    /// chunks keep their shape with the ids renamed.
    fn compact(&mut self) {
        let old = std::mem::take(&mut self.slots);
        let mut remap = vec![u32::MAX; old.len()];
        let mut slots = Vec::with_capacity(self.live);
        for (i, s) in old.into_iter().enumerate() {
            if let Some(s) = s {
                if let Some(r) = remap.get_mut(i) {
                    *r = slots.len() as u32;
                }
                slots.push(Some(s));
            }
        }
        self.slots = slots;
        self.free = Vec::new();
        for ch in &mut self.chunks {
            for id in ch.iter_mut() {
                *id = remap.get(*id as usize).copied().unwrap_or(u32::MAX);
            }
        }
        let mut index = HashTable::with_capacity(self.slots.len());
        for (id, s) in self.slots.iter().enumerate() {
            if let Some(s) = s {
                index.insert_unique(hash_of(&s.member), id as u32, |&i| {
                    self.slots
                        .get(i as usize)
                        .and_then(|s| s.as_ref())
                        .map_or(0, |s| hash_of(&s.member))
                });
            }
        }
        self.index = index;
    }

    /// Fills an empty `Sorted` from pairs already in order and distinct.
    fn extend_sorted(&mut self, pairs: Vec<(Box<[u8]>, f64)>) {
        let mut chunk = Vec::with_capacity(CHUNK_MAX / 2);
        for (member, score) in pairs {
            let id = self.slots.len() as u32;
            let h = hash_of(&member);
            self.slots.push(Some(Slot { member, score }));
            let slots = &self.slots;
            self.index.insert_unique(h, id, |&i| {
                slots
                    .get(i as usize)
                    .and_then(|s| s.as_ref())
                    .map_or(0, |s| hash_of(&s.member))
            });
            chunk.push(id);
            if chunk.len() == CHUNK_MAX / 2 {
                self.chunks.push(std::mem::replace(
                    &mut chunk,
                    Vec::with_capacity(CHUNK_MAX / 2),
                ));
            }
        }
        if !chunk.is_empty() {
            self.chunks.push(chunk);
        }
        self.live = self.slots.len();
        self.rebuild_tree();
    }

    fn range(
        &self,
        from: usize,
        to: usize,
        rev: bool,
    ) -> Box<dyn Iterator<Item = (&[u8], f64)> + '_> {
        let to = to.min(self.live);
        if from >= to {
            return Box::new(std::iter::empty());
        }
        let n = to - from;
        if rev {
            let (c, o) = self.locate(to - 1);
            let skip = self.chunks.get(c).map_or(0, |ch| ch.len() - 1 - o);
            let chunks = self.chunks.get(..=c).unwrap_or_default();
            Box::new(
                chunks
                    .iter()
                    .rev()
                    .flat_map(|ch| ch.iter().rev())
                    .skip(skip)
                    .take(n)
                    .map(|&id| self.elem(id)),
            )
        } else {
            let (c, o) = self.locate(from);
            let chunks = self.chunks.get(c..).unwrap_or_default();
            Box::new(
                chunks
                    .iter()
                    .flat_map(|ch| ch.iter())
                    .skip(o)
                    .take(n)
                    .map(|&id| self.elem(id)),
            )
        }
    }

    fn heap_bytes(&self) -> usize {
        let members: usize = self.slots.iter().flatten().map(|s| s.member.len()).sum();
        let chunks: usize = self.chunks.iter().map(|c| c.capacity() * 4).sum();
        members
            + self.slots.capacity() * std::mem::size_of::<Option<Slot>>()
            + self.free.capacity() * 4
            + self.index.capacity() * 5
            + chunks
            + self.chunks.capacity() * std::mem::size_of::<Vec<u32>>()
            + self.tree.capacity() * 8
    }
}

// ---- the sorted-set object ------------------------------------------------------------------

/// A sorted set: a [`Pack`] of `member, score` pairs in order, or a [`Sorted`].
#[derive(Clone)]
pub enum ZSetObj {
    Pack(Pack),
    /// Boxed: a small sorted set pays for a pointer, not for the index's header.
    Sorted(Box<Sorted>),
}

impl Default for ZSetObj {
    fn default() -> Self {
        ZSetObj::Pack(Pack::default())
    }
}

impl ZSetObj {
    pub fn len(&self) -> usize {
        match self {
            ZSetObj::Pack(p) => p.count() / 2,
            ZSetObj::Sorted(s) => s.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Redis's `OBJECT ENCODING` name.
    pub fn encoding(&self) -> &'static str {
        match self {
            ZSetObj::Pack(_) => "listpack",
            ZSetObj::Sorted(_) => "skiplist",
        }
    }

    /// The score of `m`, if a member.
    pub fn score(&self, m: &[u8]) -> Option<f64> {
        match self {
            ZSetObj::Pack(p) => pack_pairs(p).find(|(x, _)| *x == m).map(|(_, s)| s),
            ZSetObj::Sorted(s) => s.score(m),
        }
    }

    /// Every (member, score), in order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], f64)> + '_> {
        self.range(0, self.len(), false)
    }

    /// The elements of ranks `from..to` (clamped to the length), ascending, or descending from
    /// `to - 1` down to `from` when `rev`.
    pub fn range(
        &self,
        from: usize,
        to: usize,
        rev: bool,
    ) -> Box<dyn Iterator<Item = (&[u8], f64)> + '_> {
        match self {
            ZSetObj::Pack(p) => {
                let to = to.min(self.len());
                if from >= to {
                    return Box::new(std::iter::empty());
                }
                if rev {
                    let v: Vec<(&[u8], f64)> = pack_pairs(p).skip(from).take(to - from).collect();
                    Box::new(v.into_iter().rev())
                } else {
                    Box::new(pack_pairs(p).skip(from).take(to - from))
                }
            }
            ZSetObj::Sorted(s) => s.range(from, to, rev),
        }
    }

    /// The element of rank `r` (ascending).
    pub fn at(&self, r: usize) -> Option<(&[u8], f64)> {
        self.range(r, r + 1, false).next()
    }

    /// The ascending rank of `m`, if a member.
    pub fn rank(&self, m: &[u8]) -> Option<usize> {
        match self {
            ZSetObj::Pack(p) => pack_pairs(p).position(|(x, _)| x == m),
            ZSetObj::Sorted(s) => {
                let score = s.score(m)?;
                let (c, o) = s.partition(&|m2, s2| cmp_elem(s2, m2, score, m) != Ordering::Less);
                Some(s.rank_of(c, o))
            }
        }
    }

    /// The number of leading elements for which `pred` is false (`pred` must be false then
    /// true along the order): the rank where `pred` starts to hold.
    pub fn partition(&self, pred: &dyn Fn(&[u8], f64) -> bool) -> usize {
        match self {
            ZSetObj::Pack(p) => pack_pairs(p).take_while(|(m, s)| !pred(m, *s)).count(),
            ZSetObj::Sorted(s) => {
                let (c, o) = s.partition(pred);
                s.rank_of(c, o)
            }
        }
    }

    /// The ranks `start..end` of the elements with `min <= score <= max` (bounds as given).
    pub fn score_range(&self, min: &ScoreBound, max: &ScoreBound) -> std::ops::Range<usize> {
        let start = self.partition(&|_, s| min.admits_as_min(s));
        let end = self.partition(&|_, s| max.exceeds_as_max(s));
        start..end.max(start)
    }

    /// The ranks `start..end` of the elements whose member lies within the lex bounds (Redis
    /// assumes all scores equal; with mixed scores the result follows the order as it is).
    pub fn lex_range(&self, min: &LexBound, max: &LexBound) -> std::ops::Range<usize> {
        let start = self.partition(&|m, _| min.admits_as_min(m));
        let end = self.partition(&|m, _| max.exceeds_as_max(m));
        start..end.max(start)
    }

    fn convert_to_sorted(&mut self, extra: usize) {
        if let ZSetObj::Pack(p) = self {
            let mut s = Sorted::with_capacity(p.count() / 2 + extra);
            let pairs: Vec<(Box<[u8]>, f64)> =
                pack_pairs(p).map(|(m, sc)| (Box::from(m), sc)).collect();
            s.extend_sorted(pairs);
            *self = ZSetObj::Sorted(Box::new(s));
        }
    }

    /// Sets `m`'s score (adding it if absent); true if it is new. Converts to the sorted
    /// index when the pack would break the limits.
    pub fn insert(&mut self, m: &[u8], score: f64, limits: &Limits) -> bool {
        if let ZSetObj::Pack(p) = self {
            // Redis's listpack stores an integral score as an integer, so a small sorted set
            // answers `-0` as `0`; the sorted index keeps the sign, as Redis's skiplist does.
            let score = if score == 0.0 { 0.0 } else { score };
            let existing = p.find_pair(m);
            let count = p.count() / 2;
            if existing.is_none()
                && (count + 1 > limits.zset_max_listpack_entries
                    || m.len() > limits.zset_max_listpack_value)
            {
                self.convert_to_sorted(1);
            } else {
                if let Some(at) = existing {
                    p.remove_items_at(at, 2);
                }
                // The byte offset of the first element that sorts after (score, m).
                let mut at = 0;
                let mut it = p.iter();
                while let (Some(x), Some(sb)) = (it.next(), it.next()) {
                    if cmp_elem(score_from(sb), x, score, m) == Ordering::Greater {
                        break;
                    }
                    at += super::coll::item_len(x) + super::coll::item_len(sb);
                }
                let (buf, n) = encode_score(score);
                p.insert_items_at(at, &[m, buf.get(..n).unwrap_or_default()]);
                return existing.is_none();
            }
        }
        match self {
            ZSetObj::Sorted(s) => s.insert(m, score),
            ZSetObj::Pack(_) => false,
        }
    }

    /// Removes `m`; true if it was a member.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self {
            ZSetObj::Pack(p) => match p.find_pair(m) {
                Some(at) => {
                    p.remove_items_at(at, 2);
                    true
                }
                None => false,
            },
            ZSetObj::Sorted(s) => s.remove(m),
        }
    }

    /// A sorted set holding `pairs` (a later duplicate member wins), in the encoding the
    /// limits give. More pairs than `zset-max-listpack-entries`, or a member longer than
    /// `zset-max-listpack-value`, go straight into the sorted index (as Redis's loader sizes
    /// its sorted set up front), so a loaded skiplist keeps every score bit for bit (`-0`
    /// included) instead of passing its first members through a pack.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a [u8], f64)>,
        limits: &Limits,
    ) -> ZSetObj {
        let pairs: Vec<(&[u8], f64)> = pairs.into_iter().collect();
        let big = pairs.len() > limits.zset_max_listpack_entries
            || pairs
                .iter()
                .any(|(m, _)| m.len() > limits.zset_max_listpack_value);
        let mut z = if big {
            ZSetObj::sorted_with_capacity(pairs.len())
        } else {
            ZSetObj::default()
        };
        for (m, s) in pairs {
            z.insert(m, s, limits);
        }
        z
    }

    /// An empty sorted set already in the sorted-index encoding, for a loader that knows the
    /// set has more than `zset-max-listpack-entries` members (a snapshot header's hint).
    pub fn sorted_with_capacity(n: usize) -> ZSetObj {
        ZSetObj::Sorted(Box::new(Sorted::with_capacity(n)))
    }

    /// One scan step: a pack returns everything at once (cursor 0); the sorted index walks
    /// its slots from the end down, `count` slots a step.
    pub fn scan(&self, cursor: u64, count: usize) -> (u64, Vec<(&[u8], f64)>) {
        match self {
            ZSetObj::Pack(_) => (0, self.iter().collect()),
            ZSetObj::Sorted(s) => {
                let mut next = if cursor == 0 || cursor as usize > s.slots.len() {
                    s.slots.len()
                } else {
                    cursor as usize
                };
                let mut out = Vec::new();
                let mut taken = 0;
                while next > 0 && taken < count.max(1) {
                    next -= 1;
                    if let Some(Some(slot)) = s.slots.get(next) {
                        out.push((&slot.member[..], slot.score));
                        taken += 1;
                    }
                }
                (next as u64, out)
            }
        }
    }

    pub fn heap_bytes(&self) -> usize {
        match self {
            ZSetObj::Pack(p) => p.heap_bytes(),
            ZSetObj::Sorted(s) => s.heap_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Limits {
        Limits {
            zset_max_listpack_entries: 4,
            zset_max_listpack_value: 8,
            ..Limits::default()
        }
    }

    /// A model: sorted vector of (score, member).
    fn model_sorted(m: &std::collections::BTreeMap<Vec<u8>, f64>) -> Vec<(Vec<u8>, f64)> {
        let mut v: Vec<(Vec<u8>, f64)> = m.iter().map(|(k, s)| (k.clone(), *s)).collect();
        v.sort_by(|a, b| cmp_elem(a.1, &a.0, b.1, &b.0));
        v
    }

    fn check(z: &ZSetObj, model: &std::collections::BTreeMap<Vec<u8>, f64>) {
        let want = model_sorted(model);
        let got: Vec<(Vec<u8>, f64)> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
        assert_eq!(got, want);
        assert_eq!(z.len(), want.len());
        for (i, (m, s)) in want.iter().enumerate() {
            assert_eq!(z.rank(m), Some(i));
            assert_eq!(z.score(m), Some(*s));
            assert_eq!(z.at(i).map(|(m, s)| (m.to_vec(), s)), Some((m.clone(), *s)));
        }
        let rev: Vec<(Vec<u8>, f64)> = z
            .range(0, z.len(), true)
            .map(|(m, s)| (m.to_vec(), s))
            .collect();
        let mut w = want.clone();
        w.reverse();
        assert_eq!(rev, w);
    }

    #[test]
    fn pack_scores_round_trip_in_their_short_forms() {
        for s in [
            0.0,
            1.0,
            -1.0,
            127.0,
            128.0,
            -128.0,
            -129.0,
            65536.0,
            1e15,
            -9007199254740991.0,
            9007199254740992.0,
            0.5,
            -2.25,
            1e300,
            5e-324,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            let (buf, n) = encode_score(s);
            assert_eq!(score_from(&buf[..n]).to_bits(), s.to_bits(), "{s}");
        }
        assert_eq!(encode_score(0.0).1, 0);
        assert_eq!(encode_score(100.0).1, 1);
        assert_eq!(encode_score(1.7e12).1, 6);
        assert_eq!(encode_score(-0.0).1, 8);
    }

    #[test]
    fn pack_orders_by_score_then_member_and_converts_at_the_limits() {
        let l = small();
        let mut z = ZSetObj::default();
        assert!(z.insert(b"b", 1.0, &l));
        assert!(z.insert(b"a", 1.0, &l));
        assert!(z.insert(b"c", 0.5, &l));
        assert!(!z.insert(b"c", 2.0, &l));
        let got: Vec<(&[u8], f64)> = z.iter().collect();
        assert_eq!(
            got,
            vec![(&b"a"[..], 1.0), (&b"b"[..], 1.0), (&b"c"[..], 2.0)]
        );
        assert_eq!(z.encoding(), "listpack");
        z.insert(b"d", f64::NEG_INFINITY, &l);
        assert_eq!(z.encoding(), "listpack");
        z.insert(b"e", f64::INFINITY, &l);
        assert_eq!((z.len(), z.encoding()), (5, "skiplist"));
        assert_eq!(z.rank(b"d"), Some(0));
        assert_eq!(z.rank(b"e"), Some(4));
        let mut long = ZSetObj::default();
        long.insert(b"123456789", 1.0, &l);
        assert_eq!(long.encoding(), "skiplist");
        assert!(z.remove(b"a") && !z.remove(b"a"));
        assert_eq!(z.rank(b"b"), Some(1));
    }

    #[test]
    fn sorted_index_matches_a_model_through_random_inserts_moves_and_removes() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let l = Limits {
            zset_max_listpack_entries: 0,
            ..Limits::default()
        };
        let mut z = ZSetObj::default();
        let mut model = std::collections::BTreeMap::new();
        for step in 0..20_000 {
            let m = format!("m{}", rng.random_range(0..3000)).into_bytes();
            match rng.random_range(0..10) {
                0..=5 => {
                    let s = f64::from(rng.random_range(-50..50)) / 4.0;
                    let new = z.insert(&m, s, &l);
                    assert_eq!(new, model.insert(m, s).is_none());
                }
                _ => {
                    assert_eq!(z.remove(&m), model.remove(&m).is_some());
                }
            }
            if step % 2000 == 0 {
                check(&z, &model);
            }
        }
        check(&z, &model);
        assert_eq!(z.encoding(), "skiplist");
        // Ranges by score and lex agree with the model.
        let want = model_sorted(&model);
        let min = ScoreBound {
            value: -3.0,
            exclusive: true,
        };
        let max = ScoreBound {
            value: 5.0,
            exclusive: false,
        };
        let r = z.score_range(&min, &max);
        let expect: Vec<_> = want
            .iter()
            .filter(|(_, s)| *s > -3.0 && *s <= 5.0)
            .collect();
        assert_eq!(r.len(), expect.len());
        let got: Vec<_> = z
            .range(r.start, r.end, false)
            .map(|(m, _)| m.to_vec())
            .collect();
        assert_eq!(
            got,
            expect.iter().map(|(m, _)| m.clone()).collect::<Vec<_>>()
        );
        // Remove nearly everything: compaction keeps the order right.
        let keys: Vec<Vec<u8>> = model.keys().cloned().collect();
        for k in keys.iter().skip(10) {
            assert!(z.remove(k));
            model.remove(k);
        }
        check(&z, &model);
    }

    #[test]
    fn a_scan_across_a_compaction_still_returns_every_member_present_throughout() {
        let l = Limits {
            zset_max_listpack_entries: 0,
            ..Limits::default()
        };
        for stop_at in [200usize, 1500, 3500] {
            let mut z = ZSetObj::default();
            for i in 0..4000 {
                z.insert(format!("m{i}").as_bytes(), f64::from(i % 13), &l);
            }
            let mut seen = std::collections::HashSet::new();
            let mut cursor = 0;
            let mut compacted = false;
            loop {
                let (next, items) = z.scan(cursor, 100);
                seen.extend(items.iter().map(|(m, _)| m.to_vec()));
                if !compacted && seen.len() >= stop_at {
                    // Remove 80% (every member not ending in 0..=1 of 10), both visited and
                    // not: the slots renumber.
                    for i in 0..4000 {
                        if i % 10 >= 2 {
                            z.remove(format!("m{i}").as_bytes());
                        }
                    }
                    compacted = true;
                    let ZSetObj::Sorted(s) = &z else {
                        panic!("sorted")
                    };
                    assert!(s.slots.len() < 2000, "the slots were renumbered");
                }
                if next == 0 {
                    break;
                }
                cursor = next;
            }
            for i in (0..4000).filter(|i| i % 10 < 2) {
                assert!(
                    seen.contains(format!("m{i}").as_bytes()),
                    "stop {stop_at}: m{i} missed"
                );
            }
            let mut model = std::collections::BTreeMap::new();
            for i in (0..4000).filter(|i| i % 10 < 2) {
                model.insert(format!("m{i}").into_bytes(), f64::from(i % 13));
            }
            check(&z, &model);
        }
    }

    #[test]
    fn sorted_scan_returns_every_member_present_throughout() {
        let l = Limits {
            zset_max_listpack_entries: 0,
            ..Limits::default()
        };
        let mut z = ZSetObj::default();
        for i in 0..3000 {
            z.insert(format!("m{i}").as_bytes(), f64::from(i % 7), &l);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut step = 0;
        loop {
            let (next, items) = z.scan(cursor, 50);
            let first = items.first().map(|(m, _)| m.to_vec());
            seen.extend(items.iter().map(|(m, _)| m.to_vec()));
            if let Some(f) = first {
                z.remove(&f);
            }
            z.insert(format!("new{step}").as_bytes(), 1.0, &l);
            step += 1;
            if next == 0 {
                break;
            }
            cursor = next;
        }
        for i in 0..3000 {
            assert!(seen.contains(format!("m{i}").as_bytes()), "m{i} missed");
        }
    }
}

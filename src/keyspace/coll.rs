//! Collections in memory: hashes and sets, each in the smallest encoding that fits.
//!
//! Like Redis, a small collection lives in one compact block ([`Pack`], Redis's listpack; sets
//! of integers in an [`IntSet`]) and a big one in a hash table ([`Dense`], Redis's
//! `hashtable`). A collection only ever moves up (pack -> table), never back, as in Redis.
//! The thresholds are Redis's parameters ([`Limits`]), read on every write.
//!
//! [`Dense`] keeps its elements in a vector with a hash index over it, so a random element
//! (SPOP, SRANDMEMBER, HRANDFIELD) is one index away, and a scan cursor is a position in that
//! vector walked from the end down: removing an element moves the last one into its place,
//! which is either already visited or will be visited again (a duplicate, which SCAN allows),
//! so an element present during a whole scan is always returned, as Redis guarantees.

use bytes::Bytes;
use hashbrown::hash_table::HashTable;
use std::hash::BuildHasher;

use super::effect::Kind;

/// The encoding thresholds: Redis's `hash-max-listpack-*` and `set-max-*` parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    pub set_max_intset_entries: usize,
    pub set_max_listpack_entries: usize,
    pub set_max_listpack_value: usize,
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
    /// `list-max-listpack-size`: a node's element count (> 0) or byte budget (-1 ... -5).
    pub list_max_listpack_size: i64,
}

impl Default for Limits {
    /// Redis 7's defaults (`redis-server` with no config file answers these to CONFIG GET).
    fn default() -> Self {
        Limits {
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            set_max_listpack_entries: 128,
            set_max_listpack_value: 64,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            list_max_listpack_size: -2,
        }
    }
}

// ---- Pack: a run of length-prefixed byte strings in one allocation ------------------------

/// Elements back to back, each `LEB128 length ‖ bytes`, in one exactly-sized allocation
/// (a boxed slice: 16 bytes inline, no spare capacity). Lookups and the count scan it; that is
/// cheap because a pack never holds more than the listpack limits.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Pack {
    buf: Box<[u8]>,
}

fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// The bytes an element of `item`'s length takes in a pack (prefix included).
pub(super) fn item_len(item: &[u8]) -> usize {
    varint_len(item.len()) + item.len()
}

fn varint_len(mut n: usize) -> usize {
    let mut l = 1;
    while n >= 0x80 {
        n >>= 7;
        l += 1;
    }
    l
}

/// Reads a varint at `at`; (value, bytes used). A pack is only written by this module, so a
/// malformed one cannot occur; a truncated read ends the iteration instead of panicking.
fn get_varint(buf: &[u8], at: usize) -> Option<(usize, usize)> {
    let mut n = 0usize;
    let mut shift = 0;
    for (i, b) in buf.get(at..)?.iter().enumerate().take(10) {
        n |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            return Some((n, i + 1));
        }
        shift += 7;
    }
    None
}

/// The elements of a pack, in order.
pub struct PackIter<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Iterator for PackIter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let (len, used) = get_varint(self.buf, self.at)?;
        let start = self.at + used;
        let item = self.buf.get(start..start + len)?;
        self.at = start + len;
        Some(item)
    }
}

impl Pack {
    pub fn count(&self) -> usize {
        self.iter().count()
    }

    /// Edits the bytes as a vector and stores them back exactly sized.
    fn edit(&mut self, f: impl FnOnce(&mut Vec<u8>)) {
        let mut v = std::mem::take(&mut self.buf).into_vec();
        f(&mut v);
        self.buf = v.into_boxed_slice();
    }

    /// Replaces the bytes `range` with `with`, into a new block of exactly the resulting size.
    /// Not `Vec::splice` and a shrink: splice grows the vector to twice its size, and the
    /// allocator (mimalloc) keeps a block in place when it shrinks by less than half, so every
    /// pack would keep up to twice the memory it needs.
    fn splice_exact(&mut self, range: std::ops::Range<usize>, with: &[u8]) {
        let len = self.buf.len();
        let (start, end) = (
            range.start.min(len),
            range.end.min(len).max(range.start.min(len)),
        );
        let mut v = Vec::with_capacity(len - (end - start) + with.len());
        v.extend_from_slice(self.buf.get(..start).unwrap_or_default());
        v.extend_from_slice(with);
        v.extend_from_slice(self.buf.get(end..).unwrap_or_default());
        self.buf = v.into_boxed_slice();
    }

    pub fn iter(&self) -> PackIter<'_> {
        PackIter {
            buf: &self.buf,
            at: 0,
        }
    }

    /// Appends elements, growing the block to exactly the size needed.
    fn push_all(&mut self, items: &[&[u8]]) {
        let need: usize = items.iter().map(|i| varint_len(i.len()) + i.len()).sum();
        self.edit(|buf| {
            buf.reserve_exact(need);
            for i in items {
                put_varint(buf, i.len());
                buf.extend_from_slice(i);
            }
        });
    }

    /// Inserts elements at byte offset `at` (an element boundary).
    pub(super) fn insert_items_at(&mut self, at: usize, items: &[&[u8]]) {
        let mut enc = Vec::with_capacity(items.iter().map(|i| item_len(i)).sum());
        for i in items {
            put_varint(&mut enc, i.len());
            enc.extend_from_slice(i);
        }
        self.splice_exact(at..at, &enc);
    }

    /// Byte offset of the pair (of two elements) whose first element is `key`.
    pub(super) fn find_pair(&self, key: &[u8]) -> Option<usize> {
        self.find(key, 2)
    }

    /// Removes `n` consecutive elements starting at byte offset `at`.
    pub(super) fn remove_items_at(&mut self, at: usize, n: usize) {
        self.remove_at(at, n);
    }

    /// Byte range of the element starting at `at` (length prefix included).
    fn span_at(&self, at: usize) -> Option<std::ops::Range<usize>> {
        let (len, used) = get_varint(&self.buf, at)?;
        Some(at..at + used + len)
    }

    /// Removes `n` consecutive elements starting at byte offset `at`.
    fn remove_at(&mut self, at: usize, n: usize) {
        let mut end = at;
        for _ in 0..n {
            match self.span_at(end) {
                Some(r) => end = r.end,
                None => break,
            }
        }
        self.splice_exact(at..end, &[]);
    }

    /// Byte offset of the first element of the group (of `stride` elements) whose first
    /// element equals `key`.
    fn find(&self, key: &[u8], stride: usize) -> Option<usize> {
        let mut at = 0;
        let mut i = 0;
        while at < self.buf.len() {
            let r = self.span_at(at)?;
            if i % stride == 0 {
                let (len, used) = get_varint(&self.buf, at)?;
                if len == key.len() && self.buf.get(at + used..r.end) == Some(key) {
                    return Some(at);
                }
            }
            at = r.end;
            i += 1;
        }
        None
    }

    /// Replaces the element at byte offset `at` with `item`.
    fn replace_at(&mut self, at: usize, item: &[u8]) {
        let Some(r) = self.span_at(at) else {
            return;
        };
        let mut enc = Vec::with_capacity(varint_len(item.len()) + item.len());
        put_varint(&mut enc, item.len());
        enc.extend_from_slice(item);
        self.splice_exact(r, &enc);
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.buf.len()
    }
}

// ---- Dense: a vector of elements with a hash index -----------------------------------------

static ELEM_HASHER: foldhash::fast::FixedState =
    foldhash::fast::FixedState::with_seed(0x636f_6c6c_5f65_6c74);

fn hash_of(key: &[u8]) -> u64 {
    ELEM_HASHER.hash_one(key)
}

/// How a [`Dense`] finds an element's lookup key inside the element's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// The element is the key (set members).
    Whole,
    /// `LEB128 field length ‖ field ‖ value` (hash fields): the key is the field.
    Pair,
}

impl Layout {
    fn key(self, item: &[u8]) -> &[u8] {
        match self {
            Layout::Whole => item,
            Layout::Pair => split_pair(item).0,
        }
    }
}

fn split_pair(item: &[u8]) -> (&[u8], &[u8]) {
    match get_varint(item, 0) {
        Some((len, used)) if used + len <= item.len() => {
            let (f, v) = item.split_at(used + len);
            (f.get(used..).unwrap_or_default(), v)
        }
        _ => (&[], item),
    }
}

fn make_pair(field: &[u8], value: &[u8]) -> Box<[u8]> {
    let mut b = Vec::with_capacity(varint_len(field.len()) + field.len() + value.len());
    put_varint(&mut b, field.len());
    b.extend_from_slice(field);
    b.extend_from_slice(value);
    b.into_boxed_slice()
}

/// Elements in a vector, found through a hash index of their positions.
#[derive(Clone)]
pub struct Dense {
    items: Vec<Box<[u8]>>,
    index: HashTable<u32>,
    layout: Layout,
}

impl Dense {
    fn new(layout: Layout, capacity: usize) -> Dense {
        Dense {
            items: Vec::with_capacity(capacity),
            index: HashTable::with_capacity(capacity),
            layout,
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn position(&self, key: &[u8]) -> Option<usize> {
        let Dense {
            items,
            index,
            layout,
        } = self;
        index
            .find(hash_of(key), |&i| {
                items
                    .get(i as usize)
                    .is_some_and(|it| layout.key(it) == key)
            })
            .map(|&i| i as usize)
    }

    fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.position(key)
            .and_then(|i| self.items.get(i))
            .map(|b| &b[..])
    }

    /// Inserts or replaces the element with `item`'s key; true if it was new.
    fn upsert(&mut self, item: Box<[u8]>) -> bool {
        let key = self.layout.key(&item);
        if let Some(i) = self.position(key) {
            if let Some(slot) = self.items.get_mut(i) {
                *slot = item;
            }
            return false;
        }
        let h = hash_of(key);
        let pos = self.items.len() as u32;
        let Dense {
            items,
            index,
            layout,
        } = self;
        index.insert_unique(h, pos, |&i| {
            items
                .get(i as usize)
                .map_or(0, |it| hash_of(layout.key(it)))
        });
        items.push(item);
        true
    }

    /// Removes the element with `key`: the last element takes its position.
    fn remove(&mut self, key: &[u8]) -> Option<Box<[u8]>> {
        let h = hash_of(key);
        let Dense {
            items,
            index,
            layout,
        } = self;
        let found = index.find_entry(h, |&i| {
            items
                .get(i as usize)
                .is_some_and(|it| layout.key(it) == key)
        });
        let pos = match found {
            Ok(o) => o.remove().0 as usize,
            Err(_) => return None,
        };
        let last = items.len() - 1;
        if pos != last {
            // Re-point the index entry of the element that moves from `last` to `pos`.
            let moved_hash = items.get(last).map_or(0, |it| hash_of(layout.key(it)));
            if let Some(slot) = index.find_mut(moved_hash, |&i| i as usize == last) {
                *slot = pos as u32;
            }
        }
        let removed = items.swap_remove(pos);
        if items.len() < items.capacity() / 4 {
            items.shrink_to(items.len() * 2);
            index.shrink_to(items.len() * 2, |&i| {
                items
                    .get(i as usize)
                    .map_or(0, |it| hash_of(layout.key(it)))
            });
        }
        Some(removed)
    }

    fn at(&self, i: usize) -> Option<&[u8]> {
        self.items.get(i).map(|b| &b[..])
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.items.iter().map(|b| &b[..])
    }

    fn heap_bytes(&self) -> usize {
        let items: usize = self.items.iter().map(|b| b.len()).sum();
        items
            + self.items.capacity() * std::mem::size_of::<Box<[u8]>>()
            + self.index.capacity() * (std::mem::size_of::<u32>() + 1)
    }
}

/// One step of a scan over a collection: the elements visited and the cursor to continue
/// from (0 = the scan is complete). Packs and intsets return everything at once, as Redis's
/// compact encodings do.
fn dense_scan<'a>(d: &'a Dense, cursor: u64, count: usize, out: &mut Vec<&'a [u8]>) -> u64 {
    // The cursor is the number of positions still to visit, counted from the start, walking
    // down; 0 on input means "from the end".
    let mut next = if cursor == 0 || cursor as usize > d.len() {
        d.len()
    } else {
        cursor as usize
    };
    let mut taken = 0;
    while next > 0 && taken < count.max(1) {
        next -= 1;
        if let Some(it) = d.at(next) {
            out.push(it);
        }
        taken += 1;
    }
    next as u64
}

// ---- hashes ---------------------------------------------------------------------------------

/// A field and its value, borrowed from a hash.
pub type Pair<'a> = (&'a [u8], &'a [u8]);

/// A hash: field-value pairs in a [`Pack`] (`field, value, field, value ...`) or a [`Dense`].
#[derive(Clone)]
pub enum HashObj {
    Pack(Pack),
    /// Boxed: a small hash pays for a pointer, not for the table's header.
    Dense(Box<Dense>),
}

impl Default for HashObj {
    fn default() -> Self {
        HashObj::Pack(Pack::default())
    }
}

impl HashObj {
    pub fn len(&self) -> usize {
        match self {
            HashObj::Pack(p) => p.count() / 2,
            HashObj::Dense(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Redis's `OBJECT ENCODING` name.
    pub fn encoding(&self) -> &'static str {
        match self {
            HashObj::Pack(_) => "listpack",
            HashObj::Dense(_) => "hashtable",
        }
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match self {
            HashObj::Pack(p) => {
                let at = p.find(field, 2)?;
                let next = p.span_at(at)?.end;
                let r = p.span_at(next)?;
                let (_, used) = get_varint(&p.buf, next)?;
                p.buf.get(r.start + used..r.end)
            }
            HashObj::Dense(d) => d.get(field).map(|it| split_pair(it).1),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Every (field, value), in storage order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], &[u8])> + '_> {
        match self {
            HashObj::Pack(p) => {
                let mut it = p.iter();
                Box::new(std::iter::from_fn(move || Some((it.next()?, it.next()?))))
            }
            HashObj::Dense(d) => Box::new(d.iter().map(split_pair)),
        }
    }

    /// The pair at position `i` (0..len), for random picks.
    pub fn pair_at(&self, i: usize) -> Option<(&[u8], &[u8])> {
        match self {
            HashObj::Pack(_) => self.iter().nth(i),
            HashObj::Dense(d) => d.at(i).map(split_pair),
        }
    }

    fn convert_to_dense(&mut self, extra: usize) {
        if let HashObj::Pack(p) = self {
            let mut d = Dense::new(Layout::Pair, p.count() / 2 + extra);
            let mut it = p.iter();
            while let (Some(f), Some(v)) = (it.next(), it.next()) {
                d.upsert(make_pair(f, v));
            }
            *self = HashObj::Dense(Box::new(d));
        }
    }

    /// Sets `field` to `value`; true if the field is new. Converts to a table when the pack
    /// would break the limits.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: &Limits) -> bool {
        if let HashObj::Pack(p) = self {
            if field.len() > limits.hash_max_listpack_value
                || value.len() > limits.hash_max_listpack_value
            {
                self.convert_to_dense(1);
            } else if let Some(at) = p.find(field, 2) {
                if let Some(vat) = p.span_at(at).map(|r| r.end) {
                    p.replace_at(vat, value);
                }
                return false;
            } else if p.count() / 2 + 1 > limits.hash_max_listpack_entries {
                self.convert_to_dense(1);
            } else {
                p.push_all(&[field, value]);
                return true;
            }
        }
        match self {
            HashObj::Dense(d) => d.upsert(make_pair(field, value)),
            HashObj::Pack(_) => false,
        }
    }

    /// Removes `field`; true if it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            HashObj::Pack(p) => match p.find(field, 2) {
                Some(at) => {
                    p.remove_at(at, 2);
                    true
                }
                None => false,
            },
            HashObj::Dense(d) => d.remove(field).is_some(),
        }
    }

    /// A hash holding `pairs` (later duplicates win), in the encoding the limits give.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
        limits: &Limits,
    ) -> HashObj {
        let mut h = HashObj::default();
        for (f, v) in pairs {
            h.set(f, v, limits);
        }
        h
    }

    /// One scan step (see the module doc).
    pub fn scan(&self, cursor: u64, count: usize) -> (u64, Vec<Pair<'_>>) {
        match self {
            HashObj::Pack(_) => (0, self.iter().collect()),
            HashObj::Dense(d) => {
                let mut items = Vec::new();
                let next = dense_scan(d, cursor, count, &mut items);
                (next, items.into_iter().map(split_pair).collect())
            }
        }
    }

    pub fn heap_bytes(&self) -> usize {
        match self {
            HashObj::Pack(p) => p.heap_bytes(),
            HashObj::Dense(d) => d.heap_bytes(),
        }
    }
}

// ---- sets -----------------------------------------------------------------------------------

/// Redis's rule for an intset member: the canonical decimal form of a 64-bit integer (no `+`,
/// no leading zeros, no `-0`, no spaces).
pub fn canonical_int(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    let s = std::str::from_utf8(b).ok()?;
    let n: i64 = s.parse().ok()?;
    (n.to_string().as_bytes() == b).then_some(n)
}

/// A sorted, exactly-sized array of integers (Redis's intset).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct IntSet(Box<[i64]>);

impl IntSet {
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn contains(&self, n: i64) -> bool {
        self.0.binary_search(&n).is_ok()
    }
    fn insert(&mut self, n: i64) -> bool {
        match self.0.binary_search(&n) {
            Ok(_) => false,
            Err(i) => {
                let mut v = std::mem::take(&mut self.0).into_vec();
                v.reserve_exact(1);
                v.insert(i, n);
                self.0 = v.into_boxed_slice();
                true
            }
        }
    }
    fn remove(&mut self, n: i64) -> bool {
        match self.0.binary_search(&n) {
            Ok(i) => {
                let mut v = std::mem::take(&mut self.0).into_vec();
                v.remove(i);
                self.0 = v.into_boxed_slice();
                true
            }
            Err(_) => false,
        }
    }
}

/// A member handed out by a set: intsets hold numbers, so their members are formatted on the
/// way out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Member<'a> {
    Bytes(&'a [u8]),
    Int(i64),
}

impl Member<'_> {
    pub fn to_bytes(&self) -> Bytes {
        match self {
            Member::Bytes(b) => Bytes::copy_from_slice(b),
            Member::Int(n) => Bytes::from(n.to_string()),
        }
    }

    /// Calls `f` with the member's bytes without allocating for byte members.
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            Member::Bytes(b) => f(b),
            Member::Int(n) => f(n.to_string().as_bytes()),
        }
    }
}

/// A set: an [`IntSet`], a [`Pack`] of members, or a [`Dense`].
#[derive(Clone)]
pub enum SetObj {
    Ints(IntSet),
    Pack(Pack),
    /// Boxed: a small set pays for a pointer, not for the table's header.
    Dense(Box<Dense>),
}

impl Default for SetObj {
    fn default() -> Self {
        SetObj::Ints(IntSet::default())
    }
}

impl SetObj {
    pub fn len(&self) -> usize {
        match self {
            SetObj::Ints(i) => i.len(),
            SetObj::Pack(p) => p.count(),
            SetObj::Dense(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Redis's `OBJECT ENCODING` name.
    pub fn encoding(&self) -> &'static str {
        match self {
            SetObj::Ints(_) => "intset",
            SetObj::Pack(_) => "listpack",
            SetObj::Dense(_) => "hashtable",
        }
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        match self {
            SetObj::Ints(i) => canonical_int(m).is_some_and(|n| i.contains(n)),
            SetObj::Pack(p) => p.find(m, 1).is_some(),
            SetObj::Dense(d) => d.position(m).is_some(),
        }
    }

    pub fn iter(&self) -> Box<dyn Iterator<Item = Member<'_>> + '_> {
        match self {
            SetObj::Ints(i) => Box::new(i.0.iter().map(|n| Member::Int(*n))),
            SetObj::Pack(p) => Box::new(p.iter().map(Member::Bytes)),
            SetObj::Dense(d) => Box::new(d.iter().map(Member::Bytes)),
        }
    }

    /// The member at position `i` (0..len), for random picks.
    pub fn at(&self, i: usize) -> Option<Member<'_>> {
        match self {
            SetObj::Ints(s) => s.0.get(i).map(|n| Member::Int(*n)),
            SetObj::Pack(_) => self.iter().nth(i),
            SetObj::Dense(d) => d.at(i).map(Member::Bytes),
        }
    }

    fn members_owned(&self) -> Vec<Vec<u8>> {
        self.iter().map(|m| m.to_bytes().to_vec()).collect()
    }

    fn convert_to_dense(&mut self, extra: usize) {
        let members = self.members_owned();
        let mut d = Dense::new(Layout::Whole, members.len() + extra);
        for m in members {
            d.upsert(m.into_boxed_slice());
        }
        *self = SetObj::Dense(Box::new(d));
    }

    fn convert_to_pack(&mut self) {
        let members = self.members_owned();
        let mut p = Pack::default();
        let refs: Vec<&[u8]> = members.iter().map(|m| &m[..]).collect();
        p.push_all(&refs);
        *self = SetObj::Pack(p);
    }

    /// Adds `m`; true if it is new. Moves to a bigger encoding as Redis does: an intset takes
    /// integers up to `set-max-intset-entries`; a non-integer (or too many) moves it to a
    /// listpack if the result fits the listpack limits, else to a table.
    pub fn insert(&mut self, m: &[u8], limits: &Limits) -> bool {
        if let SetObj::Ints(s) = self {
            match canonical_int(m) {
                Some(n) if s.contains(n) => return false,
                Some(n) if s.len() < limits.set_max_intset_entries => return s.insert(n),
                _ => {
                    let fits = s.len() < limits.set_max_listpack_entries
                        && m.len() <= limits.set_max_listpack_value;
                    if fits {
                        self.convert_to_pack();
                    } else {
                        self.convert_to_dense(1);
                    }
                }
            }
        }
        if let SetObj::Pack(p) = self {
            if p.find(m, 1).is_some() {
                return false;
            }
            if p.count() < limits.set_max_listpack_entries
                && m.len() <= limits.set_max_listpack_value
            {
                p.push_all(&[m]);
                return true;
            }
            self.convert_to_dense(1);
        }
        match self {
            SetObj::Dense(d) => d.upsert(Box::from(m)),
            _ => false,
        }
    }

    /// Removes `m`; true if it was there.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self {
            SetObj::Ints(s) => canonical_int(m).is_some_and(|n| s.remove(n)),
            SetObj::Pack(p) => match p.find(m, 1) {
                Some(at) => {
                    p.remove_at(at, 1);
                    true
                }
                None => false,
            },
            SetObj::Dense(d) => d.remove(m).is_some(),
        }
    }

    /// A set holding `members` (duplicates collapse), in the encoding the limits give: as
    /// Redis's SINTERSTORE & co. build their results, by adding members one by one.
    pub fn from_members<'a>(
        members: impl IntoIterator<Item = &'a [u8]>,
        limits: &Limits,
    ) -> SetObj {
        let mut s = SetObj::default();
        for m in members {
            s.insert(m, limits);
        }
        s
    }

    /// One scan step (see the module doc).
    pub fn scan(&self, cursor: u64, count: usize) -> (u64, Vec<Member<'_>>) {
        match self {
            SetObj::Dense(d) => {
                let mut items = Vec::new();
                let next = dense_scan(d, cursor, count, &mut items);
                (next, items.into_iter().map(Member::Bytes).collect())
            }
            _ => (0, self.iter().collect()),
        }
    }

    pub fn heap_bytes(&self) -> usize {
        match self {
            SetObj::Ints(s) => s.0.len() * 8,
            SetObj::Pack(p) => p.heap_bytes(),
            SetObj::Dense(d) => d.heap_bytes(),
        }
    }
}

/// A collection value as the keyspace holds it.
#[derive(Clone)]
pub enum Coll {
    Hash(HashObj),
    Set(SetObj),
    ZSet(super::zset::ZSetObj),
    List(super::list::ListObj),
}

impl Coll {
    /// An empty collection of `kind` (none for a string).
    pub fn empty(kind: Kind) -> Option<Coll> {
        match kind {
            Kind::Hash => Some(Coll::Hash(HashObj::default())),
            Kind::Set => Some(Coll::Set(SetObj::default())),
            Kind::ZSet => Some(Coll::ZSet(super::zset::ZSetObj::default())),
            Kind::List => Some(Coll::List(super::list::ListObj::default())),
            Kind::String => None,
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Coll::Hash(_) => Kind::Hash,
            Coll::Set(_) => Kind::Set,
            Coll::ZSet(_) => Kind::ZSet,
            Coll::List(_) => Kind::List,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Coll::Hash(h) => h.len(),
            Coll::Set(s) => s.len(),
            Coll::ZSet(z) => z.len(),
            Coll::List(l) => l.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Coll::Hash(h) => h.encoding(),
            Coll::Set(s) => s.encoding(),
            Coll::ZSet(z) => z.encoding(),
            Coll::List(l) => l.encoding(),
        }
    }

    pub fn heap_bytes(&self) -> usize {
        match self {
            Coll::Hash(h) => h.heap_bytes(),
            Coll::Set(s) => s.heap_bytes(),
            Coll::ZSet(z) => z.heap_bytes(),
            Coll::List(l) => l.heap_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Limits {
        Limits {
            hash_max_listpack_entries: 4,
            hash_max_listpack_value: 8,
            set_max_intset_entries: 4,
            set_max_listpack_entries: 4,
            set_max_listpack_value: 8,
            ..Limits::default()
        }
    }

    #[test]
    fn hash_pack_set_get_replace_remove_and_convert_at_the_limits() {
        let l = small();
        let mut h = HashObj::default();
        assert!(h.set(b"a", b"1", &l));
        assert!(!h.set(b"a", b"11", &l));
        assert!(h.set(b"", b"", &l));
        assert_eq!(h.get(b"a"), Some(&b"11"[..]));
        assert_eq!(h.get(b""), Some(&b""[..]));
        assert_eq!((h.len(), h.encoding()), (2, "listpack"));
        h.set(b"c", b"3", &l);
        h.set(b"d", b"4", &l);
        assert_eq!(h.encoding(), "listpack");
        h.set(b"e", b"5", &l);
        assert_eq!((h.len(), h.encoding()), (5, "hashtable"));
        assert!(h.remove(b"a") && !h.remove(b"a"));
        assert_eq!(h.get(b"e"), Some(&b"5"[..]));
        let mut long = HashObj::default();
        long.set(b"f", b"123456789", &l);
        assert_eq!(long.encoding(), "hashtable");
        let mut p = HashObj::default();
        p.set(b"x", b"1", &l);
        p.set(b"y", b"2", &l);
        assert!(p.remove(b"x"));
        assert_eq!(p.iter().collect::<Vec<_>>(), vec![(&b"y"[..], &b"2"[..])]);
    }

    #[test]
    fn dense_remove_keeps_the_index_right_for_the_moved_element() {
        let l = Limits::default();
        let mut s = SetObj::Dense(Box::new(Dense::new(Layout::Whole, 0)));
        for i in 0..2000 {
            s.insert(format!("m{i}").as_bytes(), &l);
        }
        for i in (0..2000).step_by(3) {
            assert!(s.remove(format!("m{i}").as_bytes()));
        }
        for i in 0..2000 {
            assert_eq!(s.contains(format!("m{i}").as_bytes()), i % 3 != 0, "m{i}");
        }
        assert_eq!(s.len(), 2000 - 667);
    }

    #[test]
    fn set_moves_intset_to_listpack_to_hashtable() {
        let l = small();
        let mut s = SetObj::default();
        assert!(s.insert(b"3", &l) && s.insert(b"-1", &l) && !s.insert(b"3", &l));
        assert_eq!(s.encoding(), "intset");
        assert!(s.contains(b"3") && !s.contains(b"03"));
        assert!(s.insert(b"a", &l));
        assert_eq!(s.encoding(), "listpack");
        assert!(s.contains(b"-1") && s.contains(b"a"));
        s.insert(b"b", &l);
        s.insert(b"c", &l);
        assert_eq!((s.len(), s.encoding()), (5, "hashtable"));
        let mut ints = SetObj::default();
        for i in 0..5 {
            ints.insert(i.to_string().as_bytes(), &l);
        }
        assert_eq!(ints.encoding(), "hashtable");
        assert_eq!(canonical_int(b"007"), None);
        assert_eq!(canonical_int(b"-0"), None);
        assert_eq!(canonical_int(b"-9223372036854775808"), Some(i64::MIN));
    }

    #[test]
    fn dense_scan_returns_every_element_present_throughout() {
        let l = Limits::default();
        let mut s = SetObj::default();
        for i in 0..1000 {
            s.insert(format!("m{i}").as_bytes(), &l);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut step = 0;
        loop {
            let (next, items) = s.scan(cursor, 10);
            seen.extend(items.iter().map(|m| m.to_bytes()));
            // Between steps, remove members the scan already returned and add new ones.
            if step % 3 == 0 {
                if let Some(first) = items.first().map(|m| m.to_bytes()) {
                    s.remove(&first);
                }
                s.insert(format!("new{step}").as_bytes(), &l);
            }
            step += 1;
            if next == 0 {
                break;
            }
            cursor = next;
        }
        for i in 0..1000 {
            assert!(seen.contains(format!("m{i}").as_bytes()), "m{i} missed");
        }
    }
}

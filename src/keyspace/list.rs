//! Lists in memory: a chain of compact nodes, in the spirit of Redis's quicklist of listpacks.
//!
//! The API is what the list commands, replay and snapshots need: O(1) push and pop at both
//! ends, indexed reads and writes, ranges walked in either direction, LREM/LTRIM/LINSERT.
//! `OBJECT ENCODING` answers `listpack` while the whole list fits one node of
//! `list-max-listpack-size` (Redis 7.2's rule) and `quicklist` beyond; a list that shrinks to
//! half the limit goes back to `listpack`.
//!
//! Representation. A [`Node`] is one exactly-sized heap block of entries
//! `header(len) ‖ bytes ‖ back-length`, which can be walked from either end:
//!
//! - the header is 1 byte for a length below 64, 2 below 4096 and 5 beyond (9 past 4 GiB);
//! - the back-length is the header-plus-data length in 7-bit groups, read from the entry's end
//!   towards its start (1 byte below 128, 2 below 16384, ...).
//!
//! These are the sizes of a Redis listpack string entry, so a node's byte count is exactly the
//! `listpack` size Redis's `list-max-listpack-size` rules measure (the layout itself is ours).
//! Bytes before `head` are free room left by front pops and front pushes, so a front pop is
//! O(1). The listpack node grows and shrinks exactly (the allocator, mimalloc, resizes in place
//! within a size class) and is compacted once its front room passes a quarter of the live
//! bytes. The two end nodes of a chain grow by doubling into free room at the end they are
//! pushed at, up to the node budget, and are sealed to their exact size once the chain moves
//! past them: pushes copy each byte a bounded number of times, visit few allocator size
//! classes (which keeps RSS close to the live bytes), and only the end nodes hold room.
//! Edits in the middle of a node rebuild that node only.
//!
//! A list is either one node inline ([`Repr::Pack`], the `listpack` encoding: one allocation)
//! or a boxed [`Chain`] of non-empty nodes, each within the node budget (the `quicklist`
//! encoding). Indexed access walks node counts from the nearer end of the chain, then entries
//! from the nearer end of the node; nothing is copied but the one node an edit touches.
//!
//! Not done (see the module tests for what is): Redis's packing of integer-looking strings,
//! and `list-compress-depth` (accepted by the config, nodes are never compressed).

use bytes::Bytes;
use std::collections::VecDeque;

use super::coll::Limits;

/// The byte budget of one node for a negative `list-max-listpack-size` (-1 ... -5).
pub fn node_bytes_limit(size: i64) -> Option<usize> {
    match size {
        -1 => Some(4096),
        -2 => Some(8192),
        -3 => Some(16384),
        -4 => Some(32768),
        s if s <= -5 => Some(65536),
        _ => None,
    }
}

/// A listpack's own header and terminator, which the byte budget includes.
const PACK_OVERHEAD: usize = 7;

/// With a positive (count) `list-max-listpack-size`, a chain node also stays within this many
/// bytes unless it holds a single element (Redis's safety limit for count-filled nodes).
const SAFETY_BYTES: usize = 8192;

// ---- Entry encoding -------------------------------------------------------------------------

fn header_len(n: usize) -> usize {
    if n < 64 {
        1
    } else if n < 4096 {
        2
    } else if n <= u32::MAX as usize {
        5
    } else {
        9
    }
}

/// Bytes of the back-length that records `total` (header plus data).
fn back_len(total: usize) -> usize {
    let mut l = 1;
    let mut t = total >> 7;
    while t > 0 {
        l += 1;
        t >>= 7;
    }
    l
}

/// Bytes one element of length `n` takes in a node.
fn entry_len(n: usize) -> usize {
    let t = header_len(n) + n;
    t + back_len(t)
}

/// The header and back-length of an entry of `n` bytes, as small arrays.
struct Frame {
    hdr: [u8; 9],
    hl: usize,
    back: [u8; 10],
    bl: usize,
}

fn frame(n: usize) -> Frame {
    let mut hdr = [0u8; 9];
    let hl = header_len(n);
    match hl {
        1 => hdr[0] = n as u8,
        2 => {
            hdr[0] = 0x40 | (n >> 8) as u8;
            hdr[1] = n as u8;
        }
        5 => {
            hdr[0] = 0x80;
            hdr[1..5].copy_from_slice(&(n as u32).to_le_bytes());
        }
        _ => {
            hdr[0] = 0x81;
            hdr[1..9].copy_from_slice(&(n as u64).to_le_bytes());
        }
    }
    let t = hl + n;
    let bl = back_len(t);
    let mut back = [0u8; 10];
    // In memory order the most significant group comes first and is the only one without the
    // continuation bit: a backward read stops there.
    for (k, slot) in back.iter_mut().take(bl).enumerate() {
        let j = bl - 1 - k;
        let g = ((t >> (7 * j)) & 0x7f) as u8;
        *slot = if k == 0 { g } else { g | 0x80 };
    }
    Frame { hdr, hl, back, bl }
}

fn write_entry(out: &mut Vec<u8>, e: &[u8]) {
    if e.len() < 64 {
        // One header byte, one back-length byte (1 + 63 < 128).
        out.push(e.len() as u8);
        out.extend_from_slice(e);
        out.push(e.len() as u8 + 1);
        return;
    }
    let f = frame(e.len());
    out.extend_from_slice(&f.hdr[..f.hl]);
    out.extend_from_slice(e);
    out.extend_from_slice(&f.back[..f.bl]);
}

/// Writes the entry for `e` over `dst`, which is exactly [`entry_len`] long.
fn write_entry_into(dst: &mut [u8], e: &[u8]) {
    let n = e.len();
    if n < 64 {
        if let Some((first, rest)) = dst.split_first_mut() {
            *first = n as u8;
            if let Some((last, mid)) = rest.split_last_mut() {
                *last = n as u8 + 1;
                if mid.len() == n {
                    mid.copy_from_slice(e);
                }
            }
        }
        return;
    }
    let f = frame(e.len());
    let (h, rest) = dst.split_at_mut(f.hl.min(dst.len()));
    h.copy_from_slice(&f.hdr[..h.len()]);
    let (d, b) = rest.split_at_mut(e.len().min(rest.len()));
    d.copy_from_slice(&e[..d.len()]);
    let bl = b.len().min(f.bl);
    b[..bl].copy_from_slice(&f.back[..bl]);
}

/// (header length, data length) of the entry starting at `p`.
#[inline]
fn read_header(buf: &[u8], p: usize) -> Option<(usize, usize)> {
    let b = *buf.get(p)?;
    match b >> 6 {
        0 => Some((1, b as usize)),
        1 => Some((2, ((b & 0x3f) as usize) << 8 | *buf.get(p + 1)? as usize)),
        _ if b == 0x80 => {
            let a: [u8; 4] = buf.get(p + 1..p + 5)?.try_into().ok()?;
            Some((5, u32::from_le_bytes(a) as usize))
        }
        _ => {
            let a: [u8; 8] = buf.get(p + 1..p + 9)?.try_into().ok()?;
            Some((9, usize::try_from(u64::from_le_bytes(a)).ok()?))
        }
    }
}

/// (header plus data length, back-length bytes) of the entry ending at `q`.
#[inline]
fn read_back(buf: &[u8], q: usize) -> Option<(usize, usize)> {
    let mut v = 0usize;
    let mut pos = q;
    for k in 0..10 {
        pos = pos.checked_sub(1)?;
        let b = *buf.get(pos)?;
        v |= ((b & 0x7f) as usize) << (7 * k);
        if b & 0x80 == 0 {
            return Some((v, k + 1));
        }
    }
    None
}

// ---- Node budget ----------------------------------------------------------------------------

/// What `list-max-listpack-size` allows one node.
#[derive(Clone, Copy, Debug)]
enum Budget {
    Bytes(usize),
    Count(usize),
}

impl Budget {
    fn of(limits: &Limits) -> Budget {
        let size = limits.list_max_listpack_size;
        match node_bytes_limit(size) {
            Some(b) => Budget::Bytes(b),
            None => Budget::Count(usize::try_from(size.max(1)).unwrap_or(usize::MAX)),
        }
    }

    /// Whether the whole list (`count` elements, `packed` bytes) fits one node: the encoding
    /// rule.
    fn one_node(self, count: usize, packed: usize) -> bool {
        match self {
            Budget::Bytes(b) => packed + PACK_OVERHEAD <= b,
            Budget::Count(c) => count <= c,
        }
    }

    /// The live bytes a chain node may grow to (its free room stays within this).
    fn room(self) -> usize {
        match self {
            Budget::Bytes(b) => b.saturating_sub(PACK_OVERHEAD),
            Budget::Count(_) => SAFETY_BYTES - PACK_OVERHEAD,
        }
    }

    /// Whether a chain node of `count` elements in `bytes` is within budget (one element
    /// always is).
    fn node_fits(self, count: usize, bytes: usize) -> bool {
        count <= 1
            || match self {
                Budget::Bytes(b) => bytes + PACK_OVERHEAD <= b,
                Budget::Count(c) => count <= c && bytes + PACK_OVERHEAD <= SAFETY_BYTES,
            }
    }
}

// ---- Node -----------------------------------------------------------------------------------

/// One compact block of entries; the live ones are `buf[head..end]`.
///
/// `end` is the block's end unless [`TAIL_ROOM`] is set in `count`: then the block ends in free
/// room (at least 4 bytes) whose last 4 bytes hold its length. Only the end nodes of a chain
/// keep such room (grown by doubling up to the node budget, so that a run of pushes copies
/// each byte a bounded number of times and visits few allocator size classes); a node is
/// sealed to its exact size when the chain moves past it.
#[derive(Clone, Default)]
struct Node {
    buf: Box<[u8]>,
    head: u32,
    /// Element count (below 2^31: `list-max-listpack-size` is an i32) and the [`TAIL_ROOM`]
    /// flag.
    count: u32,
}

const TAIL_ROOM: u32 = 1 << 31;

impl Node {
    fn from_vec(v: Vec<u8>, count: usize) -> Node {
        Node {
            buf: v.into_boxed_slice(),
            head: 0,
            count: u32::try_from(count).unwrap_or(u32::MAX),
        }
    }

    #[inline]
    fn start(&self) -> usize {
        self.head as usize
    }

    #[inline]
    fn end(&self) -> usize {
        let n = self.buf.len();
        if self.count & TAIL_ROOM == 0 {
            return n;
        }
        let room = self
            .buf
            .get(n.saturating_sub(4)..n)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map_or(0, |a| u32::from_le_bytes(a) as usize);
        n.saturating_sub(room)
    }

    /// Sets the element count, keeping the room flag.
    fn set_count(&mut self, count: usize) {
        let c = u32::try_from(count).unwrap_or(u32::MAX) & !TAIL_ROOM;
        self.count = (self.count & TAIL_ROOM) | c;
    }

    /// Records that the live bytes end `room` bytes before the block's end (0 or >= 4).
    fn set_room(&mut self, room: usize) {
        let n = self.buf.len();
        match (
            u32::try_from(room),
            self.buf.get_mut(n.saturating_sub(4)..n),
        ) {
            (Ok(r), Some(tail)) if room >= 4 => {
                tail.copy_from_slice(&r.to_le_bytes());
                self.count |= TAIL_ROOM;
            }
            _ => self.count &= !TAIL_ROOM,
        }
    }

    /// Drops free room at either end (a node the chain has moved past).
    fn seal(&mut self) {
        if self.head != 0 {
            self.keep(self.start(), self.end(), self.len());
        } else if self.count & TAIL_ROOM != 0 {
            // Shrinking in place (the allocator keeps the block within its size class).
            let end = self.end();
            let mut v = std::mem::take(&mut self.buf).into_vec();
            v.truncate(end);
            self.buf = v.into_boxed_slice();
            self.count &= !TAIL_ROOM;
        }
    }

    #[inline]
    fn bytes(&self) -> usize {
        self.end().saturating_sub(self.start())
    }

    #[inline]
    fn len(&self) -> usize {
        (self.count & !TAIL_ROOM) as usize
    }

    fn live(&self) -> &[u8] {
        self.buf.get(self.start()..self.end()).unwrap_or_default()
    }

    /// The element at byte offset `p` and the offset of the next one.
    #[inline]
    fn at(&self, p: usize) -> Option<(&[u8], usize)> {
        let (h, n) = read_header(&self.buf, p)?;
        let d = p + h;
        let data = self.buf.get(d..d + n)?;
        Some((data, d + n + back_len(h + n)))
    }

    /// The element ending at byte offset `q` and the offset it starts at.
    #[inline]
    fn before(&self, q: usize) -> Option<(&[u8], usize)> {
        let (t, k) = read_back(&self.buf, q)?;
        let s = q.checked_sub(k + t)?;
        let (h, n) = read_header(&self.buf, s)?;
        let data = self.buf.get(s + h..s + h + n)?;
        Some((data, s))
    }

    /// Byte offset where element `local` starts (`local == len` gives the end), walking from
    /// the nearer end of the node.
    fn offset_of(&self, local: usize) -> Option<usize> {
        let count = self.len();
        if local > count {
            return None;
        }
        if local <= count / 2 {
            let mut p = self.start();
            for _ in 0..local {
                p = self.at(p)?.1;
            }
            Some(p)
        } else {
            let mut q = self.end();
            for _ in 0..count - local {
                q = self.before(q)?.1;
            }
            Some(q)
        }
    }

    fn get(&self, local: usize) -> Option<&[u8]> {
        if local >= self.len() {
            return None;
        }
        Some(self.at(self.offset_of(local)?)?.0)
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let (mut p, end) = (self.start(), self.end());
        std::iter::from_fn(move || {
            if p >= end {
                return None;
            }
            let (d, next) = self.at(p)?;
            p = next;
            Some(d)
        })
    }

    fn clear(&mut self) {
        *self = Node::default();
    }

    /// Keeps `buf[from..to]` only, in a new exactly-sized block.
    fn keep(&mut self, from: usize, to: usize, count: usize) {
        if count == 0 {
            self.clear();
            return;
        }
        let v = self.buf.get(from..to).unwrap_or_default().to_vec();
        *self = Node::from_vec(v, count);
    }

    /// Moves the live start to `p` (after front removals). A chain node (`keep_room`) keeps
    /// the room (it is within the node budget and the node goes when empty); the listpack
    /// node is compacted once that room passes a quarter of the live bytes.
    fn set_head(&mut self, p: usize, count: usize, keep_room: bool) {
        if count == 0 {
            self.clear();
            return;
        }
        let live = self.end().saturating_sub(p);
        match u32::try_from(p) {
            Ok(h) if keep_room || p <= live / 4 => {
                self.head = h;
                self.set_count(count);
            }
            _ => self.keep(p, self.end(), count),
        }
    }

    /// Appends `e`. `room`: for a chain end node, the live bytes the node may grow to (it
    /// then grows by doubling into free room); `None` grows the block exactly.
    fn push_back(&mut self, e: &[u8], room: Option<usize>) {
        let el = entry_len(e.len());
        let end = self.end();
        let free = self.buf.len() - end;
        if free == el || free >= el + 4 {
            if let Some(dst) = self.buf.get_mut(end..end + el) {
                write_entry_into(dst, e);
                self.set_room(free - el);
                self.set_count(self.len() + 1);
                return;
            }
        }
        let live = end - self.start();
        let want = match room {
            Some(r) => (2 * live).min(r).max(live + el),
            None => live + el,
        };
        let extra = match want - (live + el) {
            x if x >= 4 => x,
            _ => 0,
        };
        let total = end + el + extra;
        let mut v = std::mem::take(&mut self.buf).into_vec();
        v.truncate(end);
        v.reserve_exact(total - end);
        write_entry(&mut v, e);
        v.resize(total, 0);
        self.buf = v.into_boxed_slice();
        self.set_room(extra);
        self.set_count(self.len() + 1);
    }

    /// Prepends `e`; `room` as for [`Node::push_back`]. The listpack node leaves an eighth
    /// of its live bytes free in front when it grows.
    fn push_front(&mut self, e: &[u8], room: Option<usize>) {
        let el = entry_len(e.len());
        let h = self.start();
        if h >= el {
            if let Some(dst) = self.buf.get_mut(h - el..h) {
                write_entry_into(dst, e);
                self.head -= el as u32;
                self.set_count(self.len() + 1);
                return;
            }
        }
        let live = self.bytes();
        let slack = match room {
            Some(r) => live.max(el).min(r.saturating_sub(live + el)),
            None => live / 8,
        }
        .min(1 << 20);
        let mut v = Vec::with_capacity(slack + el + live);
        v.resize(slack, 0);
        write_entry(&mut v, e);
        v.extend_from_slice(self.live());
        let count = self.len() + 1;
        *self = Node::from_vec(v, count);
        self.head = slack as u32;
    }

    fn pop_front(&mut self, keep_room: bool) -> Option<Bytes> {
        let (d, next) = self.at(self.start())?;
        let b = Bytes::copy_from_slice(d);
        self.set_head(next, self.len() - 1, keep_room);
        Some(b)
    }

    fn pop_back(&mut self, keep_room: bool) -> Option<Bytes> {
        let (d, s) = self.before(self.end())?;
        let b = Bytes::copy_from_slice(d);
        self.truncate(s, self.len() - 1, keep_room);
        Some(b)
    }

    /// Cuts the node at byte offset `p`, keeping `count` elements before it; a chain node
    /// (`keep_room`) keeps the freed bytes as room.
    fn truncate(&mut self, p: usize, count: usize, keep_room: bool) {
        if count == 0 {
            self.clear();
            return;
        }
        let free = self.buf.len().saturating_sub(p);
        if keep_room && free >= 4 {
            self.set_room(free);
            self.set_count(count);
            return;
        }
        if self.start() > p.saturating_sub(self.start()) / 4 {
            self.keep(self.start(), p, count);
            return;
        }
        let mut v = std::mem::take(&mut self.buf).into_vec();
        v.truncate(p);
        self.buf = v.into_boxed_slice();
        self.count = 0;
        self.set_count(count);
    }

    /// Replaces the bytes `from..to` (element boundaries, `removed` elements) with the entries
    /// of `with`, into a new exactly-sized block (in place when the size is unchanged).
    fn splice(&mut self, from: usize, to: usize, removed: usize, with: &[&[u8]]) {
        let add: usize = with.iter().map(|e| entry_len(e.len())).sum();
        let count = self.len() - removed + with.len();
        if let [e] = with {
            if add == to - from {
                if let Some(dst) = self.buf.get_mut(from..to) {
                    write_entry_into(dst, e);
                    self.set_count(count);
                    return;
                }
            }
        }
        if count == 0 {
            self.clear();
            return;
        }
        let mut v = Vec::with_capacity(self.bytes() - (to - from) + add);
        v.extend_from_slice(self.buf.get(self.start()..from).unwrap_or_default());
        for e in with {
            write_entry(&mut v, e);
        }
        v.extend_from_slice(self.buf.get(to..self.end()).unwrap_or_default());
        *self = Node::from_vec(v, count);
    }

    fn replace(&mut self, local: usize, e: &[u8]) -> bool {
        let Some(p) = self.offset_of(local).filter(|_| local < self.len()) else {
            return false;
        };
        let Some((_, next)) = self.at(p) else {
            return false;
        };
        self.splice(p, next, 1, &[e]);
        true
    }

    /// Inserts `e` before element `local` (`local == len` appends).
    fn insert(&mut self, local: usize, e: &[u8]) -> bool {
        if local == 0 && self.start() >= entry_len(e.len()) {
            self.push_front(e, None);
            return true;
        }
        if local == self.len() {
            self.push_back(e, None);
            return true;
        }
        let Some(p) = self.offset_of(local) else {
            return false;
        };
        self.splice(p, p, 0, &[e]);
        true
    }

    /// Removes up to `max` elements equal to `e`, the first ones or (`from_tail`) the last.
    fn remove_matching(&mut self, e: &[u8], max: usize, from_tail: bool) -> usize {
        let mut spans = Vec::new();
        let (mut p, end) = (self.start(), self.end());
        while p < end {
            let Some((d, next)) = self.at(p) else { break };
            if d == e {
                spans.push((p, next));
            }
            p = next;
        }
        let k = spans.len().min(max);
        if k == 0 {
            return 0;
        }
        let chosen = if from_tail {
            &spans[spans.len() - k..]
        } else {
            &spans[..k]
        };
        let count = self.len() - k;
        if count == 0 {
            self.clear();
            return k;
        }
        let gone: usize = chosen.iter().map(|(a, b)| b - a).sum();
        let mut v = Vec::with_capacity(self.bytes() - gone);
        let mut at = self.start();
        for &(a, b) in chosen {
            v.extend_from_slice(self.buf.get(at..a).unwrap_or_default());
            at = b;
        }
        v.extend_from_slice(self.buf.get(at..self.end()).unwrap_or_default());
        *self = Node::from_vec(v, count);
        k
    }

    /// Removes the first `front` and the last `back` elements (`front + back <= len`).
    fn trim(&mut self, front: usize, back: usize) {
        let count = self.len();
        let keep = count.saturating_sub(front + back);
        if keep == 0 {
            self.clear();
            return;
        }
        let (Some(a), Some(b)) = (self.offset_of(front), self.offset_of(count - back)) else {
            return;
        };
        if back == 0 {
            self.set_head(a, keep, false);
        } else if front == 0 {
            self.truncate(b, keep, false);
        } else {
            self.keep(a, b, keep);
        }
    }

    /// Splits off the elements from `local` on into a new node.
    fn split_off(&mut self, local: usize) -> Node {
        let count = self.len();
        let Some(p) = self.offset_of(local) else {
            return Node::default();
        };
        let tail = Node::from_vec(
            self.buf.get(p..self.end()).unwrap_or_default().to_vec(),
            count - local,
        );
        self.keep(self.start(), p, local);
        tail
    }

    /// Where to cut the node in two halves of about equal bytes (each non-empty).
    fn middle(&self) -> usize {
        let half = self.start() + self.bytes() / 2;
        let mut p = self.start();
        let mut i = 0;
        while i + 1 < self.len() {
            let Some((_, next)) = self.at(p) else { break };
            p = next;
            i += 1;
            if p >= half {
                break;
            }
        }
        i.max(1)
    }

    fn append(&mut self, other: &Node) {
        let mut v = Vec::with_capacity(self.bytes() + other.bytes());
        v.extend_from_slice(self.live());
        v.extend_from_slice(other.live());
        *self = Node::from_vec(v, self.len() + other.len());
    }
}

/// Builds chain nodes from `elements`, filling each node to the budget.
fn build_nodes<'a>(
    elements: impl IntoIterator<Item = &'a [u8]>,
    budget: Budget,
) -> (VecDeque<Node>, usize, usize) {
    let mut nodes = VecDeque::new();
    let (mut len, mut packed) = (0, 0);
    let mut cur = Vec::new();
    let mut cur_count = 0;
    for e in elements {
        let el = entry_len(e.len());
        if cur_count > 0 && !budget.node_fits(cur_count + 1, cur.len() + el) {
            nodes.push_back(Node::from_vec(std::mem::take(&mut cur), cur_count));
            cur_count = 0;
        }
        write_entry(&mut cur, e);
        cur_count += 1;
        len += 1;
        packed += el;
    }
    if cur_count > 0 {
        nodes.push_back(Node::from_vec(cur, cur_count));
    }
    (nodes, len, packed)
}

/// Concatenates nodes into one exactly-sized node.
fn merge_all<'a>(nodes: impl Iterator<Item = &'a Node>, packed: usize) -> Node {
    let mut v = Vec::with_capacity(packed);
    let mut count = 0;
    for n in nodes {
        v.extend_from_slice(n.live());
        count += n.len();
    }
    if count == 0 {
        return Node::default();
    }
    Node::from_vec(v, count)
}

// ---- Chain ----------------------------------------------------------------------------------

/// The `quicklist` form: non-empty nodes, each within the budget, head to tail.
#[derive(Clone, Default)]
struct Chain {
    nodes: VecDeque<Node>,
    len: usize,
    /// Sum of the nodes' live bytes.
    packed: usize,
}

impl Chain {
    /// (node index, index within the node) of element `i`, walking node counts from the
    /// nearer end.
    fn locate(&self, i: usize) -> Option<(usize, usize)> {
        locate(Nodes::Many(&self.nodes), self.len, i)
    }

    fn push(&mut self, left: bool, e: &[u8], budget: Budget) {
        let el = entry_len(e.len());
        let end = if left {
            self.nodes.front_mut()
        } else {
            self.nodes.back_mut()
        };
        let room = Some(budget.room());
        match end {
            Some(n) if budget.node_fits(n.len() + 1, n.bytes() + el) => {
                if left {
                    n.push_front(e, room)
                } else {
                    n.push_back(e, room)
                }
            }
            end => {
                // The old end node is now inside the chain: drop its free room.
                if let Some(old) = end {
                    old.seal();
                }
                let mut n = Node::default();
                if left {
                    n.push_front(e, room);
                } else {
                    n.push_back(e, room);
                }
                if left {
                    self.nodes.push_front(n)
                } else {
                    self.nodes.push_back(n)
                }
            }
        }
        self.len += 1;
        self.packed += el;
    }

    fn pop(&mut self, left: bool) -> Option<Bytes> {
        let n = if left {
            self.nodes.front_mut()
        } else {
            self.nodes.back_mut()
        }?;
        let b = if left {
            n.pop_front(true)
        } else {
            n.pop_back(true)
        }?;
        if n.len() == 0 {
            if left {
                self.nodes.pop_front();
            } else {
                self.nodes.pop_back();
            }
        }
        self.len -= 1;
        self.packed -= entry_len(b.len());
        Some(b)
    }

    /// After an edit grew node `ni`: splits it in halves until each is within the budget.
    fn fix_node(&mut self, ni: usize, budget: Budget) {
        let Some(n) = self.nodes.get_mut(ni) else {
            return;
        };
        if budget.node_fits(n.len(), n.bytes()) {
            return;
        }
        let mut pending = vec![std::mem::take(n)];
        let mut done = Vec::new();
        while let Some(mut n) = pending.pop() {
            if budget.node_fits(n.len(), n.bytes()) {
                done.push(n);
            } else {
                let tail = n.split_off(n.middle());
                pending.push(tail);
                pending.push(n);
            }
        }
        // `done` is head to tail: `pending` is a stack taking the head half first.
        let mut it = done.into_iter();
        if let (Some(first), Some(slot)) = (it.next(), self.nodes.get_mut(ni)) {
            *slot = first;
        }
        for (k, n) in it.enumerate() {
            self.nodes.insert(ni + 1 + k, n);
        }
    }

    /// Drops empty nodes and merges neighbours that fit one node together (after LREM).
    fn compact(&mut self, budget: Budget) {
        let old = std::mem::take(&mut self.nodes);
        for n in old {
            if n.len() == 0 {
                continue;
            }
            match self.nodes.back_mut() {
                Some(last) if budget.node_fits(last.len() + n.len(), last.bytes() + n.bytes()) => {
                    last.append(&n)
                }
                _ => self.nodes.push_back(n),
            }
        }
    }

    fn trim(&mut self, mut front: usize, mut back: usize) {
        self.len -= front + back;
        while front > 0 {
            let Some(n) = self.nodes.front_mut() else {
                break;
            };
            if n.len() <= front {
                front -= n.len();
                self.packed -= n.bytes();
                self.nodes.pop_front();
            } else {
                let before = n.bytes();
                n.trim(front, 0);
                self.packed -= before - n.bytes();
                front = 0;
            }
        }
        while back > 0 {
            let Some(n) = self.nodes.back_mut() else {
                break;
            };
            if n.len() <= back {
                back -= n.len();
                self.packed -= n.bytes();
                self.nodes.pop_back();
            } else {
                let before = n.bytes();
                n.trim(0, back);
                self.packed -= before - n.bytes();
                back = 0;
            }
        }
    }
}

// ---- Iteration ------------------------------------------------------------------------------

/// The nodes of either representation, by index.
#[derive(Clone, Copy)]
enum Nodes<'a> {
    One(&'a Node),
    Many(&'a VecDeque<Node>),
}

impl<'a> Nodes<'a> {
    #[inline]
    fn get(self, i: usize) -> Option<&'a Node> {
        match self {
            Nodes::One(n) => (i == 0).then_some(n),
            Nodes::Many(v) => v.get(i),
        }
    }
}

/// (node index, index within the node) of element `i` of a list of `total`.
fn locate(nodes: Nodes<'_>, total: usize, i: usize) -> Option<(usize, usize)> {
    if i >= total {
        return None;
    }
    match nodes {
        Nodes::One(_) => Some((0, i)),
        Nodes::Many(v) => {
            if i < total / 2 {
                let mut rem = i;
                for (ni, n) in v.iter().enumerate() {
                    if rem < n.len() {
                        return Some((ni, rem));
                    }
                    rem -= n.len();
                }
            } else {
                let mut rem = total - 1 - i;
                for (ni, n) in v.iter().enumerate().rev() {
                    if rem < n.len() {
                        return Some((ni, n.len() - 1 - rem));
                    }
                    rem -= n.len();
                }
            }
            None
        }
    }
}

/// Elements of a list range, head to tail; reversible. The back end is found only when first
/// asked for, so a forward walk (LRANGE) never scans past what it returns.
pub struct Iter<'a> {
    nodes: Nodes<'a>,
    total: usize,
    /// Node index and byte offset of the next element from the front.
    front: (usize, usize),
    /// Node index and byte offset just past the next element from the back, once known.
    back: Option<(usize, usize)>,
    /// List index of the next element from the front.
    front_idx: usize,
    left: usize,
}

impl<'a> Iter<'a> {
    fn new(nodes: Nodes<'a>, total: usize, start: usize, count: usize) -> Iter<'a> {
        let front = if count == 0 {
            None
        } else {
            locate(nodes, total, start)
                .and_then(|(ni, local)| Some((ni, nodes.get(ni)?.offset_of(local)?)))
        };
        Iter {
            nodes,
            total,
            front: front.unwrap_or((0, 0)),
            back: None,
            front_idx: start,
            left: if front.is_some() { count } else { 0 },
        }
    }

    fn find_back(&self) -> Option<(usize, usize)> {
        let last = self.front_idx + self.left - 1;
        let (ni, local) = locate(self.nodes, self.total, last)?;
        let n = self.nodes.get(ni)?;
        Some((ni, n.at(n.offset_of(local)?)?.1))
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        let (mut ni, mut p) = self.front;
        let mut n = self.nodes.get(ni)?;
        if p >= n.end() {
            ni += 1;
            n = self.nodes.get(ni)?;
            p = n.start();
        }
        let (d, next) = n.at(p)?;
        self.front = (ni, next);
        self.front_idx += 1;
        self.left -= 1;
        Some(d)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<'a> DoubleEndedIterator for Iter<'a> {
    fn next_back(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        let (mut ni, mut q) = match self.back {
            Some(b) => b,
            None => self.find_back()?,
        };
        let mut n = self.nodes.get(ni)?;
        if q <= n.start() {
            ni = ni.checked_sub(1)?;
            n = self.nodes.get(ni)?;
            q = n.end();
        }
        let (d, s) = n.before(q)?;
        self.back = Some((ni, s));
        self.left -= 1;
        Some(d)
    }
}

impl ExactSizeIterator for Iter<'_> {}

// ---- ListObj --------------------------------------------------------------------------------

#[derive(Clone)]
enum Repr {
    /// The `listpack` encoding: the whole list in one node.
    Pack(Node),
    /// The `quicklist` encoding.
    Quick(Box<Chain>),
}

/// A list value. Equality is element-wise plus the encoding.
#[derive(Clone)]
pub struct ListObj(Repr);

impl Default for ListObj {
    fn default() -> Self {
        ListObj(Repr::Pack(Node::default()))
    }
}

impl PartialEq for ListObj {
    fn eq(&self, other: &Self) -> bool {
        self.encoding() == other.encoding()
            && self.len() == other.len()
            && self.iter().eq(other.iter())
    }
}

impl Eq for ListObj {}

impl std::fmt::Debug for ListObj {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListObj")
            .field("encoding", &self.encoding())
            .field("len", &self.len())
            .field(
                "elements",
                &self
                    .iter()
                    .map(|e| e.escape_ascii().to_string())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl ListObj {
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Pack(n) => n.len(),
            Repr::Quick(c) => c.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Redis's `OBJECT ENCODING` name.
    pub fn encoding(&self) -> &'static str {
        match &self.0 {
            Repr::Pack(_) => "listpack",
            Repr::Quick(_) => "quicklist",
        }
    }

    /// Heap bytes held (for MEMORY USAGE): the node blocks and, for a chain, its header and
    /// node table.
    pub fn heap_bytes(&self) -> usize {
        match &self.0 {
            Repr::Pack(n) => n.buf.len(),
            Repr::Quick(c) => {
                std::mem::size_of::<Chain>()
                    + c.nodes.capacity() * std::mem::size_of::<Node>()
                    + c.nodes.iter().map(|n| n.buf.len()).sum::<usize>()
            }
        }
    }

    /// Sum of the elements' listpack entry sizes (what the `list-max-listpack-size` rule
    /// measures).
    pub fn packed_bytes(&self) -> usize {
        match &self.0 {
            Repr::Pack(n) => n.bytes(),
            Repr::Quick(c) => c.packed,
        }
    }

    fn nodes(&self) -> Nodes<'_> {
        match &self.0 {
            Repr::Pack(n) => Nodes::One(n),
            Repr::Quick(c) => Nodes::Many(&c.nodes),
        }
    }

    /// Number of nodes (1 for a `listpack`, even an empty one).
    pub fn node_count(&self) -> usize {
        match &self.0 {
            Repr::Pack(_) => 1,
            Repr::Quick(c) => c.nodes.len(),
        }
    }

    /// Moves to the chain form, cutting the node to the budget.
    fn make_quick(&mut self, budget: Budget) {
        let Repr::Pack(n) = &mut self.0 else {
            return;
        };
        let n = std::mem::take(n);
        let chain = if budget.node_fits(n.len(), n.bytes()) {
            let (len, packed) = (n.len(), n.bytes());
            let mut nodes = VecDeque::new();
            if len > 0 {
                nodes.push_back(n);
            }
            Chain { nodes, len, packed }
        } else {
            let (nodes, len, packed) = build_nodes(n.iter(), budget);
            Chain { nodes, len, packed }
        };
        self.0 = Repr::Quick(Box::new(chain));
    }

    fn update_encoding(&mut self, budget: Budget) {
        match &mut self.0 {
            Repr::Pack(n) => {
                if !budget.one_node(n.len(), n.bytes()) {
                    self.make_quick(budget);
                }
            }
            Repr::Quick(c) => {
                if budget.one_node(c.len * 2, c.packed * 2) {
                    let n = if c.nodes.len() == 1 {
                        let mut n = c.nodes.pop_front().unwrap_or_default();
                        n.seal();
                        n
                    } else {
                        merge_all(c.nodes.iter(), c.packed)
                    };
                    self.0 = Repr::Pack(n);
                }
            }
        }
    }

    pub fn push(&mut self, left: bool, e: &[u8], limits: &Limits) {
        let budget = Budget::of(limits);
        if let Repr::Pack(n) = &mut self.0 {
            if budget.one_node(n.len() + 1, n.bytes() + entry_len(e.len())) {
                if left {
                    n.push_front(e, None)
                } else {
                    n.push_back(e, None)
                }
                return;
            }
            self.make_quick(budget);
        }
        if let Repr::Quick(c) = &mut self.0 {
            c.push(left, e, budget);
        }
        self.update_encoding(budget);
    }

    pub fn pop(&mut self, left: bool, limits: &Limits) -> Option<Bytes> {
        let b = match &mut self.0 {
            Repr::Pack(n) => {
                if left {
                    n.pop_front(false)
                } else {
                    n.pop_back(false)
                }
            }
            Repr::Quick(c) => c.pop(left),
        }?;
        self.update_encoding(Budget::of(limits));
        Some(b)
    }

    /// The element at `i` (0 = head), if in range.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let nodes = self.nodes();
        let (ni, local) = locate(nodes, self.len(), i)?;
        nodes.get(ni)?.get(local)
    }

    /// Replaces the element at `i`; false if out of range.
    pub fn set(&mut self, i: usize, e: &[u8], limits: &Limits) -> bool {
        let budget = Budget::of(limits);
        match &mut self.0 {
            Repr::Pack(n) => {
                if !n.replace(i, e) {
                    return false;
                }
            }
            Repr::Quick(c) => {
                let Some((ni, local)) = c.locate(i) else {
                    return false;
                };
                let Some(n) = c.nodes.get_mut(ni) else {
                    return false;
                };
                let before = n.bytes();
                if !n.replace(local, e) {
                    return false;
                }
                c.packed = c.packed - before + n.bytes();
                c.fix_node(ni, budget);
            }
        }
        self.update_encoding(budget);
        true
    }

    /// Inserts `e` so that it ends up at index `i` (`0..=len`); false if out of range.
    pub fn insert(&mut self, i: usize, e: &[u8], limits: &Limits) -> bool {
        let len = self.len();
        if i > len {
            return false;
        }
        if i == 0 || i == len {
            self.push(i == 0, e, limits);
            return true;
        }
        let budget = Budget::of(limits);
        match &mut self.0 {
            Repr::Pack(n) => {
                if !n.insert(i, e) {
                    return false;
                }
            }
            Repr::Quick(c) => {
                let Some((ni, local)) = c.locate(i) else {
                    return false;
                };
                let el = entry_len(e.len());
                // At a node boundary, the tail of the previous node takes it if there is room.
                let prev_room = local == 0
                    && ni > 0
                    && c.nodes
                        .get(ni - 1)
                        .is_some_and(|p| budget.node_fits(p.len() + 1, p.bytes() + el));
                let (ni, local) = if prev_room {
                    (ni - 1, c.nodes.get(ni - 1).map_or(0, Node::len))
                } else {
                    (ni, local)
                };
                let Some(n) = c.nodes.get_mut(ni) else {
                    return false;
                };
                if !n.insert(local, e) {
                    return false;
                }
                c.len += 1;
                c.packed += el;
                c.fix_node(ni, budget);
            }
        }
        self.update_encoding(budget);
        true
    }

    /// LREM: removes elements equal to `e`: the first `count` from the head (count > 0), the
    /// last `-count` from the tail (count < 0), or all (0). Returns how many.
    pub fn remove_matching(&mut self, count: i64, e: &[u8], limits: &Limits) -> usize {
        let limit = if count == 0 {
            usize::MAX
        } else {
            usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX)
        };
        let from_tail = count < 0;
        let budget = Budget::of(limits);
        let removed = match &mut self.0 {
            Repr::Pack(n) => n.remove_matching(e, limit, from_tail),
            Repr::Quick(c) => {
                let mut removed = 0;
                let order: Box<dyn Iterator<Item = &mut Node>> = if from_tail {
                    Box::new(c.nodes.iter_mut().rev())
                } else {
                    Box::new(c.nodes.iter_mut())
                };
                for n in order {
                    if removed >= limit {
                        break;
                    }
                    removed += n.remove_matching(e, limit - removed, from_tail);
                }
                if removed > 0 {
                    c.len -= removed;
                    c.packed -= removed * entry_len(e.len());
                    c.compact(budget);
                }
                removed
            }
        };
        if removed > 0 {
            self.update_encoding(budget);
        }
        removed
    }

    /// LTRIM's removal: drops `front` elements from the head and `back` from the tail (what
    /// is there of them).
    pub fn trim(&mut self, front: usize, back: usize, limits: &Limits) {
        let len = self.len();
        let front = front.min(len);
        let back = back.min(len - front);
        match &mut self.0 {
            Repr::Pack(n) => n.trim(front, back),
            Repr::Quick(c) => c.trim(front, back),
        }
        self.update_encoding(Budget::of(limits));
    }

    /// The elements `start..end` (indices clamped to the list), head to tail; reversible.
    pub fn range(&self, start: usize, end: usize) -> impl DoubleEndedIterator<Item = &[u8]> + '_ {
        self.range_iter(start, end)
    }

    /// [`ListObj::range`] as its concrete type (exact size, reversible).
    pub fn range_iter(&self, start: usize, end: usize) -> Iter<'_> {
        let len = self.len();
        let end = end.min(len);
        let start = start.min(end);
        Iter::new(self.nodes(), len, start, end - start)
    }

    /// Every element, head to tail; reversible.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + '_ {
        self.range_iter(0, self.len())
    }

    /// A list of `elements` in order, in the encoding `limits` give.
    pub fn from_elements<'a>(
        elements: impl IntoIterator<Item = &'a [u8]>,
        limits: &Limits,
    ) -> Self {
        let budget = Budget::of(limits);
        let (nodes, len, packed) = build_nodes(elements, budget);
        if budget.one_node(len, packed) {
            let n = if nodes.len() <= 1 {
                nodes.into_iter().next().unwrap_or_default()
            } else {
                merge_all(nodes.iter(), packed)
            };
            ListObj(Repr::Pack(n))
        } else {
            ListObj(Repr::Quick(Box::new(Chain { nodes, len, packed })))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim(size: i64) -> Limits {
        Limits {
            list_max_listpack_size: size,
            ..Limits::default()
        }
    }

    fn all(l: &ListObj) -> Vec<Vec<u8>> {
        l.iter().map(|e| e.to_vec()).collect()
    }

    /// Redis's listpack string-entry size, computed independently of the node code.
    fn redis_entry_len(n: usize) -> usize {
        let header = if n < 64 {
            1
        } else if n < 4096 {
            2
        } else {
            5
        };
        let total = header + n;
        let back = if total < 128 {
            1
        } else if total < 16384 {
            2
        } else if total < 2_097_152 {
            3
        } else if total < 268_435_456 {
            4
        } else {
            5
        };
        total + back
    }

    /// Structural invariants: counts and bytes add up, chain nodes are non-empty and within
    /// budget, the encoding follows the rule.
    fn check(l: &ListObj, limits: &Limits) {
        let budget = Budget::of(limits);
        let mut len = 0;
        let mut packed = 0;
        let check_node = |n: &Node| {
            let mut c = 0;
            let mut p = n.start();
            while p < n.end() {
                let (d, next) = n.at(p).expect("entry parses");
                assert_eq!(next - p, entry_len(d.len()));
                assert_eq!(n.before(next).expect("back entry parses").1, p);
                p = next;
                c += 1;
            }
            assert_eq!(p, n.end());
            assert_eq!(c, n.len(), "node count");
            assert!(n.start() <= n.end());
        };
        match &l.0 {
            Repr::Pack(n) => {
                check_node(n);
                assert_eq!(n.count & TAIL_ROOM, 0, "listpack node with tail room");
                len = n.len();
                packed = n.bytes();
                assert!(budget.one_node(len, packed), "listpack that does not fit");
            }
            Repr::Quick(c) => {
                for (i, n) in c.nodes.iter().enumerate() {
                    check_node(n);
                    if i > 0 && i + 1 < c.nodes.len() {
                        assert_eq!(n.buf.len(), n.bytes(), "inner node not sealed");
                    }
                    assert!(n.buf.len() - n.bytes() <= budget.room(), "room over budget");
                    assert!(n.len() > 0, "empty chain node");
                    assert!(budget.node_fits(n.len(), n.bytes()), "node over budget");
                    len += n.len();
                    packed += n.bytes();
                }
                assert_eq!(len, c.len);
                assert_eq!(packed, c.packed);
                assert!(
                    !budget.one_node(len * 2, packed * 2),
                    "quicklist that fits half"
                );
            }
        }
        assert_eq!(l.len(), len);
        let want: usize = l.iter().map(|e| redis_entry_len(e.len())).sum();
        assert_eq!(packed, want, "packed bytes are the listpack sizes");
    }

    #[test]
    fn push_pop_both_ends() {
        let limits = lim(-2);
        let mut l = ListObj::default();
        l.push(false, b"b", &limits);
        l.push(true, b"a", &limits);
        l.push(false, b"c", &limits);
        assert_eq!(all(&l), [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
        assert_eq!(l.pop(false, &limits).as_deref(), Some(&b"c"[..]));
        assert_eq!(l.pop(true, &limits).as_deref(), Some(&b"a"[..]));
        assert_eq!(l.len(), 1);
        assert_eq!(l.encoding(), "listpack");
    }

    #[test]
    fn encoding_moves_to_quicklist_and_back() {
        let limits = lim(4);
        let mut l = ListObj::default();
        for i in 0..5 {
            l.push(false, format!("{i}").as_bytes(), &limits);
        }
        assert_eq!(l.encoding(), "quicklist");
        for _ in 0..3 {
            l.pop(true, &limits);
        }
        assert_eq!(l.encoding(), "listpack");
    }

    #[test]
    fn lrem_from_both_ends() {
        let limits = lim(-2);
        let items: Vec<&[u8]> = vec![b"x", b"a", b"x", b"b", b"x"];
        let mut l = ListObj::from_elements(items.iter().copied(), &limits);
        assert_eq!(l.remove_matching(-2, b"x", &limits), 2);
        assert_eq!(all(&l), [b"x".to_vec(), b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(l.remove_matching(0, b"x", &limits), 1);
        assert_eq!(all(&l), [b"a".to_vec(), b"b".to_vec()]);
    }

    #[test]
    fn list_header_stays_small() {
        assert!(
            std::mem::size_of::<ListObj>() <= 24,
            "{}",
            std::mem::size_of::<ListObj>()
        );
        assert_eq!(std::mem::size_of::<Node>(), 24);
    }

    #[test]
    fn entry_sizes_are_listpack_sizes_and_walk_both_ways() {
        let lens = [
            0usize, 1, 62, 63, 64, 65, 124, 125, 126, 127, 128, 4093, 4094, 4095, 4096, 16378,
            16379, 16380, 16383, 16384, 20000, 70000,
        ];
        for n in lens {
            assert_eq!(entry_len(n), redis_entry_len(n), "len {n}");
            let e: Vec<u8> = (0..n).map(|i| (i * 7 + n) as u8).collect();
            let mut v = Vec::new();
            write_entry(&mut v, b"x");
            write_entry(&mut v, &e);
            write_entry(&mut v, b"");
            assert_eq!(v.len(), entry_len(1) + entry_len(n) + entry_len(0));
            let node = Node::from_vec(v, 3);
            let fwd: Vec<&[u8]> = node.iter().collect();
            assert_eq!(fwd, [&b"x"[..], &e[..], &b""[..]]);
            let (d, s) = node.before(node.end()).unwrap();
            assert_eq!(d, b"");
            let (d, s) = node.before(s).unwrap();
            assert_eq!(d, &e[..]);
            let (d, s) = node.before(s).unwrap();
            assert_eq!((d, s), (&b"x"[..], 0));
            let mut buf = vec![0u8; entry_len(n)];
            write_entry_into(&mut buf, &e);
            let mut w = Vec::new();
            write_entry(&mut w, &e);
            assert_eq!(buf, w);
        }
    }

    #[test]
    fn get_set_insert_out_of_range() {
        let limits = lim(-2);
        let mut l = ListObj::default();
        assert_eq!(l.get(0), None);
        assert!(!l.set(0, b"x", &limits));
        assert!(!l.insert(1, b"x", &limits));
        assert!(l.insert(0, b"a", &limits));
        assert!(l.insert(1, b"c", &limits));
        assert!(l.insert(1, b"b", &limits));
        assert_eq!(all(&l), [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
        assert_eq!(l.get(3), None);
        assert!(!l.set(3, b"x", &limits));
        assert!(!l.insert(4, b"x", &limits));
        assert_eq!(l.pop(true, &limits).as_deref(), Some(&b"a"[..]));
        l.trim(5, 5, &limits);
        assert!(l.is_empty());
        assert_eq!(l.pop(true, &limits), None);
        assert_eq!(l.pop(false, &limits), None);
        assert_eq!(l.heap_bytes(), 0);
        assert_eq!(l.range(0, 10).count(), 0);
        check(&l, &limits);
    }

    #[test]
    fn byte_budget_sets_the_encoding_like_redis() {
        // -2 is 8 KiB including the 7-byte listpack header: 8185 bytes of entries fit.
        let limits = lim(-2);
        let mut l = ListObj::default();
        // 16-byte entries (14-byte elements): 511 of them are 8176 bytes.
        for i in 0..511 {
            l.push(false, format!("element-{i:06}").as_bytes(), &limits);
        }
        assert_eq!(l.encoding(), "listpack");
        l.push(false, b"1234567", &limits); // 9 bytes: 8185, still fits
        assert_eq!(l.encoding(), "listpack");
        l.push(false, b"", &limits); // 2 more bytes: over
        assert_eq!(l.encoding(), "quicklist");
        check(&l, &limits);
        // Back to listpack only at half the budget.
        while l.len() > 258 {
            l.pop(true, &limits);
            assert_eq!(l.encoding(), "quicklist");
        }
        // 8187 bytes less 256 front entries of 16: 4091, and 2 * 4091 + 7 <= 8192.
        l.pop(true, &limits);
        assert_eq!(l.encoding(), "listpack", "{} {}", l.len(), l.packed_bytes());
        check(&l, &limits);
        // One big element makes a quicklist at once.
        let big = vec![b'z'; 9000];
        let l2 = ListObj::from_elements([&big[..]], &limits);
        assert_eq!(l2.encoding(), "quicklist");
        check(&l2, &limits);
        let l3 = ListObj::from_elements([&b"a"[..], b"b"], &limits);
        assert_eq!(l3.encoding(), "listpack");
        assert_eq!(l3.node_count(), 1);
    }

    #[test]
    fn equality_is_elements_and_encoding() {
        let limits = lim(3);
        let a = ListObj::from_elements([&b"a"[..], b"b", b"c", b"d"], &limits);
        let mut b = ListObj::default();
        for e in [&b"d"[..], b"c", b"b", b"a"] {
            b.push(true, e, &limits);
        }
        assert_eq!(a, b);
        assert_ne!(a.node_count(), 0);
        let c = ListObj::from_elements([&b"a"[..], b"b"], &limits);
        assert_ne!(a, c);
        assert!(format!("{a:?}").contains("quicklist"));
    }

    /// A small deterministic generator (xorshift64*), so failures replay.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            if n == 0 {
                0
            } else {
                (self.next() % n as u64) as usize
            }
        }
    }

    /// Elements from a small pool (so LREM finds matches) with lengths at the header and
    /// back-length boundaries.
    fn element(rng: &mut Rng, big: bool) -> Vec<u8> {
        const LENS: [usize; 8] = [0, 1, 63, 64, 127, 128, 5000, 20000];
        let len = if rng.below(3) == 0 {
            let l = LENS[rng.below(LENS.len())];
            if big || l < 5000 || rng.below(4) == 0 {
                l
            } else {
                l / 100
            }
        } else {
            rng.below(12)
        };
        let tag = b'a' + rng.below(4) as u8;
        let mut e = vec![tag; len];
        if let Some(last) = e.last_mut() {
            *last = b'0' + rng.below(3) as u8;
        }
        e
    }

    /// Random operations on a list and on a `VecDeque` model, in alternating phases of
    /// `phase` steps that grow and shrink the list (so nodes split, merge and empty, and the
    /// encoding goes both ways).
    fn model_run(size: i64, seed: u64, ops: usize, phase: usize, big: bool) {
        let limits = lim(size);
        let mut rng = Rng(seed);
        let mut l = ListObj::default();
        let mut m: VecDeque<Vec<u8>> = VecDeque::new();
        let mut saw_quick = false;
        let mut saw_pack_after_quick = false;
        for step in 0..ops {
            let op = match rng.below(14) {
                12 if (step / phase) % 2 == 1 => 4,
                13 if (step / phase) % 2 == 1 => 5,
                op => op,
            };
            match op {
                0 | 1 | 12 => {
                    let e = element(&mut rng, big);
                    l.push(true, &e, &limits);
                    m.push_front(e);
                }
                2 | 3 | 13 => {
                    let e = element(&mut rng, big);
                    l.push(false, &e, &limits);
                    m.push_back(e);
                }
                4 => assert_eq!(
                    l.pop(true, &limits).map(|b| b.to_vec()),
                    m.pop_front(),
                    "step {step}"
                ),
                5 => assert_eq!(
                    l.pop(false, &limits).map(|b| b.to_vec()),
                    m.pop_back(),
                    "step {step}"
                ),
                6 => {
                    let i = rng.below(m.len() + 2);
                    let e = element(&mut rng, big);
                    let ok = l.set(i, &e, &limits);
                    assert_eq!(ok, i < m.len(), "step {step}");
                    if ok {
                        m[i] = e;
                    }
                }
                7 => {
                    let i = rng.below(m.len() + 2);
                    let e = element(&mut rng, big);
                    let ok = l.insert(i, &e, &limits);
                    assert_eq!(ok, i <= m.len(), "step {step}");
                    if ok {
                        m.insert(i, e);
                    }
                }
                8 => {
                    let e = match m.get(rng.below(m.len() + 1)) {
                        Some(e) if rng.below(4) > 0 => e.clone(),
                        _ => element(&mut rng, big),
                    };
                    let count = rng.below(7) as i64 - 3;
                    let got = l.remove_matching(count, &e, &limits);
                    let limit = if count == 0 {
                        usize::MAX
                    } else {
                        count.unsigned_abs() as usize
                    };
                    let mut removed = 0;
                    if count >= 0 {
                        let mut i = 0;
                        while i < m.len() && removed < limit {
                            if m[i] == e {
                                m.remove(i);
                                removed += 1;
                            } else {
                                i += 1;
                            }
                        }
                    } else {
                        let mut i = m.len();
                        while i > 0 && removed < limit {
                            i -= 1;
                            if m[i] == e {
                                m.remove(i);
                                removed += 1;
                            }
                        }
                    }
                    assert_eq!(got, removed, "step {step}");
                }
                9 => {
                    if rng.below(4) == 0 {
                        let front = rng.below(m.len() / 3 + 2);
                        let back = rng.below(m.len() / 3 + 2);
                        l.trim(front, back, &limits);
                        let front = front.min(m.len());
                        m.drain(..front);
                        let back = back.min(m.len());
                        m.truncate(m.len() - back);
                    }
                }
                10 => {
                    let a = rng.below(m.len() + 3);
                    let b = rng.below(m.len() + 3);
                    let (a, b) = (a.min(b), a.max(b));
                    let want: Vec<&[u8]> = m
                        .iter()
                        .skip(a)
                        .take(b.min(m.len()).saturating_sub(a))
                        .map(|e| &e[..])
                        .collect();
                    let got: Vec<&[u8]> = l.range(a, b).collect();
                    assert_eq!(got, want, "range {a}..{b} step {step}");
                    let mut rev: Vec<&[u8]> = l.range(a, b).rev().collect();
                    rev.reverse();
                    assert_eq!(rev, want, "reversed range {a}..{b} step {step}");
                    // Both ends at once meet in the middle without overlap.
                    let mut it = l.range_iter(a, b);
                    assert_eq!(it.len(), want.len());
                    let mut front = Vec::new();
                    let mut back = Vec::new();
                    loop {
                        let x = if rng.below(2) == 0 {
                            it.next().map(|e| front.push(e))
                        } else {
                            it.next_back().map(|e| back.push(e))
                        };
                        if x.is_none() {
                            break;
                        }
                    }
                    // One end ran dry: drain the other.
                    front.extend(it.by_ref());
                    back.reverse();
                    front.extend(back);
                    assert_eq!(front, want, "mixed range {a}..{b} step {step}");
                }
                _ => {
                    let i = rng.below(m.len() + 2);
                    assert_eq!(l.get(i), m.get(i).map(|e| &e[..]), "get {i} step {step}");
                }
            }
            assert_eq!(l.len(), m.len(), "len step {step}");
            if l.encoding() == "quicklist" {
                saw_quick = true;
            } else if saw_quick {
                saw_pack_after_quick = true;
            }
            if step % 16 == 0 || l.len() < 40 {
                check(&l, &limits);
                assert!(l.iter().eq(m.iter().map(|e| &e[..])), "step {step}");
                assert!(
                    l.iter().rev().eq(m.iter().rev().map(|e| &e[..])),
                    "step {step}"
                );
            }
        }
        check(&l, &limits);
        assert!(l.iter().eq(m.iter().map(|e| &e[..])));
        let copy = ListObj::from_elements(m.iter().map(|e| &e[..]), &limits);
        check(&copy, &limits);
        assert!(copy.iter().eq(l.iter()));
        assert!(saw_quick, "size {size}: never a quicklist");
        assert!(saw_pack_after_quick, "size {size}: never back to listpack");
    }

    #[test]
    fn model_count_three() {
        for seed in 1..=4 {
            model_run(3, seed * 7919, 4000, 300, false);
        }
    }

    #[test]
    fn model_count_four() {
        for seed in 1..=4 {
            model_run(4, seed * 104_729, 4000, 300, false);
        }
    }

    #[test]
    fn model_count_one_and_large_counts() {
        model_run(1, 99, 3000, 200, false);
        model_run(40, 17, 6000, 600, false);
    }

    #[test]
    fn model_bytes_4k_big_elements() {
        for seed in 1..=3 {
            model_run(-1, seed * 31, 3000, 300, true);
        }
    }

    #[test]
    fn model_bytes_8k_short_elements() {
        model_run(-2, 5, 12000, 2000, false);
    }

    #[test]
    fn million_elements_by_push_middle_get_set_insert() {
        let limits = lim(-2);
        let mut l = ListObj::default();
        let n = 1_000_000;
        for i in 0..n {
            if i % 2 == 0 {
                l.push(false, format!("element-{i}").as_bytes(), &limits);
            } else {
                l.push(true, format!("element-{i}").as_bytes(), &limits);
            }
        }
        assert_eq!(l.len(), n);
        assert_eq!(l.encoding(), "quicklist");
        // Odd ones were pushed to the head, newest first: index k < n/2 holds n-1-2k.
        let at = |k: usize| -> Vec<u8> {
            if k < n / 2 {
                format!("element-{}", n - 1 - 2 * k).into_bytes()
            } else {
                format!("element-{}", 2 * (k - n / 2)).into_bytes()
            }
        };
        for k in [0, 1, 499_999, 500_000, 500_001, 777_777, n - 1] {
            assert_eq!(l.get(k), Some(&at(k)[..]), "{k}");
        }
        assert_eq!(l.get(n), None);
        assert!(l.set(500_000, b"middle", &limits));
        assert_eq!(l.get(500_000), Some(&b"middle"[..]));
        assert_eq!(l.get(500_001), Some(&at(500_001)[..]));
        assert_eq!(l.get(499_999), Some(&at(499_999)[..]));
        let long = vec![b'q'; 3000];
        assert!(l.set(250_000, &long, &limits));
        assert!(l.insert(600_000, b"inserted", &limits));
        assert_eq!(l.len(), n + 1);
        assert_eq!(l.get(600_000), Some(&b"inserted"[..]));
        assert_eq!(l.get(600_001), Some(&at(600_000)[..]));
        assert_eq!(l.get(250_000), Some(&long[..]));
        let r: Vec<&[u8]> = l.range(499_999, 500_002).collect();
        assert_eq!(r, [&at(499_999)[..], b"middle", &at(500_001)[..]]);
        let r: Vec<&[u8]> = l.range(0, 100).rev().take(1).collect();
        assert_eq!(r, [&at(99)[..]]);
        check(&l, &limits);
        // 14-16 byte elements take 16-18 bytes each; nodes add little.
        let per = l.heap_bytes() as f64 / l.len() as f64;
        let packed = l.packed_bytes() as f64 / l.len() as f64;
        assert!(
            per < packed * 1.02 + 1.0,
            "{per} bytes per element, packed {packed}"
        );
        l.trim(1000, 1000, &limits);
        assert_eq!(l.len(), n + 1 - 2000);
        assert_eq!(l.get(0), Some(&at(1000)[..]));
        check(&l, &limits);
    }

    /// Memory of the two benchmark shapes, for the record (run with --ignored --nocapture).
    #[test]
    #[ignore]
    fn memory_estimate() {
        let limits = lim(-2);
        let mut total = 0;
        for i in 0..100_000 {
            let mut l = ListObj::default();
            for j in 0..10 {
                l.push(false, format!("element-{j}").as_bytes(), &limits);
            }
            let _ = i;
            total += l.heap_bytes();
        }
        eprintln!(
            "100000 x 10: {} heap bytes per list, {} inline",
            total / 100_000,
            std::mem::size_of::<ListObj>()
        );
        let mut l = ListObj::default();
        for j in 0..1_000_000 {
            l.push(false, format!("element-{j}").as_bytes(), &limits);
        }
        eprintln!(
            "1000000: {:.2} heap bytes per element, {} nodes",
            l.heap_bytes() as f64 / 1e6,
            l.node_count()
        );
    }
}

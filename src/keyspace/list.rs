//! Lists in memory.
//!
//! The API is what the list commands, replay and snapshots need: O(1) push and pop at both
//! ends, indexed reads and writes, ranges walked in either direction, LREM/LTRIM/LINSERT.
//! `OBJECT ENCODING` answers `listpack` while the whole list fits one node of
//! `list-max-listpack-size` (Redis 7.2's rule) and `quicklist` beyond; a list that shrinks to
//! half the limit goes back to `listpack`.
//!
//! Placeholder representation: a `VecDeque<Bytes>`. The node chain (Redis's quicklist of
//! listpacks) replaces it behind the same API.

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

/// Bytes one element takes in a listpack (header, data, back-length), for the size rule.
fn packed_len(e: &[u8]) -> usize {
    let n = e.len();
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

#[derive(Clone, Default, Debug, PartialEq, Eq)]
pub struct ListObj {
    items: VecDeque<Bytes>,
    /// Sum of [`packed_len`] over the elements.
    packed: usize,
    quick: bool,
}

impl ListObj {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Redis's `OBJECT ENCODING` name.
    pub fn encoding(&self) -> &'static str {
        if self.quick {
            "quicklist"
        } else {
            "listpack"
        }
    }

    /// Heap bytes held (for MEMORY USAGE).
    pub fn heap_bytes(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<Bytes>()
            + self.items.iter().map(|b| b.len()).sum::<usize>()
    }

    /// Whether a single node of `limits` holds `count` elements of `packed` bytes.
    fn fits_one_node(count: usize, packed: usize, limits: &Limits) -> bool {
        let size = limits.list_max_listpack_size;
        match node_bytes_limit(size) {
            Some(b) => packed + 7 <= b,
            None => count <= size.max(1) as usize,
        }
    }

    fn update_encoding(&mut self, limits: &Limits) {
        if !self.quick {
            if !Self::fits_one_node(self.items.len(), self.packed, limits) {
                self.quick = true;
            }
        } else if Self::fits_one_node(self.items.len() * 2, self.packed * 2, limits) {
            self.quick = false;
        }
    }

    pub fn push(&mut self, left: bool, e: &[u8], limits: &Limits) {
        self.packed += packed_len(e);
        let b = Bytes::copy_from_slice(e);
        if left {
            self.items.push_front(b);
        } else {
            self.items.push_back(b);
        }
        self.update_encoding(limits);
    }

    pub fn pop(&mut self, left: bool, limits: &Limits) -> Option<Bytes> {
        let b = if left {
            self.items.pop_front()
        } else {
            self.items.pop_back()
        }?;
        self.packed -= packed_len(&b);
        self.update_encoding(limits);
        Some(b)
    }

    /// The element at `i` (0 = head), if in range.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        self.items.get(i).map(|b| &b[..])
    }

    /// Replaces the element at `i`; false if out of range.
    pub fn set(&mut self, i: usize, e: &[u8], limits: &Limits) -> bool {
        let Some(slot) = self.items.get_mut(i) else {
            return false;
        };
        self.packed = self.packed - packed_len(slot) + packed_len(e);
        *slot = Bytes::copy_from_slice(e);
        self.update_encoding(limits);
        true
    }

    /// Inserts `e` so that it ends up at index `i` (`0..=len`); false if out of range.
    pub fn insert(&mut self, i: usize, e: &[u8], limits: &Limits) -> bool {
        if i > self.items.len() {
            return false;
        }
        self.packed += packed_len(e);
        self.items.insert(i, Bytes::copy_from_slice(e));
        self.update_encoding(limits);
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
        let mut removed = 0;
        if count >= 0 {
            let mut i = 0;
            while i < self.items.len() && removed < limit {
                if self.items[i] == e {
                    let b = self.items.remove(i).unwrap_or_default();
                    self.packed -= packed_len(&b);
                    removed += 1;
                } else {
                    i += 1;
                }
            }
        } else {
            let mut i = self.items.len();
            while i > 0 && removed < limit {
                i -= 1;
                if self.items[i] == e {
                    let b = self.items.remove(i).unwrap_or_default();
                    self.packed -= packed_len(&b);
                    removed += 1;
                }
            }
        }
        if removed > 0 {
            self.update_encoding(limits);
        }
        removed
    }

    /// LTRIM's removal: drops `front` elements from the head and `back` from the tail (what
    /// is there of them).
    pub fn trim(&mut self, front: usize, back: usize, limits: &Limits) {
        let front = front.min(self.items.len());
        for b in self.items.drain(..front) {
            self.packed -= packed_len(&b);
        }
        let back = back.min(self.items.len());
        let keep = self.items.len() - back;
        for b in self.items.drain(keep..) {
            self.packed -= packed_len(&b);
        }
        self.update_encoding(limits);
    }

    /// The elements `start..end` (indices clamped to the list), head to tail; reversible.
    pub fn range(&self, start: usize, end: usize) -> impl DoubleEndedIterator<Item = &[u8]> + '_ {
        let end = end.min(self.items.len());
        let start = start.min(end);
        self.items.range(start..end).map(|b| &b[..])
    }

    /// Every element, head to tail; reversible.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + '_ {
        self.range(0, self.items.len())
    }

    /// A list of `elements` in order, in the encoding `limits` give.
    pub fn from_elements<'a>(elements: impl IntoIterator<Item = &'a [u8]>, limits: &Limits) -> Self {
        let mut l = ListObj::default();
        for e in elements {
            l.packed += packed_len(e);
            l.items.push_back(Bytes::copy_from_slice(e));
        }
        l.quick = !Self::fits_one_node(l.items.len(), l.packed, limits);
        l
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
}

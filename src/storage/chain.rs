//! The rules of the WAL segment chain, written once: how segment names must follow each other,
//! which gap a restore baseline makes legitimate, and what the end of the WAL must reach.
//!
//! Owns: pure functions over sequence numbers; no I/O. Recovery ([`super::recovery`]), `vaylix
//! storage verify` and `vaylix pitr` all judge a data dir with these, so the server, the checker
//! and the restore tool cannot disagree about what is sound (docs/storage-format.md §4, §9).
//!
//! The rules, with `S` the committed snapshot's sequence (0 without a manifest):
//! - the first segment starts at or before `S + 1` (the WAL reaches back to the snapshot);
//! - each segment starts right after the previous sealed one ends; a segment starting earlier
//!   overlaps it;
//! - one gap is legitimate: a restore installs a baseline snapshot at `S` and the WAL continues
//!   at `S + 1`, so a segment starting after the previous one's end **and at or before `S + 1`**
//!   follows a jump over sequences the baseline holds (older segments kept by retention end
//!   below it). Any other gap is missing WAL;
//! - the WAL, if any, ends at or after `S`, except that segments ending below a restore baseline
//!   are allowed when no active segment continues them, and an **empty** active segment below
//!   the baseline (a crash between the manifest switch and the WAL's move) is a leftover the
//!   server removes and replaces with `active-<S+1>`.

/// How a segment starting at `start` follows the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Right after the previous segment (or, for the first, reaching back to the snapshot).
    Next,
    /// After a restore baseline: the sequences skipped are in the snapshot.
    BaselineJump,
    /// Sequences are missing.
    Gap,
    /// It starts at or before the previous segment's end.
    Overlap,
}

impl Link {
    /// May the chain continue with this link?
    pub fn is_sound(self) -> bool {
        matches!(self, Link::Next | Link::BaselineJump)
    }
}

/// The sequence the next segment should start at: after the previous sealed segment's end, or
/// for the first segment, after the snapshot.
pub fn expected_start(prev_end: Option<u64>, snap_seq: u64) -> u64 {
    prev_end.map_or(snap_seq, |e| e).saturating_add(1)
}

/// Judges one link: a segment starting at `start` after a sealed segment ending at `prev_end`
/// (`None` for the first segment), with the committed snapshot at `snap_seq`.
pub fn link(prev_end: Option<u64>, start: u64, snap_seq: u64) -> Link {
    let exp = expected_start(prev_end, snap_seq);
    let baseline_next = snap_seq.saturating_add(1);
    match prev_end {
        None if start <= baseline_next => Link::Next,
        None => Link::Gap,
        Some(_) if start == exp => Link::Next,
        Some(_) if start < exp => Link::Overlap,
        Some(_) if start <= baseline_next => Link::BaselineJump,
        Some(_) => Link::Gap,
    }
}

/// A chain of segment names that does not hold together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Break {
    /// Index of the offending segment in the chain.
    pub index: usize,
    pub expected: u64,
    pub found: u64,
    pub link: Link,
}

/// Checks a whole chain, given as `(start, end)` per segment in order (`end` is `None` for the
/// active segment, which must be last). Returns the first broken link.
pub fn check(chain: &[(u64, Option<u64>)], snap_seq: u64) -> Result<(), Break> {
    let mut prev_end = None;
    for (index, &(start, end)) in chain.iter().enumerate() {
        let l = link(prev_end, start, snap_seq);
        if !l.is_sound() {
            return Err(Break {
                index,
                expected: expected_start(prev_end, snap_seq),
                found: start,
                link: l,
            });
        }
        if end.is_some() {
            prev_end = end;
        }
    }
    Ok(())
}

/// The active segment as read: where it starts and its last entry (`start - 1` when empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActiveEnd {
    pub start: u64,
    pub last: u64,
}

impl ActiveEnd {
    pub fn is_empty(self) -> bool {
        self.last < self.start
    }
}

/// What the end of the WAL means, when it is sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalEnd {
    /// The last recovered sequence: the WAL's end, or the snapshot's when the WAL ends below a
    /// restore baseline.
    pub last_seq: u64,
    /// The active segment is an empty leftover below the baseline: the server removes it.
    pub drop_empty_active: bool,
}

/// The WAL (with entries) ends before the snapshot: entries the snapshot needs are missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndsBeforeSnapshot {
    pub wal_last: u64,
    pub snap_seq: u64,
}

/// Judges the end of a chain that [`check`] accepted: `last_sealed_end` is the end of the last
/// sealed segment, `active` the active segment if there is one.
pub fn wal_end(
    snap_seq: u64,
    last_sealed_end: Option<u64>,
    active: Option<ActiveEnd>,
) -> Result<WalEnd, EndsBeforeSnapshot> {
    match active {
        Some(a) if a.last < snap_seq => {
            if a.is_empty() {
                Ok(WalEnd {
                    last_seq: snap_seq,
                    drop_empty_active: true,
                })
            } else {
                Err(EndsBeforeSnapshot {
                    wal_last: a.last,
                    snap_seq,
                })
            }
        }
        Some(a) => Ok(WalEnd {
            last_seq: a.last,
            drop_empty_active: false,
        }),
        None => Ok(WalEnd {
            last_seq: last_sealed_end.map_or(snap_seq, |e| e.max(snap_seq)),
            drop_empty_active: false,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_segment_must_reach_back_to_the_snapshot() {
        assert_eq!(link(None, 1, 0), Link::Next);
        assert_eq!(link(None, 2, 0), Link::Gap);
        assert_eq!(link(None, 31, 30), Link::Next);
        // Older segments than the snapshot are kept by retention: fine.
        assert_eq!(link(None, 1, 30), Link::Next);
        assert_eq!(link(None, 32, 30), Link::Gap);
    }

    #[test]
    fn segments_follow_each_other_without_gap_or_overlap() {
        assert_eq!(link(Some(10), 11, 0), Link::Next);
        assert_eq!(link(Some(10), 12, 0), Link::Gap);
        assert_eq!(link(Some(10), 10, 0), Link::Overlap);
        assert_eq!(link(Some(10), 5, 40), Link::Overlap);
    }

    #[test]
    fn a_restore_baseline_makes_the_jump_to_it_legitimate() {
        // RESTORE at 1001 with older segments kept by --wal-retain-segments.
        assert_eq!(link(Some(10), 1002, 1001), Link::BaselineJump);
        assert_eq!(link(Some(10), 500, 1001), Link::BaselineJump);
        // Past the baseline, a gap is still a gap.
        assert_eq!(link(Some(10), 1003, 1001), Link::Gap);
        assert_eq!(
            check(&[(1, Some(5)), (6, Some(10)), (1002, None)], 1001),
            Ok(())
        );
        assert_eq!(
            check(
                &[
                    (1, Some(5)),
                    (6, Some(10)),
                    (1002, Some(1010)),
                    (1012, None)
                ],
                1001
            ),
            Err(Break {
                index: 3,
                expected: 1011,
                found: 1012,
                link: Link::Gap
            })
        );
    }

    #[test]
    fn check_reports_the_first_broken_link() {
        assert_eq!(check(&[], 0), Ok(()));
        assert_eq!(check(&[(1, Some(4)), (5, None)], 0), Ok(()));
        assert_eq!(
            check(&[(1, Some(4)), (6, None)], 0),
            Err(Break {
                index: 1,
                expected: 5,
                found: 6,
                link: Link::Gap
            })
        );
        assert_eq!(
            check(&[(3, None)], 1),
            Err(Break {
                index: 0,
                expected: 2,
                found: 3,
                link: Link::Gap
            })
        );
    }

    #[test]
    fn wal_end_against_the_snapshot() {
        let a = |start, last| Some(ActiveEnd { start, last });
        let ok = |last_seq, drop_empty_active| {
            Ok(WalEnd {
                last_seq,
                drop_empty_active,
            })
        };
        assert_eq!(wal_end(0, None, None), ok(0, false));
        assert_eq!(wal_end(0, None, a(1, 0)), ok(0, false));
        assert_eq!(wal_end(10, Some(12), a(13, 20)), ok(20, false));
        // Sealed segments ending below a restore baseline, no active: the snapshot's sequence.
        assert_eq!(wal_end(1001, Some(10), None), ok(1001, false));
        assert_eq!(wal_end(5, Some(10), None), ok(10, false));
        // An empty active segment below the baseline is a leftover.
        assert_eq!(wal_end(1001, Some(10), a(11, 10)), ok(1001, true));
        // Entries that end before the snapshot: missing WAL.
        assert_eq!(
            wal_end(1001, Some(10), a(11, 12)),
            Err(EndsBeforeSnapshot {
                wal_last: 12,
                snap_seq: 1001
            })
        );
    }
}

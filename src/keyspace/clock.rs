//! Bounds of the version clock (docs/storage-format.md §10), checked at every place a sequence
//! or version enters from outside the clock: logical restores, WAL and snapshot readers
//! (recovery, `storage verify`, `pitr`, `storage migrate`) and the storage's restore baseline.
//!
//! Invariants: the clock never hands out a sequence above [`MAX_SEQ`] (= `i64::MAX`, so every
//! version is an exact RESP integer and `VERSION` / `SET ... IF VERSION` are exact), and its
//! arithmetic is checked, so it never wraps. Writes are refused once the clock reaches
//! [`WRITE_LIMIT`]; the [`WRITE_HEADROOM`] above it covers the commands already admitted (each
//! reserves at most one sequence). A logical dump may carry versions up to
//! [`MAX_RESTORE_VERSION`] (2^62), which leaves the restored server 2^62 - 2^32 writes of room:
//! about 146,000 years at a million writes a second.
//! Does not: hold the clock itself (that is [`super::Keyspace`]).

/// The largest sequence (and so version) the clock ever hands out, and the largest any reader
/// accepts from disk: `i64::MAX`, the largest RESP integer.
pub const MAX_SEQ: u64 = i64::MAX as u64;

/// Sequences kept above [`WRITE_LIMIT`] for writes admitted before the clock reached it. Far
/// more than the commands that can be in flight at once (one per connection).
pub const WRITE_HEADROOM: u64 = 1 << 32;

/// Once the clock reaches this, write commands get [`CLOCK_EXHAUSTED`].
pub const WRITE_LIMIT: u64 = MAX_SEQ - WRITE_HEADROOM;

/// The largest version a logical dump (RESTORE, RESTORE FROM) may carry: 2^62.
pub const MAX_RESTORE_VERSION: u64 = 1 << 62;

/// The reply to a write once the clock has reached [`WRITE_LIMIT`].
pub const CLOCK_EXHAUSTED: &str = "ERR the version clock is exhausted (it has reached its bound of 9223372036854775807 minus 2^32 headroom); writes are refused, see docs/storage-format.md section 10";

/// A sequence or version beyond what the clock allows at that place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {value} is above {limit}, the largest the version clock allows there (docs/storage-format.md section 10)")]
pub struct OutOfBound {
    /// What carried the value ("entry 3: version", "WAL sequence", ...).
    pub what: String,
    pub value: u64,
    pub limit: u64,
}

/// `value <= limit`, or an error naming `what`.
pub fn check_version_bound(
    what: impl FnOnce() -> String,
    value: u64,
    limit: u64,
) -> Result<(), OutOfBound> {
    if value <= limit {
        Ok(())
    } else {
        Err(OutOfBound {
            what: what(),
            value,
            limit,
        })
    }
}

/// A sequence or version read from the data dir (WAL, snapshot, manifest): at most [`MAX_SEQ`].
pub fn check_stored_seq(what: impl FnOnce() -> String, value: u64) -> Result<(), OutOfBound> {
    check_version_bound(what, value, MAX_SEQ)
}

/// A version from a logical dump: at most [`MAX_RESTORE_VERSION`].
pub fn check_restored_version(what: impl FnOnce() -> String, value: u64) -> Result<(), OutOfBound> {
    check_version_bound(what, value, MAX_RESTORE_VERSION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_leave_room_and_fit_resp_integers() {
        assert_eq!(MAX_SEQ, 9_223_372_036_854_775_807);
        assert_eq!(MAX_RESTORE_VERSION, 4_611_686_018_427_387_904);
        const { assert!(MAX_RESTORE_VERSION < WRITE_LIMIT && WRITE_LIMIT < MAX_SEQ) };
        assert!(check_restored_version(|| "v".into(), MAX_RESTORE_VERSION).is_ok());
        let e = check_restored_version(|| "entry 0: version".into(), MAX_RESTORE_VERSION + 1)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("entry 0: version 4611686018427387905 is above 4611686018427387904"));
        assert!(check_stored_seq(|| "s".into(), MAX_SEQ).is_ok());
        assert!(check_stored_seq(|| "s".into(), MAX_SEQ + 1).is_err());
        assert!(check_stored_seq(|| "s".into(), u64::MAX).is_err());
    }

    #[test]
    fn the_clock_stops_at_max_seq_and_never_wraps_or_repeats() {
        let ks = super::super::Keyspace::new(16);
        ks.advance_clock(MAX_SEQ - 2);
        assert_eq!(ks.reserve_seq(), Some(MAX_SEQ - 1));
        assert_eq!(ks.reserve_seq(), Some(MAX_SEQ));
        assert_eq!(ks.reserve_seq(), None);
        assert_eq!(ks.reserve_seq(), None);
        assert_eq!(
            ks.current_seq(),
            MAX_SEQ,
            "a refused reservation moves nothing"
        );
    }

    #[test]
    fn writes_are_admitted_only_below_the_write_limit() {
        let ks = super::super::Keyspace::new(16);
        ks.advance_clock(MAX_RESTORE_VERSION + 1);
        assert!(ks.clock_has_room(), "a restore at the bound leaves room");
        ks.advance_clock(WRITE_LIMIT - 1);
        assert!(ks.clock_has_room());
        assert_eq!(ks.reserve_seq(), Some(WRITE_LIMIT));
        assert!(!ks.clock_has_room());
    }
}

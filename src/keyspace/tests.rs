use super::*;
use std::sync::Mutex as StdMutex;

#[derive(Default)]
struct Collect(StdMutex<Vec<(u64, Vec<Effect>)>>);
impl EntrySink for Collect {
    fn submit(&self, seq: u64, effects: Vec<Effect>) {
        self.0.lock().unwrap().push((seq, effects));
    }
}

fn s(v: &str) -> Value {
    Value::String(Bytes::copy_from_slice(v.as_bytes()))
}

fn with_sink() -> (Keyspace, Arc<Collect>) {
    let ks = Keyspace::new(16);
    let sink = Arc::new(Collect::default());
    ks.set_sink(sink.clone());
    (ks, sink)
}

#[test]
fn each_write_gets_a_fresh_version_and_an_entry() {
    let (ks, sink) = with_sink();
    {
        let mut l = ks.lock_keys([&b"a"[..]].into_iter());
        l.put(0, b"a", s("1"), 0);
    }
    {
        let mut l = ks.lock_keys([&b"a"[..]].into_iter());
        assert_eq!(l.get(0, b"a", 0).unwrap().version(), 1);
        l.del(0, b"a", 0);
        l.put(0, b"a", s("2"), 0);
        assert_eq!(
            l.get(0, b"a", 0).unwrap().version(),
            2,
            "one command = one version"
        );
    }
    let entries = sink.0.lock().unwrap().clone();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1].0, 2);
    assert_eq!(entries[1].1.len(), 2);
}

#[test]
fn reads_create_no_entry() {
    let (ks, sink) = with_sink();
    let mut l = ks.lock_keys([&b"a"[..]].into_iter());
    assert!(l.get(0, b"a", 0).is_none());
    assert!(l.del(0, b"a", 0).is_none());
    drop(l);
    assert!(sink.0.lock().unwrap().is_empty());
    assert_eq!(ks.current_seq(), 0);
}

#[test]
fn expired_keys_vanish_lazily_and_actively() {
    let ks = Keyspace::new(16);
    {
        let mut l = ks.lock_keys([&b"a"[..], &b"b"[..]].into_iter());
        l.put(0, b"a", s("1"), 1000);
        l.put(0, b"b", s("1"), 1000);
        assert!(l.get(0, b"a", 999).is_some());
        assert!(l.get(0, b"a", 1000).is_none());
    }
    assert_eq!(ks.db_stats(0).0, 1);
    assert_eq!(ks.active_expire(1001, 10), 1);
    assert_eq!(ks.db_stats(0), (0, 0));
}

#[test]
fn watch_flag_is_set_by_write_expiry_and_flush() {
    let ks = Keyspace::new(16);
    let flag: WatchFlag = Arc::new(AtomicBool::new(false));
    let key = Bytes::from_static(b"w");
    ks.watch(0, &key, &flag, 0);
    {
        let mut l = ks.lock_keys([&b"w"[..]].into_iter());
        l.put(0, b"w", s("x"), 0);
    }
    assert!(flag.swap(false, Ordering::AcqRel));
    ks.lock_all().flush(Some(0));
    assert!(
        flag.swap(false, Ordering::AcqRel),
        "flush of an existing watched key"
    );
    {
        let mut l = ks.lock_keys([&b"w"[..]].into_iter());
        l.put(0, b"w", s("x"), 50);
    }
    flag.store(false, Ordering::Release);
    ks.active_expire(100, 10);
    assert!(flag.load(Ordering::Acquire), "expiry touches watchers");
    ks.unwatch(0, &key, &flag);
    flag.store(false, Ordering::Release);
    ks.lock_keys([&b"w"[..]].into_iter())
        .put(0, b"w", s("y"), 0);
    assert!(!flag.load(Ordering::Acquire));
}

#[test]
fn replay_skips_effects_a_fuzzy_snapshot_already_holds() {
    let ks = Keyspace::new(16);
    // Snapshot captured key a at version 7 (written after the snapshot began at 5).
    ks.load_record(
        Record {
            db: 0,
            key: Bytes::from_static(b"a"),
            value: s("new"),
            version: 7,
            expires_at_ms: None,
        },
        0,
    );
    ks.apply_entry(
        6,
        &[Effect::Put {
            db: 0,
            key: Bytes::from_static(b"a"),
            value: s("old"),
            expires_at_ms: None,
        }],
    );
    ks.apply_entry(6, &[Effect::FlushDb { db: 0 }]);
    {
        let mut l = ks.lock_keys([&b"a"[..]].into_iter());
        let e = l.get(0, b"a", 0).unwrap();
        assert_eq!(e.to_value(), s("new"));
        assert_eq!(e.version(), 7);
    }
    ks.apply_entry(
        8,
        &[Effect::Del {
            db: 0,
            key: Bytes::from_static(b"a"),
        }],
    );
    assert_eq!(ks.db_stats(0).0, 0);
    assert_eq!(ks.current_seq(), 8);
}

#[test]
fn keys_in_different_databases_share_a_shard_but_not_a_slot() {
    let ks = Keyspace::new(16);
    let mut l = ks.lock_keys([&b"k"[..]].into_iter());
    l.put(0, b"k", s("zero"), 0);
    l.put(3, b"k", s("three"), 0);
    assert_eq!(l.get(0, b"k", 0).unwrap().to_value(), s("zero"));
    assert_eq!(l.get(3, b"k", 0).unwrap().to_value(), s("three"));
}

#[test]
fn replace_all_swaps_everything_keeps_versions_moves_the_clock_and_dirties_watchers() {
    let (ks, sink) = with_sink();
    {
        let mut l = ks.lock_keys([&b"a"[..]].into_iter());
        l.put(0, b"a", s("old"), 0);
    }
    let flag: WatchFlag = Arc::new(AtomicBool::new(false));
    ks.watch(0, &Bytes::from_static(b"a"), &flag, 0);
    let recs = vec![
        Record {
            db: 0,
            key: Bytes::from_static(b"b"),
            value: s("1"),
            version: 50,
            expires_at_ms: None,
        },
        Record {
            db: 5,
            key: Bytes::from_static(b"c"),
            value: s("2"),
            version: 7,
            expires_at_ms: Some(10_000),
        },
        Record {
            db: 0,
            key: Bytes::from_static(b"gone"),
            value: s("3"),
            version: 8,
            expires_at_ms: Some(10),
        },
        Record {
            db: 99,
            key: Bytes::from_static(b"bad-db"),
            value: s("4"),
            version: 9,
            expires_at_ms: None,
        },
    ];
    {
        let mut l = ks.lock_all();
        assert_eq!(l.replace_all(recs, 51, 100), 2);
        assert!(l.seq().is_none());
    }
    assert!(flag.load(Ordering::Acquire), "a WATCHed key changed");
    assert_eq!(sink.0.lock().unwrap().len(), 1, "a restore logs no entry");
    assert_eq!(ks.current_seq(), 51);
    let mut l = ks.lock_all();
    assert!(l.get(0, b"a", 100).is_none());
    assert_eq!(l.get(0, b"b", 100).unwrap().version(), 50);
    assert_eq!(l.get(5, b"c", 100).unwrap().expires_at_ms(), 10_000);
    assert!(l.get(0, b"gone", 100).is_none());
    assert_eq!(l.db_stats(5), (1, 1));
    assert_eq!(l.records(100).len(), 2);
    assert_eq!(l.observed(), 51);
    drop(l);
    let mut l = ks.lock_keys([&b"b"[..]].into_iter());
    l.put(0, b"b", s("new"), 0);
    assert_eq!(l.seq(), Some(52), "later writes get larger versions");
}

#[test]
fn flush_and_replayed_flushall_reach_database_255_of_256() {
    let ks = Keyspace::new(MAX_DATABASES);
    {
        let mut l = ks.lock_keys([&b"a"[..]].into_iter());
        l.put(255, b"a", s("1"), 0);
        l.put(0, b"a", s("1"), 0);
    }
    assert_eq!(ks.lock_all().flush(None), 2);
    assert_eq!(ks.lock_all().db_stats(255).0, 0);

    // Replay: a FlushAll entry removes every older key, in every database.
    let replayed = Keyspace::new(MAX_DATABASES);
    replayed.load_record(
        Record {
            db: 255,
            key: Bytes::from_static(b"old"),
            value: s("1"),
            version: 1,
            expires_at_ms: None,
        },
        0,
    );
    replayed.apply_entry(2, &[Effect::FlushAll]);
    assert_eq!(replayed.lock_all().db_stats(255).0, 0);
    assert_eq!(db_indexes(MAX_DATABASES).last(), Some(255));
    assert_eq!(db_indexes(MAX_DATABASES).count(), 256);
}

fn members_of(ks: &Keyspace, key: &[u8]) -> Vec<Bytes> {
    let mut l = ks.lock_keys([key].into_iter());
    let mut m: Vec<Bytes> = l
        .get_set(0, key, 0)
        .unwrap()
        .map(|s| s.iter().map(|m| m.to_bytes()).collect())
        .unwrap_or_default();
    m.sort();
    m
}

fn hash_of(ks: &Keyspace, key: &[u8]) -> Vec<(Bytes, Bytes)> {
    let mut l = ks.lock_keys([key].into_iter());
    let mut m: Vec<(Bytes, Bytes)> = l
        .get_hash(0, key, 0)
        .unwrap()
        .map(|h| {
            h.iter()
                .map(|(f, v)| (Bytes::copy_from_slice(f), Bytes::copy_from_slice(v)))
                .collect()
        })
        .unwrap_or_default();
    m.sort();
    m
}

fn b(v: impl Into<Vec<u8>>) -> Bytes {
    Bytes::from(v.into())
}

/// The live snapshot takes a big collection a batch per lock hold while clients keep writing
/// it; loading the pieces and replaying every entry after the header's version must give
/// exactly the live state (the argument in `visit_shard_unlocking`'s doc).
#[test]
fn a_big_collection_snapshotted_between_writes_recovers_exactly_by_replay() {
    let (ks, sink) = with_sink();
    let members: Vec<Bytes> = (0..5000).map(|i| b(format!("m{i}"))).collect();
    let pairs: Vec<(Bytes, Bytes)> = (0..3000)
        .map(|i| (b(format!("f{i}")), b(format!("v{i}"))))
        .collect();
    {
        let mut l = ks.lock_keys([&b"s"[..], &b"h"[..]].into_iter());
        l.set_add(0, b"s", &members, 0).unwrap();
        l.hash_set(0, b"h", pairs, 0).unwrap();
    }
    let base_seq = ks.current_seq();
    let mut pieces = Vec::new();
    let mut step = 0u64;
    for shard in [ks.shard_of(b"s"), ks.shard_of(b"h")] {
        ks.visit_shard_unlocking(shard, 0, &mut |p| match p {
            Some(p) => pieces.push(p.clone()),
            None => {
                // Between batches: remove visited and unvisited members, add new ones,
                // change and delete fields.
                step += 1;
                let mut l = ks.lock_keys([&b"s"[..], &b"h"[..]].into_iter());
                let gone: Vec<Bytes> = (0..40).map(|i| b(format!("m{}", step * 97 + i))).collect();
                l.set_rem(0, b"s", &gone, 0).unwrap();
                l.set_add(0, b"s", &[b(format!("new{step}"))], 0).unwrap();
                l.hash_set(
                    0,
                    b"h",
                    vec![(b(format!("f{}", step * 31)), b(format!("changed{step}")))],
                    0,
                )
                .unwrap();
                l.hash_del(0, b"h", &[b(format!("f{}", step * 53))], 0)
                    .unwrap();
            }
        });
    }
    assert!(
        step > 5,
        "the collections were taken in several holds ({step})"
    );
    assert!(
        pieces
            .iter()
            .filter(|p| matches!(p, Piece::Header { .. }))
            .count()
            == 2
    );
    let restored = Keyspace::new(16);
    let mut loader = restored.loader(0);
    for p in pieces {
        loader.piece(p);
    }
    loader.finish();
    for (seq, effects) in sink.0.lock().unwrap().iter().filter(|(s, _)| *s > base_seq) {
        restored.apply_entry(*seq, effects);
    }
    let (got, want) = (members_of(&restored, b"s"), members_of(&ks, b"s"));
    let missing: Vec<_> = want.iter().filter(|m| !got.contains(m)).take(5).collect();
    let extra: Vec<_> = got.iter().filter(|m| !want.contains(m)).take(5).collect();
    assert!(
        got == want,
        "set: {} vs {}, missing {missing:?}, extra {extra:?}",
        got.len(),
        want.len()
    );
    let (got, want) = (hash_of(&restored, b"h"), hash_of(&ks, b"h"));
    let missing: Vec<_> = want.iter().filter(|m| !got.contains(m)).take(5).collect();
    let extra: Vec<_> = got.iter().filter(|m| !want.contains(m)).take(5).collect();
    assert!(
        got == want,
        "hash: {} vs {}, missing {missing:?}, extra {extra:?}",
        got.len(),
        want.len()
    );
    assert!(members_of(&ks, b"s").len() > 4000);
}

#[test]
fn entries_stay_sixteen_bytes_and_collection_headers_small() {
    assert_eq!(std::mem::size_of::<Entry>(), 16);
    assert!(
        std::mem::size_of::<table::CollEntry>() <= 72,
        "{}",
        std::mem::size_of::<table::CollEntry>()
    );
}

fn put_e(key: &str, v: &str) -> Effect {
    Effect::Put {
        db: 0,
        key: Bytes::copy_from_slice(key.as_bytes()),
        value: s(v),
        expires_at_ms: None,
    }
}

fn value_of(ks: &Keyspace, key: &str) -> Option<Value> {
    let mut l = ks.lock_keys([key.as_bytes()].into_iter());
    l.get(0, key.as_bytes(), 0).map(|e| e.to_value())
}

/// One entry (a MULTI/EXEC) that writes a key twice, or writes then flushes, replays to the
/// state the live server had, from an older state and from a snapshot taken after it.
#[test]
fn replay_of_an_entry_that_changes_a_key_twice_gives_the_live_result() {
    let ks = Keyspace::new(16);
    ks.apply_entry(5, &[put_e("k", "a"), put_e("k", "b")]);
    assert_eq!(
        value_of(&ks, "k"),
        Some(s("b")),
        "second SET in one EXEC wins"
    );
    ks.apply_entry(
        6,
        &[put_e("x", "1"), Effect::FlushDb { db: 0 }, put_e("y", "2")],
    );
    assert_eq!(
        value_of(&ks, "x"),
        None,
        "written before the flush in the same entry"
    );
    assert_eq!(value_of(&ks, "k"), None, "older than the flush");
    assert_eq!(value_of(&ks, "y"), Some(s("2")));
    // A snapshot that already holds entry 7's result (y at version 7) skips all of 7 for y,
    // including the flush's removal.
    let snap = Keyspace::new(16);
    snap.load_record(
        Record {
            db: 0,
            key: Bytes::from_static(b"y"),
            value: s("after"),
            version: 7,
            expires_at_ms: None,
        },
        0,
    );
    snap.apply_entry(
        7,
        &[
            put_e("y", "before"),
            Effect::FlushDb { db: 0 },
            put_e("y", "after"),
        ],
    );
    assert_eq!(value_of(&snap, "y"), Some(s("after")));
    // Deltas: SREM then SADD of the same set in one entry.
    let (live, sink) = with_sink();
    {
        let mut l = live.lock_keys([&b"s"[..]].into_iter());
        l.set_add(0, b"s", &[b("a"), b("b")], 0).unwrap();
    }
    {
        let mut l = live.lock_keys([&b"s"[..]].into_iter());
        l.set_rem(0, b"s", &[b("a")], 0).unwrap();
        l.set_add(0, b"s", &[b("c")], 0).unwrap();
    }
    let replayed = Keyspace::new(16);
    for (seq, effects) in sink.0.lock().unwrap().iter() {
        replayed.apply_entry(*seq, effects);
    }
    assert_eq!(members_of(&replayed, b"s"), members_of(&live, b"s"));
}

/// The keyspace's state as sorted records (collections sorted), for comparisons.
fn state(ks: &Keyspace, now_ms: u64) -> Vec<Record> {
    let mut recs = ks.lock_all().records(now_ms);
    for r in &mut recs {
        match &mut r.value {
            Value::Hash(p) => p.sort(),
            Value::Set(m) => m.sort(),
            Value::ZSet(p) => p.sort_by(|a, b| a.0.cmp(&b.0)),
            // A list's order is its content.
            Value::String(_) | Value::List(_) => {}
        }
    }
    recs.sort_by(|a, b| (a.db, &a.key).cmp(&(b.db, &b.key)));
    recs
}

#[test]
fn replayed_collection_deltas_skip_what_the_fuzzy_snapshot_already_holds() {
    // A fuzzy snapshot that started at sequence 8 caught the hash at version 10 and the big
    // set (a header and two batches) at version 12; the WAL from 9 on is replayed over it.
    let ks = Keyspace::new(16);
    let mut loader = ks.loader(0);
    loader.piece(Piece::Record(Record {
        db: 0,
        key: b("h"),
        value: Value::Hash(vec![(b("f1"), b("a")), (b("f2"), b("b"))]),
        version: 10,
        expires_at_ms: None,
    }));
    let members: Vec<Bytes> = (0..1500).map(|i| b(format!("m{i}"))).collect();
    loader.piece(Piece::Header {
        db: 0,
        key: b("s"),
        kind: Kind::Set,
        version: 12,
        expires_at_ms: Some(9_000_000),
        members: 1500,
    });
    for part in members.chunks(SNAPSHOT_BATCH) {
        loader.piece(Piece::Members(Value::Set(part.to_vec())));
    }
    loader.finish();
    let wal: Vec<(u64, Vec<Effect>)> = vec![
        // Older than or equal to the snapshot's copy: already in it, skipped.
        (
            9,
            vec![Effect::HashSet {
                db: 0,
                key: b("h"),
                pairs: vec![(b("f1"), b("old"))],
                expires_at_ms: None,
            }],
        ),
        (
            10,
            vec![Effect::HashDel {
                db: 0,
                key: b("h"),
                fields: vec![b("f2")],
                expires_at_ms: None,
            }],
        ),
        (
            12,
            vec![Effect::SetRem {
                db: 0,
                key: b("s"),
                members: vec![b("m0")],
                expires_at_ms: Some(9_000_000),
            }],
        ),
        // Newer: applied, with the expiry the delta carries.
        (
            13,
            vec![Effect::HashSet {
                db: 0,
                key: b("h"),
                pairs: vec![(b("f3"), b("c"))],
                expires_at_ms: Some(8_000_000),
            }],
        ),
        (
            14,
            vec![Effect::SetRem {
                db: 0,
                key: b("s"),
                members: vec![b("m1"), b("m2")],
                expires_at_ms: Some(9_000_000),
            }],
        ),
        // A key the snapshot does not hold: created by the delta, then emptied (removed).
        (
            15,
            vec![Effect::SetAdd {
                db: 1,
                key: b("n"),
                members: vec![b("x"), b("y")],
                expires_at_ms: None,
            }],
        ),
        (
            16,
            vec![Effect::SetAdd {
                db: 1,
                key: b("n2"),
                members: vec![b("z")],
                expires_at_ms: Some(7_000_000),
            }],
        ),
        (
            17,
            vec![Effect::SetRem {
                db: 1,
                key: b("n"),
                members: vec![b("x"), b("y")],
                expires_at_ms: None,
            }],
        ),
        (
            18,
            vec![Effect::HashDel {
                db: 0,
                key: b("gone"),
                fields: vec![b("f")],
                expires_at_ms: None,
            }],
        ),
    ];
    for (seq, effects) in &wal {
        ks.apply_entry(*seq, effects);
    }
    let got = state(&ks, 0);
    // m0's removal (12) was already in the snapshot's copy (12) and is skipped: m0 stays.
    let mut s_members: Vec<Bytes> = members
        .iter()
        .filter(|m| !matches!(&m[..], b"m1" | b"m2"))
        .cloned()
        .collect();
    s_members.sort();
    let want = vec![
        Record {
            db: 0,
            key: b("h"),
            value: Value::Hash(vec![
                (b("f1"), b("a")),
                (b("f2"), b("b")),
                (b("f3"), b("c")),
            ]),
            version: 13,
            expires_at_ms: Some(8_000_000),
        },
        Record {
            db: 0,
            key: b("s"),
            value: Value::Set(s_members),
            version: 14,
            expires_at_ms: Some(9_000_000),
        },
        Record {
            db: 1,
            key: b("n2"),
            value: Value::Set(vec![b("z")]),
            version: 16,
            expires_at_ms: Some(7_000_000),
        },
    ];
    assert_eq!(got, want);
    // Replaying the same WAL again (a second recovery over the same snapshot would not, but
    // PITR replays overlapping ranges) changes nothing.
    for (seq, effects) in &wal {
        ks.apply_entry(*seq, effects);
    }
    assert_eq!(state(&ks, 0), want);
    // A collection the snapshot caught has expired by load time: not installed.
    let late = Keyspace::new(16);
    let mut loader = late.loader(9_500_000);
    loader.piece(Piece::Header {
        db: 0,
        key: b("s"),
        kind: Kind::Set,
        version: 12,
        expires_at_ms: Some(9_000_000),
        members: 2,
    });
    loader.piece(Piece::Members(Value::Set(vec![b("a"), b("b")])));
    loader.finish();
    assert!(state(&late, 9_500_000).is_empty());
}

#[test]
fn replay_applies_every_effect_of_an_entry_to_a_key_it_changed() {
    // MULTI: SADD s a / PEXPIREAT s T / EXEC, and SET k v / FLUSHDB / SET k2 v / EXEC: one
    // entry each. Before the fix the second effect on a key saw it already at the entry's
    // version and was skipped (the expiry lost, the flushed key kept).
    let ks = Keyspace::new(16);
    ks.apply_entry(
        5,
        &[
            Effect::SetAdd {
                db: 0,
                key: b("s"),
                members: vec![b("a")],
                expires_at_ms: None,
            },
            Effect::SetExpiry {
                db: 0,
                key: b("s"),
                expires_at_ms: Some(9_000),
            },
            Effect::Put {
                db: 0,
                key: b("str"),
                value: s("1"),
                expires_at_ms: None,
            },
            Effect::SetExpiry {
                db: 0,
                key: b("str"),
                expires_at_ms: Some(8_000),
            },
        ],
    );
    ks.apply_entry(
        6,
        &[
            Effect::Put {
                db: 1,
                key: b("k"),
                value: s("v"),
                expires_at_ms: None,
            },
            Effect::FlushDb { db: 1 },
            Effect::Put {
                db: 1,
                key: b("k2"),
                value: s("v"),
                expires_at_ms: None,
            },
            Effect::HashSet {
                db: 1,
                key: b("h"),
                pairs: vec![(b("f"), b("1"))],
                expires_at_ms: None,
            },
            Effect::HashDel {
                db: 1,
                key: b("h"),
                fields: vec![b("f")],
                expires_at_ms: None,
            },
        ],
    );
    let got: Vec<(u8, Bytes, u64, Option<u64>)> = state(&ks, 0)
        .into_iter()
        .map(|r| (r.db, r.key, r.version, r.expires_at_ms))
        .collect();
    assert_eq!(
        got,
        vec![
            (0, b("s"), 5, Some(9_000)),
            (0, b("str"), 5, Some(8_000)),
            (1, b("k2"), 6, None),
        ]
    );
    // A fuzzy snapshot that caught a key after the entry: the whole entry is skipped for it.
    let ks = Keyspace::new(16);
    ks.load_record(
        Record {
            db: 0,
            key: b("s"),
            value: Value::Set(vec![b("b")]),
            version: 7,
            expires_at_ms: Some(9_000),
        },
        0,
    );
    ks.apply_entry(
        7,
        &[
            Effect::SetAdd {
                db: 0,
                key: b("s"),
                members: vec![b("x")],
                expires_at_ms: None,
            },
            Effect::SetExpiry {
                db: 0,
                key: b("s"),
                expires_at_ms: Some(1),
            },
            Effect::FlushDb { db: 0 },
        ],
    );
    let got = state(&ks, 0);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].value, Value::Set(vec![b("b")]));
    assert_eq!(got[0].expires_at_ms, Some(9_000));
}

// ---- sorted sets: snapshots of big zsets between writes ---------------------------------

/// ZADD as the commands do it: logs each changed member with its resulting score.
fn zadd(l: &mut Locked<'_>, key: &[u8], pairs: Vec<(Bytes, f64)>) {
    l.zset_write(0, key, true, 0, |z, limits| {
        let mut changed = Vec::new();
        for (m, s) in pairs {
            if z.score(&m).is_some_and(|old| old.to_bits() == s.to_bits()) {
                continue;
            }
            z.insert(&m, s, limits);
            let now = z.score(&m).unwrap_or(s);
            changed.push((m, now));
        }
        ((), ZDelta::Added(changed))
    })
    .unwrap();
}

fn zrem(l: &mut Locked<'_>, key: &[u8], members: Vec<Bytes>) {
    l.zset_write(0, key, false, 0, |z, _| {
        let gone: Vec<Bytes> = members.into_iter().filter(|m| z.remove(m)).collect();
        ((), ZDelta::Removed(gone))
    })
    .unwrap();
}

/// (member, score bits) in order, plus the encoding.
fn zset_of(ks: &Keyspace, key: &[u8]) -> (Vec<(Bytes, u64)>, &'static str) {
    let mut l = ks.lock_keys([key].into_iter());
    match l.get_zset(0, key, 0).unwrap() {
        Some(z) => (
            z.iter().map(|(m, s)| (b(m), s.to_bits())).collect(),
            z.encoding(),
        ),
        None => (Vec::new(), "none"),
    }
}

fn zscore_of(i: u64) -> f64 {
    match i % 9 {
        0 => f64::INFINITY,
        1 => f64::NEG_INFINITY,
        2 => -0.0,
        3 => f64::from_bits(i), // subnormals
        4 => (i as f64) / 3.0,  // no short decimal
        5 => -1e300 * (i as f64),
        6 => f64::MIN_POSITIVE * (i as f64),
        _ => (i as f64) * 0.1,
    }
}

/// A big sorted set (several snapshot batches) taken a batch per lock hold while clients
/// add, move, remove (enough to make the index renumber its slots) and re-add members:
/// loading the pieces and replaying the entries after the header gives exactly the live
/// sorted set, every score bit for bit (-0, infinities, subnormals).
#[test]
fn a_big_zset_snapshotted_between_writes_recovers_exactly_and_bit_exact() {
    for churn in [40u64, 700, 1500] {
        let (ks, sink) = with_sink();
        let n = 5 * SNAPSHOT_BATCH as u64 + 17;
        {
            let mut l = ks.lock_keys([&b"z"[..]].into_iter());
            zadd(
                &mut l,
                b"z",
                (0..n).map(|i| (b(format!("m{i}")), zscore_of(i))).collect(),
            );
        }
        let base_seq = ks.current_seq();
        let mut pieces = Vec::new();
        let mut step = 0u64;
        ks.visit_shard_unlocking(ks.shard_of(b"z"), 0, &mut |p| match p {
            Some(p) => pieces.push(p.clone()),
            None => {
                step += 1;
                let mut l = ks.lock_keys([&b"z"[..]].into_iter());
                // Remove visited and unvisited members.
                let gone: Vec<Bytes> = (0..churn)
                    .map(|i| b(format!("m{}", (step * 7919 + i * 13) % n)))
                    .collect();
                zrem(&mut l, b"z", gone);
                // Move some scores (ZINCRBY-like: the resulting score is logged), add new
                // members with special scores.
                let moved: Vec<(Bytes, f64)> = (0..20)
                    .map(|i| {
                        let m = (step * 31 + i * 101) % n;
                        (b(format!("m{m}")), zscore_of(m + step) + 0.5)
                    })
                    .collect();
                zadd(&mut l, b"z", moved);
                zadd(
                    &mut l,
                    b"z",
                    (0..5)
                        .map(|i| (b(format!("new{step}-{i}")), zscore_of(step + i)))
                        .collect(),
                );
            }
        });
        assert!(step > 3, "taken in several holds ({step})");
        let headers = pieces
            .iter()
            .filter(|p| {
                matches!(
                    p,
                    Piece::Header {
                        kind: Kind::ZSet,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(headers, 1);
        let restored = Keyspace::new(16);
        let mut loader = restored.loader(0);
        for p in pieces {
            loader.piece(p);
        }
        loader.finish();
        for (seq, effects) in sink.0.lock().unwrap().iter().filter(|(s, _)| *s > base_seq) {
            restored.apply_entry(*seq, effects);
        }
        let (got, genc) = zset_of(&restored, b"z");
        let (want, wenc) = zset_of(&ks, b"z");
        let missing: Vec<_> = want.iter().filter(|m| !got.contains(m)).take(5).collect();
        let extra: Vec<_> = got.iter().filter(|m| !want.contains(m)).take(5).collect();
        assert!(
            got == want,
            "churn {churn}: {} vs {}, missing {missing:?}, extra {extra:?}",
            got.len(),
            want.len()
        );
        assert_eq!(genc, wenc);
        assert!(!want.is_empty());
        let neg_zero = want
            .iter()
            .filter(|(_, s)| *s == (-0.0f64).to_bits())
            .count();
        assert!(neg_zero > 0, "a skiplist keeps -0");
    }
}

#[test]
fn function_libraries_travel_through_snapshot_pieces_and_replay_only_when_newer() {
    let b = |s: &str| Bytes::copy_from_slice(s.as_bytes());
    let ks = Keyspace::new(16);
    {
        let mut l = ks.lock_none();
        l.set_functions(vec![b("lib-a")]);
    }
    let set = ks.functions();
    assert_eq!(set.libraries, vec![b("lib-a")]);
    assert!(set.version > 0);
    // Shard 0's visit starts with the libraries; no other shard's has them.
    let mut pieces = Vec::new();
    ks.visit_shard(0, 0, &mut |p| pieces.push(p.clone()));
    assert_eq!(
        pieces.first(),
        Some(&Piece::Functions {
            version: set.version,
            libraries: vec![b("lib-a")]
        })
    );
    let mut others = 0;
    ks.visit_shard(1, 0, &mut |p| {
        others += matches!(p, Piece::Functions { .. }) as usize
    });
    assert_eq!(others, 0);
    // A recovered keyspace gets them from the piece; an older entry does not undo them,
    // a newer one replaces them.
    let rec = Keyspace::new(16);
    let mut loader = rec.loader(0);
    for p in pieces {
        loader.piece(p);
    }
    loader.finish();
    assert_eq!(rec.functions(), set);
    rec.apply_entry(set.version, &[Effect::Functions { libraries: vec![] }]);
    assert_eq!(rec.functions(), set);
    rec.apply_entry(
        set.version + 1,
        &[Effect::Functions {
            libraries: vec![b("lib-b")],
        }],
    );
    assert_eq!(rec.functions().libraries, vec![b("lib-b")]);
    assert_eq!(rec.functions().version, set.version + 1);
}

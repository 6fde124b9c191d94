//! Lists through the keyspace's write path, WAL replay and snapshots: every list delta
//! replayed gives the live list exactly (order included), and a snapshot taken while the
//! lists keep changing (a big list is copied whole under one lock hold, its deltas being
//! positional) plus the entries after it gives the live state.

use std::collections::VecDeque;
use std::sync::Mutex as StdMutex;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

#[derive(Default)]
struct Collect(StdMutex<Vec<(u64, Vec<Effect>)>>);
impl EntrySink for Collect {
    fn submit(&self, seq: u64, effects: Vec<Effect>) {
        self.0.lock().unwrap().push((seq, effects));
    }
}

fn with_sink() -> (Keyspace, Arc<Collect>) {
    let ks = Keyspace::new(4);
    let sink = Arc::new(Collect::default());
    ks.set_sink(sink.clone());
    (ks, sink)
}

/// Every key of every database: (db, key) -> (elements, or a non-list's debug form; expiry).
type State = Vec<((DbIndex, Bytes), String, Vec<Bytes>, Option<u64>)>;

fn state(ks: &Keyspace) -> State {
    let mut recs = ks.lock_all().records(0);
    recs.sort_by(|a, b| (a.db, &a.key).cmp(&(b.db, &b.key)));
    recs.into_iter()
        .map(|r| {
            let (kind, elements) = match r.value {
                Value::List(e) => ("list".to_string(), e),
                other => (format!("{other:?}"), Vec::new()),
            };
            ((r.db, r.key), kind, elements, r.expires_at_ms)
        })
        .collect()
}

fn encodings(ks: &Keyspace, keys: &[Bytes]) -> Vec<&'static str> {
    let mut l = ks.lock_all();
    keys.iter()
        .map(|k| match l.get_list(0, k, 0) {
            Ok(Some(list)) => list.encoding(),
            _ => "none",
        })
        .collect()
}

fn elem(rng: &mut StdRng) -> Bytes {
    match rng.random_range(0..5) {
        0 => Bytes::from(vec![0u8, 0xff, rng.random_range(0..2)]),
        1 => Bytes::new(),
        2 => Bytes::from(vec![b'x'; rng.random_range(60..70)]),
        _ => Bytes::from(format!("e{}", rng.random_range(0..5))),
    }
}

/// One random list command as the list commands do it: the change on the `ListObj` and the
/// deltas it logs, mirrored on `model`. Some commands touch two keys (LMOVE) or the same
/// key twice (LMOVE l l) in one entry.
fn random_write(l: &mut Locked<'_>, rng: &mut StdRng, keys: &[Bytes], model: &mut Model) {
    let k = keys[rng.random_range(0..keys.len())].clone();
    let e = elem(rng);
    let left: bool = rng.random();
    match rng.random_range(0..9) {
        0 | 1 => {
            let elements: Vec<Bytes> = (0..rng.random_range(1..6)).map(|_| elem(rng)).collect();
            let m = model.entry(k.clone()).or_default();
            for x in &elements {
                if left {
                    m.push_front(x.clone());
                } else {
                    m.push_back(x.clone());
                }
            }
            l.list_write(0, &k, true, 0, |list, limits| {
                for x in &elements {
                    list.push(left, x, limits);
                }
                ((), vec![ListDelta::Push { left, elements }])
            })
            .unwrap();
        }
        2 => {
            let want = rng.random_range(1..4u64);
            if let Some(m) = model.get_mut(&k) {
                for _ in 0..want {
                    if left {
                        m.pop_front();
                    } else {
                        m.pop_back();
                    }
                }
            }
            l.list_write(0, &k, false, 0, |list, limits| {
                let mut count = 0;
                while count < want && list.pop(left, limits).is_some() {
                    count += 1;
                }
                ((), vec![ListDelta::Pop { left, count }])
            })
            .unwrap();
        }
        3 => {
            let i = rng.random_range(0..8usize);
            if let Some(slot) = model.get_mut(&k).and_then(|m| m.get_mut(i)) {
                *slot = e.clone();
            }
            l.list_write(0, &k, false, 0, |list, limits| {
                if list.set(i, &e, limits) {
                    (
                        (),
                        vec![ListDelta::Set {
                            index: i as u64,
                            element: e,
                        }],
                    )
                } else {
                    ((), vec![])
                }
            })
            .unwrap();
        }
        4 => {
            let i = rng.random_range(0..8usize);
            if let Some(m) = model.get_mut(&k).filter(|m| i <= m.len()) {
                m.insert(i, e.clone());
            }
            l.list_write(0, &k, false, 0, |list, limits| {
                if list.insert(i, &e, limits) {
                    (
                        (),
                        vec![ListDelta::Insert {
                            index: i as u64,
                            element: e,
                        }],
                    )
                } else {
                    ((), vec![])
                }
            })
            .unwrap();
        }
        5 => {
            let count: i64 = rng.random_range(-2..3);
            if let Some(m) = model.get_mut(&k) {
                let limit = if count == 0 {
                    usize::MAX
                } else {
                    count.unsigned_abs() as usize
                };
                let mut hits: Vec<usize> = (0..m.len()).filter(|i| m[*i] == e).collect();
                if count < 0 {
                    hits.reverse();
                }
                hits.truncate(limit);
                hits.sort_unstable();
                for i in hits.into_iter().rev() {
                    m.remove(i);
                }
            }
            l.list_write(0, &k, false, 0, |list, limits| {
                let n = list.remove_matching(count, &e, limits);
                let d = (n > 0).then_some(ListDelta::Rem { count, element: e });
                ((), d.into_iter().collect())
            })
            .unwrap();
        }
        6 => {
            let (front, back) = (rng.random_range(0..3usize), rng.random_range(0..3usize));
            if let Some(m) = model.get_mut(&k) {
                let f = front.min(m.len());
                m.drain(..f);
                let b = back.min(m.len());
                m.truncate(m.len() - b);
            }
            l.list_write(0, &k, false, 0, |list, limits| {
                let (f, b) = (
                    front.min(list.len()),
                    back.min(list.len().saturating_sub(front)),
                );
                list.trim(front, back, limits);
                let d = (f + b > 0).then_some(ListDelta::Trim {
                    front: f as u64,
                    back: b as u64,
                });
                ((), d.into_iter().collect())
            })
            .unwrap();
        }
        _ => {
            // LMOVE src dst (dst may be src): one pop and one push in one entry.
            let dst = keys[rng.random_range(0..keys.len())].clone();
            let to_left: bool = rng.random();
            let Some(x) =
                model
                    .get_mut(&k)
                    .and_then(|m| if left { m.pop_front() } else { m.pop_back() })
            else {
                return;
            };
            let m = model.entry(dst.clone()).or_default();
            if to_left {
                m.push_front(x.clone());
            } else {
                m.push_back(x.clone());
            }
            let got = l
                .list_write(0, &k, false, 0, |list, limits| {
                    let x = list.pop(left, limits);
                    let d = ListDelta::Pop { left, count: 1 };
                    (x, vec![d])
                })
                .unwrap()
                .flatten();
            assert_eq!(got.as_ref(), Some(&x));
            l.list_write(0, &dst, true, 0, |list, limits| {
                list.push(to_left, &x, limits);
                (
                    (),
                    vec![ListDelta::Push {
                        left: to_left,
                        elements: vec![x],
                    }],
                )
            })
            .unwrap();
        }
    }
    model.retain(|_, m| !m.is_empty());
}

type Model = HashMap<Bytes, VecDeque<Bytes>>;

fn model_state(m: &Model, exp: &HashMap<Bytes, u64>) -> State {
    let mut v: State = m
        .iter()
        .map(|(k, l)| {
            (
                (0, k.clone()),
                "list".to_string(),
                l.iter().cloned().collect(),
                exp.get(k).copied(),
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn every_list_delta_replays_to_the_live_list_and_model() {
    for seed in 0..6u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let (ks, sink) = with_sink();
        let keys: Vec<Bytes> = (0..4).map(|i| Bytes::from(format!("l{i}"))).collect();
        let mut model = Model::new();
        let mut exp: HashMap<Bytes, u64> = HashMap::new();
        for step in 0..1500 {
            let mut l = ks.lock_keys(keys.iter().map(|k| &k[..]));
            // Now and then two commands in one entry (a MULTI/EXEC).
            for _ in 0..if step % 7 == 0 { 3 } else { 1 } {
                random_write(&mut l, &mut rng, &keys, &mut model);
            }
            if step % 97 == 0 {
                let k = &keys[step % keys.len()];
                if model.contains_key(k) {
                    let t = 4_000_000_000_000 + step as u64;
                    assert!(l.set_expiry(0, k, t, 0));
                    exp.insert(k.clone(), t);
                }
            }
            if step % 211 == 0 {
                let k = &keys[(step / 211) % keys.len()];
                l.del(0, k, 0);
                model.remove(k);
            }
            drop(l);
            exp.retain(|k, _| model.contains_key(k));
        }
        let live = state(&ks);
        assert_eq!(
            live,
            model_state(&model, &exp),
            "seed {seed}: live vs model"
        );
        let replayed = Keyspace::new(4);
        for (seq, effects) in sink.0.lock().unwrap().iter() {
            replayed.apply_entry(*seq, effects);
        }
        assert_eq!(state(&replayed), live, "seed {seed}: replay vs live");
        assert_eq!(encodings(&replayed, &keys), encodings(&ks, &keys));
        // Replaying the whole WAL a second time over the result changes nothing (each
        // entry is skipped by version).
        for (seq, effects) in sink.0.lock().unwrap().iter() {
            replayed.apply_entry(*seq, effects);
        }
        assert_eq!(state(&replayed), live, "seed {seed}: replay twice");
    }
}

/// A snapshot taken while clients keep popping, pushing, setting and moving elements of a
/// big list (and small ones) recovers, with the entries after the snapshot's start, exactly
/// the live lists.
#[test]
fn big_and_small_lists_snapshotted_between_writes_recover_exactly_by_replay() {
    for seed in 0..4u64 {
        let mut rng = StdRng::seed_from_u64(100 + seed);
        let (ks, sink) = with_sink();
        // Keys in different shards; "big" has several batches.
        let keys: Vec<Bytes> = (0..24).map(|i| Bytes::from(format!("k{i}"))).collect();
        let mut model = Model::new();
        {
            let mut l = ks.lock_all();
            let big: Vec<Bytes> = (0..5000).map(|i| Bytes::from(format!("b{i}"))).collect();
            l.list_write(0, b"big", true, 0, |list, limits| {
                for x in &big {
                    list.push(false, x, limits);
                }
                (
                    (),
                    vec![ListDelta::Push {
                        left: false,
                        elements: big.clone(),
                    }],
                )
            })
            .unwrap();
            model.insert(Bytes::from_static(b"big"), big.into_iter().collect());
            for _ in 0..200 {
                random_write(&mut l, &mut rng, &keys, &mut model);
            }
        }
        let base_seq = ks.current_seq();
        let mut pieces = Vec::new();
        let mut holds = 0;
        let all: Vec<Bytes> = keys
            .iter()
            .cloned()
            .chain([Bytes::from_static(b"big")])
            .collect();
        for shard in 0..SHARDS {
            ks.visit_shard_unlocking(shard, 0, &mut |p| match p {
                Some(p) => pieces.push(p.clone()),
                None => {
                    holds += 1;
                    let mut l = ks.lock_all();
                    // The big list: pops at both ends, an LSET in the middle, pushes, and
                    // moves between it and small lists.
                    for _ in 0..6 {
                        random_write(&mut l, &mut rng, &all, &mut model);
                    }
                    let i = rng.random_range(0..4000usize);
                    let e = Bytes::from(format!("set{holds}"));
                    if let Some(slot) = model.get_mut(&b"big"[..]).and_then(|m| m.get_mut(i)) {
                        *slot = e.clone();
                    }
                    l.list_write(0, b"big", false, 0, |list, limits| {
                        let ok = list.set(i, &e, limits);
                        let d = ok.then_some(ListDelta::Set {
                            index: i as u64,
                            element: e,
                        });
                        ((), d.into_iter().collect())
                    })
                    .unwrap();
                    let left = holds % 2 == 0;
                    l.list_write(0, b"big", false, 0, |list, limits| {
                        list.pop(left, limits);
                        list.push(!left, b"again", limits);
                        (
                            (),
                            vec![
                                ListDelta::Pop { left, count: 1 },
                                ListDelta::Push {
                                    left: !left,
                                    elements: vec![Bytes::from_static(b"again")],
                                },
                            ],
                        )
                    })
                    .unwrap();
                    if let Some(m) = model.get_mut(&b"big"[..]) {
                        if left {
                            m.pop_front();
                            m.push_back(Bytes::from_static(b"again"));
                        } else {
                            m.pop_back();
                            m.push_front(Bytes::from_static(b"again"));
                        }
                    }
                }
            });
        }
        assert!(holds > 8, "writes between lock holds ({holds})");
        let big_headers = pieces
            .iter()
            .filter(|p| {
                matches!(
                    p,
                    Piece::Header {
                        kind: Kind::List,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(big_headers, 1, "the big list is a header and batches");
        let restored = Keyspace::new(4);
        let mut loader = restored.loader(0);
        for p in pieces {
            loader.piece(p);
        }
        loader.finish();
        for (seq, effects) in sink.0.lock().unwrap().iter().filter(|(s, _)| *s > base_seq) {
            restored.apply_entry(*seq, effects);
        }
        let live = state(&ks);
        assert_eq!(
            live,
            model_state(&model, &HashMap::new()),
            "seed {seed}: live vs model"
        );
        let got = state(&restored);
        if got != live {
            let diff: Vec<_> = got
                .iter()
                .zip(&live)
                .filter(|(a, b)| a != b)
                .map(|(a, b)| (a.0.clone(), a.2.len(), b.2.len()))
                .take(3)
                .collect();
            panic!("seed {seed}: restored differs from live: {diff:?}");
        }
        assert_eq!(encodings(&restored, &all), encodings(&ks, &all));
    }
}

/// A list that existed when the snapshot started (the WAL was sealed at `base_seq`) and was
/// changed and emptied by list deltas before its shard was visited is absent from the
/// snapshot; the entries after `base_seq` are then replayed on an absent key, not on the
/// list they were applied to. Positional deltas on the wrong base need not empty it again
/// (here: the push, LINSERT, RPOP and two LREMs leave `[e]` on an empty base), so the entry
/// that empties a list must say so (a `Del` after its deltas).
#[test]
fn a_list_emptied_by_deltas_before_its_shard_is_visited_stays_gone_after_recovery() {
    let (ks, sink) = with_sink();
    let b = |s: &str| Bytes::copy_from_slice(s.as_bytes());
    let write = |f: &dyn Fn(&mut ListObj, &Limits) -> Vec<ListDelta>| {
        let mut l = ks.lock_all();
        l.list_write(0, b"L", true, 0, |list, limits| ((), f(list, limits)))
            .unwrap();
    };
    write(&|list, limits| {
        list.push(false, b"x", limits);
        vec![ListDelta::Push {
            left: false,
            elements: vec![b("x")],
        }]
    });
    // The snapshot starts here: the WAL is sealed at base_seq.
    let base_seq = ks.current_seq();
    write(&|list, limits| {
        list.push(false, b"e", limits);
        vec![ListDelta::Push {
            left: false,
            elements: vec![b("e")],
        }]
    });
    // LINSERT L AFTER x n: [x, n, e].
    write(&|list, limits| {
        assert!(list.insert(1, b"n", limits));
        vec![ListDelta::Insert {
            index: 1,
            element: b("n"),
        }]
    });
    write(&|list, limits| {
        list.pop(false, limits);
        vec![ListDelta::Pop {
            left: false,
            count: 1,
        }]
    });
    for v in ["x", "n"] {
        write(&|list, limits| {
            assert_eq!(list.remove_matching(0, v.as_bytes(), limits), 1);
            vec![ListDelta::Rem {
                count: 0,
                element: b(v),
            }]
        });
    }
    assert!(state(&ks).is_empty(), "the list is gone live");
    // Now its shard is visited: nothing to write.
    let mut pieces = Vec::new();
    for shard in 0..SHARDS {
        ks.visit_shard_unlocking(shard, 0, &mut |p| {
            if let Some(p) = p {
                pieces.push(p.clone())
            }
        });
    }
    assert!(pieces.is_empty());
    let restored = Keyspace::new(4);
    let mut loader = restored.loader(0);
    for p in pieces {
        loader.piece(p);
    }
    loader.finish();
    for (seq, effects) in sink.0.lock().unwrap().iter().filter(|(s, _)| *s > base_seq) {
        restored.apply_entry(*seq, effects);
    }
    assert_eq!(state(&restored), state(&ks), "recovered state");
}

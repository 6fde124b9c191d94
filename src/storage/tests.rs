//! End-to-end tests of the storage engine on the simulated file system.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::fs::SimFs;
use super::*;
use crate::keyspace::{Piece, Value};

const HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn cfg() -> StorageConfig {
    let mut c = StorageConfig::new("/data");
    c.master_key = MasterKeySource::Hex(HEX.into());
    c.wal_segment_size = 2048;
    // Recovery-only retention: the pruning tests below are about what recovery needs; PITR
    // retention has its own tests.
    c.pitr_retention_secs = 0;
    c
}

/// A tiny versioned keyspace: the oracle and the recovery sink.
#[derive(Default, Clone, PartialEq, Debug)]
struct Model {
    map: BTreeMap<(u8, Bytes), Record>,
    entries: Vec<u64>,
    /// The collection a snapshot's header opened and the members still due.
    open: Option<((u8, Bytes), u64)>,
    /// The function libraries and the sequence that set them.
    functions: (u64, Vec<Bytes>),
}

/// Collections in the model are kept sorted so that equal states compare equal.
fn norm(v: &mut Value) {
    match v {
        Value::String(_) => {}
        Value::Hash(p) => p.sort(),
        Value::Set(m) => m.sort(),
        Value::ZSet(p) => p.sort_by(|a, b| a.0.cmp(&b.0)),
        // A list's order is its content.
        Value::List(_) => {}
    }
}

/// A list delta on a plain `Vec` (head first), written independently of `ListObj`: what the
/// effect means, per `keyspace::Effect`'s documentation.
fn model_list(l: &mut Vec<Bytes>, e: &Effect) {
    let at = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    match e {
        Effect::ListPush { left, elements, .. } => {
            for x in elements {
                if *left {
                    l.insert(0, x.clone());
                } else {
                    l.push(x.clone());
                }
            }
        }
        Effect::ListPop { left, count, .. } => {
            let n = at(*count).min(l.len());
            if *left {
                l.drain(..n);
            } else {
                l.truncate(l.len() - n);
            }
        }
        Effect::ListSet { index, element, .. } => {
            if let Some(slot) = l.get_mut(at(*index)) {
                *slot = element.clone();
            }
        }
        Effect::ListInsert { index, element, .. } => {
            let i = at(*index).min(l.len());
            l.insert(i, element.clone());
        }
        Effect::ListRem { count, element, .. } => {
            let limit = match *count {
                0 => usize::MAX,
                c => usize::try_from(c.unsigned_abs()).unwrap_or(usize::MAX),
            };
            let mut hits: Vec<usize> = (0..l.len()).filter(|i| l[*i] == *element).collect();
            if *count < 0 {
                hits.reverse();
            }
            hits.truncate(limit);
            hits.sort_unstable();
            for i in hits.into_iter().rev() {
                l.remove(i);
            }
        }
        Effect::ListTrim { front, back, .. } => {
            let f = at(*front).min(l.len());
            l.drain(..f);
            let b = at(*back).min(l.len());
            l.truncate(l.len() - b);
        }
        _ => {}
    }
}

impl Model {
    /// A collection delta on the model, with the keyspace's rules: skipped if the key's
    /// version is not older; an absent key (or one of another kind) starts empty; the key
    /// takes the delta's expiry and is removed when left empty.
    fn delta(
        &mut self,
        seq: u64,
        db: u8,
        key: &Bytes,
        exp: Option<u64>,
        empty: Value,
        f: impl FnOnce(&mut Value),
    ) {
        let k = (db, key.clone());
        if self.map.get(&k).is_some_and(|r| r.version >= seq) {
            return;
        }
        let mut r = self
            .map
            .remove(&k)
            .filter(|r| r.value.kind() == empty.kind())
            .unwrap_or(Record {
                db,
                key: key.clone(),
                value: empty,
                version: seq,
                expires_at_ms: exp,
            });
        f(&mut r.value);
        norm(&mut r.value);
        r.version = seq;
        r.expires_at_ms = exp;
        if !r.value.is_empty() {
            self.map.insert(k, r);
        }
    }

    /// One WAL entry on the model, with the keyspace's rule (`Keyspace::apply_entry`): whether
    /// the entry applies to a key is decided once, from the key's version before the entry.
    fn apply(&mut self, seq: u64, effects: &[Effect]) {
        let mut decided: BTreeMap<(u8, Bytes), bool> = BTreeMap::new();
        for e in effects {
            if let Some(k) = e.key().map(|(db, key)| (db, key.clone())) {
                let apply = *decided
                    .entry(k.clone())
                    .or_insert_with(|| self.map.get(&k).is_none_or(|r| r.version < seq));
                if !apply {
                    continue;
                }
                // A key this entry already changed carries `seq`: let its next effect pass the
                // per-effect checks below.
                if let Some(r) = self.map.get_mut(&k).filter(|r| r.version == seq) {
                    r.version = seq - 1;
                }
            }
            let fresh = |k: &(u8, Bytes)| decided.get(k).copied().unwrap_or(false);
            match e {
                Effect::Put {
                    db,
                    key,
                    value,
                    expires_at_ms,
                } => {
                    let k = (*db, key.clone());
                    if self.map.get(&k).is_none_or(|r| r.version < seq) {
                        let mut value = value.clone();
                        norm(&mut value);
                        self.map.insert(
                            k,
                            Record {
                                db: *db,
                                key: key.clone(),
                                value,
                                version: seq,
                                expires_at_ms: *expires_at_ms,
                            },
                        );
                    }
                }
                Effect::Del { db, key } => {
                    let k = (*db, key.clone());
                    if self.map.get(&k).is_some_and(|r| r.version < seq) {
                        self.map.remove(&k);
                    }
                }
                Effect::SetExpiry {
                    db,
                    key,
                    expires_at_ms,
                } => {
                    if let Some(r) = self.map.get_mut(&(*db, key.clone())) {
                        if r.version < seq {
                            r.expires_at_ms = *expires_at_ms;
                            r.version = seq;
                        }
                    }
                }
                Effect::HashSet {
                    db,
                    key,
                    pairs,
                    expires_at_ms,
                } => self.delta(seq, *db, key, *expires_at_ms, Value::Hash(vec![]), |v| {
                    if let Value::Hash(h) = v {
                        for (f, val) in pairs {
                            h.retain(|(x, _)| x != f);
                            h.push((f.clone(), val.clone()));
                        }
                    }
                }),
                Effect::HashDel {
                    db,
                    key,
                    fields,
                    expires_at_ms,
                } => self.delta(seq, *db, key, *expires_at_ms, Value::Hash(vec![]), |v| {
                    if let Value::Hash(h) = v {
                        h.retain(|(x, _)| !fields.contains(x));
                    }
                }),
                Effect::SetAdd {
                    db,
                    key,
                    members,
                    expires_at_ms,
                } => self.delta(seq, *db, key, *expires_at_ms, Value::Set(vec![]), |v| {
                    if let Value::Set(s) = v {
                        for m in members {
                            if !s.contains(m) {
                                s.push(m.clone());
                            }
                        }
                    }
                }),
                Effect::SetRem {
                    db,
                    key,
                    members,
                    expires_at_ms,
                } => self.delta(seq, *db, key, *expires_at_ms, Value::Set(vec![]), |v| {
                    if let Value::Set(s) = v {
                        s.retain(|x| !members.contains(x));
                    }
                }),
                Effect::ZAdd {
                    db,
                    key,
                    pairs,
                    expires_at_ms,
                } => self.delta(seq, *db, key, *expires_at_ms, Value::ZSet(vec![]), |v| {
                    if let Value::ZSet(z) = v {
                        for (m, score) in pairs {
                            z.retain(|(x, _)| x != m);
                            z.push((m.clone(), *score));
                        }
                    }
                }),
                Effect::ZRem {
                    db,
                    key,
                    members,
                    expires_at_ms,
                } => self.delta(seq, *db, key, *expires_at_ms, Value::ZSet(vec![]), |v| {
                    if let Value::ZSet(z) = v {
                        z.retain(|(x, _)| !members.contains(x));
                    }
                }),
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
                } => self.delta(seq, *db, key, *expires_at_ms, Value::List(vec![]), |v| {
                    if let Value::List(l) = v {
                        model_list(l, e);
                    }
                }),
                Effect::FlushDb { db } => self
                    .map
                    .retain(|k, r| k.0 != *db || (r.version >= seq && !fresh(k))),
                Effect::FlushAll => self.map.retain(|k, r| r.version >= seq && !fresh(k)),
                Effect::Functions { libraries } => {
                    if seq > self.functions.0 {
                        self.functions = (seq, libraries.clone());
                    }
                }
            }
        }
    }
}

impl RecoverySink for Model {
    fn load_piece(&mut self, piece: Piece) {
        if !matches!(piece, Piece::Members(_)) {
            self.open = None;
        }
        match piece {
            Piece::Functions { version, libraries } => self.functions = (version, libraries),
            Piece::Record(mut rec) => {
                norm(&mut rec.value);
                self.map.insert((rec.db, rec.key.clone()), rec);
            }
            Piece::Header {
                db,
                key,
                kind,
                version,
                expires_at_ms,
                members,
            } => {
                let value = match kind {
                    crate::keyspace::Kind::Hash => Value::Hash(vec![]),
                    crate::keyspace::Kind::ZSet => Value::ZSet(vec![]),
                    crate::keyspace::Kind::List => Value::List(vec![]),
                    _ => Value::Set(vec![]),
                };
                let rec = Record {
                    db,
                    key: key.clone(),
                    value,
                    version,
                    expires_at_ms,
                };
                self.map.insert((db, key.clone()), rec);
                self.open = Some(((db, key), members));
            }
            Piece::Members(batch) => {
                // The header's size is a hint; the collection stays open until another key.
                let Some((k, _)) = self.open.clone() else {
                    panic!("members without a header");
                };
                if let Some(r) = self.map.get_mut(&k) {
                    match (&mut r.value, batch) {
                        (Value::Hash(h), Value::Hash(b)) => h.extend(b),
                        (Value::Set(s), Value::Set(b)) => s.extend(b),
                        (Value::ZSet(z), Value::ZSet(b)) => z.extend(b),
                        (Value::List(l), Value::List(b)) => l.extend(b),
                        _ => panic!("members of another kind"),
                    }
                    norm(&mut r.value);
                }
            }
        }
    }
    fn apply_entry(&mut self, seq: u64, effects: Vec<Effect>) {
        self.entries.push(seq);
        self.apply(seq, &effects);
    }
}

/// The live keyspace for snapshots: the model behind one lock, split into 3 "shards".
struct Live(Mutex<Model>);

impl SnapshotSource for Live {
    fn shard_count(&self) -> usize {
        3
    }
    fn visit_shard(&self, i: usize, f: &mut dyn FnMut(Option<&Piece>)) {
        let m = self.0.lock();
        if i == 0 && !m.functions.1.is_empty() {
            f(Some(&Piece::Functions {
                version: m.functions.0,
                libraries: m.functions.1.clone(),
            }));
        }
        for r in m.map.values().filter(|r| r.key.len() % 3 == i) {
            crate::keyspace::record_pieces(r, &mut |p| f(Some(p)));
        }
    }
    fn horizon(&self) -> u64 {
        // The tests take snapshots with no concurrent writes: the newest record bounds them.
        let m = self.0.lock();
        m.map
            .values()
            .map(|r| r.version)
            .chain([m.functions.0])
            .max()
            .unwrap_or(0)
    }
}

/// A random hash, set, sorted-set or list write on `key`: a field/member delta (small fields and members, so
/// deltas hit each other), or now and then a whole collection of more than
/// [`crate::keyspace::SNAPSHOT_BATCH`] elements (written to snapshots as a header and batches),
/// some with an expiry far in the future.
fn collection_effect(rng: &mut StdRng, db: u8, key: Bytes) -> Effect {
    let exp = rng
        .random_bool(0.3)
        .then(|| 4_000_000_000_000 + rng.random_range(0..1000));
    let word =
        |rng: &mut StdRng, p: &str, n: u32| Bytes::from(format!("{p}{}", rng.random_range(0..n)));
    let few = rng.random_range(1..5);
    let score = |rng: &mut StdRng| match rng.random_range(0..8) {
        0 => f64::INFINITY,
        1 => f64::NEG_INFINITY,
        2 => -0.0,
        3 => f64::from_bits(rng.random_range(1..1000)),
        4 => f64::from(rng.random_range(-5..5)),
        _ => f64::from(rng.random_range(-1000..1000)) / 7.0,
    };
    let elem = |rng: &mut StdRng| match rng.random_range(0..4) {
        // Binary, empty and repeated elements (LREM hits several).
        0 => Bytes::from(vec![0u8, 0xff, rng.random_range(0..3)]),
        1 => Bytes::new(),
        _ => word(rng, "e", 6),
    };
    let small = |rng: &mut StdRng| rng.random_range(0..6u64);
    match rng.random_range(0..24) {
        16..=17 => Effect::ListPush {
            db,
            key,
            left: rng.random(),
            elements: (0..few).map(|_| elem(rng)).collect(),
            expires_at_ms: exp,
        },
        18 => Effect::ListPop {
            db,
            key,
            left: rng.random(),
            count: small(rng),
            expires_at_ms: exp,
        },
        19 => Effect::ListSet {
            db,
            key,
            index: small(rng),
            element: elem(rng),
            expires_at_ms: exp,
        },
        20 => Effect::ListInsert {
            db,
            key,
            index: small(rng),
            element: elem(rng),
            expires_at_ms: exp,
        },
        21 => Effect::ListRem {
            db,
            key,
            count: rng.random_range(-2..3),
            element: elem(rng),
            expires_at_ms: exp,
        },
        22 => Effect::ListTrim {
            db,
            key,
            front: small(rng) / 2,
            back: small(rng) / 2,
            expires_at_ms: exp,
        },
        23 => {
            // A big list (header and batches in a snapshot), elements in a known order.
            let n = rng.random_range(1000..2600);
            let elements = (0..n).map(|i| Bytes::from(format!("e{}", n - i))).collect();
            Effect::Put {
                db,
                key,
                value: Value::List(elements),
                expires_at_ms: exp,
            }
        }
        12..=13 => Effect::ZAdd {
            db,
            key,
            pairs: {
                let mut p: Vec<(Bytes, f64)> = Vec::new();
                for _ in 0..few {
                    let m = word(rng, "z", 20);
                    if !p.iter().any(|(x, _)| *x == m) {
                        p.push((m, score(rng)));
                    }
                }
                p
            },
            expires_at_ms: exp,
        },
        14 => Effect::ZRem {
            db,
            key,
            members: (0..few).map(|_| word(rng, "z", 20)).collect(),
            expires_at_ms: exp,
        },
        15 => {
            let n = rng.random_range(1000..2600);
            let pairs = (0..n)
                .map(|i| (Bytes::from(format!("z{i}")), score(rng)))
                .collect();
            Effect::Put {
                db,
                key,
                value: Value::ZSet(pairs),
                expires_at_ms: exp,
            }
        }
        0..=2 => Effect::HashSet {
            db,
            key,
            pairs: {
                let mut p: Vec<(Bytes, Bytes)> = Vec::new();
                for _ in 0..few {
                    let f = word(rng, "f", 12);
                    if !p.iter().any(|(x, _)| *x == f) {
                        p.push((f, word(rng, "v", 1000)));
                    }
                }
                p
            },
            expires_at_ms: exp,
        },
        3..=4 => Effect::HashDel {
            db,
            key,
            fields: (0..few).map(|_| word(rng, "f", 12)).collect(),
            expires_at_ms: exp,
        },
        5..=7 => Effect::SetAdd {
            db,
            key,
            members: (0..few).map(|_| word(rng, "m", 30)).collect(),
            expires_at_ms: exp,
        },
        8..=9 => Effect::SetRem {
            db,
            key,
            members: (0..few).map(|_| word(rng, "m", 30)).collect(),
            expires_at_ms: exp,
        },
        10 => {
            let n = rng.random_range(1000..2600);
            let pairs = (0..n)
                .map(|i| {
                    (
                        Bytes::from(format!("f{i}")),
                        Bytes::from(format!("value-{i}")),
                    )
                })
                .collect();
            Effect::Put {
                db,
                key,
                value: Value::Hash(pairs),
                expires_at_ms: exp,
            }
        }
        _ => {
            let n = rng.random_range(1000..2600);
            let members = (0..n).map(|i| Bytes::from(format!("m{i}"))).collect();
            Effect::Put {
                db,
                key,
                value: Value::Set(members),
                expires_at_ms: exp,
            }
        }
    }
}

fn put(key: &str, val: &str) -> Vec<Effect> {
    vec![Effect::Put {
        db: 0,
        key: Bytes::copy_from_slice(key.as_bytes()),
        value: Value::String(Bytes::copy_from_slice(val.as_bytes())),
        expires_at_ms: None,
    }]
}

fn open(fs: &SimFs, c: StorageConfig) -> Result<(Arc<Storage>, u64, Model), StorageError> {
    let mut m = Model::default();
    let (st, last) = Storage::open_with_fs(c, Arc::new(fs.clone()), &mut m)?;
    Ok((st, last, m))
}

fn wait_durable(st: &Storage, seq: u64) -> bool {
    let rx = st.durable();
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(10) {
        let d = *rx.borrow();
        if d.seq >= seq {
            return true;
        }
        if d.poisoned {
            return false;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    false
}

/// Submits `effects` for seqs `from..` in a shuffled-within-windows order; applies to `live`.
fn submit_all(
    st: &Storage,
    live: &Live,
    from: u64,
    batch: Vec<Vec<Effect>>,
    rng: &mut StdRng,
) -> u64 {
    let mut items: Vec<(u64, Vec<Effect>)> = batch
        .into_iter()
        .enumerate()
        .map(|(i, e)| (from + i as u64, e))
        .collect();
    {
        let mut m = live.0.lock();
        for (s, e) in &items {
            m.apply(*s, e);
        }
    }
    for w in items.chunks_mut(5) {
        w.shuffle(rng);
    }
    let last = from + items.len() as u64 - 1;
    for (s, e) in items {
        st.submit(s, e);
    }
    last
}

fn all_files(fs: &SimFs) -> Vec<(PathBuf, Vec<u8>)> {
    fs.files()
        .into_iter()
        .filter_map(|p| fs.contents(&p).map(|c| (p, c)))
        .collect()
}

#[test]
fn out_of_order_submits_are_replayed_in_order_after_reopen() {
    let fs = SimFs::new();
    let mut rng = StdRng::seed_from_u64(1);
    let live = Live(Mutex::new(Model::default()));
    let (st, last, _) = open(&fs, cfg()).unwrap();
    assert_eq!(last, 0);
    let effects: Vec<_> = (0..60)
        .map(|i| put(&format!("k{i}"), &format!("v{i}")))
        .collect();
    let last = submit_all(&st, &live, 1, effects, &mut rng);
    assert!(wait_durable(&st, last));
    st.shutdown().unwrap();
    drop(st);
    for _ in 0..2 {
        let (st, l, m) = open(&fs, cfg()).unwrap();
        assert_eq!(l, 60);
        assert_eq!(m.entries, (1..=60).collect::<Vec<_>>());
        assert_eq!(m.map, live.0.lock().map);
        st.shutdown().unwrap();
    }
}

#[test]
fn snapshot_then_reopen_replays_only_later_entries() {
    let fs = SimFs::new();
    let mut rng = StdRng::seed_from_u64(2);
    let live = Live(Mutex::new(Model::default()));
    let (st, _, _) = open(&fs, cfg()).unwrap();
    let l = submit_all(
        &st,
        &live,
        1,
        (0..30)
            .map(|i| put(&format!("k{}", i % 7), &format!("v{i}")))
            .collect(),
        &mut rng,
    );
    assert!(wait_durable(&st, l));
    let info = st.snapshot(&live).unwrap();
    assert_eq!(info.seq, 30);
    assert!(info.written);
    let l = submit_all(
        &st,
        &live,
        31,
        (0..10).map(|i| put(&format!("x{i}"), "y")).collect(),
        &mut rng,
    );
    assert!(wait_durable(&st, l));
    assert_eq!(st.info().last_snapshot_seq, 30);
    st.shutdown().unwrap();
    drop(st);
    for _ in 0..2 {
        let (st, last, m) = open(&fs, cfg()).unwrap();
        assert_eq!(last, 40);
        assert_eq!(m.entries, (31..=40).collect::<Vec<_>>());
        assert_eq!(m.map, live.0.lock().map);
        // A snapshot with nothing new is a no-op.
        st.shutdown().unwrap();
    }
}

#[test]
fn no_plaintext_key_or_value_reaches_any_file() {
    let fs = SimFs::new();
    let mut rng = StdRng::seed_from_u64(3);
    let live = Live(Mutex::new(Model::default()));
    let (st, _, _) = open(&fs, cfg()).unwrap();
    let l = submit_all(
        &st,
        &live,
        1,
        vec![put("ZEBRA-SECRET-KEY", "PLAINTEXT-VALUE-XYZ"); 20],
        &mut rng,
    );
    assert!(wait_durable(&st, l));
    st.snapshot(&live).unwrap();
    let l = submit_all(
        &st,
        &live,
        l + 1,
        vec![put("ZEBRA-SECRET-KEY", "PLAINTEXT-VALUE-XYZ")],
        &mut rng,
    );
    assert!(wait_durable(&st, l));
    st.shutdown().unwrap();
    for (p, c) in all_files(&fs) {
        for needle in [&b"ZEBRA-SECRET"[..], b"PLAINTEXT-VALUE", HEX.as_bytes()] {
            assert!(
                !c.windows(needle.len()).any(|w| w == needle),
                "plaintext in {}",
                p.display()
            );
        }
    }
}

/// A data dir with sealed segments, a snapshot, and an active segment of several frames.
fn populated() -> (SimFs, Live) {
    let fs = SimFs::new();
    let mut rng = StdRng::seed_from_u64(4);
    let live = Live(Mutex::new(Model::default()));
    let (st, _, _) = open(&fs, cfg()).unwrap();
    let l = submit_all(
        &st,
        &live,
        1,
        (0..40)
            .map(|i| put(&format!("k{i}"), "vvvvvvvvvvvvvvvvvvvvvvvv"))
            .collect(),
        &mut rng,
    );
    assert!(wait_durable(&st, l));
    st.snapshot(&live).unwrap();
    let mut s = l;
    for i in 0..30 {
        s = submit_all(
            &st,
            &live,
            s + 1,
            vec![put(&format!("a{i}"), "b")],
            &mut rng,
        );
        assert!(wait_durable(&st, s));
    }
    st.shutdown().unwrap();
    (fs.crash_image(None), live)
}

fn find(fs: &SimFs, pred: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    fs.files()
        .into_iter()
        .filter(|p| {
            p.strip_prefix("/data")
                .ok()
                .and_then(Path::to_str)
                .is_some_and(&pred)
        })
        .collect()
}

fn flips_fail(fs: &SimFs, path: &Path, positions: impl Iterator<Item = usize>) {
    let orig = fs.contents(path).unwrap();
    let rel = path
        .strip_prefix("/data")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let mut tried = 0;
    for pos in positions {
        if pos >= orig.len() {
            continue;
        }
        let img = fs.crash_image(None);
        let mut c = orig.clone();
        c[pos] ^= 0x5a;
        img.set_contents(path, c);
        match open(&img, cfg()) {
            Ok(_) => panic!("flip at offset {pos} of {rel} was accepted"),
            Err(e) => assert!(
                e.to_string().contains(&rel),
                "error for {rel} at {pos} does not name it: {e}"
            ),
        }
        tried += 1;
    }
    assert!(tried > 0);
}

fn sample(len: usize, n: usize) -> impl Iterator<Item = usize> {
    let step = (len / n).max(1);
    (0..64)
        .chain((0..len).step_by(step))
        .chain(len.saturating_sub(64)..len)
}

#[test]
fn any_flipped_byte_in_sealed_segment_snapshot_manifest_or_keyring_fails_open_naming_the_file() {
    let (fs, _) = populated();
    let sealed = find(&fs, |n| n.starts_with("wal/") && !n.contains("active"));
    assert!(!sealed.is_empty(), "{sealed:?}");
    for p in &sealed {
        let len = fs.contents(p).unwrap().len();
        flips_fail(&fs, p, sample(len, 120));
    }
    let snap = find(&fs, |n| n.ends_with(".snap"));
    let len = fs.contents(&snap[0]).unwrap().len();
    flips_fail(&fs, &snap[0], sample(len, 120));
    for name in ["manifest", "keyring"] {
        let p = Path::new("/data").join(name);
        let len = fs.contents(&p).unwrap().len();
        flips_fail(&fs, &p, 0..len);
    }
}

#[test]
fn any_flipped_byte_in_a_complete_active_frame_fails_open() {
    let (fs, _) = populated();
    let active = find(&fs, |n| n.contains("active-"));
    let len = fs.contents(&active[0]).unwrap().len();
    flips_fail(&fs, &active[0], sample(len, 150));
}

#[test]
fn torn_tail_of_active_segment_is_cut_on_start_and_counted() {
    let (fs, live) = populated();
    let active = find(&fs, |n| n.contains("active-"))[0].clone();
    let mut c = fs.contents(&active).unwrap();
    c.truncate(c.len() - 10);
    fs.set_contents(&active, c.clone());
    let mut fail = cfg();
    fail.truncated_tail = TailPolicy::Fail;
    let e = open(&fs, fail).err().unwrap();
    assert!(matches!(e, StorageError::TornTail { .. }), "{e}");
    let (st, last, m) = open(&fs, cfg()).unwrap();
    assert_eq!(last, 69, "the torn final entry is gone");
    assert_eq!(st.info().truncated_tails, 1);
    let mut oracle = live.0.lock().clone();
    oracle.map.retain(|_, r| r.version <= 69);
    assert_eq!(m.map, oracle.map);
    // The repaired dir takes new writes and reopens cleanly.
    st.submit(70, put("new", "x"));
    assert!(wait_durable(&st, 70));
    st.shutdown().unwrap();
    drop(st);
    let (st, last, _) = open(&fs, cfg()).unwrap();
    assert_eq!(last, 70);
    assert_eq!(st.info().truncated_tails, 0);
}

#[test]
fn wrong_master_key_fails_closed() {
    let (fs, _) = populated();
    let mut c = cfg();
    c.master_key = MasterKeySource::Hex("ff".repeat(32));
    let e = open(&fs, c).err().unwrap();
    assert!(matches!(e, StorageError::WrongMasterKey { .. }), "{e}");
    assert!(e.to_string().contains("keyring"));
}

#[test]
fn key_rotation_end_to_end_retires_the_old_key_when_no_file_needs_it() {
    let fs = SimFs::new();
    let mut rng = StdRng::seed_from_u64(5);
    let live = Live(Mutex::new(Model::default()));
    let (st, _, _) = open(&fs, cfg()).unwrap();
    let mut s = submit_all(
        &st,
        &live,
        1,
        (0..20).map(|i| put(&format!("k{i}"), "v")).collect(),
        &mut rng,
    );
    assert!(wait_durable(&st, s));
    let i1 = st.snapshot(&live).unwrap();
    assert_eq!(i1.key_id, KeyId(1));
    st.request_key_rotation();
    s = submit_all(
        &st,
        &live,
        s + 1,
        (0..20).map(|i| put(&format!("m{i}"), "v")).collect(),
        &mut rng,
    );
    assert!(wait_durable(&st, s));
    let i2 = st.snapshot(&live).unwrap();
    assert_eq!(i2.key_id, KeyId(2));
    let status = st.keyring_status();
    assert_eq!(status.len(), 2);
    let k1 = status.iter().find(|k| k.id == KeyId(1)).unwrap();
    assert!(!k1.active && !k1.needed_by.is_empty(), "{status:?}");
    s = submit_all(
        &st,
        &live,
        s + 1,
        (0..5).map(|i| put(&format!("n{i}"), "v")).collect(),
        &mut rng,
    );
    assert!(wait_durable(&st, s));
    st.shutdown().unwrap();
    drop(st);
    // Old files under key 1 are still readable.
    let (st, last, m) = open(&fs, cfg()).unwrap();
    assert_eq!(last, s);
    assert_eq!(m.map, live.0.lock().map);
    // One more snapshot: the key-1 snapshot and segments fall out of retention, key 1 retires.
    s = submit_all(
        &st,
        &live,
        s + 1,
        (0..5).map(|i| put(&format!("p{i}"), "v")).collect(),
        &mut rng,
    );
    assert!(wait_durable(&st, s));
    st.snapshot(&live).unwrap();
    let status = st.keyring_status();
    assert_eq!(
        status.iter().map(|k| k.id).collect::<Vec<_>>(),
        vec![KeyId(2)],
        "{status:?}"
    );
    assert_eq!(st.info().key_count, 1);
    st.shutdown().unwrap();
    drop(st);
    let (_, last, m) = open(&fs, cfg()).unwrap();
    assert_eq!(last, s);
    assert_eq!(m.map, live.0.lock().map);
}

#[test]
fn failed_fsync_poisons_for_good_and_durable_never_advances() {
    let fs = SimFs::new();
    let (st, _, _) = open(&fs, cfg()).unwrap();
    for i in 1..=5 {
        st.submit(i, put("k", "v"));
    }
    assert!(wait_durable(&st, 5));
    fs.fail_sync_in(1);
    st.submit(6, put("k", "v6"));
    assert!(!wait_durable(&st, 6));
    assert!(st.is_poisoned());
    assert_eq!(
        *st.durable().borrow(),
        Durable {
            seq: 5,
            poisoned: true
        }
    );
    st.submit(7, put("k", "v7"));
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(st.durable().borrow().seq, 5);
    assert!(st.info().poisoned);
    assert!(matches!(st.shutdown(), Err(StorageError::Poisoned)));
    let img = fs.crash_image(None);
    let (_, last, m) = open(&img, cfg()).unwrap();
    assert_eq!(last, 5);
    assert_eq!(m.entries, vec![1, 2, 3, 4, 5]);
}

#[test]
fn failed_write_poisons() {
    let fs = SimFs::new();
    let (st, _, _) = open(&fs, cfg()).unwrap();
    st.submit(1, put("k", "v"));
    assert!(wait_durable(&st, 1));
    fs.fail_write_in(1);
    st.submit(2, put("k", "v"));
    assert!(!wait_durable(&st, 2));
    assert!(st.is_poisoned());
    assert!(st.snapshot(&Live(Mutex::new(Model::default()))).is_err());
}

#[test]
fn power_cut_at_random_points_keeps_every_durable_entry_and_nothing_unwritten() {
    for round in 0..40u64 {
        let mut rng = StdRng::seed_from_u64(100 + round);
        let fs = SimFs::new();
        let live = Live(Mutex::new(Model::default()));
        let mut oracle_log: Vec<Vec<Effect>> = Vec::new();
        let mut durable_max = 0;
        let mut next = 1u64;
        // A first life that ends cleanly gives the crash something to recover from.
        {
            let (st, _, _) = open(&fs, cfg()).unwrap();
            fs.freeze_after(rng.random_range(0..400));
            'work: for _ in 0..40 {
                let n = rng.random_range(1..8);
                let eff: Vec<_> = (0..n)
                    .map(|_| {
                        let k = format!("k{}", rng.random_range(0..12));
                        if rng.random_bool(0.15) {
                            // A script's (or FCALL's, or FUNCTION LOAD's) entry: several
                            // effects that must come back all together or not at all.
                            let mut e: Vec<Effect> = (0..rng.random_range(2..6))
                                .flat_map(|i| {
                                    let k = Bytes::from(format!(
                                        "s{}",
                                        (i * 7 + rng.random_range(0..5)) % 12
                                    ));
                                    if rng.random_bool(0.5) {
                                        vec![collection_effect(&mut rng, 0, k)]
                                    } else {
                                        put(
                                            &String::from_utf8_lossy(&k),
                                            &format!("v{}", rng.random::<u32>()),
                                        )
                                    }
                                })
                                .collect();
                            if rng.random_bool(0.4) {
                                let libs = (0..rng.random_range(0..3))
                                    .map(|l| {
                                        Bytes::from(format!(
                                            "#!lua name=l{l}\n-- {}",
                                            rng.random::<u32>()
                                        ))
                                    })
                                    .collect();
                                e.insert(
                                    rng.random_range(0..=e.len()),
                                    Effect::Functions { libraries: libs },
                                );
                            }
                            e
                        } else if rng.random_bool(0.2) {
                            vec![Effect::Del {
                                db: 0,
                                key: Bytes::from(k),
                            }]
                        } else if rng.random_bool(0.3) {
                            vec![collection_effect(&mut rng, 0, Bytes::from(k))]
                        } else {
                            put(&k, &format!("v{}", rng.random::<u32>()))
                        }
                    })
                    .collect();
                oracle_log.extend(eff.iter().cloned());
                next = submit_all(&st, &live, next, eff, &mut rng) + 1;
                if rng.random_bool(0.5) && !wait_durable(&st, next - 1) {
                    break 'work;
                }
                durable_max = durable_max.max(st.durable().borrow().seq);
                if rng.random_bool(0.15) && st.snapshot(&live).is_err() {
                    break 'work;
                }
                if fs.is_frozen() {
                    break 'work;
                }
            }
            durable_max = durable_max.max(st.durable().borrow().seq);
            let _ = st.shutdown();
            durable_max = durable_max.max(st.durable().borrow().seq);
        }
        let img = fs.crash_image(Some(round));
        let (st, last, m) = open(&img, cfg()).unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert!(
            last >= durable_max,
            "round {round}: lost durable entries: {last} < {durable_max}"
        );
        assert!(
            last < next,
            "round {round}: recovered {last} but only {} were submitted",
            next - 1
        );
        let mut oracle = Model::default();
        for (i, e) in oracle_log.iter().enumerate().take(last as usize) {
            oracle.apply(i as u64 + 1, e);
        }
        assert_eq!(m.map, oracle.map, "round {round}");
        assert_eq!(
            m.functions.1, oracle.functions.1,
            "round {round}: function libraries"
        );
        let w = m.entries.windows(2).all(|w| w[1] == w[0] + 1);
        assert!(w, "round {round}: entries out of order");
        st.shutdown().unwrap();
    }
}

#[test]
fn model_random_ops_snapshots_and_restarts_match_btreemap_oracle() {
    let mut rng = StdRng::seed_from_u64(7);
    let fs = SimFs::new();
    let live = Live(Mutex::new(Model::default()));
    let mut c = cfg();
    c.snapshot_retain = 1;
    let (mut st, _, _) = open(&fs, c.clone()).unwrap();
    let mut next = 1u64;
    for step in 0..60 {
        let n = rng.random_range(1..10);
        let eff: Vec<Vec<Effect>> = (0..n)
            .map(|_| {
                let db = rng.random_range(0..2u8);
                let key = Bytes::from(format!("k{}", rng.random_range(0..20)));
                match rng.random_range(0..24) {
                    0 => vec![Effect::FlushDb { db }],
                    1 => vec![Effect::FlushAll],
                    2..=4 => vec![Effect::Del { db, key }],
                    5..=6 => vec![Effect::SetExpiry {
                        db,
                        key,
                        expires_at_ms: Some(rng.random()),
                    }],
                    7..=12 => vec![collection_effect(&mut rng, db, key)],
                    _ => vec![
                        Effect::Put {
                            db,
                            key: key.clone(),
                            value: Value::String(Bytes::from(vec![b'x'; rng.random_range(0..300)])),
                            expires_at_ms: None,
                        },
                        Effect::Put {
                            db,
                            key: Bytes::from(format!("{}-b", step)),
                            value: Value::String(Bytes::from_static(b"y")),
                            expires_at_ms: None,
                        },
                    ],
                }
            })
            .collect();
        next = submit_all(&st, &live, next, eff, &mut rng) + 1;
        assert!(wait_durable(&st, next - 1));
        match rng.random_range(0..10) {
            0..=1 => {
                let i = st.snapshot(&live).unwrap();
                assert_eq!(i.seq, next - 1);
            }
            2 => {
                st.shutdown().unwrap();
                drop(st);
                let (s2, last, m) = open(&fs, c.clone()).unwrap();
                assert_eq!(last, next - 1);
                assert_eq!(m.map, live.0.lock().map, "after restart at step {step}");
                st = s2;
            }
            _ => {}
        }
    }
    st.shutdown().unwrap();
}

#[test]
fn sync_policy_parses_and_displays() {
    for s in ["always", "everysec", "no"] {
        assert_eq!(s.parse::<SyncPolicy>().unwrap().to_string(), s);
    }
    assert!("sometimes".parse::<SyncPolicy>().is_err());
}

#[test]
fn everysec_publishes_durable_within_about_a_second() {
    let fs = SimFs::new();
    let mut c = cfg();
    c.sync = SyncPolicy::EverySec;
    let (st, _, _) = open(&fs, c).unwrap();
    st.submit(1, put("k", "v"));
    assert!(wait_durable(&st, 1));
    assert_eq!(st.written_seq(), 1);
    st.set_sync_policy(SyncPolicy::No);
    st.submit(2, put("k", "v"));
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(st.written_seq(), 2);
    st.shutdown().unwrap();
    assert_eq!(st.durable().borrow().seq, 2);
}

#[test]
fn real_fs_round_trip_with_embedded_master_key() {
    let dir = tempfile::tempdir().unwrap();
    let c = StorageConfig::new(dir.path().join("d"));
    let mut m = Model::default();
    let (st, _) = Storage::open(c.clone(), &mut m).unwrap();
    st.submit(1, put("k", "v"));
    assert!(wait_durable(&st, 1));
    st.shutdown().unwrap();
    drop(st);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("d/master.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let mut m = Model::default();
    let (_, last) = Storage::open(c, &mut m).unwrap();
    assert_eq!(last, 1);
    assert_eq!(m.entries, vec![1]);
}

#[test]
fn snapshot_after_shutdown_errors_instead_of_hanging() {
    let fs = SimFs::new();
    let (st, _, _) = open(&fs, cfg()).unwrap();
    st.submit(1, put("k", "v"));
    st.shutdown().unwrap();
    assert_eq!(st.durable().borrow().seq, 1);
    let live = Live(Mutex::new(Model::default()));
    assert!(matches!(st.snapshot(&live), Err(StorageError::ShutDown)));
}

fn rec(db: u8, key: &str, val: &str, version: u64) -> Record {
    Record {
        db,
        key: Bytes::copy_from_slice(key.as_bytes()),
        value: Value::String(Bytes::copy_from_slice(val.as_bytes())),
        version,
        expires_at_ms: None,
    }
}

fn as_map(recs: &[Record]) -> BTreeMap<(u8, Bytes), Record> {
    recs.iter()
        .map(|r| ((r.db, r.key.clone()), r.clone()))
        .collect()
}

#[test]
fn restore_baseline_jumps_the_sequence_and_survives_reopen() {
    let fs = SimFs::new();
    let mut rng = StdRng::seed_from_u64(11);
    let live = Live(Mutex::new(Model::default()));
    let (st, _, _) = open(&fs, cfg()).unwrap();
    let l = submit_all(
        &st,
        &live,
        1,
        (0..40).map(|i| put(&format!("k{i}"), "old")).collect(),
        &mut rng,
    );
    assert!(wait_durable(&st, l));
    st.snapshot(&live).unwrap();
    let l = submit_all(
        &st,
        &live,
        41,
        (0..5).map(|i| put(&format!("j{i}"), "old")).collect(),
        &mut rng,
    );
    assert!(wait_durable(&st, l));
    // Restored versions far ahead of the clock: the baseline sits past them.
    let restored = vec![
        rec(0, "a", "1", 500),
        rec(3, "b", "2", 900),
        rec(0, "c", "3", 7),
    ];
    let info = st
        .begin_restore()
        .commit(901, &[], &mut restored.iter())
        .unwrap();
    assert_eq!(info.seq, 901);
    assert_eq!(info.records, 3);
    assert_eq!(st.durable().borrow().seq, 901);
    // The WAL continues densely after the baseline.
    let live2 = Live(Mutex::new(Model {
        map: as_map(&restored),
        entries: vec![],
        open: None,
        functions: (0, vec![]),
    }));
    let l = submit_all(
        &st,
        &live2,
        902,
        (0..6).map(|i| put(&format!("n{i}"), "new")).collect(),
        &mut rng,
    );
    assert!(wait_durable(&st, l));
    st.shutdown().unwrap();
    drop(st);
    for _ in 0..2 {
        let (st, last, m) = open(&fs, cfg()).unwrap();
        assert_eq!(last, 907);
        assert_eq!(m.entries, (902..=907).collect::<Vec<_>>());
        assert_eq!(m.map, live2.0.lock().map);
        st.shutdown().unwrap();
    }
    // A later snapshot prunes the pre-restore history normally.
    let (st, _, _) = open(&fs, cfg()).unwrap();
    let l = submit_all(&st, &live2, 908, vec![put("z", "z")], &mut rng);
    assert!(wait_durable(&st, l));
    assert_eq!(st.snapshot(&live2).unwrap().seq, 908);
    st.shutdown().unwrap();
    drop(st);
    let (_, last, m) = open(&fs, cfg()).unwrap();
    assert_eq!(last, 908);
    assert_eq!(m.map, live2.0.lock().map);
}

#[test]
fn restore_baseline_not_past_the_wal_is_refused_and_changes_nothing() {
    let fs = SimFs::new();
    let mut rng = StdRng::seed_from_u64(12);
    let live = Live(Mutex::new(Model::default()));
    let (st, _, _) = open(&fs, cfg()).unwrap();
    let l = submit_all(
        &st,
        &live,
        1,
        (0..10).map(|i| put(&format!("k{i}"), "v")).collect(),
        &mut rng,
    );
    assert!(wait_durable(&st, l));
    let restored = [rec(0, "a", "1", 3)];
    let e = st
        .begin_restore()
        .commit(10, &[], &mut restored.iter())
        .unwrap_err();
    assert!(!e.committed);
    assert!(!st.is_poisoned());
    let l = submit_all(&st, &live, 11, vec![put("x", "y")], &mut rng);
    assert!(wait_durable(&st, l));
    st.shutdown().unwrap();
    drop(st);
    let (_, last, m) = open(&fs, cfg()).unwrap();
    assert_eq!(last, 11);
    assert_eq!(m.map, live.0.lock().map);
}

#[test]
fn power_cut_during_a_restore_leaves_the_old_or_the_new_state() {
    let mut saw_old = 0;
    let mut saw_new = 0;
    for n in 0..60u64 {
        let mut rng = StdRng::seed_from_u64(300 + n);
        let fs = SimFs::new();
        let live = Live(Mutex::new(Model::default()));
        let (st, _, _) = open(&fs, cfg()).unwrap();
        let l = submit_all(
            &st,
            &live,
            1,
            (0..20).map(|i| put(&format!("k{i}"), "old")).collect(),
            &mut rng,
        );
        assert!(wait_durable(&st, l));
        if n % 2 == 0 {
            st.snapshot(&live).unwrap();
        }
        let restored: Vec<Record> = (0..50)
            .map(|i| rec((i % 4) as u8, &format!("r{i}"), "new", 100 + i))
            .collect();
        fs.freeze_after(n);
        let ok = st
            .begin_restore()
            .commit(200, &[], &mut restored.iter())
            .is_ok();
        let _ = st.shutdown();
        drop(st);
        let img = fs.crash_image(Some(n));
        let (st, last, m) = open(&img, cfg()).unwrap_or_else(|e| panic!("cut after {n}: {e}"));
        if m.map == as_map(&restored) {
            assert_eq!(last, 200, "cut after {n}");
            saw_new += 1;
        } else {
            assert!(!ok, "cut after {n}: an acknowledged restore was lost");
            assert_eq!(m.map, live.0.lock().map, "cut after {n}: neither state");
            assert_eq!(last, 20);
            saw_old += 1;
        }
        // Whatever survived, the WAL takes new entries after it and recovers them.
        let mut model = m.clone();
        let l = submit_all(
            &st,
            &Live(Mutex::new(Model::default())),
            last + 1,
            vec![put("after", "x")],
            &mut rng,
        );
        model.apply(l, &put("after", "x"));
        assert!(wait_durable(&st, l), "cut after {n}");
        st.shutdown().unwrap();
        drop(st);
        let (_, last2, m2) = open(&img, cfg()).unwrap();
        assert_eq!(last2, l);
        assert_eq!(m2.map, model.map, "cut after {n}");
    }
    assert!(saw_old > 0 && saw_new > 0, "old {saw_old} new {saw_new}");
}

#[test]
fn missing_master_key_in_a_populated_dir_is_refused_and_no_key_is_written() {
    let fs = SimFs::new();
    let mut c = cfg();
    c.master_key = MasterKeySource::Embedded;
    let (st, _, _) = open(&fs, c.clone()).unwrap();
    st.submit(1, put("k", "v"));
    assert!(wait_durable(&st, 1));
    st.shutdown().unwrap();
    drop(st);
    let key = Path::new("/data").join(MASTER_KEY_FILE);
    assert!(fs.contents(&key).is_some(), "a brand-new dir gets a key");
    fs.remove(&key).unwrap();
    let before = fs.files();
    let e = open(&fs, c.clone()).err().expect("refused");
    let msg = e.to_string();
    assert!(msg.contains("master key is missing"), "{msg}");
    assert!(msg.contains("/data/master.key"), "{msg}");
    assert!(msg.contains("keyring"), "{msg}");
    assert_eq!(fs.files(), before, "no file is written");
    // Even without the keyring, a WAL alone makes the dir populated.
    fs.remove(&Path::new("/data").join(keyring::KEYRING_FILE))
        .unwrap();
    let e = open(&fs, c).err().expect("refused");
    assert!(e.to_string().contains("wal/"), "{e}");
    assert!(fs.contents(&key).is_none());
}

/// Files under `dir` in the simulated file system.
fn names_in(fs: &SimFs, dir: &str) -> Vec<String> {
    fs.files()
        .into_iter()
        .filter(|p| p.parent() == Some(Path::new(dir)))
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect()
}

/// Writes sequences 1..=60 in three rounds of 20, each round made durable and then snapshotted
/// (snapshots 20, 40 and 60).
fn three_rounds_of_twenty_writes_each_then_a_snapshot(st: &Storage) {
    let live = Live(Mutex::new(Model::default()));
    for round in 0..3u64 {
        for i in 1..=20 {
            let seq = round * 20 + i;
            let e = put(&format!("k{seq}"), "v");
            live.0.lock().apply(seq, &e);
            st.submit(seq, e);
        }
        assert!(wait_durable(st, round * 20 + 20));
        st.snapshot(&live).unwrap();
    }
}

#[test]
fn pitr_retention_keeps_the_wal_back_to_sequence_one_while_it_is_young() {
    let fs = SimFs::new();
    let mut c = cfg();
    c.pitr_retention_secs = 3600;
    let (st, _, _) = open(&fs, c.clone()).unwrap();
    three_rounds_of_twenty_writes_each_then_a_snapshot(&st);
    // Recovery alone would keep snapshots 40 and 60 and the WAL after 40.
    let wal = names_in(&fs, "/data/wal");
    assert!(wal.iter().any(|n| n.starts_with("1-")), "{wal:?}");
    let snaps = names_in(&fs, "/data/snapshots");
    assert_eq!(snaps.len(), 3, "{snaps:?}");
    let info = st.info();
    assert_eq!(info.pitr_window_start_seq, 0);
    assert!(info.pitr_retained_bytes > 0);
    st.shutdown().unwrap();
    drop(st);
    // After a restart (segment times now come from the frames) the window is the same.
    let (st, last, _) = open(&fs, c).unwrap();
    assert_eq!(last, 60);
    assert_eq!(st.info().pitr_window_start_seq, 0);
}

#[test]
fn pitr_retention_bytes_shrinks_the_window_to_the_budget() {
    let fs = SimFs::new();
    let mut c = cfg();
    c.pitr_retention_secs = 3600;
    c.pitr_retention_bytes = 1;
    let (st, _, _) = open(&fs, c).unwrap();
    three_rounds_of_twenty_writes_each_then_a_snapshot(&st);
    // The budget cannot be met: the window shrinks to what recovery needs (snapshot-retain 2).
    assert_eq!(st.info().pitr_window_start_seq, 40);
    let wal = names_in(&fs, "/data/wal");
    assert!(!wal.iter().any(|n| n.starts_with("1-")), "{wal:?}");
    let mut snaps = names_in(&fs, "/data/snapshots");
    snaps.sort();
    assert_eq!(snaps, vec!["40.snap", "60.snap"]);
}

#[test]
fn million_member_set_round_trips_through_a_snapshot_in_bounded_chunks() {
    use super::codec::encode_piece;
    use super::snapshot::{read_snapshot_chunks, SnapshotWriter, CHUNK_PLAINTEXT_CAP};
    use crate::keyspace::{Keyspace, SHARDS, SNAPSHOT_BATCH};
    const N: usize = 1_000_000;
    const EXP: u64 = 4_000_000_000_000;
    let ks = Keyspace::new(16);
    {
        let members: Vec<Bytes> = (0..N).map(|i| Bytes::from(format!("member:{i}"))).collect();
        let mut l = ks.lock_all();
        assert_eq!(l.set_add(3, b"big", &members, 0).unwrap(), N);
        assert!(l.set_expiry(3, b"big", EXP, 0));
        l.put(0, b"small", Value::String(Bytes::from_static(b"v")), 0);
    }
    let keys = super::keyring::Keyring::new(0);
    let (id, e) = keys.active().unwrap();
    let fs: Arc<dyn FileSystem> = Arc::new(SimFs::new());
    let dir = Path::new("/s");
    fs.create_dir_all(dir).unwrap();
    let mut w = SnapshotWriter::create(fs.clone(), dir, 10, id, e.key.clone()).unwrap();
    let mut largest_piece = 0;
    let mut scratch = Vec::new();
    for i in 0..SHARDS {
        ks.visit_shard(i, 0, &mut |p| {
            scratch.clear();
            encode_piece(p, &mut scratch).unwrap();
            largest_piece = largest_piece.max(scratch.len());
            w.add_piece(p).unwrap();
        });
        w.flush_ready().unwrap();
    }
    let info = w.finish(Some(10)).unwrap();
    assert_eq!(info.keys, 2);
    assert_eq!(info.records, 2 + N.div_ceil(SNAPSHOT_BATCH) as u64);
    assert!(
        largest_piece < 64 * 1024,
        "a piece of {largest_piece} bytes"
    );

    let loaded = Keyspace::new(16);
    let mut loader = loaded.loader(0);
    let mut chunks = 0;
    read_snapshot_chunks(&*fs, dir, 10, &keys, &mut |chunk| {
        chunks += 1;
        let mut bytes = 5;
        for p in chunk {
            scratch.clear();
            encode_piece(&p, &mut scratch).unwrap();
            bytes += scratch.len();
            loader.piece(p);
        }
        assert!(bytes <= CHUNK_PLAINTEXT_CAP, "a chunk of {bytes} bytes");
    })
    .unwrap();
    loader.finish();
    assert!(chunks > 10, "{chunks} chunks");
    let mut want = ks.lock_all().records(0);
    let mut got = loaded.lock_all().records(0);
    for recs in [&mut want, &mut got] {
        recs.sort_by(|a, b| a.key.cmp(&b.key));
        for r in recs.iter_mut() {
            norm(&mut r.value);
        }
    }
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].value.len(), N);
    assert_eq!(got[0].expires_at_ms, Some(EXP));
    assert!(got == want, "the loaded keyspace differs");
}

#[test]
fn model_keeps_collections_across_restarts_with_and_without_snapshots() {
    // A short deterministic life: deltas and whole collections, a snapshot in the middle (big
    // collections become header + batches), more deltas after it, then two restarts.
    let mut rng = StdRng::seed_from_u64(11);
    let fs = SimFs::new();
    let live = Live(Mutex::new(Model::default()));
    let (st, _, _) = open(&fs, cfg()).unwrap();
    let mut next = 1;
    for round in 0..4 {
        let eff: Vec<Vec<Effect>> = (0..40)
            .map(|_| {
                let key = Bytes::from(format!("c{}", rng.random_range(0..6)));
                vec![collection_effect(&mut rng, 0, key)]
            })
            .collect();
        next = submit_all(&st, &live, next, eff, &mut rng) + 1;
        assert!(wait_durable(&st, next - 1));
        if round == 1 {
            st.snapshot(&live).unwrap();
        }
    }
    st.shutdown().unwrap();
    drop(st);
    let want = live.0.lock().map.clone();
    assert!(
        want.values()
            .any(|r| r.value.len() > crate::keyspace::SNAPSHOT_BATCH),
        "the life should hold a big collection"
    );
    for _ in 0..2 {
        let (st, last, m) = open(&fs, cfg()).unwrap();
        assert_eq!(last, next - 1);
        assert_eq!(m.map, want);
        st.shutdown().unwrap();
    }
}

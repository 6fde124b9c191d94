//! On-disk compatibility: data dirs written by earlier builds (committed under
//! `tests/fixtures/datadir`) open with this build and read back exactly, and stay so across a
//! kill -9 and restart. A new fixture joins here at every change of the on-disk format.

mod common;

use base64::Engine as _;
use common::Server;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// (db, key) -> (value or its "len:sha256", version, pexpiretime)
type Contents = BTreeMap<(i64, Vec<u8>), (String, i64, i64)>;

fn b64(s: &Json) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(s.as_str().expect("base64 string"))
        .expect("valid base64")
}

/// What a value is compared by: itself (as base64) when small, its length and SHA-256 when large.
fn shown(v: &[u8]) -> String {
    if v.len() > 1024 {
        let digest: String = Sha256::digest(v)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("{}:{digest}", v.len())
    } else {
        base64::engine::general_purpose::STANDARD.encode(v)
    }
}

fn expected(name: &str) -> (Contents, u64) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/datadir")
        .join(format!("{name}.expected.json"));
    let doc: Json = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out = Contents::new();
    for k in doc["keys"].as_array().unwrap() {
        let value = match k.get("value") {
            Some(v) => shown(&b64(v)),
            None => format!(
                "{}:{}",
                k["value_len"].as_u64().unwrap(),
                k["value_sha256"].as_str().unwrap()
            ),
        };
        out.insert(
            (k["db"].as_i64().unwrap(), b64(&k["key"])),
            (
                value,
                k["version"].as_i64().unwrap(),
                k["pexpiretime"].as_i64().unwrap(),
            ),
        );
    }
    (out, doc["wal_last_seq"].as_u64().unwrap())
}

/// Every key of every database, as the running server reports it.
fn contents(srv: &Server) -> Contents {
    let mut c = srv.client();
    let mut out = Contents::new();
    for db in 0..16i64 {
        redis::cmd("SELECT").arg(db).query::<()>(&mut c).unwrap();
        let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(&mut c).unwrap();
        for key in keys {
            let value: Vec<u8> = redis::cmd("GET").arg(&key).query(&mut c).unwrap();
            let version: i64 = redis::cmd("VERSION").arg(&key).query(&mut c).unwrap();
            let pexp: i64 = redis::cmd("PEXPIRETIME").arg(&key).query(&mut c).unwrap();
            out.insert((db, key), (shown(&value), version, pexp));
        }
    }
    out
}

fn wal_last_seq(srv: &Server) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("persistence")
        .query(&mut srv.client())
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("wal_last_seq:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("wal_last_seq in INFO persistence")
}

#[test]
fn string_only_format_3_data_dir_passes_storage_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::fixture_dir(tmp.path(), "strings-v3");
    common::assert_storage_verifies(&dir);
}

#[test]
fn string_only_format_3_data_dir_opens_and_reads_back_exactly_across_kill_9() {
    let (want, last_seq) = expected("strings-v3");
    assert!(want.len() >= 10, "the fixture's expectations are empty");
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::fixture_dir(tmp.path(), "strings-v3");

    let mut srv = Server::start_in(&dir, &[]);
    assert_eq!(contents(&srv), want);
    assert_eq!(wal_last_seq(&srv), last_seq);

    // A write on top continues the clock past the fixture's last sequence; restarting (twice,
    // after kill -9) changes nothing else.
    let mut c = srv.client();
    redis::cmd("SET")
        .arg("new")
        .arg("1")
        .query::<()>(&mut c)
        .unwrap();
    let version: i64 = redis::cmd("VERSION").arg("new").query(&mut c).unwrap();
    assert_eq!(version as u64, last_seq + 1);
    let mut want = want;
    want.insert((0, b"new".to_vec()), (shown(b"1"), version, -1));
    for _ in 0..2 {
        srv.kill9();
        srv.spawn();
        assert_eq!(contents(&srv), want);
    }
}

// ---- typed-v3: hashes and sets in the typed codec ---------------------------------------------

mod typed {
    use super::*;
    use vaylix::keyspace::{Effect, Keyspace, Piece, PieceLoader, Value, SHARDS};
    use vaylix::storage::{RecoverySink, SnapshotSource, Storage, StorageConfig};

    pub const NAME: &str = "typed-v3";
    /// 2100-01-01T00:00:00Z: far enough that the fixture's TTLs never expire under test.
    pub const EXP: u64 = 4_102_444_800_000;

    /// Recovery into a keyspace exactly as the server does it (`server::persistence`).
    struct Load<'a> {
        ks: &'a Keyspace,
        pieces: PieceLoader<'a>,
    }

    impl RecoverySink for Load<'_> {
        fn load_piece(&mut self, piece: Piece) {
            self.pieces.piece(piece);
        }
        fn apply_entry(&mut self, seq: u64, effects: Vec<Effect>) {
            // The snapshot has ended: its last collection goes in before the WAL's changes.
            self.pieces.finish_open();
            self.ks.apply_entry(seq, &effects);
        }
    }

    pub struct Source<'a>(pub &'a Keyspace);

    impl SnapshotSource for Source<'_> {
        fn shard_count(&self) -> usize {
            SHARDS
        }
        fn visit_shard(&self, i: usize, f: &mut dyn FnMut(Option<&Piece>)) {
            self.0.visit_shard(i, 0, &mut |p| f(Some(p)))
        }
        fn horizon(&self) -> u64 {
            self.0.current_seq()
        }
    }

    /// Opens `dir` (embedded master key) and recovers it into a fresh keyspace.
    pub fn open(dir: &Path) -> (Keyspace, std::sync::Arc<Storage>, u64) {
        let ks = Keyspace::new(16);
        let (st, last) = {
            let mut load = Load {
                ks: &ks,
                pieces: ks.loader(now_ms()),
            };
            let r = Storage::open(StorageConfig::new(dir), &mut load).unwrap();
            load.pieces.finish();
            r
        };
        ks.advance_clock(last);
        (ks, st, last)
    }

    pub fn now_ms() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
    }

    pub fn wait_durable(st: &Storage, seq: u64) {
        let rx = st.durable();
        for _ in 0..10_000 {
            if rx.borrow().seq >= seq {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        panic!("sequence {seq} never became durable");
    }

    pub fn bs(s: &str) -> bytes::Bytes {
        bytes::Bytes::copy_from_slice(s.as_bytes())
    }

    /// The fixture's life (see tests/fixtures/datadir/README.md): collections small and big,
    /// with and without TTL, a snapshot, then WAL deltas on top.
    pub fn write(dir: &Path) {
        let (ks, st, last) = open(dir);
        assert_eq!(last, 0, "generate into an empty directory");
        ks.set_sink(st.clone());
        let big_hash: Vec<(bytes::Bytes, bytes::Bytes)> = (0..1500)
            .map(|i| (bs(&format!("field:{i}")), bs(&format!("value:{i}"))))
            .collect();
        let big_set: Vec<bytes::Bytes> = (0..3000).map(|i| bs(&format!("member:{i}"))).collect();
        {
            let mut l = ks.lock_all();
            l.put(0, b"str", Value::String(bs("plain")), 0);
            l.hash_set(
                0,
                b"h:small",
                vec![
                    (bs("f1"), bs("v1")),
                    (bs("bin"), bytes::Bytes::from_static(b"a\0b\xffc")),
                ],
                0,
            )
            .unwrap();
        }
        {
            let mut l = ks.lock_all();
            l.hash_set(0, b"h:big", big_hash, 0).unwrap();
        }
        {
            let mut l = ks.lock_all();
            l.set_expiry(0, b"h:big", EXP, 0);
        }
        {
            let mut l = ks.lock_all();
            l.set_add(0, b"s:ints", &[bs("1"), bs("2"), bs("3"), bs("-5")], 0)
                .unwrap();
        }
        {
            let mut l = ks.lock_all();
            l.set_add(0, b"s:small", &[bs("a"), bs("b"), bs("c")], 0)
                .unwrap();
            l.set_expiry(0, b"s:small", EXP + 1, 0);
        }
        {
            let mut l = ks.lock_all();
            l.set_add(2, b"s:big", &big_set, 0).unwrap();
        }
        {
            let mut l = ks.lock_all();
            l.put(
                3,
                b"h:put",
                Value::Hash(vec![(bs("x"), bs("1")), (bs("y"), bs("2"))]),
                EXP + 2,
            );
        }
        wait_durable(&st, ks.current_seq());
        let info = st.snapshot(&Source(&ks)).unwrap();
        assert!(info.written);
        // After the snapshot: deltas in the WAL only.
        {
            let mut l = ks.lock_all();
            l.hash_set(
                0,
                b"h:small",
                vec![(bs("f1"), bs("v1b")), (bs("f3"), bs("v3"))],
                0,
            )
            .unwrap();
        }
        {
            let mut l = ks.lock_all();
            let gone: Vec<bytes::Bytes> = (0..10).map(|i| bs(&format!("field:{i}"))).collect();
            l.hash_del(0, b"h:big", &gone, 0).unwrap();
        }
        {
            let mut l = ks.lock_all();
            l.set_add(2, b"s:big", &[bs("member:extra")], 0).unwrap();
            l.set_expiry(2, b"s:big", EXP + 3, 0);
        }
        {
            let mut l = ks.lock_all();
            l.set_rem(0, b"s:small", &[bs("a")], 0).unwrap();
        }
        {
            let mut l = ks.lock_all();
            let pairs = (0..1100)
                .map(|i| (bs(&format!("k{i}")), bs(&format!("{i}"))))
                .collect();
            l.hash_set(5, b"h:wal-big", pairs, 0).unwrap();
        }
        {
            let mut l = ks.lock_all();
            l.set_add(0, b"s:gone", &[bs("z")], 0).unwrap();
        }
        {
            let mut l = ks.lock_all();
            l.del(0, b"s:gone", 0);
            l.put(0, b"str", Value::String(bs("after")), 0);
        }
        wait_durable(&st, ks.current_seq());
        let doc = serde_json::json!({
            "written_by": "vaylix 0.1.0, typed codec (storage format 3), tests/fixture_datadirs.rs generate_typed_fixture",
            "wal_last_seq": ks.current_seq(),
            "snapshot_seq": info.seq,
            "keys": describe(&ks),
        });
        std::fs::write(
            dir.with_file_name(format!("{NAME}.expected.json")),
            serde_json::to_string_pretty(&doc).unwrap() + "\n",
        )
        .unwrap();
        drop(ks);
        st.shutdown().unwrap();
    }

    fn b64s(b: &[u8]) -> Json {
        Json::String(base64::engine::general_purpose::STANDARD.encode(b))
    }

    /// Every key as JSON: type, version, expiry, and the elements (sorted; a list's in list
    /// order) when at most 16, else their count and the SHA-256 of the sorted (list: ordered),
    /// length-prefixed elements.
    pub fn describe(ks: &Keyspace) -> Vec<Json> {
        let mut recs = ks.lock_all().records(now_ms());
        recs.sort_by(|a, b| (a.db, &a.key).cmp(&(b.db, &b.key)));
        recs.into_iter()
            .map(|r| {
                let mut o = serde_json::json!({
                    "db": r.db,
                    "key": b64s(&r.key),
                    "type": r.value.type_name(),
                    "version": r.version,
                    "expires_at_ms": r.expires_at_ms,
                });
                let elems: Vec<Vec<Vec<u8>>> = match &r.value {
                    Value::String(v) => vec![vec![v.to_vec()]],
                    Value::Hash(p) => {
                        let mut p: Vec<_> = p
                            .iter()
                            .map(|(f, v)| vec![f.to_vec(), v.to_vec()])
                            .collect();
                        p.sort();
                        p
                    }
                    Value::Set(m) => {
                        let mut m: Vec<_> = m.iter().map(|x| vec![x.to_vec()]).collect();
                        m.sort();
                        m
                    }
                    Value::ZSet(p) => {
                        let mut p: Vec<_> = p
                            .iter()
                            .map(|(m, s)| vec![m.to_vec(), s.to_bits().to_le_bytes().to_vec()])
                            .collect();
                        p.sort();
                        p
                    }
                    // In list order, head first: the order is the value.
                    Value::List(e) => e.iter().map(|x| vec![x.to_vec()]).collect(),
                };
                if elems.len() <= 16 {
                    o["elements"] = elems
                        .iter()
                        .map(|e| Json::Array(e.iter().map(|x| b64s(x)).collect()))
                        .collect();
                } else {
                    let mut h = Sha256::new();
                    for e in &elems {
                        for x in e {
                            h.update((x.len() as u64).to_le_bytes());
                            h.update(x);
                        }
                    }
                    o["count"] = elems.len().into();
                    o["sha256"] = h
                        .finalize()
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>()
                        .into();
                }
                o
            })
            .collect()
    }
}

// ---- zset-v3: sorted sets in the typed codec ------------------------------------------------

mod zsets {
    use super::typed::{bs, open, wait_durable, Source, EXP};
    use super::*;
    use vaylix::keyspace::{Value, ZDelta};

    pub const NAME: &str = "zset-v3";

    /// Adds `pairs` to the sorted set `key` as ZADD does (the delta logs the scores given).
    fn zadd(ks: &vaylix::keyspace::Keyspace, db: u8, key: &str, pairs: Vec<(bytes::Bytes, f64)>) {
        let mut l = ks.lock_all();
        l.zset_write(db, key.as_bytes(), true, 0, |z, limits| {
            for (m, s) in &pairs {
                z.insert(m, *s, limits);
            }
            ((), ZDelta::Added(pairs))
        })
        .unwrap();
    }

    fn zrem(ks: &vaylix::keyspace::Keyspace, db: u8, key: &str, members: Vec<bytes::Bytes>) {
        let mut l = ks.lock_all();
        l.zset_write(db, key.as_bytes(), false, 0, |z, _| {
            for m in &members {
                z.remove(m);
            }
            ((), ZDelta::Removed(members))
        })
        .unwrap();
    }

    /// The fixture's life: a small zset (listpack) and big ones (over a snapshot batch, so
    /// header + batches), special scores (inf, -inf, -0 in a big one, a subnormal, 0.1), a
    /// TTL, a whole-value Put (as *STORE writes), a snapshot, then ZAdd/ZRem deltas on top.
    pub fn write(dir: &Path) {
        let (ks, st, last) = open(dir);
        assert_eq!(last, 0, "generate into an empty directory");
        ks.set_sink(st.clone());
        zadd(
            &ks,
            0,
            "z:small",
            vec![
                (bs("a"), 1.0),
                (bs("b"), 0.1),
                (bs("c"), -2.5),
                (bs("bin\0\u{ff}"), 1e300),
            ],
        );
        let big: Vec<(bytes::Bytes, f64)> = (0..3000)
            .map(|i| (bs(&format!("m:{i:05}")), f64::from(i % 97) / 4.0))
            .collect();
        zadd(&ks, 0, "z:big", big);
        zadd(
            &ks,
            0,
            "z:big",
            vec![
                (bs("neg-zero"), -0.0),
                (bs("pos-inf"), f64::INFINITY),
                (bs("neg-inf"), f64::NEG_INFINITY),
                (bs("tiny"), 5e-324),
            ],
        );
        {
            let mut l = ks.lock_all();
            l.set_expiry(0, b"z:big", EXP, 0);
        }
        {
            let mut l = ks.lock_all();
            l.put(
                4,
                b"z:put",
                Value::ZSet(vec![(bs("x"), 3.0), (bs("y"), -1.0)]),
                EXP + 1,
            );
        }
        wait_durable(&st, ks.current_seq());
        let info = st.snapshot(&Source(&ks)).unwrap();
        assert!(info.written);
        // After the snapshot: deltas in the WAL only.
        zadd(
            &ks,
            0,
            "z:small",
            vec![(bs("a"), 1.5), (bs("d"), 0.30000000000000004)],
        );
        zrem(&ks, 0, "z:small", vec![bs("c")]);
        zrem(
            &ks,
            0,
            "z:big",
            (0..10).map(|i| bs(&format!("m:{i:05}"))).collect(),
        );
        zadd(
            &ks,
            0,
            "z:big",
            vec![(bs("m:00010"), -7.75), (bs("late"), 2e-308)],
        );
        let wal_big: Vec<(bytes::Bytes, f64)> = (0..1200)
            .map(|i| (bs(&format!("w{i}")), f64::from(i) * 1.5))
            .collect();
        zadd(&ks, 6, "z:wal-big", wal_big);
        zadd(&ks, 0, "z:gone", vec![(bs("q"), 1.0)]);
        zrem(&ks, 0, "z:gone", vec![bs("q")]);
        wait_durable(&st, ks.current_seq());
        let doc = serde_json::json!({
            "written_by": "vaylix 0.1.0, typed codec (storage format 3) with sorted sets, tests/fixture_datadirs.rs generate_zset_fixture",
            "wal_last_seq": ks.current_seq(),
            "snapshot_seq": info.seq,
            "keys": super::typed::describe(&ks),
        });
        std::fs::write(
            dir.with_file_name(format!("{NAME}.expected.json")),
            serde_json::to_string_pretty(&doc).unwrap() + "\n",
        )
        .unwrap();
        drop(ks);
        st.shutdown().unwrap();
    }
}

// ---- list-v3: lists in the typed codec ------------------------------------------------------

mod lists {
    use super::typed::{bs, open, wait_durable, Source, EXP};
    use super::*;
    use vaylix::keyspace::{Keyspace, ListDelta};

    pub const NAME: &str = "list-v3";

    /// One list command as the list commands write it: `f` changes the list and returns the
    /// deltas it applied, in order; all of one call is one WAL entry.
    fn write_list(
        ks: &Keyspace,
        db: u8,
        key: &[u8],
        f: impl FnOnce(&mut vaylix::keyspace::ListObj, &vaylix::keyspace::Limits) -> Vec<ListDelta>,
    ) {
        let mut l = ks.lock_all();
        l.list_write(db, key, true, 0, |list, limits| ((), f(list, limits)))
            .unwrap();
    }

    fn push(ks: &Keyspace, db: u8, key: &[u8], left: bool, elements: Vec<bytes::Bytes>) {
        write_list(ks, db, key, |list, limits| {
            for e in &elements {
                list.push(left, e, limits);
            }
            vec![ListDelta::Push { left, elements }]
        });
    }

    /// The fixture's life: small lists (listpack) with binary and empty elements, a
    /// 5,000-element list with TTL (a header and batches in the snapshot), a list in db 1
    /// with TTL, a snapshot, then every list delta in the WAL: pushes at both ends, pops,
    /// LSET, LINSERT, LREM from both ends, LTRIM, an LMOVE within one list and one across
    /// lists (one entry each), a push served to a blocked client (push + pop in one entry),
    /// a 1,500-element list created in the WAL in db 1, a list created and emptied.
    pub fn write(dir: &Path) {
        let (ks, st, last) = open(dir);
        assert_eq!(last, 0, "generate into an empty directory");
        ks.set_sink(st.clone());
        push(
            &ks,
            0,
            b"l:small",
            false,
            vec![
                bs("a"),
                bs("b"),
                bytes::Bytes::from_static(b"bin\0\xff\r\n"),
                bs(""),
                bs("a"),
                bs("c"),
            ],
        );
        let big: Vec<bytes::Bytes> = (0..5000).map(|i| bs(&format!("e:{i:05}"))).collect();
        for part in big.chunks(1000) {
            push(&ks, 0, b"l:big", false, part.to_vec());
        }
        {
            let mut l = ks.lock_all();
            l.set_expiry(0, b"l:big", EXP, 0);
        }
        push(&ks, 1, b"l:db1", true, vec![bs("x"), bs("y"), bs("z")]);
        {
            let mut l = ks.lock_all();
            l.set_expiry(1, b"l:db1", EXP + 1, 0);
        }
        push(&ks, 0, b"\x00l:bin-key\xff", false, vec![bs("only")]);
        wait_durable(&st, ks.current_seq());
        let info = st.snapshot(&Source(&ks)).unwrap();
        assert!(info.written);
        // After the snapshot: every list delta, in the WAL only.
        push(&ks, 0, b"l:small", true, vec![bs("h1"), bs("h2")]);
        write_list(&ks, 0, b"l:small", |list, limits| {
            list.pop(false, limits);
            vec![ListDelta::Pop {
                left: false,
                count: 1,
            }]
        });
        write_list(&ks, 0, b"l:small", |list, limits| {
            assert!(list.set(1, b"set-1", limits));
            vec![ListDelta::Set {
                index: 1,
                element: bs("set-1"),
            }]
        });
        write_list(&ks, 0, b"l:small", |list, limits| {
            assert!(list.insert(3, b"ins-3", limits));
            vec![ListDelta::Insert {
                index: 3,
                element: bs("ins-3"),
            }]
        });
        write_list(&ks, 0, b"l:small", |list, limits| {
            assert_eq!(list.remove_matching(-1, b"a", limits), 1);
            vec![ListDelta::Rem {
                count: -1,
                element: bs("a"),
            }]
        });
        write_list(&ks, 0, b"l:big", |list, limits| {
            for _ in 0..3 {
                list.pop(true, limits);
            }
            vec![ListDelta::Pop {
                left: true,
                count: 3,
            }]
        });
        write_list(&ks, 0, b"l:big", |list, limits| {
            assert!(list.set(2500, b"middle", limits));
            vec![ListDelta::Set {
                index: 2500,
                element: bs("middle"),
            }]
        });
        write_list(&ks, 0, b"l:big", |list, limits| {
            list.trim(10, 7, limits);
            vec![ListDelta::Trim { front: 10, back: 7 }]
        });
        // LMOVE l:big l:big RIGHT LEFT: a pop and a push of one list in one entry.
        write_list(&ks, 0, b"l:big", |list, limits| {
            let e = list.pop(false, limits).unwrap();
            list.push(true, &e, limits);
            vec![
                ListDelta::Pop {
                    left: false,
                    count: 1,
                },
                ListDelta::Push {
                    left: true,
                    elements: vec![e],
                },
            ]
        });
        // LMOVE l:db1 l:db1-dst LEFT RIGHT, and a push to l:served that a blocked BLPOP
        // took at once: one entry each.
        {
            let mut l = ks.lock_all();
            let e = l
                .list_write(1, b"l:db1", false, 0, |list, limits| {
                    let e = list.pop(true, limits);
                    (
                        e,
                        vec![ListDelta::Pop {
                            left: true,
                            count: 1,
                        }],
                    )
                })
                .unwrap()
                .flatten()
                .unwrap();
            l.list_write(1, b"l:db1-dst", true, 0, |list, limits| {
                list.push(false, &e, limits);
                (
                    (),
                    vec![ListDelta::Push {
                        left: false,
                        elements: vec![e],
                    }],
                )
            })
            .unwrap();
        }
        write_list(&ks, 0, b"l:served", |list, limits| {
            list.push(false, b"job-1", limits);
            list.push(false, b"job-2", limits);
            list.pop(true, limits);
            vec![
                ListDelta::Push {
                    left: false,
                    elements: vec![bs("job-1"), bs("job-2")],
                },
                ListDelta::Pop {
                    left: true,
                    count: 1,
                },
            ]
        });
        let wal_big: Vec<bytes::Bytes> = (0..1500).map(|i| bs(&format!("w{i}"))).collect();
        push(&ks, 1, b"l:wal-big", true, wal_big);
        push(&ks, 0, b"l:gone", false, vec![bs("q"), bs("r")]);
        write_list(&ks, 0, b"l:gone", |list, limits| {
            list.pop(true, limits);
            list.pop(true, limits);
            vec![ListDelta::Pop {
                left: true,
                count: 2,
            }]
        });
        wait_durable(&st, ks.current_seq());
        let doc = serde_json::json!({
            "written_by": "vaylix 0.1.0, typed codec (storage format 3) with lists, tests/fixture_datadirs.rs generate_list_fixture",
            "wal_last_seq": ks.current_seq(),
            "snapshot_seq": info.seq,
            "keys": super::typed::describe(&ks),
        });
        std::fs::write(
            dir.with_file_name(format!("{NAME}.expected.json")),
            serde_json::to_string_pretty(&doc).unwrap() + "\n",
        )
        .unwrap();
        drop(ks);
        st.shutdown().unwrap();
        let _ = std::fs::remove_file(dir.join("LOCK"));
    }
}

/// Regenerates `tests/fixtures/datadir/list-v3` (the compatibility baseline of the first
/// build with lists): `cargo test --release --test fixture_datadirs generate_list_fixture --
/// --ignored`.
#[test]
#[ignore]
fn generate_list_fixture() {
    regenerate(lists::NAME, lists::write);
}

#[test]
fn list_format_3_data_dir_loads_back_exactly_and_survives_the_real_server_and_kill_9() {
    let want = expected_doc(lists::NAME);
    let keys = want["keys"].as_array().unwrap();
    assert!(keys.iter().any(|k| k["type"] == "list"
        && k["count"].as_u64() > Some(1024)
        && k["expires_at_ms"].is_u64()));
    assert!(keys.iter().any(|k| k["type"] == "list" && k["db"] == 1));
    loads_back_exactly_across_kill_9(lists::NAME, &want);
    // Through the real server: order, binary elements, the big list's LSET and ends.
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::fixture_dir(tmp.path(), lists::NAME);
    let srv = Server::start_in(&dir, &[]);
    let mut c = srv.client();
    let range = |c: &mut redis::Connection, k: &[u8], a: i64, b: i64| -> Vec<Vec<u8>> {
        redis::cmd("LRANGE").arg(k).arg(a).arg(b).query(c).unwrap()
    };
    let v = |xs: &[&[u8]]| xs.iter().map(|x| x.to_vec()).collect::<Vec<_>>();
    assert_eq!(
        range(&mut c, b"l:small", 0, -1),
        v(&[b"h2", b"set-1", b"a", b"ins-3", b"b", b"bin\0\xff\r\n", b""])
    );
    assert_eq!(range(&mut c, b"l:served", 0, -1), v(&[b"job-2"]));
    assert_eq!(range(&mut c, b"\x00l:bin-key\xff", 0, -1), v(&[b"only"]));
    let len: i64 = redis::cmd("LLEN").arg("l:big").query(&mut c).unwrap();
    assert_eq!(len, 5000 - 3 - 17);
    assert_eq!(range(&mut c, b"l:big", 0, 1), v(&[b"e:04992", b"e:00013"]));
    assert_eq!(range(&mut c, b"l:big", -1, -1), v(&[b"e:04991"]));
    let mid: Vec<u8> = redis::cmd("LINDEX")
        .arg("l:big")
        .arg(2500 - 10 + 1)
        .query(&mut c)
        .unwrap();
    assert_eq!(mid, b"middle");
    let enc = |c: &mut redis::Connection, k: &str| -> String {
        redis::cmd("OBJECT")
            .arg("ENCODING")
            .arg(k)
            .query(c)
            .unwrap()
    };
    assert_eq!(enc(&mut c, "l:big"), "quicklist");
    assert_eq!(enc(&mut c, "l:small"), "listpack");
    let _: () = redis::cmd("SELECT").arg(1).query(&mut c).unwrap();
    assert_eq!(range(&mut c, b"l:db1", 0, -1), v(&[b"y", b"x"]));
    assert_eq!(range(&mut c, b"l:db1-dst", 0, -1), v(&[b"z"]));
    let pttl: i64 = redis::cmd("PEXPIRETIME")
        .arg("l:db1")
        .query(&mut c)
        .unwrap();
    assert_eq!(pttl, typed::EXP as i64 + 1);
}

/// Regenerates `tests/fixtures/datadir/zset-v3` (the compatibility baseline of the first
/// build with sorted sets): `cargo test --release --test fixture_datadirs
/// generate_zset_fixture -- --ignored`.
#[test]
#[ignore]
fn generate_zset_fixture() {
    regenerate(zsets::NAME, zsets::write);
}

/// Writes the fixture `name` afresh into tests/fixtures/datadir with `write`.
fn regenerate(name: &str, write: fn(&Path)) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/datadir")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    write(&dir);
}

/// Regenerates `tests/fixtures/datadir/typed-v3` (only when the format gains something; the
/// committed copy is the compatibility baseline): `cargo test --release --test fixture_datadirs
/// generate_typed_fixture -- --ignored`.
#[test]
#[ignore]
fn generate_typed_fixture() {
    regenerate(typed::NAME, typed::write);
}

fn typed_expected() -> Json {
    expected_doc(typed::NAME)
}

/// `tests/fixtures/datadir/<name>.expected.json`.
fn expected_doc(name: &str) -> Json {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/datadir")
        .join(format!("{name}.expected.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn typed_format_3_data_dir_passes_storage_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::fixture_dir(tmp.path(), typed::NAME);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vaylix"))
        .args(["storage", "verify", "--data-dir"])
        .arg(&dir)
        .env_remove("VAYLIX_MASTER_KEY")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The snapshot's big collections are headers + batches, but verify reports keys.
    let want = typed_expected();
    let snap = want["snapshot_seq"].as_u64().unwrap();
    assert!(
        text.contains(&format!(
            "snapshots/{snap}.snap  sequence {snap}, 7 key(s) in "
        )),
        "{text}"
    );
}

#[test]
fn typed_format_3_data_dir_loads_back_exactly_and_survives_the_real_server_and_kill_9() {
    let want = typed_expected();
    let keys = want["keys"].as_array().unwrap();
    assert!(keys.iter().any(|k| k["count"].as_u64() > Some(1024)));
    assert!(keys.iter().any(|k| k["type"] == "set") && keys.iter().any(|k| k["type"] == "hash"));
    loads_back_exactly_across_kill_9(typed::NAME, &want);
}

#[test]
fn zset_format_3_data_dir_loads_back_exactly_and_survives_the_real_server_and_kill_9() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/datadir")
        .join(format!("{}.expected.json", zsets::NAME));
    let want: Json = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let keys = want["keys"].as_array().unwrap();
    assert!(keys
        .iter()
        .any(|k| k["type"] == "zset" && k["count"].as_u64() > Some(1024)));
    loads_back_exactly_across_kill_9(zsets::NAME, &want);
    // Through the real server too: scores bit for bit, -0 kept in the big (skiplist) zset.
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::fixture_dir(tmp.path(), zsets::NAME);
    let srv = Server::start_in(&dir, &[]);
    let mut c = srv.client();
    let score = |c: &mut redis::Connection, k: &str, m: &str| -> String {
        redis::cmd("ZSCORE").arg(k).arg(m).query(c).unwrap()
    };
    assert_eq!(score(&mut c, "z:big", "neg-zero"), "-0");
    assert_eq!(score(&mut c, "z:big", "pos-inf"), "inf");
    assert_eq!(score(&mut c, "z:big", "tiny"), "4.9406564584124654e-324");
    assert_eq!(score(&mut c, "z:small", "d"), "0.30000000000000004");
    let enc: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg("z:big")
        .query(&mut c)
        .unwrap();
    assert_eq!(enc, "skiplist");
    let enc: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg("z:small")
        .query(&mut c)
        .unwrap();
    assert_eq!(enc, "listpack");
}

/// Opens a committed fixture, checks every key against its expected JSON, lets the real
/// server take it over and write on top, kill -9s it, and checks everything again.
fn loads_back_exactly_across_kill_9(name: &str, want: &Json) {
    let keys = want["keys"].as_array().unwrap();
    let last_seq = want["wal_last_seq"].as_u64().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::fixture_dir(tmp.path(), name);
    let check = || {
        let (ks, st, last) = typed::open(&dir);
        assert_eq!(last, last_seq);
        assert_eq!(&typed::describe(&ks), keys);
        drop(ks);
        st.shutdown().unwrap();
    };
    check();
    // The real server opens it (and takes over its WAL), writes on top, dies by kill -9.
    let mut srv = Server::start_in(&dir, &[]);
    assert_eq!(wal_last_seq(&srv), last_seq);
    let mut c = srv.client();
    let n: i64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert_eq!(n, keys.iter().filter(|k| k["db"] == 0).count() as i64);
    redis::cmd("SET")
        .arg("new")
        .arg("1")
        .query::<()>(&mut c)
        .unwrap();
    srv.kill9();
    srv.spawn();
    assert_eq!(wal_last_seq(&srv), last_seq + 1);
    srv.kill9();
    // Everything the fixture held is unchanged; the one new key is there.
    let (ks, st, last) = typed::open(&dir);
    assert_eq!(last, last_seq + 1);
    let got: Vec<Json> = typed::describe(&ks)
        .into_iter()
        .filter(|k| k["key"] != "bmV3")
        .collect();
    assert_eq!(&got, keys);
    drop(ks);
    st.shutdown().unwrap();
}

fn vaylix_json(args: &[&str]) -> (i32, Json, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vaylix"))
        .args(args)
        .env_remove("VAYLIX_MASTER_KEY")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Json::Null);
    (out.status.code().unwrap_or(-1), json, err)
}

#[test]
fn offline_tools_handle_hashes_and_sets_and_count_keys_not_batches() {
    let want = typed_expected();
    let keys = want["keys"].as_array().unwrap().clone();
    let last = want["wal_last_seq"].as_u64().unwrap();
    let snap = want["snapshot_seq"].as_u64().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::fixture_dir(tmp.path(), typed::NAME);
    let d = dir.to_str().unwrap();
    let (code, insp, err) = vaylix_json(&["pitr", "inspect", "--data-dir", d, "--json"]);
    assert_eq!(code, 0, "{err}");
    assert!(insp.is_object(), "{insp}");
    // PITR to the last entry: the same keys, each with its version and expiry; the new
    // baseline snapshot writes the big collections as headers + batches again.
    for (n, count) in [(last, keys.len()), (snap, 7)] {
        let t = tmp.path().join(format!("at-{n}"));
        let (code, out, err) = vaylix_json(&[
            "pitr",
            "restore",
            "--source-dir",
            d,
            "--target-dir",
            t.to_str().unwrap(),
            "--to-sequence",
            &n.to_string(),
            "--json",
        ]);
        assert_eq!(code, 0, "restore to {n}: {err}");
        assert_eq!(out["records"], count as u64, "keys, not pieces: {out}");
        let (ks, st, _) = typed::open(&t);
        let got = typed::describe(&ks);
        drop(ks);
        st.shutdown().unwrap();
        assert_eq!(got.len(), count);
        if n == last {
            assert_eq!(got, keys);
        }
    }
    // migrate rewrites what needs rewriting (here: nothing or the snapshot) and the dir still
    // loads back exactly.
    let (code, _, err) = vaylix_json(&["storage", "migrate", "--data-dir", d, "--json"]);
    assert_eq!(code, 0, "{err}");
    let (ks, st, l) = typed::open(&dir);
    assert_eq!(l, last);
    assert_eq!(typed::describe(&ks), keys);
    drop(ks);
    st.shutdown().unwrap();
}

// ---- functions-v3: function libraries in the snapshot and the WAL -----------------------------

mod functions {
    use super::*;

    pub const NAME: &str = "functions-v3";

    pub fn lib(name: &str, function: &str, body: &str) -> String {
        format!("#!lua name={name}\nredis.register_function('{function}', function(keys, args) {body} end)")
    }

    /// Through the real server: two libraries, SAVE (the snapshot holds them), then a replace,
    /// a delete, a new library and a key written by a function (all in the WAL), kill -9.
    pub fn write(dir: &Path) {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let mut srv = Server::start_in(&data, &[]);
        let mut c = srv.client();
        let load = common::function_load;
        load(&mut c, &lib("keep", "kf", "return 'snap'"), false);
        load(&mut c, &lib("drop", "df", "return 'gone'"), false);
        let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
        load(&mut c, &lib("keep", "kf", "return 'wal'"), true);
        let _: () = redis::cmd("FUNCTION")
            .arg("DELETE")
            .arg("drop")
            .query(&mut c)
            .unwrap();
        load(
            &mut c,
            &lib(
                "writer",
                "wf",
                "redis.call('SET', keys[1], args[1]) return redis.call('INCR', keys[2])",
            ),
            false,
        );
        let n: i64 = redis::cmd("FCALL")
            .arg("wf")
            .arg(2)
            .arg("k")
            .arg("n")
            .arg("v")
            .query(&mut c)
            .unwrap();
        assert_eq!(n, 1);
        let want = common::function_libraries(&mut c);
        let last = wal_last_seq(&srv);
        drop(c);
        srv.kill9();
        copy_tree(&data, dir);
        let doc = serde_json::json!({ "wal_last_seq": last, "libraries": want });
        let path = dir.with_file_name(format!("{NAME}.expected.json"));
        std::fs::write(path, serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
    }

    fn copy_tree(src: &Path, dst: &Path) {
        for e in std::fs::read_dir(src).unwrap() {
            let e = e.unwrap();
            let to = dst.join(e.file_name());
            if e.metadata().unwrap().is_dir() {
                std::fs::create_dir_all(&to).unwrap();
                copy_tree(&e.path(), &to);
            } else if e.file_name() != "LOCK" {
                std::fs::copy(e.path(), &to).unwrap();
            }
        }
    }
}

/// Regenerates `tests/fixtures/datadir/functions-v3` (the first build with function
/// libraries): `cargo test --release --test fixture_datadirs generate_functions_fixture --
/// --ignored`.
#[test]
#[ignore]
fn generate_functions_fixture() {
    regenerate(functions::NAME, functions::write);
}

#[test]
fn functions_data_dir_verifies_and_its_libraries_load_back_exactly_across_kill_9() {
    let doc = expected_doc(functions::NAME);
    let want: BTreeMap<String, String> = doc["libraries"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    assert_eq!(want.keys().collect::<Vec<_>>(), ["keep", "writer"]);
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::fixture_dir(tmp.path(), functions::NAME);
    common::assert_storage_verifies(&dir);
    let mut srv = Server::start_in(&dir, &[]);
    assert_eq!(wal_last_seq(&srv), doc["wal_last_seq"].as_u64().unwrap());
    for _ in 0..2 {
        let mut c = srv.client();
        assert_eq!(common::function_libraries(&mut c), want);
        let kf: String = redis::cmd("FCALL").arg("kf").arg(0).query(&mut c).unwrap();
        assert_eq!(kf, "wal");
        let v: String = redis::cmd("GET").arg("k").query(&mut c).unwrap();
        assert_eq!(v, "v");
        let df: redis::RedisResult<String> = redis::cmd("FCALL").arg("df").arg(0).query(&mut c);
        assert!(df.is_err());
        drop(c);
        srv.kill9();
        srv.spawn();
    }
}

//! Lists on the real binary under `appendfsync always`, against an in-test model (a map of
//! key to `VecDeque`): a random workload of every list command (LMOVE across keys and onto
//! the same key, LSET, LINSERT, LREM, LTRIM, LMPOP, RPOPLPUSH, the X pushes, TTLs, DEL) and
//! of blocked BLPOP/BLMOVE/BRPOP clients served by pushes from another connection, then
//! kill -9 and restart: every list equals the model exactly (LRANGE 0 -1, PEXPIRETIME), with
//! the WAL alone, after a SAVE or BGSAVE mid-run (snapshot + WAL tail), with a big list
//! (5000 elements: header and batches in a snapshot) and with a snapshot taken while another
//! connection keeps popping, pushing and LSETting that big list. And the queue promise: an
//! element a blocked BLPOP client received is never back after kill -9, and an acknowledged
//! push is never missing.

mod common;

use common::{info_field, now_ms, Server};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ARGS: [&str; 4] = ["--appendfsync", "always", "--snapshot-interval", "0"];

type E = Vec<u8>;

/// The model: (db, key) -> elements head first, and absolute expiries (ms).
#[derive(Default, Clone, Debug, PartialEq)]
struct Model {
    lists: BTreeMap<(u8, E), VecDeque<E>>,
    exp: BTreeMap<(u8, E), i64>,
}

impl Model {
    fn tidy(&mut self) {
        self.lists.retain(|_, l| !l.is_empty());
        let lists = &self.lists;
        self.exp.retain(|k, _| lists.contains_key(k));
    }
}

fn select(c: &mut redis::Connection, db: u8) {
    let _: () = redis::cmd("SELECT").arg(db).query(c).unwrap();
}

/// What the server holds in databases 0 and 1, read the way a client sees it.
fn server_state(c: &mut redis::Connection) -> Model {
    let mut m = Model::default();
    for db in [0u8, 1] {
        select(c, db);
        for k in common::all_keys(c) {
            let t: String = redis::cmd("TYPE").arg(&k).query(c).unwrap();
            assert_eq!(t, "list", "key {:?}", String::from_utf8_lossy(&k));
            let l: Vec<E> = redis::cmd("LRANGE")
                .arg(&k)
                .arg(0)
                .arg(-1)
                .query(c)
                .unwrap();
            let len: usize = redis::cmd("LLEN").arg(&k).query(c).unwrap();
            assert_eq!(len, l.len());
            let at: i64 = redis::cmd("PEXPIRETIME").arg(&k).query(c).unwrap();
            if at >= 0 {
                m.exp.insert((db, k.clone()), at);
            }
            m.lists.insert((db, k), l.into_iter().collect());
        }
    }
    select(c, 0);
    m
}

fn assert_same(got: &Model, want: &Model, what: &str) {
    for (k, l) in &want.lists {
        let g = got.lists.get(k);
        assert!(
            g == Some(l),
            "{what}: key {:?} in db {}: got {:?} elements, want {} (first difference at {:?})",
            String::from_utf8_lossy(&k.1),
            k.0,
            g.map(|g| g.len()),
            l.len(),
            g.and_then(|g| g.iter().zip(l).position(|(a, b)| a != b))
        );
    }
    let extra: Vec<_> = got
        .lists
        .keys()
        .filter(|k| !want.lists.contains_key(*k))
        .collect();
    assert!(
        extra.is_empty(),
        "{what}: keys the model does not have: {extra:?}"
    );
    assert_eq!(got.exp, want.exp, "{what}: expiries");
}

fn elem(rng: &mut StdRng) -> E {
    match rng.random_range(0..8) {
        0 => vec![0, 0xff, b'\r', b'\n', rng.random_range(0..3)],
        1 => Vec::new(),
        2 => vec![b'L'; rng.random_range(60..80)],
        3 => rng.random_range(-5i64..5).to_string().into_bytes(),
        _ => format!("e{}", rng.random_range(0..8)).into_bytes(),
    }
}

fn end(rng: &mut StdRng) -> (bool, &'static str) {
    if rng.random() {
        (true, "LEFT")
    } else {
        (false, "RIGHT")
    }
}

fn pop(l: &mut VecDeque<E>, left: bool) -> Option<E> {
    if left {
        l.pop_front()
    } else {
        l.pop_back()
    }
}

fn push(l: &mut VecDeque<E>, left: bool, e: E) {
    if left {
        l.push_front(e)
    } else {
        l.push_back(e)
    }
}

/// Redis's index normalisation for LSET/LRANGE/LTRIM.
fn norm(i: i64, len: usize) -> i64 {
    if i < 0 {
        i + len as i64
    } else {
        i
    }
}

/// A blocked client served by a push from another connection: `cmd` blocks (the key is
/// empty), the push arrives from `c`, and the blocked client's reply is returned.
fn served_blocked(
    srv: &Server,
    c: &mut redis::Connection,
    db: u8,
    blocking: Vec<Vec<u8>>,
    pusher: Vec<Vec<u8>>,
) -> redis::Value {
    let mut b = srv.client();
    select(&mut b, db);
    let t = std::thread::spawn(move || {
        let mut cmd = redis::cmd(std::str::from_utf8(&blocking[0]).unwrap());
        for a in &blocking[1..] {
            cmd.arg(&a[..]);
        }
        cmd.query::<redis::Value>(&mut b).unwrap()
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info: String = redis::cmd("INFO").arg("clients").query(c).unwrap();
        if info.contains("\r\nblocked_clients:1\r\n") {
            break;
        }
        assert!(Instant::now() < deadline, "the client did not block");
        std::thread::sleep(Duration::from_millis(2));
    }
    select(c, db);
    let mut cmd = redis::cmd(std::str::from_utf8(&pusher[0]).unwrap());
    for a in &pusher[1..] {
        cmd.arg(&a[..]);
    }
    let _: i64 = cmd.query(c).unwrap();
    select(c, 0);
    t.join().unwrap()
}

fn bulk(v: &redis::Value) -> E {
    match v {
        redis::Value::BulkString(b) => b.clone(),
        other => panic!("not a bulk string: {other:?}"),
    }
}

fn arr(v: &redis::Value) -> Vec<redis::Value> {
    match v {
        redis::Value::Array(a) => a.clone(),
        other => panic!("not an array: {other:?}"),
    }
}

/// One random command on `c` and on the model; its reply checked against the model.
fn step(srv: &Server, c: &mut redis::Connection, m: &mut Model, rng: &mut StdRng, keys: &[&str]) {
    let db: u8 = if rng.random_range(0..6) == 0 { 1 } else { 0 };
    let kname = keys[rng.random_range(0..keys.len())];
    let k = (db, kname.as_bytes().to_vec());
    select(c, db);
    let len = m.lists.get(&k).map_or(0, |l| l.len());
    let op = rng.random_range(0..19);
    if kname == "big" && (op == 8 || op == 15) {
        // The big list stays big: no LTRIM or DEL of it (pops, LSET, LMOVE, ... yes).
        select(c, 0);
        return;
    }
    match op {
        0..=2 => {
            let (left, _) = end(rng);
            let es: Vec<E> = (0..rng.random_range(1..5)).map(|_| elem(rng)).collect();
            let x = rng.random_range(0..4) == 0;
            let name = match (left, x) {
                (true, false) => "LPUSH",
                (false, false) => "RPUSH",
                (true, true) => "LPUSHX",
                (false, true) => "RPUSHX",
            };
            let n: usize = redis::cmd(name).arg(kname).arg(&es).query(c).unwrap();
            if !x || len > 0 {
                let l = m.lists.entry(k.clone()).or_default();
                for e in es {
                    push(l, left, e);
                }
                assert_eq!(n, l.len(), "{name}");
            } else {
                assert_eq!(n, 0, "{name} on an absent key");
            }
        }
        3 | 4 => {
            let (left, _) = end(rng);
            let name = if left { "LPOP" } else { "RPOP" };
            let count = rng.random_range(0..4usize);
            if count == 0 {
                let got: Option<E> = redis::cmd(name).arg(kname).query(c).unwrap();
                let want = m.lists.get_mut(&k).and_then(|l| pop(l, left));
                assert_eq!(got, want, "{name}");
            } else {
                let got: Option<Vec<E>> = redis::cmd(name).arg(kname).arg(count).query(c).unwrap();
                let want = m
                    .lists
                    .get_mut(&k)
                    .map(|l| (0..count).filter_map(|_| pop(l, left)).collect::<Vec<_>>());
                assert_eq!(got, want, "{name} {count}");
            }
        }
        5 => {
            let i: i64 = rng.random_range(-6..6);
            let e = elem(rng);
            let ni = norm(i, len);
            let r: redis::RedisResult<String> =
                redis::cmd("LSET").arg(kname).arg(i).arg(&e).query(c);
            if len > 0 && ni >= 0 && (ni as usize) < len {
                assert_eq!(r.unwrap(), "OK");
                m.lists.get_mut(&k).unwrap()[ni as usize] = e;
            } else {
                assert!(r.is_err(), "LSET {i} on {len}");
            }
        }
        6 => {
            let before = rng.random::<bool>();
            let pivot = elem(rng);
            let e = elem(rng);
            let n: i64 = redis::cmd("LINSERT")
                .arg(kname)
                .arg(if before { "BEFORE" } else { "AFTER" })
                .arg(&pivot)
                .arg(&e)
                .query(c)
                .unwrap();
            match m.lists.get_mut(&k) {
                None => assert_eq!(n, 0),
                Some(l) => match l.iter().position(|x| *x == pivot) {
                    None => assert_eq!(n, -1),
                    Some(p) => {
                        l.insert(if before { p } else { p + 1 }, e);
                        assert_eq!(n, l.len() as i64);
                    }
                },
            }
        }
        7 => {
            let count: i64 = rng.random_range(-3..4);
            let e = elem(rng);
            let n: usize = redis::cmd("LREM")
                .arg(kname)
                .arg(count)
                .arg(&e)
                .query(c)
                .unwrap();
            let mut removed = 0;
            if let Some(l) = m.lists.get_mut(&k) {
                let limit = if count == 0 {
                    usize::MAX
                } else {
                    count.unsigned_abs() as usize
                };
                let mut hits: Vec<usize> = (0..l.len()).filter(|i| l[*i] == e).collect();
                if count < 0 {
                    hits.reverse();
                }
                hits.truncate(limit);
                hits.sort_unstable();
                removed = hits.len();
                for i in hits.into_iter().rev() {
                    l.remove(i);
                }
            }
            assert_eq!(n, removed, "LREM");
        }
        8 => {
            let (a, b): (i64, i64) = (rng.random_range(-8..8), rng.random_range(-8..8));
            let _: String = redis::cmd("LTRIM")
                .arg(kname)
                .arg(a)
                .arg(b)
                .query(c)
                .unwrap();
            if let Some(l) = m.lists.get_mut(&k) {
                let n = l.len() as i64;
                let s = norm(a, l.len()).max(0);
                let e = norm(b, l.len()).min(n - 1);
                if s > e || s >= n {
                    l.clear();
                } else {
                    let kept: VecDeque<E> = l.range(s as usize..=e as usize).cloned().collect();
                    *l = kept;
                }
            }
        }
        9..=11 => {
            // LMOVE (or RPOPLPUSH) to another key or the same one.
            let dname = if rng.random_range(0..3) == 0 {
                kname
            } else {
                keys[rng.random_range(0..keys.len())]
            };
            let d = (db, dname.as_bytes().to_vec());
            let (from, fname) = end(rng);
            let (to, tname) = end(rng);
            let rpoplpush = rng.random_range(0..4) == 0;
            let got: Option<E> = if rpoplpush {
                redis::cmd("RPOPLPUSH")
                    .arg(kname)
                    .arg(dname)
                    .query(c)
                    .unwrap()
            } else {
                redis::cmd("LMOVE")
                    .arg(kname)
                    .arg(dname)
                    .arg(fname)
                    .arg(tname)
                    .query(c)
                    .unwrap()
            };
            let (from, to) = if rpoplpush { (false, true) } else { (from, to) };
            let want = m.lists.get_mut(&k).and_then(|l| pop(l, from));
            if let Some(e) = &want {
                push(m.lists.entry(d).or_default(), to, e.clone());
            }
            assert_eq!(got, want, "LMOVE {kname} {dname}");
        }
        12 => {
            let other = keys[rng.random_range(0..keys.len())];
            let (left, name) = end(rng);
            let count = rng.random_range(1..4usize);
            let got: redis::Value = redis::cmd("LMPOP")
                .arg(2)
                .arg(kname)
                .arg(other)
                .arg(name)
                .arg("COUNT")
                .arg(count)
                .query(c)
                .unwrap();
            let first = [kname, other]
                .into_iter()
                .map(|n| (db, n.as_bytes().to_vec()))
                .find(|k| m.lists.get(k).is_some_and(|l| !l.is_empty()));
            match first {
                None => assert_eq!(got, redis::Value::Nil),
                Some(fk) => {
                    let l = m.lists.get_mut(&fk).unwrap();
                    let want: Vec<E> = (0..count).filter_map(|_| pop(l, left)).collect();
                    let a = arr(&got);
                    assert_eq!(bulk(&a[0]), fk.1);
                    let els: Vec<E> = arr(&a[1]).iter().map(bulk).collect();
                    assert_eq!(els, want, "LMPOP");
                }
            }
        }
        13 => {
            if len > 0 {
                let at = now_ms() as i64 + rng.random_range(100_000_000..200_000_000);
                let _: i64 = redis::cmd("PEXPIREAT").arg(kname).arg(at).query(c).unwrap();
                m.exp.insert(k.clone(), at);
            }
        }
        14 => {
            let _: i64 = redis::cmd("PERSIST").arg(kname).query(c).unwrap();
            m.exp.remove(&k);
        }
        15 => {
            if rng.random_range(0..4) == 0 {
                let _: i64 = redis::cmd("DEL").arg(kname).query(c).unwrap();
                m.lists.remove(&k);
            }
        }
        16 => {
            // BLPOP/BRPOP on an empty key, served by an RPUSH from this connection.
            let (left, _) = end(rng);
            let wait = format!("w{}", rng.random_range(0..3));
            let wk = (db, wait.clone().into_bytes());
            if m.lists.contains_key(&wk) {
                return;
            }
            let es: Vec<E> = (0..rng.random_range(1..4)).map(|_| elem(rng)).collect();
            let mut pusher = vec![b"RPUSH".to_vec(), wait.clone().into_bytes()];
            pusher.extend(es.iter().cloned());
            let name = if left { "BLPOP" } else { "BRPOP" };
            let r = served_blocked(
                srv,
                c,
                db,
                vec![name.into(), wait.clone().into_bytes(), b"0".to_vec()],
                pusher,
            );
            let l = m.lists.entry(wk).or_default();
            l.extend(es);
            let want = pop(l, left).unwrap();
            let a = arr(&r);
            assert_eq!(bulk(&a[0]), wait.as_bytes());
            assert_eq!(bulk(&a[1]), want, "{name} served");
        }
        17 => {
            // BLMOVE from an empty key to a list (maybe itself), served by an LPUSH.
            let wait = format!("w{}", rng.random_range(0..3));
            let wk = (db, wait.clone().into_bytes());
            if m.lists.contains_key(&wk) {
                return;
            }
            let dname = if rng.random() { wait.as_str() } else { kname };
            let d = (db, dname.as_bytes().to_vec());
            let (from, fname) = end(rng);
            let (to, tname) = end(rng);
            let es: Vec<E> = (0..rng.random_range(1..4)).map(|_| elem(rng)).collect();
            let mut pusher = vec![b"LPUSH".to_vec(), wait.clone().into_bytes()];
            pusher.extend(es.iter().cloned());
            let r = served_blocked(
                srv,
                c,
                db,
                vec![
                    b"BLMOVE".to_vec(),
                    wait.clone().into_bytes(),
                    dname.as_bytes().to_vec(),
                    fname.into(),
                    tname.into(),
                    b"0".to_vec(),
                ],
                pusher,
            );
            let l = m.lists.entry(wk).or_default();
            for e in es {
                l.push_front(e);
            }
            let e = pop(l, from).unwrap();
            push(m.lists.entry(d).or_default(), to, e.clone());
            assert_eq!(bulk(&r), e, "BLMOVE served");
        }
        _ => {
            // A MULTI/EXEC of a push, a pop and an LSET: one WAL entry.
            let es = vec![elem(rng), elem(rng)];
            let mut p = redis::pipe();
            p.atomic()
                .cmd("RPUSH")
                .arg(kname)
                .arg(&es)
                .ignore()
                .cmd("LPOP")
                .arg(kname)
                .ignore()
                .cmd("LSET")
                .arg(kname)
                .arg(-1)
                .arg("tx")
                .ignore();
            let _: () = p.query(c).unwrap();
            let l = m.lists.entry(k.clone()).or_default();
            l.extend(es);
            l.pop_front();
            if let Some(last) = l.back_mut() {
                *last = b"tx".to_vec();
            }
        }
    }
    m.tidy();
    select(c, 0);
}

const KEYS: [&str; 6] = ["a", "b", "c", "d", "\x00bin\r\n", "big"];

fn restart(s: &mut Server) -> Server {
    s.kill9();
    let dir = s.dir.clone();
    Server::start_in(&dir, &ARGS)
}

fn persistence(c: &mut redis::Connection, name: &str) -> u64 {
    info_field(c, name).parse().unwrap()
}

fn wait_snapshot(c: &mut redis::Connection, seq: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(persistence(c, "snapshot_last_seq") >= seq
        && persistence(c, "snapshot_in_progress") == 0)
    {
        assert!(
            Instant::now() < deadline,
            "BGSAVE did not finish within 30 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A 5000-element list, pushed in a few commands, in the model too.
fn make_big(c: &mut redis::Connection, m: &mut Model, key: &str, n: usize) {
    let all: Vec<E> = (0..n).map(|i| format!("big-{i}").into_bytes()).collect();
    for part in all.chunks(1000) {
        let _: usize = redis::cmd("RPUSH").arg(key).arg(part).query(c).unwrap();
    }
    m.lists
        .entry((0, key.as_bytes().to_vec()))
        .or_default()
        .extend(all);
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Snap {
    None,
    Save,
    Bgsave,
}

fn random_life(seed: u64, snap: Snap) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut s = Server::start(&ARGS);
    let mut old = Vec::new();
    let mut c = s.client();
    let mut m = Model::default();
    make_big(&mut c, &mut m, "big", 5000);
    let at = now_ms() as i64 + 500_000_000;
    let _: i64 = redis::cmd("PEXPIREAT")
        .arg("big")
        .arg(at)
        .query(&mut c)
        .unwrap();
    m.exp.insert((0, b"big".to_vec()), at);
    for round in 0..3 {
        for i in 0..250 {
            step(&s, &mut c, &mut m, &mut rng, &KEYS);
            if i == 120 && round == 1 {
                match snap {
                    Snap::None => {}
                    Snap::Save => {
                        let _: String = redis::cmd("SAVE").query(&mut c).unwrap();
                    }
                    // Not waited for: the workload goes on while it runs.
                    Snap::Bgsave => {
                        let _: String = redis::cmd("BGSAVE").query(&mut c).unwrap();
                    }
                }
            }
        }
        assert_same(&server_state(&mut c), &m, &format!("live, round {round}"));
        if snap == Snap::Bgsave && round == 1 {
            wait_snapshot(&mut c, 1);
        }
        drop(c);
        // The first Server owns the temp dir: keep every old one until the end.
        let next = restart(&mut s);
        old.push(std::mem::replace(&mut s, next));
        c = s.client();
        assert_same(
            &server_state(&mut c),
            &m,
            &format!("after kill -9, round {round}, {snap:?}"),
        );
    }
    let snaps = std::fs::read_dir(s.dir.join("snapshots"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(snaps > 0, snap != Snap::None, "snapshot files: {snaps}");
    assert!(
        m.lists
            .get(&(0, b"big".to_vec()))
            .is_some_and(|l| l.len() > 1024),
        "the big list stayed big"
    );
}

#[test]
fn random_list_workload_survives_kill9_from_the_wal_alone() {
    random_life(1, Snap::None);
}

#[test]
fn random_list_workload_survives_kill9_after_a_save_and_more_writes() {
    random_life(2, Snap::Save);
}

#[test]
fn random_list_workload_survives_kill9_with_writes_during_a_bgsave() {
    random_life(3, Snap::Bgsave);
}

/// Big lists copied whole under one lock hold while another connection pops at both ends,
/// pushes, LSETs and LMOVEs them: snapshot + WAL tail gives exactly the last state.
#[test]
fn big_lists_changed_all_through_a_bgsave_recover_exactly_after_kill9() {
    let mut s = Server::start(&ARGS);
    let mut c = s.client();
    let mut m = Model::default();
    for k in ["big1", "big2", "big3"] {
        make_big(&mut c, &mut m, k, 5000);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let shared = Arc::new(Mutex::new(m));
    let writer = {
        let (stop, shared) = (stop.clone(), shared.clone());
        let mut w = s.client();
        std::thread::spawn(move || {
            let mut rng = StdRng::seed_from_u64(9);
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) || n < 200 {
                let k = ["big1", "big2", "big3"][rng.random_range(0..3)];
                let kk = (0u8, k.as_bytes().to_vec());
                let mut m = shared.lock().unwrap();
                match rng.random_range(0..5) {
                    0 => {
                        let got: Option<E> = redis::cmd("LPOP").arg(k).query(&mut w).unwrap();
                        assert_eq!(got, m.lists.get_mut(&kk).and_then(|l| l.pop_front()));
                    }
                    1 => {
                        let got: Option<E> = redis::cmd("RPOP").arg(k).query(&mut w).unwrap();
                        assert_eq!(got, m.lists.get_mut(&kk).and_then(|l| l.pop_back()));
                    }
                    2 => {
                        let e = format!("p{n}").into_bytes();
                        let _: usize = redis::cmd("LPUSH").arg(k).arg(&e).query(&mut w).unwrap();
                        m.lists.entry(kk).or_default().push_front(e);
                    }
                    3 => {
                        let l = m.lists.get_mut(&kk).unwrap();
                        let i = rng.random_range(0..l.len());
                        let e = format!("set{n}").into_bytes();
                        let _: String = redis::cmd("LSET")
                            .arg(k)
                            .arg(i)
                            .arg(&e)
                            .query(&mut w)
                            .unwrap();
                        l[i] = e;
                    }
                    _ => {
                        let d = ["big1", "big2", "big3"][rng.random_range(0..3)];
                        let got: Option<E> = redis::cmd("LMOVE")
                            .arg(k)
                            .arg(d)
                            .arg("RIGHT")
                            .arg("LEFT")
                            .query(&mut w)
                            .unwrap();
                        let e = m.lists.get_mut(&kk).and_then(|l| l.pop_back());
                        assert_eq!(got, e);
                        if let Some(e) = e {
                            m.lists
                                .entry((0, d.as_bytes().to_vec()))
                                .or_default()
                                .push_front(e);
                        }
                    }
                }
                n += 1;
            }
            n
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    for _ in 0..3 {
        let last = persistence(&mut c, "wal_last_seq");
        let _: String = redis::cmd("BGSAVE").query(&mut c).unwrap();
        wait_snapshot(&mut c, last);
    }
    stop.store(true, Ordering::Relaxed);
    let n = writer.join().unwrap();
    assert!(n >= 200, "{n} writes");
    let m = shared.lock().unwrap().clone();
    assert_same(&server_state(&mut c), &m, "live");
    drop(c);
    let mut s2 = restart(&mut s);
    let mut c = s2.client();
    assert_same(&server_state(&mut c), &m, "after kill -9");
    drop(c);
    let s3 = restart(&mut s2);
    let mut c = s3.client();
    assert_same(&server_state(&mut c), &m, "after a second kill -9");
}

/// A producer RPUSHes unique jobs, a consumer takes them with BLPOP (each served by a push
/// while it waits, or at once when jobs are queued): after kill -9 in the middle of it, no
/// job whose push was acknowledged is lost, none whose BLPOP reply arrived is back, and the
/// queue keeps push order. Then the same once more with both stopped first: exact.
#[test]
fn acknowledged_pushes_are_never_lost_and_received_pops_never_come_back() {
    let mut s = Server::start(&ARGS);
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let received = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let consumer = {
        let (received, stop) = (received.clone(), stop.clone());
        let mut c = s.client();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let r: redis::RedisResult<Option<(String, String)>> =
                    redis::cmd("BLPOP").arg("q").arg("0.2").query(&mut c);
                match r {
                    Ok(Some((_, job))) => received.lock().unwrap().push(job),
                    Ok(None) => {}
                    Err(_) => return,
                }
            }
        })
    };
    let producer = {
        let (acked, stop) = (acked.clone(), stop.clone());
        let mut c = s.client();
        std::thread::spawn(move || {
            let mut rng = StdRng::seed_from_u64(5);
            for i in 0..100_000 {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let job = format!("job-{i}");
                let r: redis::RedisResult<i64> =
                    redis::cmd("RPUSH").arg("q").arg(&job).query(&mut c);
                match r {
                    Ok(_) => acked.lock().unwrap().push(job),
                    Err(_) => return,
                }
                // Sometimes let the consumer wait (served by the next push), sometimes not.
                if rng.random_range(0..3) == 0 {
                    std::thread::sleep(Duration::from_millis(rng.random_range(0..3)));
                }
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while received.lock().unwrap().len() < 400 {
        assert!(Instant::now() < deadline, "the queue ran too slowly");
        std::thread::sleep(Duration::from_millis(5));
    }
    // kill -9 with both still running.
    let mut s2 = restart(&mut s);
    stop.store(true, Ordering::Relaxed);
    producer.join().unwrap();
    consumer.join().unwrap();
    let acked = acked.lock().unwrap().clone();
    let received = received.lock().unwrap().clone();
    let mut c = s2.client();
    let q: Vec<String> = redis::cmd("LRANGE")
        .arg("q")
        .arg(0)
        .arg(-1)
        .query(&mut c)
        .unwrap();
    let got: HashSet<&String> = q.iter().collect();
    let back: Vec<_> = received.iter().filter(|j| got.contains(j)).collect();
    assert!(back.is_empty(), "popped jobs came back: {back:?}");
    let rset: HashSet<&String> = received.iter().collect();
    let lost: Vec<_> = acked
        .iter()
        .filter(|j| !rset.contains(j) && !got.contains(j))
        .collect();
    // At most the one job the consumer's in-flight BLPOP took (durable pop, reply lost).
    assert!(lost.len() <= 1, "acknowledged pushes lost: {lost:?}");
    if let Some(j) = lost.first() {
        let idx = |j: &str| j[4..].parse::<u64>().unwrap();
        let before_q = q.first().map_or(u64::MAX, |h| idx(h));
        assert!(
            idx(j) < before_q,
            "a lost job {j} is not the one right before the queue head"
        );
    }
    // Order kept, and nothing that was never pushed.
    let idx: Vec<u64> = q.iter().map(|j| j[4..].parse().unwrap()).collect();
    assert!(idx.windows(2).all(|w| w[0] < w[1]), "queue order");
    assert!(received.len() >= 400);
    // The receipts were in order too: a FIFO queue.
    let ridx: Vec<u64> = received.iter().map(|j| j[4..].parse().unwrap()).collect();
    assert!(ridx.windows(2).all(|w| w[0] < w[1]), "receipt order");

    // Quiet phase: a few hundred push / blocked-pop pairs, the pop served while it waits.
    let _: i64 = redis::cmd("DEL").arg("q").query(&mut c).unwrap();
    let mut m = Model::default();
    for i in 0..300 {
        let job = format!("pair-{i}").into_bytes();
        let extra = format!("keep-{i}").into_bytes();
        let r = served_blocked(
            &s2,
            &mut c,
            0,
            vec![b"BLPOP".to_vec(), b"pq".to_vec(), b"0".to_vec()],
            vec![
                b"RPUSH".to_vec(),
                b"pq".to_vec(),
                job.clone(),
                extra.clone(),
            ],
        );
        assert_eq!(bulk(&arr(&r)[1]), job);
        // Leave the extra element in another list, so that `pq` is empty for the next pair.
        let got: Option<E> = redis::cmd("LMOVE")
            .arg("pq")
            .arg("kept")
            .arg("LEFT")
            .arg("RIGHT")
            .query(&mut c)
            .unwrap();
        assert_eq!(got.as_ref(), Some(&extra));
        m.lists
            .entry((0, b"kept".to_vec()))
            .or_default()
            .push_back(extra);
    }
    drop(c);
    let s3 = restart(&mut s2);
    let mut c = s3.client();
    assert_same(&server_state(&mut c), &m, "after the pairs and kill -9");
}

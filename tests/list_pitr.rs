//! `vaylix pitr restore` over a WAL full of list effects (pushes, counted pops, LSET,
//! LINSERT, LREM, LTRIM, LMOVE within and across lists, blocked BLPOP clients served by a
//! push, expiries) and snapshots holding a 5,000-element list (header + batches): the
//! restored dir at every target sequence holds exactly the lists the live server had then.

mod common;

use common::{now_ms, p, vaylix, Server};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use redis::Connection;
use serde_json::Value as Json;
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

type E = Vec<u8>;
/// key -> (elements head first, PEXPIRETIME or -1).
type Model = BTreeMap<E, (VecDeque<E>, i64)>;

fn info(c: &mut Connection, name: &str) -> u64 {
    common::info_field(c, name).parse().unwrap()
}

fn state(c: &mut Connection) -> Model {
    let mut m = Model::new();
    for k in common::all_keys(c) {
        let l: Vec<E> = redis::cmd("LRANGE")
            .arg(&k)
            .arg(0)
            .arg(-1)
            .query(c)
            .unwrap();
        let at: i64 = redis::cmd("PEXPIRETIME").arg(&k).query(c).unwrap();
        m.insert(k, (l.into_iter().collect(), at));
    }
    m
}

fn pop(l: &mut VecDeque<E>, left: bool) -> Option<E> {
    if left {
        l.pop_front()
    } else {
        l.pop_back()
    }
}

/// One random list write, applied to the model (only commands whose effect the model can
/// compute exactly from its own state).
fn step(srv: &Server, c: &mut Connection, m: &mut Model, rng: &mut StdRng) {
    let keys = ["a", "b", "c", "big"];
    let k = keys[rng.random_range(0..keys.len())];
    let kb = k.as_bytes().to_vec();
    let e = format!("e{}", rng.random_range(0..6)).into_bytes();
    let left: bool = rng.random();
    match rng.random_range(0..10) {
        0 | 1 => {
            let es = vec![e.clone(), b"\x00\xff".to_vec()];
            let _: i64 = redis::cmd(if left { "LPUSH" } else { "RPUSH" })
                .arg(k)
                .arg(&es)
                .query(c)
                .unwrap();
            let l = &mut m.entry(kb.clone()).or_insert((VecDeque::new(), -1)).0;
            for x in es {
                if left {
                    l.push_front(x)
                } else {
                    l.push_back(x)
                }
            }
        }
        2 => {
            let n = rng.random_range(1..3usize);
            let _: Option<Vec<E>> = redis::cmd(if left { "LPOP" } else { "RPOP" })
                .arg(k)
                .arg(n)
                .query(c)
                .unwrap();
            if let Some((l, _)) = m.get_mut(&kb) {
                for _ in 0..n {
                    pop(l, left);
                }
            }
        }
        3 => {
            if let Some((l, _)) = m.get_mut(&kb) {
                let i = rng.random_range(0..l.len());
                let _: String = redis::cmd("LSET").arg(k).arg(i).arg(&e).query(c).unwrap();
                l[i] = e;
            }
        }
        4 => {
            let _: i64 = redis::cmd("LINSERT")
                .arg(k)
                .arg("AFTER")
                .arg(b"\x00\xff")
                .arg(&e)
                .query(c)
                .unwrap();
            if let Some((l, _)) = m.get_mut(&kb) {
                if let Some(i) = l.iter().position(|x| x == b"\x00\xff") {
                    l.insert(i + 1, e);
                }
            }
        }
        5 => {
            let count: i64 = rng.random_range(-2..3);
            let _: i64 = redis::cmd("LREM")
                .arg(k)
                .arg(count)
                .arg(&e)
                .query(c)
                .unwrap();
            if let Some((l, _)) = m.get_mut(&kb) {
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
                for i in hits.into_iter().rev() {
                    l.remove(i);
                }
            }
        }
        6 if k != "big" => {
            let _: String = redis::cmd("LTRIM").arg(k).arg(1).arg(-2).query(c).unwrap();
            if let Some((l, _)) = m.get_mut(&kb) {
                if l.len() <= 2 {
                    l.clear();
                } else {
                    l.pop_front();
                    l.pop_back();
                }
            }
        }
        7 => {
            let d = keys[rng.random_range(0..keys.len())];
            let to: bool = rng.random();
            let _: Option<E> = redis::cmd("LMOVE")
                .arg(k)
                .arg(d)
                .arg(if left { "LEFT" } else { "RIGHT" })
                .arg(if to { "LEFT" } else { "RIGHT" })
                .query(c)
                .unwrap();
            if let Some(x) = m.get_mut(&kb).and_then(|(l, _)| pop(l, left)) {
                let dl = &mut m
                    .entry(d.as_bytes().to_vec())
                    .or_insert((VecDeque::new(), -1))
                    .0;
                if to {
                    dl.push_front(x)
                } else {
                    dl.push_back(x)
                }
            }
        }
        8 => {
            if let Some((_, at)) = m.get_mut(&kb) {
                let t = now_ms() as i64 + 300_000_000 + rng.random_range(0..1000);
                let _: i64 = redis::cmd("PEXPIREAT").arg(k).arg(t).query(c).unwrap();
                *at = t;
            }
        }
        _ => {
            // A blocked BLPOP on an empty key, served by a push: push and pop in one entry.
            let mut b = srv.client();
            let t = std::thread::spawn(move || {
                let r: Option<(E, E)> = redis::cmd("BLPOP").arg("w").arg(0).query(&mut b).unwrap();
                r
            });
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let i: String = redis::cmd("INFO").arg("clients").query(c).unwrap();
                if i.contains("\r\nblocked_clients:1\r\n") {
                    break;
                }
                assert!(Instant::now() < deadline, "BLPOP did not block");
                std::thread::sleep(Duration::from_millis(2));
            }
            // One element: the entry's push and pop leave no key behind.
            let _: i64 = redis::cmd("RPUSH").arg("w").arg("w1").query(c).unwrap();
            let got = t.join().unwrap();
            assert_eq!(got, Some((b"w".to_vec(), b"w1".to_vec())));
        }
    }
    m.retain(|_, (l, _)| !l.is_empty());
}

#[test]
fn pitr_restore_of_list_effects_gives_the_exact_lists_at_each_target() {
    let mut src = Server::start(&[
        "--wal-segment-size",
        "8192",
        "--snapshot-retain",
        "3",
        "--wal-retain-segments",
        "1000",
        "--snapshot-interval",
        "0",
    ]);
    let mut c = src.client();
    let mut rng = StdRng::seed_from_u64(21);
    let mut m = Model::new();
    let big: Vec<E> = (0..5000).map(|i| format!("big{i}").into_bytes()).collect();
    for part in big.chunks(1000) {
        let _: i64 = redis::cmd("RPUSH")
            .arg("big")
            .arg(part)
            .query(&mut c)
            .unwrap();
    }
    m.insert(b"big".to_vec(), (big.into_iter().collect(), -1));
    let mut states: BTreeMap<u64, Model> = BTreeMap::new();
    states.insert(info(&mut c, "wal_last_seq"), m.clone());
    for i in 0..300 {
        step(&src, &mut c, &mut m, &mut rng);
        let seq = info(&mut c, "wal_last_seq");
        states.insert(seq, m.clone());
        if i == 100 {
            let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
        } else if i == 200 {
            let _: String = redis::cmd("BGSAVE").query(&mut c).unwrap();
            let deadline = Instant::now() + Duration::from_secs(20);
            while !(info(&mut c, "snapshot_last_seq") >= seq
                && info(&mut c, "snapshot_in_progress") == 0)
            {
                assert!(Instant::now() < deadline, "BGSAVE did not finish");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    assert_eq!(state(&mut c), m, "live");
    let last = info(&mut c, "wal_last_seq");
    drop(c);
    src.kill9();

    let (code, out, err) = vaylix(&["pitr", "inspect", "--data-dir", p(&src.dir), "--json"]);
    assert_eq!(code, 0, "{err}");
    let insp: Json = serde_json::from_str(&out).unwrap();
    let snaps: Vec<u64> = insp["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["seq"].as_u64().unwrap())
        .collect();
    assert!(snaps.len() >= 2, "{insp}");
    let mut targets: Vec<u64> = vec![5, last / 3, last / 2, last - 1, last];
    for s in &snaps {
        targets.extend([s - 1, *s, s + 1]);
    }
    targets.retain(|t| *t <= last && *t >= 5);
    targets.sort_unstable();
    targets.dedup();
    let tmp = tempfile::tempdir().unwrap();
    for n in targets {
        let want = states.range(..=n).next_back().unwrap().1;
        let t = tmp.path().join(format!("at-{n}"));
        let (code, _, err) = vaylix(&[
            "pitr",
            "restore",
            "--source-dir",
            p(&src.dir),
            "--target-dir",
            p(&t),
            "--to-sequence",
            &n.to_string(),
            "--json",
        ]);
        assert_eq!(code, 0, "restore to {n}: {err}");
        let (vcode, vout, _) = vaylix(&["storage", "verify", "--data-dir", p(&t)]);
        assert_eq!(vcode, 0, "restored dir at {n} verifies: {vout}");
        let restored = Server::start_in(&t, &[]);
        let mut rc = restored.client();
        let got = state(&mut rc);
        if &got != want {
            let diff: Vec<_> = want
                .iter()
                .filter(|(k, v)| got.get(*k) != Some(*v))
                .map(|(k, v)| {
                    (
                        String::from_utf8_lossy(k).into_owned(),
                        v.0.len(),
                        got.get(k).map(|g| g.0.len()),
                    )
                })
                .collect();
            panic!(
                "restore to {n}: differs from the live state then: {diff:?}; extra keys {:?}",
                got.keys()
                    .filter(|k| !want.contains_key(*k))
                    .collect::<Vec<_>>()
            );
        }
    }
}

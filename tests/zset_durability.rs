//! Sorted sets on the real binary under `appendfsync always`: a kill -9 restart keeps every
//! member and score bit for bit (the score text Redis would send: 0.1, 1e300, the smallest
//! subnormal, ±inf, ZINCRBY sums, -0 in a skiplist), TTLs, versions, the encoding, removals
//! and *STORE destinations, with and without a snapshot (BGSAVE, finished or still running)
//! before more writes; a second restart changes nothing.
//!
//! The expected score texts were checked against redis-server 7.0.15.

mod common;

use common::{info_field, now_ms, Server};
use redis::Commands;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const ARGS: [&str; 4] = ["--appendfsync", "always", "--snapshot-interval", "0"];
const BIG: usize = 20_000;

/// Everything a client can see of a key: its type, its members with scores as sent (ZRANGE
/// 0 -1 WITHSCORES, raw bytes), its encoding, absolute expiry (ms) and version.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    kind: String,
    content: Vec<Vec<u8>>,
    encoding: String,
    expire_at_ms: i64,
    version: u64,
}

fn state(c: &mut redis::Connection) -> BTreeMap<Vec<u8>, Seen> {
    let mut out = BTreeMap::new();
    for k in common::all_keys(c) {
        let kind: String = redis::cmd("TYPE").arg(&k).query(c).unwrap();
        let content: Vec<Vec<u8>> = match kind.as_str() {
            "zset" => redis::cmd("ZRANGE")
                .arg(&k)
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES")
                .query(c)
                .unwrap(),
            "string" => vec![c.get(&k).unwrap()],
            other => panic!("unexpected type {other}"),
        };
        let encoding: String = redis::cmd("OBJECT")
            .arg("ENCODING")
            .arg(&k)
            .query(c)
            .unwrap();
        let expire_at_ms: i64 = redis::cmd("PEXPIRETIME").arg(&k).query(c).unwrap();
        let version: u64 = redis::cmd("VERSION").arg(&k).query(c).unwrap();
        out.insert(
            k,
            Seen {
                kind,
                content,
                encoding,
                expire_at_ms,
                version,
            },
        );
    }
    out
}

fn q<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c)
        .unwrap_or_else(|e| panic!("{}: {e}", args.join(" ")))
}

fn zscore(c: &mut redis::Connection, key: &str, m: &str) -> Option<String> {
    q(c, &["ZSCORE", key, m])
}

fn encoding(c: &mut redis::Connection, key: &str) -> String {
    q(c, &["OBJECT", "ENCODING", key])
}

/// Writes through every zset delta: ZADD (new, updated, NX/XX/GT/LT, INCR), ZINCRBY, ZREM,
/// ZPOPMIN/ZPOPMAX/ZMPOP, ZREMRANGEBY{SCORE,RANK,LEX}, the *STORE commands, TTLs, binary
/// members, both encodings, and a zset of BIG members (snapshotted as a header and batches).
fn write_zsets(c: &mut redis::Connection) {
    // Score texts (listpack).
    let _: i64 = q(
        c,
        &[
            "ZADD",
            "scores",
            "0.1",
            "tenth",
            "1e300",
            "huge",
            "5e-324",
            "subnormal",
            "inf",
            "pinf",
            "-inf",
            "ninf",
            "-0",
            "negzero",
            "1.7976931348623157e308",
            "max",
            "-2.5e-10",
            "small",
            "12345678901234567",
            "bigint",
            "3",
            "three",
        ],
    );
    let _: String = q(c, &["ZINCRBY", "scores", "0.1", "sum"]);
    let _: String = q(c, &["ZINCRBY", "scores", "0.2", "sum"]);
    let _: String = q(c, &["ZADD", "scores", "INCR", "0.7", "tenth"]);
    let _: i64 = q(
        c,
        &["ZADD", "scores", "GT", "CH", "2", "three", "4", "three"],
    );
    let _: i64 = q(c, &["ZADD", "scores", "LT", "-1e-5", "small"]);
    let _: i64 = q(c, &["ZADD", "scores", "NX", "9", "three", "9", "nx-new"]);
    let _: i64 = q(
        c,
        &["ZADD", "scores", "XX", "7", "bigint", "7", "xx-absent"],
    );

    // -0 in a skiplist stays "-0" (a listpack shows it as "0", as Redis does).
    let args: Vec<String> = (0..200)
        .flat_map(|i| [i.to_string(), format!("s{i}")])
        .collect();
    let mut cmd = redis::cmd("ZADD");
    cmd.arg("skip").arg(&args);
    let _: i64 = cmd.query(c).unwrap();
    let _: i64 = q(
        c,
        &[
            "ZADD", "skip", "-0", "negzero", "0.1", "tenth", "-inf", "ninf",
        ],
    );
    let _: String = q(c, &["ZINCRBY", "skip", "0.1", "sum"]);
    let _: String = q(c, &["ZINCRBY", "skip", "0.2", "sum"]);
    let _: i64 = q(c, &["ZREM", "skip", "s5", "s6"]);

    // A member longer than zset-max-listpack-value makes a skiplist of 2.
    let long = "L".repeat(65);
    let _: i64 = q(c, &["ZADD", "longmember", "1", &long, "2", "short"]);
    let _: i64 = c.zadd("bin", &b"\x00\xff\r\nm"[..], 1.5).unwrap();
    let _: i64 = c.zadd("bin", &b""[..], -3).unwrap();

    // Removals.
    for key in ["pop", "ranges"] {
        let args: Vec<String> = (0..20)
            .flat_map(|i| [i.to_string(), format!("m{i:02}")])
            .collect();
        let mut cmd = redis::cmd("ZADD");
        cmd.arg(key).arg(&args);
        let _: i64 = cmd.query(c).unwrap();
    }
    let _: Vec<String> = q(c, &["ZPOPMIN", "pop", "3"]);
    let _: Vec<String> = q(c, &["ZPOPMAX", "pop", "2"]);
    let _: redis::Value = q(c, &["ZMPOP", "1", "pop", "MIN", "COUNT", "2"]);
    let _: i64 = q(c, &["ZREM", "pop", "m10", "absent"]);
    let _: i64 = q(c, &["ZREMRANGEBYSCORE", "ranges", "(2", "5"]);
    let _: i64 = q(c, &["ZREMRANGEBYRANK", "ranges", "-3", "-1"]);
    let _: i64 = q(c, &["ZREMRANGEBYLEX", "ranges", "[m10", "(m13"]);
    let _: i64 = q(c, &["ZADD", "emptied", "1", "a", "2", "b"]);
    let _: Vec<String> = q(c, &["ZPOPMIN", "emptied", "5"]);

    // Destinations.
    let _: i64 = q(c, &["ZADD", "u1", "0.1", "a", "1", "b", "inf", "c"]);
    let _: i64 = q(c, &["ZADD", "u2", "0.2", "a", "2", "b", "5e-324", "d"]);
    let _: i64 = q(
        c,
        &[
            "ZUNIONSTORE",
            "union",
            "2",
            "u1",
            "u2",
            "WEIGHTS",
            "3",
            "0.7",
        ],
    );
    let _: i64 = q(
        c,
        &["ZINTERSTORE", "inter", "2", "u1", "u2", "AGGREGATE", "MAX"],
    );
    let _: i64 = q(c, &["ZDIFFSTORE", "diff", "2", "u1", "u2"]);
    let _: i64 = q(
        c,
        &[
            "ZRANGESTORE",
            "rstore",
            "skip",
            "(10",
            "+inf",
            "BYSCORE",
            "LIMIT",
            "2",
            "150",
        ],
    );
    let _: i64 = q(c, &["ZUNIONSTORE", "bigunion", "2", "skip", "u1"]);

    // TTLs: set before and after more writes, and one on a skiplist.
    let _: i64 = q(c, &["ZADD", "ttl", "1", "a"]);
    let _: i64 = q(c, &["PEXPIRE", "ttl", "50000000"]);
    let _: i64 = q(c, &["ZADD", "ttl", "2", "b"]);
    let _: i64 = q(c, &["PEXPIRE", "skip", "60000000"]);

    // The big one, in chunks.
    for start in (0..BIG).step_by(1000) {
        let args: Vec<String> = (start..start + 1000)
            .flat_map(|i| [format!("{}", i as f64 * 0.1), format!("big-{i:05}")])
            .collect();
        let mut cmd = redis::cmd("ZADD");
        cmd.arg("big").arg(&args);
        let _: i64 = cmd.query(c).unwrap();
    }
    let _: i64 = q(c, &["ZREM", "big", "big-00007", "big-19999"]);
    let _: String = q(c, &["ZINCRBY", "big", "0.2", "big-00001"]);
    let _: i64 = q(c, &["ZADD", "big", "-0", "big-negzero"]);
    let _: Vec<String> = q(c, &["ZPOPMIN", "big", "2"]);
    let _: i64 = q(c, &["PEXPIRE", "big", "70000000"]);

    let _: () = c.set("plain", "a string too").unwrap();
}

/// Writes after a snapshot (or while it runs): they replay on top of it.
fn write_more(c: &mut redis::Connection) {
    let _: i64 = q(
        c,
        &[
            "ZADD",
            "big",
            "0.30000000000000004",
            "after",
            "inf",
            "big-00100",
        ],
    );
    let _: i64 = q(c, &["ZREM", "big", "big-00200", "big-10000"]);
    let _: String = q(c, &["ZINCRBY", "big", "0.1", "big-00002"]);
    let _: i64 = q(c, &["ZREMRANGEBYSCORE", "big", "(1000", "1000.5"]);
    let _: Vec<String> = q(c, &["ZPOPMAX", "big", "3"]);
    let _: i64 = q(c, &["ZADD", "skip", "-0", "negzero2"]);
    let _: i64 = q(c, &["ZREM", "scores", "huge"]);
    let _: Vec<String> = q(c, &["ZPOPMIN", "pop", "1"]);
    let _: i64 = q(
        c,
        &["ZUNIONSTORE", "union", "2", "u1", "u2", "AGGREGATE", "MIN"],
    );
    let _: i64 = q(c, &["ZADD", "new-after", "1e-300", "x"]);
    let _: i64 = q(c, &["PEXPIRE", "new-after", "40000000"]);
}

/// Redis's replies for the keys written above (checked against redis-server 7.0.15).
fn check_known_values(c: &mut redis::Connection, after_more: bool) {
    let expect = [
        ("scores", "tenth", Some("0.79999999999999993")),
        ("scores", "subnormal", Some("4.9406564584124654e-324")),
        ("scores", "pinf", Some("inf")),
        ("scores", "ninf", Some("-inf")),
        ("scores", "negzero", Some("0")),
        ("scores", "max", Some("1.7976931348623157e+308")),
        ("scores", "small", Some("-1.0000000000000001e-05")),
        ("scores", "bigint", Some("7")),
        ("scores", "sum", Some("0.30000000000000004")),
        ("scores", "three", Some("4")),
        ("scores", "nx-new", Some("9")),
        ("scores", "xx-absent", None),
        ("skip", "negzero", Some("-0")),
        ("skip", "tenth", Some("0.10000000000000001")),
        ("skip", "sum", Some("0.30000000000000004")),
        ("skip", "ninf", Some("-inf")),
        ("skip", "s5", None),
        ("skip", "s199", Some("199")),
        ("bin", "", Some("-3")),
        ("pop", "m00", None),
        ("pop", "m04", None),
        ("pop", "m10", None),
        ("pop", "m18", None),
        ("pop", "m17", Some("17")),
        ("ranges", "m03", None),
        ("ranges", "m05", None),
        ("ranges", "m02", Some("2")),
        ("ranges", "m06", Some("6")),
        ("ranges", "m11", None),
        ("ranges", "m13", Some("13")),
        ("ranges", "m00", Some("0")),
        ("ranges", "m16", Some("16")),
        ("ranges", "m17", None),
        ("ranges", "m19", None),
        ("inter", "b", Some("2")),
        ("diff", "c", Some("inf")),
        ("bigunion", "c", Some("inf")),
        ("big", "big-00000", None),
        ("big", "big-00007", None),
        ("big", "big-19999", None),
        ("big", "big-negzero", None),
        ("big", "big-00001", Some("0.30000000000000004")),
        ("big", "big-00003", Some("0.30000000000000004")),
        ("big", "big-12345", Some("1234.5")),
    ];
    for (key, m, want) in expect {
        assert_eq!(zscore(c, key, m).as_deref(), want, "ZSCORE {key} {m}");
    }
    let exists: i64 = q(c, &["EXISTS", "emptied", "xx-absent"]);
    assert_eq!(exists, 0, "an emptied zset stays gone");
    let union: Vec<String> = q(c, &["ZRANGE", "union", "0", "-1", "WITHSCORES"]);
    let inter: Vec<String> = q(c, &["ZRANGE", "inter", "0", "-1", "WITHSCORES"]);
    let rstore: i64 = q(c, &["ZCARD", "rstore"]);
    assert_eq!(inter, ["a", "0.20000000000000001", "b", "2"]);
    assert_eq!(rstore, 150);
    let rfirst: Vec<String> = q(c, &["ZRANGE", "rstore", "0", "0", "WITHSCORES"]);
    assert_eq!(rfirst, ["s13", "13"]);
    let big_card: i64 = q(c, &["ZCARD", "big"]);
    let long = "L".repeat(65);
    assert_eq!(zscore(c, "longmember", &long).as_deref(), Some("1"));
    let bin: Option<String> = c.zscore("bin", &b"\x00\xff\r\nm"[..]).unwrap();
    assert_eq!(bin.as_deref(), Some("1.5"));
    if after_more {
        assert_eq!(
            union,
            [
                "d",
                "4.9406564584124654e-324",
                "a",
                "0.10000000000000001",
                "b",
                "1",
                "c",
                "inf"
            ]
        );
        assert_eq!(
            zscore(c, "big", "after").as_deref(),
            Some("0.30000000000000004")
        );
        assert_eq!(
            zscore(c, "big", "big-00002").as_deref(),
            Some("0.30000000000000004")
        );
        for gone in [
            "big-00100",
            "big-00200",
            "big-10000",
            "big-10001",
            "big-10005",
            "big-19998",
        ] {
            assert_eq!(zscore(c, "big", gone), None, "{gone} stays removed");
        }
        assert_eq!(zscore(c, "big", "big-10006").as_deref(), Some("1000.6"));
        assert_eq!(zscore(c, "skip", "negzero2").as_deref(), Some("-0"));
        assert_eq!(zscore(c, "scores", "huge"), None);
        assert_eq!(zscore(c, "pop", "m05"), None);
        assert_eq!(zscore(c, "new-after", "x").as_deref(), Some("1e-300"));
        // 20,000 - 2 ZREM - 2 ZPOPMIN (big-negzero, big-00000) + 1 -0 member
        // + 1 new - 2 ZREM - 5 (1000, 1000.5] - 3 ZPOPMAX.
        assert_eq!(big_card, BIG as i64 - 3 + 1 - 2 - 5 - 3);
    } else {
        assert_eq!(
            union,
            [
                "d",
                "4.9406564584124654e-324",
                "a",
                "0.44000000000000006",
                "b",
                "4.4000000000000004",
                "c",
                "inf"
            ]
        );
        assert_eq!(
            zscore(c, "scores", "huge").as_deref(),
            Some("1.0000000000000001e+300")
        );
        assert_eq!(zscore(c, "pop", "m05").as_deref(), Some("5"));
        assert_eq!(
            zscore(c, "big", "big-00002").as_deref(),
            Some("0.20000000000000001")
        );
        assert_eq!(
            zscore(c, "big", "big-19998").as_deref(),
            Some("1999.8000000000002")
        );
        assert_eq!(big_card, BIG as i64 - 3);
    }
    // Encodings.
    for (key, enc) in [
        ("scores", "listpack"),
        ("pop", "listpack"),
        ("union", "listpack"),
        ("skip", "skiplist"),
        ("longmember", "skiplist"),
        ("rstore", "skiplist"),
        ("big", "skiplist"),
    ] {
        assert_eq!(encoding(c, key), enc, "OBJECT ENCODING {key}");
    }
    // TTLs are still there and close to what was set.
    for (key, ms) in [
        ("ttl", 50_000_000i64),
        ("skip", 60_000_000),
        ("big", 70_000_000),
    ] {
        let pttl: i64 = q(c, &["PTTL", key]);
        assert!(
            pttl <= ms && pttl > ms - 60_000,
            "PTTL {key} = {pttl}, set to {ms}"
        );
    }
}

fn restart(s: &mut Server) -> Server {
    s.kill9();
    let dir = s.dir.clone();
    Server::start_in(&dir, &ARGS)
}

fn persistence(c: &mut redis::Connection, name: &str) -> u64 {
    info_field(c, name).parse().unwrap()
}

/// BGSAVE, then waits (bounded) until a finished snapshot covers every write so far.
fn bgsave_and_wait(c: &mut redis::Connection) {
    let last = persistence(c, "wal_last_seq");
    let _: String = q(c, &["BGSAVE"]);
    wait_snapshot(c, last);
}

fn wait_snapshot(c: &mut redis::Connection, seq: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if persistence(c, "snapshot_last_seq") >= seq && persistence(c, "snapshot_in_progress") == 0
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "BGSAVE did not finish within 20 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn snap_files(dir: &std::path::Path) -> usize {
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(".snap") {
                n += 1;
            }
        }
    }
    n
}

#[derive(Clone, Copy, Debug)]
enum Snapshot {
    None,
    /// A BGSAVE that finished before the later writes.
    Finished,
    /// Later writes sent while the BGSAVE runs (the big zset is taken a batch at a time).
    Running,
}

fn check_restarts_keep_everything(snap: Snapshot) {
    let mut s = Server::start(&ARGS);
    let mut c = s.client();
    write_zsets(&mut c);
    check_known_values(&mut c, false);
    let after_more = !matches!(snap, Snapshot::None);
    match snap {
        Snapshot::None => {}
        Snapshot::Finished => {
            bgsave_and_wait(&mut c);
            write_more(&mut c);
        }
        Snapshot::Running => {
            let _: String = q(&mut c, &["BGSAVE"]);
            write_more(&mut c);
            // Whatever the snapshot covered, the rest replays from the WAL.
            wait_snapshot(&mut c, 1);
        }
    }
    if after_more {
        check_known_values(&mut c, true);
    }
    let before = state(&mut c);
    let t0 = now_ms();
    assert!(before.len() > 15, "{} keys", before.len());
    drop(c);

    let mut s2 = restart(&mut s);
    if !matches!(snap, Snapshot::None) {
        assert!(snap_files(&s.dir) > 0, "a snapshot was written");
    }
    let mut c = s2.client();
    let after = state(&mut c);
    for (k, v) in &before {
        assert_eq!(
            Some(v),
            after.get(k),
            "key {} after a kill -9 restart ({snap:?})",
            String::from_utf8_lossy(k)
        );
    }
    assert_eq!(
        before.len(),
        after.len(),
        "no key came back or appeared ({snap:?})"
    );
    check_known_values(&mut c, after_more);
    assert!(now_ms() - t0 < 60_000);
    drop(c);

    let s3 = restart(&mut s2);
    let again = state(&mut s3.client());
    assert!(after == again, "second restart changes nothing ({snap:?})");
    drop(s3);
    // `s` owns the temp dir: dropped last.
    drop(s);
}

#[test]
fn kill9_restart_keeps_zsets_exactly_without_a_snapshot() {
    check_restarts_keep_everything(Snapshot::None);
}

#[test]
fn kill9_restart_keeps_zsets_exactly_after_a_finished_bgsave_and_later_writes() {
    check_restarts_keep_everything(Snapshot::Finished);
}

#[test]
fn kill9_restart_keeps_zsets_exactly_with_writes_during_a_bgsave() {
    check_restarts_keep_everything(Snapshot::Running);
}

/// A zset large enough that its snapshot walk takes a while, changed all through the walk:
/// members removed and re-added with new scores on both sides of the cursor, and most of
/// it removed at once (the sorted index renumbers its slots under the cursor). The restart
/// must show exactly the state before the kill.
#[test]
fn kill9_restart_keeps_a_big_zset_changed_all_through_its_snapshot_walk() {
    const N: u64 = 100_000;
    let mut s = Server::start(&ARGS);
    let mut c = s.client();
    // Scores scattered against the insertion (slot) order; some fractional, some -0.
    let score = |i: u64| -> String {
        let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
        match i % 7 {
            0 => format!("{}", h as f64 * 0.1),
            1 => format!("{}", -(h as f64) / 3.0),
            2 => "-0".to_string(),
            _ => h.to_string(),
        }
    };
    // The walk sleeps 3 ms per batch it writes (about 100 batches), so the removals below
    // land in the middle of it even on a fast or a loaded machine.
    let _: String = q(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "3000"]);
    let mut during = 0;
    let mut overlapped = false;
    // The snapshot may finish before the removal lands: then fill the zset again and retry.
    for attempt in 0..5 {
        for start in (0..N).step_by(5000) {
            let args: Vec<String> = (start..start + 5000)
                .flat_map(|i| [score(i), format!("w-{i:06}")])
                .collect();
            let mut cmd = redis::cmd("ZADD");
            cmd.arg("walk").arg(&args);
            let _: i64 = cmd.query(&mut c).unwrap();
        }
        assert_eq!(encoding(&mut c, "walk"), "skiplist");
        if attempt > 0 {
            wait_snapshot(&mut c, 1);
        }
        let _: String = q(&mut c, &["BGSAVE"]);
        let mut removed_most = false;
        for round in 0u64..2000 {
            let running = persistence(&mut c, "snapshot_in_progress") == 1;
            if running {
                during += 1;
            } else if removed_most && round > 10 {
                break;
            }
            let mut p = redis::pipe();
            for j in 0..20u64 {
                let i = (round * 7919 + j * 4999) % N;
                let m = format!("w-{i:06}");
                match j % 4 {
                    0 => p.cmd("ZREM").arg("walk").arg(&m),
                    1 => p.cmd("ZADD").arg("walk").arg(score(i + 1)).arg(&m),
                    2 => p.cmd("ZINCRBY").arg("walk").arg("0.1").arg(&m),
                    _ => p
                        .cmd("ZADD")
                        .arg("walk")
                        .arg("-0")
                        .arg(format!("new-{attempt}-{round}-{j}")),
                };
            }
            let _: redis::Value = p.query(&mut c).unwrap();
            if !removed_most || running {
                // Leaves under a quarter of the slots live: they renumber (while the walk
                // may be between two batches); then as many new members refill it.
                let n: i64 = q(&mut c, &["ZREMRANGEBYRANK", "walk", "0", "-20001"]);
                assert!(n >= 60_000, "{n} removed");
                let args: Vec<String> = (0..80_000u64)
                    .flat_map(|i| [score(i), format!("fill-{attempt}-{round}-{i}")])
                    .collect();
                let mut cmd = redis::cmd("ZADD");
                cmd.arg("walk").arg(&args);
                let _: i64 = cmd.query(&mut c).unwrap();
                removed_most = true;
                overlapped |= running;
            }
        }
        if overlapped {
            break;
        }
    }
    assert!(
        overlapped,
        "in 5 tries no removal ran in the middle of a snapshot"
    );
    wait_snapshot(&mut c, 1);
    let _: String = q(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    eprintln!("{during} write rounds ran while the snapshot was in progress");
    let before = state(&mut c);
    let card: i64 = q(&mut c, &["ZCARD", "walk"]);
    assert!(card > 90_000 && card < 120_000, "ZCARD {card}");
    drop(c);
    let mut s2 = restart(&mut s);
    let after = state(&mut s2.client());
    assert!(
        before == after,
        "the big zset differs after the restart ({during} rounds during the snapshot)"
    );
    let s3 = restart(&mut s2);
    let again = state(&mut s3.client());
    assert!(after == again, "second restart changes nothing");
    drop(s3);
    drop(s);
}

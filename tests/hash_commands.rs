//! Hash commands on the real binary, where the redis-py suite cannot see: what they write to
//! the WAL (the fields written, never the whole hash; nothing for a write that changes nothing
//! or for a read, HRANDFIELD included) and what survives kill -9, with and without a snapshot.

mod common;

use common::{info_field, version, Server};
use redis::Commands;

fn wal_seq(c: &mut redis::Connection) -> u64 {
    info_field(c, "wal_last_seq").parse().unwrap()
}

fn wal_bytes(c: &mut redis::Connection) -> u64 {
    info_field(c, "wal_bytes_since_snapshot").parse().unwrap()
}

fn q<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[&[u8]]) -> T {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).unwrap());
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c).unwrap()
}

#[test]
fn hash_writes_that_change_nothing_log_nothing_and_leave_watch_alone() {
    let srv = Server::start(&[]);
    let mut c = srv.client();
    let mut other = srv.client();
    let _: i64 = q(&mut c, &[b"HSET", b"h", b"a", b"1", b"b", b"2"]);
    let v0 = version(&mut c, "h");
    let seq0 = wal_seq(&mut c);
    assert!(v0.is_some() && seq0 > 0);

    let _: () = redis::cmd("WATCH").arg("h").query(&mut c).unwrap();
    assert_eq!(q::<i64>(&mut other, &[b"HSETNX", b"h", b"a", b"9"]), 0);
    assert_eq!(q::<i64>(&mut other, &[b"HDEL", b"h", b"zz", b"yy"]), 0);
    assert_eq!(q::<i64>(&mut other, &[b"HDEL", b"nokey", b"a"]), 0);
    // HINCRBY / HINCRBYFLOAT refused: nothing written either.
    let _: () = q(&mut other, &[b"HSET", b"h2", b"s", b"abc"]);
    let seq_h2 = wal_seq(&mut other);
    assert!(redis::cmd("HINCRBY")
        .arg("h2")
        .arg("s")
        .arg(1)
        .query::<i64>(&mut other)
        .is_err());
    assert!(redis::cmd("HINCRBYFLOAT")
        .arg("h2")
        .arg("s")
        .arg("1")
        .query::<String>(&mut other)
        .is_err());
    assert_eq!(wal_seq(&mut other), seq_h2);
    // Reads, HRANDFIELD's randomness included, write nothing.
    for cmd in [
        &[&b"HRANDFIELD"[..], b"h"][..],
        &[b"HRANDFIELD", b"h", b"-5", b"WITHVALUES"],
        &[b"HRANDFIELD", b"h", b"1"],
        &[b"HSCAN", b"h", b"0"],
        &[b"HGETALL", b"h"],
        &[b"HMGET", b"h", b"a", b"x"],
        &[b"HLEN", b"h"],
        &[b"HSTRLEN", b"h", b"a"],
        &[b"HKEYS", b"h"],
        &[b"HVALS", b"h"],
        &[b"HEXISTS", b"h", b"a"],
        &[b"HGET", b"h", b"a"],
    ] {
        let _: redis::Value = q(&mut other, cmd);
    }
    assert_eq!(wal_seq(&mut other), seq_h2);
    assert_eq!(version(&mut other, "h"), v0);
    assert_eq!(version(&mut other, "nokey"), None);

    // The no-ops did not fire the WATCH.
    let _: () = redis::cmd("MULTI").query(&mut c).unwrap();
    let _: () = redis::cmd("HSET")
        .arg("h")
        .arg("c")
        .arg("3")
        .query(&mut c)
        .unwrap();
    let exec: Option<Vec<i64>> = redis::cmd("EXEC").query(&mut c).unwrap();
    assert_eq!(exec, Some(vec![1]));

    // A real change does: new version, logged, WATCH fired.
    let v1 = version(&mut c, "h");
    assert!(v1 > v0);
    let _: () = redis::cmd("WATCH").arg("h").query(&mut c).unwrap();
    assert_eq!(q::<i64>(&mut other, &[b"HSETNX", b"h", b"d", b"4"]), 1);
    assert!(version(&mut other, "h") > v1);
    let _: () = redis::cmd("MULTI").query(&mut c).unwrap();
    let _: () = redis::cmd("HLEN").arg("h").query(&mut c).unwrap();
    let exec: Option<Vec<i64>> = redis::cmd("EXEC").query(&mut c).unwrap();
    assert_eq!(exec, None);
}

#[test]
fn one_field_write_to_a_big_hash_logs_a_delta_not_the_hash() {
    let srv = Server::start(&[]);
    let mut c = srv.client();
    let value = "v".repeat(100);
    let pairs: Vec<(String, &str)> = (0..1000).map(|i| (format!("f{i}"), &value[..])).collect();
    let _: () = c.hset_multiple("big", &pairs).unwrap();
    let whole = wal_bytes(&mut c);
    assert!(whole > 100_000, "the first HSET logs the fields: {whole}");
    let writes: [&[&[u8]]; 5] = [
        &[b"HSET", b"big", b"f0", b"new"],
        &[b"HSETNX", b"big", b"brand-new", b"1"],
        &[b"HINCRBY", b"big", b"n", b"7"],
        &[b"HINCRBYFLOAT", b"big", b"x", b"0.25"],
        &[b"HDEL", b"big", b"f1", b"f2"],
    ];
    for w in writes {
        let before = wal_bytes(&mut c);
        let _: redis::Value = q(&mut c, w);
        let grew = wal_bytes(&mut c) - before;
        assert!(
            grew > 0 && grew < 1024,
            "{:?} logged {grew} bytes",
            String::from_utf8_lossy(w[0])
        );
    }
    assert_eq!(c.hget::<_, _, String>("big", "x").unwrap(), "0.25");
    assert_eq!(c.hlen::<_, usize>("big").unwrap(), 1001);
}

/// Every hash as (key, sorted pairs, has TTL, version).
type HashState = Vec<(Vec<u8>, Vec<(Vec<u8>, Vec<u8>)>, bool, Option<u64>)>;

fn hash_state(c: &mut redis::Connection) -> HashState {
    let mut keys: Vec<Vec<u8>> = c.keys("*").unwrap();
    keys.sort();
    keys.into_iter()
        .map(|k| {
            let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = c.hgetall(&k).unwrap();
            pairs.sort();
            let ttl: i64 = c.pttl(&k).unwrap();
            let ver = version(c, &k);
            (k, pairs, ttl > 0, ver)
        })
        .collect()
}

fn write_hashes(c: &mut redis::Connection, round: u32) {
    let big: Vec<(String, String)> = (0..700)
        .map(|i| (format!("f{i}"), format!("v{i}-{round}")))
        .collect();
    let _: () = c.hset_multiple("big", &big).unwrap();
    let _: () = c.hdel("big", &["f3", "f4", "nope"]).unwrap();
    let _: () = q(
        &mut *c,
        &[b"HSET", b"bin\x00", b"\x00\xff", b"\r\n", b"", b""],
    );
    let _: () = q(&mut *c, &[b"HSETNX", b"bin\x00", b"\x00\xff", b"ignored"]);
    let _: () = q(&mut *c, &[b"HINCRBY", b"n", b"i", b"-41"]);
    let _: () = q(&mut *c, &[b"HINCRBYFLOAT", b"n", b"f", b"0.1"]);
    let _: () = q(&mut *c, &[b"HINCRBYFLOAT", b"n", b"f", b"3.0e3"]);
    let _: () = q(&mut *c, &[b"HMSET", b"ttl", b"a", b"1", b"b", b"2"]);
    let _: () = c.expire("ttl", 1000).unwrap();
    let _: () = q(&mut *c, &[b"HSET", b"gone", b"a", b"1"]);
    let _: () = q(&mut *c, &[b"HDEL", b"gone", b"a"]);
    let long = "x".repeat(100);
    let _: () = q(&mut *c, &[b"HSET", b"wide", b"f", long.as_bytes()]);
}

#[test]
fn hashes_survive_kill9_byte_exactly_with_and_without_a_snapshot() {
    let mut srv = Server::start(&[]);
    let mut c = srv.client();
    write_hashes(&mut c, 1);
    let before = hash_state(&mut c);
    assert_eq!(before.len(), 5, "{before:?}");
    assert!(before.iter().all(|(k, ..)| k != b"gone"));
    let n: Vec<(Vec<u8>, Vec<u8>)> = c.hgetall("n").unwrap();
    assert!(n.contains(&(b"f".to_vec(), b"3000.10000000000000009".to_vec())));
    drop(c);
    srv.kill9();
    let dir = srv.dir.clone();

    let mut srv = Server::start_in(&dir, &[]);
    let mut c = srv.client();
    assert_eq!(hash_state(&mut c), before, "after kill -9 (WAL replay)");
    let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    write_hashes(&mut c, 2);
    let after = hash_state(&mut c);
    assert_ne!(after, before);
    drop(c);
    srv.kill9();

    for pass in ["snapshot + WAL", "restarted twice"] {
        let mut srv = Server::start_in(&dir, &[]);
        let mut c = srv.client();
        assert_eq!(hash_state(&mut c), after, "{pass}");
        drop(c);
        srv.kill9();
    }
}

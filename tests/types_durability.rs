//! Hashes and sets on the real binary: kill -9 restarts keep every field, member, TTL and
//! version byte-exactly, with and without a snapshot in between; restarting twice changes
//! nothing; nothing of them is stored in plaintext.

mod common;

use common::Server;
use redis::Commands;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Everything a client can see of a key: type, content (sorted), whether it has a TTL (and
/// its absolute expiry in ms, which must survive exactly), and its version.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    kind: String,
    content: Vec<Vec<u8>>,
    expire_at_ms: i64,
    version: u64,
}

fn state(c: &mut redis::Connection) -> BTreeMap<Vec<u8>, Seen> {
    let mut out = BTreeMap::new();
    for k in common::all_keys(c) {
        let kind: String = redis::cmd("TYPE").arg(&k).query(c).unwrap();
        let mut content: Vec<Vec<u8>> = match kind.as_str() {
            "string" => vec![c.get(&k).unwrap()],
            "hash" => {
                let m: BTreeMap<Vec<u8>, Vec<u8>> = c.hgetall(&k).unwrap();
                m.into_iter().flat_map(|(f, v)| [f, v]).collect()
            }
            "set" => c.smembers(&k).unwrap(),
            other => panic!("unexpected type {other}"),
        };
        if kind == "set" {
            content.sort();
        }
        let expire_at_ms: i64 = redis::cmd("PEXPIRETIME").arg(&k).query(c).unwrap();
        let version: u64 = redis::cmd("VERSION").arg(&k).query(c).unwrap();
        out.insert(
            k,
            Seen {
                kind,
                content,
                expire_at_ms,
                version,
            },
        );
    }
    out
}

/// Writes through every delta kind: HSET (new and replaced fields), HDEL (some and the last
/// field), HINCRBY/HINCRBYFLOAT, SADD (intset, listpack and table sizes), SREM, SPOP, SMOVE,
/// the *STORE commands, TTLs, binary fields and members, a hash and a set past the snapshot
/// batch size (1024 elements).
fn write_types(c: &mut redis::Connection) {
    for i in 0..50 {
        let _: () = c
            .hset_multiple(
                format!("h{i}"),
                &[("name", format!("n{i}")), ("age", i.to_string())],
            )
            .unwrap();
    }
    let _: () = c.hset("h1", "name", "renamed").unwrap();
    let _: () = c.hdel("h2", "age").unwrap();
    let _: () = c.hdel("h3", &["name", "age"]).unwrap();
    let _: () = c.hincr("h4", "age", 100).unwrap();
    let _: () = redis::cmd("HINCRBYFLOAT")
        .arg("h4")
        .arg("f")
        .arg("1.5")
        .query(c)
        .unwrap();
    let bin_field: &[u8] = b"\x00\xff\r\nfield";
    let bin_value: &[u8] = b"\x01\x02\x00value\xfe";
    let _: () = c.hset("hbin", bin_field, bin_value).unwrap();
    let big: Vec<(String, String)> = (0..3000)
        .map(|i| (format!("field-{i}"), format!("value-{i}")))
        .collect();
    for chunk in big.chunks(500) {
        let _: () = c.hset_multiple("hbig", chunk).unwrap();
    }
    let _: () = c.hdel("hbig", "field-7").unwrap();
    let _: () = c.expire("h5", 10_000).unwrap();
    let _: () = c.hset("h5", "after-expire", "kept-ttl").unwrap();

    let _: () = c.sadd("ints", &[1, 2, 3, 300, -5]).unwrap();
    let _: () = c.sadd("small", &["a", "b", "c"]).unwrap();
    let _: () = c.srem("small", "b").unwrap();
    let _: () = c.sadd("sbin", &[&b"\x00m\xff"[..], &b"\r\n"[..]]).unwrap();
    let members: Vec<String> = (0..5000).map(|i| format!("member-{i}")).collect();
    for chunk in members.chunks(1000) {
        let _: () = c.sadd("sbig", chunk).unwrap();
    }
    let _: () = c.srem("sbig", &["member-1", "member-2"]).unwrap();
    let _: Vec<String> = redis::cmd("SPOP").arg("sbig").arg(10).query(c).unwrap();
    let _: () = c.smove("small", "ints", "a").unwrap();
    let _: () = c.sadd("other", &["c", "d", "3"]).unwrap();
    let _: () = redis::cmd("SINTERSTORE")
        .arg("inter")
        .arg("ints")
        .arg("other")
        .query(c)
        .unwrap();
    let _: () = redis::cmd("SUNIONSTORE")
        .arg("union")
        .arg("ints")
        .arg("other")
        .query(c)
        .unwrap();
    let _: () = redis::cmd("SDIFFSTORE")
        .arg("diff")
        .arg("other")
        .arg("ints")
        .query(c)
        .unwrap();
    let _: () = c.pexpire("sbig", 50_000_000).unwrap();
    let _: () = c.set("plain", "string too").unwrap();
    let _: () = c.del("h6").unwrap();
}

fn restart(s: &mut Server, args: &[&str]) -> Server {
    s.kill9();
    let dir = s.dir.clone();
    Server::start_in(&dir, args)
}

fn check_restarts_keep_everything(snapshot_between: bool) {
    let args = ["--appendfsync", "always"];
    let mut s = Server::start(&args);
    let mut c = s.client();
    write_types(&mut c);
    if snapshot_between {
        let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
        // Deltas after the snapshot replay on top of it.
        let _: () = c.hset("hbig", "after-snapshot", "yes").unwrap();
        let _: () = c.sadd("sbig", "after-snapshot").unwrap();
        let _: () = c.srem("ints", 300).unwrap();
        let _: () = c.hdel("h1", "age").unwrap();
    }
    let before = state(&mut c);
    assert!(before.len() > 50, "{} keys", before.len());
    assert_eq!(
        before[&b"hbig"[..]].content.len(),
        2 * (2999 + snapshot_between as usize)
    );
    drop(c);
    let mut s2 = restart(&mut s, &args);
    let after = state(&mut s2.client());
    assert_eq!(
        before, after,
        "first restart (snapshot between: {snapshot_between})"
    );
    let s3 = restart(&mut s2, &args);
    let again = state(&mut s3.client());
    assert_eq!(after, again, "second restart changes nothing");
    drop(s3);
    // `s` owns the temp dir: dropped last.
    drop(s);
}

#[test]
fn kill9_restart_keeps_hashes_and_sets_exactly_without_a_snapshot() {
    check_restarts_keep_everything(false);
}

#[test]
fn kill9_restart_keeps_hashes_and_sets_exactly_after_a_snapshot_and_later_deltas() {
    check_restarts_keep_everything(true);
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn hash_fields_values_and_set_members_are_not_stored_in_plaintext() {
    let mut s = Server::start(&["--appendfsync", "always"]);
    let mut c = s.client();
    let needles = [
        "hashfield-PLAINTEXT-CANARY",
        "hashvalue-PLAINTEXT-CANARY",
        "setmember-PLAINTEXT-CANARY",
        "bigsetmember-PLAINTEXT-CANARY-77",
    ];
    let _: () = c.hset("hk", needles[0], needles[1]).unwrap();
    let _: () = c.sadd("sk", needles[2]).unwrap();
    let big: Vec<String> = (0..2000)
        .map(|i| format!("bigsetmember-PLAINTEXT-CANARY-{i}"))
        .collect();
    let _: () = c.sadd("sbig", &big).unwrap();
    // One copy in the WAL, one in a snapshot.
    let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    let _: () = c.hset("hk2", needles[0], needles[1]).unwrap();
    drop(c);
    s.kill9();
    let files = files_under(&s.dir);
    assert!(files.iter().any(|f| f.to_string_lossy().ends_with(".snap")));
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        for n in needles {
            assert!(
                !bytes.windows(n.len()).any(|w| w == n.as_bytes()),
                "{n} in plaintext in {}",
                f.display()
            );
        }
    }
}

#[test]
fn a_watched_hash_or_set_changed_by_another_client_aborts_exec() {
    let s = Server::start(&[]);
    let mut a = s.client();
    let mut b = s.client();
    let _: () = a.hset("wh", "f", "1").unwrap();
    let _: () = a.sadd("ws", "m").unwrap();
    for (key, write) in [
        ("wh", redis::cmd("HSET").arg("wh").arg("f").arg("2").clone()),
        ("wh", redis::cmd("HDEL").arg("wh").arg("f").clone()),
        ("ws", redis::cmd("SADD").arg("ws").arg("n").clone()),
        ("ws", redis::cmd("SPOP").arg("ws").clone()),
    ] {
        let _: () = redis::cmd("WATCH").arg(key).query(&mut a).unwrap();
        let _: redis::Value = write.query(&mut b).unwrap();
        let _: () = redis::cmd("MULTI").query(&mut a).unwrap();
        let _: () = redis::cmd("SET")
            .arg("marker")
            .arg(key)
            .query(&mut a)
            .unwrap();
        let r: redis::Value = redis::cmd("EXEC").query(&mut a).unwrap();
        assert_eq!(r, redis::Value::Nil, "EXEC after a write to watched {key}");
        let _: () = a.hset("wh", "f", "1").unwrap();
        let _: () = a.sadd("ws", "m").unwrap();
    }
}

/// One MULTI/EXEC is one WAL entry; replay must give its live result even when the entry
/// changes a key twice or writes a key and then flushes (before this was fixed, recovery
/// applied only the first change of each key in an entry).
#[test]
fn an_exec_that_changes_a_key_twice_recovers_its_last_write_after_kill9() {
    let args = ["--appendfsync", "always"];
    let mut s = Server::start(&args);
    let mut c = s.client();
    let _: () = redis::pipe()
        .atomic()
        .set("k", "first")
        .set("k", "second")
        .append("k", "+")
        .set("gone", "x")
        .cmd("FLUSHDB")
        .set("kept", "y")
        .query(&mut c)
        .unwrap();
    let _: () = redis::pipe()
        .atomic()
        .sadd("s", &["a", "b"])
        .srem("s", "a")
        .sadd("s", "c")
        .hset("h", "f", "1")
        .hdel("h", "f")
        .hset("h", "g", "2")
        .query(&mut c)
        .unwrap();
    drop(c);
    let mut s2 = restart(&mut s, &args);
    let mut c = s2.client();
    let kept: Option<String> = c.get("kept").unwrap();
    let gone: Option<String> = c.get("gone").unwrap();
    let k: Option<String> = c.get("k").unwrap();
    assert_eq!((k, gone, kept), (None, None, Some("y".into())));
    let mut members: Vec<String> = c.smembers("s").unwrap();
    members.sort();
    assert_eq!(members, ["b", "c"]);
    let h: BTreeMap<String, String> = c.hgetall("h").unwrap();
    assert_eq!(h, BTreeMap::from([("g".to_string(), "2".to_string())]));
    drop(c);
    s2.kill9();
    drop(s);
}

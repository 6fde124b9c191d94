//! Evictions are logged writes: a server evicting under `maxmemory` and killed with -9 comes
//! back with exactly the keyspace its clients last saw (no evicted key returns, no surviving
//! key is lost), from the WAL alone and from a snapshot with the WAL replayed over it; a
//! point-in-time restore sees the same; and recovery itself never evicts. The real binary,
//! the redis crate.

mod common;

use common::{info_section_field, p, vaylix, Server};
use std::collections::BTreeMap;

/// Every key with its value (all strings here).
fn dump(c: &mut redis::Connection) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let keys = common::all_keys(c);
    let mut out = BTreeMap::new();
    for k in keys {
        let v: Option<Vec<u8>> = redis::cmd("GET").arg(&k).query(c).unwrap();
        out.insert(k, v.expect("a listed key reads back"));
    }
    out
}

/// A numeric field of any INFO section.
fn int(c: &mut redis::Connection, field: &str) -> u64 {
    info_section_field(c, "everything", field).parse().unwrap()
}

fn no_limit(c: &mut redis::Connection) {
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(0)
        .query(c)
        .unwrap();
}

/// Writes `n` keys of 1 KiB in pipelines of 100, with a limit a few MB above what the server
/// uses now, so that most of them are evicted on the way.
fn fill_over_the_limit(c: &mut redis::Connection, prefix: &str, n: usize) {
    let used = int(c, "used_memory");
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(used + 4 * 1024 * 1024)
        .query(c)
        .unwrap();
    let value = vec![b'v'; 1024];
    for chunk in 0..n / 100 {
        let mut pipe = redis::pipe();
        for i in 0..100 {
            pipe.cmd("SET")
                .arg(format!("{prefix}:{}", chunk * 100 + i))
                .arg(&value)
                .ignore();
        }
        let _: () = pipe.query(c).unwrap();
    }
}

#[test]
fn evicted_keys_stay_evicted_after_kill_9_from_the_wal_and_from_a_snapshot() {
    let args = [
        "--snapshot-interval",
        "0",
        "--maxmemory-policy",
        "allkeys-random",
    ];
    let mut srv = Server::start(&args);
    let mut c = srv.client();
    fill_over_the_limit(&mut c, "a", 20_000);
    let evicted = int(&mut c, "evicted_keys");
    assert!(evicted > 5_000, "evicted only {evicted}");
    // The limit is lifted before reading everything back (each read over the limit would
    // evict more) and before the kill: what comes back is the keyspace as logged.
    no_limit(&mut c);
    let before_snapshot = dump(&mut c);
    assert!(before_snapshot.len() < 20_000 - 5_000);
    drop(c);
    srv.kill9();
    let dir = srv.dir.clone();
    let mut srv = Server::start_in(&dir, &args);
    let mut c = srv.client();
    assert_eq!(dump(&mut c), before_snapshot, "after kill -9, WAL replay");

    // A snapshot, then more evictions logged after it, replayed over it.
    let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    fill_over_the_limit(&mut c, "b", 10_000);
    assert!(int(&mut c, "evicted_keys") > 2_000);
    no_limit(&mut c);
    let want = dump(&mut c);
    let seq = int(&mut c, "wal_last_seq");
    // Some keys of the snapshot were evicted after it: their DELs must replay.
    assert!(before_snapshot.keys().any(|k| !want.contains_key(k)));
    drop(c);
    srv.kill9();
    let srv = Server::start_in(&dir, &args);
    let mut c = srv.client();
    assert_eq!(dump(&mut c), want, "after kill -9, snapshot + WAL replay");
    drop(c);
    let mut srv = srv;
    srv.kill9();

    // PITR to the last sequence gives the same keyspace.
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("restored");
    let (code, _, err) = vaylix(&[
        "pitr",
        "restore",
        "--source-dir",
        p(&dir),
        "--target-dir",
        p(&target),
        "--to-sequence",
        &seq.to_string(),
    ]);
    assert_eq!(code, 0, "{err}");
    let restored = Server::start_in(&target, &[]);
    let mut c = restored.client();
    assert_eq!(dump(&mut c), want, "pitr restore to the last sequence");
}

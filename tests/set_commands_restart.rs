//! The set commands' WAL entries replay to exactly what clients saw: SPOP's random picks,
//! SMOVE's two deltas, the `*STORE` results (and an empty one deleting its destination), with
//! member order, TTLs and versions, after kill -9, with and without a snapshot in between.

mod common;

use common::Server;
use redis::Commands;

/// key -> (raw SMEMBERS order, pttl > 0, version) for every key.
fn sets(c: &mut redis::Connection) -> Vec<(String, Vec<Vec<u8>>, bool, u64)> {
    let mut keys: Vec<String> = c.keys("*").unwrap();
    keys.sort();
    keys.into_iter()
        .map(|k| {
            let m: Vec<Vec<u8>> = redis::cmd("SMEMBERS").arg(&k).query(c).unwrap();
            let ttl: i64 = c.pttl(&k).unwrap();
            (k.clone(), m, ttl > 0, common::version(c, &k).unwrap())
        })
        .collect()
}

fn set_writes(c: &mut redis::Connection, tag: &str) {
    let big: Vec<String> = (0..300).map(|i| format!("{tag}m{i}")).collect();
    let _: i64 = c.sadd(format!("{tag}big"), &big).unwrap();
    let _: i64 = c
        .sadd(format!("{tag}ints"), (1..=8).collect::<Vec<_>>())
        .unwrap();
    let _: i64 = c
        .sadd(format!("{tag}small"), &["a", "b", "c", "d"])
        .unwrap();
    let _: Vec<String> = redis::cmd("SPOP")
        .arg(format!("{tag}big"))
        .arg(7)
        .query(c)
        .unwrap();
    let _: Option<String> = c.spop(format!("{tag}ints")).unwrap();
    let _: Option<String> = c.spop(format!("{tag}small")).unwrap();
    let _: i64 = c
        .smove(
            format!("{tag}big"),
            format!("{tag}dst"),
            format!("{tag}m299"),
        )
        .unwrap();
    let _: i64 = c
        .smove(format!("{tag}ints"), format!("{tag}dst"), 8)
        .unwrap();
    let _: i64 = c
        .sunionstore(
            format!("{tag}u"),
            &[format!("{tag}small"), format!("{tag}ints")],
        )
        .unwrap();
    let _: () = c.expire(format!("{tag}u"), 1000).unwrap();
    let _: i64 = c
        .sinterstore(
            format!("{tag}i"),
            &[format!("{tag}ints"), format!("{tag}ints")],
        )
        .unwrap();
    let _: i64 = c
        .sdiffstore(
            format!("{tag}d"),
            &[format!("{tag}big"), format!("{tag}dst")],
        )
        .unwrap();
    let _: () = c.set(format!("{tag}gone"), "string").unwrap();
    let _: i64 = c
        .sinterstore(
            format!("{tag}gone"),
            &[format!("{tag}ints"), "nokey".to_string()],
        )
        .unwrap();
    let _: Vec<String> = redis::cmd("SPOP")
        .arg(format!("{tag}small"))
        .arg(100)
        .query(c)
        .unwrap();
    let _: i64 = c
        .srem(
            format!("{tag}big"),
            &[format!("{tag}m1"), format!("{tag}m2")],
        )
        .unwrap();
}

#[test]
fn set_commands_replay_exactly_after_kill9_twice() {
    let mut srv = Server::start(&[]);
    let mut c = srv.client();
    set_writes(&mut c, "");
    let before = sets(&mut c);
    assert!(before
        .iter()
        .all(|(k, _, _, _)| k != "gone" && k != "small"));
    srv.kill9();
    for round in 0..2 {
        srv.spawn();
        let mut c = srv.client();
        assert_eq!(sets(&mut c), before, "after restart {round}");
        srv.kill9();
    }
}

#[test]
fn set_commands_after_a_snapshot_replay_exactly() {
    let mut srv = Server::start(&[]);
    let mut c = srv.client();
    set_writes(&mut c, "a");
    let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    set_writes(&mut c, "b");
    // Changes to keys the snapshot holds, so replay must skip or apply by version.
    let _: Vec<String> = redis::cmd("SPOP").arg("abig").arg(5).query(&mut c).unwrap();
    let _: i64 = c.smove("abig", "adst", "am10").unwrap();
    let before = sets(&mut c);
    srv.kill9();
    srv.spawn();
    let mut c = srv.client();
    assert_eq!(sets(&mut c), before);
}

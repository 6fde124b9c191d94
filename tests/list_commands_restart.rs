//! The list commands' WAL entries replay to exactly what clients saw: pushes, pops with
//! counts, LSET/LINSERT/LREM/LTRIM on small and big (multi-node) lists, LMOVE within one list
//! (a one-element list keeps its TTL) and between two, RPOPLPUSH, LMPOP, lists emptied by
//! each kind of write, with element order, TTLs and versions, after kill -9, with and without
//! a snapshot in between.

mod common;

use common::Server;
use redis::Commands;

/// key -> (elements head to tail, pttl > 0, version) for every key.
fn lists(c: &mut redis::Connection) -> Vec<(String, Vec<Vec<u8>>, bool, u64)> {
    let mut keys: Vec<String> = c.keys("*").unwrap();
    keys.sort();
    keys.into_iter()
        .map(|k| {
            let m: Vec<Vec<u8>> = c.lrange(&k, 0, -1).unwrap();
            let ttl: i64 = c.pttl(&k).unwrap();
            (k.clone(), m, ttl > 0, common::version(c, &k).unwrap())
        })
        .collect()
}

fn run(c: &mut redis::Connection, argv: &[String]) -> redis::Value {
    let mut cmd = redis::cmd(&argv[0]);
    for a in &argv[1..] {
        cmd.arg(a);
    }
    cmd.query(c).unwrap()
}

fn list_writes(c: &mut redis::Connection, tag: &str) {
    let k = |s: &str| format!("{tag}{s}");
    let big: Vec<String> = (0..2000).map(|i| format!("{tag}e{i}")).collect();
    let _: i64 = c.rpush(k("big"), &big).unwrap();
    let script: Vec<Vec<String>> = vec![
        vec!["LPUSH".into(), k("big"), "h1".into(), "h2".into()],
        vec!["LSET".into(), k("big"), "1000".into(), "mid".into()],
        vec!["LSET".into(), k("big"), "-1".into(), "last".into()],
        vec![
            "LINSERT".into(),
            k("big"),
            "BEFORE".into(),
            format!("{tag}e1500"),
            "ins".into(),
        ],
        vec!["LREM".into(), k("big"), "-1".into(), format!("{tag}e7")],
        vec!["LTRIM".into(), k("big"), "3".into(), "-4".into()],
        vec!["LPOP".into(), k("big"), "50".into()],
        vec!["RPOP".into(), k("big")],
        vec![
            "RPUSH".into(),
            k("q"),
            "a".into(),
            "b".into(),
            "c".into(),
            "a".into(),
        ],
        vec![
            "LMOVE".into(),
            k("q"),
            k("q"),
            "LEFT".into(),
            "RIGHT".into(),
        ],
        vec!["RPOPLPUSH".into(), k("q"), k("dst")],
        vec![
            "LMOVE".into(),
            k("big"),
            k("dst"),
            "LEFT".into(),
            "RIGHT".into(),
        ],
        vec!["LREM".into(), k("q"), "0".into(), "a".into()],
        vec!["RPUSH".into(), k("one"), "only".into()],
        vec!["PEXPIRE".into(), k("one"), "1000000".into()],
        vec![
            "LMOVE".into(),
            k("one"),
            k("one"),
            "RIGHT".into(),
            "LEFT".into(),
        ],
        vec!["RPUSH".into(), k("m"), "1".into(), "2".into(), "3".into()],
        vec![
            "LMPOP".into(),
            "2".into(),
            k("none"),
            k("m"),
            "RIGHT".into(),
            "COUNT".into(),
            "2".into(),
        ],
        // emptied by each kind of write: all gone
        vec!["RPUSH".into(), k("g1"), "x".into()],
        vec!["LPOP".into(), k("g1")],
        vec!["RPUSH".into(), k("g2"), "x".into(), "y".into()],
        vec!["LTRIM".into(), k("g2"), "5".into(), "9".into()],
        vec!["RPUSH".into(), k("g3"), "x".into(), "x".into()],
        vec!["LREM".into(), k("g3"), "0".into(), "x".into()],
        vec!["RPUSH".into(), k("g4"), "x".into()],
        vec!["RPOPLPUSH".into(), k("g4"), k("dst")],
        vec!["RPUSH".into(), k("g5"), "x".into()],
        vec!["LMPOP".into(), "1".into(), k("g5"), "LEFT".into()],
        // emptied and pushed again in one transaction-free run: a fresh key without TTL
        vec!["RPUSH".into(), k("again"), "x".into()],
        vec!["EXPIRE".into(), k("again"), "1000".into()],
        vec!["RPOP".into(), k("again")],
        vec!["RPUSH".into(), k("again"), "y".into()],
        vec!["LPUSHX".into(), k("nokey"), "x".into()],
        vec!["RPUSHX".into(), k("again"), "z".into()],
    ];
    for argv in &script {
        run(c, argv);
    }
}

#[test]
fn list_commands_replay_exactly_after_kill9_twice() {
    let mut srv = Server::start(&[]);
    let mut c = srv.client();
    list_writes(&mut c, "");
    let before = lists(&mut c);
    let names: Vec<&str> = before.iter().map(|(k, _, _, _)| k.as_str()).collect();
    assert_eq!(names, ["again", "big", "dst", "m", "one", "q"]);
    let one = before.iter().find(|(k, _, _, _)| k == "one").unwrap();
    assert!(
        one.2,
        "LMOVE of a one-element list onto itself keeps its TTL"
    );
    let again = before.iter().find(|(k, _, _, _)| k == "again").unwrap();
    assert!(!again.2, "a list emptied and pushed again has no TTL");
    srv.kill9();
    for round in 0..2 {
        srv.spawn();
        let mut c = srv.client();
        assert_eq!(lists(&mut c), before, "after restart {round}");
        srv.kill9();
    }
}

#[test]
fn list_commands_after_a_snapshot_replay_exactly() {
    let mut srv = Server::start(&[]);
    let mut c = srv.client();
    list_writes(&mut c, "a");
    let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    list_writes(&mut c, "b");
    // Positional changes to lists the snapshot holds: replay must skip or apply by version.
    let _: () = redis::cmd("LSET")
        .arg("abig")
        .arg(5)
        .arg("after")
        .query(&mut c)
        .unwrap();
    let _: i64 = redis::cmd("LINSERT")
        .arg("abig")
        .arg("AFTER")
        .arg("after")
        .arg("x")
        .query(&mut c)
        .unwrap();
    let _: Vec<String> = redis::cmd("LPOP").arg("abig").arg(3).query(&mut c).unwrap();
    let _: () = c.ltrim("abig", 0, -10).unwrap();
    let _: Option<String> = c.rpoplpush("adst", "adst").unwrap();
    let before = lists(&mut c);
    srv.kill9();
    srv.spawn();
    let mut c = srv.client();
    assert_eq!(lists(&mut c), before);
}

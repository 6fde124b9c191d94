//! The set commands on an in-memory server (no storage) whose WAL sink records every entry:
//! what each command logs (deltas, never a whole existing set; nothing for a write that changes
//! nothing; random choices resolved before logging), the encodings of `*STORE` results, and
//! SINTERCARD's argument-dependent key positions through the dispatcher's shard locking.

use super::sintercard_keys;
use crate::commands::parse_scan_cursor as parse_cursor;
use crate::keyspace::{Effect, Limits, Value};
use bytes::Bytes;

use super::test_rig::Rig;

impl Rig {
    fn members(&mut self, key: &str) -> Vec<String> {
        let mut m = bulks(&self.ask(&["SMEMBERS", key]));
        m.sort();
        m
    }
}

/// The bulk strings of a flat array reply, in order.
fn bulks(reply: &str) -> Vec<String> {
    let lines: Vec<&str> = reply.split("\r\n").collect();
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with('$'))
        .filter_map(|(i, _)| lines.get(i + 1).map(|s| s.to_string()))
        .collect()
}

fn b(s: &str) -> Bytes {
    Bytes::from(s.to_string())
}

fn sorted(mut v: Vec<Bytes>) -> Vec<Bytes> {
    v.sort();
    v
}

#[test]
fn spop_with_count_logs_exactly_the_members_it_returned() {
    let mut r = Rig::new();
    r.ask(&["SADD", "s", "a", "b", "c", "d", "e"]);
    r.logged();
    let reply = r.ask(&["SPOP", "s", "2"]);
    let taken: Vec<Bytes> = bulks(&reply).iter().map(|m| b(m)).collect();
    assert_eq!(taken.len(), 2, "{reply}");
    let logged = r.logged();
    assert_eq!(logged.len(), 1);
    match &logged[0][..] {
        [Effect::SetRem {
            db: 0,
            key,
            members,
            expires_at_ms: None,
        }] => {
            assert_eq!(key, &b("s"));
            assert_eq!(sorted(members.clone()), sorted(taken.clone()));
        }
        other => panic!("logged {other:?}"),
    }
    let left = r.members("s");
    assert_eq!(left.len(), 3);
    assert!(taken
        .iter()
        .all(|t| !left.iter().any(|l| l.as_bytes() == &t[..])));
}

#[test]
fn spop_without_count_logs_the_member_it_returned() {
    let mut r = Rig::new();
    r.ask(&["SADD", "s", "x", "y", "z"]);
    r.logged();
    let reply = r.ask(&["SPOP", "s"]);
    let m = bulks(&reply);
    assert_eq!(m.len(), 1, "{reply}");
    assert_eq!(
        r.logged(),
        vec![vec![Effect::SetRem {
            db: 0,
            key: b("s"),
            members: vec![b(&m[0])],
            expires_at_ms: None,
        }]]
    );
}

#[test]
fn spop_taking_every_member_logs_one_del_and_removes_the_key() {
    let mut r = Rig::new();
    r.ask(&["SADD", "s", "1", "2", "3"]);
    r.logged();
    assert_eq!(
        r.ask(&["SPOP", "s", "10"]),
        "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"
    );
    assert_eq!(r.logged(), vec![vec![Effect::Del { db: 0, key: b("s") }]]);
    assert_eq!(r.ask(&["EXISTS", "s"]), ":0\r\n");
}

#[test]
fn set_writes_that_change_nothing_log_nothing_and_keep_the_version() {
    let mut r = Rig::new();
    r.ask(&["SADD", "s", "a", "b"]);
    r.ask(&["SET", "str", "v"]);
    r.logged();
    let version = r.ask(&["VERSION", "s"]);
    for cmd in [
        &["SADD", "s", "a"][..],
        &["SREM", "s", "zz"],
        &["SREM", "nokey", "a"],
        &["SPOP", "nokey"],
        &["SPOP", "nokey", "3"],
        &["SPOP", "s", "0"],
        &["SMOVE", "s", "s", "a"],
        &["SMOVE", "s", "dst", "missing"],
        &["SMOVE", "nokey", "dst", "a"],
        &["SINTERSTORE", "dst", "s", "nokey"],
        &["SDIFFSTORE", "dst", "s", "s"],
        &["SUNIONSTORE", "dst", "nokey"],
        &["SADD", "str", "a"],
        &["SMOVE", "s", "str", "a"],
    ] {
        r.ask(cmd);
        assert_eq!(r.logged(), Vec::<Vec<Effect>>::new(), "{cmd:?}");
    }
    assert_eq!(r.ask(&["VERSION", "s"]), version);
    assert_eq!(r.ask(&["EXISTS", "dst"]), ":0\r\n");
}

#[test]
fn sadd_and_srem_log_only_the_members_that_changed() {
    let mut r = Rig::new();
    r.ask(&["SADD", "s", "a"]);
    r.logged();
    assert_eq!(r.ask(&["SADD", "s", "a", "b", "b"]), ":1\r\n");
    assert_eq!(r.ask(&["SREM", "s", "a", "zz"]), ":1\r\n");
    assert_eq!(
        r.logged(),
        vec![
            vec![Effect::SetAdd {
                db: 0,
                key: b("s"),
                members: vec![b("b")],
                expires_at_ms: None,
            }],
            vec![Effect::SetRem {
                db: 0,
                key: b("s"),
                members: vec![b("a")],
                expires_at_ms: None,
            }],
        ]
    );
}

#[test]
fn smove_logs_a_removal_and_an_addition_in_one_entry() {
    let mut r = Rig::new();
    r.ask(&["SADD", "src", "a"]);
    r.ask(&["SADD", "dst", "b"]);
    r.logged();
    assert_eq!(r.ask(&["SMOVE", "src", "dst", "a"]), ":1\r\n");
    assert_eq!(
        r.logged(),
        vec![vec![
            Effect::SetRem {
                db: 0,
                key: b("src"),
                members: vec![b("a")],
                expires_at_ms: None,
            },
            Effect::SetAdd {
                db: 0,
                key: b("dst"),
                members: vec![b("a")],
                expires_at_ms: None,
            },
        ]]
    );
    assert_eq!(r.ask(&["EXISTS", "src"]), ":0\r\n");
    assert_eq!(r.members("dst"), ["a", "b"]);
}

#[test]
fn store_commands_log_a_put_of_the_result_and_drop_the_destination_ttl() {
    let mut r = Rig::new();
    r.ask(&["SADD", "a", "1", "2", "3"]);
    r.ask(&["SADD", "b", "3", "4"]);
    r.ask(&["SET", "dst", "old", "EX", "1000"]);
    r.logged();
    assert_eq!(r.ask(&["SUNIONSTORE", "dst", "a", "b"]), ":4\r\n");
    let logged = r.logged();
    match &logged[..] {
        [e] => match &e[..] {
            [Effect::Put {
                db: 0,
                key,
                value: Value::Set(m),
                expires_at_ms: None,
            }] => {
                assert_eq!(key, &b("dst"));
                assert_eq!(sorted(m.clone()), vec![b("1"), b("2"), b("3"), b("4")]);
            }
            other => panic!("logged {other:?}"),
        },
        other => panic!("logged {other:?}"),
    }
    assert_eq!(r.ask(&["TTL", "dst"]), ":-1\r\n");
    assert_eq!(r.ask(&["SINTERSTORE", "dst", "a", "b"]), ":1\r\n");
    assert_eq!(r.ask(&["SDIFFSTORE", "dst", "a", "b"]), ":2\r\n");
    assert_eq!(r.members("dst"), ["1", "2"]);
}

#[test]
fn empty_store_result_deletes_a_destination_of_any_type() {
    let mut r = Rig::new();
    r.ask(&["SADD", "a", "x"]);
    r.ask(&["SET", "dst", "string"]);
    r.logged();
    assert_eq!(r.ask(&["SINTERSTORE", "dst", "a", "nokey"]), ":0\r\n");
    assert_eq!(
        r.logged(),
        vec![vec![Effect::Del {
            db: 0,
            key: b("dst")
        }]]
    );
    assert_eq!(r.ask(&["TYPE", "dst"]), "+none\r\n");
}

#[test]
fn store_results_take_the_encoding_the_limits_give() {
    let mut r = Rig::new();
    r.ask(&["SADD", "ints", "3", "1", "2"]);
    r.ask(&["SADD", "words", "x", "y"]);
    r.ask(&["SINTERSTORE", "d1", "ints"]);
    assert_eq!(r.encoding("d1"), Some("intset"));
    // Listed in the intset's order, as Redis lists an intset.
    assert_eq!(
        r.ask(&["SUNION", "ints"]),
        "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"
    );
    r.ask(&["SUNIONSTORE", "d2", "ints", "words"]);
    assert_eq!(r.encoding("d2"), Some("listpack"));
    let limits = Limits {
        set_max_intset_entries: 2,
        set_max_listpack_entries: 2,
        ..r.shared.keyspace.limits()
    };
    r.shared.keyspace.set_limits(limits);
    r.ask(&["SDIFFSTORE", "d3", "ints"]);
    assert_eq!(r.encoding("d3"), Some("hashtable"));
}

#[test]
fn sintercard_locks_the_keys_its_numkeys_counts() {
    let mut r = Rig::new();
    // Keys spread over many shards: a lock missing for any of them would panic the handler.
    let keys: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
    for k in &keys {
        r.ask(&["SADD", k, "common", k]);
    }
    let mut argv = vec!["SINTERCARD".to_string(), keys.len().to_string()];
    argv.extend(keys.iter().cloned());
    let argv_ref: Vec<&str> = argv.iter().map(|s| s.as_str()).collect();
    assert_eq!(r.ask(&argv_ref), ":1\r\n");
    // Inside MULTI/EXEC the queued command's shards are locked the same way.
    r.ask(&["MULTI"]);
    r.ask(&argv_ref);
    r.ask(&["SINTERCARD", "2", "k1", "k2", "LIMIT", "1"]);
    assert_eq!(r.ask(&["EXEC"]), "*2\r\n:1\r\n:1\r\n");
    assert_eq!(
        r.ask(&[
            "COMMAND",
            "GETKEYS",
            "SINTERCARD",
            "2",
            "a",
            "b",
            "LIMIT",
            "1"
        ]),
        "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    );
    assert_eq!(
        r.ask(&["COMMAND", "GETKEYS", "SINTERCARD", "3", "a", "b"]),
        "-ERR Invalid arguments specified for command\r\n"
    );
    // An impossible numkeys locks nothing and is refused before any key is read.
    assert_eq!(
        r.ask(&["SINTERCARD", "5", "k1", "k2"]),
        "-ERR Number of keys can't be greater than number of args\r\n"
    );
}

#[test]
fn sintercard_key_positions() {
    let argv = |a: &[&str]| -> Vec<Bytes> { a.iter().map(|s| b(s)).collect() };
    assert_eq!(
        sintercard_keys(&argv(&["sintercard", "2", "a", "b", "LIMIT", "1"])),
        vec![2, 3]
    );
    assert_eq!(sintercard_keys(&argv(&["sintercard", "1", "a"])), vec![2]);
    for bad in ["0", "-1", "x", "3", "99999999999999999999"] {
        assert!(sintercard_keys(&argv(&["sintercard", bad, "a", "b"])).is_empty());
    }
}

#[test]
fn sscan_cursor_is_read_as_strtoul_reads_it() {
    assert_eq!(parse_cursor(b"0"), Some(0));
    assert_eq!(parse_cursor(b""), Some(0));
    assert_eq!(parse_cursor(b"+7"), Some(7));
    assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
    assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
    assert_eq!(parse_cursor(b"18446744073709551616"), None);
    for bad in [&b" 1"[..], b"-", b"+", b"1x", b"abc"] {
        assert_eq!(parse_cursor(bad), None, "{bad:?}");
    }
}

#[test]
fn sscan_of_a_hashtable_set_returns_every_member_over_several_calls() {
    let mut r = Rig::new();
    let members: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
    let mut argv = vec!["SADD", "big"];
    argv.extend(members.iter().map(|s| s.as_str()));
    r.ask(&argv);
    assert_eq!(r.encoding("big"), Some("hashtable"));
    let mut seen = std::collections::BTreeSet::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let reply = r.ask(&["SSCAN", "big", &cursor, "COUNT", "50"]);
        let items = bulks(&reply);
        cursor = items[0].clone();
        seen.extend(items[1..].iter().cloned());
        calls += 1;
        assert!(calls <= 1000, "scan did not finish");
        if cursor == "0" {
            break;
        }
    }
    assert!(calls > 1);
    assert_eq!(seen.len(), members.len());
}

#[test]
fn set_reads_count_keyspace_hits_and_misses_as_redis_does() {
    use std::sync::atomic::Ordering;
    let mut r = Rig::new();
    let stats = |r: &Rig| {
        (
            r.shared.stats.keyspace_hits.load(Ordering::Relaxed),
            r.shared.stats.keyspace_misses.load(Ordering::Relaxed),
        )
    };
    r.ask(&["SADD", "a", "1"]);
    r.ask(&["SINTERSTORE", "d", "a", "nokey"]);
    r.ask(&["SUNIONSTORE", "d", "a", "nokey"]);
    r.ask(&["SMOVE", "a", "b", "1"]);
    r.ask(&["SPOP", "a"]);
    // Redis 7.0.15 answers keyspace_hits:2 keyspace_misses:2 here: the store commands'
    // sources count, SADD, SMOVE and SPOP do not.
    assert_eq!(stats(&r), (2, 2));
    r.ask(&["SADD", "a", "1"]);
    r.ask(&["SINTER", "a", "nokey"]);
    r.ask(&["SISMEMBER", "a", "1"]);
    r.ask(&["SINTERCARD", "2", "a", "nokey"]);
    r.ask(&["SRANDMEMBER", "a", "2"]);
    r.ask(&["SSCAN", "a", "0"]);
    assert_eq!(stats(&r), (7, 4));
}

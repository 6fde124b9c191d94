//! The pop and random-pick commands on an in-memory server (no storage) whose WAL sink
//! records every entry: what each pop logs (exactly the members it took, nothing for a pop
//! that takes nothing), ZMPOP's argument-dependent key positions through the dispatcher's
//! shard locking, ZRANDMEMBER's cases and its bound on huge negative counts, and ZSCAN's
//! score text per encoding. Sorted sets are seeded with `put`, not ZADD.

use super::test_rig::Rig;
use super::*;
use crate::keyspace::{Effect, Limits, Value};

impl Rig {
    /// Stores a sorted set of `pairs` under `key` (db 0) and forgets what that logged.
    fn seed(&mut self, key: &str, pairs: &[(&str, f64)]) {
        {
            let mut l = self
                .shared
                .keyspace
                .lock_keys(std::iter::once(key.as_bytes()));
            let v = pairs.iter().map(|(m, s)| (b(m), *s)).collect();
            l.put(0, key.as_bytes(), Value::ZSet(v), 0);
        }
        self.logged();
    }

    fn seed_n(&mut self, key: &str, n: usize) {
        let names: Vec<String> = (0..n).map(|i| format!("m{i}")).collect();
        let pairs: Vec<(&str, f64)> = names
            .iter()
            .enumerate()
            .map(|(i, m)| (m.as_str(), i as f64))
            .collect();
        self.seed(key, &pairs);
    }

    fn card(&mut self, key: &str) -> usize {
        let mut l = self
            .shared
            .keyspace
            .lock_keys(std::iter::once(key.as_bytes()));
        l.get_zset(0, key.as_bytes(), super::now_ms())
            .ok()
            .flatten()
            .map_or(0, |z| z.len())
    }
}

fn b(s: &str) -> Bytes {
    Bytes::from(s.to_string())
}

/// The bulk strings of a reply, in order.
fn bulks(reply: &str) -> Vec<String> {
    let lines: Vec<&str> = reply.split("\r\n").collect();
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with('$') && *l != &"$-1")
        .filter_map(|(i, _)| lines.get(i + 1).map(|s| s.to_string()))
        .collect()
}

fn removed(key: &str, members: &[&str]) -> Vec<Vec<Effect>> {
    vec![vec![Effect::ZRem {
        db: 0,
        key: b(key),
        members: members.iter().map(|m| b(m)).collect(),
        expires_at_ms: None,
    }]]
}

#[test]
fn zpopmin_and_zpopmax_log_exactly_the_members_they_took() {
    let mut r = Rig::new();
    r.seed(
        "z",
        &[("a", 1.0), ("b", 2.0), ("c", 2.0), ("d", 0.5), ("e", 3.0)],
    );
    assert_eq!(r.ask(&["ZPOPMIN", "z"]), "*2\r\n$1\r\nd\r\n$3\r\n0.5\r\n");
    assert_eq!(r.logged(), removed("z", &["d"]));
    // Ties come off in member order: b before c from the bottom, c before b from the top.
    assert_eq!(
        r.ask(&["ZPOPMAX", "z", "3"]),
        "*6\r\n$1\r\ne\r\n$1\r\n3\r\n$1\r\nc\r\n$1\r\n2\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    assert_eq!(r.logged(), removed("z", &["e", "c", "b"]));
    assert_eq!(r.card("z"), 1);
    // Taking the rest removes the key.
    assert_eq!(
        r.ask(&["ZPOPMIN", "z", "10"]),
        "*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert_eq!(r.logged(), removed("z", &["a"]));
    assert_eq!(r.encoding("z"), None);
}

#[test]
fn pops_that_take_nothing_log_nothing() {
    let mut r = Rig::new();
    r.seed("z", &[("a", 1.0)]);
    assert_eq!(r.ask(&["ZPOPMIN", "z", "0"]), "*0\r\n");
    assert_eq!(r.ask(&["ZPOPMAX", "nokey"]), "*0\r\n");
    assert_eq!(r.ask(&["ZPOPMAX", "nokey", "3"]), "*0\r\n");
    assert_eq!(r.ask(&["ZMPOP", "1", "nokey", "MIN"]), "*-1\r\n");
    assert_eq!(
        r.ask(&["ZPOPMIN", "z", "-1"]),
        format!("-{ERR_POSITIVE}\r\n")
    );
    assert_eq!(
        r.ask(&["ZMPOP", "1", "z", "MIN", "COUNT", "0"]),
        format!("-{ERR_COUNT}\r\n")
    );
    assert!(r.logged().is_empty());
    assert_eq!(r.card("z"), 1);
}

#[test]
fn zpop_checks_arguments_before_the_key_and_the_type_even_for_count_zero() {
    let mut r = Rig::new();
    r.ask(&["SET", "s", "x"]);
    let wrongtype = format!("-{ERR_WRONGTYPE}\r\n");
    assert_eq!(r.ask(&["ZPOPMIN", "s"]), wrongtype);
    assert_eq!(r.ask(&["ZPOPMIN", "s", "0"]), wrongtype);
    assert_eq!(
        r.ask(&["ZPOPMIN", "s", "x"]),
        format!("-{ERR_POSITIVE}\r\n")
    );
    assert_eq!(
        r.ask(&["ZPOPMIN", "nokey", "01"]),
        format!("-{ERR_POSITIVE}\r\n")
    );
    assert_eq!(
        r.ask(&["ZPOPMAX", "s", "x", "2"]),
        format!("-{ERR_SYNTAX}\r\n")
    );
}

#[test]
fn zpop_replies_in_resp3_nest_pairs_only_with_a_count() {
    let mut r = Rig::new();
    r.ask(&["HELLO", "3"]);
    r.seed("z", &[("a", 1.0), ("b", 2.5), ("c", f64::INFINITY)]);
    assert_eq!(r.ask(&["ZPOPMIN", "z"]), "*2\r\n$1\r\na\r\n,1\r\n");
    assert_eq!(
        r.ask(&["ZPOPMAX", "z", "1"]),
        "*1\r\n*2\r\n$1\r\nc\r\n,inf\r\n"
    );
    assert_eq!(
        r.ask(&["ZMPOP", "1", "z", "MIN"]),
        "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n"
    );
    assert_eq!(r.ask(&["ZMPOP", "1", "z", "MIN"]), "_\r\n");
}

#[test]
fn big_zset_pops_from_both_ends_in_order() {
    let mut r = Rig::new();
    r.seed_n("z", 1000);
    assert_eq!(r.encoding("z"), Some("skiplist"));
    let low = bulks(&r.ask(&["ZPOPMIN", "z", "300"]));
    let want: Vec<String> = (0..300)
        .flat_map(|i| [format!("m{i}"), i.to_string()])
        .collect();
    assert_eq!(low, want);
    let high = bulks(&r.ask(&["ZPOPMAX", "z", "2"]));
    assert_eq!(high, ["m999", "999", "m998", "998"]);
    assert_eq!(r.card("z"), 698);
    let logged = r.logged();
    assert_eq!(logged.len(), 2);
    match &logged[0][..] {
        [Effect::ZRem { members, .. }] => assert_eq!(members.len(), 300),
        other => panic!("logged {other:?}"),
    }
}

#[test]
fn zmpop_pops_from_the_first_key_that_exists() {
    let mut r = Rig::new();
    r.seed("z1", &[("a", 1.0), ("b", 2.0), ("c", 3.0)]);
    r.seed("z2", &[("x", 10.0)]);
    r.ask(&["SET", "s", "x"]);
    r.logged();
    assert_eq!(
        r.ask(&["ZMPOP", "3", "nokey", "z1", "s", "max", "count", "2"]),
        "*2\r\n$2\r\nz1\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    assert_eq!(r.logged(), removed("z1", &["c", "b"]));
    // The first existing key has the wrong type: WRONGTYPE, even if a later key would do.
    assert_eq!(
        r.ask(&["ZMPOP", "2", "s", "z2", "MIN"]),
        format!("-{ERR_WRONGTYPE}\r\n")
    );
    assert!(r.logged().is_empty());
}

#[test]
fn zmpop_arguments_are_checked_in_redis_order() {
    let argv = |a: &[&str]| -> Vec<Bytes> { a.iter().map(|s| b(s)).collect() };
    let err = |a: &[&str]| parse_zmpop(&argv(a)).err();
    for n in ["0", "-1", "x", "99999999999999999999", " 1", "+1", "01"] {
        assert_eq!(err(&["zmpop", n, "z", "min"]), Some(ERR_NUMKEYS), "{n}");
    }
    for bad in [
        &["zmpop", "2", "z", "min"][..],
        &["zmpop", "2", "a", "b"],
        &["zmpop", "1", "z", "foo"],
        &["zmpop", "1", "z", "min", "count"],
        &["zmpop", "1", "z", "min", "count", "1", "count", "1"],
        &["zmpop", "1", "z", "min", "foo", "1"],
        &["zmpop", "9223372036854775807", "z", "min"],
    ] {
        assert_eq!(err(bad), Some(ERR_SYNTAX), "{bad:?}");
    }
    for c in ["0", "-1", "x", "1.5", "01"] {
        assert_eq!(
            err(&["zmpop", "1", "z", "min", "count", c]),
            Some(ERR_COUNT),
            "{c}"
        );
    }
    let a = argv(&[
        "zmpop",
        "2",
        "a",
        "b",
        "MaX",
        "CoUnT",
        "9223372036854775807",
    ]);
    let (got, end) = parse_zmpop(&a).unwrap();
    assert_eq!(
        (got.keys.len(), end, got.count),
        (2, End::Max, i64::MAX as u64)
    );
}

#[test]
fn zmpop_locks_the_keys_its_numkeys_counts() {
    let argv = |a: &[&str]| -> Vec<Bytes> { a.iter().map(|s| b(s)).collect() };
    assert_eq!(
        zmpop_keys(&argv(&["zmpop", "2", "a", "b", "MIN"])),
        vec![2, 3]
    );
    assert_eq!(
        zmpop_keys(&argv(&["zmpop", "3", "a", "b", "MIN"])),
        vec![2, 3, 4]
    );
    for bad in ["0", "-1", "x", "4"] {
        assert!(zmpop_keys(&argv(&["zmpop", bad, "a", "b", "MIN"])).is_empty());
    }
    let mut r = Rig::new();
    // Keys spread over many shards: a lock missing for any of them would panic the handler.
    let keys: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
    r.seed(&keys[39], &[("m", 1.0)]);
    let mut cmd = vec!["ZMPOP".to_string(), keys.len().to_string()];
    cmd.extend(keys.iter().cloned());
    cmd.push("MIN".into());
    let cmd: Vec<&str> = cmd.iter().map(|s| s.as_str()).collect();
    assert_eq!(
        r.ask(&cmd),
        "*2\r\n$3\r\nk39\r\n*1\r\n*2\r\n$1\r\nm\r\n$1\r\n1\r\n"
    );
    assert_eq!(
        r.ask(&["COMMAND", "GETKEYS", "ZMPOP", "2", "a", "b", "MIN"]),
        "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    );
}

#[test]
fn zrandmember_counts_follow_redis_cases_and_log_nothing() {
    let mut r = Rig::new();
    for (key, size) in [("small", 5usize), ("big", 300)] {
        r.seed_n(key, size);
        let all: std::collections::BTreeSet<String> = (0..size).map(|i| format!("m{i}")).collect();
        // Distinct members for a positive count below the size.
        let got = bulks(&r.ask(&["ZRANDMEMBER", key, "3"]));
        let uniq: std::collections::BTreeSet<String> = got.iter().cloned().collect();
        assert_eq!((got.len(), uniq.len()), (3, 3));
        assert!(uniq.is_subset(&all));
        // The whole set, in order, for a count not below the size.
        let got = bulks(&r.ask(&["ZRANDMEMBER", key, "9223372036854775807"]));
        let mut want: Vec<String> = (0..size).map(|i| format!("m{i}")).collect();
        want.sort_by_key(|m| m[1..].parse::<usize>().unwrap());
        assert_eq!(got, want);
        // Repeats allowed for a negative count, each with its own score.
        let got = bulks(&r.ask(&["ZRANDMEMBER", key, &format!("-{}", size * 3), "WITHSCORES"]));
        assert_eq!(got.len(), size * 6);
        for pair in got.chunks(2) {
            assert_eq!(pair[0][1..], pair[1]);
        }
    }
    assert_eq!(r.ask(&["ZRANDMEMBER", "small", "0"]), "*0\r\n");
    assert_eq!(r.ask(&["ZRANDMEMBER", "nokey"]), "$-1\r\n");
    assert_eq!(r.ask(&["ZRANDMEMBER", "nokey", "-3"]), "*0\r\n");
    assert!(r.logged().is_empty());
}

#[test]
fn small_zrandmember_distinct_picks_come_in_set_order() {
    let mut r = Rig::new();
    r.seed_n("z", 50);
    for _ in 0..20 {
        let got: Vec<usize> = bulks(&r.ask(&["ZRANDMEMBER", "z", "10"]))
            .iter()
            .map(|m| m[1..].parse().unwrap())
            .collect();
        assert!(got.windows(2).all(|w| w[0] < w[1]), "{got:?}");
    }
}

#[test]
fn zrandmember_refuses_in_redis_order_and_bounds_huge_negative_counts() {
    let mut r = Rig::new();
    r.seed("z", &[("a", 1.0), ("b", 2.0)]);
    r.ask(&["SET", "s", "x"]);
    assert_eq!(
        r.ask(&["ZRANDMEMBER", "s", "x"]),
        format!("-{ERR_NOT_INT}\r\n")
    );
    assert_eq!(
        r.ask(&["ZRANDMEMBER", "s", "1"]),
        format!("-{ERR_WRONGTYPE}\r\n")
    );
    assert_eq!(
        r.ask(&["ZRANDMEMBER", "s"]),
        format!("-{ERR_WRONGTYPE}\r\n")
    );
    assert_eq!(
        r.ask(&["ZRANDMEMBER", "z", "-9223372036854775808"]),
        format!("-{ERR_LONG_RANGE}\r\n")
    );
    assert_eq!(
        r.ask(&["ZRANDMEMBER", "s", "1", "FOO"]),
        format!("-{ERR_SYNTAX}\r\n")
    );
    for n in ["4611686018427387904", "-4611686018427387904"] {
        assert_eq!(
            r.ask(&["ZRANDMEMBER", "nokey", n, "WITHSCORES"]),
            format!("-{ERR_RANGE}\r\n")
        );
    }
    // Redis accepts these and never answers; here they are refused at once.
    let started = std::time::Instant::now();
    for n in ["-9223372036854775807", "-4611686018427387903"] {
        assert_eq!(
            r.ask(&["ZRANDMEMBER", "z", n]),
            format!("-{ERR_RANDOM_REPLY}\r\n")
        );
    }
    assert_eq!(
        r.ask(&["ZRANDMEMBER", "z", "-4611686018427387903", "WITHSCORES"]),
        format!("-{ERR_RANDOM_REPLY}\r\n")
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // A count that passes the first estimate but whose reply outgrows the bound is cut off
    // and refused, leaving nothing of it in the reply buffer.
    let wide = ZSetObj::from_pairs([(&[b'x'; 1000][..], 1.0)], &Limits::default());
    let picker = Picker::new(&wide);
    let mut out = ReplyWriter::new();
    out.bulk(b"before");
    let mut rng = rand::rng();
    assert!(!reply_picks(
        &mut out, &picker, 1000, false, &mut rng, 100_000
    ));
    assert_eq!(&out.buf[..], b"$6\r\nbefore\r\n");
    assert!(!reply_picks(&mut out, &picker, 10, true, &mut rng, 5_000));
    assert!(reply_picks(&mut out, &picker, 10, true, &mut rng, 20_000));
    assert_eq!(bulks(&String::from_utf8_lossy(&out.buf)).len(), 21);
    // A large negative count within the bound is served.
    let got = bulks(&r.ask(&["ZRANDMEMBER", "z", "-100000"]));
    assert_eq!(got.len(), 100_000);
}

#[test]
fn pack_scores_print_as_the_listpack_holds_them() {
    for (s, want) in [
        (1e17, "100000000000000000"),
        (1e18, "1000000000000000000"),
        (-1e17, "-100000000000000000"),
        (3.0, "3"),
        (0.0, "0"),
        (0.5, "0.5"),
        (1e300, "1.0000000000000001e+300"),
        (4611686018427387904.0, "4611686018427387904"),
        (-4611686018427387904.0, "-4611686018427387904"),
        (4611686018427388928.0, "4.6116860184273889e+18"),
        (1e19, "1e+19"),
        (1e-5, "1.0000000000000001e-05"),
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
    ] {
        assert_eq!(pack_score_text(s), want, "{s}");
    }
}

#[test]
fn zscan_score_text_depends_on_the_encoding() {
    let mut r = Rig::new();
    r.seed("small", &[("a", 1e17), ("b", 0.1)]);
    assert_eq!(
        r.ask(&["ZSCAN", "small", "0"]),
        "*2\r\n$1\r\n0\r\n*4\r\n$1\r\nb\r\n$19\r\n0.10000000000000001\r\n$1\r\na\r\n$18\r\n100000000000000000\r\n"
    );
    r.shared.keyspace.set_limits(Limits {
        zset_max_listpack_entries: 0,
        ..r.shared.keyspace.limits()
    });
    r.seed("big", &[("a", 1e17), ("z", -0.0)]);
    assert_eq!(r.encoding("big"), Some("skiplist"));
    let got = bulks(&r.ask(&["ZSCAN", "big", "0", "COUNT", "100"]));
    let pairs: std::collections::BTreeMap<String, String> = got[1..]
        .chunks(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect();
    assert_eq!(got[0], "0");
    assert_eq!(pairs.get("a").map(String::as_str), Some("1e+17"));
    assert_eq!(pairs.get("z").map(String::as_str), Some("-0"));
    // RESP3: still bulk strings.
    r.ask(&["HELLO", "3"]);
    assert_eq!(
        r.ask(&["ZSCAN", "small", "0", "MATCH", "a"]),
        "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$18\r\n100000000000000000\r\n"
    );
}

#[test]
fn zscan_of_a_big_zset_returns_every_member_once_over_several_calls() {
    let mut r = Rig::new();
    r.seed_n("z", 2000);
    assert_eq!(r.encoding("z"), Some("skiplist"));
    let mut seen = std::collections::BTreeMap::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let items = bulks(&r.ask(&["ZSCAN", "z", &cursor, "COUNT", "50"]));
        cursor = items[0].clone();
        for p in items[1..].chunks(2) {
            assert!(
                seen.insert(p[0].clone(), p[1].clone()).is_none(),
                "{} twice",
                p[0]
            );
        }
        calls += 1;
        assert!(calls <= 1000, "scan did not finish");
        if cursor == "0" {
            break;
        }
    }
    assert!(calls > 1);
    assert_eq!(seen.len(), 2000);
    assert!(seen.iter().all(|(m, s)| m[1..] == s[..]));
    // MATCH filters what a step returns; an empty page may still carry a cursor.
    let items = bulks(&r.ask(&["ZSCAN", "z", "0", "MATCH", "nothing*", "COUNT", "5000"]));
    assert_eq!(items, ["0"]);
}

#[test]
fn zscan_checks_cursor_then_key_then_options() {
    let mut r = Rig::new();
    r.seed("z", &[("a", 1.0)]);
    r.ask(&["SET", "s", "x"]);
    assert_eq!(r.ask(&["ZSCAN", "s", "x"]), "-ERR invalid cursor\r\n");
    assert_eq!(
        r.ask(&["ZSCAN", "s", "0", "COUNT", "0"]),
        format!("-{ERR_WRONGTYPE}\r\n")
    );
    assert_eq!(
        r.ask(&["ZSCAN", "nokey", "0", "COUNT", "0"]),
        "*2\r\n$1\r\n0\r\n*0\r\n"
    );
    assert_eq!(
        r.ask(&["ZSCAN", "z", "0", "COUNT", "0"]),
        format!("-{ERR_SYNTAX}\r\n")
    );
    assert_eq!(
        r.ask(&["ZSCAN", "z", "0", "COUNT", "x"]),
        format!("-{ERR_NOT_INT}\r\n")
    );
    assert_eq!(
        r.ask(&["ZSCAN", "z", "0", "TYPE", "zset"]),
        format!("-{ERR_SYNTAX}\r\n")
    );
    assert_eq!(
        r.ask(&["ZSCAN", "z", "0", "MATCH"]),
        format!("-{ERR_SYNTAX}\r\n")
    );
    assert_eq!(
        r.ask(&["ZSCAN", "z", "-1", "MATCH", "b*", "MATCH", "a*"]),
        "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
}

#[test]
fn reads_count_keyspace_hits_and_misses_and_pops_do_not() {
    use std::sync::atomic::Ordering;
    let mut r = Rig::new();
    let stats = |r: &Rig| {
        (
            r.shared.stats.keyspace_hits.load(Ordering::Relaxed),
            r.shared.stats.keyspace_misses.load(Ordering::Relaxed),
        )
    };
    r.seed("z", &[("a", 1.0), ("b", 2.0)]);
    r.ask(&["ZPOPMIN", "z"]);
    r.ask(&["ZPOPMIN", "nokey"]);
    r.ask(&["ZMPOP", "2", "nokey", "z", "MIN"]);
    assert_eq!(stats(&r), (0, 0));
    r.seed("z", &[("a", 1.0)]);
    r.ask(&["ZRANDMEMBER", "z"]);
    r.ask(&["ZRANDMEMBER", "nokey", "2"]);
    r.ask(&["ZSCAN", "z", "0"]);
    r.ask(&["ZSCAN", "nokey", "0"]);
    assert_eq!(stats(&r), (2, 2));
}

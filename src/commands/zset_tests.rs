//! The core sorted-set commands on an in-memory server (no storage) whose WAL sink records
//! every entry: what each write logs (resulting scores, never increments; removed members;
//! nothing when nothing changed), plus the score parser's strtod rules (hex floats included)
//! and the rank and lex-range helpers. Expected values were checked against redis-server
//! 7.0.15 (glibc 2.36 strtod) unless a comment says otherwise.

use super::*;
use crate::keyspace::Effect;

use super::test_rig::Rig;

impl Rig {}

fn b(s: &str) -> Bytes {
    Bytes::from(s.to_string())
}

fn zadd_effect(key: &str, pairs: &[(&str, f64)]) -> Vec<Vec<Effect>> {
    vec![vec![Effect::ZAdd {
        db: 0,
        key: b(key),
        pairs: pairs.iter().map(|(m, s)| (b(m), *s)).collect(),
        expires_at_ms: None,
    }]]
}

fn zrem_effect(key: &str, members: &[&str]) -> Vec<Vec<Effect>> {
    vec![vec![Effect::ZRem {
        db: 0,
        key: b(key),
        members: members.iter().map(|m| b(m)).collect(),
        expires_at_ms: None,
    }]]
}

// ---- parsing ----------------------------------------------------------------------------------

#[test]
fn hex_floats_parse_as_strtod_reads_them() {
    for (text, want) in [
        ("0x10", 16.0),
        ("0x1p3", 8.0),
        ("-0x1.8p1", -3.0),
        ("0X.8P+1", 1.0),
        ("0x1.", 1.0),
        ("+0x1p-2", 0.25),
        ("0x0p-99999", 0.0),
        ("0x1e1", 481.0),
        ("0x00000000000000000000000001p0", 1.0),
        ("0x.00000000000000000000001p100", 256.0),
        ("0x1p-1074", 5e-324),
        ("0x1.0000001p-1075", 5e-324),
        ("0x1.fffffffffffff7ffp1023", f64::MAX),
        ("0x1.fffffffffffffp1023", f64::MAX),
        ("0x1p-1022", f64::MIN_POSITIVE),
        // rounding to nearest, ties to even, with digits beyond the 53 bits
        ("0x1.00000000000008p0", 1.0),
        ("0x1.00000000000018p0", 1.0 + 2.0 * f64::EPSILON),
        ("0x1.000000000000081p0", 1.0 + f64::EPSILON),
        ("0x1.0000000000000800000000000001p0", 1.0 + f64::EPSILON),
        ("0x123456789abcdef123456789p-50", 5003999585967.218),
        ("0x1.8p-1074", 1e-323),
        ("0x3p-1076", 5e-324),
    ] {
        assert_eq!(parse_score(text.as_bytes()), Some(want), "{text}");
    }
    // strtod reads a prefix ("0"/"0x1") and leaves the rest: the whole argument is refused;
    // and overflow to inf or underflow to 0 is refused as ERANGE.
    for bad in [
        "0x",
        "0xg",
        "0x1p",
        "0x1p+",
        "0x.p1",
        "0x1P",
        "0x 1",
        "+-0x1",
        "0x-1",
        "0x1.8p1x",
        "0x1p1024",
        "0x1.fffffffffffff8p1023",
        "0x1p-1075",
        "-0x1p-1076",
        "0x1p99999999999",
        "0x1p-99999999999",
    ] {
        assert_eq!(parse_score(bad.as_bytes()), None, "{bad:?}");
    }
    assert_eq!(parse_score(b"0x0p-5000").map(f64::to_bits), Some(0));
    assert_eq!(
        parse_score(b"-0x0").map(f64::to_bits),
        Some((-0.0f64).to_bits())
    );
}

#[test]
fn hex_float_bounds_allow_overflow_and_spaces() {
    let v = |t: &str| parse_score_bound(t.as_bytes()).map(|x| (x.value, x.exclusive));
    assert_eq!(v("0x3"), Some((3.0, false)));
    assert_eq!(v("(0x1p1"), Some((2.0, true)));
    assert_eq!(v(" 0x10"), Some((16.0, false)));
    assert_eq!(v("\x0b2"), Some((2.0, false)));
    assert_eq!(v("( 1"), Some((1.0, true)));
    assert_eq!(v("0x1p2000"), Some((f64::INFINITY, false)));
    assert_eq!(v("0x1p-2000"), Some((0.0, false)));
    assert_eq!(v(""), Some((0.0, false)));
    assert_eq!(v("("), Some((0.0, true)));
    // strtod converts nothing and stops at the first space: something is left over
    assert_eq!(v(" "), None);
    assert_eq!(v("( "), None);
    assert_eq!(v("\t"), None);
    assert_eq!(v("0x"), None);
    assert_eq!(v("1 "), None);
}

// ---- helpers ----------------------------------------------------------------------------------

#[test]
fn rank_range_clamps_as_redis_does() {
    assert_eq!(rank_range(0, -1, 5), 0..5);
    assert_eq!(rank_range(-1, -1, 5), 4..5);
    assert_eq!(rank_range(-100, 0, 5), 0..1);
    assert_eq!(rank_range(5, 10, 5), 0..0);
    assert_eq!(rank_range(2, 1, 5), 0..0);
    assert_eq!(rank_range(-2, 100, 5), 3..5);
    assert_eq!(rank_range(-100, -50, 5), 0..0);
    assert_eq!(rank_range(i64::MIN, i64::MAX, 5), 0..5);
    assert_eq!(rank_range(0, -1, 0), 0..0);
}

#[test]
fn lex_ranks_on_a_pack_with_mixed_scores_follow_redis_walk() {
    let limits = Limits::default();
    // d(1) a(2) c(3) b(4): answers checked against redis-server's ZLEXCOUNT on a listpack
    let pairs: [(&[u8], f64); 4] = [(b"d", 1.0), (b"a", 2.0), (b"c", 3.0), (b"b", 4.0)];
    let z = ZSetObj::from_pairs(pairs, &limits);
    let n = |lo: &str, hi: &str| {
        let (Some(lo), Some(hi)) = (
            parse_lex_bound(lo.as_bytes()),
            parse_lex_bound(hi.as_bytes()),
        ) else {
            panic!("bad bounds");
        };
        lex_ranks(&z, &lo, &hi).len()
    };
    assert_eq!(n("[b", "+"), 4);
    assert_eq!(n("-", "[b"), 0);
    assert_eq!(n("[a", "[c"), 0);
    assert_eq!(n("[b", "[e"), 4);
    assert_eq!(n("[a", "(c"), 0);
    assert_eq!(n("(a", "[d"), 4);
    // with equal scores it is the plain lex range
    let same = ZSetObj::from_pairs([(&b"a"[..], 0.0), (b"b", 0.0), (b"c", 0.0)], &limits);
    let lo = LexBound::Exclusive(b("a"));
    assert_eq!(lex_ranks(&same, &lo, &LexBound::PosInf), 1..3);
    assert_eq!(lex_ranks(&same, &LexBound::PosInf, &LexBound::NegInf), 0..0);
}

// ---- what the writes log ----------------------------------------------------------------------

#[test]
fn zincrby_and_zadd_incr_log_the_resulting_score() {
    let mut r = Rig::new();
    assert_eq!(
        r.ask(&["ZINCRBY", "z", "0.1", "a"]),
        "$19\r\n0.10000000000000001\r\n"
    );
    assert_eq!(r.logged(), zadd_effect("z", &[("a", 0.1)]));
    assert_eq!(
        r.ask(&["ZINCRBY", "z", "0.2", "a"]),
        "$19\r\n0.30000000000000004\r\n"
    );
    assert_eq!(r.logged(), zadd_effect("z", &[("a", 0.1 + 0.2)]));
    assert_eq!(
        r.ask(&["ZADD", "z", "INCR", "0x1p1", "a"]),
        "$18\r\n2.2999999999999998\r\n"
    );
    assert_eq!(r.logged(), zadd_effect("z", &[("a", 0.1 + 0.2 + 2.0)]));
    // an increment of 0 changes nothing and logs nothing
    r.ask(&["ZINCRBY", "z", "0", "a"]);
    assert!(r.logged().is_empty());
}

#[test]
fn zadd_logs_only_what_changed() {
    let mut r = Rig::new();
    assert_eq!(r.ask(&["ZADD", "z", "1", "a", "2", "b"]), ":2\r\n");
    assert_eq!(r.logged(), zadd_effect("z", &[("a", 1.0), ("b", 2.0)]));
    for no_op in [
        &["ZADD", "z", "1", "a"][..],
        &["ZADD", "z", "NX", "5", "a"],
        &["ZADD", "z", "GT", "0", "a"],
        &["ZADD", "z", "LT", "9", "b"],
        &["ZADD", "z", "XX", "1", "new"],
        &["ZADD", "nokey", "XX", "1", "a"],
        &["ZADD", "z", "INCR", "GT", "0", "a"],
    ] {
        r.ask(no_op);
        assert!(r.logged().is_empty(), "{no_op:?}");
    }
    assert_eq!(r.ask(&["EXISTS", "nokey"]), ":0\r\n");
    // only the changed members, with their scores
    assert_eq!(
        r.ask(&["ZADD", "z", "CH", "1", "a", "3", "b", "4", "c"]),
        ":2\r\n"
    );
    assert_eq!(r.logged(), zadd_effect("z", &[("b", 3.0), ("c", 4.0)]));
}

#[test]
fn a_refused_zadd_logs_nothing_and_creates_nothing() {
    let mut r = Rig::new();
    r.ask(&["ZADD", "z", "inf", "a"]);
    r.logged();
    assert_eq!(
        r.ask(&["ZADD", "z", "INCR", "-inf", "a"]),
        "-ERR resulting score is not a number (NaN)\r\n"
    );
    assert_eq!(
        r.ask(&["ZADD", "y", "1", "a", "nan", "b"]),
        "-ERR value is not a valid float\r\n"
    );
    assert!(r.logged().is_empty());
    assert_eq!(r.ask(&["EXISTS", "y"]), ":0\r\n");
    assert_eq!(r.ask(&["ZSCORE", "z", "a"]), "$3\r\ninf\r\n");
}

#[test]
fn negative_zero_is_logged_as_a_pack_stores_it() {
    let mut r = Rig::new();
    // the reply is the computed -0 (as Redis's), the small zset stores and logs 0
    assert_eq!(r.ask(&["ZINCRBY", "z", "-0", "m"]), "$2\r\n-0\r\n");
    assert_eq!(r.logged(), zadd_effect("z", &[("m", 0.0)]));
    assert_eq!(r.ask(&["ZSCORE", "z", "m"]), "$1\r\n0\r\n");
}

#[test]
fn removals_log_the_members_removed() {
    let mut r = Rig::new();
    r.ask(&[
        "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
    ]);
    r.logged();
    assert_eq!(r.ask(&["ZREM", "z", "a", "a", "nope"]), ":1\r\n");
    assert_eq!(r.logged(), zrem_effect("z", &["a"]));
    assert_eq!(r.ask(&["ZREM", "z", "nope"]), ":0\r\n");
    assert_eq!(r.ask(&["ZREMRANGEBYSCORE", "z", "10", "20"]), ":0\r\n");
    assert_eq!(r.ask(&["ZREMRANGEBYRANK", "z", "5", "9"]), ":0\r\n");
    assert_eq!(r.ask(&["ZREMRANGEBYLEX", "z", "+", "-"]), ":0\r\n");
    assert!(r.logged().is_empty());
    assert_eq!(r.ask(&["ZREMRANGEBYSCORE", "z", "(2", "0x4"]), ":2\r\n");
    assert_eq!(r.logged(), zrem_effect("z", &["c", "d"]));
    assert_eq!(r.ask(&["ZREMRANGEBYRANK", "z", "-1", "-1"]), ":1\r\n");
    assert_eq!(r.logged(), zrem_effect("z", &["e"]));
    assert_eq!(r.ask(&["ZREMRANGEBYLEX", "z", "-", "+"]), ":1\r\n");
    assert_eq!(r.logged(), zrem_effect("z", &["b"]));
    assert_eq!(r.ask(&["EXISTS", "z"]), ":0\r\n");
}

#[test]
fn reads_and_errors_reply_as_redis() {
    let mut r = Rig::new();
    r.ask(&["ZADD", "z", "1", "a", "2", "b", "0x1p-2", "c"]);
    assert_eq!(r.ask(&["ZCARD", "z"]), ":3\r\n");
    assert_eq!(r.ask(&["ZSCORE", "z", "c"]), "$4\r\n0.25\r\n");
    assert_eq!(
        r.ask(&["ZMSCORE", "z", "c", "x"]),
        "*2\r\n$4\r\n0.25\r\n$-1\r\n"
    );
    assert_eq!(r.ask(&["ZRANK", "z", "a"]), ":1\r\n");
    assert_eq!(r.ask(&["ZREVRANK", "z", "a"]), ":1\r\n");
    assert_eq!(r.ask(&["ZREVRANK", "z", "c"]), ":2\r\n");
    assert_eq!(r.ask(&["ZRANK", "z", "x"]), "$-1\r\n");
    assert_eq!(r.ask(&["ZCOUNT", "z", "(0.25", "+inf"]), ":2\r\n");
    assert_eq!(
        r.ask(&["ZCOUNT", "z", " ", "1"]),
        "-ERR min or max is not a float\r\n"
    );
    assert_eq!(
        r.ask(&["ZLEXCOUNT", "z", "a", "+"]),
        "-ERR min or max not valid string range item\r\n"
    );
    assert_eq!(r.ask(&["ZADD", "z", "XX", "CH"]), "-ERR syntax error\r\n");
    assert_eq!(
        r.ask(&["ZADD", "z", "INCR", "x", "a", "2", "b"]),
        "-ERR INCR option supports a single increment-element pair\r\n"
    );
    assert_eq!(
        r.ask(&["ZADD", "z", "GT", "LT", "INCR", "1", "a", "x", "b"]),
        "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n"
    );
    r.ask(&["SET", "s", "x"]);
    assert_eq!(
        r.ask(&["ZADD", "s", "NX", "XX", "1", "a"]),
        "-ERR XX and NX options at the same time are not compatible\r\n"
    );
    assert!(r.ask(&["ZADD", "s", "1", "a"]).starts_with("-WRONGTYPE"));
    assert_eq!(
        r.ask(&["ZREMRANGEBYRANK", "s", "x", "1"]),
        "-ERR value is not an integer or out of range\r\n"
    );
}

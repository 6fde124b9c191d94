//! Unit tests of the range queries: argument parsing in Redis's error order, and the windows
//! the queries select in both encodings against a naive model (filter, reverse, skip, take).

use super::*;
use crate::keyspace::Limits;
use rand::{Rng, SeedableRng};

fn args(s: &[&str]) -> Vec<Bytes> {
    s.iter()
        .map(|a| Bytes::copy_from_slice(a.as_bytes()))
        .collect()
}

fn zrange_q(s: &[&str]) -> Result<Query, &'static str> {
    let mut v = vec!["zrange"];
    v.extend_from_slice(s);
    parse_query(&args(&v), 1, None, None, false)
}

#[test]
fn zrange_options_follow_redis_error_order() {
    let q = zrange_q(&["z", "0", "-1"]).unwrap();
    assert_eq!(
        (q.span.clone(), q.rev, q.withscores),
        (Span::Rank(0, -1), false, false)
    );
    for bad in [
        &["z", "0", "-1", "FOO"][..],
        &["z", "0", "1", "WITHSCORE"],
        &["z", "0", "-1", "REV", "REV"],
        &["z", "0", "-1", "BYSCORE", "BYSCORE"],
        &["z", "0", "-1", "BYSCORE", "BYLEX"],
        &["z", "0", "1", "BYSCORE", "LIMIT"],
        &["z", "0", "1", "BYSCORE", "LIMIT", "1"],
        &["z", "0", "-1", "FOO", "LIMIT", "x", "1"],
        &["z", "1", "3", "LIMIT", "0", "1", "LIMIT"],
    ] {
        assert_eq!(zrange_q(bad), Err(ERR_SYNTAX), "{bad:?}");
    }
    // LIMIT's integers are read where LIMIT stands, before a later bad option.
    assert_eq!(
        zrange_q(&["z", "0", "-1", "LIMIT", "x", "1", "FOO"]),
        Err(ERR_NOT_INT)
    );
    assert_eq!(
        zrange_q(&["z", "0", "-1", "BYSCORE", "LIMIT", "+1", "1"]),
        Err(ERR_NOT_INT)
    );
    assert_eq!(
        zrange_q(&["z", "0", "-1", "BYSCORE", "LIMIT", "00", "1"]),
        Err(ERR_NOT_INT)
    );
    // Conflicts come before the bounds are read.
    assert_eq!(
        zrange_q(&["z", "a", "b", "LIMIT", "0", "1"]),
        Err(ERR_LIMIT_ONLY)
    );
    assert_eq!(
        zrange_q(&["z", "a", "b", "BYLEX", "WITHSCORES"]),
        Err(ERR_BYLEX_WITHSCORES)
    );
    assert_eq!(
        zrange_q(&["z", "a", "b", "BYLEX", "LIMIT", "0", "1", "WITHSCORES"]),
        Err(ERR_BYLEX_WITHSCORES)
    );
    // Only the count says whether LIMIT was given.
    assert!(zrange_q(&["z", "0", "-1", "LIMIT", "5", "-1"]).is_ok());
    assert_eq!(
        zrange_q(&["z", "0", "-1", "LIMIT", "0", "-2"]),
        Err(ERR_LIMIT_ONLY)
    );
    assert_eq!(zrange_q(&["z", "a", "1"]), Err(ERR_NOT_INT));
    assert_eq!(zrange_q(&["z", "+1", "2"]), Err(ERR_NOT_INT));
    assert_eq!(zrange_q(&["z", "a", "1", "BYSCORE"]), Err(ERR_MINMAX_FLOAT));
    assert_eq!(zrange_q(&["z", "a", "1", "BYLEX"]), Err(ERR_MINMAX_LEX));
    // Repeated WITHSCORES and LIMIT are fine; the last LIMIT wins.
    let q = zrange_q(&[
        "z", "0", "9", "BYSCORE", "LIMIT", "0", "1", "LIMIT", "1", "2",
    ])
    .unwrap();
    assert_eq!((q.offset, q.count), (1, 2));
    assert!(
        zrange_q(&["z", "0", "0", "WITHSCORES", "WITHSCORES"])
            .unwrap()
            .withscores
    );
}

#[test]
fn reverse_score_and_lex_ranges_take_max_first() {
    let q = zrange_q(&["z", "(3", "1", "byscore", "rev"]).unwrap();
    assert_eq!(
        q.span,
        Span::Score(
            ScoreBound {
                value: 1.0,
                exclusive: false
            },
            ScoreBound {
                value: 3.0,
                exclusive: true
            }
        )
    );
    let q = zrange_q(&["z", "+", "[b", "BYLEX", "REV"]).unwrap();
    assert_eq!(
        q.span,
        Span::Lex(
            LexBound::Inclusive(Bytes::from_static(b"b")),
            LexBound::PosInf
        )
    );
    // A reverse rank range keeps its ranks as given.
    assert_eq!(
        zrange_q(&["z", "3", "1", "REV"]).unwrap().span,
        Span::Rank(3, 1)
    );
}

#[test]
fn fixed_forms_refuse_what_they_preset() {
    let v = args(&["zrangebyscore", "z", "0", "1", "REV"]);
    assert_eq!(
        parse_query(&v, 1, Some(By::Score), Some(false), false),
        Err(ERR_SYNTAX)
    );
    let v = args(&["zrevrange", "z", "0", "1", "BYSCORE"]);
    assert_eq!(
        parse_query(&v, 1, Some(By::Rank), Some(true), false),
        Err(ERR_SYNTAX)
    );
    let v = args(&["zrevrange", "z", "0", "1", "LIMIT", "0", "1"]);
    assert_eq!(
        parse_query(&v, 1, Some(By::Rank), Some(true), false),
        Err(ERR_LIMIT_ONLY)
    );
    let v = args(&["zrangebylex", "z", "-", "+", "WITHSCORES"]);
    assert_eq!(
        parse_query(&v, 1, Some(By::Lex), Some(false), false),
        Err(ERR_BYLEX_WITHSCORES)
    );
    let v = args(&[
        "zrevrangebyscore",
        "z",
        "3",
        "(1",
        "WITHSCORES",
        "LIMIT",
        "0",
        "1",
    ]);
    let q = parse_query(&v, 1, Some(By::Score), Some(true), false).unwrap();
    assert!(q.rev && q.withscores && q.count == 1);
    // ZRANGESTORE: the key is argv[2] and WITHSCORES is not an option.
    let v = args(&["zrangestore", "d", "z", "0", "-1", "WITHSCORES"]);
    assert_eq!(parse_query(&v, 2, None, None, true), Err(ERR_SYNTAX));
    let v = args(&["zrangestore", "d", "z", "0", "-1", "BYSCORE", "REV"]);
    assert!(parse_query(&v, 2, None, None, true).is_ok());
}

#[test]
fn rank_windows_clamp_and_count_from_the_end() {
    assert_eq!(rank_window(5, 0, -1, false), (0, 5));
    assert_eq!(rank_window(5, -2, -1, false), (3, 5));
    assert_eq!(rank_window(5, -100, 100, false), (0, 5));
    assert_eq!(rank_window(5, i64::MIN, 1, false), (0, 2));
    assert_eq!(rank_window(5, 0, i64::MAX, false), (0, 5));
    assert_eq!(rank_window(5, 3, 1, false), (0, 0));
    assert_eq!(rank_window(5, 5, 10, false), (0, 0));
    assert_eq!(rank_window(5, -10, -6, false), (0, 0));
    assert_eq!(rank_window(5, -6, -5, false), (0, 1));
    // REV: ranks of the descending order.
    assert_eq!(rank_window(5, 0, 1, true), (3, 5));
    assert_eq!(rank_window(5, -2, -1, true), (0, 2));
    assert_eq!(rank_window(0, 0, -1, false), (0, 0));
}

/// The naive answer: every element in order, filtered, reversed, skipped and taken.
fn model(items: &[(Vec<u8>, f64)], q: &Query) -> Vec<(Vec<u8>, f64)> {
    let mut v: Vec<(Vec<u8>, f64)> = items.to_vec();
    if q.rev {
        v.reverse();
    }
    match &q.span {
        Span::Rank(start, stop) => {
            let n = v.len() as i64;
            let s = if *start < 0 { n + start } else { *start }.max(0);
            let e = if *stop < 0 { n + stop } else { *stop }.min(n - 1);
            if s > e {
                return Vec::new();
            }
            v[s as usize..=e as usize].to_vec()
        }
        Span::Score(min, max) => {
            let inside = |s: f64| {
                (if min.exclusive {
                    s > min.value
                } else {
                    s >= min.value
                }) && (if max.exclusive {
                    s < max.value
                } else {
                    s <= max.value
                })
            };
            limit(v.into_iter().filter(|(_, s)| inside(*s)).collect(), q)
        }
        Span::Lex(min, max) => {
            let above = |m: &[u8]| match min {
                LexBound::NegInf => true,
                LexBound::PosInf => false,
                LexBound::Inclusive(b) => m >= &b[..],
                LexBound::Exclusive(b) => m > &b[..],
            };
            let below = |m: &[u8]| match max {
                LexBound::NegInf => false,
                LexBound::PosInf => true,
                LexBound::Inclusive(b) => m <= &b[..],
                LexBound::Exclusive(b) => m < &b[..],
            };
            limit(
                v.into_iter()
                    .filter(|(m, _)| above(m) && below(m))
                    .collect(),
                q,
            )
        }
    }
}

fn limit(v: Vec<(Vec<u8>, f64)>, q: &Query) -> Vec<(Vec<u8>, f64)> {
    if q.offset < 0 {
        return Vec::new();
    }
    let it = v.into_iter().skip(q.offset as usize);
    if q.count < 0 {
        it.collect()
    } else {
        it.take(q.count as usize).collect()
    }
}

fn random_query(rng: &mut rand::rngs::StdRng, lex: bool) -> Query {
    let rev = rng.random_bool(0.5);
    let bound = |rng: &mut rand::rngs::StdRng| ScoreBound {
        value: match rng.random_range(0..10) {
            0 => f64::NEG_INFINITY,
            1 => f64::INFINITY,
            _ => f64::from(rng.random_range(-12..12)) / 2.0,
        },
        exclusive: rng.random_bool(0.3),
    };
    let lexb = |rng: &mut rand::rngs::StdRng| {
        let m = Bytes::from(format!("m{}", rng.random_range(0..60)));
        match rng.random_range(0..6) {
            0 => LexBound::NegInf,
            1 => LexBound::PosInf,
            2 | 3 => LexBound::Inclusive(m),
            _ => LexBound::Exclusive(m),
        }
    };
    let span = match (lex, rng.random_range(0..3)) {
        (true, 0) | (false, 0) => Span::Rank(rng.random_range(-70..70), rng.random_range(-70..70)),
        (true, _) => Span::Lex(lexb(rng), lexb(rng)),
        (false, _) => Span::Score(bound(rng), bound(rng)),
    };
    let (offset, count) = if matches!(span, Span::Rank(..)) || rng.random_bool(0.3) {
        (0, -1)
    } else {
        (rng.random_range(-2..40), rng.random_range(-3..40))
    };
    Query {
        span,
        rev,
        withscores: false,
        offset,
        count,
    }
}

#[test]
fn windows_match_a_naive_model_in_both_encodings() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(13);
    for listpack in [true, false] {
        let limits = Limits {
            zset_max_listpack_entries: if listpack { 128 } else { 0 },
            ..Limits::default()
        };
        for lex in [false, true] {
            for size in [0usize, 1, 5, 50] {
                let mut z = ZSetObj::default();
                for i in 0..size {
                    let score = if lex {
                        0.0
                    } else {
                        f64::from(rng.random_range(-10..10)) / 2.0
                    };
                    z.insert(format!("m{i}").as_bytes(), score, &limits);
                }
                assert_eq!(z.encoding() == "listpack", listpack || size == 0);
                let items: Vec<(Vec<u8>, f64)> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
                for _ in 0..400 {
                    let q = random_query(&mut rng, lex);
                    let sel = select(&z, &q);
                    let n = sel.len();
                    let got: Vec<(Vec<u8>, f64)> = sel.map(|(m, s)| (m.to_vec(), s)).collect();
                    assert_eq!(got.len(), n, "{q:?}");
                    assert_eq!(
                        got,
                        model(&items, &q),
                        "{q:?} on {size} (listpack {listpack})"
                    );
                }
            }
        }
    }
}

#[test]
fn big_sorted_ranges_count_offsets_and_ranks_from_the_top_with_rev() {
    let limits = Limits::default();
    let mut z = ZSetObj::default();
    for i in 0..100_000u32 {
        z.insert(format!("m{i:06}").as_bytes(), f64::from(i), &limits);
    }
    let q = Query {
        span: Span::Score(
            ScoreBound {
                value: 50_000.0,
                exclusive: true,
            },
            ScoreBound {
                value: f64::INFINITY,
                exclusive: false,
            },
        ),
        rev: true,
        withscores: true,
        offset: 10,
        count: 3,
    };
    let got: Vec<f64> = select(&z, &q).map(|(_, s)| s).collect();
    assert_eq!(got, vec![99_989.0, 99_988.0, 99_987.0]);
    let q = Query {
        span: Span::Rank(-3, -1),
        rev: true,
        withscores: false,
        offset: 0,
        count: -1,
    };
    let got: Vec<&[u8]> = select(&z, &q).map(|(m, _)| m).collect();
    assert_eq!(got, vec![&b"m000002"[..], b"m000001", b"m000000"]);
}

#[test]
fn pack_lex_ranges_over_mixed_scores_walk_as_redis_listpack_does() {
    // Replies of redis-server 7.0.15 for ZADD mx 1 c 2 a 3 d 4 b 5 e (a listpack).
    let limits = Limits::default();
    let z = ZSetObj::from_pairs(
        [
            (&b"c"[..], 1.0),
            (b"a", 2.0),
            (b"d", 3.0),
            (b"b", 4.0),
            (b"e", 5.0),
        ],
        &limits,
    );
    assert_eq!(z.encoding(), "listpack");
    let run = |cmd: &str, rest: &[&str]| -> String {
        let mut v = vec![cmd, "mx"];
        v.extend_from_slice(rest);
        let q = parse_query(
            &args(&v),
            1,
            Some(By::Lex),
            Some(cmd.starts_with("zrev")),
            false,
        )
        .unwrap();
        select(&z, &q)
            .map(|(m, _)| String::from_utf8_lossy(m).into_owned())
            .collect()
    };
    assert_eq!(run("zrangebylex", &["[b", "+"]), "cadbe");
    assert_eq!(run("zrangebylex", &["-", "[c"]), "ca");
    assert_eq!(run("zrangebylex", &["[a", "[d"]), "cadb");
    assert_eq!(run("zrevrangebylex", &["+", "[b"]), "ebd");
    assert_eq!(run("zrevrangebylex", &["[c", "-"]), "bdac");
    assert_eq!(run("zrevrangebylex", &["[d", "-", "LIMIT", "1", "2"]), "da");
    assert_eq!(run("zrangebylex", &["[b", "+", "LIMIT", "1", "2"]), "ad");
    assert_eq!(run("zrevrangebylex", &["+", "[a", "LIMIT", "1", "1"]), "b");
    assert_eq!(run("zrangebylex", &["[a", "[a"]), "");
}

//! Unit tests of the sorted-set algebra: argument reading and the arithmetic, each expected
//! value as redis-server 7.0.15 answered it.

use super::*;
use crate::keyspace::{Limits, SetObj, ZSetObj};

const INF: f64 = f64::INFINITY;

fn zset(pairs: &[(&str, f64)]) -> Coll {
    Coll::ZSet(ZSetObj::from_pairs(
        pairs.iter().map(|(m, s)| (m.as_bytes(), *s)),
        &Limits::default(),
    ))
}

fn set(members: &[&str]) -> Coll {
    Coll::Set(SetObj::from_members(
        members.iter().map(|m| m.as_bytes()),
        &Limits::default(),
    ))
}

fn src(c: &Coll) -> Source<'_> {
    Source {
        coll: Some(c),
        weight: 1.0,
    }
}

fn src_w(c: &Coll, weight: f64) -> Source<'_> {
    Source {
        coll: Some(c),
        weight,
    }
}

const MISSING: Source<'static> = Source {
    coll: None,
    weight: 1.0,
};

fn run_op(sources: &[Source], op: SetOp, agg: Aggregate) -> Vec<(String, f64)> {
    combine(sources, op, agg)
        .into_iter()
        .map(|(m, s)| (String::from_utf8_lossy(&m).into_owned(), s))
        .collect()
}

fn owned(v: &[(&str, f64)]) -> Vec<(String, f64)> {
    v.iter().map(|(m, s)| (m.to_string(), *s)).collect()
}

fn args(a: &[&str]) -> Vec<Bytes> {
    a.iter()
        .map(|s| Bytes::copy_from_slice(s.as_bytes()))
        .collect()
}

const UNION: Form = Form {
    name: "zunion",
    op: SetOp::Union,
    store: false,
    card: false,
};
const UNIONSTORE: Form = Form {
    name: "zunionstore",
    op: SetOp::Union,
    store: true,
    card: false,
};
const DIFF: Form = Form {
    name: "zdiff",
    op: SetOp::Diff,
    store: false,
    card: false,
};
const CARD: Form = Form {
    name: "zintercard",
    op: SetOp::Inter,
    store: false,
    card: true,
};

// ---- numkeys and key positions -------------------------------------------------------------

#[test]
fn numkeys_is_checked_for_integer_then_at_least_one_then_room() {
    let a = args(&["zunion", "x", "z"]);
    assert_eq!(key_span(&a, 1), Err(NumkeysError::NotInt));
    for bad in ["01", " 1", "1.0", "9223372036854775808", "-0"] {
        assert_eq!(
            key_span(&args(&["zunion", bad, "z"]), 1),
            Err(NumkeysError::NotInt),
            "{bad}"
        );
    }
    for low in ["0", "-1"] {
        assert_eq!(
            key_span(&args(&["zunion", low, "z"]), 1),
            Err(NumkeysError::AtLeastOne)
        );
    }
    for big in ["2", "2147483648", "9223372036854775807"] {
        assert_eq!(
            key_span(&args(&["zunion", big, "z"]), 1),
            Err(NumkeysError::Syntax)
        );
    }
    assert_eq!(
        key_span(&args(&["zunion", "2", "a", "b", "weights"]), 1),
        Ok(2..4)
    );
}

#[test]
fn movable_keys_are_the_counted_sources_and_the_destination() {
    assert_eq!(
        source_keys(&args(&["zunion", "2", "a", "b", "weights", "1", "2"])),
        vec![2, 3]
    );
    assert_eq!(
        source_keys(&args(&["zintercard", "1", "a", "limit", "1"])),
        vec![2]
    );
    assert_eq!(
        source_keys(&args(&["zunion", "3", "a", "b"])),
        Vec::<usize>::new()
    );
    assert_eq!(
        source_keys(&args(&["zunion", "x", "a"])),
        Vec::<usize>::new()
    );
    assert_eq!(
        store_keys(&args(&[
            "zunionstore",
            "d",
            "2",
            "a",
            "b",
            "weights",
            "1",
            "2"
        ])),
        vec![1, 3, 4]
    );
    assert_eq!(
        store_keys(&args(&["zunionstore", "d", "3", "a"])),
        Vec::<usize>::new()
    );
    assert_eq!(
        store_keys(&args(&["zunionstore", "d", "0", "a"])),
        Vec::<usize>::new()
    );
}

#[test]
fn the_specs_carry_redis_metadata() {
    let info = |n: &str| {
        let s = lookup(n.as_bytes()).unwrap();
        (
            s.arity,
            s.flags.to_vec(),
            (s.first_key, s.last_key, s.step),
            s.acl.to_vec(),
            s.since,
        )
    };
    assert_eq!(
        info("zunion"),
        (
            -3,
            vec!["readonly", "movablekeys"],
            (0, 0, 0),
            vec!["@read", "@sortedset", "@slow"],
            "6.2.0"
        )
    );
    assert_eq!(
        info("zinterstore"),
        (
            -4,
            vec!["write", "denyoom", "movablekeys"],
            (1, 1, 1),
            vec!["@write", "@sortedset", "@slow"],
            "2.0.0"
        )
    );
    assert_eq!(info("zdiffstore").4, "6.2.0");
    assert_eq!(info("zintercard").0, -3);
    assert_eq!(info("zintercard").4, "7.0.0");
}

// ---- options --------------------------------------------------------------------------------

fn opts(form: Form, a: &[&str], n: usize) -> Result<Opts, &'static str> {
    parse_opts(&args(a), 0, n, form)
}

#[test]
fn weights_take_exactly_numkeys_values_and_the_last_options_win() {
    let o = opts(
        UNION,
        &["weights", "2", "0.5", "aggregate", "max", "withscores"],
        2,
    )
    .unwrap();
    assert_eq!(o.weights, vec![2.0, 0.5]);
    assert_eq!(o.aggregate, Aggregate::Max);
    assert!(o.withscores);
    let o = opts(
        UNION,
        &[
            "aggregate",
            "sum",
            "aggregate",
            "MIN",
            "weights",
            "2",
            "weights",
            "3",
        ],
        1,
    )
    .unwrap();
    assert_eq!((o.weights, o.aggregate), (vec![3.0], Aggregate::Min));
    assert!(
        opts(UNION, &["withscores", "withscores"], 1)
            .unwrap()
            .withscores
    );
    for bad in [
        &["weights"][..],
        &["weights", "1"],
        &["weights", "1", "2", "3"],
        &["aggregate"],
        &["aggregate", "foo"],
        &["foo"],
    ] {
        assert_eq!(opts(UNION, bad, 2), Err(ERR_SYNTAX), "{bad:?}");
    }
    // WEIGHTS with room for numkeys values reads whatever follows as weights.
    assert_eq!(
        opts(UNION, &["weights", "1", "weights", "withscores"], 1),
        Err(ERR_WEIGHT)
    );
    for w in [
        "x", "nan", "1e400", "", " 1", "1 ", "1e-400", "0x", "0x1P", "0x1p5000",
    ] {
        assert_eq!(opts(UNION, &["weights", w], 1), Err(ERR_WEIGHT), "{w:?}");
    }
}

#[test]
fn diff_store_and_card_forms_refuse_the_options_they_do_not_take() {
    for bad in [&["weights", "1"][..], &["aggregate", "sum"], &["foo"]] {
        assert_eq!(opts(DIFF, bad, 1), Err(ERR_SYNTAX));
    }
    assert!(opts(DIFF, &["withscores"], 1).unwrap().withscores);
    assert_eq!(opts(UNIONSTORE, &["withscores"], 1), Err(ERR_SYNTAX));
    assert_eq!(
        opts(UNIONSTORE, &["weights", "2"], 1).unwrap().weights,
        vec![2.0]
    );
    for bad in [
        &["withscores"][..],
        &["weights", "1"],
        &["limit"],
        &["foo", "1"],
    ] {
        assert_eq!(opts(CARD, bad, 1), Err(ERR_SYNTAX), "{bad:?}");
    }
    for l in ["-1", "x", "01", " 1", "9223372036854775808"] {
        assert_eq!(opts(CARD, &["limit", l], 1), Err(ERR_LIMIT), "{l:?}");
    }
    assert_eq!(
        opts(CARD, &["limit", "1", "limit", "3"], 1).unwrap().limit,
        3
    );
    assert_eq!(
        opts(CARD, &["limit", "9223372036854775807"], 1)
            .unwrap()
            .limit as u64,
        i64::MAX as u64
    );
}

#[test]
fn weights_read_decimal_infinite_and_hex_forms() {
    for (text, want) in [
        ("2", 2.0),
        ("0.5", 0.5),
        ("1.", 1.0),
        ("-.5e1", -5.0),
        ("inf", INF),
        ("infinity", INF),
        ("-inf", -INF),
        ("0x10", 16.0),
        ("0x1p3", 8.0),
        ("0x.8", 0.5),
        ("-0X1P-1", -0.5),
        ("0x1.8p1", 3.0),
        ("+0xA", 10.0),
        ("0x1p-1074", 5e-324),
        ("0x1.fffffffffffffp1023", f64::MAX),
    ] {
        assert_eq!(parse_weight(text.as_bytes()), Some(want), "{text}");
    }
    assert_eq!(parse_weight(b"0x0").map(f64::to_bits), Some(0f64.to_bits()));
    assert_eq!(
        parse_weight(b"-0x0p9").map(f64::to_bits),
        Some((-0f64).to_bits())
    );
    // more hex digits than a double holds round to nearest
    assert_eq!(parse_weight(b"0x1.00000000000008p0"), Some(1.0));
    assert_eq!(
        parse_weight(b"0x1.000000000000081p0"),
        Some(1.0 + f64::EPSILON)
    );
    assert_eq!(
        parse_weight(b"0x10000000000000000"),
        Some(18446744073709551616.0)
    );
    for bad in [
        "0x",
        "0x1p",
        "0x1p+",
        "0xg",
        "0x1.2.3",
        " 0x1",
        "0x1 ",
        "0x1p99999",
        "0x1p-99999",
        "x1",
    ] {
        assert_eq!(parse_weight(bad.as_bytes()), None, "{bad:?}");
    }
}

// ---- the arithmetic -------------------------------------------------------------------------

#[test]
fn union_sums_weighted_scores_with_sets_scoring_one() {
    let z1 = zset(&[("a", 1.0), ("b", 2.0), ("c", 3.0)]);
    let z2 = zset(&[("b", 10.0), ("c", 20.0), ("d", 30.0)]);
    let s1 = set(&["a", "d", "x"]);
    let si = set(&["1", "2", "3"]);
    assert_eq!(
        run_op(
            &[src(&z1), src(&z2), src(&s1)],
            SetOp::Union,
            Aggregate::Sum
        ),
        owned(&[
            ("x", 1.0),
            ("a", 2.0),
            ("b", 12.0),
            ("c", 23.0),
            ("d", 31.0)
        ])
    );
    assert_eq!(
        run_op(&[src_w(&si, 0.5), src(&z1)], SetOp::Union, Aggregate::Sum),
        owned(&[
            ("1", 0.5),
            ("2", 0.5),
            ("3", 0.5),
            ("a", 1.0),
            ("b", 2.0),
            ("c", 3.0)
        ])
    );
    assert_eq!(
        run_op(&[src(&z1), src_w(&s1, 2.0)], SetOp::Union, Aggregate::Min),
        owned(&[("a", 1.0), ("b", 2.0), ("d", 2.0), ("x", 2.0), ("c", 3.0)])
    );
    assert_eq!(
        run_op(&[src_w(&z1, -1.0), src(&z2)], SetOp::Union, Aggregate::Max),
        owned(&[("a", -1.0), ("b", 10.0), ("c", 20.0), ("d", 30.0)])
    );
    assert_eq!(
        run_op(&[src(&z1), src(&z1)], SetOp::Union, Aggregate::Sum),
        owned(&[("a", 2.0), ("b", 4.0), ("c", 6.0)])
    );
    assert_eq!(
        run_op(&[MISSING, MISSING], SetOp::Union, Aggregate::Sum),
        vec![]
    );
}

#[test]
fn intersection_and_difference_follow_redis() {
    let z1 = zset(&[("a", 1.0), ("b", 2.0), ("c", 3.0)]);
    let z2 = zset(&[("b", 10.0), ("c", 20.0), ("d", 30.0)]);
    let s1 = set(&["a", "d", "x"]);
    assert_eq!(
        run_op(&[src_w(&z1, -1.0), src(&z2)], SetOp::Inter, Aggregate::Sum),
        owned(&[("b", 8.0), ("c", 17.0)])
    );
    assert_eq!(
        run_op(&[src(&z1), src(&s1)], SetOp::Inter, Aggregate::Sum),
        owned(&[("a", 2.0)])
    );
    assert_eq!(
        run_op(&[MISSING, src(&z1)], SetOp::Inter, Aggregate::Sum),
        vec![]
    );
    assert_eq!(
        run_op(&[src(&z1), MISSING], SetOp::Inter, Aggregate::Sum),
        vec![]
    );
    assert_eq!(
        run_op(&[src(&s1), src(&z1)], SetOp::Diff, Aggregate::Sum),
        owned(&[("d", 1.0), ("x", 1.0)])
    );
    assert_eq!(
        run_op(&[src(&z1), MISSING], SetOp::Diff, Aggregate::Sum).len(),
        3
    );
    assert_eq!(
        run_op(&[MISSING, src(&z1)], SetOp::Diff, Aggregate::Sum),
        vec![]
    );
    assert_eq!(
        run_op(&[src(&z1), src(&z1)], SetOp::Diff, Aggregate::Sum),
        vec![]
    );
    // ZDIFF ignores weights (it takes none): the first source's own scores
    assert_eq!(
        run_op(&[src_w(&z2, 5.0), src(&z1)], SetOp::Diff, Aggregate::Sum),
        owned(&[("d", 30.0)])
    );
    assert_eq!(intersection_card(&[src(&z1), src(&z2)], 0), 2);
    assert_eq!(intersection_card(&[src(&z1), src(&z2)], 1), 1);
    assert_eq!(intersection_card(&[src(&z1), src(&z1)], usize::MAX), 3);
    assert_eq!(intersection_card(&[src(&s1)], 0), 3);
}

#[test]
fn nan_from_arithmetic_becomes_zero_in_redis_order() {
    let zi = zset(&[("a", 1.0), ("b", -INF), ("c", INF)]);
    let zj = zset(&[("a", 1.0), ("b", INF), ("c", INF)]);
    let want = owned(&[("b", 0.0), ("a", 2.0), ("c", INF)]);
    assert_eq!(
        run_op(&[src(&zi), src(&zj)], SetOp::Union, Aggregate::Sum),
        want
    );
    assert_eq!(
        run_op(&[src(&zi), src(&zj)], SetOp::Inter, Aggregate::Sum),
        want
    );
    assert_eq!(
        run_op(&[src_w(&zi, 0.0)], SetOp::Union, Aggregate::Sum),
        owned(&[("a", 0.0), ("b", 0.0), ("c", 0.0)])
    );
    assert_eq!(
        run_op(&[src_w(&zi, -INF)], SetOp::Union, Aggregate::Sum),
        owned(&[("a", -INF), ("c", -INF), ("b", INF)])
    );
    // Equal sizes keep the argument order; a smaller source goes first.
    let pa = zset(&[("m", INF)]);
    let pb = zset(&[("m", -INF)]);
    let pc = zset(&[("m", 5.0)]);
    let pd = zset(&[("m", 5.0), ("n", 6.0)]);
    let m = |v: f64| owned(&[("m", v)]);
    for op in [SetOp::Union, SetOp::Inter] {
        assert_eq!(
            run_op(&[src(&pa), src(&pb), src(&pc)], op, Aggregate::Sum),
            m(5.0)
        );
        assert_eq!(
            run_op(&[src(&pa), src(&pc), src(&pb)], op, Aggregate::Sum),
            m(0.0)
        );
        assert_eq!(
            run_op(&[src(&pa), src(&pd), src(&pb)], op, Aggregate::Sum)[0],
            m(5.0)[0]
        );
    }
    assert_eq!(
        run_op(
            &[src(&pc), src(&pa), src(&pb)],
            SetOp::Union,
            Aggregate::Sum
        ),
        m(0.0)
    );
    // In an intersection only the first source's weighted score is NaN-checked: MIN and MAX
    // skip a later NaN; a union takes it as 0.
    assert_eq!(
        run_op(&[src(&pc), src_w(&pa, 0.0)], SetOp::Inter, Aggregate::Min),
        m(5.0)
    );
    assert_eq!(
        run_op(&[src(&pc), src_w(&pa, 0.0)], SetOp::Inter, Aggregate::Max),
        m(5.0)
    );
    assert_eq!(
        run_op(
            &[src_w(&pc, -1.0), src_w(&pa, 0.0)],
            SetOp::Inter,
            Aggregate::Max
        ),
        m(-5.0)
    );
    assert_eq!(
        run_op(&[src_w(&pa, 0.0), src(&pc)], SetOp::Inter, Aggregate::Min),
        m(0.0)
    );
    assert_eq!(
        run_op(&[src(&pc), src_w(&pa, 0.0)], SetOp::Union, Aggregate::Min),
        m(0.0)
    );
    assert_eq!(
        run_op(
            &[src_w(&pc, -1.0), src_w(&pa, 0.0)],
            SetOp::Union,
            Aggregate::Max
        ),
        m(0.0)
    );
}

#[test]
fn results_keep_negative_zero_and_order_by_score_then_member() {
    let zz = zset(&[("a", 0.0), ("b", 1.0)]);
    let r = combine(&[src_w(&zz, -1.0)], SetOp::Union, Aggregate::Sum);
    assert_eq!(r[0].0.as_ref(), b"b");
    assert_eq!(r[1].0.as_ref(), b"a");
    assert_eq!(r[1].1.to_bits(), (-0f64).to_bits());
    let ties = zset(&[("b", 1.0), ("a", 1.0), ("c", 0.5)]);
    let r = run_op(&[src(&ties), src(&zz)], SetOp::Union, Aggregate::Max);
    assert_eq!(r, owned(&[("c", 0.5), ("a", 1.0), ("b", 1.0)]));
}

#[test]
fn large_inputs_combine_like_a_model() {
    // skiplist-sized inputs, with an intset and a listpack set among them
    let big: Vec<(String, f64)> = (0..300)
        .map(|i| (format!("m{i}"), (i % 17) as f64 / 2.0))
        .collect();
    let big_ref: Vec<(&str, f64)> = big.iter().map(|(m, s)| (m.as_str(), *s)).collect();
    let zb = zset(&big_ref);
    let odd: Vec<String> = (0..300)
        .filter(|i| i % 2 == 1)
        .map(|i| format!("m{i}"))
        .collect();
    let odd_ref: Vec<&str> = odd.iter().map(|s| s.as_str()).collect();
    let so = set(&odd_ref);
    let u = run_op(&[src_w(&zb, 2.0), src(&so)], SetOp::Union, Aggregate::Sum);
    assert_eq!(u.len(), 300);
    for (m, s) in &u {
        let i: usize = m[1..].parse().unwrap();
        let want = (i % 17) as f64 + if i % 2 == 1 { 1.0 } else { 0.0 };
        assert_eq!(*s, want, "{m}");
    }
    assert!(u
        .windows(2)
        .all(|w| cmp_elem(w[0].1, w[0].0.as_bytes(), w[1].1, w[1].0.as_bytes()).is_lt()));
    assert_eq!(
        run_op(&[src(&zb), src(&so)], SetOp::Inter, Aggregate::Sum).len(),
        150
    );
    assert_eq!(
        run_op(&[src(&zb), src(&so)], SetOp::Diff, Aggregate::Sum).len(),
        150
    );
    assert_eq!(intersection_card(&[src(&so), src(&zb)], 7), 7);
}

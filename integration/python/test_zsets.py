"""Sorted-set commands: ZADD (NX XX GT LT CH INCR), ZINCRBY, ZREM, ZCARD,
ZSCORE, ZMSCORE, ZCOUNT, ZLEXCOUNT, ZRANK, ZREVRANK, ZPOPMIN, ZPOPMAX,
ZMPOP, ZRANDMEMBER, ZSCAN, ZREMRANGEBYRANK/SCORE/LEX; score parsing and
formatting, TYPE / SCAN TYPE / OBJECT ENCODING, a big zset against a Python
model, WRONGTYPE, MULTI and which writes invalidate a WATCH.

Written and checked against redis-server 7.0.15; every expected reply below
is what it answered. Ranges are in test_zset_ranges.py, ZUNION/ZINTER/ZDIFF
in test_zset_algebra.py.

Never send ZRANDMEMBER a huge *negative* count that Redis accepts (e.g.
-4611686018427387903 WITHSCORES or -9223372036854775807): Redis 7.0 starts
building a reply of that many elements and stops answering.
"""

from __future__ import annotations

import math
import random

import pytest
import redis

from helpers import raises_error
from zset_helpers import (MINMAX_FLOAT, MINMAX_LEX, NAN_SCORE, NOT_FLOAT, NOT_INT,
                          SYNTAX, WRONGTYPE, Model, Wire, arity, fmt, pairs, raw_cmd)

POSITIVE = "ERR value is out of range, must be positive"
ZRANDMEMBER_RANGE = "ERR value is out of range"
LONG_RANGE = ("ERR value is out of range, value must between "
              "-9223372036854775807 and 9223372036854775807")

INF = float("inf")
ZSET_PARAMS = ["zset-max-listpack-entries", "zset-max-listpack-value"]


@pytest.fixture
def w(protocol):
    return Wire(protocol)


@pytest.fixture
def cfg(r):
    """Restores the zset encoding parameters after the test (shared server)."""
    saved = {n: r.config_get(n)[n] for n in ZSET_PARAMS}
    r.config_set("zset-max-listpack-entries", 128)
    r.config_set("zset-max-listpack-value", 64)
    yield r
    for name, value in saved.items():
        r.config_set(name, value)


@pytest.fixture(params=["listpack", "skiplist"])
def encoding(request, r):
    """Runs the test on a small (listpack) and a large-encoded (skiplist) zset:
    the skiplist case lowers zset-max-listpack-entries to 0 for the test."""
    saved = r.config_get("zset-max-listpack-entries")["zset-max-listpack-entries"]
    r.config_set("zset-max-listpack-entries", 128 if request.param == "listpack" else 0)
    yield request.param
    r.config_set("zset-max-listpack-entries", saved)


def enc(r, key):
    return r.object("encoding", key)


# --------------------------------------------------------------------------
# ZADD basics
# --------------------------------------------------------------------------

def test_zadd_counts_new_members(r):
    assert r.zadd("z", {"a": 1, "b": 2, "c": 3}) == 3
    assert r.zadd("z", {"a": 10}) == 0            # an update is not counted
    assert r.zadd("z", {"a": 10, "d": 4}) == 1
    assert r.zcard("z") == 4
    assert r.zscore("z", "a") == 10.0
    assert r.type("z") == "zset"


def test_zadd_same_member_twice_in_one_call_last_wins(r):
    assert r.execute_command("ZADD", "z", "1", "a", "2", "a", "3", "a") == 1
    assert r.zscore("z", "a") == 3.0
    assert r.execute_command("ZADD", "z", "1", "x", "2", "x") == 1
    assert r.zcard("z") == 2


def test_zadd_arity_and_syntax(r):
    for args in (["z"], ["z", "1"], ["z", "NX"], ["z", "INCR"]):
        with raises_error(arity("zadd")):
            r.execute_command("ZADD", *args)
    for args in (["z", "1", "a", "2"], ["z", "XX", "CH"], ["z", "CH", "1"],
                 ["z", "INCR", "1", "a", "INCR"], ["z", "1", "a", "NX"]):
        with raises_error(SYNTAX):
            r.execute_command("ZADD", *args)
    assert r.exists("z") == 0


def test_zadd_incompatible_options(r):
    r.zadd("z", {"a": 1})
    with raises_error("ERR XX and NX options at the same time are not compatible"):
        r.execute_command("ZADD", "z", "NX", "XX", "1", "a")
    for opts in (["GT", "LT"], ["GT", "NX"], ["LT", "NX"], ["NX", "GT", "LT"]):
        with raises_error("ERR GT, LT, and/or NX options at the same time are not compatible"):
            r.execute_command("ZADD", "z", *opts, "1", "a")
    with raises_error("ERR INCR option supports a single increment-element pair"):
        r.execute_command("ZADD", "z", "INCR", "1", "a", "2", "b")
    assert pairs(r.zrange("z", 0, -1, withscores=True)) == [("a", 1)]


@pytest.mark.parametrize("text,value", [
    ("1", 1.0), ("-1", -1.0), ("+5", 5.0), (".5", 0.5), ("5.", 5.0), ("2.5E+2", 250.0),
    ("1e-3", 0.001), ("0x10", 16.0), ("0x1p3", 8.0), ("inf", float("inf")),
    ("+inf", float("inf")), ("-inf", float("-inf")), ("INF", float("inf")),
    ("+INF", float("inf")), ("Infinity", float("inf")), ("-infinity", float("-inf")),
    ("1e308", 1e308), ("5e-324", 5e-324), ("-0", 0.0),
])
def test_zadd_accepts_strtod_spellings(r, text, value):
    assert r.execute_command("ZADD", "z", text, "m") == 1
    assert r.zscore("z", "m") == value


@pytest.mark.parametrize("text", [
    "abc", "", " 1", "1 ", "1e", "1_0", "nan", "NaN", "-nan", "1e400", "-1e400",
    "1e-400", "1,5", "--1", "0x", "(1", "[1",
])
def test_zadd_refuses_bad_scores(r, text):
    with raises_error(NOT_FLOAT):
        r.execute_command("ZADD", "z", text, "m")
    # one bad score anywhere refuses the whole command
    with raises_error(NOT_FLOAT):
        r.execute_command("ZADD", "z", "1", "a", text, "b", "2", "c")
    assert r.exists("z") == 0


def test_zadd_xx_nx(r):
    r.zadd("z", {"a": 5, "b": 5})
    assert r.zadd("z", {"a": 1, "c": 1}, xx=True) == 0
    assert r.zscore("z", "a") == 1.0 and r.zscore("z", "c") is None
    assert r.zadd("z", {"a": 2, "c": 1}, xx=True, ch=True) == 1
    assert r.zadd("z", {"a": 9, "c": 3}, nx=True, ch=True) == 1
    assert pairs(r.zrange("z", 0, -1, withscores=True)) == [("a", 2), ("c", 3), ("b", 5)]
    # XX on a missing key creates nothing
    assert r.zadd("nokey", {"a": 1}, xx=True) == 0
    assert r.exists("nokey") == 0


def test_zadd_gt_lt(r):
    r.zadd("z", {"a": 2, "b": 5, "c": 3})
    # GT: update only upwards, and still add new members
    assert r.execute_command("ZADD", "z", "GT", "CH", "1", "a", "10", "b", "7", "d") == 2
    assert pairs(r.zrange("z", 0, -1, withscores=True)) == [
        ("a", 2), ("c", 3), ("d", 7), ("b", 10)]
    # LT: update only downwards
    assert r.execute_command("ZADD", "z", "LT", "CH", "0", "a", "20", "b", "1", "e") == 2
    assert pairs(r.zrange("z", 0, -1, withscores=True)) == [
        ("a", 0), ("e", 1), ("c", 3), ("d", 7), ("b", 10)]
    # GT with XX: updates only, upwards only
    assert r.execute_command("ZADD", "z", "GT", "XX", "CH", "100", "a", "1", "new") == 1
    assert r.zscore("z", "a") == 100.0 and r.zscore("z", "new") is None
    # equal score: not a change
    assert r.execute_command("ZADD", "z", "GT", "CH", "100", "a") == 0
    assert r.execute_command("ZADD", "z", "CH", "100", "a") == 0
    # options are case-insensitive
    assert r.execute_command("ZADD", "z", "ch", "nx", "1", "q") == 1


def test_zadd_ch(r):
    r.zadd("z", {"a": 1, "b": 2})
    assert r.zadd("z", {"a": 1, "b": 3, "c": 4}, ch=True) == 2  # b changed, c added
    assert r.zadd("z", {"a": 1}, ch=True) == 0


def test_zadd_incr(r):
    assert r.zadd("z", {"a": 1.5}, incr=True) == 1.5  # creates the key
    assert r.zadd("z", {"a": 1}, incr=True) == 2.5
    assert r.execute_command("ZADD", "z", "INCR", "-0.5", "a") == 2.0
    assert r.zadd("z", {"b": 1}, incr=True, xx=True) is None     # missing: XX stops it
    assert r.zadd("z", {"a": 1}, incr=True, nx=True) is None     # present: NX stops it
    assert r.zadd("z", {"a": -1}, incr=True, gt=True) is None    # would go down
    assert r.zadd("z", {"a": 1}, incr=True, lt=True) is None     # would go up
    assert r.zadd("z", {"a": 0}, incr=True, gt=True) is None     # unchanged
    assert r.zadd("z", {"a": 1}, incr=True, gt=True) == 3.0
    assert r.zadd("z", {"a": -1}, incr=True, lt=True) == 2.0
    assert r.zadd("z", {"new": 1}, incr=True, gt=True) == 1.0    # GT still adds
    assert r.zscore("z", "b") is None
    assert r.zadd("nokey", {"a": 1}, incr=True, xx=True) is None
    assert r.exists("nokey") == 0


def test_zadd_incr_reply_shapes_raw(rc, w):
    assert raw_cmd(rc, "ZADD", "z", "INCR", "1", "b") == w.score("1")
    assert raw_cmd(rc, "ZADD", "z", "INCR", "0.5", "b") == w.score("1.5")
    assert raw_cmd(rc, "ZADD", "z", "NX", "INCR", "1", "b") == w.nil
    assert raw_cmd(rc, "ZADD", "z", "XX", "INCR", "1", "nope") == w.nil
    assert raw_cmd(rc, "ZADD", "z", "CH", "5", "b") == w.int(1)
    assert raw_cmd(rc, "ZADD", "z", "5", "b", "1", "c") == w.int(1)


def test_zadd_keeps_ttl(r):
    r.zadd("z", {"a": 1})
    r.expire("z", 100)
    r.zadd("z", {"b": 2})
    r.zincrby("z", 1, "a")
    assert 0 < r.ttl("z") <= 100


# --------------------------------------------------------------------------
# ZINCRBY and NaN
# --------------------------------------------------------------------------

def test_zincrby(r):
    assert r.zincrby("z", 2.5, "m") == 2.5  # creates key and member
    assert r.type("z") == "zset"
    assert r.zincrby("z", -2.5, "m") == 0.0
    assert r.zincrby("z", 0.1, "m") == 0.1
    assert r.zincrby("z", 0.2, "m") == pytest.approx(0.30000000000000004, abs=0)
    assert r.zincrby("z", 1, "n") == 1.0
    assert r.zcard("z") == 2


def test_zincrby_errors(r):
    r.zadd("z", {"m": 1})
    for bad in ("abc", "nan", "", "1e400"):
        with raises_error(NOT_FLOAT):
            r.execute_command("ZINCRBY", "z", bad, "m")
    for args in (["z", "1"], ["z", "1", "m", "2"], ["z"]):
        with raises_error(arity("zincrby")):
            r.execute_command("ZINCRBY", *args)
    assert r.zscore("z", "m") == 1.0


def test_inf_plus_minus_inf_is_nan_refused(r):
    assert r.execute_command("ZINCRBY", "z", "+inf", "a") == INF
    with raises_error(NAN_SCORE):
        r.execute_command("ZINCRBY", "z", "-inf", "a")
    with raises_error(NAN_SCORE):
        r.execute_command("ZADD", "z", "INCR", "-inf", "a")
    assert r.zscore("z", "a") == float("inf")  # unchanged
    assert r.zadd("z", {"a": INF}, incr=True) == INF
    assert r.execute_command("ZINCRBY", "z", "1", "a") == INF
    r.zadd("z", {"b": float("-inf")})
    with raises_error(NAN_SCORE):
        r.execute_command("ZINCRBY", "z", "inf", "b")
    assert r.zscore("z", "b") == float("-inf")


def test_zincrby_overflow_to_inf_is_allowed(r):
    assert r.execute_command("ZINCRBY", "z", "1e308", "m") == 1e308
    assert r.execute_command("ZINCRBY", "z", "1e308", "m") == INF
    assert r.execute_command("ZINCRBY", "z", "-1e308", "m") == INF


def test_zincrby_reply_shape_raw(rc, w):
    assert raw_cmd(rc, "ZINCRBY", "z", "0.1", "a") == w.score("0.10000000000000001")
    assert raw_cmd(rc, "ZINCRBY", "z", "0.2", "a") == w.score("0.30000000000000004")
    assert raw_cmd(rc, "ZINCRBY", "z", "2.7", "a") == w.score("3")
    assert raw_cmd(rc, "ZINCRBY", "z", "inf", "b") == w.score("inf")


# --------------------------------------------------------------------------
# Score formatting (ZSCORE / ZMSCORE / ZRANGE WITHSCORES)
# --------------------------------------------------------------------------

SCORE_TEXTS = [
    ("1", "1"), ("3.0", "3"), ("-7", "-7"), ("0.5", "0.5"), ("1.5", "1.5"),
    ("0.1", "0.10000000000000001"), ("-0.1", "-0.10000000000000001"),
    ("0.3", "0.29999999999999999"), ("2.5E+2", "250"),
    ("1e300", "1.0000000000000001e+300"), ("5e-324", "4.9406564584124654e-324"),
    ("1e-5", "1.0000000000000001e-05"),
    ("123456789012345678", "1.2345678901234568e+17"),
    ("1e15", "1000000000000000"), ("1e16", "10000000000000000"), ("1e17", "1e+17"),
    ("-1e17", "-1e+17"), ("1e18", "1e+18"),
    ("9007199254740993", "9007199254740992"), ("4503599627370497", "4503599627370497"),
    ("12345678901234567890", "1.2345678901234567e+19"),
    ("9223372036854775807", "9.2233720368547758e+18"),
    ("-9223372036854775808", "-9.2233720368547758e+18"),
    ("inf", "inf"), ("-inf", "-inf"), ("+inf", "inf"),
]


def test_fmt_model_matches_table():
    for text, expected in SCORE_TEXTS:
        assert fmt(float(text)) == expected, text


def test_score_formatting_raw(rc, w, encoding):
    for i, (text, _) in enumerate(SCORE_TEXTS):
        assert raw_cmd(rc, "ZADD", "z", text, f"m{i}") == w.int(1)
    assert rc.cmd("OBJECT", "ENCODING", "z") == encoding.encode()
    for i, (text, expected) in enumerate(SCORE_TEXTS):
        assert raw_cmd(rc, "ZSCORE", "z", f"m{i}") == w.score(expected), text
        assert raw_cmd(rc, "ZMSCORE", "z", f"m{i}") == w.arr(w.score(expected)), text
    # the whole range, ordered by score, every score formatted the same way
    ordered = sorted(((float(t), f"m{i}", e) for i, (t, e) in enumerate(SCORE_TEXTS)),
                     key=lambda x: (x[0], x[1].encode()))
    assert raw_cmd(rc, "ZRANGE", "z", "0", "-1", "WITHSCORES") == \
        w.withscores([(m, e) for _, m, e in ordered])


def test_negative_zero_depends_on_encoding(r, encoding):
    """-0 is kept as -0 by the skiplist encoding but comes back as 0 from a
    listpack (Redis stores an integral score there as an integer)."""
    r.execute_command("ZADD", "z", "-0", "m")
    assert enc(r, "z") == encoding
    sign = 1.0 if encoding == "listpack" else -1.0
    score = r.zscore("z", "m")
    assert score == 0 and math.copysign(1.0, score) == sign
    (_, got), = pairs(r.zrange("z", 0, -1, withscores=True))
    assert math.copysign(1.0, got) == sign


def test_negative_zero_raw(rc, w):
    rc.cmd("CONFIG", "SET", "zset-max-listpack-entries", "0")
    try:
        rc.cmd("ZADD", "big", "-0", "m", "0", "n")
        assert raw_cmd(rc, "ZSCORE", "big", "m") == w.score("-0")
        assert raw_cmd(rc, "ZSCAN", "big", "0", "MATCH", "m") == \
            w.arr(w.bulk("0"), w.arr(w.bulk("m"), w.bulk("-0")))
    finally:
        rc.cmd("CONFIG", "SET", "zset-max-listpack-entries", "128")
    rc.cmd("ZADD", "small", "-0", "m")
    assert raw_cmd(rc, "ZSCORE", "small", "m") == w.score("0")


def test_zscore_zmscore(r):
    r.zadd("z", {"a": 1, "b": 2.5})
    assert r.zscore("z", "a") == 1.0
    assert r.zscore("z", "zz") is None
    assert r.zscore("nokey", "a") is None
    assert r.zmscore("z", ["a", "zz", "b", "a"]) == [1.0, None, 2.5, 1.0]
    assert r.zmscore("nokey", ["a", "b"]) == [None, None]
    for args in (["z"], ["z", "a", "b"]):
        with raises_error(arity("zscore")):
            r.execute_command("ZSCORE", *args)
    with raises_error(arity("zmscore")):
        r.execute_command("ZMSCORE", "z")


def test_zscore_zmscore_raw(rc, w):
    rc.cmd("ZADD", "z", "0.1", "a", "1", "b")
    assert raw_cmd(rc, "ZSCORE", "z", "a") == w.score("0.10000000000000001")
    assert raw_cmd(rc, "ZSCORE", "z", "nope") == w.nil
    assert raw_cmd(rc, "ZSCORE", "nokey", "a") == w.nil
    assert raw_cmd(rc, "ZMSCORE", "z", "a", "b", "nope") == \
        w.arr(w.score("0.10000000000000001"), w.score("1"), w.nil)
    assert raw_cmd(rc, "ZMSCORE", "nokey", "a", "b") == w.arr(w.nil, w.nil)


# --------------------------------------------------------------------------
# ZREM / ZCARD
# --------------------------------------------------------------------------

def test_zrem(r):
    r.zadd("z", {"a": 1, "b": 2, "c": 3})
    assert r.zrem("z", "a", "a", "b", "nope") == 2
    assert r.zrem("z", "a") == 0
    assert r.zrange("z", 0, -1) == ["c"]
    assert r.zrem("nokey", "a") == 0
    with raises_error(arity("zrem")):
        r.execute_command("ZREM", "z")


def test_zrem_last_member_removes_key(r):
    r.zadd("z", {"a": 1, "b": 2})
    r.expire("z", 100)
    assert r.zrem("z", "a", "b") == 2
    assert r.exists("z") == 0 and r.type("z") == "none"
    r.zadd("z", {"a": 1})
    assert r.ttl("z") == -1


def test_zcard(r):
    assert r.zcard("nokey") == 0
    r.zadd("z", {str(i): i for i in range(300)})
    assert r.zcard("z") == 300
    with raises_error(arity("zcard")):
        r.execute_command("ZCARD", "z", "x")


def test_binary_members(rb):
    members = {b"\x00": 1, b"": 2, b"\xff\xfe": 3, b"a\r\nb": 4, b"x" * 200: 5}
    assert rb.zadd("z", members) == 5
    assert rb.zrange("z", 0, -1) == [b"\x00", b"", b"\xff\xfe", b"a\r\nb", b"x" * 200]
    assert rb.zscore("z", b"") == 2.0
    assert rb.zrank("z", b"\xff\xfe") == 2
    assert rb.zrem("z", b"\x00") == 1


# --------------------------------------------------------------------------
# ZCOUNT / ZLEXCOUNT
# --------------------------------------------------------------------------

@pytest.fixture
def five(r):
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})
    return r


def test_zcount(five):
    r = five
    assert r.zcount("z", "-inf", "+inf") == 5
    assert r.zcount("z", 2, 4) == 3
    assert r.zcount("z", "(2", 4) == 2
    assert r.zcount("z", "(1", "(5") == 3
    assert r.zcount("z", 5, 1) == 0
    assert r.zcount("z", "inf", "-inf") == 0
    assert r.zcount("z", "-INF", "+Inf") == 5
    assert r.zcount("z", "1e0", "0x3") == 3
    assert r.zcount("z", "(3", "(3") == 0
    assert r.zcount("z", 3, 3) == 1
    assert r.zcount("nokey", 0, 1) == 0
    # an empty bound, or a bare "(", reads as 0 (ZADD refuses an empty score)
    assert r.zcount("z", "(", "+inf") == 5
    assert r.zcount("z", "", 1) == 1
    assert r.zcount("z", 1, "") == 0
    assert r.zcount("z", "-inf", "(") == 0


def test_zcount_errors(five):
    r = five
    for lo, hi in (("a", "1"), ("1", "b"), ("nan", "1"), ("(nan", "1"), ("[1", "2"),
                   ("((1", "2"), ("1", "2x")):
        with raises_error(MINMAX_FLOAT):
            r.execute_command("ZCOUNT", "z", lo, hi)
    with raises_error(arity("zcount")):
        r.execute_command("ZCOUNT", "z", "0")


def test_zlexcount(r):
    r.zadd("z", {m: 0 for m in "abcde"})
    assert r.zlexcount("z", "-", "+") == 5
    assert r.zlexcount("z", "[b", "(d") == 2
    assert r.zlexcount("z", "(b", "[d") == 2
    assert r.zlexcount("z", "[b", "[b") == 1
    assert r.zlexcount("z", "(b", "(b") == 0
    assert r.zlexcount("z", "+", "-") == 0
    assert r.zlexcount("z", "[bb", "+") == 3
    assert r.zlexcount("z", "[", "+") == 5   # "[" alone is the empty string
    assert r.zlexcount("nokey", "-", "+") == 0
    for lo, hi in (("a", "b"), ("-a", "+"), ("+a", "+"), ("", "+"), ("[a", "c")):
        with raises_error(MINMAX_LEX):
            r.execute_command("ZLEXCOUNT", "z", lo, hi)
    with raises_error(arity("zlexcount")):
        r.execute_command("ZLEXCOUNT", "z", "-")


# --------------------------------------------------------------------------
# ZRANK / ZREVRANK
# --------------------------------------------------------------------------

def test_zrank_zrevrank(five):
    r = five
    assert [r.zrank("z", m) for m in "abcde"] == [0, 1, 2, 3, 4]
    assert [r.zrevrank("z", m) for m in "abcde"] == [4, 3, 2, 1, 0]
    assert r.zrank("z", "nope") is None
    assert r.zrevrank("z", "nope") is None
    assert r.zrank("nokey", "a") is None
    for cmd in ("zrank", "zrevrank"):
        with raises_error(arity(cmd)):
            r.execute_command(cmd.upper(), "z")


def test_ties_ordered_by_member_bytes(r):
    r.zadd("z", {"b": 1, "a": 1, "c": 1, "aa": 1, "B": 1, "": 1, "\u00e9": 1, "0": 2, "z": 0})
    order = ["z", "", "B", "a", "aa", "b", "c", "\u00e9", "0"]
    assert r.zrange("z", 0, -1) == order
    assert [r.zrank("z", m) for m in order] == list(range(len(order)))
    assert r.zrevrank("z", "z") == len(order) - 1


def test_zrank_raw(rc, w):
    rc.cmd("ZADD", "z", "1", "a")
    assert raw_cmd(rc, "ZRANK", "z", "a") == w.int(0)
    assert raw_cmd(rc, "ZREVRANK", "z", "a") == w.int(0)
    assert raw_cmd(rc, "ZRANK", "z", "nope") == w.nil
    assert raw_cmd(rc, "ZREVRANK", "nokey", "a") == w.nil


# --------------------------------------------------------------------------
# ZPOPMIN / ZPOPMAX
# --------------------------------------------------------------------------

def test_zpopmin_zpopmax(five):
    r = five
    assert pairs(r.zpopmin("z")) == [("a", 1)]
    assert pairs(r.zpopmax("z")) == [("e", 5)]
    assert pairs(r.zpopmin("z", 2)) == [("b", 2), ("c", 3)]
    assert pairs(r.zpopmax("z", 10)) == [("d", 4)]
    assert r.exists("z") == 0
    assert r.zpopmin("z") == [] and r.zpopmax("nokey", 3) == []


def test_zpopmax_order_and_ties(r):
    r.zadd("z", {"a": 1, "b": 1, "c": 1, "d": 0})
    assert pairs(r.zpopmax("z", 2)) == [("c", 1), ("b", 1)]
    assert pairs(r.zpopmin("z", 2)) == [("d", 0), ("a", 1)]


def test_zpop_count_zero_and_errors(five):
    r = five
    assert r.zpopmin("z", 0) == [] and r.zpopmax("z", 0) == []
    assert r.zcard("z") == 5
    for cmd in ("ZPOPMIN", "ZPOPMAX"):
        for bad in ("-1", "1.5", "x"):
            with raises_error(POSITIVE):
                r.execute_command(cmd, "z", bad)
        with raises_error(SYNTAX):
            r.execute_command(cmd, "z", "1", "2")
        with raises_error(arity(cmd.lower())):
            r.execute_command(cmd)
    assert r.zcard("z") == 5


def test_zpop_reply_shapes_raw(rc, w):
    rc.cmd("ZADD", "z", "1", "a", "2.5", "b", "3", "c", "4", "d")
    # without a count: one flat [member, score] in both protocols
    assert raw_cmd(rc, "ZPOPMIN", "z") == w.flat_pair("a", "1")
    assert raw_cmd(rc, "ZPOPMAX", "z") == w.flat_pair("d", "4")
    # with a count: pairs in RESP3, flat in RESP2 (also for a count of 1)
    assert raw_cmd(rc, "ZPOPMIN", "z", "1") == w.withscores([("b", "2.5")])
    assert raw_cmd(rc, "ZPOPMAX", "z", "0") == b"*0\r\n"
    assert raw_cmd(rc, "ZPOPMAX", "z", "5") == w.withscores([("c", "3")])
    assert raw_cmd(rc, "ZPOPMIN", "z") == b"*0\r\n"
    assert raw_cmd(rc, "ZPOPMAX", "nokey", "2") == b"*0\r\n"


# --------------------------------------------------------------------------
# ZMPOP
# --------------------------------------------------------------------------

def test_zmpop(r):
    r.zadd("z1", {"a": 1, "b": 2, "c": 3})
    r.zadd("z2", {"x": 10})
    got = r.zmpop(2, ["nokey", "z1"], min=True)
    assert got[0] == "z1" and pairs(got[1]) == [("a", 1)]
    got = r.execute_command("ZMPOP", "2", "nokey", "z1", "MAX", "COUNT", "5")
    assert got[0] == "z1" and pairs(got[1]) == [("c", 3), ("b", 2)]
    assert r.exists("z1") == 0
    got = r.execute_command("ZMPOP", "2", "z1", "z2", "min", "count", "1")
    assert got[0] == "z2" and pairs(got[1]) == [("x", 10)]
    assert r.execute_command("ZMPOP", "1", "nokey", "MIN") is None


def test_zmpop_errors(r):
    r.zadd("z", {"a": 1})
    for numkeys in ("0", "-1", "x"):
        with raises_error("ERR numkeys should be greater than 0"):
            r.execute_command("ZMPOP", numkeys, "z", "MIN")
    for args in (["2", "z", "MIN"], ["9223372036854775807", "z", "MIN"],
                 ["2147483648", "z", "MIN"], ["1", "z", "FOO"],
                 ["1", "z", "MIN", "COUNT"], ["1", "z", "MIN", "COUNT", "1", "COUNT", "1"],
                 ["1", "z", "MIN", "FOO", "1"]):
        with raises_error(SYNTAX):
            r.execute_command("ZMPOP", *args)
    for count in ("0", "-1", "x"):
        with raises_error("ERR count should be greater than 0"):
            r.execute_command("ZMPOP", "1", "z", "MIN", "COUNT", count)
    for args in (["1"], ["1", "z"]):
        with raises_error(arity("zmpop")):
            r.execute_command("ZMPOP", *args)
    assert r.zcard("z") == 1


def test_zmpop_reply_shapes_raw(rc, w):
    rc.cmd("ZADD", "z", "0.1", "a", "2", "b", "inf", "c")
    # [key, [[member, score], ...]]: pairs are nested in both protocols
    assert raw_cmd(rc, "ZMPOP", "1", "z", "MIN") == w.arr(
        w.bulk("z"), w.arr(w.arr(w.bulk("a"), w.score("0.10000000000000001"))))
    assert raw_cmd(rc, "ZMPOP", "2", "nokey", "z", "MAX", "COUNT", "5") == w.arr(
        w.bulk("z"), w.arr(w.arr(w.bulk("c"), w.score("inf")),
                           w.arr(w.bulk("b"), w.score("2"))))
    assert raw_cmd(rc, "ZMPOP", "1", "z", "MIN") == w.nil_array
    assert rc.cmd("EXISTS", "z") == 0


# --------------------------------------------------------------------------
# ZRANDMEMBER
# --------------------------------------------------------------------------

@pytest.mark.parametrize("size", [5, 300], ids=["small", "big"])
def test_zrandmember_positive_count(r, size):
    model = {f"m{i}": i * 0.5 for i in range(size)}
    r.zadd("z", model)
    for count in (1, 3, size - 1, size):
        got = r.zrandmember("z", count)
        assert len(got) == count and len(set(got)) == count and set(got) <= set(model)
        got = pairs(r.zrandmember("z", count, withscores=True))
        assert len(got) == count and len({m for m, _ in got}) == count
        assert all(model[m] == s for m, s in got)
    assert sorted(r.zrandmember("z", size + 10)) == sorted(model)
    assert sorted(r.zrandmember("z", 9223372036854775807)) == sorted(model)
    got = pairs(r.execute_command("ZRANDMEMBER", "z", "4611686018427387903", "WITHSCORES"))
    assert sorted(got) == sorted(model.items())
    assert r.zcard("z") == size


@pytest.mark.parametrize("size", [5, 300], ids=["small", "big"])
def test_zrandmember_negative_count_may_repeat(r, size):
    model = {f"m{i}": i for i in range(size)}
    r.zadd("z", model)
    got = r.zrandmember("z", -(size * 2))
    assert len(got) == size * 2 and set(got) <= set(model)
    got = pairs(r.zrandmember("z", -(size * 2), withscores=True))
    assert len(got) == size * 2 and all(model[m] == s for m, s in got)


def test_zrandmember_single_member(r):
    r.zadd("z", {"a": 1})
    assert r.zrandmember("z", -3) == ["a", "a", "a"]
    assert r.zrandmember("z", 3) == ["a"]
    assert r.zrandmember("z") == "a"


def test_zrandmember_zero_missing_and_errors(r):
    r.zadd("z", {"a": 1, "b": 2})
    assert r.zrandmember("z", 0) == []
    assert r.zrandmember("z", 0, withscores=True) == []
    assert r.zrandmember("nokey") is None
    assert r.zrandmember("nokey", 5) == []
    assert r.zrandmember("nokey", -5, withscores=True) == []
    for bad in ("x", "1.5", "WITHSCORES"):
        with raises_error(NOT_INT):
            r.execute_command("ZRANDMEMBER", "z", bad)
    with raises_error(LONG_RANGE):
        r.execute_command("ZRANDMEMBER", "z", "-9223372036854775808")
    # WITHSCORES doubles the reply: counts beyond +-(2^63-1)/2 are refused,
    # also on a missing key
    for count in ("9223372036854775807", "-9223372036854775807", "4611686018427387904",
                  "-4611686018427387904"):
        with raises_error(ZRANDMEMBER_RANGE):
            r.execute_command("ZRANDMEMBER", "z", count, "WITHSCORES")
        with raises_error(ZRANDMEMBER_RANGE):
            r.execute_command("ZRANDMEMBER", "nokey", count, "WITHSCORES")
    assert r.execute_command("ZRANDMEMBER", "nokey", "-4611686018427387903",
                             "WITHSCORES") == []
    for args in (["1", "FOO"], ["1", "WITHSCORES", "FOO"]):
        with raises_error(SYNTAX):
            r.execute_command("ZRANDMEMBER", "z", *args)
    with raises_error(arity("zrandmember")):
        r.execute_command("ZRANDMEMBER")
    assert pairs(r.execute_command("ZRANDMEMBER", "z", "1", "withscores"))[0] in (
        ("a", 1), ("b", 2))


def test_zrandmember_reply_shapes_raw(rc, w):
    rc.cmd("ZADD", "z", "0.1", "a")
    assert raw_cmd(rc, "ZRANDMEMBER", "z") == w.bulk("a")
    assert raw_cmd(rc, "ZRANDMEMBER", "z", "1") == w.members(["a"])
    assert raw_cmd(rc, "ZRANDMEMBER", "z", "-2") == w.members(["a", "a"])
    assert raw_cmd(rc, "ZRANDMEMBER", "z", "2", "WITHSCORES") == \
        w.withscores([("a", "0.10000000000000001")])
    assert raw_cmd(rc, "ZRANDMEMBER", "z", "-2", "WITHSCORES") == \
        w.withscores([("a", "0.10000000000000001")] * 2)
    assert raw_cmd(rc, "ZRANDMEMBER", "nokey") == w.nil
    assert raw_cmd(rc, "ZRANDMEMBER", "nokey", "1") == b"*0\r\n"
    assert raw_cmd(rc, "ZRANDMEMBER", "z", "0", "WITHSCORES") == b"*0\r\n"


def test_zrandmember_scores_formatted_like_zrange(rc, w, encoding):
    texts = [("1e17", "1e+17"), ("0.1", "0.10000000000000001"), ("3", "3"),
             ("1e16", "10000000000000000"), ("-inf", "-inf")]
    for i, (t, _) in enumerate(texts):
        rc.cmd("ZADD", "z", t, f"m{i}")
    rc.send(rc.encode("ZRANDMEMBER", "z", "10", "WITHSCORES"))
    got = rc.read_reply()
    if w.protocol == 2:
        got = [got[i:i + 2] for i in range(0, len(got), 2)]
    expected = {f"m{i}".encode(): e for i, (_, e) in enumerate(texts)}
    assert len(got) == len(texts)
    for m, s in got:
        if w.protocol == 3:
            assert s == float(expected[m])
        else:
            assert s == expected[m].encode()


# --------------------------------------------------------------------------
# ZSCAN
# --------------------------------------------------------------------------

def full_zscan(r, key, **kwargs):
    cursor, seen, calls = 0, [], 0
    for _ in range(10_000):
        cursor, page = r.zscan(key, cursor, **kwargs)
        calls += 1
        seen.extend(page)
        if cursor == 0:
            return seen, calls
    raise AssertionError("ZSCAN did not finish within 10,000 calls")


def test_zscan_listpack_in_one_call(cfg):
    r = cfg
    r.zadd("z", {f"m{i}": i for i in range(100)})
    assert enc(r, "z") == "listpack"
    cursor, page = r.zscan("z", 0, count=1)
    assert cursor == 0
    assert pairs(page) == [(f"m{i}", i) for i in range(100)]  # listpack order
    cursor, page = r.zscan("z", 0, match="m1*", count=1)
    assert cursor == 0
    assert sorted(m for m, _ in page) == sorted(f"m{i}" for i in range(100)
                                                if str(i).startswith("1"))


@pytest.mark.parametrize("size", [20, 128, 129, 2000])
def test_zscan_every_member_once(cfg, size):
    r = cfg
    model = {f"m{i}": i * 1.5 for i in range(size)}
    r.zadd("z", model)
    assert enc(r, "z") == ("listpack" if size <= 128 else "skiplist")
    seen, calls = full_zscan(r, "z", count=10)
    assert len(seen) == size, "a member came back twice or not at all"
    assert dict(pairs(seen)) == model
    if size > 128:
        assert calls > 1


def test_zscan_match_count_skiplist(cfg):
    r = cfg
    r.zadd("z", {f"m{i}": i for i in range(1000)})
    seen, _ = full_zscan(r, "z", match="m9*", count=100)
    assert sorted(m for m, _ in seen) == sorted(f"m{i}" for i in range(1000)
                                                if str(i).startswith("9"))
    assert all(s == int(m[1:]) for m, s in pairs(seen))
    assert full_zscan(r, "z", match="nothing*")[0] == []
    cursor, page = r.zscan("z", 0, count=10)
    assert cursor != 0 and 0 < len(page) < 1000


def test_zscan_missing_key_and_errors(r):
    assert r.zscan("nokey", 0) == (0, [])
    r.zadd("z", {"a": 1})
    for cursor in ("abc", "18446744073709551616", "1.5"):
        with raises_error("ERR invalid cursor"):
            r.execute_command("ZSCAN", "z", cursor)
    for args in (["COUNT", "0"], ["COUNT", "-1"], ["MATCH"], ["TYPE", "zset"], ["NOVALUES"],
                 ["COUNT"]):
        with raises_error(SYNTAX):
            r.execute_command("ZSCAN", "z", "0", *args)
    with raises_error(NOT_INT):
        r.execute_command("ZSCAN", "z", "0", "COUNT", "x")
    with raises_error(arity("zscan")):
        r.execute_command("ZSCAN", "z")
    # the last MATCH wins
    assert r.execute_command("ZSCAN", "z", "0", "MATCH", "b*", "MATCH", "a*") == \
        (0, [("a", 1.0)])


def test_zscan_raw_scores_are_bulk_strings_in_both_protocols(rc, w):
    rc.cmd("ZADD", "z", "1.5", "a", "0.1", "b")
    assert raw_cmd(rc, "ZSCAN", "z", "0") == w.arr(
        w.bulk("0"), w.arr(w.bulk("b"), w.bulk("0.10000000000000001"),
                           w.bulk("a"), w.bulk("1.5")))
    assert raw_cmd(rc, "ZSCAN", "nokey", "0") == w.arr(w.bulk("0"), w.arr())


def test_zscan_score_text_depends_on_encoding(rc, w):
    """ZSCAN sends the score as the listpack holds it: an integral score is
    kept as an integer there (1e17 -> "100000000000000000"); from a skiplist it
    is "%.17g" (1e17 -> "1e+17") like every other reply."""
    texts = ["1e17", "1e18", "-1e17", "3", "0.5", "1e300"]
    listpack = ["100000000000000000", "1000000000000000000", "-100000000000000000",
                "3", "0.5", "1.0000000000000001e+300"]
    skiplist = ["1e+17", "1e+18", "-1e+17", "3", "0.5", "1.0000000000000001e+300"]
    for i, t in enumerate(texts):
        rc.cmd("ZADD", "small", t, f"m{i}")
    rc.cmd("CONFIG", "SET", "zset-max-listpack-entries", "0")
    try:
        for i, t in enumerate(texts):
            rc.cmd("ZADD", "big", t, f"m{i}")
        assert rc.cmd("OBJECT", "ENCODING", "big") == b"skiplist"
    finally:
        rc.cmd("CONFIG", "SET", "zset-max-listpack-entries", "128")
    assert rc.cmd("OBJECT", "ENCODING", "small") == b"listpack"
    for key, want in (("small", listpack), ("big", skiplist)):
        for i, text in enumerate(want):
            assert raw_cmd(rc, "ZSCAN", key, "0", "MATCH", f"m{i}", "COUNT", "1000") == \
                w.arr(w.bulk("0"), w.arr(w.bulk(f"m{i}"), w.bulk(text))), (key, i)
    # ZSCORE is "%.17g" for both
    assert raw_cmd(rc, "ZSCORE", "small", "m0") == w.score("1e+17")
    assert raw_cmd(rc, "ZSCORE", "big", "m0") == w.score("1e+17")


# --------------------------------------------------------------------------
# ZREMRANGEBYRANK / ZREMRANGEBYSCORE / ZREMRANGEBYLEX
# --------------------------------------------------------------------------

def test_zremrangebyrank(five):
    r = five
    assert r.zremrangebyrank("z", 5, 10) == 0
    assert r.zremrangebyrank("z", 2, 1) == 0
    assert r.zremrangebyrank("z", -1, -1) == 1
    assert r.zremrangebyrank("z", -100, 0) == 1
    assert r.zrange("z", 0, -1) == ["b", "c", "d"]
    assert r.zremrangebyrank("z", 0, -1) == 3
    assert r.exists("z") == 0
    assert r.zremrangebyrank("nokey", 0, -1) == 0
    with raises_error(NOT_INT):
        r.execute_command("ZREMRANGEBYRANK", "z", "a", "1")
    with raises_error(arity("zremrangebyrank")):
        r.execute_command("ZREMRANGEBYRANK", "z", "0")


def test_zremrangebyscore(five):
    r = five
    assert r.zremrangebyscore("z", "(1", "(3") == 1
    assert r.zrange("z", 0, -1) == ["a", "c", "d", "e"]
    assert r.zremrangebyscore("z", 10, 20) == 0
    assert r.zremrangebyscore("z", 4, 1) == 0
    assert r.zremrangebyscore("z", "(4", "+inf") == 1
    assert r.zremrangebyscore("z", "-inf", "+inf") == 3
    assert r.exists("z") == 0
    assert r.zremrangebyscore("nokey", 0, 1) == 0
    with raises_error(MINMAX_FLOAT):
        r.execute_command("ZREMRANGEBYSCORE", "z", "a", "1")
    with raises_error(arity("zremrangebyscore")):
        r.execute_command("ZREMRANGEBYSCORE", "z", "0")


def test_zremrangebylex(r):
    r.zadd("z", {m: 0 for m in ["a", "b", "c", "d", "e", "ee"]})
    assert r.zremrangebylex("z", "-", "(b") == 1
    assert r.zremrangebylex("z", "(c", "[e") == 2
    assert r.zrange("z", 0, -1) == ["b", "c", "ee"]
    assert r.zremrangebylex("z", "+", "-") == 0
    assert r.zremrangebylex("z", "-", "+") == 3
    assert r.exists("z") == 0
    assert r.zremrangebylex("nokey", "-", "+") == 0
    with raises_error(MINMAX_LEX):
        r.execute_command("ZREMRANGEBYLEX", "z", "a", "b")
    with raises_error(arity("zremrangebylex")):
        r.execute_command("ZREMRANGEBYLEX", "z", "-")


# --------------------------------------------------------------------------
# TYPE / SCAN TYPE / OBJECT ENCODING
# --------------------------------------------------------------------------

def test_type_and_scan_type(r):
    r.zadd("z1", {"a": 1})
    r.zadd("z2", {str(i): i for i in range(200)})
    r.set("s", "x")
    r.sadd("set", "a")
    r.hset("h", "f", "v")
    assert r.type("z1") == "zset" and r.type("z2") == "zset"
    keys, cursor = set(), 0
    for _ in range(1000):
        cursor, page = r.scan(cursor, _type="zset", count=100)
        keys.update(page)
        if cursor == 0:
            break
    assert keys == {"z1", "z2"}


def test_type_raw_is_status(rc):
    rc.cmd("ZADD", "z", "1", "a")
    assert raw_cmd(rc, "TYPE", "z") == b"+zset\r\n"


def test_encoding_listpack_to_skiplist_at_129_entries(cfg):
    r = cfg
    r.zadd("z", {f"m{i}": i for i in range(128)})
    assert enc(r, "z") == "listpack"
    r.zadd("z", {"m0": 5})      # an update does not convert
    assert enc(r, "z") == "listpack"
    r.zadd("z", {"x": 1})
    assert enc(r, "z") == "skiplist"
    # never goes back
    r.zrem("z", "x", *[f"m{i}" for i in range(100)])
    assert r.zcard("z") == 28 and enc(r, "z") == "skiplist"
    r.zadd("big", {f"m{i}": i for i in range(129)})  # one ZADD past the limit
    assert enc(r, "big") == "skiplist"


@pytest.mark.parametrize("how", ["zadd", "zincrby", "zadd-incr"])
def test_encoding_skiplist_for_member_over_64_bytes(cfg, how):
    r = cfg
    r.zadd("z", {"a" * 64: 1})
    assert enc(r, "z") == "listpack"
    long = "b" * 65
    if how == "zadd":
        r.zadd("z", {long: 2})
    elif how == "zincrby":
        r.zincrby("z", 2, long)
    else:
        r.zadd("z", {long: 2}, incr=True)
    assert enc(r, "z") == "skiplist"
    r.zincrby("new", 1, long)
    assert enc(r, "new") == "skiplist"


def test_encoding_config_and_ziplist_aliases(cfg):
    r = cfg
    assert r.config_get("zset-max-*") == {
        "zset-max-listpack-entries": "128", "zset-max-ziplist-entries": "128",
        "zset-max-listpack-value": "64", "zset-max-ziplist-value": "64"}
    assert r.config_set("zset-max-ziplist-entries", 5) is True
    assert r.config_get("zset-max-listpack-entries") == {"zset-max-listpack-entries": "5"}
    assert r.config_get("zset-max-ziplist-entries") == {"zset-max-ziplist-entries": "5"}
    assert r.config_set("zset-max-ziplist-value", 3) is True
    assert r.config_get("zset-max-listpack-value") == {"zset-max-listpack-value": "3"}
    r.zadd("a", {f"m{i}": i for i in range(5)})
    assert enc(r, "a") == "listpack"
    r.zadd("a", {"q": 9})
    assert enc(r, "a") == "skiplist"
    r.zadd("b", {"abc": 1})
    assert enc(r, "b") == "listpack"
    r.zadd("b", {"abcd": 1})
    assert enc(r, "b") == "skiplist"


def test_encoding_entries_zero_means_always_skiplist(cfg):
    r = cfg
    r.config_set("zset-max-listpack-entries", 0)
    r.zadd("z", {"a": 1})
    assert enc(r, "z") == "skiplist"
    r.zunionstore("u", ["z"])
    assert enc(r, "u") == "skiplist"


def test_encoding_of_store_results_follows_their_size(cfg):
    r = cfg
    r.zadd("big", {f"m{i}": i for i in range(300)})
    r.zadd("small", {f"m{i}": i for i in range(10)})
    assert enc(r, "big") == "skiplist"
    r.zunionstore("u", ["big"])
    assert enc(r, "u") == "skiplist"
    r.zinterstore("i", ["big", "small"])
    assert r.zcard("i") == 10 and enc(r, "i") == "listpack"
    r.zrangestore("rs", "big", 0, 5)
    assert enc(r, "rs") == "listpack"
    r.zdiffstore("d", ["big", "small"])
    assert r.zcard("d") == 290 and enc(r, "d") == "skiplist"
    r.zunionstore("u2", ["small"])
    assert enc(r, "u2") == "listpack"


# --------------------------------------------------------------------------
# A big zset against a Python model
# --------------------------------------------------------------------------

def test_big_zset_matches_model(cfg):
    r = cfg
    rng = random.Random(13)
    n = 3000
    model = Model()
    mapping = {}
    for i in range(n):
        # many ties (scores from a small set) and some fractional scores
        score = rng.choice([rng.randint(-50, 50), rng.randint(0, 10) / 4])
        mapping[f"k{rng.randint(0, 10**9)}:{i}"] = score
    for m, s in mapping.items():
        model.add(m, s)
    for chunk in range(0, n, 500):
        part = dict(list(mapping.items())[chunk:chunk + 500])
        r.zadd("z", part)
    assert enc(r, "z") == "skiplist" and r.zcard("z") == n

    assert r.zrange("z", 0, -1) == model.members()
    p = r.pipeline(transaction=False)
    sample = rng.sample(model.members(), 200)
    for m in sample:
        p.zrank("z", m)
        p.zrevrank("z", m)
    got = p.execute()
    for i, m in enumerate(sample):
        assert got[2 * i] == model.rank(m)
        assert got[2 * i + 1] == n - 1 - model.rank(m)

    p = r.pipeline(transaction=False)
    ranges = [(rng.randint(-n - 10, n + 10), rng.randint(-n - 10, n + 10)) for _ in range(60)]
    for a, b in ranges:
        p.zrange("z", a, b, withscores=True)
    for a, b in ranges:
        p.zrevrange("z", a, b)
    got = p.execute()
    for i, (a, b) in enumerate(ranges):
        assert pairs(got[i]) == model.range(a, b), (a, b)
        assert got[len(ranges) + i] == [m for m, _ in model.revrange(a, b)], (a, b)

    p = r.pipeline(transaction=False)
    bounds = []
    for _ in range(60):
        lo, hi = sorted([rng.randint(-55, 55) / 2, rng.randint(-55, 55) / 2])
        lo_ex, hi_ex = rng.random() < 0.5, rng.random() < 0.5
        off, cnt = rng.randint(0, 100), rng.choice([-1, 0, 5, 50])
        bounds.append((lo, hi, lo_ex, hi_ex, off, cnt))
        lo_s = f"({lo}" if lo_ex else str(lo)
        hi_s = f"({hi}" if hi_ex else str(hi)
        p.zcount("z", lo_s, hi_s)
        p.zrangebyscore("z", lo_s, hi_s, start=off, num=cnt, withscores=True)
        p.zrevrangebyscore("z", hi_s, lo_s, start=off, num=cnt)
    got = p.execute()
    for i, (lo, hi, lo_ex, hi_ex, off, cnt) in enumerate(bounds):
        want = model.by_score(lo, hi, lo_ex, hi_ex)
        assert got[3 * i] == len(want)
        end = None if cnt < 0 else off + cnt
        assert pairs(got[3 * i + 1]) == want[off:end]
        assert got[3 * i + 2] == [m for m, _ in reversed(want)][off:end]

    # removals keep ranks right
    assert r.zremrangebyrank("z", 100, 199) == 100
    for m, _ in model.items()[100:200]:
        model.remove(m)
    assert r.zremrangebyscore("z", "(0", "2") == len(model.by_score(0, 2, True, False))
    for m, _ in model.by_score(0, 2, True, False):
        model.remove(m)
    popped = pairs(r.zpopmin("z", 7)) + pairs(r.zpopmax("z", 7))
    assert popped == model.items()[:7] + list(reversed(model.items()))[:7]
    for m, _ in popped:
        model.remove(m)
    assert r.zcard("z") == len(model)
    assert pairs(r.zrange("z", 0, -1, withscores=True)) == model.items()
    seen, _ = full_zscan(r, "z", count=50)
    assert sorted(pairs(seen)) == sorted(model.items())


def test_big_zset_lex_ranges_match_model(cfg):
    r = cfg
    rng = random.Random(7)
    members = sorted({"".join(rng.choice("abcde") for _ in range(rng.randint(1, 4)))
                      for _ in range(2000)})
    r.zadd("z", {m: 0 for m in members})
    assert enc(r, "z") == "skiplist"
    p = r.pipeline(transaction=False)
    cases = []
    for _ in range(60):
        a, b = sorted(["".join(rng.choice("abcdef") for _ in range(rng.randint(1, 3)))
                       for _ in range(2)])
        ia, ib = rng.choice("[("), rng.choice("[(")
        off, cnt = rng.randint(0, 20), rng.choice([-1, 3, 30])
        cases.append((a, b, ia, ib, off, cnt))
        p.zlexcount("z", ia + a, ib + b)
        p.zrangebylex("z", ia + a, ib + b, start=off, num=cnt)
        p.zrevrangebylex("z", ib + b, ia + a, start=off, num=cnt)
    got = p.execute()
    for i, (a, b, ia, ib, off, cnt) in enumerate(cases):
        want = [m for m in members
                if (m > a if ia == "(" else m >= a) and (m < b if ib == "(" else m <= b)]
        end = None if cnt < 0 else off + cnt
        assert got[3 * i] == len(want)
        assert got[3 * i + 1] == want[off:end]
        assert got[3 * i + 2] == list(reversed(want))[off:end]


# --------------------------------------------------------------------------
# WRONGTYPE and argument checks that come first
# --------------------------------------------------------------------------

ZSET_COMMANDS = [
    ["ZADD", "{k}", "1", "a"], ["ZADD", "{k}", "INCR", "1", "a"], ["ZADD", "{k}", "XX", "1", "a"],
    ["ZINCRBY", "{k}", "1", "a"], ["ZREM", "{k}", "a"], ["ZCARD", "{k}"],
    ["ZSCORE", "{k}", "a"], ["ZMSCORE", "{k}", "a"], ["ZCOUNT", "{k}", "0", "1"],
    ["ZLEXCOUNT", "{k}", "-", "+"], ["ZRANK", "{k}", "a"], ["ZREVRANK", "{k}", "a"],
    ["ZRANGE", "{k}", "0", "-1"], ["ZRANGE", "{k}", "0", "1", "BYSCORE"],
    ["ZRANGE", "{k}", "-", "+", "BYLEX"], ["ZRANGEBYSCORE", "{k}", "0", "1"],
    ["ZREVRANGEBYSCORE", "{k}", "1", "0"], ["ZRANGEBYLEX", "{k}", "-", "+"],
    ["ZREVRANGEBYLEX", "{k}", "+", "-"], ["ZREVRANGE", "{k}", "0", "-1"],
    ["ZRANGESTORE", "dst", "{k}", "0", "-1"], ["ZREMRANGEBYRANK", "{k}", "0", "1"],
    ["ZREMRANGEBYSCORE", "{k}", "0", "1"], ["ZREMRANGEBYLEX", "{k}", "-", "+"],
    ["ZPOPMIN", "{k}"], ["ZPOPMAX", "{k}", "2"], ["ZPOPMIN", "{k}", "0"],
    ["ZMPOP", "1", "{k}", "MIN"], ["ZMPOP", "2", "nokey", "{k}", "MAX"],
    ["ZRANDMEMBER", "{k}"], ["ZRANDMEMBER", "{k}", "2"], ["ZRANDMEMBER", "{k}", "-2", "WITHSCORES"],
    ["ZRANDMEMBER", "{k}", "0"],
    ["ZUNION", "1", "{k}"], ["ZUNION", "2", "z", "{k}"], ["ZINTER", "2", "z", "{k}"],
    ["ZINTER", "2", "nokey", "{k}"], ["ZDIFF", "2", "z", "{k}"], ["ZDIFF", "1", "{k}"],
    ["ZUNIONSTORE", "dst", "1", "{k}"], ["ZINTERSTORE", "dst", "2", "z", "{k}"],
    ["ZDIFFSTORE", "dst", "2", "z", "{k}"], ["ZINTERCARD", "1", "{k}"],
    ["ZINTERCARD", "2", "nokey", "{k}"], ["ZUNIONSTORE", "dst", "1", "{k}", "WEIGHTS", "x"],
    ["ZSCAN", "{k}", "0"],
]


# Lists join this table with the lists issue (sets are valid inputs of the algebra commands,
# so they are not in it).
@pytest.mark.parametrize("kind", ["string", "hash"])
@pytest.mark.parametrize("cmd", ZSET_COMMANDS, ids=lambda c: " ".join(c))
def test_zset_command_on_other_type_is_wrongtype(r, cmd, kind):
    r.zadd("z", {"a": 1, "b": 2})
    r.set("dst", "keep")
    if kind == "string":
        r.set("other", "x")
    else:
        r.hset("other", "f", "v")
    with raises_error(WRONGTYPE):
        r.execute_command(*[a.replace("{k}", "other") for a in cmd])
    assert r.type("other") == kind
    assert pairs(r.zrange("z", 0, -1, withscores=True)) == [("a", 1), ("b", 2)]
    assert r.get("dst") == "keep"  # a failed *STORE leaves its destination alone


def test_argument_errors_before_type_check(r):
    r.set("s", "x")
    checks = [
        (["ZADD", "s", "abc", "a"], NOT_FLOAT),
        (["ZADD", "s", "NX", "XX", "1", "a"],
         "ERR XX and NX options at the same time are not compatible"),
        (["ZINCRBY", "s", "abc", "a"], NOT_FLOAT),
        (["ZRANGEBYSCORE", "s", "abc", "1"], MINMAX_FLOAT),
        (["ZRANGEBYLEX", "s", "a", "b"], MINMAX_LEX),
        (["ZRANGE", "s", "0", "1", "BYSCORE", "LIMIT"], SYNTAX),
        (["ZRANGE", "s", "a", "b"], NOT_INT),
        (["ZCOUNT", "s", "a", "b"], MINMAX_FLOAT),
        (["ZLEXCOUNT", "s", "a", "b"], MINMAX_LEX),
        (["ZREMRANGEBYSCORE", "s", "a", "b"], MINMAX_FLOAT),
        (["ZREMRANGEBYLEX", "s", "a", "b"], MINMAX_LEX),
        (["ZREMRANGEBYRANK", "s", "a", "b"], NOT_INT),
        (["ZRANGESTORE", "d", "s", "a", "b"], NOT_INT),
        (["ZPOPMIN", "s", "x"], POSITIVE),
        (["ZRANDMEMBER", "s", "x"], NOT_INT),
        (["ZMPOP", "1", "s", "FOO"], SYNTAX),
        (["ZSCAN", "s", "x"], "ERR invalid cursor"),
    ]
    for cmd, err in checks:
        with raises_error(err):
            r.execute_command(*cmd)
    assert r.get("s") == "x"


STRING_COMMANDS_ON_ZSET = [
    ["GET", "z"], ["APPEND", "z", "x"], ["INCR", "z"], ["STRLEN", "z"],
    ["GETRANGE", "z", "0", "1"], ["SETRANGE", "z", "0", "x"], ["GETDEL", "z"],
    ["INCRBYFLOAT", "z", "1"], ["HSET", "z", "f", "v"], ["HGET", "z", "f"],
    ["SADD", "z", "a"], ["SMEMBERS", "z"], ["SINTER", "z"], ["SUNIONSTORE", "d", "z"],
]


@pytest.mark.parametrize("cmd", STRING_COMMANDS_ON_ZSET, ids=lambda c: " ".join(c))
def test_other_command_on_zset_is_wrongtype(r, cmd):
    r.zadd("z", {"a": 1})
    with raises_error(WRONGTYPE):
        r.execute_command(*cmd)
    assert pairs(r.zrange("z", 0, -1, withscores=True)) == [("a", 1)]


def test_set_over_a_zset(r):
    r.zadd("z", {"a": 1})
    assert r.mget("z", "missing") == [None, None]
    assert r.setnx("z", "x") is False
    assert r.set("z", "x") is True
    assert r.type("z") == "string"


# --------------------------------------------------------------------------
# MULTI / WATCH
# --------------------------------------------------------------------------

def test_zset_commands_in_multi(r):
    p = r.pipeline(transaction=True)
    p.zadd("z", {"a": 1, "b": 2})
    p.zincrby("z", 1.5, "a")
    p.zrange("z", 0, -1, withscores=True)
    p.zpopmin("z")
    p.zcard("z")
    p.execute_command("ZADD", "z", "bad", "x")  # an error inside EXEC
    p.zscore("z", "b")
    got = p.execute(raise_on_error=False)
    assert got[0] == 2 and got[1] == 2.5
    assert pairs(got[2]) == [("b", 2), ("a", 2.5)]
    assert pairs(got[3]) == [("b", 2)]
    assert got[4] == 1
    assert str(got[5]) == "value is not a valid float"
    assert got[6] is None


WATCH_CASES = [
    # (setup on z, command by another client, does it invalidate WATCH z?)
    (True, ["ZADD", "z", "2", "a"], True),
    (True, ["ZADD", "z", "1", "a"], False),            # same score: nothing changed
    (True, ["ZADD", "z", "NX", "5", "a"], False),
    (True, ["ZADD", "z", "GT", "0", "a"], False),
    (True, ["ZINCRBY", "z", "0", "a"], False),
    (True, ["ZINCRBY", "z", "1", "a"], True),
    (True, ["ZREM", "z", "nope"], False),
    (True, ["ZREM", "z", "a"], True),
    (True, ["ZREMRANGEBYSCORE", "z", "10", "20"], False),
    (True, ["ZREMRANGEBYRANK", "z", "0", "0"], True),
    (True, ["ZPOPMIN", "z", "0"], False),
    (True, ["ZPOPMAX", "z"], True),
    (True, ["ZMPOP", "1", "z", "MIN"], True),
    (True, ["ZRANGESTORE", "z", "z", "0", "-1"], True),   # rewritten, even if equal
    (True, ["ZUNIONSTORE", "z", "1", "z"], True),
    (True, ["ZRANGESTORE", "z", "nokey", "0", "-1"], True),  # deleted
    (False, ["ZRANGESTORE", "z", "nokey", "0", "-1"], False),
    (False, ["ZUNIONSTORE", "z", "1", "nokey"], False),
    (False, ["ZADD", "z", "XX", "1", "a"], False),
    (True, ["ZRANGE", "z", "0", "-1"], False),
    (True, ["ZRANDMEMBER", "z", "-5"], False),
]


@pytest.mark.parametrize("exists,cmd,invalidates", WATCH_CASES,
                         ids=[" ".join(c[1]) + (" (no key)" if not c[0] else "")
                              for c in WATCH_CASES])
def test_watch_invalidation(r, make_client, exists, cmd, invalidates):
    if exists:
        r.zadd("z", {"a": 1, "b": 2})
    other = make_client()
    p = r.pipeline(transaction=True)
    p.watch("z")
    other.execute_command(*cmd)
    p.multi()
    p.ping()
    if invalidates:
        with pytest.raises(redis.WatchError):
            p.execute()
    else:
        assert p.execute() == [True]

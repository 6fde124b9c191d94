"""Sorted-set ranges: ZRANGE (by rank, BYSCORE, BYLEX, REV, LIMIT,
WITHSCORES), ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX,
ZREVRANGE, ZRANGESTORE.

Written and checked against redis-server 7.0.15; every expected reply below
is what it answered. Notable: in ZRANGE, REV/BYSCORE/BYLEX may appear once
(twice is a syntax error) while WITHSCORES and LIMIT may repeat (the last
LIMIT wins); a negative LIMIT offset gives an empty reply, a negative count
means "all the rest"; a score bound that is empty or a bare "(" reads as 0.
"""

from __future__ import annotations

import pytest

from helpers import raises_error
from zset_helpers import (MINMAX_FLOAT, MINMAX_LEX, NOT_INT, SYNTAX, WRONGTYPE, Wire,
                          arity, pairs, raw_cmd)

LIMIT_ONLY = ("ERR syntax error, LIMIT is only supported in combination with either "
              "BYSCORE or BYLEX")
BYLEX_WITHSCORES = "ERR syntax error, WITHSCORES not supported in combination with BYLEX"


@pytest.fixture
def w(protocol):
    return Wire(protocol)


@pytest.fixture(params=["listpack", "skiplist"])
def z5(request, r):
    """z = a:1 b:2 c:3 d:4 e:5 and lex = a..e (all score 0), in either encoding."""
    saved = r.config_get("zset-max-listpack-entries")["zset-max-listpack-entries"]
    r.config_set("zset-max-listpack-entries", 128 if request.param == "listpack" else 0)
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})
    r.zadd("lex", {m: 0 for m in "abcde"})
    assert r.object("encoding", "z") == request.param
    yield r
    r.config_set("zset-max-listpack-entries", saved)


def zr(r, *args):
    return r.execute_command("ZRANGE", *args)


# --------------------------------------------------------------------------
# ZRANGE by rank / ZREVRANGE
# --------------------------------------------------------------------------

def test_zrange_by_rank(z5):
    r = z5
    assert r.zrange("z", 0, -1) == list("abcde")
    assert r.zrange("z", 1, 3) == list("bcd")
    assert r.zrange("z", -2, -1) == list("de")
    assert r.zrange("z", -100, 100) == list("abcde")
    assert r.zrange("z", 0, 9223372036854775807) == list("abcde")
    assert zr(r, "z", "-9223372036854775808", "1") == list("ab")
    assert r.zrange("z", -1, -2) == []
    assert r.zrange("z", 3, 1) == []
    assert r.zrange("z", 5, 10) == []
    assert r.zrange("z", 4, 4) == ["e"]
    assert r.zrange("z", -6, -5) == ["a"]
    assert r.zrange("z", -10, -6) == []
    assert r.zrange("nokey", 0, -1) == []


def test_zrange_rev_and_zrevrange(z5):
    r = z5
    assert zr(r, "z", "0", "-1", "REV") == list("edcba")
    assert r.zrevrange("z", 0, 1) == ["e", "d"]
    assert r.zrevrange("z", -2, -1) == ["b", "a"]
    assert r.zrevrange("z", 3, 1) == []
    assert pairs(r.zrevrange("z", 0, 1, withscores=True)) == [("e", 5), ("d", 4)]
    assert pairs(zr(r, "z", "0", "1", "rev", "withscores")) == [("e", 5), ("d", 4)]
    assert r.zrevrange("nokey", 0, -1) == []


def test_zrange_withscores(z5):
    r = z5
    assert pairs(r.zrange("z", 0, 1, withscores=True)) == [("a", 1), ("b", 2)]
    assert pairs(zr(r, "z", "0", "0", "WITHSCORES", "WITHSCORES")) == [("a", 1)]
    assert pairs(r.execute_command("ZREVRANGE", "z", "0", "0", "WITHSCORES",
                                   "WITHSCORES")) == [("e", 5)]


def test_zrange_errors(z5):
    r = z5
    for args in (["z", "a", "1"], ["z", "0", "b"], ["z", "1.0", "2"]):
        with raises_error(NOT_INT):
            zr(r, *args)
    for args in (["z", "0", "-1", "FOO"], ["z", "0", "1", "WITHSCORE"],
                 ["z", "0", "-1", "REV", "REV"], ["z", "0", "-1", "BYSCORE", "BYSCORE"],
                 ["z", "0", "-1", "BYSCORE", "BYLEX"], ["z", "0", "-1", "REV", "WITHSCORES", "REV"],
                 ["z", "0", "1", "BYSCORE", "LIMIT"], ["z", "0", "1", "BYSCORE", "LIMIT", "1"]):
        with raises_error(SYNTAX):
            zr(r, *args)
    with raises_error(LIMIT_ONLY):
        zr(r, "z", "0", "-1", "LIMIT", "0", "1")
    with raises_error(BYLEX_WITHSCORES):
        zr(r, "lex", "[a", "[c", "BYLEX", "WITHSCORES")
    with raises_error(NOT_INT):
        zr(r, "z", "0", "1", "BYSCORE", "LIMIT", "x", "1")
    with raises_error(NOT_INT):
        zr(r, "z", "0", "1", "BYSCORE", "LIMIT", "0", "1.5")
    for args in (["z", "0"], ["z"]):
        with raises_error(arity("zrange")):
            zr(r, *args)
    for args in (["z", "0", "-1", "FOO"], ["z", "0", "-1", "REV"], ["z", "0", "1", "BYSCORE"]):
        with raises_error(SYNTAX):
            r.execute_command("ZREVRANGE", *args)
    with raises_error(arity("zrevrange")):
        r.execute_command("ZREVRANGE", "z", "0")


# --------------------------------------------------------------------------
# BYSCORE
# --------------------------------------------------------------------------

def test_zrange_byscore(z5):
    r = z5
    assert zr(r, "z", "1", "3", "BYSCORE") == list("abc")
    assert zr(r, "z", "(1", "(3", "BYSCORE") == ["b"]
    assert zr(r, "z", "(1", "3", "BYSCORE") == ["b", "c"]
    assert zr(r, "z", "-inf", "+inf", "BYSCORE") == list("abcde")
    assert zr(r, "z", "-inf", "(1", "BYSCORE") == []
    assert zr(r, "z", "(5", "+inf", "BYSCORE") == []
    assert zr(r, "z", "3", "1", "BYSCORE") == []
    assert zr(r, "z", "2.5", "3.5", "BYSCORE") == ["c"]
    assert zr(r, "z", "(3", "(3", "BYSCORE") == []
    assert zr(r, "z", "3", "3", "BYSCORE") == ["c"]
    # REV takes max first
    assert zr(r, "z", "3", "1", "BYSCORE", "REV") == list("cba")
    assert zr(r, "z", "1", "3", "BYSCORE", "REV") == []
    assert zr(r, "z", "(3", "(1", "BYSCORE", "REV") == ["b"]
    # an empty bound or a bare "(" is 0
    assert zr(r, "z", "(", "(3", "BYSCORE") == ["a", "b"]
    assert zr(r, "z", "", "1", "BYSCORE") == ["a"]
    assert zr(r, "z", "(", "(", "BYSCORE") == []


def test_zrange_byscore_limit(z5):
    r = z5
    assert pairs(zr(r, "z", "-inf", "+inf", "BYSCORE", "LIMIT", "2", "2", "WITHSCORES")) == \
        [("c", 3), ("d", 4)]
    assert zr(r, "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "1", "2") == ["d", "c"]
    assert zr(r, "z", "1", "3", "BYSCORE", "LIMIT", "1", "-1") == ["b", "c"]
    assert zr(r, "z", "1", "3", "BYSCORE", "LIMIT", "1", "-5") == ["b", "c"]
    assert zr(r, "z", "1", "3", "BYSCORE", "LIMIT", "-1", "2") == []
    assert zr(r, "z", "1", "3", "BYSCORE", "LIMIT", "0", "0") == []
    assert zr(r, "z", "1", "3", "BYSCORE", "LIMIT", "3", "1") == []
    assert zr(r, "z", "1", "3", "BYSCORE", "LIMIT", "9223372036854775807", "1") == []
    assert zr(r, "z", "1", "3", "BYSCORE", "LIMIT", "1", "9223372036854775807") == ["b", "c"]
    # the last LIMIT wins; options in any order and case
    assert zr(r, "z", "0", "10", "BYSCORE", "LIMIT", "0", "1", "LIMIT", "1", "2") == ["b", "c"]
    assert zr(r, "z", "0", "-1", "LIMIT", "0", "1", "BYSCORE") == []
    assert pairs(zr(r, "z", "10", "0", "withscores", "limit", "0", "1", "rev", "byscore")) == \
        [("e", 5)]


def test_zrangebyscore_and_zrevrangebyscore(z5):
    r = z5
    assert r.zrangebyscore("z", 2, 4) == list("bcd")
    assert r.zrangebyscore("z", "(2", "+inf") == list("cde")
    assert pairs(r.zrangebyscore("z", 1, 3, start=1, num=1, withscores=True)) == [("b", 2)]
    assert pairs(r.execute_command("ZRANGEBYSCORE", "z", "1", "3", "WITHSCORES",
                                   "LIMIT", "1", "1")) == [("b", 2)]
    assert r.execute_command("ZRANGEBYSCORE", "z", "0", "10", "LIMIT", "0", "1",
                             "LIMIT", "2", "1") == ["c"]
    assert r.execute_command("ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "0", "-5") == \
        list("abcde")
    assert r.execute_command("ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "-1", "-1") == []
    assert r.zrangebyscore("z", 4, 2) == []
    assert r.zrevrangebyscore("z", 3, 1) == list("cba")
    assert r.zrevrangebyscore("z", 1, 3) == []
    assert r.zrevrangebyscore("z", "(3", 1, start=0, num=1) == ["b"]
    assert r.execute_command("ZREVRANGEBYSCORE", "z", "+inf", "-inf", "LIMIT", "1", "-1") == \
        list("dcba")
    assert pairs(r.zrevrangebyscore("z", "+inf", "-inf", withscores=True, start=0, num=2)) == \
        [("e", 5), ("d", 4)]
    assert r.zrangebyscore("nokey", "-inf", "+inf") == []


def test_zrangebyscore_errors(z5):
    r = z5
    for cmd in ("ZRANGEBYSCORE", "ZREVRANGEBYSCORE"):
        for lo, hi in (("a", "1"), ("1", "b"), ("nan", "1"), ("(nan", "1"), ("[1", "2"),
                       ("((1", "2"), ("1x", "2")):
            with raises_error(MINMAX_FLOAT):
                r.execute_command(cmd, "z", lo, hi)
        for extra in (["REV"], ["BYSCORE"], ["BYLEX"], ["LIMIT", "0"], ["LIMIT"], ["FOO"]):
            with raises_error(SYNTAX):
                r.execute_command(cmd, "z", "0", "1", *extra)
        with raises_error(NOT_INT):
            r.execute_command(cmd, "z", "0", "1", "LIMIT", "0", "x")
        with raises_error(arity(cmd.lower())):
            r.execute_command(cmd, "z", "0")
    with raises_error(MINMAX_FLOAT):
        zr(r, "z", "[a", "[b", "BYSCORE")
    with raises_error(MINMAX_FLOAT):
        zr(r, "z", "(a", "3", "BYSCORE")


def test_infinite_scores_in_ranges(r):
    r.zadd("z", {"lo": float("-inf"), "mid": 0, "hi": float("inf")})
    assert r.zrangebyscore("z", "-inf", "+inf") == ["lo", "mid", "hi"]
    assert r.zrangebyscore("z", "(-inf", "(+inf") == ["mid"]
    assert r.zrangebyscore("z", "+inf", "+inf") == ["hi"]
    assert r.zrangebyscore("z", "-inf", "-inf") == ["lo"]
    assert r.zrevrangebyscore("z", "inf", "-inf") == ["hi", "mid", "lo"]
    assert r.zcount("z", "(-inf", "+inf") == 2
    assert pairs(r.zrange("z", 0, -1, withscores=True)) == [
        ("lo", float("-inf")), ("mid", 0), ("hi", float("inf"))]


# --------------------------------------------------------------------------
# BYLEX
# --------------------------------------------------------------------------

def test_zrangebylex(z5):
    r = z5
    assert r.zrangebylex("lex", "-", "+") == list("abcde")
    assert r.zrangebylex("lex", "[b", "[d") == list("bcd")
    assert r.zrangebylex("lex", "(a", "[c") == ["b", "c"]
    assert r.zrangebylex("lex", "(b", "(d") == ["c"]
    assert r.zrangebylex("lex", "[b", "(b") == []
    assert r.zrangebylex("lex", "+", "-") == []
    assert r.zrangebylex("lex", "[c", "-") == []
    assert r.zrangebylex("lex", "[bb", "+") == list("cde")
    assert r.zrangebylex("lex", "[", "[c") == list("abc")  # "[" is the empty string
    assert r.zrangebylex("lex", "(", "[c") == list("abc")
    assert r.zrangebylex("lex", "-", "+", start=1, num=2) == ["b", "c"]
    assert r.execute_command("ZRANGEBYLEX", "lex", "-", "+", "LIMIT", "1", "-1") == list("bcde")
    assert r.execute_command("ZRANGEBYLEX", "lex", "-", "+", "LIMIT", "-1", "2") == []
    assert r.zrangebylex("nokey", "-", "+") == []


def test_zrevrangebylex(z5):
    r = z5
    assert r.zrevrangebylex("lex", "+", "-") == list("edcba")
    assert r.zrevrangebylex("lex", "[c", "(a") == ["c", "b"]
    assert r.zrevrangebylex("lex", "-", "+") == []
    assert r.zrevrangebylex("lex", "+", "-", start=1, num=2) == ["d", "c"]


def test_zrange_bylex(z5):
    r = z5
    assert zr(r, "lex", "[b", "[d", "BYLEX") == list("bcd")
    assert zr(r, "lex", "[d", "[b", "BYLEX", "REV") == list("dcb")
    assert zr(r, "lex", "[b", "[d", "BYLEX", "REV") == []
    assert zr(r, "lex", "+", "-", "BYLEX", "REV", "LIMIT", "1", "2") == ["d", "c"]
    assert zr(r, "lex", "-", "+", "BYLEX", "LIMIT", "1", "-1") == list("bcde")


def test_lex_binary_members_ordered_by_bytes(rb):
    members = [b"", b"\x00", b"A", b"a", b"a\x00", b"aa", b"b", b"\x7f", b"\x80", b"\xff"]
    rb.zadd("z", {m: 0 for m in members})
    assert rb.zrange("z", 0, -1) == sorted(members)
    assert rb.zrangebylex("z", b"(a", b"[b") == [b"a\x00", b"aa", b"b"]
    assert rb.zrangebylex("z", b"[\x80", b"+") == [b"\x80", b"\xff"]
    assert rb.zrangebylex("z", b"-", b"(\x00") == [b""]
    assert rb.zlexcount("z", b"[", b"+") == len(members)


def test_zrangebylex_errors(z5):
    r = z5
    for cmd in ("ZRANGEBYLEX", "ZREVRANGEBYLEX"):
        for lo, hi in (("a", "b"), ("-a", "+"), ("+a", "+"), ("", "+"), ("[a", "c"),
                       ("0", "1")):
            with raises_error(MINMAX_LEX):
                r.execute_command(cmd, "lex", lo, hi)
        with raises_error(BYLEX_WITHSCORES):
            r.execute_command(cmd, "lex", "-", "+", "WITHSCORES")
        for extra in (["BYLEX"], ["REV"], ["LIMIT", "0"], ["FOO"]):
            with raises_error(SYNTAX):
                r.execute_command(cmd, "lex", "-", "+", *extra)
        with raises_error(arity(cmd.lower())):
            r.execute_command(cmd, "lex", "-")
    for lo, hi in (("0", "-1"), ("(0", "1")):
        with raises_error(MINMAX_LEX):
            zr(r, "lex", lo, hi, "BYLEX")


# --------------------------------------------------------------------------
# Reply shapes
# --------------------------------------------------------------------------

def test_range_reply_shapes_raw(rc, w):
    rc.cmd("ZADD", "z", "1", "a", "2.5", "b", "0.1", "c")
    items = [("c", "0.10000000000000001"), ("a", "1"), ("b", "2.5")]
    for cmd in (["ZRANGE", "z", "0", "-1", "WITHSCORES"],
                ["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "WITHSCORES"],
                ["ZRANGEBYSCORE", "z", "-inf", "+inf", "WITHSCORES"]):
        assert raw_cmd(rc, *cmd) == w.withscores(items), cmd
    for cmd in (["ZREVRANGE", "z", "0", "-1", "WITHSCORES"],
                ["ZRANGE", "z", "0", "-1", "REV", "WITHSCORES"],
                ["ZREVRANGEBYSCORE", "z", "+inf", "-inf", "WITHSCORES"]):
        assert raw_cmd(rc, *cmd) == w.withscores(items[::-1]), cmd
    assert raw_cmd(rc, "ZRANGE", "z", "0", "0", "WITHSCORES") == w.withscores(items[:1])
    assert raw_cmd(rc, "ZRANGE", "z", "0", "-1") == w.members(["c", "a", "b"])
    assert raw_cmd(rc, "ZRANGEBYLEX", "z", "-", "+") == w.members(["c", "a", "b"])
    for cmd in (["ZRANGE", "z", "10", "20", "WITHSCORES"], ["ZRANGE", "nokey", "0", "-1"],
                ["ZRANGEBYSCORE", "z", "5", "6", "WITHSCORES"],
                ["ZREVRANGEBYLEX", "z", "-", "+"], ["ZRANGE", "nokey", "0", "-1", "WITHSCORES"]):
        assert raw_cmd(rc, *cmd) == b"*0\r\n", cmd
    assert raw_cmd(rc, "ZRANGESTORE", "d", "z", "0", "-1") == w.int(3)


# --------------------------------------------------------------------------
# ZRANGESTORE
# --------------------------------------------------------------------------

def test_zrangestore(z5):
    r = z5
    assert r.zrangestore("dst", "z", 0, -1) == 5
    assert pairs(r.zrange("dst", 0, -1, withscores=True)) == [
        ("a", 1), ("b", 2), ("c", 3), ("d", 4), ("e", 5)]
    assert r.zrangestore("dst", "z", 1, 2) == 2
    assert pairs(r.zrange("dst", 0, -1, withscores=True)) == [("b", 2), ("c", 3)]
    assert r.execute_command("ZRANGESTORE", "dst", "lex", "[a", "[b", "BYLEX") == 2
    assert pairs(r.zrange("dst", 0, -1, withscores=True)) == [("a", 0), ("b", 0)]
    assert r.execute_command("ZRANGESTORE", "dst", "z", "3", "1", "BYSCORE", "REV",
                             "LIMIT", "0", "2") == 2
    assert pairs(r.zrange("dst", 0, -1, withscores=True)) == [("b", 2), ("c", 3)]
    assert r.execute_command("ZRANGESTORE", "dst", "lex", "[d", "(a", "BYLEX", "REV",
                             "LIMIT", "0", "2") == 2
    assert r.zrange("dst", 0, -1) == ["c", "d"]
    assert r.execute_command("ZRANGESTORE", "dst", "z", "0", "-1", "REV") == 5
    assert r.zrange("dst", 0, -1) == list("abcde")  # a zset: stored in score order
    assert r.zrangestore("dst", "z", 0, 0, desc=True) == 1
    assert r.zrange("dst", 0, -1) == ["e"]


def test_zrangestore_empty_result_deletes_destination(z5):
    r = z5
    r.zadd("dst", {"old": 1})
    assert r.zrangestore("dst", "z", 10, 20) == 0
    assert r.exists("dst") == 0
    r.zadd("dst", {"old": 1})
    assert r.zrangestore("dst", "nokey", 0, -1) == 0
    assert r.exists("dst") == 0
    r.set("dst", "x")
    assert r.execute_command("ZRANGESTORE", "dst", "z", "(5", "+inf", "BYSCORE") == 0
    assert r.exists("dst") == 0


def test_zrangestore_overwrites_other_types_and_ttl(z5):
    r = z5
    r.set("dst", "x", ex=100)
    assert r.zrangestore("dst", "z", 0, 0) == 1
    assert r.type("dst") == "zset" and r.ttl("dst") == -1
    r.hset("h", "f", "v")
    assert r.zrangestore("h", "z", 0, 1) == 2
    assert r.zrange("h", 0, -1) == ["a", "b"]
    # destination == source
    assert r.zrangestore("z", "z", 1, 2) == 2
    assert r.zrange("z", 0, -1) == ["b", "c"]


def test_zrangestore_errors(z5):
    r = z5
    with raises_error(SYNTAX):
        r.execute_command("ZRANGESTORE", "dst", "z", "0", "-1", "WITHSCORES")
    with raises_error(SYNTAX):
        r.execute_command("ZRANGESTORE", "dst", "z", "0", "-1", "BYSCORE", "BYLEX")
    with raises_error(LIMIT_ONLY):
        r.execute_command("ZRANGESTORE", "dst", "z", "0", "-1", "LIMIT", "0", "1")
    with raises_error(NOT_INT):
        r.execute_command("ZRANGESTORE", "dst", "z", "a", "b")
    with raises_error(MINMAX_FLOAT):
        r.execute_command("ZRANGESTORE", "dst", "z", "a", "b", "BYSCORE")
    with raises_error(MINMAX_LEX):
        r.execute_command("ZRANGESTORE", "dst", "z", "a", "b", "BYLEX")
    with raises_error(arity("zrangestore")):
        r.execute_command("ZRANGESTORE", "dst", "z", "0")
    r.set("str", "x")
    with raises_error(WRONGTYPE):
        r.execute_command("ZRANGESTORE", "dst", "str", "0", "-1")
    assert r.exists("dst") == 0

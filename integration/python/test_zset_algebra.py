"""Sorted-set algebra: ZUNION, ZINTER, ZDIFF, ZUNIONSTORE, ZINTERSTORE,
ZDIFFSTORE, ZINTERCARD, with WEIGHTS, AGGREGATE SUM|MIN|MAX and plain sets
as inputs (each member scores 1).

Written and checked against redis-server 7.0.15; every expected reply below
is what it answered. Notable: a NaN that arithmetic produces (inf + -inf in
SUM, inf * 0 from a weight) becomes 0; WEIGHTS must give exactly numkeys
values ("syntax error" otherwise); ZDIFF takes no WEIGHTS/AGGREGATE; every
key's type is checked (WRONGTYPE) even when an earlier key is missing; a
result is ordered by score, then member bytes.
"""

from __future__ import annotations

import random

import pytest

from helpers import raises_error
from zset_helpers import SYNTAX, WRONGTYPE, Model, Wire, arity, pairs, raw_cmd

WEIGHT = "ERR weight value is not a float"
INF = float("inf")


def at_least_one(cmd):
    return f"ERR at least 1 input key is needed for '{cmd}' command"


@pytest.fixture
def w(protocol):
    return Wire(protocol)


@pytest.fixture
def abc(r):
    r.zadd("z1", {"a": 1, "b": 2, "c": 3})
    r.zadd("z2", {"b": 10, "c": 20, "d": 30})
    r.sadd("s1", "a", "d", "x")          # a hashtable set
    r.sadd("si", 1, 2, 3)                # an intset
    return r


def x(r, *args):
    return r.execute_command(*args)


# --------------------------------------------------------------------------
# ZUNION / ZINTER / ZDIFF
# --------------------------------------------------------------------------

def test_zunion(abc):
    r = abc
    assert pairs(r.zunion(["z1", "z2"], withscores=True)) == [
        ("a", 1), ("b", 12), ("c", 23), ("d", 30)]
    assert r.zunion(["z1", "z2"]) == ["a", "b", "c", "d"]
    assert pairs(r.zunion(["z1", "nokey"], withscores=True)) == [("a", 1), ("b", 2), ("c", 3)]
    assert r.zunion(["nokey", "nokey2"]) == []
    # the same key twice counts twice
    assert pairs(r.zunion(["z1", "z1"], withscores=True)) == [("a", 2), ("b", 4), ("c", 6)]


def test_zinter(abc):
    r = abc
    assert pairs(r.zinter(["z1", "z2"], withscores=True)) == [("b", 12), ("c", 23)]
    assert r.zinter(["z1"]) == ["a", "b", "c"]
    assert r.zinter(["z1", "nokey"]) == []
    assert r.zinter(["nokey", "z1"]) == []
    assert pairs(r.zinter(["z1", "z1"], withscores=True)) == [("a", 2), ("b", 4), ("c", 6)]


def test_zdiff(abc):
    r = abc
    assert pairs(r.zdiff(["z1", "z2"], withscores=True)) == [("a", 1)]
    assert pairs(r.zdiff(["z1"], withscores=True)) == [("a", 1), ("b", 2), ("c", 3)]
    assert r.zdiff(["z2", "z1"]) == ["d"]
    assert r.zdiff(["z1", "z1"]) == []
    assert r.zdiff(["nokey", "z1"]) == []
    assert r.zdiff(["z1", "nokey"]) == ["a", "b", "c"]
    assert pairs(x(r, "ZDIFF", "1", "z1", "WITHSCORES", "WITHSCORES")) == [
        ("a", 1), ("b", 2), ("c", 3)]


def test_sets_as_inputs_score_one(abc):
    r = abc
    assert pairs(r.zunion(["z1", "z2", "s1"], withscores=True)) == [
        ("x", 1), ("a", 2), ("b", 12), ("c", 23), ("d", 31)]
    assert pairs(r.zinter(["z1", "s1"], withscores=True)) == [("a", 2)]
    assert pairs(r.zdiff(["s1", "z1"], withscores=True)) == [("d", 1), ("x", 1)]
    assert r.zdiff(["z1", "s1"]) == ["b", "c"]
    assert pairs(r.zunion({"si": 0.5, "z1": 1}, withscores=True)) == [
        ("1", 0.5), ("2", 0.5), ("3", 0.5), ("a", 1), ("b", 2), ("c", 3)]
    assert pairs(r.zdiff(["s1"], withscores=True)) == [("a", 1), ("d", 1), ("x", 1)]
    assert pairs(r.zunion(["si", "si"], withscores=True)) == [("1", 2), ("2", 2), ("3", 2)]
    assert r.zintercard(2, ["z1", "s1"]) == 1
    assert r.zintercard(1, ["s1"]) == 3
    assert r.zunionstore("dst", {"z1": 1, "s1": 2}, aggregate="MIN") == 5
    assert pairs(r.zrange("dst", 0, -1, withscores=True)) == [
        ("a", 1), ("b", 2), ("d", 2), ("x", 2), ("c", 3)]


def test_weights(abc):
    r = abc
    assert pairs(r.zunion({"z1": 2, "z2": 0.5}, withscores=True)) == [
        ("a", 2), ("b", 9), ("d", 15), ("c", 16)]
    assert pairs(r.zinter({"z1": -1, "z2": 1}, withscores=True)) == [("b", 8), ("c", 17)]
    assert pairs(x(r, "ZUNION", "1", "z1", "WITHSCORES", "WEIGHTS", "2")) == [
        ("a", 2), ("b", 4), ("c", 6)]
    assert pairs(x(r, "ZUNION", "1", "z1", "WEIGHTS", "inf", "WITHSCORES")) == [
        ("a", INF), ("b", INF), ("c", INF)]
    # the last WEIGHTS / AGGREGATE wins
    assert x(r, "ZUNIONSTORE", "d", "1", "z1", "AGGREGATE", "SUM", "AGGREGATE", "MIN",
             "WEIGHTS", "2", "WEIGHTS", "3") == 3
    assert pairs(r.zrange("d", 0, -1, withscores=True)) == [("a", 3), ("b", 6), ("c", 9)]


def test_weight_sums_are_done_in_key_order_raw(rc, w):
    rc.cmd("ZADD", "z", "1", "a", "2", "b", "3", "c")
    assert raw_cmd(rc, "ZUNION", "1", "z", "aggregate", "sum", "weights", "0.1",
                   "withscores") == w.withscores([
                       ("a", "0.10000000000000001"), ("b", "0.20000000000000001"),
                       ("c", "0.30000000000000004")])
    assert raw_cmd(rc, "ZINTER", "2", "z", "z", "WEIGHTS", "0.1", "0.2", "WITHSCORES") == \
        w.withscores([("a", "0.30000000000000004"), ("b", "0.60000000000000009"),
                       ("c", "0.90000000000000013")])


def test_aggregate(abc):
    r = abc
    assert pairs(r.zunion(["z1", "z2"], aggregate="MIN", withscores=True)) == [
        ("a", 1), ("b", 2), ("c", 3), ("d", 30)]
    assert pairs(r.zunion(["z1", "z2"], aggregate="MAX", withscores=True)) == [
        ("a", 1), ("b", 10), ("c", 20), ("d", 30)]
    assert pairs(x(r, "ZUNION", "2", "z1", "z2", "AGGREGATE", "max", "WEIGHTS", "-1", "1",
                   "WITHSCORES")) == [("a", -1), ("b", 10), ("c", 20), ("d", 30)]
    assert pairs(r.zinter(["z1", "z2"], aggregate="MIN", withscores=True)) == [
        ("b", 2), ("c", 3)]
    assert pairs(r.zinter(["z1", "z2"], aggregate="SUM", withscores=True)) == [
        ("b", 12), ("c", 23)]


def test_infinities_and_nan_becomes_zero(r):
    r.zadd("zi", {"a": 1, "b": -INF, "c": INF})
    r.zadd("zj", {"a": 1, "b": INF, "c": INF})
    # -inf + inf is NaN: the sum is 0
    assert pairs(r.zunion(["zi", "zj"], withscores=True)) == [("b", 0), ("a", 2), ("c", INF)]
    assert pairs(r.zinter(["zi", "zj"], withscores=True)) == [("b", 0), ("a", 2), ("c", INF)]
    # inf * 0 is NaN: the weighted score is 0
    assert pairs(r.zunion({"zi": 0}, withscores=True)) == [("a", 0), ("b", 0), ("c", 0)]
    assert pairs(r.zinter(["zi", "zj"], aggregate="MIN", withscores=True)) == [
        ("b", -INF), ("a", 1), ("c", INF)]
    assert pairs(r.zunion({"zi": -INF}, withscores=True)) == [
        ("a", -INF), ("c", -INF), ("b", INF)]
    assert r.zunionstore("d", ["zi", "zj"]) == 3
    assert r.zscore("d", "b") == 0.0


def test_algebra_reply_shapes_raw(rc, w):
    rc.cmd("ZADD", "z1", "1", "a", "2.5", "b", "3", "c")
    rc.cmd("ZADD", "z2", "10", "b", "20", "c", "30", "d")
    assert raw_cmd(rc, "ZUNION", "2", "z1", "z2", "WITHSCORES") == w.withscores(
        [("a", "1"), ("b", "12.5"), ("c", "23"), ("d", "30")])
    assert raw_cmd(rc, "ZUNION", "2", "z1", "z2") == w.members(["a", "b", "c", "d"])
    assert raw_cmd(rc, "ZINTER", "2", "z1", "z2", "WITHSCORES") == w.withscores(
        [("b", "12.5"), ("c", "23")])
    assert raw_cmd(rc, "ZDIFF", "2", "z1", "z2", "WITHSCORES") == w.withscores([("a", "1")])
    for cmd in (["ZDIFF", "2", "z1", "z1", "WITHSCORES"], ["ZINTER", "2", "z1", "nokey"],
                ["ZUNION", "1", "nokey", "WITHSCORES"]):
        assert raw_cmd(rc, *cmd) == b"*0\r\n", cmd
    assert raw_cmd(rc, "ZUNIONSTORE", "d", "2", "z1", "z2") == w.int(4)
    assert raw_cmd(rc, "ZINTERSTORE", "d", "2", "z1", "z2") == w.int(2)
    assert raw_cmd(rc, "ZDIFFSTORE", "d", "2", "z1", "z2") == w.int(1)
    assert raw_cmd(rc, "ZINTERCARD", "2", "z1", "z2") == w.int(2)


# --------------------------------------------------------------------------
# *STORE
# --------------------------------------------------------------------------

def test_store_commands(abc):
    r = abc
    assert r.zunionstore("dst", {"z1": 1, "z2": 2}, aggregate="MAX") == 4
    assert pairs(r.zrange("dst", 0, -1, withscores=True)) == [
        ("a", 1), ("b", 20), ("c", 40), ("d", 60)]
    assert r.zinterstore("dst", ["z1", "s1"]) == 1
    assert pairs(r.zrange("dst", 0, -1, withscores=True)) == [("a", 2)]
    assert r.zdiffstore("dst", ["z1", "z2"]) == 1
    assert pairs(r.zrange("dst", 0, -1, withscores=True)) == [("a", 1)]
    assert r.zinterstore("dst", {"z1": 2, "z2": 1}, aggregate="MIN") == 2
    assert pairs(r.zrange("dst", 0, -1, withscores=True)) == [("b", 4), ("c", 6)]


@pytest.mark.parametrize("cmd", ["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"])
def test_store_empty_result_deletes_destination(abc, cmd):
    r = abc
    r.zadd("dst", {"old": 1})
    assert x(r, cmd, "dst", "2", "nokey", "nokey2") == 0
    assert r.exists("dst") == 0
    r.set("dst", "x")
    assert x(r, cmd, "dst", "1", "nokey") == 0
    assert r.exists("dst") == 0


@pytest.mark.parametrize("cmd", ["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"])
@pytest.mark.parametrize("kind", ["string", "hash", "set"])
def test_store_overwrites_other_type_and_drops_ttl(abc, cmd, kind):
    r = abc
    if kind == "string":
        r.set("dst", "x", ex=100)
    elif kind == "hash":
        r.hset("dst", "f", "v")
        r.expire("dst", 100)
    else:
        r.sadd("dst", "q")
        r.expire("dst", 100)
    assert x(r, cmd, "dst", "1", "z1") == 3
    assert r.type("dst") == "zset" and r.ttl("dst") == -1
    assert pairs(r.zrange("dst", 0, -1, withscores=True)) == [("a", 1), ("b", 2), ("c", 3)]


def test_store_destination_among_sources(abc):
    r = abc
    assert r.zunionstore("z1", ["z1", "z2"]) == 4
    assert pairs(r.zrange("z1", 0, -1, withscores=True)) == [
        ("a", 1), ("b", 12), ("c", 23), ("d", 30)]
    assert r.zinterstore("z2", ["z2", "z1"]) == 3
    assert pairs(r.zrange("z2", 0, -1, withscores=True)) == [("b", 22), ("c", 43), ("d", 60)]
    assert r.zdiffstore("z1", ["z1", "s1"]) == 2
    assert r.zrange("z1", 0, -1) == ["b", "c"]
    # a set as the destination and a source: replaced by a zset
    assert r.zunionstore("s1", ["s1"]) == 3
    assert r.type("s1") == "zset"


# --------------------------------------------------------------------------
# ZINTERCARD
# --------------------------------------------------------------------------

def test_zintercard(abc):
    r = abc
    assert r.zintercard(2, ["z1", "z2"]) == 2
    assert r.zintercard(1, ["z1"]) == 3
    assert r.zintercard(2, ["z1", "nokey"]) == 0
    assert r.zintercard(1, ["nokey"]) == 0
    assert r.zintercard(2, ["z1", "z2"], limit=1) == 1
    assert r.zintercard(2, ["z1", "z2"], limit=0) == 2   # 0: no limit
    assert r.zintercard(2, ["z1", "z2"], limit=10) == 2
    assert x(r, "ZINTERCARD", "2", "z1", "z1", "LIMIT", "9223372036854775807") == 3
    assert x(r, "ZINTERCARD", "1", "z1", "LIMIT", "1", "LIMIT", "3") == 3  # last wins


def test_zintercard_errors(abc):
    r = abc
    for numkeys in ("0", "-1"):
        with raises_error(at_least_one("zintercard")):
            x(r, "ZINTERCARD", numkeys, "z1")
    with raises_error("ERR value is not an integer or out of range"):
        x(r, "ZINTERCARD", "x", "z1")
    for args in (["2", "z1"], ["2147483648", "z1"], ["1", "z1", "LIMIT"], ["1", "z1", "FOO", "1"],
                 ["1", "z1", "z2"], ["1", "z1", "WITHSCORES"], ["1", "z1", "WEIGHTS", "1"]):
        with raises_error(SYNTAX):
            x(r, "ZINTERCARD", *args)
    for limit in ("-1", "x"):
        with raises_error("ERR LIMIT can't be negative"):
            x(r, "ZINTERCARD", "1", "z1", "LIMIT", limit)
    for args in ([], ["1"]):
        with raises_error(arity("zintercard")):
            x(r, "ZINTERCARD", *args)


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------

@pytest.mark.parametrize("cmd", ["ZUNION", "ZINTER", "ZDIFF"])
def test_numkeys_errors(abc, cmd):
    r = abc
    low = cmd.lower()
    for prefix in ([], ["dst"]):
        name = cmd + ("STORE" if prefix else "")
        for numkeys in ("0", "-1"):
            with raises_error(at_least_one(name.lower())):
                x(r, name, *prefix, numkeys, "z1")
        with raises_error("ERR value is not an integer or out of range"):
            x(r, name, *prefix, "x", "z1")
        for numkeys in ("2", "9223372036854775807", "2147483648"):
            with raises_error(SYNTAX):
                x(r, name, *prefix, numkeys, "z1")
        with raises_error(arity(name.lower())):
            x(r, name, *prefix, "1")
    with raises_error(arity(low)):
        x(r, cmd)
    with raises_error(arity(low + "store")):
        x(r, cmd + "STORE", "dst")


@pytest.mark.parametrize("cmd", ["ZUNION", "ZINTER", "ZUNIONSTORE", "ZINTERSTORE"])
def test_weights_aggregate_errors(abc, cmd):
    r = abc
    pre = ["dst"] if cmd.endswith("STORE") else []
    for weight in ("x", "nan", "1e400", ""):
        with raises_error(WEIGHT):
            x(r, cmd, *pre, "1", "z1", "WEIGHTS", weight)
    with raises_error(WEIGHT):   # checked before the keys are read
        x(r, cmd, *pre, "1", "nokey", "WEIGHTS", "x")
    for extra in (["WEIGHTS"], ["WEIGHTS", "1"], ["WEIGHTS", "1", "2", "3"],
                  ["AGGREGATE"], ["AGGREGATE", "foo"], ["FOO"]):
        with raises_error(SYNTAX):
            x(r, cmd, *pre, "2", "z1", "z2", *extra)
    if pre:
        with raises_error(SYNTAX):
            x(r, cmd, *pre, "1", "z1", "WITHSCORES")
    assert r.exists("dst") == 0


def test_zdiff_takes_no_weights_or_aggregate(abc):
    r = abc
    for extra in (["WEIGHTS", "1"], ["AGGREGATE", "SUM"], ["FOO"]):
        with raises_error(SYNTAX):
            x(r, "ZDIFF", "1", "z1", *extra)
        with raises_error(SYNTAX):
            x(r, "ZDIFFSTORE", "dst", "1", "z1", *extra)


ALGEBRA = [
    ["ZUNION", "2", "{a}", "{b}"], ["ZINTER", "2", "{a}", "{b}"], ["ZDIFF", "2", "{a}", "{b}"],
    ["ZUNIONSTORE", "dst", "2", "{a}", "{b}"], ["ZINTERSTORE", "dst", "2", "{a}", "{b}"],
    ["ZDIFFSTORE", "dst", "2", "{a}", "{b}"], ["ZINTERCARD", "2", "{a}", "{b}"],
]


@pytest.mark.parametrize("order", ["zset-first", "missing-first", "other-first"])
@pytest.mark.parametrize("cmd", ALGEBRA, ids=lambda c: c[0])
def test_wrongtype_for_any_input(abc, cmd, order):
    r = abc
    r.hset("h", "f", "v")
    r.set("dst", "keep")
    first, second = {"zset-first": ("z1", "h"), "missing-first": ("nokey", "h"),
                     "other-first": ("h", "z1")}[order]
    with raises_error(WRONGTYPE):
        x(r, *[a.replace("{a}", first).replace("{b}", second) for a in cmd])
    assert r.get("dst") == "keep"


# --------------------------------------------------------------------------
# Against a Python model
# --------------------------------------------------------------------------

def test_random_algebra_matches_model(r):
    rng = random.Random(42)
    keys = {}
    for k in ("k1", "k2", "k3"):
        size = rng.choice([10, 200])       # listpack and skiplist inputs
        keys[k] = {f"m{rng.randint(0, 300)}": rng.randint(-20, 20) / 2 for _ in range(size)}
        r.zadd(k, keys[k])
    keys["s"] = {f"m{rng.randint(0, 300)}": 1.0 for _ in range(50)}
    r.sadd("s", *keys["s"])
    for _ in range(20):
        names = rng.sample(list(keys), rng.randint(1, 4))
        weights = [rng.choice([1, 2, -1, 0.5]) for _ in names]
        agg = rng.choice(["SUM", "MIN", "MAX"])
        union, inter = {}, None
        for name, wt in zip(names, weights):
            cur = {m: s * wt for m, s in keys[name].items()}
            for m, s in cur.items():
                if m not in union:
                    union[m] = s
                elif agg == "SUM":
                    union[m] += s
                else:
                    union[m] = (min if agg == "MIN" else max)(union[m], s)
            inter = set(cur) if inter is None else inter & set(cur)
        want_union = Model(union).items()
        want_inter = Model({m: union[m] for m in inter}).items()
        diff = set(keys[names[0]]) - set().union(*[set(keys[n]) for n in names[1:]])
        want_diff = Model({m: keys[names[0]][m] for m in diff}).items()
        wmap = dict(zip(names, weights))
        if len(wmap) < len(names):
            continue
        assert pairs(r.zunion(wmap, aggregate=agg, withscores=True)) == want_union
        assert pairs(r.zinter(wmap, aggregate=agg, withscores=True)) == want_inter
        assert pairs(r.zdiff(names, withscores=True)) == want_diff
        assert r.zintercard(len(names), names) == len(want_inter)
        assert r.zunionstore("dst", wmap, aggregate=agg) == len(want_union)
        assert pairs(r.zrange("dst", 0, -1, withscores=True)) == want_union

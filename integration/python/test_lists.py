"""List commands (non-blocking): LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP (count),
LLEN, LINDEX, LRANGE, LSET, LINSERT, LREM, LTRIM, LPOS (RANK COUNT MAXLEN), LMOVE,
RPOPLPUSH, LMPOP.

Written and checked against redis-server 7.0.15; every expected reply below is what it
answered (REDIS_SERVER_BIN=/usr/bin/redis-server python3 -m pytest test_lists.py).
Edge cases (argument-check order, WRONGTYPE matrix, big lists, WATCH, encodings) are in
test_list_details.py.
"""

from __future__ import annotations

import pytest

from helpers import raises_error

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INT = "ERR value is not an integer or out of range"
POP_RANGE = "ERR value is out of range, must be positive"
RANK_ZERO = ("ERR RANK can't be zero: use 1 to start from the first match, 2 from the "
             "second ... or use negative to start from the end of the list")


def arity(cmd):
    return f"ERR wrong number of arguments for '{cmd}' command"


def items(r, key="l"):
    return r.lrange(key, 0, -1)


# --------------------------------------------------------------------------
# LPUSH / RPUSH / LPUSHX / RPUSHX
# --------------------------------------------------------------------------

def test_lpush_rpush_order_and_length(r):
    assert r.lpush("l", "a", "b", "c") == 3      # each one pushed to the head in turn
    assert items(r) == ["c", "b", "a"]
    assert r.rpush("l", "d", "e") == 5
    assert items(r) == ["c", "b", "a", "d", "e"]
    assert r.lpush("l", "a") == 6                 # duplicates are kept
    assert items(r) == ["a", "c", "b", "a", "d", "e"]
    assert r.rpush("new", 1, 2, 3) == 3
    assert items(r, "new") == ["1", "2", "3"]


@pytest.mark.parametrize("cmd", ["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"])
def test_push_arity(r, cmd):
    with raises_error(arity(cmd.lower())):
        r.execute_command(cmd, "l")
    with raises_error(arity(cmd.lower())):
        r.execute_command(cmd)
    assert r.exists("l") == 0


def test_pushx_only_on_existing_list(r):
    assert r.lpushx("l", "a") == 0
    assert r.rpushx("l", "a") == 0
    assert r.exists("l") == 0
    r.rpush("l", "m")
    assert r.lpushx("l", "x", "y") == 3
    assert r.rpushx("l", "z") == 4
    assert items(r) == ["y", "x", "m", "z"]


def test_push_replies_are_integers_raw(rc):
    assert rc.cmd("RPUSH", "l", "a", "b") == 2
    assert rc.cmd("LPUSH", "l", "c") == 3
    assert rc.cmd("LPUSHX", "nokey", "c") == 0
    assert rc.cmd("LLEN", "l") == 3
    rc.send(rc.encode("RPUSHX", "l", "d"))
    assert rc.read_line() == b":4"


# --------------------------------------------------------------------------
# LPOP / RPOP
# --------------------------------------------------------------------------

def test_lpop_rpop_single(r):
    r.rpush("l", "a", "b", "c")
    assert r.lpop("l") == "a"
    assert r.rpop("l") == "c"
    assert r.lpop("l") == "b"
    assert r.exists("l") == 0
    assert r.lpop("l") is None
    assert r.rpop("nokey") is None


def test_pop_with_count(r):
    r.rpush("l", *"abcdef")
    assert r.lpop("l", 2) == ["a", "b"]
    assert r.rpop("l", 2) == ["f", "e"]          # RPOP count: tail first
    assert r.lpop("l", 1) == ["c"]               # a count always gives an array
    assert r.rpop("l", 100) == ["d"]             # more than there is: all of it
    assert r.exists("l") == 0
    assert r.lpop("l", 3) is None
    assert r.rpop("nokey", 3) is None


def test_pop_count_zero(r):
    r.rpush("l", "a")
    assert r.lpop("l", 0) == []
    assert r.rpop("l", 0) == []
    assert items(r) == ["a"]
    assert r.lpop("nokey", 0) is None


@pytest.mark.parametrize("cmd", ["LPOP", "RPOP"])
def test_pop_reply_shapes_raw(rc, protocol, cmd):
    nil_bulk = b"_" if protocol == 3 else b"$-1"
    nil_array = b"_" if protocol == 3 else b"*-1"
    rc.send(rc.encode(cmd, "nokey"))
    assert rc.read_line() == nil_bulk
    rc.send(rc.encode(cmd, "nokey", "2"))
    assert rc.read_line() == nil_array
    rc.send(rc.encode(cmd, "nokey", "0"))
    assert rc.read_line() == nil_array
    rc.cmd("RPUSH", "l", "a", "b")
    rc.send(rc.encode(cmd, "l", "0"))
    assert rc.read_line() == b"*0"
    rc.send(rc.encode(cmd, "l", "1"))
    assert rc.read_line() == b"*1"
    assert rc.read_reply() == (b"a" if cmd == "LPOP" else b"b")
    rc.send(rc.encode(cmd, "l"))
    assert rc.read_line() == b"$1"
    assert rc.read_exact(1) == (b"b" if cmd == "LPOP" else b"a")


@pytest.mark.parametrize("cmd", ["LPOP", "RPOP"])
def test_pop_count_errors(r, cmd):
    r.rpush("l", "a", "b")
    for bad in ["-1", "abc", "1.5", "9223372036854775808", ""]:
        with raises_error(POP_RANGE):
            r.execute_command(cmd, "l", bad)
    with raises_error(arity(cmd.lower())):
        r.execute_command(cmd, "l", "1", "2")
    with raises_error(arity(cmd.lower())):
        r.execute_command(cmd)
    assert items(r) == ["a", "b"]
    # the count is checked before the key is looked up
    with raises_error(POP_RANGE):
        r.execute_command(cmd, "nokey", "-1")
    assert r.execute_command(cmd, "l", "9223372036854775807") in (["a", "b"], ["b", "a"])


# --------------------------------------------------------------------------
# LLEN / LINDEX / LRANGE
# --------------------------------------------------------------------------

def test_llen(r):
    assert r.llen("nokey") == 0
    r.rpush("l", *range(10))
    assert r.llen("l") == 10
    r.lpop("l", 3)
    assert r.llen("l") == 7
    with raises_error(arity("llen")):
        r.execute_command("LLEN", "l", "x")


def test_lindex(r):
    r.rpush("l", "a", "b", "c", "d", "e")
    assert [r.lindex("l", i) for i in range(5)] == list("abcde")
    assert [r.lindex("l", -i) for i in range(1, 6)] == list("edcba")
    assert r.lindex("l", 5) is None
    assert r.lindex("l", -6) is None
    assert r.lindex("l", 9223372036854775807) is None
    assert r.lindex("l", -9223372036854775808) is None
    assert r.lindex("nokey", 0) is None
    with raises_error(arity("lindex")):
        r.execute_command("LINDEX", "l")


@pytest.mark.parametrize("bad", ["abc", "1.5", "+1", "01", " 1", "9223372036854775808", ""])
def test_lindex_bad_index(r, bad):
    r.rpush("l", "a", "b")
    with raises_error(NOT_INT):
        r.execute_command("LINDEX", "l", bad)


LRANGE_CASES = [
    (0, -1, "abcde"), (0, 0, "a"), (1, 3, "bcd"), (-2, -1, "de"), (-100, 100, "abcde"),
    (3, 1, ""), (-1, -2, ""), (5, 10, ""), (4, 4, "e"), (-5, 0, "a"), (-6, -5, "a"),
    (2, -3, "c"), (0, -6, ""), (-9223372036854775808, 9223372036854775807, "abcde"),
    (9223372036854775807, 9223372036854775807, ""),
]


@pytest.mark.parametrize("start,stop,expected", LRANGE_CASES)
def test_lrange(r, start, stop, expected):
    r.rpush("l", *"abcde")
    assert r.lrange("l", start, stop) == list(expected)


def test_lrange_missing_key_and_errors(r):
    assert r.lrange("nokey", 0, -1) == []
    r.rpush("l", "a")
    with raises_error(NOT_INT):
        r.execute_command("LRANGE", "l", "a", "1")
    with raises_error(NOT_INT):
        r.execute_command("LRANGE", "l", "0", "1x")
    with raises_error(NOT_INT):
        r.execute_command("LRANGE", "l", "0", "9223372036854775808")
    with raises_error(arity("lrange")):
        r.execute_command("LRANGE", "l", "0")


def test_lrange_reply_is_array_raw(rc):
    rc.cmd("RPUSH", "l", "a", "", "c")
    assert rc.cmd("LRANGE", "l", "0", "-1") == [b"a", b"", b"c"]
    rc.send(rc.encode("LRANGE", "nokey", "0", "-1"))
    assert rc.read_line() == b"*0"
    rc.send(rc.encode("LRANGE", "l", "2", "1"))
    assert rc.read_line() == b"*0"


# --------------------------------------------------------------------------
# LSET / LINSERT
# --------------------------------------------------------------------------

def test_lset(r):
    r.rpush("l", *"abcde")
    assert r.lset("l", 0, "A") is True
    assert r.lset("l", -1, "E") is True
    assert r.lset("l", 2, "a much longer value than before") is True
    assert r.lset("l", -4, "") is True
    assert items(r) == ["A", "", "a much longer value than before", "d", "E"]


def test_lset_errors(r):
    r.rpush("l", *"abc")
    with raises_error("ERR index out of range"):
        r.lset("l", 3, "x")
    with raises_error("ERR index out of range"):
        r.lset("l", -4, "x")
    with raises_error(NOT_INT):
        r.execute_command("LSET", "l", "abc", "x")
    with raises_error("ERR no such key"):
        r.lset("nokey", 0, "x")
    # the key is looked up before the index is parsed
    with raises_error("ERR no such key"):
        r.execute_command("LSET", "nokey", "abc", "x")
    with raises_error(arity("lset")):
        r.execute_command("LSET", "l", "0")
    assert items(r) == ["a", "b", "c"]
    assert r.exists("nokey") == 0


def test_lset_reply_raw(rc):
    rc.cmd("RPUSH", "l", "a")
    rc.send(rc.encode("LSET", "l", "0", "b"))
    assert rc.read_line() == b"+OK"
    rc.send(rc.encode("LSET", "l", "1", "b"))
    assert rc.read_line() == b"-ERR index out of range"


def test_linsert(r):
    r.rpush("l", "a", "b", "c")
    assert r.linsert("l", "BEFORE", "b", "X") == 4
    assert r.linsert("l", "after", "b", "Y") == 5
    assert r.linsert("l", "Before", "a", "first") == 6
    assert r.linsert("l", "AFTER", "c", "last") == 7
    assert items(r) == ["first", "a", "X", "b", "Y", "c", "last"]
    assert r.linsert("l", "BEFORE", "zz", "Q") == -1       # pivot not found
    assert r.linsert("nokey", "BEFORE", "a", "Q") == 0     # no key
    assert r.exists("nokey") == 0
    assert r.llen("l") == 7


def test_linsert_uses_first_matching_pivot(r):
    r.rpush("l", "a", "p", "b", "p", "c")
    assert r.linsert("l", "AFTER", "p", "X") == 6
    assert r.linsert("l", "BEFORE", "p", "Y") == 7
    assert items(r) == ["a", "Y", "p", "X", "b", "p", "c"]


def test_linsert_errors(r):
    r.rpush("l", "a")
    with raises_error("ERR syntax error"):
        r.execute_command("LINSERT", "l", "MIDDLE", "a", "b")
    with raises_error("ERR syntax error"):
        r.execute_command("LINSERT", "nokey", "MIDDLE", "a", "b")
    with raises_error(arity("linsert")):
        r.execute_command("LINSERT", "l", "BEFORE", "a")
    assert items(r) == ["a"]


# --------------------------------------------------------------------------
# LREM / LTRIM
# --------------------------------------------------------------------------

@pytest.mark.parametrize("count,removed,left", [
    (0, 4, ["b", "c", "d"]),
    (2, 2, ["b", "c", "a", "d", "a"]),
    (-2, 2, ["a", "b", "a", "c", "d"]),
    (1, 1, ["b", "a", "c", "a", "d", "a"]),
    (-1, 1, ["a", "b", "a", "c", "a", "d"]),
    (10, 4, ["b", "c", "d"]),
    (-10, 4, ["b", "c", "d"]),
    (9223372036854775807, 4, ["b", "c", "d"]),
    (-9223372036854775808, 4, ["b", "c", "d"]),
])
def test_lrem(r, count, removed, left):
    r.rpush("l", "a", "b", "a", "c", "a", "d", "a")
    assert r.lrem("l", count, "a") == removed
    assert items(r) == left


def test_lrem_misses_and_errors(r):
    r.rpush("l", "a", "b")
    assert r.lrem("l", 0, "zz") == 0
    assert r.lrem("l", 0, "A") == 0            # case-sensitive
    assert r.lrem("nokey", 0, "a") == 0
    with raises_error(NOT_INT):
        r.execute_command("LREM", "l", "abc", "a")
    with raises_error(NOT_INT):
        r.execute_command("LREM", "nokey", "abc", "a")
    with raises_error(arity("lrem")):
        r.execute_command("LREM", "l", "0")
    assert r.lrem("l", 0, "a") == 1
    assert r.lrem("l", -1, "b") == 1
    assert r.exists("l") == 0


@pytest.mark.parametrize("start,stop,left", [
    (1, -2, "bcd"), (0, -1, "abcde"), (-100, 100, "abcde"), (0, 0, "a"), (-1, -1, "e"),
    (2, 1, ""), (5, 10, ""), (-3, -100, ""), (1, 100, "bcde"), (-2, 0, ""), (-9, 1, "ab"),
])
def test_ltrim(r, start, stop, left):
    r.rpush("l", *"abcde")
    assert r.ltrim("l", start, stop) is True
    assert items(r) == list(left)
    assert r.exists("l") == (1 if left else 0)


def test_ltrim_missing_key_and_errors(r):
    assert r.ltrim("nokey", 0, 1) is True
    assert r.exists("nokey") == 0
    r.rpush("l", "a")
    with raises_error(NOT_INT):
        r.execute_command("LTRIM", "l", "a", "1")
    with raises_error(NOT_INT):
        r.execute_command("LTRIM", "nokey", "0", "b")
    with raises_error(arity("ltrim")):
        r.execute_command("LTRIM", "l", "0")
    assert items(r) == ["a"]


# --------------------------------------------------------------------------
# LPOS
# --------------------------------------------------------------------------

@pytest.fixture
def lp(r):
    #       0    1    2    3    4    5    6    7
    r.rpush("l", "a", "b", "c", "1", "2", "3", "c", "c")
    return r


def test_lpos_first_match(lp):
    r = lp
    assert r.lpos("l", "c") == 2
    assert r.lpos("l", "a") == 0
    assert r.lpos("l", "1") == 3
    assert r.lpos("l", "zz") is None
    assert r.lpos("nokey", "a") is None


@pytest.mark.parametrize("rank,expected", [
    (1, 2), (2, 6), (3, 7), (4, None), (-1, 7), (-2, 6), (-3, 2), (-4, None),
    (9223372036854775807, None), (-9223372036854775807, None),
])
def test_lpos_rank(lp, rank, expected):
    assert lp.lpos("l", "c", rank=rank) == expected


@pytest.mark.parametrize("args,expected", [
    (["COUNT", "0"], [2, 6, 7]),
    (["COUNT", "2"], [2, 6]),
    (["COUNT", "10"], [2, 6, 7]),
    (["COUNT", "1"], [2]),
    (["COUNT", "2", "RANK", "-1"], [7, 6]),
    (["COUNT", "0", "RANK", "-1"], [7, 6, 2]),
    (["COUNT", "0", "RANK", "2"], [6, 7]),
    (["RANK", "4", "COUNT", "0"], []),
    (["COUNT", "9223372036854775807"], [2, 6, 7]),
])
def test_lpos_count(lp, args, expected):
    assert lp.execute_command("LPOS", "l", "c", *args) == expected


@pytest.mark.parametrize("args,expected", [
    (["MAXLEN", "0"], 2),                      # 0 = no limit
    (["MAXLEN", "2"], None),
    (["MAXLEN", "3"], 2),
    (["MAXLEN", "3", "COUNT", "0"], [2]),
    (["MAXLEN", "7", "COUNT", "0"], [2, 6]),
    (["MAXLEN", "2", "RANK", "-1"], 7),
    (["MAXLEN", "1", "RANK", "-1", "COUNT", "0"], [7]),
    (["MAXLEN", "2", "RANK", "-2"], 6),
    (["MAXLEN", "9223372036854775807"], 2),
    (["rank", "2", "count", "1", "maxlen", "0"], [6]),   # case-insensitive
])
def test_lpos_maxlen(lp, args, expected):
    assert lp.execute_command("LPOS", "l", "c", *args) == expected


def test_lpos_errors(lp):
    r = lp
    with raises_error(RANK_ZERO):
        r.execute_command("LPOS", "l", "c", "RANK", "0")
    with raises_error(NOT_INT):
        r.execute_command("LPOS", "l", "c", "RANK", "abc")
    with raises_error("ERR COUNT can't be negative"):
        r.execute_command("LPOS", "l", "c", "COUNT", "-1")
    with raises_error("ERR MAXLEN can't be negative"):
        r.execute_command("LPOS", "l", "c", "MAXLEN", "-1")
    for bad in (["FOO", "1"], ["RANK"], ["COUNT"], ["MAXLEN"], ["COUNT", "1", "x"]):
        with raises_error("ERR syntax error"):
            r.execute_command("LPOS", "l", "c", *bad)
    with raises_error(arity("lpos")):
        r.execute_command("LPOS", "l")


def test_lpos_reply_shapes_raw(rc, protocol):
    rc.cmd("RPUSH", "l", "a", "b", "c")
    rc.send(rc.encode("LPOS", "l", "c"))
    assert rc.read_line() == b":2"
    rc.send(rc.encode("LPOS", "l", "zz"))
    assert rc.read_line() == (b"_" if protocol == 3 else b"$-1")
    rc.send(rc.encode("LPOS", "nokey", "zz"))
    assert rc.read_line() == (b"_" if protocol == 3 else b"$-1")
    # with COUNT: always an array, even empty and even for a missing key
    rc.send(rc.encode("LPOS", "l", "zz", "COUNT", "5"))
    assert rc.read_line() == b"*0"
    rc.send(rc.encode("LPOS", "nokey", "a", "COUNT", "0"))
    assert rc.read_line() == b"*0"
    assert rc.cmd("LPOS", "l", "c", "COUNT", "0") == [2]


# --------------------------------------------------------------------------
# LMOVE / RPOPLPUSH
# --------------------------------------------------------------------------

@pytest.mark.parametrize("wherefrom,whereto,moved,src,dst", [
    ("LEFT", "LEFT", "a", ["b", "c"], ["a", "x", "y"]),
    ("LEFT", "RIGHT", "a", ["b", "c"], ["x", "y", "a"]),
    ("RIGHT", "LEFT", "c", ["a", "b"], ["c", "x", "y"]),
    ("RIGHT", "RIGHT", "c", ["a", "b"], ["x", "y", "c"]),
])
def test_lmove_directions(r, wherefrom, whereto, moved, src, dst):
    r.rpush("src", "a", "b", "c")
    r.rpush("dst", "x", "y")
    assert r.lmove("src", "dst", wherefrom, whereto) == moved
    assert items(r, "src") == src
    assert items(r, "dst") == dst


def test_lmove_creates_destination_and_deletes_empty_source(r):
    r.rpush("src", "only")
    assert r.execute_command("LMOVE", "src", "dst", "left", "right") == "only"
    assert r.exists("src") == 0
    assert items(r, "dst") == ["only"]
    assert r.type("dst") == "list"


def test_lmove_missing_source(r):
    assert r.lmove("nokey", "dst", "LEFT", "LEFT") is None
    assert r.exists("dst") == 0
    r.set("str", "x")
    # a missing source answers nil before the destination's type matters
    assert r.lmove("nokey", "str", "LEFT", "LEFT") is None


def test_lmove_errors(r):
    r.rpush("l", "a")
    for a, b in (("UP", "LEFT"), ("LEFT", "UP"), ("HEAD", "TAIL")):
        with raises_error("ERR syntax error"):
            r.execute_command("LMOVE", "l", "d", a, b)
    with raises_error("ERR syntax error"):
        r.execute_command("LMOVE", "nokey", "d", "UP", "LEFT")
    with raises_error(arity("lmove")):
        r.execute_command("LMOVE", "l", "d", "LEFT")
    assert items(r) == ["a"]


def test_rpoplpush(r):
    r.rpush("src", "a", "b", "c")
    r.rpush("dst", "x")
    assert r.rpoplpush("src", "dst") == "c"
    assert items(r, "src") == ["a", "b"]
    assert items(r, "dst") == ["c", "x"]
    assert r.rpoplpush("src", "src") == "b"        # rotation
    assert items(r, "src") == ["b", "a"]
    assert r.rpoplpush("nokey", "dst") is None
    assert r.rpoplpush("src", "new") == "a"
    assert r.rpoplpush("src", "new") == "b"
    assert r.exists("src") == 0
    assert items(r, "new") == ["b", "a"]
    with raises_error(arity("rpoplpush")):
        r.execute_command("RPOPLPUSH", "src")


@pytest.mark.parametrize("cmd", [["RPOPLPUSH", "nokey", "x"],
                                 ["LMOVE", "nokey", "x", "LEFT", "RIGHT"]])
def test_move_nil_reply_raw(rc, protocol, cmd):
    rc.send(rc.encode(*cmd))
    assert rc.read_line() == (b"_" if protocol == 3 else b"$-1")
    rc.cmd("RPUSH", "nokey", "v")
    rc.send(rc.encode(*cmd))
    assert rc.read_line() == b"$1"
    assert rc.read_exact(1) == b"v"


# --------------------------------------------------------------------------
# LMPOP
# --------------------------------------------------------------------------

def test_lmpop_basic(r):
    r.rpush("l1", "a", "b", "c")
    assert r.lmpop(1, "l1", direction="LEFT") == ["l1", ["a"]]
    assert r.lmpop(1, "l1", direction="RIGHT") == ["l1", ["c"]]
    assert r.lmpop(1, "l1", direction="LEFT") == ["l1", ["b"]]
    assert r.exists("l1") == 0
    assert r.lmpop(1, "l1", direction="LEFT") is None


def test_lmpop_first_non_empty_key(r):
    r.rpush("l1", "a", "b", "c")
    r.rpush("l2", "d", "e", "f")
    assert r.lmpop(3, "nokey", "l2", "l1", direction="LEFT") == ["l2", ["d"]]
    assert r.lmpop(2, "l1", "l2", direction="RIGHT", count=10) == ["l1", ["c", "b", "a"]]
    assert r.exists("l1") == 0
    assert r.execute_command("LMPOP", "2", "l1", "l2", "right", "count", "2") == \
        ["l2", ["f", "e"]]
    assert r.lmpop(2, "nokey", "l1", direction="LEFT") is None


def test_lmpop_reply_shape_raw(rc, protocol):
    rc.cmd("RPUSH", "l", "a", "b", "c")
    rc.send(rc.encode("LMPOP", "1", "l", "LEFT", "COUNT", "2"))
    assert rc.read_line() == b"*2"           # an array in RESP3 too, not a map
    assert rc.read_reply() == b"l"
    assert rc.read_line() == b"*2"
    assert [rc.read_reply(), rc.read_reply()] == [b"a", b"b"]
    assert rc.cmd("LMPOP", "1", "l", "RIGHT") == [b"l", [b"c"]]
    rc.send(rc.encode("LMPOP", "1", "l", "LEFT"))
    assert rc.read_line() == (b"_" if protocol == 3 else b"*-1")


def test_lmpop_errors(r):
    r.rpush("l", "a")
    with raises_error("ERR count should be greater than 0"):
        r.execute_command("LMPOP", "1", "l", "LEFT", "COUNT", "0")
    with raises_error("ERR numkeys should be greater than 0"):
        r.execute_command("LMPOP", "0", "l", "LEFT")
    with raises_error("ERR syntax error"):
        r.execute_command("LMPOP", "1", "l", "UP")
    with raises_error("ERR syntax error"):
        r.execute_command("LMPOP", "2", "l", "LEFT")      # numkeys beyond the keys
    with raises_error(arity("lmpop")):
        r.execute_command("LMPOP", "1", "l")
    assert items(r) == ["a"]


# --------------------------------------------------------------------------
# Type, keyspace, transactions, binary data
# --------------------------------------------------------------------------

def test_type_and_exists(r):
    r.rpush("l", "a")
    assert r.type("l") == "list"
    assert r.exists("l") == 1
    r.lpop("l")
    assert r.type("l") == "none"
    assert r.exists("l") == 0


def test_type_raw_is_status(rc):
    rc.cmd("LPUSH", "l", "a")
    rc.send(rc.encode("TYPE", "l"))
    assert rc.read_line() == b"+list"


def test_multi_exec_with_list_commands(r):
    p = r.pipeline(transaction=True)
    p.rpush("l", "a", "b", "c")
    p.lpush("l", "z")
    p.lrange("l", 0, -1)
    p.lpop("l", 2)
    p.lindex("l", -1)
    p.lset("l", 0, "B")
    p.execute_command("LSET", "l", "9", "x")   # a runtime error inside EXEC
    p.lmove("l", "m", "LEFT", "RIGHT")
    p.lpos("l", "c")
    p.lmpop(2, "l", "m", direction="RIGHT")
    p.llen("l")
    got = p.execute(raise_on_error=False)
    assert got[:6] == [3, 4, ["z", "a", "b", "c"], ["z", "a"], "c", True]
    assert str(got[6]) == "index out of range"
    assert got[7:] == ["B", 0, ["l", ["c"]], 0]
    assert r.exists("l") == 0
    assert items(r, "m") == ["B"]


def test_binary_elements(rb):
    values = [b"\x00", b"", b"\xff\xfe", b"a\r\nb", b"x" * 1000, b"\x00\x01\x00"]
    assert rb.rpush("l", *values) == 6
    assert rb.lrange("l", 0, -1) == values
    assert rb.lindex("l", 3) == b"a\r\nb"
    assert rb.lpos("l", b"\xff\xfe") == 2
    assert rb.lpos("l", b"") == 1
    assert rb.lrem("l", 0, b"\x00") == 1
    assert rb.linsert("l", "AFTER", b"\xff\xfe", b"\r\n") == 6
    assert rb.lpop("l") == b""
    assert rb.rpop("l") == b"\x00\x01\x00"
    assert rb.lrange("l", 0, -1) == [b"\xff\xfe", b"\r\n", b"a\r\nb", b"x" * 1000]

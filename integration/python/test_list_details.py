"""List command details beyond test_lists.py: Redis's argument-check order (parse before
or after the key lookup), out-of-range / negative / huge indices and counts, binary-safe and
empty elements, integer-looking elements kept as sent, big lists (10,000+ elements, crossing
node and encoding boundaries, compressed nodes), LPOS RANK/MAXLEN corners, LMPOP numkeys,
LMOVE rotation, the WRONGTYPE matrix both ways, TYPE / OBJECT ENCODING / SCAN TYPE, the
list CONFIG parameters, TTLs, emptied lists vanishing, WATCH, MULTI/EXEC, COPY / RENAME /
MOVE, and the list rows of COMMAND INFO / DOCS.

Every expected reply below is what redis-server 7.0.15 answered
(REDIS_SERVER_BIN=/usr/bin/redis-server python3 -m pytest test_list_details.py), except
OBJECT ENCODING on vaylix, which follows Redis 7.2 (listpack for small lists) -- see
test_object_encoding_listpack_to_quicklist.
"""

from __future__ import annotations

import random
import time

import pytest
import redis

from helpers import raises_error

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INT = "ERR value is not an integer or out of range"
POP_RANGE = "ERR value is out of range, must be positive"
SYNTAX = "ERR syntax error"
RANK_ZERO = ("ERR RANK can't be zero: use 1 to start from the first match, 2 from the "
             "second ... or use negative to start from the end of the list")
LIST_PARAMS = ["list-max-listpack-size", "list-compress-depth"]


def items(r, key="l"):
    return r.lrange(key, 0, -1)


@pytest.fixture
def cfg(r):
    """Restores the list encoding parameters after the test (shared server)."""
    saved = {n: r.config_get(n)[n] for n in LIST_PARAMS}
    r.config_set("list-max-listpack-size", -2)
    r.config_set("list-compress-depth", 0)
    yield r
    for name, value in saved.items():
        r.config_set(name, value)


# --------------------------------------------------------------------------
# Argument-check order: which error wins on a key of another type / no key
# --------------------------------------------------------------------------

# (command with K as the key, reply on a string key, reply on a missing key,
#  reply on the list K = [a, b]); "ok" = any non-error reply.
ORDER_CASES = [
    ("LPOP K -1", POP_RANGE, POP_RANGE, POP_RANGE),
    ("RPOP K abc", POP_RANGE, POP_RANGE, POP_RANGE),
    ("LPOP K 0", WRONGTYPE, None, []),
    ("LINDEX K abc", WRONGTYPE, None, NOT_INT),          # type first, index after
    ("LRANGE K a 1", NOT_INT, NOT_INT, NOT_INT),         # indices first
    ("LRANGE K 0 b", NOT_INT, NOT_INT, NOT_INT),
    ("LSET K abc x", WRONGTYPE, "ERR no such key", NOT_INT),   # key first
    ("LSET K 9 x", WRONGTYPE, "ERR no such key", "ERR index out of range"),
    ("LINSERT K MIDDLE a b", SYNTAX, SYNTAX, SYNTAX),    # BEFORE|AFTER first
    ("LINSERT K BEFORE zz b", WRONGTYPE, 0, -1),
    ("LREM K abc a", NOT_INT, NOT_INT, NOT_INT),
    ("LTRIM K a 1", NOT_INT, NOT_INT, NOT_INT),
    ("LPOS K c RANK 0", RANK_ZERO, RANK_ZERO, RANK_ZERO),  # options first
    ("LPOS K c RANK abc", NOT_INT, NOT_INT, NOT_INT),
    ("LPOS K c COUNT -1", *("ERR COUNT can't be negative",) * 3),
    ("LPOS K c MAXLEN -1", *("ERR MAXLEN can't be negative",) * 3),
    ("LPOS K c FOO", SYNTAX, SYNTAX, SYNTAX),
    ("LMOVE K d UP LEFT", SYNTAX, SYNTAX, SYNTAX),
    ("LMOVE K d LEFT LEFT", WRONGTYPE, None, "a"),
    ("LMPOP 1 K UP", SYNTAX, SYNTAX, SYNTAX),
    ("LMPOP 1 K LEFT COUNT 0", *("ERR count should be greater than 0",) * 3),
    ("LMPOP 0 K LEFT", *("ERR numkeys should be greater than 0",) * 3),
    ("LMPOP 1 K LEFT", WRONGTYPE, None, ["K", ["a"]]),
    ("RPOPLPUSH K d", WRONGTYPE, None, "b"),
    ("LPUSHX K a", WRONGTYPE, 0, 3),
    ("LLEN K", WRONGTYPE, 0, 2),
]


@pytest.mark.parametrize("kind", ["string", "none", "list"])
@pytest.mark.parametrize("case", ORDER_CASES, ids=[c[0] for c in ORDER_CASES])
def test_argument_check_order(r, kind, case):
    cmd, on_string, on_none, on_list = case
    expected = {"string": on_string, "none": on_none, "list": on_list}[kind]
    if kind == "string":
        r.set("K", "x")
    elif kind == "list":
        r.rpush("K", "a", "b")
    if isinstance(expected, str) and expected.split(" ", 1)[0] in ("ERR", "WRONGTYPE"):
        with raises_error(expected):
            r.execute_command(*cmd.split())
    else:
        assert r.execute_command(*cmd.split()) == expected
    # a failed command changes nothing
    assert r.type("K") == kind


def test_arity_is_checked_before_anything(r):
    r.set("s", "x")
    for cmd in (["LPUSH", "s"], ["LINDEX", "s"], ["LSET", "s", "0"], ["LPOP", "s", "1", "2"],
                ["LINSERT", "s", "MIDDLE", "a"], ["LMOVE", "s", "d", "UP"], ["LMPOP", "0", "s"],
                ["LPOS", "s"], ["RPOPLPUSH", "s"], ["LTRIM", "s", "x"]):
        with raises_error(f"ERR wrong number of arguments for '{cmd[0].lower()}' command"):
            r.execute_command(*cmd)


# --------------------------------------------------------------------------
# Indices, counts, integers
# --------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["9223372036854775808", "-9223372036854775809", "1e3",
                                 "0x10", "1.0", "", "--1", "1 "])
def test_index_parse_errors(r, bad):
    r.rpush("l", "a", "b")
    for cmd in (["LINDEX", "l", bad], ["LRANGE", "l", bad, "1"], ["LRANGE", "l", "0", bad],
                ["LSET", "l", bad, "x"], ["LREM", "l", bad, "a"], ["LTRIM", "l", bad, "0"],
                ["LTRIM", "l", "0", bad]):
        with raises_error(NOT_INT):
            r.execute_command(*cmd)
    assert items(r) == ["a", "b"]


def test_extreme_indices(r):
    r.rpush("l", *"abc")
    big, small = "9223372036854775807", "-9223372036854775808"
    assert r.execute_command("LINDEX", "l", big) is None
    assert r.execute_command("LINDEX", "l", small) is None
    assert r.execute_command("LRANGE", "l", small, big) == ["a", "b", "c"]
    assert r.execute_command("LRANGE", "l", big, small) == []
    # a negative stop is not clamped to 0 (a negative start is)
    assert r.execute_command("LRANGE", "l", small, small) == []
    assert r.execute_command("LRANGE", "l", "-4", "-4") == []
    assert r.execute_command("LRANGE", "l", "-4", "-3") == ["a"]
    with raises_error("ERR index out of range"):
        r.execute_command("LSET", "l", big, "x")
    with raises_error("ERR index out of range"):
        r.execute_command("LSET", "l", small, "x")
    assert r.execute_command("LTRIM", "l", small, big) is True
    assert items(r) == ["a", "b", "c"]
    assert r.execute_command("LTRIM", "l", big, small) is True
    assert r.exists("l") == 0


def test_huge_counts(r):
    big = "9223372036854775807"
    r.rpush("l", *"abc")
    assert r.execute_command("LPOP", "l", big) == ["a", "b", "c"]
    r.rpush("l", *"abc")
    assert r.execute_command("RPOP", "l", "4294967296") == ["c", "b", "a"]
    r.rpush("l", *"abc")
    assert r.execute_command("LMPOP", "1", "l", "RIGHT", "COUNT", big) == ["l", ["c", "b", "a"]]
    with raises_error("ERR count should be greater than 0"):
        r.execute_command("LMPOP", "1", "l", "LEFT", "COUNT", "9223372036854775808")
    r.rpush("l", *"abab")
    assert r.execute_command("LPOS", "l", "a", "COUNT", big, "MAXLEN", big) == [0, 2]
    with raises_error("ERR COUNT can't be negative"):
        r.execute_command("LPOS", "l", "a", "COUNT", "9223372036854775808")
    with raises_error("ERR MAXLEN can't be negative"):
        r.execute_command("LPOS", "l", "a", "MAXLEN", "9223372036854775808")
    with raises_error(NOT_INT):
        r.execute_command("LPOS", "l", "a", "RANK", "9223372036854775808")
    assert r.execute_command("LREM", "l", big, "a") == 2
    assert r.execute_command("LREM", "l", "-9223372036854775808", "b") == 2
    assert r.exists("l") == 0


def test_non_numeric_counts_get_the_range_message(r):
    """LPOS reads COUNT/MAXLEN as non-negative numbers: a word gets the 'negative'
    message; LMPOP's numkeys/COUNT likewise."""
    r.rpush("l", "a")
    with raises_error("ERR COUNT can't be negative"):
        r.execute_command("LPOS", "l", "a", "COUNT", "abc")
    with raises_error("ERR MAXLEN can't be negative"):
        r.execute_command("LPOS", "l", "a", "MAXLEN", "abc")
    for bad in ("abc", "-1", "01", "+1", "1.0"):
        with raises_error("ERR numkeys should be greater than 0"):
            r.execute_command("LMPOP", bad, "l", "LEFT")
        with raises_error("ERR count should be greater than 0"):
            r.execute_command("LMPOP", "1", "l", "LEFT", "COUNT", bad if bad != "01" else "0")


INTEGERISH = ["1", "01", "-0", "+1", "9223372036854775807", "9223372036854775808",
              "-9223372036854775808", "-9223372036854775809", "1.0", "0x10", "1e3", "00",
              "-1", "0", " 1", "1 ", "4294967296", "-4294967297", "12345678901234567890"]


def test_integer_looking_elements_keep_their_text(r):
    assert r.rpush("l", *INTEGERISH) == len(INTEGERISH)
    assert items(r) == INTEGERISH
    assert [r.lindex("l", i) for i in range(len(INTEGERISH))] == INTEGERISH
    assert r.lpos("l", "1") == 0
    assert r.lpos("l", "01") == 1
    assert r.lpos("l", "0") == 13
    assert r.lpos("l", "-0") == 2
    assert r.lrem("l", 0, "1") == 1
    assert r.linsert("l", "BEFORE", "00", "000") == len(INTEGERISH)
    assert r.lindex("l", 10) == "000"
    assert r.rpop("l") == "12345678901234567890"


# --------------------------------------------------------------------------
# Empty strings, binary data, big elements
# --------------------------------------------------------------------------

def test_empty_string_elements(r):
    assert r.rpush("l", "", "a", "", "") == 4
    assert r.llen("l") == 4
    assert r.lindex("l", 0) == ""
    assert r.lpos("l", "") == 0
    assert r.lpos("l", "", rank=-1) == 3
    assert r.execute_command("LPOS", "l", "", "COUNT", "0") == [0, 2, 3]
    assert r.linsert("l", "AFTER", "", "x") == 5
    assert items(r) == ["", "x", "a", "", ""]
    assert r.lrem("l", -1, "") == 1
    assert r.lset("l", 1, "") is True
    assert items(r) == ["", "", "a", ""]
    assert r.lpop("l", 2) == ["", ""]
    assert r.lmove("l", "d", "RIGHT", "LEFT") == ""
    assert items(r, "d") == [""]
    assert r.rpoplpush("l", "d") == "a"
    assert r.exists("l") == 0
    assert r.lmpop(1, "d", direction="RIGHT", count=5) == ["d", ["", "a"]]
    assert r.exists("d") == 0


def test_binary_safe_everywhere(rb):
    every = bytes(range(256))
    vals = [every, b"\r\n", b"\x00" * 10, b"*1\r\n$1\r\na\r\n", b"\xc3\x28", b"-ERR x"]
    rb.rpush(b"\x00key\xff", *vals)
    assert rb.lrange(b"\x00key\xff", 0, -1) == vals
    assert rb.lpos(b"\x00key\xff", b"\x00" * 10) == 2
    assert rb.lpos(b"\x00key\xff", b"\x00" * 9) is None
    assert rb.lset(b"\x00key\xff", 1, every[::-1]) is True
    assert rb.lindex(b"\x00key\xff", 1) == every[::-1]
    assert rb.linsert(b"\x00key\xff", "BEFORE", b"\xc3\x28", b"\x00") == 7
    assert rb.lrem(b"\x00key\xff", 0, b"-ERR x") == 1
    assert rb.lmove(b"\x00key\xff", b"\xff", "LEFT", "RIGHT") == every
    assert rb.lmpop(1, b"\xff", direction="LEFT") == [b"\xff", [every]]
    assert rb.lpop(b"\x00key\xff", 10) == [every[::-1], b"\x00" * 10, b"*1\r\n$1\r\na\r\n",
                                           b"\x00", b"\xc3\x28"]


def test_big_elements(rb):
    big = [bytes([65 + i]) * n for i, n in enumerate([10_000, 70_000, 300_000, 1])]
    assert rb.rpush("l", *big) == 4
    assert rb.lrange("l", 0, -1) == big
    assert rb.lindex("l", 2) == big[2]
    assert rb.lpos("l", big[1]) == 1
    assert rb.lset("l", 3, b"z" * 200_000) is True
    assert rb.linsert("l", "AFTER", big[0], b"small") == 5
    assert rb.lrem("l", 0, big[2]) == 1
    assert [len(x) for x in rb.lrange("l", 0, -1)] == [10_000, 5, 70_000, 200_000]
    assert rb.rpop("l") == b"z" * 200_000


# --------------------------------------------------------------------------
# Big lists: many nodes, compressed nodes, against a Python model
# --------------------------------------------------------------------------

@pytest.mark.parametrize("fill,depth", [(-2, 0), (4, 0), (4, 1), (-1, 2), (128, 3)],
                         ids=["default", "fill4", "fill4-compress1", "4kb-compress2",
                              "fill128-compress3"])
def test_big_list_matches_model(cfg, fill, depth):
    r = cfg
    r.config_set("list-max-listpack-size", fill)
    r.config_set("list-compress-depth", depth)
    n = 10_000
    model = [f"e{i}" for i in range(n)]
    assert r.rpush("l", *model) == n
    assert r.llen("l") == n
    assert r.lindex("l", 5000) == "e5000"
    assert r.lindex("l", -1) == f"e{n - 1}"
    assert r.lrange("l", 4995, 5004) == model[4995:5005]
    assert r.lpos("l", "e7777") == 7777
    assert r.lpos("l", "e7777", maxlen=7777) is None
    assert r.lpos("l", "e7777", maxlen=7778) == 7777
    assert r.lpos("l", "e2222", rank=-1) == 2222
    assert r.lpos("l", "e2222", rank=-1, maxlen=n - 2222) == 2222   # scanned from the tail
    assert r.lpos("l", "e2222", rank=-1, maxlen=n - 2223) is None

    rng = random.Random(fill * 31 + depth)
    p = r.pipeline(transaction=False)
    expected = []
    for _ in range(400):
        op = rng.randrange(8)
        i = rng.randrange(-len(model), len(model))
        if op == 0:
            v = f"s{rng.randrange(1000)}"
            p.lset("l", i, v)
            model[i] = v
            expected.append(True)
        elif op == 1:
            pivot = model[i]
            v = f"i{rng.randrange(1000)}"
            where = rng.choice(["BEFORE", "AFTER"])
            p.linsert("l", where, pivot, v)
            at = model.index(pivot) + (where == "AFTER")
            model.insert(at, v)
            expected.append(len(model))
        elif op == 2:
            p.lindex("l", i)
            expected.append(model[i])
        elif op == 3:
            v = model[i]
            p.lrem("l", 0, v)
            cnt = model.count(v)
            model = [x for x in model if x != v]
            expected.append(cnt)
        elif op == 4:
            p.lpush("l", f"h{i}")
            model.insert(0, f"h{i}")
            expected.append(len(model))
        elif op == 5:
            p.rpop("l", 3)
            expected.append(model[-1:-4:-1])
            del model[-3:]
        elif op == 6:
            p.lrange("l", i, i + 20)
            s = i + len(model) if i < 0 else i
            e = i + 20 + len(model) if i + 20 < 0 else i + 20
            expected.append(model[s:e + 1])
        else:
            p.lpos("l", model[i])
            expected.append(model.index(model[i]))
    assert p.execute() == expected
    assert r.llen("l") == len(model)
    assert items(r) == model
    assert r.ltrim("l", 100, -100) is True
    model = model[100:-99]
    assert items(r) == model
    assert r.lpop("l", 50) == model[:50]
    assert r.rpop("l", 50) == model[-1:-51:-1]


def test_big_list_lrem_from_both_ends_and_trim(r):
    model = [("x" if i % 7 == 0 else str(i)) for i in range(20_000)]
    r.rpush("l", *model)
    assert r.lrem("l", 100, "x") == 100
    assert r.lrem("l", -100, "x") == 100
    idx = [i for i, v in enumerate(model) if v == "x"]
    drop = set(idx[:100] + idx[-100:])
    model = [v for i, v in enumerate(model) if i not in drop]
    assert r.llen("l") == len(model)
    assert r.lrange("l", 690, 710) == model[690:711]
    assert r.lrange("l", -30, -1) == model[-30:]
    assert r.execute_command("LPOS", "l", "x", "COUNT", "3", "RANK", "-2") == \
        [i for i, v in enumerate(model) if v == "x"][-2:-5:-1]
    assert r.ltrim("l", 9000, 9009) is True
    assert items(r) == model[9000:9010]


def test_big_list_emptied_by_pops(r):
    r.rpush("l", *range(12_000))
    got = []
    while True:
        chunk = r.lpop("l", 1000)
        if chunk is None:
            break
        got += chunk
    assert got == [str(i) for i in range(12_000)]
    assert r.exists("l") == 0


# --------------------------------------------------------------------------
# LPOS / LMPOP / LMOVE corners
# --------------------------------------------------------------------------

def test_lpos_rank_maxlen_interplay(r):
    r.rpush("l", *"xaxbxcx")         # x at 0 2 4 6
    assert r.lpos("l", "x", rank=-1) == 6
    assert r.lpos("l", "x", rank=-4) == 0
    assert r.lpos("l", "x", rank=-5) is None
    assert r.lpos("l", "x", rank=2, maxlen=2) is None      # only 1 match in the first 2
    assert r.lpos("l", "x", rank=2, maxlen=3) == 2
    assert r.lpos("l", "x", rank=-2, maxlen=3) == 4        # MAXLEN counts from the tail
    assert r.lpos("l", "x", rank=-2, count=0, maxlen=3) == [4]
    assert r.lpos("l", "x", count=0, maxlen=0) == [0, 2, 4, 6]
    assert r.lpos("l", "x", rank=3, count=0) == [4, 6]
    assert r.lpos("l", "x", rank=-3, count=0) == [2, 0]
    # a repeated option: the last one wins
    assert r.execute_command("LPOS", "l", "x", "RANK", "1", "RANK", "2") == 2
    assert r.execute_command("LPOS", "l", "x", "COUNT", "1", "COUNT", "0") == [0, 2, 4, 6]
    with raises_error(RANK_ZERO):
        r.execute_command("LPOS", "l", "x", "RANK", "0", "COUNT", "-1")  # left to right
    with raises_error("ERR COUNT can't be negative"):
        r.execute_command("LPOS", "l", "x", "COUNT", "-1", "RANK", "0")
    with raises_error(NOT_INT):
        r.execute_command("LPOS", "l", "x", "RANK", "-0")      # "-0" is not an integer


def test_lmpop_numkeys_and_keys(r):
    r.rpush("b", "1", "2")
    # numkeys larger than the keys given (the direction is taken as a key)
    with raises_error(SYNTAX):
        r.execute_command("LMPOP", "3", "a", "b", "LEFT")
    with raises_error(SYNTAX):
        r.execute_command("LMPOP", "2147483648", "a", "LEFT")
    with raises_error(SYNTAX):
        r.execute_command("LMPOP", "1", "a", "b", "LEFT")   # 'b' is not a direction
    for extra in (["COUNT"], ["COUNT", "1", "COUNT", "2"], ["FOO"], ["LEFT"], ["COUNT", "1", "X"]):
        with raises_error(SYNTAX):
            r.execute_command("LMPOP", "1", "b", "LEFT", *extra)
    # the same key twice is fine
    assert r.execute_command("LMPOP", "2", "b", "b", "left", "COUNT", "5") == ["b", ["1", "2"]]
    r.set("s", "x")
    r.rpush("c", "z")
    # keys are tried in order: WRONGTYPE only when reached before a non-empty list
    assert r.execute_command("LMPOP", "2", "c", "s", "LEFT") == ["c", ["z"]]
    with raises_error(WRONGTYPE):
        r.execute_command("LMPOP", "2", "nokey", "s", "LEFT")
    assert r.execute_command("LMPOP", "3", "n1", "n2", "n3", "RIGHT") is None


def test_lmove_same_list_rotation(r):
    r.rpush("l", *"abcde")
    for _ in range(5):
        r.lmove("l", "l", "LEFT", "RIGHT")
    assert items(r) == list("abcde")
    assert r.lmove("l", "l", "RIGHT", "LEFT") == "e"
    assert items(r) == list("eabcd")
    assert r.lmove("l", "l", "LEFT", "LEFT") == "e"
    assert r.lmove("l", "l", "RIGHT", "RIGHT") == "d"
    assert items(r) == list("eabcd")
    assert r.rpoplpush("l", "l") == "d"
    assert items(r) == list("deabc")
    r.rpush("one", "x")
    for d1 in ("LEFT", "RIGHT"):
        for d2 in ("LEFT", "RIGHT"):
            assert r.lmove("one", "one", d1, d2) == "x"
    assert items(r, "one") == ["x"]


def test_lmove_wrongtype_destination_keeps_source(r):
    r.rpush("l", "a", "b")
    for t, setup in (("string", lambda: r.set("d", "x")),
                     ("hash", lambda: r.hset("d", "f", "v")),
                     ("set", lambda: r.sadd("d", "m")),
                     ("zset", lambda: r.zadd("d", {"m": 1}))):
        r.delete("d")
        setup()
        with raises_error(WRONGTYPE):
            r.lmove("l", "d", "LEFT", "RIGHT")
        with raises_error(WRONGTYPE):
            r.rpoplpush("l", "d")
        assert items(r) == ["a", "b"]
        assert r.type("d") == t


# --------------------------------------------------------------------------
# WRONGTYPE in both directions
# --------------------------------------------------------------------------

LIST_COMMANDS = [
    "LPUSH K a", "RPUSH K a", "LPUSHX K a", "RPUSHX K a", "LPOP K", "RPOP K", "LPOP K 2",
    "RPOP K 0", "LLEN K", "LINDEX K 0", "LRANGE K 0 -1", "LSET K 0 x", "LINSERT K BEFORE a b",
    "LREM K 0 a", "LTRIM K 0 1", "LPOS K a", "LPOS K a COUNT 0", "LMOVE K d LEFT LEFT",
    "LMOVE src K LEFT LEFT", "RPOPLPUSH K d", "RPOPLPUSH src K", "LMPOP 1 K LEFT",
    "LMPOP 2 nokey K RIGHT COUNT 3",
]

OTHER_TYPES = {
    "string": lambda r: r.set("K", "x"),
    "hash": lambda r: r.hset("K", "a", "b"),
    "set": lambda r: r.sadd("K", "a"),
    "zset": lambda r: r.zadd("K", {"a": 1}),
}


@pytest.mark.parametrize("kind", sorted(OTHER_TYPES))
@pytest.mark.parametrize("cmd", LIST_COMMANDS)
def test_list_commands_on_other_types(r, kind, cmd):
    OTHER_TYPES[kind](r)
    r.rpush("src", "s")
    with raises_error(WRONGTYPE):
        r.execute_command(*cmd.split())
    assert r.type("K") == kind
    assert items(r, "src") == ["s"]
    assert r.exists("d") == 0


NON_LIST_COMMANDS = [
    "GET K", "GETEX K", "GETDEL K", "GETSET K x", "APPEND K x", "STRLEN K", "INCR K",
    "DECR K", "INCRBYFLOAT K 1", "SETRANGE K 0 x", "GETRANGE K 0 1",
    "HSET K a b", "HGET K a", "HGETALL K", "HDEL K a", "HLEN K", "HEXISTS K a",
    "HINCRBY K a 1", "SADD K a", "SREM K a", "SMEMBERS K", "SCARD K", "SISMEMBER K a",
    "SUNION K", "SINTER nokey K", "SINTERCARD 1 K", "SMOVE K d a", "SUNIONSTORE d K",
    "ZADD K 1 a", "ZRANGE K 0 -1", "ZSCORE K a", "ZCARD K", "ZINCRBY K 1 a", "ZREM K a",
    "ZRANK K a", "ZUNIONSTORE d 1 K",
]


@pytest.mark.parametrize("cmd", NON_LIST_COMMANDS)
def test_other_commands_on_a_list(r, cmd):
    r.rpush("K", "a", "b")
    with raises_error(WRONGTYPE):
        r.execute_command(*cmd.split())
    assert items(r, "K") == ["a", "b"]
    assert r.exists("d") == 0


def test_type_agnostic_commands_on_a_list(r):
    r.rpush("l", "a", "b")
    assert r.mget("l", "nokey") == [None, None]      # MGET answers nil, no error
    assert r.setnx("l", "x") is False
    assert r.msetnx({"l": "x", "n": "y"}) is False
    assert r.exists("n") == 0
    assert r.set("l", "x") is True                   # SET replaces the list
    assert r.type("l") == "string"


# --------------------------------------------------------------------------
# TYPE, OBJECT ENCODING, SCAN TYPE, CONFIG
# --------------------------------------------------------------------------

def test_scan_type_list(r):
    r.rpush("l1", "a")
    r.rpush("l2", *range(1000))
    r.set("s", "x")
    r.hset("h", "a", "b")
    r.sadd("st", "a")
    r.zadd("z", {"a": 1})
    found = set()
    cursor = 0
    for _ in range(100):
        cursor, keys = r.scan(cursor, _type="list")
        found.update(keys)
        if cursor == 0:
            break
    assert found == {"l1", "l2"}
    assert set(r.scan_iter(_type="LIST", match="l1*")) == {"l1"}
    assert set(r.scan_iter(_type="string")) == {"s"}
    assert [r.type(k) for k in ("l1", "s", "h", "st", "z", "nokey")] == \
        ["list", "string", "hash", "set", "zset", "none"]


def test_object_encoding_listpack_to_quicklist(cfg, is_vaylix, server_version):
    """Redis 7.0 answers quicklist for every list; Redis 7.2 (and vaylix) use a listpack
    for a small list and convert it to a quicklist past list-max-listpack-size."""
    r = cfg
    r.rpush("small", "a", "b", "c")
    r.rpush("big", *range(10_000))
    r.rpush("wide", "x" * 9000)                  # one element over the 8 kB of fill -2
    assert r.object("encoding", "nokey") is None
    if not is_vaylix and server_version < (7, 2):
        for key in ("small", "big", "wide"):
            assert r.object("encoding", key) == "quicklist"
        return
    assert r.object("encoding", "small") == "listpack"
    assert r.object("encoding", "big") == "quicklist"
    assert r.object("encoding", "wide") == "quicklist"
    r.rpush("grow", *range(100))
    assert r.object("encoding", "grow") == "listpack"
    r.rpush("grow", "y" * 9000)
    assert r.object("encoding", "grow") == "quicklist"
    assert r.llen("grow") == 101
    r.config_set("list-max-listpack-size", 4)    # positive: entries per node
    r.rpush("four", "1", "2", "3", "4")
    assert r.object("encoding", "four") == "listpack"
    r.lpush("four", "0")
    assert r.object("encoding", "four") == "quicklist"
    assert items(r, "four") == ["0", "1", "2", "3", "4"]
    r.rpush("five", "1", "2", "3", "4", "5")    # one push past the limit
    assert r.object("encoding", "five") == "quicklist"


def test_object_encoding_raw(rc):
    rc.cmd("RPUSH", "l", "a")
    assert rc.cmd("OBJECT", "ENCODING", "l") in (b"listpack", b"quicklist")
    assert rc.cmd("OBJECT", "REFCOUNT", "l") == 1


def test_config_list_parameters_and_aliases(cfg):
    r = cfg
    assert r.config_get("list-*") == {"list-max-listpack-size": "-2",
                                      "list-max-ziplist-size": "-2",
                                      "list-compress-depth": "0"}
    assert r.config_set("list-max-ziplist-size", 5) is True
    assert r.config_get("list-max-listpack-size") == {"list-max-listpack-size": "5"}
    assert r.config_set("list-max-listpack-size", -1) is True
    assert r.config_get("list-max-ziplist-size") == {"list-max-ziplist-size": "-1"}
    for v in (-5, -4, -3, 1, 1000, 32767):
        assert r.config_set("list-max-listpack-size", v) is True
        assert r.config_get("list-max-listpack-size") == {"list-max-listpack-size": str(v)}
    for v in (1, 2, 3, 65535):
        assert r.config_set("list-compress-depth", v) is True
        assert r.config_get("list-compress-depth") == {"list-compress-depth": str(v)}
    with raises_error("ERR CONFIG SET failed (possibly related to argument "
                      "'list-max-listpack-size') - argument couldn't be parsed into an integer"):
        r.config_set("list-max-listpack-size", "abc")
    with raises_error("ERR CONFIG SET failed (possibly related to argument "
                      "'list-compress-depth') - argument must be between 0 and 2147483647 "
                      "inclusive"):
        r.config_set("list-compress-depth", -1)
    assert r.config_get("list-compress-depth") == {"list-compress-depth": "65535"}


def test_config_get_raw_shape(rc, protocol):
    got = rc.cmd("CONFIG", "GET", "list-compress-depth")
    if protocol == 3:
        assert got == {"list-compress-depth": b"0"}
    else:
        assert got == [b"list-compress-depth", b"0"]


# --------------------------------------------------------------------------
# Key lifetime: TTL, emptied lists, COPY / RENAME / MOVE
# --------------------------------------------------------------------------

def test_expire_and_ttl_on_lists(r):
    r.rpush("l", *"abc")
    assert r.expire("l", 100) is True
    for cmd in (["LPUSH", "l", "z"], ["LSET", "l", "0", "y"], ["LINSERT", "l", "BEFORE", "y", "q"],
                ["LREM", "l", "1", "q"], ["LTRIM", "l", "0", "2"], ["RPOP", "l"],
                ["LMOVE", "l", "l", "LEFT", "RIGHT"]):
        r.execute_command(*cmd)
        assert 0 < r.ttl("l") <= 100, cmd          # list writes keep the TTL
    assert r.pexpire("l", 1) is True
    time.sleep(0.01)
    assert r.lrange("l", 0, -1) == []
    assert r.exists("l") == 0
    assert r.llen("l") == 0
    assert r.rpushx("l", "x") == 0
    assert r.ttl("l") == -2


def test_emptied_list_loses_its_ttl(r):
    r.rpush("l", "a")
    r.expire("l", 100)
    assert r.lpop("l") == "a"
    assert r.exists("l") == 0
    assert r.ttl("l") == -2
    assert r.rpush("l", "b") == 1
    assert r.ttl("l") == -1
    r.rpush("m", "a")
    r.expire("m", 100)
    r.rpush("src", "x")
    assert r.lmove("src", "m", "LEFT", "LEFT") == "x"
    assert 0 < r.ttl("m") <= 100                      # pushing to the destination keeps it


EMPTYING = [
    ["LPOP", "l"], ["RPOP", "l", "5"], ["LREM", "l", "0", "a"], ["LTRIM", "l", "1", "0"],
    ["LTRIM", "l", "-1", "-2"], ["LMOVE", "l", "d", "LEFT", "LEFT"], ["RPOPLPUSH", "l", "d"],
    ["LMPOP", "1", "l", "RIGHT"], ["LMPOP", "1", "l", "LEFT", "COUNT", "9"],
]


@pytest.mark.parametrize("cmd", EMPTYING, ids=[" ".join(c) for c in EMPTYING])
def test_emptied_list_disappears(r, cmd):
    r.rpush("l", "a")
    r.execute_command(*cmd)
    assert r.exists("l") == 0
    assert r.type("l") == "none"
    assert r.keys("*") in ([], ["d"])
    assert r.set("l", "now a string") is True


def test_copy_rename_move_lists(r):
    r.rpush("l", *"abc")
    assert r.copy("l", "c") is True
    r.rpush("c", "d")
    assert items(r) == ["a", "b", "c"]                # the copy is independent
    assert items(r, "c") == ["a", "b", "c", "d"]
    r.set("s", "x")
    assert r.copy("l", "s") is False
    assert r.copy("l", "s", replace=True) is True
    assert r.type("s") == "list"
    with raises_error("ERR source and destination objects are the same"):
        r.copy("l", "l")
    r.expire("l", 100)
    assert r.rename("l", "l2") is True
    assert items(r, "l2") == ["a", "b", "c"] and 0 < r.ttl("l2") <= 100
    assert r.renamenx("l2", "c") is False
    assert r.renamenx("l2", "l3") is True
    assert r.move("l3", 5) is True
    assert r.exists("l3") == 0
    assert r.copy("c", "c", destination_db=5) is True
    r.execute_command("SELECT", "5")
    try:
        assert items(r, "l3") == ["a", "b", "c"]
        assert items(r, "c") == ["a", "b", "c", "d"]
        assert r.lpop("l3") == "a"
        r.rpush("back", "z")
        assert r.move("back", 0) is True
        r.rpush("c", "q")
        assert r.move("c", 0) is False                # exists in db 0
    finally:
        r.execute_command("SELECT", "0")
    assert items(r, "back") == ["z"]
    assert items(r, "c") == ["a", "b", "c", "d"]


# --------------------------------------------------------------------------
# WATCH and MULTI/EXEC
# --------------------------------------------------------------------------

WATCH_CASES = [
    # (l = [a, b, c] before?, command by another client, does it invalidate WATCH l?)
    (True, "LPUSH l x", True),
    (True, "RPUSHX l x", True),
    (False, "LPUSHX l x", False),
    (False, "RPUSHX l x", False),
    (True, "LPOP l", True),
    (True, "RPOP l 2", True),
    (True, "LPOP l 0", False),
    (True, "RPOP l 0", False),
    (False, "LPOP l", False),
    (True, "LSET l 0 a", True),                 # same value: still a write
    (True, "LSET l 9 z", False),
    (True, "LINSERT l BEFORE b x", True),
    (True, "LINSERT l BEFORE zz x", False),
    (False, "LINSERT l BEFORE a x", False),
    (True, "LREM l 0 zz", False),
    (True, "LREM l 0 a", True),
    (False, "LREM l 0 a", False),
    (True, "LTRIM l 0 -1", True),               # keeps everything, still signalled
    (True, "LTRIM l -100 100", True),
    (True, "LTRIM l 0 1", True),
    (True, "LTRIM l 5 10", True),
    (False, "LTRIM l 0 1", False),
    (True, "LMOVE l l LEFT RIGHT", True),
    (True, "LMOVE l l LEFT LEFT", True),        # same list, same end: still a write
    (True, "LMOVE l other LEFT LEFT", True),
    (False, "LMOVE other l LEFT LEFT", True),   # l created as the destination
    (True, "RPOPLPUSH nokey l", False),
    (True, "LMPOP 1 l LEFT", True),
    (False, "LMPOP 1 l LEFT", False),
    (True, "LMOVE l str LEFT LEFT", False),     # WRONGTYPE on the destination
    (True, "LPOP l -1", False),
    (True, "LRANGE l 0 -1", False),
    (True, "LINDEX l 0", False),
    (True, "LPOS l a", False),
    (True, "LLEN l", False),
    (True, "OBJECT ENCODING l", False),
    (True, "EXPIRE l 100", True),
    (True, "PERSIST l", False),
    (True, "COPY l other", False),
    (True, "COPY other l REPLACE", True),
]


@pytest.mark.parametrize("exists,cmd,invalidates", WATCH_CASES,
                         ids=[c[1] + ("" if c[0] else " (no key)") for c in WATCH_CASES])
def test_watch_invalidation(r, make_client, exists, cmd, invalidates):
    if exists:
        r.rpush("l", "a", "b", "c")
    r.rpush("other", "o")
    r.set("str", "x")
    other = make_client()
    p = r.pipeline(transaction=True)
    p.watch("l")
    try:
        other.execute_command(*cmd.split())
    except redis.ResponseError:
        pass
    p.multi()
    p.ping()
    if invalidates:
        with pytest.raises(redis.WatchError):
            p.execute()
    else:
        assert p.execute() == [True]


def test_multi_queue_time_and_exec_time_errors(rc):
    rc.cmd("SET", "s", "x")
    assert rc.cmd("MULTI") == "OK"
    assert rc.cmd("RPUSH", "l", "a") == "QUEUED"
    # LPUSH with no element is an arity error at queue time: EXEC is refused
    assert rc.cmd("LPUSH", "l").line == "ERR wrong number of arguments for 'lpush' command"
    assert rc.cmd("LPOP", "l") == "QUEUED"
    assert rc.cmd("EXEC").line == "EXECABORT Transaction discarded because of previous errors."
    assert rc.cmd("EXISTS", "l") == 0
    assert rc.cmd("MULTI") == "OK"
    for cmd in (["RPUSH", "l", "a", "b"], ["LPUSH", "s", "x"], ["LPOP", "l", "-1"],
                ["LMPOP", "0", "l", "LEFT"], ["LINSERT", "l", "MIDDLE", "a", "b"],
                ["RPOP", "l"]):
        assert rc.cmd(*cmd) == "QUEUED"          # argument errors wait for EXEC
    got = rc.cmd("EXEC")
    assert got[0] == 2
    assert [e.line for e in got[1:5]] == [WRONGTYPE, POP_RANGE,
                                          "ERR numkeys should be greater than 0", SYNTAX]
    assert got[5] == b"b"
    assert rc.cmd("LRANGE", "l", "0", "-1") == [b"a"]


def test_multi_push_and_pop_in_one_transaction(r):
    p = r.pipeline(transaction=True)
    p.rpush("t", "a", "b")
    p.lpop("t", 2)
    p.exists("t")
    p.rpush("t", "c")
    p.lmove("t", "t", "LEFT", "RIGHT")
    p.lrange("t", 0, -1)
    assert p.execute() == [2, ["a", "b"], 0, 1, "c", ["c"]]


# --------------------------------------------------------------------------
# COMMAND INFO / DOCS rows
# --------------------------------------------------------------------------

LIST_INFO = {
    # name: (arity, flags, acl categories, first, last, step)
    "lpush": (-3, {"write", "denyoom", "fast"}, {"@write", "@list", "@fast"}, 1, 1, 1),
    "rpush": (-3, {"write", "denyoom", "fast"}, {"@write", "@list", "@fast"}, 1, 1, 1),
    "lpushx": (-3, {"write", "denyoom", "fast"}, {"@write", "@list", "@fast"}, 1, 1, 1),
    "rpushx": (-3, {"write", "denyoom", "fast"}, {"@write", "@list", "@fast"}, 1, 1, 1),
    "lpop": (-2, {"write", "fast"}, {"@write", "@list", "@fast"}, 1, 1, 1),
    "rpop": (-2, {"write", "fast"}, {"@write", "@list", "@fast"}, 1, 1, 1),
    "llen": (2, {"readonly", "fast"}, {"@read", "@list", "@fast"}, 1, 1, 1),
    "lindex": (3, {"readonly"}, {"@read", "@list", "@slow"}, 1, 1, 1),
    "lrange": (4, {"readonly"}, {"@read", "@list", "@slow"}, 1, 1, 1),
    "lset": (4, {"write", "denyoom"}, {"@write", "@list", "@slow"}, 1, 1, 1),
    "linsert": (5, {"write", "denyoom"}, {"@write", "@list", "@slow"}, 1, 1, 1),
    "lrem": (4, {"write"}, {"@write", "@list", "@slow"}, 1, 1, 1),
    "ltrim": (4, {"write"}, {"@write", "@list", "@slow"}, 1, 1, 1),
    "lpos": (-3, {"readonly"}, {"@read", "@list", "@slow"}, 1, 1, 1),
    "lmove": (5, {"write", "denyoom"}, {"@write", "@list", "@slow"}, 1, 2, 1),
    "rpoplpush": (3, {"write", "denyoom"}, {"@write", "@list", "@slow"}, 1, 2, 1),
    "lmpop": (-4, {"write", "movablekeys"}, {"@write", "@list", "@slow"}, 0, 0, 0),
}

SINCE = {"lpushx": "2.2.0", "rpushx": "2.2.0", "linsert": "2.2.0", "lpos": "6.0.6",
         "lmove": "6.2.0", "rpoplpush": "1.2.0", "lmpop": "7.0.0"}


def text(v):
    return v.decode() if isinstance(v, bytes) else v


@pytest.mark.parametrize("name", sorted(LIST_INFO))
def test_command_info_and_docs_list_rows(raw, name):
    c = raw()
    info = c.cmd("COMMAND", "INFO", name)[0]
    arity, flags, acl, first, last, step = LIST_INFO[name]
    assert text(info[0]) == name
    assert info[1] == arity
    assert {text(f) for f in info[2]} == flags
    assert info[3:6] == [first, last, step]
    assert {text(a) for a in info[6]} == acl
    docs = c.cmd("COMMAND", "DOCS", name)
    assert text(docs[0]) == name
    fields = dict(zip([text(k) for k in docs[1][::2]], docs[1][1::2]))
    assert text(fields["group"]) == "list"
    assert text(fields["since"]) == SINCE.get(name, "1.0.0")


def test_command_getkeys_for_list_commands(rc):
    assert rc.cmd("COMMAND", "GETKEYS", "LMOVE", "a", "b", "LEFT", "RIGHT") == [b"a", b"b"]
    assert rc.cmd("COMMAND", "GETKEYS", "LMPOP", "2", "x", "y", "LEFT") == [b"x", b"y"]
    assert rc.cmd("COMMAND", "GETKEYS", "RPOPLPUSH", "a", "b") == [b"a", b"b"]
    assert rc.cmd("COMMAND", "GETKEYS", "LPUSH", "k", "v1", "v2") == [b"k"]

"""Hash command details beyond test_hashes.py: Redis's argument-check order, HSCAN's
cursor parsing (strtoul), keyspace hit counting, "-0" as an integer, and the hash rows of
COMMAND INFO / DOCS.

Every expected reply below is what redis-server 7.0.15 answered
(REDIS_SERVER_BIN=/usr/bin/redis-server python3 -m pytest test_hash_details.py).
"""

from __future__ import annotations

import pytest

from helpers import raises_error

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INT = "ERR value is not an integer or out of range"


def stats(r):
    info = r.info("stats")
    return info["keyspace_hits"], info["keyspace_misses"]


@pytest.mark.parametrize("cmd, expected", [
    (["HGET", "h", "a"], (1, 0)),
    (["HGETALL", "h"], (1, 0)),
    (["HRANDFIELD", "h", "2"], (1, 0)),
    (["HSCAN", "h", "0"], (1, 0)),
    (["HGET", "nokey", "a"], (0, 1)),
    (["HSCAN", "nokey", "0"], (0, 1)),
    (["HRANDFIELD", "nokey", "0"], (0, 1)),
    # a key of another type is a hit (Redis counts before it checks the type)
    (["HGET", "str", "a"], (1, 0)),
    (["HGETALL", "str"], (1, 0)),
    (["HSCAN", "str", "0"], (1, 0)),
    # writes look keys up for writing, which Redis does not count
    (["HSETNX", "h", "a", "1"], (0, 0)),
    (["HINCRBY", "h", "n", "1"], (0, 0)),
    # a bad argument fails before the lookup
    (["HRANDFIELD", "h", "abc"], (0, 0)),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_hash_reads_count_keyspace_hits_as_redis(r, cmd, expected):
    r.hset("h", "a", "1")
    r.set("str", "x")
    r.config_resetstat()
    try:
        r.execute_command(*cmd)
    except Exception:
        pass
    assert stats(r) == expected


def test_argument_errors_come_before_the_type_check(r):
    r.set("str", "x")
    with raises_error(NOT_INT):
        r.execute_command("HINCRBY", "str", "f", "abc")
    with raises_error("ERR value is not a valid float"):
        r.execute_command("HINCRBYFLOAT", "str", "f", "abc")
    with raises_error("ERR value is NaN or Infinity"):
        r.execute_command("HINCRBYFLOAT", "str", "f", "inf")
    with raises_error(NOT_INT):
        r.execute_command("HRANDFIELD", "str", "abc")
    with raises_error("ERR syntax error"):
        r.execute_command("HRANDFIELD", "nokey", "1", "WITHVALUE")
    with raises_error("ERR invalid cursor"):
        r.execute_command("HSCAN", "str", "x")
    # ... but HSCAN's options are read only once the key is found to be a hash
    with raises_error(WRONGTYPE):
        r.execute_command("HSCAN", "str", "0", "COUNT", "0")
    assert r.execute_command("HSCAN", "nokey", "0", "COUNT", "0") == (0, {})


def test_minus_zero_is_not_an_integer(r):
    r.hset("h", "z", "-0")
    with raises_error(NOT_INT):
        r.execute_command("HINCRBY", "h", "n", "-0")
    with raises_error("ERR hash value is not an integer"):
        r.execute_command("HINCRBY", "h", "z", "1")
    with raises_error(NOT_INT):
        r.execute_command("INCRBY", "k", "-0")
    assert r.exists("k") == 0
    # as a float, "-0" is fine
    assert r.hget("h", "z") == "-0"
    assert r.hincrbyfloat("h", "z", 1) == 1.0
    assert r.hget("h", "z") == "1"


@pytest.mark.parametrize("cursor", ["", "-1", "+5", "007", "99", "18446744073709551615"])
def test_hscan_cursor_is_read_as_strtoul(r, cursor):
    r.hset("h", mapping={"a": "1", "b": "2"})
    # a listpack hash answers whole with cursor 0 whatever the cursor
    assert r.hscan("h", cursor) == (0, {"a": "1", "b": "2"})


@pytest.mark.parametrize("cursor", ["+", "-", " 1", "1 ", "5x", "18446744073709551616", "0x10"])
def test_hscan_bad_cursor(r, cursor):
    r.hset("h", "a", "1")
    with raises_error("ERR invalid cursor"):
        r.execute_command("HSCAN", "h", cursor)


def test_hincrbyfloat_result_too_long_for_a_listpack_still_reads_back(raw, flushed):
    c = raw()
    # 1e308 prints 308 digits, longer than hash-max-listpack-value (64)
    out = c.cmd("HINCRBYFLOAT", "h", "f", "1e308")
    assert len(out) == 308
    assert c.cmd("HGET", "h", "f") == out
    assert c.cmd("HINCRBYFLOAT", "h", "g", "0.5") == b"0.5"
    assert c.cmd("HLEN", "h") == 2


HASH_INFO = {
    # name: (arity, flags, acl categories)
    "hset": (-4, {"write", "denyoom", "fast"}, {"@write", "@hash", "@fast"}),
    "hsetnx": (4, {"write", "denyoom", "fast"}, {"@write", "@hash", "@fast"}),
    "hmset": (-4, {"write", "denyoom", "fast"}, {"@write", "@hash", "@fast"}),
    "hget": (3, {"readonly", "fast"}, {"@read", "@hash", "@fast"}),
    "hmget": (-3, {"readonly", "fast"}, {"@read", "@hash", "@fast"}),
    "hgetall": (2, {"readonly"}, {"@read", "@hash", "@slow"}),
    "hdel": (-3, {"write", "fast"}, {"@write", "@hash", "@fast"}),
    "hexists": (3, {"readonly", "fast"}, {"@read", "@hash", "@fast"}),
    "hlen": (2, {"readonly", "fast"}, {"@read", "@hash", "@fast"}),
    "hstrlen": (3, {"readonly", "fast"}, {"@read", "@hash", "@fast"}),
    "hkeys": (2, {"readonly"}, {"@read", "@hash", "@slow"}),
    "hvals": (2, {"readonly"}, {"@read", "@hash", "@slow"}),
    "hincrby": (4, {"write", "denyoom", "fast"}, {"@write", "@hash", "@fast"}),
    "hincrbyfloat": (4, {"write", "denyoom", "fast"}, {"@write", "@hash", "@fast"}),
    "hrandfield": (-2, {"readonly"}, {"@read", "@hash", "@slow"}),
    "hscan": (-3, {"readonly"}, {"@read", "@hash", "@slow"}),
}

SINCE = {"hstrlen": "3.2.0", "hincrbyfloat": "2.6.0", "hrandfield": "6.2.0", "hscan": "2.8.0"}


def text(v):
    return v.decode() if isinstance(v, bytes) else v


@pytest.mark.parametrize("name", sorted(HASH_INFO))
def test_command_info_and_docs_hash_rows(raw, name):
    c = raw()
    info = c.cmd("COMMAND", "INFO", name)[0]
    arity, flags, acl = HASH_INFO[name]
    assert text(info[0]) == name
    assert info[1] == arity
    assert {text(f) for f in info[2]} == flags
    assert info[3:6] == [1, 1, 1]
    assert {text(a) for a in info[6]} == acl
    docs = c.cmd("COMMAND", "DOCS", name)
    assert text(docs[0]) == name
    fields = dict(zip([text(k) for k in docs[1][::2]], docs[1][1::2]))
    assert text(fields["group"]) == "hash"
    assert text(fields["since"]) == SINCE.get(name, "2.0.0")

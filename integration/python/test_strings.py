"""String commands with Redis 7 semantics."""

from __future__ import annotations

import time

import pytest
import redis

from helpers import raises_error

SYNTAX = "ERR syntax error"
NOT_INT = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
OVERFLOW = "ERR increment or decrement would overflow"
LLONG_MAX = 9223372036854775807
LLONG_MIN = -9223372036854775808


def now_ms():
    return int(time.time() * 1000)


# --------------------------------------------------------------------------
# GET / SET and SET options
# --------------------------------------------------------------------------

def test_get_set(r):
    assert r.get("missing") is None
    assert r.set("k", "v") is True
    assert r.get("k") == "v"
    assert r.set("k", "v2") is True
    assert r.get("k") == "v2"
    assert r.set("empty", "") is True
    assert r.get("empty") == ""
    assert r.ttl("k") == -1


def test_set_overwrites_ttl(r):
    r.set("k", "v", ex=100)
    assert r.ttl("k") > 0
    r.set("k", "v2")
    assert r.ttl("k") == -1


def test_set_ex_px(r):
    assert r.set("ex", "v", ex=100) is True
    assert 99 <= r.ttl("ex") <= 100
    assert r.set("px", "v", px=100000) is True
    assert 99000 <= r.pttl("px") <= 100000


def test_set_exat_pxat(r):
    at = int(time.time()) + 100
    assert r.set("exat", "v", exat=at) is True
    assert r.expiretime("exat") == at
    at_ms = now_ms() + 100000
    assert r.set("pxat", "v", pxat=at_ms) is True
    assert r.pexpiretime("pxat") == at_ms


def test_set_exat_in_past_deletes(r):
    r.set("k", "old")
    assert r.set("k", "v", exat=int(time.time()) - 10) is True
    assert r.get("k") is None
    assert r.exists("k") == 0


def test_set_nx_xx(r):
    assert r.set("k", "v1", nx=True) is True
    assert r.set("k", "v2", nx=True) is None
    assert r.get("k") == "v1"
    assert r.set("k", "v3", xx=True) is True
    assert r.get("k") == "v3"
    assert r.set("absent", "v", xx=True) is None
    assert r.exists("absent") == 0


def test_set_keepttl(r):
    r.set("k", "v", ex=100)
    assert r.set("k", "v2", keepttl=True) is True
    assert r.get("k") == "v2"
    assert 0 < r.ttl("k") <= 100
    r.set("k", "v3")
    assert r.ttl("k") == -1


def test_set_get(r):
    assert r.set("k", "v1", get=True) is None
    assert r.set("k", "v2", get=True) == "v1"
    assert r.get("k") == "v2"
    # NX + GET allowed since Redis 7.0: returns old value, does not set
    assert r.set("k", "v3", nx=True, get=True) == "v2"
    assert r.get("k") == "v2"
    assert r.set("new", "n", nx=True, get=True) is None
    assert r.get("new") == "n"
    # XX + GET on a missing key
    assert r.set("absent", "x", xx=True, get=True) is None
    assert r.exists("absent") == 0


def test_set_options_case_insensitive(r):
    assert r.execute_command("SET", "k", "v", "ex", "100", "nx") in (True, "OK")
    assert r.ttl("k") > 0


@pytest.mark.parametrize("args", [
    ("NX", "XX"),
    ("EX", "10", "PX", "100"),
    ("EX", "10", "KEEPTTL"),
    ("PX", "10", "EXAT", "9999999999"),
    ("KEEPTTL", "PXAT", "9999999999999"),
    ("EX",),
    ("FOO",),
    ("GET", "GET", "FOO"),
    ("EX", "10", "EX", "20", "FOO"),
])
def test_set_syntax_errors(r, args):
    with raises_error(SYNTAX):
        r.execute_command("SET", "k", "v", *args)
    assert r.exists("k") == 0


@pytest.mark.parametrize("args", [
    ("EX", "0"), ("EX", "-1"), ("PX", "0"), ("PX", "-5"),
    ("EXAT", "0"), ("PXAT", "-1"),
])
def test_set_invalid_expire(r, args):
    with raises_error("ERR invalid expire time in 'set' command"):
        r.execute_command("SET", "k", "v", *args)
    assert r.exists("k") == 0


def test_set_expire_not_integer(r):
    with raises_error(NOT_INT):
        r.execute_command("SET", "k", "v", "EX", "abc")
    with raises_error(NOT_INT):
        r.execute_command("SET", "k", "v", "PX", "1.5")


def test_set_arity(r):
    with raises_error("ERR wrong number of arguments for 'set' command"):
        r.execute_command("SET", "k")
    with raises_error("ERR wrong number of arguments for 'get' command"):
        r.execute_command("GET")
    with raises_error("ERR wrong number of arguments for 'get' command"):
        r.execute_command("GET", "a", "b")


# --------------------------------------------------------------------------
# SETNX / SETEX / PSETEX / GETSET / GETDEL / GETEX
# --------------------------------------------------------------------------

def test_setnx(r):
    assert r.setnx("k", "v1") is True
    assert r.setnx("k", "v2") is False
    assert r.get("k") == "v1"


def test_setex_psetex(r):
    assert r.setex("k", 100, "v") is True
    assert r.get("k") == "v"
    assert 99 <= r.ttl("k") <= 100
    assert r.psetex("p", 100000, "v") is True
    assert 99000 <= r.pttl("p") <= 100000
    with raises_error("ERR invalid expire time in 'setex' command"):
        r.execute_command("SETEX", "k", 0, "v")
    with raises_error("ERR invalid expire time in 'psetex' command"):
        r.execute_command("PSETEX", "k", -1, "v")
    with raises_error(NOT_INT):
        r.execute_command("SETEX", "k", "abc", "v")


def test_getset(r):
    assert r.getset("k", "v1") is None
    assert r.getset("k", "v2") == "v1"
    assert r.get("k") == "v2"
    r.expire("k", 100)
    r.getset("k", "v3")
    assert r.ttl("k") == -1


def test_getdel(r):
    r.set("k", "v")
    assert r.getdel("k") == "v"
    assert r.exists("k") == 0
    assert r.getdel("k") is None


def test_getex(r):
    assert r.getex("missing", ex=10) is None
    r.set("k", "v")
    assert r.getex("k") == "v"
    assert r.ttl("k") == -1
    assert r.getex("k", ex=100) == "v"
    assert 99 <= r.ttl("k") <= 100
    assert r.getex("k", px=50000) == "v"
    assert 49000 <= r.pttl("k") <= 50000
    at = int(time.time()) + 200
    assert r.getex("k", exat=at) == "v"
    assert r.expiretime("k") == at
    at_ms = now_ms() + 300000
    assert r.getex("k", pxat=at_ms) == "v"
    assert r.pexpiretime("k") == at_ms
    assert r.getex("k", persist=True) == "v"
    assert r.ttl("k") == -1


def test_getex_errors(r):
    r.set("k", "v")
    with raises_error("ERR invalid expire time in 'getex' command"):
        r.execute_command("GETEX", "k", "EX", 0)
    with raises_error("ERR invalid expire time in 'getex' command"):
        r.execute_command("GETEX", "k", "PX", -1)
    with raises_error(SYNTAX):
        r.execute_command("GETEX", "k", "EX", 10, "PERSIST")
    with raises_error(SYNTAX):
        r.execute_command("GETEX", "k", "FOO")
    with raises_error(NOT_INT):
        r.execute_command("GETEX", "k", "EX", "abc")
    assert r.ttl("k") == -1


def test_getex_past_time_deletes(r):
    r.set("k", "v")
    assert r.getex("k", exat=int(time.time()) - 100) == "v"
    assert r.exists("k") == 0


# --------------------------------------------------------------------------
# MGET / MSET / MSETNX
# --------------------------------------------------------------------------

def test_mget_mset(r):
    assert r.mset({"a": "1", "b": "2", "c": "3"}) is True
    assert r.mget("a", "b", "missing", "c") == ["1", "2", None, "3"]
    assert r.mget("a") == ["1"]
    # last value wins for repeated keys
    assert r.execute_command("MSET", "d", "x", "d", "y") in (True, "OK")
    assert r.get("d") == "y"
    with raises_error("ERR wrong number of arguments for 'mset' command"):
        r.execute_command("MSET", "a", "1", "b")
    with raises_error("ERR wrong number of arguments for 'mget' command"):
        r.execute_command("MGET")


def test_mset_clears_ttl(r):
    r.set("a", "1", ex=100)
    r.mset({"a": "2"})
    assert r.ttl("a") == -1


def test_msetnx(r):
    assert r.msetnx({"a": "1", "b": "2"}) is True
    assert r.msetnx({"b": "x", "c": "3"}) is False
    assert r.mget("a", "b", "c") == ["1", "2", None]
    with raises_error("ERR wrong number of arguments for 'msetnx' command"):
        r.execute_command("MSETNX", "a")


# --------------------------------------------------------------------------
# APPEND / STRLEN / GETRANGE / SETRANGE / SUBSTR
# --------------------------------------------------------------------------

def test_append_strlen(r):
    assert r.strlen("missing") == 0
    assert r.append("k", "Hello") == 5
    assert r.append("k", " World") == 11
    assert r.get("k") == "Hello World"
    assert r.strlen("k") == 11
    assert r.append("k", "") == 11


def test_append_keeps_ttl(r):
    r.set("k", "v", ex=100)
    r.append("k", "more")
    assert r.ttl("k") > 0


def test_strlen_counts_bytes(r):
    r.set("k", "é€")  # 2 + 3 bytes in UTF-8
    assert r.strlen("k") == 5


def test_getrange(r):
    r.set("k", "This is a string")
    assert r.getrange("k", 0, 3) == "This"
    assert r.getrange("k", -3, -1) == "ing"
    assert r.getrange("k", 0, -1) == "This is a string"
    assert r.getrange("k", 10, 100) == "string"
    assert r.getrange("k", 5, 3) == ""
    assert r.getrange("k", -100, 3) == "This"
    assert r.getrange("k", 100, 200) == ""
    assert r.getrange("k", -1, -5) == ""
    assert r.getrange("missing", 0, -1) == ""
    with raises_error(NOT_INT):
        r.execute_command("GETRANGE", "k", "a", "1")


def test_substr(r):
    r.set("k", "Hello World")
    assert r.substr("k", 0, 4) == "Hello"
    assert r.substr("k", -5, -1) == "World"
    assert r.substr("missing", 0, 10) == ""


def test_setrange(r, rb):
    r.set("k", "Hello World")
    assert r.setrange("k", 6, "Redis") == 11
    assert r.get("k") == "Hello Redis"
    assert r.setrange("k", 11, "!") == 12
    assert r.get("k") == "Hello Redis!"
    # padding with zero bytes
    assert rb.setrange("pad", 5, b"x") == 6
    assert rb.get("pad") == b"\x00\x00\x00\x00\x00x"
    rb.set("short", b"ab")
    assert rb.setrange("short", 4, b"cd") == 6
    assert rb.get("short") == b"ab\x00\x00cd"


def test_setrange_empty_value(r):
    # empty value on a missing key: no key is created
    assert r.setrange("missing", 10, "") == 0
    assert r.exists("missing") == 0
    r.set("k", "abc")
    assert r.setrange("k", 10, "") == 3
    assert r.get("k") == "abc"


def test_setrange_errors(r):
    with raises_error("ERR offset is out of range"):
        r.setrange("k", -1, "x")
    # Redis 7.0 text; at/above 512 MiB (proto-max-bulk-len)
    with raises_error("ERR string exceeds maximum allowed size (proto-max-bulk-len)"):
        r.setrange("k", 536870912, "x")
    assert r.exists("k") == 0
    with raises_error(NOT_INT):
        r.execute_command("SETRANGE", "k", "abc", "x")


# --------------------------------------------------------------------------
# INCR family
# --------------------------------------------------------------------------

def test_incr_decr(r):
    assert r.incr("n") == 1
    assert r.incr("n") == 2
    assert r.decr("n") == 1
    assert r.decr("m") == -1
    assert r.incrby("n", 10) == 11
    assert r.incrby("n", -20) == -9
    assert r.decrby("n", 5) == -14
    assert r.get("n") == "-14"


def test_incr_keeps_ttl(r):
    r.set("n", "5", ex=100)
    assert r.incr("n") == 6
    assert r.ttl("n") > 0


def test_incr_on_existing_numeric_string(r):
    r.set("n", "  10")
    with raises_error(NOT_INT):
        r.incr("n")
    r.set("n", "10 ")
    with raises_error(NOT_INT):
        r.incr("n")
    r.set("n", "0x10")
    with raises_error(NOT_INT):
        r.incr("n")
    r.set("n", "1.0")
    with raises_error(NOT_INT):
        r.incr("n")
    r.set("n", "")
    with raises_error(NOT_INT):
        r.incr("n")
    r.set("n", "-0")
    assert r.get("n") == "-0"
    r.set("n", "007")
    with raises_error(NOT_INT):
        r.incr("n")
    r.set("n", "-5")
    assert r.incr("n") == -4


def test_incr_not_integer(r):
    r.set("s", "abc")
    with raises_error(NOT_INT):
        r.incr("s")
    with raises_error(NOT_INT):
        r.incrby("n", "abc")
    with raises_error(NOT_INT):
        r.incrby("n", "1.5")
    with raises_error(NOT_INT):
        r.execute_command("INCRBY", "n", "9223372036854775808")
    assert r.get("s") == "abc"


def test_incr_overflow(r):
    r.set("n", str(LLONG_MAX))
    with raises_error(OVERFLOW):
        r.incr("n")
    with raises_error(OVERFLOW):
        r.incrby("n", 1)
    r.set("n", str(LLONG_MIN))
    with raises_error(OVERFLOW):
        r.decr("n")
    with raises_error(OVERFLOW):
        r.decrby("n", 1)
    assert r.get("n") == str(LLONG_MIN)
    r.set("n", "0")
    with raises_error("ERR decrement would overflow"):
        r.decrby("n", LLONG_MIN)
    r.set("n", "-1")
    assert r.incrby("n", LLONG_MIN + 1) == LLONG_MIN


def test_incrbyfloat(r):
    assert r.incrbyfloat("f", 10.5) == 10.5
    assert r.incrbyfloat("f", 0.1) == pytest.approx(10.6)
    assert r.get("f") == "10.6"
    assert r.incrbyfloat("f", -5) == pytest.approx(5.6)
    assert r.get("f") == "5.6"
    r.set("g", "5.0e3")
    assert r.incrbyfloat("g", "2.0e2") == 5200
    assert r.get("g") == "5200"
    r.set("h", "3")
    assert r.incrbyfloat("h", 1.5) == 4.5
    assert r.incrbyfloat("i", 3) == 3
    assert r.get("i") == "3"


def test_incrbyfloat_raw_reply_is_bulk(raw, flushed):
    c = raw()
    c.cmd("HELLO", "3")
    # INCRBYFLOAT replies with a bulk string in both protocols
    assert c.cmd("INCRBYFLOAT", "f", "1.5") == b"1.5"


def test_incrbyfloat_errors(r):
    r.set("s", "abc")
    with raises_error(NOT_FLOAT):
        r.incrbyfloat("s", 1)
    with raises_error(NOT_FLOAT):
        r.execute_command("INCRBYFLOAT", "f", "abc")
    with raises_error(NOT_FLOAT):
        r.execute_command("INCRBYFLOAT", "f", "nan")
    with raises_error("ERR increment would produce NaN or Infinity"):
        r.execute_command("INCRBYFLOAT", "f", "inf")
    r.set("sp", " 1")
    with raises_error(NOT_FLOAT):
        r.incrbyfloat("sp", 1)
    assert r.exists("f") == 0


# --------------------------------------------------------------------------
# Binary safety
# --------------------------------------------------------------------------

BINARY_VALUES = [
    b"\x00",
    b"\x00\xff\x00\xff",
    b"\xff\xfe\xfd",
    b"a\r\nb\r\n",
    b"$5\r\nhello\r\n",
    bytes(range(256)),
    b"\x00" * 1000 + b"\xff" * 1000,
]


@pytest.mark.parametrize("value", BINARY_VALUES, ids=lambda v: f"len{len(v)}")
def test_binary_values(rb, value):
    assert rb.set(b"bin", value) is True
    assert rb.get(b"bin") == value
    assert rb.strlen(b"bin") == len(value)
    assert rb.append(b"bin", b"\x00") == len(value) + 1
    assert rb.getrange(b"bin", 0, len(value) - 1) == value


@pytest.mark.parametrize("key", BINARY_VALUES[:5], ids=lambda v: f"key{len(v)}")
def test_binary_keys(rb, key):
    assert rb.set(key, b"v") is True
    assert rb.get(key) == b"v"
    assert rb.exists(key) == 1
    assert key in rb.keys(b"*")
    assert rb.delete(key) == 1


def test_binary_mset_mget(rb):
    mapping = {b"k\x00%d" % i: bytes([i, 0, 255 - i]) for i in range(50)}
    assert rb.mset(mapping) is True
    assert rb.mget(list(mapping)) == list(mapping.values())


def test_large_value(rb):
    value = bytes(range(256)) * 4096 * 4  # 4 MiB
    assert rb.set(b"big", value) is True
    assert rb.get(b"big") == value
    assert rb.strlen(b"big") == len(value)


def test_integer_argument_formats(r):
    # redis-py sends ints/floats as their text form
    r.set("n", 42)
    assert r.get("n") == "42"
    r.set("f", 1.5)
    assert r.get("f") == "1.5"

"""Hash commands: HSET, HSETNX, HMSET, HGET, HMGET, HGETALL, HDEL, HEXISTS,
HLEN, HSTRLEN, HKEYS, HVALS, HINCRBY, HINCRBYFLOAT, HRANDFIELD, HSCAN.

Written and checked against redis-server 7.0.15; every expected reply below
is what it answered. Field order is never asserted (Redis does not guarantee
it): replies are compared as dicts, sets or sorted lists.
"""

from __future__ import annotations

import pytest

from helpers import raises_error

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


@pytest.fixture
def rc(raw, protocol, flushed):
    """Raw connection speaking the test's protocol, on a flushed server: it
    shows the exact reply types (RESP3 map / set / null) and bulk strings."""
    c = raw()
    if protocol == 3:
        assert isinstance(c.cmd("HELLO", "3"), dict)
    return c


def arity(cmd):
    return f"ERR wrong number of arguments for '{cmd}' command"


# --------------------------------------------------------------------------
# HSET / HSETNX / HMSET / HGET / HMGET / HGETALL
# --------------------------------------------------------------------------

def test_hset_counts_new_fields(r):
    assert r.hset("h", mapping={"a": "1", "b": "2"}) == 2
    # one field updated, one new: only the new one counts
    assert r.hset("h", mapping={"a": "3", "c": "4"}) == 1
    assert r.hset("h", "a", "3") == 0  # same value again
    assert r.hgetall("h") == {"a": "3", "b": "2", "c": "4"}


def test_hset_same_field_twice_in_one_call(r):
    assert r.execute_command("HSET", "h", "f", "1", "f", "2") == 1
    assert r.hgetall("h") == {"f": "2"}
    assert r.hlen("h") == 1


def test_hset_arity(r):
    for args in (["h"], ["h", "a"], ["h", "a", "1", "b"]):
        with raises_error(arity("hset")):
            r.execute_command("HSET", *args)
    with raises_error(arity("hset")):
        r.execute_command("HSET")
    assert r.exists("h") == 0


def test_hsetnx(r):
    assert r.hsetnx("h", "a", "1") == 1
    assert r.hsetnx("h", "a", "2") == 0
    assert r.hget("h", "a") == "1"
    assert r.hsetnx("h", "b", "2") == 1
    assert r.hgetall("h") == {"a": "1", "b": "2"}
    with raises_error(arity("hsetnx")):
        r.execute_command("HSETNX", "h", "a")


def test_hmset(r):
    assert r.execute_command("HMSET", "h", "a", "1", "b", "2") in (True, "OK")
    assert r.execute_command("HMSET", "h", "a", "9") in (True, "OK")
    assert r.hgetall("h") == {"a": "9", "b": "2"}
    with raises_error(arity("hmset")):
        r.execute_command("HMSET", "h", "x")
    with raises_error(arity("hmset")):
        r.execute_command("HMSET", "h", "x", "1", "y")


def test_hmset_raw_is_ok_status(rc):
    rc.send(rc.encode("HMSET", "h", "a", "1"))
    assert rc.read_line() == b"+OK"


def test_hget(r):
    r.hset("h", mapping={"a": "1", "empty": ""})
    assert r.hget("h", "a") == "1"
    assert r.hget("h", "empty") == ""
    assert r.hget("h", "missing") is None
    assert r.hget("nokey", "a") is None
    with raises_error(arity("hget")):
        r.execute_command("HGET", "h")


def test_hmget(r):
    r.hset("h", mapping={"a": "1", "c": "3"})
    assert r.hmget("h", ["a", "nope", "c", "a"]) == ["1", None, "3", "1"]
    assert r.hmget("nokey", ["a", "b"]) == [None, None]
    with raises_error(arity("hmget")):
        r.execute_command("HMGET", "h")


def test_hmget_raw_nulls(rc, protocol):
    rc.cmd("HSET", "h", "a", "1")
    rc.send(rc.encode("HMGET", "h", "a", "b"))
    null = b"$-1" if protocol == 2 else b"_"
    assert rc.read_line() == b"*2"
    assert rc.read_line() == b"$1"
    assert rc.read_line() == b"1"
    assert rc.read_line() == null


def test_hgetall(r):
    r.hset("h", mapping={f"f{i}": f"v{i}" for i in range(50)})
    assert r.hgetall("h") == {f"f{i}": f"v{i}" for i in range(50)}
    assert r.hgetall("nokey") == {}
    with raises_error(arity("hgetall")):
        r.execute_command("HGETALL")


def test_hgetall_reply_is_map_in_resp3(rc, protocol):
    rc.cmd("HSET", "h", "a", "1", "b", "2")
    got = rc.cmd("HGETALL", "h")
    missing = rc.cmd("HGETALL", "nokey")
    if protocol == 3:
        assert got == {"a": b"1", "b": b"2"}
        assert missing == {}
    else:
        assert isinstance(got, list)
        assert dict(zip(got[::2], got[1::2])) == {b"a": b"1", b"b": b"2"}
        assert missing == []
    rc.send(rc.encode("HGETALL", "nokey"))
    assert rc.read_line() == (b"%0" if protocol == 3 else b"*0")


def test_binary_fields_and_values(rb):
    fields = {b"\x00": b"\xff\x00", b"": b"", b"k\r\nv": b"\r\n", b"\xff" * 3: b"x" * 1000}
    assert rb.hset("h", mapping=fields) == 4
    assert rb.hgetall("h") == fields
    assert rb.hget("h", b"") == b""
    assert rb.hstrlen("h", b"\xff\xff\xff") == 1000
    assert rb.hexists("h", b"\x00") is True
    assert sorted(rb.hkeys("h")) == sorted(fields)
    assert sorted(rb.hvals("h")) == sorted(fields.values())


# --------------------------------------------------------------------------
# HDEL / HEXISTS / HLEN / HSTRLEN / HKEYS / HVALS
# --------------------------------------------------------------------------

def test_hdel(r):
    r.hset("h", mapping={"a": "1", "b": "2", "c": "3"})
    assert r.hdel("h", "a", "nope") == 1
    assert r.hdel("h", "a") == 0
    assert r.hdel("h", "b", "b") == 1  # the same field twice counts once
    assert r.hgetall("h") == {"c": "3"}
    assert r.hdel("nokey", "a") == 0
    with raises_error(arity("hdel")):
        r.execute_command("HDEL", "h")


def test_hdel_last_field_removes_key(r):
    r.hset("h", mapping={"a": "1", "b": "2"})
    assert r.hdel("h", "a", "b") == 2
    assert r.exists("h") == 0
    assert r.type("h") == "none"
    assert r.hlen("h") == 0
    # the key is really gone: it can now hold another type
    assert r.set("h", "s") is True
    assert r.get("h") == "s"


def test_hdel_last_field_of_big_hash_removes_key(r):
    r.hset("h", mapping={f"f{i}": i for i in range(600)})
    assert r.hdel("h", *[f"f{i}" for i in range(600)]) == 600
    assert r.exists("h") == 0


def test_hexists(r):
    r.hset("h", "a", "1")
    assert r.hexists("h", "a") is True
    assert r.hexists("h", "b") is False
    assert r.hexists("nokey", "a") is False
    with raises_error(arity("hexists")):
        r.execute_command("HEXISTS", "h")


def test_hlen(r):
    assert r.hlen("nokey") == 0
    r.hset("h", mapping={str(i): i for i in range(10)})
    assert r.hlen("h") == 10
    with raises_error(arity("hlen")):
        r.execute_command("HLEN", "h", "x")


def test_hstrlen(r):
    r.hset("h", mapping={"s": "hello", "n": 12345, "neg": -7, "e": ""})
    assert r.hstrlen("h", "s") == 5
    assert r.hstrlen("h", "n") == 5  # integers count their decimal digits
    assert r.hstrlen("h", "neg") == 2
    assert r.hstrlen("h", "e") == 0
    assert r.hstrlen("h", "missing") == 0
    assert r.hstrlen("nokey", "s") == 0
    with raises_error(arity("hstrlen")):
        r.execute_command("HSTRLEN", "h")
    with raises_error(arity("hstrlen")):
        r.execute_command("HSTRLEN", "h", "a", "b")


def test_hkeys_hvals(r):
    data = {"a": "1", "b": "2", "c": "2"}
    r.hset("h", mapping=data)
    assert sorted(r.hkeys("h")) == ["a", "b", "c"]
    assert sorted(r.hvals("h")) == ["1", "2", "2"]
    assert r.hkeys("nokey") == []
    assert r.hvals("nokey") == []
    with raises_error(arity("hkeys")):
        r.execute_command("HKEYS", "h", "x")
    with raises_error(arity("hvals")):
        r.execute_command("HVALS")


def test_hkeys_hvals_order_matches(r):
    # HKEYS and HVALS walk the same hash: the i-th value belongs to the i-th key
    data = {f"f{i}": f"v{i}" for i in range(300)}
    r.hset("h", mapping=data)
    keys, vals = r.hkeys("h"), r.hvals("h")
    assert dict(zip(keys, vals)) == data


# --------------------------------------------------------------------------
# HINCRBY
# --------------------------------------------------------------------------

def test_hincrby(r):
    assert r.hincrby("h", "n", 5) == 5  # missing key and field start at 0
    assert r.hincrby("h", "n", -7) == -2
    assert r.hincrby("h", "n", 0) == -2
    assert r.hget("h", "n") == "-2"
    r.hset("h", "m", "10")
    assert r.hincrby("h", "m", 9223372036854775797) == 9223372036854775807
    assert r.hget("h", "m") == "9223372036854775807"


def test_hincrby_overflow(r):
    r.hset("h", mapping={"max": "9223372036854775807", "min": "-9223372036854775808"})
    with raises_error("ERR increment or decrement would overflow"):
        r.hincrby("h", "max", 1)
    with raises_error("ERR increment or decrement would overflow"):
        r.hincrby("h", "min", -1)
    assert r.hincrby("h", "z", -9223372036854775808) == -9223372036854775808
    with raises_error("ERR increment or decrement would overflow"):
        r.hincrby("h", "z", -1)
    assert r.hget("h", "max") == "9223372036854775807"
    assert r.hget("h", "z") == "-9223372036854775808"


@pytest.mark.parametrize("value", ["abc", " 1", "1 ", "1.5", "", "99999999999999999999", "0x10"])
def test_hincrby_hash_value_not_integer(r, value):
    r.hset("h", "f", value)
    with raises_error("ERR hash value is not an integer"):
        r.hincrby("h", "f", 1)
    assert r.hget("h", "f") == value


@pytest.mark.parametrize("incr", ["notint", "1.5", "", "99999999999999999999", " 1"])
def test_hincrby_increment_not_integer(r, incr):
    r.hset("h", "f", "1")
    with raises_error("ERR value is not an integer or out of range"):
        r.execute_command("HINCRBY", "h", "f", incr)
    with raises_error("ERR value is not an integer or out of range"):
        r.execute_command("HINCRBY", "new", "f", incr)
    assert r.exists("new") == 0


def test_hincrby_arity(r):
    with raises_error(arity("hincrby")):
        r.execute_command("HINCRBY", "h", "f")


# --------------------------------------------------------------------------
# HINCRBYFLOAT (Redis computes in long double; replies are bulk strings)
# --------------------------------------------------------------------------

def hincrbyfloat(rc, key, field, incr):
    return rc.cmd("HINCRBYFLOAT", key, field, incr)


def test_hincrbyfloat_formatting(rc):
    assert hincrbyfloat(rc, "h", "f", "1.5") == b"1.5"
    assert hincrbyfloat(rc, "h", "f", "0.1") == b"1.6"
    assert rc.cmd("HGET", "h", "f") == b"1.6"
    assert hincrbyfloat(rc, "h", "g", "10.50") == b"10.5"
    assert hincrbyfloat(rc, "h", "g", "-10.5") == b"0"
    assert hincrbyfloat(rc, "h", "k", "5.0e3") == b"5000"
    assert hincrbyfloat(rc, "h", "t", "1.23456789012345678") == b"1.23456789012345678"
    assert hincrbyfloat(rc, "h", "x", "0x10") == b"16"
    # long double arithmetic shows in the digits Redis prints
    assert hincrbyfloat(rc, "h", "f", "3.0e3") == b"3001.60000000000000009"


def test_hincrbyfloat_on_integer_and_exponent_values(rc):
    rc.cmd("HSET", "h", "i", "9223372036854775800", "e", "1e2", "n", "-3")
    assert hincrbyfloat(rc, "h", "i", "1") == b"9223372036854775801"
    assert hincrbyfloat(rc, "h", "e", "1") == b"101"
    assert hincrbyfloat(rc, "h", "n", "0.5") == b"-2.5"
    # the stored value is the formatted result
    assert rc.cmd("HGET", "h", "e") == b"101"


def test_hincrbyfloat_beyond_double_range(rc):
    # 2e308 overflows a double but not Redis's long double
    once = hincrbyfloat(rc, "h", "u", "1e308")
    twice = hincrbyfloat(rc, "h", "u", "1e308")
    assert once == (b"99999999999999999996685879655845645660560099847415567207797047"
                    b"994921734868838061872100126921888539320446747225054013223152134"
                    b"749593960583597420814430196418767959100019603190778663109604507"
                    b"106667939153395788938914560543563061268364901618630217086589253"
                    b"444881623791300855757318142424510452728255046343928578048")
    assert twice.startswith(b"19999999999999999999337175931169129132112019969483113441559")
    assert len(twice) == 309


def test_hincrbyfloat_redis_py(r):
    assert r.hincrbyfloat("h", "f", 2.5) == 2.5
    assert r.hincrbyfloat("h", "f", -0.5) == 2.0
    assert r.hget("h", "f") == "2"


@pytest.mark.parametrize("incr, error", [
    ("abc", "ERR value is not a valid float"),
    ("nan", "ERR value is not a valid float"),
    ("", "ERR value is not a valid float"),
    (" 1", "ERR value is not a valid float"),
    ("1 ", "ERR value is not a valid float"),
    ("inf", "ERR value is NaN or Infinity"),
    ("-inf", "ERR value is NaN or Infinity"),
])
def test_hincrbyfloat_bad_increment(r, incr, error):
    r.hset("h", "f", "1")
    with raises_error(error):
        r.execute_command("HINCRBYFLOAT", "h", "f", incr)
    with raises_error(error):
        r.execute_command("HINCRBYFLOAT", "new", "f", incr)
    assert r.hget("h", "f") == "1"
    assert r.exists("new") == 0


@pytest.mark.parametrize("value", ["abc", "nan", "", " 1", "1.5x"])
def test_hincrbyfloat_hash_value_not_float(r, value):
    r.hset("h", "f", value)
    with raises_error("ERR hash value is not a float"):
        r.execute_command("HINCRBYFLOAT", "h", "f", "1")
    assert r.hget("h", "f") == value


def test_hincrbyfloat_result_nan_or_infinity(r):
    r.hset("h", "inf", "inf")
    with raises_error("ERR increment would produce NaN or Infinity"):
        r.execute_command("HINCRBYFLOAT", "h", "inf", "1")
    assert r.hget("h", "inf") == "inf"


def test_hincrbyfloat_arity(r):
    with raises_error(arity("hincrbyfloat")):
        r.execute_command("HINCRBYFLOAT", "h", "f")


# --------------------------------------------------------------------------
# HRANDFIELD
# --------------------------------------------------------------------------

SMALL = {"a": "1", "b": "2", "c": "3", "d": "4", "e": "5"}
BIG = {f"f{i}": f"v{i}" for i in range(1000)}


def pairs(reply, protocol):
    """HRANDFIELD ... WITHVALUES as a list of (field, value): RESP2 sends a
    flat array, RESP3 an array of 2-element arrays."""
    if protocol == 3:
        assert all(isinstance(p, list) and len(p) == 2 for p in reply), reply
        return [tuple(p) for p in reply]
    assert len(reply) % 2 == 0
    return list(zip(reply[::2], reply[1::2]))


def test_hrandfield_no_count(r):
    r.hset("h", mapping=SMALL)
    for _ in range(20):
        assert r.hrandfield("h") in SMALL
    assert r.hrandfield("nokey") is None


@pytest.mark.parametrize("data", [SMALL, BIG], ids=["small", "big"])
def test_hrandfield_positive_count_distinct(r, data):
    r.hset("h", mapping=data)
    for count in (1, 3, len(data) - 1, len(data)):
        got = r.hrandfield("h", count)
        assert len(got) == count
        assert len(set(got)) == count
        assert set(got) <= set(data)
    # more than the hash holds: every field exactly once
    got = r.hrandfield("h", len(data) + 10)
    assert sorted(got) == sorted(data)


@pytest.mark.parametrize("data", [SMALL, BIG], ids=["small", "big"])
def test_hrandfield_positive_count_withvalues(r, protocol, data):
    r.hset("h", mapping=data)
    got = pairs(r.hrandfield("h", 3, withvalues=True), protocol)
    assert len(got) == 3 and len({f for f, _ in got}) == 3
    assert all(data[f] == v for f, v in got)
    got = pairs(r.hrandfield("h", len(data) * 2, withvalues=True), protocol)
    assert dict(got) == data and len(got) == len(data)


@pytest.mark.parametrize("data", [SMALL, BIG], ids=["small", "big"])
def test_hrandfield_negative_count_may_repeat(r, protocol, data):
    r.hset("h", mapping=data)
    got = r.hrandfield("h", -(len(data) * 3))
    assert len(got) == len(data) * 3
    assert set(got) <= set(data)
    got = pairs(r.hrandfield("h", -50, withvalues=True), protocol)
    assert len(got) == 50
    assert all(data[f] == v for f, v in got)


def test_hrandfield_negative_count_single_field_repeats(r, protocol):
    r.hset("h", "a", "1")
    assert r.hrandfield("h", -3) == ["a", "a", "a"]
    assert pairs(r.hrandfield("h", -3, withvalues=True), protocol) == [("a", "1")] * 3
    assert r.hrandfield("h", 5) == ["a"]


def test_hrandfield_count_zero_and_missing_key(r):
    r.hset("h", mapping=SMALL)
    assert r.hrandfield("h", 0) == []
    assert r.hrandfield("h", 0, withvalues=True) == []
    assert r.hrandfield("nokey", 5) == []
    assert r.hrandfield("nokey", -5, withvalues=True) == []
    assert r.hrandfield("nokey", 0) == []


def test_hrandfield_reply_shapes_raw(rc, protocol):
    rc.cmd("HSET", "h", "a", "1")
    assert rc.cmd("HRANDFIELD", "h") == b"a"
    assert rc.cmd("HRANDFIELD", "h", "1") == [b"a"]
    with_values = rc.cmd("HRANDFIELD", "h", "-2", "WITHVALUES")
    if protocol == 3:
        assert with_values == [[b"a", b"1"], [b"a", b"1"]]
    else:
        assert with_values == [b"a", b"1", b"a", b"1"]
    assert rc.cmd("HRANDFIELD", "h", "0", "WITHVALUES") == []
    assert rc.cmd("HRANDFIELD", "nokey", "2", "WITHVALUES") == []
    rc.send(rc.encode("HRANDFIELD", "nokey"))
    assert rc.read_line() == (b"_" if protocol == 3 else b"$-1")


def test_hrandfield_errors(r):
    r.hset("h", "a", "1")
    with raises_error("ERR value is not an integer or out of range"):
        r.execute_command("HRANDFIELD", "h", "abc")
    with raises_error("ERR syntax error"):
        r.execute_command("HRANDFIELD", "h", "1", "WITHVALUE")
    with raises_error("ERR syntax error"):
        r.execute_command("HRANDFIELD", "h", "1", "WITHVALUES", "extra")
    with raises_error("ERR value is out of range, value must between "
                      "-9223372036854775807 and 9223372036854775807"):
        r.execute_command("HRANDFIELD", "h", "-9223372036854775808")
    # count * 2 replies would overflow
    with raises_error("ERR value is out of range"):
        r.execute_command("HRANDFIELD", "h", "-9223372036854775807", "WITHVALUES")
    with raises_error(arity("hrandfield")):
        r.execute_command("HRANDFIELD")


# --------------------------------------------------------------------------
# HSCAN
# --------------------------------------------------------------------------

def full_hscan(r, key, **kwargs):
    """Iterate HSCAN to the end (bounded); return the list of (field, value)
    pairs in the order received, duplicates kept."""
    cursor, seen = 0, []
    for _ in range(10_000):
        cursor, page = r.hscan(key, cursor, **kwargs)
        seen.extend(page.items())
        if cursor == 0:
            return seen
    raise AssertionError("HSCAN did not finish within 10,000 calls")


def test_hscan_small_hash_one_call(r):
    r.hset("h", mapping=SMALL)
    # a compact (listpack) hash comes back whole in one call whatever COUNT says
    assert r.hscan("h", 0, count=1) == (0, SMALL)
    assert r.hscan("h", 0) == (0, SMALL)
    assert sorted(full_hscan(r, "h", count=2)) == sorted(SMALL.items())


def test_hscan_big_hash_every_field_exactly_once(r):
    r.hset("h", mapping=BIG)
    seen = full_hscan(r, "h", count=10)
    fields = [f for f, _ in seen]
    assert len(fields) == len(BIG), "a field came back twice or not at all"
    assert dict(seen) == BIG


def test_hscan_big_hash_takes_several_calls(r):
    r.hset("h", mapping=BIG)
    cursor, page = r.hscan("h", 0, count=10)
    assert cursor != 0
    assert 0 < len(page) < len(BIG)


def test_hscan_match(r):
    r.hset("h", mapping={"a": "1", "b": "2", "c": "3", "ab": "4"})
    assert r.hscan("h", 0, match="a*") == (0, {"a": "1", "ab": "4"})
    assert r.hscan("h", 0, match="*b") == (0, {"b": "2", "ab": "4"})
    assert r.hscan("h", 0, match="zz*") == (0, {})
    # the last MATCH wins
    assert r.execute_command("HSCAN", "h", "0", "MATCH", "a*", "COUNT", "1",
                             "MATCH", "*b") == (0, {"b": "2", "ab": "4"})


def test_hscan_match_count_big_hash(r):
    r.hset("h", mapping=BIG)
    seen = full_hscan(r, "h", match="f1*", count=50)
    expected = {f: v for f, v in BIG.items() if f.startswith("f1")}
    assert len(seen) == len(expected) == 111
    assert dict(seen) == expected


def test_hscan_missing_key(r):
    assert r.hscan("nokey", 0) == (0, {})
    assert r.hscan("nokey", 5) == (0, {})


def test_hscan_raw_reply(rc):
    rc.cmd("HSET", "h", "a", "1")
    # [cursor as a bulk string, flat field/value array] in both protocols
    assert rc.cmd("HSCAN", "h", "0") == [b"0", [b"a", b"1"]]
    assert rc.cmd("HSCAN", "nokey", "0") == [b"0", []]


def test_hscan_errors(r):
    r.hset("h", "a", "1")
    with raises_error("ERR invalid cursor"):
        r.execute_command("HSCAN", "h", "abc")
    with raises_error("ERR invalid cursor"):
        r.execute_command("HSCAN", "h", "18446744073709551616")
    for args in (["COUNT", "0"], ["COUNT", "-1"], ["MATCH"], ["NOVALUES"], ["TYPE", "string"]):
        with raises_error("ERR syntax error"):
            r.execute_command("HSCAN", "h", "0", *args)
    with raises_error("ERR value is not an integer or out of range"):
        r.execute_command("HSCAN", "h", "0", "COUNT", "abc")
    with raises_error(arity("hscan")):
        r.execute_command("HSCAN", "h")


# --------------------------------------------------------------------------
# WRONGTYPE both ways
# --------------------------------------------------------------------------

HASH_COMMANDS_ON_STRING = [
    ["HSET", "str", "f", "v"], ["HSETNX", "str", "f", "v"], ["HMSET", "str", "f", "v"],
    ["HGET", "str", "f"], ["HMGET", "str", "f"], ["HGETALL", "str"], ["HDEL", "str", "f"],
    ["HEXISTS", "str", "f"], ["HLEN", "str"], ["HSTRLEN", "str", "f"], ["HKEYS", "str"],
    ["HVALS", "str"], ["HINCRBY", "str", "f", "1"], ["HINCRBYFLOAT", "str", "f", "1"],
    ["HRANDFIELD", "str"], ["HRANDFIELD", "str", "2"], ["HRANDFIELD", "str", "0"],
    ["HRANDFIELD", "str", "-2", "WITHVALUES"], ["HSCAN", "str", "0"],
]


@pytest.mark.parametrize("cmd", HASH_COMMANDS_ON_STRING, ids=lambda c: " ".join(c))
def test_hash_command_on_string_is_wrongtype(r, cmd):
    r.set("str", "x")
    with raises_error(WRONGTYPE):
        r.execute_command(*cmd)
    assert r.get("str") == "x"


def test_hash_commands_on_a_set_are_wrongtype(r):
    r.sadd("s", "a")
    for cmd in (["HGET", "s", "a"], ["HSET", "s", "a", "1"], ["HLEN", "s"], ["HGETALL", "s"]):
        with raises_error(WRONGTYPE):
            r.execute_command(*cmd)
    assert r.smembers("s") == {"a"}


STRING_COMMANDS_ON_HASH = [
    ["GET", "h"], ["APPEND", "h", "x"], ["INCR", "h"], ["DECR", "h"], ["INCRBY", "h", "2"],
    ["INCRBYFLOAT", "h", "1"], ["STRLEN", "h"], ["GETRANGE", "h", "0", "1"],
    ["SETRANGE", "h", "0", "x"], ["GETDEL", "h"], ["GETEX", "h"], ["GETSET", "h", "v"],
    ["SET", "h", "v", "GET"], ["SUBSTR", "h", "0", "1"],
]


@pytest.mark.parametrize("cmd", STRING_COMMANDS_ON_HASH, ids=lambda c: " ".join(c))
def test_string_command_on_hash_is_wrongtype(r, cmd):
    r.hset("h", "f", "v")
    with raises_error(WRONGTYPE):
        r.execute_command(*cmd)
    assert r.hgetall("h") == {"f": "v"}


def test_string_commands_that_do_not_check_type(r):
    r.hset("h", "f", "v")
    r.set("str", "x")
    # MGET answers nil for a key of another type
    assert r.mget("h", "str", "missing") == [None, "x", None]
    # SETNX / MSETNX see an existing key
    assert r.setnx("h", "1") is False
    assert r.msetnx({"h": "1", "new": "2"}) is False
    assert r.exists("new") == 0
    assert r.type("h") == "hash"
    # a plain SET replaces the hash with a string
    assert r.set("h", "now-a-string") is True
    assert r.type("h") == "string"
    assert r.get("h") == "now-a-string"

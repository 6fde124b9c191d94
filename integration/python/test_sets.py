"""Set commands: SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SPOP,
SRANDMEMBER, SMOVE, SINTER, SINTERCARD, SINTERSTORE, SUNION, SUNIONSTORE,
SDIFF, SDIFFSTORE, SSCAN.

Written and checked against redis-server 7.0.15; every expected reply below
is what it answered. Member order is never asserted (Redis does not
guarantee it): replies are compared as sets or sorted lists.
"""

from __future__ import annotations

import pytest

from helpers import raises_error

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
SPOP_RANGE = "ERR value is out of range, must be positive"


def arity(cmd):
    return f"ERR wrong number of arguments for '{cmd}' command"


# --------------------------------------------------------------------------
# SADD / SREM / SMEMBERS / SISMEMBER / SMISMEMBER / SCARD
# --------------------------------------------------------------------------

def test_sadd_counts_new_members(r):
    assert r.sadd("s", "a", "b", "c", "a") == 3
    assert r.sadd("s", "a") == 0
    assert r.sadd("s", "a", "d") == 1
    assert r.smembers("s") == {"a", "b", "c", "d"}
    assert r.scard("s") == 4
    with raises_error(arity("sadd")):
        r.execute_command("SADD", "s")


def test_sadd_integers_and_strings(r):
    assert r.sadd("s", 1, 2, "3", -5, "x") == 5
    assert r.smembers("s") == {"1", "2", "3", "-5", "x"}
    # "01" and "1" are different members
    assert r.sadd("s", "01", "+1", " 1") == 3
    assert r.scard("s") == 8


def test_srem(r):
    r.sadd("s", "a", "b", "c")
    assert r.srem("s", "a", "z") == 1
    assert r.srem("s", "a") == 0
    assert r.srem("s", "b", "b") == 1
    assert r.smembers("s") == {"c"}
    assert r.srem("nokey", "a") == 0
    with raises_error(arity("srem")):
        r.execute_command("SREM", "s")


def test_srem_last_member_removes_key(r):
    r.sadd("s", "a", 1)
    assert r.srem("s", "a", "1") == 2
    assert r.exists("s") == 0
    assert r.type("s") == "none"
    assert r.set("s", "x") is True


def test_smembers(r):
    r.sadd("s", *range(100))
    assert r.smembers("s") == {str(i) for i in range(100)}
    assert r.smembers("nokey") == set()
    with raises_error(arity("smembers")):
        r.execute_command("SMEMBERS", "s", "x")


def test_smembers_reply_is_set_in_resp3(rc, protocol):
    rc.cmd("SADD", "s", "a", "b", "c")
    rc.send(rc.encode("SMEMBERS", "s"))
    assert rc.read_line() == (b"~3" if protocol == 3 else b"*3")
    assert sorted(rc.read_reply() for _ in range(3)) == [b"a", b"b", b"c"]
    rc.send(rc.encode("SMEMBERS", "nokey"))
    assert rc.read_line() == (b"~0" if protocol == 3 else b"*0")


def test_sismember(r):
    r.sadd("s", "a", 1)
    assert r.sismember("s", "a") == 1
    assert r.sismember("s", "1") == 1
    assert r.sismember("s", "z") == 0
    assert r.sismember("nokey", "a") == 0
    with raises_error(arity("sismember")):
        r.execute_command("SISMEMBER", "s")


def test_smismember(r):
    r.sadd("s", "a", "b")
    assert r.smismember("s", ["a", "z", "b", "a"]) == [1, 0, 1, 1]
    assert r.smismember("nokey", ["a"]) == [0]
    with raises_error(arity("smismember")):
        r.execute_command("SMISMEMBER", "s")


def test_smismember_raw_is_integer_array(rc):
    rc.cmd("SADD", "s", "a")
    assert rc.cmd("SMISMEMBER", "s", "a", "z") == [1, 0]
    assert rc.cmd("SISMEMBER", "s", "a") == 1


def test_scard(r):
    assert r.scard("nokey") == 0
    r.sadd("s", *range(600))
    assert r.scard("s") == 600
    with raises_error(arity("scard")):
        r.execute_command("SCARD", "s", "x")


def test_binary_members(rb):
    members = {b"\x00", b"", b"\xff\xfe", b"a\r\nb", b"x" * 1000}
    assert rb.sadd("s", *members) == 5
    assert rb.smembers("s") == members
    assert rb.sismember("s", b"") == 1
    assert rb.srem("s", b"\x00") == 1
    assert rb.smembers("s") == members - {b"\x00"}


# --------------------------------------------------------------------------
# SPOP
# --------------------------------------------------------------------------

def test_spop_no_count(r):
    r.sadd("s", "a", "b", "c")
    popped = {r.spop("s") for _ in range(3)}
    assert popped == {"a", "b", "c"}
    assert r.exists("s") == 0
    assert r.spop("s") is None
    assert r.spop("nokey") is None


@pytest.mark.parametrize("size", [5, 600], ids=["small", "big"])
def test_spop_count(r, size):
    members = {str(i) for i in range(size)} | {"x"}
    r.sadd("s", *members)
    got = r.spop("s", 3)
    assert len(got) == 3 and len(set(got)) == 3
    assert set(got) <= members
    assert r.smembers("s") == members - set(got)
    assert r.scard("s") == len(members) - 3
    # popping most of the set takes a different path in Redis
    many = r.spop("s", len(members) - 4)
    assert len(set(many)) == len(members) - 4
    assert r.scard("s") == 1
    assert set(got) | set(many) | r.smembers("s") == members


def test_spop_count_larger_than_set_deletes_key(r):
    r.sadd("s", "a", "b")
    assert sorted(r.spop("s", 10)) == ["a", "b"]
    assert r.exists("s") == 0
    r.sadd("s", "a")
    assert r.spop("s", 1) == ["a"]
    assert r.exists("s") == 0


def test_spop_count_zero_and_missing(r):
    r.sadd("s", "a", "b")
    assert r.spop("s", 0) == []
    assert r.scard("s") == 2
    assert r.spop("nokey", 0) == []
    assert r.spop("nokey", 3) == []


def test_spop_errors(r):
    r.sadd("s", "a")
    for bad in ("-1", "abc", "1.5", "-9223372036854775808"):
        with raises_error(SPOP_RANGE):
            r.execute_command("SPOP", "s", bad)
    with raises_error("ERR syntax error"):
        r.execute_command("SPOP", "s", "1", "2")
    with raises_error(arity("spop")):
        r.execute_command("SPOP")
    assert r.smembers("s") == {"a"}


def test_spop_reply_shapes_raw(rc, protocol):
    rc.cmd("SADD", "s", "a", "b", "c")
    # with a count SPOP answers a set in RESP3 (SRANDMEMBER answers an array)
    rc.send(rc.encode("SPOP", "s", "1"))
    assert rc.read_line() == (b"~1" if protocol == 3 else b"*1")
    assert rc.read_reply() in (b"a", b"b", b"c")
    rc.send(rc.encode("SPOP", "s", "0"))
    assert rc.read_line() == (b"~0" if protocol == 3 else b"*0")
    rc.send(rc.encode("SPOP", "nokey", "2"))
    assert rc.read_line() == (b"~0" if protocol == 3 else b"*0")
    rc.send(rc.encode("SPOP", "nokey"))
    assert rc.read_line() == (b"_" if protocol == 3 else b"$-1")
    rest = rc.cmd("SPOP", "s", "100")  # more than the set holds: the 2 left
    assert isinstance(rest, set if protocol == 3 else list) and len(rest) == 2
    assert rc.cmd("EXISTS", "s") == 0


# --------------------------------------------------------------------------
# SRANDMEMBER
# --------------------------------------------------------------------------

@pytest.mark.parametrize("size", [5, 600], ids=["small", "big"])
def test_srandmember_positive_count(r, size):
    members = {str(i) for i in range(size)}
    r.sadd("s", *members)
    for count in (1, 3, size - 1, size):
        got = r.srandmember("s", count)
        assert len(got) == count and len(set(got)) == count
        assert set(got) <= members
    assert sorted(r.srandmember("s", size + 10)) == sorted(members)
    assert r.scard("s") == size  # nothing removed


@pytest.mark.parametrize("size", [5, 600], ids=["small", "big"])
def test_srandmember_negative_count_may_repeat(r, size):
    members = {str(i) for i in range(size)} | {"x"}
    r.sadd("s", *members)
    got = r.srandmember("s", -(size * 2))
    assert len(got) == size * 2
    assert set(got) <= members


def test_srandmember_single_member_repeats(r):
    r.sadd("s", "a")
    assert r.srandmember("s", -3) == ["a", "a", "a"]
    assert r.srandmember("s", 3) == ["a"]
    assert r.srandmember("s") == "a"


def test_srandmember_zero_missing_and_errors(r):
    r.sadd("s", "a", "b")
    assert r.srandmember("s", 0) == []
    assert r.srandmember("nokey") is None
    assert r.srandmember("nokey", 3) == []
    assert r.srandmember("nokey", -3) == []
    for bad in ("abc", "1.5"):
        with raises_error("ERR value is not an integer or out of range"):
            r.execute_command("SRANDMEMBER", "s", bad)
    with raises_error("ERR value is out of range, value must between "
                      "-9223372036854775807 and 9223372036854775807"):
        r.execute_command("SRANDMEMBER", "s", "-9223372036854775808")
    with raises_error("ERR syntax error"):
        r.execute_command("SRANDMEMBER", "s", "1", "2")
    with raises_error(arity("srandmember")):
        r.execute_command("SRANDMEMBER")


def test_srandmember_reply_shapes_raw(rc, protocol):
    rc.cmd("SADD", "s", "a")
    assert rc.cmd("SRANDMEMBER", "s") == b"a"
    rc.send(rc.encode("SRANDMEMBER", "s", "-2"))
    assert rc.read_line() == b"*2"  # an array in both protocols (may repeat)
    assert [rc.read_reply(), rc.read_reply()] == [b"a", b"a"]
    assert rc.cmd("SRANDMEMBER", "s", "2") == [b"a"]
    rc.send(rc.encode("SRANDMEMBER", "nokey"))
    assert rc.read_line() == (b"_" if protocol == 3 else b"$-1")


# --------------------------------------------------------------------------
# SMOVE
# --------------------------------------------------------------------------

def test_smove(r):
    r.sadd("src", "a", "b")
    r.sadd("dst", "x")
    assert r.smove("src", "dst", "a") is True
    assert r.smembers("src") == {"b"}
    assert r.smembers("dst") == {"x", "a"}
    assert r.smove("src", "dst", "zz") is False
    assert r.smove("nokey", "dst", "a") is False
    # moving the last member deletes the source and creates the destination
    assert r.smove("src", "new", "b") is True
    assert r.exists("src") == 0
    assert r.smembers("new") == {"b"}


def test_smove_member_already_in_destination(r):
    r.sadd("src", "a", "b")
    r.sadd("dst", "a")
    assert r.smove("src", "dst", "a") is True
    assert r.smembers("src") == {"b"}
    assert r.smembers("dst") == {"a"}


def test_smove_same_source_and_destination(r):
    r.sadd("s", "a", "b")
    assert r.smove("s", "s", "a") is True   # member present: 1, nothing changes
    assert r.smove("s", "s", "zz") is False
    assert r.smembers("s") == {"a", "b"}


def test_smove_wrong_types(r):
    r.sadd("s", "a")
    r.set("str", "x")
    with raises_error(WRONGTYPE):
        r.smove("s", "str", "a")
    with raises_error(WRONGTYPE):
        r.smove("s", "str", "not-a-member")  # the type is checked first
    with raises_error(WRONGTYPE):
        r.smove("str", "s", "a")
    assert r.smembers("s") == {"a"}
    assert r.get("str") == "x"
    # a missing source answers 0 before the destination's type is looked at
    assert r.smove("nokey", "str", "a") is False


def test_smove_arity(r):
    with raises_error(arity("smove")):
        r.execute_command("SMOVE", "a", "b")


# --------------------------------------------------------------------------
# SINTER / SINTERCARD / SINTERSTORE
# --------------------------------------------------------------------------

@pytest.fixture
def abc(r):
    r.sadd("s1", "a", "b", "c", "d")
    r.sadd("s2", "b", "c", "e")
    r.sadd("s3", "c", "b", "z")
    r.sadd("ints", 1, 2, 3, 4)
    r.sadd("ints2", 3, 4, 5, "x")
    return r


def test_sinter(abc):
    r = abc
    assert r.sinter("s1", "s2") == {"b", "c"}
    assert r.sinter("s1", "s2", "s3") == {"b", "c"}
    assert r.sinter("s1") == {"a", "b", "c", "d"}
    assert r.sinter("s1", "nokey") == set()
    assert r.sinter("nokey") == set()
    assert r.sinter("ints", "ints2") == {"3", "4"}
    assert r.sinter("s1", "ints") == set()
    with raises_error(arity("sinter")):
        r.execute_command("SINTER")


def test_sinter_reply_is_set_in_resp3(rc, protocol):
    rc.cmd("SADD", "s", "a", "b")
    for cmd in (["SINTER", "s", "s"], ["SUNION", "s", "nokey"], ["SDIFF", "s", "nokey"]):
        rc.send(rc.encode(*cmd))
        assert rc.read_line() == (b"~2" if protocol == 3 else b"*2"), cmd
        assert sorted([rc.read_reply(), rc.read_reply()]) == [b"a", b"b"]
    for cmd in (["SINTER", "s", "nokey"], ["SDIFF", "nokey", "s"], ["SUNION", "nokey"]):
        rc.send(rc.encode(*cmd))
        assert rc.read_line() == (b"~0" if protocol == 3 else b"*0"), cmd


def test_sintercard(abc):
    r = abc
    assert r.sintercard(2, ["s1", "s2"]) == 2
    assert r.sintercard(3, ["s1", "s2", "s3"]) == 2
    assert r.sintercard(1, ["s1"]) == 4
    assert r.sintercard(2, ["s1", "nokey"]) == 0
    assert r.sintercard(1, ["nokey"]) == 0
    assert r.sintercard(2, ["s1", "s2"], limit=1) == 1
    assert r.sintercard(2, ["s1", "s2"], limit=0) == 2  # 0 means no limit
    assert r.sintercard(2, ["s1", "s2"], limit=10) == 2
    assert r.sintercard(2, ["ints", "ints2"]) == 2
    # the last LIMIT wins
    assert r.execute_command("SINTERCARD", "1", "s1", "LIMIT", "2", "LIMIT", "1") == 1


def test_sintercard_errors(abc):
    r = abc
    for numkeys in ("0", "-1", "abc"):
        with raises_error("ERR numkeys should be greater than 0"):
            r.execute_command("SINTERCARD", numkeys, "s1")
    for numkeys in ("2", "9223372036854775807", "2147483648"):
        with raises_error("ERR Number of keys can't be greater than number of args"):
            r.execute_command("SINTERCARD", numkeys, "s1")
    for limit in ("-1", "abc"):
        with raises_error("ERR LIMIT can't be negative"):
            r.execute_command("SINTERCARD", "1", "s1", "LIMIT", limit)
    with raises_error("ERR syntax error"):
        r.execute_command("SINTERCARD", "1", "s1", "LIMIT")
    with raises_error("ERR syntax error"):
        r.execute_command("SINTERCARD", "1", "s1", "FOO", "1")
    with raises_error("ERR syntax error"):
        r.execute_command("SINTERCARD", "1", "s1", "s2")  # extra key past numkeys
    for args in ([], ["1"]):
        with raises_error(arity("sintercard")):
            r.execute_command("SINTERCARD", *args)


def test_sinterstore(abc):
    r = abc
    assert r.sinterstore("dst", ["s1", "s2"]) == 2
    assert r.smembers("dst") == {"b", "c"}
    # overwrites, even a key of another type
    r.set("str", "x")
    assert r.sinterstore("str", ["s1", "s3"]) == 2
    assert r.type("str") == "set"
    assert r.smembers("str") == {"b", "c"}
    # the destination may be one of the sources
    assert r.sinterstore("s1", ["s1", "s2"]) == 2
    assert r.smembers("s1") == {"b", "c"}
    with raises_error(arity("sinterstore")):
        r.execute_command("SINTERSTORE", "dst")


def test_sinterstore_empty_result_deletes_destination(abc):
    r = abc
    r.set("dst", "x")
    assert r.sinterstore("dst", ["s1", "nokey"]) == 0
    assert r.exists("dst") == 0
    r.sadd("dst", "old")
    assert r.sinterstore("dst", ["s1", "ints"]) == 0
    assert r.exists("dst") == 0


# --------------------------------------------------------------------------
# SUNION / SUNIONSTORE / SDIFF / SDIFFSTORE
# --------------------------------------------------------------------------

def test_sunion(abc):
    r = abc
    assert r.sunion("s1", "s2") == {"a", "b", "c", "d", "e"}
    assert r.sunion("s1", "nokey") == {"a", "b", "c", "d"}
    assert r.sunion("nokey") == set()
    assert r.sunion("ints", "ints2") == {"1", "2", "3", "4", "5", "x"}
    with raises_error(arity("sunion")):
        r.execute_command("SUNION")


def test_sunionstore(abc):
    r = abc
    assert r.sunionstore("dst", ["s1", "s2"]) == 5
    assert r.smembers("dst") == {"a", "b", "c", "d", "e"}
    assert r.sunionstore("dst", ["dst", "s3"]) == 6
    assert r.smembers("dst") == {"a", "b", "c", "d", "e", "z"}
    r.hset("h", "f", "v")
    assert r.sunionstore("h", ["ints"]) == 4
    assert r.type("h") == "set"
    r.set("d2", "x")
    assert r.sunionstore("d2", ["nokey"]) == 0
    assert r.exists("d2") == 0
    with raises_error(arity("sunionstore")):
        r.execute_command("SUNIONSTORE", "dst")


def test_sdiff(abc):
    r = abc
    assert r.sdiff("s1", "s2") == {"a", "d"}
    assert r.sdiff("s1", "s2", "s3") == {"a", "d"}
    assert r.sdiff("s2", "s1") == {"e"}
    assert r.sdiff("s1") == {"a", "b", "c", "d"}
    assert r.sdiff("s1", "nokey") == {"a", "b", "c", "d"}
    assert r.sdiff("nokey", "s1") == set()
    assert r.sdiff("s1", "s1") == set()
    assert r.sdiff("ints", "ints2") == {"1", "2"}
    with raises_error(arity("sdiff")):
        r.execute_command("SDIFF")


def test_sdiffstore(abc):
    r = abc
    assert r.sdiffstore("dst", ["s1", "s2"]) == 2
    assert r.smembers("dst") == {"a", "d"}
    assert r.sdiffstore("s1", ["s1", "s2"]) == 2  # destination among the sources
    assert r.smembers("s1") == {"a", "d"}
    with raises_error(arity("sdiffstore")):
        r.execute_command("SDIFFSTORE", "dst")


def test_sdiffstore_empty_result_deletes_destination(abc):
    r = abc
    r.sadd("dst", "old")
    assert r.sdiffstore("dst", ["s1", "s1"]) == 0
    assert r.exists("dst") == 0
    r.set("dst", "x")
    assert r.sdiffstore("dst", ["nokey", "s1"]) == 0
    assert r.exists("dst") == 0


def test_sdiffstore_overwrites_other_type(abc):
    r = abc
    r.set("str", "x", ex=100)
    assert r.sdiffstore("str", ["s1", "s2"]) == 2
    assert r.type("str") == "set"
    assert r.smembers("str") == {"a", "d"}
    assert r.ttl("str") == -1  # the old key's TTL goes with it
    r.hset("h", "f", "v")
    assert r.sdiffstore("h", ["s2"]) == 3
    assert r.smembers("h") == {"b", "c", "e"}


def test_store_commands_raw_reply_is_integer(rc):
    rc.cmd("SADD", "s", "a")
    assert rc.cmd("SINTERSTORE", "d", "s") == 1
    assert rc.cmd("SUNIONSTORE", "d", "s", "nokey") == 1
    assert rc.cmd("SDIFFSTORE", "d", "s", "nokey") == 1
    assert rc.cmd("SINTERCARD", "1", "s") == 1


# --------------------------------------------------------------------------
# SSCAN
# --------------------------------------------------------------------------

def full_sscan(r, key, **kwargs):
    cursor, seen = 0, []
    for _ in range(10_000):
        cursor, page = r.sscan(key, cursor, **kwargs)
        seen.extend(page)
        if cursor == 0:
            return seen
    raise AssertionError("SSCAN did not finish within 10,000 calls")


def test_sscan_intset_one_call(r):
    r.sadd("s", 3, 1, 2, 10, -5)
    cursor, page = r.sscan("s", 0, count=1)
    assert cursor == 0
    assert sorted(page, key=int) == ["-5", "1", "2", "3", "10"]
    cursor, page = r.sscan("s", 0, match="1*", count=1)
    assert cursor == 0 and sorted(page) == ["1", "10"]


@pytest.mark.parametrize("members", [
    [str(i) for i in range(1000)],                       # integers: hashtable past 512
    [f"m{i}" for i in range(1000)],                      # strings
    [str(i) for i in range(50)] + ["x"],                 # small, mixed
    [f"m{i}" for i in range(20)],                        # small strings
], ids=["ints-1000", "strings-1000", "mixed-51", "strings-20"])
def test_sscan_full_iteration_every_member_once(r, members):
    r.sadd("s", *members)
    seen = full_sscan(r, "s", count=10)
    assert len(seen) == len(members), "a member came back twice or not at all"
    assert set(seen) == set(members)


def test_sscan_big_set_takes_several_calls(r):
    r.sadd("s", *[f"m{i}" for i in range(1000)])
    cursor, page = r.sscan("s", 0, count=10)
    assert cursor != 0 and 0 < len(page) < 1000


def test_sscan_match_count(r):
    r.sadd("s", *[f"m{i}" for i in range(1000)])
    seen = full_sscan(r, "s", match="m9*", count=100)
    assert sorted(seen) == sorted(f"m{i}" for i in range(1000) if str(i).startswith("9"))
    assert len(seen) == 111
    assert full_sscan(r, "s", match="nothing*") == []


def test_sscan_missing_key_and_errors(r):
    assert r.sscan("nokey", 0) == (0, [])
    r.sadd("s", "a")
    with raises_error("ERR invalid cursor"):
        r.execute_command("SSCAN", "s", "abc")
    for args in (["COUNT", "0"], ["MATCH"], ["TYPE", "set"]):
        with raises_error("ERR syntax error"):
            r.execute_command("SSCAN", "s", "0", *args)
    with raises_error("ERR value is not an integer or out of range"):
        r.execute_command("SSCAN", "s", "0", "COUNT", "x")
    with raises_error(arity("sscan")):
        r.execute_command("SSCAN", "s")


def test_sscan_raw_reply(rc):
    rc.cmd("SADD", "s", "a")
    assert rc.cmd("SSCAN", "s", "0") == [b"0", [b"a"]]
    assert rc.cmd("SSCAN", "nokey", "0") == [b"0", []]


# --------------------------------------------------------------------------
# WRONGTYPE
# --------------------------------------------------------------------------

SET_COMMANDS = [
    ["SADD", "{k}", "a"], ["SREM", "{k}", "a"], ["SMEMBERS", "{k}"], ["SISMEMBER", "{k}", "a"],
    ["SMISMEMBER", "{k}", "a"], ["SCARD", "{k}"], ["SPOP", "{k}"], ["SPOP", "{k}", "2"],
    ["SPOP", "{k}", "0"], ["SRANDMEMBER", "{k}"], ["SRANDMEMBER", "{k}", "2"],
    ["SRANDMEMBER", "{k}", "-2"], ["SMOVE", "{k}", "s", "a"], ["SMOVE", "s", "{k}", "a"],
    ["SINTER", "{k}"], ["SINTER", "s", "{k}"], ["SINTER", "nokey", "{k}"],
    ["SINTER", "{k}", "nokey"], ["SINTERCARD", "2", "nokey", "{k}"],
    ["SINTERCARD", "1", "{k}"], ["SINTERSTORE", "dst", "{k}"],
    ["SINTERSTORE", "dst", "nokey", "{k}"], ["SUNION", "s", "{k}"], ["SUNION", "nokey", "{k}"],
    ["SUNIONSTORE", "dst", "{k}"], ["SDIFF", "{k}", "s"], ["SDIFF", "s", "{k}"],
    ["SDIFF", "nokey", "{k}"], ["SDIFFSTORE", "dst", "{k}"], ["SDIFFSTORE", "dst", "nokey", "{k}"],
    ["SSCAN", "{k}", "0"],
]


@pytest.mark.parametrize("kind", ["string", "hash"])
@pytest.mark.parametrize("cmd", SET_COMMANDS, ids=lambda c: " ".join(c))
def test_set_command_on_other_type_is_wrongtype(r, cmd, kind):
    r.sadd("s", "a", "b")
    r.set("dst", "keep")
    if kind == "string":
        r.set("other", "x")
    else:
        r.hset("other", "f", "v")
    with raises_error(WRONGTYPE):
        r.execute_command(*[a.replace("{k}", "other") for a in cmd])
    assert r.type("other") == kind
    assert r.smembers("s") == {"a", "b"}
    assert r.get("dst") == "keep"  # a failed *STORE leaves its destination alone


STRING_COMMANDS_ON_SET = [
    ["GET", "s"], ["APPEND", "s", "x"], ["INCR", "s"], ["DECRBY", "s", "2"], ["STRLEN", "s"],
    ["GETRANGE", "s", "0", "1"], ["SETRANGE", "s", "0", "x"], ["GETDEL", "s"],
    ["GETEX", "s", "PERSIST"], ["GETSET", "s", "v"], ["INCRBYFLOAT", "s", "1"],
]


@pytest.mark.parametrize("cmd", STRING_COMMANDS_ON_SET, ids=lambda c: " ".join(c))
def test_string_command_on_set_is_wrongtype(r, cmd):
    r.sadd("s", "a")
    with raises_error(WRONGTYPE):
        r.execute_command(*cmd)
    assert r.smembers("s") == {"a"}


def test_mget_and_set_over_a_set(r):
    r.sadd("s", "a")
    assert r.mget("s", "missing") == [None, None]
    assert r.setnx("s", "x") is False
    assert r.set("s", "x") is True
    assert r.type("s") == "string"

"""vaylix-only: per-key versions on hashes and sets.

  VERSION key                -> integer version of the key, whatever its type;
                                nil if absent
  SET key value IF VERSION n -> a normal SET (the key becomes a string) when the
                                key's version is n, nil and no change otherwise

Every write to a collection gives the key a new, larger version; reads leave
it alone. Skipped when the server under test is Redis (no VERSION there).
"""

from __future__ import annotations

import pytest

from helpers import raises_error

pytestmark = pytest.mark.vaylix_only

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def version(r, key):
    return r.execute_command("VERSION", key)


def set_if_version(r, key, value, n):
    return r.execute_command("SET", key, value, "IF", "VERSION", n)


@pytest.mark.parametrize("kind", ["hash", "set"])
def test_version_of_a_collection_is_integer(r, kind):
    if kind == "hash":
        r.hset("k", "f", "v")
    else:
        r.sadd("k", "m")
    v = version(r, "k")
    assert isinstance(v, int) and v > 0


def assert_each_write_bumps(r, key, writes):
    seen = [version(r, key)]
    for name, write in writes:
        write()
        v = version(r, key)
        assert isinstance(v, int), name
        assert v > seen[-1], f"{name}: version did not increase: {seen} -> {v}"
        seen.append(v)


def test_version_changes_on_every_hash_write(r):
    r.hset("h", mapping={"a": "1", "b": "2", "n": "5"})
    assert_each_write_bumps(r, "h", [
        ("HSET new field", lambda: r.hset("h", "c", "3")),
        ("HSET update", lambda: r.hset("h", "a", "10")),
        ("HSET two fields", lambda: r.hset("h", mapping={"d": "4", "e": "5"})),
        ("HDEL", lambda: r.hdel("h", "b")),
        ("HDEL two", lambda: r.hdel("h", "d", "e")),
        ("HINCRBY", lambda: r.hincrby("h", "n", 1)),
        ("HINCRBY negative", lambda: r.hincrby("h", "n", -3)),
        ("HINCRBY new field", lambda: r.hincrby("h", "m", 7)),
        ("EXPIRE", lambda: r.expire("h", 1000)),
        ("EXPIRE again", lambda: r.expire("h", 2000)),
        ("HSET after EXPIRE", lambda: r.hset("h", "z", "26")),
    ])
    assert r.hgetall("h") == {"a": "10", "c": "3", "n": "3", "m": "7", "z": "26"}


def test_version_changes_on_every_set_write(r):
    r.sadd("s", "a", "b", "c")
    assert_each_write_bumps(r, "s", [
        ("SADD", lambda: r.sadd("s", "d")),
        ("SADD two", lambda: r.sadd("s", "e", "f")),
        ("SADD integer", lambda: r.sadd("s", 7)),
        ("SREM", lambda: r.srem("s", "a")),
        ("SREM two", lambda: r.srem("s", "b", "c")),
        ("EXPIRE", lambda: r.expire("s", 1000)),
        ("SADD after EXPIRE", lambda: r.sadd("s", "g")),
        ("SREM after EXPIRE", lambda: r.srem("s", "g")),
    ])
    assert r.smembers("s") == {"d", "e", "f", "7"}


def test_version_changes_on_writes_to_big_collections(r):
    r.hset("h", mapping={f"f{i}": i for i in range(300)})
    r.sadd("s", *[f"m{i}" for i in range(300)])
    assert_each_write_bumps(r, "h", [
        ("HSET", lambda: r.hset("h", "new", "v")),
        ("HDEL", lambda: r.hdel("h", "f0")),
        ("HINCRBY", lambda: r.hincrby("h", "f1", 1)),
        ("EXPIRE", lambda: r.expire("h", 100)),
    ])
    assert_each_write_bumps(r, "s", [
        ("SADD", lambda: r.sadd("s", "new")),
        ("SREM", lambda: r.srem("s", "m0")),
        ("EXPIRE", lambda: r.expire("s", 100)),
    ])


def test_version_unchanged_by_hash_reads(r):
    r.hset("h", mapping={"a": "1", "b": "2"})
    v = version(r, "h")
    r.hget("h", "a")
    r.hmget("h", ["a", "x"])
    r.hgetall("h")
    r.hexists("h", "a")
    r.hlen("h")
    r.hstrlen("h", "a")
    r.hkeys("h")
    r.hvals("h")
    r.hrandfield("h", 2, withvalues=True)
    r.hscan("h", 0)
    r.exists("h")
    r.type("h")
    r.ttl("h")
    r.object("encoding", "h")
    assert version(r, "h") == v


def test_version_unchanged_by_set_reads(r):
    r.sadd("s", "a", "b")
    r.sadd("t", "b")
    v = version(r, "s")
    r.smembers("s")
    r.sismember("s", "a")
    r.smismember("s", ["a", "x"])
    r.scard("s")
    r.srandmember("s", -3)
    r.sscan("s", 0)
    r.sinter("s", "t")
    r.sunion("s", "t")
    r.sdiff("s", "t")
    r.sintercard(2, ["s", "t"])
    r.exists("s")
    r.type("s")
    r.pttl("s")
    assert version(r, "s") == v


def test_version_gone_with_the_last_field_or_member(r):
    r.hset("h", "f", "v")
    r.sadd("s", "m")
    vh, vs = version(r, "h"), version(r, "s")
    r.hdel("h", "f")
    r.srem("s", "m")
    assert version(r, "h") is None
    assert version(r, "s") is None
    # re-created keys get fresh, larger versions
    r.hset("h", "f", "v")
    r.sadd("s", "m")
    assert version(r, "h") > vh
    assert version(r, "s") > vs


def test_set_if_version_replaces_hash_with_string(r):
    r.hset("h", mapping={"f": "1", "g": "2"})
    v = version(r, "h")
    assert set_if_version(r, "h", "now-a-string", v) in (True, "OK")
    assert r.type("h") == "string"
    assert r.get("h") == "now-a-string"
    assert version(r, "h") > v
    with raises_error(WRONGTYPE):
        r.hget("h", "f")


def test_set_if_version_mismatch_keeps_hash(r):
    r.hset("h", mapping={"f": "1"})
    v = version(r, "h")
    assert set_if_version(r, "h", "x", v + 1000) is None
    assert set_if_version(r, "h", "x", 0) is None  # 0 matches only an absent key
    assert r.type("h") == "hash"
    assert r.hgetall("h") == {"f": "1"}
    assert version(r, "h") == v
    # a hash write in between makes the old version stale
    r.hset("h", "g", "2")
    assert set_if_version(r, "h", "x", v) is None
    assert r.hgetall("h") == {"f": "1", "g": "2"}
    assert set_if_version(r, "h", "x", version(r, "h")) in (True, "OK")
    assert r.get("h") == "x"


def test_set_if_version_replaces_set_with_string(r):
    r.sadd("s", "a", "b")
    v = version(r, "s")
    r.srem("s", "b")
    assert set_if_version(r, "s", "x", v) is None
    assert r.smembers("s") == {"a"}
    v = version(r, "s")
    assert set_if_version(r, "s", "x", v) in (True, "OK")
    assert r.type("s") == "string"
    assert r.get("s") == "x"
    assert version(r, "s") > v


def test_set_if_version_on_hash_in_transaction(r):
    r.hset("h", "f", "v")
    v = version(r, "h")
    with r.pipeline(transaction=True) as pipe:
        pipe.execute_command("SET", "h", "a", "IF", "VERSION", v)
        pipe.execute_command("SET", "h", "b", "IF", "VERSION", v)
        pipe.type("h")
        res = pipe.execute()
    assert res[1] is None
    assert res[2] == "string"
    assert r.get("h") == "a"

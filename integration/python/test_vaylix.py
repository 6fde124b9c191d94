"""vaylix-only extensions: per-key versions.

  VERSION key              -> integer version of the key, nil if absent
  SET key value IF VERSION n
                           -> OK when the key's current version is n,
                              nil (and no change) otherwise;
                              IF VERSION 0 matches only an absent key.
Versions strictly increase across writes and never repeat after DEL and
re-create. Skipped when the server under test is Redis.
"""

from __future__ import annotations

import time

import pytest
import redis

pytestmark = pytest.mark.vaylix_only


def version(r, key):
    return r.execute_command("VERSION", key)


def set_if_version(r, key, value, n):
    return r.execute_command("SET", key, value, "IF", "VERSION", n)


def test_version_absent_is_nil(r):
    assert version(r, "missing") is None


def test_version_is_integer(r):
    r.set("k", "v")
    v = version(r, "k")
    assert isinstance(v, int) and v > 0


def test_version_increases_on_every_write(r):
    r.set("k", "v")
    seen = [version(r, "k")]
    writes = [
        lambda: r.set("k", "v2"),
        lambda: r.set("k", "v2"),  # same value is still a write
        lambda: r.append("k", "x"),
        lambda: r.setrange("k", 0, "z"),
        lambda: r.set("k", "5"),
        lambda: r.incr("k"),
        lambda: r.incrby("k", 3),
        lambda: r.decr("k"),
        lambda: r.incrbyfloat("k", 1.5),
        lambda: r.getset("k", "g"),
        lambda: r.mset({"k": "m"}),
        lambda: r.set("k", "e", ex=100),
    ]
    for w in writes:
        w()
        v = version(r, "k")
        assert v > seen[-1], f"version did not increase: {seen} -> {v}"
        seen.append(v)


def test_version_unchanged_by_reads(r):
    r.set("k", "v")
    v = version(r, "k")
    r.get("k")
    r.strlen("k")
    r.exists("k")
    r.ttl("k")
    r.getrange("k", 0, -1)
    assert version(r, "k") == v


def test_version_never_repeats_after_delete(r):
    r.set("k", "v")
    versions = [version(r, "k")]
    for i in range(20):
        r.delete("k")
        assert version(r, "k") is None
        r.set("k", f"v{i}")
        versions.append(version(r, "k"))
    assert len(set(versions)) == len(versions)
    assert versions == sorted(versions)


def test_version_not_reused_after_expiry_or_flush(r):
    r.set("k", "v")
    v1 = version(r, "k")
    r.flushall()
    r.set("k", "v")
    v2 = version(r, "k")
    assert v2 > v1
    r.pexpire("k", 1)
    time.sleep(0.05)
    assert version(r, "k") is None
    r.set("k", "v")
    assert version(r, "k") > v2


def test_versions_distinct_across_keys_monotonic(r):
    r.set("a", "1")
    va = version(r, "a")
    r.set("b", "1")
    assert isinstance(version(r, "b"), int)  # per-key or global counter: both fine
    r.set("a", "2")
    assert version(r, "a") > va


def test_set_if_version_match(r):
    r.set("k", "v1")
    v = version(r, "k")
    assert set_if_version(r, "k", "v2", v) in (True, "OK")
    assert r.get("k") == "v2"
    assert version(r, "k") > v


def test_set_if_version_mismatch(r):
    r.set("k", "v1")
    v = version(r, "k")
    assert set_if_version(r, "k", "v2", v + 1000) is None
    assert r.get("k") == "v1"
    assert version(r, "k") == v
    r.set("k", "v3")
    # stale version now
    assert set_if_version(r, "k", "v4", v) is None
    assert r.get("k") == "v3"


def test_set_if_version_zero_only_when_absent(r):
    assert set_if_version(r, "k", "created", 0) in (True, "OK")
    assert r.get("k") == "created"
    assert set_if_version(r, "k", "again", 0) is None
    assert r.get("k") == "created"
    r.delete("k")
    assert set_if_version(r, "k", "recreated", 0) in (True, "OK")


def test_set_if_version_on_absent_key_with_nonzero(r):
    assert set_if_version(r, "missing", "v", 5) is None
    assert r.exists("missing") == 0


def test_set_if_version_cas_race(r, make_client):
    other = make_client()
    r.set("k", "0")
    v = version(r, "k")
    other.set("k", "other")
    assert set_if_version(r, "k", "mine", v) is None
    assert r.get("k") == "other"


def test_set_if_version_bad_arguments(r):
    r.set("k", "v")
    with pytest.raises(redis.ResponseError):
        r.execute_command("SET", "k", "v", "IF", "VERSION", "abc")
    with pytest.raises(redis.ResponseError):
        r.execute_command("SET", "k", "v", "IF", "VERSION")
    with pytest.raises(redis.ResponseError):
        r.execute_command("SET", "k", "v", "IF", "NOPE", "1")
    assert r.get("k") == "v"


def test_version_arity(r):
    with pytest.raises(redis.ResponseError):
        r.execute_command("VERSION")


def test_set_if_version_in_transaction(r):
    r.set("k", "v")
    v = version(r, "k")
    with r.pipeline(transaction=True) as pipe:
        pipe.execute_command("SET", "k", "a", "IF", "VERSION", v)
        pipe.execute_command("SET", "k", "b", "IF", "VERSION", v)
        res = pipe.execute()
    assert res[1] is None
    assert r.get("k") == "a"

"""Expiry: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (NX/XX/GT/LT), TTL, PTTL,
EXPIRETIME, PEXPIRETIME, PERSIST, passive and active expiry."""

from __future__ import annotations

import time

import pytest
import redis

from helpers import raises_error


def now_s():
    return int(time.time())


def now_ms():
    return int(time.time() * 1000)


def wait_until(predicate, timeout=5.0, interval=0.05):
    """Bounded poll; returns True as soon as predicate() is truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def test_ttl_pttl_states(r):
    assert r.ttl("missing") == -2
    assert r.pttl("missing") == -2
    r.set("k", "v")
    assert r.ttl("k") == -1
    assert r.pttl("k") == -1
    r.expire("k", 100)
    assert 99 <= r.ttl("k") <= 100
    assert 99000 <= r.pttl("k") <= 100000


def test_expire_pexpire(r):
    assert r.expire("missing", 100) is False
    r.set("k", "v")
    assert r.expire("k", 100) is True
    assert 99 <= r.ttl("k") <= 100
    assert r.pexpire("k", 50000) is True
    assert 49000 <= r.pttl("k") <= 50000


def test_expireat_pexpireat(r):
    r.set("k", "v")
    at = now_s() + 100
    assert r.expireat("k", at) is True
    assert r.expiretime("k") == at
    at_ms = now_ms() + 200000
    assert r.pexpireat("k", at_ms) is True
    assert r.pexpiretime("k") == at_ms
    # EXPIRETIME rounds the millisecond deadline to the nearest second
    whole = (now_ms() // 1000 + 300) * 1000
    r.pexpireat("k", whole + 400)
    assert r.expiretime("k") == whole // 1000
    r.pexpireat("k", whole + 600)
    assert r.expiretime("k") == whole // 1000 + 1
    assert r.expireat("missing", at) is False


def test_expiretime_states(r):
    assert r.expiretime("missing") == -2
    assert r.pexpiretime("missing") == -2
    r.set("k", "v")
    assert r.expiretime("k") == -1
    assert r.pexpiretime("k") == -1


def test_expire_zero_or_negative_deletes(r):
    r.set("a", "v")
    assert r.expire("a", 0) is True
    assert r.exists("a") == 0
    r.set("b", "v")
    assert r.pexpire("b", -100) is True
    assert r.exists("b") == 0
    r.set("c", "v")
    assert r.expireat("c", now_s() - 10) is True
    assert r.get("c") is None


def test_expire_nx_xx(r):
    r.set("k", "v")
    assert r.expire("k", 100, xx=True) is False  # no TTL yet
    assert r.ttl("k") == -1
    assert r.expire("k", 100, nx=True) is True
    assert r.expire("k", 200, nx=True) is False
    assert r.ttl("k") <= 100
    assert r.expire("k", 200, xx=True) is True
    assert r.ttl("k") > 100


def test_expire_gt_lt(r):
    r.set("k", "v")
    # a key without TTL counts as infinite TTL
    assert r.expire("k", 100, gt=True) is False
    assert r.ttl("k") == -1
    assert r.expire("k", 100, lt=True) is True
    assert r.expire("k", 50, gt=True) is False
    assert r.expire("k", 200, gt=True) is True
    assert r.ttl("k") > 100
    assert r.expire("k", 300, lt=True) is False
    assert r.expire("k", 10, lt=True) is True
    assert r.ttl("k") <= 10


@pytest.mark.parametrize("cmd", ["PEXPIRE", "EXPIREAT", "PEXPIREAT"])
def test_expire_variants_flags(r, cmd):
    base = {"PEXPIRE": 0, "EXPIREAT": now_s(), "PEXPIREAT": now_ms()}[cmd]
    unit = 1000 if cmd == "PEXPIRE" else (1 if cmd == "EXPIREAT" else 1000)
    r.set("k", "v")
    assert r.execute_command(cmd, "k", base + 100 * unit, "XX") == 0
    assert r.execute_command(cmd, "k", base + 100 * unit, "NX") == 1
    assert r.execute_command(cmd, "k", base + 200 * unit, "NX") == 0
    assert r.execute_command(cmd, "k", base + 50 * unit, "GT") == 0
    assert r.execute_command(cmd, "k", base + 200 * unit, "GT") == 1
    assert r.execute_command(cmd, "k", base + 20 * unit, "LT") == 1
    assert 0 < r.ttl("k") <= 20


def test_expire_flag_errors(r):
    r.set("k", "v")
    with raises_error("ERR NX and XX, GT or LT options at the same time are not compatible"):
        r.execute_command("EXPIRE", "k", 100, "NX", "XX")
    with raises_error("ERR NX and XX, GT or LT options at the same time are not compatible"):
        r.execute_command("EXPIRE", "k", 100, "NX", "GT")
    with raises_error("ERR GT and LT options at the same time are not compatible"):
        r.execute_command("EXPIRE", "k", 100, "GT", "LT")
    with raises_error("ERR Unsupported option FOO"):
        r.execute_command("EXPIRE", "k", 100, "FOO")
    with raises_error("ERR value is not an integer or out of range"):
        r.execute_command("EXPIRE", "k", "abc")
    with raises_error("ERR invalid expire time in 'expire' command"):
        r.execute_command("EXPIRE", "k", 9223372036854775807)
    with raises_error("ERR wrong number of arguments for 'expire' command"):
        r.execute_command("EXPIRE", "k")
    assert r.ttl("k") == -1


def test_persist(r):
    assert r.persist("missing") is False
    r.set("k", "v")
    assert r.persist("k") is False
    r.expire("k", 100)
    assert r.persist("k") is True
    assert r.ttl("k") == -1
    assert r.get("k") == "v"


def test_expired_key_is_gone_on_read(r):
    r.set("k", "v", px=50)
    time.sleep(0.12)
    assert r.get("k") is None
    assert r.exists("k") == 0
    assert r.ttl("k") == -2


def test_expired_key_invisible_to_all_reads(r):
    r.set("gone", "v", px=30)
    r.set("stays", "v")
    time.sleep(0.1)
    assert r.mget("gone", "stays") == [None, "v"]
    assert "gone" not in r.keys("*")
    assert r.strlen("gone") == 0
    assert r.type("gone") == "none"
    assert r.append("gone", "new") == 3  # starts from empty
    assert r.ttl("gone") == -1


def test_active_expiry_without_reads(r):
    """Keys must vanish after expiry even if nobody reads them."""
    r.mset({f"keep:{i}": "v" for i in range(10)})
    pipe = r.pipeline(transaction=False)
    for i in range(50):
        pipe.set(f"tmp:{i}", "v", px=100)
    pipe.execute()
    assert r.dbsize() == 60
    assert wait_until(lambda: r.dbsize() == 10, timeout=8.0), \
        f"dbsize still {r.dbsize()} long after expiry"
    ks = r.info("keyspace")
    assert ks["db0"]["keys"] == 10
    assert ks["db0"]["expires"] == 0
    assert r.info("stats")["expired_keys"] >= 50


def test_active_expiry_other_db(r, make_client):
    db3 = make_client(db=3)
    db3.set("tmp", "v", px=100)
    assert wait_until(lambda: "db3" not in r.info("keyspace"), timeout=8.0)
    assert db3.dbsize() == 0


def test_info_keyspace_counts_expires(r):
    r.set("a", "1", ex=100)
    r.set("b", "2", px=100000)
    r.set("c", "3")
    ks = r.info("keyspace")["db0"]
    assert ks["keys"] == 3 and ks["expires"] == 2
    r.persist("a")
    assert r.info("keyspace")["db0"]["expires"] == 1

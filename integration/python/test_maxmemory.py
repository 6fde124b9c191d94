"""maxmemory and key eviction, with Redis 7.0 semantics.

* INFO: the memory fields (used_memory, used_memory_peak, maxmemory,
  maxmemory_human, maxmemory_policy, mem_fragmentation_ratio, mem_allocator)
  and stats' evicted_keys; used_memory grows with the data and falls after
  FLUSHALL, the peak stays; CONFIG RESETSTAT clears evicted_keys.
* CONFIG SET/GET: maxmemory with units, the eight policies (any case),
  maxmemory-samples, maxmemory-eviction-tenacity, lfu-log-factor,
  lfu-decay-time, and the exact error lines for bad values.
* Eviction: every allkeys-* policy keeps used_memory near the limit while
  far more is written (DBSIZE + evicted_keys = keys written); allkeys-lru
  keeps recently read keys and allkeys-lfu frequently read ones (against a
  control group of untouched keys); the volatile-* policies never evict a key
  without a TTL, volatile-ttl evicts the shortest TTLs first; a limit below
  what the server needs evicts every evictable key and then refuses the
  write with -OOM.
* -OOM: noeviction refuses every denyoom command and lets reads, DEL, EXPIRE,
  pops etc. run; a write fills to the limit, then refuses; raising the limit
  lifts it.
* MULTI: any command queued while over the limit is refused (EXEC then
  answers EXECABORT), DISCARD and RESET still work, EXEC of a transaction
  with a denyoom command queued before the limit is refused; read-only
  transactions still execute.
* Scripts: a legacy EVAL/EVALSHA script gets the OOM error with the 7.0
  `script: <sha>, on @user_script:1.` suffix at its first denyoom write, but
  not after an earlier write call (DEL of a missing key, EXPIRE); reads,
  redis.pcall's error value, `#!lua` scripts without flags refused at start,
  flags=allow-oom and flags=no-writes; FCALL the same way.
* Keyspace notifications: class `e` fires `evicted` (on both channel kinds),
  once per evicted key, never `del`.
* OBJECT FREQ under an LFU policy (exact counter with lfu-log-factor 0 and
  lfu-decay-time 0: a new key starts at 5, one step per key lookup, an
  overwrite keeps the counter, 255 at most; EXISTS/TYPE/TTL/PTTL/OBJECT do
  not count) and OBJECT IDLETIME otherwise (grows while the key is left
  alone, reset by GET and TOUCH, not by EXISTS/TYPE/TTL/PTTL/OBJECT), with
  the error lines for the wrong policy.

The tests run on a dedicated server (maxmemory_helpers.mm_server) whose
settings are reset before and after each test. Memory limits are relative
to the server's own used_memory; exact eviction counts and memory numbers
are implementation details, so only robust relations are asserted. Every
expectation was checked against redis-server 7.0.15.
"""

from __future__ import annotations

import time

import pytest
import redis

from helpers import RespError, raises_error
from maxmemory_helpers import (EXECABORT, EXECABORT_OOM, LFU_NOT_SELECTED, LFU_SELECTED, MB,
                               OOM, SLACK, count_existing, evicted_keys, fill, is_oom, read_all,
                               set_limit_above_used, stop_evicting, used_memory, value)
from maxmemory_helpers import admin_conn, mm, mm_server, mr, mrc  # noqa: F401  (fixtures)
from scripting_helpers import script_error, sha1

ALLKEYS = ["allkeys-lru", "allkeys-lfu", "allkeys-random"]
VOLATILE = ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"]
POLICIES = ["noeviction"] + ALLKEYS + VOLATILE


def config_error(name: str, detail: str) -> str:
    return f"ERR CONFIG SET failed (possibly related to argument '{name}') - {detail}"


def over_limit(client):
    """Any positive maxmemory below what the server already uses."""
    assert client.config_set("maxmemory", 1) is True


def needs_command(conn, name):
    info = conn.cmd("COMMAND", "INFO", name)
    if not info or info[0] is None:
        pytest.skip(f"server has no {name.upper()}")


# --------------------------------------------------------------------------
# INFO and CONFIG
# --------------------------------------------------------------------------

def test_info_memory_fields(mr):
    mem = mr.info("memory")
    for field in ("used_memory", "used_memory_peak", "maxmemory"):
        assert isinstance(mem[field], int), (field, mem[field])
    assert mem["used_memory"] > 0
    assert mem["used_memory_peak"] >= mem["used_memory"]
    assert mem["maxmemory"] == 0
    assert mem["maxmemory_human"] == "0B"
    assert mem["maxmemory_policy"] == "noeviction"
    assert isinstance(mem["mem_fragmentation_ratio"], (int, float))
    assert mem["mem_fragmentation_ratio"] > 0
    assert isinstance(mem["mem_allocator"], str) and mem["mem_allocator"]
    assert "evicted_keys" not in mem
    stats = mr.info("stats")
    assert isinstance(stats["evicted_keys"], int) and stats["evicted_keys"] >= 0
    assert "used_memory" not in stats

    assert mr.config_set("maxmemory", "10mb") is True
    assert mr.config_set("maxmemory-policy", "allkeys-lru") is True
    mem = mr.info("memory")
    assert mem["maxmemory"] == 10 * MB
    assert mem["maxmemory_human"] == "10.00M"
    assert mem["maxmemory_policy"] == "allkeys-lru"
    everything = mr.info("everything")
    assert everything["maxmemory"] == 10 * MB and "evicted_keys" in everything


@pytest.mark.parametrize("setting,bytes_,human", [
    ("10mb", 10 * MB, "10.00M"),
    ("1gb", 1 << 30, "1.00G"),
    ("1500k", 1500000, "1.43M"),
    ("2MB", 2 * MB, "2.00M"),
    ("123", 123, "123B"),
    ("0", 0, "0B"),
])
def test_config_maxmemory_units(mr, setting, bytes_, human):
    assert mr.config_set("maxmemory", setting) is True
    assert mr.config_get("maxmemory") == {"maxmemory": str(bytes_)}
    mem = mr.info("memory")
    assert mem["maxmemory"] == bytes_
    assert mem["maxmemory_human"] == human


def test_config_policies(mr):
    for policy in POLICIES:
        assert mr.config_set("maxmemory-policy", policy) is True
        assert mr.config_get("maxmemory-policy") == {"maxmemory-policy": policy}
        assert mr.info("memory")["maxmemory_policy"] == policy
    assert mr.config_set("maxmemory-policy", "ALLKEYS-LFU") is True
    assert mr.config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-lfu"}


@pytest.mark.parametrize("name,values,default", [
    ("maxmemory-samples", ["1", "10", "64"], "5"),
    ("maxmemory-eviction-tenacity", ["0", "100", "37"], "10"),
    ("lfu-log-factor", ["0", "100", "2147483647"], "10"),
    ("lfu-decay-time", ["0", "60", "2147483647"], "1"),
])
def test_config_tunables(mr, name, values, default):
    assert mr.config_get(name) == {name: default}
    for v in values:
        assert mr.config_set(name, v) is True
        assert mr.config_get(name) == {name: v}


def test_config_invalid_policy(mr):
    with raises_error(config_error(
            "maxmemory-policy",
            "argument(s) must be one of the following: volatile-lru, volatile-lfu, "
            "volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, "
            "noeviction")):
        mr.config_set("maxmemory-policy", "lru")
    assert mr.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}


def test_config_maxmemory_samples_range(mr):
    # Redis 7.0 accepts 1..INT_MAX (the eviction pool is 16 entries anyway)
    with raises_error(config_error("maxmemory-samples",
                                   "argument must be between 1 and 2147483647 inclusive")):
        mr.config_set("maxmemory-samples", 0)
    assert mr.config_set("maxmemory-samples", 65) is True
    assert mr.config_get("maxmemory-samples") == {"maxmemory-samples": "65"}


@pytest.mark.parametrize("name,bad,detail", [
    ("maxmemory-eviction-tenacity", "101", "argument must be between 0 and 100 inclusive"),
    ("maxmemory-eviction-tenacity", "-1", "argument must be between 0 and 100 inclusive"),
    ("lfu-log-factor", "-1", "argument must be between 0 and 2147483647 inclusive"),
    ("lfu-decay-time", "-1", "argument must be between 0 and 2147483647 inclusive"),
    ("maxmemory-samples", "x", "argument couldn't be parsed into an integer"),
    ("maxmemory", "-1", "argument must be a memory value"),
    ("maxmemory", "abc", "argument must be a memory value"),
])
def test_config_range_errors(mr, name, bad, detail):
    before = mr.config_get(name)
    with raises_error(config_error(name, detail)):
        mr.config_set(name, bad)
    assert mr.config_get(name) == before


# --------------------------------------------------------------------------
# used_memory accounting
# --------------------------------------------------------------------------

def test_used_memory_follows_the_data(mr):
    before = used_memory(mr)
    assert all(r is True for r in fill(mr, "k", 3000))
    filled = used_memory(mr)
    # 3000 values of 1000 bytes, plus keys and per-key overhead
    assert filled >= before + 3000 * 1000, (before, filled)
    assert filled <= before + 3000 * 1000 * 3, (before, filled)
    peak = mr.info("memory")["used_memory_peak"]
    assert peak >= filled
    assert mr.flushall() is True
    after = used_memory(mr)
    assert after <= filled - 2 * MB, (filled, after)
    assert mr.info("memory")["used_memory_peak"] >= peak


def test_config_resetstat_clears_evicted_keys(mr):
    assert mr.config_set("maxmemory-policy", "allkeys-random") is True
    assert mr.config_set("maxmemory-eviction-tenacity", 100) is True
    fill(mr, "k", 10)
    over_limit(mr)
    with raises_error(OOM):
        mr.set("new", "v")
    assert evicted_keys(mr) > 0
    stop_evicting(mr)
    assert mr.config_resetstat() is True
    assert evicted_keys(mr) == 0


# --------------------------------------------------------------------------
# Eviction
# --------------------------------------------------------------------------

@pytest.mark.parametrize("policy", ALLKEYS)
def test_allkeys_policies_stay_near_the_limit(mr, policy):
    written = 20000
    assert mr.config_set("maxmemory-policy", policy) is True
    evicted_before = evicted_keys(mr)
    limit = set_limit_above_used(mr, 4 * MB)
    replies = fill(mr, "k", written)
    assert all(r is True for r in replies), [r for r in replies if r is not True][:3]
    assert used_memory(mr) <= limit + SLACK
    assert mr.info("memory")["maxmemory"] == limit
    assert mr.ping() is True
    stop_evicting(mr)
    evicted = evicted_keys(mr) - evicted_before
    size = mr.dbsize()
    assert evicted > 0
    assert size < written
    assert size + evicted == written
    # about 4 MB of 1000-byte values still fit: far from empty
    assert size >= 1000, size
    assert mr.get(f"k{written - 1}") == value(written - 1)   # the last write is kept


def test_allkeys_lru_keeps_recently_used_keys(mr):
    hot = [f"hot{i}" for i in range(100)]
    control = [f"control{i}" for i in range(100)]
    for k in hot + control:
        mr.set(k, value(0))
    assert mr.config_set("maxmemory-policy", "allkeys-lru") is True
    assert mr.config_set("maxmemory-samples", 10) is True
    evicted_before = evicted_keys(mr)
    limit = set_limit_above_used(mr, 8 * MB)
    fill(mr, "old", 6000)        # fits: nothing evicted yet
    assert evicted_keys(mr) == evicted_before
    time.sleep(2.1)              # the LRU clock has a resolution of one second
    assert read_all(mr, hot) == [value(0)] * len(hot)
    fill(mr, "new", 6000)        # must evict about half of the old keys
    assert used_memory(mr) <= limit + SLACK
    stop_evicting(mr)
    assert evicted_keys(mr) - evicted_before >= 2000
    hot_left = count_existing(mr, hot)
    control_left = count_existing(mr, control)
    # Redis 7.0.15: all 100 hot keys, 14-36 of the control keys
    assert hot_left >= 95, (hot_left, control_left)
    assert control_left <= 60, (hot_left, control_left)
    assert count_existing(mr, [f"new{i}" for i in range(5900, 6000)]) >= 95


def test_allkeys_lfu_keeps_frequently_used_keys(mr):
    hot = [f"hot{i}" for i in range(100)]
    control = [f"control{i}" for i in range(100)]
    assert mr.config_set("maxmemory-policy", "allkeys-lfu") is True
    for k in hot + control:
        mr.set(k, value(0))
    read_all(mr, hot, times=10)
    assert mr.object("freq", hot[0]) > mr.object("freq", control[0])
    evicted_before = evicted_keys(mr)
    limit = set_limit_above_used(mr, 4 * MB)
    fill(mr, "cold", 20000)
    assert used_memory(mr) <= limit + SLACK
    stop_evicting(mr)
    assert evicted_keys(mr) - evicted_before >= 10000
    hot_left = count_existing(mr, hot)
    control_left = count_existing(mr, control)
    # Redis 7.0.15: all 100 hot keys, 6-9 of the control keys
    assert hot_left >= 95, (hot_left, control_left)
    assert control_left <= 50, (hot_left, control_left)


@pytest.mark.parametrize("policy", VOLATILE)
def test_volatile_policies_never_evict_keys_without_ttl(mr, policy):
    persistent = [f"p{i}" for i in range(1000)]
    assert all(r is True for r in fill(mr, "p", 1000))
    assert mr.config_set("maxmemory-policy", policy) is True
    evicted_before = evicted_keys(mr)
    limit = set_limit_above_used(mr, 3 * MB)
    written = 12000
    replies = fill(mr, "v", written, ex=1000)
    assert all(r is True for r in replies), [r for r in replies if r is not True][:3]
    assert used_memory(mr) <= limit + SLACK
    stop_evicting(mr)
    evicted = evicted_keys(mr) - evicted_before
    assert evicted > 0
    assert count_existing(mr, persistent) == len(persistent)
    assert mr.dbsize() == len(persistent) + written - evicted
    assert mr.get("v11999") == value(11999)


def test_volatile_ttl_evicts_the_shortest_ttl_first(mr):
    soon = [f"soon{i}" for i in range(200)]
    late = [f"late{i}" for i in range(200)]
    fill(mr, "soon", 200, ex=500)
    fill(mr, "late", 200, ex=100000)
    assert mr.config_set("maxmemory-policy", "volatile-ttl") is True
    evicted_before = evicted_keys(mr)
    limit = set_limit_above_used(mr, 3 * MB)
    fill(mr, "mid", 12000, ex=1000)     # evicts far more than the 200 'soon' keys
    assert used_memory(mr) <= limit + SLACK
    stop_evicting(mr)
    assert evicted_keys(mr) - evicted_before >= 5000
    soon_left = count_existing(mr, soon)
    late_left = count_existing(mr, late)
    # Redis 7.0.15: no 'soon' key and every 'late' key is left
    assert soon_left <= 20, (soon_left, late_left)
    assert late_left >= 190, (soon_left, late_left)


@pytest.mark.parametrize("policy", VOLATILE)
def test_volatile_policy_refuses_writes_when_nothing_is_volatile(mr, policy):
    assert all(r is True for r in fill(mr, "p", 300))
    fill(mr, "v", 20, ex=1000)
    assert mr.config_set("maxmemory-policy", policy) is True
    # no time limit on one eviction run, so all 20 go before the refusal
    assert mr.config_set("maxmemory-eviction-tenacity", 100) is True
    evicted_before = evicted_keys(mr)
    over_limit(mr)
    with raises_error(OOM):
        mr.set("new", "v")
    assert evicted_keys(mr) - evicted_before == 20
    assert mr.dbsize() == 300
    with raises_error(OOM):
        mr.set("new", "v", ex=100)
    with raises_error(OOM):
        mr.lpush("list", "a")
    assert evicted_keys(mr) - evicted_before == 20
    assert mr.dbsize() == 300
    assert mr.get("p7") == value(7)
    assert mr.exists("new", "list") == 0


@pytest.mark.parametrize("policy", ALLKEYS)
def test_allkeys_policy_evicts_everything_then_refuses(mr, policy):
    fill(mr, "k", 50)
    fill(mr, "t", 10, ex=1000)
    assert mr.config_set("maxmemory-policy", policy) is True
    assert mr.config_set("maxmemory-eviction-tenacity", 100) is True
    evicted_before = evicted_keys(mr)
    over_limit(mr)
    with raises_error(OOM):
        mr.set("new", "v")
    assert mr.dbsize() == 0
    assert evicted_keys(mr) - evicted_before == 60
    assert mr.get("k1") is None
    assert mr.config_set("maxmemory", 0) is True
    assert mr.set("new", "v") is True
    assert mr.dbsize() == 1


# --------------------------------------------------------------------------
# noeviction: -OOM for denyoom commands
# --------------------------------------------------------------------------

DENYOOM = [
    ("SET", "k", "v"),
    ("SET", "exists", "v", "XX"),
    ("SETNX", "k", "v"),
    ("SETEX", "k", "10", "v"),
    ("PSETEX", "k", "10000", "v"),
    ("MSET", "k", "v", "k2", "v2"),
    ("MSETNX", "k", "v"),
    ("GETSET", "exists", "v"),
    ("APPEND", "exists", "v"),
    ("SETRANGE", "exists", "0", "v"),
    ("INCR", "n"),
    ("INCRBY", "n", "2"),
    ("DECR", "n"),
    ("DECRBY", "n", "2"),
    ("INCRBYFLOAT", "n", "1.5"),
    ("LPUSH", "l", "a"),
    ("RPUSH", "l", "a"),
    ("LPUSHX", "list", "a"),
    ("RPUSHX", "list", "a"),
    ("LINSERT", "list", "BEFORE", "a", "b"),
    ("LSET", "list", "0", "b"),
    ("LMOVE", "list", "l2", "LEFT", "RIGHT"),
    ("RPOPLPUSH", "list", "l2"),
    ("BLMOVE", "list", "l2", "LEFT", "RIGHT", "0.1"),
    ("SADD", "s", "a"),
    ("SUNIONSTORE", "d", "set"),
    ("SINTERSTORE", "d", "set"),
    ("SDIFFSTORE", "d", "set"),
    ("HSET", "h", "f", "v"),
    ("HMSET", "h", "f", "v"),
    ("HSETNX", "h", "f", "v"),
    ("HINCRBY", "h", "f", "1"),
    ("HINCRBYFLOAT", "h", "f", "1.5"),
    ("ZADD", "z", "1", "a"),
    ("ZINCRBY", "z", "1", "a"),
    ("ZUNIONSTORE", "d", "1", "zset"),
    ("ZINTERSTORE", "d", "1", "zset"),
    ("ZDIFFSTORE", "d", "1", "zset"),
    ("ZRANGESTORE", "d", "zset", "0", "-1"),
    ("COPY", "exists", "copy"),
    ("RESTORE", "r", "0", "payload"),
    ("XADD", "stream", "*", "f", "v"),
    ("PFADD", "hll", "a"),
    ("BITOP", "OR", "d", "exists"),
    ("FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function() return 1 end)"),
    ("FUNCTION", "RESTORE", "payload"),
]


@pytest.mark.parametrize("command", DENYOOM, ids=lambda c: " ".join(c[:2]) if c[0] == "FUNCTION"
                         else c[0] + ("-XX" if "XX" in c else ""))
def test_noeviction_refuses_denyoom_commands(mrc, admin_conn, command):
    needs_command(admin_conn, command[0])
    assert mrc.cmd("SET", "exists", "v") == "OK"
    assert mrc.cmd("RPUSH", "list", "a") == 1
    assert mrc.cmd("SADD", "set", "a") == 1
    assert mrc.cmd("ZADD", "zset", "1", "a") == 1
    assert mrc.cmd("CONFIG", "SET", "maxmemory", "1") == "OK"
    assert mrc.cmd(*command) == RespError(OOM)
    assert mrc.cmd("CONFIG", "SET", "maxmemory", "0") == "OK"
    # nothing changed
    assert mrc.cmd("DBSIZE") == 4
    assert mrc.cmd("GET", "exists") == b"v"
    assert mrc.cmd("LRANGE", "list", "0", "-1") == [b"a"]
    assert mrc.cmd("FUNCTION", "LIST") == []


def test_noeviction_allows_reads_and_deletes(mr):
    fill(mr, "k", 10)
    mr.rpush("list", "a", "b", "c")
    mr.set("plain", "v")
    over_limit(mr)
    evicted_before = evicted_keys(mr)
    with raises_error(OOM):
        mr.set("new", "v")
    assert mr.get("k1") == value(1)
    assert mr.mget("k1", "k2") == [value(1), value(2)]
    assert mr.exists("k1", "k2", "nope") == 2
    assert mr.strlen("k3") == 1000
    assert mr.lrange("list", 0, -1) == ["a", "b", "c"]
    assert mr.expire("k4", 100) is True
    assert 0 < mr.ttl("k4") <= 100
    assert mr.persist("k4") is True
    assert mr.lpop("list") == "a"
    assert mr.getdel("k5") == value(5)
    assert mr.delete("k1", "k2") == 2
    assert mr.unlink("k3") == 1
    assert mr.rename("plain", "renamed") is True
    assert mr.publish("channel", "message") == 0
    assert mr.eval("return redis.call('GET', KEYS[1])", 1, "renamed") == "v"
    assert mr.ping() is True
    assert mr.dbsize() == 8
    assert evicted_keys(mr) == evicted_before
    assert mr.flushdb() is True
    assert mr.dbsize() == 0
    # raising the limit lifts the refusal
    assert mr.config_set("maxmemory", 0) is True
    assert mr.set("new", "v") is True


def test_noeviction_fills_up_then_refuses(mr):
    evicted_before = evicted_keys(mr)
    limit = set_limit_above_used(mr, 2 * MB)
    replies = fill(mr, "k", 6000)
    ok = sum(1 for r in replies if r is True)
    refused = [r for r in replies if r is not True]
    assert ok > 500, ok
    assert len(refused) > 1000, len(refused)
    assert all(is_oom(r) for r in refused), refused[:3]
    assert replies[0] is True and is_oom(replies[-1])
    assert mr.dbsize() == ok
    assert evicted_keys(mr) == evicted_before
    assert used_memory(mr) <= limit + SLACK
    assert mr.get("k0") == value(0)


# --------------------------------------------------------------------------
# MULTI / EXEC
# --------------------------------------------------------------------------

def test_multi_refuses_every_queued_command_when_over_limit(mrc):
    assert mrc.cmd("SET", "k", "v") == "OK"
    assert mrc.cmd("CONFIG", "SET", "maxmemory", "1") == "OK"
    assert mrc.cmd("MULTI") == "OK"
    assert mrc.cmd("SET", "k", "w") == RespError(OOM)
    assert mrc.cmd("GET", "k") == RespError(OOM)
    assert mrc.cmd("PING") == RespError(OOM)
    assert mrc.cmd("DEL", "k") == RespError(OOM)
    assert mrc.cmd("EVAL", "return 1", 0) == RespError(OOM)
    assert mrc.cmd("EXEC") == RespError(EXECABORT)
    # out of the transaction again: reads work, nothing was applied
    assert mrc.cmd("EXEC") == RespError("ERR EXEC without MULTI")
    assert mrc.cmd("GET", "k") == b"v"


def test_multi_discard_and_reset_when_over_limit(mrc):
    assert mrc.cmd("CONFIG", "SET", "maxmemory", "1") == "OK"
    assert mrc.cmd("MULTI") == "OK"
    assert mrc.cmd("GET", "k") == RespError(OOM)
    assert mrc.cmd("DISCARD") == "OK"
    assert mrc.cmd("DISCARD") == RespError("ERR DISCARD without MULTI")
    assert mrc.cmd("MULTI") == "OK"
    assert mrc.cmd("SET", "k", "v") == RespError(OOM)
    assert mrc.cmd("RESET") == "RESET"
    assert mrc.cmd("EXEC") == RespError("ERR EXEC without MULTI")
    assert mrc.cmd("GET", "k") is None


def test_exec_of_write_queued_before_the_limit_is_refused(mrc, admin_conn):
    assert mrc.cmd("MULTI") == "OK"
    assert mrc.cmd("SET", "k", "v") == "QUEUED"
    assert mrc.cmd("GET", "k") == "QUEUED"
    assert admin_conn.cmd("CONFIG", "SET", "maxmemory", "1") == "OK"
    assert mrc.cmd("EXEC") == RespError(EXECABORT_OOM)
    assert mrc.cmd("EXEC") == RespError("ERR EXEC without MULTI")
    assert mrc.cmd("GET", "k") is None


def test_exec_of_reads_queued_before_the_limit_runs(mrc, admin_conn):
    assert mrc.cmd("SET", "k", "v") == "OK"
    assert mrc.cmd("MULTI") == "OK"
    assert mrc.cmd("GET", "k") == "QUEUED"
    assert mrc.cmd("DEL", "other") == "QUEUED"
    assert admin_conn.cmd("CONFIG", "SET", "maxmemory", "1") == "OK"
    assert mrc.cmd("EXEC") == [b"v", 0]


def test_redis_py_transaction_when_over_limit(mr):
    over_limit(mr)
    pipe = mr.pipeline(transaction=True)
    pipe.set("k", "v")
    pipe.get("k")
    with pytest.raises(redis.exceptions.OutOfMemoryError) as info:
        pipe.execute()
    assert "command not allowed when used memory > 'maxmemory'." in str(info.value)
    assert mr.get("k") is None


# --------------------------------------------------------------------------
# Scripts
# --------------------------------------------------------------------------

def test_legacy_script_first_write_is_refused(mr):
    over_limit(mr)
    body = "return redis.call('SET', KEYS[1], 'v')"
    with raises_error(script_error(OOM, body)):
        mr.eval(body, 1, "k")
    sha = mr.script_load(body)
    assert sha == sha1(body)
    with raises_error(script_error(OOM, body)):
        mr.evalsha(sha, 1, "k")
    body = "redis.call('GET', KEYS[1]); return redis.call('SET', KEYS[1], 'v')"
    with raises_error(script_error(OOM, body)):
        mr.eval(body, 1, "k")
    assert mr.exists("k") == 0


@pytest.mark.parametrize("first", [
    "redis.call('DEL', 'missing')",
    "redis.call('EXPIRE', 'missing', 100)",
])
def test_legacy_script_writes_after_an_earlier_write_call(mr, first):
    over_limit(mr)
    body = f"{first}; redis.call('SET', KEYS[1], 'v'); return redis.call('LPUSH', KEYS[2], 'a')"
    assert mr.eval(body, 2, "k", "l") == 1
    assert mr.get("k") == "v"
    assert mr.lrange("l", 0, -1) == ["a"]


def test_legacy_script_reads_and_pcall(mr):
    mr.set("k", "v")
    over_limit(mr)
    assert mr.eval("return redis.call('GET', KEYS[1])", 1, "k") == "v"
    assert mr.eval_ro("return redis.call('GET', KEYS[1])", 1, "k") == "v"
    assert mr.eval("return 1", 0) == 1
    # redis.pcall hands the refusal to the script as an error table
    body = "local r = redis.pcall('SET', KEYS[1], 'w'); return {type(r), r['err']}"
    assert mr.eval(body, 1, "k") == ["table", OOM]
    with raises_error(OOM):     # returned as a value: no script suffix
        mr.eval("return redis.pcall('SET', KEYS[1], 'w')", 1, "k")
    assert mr.get("k") == "v"


def test_shebang_script_without_flags_is_refused(mr):
    over_limit(mr)
    with raises_error(OOM):
        mr.eval("#!lua\nreturn 1", 0)
    with raises_error(OOM):
        mr.eval("#!lua\nreturn redis.call('GET', KEYS[1])", 1, "k")


def test_shebang_flags_allow_oom_and_no_writes(mr):
    mr.set("k", "v")
    over_limit(mr)
    assert mr.eval("#!lua flags=allow-oom\nreturn redis.call('SET', KEYS[1], 'w')",
                   1, "k2") == "OK"
    assert mr.eval("#!lua flags=allow-oom\nreturn redis.call('LPUSH', KEYS[1], 'a')",
                   1, "l") == 1
    assert mr.eval("#!lua flags=no-writes\nreturn redis.call('GET', KEYS[1])", 1, "k") == "v"
    assert mr.eval("#!lua flags=no-writes,allow-oom\nreturn redis.call('GET', KEYS[1])",
                   1, "k2") == "w"
    assert mr.get("k2") == "w"
    assert mr.lrange("l", 0, -1) == ["a"]


def test_fcall_when_over_limit(mr):
    lib = "\n".join([
        "#!lua name=mm",
        "redis.register_function('w', function(keys) return redis.call('SET', keys[1], 'v') end)",
        "redis.register_function('noop', function() return 1 end)",
        "redis.register_function{function_name='ro', flags={'no-writes'},",
        "  callback=function(keys) return redis.call('GET', keys[1]) end}",
        "redis.register_function{function_name='oom', flags={'allow-oom'},",
        "  callback=function(keys) return redis.call('SET', keys[1], 'v') end}",
    ])
    assert mr.function_load(lib) == "mm"
    mr.set("k", "old")
    over_limit(mr)
    with raises_error(OOM):
        mr.fcall("w", 1, "k")
    with raises_error(OOM):
        mr.fcall("noop", 0)
    assert mr.fcall("ro", 1, "k") == "old"
    assert mr.fcall_ro("ro", 1, "k") == "old"
    assert mr.fcall("oom", 1, "k2") == "OK"
    assert mr.get("k") == "old"
    assert mr.get("k2") == "v"


# --------------------------------------------------------------------------
# Keyspace notifications
# --------------------------------------------------------------------------

SENTINEL = "maxmemory-test-sentinel"


def test_evicted_notifications(mr, make_client, mm):
    assert mr.config_set("notify-keyspace-events", "KEge") is True
    sub = make_client(port=mm.port)
    ps = sub.pubsub()
    ps.psubscribe("__keyspace@0__:*", "__keyevent@0__:*")
    ps.subscribe(SENTINEL)
    confirmed, deadline = 0, time.monotonic() + 5
    while confirmed < 3:
        assert time.monotonic() < deadline, "no subscribe confirmations"
        m = ps.get_message(timeout=0.5)
        if m and m["type"] in ("psubscribe", "subscribe"):
            confirmed += 1

    assert mr.config_set("maxmemory-policy", "allkeys-lru") is True
    evicted_before = evicted_keys(mr)
    written = 4000
    set_limit_above_used(mr, 2 * MB)
    fill(mr, "k", written)
    stop_evicting(mr)
    evicted = evicted_keys(mr) - evicted_before
    assert evicted > 0
    assert mr.publish(SENTINEL, "done") == 1

    messages = []
    deadline = time.monotonic() + 10
    while True:
        assert time.monotonic() < deadline, f"sentinel not seen; {len(messages)} messages"
        m = ps.get_message(timeout=0.5)
        if m is None:
            continue
        if m["type"] == "message" and m["channel"] == SENTINEL:
            break
        if m["type"] == "pmessage":
            messages.append((m["channel"], m["data"]))
    ps.close()

    # each eviction: the keyspace message, then the keyevent one; no "del"
    assert len(messages) == 2 * evicted
    keys = []
    for (space, event), (evchan, key) in zip(messages[::2], messages[1::2]):
        assert event == "evicted"
        assert evchan == "__keyevent@0__:evicted"
        assert space == f"__keyspace@0__:{key}"
        keys.append(key)
    assert len(set(keys)) == evicted
    assert set(keys) <= {f"k{i}" for i in range(written)}
    assert count_existing(mr, keys) == 0
    assert mr.dbsize() == written - evicted


# --------------------------------------------------------------------------
# OBJECT FREQ / OBJECT IDLETIME
# --------------------------------------------------------------------------

@pytest.mark.parametrize("policy", ["allkeys-lfu", "volatile-lfu"])
def test_object_freq_counts_accesses(mr, policy):
    assert mr.config_set("maxmemory-policy", policy) is True
    mr.set("fresh", "value")
    mr.set("hot", "value")
    for _ in range(200):
        mr.get("hot")
    assert mr.object("freq", "hot") > mr.object("freq", "fresh")
    assert mr.object("freq", "missing") is None


def test_object_freq_exact_with_log_factor_zero(mr):
    assert mr.config_set("maxmemory-policy", "allkeys-lfu") is True
    assert mr.config_set("maxmemory", "1gb") is True
    # lfu-log-factor 0: every access counts; lfu-decay-time 0: no decay
    assert mr.config_set("lfu-log-factor", 0) is True
    assert mr.config_set("lfu-decay-time", 0) is True
    mr.set("k", "value")
    assert mr.object("freq", "k") == 5      # a new key starts at LFU_INIT_VAL
    read_all(mr, ["k"], times=10)
    assert mr.object("freq", "k") == 15
    assert mr.object("freq", "k") == 15     # OBJECT does not count as an access
    read_all(mr, ["k"], times=300)
    assert mr.object("freq", "k") == 255    # the counter saturates


# (value of k before, command, how much it adds to the LFU counter of k) with
# lfu-log-factor 0 (every access counts) and lfu-decay-time 0. Redis counts one
# access per key lookup; an overwrite keeps the counter; EXISTS, TYPE, TTL,
# PTTL and OBJECT look without touching.
FREQ_DELTAS = [
    ("value", ("GET", "k"), 1),
    ("value", ("SET", "k", "other"), 1),
    ("value", ("APPEND", "k", "x"), 1),
    ("value", ("STRLEN", "k"), 1),
    ("value", ("GETRANGE", "k", "0", "1"), 1),
    ("value", ("SETRANGE", "k", "0", "a"), 1),
    ("value", ("EXPIRE", "k", "100"), 1),
    ("value", ("TOUCH", "k"), 1),
    ("1000", ("INCR", "k"), 1),
    ("1000", ("INCRBY", "k", "5"), 1),
    ("value", ("SET", "k", "other", "GET"), 2),
    ("value", ("GETSET", "k", "other"), 2),
    ("value", ("MGET", "k", "k"), 2),
    ("value", ("EXISTS", "k"), 0),
    ("value", ("TYPE", "k"), 0),
    ("value", ("TTL", "k"), 0),
    ("value", ("PTTL", "k"), 0),
    ("value", ("OBJECT", "ENCODING", "k"), 0),
]


@pytest.mark.parametrize("before,command,delta", FREQ_DELTAS,
                         ids=[c[0] + ("-GET" if c[-1] == "GET" else "")
                              for _, c, _ in FREQ_DELTAS])
def test_object_freq_per_command(mr, before, command, delta):
    assert mr.config_set("maxmemory-policy", "allkeys-lfu") is True
    assert mr.config_set("maxmemory", "1gb") is True
    assert mr.config_set("lfu-log-factor", 0) is True
    assert mr.config_set("lfu-decay-time", 0) is True
    mr.set("k", before)
    read_all(mr, ["k"], times=10)
    assert mr.object("freq", "k") == 15
    mr.execute_command(*command)
    assert mr.object("freq", "k") == 15 + delta


def test_object_freq_and_idletime_errors(mr):
    mr.set("k", "v")
    for policy in ["noeviction", "allkeys-lru", "volatile-ttl", "allkeys-random"]:
        assert mr.config_set("maxmemory-policy", policy) is True
        with raises_error(LFU_NOT_SELECTED):
            mr.object("freq", "k")
        assert mr.object("idletime", "k") >= 0
    for policy in ["allkeys-lfu", "volatile-lfu"]:
        assert mr.config_set("maxmemory-policy", policy) is True
        with raises_error(LFU_SELECTED):
            mr.object("idletime", "k")
        assert mr.object("freq", "k") >= 0


def test_object_idletime(mr):
    mr.set("idle", "value")
    mr.set("used", "value")
    assert mr.object("idletime", "idle") == 0
    assert mr.object("idletime", "missing") is None
    time.sleep(2.1)
    assert mr.get("used") == "value"
    first = mr.object("idletime", "idle")
    assert 1 <= first <= 10
    assert mr.object("idletime", "used") <= 1
    # OBJECT does not touch the key; switching to an LRU policy keeps the stamp
    assert mr.config_set("maxmemory-policy", "allkeys-lru") is True
    assert mr.object("idletime", "idle") >= first
    assert isinstance(mr.object("encoding", "idle"), str)
    assert mr.object("idletime", "idle") >= first
    assert mr.touch("idle") == 1
    assert mr.object("idletime", "idle") <= 1


def test_lookups_that_do_not_touch_keep_idletime(mr):
    assert mr.config_set("maxmemory-policy", "allkeys-lru") is True
    probes = {
        "EXISTS": lambda k: mr.exists(k) == 1,
        "TYPE": lambda k: mr.type(k) == "string",
        "TTL": lambda k: mr.ttl(k) == -1,
        "PTTL": lambda k: mr.pttl(k) == -1,
        "OBJECT ENCODING": lambda k: isinstance(mr.object("encoding", k), str),
        "GET": lambda k: mr.get(k) == "value",           # the control: touches
    }
    for name in probes:
        mr.set(name, "value")
    time.sleep(2.1)
    for name, probe in probes.items():
        assert probe(name), name
    idle = {name: mr.object("idletime", name) for name in probes}
    assert idle.pop("GET") <= 1
    reset_by = sorted(name for name, seconds in idle.items() if seconds < 1)
    assert reset_by == [], f"idle time reset by {reset_by}: {idle}"

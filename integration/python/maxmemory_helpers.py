"""Helpers and fixtures for test_maxmemory.py (maxmemory and eviction).

* mm_server: a dedicated server for the whole module, so a limit left behind
  by a failing test can never reach the session server. reset() puts every
  eviction setting back to its default (maxmemory 0, noeviction, samples 5,
  tenacity 10, lfu-log-factor 10, lfu-decay-time 1, no notifications) and
  empties the server; the fixtures run it before and after every test.
* mr / mrb / mrc: redis-py (decoded / binary) and raw clients on that server
  in the test's protocol (RESP2, or RESP3 after HELLO 3 for the raw one).
* used_memory / evicted_keys / set_limit_above_used: INFO numbers, and a
  maxmemory relative to what the server uses now, so no test depends on the
  allocator's absolute numbers.
* stop_evicting(): maxmemory 0 before DBSIZE and evicted_keys are compared
  (with a limit set, every command may evict first, even INFO).
* fill(): many SETs in pipelined batches; returns the replies (errors
  included, not raised).

Every expectation was checked against redis-server 7.0.15.
"""

from __future__ import annotations

import time

import pytest
import redis

from helpers import RawConn, ServerProcess

OOM = "OOM command not allowed when used memory > 'maxmemory'."
EXECABORT = "EXECABORT Transaction discarded because of previous errors."
EXECABORT_OOM = f"EXECABORT Transaction discarded because of: {OOM}"
LFU_NOT_SELECTED = ("ERR An LFU maxmemory policy is not selected, access frequency not "
                    "tracked. Please note that when switching between policies at runtime "
                    "LRU and LFU data will take some time to adjust.")
LFU_SELECTED = ("ERR An LFU maxmemory policy is selected, idle time not tracked. Please "
                "note that when switching between policies at runtime LRU and LFU data "
                "will take some time to adjust.")

MB = 1 << 20
VALUE_SIZE = 1000
BATCH = 1000
# How far used_memory may stay above maxmemory once writes have stopped
# (Redis 7.0.15 ends a few bytes above the limit; vaylix within it).
SLACK = 1 * MB

DEFAULTS = [
    ("maxmemory", "0"),
    ("maxmemory-policy", "noeviction"),
    ("maxmemory-samples", "5"),
    ("maxmemory-eviction-tenacity", "10"),
    ("lfu-log-factor", "10"),
    ("lfu-decay-time", "1"),
    ("notify-keyspace-events", ""),
]


def reset(port):
    """Eviction settings back to the defaults, then an empty server. The
    limit goes first so that nothing is evicted or refused on the way."""
    with RawConn(port) as c:
        for name, value in DEFAULTS:
            got = c.cmd("CONFIG", "SET", name, value)
            assert got == "OK", (name, got)
        assert c.cmd("FLUSHALL") == "OK"
        assert c.cmd("SCRIPT", "FLUSH") == "OK"
        assert c.cmd("FUNCTION", "FLUSH") == "OK"


@pytest.fixture(scope="module")
def mm_server(server):
    srv = ServerProcess(name="maxmemory").start()
    yield srv
    srv.stop()


@pytest.fixture
def mm(mm_server):
    """The dedicated server, reset before and after the test."""
    reset(mm_server.port)
    yield mm_server
    reset(mm_server.port)


@pytest.fixture
def mr(mm, make_client):
    """decode_responses=True redis-py client on the maxmemory server."""
    return make_client(port=mm.port)


@pytest.fixture
def mrb(mm, make_client):
    """Binary redis-py client on the maxmemory server."""
    return make_client(decode=False, port=mm.port)


@pytest.fixture
def mrc(mm, protocol):
    """Raw connection on the maxmemory server in the test's protocol."""
    c = RawConn(mm.port)
    if protocol == 3:
        assert isinstance(c.cmd("HELLO", "3"), dict)
    yield c
    c.close()


@pytest.fixture
def admin_conn(mm):
    """A second raw RESP2 connection (CONFIG SET from outside a MULTI)."""
    c = RawConn(mm.port)
    yield c
    c.close()


def used_memory(client) -> int:
    return int(client.info("memory")["used_memory"])


def evicted_keys(client) -> int:
    return int(client.info("stats")["evicted_keys"])


def set_limit_above_used(client, extra: int) -> int:
    """CONFIG SET maxmemory to the current used_memory + extra; returns it."""
    limit = used_memory(client) + extra
    assert client.config_set("maxmemory", limit) is True
    return limit


def stop_evicting(client):
    """CONFIG SET maxmemory 0. Any command may evict while the server is over
    its limit (INFO and DBSIZE too), so counts are compared only after this."""
    assert client.config_set("maxmemory", 0) is True


def value(i: int, size: int = VALUE_SIZE) -> str:
    """A non-numeric value (Redis shares small integer objects, which would
    also share their LRU/LFU stamp)."""
    head = f"v{i}:"
    return head + "x" * (size - len(head))


def fill(client, prefix: str, count: int, start: int = 0, ex=None, size=VALUE_SIZE):
    """SET prefix<i> for i in [start, start+count), pipelined in batches;
    returns every reply (errors as exception objects)."""
    replies = []
    for lo in range(start, start + count, BATCH):
        pipe = client.pipeline(transaction=False)
        for i in range(lo, min(lo + BATCH, start + count)):
            pipe.set(f"{prefix}{i}", value(i, size), ex=ex)
        replies.extend(pipe.execute(raise_on_error=False))
    return replies


def read_all(client, keys, times: int = 1):
    """GET every key `times` times, pipelined."""
    pipe = client.pipeline(transaction=False)
    for _ in range(times):
        for k in keys:
            pipe.get(k)
    return pipe.execute()


def count_existing(client, keys) -> int:
    pipe = client.pipeline(transaction=False)
    for k in keys:
        pipe.exists(k)
    return sum(pipe.execute())


def wait_until(predicate, timeout=5.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)


def is_oom(reply) -> bool:
    return (isinstance(reply, redis.exceptions.OutOfMemoryError)
            or (isinstance(reply, redis.exceptions.ResponseError)
                and str(reply).endswith("command not allowed when used memory > 'maxmemory'.")))

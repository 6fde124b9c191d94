"""CONFIG GET / SET as Redis 7.0 answers them, written against redis-server 7.0.15.

Every parameter Redis 7.0 has is known (vaylix stores and echoes those it does not act on),
with Redis's defaults, types, aliases and errors; CONFIG SET of several parameters is
all-or-nothing and refuses a repeated one.
"""

from __future__ import annotations

import pytest

from helpers import RawConn, RespError, ServerProcess


@pytest.fixture(scope="module")
def srv(server):
    s = ServerProcess(name="config").start()
    yield s
    s.stop()


@pytest.fixture
def c(srv):
    conn = RawConn(srv.port)
    yield conn
    conn.close()


def get(c, name):
    reply = c.cmd("CONFIG", "GET", name)
    assert len(reply) == 2, reply
    return reply[1].decode()


def failed(name, why):
    return RespError(f"ERR CONFIG SET failed (possibly related to argument '{name}') - {why}")


@pytest.mark.parametrize("name,default", [
    ("repl-backlog-size", "1048576"),
    ("activedefrag", "no"),
    ("activerehashing", "yes"),
    ("tls-port", "0"),
    ("cluster-enabled", "no"),
    ("replica-priority", "100"),
    ("slave-priority", "100"),
    ("repl-diskless-load", "disabled"),
    ("stream-node-max-entries", "100"),
    ("latency-monitor-threshold", "0"),
    ("acllog-max-len", "128"),
    ("oom-score-adj-values", "0 200 800"),
    ("lazyfree-lazy-eviction", "no"),
])
def test_redis_parameters_have_redis_defaults(c, name, default):
    assert c.cmd("CONFIG", "GET", name) == [name.encode(), default.encode()]


def test_get_star_lists_redis_parameters_and_their_aliases(c):
    names = set(c.cmd("CONFIG", "GET", "*")[::2])
    for n in [b"masterauth", b"masteruser", b"replicaof", b"slaveof", b"tls-cert-file",
              b"cluster-node-timeout", b"shutdown-on-sigterm", b"hll-sparse-max-bytes",
              b"min-replicas-to-write", b"min-slaves-to-write"]:
        assert n in names, n
    # Directives only a config file knows are not parameters.
    assert b"rename-command" not in names and b"loadmodule" not in names


def test_set_stores_and_echoes_and_an_alias_shares_the_value(c):
    try:
        assert c.cmd("CONFIG", "SET", "slave-priority", "5") == "OK"
        assert get(c, "replica-priority") == "5"
        assert c.cmd("CONFIG", "SET", "replica-priority", "7") == "OK"
        assert get(c, "slave-priority") == "7"
        assert c.cmd("CONFIG", "SET", "repl-backlog-size", "2mb") == "OK"
        assert get(c, "repl-backlog-size") == "2097152"
        assert c.cmd("CONFIG", "SET", "LAZYFREE-LAZY-EVICTION", "YES") == "OK"
        assert get(c, "lazyfree-lazy-eviction") == "yes"
        # Aliases are distinct names to Redis: both may be set at once, the last one wins.
        assert c.cmd("CONFIG", "SET", "slave-priority", "1", "replica-priority", "2") == "OK"
        assert get(c, "slave-priority") == "2"
    finally:
        c.cmd("CONFIG", "SET", "replica-priority", "100", "repl-backlog-size", "1mb",
              "lazyfree-lazy-eviction", "no")


@pytest.mark.parametrize("name,value,why", [
    ("activedefrag", "maybe", "argument must be 'yes' or 'no'"),
    ("repl-diskless-load", "bogus",
     "argument(s) must be one of the following: disabled, on-empty-db, swapdb"),
    ("repl-timeout", "abc", "argument couldn't be parsed into an integer"),
    ("repl-backlog-size", "lots", "argument must be a memory value"),
    ("hz", "-1", "argument must be between 0 and 2147483647 inclusive"),
    ("cluster-enabled", "yes", "can't set immutable config"),
    ("daemonize", "yes", "can't set immutable config"),
    ("dbfilename", "x.rdb", "can't set protected config"),
    ("dir", "/tmp", "can't set protected config"),
])
def test_set_refuses_as_redis(c, name, value, why):
    before = c.cmd("CONFIG", "GET", name)
    assert c.cmd("CONFIG", "SET", name, value) == failed(name, why)
    assert c.cmd("CONFIG", "GET", name) == before


def test_unknown_parameter(c):
    assert c.cmd("CONFIG", "SET", "no-such-thing", "1") == RespError(
        "ERR Unknown option or number of arguments for CONFIG SET - 'no-such-thing'")
    assert c.cmd("CONFIG", "GET", "no-such-thing") == []


def test_hz_is_clamped_to_what_the_server_runs(c):
    try:
        assert c.cmd("CONFIG", "SET", "hz", "1000") == "OK"
        assert get(c, "hz") == "500"
        assert c.cmd("CONFIG", "SET", "hz", "0") == "OK"
        assert get(c, "hz") == "1"
    finally:
        assert c.cmd("CONFIG", "SET", "hz", "10") == "OK"


@pytest.mark.parametrize("args,named", [
    (("maxmemory", "1mb", "maxmemory", "2mb"), "maxmemory"),
    (("hz", "11", "HZ", "12"), "HZ"),
])
def test_a_repeated_parameter_is_refused_and_nothing_changes(c, args, named):
    before = [get(c, "maxmemory"), get(c, "hz"), get(c, "replica-priority")]
    assert c.cmd("CONFIG", "SET", *args) == failed(named, "duplicate parameter")
    assert [get(c, "maxmemory"), get(c, "hz"), get(c, "replica-priority")] == before


def test_several_parameters_apply_together_or_not_at_all(c):
    try:
        assert c.cmd("CONFIG", "SET", "maxmemory", "5mb", "repl-timeout", "61",
                     "activedefrag", "maybe") == failed(
            "activedefrag", "argument must be 'yes' or 'no'")
        assert get(c, "maxmemory") == "0"
        assert get(c, "repl-timeout") == "60"
        assert c.cmd("CONFIG", "SET", "maxmemory", "5mb", "repl-timeout", "61") == "OK"
        assert get(c, "maxmemory") == str(5 * 1024 * 1024)
        assert get(c, "repl-timeout") == "61"
    finally:
        c.cmd("CONFIG", "SET", "maxmemory", "0", "repl-timeout", "60")


def test_odd_argument_counts(c):
    assert c.cmd("CONFIG", "SET", "hz") == RespError(
        "ERR wrong number of arguments for 'config|set' command")
    assert c.cmd("CONFIG", "SET", "hz", "10", "maxmemory") == RespError("ERR syntax error")

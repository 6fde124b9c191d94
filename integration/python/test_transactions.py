"""Transactions: MULTI / EXEC / DISCARD / WATCH / UNWATCH."""

from __future__ import annotations

import time

import pytest
import redis

from helpers import RawConn, RespError, raises_error

EXECABORT = "EXECABORT Transaction discarded because of previous errors."


# --------------------------------------------------------------------------
# redis-py pipelines (transaction=True)
# --------------------------------------------------------------------------

def test_pipeline_transaction(r):
    with r.pipeline(transaction=True) as pipe:
        pipe.set("a", "1").incr("a").get("a").mget("a", "missing").delete("a")
        assert pipe.execute() == [True, 2, "2", ["2", None], 1]
    assert r.exists("a") == 0


def test_pipeline_without_transaction(r):
    with r.pipeline(transaction=False) as pipe:
        for i in range(100):
            pipe.set(f"k{i}", i)
        pipe.dbsize()
        res = pipe.execute()
    assert res[:100] == [True] * 100 and res[100] == 100


def test_pipeline_runtime_error_does_not_stop_others(r):
    r.set("s", "abc")
    with r.pipeline(transaction=True) as pipe:
        pipe.set("a", "1").incr("s").set("b", "2").get("s")
        res = pipe.execute(raise_on_error=False)
    assert res[0] is True
    assert isinstance(res[1], redis.ResponseError)
    assert str(res[1]) == "value is not an integer or out of range"
    assert res[2] is True and res[3] == "abc"
    assert r.mget("a", "b") == ["1", "2"]


def test_pipeline_runtime_error_raises_by_default(r):
    r.set("s", "abc")
    with r.pipeline(transaction=True) as pipe:
        pipe.incr("s").set("after", "1")
        with pytest.raises(redis.ResponseError):
            pipe.execute()
    # the other command still ran
    assert r.get("after") == "1"


def test_pipeline_queued_syntax_error_aborts(r):
    with r.pipeline(transaction=True) as pipe:
        pipe.set("a", "1")
        pipe.execute_command("SET", "b")  # wrong arity: rejected while queueing
        pipe.set("c", "3")
        with pytest.raises(redis.ResponseError) as info:
            pipe.execute()
    assert "wrong number of arguments for 'set' command" in str(info.value)
    assert r.exists("a", "b", "c") == 0


def test_pipeline_watch_success(r):
    r.set("counter", "5")
    with r.pipeline() as pipe:
        pipe.watch("counter")
        value = int(pipe.get("counter"))
        pipe.multi()
        pipe.set("counter", value + 1)
        assert pipe.execute() == [True]
    assert r.get("counter") == "6"


def test_pipeline_watch_conflict(r, make_client):
    other = make_client()
    r.set("counter", "5")
    with r.pipeline() as pipe:
        pipe.watch("counter")
        other.set("counter", "100")
        pipe.multi()
        pipe.set("counter", "6")
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert r.get("counter") == "100"


def test_transaction_helper_retries(r, make_client):
    other = make_client()
    r.set("k", "0")
    attempts = []

    def fn(pipe):
        v = int(pipe.get("k"))
        if not attempts:
            other.set("k", "10")  # spoil the first attempt
        attempts.append(v)
        pipe.multi()
        pipe.set("k", v + 1)

    r.transaction(fn, "k")
    assert attempts == [0, 10]
    assert r.get("k") == "11"


# --------------------------------------------------------------------------
# Raw MULTI/EXEC through redis-py execute_command (both protocols)
# --------------------------------------------------------------------------

def test_multi_exec_execute_command(r):
    assert r.execute_command("MULTI") in (True, "OK")
    assert r.execute_command("ECHO", "x") == "QUEUED"
    assert r.execute_command("INCR", "n") == "QUEUED"
    res = r.execute_command("EXEC")
    assert res == ["x", 1]


def test_exec_nil_on_watch_failure_execute_command(r, make_client):
    other = make_client()
    r.set("w", "1")
    assert r.execute_command("WATCH", "w") in (True, "OK")
    other.set("w", "2")
    r.execute_command("MULTI")
    assert r.execute_command("ECHO", "x") == "QUEUED"
    assert r.execute_command("EXEC") is None
    # watches are cleared by EXEC
    r.execute_command("MULTI")
    r.execute_command("ECHO", "x")
    assert r.execute_command("EXEC") == ["x"]


def test_empty_transaction(r):
    r.execute_command("MULTI")
    assert r.execute_command("EXEC") == []


def test_discard(r):
    r.execute_command("MULTI")
    r.execute_command("ECHO", "never")
    assert r.execute_command("DISCARD") in (True, "OK")
    with raises_error("ERR EXEC without MULTI"):
        r.execute_command("EXEC")


def test_transaction_errors(r):
    with raises_error("ERR EXEC without MULTI"):
        r.execute_command("EXEC")
    with raises_error("ERR DISCARD without MULTI"):
        r.execute_command("DISCARD")
    r.execute_command("MULTI")
    with raises_error("ERR MULTI calls can not be nested"):
        r.execute_command("MULTI")
    with raises_error("ERR WATCH inside MULTI is not allowed"):
        r.execute_command("WATCH", "x")
    # neither error aborts the transaction
    r.execute_command("ECHO", "still-queued")
    assert r.execute_command("EXEC") == ["still-queued"]
    with raises_error("ERR wrong number of arguments for 'watch' command"):
        r.execute_command("WATCH")


def test_execabort_execute_command(r):
    r.execute_command("MULTI")
    r.execute_command("SET", "a", "1")
    with raises_error("ERR wrong number of arguments for 'set' command"):
        r.execute_command("SET", "b")
    with raises_error("ERR unknown command 'NOSUCHCMD', with args beginning with: 'x' "):
        r.execute_command("NOSUCHCMD", "x")
    with raises_error(EXECABORT, exc_type=redis.exceptions.ExecAbortError):
        r.execute_command("EXEC")
    assert r.exists("a") == 0
    # connection is out of MULTI again
    assert r.set("a", "2") is True


# --------------------------------------------------------------------------
# Raw socket: exact replies
# --------------------------------------------------------------------------

def test_raw_transaction_replies(raw, flushed):
    c = raw()
    assert c.cmd("MULTI") == "OK"
    assert c.cmd("SET", "s", "abc") == "QUEUED"
    assert c.cmd("INCR", "s") == "QUEUED"
    assert c.cmd("SET", "t", "1") == "QUEUED"
    assert c.cmd("GET", "missing") == "QUEUED"
    assert c.cmd("EXEC") == ["OK", RespError("ERR value is not an integer or out of range"),
                             "OK", None]
    assert c.cmd("GET", "t") == b"1"


def test_raw_execabort(raw, flushed):
    c = raw()
    assert c.cmd("MULTI") == "OK"
    assert c.cmd("SET", "a", "1") == "QUEUED"
    assert c.cmd("SET", "b") == RespError("ERR wrong number of arguments for 'set' command")
    assert c.cmd("EXEC") == RespError(EXECABORT)
    assert c.cmd("EXISTS", "a") == 0


@pytest.mark.parametrize("proto", ["2", "3"])
def test_raw_exec_nil_encoding(raw, flushed, proto):
    c = raw()
    other = raw()
    c.cmd("HELLO", proto)
    c.cmd("WATCH", "k")
    other.cmd("SET", "k", "v")
    c.cmd("MULTI")
    c.cmd("PING")
    c.send(RawConn.encode("EXEC"))
    assert c.read_line() == (b"*-1" if proto == "2" else b"_")


# --------------------------------------------------------------------------
# WATCH invalidation cases
# --------------------------------------------------------------------------

def _watch_then(r, other, key, action, setup=None):
    """WATCH key on r, run action(other), then MULTI/SET/EXEC on r."""
    if setup:
        setup(r)
    assert r.execute_command("WATCH", key) in (True, "OK")
    action(other)
    r.execute_command("MULTI")
    r.execute_command("ECHO", "ran")
    return r.execute_command("EXEC")


@pytest.mark.parametrize("name, setup, action", [
    ("write", lambda c: c.set("w", "1"), lambda o: o.set("w", "2")),
    ("same-value-write", lambda c: c.set("w", "1"), lambda o: o.set("w", "1")),
    ("append", lambda c: c.set("w", "1"), lambda o: o.append("w", "x")),
    ("incr", lambda c: c.set("w", "1"), lambda o: o.incr("w")),
    ("del", lambda c: c.set("w", "1"), lambda o: o.delete("w")),
    ("expire", lambda c: c.set("w", "1"), lambda o: o.expire("w", 100)),
    ("persist", lambda c: c.set("w", "1", ex=100), lambda o: o.persist("w")),
    ("rename-away", lambda c: c.set("w", "1"), lambda o: o.rename("w", "other")),
    ("rename-onto", lambda c: c.set("src", "1"), lambda o: o.rename("src", "w")),
    ("flushdb", lambda c: c.set("w", "1"), lambda o: o.flushdb()),
    ("flushall", lambda c: c.set("w", "1"), lambda o: o.flushall()),
    ("create", None, lambda o: o.set("w", "new")),
    ("create-then-delete", None, lambda o: (o.set("w", "new"), o.delete("w"))),
    ("move-away", lambda c: c.set("w", "1"), lambda o: o.move("w", 1)),
    ("getdel", lambda c: c.set("w", "1"), lambda o: o.getdel("w")),
])
def test_watch_invalidated(r, make_client, name, setup, action):
    other = make_client()
    assert _watch_then(r, other, "w", action, setup) is None, name


@pytest.mark.parametrize("name, setup, action", [
    ("other-key", lambda c: c.set("w", "1"), lambda o: o.set("unrelated", "x")),
    ("read-only", lambda c: c.set("w", "1"), lambda o: (o.get("w"), o.exists("w"), o.ttl("w"))),
    ("same-name-other-db", lambda c: c.set("w", "1"),
     lambda o: (o.execute_command("SELECT", 1), o.set("w", "x"), o.execute_command("SELECT", 0))),
    ("del-missing", None, lambda o: o.delete("w")),
    ("failed-nx-set", lambda c: c.set("w", "1"), lambda o: o.set("w", "2", nx=True)),
])
def test_watch_not_invalidated(r, make_client, name, setup, action):
    other = make_client()
    assert _watch_then(r, other, "w", action, setup) == ["ran"], name


def test_watch_expired_during_watch(r):
    r.set("w", "1", px=100)
    r.execute_command("WATCH", "w")
    time.sleep(0.25)
    r.execute_command("MULTI")
    r.execute_command("ECHO", "ran")
    assert r.execute_command("EXEC") is None


def test_unwatch(r, make_client):
    other = make_client()
    r.set("w", "1")
    r.execute_command("WATCH", "w")
    assert r.execute_command("UNWATCH") in (True, "OK")
    other.set("w", "2")
    r.execute_command("MULTI")
    r.execute_command("ECHO", "ran")
    assert r.execute_command("EXEC") == ["ran"]


def test_discard_unwatches(r, make_client):
    other = make_client()
    r.execute_command("WATCH", "w")
    r.execute_command("MULTI")
    r.execute_command("DISCARD")
    other.set("w", "2")
    r.execute_command("MULTI")
    r.execute_command("ECHO", "ran")
    assert r.execute_command("EXEC") == ["ran"]


def test_watch_multiple_keys(r, make_client):
    other = make_client()
    r.execute_command("WATCH", "a", "b", "c")
    other.set("c", "x")
    r.execute_command("MULTI")
    r.execute_command("ECHO", "ran")
    assert r.execute_command("EXEC") is None


def test_own_write_before_multi_invalidates(r):
    # A write by the watching client itself also counts.
    r.execute_command("WATCH", "w")
    r.set("w", "mine")
    r.execute_command("MULTI")
    r.execute_command("ECHO", "ran")
    assert r.execute_command("EXEC") is None


def test_transaction_is_isolated(r, make_client):
    other = make_client()
    r.execute_command("MULTI")
    r.execute_command("SET", "iso", "1")
    # queued, not executed yet
    assert other.get("iso") is None
    r.execute_command("EXEC")
    assert other.get("iso") == "1"


def test_select_inside_multi(r):
    r.execute_command("MULTI")
    r.execute_command("SELECT", 4)
    r.execute_command("SET", "in4", "x")
    r.execute_command("EXEC")
    # SELECT inside MULTI sticks for the connection
    assert r.get("in4") == "x"
    r.execute_command("SELECT", 0)
    assert r.get("in4") is None

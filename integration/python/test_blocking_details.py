"""Blocking commands, the details: WRONGTYPE (immediate, key order, keys that
change type while clients wait, a BLMOVE destination of the wrong type),
chains of BLMOVE waiters, which writes wake waiters (RENAME, COPY, LMOVE,
RPOPLPUSH, SORT STORE, RESTORE, MOVE, SWAPDB, ZUNIONSTORE, ZINCRBY) and which
do not (LPUSHX on a missing key, a push in another type), Lua scripts,
argument / arity errors and the order in which they are checked, and timeout
parsing quirks (ms rounded up, hex floats).

Same harness as test_blocking.py (Waiter + bounded INFO polling); every
expected reply was checked against redis-server 7.0.15 (see BLOCK_FACTS.md).
"""

from __future__ import annotations

import time

import pytest

from blocking_helpers import (needs_command, COUNT, NEGATIVE, NOT_FLOAT, NUMKEYS, SYNTAX,  # noqa: F401
                              WRONGTYPE, admin, arity, blocked_clients, w, wait_blocked,
                              waiter)
from helpers import RespError, raises_error


# --------------------------------------------------------------------------
# WRONGTYPE
# --------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ("BLPOP", "str", 0), ("BRPOP", "str", 0), ("BRPOPLPUSH", "str", "d", 0),
    ("BLMOVE", "str", "d", "LEFT", "LEFT", 0), ("BLMPOP", 0, 1, "str", "LEFT"),
    ("BZPOPMIN", "str", 0), ("BZPOPMAX", "str", 0), ("BZMPOP", 0, 1, "str", "MIN"),
    ("BZPOPMIN", "list", 0), ("BZMPOP", 0, 1, "list", "MAX"),
    ("BLPOP", "zset", 0), ("BLMPOP", 0, 1, "zset", "RIGHT"),
], ids=lambda a: " ".join(map(str, a)) if isinstance(a, tuple) else None)
def test_wrongtype_immediate(admin, waiter, args):
    admin.cmd("SET", "str", "x")
    admin.cmd("RPUSH", "list", "x")
    admin.cmd("ZADD", "zset", 1, "x")
    c = waiter()
    assert c.cmd(*args) == RespError(WRONGTYPE)
    assert blocked_clients(admin) == 0
    assert admin.cmd("LLEN", "list") == 1
    assert admin.cmd("ZCARD", "zset") == 1


def test_wrongtype_checked_in_key_order(admin, waiter, w):
    admin.cmd("SET", "str", "x")
    admin.cmd("RPUSH", "l", "1", "2")
    c = waiter()
    assert c.cmd("BLPOP", "missing", "str", 0) == RespError(WRONGTYPE)
    assert c.cmd("BLPOP", "str", "l", 0) == RespError(WRONGTYPE)
    assert admin.cmd("LLEN", "l") == 2
    c.send("BLPOP", "l", "str", 0)          # first non-empty list wins, str never looked at
    assert c.reply() == w.arr(w.bulk("l"), w.bulk("1"))
    assert c.cmd("BLMPOP", 0, 2, "missing", "str", "LEFT") == RespError(WRONGTYPE)
    c.send("BLMPOP", 0, 2, "l", "str", "LEFT")
    assert c.reply() == w.arr(w.bulk("l"), w.arr(w.bulk("2")))


def test_wrongtype_with_redis_py(r):
    r.set("s", "v")
    with raises_error(WRONGTYPE):
        r.blpop("s", 0)
    with raises_error(WRONGTYPE):
        r.bzpopmax(["nothing", "s"], 0)
    with raises_error(WRONGTYPE):
        r.blmove("s", "d", 0)


def test_key_becomes_string_while_waiting(admin, waiter, w):
    """Redis 7.0 keeps the waiter blocked (no error) when the key becomes a
    string; after DEL, a list push serves it."""
    c = waiter()
    c.block(admin, 1, "BLPOP", "k", 0)
    assert admin.cmd("SET", "k", "str") == "OK"
    assert c.silent(0.2)
    assert blocked_clients(admin) == 1
    assert admin.cmd("DEL", "k") == 1
    assert admin.cmd("RPUSH", "k", "x") == 1
    assert c.reply() == w.arr(w.bulk("k"), w.bulk("x"))
    assert admin.cmd("EXISTS", "k") == 0


def test_key_becomes_set_in_transaction_while_waiting(admin, waiter, w):
    c = waiter()
    c.block(admin, 1, "BLPOP", "k", 0)
    assert admin.cmd("MULTI") == "OK"
    assert admin.cmd("DEL", "k") == "QUEUED"
    assert admin.cmd("SADD", "k", "m") == "QUEUED"
    assert admin.cmd("EXEC") == [0, 1]
    assert c.silent(0.2)
    assert blocked_clients(admin) == 1
    assert admin.cmd("DEL", "k") == 1
    assert admin.cmd("LPUSH", "k", "y") == 1
    assert c.reply() == w.arr(w.bulk("k"), w.bulk("y"))


def test_push_then_set_in_one_transaction_wakes_nobody(admin, waiter, w):
    c = waiter()
    c.block(admin, 1, "BLPOP", "k", 0)
    assert admin.cmd("MULTI") == "OK"
    assert admin.cmd("RPUSH", "k", "m") == "QUEUED"
    assert admin.cmd("SET", "k", "s") == "QUEUED"
    assert admin.cmd("EXEC") == [1, "OK"]
    assert c.silent(0.2)
    assert admin.cmd("DEL", "k") == 1
    assert admin.cmd("RPUSH", "k", "e") == 1
    assert c.reply() == w.arr(w.bulk("k"), w.bulk("e"))


def test_push_del_push_in_one_transaction_serves_last(admin, waiter, w):
    c = waiter()
    c.block(admin, 1, "BLPOP", "k", 0)
    assert admin.cmd("MULTI") == "OK"
    for args in (("RPUSH", "k", "m"), ("DEL", "k"), ("RPUSH", "k", "n")):
        assert admin.cmd(*args) == "QUEUED"
    assert admin.cmd("EXEC") == [1, 1, 1]
    assert c.reply() == w.arr(w.bulk("k"), w.bulk("n"))
    assert admin.cmd("EXISTS", "k") == 0


def test_list_waiter_not_woken_by_zadd(admin, waiter, w):
    c = waiter()
    c.block(admin, 1, "BLPOP", "k", 0)
    assert admin.cmd("ZADD", "k", 1, "a") == 1
    assert c.silent(0.2)
    assert admin.cmd("DEL", "k") == 1
    assert admin.cmd("RPUSH", "k", "q") == 1
    assert c.reply() == w.arr(w.bulk("k"), w.bulk("q"))


def test_zset_waiter_not_woken_by_rpush(admin, waiter, w):
    c = waiter()
    c.block(admin, 1, "BZPOPMIN", "z", 0)
    assert admin.cmd("RPUSH", "z", "l") == 1
    assert c.silent(0.2)
    assert admin.cmd("LRANGE", "z", 0, -1) == [b"l"]
    assert admin.cmd("DEL", "z") == 1
    assert admin.cmd("ZADD", "z", 5, "q") == 1
    assert c.reply() == w.arr(w.bulk("z"), w.bulk("q"), w.score("5"))


def test_list_and_zset_waiters_on_same_key_name(admin, waiter, w):
    lw, zw = waiter(), waiter()
    zw.block(admin, 1, "BZPOPMAX", "k", 0)
    lw.block(admin, 2, "BRPOP", "k", 0)
    assert admin.cmd("RPUSH", "k", "x") == 1
    assert lw.reply() == w.arr(w.bulk("k"), w.bulk("x"))
    assert zw.silent()
    assert admin.cmd("ZADD", "k", 2, "m") == 1
    assert zw.reply() == w.arr(w.bulk("k"), w.bulk("m"), w.score("2"))


def test_one_of_several_keys_becomes_string(admin, waiter, w):
    c = waiter()
    c.block(admin, 1, "BLPOP", "k1", "k2", 0)
    assert admin.cmd("SET", "k1", "s") == "OK"
    assert c.silent()
    assert admin.cmd("RPUSH", "k2", "v") == 1
    assert c.reply() == w.arr(w.bulk("k2"), w.bulk("v"))
    assert admin.cmd("GET", "k1") == b"s"


@pytest.mark.parametrize("name", ["BLMOVE", "BRPOPLPUSH"])
def test_served_move_into_wrongtype_destination(admin, waiter, w, name):
    """The waiter is woken with WRONGTYPE; the element stays in the source."""
    admin.cmd("SET", "dst", "s")
    c = waiter()
    args = (("BLMOVE", "src", "dst", "LEFT", "RIGHT", 0) if name == "BLMOVE"
            else ("BRPOPLPUSH", "src", "dst", 0))
    c.block(admin, 1, *args)
    assert admin.cmd("RPUSH", "src", "e1") == 1
    assert c.value() == RespError(WRONGTYPE)
    wait_blocked(admin, 0)
    assert admin.cmd("LRANGE", "src", 0, -1) == [b"e1"]
    assert admin.cmd("GET", "dst") == b"s"
    # immediate form: same error, source untouched
    assert c.cmd(*args) == RespError(WRONGTYPE)
    assert admin.cmd("LRANGE", "src", 0, -1) == [b"e1"]


def test_wrongtype_destination_then_next_waiter_served(admin, waiter, w):
    admin.cmd("ZADD", "zdst", 1, "m")
    c1, c2 = waiter(), waiter()
    c1.block(admin, 1, "BLMOVE", "src", "zdst", "LEFT", "RIGHT", 0)
    c2.block(admin, 2, "BLPOP", "src", 0)
    assert admin.cmd("RPUSH", "src", "e") == 1
    assert c1.value() == RespError(WRONGTYPE)
    assert c2.reply() == w.arr(w.bulk("src"), w.bulk("e"))
    assert admin.cmd("EXISTS", "src") == 0


# --------------------------------------------------------------------------
# Chains
# --------------------------------------------------------------------------

def test_chain_of_three_waiters_one_push(admin, waiter, w):
    c1, c2, c3 = waiter(), waiter(), waiter()
    c1.block(admin, 1, "BLMOVE", "a", "b", "LEFT", "RIGHT", 0)
    c2.block(admin, 2, "BRPOPLPUSH", "b", "c", 0)
    c3.block(admin, 3, "BLPOP", "c", 0)
    assert admin.cmd("RPUSH", "a", "j") == 1
    assert c1.reply() == w.bulk("j")
    assert c2.reply() == w.bulk("j")
    assert c3.reply() == w.arr(w.bulk("c"), w.bulk("j"))
    assert admin.cmd("EXISTS", "a", "b", "c") == 0
    wait_blocked(admin, 0)


def test_chain_registered_in_reverse_order(admin, waiter, w):
    c1, c2 = waiter(), waiter()
    c1.block(admin, 1, "BLMOVE", "b", "c", "RIGHT", "LEFT", 0)
    c2.block(admin, 2, "BLMOVE", "a", "b", "RIGHT", "LEFT", 0)
    assert admin.cmd("RPUSH", "a", "x", "y") == 2
    assert c2.reply() == w.bulk("y")
    assert c1.reply() == w.bulk("y")
    assert admin.cmd("LRANGE", "a", 0, -1) == [b"x"]
    assert admin.cmd("LRANGE", "c", 0, -1) == [b"y"]
    assert admin.cmd("EXISTS", "b") == 0


def test_cycle_of_two_blmove_waiters(admin, waiter, w):
    c1, c2 = waiter(), waiter()
    c1.block(admin, 1, "BLMOVE", "x", "y", "LEFT", "RIGHT", 0)
    c2.block(admin, 2, "BLMOVE", "y", "x", "LEFT", "RIGHT", 0)
    assert admin.cmd("RPUSH", "x", "cyc") == 1
    assert c1.reply() == w.bulk("cyc")
    assert c2.reply() == w.bulk("cyc")
    assert admin.cmd("LRANGE", "x", 0, -1) == [b"cyc"]
    assert admin.cmd("EXISTS", "y") == 0
    wait_blocked(admin, 0)


def test_queue_worker_pattern_reliable_queue(admin, waiter, w):
    """BLMOVE queue -> processing, then LREM from processing (the pattern job
    queues use): the job is in exactly one list at every step."""
    worker = waiter()
    worker.block(admin, 1, "BLMOVE", "queue", "processing", "RIGHT", "LEFT", 0)
    assert admin.cmd("LPUSH", "queue", "job1", "job2") == 2
    assert worker.reply() == w.bulk("job1")
    assert admin.cmd("LRANGE", "queue", 0, -1) == [b"job2"]
    assert admin.cmd("LRANGE", "processing", 0, -1) == [b"job1"]
    assert worker.cmd("LREM", "processing", 1, "job1") == 1
    assert worker.cmd("BLMOVE", "queue", "processing", "RIGHT", "LEFT", 0) == b"job2"
    assert admin.cmd("EXISTS", "queue") == 0


# --------------------------------------------------------------------------
# Which writes wake a waiter
# --------------------------------------------------------------------------

def _rename(a):
    a.cmd("RPUSH", "src", "w1", "w2")
    assert a.cmd("RENAME", "src", "k") == "OK"


def _copy(a):
    a.cmd("RPUSH", "src", "w1", "w2")
    assert a.cmd("COPY", "src", "k") == 1


def _lmove(a):
    a.cmd("RPUSH", "src", "w1", "w2")
    assert a.cmd("LMOVE", "src", "k", "LEFT", "LEFT") == b"w1"


def _rpoplpush(a):
    a.cmd("RPUSH", "src", "w2", "w1")
    assert a.cmd("RPOPLPUSH", "src", "k") == b"w1"


def _sort_store(a):
    needs_command(a, "sort")
    a.cmd("RPUSH", "src", "w2", "w1")
    assert a.cmd("SORT", "src", "ALPHA", "STORE", "k") == 2


def _restore(a):
    needs_command(a, "dump", "restore")
    a.cmd("RPUSH", "src", "w1", "w2")
    payload = a.cmd("DUMP", "src")
    assert a.cmd("RESTORE", "k", 0, payload) == "OK"


def _move(a):
    assert a.cmd("SELECT", 1) == "OK"
    a.cmd("RPUSH", "k", "w1", "w2")
    assert a.cmd("MOVE", "k", 0) == 1
    assert a.cmd("SELECT", 0) == "OK"


def _linsert_after_push(a):
    assert a.cmd("MULTI") == "OK"
    a.cmd("RPUSH", "k", "w2")
    a.cmd("LINSERT", "k", "BEFORE", "w2", "w1")
    assert a.cmd("EXEC") == [1, 2]


@pytest.mark.parametrize("make", [_rename, _copy, _lmove, _rpoplpush, _sort_store,
                                  _restore, _move, _linsert_after_push],
                         ids=lambda f: f.__name__.strip("_"))
def test_writes_that_create_a_list_wake_waiters(admin, waiter, w, make):
    c = waiter()
    c.block(admin, 1, "BLPOP", "k", 0)
    make(admin)
    assert c.reply() == w.arr(w.bulk("k"), w.bulk("w1"))
    wait_blocked(admin, 0)


def test_swapdb_wakes_waiter(admin, waiter, w):
    needs_command(admin, "swapdb")
    c = waiter()
    c.block(admin, 1, "BLPOP", "k", 0)
    assert admin.cmd("SELECT", 1) == "OK"
    assert admin.cmd("RPUSH", "k", "s1") == 1
    assert admin.cmd("SWAPDB", 0, 1) == "OK"
    assert c.reply() == w.arr(w.bulk("k"), w.bulk("s1"))
    assert admin.cmd("SELECT", 0) == "OK"
    assert admin.cmd("EXISTS", "k") == 0


@pytest.mark.parametrize("make,member,score", [
    (lambda a: a.cmd("ZINCRBY", "z", "-1.5", "m"), "m", "-1.5"),
    (lambda a: (a.cmd("ZADD", "s1", 7, "u"), a.cmd("ZUNIONSTORE", "z", 1, "s1")), "u", "7"),
    (lambda a: (a.cmd("ZADD", "src", 3, "r"), a.cmd("RENAME", "src", "z")), "r", "3"),
    (lambda a: a.cmd("ZADD", "z", "GT", "CH", 4, "g"), "g", "4"),
], ids=["zincrby", "zunionstore", "rename", "zadd-gt"])
def test_writes_that_create_a_zset_wake_waiters(admin, waiter, w, make, member, score):
    c = waiter()
    c.block(admin, 1, "BZPOPMIN", "z", 0)
    make(admin)
    assert c.reply() == w.arr(w.bulk("z"), w.bulk(member), w.score(score))


def test_pushx_on_missing_key_wakes_nobody(admin, waiter, w):
    c = waiter()
    c.block(admin, 1, "BLPOP", "k", 0)
    assert admin.cmd("LPUSHX", "k", "x") == 0
    assert admin.cmd("RPUSHX", "k", "x") == 0
    assert admin.cmd("LINSERT", "k", "BEFORE", "a", "b") == 0
    assert c.silent(0.2)
    assert blocked_clients(admin) == 1
    assert admin.cmd("RPUSH", "k", "real") == 1
    assert c.reply() == w.arr(w.bulk("k"), w.bulk("real"))


def test_expired_key_counts_as_missing(admin, waiter, w):
    admin.cmd("RPUSH", "k", "old")
    admin.cmd("PEXPIRE", "k", 30)
    time.sleep(0.1)
    c = waiter()
    c.send("BLPOP", "k", 0.1)
    assert c.reply() == w.nil_array


# --------------------------------------------------------------------------
# Scripts
# --------------------------------------------------------------------------

def test_script_push_and_pop_wakes_nobody(admin, waiter, w):
    needs_command(admin, "eval")
    c = waiter()
    c.block(admin, 1, "BLPOP", "k", 0)
    script = "redis.call('lpush', KEYS[1], 's'); redis.call('lpop', KEYS[1]); return 1"
    assert admin.cmd("EVAL", script, 1, "k") == 1
    assert c.silent(0.2)
    script = "redis.call('rpush', KEYS[1], 's1', 's2'); return redis.call('llen', KEYS[1])"
    assert admin.cmd("EVAL", script, 1, "k") == 2   # waiter served after the script
    assert c.reply() == w.arr(w.bulk("k"), w.bulk("s1"))
    assert admin.cmd("LRANGE", "k", 0, -1) == [b"s2"]


@pytest.mark.parametrize("call", [
    "redis.call('blpop', KEYS[1], 0)",
    "redis.call('brpop', KEYS[1], 0)",
    "redis.call('brpoplpush', KEYS[1], 'd', 0)",
    "redis.call('blmove', KEYS[1], 'd', 'LEFT', 'LEFT', 0)",
    "redis.call('bzpopmin', KEYS[1], 0)",
    "redis.call('bzpopmax', KEYS[1], 0)",
])
def test_blocking_commands_refused_in_scripts(admin, waiter, call):
    """The six older blocking commands are 'noscript' in Redis 7.0."""
    needs_command(admin, "eval")
    c = waiter()
    admin.cmd("RPUSH", "k", "x")
    got = c.cmd("EVAL", "return " + call, 1, "k")
    assert isinstance(got, RespError)
    assert got.line.startswith("ERR This Redis command is not allowed from script"), got
    assert admin.cmd("LLEN", "k") == 1


def test_blmpop_bzmpop_run_non_blocking_in_scripts(admin, waiter, w):
    """BLMPOP and BZMPOP are allowed in scripts: they pop when there is data
    and return nil (Lua false) at once when not, whatever the timeout."""
    needs_command(admin, "eval")
    admin.cmd("RPUSH", "k", "x", "y")
    admin.cmd("ZADD", "z", 1, "m")
    c = waiter()
    assert c.cmd("EVAL", "return redis.call('blmpop', 0, 1, KEYS[1], 'LEFT')", 1, "k") == [
        b"k", [b"x"]]
    assert c.cmd("EVAL", "return redis.call('bzmpop', 0, 1, KEYS[1], 'MIN')", 1, "z") == [
        b"z", [[b"m", b"1"]]]
    t0 = time.monotonic()
    assert c.cmd("EVAL", "return redis.call('blmpop', 5, 1, KEYS[1], 'LEFT')", 1, "nx") is None
    assert c.cmd("EVAL", "return type(redis.call('bzmpop', 0, 1, KEYS[1], 'MAX'))", 1,
                 "nx") == b"boolean"
    assert time.monotonic() - t0 < 2
    assert blocked_clients(admin) == 0
    assert admin.cmd("LRANGE", "k", 0, -1) == [b"y"]
    got = c.cmd("EVAL", "return redis.call('blmpop', -1, 1, KEYS[1], 'LEFT')", 1, "nx")
    assert isinstance(got, RespError) and got.line.startswith(NEGATIVE), got


# --------------------------------------------------------------------------
# Argument and arity errors
# --------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ("BLPOP", "k"), ("BRPOP", "k"), ("BRPOPLPUSH", "a", "b"), ("BLMOVE", "a", "b", "LEFT", "LEFT"),
    ("BLMPOP", 0, 1, "k"), ("BLMPOP", 0, 1), ("BZPOPMIN", "k"), ("BZPOPMAX",),
    ("BZMPOP", 0, 1, "k"), ("BZMPOP", 0), ("BRPOPLPUSH", "a", "b", 0, 1),
    ("BLMOVE", "a", "b", "LEFT", "LEFT", 0, 1),
], ids=lambda a: " ".join(map(str, a)))
def test_arity_errors(admin, waiter, args):
    c = waiter()
    assert c.cmd(*args) == RespError(arity(args[0].lower()))


@pytest.mark.parametrize("args,error", [
    (("BLMPOP", 0, 0, "k", "LEFT"), NUMKEYS),
    (("BLMPOP", 0, -1, "k", "LEFT"), NUMKEYS),
    (("BLMPOP", 0, "x", "k", "LEFT"), NUMKEYS),
    (("BLMPOP", 0, "1.5", "k", "LEFT"), NUMKEYS),
    (("BLMPOP", 0, 2, "k", "LEFT"), SYNTAX),
    (("BLMPOP", 0, 99999999999, "k", "LEFT"), SYNTAX),
    (("BLMPOP", 0, 1, "k", "MIDDLE"), SYNTAX),
    (("BLMPOP", 0, 1, "k", "MIN"), SYNTAX),
    (("BLMPOP", 0, 1, "k", "LEFT", "COUNT"), SYNTAX),
    (("BLMPOP", 0, 1, "k", "LEFT", "FOO", 1), SYNTAX),
    (("BLMPOP", 0, 1, "k", "COUNT", 2, "LEFT"), SYNTAX),
    (("BLMPOP", 0, 1, "k", "LEFT", "COUNT", 1, "COUNT", 2), SYNTAX),
    (("BLMPOP", 0, 1, "k", "LEFT", "COUNT", 0), COUNT),
    (("BLMPOP", 0, 1, "k", "LEFT", "COUNT", -1), COUNT),
    (("BLMPOP", 0, 1, "k", "LEFT", "COUNT", "x"), COUNT),
    (("BLMPOP", 0, 1, "k", "LEFT", "COUNT", "9223372036854775808"), COUNT),
    (("BZMPOP", 0, 0, "z", "MIN"), NUMKEYS),
    (("BZMPOP", 0, -1, "z", "MIN"), NUMKEYS),
    (("BZMPOP", 0, 1, "z", "LEFT"), SYNTAX),
    (("BZMPOP", 0, 1, "z", "MAX", "COUNT"), SYNTAX),
    (("BZMPOP", 0, 1, "z", "MIN", "COUNT", 0), COUNT),
    (("BZMPOP", 0, 1, "z", "MIN", "COUNT", -5), COUNT),
    (("BZMPOP", 0, 1, "z", "MIN", "COUNT", "x"), COUNT),
    (("BLMOVE", "a", "b", "UP", "LEFT", 0), SYNTAX),
    (("BLMOVE", "a", "b", "LEFT", "DOWN", 0), SYNTAX),
    (("BLMOVE", "a", "b", "LEFT", "LEFT", "x"), NOT_FLOAT),
], ids=lambda a: " ".join(map(str, a)) if isinstance(a, tuple) else None)
def test_argument_errors(admin, waiter, args, error):
    c = waiter()
    assert c.cmd(*args) == RespError(error)
    assert blocked_clients(admin) == 0


@pytest.mark.parametrize("args,error", [
    # BLMPOP/BZMPOP parse the timeout last: numkeys, then options, then timeout
    (("BLMPOP", "-1", 0, "k", "LEFT"), NUMKEYS),
    (("BLMPOP", "x", 0, "k", "LEFT"), NUMKEYS),
    (("BLMPOP", "-1", 1, "k", "MIDDLE"), SYNTAX),
    (("BLMPOP", "-1", 1, "k", "LEFT", "COUNT", 0), COUNT),
    (("BLMPOP", 0, 0, "k", "MIDDLE"), NUMKEYS),
    (("BLMPOP", 0, 1, "k", "MIDDLE", "COUNT", 0), SYNTAX),
    (("BZMPOP", "-1", 0, "k", "MIN"), NUMKEYS),
    (("BZMPOP", 0, 1, "k", "LEFT", "COUNT", 0), SYNTAX),
    # BLMOVE checks directions before the timeout
    (("BLMOVE", "a", "b", "UP", "LEFT", -1), SYNTAX),
    # argument errors come before WRONGTYPE
    (("BLPOP", "str", -1), NEGATIVE),
    (("BLPOP", "str", "x"), NOT_FLOAT),
    (("BLMPOP", 0, 1, "str", "LEFT", "COUNT", 0), COUNT),
    (("BZMPOP", 0, 1, "str", "MIN", "COUNT", 0), COUNT),
    (("BLMOVE", "str", "d", "UP", "LEFT", 0), SYNTAX),
], ids=lambda a: " ".join(map(str, a)) if isinstance(a, tuple) else None)
def test_which_error_wins(admin, waiter, args, error):
    admin.cmd("SET", "str", "x")
    c = waiter()
    assert c.cmd(*args) == RespError(error)


def test_options_are_case_insensitive(admin, waiter, w):
    admin.cmd("RPUSH", "k", "a", "b", "c")
    admin.cmd("ZADD", "z", 1, "x", 2, "y")
    c = waiter()
    c.send("BLMPOP", 0, 1, "k", "left", "count", 2)
    assert c.reply() == w.arr(w.bulk("k"), w.arr(w.bulk("a"), w.bulk("b")))
    assert c.cmd("BLMOVE", "k", "k2", "right", "Left", 0) == b"c"
    c.send("BZMPOP", 0, 1, "z", "max", "Count", 1)
    assert c.reply() == w.arr(w.bulk("z"), w.arr(w.arr(w.bulk("y"), w.score("2"))))
    c.send("bzpopmin", "z", 0)
    assert c.reply() == w.arr(w.bulk("z"), w.bulk("x"), w.score("1"))


def test_client_unblock_argument_errors(admin, waiter):
    c = waiter()
    assert admin.cmd("CLIENT", "UNBLOCK", "abc") == RespError(
        "ERR value is not an integer or out of range")
    assert admin.cmd("CLIENT", "UNBLOCK", c.id, "FOO") == RespError(
        "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
    assert admin.cmd("CLIENT", "UNBLOCK") == RespError(
        "ERR wrong number of arguments for 'client|unblock' command")
    assert admin.cmd("CLIENT", "UNBLOCK", c.id, "ERROR", "x") == RespError(
        "ERR unknown subcommand or wrong number of arguments for 'UNBLOCK'. Try CLIENT HELP.")


def test_argument_errors_with_redis_py(r):
    with raises_error(NUMKEYS):
        r.execute_command("BLMPOP", 0, 0, "k", "LEFT")
    with raises_error(COUNT):
        r.blmpop(0, 1, "k", direction="LEFT", count=0)
    with raises_error(SYNTAX):
        r.blmove("a", "b", 0, "UP", "LEFT")
    with raises_error(arity("bzpopmin")):
        r.execute_command("BZPOPMIN", "z")


# --------------------------------------------------------------------------
# Timeout parsing quirks
# --------------------------------------------------------------------------

@pytest.mark.parametrize("timeout", ["0.00001", "1e-400", "5e-324", "0.001"])
def test_tiny_positive_timeout_rounds_up_to_one_ms(admin, waiter, w, timeout):
    """Seconds * 1000 rounded up: a tiny positive timeout still times out."""
    c = waiter()
    c.send("BLPOP", "k", timeout)
    assert c.reply(timeout=2) == w.nil_array


@pytest.mark.parametrize("timeout,low", [("0x1p-3", 0.1), (".2", 0.17), ("+0.2", 0.17),
                                         ("2e-1", 0.17)])
def test_float_syntaxes_accepted(admin, waiter, w, timeout, low):
    c = waiter()
    t0 = time.monotonic()
    c.send("BRPOP", "k", timeout)
    assert c.reply(timeout=3) == w.nil_array
    assert low <= time.monotonic() - t0 < 2.5


def test_timeouts_of_several_waiters_are_independent(admin, waiter, w):
    short, long_, forever = waiter(), waiter(), waiter()
    forever.block(admin, 1, "BLPOP", "k", 0)
    long_.block(admin, 2, "BLPOP", "k", 5)
    short.block(admin, 3, "BLPOP", "k", "0.3")
    assert short.reply(timeout=3) == w.nil_array
    wait_blocked(admin, 2)
    assert admin.cmd("RPUSH", "k", "1", "2") == 2
    assert forever.reply() == w.arr(w.bulk("k"), w.bulk("1"))
    assert long_.reply() == w.arr(w.bulk("k"), w.bulk("2"))


# --------------------------------------------------------------------------
# Many waiters, binary keys, unblock in the middle of a queue
# --------------------------------------------------------------------------

def test_twenty_waiters_one_push_fifo(admin, waiter, w):
    cs = [waiter() for _ in range(20)]
    for i, c in enumerate(cs):
        c.block(admin, i + 1, "BLPOP", "q", 0)
    assert admin.cmd("RPUSH", "q", *[f"job{i}" for i in range(25)]) == 25
    for i, c in enumerate(cs):
        assert c.reply() == w.arr(w.bulk("q"), w.bulk(f"job{i}"))
    assert admin.cmd("LRANGE", "q", 0, -1) == [f"job{i}".encode() for i in range(20, 25)]
    wait_blocked(admin, 0)


def test_transaction_pushing_many_keys_serves_each_waiter(admin, waiter, w):
    cs = [waiter() for _ in range(5)]
    for i, c in enumerate(cs):
        c.block(admin, i + 1, "BRPOP", f"k{i}", 0)
    assert admin.cmd("MULTI") == "OK"
    for i in reversed(range(5)):
        assert admin.cmd("LPUSH", f"k{i}", f"v{i}") == "QUEUED"
    assert admin.cmd("EXEC") == [1] * 5
    for i, c in enumerate(cs):
        assert c.reply() == w.arr(w.bulk(f"k{i}"), w.bulk(f"v{i}"))
    assert admin.cmd("EXISTS", *[f"k{i}" for i in range(5)]) == 0


def test_binary_key_and_element(admin, waiter, w):
    key, value = b"k\x00\xff\r\n ", b"\x00v\r\n\xfe"
    c = waiter()
    c.block(admin, 1, "BLPOP", "other", key, 0)
    assert admin.cmd("RPUSH", key, value) == 1
    assert c.reply() == w.arr(w.bulk(key), w.bulk(value))
    c.block(admin, 1, "BLMOVE", key, b"d\x00", "LEFT", "LEFT", 0)
    assert admin.cmd("RPUSH", key, b"") == 1        # empty element
    assert c.reply() == w.bulk(b"")
    assert admin.cmd("LRANGE", b"d\x00", 0, -1) == [b""]


def test_unblocking_middle_waiter_keeps_fifo(admin, waiter, w):
    c1, c2, c3 = waiter(), waiter(), waiter()
    for i, c in enumerate((c1, c2, c3)):
        c.block(admin, i + 1, "BLPOP", "k", 0)
    assert admin.cmd("CLIENT", "UNBLOCK", c2.id) == 1
    assert c2.reply() == w.nil_array
    wait_blocked(admin, 2)
    assert admin.cmd("RPUSH", "k", "a", "b", "c") == 3
    assert c1.reply() == w.arr(w.bulk("k"), w.bulk("a"))
    assert c3.reply() == w.arr(w.bulk("k"), w.bulk("b"))
    assert c2.silent()
    assert admin.cmd("LRANGE", "k", 0, -1) == [b"c"]
    # the unblocked client can block again and goes to the back of the queue
    c2.block(admin, 1, "BLPOP", "k2", 0)
    c1.block(admin, 2, "BLPOP", "k2", 0)
    assert admin.cmd("RPUSH", "k2", "x") == 1
    assert c2.reply() == w.arr(w.bulk("k2"), w.bulk("x"))
    assert c1.silent()


def test_served_before_timeout_replies_at_once(admin, waiter, w):
    c = waiter()
    c.block(admin, 1, "BZPOPMIN", "z", 30)
    t0 = time.monotonic()
    assert admin.cmd("ZADD", "z", 1, "m") == 1
    assert c.reply(timeout=3) == w.arr(w.bulk("z"), w.bulk("m"), w.score("1"))
    assert time.monotonic() - t0 < 2
    assert c.silent(0.2)            # exactly one reply
    assert c.cmd("PING") == "PONG"

"""Blocking commands: BLPOP, BRPOP, BRPOPLPUSH, BLMOVE, BLMPOP, BZPOPMIN,
BZPOPMAX, BZMPOP and CLIENT UNBLOCK, with several clients.

Immediate replies (data present), timeouts (fractional, 0 = forever, bad
values), the reply shapes in RESP2 and RESP3 byte for byte, FIFO serving of
clients blocked on one key, several keys, MULTI/EXEC (never blocks; wakes only
after EXEC; push + pop in one transaction wakes nobody), CLIENT UNBLOCK,
INFO blocked_clients / CLIENT LIST flags, disconnecting waiters.

A blocked client is a Waiter (raw socket, reply read later); a push is sent
only after INFO clients shows the client blocked (bounded polling), and every
read has a socket timeout. Every expected reply was checked against
redis-server 7.0.15. Type changes, chains, argument errors and quirks are in
test_blocking_details.py; the findings are summarised in BLOCK_FACTS.md.
"""

from __future__ import annotations

import threading
import time

import pytest
import redis

from blocking_helpers import (NEGATIVE, NOT_FLOAT, UNBLOCKED, admin, blocked_clients,  # noqa: F401
                              info_clients, w, wait_blocked, waiter)
from helpers import RespError, raises_error

LIST_CMDS = ["BLPOP", "BRPOP", "BRPOPLPUSH", "BLMOVE", "BLMPOP"]
ZSET_CMDS = ["BZPOPMIN", "BZPOPMAX", "BZMPOP"]
ALL_CMDS = LIST_CMDS + ZSET_CMDS


def bargs(name, timeout, key="k", dst="d"):
    """The blocking command `name` on one key with the given timeout."""
    return {
        "BLPOP": ("BLPOP", key, timeout),
        "BRPOP": ("BRPOP", key, timeout),
        "BRPOPLPUSH": ("BRPOPLPUSH", key, dst, timeout),
        "BLMOVE": ("BLMOVE", key, dst, "LEFT", "RIGHT", timeout),
        "BLMPOP": ("BLMPOP", timeout, 1, key, "LEFT"),
        "BZPOPMIN": ("BZPOPMIN", key, timeout),
        "BZPOPMAX": ("BZPOPMAX", key, timeout),
        "BZMPOP": ("BZMPOP", timeout, 1, key, "MIN"),
    }[name]


def fill(admin, name, key="k"):
    """Data that serves `name`: list [a, b] or zset {a: 1, b: 2.5}."""
    if name in ZSET_CMDS:
        assert admin.cmd("ZADD", key, 1, "a", "2.5", "b") == 2
    else:
        assert admin.cmd("RPUSH", key, "a", "b") == 2


def served_bytes(w, name, key="k"):
    """What `name` (as built by bargs) answers when served by fill()."""
    k = w.bulk(key)
    return {
        "BLPOP": w.arr(k, w.bulk("a")),
        "BRPOP": w.arr(k, w.bulk("b")),
        "BRPOPLPUSH": w.bulk("b"),
        "BLMOVE": w.bulk("a"),
        "BLMPOP": w.arr(k, w.arr(w.bulk("a"))),
        "BZPOPMIN": w.arr(k, w.bulk("a"), w.score("1")),
        "BZPOPMAX": w.arr(k, w.bulk("b"), w.score("2.5")),
        "BZMPOP": w.arr(k, w.arr(w.arr(w.bulk("a"), w.score("1")))),
    }[name]


def seq(reply):
    """redis-py answers BLPOP/BZPOPMIN as a tuple in RESP2, a list in RESP3."""
    return None if reply is None else list(reply)


# --------------------------------------------------------------------------
# Immediate replies (data present)
# --------------------------------------------------------------------------

def test_blpop_brpop_immediate_first_nonempty_key_wins(r):
    r.rpush("b", "b1", "b2")
    r.rpush("c", "c1")
    assert seq(r.blpop(["a", "b", "c"], 0)) == ["b", "b1"]
    assert seq(r.brpop(["a", "c", "b"], 0)) == ["c", "c1"]
    assert r.exists("c") == 0            # emptied list is deleted
    assert seq(r.brpop(["a", "b"], 1)) == ["b", "b2"]
    assert r.exists("b") == 0
    assert r.blpop(["a", "b", "c"], 0.05) is None


@pytest.mark.parametrize("name", ALL_CMDS)
def test_immediate_reply_wire(admin, waiter, w, name):
    fill(admin, name)
    c = waiter()
    c.send(*bargs(name, 0))
    assert c.reply() == served_bytes(w, name)
    assert blocked_clients(admin) == 0


def test_brpoplpush_blmove_immediate_directions(r):
    r.rpush("src", "1", "2", "3")
    r.rpush("dst", "x")
    assert r.brpoplpush("src", "dst", 0) == "3"
    assert r.lrange("dst", 0, -1) == ["3", "x"]
    assert r.blmove("src", "dst", 0, "LEFT", "RIGHT") == "1"
    assert r.lrange("dst", 0, -1) == ["3", "x", "1"]
    assert r.blmove("dst", "src", 0, "RIGHT", "LEFT") == "1"
    assert r.lrange("src", 0, -1) == ["1", "2"]
    assert r.blmove("src", "dst", 0, "RIGHT", "RIGHT") == "2"
    assert r.blmove("src", "dst", 0, "LEFT", "LEFT") == "1"
    assert r.exists("src") == 0
    assert r.lrange("dst", 0, -1) == ["1", "3", "x", "2"]


def test_blmpop_immediate_count_and_direction(r):
    r.rpush("l2", "a", "b", "c", "d")
    assert r.blmpop(0, 2, "l1", "l2", direction="LEFT", count=2) == ["l2", ["a", "b"]]
    assert r.blmpop(0, 2, "l1", "l2", direction="RIGHT") == ["l2", ["d"]]
    assert r.blmpop(0, 1, "l2", direction="RIGHT", count=10) == ["l2", ["c"]]
    assert r.exists("l2") == 0
    assert r.blmpop(0.05, 2, "l1", "l2", direction="LEFT") is None


def test_bzpop_immediate(r, protocol):
    r.zadd("z2", {"a": 1, "b": 2.5, "c": 3})
    assert seq(r.bzpopmin(["z1", "z2"], 0)) == ["z2", "a", 1.0]
    assert seq(r.bzpopmax(["z1", "z2"], 0)) == ["z2", "c", 3.0]
    assert seq(r.bzpopmax("z2", 0)) == ["z2", "b", 2.5]
    assert r.exists("z2") == 0
    assert r.bzpopmin("z2", 0.05) is None


def test_bzmpop_immediate_count(r, protocol):
    r.zadd("z", {"a": 1, "b": 2.5, "c": 3, "d": 4})
    got = r.bzmpop(0, 2, ["none", "z"], max=True, count=2)
    score = (lambda s: float(s)) if protocol == 3 else str
    assert got == ["z", [["d", score("4")], ["c", score("3")]]]
    got = r.bzmpop(0, 1, ["z"], min=True, count=10)
    assert got == ["z", [["a", score("1")], ["b", score("2.5")]]]
    assert r.exists("z") == 0


# --------------------------------------------------------------------------
# Timeouts
# --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL_CMDS)
def test_fractional_timeout_reply_wire(admin, waiter, w, name):
    """On timeout every command answers a nil ARRAY in RESP2 (even BLMOVE and
    BRPOPLPUSH, which answer a bulk when served) and null in RESP3."""
    c = waiter()
    t0 = time.monotonic()
    c.send(*bargs(name, 0.1))
    assert c.reply(timeout=3) == w.nil_array
    elapsed = time.monotonic() - t0
    assert 0.08 <= elapsed < 2.5, elapsed
    wait_blocked(admin, 0)
    assert admin.cmd("EXISTS", "k", "d") == 0


def test_timeouts_with_redis_py(r):
    assert r.blpop("k", 0.05) is None
    assert r.brpop(["k", "k2"], 0.05) is None
    assert r.brpoplpush("k", "d", 0.05) is None
    assert r.blmove("k", "d", 0.05, "RIGHT", "LEFT") is None
    assert r.blmpop(0.05, 1, "k", direction="LEFT", count=3) is None
    assert r.bzpopmin("k", 0.05) is None
    assert r.bzpopmax("k", 0.05) is None
    assert r.bzmpop(0.05, 1, ["k"], min=True) is None
    assert r.exists("d") == 0


def test_timeout_elapsed_is_respected(admin, waiter, w):
    c = waiter()
    t0 = time.monotonic()
    c.send("BLPOP", "k", "0.4")
    assert c.silent(0.25)
    assert c.reply(timeout=3) == w.nil_array
    assert 0.35 <= time.monotonic() - t0 < 3


def test_later_push_after_timeout_stays_in_list(admin, waiter, w):
    c = waiter()
    c.send("BRPOP", "k", 0.1)
    assert c.reply() == w.nil_array
    assert admin.cmd("RPUSH", "k", "late") == 1
    assert c.silent()
    assert admin.cmd("LRANGE", "k", 0, -1) == [b"late"]


@pytest.mark.parametrize("name", ALL_CMDS)
def test_zero_timeout_waits_until_served_wire(admin, waiter, w, name):
    c = waiter()
    c.block(admin, 1, *bargs(name, 0))
    assert c.silent(0.3)
    fill(admin, name)
    assert c.reply() == served_bytes(w, name)
    wait_blocked(admin, 0)


@pytest.mark.parametrize("timeout", ["1e15", "31536000000", "0x10", "-0.0001", "-0"])
def test_long_or_zero_timeouts_block_until_push(admin, waiter, w, timeout):
    """Huge timeouts are accepted; a tiny negative rounds to 0 ms = forever;
    hex floats parse (0x10 = 16 s)."""
    c = waiter()
    c.block(admin, 1, "BLPOP", "k", timeout)
    assert c.silent()
    assert admin.cmd("RPUSH", "k", "v") == 1
    assert c.reply() == w.arr(w.bulk("k"), w.bulk("v"))


@pytest.mark.parametrize("name", ALL_CMDS)
@pytest.mark.parametrize("timeout", ["-1", "-0.5", "-inf", "inf", "1e100", "9223372036854776"])
def test_negative_or_overflowing_timeout_error(admin, waiter, name, timeout):
    c = waiter()
    assert c.cmd(*bargs(name, timeout)) == RespError(NEGATIVE)
    assert blocked_clients(admin) == 0


@pytest.mark.parametrize("name", ALL_CMDS)
@pytest.mark.parametrize("timeout", ["abc", "", " 1", "1 ", "nan", "0.1.1", "1,5", "1s"])
def test_non_number_timeout_error(admin, waiter, name, timeout):
    c = waiter()
    assert c.cmd(*bargs(name, timeout)) == RespError(NOT_FLOAT)


def test_timeout_errors_with_redis_py(r):
    with raises_error(NEGATIVE):
        r.blpop("k", -1)
    with raises_error(NOT_FLOAT):
        r.execute_command("BRPOP", "k", "soon")
    with raises_error(NEGATIVE):
        r.bzpopmin("k", -0.5)
    with raises_error(NOT_FLOAT):
        r.execute_command("BLMPOP", "x", 1, "k", "LEFT")


def test_timeout_checked_even_when_data_exists(admin, waiter):
    admin.cmd("RPUSH", "k", "v")
    c = waiter()
    assert c.cmd("BLPOP", "k", -1) == RespError(NEGATIVE)
    assert c.cmd("BLPOP", "k", "x") == RespError(NOT_FLOAT)
    assert admin.cmd("LLEN", "k") == 1


# --------------------------------------------------------------------------
# FIFO fairness, several waiters
# --------------------------------------------------------------------------

def test_waiters_served_in_blocking_order(admin, waiter, w):
    cs = [waiter() for _ in range(3)]
    for i, c in enumerate(cs):
        c.block(admin, i + 1, "BLPOP", "k", 0)
    for i, c in enumerate(cs):
        assert admin.cmd("RPUSH", "k", f"v{i}") == 1
        assert c.reply() == w.arr(w.bulk("k"), w.bulk(f"v{i}"))
        for other in cs[i + 1:]:
            assert other.silent(0.05)
        wait_blocked(admin, 2 - i)
    assert admin.cmd("EXISTS", "k") == 0


def test_one_push_of_three_serves_three_waiters_lpush(admin, waiter, w):
    cs = [waiter() for _ in range(3)]
    for i, c in enumerate(cs):
        c.block(admin, i + 1, "BLPOP", "k", 0)
    # the list is [c, b, a] when the waiters are served, oldest waiter first
    assert admin.cmd("LPUSH", "k", "a", "b", "c") == 3
    assert [c.reply() for c in cs] == [w.arr(w.bulk("k"), w.bulk(x)) for x in "cba"]
    assert admin.cmd("EXISTS", "k") == 0
    wait_blocked(admin, 0)


def test_rpush_many_serves_brpop_waiters_rest_stays(admin, waiter, w):
    cs = [waiter() for _ in range(3)]
    for i, c in enumerate(cs):
        c.block(admin, i + 1, "BRPOP", "k", 0)
    assert admin.cmd("RPUSH", "k", "a", "b", "c", "d") == 4
    assert [c.reply() for c in cs] == [w.arr(w.bulk("k"), w.bulk(x)) for x in "dcb"]
    assert admin.cmd("LRANGE", "k", 0, -1) == [b"a"]


def test_rpush_several_then_blpop_in_order(r):
    r.rpush("k", "1", "2", "3")
    r.lpush("k", "0", "-1")
    got = [seq(r.blpop("k", 1))[1] for _ in range(5)]
    assert got == ["-1", "0", "1", "2", "3"]
    assert r.blpop("k", 0.05) is None


def test_fifo_across_different_commands(admin, waiter, w):
    """Oldest waiter first, whatever its command and end."""
    c1, c2, c3 = waiter(), waiter(), waiter()
    c1.block(admin, 1, "BRPOP", "k", 0)
    c2.block(admin, 2, "BLMOVE", "k", "d", "LEFT", "LEFT", 0)
    c3.block(admin, 3, "BLMPOP", 0, 1, "k", "LEFT", "COUNT", 5)
    assert admin.cmd("RPUSH", "k", "x", "y", "z", "t") == 4
    assert c1.reply() == w.arr(w.bulk("k"), w.bulk("t"))
    assert c2.reply() == w.bulk("x")
    assert c3.reply() == w.arr(w.bulk("k"), w.arr(w.bulk("y"), w.bulk("z")))
    assert admin.cmd("EXISTS", "k") == 0
    assert admin.cmd("LRANGE", "d", 0, -1) == [b"x"]


def test_blmpop_count_waiter_then_blpop_waiter(admin, waiter, w):
    c1, c2 = waiter(), waiter()
    c1.block(admin, 1, "BLMPOP", 0, 1, "k", "LEFT", "COUNT", 2)
    c2.block(admin, 2, "BLPOP", "k", 0)
    assert admin.cmd("RPUSH", "k", "1", "2", "3", "4") == 4
    assert c1.reply() == w.arr(w.bulk("k"), w.arr(w.bulk("1"), w.bulk("2")))
    assert c2.reply() == w.arr(w.bulk("k"), w.bulk("3"))
    assert admin.cmd("LRANGE", "k", 0, -1) == [b"4"]


def test_pusher_reply_is_length_before_waiters_pop(admin, waiter, w):
    c = waiter()
    c.block(admin, 1, "BLPOP", "k", 0)
    assert admin.cmd("RPUSH", "k", "x", "y") == 2
    assert c.reply() == w.arr(w.bulk("k"), w.bulk("x"))
    assert admin.cmd("LRANGE", "k", 0, -1) == [b"y"]


# --------------------------------------------------------------------------
# Several keys
# --------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["k1", "k2", "k3"])
def test_blocked_on_several_keys_served_by_any(admin, waiter, w, which):
    c = waiter()
    c.block(admin, 1, "BLPOP", "k1", "k2", "k3", 0)
    assert admin.cmd("RPUSH", which, "v") == 1
    assert c.reply() == w.arr(w.bulk(which), w.bulk("v"))
    wait_blocked(admin, 0)
    assert admin.cmd("EXISTS", "k1", "k2", "k3") == 0


MULTI_KEY = {
    "BLPOP": ("BLPOP", "k1", "k2", 0),
    "BRPOP": ("BRPOP", "k1", "k2", 0),
    "BLMPOP": ("BLMPOP", 0, 2, "k1", "k2", "LEFT"),
    "BZPOPMIN": ("BZPOPMIN", "k1", "k2", 0),
    "BZPOPMAX": ("BZPOPMAX", "k1", "k2", 0),
    "BZMPOP": ("BZMPOP", 0, 2, "k1", "k2", "MIN"),
}


@pytest.mark.parametrize("name", list(MULTI_KEY))
def test_several_keys_reply_names_the_pushed_key(admin, waiter, w, name):
    c = waiter()
    c.block(admin, 1, *MULTI_KEY[name])
    fill(admin, name, key="k2")
    assert c.reply() == served_bytes(w, name, key="k2")


def test_waiter_on_two_keys_and_waiter_on_one(admin, waiter, w):
    c1, c2 = waiter(), waiter()
    c1.block(admin, 1, "BLPOP", "a", "b", 0)
    c2.block(admin, 2, "BLPOP", "b", 0)
    assert admin.cmd("RPUSH", "b", "1") == 1
    assert c1.reply() == w.arr(w.bulk("b"), w.bulk("1"))
    assert c2.silent()
    assert admin.cmd("RPUSH", "a", "2") == 1    # c1 is gone: nobody waits on a
    assert c2.silent()
    assert admin.cmd("RPUSH", "b", "3") == 1
    assert c2.reply() == w.arr(w.bulk("b"), w.bulk("3"))
    assert admin.cmd("LRANGE", "a", 0, -1) == [b"2"]


def test_same_key_twice_served_once(admin, waiter, w):
    c = waiter()
    c.block(admin, 1, "BLPOP", "k", "k", 0)
    assert admin.cmd("RPUSH", "k", "a", "b") == 2
    assert c.reply() == w.arr(w.bulk("k"), w.bulk("a"))
    assert admin.cmd("LRANGE", "k", 0, -1) == [b"b"]


def test_push_in_other_db_does_not_wake(admin, waiter, w):
    c = waiter()
    assert c.cmd("SELECT", 1) == "OK"
    c.block(admin, 1, "BLPOP", "k", 0)
    assert admin.cmd("RPUSH", "k", "db0") == 1
    assert c.silent()
    assert admin.cmd("SELECT", 1) == "OK"
    assert admin.cmd("RPUSH", "k", "db1") == 1
    assert c.reply() == w.arr(w.bulk("k"), w.bulk("db1"))
    assert admin.cmd("SELECT", 0) == "OK"
    assert admin.cmd("LRANGE", "k", 0, -1) == [b"db0"]


# --------------------------------------------------------------------------
# MULTI / EXEC
# --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL_CMDS)
def test_blocking_command_inside_multi_does_not_block(admin, waiter, w, name):
    """Empty key inside MULTI: answered at once; BRPOPLPUSH/BLMOVE answer a nil
    BULK in RESP2 there (their timeout reply is a nil array)."""
    c = waiter()
    assert c.cmd("MULTI") == "OK"
    assert c.cmd(*bargs(name, 0)) == "QUEUED"
    c.send("EXEC")
    nil = w.nil if name in ("BRPOPLPUSH", "BLMOVE") else w.nil_array
    assert c.reply(timeout=2) == w.arr(nil)
    assert blocked_clients(admin) == 0


@pytest.mark.parametrize("name", ALL_CMDS)
def test_blocking_command_inside_multi_pops_when_data(admin, waiter, w, name):
    fill(admin, name)
    c = waiter()
    assert c.cmd("MULTI") == "OK"
    assert c.cmd(*bargs(name, 0)) == "QUEUED"
    c.send("EXEC")
    assert c.reply() == w.arr(served_bytes(w, name))


def test_multi_with_redis_py_pipeline(r):
    r.rpush("k", "x")
    p = r.pipeline(transaction=True)
    p.blpop("k", 0)
    p.blpop("k", 0)
    p.brpoplpush("k", "d", 0)
    p.bzpopmin("z", 0)
    got = p.execute()
    assert [seq(x) for x in got] == [["k", "x"], None, None, None]


def test_push_inside_multi_wakes_only_after_exec(admin, waiter, w):
    c = waiter()
    c.block(admin, 1, "BLPOP", "k", 0)
    assert admin.cmd("MULTI") == "OK"
    assert admin.cmd("LPUSH", "k", "x") == "QUEUED"
    assert admin.cmd("LLEN", "k") == "QUEUED"
    assert c.silent(0.2)
    assert admin.cmd("EXEC") == [1, 1]          # LLEN inside EXEC still saw x
    assert c.reply() == w.arr(w.bulk("k"), w.bulk("x"))
    assert admin.cmd("EXISTS", "k") == 0


def test_push_and_pop_in_one_transaction_wakes_nobody(admin, waiter, w):
    c = waiter()
    c.block(admin, 1, "BLPOP", "k", 0)
    assert admin.cmd("MULTI") == "OK"
    assert admin.cmd("LPUSH", "k", "x") == "QUEUED"
    assert admin.cmd("LPOP", "k") == "QUEUED"
    assert admin.cmd("EXEC") == [1, b"x"]
    assert c.silent(0.2)
    assert blocked_clients(admin) == 1
    assert admin.cmd("RPUSH", "k", "later") == 1
    assert c.reply() == w.arr(w.bulk("k"), w.bulk("later"))


def test_transaction_leaving_elements_serves_them(admin, waiter, w):
    c = waiter()
    c.block(admin, 1, "BLPOP", "k", 0)
    assert admin.cmd("MULTI") == "OK"
    assert admin.cmd("LPUSH", "k", "x", "y") == "QUEUED"
    assert admin.cmd("RPOP", "k") == "QUEUED"
    assert admin.cmd("EXEC") == [2, b"x"]
    assert c.reply() == w.arr(w.bulk("k"), w.bulk("y"))
    assert admin.cmd("EXISTS", "k") == 0


def test_transaction_pushing_two_keys_serves_first_ready_key(admin, waiter, w):
    """Served from the key that became ready first in the transaction, not
    from the waiter's first key argument."""
    c = waiter()
    c.block(admin, 1, "BLPOP", "k1", "k2", 0)
    assert admin.cmd("MULTI") == "OK"
    assert admin.cmd("RPUSH", "k2", "x") == "QUEUED"
    assert admin.cmd("RPUSH", "k1", "y") == "QUEUED"
    assert admin.cmd("EXEC") == [1, 1]
    assert c.reply() == w.arr(w.bulk("k2"), w.bulk("x"))
    assert admin.cmd("LRANGE", "k1", 0, -1) == [b"y"]
    assert admin.cmd("EXISTS", "k2") == 0


def test_zadd_and_zrem_in_one_transaction_wakes_nobody(admin, waiter, w):
    c = waiter()
    c.block(admin, 1, "BZPOPMIN", "z", 0)
    assert admin.cmd("MULTI") == "OK"
    assert admin.cmd("ZADD", "z", 1, "a") == "QUEUED"
    assert admin.cmd("ZREM", "z", "a") == "QUEUED"
    assert admin.cmd("EXEC") == [1, 1]
    assert c.silent(0.2)
    assert admin.cmd("ZADD", "z", 2, "b") == 1
    assert c.reply() == w.arr(w.bulk("z"), w.bulk("b"), w.score("2"))


# --------------------------------------------------------------------------
# BLMOVE / BRPOPLPUSH served
# --------------------------------------------------------------------------

@pytest.mark.parametrize("wherefrom,whereto,got,dst", [
    ("LEFT", "LEFT", "a", [b"a", b"d0"]),
    ("LEFT", "RIGHT", "a", [b"d0", b"a"]),
    ("RIGHT", "LEFT", "c", [b"c", b"d0"]),
    ("RIGHT", "RIGHT", "c", [b"d0", b"c"]),
])
def test_blmove_served_moves_element(admin, waiter, w, wherefrom, whereto, got, dst):
    assert admin.cmd("RPUSH", "d", "d0") == 1
    c = waiter()
    c.block(admin, 1, "BLMOVE", "s", "d", wherefrom, whereto, 0)
    assert admin.cmd("RPUSH", "s", "a", "b", "c") == 3
    assert c.reply() == w.bulk(got)
    assert admin.cmd("LRANGE", "d", 0, -1) == dst
    assert admin.cmd("LLEN", "s") == 2


def test_brpoplpush_served_creates_destination(admin, waiter, w):
    c = waiter()
    c.block(admin, 1, "BRPOPLPUSH", "s", "d", 0)
    assert admin.cmd("LPUSH", "s", "x", "y") == 2
    assert c.reply() == w.bulk("x")
    assert admin.cmd("LRANGE", "d", 0, -1) == [b"x"]
    assert admin.cmd("LRANGE", "s", 0, -1) == [b"y"]


def test_blmove_same_list_rotation(admin, waiter, w):
    c = waiter()
    c.block(admin, 1, "BLMOVE", "k", "k", "RIGHT", "LEFT", 0)
    assert admin.cmd("RPUSH", "k", "a", "b", "c") == 3
    assert c.reply() == w.bulk("c")
    assert admin.cmd("LRANGE", "k", 0, -1) == [b"c", b"a", b"b"]
    # immediate rotation the other way, and BRPOPLPUSH of a one-element list
    assert c.cmd("BLMOVE", "k", "k", "LEFT", "RIGHT", 0) == b"c"
    assert admin.cmd("LRANGE", "k", 0, -1) == [b"a", b"b", b"c"]
    assert admin.cmd("DEL", "k") == 1
    c.block(admin, 1, "BRPOPLPUSH", "k", "k", 0)
    assert admin.cmd("RPUSH", "k", "only") == 1
    assert c.reply() == w.bulk("only")
    assert admin.cmd("LRANGE", "k", 0, -1) == [b"only"]


def test_blmove_into_key_another_client_blpops(admin, waiter, w):
    c1, c2 = waiter(), waiter()
    c1.block(admin, 1, "BLPOP", "mid", 0)
    c2.block(admin, 2, "BLMOVE", "src", "mid", "LEFT", "RIGHT", 0)
    assert admin.cmd("RPUSH", "src", "job") == 1
    assert c2.reply() == w.bulk("job")
    assert c1.reply() == w.arr(w.bulk("mid"), w.bulk("job"))
    assert admin.cmd("EXISTS", "src", "mid") == 0
    wait_blocked(admin, 0)


# --------------------------------------------------------------------------
# Sorted sets
# --------------------------------------------------------------------------

def test_bz_waiters_served_in_order_by_one_zadd(admin, waiter, w):
    c1, c2, c3 = waiter(), waiter(), waiter()
    c1.block(admin, 1, "BZPOPMIN", "z", 0)
    c2.block(admin, 2, "BZPOPMAX", "z", 0)
    c3.block(admin, 3, "BZMPOP", 0, 1, "z", "MIN", "COUNT", 2)
    assert admin.cmd("ZADD", "z", 1, "a", 2, "b", 3, "c", 4, "d", 5, "e") == 5
    assert c1.reply() == w.arr(w.bulk("z"), w.bulk("a"), w.score("1"))
    assert c2.reply() == w.arr(w.bulk("z"), w.bulk("e"), w.score("5"))
    assert c3.reply() == w.arr(w.bulk("z"), w.arr(w.arr(w.bulk("b"), w.score("2")),
                                                  w.arr(w.bulk("c"), w.score("3"))))
    assert admin.cmd("ZRANGE", "z", 0, -1, "WITHSCORES") == [b"d", b"4"]


@pytest.mark.parametrize("score,text", [("0.1", "0.10000000000000001"), ("-2.5", "-2.5"),
                                        ("inf", "inf"), ("-inf", "-inf"), ("1e20", "1e+20"),
                                        ("3.0", "3")])
def test_bzpop_served_score_formatting(admin, waiter, w, score, text):
    c = waiter()
    c.block(admin, 1, "BZPOPMAX", "z", 0)
    assert admin.cmd("ZADD", "z", score, "m") == 1
    assert c.reply() == w.arr(w.bulk("z"), w.bulk("m"), w.score(text))
    c.block(admin, 1, "BZMPOP", 0, 1, "z", "MAX")
    assert admin.cmd("ZADD", "z", score, "m") == 1
    assert c.reply() == w.arr(w.bulk("z"), w.arr(w.arr(w.bulk("m"), w.score(text))))


def test_bzmpop_count_served(admin, waiter, w):
    c = waiter()
    c.block(admin, 1, "BZMPOP", 0, 2, "z1", "z2", "MAX", "COUNT", 10)
    assert admin.cmd("ZADD", "z2", "1.5", "m", 2, "n", 3, "o") == 3
    assert c.reply() == w.arr(w.bulk("z2"), w.arr(w.arr(w.bulk("o"), w.score("3")),
                                                  w.arr(w.bulk("n"), w.score("2")),
                                                  w.arr(w.bulk("m"), w.score("1.5"))))
    assert admin.cmd("EXISTS", "z2") == 0


def test_blmpop_count_served(admin, waiter, w):
    c = waiter()
    c.block(admin, 1, "BLMPOP", 0, 2, "l1", "l2", "RIGHT", "COUNT", 2)
    assert admin.cmd("RPUSH", "l1", "x", "y", "z") == 3
    assert c.reply() == w.arr(w.bulk("l1"), w.arr(w.bulk("z"), w.bulk("y")))
    assert admin.cmd("LRANGE", "l1", 0, -1) == [b"x"]


# --------------------------------------------------------------------------
# CLIENT UNBLOCK
# --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL_CMDS)
@pytest.mark.parametrize("reason", [None, "TIMEOUT", "timeout"])
def test_client_unblock_timeout(admin, waiter, w, name, reason):
    c = waiter()
    c.block(admin, 1, *bargs(name, 0))
    extra = () if reason is None else (reason,)
    assert admin.cmd("CLIENT", "UNBLOCK", c.id, *extra) == 1
    assert c.reply() == w.nil_array
    wait_blocked(admin, 0)
    assert c.cmd("PING") == "PONG"


@pytest.mark.parametrize("name", ALL_CMDS)
def test_client_unblock_error(admin, waiter, name):
    c = waiter()
    c.block(admin, 1, *bargs(name, 0))
    assert admin.cmd("CLIENT", "UNBLOCK", c.id, "error") == 1
    assert c.value() == RespError(UNBLOCKED)
    wait_blocked(admin, 0)
    # no trace left: a push now stays in the list
    fill(admin, name)
    assert c.silent()
    assert admin.cmd("EXISTS", "k") == 1


def test_client_unblock_returns_zero_when_not_blocked(admin, waiter, w):
    c = waiter()
    assert admin.cmd("CLIENT", "UNBLOCK", c.id) == 0
    assert admin.cmd("CLIENT", "UNBLOCK", c.id, "ERROR") == 0
    assert admin.cmd("CLIENT", "UNBLOCK", admin.cmd("CLIENT", "ID")) == 0
    assert admin.cmd("CLIENT", "UNBLOCK", 999999999) == 0
    c.block(admin, 1, "BLPOP", "k", 0)
    assert admin.cmd("CLIENT", "UNBLOCK", c.id) == 1
    assert admin.cmd("CLIENT", "UNBLOCK", c.id) == 0
    assert c.reply() == w.nil_array


def test_client_unblock_with_redis_py(make_client, admin):
    r = make_client()
    c = make_client()
    cid = c.client_id()
    c.connection.send_command("BLPOP", "k", 0)
    wait_blocked(admin, 1)
    assert r.client_unblock(cid) is True
    assert c.connection.read_response() is None
    c.connection.send_command("BLPOP", "k", 0)
    wait_blocked(admin, 1)
    assert r.client_unblock(cid, error=True) is True
    with raises_error(UNBLOCKED):
        c.connection.read_response()
    assert r.client_unblock(cid) is False


def test_commands_pipelined_behind_blocked_one_wait(admin, waiter, w):
    c = waiter()
    c.conn.send(c.conn.encode("BLPOP", "k", 0) + c.conn.encode("PING")
                + c.conn.encode("ECHO", "after"))
    wait_blocked(admin, 1)
    assert c.silent(0.2)
    assert admin.cmd("RPUSH", "k", "v") == 1
    assert c.reply() == w.arr(w.bulk("k"), w.bulk("v"))
    assert c.reply() == b"+PONG\r\n"
    assert c.reply() == w.bulk("after")


# --------------------------------------------------------------------------
# INFO blocked_clients, CLIENT LIST, disconnects
# --------------------------------------------------------------------------

def client_line(admin, cid):
    text = admin.cmd("CLIENT", "LIST").decode()
    for line in text.splitlines():
        fields = dict(f.split("=", 1) for f in line.split(" ") if "=" in f)
        if fields.get("id") == str(cid):
            return fields
    raise AssertionError(f"client {cid} not in CLIENT LIST")


def test_info_blocked_clients_counts(admin, waiter, w):
    assert blocked_clients(admin) == 0
    c1, c2, c3 = waiter(), waiter(), waiter()
    c1.block(admin, 1, "BLPOP", "a", "b", "c", 0)   # several keys: counted once
    c2.block(admin, 2, "BZPOPMIN", "z", 0)
    c3.block(admin, 3, "BLMOVE", "a", "d", "LEFT", "LEFT", 10)
    assert int(info_clients(admin)["connected_clients"]) >= 4
    assert admin.cmd("RPUSH", "a", "1") == 1
    assert c1.reply() == w.arr(w.bulk("a"), w.bulk("1"))
    wait_blocked(admin, 2)
    assert admin.cmd("ZADD", "z", 1, "m") == 1
    assert c2.reply() == w.arr(w.bulk("z"), w.bulk("m"), w.score("1"))
    wait_blocked(admin, 1)
    assert admin.cmd("CLIENT", "UNBLOCK", c3.id) == 1
    assert c3.reply() == w.nil_array
    wait_blocked(admin, 0)


def test_client_list_flags_blocked_client(admin, waiter, w):
    c = waiter()
    assert "b" not in client_line(admin, c.id)["flags"]
    c.block(admin, 1, "BLPOP", "k", 0)
    line = client_line(admin, c.id)
    assert line["flags"] == "b"
    assert line["cmd"] == "blpop"
    assert admin.cmd("RPUSH", "k", "v") == 1
    assert c.reply() == w.arr(w.bulk("k"), w.bulk("v"))
    assert client_line(admin, c.id)["flags"] == "N"


def test_disconnected_waiter_leaves_no_trace(admin, waiter):
    c = waiter()
    c.block(admin, 1, "BLPOP", "k", 0)
    c.close()
    wait_blocked(admin, 0)
    assert admin.cmd("RPUSH", "k", "x") == 1
    time.sleep(0.05)
    assert admin.cmd("LRANGE", "k", 0, -1) == [b"x"]


def test_disconnected_waiter_skipped_in_fifo(admin, waiter, w):
    c1, c2 = waiter(), waiter()
    c1.block(admin, 1, "BLPOP", "k", 0)
    c2.block(admin, 2, "BLPOP", "k", 0)
    c1.close()
    wait_blocked(admin, 1)
    assert admin.cmd("RPUSH", "k", "x", "y") == 2
    assert c2.reply() == w.arr(w.bulk("k"), w.bulk("x"))
    assert admin.cmd("LRANGE", "k", 0, -1) == [b"y"]


def test_killed_waiter_leaves_no_trace(admin, waiter):
    c = waiter()
    c.block(admin, 1, "BZPOPMIN", "z", 0)
    assert admin.cmd("CLIENT", "KILL", "ID", c.id) == 1
    wait_blocked(admin, 0)
    assert admin.cmd("ZADD", "z", 1, "m") == 1
    assert admin.cmd("ZCARD", "z") == 1


# --------------------------------------------------------------------------
# The served pop is a real write
# --------------------------------------------------------------------------

def test_served_element_is_gone_from_list(admin, waiter, w):
    c = waiter()
    c.block(admin, 1, "BRPOP", "k", 0)
    assert admin.cmd("RPUSH", "k", "a", "b", "c") == 3
    assert c.reply() == w.arr(w.bulk("k"), w.bulk("c"))
    assert admin.cmd("LLEN", "k") == 2
    assert admin.cmd("LRANGE", "k", 0, -1) == [b"a", b"b"]
    c.block(admin, 1, "BLPOP", "e", 0)
    assert admin.cmd("RPUSH", "e", "only") == 1
    assert c.reply() == w.arr(w.bulk("e"), w.bulk("only"))
    assert admin.cmd("LLEN", "e") == 0
    assert admin.cmd("EXISTS", "e") == 0
    assert admin.cmd("TYPE", "e") == "none"


def test_watch_invalidated_by_served_pop(admin, waiter, w, make_client):
    r = make_client()
    c = waiter()
    c.block(admin, 1, "BLMOVE", "src", "dst", "LEFT", "RIGHT", 0)
    with r.pipeline(transaction=True) as p:
        p.watch("dst", "src")
        assert admin.cmd("RPUSH", "src", "e") == 1
        assert c.reply() == w.bulk("e")
        p.multi()
        p.set("marker", 1)
        with pytest.raises(redis.exceptions.WatchError):
            p.execute()
    assert r.exists("marker") == 0
    # WATCH only the destination: the served move alone touches it
    c.block(admin, 1, "BLMOVE", "src2", "dst2", "LEFT", "RIGHT", 0)
    with r.pipeline(transaction=True) as p:
        p.watch("dst2")
        assert admin.cmd("RPUSH", "src2", "e2") == 1
        assert c.reply() == w.bulk("e2")
        p.multi()
        p.set("marker", 1)
        with pytest.raises(redis.exceptions.WatchError):
            p.execute()
    assert r.exists("marker") == 0
    assert r.lrange("dst2", 0, -1) == ["e2"]


def test_redis_py_client_blocked_in_thread(make_client, admin, protocol):
    """redis-py's own blpop/bzpopmin, blocked in a thread and served."""
    blocked = make_client()
    pusher = make_client()
    got = {}

    def run():
        try:
            got["blpop"] = seq(blocked.blpop(["q1", "q2"], 5))
            got["bzpopmin"] = seq(blocked.bzpopmin("z", 5))
        except Exception as exc:  # reported below
            got["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    wait_blocked(admin, 1)
    assert pusher.rpush("q2", "job") == 1
    deadline = time.monotonic() + 4
    while "blpop" not in got and "error" not in got and time.monotonic() < deadline:
        time.sleep(0.01)
    assert got.get("blpop") == ["q2", "job"], got
    wait_blocked(admin, 1)   # now blocked in bzpopmin
    assert pusher.zadd("z", {"m": 2.5}) == 1
    t.join(timeout=8)
    assert not t.is_alive()
    assert "error" not in got, got
    assert got == {"blpop": ["q2", "job"], "bzpopmin": ["z", "m", 2.5]}

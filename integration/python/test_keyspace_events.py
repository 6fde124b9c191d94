"""Keyspace notifications (notify-keyspace-events).

CONFIG SET/GET of the flags (canonical form, error text, "" disables), both
channel kinds (__keyspace@<db>__:<key> carrying the event name and
__keyevent@<db>__:<event> carrying the key), the database number, every event
of the g $ l s h z x classes, the order of events within one command, "del"
after a collection's last element goes, commands that change nothing firing
nothing, class filters, MULTI/EXEC, blocked clients served by a push, and
"expired" on lazy and active expiry.

Events are collected by a redis-py pub/sub client in the test's protocol
(RESP2 connection in subscribed mode, or RESP3 push messages) that
psubscribes to both channel kinds and also subscribes to a sentinel channel.
Events.drain() PUBLISHes a fresh token on the sentinel channel and reads until
that token comes back (bounded): the server publishes a command's events
before it answers, and one subscriber gets its messages in order, so
everything the earlier commands fired has arrived by then. Asynchronous events
(active expiry) are awaited with a deadline instead.

Every expectation was checked against redis-server 7.0.15. Commands vaylix
does not have (SORT, EVAL, SWAPDB) are skipped when COMMAND INFO answers nil;
'n' (new key) and 'm' (key miss, from the lookups of read-only commands and of
the keys some writes read) have tables of their own; 'e' (evicted) is tested
with maxmemory.
"""

from __future__ import annotations

import itertools
import time

import pytest
import redis

from blocking_helpers import admin, needs_command, wait_blocked, waiter  # noqa: F401
from helpers import RespError, raises_error

SENTINEL = "kev-test-sentinel"
DRAIN_TIMEOUT = 5.0
INVALID = ("ERR CONFIG SET failed (possibly related to argument "
           "'notify-keyspace-events') - Invalid event class character. "
           "Use 'Ag$lshzxeKEtmdn'.")

_tokens = itertools.count()


def both(*events, db=0):
    """Expected messages for (event, key) pairs: each notification is sent on
    the keyspace channel first, then on the keyevent channel."""
    out = []
    for event, key in events:
        out.append((f"__keyspace@{db}__:{key}", event))
        out.append((f"__keyevent@{db}__:{event}", key))
    return out


def _s(v):
    return v.decode() if isinstance(v, bytes) else v


class Events:
    """A pub/sub client that sees every keyspace/keyevent message of any db."""

    def __init__(self, sub_client, pub_client):
        self.pub = pub_client
        self.ps = sub_client.pubsub()
        self.ps.psubscribe("__keyspace@*__:*", "__keyevent@*__:*")
        self.ps.subscribe(SENTINEL)
        confirmations = 0
        deadline = time.monotonic() + DRAIN_TIMEOUT
        while confirmations < 3:
            assert time.monotonic() < deadline, "no subscribe confirmations"
            m = self.ps.get_message(timeout=0.5)
            if m and m["type"] in ("psubscribe", "subscribe"):
                confirmations += 1

    def _next(self, deadline):
        while time.monotonic() < deadline:
            m = self.ps.get_message(timeout=min(0.2, max(0.01, deadline - time.monotonic())))
            if m is not None:
                return m
        return None

    def drain(self, timeout=DRAIN_TIMEOUT):
        """All (channel, data) messages fired so far (up to the sentinel)."""
        token = f"t{next(_tokens)}"
        assert self.pub.publish(SENTINEL, token) == 1
        out = []
        deadline = time.monotonic() + timeout
        while True:
            m = self._next(deadline)
            assert m is not None, f"sentinel not seen within {timeout}s; got {out}"
            if m["type"] == "message" and _s(m["channel"]) == SENTINEL:
                if _s(m["data"]) == token:
                    return out
                continue
            if m["type"] == "pmessage":
                out.append((m["channel"], m["data"]))

    def wait_for(self, channel, data, *more, timeout=3.0):
        """Messages up to and including (channel, data) and the further
        (channel, data) pairs in `more`, in any order, fired asynchronously
        (e.g. active expiry); fails after `timeout` seconds."""
        wanted = {(channel, data), *more}
        out = []
        deadline = time.monotonic() + timeout
        while True:
            m = self._next(deadline)
            assert m is not None, f"{wanted} not seen within {timeout}s; got {out}"
            if m["type"] == "pmessage":
                out.append((m["channel"], m["data"]))
                wanted.discard((m["channel"], m["data"]))
                if not wanted:
                    return out

    def close(self):
        self.ps.close()


@pytest.fixture
def notify(r):
    """notify(flags): CONFIG SET notify-keyspace-events; reset to "" after."""
    def set_flags(flags):
        assert r.config_set("notify-keyspace-events", flags) is True
    yield set_flags
    r.config_set("notify-keyspace-events", "")


@pytest.fixture
def events(make_client, r, notify):
    """An Events collector with all classes enabled ("KEA")."""
    notify("KEA")
    ev = Events(make_client(), r)
    assert ev.drain() == []
    yield ev
    ev.close()


def run(r, *cmds):
    """Run raw commands on r; returns the last reply (errors returned)."""
    res = None
    for c in cmds:
        try:
            res = r.execute_command(*c)
        except redis.exceptions.ResponseError as exc:
            res = exc
    return res


# --------------------------------------------------------------------------
# CONFIG SET / GET notify-keyspace-events
# --------------------------------------------------------------------------

@pytest.mark.parametrize("flags,canonical", [
    ("KEA", "AKE"),
    ("AKE", "AKE"),
    ("AKEA", "AKE"),
    ("EAK", "AKE"),
    ("Kg$lshzxetd", "AK"),     # all of A's classes spelled out collapse to A
    ("Kg$lshzxtd", "g$lshzxtdK"),   # A without 'e' is not A
    ("$lKg", "g$lK"),
    ("hzslK", "lshzK"),
    ("x$E", "$xE"),
    ("K", "K"),
    ("E", "E"),
    ("g", "g"),
    ("KE", "KE"),
    ("Ex", "xE"),
    ("tdK", "tdK"),
    ("", ""),
])
def test_config_canonical_form(r, notify, flags, canonical):
    notify(flags)
    assert r.config_get("notify-keyspace-events") == {"notify-keyspace-events": canonical}


@pytest.mark.parametrize("flags", ["KEQ", "K E", "kea", "1", "K,E"])
def test_config_invalid_character(r, notify, flags):
    notify("Kg")
    with raises_error(INVALID):
        r.config_set("notify-keyspace-events", flags)
    assert r.config_get("notify-keyspace-events") == {"notify-keyspace-events": "gK"}


def test_default_is_empty(r):
    assert r.config_get("notify-keyspace-events") == {"notify-keyspace-events": ""}


def test_empty_disables(r, events, notify):
    r.set("k", "v")
    assert events.drain() == both(("set", "k"))
    notify("")
    r.set("k", "w")
    r.delete("k")
    r.lpush("l", "a")
    assert events.drain() == []
    notify("KEA")
    r.delete("l")
    assert events.drain() == both(("del", "l"))


def test_class_without_channel_kind_fires_nothing(r, events, notify):
    notify("A")        # classes but neither K nor E
    r.set("k", "v")
    r.delete("k")
    assert events.drain() == []
    notify("KE")       # channel kinds but no class
    r.set("k", "v")
    r.delete("k")
    assert events.drain() == []


def test_only_keyspace_channel(r, events, notify):
    notify("KA")
    r.set("k", "v")
    r.delete("k")
    assert events.drain() == [("__keyspace@0__:k", "set"), ("__keyspace@0__:k", "del")]


def test_only_keyevent_channel(r, events, notify):
    notify("EA")
    r.set("k", "v")
    r.delete("k")
    assert events.drain() == [("__keyevent@0__:set", "k"), ("__keyevent@0__:del", "k")]


def test_filtered_class_string_only(r, events, notify):
    notify("K$")
    r.set("s", "1")
    r.incr("s")
    r.lpush("l", "a")
    r.sadd("set", "a")
    r.hset("h", "f", "v")
    r.zadd("z", {"a": 1})
    r.expire("s", 100)
    r.delete("s", "l")
    assert events.drain() == [("__keyspace@0__:s", "set"), ("__keyspace@0__:s", "incrby")]


def test_filtered_class_generic_and_list(r, events, notify):
    notify("Egl")
    r.set("s", "1")
    r.expire("s", 100)
    r.rpush("l", "a")
    r.sadd("set", "a")
    r.delete("s", "set")
    r.lpop("l")
    assert events.drain() == [
        ("__keyevent@0__:expire", "s"), ("__keyevent@0__:rpush", "l"),
        ("__keyevent@0__:del", "s"), ("__keyevent@0__:del", "set"),
        ("__keyevent@0__:lpop", "l"), ("__keyevent@0__:del", "l")]


def test_filtered_class_expired_only(r, events, notify):
    notify("Ex")
    r.set("k", "v", px=50)
    r.set("other", "v")
    got = events.wait_for("__keyevent@0__:expired", "k")
    assert got == [("__keyevent@0__:expired", "k")]
    r.delete("other")
    assert events.drain() == []


def test_config_change_takes_effect_for_existing_subscriber(r, events, notify):
    notify("Kh")
    r.hset("h", "f", "v")
    notify("Ez")
    r.hset("h", "g", "v")
    r.zadd("z", {"a": 1})
    assert events.drain() == [("__keyspace@0__:h", "hset"), ("__keyevent@0__:zadd", "z")]


# --------------------------------------------------------------------------
# Channels and databases
# --------------------------------------------------------------------------

def test_both_channel_kinds_payloads(r, events):
    r.set("foo", "bar")
    assert events.drain() == [("__keyspace@0__:foo", "set"), ("__keyevent@0__:set", "foo")]


def test_plain_subscribe_to_exact_channels(r, make_client, notify):
    notify("KEA")
    sub = make_client().pubsub()
    sub.subscribe("__keyspace@0__:watched", "__keyevent@0__:del")
    # Both confirmations first: a write the server runs before the SUBSCRIBE has no listener.
    confirmations = 0
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while confirmations < 2:
        assert time.monotonic() < deadline, "no subscribe confirmations"
        m = sub.get_message(timeout=0.5)
        if m and m["type"] == "subscribe":
            confirmations += 1
    r.set("watched", "1")
    r.set("other", "1")
    r.delete("other", "watched")
    got = []
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while len(got) < 4 and time.monotonic() < deadline:
        m = sub.get_message(timeout=0.2)
        if m:
            got.append((m["type"], m["channel"], m["data"]))
    assert got == [("message", "__keyspace@0__:watched", "set"),
                   ("message", "__keyevent@0__:del", "other"),
                   ("message", "__keyspace@0__:watched", "del"),
                   ("message", "__keyevent@0__:del", "watched")]
    sub.close()


def test_db_number_in_channel(r, make_client, events):
    c5 = make_client(db=5)
    c5.set("x", "1")
    r.set("x", "1")
    c5.delete("x")
    assert events.drain() == both(("set", "x"), db=5) + both(("set", "x")) + both(("del", "x"), db=5)


def test_db_number_after_select(r, events):
    run(r, ("SELECT", 9), ("SET", "k", "v"), ("SELECT", 0))
    r.set("k", "v")
    assert events.drain() == both(("set", "k"), db=9) + both(("set", "k"))
    r.execute_command("SELECT", 15)
    r.lpush("l", "a")
    r.execute_command("SELECT", 0)
    assert events.drain() == both(("lpush", "l"), db=15)


def test_binary_and_odd_keys_in_channel(rb, make_client, notify, r):
    notify("KEA")
    ev = Events(make_client(decode=False), r)
    try:
        key = b"bin\x00 key:\xff\"x"
        rb.set(key, b"v")
        got = ev.drain()
        assert got == [(b"__keyspace@0__:" + key, b"set"), (b"__keyevent@0__:set", key)]
    finally:
        ev.close()


# --------------------------------------------------------------------------
# Events per command: (setup commands, command, expected (event, key) pairs)
# --------------------------------------------------------------------------

EVENT_CASES = {
    # g: generic
    "del": ([("SET", "k", "v"), ("SET", "k2", "v")], ("DEL", "k", "missing", "k2"),
            [("del", "k"), ("del", "k2")]),
    "unlink": ([("SET", "k", "v")], ("UNLINK", "k"), [("del", "k")]),
    "expire": ([("SET", "k", "v")], ("EXPIRE", "k", 100), [("expire", "k")]),
    "pexpireat": ([("SET", "k", "v")], ("PEXPIREAT", "k", 4102444800000), [("expire", "k")]),
    "expire-past-deletes": ([("SET", "k", "v")], ("EXPIRE", "k", 0), [("del", "k")]),
    "expire-negative-deletes": ([("SET", "k", "v")], ("PEXPIRE", "k", -1), [("del", "k")]),
    "pexpireat-past-deletes": ([("SET", "k", "v")], ("PEXPIREAT", "k", 1), [("del", "k")]),
    "persist": ([("SET", "k", "v", "EX", 100)], ("PERSIST", "k"), [("persist", "k")]),
    "rename": ([("SET", "a", "v")], ("RENAME", "a", "b"),
               [("rename_from", "a"), ("rename_to", "b")]),
    "rename-overwrites": ([("SET", "a", "v"), ("RPUSH", "b", "x")], ("RENAME", "a", "b"),
                          [("rename_from", "a"), ("rename_to", "b")]),
    "renamenx": ([("SET", "a", "v")], ("RENAMENX", "a", "b"),
                 [("rename_from", "a"), ("rename_to", "b")]),
    "rename-same-key": ([("SET", "a", "v")], ("RENAME", "a", "a"), []),
    "copy": ([("SET", "a", "v")], ("COPY", "a", "b"), [("copy_to", "b")]),
    "copy-replace": ([("SET", "a", "v"), ("SET", "b", "w")], ("COPY", "a", "b", "REPLACE"),
                     [("copy_to", "b")]),
    "getdel": ([("SET", "k", "v")], ("GETDEL", "k"), [("del", "k")]),
    "getex": ([("SET", "k", "v")], ("GETEX", "k", "EX", 100), [("expire", "k")]),
    "getex-persist": ([("SET", "k", "v", "EX", 100)], ("GETEX", "k", "PERSIST"), [("persist", "k")]),
    # $: strings
    "set": ([], ("SET", "k", "v"), [("set", "k")]),
    "set-ex": ([], ("SET", "k", "v", "EX", 10), [("set", "k"), ("expire", "k")]),
    "set-px-keepttl": ([("SET", "k", "v", "EX", 10)], ("SET", "k", "w", "KEEPTTL"), [("set", "k")]),
    "setex": ([], ("SETEX", "k", 10, "v"), [("set", "k"), ("expire", "k")]),
    "psetex": ([], ("PSETEX", "k", 10000, "v"), [("set", "k"), ("expire", "k")]),
    "setnx": ([], ("SETNX", "k", "v"), [("set", "k")]),
    "getset": ([("SET", "k", "v")], ("GETSET", "k", "w"), [("set", "k")]),
    "mset": ([], ("MSET", "a", "1", "b", "2"), [("set", "a"), ("set", "b")]),
    "msetnx": ([], ("MSETNX", "a", "1", "b", "2"), [("set", "a"), ("set", "b")]),
    "incr": ([], ("INCR", "n"), [("incrby", "n")]),
    "incrby": ([("SET", "n", "1")], ("INCRBY", "n", 5), [("incrby", "n")]),
    "decr": ([("SET", "n", "1")], ("DECR", "n"), [("incrby", "n")]),
    "decrby": ([("SET", "n", "1")], ("DECRBY", "n", 3), [("incrby", "n")]),
    "incrbyfloat": ([("SET", "n", "1")], ("INCRBYFLOAT", "n", "1.5"), [("incrbyfloat", "n")]),
    "append": ([("SET", "k", "v")], ("APPEND", "k", "x"), [("append", "k")]),
    "append-new": ([], ("APPEND", "k", "x"), [("append", "k")]),
    "setrange": ([("SET", "k", "hello")], ("SETRANGE", "k", 1, "a"), [("setrange", "k")]),
    "setrange-new": ([], ("SETRANGE", "k", 3, "a"), [("setrange", "k")]),
    # l: lists
    "lpush": ([], ("LPUSH", "l", "a", "b"), [("lpush", "l")]),
    "rpush": ([], ("RPUSH", "l", "a", "b"), [("rpush", "l")]),
    "lpushx": ([("RPUSH", "l", "a")], ("LPUSHX", "l", "b"), [("lpush", "l")]),
    "rpushx": ([("RPUSH", "l", "a")], ("RPUSHX", "l", "b"), [("rpush", "l")]),
    "lpop": ([("RPUSH", "l", "a", "b")], ("LPOP", "l"), [("lpop", "l")]),
    "rpop": ([("RPUSH", "l", "a", "b")], ("RPOP", "l"), [("rpop", "l")]),
    "lpop-last": ([("RPUSH", "l", "a")], ("LPOP", "l"), [("lpop", "l"), ("del", "l")]),
    "rpop-count-all": ([("RPUSH", "l", "a", "b")], ("RPOP", "l", 5), [("rpop", "l"), ("del", "l")]),
    "lmpop": ([("RPUSH", "l", "a", "b")], ("LMPOP", 2, "x", "l", "LEFT", "COUNT", 5),
              [("lpop", "l"), ("del", "l")]),
    "lset": ([("RPUSH", "l", "a", "b")], ("LSET", "l", 0, "q"), [("lset", "l")]),
    "linsert": ([("RPUSH", "l", "a", "b")], ("LINSERT", "l", "BEFORE", "b", "x"), [("linsert", "l")]),
    "lrem": ([("RPUSH", "l", "a", "b", "a")], ("LREM", "l", 0, "a"), [("lrem", "l")]),
    "lrem-last": ([("RPUSH", "l", "a", "a")], ("LREM", "l", 0, "a"), [("lrem", "l"), ("del", "l")]),
    "ltrim": ([("RPUSH", "l", "a", "b", "c")], ("LTRIM", "l", 0, 1), [("ltrim", "l")]),
    "ltrim-unchanged": ([("RPUSH", "l", "a", "b")], ("LTRIM", "l", 0, -1), [("ltrim", "l")]),
    "ltrim-empties": ([("RPUSH", "l", "a", "b")], ("LTRIM", "l", 5, 10), [("ltrim", "l"), ("del", "l")]),
    "lmove": ([("RPUSH", "s", "a", "b")], ("LMOVE", "s", "d", "LEFT", "RIGHT"),
              [("rpush", "d"), ("lpop", "s")]),
    "lmove-last": ([("RPUSH", "s", "a")], ("LMOVE", "s", "d", "RIGHT", "LEFT"),
                   [("lpush", "d"), ("rpop", "s"), ("del", "s")]),
    "rpoplpush": ([("RPUSH", "s", "a", "b")], ("RPOPLPUSH", "s", "d"),
                  [("lpush", "d"), ("rpop", "s")]),
    "rpoplpush-last": ([("RPUSH", "s", "a")], ("RPOPLPUSH", "s", "d"),
                       [("lpush", "d"), ("rpop", "s"), ("del", "s")]),
    "rpoplpush-same": ([("RPUSH", "s", "a", "b")], ("RPOPLPUSH", "s", "s"),
                       [("lpush", "s"), ("rpop", "s")]),
    # s: sets
    "sadd": ([], ("SADD", "s", "a", "b"), [("sadd", "s")]),
    "sadd-partly-new": ([("SADD", "s", "a")], ("SADD", "s", "a", "b"), [("sadd", "s")]),
    "srem": ([("SADD", "s", "a", "b")], ("SREM", "s", "a", "zz"), [("srem", "s")]),
    "srem-last": ([("SADD", "s", "a")], ("SREM", "s", "a"), [("srem", "s"), ("del", "s")]),
    "spop": ([("SADD", "s", "a", "b")], ("SPOP", "s"), [("spop", "s")]),
    "spop-last": ([("SADD", "s", "a")], ("SPOP", "s"), [("spop", "s"), ("del", "s")]),
    "spop-count-all": ([("SADD", "s", "a", "b")], ("SPOP", "s", 5), [("spop", "s"), ("del", "s")]),
    "smove": ([("SADD", "s1", "a", "b")], ("SMOVE", "s1", "s2", "a"), [("srem", "s1"), ("sadd", "s2")]),
    "smove-already-in-dst": ([("SADD", "s1", "a", "b"), ("SADD", "s2", "a")],
                             ("SMOVE", "s1", "s2", "a"), [("srem", "s1")]),
    "smove-last": ([("SADD", "s1", "a")], ("SMOVE", "s1", "s2", "a"),
                   [("srem", "s1"), ("del", "s1"), ("sadd", "s2")]),
    "sinterstore": ([("SADD", "a", "1", "2"), ("SADD", "b", "2")], ("SINTERSTORE", "d", "a", "b"),
                    [("sinterstore", "d")]),
    "sunionstore": ([("SADD", "a", "1"), ("SADD", "b", "2")], ("SUNIONSTORE", "d", "a", "b"),
                    [("sunionstore", "d")]),
    "sdiffstore": ([("SADD", "a", "1", "2"), ("SADD", "b", "2")], ("SDIFFSTORE", "d", "a", "b"),
                   [("sdiffstore", "d")]),
    "sinterstore-empty-deletes": ([("SET", "d", "x"), ("SADD", "a", "1")],
                                  ("SINTERSTORE", "d", "a", "missing"), [("del", "d")]),
    "sdiffstore-empty-missing-dst": ([("SADD", "a", "1")], ("SDIFFSTORE", "d", "a", "a"), []),
    # h: hashes
    "hset": ([], ("HSET", "h", "f", "1", "g", "2"), [("hset", "h")]),
    "hset-same-value": ([("HSET", "h", "f", "1")], ("HSET", "h", "f", "1"), [("hset", "h")]),
    "hmset": ([], ("HMSET", "h", "f", "1"), [("hset", "h")]),
    "hsetnx": ([], ("HSETNX", "h", "f", "1"), [("hset", "h")]),
    "hdel": ([("HSET", "h", "f", "1", "g", "2")], ("HDEL", "h", "f", "zz"), [("hdel", "h")]),
    "hdel-last": ([("HSET", "h", "f", "1")], ("HDEL", "h", "f"), [("hdel", "h"), ("del", "h")]),
    "hincrby": ([], ("HINCRBY", "h", "f", 2), [("hincrby", "h")]),
    "hincrbyfloat": ([("HSET", "h", "f", "1")], ("HINCRBYFLOAT", "h", "f", "1.5"),
                     [("hincrbyfloat", "h")]),
    # z: sorted sets
    "zadd": ([], ("ZADD", "z", 1, "a", 2, "b"), [("zadd", "z")]),
    "zadd-score-change": ([("ZADD", "z", 1, "a")], ("ZADD", "z", 5, "a"), [("zadd", "z")]),
    "zadd-incr": ([("ZADD", "z", 1, "a")], ("ZADD", "z", "INCR", 2, "a"), [("zincr", "z")]),
    "zincrby": ([], ("ZINCRBY", "z", 2, "a"), [("zincr", "z")]),
    "zrem": ([("ZADD", "z", 1, "a", 2, "b")], ("ZREM", "z", "a", "zz"), [("zrem", "z")]),
    "zrem-last": ([("ZADD", "z", 1, "a")], ("ZREM", "z", "a"), [("zrem", "z"), ("del", "z")]),
    "zremrangebyrank": ([("ZADD", "z", 1, "a", 2, "b")], ("ZREMRANGEBYRANK", "z", 0, 0),
                        [("zremrangebyrank", "z")]),
    "zremrangebyrank-all": ([("ZADD", "z", 1, "a", 2, "b")], ("ZREMRANGEBYRANK", "z", 0, -1),
                            [("zremrangebyrank", "z"), ("del", "z")]),
    "zremrangebyscore": ([("ZADD", "z", 1, "a", 2, "b")], ("ZREMRANGEBYSCORE", "z", 2, 2),
                         [("zremrangebyscore", "z")]),
    "zremrangebylex": ([("ZADD", "z", 0, "a", 0, "b", 0, "c")], ("ZREMRANGEBYLEX", "z", "[a", "[b"),
                       [("zremrangebylex", "z")]),
    "zpopmin": ([("ZADD", "z", 1, "a", 2, "b")], ("ZPOPMIN", "z"), [("zpopmin", "z")]),
    "zpopmax": ([("ZADD", "z", 1, "a", 2, "b")], ("ZPOPMAX", "z"), [("zpopmax", "z")]),
    "zpopmax-all": ([("ZADD", "z", 1, "a", 2, "b")], ("ZPOPMAX", "z", 10),
                    [("zpopmax", "z"), ("del", "z")]),
    "zmpop-min": ([("ZADD", "z", 1, "a", 2, "b")], ("ZMPOP", 1, "z", "MIN"), [("zpopmin", "z")]),
    "zrangestore": ([("ZADD", "z", 1, "a")], ("ZRANGESTORE", "d", "z", 0, -1), [("zrangestore", "d")]),
    "zunionstore": ([("ZADD", "z", 1, "a")], ("ZUNIONSTORE", "d", 1, "z"), [("zunionstore", "d")]),
    "zinterstore": ([("ZADD", "z", 1, "a")], ("ZINTERSTORE", "d", 1, "z"), [("zinterstore", "d")]),
    "zdiffstore": ([("ZADD", "z", 1, "a")], ("ZDIFFSTORE", "d", 1, "z"), [("zdiffstore", "d")]),
}


@pytest.mark.parametrize("name", list(EVENT_CASES))
def test_command_events(r, events, name):
    setup, command, expected = EVENT_CASES[name]
    run(r, *setup)
    events.drain()
    reply = run(r, command)
    assert not isinstance(reply, Exception), reply
    assert events.drain() == both(*expected)


# Commands that change nothing fire nothing.
NO_EVENT_CASES = {
    "sadd-existing": ([("SADD", "s", "a")], ("SADD", "s", "a")),
    "del-missing": ([], ("DEL", "missing")),
    "unlink-missing": ([], ("UNLINK", "missing", "missing2")),
    "srem-missing-member": ([("SADD", "s", "a")], ("SREM", "s", "zz")),
    "srem-missing-key": ([], ("SREM", "s", "a")),
    "spop-missing": ([], ("SPOP", "s")),
    "smove-missing-member": ([("SADD", "s1", "a")], ("SMOVE", "s1", "s2", "zz")),
    "hdel-missing": ([("HSET", "h", "f", "1")], ("HDEL", "h", "zz")),
    "zadd-same-score": ([("ZADD", "z", 1, "a")], ("ZADD", "z", 1, "a")),
    "zadd-nx-existing": ([("ZADD", "z", 1, "a")], ("ZADD", "z", "NX", 3, "a")),
    "zrem-missing": ([("ZADD", "z", 1, "a")], ("ZREM", "z", "zz")),
    "zremrangebyscore-none": ([("ZADD", "z", 1, "a")], ("ZREMRANGEBYSCORE", "z", 5, 6)),
    "zpopmin-missing": ([], ("ZPOPMIN", "z")),
    "lrem-missing": ([("RPUSH", "l", "a")], ("LREM", "l", 0, "zz")),
    "linsert-no-pivot": ([("RPUSH", "l", "a")], ("LINSERT", "l", "BEFORE", "zz", "x")),
    "lpushx-missing": ([], ("LPUSHX", "l", "a")),
    "lpop-missing": ([], ("LPOP", "l")),
    "rpoplpush-missing": ([], ("RPOPLPUSH", "s", "d")),
    "persist-no-ttl": ([("SET", "k", "v")], ("PERSIST", "k")),
    "expire-missing": ([], ("EXPIRE", "k", 100)),
    "expire-nx-has-ttl": ([("SET", "k", "v", "EX", 100)], ("EXPIRE", "k", 50, "NX")),
    "setnx-existing": ([("SET", "k", "v")], ("SETNX", "k", "w")),
    "set-nx-existing": ([("SET", "k", "v")], ("SET", "k", "w", "NX")),
    "set-xx-missing": ([], ("SET", "k", "w", "XX")),
    "msetnx-one-exists": ([("SET", "b", "v")], ("MSETNX", "a", "1", "b", "2")),
    "setrange-empty-missing": ([], ("SETRANGE", "k", 0, "")),
    "getdel-missing": ([], ("GETDEL", "k")),
    "getex-no-option": ([("SET", "k", "v")], ("GETEX", "k")),
    "renamenx-dst-exists": ([("SET", "a", "1"), ("SET", "b", "2")], ("RENAMENX", "a", "b")),
    "copy-dst-exists": ([("SET", "a", "1"), ("SET", "b", "2")], ("COPY", "a", "b")),
    "get": ([("SET", "k", "v")], ("GET", "k")),
    "read-only-commands": ([("RPUSH", "l", "a"), ("SADD", "s", "a"), ("HSET", "h", "f", "v"),
                            ("ZADD", "z", 1, "a")],
                           ("EXISTS", "l", "s", "h", "z")),
    "sintercard": ([("SADD", "s", "a")], ("SINTERCARD", 1, "s")),
}


@pytest.mark.parametrize("name", list(NO_EVENT_CASES))
def test_no_change_no_event(r, events, name):
    setup, command = NO_EVENT_CASES[name]
    run(r, *setup)
    events.drain()
    run(r, command)
    assert events.drain() == []


def test_failed_commands_fire_nothing(r, events):
    r.set("str", "v")
    r.rpush("l", "a")
    events.drain()
    for cmd in [("LPUSH", "str", "x"), ("INCR", "l"), ("SADD", "str", "a"),
                ("HSET", "l", "f", "v"), ("INCRBYFLOAT", "str", "1"),
                ("RENAME", "missing", "x"), ("LSET", "l", 5, "x"), ("ZADD", "l", 1, "a")]:
        assert isinstance(run(r, cmd), redis.exceptions.ResponseError), cmd
    assert events.drain() == []


def test_flushdb_flushall_fire_no_key_events(r, events):
    r.set("a", "1")
    r.rpush("l", "a")
    events.drain()
    r.flushdb()
    r.set("b", "1")
    events.drain()
    r.flushall()
    assert events.drain() == []


# --------------------------------------------------------------------------
# MOVE (g: move_from / move_to), SORT STORE, EVAL, SWAPDB
# --------------------------------------------------------------------------

def test_move_events(r, raw, events):
    needs_command(raw(), "MOVE")
    r.set("k", "v")
    events.drain()
    assert r.move("k", 3) is True
    assert events.drain() == both(("move_from", "k")) + both(("move_to", "k"), db=3)
    r.set("k", "v")
    events.drain()
    assert r.move("k", 3) is False          # exists in db 3 already
    assert events.drain() == []


def test_sort_store_event(r, raw, events):
    needs_command(raw(), "SORT")
    r.rpush("l", "3", "1", "2")
    events.drain()
    assert r.sort("l", store="d") == 3
    assert events.drain() == both(("sortstore", "d"))


def test_eval_events_in_order(r, raw, events):
    needs_command(raw(), "EVAL")
    script = "redis.call('set', KEYS[1], '1'); redis.call('incr', KEYS[1]); redis.call('del', KEYS[1]); return 1"
    assert r.eval(script, 1, "ek") == 1
    assert events.drain() == both(("set", "ek"), ("incrby", "ek"), ("del", "ek"))


def test_swapdb_fires_no_key_events(r, raw, events):
    needs_command(raw(), "SWAPDB")
    r.set("a", "1")
    events.drain()
    assert r.swapdb(0, 1) is True
    assert events.drain() == []
    r.swapdb(0, 1)


# --------------------------------------------------------------------------
# Ordering within one command
# --------------------------------------------------------------------------

def test_set_ex_is_set_then_expire(r, events):
    r.set("k", "v", ex=10)
    assert events.drain() == both(("set", "k"), ("expire", "k"))


def test_set_over_ttl_key_without_ex_is_set_only(r, events):
    r.set("k", "v", ex=10)
    events.drain()
    r.set("k", "w")
    assert events.drain() == both(("set", "k"))
    assert r.ttl("k") == -1


def test_rpoplpush_pushes_destination_before_popping_source(r, events):
    r.rpush("src", "a", "b")
    r.rpush("dst", "x")
    events.drain()
    assert r.rpoplpush("src", "dst") == "b"
    assert r.rpoplpush("src", "dst") == "a"
    assert events.drain() == both(("lpush", "dst"), ("rpop", "src"),
                                  ("lpush", "dst"), ("rpop", "src"), ("del", "src"))


@pytest.mark.parametrize("wherefrom,whereto,pop,push", [
    ("LEFT", "LEFT", "lpop", "lpush"), ("LEFT", "RIGHT", "lpop", "rpush"),
    ("RIGHT", "LEFT", "rpop", "lpush"), ("RIGHT", "RIGHT", "rpop", "rpush"),
])
def test_lmove_ordering(r, events, wherefrom, whereto, pop, push):
    r.rpush("src", "a")
    events.drain()
    assert r.lmove("src", "dst", wherefrom, whereto) == "a"
    assert events.drain() == both((push, "dst"), (pop, "src"), ("del", "src"))


def test_rename_from_then_to(r, events):
    r.set("a", "1", ex=100)
    events.drain()
    r.rename("a", "b")
    assert events.drain() == both(("rename_from", "a"), ("rename_to", "b"))
    assert r.ttl("b") > 0


def test_mset_order_follows_arguments(r, events):
    r.mset({"z": "1", "a": "2", "m": "3"})
    assert events.drain() == both(("set", "z"), ("set", "a"), ("set", "m"))


def test_del_order_follows_arguments(r, events):
    r.mset({"c": "1", "a": "2", "b": "3"})
    events.drain()
    assert r.delete("b", "missing", "c", "a") == 3
    assert events.drain() == both(("del", "b"), ("del", "c"), ("del", "a"))


# --------------------------------------------------------------------------
# MULTI / EXEC
# --------------------------------------------------------------------------

def test_multi_exec_events_after_exec_in_order(rc, events):
    # raw connection: redis-py's SET callback turns +QUEUED into False
    assert rc.cmd("MULTI") == "OK"
    assert rc.cmd("SET", "m", "1") == "QUEUED"
    assert rc.cmd("LPUSH", "ml", "a") == "QUEUED"
    assert rc.cmd("DEL", "m") == "QUEUED"
    assert events.drain() == []          # nothing fires while queued
    assert rc.cmd("EXEC") == ["OK", 1, 1]
    assert events.drain() == both(("set", "m"), ("lpush", "ml"), ("del", "m"))


def test_multi_exec_runtime_error_fires_only_successful(rc, events):
    assert rc.cmd("MULTI") == "OK"
    for c in [("SET", "m", "1"), ("INCR", "m"), ("LPUSH", "m", "x"), ("EXPIRE", "m", 100)]:
        assert rc.cmd(*c) == "QUEUED"
    res = rc.cmd("EXEC")
    assert res[:2] == ["OK", 2] and isinstance(res[2], RespError) and res[3] == 1
    assert res[2].line.startswith("WRONGTYPE")
    assert events.drain() == both(("set", "m"), ("incrby", "m"), ("expire", "m"))


def test_discard_fires_nothing(rc, events):
    assert rc.cmd("MULTI") == "OK"
    assert rc.cmd("SET", "m", "1") == "QUEUED"
    assert rc.cmd("DISCARD") == "OK"
    assert events.drain() == []


def test_execabort_fires_nothing(rc, events):
    assert rc.cmd("MULTI") == "OK"
    assert rc.cmd("SET", "m", "1") == "QUEUED"
    assert isinstance(rc.cmd("NOSUCHCOMMAND"), RespError)
    assert rc.cmd("EXEC").line.startswith("EXECABORT")
    assert events.drain() == []


def test_pipeline_transaction_events(r, events):
    p = r.pipeline(transaction=True)
    p.sadd("s", "a", "b").srem("s", "a").srem("s", "b").hset("h", "f", "v")
    assert p.execute() == [2, 1, 1, 1]
    assert events.drain() == both(("sadd", "s"), ("srem", "s"), ("srem", "s"),
                                  ("del", "s"), ("hset", "h"))


def test_watch_aborted_exec_fires_nothing(rc, r, events):
    r.set("w", "1")
    events.drain()
    assert rc.cmd("WATCH", "w") == "OK"
    r.set("w", "2")
    assert rc.cmd("MULTI") == "OK"
    assert rc.cmd("SET", "x", "1") == "QUEUED"
    assert rc.cmd("EXEC") is None
    assert events.drain() == both(("set", "w"))


# --------------------------------------------------------------------------
# Blocked clients served by a push
# --------------------------------------------------------------------------

SERVED_CASES = {
    "blpop": (("BLPOP", "bl", 5), ("LPUSH", "bl", "a"),
              [("lpush", "bl"), ("lpop", "bl"), ("del", "bl")]),
    "blpop-two-pushed": (("BLPOP", "bl", 5), ("LPUSH", "bl", "a", "b"),
                         [("lpush", "bl"), ("lpop", "bl")]),
    "brpop": (("BRPOP", "bl", 5), ("RPUSH", "bl", "a"),
              [("rpush", "bl"), ("rpop", "bl"), ("del", "bl")]),
    "blmpop": (("BLMPOP", 5, 1, "bl", "LEFT", "COUNT", 3), ("RPUSH", "bl", "a", "b"),
               [("rpush", "bl"), ("lpop", "bl"), ("del", "bl")]),
    "blmove": (("BLMOVE", "bl", "dst", "LEFT", "RIGHT", 5), ("RPUSH", "bl", "a"),
               [("rpush", "bl"), ("rpush", "dst"), ("lpop", "bl"), ("del", "bl")]),
    "brpoplpush": (("BRPOPLPUSH", "bl", "dst", 5), ("RPUSH", "bl", "a"),
                   [("rpush", "bl"), ("lpush", "dst"), ("rpop", "bl"), ("del", "bl")]),
    "bzpopmin": (("BZPOPMIN", "bz", 5), ("ZADD", "bz", 1, "a"),
                 [("zadd", "bz"), ("zpopmin", "bz"), ("del", "bz")]),
    "bzpopmax": (("BZPOPMAX", "bz", 5), ("ZADD", "bz", 1, "a", 2, "b"),
                 [("zadd", "bz"), ("zpopmax", "bz")]),
    "bzmpop": (("BZMPOP", 5, 1, "bz", "MIN"), ("ZADD", "bz", 1, "a"),
               [("zadd", "bz"), ("zpopmin", "bz"), ("del", "bz")]),
}


@pytest.mark.parametrize("name", list(SERVED_CASES))
def test_blocked_client_served_by_push(r, events, admin, waiter, name):
    block, push, expected = SERVED_CASES[name]
    c = waiter()
    c.block(admin, 1, *block)
    assert events.drain() == []          # blocking fires nothing
    run(r, push)
    value = c.value()
    assert value is not None and not isinstance(value, Exception), value
    wait_blocked(admin, 0)
    assert events.drain() == both(*expected)


def test_blocked_client_served_inside_exec(rc, events, admin, waiter):
    c = waiter()
    c.block(admin, 1, "BLPOP", "bl", 5)
    assert rc.cmd("MULTI") == "OK"
    assert rc.cmd("RPUSH", "bl", "a", "b") == "QUEUED"
    assert rc.cmd("SET", "k", "v") == "QUEUED"
    assert rc.cmd("EXEC") == [2, "OK"]
    assert c.value() == [b"bl", b"a"]
    assert events.drain() == both(("rpush", "bl"), ("set", "k"), ("lpop", "bl"))


def test_blocking_timeout_fires_nothing(r, events, admin, waiter):
    c = waiter()
    c.send("BLPOP", "bl", "0.1")
    assert c.value(timeout=3) is None
    assert events.drain() == []


# --------------------------------------------------------------------------
# x: expired (lazy and active) and expiry-related events
# --------------------------------------------------------------------------

def _set_active_expire(r, on):
    """DEBUG SET-ACTIVE-EXPIRE where the server has it (Redis); False when not."""
    try:
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 1 if on else 0)
        return True
    except redis.exceptions.ResponseError:
        return False


def test_expired_lazily_on_access(r, events):
    lazy_only = _set_active_expire(r, False)
    try:
        r.set("k", "v", px=100)
        time.sleep(0.25)
        before = events.drain()
        if lazy_only:    # active expiry off: nothing fires until the key is touched
            assert before == both(("set", "k"), ("expire", "k"))
        assert r.get("k") is None
        after = events.drain()
        assert before + after == both(("set", "k"), ("expire", "k"), ("expired", "k"))
        assert r.get("k") is None
        assert r.exists("k") == 0
        assert events.drain() == []      # expired fires once
    finally:
        _set_active_expire(r, True)


@pytest.mark.parametrize("access", ["GET", "EXISTS", "TTL", "LPUSH", "SET"])
def test_expired_lazily_by_each_access(r, events, access):
    _set_active_expire(r, False)
    try:
        r.set("k", "v", px=50)
        time.sleep(0.15)
        if access == "LPUSH":
            run(r, ("LPUSH", "k", "x"))
            tail = [("lpush", "k")]
        elif access == "SET":
            run(r, ("SET", "k", "w"))
            tail = [("set", "k")]
        else:
            run(r, (access, "k"))
            tail = []
        got = events.drain()
        # with active expiry off (Redis: DEBUG SET-ACTIVE-EXPIRE 0) the access
        # itself expired the key; otherwise active expiry may have come first,
        # with the same messages
        assert got == both(("set", "k"), ("expire", "k"), ("expired", "k"), *tail)
    finally:
        _set_active_expire(r, True)


def test_expired_actively_without_access(r, events):
    r.set("k", "v", px=100)
    r.rpush("l", "a")
    r.pexpire("l", 150)
    got = events.wait_for("__keyevent@0__:expired", "l", ("__keyevent@0__:expired", "k"),
                          timeout=3.0)
    # active expiry samples keys in no particular order
    assert got[:8] == both(("set", "k"), ("expire", "k"), ("rpush", "l"), ("expire", "l"))
    assert got[8:] in (both(("expired", "k"), ("expired", "l")),
                       both(("expired", "l"), ("expired", "k")))
    assert r.dbsize() == 0
    assert events.drain() == []


def test_expired_actively_in_other_db(make_client, events):
    c7 = make_client(db=7)
    c7.set("k", "v", px=50)
    got = events.wait_for("__keyevent@7__:expired", "k", timeout=3.0)
    assert got == both(("set", "k"), ("expire", "k"), ("expired", "k"), db=7)


def test_getex_persist_and_expire_events(r, events):
    r.set("k", "v")
    r.getex("k", px=100000)
    r.getex("k", persist=True)
    r.getex("k", persist=True)          # no TTL any more: nothing
    assert events.drain() == both(("set", "k"), ("expire", "k"), ("persist", "k"))


# --------------------------------------------------------------------------
# 'n' (new key) and 'm' (key miss): not part of 'A'
# --------------------------------------------------------------------------

# (setup, command, [(event, key)...]) with only the 'n' and 'm' classes on.
NEW_MISS_CASES = {
    "get-miss": ([], ("GET", "m"), [("keymiss", "m")]),
    "get-hit": ([("SET", "k", "v")], ("GET", "k"), []),
    "mget-each-miss": ([("SET", "b", "v")], ("MGET", "a", "b", "c"),
                       [("keymiss", "a"), ("keymiss", "c")]),
    "exists": ([], ("EXISTS", "a", "b"), [("keymiss", "a"), ("keymiss", "b")]),
    "type": ([], ("TYPE", "a"), [("keymiss", "a")]),
    "ttl": ([], ("TTL", "a"), [("keymiss", "a")]),
    "strlen": ([], ("STRLEN", "a"), [("keymiss", "a")]),
    "hget": ([], ("HGET", "h", "f"), [("keymiss", "h")]),
    "hget-missing-field": ([("HSET", "h", "g", "v")], ("HGET", "h", "f"), []),
    "hgetall": ([], ("HGETALL", "h"), [("keymiss", "h")]),
    "lrange": ([], ("LRANGE", "l", 0, -1), [("keymiss", "l")]),
    "smembers": ([], ("SMEMBERS", "s"), [("keymiss", "s")]),
    "sinter-every-key": ([], ("SINTER", "a", "b"), [("keymiss", "a"), ("keymiss", "b")]),
    "zscore": ([], ("ZSCORE", "z", "a"), [("keymiss", "z")]),
    "touch": ([], ("TOUCH", "a"), [("keymiss", "a")]),
    "getdel": ([], ("GETDEL", "a"), [("keymiss", "a")]),
    "getex": ([], ("GETEX", "a"), [("keymiss", "a")]),
    "sunionstore-sources": ([], ("SUNIONSTORE", "d", "a", "b"),
                            [("keymiss", "a"), ("keymiss", "b")]),
    "zunionstore-sources": ([], ("ZUNIONSTORE", "d", 1, "a"), [("keymiss", "a")]),
    "copy-source": ([], ("COPY", "a", "b"), [("keymiss", "a")]),
    "set-get": ([], ("SET", "k", "v", "GET"), [("keymiss", "k"), ("new", "k")]),
    "getset": ([], ("GETSET", "k", "v"), [("keymiss", "k"), ("new", "k")]),
    # Write lookups report no miss.
    "object": ([], ("OBJECT", "ENCODING", "a"), []),
    "smove-source": ([], ("SMOVE", "a", "b", "x"), []),
    "lmove-source": ([], ("LMOVE", "a", "b", "LEFT", "LEFT"), []),
    "expire": ([], ("EXPIRE", "a", 10), []),
    "del": ([], ("DEL", "a"), []),
    "lpushx": ([], ("LPUSHX", "a", "x"), []),
    "lmpop": ([], ("LMPOP", 1, "a", "LEFT"), []),
    # New keys, from every kind of write.
    "set-new": ([], ("SET", "k", "v"), [("new", "k")]),
    "set-existing": ([("SET", "k", "v")], ("SET", "k", "w"), []),
    "incr": ([], ("INCR", "k"), [("new", "k")]),
    "append": ([], ("APPEND", "k", "x"), [("new", "k")]),
    "mset-each-new": ([("SET", "b", "v")], ("MSET", "a", 1, "b", 2, "c", 3),
                      [("new", "a"), ("new", "c")]),
    "hset": ([], ("HSET", "h", "f", "v"), [("new", "h")]),
    "hset-existing": ([("HSET", "h", "f", "v")], ("HSET", "h", "g", "v"), []),
    "hincrby": ([], ("HINCRBY", "h", "f", 1), [("new", "h")]),
    "lpush": ([], ("LPUSH", "l", "a"), [("new", "l")]),
    "sadd": ([], ("SADD", "s", "a"), [("new", "s")]),
    "zadd": ([], ("ZADD", "z", 1, "a"), [("new", "z")]),
    "copy-destination": ([("SET", "a", "v")], ("COPY", "a", "b"), [("new", "b")]),
    "rename-destination": ([("SET", "a", "v")], ("RENAME", "a", "b"), [("new", "b")]),
    "lmove-destination": ([("RPUSH", "a", "x")], ("LMOVE", "a", "b", "LEFT", "RIGHT"),
                          [("new", "b")]),
    "smove-destination": ([("SADD", "a", "x", "y")], ("SMOVE", "a", "b", "x"), [("new", "b")]),
    "zrangestore": ([("ZADD", "z", 1, "a")], ("ZRANGESTORE", "d", "z", 0, -1), [("new", "d")]),
    "sdiffstore-miss-and-new": ([("SADD", "s", "a")], ("SDIFFSTORE", "d", "s", "m"),
                                [("keymiss", "m"), ("new", "d")]),
}


@pytest.mark.parametrize("name", list(NEW_MISS_CASES))
def test_new_and_keymiss_events(r, events, notify, name):
    setup, command, expected = NEW_MISS_CASES[name]
    run(r, *setup)
    notify("KEmn")
    events.drain()
    reply = run(r, command)
    assert not isinstance(reply, Exception), reply
    assert events.drain() == both(*expected)


def test_new_comes_before_the_commands_own_events(r, events, notify):
    notify("KEAn")
    events.drain()
    run(r, ("SET", "k", "v", "EX", 100), ("RENAME", "k", "k2"),
        ("LPUSH", "src", "x"), ("LMOVE", "src", "dst", "LEFT", "LEFT"))
    assert events.drain() == both(
        ("new", "k"), ("set", "k"), ("expire", "k"),
        ("new", "k2"), ("rename_from", "k"), ("rename_to", "k2"),
        ("new", "src"), ("lpush", "src"),
        ("new", "dst"), ("lpush", "dst"), ("lpop", "src"), ("del", "src"))


def test_new_and_keymiss_inside_exec(r, events, notify):
    notify("KEmn")
    events.drain()
    p = r.pipeline(transaction=True)
    p.get("a").set("a", "v").get("a").incr("b")
    p.execute()
    assert events.drain() == both(("keymiss", "a"), ("new", "a"), ("new", "b"))


def test_a_does_not_include_new_or_keymiss(r, events):
    run(r, ("GET", "missing"))
    r.set("fresh", "v")
    assert events.drain() == both(("set", "fresh"))

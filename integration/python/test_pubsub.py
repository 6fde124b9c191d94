"""Pub/sub through redis-py's PubSub (RESP2 and RESP3) plus the lifecycle
of subscribers: get_message, handlers and run_in_thread, patterns,
unsubscribe flows, sharded pub/sub, PUBSUB introspection, binary channels,
PUBLISH counts, the RESP2 subscriber-mode refusal as redis-py reports it,
subscribers killed (CLIENT KILL) or disconnected disappearing from PUBSUB
NUMSUB/NUMPAT and CLIENT LIST, and a slow subscriber (never reads) cut off at
a `client-output-buffer-limit pubsub` hard limit while a fast subscriber
gets every message.

The exact bytes are in test_pubsub_wire.py; all expectations were checked
against redis-server 7.0.15 (PUBSUB_FACTS.md). Every wait is bounded.

redis-py note: in RESP3, `PubSub.ping()` cannot be parsed by redis-py 8
(the +PONG reply is indexed like a push frame); PING in subscriber mode is
therefore tested here in RESP2 only, and byte for byte in both protocols in
test_pubsub_wire.py.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
import redis

from helpers import IS_VAYLIX, RawConn, ServerProcess, full_error
from pubsub_helpers import (READ_WAIT, SmallRcvbufConn, Sub, admin, client_list, info_fields,  # noqa: F401
                            message, not_allowed, sub, subs, wait_until)

MSG_WAIT = 5.0


def get(ps, timeout=MSG_WAIT):
    """The next message from a PubSub (subscribe confirmations included);
    fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = ps.get_message(timeout=max(0.01, deadline - time.monotonic()))
        if m is not None:
            return m
    raise AssertionError(f"no message within {timeout}s")


def get_all(ps, n, timeout=MSG_WAIT):
    return [get(ps, timeout) for _ in range(n)]


def quiet(ps, wait=0.15):
    return ps.get_message(timeout=wait) is None


def msg(kind, channel, data, pattern=None):
    return {"type": kind, "pattern": pattern, "channel": channel, "data": data}


@pytest.fixture
def ps_factory(make_client, admin):
    """PubSub objects on their own connection (test's protocol); closed at
    teardown. admin (RESP2 raw) is guaranteed to start with no subscriptions."""
    made = []

    def make(decode=True, **kwargs):
        client = make_client(decode=decode, single=False)
        ps = client.pubsub(**kwargs)
        made.append(ps)
        return ps

    yield make
    for ps in made:
        try:
            ps.close()
        except Exception:
            pass


# --------------------------------------------------------------------------
# get_message
# --------------------------------------------------------------------------

def test_subscribe_and_get_message(r, ps_factory):
    ps = ps_factory()
    ps.subscribe("a", "b")
    assert get_all(ps, 2) == [msg("subscribe", "a", 1), msg("subscribe", "b", 2)]
    assert ps.subscribed
    assert r.publish("a", "hello") == 1
    assert r.publish("b", "") == 1
    assert r.publish("c", "nobody") == 0
    assert get_all(ps, 2) == [msg("message", "a", "hello"), msg("message", "b", "")]
    assert quiet(ps)


def test_messages_arrive_in_publish_order(r, ps_factory):
    ps = ps_factory(ignore_subscribe_messages=True)
    ps.subscribe("order")
    wait_until(lambda: r.pubsub_numsub("order") == [("order", 1)], what="subscribed")
    for i in range(200):
        assert r.publish("order", str(i)) == 1
    got = []
    while len(got) < 200:
        m = get(ps)
        if m["type"] == "message":
            got.append(m["data"])
    assert got == [str(i) for i in range(200)]


def test_ignore_subscribe_messages(r, ps_factory):
    ps = ps_factory(ignore_subscribe_messages=True)
    ps.subscribe("a")
    ps.psubscribe("a*")
    wait_until(lambda: r.pubsub_numpat() == 1, what="pattern subscribed")
    assert r.publish("ab", "x") == 1
    assert r.publish("a", "y") == 2
    got = get_all(ps, 3)                  # get() skips the ignored confirmations
    assert quiet(ps)
    assert got == [msg("pmessage", "ab", "x", "a*"), msg("message", "a", "y"),
                   msg("pmessage", "a", "y", "a*")]


def test_binary_channels_and_payloads(rb, ps_factory):
    ps = ps_factory(decode=False)
    chan = b"bin\x00\xff\r\n"
    ps.subscribe(chan)
    assert get(ps) == {"type": "subscribe", "pattern": None, "channel": chan, "data": 1}
    payload = bytes(range(256))
    assert rb.publish(chan, payload) == 1
    assert get(ps) == {"type": "message", "pattern": None, "channel": chan, "data": payload}
    ps.psubscribe(b"bin\x00*")
    assert get(ps) == {"type": "psubscribe", "pattern": None, "channel": b"bin\x00*", "data": 2}
    assert rb.publish(chan, b"\x00") == 2
    assert get_all(ps, 2) == [
        {"type": "message", "pattern": None, "channel": chan, "data": b"\x00"},
        {"type": "pmessage", "pattern": b"bin\x00*", "channel": chan, "data": b"\x00"}]


# --------------------------------------------------------------------------
# Patterns
# --------------------------------------------------------------------------

def test_pattern_subscriptions(r, ps_factory):
    ps = ps_factory()
    ps.psubscribe("news.*", "h?llo", "[ab]x")
    assert get_all(ps, 3) == [msg("psubscribe", "news.*", 1), msg("psubscribe", "h?llo", 2),
                              msg("psubscribe", "[ab]x", 3)]
    assert r.publish("news.art", "1") == 1
    assert r.publish("hallo", "2") == 1
    assert r.publish("bx", "3") == 1
    assert r.publish("cx", "no") == 0
    assert r.publish("news", "no") == 0
    assert get_all(ps, 3) == [msg("pmessage", "news.art", "1", "news.*"),
                              msg("pmessage", "hallo", "2", "h?llo"),
                              msg("pmessage", "bx", "3", "[ab]x")]
    assert quiet(ps)
    assert r.pubsub_numpat() == 3
    assert r.pubsub_channels() == []          # patterns are not channels


def test_channel_and_pattern_overlap_counts(r, ps_factory):
    p1, p2 = ps_factory(), ps_factory()
    p1.subscribe("ch")
    p1.psubscribe("c*", "*h")
    p2.psubscribe("c*")
    get_all(p1, 3)
    get(p2)
    assert r.publish("ch", "x") == 4
    first = get(p1)
    assert first == msg("message", "ch", "x")         # channel subscribers first
    rest = get_all(p1, 2)
    assert sorted(m["pattern"] for m in rest) == ["*h", "c*"]
    assert get(p2) == msg("pmessage", "ch", "x", "c*")
    assert r.pubsub_numpat() == 2                     # distinct patterns
    assert r.pubsub_numsub("ch") == [("ch", 1)]       # patterns not counted


# --------------------------------------------------------------------------
# Handlers and run_in_thread
# --------------------------------------------------------------------------

def test_run_in_thread_with_handlers(r, ps_factory):
    ps = ps_factory(ignore_subscribe_messages=True)
    got, pgot = [], []
    done = threading.Event()

    def on_msg(m):
        got.append(m["data"])
        if len(got) == 100:
            done.set()

    ps.subscribe(**{"jobs": on_msg})
    ps.psubscribe(**{"ev.*": lambda m: pgot.append((m["channel"], m["data"]))})
    th = ps.run_in_thread(sleep_time=0.01, daemon=True)
    try:
        wait_until(lambda: r.pubsub_numsub("jobs") == [("jobs", 1)] and r.pubsub_numpat() == 1,
                   what="thread subscribed")
        for i in range(100):
            assert r.publish("jobs", f"j{i}") == 1
        assert r.publish("ev.a", "e1") == 1
        assert done.wait(MSG_WAIT)
        wait_until(lambda: pgot, what="pattern handler called")
    finally:
        th.stop()
        th.join(MSG_WAIT)
    assert not th.is_alive()
    assert got == [f"j{i}" for i in range(100)]
    assert pgot == [("ev.a", "e1")]


def test_run_in_thread_exception_handler(r, ps_factory):
    ps = ps_factory(ignore_subscribe_messages=True)
    errors = []
    ps.subscribe(**{"boom": lambda m: 1 / 0})

    def on_error(exc, pubsub, thread):
        errors.append(type(exc))
        thread.stop()

    th = ps.run_in_thread(sleep_time=0.01, daemon=True, exception_handler=on_error)
    wait_until(lambda: r.pubsub_numsub("boom") == [("boom", 1)], what="subscribed")
    assert r.publish("boom", "x") == 1
    th.join(MSG_WAIT)
    assert not th.is_alive()
    assert errors == [ZeroDivisionError]


# --------------------------------------------------------------------------
# Unsubscribe flows
# --------------------------------------------------------------------------

def test_unsubscribe_flows(r, ps_factory):
    ps = ps_factory()
    ps.subscribe("a", "b", "c")
    ps.psubscribe("p*")
    get_all(ps, 4)
    ps.unsubscribe("b")
    assert get(ps) == msg("unsubscribe", "b", 3)
    assert r.publish("b", "x") == 0
    ps.unsubscribe("never")
    assert get(ps) == msg("unsubscribe", "never", 3)
    assert ps.subscribed
    ps.unsubscribe()                                  # all channels, any order
    got = get_all(ps, 2)
    assert sorted((m["channel"], m["type"]) for m in got) == [("a", "unsubscribe"),
                                                             ("c", "unsubscribe")]
    assert sorted(m["data"] for m in got) == [1, 2]
    assert ps.subscribed                              # the pattern is left
    assert r.publish("pz", "still") == 1
    assert get(ps) == msg("pmessage", "pz", "still", "p*")
    ps.punsubscribe()
    assert get(ps) == msg("punsubscribe", "p*", 0)
    assert not ps.subscribed
    assert r.pubsub_numpat() == 0 and r.pubsub_channels() == []
    # resubscribing on the same PubSub works
    ps.subscribe("a")
    assert get(ps) == msg("subscribe", "a", 1)
    assert r.publish("a", "again") == 1
    assert get(ps) == msg("message", "a", "again")


def test_pubsub_reset_and_close(r, ps_factory):
    ps = ps_factory()
    ps.subscribe("x")
    ps.psubscribe("y*")
    get_all(ps, 2)
    ps.reset()                       # redis-py drops the connection
    wait_until(lambda: r.pubsub_numsub("x") == [("x", 0)] and r.pubsub_numpat() == 0,
               what="subscriptions gone after PubSub.reset()")


# --------------------------------------------------------------------------
# Sharded pub/sub
# --------------------------------------------------------------------------

def test_sharded_pubsub(r, ps_factory):
    ps = ps_factory()
    ps.ssubscribe("s1", "s2")
    assert get_all(ps, 2) == [msg("ssubscribe", "s1", 1), msg("ssubscribe", "s2", 2)]
    assert r.spublish("s1", "hi") == 1
    assert get(ps) == msg("smessage", "s1", "hi")
    # the shard and the plain namespaces are separate
    assert r.publish("s1", "plain") == 0
    assert r.pubsub_channels() == []
    assert sorted(r.pubsub_shardchannels()) == ["s1", "s2"]
    assert r.pubsub_shardchannels("s2*") == ["s2"]
    assert r.pubsub_shardnumsub("s1", "zz") == [("s1", 1), ("zz", 0)]
    ps.subscribe("s1")
    assert get(ps) == msg("subscribe", "s1", 1)       # count excludes shard channels
    assert r.spublish("s1", "shard") == 1
    assert r.publish("s1", "plain") == 1
    assert get_all(ps, 2) == [msg("smessage", "s1", "shard"), msg("message", "s1", "plain")]
    ps.sunsubscribe("s1")
    assert get(ps) == msg("sunsubscribe", "s1", 1)
    ps.sunsubscribe()
    assert get(ps) == msg("sunsubscribe", "s2", 0)
    assert r.pubsub_shardchannels() == []
    assert r.spublish("s1", "gone") == 0


# --------------------------------------------------------------------------
# PUBSUB introspection and PUBLISH counts
# --------------------------------------------------------------------------

def test_pubsub_introspection(r, ps_factory, admin):
    assert r.pubsub_channels() == []
    assert r.pubsub_numpat() == 0
    assert r.pubsub_numsub() == []
    assert r.pubsub_shardnumsub() == []
    p1, p2 = ps_factory(), ps_factory()
    p1.subscribe("news.1", "news.2", "other")
    p2.subscribe("news.1")
    p2.psubscribe("news.*")
    get_all(p1, 3)
    get_all(p2, 2)
    assert sorted(r.pubsub_channels()) == ["news.1", "news.2", "other"]
    assert sorted(r.pubsub_channels("news.*")) == ["news.1", "news.2"]
    assert r.pubsub_channels("nomatch*") == []
    assert r.pubsub_numsub("news.1", "news.2", "none") == [("news.1", 2), ("news.2", 1),
                                                           ("none", 0)]
    assert r.pubsub_numpat() == 1
    assert r.publish("news.1", "x") == 3
    assert r.publish("news.3", "x") == 1
    info = info_fields(admin)
    assert (info["pubsub_channels"], info["pubsub_patterns"], info["pubsubshard_channels"]) == \
        ("3", "1", "0")


def test_publish_return_counts(r, ps_factory):
    subs_ = [ps_factory() for _ in range(5)]
    for ps in subs_:
        ps.subscribe("fan")
        get(ps)
    assert r.publish("fan", "x") == 5
    subs_[0].psubscribe("f*", "*n")
    get_all(subs_[0], 2)
    assert r.publish("fan", "y") == 7
    subs_[1].unsubscribe("fan")
    wait_until(lambda: r.pubsub_numsub("fan") == [("fan", 4)], what="one unsubscribed")
    assert r.publish("fan", "z") == 6


# --------------------------------------------------------------------------
# RESP2 subscriber mode through redis-py
# --------------------------------------------------------------------------

def test_resp2_pubsub_command_refused_and_ping(make_client, admin):
    c = make_client(protocol=2, single=False)
    ps = c.pubsub()
    ps.subscribe("a")
    assert get(ps) == msg("subscribe", "a", 1)
    ps.execute_command("GET", "x")
    with pytest.raises(redis.exceptions.ResponseError) as info:
        get(ps)
    assert full_error(info.value) == not_allowed("get")
    ps.ping()
    assert get(ps) == msg("pong", None, "")
    ps.ping("hi")
    assert get(ps) == msg("pong", None, "hi")
    assert admin.cmd("PUBLISH", "a", "still") == 1
    assert get(ps) == msg("message", "a", "still")
    ps.close()


# --------------------------------------------------------------------------
# Killed and disconnected subscribers
# --------------------------------------------------------------------------

def _ids(admin):
    return {int(c["id"]) for c in client_list(admin)}


@pytest.mark.parametrize("how", ["client_kill_id", "client_kill_addr", "close_socket",
                                 "shutdown_socket"])
def test_gone_subscriber_leaves_no_trace(sub, admin, how):
    s = sub()
    s.raw("SUBSCRIBE", "g1", "g2", n=2)
    s.raw("PSUBSCRIBE", "g*")
    s.raw("SSUBSCRIBE", "gs")
    assert admin.cmd("PUBSUB", "NUMSUB", "g1") == [b"g1", 1]
    assert admin.cmd("PUBSUB", "NUMPAT") == 1
    me = [c for c in client_list(admin) if int(c["id"]) == s.id][0]
    if how == "client_kill_id":
        assert admin.cmd("CLIENT", "KILL", "ID", s.id) == 1
        assert s.conn.is_closed(5)
    elif how == "client_kill_addr":
        assert admin.cmd("CLIENT", "KILL", me["addr"]) == "OK"
        assert s.conn.is_closed(5)
    elif how == "close_socket":
        s.close()
    else:
        s.conn.sock.shutdown(socket.SHUT_RDWR)
        s.close()
    wait_until(lambda: s.id not in _ids(admin), what="client gone from CLIENT LIST")
    wait_until(lambda: admin.cmd("PUBSUB", "NUMPAT") == 0, what="NUMPAT 0")
    assert admin.cmd("PUBSUB", "NUMSUB", "g1", "g2") == [b"g1", 0, b"g2", 0]
    assert admin.cmd("PUBSUB", "SHARDNUMSUB", "gs") == [b"gs", 0]
    assert admin.cmd("PUBSUB", "CHANNELS") == []
    assert admin.cmd("PUBLISH", "g1", "x") == 0
    assert admin.cmd("SPUBLISH", "gs", "x") == 0
    info = info_fields(admin)
    assert (info["pubsub_channels"], info["pubsub_patterns"], info["pubsubshard_channels"]) == \
        ("0", "0", "0")


def test_killed_redis_py_subscriber(r, make_client, admin):
    c = make_client(single=False)
    ps = c.pubsub()
    ps.subscribe("kk")
    assert get(ps) == msg("subscribe", "kk", 1)
    subscribers = [x for x in r.client_list() if x["flags"] == "P"]
    assert len(subscribers) == 1 and subscribers[0]["sub"] == "1"
    assert r.client_kill_filter(_id=subscribers[0]["id"]) == 1
    with pytest.raises(redis.exceptions.ConnectionError):
        get(ps)
    # (a further get_message would make redis-py reconnect and resubscribe)
    ps.close()
    wait_until(lambda: r.pubsub_numsub("kk") == [("kk", 0)], what="NUMSUB kk 0")
    assert [x for x in r.client_list() if x["flags"] == "P"] == []


# --------------------------------------------------------------------------
# Slow subscriber and client-output-buffer-limit pubsub
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def obl_server(server):
    """A dedicated server: the test changes client-output-buffer-limit."""
    srv = ServerProcess(name="obl").start()
    yield srv
    srv.stop()


PAYLOAD = b"x" * 16000
N_MESSAGES = 1200       # ~19 MB: far beyond the 1 MB limit + kernel socket buffers
WINDOW = 16             # max messages the fast subscriber may lag (256 KB)


def test_slow_subscriber_cut_at_hard_limit_fast_one_gets_everything(obl_server, protocol):
    port = obl_server.port
    admin_ = RawConn(port, timeout=READ_WAIT)
    slow = None
    fast = None
    try:
        assert admin_.cmd("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 0 0") == "OK"
        # slow: tiny receive buffer, never reads after subscribing
        slow = SmallRcvbufConn(port, rcvbuf=4096)
        assert slow.cmd("CLIENT", "SETNAME", "slow") == "OK"
        if protocol == 3:
            assert isinstance(slow.cmd("HELLO", "3"), dict)
        slow_id = slow.cmd("CLIENT", "ID")
        slow.send(slow.encode("SUBSCRIBE", "feed"))
        slow.read_reply()

        fast = Sub(port, protocol)
        fast.raw("SUBSCRIBE", "feed")
        one = message(protocol, "feed", PAYLOAD)
        received = bytearray()
        failed = []
        progress = threading.Condition()

        def reader():
            fast.conn.sock.settimeout(10)
            need = len(one) * N_MESSAGES
            try:
                with progress:
                    received.extend(fast.conn.buf)
                    fast.conn.buf = b""
                while len(received) < need:
                    chunk = fast.conn.sock.recv(1 << 20)
                    if not chunk:
                        failed.append("fast subscriber closed")
                        break
                    with progress:
                        received.extend(chunk)
                        progress.notify_all()
            except OSError as exc:
                failed.append(repr(exc))
            with progress:
                progress.notify_all()

        th = threading.Thread(target=reader, daemon=True)
        th.start()
        # The fast subscriber is never more than WINDOW messages behind, so
        # its output buffer stays far below the 1 MB limit even on a busy
        # machine; the slow one falls behind without bound.
        counts = []
        deadline = time.monotonic() + 10
        for i in range(N_MESSAGES):
            with progress:
                ok = progress.wait_for(
                    lambda: failed or len(received) >= (i - WINDOW) * len(one),
                    timeout=max(0.0, deadline - time.monotonic()))
            assert ok and not failed, (f"fast subscriber stalled at {i}: "
                                       f"{len(received) // len(one)} received, {failed}")
            counts.append(admin_.cmd("PUBLISH", "feed", PAYLOAD))
        th.join(10)
        assert not th.is_alive(), "fast subscriber did not get every message within 10 s"
        assert failed == []
        assert bytes(received) == one * N_MESSAGES

        # PUBLISH counted both, then (once the slow one was cut) only the fast one
        assert counts[0] == 2 and counts[-1] == 1, (counts[0], counts[-1])
        assert set(counts) == {1, 2}
        cut = counts.index(1)
        assert counts[cut:] == [1] * (N_MESSAGES - cut)

        # the slow one may still drain what the kernel buffered, then EOF
        drained = slow.read_until_closed(timeout=10)
        assert len(drained) < len(one) * N_MESSAGES
        wait_until(lambda: slow_id not in _ids(admin_), what="slow client gone")
        assert admin_.cmd("PUBSUB", "NUMSUB", "feed") == [b"feed", 1]
        assert fast.raw("PING") == (b"+PONG\r\n" if protocol == 3
                                    else b"*2\r\n$4\r\npong\r\n$0\r\n\r\n")
        if not IS_VAYLIX:
            # Redis's log line (vaylix logs in its own format)
            wait_until(lambda: "scheduled to be closed ASAP for overcoming of output buffer "
                               "limits." in obl_server.log_tail(1 << 16),
                       what="Redis log line")
    finally:
        admin_.cmd("CONFIG", "SET", "client-output-buffer-limit",
                   "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60")
        admin_.close()
        if fast:
            fast.close()
        if slow:
            slow.close()


def test_normal_class_hard_limit_closes_a_client_with_a_huge_reply(obl_server, protocol):
    """`normal` bounds a client's own replies: a reply past the hard limit closes the
    client (nothing of it is sent); smaller replies, other clients and the data stay."""
    port = obl_server.port
    admin_ = RawConn(port, timeout=READ_WAIT)
    big = RawConn(port, timeout=READ_WAIT)
    try:
        if protocol == 3:
            assert isinstance(big.cmd("HELLO", "3"), dict)
        assert admin_.cmd("SET", "obl:big", "x" * (2 << 20)) == "OK"
        assert admin_.cmd("SET", "obl:small", "y" * (512 << 10)) == "OK"
        assert admin_.cmd("CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0") == "OK"
        assert admin_.cmd("CONFIG", "GET", "client-output-buffer-limit")[1].startswith(
            b"normal 1048576 0 0 ")
        assert big.cmd("GET", "obl:small") == b"y" * (512 << 10)
        big_id = big.cmd("CLIENT", "ID")
        big.send(big.encode("GET", "obl:big"))
        assert big.read_until_closed(timeout=10) == b""
        wait_until(lambda: big_id not in _ids(admin_), what="client closed")
        # A soft limit is only passed after its seconds.
        assert admin_.cmd("CONFIG", "SET", "client-output-buffer-limit",
                          "normal 0 512kb 10") == "OK"
        assert len(admin_.cmd("GET", "obl:big")) == 2 << 20
        assert admin_.cmd("STRLEN", "obl:big") == 2 << 20
    finally:
        admin_.cmd("CONFIG", "SET", "client-output-buffer-limit",
                   "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60")
        admin_.cmd("DEL", "obl:big", "obl:small")
        admin_.close()
        big.close()


def test_subscriber_below_limit_is_kept(obl_server, protocol):
    """A subscriber that reads late but stays under the hard limit loses nothing."""
    port = obl_server.port
    admin_ = RawConn(port, timeout=READ_WAIT)
    s = Sub(port, protocol)
    try:
        assert admin_.cmd("CONFIG", "SET", "client-output-buffer-limit", "pubsub 64mb 0 0") == "OK"
        s.raw("SUBSCRIBE", "late")
        for i in range(200):
            assert admin_.cmd("PUBLISH", "late", PAYLOAD) == 1
        assert s.frames(200, timeout=10) == message(protocol, "late", PAYLOAD) * 200
        assert admin_.cmd("PUBSUB", "NUMSUB", "late") == [b"late", 1]
    finally:
        admin_.cmd("CONFIG", "SET", "client-output-buffer-limit",
                   "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60")
        admin_.close()
        s.close()

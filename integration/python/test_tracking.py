"""CLIENT TRACKING (server-assisted client-side caching), written against Redis 7.0.

Raw sockets, so the exact push frames are seen: RESP3 `>2 invalidate [keys]` to the
tracking client itself, or a `message` on `__redis__:invalidate` to a RESP2 REDIRECT target.
"""

from __future__ import annotations

import socket

import pytest

from helpers import RespError


def resp3(raw):
    c = raw()
    assert isinstance(c.cmd("HELLO", "3"), dict)
    return c


def nothing_pending(c, wait=0.2):
    """True if no frame arrives within `wait` seconds."""
    if c.buf:
        return False
    c.sock.settimeout(wait)
    try:
        chunk = c.sock.recv(1 << 16)
    except socket.timeout:
        return True
    finally:
        c.sock.settimeout(10)
    c.buf += chunk
    return False


@pytest.fixture
def clean(raw):
    w = raw()
    assert w.cmd("FLUSHALL") == "OK"
    return w


def test_default_mode_invalidates_a_key_the_client_read(raw, clean):
    t = resp3(raw)
    assert t.cmd("CLIENT", "TRACKING", "ON") == "OK"
    assert t.cmd("GET", "k") is None
    assert clean.cmd("SET", "k", "1") == "OK"
    assert t.read_reply() == [b"invalidate", [b"k"]]
    # Sent once: the key is forgotten until read again.
    assert clean.cmd("SET", "k", "2") == "OK"
    assert nothing_pending(t)
    assert t.cmd("GET", "k") == b"2"
    assert clean.cmd("DEL", "k") == 1
    assert t.read_reply() == [b"invalidate", [b"k"]]


def test_a_key_only_written_is_not_tracked(raw, clean):
    t = resp3(raw)
    assert t.cmd("CLIENT", "TRACKING", "ON") == "OK"
    assert t.cmd("SET", "w", "1") == "OK"
    assert clean.cmd("SET", "w", "2") == "OK"
    assert nothing_pending(t)


def test_own_write_invalidates_unless_noloop(raw, clean):
    t = resp3(raw)
    assert t.cmd("CLIENT", "TRACKING", "ON") == "OK"
    assert t.cmd("GET", "a") is None
    t.send(t.encode("SET", "a", "1"))
    got = [t.read_reply(), t.read_reply()]
    assert [b"invalidate", [b"a"]] in got and "OK" in got
    n = resp3(raw)
    assert n.cmd("CLIENT", "TRACKING", "ON", "NOLOOP") == "OK"
    assert n.cmd("GET", "b") is None
    assert n.cmd("SET", "b", "1") == "OK"
    assert nothing_pending(n)


def test_bcast_with_prefixes(raw, clean):
    t = resp3(raw)
    assert t.cmd("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:", "PREFIX", "job:") == "OK"
    assert clean.cmd("SET", "user:1", "x") == "OK"
    assert t.read_reply() == [b"invalidate", [b"user:1"]]
    assert clean.cmd("SET", "other", "x") == "OK"
    assert nothing_pending(t)
    assert clean.cmd("RPUSH", "job:9", "x") == 1
    assert t.read_reply() == [b"invalidate", [b"job:9"]]


def _pipeline(c, *cmds):
    c.send(b"".join(c.encode(*a) for a in cmds))
    return [c.read_reply() for _ in cmds]


def test_bcast_batches_one_turn_per_prefix_sorted_and_deduped(raw, clean):
    t = resp3(raw)
    assert t.cmd("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "b", "PREFIX", "a") == "OK"
    every = resp3(raw)
    assert every.cmd("CLIENT", "TRACKING", "ON", "BCAST") == "OK"
    replies = _pipeline(
        clean,
        ("SET", "b2", "x"),
        ("SET", "a2", "x"),
        ("SET", "a1", "x"),
        ("SET", "a2", "y"),
        ("SET", "c", "x"),
        ("DEL", "a1"),
    )
    assert replies == ["OK"] * 5 + [1]
    # One push per matching prefix, in prefix byte order, each key once and sorted.
    assert t.read_reply() == [b"invalidate", [b"a1", b"a2"]]
    assert t.read_reply() == [b"invalidate", [b"b2"]]
    assert nothing_pending(t)
    assert every.read_reply() == [b"invalidate", [b"a1", b"a2", b"b2", b"c"]]
    assert nothing_pending(every)


def test_bcast_batches_a_transaction(raw, clean):
    t = resp3(raw)
    assert t.cmd("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a") == "OK"
    assert clean.cmd("MULTI") == "OK"
    assert clean.cmd("SET", "a8", "x") == "QUEUED"
    assert clean.cmd("SET", "a7", "x") == "QUEUED"
    assert clean.cmd("EXEC") == ["OK", "OK"]
    assert t.read_reply() == [b"invalidate", [b"a7", b"a8"]]
    assert nothing_pending(t)
    # Two prefixes in one command: one push each.
    assert clean.cmd("MSET", "a3", "x", "b1", "x") == "OK"
    assert t.read_reply() == [b"invalidate", [b"a3"]]
    assert nothing_pending(t)


def test_bcast_own_write_arrives_after_the_pipelines_replies(raw, clean):
    t = resp3(raw)
    assert t.cmd("CLIENT", "TRACKING", "ON", "BCAST") == "OK"
    t.send(t.encode("SET", "k", "x") + t.encode("GET", "k"))
    assert t.read_reply() == "OK"
    assert t.read_reply() == b"x"
    assert t.read_reply() == [b"invalidate", [b"k"]]
    n = resp3(raw)
    assert n.cmd("CLIENT", "TRACKING", "ON", "BCAST", "NOLOOP") == "OK"
    assert n.cmd("SET", "k", "y") == "OK"
    assert nothing_pending(n)
    assert t.read_reply() == [b"invalidate", [b"k"]]


def test_optin_tracks_only_after_caching_yes(raw, clean):
    t = resp3(raw)
    assert t.cmd("CLIENT", "TRACKING", "ON", "OPTIN") == "OK"
    assert t.cmd("GET", "x") is None
    assert clean.cmd("SET", "x", "1") == "OK"
    assert nothing_pending(t)
    assert t.cmd("CLIENT", "CACHING", "YES") == "OK"
    assert t.cmd("GET", "y") is None
    assert clean.cmd("SET", "y", "1") == "OK"
    assert t.read_reply() == [b"invalidate", [b"y"]]
    # Only the one command after CACHING YES.
    assert t.cmd("GET", "z") is None
    assert clean.cmd("SET", "z", "1") == "OK"
    assert nothing_pending(t)


def test_optout_skips_after_caching_no(raw, clean):
    t = resp3(raw)
    assert t.cmd("CLIENT", "TRACKING", "ON", "OPTOUT") == "OK"
    assert t.cmd("CLIENT", "CACHING", "NO") == "OK"
    assert t.cmd("GET", "x") is None
    assert clean.cmd("SET", "x", "1") == "OK"
    assert nothing_pending(t)
    assert t.cmd("GET", "y") is None
    assert clean.cmd("SET", "y", "1") == "OK"
    assert t.read_reply() == [b"invalidate", [b"y"]]


def test_redirect_to_a_resp2_subscriber(raw, clean):
    target = raw()
    tid = target.cmd("CLIENT", "ID")
    assert target.cmd("SUBSCRIBE", "__redis__:invalidate") == [
        b"subscribe", b"__redis__:invalidate", 1]
    t = raw()
    assert t.cmd("CLIENT", "TRACKING", "ON", "REDIRECT", tid) == "OK"
    assert t.cmd("CLIENT", "GETREDIR") == tid
    assert t.cmd("GET", "rk") is None
    assert clean.cmd("SET", "rk", "1") == "OK"
    assert target.read_reply() == [b"message", b"__redis__:invalidate", [b"rk"]]
    assert clean.cmd("FLUSHALL") == "OK"
    assert target.read_reply() == [b"message", b"__redis__:invalidate", None]


def test_flushall_invalidates_everything_with_null(raw, clean):
    t = resp3(raw)
    assert t.cmd("CLIENT", "TRACKING", "ON") == "OK"
    assert t.cmd("GET", "q") is None
    assert clean.cmd("FLUSHALL") == "OK"
    assert t.read_reply() == [b"invalidate", None]


def test_getredir_and_trackinginfo(raw):
    c = resp3(raw)
    assert c.cmd("CLIENT", "GETREDIR") == -1
    assert c.cmd("CLIENT", "TRACKINGINFO") == {
        "flags": {"off"}, "redirect": -1, "prefixes": []}
    assert c.cmd("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a", "NOLOOP") == "OK"
    assert c.cmd("CLIENT", "GETREDIR") == 0
    info = c.cmd("CLIENT", "TRACKINGINFO")
    assert info["flags"] == {"on", "bcast", "noloop"}
    assert info["redirect"] == 0
    assert info["prefixes"] == [b"a"]
    assert c.cmd("CLIENT", "TRACKING", "OFF") == "OK"
    assert c.cmd("CLIENT", "GETREDIR") == -1
    o = resp3(raw)
    assert o.cmd("CLIENT", "TRACKING", "ON", "OPTIN") == "OK"
    assert o.cmd("CLIENT", "CACHING", "YES") == "OK"
    assert o.cmd("CLIENT", "TRACKINGINFO")["flags"] == {"on", "optin", "caching-yes"}


def test_tracking_errors(raw):
    c = resp3(raw)
    err = lambda *a: str(c.cmd(*a))  # noqa: E731
    assert isinstance(c.cmd("CLIENT", "TRACKING", "ON", "PREFIX", "a"), RespError)
    assert err("CLIENT", "TRACKING", "ON", "PREFIX", "a") == \
        "ERR PREFIX option requires BCAST mode to be enabled"
    assert err("CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT") == \
        "ERR You can't specify both OPTIN mode and OPTOUT mode"
    assert err("CLIENT", "TRACKING", "ON", "BCAST", "OPTIN") == \
        "ERR OPTIN and OPTOUT are not compatible with BCAST"
    assert err("CLIENT", "TRACKING", "ON", "REDIRECT", "999999") == \
        "ERR The client ID you want redirect to does not exist"
    assert err("CLIENT", "TRACKING", "MAYBE") == "ERR syntax error"
    assert err("CLIENT", "CACHING", "YES") == (
        "ERR CLIENT CACHING can be called only when the client is in tracking mode "
        "with OPTIN or OPTOUT mode enabled")
    assert c.cmd("CLIENT", "TRACKING", "ON", "OPTIN") == "OK"
    assert err("CLIENT", "CACHING", "NO") == \
        "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."
    assert err("CLIENT", "CACHING", "MAYBE") == "ERR syntax error"
    assert err("CLIENT", "TRACKING", "ON", "BCAST") == (
        "ERR You can't switch BCAST mode on/off before disabling tracking for this client, "
        "and then re-enabling it with a different mode.")


def test_tracking_clients_in_info_and_client_list(raw):
    c = resp3(raw)
    w = raw()
    def tracking_clients():
        info = w.cmd("INFO", "clients").decode()
        return int(info.split("tracking_clients:")[1].split("\r\n")[0])
    before = tracking_clients()
    assert c.cmd("CLIENT", "TRACKING", "ON") == "OK"
    assert tracking_clients() == before + 1
    line = str(c.cmd("CLIENT", "INFO"))
    assert "flags=t" in line and "redir=0" in line
    assert c.cmd("CLIENT", "TRACKING", "OFF") == "OK"
    assert tracking_clients() == before
    c.close()


def test_a_tracked_key_that_expires_is_invalidated(raw, clean):
    t = resp3(raw)
    assert t.cmd("CLIENT", "TRACKING", "ON") == "OK"
    assert clean.cmd("SET", "ttl", "v", "PX", "100") == "OK"
    assert t.cmd("GET", "ttl") == b"v"
    # Nobody touches the key: the active expiry cycle removes it (bounded wait).
    t.sock.settimeout(5)
    assert t.read_reply() == [b"invalidate", [b"ttl"]]
    t.sock.settimeout(10)


def test_tracking_switched_on_inside_a_transaction(raw, clean):
    t = resp3(raw)
    assert t.cmd("MULTI") == "OK"
    assert t.cmd("CLIENT", "TRACKING", "ON") == "QUEUED"
    assert t.cmd("GET", "mk") == "QUEUED"
    assert t.cmd("EXEC") == ["OK", None]
    assert clean.cmd("SET", "mk", "1") == "OK"
    assert t.read_reply() == [b"invalidate", [b"mk"]]
    assert t.cmd("MULTI") == "OK"
    assert t.cmd("CLIENT", "TRACKING", "OFF") == "QUEUED"
    assert t.cmd("EXEC") == ["OK"]
    assert t.cmd("PING") == "PONG"


def _stats(c):
    info = c.cmd("INFO", "stats").decode()
    return {k: v for k, _, v in (line.partition(":") for line in info.split("\r\n"))}


def test_tracking_table_max_keys_forgets_and_invalidates_past_the_bound(raw, clean):
    assert clean.cmd("CONFIG", "GET", "tracking-table-max-keys") == [
        b"tracking-table-max-keys", b"1000000"]
    t = resp3(raw)
    try:
        assert clean.cmd("CONFIG", "SET", "tracking-table-max-keys", "2") == "OK"
        assert t.cmd("CLIENT", "TRACKING", "ON") == "OK"
        keys = [f"tk{i}".encode() for i in range(5)]
        got = []
        for k in keys:
            t.send(t.encode("GET", k))
            while True:             # invalidation pushes may come before the reply
                r = t.read_reply()
                if r is None:
                    break
                got.append(r)
        # Redis bounds the table before the next command runs: any client's.
        assert clean.cmd("PING") == "PONG"
        t.send(t.encode("PING"))
        while (r := t.read_reply()) != "PONG":
            got.append(r)
        pushes = [p for p in got if p is not None]
        invalidated = [k for p in pushes for k in p[1]]
        assert all(p[0] == b"invalidate" for p in pushes), pushes
        assert len(invalidated) == 3 and set(invalidated) <= set(keys), invalidated
        stats = _stats(clean)
        assert stats["tracking_total_keys"] == "2"
        assert stats["tracking_total_items"] == "2"
        assert stats["tracking_total_prefixes"] == "0"
        # The keys still remembered are the ones not invalidated: a write to one of them
        # is announced.
        kept = [k for k in keys if k not in invalidated]
        assert clean.cmd("SET", kept[0], "v") == "OK"
        assert t.read_reply() == [b"invalidate", [kept[0]]]
    finally:
        clean.cmd("CONFIG", "SET", "tracking-table-max-keys", "1000000")

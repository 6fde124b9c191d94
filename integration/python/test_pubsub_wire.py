"""Pub/sub on the wire: the exact bytes of every pub/sub reply and frame in
RESP2 (`*N`) and RESP3 (push `>N`), checked against redis-server 7.0.15.

SUBSCRIBE/PSUBSCRIBE/SSUBSCRIBE and their UNSUBSCRIBE forms (with and
without arguments, with nothing subscribed), message/pmessage/smessage,
the per-connection count (channels + patterns; shard channels apart),
PING in subscriber mode, the RESP2 subscriber-mode refusal, RESP3 clients
running ordinary commands while subscribed, MULTI/EXEC, RESET, QUIT,
HELLO 2 from a RESP3 subscriber, PUBSUB introspection bytes and errors,
CLIENT LIST / INFO fields, CONFIG GET/SET client-output-buffer-limit.
Findings: PUBSUB_FACTS.md.
"""

from __future__ import annotations

import pytest

from helpers import RespError
from pubsub_helpers import (Enc, admin, client_list, confirm, frame,  # noqa: F401
                            info_fields, message, not_allowed, null, pmessage,
                            smessage, sub, subs, wait_until)

ARITY = "ERR wrong number of arguments for '{}' command"
OBL_DEFAULT = "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"


# --------------------------------------------------------------------------
# Subscribe / unsubscribe confirmations
# --------------------------------------------------------------------------

def test_subscribe_two_channels_bytes(sub, protocol):
    s = sub()
    assert s.raw("SUBSCRIBE", "a", "b", n=2) == (
        confirm(protocol, "subscribe", "a", 1) + confirm(protocol, "subscribe", "b", 2))
    head = b">3\r\n" if protocol == 3 else b"*3\r\n"
    assert confirm(protocol, "subscribe", "a", 1) == head + b"$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
    # a duplicate is answered again, count unchanged
    assert s.raw("SUBSCRIBE", "a") == confirm(protocol, "subscribe", "a", 2)
    assert s.silent()


@pytest.mark.parametrize("kind", ["unsubscribe", "punsubscribe", "sunsubscribe"])
def test_unsubscribe_without_subscriptions_null_channel(sub, protocol, kind):
    s = sub()
    got = s.raw(kind.upper())
    assert got == frame(protocol, kind, Enc(null(protocol)), 0)
    if protocol == 2:
        assert got == b"*3\r\n$%d\r\n%s\r\n$-1\r\n:0\r\n" % (len(kind), kind.encode())
    else:
        assert got == b">3\r\n$%d\r\n%s\r\n_\r\n:0\r\n" % (len(kind), kind.encode())
    # not in subscriber mode afterwards
    assert s.raw("PING") == b"+PONG\r\n"


def test_count_is_channels_plus_patterns_shard_apart(sub, protocol):
    s = sub()
    assert s.raw("SUBSCRIBE", "a", "b", n=2) == (
        confirm(protocol, "subscribe", "a", 1) + confirm(protocol, "subscribe", "b", 2))
    assert s.raw("PSUBSCRIBE", "h*", "a", n=2) == (
        confirm(protocol, "psubscribe", "h*", 3) + confirm(protocol, "psubscribe", "a", 4))
    assert s.raw("SSUBSCRIBE", "s1", "s2", n=2) == (
        confirm(protocol, "ssubscribe", "s1", 1) + confirm(protocol, "ssubscribe", "s2", 2))
    # a channel never subscribed is still answered, count unchanged
    assert s.raw("UNSUBSCRIBE", "a", "zz", n=2) == (
        confirm(protocol, "unsubscribe", "a", 3) + confirm(protocol, "unsubscribe", "zz", 3))
    assert s.raw("UNSUBSCRIBE") == confirm(protocol, "unsubscribe", "b", 2)
    # PUNSUBSCRIBE without args: one frame per pattern (dict order)
    got = s.raw("PUNSUBSCRIBE", n=2)
    assert got in (
        confirm(protocol, "punsubscribe", "h*", 1) + confirm(protocol, "punsubscribe", "a", 0),
        confirm(protocol, "punsubscribe", "a", 1) + confirm(protocol, "punsubscribe", "h*", 0))
    assert s.raw("SUNSUBSCRIBE", "s1") == confirm(protocol, "sunsubscribe", "s1", 1)
    assert s.raw("SUNSUBSCRIBE", "nosuch") == confirm(protocol, "sunsubscribe", "nosuch", 1)
    assert s.raw("SUNSUBSCRIBE") == confirm(protocol, "sunsubscribe", "s2", 0)
    assert s.raw("PING") == b"+PONG\r\n"
    assert s.silent()


def test_shard_count_does_not_include_channels(sub, protocol):
    s = sub()
    assert s.raw("SSUBSCRIBE", "s1") == confirm(protocol, "ssubscribe", "s1", 1)
    assert s.raw("SUBSCRIBE", "a") == confirm(protocol, "subscribe", "a", 1)
    assert s.raw("PSUBSCRIBE", "p*") == confirm(protocol, "psubscribe", "p*", 2)
    assert s.raw("SUNSUBSCRIBE", "nosuch") == confirm(protocol, "sunsubscribe", "nosuch", 1)
    assert s.raw("UNSUBSCRIBE", "nosuch") == confirm(protocol, "unsubscribe", "nosuch", 2)
    assert s.raw("UNSUBSCRIBE", "a") == confirm(protocol, "unsubscribe", "a", 1)
    assert s.raw("PUNSUBSCRIBE") == confirm(protocol, "punsubscribe", "p*", 0)
    # only a shard channel left: still in subscriber mode
    if protocol == 2:
        assert s.raw("PING") == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
        assert s.cmd("GET", "x") == RespError(not_allowed("get"))
    assert s.raw("SUNSUBSCRIBE") == confirm(protocol, "sunsubscribe", "s1", 0)
    assert s.raw("PING") == b"+PONG\r\n"


def test_duplicate_pattern_in_one_command(sub, protocol):
    s = sub()
    assert s.raw("PSUBSCRIBE", "x*", "x*", n=2) == (
        confirm(protocol, "psubscribe", "x*", 1) * 2)
    assert s.raw("PUNSUBSCRIBE", "x*", "x*", n=2) == (
        confirm(protocol, "punsubscribe", "x*", 0) * 2)


@pytest.mark.parametrize("cmd", ["SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE"])
def test_subscribe_without_args_is_arity_error(sub, cmd):
    s = sub()
    assert s.cmd(cmd) == RespError(ARITY.format(cmd.lower()))
    assert s.raw("PING") == b"+PONG\r\n"


@pytest.mark.parametrize("args", [("PUBLISH",), ("PUBLISH", "a"), ("PUBLISH", "a", "b", "c"),
                                  ("SPUBLISH", "a"), ("PUBSUB",)])
def test_publish_arity(admin, args):
    assert admin.cmd(*args) == RespError(ARITY.format(args[0].lower()))


# --------------------------------------------------------------------------
# Message frames
# --------------------------------------------------------------------------

def test_message_pmessage_smessage_bytes(sub, admin, protocol):
    s = sub()
    s.raw("SUBSCRIBE", "a")
    s.raw("PSUBSCRIBE", "h*")
    s.raw("SSUBSCRIBE", "s1")
    assert admin.cmd("PUBLISH", "a", "hello") == 1
    got = s.frames(1)
    assert got == message(protocol, "a", "hello")
    assert got == (b">3" if protocol == 3 else b"*3") + b"\r\n$7\r\nmessage\r\n$1\r\na\r\n$5\r\nhello\r\n"
    assert admin.cmd("PUBLISH", "hx", "m2") == 1
    got = s.frames(1)
    assert got == (b">4" if protocol == 3 else b"*4") + \
        b"\r\n$8\r\npmessage\r\n$2\r\nh*\r\n$2\r\nhx\r\n$2\r\nm2\r\n"
    assert admin.cmd("SPUBLISH", "s1", "sm") == 1
    got = s.frames(1)
    assert got == (b">3" if protocol == 3 else b"*3") + b"\r\n$8\r\nsmessage\r\n$2\r\ns1\r\n$2\r\nsm\r\n"
    assert s.silent()


def test_channel_and_pattern_both_delivered_message_first(sub, admin, protocol):
    s = sub()
    s.raw("SUBSCRIBE", "a")
    s.raw("PSUBSCRIBE", "a")
    assert admin.cmd("PUBLISH", "a", "hello") == 2
    assert s.frames(2) == message(protocol, "a", "hello") + pmessage(protocol, "a", "a", "hello")


def test_publish_counts_patterns_per_client(sub, admin, protocol):
    c1, c2 = sub(), sub()
    c1.raw("SUBSCRIBE", "ch")
    c1.raw("PSUBSCRIBE", "c*", "*h", n=2)
    c2.raw("PSUBSCRIBE", "c*")
    assert admin.cmd("PUBLISH", "ch", "x") == 4
    got = c1.frames(3)
    m = message(protocol, "ch", "x")
    assert got.startswith(m)                      # channel subscribers first
    rest = got[len(m):]                           # pattern order: unspecified
    assert rest in (pmessage(protocol, "c*", "ch", "x") + pmessage(protocol, "*h", "ch", "x"),
                    pmessage(protocol, "*h", "ch", "x") + pmessage(protocol, "c*", "ch", "x"))
    assert c2.frames(1) == pmessage(protocol, "c*", "ch", "x")
    assert admin.cmd("PUBLISH", "nobody", "x") == 0
    assert admin.cmd("SPUBLISH", "nobody", "x") == 0
    # PUBLISH never reaches shard subscribers, SPUBLISH never reaches the others
    c2.raw("SSUBSCRIBE", "ch")
    assert admin.cmd("SPUBLISH", "ch", "s") == 1
    assert c2.frames(1) == smessage(protocol, "ch", "s")
    assert c1.silent()
    assert admin.cmd("PUBLISH", "ch", "p") == 4
    assert c2.frames(1) == pmessage(protocol, "c*", "ch", "p")
    assert c2.silent()


def test_binary_channel_and_payload(sub, admin, protocol):
    s = sub()
    chan = b"bin\x00\xff"
    assert s.raw("SUBSCRIBE", chan) == confirm(protocol, "subscribe", chan, 1)
    assert admin.cmd("PUBLISH", chan, b"\x00\x01\r\n") == 1
    got = s.frames(1)
    assert got == message(protocol, chan, b"\x00\x01\r\n")
    assert got.endswith(b"$5\r\nbin\x00\xff\r\n$4\r\n\x00\x01\r\n\r\n")
    assert s.raw("PSUBSCRIBE", b"b?n\x00*") == confirm(protocol, "psubscribe", b"b?n\x00*", 2)
    assert admin.cmd("PUBLISH", chan, b"v") == 2
    assert s.frames(2) == message(protocol, chan, b"v") + pmessage(protocol, b"b?n\x00*", chan, b"v")
    # the empty channel name is a channel like any other
    assert admin.cmd("PUBLISH", "", "v") == 0
    assert s.raw("SUBSCRIBE", "") == confirm(protocol, "subscribe", "", 3)
    assert admin.cmd("PUBLISH", "", "v") == 1
    assert s.frames(1) == message(protocol, "", "v")


def test_large_payload(sub, admin, protocol):
    s = sub()
    s.raw("SUBSCRIBE", "big")
    payload = bytes(range(256)) * 4096        # 1 MiB
    assert admin.cmd("PUBLISH", "big", payload) == 1
    assert s.frames(1) == message(protocol, "big", payload)


# --------------------------------------------------------------------------
# Subscriber mode
# --------------------------------------------------------------------------

def test_ping_in_subscriber_mode(sub, protocol):
    s = sub()
    s.raw("SUBSCRIBE", "a")
    if protocol == 2:
        assert s.raw("PING") == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
        assert s.raw("PING", "x") == b"*2\r\n$4\r\npong\r\n$1\r\nx\r\n"
    else:
        assert s.raw("PING") == b"+PONG\r\n"
        assert s.raw("PING", "x") == b"$1\r\nx\r\n"
    s.raw("UNSUBSCRIBE")
    assert s.raw("PING") == b"+PONG\r\n"
    assert s.raw("PING", "x") == b"$1\r\nx\r\n"


@pytest.mark.parametrize("args,name", [
    (("GET", "k"), "get"), (("SET", "k", "v"), "set"), (("ECHO", "x"), "echo"),
    (("MULTI",), "multi"), (("HELLO", "3"), "hello"), (("HELLO", "2"), "hello"),
    (("CLIENT", "ID"), "client|id"), (("PUBSUB", "NUMSUB", "a"), "pubsub|numsub"),
    (("PUBLISH", "a", "b"), "publish"), (("SELECT", "0"), "select"),
])
def test_resp2_subscriber_mode_refuses(subs, admin, args, name):
    s = subs(2)
    s.raw("SUBSCRIBE", "a")
    assert s.cmd(*args) == RespError(not_allowed(name))
    # still subscribed and working
    assert admin.cmd("PUBLISH", "a", "m") == 1
    assert s.frames(1) == message(2, "a", "m")
    assert admin.cmd("EXISTS", "k") == 0


@pytest.mark.parametrize("kind", ["PSUBSCRIBE", "SSUBSCRIBE"])
def test_resp2_subscriber_mode_via_pattern_or_shard(subs, kind):
    s = subs(2)
    s.raw(kind, "x")
    assert s.cmd("GET", "k") == RespError(not_allowed("get"))
    assert s.raw("PING") == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"


def test_resp3_subscriber_runs_ordinary_commands(subs, admin):
    s = subs(3)
    assert s.raw("SUBSCRIBE", "a") == confirm(3, "subscribe", "a", 1)
    assert s.raw("GET", "k") == b"_\r\n"
    assert s.raw("SET", "k", "v") == b"+OK\r\n"
    assert s.raw("GET", "k") == b"$1\r\nv\r\n"
    assert s.raw("ECHO", "x") == b"$1\r\nx\r\n"
    assert s.raw("PUBSUB", "NUMSUB", "a") == b"*2\r\n$1\r\na\r\n:1\r\n"
    assert s.cmd("CLIENT", "ID") == s.id
    assert admin.cmd("PUBLISH", "a", "m") == 1
    assert s.frames(1) == message(3, "a", "m")
    # MULTI works too
    assert s.raw("MULTI") == b"+OK\r\n"
    assert s.raw("INCR", "n") == b"+QUEUED\r\n"
    assert s.raw("EXEC") == b"*1\r\n:1\r\n"


def test_resp3_push_arrives_before_reply_of_own_publish(subs):
    s = subs(3)
    s.raw("SUBSCRIBE", "k1")
    assert s.raw("PUBLISH", "k1", "me", n=2) == message(3, "k1", "me") + b":1\r\n"


def test_resp3_push_between_replies(subs, admin):
    s = subs(3)
    s.raw("SUBSCRIBE", "a")
    assert admin.cmd("PUBLISH", "a", "m1") == 1
    # the push was queued before GET's reply
    assert s.raw("GET", "nokey", n=2) == message(3, "a", "m1") + b"_\r\n"


def test_hello2_from_resp3_subscriber_turns_on_restrictions(subs):
    s = subs(3)
    s.raw("SUBSCRIBE", "a")
    hello = s.cmd("HELLO", "2")          # a flat RESP2 array, not a map
    assert isinstance(hello, list) and hello[hello.index(b"proto") + 1] == 2
    assert s.raw("PING") == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
    assert s.cmd("GET", "x") == RespError(not_allowed("get"))


def test_quit_while_subscribed(sub, admin):
    s = sub()
    s.raw("SUBSCRIBE", "q")
    s.send("QUIT")
    assert s.conn.read_until_closed(5) == b"+OK\r\n"
    wait_until(lambda: admin.cmd("PUBSUB", "NUMSUB", "q") == [b"q", 0], what="NUMSUB q == 0")


# --------------------------------------------------------------------------
# MULTI / RESET
# --------------------------------------------------------------------------

def test_subscribe_inside_multi(sub, admin, protocol):
    s = sub()
    assert s.raw("MULTI") == b"+OK\r\n"
    assert s.raw("SUBSCRIBE", "m1") == b"+QUEUED\r\n"
    assert s.raw("PSUBSCRIBE", "mp*") == b"+QUEUED\r\n"
    assert s.raw("EXEC") == b"*2\r\n" + confirm(protocol, "subscribe", "m1", 1) + \
        confirm(protocol, "psubscribe", "mp*", 2)
    assert admin.cmd("PUBLISH", "m1", "x") == 1
    assert s.frames(1) == message(protocol, "m1", "x")
    if protocol == 2:
        assert s.raw("PING") == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
        assert s.cmd("MULTI") == RespError(not_allowed("multi"))


def test_ssubscribe_inside_multi_refused(sub, protocol):
    s = sub()
    s.raw("MULTI")
    assert s.raw("SSUBSCRIBE", "ms") == b"+QUEUED\r\n"
    assert s.raw("UNSUBSCRIBE") == b"+QUEUED\r\n"
    assert s.raw("EXEC") == (b"*2\r\n-ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client\r\n"
                             + confirm(protocol, "unsubscribe", None, 0))
    assert s.raw("PING") == b"+PONG\r\n"


def test_reset_while_subscribed(sub, admin, protocol):
    s = sub()
    s.raw("SUBSCRIBE", "r1")
    s.raw("PSUBSCRIBE", "r*")
    s.raw("SSUBSCRIBE", "rs")
    assert s.raw("RESET") == b"+RESET\r\n"
    assert s.raw("PING") == b"+PONG\r\n"
    assert admin.cmd("PUBLISH", "r1", "x") == 0
    assert admin.cmd("SPUBLISH", "rs", "x") == 0
    assert admin.cmd("PUBSUB", "NUMPAT") == 0
    assert s.silent()
    # RESET also switches back to RESP2
    assert s.raw("GET", "nokey") == b"$-1\r\n"
    me = [c for c in client_list(admin) if int(c["id"]) == s.id][0]
    assert (me["flags"], me["sub"], me["psub"], me["ssub"], me["resp"]) == ("N", "0", "0", "0", "2")


# --------------------------------------------------------------------------
# PUBSUB introspection
# --------------------------------------------------------------------------

def test_pubsub_introspection_bytes(sub, admin, protocol):
    c1, c2 = sub(), sub()
    c1.raw("SUBSCRIBE", "ch")
    c1.raw("PSUBSCRIBE", "c*", "*h", n=2)
    c2.raw("PSUBSCRIBE", "c*")
    c2.raw("SSUBSCRIBE", "sh1", "sh2", n=2)
    q = sub()   # the test's protocol: same bytes in RESP2 and RESP3
    assert q.raw("PUBSUB", "CHANNELS") == b"*1\r\n$2\r\nch\r\n"
    assert q.raw("PUBSUB", "CHANNELS", "c*") == b"*1\r\n$2\r\nch\r\n"
    assert q.raw("PUBSUB", "CHANNELS", "x*") == b"*0\r\n"
    assert q.raw("PUBSUB", "CHANNELS", "[") == b"*0\r\n"
    assert q.raw("PUBSUB", "NUMSUB") == b"*0\r\n"
    assert q.raw("PUBSUB", "NUMSUB", "ch", "none", "ch") == \
        b"*6\r\n$2\r\nch\r\n:1\r\n$4\r\nnone\r\n:0\r\n$2\r\nch\r\n:1\r\n"
    assert q.raw("PUBSUB", "NUMPAT") == b":2\r\n"        # distinct patterns
    got = q.raw("PUBSUB", "SHARDCHANNELS")
    assert got in (b"*2\r\n$3\r\nsh1\r\n$3\r\nsh2\r\n", b"*2\r\n$3\r\nsh2\r\n$3\r\nsh1\r\n")
    assert q.raw("PUBSUB", "SHARDCHANNELS", "sh1") == b"*1\r\n$3\r\nsh1\r\n"
    assert q.raw("PUBSUB", "SHARDNUMSUB") == b"*0\r\n"
    assert q.raw("PUBSUB", "SHARDNUMSUB", "sh1", "zz") == b"*4\r\n$3\r\nsh1\r\n:1\r\n$2\r\nzz\r\n:0\r\n"
    info = info_fields(admin, "stats")
    assert (info["pubsub_channels"], info["pubsub_patterns"], info["pubsubshard_channels"]) == \
        ("1", "2", "2")


@pytest.mark.parametrize("args,err", [
    (("PUBSUB", "NUMPAT", "x"), "ERR wrong number of arguments for 'pubsub|numpat' command"),
    (("PUBSUB", "CHANNELS", "a", "b"),
     "ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP."),
    (("PUBSUB", "channels", "a", "b"),
     "ERR unknown subcommand or wrong number of arguments for 'channels'. Try PUBSUB HELP."),
    (("PUBSUB", "SHARDCHANNELS", "a", "b"),
     "ERR unknown subcommand or wrong number of arguments for 'SHARDCHANNELS'. Try PUBSUB HELP."),
    (("PUBSUB", "NOSUCH"), "ERR unknown subcommand 'NOSUCH'. Try PUBSUB HELP."),
    (("PUBSUB", "nosuch", "x"), "ERR unknown subcommand 'nosuch'. Try PUBSUB HELP."),
])
def test_pubsub_errors(admin, args, err):
    assert admin.cmd(*args) == RespError(err)


def test_pubsub_help(admin):
    lines = admin.cmd("PUBSUB", "HELP")
    assert len(lines) == 14
    assert lines[0] == "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert lines[-2:] == ["HELP", "    Prints this help."]
    for sub_name in ("CHANNELS [<pattern>]", "NUMPAT", "NUMSUB [<channel> ...]",
                     "SHARDCHANNELS [<pattern>]", "SHARDNUMSUB [<shardchannel> ...]"):
        assert sub_name in lines


def test_numpat_counts_distinct_patterns(sub, admin):
    a, b = sub(), sub()
    a.raw("PSUBSCRIBE", "x*")
    b.raw("PSUBSCRIBE", "x*", "y*", n=2)
    assert admin.cmd("PUBSUB", "NUMPAT") == 2
    assert admin.cmd("PUBLISH", "xy", "1") == 2
    assert info_fields(admin)["pubsub_patterns"] == "2"


# --------------------------------------------------------------------------
# CLIENT LIST / CLIENT KILL
# --------------------------------------------------------------------------

def test_client_list_subscriber_fields(sub, admin, protocol):
    s = sub()
    s.cmd("CLIENT", "SETNAME", "subby")
    s.raw("SUBSCRIBE", "a", "b", n=2)
    s.raw("PSUBSCRIBE", "x*")
    s.raw("SSUBSCRIBE", "s")
    me = [c for c in client_list(admin) if int(c["id"]) == s.id][0]
    assert me["name"] == "subby"
    assert me["flags"] == "P"
    assert (me["sub"], me["psub"], me["ssub"]) == ("2", "1", "1")
    assert me["resp"] == str(protocol)
    assert me["cmd"] == "ssubscribe"
    other = [c for c in client_list(admin) if int(c["id"]) != s.id]
    assert all("P" not in c["flags"] for c in other)
    s.raw("UNSUBSCRIBE", n=2)
    s.raw("PUNSUBSCRIBE")
    me = [c for c in client_list(admin) if int(c["id"]) == s.id][0]
    assert (me["flags"], me["sub"], me["psub"], me["ssub"]) == ("P", "0", "0", "1")
    s.raw("SUNSUBSCRIBE")
    me = [c for c in client_list(admin) if int(c["id"]) == s.id][0]
    assert (me["flags"], me["sub"], me["psub"], me["ssub"]) == ("N", "0", "0", "0")


def test_client_kill_type_pubsub(sub, admin):
    s1, s2 = sub(), sub()
    plain = sub()
    s1.raw("SUBSCRIBE", "k")
    s2.raw("PSUBSCRIBE", "k*")
    assert admin.cmd("CLIENT", "KILL", "TYPE", "pubsub") == 2
    assert s1.conn.is_closed(5) and s2.conn.is_closed(5)
    assert plain.raw("PING") == b"+PONG\r\n"
    wait_until(lambda: admin.cmd("PUBSUB", "NUMPAT") == 0, what="NUMPAT 0")
    assert admin.cmd("PUBSUB", "NUMSUB", "k") == [b"k", 0]


# --------------------------------------------------------------------------
# CONFIG client-output-buffer-limit
# --------------------------------------------------------------------------

@pytest.fixture
def restore_obl(admin):
    yield
    assert admin.cmd("CONFIG", "SET", "client-output-buffer-limit", OBL_DEFAULT) == "OK"


def obl(admin):
    got = admin.cmd("CONFIG", "GET", "client-output-buffer-limit")
    assert got[0] == b"client-output-buffer-limit"
    return got[1].decode()


def test_config_get_client_output_buffer_limit_default(admin):
    assert admin.cmd("CONFIG", "GET", "client-output-buffer-limit") == \
        [b"client-output-buffer-limit", OBL_DEFAULT.encode()]


@pytest.mark.parametrize("value,expect", [
    ("pubsub 1mb 0 0", "normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 0 0"),
    ("pubsub 1048576 0 0", "normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 0 0"),
    ("PUBSUB 2mb 1mb 10", "normal 0 0 0 slave 268435456 67108864 60 pubsub 2097152 1048576 10"),
    ("normal 0 0 0 pubsub 32mb 8mb 60", OBL_DEFAULT),
    ("replica 128mb 64mb 60 pubsub 64kb 0 0",
     "normal 0 0 0 slave 134217728 67108864 60 pubsub 65536 0 0"),
])
def test_config_set_client_output_buffer_limit(admin, restore_obl, value, expect):
    assert admin.cmd("CONFIG", "SET", "client-output-buffer-limit", value) == "OK"
    assert obl(admin) == expect


_CS = "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - "


@pytest.mark.parametrize("value,err", [
    ("pubsub 1mb 0", "Wrong number of arguments in buffer limit configuration."),
    ("pubsub 1mb 0 0 extra", "Wrong number of arguments in buffer limit configuration."),
    ("foo 1mb 0 0", "Invalid client class specified in buffer limit configuration."),
    ("master 0 0 0", "Invalid client class specified in buffer limit configuration."),
    ("pubsub -1 0 0", "Error in hard, soft or soft_seconds setting in buffer limit configuration."),
    ("pubsub abc 0 0", "Error in hard, soft or soft_seconds setting in buffer limit configuration."),
    ("pubsub 1mb 0 -5", "Error in hard, soft or soft_seconds setting in buffer limit configuration."),
])
def test_config_set_client_output_buffer_limit_rejected(admin, restore_obl, value, err):
    assert admin.cmd("CONFIG", "SET", "client-output-buffer-limit", value) == RespError(_CS + err)
    assert obl(admin) == OBL_DEFAULT

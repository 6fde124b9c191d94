r"""Client modes: MONITOR and CLIENT REPLY ON|OFF|SKIP, on raw sockets.

MONITOR answers +OK, then streams one simple-string line per executed
command, in RESP2 and RESP3 alike:

    +<unix seconds>.<6-digit microseconds> [<db> <ip>:<port>] "cmd" "arg" ...

(`[<db> lua]` for commands a script runs). Arguments are quoted and escaped
like sdscatrepr: \\ and \" escaped, \n \r \t \a \b, bytes 0x20..0x7e as they
are, every other byte as \xhh (lowercase). Redis 7.0.15 facts checked here:
the line is fed after the command ran (the monitoring client's own command
line comes after its reply); AUTH arguments and HELLO's AUTH username/password
are shown as "(redacted)"; admin commands (CONFIG, DEBUG, CLIENT LIST) are not
shown at all, nor are unknown commands and arity errors, while commands
failing at run time are; queued commands are shown when EXEC runs them, just
before the "EXEC" line; MONITOR inside MULTI is queued and EXEC answers
["ERR MONITOR isn't allowed for DENY BLOCKING client"]; a monitor can still
PING but keyspace commands answer "ERR Replica can't interact with the
keyspace"; RESET ends monitoring.

CLIENT REPLY OFF answers nothing (not even to itself) and suppresses every
reply, errors included, until CLIENT REPLY ON, which answers +OK. SKIP answers
nothing and suppresses exactly the next command's reply. Pub/sub messages and
subscribe confirmations are still delivered while OFF (RESP2 and RESP3).
"""

from __future__ import annotations

import itertools
import re
import socket
import time

import pytest

from blocking_helpers import needs_command
from helpers import RawConn, RespError

LINE_RE = re.compile(rb'^\+(\d+)\.(\d{6}) \[(\d+) ([^\]]+)\] (.*)$', re.S)
ARG_RE = re.compile(rb'"((?:[^"\\]|\\.)*)"')
SYNTAX = "ERR syntax error"
REPLY_ARITY = "ERR wrong number of arguments for 'client|reply' command"
SUBSCRIBED_CONTEXT = ("ERR Can't execute 'client|reply': only (P|S)SUBSCRIBE / "
                      "(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
MONITOR_IN_MULTI = "ERR MONITOR isn't allowed for DENY BLOCKING client"
MONITOR_KEYSPACE = "ERR Replica can't interact with the keyspace"

_marks = itertools.count()


def repr_arg(data: bytes) -> bytes:
    """Redis's sdscatrepr quoting of one argument."""
    out = [b'"']
    for b in data:
        ch = bytes([b])
        if ch in (b"\\", b'"'):
            out.append(b"\\" + ch)
        elif ch == b"\n":
            out.append(b"\\n")
        elif ch == b"\r":
            out.append(b"\\r")
        elif ch == b"\t":
            out.append(b"\\t")
        elif ch == b"\x07":
            out.append(b"\\a")
        elif ch == b"\x08":
            out.append(b"\\b")
        elif 0x20 <= b <= 0x7e:
            out.append(ch)
        else:
            out.append(b"\\x%02x" % b)
    out.append(b'"')
    return b"".join(out)


def quoted(*args) -> bytes:
    return b" ".join(repr_arg(a if isinstance(a, bytes) else str(a).encode()) for a in args)


def addr(conn: RawConn) -> bytes:
    host, port = conn.sock.getsockname()[:2]
    return b"%s:%d" % (host.encode(), port)


def parse_line(line: bytes):
    """(seconds, micros, db, client, args_text) of one MONITOR line; checks
    the structure and that the arguments are a space-separated quoted list."""
    m = LINE_RE.match(line)
    assert m, f"not a MONITOR line: {line!r}"
    secs, micros, db, client, rest = m.groups()
    args = ARG_RE.findall(rest)
    assert rest == b" ".join(b'"' + a + b'"' for a in args), f"bad argument list {rest!r}"
    return int(secs), int(micros), int(db), client, rest


def silent(conn: RawConn, wait=0.2) -> bool:
    """True when nothing arrives within `wait` seconds (data is kept)."""
    if conn.buf:
        return False
    conn.sock.settimeout(wait)
    try:
        chunk = conn.sock.recv(1 << 16)
    except socket.timeout:
        return True
    finally:
        conn.sock.settimeout(10)
    if not chunk:
        raise ConnectionError("connection closed by server")
    conn.buf += chunk
    return False


class Monitor:
    """A connection in MONITOR mode."""

    def __init__(self, conn: RawConn):
        self.c = conn
        assert conn.cmd("MONITOR") == "OK"

    def line(self, timeout=5.0) -> bytes:
        self.c.sock.settimeout(timeout)
        try:
            line = self.c.read_line()
        except socket.timeout:
            raise AssertionError(f"no MONITOR line within {timeout}s") from None
        finally:
            self.c.sock.settimeout(10)
        assert line.startswith(b"+"), line
        return line

    def until_mark(self, client: RawConn, timeout=5.0):
        """Send ECHO <fresh mark> from `client` and return the lines fed
        before its line (commands of one server are fed in execution order)."""
        mark = f"mon-mark-{next(_marks)}"
        assert client.cmd("ECHO", mark) == mark.encode()
        tail = b' "ECHO" "' + mark.encode() + b'"'
        out = []
        deadline = time.monotonic() + timeout
        while True:
            assert time.monotonic() < deadline, f"mark not seen; got {out}"
            line = self.line(timeout=max(0.1, deadline - time.monotonic()))
            if line.endswith(tail):
                return out
            out.append(line)

    def args_until_mark(self, client, timeout=5.0):
        return [parse_line(x)[4] for x in self.until_mark(client, timeout)]


@pytest.fixture
def mon(rc):
    """The test's protocol (HELLO 3 for RESP3) connection in MONITOR mode."""
    return Monitor(rc)


@pytest.fixture
def client(raw, flushed):
    """A plain RESP2 connection that runs the commands being monitored."""
    return raw()


# --------------------------------------------------------------------------
# MONITOR
# --------------------------------------------------------------------------

def test_monitor_line_structure(mon, client):
    before = time.time()
    assert client.cmd("SET", "k", "v") == "OK"
    assert client.cmd("GET", "k") == b"v"
    lines = mon.until_mark(client)
    after = time.time()
    assert len(lines) == 2
    for line, args in zip(lines, [b'"SET" "k" "v"', b'"GET" "k"']):
        secs, micros, db, who, rest = parse_line(line)
        assert before - 1 <= secs + micros / 1e6 <= after + 1
        assert 0 <= micros < 1_000_000
        assert db == 0
        assert who == addr(client)
        assert rest == args


def test_monitor_client_has_flag_o_in_client_list(mon, client):
    mon.until_mark(client)      # MONITOR is on
    entries = [dict(kv.split("=", 1) for kv in line.split(" "))
               for line in client.cmd("CLIENT", "LIST").decode().splitlines()]
    me = client.cmd("CLIENT", "ID")
    flags = {int(e["id"]): e["flags"] for e in entries}
    assert flags[me] == "N"
    assert sorted(f for i, f in flags.items() if i != me) == ["O"]


def test_monitor_timestamps_increase(mon, client):
    for i in range(5):
        client.cmd("SET", "k", i)
    lines = mon.until_mark(client)
    stamps = [parse_line(x)[0] * 1_000_000 + parse_line(x)[1] for x in lines]
    assert len(stamps) == 5 and stamps == sorted(stamps)


def test_monitor_db_number_after_select(mon, client):
    assert client.cmd("SELECT", 3) == "OK"
    assert client.cmd("SET", "k", "v") == "OK"
    assert client.cmd("SELECT", 0) == "OK"
    assert client.cmd("GET", "k") is None
    lines = mon.until_mark(client)
    assert [(parse_line(x)[2], parse_line(x)[4]) for x in lines] == [
        (3, b'"SELECT" "3"'), (3, b'"SET" "k" "v"'), (0, b'"SELECT" "0"'), (0, b'"GET" "k"')]


def test_monitor_quotes_spaces_and_escapes(mon, client):
    arg = b'bin\x00\x01\xff"q\\ \n\r\t\x07\x08'
    assert client.cmd("SET", arg, "x y") == "OK"
    assert client.cmd("SET", "", "\u00e9~") == "OK"
    assert mon.args_until_mark(client) == [
        b'"SET" "bin\\x00\\x01\\xff\\"q\\\\ \\n\\r\\t\\a\\b" "x y"',
        b'"SET" "" "\\xc3\\xa9~"']


def test_monitor_escapes_every_byte(mon, client):
    every = bytes(range(256))
    assert client.cmd("SET", "all", every) == "OK"
    [args] = mon.args_until_mark(client)
    assert args == b'"SET" "all" ' + repr_arg(every)
    assert repr_arg(b"\x7f\x80 ~") == b'"\\x7f\\x80 ~"'


def test_monitor_inline_command_keeps_case(mon, client):
    client.send(b"set inl val\r\nPiNg\r\n")
    assert client.read_reply() == "OK"
    assert client.read_reply() == "PONG"
    assert mon.args_until_mark(client) == [b'"set" "inl" "val"', b'"PiNg"']


def test_monitor_auth_arguments_redacted(mon, client):
    assert isinstance(client.cmd("AUTH", "secret-pw"), RespError)
    assert isinstance(client.cmd("AUTH", "someuser", "secret-pw"), RespError)
    lines = mon.until_mark(client)
    assert [parse_line(x)[4] for x in lines] == [
        b'"AUTH" "(redacted)"', b'"AUTH" "(redacted)" "(redacted)"']
    assert all(b"secret" not in x and b"someuser" not in x for x in lines)


def test_monitor_hello_shown_auth_part_redacted(mon, client):
    assert isinstance(client.cmd("HELLO", "3"), dict)
    assert isinstance(client.cmd("HELLO", "3", "AUTH", "default", "any-pw"), dict)
    assert isinstance(client.cmd("HELLO"), dict)
    assert isinstance(client.cmd("HELLO", "2", "SETNAME", "nm"), list)
    assert mon.args_until_mark(client) == [
        b'"HELLO" "3"',
        b'"HELLO" "3" "AUTH" "(redacted)" "(redacted)"',
        b'"HELLO"',
        b'"HELLO" "2" "SETNAME" "nm"']


def test_monitor_hides_config_and_admin_commands(mon, client):
    assert client.cmd("CONFIG", "SET", "maxmemory-policy", "noeviction") == "OK"
    assert client.cmd("CONFIG", "GET", "maxmemory-policy") == [b"maxmemory-policy", b"noeviction"]
    assert client.cmd("CONFIG", "RESETSTAT") == "OK"
    assert client.cmd("DEBUG", "SLEEP", "0") == "OK"
    assert isinstance(client.cmd("CLIENT", "LIST"), bytes)
    assert client.cmd("SET", "k", "v") == "OK"
    assert client.cmd("CLIENT", "SETNAME", "nm") == "OK"
    assert mon.args_until_mark(client) == [b'"SET" "k" "v"', b'"CLIENT" "SETNAME" "nm"']


def test_monitor_shows_runtime_errors_not_rejected_commands(mon, client):
    assert client.cmd("SET", "s", "v") == "OK"
    assert client.cmd("INCR", "s").line == "ERR value is not an integer or out of range"
    assert client.cmd("LPUSH", "s", "x").line.startswith("WRONGTYPE")
    assert client.cmd("NOSUCHCMD", "x").line.startswith("ERR unknown command")
    assert client.cmd("GET").line == "ERR wrong number of arguments for 'get' command"
    assert mon.args_until_mark(client) == [
        b'"SET" "s" "v"', b'"INCR" "s"', b'"LPUSH" "s" "x"']


def test_monitor_multi_exec_fed_when_executed(mon, client, raw):
    other = raw()
    assert client.cmd("MULTI") == "OK"
    assert client.cmd("SET", "a", "1") == "QUEUED"
    assert client.cmd("INCR", "a") == "QUEUED"
    # queued commands are not fed yet
    assert mon.args_until_mark(other) == [b'"MULTI"']
    assert client.cmd("EXEC") == ["OK", 2]
    assert mon.args_until_mark(client) == [b'"SET" "a" "1"', b'"INCR" "a"', b'"EXEC"']


def test_monitor_discard(mon, client):
    assert client.cmd("MULTI") == "OK"
    assert client.cmd("SET", "a", "1") == "QUEUED"
    assert client.cmd("DISCARD") == "OK"
    assert mon.args_until_mark(client) == [b'"MULTI"', b'"DISCARD"']


def test_monitor_inside_multi_refused(rc, raw, flushed):
    assert rc.cmd("MULTI") == "OK"
    assert rc.cmd("MONITOR") == "QUEUED"
    assert rc.cmd("EXEC") == [RespError(MONITOR_IN_MULTI)]
    # not monitoring: normal replies, nothing fed
    other = raw()
    assert other.cmd("SET", "k", "v") == "OK"
    assert rc.cmd("GET", "k") == b"v"
    assert silent(rc)


def test_monitor_reply_is_ok_in_both_protocols(rc):
    assert rc.cmd("MONITOR") == "OK"
    assert silent(rc)


def test_monitor_client_own_commands(mon, client):
    assert mon.c.cmd("PING") == "PONG"
    line = mon.line()
    _, _, db, who, args = parse_line(line)
    assert (db, who, args) == (0, addr(mon.c), b'"PING"')
    assert mon.c.cmd("GET", "k") == RespError(MONITOR_KEYSPACE)
    assert mon.c.cmd("SET", "k", "v") == RespError(MONITOR_KEYSPACE)
    assert mon.args_until_mark(client) == []


def test_monitor_sees_other_monitors_and_all_clients(rc, raw, flushed):
    m1 = Monitor(rc)
    m2 = Monitor(raw())
    a, b = raw(), raw()
    assert a.cmd("SET", "x", "1") == "OK"
    assert b.cmd("SET", "y", "2") == "OK"
    assert a.cmd("ECHO", "sync") == b"sync"
    for m in (m1, m2):
        got = [parse_line(m.line()) for _ in range(3)]
        assert [(g[3], g[4]) for g in got] == [
            (addr(a), b'"SET" "x" "1"'), (addr(b), b'"SET" "y" "2"'), (addr(a), b'"ECHO" "sync"')]


def test_monitor_ended_by_reset(mon, client):
    assert mon.c.cmd("RESET") == "RESET"
    assert client.cmd("SET", "k", "v") == "OK"
    assert mon.c.cmd("GET", "k") == b"v"
    assert silent(mon.c)


def test_monitor_lua_lines(mon, client):
    needs_command(client, "EVAL")
    mon.until_mark(client)          # drop the COMMAND INFO line
    assert client.cmd("EVAL", "return redis.call('set', KEYS[1], 'v')", 1, "ek") == "OK"
    lines = mon.until_mark(client)
    assert [(parse_line(x)[3], parse_line(x)[4]) for x in lines] == [
        (addr(client), b'"EVAL" "return redis.call(\'set\', KEYS[1], \'v\')" "1" "ek"'),
        (b"lua", b'"set" "ek" "v"')]


def test_monitor_while_reply_off_feeds_nothing_until_on(rc, client):
    rc.send(rc.encode("CLIENT", "REPLY", "OFF") + rc.encode("MONITOR"))
    assert client.cmd("SET", "q", "1") == "OK"
    assert silent(rc, 0.3)
    assert rc.cmd("CLIENT", "REPLY", "ON") == "OK"
    m = Monitor.__new__(Monitor)
    m.c = rc
    assert parse_line(m.line())[4] == b'"CLIENT" "REPLY" "ON"'
    assert client.cmd("SET", "q", "2") == "OK"
    assert m.args_until_mark(client) == [b'"SET" "q" "2"']


# --------------------------------------------------------------------------
# CLIENT REPLY
# --------------------------------------------------------------------------

def send_all(conn, *cmds):
    conn.send(b"".join(conn.encode(*c) for c in cmds))


def test_reply_off_silences_everything_until_on(rc, client):
    send_all(rc, ("CLIENT", "REPLY", "OFF"), ("SET", "a", "1"), ("GET", "a"),
             ("NOSUCHCMD",), ("GET",), ("INCR", "a"))
    assert silent(rc, 0.3)
    assert client.cmd("GET", "a") == b"2"          # the commands did run
    assert rc.cmd("CLIENT", "REPLY", "ON") == "OK"
    assert rc.cmd("PING") == "PONG"
    assert rc.cmd("GET", "a") == b"2"


def test_reply_off_pipelined_then_on(rc):
    send_all(rc, ("CLIENT", "REPLY", "OFF"), ("PING",), ("ECHO", "x"),
             ("CLIENT", "REPLY", "ON"), ("ECHO", "y"))
    assert rc.read_reply() == "OK"
    assert rc.read_reply() == b"y"
    assert silent(rc)


def test_reply_on_when_already_on(rc):
    assert rc.cmd("CLIENT", "REPLY", "ON") == "OK"
    assert rc.cmd("PING") == "PONG"


@pytest.mark.parametrize("spelling", ["on", "On", "ON"])
def test_reply_mode_is_case_insensitive(rc, spelling):
    send_all(rc, ("CLIENT", "REPLY", "off"), ("PING",), ("CLIENT", "REPLY", spelling))
    assert rc.read_reply() == "OK"
    send_all(rc, ("client", "reply", "sKiP"), ("PING",), ("ECHO", "z"))
    assert rc.read_reply() == b"z"


def test_reply_skip_suppresses_exactly_next(rc):
    assert rc.cmd("SET", "a", "1") == "OK"
    send_all(rc, ("CLIENT", "REPLY", "SKIP"), ("GET", "a"), ("ECHO", "next"))
    assert rc.read_reply() == b"next"
    assert rc.cmd("GET", "a") == b"1"
    assert silent(rc)


def test_reply_skip_twice_skips_one_command(rc):
    send_all(rc, ("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "SKIP"),
             ("ECHO", "skipped"), ("ECHO", "seen"))
    assert rc.read_reply() == b"seen"
    assert silent(rc)


def test_reply_skip_suppresses_an_error(rc):
    send_all(rc, ("CLIENT", "REPLY", "SKIP"), ("NOSUCHCMD",), ("ECHO", "seen"))
    assert rc.read_reply() == b"seen"
    send_all(rc, ("CLIENT", "REPLY", "SKIP"), ("GET",), ("ECHO", "seen2"))
    assert rc.read_reply() == b"seen2"


def test_reply_skip_then_on_answers_on(rc):
    send_all(rc, ("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "ON"), ("PING",))
    assert rc.read_reply() == "OK"
    assert rc.read_reply() == "PONG"


def test_reply_skip_then_off_stays_off(rc):
    send_all(rc, ("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "OFF"), ("PING",), ("PING",))
    assert silent(rc, 0.3)
    assert rc.cmd("CLIENT", "REPLY", "ON") == "OK"


def test_reply_off_then_skip_stays_off(rc):
    send_all(rc, ("CLIENT", "REPLY", "OFF"), ("CLIENT", "REPLY", "SKIP"),
             ("ECHO", "a"), ("ECHO", "b"))
    assert silent(rc, 0.3)
    send_all(rc, ("CLIENT", "REPLY", "ON"), ("ECHO", "c"))
    assert rc.read_reply() == "OK"
    assert rc.read_reply() == b"c"


@pytest.mark.parametrize("args,error", [
    (("maybe",), SYNTAX),
    (("",), SYNTAX),
    (("OFFF",), SYNTAX),
    ((), REPLY_ARITY),
    (("ON", "x"), REPLY_ARITY),
    (("OFF", "OFF"), REPLY_ARITY),
])
def test_reply_bad_argument(rc, args, error):
    assert rc.cmd("CLIENT", "REPLY", *args) == RespError(error)
    assert rc.cmd("PING") == "PONG"


def test_reply_bad_argument_while_off_is_silent_and_stays_off(rc):
    send_all(rc, ("CLIENT", "REPLY", "OFF"), ("CLIENT", "REPLY", "BAD"), ("PING",))
    assert silent(rc, 0.3)
    assert rc.cmd("CLIENT", "REPLY", "ON") == "OK"


def test_reply_off_multi_exec_silent(rc, client):
    send_all(rc, ("CLIENT", "REPLY", "OFF"), ("MULTI",), ("SET", "m", "1"),
             ("INCR", "m"), ("EXEC",))
    assert silent(rc, 0.3)
    assert client.cmd("GET", "m") == b"2"
    assert rc.cmd("CLIENT", "REPLY", "ON") == "OK"


def test_reply_off_blocking_timeout_silent(rc):
    send_all(rc, ("CLIENT", "REPLY", "OFF"), ("BLPOP", "nolist", "0.1"))
    assert silent(rc, 0.4)
    assert rc.cmd("CLIENT", "REPLY", "ON") == "OK"


def test_reply_off_blocking_served_silent(rc, client):
    send_all(rc, ("CLIENT", "REPLY", "OFF"), ("BLPOP", "bl", "5"))
    deadline = time.monotonic() + 4
    while b"blocked_clients:1" not in client.cmd("INFO", "clients"):
        assert time.monotonic() < deadline, "client never blocked"
        time.sleep(0.01)
    assert client.cmd("RPUSH", "bl", "a", "b") == 2
    assert silent(rc, 0.3)
    assert client.cmd("LRANGE", "bl", 0, -1) == [b"b"]
    assert rc.cmd("CLIENT", "REPLY", "ON") == "OK"


def test_reset_while_off_answers_and_restores_replies(rc):
    send_all(rc, ("CLIENT", "REPLY", "OFF"), ("PING",), ("RESET",), ("PING",))
    assert rc.read_reply() == "RESET"
    assert rc.read_reply() == "PONG"


def test_reply_off_subscribe_and_messages_still_delivered(rc, client, protocol):
    send_all(rc, ("CLIENT", "REPLY", "OFF"), ("SUBSCRIBE", "ch"))
    assert rc.read_reply() == [b"subscribe", b"ch", 1]
    assert client.cmd("PUBLISH", "ch", "hello") == 1
    assert rc.read_reply() == [b"message", b"ch", b"hello"]
    if protocol == 3:
        # RESP3 allows any command while subscribed: ON answers +OK
        assert rc.cmd("CLIENT", "REPLY", "ON") == "OK"
        assert rc.cmd("PING") == "PONG"
    else:
        # RESP2 subscribed context refuses CLIENT REPLY, and the error is
        # itself suppressed because replies are still OFF
        rc.send(rc.encode("CLIENT", "REPLY", "ON"))
        assert silent(rc, 0.3)
        assert client.cmd("PUBLISH", "ch", "again") == 1
        assert rc.read_reply() == [b"message", b"ch", b"again"]


def test_reply_off_after_subscribe_messages_delivered(rc, client, protocol):
    assert rc.cmd("SUBSCRIBE", "ch") == [b"subscribe", b"ch", 1]
    if protocol == 2:
        assert rc.cmd("CLIENT", "REPLY", "OFF") == RespError(SUBSCRIBED_CONTEXT)
        assert client.cmd("PUBLISH", "ch", "m1") == 1
        assert rc.read_reply() == [b"message", b"ch", b"m1"]
        return
    rc.send(rc.encode("CLIENT", "REPLY", "OFF"))
    assert client.cmd("PUBLISH", "ch", "m1") == 1
    assert rc.read_reply() == [b"message", b"ch", b"m1"]
    send_all(rc, ("PING",), ("PSUBSCRIBE", "p*"))
    assert rc.read_reply() == [b"psubscribe", b"p*", 2]
    assert client.cmd("PUBLISH", "pq", "m2") == 1
    assert rc.read_reply() == [b"pmessage", b"p*", b"pq", b"m2"]
    assert rc.cmd("CLIENT", "REPLY", "ON") == "OK"


def test_reply_skip_subscribe_confirmation_still_delivered_resp3(raw, client):
    # RESP3 only: a RESP2 subscriber may run only pub/sub commands
    rc = raw()
    assert isinstance(rc.cmd("HELLO", "3"), dict)
    send_all(rc, ("CLIENT", "REPLY", "SKIP"), ("SUBSCRIBE", "ch"), ("PING",))
    assert rc.read_reply() == [b"subscribe", b"ch", 1]
    assert rc.read_reply() == "PONG"
    assert client.cmd("PUBLISH", "ch", "x") == 1
    assert rc.read_reply() == [b"message", b"ch", b"x"]


def test_reply_off_keyspace_event_push_delivered_resp3(raw, client):
    # RESP3 only: a RESP2 subscriber cannot run SET
    rc = raw()
    assert isinstance(rc.cmd("HELLO", "3"), dict)
    assert client.cmd("CONFIG", "SET", "notify-keyspace-events", "E$") == "OK"
    try:
        assert rc.cmd("SUBSCRIBE", "__keyevent@0__:set") == [b"subscribe", b"__keyevent@0__:set", 1]
        send_all(rc, ("CLIENT", "REPLY", "OFF"), ("SET", "own", "1"))
        assert rc.read_reply() == [b"message", b"__keyevent@0__:set", b"own"]
        assert rc.cmd("CLIENT", "REPLY", "ON") == "OK"
    finally:
        assert client.cmd("CONFIG", "SET", "notify-keyspace-events", "") == "OK"


def test_reply_mode_is_per_connection(rc, client):
    rc.send(rc.encode("CLIENT", "REPLY", "OFF"))
    assert client.cmd("PING") == "PONG"
    send_all(client, ("CLIENT", "REPLY", "SKIP"), ("PING",), ("ECHO", "after-skip"))
    assert client.read_reply() == b"after-skip"
    assert silent(rc, 0.2)
    assert rc.cmd("CLIENT", "REPLY", "ON") == "OK"


def test_reply_inline_commands(raw, flushed):
    c = raw()
    c.send(b"CLIENT REPLY OFF\r\nPING\r\nCLIENT REPLY ON\r\nPING\r\nCLIENT REPLY SKIP\r\nPING\r\nECHO e\r\n")
    assert c.read_reply() == "OK"
    assert c.read_reply() == "PONG"
    assert c.read_reply() == b"e"
    assert silent(c)

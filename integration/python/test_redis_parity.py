"""Command edge cases that must answer as Redis does: the order in which expiry arguments are
checked, no_multi commands inside MULTI, 256 databases, HELP of every command with subcommands.

Every expectation here was taken from redis-server 7.0 and the file passes against it
(REDIS_SERVER_BIN=/usr/bin/redis-server); vaylix-only parts are marked. Raw connections run in
RESP2 and RESP3 (HELLO 3).
"""

from __future__ import annotations

import pytest

from helpers import RawConn, RespError, ServerProcess

SYNTAX = RespError("ERR syntax error")
NOT_INT = RespError("ERR value is not an integer or out of range")


def invalid(cmd):
    return RespError(f"ERR invalid expire time in '{cmd}' command")


@pytest.fixture
def conn(raw, flushed, protocol):
    c = raw()
    if protocol == 3:
        assert isinstance(c.cmd("HELLO", "3"), dict)
    return c


# ---- 9: expiry arguments are validated in Redis's order --------------------------------------

# (key state before, command, reply, key state after). States: "missing", "plain" (no TTL),
# "ttl" (EX 1000); after: "missing", "plain", "ttl" (positive TTL) or a value for GET.
EXPIRY_CASES = [
    # GETEX looks the key up before it reads the number: a missing key is nil whatever it says.
    ("missing", ["GETEX", "k", "PX", "0"], None, "missing"),
    ("missing", ["GETEX", "k", "EX", "-1"], None, "missing"),
    ("missing", ["GETEX", "k", "EXAT", "abc"], None, "missing"),
    ("missing", ["GETEX", "k", "PXAT", "9223372036854775808"], None, "missing"),
    ("missing", ["GETEX", "k", "PX", "0", "BAD"], SYNTAX, "missing"),
    ("plain", ["GETEX", "k", "PX", "0"], invalid("getex"), "plain"),
    ("plain", ["GETEX", "k", "EX", "abc"], NOT_INT, "plain"),
    ("plain", ["GETEX", "k", "EX", "9223372036854775807"], invalid("getex"), "plain"),
    ("plain", ["GETEX", "k", "EX", "9223372036854775"], invalid("getex"), "plain"),
    ("ttl", ["GETEX", "k", "PXAT", "-5"], invalid("getex"), "ttl"),
    ("ttl", ["GETEX", "k", "EXAT", "1"], b"v", "missing"),
    ("ttl", ["GETEX", "k", "PERSIST"], b"v", "plain"),
    ("plain", ["GETEX", "k", "EX", "10", "EX", "1000"], b"v", "ttl"),
    ("plain", ["GETEX", "k", "EX", "10", "PX", "1000"], SYNTAX, "plain"),
    ("plain", ["GETEX", "k", "PERSIST", "EX", "10"], SYNTAX, "plain"),
    # SET checks every option word first, then the number, then the key.
    ("plain", ["SET", "k", "w", "EX", "0", "BAD"], SYNTAX, "plain"),
    ("plain", ["SET", "k", "w", "EX", "abc", "BAD"], SYNTAX, "plain"),
    ("missing", ["SET", "k", "w", "PX", "-1"], invalid("set"), "missing"),
    ("plain", ["SET", "k", "w", "EX", "0", "NX"], invalid("set"), "plain"),
    ("missing", ["SET", "k", "w", "EX", "0", "XX"], invalid("set"), "missing"),
    ("plain", ["SET", "k", "w", "GET", "EX", "0"], invalid("set"), "plain"),
    ("missing", ["SET", "k", "w", "EXAT", "9223372036854775807"], invalid("set"), "missing"),
    ("missing", ["SET", "k", "w", "PX", "9223372036854775807"], invalid("set"), "missing"),
    ("missing", ["SET", "k", "w", "EX", "9223372036854775808"], NOT_INT, "missing"),
    ("missing", ["SET", "k", "w", "EX", "10", "EX", "1000"], "OK", "ttl"),
    ("missing", ["SET", "k", "w", "EX", "10", "PXAT", "1000"], SYNTAX, "missing"),
    ("ttl", ["SET", "k", "w", "KEEPTTL", "EX", "10"], SYNTAX, "ttl"),
    ("missing", ["SET", "k", "w", "EX"], SYNTAX, "missing"),
    ("missing", ["SETEX", "k", "0", "w"], invalid("setex"), "missing"),
    ("plain", ["SETEX", "k", "9223372036854775807", "w"], invalid("setex"), "plain"),
    ("missing", ["PSETEX", "k", "-1", "w"], invalid("psetex"), "missing"),
    ("missing", ["PSETEX", "k", "abc", "w"], NOT_INT, "missing"),
    # EXPIRE family: options first, then the number, then the key.
    ("missing", ["EXPIRE", "k", "abc", "FOO"], RespError("ERR Unsupported option FOO"), "missing"),
    ("missing", ["EXPIRE", "k", "abc", "NX", "XX"],
     RespError("ERR NX and XX, GT or LT options at the same time are not compatible"), "missing"),
    ("missing", ["PEXPIRE", "k", "abc", "GT", "LT"],
     RespError("ERR GT and LT options at the same time are not compatible"), "missing"),
    ("missing", ["EXPIRE", "k", "abc"], NOT_INT, "missing"),
    ("missing", ["EXPIRE", "k", "9223372036854775807"], invalid("expire"), "missing"),
    ("missing", ["EXPIRE", "k", "-9223372036854775808"], invalid("expire"), "missing"),
    ("missing", ["PEXPIRE", "k", "9223372036854775807"], invalid("pexpire"), "missing"),
    ("missing", ["EXPIREAT", "k", "9223372036854775807"], invalid("expireat"), "missing"),
    ("missing", ["PEXPIREAT", "k", "9223372036854775807"], 0, "missing"),
    ("missing", ["EXPIRE", "k", "0"], 0, "missing"),
    ("plain", ["EXPIRE", "k", "-1"], 1, "missing"),
    ("plain", ["PEXPIREAT", "k", "-9223372036854775808"], 1, "missing"),
    ("plain", ["EXPIRE", "k", "9223372036854775"], invalid("expire"), "plain"),
    # A key without TTL has an infinite one: LT always passes, GT never does.
    ("plain", ["PEXPIRE", "k", "100000", "LT"], 1, "ttl"),
    ("plain", ["PEXPIREAT", "k", "9223372036854775807", "LT"], 1, "ttl"),
    ("plain", ["EXPIRE", "k", "100000", "GT"], 0, "plain"),
    ("ttl", ["EXPIRE", "k", "100000", "GT"], 1, "ttl"),
    ("ttl", ["EXPIRE", "k", "10", "GT"], 0, "ttl"),
    ("ttl", ["EXPIRE", "k", "10", "NX"], 0, "ttl"),
    ("plain", ["EXPIRE", "k", "10", "XX"], 0, "plain"),
]


def set_state(c, state):
    c.cmd("DEL", "k")
    if state == "plain":
        assert c.cmd("SET", "k", "v") == "OK"
    elif state == "ttl":
        assert c.cmd("SET", "k", "v", "EX", "1000") == "OK"


def get_state(c):
    pttl = c.cmd("PTTL", "k")
    if pttl == -2:
        return "missing"
    if pttl == -1:
        return "plain"
    assert pttl > 0
    return "ttl"


@pytest.mark.parametrize("case", EXPIRY_CASES,
                         ids=[" ".join(c[1]) + f" [{c[0]}]" for c in EXPIRY_CASES])
def test_expiry_arguments_are_checked_in_redis_order(conn, case):
    before, command, reply, after = case
    set_state(conn, before)
    assert conn.cmd(*command) == reply
    assert get_state(conn) == after


def test_getex_px_0_on_a_missing_key_is_nil(r):
    assert r.execute_command("GETEX", "nokey", "PX", "0") is None


# ---- 11: no_multi commands are refused while queueing ---------------------------------------

NOT_IN_MULTI = RespError("ERR Command not allowed inside a transaction")
EXECABORT = RespError("EXECABORT Transaction discarded because of previous errors.")


@pytest.fixture(scope="module")
def own_server():
    """A server of its own: a regression here would shut the shared one down."""
    srv = ServerProcess(name="nomulti").start()
    yield srv
    srv.stop()


@pytest.fixture
def own_conn(own_server, protocol):
    c = RawConn(own_server.port)
    if protocol == 3:
        c.cmd("HELLO", "3")
    c.cmd("FLUSHALL")
    yield c
    c.close()


@pytest.mark.parametrize("command", [["SHUTDOWN"], ["SHUTDOWN", "NOSAVE"], ["SAVE"]])
def test_no_multi_command_is_refused_and_aborts_exec(own_server, own_conn, command):
    c = own_conn
    assert c.cmd("MULTI") == "OK"
    assert c.cmd("SET", "a", "1") == "QUEUED"
    assert c.cmd(*command) == NOT_IN_MULTI
    assert c.cmd("SET", "b", "1") == "QUEUED"
    assert c.cmd("EXEC") == EXECABORT
    assert c.cmd("PING") == "PONG"
    assert c.cmd("EXISTS", "a", "b") == 0
    assert own_server.proc.poll() is None
    with RawConn(own_server.port) as other:
        assert other.cmd("PING") == "PONG"


def test_nested_multi_and_watch_in_multi_do_not_abort_exec(conn):
    assert conn.cmd("MULTI") == "OK"
    assert conn.cmd("MULTI") == RespError("ERR MULTI calls can not be nested")
    assert conn.cmd("WATCH", "x") == RespError("ERR WATCH inside MULTI is not allowed")
    assert conn.cmd("SET", "a", "1") == "QUEUED"
    assert conn.cmd("EXEC") == ["OK"]
    assert conn.cmd("GET", "a") == b"1"


def command_flags(c, name):
    info = c.cmd("COMMAND", "INFO", name)[0]
    return {f if isinstance(f, str) else f.decode() for f in info[2]}


@pytest.mark.parametrize("name,flags", [
    ("shutdown", {"admin", "noscript", "loading", "stale", "no_multi", "allow_busy"}),
    ("save", {"admin", "noscript", "no_async_loading", "no_multi"}),
    ("auth", {"noscript", "loading", "stale", "fast", "no_auth", "allow_busy"}),
    ("multi", {"noscript", "loading", "stale", "fast", "allow_busy"}),
    ("getex", {"write", "fast"}),
    ("append", {"write", "denyoom", "fast"}),
    ("copy", {"write", "denyoom"}),
    ("echo", {"loading", "stale", "fast"}),
])
def test_command_info_flags_are_redis_s(raw, name, flags):
    # RESP2 only: Redis's RESP3 reply nests key-spec maps in sets, which RawConn cannot hash.
    assert command_flags(raw(), name) == flags


# ---- 13: 256 databases ----------------------------------------------------------------------

@pytest.fixture
def db256():
    srv = ServerProcess(extra_args=["--databases", "256"], name="db256").start()
    yield srv
    srv.stop()


def test_flushall_empties_database_255_of_256(db256, protocol):
    with RawConn(db256.port) as c:
        if protocol == 3:
            c.cmd("HELLO", "3")
        assert c.cmd("SELECT", "255") == "OK"
        assert c.cmd("SET", "k", "v") == "OK"
        assert c.cmd("SELECT", "256") == RespError("ERR DB index is out of range")
        assert c.cmd("SELECT", "0") == "OK"
        assert c.cmd("SET", "k0", "v") == "OK"
        assert c.cmd("FLUSHALL") == "OK"
        assert c.cmd("DBSIZE") == 0
        assert c.cmd("SELECT", "255") == "OK"
        assert c.cmd("DBSIZE") == 0
        assert c.cmd("SET", "k", "v") == "OK"
        assert c.cmd("FLUSHDB") == "OK"
        assert c.cmd("DBSIZE") == 0
        assert c.cmd("SET", "k", "v") == "OK"
        assert c.cmd("MOVE", "k", "0") == 1
        assert c.cmd("SELECT", "0") == "OK"
        assert c.cmd("GET", "k") == b"v"


@pytest.mark.vaylix_only
def test_database_255_survives_kill_9_and_flushall_replays(db256):
    with RawConn(db256.port) as c:
        assert c.cmd("SELECT", "255") == "OK"
        assert c.cmd("SET", "old", "1") == "OK"
        assert c.cmd("FLUSHALL") == "OK"
        assert c.cmd("SET", "kept", "2") == "OK"
        assert c.cmd("SELECT", "128") == "OK"
        assert c.cmd("SET", "kept128", "3") == "OK"
    db256.proc.kill()  # SIGKILL by PID
    db256.proc.wait(timeout=5)
    db256._log.close()
    db256._log = None
    db256.start()
    with RawConn(db256.port) as c:
        assert c.cmd("SELECT", "255") == "OK"
        assert c.cmd("GET", "kept") == b"2"
        assert c.cmd("EXISTS", "old") == 0
        assert c.cmd("SELECT", "128") == "OK"
        assert c.cmd("GET", "kept128") == b"3"
        info = c.cmd("INFO", "keyspace").decode()
        assert "db255:keys=1," in info and "db128:keys=1," in info


# ---- 18: HELP of every command with subcommands ---------------------------------------------

def help_lines(c, *cmd):
    reply = c.cmd(*cmd, "HELP")
    assert isinstance(reply, list), reply
    return [line if isinstance(line, str) else line.decode() for line in reply]


@pytest.mark.parametrize("command", ["CLIENT", "CONFIG", "COMMAND", "MEMORY", "DEBUG"])
def test_help_of_redis_container_commands(conn, command):
    lines = help_lines(conn, command)
    assert lines[0] == f"{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert lines[-2:] == ["HELP", "    Prints this help."]


@pytest.mark.vaylix_only
@pytest.mark.parametrize("command,mentions", [
    ("KEYRING", ["ROTATE", "STATUS"]),
    ("BACKUP", ["TO <path>", "VERIFY <dump>", "VERIFY FROM <path>"]),
    ("RESTORE", ["FROM <path>"]),
])
def test_help_of_vaylix_commands(conn, command, mentions):
    lines = help_lines(conn, command)
    assert lines[-2:] == ["HELP", "    Prints this help."]
    for m in mentions:
        assert m in lines, (m, lines)


@pytest.mark.vaylix_only
def test_keyring_help_is_not_an_unknown_subcommand(conn):
    assert not isinstance(conn.cmd("KEYRING", "HELP"), RespError)
    assert conn.cmd("KEYRING", "NOPE") == RespError(
        "ERR unknown subcommand 'NOPE'. Try KEYRING HELP.")

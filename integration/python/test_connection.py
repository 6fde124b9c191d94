"""Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET, CLIENT *."""

from __future__ import annotations

import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from helpers import (HOST, IS_VAYLIX, RawConn, RespError, ServerProcess,
                     as_dict, raises_error)

PASSWORD = "s3cret-pw"


# --------------------------------------------------------------------------
# PING / ECHO
# --------------------------------------------------------------------------

def test_ping(r):
    assert r.ping() is True
    r.set_response_callback("PING", lambda resp, **kw: resp)
    assert r.execute_command("PING") in ("PONG", b"PONG")
    assert r.execute_command("PING", "hello world") == "hello world"


def test_ping_binary_argument(rb):
    rb.set_response_callback("PING", lambda resp, **kw: resp)
    assert rb.execute_command("PING", b"\x00\xff") == b"\x00\xff"


def test_ping_arity(r):
    with raises_error("ERR wrong number of arguments for 'ping' command"):
        r.execute_command("PING", "a", "b")


def test_echo(r, rb):
    assert r.echo("hello") == "hello"
    assert r.echo("") == ""
    assert rb.echo(b"a\x00b\xff") == b"a\x00b\xff"
    with raises_error("ERR wrong number of arguments for 'echo' command"):
        r.execute_command("ECHO")
    with raises_error("ERR wrong number of arguments for 'echo' command"):
        r.execute_command("ECHO", "a", "b")


# --------------------------------------------------------------------------
# HELLO
# --------------------------------------------------------------------------

def check_hello_reply(reply, proto, client_id):
    h = as_dict(reply)
    for field in ("server", "version", "proto", "id", "mode", "role", "modules"):
        assert field in h, f"HELLO reply lacks {field!r}: {h}"
    assert isinstance(h["server"], str) and h["server"]
    if not IS_VAYLIX:
        assert h["server"] == "redis"
    assert isinstance(h["version"], str) and h["version"].count(".") >= 1
    assert h["proto"] == proto
    assert h["id"] == client_id
    assert h["mode"] == "standalone"
    assert h["role"] == "master"
    assert list(h["modules"]) == []


def test_hello_same_protocol(r, protocol):
    cid = r.client_id()
    check_hello_reply(r.execute_command("HELLO", protocol), protocol, cid)


def test_hello_without_version_reports_current_protocol(r, protocol):
    cid = r.client_id()
    check_hello_reply(r.execute_command("HELLO"), protocol, cid)


def test_hello_setname(r, protocol):
    reply = r.execute_command("HELLO", protocol, "SETNAME", "hello-name")
    check_hello_reply(reply, protocol, r.client_id())
    assert r.client_getname() == "hello-name"


def test_hello_auth_default_user_nopass(r, protocol):
    # The default user has no password here: any password is accepted.
    reply = r.execute_command("HELLO", protocol, "AUTH", "default", "whatever")
    assert as_dict(reply)["proto"] == protocol


def test_hello_errors(r):
    with raises_error("NOPROTO unsupported protocol version"):
        r.execute_command("HELLO", 4)
    with raises_error("NOPROTO unsupported protocol version"):
        r.execute_command("HELLO", 1)
    with raises_error("ERR Protocol version is not an integer or out of range"):
        r.execute_command("HELLO", "abc")
    assert r.ping()


def test_hello_switches_protocol_raw(raw, flushed):
    c = raw()
    reply = c.cmd("HELLO", "3")
    assert isinstance(reply, dict)
    assert reply["proto"] == 3
    assert reply["role"] == b"master"
    # RESP3 null for a missing key
    c.send(RawConn.encode("GET", "no-such-key"))
    assert c.read_line() == b"_"
    reply = c.cmd("HELLO", "2")
    assert isinstance(reply, list) and len(reply) == 14
    assert as_dict(reply)[b"proto"] == 2
    c.send(RawConn.encode("GET", "no-such-key"))
    assert c.read_line() == b"$-1"


# --------------------------------------------------------------------------
# AUTH (second server with --requirepass)
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def auth_server():
    srv = ServerProcess(extra_args=["--requirepass", PASSWORD], name="auth").start()
    yield srv
    srv.stop()


def test_auth_without_password_configured(r):
    with raises_error("ERR AUTH <password> called without any password "
                      "configured for the default user. Are you sure your "
                      "configuration is correct?"):
        r.execute_command("AUTH", "nope")


def test_noauth_before_auth(auth_server, raw):
    c = raw(port=auth_server.port)
    assert c.cmd("GET", "k") == RespError("NOAUTH Authentication required.")
    assert c.cmd("SET", "k", "v") == RespError("NOAUTH Authentication required.")
    assert c.cmd("PING") == RespError("NOAUTH Authentication required.")
    # The connection stays open and usable after NOAUTH.
    assert c.cmd("AUTH", PASSWORD) == "OK"
    assert c.cmd("PING") == "PONG"


def test_auth_wrong_password(auth_server, raw):
    c = raw(port=auth_server.port)
    wrongpass = RespError("WRONGPASS invalid username-password pair or user is disabled.")
    assert c.cmd("AUTH", "wrong") == wrongpass
    assert c.cmd("AUTH", "default", "wrong") == wrongpass
    assert c.cmd("GET", "k") == RespError("NOAUTH Authentication required.")
    assert c.cmd("AUTH", "default", PASSWORD) == "OK"
    assert c.cmd("SET", "k", "v") == "OK"
    assert c.cmd("GET", "k") == b"v"
    assert c.cmd("AUTH") == RespError("ERR wrong number of arguments for 'auth' command")


def test_hello_auth_raw(auth_server, raw):
    c = raw(port=auth_server.port)
    assert c.cmd("HELLO", "3", "AUTH", "default", "wrong") == RespError(
        "WRONGPASS invalid username-password pair or user is disabled.")
    reply = c.cmd("HELLO", "3", "AUTH", "default", PASSWORD, "SETNAME", "authed")
    assert isinstance(reply, dict) and reply["proto"] == 3
    assert c.cmd("CLIENT", "GETNAME") == b"authed"


def test_auth_with_redis_py(auth_server, protocol):
    good = redis.Redis(host=HOST, port=auth_server.port, password=PASSWORD,
                       protocol=protocol, decode_responses=True, socket_timeout=10, retry=Retry(NoBackoff(), 0))
    try:
        assert good.ping()
        good.set("auth-key", "1")
        assert good.get("auth-key") == "1"
        assert good.execute_command("AUTH", PASSWORD) in (True, "OK")
    finally:
        good.close()
    bad = redis.Redis(host=HOST, port=auth_server.port, password="wrong",
                      protocol=protocol, socket_timeout=10, retry=Retry(NoBackoff(), 0))
    try:
        with pytest.raises(redis.exceptions.AuthenticationError):
            bad.ping()
    finally:
        bad.close()
    nopw = redis.Redis(host=HOST, port=auth_server.port, protocol=protocol,
                       socket_timeout=10, retry=Retry(NoBackoff(), 0))
    try:
        # RESP2: NOAUTH on the command; RESP3: redis-py's HELLO 3 is refused.
        with pytest.raises(redis.exceptions.RedisError):
            nopw.get("auth-key")
    finally:
        nopw.close()


# --------------------------------------------------------------------------
# SELECT
# --------------------------------------------------------------------------

def test_select(r):
    r.set("k", "db0")
    assert r.execute_command("SELECT", 15) in (True, "OK")
    assert r.get("k") is None
    r.set("k", "db15")
    assert r.dbsize() == 1
    assert r.execute_command("SELECT", 0) in (True, "OK")
    assert r.get("k") == "db0"


def test_select_via_client_db(make_client, r):
    r.set("k", "db0")
    c3 = make_client(db=3)
    assert c3.get("k") is None
    c3.set("k", "db3")
    assert r.get("k") == "db0"
    assert c3.client_info()["db"] in (3, "3")


def test_select_out_of_range(r):
    for bad in (16, -1, 1000):
        with raises_error("ERR DB index is out of range"):
            r.execute_command("SELECT", bad)
    with raises_error("ERR value is not an integer or out of range"):
        r.execute_command("SELECT", "abc")
    with raises_error("ERR wrong number of arguments for 'select' command"):
        r.execute_command("SELECT")
    assert r.ping()


# --------------------------------------------------------------------------
# QUIT / RESET
# --------------------------------------------------------------------------

def test_quit_raw(raw, flushed):
    c = raw()
    assert c.cmd("SET", "quit-key", "1") == "OK"
    c.send(RawConn.encode("QUIT"))
    data = c.read_until_closed()
    assert data == b"+OK\r\n"


def test_quit_redis_py(make_client, r):
    c = make_client()
    c.set("k", "v")
    assert c.execute_command("QUIT") in (True, "OK", b"OK")
    c.close()
    assert r.get("k") == "v"


def test_reset_raw(raw, flushed):
    c = raw()
    assert isinstance(c.cmd("HELLO", "3"), dict)
    assert c.cmd("SELECT", "5") == "OK"
    assert c.cmd("CLIENT", "SETNAME", "before-reset") == "OK"
    assert c.cmd("MULTI") == "OK"
    assert c.cmd("SET", "x", "1") == "QUEUED"
    assert c.cmd("RESET") == "RESET"
    # out of MULTI, name cleared, back to db 0 and RESP2
    c.send(RawConn.encode("CLIENT", "GETNAME"))
    assert c.read_line() == b"$-1"
    assert c.cmd("EXEC") == RespError("ERR EXEC without MULTI")
    info = c.cmd("CLIENT", "INFO").decode()
    assert " db=0 " in info
    assert c.cmd("EXISTS", "x") == 0


def test_reset_redis_py(make_client, protocol):
    c = make_client()
    c.flushall()
    c.execute_command("SELECT", 2)
    c.client_setname("named")
    c.set("in-db2", "1")
    assert c.execute_command("RESET") in ("RESET", b"RESET")
    # RESET also switches the connection back to RESP2.
    assert as_dict(c.execute_command("HELLO"))["proto"] == 2
    if protocol == 3:
        c.execute_command("HELLO", 3)  # redis-py's RESP3 parser needs RESP3 back
    assert c.get("in-db2") is None
    assert c.client_getname() is None
    c.close()


def test_reset_unwatches(make_client, r):
    other = make_client()
    c = RawConn(r.connection_pool.connection_kwargs["port"])
    try:
        assert c.cmd("WATCH", "w") == "OK"
        assert c.cmd("RESET") == "RESET"
        other.set("w", "changed")
        assert c.cmd("MULTI") == "OK"
        assert c.cmd("SET", "w", "mine") == "QUEUED"
        assert c.cmd("EXEC") == ["OK"]
    finally:
        c.close()


# --------------------------------------------------------------------------
# CLIENT
# --------------------------------------------------------------------------

def test_client_id(r, make_client):
    a = r.client_id()
    assert isinstance(a, int) and a > 0
    assert r.client_id() == a
    b = make_client().client_id()
    assert b != a and b > a


def test_client_setname_getname(r):
    assert r.client_getname() is None
    assert r.client_setname("my-conn") is True
    assert r.client_getname() == "my-conn"
    with raises_error("ERR Client names cannot contain spaces, newlines or "
                      "special characters."):
        r.client_setname("has space")
    assert r.client_getname() == "my-conn"
    # Empty name clears it
    assert r.execute_command("CLIENT", "SETNAME", "") in (True, "OK")
    assert r.client_getname() is None


def test_client_setinfo(r, requires_redis):
    requires_redis(7, 2)
    assert r.execute_command("CLIENT", "SETINFO", "LIB-NAME", "vaylix-it") in (True, "OK")
    assert r.execute_command("CLIENT", "SETINFO", "LIB-VER", "1.2.3") in (True, "OK")
    info = r.client_info()
    assert info["lib-name"] == "vaylix-it"
    assert info["lib-ver"] == "1.2.3"
    with pytest.raises(redis.ResponseError):
        r.execute_command("CLIENT", "SETINFO", "NO-SUCH-ATTR", "x")


def test_client_info(r):
    r.client_setname("info-me")
    info = r.client_info()
    assert int(info["id"]) == r.client_id()
    assert info["name"] == "info-me"
    assert info["addr"].startswith("127.0.0.1:")
    assert int(info["db"]) == 0
    assert info["cmd"] == "client|info"
    assert int(info["resp"]) in (2, 3)


def test_client_info_reports_protocol(r, protocol):
    assert int(r.client_info()["resp"]) == protocol


def test_client_list(r, make_client):
    r.client_setname("lister")
    other = make_client()
    other.client_setname("other-one")
    clients = r.client_list()
    by_id = {int(c["id"]): c for c in clients}
    assert r.client_id() in by_id
    assert other.client_id() in by_id
    assert by_id[r.client_id()]["name"] == "lister"
    assert by_id[other.client_id()]["name"] == "other-one"
    for c in clients:
        for field in ("id", "addr", "name", "db", "cmd", "age", "idle"):
            assert field in c, f"CLIENT LIST entry lacks {field}: {c}"


def test_client_list_id_filter(r, make_client):
    other = make_client()
    oid = other.client_id()
    only = r.client_list(client_id=[oid])
    assert [int(c["id"]) for c in only] == [oid]
    both = r.client_list(client_id=[oid, r.client_id()])
    assert sorted(int(c["id"]) for c in both) == sorted([oid, r.client_id()])


def _client_ids(r):
    return {int(c["id"]) for c in r.client_list()}


def test_client_kill_id(r, raw):
    victim = raw()
    vid = victim.cmd("CLIENT", "ID")
    assert vid in _client_ids(r)
    assert r.execute_command("CLIENT", "KILL", "ID", vid) == 1
    assert victim.is_closed()
    assert vid not in _client_ids(r)
    assert r.execute_command("CLIENT", "KILL", "ID", vid) == 0
    assert r.execute_command("CLIENT", "KILL", "ID", 987654321) == 0


def test_client_kill_addr(r, raw):
    victim = raw()
    vid = victim.cmd("CLIENT", "ID")
    host, port = victim.sock.getsockname()[:2]
    addr = f"{host}:{port}"
    assert r.execute_command("CLIENT", "KILL", "ADDR", addr) == 1
    assert victim.is_closed()
    assert vid not in _client_ids(r)
    assert r.execute_command("CLIENT", "KILL", "ADDR", addr) == 0


def test_client_kill_old_form(r, raw):
    victim = raw()
    # One round trip first: the server registers a client when it accepts the connection,
    # which can be after connect() returned on a busy machine.
    assert victim.cmd("PING") == "PONG"
    host, port = victim.sock.getsockname()[:2]
    assert r.execute_command("CLIENT", "KILL", f"{host}:{port}") in (True, "OK")
    assert victim.is_closed()
    with raises_error("ERR No such client"):
        r.execute_command("CLIENT", "KILL", f"{host}:{port}")


def test_client_kill_self_allowed_by_default(make_client, raw):
    c = raw()
    cid = c.cmd("CLIENT", "ID")
    # SKIPME yes (the default) means a client does not kill itself ...
    assert c.cmd("CLIENT", "KILL", "ID", str(cid)) == 0
    assert c.cmd("PING") == "PONG"
    # ... but SKIPME no does.
    c.send(RawConn.encode("CLIENT", "KILL", "ID", str(cid), "SKIPME", "no"))
    assert c.is_closed()


def test_client_no_evict(r):
    assert r.execute_command("CLIENT", "NO-EVICT", "on") in (True, "OK")
    assert "e" in r.client_info()["flags"]
    assert r.execute_command("CLIENT", "NO-EVICT", "off") in (True, "OK")
    assert "e" not in r.client_info()["flags"]
    with raises_error("ERR syntax error"):
        r.execute_command("CLIENT", "NO-EVICT", "maybe")


def test_client_no_touch(r, requires_redis):
    requires_redis(7, 2)
    assert r.execute_command("CLIENT", "NO-TOUCH", "on") in (True, "OK")
    assert "T" in r.client_info()["flags"]
    assert r.execute_command("CLIENT", "NO-TOUCH", "off") in (True, "OK")
    assert "T" not in r.client_info()["flags"]
    with pytest.raises(redis.ResponseError):
        r.execute_command("CLIENT", "NO-TOUCH", "maybe")


def test_client_unknown_subcommand(r):
    with raises_error("ERR unknown subcommand 'NOSUCH'. Try CLIENT HELP."):
        r.execute_command("CLIENT", "NOSUCH")
    assert r.ping()

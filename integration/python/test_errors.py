"""Generic error replies: unknown command, wrong arity; the connection stays
usable afterwards."""

from __future__ import annotations

import pytest
import redis

from helpers import RawConn, RespError, raises_error


def test_unknown_command(r):
    with raises_error("ERR unknown command 'foo', with args beginning with: 'a' "):
        r.execute_command("foo", "a")
    with raises_error("ERR unknown command 'foo', with args beginning with: 'a' 'b' "):
        r.execute_command("foo", "a", "b")
    with raises_error("ERR unknown command 'FOO', with args beginning with: "):
        r.execute_command("FOO")
    assert r.ping()
    r.set("still", "works")
    assert r.get("still") == "works"


def test_unknown_command_exact_line(raw, flushed):
    c = raw()
    c.send(RawConn.encode("foo", "a"))
    assert c.read_line() == b"-ERR unknown command 'foo', with args beginning with: 'a' "
    assert c.cmd("PING") == "PONG"


def test_unknown_command_long_args_truncated(r):
    # Redis quotes at most 128 chars of the arguments
    long_arg = "x" * 200
    with raises_error("ERR unknown command 'nosuch', with args beginning with: 'xxxx",
                      prefix=True):
        r.execute_command("nosuch", long_arg)


@pytest.mark.parametrize("args, name", [
    (("GET",), "get"),
    (("GET", "a", "b"), "get"),
    (("SET", "a"), "set"),
    (("get",), "get"),
    (("Incr",), "incr"),
    (("INCRBY", "a"), "incrby"),
    (("EXPIRE", "a"), "expire"),
    (("TTL",), "ttl"),
    (("STRLEN", "a", "b"), "strlen"),
    (("GETRANGE", "a", "0"), "getrange"),
    (("SETNX", "a"), "setnx"),
    (("ECHO",), "echo"),
    (("MGET",), "mget"),
    (("MSET", "a"), "mset"),
    (("RENAME", "a"), "rename"),
    (("TYPE",), "type"),
    (("KEYS",), "keys"),
])
def test_wrong_arity(r, args, name):
    with raises_error(f"ERR wrong number of arguments for '{name}' command"):
        r.execute_command(*args)
    assert r.ping()


def test_wrong_arity_subcommand(r):
    with raises_error("ERR wrong number of arguments for 'client|setname' command"):
        r.execute_command("CLIENT", "SETNAME")
    with raises_error("ERR wrong number of arguments for 'config|get' command"):
        r.execute_command("CONFIG", "GET")


def test_unknown_subcommand(r):
    with raises_error("ERR unknown subcommand 'FOO'. Try CONFIG HELP."):
        r.execute_command("CONFIG", "FOO")
    with raises_error("ERR unknown subcommand 'foo'. Try COMMAND HELP."):
        r.execute_command("COMMAND", "foo")


def test_error_does_not_break_pipeline(r):
    with r.pipeline(transaction=False) as pipe:
        pipe.set("a", "1")
        pipe.execute_command("NOSUCHCOMMAND")
        pipe.execute_command("GET")
        pipe.get("a")
        res = pipe.execute(raise_on_error=False)
    assert res[0] is True
    assert isinstance(res[1], redis.ResponseError)
    assert isinstance(res[2], redis.ResponseError)
    assert res[3] == "1"


def test_many_errors_then_ok(raw, flushed):
    c = raw()
    batch = b"".join(RawConn.encode("NOSUCH", str(i)) for i in range(200))
    batch += RawConn.encode("PING")
    c.send(batch)
    for i in range(200):
        reply = c.read_reply()
        assert isinstance(reply, RespError) and reply.line.startswith("ERR unknown command")
    assert c.read_reply() == "PONG"


def test_resp3_error_reply_type(raw, flushed):
    c = raw()
    c.cmd("HELLO", "3")
    c.send(RawConn.encode("GET"))
    # simple error, not a blob error
    assert c.read_line() == b"-ERR wrong number of arguments for 'get' command"

"""Lua scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT
LOAD|EXISTS|FLUSH|KILL, with Redis 7.0 semantics.

* EVAL basics: KEYS/ARGV, numkeys and arity errors, NOSCRIPT, the script
  cache (SCRIPT LOAD, EVAL caches too, upper-case sha, EXISTS, FLUSH modes).
* Lua -> RESP conversion byte for byte in RESP2 and RESP3 (integers, truncated
  floats, arrays cut at the first nil, status/error tables, booleans, and the
  RESP3 types {map=}, {set=}, {double=}, {big_number=}, {verbatim_string=});
  redis.setresp(3) for what redis.call hands to Lua and for booleans.
* RESP -> Lua: false for nil bulk, numbers, {ok=}, {err=} via redis.pcall,
  flat HGETALL arrays; RESP3 maps/sets/doubles/nil with setresp(3).
* Errors: the exact lines, with the 7.0 `script: <sha>, on @user_script:<n>.`
  suffix (scripting_helpers.script_error) where Redis adds it.
* Semantics: writes visible after, no rollback on error, MULTI/EXEC, WATCH,
  EVAL_RO and `#!lua flags=no-writes`, shebang errors, commands refused in
  scripts, TIME/random commands before writes (effects replication).
* redis-py: register_script (EVALSHA with NOSCRIPT fallback, pipelines),
  eval/evalsha/eval_ro/evalsha_ro, script_load/exists/flush.
* Busy scripts on a dedicated server (busy-reply-threshold 100 ms): -BUSY for
  other clients, SCRIPT KILL, NOTBUSY, UNKILLABLE after a write and
  SHUTDOWN NOSAVE (own server).
* vaylix only: a script's writes survive kill -9.

Not asserted: how Lua numbers outside the int64 range (1e20, 1/0, 0/0)
become integers (C-cast, platform dependent), NaN text. The sandbox and the
Lua libraries are in test_scripting_sandbox.py, FUNCTION / FCALL in
test_functions.py. Everything was checked against redis-server 7.0.15.
"""

from __future__ import annotations

import pytest
import redis

from helpers import RawConn, RespError, as_dict, raises_error
from scripting_helpers import (BUSY_SCRIPT, KILLED, NOSCRIPT, NOT_ALLOWED, NOT_INT, NOTBUSY,
                               NUMKEYS_GREATER, NUMKEYS_NEGATIVE, READ_WAIT, RO_WRITE, UNKILLABLE,
                               WRITE_FLAG_RO, WRONGTYPE, Spinner, arity, ev, script_error, sha1,
                               wait_busy)
from scripting_helpers import busy, busy_server, own_server  # noqa: F401  (fixtures)
from zset_helpers import raw_cmd


# --------------------------------------------------------------------------
# EVAL basics and the script cache
# --------------------------------------------------------------------------

def test_eval_keys_and_argv(r):
    assert r.eval("return {KEYS[1], ARGV[1]}", 1, "k", "a") == ["k", "a"]
    assert r.eval("return {#KEYS, #ARGV}", 2, "a", "b", "c") == [2, 1]
    assert r.eval("return KEYS", 2, "a", "b", "c") == ["a", "b"]
    assert r.eval("return ARGV", 1, "a", "b", "c") == ["b", "c"]
    assert r.eval("return KEYS[3]", 2, "a", "b", "c") is None
    assert r.eval("return tostring(ARGV[2])", 0, "1") == "nil"
    # KEYS and ARGV are plain tables the script may change
    assert r.eval("KEYS[1] = 'z'; return KEYS[1]", 1, "a") == "z"


def test_eval_binary_arguments_and_results(rb):
    payload = bytes(range(256))
    assert rb.eval("return ARGV[1]", 0, payload) == payload
    assert rb.eval("return #ARGV[1]", 0, b"bin\x00x") == 5
    assert rb.eval("return redis.call('ECHO', ARGV[1])", 0, b"a\x00b") == b"a\x00b"
    assert rb.eval("return ''", 0) == b""


@pytest.mark.parametrize("command", ["EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO"])
def test_numkeys_errors(rc, command):
    body = "f" * 40 if "SHA" in command else "return 1"
    assert rc.cmd(command, body, 2, "k") == RespError(NUMKEYS_GREATER)
    assert rc.cmd(command, body, -1) == RespError(NUMKEYS_NEGATIVE)
    assert rc.cmd(command, body, "x") == RespError(NOT_INT)
    assert rc.cmd(command, body, "1.5", "k") == RespError(NOT_INT)


@pytest.mark.parametrize("args", [
    ("EVAL",), ("EVAL", "return 1"), ("EVALSHA",), ("EVALSHA", "f" * 40),
    ("EVAL_RO", "return 1"), ("EVALSHA_RO", "x"), ("SCRIPT",),
    ("SCRIPT", "EXISTS"), ("SCRIPT", "LOAD"), ("SCRIPT", "LOAD", "a", "b"),
    ("SCRIPT", "KILL", "x"),
], ids=lambda a: " ".join(a)[:24])
def test_wrong_arity(rc, args):
    name = args[0].lower()
    if len(args) > 1 and name == "script":
        name = f"script|{args[1].lower()}"
    assert rc.cmd(*args) == RespError(arity(name))


def test_script_unknown_subcommand_and_help(rc):
    assert rc.cmd("SCRIPT", "FOO") == RespError("ERR unknown subcommand 'FOO'. Try SCRIPT HELP.")
    lines = rc.cmd("SCRIPT", "HELP")
    assert lines[0] == "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert lines[-2:] == ["HELP", "    Prints this help."]
    for entry in ["EXISTS <sha1> [<sha1> ...]", "FLUSH [ASYNC|SYNC]", "KILL", "LOAD <script>"]:
        assert entry in lines


@pytest.mark.parametrize("sha", ["f" * 40, "abc", "", "f" * 42])
def test_evalsha_unknown_is_noscript(rc, sha):
    assert rc.cmd("EVALSHA", sha, 0) == RespError(NOSCRIPT)
    assert rc.cmd("EVALSHA_RO", sha, 0) == RespError(NOSCRIPT)


def test_script_load_returns_sha1_and_evalsha_runs_it(rc):
    body = "return {'loaded', KEYS[1], ARGV[1]}"
    assert rc.cmd("SCRIPT", "LOAD", body) == sha1(body).encode()
    assert rc.cmd("EVALSHA", sha1(body), 1, "k", "v") == [b"loaded", b"k", b"v"]
    assert rc.cmd("EVALSHA_RO", sha1(body), 1, "k", "v") == [b"loaded", b"k", b"v"]
    # the sha is case-insensitive
    assert rc.cmd("EVALSHA", sha1(body).upper(), 1, "k", "v") == [b"loaded", b"k", b"v"]
    assert rc.cmd("SCRIPT", "EXISTS", sha1(body).upper()) == [1]
    # loading again is fine and returns the same sha; the empty script has one too
    assert rc.cmd("SCRIPT", "LOAD", body) == sha1(body).encode()
    assert rc.cmd("SCRIPT", "LOAD", "") == b"da39a3ee5e6b4b0d3255bfef95601890afd80709"
    assert ev(rc, "") is None


def test_script_load_compiles_without_running(rc):
    assert rc.cmd("SCRIPT", "LOAD", "redis.call('SET', 'loaded', '1')") == sha1(
        "redis.call('SET', 'loaded', '1')").encode()
    assert rc.cmd("EXISTS", "loaded") == 0
    assert rc.cmd("SCRIPT", "LOAD", "return +") == RespError(
        "ERR Error compiling script (new function): user_script:1: unexpected symbol near '+'")
    assert rc.cmd("SCRIPT", "EXISTS", sha1("return +")) == [0]
    assert rc.cmd("SCRIPT", "LOAD", "#!lua flags=bogus\nreturn 1") == RespError(
        "ERR Unexpected flag in script shebang: bogus")


def test_eval_caches_the_script(rc):
    body = "return 'cached by eval'"
    assert rc.cmd("SCRIPT", "FLUSH") == "OK"
    assert rc.cmd("SCRIPT", "EXISTS", sha1(body)) == [0]
    assert ev(rc, body) == b"cached by eval"
    assert rc.cmd("SCRIPT", "EXISTS", sha1(body)) == [1]
    assert rc.cmd("EVALSHA", sha1(body), 0) == b"cached by eval"
    # a script that fails at run time is cached as well; one that does not compile is not
    assert isinstance(ev(rc, "error('x')"), RespError)
    assert ev(rc, "return +") == RespError(
        "ERR Error compiling script (new function): user_script:1: unexpected symbol near '+'")
    assert rc.cmd("SCRIPT", "EXISTS", sha1("error('x')"), sha1("return +")) == [1, 0]


def test_script_exists_multiple(rc):
    a, b = "return 'a'", "return 'b'"
    rc.cmd("SCRIPT", "LOAD", a)
    rc.cmd("SCRIPT", "LOAD", b)
    assert rc.cmd("SCRIPT", "EXISTS", sha1(a), "f" * 40, sha1(b), "nothex", "") == [1, 0, 1, 0, 0]


@pytest.mark.parametrize("mode", [[], ["ASYNC"], ["SYNC"], ["async"], ["sync"]],
                         ids=lambda m: " ".join(m) or "default")
def test_script_flush(rc, mode):
    body = "return 'flush %s'" % " ".join(mode)
    sha = rc.cmd("SCRIPT", "LOAD", body).decode()
    assert rc.cmd("SCRIPT", "FLUSH", *mode) == "OK"
    assert rc.cmd("SCRIPT", "EXISTS", sha) == [0]
    assert rc.cmd("EVALSHA", sha, 0) == RespError(NOSCRIPT)


def test_script_flush_errors(rc):
    err = RespError("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    assert rc.cmd("SCRIPT", "FLUSH", "BAD") == err
    assert rc.cmd("SCRIPT", "FLUSH", "ASYNC", "SYNC") == err


def test_flushall_and_flushdb_keep_the_script_cache(rc):
    sha = rc.cmd("SCRIPT", "LOAD", "return 'survives'").decode()
    assert rc.cmd("FLUSHALL") == "OK"
    assert rc.cmd("FLUSHDB") == "OK"
    assert rc.cmd("EVALSHA", sha, 0) == b"survives"


def test_script_kill_without_a_script_is_notbusy(rc):
    assert rc.cmd("SCRIPT", "KILL") == RespError(NOTBUSY)


# --------------------------------------------------------------------------
# Lua -> RESP conversion (exact bytes; RESP3 column None = same as RESP2)
# --------------------------------------------------------------------------

LUA_TO_RESP = [
    ("integer", "return 42", b":42\r\n", None),
    ("float-truncated", "return 3.99", b":3\r\n", None),
    ("negative-float-truncated", "return -3.99", b":-3\r\n", None),
    ("small-negative-float", "return -0.5", b":0\r\n", None),
    ("power", "return 2^31", b":2147483648\r\n", None),
    ("beyond-2^53", "return 9007199254740993", b":9007199254740992\r\n", None),
    ("string", "return 'str'", b"$3\r\nstr\r\n", None),
    ("empty-string", "return ''", b"$0\r\n\r\n", None),
    ("array", "return {1, 'two'}", b"*2\r\n:1\r\n$3\r\ntwo\r\n", None),
    ("array-stops-at-first-nil", "return {1, 2, nil, 4}", b"*2\r\n:1\r\n:2\r\n", None),
    ("array-leading-nil", "return {nil, 1}", b"*0\r\n", None),
    ("array-with-hole", "local t = {}; t[1]=1; t[2]=2; t[4]=4; return t",
     b"*2\r\n:1\r\n:2\r\n", None),
    ("nested", "return {1, {2, {3, 'x'}}, 'y'}",
     b"*3\r\n:1\r\n*2\r\n:2\r\n*2\r\n:3\r\n$1\r\nx\r\n$1\r\ny\r\n", None),
    ("floats-in-array", "return {1.5, 2.5}", b"*2\r\n:1\r\n:2\r\n", None),
    ("empty-table", "return {}", b"*0\r\n", None),
    ("hash-part-ignored", "return {a=1}", b"*0\r\n", None),
    ("mixed-table", "return {1, 2, 3, a='x'}", b"*3\r\n:1\r\n:2\r\n:3\r\n", None),
    ("status-table", "return {ok='FOO'}", b"+FOO\r\n", None),
    ("error-table", "return {err='My Error'}", b"-My Error\r\n", None),
    ("error-table-one-word", "return {err='X'}", b"-X\r\n", None),
    ("error-table-empty", "return {err=''}", b"-\r\n", None),
    ("err-wins-over-ok", "return {ok='x', err='y'}", b"-y\r\n", None),
    ("ok-not-a-string", "return {ok=5}", b"*0\r\n", None),
    ("err-not-a-string", "return {err=5}", b"*0\r\n", None),
    ("status-newlines-become-spaces", "return {ok='a\\r\\nb'}", b"+a  b\r\n", None),
    ("error-newlines-become-spaces", "return {err='a\\r\\nb'}", b"-a  b\r\n", None),
    ("status_reply", "return redis.status_reply('FINE')", b"+FINE\r\n", None),
    ("status_reply-empty", "return redis.status_reply('')", b"+\r\n", None),
    # error_reply: "-CODE msg" keeps CODE; a single word gets "ERR " in front
    ("error_reply-two-words", "return redis.error_reply('My Error')", b"-My Error\r\n", None),
    ("error_reply-one-word", "return redis.error_reply('X')", b"-ERR X\r\n", None),
    ("error_reply-leading-dash", "return redis.error_reply('-ERR x')", b"-ERR x\r\n", None),
    ("error_reply-code", "return redis.error_reply('MYCODE some text')",
     b"-MYCODE some text\r\n", None),
    ("error_reply-empty", "return redis.error_reply('')", b"-ERR \r\n", None),
    ("error_reply-newline", "return redis.error_reply('x\\ny')", b"-ERR x y\r\n", None),
    ("error_reply-no-argument", "return redis.error_reply()",
     b"-ERR wrong number or type of arguments\r\n", None),
    ("error_reply-not-a-string", "return redis.error_reply(5)",
     b"-ERR wrong number or type of arguments\r\n", None),
    ("status_reply-no-argument", "return redis.status_reply()",
     b"-ERR wrong number or type of arguments\r\n", None),
    ("errors-inside-array", "return {1, {err='inner'}, {ok='fine'}, 3}",
     b"*4\r\n:1\r\n-inner\r\n+fine\r\n:3\r\n", None),
    ("pcall-error-inside-array", "return {1, redis.pcall('NOSUCH'), 3}",
     b"*3\r\n:1\r\n-ERR Unknown Redis command called from script\r\n:3\r\n", None),
    ("true", "return true", b":1\r\n", None),
    ("false", "return false", b"$-1\r\n", b"_\r\n"),
    ("nil", "return nil", b"$-1\r\n", b"_\r\n"),
    ("bare-return", "return", b"$-1\r\n", b"_\r\n"),
    ("no-return", "local x = 1", b"$-1\r\n", b"_\r\n"),
    ("only-first-of-several-values", "return 1, 2", b":1\r\n", None),
    ("booleans-in-array", "return {true, false, 1}",
     b"*3\r\n:1\r\n$-1\r\n:1\r\n", b"*3\r\n:1\r\n_\r\n:1\r\n"),
    # RESP3 types are available without redis.setresp(3) and degrade in RESP2
    ("double", "return {double=3.5}", b"$3\r\n3.5\r\n", b",3.5\r\n"),
    ("double-17g", "return {double=0.1}",
     b"$19\r\n0.10000000000000001\r\n", b",0.10000000000000001\r\n"),
    ("double-integral", "return {double=3}", b"$1\r\n3\r\n", b",3\r\n"),
    ("double-exponent", "return {double=1e300}",
     b"$23\r\n1.0000000000000001e+300\r\n", b",1.0000000000000001e+300\r\n"),
    ("double-inf", "return {double=1/0}", b"$3\r\ninf\r\n", b",inf\r\n"),
    ("double-minus-inf", "return {double=-1/0}", b"$4\r\n-inf\r\n", b",-inf\r\n"),
    ("double-not-a-number", "return {double='abc'}", b"*0\r\n", None),
    ("map", "return {map={a=1}}", b"*2\r\n$1\r\na\r\n:1\r\n", b"%1\r\n$1\r\na\r\n:1\r\n"),
    ("map-empty", "return {map={}}", b"*0\r\n", b"%0\r\n"),
    ("map-integer-key", "return {map={[1]='x'}}",
     b"*2\r\n:1\r\n$1\r\nx\r\n", b"%1\r\n:1\r\n$1\r\nx\r\n"),
    ("map-false-value", "return {map={a=false}}",
     b"*2\r\n$1\r\na\r\n$-1\r\n", b"%1\r\n$1\r\na\r\n_\r\n"),
    ("map-nested-hash-table", "return {map={a={b=1}}}",
     b"*2\r\n$1\r\na\r\n*0\r\n", b"%1\r\n$1\r\na\r\n*0\r\n"),
    ("map-double-value", "return {map={a={double=2.5}}}",
     b"*2\r\n$1\r\na\r\n$3\r\n2.5\r\n", b"%1\r\n$1\r\na\r\n,2.5\r\n"),
    ("set", "return {set={a=true}}", b"*1\r\n$1\r\na\r\n", b"~1\r\n$1\r\na\r\n"),
    ("set-value-ignored", "return {set={a=false}}", b"*1\r\n$1\r\na\r\n", b"~1\r\n$1\r\na\r\n"),
    ("set-empty", "return {set={}}", b"*0\r\n", b"~0\r\n"),
    ("big_number", "return {big_number='123456789012345678901234567890'}",
     b"$30\r\n123456789012345678901234567890\r\n", b"(123456789012345678901234567890\r\n"),
    ("verbatim_string", "return {verbatim_string={format='txt', string='hello'}}",
     b"$5\r\nhello\r\n", b"=9\r\ntxt:hello\r\n"),
    # setresp(3) changes how booleans are sent back: RESP3 booleans, 1/0 in RESP2
    ("setresp3-true", "redis.setresp(3); return true", b":1\r\n", b"#t\r\n"),
    ("setresp3-false", "redis.setresp(3); return false", b":0\r\n", b"#f\r\n"),
    ("setresp3-nil", "redis.setresp(3); return nil", b"$-1\r\n", b"_\r\n"),
    ("setresp3-mixed", "redis.setresp(3); return {1, {double=1.25}, {map={x='y'}}, true, false}",
     b"*5\r\n:1\r\n$4\r\n1.25\r\n*2\r\n$1\r\nx\r\n$1\r\ny\r\n:1\r\n:0\r\n",
     b"*5\r\n:1\r\n,1.25\r\n%1\r\n$1\r\nx\r\n$1\r\ny\r\n#t\r\n#f\r\n"),
    ("setresp2", "redis.setresp(2); return false", b"$-1\r\n", b"_\r\n"),
]


@pytest.mark.parametrize("body, resp2, resp3", [c[1:] for c in LUA_TO_RESP],
                         ids=[c[0] for c in LUA_TO_RESP])
def test_lua_to_resp(rc, protocol, body, resp2, resp3):
    expected = resp3 if protocol == 3 and resp3 is not None else resp2
    assert raw_cmd(rc, "EVAL", body, 0) == expected


def test_redis_call_replies_pass_through(rc, protocol):
    rc.cmd("SET", "k", "v")
    assert raw_cmd(rc, "EVAL", "return redis.call('SET', KEYS[1], 'v')", 1, "k") == b"+OK\r\n"
    assert raw_cmd(rc, "EVAL", "return redis.call('PING')", 0) == b"+PONG\r\n"
    assert raw_cmd(rc, "EVAL", "return redis.call('GET', 'k')", 0) == b"$1\r\nv\r\n"
    assert raw_cmd(rc, "EVAL", "return redis.call('GET', 'missing')", 0) == (
        b"_\r\n" if protocol == 3 else b"$-1\r\n")
    assert raw_cmd(rc, "EVAL", "return redis.pcall('INCR', 'k')", 0) == (
        b"-ERR value is not an integer or out of range\r\n")


def test_resp3_client_gets_flat_arrays_unless_script_uses_setresp3(rc, protocol):
    """Without redis.setresp(3) Lua sees RESP2 replies, so even a RESP3 client
    gets HGETALL as a flat array and ZSCORE as a bulk string."""
    rc.cmd("HSET", "h", "f", "v")
    rc.cmd("ZADD", "z", "1.5", "m")
    assert raw_cmd(rc, "EVAL", "return redis.call('HGETALL', KEYS[1])", 1, "h") == (
        b"*2\r\n$1\r\nf\r\n$1\r\nv\r\n")
    assert raw_cmd(rc, "EVAL", "return redis.call('ZSCORE', KEYS[1], 'm')", 1, "z") == (
        b"$3\r\n1.5\r\n")
    # with setresp(3) the RESP3 types come back: map/double for RESP3 clients
    got = raw_cmd(rc, "EVAL", "redis.setresp(3); return redis.call('HGETALL', KEYS[1])", 1, "h")
    assert got == (b"%1\r\n" if protocol == 3 else b"*2\r\n") + b"$1\r\nf\r\n$1\r\nv\r\n"
    got = raw_cmd(rc, "EVAL", "redis.setresp(3); return redis.call('ZSCORE', KEYS[1], 'm')",
                  1, "z")
    assert got == (b",1.5\r\n" if protocol == 3 else b"$3\r\n1.5\r\n")
    got = raw_cmd(rc, "EVAL", "redis.setresp(3); return redis.call('SMEMBERS', KEYS[1])",
                  1, "nosuch")
    assert got == (b"~0\r\n" if protocol == 3 else b"*0\r\n")


def test_setresp3_map_and_set_roundtrip(rc, protocol):
    """Maps and sets go through Lua tables: the order is not kept, the content is."""
    rc.cmd("HSET", "h", "f", "v", "g", "w", "e", "x")
    rc.cmd("SADD", "s", "a", "b", "c")
    got = rc.cmd("EVAL", "redis.setresp(3); return redis.call('HGETALL', KEYS[1])", 1, "h")
    if protocol == 3:
        assert got == {"f": b"v", "g": b"w", "e": b"x"}
    else:
        assert isinstance(got, list) and as_dict(got) == {b"f": b"v", b"g": b"w", b"e": b"x"}
    got = rc.cmd("EVAL", "redis.setresp(3); return redis.call('SMEMBERS', KEYS[1])", 1, "s")
    if protocol == 3:
        assert got == {"a", "b", "c"}
    else:
        assert isinstance(got, list) and sorted(got) == [b"a", b"b", b"c"]


def test_setresp_errors(rc):
    body = "redis.setresp(4); return 1"
    assert ev(rc, body) == RespError(script_error("ERR RESP version must be 2 or 3.", body))
    body = "redis.setresp(); return 1"
    assert ev(rc, body) == RespError(
        script_error("ERR redis.setresp() requires one argument.", body))


# --------------------------------------------------------------------------
# RESP -> Lua
# --------------------------------------------------------------------------

@pytest.mark.parametrize("body, expected", [
    ("local r = redis.call('GET', 'missing'); return type(r)..':'..tostring(r)", "boolean:false"),
    ("return type(redis.call('INCR', 'n'))", "number"),
    ("return type(redis.call('SET', 'k', 'v'))", "table"),
    ("return redis.call('SET', 'k', 'v').ok", "OK"),
    ("return redis.call('PING').ok", "PONG"),
    ("redis.call('SET', 'k', 'v'); local e = redis.pcall('INCR', 'k'); return type(e)..':'..e.err",
     "table:ERR value is not an integer or out of range"),
    ("local e = redis.pcall('NOSUCH'); return e.err",
     "ERR Unknown Redis command called from script"),
    ("local e = redis.pcall('GET'); return e.err",
     "ERR Wrong number of args calling Redis command from script"),
    ("local e = redis.error_reply('X'); return type(e)..':'..e.err", "table:ERR X"),
    ("local e = redis.error_reply('-X'); return e.err", "ERR X"),
    ("local e = redis.error_reply('MY thing'); return e.err", "MY thing"),
    ("local e = redis.status_reply('X'); return type(e)..':'..e.ok", "table:X"),
    ("redis.call('HSET', 'h', 'f', 'v', 'g', 'w'); local r = redis.call('HGETALL', 'h');"
     " return type(r)..':'..#r", "table:4"),
    ("redis.call('SET', 'k', 'v'); local r = redis.call('MGET', 'k', 'missing');"
     " return type(r[1])..':'..type(r[2])..':'..#r", "string:boolean:2"),
    ("return type(redis.call('LRANGE', 'nolist', 0, -1))..#redis.call('LRANGE', 'nolist', 0, -1)",
     "table0"),
    ("redis.call('ZADD', 'z', '1.5', 'm'); return type(redis.call('ZSCORE', 'z', 'm'))", "string"),
    ("return type(redis.call('EXISTS', 'nope'))", "number"),
    # RESP3 replies in Lua after redis.setresp(3)
    ("redis.setresp(3); local r = redis.call('GET', 'missing'); return type(r)", "nil"),
    ("redis.setresp(3); redis.call('HSET', 'h', 'f', 'v'); local r = redis.call('HGETALL', 'h');"
     " return type(r.map)..':'..r.map.f", "table:v"),
    ("redis.setresp(3); redis.call('SADD', 's', 'a'); local r = redis.call('SMEMBERS', 's');"
     " return type(r.set)..':'..tostring(r.set.a)", "table:true"),
    ("redis.setresp(3); redis.call('ZADD', 'z', '1.5', 'm');"
     " local r = redis.call('ZSCORE', 'z', 'm');"
     " return type(r.double)..':'..tostring(r.double)", "number:1.5"),
    ("redis.setresp(3); local r = redis.call('HGETALL', 'nosuch'); return type(r.map)", "table"),
    ("redis.setresp(3); return type(redis.call('SET', 'k', 'v').ok)", "string"),
    ("redis.setresp(3); return type(redis.call('INCR', 'n'))", "number"),
], ids=lambda v: v[:40] if isinstance(v, str) else None)
def test_resp_to_lua(r, body, expected):
    assert r.eval(body, 0) == expected


def test_resp3_null_in_lua_array_truncates_it(rc):
    body = "redis.setresp(3); return {redis.call('GET', 'nosuch'), 5}"
    assert ev(rc, body) == []


@pytest.mark.parametrize("value, stored", [
    ("10", b"10"), ("3.5", b"3.5"), ("0.1", b"0.10000000000000001"), ("-2.5", b"-2.5"),
    ("1e20", b"1e+20"), ("'text'", b"text"),
])
def test_redis_call_number_arguments_become_strings(rc, value, stored):
    """Lua numbers passed to redis.call are formatted with %.17g."""
    assert ev(rc, f"redis.call('SET', 'k', {value}); return redis.call('GET', 'k')") == stored


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------

SCRIPT_ERRORS = [
    ("unknown-command", "return redis.call('NOSUCH', 'k')",
     "ERR Unknown Redis command called from script", 1),
    ("command-not-a-string", "return redis.call(1)",
     "ERR Unknown Redis command called from script", 1),
    ("wrong-arity", "return redis.call('GET')",
     "ERR Wrong number of args calling Redis command from script", 1),
    ("no-arguments", "return redis.call()",
     "ERR Please specify at least one argument for this redis lib call", 1),
    ("table-argument", "return redis.call('GET', {})",
     "ERR Lua redis lib command arguments must be strings or integers", 1),
    ("nil-argument", "return redis.call('GET', nil)",
     "ERR Lua redis lib command arguments must be strings or integers", 1),
    ("boolean-argument", "return redis.call('ECHO', true)",
     "ERR Lua redis lib command arguments must be strings or integers", 1),
    ("wrongtype", "redis.call('SET', 'k', 'v'); return redis.call('LPUSH', 'k', 'x')",
     WRONGTYPE, 1),
    ("not-an-integer", "redis.call('SET', 'k', 'v'); return redis.call('INCR', 'k')", NOT_INT, 1),
    ("nonexistent-global", "return nil_func()",
     "ERR user_script:1: Script attempted to access nonexistent global variable 'nil_func'", 1),
    ("index-nil", "local t = nil; return t.x",
     "ERR user_script:1: attempt to index local 't' (a nil value)", 1),
    ("error-string", "error('boom')", "ERR user_script:1: boom", 1),
    ("error-level-0", "error('boom', 0)", "ERR boom", 1),
    ("error-nil", "error()", "ERR nil", 1),
    ("error-table", "error({err='ERR custom'})", "ERR custom", 1),
    ("error-table-no-code", "error({err='custom'})", "custom", 1),
    ("error-error_reply", "error(redis.error_reply('X'))", "ERR X", 1),
    ("error-error_reply-code", "error(redis.error_reply('MY thing'))", "MY thing", 1),
    ("error-on-line-2", "local x = 1\nerror('two')", "ERR user_script:2: two", 2),
    ("call-on-line-3", "local x = 1\n\nreturn redis.call('NOSUCH')",
     "ERR Unknown Redis command called from script", 3),
    ("cjson-decode", "return cjson.decode('[1,2')",
     "ERR user_script:1: Expected comma or array end but found T_END at character 5", 1),
    ("cjson-encode-function", "return cjson.encode(function() end)",
     "ERR user_script:1: Cannot serialise function: type not supported", 1),
    ("sha1hex-no-argument", "return redis.sha1hex()", "ERR wrong number of arguments", 1),
    ("log-one-argument", "return redis.log(redis.LOG_WARNING)",
     "ERR redis.log() requires two arguments or more.", 1),
    ("log-bad-level", "return redis.log(99, 'x')", "ERR Invalid debug level.", 1),
    ("set_repl-bad-flags", "return redis.set_repl(99)",
     "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.", 1),
    ("set_repl-no-argument", "return redis.set_repl()",
     "ERR redis.set_repl() requires two arguments.", 1),
]


@pytest.mark.parametrize("body, message, line", [c[1:] for c in SCRIPT_ERRORS],
                         ids=[c[0] for c in SCRIPT_ERRORS])
def test_script_error_lines(rc, body, message, line):
    assert ev(rc, body) == RespError(script_error(message, body, line))


@pytest.mark.parametrize("body, expected", [
    ("return redis.pcall('NOSUCH', 'k')", "ERR Unknown Redis command called from script"),
    ("return redis.pcall('GET')", "ERR Wrong number of args calling Redis command from script"),
    ("return redis.pcall()", "ERR Please specify at least one argument for this redis lib call"),
    ("redis.call('SET', 'k', 'v'); return redis.pcall('LPUSH', 'k', 'x')", WRONGTYPE),
    ("return redis.pcall('MULTI')", NOT_ALLOWED),
])
def test_pcall_errors_have_no_suffix(rc, body, expected):
    assert ev(rc, body) == RespError(expected)


@pytest.mark.parametrize("body, expected", [
    ("return 'unterminated", "user_script:1: unfinished string near '<eof>'"),
    ("return +", "user_script:1: unexpected symbol near '+'"),
    ("local x = 1\nreturn +", "user_script:2: unexpected symbol near '+'"),
    (" #!lua\nreturn 1", "user_script:1: unexpected symbol near '#'"),
])
def test_syntax_errors(rc, body, expected):
    assert ev(rc, body) == RespError(f"ERR Error compiling script (new function): {expected}")


def test_lua_pcall_catches_errors_as_strings(r):
    """Redis 7.0's pcall hands the caught error over as a string (the err field
    of an error table), whatever was raised."""
    r.set("k", "v")
    assert r.eval("local ok, e = pcall(redis.call, 'NOSUCH'); return {tostring(ok), type(e), e}",
                  0) == ["false", "string", "ERR Unknown Redis command called from script"]
    assert r.eval("local ok, e = pcall(redis.call, 'INCR', 'k'); return {type(e), e}", 0) == [
        "string", "ERR value is not an integer or out of range"]
    assert r.eval("local ok, e = pcall(error, {err='X y'}); return {type(e), e}", 0) == [
        "string", "X y"]
    assert r.eval("local ok, e = pcall(function() error('x') end); return e", 0) == (
        "user_script:1: x")
    assert r.eval("local ok, v = pcall(function() return 7 end); return {tostring(ok), v}",
                  0) == ["true", 7]


def test_error_reply_through_redis_py(r):
    with raises_error("My Error"):
        r.eval("return redis.error_reply('My Error')", 0)
    with raises_error("My Error"):
        r.eval("return {err='My Error'}", 0)
    with raises_error("ERR X"):
        r.eval("return redis.error_reply('X')", 0)
    with raises_error(script_error(WRONGTYPE, "redis.call('SET', 'k', 'v'); "
                                              "return redis.call('LPUSH', 'k', 'x')")):
        r.eval("redis.call('SET', 'k', 'v'); return redis.call('LPUSH', 'k', 'x')", 0)
    with raises_error(NOSCRIPT, exc_type=redis.exceptions.NoScriptError):
        r.evalsha("f" * 40, 0)
    # the connection stays usable
    assert r.eval("return 1", 0) == 1


# --------------------------------------------------------------------------
# Atomicity and semantics
# --------------------------------------------------------------------------

def test_script_writes_are_visible_after(r):
    assert r.eval("redis.call('SET', KEYS[1], ARGV[1]); redis.call('RPUSH', KEYS[2], ARGV[1]);"
                  " return redis.call('INCRBY', KEYS[3], 5)", 3, "s", "l", "n", "v") == 5
    assert r.get("s") == "v" and r.lrange("l", 0, -1) == ["v"] and r.get("n") == "5"


def test_error_after_write_keeps_the_write(rc):
    body = "redis.call('SET', KEYS[1], 'written'); return redis.call('INCR', KEYS[1])"
    assert ev(rc, body, "pk", numkeys=1) == RespError(script_error(NOT_INT, body))
    assert rc.cmd("GET", "pk") == b"written"
    body = "redis.call('SET', KEYS[1], 'w2'); error('after')"
    assert ev(rc, body, "pk2", numkeys=1) == RespError(
        script_error("ERR user_script:1: after", body))
    assert rc.cmd("GET", "pk2") == b"w2"


def test_scripts_inside_multi_exec(rc):
    assert rc.cmd("MULTI") == "OK"
    assert rc.cmd("SET", "m", "1") == "QUEUED"
    assert ev(rc, "return redis.call('INCR', KEYS[1])", "m", numkeys=1) == "QUEUED"
    assert ev(rc, "return redis.call('INCR', KEYS[1]) + 10", "m", numkeys=1) == "QUEUED"
    assert ev(rc, "return redis.call('NOSUCH')") == "QUEUED"
    assert rc.cmd("EVALSHA", "f" * 40, 0) == "QUEUED"
    assert rc.cmd("EXEC") == [
        "OK", 2, 13, RespError(script_error("ERR Unknown Redis command called from script",
                                            "return redis.call('NOSUCH')")),
        RespError(NOSCRIPT)]
    # SCRIPT LOAD queued before an EVALSHA of the same script
    body = "return 'inmulti'"
    rc.cmd("SCRIPT", "FLUSH")
    assert rc.cmd("MULTI") == "OK"
    assert rc.cmd("SCRIPT", "LOAD", body) == "QUEUED"
    assert rc.cmd("EVALSHA", sha1(body), 0) == "QUEUED"
    assert rc.cmd("EXEC") == [sha1(body).encode(), b"inmulti"]


def test_eval_arity_error_inside_multi_aborts(rc):
    assert rc.cmd("MULTI") == "OK"
    assert rc.cmd("EVAL", "return 1") == RespError(arity("eval"))
    assert rc.cmd("EXEC") == RespError(
        "EXECABORT Transaction discarded because of previous errors.")


def test_eval_ro_inside_multi(rc):
    assert rc.cmd("MULTI") == "OK"
    assert rc.cmd("EVAL_RO", "return redis.call('SET', 'x', 1)", 0) == "QUEUED"
    assert rc.cmd("EXEC") == [RespError(script_error(RO_WRITE, "return redis.call('SET', 'x', 1)"))]


def test_script_write_invalidates_watch(r, make_client):
    other = make_client()
    r.set("w", "1")
    assert r.execute_command("WATCH", "w") in (True, "OK")
    other.eval("redis.call('SET', KEYS[1], 'by script')", 1, "w")
    r.execute_command("MULTI")
    r.execute_command("ECHO", "ran")
    assert r.execute_command("EXEC") is None
    # a script that only reads does not
    assert r.execute_command("WATCH", "w") in (True, "OK")
    other.eval("return redis.call('GET', KEYS[1])", 1, "w")
    r.execute_command("MULTI")
    r.execute_command("ECHO", "ran")
    assert r.execute_command("EXEC") == ["ran"]


def test_scripts_in_a_watched_pipeline(r):
    with r.pipeline() as pipe:
        pipe.watch("c")
        pipe.multi()
        pipe.eval("return redis.call('INCR', KEYS[1])", 1, "c")
        pipe.eval("return redis.call('INCR', KEYS[1])", 1, "c")
        assert pipe.execute() == [1, 2]


def test_eval_ro_refuses_writes(rc):
    rc.cmd("SET", "k", "v")
    body = "return redis.call('SET', 'k', 'v2')"
    assert rc.cmd("EVAL_RO", body, 1, "k") == RespError(script_error(RO_WRITE, body))
    assert rc.cmd("EVAL_RO", "return redis.pcall('SET', 'k', 'v2')", 1, "k") == RespError(RO_WRITE)
    assert rc.cmd("EVAL_RO", "return redis.call('GET', KEYS[1])", 1, "k") == b"v"
    body = "return redis.call('PUBLISH', 'c', 'm')"  # PUBLISH counts as a write here
    assert rc.cmd("EVAL_RO", body, 0) == RespError(script_error(RO_WRITE, body))
    assert rc.cmd("EVAL_RO", "return #redis.call('TIME')", 0) == 2
    sha = rc.cmd("SCRIPT", "LOAD", "return redis.call('SET', KEYS[1], 'v3')").decode()
    assert rc.cmd("EVALSHA_RO", sha, 1, "k") == RespError(
        script_error(RO_WRITE, "return redis.call('SET', KEYS[1], 'v3')"))
    assert rc.cmd("GET", "k") == b"v"


def test_shebang_no_writes_refuses_writes(rc):
    rc.cmd("SET", "k", "v")
    body = "#!lua flags=no-writes\nreturn redis.call('SET', 'k', 'v2')"
    assert ev(rc, body, "k", numkeys=1) == RespError(script_error(RO_WRITE, body, 2))
    body = "#!lua flags=no-writes\nreturn redis.call('EXPIRE', 'k', 10)"
    assert ev(rc, body) == RespError(script_error(RO_WRITE, body, 2))
    assert ev(rc, "#!lua flags=no-writes\nreturn redis.call('GET', 'k')", "k", numkeys=1) == b"v"
    assert rc.cmd("EVAL_RO", "#!lua flags=no-writes\nreturn redis.call('GET', 'k')", 0) == b"v"
    assert rc.cmd("TTL", "k") == -1


def test_shebang_without_no_writes_cannot_run_read_only(rc):
    """A script with a shebang and no `no-writes` flag is a write script:
    EVAL_RO refuses it before it runs, even if it would only read."""
    assert rc.cmd("EVAL_RO", "#!lua\nreturn redis.call('GET', 'k')", 0) == RespError(WRITE_FLAG_RO)
    assert rc.cmd("EVAL_RO", "#!lua flags=allow-oom\nreturn 1", 0) == RespError(WRITE_FLAG_RO)
    sha = rc.cmd("SCRIPT", "LOAD", "#!lua\nreturn 1").decode()
    assert rc.cmd("EVALSHA_RO", sha, 0) == RespError(WRITE_FLAG_RO)
    assert rc.cmd("EVALSHA", sha, 0) == 1


@pytest.mark.parametrize("body", [
    "#!lua\nreturn 1", "#!lua flags=\nreturn 1", "#!lua flags=no-writes,allow-stale\nreturn 1",
    "#!lua flags=allow-cross-slot-keys\nreturn 1", "#!lua flags=no-cluster\nreturn 1",
    "#!lua flags=allow-oom\nreturn 1", "#!lua  flags=no-writes\nreturn 1",
    "#!lua\r\nreturn 1",
], ids=["bare", "empty-flags", "two-flags", "cross-slot", "no-cluster", "allow-oom",
        "double-space", "crlf"])
def test_valid_shebangs(rc, body):
    assert ev(rc, body) == 1


@pytest.mark.parametrize("body, error", [
    ("#!lua flags=bogus\nreturn 1", "ERR Unexpected flag in script shebang: bogus"),
    ("#!lua flags=no-writes,bogus\nreturn 1", "ERR Unexpected flag in script shebang: bogus"),
    ("#!lua name=x\nreturn 1", "ERR Unknown lua shebang option: name=x"),
    ("#!lua bogus\nreturn 1", "ERR Unknown lua shebang option: bogus"),
    ("#!python\nreturn 1", "ERR Unexpected engine in script shebang: #!python"),
    ("#!\nreturn 1", "ERR Unexpected engine in script shebang: #!"),
    ("#!lua flags=no-writes", "ERR Invalid script shebang"),
])
def test_shebang_errors(rc, body, error):
    assert ev(rc, body) == RespError(error)
    assert rc.cmd("SCRIPT", "LOAD", body) == RespError(error)


def test_shebang_line_counts_in_line_numbers_and_sha(rc):
    body = "#!lua\nreturn redis.call('NOSUCH')"
    assert ev(rc, body) == RespError(
        script_error("ERR Unknown Redis command called from script", body, 2))
    assert rc.cmd("SCRIPT", "EXISTS", sha1(body)) == [1]


@pytest.mark.parametrize("call", [
    "'MULTI'", "'EXEC'", "'DISCARD'", "'WATCH', 'x'", "'UNWATCH'",
    "'SUBSCRIBE', 'x'", "'PSUBSCRIBE', 'x'", "'SSUBSCRIBE', 'x'", "'UNSUBSCRIBE'",
    "'EVAL', 'return 1', 0", "'EVALSHA', 'x', 0", "'EVAL_RO', 'return 1', 0",
    "'FCALL', 'f', 0", "'FCALL_RO', 'x', 0", "'SCRIPT', 'FLUSH'", "'SCRIPT', 'EXISTS', 'x'",
    "'FUNCTION', 'FLUSH'", "'FUNCTION', 'STATS'", "'CLIENT', 'ID'", "'MONITOR'", "'AUTH', 'x'",
    "'HELLO'", "'QUIT'", "'RESET'", "'SAVE'", "'SHUTDOWN', 'ABORT'",
    "'CONFIG', 'GET', 'maxmemory'", "'DEBUG', 'SLEEP', 0",
    "'BLPOP', 'nx', 0",
])
def test_commands_not_allowed_in_scripts(rc, call):
    body = f"return redis.call({call})"
    assert ev(rc, body) == RespError(script_error(NOT_ALLOWED, body))


@pytest.mark.parametrize("body, expected", [
    ("return redis.call('PUBLISH', 'ch', 'm')", 0),
    ("return redis.call('PING', 'x')", b"x"),
    ("redis.call('SET', 'k', '1'); return redis.call('OBJECT', 'ENCODING', 'k')", b"int"),
    ("return redis.call('get', 'k') == false", 1),
    ("return redis.call('GeT', 'k') == false", 1),
    ("redis.call('SET', 'k', 'v'); return redis.call('KEYS', 'k')", [b"k"]),
    ("redis.call('SET', 'k', 'v'); return redis.call('DBSIZE')", 1),
    ("return type(redis.call('INFO', 'server'))", b"string"),
    ("redis.call('SET', 'k', 'v'); redis.call('FLUSHALL'); return redis.call('DBSIZE')", 0),
])
def test_commands_allowed_in_scripts(rc, body, expected):
    assert ev(rc, body) == expected


def test_select_inside_script_does_not_change_the_callers_db(rc):
    assert ev(rc, "redis.call('SELECT', 1); redis.call('SET', 'in1', 'x'); return 1") == 1
    assert rc.cmd("GET", "in1") is None
    assert rc.cmd("SELECT", "1") == "OK"
    assert rc.cmd("GET", "in1") == b"x"
    assert rc.cmd("SELECT", "0") == "OK"


def test_time_and_random_commands_before_writes(r):
    """Redis 7.0 replicates effects, so non-deterministic commands may be
    followed by writes."""
    t = r.eval("local t = redis.call('TIME'); redis.call('SET', KEYS[1], t[1]); return t", 1, "tk")
    assert len(t) == 2 and r.get("tk") == t[0]
    assert r.eval("redis.call('SADD', KEYS[1], 'a', 'b', 'c');"
                  " local m = redis.call('SPOP', KEYS[1]);"
                  " redis.call('SET', KEYS[2], m); return redis.call('SCARD', KEYS[1])",
                  2, "rs", "popped") == 2
    assert r.get("popped") in ("a", "b", "c")
    assert r.eval("local m = redis.call('SRANDMEMBER', KEYS[1]); redis.call('SET', KEYS[2], m);"
                  " return redis.call('RANDOMKEY') ~= false", 2, "rs", "rand") == 1
    assert r.eval("return redis.replicate_commands()", 0) == 1
    # set_repl is accepted and the local write still happens
    assert r.eval("redis.set_repl(redis.REPL_NONE); redis.call('SET', KEYS[1], '1');"
                  " redis.set_repl(redis.REPL_ALL); return 1", 1, "norepl") == 1
    assert r.get("norepl") == "1"


# --------------------------------------------------------------------------
# redis-py
# --------------------------------------------------------------------------

def test_register_script_uses_evalsha_with_noscript_fallback(r):
    script = r.register_script("return {KEYS[1], ARGV[1]}")
    assert script.sha == sha1("return {KEYS[1], ARGV[1]}")
    assert script(keys=["a"], args=["b"]) == ["a", "b"]
    assert r.script_exists(script.sha) == [True]
    assert r.script_flush() is True
    assert r.script_exists(script.sha) == [False]
    assert script(keys=["c"], args=["d"]) == ["c", "d"]   # NOSCRIPT -> SCRIPT LOAD -> EVALSHA
    assert r.script_exists(script.sha) == [True]


def test_register_script_in_pipeline(r):
    script = r.register_script("return redis.call('INCR', KEYS[1])")
    r.script_flush()
    with r.pipeline() as pipe:
        script(keys=["n"], client=pipe)
        script(keys=["n"], client=pipe)
        pipe.get("n")
        assert pipe.execute() == [1, 2, "2"]


def test_redis_py_eval_family(r):
    r.set("k", "v")
    assert r.eval("return 1", 0) == 1
    sha = r.script_load("return {KEYS[1], ARGV[1]}")
    assert sha == sha1("return {KEYS[1], ARGV[1]}")
    assert r.evalsha(sha, 1, "x", "y") == ["x", "y"]
    assert r.eval_ro("return redis.call('GET', KEYS[1])", 1, "k") == "v"
    assert r.evalsha_ro(r.script_load("return redis.call('GET', KEYS[1])"), 1, "k") == "v"
    assert r.script_exists(sha, "0" * 40) == [True, False]
    assert r.script_flush("ASYNC") is True and r.script_flush("SYNC") is True
    assert r.eval("return {ok='FOO'}", 0) == "FOO"
    assert r.eval("return 3.99", 0) == 3
    assert r.eval("return {1, 2, nil, 3}", 0) == [1, 2]
    assert r.eval("return false", 0) is None and r.eval("return true", 0) == 1


def test_redis_py_resp3_types(r, protocol):
    if protocol == 3:
        assert r.eval("return {map={a=1}}", 0) == {"a": 1}
        assert r.eval("return {double=1.5}", 0) == 1.5
        assert r.eval("redis.setresp(3); return true", 0) is True
        assert r.eval("redis.setresp(3); return false", 0) is False
        assert r.eval("return {big_number='1234567890123456789012345'}", 0) == (
            1234567890123456789012345)
    else:
        assert r.eval("return {map={a=1}}", 0) == ["a", 1]
        assert r.eval("return {double=1.5}", 0) == "1.5"
        assert r.eval("redis.setresp(3); return true", 0) == 1
        assert r.eval("redis.setresp(3); return false", 0) == 0
        assert r.eval("return {big_number='1234567890123456789012345'}", 0) == (
            "1234567890123456789012345")
    assert list(r.eval("return {set={a=true}}", 0)) == ["a"]


# --------------------------------------------------------------------------
# Busy scripts (dedicated server, busy-reply-threshold 100 ms)
# --------------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    "while true do end",
    "while true do redis.call('GET', 'x') end",
    "#!lua flags=no-writes\nwhile true do end",
], ids=["empty-loop", "reading-loop", "no-writes"])
def test_busy_script_then_script_kill(busy, body):
    admin, spin = busy
    spinner = spin("EVAL", body, 0)
    assert wait_busy(admin) == BUSY_SCRIPT
    assert admin.cmd("GET", "x") == RespError(BUSY_SCRIPT)
    assert admin.cmd("SET", "x", "1") == RespError(BUSY_SCRIPT)
    assert admin.cmd("SCRIPT", "LOAD", "return 1") == RespError(BUSY_SCRIPT)
    assert admin.cmd("FUNCTION", "KILL") == RespError(BUSY_SCRIPT)
    assert admin.cmd("FUNCTION", "STATS") == RespError(BUSY_SCRIPT)
    assert admin.cmd("SCRIPT", "KILL") == "OK"
    line = 2 if body.startswith("#!") else 1
    assert spinner.result() == RespError(script_error(KILLED, body, line))
    assert admin.cmd("PING") == "PONG"
    assert spinner.conn.cmd("PING") == "PONG"
    assert admin.cmd("SCRIPT", "KILL") == RespError(NOTBUSY)


def test_busy_eval_ro_is_killable(busy):
    admin, spin = busy
    spinner = spin("EVAL_RO", "while true do end", 0)
    assert wait_busy(admin) == BUSY_SCRIPT
    assert admin.cmd("SCRIPT", "KILL") == "OK"
    assert spinner.result() == RespError(script_error(KILLED, "while true do end"))


def test_busy_resp3_client_gets_the_same_line(busy, busy_server):
    admin, spin = busy
    with RawConn(busy_server.port, timeout=READ_WAIT) as c3:
        assert isinstance(c3.cmd("HELLO", "3"), dict)
        spinner = spin("EVAL", "while true do end", 0)
        assert wait_busy(admin) == BUSY_SCRIPT
        assert c3.cmd("PING") == RespError(BUSY_SCRIPT)
        assert c3.cmd("SCRIPT", "KILL") == "OK"
    assert spinner.result() == RespError(script_error(KILLED, "while true do end"))


def test_lua_time_limit_is_an_alias_of_busy_reply_threshold(busy):
    admin, _spin = busy
    assert admin.cmd("CONFIG", "SET", "lua-time-limit", "250") == "OK"
    assert admin.cmd("CONFIG", "GET", "busy-reply-threshold") == [b"busy-reply-threshold", b"250"]
    assert admin.cmd("CONFIG", "SET", "busy-reply-threshold", "100") == "OK"
    assert admin.cmd("CONFIG", "GET", "lua-time-limit") == [b"lua-time-limit", b"100"]


def test_script_that_wrote_is_unkillable_until_shutdown_nosave(own_server):
    body = "redis.call('SET', KEYS[1], 'v'); while true do end"
    with RawConn(own_server.port, timeout=READ_WAIT) as admin:
        spinner = Spinner(own_server.port, "EVAL", body, 1, "k")
        try:
            assert wait_busy(admin) == BUSY_SCRIPT
            assert admin.cmd("SCRIPT", "KILL") == RespError(UNKILLABLE)
            assert admin.cmd("FUNCTION", "KILL") == RespError(UNKILLABLE)
            assert admin.cmd("SHUTDOWN") == RespError(BUSY_SCRIPT)
            assert admin.cmd("SHUTDOWN", "SAVE") == RespError(BUSY_SCRIPT)
            admin.send(RawConn.encode("SHUTDOWN", "NOSAVE"))
            assert admin.is_closed(READ_WAIT)
            assert spinner.done(READ_WAIT)
            assert spinner.reply is None and spinner.exc is not None   # connection dropped
            assert own_server.proc.wait(timeout=READ_WAIT) == 0
        finally:
            spinner.close()


# --------------------------------------------------------------------------
# vaylix: a script's effects are logged like any write
# --------------------------------------------------------------------------

@pytest.mark.vaylix_only
def test_script_writes_survive_kill_9(own_server):
    with RawConn(own_server.port) as c:
        assert ev(c, "redis.call('SET', KEYS[1], 'a'); redis.call('RPUSH', KEYS[2], 'x', 'y');"
                     " return redis.call('INCRBY', KEYS[3], 7)", "s", "l", "n", numkeys=3) == 7
        assert ev(c, "redis.call('SET', KEYS[1], 'kept'); error('after the write')",
                  "e", numkeys=1) == RespError(script_error(
                      "ERR user_script:1: after the write",
                      "redis.call('SET', KEYS[1], 'kept'); error('after the write')"))
    own_server.proc.kill()  # SIGKILL by PID
    own_server.proc.wait(timeout=READ_WAIT)
    own_server._log.close()
    own_server._log = None
    own_server.start()
    with RawConn(own_server.port) as c:
        assert c.cmd("MGET", "s", "n", "e") == [b"a", b"7", b"kept"]
        assert c.cmd("LRANGE", "l", 0, -1) == [b"x", b"y"]

"""Redis 7.0 functions: FUNCTION LOAD [REPLACE] | LIST [LIBRARYNAME p]
[WITHCODE] | DELETE | FLUSH | DUMP | RESTORE | STATS | KILL | HELP, FCALL and
FCALL_RO.

* Libraries: `#!lua name=<lib>` shebang, redis.register_function in its
  positional and table forms (flags, description), REPLACE, the errors of a
  bad shebang, bad names, bad register_function calls, compile and load-time
  errors. At load time only redis.register_function, redis.log and
  redis.REDIS_VERSION* / LOG_* exist (no string, math, type, error,
  redis.call ...). Library state (upvalues) persists between calls.
* Names: function names are case-insensitive (FCALL FA runs fa, FA collides
  with fa), library names are case-sensitive; LIBRARYNAME is a
  case-insensitive glob.
* FCALL / FCALL_RO: keys/args, numkeys errors ("Bad number of keys provided",
  not EVAL's "not an integer"), unknown function, FCALL_RO on a function
  without no-writes, run-time errors with the 7.0 suffix
  `script: <function>, on @user_function:<line>.`, MULTI/EXEC.
* FUNCTION LIST byte for byte in RESP2 and RESP3 (maps, flag sets, nil
  description), WITHCODE, LIBRARYNAME; DELETE; FLUSH modes and their error
  texts; FLUSHALL keeps libraries.
* DUMP / RESTORE: round trip into the same (flushed) server and into a fresh
  one, the APPEND (default) / REPLACE / FLUSH policies and their collision
  errors, bad payloads and policies. The payload is opaque: vaylix's format
  differs from Redis's, so its bytes are never asserted.
* STATS shape (idle and while a function runs), FUNCTION KILL, -BUSY texts,
  UNKILLABLE after a write, SHUTDOWN NOSAVE (dedicated servers).
* redis-py: function_load/list/delete/flush/dump/restore/stats, fcall,
  fcall_ro.
* vaylix only: libraries are durable (survive kill -9); the script cache is
  not (as in Redis).

Every expectation was checked against redis-server 7.0.15.
"""

from __future__ import annotations

import pytest

from helpers import IS_VAYLIX, RawConn, RespError, as_dict, raises_error
from scripting_helpers import (BUSY_FUNCTION, BUSY_SCRIPT, KILLED, NOSCRIPT, NOT_ALLOWED, NOTBUSY,
                               NUMKEYS_GREATER, NUMKEYS_NEGATIVE, READ_WAIT, RO_WRITE, UNKILLABLE,
                               WRITE_FLAG_RO, Spinner, arity, function_error, wait_busy)
from scripting_helpers import busy, busy_server, own_server  # noqa: F401  (fixtures)
from zset_helpers import raw_cmd

LIB_EXISTS = "ERR Library '{}' already exists"
NOT_FOUND = "ERR Function not found"
LIB_NOT_FOUND = "ERR Library not found"
BAD_PAYLOAD = "ERR DUMP payload version or checksum are wrong"
BAD_NAME = ("ERR Library names can only contain letters, numbers, or underscores(_) and must be "
            "at least one character long")
REGISTERING = "ERR Error registering functions: "

MYLIB = ("#!lua name=mylib\n"
         "redis.register_function('f', function(keys, args) return {keys[1], args[1]} end)")
RWLIB = ("#!lua name=rwlib\n"
         "redis.register_function{function_name='ro', callback=function(keys, args)"
         " return redis.call('GET', keys[1]) end, flags={'no-writes'}, description='reads'}\n"
         "redis.register_function('w', function(keys, args)"
         " return redis.call('SET', keys[1], args[1]) end)")


def lib(name, *functions):
    """Library source: functions are (name, lua expression returned)."""
    body = "".join(f"\nredis.register_function('{fn}', function(keys, args) return {expr} end)"
                   for fn, expr in functions)
    return f"#!lua name={name}{body}"


@pytest.fixture(autouse=True)
def no_libraries(server):
    """Functions are server-wide state that FLUSHALL keeps: every test starts
    and ends with FUNCTION FLUSH."""
    with RawConn(server.port) as c:
        flushed = c.cmd("FUNCTION", "FLUSH")
        if IS_VAYLIX and isinstance(flushed, RespError) and "unknown subcommand" in str(flushed):
            pytest.skip("server has no FUNCTION LOAD yet")
        assert flushed == "OK"
    yield
    with RawConn(server.port) as c:
        c.cmd("FUNCTION", "FLUSH")


def listing(c, *args):
    """FUNCTION LIST on a RawConn as {library: {field: value}} with functions
    as {name: {field: value}} and flags as a sorted list, the same for RESP2
    pairs and RESP3 maps."""
    out = {}
    for entry in c.cmd("FUNCTION", "LIST", *args):
        entry = {(k.decode() if isinstance(k, bytes) else k): v for k, v in as_dict(entry).items()}
        fns = {}
        for fn in entry["functions"]:
            fn = {(k.decode() if isinstance(k, bytes) else k): v for k, v in as_dict(fn).items()}
            fn["flags"] = sorted(fn["flags"])    # a set in RESP3; its order is checked in bytes
            fns[fn["name"].decode()] = fn
        entry["functions"] = fns
        out[entry["library_name"].decode()] = entry
    return out


# --------------------------------------------------------------------------
# FUNCTION LOAD
# --------------------------------------------------------------------------

def test_load_and_fcall(rc):
    assert rc.cmd("FUNCTION", "LOAD", MYLIB) == b"mylib"
    assert rc.cmd("FCALL", "f", 1, "k", "a") == [b"k", b"a"]
    assert rc.cmd("FCALL", "f", 0, "a") == []      # {nil, 'a'}: the array stops at the nil


def test_keys_and_args_are_parameters_not_globals(rc):
    rc.cmd("FUNCTION", "LOAD", lib("kv", ("kv", "{#keys, #args, keys[2], args[1]}"),
                                   ("globals", "KEYS")))
    assert rc.cmd("FCALL", "kv", 2, "a", "b", "c") == [2, 1, b"b", b"c"]
    assert rc.cmd("FCALL", "globals", 0) == RespError(function_error(
        "ERR user_function:3: Script attempted to access nonexistent global variable 'KEYS'",
        "globals", 3))


def test_table_form_flags_and_fcall_ro(rc):
    assert rc.cmd("FUNCTION", "LOAD", RWLIB) == b"rwlib"
    assert rc.cmd("FCALL", "w", 1, "k", "v") == "OK"
    assert rc.cmd("FCALL_RO", "ro", 1, "k") == b"v"
    assert rc.cmd("FCALL", "ro", 1, "k") == b"v"
    assert rc.cmd("FCALL_RO", "w", 1, "k", "v2") == RespError(WRITE_FLAG_RO)
    assert rc.cmd("GET", "k") == b"v"


def test_no_writes_function_refuses_writes(rc):
    rc.cmd("FUNCTION", "LOAD", "#!lua name=nw\nredis.register_function{function_name='nw',"
           " callback=function() return redis.call('SET', 'x', 'y') end, flags={'no-writes'}}")
    err = RespError(function_error(RO_WRITE, "nw", 2))
    assert rc.cmd("FCALL", "nw", 0) == err
    assert rc.cmd("FCALL_RO", "nw", 0) == err
    assert rc.cmd("EXISTS", "x") == 0


def test_duplicate_library_and_replace(rc):
    assert rc.cmd("FUNCTION", "LOAD", lib("mylib", ("f", "1"))) == b"mylib"
    assert rc.cmd("FUNCTION", "LOAD", lib("mylib", ("f", "2"))) == RespError(
        LIB_EXISTS.format("mylib"))
    assert rc.cmd("FCALL", "f", 0) == 1
    assert rc.cmd("FUNCTION", "LOAD", "REPLACE", lib("mylib", ("f", "2"))) == b"mylib"
    assert rc.cmd("FCALL", "f", 0) == 2
    assert rc.cmd("FUNCTION", "LOAD", "replace", lib("mylib", ("g", "3"))) == b"mylib"
    assert rc.cmd("FCALL", "f", 0) == RespError(NOT_FOUND)   # the old functions are gone
    assert rc.cmd("FCALL", "g", 0) == 3
    assert rc.cmd("FUNCTION", "LOAD", "REPLACE", "REPLACE", lib("mylib", ("h", "4"))) == b"mylib"
    assert rc.cmd("FUNCTION", "LOAD", "BOGUS", lib("x", ("x", "1"))) == RespError(
        "ERR Unknown option given: BOGUS")
    assert rc.cmd("FUNCTION", "LOAD", "REPLACE", "a", "b") == RespError(
        "ERR Unknown option given: a")


def test_function_names_are_case_insensitive_library_names_are_not(rc):
    assert rc.cmd("FUNCTION", "LOAD", lib("la", ("fa", "'a'"))) == b"la"
    assert rc.cmd("FCALL", "FA", 0) == b"a"
    assert rc.cmd("FCALL_RO", "Fa", 0) == RespError(WRITE_FLAG_RO)
    assert rc.cmd("FUNCTION", "LOAD", lib("lc", ("FA", "'c'"))) == RespError(
        "ERR Function FA already exists")
    assert rc.cmd("FUNCTION", "LOAD", lib("other", ("fa", "9"))) == RespError(
        "ERR Function fa already exists")
    assert rc.cmd("FUNCTION", "LOAD", lib("LA", ("zz", "'z'"))) == b"LA"
    assert rc.cmd("FUNCTION", "DELETE", "lA") == RespError(LIB_NOT_FOUND)
    assert sorted(listing(rc)) == ["LA", "la"]


def test_shebang_engine_and_name_key_are_case_insensitive(rc):
    assert rc.cmd("FUNCTION", "LOAD", "#!LUA name=up\nredis.register_function('upf',"
                  " function() return 1 end)") == b"up"
    assert rc.cmd("FUNCTION", "LOAD", "#!lua NAME=upn\nredis.register_function('upn',"
                  " function() return 1 end)") == b"upn"
    assert rc.cmd("FUNCTION", "LOAD", "#!lua name=sp \nredis.register_function('spf',"
                  " function() return 1 end)") == b"sp"


LOAD_ERRORS = [
    ("no-shebang", "return 1", "ERR Missing library metadata"),
    ("space-before-shebang", "  #!lua name=sp\nredis.register_function('x', function() end)",
     "ERR Missing library metadata"),
    ("no-name", "#!lua\nreturn 1", "ERR Library name was not given"),
    ("empty-name", "#!lua name=\nreturn 1", BAD_NAME),
    ("bad-name", "#!lua name=bad-name!\nredis.register_function('x', function() end)", BAD_NAME),
    ("unknown-engine", "#!python name=x\nreturn 1", "ERR Engine 'python' not found"),
    ("unknown-metadata", "#!lua name=flg x=1\nredis.register_function('z', function() end)",
     "ERR Invalid metadata value given: x=1"),
    ("name-twice", "#!lua name=a name=b\nredis.register_function('zz', function() end)",
     "ERR Invalid metadata value, name argument was given multiple times"),
    ("no-functions", "#!lua name=emptylib\nreturn 1", "ERR No functions registered"),
    ("syntax", "#!lua name=syn\nredis.register_function('x', function() end",
     "ERR Error compiling function: user_function:2: ')' expected near '<eof>'"),
    # a bad *function* name is reported with the library-name text
    ("bad-function-name", "#!lua name=ok_1\nredis.register_function('bad-fn!', function() end)",
     REGISTERING + BAD_NAME),
    ("empty-function-name", "#!lua name=ok_1\nredis.register_function('', function() end)",
     REGISTERING + BAD_NAME),
    ("same-function-twice", "#!lua name=dup\nredis.register_function('z', function() end)\n"
     "redis.register_function('z', function() end)",
     REGISTERING + "ERR Function already exists in the library"),
    ("no-arguments", "#!lua name=r\nredis.register_function()",
     REGISTERING + "ERR wrong number of arguments to redis.register_function"),
    ("one-non-table-argument", "#!lua name=r\nredis.register_function('z')",
     REGISTERING + "ERR calling redis.register_function with a single argument is only "
     "applicable to Lua table (representing named arguments)."),
    ("callback-not-a-function", "#!lua name=r\nredis.register_function('z', 5)",
     REGISTERING + "ERR second argument to redis.register_function must be a function"),
    ("table-without-callback", "#!lua name=r\nredis.register_function{function_name='z'}",
     REGISTERING + "ERR redis.register_function must get a callback argument"),
    ("table-without-name", "#!lua name=r\nredis.register_function{callback=function() end}",
     REGISTERING + "ERR redis.register_function must get a function name argument"),
    ("unknown-flag", "#!lua name=r\nredis.register_function{function_name='z',"
     " callback=function() end, flags={'bogus'}}", REGISTERING + "ERR unknown flag given"),
    ("flags-not-a-table", "#!lua name=r\nredis.register_function{function_name='z',"
     " callback=function() end, flags='no-writes'}",
     REGISTERING + "ERR flags argument to redis.register_function must be a table "
     "representing function flags"),
    ("unknown-table-key", "#!lua name=r\nredis.register_function{function_name='z',"
     " callback=function() end, bogus=1}",
     REGISTERING + "ERR unknown argument given to redis.register_function"),
    # the load-time environment has almost nothing in it
    ("error-at-load", "#!lua name=rt\nerror('boom')",
     REGISTERING + "ERR user_function:2: Script attempted to access nonexistent global "
     "variable 'error'"),
    ("redis.call-at-load", "#!lua name=c\nredis.call('SET','x','y')\n"
     "redis.register_function('z', function() end)",
     REGISTERING + "ERR user_function:2: Script attempted to access nonexistent global "
     "variable 'call'"),
    ("setresp-at-load", "#!lua name=c\nredis.setresp(3)\n"
     "redis.register_function('z', function() end)",
     REGISTERING + "ERR user_function:2: Script attempted to access nonexistent global "
     "variable 'setresp'"),
    ("sha1hex-at-load", "#!lua name=c\nlocal t = redis.sha1hex('x')\n"
     "redis.register_function('z', function() end)",
     REGISTERING + "ERR user_function:2: Script attempted to access nonexistent global "
     "variable 'sha1hex'"),
    ("string-at-load", "#!lua name=c\nlocal s = string.format('%d', 5)\n"
     "redis.register_function('z', function() end)",
     REGISTERING + "ERR user_function:2: Script attempted to access nonexistent global "
     "variable 'string'"),
    ("math-at-load", "#!lua name=c\nlocal x = math.floor(1)\n"
     "redis.register_function('z', function() end)",
     REGISTERING + "ERR user_function:2: Script attempted to access nonexistent global "
     "variable 'math'"),
    ("type-at-load", "#!lua name=c\nlocal t = type(1)\n"
     "redis.register_function('z', function() end)",
     REGISTERING + "ERR user_function:2: Script attempted to access nonexistent global "
     "variable 'type'"),
    ("global-at-load", "#!lua name=c\nx = 1\nredis.register_function('z', function() end)",
     REGISTERING + "ERR user_function:2: Attempt to modify a readonly table"),
]


@pytest.mark.parametrize("code, error", [c[1:] for c in LOAD_ERRORS],
                         ids=[c[0] for c in LOAD_ERRORS])
def test_function_load_errors(rc, code, error):
    assert rc.cmd("FUNCTION", "LOAD", code) == RespError(error)
    assert listing(rc) == {}


def test_failed_replace_keeps_the_old_library(rc):
    rc.cmd("FUNCTION", "LOAD", lib("keep", ("kf", "'old'")))
    assert rc.cmd("FUNCTION", "LOAD", "REPLACE", "#!lua name=keep\nerror('x')") == RespError(
        REGISTERING + "ERR user_function:2: Script attempted to access nonexistent global "
        "variable 'error'")
    assert rc.cmd("FCALL", "kf", 0) == b"old"


def test_load_time_environment(rc):
    code = ("#!lua name=lt\nlocal v = redis.REDIS_VERSION\nlocal n = redis.REDIS_VERSION_NUM\n"
            "redis.log(redis.LOG_NOTICE, 'loading library lt')\n"
            "redis.register_function('ltf', function() return {v, n} end)")
    assert rc.cmd("FUNCTION", "LOAD", code) == b"lt"
    version = rc.cmd("FCALL", "ltf", 0)
    assert version == rc.cmd("EVAL", "return {redis.REDIS_VERSION, redis.REDIS_VERSION_NUM}", 0)


def test_run_time_environment(r):
    r.function_load("#!lua name=env\nredis.register_function('env', function() return"
                    " {type(string), type(cjson), type(redis.call), type(pcall),"
                    " type(redis.register_function), type(redis.setresp)} end)")
    assert r.fcall("env", 0) == ["table", "table", "function", "function", "nil", "function"]
    r.function_load("#!lua name=rf\nredis.register_function('rf', function()"
                    " redis.register_function('x', function() end) end)")
    with raises_error(function_error("ERR user_function:2: attempt to call field "
                                     "'register_function' (a nil value)", "rf", 2)):
        r.fcall("rf", 0)
    r.function_load("#!lua name=gl\nredis.register_function('g', function() x = 1 return 1 end)")
    with raises_error(function_error("ERR user_function:2: Attempt to modify a readonly table",
                                     "g", 2)):
        r.fcall("g", 0)


def test_library_state_persists_between_calls(r):
    code = ("#!lua name=st\nlocal n = 0\nlocal function bump(by) n = n + by return n end\n"
            "redis.register_function('inc', function(keys, args)"
            " return bump(tonumber(args[1])) end)")
    r.function_load(code)
    assert [r.fcall("inc", 0, 1) for _ in range(3)] == [1, 2, 3]
    assert r.fcall("inc", 0, 10) == 13
    r.function_load(code, replace=True)   # a reload starts from fresh state
    assert r.fcall("inc", 0, 1) == 1


def test_flags_are_listed_in_a_fixed_order(rc, protocol):
    rc.cmd("FUNCTION", "LOAD", "#!lua name=fl\nredis.register_function{function_name='allf',"
           " callback=function() return 1 end, flags={'allow-cross-slot-keys', 'no-cluster',"
           " 'allow-stale', 'allow-oom', 'no-writes'}}")
    assert rc.cmd("FCALL_RO", "allf", 0) == 1
    expected = [b"no-writes", b"allow-oom", b"allow-stale", b"no-cluster",
                b"allow-cross-slot-keys"]
    head = b"~5\r\n" if protocol == 3 else b"*5\r\n"
    assert raw_cmd(rc, "FUNCTION", "LIST").endswith(
        b"$5\r\nflags\r\n" + head + b"".join(b"+%s\r\n" % f for f in expected))


# --------------------------------------------------------------------------
# FCALL / FCALL_RO
# --------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["FCALL", "FCALL_RO"])
def test_fcall_numkeys_and_arity_errors(rc, command):
    rc.cmd("FUNCTION", "LOAD", MYLIB)
    assert rc.cmd(command, "f", 1) == RespError(NUMKEYS_GREATER)
    assert rc.cmd(command, "f", -1) == RespError(NUMKEYS_NEGATIVE)
    assert rc.cmd(command, "f", "x") == RespError("ERR Bad number of keys provided")
    assert rc.cmd(command) == RespError(arity(command.lower()))
    assert rc.cmd(command, "f") == RespError(arity(command.lower()))


@pytest.mark.parametrize("command", ["FCALL", "FCALL_RO"])
def test_fcall_unknown_function(rc, command):
    assert rc.cmd(command, "nosuch", 0) == RespError(NOT_FOUND)
    rc.cmd("FUNCTION", "LOAD", MYLIB)
    assert rc.cmd(command, "nosuch", 0) == RespError(NOT_FOUND)


ERRLIB = "#!lua name=errlib" + "".join(
    f"\nredis.register_function('{name}', function(keys, args) {body} end)" for name, body in [
        ("e1", "return redis.call('NOSUCH')"),
        ("e2", "error('boom')"),
        ("e3", "return redis.call('INCR', keys[1])"),
        ("e4", "return nope()"),
        ("e5", "return redis.call('FUNCTION', 'LIST')"),
        ("e6", "return redis.call('FCALL', 'e1', 0)"),
        ("e7", "return redis.call('EVAL', 'return 1', 0)"),
        ("e8", "return redis.pcall('NOSUCH')"),
        ("e9", "return redis.error_reply('MY err')"),
    ])   # function eN is on line N + 1


@pytest.mark.parametrize("function, keys, error", [
    ("e1", [], function_error("ERR Unknown Redis command called from script", "e1", 2)),
    ("e2", [], function_error("ERR user_function:3: boom", "e2", 3)),
    ("e3", ["str"], function_error("ERR value is not an integer or out of range", "e3", 4)),
    ("e4", [], function_error("ERR user_function:5: Script attempted to access nonexistent "
                              "global variable 'nope'", "e4", 5)),
    ("e5", [], function_error(NOT_ALLOWED, "e5", 6)),
    ("e6", [], function_error(NOT_ALLOWED, "e6", 7)),
    ("e7", [], function_error(NOT_ALLOWED, "e7", 8)),
    ("e8", [], "ERR Unknown Redis command called from script"),
    ("e9", [], "MY err"),
])
def test_fcall_error_lines(rc, function, keys, error):
    rc.cmd("SET", "str", "abc")
    assert rc.cmd("FUNCTION", "LOAD", ERRLIB) == b"errlib"
    assert rc.cmd("FCALL", function, len(keys), *keys) == RespError(error)


def test_fcall_reply_conversion(rc, protocol):
    rc.cmd("FUNCTION", "LOAD", lib("conv", ("num", "{3.99, {ok='s'}, false, true}"),
                                   ("resp3", "{map={a={double=1.5}}}")))
    nil = b"_\r\n" if protocol == 3 else b"$-1\r\n"
    assert raw_cmd(rc, "FCALL", "num", 0) == b"*4\r\n:3\r\n+s\r\n" + nil + b":1\r\n"
    assert raw_cmd(rc, "FCALL", "resp3", 0) == (
        b"%1\r\n$1\r\na\r\n,1.5\r\n" if protocol == 3 else b"*2\r\n$1\r\na\r\n$3\r\n1.5\r\n")
    rc.cmd("HSET", "h", "a", "1")
    rc.cmd("FUNCTION", "LOAD", "#!lua name=rp\nredis.register_function('rp', function(keys)"
           " redis.setresp(3); return redis.call('HGETALL', keys[1]) end)")
    assert raw_cmd(rc, "FCALL", "rp", 1, "h") == (
        b"%1\r\n" if protocol == 3 else b"*2\r\n") + b"$1\r\na\r\n$1\r\n1\r\n"


def test_fcall_inside_multi(rc):
    rc.cmd("FUNCTION", "LOAD", RWLIB)
    assert rc.cmd("MULTI") == "OK"
    assert rc.cmd("FCALL", "w", 1, "k", "in-multi") == "QUEUED"
    assert rc.cmd("FCALL_RO", "ro", 1, "k") == "QUEUED"
    assert rc.cmd("FUNCTION", "LOAD", lib("m", ("mf", "'m'"))) == "QUEUED"
    assert rc.cmd("FCALL", "mf", 0) == "QUEUED"
    assert rc.cmd("FCALL_RO", "w", 1, "k", "x") == "QUEUED"
    assert rc.cmd("EXEC") == ["OK", b"in-multi", b"m", b"m", RespError(WRITE_FLAG_RO)]


def test_fcall_write_invalidates_watch(r, make_client):
    other = make_client()
    other.function_load(RWLIB)
    r.set("w", "1")
    r.execute_command("WATCH", "w")
    other.fcall("w", 1, "w", "by function")
    r.execute_command("MULTI")
    r.execute_command("ECHO", "ran")
    assert r.execute_command("EXEC") is None
    assert r.get("w") == "by function"


def test_function_kill_without_a_function_is_notbusy(rc):
    assert rc.cmd("FUNCTION", "KILL") == RespError(NOTBUSY)


# --------------------------------------------------------------------------
# FUNCTION LIST / DELETE / FLUSH / STATS / HELP
# --------------------------------------------------------------------------

def test_function_list_bytes(rc, protocol):
    code = ("#!lua name=one\nredis.register_function{function_name='ro', callback=function()"
            " return 1 end, flags={'no-writes'}, description='reads'}")
    rc.cmd("FUNCTION", "LOAD", code)
    rc.cmd("FUNCTION", "LOAD", lib("two", ("w", "1")))

    def bulk(x):
        return b"$%d\r\n%s\r\n" % (len(x), x)

    def entry(name, fn, description, flags, code=None):
        if protocol == 3:
            head = b"%%%d\r\n" % (3 + (code is not None))
            fhead, nil, fl = b"%3\r\n", b"_\r\n", b"~"
        else:
            head = b"*%d\r\n" % (6 + 2 * (code is not None))
            fhead, nil, fl = b"*6\r\n", b"$-1\r\n", b"*"
        out = (head + bulk(b"library_name") + bulk(name) + bulk(b"engine") + bulk(b"LUA")
               + bulk(b"functions") + b"*1\r\n" + fhead + bulk(b"name") + bulk(fn)
               + bulk(b"description") + (bulk(description) if description else nil)
               + bulk(b"flags") + fl + b"%d\r\n" % len(flags)
               + b"".join(b"+%s\r\n" % f for f in flags))
        if code is not None:
            out += bulk(b"library_code") + bulk(code.encode())
        return out

    assert raw_cmd(rc, "FUNCTION", "LIST", "LIBRARYNAME", "one") == b"*1\r\n" + entry(
        b"one", b"ro", b"reads", [b"no-writes"])
    assert raw_cmd(rc, "FUNCTION", "LIST", "LIBRARYNAME", "two", "WITHCODE") == b"*1\r\n" + entry(
        b"two", b"w", None, [], lib("two", ("w", "1")))
    assert raw_cmd(rc, "FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "one") == b"*1\r\n" + entry(
        b"one", b"ro", b"reads", [b"no-writes"], code)
    assert raw_cmd(rc, "FUNCTION", "LIST", "LIBRARYNAME", "none") == b"*0\r\n"
    full = raw_cmd(rc, "FUNCTION", "LIST")
    assert full.startswith(b"*2\r\n") and len(full) == 4 + len(entry(
        b"one", b"ro", b"reads", [b"no-writes"])) + len(entry(b"two", b"w", None, []))


def test_function_list_empty_and_multi_function_library(rc):
    assert rc.cmd("FUNCTION", "LIST") == []
    rc.cmd("FUNCTION", "LOAD", lib("multi", ("f7", "1"), ("f8", "2"), ("f9", "3")))
    got = listing(rc)
    assert list(got) == ["multi"]
    assert sorted(got["multi"]["functions"]) == ["f7", "f8", "f9"]   # order unspecified
    assert got["multi"]["engine"] == b"LUA"
    assert "library_code" not in got["multi"]
    assert listing(rc, "WITHCODE")["multi"]["library_code"] == lib(
        "multi", ("f7", "1"), ("f8", "2"), ("f9", "3")).encode()


def test_function_list_libraryname_is_a_case_insensitive_glob(rc):
    for name in ("mylib", "rolib", "other"):
        rc.cmd("FUNCTION", "LOAD", lib(name, (f"fn_{name}", "1")))
    assert sorted(listing(rc, "LIBRARYNAME", "*lib")) == ["mylib", "rolib"]
    assert sorted(listing(rc, "LIBRARYNAME", "*LIB")) == ["mylib", "rolib"]
    assert sorted(listing(rc, "LIBRARYNAME", "ro*")) == ["rolib"]
    assert sorted(listing(rc, "LIBRARYNAME", "OTH?R")) == ["other"]
    assert listing(rc, "LIBRARYNAME", "ro") == {}          # no implicit wildcard
    assert sorted(listing(rc, "libraryname", "my*", "withcode")) == ["mylib"]


@pytest.mark.parametrize("args, error", [
    (["LIBRARYNAME"], "ERR library name argument was not given"),
    (["BOGUS"], "ERR Unknown argument BOGUS"),
    (["WITHCODE", "WITHCODE"], "ERR Unknown argument WITHCODE"),
    (["LIBRARYNAME", "a", "LIBRARYNAME", "b"], "ERR Unknown argument LIBRARYNAME"),
    (["LIBRARYNAME", "a", "WITHCODE", "x"], "ERR Unknown argument x"),
])
def test_function_list_errors(rc, args, error):
    assert rc.cmd("FUNCTION", "LIST", *args) == RespError(error)


def test_function_delete(rc):
    rc.cmd("FUNCTION", "LOAD", RWLIB)
    rc.cmd("FUNCTION", "LOAD", MYLIB)
    assert rc.cmd("FUNCTION", "DELETE", "nosuch") == RespError(LIB_NOT_FOUND)
    assert rc.cmd("FUNCTION", "DELETE", "RWLIB") == RespError(LIB_NOT_FOUND)
    assert rc.cmd("FUNCTION", "DELETE", "rwlib") == "OK"
    assert rc.cmd("FCALL", "w", 1, "k", "v") == RespError(NOT_FOUND)
    assert rc.cmd("FUNCTION", "DELETE", "rwlib") == RespError(LIB_NOT_FOUND)
    assert list(listing(rc)) == ["mylib"]
    assert rc.cmd("FUNCTION", "DELETE") == RespError(arity("function|delete"))
    assert rc.cmd("FUNCTION", "DELETE", "a", "b") == RespError(arity("function|delete"))
    # the function name is free again
    assert rc.cmd("FUNCTION", "LOAD", lib("again", ("w", "'again'"))) == b"again"


@pytest.mark.parametrize("mode", [[], ["ASYNC"], ["SYNC"], ["async"]],
                         ids=lambda m: " ".join(m) or "default")
def test_function_flush(rc, mode):
    rc.cmd("FUNCTION", "LOAD", MYLIB)
    assert rc.cmd("FUNCTION", "FLUSH", *mode) == "OK"
    assert rc.cmd("FUNCTION", "LIST") == []
    assert rc.cmd("FCALL", "f", 0) == RespError(NOT_FOUND)


def test_function_flush_errors(rc):
    # "supports" here, "support" in SCRIPT FLUSH's message
    assert rc.cmd("FUNCTION", "FLUSH", "BOGUS") == RespError(
        "ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
    assert rc.cmd("FUNCTION", "FLUSH", "ASYNC", "SYNC") == RespError(
        "ERR unknown subcommand or wrong number of arguments for 'FLUSH'. Try FUNCTION HELP.")


def test_flushall_keeps_libraries_and_script_flush_ignores_them(rc):
    rc.cmd("FUNCTION", "LOAD", MYLIB)
    assert rc.cmd("FLUSHALL") == "OK"
    assert rc.cmd("SCRIPT", "FLUSH") == "OK"
    assert rc.cmd("FCALL", "f", 1, "k", "a") == [b"k", b"a"]
    # and FUNCTION FLUSH leaves the script cache alone
    sha = rc.cmd("SCRIPT", "LOAD", "return 'cached'").decode()
    assert rc.cmd("FUNCTION", "FLUSH") == "OK"
    assert rc.cmd("EVALSHA", sha, 0) == b"cached"


def test_function_stats_idle_bytes(rc, protocol):
    rc.cmd("FUNCTION", "LOAD", RWLIB)
    rc.cmd("FUNCTION", "LOAD", MYLIB)

    def bulk(x):
        return b"$%d\r\n%s\r\n" % (len(x), x)

    counts = bulk(b"libraries_count") + b":2\r\n" + bulk(b"functions_count") + b":3\r\n"
    if protocol == 3:
        expected = (b"%2\r\n" + bulk(b"running_script") + b"_\r\n" + bulk(b"engines")
                    + b"%1\r\n" + bulk(b"LUA") + b"%2\r\n" + counts)
    else:
        expected = (b"*4\r\n" + bulk(b"running_script") + b"$-1\r\n" + bulk(b"engines")
                    + b"*2\r\n" + bulk(b"LUA") + b"*4\r\n" + counts)
    assert raw_cmd(rc, "FUNCTION", "STATS") == expected
    assert rc.cmd("FUNCTION", "FLUSH") == "OK"
    stats = as_dict(rc.cmd("FUNCTION", "STATS"))
    lua = as_dict(as_dict(stats[b"engines" if protocol == 2 else "engines"])[
        b"LUA" if protocol == 2 else "LUA"])
    assert sorted(lua.values()) == [0, 0]


@pytest.mark.parametrize("args", [
    ["FUNCTION"], ["FUNCTION", "LOAD"], ["FUNCTION", "DUMP", "x"], ["FUNCTION", "STATS", "x"],
    ["FUNCTION", "KILL", "x"], ["FUNCTION", "RESTORE"],
], ids=lambda a: " ".join(a))
def test_function_arity(rc, args):
    name = "function" if len(args) == 1 else f"function|{args[1].lower()}"
    assert rc.cmd(*args) == RespError(arity(name))


def test_function_unknown_subcommand_and_help(rc):
    assert rc.cmd("FUNCTION", "BOGUS") == RespError(
        "ERR unknown subcommand 'BOGUS'. Try FUNCTION HELP.")
    lines = rc.cmd("FUNCTION", "HELP")
    assert lines[0] == "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert lines[-2:] == ["HELP", "    Prints this help."]
    for entry in ["LOAD [REPLACE] <FUNCTION CODE>", "DELETE <LIBRARY NAME>",
                  "LIST [LIBRARYNAME PATTERN] [WITHCODE]", "STATS", "KILL", "FLUSH [ASYNC|SYNC]",
                  "DUMP", "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]"]:
        assert entry in lines


# --------------------------------------------------------------------------
# FUNCTION DUMP / RESTORE (the payload is opaque: never compare its bytes)
# --------------------------------------------------------------------------

LA = lib("la", ("fa", "'a'"))
LB = lib("lb", ("fb", "'b'"))


def test_dump_flush_restore_round_trip(rc):
    rc.cmd("FUNCTION", "LOAD", LA)
    rc.cmd("FUNCTION", "LOAD", RWLIB)
    before = listing(rc, "WITHCODE")
    payload = rc.cmd("FUNCTION", "DUMP")
    assert isinstance(payload, bytes) and payload
    assert rc.cmd("FUNCTION", "FLUSH") == "OK"
    assert rc.cmd("FUNCTION", "RESTORE", payload) == "OK"
    assert listing(rc, "WITHCODE") == before
    assert rc.cmd("FCALL", "fa", 0) == b"a"
    assert rc.cmd("FCALL", "w", 1, "k", "v") == "OK" and rc.cmd("FCALL_RO", "ro", 1, "k") == b"v"


def test_restore_into_a_fresh_server(rc, own_server):
    rc.cmd("FUNCTION", "LOAD", LA)
    rc.cmd("FUNCTION", "LOAD", RWLIB)
    payload = rc.cmd("FUNCTION", "DUMP")
    with RawConn(own_server.port) as fresh:
        assert fresh.cmd("FUNCTION", "RESTORE", payload) == "OK"
        assert listing(fresh, "WITHCODE") == listing(rc, "WITHCODE")
        assert fresh.cmd("FCALL", "fa", 0) == b"a"


def test_dump_of_no_libraries_restores_to_nothing(rc):
    payload = rc.cmd("FUNCTION", "DUMP")
    assert isinstance(payload, bytes)
    rc.cmd("FUNCTION", "LOAD", LA)
    assert rc.cmd("FUNCTION", "RESTORE", payload) == "OK"
    assert list(listing(rc)) == ["la"]
    assert rc.cmd("FUNCTION", "RESTORE", payload, "FLUSH") == "OK"
    assert listing(rc) == {}


def test_restore_policies(rc):
    rc.cmd("FUNCTION", "LOAD", LA)
    rc.cmd("FUNCTION", "LOAD", LB)
    payload = rc.cmd("FUNCTION", "DUMP")          # la + lb
    # default (APPEND) and APPEND refuse a library that exists (no quotes around the
    # name, unlike FUNCTION LOAD); which of the two is named depends on the payload order
    exists = [RespError(f"ERR Library {name} already exists") for name in ("la", "lb")]
    assert rc.cmd("FUNCTION", "RESTORE", payload) in exists
    assert rc.cmd("FUNCTION", "RESTORE", payload, "APPEND") in exists
    assert rc.cmd("FUNCTION", "RESTORE", payload, "REPLACE") == "OK"
    assert rc.cmd("FUNCTION", "RESTORE", payload, "replace") == "OK"
    assert sorted(listing(rc)) == ["la", "lb"]
    # FLUSH drops libraries that are not in the payload
    rc.cmd("FUNCTION", "LOAD", lib("extra", ("fx", "1")))
    assert rc.cmd("FUNCTION", "RESTORE", payload, "FLUSH") == "OK"
    assert sorted(listing(rc)) == ["la", "lb"]
    # APPEND into a server without those libraries
    rc.cmd("FUNCTION", "DELETE", "la")
    rc.cmd("FUNCTION", "DELETE", "lb")
    rc.cmd("FUNCTION", "LOAD", lib("extra", ("fx", "1")))
    assert rc.cmd("FUNCTION", "RESTORE", payload, "APPEND") == "OK"
    assert sorted(listing(rc)) == ["extra", "la", "lb"]


def test_restore_function_name_collision(rc):
    rc.cmd("FUNCTION", "LOAD", LA)
    rc.cmd("FUNCTION", "LOAD", LB)
    payload = rc.cmd("FUNCTION", "DUMP")
    rc.cmd("FUNCTION", "DELETE", "lb")
    rc.cmd("FUNCTION", "LOAD", lib("lc", ("fb", "'c'")))   # fb now lives in lc
    assert rc.cmd("FUNCTION", "RESTORE", payload, "APPEND") == RespError(
        "ERR Library la already exists")
    assert rc.cmd("FUNCTION", "RESTORE", payload, "REPLACE") == RespError(
        "ERR Function fb already exists")
    assert sorted(listing(rc)) == ["la", "lc"]          # nothing changed
    assert rc.cmd("FCALL", "fb", 0) == b"c"
    assert rc.cmd("FUNCTION", "RESTORE", payload, "FLUSH") == "OK"
    assert sorted(listing(rc)) == ["la", "lb"]
    assert rc.cmd("FCALL", "fb", 0) == b"b"


def test_restore_bad_payload_and_policy(rc):
    rc.cmd("FUNCTION", "LOAD", LA)
    payload = rc.cmd("FUNCTION", "DUMP")
    rc.cmd("FUNCTION", "FLUSH")
    for bad in (b"garbage", b"", payload[:-1], payload[:5], payload[:-2] + bytes(
            [payload[-2] ^ 0xFF]) + payload[-1:]):
        assert rc.cmd("FUNCTION", "RESTORE", bad) == RespError(BAD_PAYLOAD), bad
    assert rc.cmd("FUNCTION", "RESTORE", payload, "BOGUS") == RespError(
        "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
    assert listing(rc) == {}


# --------------------------------------------------------------------------
# redis-py
# --------------------------------------------------------------------------

def test_redis_py_function_api(r, protocol):
    assert r.function_load(RWLIB) == "rwlib"
    assert r.fcall("w", 1, "k", "v") == "OK"
    assert r.fcall_ro("ro", 1, "k") == "v"
    with raises_error(WRITE_FLAG_RO):
        r.fcall_ro("w", 1, "k", "v")
    with raises_error(NOT_FOUND):
        r.fcall("nosuch", 0)
    listed = r.function_list()
    if protocol == 3:
        (entry,) = listed
    else:
        (entry,) = [as_dict(e) for e in listed]
    assert entry["library_name"] == "rwlib" and entry["engine"] == "LUA"
    fns = {as_dict(f)["name"]: as_dict(f) for f in entry["functions"]}
    assert fns["ro"]["description"] == "reads" and list(fns["ro"]["flags"]) == ["no-writes"]
    assert fns["w"]["description"] is None and list(fns["w"]["flags"]) == []
    coded = r.function_list(library="rw*", withcode=True)
    assert as_dict(coded[0])["library_code"] == RWLIB
    assert r.function_list(library="nomatch") == []
    stats = as_dict(r.function_stats())
    assert stats["running_script"] is None
    assert as_dict(as_dict(stats["engines"])["LUA"]) == {"libraries_count": 1,
                                                          "functions_count": 2}
    payload = r.function_dump()
    assert isinstance(payload, bytes)
    assert r.function_flush("SYNC") is True
    assert r.function_restore(payload) is True
    with raises_error("ERR Library rwlib already exists"):
        r.function_restore(payload, "APPEND")
    assert r.function_restore(payload, "REPLACE") is True
    assert r.function_delete("rwlib") is True
    with raises_error(LIB_NOT_FOUND):
        r.function_delete("rwlib")
    with raises_error(LIB_EXISTS.format("dup")):
        r.function_load(lib("dup", ("d", "1")))
        r.function_load(lib("dup", ("d", "1")))
    assert r.function_load(lib("dup", ("d", "2")), replace=True) == "dup"
    assert r.fcall("d", 0) == 2
    assert r.function_flush("ASYNC") is True and r.function_list() == []


# --------------------------------------------------------------------------
# Busy functions (dedicated server, busy-reply-threshold 100 ms)
# --------------------------------------------------------------------------

SPINLIB = ("#!lua name=busy\n"
           "redis.register_function('spin', function() while true do end end)\n"
           "redis.register_function{function_name='rospin', callback=function()"
           " while true do end end, flags={'no-writes'}}\n"
           "redis.register_function('wspin', function(keys)"
           " redis.call('SET', keys[1], 'v') while true do end end)")


@pytest.mark.parametrize("command, function, line", [
    (("FCALL", "spin", 0), "spin", 2),
    (("FCALL_RO", "rospin", 0), "rospin", 3),
    (("FCALL", "rospin", 0), "rospin", 3),
])
def test_busy_function_then_function_kill(busy, command, function, line):
    admin, spin = busy
    assert admin.cmd("FUNCTION", "LOAD", SPINLIB) == b"busy"
    spinner = spin(*command)
    assert wait_busy(admin) == BUSY_FUNCTION
    assert admin.cmd("GET", "x") == RespError(BUSY_FUNCTION)
    assert admin.cmd("SCRIPT", "KILL") == RespError(BUSY_FUNCTION)
    assert admin.cmd("FUNCTION", "LIST") == RespError(BUSY_FUNCTION)
    # FUNCTION STATS answers while a function runs
    stats = as_dict(admin.cmd("FUNCTION", "STATS"))
    running = as_dict(stats[b"running_script"])
    assert running[b"name"] == function.encode()
    assert running[b"command"] == [str(a).encode() for a in command]
    assert isinstance(running[b"duration_ms"], int) and running[b"duration_ms"] >= 0
    assert as_dict(as_dict(stats[b"engines"])[b"LUA"]) == {b"libraries_count": 1,
                                                           b"functions_count": 3}
    assert admin.cmd("FUNCTION", "KILL") == "OK"
    assert spinner.result() == RespError(function_error(KILLED, function, line))
    assert admin.cmd("PING") == "PONG"
    assert admin.cmd("FUNCTION", "KILL") == RespError(NOTBUSY)


def test_busy_function_stats_in_resp3(busy, busy_server):
    admin, spin = busy
    assert admin.cmd("FUNCTION", "LOAD", SPINLIB) == b"busy"
    with RawConn(busy_server.port, timeout=READ_WAIT) as c3:
        assert isinstance(c3.cmd("HELLO", "3"), dict)
        spinner = spin("FCALL", "spin", 0)
        assert wait_busy(admin) == BUSY_FUNCTION
        stats = c3.cmd("FUNCTION", "STATS")
        assert set(stats) == {"running_script", "engines"}
        assert set(stats["running_script"]) == {"name", "command", "duration_ms"}
        assert stats["running_script"]["name"] == b"spin"
        assert stats["running_script"]["command"] == [b"FCALL", b"spin", b"0"]
        assert stats["engines"] == {"LUA": {"libraries_count": 1, "functions_count": 3}}
        assert c3.cmd("FUNCTION", "KILL") == "OK"
    assert spinner.result() == RespError(function_error(KILLED, "spin", 2))


def test_function_that_wrote_is_unkillable_until_shutdown_nosave(own_server):
    with RawConn(own_server.port, timeout=READ_WAIT) as admin:
        assert admin.cmd("FUNCTION", "LOAD", SPINLIB) == b"busy"
        spinner = Spinner(own_server.port, "FCALL", "wspin", 1, "k")
        try:
            assert wait_busy(admin) == BUSY_FUNCTION
            assert admin.cmd("FUNCTION", "KILL") == RespError(UNKILLABLE)
            assert admin.cmd("SCRIPT", "KILL") == RespError(UNKILLABLE)
            assert admin.cmd("SHUTDOWN") == RespError(BUSY_FUNCTION)
            admin.send(RawConn.encode("SHUTDOWN", "NOSAVE"))
            assert admin.is_closed(READ_WAIT)
            assert spinner.done(READ_WAIT)
            assert spinner.reply is None and spinner.exc is not None   # connection dropped
            assert own_server.proc.wait(timeout=READ_WAIT) == 0
        finally:
            spinner.close()


def test_eval_busy_refuses_function_stats_and_kill(busy):
    admin, spin = busy
    spinner = spin("EVAL", "while true do end", 0)
    assert wait_busy(admin) == BUSY_SCRIPT
    assert admin.cmd("FUNCTION", "STATS") == RespError(BUSY_SCRIPT)
    assert admin.cmd("FUNCTION", "KILL") == RespError(BUSY_SCRIPT)
    assert admin.cmd("SCRIPT", "KILL") == "OK"
    assert isinstance(spinner.result(), RespError)


# --------------------------------------------------------------------------
# vaylix: libraries are durable state
# --------------------------------------------------------------------------

@pytest.mark.vaylix_only
def test_libraries_survive_kill_9_and_script_cache_does_not(own_server):
    with RawConn(own_server.port) as c:
        assert c.cmd("FUNCTION", "LOAD", RWLIB) == b"rwlib"
        assert c.cmd("FUNCTION", "LOAD", LA) == b"la"
        assert c.cmd("FUNCTION", "DELETE", "la") == "OK"
        assert c.cmd("FCALL", "w", 1, "k", "v") == "OK"
        before = listing(c, "WITHCODE")
        sha = c.cmd("SCRIPT", "LOAD", "return 1").decode()
    own_server.proc.kill()  # SIGKILL by PID
    own_server.proc.wait(timeout=READ_WAIT)
    own_server._log.close()
    own_server._log = None
    own_server.start()
    with RawConn(own_server.port) as c:
        assert listing(c, "WITHCODE") == before
        assert c.cmd("FCALL_RO", "ro", 1, "k") == b"v"
        assert c.cmd("EVALSHA", sha, 0) == RespError(NOSCRIPT)



# --------------------------------------------------------------------------
# INFO memory: the scripting fields Redis 7.0 reports
# --------------------------------------------------------------------------

def test_info_memory_scripting_fields(r):
    r.script_flush()
    info = r.info("memory")
    for field in ("used_memory_lua", "used_memory_vm_eval", "used_memory_scripts_eval",
                  "number_of_cached_scripts", "number_of_functions", "number_of_libraries",
                  "used_memory_vm_functions", "used_memory_vm_total", "used_memory_functions",
                  "used_memory_scripts"):
        assert isinstance(info[field], int), field
    assert info["number_of_cached_scripts"] == 0
    assert (info["number_of_functions"], info["number_of_libraries"]) == (0, 0)
    r.script_load("return 'info'")
    r.function_load(RWLIB)
    info = r.info("memory")
    assert info["number_of_cached_scripts"] == 1
    assert (info["number_of_functions"], info["number_of_libraries"]) == (2, 1)
    assert info["used_memory_vm_functions"] > 0 and info["used_memory_functions"] > 0
    assert info["used_memory_vm_total"] == info["used_memory_vm_eval"] + info[
        "used_memory_vm_functions"]
    assert info["used_memory_scripts"] >= info["used_memory_functions"]


def test_fcall_and_function_load_inside_exec_never_deadlock(server):
    """FCALL from one client while another EXECs FUNCTION LOAD REPLACE + FCALL: both keep
    answering (a server taking the function engine before the keyspace gate in one path and
    after it in the other would hang both)."""
    import threading
    with RawConn(server.port) as c:
        assert c.cmd("FUNCTION", "LOAD", lib("dl", ("dlf", "1"))) == b"dl"
    errors = []

    def caller():
        try:
            with RawConn(server.port) as c:
                for _ in range(3000):
                    got = c.cmd("FCALL", "dlf", 0)
                    assert got in (1, 2), got
        except Exception as e:  # noqa: BLE001  (reported below)
            errors.append(e)

    def loader():
        try:
            with RawConn(server.port) as c:
                for i in range(1000):
                    assert c.cmd("MULTI") == "OK"
                    c.cmd("FUNCTION", "LOAD", "REPLACE", lib("dl", ("dlf", str(1 + i % 2))))
                    c.cmd("FCALL", "dlf", 0)
                    got = c.cmd("EXEC")
                    assert got[0] == b"dl" and got[1] in (1, 2), got
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=caller) for _ in range(3)] + [
        threading.Thread(target=loader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "clients still waiting after 30 s"
    assert errors == []

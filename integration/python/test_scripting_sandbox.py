"""Lua scripting sandbox and the libraries Redis 7.0 loads into it, through
EVAL (test_scripting.py covers EVAL/SCRIPT themselves, test_functions.py
FUNCTION/FCALL).

* Unavailable globals: os, io, require, loadfile, dofile, print, debug,
  package, setfenv/getfenv, newproxy, module (all "nonexistent global
  variable" errors, with the 7.0 `script: <sha>, on @user_script:1.` suffix).
* Read-only globals: assigning a global, a library field or the metatable of
  _G fails with "Attempt to modify a readonly table" (7.0; older Redis said
  "Script attempted to create global variable").
* loadstring accepts source but refuses bytecode (returns nil and an error).
* Libraries: string, table, math, cjson (encode/decode, cjson.null), cmsgpack
  (pack/unpack, exact bytes), bit (LuaBitOp), struct, and redis.sha1hex,
  REDIS_VERSION/REDIS_VERSION_NUM (format only: vaylix reports its own
  version), redis.log, redis.breakpoint (false), redis.debug, redis.set_repl
  and the LOG_* / REPL_* constants.

math.random values are not asserted. Everything was checked against
redis-server 7.0.15.
"""

from __future__ import annotations

import re

import pytest

from helpers import RespError
from scripting_helpers import ev, script_error, sha1


# --------------------------------------------------------------------------
# Sandbox
# --------------------------------------------------------------------------

@pytest.mark.parametrize("name, use", [
    ("os", "os.execute('true')"), ("os", "os.time()"), ("io", "io.open('/etc/passwd')"),
    ("require", "require('x')"), ("loadfile", "loadfile('/etc/passwd')"),
    ("dofile", "dofile('/etc/passwd')"), ("print", "print('hello')"), ("debug", "debug.getinfo(1)"),
    ("package", "package.loaded"), ("setfenv", "setfenv(1, {})"), ("getfenv", "getfenv(1)"),
    ("newproxy", "newproxy()"), ("module", "module('x')"),
])
def test_unavailable_globals(rc, name, use):
    body = f"return {use}"
    assert ev(rc, body) == RespError(script_error(
        f"ERR user_script:1: Script attempted to access nonexistent global variable '{name}'",
        body))


@pytest.mark.parametrize("body, prefix", [
    ("x = 5", "user_script:1: "), ("x = 5; return 1", "user_script:1: "),
    ("_G.x = 5; return 1", "user_script:1: "), ("rawset(_G, 'x', 5); return 1", ""),
    ("string.foo = 1; return 1", "user_script:1: "),
    ("redis.call = nil; return 1", "user_script:1: "),
    ("cjson.encode = nil; return 1", "user_script:1: "),
    ("math.random = nil; return 1", "user_script:1: "),
    ("getmetatable(_G).__index = nil; return 1", "user_script:1: "),
    ("setmetatable(_G, nil); return 1", ""),
])
def test_globals_and_libraries_are_read_only(rc, body, prefix):
    assert ev(rc, body) == RespError(
        script_error(f"ERR {prefix}Attempt to modify a readonly table", body))


def test_locals_and_own_tables_are_writable(r):
    assert r.eval("local t = {}; t.x = 1; return t.x", 0) == 1
    assert r.eval("local t = setmetatable({}, {__index = function() return 1 end}); return t.x",
                  0) == 1
    assert r.eval("return rawget(_G, 'nosuch') == nil", 0) == 1


def test_loadstring_refuses_bytecode(r):
    assert r.eval("return loadstring('return 7')()", 0) == 7
    got = r.eval("local f, e = loadstring(string.dump(function() return 1 end));"
                 " return {tostring(f), e}", 0)
    assert got[0] == "nil"
    assert got[1].startswith('[string "\x1bLuaQ"]:1: unexpected symbol near'), got


# --------------------------------------------------------------------------
# Libraries
# --------------------------------------------------------------------------

@pytest.mark.parametrize("name, kind", [
    ("string", "table"), ("table", "table"), ("math", "table"), ("cjson", "table"),
    ("cmsgpack", "table"), ("bit", "table"), ("struct", "table"), ("coroutine", "table"),
    ("loadstring", "function"), ("load", "function"), ("pcall", "function"),
    ("setmetatable", "function"), ("rawget", "function"), ("unpack", "function"),
    ("collectgarbage", "function"), ("gcinfo", "function"), ("_G", "table"),
    ("string.dump", "function"), ("table.getn", "function"), ("math.randomseed", "function"),
])
def test_available_globals(r, name, kind):
    assert r.eval(f"return type({name})", 0) == kind


def test_lua_version(r):
    assert r.eval("return _VERSION", 0) == "Lua 5.1"


def test_string_table_math(r):
    assert r.eval("return string.format('%d-%s-%.2f', 5, 'x', 1.5)", 0) == "5-x-1.50"
    assert r.eval("return table.concat({'a','b','c'}, ',')", 0) == "a,b,c"
    assert r.eval("return string.rep('x', 3)", 0) == "xxx"
    assert r.eval("return tostring(0.1)", 0) == "0.1"
    assert r.eval("return math.floor(7.9)", 0) == 7
    n = r.eval("return math.random(1, 1000000)", 0)
    assert 1 <= n <= 1000000


@pytest.mark.parametrize("body, expected", [
    ("return cjson.encode({1,2,3})", "[1,2,3]"),
    ("return cjson.encode({a=1})", '{"a":1}'),
    ("return cjson.encode({a={b='c'}})", '{"a":{"b":"c"}}'),
    ("return cjson.encode(cjson.null)", "null"),
    ("return cjson.encode({})", "{}"),
    ("return cjson.encode('x\"y')", '"x\\"y"'),
    ("return cjson.encode(1.5)", "1.5"),
    ("return cjson.encode(true)", "true"),
    ("return cjson.encode(cjson.decode('{\"k\":[1,\"two\",true,null]}'))",
     '{"k":[1,"two",true,null]}'),
    ("local t = cjson.decode('{\"a\":[1,2,{\"b\":null}],\"c\":\"d\"}');"
     " return t.a[1]..t.a[2]..tostring(t.a[3].b == cjson.null)..t.c", "12trued"),
    ("return type(cjson.decode('null'))", "userdata"),
    ("return cjson.decode('1.5') * 2", 3),
    ("return cjson.decode('\"s\"')", "s"),
])
def test_cjson(r, body, expected):
    assert r.eval(body, 0) == expected


def test_cmsgpack(rb):
    assert rb.eval("return cmsgpack.pack({1,2,3})", 0) == b"\x93\x01\x02\x03"
    assert rb.eval("return cmsgpack.pack('abc')", 0) == b"\xa3abc"
    assert rb.eval("return cmsgpack.pack(1)", 0) == b"\x01"
    assert rb.eval("return cmsgpack.pack({a=1})", 0) == b"\x81\xa1a\x01"
    assert rb.eval("return cmsgpack.unpack(cmsgpack.pack({1,2,'x'}))", 0) == [1, 2, b"x"]
    assert rb.eval("local a, b = cmsgpack.unpack(cmsgpack.pack(1, 'two')); return {a, b}",
                   0) == [1, b"two"]
    assert rb.eval("local t = cmsgpack.unpack(cmsgpack.pack({a={1,2}, b='c'}));"
                   " return {t.a[2], t.b}", 0) == [2, b"c"]
    assert rb.eval("return cmsgpack.unpack(ARGV[1])", 0, b"\x92\xa2hi\x05") == [b"hi", 5]


@pytest.mark.parametrize("call, expected", [
    ("bit.band(12, 10)", 8), ("bit.bor(12, 10)", 14), ("bit.bxor(12, 10)", 6),
    ("bit.bnot(0)", -1), ("bit.lshift(1, 4)", 16), ("bit.rshift(256, 4)", 16),
    ("bit.arshift(-256, 4)", -16), ("bit.rol(1, 1)", 2), ("bit.bswap(1)", 16777216),
    ("bit.tobit(4294967296 + 5)", 5), ("bit.tohex(255)", "000000ff"),
    ("bit.tohex(255, 4)", "00ff"), ("bit.tohex(255, -4)", "00FF"),
])
def test_bit(r, call, expected):
    assert r.eval(f"return {call}", 0) == expected


def test_struct(rb):
    assert rb.eval("return struct.pack('>I2', 258)", 0) == b"\x01\x02"
    assert rb.eval("return struct.pack('<i4', -2)", 0) == b"\xfe\xff\xff\xff"
    assert rb.eval("return struct.pack('bB', 1, 2)", 0) == b"\x01\x02"
    assert rb.eval("return {struct.unpack('>I2', ARGV[1])}", 0, b"\x01\x02") == [258, 3]
    assert rb.eval("return {struct.unpack('>I2I2', struct.pack('>I2I2', 7, 9))}", 0) == [7, 9, 5]
    assert rb.eval("return {struct.unpack('s', struct.pack('s', 'hi'))}", 0) == [b"hi", 4]
    assert rb.eval("return struct.size('>I2I4')", 0) == 6


def test_redis_sha1hex(r):
    assert r.eval("return redis.sha1hex('')", 0) == "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    assert r.eval("return redis.sha1hex('abc')", 0) == "a9993e364706816aba3e25717850c26c9cd0d89d"
    assert r.eval("return redis.sha1hex(5)", 0) == sha1("5")
    assert r.eval("return redis.sha1hex(ARGV[1])", 0, "return 1") == sha1("return 1")


def test_redis_version_fields(r):
    """vaylix reports its own version: check only the format and that
    REDIS_VERSION_NUM encodes REDIS_VERSION (0x00MMmmpp)."""
    version = r.eval("return redis.REDIS_VERSION", 0)
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), version
    major, minor, patch = (int(x) for x in version.split("."))
    assert r.eval("return redis.REDIS_VERSION_NUM", 0) == (major << 16) | (minor << 8) | patch


def test_redis_log_breakpoint_debug_set_repl(r):
    assert r.eval("return redis.log(redis.LOG_WARNING, 'scripting suite log line')", 0) is None
    assert r.eval("return redis.log(redis.LOG_NOTICE, 'a', 'b', 3)", 0) is None
    assert r.eval("return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE,"
                  " redis.LOG_WARNING}", 0) == [0, 1, 2, 3]
    assert r.eval("return tostring(redis.breakpoint())", 0) == "false"
    assert r.eval("return redis.breakpoint()", 0) is None
    assert r.eval("return redis.debug('x')", 0) is None
    assert r.eval("return redis.set_repl(redis.REPL_ALL)", 0) is None
    assert r.eval("return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA,"
                  " redis.REPL_ALL}", 0) == [0, 1, 2, 2, 3]

"""LATENCY and latency-monitor-threshold, written against redis-server 7.0.15.

A slow call is made with a script that spins on TIME for ~80 ms. The exact text of LATENCY
DOCTOR and GRAPH is for people and differs (vaylix words its own): only their shape is checked.
"""

from __future__ import annotations

import time

import pytest

from helpers import RawConn, RespError, ServerProcess, Verbatim

SPIN = """
local t = redis.call('time')
local s = t[1] * 1000000 + t[2]
while true do
  local n = redis.call('time')
  if n[1] * 1000000 + n[2] - s > tonumber(ARGV[1]) * 1000 then break end
end
return 1
"""


@pytest.fixture(scope="module")
def srv(server):
    s = ServerProcess(name="latency").start()
    yield s
    s.stop()


@pytest.fixture
def c(srv):
    conn = RawConn(srv.port)
    assert conn.cmd("CONFIG", "SET", "latency-monitor-threshold", "0") == "OK"
    conn.cmd("LATENCY", "RESET")
    yield conn
    conn.cmd("CONFIG", "SET", "latency-monitor-threshold", "0")
    conn.close()


def text(v):
    if isinstance(v, Verbatim):
        return v.text if isinstance(v.text, str) else v.text.decode()
    return v.decode() if isinstance(v, bytes) else v


def spin(c, ms):
    assert c.cmd("EVAL", SPIN, "0", str(ms)) == 1


def test_nothing_is_recorded_with_the_monitor_off(c):
    spin(c, 60)
    assert c.cmd("LATENCY", "LATEST") == []
    assert c.cmd("LATENCY", "HISTORY", "command") == []


def test_a_slow_command_is_a_command_event(c):
    assert c.cmd("CONFIG", "SET", "latency-monitor-threshold", "40") == "OK"
    assert c.cmd("CONFIG", "GET", "latency-monitor-threshold") == [
        b"latency-monitor-threshold", b"40"]
    before = int(time.time())
    spin(c, 80)
    after = int(time.time())
    latest = c.cmd("LATENCY", "LATEST")
    assert len(latest) == 1
    name, at, ms, worst = latest[0]
    assert name == b"command"
    assert before - 1 <= at <= after + 1
    assert 80 <= ms < 5000 and worst == ms
    assert c.cmd("LATENCY", "HISTORY", "command") == [[at, ms]]
    # A fast command under the threshold adds nothing.
    assert c.cmd("PING") == "PONG"
    assert c.cmd("LATENCY", "LATEST") == latest


def test_reset_forgets_events(c):
    assert c.cmd("CONFIG", "SET", "latency-monitor-threshold", "40") == "OK"
    spin(c, 60)
    assert c.cmd("LATENCY", "RESET", "nosuch") == 0
    assert c.cmd("LATENCY", "RESET", "command", "nosuch") == 1
    assert c.cmd("LATENCY", "LATEST") == []
    spin(c, 60)
    assert c.cmd("LATENCY", "RESET") == 1
    assert c.cmd("LATENCY", "RESET") == 0


def test_graph_and_doctor_shapes(c):
    assert c.cmd("LATENCY", "GRAPH", "command") == RespError(
        "ERR No samples available for event 'command'")
    assert isinstance(c.cmd("LATENCY", "DOCTOR"), (bytes, Verbatim))
    assert c.cmd("CONFIG", "SET", "latency-monitor-threshold", "40") == "OK"
    spin(c, 60)
    graph = text(c.cmd("LATENCY", "GRAPH", "command"))
    assert graph.startswith("command - high ")
    assert "command" in text(c.cmd("LATENCY", "DOCTOR"))


def test_histogram_is_a_cumulative_distribution_per_command(c):
    assert c.cmd("CONFIG", "RESETSTAT") == "OK"
    for i in range(5):
        assert c.cmd("SET", f"k{i}", "v") == "OK"
    assert c.cmd("GET", "k1") == b"v"
    reply = c.cmd("LATENCY", "HISTOGRAM", "set", "nosuch", "GET")
    hist = dict(zip(reply[::2], reply[1::2]))
    assert set(hist) == {b"set", b"get"}
    for name, calls in [(b"set", 5), (b"get", 1)]:
        fields = dict(zip(hist[name][::2], hist[name][1::2]))
        assert fields[b"calls"] == calls
        cdf = fields[b"histogram_usec"]
        levels, counts = cdf[::2], cdf[1::2]
        assert levels == sorted(levels) and len(set(levels)) == len(levels)
        assert counts == sorted(counts) and counts[-1] == calls
    assert c.cmd("LATENCY", "HISTOGRAM", "nosuch") == []
    everything = c.cmd("LATENCY", "HISTOGRAM")
    assert b"set" in everything[::2] and b"config|resetstat" in everything[::2]


def test_histogram_in_resp3_is_maps(srv):
    c = RawConn(srv.port)
    assert isinstance(c.cmd("HELLO", "3"), dict)
    assert c.cmd("SET", "r3", "v") == "OK"
    hist = c.cmd("LATENCY", "HISTOGRAM", "set")
    # (RawConn gives RESP3 map keys as text.)
    assert set(hist) == {"set"}
    assert set(hist["set"]) == {"calls", "histogram_usec"}
    assert isinstance(hist["set"]["histogram_usec"], dict)
    c.close()


def test_latency_errors(c):
    assert c.cmd("LATENCY") == RespError("ERR wrong number of arguments for 'latency' command")
    assert c.cmd("LATENCY", "LATEST", "x") == RespError(
        "ERR wrong number of arguments for 'latency|latest' command")
    assert c.cmd("LATENCY", "HISTORY") == RespError(
        "ERR wrong number of arguments for 'latency|history' command")
    assert c.cmd("LATENCY", "FOO") == RespError(
        "ERR unknown subcommand 'FOO'. Try LATENCY HELP.")
    assert c.cmd("CONFIG", "SET", "latency-monitor-threshold", "-1") == RespError(
        "ERR CONFIG SET failed (possibly related to argument 'latency-monitor-threshold') - "
        "argument must be between 0 and 9223372036854775807 inclusive")


def test_latency_help(c):
    lines = c.cmd("LATENCY", "HELP")
    assert lines[0] == "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert [l for l in lines if not l.startswith(" ")] == [
        lines[0], "DOCTOR", "GRAPH <event>", "HISTORY <event>", "LATEST",
        "RESET [<event> ...]", "HISTOGRAM [COMMAND ...]", "HELP"]
    assert len(lines) == 17

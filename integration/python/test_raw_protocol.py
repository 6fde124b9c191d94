"""Wire-level tests on plain sockets: inline commands, large pipelines,
request limits and protocol errors. These don't go through redis-py, so they
are not parametrized by protocol (a few switch to RESP3 with HELLO 3)."""

from __future__ import annotations

import threading
import time

import pytest

from helpers import RawConn, RespError


# --------------------------------------------------------------------------
# Inline commands
# --------------------------------------------------------------------------

def test_inline_ping(raw, flushed):
    c = raw()
    c.send(b"PING\r\n")
    assert c.read_line() == b"+PONG"


def test_inline_commands(raw, flushed):
    c = raw()
    c.send(b"SET inline-key value1\r\n")
    assert c.read_line() == b"+OK"
    c.send(b"GET inline-key\r\n")
    assert c.read_reply() == b"value1"
    c.send(b"ping\r\n")  # case-insensitive
    assert c.read_line() == b"+PONG"
    c.send(b"EXISTS inline-key missing\r\n")
    assert c.read_reply() == 1


def test_inline_quoted_arguments(raw, flushed):
    c = raw()
    c.send(b'SET "key with space" "hello world"\r\n')
    assert c.read_line() == b"+OK"
    c.send(b"GET 'key with space'\r\n")
    assert c.read_reply() == b"hello world"
    c.send(b'ECHO "a\\x41\\n"\r\n')
    assert c.read_reply() == b"aA\n"


def test_inline_bare_newline_and_empty_lines(raw, flushed):
    c = raw()
    c.send(b"\r\n\r\nPING\n")
    assert c.read_line() == b"+PONG"
    c.send(b"   \r\nECHO hi\r\n")
    assert c.read_reply() == b"hi"


def test_inline_unknown_command(raw, flushed):
    c = raw()
    c.send(b"FOO bar\r\n")
    assert c.read_line() == b"-ERR unknown command 'FOO', with args beginning with: 'bar' "
    assert c.cmd("PING") == "PONG"


def test_inline_and_multibulk_mixed(raw, flushed):
    c = raw()
    c.send(b"SET a 1\r\n" + RawConn.encode("INCR", "a") + b"GET a\r\n")
    assert c.read_reply() == "OK"
    assert c.read_reply() == 2
    assert c.read_reply() == b"2"


# --------------------------------------------------------------------------
# Framing
# --------------------------------------------------------------------------

def test_command_split_across_writes(raw, flushed):
    c = raw()
    data = RawConn.encode("SET", "split", "x" * 100) + RawConn.encode("GET", "split")
    for i in range(len(data)):
        c.send(data[i:i + 1])
        if i % 16 == 0:
            time.sleep(0.001)
    assert c.read_reply() == "OK"
    assert c.read_reply() == b"x" * 100


def test_large_bulk_argument(raw, flushed):
    c = raw()
    value = bytes(range(256)) * 8192  # 2 MiB
    assert c.cmd("SET", "big", value) == "OK"
    assert c.cmd("STRLEN", "big") == len(value)
    assert c.cmd("GET", "big") == value


def test_binary_bulk_with_crlf_inside(raw, flushed):
    c = raw()
    value = b"\r\n$3\r\nfoo\r\n\x00\xff"
    assert c.cmd("SET", b"k\r\n", value) == "OK"
    assert c.cmd("GET", b"k\r\n") == value


def test_empty_multibulk_is_ignored(raw, flushed):
    c = raw()
    c.send(b"*0\r\n*-1\r\n" + RawConn.encode("PING"))
    assert c.read_line() == b"+PONG"


def test_100k_pipelined_sets(raw, flushed):
    n = 100_000
    c = raw(timeout=60)
    payload = b"".join(RawConn.encode("SET", f"pipe:{i}", f"v{i}") for i in range(n))
    sender_error = []

    def sender():
        try:
            c.sock.sendall(payload)  # one write of ~3.5 MB
        except OSError as exc:
            sender_error.append(exc)

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    expected = b"+OK\r\n" * n
    got = bytearray()
    deadline = time.monotonic() + 60
    while len(got) < len(expected):
        assert time.monotonic() < deadline, f"only {len(got) // 5} replies in time"
        chunk = c.sock.recv(1 << 20)
        assert chunk, "server closed the connection during the pipeline"
        got += chunk
    t.join(timeout=30)
    assert not sender_error, sender_error
    assert bytes(got) == expected
    assert c.cmd("DBSIZE") == n
    assert c.cmd("GET", "pipe:0") == b"v0"
    assert c.cmd("GET", "pipe:99999") == b"v99999"
    assert c.cmd("MGET", "pipe:12345", "pipe:54321") == [b"v12345", b"v54321"]


def test_pipelined_gets_with_resp3(raw, flushed):
    c = raw()
    c.cmd("HELLO", "3")
    c.cmd("SET", "a", "1")
    c.send(b"".join(RawConn.encode("GET", k) for k in ("a", "missing") * 500))
    for _ in range(500):
        assert c.read_reply() == b"1"
        c_line = c.read_line()
        assert c_line == b"_"


# --------------------------------------------------------------------------
# Protocol errors: reply "-ERR Protocol error..." then close the connection
# --------------------------------------------------------------------------

def _assert_protocol_error_and_close(c, data, expected_prefix=b"-ERR Protocol error"):
    c.send(data)
    received = c.read_until_closed(timeout=10)
    assert received.startswith(expected_prefix), received[:200]
    return received


def test_bulk_length_over_512mb(raw, flushed):
    c = raw()
    got = _assert_protocol_error_and_close(c, b"*1\r\n$600000000\r\n")
    assert got == b"-ERR Protocol error: invalid bulk length\r\n"
    # the server is fine for everyone else
    other = raw()
    assert other.cmd("PING") == "PONG"
    assert other.cmd("SET", "after", "1") == "OK"


def test_invalid_bulk_length_text(raw, flushed):
    c = raw()
    got = _assert_protocol_error_and_close(c, b"*1\r\n$abc\r\n")
    assert got == b"-ERR Protocol error: invalid bulk length\r\n"


def test_invalid_multibulk_length(raw, flushed):
    c = raw()
    got = _assert_protocol_error_and_close(c, b"*abc\r\n")
    assert got == b"-ERR Protocol error: invalid multibulk length\r\n"
    c2 = raw()
    got = _assert_protocol_error_and_close(c2, b"*3000000000\r\n")
    assert got == b"-ERR Protocol error: invalid multibulk length\r\n"


def test_expected_dollar(raw, flushed):
    c = raw()
    got = _assert_protocol_error_and_close(c, b"*1\r\nfoo\r\n")
    assert got == b"-ERR Protocol error: expected '$', got 'f'\r\n"


@pytest.mark.parametrize("garbage", [
    b"*\xff\xfe\xfd\r\n",
    b"*1\r\n$1x\r\n",
    b"*3\r\n$3\r\nSET\r\n:12\r\n",
])
def test_garbage_bytes(raw, flushed, garbage):
    c = raw()
    _assert_protocol_error_and_close(c, garbage)
    assert raw().cmd("PING") == "PONG"


def test_unbalanced_quotes_inline(raw, flushed):
    c = raw()
    got = _assert_protocol_error_and_close(c, b'SET "unterminated value\r\n')
    assert got == b"-ERR Protocol error: unbalanced quotes in request\r\n"


def test_commands_before_protocol_error_are_answered(raw, flushed):
    c = raw()
    data = RawConn.encode("SET", "before", "1") + RawConn.encode("PING") + b"*1\r\n$-5\r\n"
    received = _assert_protocol_error_and_close(c, data, expected_prefix=b"+OK\r\n+PONG\r\n")
    assert received == b"+OK\r\n+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"
    assert raw().cmd("GET", "before") == b"1"


# --------------------------------------------------------------------------
# Many connections
# --------------------------------------------------------------------------

def test_many_concurrent_connections(raw, flushed):
    conns = [raw() for _ in range(100)]
    for i, c in enumerate(conns):
        c.send(RawConn.encode("SET", f"conn:{i}", str(i)))
    for c in conns:
        assert c.read_reply() == "OK"
    for i, c in enumerate(conns):
        assert c.cmd("GET", f"conn:{i}") == str(i).encode()
    assert conns[0].cmd("DBSIZE") == 100

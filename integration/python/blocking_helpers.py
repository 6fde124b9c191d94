"""Helpers and fixtures shared by the blocking-command suites
(test_blocking.py, test_blocking_details.py).

* Waiter: a raw connection (RESP2 or RESP3, as the test is parametrised)
  that sends a blocking command and reads its reply later, so one test can
  hold several clients blocked while another client pushes.
* wait_blocked(admin, n): polls INFO clients until blocked_clients == n
  (bounded): a push is only sent once the waiter is known to be blocked.
* Every read has a socket timeout; nothing here can hang a test.
"""

from __future__ import annotations

import socket
import time

import pytest

from helpers import RawConn
from zset_helpers import Wire, read_raw

BLOCK_WAIT = 4.0    # max seconds to wait for a client to show up as blocked
REPLY_WAIT = 4.0    # max seconds to wait for a woken client's reply
SILENT_WAIT = 0.15  # how long a "still blocked" client must stay silent

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
SYNTAX = "ERR syntax error"
NEGATIVE = "ERR timeout is negative"
NOT_FLOAT = "ERR timeout is not a float or out of range"
NUMKEYS = "ERR numkeys should be greater than 0"
COUNT = "ERR count should be greater than 0"
UNBLOCKED = "UNBLOCKED client unblocked via CLIENT UNBLOCK"


def arity(cmd):
    return f"ERR wrong number of arguments for '{cmd}' command"


def info_clients(conn) -> dict:
    text = conn.cmd("INFO", "clients")
    text = text.decode() if isinstance(text, bytes) else str(text)
    out = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v.strip()
    return out


def blocked_clients(conn) -> int:
    return int(info_clients(conn)["blocked_clients"])


def wait_blocked(conn, n, timeout=BLOCK_WAIT):
    """Wait (bounded) until INFO clients reports exactly n blocked clients."""
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        seen = blocked_clients(conn)
        if seen == n:
            return
        time.sleep(0.01)
    raise AssertionError(f"blocked_clients is {seen}, expected {n} within {timeout}s")


class Waiter:
    """A raw client that can be left blocked while others run commands."""

    def __init__(self, port, protocol, timeout=REPLY_WAIT):
        self.conn = RawConn(port, timeout=timeout)
        self.protocol = protocol
        if protocol == 3:
            assert isinstance(self.conn.cmd("HELLO", "3"), dict)
        self.id = self.conn.cmd("CLIENT", "ID")
        assert isinstance(self.id, int)

    def close(self):
        self.conn.close()

    def cmd(self, *args):
        """A normal command: parsed reply (errors returned as RespError)."""
        return self.conn.cmd(*args)

    def send(self, *args):
        """Send a (blocking) command without reading its reply."""
        self.conn.send(self.conn.encode(*args))

    def block(self, admin, n, *args):
        """Send a blocking command and wait until n clients are blocked."""
        self.send(*args)
        wait_blocked(admin, n)

    def _settimeout(self, t):
        self.conn.sock.settimeout(t)

    def reply(self, timeout=REPLY_WAIT) -> bytes:
        """The exact bytes of the next reply (fails after `timeout`)."""
        self._settimeout(timeout)
        try:
            return read_raw(self.conn)
        except socket.timeout:
            raise AssertionError(f"no reply within {timeout}s") from None
        finally:
            self._settimeout(REPLY_WAIT)

    def value(self, timeout=REPLY_WAIT):
        """The next reply, parsed by RawConn."""
        self._settimeout(timeout)
        try:
            return self.conn.read_reply()
        except socket.timeout:
            raise AssertionError(f"no reply within {timeout}s") from None
        finally:
            self._settimeout(REPLY_WAIT)

    def silent(self, wait=SILENT_WAIT) -> bool:
        """True when nothing arrives within `wait` seconds (still blocked).
        Bytes that do arrive are kept for the next reply()."""
        if self.conn.buf:
            return False
        self._settimeout(wait)
        try:
            chunk = self.conn.sock.recv(1 << 16)
        except socket.timeout:
            return True
        finally:
            self._settimeout(REPLY_WAIT)
        if not chunk:
            raise ConnectionError("connection closed by server")
        self.conn.buf += chunk
        return False


@pytest.fixture
def w(protocol):
    """Expected wire bytes for the test's protocol."""
    return Wire(protocol)


@pytest.fixture
def admin(server, flushed):
    """A RESP2 raw connection for setup, pushes and INFO; waits (bounded)
    until no client of an earlier test is still blocked."""
    c = RawConn(server.port, timeout=REPLY_WAIT)
    wait_blocked(c, 0)
    yield c
    c.close()


@pytest.fixture
def waiter(server, protocol):
    """Factory of Waiters in the test's protocol; all closed at teardown."""
    made = []

    def make():
        x = Waiter(server.port, protocol)
        made.append(x)
        return x

    yield make
    for x in made:
        x.close()


def needs_command(conn, *names):
    """Skips the test when the server under test lacks one of `names` (a command of a
    later issue: EVAL, SORT, DUMP/RESTORE, SWAPDB). Real Redis has them all, so the
    reference run never skips."""
    for name in names:
        info = conn.cmd("COMMAND", "INFO", name)
        if not info or info[0] is None:
            pytest.skip(f"server has no {name.upper()} yet")

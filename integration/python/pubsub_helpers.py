"""Helpers and fixtures shared by the pub/sub suites (test_pubsub.py,
test_pubsub_wire.py).

* Sub: a raw connection (RESP2, or RESP3 after HELLO 3) that subscribes and
  reads frames byte for byte, with a socket timeout on every read.
* frame(...) builds the exact bytes Redis sends: `*N` in RESP2, the push
  type `>N` in RESP3 (subscribe confirmations are push frames too).
* wait_until(): bounded polling; quiet fixture: waits (bounded) until no
  subscription of an earlier test is left on the server.

Every expected byte string was captured from redis-server 7.0.15; the
findings are summarised in PUBSUB_FACTS.md.
"""

from __future__ import annotations

import socket
import time

import pytest

from helpers import RawConn
from zset_helpers import read_raw

READ_WAIT = 5.0      # max seconds for an expected frame
SILENT_WAIT = 0.15   # how long a connection must stay silent
POLL_WAIT = 5.0      # max seconds for server-side state to settle

NOT_ALLOWED = ("ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE"
               " / PING / QUIT / RESET are allowed in this context")


def not_allowed(name: str) -> str:
    """The RESP2 subscriber-mode refusal; name is lowercase, `pubsub|numsub`
    for subcommands."""
    return NOT_ALLOWED.format(name)


def _b(x) -> bytes:
    if isinstance(x, bytes):
        return x
    return str(x).encode()


def bulk(x) -> bytes:
    if x is None:
        raise ValueError("use null(protocol)")
    x = _b(x)
    return b"$%d\r\n%s\r\n" % (len(x), x)


def null(protocol) -> bytes:
    return b"_\r\n" if protocol == 3 else b"$-1\r\n"


def frame(protocol, *items) -> bytes:
    """A pub/sub frame: items are bytes already encoded, or str/bytes
    (bulk) or int (integer)."""
    parts = []
    for it in items:
        if isinstance(it, int) and not isinstance(it, bool):
            parts.append(b":%d\r\n" % it)
        elif isinstance(it, Enc):
            parts.append(it.data)
        else:
            parts.append(bulk(it))
    head = b">" if protocol == 3 else b"*"
    return head + b"%d\r\n" % len(parts) + b"".join(parts)


class Enc:
    """Already-encoded bytes inside frame()."""

    def __init__(self, data: bytes):
        self.data = data


def confirm(protocol, kind, channel, count) -> bytes:
    """subscribe/unsubscribe/psubscribe/... confirmation frame."""
    ch = Enc(null(protocol)) if channel is None else channel
    return frame(protocol, kind, ch, count)


def message(protocol, channel, payload) -> bytes:
    return frame(protocol, "message", channel, payload)


def pmessage(protocol, pattern, channel, payload) -> bytes:
    return frame(protocol, "pmessage", pattern, channel, payload)


def smessage(protocol, channel, payload) -> bytes:
    return frame(protocol, "smessage", channel, payload)


class Sub:
    """A raw subscriber connection."""

    def __init__(self, port, protocol=2, timeout=READ_WAIT):
        self.conn = RawConn(port, timeout=timeout)
        self.protocol = protocol
        if protocol == 3:
            assert isinstance(self.conn.cmd("HELLO", "3"), dict)
        self.id = self.conn.cmd("CLIENT", "ID")
        assert isinstance(self.id, int)

    def close(self):
        self.conn.close()

    def send(self, *args):
        self.conn.send(self.conn.encode(*args))

    def cmd(self, *args):
        """Send, then the parsed next reply (errors returned as RespError)."""
        return self.conn.cmd(*args)

    def frames(self, n, timeout=READ_WAIT) -> bytes:
        """The exact bytes of the next n replies/frames."""
        self.conn.sock.settimeout(timeout)
        try:
            return b"".join(read_raw(self.conn) for _ in range(n))
        except socket.timeout:
            raise AssertionError(f"fewer than {n} frames within {timeout}s") from None
        finally:
            self.conn.sock.settimeout(READ_WAIT)

    def raw(self, *args, n=1) -> bytes:
        """Send a command and return the exact bytes of n frames."""
        self.send(*args)
        return self.frames(n)

    def silent(self, wait=SILENT_WAIT) -> bool:
        """True when nothing arrives within `wait` seconds."""
        if self.conn.buf:
            return False
        self.conn.sock.settimeout(wait)
        try:
            chunk = self.conn.sock.recv(1 << 16)
        except socket.timeout:
            return True
        finally:
            self.conn.sock.settimeout(READ_WAIT)
        if not chunk:
            raise ConnectionError("connection closed by server")
        self.conn.buf += chunk
        return False


class SmallRcvbufConn(RawConn):
    """A RawConn whose socket has a small SO_RCVBUF, set before connect()
    (so the TCP window stays small): a subscriber that never reads."""

    def __init__(self, port, rcvbuf=4096, host="127.0.0.1", timeout=READ_WAIT):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(timeout)
        sock.connect((host, port))
        self.sock = sock
        self.buf = b""


def wait_until(pred, timeout=POLL_WAIT, what="condition"):
    """Poll pred() (bounded); returns its last truthy value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(0.01)
    raise AssertionError(f"{what} not reached within {timeout}s (last: {last!r})")


def info_fields(conn, section="stats") -> dict:
    text = conn.cmd("INFO", section)
    text = text.decode() if isinstance(text, bytes) else str(text)
    out = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v.strip()
    return out


def client_list(conn) -> list[dict]:
    text = conn.cmd("CLIENT", "LIST")
    text = text.decode() if isinstance(text, bytes) else str(text)
    out = []
    for line in text.splitlines():
        if line.strip():
            out.append(dict(f.split("=", 1) for f in line.split(" ") if "=" in f))
    return out


def no_subscriptions(conn) -> bool:
    return (conn.cmd("PUBSUB", "CHANNELS") == []
            and conn.cmd("PUBSUB", "NUMPAT") == 0
            and conn.cmd("PUBSUB", "SHARDCHANNELS") == [])


@pytest.fixture
def admin(server, flushed):
    """A RESP2 raw connection for PUBLISH/PUBSUB/INFO; waits (bounded) until
    subscriptions left by earlier tests' closed connections are gone."""
    c = RawConn(server.port, timeout=READ_WAIT)
    wait_until(lambda: no_subscriptions(c), what="no subscriptions left")
    yield c
    c.close()


@pytest.fixture
def subs(server):
    """Factory for raw subscribers of a given protocol (default RESP2), not
    parametrised; all closed at teardown."""
    made = []

    def make(proto=2, port=None):
        s = Sub(port or server.port, proto)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


@pytest.fixture
def sub(subs, protocol):
    """Factory for raw subscribers speaking the test's protocol."""
    def make(port=None):
        return subs(protocol, port)
    return make

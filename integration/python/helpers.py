"""Shared helpers for the vaylix client-compatibility suite.

* ServerProcess: starts vaylix or redis-server on a free loopback port in a
  temporary directory, waits (bounded) until it answers PING, stops it by PID.
* RawConn: a minimal RESP2/RESP3 client over a plain socket, so tests can see
  exact reply types and full error lines without redis-py in the way.
* full_error / raises_error: compare the complete error line ("ERR ...",
  "WRONGPASS ...") even though redis-py strips known prefixes.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import time

import pytest
import redis

HOST = "127.0.0.1"
READY_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


# --------------------------------------------------------------------------
# Which server is under test
# --------------------------------------------------------------------------

def server_under_test():
    """Return (kind, binary): kind is "vaylix", "redis" or None."""
    vaylix = os.environ.get("VAYLIX_BIN")
    if vaylix:
        return "vaylix", vaylix
    redis_bin = os.environ.get("REDIS_SERVER_BIN")
    if redis_bin:
        return "redis", redis_bin
    if os.environ.get("TEST_AGAINST_REDIS") == "1":
        found = shutil.which("redis-server")
        if found:
            return "redis", found
    return None, None


KIND, BINARY = server_under_test()
IS_VAYLIX = KIND == "vaylix"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class ServerProcess:
    """One server process on a free port with its own temporary directory."""

    def __init__(self, extra_args=(), name="server"):
        if KIND is None:
            raise RuntimeError(
                "no server under test: set VAYLIX_BIN=/path/to/vaylix, or "
                "REDIS_SERVER_BIN=/usr/bin/redis-server, or TEST_AGAINST_REDIS=1"
            )
        self.kind = KIND
        self.binary = BINARY
        self.extra_args = list(extra_args)
        self.name = name
        self.tmpdir = tempfile.mkdtemp(prefix=f"{KIND}-it-{name}-")
        self.proc = None
        self.port = None
        self.log_path = os.path.join(self.tmpdir, "server.log")
        self._log = None

    def command_line(self, port):
        if self.kind == "vaylix":
            args = [self.binary, "--port", str(port), "--bind", HOST,
                    "--data-dir", self.tmpdir]
            args += shlex.split(os.environ.get("VAYLIX_EXTRA_ARGS", ""))
        else:
            args = [self.binary, "--port", str(port), "--bind", HOST,
                    "--save", "", "--appendonly", "no", "--dir", self.tmpdir,
                    # Redis 7 refuses DEBUG unless enabled; the suite uses
                    # DEBUG SLEEP 0.
                    "--enable-debug-command", "yes"]
        return args + self.extra_args

    def start(self):
        last_error = None
        for _attempt in range(3):  # a free port can be taken in between
            port = free_port()
            self._log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                self.command_line(port), stdout=self._log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=self.tmpdir)
            self.port = port
            try:
                self._wait_ready()
                return self
            except RuntimeError as exc:
                last_error = exc
                self._kill()
        raise last_error

    def _wait_ready(self):
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.kind} exited with {self.proc.returncode} before "
                    f"answering PING:\n{self.log_tail()}")
            try:
                with socket.create_connection((HOST, self.port), timeout=1) as s:
                    s.sendall(b"*1\r\n$4\r\nPING\r\n")
                    data = s.recv(64)
                    # +PONG, or -NOAUTH on a server with requirepass
                    if data.startswith(b"+PONG") or data.startswith(b"-NOAUTH"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(
            f"{self.kind} did not answer PING within {READY_TIMEOUT}s:\n"
            f"{self.log_tail()}")

    def log_tail(self, n=4000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return "<no log>"

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # by PID (Popen.terminate -> kill(pid))
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT)
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self):
        self._kill()
        shutil.rmtree(self.tmpdir, ignore_errors=True)


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------

def full_error(exc: BaseException) -> str:
    """The complete error line as the server sent it (minus the '-')."""
    code = getattr(exc, "status_code", None)
    text = str(exc)
    # redis-py strips some known codes from the text and keeps them apart; newer releases
    # keep the whole line for others (8.2 does for UNBLOCKED).
    if code and not text.startswith(f"{code} "):
        return f"{code} {text}"
    return text


@contextlib.contextmanager
def raises_error(expected: str, exc_type=redis.exceptions.RedisError,
                 prefix: bool = False):
    """Expect a server error whose full line equals `expected`
    (or starts with it when prefix=True)."""
    with pytest.raises(exc_type) as info:
        yield info
    got = full_error(info.value)
    if prefix:
        assert got.startswith(expected), f"error {got!r} does not start with {expected!r}"
    else:
        assert got == expected, f"error {got!r} != expected {expected!r}"


def as_dict(value):
    """RESP3 maps arrive as dicts, RESP2 as flat lists: normalise to dict."""
    if isinstance(value, dict):
        return value
    assert isinstance(value, list) and len(value) % 2 == 0, value
    return {value[i]: value[i + 1] for i in range(0, len(value), 2)}


def text(value):
    return value.decode() if isinstance(value, bytes) else value


# --------------------------------------------------------------------------
# Raw RESP client
# --------------------------------------------------------------------------

class RespError(Exception):
    def __init__(self, line: str):
        super().__init__(line)
        self.line = line

    def __eq__(self, other):
        return isinstance(other, RespError) and other.line == self.line

    def __repr__(self):
        return f"RespError({self.line!r})"


class Verbatim(str):
    """RESP3 verbatim string; .format holds the 3-letter type."""
    format = "txt"


class RawConn:
    """A tiny RESP client on a plain socket. Error replies are *returned*
    as RespError values, not raised, so tests can compare them."""

    def __init__(self, port, host=HOST, timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @staticmethod
    def encode(*args) -> bytes:
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if isinstance(a, str):
                a = a.encode()
            elif isinstance(a, int):
                a = str(a).encode()
            elif isinstance(a, float):
                a = repr(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def send(self, data: bytes):
        self.sock.sendall(data)

    def cmd(self, *args):
        self.send(self.encode(*args))
        return self.read_reply()

    def _fill(self):
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("connection closed by server")
        self.buf += chunk

    def read_line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_exact(self, n: int) -> bytes:
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def read_reply(self):
        line = self.read_line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return RespError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self.read_exact(n)
        if t in (b"*", b"~", b">"):
            n = int(rest)
            if n < 0:
                return None
            items = [self.read_reply() for _ in range(n)]
            return set(map(_hashable, items)) if t == b"~" else items
        if t == b"%":
            n = int(rest)
            out = {}
            for _ in range(n):
                k = self.read_reply()
                out[_hashable(k)] = self.read_reply()
            return out
        if t == b"|":  # attribute: skip it, return the real reply
            n = int(rest)
            for _ in range(2 * n):
                self.read_reply()
            return self.read_reply()
        if t == b"_":
            return None
        if t == b",":
            return float(rest)
        if t == b"#":
            return rest == b"t"
        if t == b"(":
            return int(rest)
        if t == b"!":
            return RespError(self.read_exact(int(rest)).decode())
        if t == b"=":
            data = self.read_exact(int(rest))
            v = Verbatim(data[4:].decode())
            v.format = data[:3].decode()
            return v
        raise AssertionError(f"unexpected RESP line {line!r}")

    def read_until_closed(self, timeout=5.0) -> bytes:
        """Read everything until the server closes the connection. Fails if it
        is still open after `timeout` seconds."""
        data, self.buf = self.buf, b""
        deadline = time.monotonic() + timeout
        self.sock.settimeout(0.2)
        while True:
            try:
                chunk = self.sock.recv(1 << 16)
            except socket.timeout:
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"server did not close the connection within {timeout}s; "
                        f"received {data[:200]!r}")
                continue
            except ConnectionResetError:
                return data
            if not chunk:
                return data
            data += chunk

    def is_closed(self, timeout=5.0) -> bool:
        try:
            self.read_until_closed(timeout)
            return True
        except AssertionError:
            return False


def _hashable(v):
    if isinstance(v, list):
        return tuple(_hashable(x) for x in v)
    if isinstance(v, bytes):
        return v.decode("utf-8", "surrogateescape")
    return v

"""Helpers shared by the scripting suites (test_scripting.py for EVAL/SCRIPT,
test_functions.py for FUNCTION/FCALL).

* ev(conn, body, ...): EVAL on a RawConn.
* sha1 / script_error / function_error: the exact error lines Redis 7.0 sends
  when a script fails at run time. An error raised inside a script (by
  redis.call or by Lua) gets a suffix naming the script and the line:
  `<error> script: <sha1 of the body>, on @user_script:<line>.` for EVAL and
  `<error> script: <function name>, on @user_function:<line>.` for FCALL.
  Errors caught before the script runs (compile errors, shebang errors,
  NOSCRIPT, write-flag refusals) and errors returned as values
  (redis.pcall, {err=...}, redis.error_reply) have no suffix.
* Spinner / wait_busy / BusyServer: a long-running script on its own
  connection in a thread, bounded polling until the server answers -BUSY, and
  a dedicated server (busy-reply-threshold 100 ms) that is brought back to
  idle after every test, so the session server never sees a busy script.

Every expected string was captured from redis-server 7.0.15.
"""

from __future__ import annotations

import hashlib
import threading
import time

import pytest

from helpers import RawConn, RespError, ServerProcess

READ_WAIT = 5.0             # max seconds for an expected reply or state change
BUSY_THRESHOLD_MS = 100     # busy-reply-threshold on the busy servers

NOSCRIPT = "NOSCRIPT No matching script. Please use EVAL."
NOT_ALLOWED = "ERR This Redis command is not allowed from script"
RO_WRITE = "ERR Write commands are not allowed from read-only scripts."
WRITE_FLAG_RO = "ERR Can not execute a script with write flag using *_ro command."
NUMKEYS_GREATER = "ERR Number of keys can't be greater than number of args"
NUMKEYS_NEGATIVE = "ERR Number of keys can't be negative"
NOT_INT = "ERR value is not an integer or out of range"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
BUSY_SCRIPT = ("BUSY Redis is busy running a script. You can only call SCRIPT KILL or "
               "SHUTDOWN NOSAVE.")
BUSY_FUNCTION = ("BUSY Redis is busy running a script. You can only call FUNCTION KILL or "
                 "SHUTDOWN NOSAVE.")
NOTBUSY = "NOTBUSY No scripts in execution right now."
UNKILLABLE = ("UNKILLABLE Sorry the script already executed write commands against the "
              "dataset. You can either wait the script termination or kill the server in a "
              "hard way using the SHUTDOWN NOSAVE command.")
# Also the text for FUNCTION KILL: Redis 7.0 says "SCRIPT KILL" either way.
KILLED = "ERR Script killed by user with SCRIPT KILL..."


def arity(cmd: str) -> str:
    return f"ERR wrong number of arguments for '{cmd}' command"


def ev(conn, body, *keys_then_args, numkeys=0):
    """EVAL body numkeys keys_then_args... on a RawConn."""
    return conn.cmd("EVAL", body, numkeys, *keys_then_args)


def sha1(body) -> str:
    if isinstance(body, str):
        body = body.encode()
    return hashlib.sha1(body).hexdigest()


def script_error(message: str, body: str, line: int = 1) -> str:
    """The error line of an EVAL whose script raised `message` at `line`."""
    return f"{message} script: {sha1(body)}, on @user_script:{line}."


def function_error(message: str, function: str, line: int) -> str:
    """The error line of an FCALL whose function raised `message` at `line` of
    the library source (the shebang is line 1)."""
    return f"{message} script: {function}, on @user_function:{line}."


# --------------------------------------------------------------------------
# Busy scripts
# --------------------------------------------------------------------------

class Spinner:
    """Sends one command (a script that runs long) on its own raw connection
    from a thread; result() waits, bounded, for its reply."""

    def __init__(self, port, *command):
        self.command = command
        self.conn = RawConn(port, timeout=2 * READ_WAIT)
        self.reply = None
        self.exc = None
        self.thread = threading.Thread(target=self._run, daemon=True,
                                       name=f"spinner-{command[0]}")
        self.thread.start()

    def _run(self):
        try:
            self.reply = self.conn.cmd(*self.command)
        except (OSError, ConnectionError) as exc:   # socket.timeout is an OSError
            self.exc = exc

    def done(self, timeout=READ_WAIT) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def result(self, timeout=READ_WAIT):
        """The reply; fails if none arrived within `timeout` seconds or the
        connection broke (see .exc)."""
        assert self.done(timeout), f"{self.command[0]} still running after {timeout}s"
        assert self.exc is None, f"{self.command[0]} connection failed: {self.exc!r}"
        return self.reply

    def close(self):
        self.conn.close()


def wait_busy(conn, timeout=READ_WAIT) -> str:
    """PINGs until the server answers -BUSY (the spinning script has passed
    busy-reply-threshold); returns that error line."""
    deadline = time.monotonic() + timeout
    while True:
        got = conn.cmd("PING")
        if isinstance(got, RespError) and got.line.startswith("BUSY"):
            return got.line
        assert time.monotonic() < deadline, f"server not busy after {timeout}s: {got!r}"
        time.sleep(0.01)


def set_busy_threshold(conn, ms=BUSY_THRESHOLD_MS):
    assert conn.cmd("CONFIG", "SET", "busy-reply-threshold", str(ms)) == "OK"


class BusyServer:
    """A dedicated server for busy-script tests. idle() ends any script a
    failed test left running (SCRIPT KILL, FUNCTION KILL) and, if that is
    not enough (an unkillable script), replaces the server."""

    def __init__(self):
        self.srv = self._start()

    @staticmethod
    def _start():
        srv = ServerProcess(name="busy").start()
        with RawConn(srv.port) as c:
            set_busy_threshold(c)
        return srv

    @property
    def port(self):
        return self.srv.port

    def idle(self):
        with RawConn(self.port, timeout=READ_WAIT) as c:
            deadline = time.monotonic() + READ_WAIT
            while True:
                got = c.cmd("PING")
                if got == "PONG":
                    c.cmd("FUNCTION", "FLUSH")
                    c.cmd("FLUSHALL")
                    return
                if time.monotonic() > deadline:
                    break
                c.cmd("SCRIPT", "KILL")
                c.cmd("FUNCTION", "KILL")
                time.sleep(0.05)
        self.srv.stop()
        self.srv = self._start()

    def stop(self):
        self.srv.stop()


@pytest.fixture(scope="module")
def busy_server(server):
    srv = BusyServer()
    yield srv
    srv.stop()


@pytest.fixture
def busy(busy_server):
    """(admin RawConn on the busy server, spin(*command) -> Spinner). Every
    spinner is ended and the server is idle again after the test."""
    admin = RawConn(busy_server.port, timeout=READ_WAIT)
    spinners = []

    def spin(*command):
        s = Spinner(busy_server.port, *command)
        spinners.append(s)
        return s

    yield admin, spin
    admin.close()
    busy_server.idle()
    for s in spinners:
        s.done(READ_WAIT)
        s.close()


@pytest.fixture
def own_server(server):
    """A fresh server of its own (for SHUTDOWN NOSAVE, restarts, restores);
    busy-reply-threshold is set to 100 ms. Stopped by PID afterwards (a server
    that already exited is fine)."""
    srv = ServerProcess(name="own").start()
    with RawConn(srv.port) as c:
        set_busy_threshold(c)
    yield srv
    srv.stop()

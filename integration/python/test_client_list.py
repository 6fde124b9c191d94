"""CLIENT LIST / CLIENT INFO fields and CLIENT KILL filters, written against redis-server 7.0.15.

Memory figures differ between servers (buffer sizes are each server's own); what is checked
is that they are real: the query buffer and argument bytes of the running command, a real
file descriptor, totals that add up.
"""

from __future__ import annotations

import pytest

from helpers import RawConn, RespError, ServerProcess

REDIS_70_FIELDS = ["id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db", "sub",
                   "psub", "ssub", "multi", "qbuf", "qbuf-free", "argv-mem", "multi-mem", "rbs",
                   "rbp", "obl", "oll", "omem", "tot-mem", "events", "cmd", "user", "redir",
                   "resp"]


@pytest.fixture(scope="module")
def srv(server):
    # Its own server: CLIENT KILL here must not reach other suites' connections.
    s = ServerProcess(name="client-list").start()
    yield s
    s.stop()


@pytest.fixture
def raw(srv):
    conns = []

    def make():
        c = RawConn(srv.port)
        conns.append(c)
        return c

    yield make
    for c in conns:
        c.close()


def fields(line):
    out = {}
    for part in line.strip().split(" "):
        k, _, v = part.partition("=")
        out[k] = v
    return out


def text(v):
    return v if isinstance(v, str) else v.decode()


def test_fields_in_redis_order(raw):
    c = raw()
    names = list(fields(text(c.cmd("CLIENT", "INFO"))))
    # Redis 7.0's fields in its order (vaylix also prints 7.2's lib-name/lib-ver and watch).
    at = [names.index(f) for f in REDIS_70_FIELDS]
    assert at == sorted(at)


def test_client_info_reports_the_running_command_buffers(raw):
    c = raw()
    request = RawConn.encode("CLIENT", "INFO")
    c.send(request)
    f = fields(text(c.read_reply()))
    assert int(f["fd"]) > 0
    assert int(f["qbuf"]) == len(request)
    assert int(f["argv-mem"]) == len("CLIENT") + len("INFO")
    assert int(f["qbuf-free"]) >= 0
    assert int(f["rbs"]) > 0 and int(f["rbp"]) >= 0
    assert int(f["tot-mem"]) >= int(f["qbuf"]) + int(f["argv-mem"]) + int(f["omem"])
    assert f["cmd"] == "client|info"


def test_an_idle_client_has_no_command_buffers(raw):
    idle = raw()
    me = idle.cmd("CLIENT", "ID")
    c = raw()
    lines = [fields(l) for l in text(c.cmd("CLIENT", "LIST")).splitlines()]
    other = next(f for f in lines if f["id"] == str(me))
    assert other["qbuf"] == "0" and other["argv-mem"] == "0"
    assert int(other["fd"]) > 0 and other["fd"] != fields(text(c.cmd("CLIENT", "INFO")))["fd"]


def test_kill_filter_errors(raw):
    c = raw()
    assert c.cmd("CLIENT", "KILL", "TYPE", "Bogus") == RespError("ERR Unknown client type 'Bogus'")
    assert c.cmd("CLIENT", "KILL", "USER", "nosuch") == RespError("ERR No such user 'nosuch'")
    assert c.cmd("CLIENT", "KILL", "ID", "abc") == RespError(
        "ERR client-id should be greater than 0")
    assert c.cmd("CLIENT", "KILL", "SKIPME", "maybe") == RespError("ERR syntax error")
    assert c.cmd("CLIENT", "KILL", "MAXAGE", "10") == RespError("ERR syntax error")
    assert c.cmd("CLIENT", "KILL", "1.2.3.4:5") == RespError("ERR No such client")


def test_kill_by_user_and_laddr(raw):
    c = raw()
    victim = raw()
    vid = victim.cmd("CLIENT", "ID")
    mine = fields(text(c.cmd("CLIENT", "INFO")))
    assert c.cmd("CLIENT", "KILL", "LADDR", "1.2.3.4:5") == 0
    # Every client is the default user's: all but this one go.
    assert c.cmd("CLIENT", "KILL", "USER", "default", "LADDR", mine["laddr"]) >= 1
    ids = [fields(l)["id"] for l in text(c.cmd("CLIENT", "LIST")).splitlines()]
    assert str(vid) not in ids and mine["id"] in ids

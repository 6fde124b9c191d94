"""Fixtures for the vaylix client-compatibility suite.

The server under test comes from the environment:
  VAYLIX_BIN=/path/to/vaylix            -> vaylix (preferred when set)
  REDIS_SERVER_BIN=/usr/bin/redis-server -> real Redis (reference run)
  TEST_AGAINST_REDIS=1                  -> redis-server from PATH
One server is started per test session (plus extra ones where a test needs a
different configuration, e.g. --requirepass) and stopped by PID at the end.

Every redis-py test runs twice: protocol=2 (RESP2) and protocol=3 (RESP3).
"""

from __future__ import annotations

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from helpers import HOST, IS_VAYLIX, KIND, RawConn, ServerProcess


def pytest_report_header(config):
    from helpers import BINARY
    return [f"server under test: {KIND or 'NONE'} ({BINARY or 'unset'}), "
            f"redis-py {redis.__version__}"]


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="vaylix-only extension; server under test is Redis")
    for item in items:
        if "vaylix_only" in item.keywords and not IS_VAYLIX:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def server():
    if KIND is None:
        pytest.exit("no server under test: set VAYLIX_BIN, REDIS_SERVER_BIN, "
                    "or TEST_AGAINST_REDIS=1 (see integration/README.md)",
                    returncode=4)
    srv = ServerProcess(name="main").start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def is_vaylix():
    return IS_VAYLIX


@pytest.fixture(scope="session")
def server_version(server):
    """(major, minor, patch) reported by INFO server's redis_version."""
    with RawConn(server.port) as c:
        info = c.cmd("INFO", "server").decode()
    for line in info.splitlines():
        if line.startswith("redis_version:"):
            parts = line.split(":", 1)[1].strip().split(".")
            return tuple(int(p) for p in (parts + ["0", "0"])[:3] if p.isdigit())
    return (0, 0, 0)


@pytest.fixture
def requires_redis(server_version):
    """requires_redis(7, 2): skip against a real Redis older than that.
    Never skips against vaylix (which targets the newest semantics)."""
    def check(*version):
        if not IS_VAYLIX and server_version < tuple(version):
            pytest.skip(f"needs Redis >= {'.'.join(map(str, version))}, "
                        f"server is {'.'.join(map(str, server_version))}")
    return check


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def protocol(request):
    return request.param


@pytest.fixture
def make_client(server, protocol):
    """Factory for extra redis-py clients (same protocol as the test)."""
    clients = []

    def make(decode=True, port=None, single=True, **kwargs):
        kwargs.setdefault("socket_timeout", 10)
        kwargs.setdefault("socket_connect_timeout", 5)
        kwargs.setdefault("protocol", protocol)
        # No silent reconnect-and-retry: the suite must see what the server does.
        kwargs.setdefault("retry", Retry(NoBackoff(), 0))
        c = redis.Redis(host=HOST, port=port or server.port,
                        decode_responses=decode,
                        single_connection_client=single, **kwargs)
        clients.append(c)
        return c

    yield make
    for c in clients:
        try:
            c.close()
        except Exception:
            pass


@pytest.fixture
def r(make_client):
    """decode_responses=True client on one connection, after FLUSHALL."""
    c = make_client()
    c.flushall()
    return c


@pytest.fixture
def rb(make_client):
    """Binary (decode_responses=False) client, after FLUSHALL."""
    c = make_client(decode=False)
    c.flushall()
    return c


@pytest.fixture
def raw(server):
    """Factory for raw-socket connections; all closed at teardown."""
    conns = []

    def make(port=None, timeout=10.0):
        c = RawConn(port or server.port, timeout=timeout)
        conns.append(c)
        return c

    yield make
    for c in conns:
        c.close()


@pytest.fixture
def flushed(server):
    with RawConn(server.port) as c:
        assert c.cmd("FLUSHALL") == "OK"


@pytest.fixture
def rc(raw, protocol, flushed):
    """Raw connection speaking the test's protocol (HELLO 3 for RESP3), on a flushed server."""
    c = raw()
    if protocol == 3:
        assert isinstance(c.cmd("HELLO", "3"), dict)
    return c

"""Server commands: INFO, DBSIZE, FLUSHDB, FLUSHALL, TIME, CONFIG, COMMAND,
LASTSAVE, MEMORY USAGE, DEBUG SLEEP."""

from __future__ import annotations

import time

import pytest
import redis

from helpers import IS_VAYLIX, as_dict, raises_error


# --------------------------------------------------------------------------
# INFO
# --------------------------------------------------------------------------

def test_info_default(r, server):
    info = r.info()
    assert "redis_version" in info
    assert info["tcp_port"] == server.port
    assert info["connected_clients"] >= 1
    assert isinstance(info["used_memory"], int) and info["used_memory"] > 0
    assert info["role"] == "master"
    assert "used_cpu_sys" in info
    assert "total_commands_processed" in info


@pytest.mark.parametrize("section", ["all", "everything", "default"])
def test_info_all(r, section):
    info = r.info(section)
    for field in ("redis_version", "connected_clients", "used_memory", "role",
                  "total_connections_received", "used_cpu_user"):
        assert field in info, f"INFO {section} lacks {field}"


def test_info_server(r, server):
    info = r.info("server")
    assert isinstance(info["redis_version"], str)
    assert info["redis_version"].count(".") >= 1
    assert info["tcp_port"] == server.port
    assert info["redis_mode"] == "standalone"
    assert isinstance(info["process_id"], int) and info["process_id"] > 0
    if not IS_VAYLIX:
        assert info["process_id"] == server.proc.pid
    assert info["uptime_in_seconds"] >= 0
    assert "run_id" in info
    # only the requested section
    assert "used_memory" not in info
    assert "connected_clients" not in info


def test_info_section_case_insensitive(r):
    assert "redis_version" in r.info("SERVER")
    assert "connected_clients" in r.info("Clients")


def test_info_clients(r, make_client):
    before = r.info("clients")["connected_clients"]
    extra = [make_client() for _ in range(3)]
    for c in extra:
        c.ping()
    assert r.info("clients")["connected_clients"] >= before + 3
    assert "blocked_clients" in r.info("clients")


def test_info_memory(r):
    info = r.info("memory")
    assert isinstance(info["used_memory"], int) and info["used_memory"] > 0
    assert "used_memory_human" in info
    assert "maxmemory" in info
    assert "redis_version" not in info


def test_info_persistence(r):
    info = r.info("persistence")
    assert info["loading"] == 0


def test_info_stats(r):
    info = r.info("stats")
    assert info["total_connections_received"] >= 1
    assert info["total_commands_processed"] >= 1
    assert "keyspace_hits" in info and "keyspace_misses" in info
    assert "expired_keys" in info


def test_info_stats_keyspace_hits_misses(r):
    r.config_resetstat()
    r.set("k", "v")
    r.get("k")
    r.get("k")
    r.get("missing")
    info = r.info("stats")
    assert info["keyspace_hits"] == 2
    assert info["keyspace_misses"] == 1


def test_info_replication(r):
    info = r.info("replication")
    assert info["role"] == "master"
    assert info["connected_slaves"] == 0


def test_info_cpu(r):
    info = r.info("cpu")
    for field in ("used_cpu_sys", "used_cpu_user"):
        assert isinstance(info[field], (int, float)) and info[field] >= 0


def test_info_keyspace(r):
    assert r.info("keyspace") == {}
    r.set("a", "1")
    r.set("b", "2", ex=100)
    r.set("c", "3")
    ks = r.info("keyspace")
    assert ks["db0"]["keys"] == 3
    assert ks["db0"]["expires"] == 1
    assert "avg_ttl" in ks["db0"]
    r.execute_command("SELECT", 7)
    r.set("x", "1")
    ks = r.info("keyspace")
    assert ks["db7"]["keys"] == 1 and ks["db7"]["expires"] == 0
    assert ks["db0"]["keys"] == 3
    r.flushall()
    assert r.info("keyspace") == {}


def test_info_multiple_sections(r):
    info = r.execute_command("INFO", "server", "clients")
    assert "redis_version" in info and "connected_clients" in info
    assert "used_memory" not in info


def test_info_unknown_section_is_empty(r):
    assert r.info("nosuchsection") == {}


# --------------------------------------------------------------------------
# DBSIZE / FLUSHDB / FLUSHALL
# --------------------------------------------------------------------------

def test_dbsize(r):
    assert r.dbsize() == 0
    r.mset({f"k{i}": i for i in range(25)})
    assert r.dbsize() == 25
    r.delete("k0")
    assert r.dbsize() == 24
    with raises_error("ERR wrong number of arguments for 'dbsize' command"):
        r.execute_command("DBSIZE", "x")


def test_flushdb_only_current_db(r, make_client):
    r.set("a", "1")
    db1 = make_client(db=1)
    db1.set("b", "2")
    assert r.flushdb() is True
    assert r.dbsize() == 0
    assert db1.dbsize() == 1


def test_flushall_all_dbs(r, make_client):
    r.set("a", "1")
    db1 = make_client(db=1)
    db1.set("b", "2")
    assert r.flushall() is True
    assert r.dbsize() == 0
    assert db1.dbsize() == 0


@pytest.mark.parametrize("mode", ["ASYNC", "SYNC"])
def test_flush_modes(r, mode):
    r.mset({"a": 1, "b": 2})
    assert r.execute_command("FLUSHDB", mode) in (True, "OK")
    assert r.dbsize() == 0
    r.mset({"a": 1, "b": 2})
    assert r.execute_command("FLUSHALL", mode) in (True, "OK")
    assert r.dbsize() == 0


def test_flush_bad_argument(r):
    with raises_error("ERR syntax error"):
        r.execute_command("FLUSHALL", "foo")
    with raises_error("ERR syntax error"):
        r.execute_command("FLUSHDB", "foo")


# --------------------------------------------------------------------------
# TIME / LASTSAVE
# --------------------------------------------------------------------------

def test_time(r):
    secs, micros = r.time()
    assert abs(secs - time.time()) < 5
    assert 0 <= micros < 1_000_000
    raw = r.execute_command("TIME")
    assert len(raw) == 2
    with raises_error("ERR wrong number of arguments for 'time' command"):
        r.execute_command("TIME", "x")


def test_lastsave(r):
    r.set_response_callback("LASTSAVE", lambda resp, **kw: resp)
    ts = r.execute_command("LASTSAVE")
    assert isinstance(ts, int)
    assert 0 < ts <= time.time() + 5


# --------------------------------------------------------------------------
# CONFIG
# --------------------------------------------------------------------------

def test_config_get_glob(r):
    cfg = r.config_get("maxmemory*")
    assert "maxmemory" in cfg
    assert "maxmemory-policy" in cfg
    assert all(k.startswith("maxmemory") for k in cfg)
    assert cfg["maxmemory"].isdigit()


def test_config_get_port(r, server):
    assert r.config_get("port") == {"port": str(server.port)}


def test_config_get_multiple_and_unknown(r, server):
    cfg = as_dict(r.execute_command("CONFIG", "GET", "port", "bind"))
    assert cfg["port"] == str(server.port)
    assert "127.0.0.1" in cfg["bind"]
    assert r.config_get("no-such-parameter-xyz") == {}


def test_config_set(r):
    old = r.config_get("maxmemory")["maxmemory"]
    try:
        assert r.config_set("maxmemory", "100mb") is True
        assert r.config_get("maxmemory") == {"maxmemory": "104857600"}
        assert r.config_set("maxmemory", "12345") is True
        assert r.config_get("maxmemory") == {"maxmemory": "12345"}
    finally:
        r.config_set("maxmemory", old)
    assert r.config_get("maxmemory") == {"maxmemory": old}


def test_config_set_errors(r):
    with raises_error("ERR Unknown option or number of arguments for "
                      "CONFIG SET - 'no-such-parameter-xyz'"):
        r.config_set("no-such-parameter-xyz", "1")
    with raises_error("ERR CONFIG SET failed (possibly related to argument "
                      "'maxmemory') - argument must be a memory value"):
        r.config_set("maxmemory", "not-a-number")
    with raises_error("ERR wrong number of arguments for 'config|set' command"):
        r.execute_command("CONFIG", "SET", "maxmemory")


def test_config_resetstat(r):
    for _ in range(20):
        r.ping()
    assert r.info("stats")["total_commands_processed"] > 20
    assert r.config_resetstat() is True
    # the INFO call itself may or may not be counted yet
    assert r.info("stats")["total_commands_processed"] <= 2


# --------------------------------------------------------------------------
# COMMAND
# --------------------------------------------------------------------------

def test_command(r):
    cmds = r.command()
    assert "get" in cmds and "set" in cmds
    assert cmds["get"]["arity"] == 2
    assert cmds["set"]["arity"] == -3
    assert "readonly" in cmds["get"]["flags"]
    assert "write" in cmds["set"]["flags"]
    assert r.command_count() == len(cmds)


def test_command_count(r):
    n = r.command_count()
    assert isinstance(n, int) and n > 20


def test_command_info(r):
    # "COMMAND INFO" as one name bypasses redis-py's COMMAND reply parser,
    # which cannot handle the nil entry for an unknown command.
    info = r.execute_command("COMMAND INFO", "get", "set", "no-such-cmd")
    assert len(info) == 3
    get, set_, missing = info
    assert missing is None
    assert get[:2] == ["get", 2]
    assert "readonly" in get[2] and "fast" in get[2]
    assert get[3:6] == [1, 1, 1]
    assert set_[:2] == ["set", -3]
    assert "write" in set_[2]
    assert r.execute_command("COMMAND INFO", "no-such-cmd") == [None]


def test_command_info_raw(raw, flushed):
    c = raw()
    reply = c.cmd("COMMAND", "INFO", "get", "no-such-cmd")
    assert len(reply) == 2
    assert reply[1] is None
    name, arity, flags, first, last, step = reply[0][:6]
    assert (name, arity, first, last, step) == (b"get", 2, 1, 1, 1)
    assert "readonly" in flags


def test_command_docs(r):
    docs = as_dict(r.execute_command("COMMAND DOCS", "get"))
    assert "get" in docs
    get_doc = as_dict(docs["get"])
    assert "summary" in get_doc
    assert "since" in get_doc
    assert "group" in get_doc and get_doc["group"] == "string"
    assert as_dict(r.execute_command("COMMAND DOCS", "no-such-cmd")) == {}


def test_command_list(r):
    names = r.command_list()
    for name in ("get", "set", "ping", "multi", "exec", "client", "config"):
        assert name in names
    # COMMAND LIST also names subcommands ("config|get"), COMMAND COUNT does not
    assert len(names) >= r.command_count()
    assert "config|get" in names


def test_command_getkeys(r):
    assert r.command_getkeys("mset", "a", "1", "b", "2") == ["a", "b"]
    assert r.command_getkeys("get", "k") == ["k"]
    assert r.command_getkeys("set", "k", "v", "EX", "10") == ["k"]
    assert r.command_getkeys("del", "x", "y", "z") == ["x", "y", "z"]
    with raises_error("ERR Invalid command specified"):
        r.command_getkeys("no-such-cmd", "a")
    with raises_error("ERR Invalid number of arguments specified for command"):
        r.command_getkeys("set", "k")
    with raises_error("ERR Invalid number of arguments specified for command"):
        r.command_getkeys("get", "a", "b")
    with raises_error("ERR The command has no key arguments"):
        r.command_getkeys("echo", "x")
    # COMMAND GETKEYS has arity -3 (needs the command plus an argument)
    with raises_error("ERR wrong number of arguments for 'command|getkeys' command"):
        r.command_getkeys("ping")


# --------------------------------------------------------------------------
# MEMORY USAGE / DEBUG SLEEP
# --------------------------------------------------------------------------

def test_memory_usage(r):
    assert r.memory_usage("missing") is None
    r.set("small", "x")
    r.set("big", "x" * 10000)
    small = r.memory_usage("small")
    big = r.memory_usage("big")
    assert isinstance(small, int) and small > 0
    assert big > small and big >= 10000
    with raises_error("ERR wrong number of arguments for 'memory|usage' command"):
        r.execute_command("MEMORY", "USAGE")


def test_debug_sleep_zero(r):
    t0 = time.monotonic()
    assert r.execute_command("DEBUG", "SLEEP", 0) in (True, "OK")
    assert time.monotonic() - t0 < 2
    assert r.ping()

r"""INFO commandstats / errorstats / latencystats / stats, INFO section
selection, and SLOWLOG, with Redis 7.0 semantics (checked against
redis-server 7.0.15).

* Commandstats: one line per command that ran or was rejected,
  `cmdstat_<name>:calls=N,usec=N,usec_per_call=F.FF,rejected_calls=N,failed_calls=N`,
  names in lowercase, subcommands as `config|get`. An error while the command
  runs (WRONGTYPE, not an integer, EXECABORT) counts in failed_calls; a
  command refused before running (wrong arity, refused in RESP2 subscriber
  mode, arity error while queued in MULTI) counts in rejected_calls and not in
  calls; unknown commands and unknown subcommands appear nowhere. Commands run
  by EXEC or by a script are counted one by one; an error they raise is a
  failure of that command (and of EVAL), never of EXEC. A command shows in
  the INFO it runs in only on the next INFO.
* Errorstats: `errorstat_<CODE>:count=N`, CODE being the first word of the
  error line, sorted by bytes (uppercase before lowercase); every error reply
  counts once (total_error_replies is their sum). The section is part of the
  default INFO and keeps its header when empty.
* Latencystats: `latency_percentiles_usec_<name>:p50=F,p99=F,p99.9=F` (`%.3f`),
  the percentiles named as configured in latency-tracking-info-percentiles
  (trailing zeros trimmed, order kept, an empty list leaves `name:` alone);
  rejected commands are not tracked, failed ones are; with latency-tracking no
  nothing is recorded and the section is only its header (the histograms kept
  from before show again when it is turned back on).
* Section selection: the default set has Errorstats but neither Commandstats
  nor Latencystats; `all` and `everything` add both; several sections in one
  INFO come out once each, in the fixed server order, whatever the argument
  order or case; unknown sections give an empty string.
* Stats: the fields exporters scrape, the exact byte/command deltas across
  two INFOs, and what CONFIG RESETSTAT zeroes.
* SLOWLOG: entries `[id, unix time, usec, argv, "ip:port", name]`, newest
  first; GET defaults to 10, -1 is all, counts below -1 are refused; ids keep
  growing across SLOWLOG RESET (which is itself logged); slowlog-max-len trims
  when the next entry is pushed; arguments over 128 bytes and argv over 32
  elements are truncated; EXEC is the only command never logged (the queued
  commands are); script commands are logged from client `?:0`; a served
  blocking command is logged with its run time (not the wait), a timed-out one
  not at all; AUTH, HELLO AUTH, CONFIG SET requirepass/masterauth and
  ACL SETUSER arguments are `(redacted)`.

Every test runs on a dedicated server (stats are global), from a known state:
configs back to their defaults, SLOWLOG RESET, then CONFIG RESETSTAT (so the
stats hold only `config|resetstat`). No timing value is asserted, only
shapes, counts and relations.
"""

from __future__ import annotations

import re
import time

import pytest

from helpers import RawConn, RespError, ServerProcess, Verbatim

DEFAULTS = [
    ("slowlog-log-slower-than", "10000"),
    ("slowlog-max-len", "128"),
    ("latency-tracking", "yes"),
    ("latency-tracking-info-percentiles", "50 99 99.9"),
    ("requirepass", ""),
    ("masterauth", ""),
]

CMDSTAT_RE = re.compile(
    r"^cmdstat_(?P<name>[^:]+):calls=(?P<calls>\d+),usec=(?P<usec>\d+),"
    r"usec_per_call=(?P<upc>\d+\.\d\d),rejected_calls=(?P<rejected>\d+),"
    r"failed_calls=(?P<failed>\d+)$")
ERRSTAT_RE = re.compile(r"^errorstat_(?P<code>[^:]+):count=(?P<count>\d+)$")
LAT_RE = re.compile(r"^latency_percentiles_usec_(?P<name>[^:]+):(?P<fields>.*)$")
LAT_FIELD_RE = re.compile(r"^p(?P<pct>\d+(?:\.\d+)?)=(?P<value>\d+\.\d{3})$")

DEFAULT_SECTIONS = ["Server", "Clients", "Memory", "Persistence", "Stats",
                    "Replication", "CPU", "Modules", "Errorstats", "Cluster",
                    "Keyspace"]
ALL_SECTIONS = ["Server", "Clients", "Memory", "Persistence", "Stats",
                "Replication", "CPU", "Modules", "Commandstats", "Errorstats",
                "Latencystats", "Cluster", "Keyspace"]

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INT = "ERR value is not an integer or out of range"
EXECABORT = "EXECABORT Transaction discarded because of previous errors."
COUNT_ERR = "ERR count should be greater than or equal to -1"
PCT_RANGE = ("ERR CONFIG SET failed (possibly related to argument "
             "'latency-tracking-info-percentiles') - latency-tracking-info-percentiles "
             "parameters should sit between [0.0,100.0]")
PCT_INVALID = ("ERR CONFIG SET failed (possibly related to argument "
               "'latency-tracking-info-percentiles') - Invalid "
               "latency-tracking-info-percentiles parameters")
SLOWLOG_HELP = [
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
    "HELP",
    "    Prints this help.",
]
EXPORTER_STATS = [
    "total_connections_received", "total_commands_processed",
    "instantaneous_ops_per_sec", "total_net_input_bytes", "total_net_output_bytes",
    "instantaneous_input_kbps", "instantaneous_output_kbps", "rejected_connections",
    "sync_full", "sync_partial_ok", "sync_partial_err", "expired_keys",
    "expired_stale_perc", "expired_time_cap_reached_count", "evicted_keys",
    "keyspace_hits", "keyspace_misses", "pubsub_channels", "pubsub_patterns",
    "latest_fork_usec", "migrate_cached_sockets", "total_active_defrag_time",
    "total_error_replies", "total_reads_processed", "total_writes_processed",
    "io_threaded_reads_processed", "io_threaded_writes_processed",
]
FLOAT_STATS = {"instantaneous_input_kbps", "instantaneous_output_kbps",
               "expired_stale_perc"}


# --------------------------------------------------------------------------
# Server, state and parsing helpers
# --------------------------------------------------------------------------

def restore(port):
    """Configs back to their defaults, an empty keyspace. Errors are ignored
    here on purpose: a server lacking an option (or SLOWLOG, ACL) fails in
    the tests that use it, not in every test's setup."""
    with RawConn(port) as a:
        for name, value in DEFAULTS:
            a.cmd("CONFIG", "SET", name, value)
        assert a.cmd("FLUSHALL") == "OK"
        a.cmd("ACL", "DELUSER", "slowlog-user")


@pytest.fixture(scope="module")
def stats_server(server):
    srv = ServerProcess(name="info-stats").start()
    yield srv
    srv.stop()


@pytest.fixture
def c(stats_server):
    """RESP2 raw connection on the dedicated server: defaults restored,
    SLOWLOG RESET, then CONFIG RESETSTAT (the last command)."""
    restore(stats_server.port)
    conn = RawConn(stats_server.port)
    conn.cmd("SLOWLOG", "RESET")  # checked by the SLOWLOG tests themselves
    assert conn.cmd("CONFIG", "RESETSTAT") == "OK"
    yield conn
    conn.close()
    restore(stats_server.port)


@pytest.fixture
def other(stats_server, c):
    conns = []

    def make():
        conn = RawConn(stats_server.port)
        conns.append(conn)
        return conn

    yield make
    for conn in conns:
        conn.close()


def as_text(v) -> str:
    assert isinstance(v, (bytes, Verbatim)), repr(v)
    return v.decode() if isinstance(v, bytes) else str(v)


def info(conn, *sections) -> str:
    return as_text(conn.cmd("INFO", *sections))


def headers(text: str):
    return [line[2:] for line in text.split("\r\n") if line.startswith("# ")]


def body(text: str, header: str):
    """The lines of one section (without its header)."""
    lines = text.split("\r\n")
    assert f"# {header}" in lines, f"no '# {header}' section in {text[:300]!r}"
    start = lines.index(f"# {header}") + 1
    out = []
    for line in lines[start:]:
        if line == "" or line.startswith("# "):
            break
        out.append(line)
    return out


def commandstats(conn):
    """name -> dict(calls, usec, upc (str), rejected, failed); every line must
    match the exact format."""
    text = info(conn, "commandstats")
    out = {}
    for line in body(text, "Commandstats"):
        m = CMDSTAT_RE.match(line)
        assert m, f"bad commandstats line {line!r}"
        d = m.groupdict()
        name = d.pop("name")
        out[name] = {k: (v if k == "upc" else int(v)) for k, v in d.items()}
    return out


def errorstats(conn):
    """[(code, count)] in the order INFO prints them."""
    text = info(conn, "errorstats")
    out = []
    for line in body(text, "Errorstats"):
        m = ERRSTAT_RE.match(line)
        assert m, f"bad errorstats line {line!r}"
        out.append((m["code"], int(m["count"])))
    return out


def latencystats(conn):
    """name -> [(percentile name, float value)] in printed order."""
    text = info(conn, "latencystats")
    out = {}
    for line in body(text, "Latencystats"):
        m = LAT_RE.match(line)
        assert m, f"bad latencystats line {line!r}"
        fields = []
        if m["fields"]:
            for f in m["fields"].split(","):
                fm = LAT_FIELD_RE.match(f)
                assert fm, f"bad percentile field {f!r} in {line!r}"
                fields.append((fm["pct"], float(fm["value"])))
        out[m["name"]] = fields
    return out


def stats(conn):
    return dict(line.split(":", 1) for line in body(info(conn, "stats"), "Stats"))


def stat(conn, field):
    return int(stats(conn)[field])


def cfg(conn, name, value):
    got = conn.cmd("CONFIG", "SET", name, value)
    assert got == "OK", (name, value, got)


def slowlog_on(conn):
    """Log everything from now on; the log then starts with SLOWLOG RESET."""
    cfg(conn, "slowlog-log-slower-than", "0")
    assert conn.cmd("SLOWLOG", "RESET") == "OK"


def argvs(entries):
    return [[a.decode() for a in e[3]] for e in entries]


def check_upc(row):
    expected = 0.0 if row["calls"] == 0 else row["usec"] / row["calls"]
    assert abs(float(row["upc"]) - expected) <= 0.0051, row


# --------------------------------------------------------------------------
# INFO commandstats
# --------------------------------------------------------------------------

def test_commandstats_exact_calls_and_line_format(c):
    for v in ("1", "2", "3"):
        assert c.cmd("SET", "x", v) == "OK"
    assert c.cmd("GET", "x") == b"3"
    raw_lines = body(info(c, "commandstats"), "Commandstats")
    assert all(CMDSTAT_RE.match(line) for line in raw_lines), raw_lines
    cs = commandstats(c)
    # INFO has not been counted yet when the first INFO printed its stats.
    assert set(cs) == {"set", "get", "config|resetstat", "info"}
    assert cs["set"]["calls"] == 3 and cs["get"]["calls"] == 1
    assert cs["info"]["calls"] == 1
    for row in cs.values():
        assert row["usec"] >= 0
        assert row["rejected"] == 0 and row["failed"] == 0
        check_upc(row)


def test_commandstats_info_shows_itself_from_the_next_info(c):
    first = commandstats(c)
    assert "info" not in first
    assert set(first) == {"config|resetstat"}
    assert first["config|resetstat"]["calls"] == 1
    assert commandstats(c)["info"]["calls"] == 1
    assert commandstats(c)["info"]["calls"] == 2


def test_commandstats_names_are_lowercase_with_pipe_subcommands(c):
    assert isinstance(c.cmd("CLIENT", "ID"), int)
    assert isinstance(c.cmd("client", "id"), int)
    assert c.cmd("Config", "Get", "maxmemory") == [b"maxmemory", b"0"]
    assert isinstance(c.cmd("OBJECT", "HELP"), list)
    assert c.cmd("GeT", "nokey") is None
    cs = commandstats(c)
    assert cs["client|id"]["calls"] == 2
    assert cs["config|get"]["calls"] == 1
    assert cs["object|help"]["calls"] == 1
    assert cs["get"]["calls"] == 1
    for container in ("client", "config", "object"):
        assert container not in cs


def test_commandstats_runtime_error_counts_failed_calls(c):
    assert c.cmd("SET", "s", "abc") == "OK"
    assert c.cmd("INCR", "s") == RespError(NOT_INT)
    assert c.cmd("LPUSH", "s", "a") == RespError(WRONGTYPE)
    assert c.cmd("INCR", "n") == 1
    cs = commandstats(c)
    assert cs["incr"]["calls"] == 2 and cs["incr"]["failed"] == 1
    assert cs["incr"]["rejected"] == 0
    assert cs["lpush"]["calls"] == 1 and cs["lpush"]["failed"] == 1
    assert cs["lpush"]["rejected"] == 0


def test_commandstats_wrong_arity_counts_rejected_not_calls(c):
    assert c.cmd("GET", "a", "b") == RespError(
        "ERR wrong number of arguments for 'get' command")
    line = [ln for ln in body(info(c, "commandstats"), "Commandstats")
            if ln.startswith("cmdstat_get:")]
    assert line == ["cmdstat_get:calls=0,usec=0,usec_per_call=0.00,"
                    "rejected_calls=1,failed_calls=0"]
    assert c.cmd("GET", "a") is None
    row = commandstats(c)["get"]
    assert (row["calls"], row["rejected"], row["failed"]) == (1, 1, 0)


def test_commandstats_arity_of_subcommand_and_container(c):
    assert c.cmd("CONFIG", "GET") == RespError(
        "ERR wrong number of arguments for 'config|get' command")
    assert c.cmd("CONFIG") == RespError(
        "ERR wrong number of arguments for 'config' command")
    assert c.cmd("CLIENT", "ID", "x") == RespError(
        "ERR wrong number of arguments for 'client|id' command")
    cs = commandstats(c)
    for name in ("config|get", "config", "client|id"):
        assert (cs[name]["calls"], cs[name]["rejected"], cs[name]["failed"]) == (0, 1, 0), name
        assert cs[name]["upc"] == "0.00"


def test_commandstats_unknown_command_and_subcommand_not_listed(c):
    assert c.cmd("NOSUCHCMD", "a") == RespError(
        "ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' ")
    assert c.cmd("CONFIG", "NOSUCH") == RespError(
        "ERR unknown subcommand 'NOSUCH'. Try CONFIG HELP.")
    assert set(commandstats(c)) == {"config|resetstat"}
    assert errorstats(c) == [("ERR", 2)]


def test_commandstats_refused_in_resp2_subscriber_mode_is_rejected(c):
    assert c.cmd("SUBSCRIBE", "ch") == [b"subscribe", b"ch", 1]
    assert c.cmd("GET", "k") == RespError(
        "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
        "QUIT / RESET are allowed in this context")
    assert c.cmd("UNSUBSCRIBE") == [b"unsubscribe", b"ch", 0]
    cs = commandstats(c)
    assert (cs["get"]["calls"], cs["get"]["rejected"]) == (0, 1)
    assert cs["subscribe"]["calls"] == 1 and cs["unsubscribe"]["calls"] == 1


def test_commandstats_multi_exec_counts_each_queued_command_and_exec(c):
    assert c.cmd("MULTI") == "OK"
    assert c.cmd("SET", "x", "a") == "QUEUED"
    assert c.cmd("SET", "y", "1") == "QUEUED"
    assert c.cmd("INCR", "y") == "QUEUED"
    assert c.cmd("LPUSH", "x", "v") == "QUEUED"
    assert c.cmd("EXEC") == ["OK", "OK", 2, RespError(WRONGTYPE)]
    cs = commandstats(c)
    assert cs["multi"]["calls"] == 1
    assert cs["set"]["calls"] == 2
    assert cs["incr"]["calls"] == 1
    assert (cs["lpush"]["calls"], cs["lpush"]["failed"]) == (1, 1)
    # The error inside the transaction is LPUSH's failure, not EXEC's.
    assert (cs["exec"]["calls"], cs["exec"]["failed"], cs["exec"]["rejected"]) == (1, 0, 0)
    assert errorstats(c) == [("WRONGTYPE", 1)]


def test_commandstats_execabort_rejects_queued_and_fails_exec(c):
    assert c.cmd("MULTI") == "OK"
    assert c.cmd("SET", "x") == RespError(
        "ERR wrong number of arguments for 'set' command")
    assert c.cmd("GET", "x") == "QUEUED"
    assert c.cmd("EXEC") == RespError(EXECABORT)
    cs = commandstats(c)
    assert (cs["set"]["calls"], cs["set"]["rejected"]) == (0, 1)
    assert "get" not in cs  # queued, never run
    assert (cs["exec"]["calls"], cs["exec"]["failed"]) == (1, 1)
    assert cs["multi"]["calls"] == 1
    assert errorstats(c) == [("ERR", 1), ("EXECABORT", 1)]


def test_commandstats_exec_and_discard_without_multi_fail(c):
    assert c.cmd("EXEC") == RespError("ERR EXEC without MULTI")
    assert c.cmd("DISCARD") == RespError("ERR DISCARD without MULTI")
    cs = commandstats(c)
    assert (cs["exec"]["calls"], cs["exec"]["failed"], cs["exec"]["rejected"]) == (1, 1, 0)
    assert (cs["discard"]["calls"], cs["discard"]["failed"]) == (1, 1)


def test_commandstats_script_error_fails_inner_command_and_eval(c):
    assert c.cmd("SET", "x", "s") == "OK"
    got = c.cmd("EVAL", "return redis.call('lpush', KEYS[1], 'a')", "1", "x")
    assert isinstance(got, RespError) and got.line.startswith(WRONGTYPE + " script: ")
    cs = commandstats(c)
    assert (cs["eval"]["calls"], cs["eval"]["failed"]) == (1, 1)
    assert (cs["lpush"]["calls"], cs["lpush"]["failed"]) == (1, 1)
    # One error reply, counted once.
    assert errorstats(c) == [("WRONGTYPE", 1)]
    assert stat(c, "total_error_replies") == 1


def test_commandstats_pcall_error_counted_once(c):
    assert c.cmd("SET", "x", "s") == "OK"
    got = c.cmd("EVAL", "return redis.pcall('lpush', KEYS[1], 'a')", "1", "x")
    assert got == RespError(WRONGTYPE)
    cs = commandstats(c)
    assert (cs["eval"]["calls"], cs["eval"]["failed"]) == (1, 1)
    assert (cs["lpush"]["calls"], cs["lpush"]["failed"]) == (1, 1)
    assert errorstats(c) == [("WRONGTYPE", 1)]
    assert stat(c, "total_error_replies") == 1


def test_config_resetstat_clears_commandstats(c):
    for _ in range(5):
        c.cmd("PING")
    c.cmd("GET", "a", "b")
    assert "ping" in commandstats(c)
    assert c.cmd("CONFIG", "RESETSTAT") == "OK"
    cs = commandstats(c)
    assert set(cs) == {"config|resetstat"}
    assert cs["config|resetstat"]["calls"] == 1


def test_commandstats_through_redis_py(c, make_client, stats_server):
    rc = make_client(port=stats_server.port)
    rc.ping()
    assert rc.config_resetstat() is True
    rc.set("k", "v")
    rc.set("k", "w")
    rc.get("k")
    cs = rc.info("commandstats")
    assert cs["cmdstat_set"]["calls"] == 2
    assert cs["cmdstat_get"]["calls"] == 1
    assert cs["cmdstat_config|resetstat"]["calls"] == 1
    assert list(cs["cmdstat_set"]) == ["calls", "usec", "usec_per_call",
                                       "rejected_calls", "failed_calls"]


# --------------------------------------------------------------------------
# INFO errorstats
# --------------------------------------------------------------------------

def test_errorstats_counts_by_error_code(c):
    assert c.cmd("SET", "s", "abc") == "OK"
    assert c.cmd("INCR", "s") == RespError(NOT_INT)
    assert c.cmd("GET") == RespError("ERR wrong number of arguments for 'get' command")
    assert c.cmd("LPUSH", "s", "a") == RespError(WRONGTYPE)
    assert c.cmd("HSET", "s", "f", "v") == RespError(WRONGTYPE)
    assert body(info(c, "errorstats"), "Errorstats") == [
        "errorstat_ERR:count=2", "errorstat_WRONGTYPE:count=2"]
    assert stat(c, "total_error_replies") == 4


def test_errorstats_code_is_first_word_sorted_by_bytes(c):
    scripts = [
        ("return redis.error_reply('MYERR something')", "MYERR something"),
        ("return redis.error_reply('lower case')", "lower case"),
        ("return redis.error_reply('NOSPACE')", "ERR NOSPACE"),
        ("return redis.error_reply('-DASH x')", "DASH x"),
    ]
    for script, line in scripts:
        assert c.cmd("EVAL", script, "0") == RespError(line)
    assert c.cmd("EVALSHA", "0" * 40, "0") == RespError(
        "NOSCRIPT No matching script. Please use EVAL.")
    assert c.cmd("SET", "k", "v", "BAD") == RespError("ERR syntax error")
    assert errorstats(c) == [("DASH", 1), ("ERR", 2), ("MYERR", 1),
                             ("NOSCRIPT", 1), ("lower", 1)]
    assert stat(c, "total_error_replies") == 6


def test_total_error_replies_counts_rejected_and_unknown_commands(c):
    assert isinstance(c.cmd("NOSUCH"), RespError)
    assert isinstance(c.cmd("GET"), RespError)
    assert isinstance(c.cmd("CONFIG", "NOSUCH"), RespError)
    assert c.cmd("MULTI") == "OK"
    assert c.cmd("MULTI") == RespError("ERR MULTI calls can not be nested")
    assert c.cmd("DISCARD") == "OK"
    assert errorstats(c) == [("ERR", 4)]
    st = stats(c)
    assert int(st["total_error_replies"]) == 4
    assert int(st["unexpected_error_replies"]) == 0


def test_config_resetstat_clears_errorstats_keeps_header(c):
    assert isinstance(c.cmd("GET"), RespError)
    assert errorstats(c) == [("ERR", 1)]
    assert c.cmd("CONFIG", "RESETSTAT") == "OK"
    assert info(c, "errorstats") == "# Errorstats\r\n"
    assert stat(c, "total_error_replies") == 0


def test_default_info_includes_errorstats_lines(c):
    assert isinstance(c.cmd("GET"), RespError)
    text = info(c)
    assert body(text, "Errorstats") == ["errorstat_ERR:count=1"]
    assert "# Commandstats" not in text and "cmdstat_" not in text


# --------------------------------------------------------------------------
# INFO latencystats
# --------------------------------------------------------------------------

def test_latencystats_default_percentiles_format(c):
    assert c.cmd("SET", "a", "1") == "OK"
    lines = body(info(c, "latencystats"), "Latencystats")
    set_line = [ln for ln in lines if ln.startswith("latency_percentiles_usec_set:")]
    assert len(set_line) == 1
    assert re.fullmatch(r"latency_percentiles_usec_set:p50=\d+\.\d{3},"
                        r"p99=\d+\.\d{3},p99\.9=\d+\.\d{3}", set_line[0]), set_line
    ls = latencystats(c)
    assert [p for p, _ in ls["set"]] == ["50", "99", "99.9"]
    values = [v for _, v in ls["set"]]
    assert values == sorted(values) and values[0] >= 0


def test_latencystats_lists_commands_that_ran(c):
    assert c.cmd("SET", "a", "1") == "OK"
    assert c.cmd("CONFIG", "GET", "maxmemory") == [b"maxmemory", b"0"]
    assert isinstance(c.cmd("CLIENT", "ID"), int)
    ls = latencystats(c)
    assert set(ls) == {"config|resetstat", "set", "config|get", "client|id"}
    assert "info" in latencystats(c)


def test_latencystats_tracks_failed_not_rejected_commands(c):
    assert c.cmd("SET", "s", "abc") == "OK"
    assert c.cmd("LPUSH", "s", "a") == RespError(WRONGTYPE)
    assert isinstance(c.cmd("GET", "a", "b"), RespError)
    assert isinstance(c.cmd("NOSUCH"), RespError)
    ls = latencystats(c)
    assert "lpush" in ls
    assert "get" not in ls and "nosuch" not in ls


def test_latencystats_custom_percentiles(c):
    assert c.cmd("SET", "a", "1") == "OK"
    cfg(c, "latency-tracking-info-percentiles", "50 90")
    assert c.cmd("CONFIG", "GET", "latency-tracking-info-percentiles") == [
        b"latency-tracking-info-percentiles", b"50 90"]
    line = [ln for ln in body(info(c, "latencystats"), "Latencystats")
            if ln.startswith("latency_percentiles_usec_set:")]
    assert len(line) == 1
    assert re.fullmatch(r"latency_percentiles_usec_set:p50=\d+\.\d{3},p90=\d+\.\d{3}",
                        line[0]), line
    for name, fields in latencystats(c).items():
        assert [p for p, _ in fields] == ["50", "90"], name


def test_latencystats_percentile_names_keep_order_and_trim(c):
    assert c.cmd("SET", "a", "1") == "OK"
    cfg(c, "latency-tracking-info-percentiles", "99.99 0 100 12.5")
    assert c.cmd("CONFIG", "GET", "latency-tracking-info-percentiles") == [
        b"latency-tracking-info-percentiles", b"99.99 0 100 12.5"]
    fields = latencystats(c)["set"]
    assert [p for p, _ in fields] == ["99.99", "0", "100", "12.5"]
    v = dict(fields)
    assert v["0"] <= v["12.5"] <= v["99.99"] <= v["100"]
    # Parsed as doubles, printed back in the shortest form.
    cfg(c, "latency-tracking-info-percentiles", "50.0 90.50 1e1")
    assert c.cmd("CONFIG", "GET", "latency-tracking-info-percentiles") == [
        b"latency-tracking-info-percentiles", b"50 90.5 10"]
    assert [p for p, _ in latencystats(c)["set"]] == ["50", "90.5", "10"]


def test_latencystats_empty_percentile_list(c):
    assert c.cmd("SET", "a", "1") == "OK"
    cfg(c, "latency-tracking-info-percentiles", "")
    assert c.cmd("CONFIG", "GET", "latency-tracking-info-percentiles") == [
        b"latency-tracking-info-percentiles", b""]
    lines = body(info(c, "latencystats"), "Latencystats")
    assert "latency_percentiles_usec_set:" in lines
    assert all(ln.endswith(":") for ln in lines), lines


@pytest.mark.parametrize("value,err", [
    ("101", PCT_RANGE), ("-1", PCT_RANGE), ("abc", PCT_INVALID),
], ids=["101", "-1", "abc"])
def test_latencystats_percentiles_config_errors(c, value, err):
    assert c.cmd("CONFIG", "SET", "latency-tracking-info-percentiles", value) == RespError(err)
    assert c.cmd("CONFIG", "GET", "latency-tracking-info-percentiles") == [
        b"latency-tracking-info-percentiles", b"50 99 99.9"]


def test_latency_tracking_no_empties_section_and_stops_recording(c):
    cfg(c, "latency-tracking", "no")
    assert c.cmd("CONFIG", "GET", "latency-tracking") == [b"latency-tracking", b"no"]
    assert c.cmd("SET", "a", "1") == "OK"
    assert info(c, "latencystats") == "# Latencystats\r\n"
    assert "# Latencystats\r\n\r\n" in info(c, "all")
    # Commandstats go on counting.
    assert commandstats(c)["set"]["calls"] == 1
    cfg(c, "latency-tracking", "yes")
    # Kept from before (config|resetstat) plus the CONFIG SET that turned it
    # back on; nothing run while it was off.
    assert set(latencystats(c)) == {"config|resetstat", "config|set"}


def test_config_resetstat_clears_latencystats(c):
    assert c.cmd("SET", "a", "1") == "OK"
    assert "set" in latencystats(c)
    assert c.cmd("CONFIG", "RESETSTAT") == "OK"
    assert set(latencystats(c)) == {"config|resetstat"}


# --------------------------------------------------------------------------
# INFO section selection
# --------------------------------------------------------------------------

@pytest.mark.parametrize("args", [(), ("default",), ("DEFAULT",)])
def test_info_default_sections(c, args):
    text = info(c, *args)
    assert headers(text) == DEFAULT_SECTIONS
    assert "cmdstat_" not in text and "latency_percentiles_usec_" not in text


@pytest.mark.parametrize("section", ["all", "everything", "ALL", "Everything"])
def test_info_all_and_everything_sections(c, section):
    c.cmd("PING")
    text = info(c, section)
    # No modules loaded: `everything` (all + module sections) equals `all`.
    assert headers(text) == ALL_SECTIONS
    assert "cmdstat_ping:" in text
    assert "latency_percentiles_usec_ping:" in text


def test_info_several_sections_exactly_once_in_server_order(c):
    assert isinstance(c.cmd("GET"), RespError)
    text = info(c, "errorstats", "commandstats")
    assert headers(text) == ["Commandstats", "Errorstats"]
    parts = text.split("\r\n\r\n")
    assert len(parts) == 2
    assert parts[0].startswith("# Commandstats\r\ncmdstat_")
    assert parts[1] == "# Errorstats\r\nerrorstat_ERR:count=1\r\n"
    assert headers(info(c, "CommandStats", "ERRORSTATS")) == ["Commandstats", "Errorstats"]
    assert headers(info(c, "keyspace", "server", "cpu")) == ["Server", "CPU", "Keyspace"]


def test_info_duplicate_section_printed_once(c):
    assert headers(info(c, "server", "server", "SERVER")) == ["Server"]


def test_info_default_plus_extra_section(c):
    assert headers(info(c, "default", "commandstats")) == [
        "Server", "Clients", "Memory", "Persistence", "Stats", "Replication",
        "CPU", "Modules", "Commandstats", "Errorstats", "Cluster", "Keyspace"]
    assert headers(info(c, "all", "commandstats")) == ALL_SECTIONS


@pytest.mark.parametrize("name", ["cluster", "CLUSTER", "Cluster"])
def test_info_cluster_exact(c, name):
    assert c.cmd("INFO", name) == b"# Cluster\r\ncluster_enabled:0\r\n"


def test_info_modules_is_header_only(c):
    assert c.cmd("INFO", "modules") == b"# Modules\r\n"


def test_info_unknown_section_is_empty_string(c):
    assert c.cmd("INFO", "nosuchsection") == b""
    assert c.cmd("INFO", "a", "b", "c") == b""
    assert c.cmd("INFO", "nosuch", "cluster") == b"# Cluster\r\ncluster_enabled:0\r\n"


def test_info_single_section_ends_with_crlf_no_blank_line(c):
    text = info(c, "stats")
    assert text.startswith("# Stats\r\n") and text.endswith("\r\n")
    assert not text.endswith("\r\n\r\n")
    assert text.count("# ") == 1


def test_info_resp3_is_verbatim_txt(stats_server, c):
    conn = RawConn(stats_server.port)
    try:
        assert isinstance(conn.cmd("HELLO", "3"), dict)
        got = conn.cmd("INFO", "cluster")
        assert isinstance(got, Verbatim) and got.format == "txt"
        assert str(got) == "# Cluster\r\ncluster_enabled:0\r\n"
        empty = conn.cmd("INFO", "nosuch")
        assert isinstance(empty, Verbatim) and str(empty) == ""
    finally:
        conn.close()


# --------------------------------------------------------------------------
# INFO stats
# --------------------------------------------------------------------------

def test_info_stats_has_exporter_fields(c):
    st = stats(c)
    for field in EXPORTER_STATS:
        assert field in st, f"# Stats lacks {field}"
        if field in FLOAT_STATS:
            assert re.fullmatch(r"\d+\.\d\d", st[field]), (field, st[field])
        else:
            assert re.fullmatch(r"\d+", st[field]), (field, st[field])


def test_info_stats_counters_grow_by_exact_amounts(c):
    req = RawConn.encode("INFO", "stats")
    c.send(req)
    first = c.read_reply()
    before = dict(line.split(":", 1) for line in body(first.decode(), "Stats"))
    ping = RawConn.encode("PING")
    assert c.cmd("PING") == "PONG"
    after = stats(c)

    def delta(field):
        return int(after[field]) - int(before[field])

    assert delta("total_commands_processed") == 2  # the first INFO and PING
    assert delta("total_net_input_bytes") == len(req) + len(ping)
    reply_wire = len(b"$%d\r\n" % len(first)) + len(first) + 2
    assert delta("total_net_output_bytes") == reply_wire + len(b"+PONG\r\n")
    assert delta("total_reads_processed") >= 2
    assert delta("total_writes_processed") >= 2
    assert delta("total_connections_received") == 0


def test_config_resetstat_zeroes_stats_counters(c):
    c.cmd("SET", "k", "v")
    c.cmd("GET", "k")
    c.cmd("GET", "missing")
    c.cmd("GET")
    assert c.cmd("CONFIG", "RESETSTAT") == "OK"
    req = RawConn.encode("INFO", "stats")
    st = stats(c)
    # Only the RESETSTAT (counted after it ran) and this INFO's own request.
    assert int(st["total_commands_processed"]) == 1
    assert int(st["total_net_input_bytes"]) == len(req)
    assert int(st["total_net_output_bytes"]) == len(b"+OK\r\n")
    for field in ("total_connections_received", "keyspace_hits", "keyspace_misses",
                  "total_error_replies", "rejected_connections", "expired_keys",
                  "evicted_keys"):
        assert int(st[field]) == 0, field


def test_total_connections_received_counts_new_connections(c, other):
    before = stat(c, "total_connections_received")
    for _ in range(3):
        assert other().cmd("PING") == "PONG"
    assert stat(c, "total_connections_received") == before + 3


def test_total_commands_processed_skips_rejected_and_unknown(c):
    before = stat(c, "total_commands_processed")
    assert isinstance(c.cmd("GET"), RespError)
    assert isinstance(c.cmd("NOSUCH"), RespError)
    assert c.cmd("PING") == "PONG"
    # previous INFO + PING; neither the rejected GET nor the unknown command
    assert stat(c, "total_commands_processed") == before + 2


@pytest.mark.parametrize("args,hits,misses", [
    (("GET", "k"), 1, 0),
    (("GET", "nokey"), 0, 1),
    (("MGET", "k", "nokey", "k"), 2, 1),
    (("EXISTS", "k", "k", "nokey"), 2, 1),
    (("TYPE", "nokey"), 0, 1),
    (("TTL", "k"), 1, 0),
    (("STRLEN", "nokey"), 0, 1),
    (("OBJECT", "ENCODING", "k"), 1, 0),
    (("DEL", "nokey"), 0, 0),
    (("SET", "k", "w"), 0, 0),
], ids=lambda v: "-".join(v) if isinstance(v, tuple) else str(v))
def test_keyspace_hits_and_misses_per_key_lookup(c, args, hits, misses):
    assert c.cmd("SET", "k", "v") == "OK"
    before = stats(c)
    c.cmd(*args)
    after = stats(c)
    assert int(after["keyspace_hits"]) - int(before["keyspace_hits"]) == hits
    assert int(after["keyspace_misses"]) - int(before["keyspace_misses"]) == misses


# --------------------------------------------------------------------------
# SLOWLOG
# --------------------------------------------------------------------------

def test_slowlog_threshold_zero_logs_every_command_newest_first(c):
    slowlog_on(c)
    assert c.cmd("SET", "a", "1") == "OK"
    assert c.cmd("GET", "a") == b"1"
    entries = c.cmd("SLOWLOG", "GET")
    assert argvs(entries) == [["GET", "a"], ["SET", "a", "1"], ["SLOWLOG", "RESET"]]


@pytest.mark.parametrize("protocol", [2, 3], ids=["resp2", "resp3"])
def test_slowlog_entry_shape(stats_server, c, protocol):
    conn = RawConn(stats_server.port)
    try:
        if protocol == 3:
            assert isinstance(conn.cmd("HELLO", "3"), dict)
        slowlog_on(conn)
        t0 = int(time.time())
        assert conn.cmd("SET", "key", "val") == "OK"
        t1 = int(time.time())
        entries = conn.cmd("SLOWLOG", "GET", "1")
        assert isinstance(entries, list) and len(entries) == 1
        entry = entries[0]
        assert isinstance(entry, list) and len(entry) == 6
        ident, ts, duration, argv, addr, name = entry
        assert isinstance(ident, int) and ident >= 0
        assert t0 - 1 <= ts <= t1 + 1
        assert isinstance(duration, int) and duration >= 0
        assert argv == [b"SET", b"key", b"val"]
        assert addr == b"127.0.0.1:%d" % conn.sock.getsockname()[1]
        assert name == b""
    finally:
        conn.close()


def test_slowlog_ids_are_consecutive_and_survive_reset(c):
    slowlog_on(c)
    for i in range(5):
        c.cmd("SET", f"k{i}", "v")
    ids = [e[0] for e in c.cmd("SLOWLOG", "GET", "-1")]
    assert ids == list(range(ids[0], ids[0] - len(ids), -1))
    assert c.cmd("SLOWLOG", "RESET") == "OK"
    after = c.cmd("SLOWLOG", "GET", "-1")
    # RESET is itself logged, with the next id: ids are not reset.
    assert argvs(after) == [["SLOWLOG", "RESET"]]
    assert after[0][0] > ids[0]


def test_slowlog_get_defaults_to_ten(c):
    slowlog_on(c)
    for i in range(15):
        c.cmd("PING")
    entries = c.cmd("SLOWLOG", "GET")
    assert len(entries) == 10
    assert argvs(entries) == [["PING"]] * 10


def test_slowlog_get_count(c):
    slowlog_on(c)
    for i in range(5):
        c.cmd("SET", "k", str(i))
    assert argvs(c.cmd("SLOWLOG", "GET", "2")) == [["SET", "k", "4"], ["SET", "k", "3"]]
    # The previous SLOWLOG GET was logged too.
    assert argvs(c.cmd("SLOWLOG", "GET", "2")) == [["SLOWLOG", "GET", "2"], ["SET", "k", "4"]]
    assert c.cmd("SLOWLOG", "GET", "0") == []
    everything = c.cmd("SLOWLOG", "GET", "-1")
    assert len(everything) == 9  # RESET, 5 SETs, GET 2, GET 2, GET 0
    assert argvs(everything)[0] == ["SLOWLOG", "GET", "0"]
    assert argvs(everything)[-1] == ["SLOWLOG", "RESET"]
    assert c.cmd("SLOWLOG", "LEN") == 10  # ... and GET -1
    assert len(c.cmd("SLOWLOG", "GET", "1000")) == 11  # ... and LEN


def test_slowlog_get_minus_one_returns_all_beyond_ten(c):
    slowlog_on(c)
    for i in range(20):
        c.cmd("SET", "k", str(i))
    everything = c.cmd("SLOWLOG", "GET", "-1")
    assert len(everything) == 21
    assert argvs(everything)[0] == ["SET", "k", "19"]
    assert argvs(everything)[-1] == ["SLOWLOG", "RESET"]


@pytest.mark.parametrize("count", ["-2", "-100", "abc", "1.5", ""])
def test_slowlog_get_bad_count(c, count):
    assert c.cmd("SLOWLOG", "GET", count) == RespError(COUNT_ERR)


def test_slowlog_argument_errors(c):
    assert c.cmd("SLOWLOG", "GET", "1", "2") == RespError(
        "ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP.")
    assert c.cmd("SLOWLOG", "get", "1", "2") == RespError(
        "ERR unknown subcommand or wrong number of arguments for 'get'. Try SLOWLOG HELP.")
    assert c.cmd("SLOWLOG", "LEN", "x") == RespError(
        "ERR wrong number of arguments for 'slowlog|len' command")
    assert c.cmd("SLOWLOG", "RESET", "x") == RespError(
        "ERR wrong number of arguments for 'slowlog|reset' command")
    assert c.cmd("SLOWLOG") == RespError("ERR wrong number of arguments for 'slowlog' command")
    assert c.cmd("SLOWLOG", "nosuch") == RespError(
        "ERR unknown subcommand 'nosuch'. Try SLOWLOG HELP.")
    assert c.cmd("SLOWLOG", "NOSUCH") == RespError(
        "ERR unknown subcommand 'NOSUCH'. Try SLOWLOG HELP.")


@pytest.mark.parametrize("sub", ["HELP", "help"])
def test_slowlog_help(c, sub):
    assert c.cmd("SLOWLOG", sub) == SLOWLOG_HELP


def test_slowlog_len_and_reset(c):
    assert c.cmd("SLOWLOG", "LEN") == 0
    assert c.cmd("SLOWLOG", "GET") == []
    slowlog_on(c)
    assert c.cmd("SLOWLOG", "LEN") == 1  # the RESET
    c.cmd("PING")
    c.cmd("PING")
    assert c.cmd("SLOWLOG", "LEN") == 4  # RESET, PING, PING, LEN
    assert c.cmd("SLOWLOG", "RESET") == "OK"
    assert c.cmd("SLOWLOG", "LEN") == 1
    cfg(c, "slowlog-log-slower-than", "10000")
    assert c.cmd("SLOWLOG", "RESET") == "OK"
    assert c.cmd("SLOWLOG", "LEN") == 0


def test_slowlog_threshold_filters_fast_commands(c):
    cfg(c, "slowlog-log-slower-than", "50000")
    assert c.cmd("SLOWLOG", "RESET") == "OK"
    assert c.cmd("PING") == "PONG"
    assert c.cmd("DEBUG", "SLEEP", "0.1") == "OK"
    entries = c.cmd("SLOWLOG", "GET")
    assert argvs(entries) == [["DEBUG", "SLEEP", "0.1"]]
    assert entries[0][2] >= 100000


def test_slowlog_minus_one_disables_logging(c):
    cfg(c, "slowlog-log-slower-than", "-1")
    assert c.cmd("SLOWLOG", "RESET") == "OK"
    assert c.cmd("PING") == "PONG"
    assert c.cmd("DEBUG", "SLEEP", "0.05") == "OK"
    assert c.cmd("SLOWLOG", "LEN") == 0
    assert c.cmd("SLOWLOG", "GET", "-1") == []


@pytest.mark.parametrize("name,value,err", [
    ("slowlog-log-slower-than", "-2",
     "argument must be between -1 and 9223372036854775807 inclusive"),
    ("slowlog-log-slower-than", "abc", "argument couldn't be parsed into an integer"),
    ("slowlog-max-len", "-1", "argument must be between 0 and 9223372036854775807 inclusive"),
], ids=["slower-than=-2", "slower-than=abc", "max-len=-1"])
def test_slowlog_config_errors(c, name, value, err):
    assert c.cmd("CONFIG", "SET", name, value) == RespError(
        f"ERR CONFIG SET failed (possibly related to argument '{name}') - {err}")


def test_slowlog_config_get_defaults(c):
    assert c.cmd("CONFIG", "GET", "slowlog-log-slower-than") == [
        b"slowlog-log-slower-than", b"10000"]
    assert c.cmd("CONFIG", "GET", "slowlog-max-len") == [b"slowlog-max-len", b"128"]


def test_slowlog_max_len_bounds_length(c):
    cfg(c, "slowlog-max-len", "3")
    slowlog_on(c)
    for i in range(10):
        c.cmd("SET", "k", str(i))
    assert c.cmd("SLOWLOG", "LEN") == 3
    assert argvs(c.cmd("SLOWLOG", "GET", "-1")) == [
        ["SLOWLOG", "LEN"], ["SET", "k", "9"], ["SET", "k", "8"]]


def test_slowlog_lowering_max_len_trims_at_next_entry(c):
    slowlog_on(c)
    for _ in range(10):
        c.cmd("PING")
    cfg(c, "slowlog-log-slower-than", "-1")
    assert c.cmd("SLOWLOG", "LEN") == 11
    cfg(c, "slowlog-max-len", "3")
    assert c.cmd("SLOWLOG", "LEN") == 11  # nothing pushed, nothing trimmed
    cfg(c, "slowlog-log-slower-than", "0")  # this CONFIG SET is pushed: trims
    assert c.cmd("SLOWLOG", "LEN") == 3


def test_slowlog_max_len_zero_keeps_nothing(c):
    slowlog_on(c)
    c.cmd("PING")
    cfg(c, "slowlog-max-len", "0")
    assert c.cmd("SLOWLOG", "LEN") == 0
    c.cmd("PING")
    assert c.cmd("SLOWLOG", "LEN") == 0
    assert c.cmd("SLOWLOG", "GET") == []


def test_slowlog_truncates_long_arguments(c):
    slowlog_on(c)
    c.cmd("SET", "k", "x" * 200)
    c.cmd("SET", "k", "y" * 128)
    c.cmd("SET", "k", "z" * 129)
    entries = c.cmd("SLOWLOG", "GET", "3")
    assert [e[3] for e in entries] == [
        [b"SET", b"k", b"z" * 128 + b"... (1 more bytes)"],
        [b"SET", b"k", b"y" * 128],
        [b"SET", b"k", b"x" * 128 + b"... (72 more bytes)"],
    ]


def test_slowlog_truncates_long_argv(c):
    slowlog_on(c)
    c.cmd("RPUSH", "l", *[str(i) for i in range(40)])  # 42 arguments
    c.cmd("RPUSH", "l", *[str(i) for i in range(31)])  # 33
    c.cmd("RPUSH", "l", *[str(i) for i in range(30)])  # 32
    entries = c.cmd("SLOWLOG", "GET", "3")
    head = [b"RPUSH", b"l"] + [str(i).encode() for i in range(29)]
    assert [e[3] for e in entries] == [
        [b"RPUSH", b"l"] + [str(i).encode() for i in range(30)],
        head + [b"... (2 more arguments)"],
        head + [b"... (11 more arguments)"],
    ]
    assert [len(e[3]) for e in entries] == [32, 32, 32]


def test_slowlog_skips_exec_but_logs_multi_and_queued_commands(c):
    slowlog_on(c)
    assert c.cmd("MULTI") == "OK"
    assert c.cmd("SET", "m", "1") == "QUEUED"
    assert c.cmd("INCR", "m") == "QUEUED"
    assert c.cmd("EXEC") == ["OK", 2]
    assert argvs(c.cmd("SLOWLOG", "GET")) == [
        ["INCR", "m"], ["SET", "m", "1"], ["MULTI"], ["SLOWLOG", "RESET"]]


def test_slowlog_logs_slowlog_and_config_commands(c):
    slowlog_on(c)
    assert c.cmd("SLOWLOG", "LEN") == 1
    c.cmd("SLOWLOG", "GET", "0")
    c.cmd("CONFIG", "GET", "maxmemory")
    c.cmd("INFO", "cluster")
    assert argvs(c.cmd("SLOWLOG", "GET")) == [
        ["INFO", "cluster"], ["CONFIG", "GET", "maxmemory"], ["SLOWLOG", "GET", "0"],
        ["SLOWLOG", "LEN"], ["SLOWLOG", "RESET"]]


def test_slowlog_does_not_log_rejected_or_unknown_commands(c):
    slowlog_on(c)
    assert isinstance(c.cmd("GET"), RespError)
    assert isinstance(c.cmd("NOSUCH", "x"), RespError)
    assert c.cmd("INCR", "k") == 1
    assert c.cmd("SET", "k", "a") == "OK"
    assert c.cmd("INCR", "k") == RespError(NOT_INT)  # ran, failed: logged
    assert argvs(c.cmd("SLOWLOG", "GET")) == [
        ["INCR", "k"], ["SET", "k", "a"], ["INCR", "k"], ["SLOWLOG", "RESET"]]


def test_slowlog_shows_client_name(c):
    slowlog_on(c)
    assert c.cmd("CLIENT", "SETNAME", "myname") == "OK"
    assert c.cmd("PING") == "PONG"
    assert c.cmd("CLIENT", "SETNAME", "") == "OK"
    assert c.cmd("PING") == "PONG"
    entries = c.cmd("SLOWLOG", "GET", "4")
    assert [(e[3], e[5]) for e in entries] == [
        ([b"PING"], b""),
        ([b"CLIENT", b"SETNAME", b""], b""),
        ([b"PING"], b"myname"),
        # the name is taken after the command ran
        ([b"CLIENT", b"SETNAME", b"myname"], b"myname"),
    ]


def test_slowlog_client_address_per_connection(c, other):
    slowlog_on(c)
    o = other()
    assert o.cmd("SET", "from", "other") == "OK"
    assert c.cmd("SET", "from", "main") == "OK"
    entries = c.cmd("SLOWLOG", "GET", "2")
    assert [e[3][2] for e in entries] == [b"main", b"other"]
    assert entries[0][4] == b"127.0.0.1:%d" % c.sock.getsockname()[1]
    assert entries[1][4] == b"127.0.0.1:%d" % o.sock.getsockname()[1]


def test_slowlog_script_commands_logged_from_lua_client(c):
    slowlog_on(c)
    script = "redis.call('set', 'e', '1') return 1"
    assert c.cmd("EVAL", script, "0") == 1
    entries = c.cmd("SLOWLOG", "GET")
    assert [(e[3], e[4], e[5]) for e in entries[:2]] == [
        ([b"EVAL", script.encode(), b"0"], b"127.0.0.1:%d" % c.sock.getsockname()[1], b""),
        ([b"set", b"e", b"1"], b"?:0", b""),
    ]
    assert entries[0][0] == entries[1][0] + 1


def test_slowlog_served_blocking_command_logged_without_wait(c, other):
    slowlog_on(c)
    c.send(RawConn.encode("BLPOP", "bl", "5"))
    time.sleep(0.3)
    pusher = other()
    assert pusher.cmd("RPUSH", "bl", "v") == 1
    assert c.read_reply() == [b"bl", b"v"]
    entries = c.cmd("SLOWLOG", "GET", "2")
    # Logged when served, so after the RPUSH that woke it.
    assert argvs(entries) == [["BLPOP", "bl", "5"], ["RPUSH", "bl", "v"]]
    assert entries[0][2] < 300000  # the time spent blocked is not counted


def test_slowlog_timed_out_blocking_command_not_logged(c):
    slowlog_on(c)
    assert c.cmd("BLPOP", "nolist", "0.1") is None
    assert c.cmd("PING") == "PONG"
    assert argvs(c.cmd("SLOWLOG", "GET")) == [["PING"], ["SLOWLOG", "RESET"]]
    assert commandstats(c)["blpop"]["calls"] == 1


def test_config_resetstat_does_not_clear_slowlog(c):
    slowlog_on(c)
    c.cmd("PING")
    assert c.cmd("CONFIG", "RESETSTAT") == "OK"
    assert argvs(c.cmd("SLOWLOG", "GET")) == [
        ["CONFIG", "RESETSTAT"], ["PING"], ["SLOWLOG", "RESET"]]


def test_slowlog_redacts_auth_and_hello_auth(c):
    slowlog_on(c)
    assert c.cmd("AUTH", "pw") == RespError(
        "ERR AUTH <password> called without any password configured for the default "
        "user. Are you sure your configuration is correct?")
    assert c.cmd("AUTH", "default", "pw") == "OK"
    assert isinstance(c.cmd("HELLO", "2", "AUTH", "default", "pw"), list)
    assert isinstance(c.cmd("HELLO", "2", "SETNAME", "n"), list)
    assert argvs(c.cmd("SLOWLOG", "GET", "4")) == [
        ["HELLO", "2", "SETNAME", "n"],
        ["HELLO", "2", "AUTH", "(redacted)", "(redacted)"],
        ["AUTH", "(redacted)", "(redacted)"],
        ["AUTH", "(redacted)"],
    ]


def test_slowlog_redacts_config_set_passwords(c):
    # masterauth arrives with replication (issue 18); until then only requirepass.
    replicas = c.cmd("CONFIG", "GET", "masterauth") != []
    slowlog_on(c)
    if replicas:
        cfg(c, "masterauth", "secret")
    cfg(c, "requirepass", "")
    cfg(c, "maxmemory", "0")
    want = [
        ["CONFIG", "SET", "maxmemory", "0"],
        ["CONFIG", "SET", "requirepass", "(redacted)"],
    ]
    if replicas:
        want.append(["CONFIG", "SET", "masterauth", "(redacted)"])
    assert argvs(c.cmd("SLOWLOG", "GET", str(len(want)))) == want


def test_slowlog_redacts_acl_setuser(c):
    if isinstance(c.cmd("ACL", "WHOAMI"), RespError):
        pytest.skip("server has no ACL yet")
    slowlog_on(c)
    assert c.cmd("ACL", "SETUSER", "slowlog-user", "on", ">pw") == "OK"
    assert c.cmd("ACL", "DELUSER", "slowlog-user") == 1
    assert argvs(c.cmd("SLOWLOG", "GET", "2")) == [
        ["ACL", "DELUSER", "slowlog-user"],
        ["ACL", "SETUSER", "(redacted)", "(redacted)", "(redacted)"],
    ]


# Fields of the other sections that redis_exporter maps to metrics.
@pytest.mark.parametrize("section,header,fields", [
    ("server", "Server", ["redis_version", "redis_build_id", "redis_mode", "os", "process_id",
                          "run_id", "tcp_port", "uptime_in_seconds", "hz", "configured_hz",
                          "lru_clock", "io_threads_active"]),
    ("replication", "Replication", ["role", "connected_slaves", "master_repl_offset",
                                    "repl_backlog_active", "repl_backlog_size",
                                    "repl_backlog_first_byte_offset", "repl_backlog_histlen"]),
    ("cpu", "CPU", ["used_cpu_sys", "used_cpu_user", "used_cpu_sys_children",
                    "used_cpu_user_children", "used_cpu_sys_main_thread",
                    "used_cpu_user_main_thread"]),
    ("stats", "Stats", ["reply_buffer_shrinks", "reply_buffer_expands"]),
])
def test_info_has_exporter_fields_of_other_sections(c, section, header, fields):
    have = dict(line.split(":", 1) for line in body(info(c, section), header))
    for f in fields:
        assert f in have, f"# {header} lacks {f}"
    if section == "server":
        assert have["configured_hz"] == have["hz"] == "10"
        assert int(have["io_threads_active"]) == 0
    if section == "replication":
        assert have["repl_backlog_size"] == "1048576"

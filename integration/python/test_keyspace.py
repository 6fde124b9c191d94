"""Keyspace commands: DEL, UNLINK, EXISTS, TYPE, KEYS, SCAN, RANDOMKEY,
RENAME, RENAMENX, COPY, MOVE, TOUCH."""

from __future__ import annotations

import pytest
import redis

from helpers import raises_error


def test_del(r):
    r.mset({"a": 1, "b": 2, "c": 3})
    assert r.delete("a") == 1
    assert r.delete("a") == 0
    assert r.delete("b", "c", "missing") == 2
    assert r.dbsize() == 0
    # the same key twice is deleted (and counted) once
    r.set("d", 1)
    assert r.delete("d", "d") == 1
    with raises_error("ERR wrong number of arguments for 'del' command"):
        r.execute_command("DEL")


def test_unlink(r):
    r.mset({"a": 1, "b": 2})
    assert r.unlink("a", "b", "missing") == 2
    assert r.dbsize() == 0
    assert r.unlink("a") == 0


def test_exists_counts_duplicates(r):
    r.set("a", 1)
    assert r.exists("a") == 1
    assert r.exists("missing") == 0
    assert r.exists("a", "a", "a") == 3
    assert r.exists("a", "missing", "a") == 2
    with raises_error("ERR wrong number of arguments for 'exists' command"):
        r.execute_command("EXISTS")


def test_type(r):
    assert r.type("missing") == "none"
    r.set("s", "v")
    assert r.type("s") == "string"
    r.set("n", 12)
    assert r.type("n") == "string"


def test_type_raw_is_status_reply(raw, flushed):
    c = raw()
    c.send(c.encode("TYPE", "missing"))
    assert c.read_line() == b"+none"
    c.cmd("SET", "s", "v")
    c.send(c.encode("TYPE", "s"))
    assert c.read_line() == b"+string"


# --------------------------------------------------------------------------
# KEYS
# --------------------------------------------------------------------------

KEYS = ["hello", "hallo", "hxllo", "hllo", "heeeello", "hbllo", "hcllo",
        "hdllo", "h*llo", "h?llo", "h[a]llo", "other", "one", "two"]


@pytest.fixture
def keyset(r):
    r.mset({k: "1" for k in KEYS})
    return r


@pytest.mark.parametrize("pattern, expected", [
    ("*", KEYS),
    ("h?llo", ["hello", "hallo", "hxllo", "hbllo", "hcllo", "hdllo", "h*llo", "h?llo"]),
    ("h*llo", ["hello", "hallo", "hxllo", "hllo", "heeeello", "hbllo", "hcllo",
               "hdllo", "h*llo", "h?llo", "h[a]llo"]),
    ("h[ae]llo", ["hello", "hallo"]),
    ("h[^e]llo", ["hallo", "hxllo", "hbllo", "hcllo", "hdllo", "h*llo", "h?llo"]),
    ("h[a-c]llo", ["hallo", "hbllo", "hcllo"]),
    ("h\\*llo", ["h*llo"]),
    ("h\\?llo", ["h?llo"]),
    ("h\\[a\\]llo", ["h[a]llo"]),
    ("o*", ["other", "one"]),
    ("*o", ["hello", "hallo", "hxllo", "hllo", "heeeello", "hbllo", "hcllo",
            "hdllo", "h*llo", "h?llo", "h[a]llo", "two"]),
    ("t?o", ["two"]),
    ("nomatch*", []),
    ("one", ["one"]),
])
def test_keys_patterns(keyset, pattern, expected):
    assert sorted(keyset.keys(pattern)) == sorted(expected)


def test_keys_empty_db(r):
    assert r.keys("*") == []


def test_keys_only_current_db(r, make_client):
    r.set("a", 1)
    make_client(db=2).set("b", 1)
    assert r.keys("*") == ["a"]


# --------------------------------------------------------------------------
# SCAN
# --------------------------------------------------------------------------

def full_scan(client, **kwargs):
    seen = []
    cursor = 0
    for _ in range(100000):
        cursor, keys = client.scan(cursor, **kwargs)
        seen.extend(keys)
        if int(cursor) == 0:
            return seen
    raise AssertionError("SCAN did not return to cursor 0")


def test_scan_sees_every_key(r):
    keys = {f"key:{i}" for i in range(1000)}
    r.mset({k: "v" for k in keys})
    seen = full_scan(r, count=37)
    assert set(seen) == keys  # each key at least once (duplicates allowed)


def test_scan_match(r):
    r.mset({f"user:{i}": "v" for i in range(200)})
    r.mset({f"order:{i}": "v" for i in range(200)})
    seen = set(full_scan(r, match="user:1*", count=50))
    assert seen == {k for k in (f"user:{i}" for i in range(200)) if k.startswith("user:1")}


def test_scan_type(r):
    r.mset({f"s{i}": "v" for i in range(100)})
    assert set(full_scan(r, _type="string")) == {f"s{i}" for i in range(100)}
    assert full_scan(r, _type="list") == []
    assert full_scan(r, _type="no-such-type") == []


def test_scan_iter(r):
    r.mset({f"k{i}": i for i in range(300)})
    assert set(r.scan_iter(match="k2*", count=20)) == {
        f"k{i}" for i in range(300) if str(i).startswith("2")}


def test_scan_empty_and_reply_shape(r):
    cursor, keys = r.scan(0)
    assert int(cursor) == 0 and keys == []


def test_scan_raw_cursor_is_bulk_string(raw, flushed):
    c = raw()
    c.cmd("MSET", "a", "1", "b", "2")
    reply = c.cmd("SCAN", "0", "COUNT", "100")
    assert isinstance(reply, list) and len(reply) == 2
    assert reply[0] == b"0"
    assert sorted(reply[1]) == [b"a", b"b"]


def test_scan_errors(r):
    with raises_error("ERR invalid cursor"):
        r.execute_command("SCAN", "abc")
    with raises_error("ERR syntax error"):
        r.execute_command("SCAN", "0", "COUNT", "0")
    with raises_error("ERR value is not an integer or out of range"):
        r.execute_command("SCAN", "0", "COUNT", "x")
    with raises_error("ERR syntax error"):
        r.execute_command("SCAN", "0", "FOO")


def test_scan_survives_modifications(r):
    base = {f"base:{i}" for i in range(500)}
    r.mset({k: "v" for k in base})
    seen = set()
    cursor = 0
    step = 0
    while True:
        cursor, keys = r.scan(cursor, count=25)
        seen.update(keys)
        step += 1
        r.set(f"added:{step}", "v")  # concurrent growth
        if int(cursor) == 0:
            break
        assert step < 10000
    # every key present for the whole iteration is returned
    assert base <= seen


# --------------------------------------------------------------------------
# RANDOMKEY
# --------------------------------------------------------------------------

def test_randomkey(r):
    assert r.randomkey() is None
    r.set("only", 1)
    assert r.randomkey() == "only"
    r.mset({f"k{i}": i for i in range(20)})
    keys = set(r.keys("*"))
    for _ in range(20):
        assert r.randomkey() in keys


# --------------------------------------------------------------------------
# RENAME / RENAMENX
# --------------------------------------------------------------------------

def test_rename(r):
    r.set("a", "1", ex=100)
    assert r.rename("a", "b") is True
    assert r.exists("a") == 0
    assert r.get("b") == "1"
    assert r.ttl("b") > 0  # TTL moves with the key
    r.set("c", "3")
    assert r.rename("c", "b") is True  # overwrites, and its TTL
    assert r.get("b") == "3"
    assert r.ttl("b") == -1
    with raises_error("ERR no such key"):
        r.rename("missing", "x")
    # same name is a no-op that succeeds for an existing key
    assert r.rename("b", "b") is True
    assert r.get("b") == "3"


def test_renamenx(r):
    r.set("a", "1")
    r.set("b", "2")
    assert r.renamenx("a", "b") is False
    assert r.get("a") == "1"
    assert r.renamenx("a", "c") is True
    assert r.get("c") == "1" and r.exists("a") == 0
    with raises_error("ERR no such key"):
        r.renamenx("missing", "x")
    assert r.renamenx("c", "c") is False


# --------------------------------------------------------------------------
# COPY / MOVE
# --------------------------------------------------------------------------

def test_copy(r):
    r.set("src", "v", ex=100)
    assert r.copy("src", "dst") is True
    assert r.get("dst") == "v"
    assert r.ttl("dst") > 0
    assert r.get("src") == "v"
    r.set("other", "o")
    assert r.copy("src", "other") is False
    assert r.get("other") == "o"
    assert r.copy("src", "other", replace=True) is True
    assert r.get("other") == "v"
    assert r.copy("missing", "x") is False
    with raises_error("ERR source and destination objects are the same"):
        r.copy("src", "src")


def test_copy_db(r, make_client):
    r.set("src", "v")
    db5 = make_client(db=5)
    assert r.copy("src", "dst", destination_db=5) is True
    assert db5.get("dst") == "v"
    assert r.exists("dst") == 0
    db5.set("src", "there")
    assert r.copy("src", "src", destination_db=5) is False
    assert r.copy("src", "src", destination_db=5, replace=True) is True
    assert db5.get("src") == "v"
    with raises_error("ERR DB index is out of range"):
        r.copy("src", "x", destination_db=16)


def test_copy_syntax_error(r):
    r.set("src", "v")
    with raises_error("ERR syntax error"):
        r.execute_command("COPY", "src", "dst", "FOO")


def test_move(r, make_client):
    r.set("k", "v", ex=100)
    db1 = make_client(db=1)
    assert r.move("k", 1) is True
    assert r.exists("k") == 0
    assert db1.get("k") == "v"
    assert db1.ttl("k") > 0
    # target exists: not moved
    r.set("k", "again")
    assert r.move("k", 1) is False
    assert r.get("k") == "again"
    assert r.move("missing", 1) is False
    with raises_error("ERR source and destination objects are the same"):
        r.move("k", 0)
    with raises_error("ERR DB index is out of range"):
        r.move("k", 16)
    with raises_error("ERR value is not an integer or out of range"):
        r.execute_command("MOVE", "k", "abc")


# --------------------------------------------------------------------------
# TOUCH
# --------------------------------------------------------------------------

def test_touch(r):
    r.mset({"a": 1, "b": 2})
    assert r.touch("a", "b", "missing") == 2
    assert r.touch("a", "a") == 2
    assert r.touch("missing") == 0
    with raises_error("ERR wrong number of arguments for 'touch' command"):
        r.execute_command("TOUCH")

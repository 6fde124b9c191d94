#!/usr/bin/env python3
"""Helpers for scripts/bench.sh (standard library only, no redis-py needed).

Subcommands:
  freeport                       print a free loopback TCP port
  gen --count N --size B --out F write RESP for SET key:%012d <B bytes>, i in 0..N
  gentypes --kind hash|set|zset|list --keys K --elems E [--key NAME] [--batch B] --out F
                                 write RESP for K hashes (HSET), sets (SADD), sorted sets
                                 (ZADD) or lists (RPUSH) of E elements each; see cmd_gentypes
                                 for the names, values and scores
  waitpong --port P --timeout S [--t0-ns NS]
                                 poll PING (tiny timeouts) until +PONG; print seconds since
                                 t0 (wall clock ns, e.g. `date +%s%N`) or since the call
  stall --port P --keys N --rate R --seconds S [--bgsave] [--hash KEY]
                                 one connection doing GET/SET (or, with --hash, HGET/HSET
                                 on fields f0..f<N-1> of KEY) at a steady rate; print
                                 "p50_ms p99_ms max_ms ops bgsave_secs" (or "n/a <reason>"
                                 when BGSAVE replies with an error)
  report --raw FILE [--json OUT] [--meta k=v ...]
                                 medians, ratios, the table and the JSON file
"""
import argparse
import json
import os
import random
import socket
import statistics
import sys
import time


# --------------------------------------------------------------------------------------------
# tiny RESP client
def enc(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self, port, timeout=10.0):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf += chunk

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t in (b"+", b":"):
            return rest
        if t == b"-":
            return RuntimeError(rest.decode(errors="replace"))
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise ValueError("unexpected reply %r" % line)

    def call(self, *args):
        self.s.sendall(enc(*args))
        return self.reply()

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


# --------------------------------------------------------------------------------------------
def cmd_freeport(_a):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
    s.close()


def cmd_gen(a):
    val = b"v" * a.size
    with open(a.out, "wb", buffering=1 << 20) as f:
        step = 10000
        for base in range(0, a.count, step):
            f.write(b"".join(
                b"*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$%d\r\n%s\r\n" % (i, a.size, val)
                for i in range(base, min(base + step, a.count))))


def type_value(g):
    """Hash value number g: 8-16 bytes ("v" + digits, so never an integer that a listpack
    would store in fewer bytes), the length cycling over 8..16 so both servers see a mix."""
    return (b"v%015d" % g)[:8 + g % 9]


def zset_score(g):
    """Score of sorted-set element number g: a quarter step in 0..250000.75, scattered over g
    (g * 2654435761 mod 1000003, a permutation for g < 1000003, so a 1M-member zset is loaded
    in random score order with no ties); integers written without ".0", as Redis prints them.
    Three in four are not integers, so Redis's listpack stores them as strings, not ints."""
    q = (g * 2654435761) % 1000003
    whole, frac = divmod(q, 4)
    return b"%d" % whole if frac == 0 else b"%d.%s" % (whole, (b"25", b"5", b"75")[frac - 1])


def cmd_gentypes(a):
    """K keys of E elements each, as HSET (hash) or SADD (set) commands of at most --batch
    elements each, so a 1M-element collection loads as 1,000 commands of 1,000 elements.
    Keys: --key NAME when K is 1, else "hash:%08d" / "set:%08d". Hash fields are f0..f<E-1>
    in every hash, values type_value(g) for the global element number g = key * E + field;
    set members are "member:<g>" (strings, so Redis keeps small sets in its string encodings,
    never an intset). Sorted sets (ZADD score member ...) are "zset:%08d", members
    "m:%012d" % g (the shape of redis-benchmark's __rand_int__, so `ZRANK key m:__rand_int__`
    with -r E hits a member every time), scores zset_score(g). Lists (RPUSH key elem ...) are
    "list:%08d", elements type_value(g) (8-16 B strings, as the hash values)."""
    if a.keys != 1 and a.key:
        raise SystemExit("gentypes: --key needs --keys 1")
    cmd = {"hash": b"HSET", "set": b"SADD", "zset": b"ZADD", "list": b"RPUSH"}[a.kind]
    with open(a.out, "wb", buffering=1 << 20) as f:
        for k in range(a.keys):
            key = (a.key.encode() if a.key else b"%s:%08d" % (a.kind.encode(), k))
            for lo in range(0, a.elems, a.batch):
                hi = min(lo + a.batch, a.elems)
                parts = []
                for j in range(lo, hi):
                    g = k * a.elems + j
                    if a.kind == "hash":
                        fld, val = b"f%d" % j, type_value(g)
                        parts.append(b"$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(fld), fld, len(val), val))
                    elif a.kind == "zset":
                        sc, m = zset_score(g), b"m:%012d" % g
                        parts.append(b"$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(sc), sc, len(m), m))
                    elif a.kind == "list":
                        v = type_value(g)
                        parts.append(b"$%d\r\n%s\r\n" % (len(v), v))
                    else:
                        m = b"member:%d" % g
                        parts.append(b"$%d\r\n%s\r\n" % (len(m), m))
                nargs = 2 + (hi - lo) * (1 if a.kind in ("set", "list") else 2)
                f.write(b"*%d\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (nargs, len(cmd), cmd, len(key), key))
                f.write(b"".join(parts))


def cmd_waitpong(a):
    start_ns = a.t0_ns if a.t0_ns else time.time_ns()
    deadline = time.monotonic() + a.timeout
    req = enc("PING")
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", a.port), timeout=0.05) as s:
                s.settimeout(0.5)
                s.sendall(req)
                data = s.recv(64)
                if data.startswith(b"+PONG"):
                    print("%.4f" % ((time.time_ns() - start_ns) / 1e9))
                    return 0
                # -LOADING and friends: not ready yet
        except OSError:
            pass
        time.sleep(0.002)
    print("no PONG on port %d within %ss" % (a.port, a.timeout), file=sys.stderr)
    return 1


def pct(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


def snapshot_running(conn):
    """True while Redis's rdb_bgsave_in_progress or vaylix's snapshot_in_progress is 1."""
    r = conn.call("INFO", "persistence")
    if isinstance(r, (bytes, bytearray)):
        for line in r.decode(errors="replace").splitlines():
            k, _, v = line.partition(":")
            if k in ("rdb_bgsave_in_progress", "snapshot_in_progress") and v.strip() == "1":
                return True
    return False


def cmd_stall(a):
    """Open-loop client: op i is due at t0 + i/rate. Latency runs from the moment the op could
    be sent (its due time if the previous reply came back late, else the actual send), so a
    server stall counts for every op queued behind it (no coordinated omission)."""
    c = Conn(a.port)
    ctl = Conn(a.port) if a.bgsave else None
    rnd = random.Random(7)
    # hash fields keep the loaded values' size class (8-16 B), strings the SET rows' 64 B
    val = "s" * (16 if a.hash else 64)
    interval = 1.0 / a.rate
    lat = []
    t0 = time.perf_counter()
    bgsave_sent = False
    bgsave_started_at = None
    bgsave_secs = 0.0
    bgsave_done = not a.bgsave
    next_poll = 0.0
    hard_end = t0 + max(a.seconds * 6, 60)
    i = 0
    prev_reply = t0
    while True:
        now = time.perf_counter()
        el = now - t0
        if el >= a.seconds and bgsave_done:
            break
        if now > hard_end:
            print("n/a BGSAVE still running after %.0fs" % (now - t0))
            return 0
        if a.bgsave and not bgsave_sent and el >= min(0.5, a.seconds / 4):
            r = ctl.call("BGSAVE")
            bgsave_sent = True
            if isinstance(r, Exception):
                print("n/a BGSAVE: %s" % str(r)[:80])
                return 0
            bgsave_started_at = el
        if bgsave_sent and not bgsave_done and el >= next_poll:
            next_poll = el + 0.05
            if not snapshot_running(ctl):
                # keep the window open until the snapshot finished (and a little after)
                bgsave_done = el - bgsave_started_at > 0.1
                if bgsave_done:
                    bgsave_secs = el - bgsave_started_at
        due = t0 + i * interval
        if now < due:
            time.sleep(due - now)
            now = time.perf_counter()
        start = due if prev_reply > due else now
        if a.hash:
            fld = "f%d" % rnd.randrange(a.keys)
            if i & 1:
                r = c.call("HSET", a.hash, fld, val)
            else:
                r = c.call("HGET", a.hash, fld)
        else:
            key = "key:%012d" % rnd.randrange(a.keys)
            if i & 1:
                r = c.call("SET", key, val)
            else:
                r = c.call("GET", key)
        prev_reply = time.perf_counter()
        if isinstance(r, Exception):
            print("n/a %s" % str(r)[:80])
            return 0
        lat.append((prev_reply - start) * 1000.0)
        i += 1
    lat.sort()
    print("%.3f %.3f %.3f %d %.2f" % (pct(lat, 50), pct(lat, 99), lat[-1], len(lat), bgsave_secs))
    return 0


# --------------------------------------------------------------------------------------------
# metric id -> (label, unit, higher_is_better)
METRICS = [
    ("always_set_p1_rps", "SET always -P 1", "ops/s", True),
    ("always_set_p1_p50", "SET always -P 1 p50 latency", "ms", False),
    ("always_set_p1_p99", "SET always -P 1 p99 latency", "ms", False),
    ("always_set_p1_max", "SET always -P 1 max latency", "ms", False),
    ("always_set_p1_cpu", "SET always -P 1 server CPU/op", "us", False),
    ("always_set_p16_rps", "SET always -P 16", "ops/s", True),
    ("always_set_p16_cpu", "SET always -P 16 server CPU/op", "us", False),
    ("everysec_set_rps", "SET everysec -P 1", "ops/s", True),
    ("everysec_get_rps", "GET everysec -P 1 (100k keys)", "ops/s", True),
    ("mem_used_per_key", "memory used_memory/key (1M)", "B", False),
    ("mem_rss_per_key", "memory RSS/key (1M)", "B", False),
    ("recovery_time", "recovery start->PONG (1M)", "s", False),
    ("recovery_disk", "recovery data-dir size (1M)", "MB", False),
    ("stall_base_p99", "GET/SET 2k/s no snapshot p99", "ms", False),
    ("stall_base_max", "GET/SET 2k/s no snapshot max", "ms", False),
    ("stall_bgsave_p99", "GET/SET 2k/s during BGSAVE p99", "ms", False),
    ("stall_bgsave_max", "GET/SET 2k/s during BGSAVE max", "ms", False),
    # issue 12: hashes and sets
    ("types_hset_p1_rps", "HSET always -P 1", "ops/s", True),
    ("types_hset_p1_p50", "HSET always -P 1 p50 latency", "ms", False),
    ("types_hset_p1_p99", "HSET always -P 1 p99 latency", "ms", False),
    ("types_hset_p1_max", "HSET always -P 1 max latency", "ms", False),
    ("types_hset_p1_cpu", "HSET always -P 1 server CPU/op", "us", False),
    ("types_hset_p16_rps", "HSET always -P 16", "ops/s", True),
    ("types_hset_p16_cpu", "HSET always -P 16 server CPU/op", "us", False),
    ("types_sadd_p1_rps", "SADD always -P 1", "ops/s", True),
    ("types_sadd_p1_p50", "SADD always -P 1 p50 latency", "ms", False),
    ("types_sadd_p1_p99", "SADD always -P 1 p99 latency", "ms", False),
    ("types_sadd_p1_max", "SADD always -P 1 max latency", "ms", False),
    ("types_sadd_p1_cpu", "SADD always -P 1 server CPU/op", "us", False),
    ("types_sadd_p16_rps", "SADD always -P 16", "ops/s", True),
    ("types_sadd_p16_cpu", "SADD always -P 16 server CPU/op", "us", False),
    ("types_hgetall_p1_rps", "HGETALL 100 fields always -P 1", "ops/s", True),
    ("types_hgetall_p1_p50", "HGETALL 100 fields -P 1 p50 latency", "ms", False),
    ("types_hgetall_p1_p99", "HGETALL 100 fields -P 1 p99 latency", "ms", False),
    ("types_hgetall_p1_max", "HGETALL 100 fields -P 1 max latency", "ms", False),
    ("types_hgetall_p1_cpu", "HGETALL 100 fields -P 1 server CPU/op", "us", False),
    ("typesmem_hash10_used", "memory used_memory/field, 100k hashes x 10", "B", False),
    ("typesmem_hash10_rss", "memory RSS/field, 100k hashes x 10", "B", False),
    ("typesmem_set10_used", "memory used_memory/member, 100k sets x 10", "B", False),
    ("typesmem_set10_rss", "memory RSS/member, 100k sets x 10", "B", False),
    ("typesmem_bighash_used", "memory used_memory/field, 1 hash x 1M", "B", False),
    ("typesmem_bighash_rss", "memory RSS/field, 1 hash x 1M", "B", False),
    ("typesmem_bigset_used", "memory used_memory/member, 1 set x 1M", "B", False),
    ("typesmem_bigset_rss", "memory RSS/member, 1 set x 1M", "B", False),
    # issue 13: sorted sets
    ("zsets_zadd_p1_rps", "ZADD always -P 1", "ops/s", True),
    ("zsets_zadd_p1_p50", "ZADD always -P 1 p50 latency", "ms", False),
    ("zsets_zadd_p1_p99", "ZADD always -P 1 p99 latency", "ms", False),
    ("zsets_zadd_p1_max", "ZADD always -P 1 max latency", "ms", False),
    ("zsets_zadd_p1_cpu", "ZADD always -P 1 server CPU/op", "us", False),
    ("zsets_zadd_p16_rps", "ZADD always -P 16", "ops/s", True),
    ("zsets_zadd_p16_cpu", "ZADD always -P 16 server CPU/op", "us", False),
    ("zsets_zpopmin_p1_rps", "ZPOPMIN always -P 1", "ops/s", True),
    ("zsets_zpopmin_p1_p50", "ZPOPMIN always -P 1 p50 latency", "ms", False),
    ("zsets_zpopmin_p1_p99", "ZPOPMIN always -P 1 p99 latency", "ms", False),
    ("zsets_zpopmin_p1_max", "ZPOPMIN always -P 1 max latency", "ms", False),
    ("zsets_zpopmin_p1_cpu", "ZPOPMIN always -P 1 server CPU/op", "us", False),
    ("zsets_zpopmin_p16_rps", "ZPOPMIN always -P 16", "ops/s", True),
    ("zsets_zpopmin_p16_cpu", "ZPOPMIN always -P 16 server CPU/op", "us", False),
    ("zsets_zrange_p1_rps", "ZRANGE 0 99 WITHSCORES 1M zset -P 1", "ops/s", True),
    ("zsets_zrange_p1_p50", "ZRANGE 0 99 WITHSCORES 1M zset p50 latency", "ms", False),
    ("zsets_zrange_p1_p99", "ZRANGE 0 99 WITHSCORES 1M zset p99 latency", "ms", False),
    ("zsets_zrange_p1_max", "ZRANGE 0 99 WITHSCORES 1M zset max latency", "ms", False),
    ("zsets_zrange_p1_cpu", "ZRANGE 0 99 WITHSCORES 1M zset server CPU/op", "us", False),
    ("zsets_zrank_p1_rps", "ZRANK random member 1M zset -P 1", "ops/s", True),
    ("zsets_zrank_p1_p50", "ZRANK random member 1M zset p50 latency", "ms", False),
    ("zsets_zrank_p1_p99", "ZRANK random member 1M zset p99 latency", "ms", False),
    ("zsets_zrank_p1_max", "ZRANK random member 1M zset max latency", "ms", False),
    ("zsets_zrank_p1_cpu", "ZRANK random member 1M zset server CPU/op", "us", False),
    ("zsetmem_zset10_used", "memory used_memory/member, 100k zsets x 10", "B", False),
    ("zsetmem_zset10_rss", "memory RSS/member, 100k zsets x 10", "B", False),
    ("zsetmem_bigzset_used", "memory used_memory/member, 1 zset x 1M", "B", False),
    ("zsetmem_bigzset_rss", "memory RSS/member, 1 zset x 1M", "B", False),
    # issue 14: lists and blocking commands
    ("lists_lpush_p1_rps", "LPUSH always -P 1", "ops/s", True),
    ("lists_lpush_p1_p50", "LPUSH always -P 1 p50 latency", "ms", False),
    ("lists_lpush_p1_p99", "LPUSH always -P 1 p99 latency", "ms", False),
    ("lists_lpush_p1_max", "LPUSH always -P 1 max latency", "ms", False),
    ("lists_lpush_p1_cpu", "LPUSH always -P 1 server CPU/op", "us", False),
    ("lists_lpush_p16_rps", "LPUSH always -P 16", "ops/s", True),
    ("lists_lpush_p16_cpu", "LPUSH always -P 16 server CPU/op", "us", False),
    ("lists_rpush_p1_rps", "RPUSH always -P 1", "ops/s", True),
    ("lists_rpush_p1_p50", "RPUSH always -P 1 p50 latency", "ms", False),
    ("lists_rpush_p1_p99", "RPUSH always -P 1 p99 latency", "ms", False),
    ("lists_rpush_p1_max", "RPUSH always -P 1 max latency", "ms", False),
    ("lists_rpush_p1_cpu", "RPUSH always -P 1 server CPU/op", "us", False),
    ("lists_rpush_p16_rps", "RPUSH always -P 16", "ops/s", True),
    ("lists_rpush_p16_cpu", "RPUSH always -P 16 server CPU/op", "us", False),
    ("lists_lpop_p1_rps", "LPOP always -P 1", "ops/s", True),
    ("lists_lpop_p1_p50", "LPOP always -P 1 p50 latency", "ms", False),
    ("lists_lpop_p1_p99", "LPOP always -P 1 p99 latency", "ms", False),
    ("lists_lpop_p1_max", "LPOP always -P 1 max latency", "ms", False),
    ("lists_lpop_p1_cpu", "LPOP always -P 1 server CPU/op", "us", False),
    ("lists_lpop_p16_rps", "LPOP always -P 16", "ops/s", True),
    ("lists_lpop_p16_cpu", "LPOP always -P 16 server CPU/op", "us", False),
    ("lists_rpop_p1_rps", "RPOP always -P 1", "ops/s", True),
    ("lists_rpop_p1_p50", "RPOP always -P 1 p50 latency", "ms", False),
    ("lists_rpop_p1_p99", "RPOP always -P 1 p99 latency", "ms", False),
    ("lists_rpop_p1_max", "RPOP always -P 1 max latency", "ms", False),
    ("lists_rpop_p1_cpu", "RPOP always -P 1 server CPU/op", "us", False),
    ("lists_rpop_p16_rps", "RPOP always -P 16", "ops/s", True),
    ("lists_rpop_p16_cpu", "RPOP always -P 16 server CPU/op", "us", False),
    ("lists_lrange_p1_rps", "LRANGE_100 (first 100 of mylist) always -P 1", "ops/s", True),
    ("lists_lrange_p1_p50", "LRANGE_100 (first 100 of mylist) always -P 1 p50 latency", "ms", False),
    ("lists_lrange_p1_p99", "LRANGE_100 (first 100 of mylist) always -P 1 p99 latency", "ms", False),
    ("lists_lrange_p1_max", "LRANGE_100 (first 100 of mylist) always -P 1 max latency", "ms", False),
    ("lists_lrange_p1_cpu", "LRANGE_100 (first 100 of mylist) always -P 1 server CPU/op", "us", False),
    ("lists_lrange_p16_rps", "LRANGE_100 (first 100 of mylist) always -P 16", "ops/s", True),
    ("lists_lrange_p16_cpu", "LRANGE_100 (first 100 of mylist) always -P 16 server CPU/op", "us", False),
    ("listmem_list10_used", "memory used_memory/element, 100k lists x 10", "B", False),
    ("listmem_list10_rss", "memory RSS/element, 100k lists x 10", "B", False),
    ("listmem_biglist_used", "memory used_memory/element, 1 list x 1M", "B", False),
    ("listmem_biglist_rss", "memory RSS/element, 1 list x 1M", "B", False),
    ("queue_jobs_rps", "queue 50 RPUSH + 50 BLPOP always, jobs", "ops/s", True),
    ("queue_p50", "queue job latency push->pop reply p50", "ms", False),
    ("queue_p99", "queue job latency push->pop reply p99", "ms", False),
    ("queue_max", "queue job latency push->pop reply max", "ms", False),
    ("queue_cpu", "queue server CPU/job (RPUSH + BLPOP)", "us", False),
    ("pubsub_msgs_rps", "pubsub 1 publisher -> 50 subscribers, messages delivered", "msgs/s", True),
    ("pubsub_pub_rps", "pubsub 1 publisher -> 50 subscribers, PUBLISHes", "ops/s", True),
    ("pubsub_p50", "pubsub latency publish->subscriber recv p50", "ms", False),
    ("pubsub_p99", "pubsub latency publish->subscriber recv p99", "ms", False),
    ("pubsub_max", "pubsub latency publish->subscriber recv max", "ms", False),
    ("pubsub_cpu", "pubsub server CPU/delivered message", "us", False),
    ("pubsub_fix_pub_rps", "pubsub fixed 2000 PUBLISH/s x 50 subscribers (open loop), PUBLISHes achieved", "ops/s", True),
    ("pubsub_fix_p50", "pubsub latency at fixed 2000 PUBLISH/s x 50 subscribers p50", "ms", False),
    ("pubsub_fix_p99", "pubsub latency at fixed 2000 PUBLISH/s x 50 subscribers p99", "ms", False),
    ("pubsub_fix_max", "pubsub latency at fixed 2000 PUBLISH/s x 50 subscribers max", "ms", False),
    ("pubsub_fix_cpu", "pubsub server CPU/delivered message at fixed 2000 PUBLISH/s", "us", False),
    ("pubsub_nopat_rps", "PUBLISH, no subscribers, no patterns", "ops/s", True),
    ("pubsub_pat_rps", "PUBLISH, no subscribers, 1000 unrelated patterns", "ops/s", True),
    ("pubsub_pat_keep", "PUBLISH rate kept with 1000 patterns (with / without)", "x", True),
    ("pubsub_nopat_cpu", "PUBLISH server CPU/op, no patterns", "us", False),
    ("pubsub_pat_cpu", "PUBLISH server CPU/op, 1000 unrelated patterns", "us", False),
    ("scripts_counter_p1_rps", "EVALSHA GET+INCR+EXPIRE always -P 1", "ops/s", True),
    ("scripts_counter_p1_p50", "EVALSHA GET+INCR+EXPIRE always -P 1 p50 latency", "ms", False),
    ("scripts_counter_p1_p99", "EVALSHA GET+INCR+EXPIRE always -P 1 p99 latency", "ms", False),
    ("scripts_counter_p1_max", "EVALSHA GET+INCR+EXPIRE always -P 1 max latency", "ms", False),
    ("scripts_counter_p1_cpu", "EVALSHA GET+INCR+EXPIRE always -P 1 server CPU/op", "us", False),
    ("scripts_counter_p16_rps", "EVALSHA GET+INCR+EXPIRE always -P 16", "ops/s", True),
    ("scripts_counter_p16_cpu", "EVALSHA GET+INCR+EXPIRE always -P 16 server CPU/op", "us", False),
    ("scripts_lock_p1_rps", "Redlock acquire SET NX PX always -P 1", "ops/s", True),
    ("scripts_lock_p1_p99", "Redlock acquire SET NX PX always -P 1 p99 latency", "ms", False),
    ("scripts_lock_p1_cpu", "Redlock acquire SET NX PX always -P 1 server CPU/op", "us", False),
    ("scripts_unlock_p1_rps", "Redlock release EVALSHA compare-and-delete always -P 1", "ops/s", True),
    ("scripts_unlock_p1_p50", "Redlock release EVALSHA compare-and-delete always -P 1 p50 latency", "ms", False),
    ("scripts_unlock_p1_p99", "Redlock release EVALSHA compare-and-delete always -P 1 p99 latency", "ms", False),
    ("scripts_unlock_p1_max", "Redlock release EVALSHA compare-and-delete always -P 1 max latency", "ms", False),
    ("scripts_unlock_p1_cpu", "Redlock release EVALSHA compare-and-delete always -P 1 server CPU/op", "us", False),
    ("cache_rps", "cache allkeys-lru 3x maxmemory GET:SET 10:1 always -P 1", "ops/s", True),
    ("cache_hit", "cache allkeys-lru 3x maxmemory GET hit rate", "ratio", True),
    ("cache_cpu", "cache allkeys-lru 3x maxmemory server CPU/op", "us", False),
    ("typesnap_base_p99", "HGET/HSET 1M-field hash 2k/s no snapshot p99", "ms", False),
    ("typesnap_base_max", "HGET/HSET 1M-field hash 2k/s no snapshot max", "ms", False),
    ("typesnap_bgsave_p99", "HGET/HSET 1M-field hash 2k/s during BGSAVE p99", "ms", False),
    ("typesnap_bgsave_max", "HGET/HSET 1M-field hash 2k/s during BGSAVE max", "ms", False),
]

# metric id -> (what, op, bound): "ratio" compares vaylix / redis, "vaylix" the vaylix cell
# itself. The note says "target ... met" or "MISSED"; the JSON row keeps target and target_met.
TARGETS = {
    "types_hset_p1_rps": ("ratio", ">=", 1.0),
    "types_hset_p16_rps": ("ratio", ">=", 1.5),
    "types_sadd_p1_rps": ("ratio", ">=", 1.0),
    "types_sadd_p16_rps": ("ratio", ">=", 1.5),
    "types_hgetall_p1_rps": ("ratio", ">=", 1.0),
    "typesmem_hash10_used": ("ratio", "<=", 1.3),
    "typesmem_hash10_rss": ("ratio", "<=", 1.3),
    "typesmem_set10_used": ("ratio", "<=", 1.3),
    "typesmem_set10_rss": ("ratio", "<=", 1.3),
    "typesmem_bighash_used": ("ratio", "<=", 1.3),
    "typesmem_bighash_rss": ("ratio", "<=", 1.3),
    "typesmem_bigset_used": ("ratio", "<=", 1.3),
    "typesmem_bigset_rss": ("ratio", "<=", 1.3),
    "typesnap_bgsave_max": ("vaylix", "<", 10.0),
    "zsets_zadd_p1_rps": ("ratio", ">=", 1.0),
    "zsets_zadd_p16_rps": ("ratio", ">=", 1.5),
    "zsets_zpopmin_p1_rps": ("ratio", ">=", 1.0),
    "zsets_zpopmin_p16_rps": ("ratio", ">=", 1.5),
    "zsets_zrange_p1_rps": ("ratio", ">=", 1.0),
    "zsets_zrank_p1_rps": ("ratio", ">=", 1.0),
    "zsetmem_zset10_used": ("ratio", "<=", 1.3),
    "zsetmem_zset10_rss": ("ratio", "<=", 1.3),
    "zsetmem_bigzset_used": ("ratio", "<=", 1.3),
    "zsetmem_bigzset_rss": ("ratio", "<=", 1.3),
    "lists_lpush_p1_rps": ("ratio", ">=", 1.0),
    "lists_lpush_p16_rps": ("ratio", ">=", 1.5),
    "lists_rpush_p1_rps": ("ratio", ">=", 1.0),
    "lists_rpush_p16_rps": ("ratio", ">=", 1.5),
    "lists_lpop_p1_rps": ("ratio", ">=", 1.0),
    "lists_lpop_p16_rps": ("ratio", ">=", 1.5),
    "lists_rpop_p1_rps": ("ratio", ">=", 1.0),
    "lists_rpop_p16_rps": ("ratio", ">=", 1.5),
    "lists_lrange_p1_rps": ("ratio", ">=", 1.0),
    "lists_lrange_p16_rps": ("ratio", ">=", 1.0),
    "listmem_list10_used": ("ratio", "<=", 1.3),
    "listmem_list10_rss": ("ratio", "<=", 1.3),
    "listmem_biglist_used": ("ratio", "<=", 1.3),
    "listmem_biglist_rss": ("ratio", "<=", 1.3),
    "scripts_counter_p1_rps": ("ratio", ">=", 1.0),
    "scripts_counter_p16_rps": ("ratio", ">=", 1.0),
    "scripts_lock_p1_rps": ("ratio", ">=", 1.0),
    "scripts_unlock_p1_rps": ("ratio", ">=", 1.0),
}


def check_target(mid, v, ratio, unit):
    """(text for the note, met: True | False | None when a cell is n/a), or (None, None)."""
    t = TARGETS.get(mid)
    if t is None:
        return None, None
    what, op, bound = t
    x = ratio if what == "ratio" else v
    if what == "ratio":
        text = "target ratio %s %.1f" % (op, bound)
    else:
        text = "target vaylix %s %g %s" % (op, bound, unit)
    if x is None:
        return text + ": n/a", None
    met = {">=": x >= bound, "<=": x <= bound, "<": x < bound}[op]
    return text + (": met" if met else ": MISSED"), met


def fmt(v, unit):
    if v is None:
        return "n/a"
    if unit in ("ops/s", "msgs/s"):
        return "%.0f" % v
    if unit == "B":
        return "%.1f" % v
    if abs(v) >= 100:
        return "%.0f" % v
    if abs(v) >= 10:
        return "%.1f" % v
    if abs(v) >= 1:
        return "%.2f" % v
    return "%.3f" % v


def cmd_report(a):
    samples = {}   # (metric, side) -> [float | None]
    notes = {}     # metric -> [str]
    with open(a.raw) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3:
                continue
            m, side, v = parts[0], parts[1], "\t".join(parts[2:])
            if side == "note":
                notes.setdefault(m, []).append(v)
                continue
            try:
                x = float(v)
            except ValueError:
                x = None
            samples.setdefault((m, side), []).append(x)
    meta = dict(kv.split("=", 1) for kv in (a.meta or []))

    def med(m, side):
        vals = samples.get((m, side))
        if not vals or any(v is None for v in vals):
            return None
        return statistics.median(vals)

    rows = []
    for mid, label, unit, higher in METRICS:
        if not any((mid, s) in samples for s in ("vaylix", "redis")):
            continue
        v, r = med(mid, "vaylix"), med(mid, "redis")
        ratio = v / r if (v is not None and r not in (None, 0)) else None
        note = ("higher better, >1 = vaylix better" if higher
                else "lower better, <1 = vaylix better")
        extra = notes.get(mid, [])
        reps = max(len(samples.get((mid, "vaylix"), [])), len(samples.get((mid, "redis"), [])))
        if reps > 1:
            extra = ["median of %d" % reps] + extra
        target, met = check_target(mid, v, ratio, unit)
        if target:
            extra = [target] + extra
        rows.append({
            "id": mid, "workload": "%s [%s]" % (label, unit), "unit": unit,
            "higher_is_better": higher, "vaylix": v, "redis": r, "ratio": ratio,
            "target": target, "target_met": met,
            "note": "; ".join([note] + sorted(set(extra), key=extra.index)),
            "samples": {"vaylix": samples.get((mid, "vaylix"), []),
                        "redis": samples.get((mid, "redis"), [])},
        })

    cols = ["workload", "vaylix", "redis", "ratio", "note"]
    table = [[r["workload"], fmt(r["vaylix"], r["unit"]), fmt(r["redis"], r["unit"]),
              "n/a" if r["ratio"] is None else "%.2f" % r["ratio"], r["note"]] for r in rows]
    w = [max(len(c), *(len(t[i]) for t in table)) if table else len(c) for i, c in enumerate(cols)]
    out = []
    out.append("| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(cols)) + " |")
    out.append("|" + "|".join("-" * (x + 2) for x in w) + "|")
    for t in table:
        out.append("| " + " | ".join(
            (t[i].rjust(w[i]) if i in (1, 2, 3) else t[i].ljust(w[i])) for i in range(5)) + " |")
    print("\n".join(out))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"meta": meta, "rows": rows}, f, indent=2)
            f.write("\n")
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("freeport")
    g = sub.add_parser("gen")
    g.add_argument("--count", type=int, required=True)
    g.add_argument("--size", type=int, default=64)
    g.add_argument("--out", required=True)
    w = sub.add_parser("waitpong")
    w.add_argument("--port", type=int, required=True)
    w.add_argument("--timeout", type=float, default=30)
    w.add_argument("--t0-ns", type=int, default=0)
    s = sub.add_parser("stall")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--keys", type=int, required=True)
    s.add_argument("--rate", type=float, default=2000)
    s.add_argument("--seconds", type=float, default=5)
    s.add_argument("--bgsave", action="store_true")
    s.add_argument("--hash", help="HGET/HSET fields f0..f<keys-1> of this hash key")
    t = sub.add_parser("gentypes")
    t.add_argument("--kind", choices=("hash", "set", "zset", "list"), required=True)
    t.add_argument("--keys", type=int, required=True)
    t.add_argument("--elems", type=int, required=True)
    t.add_argument("--key")
    t.add_argument("--batch", type=int, default=1000)
    t.add_argument("--out", required=True)
    r = sub.add_parser("report")
    r.add_argument("--raw", required=True)
    r.add_argument("--json")
    r.add_argument("--meta", nargs="*")
    a = p.parse_args()
    return {"freeport": cmd_freeport, "gen": cmd_gen, "gentypes": cmd_gentypes,
            "waitpong": cmd_waitpong, "stall": cmd_stall, "report": cmd_report}[a.cmd](a) or 0


if __name__ == "__main__":
    sys.exit(main())

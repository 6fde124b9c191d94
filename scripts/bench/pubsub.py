#!/usr/bin/env python3
"""Pub/sub fan-out load for scripts/bench.sh (standard library only, no redis-py needed).

  pubsub.py --port P [--subscribers 50] [--seconds 5] [--batch 16] [--size 100]
            [--window 256] [--patterns 1000] [--pattern-seconds 2] [--procs 2]
            [--server-pid PID]

Phase 1, fan-out: --subscribers RESP2 connections SUBSCRIBE to one channel (all of them are
confirmed, and PUBSUB NUMSUB agrees, before the first PUBLISH). One publisher connection then
PUBLISHes on that channel for --seconds, --batch commands per round trip (the next batch is
sent when the previous batch's replies arrived). Each message is exactly --size bytes:
"<seq, 20 digits>:<monotonic ns at send, 20 digits>:" padded with "x". The subscriber
connections are non-blocking sockets driven by one selector loop per process (--procs
processes share them), so one GIL is not the only bottleneck. Flow control: the publisher
never runs more than --window messages ahead of the slowest subscriber (each subscriber's
received count is in shared memory), so no server ever holds more than ~window x 150 B for a
subscriber and the pubsub client-output-buffer-limit (8 MB soft / 32 MB hard in both
servers' defaults) is never approached; a run that would need it is client-bound anyway.
After --seconds the publisher stops; the subscribers then read until each has every message
(bounded: 30 s). The run is valid only if every subscriber received every published message
exactly once, in publish order (all were subscribed before the first PUBLISH and stayed), and
the PUBLISH replies (receiver counts) add up to subscribers x publishes.

Phase 2, unrelated patterns: no channel subscribers. The publisher PUBLISHes on the same
channel for --pattern-seconds with nobody listening (every reply must be 0), then one extra
connection PSUBSCRIBEs --patterns patterns "unrelated:<i>:*" (none matches the channel) and the
publisher PUBLISHes for --pattern-seconds again (every reply must still be 0).

Prints one line:

  delivered_per_s publishes_per_s p50_ms p99_ms max_ms deliveries pub_nopat_per_s
  pub_pat_per_s cpu_us_per_delivery cpu_us_per_pub_nopat cpu_us_per_pub_pat

delivered_per_s = messages received by all subscribers within the --seconds window / seconds;
publishes_per_s = PUBLISHes acknowledged within it / seconds; the latencies are from the send
timestamp in the payload to the subscriber's recv() that returned it (same host, CLOCK_MONOTONIC)
for the messages received within the window. deliveries counts all messages received, drain
included. The cpu_* fields (server utime+stime from /proc/PID/stat per delivered message, or per
PUBLISH in phase 2) are "n/a" without --server-pid.

Bounded: every socket has a timeout, every loop a deadline, every child process has an
alarm() and is killed by its PID if it outlives its deadline.
"""
import argparse
import json
import mmap
import os
import selectors
import signal
import socket
import struct
import sys
import time
from array import array

CHANNEL = b"bench:pubsub:chan"
DRAIN_SECS = 30
# shared memory layout (int64 slots): 0 = go flag / t0, 1 = t_end, 2 = published total
# (-1 until known), 3 = abort flag, 4.. = ready flags per subscriber, then received counts
S_T0, S_TEND, S_PUB, S_ABORT, S_BASE = 0, 1, 2, 3, 4


def enc(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Incomplete(Exception):
    pass


def parse(buf, pos):
    """One RESP2 reply from buf[pos:]: (value, new_pos); raises Incomplete. Errors come back
    as RuntimeError values, null bulk / null array as None."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise Incomplete
    t, rest = buf[pos:pos + 1], buf[pos + 1:end]
    pos = end + 2
    if t in (b"+", b":"):
        return rest, pos
    if t == b"-":
        return RuntimeError(rest.decode(errors="replace")), pos
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None, pos
        if len(buf) < pos + n + 2:
            raise Incomplete
        return buf[pos:pos + n], pos + n + 2
    if t == b"*":
        n = int(rest)
        if n < 0:
            return None, pos
        out = []
        for _ in range(n):
            v, pos = parse(buf, pos)
            out.append(v)
        return out, pos
    raise ValueError("unexpected reply %r" % buf[pos - len(rest) - 3:pos])


def read_replies(s, n, deadline, buf=b""):
    """n RESP2 replies from the blocking socket s; returns (list, leftover buffer)."""
    out = []
    pos = 0
    while len(out) < n:
        try:
            v, pos = parse(buf, pos)
            out.append(v)
            continue
        except Incomplete:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("pubsub.py: timed out waiting for %d replies" % n)
        chunk = s.recv(1 << 20)
        if not chunk:
            raise SystemExit("pubsub.py: server closed a connection")
        buf = buf[pos:] + chunk
        pos = 0
    return out, buf[pos:]


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def cpu_ticks(pid):
    if not pid:
        return None
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def frame_prefix(size):
    # *3 $7 message $<len> <channel> $<size>
    return b"*3\r\n$7\r\nmessage\r\n$%d\r\n%s\r\n$%d\r\n" % (len(CHANNEL), CHANNEL, size)


def subscriber_worker(a, idxs, shm, wfd):
    """Subscribes the connections idxs, then counts/checks every message until each has the
    published total (or the drain deadline). Writes a JSON summary + latencies to wfd."""
    signal.alarm(int(a.seconds + DRAIN_SECS + 90))
    sel = selectors.DefaultSelector()
    pre = frame_prefix(a.size)
    hl = len(pre)
    flen = hl + a.size + 2
    links = []
    for i in idxs:
        s = connect(a.port)
        s.sendall(enc("SUBSCRIBE", CHANNEL))
        (v,), rest = read_replies(s, 1, time.monotonic() + 10)
        if not (isinstance(v, list) and v[0] == b"subscribe" and v[1] == CHANNEL):
            raise SystemExit("pubsub.py: SUBSCRIBE answered %r" % (v,))
        s.setblocking(False)
        ln = {"i": i, "s": s, "buf": rest, "n": 0, "next": 0, "order": 0, "bad": 0, "dead": False}
        sel.register(s, selectors.EVENT_READ, ln)
        links.append(ln)
        shm[S_BASE + i] = 1   # ready
    lat = array("q")
    hard = time.monotonic() + a.seconds + DRAIN_SECS + 60
    cnt_off = S_BASE + a.subscribers
    while True:
        now = time.monotonic()
        if shm[S_ABORT] or now > hard:
            break
        total = shm[S_PUB]
        if total >= 0 and all(ln["n"] >= total or ln["dead"] for ln in links):
            break
        t_end = shm[S_TEND]
        for key, _ in sel.select(timeout=0.05):
            ln = key.data
            try:
                chunk = ln["s"].recv(1 << 18)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                chunk = b""
            t = time.monotonic_ns()
            if not chunk:
                ln["dead"] = True
                sel.unregister(ln["s"])
                continue
            buf = ln["buf"] + chunk if ln["buf"] else chunk
            pos, end = 0, len(buf)
            n, nxt = ln["n"], ln["next"]
            in_window = t_end == 0 or t <= t_end
            while pos + flen <= end:
                if buf[pos:pos + hl] != pre or buf[pos + flen - 2:pos + flen] != b"\r\n":
                    ln["bad"] += 1
                    ln["dead"] = True
                    sel.unregister(ln["s"])
                    print("pubsub.py: subscriber %d: unexpected frame %r" % (ln["i"], buf[pos:pos + flen]),
                          file=sys.stderr)
                    break
                p = pos + hl
                seq = int(buf[p:p + 20])
                if seq != nxt:
                    ln["order"] += 1
                nxt = seq + 1
                n += 1
                if in_window:
                    lat.append(t - int(buf[p + 21:p + 41]))
                pos += flen
            ln["buf"] = buf[pos:]
            ln["n"], ln["next"] = n, nxt
            shm[cnt_off + ln["i"]] = n
    for ln in links:
        ln["s"].close()
    res = {"n": {ln["i"]: ln["n"] for ln in links}, "order": sum(ln["order"] for ln in links),
           "bad": sum(ln["bad"] for ln in links),
           "dead": [ln["i"] for ln in links if ln["dead"]],
           "left": sum(len(ln["buf"]) for ln in links), "nlat": len(lat)}
    head = json.dumps(res).encode()
    with os.fdopen(wfd, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head)
        f.write(lat.tobytes())


def make_batch(seq0, n, size):
    now = time.monotonic_ns()
    parts = []
    for k in range(n):
        body = b"%020d:%020d:" % (seq0 + k, now)
        body += b"x" * (size - len(body))
        parts.append(b"*3\r\n$7\r\nPUBLISH\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(CHANNEL), CHANNEL, size, body))
    return b"".join(parts)


def int_replies(s, n, deadline, buf):
    """n integer replies; returns (sum, leftover). Dies on anything but ':<int>'."""
    vals, buf = read_replies(s, n, deadline, buf)
    tot = 0
    for v in vals:
        if isinstance(v, RuntimeError) or not isinstance(v, bytes):
            raise SystemExit("pubsub.py: PUBLISH answered %r" % (v,))
        tot += int(v)
    return tot, buf


def publish_for(s, secs, a, expect_each):
    """Publishes for secs with nobody subscribed to the channel (phase 2): returns
    publishes/s. Every reply must be expect_each."""
    seq = 0
    buf = b""
    t0 = time.monotonic()
    t_end = t0 + secs
    while time.monotonic() < t_end:
        s.sendall(make_batch(seq, a.batch, a.size))
        tot, buf = int_replies(s, a.batch, time.monotonic() + 10, buf)
        if tot != expect_each * a.batch:
            raise SystemExit("pubsub.py: PUBLISH with no subscriber reached %d receivers" % tot)
        seq += a.batch
    return seq / (time.monotonic() - t0)


def pct(vals, p):
    if not vals:
        return float("nan")
    k = min(len(vals) - 1, max(0, int(round(p / 100.0 * len(vals) + 0.5)) - 1))
    return vals[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--subscribers", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--window", type=int, default=256)
    ap.add_argument("--patterns", type=int, default=1000)
    ap.add_argument("--pattern-seconds", type=float, default=2)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--server-pid", type=int, default=0)
    a = ap.parse_args()
    if a.size < 42:
        raise SystemExit("pubsub.py: --size must be >= 42")
    signal.alarm(int(a.seconds + 2 * a.pattern_seconds + DRAIN_SECS + 150))
    nslots = S_BASE + 2 * a.subscribers
    mm = mmap.mmap(-1, 8 * nslots)
    shm = memoryview(mm).cast("q")
    for k in range(nslots):
        shm[k] = 0
    shm[S_PUB] = -1

    kids = []
    for w in range(a.procs):
        idxs = list(range(w, a.subscribers, a.procs))
        if not idxs:
            continue
        r, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                subscriber_worker(a, idxs, shm, wfd)
                os._exit(0)
            except BaseException as e:  # noqa: BLE001 - report and exit the child
                print("pubsub.py subscriber worker: %r" % (e,), file=sys.stderr)
                os._exit(1)
        os.close(wfd)
        kids.append((pid, r))

    def stop_kids():
        shm[S_ABORT] = 1
        for pid, _ in kids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    try:
        return run(a, shm, kids)
    except BaseException:
        stop_kids()
        raise


def run(a, shm, kids):
    pub = connect(a.port)
    # wait until every subscriber is confirmed, and the server agrees
    deadline = time.monotonic() + 60
    while sum(shm[S_BASE + i] for i in range(a.subscribers)) < a.subscribers:
        if time.monotonic() > deadline:
            raise SystemExit("pubsub.py: subscribers not ready after 60 s")
        for pid, _ in kids:
            if os.waitpid(pid, os.WNOHANG)[0]:
                raise SystemExit("pubsub.py: a subscriber worker died during SUBSCRIBE")
        time.sleep(0.01)
    pub.sendall(enc("PUBSUB", "NUMSUB", CHANNEL))
    (v,), buf = read_replies(pub, 1, time.monotonic() + 10)
    if not (isinstance(v, list) and int(v[1]) == a.subscribers):
        raise SystemExit("pubsub.py: PUBSUB NUMSUB answered %r, want %d" % (v, a.subscribers))

    cnt_off = S_BASE + a.subscribers
    c0 = cpu_ticks(a.server_pid)
    t0 = time.monotonic_ns()
    t_end = t0 + int(a.seconds * 1e9)
    shm[S_TEND] = t_end
    seq = 0
    receivers = 0
    pubs_in_window = 0
    stalled = False
    while time.monotonic_ns() < t_end:
        # flow control: stay within --window messages of the slowest subscriber
        wait_until = time.monotonic() + 10
        while seq - min(shm[cnt_off:cnt_off + a.subscribers]) > a.window:
            if time.monotonic() > wait_until:
                stalled = True
                break
            time.sleep(0.0002)
        if stalled:
            print("pubsub.py: a subscriber is > %d messages behind for 10 s" % a.window, file=sys.stderr)
            break
        pub.sendall(make_batch(seq, a.batch, a.size))
        tot, buf = int_replies(pub, a.batch, time.monotonic() + 10, buf)
        receivers += tot
        seq += a.batch
        if time.monotonic_ns() <= t_end:
            pubs_in_window += a.batch
    shm[S_PUB] = seq
    # subscribers drain; collect their results
    results = []
    failed = False
    for pid, r in kids:
        with os.fdopen(r, "rb") as f:
            hdr = f.read(8)
            if len(hdr) == 8:
                head = json.loads(f.read(struct.unpack("<Q", hdr)[0]))
                lat = array("q")
                lat.frombytes(f.read(8 * head["nlat"]))
                head["lat"] = lat
                results.append(head)
            else:
                failed = True
        _, st = os.waitpid(pid, 0)
        if st != 0:
            failed = True
    c1 = cpu_ticks(a.server_pid)
    if failed:
        raise SystemExit("pubsub.py: a subscriber worker failed")
    counts = {}
    for res in results:
        counts.update({int(k): v for k, v in res["n"].items()})
    short = {i: counts.get(i, 0) for i in range(a.subscribers) if counts.get(i, 0) != seq}
    order = sum(res["order"] for res in results)
    bad = sum(res["bad"] for res in results)
    dead = sorted(i for res in results for i in res["dead"])
    deliveries = sum(counts.values())
    problems = []
    if short:
        problems.append("%d subscribers did not get exactly the %d published messages (e.g. %s)"
                        % (len(short), seq, dict(list(short.items())[:5])))
    if order:
        problems.append("%d out-of-order messages" % order)
    if bad:
        problems.append("%d malformed frames" % bad)
    if dead:
        problems.append("connections closed by the server: %s" % dead[:10])
    if receivers != seq * a.subscribers:
        problems.append("PUBLISH replies add up to %d receivers, want %d x %d"
                        % (receivers, seq, a.subscribers))
    if stalled:
        problems.append("delivery stalled")
    lat = sorted(x for res in results for x in res["lat"])
    in_window = len(lat)
    lat_ms = [x / 1e6 for x in (pct(lat, 50), pct(lat, 99), lat[-1] if lat else float("nan"))]
    if problems:
        print("pubsub.py: INVALID RUN: %s; %d deliveries, %d published, %d in window"
              % ("; ".join(problems), deliveries, seq, in_window), file=sys.stderr)
        return 1

    # phase 2: PUBLISH cost with and without unrelated patterns (nobody on the channel now)
    deadline = time.monotonic() + 20
    while True:
        pub.sendall(enc("PUBSUB", "NUMSUB", CHANNEL))
        (v,), buf = read_replies(pub, 1, time.monotonic() + 10, buf)
        if int(v[1]) == 0:
            break
        if time.monotonic() > deadline:
            raise SystemExit("pubsub.py: %s still has %s subscribers 20 s after they closed" % (CHANNEL, v[1]))
        time.sleep(0.05)
    p0 = cpu_ticks(a.server_pid)
    nopat = publish_for(pub, a.pattern_seconds, a, 0)
    p1 = cpu_ticks(a.server_pid)
    ps = connect(a.port)
    pats = ["unrelated:%d:*" % i for i in range(a.patterns)]
    ps.sendall(enc("PSUBSCRIBE", *pats))
    confs, _ = read_replies(ps, a.patterns, time.monotonic() + 30)
    if not (isinstance(confs[-1], list) and confs[-1][0] == b"psubscribe" and int(confs[-1][2]) == a.patterns):
        raise SystemExit("pubsub.py: PSUBSCRIBE answered %r" % (confs[-1],))
    pub.sendall(enc("PUBSUB", "NUMPAT"))
    (v,), buf = read_replies(pub, 1, time.monotonic() + 10, buf)
    if int(v) != a.patterns:
        raise SystemExit("pubsub.py: PUBSUB NUMPAT answered %r, want %d" % (v, a.patterns))
    p2 = cpu_ticks(a.server_pid)
    withpat = publish_for(pub, a.pattern_seconds, a, 0)
    p3 = cpu_ticks(a.server_pid)
    ps.close()
    pub.close()

    hz = os.sysconf("SC_CLK_TCK")

    def cpu_us(t0_, t1_, n):
        if t0_ is None or not n:
            return "n/a"
        return "%.3f" % ((t1_ - t0_) / hz / n * 1e6)

    npub_nopat = nopat * a.pattern_seconds
    npub_pat = withpat * a.pattern_seconds
    print("%.0f %.0f %.3f %.3f %.3f %d %.0f %.0f %s %s %s" % (
        in_window / a.seconds, pubs_in_window / a.seconds, lat_ms[0], lat_ms[1], lat_ms[2],
        deliveries, nopat, withpat, cpu_us(c0, c1, deliveries), cpu_us(p0, p1, npub_nopat),
        cpu_us(p2, p3, npub_pat)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

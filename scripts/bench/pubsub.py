#!/usr/bin/env python3
"""Pub/sub fan-out load for scripts/bench.sh (standard library only, no redis-py needed).

  pubsub.py --port P [--subscribers 50] [--seconds 5] [--batch 16] [--size 100]
            [--window 256] [--fixed-rate 2000] [--fixed-seconds 4] [--patterns 1000]
            [--pattern-seconds 2] [--procs 2] [--server-pid PID]

Phase 1, saturated fan-out (closed loop): --subscribers RESP2 connections SUBSCRIBE to one
channel (all of them are confirmed, and PUBSUB NUMSUB agrees, before the first PUBLISH). One
publisher connection then PUBLISHes on that channel for --seconds, --batch commands per round
trip (the next batch is sent when the previous batch's replies arrived). Each message is exactly
--size bytes: "<seq, 20 digits>:<monotonic ns at send, 20 digits>:" padded with "x". The
subscriber connections are non-blocking sockets driven by one selector loop per process (--procs
processes share them), so one GIL is not the only bottleneck. Flow control: the publisher never
runs more than --window messages ahead of the slowest subscriber (each subscriber's received
count is in shared memory), so no server ever holds more than ~window x 150 B for a subscriber
and the pubsub client-output-buffer-limit (8 MB soft / 32 MB hard in both servers' defaults) is
never approached; a run that would need it is client-bound anyway. After --seconds the publisher
stops; the subscribers then read until each has every message (bounded: 30 s). The phase is
valid only if every subscriber received every published message exactly once, in publish order
(all were subscribed before the first PUBLISH and stayed), and the PUBLISH replies (receiver
counts) add up to subscribers x publishes. Its latencies are mostly queueing in the window: the
publisher is always as far ahead as the slowest (Python) subscriber lets it be.

Phase 2, fixed-rate fan-out (open loop; skipped with --fixed-rate 0): the same subscriber
connections, still on the channel. The publisher sends one PUBLISH at a time at --fixed-rate
PUBLISHes/s for --fixed-seconds: message k is due at t0 + k / rate on CLOCK_MONOTONIC, is sent
at its due time (or at once if the publisher is late; then it catches up), and never waits for
a reply: the socket is non-blocking and the ":<receivers>" replies are read whenever they are
there. Message format as in phase 1, seq from 0 again; the timestamp in it is the actual send
time (sent - due, the publisher's lateness, is reported separately). Valid only if every
subscriber received every message of the phase exactly once, in order, the replies add up to
subscribers x publishes, and the achieved rate (publishes / (last send - t0 + 1 / rate)) is at
least 95% of the offered rate; below that the load was not open-loop any more (INVALID RUN).
Nothing limits how far the subscribers may fall behind here (that is the point); at the default
2000/s x 4 s one subscriber can never have more than 8000 x ~150 B pending, far below the
pubsub client-output-buffer-limit; a subscriber dropped by that limit makes the run invalid.

Phase 3, unrelated patterns: the subscribers close (PUBSUB NUMSUB must reach 0). The publisher
PUBLISHes on the same channel for --pattern-seconds with nobody listening (every reply must be
0), then one extra connection PSUBSCRIBEs --patterns patterns "unrelated:<i>:*" (none matches the
channel) and the publisher PUBLISHes for --pattern-seconds again (every reply must still be 0).

Prints one line:

  delivered_per_s publishes_per_s p50_ms p99_ms max_ms deliveries pub_nopat_per_s
  pub_pat_per_s cpu_us_per_delivery cpu_us_per_pub_nopat cpu_us_per_pub_pat
  fix_offered_per_s fix_achieved_per_s fix_p50_ms fix_p99_ms fix_max_ms fix_deliveries
  fix_late_p99_ms fix_late_max_ms fix_cpu_us_per_delivery

delivered_per_s = messages received by all subscribers within the --seconds window / seconds;
publishes_per_s = PUBLISHes acknowledged within it / seconds; the latencies are from the send
timestamp in the payload to the subscriber's recv() that returned it (same host, CLOCK_MONOTONIC)
for the messages received within the window. deliveries counts all messages received, drain
included. The cpu_* fields (server utime+stime from /proc/PID/stat per delivered message, or per
PUBLISH in phase 3) are "n/a" without --server-pid. The fix_* fields are phase 2: offered and
achieved PUBLISH rate, publish->recv latency over every delivered message of the phase, the
number of deliveries (subscribers x publishes), the publisher's lateness against its schedule
(p99 and max of actual send - due time) and the server CPU per delivery over the phase and its
drain; with --fixed-rate 0, fix_offered_per_s is 0 and the other fix_* fields are "n/a".

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
# shared memory layout (int64 slots): 0 = go flag / t0, 1 = t_end, 2 = published total of phase 1
# (-1 until known), 3 = abort flag, 4 = published total of phase 2 (-1 until known),
# 5.. = ready flags per subscriber, then received counts (of the current phase)
S_T0, S_TEND, S_PUB, S_ABORT, S_FIXPUB, S_BASE = 0, 1, 2, 3, 4, 5
# the fixed-rate phase must achieve at least this share of its offered rate to be open-loop
FIX_MIN_SHARE = 0.95
# phase 2: the first message is due this long after the publisher starts its schedule
FIX_LEAD_NS = 20_000_000


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


def worker_alarm_secs(a):
    """Upper bound on a subscriber worker's lifetime (both phases, their drains, slack)."""
    return int(a.seconds + DRAIN_SECS + 90 + (2 * a.fixed_seconds + DRAIN_SECS + 90 if a.fixed_rate > 0 else 0))


def receive_phase(a, links, sel, shm, total_slot, tend_slot, hard):
    """Reads messages on every link until each has shm[total_slot] of them (once that is >= 0),
    is dead, the abort flag is set, or monotonic() passes hard. Checks each frame and the seq
    order; returns the latencies (ns) of the messages received before shm[tend_slot] (all of
    them when tend_slot is None or the slot is 0)."""
    pre = frame_prefix(a.size)
    hl = len(pre)
    flen = hl + a.size + 2
    lat = array("q")
    cnt_off = S_BASE + a.subscribers
    while True:
        now = time.monotonic()
        if shm[S_ABORT] or now > hard:
            break
        total = shm[total_slot]
        if total >= 0 and all(ln["n"] >= total or ln["dead"] for ln in links):
            break
        t_end = shm[tend_slot] if tend_slot is not None else 0
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
    return lat


def phase_result(links, lat):
    """The JSON-able summary of one phase for the parent, and the latencies."""
    return {"n": {ln["i"]: ln["n"] for ln in links}, "order": sum(ln["order"] for ln in links),
            "bad": sum(ln["bad"] for ln in links),
            "dead": [ln["i"] for ln in links if ln["dead"]],
            "left": sum(len(ln["buf"]) for ln in links), "nlat": len(lat)}, lat


def write_result(f, res, lat):
    head = json.dumps(res).encode()
    f.write(struct.pack("<Q", len(head)) + head)
    f.write(lat.tobytes())
    f.flush()


def subscriber_worker(a, idxs, shm, wfd):
    """Subscribes the connections idxs, then counts/checks every message of phase 1 until each
    has the published total (or the drain deadline) and writes a JSON summary + latencies to
    wfd; then, unless --fixed-rate is 0, the same for phase 2 on the same connections."""
    signal.alarm(worker_alarm_secs(a))
    sel = selectors.DefaultSelector()
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
    cnt_off = S_BASE + a.subscribers
    with os.fdopen(wfd, "wb") as f:
        hard = time.monotonic() + a.seconds + DRAIN_SECS + 60
        res, lat = phase_result(links, receive_phase(a, links, sel, shm, S_PUB, S_TEND, hard))
        if a.fixed_rate > 0:
            # reset the per-phase counters before the parent can see this phase's result, so
            # none of phase 2 (seq from 0 again) is counted against phase 1
            for ln in links:
                ln["n"] = ln["next"] = ln["order"] = ln["bad"] = 0
                shm[cnt_off + ln["i"]] = 0
        write_result(f, res, lat)
        del lat
        if a.fixed_rate > 0:
            # the parent checks phase 1, then runs phase 2 (<= 1.5 x --fixed-seconds + 5 s)
            hard = time.monotonic() + 60 + 2 * a.fixed_seconds + DRAIN_SECS
            write_result(f, *phase_result(links, receive_phase(a, links, sel, shm, S_FIXPUB, None, hard)))
    for ln in links:
        ln["s"].close()


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


def fixed_rate_publish(s, a, buf):
    """Phase 2: one PUBLISH at a time at --fixed-rate for --fixed-seconds, each sent at its due
    time on the monotonic clock, without waiting for replies (non-blocking socket; replies are
    read as they come). Returns (published, receivers, achieved_per_s, lateness ns array, buf)."""
    rate = a.fixed_rate
    n_total = max(1, int(round(rate * a.fixed_seconds)))
    head = b"*3\r\n$7\r\nPUBLISH\r\n$%d\r\n%s\r\n$%d\r\n" % (len(CHANNEL), CHANNEL, a.size)
    pad = b"x" * (a.size - 42) + b"\r\n"
    late = array("q")
    st = {"buf": buf, "replies": 0, "receivers": 0}

    def read_available():
        while True:
            try:
                chunk = s.recv(1 << 16)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as e:
                raise SystemExit("pubsub.py: fixed-rate publisher: %s" % e)
            if not chunk:
                raise SystemExit("pubsub.py: server closed the publisher connection")
            b = st["buf"] + chunk
            pos = 0
            while True:
                try:
                    v, pos = parse(b, pos)
                except Incomplete:
                    break
                if isinstance(v, RuntimeError) or not isinstance(v, bytes):
                    raise SystemExit("pubsub.py: PUBLISH answered %r" % (v,))
                st["replies"] += 1
                st["receivers"] += int(v)
            st["buf"] = b[pos:]

    pending = b""
    sent = 0
    s.setblocking(False)
    try:
        t0 = time.monotonic_ns() + FIX_LEAD_NS
        # bounded: a publisher this far behind is invalid anyway (achieved rate << offered)
        hard_end = t0 + int((1.5 * a.fixed_seconds + 5) * 1e9)
        t_done = t0
        for k in range(n_total):
            due = t0 + int(k * 1e9 / rate)
            now = time.monotonic_ns()
            if now < due:
                read_available()
                now = time.monotonic_ns()
                if now < due:
                    time.sleep((due - now) / 1e9)
                now = time.monotonic_ns()
            if now > hard_end:
                print("pubsub.py: fixed-rate publisher still sending %.1f s after t0; stopped"
                      % ((now - t0) / 1e9), file=sys.stderr)
                break
            msg = head + b"%020d:%020d:" % (k, now) + pad
            late.append(now - due)
            pending = pending + msg if pending else msg
            try:
                pending = pending[s.send(pending):]
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as e:
                raise SystemExit("pubsub.py: fixed-rate publisher: %s" % e)
            sent += 1
            if not pending:
                t_done = time.monotonic_ns()
            read_available()
        # hand any unsent bytes to the kernel (bounded), then collect every reply (bounded)
        deadline = time.monotonic() + 10
        while pending:
            if time.monotonic() > deadline:
                raise SystemExit("pubsub.py: fixed-rate publisher could not send for 10 s")
            try:
                pending = pending[s.send(pending):]
            except (BlockingIOError, InterruptedError):
                read_available()
                time.sleep(0.0005)
            except OSError as e:
                raise SystemExit("pubsub.py: fixed-rate publisher: %s" % e)
            t_done = time.monotonic_ns()
        deadline = time.monotonic() + 10
        while st["replies"] < sent:
            if time.monotonic() > deadline:
                raise SystemExit("pubsub.py: %d of %d PUBLISH replies after 10 s" % (st["replies"], sent))
            read_available()
            time.sleep(0.0005)
    finally:
        s.settimeout(10)
    achieved = sent / ((t_done - t0) / 1e9 + 1.0 / rate) if sent else 0.0
    return sent, st["receivers"], achieved, late, st["buf"]


def collect(kids, reaped, failed_msg):
    """One phase result from every subscriber worker's pipe: list of dicts (with "lat"), or
    raises SystemExit. A worker whose pipe ends early is waited for (it has exited)."""
    results = []
    for pid, r in kids:
        hdr = r.read(8)
        if len(hdr) != 8:
            _, st = os.waitpid(pid, 0)
            reaped.add(pid)
            raise SystemExit("pubsub.py: a subscriber worker failed %s (status %d)" % (failed_msg, st))
        head = json.loads(r.read(struct.unpack("<Q", hdr)[0]))
        lat = array("q")
        lat.frombytes(r.read(8 * head["nlat"]))
        if len(lat) != head["nlat"]:
            raise SystemExit("pubsub.py: a subscriber worker's result is truncated %s" % failed_msg)
        head["lat"] = lat
        results.append(head)
    return results


def check_delivery(a, results, published, receivers):
    """Problems (list of strings) with one phase's deliveries, and the total deliveries."""
    counts = {}
    for res in results:
        counts.update({int(k): v for k, v in res["n"].items()})
    short = {i: counts.get(i, 0) for i in range(a.subscribers) if counts.get(i, 0) != published}
    order = sum(res["order"] for res in results)
    bad = sum(res["bad"] for res in results)
    dead = sorted(i for res in results for i in res["dead"])
    left = sum(res["left"] for res in results)
    problems = []
    if short:
        problems.append("%d subscribers did not get exactly the %d published messages (e.g. %s)"
                        % (len(short), published, dict(list(short.items())[:5])))
    if order:
        problems.append("%d out-of-order messages" % order)
    if bad:
        problems.append("%d malformed frames" % bad)
    if dead:
        problems.append("connections closed by the server: %s" % dead[:10])
    if left:
        problems.append("%d bytes of incomplete frames left over" % left)
    if receivers != published * a.subscribers:
        problems.append("PUBLISH replies add up to %d receivers, want %d x %d"
                        % (receivers, published, a.subscribers))
    return problems, sum(counts.values())


def pct(vals, p):
    if not vals:
        return float("nan")
    k = min(len(vals) - 1, max(0, int(round(p / 100.0 * len(vals) + 0.5)) - 1))
    return vals[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--subscribers", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=5, help="phase 1 (saturated) duration")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--window", type=int, default=256)
    ap.add_argument("--fixed-rate", type=float, default=2000,
                    help="phase 2 offered load in PUBLISHes/s, one at a time, open loop; 0 skips it")
    ap.add_argument("--fixed-seconds", type=float, default=4, help="phase 2 (fixed-rate) duration")
    ap.add_argument("--patterns", type=int, default=1000)
    ap.add_argument("--pattern-seconds", type=float, default=2)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--server-pid", type=int, default=0)
    a = ap.parse_args()
    if a.size < 42:
        raise SystemExit("pubsub.py: --size must be >= 42")
    if a.fixed_rate < 0 or (a.fixed_rate > 0 and a.fixed_seconds <= 0):
        raise SystemExit("pubsub.py: --fixed-rate must be >= 0 and --fixed-seconds > 0")
    signal.alarm(worker_alarm_secs(a) + int(2 * a.pattern_seconds) + 60)
    nslots = S_BASE + 2 * a.subscribers
    mm = mmap.mmap(-1, 8 * nslots)
    shm = memoryview(mm).cast("q")
    for k in range(nslots):
        shm[k] = 0
    shm[S_PUB] = -1
    shm[S_FIXPUB] = -1

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
        kids.append((pid, os.fdopen(r, "rb")))
    reaped = set()

    def stop_kids():
        # workers still running see the abort flag within 0.05 s; any left after 5 s are killed,
        # by PID, and only those not reaped yet (so no PID can have been reused)
        shm[S_ABORT] = 1
        deadline = time.monotonic() + 5
        for pid, r in kids:
            r.close()
            while pid not in reaped:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    reaped.add(pid)
                elif time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    reaped.add(pid)
                else:
                    time.sleep(0.01)

    try:
        return run(a, shm, kids, reaped)
    finally:
        stop_kids()


def run(a, shm, kids, reaped):
    pub = connect(a.port)
    # wait until every subscriber is confirmed, and the server agrees
    deadline = time.monotonic() + 60
    while sum(shm[S_BASE + i] for i in range(a.subscribers)) < a.subscribers:
        if time.monotonic() > deadline:
            raise SystemExit("pubsub.py: subscribers not ready after 60 s")
        for pid, _ in kids:
            if os.waitpid(pid, os.WNOHANG)[0]:
                reaped.add(pid)
                raise SystemExit("pubsub.py: a subscriber worker died during SUBSCRIBE")
        time.sleep(0.01)
    pub.sendall(enc("PUBSUB", "NUMSUB", CHANNEL))
    (v,), buf = read_replies(pub, 1, time.monotonic() + 10)
    if not (isinstance(v, list) and int(v[1]) == a.subscribers):
        raise SystemExit("pubsub.py: PUBSUB NUMSUB answered %r, want %d" % (v, a.subscribers))

    # phase 1: saturated, closed loop within --window of the slowest subscriber
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
    results = collect(kids, reaped, "in phase 1")
    c1 = cpu_ticks(a.server_pid)
    problems, deliveries = check_delivery(a, results, seq, receivers)
    if stalled:
        problems.append("delivery stalled")
    lat = sorted(x for res in results for x in res["lat"])
    in_window = len(lat)
    lat_ms = [x / 1e6 for x in (pct(lat, 50), pct(lat, 99), lat[-1] if lat else float("nan"))]
    del lat, results
    if problems:
        print("pubsub.py: INVALID RUN (phase 1, saturated): %s; %d deliveries, %d published, %d in window"
              % ("; ".join(problems), deliveries, seq, in_window), file=sys.stderr)
        return 1

    # phase 2: fixed offered rate, open loop, same subscribers
    fix = None
    if a.fixed_rate > 0:
        f0 = cpu_ticks(a.server_pid)
        fpub, freceivers, achieved, late, buf = fixed_rate_publish(pub, a, buf)
        shm[S_FIXPUB] = fpub
        results = collect(kids, reaped, "in phase 2")
        f1 = cpu_ticks(a.server_pid)
        problems, fdeliveries = check_delivery(a, results, fpub, freceivers)
        late = sorted(late)
        late_ms = [x / 1e6 for x in (pct(late, 99), late[-1] if late else float("nan"))]
        if achieved < FIX_MIN_SHARE * a.fixed_rate:
            problems.append("the publisher fell behind its schedule: achieved %.0f PUBLISH/s < %d%% of "
                            "the offered %.0f/s (lateness p99 %.3f ms, max %.3f ms), not open-loop"
                            % (achieved, FIX_MIN_SHARE * 100, a.fixed_rate, late_ms[0], late_ms[1]))
        flat = sorted(x for res in results for x in res["lat"])
        del results
        if len(flat) != fdeliveries:
            problems.append("%d latencies for %d deliveries" % (len(flat), fdeliveries))
        if problems:
            print("pubsub.py: INVALID RUN (phase 2, fixed rate): %s; %d deliveries, %d published"
                  % ("; ".join(problems), fdeliveries, fpub), file=sys.stderr)
            return 1
        fix = (achieved, [x / 1e6 for x in (pct(flat, 50), pct(flat, 99), flat[-1])], fdeliveries,
               late_ms, (f0, f1))
        del flat
    for pid, r in kids:
        _, st = os.waitpid(pid, 0)   # bounded: a worker exits once its last phase is complete
        reaped.add(pid)
        if st != 0:
            raise SystemExit("pubsub.py: a subscriber worker failed (status %d)" % st)

    # phase 3: PUBLISH cost with and without unrelated patterns (nobody on the channel now)
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
    if fix is None:
        fix_fields = " ".join(["n/a"] * 8)
    else:
        achieved, fl, fdeliveries, late_ms, (f0, f1) = fix
        fix_fields = "%.0f %.3f %.3f %.3f %d %.3f %.3f %s" % (
            achieved, fl[0], fl[1], fl[2], fdeliveries, late_ms[0], late_ms[1],
            cpu_us(f0, f1, fdeliveries))
    print("%.0f %.0f %.3f %.3f %.3f %d %.0f %.0f %s %s %s %.0f %s" % (
        in_window / a.seconds, pubs_in_window / a.seconds, lat_ms[0], lat_ms[1], lat_ms[2],
        deliveries, nopat, withpat, cpu_us(c0, c1, deliveries), cpu_us(p0, p1, npub_nopat),
        cpu_us(p2, p3, npub_pat), a.fixed_rate, fix_fields))
    return 0


if __name__ == "__main__":
    sys.exit(main())

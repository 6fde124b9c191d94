#!/usr/bin/env python3
"""Job-queue load for scripts/bench.sh (standard library only, no redis-py needed).

  queue.py --port P [--producers 50] [--consumers 50] [--keys 4] [--seconds 10]
           [--size 64] [--timeout 1] [--procs 2]

--producers connections each RPUSH one job at a time (-P 1: the next push is sent when the
previous reply arrived) to the key queue:<p mod keys>; --consumers connections each BLPOP
all the keys (rotated, so consumer c tries queue:<c mod keys> first) with a --timeout in
seconds, one at a time. A job is "<producer>:<seq>:<monotonic ns>" padded to --size bytes.
The connections are non-blocking sockets driven by one selector loop per process; --procs
processes share them (producers and consumers spread evenly), so the Python client is less
of a bottleneck than 100 threads under one GIL would be.

After --seconds the producers stop; the consumers then drain the queues (bounded: 30 s).
The run is valid only if every acknowledged push was popped exactly once (a job is never
lost or popped twice; both are checked and reported). Prints one line:

  jobs_per_s pushes_per_s p50_ms p99_ms max_ms jobs errors

jobs_per_s counts the pops whose reply arrived within the --seconds window; the latencies are
end to end, from the push being sent to the pop's reply arriving, for those jobs. "errors" is
the number of error replies (the run fails if it is not 0).
"""
import argparse
import json
import os
import selectors
import socket
import sys
import time


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


class Link:
    """One connection: kind "p" (producer) or "c" (consumer)."""

    def __init__(self, port, kind, idx, nkeys, a):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.setblocking(False)
        self.kind, self.idx = kind, idx
        self.buf = b""
        self.seq = 0
        self.busy = False
        self.out = b""
        if kind == "p":
            self.key = "queue:%d" % (idx % nkeys)
        else:
            keys = ["queue:%d" % ((idx + i) % nkeys) for i in range(nkeys)]
            self.req = enc("BLPOP", *keys, str(a.timeout))

    def send(self, data):
        self.busy = True
        try:
            n = self.s.send(data)
        except BlockingIOError:
            n = 0
        self.out = data[n:]


def worker(a, port, links_spec, wfd):
    """Runs the selector loop for the links in links_spec ([(kind, idx)]); writes a JSON
    result to wfd. Time base: the shared t0 in a.t0 (monotonic ns, system-wide)."""
    sel = selectors.DefaultSelector()
    links = [Link(port, k, i, a.keys, a) for k, i in links_spec]
    for ln in links:
        sel.register(ln.s, selectors.EVENT_READ, ln)
    t0 = a.t0
    while time.monotonic_ns() < t0:
        time.sleep(0.001)
    t_end = t0 + int(a.seconds * 1e9)
    pad = a.size
    pushed_acked = {}   # producer idx -> acknowledged seqs count (seqs are 0..n-1 in order)
    popped = []         # job ids (bytes "p:seq")
    lat_ms = []
    in_window = 0
    pushes_in_window = 0
    errors = 0
    producing = True

    def next_push(ln):
        now = time.monotonic_ns()
        job = b"%d:%d:%d:" % (ln.idx, ln.seq, now)
        job = job + b"x" * max(0, pad - len(job))
        ln.sent_seq = ln.seq
        ln.seq += 1
        ln.send(enc("RPUSH", ln.key, job))

    # start: every producer pushes, every consumer blocks
    for ln in links:
        if ln.kind == "p":
            next_push(ln)
        else:
            ln.send(ln.req)
    drain_deadline = None
    idle_consumers = 0
    while True:
        now = time.monotonic_ns()
        if producing and now >= t_end:
            producing = False
        if not producing and not any(ln.busy for ln in links if ln.kind == "p"):
            # producers done: drain until each consumer of this worker saw a BLPOP timeout
            # (all queues empty for --timeout), bounded by the drain deadline
            if drain_deadline is None:
                drain_deadline = now + int(30e9)
            if idle_consumers >= sum(1 for ln in links if ln.kind == "c") or now > drain_deadline:
                break
        events = sel.select(timeout=0.05)
        for key, mask in events:
            ln = key.data
            try:
                chunk = ln.s.recv(65536)
            except BlockingIOError:
                continue
            if not chunk:
                raise SystemExit("queue.py: server closed a connection")
            ln.buf += chunk
            pos = 0
            while True:
                try:
                    v, pos = parse(ln.buf, pos)
                except Incomplete:
                    break
                t = time.monotonic_ns()
                ln.busy = False
                if isinstance(v, RuntimeError):
                    errors += 1
                    if errors < 5:
                        print("queue.py: error reply: %s" % v, file=sys.stderr)
                if ln.kind == "p":
                    if not isinstance(v, RuntimeError):
                        pushed_acked[ln.idx] = pushed_acked.get(ln.idx, 0) + 1
                        if t <= t_end:
                            pushes_in_window += 1
                    if producing and t < t_end:
                        next_push(ln)
                else:
                    if isinstance(v, list) and len(v) == 2:
                        parts = v[1].split(b":", 3)
                        popped.append(parts[0] + b":" + parts[1])
                        if t <= t_end:
                            in_window += 1
                            lat_ms.append((t - int(parts[2])) / 1e6)
                    elif v is None and not producing:
                        idle_consumers += 1
                        continue  # this consumer saw empty queues after the pushes ended
                    ln.send(ln.req)
            ln.buf = ln.buf[pos:]
        for ln in links:
            if ln.out:
                try:
                    n = ln.s.send(ln.out)
                except BlockingIOError:
                    n = 0
                ln.out = ln.out[n:]
    for ln in links:
        ln.s.close()
    res = {"pushed": pushed_acked, "popped": [p.decode() for p in popped], "lat": lat_ms,
           "in_window": in_window, "pushes_in_window": pushes_in_window, "errors": errors}
    with os.fdopen(wfd, "w") as f:
        json.dump(res, f)


def pct(vals, p):
    if not vals:
        return float("nan")
    k = min(len(vals) - 1, max(0, int(round(p / 100.0 * len(vals) + 0.5)) - 1))
    return vals[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--producers", type=int, default=50)
    ap.add_argument("--consumers", type=int, default=50)
    ap.add_argument("--keys", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--timeout", default="1", help="BLPOP timeout (seconds, as sent)")
    ap.add_argument("--procs", type=int, default=2)
    a = ap.parse_args()
    # clean queues first
    c = socket.create_connection(("127.0.0.1", a.port), timeout=10)
    c.sendall(enc("DEL", *["queue:%d" % k for k in range(a.keys)]))
    c.recv(100)
    c.close()
    specs = [[] for _ in range(a.procs)]
    for i in range(a.producers):
        specs[i % a.procs].append(("p", i))
    for i in range(a.consumers):
        specs[i % a.procs].append(("c", i))
    # the consumers of one worker may drain jobs of another worker's producers, so a worker
    # stops only after a BLPOP timeout from each of its consumers once its producers are done;
    # workers start together (t0 slightly in the future).
    a.t0 = time.monotonic_ns() + int(0.5e9)
    kids = []
    for spec in specs:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                worker(a, a.port, spec, w)
                os._exit(0)
            except BaseException as e:  # noqa: BLE001 - report and exit the child
                print("queue.py worker: %r" % (e,), file=sys.stderr)
                os._exit(1)
        os.close(w)
        kids.append((pid, r))
    results = []
    failed = False
    for pid, r in kids:
        with os.fdopen(r) as f:
            data = f.read()
        _, st = os.waitpid(pid, 0)
        if st != 0 or not data:
            failed = True
            continue
        results.append(json.loads(data))
    if failed:
        raise SystemExit("queue.py: a worker failed")
    pushed = {}
    for res in results:
        for p, n in res["pushed"].items():
            pushed[int(p)] = pushed.get(int(p), 0) + n
    popped = [p for res in results for p in res["popped"]]
    want = {"%d:%d" % (p, s) for p, n in pushed.items() for s in range(n)}
    got = set(popped)
    dup = len(popped) - len(got)
    lost = len(want - got)
    extra = len(got - want)   # popped but never acknowledged (possible only on errors)
    errors = sum(res["errors"] for res in results)
    if dup or lost or extra or errors:
        print("queue.py: INVALID RUN: %d acknowledged pushes, %d pops, %d popped twice, %d lost, "
              "%d unknown, %d error replies" % (len(want), len(popped), dup, lost, extra, errors),
              file=sys.stderr)
        return 1
    lat = sorted(x for res in results for x in res["lat"])
    jobs = sum(res["in_window"] for res in results)
    pushes = sum(res["pushes_in_window"] for res in results)
    print("%.0f %.0f %.3f %.3f %.3f %d %d" % (jobs / a.seconds, pushes / a.seconds, pct(lat, 50),
                                              pct(lat, 99), lat[-1] if lat else float("nan"),
                                              len(popped), errors))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""kill -9 soak: concurrent writers against the real vaylix binary, kill -9 at random moments,
restart, and check that every acknowledged write survived.

Each writer owns its keys: it SETs unique keys (w<id>:<n> = <n>) and INCRs its own counter,
recording each write only after the reply arrived. After the crash and restart:
  - every acknowledged SET key holds its value;
  - each counter is >= its acknowledged increments and <= the increments sent.
A write that was sent but not acknowledged may or may not be there: both are correct.

`--appendfsync everysec` (or `no`) runs the same check under that policy: a reply there leaves
only once its entry is written to the file, so kill -9 (a process crash, not a power cut) must
lose no acknowledged write either.

`--mode queue`: a job queue. Producers RPUSH unique job ids ("j<producer>:<seq>", to the four
queue keys in turn), recording each push sent and each push acknowledged. Half the consumers
BLPOP the two keys q:pop:0/1 and record each acknowledged pop; the other half BLMOVE from
q:move:0/1 into their own processing list proc:<id> (the reliable-queue pattern), record the
acknowledged move, then LREM the job from proc:<id> and record that as done; after a restart a
BLMOVE consumer first finishes what its processing list holds. After each kill -9 and restart
every list is read and checked:
  - no job is in two places (twice in the lists, or in a list and acknowledged popped/done),
    no job was acknowledged popped twice (checked as the consumers run), no unknown job;
  - a job whose move was acknowledged is not back in its queue;
  - each queue is FIFO per producer: what is left of a producer's jobs on a key is in push
    order and newer than every one of its acknowledged jobs on that key that is gone;
  - every acknowledged push is in a list or acknowledged popped/done. The one exception, which
    no client can tell apart from a loss: a BLPOP in flight at the kill may have popped a job
    durably and lost only its reply, so on q:pop:* up to that many (counted) jobs may be
    missing. q:move:* has no such gap (a moved job stays in proc:<id> until its LREM), so
    there a job may be missing only if its LREM was sent.
"""
import argparse, os, random, signal, socket, subprocess, sys, tempfile, threading, time

import redis


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary, data_dir, port, extra):
    log = open(os.path.join(os.path.dirname(data_dir), "server.log"), "ab")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--data-dir", data_dir] + extra,
                            stdout=log, stderr=log)
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"vaylix exited during start-up with {proc.returncode}; see {log.name}")
        try:
            if redis.Redis(port=port, socket_timeout=1).ping():
                return proc
        except Exception:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("vaylix did not answer PING within 60 s")


class Writer(threading.Thread):
    def __init__(self, wid, port, stop, acked, state):
        super().__init__(daemon=True)
        self.wid, self.port, self.stop, self.acked, self.state = wid, port, stop, acked, state

    def run(self):
        try:
            r = redis.Redis(port=self.port, socket_timeout=5, retry_on_timeout=False)
            r.connection_pool.connection_kwargs["retry"] = None
            while not self.stop.is_set():
                n = self.state["next"]
                self.state["next"] = n + 1
                key = f"w{self.wid}:{n}"
                self.state["incr_sent"] += 1
                pipe = r.pipeline(transaction=False)
                pipe.set(key, str(n))
                pipe.incr(f"counter:{self.wid}")
                pipe.execute()
                self.acked.append(key)
                self.state["incr_acked"] += 1
        except Exception:
            pass  # the server was killed: stop writing


def cycle(binary, data_dir, port, extra, writers, states, acked_all, run_for):
    proc = start(binary, data_dir, port, extra)
    stop = threading.Event()
    threads = []
    for w in range(writers):
        t = Writer(w, port, stop, acked_all[w], states[w])
        t.start()
        threads.append(t)
    time.sleep(run_for)
    if random.random() < 0.3:
        # Sometimes crash during a snapshot.
        try:
            redis.Redis(port=port, socket_timeout=2).bgsave()
            time.sleep(random.random() * 0.05)
        except Exception:
            pass
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stop.set()
    for t in threads:
        t.join(timeout=10)


def check(binary, data_dir, port, extra, writers, states, acked_all):
    proc = start(binary, data_dir, port, extra)
    try:
        r = redis.Redis(port=port, socket_timeout=10)
        missing = 0
        for w in range(writers):
            keys = acked_all[w]
            for i in range(0, len(keys), 1000):
                chunk = keys[i:i + 1000]
                vals = r.mget(chunk)
                for k, v in zip(chunk, vals):
                    if v is None or v.decode() != k.split(":")[1]:
                        missing += 1
                        if missing < 10:
                            print(f"LOST acknowledged write {k} -> {v!r}", file=sys.stderr)
            c = int(r.get(f"counter:{w}") or 0)
            st = states[w]
            if not (st["incr_acked"] <= c <= st["incr_sent"]):
                missing += 1
                print(f"counter:{w} = {c}, acked {st['incr_acked']}, sent {st['incr_sent']}", file=sys.stderr)
        return missing
    finally:
        proc.terminate()
        proc.wait(timeout=60)


# --------------------------------------------------------------------------------------------
# --mode queue
class Resp:
    """A minimal blocking RESP2 client: one request, one reply, no retries (redis-py's retry on
    a connection error could send a push twice)."""

    def __init__(self, port, timeout=5.0):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def _fill(self):
        chunk = self.s.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line
            self._fill()

    def _reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t in (b"+", b":"):
            return rest
        if t == b"-":
            return RuntimeError(rest.decode(errors="replace"))
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill()
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise ValueError(f"unexpected reply {line!r}")

    def call(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(out))
        return self._reply()

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


POP_KEYS = ["q:pop:0", "q:pop:1"]
MOVE_KEYS = ["q:move:0", "q:move:1"]
QUEUE_KEYS = [POP_KEYS[0], MOVE_KEYS[0], POP_KEYS[1], MOVE_KEYS[1]]


def job_key(job):
    """The queue key job "j<p>:<seq>" was pushed to (producers rotate over QUEUE_KEYS)."""
    return QUEUE_KEYS[int(job.split(":")[1]) % len(QUEUE_KEYS)]


class QueueState:
    def __init__(self, producers, consumers):
        self.next_seq = [0] * producers
        self.push_sent, self.push_acked = set(), set()
        self.popped = set()          # acknowledged BLPOPs
        self.moved = set()           # acknowledged BLMOVEs
        self.done_sent, self.done = set(), set()   # LREM from proc:<id> sent / acknowledged
        self.violations = []         # found while running (a job popped twice, ...)
        self.inflight_blpop = 0      # summed over the cycles' kills
        self.lock = threading.Lock()

    def violation(self, text):
        with self.lock:
            self.violations.append(text)


class Producer(threading.Thread):
    def __init__(self, pid, port, stop, st):
        super().__init__(daemon=True)
        self.pid, self.port, self.stop, self.st = pid, port, stop, st

    def run(self):
        st = self.st
        try:
            c = Resp(self.port)
            while not self.stop.is_set():
                seq = st.next_seq[self.pid]
                st.next_seq[self.pid] = seq + 1
                job = f"j{self.pid}:{seq}"
                st.push_sent.add(job)
                r = c.call("RPUSH", job_key(job), job)
                if isinstance(r, RuntimeError):
                    st.violation(f"RPUSH {job}: {r}")
                    return
                st.push_acked.add(job)
        except (OSError, ConnectionError, ValueError):
            pass  # the server was killed


class Consumer(threading.Thread):
    """kind "pop": BLPOP POP_KEYS; kind "move": BLMOVE q:move:k proc:<cid>, then LREM."""

    def __init__(self, cid, kind, port, stop, st):
        super().__init__(daemon=True)
        self.cid, self.kind, self.port, self.stop, self.st = cid, kind, port, stop, st
        self.inflight = False

    def finish(self, c, proc, job):
        st = self.st
        st.done_sent.add(job)
        r = c.call("LREM", proc, "1", job)
        if r != b"1":
            st.violation(f"LREM {proc} 1 {job} answered {r!r}: a moved job is not in the processing list")
        elif job in st.done or job in st.popped:
            st.violation(f"{job} finished twice")
        st.done.add(job)

    def run(self):
        st = self.st
        proc = f"proc:{self.cid}"
        n = 0
        try:
            c = Resp(self.port)
            if self.kind == "move":
                # what an earlier run of this consumer moved but had not finished
                for job in c.call("LRANGE", proc, "0", "-1") or []:
                    self.finish(c, proc, job.decode())
            while not self.stop.is_set():
                n += 1
                if self.kind == "pop":
                    keys = POP_KEYS[n % 2:] + POP_KEYS[:n % 2]
                    self.inflight = True
                    r = c.call("BLPOP", *keys, "0.5")
                    if isinstance(r, list):
                        job = r[1].decode()
                        if job in st.popped or job in st.done:
                            st.violation(f"{job} popped twice")
                        st.popped.add(job)
                    elif r is not None:
                        st.violation(f"BLPOP answered {r!r}")
                        return
                    self.inflight = False
                else:
                    r = c.call("BLMOVE", MOVE_KEYS[n % 2], proc, "LEFT", "RIGHT", "0.5")
                    if r is None:
                        continue
                    if isinstance(r, RuntimeError):
                        st.violation(f"BLMOVE answered {r}")
                        return
                    job = r.decode()
                    if job in st.moved:
                        st.violation(f"{job} moved out of its queue twice")
                    st.moved.add(job)
                    self.finish(c, proc, job)
        except (OSError, ConnectionError, ValueError):
            pass  # the server was killed


def queue_cycle(binary, data_dir, port, extra, a, st, run_for):
    proc = start(binary, data_dir, port, extra)
    stop = threading.Event()
    threads = [Producer(p, port, stop, st) for p in range(a.producers)]
    threads += [Consumer(c, "pop" if c % 2 == 0 else "move", port, stop, st) for c in range(a.consumers)]
    for t in threads:
        t.start()
    time.sleep(run_for)
    if random.random() < 0.3:
        try:
            redis.Redis(port=port, socket_timeout=2).bgsave()
            time.sleep(random.random() * 0.05)
        except Exception:
            pass
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stop.set()
    for t in threads:
        t.join(timeout=10)
    st.inflight_blpop += sum(1 for t in threads if isinstance(t, Consumer) and t.inflight)


def queue_check(binary, data_dir, port, extra, a, st):
    """Returns the list of violations after a restart (empty: the cycle passed) and a summary."""
    proc = start(binary, data_dir, port, extra)
    bad = list(st.violations)
    try:
        c = Resp(port, timeout=30)
        where = {}
        c_lists = {}
        keys = QUEUE_KEYS + [f"proc:{i}" for i in range(a.consumers) if i % 2 == 1]
        for k in keys:
            c_lists[k] = [j.decode() for j in c.call("LRANGE", k, "0", "-1") or []]
            for job in c_lists[k]:
                if job in where:
                    bad.append(f"{job} is in {where[job]} and in {k}")
                where[job] = k
        c.close()
        finished = st.popped | st.done
        for job, k in where.items():
            if job not in st.push_sent:
                bad.append(f"{k} holds {job}, which was never pushed")
            if job in finished:
                bad.append(f"{job} was acknowledged as popped/done but is back in {k}")
            if job in st.moved and k in MOVE_KEYS:
                bad.append(f"{job} was acknowledged as moved but is back in its queue {k}")
            if k in QUEUE_KEYS and k != job_key(job):
                bad.append(f"{job} is in {k}, pushed to {job_key(job)}")
        # FIFO per key and producer: a producer's next push leaves only after the previous one
        # was acknowledged, and pops take the head, so what is left of producer p on key k is
        # in increasing order and newer than every acknowledged job of p on k that is gone
        oldest_left = {}
        for k in QUEUE_KEYS:
            last = {}
            for j in c_lists[k]:
                p, seq = j.split(":")
                if p in last and int(seq) <= last[p]:
                    bad.append(f"{k}: {j} after {p}:{last[p]}, out of push order")
                last[p] = int(seq)
                oldest_left.setdefault((k, p), int(seq))
        for job in st.push_acked:
            if job in where:
                continue
            p, seq = job.split(":")
            first = oldest_left.get((job_key(job), p))
            if first is not None and int(seq) > first:
                bad.append(f"{job} is gone from {job_key(job)} but the older {p}:{first} is still there")
        missing_pop = []
        for job in st.push_acked:
            if job in where or job in finished:
                continue
            if job_key(job) in MOVE_KEYS:
                if job not in st.done_sent:
                    bad.append(f"LOST acknowledged push {job} ({job_key(job)}): in no list, never finished")
            else:
                missing_pop.append(job)
        if len(missing_pop) > st.inflight_blpop:
            bad.append(f"{len(missing_pop)} acknowledged pushes to q:pop:* are gone but only "
                       f"{st.inflight_blpop} BLPOPs were in flight at the kills: "
                       f"{sorted(missing_pop)[:5]}...")
        summary = (f"{len(st.push_acked)} acknowledged pushes, {len(st.popped)} BLPOPs + "
                   f"{len(st.done)} BLMOVE+LREMs acknowledged, {len(where)} jobs in lists "
                   f"({sum(1 for k in where.values() if k in POP_KEYS)} in q:pop:*), "
                   f"{len(missing_pop)} gone with an in-flight BLPOP (<= {st.inflight_blpop})")
        return bad, summary
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def main_queue(a, extra, data_dir):
    st = QueueState(a.producers, a.consumers)
    failed = False
    for i in range(a.cycles):
        queue_cycle(a.binary, data_dir, free_port(), extra, a, st, random.uniform(0.2, a.run_for))
        bad, summary = queue_check(a.binary, data_dir, free_port(), extra, a, st)
        print(f"cycle {i + 1}/{a.cycles} (queue, {a.appendfsync}): {summary}, {len(bad)} violations")
        for b in bad[:10]:
            print(f"  {b}", file=sys.stderr)
        if bad:
            failed = True
            break
    if not st.popped or not st.done:
        print("queue mode: no job was popped (BLPOP) or finished (BLMOVE): the run tested nothing", file=sys.stderr)
        failed = True
    return failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.environ.get("VAYLIX_BIN", "target/release/vaylix"))
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument("--run-for", type=float, default=1.5, help="max seconds of writes before each kill")
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--appendfsync", choices=["always", "everysec", "no"], default="always",
                    help="the server's fsync policy (kill -9 must lose nothing under each)")
    ap.add_argument("--mode", choices=["writes", "queue"], default="writes",
                    help="writes: SET/INCR writers; queue: RPUSH producers, BLPOP/BLMOVE consumers")
    ap.add_argument("--producers", type=int, default=4, help="queue mode: RPUSH connections")
    ap.add_argument("--consumers", type=int, default=4,
                    help="queue mode: consumer connections (even ids BLPOP, odd ids BLMOVE)")
    args = ap.parse_args()
    random.seed(args.seed)
    tmp = tempfile.mkdtemp(prefix="vaylix-crash-")
    data_dir = os.path.join(tmp, "data")
    extra = ["--wal-segment-size", "65536", "--snapshot-interval", "1", "--appendfsync", args.appendfsync]
    if args.mode == "queue":
        failed = main_queue(args, extra, data_dir)
        if not failed:
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)
            print(f"seed {args.seed}")
        else:
            print(f"seed {args.seed}, data dir kept for inspection: {data_dir}")
        print(f"crash: {0 if failed else args.cycles} passed, {1 if failed else 0} failed")
        sys.exit(1 if failed else 0)
    states = [{"next": 0, "incr_sent": 0, "incr_acked": 0} for _ in range(args.writers)]
    acked = [[] for _ in range(args.writers)]
    total_lost = 0
    for i in range(args.cycles):
        port = free_port()
        cycle(args.binary, data_dir, port, extra, args.writers, states, acked, random.uniform(0.2, args.run_for))
        lost = check(args.binary, data_dir, free_port(), extra, args.writers, states, acked)
        n = sum(len(a) for a in acked)
        print(f"cycle {i + 1}/{args.cycles} ({args.appendfsync}): {n} acknowledged writes so far, {lost} lost")
        total_lost += lost
        if lost:
            break
    if total_lost == 0:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"seed {args.seed}")
    else:
        print(f"seed {args.seed}, data dir kept for inspection: {data_dir}")
    passed = args.cycles if total_lost == 0 else 0
    print(f"crash: {passed} passed, {0 if total_lost == 0 else 1} failed")
    sys.exit(0 if total_lost == 0 else 1)


if __name__ == "__main__":
    main()

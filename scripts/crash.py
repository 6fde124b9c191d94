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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.environ.get("VAYLIX_BIN", "target/release/vaylix"))
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument("--run-for", type=float, default=1.5, help="max seconds of writes before each kill")
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--appendfsync", choices=["always", "everysec", "no"], default="always",
                    help="the server's fsync policy (kill -9 must lose nothing under each)")
    args = ap.parse_args()
    random.seed(args.seed)
    tmp = tempfile.mkdtemp(prefix="vaylix-crash-")
    data_dir = os.path.join(tmp, "data")
    extra = ["--wal-segment-size", "65536", "--snapshot-interval", "1", "--appendfsync", args.appendfsync]
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

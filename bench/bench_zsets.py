"""Sorted set benchmark: crdt-redis against redis-server, in the same run.

Starts both servers on free ports, then measures the per-op time (µs, pipelined, median of
5 runs) of ZADD, ZSCORE, ZRANK, ZRANGE 0 9, ZINCRBY and ZPOPMIN on 10-element keys and on
a 1,000,000-element key, and the memory per element of that key (crdt-redis: RSS delta
from /proc/<pid>/statm; redis: INFO used_memory delta). Prints a markdown table.

    python bench/bench_zsets.py [--big 1000000] [--ops 2000] [--runs 5]

Not a test: numbers depend on the machine; read them as ratios against redis.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence

import common
import hiredis
from common import free_port, rss_bytes, thread_cpu_ns


def encode(argv: Sequence[bytes | str | int | float]) -> bytes:
    out = [b"*%d\r\n" % len(argv)]
    for a in argv:
        b = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


class Conn(common.Conn):
    def pipeline(self, payload: bytes, n: int) -> tuple[float, list[object]]:
        """Send `n` pre-encoded commands at once; seconds until the n-th reply is in."""
        t0 = time.perf_counter()
        self.sock.sendall(payload)
        replies: list[object] = self.read(n)
        return time.perf_counter() - t0, replies

    def call(self, *argv: bytes | str | int | float) -> object:
        return self.pipeline(encode(argv), 1)[1][0]

    def run_many(self, cmds: list[Sequence[bytes | str | int | float]], chunk: int = 500) -> None:
        for i in range(0, len(cmds), chunk):
            part = cmds[i:i + chunk]
            _, rs = self.pipeline(b"".join(encode(c) for c in part), len(part))
            for r in rs:
                if isinstance(r, hiredis.ReplyError):
                    raise RuntimeError(f"setup command failed: {r}")


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            c = Conn(port)
            if c.call("PING") == b"PONG":
                c.sock.close()
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"port {port} did not answer")


def used_memory(c: Conn) -> int:
    info = c.call("INFO", "memory")
    assert isinstance(info, bytes)
    return common.parse_used_memory(info)


class Bench:
    """The workload against one server."""

    def __init__(self, name: str, conn: Conn, pid: int, memory: Callable[[], int], big: int, ops: int,
                 runs: int) -> None:
        self.name = name
        self.c = conn
        self.pid = pid
        self.memory = memory
        self.big = big
        self.ops = ops
        self.runs = runs
        self.rng = random.Random(7)
        self.results: dict[tuple[str, str], float] = {}  # wall µs/op
        self.cpu: dict[tuple[str, str], float] = {}  # server CPU µs/op
        self.bytes_per_element = 0.0

    def small_keys(self) -> list[bytes]:
        return [b"s:%d" % i for i in range(self.ops)]

    def fill_small(self) -> None:
        cmds: list[Sequence[bytes | str | int | float]] = []
        for k in self.small_keys():
            cmds.append([b"DEL", k])
            cmds.append([b"ZADD", k] + [x for j in range(10) for x in (j, b"m%d" % j)])
        self.c.run_many(cmds)

    def load_big(self) -> None:
        order = list(range(self.big))
        self.rng.shuffle(order)
        before = self.memory()
        batch = 1000
        cmds: list[Sequence[bytes | str | int | float]] = []
        for i in range(0, self.big, batch):
            args: list[bytes | str | int | float] = [b"ZADD", b"big"]
            for j in order[i:i + batch]:
                args += [j, b"member:%07d" % j]
            cmds.append(args)
        self.c.run_many(cmds, chunk=20)
        time.sleep(0.5)  # let background flushes settle before reading memory
        self.bytes_per_element = (self.memory() - before) / self.big

    def timed(self, label: str, size: str, make: Callable[[int], list[Sequence[bytes | str | int | float]]],
              reset: Callable[[], None] | None = None) -> None:
        samples = []
        cpu = []
        for run in range(self.runs):
            cmds = make(run)
            payload = b"".join(encode(c) for c in cmds)
            c0 = thread_cpu_ns(self.pid)
            dt, replies = self.c.pipeline(payload, len(cmds))
            cpu.append((thread_cpu_ns(self.pid) - c0) / len(cmds) / 1e3)
            bad = [r for r in replies if isinstance(r, hiredis.ReplyError)]
            if bad:
                raise RuntimeError(f"{self.name} {label}: {bad[0]}")
            samples.append(dt / len(cmds) * 1e6)
            if reset is not None:
                reset()
        self.results[(label, size)] = statistics.median(samples)
        self.cpu[(label, size)] = statistics.median(cpu)

    def run(self) -> None:
        n = self.ops
        keys = self.small_keys()
        self.c.call("FLUSHALL")
        self.fill_small()
        r = self.rng
        # ---- 10-element keys: every op of a batch goes to another key ----
        self.timed("ZADD", "10", lambda run: [[b"ZADD", k, 10.5, b"new"] for k in keys],
                   lambda: self.c.run_many([[b"ZREM", k, b"new"] for k in keys]))
        self.timed("ZSCORE", "10", lambda run: [[b"ZSCORE", k, b"m%d" % r.randrange(10)] for k in keys])
        self.timed("ZRANK", "10", lambda run: [[b"ZRANK", k, b"m%d" % r.randrange(10)] for k in keys])
        self.timed("ZRANGE 0 9", "10", lambda run: [[b"ZRANGE", k, 0, 9] for k in keys])
        self.timed("ZINCRBY", "10", lambda run: [[b"ZINCRBY", k, 1, b"m%d" % r.randrange(10)] for k in keys])
        self.fill_small()
        self.timed("ZPOPMIN", "10", lambda run: [[b"ZPOPMIN", k] for k in keys], self.fill_small)
        # ---- one 1,000,000-element key ----
        self.load_big()
        b = self.big

        def member() -> bytes:
            return b"member:%07d" % r.randrange(b)

        self.timed("ZADD", "1M", lambda run: [[b"ZADD", b"big", r.random() * b, b"new:%d:%d" % (run, i)]
                                              for i in range(n)])
        self.timed("ZSCORE", "1M", lambda run: [[b"ZSCORE", b"big", member()] for _ in range(n)])
        self.timed("ZRANK", "1M", lambda run: [[b"ZRANK", b"big", member()] for _ in range(n)])
        self.timed("ZRANGE 0 9", "1M", lambda run: [[b"ZRANGE", b"big", 0, 9] for _ in range(n)])
        self.timed("ZINCRBY", "1M", lambda run: [[b"ZINCRBY", b"big", 1, member()] for _ in range(n)])
        self.timed("ZPOPMIN", "1M", lambda run: [[b"ZPOPMIN", b"big"] for _ in range(n)])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--big", type=int, default=1_000_000)
    ap.add_argument("--ops", type=int, default=2000, help="pipelined ops per run (and 10-element keys)")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    redis_bin = shutil.which("redis-server")
    if redis_bin is None:
        print("redis-server not found", file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="bench-zsets-")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        rport, cport = free_port(), free_port()
        rproc = subprocess.Popen([redis_bin, "--port", str(rport), "--save", "", "--appendonly", "no",
                                  "--dir", tmp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(rproc)
        cproc = subprocess.Popen([sys.executable, "-m", "crdtredis", "--port", str(cport), "--http-port", "0",
                                  "--data-dir", os.path.join(tmp, "crdt")],
                                 stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "crdt.log"), "wb"))
        procs.append(cproc)
        wait_port(rport, rproc)
        wait_port(cport, cproc)
        rc, cc = Conn(rport), Conn(cport)
        benches = [
            Bench("redis", rc, rproc.pid, lambda: used_memory(rc), args.big, args.ops, args.runs),
            Bench("crdt-redis", cc, cproc.pid, lambda: rss_bytes(cproc.pid), args.big, args.ops, args.runs),
        ]
        for bench in benches:
            t0 = time.time()
            bench.run()
            print(f"# {bench.name}: done in {time.time() - t0:.0f}s", file=sys.stderr)
        red, crdt = benches
        big = f"{args.big:,}"
        for title, table in (("server CPU µs per op", "cpu"), ("wall-clock µs per op", "results")):
            print(f"\nSorted sets, {title} (pipelined {args.ops}, median of {args.runs} runs)\n")
            print(f"| op | redis, 10 | crdt-redis, 10 | ratio | redis, {big} | crdt-redis, {big} | ratio |")
            print("|---|---:|---:|---:|---:|---:|---:|")
            rt, ct = getattr(red, table), getattr(crdt, table)
            for label in ("ZADD", "ZSCORE", "ZRANK", "ZRANGE 0 9", "ZINCRBY", "ZPOPMIN"):
                a, b = rt[(label, "10")], ct[(label, "10")]
                c, d = rt[(label, "1M")], ct[(label, "1M")]
                print(f"| {label} | {a:.2f} | {b:.2f} | {b / a:.1f}× | {c:.2f} | {d:.2f} | {d / c:.1f}× |")
        a, b = red.bytes_per_element, crdt.bytes_per_element
        print(f"\nMemory per element at {big} elements: redis {a:.0f} B (used_memory delta), "
              f"crdt-redis {b:.0f} B (RSS delta), {b / a:.1f}×")
        return 0
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())

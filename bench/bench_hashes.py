"""Hash commands: per-op time on a 10-field and a 1,000,000-field key, and memory per field,
crdt-redis against redis-server in the same run.

    python bench/bench_hashes.py [--runs 5] [--ops 20000] [--fields 1000000] [--inprocess]

Each measurement sends `--ops` commands from one client, pipelined 100 deep, and reports the
median over `--runs` runs of two figures per op: the server's CPU time (from /proc, the stable
figure, DESIGN §7) and the wall time seen by the client. Memory per field is the growth of
crdt-redis's RSS and of redis-server's INFO used_memory while the big hash is filled.

With --inprocess (or when the server cannot start) crdt-redis is measured inside this
process through Node.execute: no sockets, no RESP, so its figures are lower bounds.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import hiredis
from common import Server, median, start_crdt, start_redis, workdir

PIPELINE = 100
Cmd = list[bytes]


def resp(argv: Cmd) -> bytes:
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv)


class Conn:
    """A pipelining client: send a batch, read exactly as many replies."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = hiredis.Reader()

    def batch(self, cmds: list[Cmd]) -> list[Any]:
        self.sock.sendall(b"".join(resp(c) for c in cmds))
        out: list[Any] = []
        while len(out) < len(cmds):
            data = self.sock.recv(1 << 20)
            if not data:
                raise ConnectionError("server closed the connection")
            self.reader.feed(data)
            while True:
                r = self.reader.gets()
                if r is False:
                    break
                out.append(r)
        return out

    def close(self) -> None:
        self.sock.close()


class Target:
    """One server under test (or the in-process node)."""

    name: str

    def run(self, cmds: list[Cmd]) -> list[Any]:
        raise NotImplementedError

    def cpu(self) -> float:
        raise NotImplementedError

    def memory(self) -> int:
        raise NotImplementedError


class RemoteTarget(Target):
    def __init__(self, name: str, srv: Server, memory: Callable[[], int]) -> None:
        self.name = name
        self.srv = srv
        self.conn = Conn(srv.port)
        self._memory = memory

    def run(self, cmds: list[Cmd]) -> list[Any]:
        out: list[Any] = []
        for i in range(0, len(cmds), PIPELINE):
            out += self.conn.batch(cmds[i:i + PIPELINE])
        return out

    def cpu(self) -> float:
        # schedstat is in ns (/proc/<pid>/stat counts 10 ms ticks: too coarse per op).
        total = 0
        base = f"/proc/{self.srv.proc.pid}/task"
        for tid in os.listdir(base):
            try:
                with open(f"{base}/{tid}/schedstat") as f:
                    total += int(f.read().split()[0])
            except OSError:
                pass  # a thread that just ended
        return total / 1e9

    def memory(self) -> int:
        return self._memory()


class InProcessTarget(Target):
    def __init__(self) -> None:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
        from tests.support.sim import Replica

        self.name = "crdt (in-process)"
        self.rep = Replica("bench")
        self.rep.node.keyspace.has_peers = False

    def run(self, cmds: list[Cmd]) -> list[Any]:
        ex = self.rep.node.execute
        c = self.rep.client
        return [ex(c, argv) for argv in cmds]

    def cpu(self) -> float:
        return time.process_time()

    def memory(self) -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def redis_used_memory(port: int) -> Callable[[], int]:
    def get() -> int:
        c = Conn(port)
        try:
            info = c.batch([[b"INFO", b"memory"]])[0].decode()
        finally:
            c.close()
        for line in info.splitlines():
            if line.startswith("used_memory:"):
                return int(line.split(":")[1])
        raise RuntimeError("no used_memory in INFO")
    return get


def fill(t: Target, key: bytes, n: int, per_cmd: int = 1000) -> None:
    cmds: list[Cmd] = []
    for start in range(0, n, per_cmd):
        argv = [b"HSET", key]
        for i in range(start, min(n, start + per_cmd)):
            argv += [b"f%d" % i, b"%d" % i]
        cmds.append(argv)
        if len(cmds) == 20:
            _check(t.run(cmds))
            cmds = []
    if cmds:
        _check(t.run(cmds))


def _check(replies: list[Any]) -> None:
    for r in replies:
        if isinstance(r, Exception) or type(r).__name__ == "ErrorReply":
            raise RuntimeError(f"unexpected error reply: {r!r}")


def measure(t: Target, make: Callable[[int], Iterator[Cmd]], ops: int, runs: int) -> tuple[float, float]:
    """(server CPU µs/op, wall µs/op), medians over runs; `make(run)` yields that run's ops."""
    cpu: list[float] = []
    wall: list[float] = []
    for run in range(runs):
        cmds = list(make(run))[:ops]
        c0 = t.cpu()
        w0 = time.perf_counter()
        _check(t.run(cmds))
        w1 = time.perf_counter()
        c1 = t.cpu()
        cpu.append((c1 - c0) / len(cmds) * 1e6)
        wall.append((w1 - w0) / len(cmds) * 1e6)
    return median(cpu), median(wall)


def workloads(nbig: int, ops: int) -> list[tuple[str, str, Callable[[int], Iterator[Cmd]]]]:
    rng = random.Random(1)

    def small_hset(run: int) -> Iterator[Cmd]:
        for i in range(ops):
            yield [b"HSET", b"h10", b"f%d" % (i % 10), b"%d" % i]

    def small_hget(run: int) -> Iterator[Cmd]:
        for i in range(ops):
            yield [b"HGET", b"h10", b"f%d" % (i % 10)]

    def small_hincrby(run: int) -> Iterator[Cmd]:
        for i in range(ops):
            yield [b"HINCRBY", b"h10", b"f%d" % (i % 10), b"1"]

    def small_hgetall(run: int) -> Iterator[Cmd]:
        for _ in range(ops):
            yield [b"HGETALL", b"h10"]

    def small_hdel(run: int) -> Iterator[Cmd]:
        # Each op deletes from its own 10-field hash (made by the setup step below).
        for i in range(ops):
            yield [b"HDEL", b"d10:%d:%d" % (run, i), b"f0"]

    def big_hset(run: int) -> Iterator[Cmd]:
        for i in range(ops):
            yield [b"HSET", b"big", b"f%d" % rng.randrange(nbig), b"%d" % i]

    def big_hget(run: int) -> Iterator[Cmd]:
        for _ in range(ops):
            yield [b"HGET", b"big", b"f%d" % rng.randrange(nbig)]

    def big_hincrby(run: int) -> Iterator[Cmd]:
        for _ in range(ops):
            yield [b"HINCRBY", b"big", b"f%d" % rng.randrange(nbig), b"1"]

    def big_hdel(run: int) -> Iterator[Cmd]:
        # Distinct existing fields: run r deletes the r-th slice of a shuffled range.
        for j in range(run * ops, (run + 1) * ops):
            yield [b"HDEL", b"big", b"f%d" % _DEL_ORDER[j]]

    def ref_set(run: int) -> Iterator[Cmd]:
        for i in range(ops):
            yield [b"SET", b"s", b"%d" % i]

    def ref_get(run: int) -> Iterator[Cmd]:
        for _ in range(ops):
            yield [b"GET", b"s"]

    return [
        # Strings on the same connection: the shared write/read path, for reference.
        ("SET (reference)", "-", ref_set), ("GET (reference)", "-", ref_get),
        ("HSET", "10", small_hset), ("HGET", "10", small_hget), ("HINCRBY", "10", small_hincrby),
        ("HGETALL", "10", small_hgetall), ("HDEL", "10", small_hdel),
        ("HSET", f"{nbig:,}", big_hset), ("HGET", f"{nbig:,}", big_hget), ("HINCRBY", f"{nbig:,}", big_hincrby),
        ("HDEL", f"{nbig:,}", big_hdel),
    ]


_DEL_ORDER: list[int] = []


def bench(t: Target, ns: argparse.Namespace) -> tuple[dict[tuple[str, str], tuple[float, float]], float]:
    fill(t, b"h10", 10)
    # HDEL on 10-field hashes: one fresh hash per op and run.
    setup: list[Cmd] = []
    for run in range(ns.runs):
        for i in range(ns.ops):
            argv = [b"HSET", b"d10:%d:%d" % (run, i)]
            for f in range(10):
                argv += [b"f%d" % f, b"v"]
            setup.append(argv)
    for i in range(0, len(setup), 1000):
        _check(t.run(setup[i:i + 1000]))
    m0 = t.memory()
    fill(t, b"big", ns.fields)
    m1 = t.memory()
    per_field = (m1 - m0) / ns.fields
    res: dict[tuple[str, str], tuple[float, float]] = {}
    for op, size, make in workloads(ns.fields, ns.ops):
        res[(op, size)] = measure(t, make, ns.ops, ns.runs)
    return res, per_field


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b > 0 else "n/a"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--ops", type=int, default=20000)
    ap.add_argument("--fields", type=int, default=1_000_000)
    ap.add_argument("--inprocess", action="store_true", help="measure crdt-redis through Node.execute")
    ns = ap.parse_args()
    if ns.ops * ns.runs > ns.fields:
        sys.exit("--ops * --runs must not exceed --fields (HDEL deletes distinct fields)")
    _DEL_ORDER.extend(random.Random(2).sample(range(ns.fields), ns.ops * ns.runs))
    wd = workdir()
    servers: list[Server] = []
    try:
        rsrv = start_redis(wd)
        servers.append(rsrv)
        targets: list[Target] = [RemoteTarget("redis", rsrv, redis_used_memory(rsrv.port))]
        crdt_note = ""
        if ns.inprocess:
            targets.append(InProcessTarget())
            crdt_note = " (crdt-redis measured in-process through Node.execute)"
        else:
            try:
                csrv = start_crdt(wd)
            except Exception as exc:  # noqa: BLE001 - fall back, and say so in the output
                print(f"crdt-redis did not start ({exc}); measuring it in-process", file=sys.stderr)
                targets.append(InProcessTarget())
                crdt_note = " (crdt-redis measured in-process: the server did not start)"
            else:
                servers.append(csrv)
                targets.append(RemoteTarget("crdt", csrv, csrv.rss))
        results = {}
        memory = {}
        for t in targets:
            t0 = time.time()
            results[t.name], memory[t.name] = bench(t, ns)
            print(f"{t.name}: done in {time.time() - t0:.0f}s", file=sys.stderr)
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(wd, ignore_errors=True)
    rname, cname = targets[0].name, targets[1].name
    print(f"Hash ops, {ns.ops} ops per run pipelined {PIPELINE} deep, median of {ns.runs} runs{crdt_note}.\n")
    print("| op | fields in key | redis CPU µs/op | crdt CPU µs/op | ratio | redis wall µs/op | crdt wall µs/op |")
    print("|---|---|---|---|---|---|---|")
    for key in results[rname]:
        rc, rw = results[rname][key]
        cc, cw = results[cname][key]
        print(f"| {key[0]} | {key[1]} | {rc:.2f} | {cc:.2f} | {_ratio(cc, rc)} | {rw:.2f} | {cw:.2f} |")
    rm, cm = memory[rname], memory[cname]
    print(f"| memory per field at {ns.fields:,} fields (bytes) | | {rm:.0f} | {cm:.0f} | {_ratio(cm, rm)} | | |")


if __name__ == "__main__":
    main()

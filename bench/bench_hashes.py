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
import random
import sys
from collections.abc import Callable, Iterator

from common import PIPELINE, Cmd, Results, Target, measure, print_results, ratio, run_all, run_targets


def fill(t: Target, key: bytes, n: int, per_cmd: int = 1000) -> None:
    def cmds() -> Iterator[Cmd]:
        for start in range(0, n, per_cmd):
            argv = [b"HSET", key]
            for i in range(start, min(n, start + per_cmd)):
                argv += [b"f%d" % i, b"%d" % i]
            yield argv
    run_all(t, cmds(), 20)


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


def bench(t: Target, ns: argparse.Namespace) -> tuple[Results, float]:
    fill(t, b"h10", 10)
    # HDEL on 10-field hashes: one fresh hash per op and run.
    setup: list[Cmd] = []
    for run in range(ns.runs):
        for i in range(ns.ops):
            argv = [b"HSET", b"d10:%d:%d" % (run, i)]
            for f in range(10):
                argv += [b"f%d" % f, b"v"]
            setup.append(argv)
    run_all(t, setup, 1000)
    m0 = t.memory()
    fill(t, b"big", ns.fields)
    m1 = t.memory()
    per_field = (m1 - m0) / ns.fields
    res: Results = {}
    for op, size, make in workloads(ns.fields, ns.ops):
        res[(op, size)] = measure(t, make, ns.ops, ns.runs)
    return res, per_field


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
    rname, cname, results, memory, crdt_note = run_targets(ns.inprocess, lambda t: bench(t, ns))
    print(f"Hash ops, {ns.ops} ops per run pipelined {PIPELINE} deep, median of {ns.runs} runs{crdt_note}.\n")
    print_results("fields", results[rname], results[cname])
    rm, cm = memory[rname], memory[cname]
    print(f"| memory per field at {ns.fields:,} fields (bytes) | | {rm:.0f} | {cm:.0f} | {ratio(cm, rm)} | | |")


if __name__ == "__main__":
    main()
